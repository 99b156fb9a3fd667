// SPDX-License-Identifier: MIT
/*
 * test_fault.c - page faults: zero fill, swap-in through the swap cache on
 * SYNC_IO and readahead devices, racing swap-ins, lazy freeing and the
 * write fault that frees a kept slot, copy-on-write, read errors.
 *
 * Owns: nothing. Locking: the racing test uses two threads on one space.
 */
#include <pthread.h>

#include "mm_test.h"

#define SYNC SWAP_DEV_SYNC_IO

TEST(anon_fault_zero_fills)
{
	struct model *m = mt_model();
	struct model_as *as;

	REQUIRE(!model_as_create(m, 4 << 20, 0, &as));
	CHECK(mt_zero(as, 3));
	CHECK(!mt_fill(as, 3, 33));
	CHECK(mt_check(as, 3, 33));
	CHECK(mt_zero(as, 4));
	CHECK_EQ(model_as_resident(as), 2);
	CHECK_EQ(model_read_u64(as, model_as_start(as) + (4 << 20), &(uint64_t){0}), -EFAULT);
	model_destroy(m);
}

/* Swap a page out and in again on each kind of device. */
static void swap_roundtrip(unsigned long flags)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, flags);
	unsigned long in0, out0;
	struct model_as *as;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	REQUIRE(!mt_fill(as, 7, 7));
	out0 = mt_stat(m, pswpout);
	CHECK_EQ(model_madvise(as, mt_addr(as, 7), PAGE_SIZE, MODEL_MADV_PAGEOUT), 1);
	CHECK_EQ(mt_stat(m, pswpout), out0 + 1);
	CHECK_EQ(model_as_resident(as), 0);
	CHECK_EQ(model_as_swapped(as), 1);
	CHECK_EQ(mt_inuse(m, type), 1);
	in0 = mt_stat(m, pswpin);
	CHECK(mt_check(as, 7, 7));
	CHECK_EQ(mt_stat(m, pswpin), in0 + 1);
	CHECK_EQ(model_as_swapped(as), 0);
	model_destroy(m);
}

TEST(swap_roundtrip_sync_io)
{
	swap_roundtrip(SYNC);
}

TEST(swap_roundtrip_readahead_device)
{
	swap_roundtrip(0);
}

TEST(sync_io_swapin_frees_the_slot)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, SYNC);
	struct model_as *as;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	REQUIRE(!mt_fill(as, 0, 1));
	REQUIRE(model_madvise(as, mt_addr(as, 0), PAGE_SIZE, MODEL_MADV_PAGEOUT) == 1);
	CHECK(mt_check(as, 0, 1));
	/* should_try_to_free_swap: a SYNC_IO device frees the slot at once. */
	CHECK_EQ(mt_inuse(m, type), 0);
	CHECK(pte_write(mt_pte(as, 0)));
	model_destroy(m);
}

TEST(clean_page_is_not_written_again)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, 0);
	unsigned long out0;
	struct model_as *as;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	REQUIRE(!mt_fill(as, 5, 55));
	REQUIRE(model_madvise(as, mt_addr(as, 5), PAGE_SIZE, MODEL_MADV_PAGEOUT) == 1);
	out0 = mt_stat(m, pswpout);
	/* A read fault keeps the slot: the page is clean and mapped read-only. */
	CHECK(mt_check(as, 5, 55));
	CHECK_EQ(mt_inuse(m, type), 1);
	CHECK(pte_present(mt_pte(as, 5)) && !pte_write(mt_pte(as, 5)));
	CHECK_EQ(model_madvise(as, mt_addr(as, 5), PAGE_SIZE, MODEL_MADV_PAGEOUT), 1);
	CHECK_EQ(mt_stat(m, pswpout), out0);
	CHECK(mt_check(as, 5, 55));
	model_destroy(m);
}

TEST(write_fault_frees_the_kept_slot)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, 0);
	unsigned long out0;
	struct model_as *as;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	REQUIRE(!mt_fill(as, 9, 90));
	REQUIRE(model_madvise(as, mt_addr(as, 9), PAGE_SIZE, MODEL_MADV_PAGEOUT) == 1);
	REQUIRE(mt_check(as, 9, 90));
	REQUIRE(mt_inuse(m, type) == 1);
	CHECK(!mt_fill(as, 9, 91));
	CHECK_EQ(mt_inuse(m, type), 0);
	CHECK(pte_write(mt_pte(as, 9)) && pte_dirty(mt_pte(as, 9)));
	/* Dirty now: evicting it writes it again, to a new slot. */
	out0 = mt_stat(m, pswpout);
	CHECK_EQ(model_madvise(as, mt_addr(as, 9), PAGE_SIZE, MODEL_MADV_PAGEOUT), 1);
	CHECK_EQ(mt_stat(m, pswpout), out0 + 1);
	CHECK(mt_check(as, 9, 91));
	model_destroy(m);
}

struct race {
	struct model_as *as;
	pthread_barrier_t *barrier;
	bool ok;
};

static void *race_reader(void *arg)
{
	struct race *r = arg;

	pthread_barrier_wait(r->barrier);
	r->ok = mt_check(r->as, 11, 1111);
	return NULL;
}

/* Two threads fault the same swapped page: one swap-in, the same data. */
static void racing_swapin(unsigned long flags)
{
	struct model *m = mt_model();
	pthread_barrier_t barrier;
	struct race r[2];
	pthread_t t[2];
	struct model_as *as;
	unsigned long in0;

	mt_swapon(m, 1024, flags);
	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	pthread_barrier_init(&barrier, NULL, 2);
	for (int round = 0; round < 50; round++) {
		REQUIRE(!mt_fill(as, 11, 1111));
		REQUIRE(model_madvise(as, mt_addr(as, 11), PAGE_SIZE, MODEL_MADV_PAGEOUT) == 1);
		in0 = mt_stat(m, pswpin);
		for (int i = 0; i < 2; i++) {
			r[i] = (struct race){as, &barrier, false};
			pthread_create(&t[i], NULL, race_reader, &r[i]);
		}
		for (int i = 0; i < 2; i++) {
			pthread_join(t[i], NULL);
			CHECK(r[i].ok);
		}
		CHECK_EQ(mt_stat(m, pswpin), in0 + 1);
	}
	pthread_barrier_destroy(&barrier);
	model_destroy(m);
}

TEST(racing_faults_swap_in_once_sync_io)
{
	racing_swapin(SYNC);
}

TEST(racing_faults_swap_in_once_readahead_device)
{
	racing_swapin(0);
}

TEST(readahead_reads_the_window_and_counts_hits)
{
	struct model *m = mt_model();
	unsigned long ra, hit, window, in_window = 0;
	struct model_as *as;

	mt_swapon(m, 1024, 0);
	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	for (unsigned long p = 0; p < 8; p++)
		REQUIRE(!mt_fill(as, p, 100 + p));
	REQUIRE(model_madvise(as, mt_addr(as, 0), 8 * PAGE_SIZE, MODEL_MADV_PAGEOUT) == 8);
	/* The window is the aligned block of 8 slots around page 0's slot. */
	window = ALIGN_DOWN(swp_offset(mt_swap_entry(as, 0)), 8);
	for (unsigned long p = 1; p < 8; p++)
		in_window += swp_offset(mt_swap_entry(as, p)) / 8 == window / 8;
	REQUIRE(in_window >= 6);
	ra = mt_stat(m, swap_ra);
	hit = mt_stat(m, swap_ra_hit);
	CHECK(mt_check(as, 0, 100));
	CHECK_EQ(mt_stat(m, swap_ra), ra + in_window);
	for (unsigned long p = 1; p < 8; p++)
		CHECK(mt_check(as, p, 100 + p));
	CHECK_EQ(mt_stat(m, swap_ra_hit), hit + in_window);
	model_destroy(m);
}

TEST(copy_on_write_after_fork)
{
	struct model *m = mt_model();
	struct model_as *parent, *child;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &parent));
	REQUIRE(!mt_fill(parent, 1, 10));
	REQUIRE(!model_fork(parent, &child));
	CHECK(!pte_write(mt_pte(parent, 1)) && !pte_write(mt_pte(child, 1)));
	CHECK(!mt_fill(child, 1, 20));
	CHECK(mt_check(parent, 1, 10));
	CHECK(mt_check(child, 1, 20));
	/* The parent is the folio's only user now: its write reuses the page. */
	CHECK(!mt_fill(parent, 1, 11));
	CHECK(mt_check(parent, 1, 11));
	CHECK(mt_check(child, 1, 20));
	CHECK_EQ(mt_stat(m, cow_ksm), 0);
	model_exit(child);
	CHECK(mt_check(parent, 1, 11));
	model_destroy(m);
}

TEST(ksm_page_is_copied_on_write)
{
	struct model *m = mt_model();
	struct model_as *as;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	REQUIRE(!mt_fill(as, 2, 22));
	REQUIRE(!model_ksm(as, mt_addr(as, 2)));
	CHECK(!mt_fill(as, 2, 23));
	CHECK_EQ(mt_stat(m, cow_ksm), 1);
	CHECK(mt_check(as, 2, 23));
	model_destroy(m);
}

TEST(read_error_loses_nothing)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, SYNC);
	struct swap_dev *dev = model_engine(m)->swap_info[type]->dev;
	struct model_as *as;
	uint64_t v;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	REQUIRE(!mt_fill(as, 3, 3));
	REQUIRE(model_madvise(as, mt_addr(as, 3), PAGE_SIZE, MODEL_MADV_PAGEOUT) == 1);
	ramdev_inject(dev, 1, 0, -EIO);
	CHECK_EQ(model_read_u64(as, mt_addr(as, 3), &v), -EIO);
	CHECK_EQ(mt_stat(m, swpin_fail), 1);
	CHECK_EQ(model_as_swapped(as), 1);
	CHECK(mt_check(as, 3, 3));
	model_destroy(m);
}

/* A readahead read that fails leaves the slot its own shadow, not none. */
TEST(readahead_read_error_keeps_the_slot_shadow)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, 0);
	struct uswap *sw = model_engine(m);
	struct swap_dev *dev = sw->swap_info[type]->dev;
	unsigned long shadow, after;
	struct model_as *as;
	swp_entry_t entry;
	bool found;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	REQUIRE(!mt_fill(as, 3, 33));
	REQUIRE(model_madvise(as, mt_addr(as, 3), PAGE_SIZE, MODEL_MADV_PAGEOUT) == 1);
	entry = mt_swap_entry(as, 3);
	shadow = swap_cache_get_shadow(sw, entry, &found);
	REQUIRE(found && shadow);
	ramdev_inject(dev, 1, 0, -EIO);
	CHECK_EQ(model_read_u64(as, mt_addr(as, 3), &(uint64_t){0}), -EIO);
	after = swap_cache_get_shadow(sw, entry, &found);
	CHECK(found);
	CHECK_EQ(after, shadow);
	CHECK(mt_check(as, 3, 33));
	model_destroy(m);
}

TEST(write_error_keeps_the_page)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, 0);
	struct swap_dev *dev = model_engine(m)->swap_info[type]->dev;
	struct model_as *as;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	REQUIRE(!mt_fill(as, 4, 44));
	ramdev_inject(dev, 0, 1, -EIO);
	CHECK_EQ(model_madvise(as, mt_addr(as, 4), PAGE_SIZE, MODEL_MADV_PAGEOUT), 0);
	CHECK_EQ(mt_stat(m, swpout_fail), 1);
	/* Unmapped, but still in the swap cache, dirty, on the active list. */
	CHECK_EQ(model_as_swapped(as), 1);
	CHECK(swap_cache_has_folio(model_engine(m), mt_swap_entry(as, 4)));
	CHECK(mt_check(as, 4, 44));
	/* Once the device works again the page goes out as usual. */
	CHECK_EQ(model_madvise(as, mt_addr(as, 4), PAGE_SIZE, MODEL_MADV_PAGEOUT), 1);
	CHECK(mt_check(as, 4, 44));
	model_destroy(m);
}

TEST(pinned_page_stays_mapped_and_count_is_undone)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, 0);
	struct model_as *as;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	REQUIRE(!mt_fill(as, 6, 66));
	REQUIRE(!model_pin(as, mt_addr(as, 6), true));
	CHECK_EQ(model_madvise(as, mt_addr(as, 6), PAGE_SIZE, MODEL_MADV_PAGEOUT), 0);
	CHECK(pte_present(mt_pte(as, 6)));
	CHECK_EQ(model_as_swapped(as), 0);
	/* The folio kept its slot in the swap cache, with count 0 again. */
	CHECK_EQ(mt_inuse(m, type), 1);
	REQUIRE(!model_pin(as, mt_addr(as, 6), false));
	CHECK_EQ(model_madvise(as, mt_addr(as, 6), PAGE_SIZE, MODEL_MADV_PAGEOUT), 1);
	CHECK(mt_check(as, 6, 66));
	model_destroy(m);
}

TEST(refault_of_recent_eviction_activates)
{
	struct model *m = mt_model();
	unsigned long refault, activate;
	struct model_as *as;
	struct model_info info;

	mt_swapon(m, 1024, SYNC);
	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	REQUIRE(!mt_fill(as, 8, 8));
	REQUIRE(model_madvise(as, mt_addr(as, 8), PAGE_SIZE, MODEL_MADV_PAGEOUT) == 1);
	refault = mt_stat(m, workingset_refault_anon);
	activate = mt_stat(m, workingset_activate_anon);
	CHECK(mt_check(as, 8, 8));
	CHECK_EQ(mt_stat(m, workingset_refault_anon), refault + 1);
	CHECK_EQ(mt_stat(m, workingset_activate_anon), activate + 1);
	model_info(m, &info);
	CHECK_EQ(info.active, 1);
	model_destroy(m);
}

TEST(budget_reclaims_and_every_page_survives)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 4096, 0);
	struct model_info info;
	struct model_as *as;

	model_set_budget(m, 64);
	REQUIRE(!model_as_create(m, 4 << 20, 0, &as));
	for (unsigned long p = 0; p < 512; p++)
		REQUIRE(!mt_fill(as, p, 5000 + p));
	model_info(m, &info);
	CHECK(info.resident <= 64);
	CHECK(mt_inuse(m, type) >= 512 - 64);
	for (unsigned long p = 0; p < 512; p++)
		CHECK(mt_check(as, p, 5000 + p));
	CHECK(mt_stat(m, pgsteal_anon) >= 512 - 64);
	CHECK(!model_check(m));
	model_destroy(m);
}
