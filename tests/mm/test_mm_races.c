// SPDX-License-Identifier: MIT
/*
 * test_mm_races.c - the mm layer's check/act races, each run exactly inside
 * its window by a race-point hook (base/race.h), so each test fails the same
 * way every time on code without the fix. Debug builds only (race points are
 * compiled out of release builds: the tests skip there).
 *
 *  1. Split under reclaim: the pieces of a large folio shared by a fork were
 *     mapped into one address space at a time; a write in the first, before
 *     the walk reached the second, reused its piece in place (mapcount 1)
 *     and the second then mapped the written piece: the fork child saw the
 *     parent's write made after the fork.
 *
 * Owns: nothing. Locking: each hook runs in the thread at the race point.
 */
#include <pthread.h>

#include "base/race.h"
#include "mm_test.h"

#define RANGE 16UL /* pages of a large folio: thp_order 4 */
/*
 * Device slots: the cluster with the header slot only serves single pages,
 * so a large folio needs the second cluster, wholly free.
 */
#define SLOTS  (2UL * SWAPFILE_CLUSTER)
#define FILLER 100UL /* first page of the filler pages */

/* Write pages [FILLER, FILLER + @n) of @as and reclaim them. Return: 0 or -1. */
static int fill_swap(struct model_as *as, unsigned long n)
{
	for (unsigned long p = FILLER; p < FILLER + n; p++)
		if (mt_fill(as, p, 0xf00 + p))
			return -1;
	return model_madvise(as, mt_addr(as, FILLER), n * PAGE_SIZE, MODEL_MADV_PAGEOUT) == (long)n
		       ? 0
		       : -1;
}

static bool need_race_points(void)
{
	if (race_points_available())
		return true;
	test_skip("race points are compiled out of this build");
	return false;
}

/* ---- 1. split under reclaim vs. a write in the first address space ---- */

struct split_write {
	struct model_as *parent, *child;
	unsigned long page;
	int calls;
	bool in_window; /* parent maps a piece, the child still the large folio */
	int write_err;
};

static void *write_parent(void *arg)
{
	struct split_write *s = arg;

	s->write_err = mt_fill(s->parent, s->page, 0x9a9);
	return NULL;
}

static unsigned pte_order(pte_t pte)
{
	return pte_present(pte) ? folio_order(pte_folio(pte)) : ~0U;
}

/*
 * At the first stop between address spaces (the parent done, the child
 * next), write in the parent from another thread and wait for the write.
 * The thread at the point holds the large folio's and the family's locks:
 * the write must not need either.
 */
static void write_between_mms(const char *name, void *arg)
{
	struct split_write *s = arg;
	pthread_t t;

	if (strcmp(name, "split:between_mms") || s->calls++)
		return;
	s->in_window = pte_order(mt_pte(s->parent, s->page)) == 0 &&
		       pte_order(mt_pte(s->child, s->page)) == 4;
	if (pthread_create(&t, NULL, write_parent, s)) {
		s->write_err = -EAGAIN;
		return;
	}
	pthread_join(t, NULL);
}

TEST(split_under_reclaim_keeps_copy_on_write_across_the_walk)
{
	struct model *m;
	struct model_as *parent, *child, *filler;
	struct split_write s = {.page = 6};
	unsigned long splits;

	if (!need_race_points())
		return;
	m = mt_model();
	/* Fragmented: every other slot used, so reclaim gets single slots only. */
	mt_swapon(m, SLOTS, SWAP_DEV_SYNC_IO);
	REQUIRE(!model_as_create(m, 4 << 20, 4, &parent));
	REQUIRE(!model_as_create(m, 8 << 20, 0, &filler));
	REQUIRE(!fill_swap(filler, SLOTS - 1));
	for (unsigned long p = FILLER; p < FILLER + SLOTS - 1; p += 2)
		REQUIRE(!model_madvise(filler, mt_addr(filler, p), PAGE_SIZE, MODEL_MADV_DONTNEED));
	for (unsigned long i = 0; i < RANGE; i++)
		REQUIRE(!mt_fill(parent, i, 0xa00 + i));
	REQUIRE_EQ(pte_order(mt_pte(parent, 0)), 4);
	REQUIRE(!model_fork(parent, &child));

	s.parent = parent;
	s.child = child;
	splits = mt_stat(m, thp_split_page);
	REQUIRE(!race_set_hook(write_between_mms, &s));
	model_madvise(parent, mt_addr(parent, 0), RANGE * PAGE_SIZE, MODEL_MADV_PAGEOUT);
	race_set_hook(NULL, NULL);
	REQUIRE_EQ(mt_stat(m, thp_split_page) - splits, 1);
	REQUIRE(s.calls >= 1);
	REQUIRE(s.in_window);
	REQUIRE_EQ(s.write_err, 0);

	/* The child's snapshot is the data at the fork; the parent has its write. */
	for (unsigned long i = 0; i < RANGE; i++) {
		CHECK(mt_check(child, i, 0xa00 + i));
		CHECK(mt_check(parent, i, i == s.page ? 0x9a9 : 0xa00 + i));
	}
	CHECK_EQ(model_check(m), 0);
	model_destroy(m);
}
