#!/usr/bin/env bash
# The main job: build uswap (release) and compare it with the kernel's own
# swap on real programs, the seed's workloads: usemem (sequential and random
# passes), Redis GET with and without a BGSAVE, GNU sort. Each runs under the
# kernel (a memory cgroup limited to the budget, swapping to zram0, set up
# for the run and put back as it was) and under `uswap run` with the same
# budget and compressor; budget 128 MiB, lz4; several minutes (each workload
# runs twice). Without root (or cgroups, or zram) the kernel half is skipped with
# one line. Ends in the table of figures and uswap/kernel ratios.
# Usage: scripts/run.sh [options for `uswap bench compare`, e.g. --json, usemem]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --all
if [ ! -f build-release/build.ninja ]; then
	meson setup build-release -Dbuildtype=release -Ddebug_checks=false >/dev/null
fi
ninja -C build-release >/dev/null
exec ./build-release/src/cli/uswap bench compare "$@"
