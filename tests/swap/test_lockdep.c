// SPDX-License-Identifier: MIT
/*
 * test_lockdep.c - the debug lock checker and debug assertions, as the swap
 * code relies on them: recursion, order violations, unlocking a lock not
 * held and failed lockdep_assert_held() abort with both call sites; trylock
 * may go against the order; a chain in base/lock.h's order (folio,
 * cluster, device) passes; VM_BUG_ON aborts. Each violation runs in a forked child
 * whose death the parent checks. Only meaningful with -Ddebug_checks=true.
 *
 * Owns: nothing. Locking: the children break the rules on purpose.
 */
#include "swap_test.h"

static bool need_debug(void)
{
	if (USWAP_DEBUG_ENABLED)
		return true;
	test_skip("needs -Ddebug_checks=true (the lock checker)");
	return false;
}

/* Run @fn in a child: it must die by SIGABRT saying @what. */
static void expect_abort(void (*fn)(void *), void *arg, const char *what)
{
	char err[4096];
	int status;

	REQUIRE_EQ(t_run_child(fn, arg, &status, err, sizeof(err)), 0);
	CHECK(WIFSIGNALED(status));
	if (WIFSIGNALED(status))
		CHECK_EQ(WTERMSIG(status), SIGABRT);
	if (!strstr(err, what))
		test_fail(__FILE__, __LINE__, "child's stderr lacks \"%s\": %s", what, err);
}

/* Run @fn in a child: it must exit 0 without a word from the checker. */
static void expect_clean_exit(void (*fn)(void *), void *arg)
{
	char err[4096];
	int status;

	REQUIRE_EQ(t_run_child(fn, arg, &status, err, sizeof(err)), 0);
	CHECK(WIFEXITED(status));
	if (WIFEXITED(status))
		CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK(strstr(err, "lockdep") == NULL);
}

static void lock_twice(void *arg)
{
	struct ulock l;

	ulock_init(&l, LOCK_RANK_CLUSTER);
	ulock_lock(&l);
	ulock_lock(&l);
}

TEST(lockdep_catches_recursive_locking)
{
	if (need_debug())
		expect_abort(lock_twice, NULL, "recursive locking");
}

static void folio_under_cluster(void *arg)
{
	struct uswap *sw = arg;
	struct swap_cluster_info *ci = swap_cluster_lock(t_si(sw, 0), 1);
	struct folio *folio = folio_alloc(sw, 0);

	folio_lock(folio);
	folio_unlock(folio);
	swap_cluster_unlock(ci);
}

TEST(lockdep_catches_folio_lock_under_cluster_lock)
{
	struct uswap *sw = t_engine();

	if (!need_debug())
		return;
	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	expect_abort(folio_under_cluster, sw, "lock order violation");
}

static void two_clusters(void *arg)
{
	struct uswap *sw = arg;
	struct swap_cluster_info *a = swap_cluster_lock(t_si(sw, 0), 1);
	struct swap_cluster_info *b = swap_cluster_lock(t_si(sw, 0), 600);

	swap_cluster_unlock(b);
	swap_cluster_unlock(a);
}

TEST(lockdep_catches_two_locks_of_one_rank)
{
	struct uswap *sw = t_engine();

	if (!need_debug())
		return;
	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	expect_abort(two_clusters, sw, "lock order violation");
}

static void unlock_unheld(void *arg)
{
	struct ulock l;

	ulock_init(&l, LOCK_RANK_DEVICE);
	ulock_unlock(&l);
}

TEST(lockdep_catches_unlock_of_a_lock_not_held)
{
	if (need_debug())
		expect_abort(unlock_unheld, NULL, "unlock of a lock not held");
}

static void assert_unheld(void *arg)
{
	struct uswap *sw = arg;
	struct swap_cluster_info *ci = __swap_offset_to_cluster(t_si(sw, 0), 1);

	/* A locked accessor without the lock. */
	__swap_count(t_si(sw, 0), ci, 1);
}

TEST(lockdep_catches_a_locked_accessor_without_the_lock)
{
	struct uswap *sw = t_engine();

	if (!need_debug())
		return;
	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	expect_abort(assert_unheld, sw, "lock not held");
}

static void lock_in_order(void *arg)
{
	struct uswap *sw = arg;
	struct folio *folio = folio_alloc(sw, 0);
	struct swap_cluster_info *ci;

	folio_lock(folio);
	ci = swap_cluster_lock(t_si(sw, 0), 1);
	ulock_lock(&t_si(sw, 0)->lock);
	ulock_lock(&sw->swap_avail_lock);
	ulock_unlock(&sw->swap_avail_lock);
	ulock_unlock(&t_si(sw, 0)->lock);
	swap_cluster_unlock(ci);
	folio_unlock(folio);
	if (lockdep_depth() != 0)
		_exit(2);
}

TEST(lockdep_accepts_the_documented_order)
{
	struct uswap *sw = t_engine();

	if (!need_debug())
		return;
	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	expect_clean_exit(lock_in_order, sw);
}

static void trylock_against_order(void *arg)
{
	struct uswap *sw = arg;
	struct swap_cluster_info *ci = swap_cluster_lock(t_si(sw, 0), 1);
	struct folio *folio = folio_alloc(sw, 0);

	if (!folio_trylock(folio))
		_exit(2);
	folio_unlock(folio);
	swap_cluster_unlock(ci);
}

TEST(lockdep_lets_trylock_go_against_the_order)
{
	struct uswap *sw = t_engine();

	if (!need_debug())
		return;
	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	expect_clean_exit(trylock_against_order, sw);
}

static void free_cached_folio(void *arg)
{
	struct uswap *sw = arg;
	struct folio *folio = t_swap_folio(sw, 0);

	/* Dropping the cache's references behind its back frees a cached folio. */
	folio_unlock(folio);
	folio_put_refs(folio, 2);
}

TEST(debug_checks_catch_freeing_a_folio_in_the_swap_cache)
{
	struct uswap *sw = t_engine();

	if (!need_debug())
		return;
	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	expect_abort(free_cached_folio, sw, "BUG at");
}

static void swap_api_under_cluster_lock(void *arg)
{
	struct uswap *sw = arg;
	struct swap_cluster_info *ci = swap_cluster_lock(t_si(sw, 0), 1);

	/* Self-locking helpers must never run under a cluster lock. */
	swp_swapcount(sw, swp_entry(0, 700));
	swap_cluster_unlock(ci);
}

TEST(lockdep_catches_a_self_locking_helper_under_another_cluster_lock)
{
	struct uswap *sw = t_engine();

	if (!need_debug())
		return;
	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	/* Not the same lock, but the same rank: still an order violation. */
	expect_abort(swap_api_under_cluster_lock, sw, "lock order violation");
}
