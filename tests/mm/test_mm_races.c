// SPDX-License-Identifier: MIT
/*
 * test_mm_races.c - the mm layer's check/act races, each run exactly inside
 * its window by a race-point hook (base/race.h), so each test fails the same
 * way every time on code without the fix. Debug builds only (race points are
 * compiled out of release builds: the tests skip there).
 *
 *  1. Large swap-in: swapin_large_order() checks the aligned range, then the
 *     folio is allocated and cached. A page of the range zapped in between
 *     frees its slot, which another address space may take and write; the
 *     large folio then caches that space's page as if it were ours, and a
 *     fault of the other space mapped our folio's page at its own address.
 *  2. Split under reclaim: the pieces of a large folio shared by a fork were
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

/* ---- 1. large swap-in vs. a zap that frees a slot of the range ---- */

struct zap_reuse {
	struct model_as *a, *b;
	unsigned long zap_page; /* of a */
	unsigned long b_page;	/* of b: takes the freed slot */
	swp_entry_t freed;	/* a's entry at zap_page */
	swp_entry_t b_entry;	/* b's entry afterwards */
	int calls;
};

/* In the window: zap a page of the range, give its slot to b and write it. */
static void zap_and_reuse(const char *name, void *arg)
{
	struct zap_reuse *z = arg;
	unsigned long addr = mt_addr(z->b, z->b_page);

	if (strcmp(name, "swapin_large:before_add") || z->calls++)
		return;
	z->freed = mt_swap_entry(z->a, z->zap_page);
	if (model_madvise(z->a, mt_addr(z->a, z->zap_page), PAGE_SIZE, MODEL_MADV_DONTNEED) ||
	    mt_fill(z->b, z->b_page, 0xb0b) ||
	    model_madvise(z->b, addr, PAGE_SIZE, MODEL_MADV_PAGEOUT) != 1)
		return;
	z->b_entry = mt_swap_entry(z->b, z->b_page);
}

TEST(large_swapin_race_leaves_each_space_its_own_data)
{
	struct model *m;
	struct model_as *a, *b;
	struct model_info in;
	struct zap_reuse z = {.zap_page = 5, .b_page = 3};
	unsigned long fallbacks;
	swp_entry_t first;

	if (!need_race_points())
		return;
	m = mt_model();
	/* One large folio of a, every other slot filled by b. */
	mt_swapon(m, SLOTS, SWAP_DEV_SYNC_IO);
	REQUIRE(!model_as_create(m, 4 << 20, 4, &a));
	REQUIRE(!model_as_create(m, 8 << 20, 0, &b));
	for (unsigned long i = 0; i < RANGE; i++)
		REQUIRE(!mt_fill(a, i, 0xa00 + i));
	REQUIRE_EQ(model_madvise(a, mt_addr(a, 0), RANGE * PAGE_SIZE, MODEL_MADV_PAGEOUT), RANGE);
	first = mt_swap_entry(a, 0);
	REQUIRE(first.val && IS_ALIGNED(swp_offset(first), RANGE));
	for (unsigned long i = 1; i < RANGE; i++)
		REQUIRE_EQ(mt_swap_entry(a, i).val, first.val + i);
	REQUIRE(!fill_swap(b, SLOTS - 1 - RANGE));
	model_info(m, &in);
	REQUIRE_EQ(in.swap_free, 0);

	/* A fault on page 0 of a swaps the whole range in; b takes slot 5 meanwhile. */
	z.a = a;
	z.b = b;
	fallbacks = mt_stat(m, thp_swpin_fallback);
	REQUIRE(!race_set_hook(zap_and_reuse, &z));
	CHECK(mt_check(a, 0, 0xa00));
	race_set_hook(NULL, NULL);
	REQUIRE_EQ(z.calls, 1);
	/* The window was reached with the slot really reused by b. */
	REQUIRE_EQ(z.b_entry.val, z.freed.val);
	REQUIRE_EQ(z.freed.val, first.val + z.zap_page);
	/* The range changed: the large folio was given up for one page. */
	CHECK_EQ(mt_stat(m, thp_swpin_fallback) - fallbacks, 1);

	/* b reads and writes its own page; a keeps its own. */
	CHECK(mt_check(b, z.b_page, 0xb0b));
	CHECK(!mt_fill(b, z.b_page, 0xb1b));
	for (unsigned long i = 0; i < RANGE; i++) {
		if (i == z.zap_page)
			CHECK(mt_zero(a, i));
		else
			CHECK(mt_check(a, i, 0xa00 + i));
	}
	CHECK(mt_check(b, z.b_page, 0xb1b));
	for (unsigned long p = FILLER; p < FILLER + SLOTS - 1 - RANGE; p++)
		CHECK(mt_check(b, p, 0xf00 + p));
	CHECK_EQ(model_check(m), 0);
	model_destroy(m);
}

/* ---- 2. split under reclaim vs. a write in the first address space ---- */

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
