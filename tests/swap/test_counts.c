// SPDX-License-Identifier: MIT
/*
 * test_counts.c - swap counts (docs/kernel-reference.md §3, §4):
 * folio_dup_swap / folio_put_swap on all slots and on one subpage,
 * swap_dup_entry_direct, counts past 62 into the cluster's overflow array and
 * back (the array exists only while needed), swp_swapcount exact, -ENOMEM
 * when overflow storage cannot be had (with every slot rolled back), and
 * misuse refused with a WARN and no change: underflow, a folio not in the
 * swap cache, a subpage outside the folio, a direct dup of a count-0 slot.
 *
 * Owns: nothing. Locking: single-threaded; folios locked as the API needs.
 */
#include "swap_test.h"

/* Set every slot of a locked swap-cache folio to @count by dups from 0. */
static int dup_to(struct folio *folio, unsigned long i, unsigned count)
{
	for (unsigned c = 0; c < count; c++) {
		int err = folio_dup_swap(folio, folio_page(folio, i));

		if (err)
			return err;
	}
	return 0;
}

static int put_to_zero(struct folio *folio, unsigned long i)
{
	struct uswap *sw = folio->sw;

	while (swp_swapcount(sw, t_entry(folio, i)) > 0) {
		int err = folio_put_swap(folio, folio_page(folio, i));

		if (err)
			return err;
	}
	return 0;
}

static struct uswap *engine_with_device(void)
{
	struct uswap *sw = t_engine();

	if (t_ramdev(sw, 4 * 512, T_SSD, -1) != 0)
		test_fail(__FILE__, __LINE__, "swapon failed");
	return sw;
}

TEST(dup_and_put_on_all_slots_of_a_large_folio)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 3);

	REQUIRE(folio);
	CHECK_EQ(folio_dup_swap(folio, NULL), 0);
	CHECK_EQ(folio_dup_swap(folio, NULL), 0);
	for (unsigned long i = 0; i < 8; i++)
		CHECK_EQ(swp_swapcount(sw, t_entry(folio, i)), 2);
	CHECK_EQ(folio_put_swap(folio, NULL), 0);
	for (unsigned long i = 0; i < 8; i++) {
		CHECK_EQ(swp_swapcount(sw, t_entry(folio, i)), 1);
		CHECK(swap_entry_swapped(sw, t_entry(folio, i)));
	}
	CHECK_EQ(folio_put_swap(folio, NULL), 0);
	for (unsigned long i = 0; i < 8; i++)
		CHECK(!swap_entry_swapped(sw, t_entry(folio, i)));
	CHECK(t_release(folio));
}

TEST(dup_and_put_on_one_subpage)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 2);

	REQUIRE(folio);
	CHECK_EQ(folio_dup_swap(folio, folio_page(folio, 2)), 0);
	CHECK_EQ(folio_dup_swap(folio, folio_page(folio, 2)), 0);
	CHECK_EQ(folio_dup_swap(folio, folio_page(folio, 0)), 0);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 0)), 1);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 1)), 0);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 2)), 2);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 3)), 0);
	CHECK_EQ(folio_put_swap(folio, folio_page(folio, 2)), 0);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 2)), 1);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 0)), 1);
	CHECK_EQ(folio_put_swap(folio, folio_page(folio, 2)), 0);
	CHECK_EQ(folio_put_swap(folio, folio_page(folio, 0)), 0);
	CHECK(t_release(folio));
}

TEST(put_never_frees_a_slot)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 1);

	REQUIRE(folio);
	CHECK_EQ(folio_dup_swap(folio, NULL), 0);
	CHECK_EQ(folio_put_swap(folio, NULL), 0);
	/* Count 0 but cached: the slots stay allocated (lazy freeing). */
	CHECK_EQ(t_inuse(sw, 0), 2);
	CHECK(folio_test_swapcache(folio));
	CHECK(swap_cache_has_folio(sw, t_entry(folio, 0)));
	CHECK(swap_cache_has_folio(sw, t_entry(folio, 1)));
	CHECK(t_release(folio));
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(count_climbs_past_62_into_overflow_and_back)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 0);
	struct swap_cluster_info *ci;
	swp_entry_t e;

	REQUIRE(folio);
	e = folio_swap_entry(folio);
	ci = t_cluster(sw, e);
	REQUIRE_EQ(dup_to(folio, 0, SWAP_MAP_MAX), 0);
	CHECK_EQ(t_map(sw, e), SWAP_MAP_MAX);
	CHECK(ci->extend_table == NULL);
	CHECK_EQ(ci->nr_ext, 0);
	CHECK_EQ(folio_dup_swap(folio, NULL), 0);
	CHECK_EQ(t_map(sw, e), SWAP_MAP_EXT);
	CHECK(ci->extend_table != NULL);
	CHECK_EQ(ci->nr_ext, 1);
	CHECK_EQ(swp_swapcount(sw, e), 63);
	REQUIRE_EQ(dup_to(folio, 0, 1000 - 63), 0);
	CHECK_EQ(swp_swapcount(sw, e), 1000);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	while (swp_swapcount(sw, e) > SWAP_MAP_MAX)
		REQUIRE_EQ(folio_put_swap(folio, NULL), 0);
	/* Back inline: the overflow array is gone. */
	CHECK_EQ(t_map(sw, e), SWAP_MAP_MAX);
	CHECK(ci->extend_table == NULL);
	CHECK_EQ(ci->nr_ext, 0);
	CHECK_EQ(swp_swapcount(sw, e), 62);
	REQUIRE_EQ(put_to_zero(folio, 0), 0);
	CHECK(t_release(folio));
}

TEST(overflow_array_lives_while_any_slot_needs_it)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 1);
	struct swap_cluster_info *ci;

	REQUIRE(folio);
	ci = t_cluster(sw, folio_swap_entry(folio));
	REQUIRE_EQ(dup_to(folio, 0, 70), 0);
	REQUIRE_EQ(dup_to(folio, 1, 64), 0);
	CHECK_EQ(ci->nr_ext, 2);
	/* Slot 1 back to 62: slot 0 still needs the array. */
	REQUIRE_EQ(folio_put_swap(folio, folio_page(folio, 1)), 0);
	REQUIRE_EQ(folio_put_swap(folio, folio_page(folio, 1)), 0);
	CHECK_EQ(ci->nr_ext, 1);
	CHECK(ci->extend_table != NULL);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 0)), 70);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 1)), 62);
	while (swp_swapcount(sw, t_entry(folio, 0)) > SWAP_MAP_MAX)
		REQUIRE_EQ(folio_put_swap(folio, folio_page(folio, 0)), 0);
	CHECK_EQ(ci->nr_ext, 0);
	CHECK(ci->extend_table == NULL);
	REQUIRE_EQ(put_to_zero(folio, 0), 0);
	REQUIRE_EQ(put_to_zero(folio, 1), 0);
	CHECK(t_release(folio));
}

TEST(swp_swapcount_is_exact_at_every_boundary)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 0);
	swp_entry_t e;

	REQUIRE(folio);
	e = folio_swap_entry(folio);
	for (int c = 1; c <= 130; c++) {
		REQUIRE_EQ(folio_dup_swap(folio, NULL), 0);
		CHECK_EQ(swp_swapcount(sw, e), c);
	}
	for (int c = 129; c >= 0; c--) {
		REQUIRE_EQ(folio_put_swap(folio, NULL), 0);
		CHECK_EQ(swp_swapcount(sw, e), c);
	}
	CHECK(t_release(folio));
}

TEST(dup_is_enomem_when_overflow_storage_fails)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 0);
	struct swap_cluster_info *ci;
	swp_entry_t e;

	REQUIRE(folio);
	e = folio_swap_entry(folio);
	ci = t_cluster(sw, e);
	REQUIRE_EQ(dup_to(folio, 0, SWAP_MAP_MAX), 0);
	arena_inject(sw->arena, 1, 0, 0);
	CHECK_EQ(folio_dup_swap(folio, NULL), -ENOMEM);
	arena_inject(sw->arena, 0, 0, 0);
	CHECK_EQ(swp_swapcount(sw, e), SWAP_MAP_MAX);
	CHECK_EQ(t_map(sw, e), SWAP_MAP_MAX);
	CHECK(ci->extend_table == NULL);
	CHECK_EQ(ci->nr_ext, 0);
	/* Storage available again: it works. */
	CHECK_EQ(folio_dup_swap(folio, NULL), 0);
	CHECK_EQ(swp_swapcount(sw, e), 63);
	REQUIRE_EQ(put_to_zero(folio, 0), 0);
	CHECK(t_release(folio));
}

TEST(dup_all_enomem_rolls_back_every_slot)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 2);
	struct swap_cluster_info *ci;

	REQUIRE(folio);
	ci = t_cluster(sw, folio_swap_entry(folio));
	/* Slots 0 and 1 can still go up inline, slot 2 needs the overflow array. */
	REQUIRE_EQ(dup_to(folio, 0, 5), 0);
	REQUIRE_EQ(dup_to(folio, 1, SWAP_MAP_MAX - 1), 0);
	REQUIRE_EQ(dup_to(folio, 2, SWAP_MAP_MAX), 0);
	REQUIRE_EQ(dup_to(folio, 3, 1), 0);
	arena_inject(sw->arena, 1, 0, 0);
	CHECK_EQ(folio_dup_swap(folio, NULL), -ENOMEM);
	arena_inject(sw->arena, 0, 0, 0);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 0)), 5);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 1)), SWAP_MAP_MAX - 1);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 2)), SWAP_MAP_MAX);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 3)), 1);
	CHECK(ci->extend_table == NULL);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	for (unsigned long i = 0; i < 4; i++)
		REQUIRE_EQ(put_to_zero(folio, i), 0);
	CHECK(t_release(folio));
}

TEST(overflow_array_serves_the_whole_cluster)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 1);
	struct swap_cluster_info *ci;

	REQUIRE(folio);
	ci = t_cluster(sw, folio_swap_entry(folio));
	/* Slot 0 going past 62 allocates the array; slot 1 needs no second one. */
	REQUIRE_EQ(dup_to(folio, 0, SWAP_MAP_MAX), 0);
	REQUIRE_EQ(dup_to(folio, 1, SWAP_MAP_MAX), 0);
	arena_inject(sw->arena, 2, 0, 0);
	CHECK_EQ(folio_dup_swap(folio, NULL), 0);
	arena_inject(sw->arena, 0, 0, 0);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 0)), 63);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 1)), 63);
	CHECK_EQ(ci->nr_ext, 2);
	for (unsigned long i = 0; i < 2; i++)
		REQUIRE_EQ(put_to_zero(folio, i), 0);
	CHECK(ci->extend_table == NULL);
	CHECK(t_release(folio));
}

TEST(dup_direct_is_enomem_when_overflow_storage_fails)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 0);
	swp_entry_t e;

	REQUIRE(folio);
	e = folio_swap_entry(folio);
	REQUIRE_EQ(dup_to(folio, 0, 1), 0);
	for (int c = 1; c < SWAP_MAP_MAX; c++)
		REQUIRE_EQ(swap_dup_entry_direct(sw, e), 0);
	CHECK_EQ(swp_swapcount(sw, e), SWAP_MAP_MAX);
	arena_inject(sw->arena, 1, 0, 0);
	CHECK_EQ(swap_dup_entry_direct(sw, e), -ENOMEM);
	arena_inject(sw->arena, 0, 0, 0);
	CHECK_EQ(swp_swapcount(sw, e), SWAP_MAP_MAX);
	CHECK_EQ(swap_dup_entry_direct(sw, e), 0);
	CHECK_EQ(swp_swapcount(sw, e), SWAP_MAP_MAX + 1);
	swap_put_entries_direct(sw, e, 1);
	CHECK_EQ(swp_swapcount(sw, e), SWAP_MAP_MAX);
	REQUIRE_EQ(put_to_zero(folio, 0), 0);
	CHECK(t_release(folio));
}

TEST(dup_direct_needs_a_count)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 0);
	unsigned long warns;
	swp_entry_t e;

	REQUIRE(folio);
	e = folio_swap_entry(folio);
	/* Count 0 (cache-only): only folio_dup_swap may take it to 1. */
	warns = warn_count();
	CHECK_EQ(swap_dup_entry_direct(sw, e), -EINVAL);
	CHECK(warn_count() > warns);
	CHECK_EQ(swp_swapcount(sw, e), 0);
	CHECK_EQ(folio_dup_swap(folio, NULL), 0);
	CHECK_EQ(swap_dup_entry_direct(sw, e), 0);
	CHECK_EQ(swp_swapcount(sw, e), 2);
	REQUIRE_EQ(put_to_zero(folio, 0), 0);
	CHECK(t_release(folio));
}

TEST(dup_direct_refuses_free_and_bad_slots)
{
	static const uint32_t bad[] = {7};
	struct uswap *sw = t_engine();
	unsigned long warns;

	REQUIRE_EQ(t_ramdev_bad(sw, 1024, T_SSD, -1, bad, 1), 0);
	warns = warn_count();
	CHECK_EQ(swap_dup_entry_direct(sw, swp_entry(0, 100)), -EINVAL);
	CHECK_EQ(swap_dup_entry_direct(sw, swp_entry(0, 7)), -EINVAL);
	CHECK_EQ(swap_dup_entry_direct(sw, swp_entry(0, 600)), -EINVAL);
	CHECK_EQ(warn_count(), warns + 3);
	CHECK_EQ(t_map(sw, swp_entry(0, 100)), 0);
	CHECK_EQ(t_map(sw, swp_entry(0, 7)), SWAP_MAP_BAD);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(put_underflow_is_refused_with_warn)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 0);
	unsigned long warns;

	REQUIRE(folio);
	warns = warn_count();
	CHECK_EQ(folio_put_swap(folio, NULL), -EINVAL);
	CHECK(warn_count() > warns);
	CHECK_EQ(t_map(sw, folio_swap_entry(folio)), 0);
	CHECK(folio_test_swapcache(folio));
	CHECK_EQ(t_inuse(sw, 0), 1);
	CHECK(t_release(folio));
}

TEST(put_all_with_one_slot_at_zero_changes_no_slot)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 2);
	unsigned long warns;

	REQUIRE(folio);
	REQUIRE_EQ(dup_to(folio, 0, 2), 0);
	REQUIRE_EQ(dup_to(folio, 1, 1), 0);
	REQUIRE_EQ(dup_to(folio, 3, 1), 0);
	warns = warn_count();
	CHECK_EQ(folio_put_swap(folio, NULL), -EINVAL);
	CHECK(warn_count() > warns);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 0)), 2);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 1)), 1);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 2)), 0);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 3)), 1);
	for (unsigned long i = 0; i < 4; i++)
		REQUIRE_EQ(put_to_zero(folio, i), 0);
	CHECK(t_release(folio));
}

TEST(direct_put_underflow_is_refused_with_warn)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = t_alloc_entry(sw, 2);
	unsigned long warns;

	REQUIRE(e.val);
	/* Slot 3 goes to 0; a put of all four must then change nothing. */
	swap_put_entries_direct(sw, (swp_entry_t){e.val + 3}, 1);
	CHECK_EQ(t_inuse(sw, 0), 3);
	warns = warn_count();
	swap_put_entries_direct(sw, e, 4);
	CHECK(warn_count() > warns);
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(swp_swapcount(sw, (swp_entry_t){e.val + i}), 1);
	CHECK_EQ(t_inuse(sw, 0), 3);
	swap_put_entries_direct(sw, e, 3);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(direct_put_across_a_cluster_is_refused_with_warn)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t a = t_alloc_entry(sw, HPAGE_PMD_ORDER);
	swp_entry_t b = t_alloc_entry(sw, HPAGE_PMD_ORDER);
	swp_entry_t last;
	unsigned long warns;

	REQUIRE(a.val && b.val);
	REQUIRE_EQ(swp_offset(b), swp_offset(a) + SWAPFILE_CLUSTER);
	last = (swp_entry_t){a.val + SWAPFILE_CLUSTER - 1};
	warns = warn_count();
	swap_put_entries_direct(sw, last, 2);
	CHECK(warn_count() > warns);
	CHECK_EQ(swp_swapcount(sw, last), 1);
	CHECK_EQ(swp_swapcount(sw, b), 1);
	warns = warn_count();
	swap_put_entries_direct(sw, a, 0);
	CHECK(warn_count() > warns);
	CHECK_EQ(t_inuse(sw, 0), 2 * SWAPFILE_CLUSTER);
	swap_put_entries_direct(sw, a, SWAPFILE_CLUSTER);
	swap_put_entries_direct(sw, b, SWAPFILE_CLUSTER);
}

TEST(dup_and_put_refuse_a_folio_not_in_swap_cache)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = folio_alloc(sw, 0);
	unsigned long warns;

	REQUIRE(folio);
	folio_lock(folio);
	warns = warn_count();
	CHECK_EQ(folio_dup_swap(folio, NULL), -EINVAL);
	CHECK_EQ(folio_put_swap(folio, NULL), -EINVAL);
	CHECK_EQ(warn_count(), warns + 2);
	folio_unlock(folio);
	folio_put(folio);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(dup_and_put_refuse_an_unlocked_folio)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 0);
	unsigned long warns;
	int err;

	REQUIRE(folio);
	if (USWAP_DEBUG_ENABLED) {
		/* Debug builds abort on the lock assertion: not testable in-process. */
		test_skip("debug build: lockdep aborts first");
		CHECK(t_release(folio));
		return;
	}
	folio_unlock(folio);
	warns = warn_count();
	err = folio_dup_swap(folio, NULL);
	CHECK_EQ(err, -EINVAL);
	CHECK(warn_count() > warns);
	CHECK_EQ(swp_swapcount(sw, folio_swap_entry(folio)), 0);
	folio_lock(folio);
	CHECK(t_release(folio));
}

TEST(dup_and_put_refuse_a_subpage_outside_the_folio)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 1);
	unsigned long warns;

	REQUIRE(folio);
	warns = warn_count();
	CHECK_EQ(folio_dup_swap(folio, folio_page(folio, 2)), -EINVAL);
	CHECK_EQ(folio_put_swap(folio, folio_page(folio, 5)), -EINVAL);
	CHECK_EQ(warn_count(), warns + 2);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 0)), 0);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 1)), 0);
	/* The slot right after the folio is untouched too. */
	CHECK_EQ(t_map(sw, t_entry(folio, 2)), 0);
	CHECK(t_release(folio));
}

TEST(dup_at_the_count_limit_is_refused_with_warn)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 1);
	struct swap_cluster_info *ci;
	unsigned long warns;
	unsigned off;

	REQUIRE(folio);
	ci = t_cluster(sw, folio_swap_entry(folio));
	off = swap_cluster_offset(swp_offset(t_entry(folio, 1)));
	REQUIRE_EQ(dup_to(folio, 0, 3), 0);
	REQUIRE_EQ(dup_to(folio, 1, SWAP_MAP_MAX + 1), 0);
	/* Two billion dups take too long: put slot 1 at the limit directly. */
	ci->extend_table[off] = SWAP_COUNT_LIMIT;
	warns = warn_count();
	CHECK(folio_dup_swap(folio, NULL) < 0);
	CHECK(swap_dup_entry_direct(sw, t_entry(folio, 1)) < 0);
	CHECK(warn_count() > warns);
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 1)), SWAP_COUNT_LIMIT);
	/* Slot 0 went up first and was rolled back. */
	CHECK_EQ(swp_swapcount(sw, t_entry(folio, 0)), 3);
	ci->extend_table[off] = SWAP_MAP_MAX + 1;
	REQUIRE_EQ(put_to_zero(folio, 0), 0);
	REQUIRE_EQ(put_to_zero(folio, 1), 0);
	CHECK(t_release(folio));
}
