#!/usr/bin/env bash
# Installs the Debian packages fleetstream needs, only those missing:
#  - zlib1g-dev libssl-dev libsasl2-dev libzstd-dev liblz4-dev: to build the Kafka client's librdkafka
#  - prometheus: promtool for alert-rule unit tests, and the server for dashboard tests
#  - fonts-dejavu-core: the font the PNG charts of benchmark and harness reports are drawn with
# Java 17+ and Maven are expected on the machine (they fetch and run Kafka and the registry).
set -euo pipefail
packages=(zlib1g-dev libssl-dev libsasl2-dev libzstd-dev liblz4-dev prometheus fonts-dejavu-core)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    echo "prepare-machine: missing Debian packages: ${missing[*]} (apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  sudo=$([ "$(id -u)" -eq 0 ] && echo "" || echo "sudo")
  echo "prepare-machine: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "prepare-machine: $tool is required (JDK 17+ and Maven)" >&2; exit 1; }
done
java_major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
[ "${java_major%%.*}" -ge 17 ] || { echo "prepare-machine: Java 17+ required, found $java_major" >&2; exit 1; }
