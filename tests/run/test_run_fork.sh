#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_run_fork.sh - a program that forks under `uswap run`: sigcheck fills
# four times its budget with signed pages (so most are swapped out), checks
# them, then forks.
#
#   -f check   the child checks every page while the parent checks them all
#              again: both must pass, and --stats must tell the story: one
#              fork, the child's swap-ins (> 0), the swap-cache hits on
#              entries shared after the fork (> 0), swap-outs by the root,
#              pages evicted from the child (it evicts by default: one budget
#              for the tree); with USWAP_CHILD_EVICT=0, none.
#   -f unshare the same, the child first entering a new user namespace
#              (unshare(CLONE_NEWUSER)), which the kernel refuses a
#              multithreaded process: the agent stops the child's zapper
#              thread first (EINVAL before). Skipped where the kernel does
#              not let us make user namespaces at all.
#   -f setns   the same through setns(): the child enters a user namespace
#              its own child made (with unshare(), as above).
#   -f orphan  the parent exits right after the fork and the child, which
#              outlives it, checks every page once its parent is gone: the
#              agent's exit must have handed it every swapped page first.
#   -f orphan_exit, orphan_quick_exit, orphan_exec, orphan_execveat,
#              orphan_daemon  the same, the parent leaving by _exit(), by
#              quick_exit(3), by an exec of true(1) (execlp, or
#              execveat(3)), or through daemon(3) (whose parent leaves by
#              _exit()): no exit handler runs, yet the child must get its
#              pages (without, it held its userfaultfd and hung; by
#              quick_exit or execveat, before they were interposed, uswap run
#              ended it).
#   -f rootkill  the parent kills itself (SIGKILL) while its child checks
#              every page: the pages it had swapped out go with it, so the
#              child must never read one (it holds its userfaultfd: its
#              fault waits), and `uswap run` must end it, say so, and exit
#              137. Without the hold the child read zeros there. A job
#              the shell started that exec'd is left alone.
#   -f rootexit  the same, the parent leaving by the raw exit_group system
#              call (no hand-over, no interposition sees it): `uswap run`
#              must end the child, say so and exit 3 (before: the child
#              blocked forever on its next fault).
#   -f rawexec  the parent execs sh(1) by the raw execve system call (no
#              hand-over): its new image lives on, and `uswap run` must end
#              the child meanwhile (the shell exits 0 once it is gone
#              within 10 s, 1 if not), and say why.
#   rootkill under `sh -c`: the shell exits normally (137) once its child,
#              the root, was killed: the root's child must be ended all the
#              same (before: it blocked forever).
#   roots killed while claiming: 33 shells, each killed (debug builds) at
#              its first fork right after it claimed a slot of the status
#              page's roots[] (32 slots), then a rootkill under the same
#              wrapper: no victim may find the slots full, and the root's
#              child must be ended (before: each dead claimer's slot was
#              lost for good, the last ones said there was no room and the
#              root's child was left blocked).
#   -f exec_fail  the parent's execs that fail (no such program on PATH,
#              a file not executable, no such path) must not hand its
#              child its pages: with USWAP_CHILD_EVICT=1 the child then
#              checks every page, paged (swap-ins, its memory held under
#              the data it read). Before, the first failed exec handed it
#              everything: no swap-ins, all of it resident.
#   a root that forks again after its hand-over: children it handed their
#              pages (at an exec of a new image, or at an exec that failed
#              past the agent's check) must live on when the root is then
#              killed; only the new image's own children are ended (before:
#              all of them, as every one held the process's pidfd; also
#              when the first fork came after the failed exec).
#
# Prints TAP. Usage: test_run_fork.sh PATH/TO/uswap PATH/TO/sigcheck
# Environment: USWAP_RUN_TEST_BUDGET_MIB (default 16; data is 4x that).
set -u
USWAP=${1:?usage: test_run_fork.sh PATH/TO/uswap PATH/TO/sigcheck}
SIGCHECK=$(realpath "${2:?}")
. "$(dirname "$0")/lib.sh"

b=$budget_mib
data=$((b * 4))

# ---- a child that reads everything while its parent does too ----
$LIMIT "$USWAP" run --budget "${b}M" --stats "$T/check.json" -- \
	"$SIGCHECK" -t 4 -m "$data" -p 1 -f check >"$T/check.out" 2>"$T/check.err"
rc=$?
if [ $rc -eq 0 ] && grep -q "^sigcheck: fork: the child and the parent checked every page" "$T/check.out"; then
	ok "fork: child and parent both find every page of $data MiB intact under a $b MiB budget"
else
	not_ok "fork: sigcheck -f check exit $rc"
	show "$T/check.out"
	show "$T/check.err"
fi
if [ -s "$T/check.json" ]; then
	t() { json "$T/check.json" "s['tree']$1"; }
	json_check "$T/check.json" "s['tree']['forks'] == 1 and s['tree']['processes_seen'] == 2" \
		"stats tree: one fork, two processes seen"
	json_check "$T/check.json" "s['tree']['children']['swapins'] > 0" \
		"stats tree: child swap-ins $(t "['children']['swapins']") > 0"
	json_check "$T/check.json" "s['tree']['all']['shared_hits'] > 0" \
		"stats tree: shared swap-cache hits $(t "['all']['shared_hits']") > 0 (root $(t "['root']['shared_hits']"), children $(t "['children']['shared_hits']"))"
	json_check "$T/check.json" "s['tree']['all']['shared_reads'] > 0 and s['tree']['all']['shared_reads'] + s['tree']['all']['shared_hits'] <= s['tree']['all']['swapins']" \
		"stats tree: shared entries read from the device $(t "['all']['shared_reads']"), within the tree's swap-ins $(t "['all']['swapins']")"
	json_check "$T/check.json" "s['tree']['root']['swapouts'] > 0 and s['tree']['all']['swapouts'] == s['vmstat']['pswpout']" \
		"stats tree: the engine swapped out $(t "['root']['swapouts']") pages of the tree (pswpout)"
	json_check "$T/check.json" "s['vmstat']['fork_child_swapouts'] > 0 and s['vmstat']['fork_zap_batched'] > 0" \
		"stats: the child evicts by default: $(json "$T/check.json" "s['vmstat']['fork_child_swapouts']") of its pages taken out of it"
	json_check "$T/check.json" "s['tree']['children']['swapouts'] == s['vmstat']['fork_child_swapouts']" \
		"stats tree: the children's swap-outs are the pages taken out of them: $(t "['children']['swapouts']")"
	json_check "$T/check.json" "s['tree']['root']['pid'] > 0 and s['tree']['all']['swapins'] == s['tree']['root']['swapins'] + s['tree']['children']['swapins']" \
		"stats tree: the root's and the children's swap-ins add up to the tree's"
else
	not_ok "fork: no --stats"
fi

# ---- children that keep their pages (USWAP_CHILD_EVICT=0) ----
USWAP_CHILD_EVICT=0 $LIMIT "$USWAP" run --budget "${b}M" --stats "$T/keep.json" -- \
	"$SIGCHECK" -t 4 -m "$data" -p 1 -f check >"$T/keep.out" 2>"$T/keep.err"
rc=$?
if [ $rc -eq 0 ] && grep -q "^sigcheck: fork: the child and the parent checked every page" "$T/keep.out"; then
	ok "USWAP_CHILD_EVICT=0: child and parent both find every page intact"
	json_check "$T/keep.json" "s['vmstat']['fork_child_swapouts'] == 0 and s['vmstat']['fork_zap_requests'] == 0 and s['tree']['children']['swapins'] > 0" \
		"USWAP_CHILD_EVICT=0: the child read pages back and none was taken out of it"
else
	not_ok "USWAP_CHILD_EVICT=0: sigcheck -f check exit $rc"
	show "$T/keep.out"
	show "$T/keep.err"
fi

# ---- a child that enters a new user namespace (must be single-threaded) ----
if ! unshare --user true 2>/dev/null; then
	skip "unshare: a forked child entering a new user namespace" "no user namespaces here (unshare --user true fails)"
else
	for how in unshare setns; do
		$LIMIT "$USWAP" run --budget "${b}M" -- \
			"$SIGCHECK" -t 4 -m "$data" -p 1 -f $how >"$T/$how.out" 2>"$T/$how.err"
		rc=$?
		if [ $rc -eq 0 ] && grep -q "^sigcheck: fork: the child entered a new user namespace" "$T/$how.out" &&
			grep -q "^sigcheck: fork: the child and the parent checked every page" "$T/$how.out"; then
			ok "$how: a forked child entered a new user namespace, then found every page intact"
		else
			not_ok "$how: sigcheck -f $how exit $rc"
			show "$T/$how.out"
			show "$T/$how.err"
		fi
	done
	# The program itself cannot be made single-threaded (its pager's
	# threads): the kernel refuses it, and uswap says why.
	$LIMIT "$USWAP" run --budget "${b}M" -- unshare --user true >/dev/null 2>"$T/rootns.err"
	rc=$?
	if [ $rc -ne 0 ] && grep -q "^uswap: unshare() refused: the kernel allows it only to a single-threaded process" "$T/rootns.err"; then
		ok "unshare in the paged program itself: refused (exit $rc), and uswap said why"
	else
		not_ok "unshare in the paged program itself: exit $rc, no explanation"
		show "$T/rootns.err"
	fi
fi

# ---- a PID namespace inside the tree (unshare -p, a container runtime) ----
# The pids there name other processes (or none) outside: uswap run took the
# program's record for a root gone and ended its live child (137), and the
# root outside opened /proc/1 for the child's memory.
if ! unshare -p -f true 2>/dev/null; then
	skip "pidns: a program in a PID namespace of its own" "unshare -p -f true fails here (needs root)"
else
	$LIMIT "$USWAP" run --budget "${b}M" -- unshare -p -f sh -c \
		"\"$SIGCHECK\" -t 4 -m $data -p 1 -f check" >"$T/pidns.out" 2>"$T/pidns.err"
	rc=$?
	if [ $rc -eq 0 ] && grep -q "^sigcheck: fork: the child and the parent checked every page" "$T/pidns.out" &&
		! grep -q "ending the" "$T/pidns.err" && ! grep -q "cannot open /proc/" "$T/pidns.err"; then
		ok "pidns: a program in a PID namespace of its own forked and both checked every page, nobody ended"
	else
		not_ok "pidns: exit $rc"
		show "$T/pidns.out"
		show "$T/pidns.err"
	fi
	has "$T/pidns.err" "uswap: this program runs in a PID namespace of its own" \
		"pidns: the program was told why uswap run cannot follow it"
fi

# ---- a child that outlives its parent, the parent exiting first ----
$LIMIT "$USWAP" run --budget "${b}M" -- \
	"$SIGCHECK" -t 4 -m "$data" -p 1 -f orphan -o "$T/orphan.verdict" >"$T/orphan.out" 2>"$T/orphan.err"
rc=$?
check $rc "orphan: the parent passed its check and exited (exit $rc)"
for _ in $(seq 300); do
	[ -e "$T/orphan.verdict" ] && break
	sleep 0.1
done
if grep -q "^OK " "$T/orphan.verdict" 2>/dev/null; then
	ok "orphan: the child that outlived its parent found every page intact ($(cat "$T/orphan.verdict"))"
else
	not_ok "orphan: the child's verdict: $(cat "$T/orphan.verdict" 2>/dev/null || echo none)"
	show "$T/orphan.out"
	show "$T/orphan.err"
fi

# ---- the parent leaving without its exit handlers: _exit(), exec, daemon(3) ----
# The child holds its userfaultfd: unless the agent hands it its pages
# first, its ranges stay registered with nobody serving them and its first
# fault waits forever (no verdict).
for how in orphan_exit orphan_quick_exit orphan_exec orphan_execveat orphan_daemon; do
	rm -f "$T/$how.verdict"
	$LIMIT "$USWAP" run --budget "${b}M" -- \
		"$SIGCHECK" -t 4 -m "$data" -p 1 -f "$how" -o "$T/$how.verdict" \
		>"$T/$how.out" 2>"$T/$how.err"
	rc=$?
	check $rc "$how: the parent passed its check and left (exit $rc)"
	for _ in $(seq 300); do
		[ -e "$T/$how.verdict" ] && break
		sleep 0.1
	done
	if grep -q "^OK " "$T/$how.verdict" 2>/dev/null; then
		ok "$how: the child that outlived its parent found every page intact ($(cat "$T/$how.verdict"))"
	else
		not_ok "$how: the child's verdict: $(cat "$T/$how.verdict" 2>/dev/null || echo none)"
		show "$T/$how.out"
		show "$T/$how.err"
		# A child stuck on a fault nobody serves: do not leave it behind.
		for p in $(pgrep -f -- "-f $how -o $T/$how.verdict"); do kill -9 "$p"; done
	fi
done

# ---- a background job whose hello comes after the shell left ----
# The shell exits at once; its child's hello may then never be read: the
# shell's exit handed over, nothing to warn about (about one run in eight
# warned that the child "cannot hold its userfaultfd").
warned=0
for i in $(seq 30); do
	"$USWAP" run --budget "${b}M" -- sh -c 'sleep 0.2 & exit 3' >/dev/null 2>"$T/bg.err"
	rc=$?
	[ $rc -eq 3 ] || not_ok "background job: exit $rc (3 expected)"
	grep -q "cannot hold its userfaultfd" "$T/bg.err" && warned=$((warned + 1))
done
if [ $warned -eq 0 ]; then
	ok "background job: no warning about a hold in 30 runs of a shell leaving its job behind"
else
	not_ok "background job: $warned of 30 runs warned that a child cannot hold its userfaultfd"
	show "$T/bg.err"
fi
# ---- a background job outliving the program (the shell exits at once) ----
# A program the job execs once `uswap run` is gone (with its status page)
# must start, paged.
rm -f "$T/late.ran"
"$USWAP" run --budget "${b}M" -- \
	sh -c '(sleep 0.5; exec sh -c "echo ran >$0") >/dev/null 2>"$0.err" & exit 3' "$T/late.ran" \
	>/dev/null 2>&1
rc=$?
for _ in $(seq 100); do
	[ -s "$T/late.ran" ] && break
	sleep 0.1
done
if [ $rc -eq 3 ] && grep -q "^ran" "$T/late.ran" 2>/dev/null; then
	ok "background job: a program it execs once uswap run has exited starts (exit $rc)"
else
	not_ok "background job: exit $rc, a program exec'd once uswap run had exited did not run"
	show "$T/late.ran.err"
fi

# ---- the root killed while its child reads pages swapped before the fork ----
$LIMIT "$USWAP" run --budget "${b}M" -- \
	"$SIGCHECK" -t 4 -m "$data" -p 1 -f rootkill -o "$T/rootkill.verdict" \
	>"$T/rootkill.out" 2>"$T/rootkill.err"
rc=$?
cpid=$(awk '$1 == "child" { print $2 }' "$T/rootkill.verdict" 2>/dev/null)
if [ $rc -eq 137 ] && [ -n "$cpid" ] && ! grep -q "^FAILED" "$T/rootkill.verdict"; then
	ok "rootkill: the program killed (exit 137), its child $cpid read no wrong page"
else
	not_ok "rootkill: exit $rc (137 expected), child '${cpid}', verdict: $(tr '\n' ' ' <"$T/rootkill.verdict" 2>/dev/null)"
	show "$T/rootkill.out"
	show "$T/rootkill.err"
fi
if grep -q "^OK" "$T/rootkill.verdict" 2>/dev/null; then
	not_ok "rootkill: the child finished its check: the parent died after it"
fi
gone=no
for _ in $(seq 50); do
	if [ -n "$cpid" ] && ! [ -e "/proc/$cpid" ]; then
		gone=yes
		break
	fi
	sleep 0.1
done
if [ $gone = yes ] && grep -q "was killed by SIGKILL: ending the 1 process left of its tree (pid $cpid)" "$T/rootkill.err"; then
	ok "rootkill: uswap run ended the child and said why"
else
	not_ok "rootkill: child ${cpid:-?} gone: $gone"
	show "$T/rootkill.err"
	[ -n "$cpid" ] && kill -9 "$cpid" 2>/dev/null
fi
# ---- the root killed: a job that exec'd another program is not its to end ----
# A background job that exec'd (sleep) pages itself and lost nothing: it
# must live on (as under nohup); a forked subshell that did not exec is
# paged by the dead shell and is ended (with, at times, the child it just
# forked to exec its next sleep: two processes, seen under load).
rm -f "$T/job.pid"
"$USWAP" run --budget "${b}M" -- sh -c \
	'sleep 30 & echo $! >"$0"; (while sleep 0.1; do :; done) & sleep 0.5; kill -9 $$' \
	"$T/job.pid" >/dev/null 2>"$T/job.err"
rc=$?
jpid=$(cat "$T/job.pid" 2>/dev/null)
if [ $rc -eq 137 ] && [ -n "$jpid" ] && [ -e "/proc/$jpid" ] &&
	grep -Eq "was killed by SIGKILL: ending the [0-9]+ process(es)? left of its tree" "$T/job.err"; then
	ok "rootkill: a job that exec'd lives on, the subshell that did not is ended (exit $rc)"
else
	not_ok "rootkill: exit $rc, exec'd job ${jpid:-?} alive: $([ -n "$jpid" ] && [ -e "/proc/$jpid" ] && echo yes || echo no)"
	show "$T/job.err"
fi
[ -n "$jpid" ] && kill "$jpid" 2>/dev/null

# gone_or_kill PID WHAT: ok if PID is gone within 5 s; else not_ok and kill it
# (a child blocked on a fault nobody serves must not outlive the test).
gone_or_kill() {
	for _ in $(seq 50); do
		if [ -n "$1" ] && ! [ -e "/proc/$1" ]; then
			ok "$2: child $1 gone"
			return 0
		fi
		sleep 0.1
	done
	not_ok "$2: child ${1:-?} still there 5 s after uswap run exited (blocked on a page nobody serves)"
	[ -n "$1" ] && kill -9 "$1" 2>/dev/null
	return 1
}

# ---- the root leaving by a raw exit_group: no hand-over ----
$LIMIT "$USWAP" run --budget "${b}M" -- \
	"$SIGCHECK" -t 4 -m "$data" -p 1 -f rootexit -o "$T/rootexit.verdict" \
	>"$T/rootexit.out" 2>"$T/rootexit.err"
rc=$?
cpid=$(awk '$1 == "child" { print $2 }' "$T/rootexit.verdict" 2>/dev/null)
if [ $rc -eq 3 ] && [ -n "$cpid" ] && ! grep -q "^FAILED" "$T/rootexit.verdict"; then
	ok "rootexit: the program left by exit_group (exit $rc), its child $cpid read no wrong page"
else
	not_ok "rootexit: exit $rc (3 expected), child '${cpid}', verdict: $(tr '\n' ' ' <"$T/rootexit.verdict" 2>/dev/null)"
	show "$T/rootexit.out"
fi
gone_or_kill "$cpid" "rootexit"
has "$T/rootexit.err" "exited (status 3) without handing its children their pages: ending the 1 process left of its tree (pid $cpid)" \
	"rootexit: uswap run said why it ended the child"

# ---- the root exec'ing by the raw system call: no hand-over, it lives on ----
$LIMIT "$USWAP" run --budget "${b}M" -- \
	"$SIGCHECK" -t 4 -m "$data" -p 1 -f rawexec -o "$T/rawexec.verdict" \
	>"$T/rawexec.out" 2>"$T/rawexec.err"
rc=$?
cpid=$(awk '$1 == "child" { print $2 }' "$T/rawexec.verdict" 2>/dev/null)
if [ $rc -eq 0 ] && [ -n "$cpid" ] && ! grep -q "^FAILED" "$T/rawexec.verdict"; then
	ok "rawexec: the child $cpid was ended while the root's new image ran (exit $rc), it read no wrong page"
else
	not_ok "rawexec: exit $rc (0: the child gone while the new image ran), child '${cpid}', verdict: $(tr '\n' ' ' <"$T/rawexec.verdict" 2>/dev/null)"
	show "$T/rawexec.out"
fi
gone_or_kill "$cpid" "rawexec"
has "$T/rawexec.err" "exec'd another program without handing its children their pages: ending the 1 process left of its tree (pid $cpid)" \
	"rawexec: uswap run said why it ended the child"

# ---- the root killed under a wrapper that exits normally ----
$LIMIT "$USWAP" run --budget "${b}M" -- \
	sh -c '"$0" -t 4 -m "$1" -p 1 -f rootkill -o "$2"; exit $?' \
	"$SIGCHECK" "$data" "$T/shkill.verdict" >"$T/shkill.out" 2>"$T/shkill.err"
rc=$?
cpid=$(awk '$1 == "child" { print $2 }' "$T/shkill.verdict" 2>/dev/null)
if [ $rc -eq 137 ] && [ -n "$cpid" ] && ! grep -q "^FAILED" "$T/shkill.verdict"; then
	ok "sh -c rootkill: the shell exited $rc, the root's child $cpid read no wrong page"
else
	not_ok "sh -c rootkill: exit $rc (137 expected), child '${cpid}', verdict: $(tr '\n' ' ' <"$T/shkill.verdict" 2>/dev/null)"
	show "$T/shkill.out"
fi
gone_or_kill "$cpid" "sh -c rootkill"
has "$T/shkill.err" "ended without handing its children their pages: ending the 1 process left of its tree (pid $cpid)" \
	"sh -c rootkill: uswap run said why it ended the child"

# ---- roots killed while claiming their record: no slot lost for good ----
# A root claims its slot of roots[] at its first fork (CLAIMING), then
# publishes it (PAGING). Each victim, a shell paged by its own agent, is
# killed right after its claim (debug builds: the agent's race hook named
# by USWAP_AGENT_KILL_AT), before it has a child, one more time than there
# are slots (32; the wrapper holds one). Then a root under the same wrapper
# is killed while its child reads: it must still get a record, and its
# child must be ended. Before, every such claim left its slot CLAIMING for
# good: the last victims said "no room" and ran on, and the root's child
# was left blocked.
$LIMIT "$USWAP" run --budget "${b}M" -- sh -c '
	i=0 killed=0
	while [ $i -lt 33 ]; do
		USWAP_AGENT_KILL_AT=agent:root_claiming sh -c "(:); :"
		[ $? -eq 137 ] && killed=$((killed + 1))
		i=$((i + 1))
	done
	echo "$killed" >"$3"
	"$0" -t 4 -m "$1" -p 1 -f rootkill -o "$2"; exit $?' \
	"$SIGCHECK" "$data" "$T/claim.verdict" "$T/claim.killed" >"$T/claim.out" 2>"$T/claim.err"
rc=$?
killed=$(cat "$T/claim.killed" 2>/dev/null)
cpid=$(awk '$1 == "child" { print $2 }' "$T/claim.verdict" 2>/dev/null)
if [ "${killed:-0}" -eq 0 ] && ! grep -q "no room on the status page" "$T/claim.err"; then
	skip "roots killed while claiming" "no victim died at agent:root_claiming (race points compiled out, or no EVENT_FORK)"
	gone_or_kill "$cpid" "claim kills" >/dev/null
else
	if [ "$killed" -eq 33 ] && ! grep -q "no room on the status page" "$T/claim.err"; then
		ok "claim kills: 33 roots killed while claiming, each found a slot (the dead claimers' are taken back)"
	else
		not_ok "claim kills: $killed of 33 roots killed while claiming; $(grep -c "no room on the status page" "$T/claim.err") said there was no room on the status page"
	fi
	if [ $rc -eq 137 ] && [ -n "$cpid" ] && ! grep -q "^FAILED" "$T/claim.verdict"; then
		ok "claim kills: then a root killed: exit $rc, its child $cpid read no wrong page"
	else
		not_ok "claim kills: then a root killed: exit $rc (137 expected), child '${cpid}', verdict: $(tr '\n' ' ' <"$T/claim.verdict" 2>/dev/null)"
		show "$T/claim.err"
	fi
	gone_or_kill "$cpid" "claim kills: the root killed after them"
	has "$T/claim.err" "ended without handing its children their pages: ending the 1 process left of its tree (pid $cpid)" \
		"claim kills: uswap run said why it ended the child"
fi

# ---- a root killed after it handed over: its handed children live on ----
# The shell's subshell is handed its pages by the exec; the new image forks
# a subshell of its own and is killed: only that one is to be ended.
rm -f "$T/gen.alive"
$LIMIT "$USWAP" run --budget "${b}M" -- sh -c \
	'(sleep 1.5; echo alive >"$0") & exec sh -c "(while sleep 0.1; do :; done) & echo \$! >\"\$0.new\"; sleep 0.5; kill -9 \$\$" "$0"' \
	"$T/gen.alive" >/dev/null 2>"$T/gen.err"
rc=$?
npid=$(cat "$T/gen.alive.new" 2>/dev/null)
for _ in $(seq 50); do
	[ -s "$T/gen.alive" ] && break
	sleep 0.1
done
# The new image's child may be caught forking its sleep(1) (which holds the
# tree's token until its exec): then both are ended, rightly.
if [ $rc -eq 137 ] && grep -q "^alive" "$T/gen.alive" 2>/dev/null &&
	grep -Eq "ending the [0-9]+ process(es)? left of its tree \(pids? ([0-9]+ )*$npid[ )]" "$T/gen.err"; then
	ok "exec then kill: the child handed over at the exec lived on, the new image's child $npid was ended"
else
	not_ok "exec then kill: exit $rc (137 expected), handed child alive: $([ -s "$T/gen.alive" ] && echo yes || echo no), new child ${npid:-?}"
	show "$T/gen.err"
fi
# An exec that passes the check and fails (a script whose interpreter is
# missing) hands over; bash (execfail) goes on and forks again: that child
# is handed its pages at once. Killed, the shell lost nobody's pages.
if command -v bash >/dev/null; then
	printf '#!/nonexistent/interpreter\n' >"$T/noint"
	chmod +x "$T/noint"
	rm -f "$T/fail1.alive" "$T/fail2.alive"
	$LIMIT "$USWAP" run --budget "${b}M" -- bash -c \
		'shopt -s execfail; (sleep 1.5; echo alive >"$0.1") & exec "$0"; (sleep 1.5; echo alive >"$0.2") & sleep 0.5; kill -9 $$' \
		"$T/noint" >/dev/null 2>"$T/fail.err"
	rc=$?
	for _ in $(seq 50); do
		[ -s "$T/noint.1" ] && [ -s "$T/noint.2" ] && break
		sleep 0.1
	done
	if [ $rc -eq 137 ] && [ -s "$T/noint.1" ] && [ -s "$T/noint.2" ] &&
		! grep -q "ending the" "$T/fail.err"; then
		ok "failed exec then kill: both children, handed their pages, lived on"
	else
		not_ok "failed exec then kill: exit $rc (137 expected), children alive: $([ -s "$T/noint.1" ] && echo yes || echo no) $([ -s "$T/noint.2" ] && echo yes || echo no)"
		show "$T/fail.err"
	fi
	# The same with no fork before the exec: the first fork comes after
	# the hand-over (no record PAGING; before, the shell's pidfd, which the
	# child holds, had uswap run end it).
	rm -f "$T/noint.3"
	$LIMIT "$USWAP" run --budget "${b}M" -- bash -c \
		'shopt -s execfail; exec "$0"; (sleep 1.5; echo alive >"$0.3") & sleep 0.5; kill -9 $$' \
		"$T/noint" >/dev/null 2>"$T/fail3.err"
	rc=$?
	for _ in $(seq 50); do
		[ -s "$T/noint.3" ] && break
		sleep 0.1
	done
	if [ $rc -eq 137 ] && [ -s "$T/noint.3" ] && ! grep -q "ending the" "$T/fail3.err"; then
		ok "failed exec, first fork after it, then kill: the child, handed its pages, lived on"
	else
		not_ok "failed exec, first fork after it, then kill: exit $rc (137 expected), child alive: $([ -s "$T/noint.3" ] && echo yes || echo no)"
		show "$T/fail3.err"
	fi
fi

# ---- execs that fail leave the child paged ----
USWAP_CHILD_EVICT=1 $LIMIT "$USWAP" run --budget "${b}M" --stats "$T/execfail.json" -- \
	"$SIGCHECK" -t 4 -m "$data" -p 1 -f exec_fail -o "$T/execfail.verdict" \
	>"$T/execfail.out" 2>"$T/execfail.err"
rc=$?
rss=$(awk '$1 == "OK" { print $4 }' "$T/execfail.verdict" 2>/dev/null)
if [ $rc -eq 0 ] && [ -n "$rss" ]; then
	ok "exec_fail: 3 failed execs, then the child found every page intact ($(cat "$T/execfail.verdict"))"
else
	not_ok "exec_fail: exit $rc, verdict: $(cat "$T/execfail.verdict" 2>/dev/null || echo none)"
	show "$T/execfail.out"
	show "$T/execfail.err"
fi
json_check "$T/execfail.json" "s['tree']['children']['swapins'] > 0" \
	"exec_fail: the child was still paged after the failed execs: $(json "$T/execfail.json" "s['tree']['children']['swapins']" 2>/dev/null) swap-ins (a hand-over leaves none)"
if [ -n "$rss" ] && [ "$rss" -lt $((data * 1024 * 3 / 4)) ]; then
	ok "exec_fail: the child's pages were evicted: RssAnon $rss KiB after reading $data MiB"
else
	not_ok "exec_fail: the child's RssAnon ${rss:-?} KiB after reading $data MiB (below $((data * 1024 * 3 / 4)) expected: its pages evicted)"
	# What the engine saw of the child: was it evicting, stalled, handed over?
	echo "# $(json "$T/execfail.json" "{k: v for k, v in s['vmstat'].items() if k.startswith('fork_')}" 2>&1)"
	echo "# tree: $(json "$T/execfail.json" "s['tree']" 2>&1)"
	show "$T/execfail.err"
fi
finish
