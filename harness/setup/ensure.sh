#!/usr/bin/env bash
# Makes a checkout ready to run: Debian packages (when missing), then `npm ci` when
# package-lock.json changed since the last install (its sha256 differs from the stamp this
# script writes, or there is none) or Node.js 24 is missing. Cheap when nothing changed,
# so `npm start` and `npm test` call it every time and work on a fresh clone.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bash harness/setup/prepare-machine.sh
stamp=node_modules/.fleetstream-installed
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -x node_modules/.bin/node ]; then
  echo "ensure: installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
