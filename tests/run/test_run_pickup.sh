#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_run_pickup.sh - memory glibc maps without calling mmap() through the
# PLT (brk growth, a thread arena grown by mprotect, large malloc blocks),
# touched as soon as it is mapped (tests/run/pickup.c), under `uswap run`
# with a budget of a quarter of the data. Prints TAP.
#   1. With the agent's pickup thread (perf events): the program's pages all
#      check out and the kernel's RssAnon peak stays within budget + slack.
#      Without the pickup thread that memory would be paged only from the
#      next rescan, after the program touched it: the peak check fails then.
#   2. With USWAP_AGENT_NO_PERF=1 (the rescan fallback alone): the agent
#      says it ran without the pickup thread and rescanned; the program,
#      which waits before its check until its RssAnon is back within budget
#      + slack (pickup -w: the rescans paged everything), has all its pages
#      right, and pages were swapped out and in.
#   3. A mapping made after the pickup thread looked at one with a name (a
#      file's mapping below a private anonymous one, left alone as a
#      library's .bss): registered by the pickup thread at once (pickup -n)
#      — the kernel writes no name for a VMA without one, and an old name
#      left in the buffer made it skip the mapping until a rescan.
#   4. Private anonymous mappings replaced at once by shared ones at the
#      same address (pickup -r), with the agent's look-then-register window
#      widened (USWAP_AGENT_RACE, debug builds): no shared mapping is left
#      registered with the agent's userfaultfd, and all keep their data.
#   5. 20000 mprotect() pairs on a registered mapping (pickup -p): the
#      pickup thread registers it again (UFFDIO_REGISTER, under the mmap
#      lock every fault of the program waits for) at most a few times, not
#      at each record.
#   6. A registered mapping replaced with MAP_FIXED (pickup -f): the new
#      one is registered too (the pickup thread sees it before the fault
#      thread hears of the unmapping; the agent takes the range again once
#      the fault thread applied it).
#
# Usage: test_run_pickup.sh PATH/TO/uswap PATH/TO/pickup
# Environment: USWAP_RUN_TEST_BUDGET_MIB (default 16) and
# USWAP_RUN_TEST_SLACK_MIB (default 4 + budget / 8), as in test_run_sigcheck.sh.
set -u
USWAP=${1:?usage: test_run_pickup.sh PATH/TO/uswap PATH/TO/pickup}
PICKUP=$(realpath "${2:?}")
. "$(dirname "$0")/lib.sh"

data_mib=$((budget_mib * 4))

# pickup_run LABEL ENV [PICKUP OPTIONS...]: run pickup under uswap run
# (with ENV, a NAME=VALUE, in its environment); ok if its pages check out.
pickup_run() {
	local label=$1 env=$2 rc
	shift 2
	$LIMIT env "$env" "$USWAP" run --budget "${budget_mib}M" --stats "$T/$label.json" -- \
		"$PICKUP" -m "$data_mib" "$@" >"$T/$label.out" 2>"$T/$label.err"
	rc=$?
	if [ $rc -eq 0 ] && grep -q "^pickup: OK" "$T/$label.out" && [ -s "$T/$label.json" ]; then
		ok "$label: $(cat "$T/$label.out")"
		return 0
	fi
	not_ok "$label: pickup exit $rc"
	show "$T/$label.out"
	show "$T/$label.err"
	return 1
}

peak() { json "$T/$1.json" "'%d MiB (agent charged %d MiB then)' % (s['rss_anon_peak_bytes'] >> 20, s['resident_at_rss_anon_peak_bytes'] >> 20)"; }

# 1. The pickup thread.
if pickup_run perf USWAP_AGENT_NO_PERF=0; then
	if [ "$(json "$T/perf.json" "s['vmstat'].get('agent_pickup_perf')")" = 1 ]; then
		json_check "$T/perf.json" "s['rss_anon_samples'] >= 5 and s['rss_anon_peak_bytes'] <= $(((budget_mib + slack_mib) << 20))" \
			"perf: kernel RssAnon peak $(peak perf) <= budget $budget_mib MiB + slack $slack_mib MiB"
		json_check "$T/perf.json" "s['vmstat']['agent_pickup_takes'] > 0 and s['vmstat']['pswpout'] > 0" \
			"perf: the pickup thread registered ($(json "$T/perf.json" "s['vmstat']['agent_pickup_takes']") rounds), pages swapped out"
	elif e=$(perf_refused "$T/perf.json"); then
		skip "perf: RssAnon peak" "the agent could not open perf events here (errno $e): the rescan alone ran"
	else
		not_ok "perf: the agent's pickup thread did not run (errno $e)"
	fi
fi

# 2. The rescan fallback alone.
if pickup_run fallback USWAP_AGENT_NO_PERF=1 -w $((budget_mib + slack_mib)); then
	json_check "$T/fallback.json" "s['vmstat']['agent_pickup_perf'] == 0 and s['vmstat']['agent_pickup_errno'] == 125 and s['vmstat']['agent_pickup_scans'] == 0 and s['vmstat']['agent_tick_rescans'] > 0" \
		"fallback: no pickup thread, the reclaim thread rescanned ($(json "$T/fallback.json" "s['vmstat']['agent_tick_rescans']") times; RssAnon peak $(peak fallback))"
	json_check "$T/fallback.json" "s['vmstat']['pswpout'] > 0 and s['vmstat']['pswpin'] > 0" \
		"fallback: pages swapped out and in (pswpout $(json "$T/fallback.json" "s['vmstat']['pswpout']"), pswpin $(json "$T/fallback.json" "s['vmstat']['pswpin']"))"
fi
# pickup_alone LABEL ENV PICKUP-OPTION...: a check of pickup's own (-n, -r,
# -p, -f) under uswap run with the pickup thread; skipped where perf events
# are refused. Return: 0 if it passed.
pickup_alone() {
	local label=$1 env=$2 rc e
	shift 2
	$LIMIT env USWAP_AGENT_NO_PERF=0 "$env" "$USWAP" run --budget "${budget_mib}M" \
		--stats "$T/$label.json" -- "$PICKUP" "$@" >"$T/$label.out" 2>"$T/$label.err"
	rc=$?
	if [ -s "$T/$label.json" ] && [ "$(json "$T/$label.json" "s['vmstat'].get('agent_pickup_perf')")" = 1 ]; then
		if [ $rc -eq 0 ] && grep -q "^pickup: OK" "$T/$label.out"; then
			ok "$label: $(cat "$T/$label.out")"
			return 0
		else
			not_ok "$label: pickup $* exit $rc"
			show "$T/$label.out"
			show "$T/$label.err"
		fi
	elif [ -s "$T/$label.json" ] && e=$(perf_refused "$T/$label.json"); then
		skip "$label: pickup $*" "the agent could not open perf events here (errno $e)"
	else
		not_ok "$label: the agent's pickup thread did not run (exit $rc)"
		show "$T/$label.err"
	fi
	return 1
}

# 3. A nameless mapping after a named one.
pickup_alone named USWAP_AGENT_RACE= -n

# 4. Private mappings replaced by shared ones.
pickup_alone replaced USWAP_AGENT_RACE=agent:before_register -r 300

# 5. mprotect() pairs.
if pickup_alone mprotect USWAP_AGENT_RACE= -p 20000; then
	json_check "$T/mprotect.json" "s['vmstat']['agent_pickup_registers'] <= 100" \
		"mprotect: the pickup thread registered $(json "$T/mprotect.json" "s['vmstat']['agent_pickup_registers']") times in $(json "$T/mprotect.json" "s['vmstat']['agent_pickup_takes']") rounds (<= 100)"
fi

# 6. MAP_FIXED over a registered mapping.
pickup_alone fixed USWAP_AGENT_RACE= -f
finish
