// SPDX-License-Identifier: MIT
/*
 * test_thp_budget.c - the memory budget holds for large folios: a fault is
 * throttled for one page, a large folio is charged whole, so an anon fault
 * or a large swap-in whose folio does not fit falls back to a smaller order
 * (as a memcg charge does). Single-threaded, so there is no slack: threads
 * faulting at once may each add one folio past the budget.
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
