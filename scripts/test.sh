#!/usr/bin/env bash
# The project's one test command (README). Installs what is missing, then runs every check and
# prints one line per result:
#   1. tools: Debian packages and npm dependencies (install-deps.sh), the Kubernetes tools
#      (k8s-tools.sh; Go from go-toolchain.sh when one must be built), the image's Node release
#      (node-lts.sh) — each says what it installs
#   2. typecheck, lint, format                         → "typecheck: ok" ...
#   3. the systemd unit's hardening score              → "systemd unit: exposure 2.0 ..."
#   4. unit + integration tests on the Node on the PATH; the unit pass measures coverage (v8) →
#      "coverage (v8, src/**): statements ...% (floor N) ...: ok", failing below the floor in
#      vitest.config.ts
#   5. unit + the agent's end-to-end tests again on the image's Node (Dockerfile NODE_IMAGE), the
#      agent processes they start included
# and ends with one summary line `tests: N passed, M failed`.
set -euo pipefail
cd "$(dirname "$0")/.."

# Integration tests that run the real agent end to end (as a process, as the systemd unit and the
# image start it, or in-process against a sandbox with an unmodified ovn-controller), repeated on
# the image's Node release. The OVSDB client and Kubernetes-sink files below the agent run once.
readonly E2E_ON_IMAGE_NODE=(
  test/integration/agent-*.test.ts
  test/integration/kube-agent-e2e.test.ts
  test/integration/deploy-*.test.ts
)
# systemd-analyze's overall exposure (0 = locked down, 10 = fully exposed) above which the unit
# fails, in tenths as --threshold takes it. The unit scores 2.0 (ADR 0097).
readonly SYSTEMD_EXPOSURE_MAX_TENTHS=25
readonly UNIT=deploy/systemd/ovn-plug-agent.service

# ---- 1. tools ------------------------------------------------------------------------------
bash scripts/install-deps.sh
# Pinned kube-apiserver, etcd, kubectl, helm from Go modules; a no-op once cached.
bash scripts/k8s-tools.sh build
image_node=$(bash scripts/node-lts.sh path)

# ---- 2. typecheck, lint, format ---------------------------------------------------------------
# Runs "$@" quietly and prints "<name>: ok", or its output and "<name>: FAILED".
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    echo "$name: ok"
  else
    printf '%s\n' "$out"
    echo "$name: FAILED"
    return 1
  fi
}
static=0
check typecheck npm run --silent typecheck || static=1
check lint npm run --silent lint || static=1
check format npm run --silent format:check || static=1

# ---- 3. systemd unit hardening ---------------------------------------------------------------
systemd_unit_exposure() {
  local out rc=0 score
  out=$(systemd-analyze security --offline=yes --threshold="$SYSTEMD_EXPOSURE_MAX_TENTHS" "$UNIT" 2>&1) || rc=$?
  score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
  local max="$((SYSTEMD_EXPOSURE_MAX_TENTHS / 10)).$((SYSTEMD_EXPOSURE_MAX_TENTHS % 10))"
  if [ "$rc" -eq 0 ] && [ -n "$score" ]; then
    echo "systemd unit: exposure $score (systemd-analyze security --offline=yes; threshold $max): ok"
  else
    printf '%s\n' "$out"
    echo "systemd unit: exposure ${score:-unknown} above the threshold $max, or not analysable: FAILED"
    return 1
  fi
}
systemd_unit_exposure || static=1
[ "$static" -eq 0 ] || exit 1

# ---- 4. and 5. tests -----------------------------------------------------------------------------
reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
status=0
# run_vitest <report name> <node binary> <vitest args...>. The tests start the agent with
# process.execPath, or (deploy-*.test.ts) with that Node's directory first on the agent's PATH, so
# the agent runs on the same release. The PATH itself stays: npm (install-cli.sh in a test) keeps
# running on the Node it came with.
run_vitest() {
  local report=$1 node=$2
  shift 2
  "$node" node_modules/vitest/vitest.mjs run "$@" \
    --reporter=default --reporter=json --outputFile="$reports/$report.json" || status=$?
}
path_node=$(command -v node)
rm -rf coverage
run_vitest 1-unit "$path_node" --config vitest.config.ts --coverage
# One line with the four figures and their floors, printed with the summary below (vitest has
# failed the pass already when one is below the floor; the line says which).
coverage_line=$(node_modules/.bin/tsx scripts/coverage-summary.ts coverage/coverage-summary.json 2>&1) ||
  status=1
[ "$status" -ne 0 ] || run_vitest 2-integration "$path_node" --config vitest.integration.config.ts
if [ "$("$image_node" --version)" = "$(node --version)" ]; then
  echo "image Node $(node --version) is the Node on the PATH: the tests above ran on it"
else
  [ "$status" -ne 0 ] || run_vitest 3-unit-image-node "$image_node" --config vitest.config.ts
  [ "$status" -ne 0 ] ||
    run_vitest 4-e2e-image-node "$image_node" --config vitest.integration.config.ts "${E2E_ON_IMAGE_NODE[@]}"
fi

echo "$coverage_line"
node -e '
  const fs = require("node:fs");
  const path = require("node:path");
  const labels = {
    "1-unit": `unit tests on Node ${process.argv[1]}`,
    "2-integration": `integration tests on Node ${process.argv[1]}`,
    "3-unit-image-node": `unit tests on the image Node ${process.argv[2]}`,
    "4-e2e-image-node": `agent end-to-end tests on the image Node ${process.argv[2]}`,
  };
  // A file whose set-up fails has no failed test, only skipped ones: count it separately.
  const brokenFiles = (r) =>
    r.testResults.filter((t) => t.status === "failed" && t.assertionResults.every((a) => a.status !== "failed")).length;
  const summary = (p, f, b) => `${p} passed, ${f} failed` + (b > 0 ? `, ${b} files failed before their tests` : "");
  let passed = 0, failed = 0, broken = 0;
  for (const f of process.argv.slice(3)) {
    if (!fs.existsSync(f)) continue;
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    const b = brokenFiles(r);
    passed += r.numPassedTests; failed += r.numFailedTests; broken += b;
    const name = path.basename(f, ".json");
    console.log(`${labels[name] ?? name}: ${summary(r.numPassedTests, r.numFailedTests, b)}`);
  }
  console.log(`tests: ${summary(passed, failed, broken)}`);
 ' "$(node --version)" "$("$image_node" --version)" \
  "$reports/1-unit.json" "$reports/2-integration.json" "$reports/3-unit-image-node.json" "$reports/4-e2e-image-node.json"
exit "$status"
