#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_run_programs.sh - real, unmodified programs under `uswap run`, each
# with 4x its budget of data, each checked against itself without uswap:
#   python3        builds a bytearray, checks every page and its SHA-256
#   GNU sort       sorts a generated file with -S 4x the budget; the output
#                  is byte-identical to a plain run's
#   redis-server   loaded with 1 KiB values; DEBUG DIGEST is unchanged after
#                  a pass of random reads (each value checked) under pressure
# and each run must have swapped (pswpout > 0 in --stats). Prints TAP.
#
# Usage: test_run_programs.sh PATH/TO/uswap
# Environment: USWAP_RUN_TEST_BUDGET_MIB (default 16) and
# USWAP_RUN_TEST_SLACK_MIB (default 4 + budget / 8), as in test_run_sigcheck.sh.
set -u
USWAP=${1:?usage: test_run_programs.sh PATH/TO/uswap}
. "$(dirname "$0")/lib.sh"

data_mib=$((budget_mib * 4))
# The distribution's python3, not a wrapper script (pyenv shims exec it).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

# swapped STATS LABEL: the run swapped, and the kernel saw the budget held.
swapped() {
	json_check "$1" "s['vmstat'].get('pswpout', 0) > 0" "$2: pages swapped out (pswpout $(json "$1" "s['vmstat'].get('pswpout')"), pswpin $(json "$1" "s['vmstat'].get('pswpin')"))"
	budget_check "$1" "s['rss_anon_samples'] >= 5 and s['rss_anon_peak_bytes'] <= $(((budget_mib + slack_mib) << 20))" \
		"$2: kernel RssAnon peak $(json "$1" "s['rss_anon_peak_bytes'] >> 20") MiB (agent charged $(json "$1" "s['resident_at_rss_anon_peak_bytes'] >> 20") MiB then) <= budget $budget_mib MiB + slack $slack_mib MiB"
}

# ---- python3: a bytearray of 4x the budget ----
cat >"$T/bytearray.py" <<'PY'
import hashlib, random, sys
n = int(sys.argv[1]) << 20
b = bytearray(n)
h = hashlib.sha256()
for off in range(0, n, 4096):
    page = (off * 2654435761 % (1 << 64)).to_bytes(8, "little") * 512
    b[off:off + 4096] = page
    h.update(page)
bad = 0
rnd = random.Random(1)
for _ in range(n // 4096):
    off = rnd.randrange(0, n, 4096)
    if b[off:off + 4096] != (off * 2654435761 % (1 << 64)).to_bytes(8, "little") * 512:
        bad += 1
ok = hashlib.sha256(b).digest() == h.digest() and bad == 0
print("bytearray: %s (%d MiB, %d bad random pages)" % ("OK" if ok else "FAILED", n >> 20, bad))
sys.exit(0 if ok else 1)
PY
$LIMIT "$USWAP" run --budget "${budget_mib}M" --stats "$T/py.json" -- "$PY" "$T/bytearray.py" "$data_mib" >"$T/py.out" 2>"$T/py.err"
rc=$?
if [ $rc -eq 0 ] && grep -q "^bytearray: OK" "$T/py.out"; then
	ok "python3: bytearray of $data_mib MiB under a $budget_mib MiB budget checks out"
	swapped "$T/py.json" python3
else
	not_ok "python3: exit $rc"
	show "$T/py.out"
	show "$T/py.err"
fi

# ---- GNU sort -S 4x the budget ----
head -c $((data_mib * 3 / 4))M /dev/urandom | base64 -w 60 >"$T/in.txt"
LC_ALL=C sort -S "${data_mib}M" -T "$T" "$T/in.txt" >"$T/plain.txt"
LC_ALL=C $LIMIT "$USWAP" run --budget "${budget_mib}M" --stats "$T/sort.json" -- \
	sort -S "${data_mib}M" -T "$T" "$T/in.txt" >"$T/paged.txt" 2>"$T/sort.err"
rc=$?
if [ $rc -eq 0 ] && cmp -s "$T/plain.txt" "$T/paged.txt" && [ -s "$T/plain.txt" ]; then
	ok "sort -S ${data_mib}M of $(($(stat -c %s "$T/in.txt") >> 20)) MiB: output identical to a plain run"
	swapped "$T/sort.json" sort
else
	not_ok "sort: exit $rc, outputs $(cmp "$T/plain.txt" "$T/paged.txt" 2>&1 | head -1)"
	show "$T/sort.err"
fi
rm -f "$T/in.txt" "$T/plain.txt" "$T/paged.txt"

# ---- redis-server with 1 KiB values ----
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	skip "redis-server" "redis-server or redis-cli not installed (scripts/deps.sh --all)"
	finish
	exit
fi
sock=$T/redis.sock
timeout -k 10 ${USWAP_RUN_TEST_STEP_TIMEOUT:-150} "$USWAP" run --budget "${budget_mib}M" --stats "$T/redis.json" -- \
	redis-server --port 0 --unixsocket "$sock" --save '' --appendonly no \
	--enable-debug-command local --dir "$T" >"$T/redis.out" 2>"$T/redis.err" &
rpid=$!
for _ in $(seq 200); do
	redis-cli -s "$sock" ping >/dev/null 2>&1 && break
	sleep 0.05
done
# The server itself (uswap run's child), to kill it by its id if all else fails.
server=$(awk '{print $1}' /proc/$rpid/task/$rpid/children 2>/dev/null)
at_exit "kill -TERM $rpid 2>/dev/null; sleep 0.5; kill -KILL $rpid ${server:-} 2>/dev/null"

keys=$((data_mib * 1024))
cat >"$T/redis_client.py" <<'PY'
import random, socket, sys

def value(i):
    return (b"%08d" % i) * 128  # 1 KiB

class Redis:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    def send(self, *cmds):
        out = []
        for c in cmds:
            out.append(b"*%d\r\n" % len(c))
            for a in c:
                out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.s.sendall(b"".join(out))

    def reply(self):
        line = self.f.readline()
        if line[:1] == b"$":
            n = int(line[1:])
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if line[:1] == b"-":
            raise RuntimeError(line.decode())
        return line[1:].strip()

r = Redis(sys.argv[1])
mode, keys = sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0
if mode == "load":
    for base in range(0, keys, 512):
        batch = range(base, min(keys, base + 512))
        r.send(*[(b"SET", b"key:%d" % i, value(i)) for i in batch])
        for _ in batch:
            r.reply()
    print("loaded %d keys" % keys)
elif mode == "read":
    rnd = random.Random(2)
    bad = 0
    for _ in range(keys // 128):
        batch = [rnd.randrange(keys) for _ in range(128)]
        r.send(*[(b"GET", b"key:%d" % i) for i in batch])
        for i in batch:
            if r.reply() != value(i):
                bad += 1
    print("read %d random keys, %d wrong" % (keys, bad))
    sys.exit(1 if bad else 0)
elif mode == "digest":
    r.send((b"DEBUG", b"DIGEST"))
    print(r.reply().decode())
PY
if ! redis-cli -s "$sock" ping >/dev/null 2>&1; then
	not_ok "redis-server did not start under uswap run"
	show "$T/redis.err"
	show "$T/redis.out"
else
	"$PY" "$T/redis_client.py" "$sock" load $keys >"$T/rc.out" 2>&1
	check $? "redis: $keys keys of 1 KiB loaded under a $budget_mib MiB budget"
	d1=$("$PY" "$T/redis_client.py" "$sock" digest 2>&1)
	"$PY" "$T/redis_client.py" "$sock" read $keys >>"$T/rc.out" 2>&1
	check $? "redis: random-read pass returns every value right"
	d2=$("$PY" "$T/redis_client.py" "$sock" digest 2>&1)
	[[ "$d1" =~ ^[0-9a-f]{40}$ ]] && [ "$d1" = "$d2" ] && [ "$d1" != 0000000000000000000000000000000000000000 ]
	check $? "redis: DEBUG DIGEST unchanged after the random reads ($d1)"
	used=$(redis-cli -s "$sock" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p' | tr -d '\r')
	[ -n "$used" ] && [ "$used" -gt $((budget_mib << 21)) ]
	check $? "redis: dataset $((${used:-0} >> 20)) MiB is over 2x the budget"
	redis-cli -s "$sock" shutdown nosave >/dev/null 2>&1
	wait $rpid
	rc=$?
	[ $rc -eq 0 ]
	check $? "redis: uswap run exits 0 after SHUTDOWN (got $rc)"
	swapped "$T/redis.json" redis-server
fi
finish
