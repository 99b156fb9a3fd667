// SPDX-License-Identifier: MIT
/*
 * test_hibernation_slots.c - hibernation's slots: swap_alloc_hibernation_slot()
 * (count 1, no folio), swap_free_hibernation_slot() (frees it and reclaims
 * a stray cache folio), and the closed extents [start, end] that
 * alloc_swapdev_block() records and free_all_swap_pages() releases, every
 * slot exactly once.
 *
 * Owns: nothing. Locking: single-threaded (hibernation is).
 */
#include "swap_test.h"

TEST(hibernation_slot_has_count_one_and_no_folio)
{
	struct uswap *sw = t_engine_with_device(1024);
	swp_entry_t e = swap_alloc_hibernation_slot(sw, 0);
	bool found;

	REQUIRE(e.val);
	CHECK_EQ(swp_type(e), 0);
	CHECK(swp_offset(e) != 0);
	CHECK_EQ(swp_swapcount(sw, e), 1);
	CHECK(swap_entry_swapped(sw, e));
	CHECK(!swap_cache_has_folio(sw, e));
	CHECK(!swap_cache_get_shadow(sw, e, &found) && !found);
	CHECK_EQ(t_inuse(sw, 0), 1);
	CHECK_EQ(get_nr_swap_pages(sw), 1022);
	swap_free_hibernation_slot(sw, e);
	CHECK_EQ(t_inuse(sw, 0), 0);
	CHECK_EQ(get_nr_swap_pages(sw), 1023);
}

TEST(hibernation_slots_are_distinct)
{
	struct uswap *sw = t_engine_with_device(1024);
	static swp_entry_t e[1023];
	static unsigned char seen[1024];

	memset(seen, 0, sizeof(seen));
	for (unsigned i = 0; i < ARRAY_SIZE(e); i++) {
		e[i] = swap_alloc_hibernation_slot(sw, 0);
		REQUIRE(e[i].val);
		CHECK_EQ(seen[swp_offset(e[i])], 0);
		seen[swp_offset(e[i])] = 1;
	}
	/* Full. */
	CHECK_EQ(swap_alloc_hibernation_slot(sw, 0).val, 0);
	for (unsigned i = 0; i < ARRAY_SIZE(e); i++)
		swap_free_hibernation_slot(sw, e[i]);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(hibernation_slot_of_a_missing_device_is_none)
{
	struct uswap *sw = t_engine_with_device(1024);

	CHECK_EQ(swap_alloc_hibernation_slot(sw, 1).val, 0);
	CHECK_EQ(swap_alloc_hibernation_slot(sw, 31).val, 0);
	CHECK_EQ(swap_alloc_hibernation_slot(sw, 32).val, 0);
	CHECK_EQ(swap_alloc_hibernation_slot(sw, 1000).val, 0);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(hibernation_slot_comes_from_the_device_asked_for)
{
	struct uswap *sw = t_engine();
	swp_entry_t e;

	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, 10), 0);
	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, 1), 1);
	/* Not the highest priority: the one named. */
	e = swap_alloc_hibernation_slot(sw, 1);
	CHECK_EQ(swp_type(e), 1);
	CHECK_EQ(t_inuse(sw, 0), 0);
	swap_free_hibernation_slot(sw, e);
}

TEST(hibernation_slot_free_reclaims_a_stray_cache_folio)
{
	struct uswap *sw = t_engine_with_device(1024);
	swp_entry_t e = swap_alloc_hibernation_slot(sw, 0);
	struct swap_cluster_info *ci;
	struct folio *f;
	bool new_folio;

	REQUIRE(e.val);
	/* Swap-in refuses hibernation slots (SWP_TB_HIBERNATION)... */
	CHECK(swap_cache_alloc_folio(sw, e, &new_folio) == NULL);
	/*
	 * ...but in Linux readahead may cache one by accident: put a folio
	 * there behind the checked add's back, and the free must reclaim it.
	 */
	f = folio_alloc_locked(sw, 0);
	REQUIRE(f);
	ci = swap_cluster_lock(sw->swap_info[0], swp_offset(e));
	__swap_cache_add_folio(ci, f, e);
	swap_cluster_unlock(ci);
	folio_unlock(f);
	swap_free_hibernation_slot(sw, e);
	CHECK(!folio_test_swapcache(f));
	CHECK_EQ(t_inuse(sw, 0), 0);
	CHECK_EQ(folio_ref_count(f), 1);
	folio_put(f);
}

TEST(hibernation_slot_double_free_is_refused_with_warn)
{
	struct uswap *sw = t_engine_with_device(1024);
	swp_entry_t e = swap_alloc_hibernation_slot(sw, 0), other;
	unsigned long warns;

	REQUIRE(e.val);
	swap_free_hibernation_slot(sw, e);
	other = t_alloc_entry(sw, 0);
	REQUIRE(other.val);
	warns = warn_count();
	swap_free_hibernation_slot(sw, swp_entry(0, 700));
	CHECK(warn_count() > warns);
	CHECK_EQ(t_inuse(sw, 0), 1);
	CHECK_EQ(swp_swapcount(sw, other), 1);
	swap_put_entries_direct(sw, other, 1);
}

/* Start @x on device 0 of @sw and take slots until none is left. Return: how many. */
static unsigned alloc_all_blocks(struct swsusp_extents *x, struct uswap *sw)
{
	unsigned n = 0;

	swsusp_extents_init(x, sw, 0);
	while (alloc_swapdev_block(x))
		n++;
	return n;
}

/* Every extent well formed: sorted, apart, and closed intervals. */
static void check_extents(struct swsusp_extents *x)
{
	for (unsigned i = 0; i < x->nr; i++) {
		CHECK(x->ext[i].start <= x->ext[i].end);
		/* Adjacent extents would have been merged. */
		if (i)
			CHECK(x->ext[i].start > x->ext[i - 1].end + 1);
		for (pgoff_t off = x->ext[i].start; off <= x->ext[i].end; off++)
			CHECK_EQ(swp_swapcount(x->sw, swp_entry(x->type, off)), 1);
	}
}

TEST(extents_merge_into_one_closed_interval)
{
	struct uswap *sw = t_engine_with_device(1024);
	struct swsusp_extents x;
	unsigned n;

	n = alloc_all_blocks(&x, sw);
	CHECK_EQ(n, 1023);
	check_extents(&x);
	/* The whole device, both ends included. */
	CHECK_EQ(x.nr, 1);
	CHECK_EQ(x.ext[0].start, 1);
	CHECK_EQ(x.ext[0].end, 1023);
	CHECK_EQ(free_all_swap_pages(&x), 1023);
	CHECK_EQ(x.nr, 0);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(extents_stay_apart_around_other_users_slots)
{
	struct uswap *sw = t_engine_with_device(1024);
	static swp_entry_t e[1023];
	struct swsusp_extents x;
	unsigned long warns = warn_count();
	unsigned n;

	/* Someone else keeps every sixth slot; hibernation gets runs of five. */
	REQUIRE(t_keep_every_sixth_slot(sw, e, ARRAY_SIZE(e)));
	n = alloc_all_blocks(&x, sw);
	CHECK_EQ(n, 1023 - 170);
	check_extents(&x);
	CHECK_EQ(x.nr, 171);
	for (unsigned i = 0; i < x.nr; i++) {
		CHECK_EQ(x.ext[i].start, 6 * i + 1);
		CHECK_EQ(x.ext[i].end, min(6 * i + 5, 1023UL));
	}
	CHECK_EQ(free_all_swap_pages(&x), n);
	CHECK_EQ(warn_count(), warns);
	/* Only hibernation's slots went. */
	CHECK_EQ(t_inuse(sw, 0), 170);
	for (unsigned i = 0; i < ARRAY_SIZE(e); i++) {
		if (swp_offset(e[i]) % 6)
			continue;
		CHECK_EQ(swp_swapcount(sw, e[i]), 1);
		swap_put_entries_direct(sw, e[i], 1);
	}
}

TEST(alloc_swapdev_block_on_a_full_device_is_zero)
{
	struct uswap *sw = t_engine_with_device(512);
	struct swsusp_extents x;
	unsigned n;

	n = alloc_all_blocks(&x, sw);
	CHECK_EQ(n, 511);
	CHECK_EQ(alloc_swapdev_block(&x), 0);
	CHECK_EQ(free_all_swap_pages(&x), 511);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(alloc_swapdev_block_survives_extent_allocation_failure)
{
	struct uswap *sw = t_engine_with_device(1024);
	struct swsusp_extents x;

	swsusp_extents_init(&x, sw, 0);
	/* The first block needs the extent array: fail that allocation. */
	arena_inject(sw->arena, 1, 0, 0);
	CHECK_EQ(alloc_swapdev_block(&x), 0);
	arena_inject(sw->arena, 0, 0, 0);
	CHECK_EQ(t_inuse(sw, 0), 0);
	CHECK(alloc_swapdev_block(&x) != 0);
	CHECK_EQ(free_all_swap_pages(&x), 1);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(free_all_swap_pages_of_nothing_frees_nothing)
{
	struct uswap *sw = t_engine_with_device(1024);
	struct swsusp_extents x;

	swsusp_extents_init(&x, sw, 0);
	CHECK_EQ(free_all_swap_pages(&x), 0);
	CHECK_EQ(x.nr, 0);
}
