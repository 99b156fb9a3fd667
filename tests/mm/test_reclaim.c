// SPDX-License-Identifier: MIT
/*
 * test_reclaim.c - reclaim and large folios: whole-folio swap-out and
 * swap-in (thp_swpout, thp_swpin), large swap-in of entries shared after
 * fork, the split when no large run of slots is left, the LRU's aging, the
 * front end's look at a batch before it is unmapped (reclaim_batch hook).
 *
 * Owns: nothing. Locking: single-threaded.
 */
#include "mm_test.h"

#define SYNC	  SWAP_DEV_SYNC_IO
#define THP	  4
#define THP_PAGES (1UL << THP)

static void fill_range(struct model_as *as, unsigned long first, unsigned long nr, uint64_t tag)
{
	for (unsigned long p = first; p < first + nr; p++)
		CHECK(!mt_fill(as, p, tag + p));
}

static void check_range(struct model_as *as, unsigned long first, unsigned long nr, uint64_t tag)
{
	for (unsigned long p = first; p < first + nr; p++)
		CHECK(mt_check(as, p, tag + p));
}

TEST(large_folio_swaps_out_and_in_whole)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, SYNC);
	unsigned long faults;
	struct model_as *as;

	REQUIRE(!model_as_create(m, 2 << 20, THP, &as));
	fill_range(as, 0, THP_PAGES, 100);
	CHECK(folio_test_large(pte_folio(mt_pte(as, 0))));
	CHECK_EQ(model_madvise(as, mt_addr(as, 0), THP_PAGES * PAGE_SIZE, MODEL_MADV_PAGEOUT),
		 THP_PAGES);
	CHECK_EQ(mt_stat(m, thp_swpout), 1);
	CHECK_EQ(mt_inuse(m, type), THP_PAGES);
	/* One fault brings the whole folio back and maps all of it. */
	faults = mt_stat(m, pgfault);
	CHECK(mt_check(as, 5, 105));
	CHECK_EQ(mt_stat(m, thp_swpin), 1);
	CHECK_EQ(model_as_resident(as), THP_PAGES);
	check_range(as, 0, THP_PAGES, 100);
	CHECK_EQ(mt_stat(m, pgfault), faults + 1);
	CHECK_EQ(mt_inuse(m, type), 0);
	model_destroy(m);
}

TEST(large_swapin_of_entries_shared_after_fork)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, SYNC);
	struct uswap *sw = model_engine(m);
	struct model_as *parent, *child;
	swp_entry_t entry;

	REQUIRE(!model_as_create(m, 2 << 20, THP, &parent));
	fill_range(parent, 16, THP_PAGES, 200);
	REQUIRE(!model_fork(parent, &child));
	/* Reclaim unmaps the shared folio from both: every slot has count 2. */
	CHECK_EQ(model_madvise(parent, mt_addr(parent, 16), THP_PAGES * PAGE_SIZE,
			       MODEL_MADV_PAGEOUT),
		 THP_PAGES);
	entry = mt_swap_entry(parent, 16);
	CHECK_EQ(mt_swap_entry(child, 16).val, entry.val);
	for (unsigned long i = 0; i < THP_PAGES; i++)
		CHECK_EQ(swp_swapcount(sw, (swp_entry_t){entry.val + i}), 2);
	CHECK(!pte_swp_exclusive(mt_pte(parent, 16)));
	CHECK_EQ(model_as_swapped(child), THP_PAGES);

	/* Phase II swaps shared entries in large too. */
	CHECK(mt_check(parent, 20, 220));
	CHECK_EQ(mt_stat(m, thp_swpin), 1);
	CHECK_EQ(mt_stat(m, thp_swpin_fallback), 0);
	CHECK_EQ(model_as_resident(parent), THP_PAGES);
	for (unsigned long i = 0; i < THP_PAGES; i++)
		CHECK_EQ(swp_swapcount(sw, (swp_entry_t){entry.val + i}), 1);
	/* The child finds the folio in the swap cache and maps it whole. */
	CHECK(mt_check(child, 31, 231));
	CHECK_EQ(mt_stat(m, swpin_cache_hit), 1);
	CHECK_EQ(model_as_resident(child), THP_PAGES);
	CHECK_EQ(mt_inuse(m, type), 0);
	check_range(parent, 16, THP_PAGES, 200);
	check_range(child, 16, THP_PAGES, 200);
	CHECK_EQ(mt_stat(m, thp_swpin), 1);
	model_destroy(m);
}

TEST(large_swapin_falls_back_when_range_is_broken)
{
	struct model *m = mt_model();
	struct model_as *as;

	mt_swapon(m, 1024, SYNC);
	REQUIRE(!model_as_create(m, 2 << 20, THP, &as));
	fill_range(as, 0, THP_PAGES, 300);
	REQUIRE(model_madvise(as, mt_addr(as, 0), THP_PAGES * PAGE_SIZE, MODEL_MADV_PAGEOUT) ==
		THP_PAGES);
	/* One entry gone: the range no longer holds the folio's run of slots. */
	REQUIRE(!model_madvise(as, mt_addr(as, 3), PAGE_SIZE, MODEL_MADV_DONTNEED));
	CHECK(mt_check(as, 0, 300));
	CHECK_EQ(mt_stat(m, thp_swpin), 0);
	CHECK_EQ(model_as_resident(as), 1);
	CHECK(mt_zero(as, 3));
	for (unsigned long p = 0; p < THP_PAGES; p++)
		if (p != 3)
			CHECK(mt_check(as, p, 300 + p));
	model_destroy(m);
}

TEST(large_folio_is_split_when_no_large_slots_are_left)
{
	struct model *m = mt_model();
	struct model_as *small, *large;

	mt_swapon(m, 1024, 0);
	REQUIRE(!model_as_create(m, 4 << 20, 0, &small));
	REQUIRE(!model_as_create(m, 2 << 20, THP, &large));
	/* Order-0 slots in both clusters, every other one freed again: fragmented. */
	fill_range(small, 0, 1000, 400);
	REQUIRE(model_madvise(small, mt_addr(small, 0), 1000 * PAGE_SIZE, MODEL_MADV_PAGEOUT) ==
		1000);
	for (unsigned long p = 0; p < 1000; p += 2)
		REQUIRE(!model_madvise(small, mt_addr(small, p), PAGE_SIZE, MODEL_MADV_DONTNEED));
	fill_range(large, 0, THP_PAGES, 500);
	CHECK_EQ(model_madvise(large, mt_addr(large, 0), THP_PAGES * PAGE_SIZE, MODEL_MADV_PAGEOUT),
		 THP_PAGES);
	CHECK_EQ(mt_stat(m, thp_swpout_fallback), 1);
	CHECK_EQ(mt_stat(m, thp_split_page), 1);
	CHECK_EQ(mt_stat(m, thp_swpout), 0);
	CHECK_EQ(model_as_swapped(large), THP_PAGES);
	check_range(large, 0, THP_PAGES, 500);
	for (unsigned long p = 1; p < 1000; p += 2)
		CHECK(mt_check(small, p, 400 + p));
	model_destroy(m);
}

TEST(split_keeps_shared_mappings_consistent)
{
	struct model *m = mt_model();
	struct model_as *small, *parent, *child;

	mt_swapon(m, 1024, 0);
	REQUIRE(!model_as_create(m, 4 << 20, 0, &small));
	REQUIRE(!model_as_create(m, 2 << 20, THP, &parent));
	fill_range(small, 0, 1000, 600);
	REQUIRE(model_madvise(small, mt_addr(small, 0), 1000 * PAGE_SIZE, MODEL_MADV_PAGEOUT) ==
		1000);
	for (unsigned long p = 0; p < 1000; p += 2)
		REQUIRE(!model_madvise(small, mt_addr(small, p), PAGE_SIZE, MODEL_MADV_DONTNEED));
	fill_range(parent, 0, THP_PAGES, 700);
	REQUIRE(!model_fork(parent, &child));
	CHECK_EQ(model_madvise(parent, mt_addr(parent, 0), THP_PAGES * PAGE_SIZE,
			       MODEL_MADV_PAGEOUT),
		 THP_PAGES);
	CHECK_EQ(mt_stat(m, thp_split_page), 1);
	CHECK_EQ(model_as_swapped(child), THP_PAGES);
	CHECK_EQ(swp_swapcount(model_engine(m), mt_swap_entry(child, 7)), 2);
	CHECK(!mt_fill(child, 7, 7777));
	check_range(parent, 0, THP_PAGES, 700);
	CHECK(mt_check(child, 7, 7777));
	CHECK(mt_check(child, 8, 708));
	model_destroy(m);
}

/*
 * A KSM stand-in that is a large folio stays one when reclaim splits it:
 * every piece is mapped read-only and copied on write, never written in
 * place. The swap device is full, so the pieces stay resident after the
 * split (no order-0 slot either) and the write meets a piece.
 */
TEST(split_keeps_a_ksm_page_ksm)
{
	struct model *m = mt_model();
	struct model_as *small, *large;
	struct model_info in;
	struct folio *piece;
	unsigned long cow;

	mt_swapon(m, 1024, SYNC);
	REQUIRE(!model_as_create(m, 4 << 20, 0, &small));
	REQUIRE(!model_as_create(m, 2 << 20, THP, &large));
	fill_range(large, 0, THP_PAGES, 600);
	REQUIRE(folio_test_large(pte_folio(mt_pte(large, 0))));
	REQUIRE(!model_ksm(large, mt_addr(large, 3)));
	fill_range(small, 0, 1023, 700);
	REQUIRE_EQ(model_madvise(small, mt_addr(small, 0), 1023 * PAGE_SIZE, MODEL_MADV_PAGEOUT),
		   1023);
	model_info(m, &in);
	REQUIRE_EQ(in.swap_free, 0);
	CHECK_EQ(model_madvise(large, mt_addr(large, 0), THP_PAGES * PAGE_SIZE, MODEL_MADV_PAGEOUT),
		 0);
	REQUIRE_EQ(mt_stat(m, thp_split_page), 1);
	REQUIRE(pte_present(mt_pte(large, 3)));
	piece = pte_folio(mt_pte(large, 3));
	REQUIRE(!folio_test_large(piece));
	CHECK(folio_test_ksm(piece));
	CHECK(!pte_write(mt_pte(large, 3)));
	cow = mt_stat(m, cow_ksm);
	CHECK(!mt_fill(large, 3, 0x333));
	CHECK_EQ(mt_stat(m, cow_ksm) - cow, 1);
	CHECK(pte_folio(mt_pte(large, 3)) != piece);
	CHECK(mt_check(large, 3, 0x333));
	for (unsigned long p = 0; p < THP_PAGES; p++)
		if (p != 3)
			CHECK(mt_check(large, p, 600 + p));
	check_range(small, 0, 1023, 700);
	CHECK_EQ(model_check(m), 0);
	model_destroy(m);
}

TEST(referenced_pages_are_activated_then_aged)
{
	struct model *m = mt_model();
	unsigned long resident = 0, activated;
	struct model_info info;
	struct model_as *as;

	mt_swapon(m, 4096, 0);
	REQUIRE(!model_as_create(m, 4 << 20, 0, &as));
	fill_range(as, 0, 64, 800);
	/* Every page is young: a first sweep only marks them referenced. */
	CHECK(model_reclaim(m, 32) >= 32);
	for (unsigned long p = 0; p < 64; p++) {
		if (!pte_present(mt_pte(as, p)))
			continue;
		CHECK(mt_check(as, p, 800 + p));
		resident++;
	}
	REQUIRE(resident >= 16);
	/* Referenced, and used again since: they go to the active list. */
	activated = mt_stat(m, pgactivate);
	model_reclaim(m, 1);
	CHECK(mt_stat(m, pgactivate) >= activated + resident);
	model_info(m, &info);
	CHECK(info.active + info.inactive == info.resident);
	/* Active pages are aged back to the inactive list and reclaimed in turn. */
	model_reclaim(m, 64);
	CHECK(mt_stat(m, pgdeactivate) > 0);
	CHECK_EQ(model_as_resident(as), 0);
	check_range(as, 0, 64, 800);
	model_destroy(m);
}

TEST(cache_only_folio_is_dropped_by_reclaim)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, 0);
	struct model_info info;
	struct model_as *as;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	fill_range(as, 0, 8, 900);
	REQUIRE(model_madvise(as, mt_addr(as, 0), 8 * PAGE_SIZE, MODEL_MADV_PAGEOUT) == 8);
	/* Readahead brings the neighbours into the cache; zap their entries. */
	CHECK(mt_check(as, 0, 900));
	REQUIRE(!model_madvise(as, mt_addr(as, 1), 7 * PAGE_SIZE, MODEL_MADV_DONTNEED));
	model_reclaim(m, 1024);
	model_info(m, &info);
	CHECK_EQ(info.resident, 0);
	CHECK_EQ(mt_inuse(m, type), 1);
	CHECK(mt_check(as, 0, 900));
	model_destroy(m);
}

TEST(full_swap_lets_memory_grow_past_the_budget)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 64, 0);
	struct model_info info;
	struct model_as *as;

	model_set_budget(m, 16);
	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	fill_range(as, 0, 300, 1000);
	/* 63 usable slots: the rest stays in memory, nothing is lost. */
	CHECK_EQ(mt_inuse(m, type), 63);
	model_info(m, &info);
	CHECK(info.resident >= 300 - 63);
	/*
	 * Once a pass freed nothing, reclaim waits for another batch of pages
	 * before scanning again: a few passes, not one per fault.
	 */
	CHECK(mt_stat(m, pgscan_anon) < 20 * 2 * 300);
	check_range(as, 0, 300, 1000);
	model_destroy(m);
}

/* What the reclaim_batch hook saw (batch_hook()). */
struct batch_seen {
	unsigned calls, folios, mapped;
};

static void batch_hook(struct list_head *folios, void *arg)
{
	struct batch_seen *seen = arg;
	struct folio *folio;

	seen->calls++;
	list_for_each_entry (folio, folios, lru) {
		seen->folios++;
		seen->mapped += folio_mapped(folio);
	}
}

/*
 * The front end's reclaim_batch hook sees each batch whole, before any of
 * its folios is unmapped (fork.c moves a child's pages out of it in one go
 * there); once unset, it is not called again.
 */
TEST(reclaim_batch_hook_sees_the_batch_before_unmap)
{
	struct model *m = mt_model();
	struct uswap *sw = model_engine(m);
	struct batch_seen seen = {0};
	struct model_as *as;

	mt_swapon(m, 1024, SYNC);
	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	fill_range(as, 0, 8, 300);
	mm_set_reclaim_batch(sw, batch_hook, &seen);
	CHECK_EQ(model_madvise(as, mt_addr(as, 0), 8 * PAGE_SIZE, MODEL_MADV_PAGEOUT), 8);
	CHECK_EQ(seen.calls, 1U);
	CHECK_EQ(seen.folios, 8U);
	CHECK_EQ(seen.mapped, 8U);
	CHECK_EQ(model_as_swapped(as), 8);
	mm_set_reclaim_batch(sw, NULL, NULL);
	check_range(as, 0, 8, 300);
	CHECK_EQ(model_madvise(as, mt_addr(as, 0), 8 * PAGE_SIZE, MODEL_MADV_PAGEOUT), 8);
	CHECK_EQ(seen.calls, 1U);
	check_range(as, 0, 8, 300);
	model_destroy(m);
}

TEST(shmem_pages_used_twice_are_activated)
{
	struct model *m = mt_model();
	uint64_t buf[PAGE_SIZE / 8];
	struct model_shmem *s;
	struct model_info info;

	mt_swapon(m, 1024, 0);
	REQUIRE(!model_shmem_create(m, 64, &s));
	for (unsigned long p = 0; p < 64; p++) {
		t_fill(buf, p);
		REQUIRE(!model_shmem_write(s, p << PAGE_SHIFT, buf, PAGE_SIZE));
	}
	for (unsigned long p = 0; p < 8; p++)
		REQUIRE(!model_shmem_read(s, p << PAGE_SHIFT, buf, PAGE_SIZE));
	model_info(m, &info);
	CHECK_EQ(info.active, 8);
	CHECK_EQ(model_reclaim(m, 56), 56);
	for (unsigned long p = 0; p < 8; p++)
		CHECK_EQ(model_shmem_swapped(s), 56);
	model_destroy(m);
}

/* Swap out an order-4 range of @as at page 0; *first: its first entry (0 on failure). */
static void swapped_large_range(struct model *m, struct model_as *as, uint64_t tag,
				swp_entry_t *first)
{
	swp_entry_t e;

	first->val = 0;
	fill_range(as, 0, THP_PAGES, tag);
	REQUIRE(folio_test_large(pte_folio(mt_pte(as, 0))));
	REQUIRE_EQ(model_madvise(as, mt_addr(as, 0), THP_PAGES * PAGE_SIZE, MODEL_MADV_PAGEOUT),
		   THP_PAGES);
	REQUIRE_EQ(mt_stat(m, thp_swpout), 1);
	e = mt_swap_entry(as, 0);
	for (unsigned long i = 1; i < THP_PAGES; i++)
		REQUIRE_EQ(mt_swap_entry(as, i).val, e.val + i);
	*first = e;
}

/*
 * A large swap-in whose read fails leaves nothing in the swap cache and
 * every slot its count and shadow: the fault returns -EIO, the next one
 * reads the whole range again.
 */
TEST(large_swapin_read_error_loses_nothing)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, SYNC);
	struct swap_dev *dev = model_engine(m)->swap_info[type]->dev;
	struct uswap *sw = model_engine(m);
	unsigned long shadow[THP_PAGES];
	struct model_as *as;
	swp_entry_t first;
	bool found;
	uint64_t v;

	REQUIRE(!model_as_create(m, 2 << 20, THP, &as));
	swapped_large_range(m, as, 800, &first);
	REQUIRE(first.val);
	for (unsigned long i = 0; i < THP_PAGES; i++) {
		shadow[i] = swap_cache_get_shadow(sw, (swp_entry_t){first.val + i}, &found);
		REQUIRE(found && shadow[i]);
	}
	ramdev_inject(dev, 1, 0, -EIO);
	CHECK_EQ(model_read_u64(as, mt_addr(as, 3), &v), -EIO);
	CHECK_EQ(mt_stat(m, swpin_fail), 1);
	CHECK_EQ(mt_stat(m, thp_swpin), 0);
	CHECK_EQ(mt_inuse(m, type), THP_PAGES);
	CHECK_EQ(model_as_swapped(as), THP_PAGES);
	for (unsigned long i = 0; i < THP_PAGES; i++) {
		swp_entry_t e = {first.val + i};

		CHECK(!swap_cache_has_folio(sw, e));
		CHECK_EQ(swap_cache_get_shadow(sw, e, &found), shadow[i]);
		CHECK_EQ(swp_swapcount(sw, e), 1);
	}
	CHECK(mt_check(as, 3, 803));
	CHECK_EQ(mt_stat(m, thp_swpin), 1);
	check_range(as, 0, THP_PAGES, 800);
	CHECK_EQ(mt_inuse(m, type), 0);
	CHECK_EQ(model_check(m), 0);
	model_destroy(m);
}

/* No memory for the large folio: the fault falls back to one page. */
TEST(large_swapin_allocation_failure_falls_back_to_a_page)
{
	struct model *m = mt_model();
	struct model_as *as;
	swp_entry_t first;

	mt_swapon(m, 1024, SYNC);
	REQUIRE(!model_as_create(m, 2 << 20, THP, &as));
	swapped_large_range(m, as, 900, &first);
	REQUIRE(first.val);
	/* The next allocation is the large folio's memory. */
	arena_inject(model_engine(m)->arena, 1, 0, 0);
	CHECK(mt_check(as, 3, 903));
	arena_inject(model_engine(m)->arena, 0, 0, 0);
	CHECK_EQ(mt_stat(m, thp_swpin_fallback), 1);
	CHECK_EQ(mt_stat(m, thp_swpin), 0);
	CHECK(pte_present(mt_pte(as, 3)) && !folio_test_large(pte_folio(mt_pte(as, 3))));
	CHECK_EQ(model_as_swapped(as), THP_PAGES - 1);
	check_range(as, 0, THP_PAGES, 900);
	CHECK_EQ(model_check(m), 0);
	model_destroy(m);
}
