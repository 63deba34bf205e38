#!/usr/bin/env bash
# Runs the README's command N (default 1), exactly as written, on a fresh Debian 12 root
# (../shared/tools/fresh-machine-check.sh: debootstrap minbase bookworm + chroot; run as root).
# A pristine root is made once and kept in $CNNMEM_FRESH_CACHE (default /var/tmp/cnnmem-fresh);
# every run copies it anew, so no package installed by an earlier run can hide a missing one.
#   scripts/fresh-check.sh        # README command 1 (install, build, train, report)
#   scripts/fresh-check.sh 1 2    # both commands, one after the other on the same fresh root
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "fresh-check: run as root (it uses debootstrap and chroot)" >&2; exit 2; }
tool=../shared/tools/fresh-machine-check.sh
[ -x "$tool" ] || { echo "fresh-check: $tool not found (it sits beside the checkout)" >&2; exit 2; }
[ $# -gt 0 ] || set -- 1
commands=()
for n in "$@"; do commands+=("$(scripts/readme-commands.sh "$n")"); done

cache=${CNNMEM_FRESH_CACHE:-/var/tmp/cnnmem-fresh}
base=$cache/base
work=$cache/root
unmount() { for m in dev/pts dev proc sys; do mountpoint -q "$1/$m" && umount "$1/$m" || true; done; }
mkdir -p "$cache"
if [ ! -x "$base/usr/bin/apt-get" ]; then
  rm -rf --one-file-system "$base"
  mkdir -p "$base"
  command -v debootstrap >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
  debootstrap --variant=minbase bookworm "$base" >"$cache/debootstrap.log" 2>&1 \
    || { echo "fresh-check: debootstrap failed, see $cache/debootstrap.log" >&2; rm -rf "$base"; exit 2; }
fi
unmount "$work"
rm -rf --one-file-system "$work"
cp -a "$base" "$work"
trap 'unmount "$work"; rm -rf --one-file-system "$work"' EXIT
"$tool" "$work" "${commands[@]}"
