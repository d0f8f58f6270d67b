#!/usr/bin/env bash
# The project's one test command (README): installs what is missing, then runs every check —
# types, lint, unit tests, integration tests against real servers, Kubernetes tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# Pinned kube-apiserver, etcd, kubectl, helm from Go modules; a no-op once cached.
bash scripts/k8s-tools.sh build
npm run --silent typecheck
npm run --silent lint
npm run --silent format:check
npx vitest run --config vitest.config.ts
npx vitest run --config vitest.integration.config.ts
echo "test.sh: all checks passed"
