#!/usr/bin/env bash
# Installs what the agent, its tests and the demo need on a Debian machine (run as root), and says
# what it installs: Debian's Open vSwitch and OVN packages, iproute2, openssl, the OVS Python
# bindings, systemd's tools (systemd-analyze checks deploy/systemd's unit), then the npm
# dependencies. Idempotent: each step is skipped when already satisfied. The other tools come from
# their own scripts: Go (scripts/go-toolchain.sh, only when Kubernetes tools must be built), the
# Kubernetes tools (scripts/k8s-tools.sh) and the image's Node release (scripts/node-lts.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

# Only for the test command: systemd-analyze (verify, security) for deploy/systemd.
test_debs=(systemd)

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
if ! command -v npm >/dev/null 2>&1; then
  echo "install-deps: npm not found next to Node.js $(node --version); install the npm that comes with it" >&2
  exit 1
fi

debs=(openvswitch-switch ovn-central ovn-host iproute2 openssl python3-openvswitch)
missing=()
for p in "${debs[@]}" "${test_debs[@]}"; do
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

# Debian's prometheus package: its promtool and server test the chart's alert rules and dashboard.
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  echo "install-deps: installing Debian package: prometheus (promtool and server for the monitoring tests)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends prometheus
  (systemctl stop prometheus || service prometheus stop) >/dev/null 2>&1 || true
fi

# npm ci only when node_modules does not hold this lockfile's packages. Decided by content (a
# stamp with the lockfile's hash, or `npm ls` where there is no stamp yet), never by file times: a
# fresh clone or worktree has a lockfile newer than any install, and `npm ci` there would empty a
# node_modules that is shared through a symlink.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.ovn-plug-agent-lock.sha256
if [ ! -d node_modules ]; then
  reason='no node_modules'
elif [ -f "$stamp" ]; then
  if [ "$(cat "$stamp")" = "$lock_hash" ]; then reason=''; else reason='package-lock.json changed'; fi
elif npm ls --all >/dev/null 2>&1; then
  reason=''
  echo "$lock_hash" >"$stamp"
else
  reason='node_modules does not match package-lock.json'
fi
if [ -n "$reason" ]; then
  echo "install-deps: installing the npm dependencies (npm ci: $reason)"
  npm ci --no-audit --no-fund
  echo "$lock_hash" >"$stamp"
fi
