// SPDX-License-Identifier: MIT
/*
 * test_cache.c - the swap cache after phase II (docs/kernel-reference.md §5):
 * lookups, the checked add (-EEXIST, -ENOENT, shadows handed back), delete
 * with a shadow (count-0 slots freed at once), replace, and swap-in
 * preparation: swap_cache_alloc_folio() and swapin_folio(), including two
 * threads racing for one entry (one winner, one folio, the loser sleeping
 * on the winner's lock until its read is done).
 *
 * Owns: nothing. Locking: the race test uses two threads per round.
 */
#include "swap_test.h"

static struct uswap *engine_with_device(void)
{
	struct uswap *sw = t_engine();

	if (t_ramdev(sw, 4 * 512, T_SSD, -1) != 0)
		test_fail(__FILE__, __LINE__, "swapon failed");
	return sw;
}

/*
 * Swap out a folio of @order whose page i holds t_fill(tag + i): allocate,
 * write, count 1 per slot, then drop it from the cache leaving @shadow.
 * Return: the first entry, or 0.
 */
static swp_entry_t swap_out(struct uswap *sw, unsigned order, uint64_t tag, unsigned long shadow)
{
	struct folio *folio = folio_alloc(sw, order);
	swp_entry_t entry;

	if (!folio)
		return (swp_entry_t){0};
	for (unsigned long i = 0; i < folio_nr_pages(folio); i++)
		t_fill(folio_page(folio, i), tag + i);
	folio_lock(folio);
	if (folio_alloc_swap(folio)) {
		folio_unlock(folio);
		folio_put(folio);
		return (swp_entry_t){0};
	}
	entry = folio_swap_entry(folio);
	if (folio_dup_swap(folio, NULL) || swap_writeout(folio))
		test_fail(__FILE__, __LINE__, "dup or writeout failed");
	swap_cache_del_folio(folio, shadow);
	folio_unlock(folio);
	folio_put(folio);
	return entry;
}

/* Drop the count of a swapped-in folio and free its slots. Folio locked. */
static void drop_swapped_in(struct folio *folio)
{
	CHECK_EQ(folio_put_swap(folio, NULL), 0);
	CHECK(t_release(folio));
}

TEST(cache_lookup_misses_on_an_empty_slot)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = swp_entry(0, 10);
	bool found = true;

	CHECK(swap_cache_get_folio(sw, e) == NULL);
	CHECK(!swap_cache_has_folio(sw, e));
	CHECK_EQ(swap_cache_get_shadow(sw, e, &found), 0);
	CHECK(!found);
	/* A cluster without a table reads as empty too. */
	CHECK(swap_cache_get_folio(sw, swp_entry(0, 1500)) == NULL);
	CHECK(!swap_cache_has_folio(sw, swp_entry(0, 1500)));
}

TEST(cache_get_folio_finds_a_large_folio_at_every_slot)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 3);

	REQUIRE(folio);
	for (unsigned long i = 0; i < 8; i++) {
		struct folio *found = swap_cache_get_folio(sw, t_entry(folio, i));

		CHECK(found == folio);
		CHECK_EQ(folio_ref_count(folio), 1 + 8 + 1);
		CHECK(swap_cache_has_folio(sw, t_entry(folio, i)));
		CHECK(folio_matches_swap_entry(folio, t_entry(folio, i)));
		if (found)
			folio_put(found);
	}
	CHECK(!folio_matches_swap_entry(folio, t_entry(folio, 8)));
	CHECK(t_release(folio));
}

TEST(cache_add_is_eexist_when_a_slot_holds_a_folio)
{
	struct uswap *sw = engine_with_device();
	struct folio *a = t_swap_folio(sw, 2), *b = folio_alloc(sw, 0);
	unsigned long eexist = vm_event_read(sw_events(sw), swap_cache_add_eexist);

	REQUIRE(a && b);
	CHECK_EQ(folio_dup_swap(a, NULL), 0);
	/* A second folio lock may only be trylocked (lock order). */
	REQUIRE(folio_trylock(b));
	CHECK_EQ(swap_cache_add_folio(b, t_entry(a, 1), NULL), -EEXIST);
	CHECK(!folio_test_swapcache(b));
	CHECK_EQ(folio_ref_count(b), 1);
	CHECK(swap_cache_get_folio(sw, t_entry(a, 1)) == a);
	folio_put(a);
	CHECK_EQ(vm_event_read(sw_events(sw), swap_cache_add_eexist), eexist + 1);
	folio_unlock(b);
	folio_put(b);
	drop_swapped_in(a);
}

TEST(cache_add_is_eexist_for_a_cache_only_slot)
{
	struct uswap *sw = engine_with_device();
	struct folio *a = t_swap_folio(sw, 0), *b = folio_alloc(sw, 0);

	REQUIRE(a && b);
	REQUIRE(folio_trylock(b));
	/* Count 0 but cached: the folio wins over the count check. */
	CHECK_EQ(swap_cache_add_folio(b, folio_swap_entry(a), NULL), -EEXIST);
	folio_unlock(b);
	folio_put(b);
	CHECK(t_release(a));
}

TEST(cache_add_is_enoent_for_a_count_zero_slot)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = swap_out(sw, 1, 1, 0);
	struct folio *small = folio_alloc(sw, 0), *pair = folio_alloc(sw, 1);

	REQUIRE(e.val && small && pair);
	swap_put_entries_direct(sw, (swp_entry_t){e.val + 1}, 1);
	folio_lock(small);
	REQUIRE(folio_trylock(pair));
	CHECK_EQ(swap_cache_add_folio(small, (swp_entry_t){e.val + 1}, NULL), -ENOENT);
	/* One slot of two freed: the pair is not added, not even half. */
	CHECK_EQ(swap_cache_add_folio(pair, e, NULL), -ENOENT);
	CHECK(!folio_test_swapcache(small));
	CHECK(!folio_test_swapcache(pair));
	CHECK(!swap_cache_has_folio(sw, e));
	CHECK_EQ(folio_ref_count(pair), 1);
	folio_unlock(pair);
	folio_unlock(small);
	folio_put(pair);
	folio_put(small);
	swap_put_entries_direct(sw, e, 1);
}

TEST(cache_add_is_enoent_for_a_freed_slot)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = swap_out(sw, 0, 1, 0);
	struct folio *f = folio_alloc(sw, 0);

	REQUIRE(e.val && f);
	swap_put_entries_direct(sw, e, 1);
	folio_lock(f);
	CHECK_EQ(swap_cache_add_folio(f, e, NULL), -ENOENT);
	folio_unlock(f);
	folio_put(f);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(cache_add_is_enoent_without_a_table_or_on_a_bad_slot)
{
	struct uswap *sw = engine_with_device();
	struct folio *f = folio_alloc(sw, 0);

	REQUIRE(f);
	folio_lock(f);
	REQUIRE(t_cluster(sw, swp_entry(0, 1500))->table == NULL);
	CHECK_EQ(swap_cache_add_folio(f, swp_entry(0, 1500), NULL), -ENOENT);
	/* Slot 0 is bad (the header); its cluster has a table. */
	REQUIRE(t_cluster(sw, swp_entry(0, 0))->table != NULL);
	CHECK_EQ(swap_cache_add_folio(f, swp_entry(0, 0), NULL), -ENOENT);
	CHECK(!folio_test_swapcache(f));
	folio_unlock(f);
	folio_put(f);
}

TEST(cache_add_refuses_a_misaligned_entry)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = swap_out(sw, 2, 1, 0);
	struct folio *f = folio_alloc(sw, 1);
	unsigned long warns = warn_count();

	REQUIRE(e.val && f);
	folio_lock(f);
	CHECK_EQ(swap_cache_add_folio(f, (swp_entry_t){e.val + 1}, NULL), -EINVAL);
	CHECK(warn_count() > warns);
	CHECK(!folio_test_swapcache(f));
	folio_unlock(f);
	folio_put(f);
	swap_put_entries_direct(sw, e, 4);
}

TEST(cache_add_hands_back_the_shadow_and_takes_references)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = swap_out(sw, 1, 1, 0x1234);
	struct folio *f = folio_alloc(sw, 1);
	unsigned long shadow = 0;
	bool found;

	REQUIRE(e.val && f);
	CHECK_EQ(swap_cache_get_shadow(sw, e, &found), 0x1234);
	CHECK(found);
	folio_lock(f);
	CHECK_EQ(swap_cache_add_folio(f, e, &shadow), 0);
	CHECK_EQ(shadow, 0x1234);
	CHECK(folio_test_swapcache(f));
	CHECK_EQ(folio_swap_entry(f).val, e.val);
	CHECK_EQ(folio_ref_count(f), 1 + 2);
	CHECK(!swap_cache_get_shadow(sw, e, &found) && !found);
	CHECK(swap_cache_has_folio(sw, (swp_entry_t){e.val + 1}));
	CHECK_EQ(t_inuse(sw, 0), 2);
	drop_swapped_in(f);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(cache_del_leaves_shadows_on_counted_slots_and_frees_the_rest)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 2);
	struct swap_cluster_info *ci;
	swp_entry_t e;
	bool found;

	REQUIRE(folio);
	e = folio_swap_entry(folio);
	CHECK_EQ(folio_dup_swap(folio, folio_page(folio, 0)), 0);
	CHECK_EQ(folio_dup_swap(folio, folio_page(folio, 2)), 0);
	ci = swap_cluster_get_and_lock(folio);
	__swap_cache_del_folio(ci, folio, e, 0x77);
	swap_cluster_unlock(ci);
	/* The cache's references are the caller's to drop. */
	CHECK_EQ(folio_ref_count(folio), 1 + 4);
	folio_put_refs(folio, 4);
	CHECK(!folio_test_swapcache(folio));
	CHECK_EQ(folio_swap_entry(folio).val, 0);
	CHECK_EQ(t_inuse(sw, 0), 2);
	for (unsigned long i = 0; i < 4; i++) {
		swp_entry_t s = {e.val + i};

		CHECK(!swap_cache_has_folio(sw, s));
		if (i % 2 == 0) {
			CHECK_EQ(swap_cache_get_shadow(sw, s, &found), 0x77);
			CHECK(found);
			CHECK_EQ(swp_swapcount(sw, s), 1);
		} else {
			CHECK_EQ(swap_cache_get_shadow(sw, s, &found), 0);
			CHECK(!found);
			CHECK_EQ(t_map(sw, s), 0);
		}
	}
	CHECK_EQ(swap_check_device(t_si(sw, 0)), 0);
	folio_unlock(folio);
	folio_put(folio);
	/* Freeing a slot drops its shadow. */
	swap_put_entries_direct(sw, e, 1);
	swap_put_entries_direct(sw, (swp_entry_t){e.val + 2}, 1);
	CHECK(!swap_cache_get_shadow(sw, e, &found) && !found);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(cache_del_without_shadow_keeps_counted_slots)
{
	struct uswap *sw = engine_with_device();
	struct folio *folio = t_swap_folio(sw, 0);
	swp_entry_t e;
	bool found;

	REQUIRE(folio);
	e = folio_swap_entry(folio);
	CHECK_EQ(folio_dup_swap(folio, NULL), 0);
	swap_cache_del_folio(folio, 0);
	CHECK_EQ(folio_ref_count(folio), 1);
	CHECK(!swap_cache_get_shadow(sw, e, &found) && !found);
	CHECK(!swap_cache_has_folio(sw, e));
	CHECK_EQ(swp_swapcount(sw, e), 1);
	CHECK_EQ(t_inuse(sw, 0), 1);
	folio_unlock(folio);
	folio_put(folio);
	swap_put_entries_direct(sw, e, 1);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(cache_replace_moves_every_slot_to_the_new_folio)
{
	struct uswap *sw = engine_with_device();
	struct folio *old = t_swap_folio(sw, 1), *new = folio_alloc(sw, 1);
	struct swap_cluster_info *ci;
	swp_entry_t e;

	REQUIRE(old && new);
	e = folio_swap_entry(old);
	CHECK_EQ(folio_dup_swap(old, NULL), 0);
	CHECK(folio_trylock(new));
	ci = swap_cluster_get_and_lock(old);
	__swap_cache_replace_folio(ci, old, new);
	swap_cluster_unlock(ci);
	folio_put_refs(old, 2);
	CHECK(!folio_test_swapcache(old));
	CHECK_EQ(folio_swap_entry(old).val, 0);
	CHECK_EQ(folio_ref_count(old), 1);
	CHECK(folio_test_swapcache(new));
	CHECK_EQ(folio_swap_entry(new).val, e.val);
	CHECK_EQ(folio_ref_count(new), 1 + 2);
	for (unsigned long i = 0; i < 2; i++) {
		struct folio *found = swap_cache_get_folio(sw, (swp_entry_t){e.val + i});

		CHECK(found == new);
		if (found)
			folio_put(found);
		CHECK_EQ(swp_swapcount(sw, (swp_entry_t){e.val + i}), 1);
	}
	folio_unlock(old);
	folio_put(old);
	drop_swapped_in(new);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(cache_alloc_folio_adds_a_new_locked_folio)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = swap_out(sw, 0, 5, 0);
	struct folio *f;
	bool new_folio = false;

	REQUIRE(e.val);
	f = swap_cache_alloc_folio(sw, e, &new_folio);
	REQUIRE(!IS_ERR_OR_NULL(f));
	CHECK(new_folio);
	CHECK(folio_test_locked(f));
	CHECK(folio_test_swapcache(f));
	CHECK_EQ(folio_swap_entry(f).val, e.val);
	CHECK_EQ(folio_order(f), 0);
	/* Ours and the cache's. */
	CHECK_EQ(folio_ref_count(f), 2);
	CHECK_EQ(swap_read_folio(f), 0);
	CHECK(t_check(f->data, 5));
	drop_swapped_in(f);
}

TEST(cache_alloc_folio_second_call_returns_the_cached_folio)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = swap_out(sw, 0, 5, 0);
	struct folio *f, *g;
	bool new_folio;

	REQUIRE(e.val);
	f = swap_cache_alloc_folio(sw, e, &new_folio);
	REQUIRE(!IS_ERR_OR_NULL(f) && new_folio);
	CHECK_EQ(swap_read_folio(f), 0);
	folio_unlock(f);
	g = swap_cache_alloc_folio(sw, e, &new_folio);
	CHECK(g == f);
	CHECK(!new_folio);
	CHECK(!folio_test_locked(f));
	CHECK_EQ(folio_ref_count(f), 3);
	if (g == f)
		folio_put(g);
	folio_lock(f);
	drop_swapped_in(f);
}

TEST(cache_alloc_folio_returns_a_cache_only_folio)
{
	struct uswap *sw = engine_with_device();
	struct folio *a = t_swap_folio(sw, 0), *f;
	bool new_folio = true;

	REQUIRE(a);
	folio_unlock(a);
	f = swap_cache_alloc_folio(sw, folio_swap_entry(a), &new_folio);
	CHECK(f == a);
	CHECK(!new_folio);
	if (f == a)
		folio_put(f);
	folio_lock(a);
	CHECK(t_release(a));
}

TEST(cache_alloc_folio_is_null_for_an_entry_not_swapped)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = swap_out(sw, 1, 5, 0);
	bool new_folio = true;

	REQUIRE(e.val);
	swap_put_entries_direct(sw, e, 1);
	CHECK(swap_cache_alloc_folio(sw, e, &new_folio) == NULL);
	CHECK(!new_folio);
	CHECK(swap_cache_alloc_folio(sw, swp_entry(0, 1500), &new_folio) == NULL);
	CHECK_EQ(pool_live(&sw->folio_pool), 0);
	swap_put_entries_direct(sw, (swp_entry_t){e.val + 1}, 1);
}

TEST(cache_alloc_folio_is_enomem_without_memory)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = swap_out(sw, 0, 5, 0);
	struct folio *f;
	bool new_folio;

	REQUIRE(e.val);
	arena_inject(sw->arena, 1, 0, 0);
	f = swap_cache_alloc_folio(sw, e, &new_folio);
	arena_inject(sw->arena, 0, 0, 0);
	CHECK(f == ERR_PTR(-ENOMEM));
	CHECK(!swap_cache_has_folio(sw, e));
	CHECK_EQ(swp_swapcount(sw, e), 1);
	swap_put_entries_direct(sw, e, 1);
}

static struct folio *refault_folio;
static unsigned long refault_shadow;

static void record_refault(struct folio *folio, unsigned long shadow)
{
	refault_folio = folio;
	refault_shadow = shadow;
}

TEST(cache_alloc_folio_reports_a_refault_of_a_shadow)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = swap_out(sw, 0, 5, 0xabc);
	struct folio *f;
	bool new_folio;

	REQUIRE(e.val);
	refault_folio = NULL;
	sw->workingset_refault = record_refault;
	f = swap_cache_alloc_folio(sw, e, &new_folio);
	sw->workingset_refault = NULL;
	REQUIRE(!IS_ERR_OR_NULL(f));
	CHECK(refault_folio == f);
	CHECK_EQ(refault_shadow, 0xabc);
	CHECK_EQ(swap_read_folio(f), 0);
	drop_swapped_in(f);
}

TEST(swapin_folio_reads_an_order0_folio)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = swap_out(sw, 0, 42, 0);
	struct folio *f = folio_alloc(sw, 0), *got;

	REQUIRE(e.val && f);
	folio_lock(f);
	got = swapin_folio(sw, e, f);
	CHECK(got == f);
	CHECK(folio_test_uptodate(f));
	CHECK(folio_test_swapcache(f));
	CHECK(folio_test_locked(f));
	CHECK(t_check(f->data, 42));
	drop_swapped_in(f);
}

TEST(swapin_folio_reads_a_large_folio)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = swap_out(sw, 4, 1000, 0);
	struct folio *f = folio_alloc(sw, 4);

	REQUIRE(e.val && f);
	folio_lock(f);
	CHECK(swapin_folio(sw, e, f) == f);
	for (unsigned long i = 0; i < 16; i++)
		CHECK(t_check(folio_page(f, i), 1000 + i));
	for (unsigned long i = 0; i < 16; i++)
		CHECK(swap_cache_get_folio(sw, t_entry(f, i)) == f);
	folio_put_refs(f, 16);
	drop_swapped_in(f);
}

TEST(swapin_folio_large_loser_gets_nothing)
{
	struct uswap *sw = engine_with_device();
	struct folio *winner = t_swap_folio(sw, 2), *loser = folio_alloc(sw, 2);

	REQUIRE(winner && loser);
	CHECK_EQ(folio_dup_swap(winner, NULL), 0);
	REQUIRE(folio_trylock(loser));
	CHECK(swapin_folio(sw, t_entry(winner, 0), loser) == NULL);
	CHECK(!folio_test_swapcache(loser));
	CHECK_EQ(folio_ref_count(loser), 1);
	CHECK_EQ(folio_ref_count(winner), 1 + 4);
	folio_unlock(loser);
	folio_put(loser);
	drop_swapped_in(winner);
}

TEST(swapin_folio_order0_loser_gets_the_winners_folio)
{
	struct uswap *sw = engine_with_device();
	struct folio *winner = t_swap_folio(sw, 0), *loser = folio_alloc(sw, 0), *got;

	REQUIRE(winner && loser);
	CHECK_EQ(folio_dup_swap(winner, NULL), 0);
	folio_unlock(winner);
	folio_lock(loser);
	got = swapin_folio(sw, folio_swap_entry(winner), loser);
	CHECK(got == winner);
	CHECK(!folio_test_swapcache(loser));
	CHECK_EQ(folio_ref_count(winner), 1 + 1 + 1);
	folio_unlock(loser);
	folio_put(loser);
	if (got == winner)
		folio_put(got);
	folio_lock(winner);
	drop_swapped_in(winner);
}

TEST(swapin_folio_of_a_freed_entry_gets_nothing)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = swap_out(sw, 0, 1, 0);
	struct folio *f = folio_alloc(sw, 0);

	REQUIRE(e.val && f);
	swap_put_entries_direct(sw, e, 1);
	folio_lock(f);
	CHECK(swapin_folio(sw, e, f) == NULL);
	CHECK(!folio_test_swapcache(f));
	folio_unlock(f);
	folio_put(f);
}

TEST(swapin_folio_read_error_leaves_nothing_in_the_cache)
{
	struct uswap *sw = engine_with_device();
	swp_entry_t e = swap_out(sw, 0, 9, 0);
	struct folio *f = folio_alloc(sw, 0), *got;
	unsigned long fails = vm_event_read(sw_events(sw), swpin_fail);

	REQUIRE(e.val && f);
	ramdev_inject(t_si(sw, 0)->dev, 1, 0, -EIO);
	folio_lock(f);
	got = swapin_folio(sw, e, f);
	ramdev_inject(t_si(sw, 0)->dev, 0, 0, 0);
	CHECK(got == ERR_PTR(-EIO));
	CHECK(!folio_test_swapcache(f));
	CHECK(!folio_test_uptodate(f));
	CHECK_EQ(folio_ref_count(f), 1);
	CHECK(!swap_cache_has_folio(sw, e));
	CHECK_EQ(swp_swapcount(sw, e), 1);
	CHECK_EQ(vm_event_read(sw_events(sw), swpin_fail), fails + 1);
	/* The next fault retries and succeeds. */
	CHECK(swapin_folio(sw, e, f) == f);
	CHECK(t_check(f->data, 9));
	drop_swapped_in(f);
}

struct racer {
	struct uswap *sw;
	swp_entry_t entry;
	pthread_barrier_t *barrier;
	int *winner_unlocked; /* atomic: set just before the winner unlocks */
	struct folio *got;
	bool new_folio;
	bool waited;   /* the loser found the folio locked */
	bool in_order; /* the loser got the lock only after the winner's unlock */
	bool data_ok;
};

static void *racer_fn(void *arg)
{
	struct racer *r = arg;
	struct folio *f;

	pthread_barrier_wait(r->barrier);
	f = swap_cache_alloc_folio(r->sw, r->entry, &r->new_folio);
	r->got = f;
	if (IS_ERR_OR_NULL(f))
		return NULL;
	if (r->new_folio) {
		/* Hold the lock across a slow read: the loser must sleep on it. */
		t_sleep_ms(2);
		r->data_ok = swap_read_folio(f) == 0 && t_check(f->data, 77);
		atomic_store_release(r->winner_unlocked, 1);
		folio_unlock(f);
		return NULL;
	}
	r->waited = folio_test_locked(f);
	folio_lock(f);
	r->in_order = atomic_load_acquire(r->winner_unlocked);
	r->data_ok = folio_test_uptodate(f) && t_check(f->data, 77);
	folio_unlock(f);
	return NULL;
}

TEST(cache_alloc_folio_race_has_one_winner_and_one_folio)
{
	struct uswap *sw = engine_with_device();
	unsigned waited = 0;

	for (int round = 0; round < 100; round++) {
		swp_entry_t e = swap_out(sw, 0, 77, 0);
		pthread_barrier_t barrier;
		int winner_unlocked = 0;
		struct racer r[2];
		pthread_t t[2];

		REQUIRE(e.val);
		pthread_barrier_init(&barrier, NULL, 2);
		for (int i = 0; i < 2; i++) {
			r[i] = (struct racer){.sw = sw,
					      .entry = e,
					      .barrier = &barrier,
					      .winner_unlocked = &winner_unlocked};
			REQUIRE_EQ(pthread_create(&t[i], NULL, racer_fn, &r[i]), 0);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&barrier);
		REQUIRE(!IS_ERR_OR_NULL(r[0].got) && !IS_ERR_OR_NULL(r[1].got));
		CHECK(r[0].got == r[1].got);
		CHECK_EQ(r[0].new_folio + r[1].new_folio, 1);
		for (int i = 0; i < 2; i++) {
			CHECK(r[i].data_ok);
			if (!r[i].new_folio) {
				CHECK(r[i].in_order);
				waited += r[i].waited;
			}
		}
		/* The owner's put: the cached folio is reclaimed with the slot. */
		swap_put_entries_direct(sw, e, 1);
		CHECK(!folio_test_swapcache(r[0].got));
		folio_put(r[0].got);
		folio_put(r[1].got);
		CHECK_EQ(t_inuse(sw, 0), 0);
	}
	/* Most rounds the loser met the winner's lock held. */
	CHECK(waited > 10);
	CHECK_EQ(pool_live(&sw->folio_pool), 0);
}
