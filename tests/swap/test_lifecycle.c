// SPDX-License-Identifier: MIT
/*
 * test_lifecycle.c - when slots are freed (docs/kernel-reference.md §3, §4):
 * exactly when the count is 0 and no folio is cached. folio_free_swap()
 * (refused while any count is held or under writeback, else frees and
 * dirties), swap_put_entries_direct() (frees uncached slots, reclaims an
 * unmapped cache folio whose last count went), __try_to_reclaim_swap() and
 * its flags, swap_entry_swapped().
 *
 * Owns: nothing. Locking: single-threaded; folios locked as the API needs.
 */
#include "swap_test.h"

static struct uswap *engine_with_device(void)
{
	struct uswap *sw = t_engine();

	if (t_ramdev(sw, 4 * 512, T_SSD, -1) != 0)
		test_fail(__FILE__, __LINE__, "swapon failed");
	return sw;
}

TEST(folio_free_swap_frees_slots_and_dirties_the_folio)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 2);
	swp_entry_t e;
	bool found;

	REQUIRE(folio);
	e = folio_swap_entry(folio);
	CHECK(!folio_test_dirty(folio));
	CHECK_EQ(get_nr_swap_pages(sw), 2047 - 4);
	CHECK(folio_free_swap(folio));
	CHECK(folio_test_dirty(folio));
	CHECK(!folio_test_swapcache(folio));
	CHECK_EQ(folio_swap_entry(folio).val, 0);
	CHECK_EQ(folio_ref_count(folio), 1);
	CHECK_EQ(t_inuse(sw, 0), 0);
	CHECK_EQ(get_nr_swap_pages(sw), 2047);
	for (unsigned long i = 0; i < 4; i++) {
		CHECK(!swap_cache_has_folio(sw, (swp_entry_t){e.val + i}));
		CHECK(!swap_cache_get_shadow(sw, (swp_entry_t){e.val + i}, &found) && !found);
	}
	CHECK(t_cluster(sw, e)->table == NULL);
	folio_unlock(folio);
	folio_put(folio);
}

TEST(folio_free_swap_refuses_while_any_slot_has_a_count)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 3);

	REQUIRE(folio);
	CHECK_EQ(folio_dup_swap(folio, folio_page(folio, 5)), 0);
	CHECK(!folio_free_swap(folio));
	CHECK(folio_test_swapcache(folio));
	CHECK(!folio_test_dirty(folio));
	CHECK_EQ(t_inuse(sw, 0), 8);
	CHECK_EQ(folio_put_swap(folio, folio_page(folio, 5)), 0);
	CHECK(t_release(folio));
}

TEST(folio_free_swap_refuses_under_writeback)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 0);

	REQUIRE(folio);
	folio_set_writeback(folio);
	CHECK(!folio_free_swap(folio));
	CHECK(folio_test_swapcache(folio));
	CHECK_EQ(t_inuse(sw, 0), 1);
	folio_clear_writeback(folio);
	CHECK(t_release(folio));
}

TEST(folio_free_swap_refuses_a_folio_not_in_swap_cache)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = folio_alloc(sw, 0);

	REQUIRE(folio);
	folio_lock(folio);
	CHECK(!folio_free_swap(folio));
	CHECK(!folio_test_dirty(folio));
	folio_unlock(folio);
	folio_put(folio);
}

TEST(direct_put_frees_an_uncached_slot_at_zero)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = t_alloc_entry(sw, 0);

	REQUIRE(e.val);
	REQUIRE_EQ(swap_dup_entry_direct(sw, e), 0);
	swap_put_entries_direct(sw, e, 1);
	CHECK_EQ(t_inuse(sw, 0), 1);
	CHECK_EQ(swp_swapcount(sw, e), 1);
	swap_put_entries_direct(sw, e, 1);
	CHECK_EQ(t_inuse(sw, 0), 0);
	CHECK_EQ(t_map(sw, e), 0);
	CHECK_EQ(get_nr_swap_pages(sw), 2047);
}

TEST(direct_put_of_many_slots_frees_those_reaching_zero)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = t_alloc_entry(sw, 3);

	REQUIRE(e.val);
	REQUIRE_EQ(swap_dup_entry_direct(sw, (swp_entry_t){e.val + 2}), 0);
	REQUIRE_EQ(swap_dup_entry_direct(sw, (swp_entry_t){e.val + 6}), 0);
	swap_put_entries_direct(sw, e, 8);
	CHECK_EQ(t_inuse(sw, 0), 2);
	CHECK_EQ(swp_swapcount(sw, (swp_entry_t){e.val + 2}), 1);
	CHECK_EQ(swp_swapcount(sw, (swp_entry_t){e.val + 6}), 1);
	swap_put_entries_direct(sw, (swp_entry_t){e.val + 2}, 1);
	swap_put_entries_direct(sw, (swp_entry_t){e.val + 6}, 1);
	CHECK_EQ(t_inuse(sw, 0), 0);
	CHECK(t_cluster(sw, e)->table == NULL);
}

TEST(direct_put_to_zero_keeps_a_cached_slot_while_its_folio_is_locked)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 0);
	swp_entry_t e;

	REQUIRE(folio);
	e = folio_swap_entry(folio);
	CHECK_EQ(folio_dup_swap(folio, NULL), 0);
	/* We hold the folio lock: the reclaim attempt can only trylock it. */
	swap_put_entries_direct(sw, e, 1);
	CHECK_EQ(swp_swapcount(sw, e), 0);
	CHECK(folio_test_swapcache(folio));
	CHECK_EQ(t_inuse(sw, 0), 1);
	CHECK(t_release(folio));
}

TEST(direct_put_to_zero_reclaims_an_unmapped_cache_folio)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 1);
	swp_entry_t e;

	REQUIRE(folio);
	e = folio_swap_entry(folio);
	CHECK_EQ(folio_dup_swap(folio, NULL), 0);
	folio_unlock(folio);
	swap_put_entries_direct(sw, e, 1);
	/* Slot 1 still counted: the folio stays. */
	CHECK(folio_test_swapcache(folio));
	swap_put_entries_direct(sw, (swp_entry_t){e.val + 1}, 1);
	CHECK(!folio_test_swapcache(folio));
	CHECK(folio_test_dirty(folio));
	CHECK_EQ(folio_ref_count(folio), 1);
	CHECK_EQ(t_inuse(sw, 0), 0);
	folio_put(folio);
}

TEST(direct_put_to_zero_keeps_a_mapped_cache_folio)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 0);
	swp_entry_t e;

	REQUIRE(folio);
	e = folio_swap_entry(folio);
	CHECK_EQ(folio_dup_swap(folio, NULL), 0);
	atomic_store_relaxed(&folio->_mapcount, 1);
	folio_unlock(folio);
	swap_put_entries_direct(sw, e, 1);
	/* Mapped, and swap is not full: the cache keeps it (lazy freeing). */
	CHECK(folio_test_swapcache(folio));
	CHECK_EQ(t_inuse(sw, 0), 1);
	folio_lock(folio);
	atomic_store_relaxed(&folio->_mapcount, 0);
	CHECK(t_release(folio));
}

TEST(slot_is_free_exactly_when_count_is_zero_and_uncached)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 0);
	swp_entry_t e;

	REQUIRE(folio);
	e = folio_swap_entry(folio);
	/* count 0, cached: in use */
	CHECK_EQ(t_inuse(sw, 0), 1);
	CHECK_EQ(folio_dup_swap(folio, NULL), 0);
	/* count 1, uncached: in use */
	swap_cache_del_folio(folio, 0);
	CHECK_EQ(t_inuse(sw, 0), 1);
	folio_unlock(folio);
	folio_put(folio);
	/* count 0, uncached: free */
	swap_put_entries_direct(sw, e, 1);
	CHECK_EQ(t_inuse(sw, 0), 0);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
}

TEST(try_to_reclaim_swap_anyway_reclaims_a_cache_only_folio)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 2);
	swp_entry_t e;

	REQUIRE(folio);
	e = folio_swap_entry(folio);
	atomic_store_relaxed(&folio->_mapcount, 1);
	folio_unlock(folio);
	/* Any slot of the folio finds it; all of it is reclaimed. */
	CHECK_EQ(__try_to_reclaim_swap(t_si(sw, 0), swp_offset(e) + 3, TTRS_ANYWAY), 4);
	CHECK(!folio_test_swapcache(folio));
	CHECK(folio_test_dirty(folio));
	CHECK_EQ(t_inuse(sw, 0), 0);
	atomic_store_relaxed(&folio->_mapcount, 0);
	folio_put(folio);
}

TEST(try_to_reclaim_swap_unmapped_skips_a_mapped_folio)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 0);
	pgoff_t off;

	REQUIRE(folio);
	off = swp_offset(folio_swap_entry(folio));
	atomic_store_relaxed(&folio->_mapcount, 1);
	folio_unlock(folio);
	CHECK_EQ(__try_to_reclaim_swap(t_si(sw, 0), off, TTRS_UNMAPPED), 0);
	CHECK(!vm_swap_full(sw));
	CHECK_EQ(__try_to_reclaim_swap(t_si(sw, 0), off, TTRS_FULL), 0);
	CHECK(folio_test_swapcache(folio));
	atomic_store_relaxed(&folio->_mapcount, 0);
	CHECK_EQ(__try_to_reclaim_swap(t_si(sw, 0), off, TTRS_UNMAPPED), 1);
	CHECK(!folio_test_swapcache(folio));
	folio_put(folio);
}

TEST(try_to_reclaim_swap_full_reclaims_when_swap_is_half_used)
{
	struct uswap *sw = t_engine();
	struct folio *folio;
	swp_entry_t big;
	pgoff_t off;

	REQUIRE_EQ(t_ramdev(sw, 2 * 512, T_SSD, -1), 0);
	big = t_alloc_entry(sw, HPAGE_PMD_ORDER);
	REQUIRE(big.val);
	folio = t_swap_folio(sw, 0);
	REQUIRE(folio);
	off = swp_offset(folio_swap_entry(folio));
	atomic_store_relaxed(&folio->_mapcount, 1);
	folio_unlock(folio);
	CHECK(vm_swap_full(sw));
	CHECK_EQ(__try_to_reclaim_swap(t_si(sw, 0), off, TTRS_FULL), 1);
	CHECK(!folio_test_swapcache(folio));
	atomic_store_relaxed(&folio->_mapcount, 0);
	folio_put(folio);
	swap_put_entries_direct(sw, big, 1 << HPAGE_PMD_ORDER);
}

TEST(try_to_reclaim_swap_is_eagain_on_a_locked_folio)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 0);
	pgoff_t off;

	REQUIRE(folio);
	off = swp_offset(folio_swap_entry(folio));
	CHECK_EQ(__try_to_reclaim_swap(t_si(sw, 0), off, TTRS_ANYWAY), -EAGAIN);
	CHECK(folio_test_swapcache(folio));
	CHECK_EQ(folio_ref_count(folio), 2);
	CHECK(t_release(folio));
}

TEST(try_to_reclaim_swap_keeps_counted_or_written_back_folios)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 1);
	pgoff_t off;

	REQUIRE(folio);
	off = swp_offset(folio_swap_entry(folio));
	CHECK_EQ(folio_dup_swap(folio, folio_page(folio, 1)), 0);
	folio_unlock(folio);
	CHECK_EQ(__try_to_reclaim_swap(t_si(sw, 0), off, TTRS_ANYWAY), 0);
	CHECK(folio_test_swapcache(folio));
	folio_lock(folio);
	CHECK_EQ(folio_put_swap(folio, folio_page(folio, 1)), 0);
	folio_set_writeback(folio);
	folio_unlock(folio);
	CHECK_EQ(__try_to_reclaim_swap(t_si(sw, 0), off, TTRS_ANYWAY), 0);
	CHECK(folio_test_swapcache(folio));
	folio_lock(folio);
	folio_clear_writeback(folio);
	CHECK(t_release(folio));
}

TEST(try_to_reclaim_swap_on_an_empty_slot_does_nothing)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = t_alloc_entry(sw, 0);

	REQUIRE(e.val);
	CHECK_EQ(__try_to_reclaim_swap(t_si(sw, 0), swp_offset(e), TTRS_ANYWAY), 0);
	CHECK_EQ(__try_to_reclaim_swap(t_si(sw, 0), swp_offset(e) + 1, TTRS_ANYWAY), 0);
	CHECK_EQ(swp_swapcount(sw, e), 1);
	swap_put_entries_direct(sw, e, 1);
}

TEST(swap_entry_swapped_means_a_count_on_a_good_slot)
{
	static const uint32_t bad[] = {9};
	struct uswap *sw = t_engine();
	struct folio *folio;

	REQUIRE_EQ(t_ramdev_bad(sw, 1024, T_SSD, -1, bad, 1), 0);
	folio = t_swap_folio(sw, 0);
	REQUIRE(folio);
	/* Cache-only is not swapped. */
	CHECK(!swap_entry_swapped(sw, folio_swap_entry(folio)));
	CHECK_EQ(folio_dup_swap(folio, NULL), 0);
	CHECK(swap_entry_swapped(sw, folio_swap_entry(folio)));
	CHECK(!swap_entry_swapped(sw, swp_entry(0, 9)));
	CHECK(!swap_entry_swapped(sw, swp_entry(0, 0)));
	CHECK(!swap_entry_swapped(sw, swp_entry(0, 700)));
	CHECK(!swap_entry_swapped(sw, swp_entry(0, 5000)));
	CHECK_EQ(folio_put_swap(folio, NULL), 0);
	CHECK(t_release(folio));
}
