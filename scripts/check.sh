#!/usr/bin/env bash
# Check the rules the code states about itself, without building it:
#   1. every lockless access goes through src/base/atomic.h: no raw GCC
#      __atomic_* / __sync_* builtin anywhere else;
#   2. every C file is formatted as .clang-format says (clang-format 14,
#      Debian 12's), comments included: no line is wider than its
#      ColumnLimit, 100 columns (clang-format does not reflow comments);
#   3. every C file under src/, tests/ and bench/ is named in its
#      directory's meson.build, so a test or source cannot silently drop
#      out of the build.
# Prints "ok - ..." or "not ok - ..." per check, the offending places, and
# a last line "checks: P passed, F failed"; exits non-zero if any failed.
#
# Usage: scripts/check.sh
set -uo pipefail
cd "$(dirname "$0")/.."

pass=0
fail=0
result() {
	if [ "$1" -eq 0 ]; then
		echo "ok - $2"
		pass=$((pass + 1))
	else
		echo "not ok - $2"
		fail=$((fail + 1))
	fi
}

dirs=(src tests bench include)

# 1. Raw atomics outside base/atomic.h.
raw=$(grep -rnE '\b__(atomic|sync)_[a-z_]+' --include='*.c' --include='*.h' "${dirs[@]}" |
	grep -v '^src/base/atomic\.h:')
if [ -n "$raw" ]; then
	echo "# raw atomic builtins outside src/base/atomic.h (use its named helpers):"
	echo "$raw" | sed 's/^/#   /'
fi
[ -z "$raw" ]
result $? "atomics only through src/base/atomic.h"

# 2. Formatting.
if command -v clang-format >/dev/null; then
	out=$(find "${dirs[@]}" -name '*.[ch]' -print0 | sort -z |
		xargs -0 clang-format --dry-run -Werror 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "# not formatted (run clang-format -i on these):"
		echo "$out" | grep -E '^[^ ]+:[0-9]+:[0-9]+: error' | cut -d: -f1 | sort -u | sed 's/^/#   /'
	fi
	wide=$(find "${dirs[@]}" -name '*.[ch]' | sort | while read -r f; do
		expand -t8 "$f" | awk -v f="$f" 'length($0) > 100 { print f ":" FNR }'
	done)
	if [ -n "$wide" ]; then
		echo "# lines wider than 100 columns:"
		echo "$wide" | sed 's/^/#   /'
		rc=1
	fi
	result $rc "C files formatted by .clang-format"
else
	echo "# clang-format not found (scripts/deps.sh --all installs it)"
	result 1 "C files formatted by .clang-format"
fi

# 3. Every C file named in its directory's meson.build.
missing=""
while IFS= read -r -d '' f; do
	dir=$(dirname "$f")
	name=$(basename "$f" .c)
	if [ ! -f "$dir/meson.build" ] ||
		! grep -qE "['\"]$name(\.c)?['\"]" "$dir/meson.build"; then
		missing+="$f"$'\n'
	fi
done < <(find src tests bench -name '*.c' -print0 | sort -z)
if [ -n "$missing" ]; then
	echo "# C files no meson.build names (add them to their directory's list):"
	printf '%s' "$missing" | sed 's/^/#   /'
fi
[ -z "$missing" ]
result $? "every C file is in its directory's meson.build"

echo "checks: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
