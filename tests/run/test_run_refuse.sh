#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_run_refuse.sh - every refusal of `uswap run` before the program
# starts: a statically linked program (directly, or as a script's
# interpreter), no full-mode userfaultfd (as user nobody without
# CAP_SYS_PTRACE, when vm.unprivileged_userfaultfd is 0 and /dev/userfaultfd
# is root-only), a swap file that is not one. Each refusal must exit 1 with
# a message saying why, and the program must not have run. Prints TAP.
#
# Usage: test_run_refuse.sh PATH/TO/uswap [PATH/TO/static_prog]
set -u
USWAP=${1:?usage: test_run_refuse.sh PATH/TO/uswap [STATIC_PROG]}
STATIC=${2:-}
. "$(dirname "$0")/lib.sh"

# ---- statically linked programs ----
if [ -z "$STATIC" ] || [ ! -x "$STATIC" ]; then
	for c in /bin/busybox /usr/bin/busybox /sbin/ldconfig; do
		if [ -x "$c" ] && file -L "$c" 2>/dev/null | grep -q "statically linked"; then
			STATIC=$c
			break
		fi
	done
fi
if [ -n "$STATIC" ] && [ -x "$STATIC" ]; then
	STATIC=$(realpath "$STATIC")
	expect_rc 1 "static program: refused" "$USWAP" run --budget 8M -- "$STATIC"
	has "$T/err" "statically linked" "static program: message says statically linked"
	if grep -q "uswap run should have refused" "$T/out"; then not_ok "static program did not run"; else ok "static program did not run"; fi
	ln -s "$STATIC" "$T/static-link"
	expect_rc 1 "static program found through PATH and a symlink: refused" env PATH="$T:$PATH" "$USWAP" run --budget 8M -- static-link
	printf '#!%s\n' "$STATIC" >"$T/static.sh"
	chmod 755 "$T/static.sh"
	expect_rc 1 "script with a static interpreter: refused" "$USWAP" run --budget 8M -- "$T/static.sh"
	has "$T/err" "statically linked" "script with a static interpreter: message"
	printf '#!/usr/bin/env static-link\n' >"$T/env-static.sh"
	chmod 755 "$T/env-static.sh"
	expect_rc 1 "#!/usr/bin/env of a static program: refused" env PATH="$T:$PATH" "$USWAP" run --budget 8M -- "$T/env-static.sh"
else
	skip "static program refused" "no static binary (no libc.a for gcc -static, no busybox-static)"
fi
# A dynamic script interpreter is accepted (nothing to refuse).
printf '#!/bin/sh\nexit 0\n' >"$T/dyn.sh"
chmod 755 "$T/dyn.sh"
"$USWAP" run --budget 8M -- "$T/dyn.sh" >/dev/null 2>"$T/err"
if grep -q "statically linked\|cannot be paged" "$T/err"; then not_ok "a /bin/sh script is not refused as static"; show "$T/err"; else ok "a /bin/sh script is not refused as static"; fi

# ---- a 32-bit or foreign program ----
printf '\177ELF\001\001\001\000\000\000\000\000\000\000\000\000\002\000\003\000' >"$T/elf32"
head -c 200 /dev/zero >>"$T/elf32"
chmod 755 "$T/elf32"
expect_rc 1 "32-bit ELF: refused" "$USWAP" run --budget 8M -- "$T/elf32"
has "$T/err" "another class or machine" "32-bit ELF: message"

# ---- set-user-ID programs (LD_PRELOAD would be ignored) ----
if id nobody >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	cp /bin/true "$T/suid-true"
	chown nobody "$T/suid-true"
	chmod 4755 "$T/suid-true"
	expect_rc 1 "set-user-ID program of another user: refused" "$USWAP" run --budget 8M -- "$T/suid-true"
	has "$T/err" "set-user-ID" "set-user-ID: message"
else
	skip "set-user-ID program refused" "needs root and user nobody"
fi

# ---- swap file devices ----
expect_rc 1 "missing swap file: refused" "$USWAP" run --budget 8M --device file:"$T/none" -- true
has "$T/err" "uswap mkswap" "missing swap file: says how to make one"
head -c 65536 /dev/zero >"$T/notswap"
expect_rc 1 "a file that is not swap: refused" "$USWAP" run --budget 8M --device file:"$T/notswap" -- true
has "$T/err" "not a usable swap file" "not swap: message"

# ---- no full-mode userfaultfd ----
# As user nobody with no capabilities: the system call needs
# vm.unprivileged_userfaultfd=1 (or CAP_SYS_PTRACE), the device needs access.
uffd_sysctl=$(cat /proc/sys/vm/unprivileged_userfaultfd 2>/dev/null || echo missing)
if [ "$(id -u)" -ne 0 ] || ! id nobody >/dev/null 2>&1 || ! command -v setpriv >/dev/null; then
	skip "no userfaultfd: refused" "needs root, user nobody and setpriv"
elif [ "$uffd_sysctl" != 0 ]; then
	skip "no userfaultfd: refused" "vm.unprivileged_userfaultfd is $uffd_sysctl: an unprivileged user has one"
elif [ -e /dev/userfaultfd ] && setpriv --reuid=nobody --regid=nogroup --clear-groups test -r /dev/userfaultfd; then
	skip "no userfaultfd: refused" "/dev/userfaultfd is readable by nobody"
else
	# A copy nobody can reach (the build tree may not be).
	cp "$USWAP" "$T/uswap"
	chmod 755 "$T/uswap"
	mkdir -m 777 "$T/nb"
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all "$@"; }
	expect_rc 1 "no userfaultfd (user nobody): refused" as_nobody "$T/uswap" run --budget 8M -- touch "$T/nb/ran"
	has "$T/err" "no full userfaultfd" "no userfaultfd: message"
	has "$T/err" "CAP_SYS_PTRACE" "no userfaultfd: names CAP_SYS_PTRACE"
	has "$T/err" "vm.unprivileged_userfaultfd=1" "no userfaultfd: names the sysctl"
	has "$T/err" "/dev/userfaultfd" "no userfaultfd: names /dev/userfaultfd"
	has "$T/err" "EFAULT" "no userfaultfd: says why user-mode-only will not do"
	if [ -e "$T/nb/ran" ]; then not_ok "no userfaultfd: the program did not run"; else ok "no userfaultfd: the program did not run"; fi
fi
finish
