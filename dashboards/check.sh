#!/usr/bin/env bash
# Validates everything Prometheus reads from dashboards/: the scrape config, the rule files, the
# rule unit tests, and every Grafana panel query (parsed by promtool as a recording rule).
# Runs every step even after a failure, so one run lists every problem; exits 1 if any failed.
#
#   bash dashboards/check.sh   (PROMTOOL=/path/to/promtool; PROMETHEUS_DIR=<copy of prometheus/> for tests)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
promtool=${PROMTOOL:-$(command -v promtool || true)}
if [ -z "$promtool" ]; then
  echo "check.sh: promtool not found; install Debian's prometheus package (bash harness/setup/prepare-machine.sh) or set PROMTOOL" >&2
  exit 2
fi
# Node 24 runs the .ts extractor by type stripping; the project's `node` package provides it.
node=$root/node_modules/.bin/node
[ -x "$node" ] || node=node

failed=0
step() {
  local name=$1
  shift
  if "$@"; then
    echo "check.sh: ok: $name"
  else
    echo "check.sh: FAILED: $name" >&2
    failed=1
  fi
}

prom=${PROMETHEUS_DIR:-$here/prometheus}
step "promtool check config" "$promtool" check config "$prom/prometheus.yml"
step "promtool check rules" "$promtool" check rules "$prom"/rules/*.yml

shopt -s nullglob
tests=("$prom"/tests/*.yml)
if [ ${#tests[@]} -eq 0 ]; then
  echo "check.sh: no rule unit tests in $prom/tests" >&2
  failed=1
else
  # Run from the tests folder: rule_files in the tests are relative to it.
  step "promtool test rules" bash -c 'cd "$1" && shift && "$0" test rules "$@"' "$promtool" "$prom/tests" "${tests[@]##*/}"
fi

queries=$(mktemp -t fleetstream-panel-queries.XXXXXX.yml)
trap 'rm -f "$queries"' EXIT
if "$node" "$here/panelQueriesAsRules.ts" >"$queries"; then
  step "dashboard queries parse" "$promtool" check rules "$queries"
else
  echo "check.sh: FAILED: could not extract dashboard queries" >&2
  failed=1
fi

exit $failed
