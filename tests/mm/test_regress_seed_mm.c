// SPDX-License-Identifier: MIT
/*
 * test_regress_seed_mm.c - the bugs of the seed's review
 * (docs/kernel-reference.md §10), end to end through the mm layer, one named
 * test each. Each fails if the buggy behaviour comes back.
 *
 * Owns: nothing. Locking: single-threaded.
 */
#include "mm_test.h"

static uint64_t hib_pages[64][PAGE_SIZE / 8];

/*
 * §10.1: hibernation extents are closed intervals; freeing [start, end) left
 * the last slot of every extent allocated. An image over scattered free
 * slots has many extents, each of which would leak one slot.
 */
TEST(regress_1_hibernation_frees_the_end_slot_of_every_extent)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 64, 0);
	struct uswap *sw = model_engine(m);
	void *ptrs[32];
	struct hib_image img;
	struct model_as *as;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	for (unsigned long p = 0; p < 60; p++)
		REQUIRE(!mt_fill(as, p, p));
	REQUIRE(model_madvise(as, mt_addr(as, 0), 60 * PAGE_SIZE, MODEL_MADV_PAGEOUT) == 60);
	for (unsigned long p = 0; p < 60; p += 2)
		REQUIRE(!model_madvise(as, mt_addr(as, p), PAGE_SIZE, MODEL_MADV_DONTNEED));
	REQUIRE(mt_inuse(m, type) == 30);
	for (int i = 0; i < 32; i++) {
		t_fill(hib_pages[i], 1000 + i);
		ptrs[i] = hib_pages[i];
	}
	REQUIRE(!hib_image_write(sw, type, ptrs, 32, &img));
	REQUIRE(img.extents.nr > 10);
	CHECK_EQ(mt_inuse(m, type), 62);
	CHECK_EQ(hib_image_release(&img), 32);
	CHECK_EQ(mt_inuse(m, type), 30);
	for (unsigned long p = 1; p < 60; p += 2)
		CHECK(mt_check(as, p, p));
	model_destroy(m);
}

/*
 * §10.2: swap_free_hibernation_slot() called a helper that takes the cluster
 * lock while holding it. Readahead can put a folio in the swap cache for a
 * hibernation slot; releasing the image must free the slot and reclaim that
 * stray folio without taking any lock twice (lockdep aborts if it does).
 */
TEST(regress_2_hibernation_slot_with_stray_cache_folio_is_freed)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, 0);
	struct uswap *sw = model_engine(m);
	unsigned long stray = 0;
	struct model_info info;
	swp_entry_t own;
	void *ptrs[4];
	struct hib_image img;
	struct model_as *as;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	REQUIRE(!mt_fill(as, 0, 77));
	REQUIRE(model_madvise(as, mt_addr(as, 0), PAGE_SIZE, MODEL_MADV_PAGEOUT) == 1);
	own = mt_swap_entry(as, 0);
	for (int i = 0; i < 4; i++) {
		t_fill(hib_pages[i], 2000 + i);
		ptrs[i] = hib_pages[i];
	}
	REQUIRE(!hib_image_write(sw, type, ptrs, 4, &img));
	/*
	 * The fault's readahead window covers the image's slots. Linux may
	 * cache folios there by accident; uswap's swap-in refuses hibernation
	 * slots (tests/swap/test_hibernation_slots.c plants such a stray folio and
	 * checks the free reclaims it). Either way, the release below must free
	 * every slot without taking the cluster lock twice.
	 */
	CHECK(mt_check(as, 0, 77));
	for (unsigned long i = 0; i < img.nr; i++)
		stray += swap_cache_has_folio(sw, swp_entry(type, img.offsets[i]));
	CHECK_EQ(stray, 0);
	CHECK_EQ(hib_image_release(&img), 4);
	for (unsigned long off = 1; off < 16; off++)
		CHECK(!swap_cache_has_folio(sw, swp_entry(type, off)) || swp_offset(own) == off);
	CHECK_EQ(mt_inuse(m, type), 1);
	/* The stray folios are nobody's now: reclaim drops them. */
	model_reclaim(m, 64);
	model_info(m, &info);
	CHECK(info.resident <= 1);
	CHECK(mt_check(as, 0, 77));
	model_destroy(m);
}

/*
 * §10.3: swapoff met a PG_ksm folio in the swap cache, mapped a copy, and put
 * the count on the copy, which is not in the swap cache (the wrong entry, or
 * none). The count must go from the swap-cache folio, at the page the
 * replaced entry named; a large folio makes "the page" matter.
 */
static void swapoff_puts_ksm_count_on_swapcache_page(unsigned order)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, 0);
	struct uswap *sw = model_engine(m);
	struct swap_dev *dev = sw->swap_info[type]->dev;
	unsigned long nr = 1UL << order, warns = warn_count();
	struct model_as *as;
	swp_entry_t entry;

	REQUIRE(!model_as_create(m, 2 << 20, order, &as));
	for (unsigned long p = 0; p < nr; p++)
		REQUIRE(!mt_fill(as, p, 3000 + p));
	REQUIRE(!model_ksm(as, mt_addr(as, 0)));
	/* A failed write keeps the KSM folio in the swap cache behind swap entries. */
	ramdev_inject(dev, 0, 1, -EIO);
	REQUIRE(model_madvise(as, mt_addr(as, 0), nr * PAGE_SIZE, MODEL_MADV_PAGEOUT) == 0);
	entry = mt_swap_entry(as, 0);
	REQUIRE(entry.val);
	REQUIRE(swap_cache_has_folio(sw, entry));
	REQUIRE(folio_test_ksm(swap_cache_get_folio(sw, entry)));
	folio_put(swap_cache_get_folio(sw, entry));
	folio_put(swap_cache_get_folio(sw, entry));
	for (unsigned long p = 0; p < nr; p++)
		CHECK_EQ(swp_swapcount(sw, (swp_entry_t){entry.val + p}), 1);

	CHECK(!model_swapoff(m, type, NULL, NULL));
	CHECK_EQ(warn_count(), warns);
	CHECK_EQ(model_as_swapped(as), 0);
	for (unsigned long p = 0; p < nr; p++) {
		CHECK(!folio_test_ksm(pte_folio(mt_pte(as, p))));
		CHECK(mt_check(as, p, 3000 + p));
	}
	model_destroy(m);
}

TEST(regress_3_swapoff_puts_ksm_count_on_swapcache_folio)
{
	swapoff_puts_ksm_count_on_swapcache_page(0);
}

TEST(regress_3_swapoff_puts_ksm_count_at_the_right_page_of_a_large_folio)
{
	swapoff_puts_ksm_count_on_swapcache_page(4);
}

/* The same KSM folio met by a fault rather than swapoff: the fault copies it too. */
TEST(regress_3_fault_on_ksm_swapcache_folio_maps_a_copy)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, 0);
	struct uswap *sw = model_engine(m);
	struct swap_dev *dev = sw->swap_info[type]->dev;
	unsigned long warns = warn_count();
	struct model_as *as;
	swp_entry_t entry;

	REQUIRE(!model_as_create(m, 2 << 20, 4, &as));
	for (unsigned long p = 0; p < 16; p++)
		REQUIRE(!mt_fill(as, p, 4000 + p));
	REQUIRE(!model_ksm(as, mt_addr(as, 0)));
	ramdev_inject(dev, 0, 1, -EIO);
	REQUIRE(model_madvise(as, mt_addr(as, 0), 16 * PAGE_SIZE, MODEL_MADV_PAGEOUT) == 0);
	entry = mt_swap_entry(as, 9);
	CHECK(mt_check(as, 9, 4009));
	CHECK_EQ(swp_swapcount(sw, entry), 0);
	CHECK_EQ(swp_swapcount(sw, (swp_entry_t){entry.val - 9}), 1);
	CHECK(!folio_test_ksm(pte_folio(mt_pte(as, 9))));
	for (unsigned long p = 0; p < 16; p++)
		CHECK(mt_check(as, p, 4000 + p));
	/* Every count is back to 0: only the cache holds the slots now. */
	for (unsigned long p = 0; p < 16; p++)
		CHECK_EQ(swp_swapcount(sw, (swp_entry_t){entry.val - 9 + p}), 0);
	CHECK_EQ(mt_inuse(m, type), 16);
	CHECK_EQ(warn_count(), warns);
	model_destroy(m);
}
