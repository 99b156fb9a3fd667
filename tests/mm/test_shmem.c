// SPDX-License-Identifier: MIT
/*
 * test_shmem.c - shmem files: pages written out by reclaim and read back,
 * slots freed at once on swap-in, truncate of swapped and resident pages.
 *
 * Owns: nothing. Locking: single-threaded.
 */
#include "mm_test.h"

static int shm_fill(struct model_shmem *s, unsigned long page, uint64_t tag)
{
	uint64_t buf[PAGE_SIZE / 8];

	t_fill(buf, tag);
	return model_shmem_write(s, page << PAGE_SHIFT, buf, PAGE_SIZE);
}

static bool shm_check(struct model_shmem *s, unsigned long page, uint64_t tag)
{
	uint64_t buf[PAGE_SIZE / 8];

	return !model_shmem_read(s, page << PAGE_SHIFT, buf, PAGE_SIZE) && t_check(buf, tag);
}

static bool shm_zero(struct model_shmem *s, unsigned long page)
{
	uint64_t buf[PAGE_SIZE / 8];

	if (model_shmem_read(s, page << PAGE_SHIFT, buf, PAGE_SIZE))
		return false;
	for (size_t i = 0; i < PAGE_SIZE / 8; i++)
		if (buf[i])
			return false;
	return true;
}

static void shmem_roundtrip(unsigned long flags)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, flags);
	struct model_info info;
	struct model_shmem *s;
	unsigned long out0;

	REQUIRE(!model_shmem_create(m, 128, &s));
	for (unsigned long p = 0; p < 64; p++)
		REQUIRE(!shm_fill(s, p, 7000 + p));
	CHECK(shm_zero(s, 100));
	out0 = mt_stat(m, pswpout);
	CHECK_EQ(model_reclaim(m, 1000), 64);
	CHECK_EQ(mt_stat(m, pswpout), out0 + 64);
	CHECK_EQ(model_shmem_swapped(s), 64);
	CHECK_EQ(mt_inuse(m, type), 64);
	model_info(m, &info);
	CHECK_EQ(info.resident, 0);
	for (unsigned long p = 0; p < 64; p++)
		CHECK(shm_check(s, p, 7000 + p));
	/* A file page in memory needs no slot: swap-in freed them all. */
	CHECK_EQ(model_shmem_swapped(s), 0);
	CHECK_EQ(mt_inuse(m, type), 0);
	model_destroy(m);
}

TEST(shmem_pages_round_trip_sync_io)
{
	shmem_roundtrip(SWAP_DEV_SYNC_IO);
}

TEST(shmem_pages_round_trip_readahead_device)
{
	shmem_roundtrip(0);
}

TEST(shmem_truncate_drops_swapped_and_resident_pages)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, 0);
	struct model_info info;
	struct model_shmem *s;

	REQUIRE(!model_shmem_create(m, 64, &s));
	for (unsigned long p = 0; p < 64; p++)
		REQUIRE(!shm_fill(s, p, p));
	REQUIRE(model_reclaim(m, 32) >= 32);
	CHECK(!model_shmem_truncate(s, 16, 48));
	CHECK_EQ(mt_inuse(m, type), model_shmem_swapped(s));
	for (unsigned long p = 16; p < 48; p++)
		CHECK(shm_zero(s, p));
	for (unsigned long p = 0; p < 64; p++)
		if (p < 16 || p >= 48)
			CHECK(shm_check(s, p, p));
	CHECK_EQ(model_shmem_truncate(s, 10, 65), -EINVAL);
	CHECK(!model_shmem_truncate(s, 0, 64));
	CHECK_EQ(mt_inuse(m, type), 0);
	model_reclaim(m, 1000);
	model_info(m, &info);
	CHECK_EQ(info.resident, 0);
	model_destroy(m);
}

TEST(shmem_write_error_keeps_the_page)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, 0);
	struct swap_dev *dev = model_engine(m)->swap_info[type]->dev;
	struct model_shmem *s;

	REQUIRE(!model_shmem_create(m, 8, &s));
	REQUIRE(!shm_fill(s, 2, 22));
	ramdev_inject(dev, 0, 1, -EIO);
	/* The failed write re-activates the folio; reclaim's next round writes it. */
	CHECK_EQ(model_reclaim(m, 8), 1);
	CHECK_EQ(mt_stat(m, swpout_fail), 1);
	CHECK_EQ(mt_stat(m, pgactivate), 1);
	CHECK_EQ(mt_stat(m, pswpout), 1);
	CHECK_EQ(model_shmem_swapped(s), 1);
	CHECK(shm_check(s, 2, 22));
	CHECK_EQ(model_shmem_swapped(s), 0);
	CHECK_EQ(mt_inuse(m, type), 0);
	model_destroy(m);
}

TEST(shmem_and_anon_share_the_budget)
{
	struct model *m = mt_model();
	struct model_info info;
	struct model_shmem *s;
	struct model_as *as;

	mt_swapon(m, 4096, SWAP_DEV_SYNC_IO);
	model_set_budget(m, 48);
	REQUIRE(!model_shmem_create(m, 256, &s));
	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	for (unsigned long p = 0; p < 200; p++) {
		REQUIRE(!shm_fill(s, p, 10000 + p));
		REQUIRE(!mt_fill(as, p, 20000 + p));
	}
	model_info(m, &info);
	CHECK(info.resident <= 48);
	for (unsigned long p = 0; p < 200; p++) {
		CHECK(shm_check(s, p, 10000 + p));
		CHECK(mt_check(as, p, 20000 + p));
	}
	model_destroy(m);
}
