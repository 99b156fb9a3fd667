#!/usr/bin/env bash
# cli_fuzz.sh - a bounded random test of the uswap command: random
# subcommands, options and arguments (sizes, UUIDs, labels, paths to swap
# files, corrupted headers, random bytes, a FIFO, a directory, long paths)
# over a sandbox of files whose contents are randomized as it goes.
#
# It fails on: a crash (killed by a signal), a hang (no exit within the
# per-command limit), a sanitizer report, an exit code outside 0/1/2, or a
# file that existed before a command and changed although the command failed
# (exit 1 or 2).
#
# Usage: scripts/cli_fuzz.sh [SECONDS [PATH/TO/uswap]]
#        (default 45 s; uswap of build-asan if built, else of build)
#        USWAP_CLI_FUZZ_SEED=N  repeat a run (default: random, printed)
set -uo pipefail

seconds=${1:-45}
top=$(cd "$(dirname "$0")/.." && pwd)
uswap=${2:-}
if [ -z "$uswap" ]; then
	for b in build-asan build; do
		if [ -x "$top/$b/src/cli/uswap" ]; then
			uswap=$top/$b/src/cli/uswap
			break
		fi
	done
fi
[ -n "$uswap" ] && [ -x "$uswap" ] || { echo "cli_fuzz: no uswap binary (build first)" >&2; exit 1; }
case $uswap in /*) ;; *) uswap=$PWD/$uswap ;; esac

seed=${USWAP_CLI_FUZZ_SEED:-$(( $(date +%s%N) % 1000000007 ))}
RANDOM=$seed
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
limit=20 # seconds a command may take before it counts as a hang

base=${TMPDIR:-/tmp}
[ "$(stat -f -c %T "$base" 2>/dev/null)" = tmpfs ] && base=/var/tmp
D=$(mktemp -d "$base/uswap-cli-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$D"' EXIT
cd "$D" || exit 1

# ---- the sandbox ----

# Put COUNT random bytes at random offsets of the header fields of FILE.
mutate() {
	local f=$1 count=$2 off
	for ((k = 0; k < count; k++)); do
		case $((RANDOM % 4)) in
		0) off=$((1024 + RANDOM % 48)) ;;       # version .. label
		1) off=$((1536 + RANDOM % 2550)) ;;     # bad pages
		2) off=$((4086 + RANDOM % 10)) ;;       # the signature
		*) off=$((1024 + RANDOM % 12)) ;;       # version, last_page, nr_badpages
		esac
		printf "$(printf '\\x%02x' $((RANDOM % 256)))" |
			dd of="$f" bs=1 seek="$off" conv=notrunc status=none 2>/dev/null
	done
}

make_sandbox() {
	rm -rf "$D"/* 2>/dev/null
	"$uswap" mkswap good.swap 1M -L fuzz >/dev/null 2>&1
	cp good.swap corrupt.swap
	mutate corrupt.swap $((1 + RANDOM % 6))
	cp good.swap open.swap && chmod 644 open.swap
	head -c $((RANDOM % 20000)) /dev/urandom >random.bin
	echo precious >precious.txt
	mkfifo fifo
	mkdir -p dir
	: >empty
	ln -s good.swap link.swap
}

# ---- random arguments ----

words=(mkswap mkswap inspect inspect stat bench bench help --help --version frob "")
opts=(-L -U -h -x -xh -hx -Lx -- --label --uuid --help --clusters --device --comp --size
	--demo --threads --budget --seed --concurrent --json --csv --plot --quiet --mem-limit
	--json=1 --frob --device=zram --size= - usemem bgsave)
sizes=(40K 36K 1M 4M 1MB 1MiB 2m 1000K 8k 0 1 4096 15T 17T 99999999999999999999 1.5M -1 M
	12Q 7kb 3mib "" " 1M")
uuids=(clear random time 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4
	xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx CLEAR)

rand_path() {
	local long=dir
	case $((RANDOM % 14)) in
	0) echo good.swap ;; 1) echo corrupt.swap ;; 2) echo open.swap ;; 3) echo random.bin ;;
	4) echo precious.txt ;; 5) echo fifo ;; 6) echo dir ;; 7) echo empty ;;
	8) echo link.swap ;; 9) echo "new-$RANDOM.swap" ;; 10) echo "no/such/dir/x" ;;
	11) for ((k = 0; k < 300; k++)); do long=$long/.; done; echo "$long/good.swap" ;;
	12) echo /dev/null ;;
	*) printf 'odd\nname'"'"'$(touch PWNED)%d' $RANDOM ;;
	esac
}

rand_junk() {
	local n=$((RANDOM % 12)) s=
	for ((k = 0; k < n; k++)); do
		s+=$(printf "$(printf '\\x%02x' $((RANDOM % 94 + 33)))")
	done
	[ $((RANDOM % 5)) = 0 ] && s+=$'\033[2J\n'
	printf '%s' "$s"
}

rand_arg() {
	case $((RANDOM % 9)) in
	0 | 1) echo "${opts[RANDOM % ${#opts[@]}]}" ;;
	2) echo "${sizes[RANDOM % ${#sizes[@]}]}" ;;
	3) echo "${uuids[RANDOM % ${#uuids[@]}]}" ;;
	4 | 5) rand_path ;;
	6) echo "file:$(rand_path)" ;;
	7) echo "$((RANDOM % 70))" ;;
	*) rand_junk ;;
	esac
}

# ---- checks ----

snapshot() {
	find "$D" -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 -r md5sum 2>/dev/null
}

fail() {
	echo "cli_fuzz: FAILED (seed $seed, run $runs): $1"
	printf 'cli_fuzz: command:'
	printf ' %q' "$uswap" "${args[@]}"
	echo
	sed 's/^/cli_fuzz:   stderr: /' "$errf" 2>/dev/null | head -20
	exit 1
}

errf="$D.err"
trap 'rm -rf "$D" "$errf"' EXIT
end=$((SECONDS + seconds))
runs=0
failures=0
make_sandbox
while [ $SECONDS -lt $end ]; do
	runs=$((runs + 1))
	if [ $((runs % 25)) = 0 ]; then
		make_sandbox
	fi
	# Mostly well-formed commands with random values, sometimes noise.
	args=("${words[RANDOM % ${#words[@]}]}")
	case ${args[0]} in
	mkswap)
		args+=("$(rand_path)" "${sizes[RANDOM % ${#sizes[@]}]}")
		[ $((RANDOM % 3)) = 0 ] && args+=(-L "$(rand_junk)")
		[ $((RANDOM % 3)) = 0 ] && args+=(-U "${uuids[RANDOM % ${#uuids[@]}]}")
		;;
	inspect)
		[ $((RANDOM % 2)) = 0 ] && args+=(--clusters)
		args+=("$(rand_path)")
		;;
	stat)
		[ $((RANDOM % 3)) != 0 ] && args+=(--device "file:$(rand_path)")
		[ $((RANDOM % 2)) = 0 ] && args+=(--demo)
		;;
	bench)
		args+=("$([ $((RANDOM % 2)) = 0 ] && echo usemem || echo bgsave)")
		[ $((RANDOM % 2)) = 0 ] && args+=(--device "file:$(rand_path)")
		[ $((RANDOM % 3)) = 0 ] && args+=(--csv "$(rand_path)")
		[ $((RANDOM % 4)) = 0 ] && args+=(--plot "$(rand_path)")
		[ $((RANDOM % 3)) = 0 ] && args+=(--json)
		;;
	esac
	if [ $((RANDOM % 3)) = 0 ]; then
		for ((i = 1 + RANDOM % 3; i > 0; i--)); do
			args+=("$(rand_arg)")
		done
	fi
	case ${args[0]} in
	# Bounded work: what a run may do is capped by options given last.
	bench) args+=(--size 1M --budget 768K --threads 1 --quiet --mem-limit 0) ;;
	stat) args+=(--size 16M) ;;
	esac
	before=$(snapshot)
	timeout -s KILL "$limit" "$uswap" "${args[@]}" </dev/null >/dev/null 2>"$errf"
	rc=$?
	if [ $rc -eq 137 ]; then
		fail "no exit within $limit s (hang)"
	elif [ $rc -gt 128 ]; then
		fail "killed by signal $((rc - 128))"
	elif [ $rc -gt 2 ]; then
		fail "exit code $rc (not 0, 1 or 2)"
	fi
	if grep -qE "Sanitizer|runtime error:" "$errf"; then
		fail "sanitizer report"
	fi
	if [ -e "$D/PWNED" ] || [ -e PWNED ]; then
		fail "a file name was run as a command"
	fi
	if [ $rc -ne 0 ]; then
		after=$(snapshot)
		# Lines (checksum, path) of before that are not in after: changed or gone.
		changed=$(comm -23 <(echo "$before" | sort) <(echo "$after" | sort) | grep -v '^$')
		if [ -n "$changed" ]; then
			fail "exit $rc, yet a file that existed changed: $(echo "$changed" | head -3)"
		fi
	fi
done
echo "cli_fuzz: $runs runs in $seconds s (seed $seed, $uswap): no crash, hang, sanitizer report, bad exit code or damaged file"
