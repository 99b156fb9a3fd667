// SPDX-License-Identifier: MIT
/*
 * test_regress_review.c - regressions for what a review of the allocator
 * scaling and reclaim-walk changes found. Each test fails if the bug comes
 * back.
 *
 *  1. The walks over a range of slots stepped by
 *     max(abs(__try_to_reclaim_swap(...)), 1): max() evaluates its argument
 *     twice, so every folio met was looked up (and locked, and perhaps
 *     reclaimed) twice, and the step was the second answer's. Stepping by
 *     the first answer instead is wrong too: a reclaimed folio returns its
 *     whole size, and a walk that met it in its middle passed over the
 *     first slots of the next folio, which then stayed in the swap cache
 *     after a zap dropped its last counts, unmapped and unreferenced.
 *  2. A cluster's owner hint stayed with the last thread that allocated or
 *     freed there, long after that thread moved on: another thread's slow
 *     path passed over every such partly used cluster and took a free one,
 *     so a large allocation found no free cluster left.
 */
#include <pthread.h>

#include "base/race.h"
#include "swap_test.h"

/* ---- 1: reclaim walks over a range ---- */

static void count_lookups(const char *name, void *arg)
{
	if (!strcmp(name, "reclaim_swap:lookup"))
		atomic_fetch_add_relaxed((int *)arg, 1);
}

TEST(put_entries_tries_to_reclaim_a_folio_once)
{
	struct uswap *sw = t_engine();
	struct folio *folio;
	swp_entry_t e;
	int lookups = 0;

	if (!race_points_available()) {
		test_skip("race points are compiled out of this build");
		return;
	}
	REQUIRE_EQ(t_ramdev(sw, 4 * 512, T_SSD, -1), 0);
	folio = t_swap_folio(sw, 2);
	REQUIRE(folio);
	REQUIRE_EQ(folio_dup_swap(folio, NULL), 0);
	folio_unlock(folio);
	e = folio_swap_entry(folio);
	REQUIRE(!race_set_hook(count_lookups, &lookups));
	/* The last counts go: the walk meets the folio once and reclaims it. */
	swap_put_entries_direct(sw, e, 4);
	race_set_hook(NULL, NULL);
	CHECK(!folio_test_swapcache(folio));
	CHECK_EQ(atomic_load_relaxed(&lookups), 1);
	CHECK_EQ(t_inuse(sw, 0), 0);
	folio_put(folio);
}

TEST(put_entries_reclaims_the_folio_after_one_met_in_its_middle)
{
	struct uswap *sw = t_engine();
	struct folio *a, *b;
	swp_entry_t ea;

	REQUIRE_EQ(t_ramdev(sw, 4 * 512, T_SSD, -1), 0);
	/* One folio lock at a time. */
	a = t_swap_folio(sw, 2);
	REQUIRE(a);
	REQUIRE_EQ(folio_dup_swap(a, NULL), 0);
	folio_unlock(a);
	b = t_swap_folio(sw, 2);
	REQUIRE(b);
	REQUIRE_EQ(folio_dup_swap(b, NULL), 0);
	folio_unlock(b);
	ea = folio_swap_entry(a);
	/* Two order-2 folios side by side: a at slots 0-3, b at 4-7 (relative). */
	REQUIRE_EQ(folio_swap_entry(b).val, ea.val + 4);

	/* Counts go in pieces, as zaps of ranges do: nothing is reclaimable yet. */
	swap_put_entries_direct(sw, ea, 3);
	swap_put_entries_direct(sw, (swp_entry_t){ea.val + 6}, 2);
	CHECK(folio_test_swapcache(a));
	CHECK(folio_test_swapcache(b));
	/* Slots 3-5: a's last count and two of b's; both folios hold only cache. */
	swap_put_entries_direct(sw, (swp_entry_t){ea.val + 3}, 3);
	CHECK(!folio_test_swapcache(a));
	CHECK(!folio_test_swapcache(b));
	CHECK_EQ(t_inuse(sw, 0), 0);

	folio_lock(b);
	if (folio_test_swapcache(b))
		folio_free_swap(b);
	folio_unlock(b);
	folio_put(a);
	folio_put(b);
}

/* ---- 2: owner hints of clusters no thread allocates from any more ---- */

struct one_alloc {
	struct uswap *sw;
	swp_entry_t entry;
};

static void *alloc_one(void *arg)
{
	struct one_alloc *o = arg;

	o->entry = t_alloc_entry(o->sw, 0);
	return NULL;
}

TEST(slow_path_takes_a_partly_used_cluster_nobody_allocates_from)
{
	enum { NR = 511 + 512 + 1 };
	struct uswap *sw = t_engine();
	static swp_entry_t e[NR];
	struct one_alloc other = {.sw = sw};
	swp_entry_t big;
	pthread_t th;

	REQUIRE_EQ(t_ramdev(sw, 4 * 512, T_SSD, -1), 0);
	/* This thread fills clusters 0 and 1 and moves on to cluster 2. */
	for (unsigned i = 0; i < NR; i++) {
		e[i] = t_alloc_entry(sw, 0);
		REQUIRE(e[i].val);
	}
	REQUIRE_EQ(swp_offset(e[0]) / SWAPFILE_CLUSTER, 0);
	REQUIRE_EQ(swp_offset(e[NR - 1]) / SWAPFILE_CLUSTER, 2);
	/* A slot of cluster 0 comes back: it is partly used, nobody works in it. */
	swap_put_entries_direct(sw, e[5], 1);

	/* Another thread needs one slot: the partly used cluster has it. */
	REQUIRE_EQ(pthread_create(&th, NULL, alloc_one, &other), 0);
	pthread_join(th, NULL);
	REQUIRE(other.entry.val);
	CHECK_EQ(swp_offset(other.entry) / SWAPFILE_CLUSTER, 0);
	/* So cluster 3 is still free for a whole-cluster folio. */
	big = t_alloc_entry(sw, HPAGE_PMD_ORDER);
	CHECK(big.val);

	if (big.val)
		swap_put_entries_direct(sw, big, 1 << HPAGE_PMD_ORDER);
	swap_put_entries_direct(sw, other.entry, 1);
	for (unsigned i = 0; i < NR; i++)
		if (i != 5)
			swap_put_entries_direct(sw, e[i], 1);
	CHECK_EQ(t_inuse(sw, 0), 0);
}
