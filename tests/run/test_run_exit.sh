#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_run_exit.sh - `uswap run` passes the program's world through: exit
# status, death by signal (128+N), the four forwarded signals, standard
# streams, environment and arguments; and its own codes: 127 not found, 126
# not executable, 2 usage error. Prints TAP.
#
# Usage: test_run_exit.sh PATH/TO/uswap
# The agent comes from USWAP_AGENT. With USWAP_TEST_AGENT=1 (the stand-in
# agent of test_agent.c) it also checks what the agent was handed and the
# --stats and --progress output against the agent's known figures.
set -u
USWAP=${1:?usage: test_run_exit.sh PATH/TO/uswap}
. "$(dirname "$0")/lib.sh"
ulimit -c 0
B=8M

# ---- exit status ----
expect_rc 0 "exit 0 passes through" "$USWAP" run --budget $B -- true
expect_rc 3 "exit 3 passes through" "$USWAP" run --budget $B -- sh -c 'exit 3'
expect_rc 255 "exit 255 passes through" "$USWAP" run --budget $B -- sh -c 'exit 255'
expect_rc 137 "killed by SIGKILL: 137" "$USWAP" run --budget $B -- sh -c 'kill -KILL $$'
expect_rc 127 "not found: 127" "$USWAP" run --budget $B -- uswap-no-such-program-here
has "$T/err" "command not found" "not found: message"
expect_rc 127 "not found by path: 127" "$USWAP" run --budget $B -- "$T/nothing"
printf '#!/bin/sh\necho hi\n' >"$T/noexec.sh"
chmod 644 "$T/noexec.sh"
expect_rc 126 "not executable: 126" "$USWAP" run --budget $B -- "$T/noexec.sh"
expect_rc 126 "a directory: 126" "$USWAP" run --budget $B -- "$T"
printf '#!%s/missing-interpreter\n' "$T" >"$T/badinterp.sh"
chmod 755 "$T/badinterp.sh"
expect_rc 1 "script whose interpreter is missing: refused" "$USWAP" run --budget $B -- "$T/badinterp.sh"
has "$T/err" "missing-interpreter" "missing interpreter: named"

# ---- usage errors: 2, and nothing runs ----
expect_rc 2 "no program: 2" "$USWAP" run --budget $B
expect_rc 2 "unknown option: 2" "$USWAP" run --frobnicate -- touch "$T/ran"
expect_rc 2 "budget below the minimum: 2" "$USWAP" run --budget 1M -- touch "$T/ran"
has "$T/err" "below the minimum of 4 MiB" "budget below the minimum: message"
expect_rc 2 "bad size: 2" "$USWAP" run --budget 12Q -- touch "$T/ran"
expect_rc 2 "bad device: 2" "$USWAP" run --device floppy -- touch "$T/ran"
expect_rc 2 "bad compressor: 2" "$USWAP" run --comp gzip -- touch "$T/ran"
expect_rc 2 "--comp with a file device: 2" "$USWAP" run --device file:/x --comp zstd -- touch "$T/ran"
expect_rc 2 "missing option argument: 2" "$USWAP" run --budget
if [ -e "$T/ran" ]; then not_ok "usage errors start nothing"; else ok "usage errors start nothing"; fi
expect_rc 0 "--help" "$USWAP" run --help
has "$T/out" "Usage: uswap run" "--help text"

# ---- streams, environment, arguments ----
out=$(echo "piped in" | "$USWAP" run --budget $B -- cat 2>"$T/err")
[ "$out" = "piped in" ]
check $? "stdin and stdout pass through"
"$USWAP" run --budget $B -- sh -c 'echo to-stderr >&2' 2>"$T/err2" >/dev/null
has "$T/err2" "to-stderr" "stderr passes through"
out=$(USWAP_TEST_VAR="a b" "$USWAP" run --budget $B -- sh -c 'echo "$USWAP_TEST_VAR"' 2>"$T/err")
[ "$out" = "a b" ]
check $? "the caller's environment passes through"
out=$("$USWAP" run --budget $B -- printf '%s|' "one arg" -x --budget 2>"$T/err")
[ "$out" = "one arg|-x|--budget|" ]
check $? "arguments after PROG pass through untouched (got '$out')"
out=$("$USWAP" run --budget $B sh -c 'echo no-dashes' 2>"$T/err")
[ "$out" = "no-dashes" ]
check $? "PROG without -- also works"

# ---- signals ----
# start_bg ARGS...: run uswap in the background; wait until its child has
# exec'd the program (its comm is no longer uswap's).
start_bg() {
	"$@" >"$T/bg.out" 2>"$T/bg.err" &
	bg=$!
	child=""
	for _ in $(seq 500); do
		child=$(cat /proc/$bg/task/$bg/children 2>/dev/null | awk '{print $1}')
		if [ -n "$child" ] && [ "$(cat /proc/$child/comm 2>/dev/null)" != uswap ]; then
			sleep 0.2 # the agent's constructor
			return 0
		fi
		sleep 0.01
	done
	return 1
}

# signal_test SIG WANT: the program dies of SIG sent to uswap.
signal_test() {
	local sig=$1 want=$2 rc
	if ! start_bg env --default-signal="$sig" "$USWAP" run --budget $B -- sleep 30; then
		not_ok "SIG$sig: the program did not start"
		kill -KILL $bg 2>/dev/null
		return
	fi
	kill -"$sig" $bg
	wait $bg
	rc=$?
	if [ "$rc" -eq "$want" ] && ! kill -0 "$child" 2>/dev/null; then
		ok "SIG$sig to uswap reaches the program: exit $want"
	else
		not_ok "SIG$sig: exit $rc, want $want (program still alive: $(kill -0 "$child" 2>/dev/null && echo yes || echo no))"
		show "$T/bg.err"
		kill -KILL "$child" 2>/dev/null
	fi
}
signal_test TERM 143
signal_test INT 130
signal_test HUP 129
signal_test QUIT 131

# The program handles SIGTERM itself: uswap stays and returns its status.
if start_bg "$USWAP" run --budget $B -- sh -c 'trap "kill \$!; exit 7" TERM; sleep 30 & echo trapped; wait'; then
	for _ in $(seq 500); do grep -q trapped "$T/bg.out" && break; sleep 0.01; done
	kill -TERM $bg
	wait $bg
	rc=$?
	[ "$rc" -eq 7 ]
	check $? "SIGTERM handled by the program: its exit status 7 (got $rc)"
else
	not_ok "trap program did not start"
fi

# Ctrl-C on a terminal reaches the program once, not twice (the terminal
# signals the whole foreground group; uswap must not pass on its copy).
if command -v script >/dev/null && [ -x /usr/bin/python3 ]; then
	cat >"$T/count_int.py" <<'PY'
import signal, time
n = 0
def count(sig, frame):
    global n
    n += 1
signal.signal(signal.SIGINT, count)
print("ready", flush=True)
t = time.time()
while time.time() - t < 3:
    time.sleep(0.05)
print("SIGINTs:", n)
PY
	: >"$T/tty.out"
	(
		for _ in $(seq 600); do grep -q ready "$T/tty.out" && break; sleep 0.05; done
		printf '\003'
		sleep 4
	) | script -qec "$USWAP run --budget $B -- /usr/bin/python3 $T/count_int.py" /dev/null >"$T/tty.out" 2>&1
	has "$T/tty.out" "SIGINTs: 1" "Ctrl-C on a terminal: the program gets one SIGINT"
else
	skip "Ctrl-C on a terminal" "needs script(1) and /usr/bin/python3"
fi

# ---- with the stand-in agent: what it was handed, and the reports ----
if [ "${USWAP_TEST_AGENT:-0}" = 1 ]; then
	export USWAP_TEST_AGENT_LOG="$T/agent.log"
	# (An ASan-built uswap must be told that a preload before its runtime is fine.)
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0 LD_PRELOAD=libm.so.6 "$USWAP" run --budget 12M --stats "$T/stats.json" -- python3 -c 'import sys, time; time.sleep(0.2); sys.exit(2)' 2>"$T/err"
	rc=$?
	[ $rc -eq 2 ]
	check $? "stats run: exit 2 (got $rc)"
	has "$T/agent.log" "mode=600" "status page has mode 0600"
	has "$T/agent.log" "budget=12582912 device=zram comp=lz4" "budget, device and compressor handed over"
	has "$T/agent.log" ":libm.so.6" "the caller's LD_PRELOAD kept after the agent"
	status=$(sed -n 's/^status=\([^ ]*\).*/\1/p' "$T/agent.log")
	if [ -n "$status" ] && [ ! -e "$status" ]; then ok "status page removed at exit"; else not_ok "status page $status left behind"; fi
	json_check "$T/stats.json" 's["vmstat"]["env_ok"] == 1' "agent found its environment as promised"
	json_check "$T/stats.json" 's["exit_status"] == 2 and s["agent_state"] == "exited"' "stats: exit status and agent state"
	json_check "$T/stats.json" 's["budget_bytes"] == 12582912 == s["agent_budget_bytes"]' "stats: budget"
	json_check "$T/stats.json" 's["vmstat"]["pswpout"] == 7 and s["vmstat"]["pswpin"] == 5' "stats: vmstat counters"
	json_check "$T/stats.json" 's["swapin_latency_us"] == {"samples": 100, "p50": 3, "p99": 8}' "stats: latency percentiles"
	json_check "$T/stats.json" 's["faults"] == 42 and s["resident_peak_bytes"] == 2 << 20' "stats: faults and agent peak"
	json_check "$T/stats.json" 's["device"]["swapped_peak_bytes"] == 3 << 20 and s["device"]["compression_ratio"] == 3.0' "stats: device figures"
	json_check "$T/stats.json" 's["rss_anon_samples"] > 0 and s["rss_anon_peak_bytes"] > 0 and s["resident_at_rss_anon_peak_bytes"] == 1 << 20' "stats: kernel RssAnon sampled"
	json_check "$T/stats.json" 's["tree"]["forks"] == 0 and s["tree"]["processes_seen"] == 1 and s["tree"]["root"] is None and s["tree"]["procs"] == []' "stats: a program that never forked has a tree of one"

	# A process tree (the stand-in publishes known figures): sums, root, children.
	USWAP_TEST_AGENT_TREE=1 "$USWAP" run --budget 8M --stats "$T/tree.json" -- python3 -c 'import os; print(os.getpid())' >"$T/tree.out" 2>"$T/err"
	json_check "$T/tree.json" 's["tree"]["processes_seen"] == 4 and s["tree"]["live_children"] == 1 and s["tree"]["forks"] == 3 and s["tree"]["exited"] == 2' "stats tree: processes seen, live children, forks, exited"
	json_check "$T/tree.json" 's["tree"]["all"] == {"faults": 100, "swapins": 60, "swapouts": 7, "shared_hits": 11, "shared_reads": 13}' "stats tree: sums"
	json_check "$T/tree.json" 's["tree"]["root"] == {"pid": '"$(cat "$T/tree.out")"', "live": 1, "faults": 40, "swapins": 20, "swapouts": 7, "shared_hits": 4, "shared_reads": 5}' "stats tree: the root's figures"
	json_check "$T/tree.json" 's["tree"]["children"] == {"faults": 60, "swapins": 40, "swapouts": 9, "shared_hits": 7, "shared_reads": 8}' "stats tree: the children's, sums less the root's (swap-outs: pages taken out of them)"
	json_check "$T/tree.json" 'len(s["tree"]["procs"]) == 2 and s["tree"]["procs"][1] == {"pid": 4242, "live": 1, "faults": 30, "swapins": 25, "swapouts": 9, "shared_hits": 6, "shared_reads": 6}' "stats tree: each process listed"

	# A longer program: the kernel's RssAnon is sampled while it runs.
	"$USWAP" run --budget 8M --stats "$T/stats2.json" -- python3 -c 'import time; b = bytearray(6 << 20); time.sleep(0.5)' 2>"$T/err"
	json_check "$T/stats2.json" 's["rss_anon_peak_bytes"] >= 6 << 20' "stats: RssAnon peak sees a 6 MiB bytearray"

	"$USWAP" run --budget 8M --device zram --comp zstd -- true 2>"$T/err"
	has "$T/agent.log" "comp=zstd" "--comp zstd handed over"
	"$USWAP" mkswap "$T/swapfile" 8M >/dev/null
	(cd "$T" && "$USWAP" run --budget 8M --device file:swapfile -- true 2>"$T/err")
	has "$T/agent.log" "device=file:$T/swapfile" "--device file: handed over as an absolute path"

	# --progress: one line a second on stderr, counting faults.
	"$USWAP" run --budget 8M --progress -- sleep 2.5 2>"$T/prog.err"
	lines=$(grep -c "resident 1 MiB / 8 MiB, swapped 3 MiB, ratio 3.00" "$T/prog.err")
	[ "$lines" -ge 2 ] && [ "$lines" -le 3 ]
	check $? "--progress: $lines status lines in 2.5 s"
	! grep -q "children" "$T/prog.err"
	check $? "--progress: no children shown for a program that never forked"
	USWAP_TEST_AGENT_TREE=1 "$USWAP" run --budget 8M --progress -- sleep 1.5 2>"$T/prog2.err"
	has "$T/prog2.err" "faults/s, children 1 live / 3 forked, child swap-ins 40, shared hits 11" "--progress: children, their swap-ins and shared hits once it forked"

	# The agent fails at start: its message, exit 1, the program stopped.
	start=$(date +%s)
	USWAP_TEST_AGENT_FAIL="cannot map the engine arena" "$USWAP" run --budget 8M -- sleep 20 >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc -eq 1 ] && [ $(($(date +%s) - start)) -lt 10 ]
	check $? "agent FAILED at start: exit 1 at once (got $rc)"
	has "$T/err" "cannot map the engine arena" "agent FAILED: its message"
	unset USWAP_TEST_AGENT_LOG

	expect_rc 1 "--stats to an unwritable place: 1" "$USWAP" run --budget 8M --stats /nonexistent/dir/s.json -- true
fi

finish
