#!/bin/bash
# SPDX-License-Identifier: MIT
# redis_bgsave.sh - real Redis forking under the paging agent: redis-server
# with 1 KiB values four times the budget; BGSAVE while a client reads; the
# RDB passes redis-check-rdb, a plain redis-server (no agent) loading it
# reports the DEBUG DIGEST the paged one had at the fork, and the status page
# shows the forked child's swap-ins and swap-cache hits on shared entries;
# the tree's RssAnon peak during the save is printed, and checked within four
# times the budget (the child evicts too, unless USWAP_CHILD_EVICT=0).
# Needs redis-server, redis-cli, redis-check-rdb, redis-benchmark (skips
# without) and a full-mode userfaultfd with EVENT_FORK (root).
# Usage: redis_bgsave.sh AGENT STATUS_DUMP   (exit 0 pass, 77 skip, 1 fail)
set -u
AGENT=$1 DUMP=$2
KEYS=${USWAP_REDIS_KEYS:-131072} BUDGET=$((32 << 20))
for p in redis-server redis-cli redis-check-rdb redis-benchmark; do
	command -v $p > /dev/null || { echo "# skip: no $p"; exit 77; }
done
# A sanitizer-built agent cannot be preloaded into a program built without.
[ "${USWAP_SANITIZE:-none}" = none ] || { echo "# skip: sanitizer build"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "# skip: not root (EVENT_FORK needs CAP_SYS_PTRACE)"; exit 77; }
D=$(mktemp -d /tmp/uswap-redis.XXXXXX)
SRV=; PLAIN=
cleanup() { [ -n "$SRV" ] && kill -9 $SRV 2> /dev/null; [ -n "$PLAIN" ] && kill -9 $PLAIN 2> /dev/null; rm -rf "$D"; }
trap cleanup EXIT
fail() { echo "not ok: $*"; tail -5 "$D/redis.log" 2> /dev/null; exit 1; }
cli() { timeout 60 redis-cli -s "$1" "${@:2}" | tr -d '\r'; }
val() { "$DUMP" show "$D/status" | awk -v k="$1" '$1 == k { print $2 }'; }
# RssAnon (KiB) of process $1 and of its children, added up.
tree_rss() {
	local sum=0 p kb
	for p in $1 $(cat /proc/$1/task/*/children 2> /dev/null); do
		kb=$(awk '/^RssAnon:/ { print $2 }' /proc/$p/status 2> /dev/null)
		sum=$((sum + ${kb:-0}))
	done
	echo $sum
}

"$DUMP" create "$D/status" || fail "status page"
# The saving child evicts too by default (one budget for the tree); the
# caller's USWAP_CHILD_EVICT=0 passes through, to compare.
LD_PRELOAD=$AGENT USWAP_RUN_BUDGET=$BUDGET USWAP_RUN_STATUS=$D/status \
	redis-server --port 0 --unixsocket "$D/s" --save "" --appendonly no --dir "$D" \
	--enable-debug-command yes > "$D/redis.log" 2>&1 &
SRV=$!
for i in $(seq 100); do [ "$(cli "$D/s" ping 2> /dev/null)" = PONG ] && break; sleep 0.1; done
[ "$(cli "$D/s" ping)" = PONG ] || fail "redis-server under the agent did not start"
[ "$(cli "$D/s" debug populate "$KEYS" key 1024)" = OK ] || fail "populate"
[ "$(val swapped_bytes)" -gt $((BUDGET * 2)) ] || fail "not paged: swapped $(val swapped_bytes)"
D1=$(cli "$D/s" debug digest)
# (an empty digest would make both digest checks below pass on nothing)
[ -n "$D1" ] || fail "no digest from redis-server under the agent"
redis-benchmark -s "$D/s" -t get -n 50000 -r "$KEYS" -d 1024 -P 32 -c 4 -q > "$D/bench.log" 2>&1 &
BENCH=$!
BEFORE=$(tree_rss $SRV) PEAK=0
[ "$(cli "$D/s" bgsave)" = "Background saving started" ] || fail "bgsave"
# The tree's resident anonymous memory (redis and its saving child) while it saves.
for i in $(seq 3000); do
	R=$(tree_rss $SRV)
	[ "$R" -gt "$PEAK" ] && PEAK=$R
	cli "$D/s" info persistence | grep -q '^rdb_bgsave_in_progress:0' && break
	sleep 0.1
done
echo "# tree RssAnon: $((BEFORE >> 10)) MiB before BGSAVE, peak $((PEAK >> 10)) MiB during it" \
	"(budget $((BUDGET >> 20)) MiB, $KEYS values of 1 KiB)"
cli "$D/s" info persistence | grep -q '^rdb_last_bgsave_status:ok' || fail "bgsave status"
# The child evicts (the default): the tree stays within four times the budget
# (RssAnon counts the pages parent and child still share in both, and those
# are kept out of the budget). A child keeping its pages (USWAP_CHILD_EVICT=0)
# holds the data set: the tree peaked at 209 MiB, 70-98 MiB with eviction.
if [ "${USWAP_CHILD_EVICT:-}" != 0 ] && [ $PEAK -gt $((4 * BUDGET >> 10)) ]; then
	fail "tree RssAnon peak $((PEAK >> 10)) MiB during BGSAVE, over 4x the budget: does the child evict?"
fi
wait $BENCH || fail "the reading client failed"
[ "$(cli "$D/s" debug digest)" = "$D1" ] || fail "digest changed under the agent"
redis-check-rdb "$D/dump.rdb" > "$D/check.log" 2>&1 || fail "redis-check-rdb: $(tail -3 "$D/check.log")"
for i in $(seq 100); do [ "$(val tree_exited)" = 1 ] && break; sleep 0.1; done
"$DUMP" show "$D/status" | sed 's/^/# /'
[ "$(val tree_forks)" = 1 ] || fail "the fork was not paged"
[ "$(val tree_shared_reads)" -gt 0 ] || fail "the child read no shared entry"
[ "$(val tree_shared_hits)" -gt 0 ] || fail "no swap-cache hit on a shared entry"
kill $SRV; wait $SRV 2> /dev/null; SRV=
redis-server --port 0 --unixsocket "$D/p" --save "" --appendonly no --dir "$D" \
	--dbfilename dump.rdb --enable-debug-command yes > "$D/plain.log" 2>&1 &
PLAIN=$!
for i in $(seq 300); do [ "$(cli "$D/p" ping 2> /dev/null)" = PONG ] && break; sleep 0.1; done
D3=$(cli "$D/p" debug digest)
[ "$D3" = "$D1" ] || fail "plain redis-server digest $D3, paged one had $D1"
echo "# digest $D1 (paged, at the fork) = $D3 (plain, from the RDB)"
echo "ok"
