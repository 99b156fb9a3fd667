# SPDX-License-Identifier: MIT
#
# lib.sh - shared by the tests/run scripts: TAP output (tests/tap.sh), a
# scratch directory removed at exit, the step timeout $LIMIT, the budget and
# slack defaults, and helpers to run `uswap run` and read its --stats JSON.
#
# Set by the sourcing script before: USWAP (the uswap executable).

USWAP=$(realpath "$USWAP")
[ -n "${USWAP_AGENT:-}" ] && USWAP_AGENT=$(realpath "$USWAP_AGENT")
T=$(mktemp -d "${TMPDIR:-/tmp}/uswap-run.XXXXXX")
chmod 755 "$T"
cleanup_hooks=()
at_exit() { cleanup_hooks+=("$1"); }
run_cleanup() {
	local h
	for h in "${cleanup_hooks[@]}"; do eval "$h"; done
	rm -rf "$T"
}
trap run_cleanup EXIT
# $LIMIT CMD...: a program the pager leaves hanging fails its step, not the
# whole script.
LIMIT="timeout -k 10 ${USWAP_RUN_TEST_STEP_TIMEOUT:-100}"
# The budget of a run in MiB (USWAP_RUN_TEST_BUDGET_MIB, default 16) and the
# RssAnon allowed over it (USWAP_RUN_TEST_SLACK_MIB, default the documented
# slack: 4 MiB + budget / 8).
budget_mib=${USWAP_RUN_TEST_BUDGET_MIB:-16}
slack_mib=${USWAP_RUN_TEST_SLACK_MIB:-$((4 + budget_mib / 8))}
. "$(dirname "${BASH_SOURCE[0]}")/../tap.sh"

# check COND-EXIT DESC: ok if the previous command's status ($1) is 0.
check() {
	if [ "$1" -eq 0 ]; then ok "$2"; else not_ok "$2"; fi
}

# show FILE: the first lines of FILE as TAP comments.
show() {
	sed 's/^/#   /' "$1" | head -"${2:-10}"
}

# expect_rc WANT DESC CMD...: run CMD (stdout $T/out, stderr $T/err).
expect_rc() {
	local want=$1 desc=$2 rc
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc: exit $rc, want $want"
		show "$T/err"
	fi
}

# has FILE TEXT DESC: FILE contains TEXT.
has() {
	if grep -qF -- "$2" "$1"; then
		ok "$3"
	else
		not_ok "$3: '$2' not in $(basename "$1")"
		show "$1"
	fi
}

# json FILE EXPR: evaluate Python EXPR on the JSON object in FILE (as s).
PY3=/usr/bin/python3
[ -x "$PY3" ] || PY3=python3
json() {
	"$PY3" -c 'import json, sys; s = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# json_check FILE EXPR DESC: ok if EXPR is true for the JSON object in FILE.
json_check() {
	local r
	r=$(json "$1" "$2" 2>&1)
	if [ "$r" = True ]; then
		ok "$3"
	else
		not_ok "$3: $2 is $r"
		show "$1" 3
	fi
}

# perf_refused FILE: true if the agent of the run FILE reports could not
# open its perf events because this machine does not let it (EPERM,
# ENOENT, EACCES, ENODEV, ENOSYS, EOPNOTSUPP: perf_event_paranoid, a
# seccomp filter, a kernel without them); prints the errno.
perf_refused() {
	local e
	e=$(json "$1" "s['vmstat'].get('agent_pickup_errno', 0)")
	echo "$e"
	case $e in 1 | 2 | 13 | 19 | 38 | 95) return 0 ;; esac
	return 1
}

# budget_check FILE EXPR DESC: json_check of a budget-peak EXPR, skipped
# where the agent could not open its perf events (perf_refused): the rescan
# alone cannot hold the peak of a program that allocates fast
# (docs/uffd.md, "What the agent pages").
budget_check() {
	local e
	if e=$(perf_refused "$1"); then
		skip "$3" "the agent could not open perf events here (errno $e): the rescan alone ran"
	else
		json_check "$1" "$2" "$3"
	fi
}

# json_check_todo FILE EXPR DESC REASON: as json_check, but a known failure
# of an open issue: when EXPR is false the line is "not ok ... # TODO REASON"
# (TAP's known failure: shown, counted apart by scripts/test.sh, not failing
# the suite). It turns into a plain "ok" the day the behaviour is right.
json_check_todo() {
	local r
	r=$(json "$1" "$2" 2>&1)
	n=$((n + 1))
	if [ "$r" = True ]; then
		echo "ok $n - $3"
	else
		echo "not ok $n - $3: $2 is $r # TODO $4"
	fi
}

# mib N: N MiB in bytes.
mib() { echo $(($1 << 20)); }

finish() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
}
