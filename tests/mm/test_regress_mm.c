// SPDX-License-Identifier: MIT
/*
 * test_regress_mm.c - regressions for bugs found in uswap's own mm layer
 * (test_regress_seed_mm.c holds the seed review's). Each fails if the bug comes back.
 *
 *  1. A shmem file destroyed while swapoff walked the shmem list was taken
 *     off the list at once; the walker, holding a reference, then followed
 *     the file's self-linked node forever.
 *  2. After one reclaim pass freed nothing (swap full), the budget stayed
 *     unenforced even once swap slots were freed again: reclaim waited for
 *     the charge to grow past where it had failed.
 *
 * Owns: nothing. Locking: single-threaded but for the swapoff callback.
 */
#include "mm_test.h"

static struct model_shmem *victim;
static int interrupt_calls;

/* Destroys the file swapoff is working on; gives up after many calls. */
static bool destroy_during_walk(void *arg)
{
	if (++interrupt_calls == 2 && victim) {
		model_shmem_destroy(victim);
		victim = NULL;
	}
	return interrupt_calls > 10000;
}

TEST(swapoff_survives_a_shmem_file_destroyed_under_its_walk)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 4096, SWAP_DEV_SYNC_IO);
	char buf[PAGE_SIZE];

	REQUIRE(!model_shmem_create(m, 64, &victim));
	for (int i = 0; i < 64; i++) {
		memset(buf, i + 1, sizeof(buf));
		REQUIRE(!model_shmem_write(victim, (unsigned long)i * PAGE_SIZE, buf, PAGE_SIZE));
	}
	model_reclaim(m, 1000);
	REQUIRE(model_shmem_swapped(victim) > 0);
	interrupt_calls = 0;
	CHECK_EQ(model_swapoff(m, type, destroy_during_walk, NULL), 0);
	CHECK(interrupt_calls < 10000);
	CHECK(victim == NULL);
	model_destroy(m);
}

TEST(budget_is_enforced_again_once_swap_slots_are_freed)
{
	struct model *m = mt_model();
	struct model_info in;
	struct model_as *as;
	unsigned long outs;

	mt_swapon(m, 64, SWAP_DEV_SYNC_IO);
	model_set_budget(m, 100);
	REQUIRE(!model_as_create(m, 4 << 20, 0, &as));
	/* Swap fills up and reclaim fails: the charge climbs past the budget. */
	for (unsigned long p = 0; p < 400; p++)
		REQUIRE(!mt_fill(as, p, p));
	model_info(m, &in);
	REQUIRE(in.swap_free < 2);
	REQUIRE(in.resident > 100);
	/* Everything goes away: memory and swap are free again. */
	REQUIRE(!model_madvise(as, mt_addr(as, 0), 400 * PAGE_SIZE, MODEL_MADV_DONTNEED));
	outs = mt_stat(m, pswpout);
	for (unsigned long p = 400; p < 700; p++)
		REQUIRE(!mt_fill(as, p, p));
	/* Reclaim resumed: the freed slots filled up again. */
	model_info(m, &in);
	CHECK(mt_stat(m, pswpout) - outs >= 60);
	CHECK(in.swap_free < 2);
	for (unsigned long p = 400; p < 700; p++)
		CHECK(mt_check(as, p, p));
	model_destroy(m);
}
