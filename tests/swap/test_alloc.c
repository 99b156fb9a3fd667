// SPDX-License-Identifier: MIT
/*
 * test_alloc.c - the cluster allocator (docs/kernel-reference.md §8) through
 * folio_alloc_swap(): every order naturally aligned inside one cluster and
 * in the swap cache, -ENOMEM when full or too fragmented for the order while
 * order 0 still steals, bad slots and slot 0 never handed out, the global
 * cursor of rotating devices, reclaim of cache-only slots once swap is more
 * than half full, and freed clusters going through discard.
 *
 * Owns: a recording test device (discard calls). Locking: single-threaded.
 */
#include "swap_test.h"

/* A RAM device that also implements discard and records the calls. */
struct rec_dev {
	struct swap_dev dev;
	struct arena *arena;
	char *pages;
	unsigned nr_discards;
	pgoff_t discard_off[64];
	unsigned long discard_nr[64];
};

static struct rec_dev *to_rec(struct swap_dev *dev)
{
	return container_of(dev, struct rec_dev, dev);
}

static int rec_read(struct swap_dev *dev, pgoff_t offset, void *buf, unsigned nr)
{
	memcpy(buf, to_rec(dev)->pages + offset * PAGE_SIZE, nr * PAGE_SIZE);
	return 0;
}

static int rec_write(struct swap_dev *dev, pgoff_t offset, const void *buf, unsigned nr)
{
	memcpy(to_rec(dev)->pages + offset * PAGE_SIZE, buf, nr * PAGE_SIZE);
	return 0;
}

static int rec_discard(struct swap_dev *dev, pgoff_t offset, unsigned long nr)
{
	struct rec_dev *r = to_rec(dev);

	if (r->nr_discards < ARRAY_SIZE(r->discard_off)) {
		r->discard_off[r->nr_discards] = offset;
		r->discard_nr[r->nr_discards] = nr;
	}
	r->nr_discards++;
	return 0;
}

static void rec_destroy(struct swap_dev *dev)
{
	struct rec_dev *r = to_rec(dev);

	arena_free(r->arena, r->pages, dev->nr_pages * PAGE_SIZE);
	arena_free(r->arena, r, sizeof(*r));
}

static const struct swap_dev_ops rec_ops = {
	.name = "rec",
	.read = rec_read,
	.write = rec_write,
	.discard = rec_discard,
	.destroy = rec_destroy,
};

static struct rec_dev *rec_create(struct uswap *sw, unsigned long nr_pages, unsigned long flags)
{
	struct rec_dev *r = arena_zalloc(sw->arena, sizeof(*r));

	if (!r)
		return NULL;
	r->pages = arena_alloc(sw->arena, nr_pages * PAGE_SIZE);
	r->arena = sw->arena;
	r->dev.ops = &rec_ops;
	r->dev.flags = flags;
	r->dev.nr_pages = nr_pages;
	r->dev.kind = "ram";
	return r->pages ? r : NULL;
}

/* Check where a folio just allocated landed. */
static void check_placement(struct uswap *sw, struct folio *folio, int type)
{
	unsigned long nr = folio_nr_pages(folio);
	swp_entry_t entry = folio_swap_entry(folio);
	pgoff_t off = swp_offset(entry);

	CHECK(folio_test_swapcache(folio));
	CHECK_EQ(swp_type(entry), type);
	CHECK(off != 0);
	CHECK(IS_ALIGNED(off, nr));
	CHECK_EQ(off / SWAPFILE_CLUSTER, (off + nr - 1) / SWAPFILE_CLUSTER);
	CHECK(off + nr <= t_si(sw, type)->max);
	/* The cache holds one reference per page, the caller its own. */
	CHECK_EQ(folio_ref_count(folio), 1 + (int)nr);
	for (unsigned long i = 0; i < nr; i++) {
		struct folio *found = swap_cache_get_folio(sw, t_entry(folio, i));

		CHECK(found == folio);
		if (found)
			folio_put(found);
		CHECK_EQ(t_map(sw, t_entry(folio, i)), 0);
		CHECK_EQ(swp_swapcount(sw, t_entry(folio, i)), 0);
	}
}

TEST(alloc_every_order_is_aligned_in_one_cluster_and_cached)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 4 * 512, T_SSD, -1);
	struct folio *folios[5];

	REQUIRE_EQ(type, 0);
	for (unsigned order = 0; order <= HPAGE_PMD_ORDER; order++) {
		unsigned n = order == HPAGE_PMD_ORDER ? 3 : ARRAY_SIZE(folios);
		unsigned long before = t_inuse(sw, type);

		for (unsigned i = 0; i < n; i++) {
			folios[i] = t_swap_folio(sw, order);
			REQUIRE(folios[i]);
			check_placement(sw, folios[i], type);
			folio_unlock(folios[i]);
		}
		CHECK_EQ(t_inuse(sw, type), before + (n << order));
		for (unsigned i = 0; i < n; i++) {
			folio_lock(folios[i]);
			CHECK(t_release(folios[i]));
		}
		CHECK_EQ(t_inuse(sw, type), 0);
	}
	CHECK_EQ(pool_live(&sw->folio_pool), 0);
}

TEST(alloc_hands_out_disjoint_ranges)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 8 * 512, T_SSD, -1);
	static struct folio *folios[400];
	static unsigned char owner[8 * 512];
	uint64_t rng = test_seed;
	unsigned n = 0;

	REQUIRE_EQ(type, 0);
	memset(owner, 0, sizeof(owner));
	while (n < ARRAY_SIZE(folios)) {
		unsigned order = t_rand(&rng) % 5;
		struct folio *folio = t_swap_folio(sw, order);

		if (!folio)
			break;
		folios[n++] = folio;
		for (unsigned long i = 0; i < folio_nr_pages(folio); i++) {
			pgoff_t off = swp_offset(t_entry(folio, i));

			CHECK_EQ(owner[off], 0);
			owner[off] = 1;
		}
		/* A count keeps it from being reclaimed while unlocked. */
		CHECK_EQ(folio_dup_swap(folio, NULL), 0);
		folio_unlock(folio);
	}
	CHECK(n > 100);
	CHECK_EQ(swap_check_device(t_si(sw, type)), 0);
	for (unsigned i = 0; i < n; i++) {
		folio_lock(folios[i]);
		CHECK_EQ(folio_put_swap(folios[i], NULL), 0);
		CHECK(t_release(folios[i]));
	}
}

TEST(alloc_fills_every_slot_but_slot_zero_then_enomem)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 1024, T_SSD, -1);
	static swp_entry_t e[1023];
	static unsigned char seen[1024];
	int err;

	REQUIRE_EQ(type, 0);
	memset(seen, 0, sizeof(seen));
	for (unsigned i = 0; i < ARRAY_SIZE(e); i++) {
		e[i] = t_alloc_entry(sw, 0);
		REQUIRE(e[i].val);
		CHECK(swp_offset(e[i]) != 0);
		CHECK_EQ(seen[swp_offset(e[i])], 0);
		seen[swp_offset(e[i])] = 1;
	}
	CHECK_EQ(t_inuse(sw, type), 1023);
	CHECK_EQ(get_nr_swap_pages(sw), 0);
	CHECK(t_swap_folio_err(sw, 0, &err) == NULL);
	CHECK_EQ(err, -ENOMEM);
	CHECK(t_swap_folio_err(sw, 3, &err) == NULL);
	CHECK_EQ(err, -ENOMEM);
	CHECK_EQ(swap_alloc_hibernation_slot(sw, type).val, 0);
	for (unsigned i = 0; i < ARRAY_SIZE(e); i++)
		swap_put_entries_direct(sw, e[i], 1);
	CHECK_EQ(t_inuse(sw, type), 0);
	CHECK_EQ(get_nr_swap_pages(sw), 1023);
}

TEST(alloc_never_hands_out_bad_slots)
{
	static const uint32_t bad[] = {1, 3, 511, 512, 700, 1023};
	struct uswap *sw = t_engine();
	int type = t_ramdev_bad(sw, 1024, T_SSD, -1, bad, ARRAY_SIZE(bad));
	static swp_entry_t e[1024];
	unsigned n = 0;

	REQUIRE_EQ(type, 0);
	while (n < ARRAY_SIZE(e) && (e[n] = t_alloc_entry(sw, 0)).val) {
		for (unsigned b = 0; b < ARRAY_SIZE(bad); b++)
			CHECK(swp_offset(e[n]) != bad[b]);
		CHECK(swp_offset(e[n]) != 0);
		n++;
	}
	CHECK_EQ(n, 1023 - ARRAY_SIZE(bad));
	CHECK_EQ(t_inuse(sw, type), n);
	for (unsigned i = 0; i < n; i++)
		swap_put_entries_direct(sw, e[i], 1);
}

TEST(alloc_clusters_with_bad_slots_serve_only_order0)
{
	static const uint32_t bad[] = {515};
	struct uswap *sw = t_engine();
	int type = t_ramdev_bad(sw, 3 * 512, T_SSD, -1, bad, 1);
	static swp_entry_t e[1024];
	swp_entry_t pmd;
	unsigned n = 0;
	int err;

	REQUIRE_EQ(type, 0);
	/* Slot 0 and slot 515 make clusters 0 and 1 order-0 clusters (as Linux). */
	pmd = t_alloc_entry(sw, HPAGE_PMD_ORDER);
	CHECK_EQ(swp_offset(pmd), 1024);
	CHECK_EQ(t_alloc_entry_err(sw, HPAGE_PMD_ORDER, &err).val, 0);
	CHECK_EQ(err, -ENOMEM);
	CHECK_EQ(t_alloc_entry_err(sw, 1, &err).val, 0);
	CHECK_EQ(err, -ENOMEM);
	while (n < ARRAY_SIZE(e) && (e[n] = t_alloc_entry(sw, 0)).val) {
		CHECK(swp_offset(e[n]) != 515);
		CHECK(swp_offset(e[n]) < 1024);
		n++;
	}
	CHECK_EQ(n, 1024 - 2);
	for (unsigned i = 0; i < n; i++)
		swap_put_entries_direct(sw, e[i], 1);
	swap_put_entries_direct(sw, pmd, 1 << HPAGE_PMD_ORDER);
}

TEST(alloc_large_orders_impossible_on_a_one_cluster_device)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 512, T_SSD, -1);
	swp_entry_t e;
	int err;

	REQUIRE_EQ(type, 0);
	/* The header slot makes cluster 0 an order-0 cluster. */
	for (unsigned order = 1; order <= HPAGE_PMD_ORDER; order++) {
		CHECK_EQ(t_alloc_entry_err(sw, order, &err).val, 0);
		CHECK_EQ(err, -ENOMEM);
	}
	e = t_alloc_entry(sw, 0);
	CHECK_EQ(swp_offset(e), 1);
	if (e.val)
		swap_put_entries_direct(sw, e, 1);
}

TEST(alloc_large_order_fails_on_fragmented_device_while_order0_steals)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 2 * 512, T_SSD, -1);
	static swp_entry_t small[511 + 8];
	swp_entry_t e[128], freed;
	unsigned n = 0, nsmall = 0;
	int err;

	REQUIRE_EQ(type, 0);
	/* Cluster 0 (with the header slot) fills with order 0, cluster 1 with order 2. */
	while (nsmall < 511)
		REQUIRE((small[nsmall++] = t_alloc_entry(sw, 0)).val);
	while (n < ARRAY_SIZE(e) && (e[n] = t_alloc_entry(sw, 2)).val)
		n++;
	REQUIRE_EQ(n, 128);
	CHECK_EQ(t_alloc_entry_err(sw, 2, &err).val, 0);
	CHECK_EQ(err, -ENOMEM);
	freed = e[77];
	swap_put_entries_direct(sw, freed, 4);
	e[77] = e[--n];

	/* Four free slots, but no aligned eight. */
	CHECK_EQ(t_alloc_entry_err(sw, 3, &err).val, 0);
	CHECK_EQ(err, -ENOMEM);
	/* Order 0 steals them from the order-2 cluster. */
	while (nsmall < ARRAY_SIZE(small) && (small[nsmall] = t_alloc_entry(sw, 0)).val) {
		pgoff_t off = swp_offset(small[nsmall]);

		CHECK(off >= swp_offset(freed) && off < swp_offset(freed) + 4);
		nsmall++;
	}
	CHECK_EQ(nsmall, 511 + 4);
	CHECK_EQ(t_inuse(sw, type), 1023);
	for (unsigned i = 0; i < nsmall; i++)
		swap_put_entries_direct(sw, small[i], 1);
	for (unsigned i = 0; i < n; i++)
		swap_put_entries_direct(sw, e[i], 4);
}

TEST(alloc_rotating_device_uses_global_cursor)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 2 * 512, SWAP_DEV_SYNC_IO, -1);
	struct swap_info_struct *si;
	swp_entry_t e[3];

	REQUIRE_EQ(type, 0);
	si = t_si(sw, type);
	CHECK(!(si->flags & SWP_SOLIDSTATE));
	for (unsigned i = 0; i < ARRAY_SIZE(e); i++) {
		e[i] = t_alloc_entry(sw, 0);
		REQUIRE(e[i].val);
		if (i)
			CHECK_EQ(swp_offset(e[i]), swp_offset(e[i - 1]) + 1);
	}
	CHECK_EQ(si->global_next[0], swp_offset(e[2]) + 1);
	for (unsigned c = 0; c < USWAP_MAX_CPUS; c++)
		CHECK(sw->pcp[c].si[0] != si);
	for (unsigned i = 0; i < ARRAY_SIZE(e); i++)
		swap_put_entries_direct(sw, e[i], 1);
}

TEST(alloc_solid_state_device_uses_percpu_cursor)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 2 * 512, T_SSD, -1);
	struct swap_info_struct *si;
	bool recorded = false;
	swp_entry_t e;

	REQUIRE_EQ(type, 0);
	si = t_si(sw, type);
	e = t_alloc_entry(sw, 0);
	REQUIRE(e.val);
	for (unsigned o = 0; o < SWAP_NR_ORDERS; o++)
		CHECK_EQ(si->global_next[o], 0);
	for (unsigned c = 0; c < USWAP_MAX_CPUS; c++)
		recorded |= sw->pcp[c].si[0] == si;
	CHECK(recorded);
	swap_put_entries_direct(sw, e, 1);
}

TEST(alloc_keeps_cache_only_slots_while_swap_is_less_than_half_full)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 2 * 512, T_SSD, -1);
	static struct folio *folios[500];

	REQUIRE_EQ(type, 0);
	for (unsigned i = 0; i < ARRAY_SIZE(folios); i++) {
		folios[i] = t_swap_folio(sw, 0);
		REQUIRE(folios[i]);
		folio_unlock(folios[i]);
	}
	CHECK(!vm_swap_full(sw));
	for (unsigned i = 0; i < ARRAY_SIZE(folios); i++) {
		CHECK(folio_test_swapcache(folios[i]));
		folio_lock(folios[i]);
		CHECK(t_release(folios[i]));
	}
}

TEST(alloc_reclaims_cache_only_slots_when_swap_is_more_than_half_full)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 2 * 512, T_SSD, -1);
	static struct folio *folios[1023], *more[300];
	unsigned cached = 0, reclaimed = 0;

	REQUIRE_EQ(type, 0);
	/* Every slot cache-only, then one made free: swap is nearly all cache. */
	for (unsigned i = 0; i < ARRAY_SIZE(folios); i++) {
		folios[i] = t_swap_folio(sw, 0);
		REQUIRE(folios[i]);
		folio_unlock(folios[i]);
	}
	folio_lock(folios[500]);
	REQUIRE(folio_free_swap(folios[500]));
	folio_unlock(folios[500]);
	CHECK(vm_swap_full(sw));
	/* Each allocation reclaims a cache-only slot instead of failing. */
	for (unsigned i = 0; i < ARRAY_SIZE(more); i++) {
		more[i] = t_swap_folio(sw, 0);
		REQUIRE(more[i]);
		CHECK_EQ(folio_dup_swap(more[i], NULL), 0);
		folio_unlock(more[i]);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(folios); i++) {
		struct folio *folio = folios[i];

		folio_lock(folio);
		if (folio_test_swapcache(folio)) {
			cached++;
			CHECK(t_release(folio));
			continue;
		}
		/* Reclaimed (or freed above): its only copy is in memory now. */
		reclaimed++;
		CHECK(folio_test_dirty(folio));
		CHECK_EQ(folio_swap_entry(folio).val, 0);
		CHECK_EQ(folio_ref_count(folio), 1);
		folio_unlock(folio);
		folio_put(folio);
	}
	CHECK(reclaimed >= ARRAY_SIZE(more));
	CHECK_EQ(cached + reclaimed, ARRAY_SIZE(folios));
	for (unsigned i = 0; i < ARRAY_SIZE(more); i++) {
		folio_lock(more[i]);
		CHECK_EQ(folio_put_swap(more[i], NULL), 0);
		CHECK(t_release(more[i]));
	}
	CHECK_EQ(t_inuse(sw, type), 0);
	CHECK_EQ(pool_live(&sw->folio_pool), 0);
}

TEST(alloc_reclaims_cache_only_slots_of_full_clusters)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 2 * 512, T_SSD, -1);
	static struct folio *cached[511];
	static swp_entry_t counted[511];
	struct folio *big;
	unsigned reclaimed = 0;
	int err;

	REQUIRE_EQ(type, 0);
	/* Cluster 0 full of cache-only slots, cluster 1 of counted ones but one. */
	for (unsigned i = 0; i < ARRAY_SIZE(cached); i++) {
		cached[i] = t_swap_folio(sw, 0);
		REQUIRE(cached[i]);
		REQUIRE(swp_offset(folio_swap_entry(cached[i])) < 512);
		folio_unlock(cached[i]);
	}
	for (unsigned i = 0; i < ARRAY_SIZE(counted); i++)
		REQUIRE((counted[i] = t_alloc_entry(sw, 0)).val);
	REQUIRE(vm_swap_full(sw));
	/* No order-1 room anywhere: the allocator turns to the full clusters. */
	big = t_swap_folio_err(sw, 1, &err);
	if (big)
		CHECK(t_release(big));
	for (unsigned i = 0; i < ARRAY_SIZE(cached); i++) {
		folio_lock(cached[i]);
		if (folio_test_swapcache(cached[i]))
			CHECK(t_release(cached[i]));
		else {
			reclaimed++;
			folio_unlock(cached[i]);
			folio_put(cached[i]);
		}
	}
	CHECK_EQ(reclaimed, ARRAY_SIZE(cached));
	for (unsigned i = 0; i < ARRAY_SIZE(counted); i++)
		swap_put_entries_direct(sw, counted[i], 1);
	CHECK_EQ(t_inuse(sw, type), 0);
}

TEST(alloc_fails_when_every_slot_is_cache_only)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 512, T_SSD, -1);
	static struct folio *folios[511];
	int err;

	REQUIRE_EQ(type, 0);
	/* A full device leaves the avail list, cache-only slots or not (as Linux). */
	for (unsigned i = 0; i < ARRAY_SIZE(folios); i++) {
		folios[i] = t_swap_folio(sw, 0);
		REQUIRE(folios[i]);
		folio_unlock(folios[i]);
	}
	CHECK(t_swap_folio_err(sw, 0, &err) == NULL);
	CHECK_EQ(err, -ENOMEM);
	for (unsigned i = 0; i < ARRAY_SIZE(folios); i++) {
		folio_lock(folios[i]);
		CHECK(t_release(folios[i]));
	}
}

TEST(alloc_never_reclaims_slots_with_a_count)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 1024, T_SSD, -1);
	static struct folio *folios[1023];
	int err;

	REQUIRE_EQ(type, 0);
	for (unsigned i = 0; i < ARRAY_SIZE(folios); i++) {
		folios[i] = t_swap_folio(sw, 0);
		REQUIRE(folios[i]);
		CHECK_EQ(folio_dup_swap(folios[i], NULL), 0);
		folio_unlock(folios[i]);
	}
	CHECK(t_swap_folio_err(sw, 0, &err) == NULL);
	CHECK_EQ(err, -ENOMEM);
	for (unsigned i = 0; i < ARRAY_SIZE(folios); i++) {
		folio_lock(folios[i]);
		CHECK(folio_test_swapcache(folios[i]));
		CHECK_EQ(folio_put_swap(folios[i], NULL), 0);
		CHECK(t_release(folios[i]));
	}
}

TEST(alloc_without_discard_starts_in_cluster_zero)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 3 * 512, T_SSD, -1);
	swp_entry_t e;

	REQUIRE_EQ(type, 0);
	e = t_alloc_entry(sw, 0);
	CHECK_EQ(swp_offset(e), 1);
	swap_put_entries_direct(sw, e, 1);
}

TEST(alloc_with_discard_prefers_a_free_cluster)
{
	struct uswap *sw = t_engine();
	struct rec_dev *r = rec_create(sw, 3 * 512, T_SSD | SWAP_DEV_DISCARD);
	int type;
	swp_entry_t e;

	REQUIRE(r);
	type = swapon(sw, &r->dev, -1);
	REQUIRE_EQ(type, 0);
	CHECK(t_si(sw, type)->flags & SWP_DISCARDABLE);
	e = t_alloc_entry(sw, 0);
	CHECK(swp_offset(e) >= 512);
	swap_put_entries_direct(sw, e, 1);
}

TEST(alloc_discards_freed_clusters_before_reuse)
{
	struct uswap *sw = t_engine();
	struct rec_dev *r = rec_create(sw, 2 * 512, T_SSD | SWAP_DEV_DISCARD);
	struct swap_cluster_info *ci;
	swp_entry_t e, f;
	int type;

	REQUIRE(r);
	type = swapon(sw, &r->dev, -1);
	REQUIRE_EQ(type, 0);
	e = t_alloc_entry(sw, HPAGE_PMD_ORDER);
	REQUIRE_EQ(swp_offset(e), 512);
	ci = t_cluster(sw, e);
	swap_put_entries_direct(sw, e, 1 << HPAGE_PMD_ORDER);
	/* Emptied: waits for discard, not allocatable yet. */
	CHECK_EQ(ci->flags, CLUSTER_FLAG_DISCARD);
	CHECK(ci->table == NULL);
	CHECK_EQ(t_inuse(sw, type), 0);
	CHECK_EQ(r->nr_discards, 0);
	CHECK_EQ(swap_check_device(t_si(sw, type)), 0);

	f = t_alloc_entry(sw, HPAGE_PMD_ORDER);
	CHECK_EQ(swp_offset(f), 512);
	CHECK_EQ(r->nr_discards, 1);
	CHECK_EQ(r->discard_off[0], 512);
	CHECK_EQ(r->discard_nr[0], SWAPFILE_CLUSTER);
	CHECK(ci->flags != CLUSTER_FLAG_DISCARD);
	if (f.val)
		swap_put_entries_direct(sw, f, 1 << HPAGE_PMD_ORDER);
}

TEST(alloc_on_discard_device_without_discard_op)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 2 * 512, T_SSD | SWAP_DEV_DISCARD, -1);
	swp_entry_t e, f;

	REQUIRE_EQ(type, 0);
	e = t_alloc_entry(sw, HPAGE_PMD_ORDER);
	REQUIRE(e.val);
	swap_put_entries_direct(sw, e, 1 << HPAGE_PMD_ORDER);
	CHECK_EQ(t_cluster(sw, e)->flags, CLUSTER_FLAG_DISCARD);
	f = t_alloc_entry(sw, HPAGE_PMD_ORDER);
	CHECK_EQ(f.val, e.val);
	if (f.val)
		swap_put_entries_direct(sw, f, 1 << HPAGE_PMD_ORDER);
}

TEST(alloc_fails_cleanly_when_swap_table_cannot_be_allocated)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 2 * 512, T_SSD, -1);
	struct folio *folio = folio_alloc(sw, HPAGE_PMD_ORDER);

	REQUIRE_EQ(type, 0);
	REQUIRE(folio);
	folio_lock(folio);
	/* The only cluster that fits is free: it needs a table first. */
	arena_inject(sw->arena, 1, 0, 0);
	CHECK_EQ(folio_alloc_swap(folio), -ENOMEM);
	arena_inject(sw->arena, 0, 0, 0);
	CHECK(!folio_test_swapcache(folio));
	CHECK_EQ(folio_ref_count(folio), 1);
	CHECK_EQ(t_inuse(sw, type), 0);
	CHECK_EQ(swap_check_device(t_si(sw, type)), 0);
	CHECK_EQ(folio_alloc_swap(folio), 0);
	CHECK(t_release(folio));
}

TEST(alloc_refuses_folio_already_in_swap_cache)
{
	struct uswap *sw = t_engine();
	struct folio *folio;
	unsigned long warns;
	swp_entry_t entry;

	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	folio = t_swap_folio(sw, 0);
	REQUIRE(folio);
	entry = folio_swap_entry(folio);
	warns = warn_count();
	CHECK_EQ(folio_alloc_swap(folio), -EINVAL);
	CHECK(warn_count() > warns);
	CHECK_EQ(folio_swap_entry(folio).val, entry.val);
	CHECK_EQ(t_inuse(sw, 0), 1);
	CHECK(t_release(folio));
}

TEST(alloc_with_no_device_is_enomem)
{
	struct uswap *sw = t_engine();
	int err;

	CHECK(t_swap_folio_err(sw, 0, &err) == NULL);
	CHECK_EQ(err, -ENOMEM);
	CHECK_EQ(pool_live(&sw->folio_pool), 0);
}
