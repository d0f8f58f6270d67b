#!/usr/bin/env bash
# Puts `ovn-plug-agent` on the PATH from this source tree, the way a node without the source tree
# gets it: builds, packs the npm tarball (`npm pack`), and installs that tarball globally
# (`npm install -g --prefix=PREFIX ./ovn-plug-agent-<version>.tgz`: PREFIX/bin/ovn-plug-agent,
# the package in PREFIX/lib/node_modules/ovn-plug-agent, its three runtime dependencies from npm).
#
#   bash scripts/install-cli.sh [--prefix=/usr/local] [--systemd] [--root=DIR] [--pack-only=DIR]
#
#   --prefix=DIR     npm's global prefix (default /usr/local; the systemd unit expects /usr/local)
#   --systemd        also install the unit and, unless present, /etc/default/ovn-plug-agent, both
#                    taken from the installed package (not from this tree); no systemctl calls
#   --root=DIR       stage everything under DIR (like DESTDIR; the tests use it)
#   --pack-only=DIR  only build and write the tarball into DIR (to copy to other nodes)
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/usr/local
root=''
systemd=false
pack_only=''
for arg in "$@"; do
  case "$arg" in
    --prefix=*) prefix=${arg#--prefix=} ;;
    --root=*) root=${arg#--root=} ;;
    --systemd) systemd=true ;;
    --pack-only=*) pack_only=${arg#--pack-only=} ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install-cli: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
case "$prefix" in
  /*) ;;
  *) echo "install-cli: --prefix must be an absolute path (got '$prefix')" >&2; exit 2 ;;
esac
if [ -n "$root" ] && [ "${root#/}" = "$root" ]; then
  echo "install-cli: --root must be an absolute path (got '$root')" >&2
  exit 2
fi
if $systemd && [ "$prefix" != /usr/local ]; then
  echo "install-cli: --systemd needs --prefix=/usr/local (the unit's ExecStart is /usr/local/bin/ovn-plug-agent; got '$prefix')" >&2
  exit 2
fi
[ -d node_modules ] || { echo "install-cli: no node_modules; run bash scripts/install-deps.sh first" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "install-cli: building (npm run build)"
npm run --silent build
tarball=$(npm pack --silent --pack-destination "$work")
if [ -n "$pack_only" ]; then
  mkdir -p "$pack_only"
  cp "$work/$tarball" "$pack_only/"
  echo "install-cli: wrote $pack_only/$tarball; on a node: npm install -g --prefix=/usr/local ./$tarball"
  exit 0
fi

dest=$root$prefix
echo "install-cli: installing $tarball into $dest (npm install -g --prefix=$dest)"
npm install -g --prefix="$dest" --no-audit --no-fund --loglevel=error "$work/$tarball"
echo "install-cli: $dest/bin/ovn-plug-agent -> $(readlink "$dest/bin/ovn-plug-agent")"

if $systemd; then
  package=$dest/lib/node_modules/ovn-plug-agent
  install -D -m 0644 "$package/deploy/systemd/ovn-plug-agent.service" \
    "$root/etc/systemd/system/ovn-plug-agent.service"
  echo "install-cli: installed $root/etc/systemd/system/ovn-plug-agent.service"
  if [ -e "$root/etc/default/ovn-plug-agent" ]; then
    echo "install-cli: kept the existing $root/etc/default/ovn-plug-agent"
  else
    install -D -m 0644 "$package/deploy/systemd/ovn-plug-agent.env" "$root/etc/default/ovn-plug-agent"
    echo "install-cli: installed $root/etc/default/ovn-plug-agent (edit it, then: systemctl daemon-reload; systemctl enable --now ovn-plug-agent)"
  fi
fi
