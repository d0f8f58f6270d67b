#!/usr/bin/env bash
# The demo (README): installs what is missing, starts a local OVN sandbox (NB/SB, ovn-northd,
# ovs-vswitchd on the dummy datapath, an unmodified ovn-controller as chassis hv1) and, when the
# agent's CLI is present, runs the agent with the dummy provider against it, asks OVN for a few
# plugged ports and shows them bound. Everything lives in a private /tmp directory; Ctrl-C stops
# it all.   Usage: bash scripts/demo.sh [--once]
# --once: stop after showing, exit status 0 only if every demo port came up (for scripts/CI).
set -euo pipefail
cd "$(dirname "$0")/.."

once=false
for arg in "$@"; do
  case "$arg" in
    --once) once=true ;;
    -h | --help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

bash scripts/install-deps.sh

state=$(mktemp -d /tmp/demo-XXXXXX)
sandbox_pid=''
agent_pid=''
cleanup() {
  # The agent never unplugs on exit (DESIGN §3.4); the sandbox goes away as a whole anyway.
  [ -n "$agent_pid" ] && kill -TERM "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null || true
  [ -n "$sandbox_pid" ] && kill -TERM "$sandbox_pid" 2>/dev/null && wait "$sandbox_pid" 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# One Node process for the sandbox (no npx/tsx wrapper in between), so that SIGTERM reaches it.
# With --once the demo removes the sandbox itself before exiting: no commands to try, no Ctrl-C.
hints=()
$once && hints=(--no-hints)
node --import tsx scripts/sandbox.ts --chassis=hv1 --env-out="$state/sandbox.env" "${hints[@]}" \
  >"$state/sandbox.out" 2>&1 &
sandbox_pid=$!
for _ in $(seq 1 600); do
  [ -f "$state/sandbox.env" ] && break
  if ! kill -0 "$sandbox_pid" 2>/dev/null; then
    echo "demo: the sandbox failed to start:" >&2
    cat "$state/sandbox.out" >&2
    exit 1
  fi
  sleep 0.1
done
[ -f "$state/sandbox.env" ] || { echo "demo: the sandbox did not start within 60 s" >&2; cat "$state/sandbox.out" >&2; exit 1; }
# shellcheck disable=SC1091
. "$state/sandbox.env"
cat "$state/sandbox.out"

nbctl() { ovn-nbctl --db="$OVN_NB_DB" --timeout=30 "$@"; }
sbctl() { ovn-sbctl --db="$OVN_SB_DB" --timeout=30 "$@"; }
demo_ports=(vm1 vm2 vm3)
demo_ok=true

agent_ready() {
  [ -f src/agent/cli.ts ] && [ -f src/agent/main.ts ] && grep -q 'export async function runCli' src/agent/main.ts
}

if agent_ready; then
  listen=127.0.0.1:9476
  echo
  echo "demo: starting the agent: ovn-plug-agent --ovs-db=$OVS_DB_HV1 --providers=dummy --listen=$listen"
  node --import tsx src/agent/cli.ts --ovs-db="$OVS_DB_HV1" --providers=dummy --listen="$listen" \
    >"$SANDBOX_DIR/ovn-plug-agent.log" 2>&1 &
  agent_pid=$!
  nbctl --wait=sb ls-add demo
  for p in "${demo_ports[@]}"; do
    nbctl --wait=sb lsp-add demo "$p" -- lsp-set-options "$p" requested-chassis=hv1 vif-plug-type=dummy
  done
  echo "demo: asked OVN to plug ${demo_ports[*]} on hv1 (vif-plug-type=dummy); waiting for Port_Binding.up"
  bound=false
  deadline=$((SECONDS + 30))
  while [ "$SECONDS" -lt "$deadline" ]; do
    down=()
    for p in "${demo_ports[@]}"; do
      [ "$(sbctl --bare --columns=up list Port_Binding "$p")" = true ] || down+=("$p")
    done
    if [ "${#down[@]}" -eq 0 ]; then bound=true; break; fi
    if ! kill -0 "$agent_pid" 2>/dev/null; then
      echo "demo: the agent exited; ports still down: ${down[*]}" >&2
      break
    fi
    sleep 0.2
  done
  if $bound; then
    echo "demo: all ports bound by the unmodified ovn-controller"
  else
    demo_ok=false
    echo "demo: ports not up: ${down[*]}" >&2
  fi
  echo
  node --import tsx src/agent/cli.ts status --listen="$listen" || true
  echo
  node --import tsx src/agent/cli.ts providers --listen="$listen" || true
  echo
  ovs-vsctl --db="$OVS_DB_HV1" --columns=name,type,external_ids list Interface | grep -B2 -A1 ovn-plug-agent || true
  echo
  if ! $once; then
    # The agent's own metrics only: process_* and nodejs_* share the ovn_plug_ prefix.
    echo "Look around:  curl -s http://$listen/status | head"
    echo "              curl -s http://$listen/metrics | grep '^ovn_plug_' | grep -Ev '^ovn_plug_(process|nodejs)_'"
    echo "              node --import tsx src/agent/cli.ts status --listen=$listen"
    echo "              node --import tsx src/agent/cli.ts providers --listen=$listen"
    echo "              agent log: $SANDBOX_DIR/ovn-plug-agent.log   all logs: find $SANDBOX_DIR -name '*.log'"
  fi
  if ! $bound; then
    echo "demo: agent log tail:" >&2
    tail -n 30 "$SANDBOX_DIR/ovn-plug-agent.log" >&2 || true
  fi
else
  echo
  echo "demo: the agent is not wired into the demo yet (src/agent/main.ts has no runCli);"
  echo "      only the sandbox is running. Plug a port by hand, as the agent would:"
  echo "  ovn-nbctl --db=$OVN_NB_DB ls-add demo -- lsp-add demo vm1"
  echo "  ovs-vsctl --db=$OVS_DB_HV1 add-port br-int vm1 -- set Interface vm1 external_ids:iface-id=vm1"
  echo "  ovn-sbctl --db=$OVN_SB_DB wait-until Port_Binding vm1 up=true"
fi

if $once; then $demo_ok && exit 0 || exit 1; fi
echo
echo "demo: running; press Ctrl-C to stop everything."
wait "$sandbox_pid"
