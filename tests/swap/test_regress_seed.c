// SPDX-License-Identifier: MIT
/*
 * test_regress_seed.c - the bugs found in the seed's review
 * (docs/kernel-reference.md §10), kept forever, numbered as there:
 *   1. hibernation extents are closed intervals: every slot freed once;
 *   2. no self-locking helper under the cluster lock (the debug lock
 *      checker catches it: checked in a forked child);
 *   3. counts are put on the swap-cache folio at the page the entry named,
 *      never through a copy or another folio;
 *   4. per-slot records are written before deletion can free a slot;
 *   5. an emptied cluster keeps no overflow array.
 *
 * Owns: nothing. Locking: test 2 forks a child that breaks the lock rules.
 */
#include "swap_test.h"

/*
 * Hibernation slots in runs of five between slots someone else keeps, so
 * that there are many closed extents [start, end] of length 5 (and one of 3).
 */
TEST(regress_1_hibernation_extents_freed_exactly_once)
{
	struct uswap *sw = t_engine();
	static swp_entry_t e[1023];
	struct swsusp_extents x;
	unsigned long warns, n = 0, longest = 0;

	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	REQUIRE(t_keep_every_sixth_slot(sw, e, ARRAY_SIZE(e)));
	swsusp_extents_init(&x, sw, 0);
	while (alloc_swapdev_block(&x))
		n++;
	REQUIRE(x.nr > 100);
	for (unsigned i = 0; i < x.nr; i++)
		longest = max(longest, x.ext[i].end - x.ext[i].start + 1);
	REQUIRE(longest > 1);

	warns = warn_count();
	CHECK_EQ(free_all_swap_pages(&x), n);
	/* A free loop stopping before end leaks one slot per extent. */
	CHECK_EQ(t_inuse(sw, 0), 170);
	/* Freeing a slot twice would warn. */
	CHECK_EQ(warn_count(), warns);
	for (unsigned i = 0; i < ARRAY_SIZE(e); i++)
		if (swp_offset(e[i]) % 6 == 0)
			swap_put_entries_direct(sw, e[i], 1);
	CHECK_EQ(t_inuse(sw, 0), 0);
	CHECK_EQ(warn_count(), warns);
}

TEST(regress_1_hibernation_single_extent_freed_to_its_last_slot)
{
	struct uswap *sw = t_engine();
	struct swsusp_extents x;
	unsigned long warns, n = 0;

	REQUIRE_EQ(t_ramdev(sw, 512, T_SSD, -1), 0);
	swsusp_extents_init(&x, sw, 0);
	while (alloc_swapdev_block(&x))
		n++;
	REQUIRE_EQ(x.nr, 1);
	REQUIRE_EQ(x.ext[0].end, 511);
	warns = warn_count();
	CHECK_EQ(free_all_swap_pages(&x), n);
	CHECK_EQ(swp_swapcount(sw, swp_entry(0, 511)), 0);
	CHECK_EQ(t_inuse(sw, 0), 0);
	CHECK_EQ(warn_count(), warns);
}

struct lock_child {
	struct uswap *sw;
	swp_entry_t entry;
};

/* The seed's bug: a self-locking helper called under the cluster lock. */
static void call_swapped_under_cluster_lock(void *arg)
{
	struct lock_child *c = arg;
	struct swap_info_struct *si = t_si(c->sw, swp_type(c->entry));
	struct swap_cluster_info *ci = swap_cluster_lock(si, swp_offset(c->entry));

	swap_entry_swapped(c->sw, c->entry);
	swap_cluster_unlock(ci);
}

TEST(regress_2_self_locking_helper_under_cluster_lock_is_caught)
{
	struct uswap *sw = t_engine();
	struct lock_child c = {.sw = sw};
	char err[4096];
	int status;

	if (!USWAP_DEBUG_ENABLED) {
		test_skip("needs -Ddebug_checks=true (the lock checker)");
		return;
	}
	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	c.entry = swap_alloc_hibernation_slot(sw, 0);
	REQUIRE(c.entry.val);
	REQUIRE_EQ(t_run_child(call_swapped_under_cluster_lock, &c, &status, err, sizeof(err)), 0);
	CHECK(WIFSIGNALED(status));
	if (WIFSIGNALED(status))
		CHECK_EQ(WTERMSIG(status), SIGABRT);
	CHECK(strstr(err, "recursive locking") != NULL);
	CHECK(strstr(err, "cluster") != NULL);
	swap_free_hibernation_slot(sw, c.entry);
}

static void free_hibernation_slot_child(void *arg)
{
	struct lock_child *c = arg;

	swap_free_hibernation_slot(c->sw, c->entry);
	if (swp_swapcount(c->sw, c->entry) != 0 || t_inuse(c->sw, 0) != 0)
		_exit(3);
}

TEST(regress_2_free_hibernation_slot_takes_the_cluster_lock_once)
{
	struct uswap *sw = t_engine();
	struct lock_child c = {.sw = sw};
	char err[4096];
	int status;

	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	c.entry = swap_alloc_hibernation_slot(sw, 0);
	REQUIRE(c.entry.val);
	/* In a child, so that a lock checker abort is reported, not fatal. */
	REQUIRE_EQ(t_run_child(free_hibernation_slot_child, &c, &status, err, sizeof(err)), 0);
	CHECK(WIFEXITED(status));
	if (WIFEXITED(status))
		CHECK_EQ(WEXITSTATUS(status), 0);
	CHECK(strstr(err, "lockdep") == NULL);
	swap_free_hibernation_slot(sw, c.entry);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(regress_3_put_through_a_copy_not_in_swap_cache_is_refused)
{
	struct uswap *sw = t_engine();
	struct folio *orig, *copy;
	unsigned long warns;
	swp_entry_t e;

	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	orig = t_swap_folio(sw, 0);
	REQUIRE(orig);
	e = folio_swap_entry(orig);
	/* Two page tables map the entry. */
	REQUIRE_EQ(folio_dup_swap(orig, NULL), 0);
	REQUIRE_EQ(folio_dup_swap(orig, NULL), 0);
	folio_unlock(orig);
	copy = folio_alloc(sw, 0);
	REQUIRE(copy);
	folio_lock(copy);
	memcpy(copy->data, orig->data, PAGE_SIZE);
	warns = warn_count();
	CHECK_EQ(folio_put_swap(copy, folio_page(copy, 0)), -EINVAL);
	CHECK_EQ(folio_put_swap(copy, NULL), -EINVAL);
	CHECK(warn_count() > warns);
	CHECK_EQ(swp_swapcount(sw, e), 2);
	folio_unlock(copy);
	folio_put(copy);
	folio_lock(orig);
	/* The right way: on the swap-cache folio. */
	CHECK_EQ(folio_put_swap(orig, folio_page(orig, 0)), 0);
	CHECK_EQ(swp_swapcount(sw, e), 1);
	CHECK_EQ(folio_put_swap(orig, NULL), 0);
	CHECK(t_release(orig));
}

TEST(regress_3_put_through_a_copy_claiming_the_entry_is_refused)
{
	struct uswap *sw = t_engine();
	struct folio *orig, *copy;
	unsigned long warns;
	swp_entry_t e;

	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	orig = t_swap_folio(sw, 1);
	REQUIRE(orig);
	e = folio_swap_entry(orig);
	REQUIRE_EQ(folio_dup_swap(orig, NULL), 0);
	folio_unlock(orig);
	/* A copy that wrongly carries the original's swap state. */
	copy = folio_alloc(sw, 1);
	REQUIRE(copy);
	folio_lock(copy);
	atomic_store_relaxed(&copy->swap.val, e.val);
	folio_set_swapcache(copy);
	warns = warn_count();
	CHECK_EQ(folio_put_swap(copy, folio_page(copy, 1)), -EINVAL);
	CHECK_EQ(folio_put_swap(copy, NULL), -EINVAL);
	CHECK_EQ(folio_dup_swap(copy, NULL), -EINVAL);
	CHECK(warn_count() > warns);
	CHECK_EQ(swp_swapcount(sw, e), 1);
	CHECK_EQ(swp_swapcount(sw, (swp_entry_t){e.val + 1}), 1);
	folio_clear_swapcache(copy);
	atomic_store_relaxed(&copy->swap.val, 0UL);
	folio_unlock(copy);
	folio_put(copy);
	folio_lock(orig);
	CHECK_EQ(folio_put_swap(orig, NULL), 0);
	CHECK(t_release(orig));
}

TEST(regress_3_put_with_another_folios_page_is_refused)
{
	struct uswap *sw = t_engine();
	struct folio *a, *b;
	unsigned long warns;

	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	a = t_swap_folio(sw, 2);
	REQUIRE(a);
	REQUIRE_EQ(folio_dup_swap(a, NULL), 0);
	folio_unlock(a);
	b = t_swap_folio(sw, 2);
	REQUIRE(b);
	REQUIRE_EQ(folio_dup_swap(b, NULL), 0);
	/* The page a replaced entry referenced belongs to a, not b. */
	warns = warn_count();
	CHECK_EQ(folio_put_swap(b, folio_page(a, 1)), -EINVAL);
	CHECK(warn_count() > warns);
	for (unsigned long i = 0; i < 4; i++) {
		CHECK_EQ(swp_swapcount(sw, t_entry(a, i)), 1);
		CHECK_EQ(swp_swapcount(sw, t_entry(b, i)), 1);
	}
	CHECK_EQ(folio_put_swap(b, NULL), 0);
	CHECK(t_release(b));
	folio_lock(a);
	CHECK_EQ(folio_put_swap(a, NULL), 0);
	CHECK(t_release(a));
}

TEST(regress_3_put_at_the_page_the_entry_named)
{
	struct uswap *sw = t_engine();
	struct folio *folio;

	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	folio = t_swap_folio(sw, 2);
	REQUIRE(folio);
	REQUIRE_EQ(folio_dup_swap(folio, NULL), 0);
	REQUIRE_EQ(folio_dup_swap(folio, folio_page(folio, 2)), 0);
	CHECK_EQ(folio_put_swap(folio, folio_page(folio, 2)), 0);
	for (unsigned long i = 0; i < 4; i++)
		CHECK_EQ(swp_swapcount(sw, t_entry(folio, i)), 1);
	CHECK_EQ(folio_put_swap(folio, NULL), 0);
	CHECK(t_release(folio));
}

TEST(regress_4_delete_records_shadows_before_freeing_slots)
{
	struct uswap *sw = t_engine();
	struct folio *folio;
	swp_entry_t e;
	bool found;

	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	folio = t_swap_folio(sw, 1);
	REQUIRE(folio);
	e = folio_swap_entry(folio);
	REQUIRE_EQ(folio_dup_swap(folio, folio_page(folio, 0)), 0);
	swap_cache_del_folio(folio, 0x99);
	/* The counted slot keeps the record, the freed one carries none. */
	CHECK_EQ(swap_cache_get_shadow(sw, e, &found), 0x99);
	CHECK(found);
	CHECK(!swap_cache_get_shadow(sw, (swp_entry_t){e.val + 1}, &found) && !found);
	CHECK_EQ(t_inuse(sw, 0), 1);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	/* The freed slot is reusable at once and comes back clean. */
	folio_unlock(folio);
	folio_put(folio);
	swap_put_entries_direct(sw, e, 1);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(regress_5_emptied_cluster_keeps_no_overflow_array)
{
	struct uswap *sw = t_engine();
	struct swap_cluster_info *ci;
	struct folio *folio;
	swp_entry_t e;

	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	folio = t_swap_folio(sw, 0);
	REQUIRE(folio);
	e = folio_swap_entry(folio);
	ci = t_cluster(sw, e);
	REQUIRE_EQ(folio_dup_swap(folio, NULL), 0);
	swap_cache_del_folio(folio, 0);
	folio_unlock(folio);
	folio_put(folio);
	for (int i = 1; i < 100; i++)
		REQUIRE_EQ(swap_dup_entry_direct(sw, e), 0);
	REQUIRE(ci->extend_table != NULL);
	for (int i = 0; i < 100; i++)
		swap_put_entries_direct(sw, e, 1);
	CHECK_EQ(t_inuse(sw, 0), 0);
	CHECK(ci->extend_table == NULL);
	CHECK_EQ(ci->nr_ext, 0);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
}
