// SPDX-License-Identifier: MIT
/*
 * test_move.c - the mm hooks of the uffd front end, through the model:
 * move_page_range (mremap: present and swapped entries move, overlapping
 * ranges, stale destination entries zapped, counts kept) and mm_adopt_page
 * (a page taken under the mm layer: charged, mapped, swappable).
 *
 * Owns: nothing. Locking: single-threaded.
 */
#include "mm_test.h"

/* Pages [0, n) filled with tags base + i; every other one swapped out. */
static void fill_and_swap_half(struct model_as *as, unsigned long first, unsigned long n,
			       uint64_t base)
{
	for (unsigned long i = 0; i < n; i++)
		CHECK_EQ(mt_fill(as, first + i, base + i), 0);
	for (unsigned long i = 0; i < n; i += 2)
		model_madvise(as, mt_addr(as, first + i), PAGE_SIZE, MODEL_MADV_PAGEOUT);
}

TEST(move_carries_present_and_swapped_pages)
{
	struct model *m = mt_model();
	struct model_as *as;
	unsigned long swapped;

	mt_swapon(m, 1024, SWAP_DEV_SYNC_IO);
	REQUIRE(!model_as_create(m, 8 << 20, 0, &as));
	fill_and_swap_half(as, 0, 64, 1000);
	swapped = model_as_swapped(as);
	CHECK(swapped >= 16);
	/* To another 2 MiB block, far away. */
	REQUIRE_EQ(
		move_page_range(model_as_mm(as), mt_addr(as, 0), mt_addr(as, 1024), 64 * PAGE_SIZE),
		0);
	CHECK_EQ(model_as_swapped(as), swapped);
	for (unsigned long i = 0; i < 64; i++) {
		CHECK(mt_zero(as, i));
		CHECK(mt_check(as, 1024 + i, 1000 + i));
	}
	CHECK_EQ(model_check(m), 0);
	model_destroy(m);
}

TEST(move_overlapping_both_ways)
{
	struct model *m = mt_model();
	struct model_as *as;

	mt_swapon(m, 1024, SWAP_DEV_SYNC_IO);
	REQUIRE(!model_as_create(m, 8 << 20, 0, &as));
	fill_and_swap_half(as, 100, 64, 2000);
	/* Up by 10 pages (overlapping: walked from the end), then down by 30. */
	REQUIRE_EQ(move_page_range(model_as_mm(as), mt_addr(as, 100), mt_addr(as, 110),
				   64 * PAGE_SIZE),
		   0);
	for (unsigned long i = 0; i < 64; i++)
		CHECK(mt_check(as, 110 + i, 2000 + i));
	REQUIRE_EQ(
		move_page_range(model_as_mm(as), mt_addr(as, 110), mt_addr(as, 80), 64 * PAGE_SIZE),
		0);
	for (unsigned long i = 0; i < 64; i++)
		CHECK(mt_check(as, 80 + i, 2000 + i));
	for (unsigned long i = 144; i < 174; i++)
		CHECK(mt_zero(as, i));
	CHECK_EQ(model_check(m), 0);
	model_destroy(m);
}

TEST(move_zaps_stale_destination)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, SWAP_DEV_SYNC_IO);
	struct model_as *as;
	unsigned long inuse;

	REQUIRE(!model_as_create(m, 8 << 20, 0, &as));
	fill_and_swap_half(as, 0, 16, 3000);
	fill_and_swap_half(as, 600, 16, 4000); /* what the destination held */
	inuse = mt_inuse(m, type);
	REQUIRE_EQ(
		move_page_range(model_as_mm(as), mt_addr(as, 0), mt_addr(as, 600), 16 * PAGE_SIZE),
		0);
	/* The destination's own swapped pages lost their slots. */
	CHECK_EQ(mt_inuse(m, type), inuse - 8);
	for (unsigned long i = 0; i < 16; i++)
		CHECK(mt_check(as, 600 + i, 3000 + i));
	CHECK_EQ(move_page_range(model_as_mm(as), mt_addr(as, 0), mt_addr(as, 1), PAGE_SIZE + 1),
		 -EINVAL);
	CHECK_EQ(model_check(m), 0);
	model_destroy(m);
}

TEST(adopt_page_is_charged_and_swappable)
{
	struct model *m = mt_model();
	struct model_as *as;
	struct model_info info0, info1;
	uint64_t buf[PAGE_SIZE / 8];

	mt_swapon(m, 1024, SWAP_DEV_SYNC_IO);
	REQUIRE(!model_as_create(m, 4 << 20, 0, &as));
	model_info(m, &info0);
	REQUIRE_EQ(mm_adopt_page(model_as_mm(as), mt_addr(as, 5)), 0);
	model_info(m, &info1);
	CHECK_EQ(info1.resident, info0.resident + 1);
	CHECK(pte_present(mt_pte(as, 5)) && pte_write(mt_pte(as, 5)));
	/* Its data reads zero until the front end fills it. */
	CHECK(mt_zero(as, 5));
	CHECK_EQ(mm_adopt_page(model_as_mm(as), mt_addr(as, 5)), -EEXIST);
	CHECK_EQ(mm_adopt_page(model_as_mm(as), model_as_start(as) + model_as_size(as)), -EFAULT);
	/* Written, swapped out and back like any page. */
	CHECK_EQ(mt_fill(as, 5, 77), 0);
	CHECK_EQ(model_madvise(as, mt_addr(as, 5), PAGE_SIZE, MODEL_MADV_PAGEOUT), 1);
	CHECK(mt_swap_entry(as, 5).val != 0);
	CHECK(!model_read(as, mt_addr(as, 5), buf, PAGE_SIZE) && t_check(buf, 77));
	CHECK_EQ(model_check(m), 0);
	model_destroy(m);
}
