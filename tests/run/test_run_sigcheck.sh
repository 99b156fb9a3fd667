#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_run_sigcheck.sh - sigcheck (malloc, mmap and brk memory written from
# several threads with page signatures, rewritten, verified) under
# `uswap run` with a budget of a quarter of its data, on zram (lz4, zstd)
# and on a swap file. Each run must pass its own check, and the kernel must
# agree that the budget held: the peak RssAnon `uswap run` sampled from
# /proc/PID/status stays within budget + slack, while pages were swapped
# out and in (pswpout, pswpin > 0 in --stats); and that the charged figure
# it keeps beside the peak is the agent's of that moment. Prints TAP.
#
# Usage: test_run_sigcheck.sh PATH/TO/uswap PATH/TO/sigcheck
# Environment (for longer runs):
#   USWAP_RUN_TEST_BUDGET_MIB  budget in MiB (default 16); data is 4x that
#   USWAP_RUN_TEST_THREADS     sigcheck threads (default 4)
#   USWAP_RUN_TEST_SLACK_MIB   allowed RssAnon over the budget (default:
#                              the documented slack, 4 MiB + budget / 8)
set -u
USWAP=${1:?usage: test_run_sigcheck.sh PATH/TO/uswap PATH/TO/sigcheck}
SIGCHECK=$(realpath "${2:?}")
. "$(dirname "$0")/lib.sh"

threads=${USWAP_RUN_TEST_THREADS:-4}

# sigcheck_run LABEL BUDGET_MIB DATA_MIB [uswap run options...]
sigcheck_run() {
	local label=$1 b=$2 data=$3 rc limit
	shift 3
	$LIMIT "$USWAP" run --budget "${b}M" --stats "$T/$label.json" "$@" -- \
		"$SIGCHECK" -t "$threads" -m "$data" -p 2 >"$T/$label.out" 2>"$T/$label.err"
	rc=$?
	if [ $rc -eq 0 ] && grep -q "^sigcheck: OK" "$T/$label.out"; then
		ok "$label: sigcheck of $data MiB passes under a $b MiB budget"
	else
		not_ok "$label: sigcheck exit $rc"
		show "$T/$label.out"
		show "$T/$label.err"
		return
	fi
	[ -s "$T/$label.json" ] || { not_ok "$label: no --stats"; return; }
	limit=$(((b + slack_mib) << 20))
	budget_check "$T/$label.json" "s['rss_anon_samples'] >= 5 and s['rss_anon_peak_bytes'] <= $limit" \
		"$label: kernel RssAnon peak $(json "$T/$label.json" "s['rss_anon_peak_bytes'] >> 20") MiB (agent charged $(json "$T/$label.json" "s['resident_at_rss_anon_peak_bytes'] >> 20") MiB then) <= budget $b MiB + slack $slack_mib MiB"
	json_check "$T/$label.json" "s['vmstat'].get('pswpout', 0) > 0 and s['vmstat'].get('pswpin', 0) > 0" \
		"$label: pages swapped out and in (pswpout $(json "$T/$label.json" "s['vmstat'].get('pswpout')"), pswpin $(json "$T/$label.json" "s['vmstat'].get('pswpin')"))"
	json_check "$T/$label.json" "s['agent_state'] in ('exited', 'ready') and s['swapin_latency_us']['samples'] > 0" \
		"$label: agent ran, swap-in latencies recorded (p50 $(json "$T/$label.json" "s['swapin_latency_us']['p50']") us, p99 $(json "$T/$label.json" "s['swapin_latency_us']['p99']") us)"
}

sigcheck_run zram-lz4 "$budget_mib" $((budget_mib * 4))
sigcheck_run zram-zstd "$budget_mib" $((budget_mib * 4)) --device zram --comp zstd
"$USWAP" mkswap "$T/swapfile" $((budget_mib * 8))M >/dev/null
sigcheck_run file "$budget_mib" $((budget_mib * 4)) --device file:"$T/swapfile"

finish
