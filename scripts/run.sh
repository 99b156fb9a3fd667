#!/usr/bin/env bash
# The main job: build uswap (release) and run its headline benchmark, the
# seed's Redis-with-BGSAVE shape on the default zram device (lz4): 1.5 GiB of
# 1 KiB values in a budget of 384 MiB, served by a parent while a forked
# child saves them; about a minute on a 2-CPU machine. The run is in lockstep
# (reproducible counts for the seed); add --concurrent for free-running
# threads. It prints a result table and the engine's state.
# Usage: scripts/run.sh [extra options for `uswap bench bgsave`, e.g. --json]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
if [ ! -f build-release/build.ninja ]; then
	meson setup build-release -Dbuildtype=release -Ddebug_checks=false >/dev/null
fi
ninja -C build-release >/dev/null
exec ./build-release/src/cli/uswap bench bgsave --size 1536M --budget 384M "$@"
