#!/usr/bin/env bash
# Install the Debian 12 packages uswap needs, if any is missing.
# Usage: scripts/deps.sh [--all]   (--all adds the optional tools: clang for
# fuzzing, clang-format for scripts/check.sh, gnuplot for plots, util-linux
# tools for interoperability tests)
set -euo pipefail

need=(meson ninja-build pkg-config gcc libc6-dev liblz4-dev libzstd-dev python3)
if [ "${1:-}" = "--all" ]; then
	need+=(clang libclang-rt-14-dev clang-format gnuplot-nox util-linux fdisk)
fi

missing=()
for p in "${need[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "uswap: installing missing packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
