#!/usr/bin/env bash
# The project's one test command (README): installs what is missing, then runs every check —
# types, lint, formatting, unit tests, integration tests against real servers (OVS/OVN and a
# real Kubernetes API server) — and ends with one summary line `tests: N passed, M failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Pinned kube-apiserver, etcd, kubectl, helm from Go modules; a no-op once cached.
bash scripts/k8s-tools.sh build
npm run --silent typecheck
npm run --silent lint
npm run --silent format:check

reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
status=0
npx vitest run --config vitest.config.ts \
  --reporter=default --reporter=json --outputFile="$reports/unit.json" || status=$?
if [ "$status" -eq 0 ]; then
  npx vitest run --config vitest.integration.config.ts \
    --reporter=default --reporter=json --outputFile="$reports/integration.json" || status=$?
fi
node -e '
  const fs = require("node:fs");
  let passed = 0, failed = 0;
  for (const f of process.argv.slice(1)) {
    if (!fs.existsSync(f)) continue;
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests;
  }
  console.log(`tests: ${passed} passed, ${failed} failed`);
' "$reports/unit.json" "$reports/integration.json"
exit "$status"
