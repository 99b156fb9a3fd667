#!/usr/bin/env bash
# Run every uswap test: the source checks (scripts/check.sh: atomics,
# formatting, build lists; each counts as one test), the debug build (all
# suites), then an ASan+UBSan and a TSan build (all suites, stress tests
# short), then the header fuzzer for a bounded time. Ends with one line
# "N passed, M failed".
#
# The end-to-end tests of `uswap run` (suite 'run': real programs paged by
# the agent preloaded into them) are registered only in the debug build: a
# sanitizer runtime cannot be preloaded into python3, sort or redis-server.
# The sanitizer builds still run uswap run's own tests (exit codes, signals,
# refusals) with an uninstrumented stand-in agent.
#
# Usage: scripts/test.sh            everything (what CI runs)
#        USWAP_FUZZ_SECONDS=0 ...   skip the fuzzer
#        USWAP_SANITIZERS=0 ...     skip the sanitizer builds
#        USWAP_CLI_FUZZ_SECONDS=0 . skip the CLI fuzz pass (default 45 s)
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh --all || { echo "uswap: could not install dependencies"; echo "0 passed, 1 failed"; exit 1; }

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"

pass=0
fail=0
skip=0
log=$(mktemp)

# Count TAP results of one meson test run from its JSON log.
count() {
	local dir=$1 label=$2
	local json
	# With --wrapper, meson names the log after the wrapper (testlog-setarch.json).
	json=$(ls -t "$dir"/meson-logs/testlog*.json 2>/dev/null | head -1)
	if [ -z "$json" ]; then
		echo "== $label: no test log"
		fail=$((fail + 1))
		return
	fi
	read -r p f s < <(python3 - "$json" <<'PY'
import json, re, sys
p = f = s = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = t.get("stdout") or ""
    oks = [l for l in out.splitlines() if re.match(r"^ok \d+", l)]
    nots = [l for l in out.splitlines() if re.match(r"^not ok \d+", l)]
    # "not ok ... # TODO why": a known failure of an open issue (TAP).
    todo = [l for l in nots if re.search(r"#\s*TODO\b", l)]
    bad = [l for l in nots if l not in todo]
    for l in todo:
        print("KNOWN FAILURE (open issue): %s: %s" % (t.get("name"), l), file=sys.stderr)
    sk = [l for l in oks if "# SKIP" in l]
    p += len(oks) - len(sk)
    s += len(sk) + len(todo)
    f += len(bad)
    if t.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and not bad:
        f += 1      # crashed, timed out or failed outside TAP
        print("FAILED: %s (%s)" % (t.get("name"), t.get("result")), file=sys.stderr)
    # What CI shows of a failure: each failed check with its diagnostics
    # (the "#" lines after it), or the end of the output of a crash.
    lines = out.splitlines()
    for i, l in enumerate(lines):
        if l in bad:
            print("FAILED: %s: %s" % (t.get("name"), l), file=sys.stderr)
            for d in lines[i + 1:i + 12]:
                if not d.startswith("#"):
                    break
                print("    " + d, file=sys.stderr)
    if t.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and not bad:
        tail = (lines + (t.get("stderr") or "").splitlines())[-30:]
        for d in tail:
            print("    " + d, file=sys.stderr)
print(p, f, s)
PY
)
	echo "== $label: $p passed, $f failed, $s skipped"
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
}

# build_and_test DIR LABEL [meson options...]
build_and_test() {
	local dir=$1 label=$2
	shift 2
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$log" 2>&1 || { cat "$log"; fail=$((fail + 1)); return; }
	fi
	if ! ninja -C "$dir" >"$log" 2>&1; then
		cat "$log"
		echo "== $label: build failed"
		fail=$((fail + 1))
		return
	fi
	rm -f "$dir"/meson-logs/testlog*
	meson test -C "$dir" --print-errorlogs --num-processes 2 "${test_args[@]}" >"$log" 2>&1
	grep -E "^ *[0-9]+/[0-9]+ " "$log" | sed "s/^/[$label] /"
	count "$dir" "$label"
}

# The rules the code states about itself (scripts/check.sh).
bash scripts/check.sh >"$log" 2>&1
grep -v "^checks:" "$log"
read -r cp cf < <(sed -n 's/^checks: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log")
echo "== checks: ${cp:-0} passed, ${cf:-1} failed"
pass=$((pass + ${cp:-0}))
fail=$((fail + ${cf:-1}))

test_args=()
build_and_test build debug
if [ "${USWAP_SANITIZERS:-1}" != 0 ]; then
	test_args=(--timeout-multiplier 3)
	build_and_test build-asan asan+ubsan -Db_sanitize=address,undefined -Db_lundef=false
	# TSan needs a fixed address layout on kernels with large mmap randomization.
	test_args=(--wrapper "setarch -R" --timeout-multiplier 4)
	build_and_test build-tsan tsan -Db_sanitize=thread -Db_lundef=false
fi
if [ "${USWAP_FUZZ_SECONDS:-60}" != 0 ] && [ -x scripts/fuzz.sh ]; then
	if bash scripts/fuzz.sh "${USWAP_FUZZ_SECONDS:-60}" >"$log" 2>&1; then
		echo "== fuzz: no crash in ${USWAP_FUZZ_SECONDS:-60} s"
		pass=$((pass + 1))
	else
		tail -40 "$log"
		echo "== fuzz: FAILED"
		fail=$((fail + 1))
	fi
fi
# The CLI fuzz pass: random arguments and files against the uswap command
# (the ASan+UBSan build when there is one), for a bounded time.
if [ "${USWAP_CLI_FUZZ_SECONDS:-45}" != 0 ]; then
	if bash scripts/cli_fuzz.sh "${USWAP_CLI_FUZZ_SECONDS:-45}" >"$log" 2>&1; then
		echo "== cli fuzz: $(tail -1 "$log")"
		pass=$((pass + 1))
	else
		tail -40 "$log"
		echo "== cli fuzz: FAILED"
		fail=$((fail + 1))
	fi
fi
rm -f "$log"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
