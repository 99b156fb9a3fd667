#!/usr/bin/env bash
# Install the Debian 12 packages uswap needs, if any is missing.
# Usage: scripts/deps.sh [--all]   (--all adds the optional tools: clang for
# fuzzing, clang-format for scripts/check.sh, gnuplot for plots, util-linux
# tools for interoperability tests: mkswap and flock come with util-linux,
# swapon, swapoff and losetup with mount on Debian 12,
# and the real programs the `uswap run` tests page: python3, GNU coreutils'
# sort, redis-server and redis-cli). The base set has the real programs
# `uswap bench compare` runs: redis-server, redis-tools (redis-benchmark) and
# coreutils' sort.
set -euo pipefail

need=(meson ninja-build pkg-config gcc libc6-dev liblz4-dev libzstd-dev python3
	redis-server redis-tools coreutils)
if [ "${1:-}" = "--all" ]; then
	need+=(clang libclang-rt-14-dev clang-format gnuplot-nox util-linux mount fdisk coreutils redis-server redis-tools)
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
