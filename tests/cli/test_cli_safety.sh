# SPDX-License-Identifier: MIT
#
# test_cli_safety.sh - sourced by test_cli.sh (its helpers: run, has, ok,
# not_ok, skip, put_u32, $T, $USWAP): the command never destroys data it did
# not create, never runs what a file name says, refuses what the kernel or
# another engine is using, never hangs, and follows util-linux's conventions
# where the two overlap. As root it turns a small swap file on in the kernel,
# and always turns it off again (a trap), leaving /proc/swaps as it found it.

# sum FILE: a checksum of FILE's contents.
sum() {
	md5sum <"$1" | cut -d' ' -f1
}

# same FILE SUM DESC: FILE still has checksum SUM.
same() {
	if [ -e "$1" ] && [ "$(sum "$1")" = "$2" ]; then
		ok "$3"
	else
		not_ok "$3: $1 changed or is gone"
	fi
}

# lacks FILE TEXT DESC: FILE does not contain TEXT.
lacks() {
	if grep -qF -- "$2" "$1"; then
		not_ok "$3: '$2' in $(basename "$1")"
		sed 's/^/#   /' "$1" | head -5
	else
		ok "$3"
	fi
}

# ---- never destroy what it did not create ----

echo precious >"$T/keep.txt"
keep=$(sum "$T/keep.txt")
run 1 "mkswap: larger than the free space fails" mkswap "$T/keep.txt" 15T
has "$T/err" "No space left on device" "mkswap: no space is said"
same "$T/keep.txt" "$keep" "mkswap: a failed mkswap leaves an existing file as it was"
(
	ulimit -f 64
	"$USWAP" mkswap "$T/keep.txt" 1M >"$T/out" 2>"$T/err"
)
rc=$?
if [ "$rc" -eq 1 ] && grep -q "File too large" "$T/err"; then
	ok "mkswap: over the file size limit (ulimit -f) fails before writing"
else
	not_ok "mkswap: over the file size limit: exit $rc, $(head -1 "$T/err")"
fi
same "$T/keep.txt" "$keep" "mkswap: a file-size-limit failure leaves the file as it was"
run 1 "mkswap: a new file that does not fit" mkswap "$T/new-too-big.swap" 15T
if [ ! -e "$T/new-too-big.swap" ]; then
	ok "mkswap: a new file that could not be made is removed"
else
	not_ok "mkswap: a new file that could not be made is removed"
fi

# An existing file keeps its data past the header (like util-linux mkswap).
head -c 65536 /dev/urandom >"$T/data.swap"
tail_sum=$(tail -c +4097 "$T/data.swap" | md5sum | cut -d' ' -f1)
run 0 "mkswap over an existing file" mkswap "$T/data.swap" 64K
if [ "$(tail -c +4097 "$T/data.swap" | md5sum | cut -d' ' -f1)" = "$tail_sum" ]; then
	ok "mkswap: an existing file is not truncated or zeroed"
else
	not_ok "mkswap: an existing file is not truncated or zeroed"
fi

# Another engine holds the area (its flock): mkswap must not reformat it.
S2=$T/held.swap
"$USWAP" mkswap "$S2" 1M >/dev/null 2>&1
held=$(sum "$S2")
if command -v flock >/dev/null 2>&1; then
	flock -x "$S2" "$USWAP" mkswap "$S2" 2M >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq 1 ]; then
		ok "mkswap: refuses an area another engine holds"
	else
		not_ok "mkswap: refuses an area another engine holds: exit $rc"
	fi
	has "$T/err" "Device or resource busy" "mkswap: a held area is busy"
	same "$S2" "$held" "mkswap: a held area is left as it was"
	flock -x "$S2" "$USWAP" stat --device "file:$S2" >"$T/out" 2>"$T/err"
	if grep -q "in use by another swap engine" "$T/err"; then
		ok "stat: an area another engine holds is refused"
	else
		not_ok "stat: an area another engine holds is refused"
	fi
else
	for i in 1 2 3 4; do skip "mkswap/stat on a held area" "no flock(1)"; done
fi

# --csv / --plot must not overwrite the swap device.
sw_sum=$(sum "$S")
run 1 "bench: --csv naming the swap device is refused" bench usemem --size 4M --budget 1M \
	--threads 1 --quiet --device "file:$S" --csv "$S"
has "$T/err" "that is the swap device" "bench --csv on the swap device: message"
ln -sf "$S" "$T/link.swap"
run 1 "bench: --plot naming the swap device through a link is refused" bench usemem \
	--size 4M --budget 1M --threads 1 --quiet --device "file:$S" --plot "$T/link.swap"
same "$S" "$sw_sum" "bench: the swap device is left as it was"

# The run succeeds but its outputs cannot be written (a file size limit: 0
# for the CSV, 4 KiB for the PNG, which gnuplot writes): an existing --csv
# or --plot file keeps its contents. stderr goes through a pipe, which the
# limit does not cover.
# limited BLOCKS ARGS...: uswap ARGS under `ulimit -f BLOCKS`, SIGXFSZ ignored
# (a write past the limit fails with EFBIG, gnuplot's too, which it does not
# report; a sanitizer runtime may write a file of its own); its exit code.
limited() {
	local blocks=$1
	shift
	sh -c 'ulimit -f "$1"; trap "" XFSZ; shift; exec "$@"' sh "$blocks" "$USWAP" "$@" 2>&1 >/dev/null |
		cat >"$T/err"
	return "${PIPESTATUS[0]}"
}
echo precious >"$T/old.csv"
echo precious >"$T/old2.png"
old_csv=$(sum "$T/old.csv")
old_png=$(sum "$T/old2.png")
limited 0 bench usemem --size 8M --threads 1 --quiet --csv "$T/old.csv"
rc=$?
[ "$rc" -eq 1 ] && ok "bench --csv: an output that cannot be written fails the run" ||
	not_ok "bench --csv: an output that cannot be written: exit $rc, want 1"
same "$T/old.csv" "$old_csv" "bench --csv: a failed write leaves an existing file as it was"
if command -v gnuplot >/dev/null 2>&1; then
	limited 8 bench usemem --size 8M --threads 1 --quiet --plot "$T/old2.png"
	rc=$?
	[ "$rc" -eq 1 ] && ok "bench --plot: a plot that cannot be written fails the run" ||
		not_ok "bench --plot: a plot that cannot be written: exit $rc, want 1"
	same "$T/old2.png" "$old_png" "bench --plot: a failed write leaves an existing file as it was"
	seq 100000 >"$T/long.csv"
	run 0 "bench --csv --plot over longer existing files" bench usemem --size 8M \
		--threads 1 --quiet --csv "$T/long.csv" --plot "$T/old2.png"
	if head -1 "$T/long.csv" | grep -q '^time_s,' && ! grep -q '^100000$' "$T/long.csv" &&
		head -c 8 "$T/old2.png" | grep -q PNG; then
		ok "bench: outputs replace longer old contents entirely"
	else
		not_ok "bench: outputs replace longer old contents entirely"
	fi
else
	for i in 1 2 3 4; do skip "bench --plot write failure" "no gnuplot"; done
fi

# inspect --clusters writes nothing: not the probe, not a discard.
"$USWAP" mkswap "$T/ro.swap" 8M >/dev/null 2>&1
dd if=/dev/urandom of="$T/ro.swap" bs=4096 seek=1 count=2047 conv=notrunc status=none
ro=$(sum "$T/ro.swap")
run 0 "inspect --clusters on a file full of data" inspect --clusters "$T/ro.swap"
same "$T/ro.swap" "$ro" "inspect --clusters leaves every byte as it was"

# ---- never execute a file name ----

if command -v gnuplot >/dev/null 2>&1; then
	evil=$'x.png\nsystem "touch PWNED"\n#'
	(cd "$T" && "$USWAP" bench usemem --size 4M --budget 1M --threads 1 --quiet \
		--plot "$evil" >"$T/out" 2>"$T/err")
	if [ ! -e "$T/PWNED" ] && [ ! -e PWNED ]; then
		ok "bench --plot: a file name is never run as gnuplot commands"
	else
		not_ok "bench --plot: a file name is never run as gnuplot commands"
		rm -f "$T/PWNED" PWNED
	fi
	if head -c 8 "$T/$evil" 2>/dev/null | grep -q PNG; then
		ok "bench --plot: the PNG has exactly the name given"
	else
		not_ok "bench --plot: the PNG has exactly the name given"
		sed 's/^/#   /' "$T/err" | head -5
	fi
	evil_dev=$T/$'s\' \nsystem "touch PWNED2"\n#\'.swap'
	"$USWAP" mkswap "$evil_dev" 8M >/dev/null 2>&1
	(cd "$T" && "$USWAP" bench usemem --size 4M --budget 1M --threads 1 --quiet \
		--device "file:$evil_dev" --plot "$T/title.png" >"$T/out" 2>"$T/err")
	if [ ! -e "$T/PWNED2" ] && [ ! -e PWNED2 ] && [ -s "$T/title.png" ]; then
		ok "bench --plot: a swap file name in the title is never run"
	else
		not_ok "bench --plot: a swap file name in the title is never run"
		sed 's/^/#   /' "$T/err" | head -5
		rm -f "$T/PWNED2" PWNED2
	fi
	run 1 "bench --plot into a directory that does not exist fails" bench usemem \
		--size 4M --budget 1M --threads 1 --quiet --json --plot "$T/no/such/x.png"
	if [ ! -s "$T/out" ]; then
		ok "bench --plot: an unwritable path fails before the run, stdout clean"
	else
		not_ok "bench --plot: an unwritable path fails before the run, stdout clean"
	fi
	has "$T/err" "cannot write" "bench --plot: unwritable path message"
	echo old >"$T/old.png"
	old=$(sum "$T/old.png")
	run 1 "bench --plot: a failed run" bench usemem --size 64M --budget 1M --threads 1 \
		--quiet --device "file:$S" --plot "$T/old.png"
	same "$T/old.png" "$old" "bench --plot: a failed run leaves an existing file as it was"
else
	for i in 1 2 3 4 5 6 7 8; do skip "bench --plot safety" "no gnuplot"; done
fi

# ---- a run whose swap-outs fail wholesale fails ----

run 1 "bench: swap-outs that all fail make the run fail" bench usemem --size 1M \
	--budget 1016K --threads 1 --quiet --mem-limit 4K
has "$T/err" "swap-outs failed (swpout_fail)" "bench: failed swap-outs are said"
run 2 "bench: --mem-limit is for zram" bench usemem --device "file:$S" --mem-limit 1M

# ---- no hangs, no wrong numbers ----

mkfifo "$T/fifo"
timeout 20 "$USWAP" inspect "$T/fifo" >"$T/out" 2>"$T/err"
rc=$?
if [ "$rc" -eq 1 ]; then
	ok "inspect: a FIFO is refused, not waited on"
else
	not_ok "inspect: a FIFO is refused, not waited on: exit $rc"
fi
has "$T/err" "not a regular file or block device" "inspect: FIFO message"
timeout 20 "$USWAP" stat --device "file:$T/fifo" >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && ok "stat: a FIFO device is refused" || not_ok "stat: FIFO: exit $rc"
timeout 20 "$USWAP" mkswap "$T/fifo" 1M >"$T/out" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && ok "mkswap: a FIFO is refused" || not_ok "mkswap: FIFO: exit $rc"

"$USWAP" mkswap "$T/dup.swap" 1M >/dev/null 2>&1
put_u32 "$T/dup.swap" 637 1032
for i in $(seq 0 636); do
	put_u32 "$T/dup.swap" $((i % 255 + 1)) $((1536 + 4 * i))
done
run 1 "inspect: duplicate bad pages are refused" inspect "$T/dup.swap"
has "$T/err" "listed twice" "inspect: duplicate bad page message"
lacks "$T/out" "4294966914" "inspect: no wrapped page count"
run 1 "stat: swapon of a header with duplicate bad pages says why" stat --device "file:$T/dup.swap"
has "$T/err" "bad page 1 is listed more than once" "swapon: duplicate bad page reason"

# ---- conventions ----

"$USWAP" --help >/dev/full 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && ok "--help > /dev/full exits 1" || not_ok "--help > /dev/full: exit $rc"
has "$T/err" "write error" "a failed write to stdout says write error"
"$USWAP" inspect "$S" >/dev/full 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && ok "inspect > /dev/full exits 1" || not_ok "inspect > /dev/full: exit $rc"

run 2 "mkswap -xh: unknown option" mkswap -xh
has "$T/err" "unknown option '-x'" "grouped options: the right letter is named"
lacks "$T/err" "'mkswap'" "grouped options: not the subcommand's name"
run 2 "stat -zh: unknown option" stat -zh
has "$T/err" "unknown option '-z'" "grouped options: the first letter is named"
run 2 "bench --json=1: takes no argument" bench usemem --json=1
has "$T/err" "option '--json' takes no argument" "long option with an argument it does not take"

cp "$S" "$T/perm.swap" && chmod 644 "$T/perm.swap"
run 0 "stat: a 0644 swap file is accepted, as by the kernel" stat --device "file:$T/perm.swap"
has "$T/err" "warning: $T/perm.swap: insecure permissions 0644, 0600 suggested" \
	"stat: a 0644 swap file gets swapon's warning"
run 0 "inspect: a 0644 file" inspect "$T/perm.swap"
has "$T/out" "swapon warns (0600 suggested) but the kernel accepts it" \
	"inspect: the permission note says what swapon does"
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null 2>&1 &&
	loopdev=$(losetup -f --show "$S" 2>/dev/null); then
	chmod 0660 "$loopdev"
	run 0 "inspect: a 0660 block device" inspect "$loopdev"
	lacks "$T/out" "note:        mode" "inspect: 0660 is fine for a block device"
	run 0 "stat: a 0660 block device" stat --device "file:$loopdev"
	lacks "$T/err" "insecure" "stat: no warning for a 0660 block device"
	# Another device node of the same block device is still the swap device.
	if mknod "$T/alias.blk" b "$(stat -c '%t' "$loopdev" | xargs printf '%d' 0x)" \
		"$(stat -c '%T' "$loopdev" | xargs printf '%d' 0x)" 2>/dev/null; then
		blk_sum=$(sum "$loopdev")
		run 1 "bench --csv on another node of the swap block device is refused" bench \
			usemem --size 2M --threads 1 --quiet --device "file:$loopdev" \
			--csv "$T/alias.blk"
		same "$loopdev" "$blk_sum" "bench --csv: the swap block device is left as it was"
		rm -f "$T/alias.blk"
	else
		skip "bench --csv on another device node" "mknod failed"
		skip "bench --csv on another device node" "mknod failed"
	fi
	losetup -d "$loopdev"
else
	for i in 1 2 3 4 5 6; do skip "block device permissions" "needs root and a loop device"; done
fi

if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	shm=/dev/shm/uswap-cli-$$.swap
	"$USWAP" mkswap "$shm" 1M >/dev/null 2>&1
	run 1 "stat: a swap file on tmpfs is refused" stat --device "file:$shm"
	has "$T/err" "tmpfs" "stat: tmpfs is named"
	lacks "$T/err" "mkswap" "stat: the tmpfs reason does not send the user to mkswap"
	rm -f "$shm"
else
	for i in 1 2 3; do skip "tmpfs refusal" "no tmpfs at /dev/shm"; done
fi

run 0 "mkswap -U clear" mkswap "$T/u.swap" 1M -U clear
has "$T/out" "UUID=00000000-0000-0000-0000-000000000000" "mkswap -U clear: all zeros"
run 0 "mkswap -U time" mkswap "$T/u.swap" 1M -U time
if grep -Eq "UUID=[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab]" "$T/out"; then
	ok "mkswap -U time: a version 1 UUID"
else
	not_ok "mkswap -U time: a version 1 UUID"
fi
run 0 "mkswap -U random" mkswap "$T/u.swap" 1M -U random
if grep -Eq "UUID=[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab]" "$T/out"; then
	ok "mkswap -U random: a version 4 UUID"
else
	not_ok "mkswap -U random: a version 4 UUID"
fi

run 0 "mkswap 1MB (powers of 1000, as util-linux)" mkswap "$T/mb.swap" 1MB
if [ "$(stat -c %s "$T/mb.swap")" = 999424 ]; then
	ok "mkswap 1MB: 1000000 bytes rounded down to pages"
else
	not_ok "mkswap 1MB: $(stat -c %s "$T/mb.swap") bytes, want 999424"
fi
run 0 "mkswap 1MiB" mkswap "$T/mib.swap" 1MiB
[ "$(stat -c %s "$T/mib.swap")" = 1048576 ] && ok "mkswap 1MiB: 1048576 bytes" ||
	not_ok "mkswap 1MiB: $(stat -c %s "$T/mib.swap") bytes"

run 0 "mkswap with control characters in the label" mkswap "$T/l.swap" 1M -L $'a\033[2Jb'
has "$T/out" 'LABEL=a\x1b[2Jb' "mkswap: label control characters escaped"
run 0 "inspect a label with control characters" inspect "$T/l.swap"
has "$T/out" 'label:       a\x1b[2Jb' "inspect: label control characters escaped"
if grep -q $'\033' "$T/out"; then
	not_ok "inspect: no raw escape byte reaches the terminal"
else
	ok "inspect: no raw escape byte reaches the terminal"
fi

long=$T
for i in $(seq 400); do long=$long/.; done
run 1 "stat: a long path that does not exist" stat --device "file:$long/none.swap"
has "$T/err" "No such file or directory" "stat: a long path keeps the reason"
run 1 "bench: a long path that does not exist" bench usemem --device "file:$long/none.swap"
has "$T/err" "No such file or directory" "bench: a long path keeps the reason"

# SIGINT while a progress line is on a terminal: the line is cleared.
if command -v python3 >/dev/null 2>&1; then
	python3 - "$USWAP" >"$T/out" 2>&1 <<'PY'
import os, pty, select, signal, sys, time
pid, fd = pty.fork()
if pid == 0:
    # Only stderr on the terminal: progress is drawn there with \r and \033[K.
    out = os.open("/dev/null", os.O_WRONLY)
    os.dup2(out, 1)
    os.execv(sys.argv[1], [sys.argv[1], "bench", "usemem", "--size", "256M",
                           "--budget", "32M", "--threads", "1"])
buf = b""
deadline = time.time() + 60
while time.time() < deadline and b"swap-in" not in buf:
    r, _, _ = select.select([fd], [], [], 1)
    if r:
        try:
            buf += os.read(fd, 4096)
        except OSError:
            break
if b"swap-in" not in buf:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    print("SKIP no progress line within 60 s")
    sys.exit(0)
os.kill(pid, signal.SIGINT)
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    buf += chunk
_, status = os.waitpid(pid, 0)
tail = buf[buf.rfind(b"swap-in"):]
print("signaled" if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT else "status %d" % status)
print("line cleared" if tail.endswith(b"\r\x1b[K") else "line left: %r" % tail[-40:])
PY
	if grep -q "^SKIP" "$T/out"; then
		skip "SIGINT clears the progress line" "$(cat "$T/out")"
		skip "SIGINT still ends the run" "$(cat "$T/out")"
	else
		has "$T/out" "line cleared" "SIGINT clears the progress line"
		has "$T/out" "signaled" "SIGINT still ends the run (killed by SIGINT)"
	fi
else
	skip "SIGINT clears the progress line" "no python3"
	skip "SIGINT still ends the run" "no python3"
fi

# ---- a swap file the kernel uses is busy (root; the file is always turned off) ----

kernel_why=
kernel_swap_test() {
	local K=$T/kernel.swap before k_sum
	before=$(cat /proc/swaps)
	if ! dd if=/dev/zero of="$K" bs=1M count=8 status=none || ! chmod 600 "$K" ||
		! mkswap "$K" >/dev/null 2>&1; then
		kernel_why="could not make a swap file with mkswap"
		return
	fi
	# Whatever happens below (a failure, a signal), the file is turned off again.
	trap 'swapoff "$K" 2>/dev/null; rm -rf "$T"' EXIT
	trap 'swapoff "$K" 2>/dev/null; rm -rf "$T"; exit 1' INT TERM
	if ! swapon "$K" 2>/dev/null; then
		kernel_why="swapon is not permitted here"
		trap 'rm -rf "$T"' EXIT
		trap - INT TERM
		return
	fi
	k_sum=$(sum "$K")
	run 1 "bench: a swap file the kernel uses is refused" bench usemem --size 4M \
		--budget 1M --threads 1 --quiet --device "file:$K"
	has "$T/err" "Device or resource busy" "bench: kernel swap file is busy"
	run 1 "stat --device: a swap file the kernel uses is refused" stat --device "file:$K"
	has "$T/err" "Device or resource busy" "stat: kernel swap file is busy"
	run 1 "inspect --clusters: a swap file the kernel uses is refused" inspect --clusters "$K"
	has "$T/err" "Device or resource busy" "inspect --clusters: kernel swap file is busy"
	run 1 "mkswap: a swap file the kernel uses is refused" mkswap "$K" 4M
	has "$T/err" "Device or resource busy" "mkswap: kernel swap file is busy"
	same "$K" "$k_sum" "a kernel swap file is left as it was"
	swapoff "$K"
	trap 'rm -rf "$T"' EXIT
	trap - INT TERM
	# Other programs may turn their own swap on or off meanwhile: compare names.
	if ! grep -qF "$K " /proc/swaps &&
		[ "$(cut -d' ' -f1 /proc/swaps)" = "$(echo "$before" | cut -d' ' -f1)" ]; then
		ok "kernel swap: /proc/swaps lists what it listed before"
	else
		not_ok "kernel swap: /proc/swaps lists what it listed before"
		diff <(echo "$before") /proc/swaps | sed 's/^/#   /'
	fi
}
if [ "$(id -u)" != 0 ] || ! command -v mkswap >/dev/null 2>&1 ||
	! command -v swapon >/dev/null 2>&1 || ! command -v swapoff >/dev/null 2>&1; then
	kernel_why="needs root and util-linux mkswap, swapon, swapoff"
else
	kernel_swap_test
fi
if [ -n "$kernel_why" ]; then
	for i in $(seq 10); do skip "kernel swap file is busy" "$kernel_why"; done
fi

# Results on stderr (bench --json --clusters) that cannot be written fail too.
"$USWAP" mkswap "$T/clu.swap" 4M >/dev/null 2>&1
"$USWAP" bench usemem --size 1M --threads 1 --quiet --json --clusters \
	--device "file:$T/clu.swap" >/dev/null 2>/dev/full
rc=$?
[ "$rc" -eq 1 ] && ok "bench --json --clusters: a cluster map lost on stderr exits 1" ||
	not_ok "bench --json --clusters: a cluster map lost on stderr: exit $rc, want 1"
"$USWAP" mkswap 2>/dev/full
rc=$?
[ "$rc" -eq 2 ] && ok "a usage error keeps exit 2 when stderr is full" ||
	not_ok "a usage error with stderr full: exit $rc, want 2"

# --json is UTF-8 whatever bytes the swap file name has.
if command -v python3 >/dev/null 2>&1; then
	odd=$T/$'\xff\xfe"\x01 \xc3\xa9.swap'
	"$USWAP" mkswap "$odd" 4M >/dev/null 2>&1
	run 0 "bench --json with a swap file name that is not UTF-8" bench usemem --size 1M \
		--threads 1 --quiet --json --device "file:$odd"
	if python3 -c 'import json, sys; d = json.load(open(sys.argv[1], encoding="utf-8"))
sys.exit(0 if d["device"].endswith("\ufffd\ufffd\"\x01 \u00e9.swap") else 1)' "$T/out"; then
		ok "bench --json: the device name is valid JSON text (bad bytes as U+FFFD)"
	else
		not_ok "bench --json: the device name is valid JSON text (bad bytes as U+FFFD)"
	fi
	rm -f "$odd"
else
	skip "bench --json with a name that is not UTF-8" "no python3"
	skip "bench --json with a name that is not UTF-8" "no python3"
fi

# A file we may write but do not own: mkswap works, as util-linux's does
# (it cannot make the mode 0600; it says so), and a failure leaves it as it was.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	mkdir -p "$T/shared" && chmod 777 "$T/shared" && chmod 755 "$T"
	head -c 100000 /dev/urandom >"$T/shared/other.bin"
	chmod 666 "$T/shared/other.bin"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$USWAP" mkswap \
		"$T/shared/other.bin" 1M >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -eq 0 ] && ok "mkswap: a writable file of another owner is formatted" ||
		not_ok "mkswap: a writable file of another owner: exit $rc, $(head -1 "$T/err")"
	has "$T/err" "insecure permissions 0666, fix with: chmod 0600" \
		"mkswap: another owner's file: the mode is named, as by util-linux"
	chmod 700 "$T"
else
	skip "mkswap: another owner's file" "needs root and setpriv"
	skip "mkswap: another owner's file" "needs root and setpriv"
fi

# --csv naming the file stdout goes to: the table would overwrite the CSV.
"$USWAP" bench usemem --size 1M --threads 1 --quiet --csv /dev/stdout >"$T/both.txt" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && ok "bench --csv /dev/stdout into a file is refused" ||
	not_ok "bench --csv /dev/stdout into a file: exit $rc, want 1"
has "$T/err" "that is the file stdout goes to" "bench --csv on stdout's file: message"
"$USWAP" bench usemem --size 1M --threads 1 --quiet --json --csv /dev/stdout 2>"$T/err" |
	cat >"$T/both.txt"
if grep -q '^time_s,' "$T/both.txt" && grep -q '^{' "$T/both.txt"; then
	ok "bench --csv /dev/stdout into a pipe: CSV and results both there"
else
	not_ok "bench --csv /dev/stdout into a pipe: CSV and results both there"
fi

# ---- a signal while mkswap writes: nothing partial is left (root) ----
#
# On a filesystem without fallocate (ext2) mkswap writes every block, which
# takes long enough for a signal to arrive mid-way: a file it created must
# be gone, an existing file must have its old size and contents, and the
# exit status must still say which signal ended it.

signal_why=
# interrupt SIG FILE SIZE MIN: start mkswap FILE SIZE, send SIG once FILE is
# larger than MIN bytes; prints the exit status, or "done" if mkswap finished
# first (the machine was too fast to tell).
interrupt() {
	local pid i=0 rc
	# A background job has SIGINT ignored: give the command the default back.
	python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$USWAP" mkswap "$2" "$3" >/dev/null 2>"$T/err" &
	pid=$!
	while [ "$i" -lt 2000 ] && [ "$(stat -c %s "$2" 2>/dev/null || echo 0)" -le "$4" ]; do
		i=$((i + 1))
		sleep 0.005
	done
	kill -"$1" "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	if [ "$rc" -eq 0 ]; then echo done; else echo "$rc"; fi
}
signal_test() {
	local img=$T/noalloc.img mnt=$T/noalloc rc keep size
	if ! truncate -s 1500M "$img" || ! mkfs.ext2 -q -F "$img" >/dev/null 2>&1 ||
		! mkdir -p "$mnt" || ! mount -o loop "$img" "$mnt" 2>/dev/null; then
		signal_why="cannot mount an ext2 image"
		return
	fi
	trap 'umount "$mnt" 2>/dev/null; rm -rf "$T"' EXIT
	for sig in INT:130 TERM:143; do
		rc=$(interrupt "${sig%:*}" "$mnt/new.swap" 1G 0)
		if [ "$rc" = done ]; then
			skip "mkswap: SIG${sig%:*} mid-way" "mkswap finished before the signal"
			skip "mkswap: SIG${sig%:*} mid-way" "mkswap finished before the signal"
		else
			[ "$rc" = "${sig#*:}" ] && ok "mkswap: SIG${sig%:*} mid-way ends it (exit $rc)" ||
				not_ok "mkswap: SIG${sig%:*} mid-way: exit $rc, want ${sig#*:}"
			[ ! -e "$mnt/new.swap" ] &&
				ok "mkswap: SIG${sig%:*} mid-way leaves no partial new file" ||
				not_ok "mkswap: SIG${sig%:*} mid-way left $(stat -c %s "$mnt/new.swap") bytes of a new file"
		fi
		rm -f "$mnt/new.swap"
	done
	head -c 1048576 /dev/urandom >"$mnt/keep.bin"
	keep=$(sum "$mnt/keep.bin")
	rc=$(interrupt TERM "$mnt/keep.bin" 1G 1048576)
	if [ "$rc" = done ]; then
		skip "mkswap: SIGTERM over an existing file" "mkswap finished before the signal"
	else
		size=$(stat -c %s "$mnt/keep.bin")
		if [ "$size" = 1048576 ] && [ "$(sum "$mnt/keep.bin")" = "$keep" ]; then
			ok "mkswap: SIGTERM mid-way leaves an existing file as it was"
		else
			not_ok "mkswap: SIGTERM mid-way: existing file now $size bytes (was 1048576)"
		fi
	fi
	umount "$mnt"
	trap 'rm -rf "$T"' EXIT
}
if [ "$(id -u)" != 0 ] || ! command -v mkfs.ext2 >/dev/null 2>&1 ||
	! command -v python3 >/dev/null 2>&1 || ! command -v mount >/dev/null 2>&1; then
	signal_why="needs root, mkfs.ext2, mount and python3"
else
	signal_test
fi
if [ -n "$signal_why" ]; then
	for i in 1 2 3 4 5; do skip "mkswap interrupted mid-way" "$signal_why"; done
fi
