// SPDX-License-Identifier: MIT
/*
 * test_thp_budget.c - the memory budget holds for large folios: a fault is
 * throttled for one page, a large folio is charged whole, so an anon fault
 * or a large swap-in whose folio does not fit falls back to a smaller order
 * (as a memcg charge does); a copy-on-write copy makes room of its own,
 * and readahead reads only the pages that fit.
 * Single-threaded, so there is no slack: threads faulting at once may each
 * add one folio past the budget.
 *
 * Owns: nothing. Locking: single-threaded.
 */
#include "mm_test.h"

#define BUDGET 64UL
#define PAGES  1024UL /* two 2 MiB ranges of order-9 folios */

static unsigned long resident(struct model *m)
{
	struct model_info in;

	model_info(m, &in);
	return in.resident;
}

TEST(large_faults_keep_the_budget)
{
	struct model *m = mt_model();
	unsigned long peak = 0, r;
	struct model_as *as;

	mt_swapon(m, 4 * PAGES, SWAP_DEV_SYNC_IO);
	model_set_budget(m, BUDGET);
	REQUIRE(!model_as_create(m, PAGES * PAGE_SIZE, 9, &as));
	for (unsigned long p = 0; p < PAGES; p++) {
		REQUIRE(!mt_fill(as, p, 0x7000 + p));
		r = resident(m);
		peak = max(peak, r);
	}
	CHECK(peak <= BUDGET);
	/* Large folios were still used where they fit: the last range is one. */
	CHECK(pte_present(mt_pte(as, PAGES - 1)) &&
	      folio_order(pte_folio(mt_pte(as, PAGES - 1))) > 0);
	/* Read back (swap-in, large where the range allows) under the same budget. */
	peak = 0;
	for (unsigned long p = 0; p < PAGES; p++) {
		CHECK(mt_check(as, p, 0x7000 + p));
		r = resident(m);
		peak = max(peak, r);
	}
	CHECK(peak <= BUDGET);
	CHECK_EQ(model_check(m), 0);
	model_destroy(m);
}

TEST(a_large_fault_that_fits_stays_large)
{
	struct model *m = mt_model();
	struct model_as *as;

	mt_swapon(m, 4 * PAGES, SWAP_DEV_SYNC_IO);
	model_set_budget(m, 1024);
	REQUIRE(!model_as_create(m, PAGES * PAGE_SIZE, 9, &as));
	REQUIRE(!mt_fill(as, 0, 1));
	CHECK_EQ(folio_order(pte_folio(mt_pte(as, 0))), 9);
	CHECK(resident(m) <= 1024);
	model_destroy(m);
}

/*
 * A write fault on a page swapped out after a fork charges two folios: the
 * swap-in (a page, or a large folio) and the copy-on-write copy of it. The
 * fault was throttled once, at its start; the copy must make room too (the
 * swap-cache folio it copies stays for the child's entry), or one thread
 * alone ends a folio past the budget.
 */
static void write_after_fork_keeps_the_budget(unsigned thp_order)
{
	unsigned long nr = 1UL << thp_order, budget = 2 * nr;
	struct model_as *parent, *child;
	struct model *m = mt_model();

	mt_swapon(m, 1024, SWAP_DEV_SYNC_IO);
	REQUIRE(!model_as_create(m, 2 << 20, thp_order, &parent));
	for (unsigned long p = 0; p < nr; p++)
		REQUIRE(!mt_fill(parent, p, 0x100 + p));
	REQUIRE(!model_fork(parent, &child));
	/* Both spaces hold swap entries of the range, nothing is resident. */
	REQUIRE_EQ(model_madvise(parent, mt_addr(parent, 0), nr * PAGE_SIZE, MODEL_MADV_PAGEOUT),
		   (long)nr);
	REQUIRE(is_swap_pte(mt_pte(child, 0)));
	model_set_budget(m, budget);
	/* Another range fills half the budget. */
	for (unsigned long p = nr; p < 2 * nr; p++)
		REQUIRE(!mt_fill(parent, p, 0x200 + p));
	REQUIRE_EQ(resident(m), nr);
	/* Swap-in (nr pages: fits exactly), then the copy of the written page. */
	REQUIRE(!mt_fill(parent, 0, 0x300));
	CHECK(resident(m) <= budget);
	CHECK(mt_check(parent, 0, 0x300));
	for (unsigned long p = 0; p < nr; p++) {
		CHECK(mt_check(child, p, 0x100 + p));
		if (p)
			CHECK(mt_check(parent, p, 0x100 + p));
		CHECK(mt_check(parent, nr + p, 0x200 + nr + p));
	}
	CHECK_EQ(model_check(m), 0);
	model_destroy(m);
}

TEST(write_fault_after_fork_keeps_the_budget)
{
	write_after_fork_keeps_the_budget(0);
}

TEST(large_write_fault_after_fork_keeps_the_budget)
{
	write_after_fork_keeps_the_budget(4);
}

/*
 * Readahead (a device without SWP_SYNCHRONOUS_IO) brings a window of pages
 * in for one fault, which was throttled for one page: the pages read ahead
 * must fit too, or one read ends a window's worth past the budget.
 */
TEST(readahead_keeps_the_budget)
{
	struct model *m = mt_model();
	unsigned long budget = 16;
	struct model_as *as;

	mt_swapon(m, 1024, 0);
	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	for (unsigned long p = 0; p < 16; p++)
		REQUIRE(!mt_fill(as, p, 0x400 + p));
	REQUIRE_EQ(model_madvise(as, mt_addr(as, 0), 16 * PAGE_SIZE, MODEL_MADV_PAGEOUT), 16);
	model_set_budget(m, budget);
	for (unsigned long p = 100; p < 100 + budget - 1; p++)
		REQUIRE(!mt_fill(as, p, 0x500 + p));
	REQUIRE_EQ(resident(m), budget - 1);
	CHECK(mt_check(as, 3, 0x400 + 3));
	CHECK(resident(m) <= budget);
	for (unsigned long p = 0; p < 16; p++)
		CHECK(mt_check(as, p, 0x400 + p));
	for (unsigned long p = 100; p < 100 + budget - 1; p++)
		CHECK(mt_check(as, p, 0x500 + p));
	CHECK_EQ(model_check(m), 0);
	model_destroy(m);
}
