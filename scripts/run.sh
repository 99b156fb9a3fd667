#!/usr/bin/env bash
# The main job: build uswap (release) and run its headline benchmark.
# Usage: scripts/run.sh [extra arguments for the benchmark]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
if [ ! -f build-release/build.ninja ]; then
	meson setup build-release -Dbuildtype=release -Ddebug_checks=false >/dev/null
fi
ninja -C build-release >/dev/null
exec ./build-release/bench/bench_swap "$@"
