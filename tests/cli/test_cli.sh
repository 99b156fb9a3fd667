#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_cli.sh - the uswap command from the outside, printing TAP: every
# subcommand's success paths, bad arguments, unreadable and malformed files,
# and the exit codes (0 ok, 1 runtime failure, 2 usage error); then
# test_cli_safety.sh (sourced): no data destroyed, no file name executed,
# busy areas refused (a kernel swap file as root), no hangs, util-linux's
# conventions.
#
# Usage: test_cli.sh PATH/TO/uswap [VERSION]  (VERSION: what --version must print)
set -u

USWAP=${1:?usage: test_cli.sh PATH/TO/uswap [VERSION]}
VERSION=${2:-}
case $USWAP in /*) ;; *) USWAP=$PWD/$USWAP ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/uswap-cli.XXXXXX")
# Swap files cannot live on tmpfs (uswap refuses them, as the kernel does).
if [ "$(stat -f -c %T "$T" 2>/dev/null)" = tmpfs ]; then
	rmdir "$T"
	T=$(mktemp -d /var/tmp/uswap-cli.XXXXXX)
fi
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../tap.sh"

# run CODE DESC ARGS...: run uswap with ARGS; stdout to $T/out, stderr to
# $T/err; check the exit code.
run() {
	local want=$1 desc=$2 rc
	shift 2
	"$USWAP" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc: exit $rc, want $want"
		sed 's/^/#   stderr: /' "$T/err" | head -5
	fi
}

# has FILE TEXT DESC: FILE ($T/out or $T/err) contains TEXT.
has() {
	if grep -qF -- "$2" "$1"; then
		ok "$3"
	else
		not_ok "$3: '$2' not in $(basename "$1")"
		sed 's/^/#   /' "$1" | head -10
	fi
}

# Write a little-endian u32 at byte offset OFF of FILE.
put_u32() {
	printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($2 & 255)) $((($2 >> 8) & 255)) \
		$((($2 >> 16) & 255)) $((($2 >> 24) & 255)))" |
		dd of="$1" bs=1 seek="$3" conv=notrunc status=none
}

# Write a big-endian u32 at byte offset OFF of FILE.
put_u32_be() {
	printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x' $((($2 >> 24) & 255)) \
		$((($2 >> 16) & 255)) $((($2 >> 8) & 255)) $(($2 & 255)))" |
		dd of="$1" bs=1 seek="$3" conv=notrunc status=none
}

# ---- top level ----

run 0 "--help succeeds" --help
has "$T/out" "Exit status:" "--help documents the exit codes"
has "$T/out" "2  usage error" "--help documents exit code 2"
has "$T/out" "run [--budget SIZE] -- PROG" "--help lists uswap run"
run 0 "help run shows the run usage" help run
has "$T/out" "Usage: uswap run [OPTION]... [--] PROG [ARG]..." "help run text"
run 0 "help mkswap shows the mkswap usage" help mkswap
has "$T/out" "Usage: uswap mkswap FILE SIZE" "help mkswap text"
run 0 "--version" --version
has "$T/out" "uswap $VERSION" "--version prints the version"
run 2 "no command is a usage error"
has "$T/err" "missing COMMAND" "no command: message"
run 2 "unknown command is a usage error" frobnicate
has "$T/err" "unknown command 'frobnicate'" "unknown command: message names it"
run 2 "help for an unknown command" help frobnicate

# ---- mkswap ----

S=$T/a.swap
run 0 "mkswap makes a file" mkswap "$S" 8M -L cli-test -U 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
has "$T/out" "2047 usable pages" "mkswap reports the usable pages"
has "$T/out" "LABEL=cli-test" "mkswap reports the label"
has "$T/out" "UUID=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" "mkswap reports the UUID"
if [ "$(stat -c %a "$S")" = 600 ] && [ "$(stat -c %s "$S")" = 8388608 ]; then
	ok "mkswap file is 8 MiB with mode 0600"
else
	not_ok "mkswap file is 8 MiB with mode 0600: $(stat -c '%a %s' "$S")"
fi
run 0 "mkswap with options before the arguments and a K suffix" mkswap -L x "$T/b.swap" 40K
run 0 "mkswap without label or UUID (random UUID)" mkswap "$T/c.swap" 1MiB
has "$T/out" "LABEL=(none)" "mkswap without label says so"
run 0 "mkswap --help" mkswap --help
run 2 "mkswap: missing SIZE" mkswap "$T/d.swap"
has "$T/err" "missing SIZE" "mkswap: missing SIZE message"
run 2 "mkswap: missing FILE and SIZE" mkswap
run 2 "mkswap: extra argument" mkswap "$T/d.swap" 1M extra
has "$T/err" "unexpected argument 'extra'" "mkswap: extra argument named"
run 2 "mkswap: bad size suffix" mkswap "$T/d.swap" 10Q
has "$T/err" "bad SIZE '10Q'" "mkswap: bad size named"
run 2 "mkswap: size too small" mkswap "$T/d.swap" 36K
has "$T/err" "too small" "mkswap: too small message"
run 2 "mkswap: size too large" mkswap "$T/d.swap" 17T
run 2 "mkswap: label of 17 bytes" mkswap "$T/d.swap" 1M -L 12345678901234567
has "$T/err" "17 bytes long: at most 16" "mkswap: label length message"
run 0 "mkswap: label of exactly 16 bytes" mkswap "$T/d.swap" 1M -L 1234567890123456
run 2 "mkswap: bad UUID" mkswap "$T/d.swap" 1M -U 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4
has "$T/err" "bad UUID" "mkswap: bad UUID message"
run 2 "mkswap: UUID with a non-hex digit" mkswap "$T/d.swap" 1M -U 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4g
run 2 "mkswap: unknown option" mkswap --frob "$T/d.swap" 1M
has "$T/err" "unknown option '--frob'" "mkswap: unknown option named"
run 2 "mkswap: -L without its argument" mkswap "$T/d.swap" 1M -L
has "$T/err" "needs an argument" "mkswap: missing option argument message"
run 1 "mkswap: directory that does not exist" mkswap "$T/no/such/dir.swap" 1M
has "$T/err" "No such file or directory" "mkswap: the system error is named"
run 1 "mkswap: refuses a directory" mkswap "$T" 1M
has "$T/err" "not a regular file" "mkswap: refusing a directory says why"

# ---- inspect ----

run 0 "inspect a file made by mkswap" inspect "$S"
has "$T/out" "version:     1" "inspect: version"
has "$T/out" "2048 pages, 8388608 bytes" "inspect: size in pages and bytes"
has "$T/out" "page size:   4096" "inspect: page size"
has "$T/out" "label:       cli-test" "inspect: label"
has "$T/out" "UUID:        0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" "inspect: UUID"
has "$T/out" "bad pages:   0" "inspect: bad pages"
has "$T/out" "this machine's byte order" "inspect: endianness"
run 0 "inspect --help" inspect --help
run 2 "inspect: missing FILE" inspect
run 2 "inspect: two files" inspect "$S" "$S"
run 2 "inspect: unknown option" inspect --frob "$S"
run 1 "inspect: a file that does not exist" inspect "$T/none.swap"
has "$T/err" "cannot open: No such file or directory" "inspect: missing file message"
run 1 "inspect: a directory" inspect "$T"
has "$T/err" "not a regular file or block device" "inspect: directory message"
if [ "$(id -u)" != 0 ]; then
	cp "$S" "$T/noread.swap" && chmod 000 "$T/noread.swap"
	run 1 "inspect: an unreadable file" inspect "$T/noread.swap"
	has "$T/err" "Permission denied" "inspect: unreadable file message"
else
	skip "inspect: an unreadable file" "root reads every file"
	skip "inspect: unreadable file message" "root reads every file"
fi
printf 'short' >"$T/short"
run 1 "inspect: a file shorter than a page" inspect "$T/short"
has "$T/err" "smaller than one 4096-byte page" "inspect: short file message"
head -c 65536 /dev/zero >"$T/zero" && chmod 600 "$T/zero"
run 1 "inspect: no signature" inspect "$T/zero"
has "$T/err" "no swap signature" "inspect: no signature message"

# Malformed headers, each a copy of a good one with one field broken.
malformed() {
	cp "$S" "$T/bad.swap"
	"$@"
}
malformed put_u32 "$T/bad.swap" 2 1024
run 1 "inspect: version 2" inspect "$T/bad.swap"
has "$T/err" "unsupported swap header version" "inspect: bad version message"
has "$T/err" "found version 2" "inspect: bad version is named"
malformed put_u32 "$T/bad.swap" 0 1028
run 1 "inspect: last_page 0" inspect "$T/bad.swap"
has "$T/err" "empty swap area" "inspect: empty area message"
malformed put_u32 "$T/bad.swap" 4096 1028
run 1 "inspect: last_page past the end" inspect "$T/bad.swap"
has "$T/err" "shorter than its header says" "inspect: too short message"
malformed put_u32 "$T/bad.swap" 638 1032
run 1 "inspect: 638 bad pages" inspect "$T/bad.swap"
has "$T/err" "too many bad pages" "inspect: too many bad pages message"
malformed eval 'put_u32 "$T/bad.swap" 1 1032; put_u32 "$T/bad.swap" 5000 1536'
run 1 "inspect: bad page out of range" inspect "$T/bad.swap"
has "$T/err" "outside 1..last_page" "inspect: bad page range message"
malformed eval 'printf SWAP-SPACE | dd of="$T/bad.swap" bs=1 seek=4086 conv=notrunc status=none'
run 1 "inspect: old version 0 format" inspect "$T/bad.swap"
has "$T/err" "version 0" "inspect: version 0 message"
malformed eval 'put_u32 "$T/bad.swap" 2 1032; put_u32 "$T/bad.swap" 7 1536; put_u32 "$T/bad.swap" 9 1540'
run 0 "inspect: bad pages are listed" inspect "$T/bad.swap"
has "$T/out" "bad pages:   2 (7,9)" "inspect: bad page list"
has "$T/out" "swapon refuses bad pages on a regular file" "inspect: bad pages note"
malformed eval 'put_u32_be "$T/bad.swap" 1 1024; put_u32_be "$T/bad.swap" 2047 1028'
run 0 "inspect: a header of the other byte order" inspect "$T/bad.swap"
has "$T/out" "foreign" "inspect: foreign byte order is said"
has "$T/out" "last_page 2047" "inspect: foreign header decoded"
cp "$S" "$T/open.swap" && chmod 644 "$T/open.swap"
run 0 "inspect: a world-readable swap file" inspect "$T/open.swap"
has "$T/out" "open to group or others" "inspect: permission note"

if command -v mkswap >/dev/null 2>&1; then
	truncate -s 4M "$T/sys.swap" && chmod 600 "$T/sys.swap"
	if mkswap -L sys-made -U 11111111-2222-4333-8444-555555555555 "$T/sys.swap" >/dev/null 2>&1; then
		run 0 "inspect reads util-linux mkswap's file" inspect "$T/sys.swap"
		has "$T/out" "label:       sys-made" "inspect: util-linux label"
		has "$T/out" "UUID:        11111111-2222-4333-8444-555555555555" "inspect: util-linux UUID"
	else
		skip "inspect reads util-linux mkswap's file" "mkswap failed"
	fi
else
	skip "inspect reads util-linux mkswap's file" "no mkswap"
fi

run 0 "inspect --clusters" inspect --clusters "$S"
has "$T/out" "cluster map of $S: 4 clusters of 512 slots" "inspect --clusters: map header"
has "$T/out" "legend: . free  n nonfull  f frag  # full" "inspect --clusters: legend"
has "$T/out" "totals: free" "inspect --clusters: totals"
cp "$S" "$T/open.swap" && chmod 644 "$T/open.swap"
run 0 "inspect --clusters takes a 0644 file, as the kernel does" inspect --clusters "$T/open.swap"

# ---- stat ----

run 0 "stat on a fresh engine" stat
has "$T/out" "== swaps ==" "stat: device table"
has "$T/out" "Filename                                Type            Size" "stat: /proc/swaps header"
has "$T/out" "zram0 " "stat: the zram device"
has "$T/out" "pswpout 0" "stat: vmstat counters"
has "$T/out" "== zram0 mm_stat ==" "stat: zram figures"
run 0 "stat --demo" stat --demo --size 64M
if grep -q '^pswpout [1-9]' "$T/out" && grep -q '^pswpin [1-9]' "$T/out"; then
	ok "stat --demo: pages went out and came back"
else
	not_ok "stat --demo: pages went out and came back"
fi
has "$T/out" "compression ratio" "stat --demo: compression ratio"
run 0 "stat --demo with zstd" stat --demo --comp zstd
run 0 "stat on a swap file" stat --device "file:$S"
has "$T/out" "$S" "stat: the swap file in the table"
run 0 "stat --help" stat --help
run 2 "stat: bad device" stat --device disk
has "$T/err" "bad --device 'disk'" "stat: bad device named"
run 2 "stat: bad compressor" stat --comp gzip
run 2 "stat: bad size" stat --size 12X
run 2 "stat: extra argument" stat extra
run 1 "stat: a swap file that does not exist" stat --device "file:$T/none.swap"
has "$T/err" "cannot open" "stat: missing swap file message"
run 1 "stat: a malformed swap file" stat --device "file:$T/zero"
has "$T/err" "no swap signature" "stat: malformed swap file message"

# ---- bench ----

# json_get KEY: the number KEY has in the flat JSON object in $T/out.
json_get() {
	grep -o "\"$1\": [0-9.-]*" "$T/out" | head -1 | sed 's/.*: //'
}

# positive KEY DESC: KEY is a number > 0 in $T/out.
positive() {
	local v
	v=$(json_get "$1")
	if [ -n "$v" ] && awk -v v="$v" 'BEGIN { exit !(v > 0) }'; then
		ok "$2"
	else
		not_ok "$2: $1 is '$v'"
	fi
}

# equals KEY VALUE DESC
equals() {
	local v
	v=$(json_get "$1")
	if [ "$v" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3: $1 is '$v', want '$2'"
	fi
}

run 0 "bench --help" bench --help
has "$T/out" "usemem" "bench --help names usemem"
has "$T/out" "bgsave" "bench --help names bgsave"
run 2 "bench: missing workload" bench
has "$T/err" "missing WORKLOAD" "bench: missing workload message"
run 2 "bench: unknown workload" bench frob
has "$T/err" "unknown workload 'frob'" "bench: unknown workload named"
run 2 "bench: bad --threads" bench usemem --threads 0
run 2 "bench: --threads not a number" bench usemem --threads two
run 2 "bench: bgsave refuses --threads 2" bench bgsave --threads 2
has "$T/err" "--threads must be 1" "bench bgsave --threads message"
run 2 "bench: bad --size" bench usemem --size 12Q
run 2 "bench: --size too small" bench usemem --size 512K
run 2 "bench: bad --budget" bench usemem --budget 1K
run 2 "bench: bad --device" bench usemem --device nvme
run 2 "bench: bad --comp" bench usemem --comp brotli
run 2 "bench: bad --seed" bench usemem --seed x1
run 2 "bench: unknown option" bench usemem --frob
run 2 "bench: --csv without its argument" bench usemem --csv
run 2 "bench: --size too small for the threads" bench usemem --size 1M --threads 8

run 0 "bench usemem, 2 threads" bench usemem --size 4M --budget 1M --threads 2 --quiet
has "$T/out" "uswap bench usemem: zram (lz4), size 4 MiB, budget 1 MiB, 2 threads" \
	"bench usemem: run described"
has "$T/out" "(seq_write_mb_s)" "bench usemem: sequential write figure"
has "$T/out" "(rand_read_mb_s)" "bench usemem: random read figure"
has "$T/out" "== vmstat ==" "bench usemem: ends with the stat format"
has "$T/out" "== zram0 mm_stat ==" "bench usemem: zram figures"

run 0 "bench usemem --json" bench usemem --size 4M --budget 1M --threads 2 --seed 7 --json
if [ "$(wc -l <"$T/out")" -eq 1 ] && head -c1 "$T/out" | grep -q '{'; then
	ok "bench --json prints one object on one line"
else
	not_ok "bench --json prints one object on one line"
fi
if command -v python3 >/dev/null 2>&1; then
	if python3 -c 'import json, sys; d = json.load(sys.stdin); assert isinstance(d, dict)' \
		<"$T/out"; then
		ok "bench --json is valid JSON"
	else
		not_ok "bench --json is valid JSON"
	fi
else
	skip "bench --json is valid JSON" "no python3"
fi
equals verify_failures 0 "bench usemem: no verify failures"
positive pswpout "bench usemem: pages went to swap"
positive pswpin "bench usemem: pages came back"
in1=$(json_get pswpin)
out1=$(json_get pswpout)
run 0 "bench usemem --json, same seed again" bench usemem --size 4M --budget 1M --threads 2 \
	--seed 7 --json
equals pswpin "$in1" "bench usemem: same seed, same pswpin"
equals pswpout "$out1" "bench usemem: same seed, same pswpout"

run 0 "bench bgsave --json" bench bgsave --size 4M --budget 1M --seed 3 --json
positive shared_cache_hits "bench bgsave: shared_cache_hits > 0"
equals verify_failures 0 "bench bgsave: verify_failures == 0"
positive parent_ops_per_s "bench bgsave: parent_ops_per_s"
positive parent_ops_per_s_during_save "bench bgsave: parent_ops_per_s_during_save"
positive pswpin "bench bgsave: pswpin"
positive pswpout "bench bgsave: pswpout"
in1=$(json_get pswpin)
out1=$(json_get pswpout)
hits1=$(json_get shared_cache_hits)
run 0 "bench bgsave --json, same seed again" bench bgsave --size 4M --budget 1M --seed 3 --json
equals pswpin "$in1" "bench bgsave: same seed, same pswpin"
equals pswpout "$out1" "bench bgsave: same seed, same pswpout"
equals shared_cache_hits "$hits1" "bench bgsave: same seed, same shared_cache_hits"

run 0 "bench bgsave --concurrent" bench bgsave --size 4M --budget 1M --concurrent --json
equals verify_failures 0 "bench bgsave --concurrent: verify_failures == 0"
run 0 "bench bgsave with zstd" bench bgsave --size 2M --budget 512K --comp zstd --quiet
has "$T/out" "zram (zstd)" "bench: the compressor is named"

run 0 "bench usemem on a swap file" bench usemem --size 4M --budget 1M --threads 1 \
	--device "file:$S" --quiet --clusters
has "$T/out" "swap file $S" "bench on a swap file: run described"
has "$T/out" "cluster map of $S" "bench --clusters: the map"
run 1 "bench: a swap file too small for the run" bench usemem --size 64M --budget 1M \
	--device "file:$S" --quiet
has "$T/err" "the run needs at least" "bench: swap file too small message"
run 1 "bench: a swap file that does not exist" bench usemem --device "file:$T/none.swap"
has "$T/err" "cannot open" "bench: missing swap file message"

run 0 "bench --csv" bench usemem --size 4M --budget 1M --threads 1 --quiet --csv "$T/run.csv"
if head -1 "$T/run.csv" | grep -q '^time_s,phase,ops_per_s,mb_per_s,pswpin_per_s,pswpout_per_s'; then
	ok "bench --csv: header"
else
	not_ok "bench --csv: header"
fi
if [ "$(wc -l <"$T/run.csv")" -ge 2 ]; then
	ok "bench --csv: at least one sample"
else
	not_ok "bench --csv: at least one sample"
fi
run 1 "bench --csv into a directory that does not exist" bench usemem --size 4M --budget 1M \
	--threads 1 --quiet --csv "$T/no/such/dir.csv"
has "$T/err" "--csv $T/no/such/dir.csv: cannot write: No such file or directory" \
	"bench --csv: write failure message"
if [ ! -s "$T/out" ]; then
	ok "bench --csv: an unwritable path fails before the run"
else
	not_ok "bench --csv: an unwritable path fails before the run"
fi
if command -v gnuplot >/dev/null 2>&1; then
	run 0 "bench --plot" bench usemem --size 4M --budget 1M --threads 1 --quiet \
		--plot "$T/run.png"
	if [ -s "$T/run.png" ] && head -c 8 "$T/run.png" | grep -q PNG; then
		ok "bench --plot: a PNG"
	else
		not_ok "bench --plot: a PNG"
	fi
else
	skip "bench --plot" "no gnuplot"
	skip "bench --plot: a PNG" "no gnuplot"
fi
PATH=/nonexistent run 1 "bench --plot without gnuplot" bench usemem --plot "$T/x.png"
has "$T/err" "needs gnuplot" "bench --plot without gnuplot: message"

. "$(dirname "$0")/test_cli_safety.sh"

echo "1..$n"
[ "$failed" -eq 0 ]
