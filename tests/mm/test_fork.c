// SPDX-License-Identifier: MIT
/*
 * test_fork.c - fork, zap (MADV_DONTNEED) and exit: swap counts follow the
 * page tables that hold the entries, and go back to 0 with them.
 *
 * Owns: nothing. Locking: single-threaded.
 */
#include "mm_test.h"

/* A page swapped out while shared by a forked pair: count 2, either side may go first. */
static void shared_swapped_page_survives_exit(bool parent_first)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, 0);
	struct uswap *sw = model_engine(m);
	struct model_as *parent, *child, *survivor;
	swp_entry_t entry;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &parent));
	REQUIRE(!mt_fill(parent, 12, 1212));
	REQUIRE(!model_fork(parent, &child));
	CHECK_EQ(model_madvise(child, mt_addr(child, 12), PAGE_SIZE, MODEL_MADV_PAGEOUT), 1);
	entry = mt_swap_entry(parent, 12);
	REQUIRE(entry.val);
	CHECK_EQ(mt_swap_entry(child, 12).val, entry.val);
	CHECK_EQ(swp_swapcount(sw, entry), 2);
	CHECK_EQ(mt_inuse(m, type), 1);
	if (parent_first) {
		model_exit(parent);
		survivor = child;
	} else {
		model_exit(child);
		survivor = parent;
	}
	CHECK_EQ(swp_swapcount(sw, entry), 1);
	CHECK_EQ(mt_inuse(m, type), 1);
	CHECK(mt_check(survivor, 12, 1212));
	model_exit(survivor);
	CHECK_EQ(mt_inuse(m, type), 0);
	model_destroy(m);
}

TEST(shared_swapped_page_survives_parent_exit)
{
	shared_swapped_page_survives_exit(true);
}

TEST(shared_swapped_page_survives_child_exit)
{
	shared_swapped_page_survives_exit(false);
}

TEST(fork_dups_swap_entries_and_drops_exclusive)
{
	struct model *m = mt_model();
	struct uswap *sw = model_engine(m);
	struct model_as *parent, *child;
	swp_entry_t entry;

	mt_swapon(m, 1024, 0);
	REQUIRE(!model_as_create(m, 2 << 20, 0, &parent));
	REQUIRE(!mt_fill(parent, 3, 33));
	REQUIRE(model_madvise(parent, mt_addr(parent, 3), PAGE_SIZE, MODEL_MADV_PAGEOUT) == 1);
	CHECK(pte_swp_exclusive(mt_pte(parent, 3)));
	entry = mt_swap_entry(parent, 3);
	CHECK_EQ(swp_swapcount(sw, entry), 1);
	REQUIRE(!model_fork(parent, &child));
	CHECK_EQ(swp_swapcount(sw, entry), 2);
	CHECK(!pte_swp_exclusive(mt_pte(parent, 3)));
	CHECK(!pte_swp_exclusive(mt_pte(child, 3)));
	CHECK_EQ(model_as_swapped(child), 1);
	/* Each side swaps in and writes its own copy. */
	CHECK(!mt_fill(child, 3, 34));
	CHECK(mt_check(parent, 3, 33));
	CHECK(mt_check(child, 3, 34));
	model_destroy(m);
}

TEST(zap_drops_counts_and_frees_slots)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 2048, 0);
	struct model_as *as;

	REQUIRE(!model_as_create(m, 4 << 20, 0, &as));
	for (unsigned long p = 0; p < 600; p++)
		REQUIRE(!mt_fill(as, p, p));
	REQUIRE(model_madvise(as, mt_addr(as, 0), 600 * PAGE_SIZE, MODEL_MADV_PAGEOUT) == 600);
	CHECK_EQ(mt_inuse(m, type), 600);
	/* A range across tables and clusters, half of it. */
	CHECK(!model_madvise(as, mt_addr(as, 100), 400 * PAGE_SIZE, MODEL_MADV_DONTNEED));
	CHECK_EQ(mt_inuse(m, type), 200);
	CHECK_EQ(model_as_swapped(as), 200);
	CHECK(mt_zero(as, 100));
	CHECK(mt_zero(as, 499));
	CHECK(mt_check(as, 99, 99));
	CHECK(mt_check(as, 500, 500));
	CHECK_EQ(model_madvise(as, mt_addr(as, 0), PAGE_SIZE, 7), -EINVAL);
	CHECK_EQ(model_madvise(as, mt_addr(as, 0) + 1, PAGE_SIZE, MODEL_MADV_DONTNEED), -EINVAL);
	model_destroy(m);
}

TEST(exit_frees_pages_and_slots)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, 0);
	struct model_info info;
	struct model_as *as;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	for (unsigned long p = 0; p < 100; p++)
		REQUIRE(!mt_fill(as, p, p));
	REQUIRE(model_madvise(as, mt_addr(as, 0), 50 * PAGE_SIZE, MODEL_MADV_PAGEOUT) == 50);
	model_exit(as);
	model_info(m, &info);
	CHECK_EQ(info.resident, 0);
	CHECK_EQ(mt_inuse(m, type), 0);
	CHECK_EQ(pool_live(&model_engine(m)->folio_pool), 0);
	model_destroy(m);
}

TEST(grandchildren_share_one_family)
{
	struct model *m = mt_model();
	struct uswap *sw = model_engine(m);
	struct model_as *a, *b, *c;

	mt_swapon(m, 1024, SWAP_DEV_SYNC_IO);
	REQUIRE(!model_as_create(m, 2 << 20, 0, &a));
	REQUIRE(!mt_fill(a, 0, 1));
	REQUIRE(!model_fork(a, &b));
	REQUIRE(!model_fork(b, &c));
	model_exit(a);
	/* Reclaim finds the folio's mappings in both remaining members. */
	CHECK_EQ(model_madvise(c, mt_addr(c, 0), PAGE_SIZE, MODEL_MADV_PAGEOUT), 1);
	CHECK_EQ(swp_swapcount(sw, mt_swap_entry(b, 0)), 2);
	CHECK(mt_check(b, 0, 1));
	CHECK(mt_check(c, 0, 1));
	model_destroy(m);
}

TEST(fork_failure_leaves_parent_intact)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 1024, 0);
	struct model_as *parent, *child = NULL;
	int err;

	REQUIRE(!model_as_create(m, 16 << 20, 0, &parent));
	for (unsigned long p = 0; p < 8; p++)
		REQUIRE(!mt_fill(parent, p * 512, p));
	REQUIRE(model_madvise(parent, mt_addr(parent, 0), 8 * 512 * PAGE_SIZE,
			      MODEL_MADV_PAGEOUT) == 8);
	/* The sixth allocation is the child's second table: one block is copied, then undone. */
	arena_inject(model_engine(m)->arena, 6, 0, 0);
	err = model_fork(parent, &child);
	arena_inject(model_engine(m)->arena, 0, 0, 0);
	CHECK_EQ(err, -ENOMEM);
	CHECK_EQ(mt_inuse(m, type), 8);
	for (unsigned long p = 0; p < 8; p++)
		CHECK_EQ(swp_swapcount(model_engine(m), mt_swap_entry(parent, p * 512)), 1);
	for (unsigned long p = 0; p < 8; p++)
		CHECK(mt_check(parent, p * 512, p));
	model_destroy(m);
}
