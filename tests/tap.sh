# SPDX-License-Identifier: MIT
#
# tap.sh - TAP output for the shell tests, sourced: ok, not_ok and skip
# number the results in $n and count the failures in $failed.

n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}

# not_ok DESC [FILE]: a failure; FILE's last 20 lines follow as comments.
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	[ $# -gt 1 ] && sed 's/^/# /' "$2" | tail -20
	return 0
}

skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}
