// SPDX-License-Identifier: MIT
/*
 * test_hibernate.c - hibernation images: written to hibernation slots, read
 * back intact, every slot freed on release, beside ordinary swap use.
 *
 * Owns: nothing. Locking: single-threaded.
 */
#include "mm_test.h"

TEST(hibernate_writes_reads_back_and_frees_every_slot)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 2048, 0);
	unsigned long inuse;
	struct model_as *as;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	for (unsigned long p = 0; p < 200; p++)
		REQUIRE(!mt_fill(as, p, p));
	REQUIRE(model_madvise(as, mt_addr(as, 0), 80 * PAGE_SIZE, MODEL_MADV_PAGEOUT) == 80);
	inuse = mt_inuse(m, type);
	CHECK_EQ(model_hibernate(m, type), 120);
	CHECK_EQ(mt_inuse(m, type), inuse);
	for (unsigned long p = 0; p < 200; p++)
		CHECK(mt_check(as, p, p));
	model_destroy(m);
}

TEST(hibernate_image_too_big_for_the_device)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 64, 0);
	struct model_as *as;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	for (unsigned long p = 0; p < 100; p++)
		REQUIRE(!mt_fill(as, p, p));
	CHECK_EQ(model_hibernate(m, type), -ENOSPC);
	CHECK_EQ(mt_inuse(m, type), 0);
	CHECK_EQ(model_hibernate(m, type + 1), -EINVAL);
	model_destroy(m);
}

TEST(hibernation_image_api_round_trip)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, SWAP_DEV_SYNC_IO);
	struct uswap *sw = model_engine(m);
	static uint64_t pages[16][PAGE_SIZE / 8], back[PAGE_SIZE / 8];
	void *ptrs[16];
	struct hib_image img;

	for (int i = 0; i < 16; i++) {
		t_fill(pages[i], 50 + i);
		ptrs[i] = pages[i];
	}
	REQUIRE(!hib_image_write(sw, type, ptrs, 16, &img));
	CHECK_EQ(img.nr, 16);
	CHECK_EQ(mt_inuse(m, type), 16);
	for (unsigned long i = 0; i < 16; i++)
		CHECK(!hib_image_read(&img, i, back) && t_check(back, 50 + i));
	CHECK_EQ(hib_image_read(&img, 16, back), -EINVAL);
	CHECK_EQ(hib_image_release(&img), 16);
	CHECK_EQ(mt_inuse(m, type), 0);
	model_destroy(m);
}
