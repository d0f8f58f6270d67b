#!/usr/bin/env bash
# Installs what the agent, its tests and the demo need on a Debian machine (run as root):
# Debian's Open vSwitch and OVN packages and iproute2, then the npm dependencies.
# Idempotent: each step is skipped when already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."

need_node_major=20
if ! command -v node >/dev/null 2>&1; then
  echo "install-deps: node not found; Node.js >= ${need_node_major} is required" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt "$need_node_major" ]; then
  echo "install-deps: Node.js $(node --version) found; >= ${need_node_major} is required" >&2
  exit 1
fi

debs=(openvswitch-switch ovn-central ovn-host iproute2 openssl python3-openvswitch)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# The packages start system-wide daemons; the harness runs its own private ones, so stop these
# to keep the default sockets and ports free (ignored where there is no init system).
for svc in ovn-central ovn-host openvswitch-switch; do
  (systemctl stop "$svc" || service "$svc" stop) >/dev/null 2>&1 || true
done

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
