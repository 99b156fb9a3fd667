// SPDX-License-Identifier: MIT
/*
 * test_check.c - the invariant checker itself: swap_check_device() passes
 * on healthy devices and returns -EUCLEAN for each kind of corruption it
 * claims to catch (slot counts against cluster counts, invalid count bytes,
 * overflow bookkeeping, shadows on free slots, cached folios that do not
 * cover their slot, list membership, the free-cluster count, inuse_pages).
 * Every corruption is undone before the test ends, so the teardown check
 * passes.
 *
 * Owns: nothing. Locking: single-threaded; corruptions are written while
 * nothing else runs.
 */
#include "swap_test.h"

static void set_map(struct uswap *sw, swp_entry_t e, unsigned char v)
{
	atomic_store_relaxed(&t_si(sw, swp_type(e))->swap_map[swp_offset(e)], v);
}

TEST(check_passes_on_a_fresh_device)
{
	struct uswap *sw = t_engine_with_device(4 * 512);

	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	CHECK_EQ(swap_check_all(sw), 0);
}

TEST(check_passes_on_a_device_in_use)
{
	static const uint32_t bad[] = {3, 900};
	struct uswap *sw = t_engine();
	struct folio *cached, *big;
	swp_entry_t counted, over;

	REQUIRE_EQ(t_ramdev_bad(sw, 4 * 512, T_SSD, -1, bad, 2), 0);
	cached = t_swap_folio(sw, 0);
	REQUIRE(cached);
	folio_unlock(cached);
	big = t_swap_folio(sw, 4);
	REQUIRE(big);
	folio_unlock(big);
	counted = t_alloc_entry(sw, 1);
	over = t_alloc_entry(sw, 0);
	REQUIRE(counted.val && over.val);
	for (int i = 0; i < 70; i++)
		REQUIRE_EQ(swap_dup_entry_direct(sw, over), 0);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	for (int i = 0; i < 71; i++)
		swap_put_entries_direct(sw, over, 1);
	swap_put_entries_direct(sw, counted, 2);
	folio_lock(cached);
	CHECK(t_release(cached));
	folio_lock(big);
	CHECK(t_release(big));
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
}

TEST(check_catches_a_count_on_a_free_slot)
{
	struct uswap *sw = t_engine_with_device(4 * 512);
	swp_entry_t e = t_alloc_entry(sw, 0), free_slot;

	REQUIRE(e.val);
	free_slot = (swp_entry_t){e.val + 1};
	REQUIRE_EQ(t_map(sw, free_slot), 0);
	set_map(sw, free_slot, 1);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), -EUCLEAN);
	CHECK_EQ(swap_check_all(sw), -EUCLEAN);
	set_map(sw, free_slot, 0);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	swap_put_entries_direct(sw, e, 1);
}

TEST(check_catches_an_invalid_count_byte)
{
	struct uswap *sw = t_engine_with_device(4 * 512);
	swp_entry_t e = t_alloc_entry(sw, 0);

	REQUIRE(e.val);
	set_map(sw, e, SWAP_MAP_MAX + 2);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), -EUCLEAN);
	set_map(sw, e, 1);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	swap_put_entries_direct(sw, e, 1);
}

TEST(check_catches_an_overflow_byte_without_overflow_count)
{
	struct uswap *sw = t_engine_with_device(4 * 512);
	swp_entry_t e = t_alloc_entry(sw, 0);

	REQUIRE(e.val);
	REQUIRE(t_cluster(sw, e)->extend_table == NULL);
	set_map(sw, e, SWAP_MAP_EXT);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), -EUCLEAN);
	set_map(sw, e, 1);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	swap_put_entries_direct(sw, e, 1);
}

TEST(check_catches_a_wrong_overflow_slot_count)
{
	struct uswap *sw = t_engine_with_device(4 * 512);
	swp_entry_t e = t_alloc_entry(sw, 0);
	struct swap_cluster_info *ci;

	REQUIRE(e.val);
	for (int i = 0; i < 70; i++)
		REQUIRE_EQ(swap_dup_entry_direct(sw, e), 0);
	ci = t_cluster(sw, e);
	REQUIRE_EQ(ci->nr_ext, 1);
	ci->nr_ext = 2;
	CHECK_EQ(swap_check_device(t_si(sw, 0)), -EUCLEAN);
	ci->nr_ext = 1;
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	for (int i = 0; i < 71; i++)
		swap_put_entries_direct(sw, e, 1);
}

TEST(check_catches_a_wrong_cluster_count)
{
	struct uswap *sw = t_engine_with_device(4 * 512);
	swp_entry_t e = t_alloc_entry(sw, 0);
	struct swap_cluster_info *ci;

	REQUIRE(e.val);
	ci = t_cluster(sw, e);
	ci->count++;
	CHECK_EQ(swap_check_device(t_si(sw, 0)), -EUCLEAN);
	ci->count -= 2;
	CHECK_EQ(swap_check_device(t_si(sw, 0)), -EUCLEAN);
	ci->count++;
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	swap_put_entries_direct(sw, e, 1);
}

TEST(check_catches_wrong_inuse_pages)
{
	struct uswap *sw = t_engine_with_device(4 * 512);
	struct swap_info_struct *si = t_si(sw, 0);

	percpu_counter_add(&si->inuse, 1, 1);
	CHECK_EQ(swap_check_device(si), -EUCLEAN);
	percpu_counter_add(&si->inuse, -1, 1);
	CHECK_EQ(swap_check_device(si), 0);
}

TEST(check_catches_a_shadow_on_a_free_slot)
{
	struct uswap *sw = t_engine_with_device(4 * 512);
	swp_entry_t e = t_alloc_entry(sw, 0);
	struct swap_cluster_info *ci;
	unsigned off;

	REQUIRE(e.val);
	ci = t_cluster(sw, e);
	off = swap_cluster_offset(swp_offset(e)) + 1;
	REQUIRE(ci->table);
	atomic_store_relaxed(&ci->table[off], shadow_to_swp_tb(5));
	CHECK_EQ(swap_check_device(t_si(sw, 0)), -EUCLEAN);
	atomic_store_relaxed(&ci->table[off], 0UL);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	swap_put_entries_direct(sw, e, 1);
}

TEST(check_catches_a_cached_folio_that_does_not_cover_its_slot)
{
	struct uswap *sw = t_engine_with_device(4 * 512);
	struct folio *folio = t_swap_folio(sw, 1);
	swp_entry_t e;

	REQUIRE(folio);
	e = folio_swap_entry(folio);
	atomic_store_relaxed(&folio->swap.val, e.val + 2);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), -EUCLEAN);
	atomic_store_relaxed(&folio->swap.val, e.val);
	folio_clear_swapcache(folio);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), -EUCLEAN);
	folio_set_swapcache(folio);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	CHECK(t_release(folio));
}

TEST(check_catches_a_cached_folio_missing_references)
{
	struct uswap *sw = t_engine_with_device(4 * 512);
	struct folio *folio = t_swap_folio(sw, 2);

	REQUIRE(folio);
	/* The cache holds one reference per page. */
	folio_put_refs(folio, 3);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), -EUCLEAN);
	folio_ref_add(folio, 3);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	CHECK(t_release(folio));
}

TEST(check_catches_an_empty_cluster_keeping_a_table)
{
	struct uswap *sw = t_engine_with_device(4 * 512);
	swp_entry_t e = t_alloc_entry(sw, HPAGE_PMD_ORDER);
	struct swap_cluster_info *ci;

	REQUIRE(e.val);
	ci = t_cluster(sw, e);
	/* A cluster in use whose count says empty. */
	ci->count = 0;
	CHECK_EQ(swap_check_device(t_si(sw, 0)), -EUCLEAN);
	ci->count = SWAPFILE_CLUSTER;
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	swap_put_entries_direct(sw, e, SWAPFILE_CLUSTER);
}

TEST(check_catches_a_cluster_flag_that_disagrees_with_its_list)
{
	struct uswap *sw = t_engine_with_device(4 * 512);
	swp_entry_t e = t_alloc_entry(sw, 0);
	struct swap_cluster_info *ci;
	uint8_t flags;

	REQUIRE(e.val);
	ci = t_cluster(sw, e);
	flags = ci->flags;
	REQUIRE(flags != CLUSTER_FLAG_FULL);
	ci->flags = CLUSTER_FLAG_FULL;
	CHECK_EQ(swap_check_device(t_si(sw, 0)), -EUCLEAN);
	ci->flags = CLUSTER_FLAG_NONE;
	CHECK_EQ(swap_check_device(t_si(sw, 0)), -EUCLEAN);
	ci->flags = flags;
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	swap_put_entries_direct(sw, e, 1);
}

TEST(check_catches_a_wrong_frag_count)
{
	struct uswap *sw = t_engine_with_device(4 * 512);
	struct swap_info_struct *si = t_si(sw, 0);

	si->frag_cluster_nr[3]++;
	CHECK_EQ(swap_check_device(si), -EUCLEAN);
	si->frag_cluster_nr[3]--;
	CHECK_EQ(swap_check_device(si), 0);
}

TEST(check_catches_a_wrong_free_cluster_count)
{
	struct uswap *sw = t_engine_with_device(4 * 512);
	struct swap_info_struct *si = t_si(sw, 0);

	atomic_fetch_add_seq_cst(&si->nr_free_clusters, 1UL);
	CHECK_EQ(swap_check_device(si), -EUCLEAN);
	atomic_fetch_add_seq_cst(&si->nr_free_clusters, -1UL);
	CHECK_EQ(swap_check_device(si), 0);
}

TEST(check_catches_a_table_word_on_a_bad_slot)
{
	struct uswap *sw = t_engine_with_device(4 * 512);
	struct swap_cluster_info *ci = t_cluster(sw, swp_entry(0, 0));

	REQUIRE(ci->table);
	atomic_store_relaxed(&ci->table[0], shadow_to_swp_tb(1));
	CHECK_EQ(swap_check_device(t_si(sw, 0)), -EUCLEAN);
	atomic_store_relaxed(&ci->table[0], 0UL);
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
}
