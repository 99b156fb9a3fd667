#!/bin/sh
# fuzz.sh - build the libFuzzer target for the swap header parser in
# build-fuzz (clang, ASan + UBSan) and run it for a bounded time over a seed
# corpus it generates (a header made by swapfile_format, the same header in
# the other byte order, one with bad pages; mkswap's when available).
#
# usage: scripts/fuzz.sh [SECONDS]   (default 60; extra libFuzzer flags in
#        FUZZ_FLAGS). Crashes are written to build-fuzz/fuzz-artifacts/.
set -eu

seconds=${1:-60}
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build-fuzz"
corpus="$build/fuzz-corpus/swap_header"
artifacts="$build/fuzz-artifacts"

command -v clang >/dev/null || { echo "fuzz.sh: clang is needed" >&2; exit 1; }
mkdir -p "$build"

if grep -q "subdir('fuzz')" "$top/tests/meson.build"; then
	if [ ! -f "$build/build.ninja" ]; then
		CC=clang meson setup "$build" "$top" -Dfuzz=true -Dwerror=false \
			-Dbuildtype=debugoptimized >/dev/null
	fi
	ninja -C "$build" tests/fuzz/fuzz_swap_header tests/fuzz/fuzz_swap_header_seeds >/dev/null
	fuzzer="$build/tests/fuzz/fuzz_swap_header"
	seeds="$build/tests/fuzz/fuzz_swap_header_seeds"
else
	# tests/meson.build does not include tests/fuzz yet: build directly.
	flags="-std=gnu11 -D_GNU_SOURCE -O1 -g -I$top/src"
	base="$top/src/base/arena.c $top/src/base/lock.c $top/src/base/warn.c"
	fuzzer="$build/fuzz_swap_header"
	seeds="$build/fuzz_swap_header_seeds"
	clang $flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		"$top/tests/fuzz/fuzz_swap_header.c" "$top/src/dev/file.c" $base \
		-o "$fuzzer" -lpthread
	clang $flags -DFUZZ_SEED_MAIN "$top/tests/fuzz/fuzz_swap_header.c" \
		"$top/src/dev/file.c" $base -o "$seeds" -lpthread
fi

mkdir -p "$corpus" "$artifacts"
"$seeds" "$corpus"
if command -v mkswap >/dev/null 2>&1; then
	tmp="$build/mkswap-seed.swap"
	rm -f "$tmp"
	dd if=/dev/zero of="$tmp" bs=4096 count=64 status=none
	chmod 600 "$tmp"
	if mkswap -q -L mkswap-seed "$tmp" >/dev/null 2>&1; then
		head -c 4096 "$tmp" >"$corpus/mkswap"
	fi
	rm -f "$tmp"
fi

echo "fuzz.sh: running $fuzzer for ${seconds}s over $(ls "$corpus" | wc -l) inputs"
# shellcheck disable=SC2086
"$fuzzer" -max_total_time="$seconds" -max_len=4104 -artifact_prefix="$artifacts/" \
	${FUZZ_FLAGS:-} "$corpus"
