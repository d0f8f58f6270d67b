#!/usr/bin/env bash
# End-to-end check on a throw-away kind cluster, for users with Docker. NOT part of CI and not run
# by scripts/test.sh (CI has no container engine; the chart is tested there against a real
# kube-apiserver instead, see test/integration/kube-helm-chart.test.ts).
#
# What it does:
#   1. creates a kind cluster (one node),
#   2. builds the image from the repository's Dockerfile and loads it into the cluster,
#   3. starts a sandbox inside the kind node from its Debian packages: the Open vSwitch database
#      (no ovs-vswitchd: the kind host may lack the kernel datapath) and OVN NB/SB with ovn-northd,
#   4. installs the chart with the dummy provider, pointed at that sandbox,
#   5. creates a logical port requesting `vif-plug-type=dummy` on the node's chassis and waits
#      until `kubectl get portplugs` shows it Plugged (without ovs-vswitchd and ovn-controller
#      no ofport is assigned, so Plugged is the end state here) and prints the node conditions,
#   6. uninstalls the chart and checks that the pre-delete hook removed every PortPlug object,
#   7. deletes the cluster unless KEEP=1.
#
# Requirements: docker, kind, kubectl, helm on PATH. Usage: test/e2e/kind/run.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."

CLUSTER=${CLUSTER:-ovn-plug-e2e}
IMAGE=${IMAGE:-ovn-plug-agent:e2e}
NAMESPACE=ovn-plug
for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is required on PATH" >&2; exit 1; }
done

cleanup() {
  if [ "${KEEP:-0}" != 1 ]; then kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

kind create cluster --name "$CLUSTER" --wait 120s
docker build -t "$IMAGE" .
kind load docker-image "$IMAGE" --name "$CLUSTER"

node=$(kubectl get nodes -o jsonpath='{.items[0].metadata.name}')
# The sandbox runs in the kind node container (Debian based), where the DaemonSet will find the
# OVS socket through its hostPath mount.
docker exec "$node" bash -euc '
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openvswitch-switch ovn-central >/dev/null
  /usr/share/openvswitch/scripts/ovs-ctl start --no-ovs-vswitchd --system-id=e2e-chassis
  /usr/share/ovn/scripts/ovn-ctl start_northd
  ovn-sbctl set-connection ptcp:6642:127.0.0.1
  ovs-vsctl set Open_vSwitch . external_ids:ovn-remote=tcp:127.0.0.1:6642 external_ids:ovn-encap-type=geneve external_ids:ovn-encap-ip=127.0.0.1
  ovs-vsctl --may-exist add-br br-int
  ovn-sbctl chassis-add e2e-chassis geneve 127.0.0.1
'

helm install ovn-plug-agent deploy/helm/ovn-plug-agent \
  --namespace "$NAMESPACE" --create-namespace \
  --set image.repository="${IMAGE%:*}" --set image.tag="${IMAGE##*:}" --set image.pullPolicy=Never \
  --set agent.providers=dummy --set agent.chassis=e2e-chassis \
  --wait --timeout 180s

docker exec "$node" bash -euc '
  ovn-nbctl ls-add sw0
  ovn-nbctl lsp-add sw0 lp-e2e
  ovn-nbctl lsp-set-options lp-e2e vif-plug-type=dummy requested-chassis=e2e-chassis
'

echo "waiting for the PortPlug object..."
for _ in $(seq 60); do
  state=$(kubectl get portplugs -o jsonpath="{.items[?(@.spec.logicalPort=='lp-e2e')].status.state}" 2>/dev/null || true)
  case "$state" in Plugged | Bound) break ;; esac
  sleep 2
done
kubectl get portplugs -o wide
kubectl describe node "$node" | sed -n '/Conditions:/,/Addresses:/p'
case "$state" in
  Plugged | Bound) echo "run.sh: OK, lp-e2e is $state" ;;
  *) echo "run.sh: FAILED, lp-e2e state is '${state:-absent}'" >&2; kubectl -n "$NAMESPACE" logs ds/ovn-plug-agent --tail=100 >&2; exit 1 ;;
esac

helm uninstall ovn-plug-agent --namespace "$NAMESPACE" --wait
left=$(kubectl get portplugs -o name | wc -l)
[ "$left" = 0 ] || { echo "run.sh: FAILED, $left PortPlug objects left after uninstall" >&2; exit 1; }
echo "run.sh: uninstall removed every PortPlug object"
