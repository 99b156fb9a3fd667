#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_compare.sh - `uswap bench compare` at tiny sizes, printing TAP: both
# sides of every workload run, the ratios are uswap / kernel of the printed
# figures, the kernel's state (swap areas, zram0, cgroups, processes) after
# each run is what it was before, also after SIGTERM and SIGINT, and the
# kernel side is skipped with one line when it cannot run (forced by the
# environment, or without root) while uswap's side still runs.
#
# The uswap side needs `uswap run`: without it in the build this test fails
# (Bail out!), it does not skip. The kernel side needs root and a free
# /dev/zram0; without them the checks of the kernel side are skipped.
#
# Usage: test_compare.sh PATH/TO/uswap PATH/TO/uswap-usemem
set -u

USWAP=${1:?usage: test_compare.sh PATH/TO/uswap PATH/TO/uswap-usemem}
export USWAP_USEMEM=${2:?usage: test_compare.sh PATH/TO/uswap PATH/TO/uswap-usemem}
# Tiny: a budget the cgroup and uswap run both accept (at 32M and below
# the kernel's memcg now and then OOM-kills sort), data a few times it: the full run uses
# each workload's default size (usemem 2x, redis 3x, sort 3/4 of the
# budget), the others usemem of SIZE.
BUDGET=${USWAP_COMPARE_TEST_BUDGET:-48M}
BUDGET_MIB=${BUDGET%M}
SIZE=${USWAP_COMPARE_TEST_SIZE:-48M}
T=$(mktemp -d "${TMPDIR:-/tmp}/uswap-cmptest.XXXXXX")
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../tap.sh"

# check DESC CMD...: ok when CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc" "$T/err"; fi
}

# The state the kernel side must leave as it found: zram0 out of
# /proc/swaps, zram0's setup, cgroups of ours, processes
# started by a compare (their arguments name its directory), its directories.
state() {
	# Only zram0: other programs' tests may swapon their own areas meanwhile.
	grep '^/dev/zram0 ' /proc/swaps
	for f in initstate disksize comp_algorithm; do
		echo "zram0 $f: $(cat /sys/block/zram0/$f 2>/dev/null)"
	done
	ls -d /sys/fs/cgroup/memory/uswap-compare-* /sys/fs/cgroup/uswap-compare-* 2>/dev/null
	# (not this script and its subshells: their arguments name uswap-usemem)
	pgrep -a -f '/tmp/uswap-compare-|uswap-usemem' | grep -v -e pgrep -e test_compare.sh
	ls -d /tmp/uswap-compare-* 2>/dev/null
}

# same_state DESC: the state now is the one noted in $T/before.
same_state() {
	state >"$T/after"
	if diff -u "$T/before" "$T/after" >"$T/diff"; then
		ok "$1"
	else
		not_ok "$1" "$T/diff"
	fi
}

echo "# budget $BUDGET, size $SIZE"
if ! "$USWAP" help run >/dev/null 2>&1; then
	echo "Bail out! \`uswap run\` is not in this build: bench compare cannot run its uswap side"
	exit 1
fi

kernel=yes
why=""
if [ "$(id -u)" -ne 0 ]; then
	kernel=no why="not root"
elif [ ! -e /sys/block/zram0 ]; then
	kernel=no why="no zram0"
elif [ "$(cat /sys/block/zram0/initstate)" != 0 ]; then
	kernel=no why="zram0 is in use"
fi
state >"$T/before"

# ---- both sides, every workload, JSON ----
"$USWAP" bench compare usemem redis sort --budget "$BUDGET" --json \
	>"$T/out.json" 2>"$T/err"
rc=$?
if [ "$rc" -eq 0 ]; then
	ok "all workloads run (exit 0)"
elif python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
bad = [(wl, side) for wl, w in d["workloads"].items() for side in ("uswap", "kernel")
       if w[side]["ran"] and not w[side]["ok"]
       and not (side == "kernel" and "OOM killer" in (w[side]["error"] or ""))]
sys.exit(0 if bad == [] else 1)' "$T/out.json" 2>/dev/null; then
	n=$((n + 1))
	echo "ok $n - all workloads run (exit $rc) # SKIP only the kernel's own OOM killer ended a program at this tiny budget"
else
	not_ok "all workloads run (exit $rc)" "$T/err"
fi
same_state "kernel state restored after a full run"
python3 - "$T/out.json" "$kernel" "$BUDGET_MIB" >"$T/py" 2>&1 <<'PY'
import json, sys
from decimal import Decimal
# Numbers as printed: a figure's rounding is known from its decimals.
d = json.load(open(sys.argv[1]), parse_float=Decimal)
def half_ulp(v):
    return Decimal(5).scaleb(v.as_tuple().exponent - 1) if isinstance(v, Decimal) else Decimal("0.5")
kernel, budget_mib = sys.argv[2] == "yes", float(sys.argv[3])
figures = {"usemem": ["seq_write_mbps", "seq_read_mbps", "rand_write_mbps",
                      "rand_read_mbps", "wall_s"],
           "redis": ["load_s", "get_rps", "get_bgsave_rps", "bgsave_s"],
           "sort": ["wall_s"]}
common = ["pswpin", "pswpout", "peak_rss_anon_mib", "peak_rss_anon_shmem_mib", "peak_anon_mib"]
def result(name, good, what):
    print("%s %s - %s" % ("ok" if good else "not ok", name, what))
assert set(d["workloads"]) == set(figures), d["workloads"].keys()
result("json", d["kernel_available"] == kernel, "kernel_available is %s" % kernel)
for wl, keys in figures.items():
    w = d["workloads"][wl]
    for side in ("uswap", "kernel") if kernel else ("uswap",):
        s = w[side]
        if side == "kernel" and s["error"] and "OOM killer" in s["error"]:
            # At a test's tiny budget the kernel may OOM-kill the program in
            # its cgroup: a measured outcome, reported as such, not a fault
            # of the machinery.
            print("skip %s - kernel side: %s" % (wl, s["error"]))
            continue
        result(wl, s["ran"] and s["ok"] and s["error"] is None,
               "%s side ran and succeeded (%s)" % (side, s["error"]))
        missing = [k for k in keys + common if k not in s]
        result(wl, not missing, "%s side reports every figure (missing %s)" % (side, missing))
        result(wl, s.get("pswpout", 0) > 0, "%s side swapped out (pswpout %s)" %
               (side, s.get("pswpout")))
    if wl == "redis" and w["uswap"]["ok"]:
        # The BGSAVE child shares uswap's engine: its swap-ins find folios
        # the parent brought in (and the other way round).
        s = w["uswap"]
        result(wl, s.get("child_swapins", 0) > 0 and s.get("shared_hits", 0) > 0,
               "uswap side: the BGSAVE child swapped in (%s) and shared swap-cache hits (%s)"
               % (s.get("child_swapins"), s.get("shared_hits")))
    if not kernel:
        result(wl, not w["kernel"]["ran"] and not w["ratio"], "no kernel run, no ratio")
        continue
    u, k, r = w["uswap"], w["kernel"], w["ratio"]
    want = sorted(x for x in u if x in k and isinstance(u[x], (int, Decimal))
                  and not isinstance(u[x], bool) and k[x] != 0)
    result(wl, sorted(r) == want, "a ratio for each figure both sides have (%s)" % sorted(r))
    bad = []
    for x in want:
        # The ratio comes from unrounded figures: it must lie within what
        # the printed (rounded) figures allow, give or take its own rounding.
        uu, kk, du, dk = Decimal(u[x]), Decimal(k[x]), half_ulp(u[x]), half_ulp(k[x])
        lo = max(uu - du, 0) / (kk + dk)
        hi = (uu + du) / (kk - dk) if kk > dk else Decimal("Infinity")
        if not (lo - half_ulp(r[x]) <= Decimal(r[x]) <= hi + half_ulp(r[x])):
            bad.append((x, str(u[x]), str(k[x]), str(r[x])))
    result(wl, not bad, "ratio = uswap / kernel for every figure (wrong: %s)" % bad)
    if wl == "usemem":
        result(wl, float(k["peak_anon_mib"]) <= budget_mib + 0.5,
               "the cgroup held anonymous memory to the budget (peak %s MiB)" % k["peak_anon_mib"])
PY
while read -r verdict rest; do
	case $verdict in
	ok) ok "$rest" ;;
	not) not_ok "${rest#ok }" ;;
	skip) skip "${rest%% - *}" "${rest#* - }" ;;
	*) not_ok "JSON check crashed: $verdict $rest" "$T/py" ;;
	esac
done <"$T/py"

# ---- the table, CSV and a plot to names that need quoting ----
if [ "$kernel" = yes ]; then
	"$USWAP" bench compare usemem --budget "$BUDGET" --size "$SIZE" \
		--csv "$T/it's a \"table\".csv" --plot "$T/it's a plot.png" >"$T/out" 2>"$T/err"
	rc=$?
	check "table run (exit 0)" [ "$rc" -eq 0 ]
	check "the table has both sides and a ratio for every pass" \
		[ "$(grep -cE '(sequential|random) (write|read) +MB/s +[0-9.]+ +[0-9.]+ +[0-9.]+ +higher' "$T/out")" -eq 4 ]
	check "the CSV has a row with a ratio per usemem figure" \
		[ "$(grep -cE '^usemem,[a-z_0-9]+,[^,]*,[0-9.]+,[0-9.]+,[0-9.]+,(higher|lower)$' "$T/it's a \"table\".csv")" -ge 5 ]
	check "the plot is a PNG" [ "$(head -c 4 "$T/it's a plot.png" | tail -c 3)" = PNG ]
	same_state "kernel state restored after a table run"
else
	skip "table, CSV and plot" "$why"
fi

# ---- the skip path: forced ----
USWAP_COMPARE_NO_KERNEL=1 "$USWAP" bench compare usemem --budget "$BUDGET" --size "$SIZE" \
	--json >"$T/out.json" 2>"$T/err"
rc=$?
check "kernel side forced off: uswap's side still runs (exit 0)" [ "$rc" -eq 0 ]
check "kernel side forced off: one line says so" \
	[ "$(grep -c 'kernel side skipped: USWAP_COMPARE_NO_KERNEL' "$T/err")" -eq 1 ]
check "kernel side forced off: JSON has uswap's figures and no kernel run" python3 -c '
import json, sys
w = json.load(open(sys.argv[1]))["workloads"]["usemem"]
sys.exit(not (w["uswap"]["ok"] and w["uswap"]["seq_write_mbps"] > 0 and
              not w["kernel"]["ran"] and w["ratio"] == {}))' "$T/out.json"
same_state "kernel state untouched when the kernel side is off"

# ---- the skip path: no root ----
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	# The build tree may sit in a directory only root can enter (a clone in
	# `mktemp -d`): the unprivileged user runs copies from $T (mode 755).
	mkdir -p "$T/nr"
	cp "$USWAP" "$T/nr/uswap"
	cp "$USWAP_USEMEM" "$T/nr/uswap-usemem"
	cp "$(dirname "$USWAP")/../uffd/libuswap-agent.so" "$T/nr/"
	chmod -R a+rX "$T/nr"
	USWAP_USEMEM=$T/nr/uswap-usemem USWAP_AGENT=$T/nr/libuswap-agent.so \
		setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$T/nr/uswap" bench compare usemem --budget "$BUDGET" --size "$SIZE" >"$T/out" 2>"$T/err"
	check "without root: one line says the kernel side is skipped" \
		[ "$(grep -c 'kernel side skipped: it needs root' "$T/err")" -eq 1 ]
	check "without root: uswap's side was attempted (its result or its refusal is shown)" \
		grep -q 'uswap side:\|sequential write' "$T/out"
	same_state "kernel state untouched without root"
else
	skip "without root" "needs root to drop it"
fi

# ---- a compressor this kernel's zram lacks ----
if [ "$kernel" = yes ] && ! grep -qw zstd /sys/block/zram0/comp_algorithm; then
	"$USWAP" bench compare usemem --budget "$BUDGET" --size "$SIZE" --comp zstd \
		>"$T/out" 2>"$T/err"
	check "--comp zstd without zstd in zram: one line says the kernel side is skipped" \
		[ "$(grep -c "kernel side skipped: this kernel's zram offers .*, not zstd" "$T/err")" -eq 1 ]
	same_state "kernel state untouched after the zstd refusal"
else
	skip "--comp zstd refusal" "kernel side unavailable or zram has zstd"
fi

# ---- interrupted: SIGTERM while the kernel side runs, SIGINT in redis ----
# interrupt SIGNAL WORKLOAD SIZE: start a compare, wait until zram0 is in
# service as swap (the kernel side is running), send SIGNAL, check it.
interrupt() {
	local sig=$1 wl=$2 size=$3 pid rc i
	"$USWAP" bench compare "$wl" --budget "$BUDGET" --size "$size" >"$T/out" 2>"$T/err" &
	pid=$!
	for ((i = 0; i < 600; i++)); do
		grep -q '^/dev/zram0 ' /proc/swaps && pgrep -f '/tmp/uswap-compare-|uswap-usemem' >/dev/null && break
		sleep 0.1
	done
	sleep 1
	kill -s "$sig" "$pid"
	wait "$pid"
	rc=$?
	check "SIG$sig during $wl: exit 128+signal ($rc)" [ "$rc" -eq $((128 + $(kill -l "$sig"))) ]
	check "SIG$sig during $wl: says it stopped" grep -q "stopped by signal" "$T/err"
	same_state "SIG$sig during $wl: kernel state restored, processes ended"
}
if [ "$kernel" = yes ]; then
	interrupt TERM usemem 1G
	interrupt INT redis 256M
else
	skip "interrupts" "$why"
fi

# ---- usage errors ----
"$USWAP" bench compare nosuch >/dev/null 2>"$T/err"
check "unknown workload: exit 2" [ $? -eq 2 ]
"$USWAP" bench compare --budget 1K >/dev/null 2>"$T/err"
check "budget below the minimum: exit 2" [ $? -eq 2 ]
"$USWAP" bench compare --comp lzo >/dev/null 2>"$T/err"
check "unknown compressor: exit 2" [ $? -eq 2 ]

echo "1..$n"
[ "$failed" -eq 0 ]
