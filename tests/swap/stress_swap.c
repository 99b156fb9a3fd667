// SPDX-License-Identifier: MIT
/*
 * stress_swap.c - many threads on one engine at once: swap-out (allocate at
 * random orders, write, hand pages to owners), fork-like duplication, zap,
 * swap-in of shared entries (swap_cache_alloc_folio and swapin_folio racing
 * each other, reclaim and frees), cache reclaim and hibernation slots. Every
 * swapped-in page is checked against the pattern it was written with. At the
 * end the invariant checker must pass, and once everything is released no
 * slot may be in use and no folio alive. One page in eight is all zeros, so
 * the zero map is exercised too, alone and mixed into large folios.
 *
 * Owners stand in for page tables: an owner holds references to a run of
 * entries of one swap-out, under its own lock (the page-table lock that the
 * _direct helpers' contracts ask for).
 *
 * Usage: stress_swap [-s seed] -- [-T threads] [-S seconds] [-R intensity] [-P point]
 * (USWAP_STRESS_SECONDS overrides the default duration.)
 *
 * -R: race-point delay injection, 0 (off) to 3 (default 2 in builds with
 * race points): threads are delayed at the named windows between a check
 * and the action it guards, at rates drawn anew each second from the seed
 * (one seed, one sequence of choices). -P narrows the delays to the points
 * whose name contains the string. The points reached are printed at the
 * end. The discarding device poisons what it discards, so a slot read after
 * its cluster was discarded shows up as a pattern mismatch.
 *
 * Owns: the owner table. Locking: folio lock -> owner lock (LOCK_RANK_PTL);
 * a second owner lock is only ever trylocked.
 */
#include "swap_test.h"

#include <getopt.h>

#include "base/race.h"

#define NR_OWNERS   192
#define OWNER_MAX   16 /* entries one owner may hold */
#define TAG_STRIDE  1024
#define MAX_THREADS 64

struct owner {
	struct ulock ptl;   /* protects the fields below */
	unsigned long gen;  /* bumped on every change */
	swp_entry_t entry;  /* first entry of the run, 0 if empty */
	unsigned nr;	    /* run length */
	unsigned long mask; /* entries of the run still referenced */
	uint64_t tag;	    /* entry i of the run holds page_fill(tag + i) */
};

enum stat {
	ST_SWAPOUT,
	ST_SWAPOUT_ENOMEM,
	ST_LARGE_SWAPOUT,
	ST_DUP,
	ST_ZAP,
	ST_SWAPIN,
	ST_SWAPIN_LARGE,
	ST_SWAPIN_RACED,
	ST_FREED,
	ST_RECLAIMED,
	ST_HIBERNATE,
	ST_SWAPOFF_ABORTED,
	NR_STATS
};

static const char *const stat_names[NR_STATS] = {
	"swapout", "swapout_enomem", "large_swapout", "dup",
	"zap",	   "swapin",	     "swapin_large",  "swapin_raced",
	"freed",   "reclaimed",	     "hibernate",     "swapoff_aborted",
};

static struct {
	struct uswap *sw;
	int nr_types;
	struct owner owners[NR_OWNERS];
	uint64_t next_tag; /* atomic */
	int stop;	   /* atomic */
	unsigned long stats[NR_STATS];
} S;

struct thread {
	pthread_t tid;
	uint64_t rng;
};

/* One page in eight is all zeros (the zero map's business), chosen by tag. */
static bool tag_is_zero(uint64_t tag)
{
	return random_mix64(tag) >> 61 == 0;
}

static void page_fill(void *page, uint64_t tag)
{
	if (tag_is_zero(tag))
		memset(page, 0, PAGE_SIZE);
	else
		t_fill(page, tag);
}

static bool page_check(const void *page, uint64_t tag)
{
	if (tag_is_zero(tag))
		return t_is_zero(page);
	return t_check(page, tag);
}

static void stat_inc(enum stat s)
{
	atomic_fetch_add_relaxed(&S.stats[s], 1UL);
}

static unsigned rnd(struct thread *t, unsigned n)
{
	return (unsigned)(t_rand(&t->rng) % n);
}

static struct owner *random_owner(struct thread *t)
{
	return &S.owners[rnd(t, NR_OWNERS)];
}

static void owner_set(struct owner *o, swp_entry_t entry, unsigned nr, unsigned long mask,
		      uint64_t tag)
{
	o->entry = entry;
	o->nr = nr;
	o->mask = mask;
	o->tag = tag;
	o->gen++;
}

/* Drop every reference the owner holds, a run of set bits at a time. */
static void owner_zap(struct owner *o)
{
	unsigned i = 0;

	while (i < o->nr) {
		unsigned start;

		while (i < o->nr && !(o->mask & (1UL << i)))
			i++;
		start = i;
		while (i < o->nr && (o->mask & (1UL << i)))
			i++;
		if (i > start)
			swap_put_entries_direct(S.sw, (swp_entry_t){o->entry.val + start},
						(int)(i - start));
	}
	owner_set(o, (swp_entry_t){0}, 0, 0, 0);
}

static unsigned pick_order(struct thread *t)
{
	unsigned r = rnd(t, 100);

	if (r < 55)
		return 0;
	if (r < 99)
		return 1 + rnd(t, 4);
	return HPAGE_PMD_ORDER;
}

/* Give pages [i, i + nr) of a locked, written swap-cache folio to an owner. */
static void hand_out(struct thread *t, struct folio *folio, unsigned long i, unsigned nr,
		     uint64_t base)
{
	struct owner *o = random_owner(t);
	int err = 0;

	ulock_lock(&o->ptl);
	if (o->entry.val) {
		ulock_unlock(&o->ptl);
		return;
	}
	if (nr == folio_nr_pages(folio)) {
		err = folio_dup_swap(folio, NULL);
	} else {
		for (unsigned j = 0; j < nr && !err; j++)
			err = folio_dup_swap(folio, folio_page(folio, i + j));
	}
	if (err)
		test_fail(__FILE__, __LINE__, "folio_dup_swap: %d", err);
	else
		owner_set(o, t_entry(folio, i), nr, (1UL << nr) - 1, base + i);
	ulock_unlock(&o->ptl);
}

static void op_swapout(struct thread *t)
{
	unsigned order = pick_order(t);
	struct folio *folio = folio_alloc(S.sw, order);
	unsigned long nr, i = 0;
	uint64_t base;
	int err;

	if (!folio)
		return;
	nr = folio_nr_pages(folio);
	base = atomic_fetch_add_relaxed(&S.next_tag, (uint64_t)TAG_STRIDE);
	for (unsigned long p = 0; p < nr; p++)
		page_fill(folio_page(folio, p), base + p);
	folio_lock(folio);
	err = folio_alloc_swap(folio);
	if (err) {
		stat_inc(ST_SWAPOUT_ENOMEM);
		goto out;
	}
	stat_inc(order ? ST_LARGE_SWAPOUT : ST_SWAPOUT);
	while (i < nr) {
		unsigned run = 1;

		if (i == 0 && nr <= OWNER_MAX && rnd(t, 3) == 0)
			run = (unsigned)nr;
		else if (nr > 1)
			run = 1 + rnd(t, (unsigned)min(nr - i, (unsigned long)OWNER_MAX));
		if (rnd(t, 5))
			hand_out(t, folio, i, run, base);
		i += run;
	}
	err = swap_writeout(folio);
	if (err)
		test_fail(__FILE__, __LINE__, "swap_writeout: %d", err);
	/* Written and clean: reclaim leaves a shadow, or keeps it cached. */
	if (folio_test_swapcache(folio) && rnd(t, 2))
		swap_cache_del_folio(folio, (base >> 4) | 1);
out:
	folio_unlock(folio);
	folio_put(folio);
}

/* fork: a second owner takes references to everything the first holds. */
static void op_dup(struct thread *t)
{
	struct owner *a = random_owner(t), *b = random_owner(t);

	if (a == b)
		return;
	ulock_lock(&a->ptl);
	if (!a->entry.val || !ulock_trylock(&b->ptl)) {
		ulock_unlock(&a->ptl);
		return;
	}
	if (!b->entry.val) {
		for (unsigned i = 0; i < a->nr; i++) {
			int err;

			if (!(a->mask & (1UL << i)))
				continue;
			err = swap_dup_entry_direct(S.sw, (swp_entry_t){a->entry.val + i});
			if (err)
				test_fail(__FILE__, __LINE__, "swap_dup_entry_direct: %d", err);
		}
		owner_set(b, a->entry, a->nr, a->mask, a->tag);
		stat_inc(ST_DUP);
	}
	ulock_unlock(&b->ptl);
	ulock_unlock(&a->ptl);
}

static void op_zap(struct thread *t)
{
	struct owner *o = random_owner(t);

	ulock_lock(&o->ptl);
	if (o->entry.val) {
		owner_zap(o);
		stat_inc(ST_ZAP);
	}
	ulock_unlock(&o->ptl);
}

/*
 * The folio for @entry, locked and re-validated, read if it was new; or
 * NULL if the entry went away meanwhile.
 */
static struct folio *swapin_order0(struct thread *t, swp_entry_t entry)
{
	struct folio *folio, *mine;
	bool new_folio = false;

	if (rnd(t, 2)) {
		folio = swap_cache_alloc_folio(S.sw, entry, &new_folio);
		if (IS_ERR_OR_NULL(folio))
			return NULL;
		if (new_folio) {
			if (swap_read_folio(folio))
				test_fail(__FILE__, __LINE__, "swap_read_folio failed");
		} else {
			folio_lock(folio);
		}
	} else {
		/* A caller-provided folio; the cache may hold another already. */
		folio = swap_cache_get_folio(S.sw, entry);
		if (!folio) {
			mine = folio_alloc(S.sw, 0);
			if (!mine)
				return NULL;
			folio_lock(mine);
			folio = swapin_folio(S.sw, entry, mine);
			if (folio != mine) {
				folio_unlock(mine);
				folio_put(mine);
			}
			if (IS_ERR(folio))
				test_fail(__FILE__, __LINE__, "swapin_folio: %ld", PTR_ERR(folio));
			if (IS_ERR_OR_NULL(folio))
				return NULL;
			if (folio == mine)
				return folio;
		}
		folio_lock(folio);
	}
	if (!folio_matches_swap_entry(folio, entry)) {
		folio_unlock(folio);
		folio_put(folio);
		return NULL;
	}
	return folio;
}

/* Map page @i of @o's run from @folio: check it, drop the owner's count. */
static bool map_page(struct owner *o, unsigned long gen, struct folio *folio, unsigned i)
{
	swp_entry_t entry = {o->entry.val + i};
	unsigned long idx = swp_offset(entry) - swp_offset(folio_swap_entry(folio));

	if (o->gen != gen || !(o->mask & (1UL << i)))
		return false;
	if (!page_check(folio_page(folio, idx), o->tag + i))
		test_fail(__FILE__, __LINE__, "swap-in of %#lx: data mismatch (tag %" PRIu64 ")",
			  entry.val, o->tag + i);
	if (folio_put_swap(folio, folio_page(folio, idx)))
		test_fail(__FILE__, __LINE__, "folio_put_swap failed");
	o->mask &= ~(1UL << i);
	if (!o->mask)
		owner_set(o, (swp_entry_t){0}, 0, 0, 0);
	else
		o->gen++;
	return true;
}

/* The whole run of @o at once with a large folio (mTHP swap-in). */
static bool swapin_large(struct owner *o, unsigned long gen, swp_entry_t entry, unsigned nr,
			 uint64_t tag)
{
	struct folio *folio = folio_alloc(S.sw, (unsigned)__builtin_ctz(nr)), *got;
	bool done = false;

	if (!folio)
		return false;
	folio_lock(folio);
	got = swapin_folio(S.sw, entry, folio);
	if (IS_ERR(got))
		test_fail(__FILE__, __LINE__, "swapin_folio: %ld", PTR_ERR(got));
	if (got != folio) {
		/* Lost to another folio, or part of the run is gone. */
		folio_unlock(folio);
		folio_put(folio);
		return false;
	}
	ulock_lock(&o->ptl);
	if (o->gen == gen && o->mask == (1UL << nr) - 1) {
		for (unsigned i = 0; i < nr; i++)
			if (!page_check(folio_page(folio, i), tag + i))
				test_fail(__FILE__, __LINE__, "large swap-in: data mismatch");
		if (folio_put_swap(folio, NULL))
			test_fail(__FILE__, __LINE__, "folio_put_swap (all) failed");
		owner_set(o, (swp_entry_t){0}, 0, 0, 0);
		done = true;
	}
	ulock_unlock(&o->ptl);
	/* SYNC_IO-style: the slots are not needed once mapped. */
	if (folio_free_swap(folio))
		stat_inc(ST_FREED);
	folio_unlock(folio);
	folio_put(folio);
	return done;
}

static void op_swapin(struct thread *t)
{
	struct owner *o = random_owner(t);
	struct swap_info_struct *si;
	unsigned long gen, mask;
	struct folio *folio;
	swp_entry_t first, entry;
	unsigned nr, i;
	uint64_t tag;
	bool mapped;

	ulock_lock(&o->ptl);
	gen = o->gen;
	first = o->entry;
	nr = o->nr;
	mask = o->mask;
	tag = o->tag;
	ulock_unlock(&o->ptl);
	if (!first.val)
		return;
	si = get_swap_device(S.sw, first);
	if (!si) {
		test_fail(__FILE__, __LINE__, "get_swap_device failed for %#lx", first.val);
		return;
	}
	if (nr > 1 && !(nr & (nr - 1)) && IS_ALIGNED(swp_offset(first), nr) &&
	    mask == (1UL << nr) - 1 && rnd(t, 2)) {
		if (swapin_large(o, gen, first, nr, tag)) {
			stat_inc(ST_SWAPIN_LARGE);
			goto out;
		}
	}
	do {
		i = rnd(t, nr);
	} while (!(mask & (1UL << i)));
	entry = (swp_entry_t){first.val + i};
	folio = swapin_order0(t, entry);
	if (!folio) {
		stat_inc(ST_SWAPIN_RACED);
		goto out;
	}
	ulock_lock(&o->ptl);
	mapped = map_page(o, gen, folio, i);
	ulock_unlock(&o->ptl);
	stat_inc(mapped ? ST_SWAPIN : ST_SWAPIN_RACED);
	if (rnd(t, 2) && folio_free_swap(folio))
		stat_inc(ST_FREED);
	folio_unlock(folio);
	folio_put(folio);
out:
	put_swap_device(si);
}

static void op_reclaim(struct thread *t)
{
	unsigned type = rnd(t, (unsigned)S.nr_types);
	struct swap_info_struct *si = t_si(S.sw, (int)type);
	pgoff_t off = 1 + rnd(t, (unsigned)(si->max - 1));

	if (!swap_cache_has_folio(S.sw, swp_entry(type, off)))
		return;
	if (__try_to_reclaim_swap(si, off, rnd(t, 2) ? TTRS_ANYWAY : TTRS_UNMAPPED | TTRS_FULL) > 0)
		stat_inc(ST_RECLAIMED);
}

static void op_hibernate(struct thread *t)
{
	swp_entry_t e = swap_alloc_hibernation_slot(S.sw, rnd(t, (unsigned)S.nr_types));

	if (!e.val)
		return;
	if (swp_swapcount(S.sw, e) != 1 || swap_cache_has_folio(S.sw, e))
		test_fail(__FILE__, __LINE__, "hibernation slot %#lx not count 1, uncached", e.val);
	swap_free_hibernation_slot(S.sw, e);
	stat_inc(ST_HIBERNATE);
}

/* Take device 1 out of service for a moment and put it back (a signal). */
static void op_swapoff_abort(struct thread *t)
{
	if (swapoff_begin(S.sw, 1))
		return;
	for (int i = 0; i < 20; i++)
		op_swapin(t);
	swapoff_abort(S.sw, 1);
	stat_inc(ST_SWAPOFF_ABORTED);
}

static void *worker(void *arg)
{
	struct thread *t = arg;

	while (!atomic_load_acquire(&S.stop)) {
		unsigned r = rnd(t, 100);

		if (r < 30)
			op_swapout(t);
		else if (r < 40)
			op_dup(t);
		else if (r < 52)
			op_zap(t);
		else if (r < 92)
			op_swapin(t);
		else if (r < 99)
			op_reclaim(t);
		else if (rnd(t, 10))
			op_hibernate(t);
		else
			op_swapoff_abort(t);
	}
	return NULL;
}

struct options {
	unsigned intensity; /* race-point delays, 0: off */
	const char *points; /* only points containing this, NULL: all */
};

static void parse_args(int *threads, int *seconds, struct options *o)
{
	const char *env = getenv("USWAP_STRESS_SECONDS");
	char *argv[32] = {"stress_swap"};
	int argc = 1, opt;

	if (env)
		*seconds = atoi(env);
	/* test_argv holds what followed "--"; getopt wants a program name first. */
	for (int i = 0; i < test_argc && argc < 31; i++)
		argv[argc++] = test_argv[i];
	optind = 1;
	while ((opt = getopt(argc, argv, "T:S:R:P:")) != -1) {
		if (opt == 'T')
			*threads = atoi(optarg);
		else if (opt == 'S')
			*seconds = atoi(optarg);
		else if (opt == 'R')
			o->intensity = (unsigned)atoi(optarg);
		else if (opt == 'P')
			o->points = optarg;
	}
	o->intensity = min(o->intensity, 3U);
	*threads = clamp(*threads, 1, MAX_THREADS);
	*seconds = max(*seconds, 1);
}

/* Everything the owners hold, then every cache-only folio. */
static void release_everything(void)
{
	for (unsigned i = 0; i < NR_OWNERS; i++) {
		struct owner *o = &S.owners[i];

		ulock_lock(&o->ptl);
		if (o->entry.val)
			owner_zap(o);
		ulock_unlock(&o->ptl);
	}
	for (int type = 0; type < S.nr_types; type++) {
		struct swap_info_struct *si = t_si(S.sw, type);

		for (pgoff_t off = 1; off < si->max; off++)
			if (swap_cache_has_folio(S.sw, swp_entry((unsigned)type, off)))
				__try_to_reclaim_swap(si, off, TTRS_ANYWAY);
	}
}

TEST(stress_swap)
{
	static struct thread threads[MAX_THREADS];
	int nr_threads = 2, seconds = 3;
	struct uswap *sw = t_engine();
	struct options o = {.intensity = race_points_available() ? 2 : 0};

	parse_args(&nr_threads, &seconds, &o);
	printf("# stress_swap: %d threads, %d s, seed %" PRIu64 "\n", nr_threads, seconds,
	       test_seed);
	if (t_race_inject(o.intensity, o.points))
		return;
	memset(&S, 0, sizeof(S));
	S.sw = sw;
	S.next_tag = TAG_STRIDE;
	for (unsigned i = 0; i < NR_OWNERS; i++)
		ulock_init(&S.owners[i].ptl, LOCK_RANK_PTL);
	REQUIRE_EQ(t_ramdev(sw, 8 * 512, T_SSD, 10), 0);
	REQUIRE_EQ(t_ramdev(sw, 8 * 512 - 100, T_SSD | SWAP_DEV_DISCARD, 5), 1);
	REQUIRE_EQ(t_ramdev(sw, 8 * 512, SWAP_DEV_SYNC_IO, 5), 2);
	S.nr_types = 3;

	for (int i = 0; i < nr_threads; i++) {
		threads[i].rng = test_seed * 0x9e3779b97f4a7c15ULL + (uint64_t)i * 7919 + 1;
		REQUIRE_EQ(pthread_create(&threads[i].tid, NULL, worker, &threads[i]), 0);
	}
	/* Each second, the delays aim at another set of windows (same seed, same sequence). */
	for (int sec = 0; sec < seconds; sec++) {
		t_sleep_ms(1000);
		race_inject_phase((unsigned)sec + 1);
	}
	atomic_store_release(&S.stop, 1);
	for (int i = 0; i < nr_threads; i++)
		pthread_join(threads[i].tid, NULL);
	race_inject_stop();

	for (int s = 0; s < NR_STATS; s++)
		printf("# %-16s %lu\n", stat_names[s], S.stats[s]);
	printf("# %-16s %lu\n", "cache_eexist",
	       vm_event_read(sw_events(sw), swap_cache_add_eexist));
	printf("# %-16s %lu\n", "swpout_zero", vm_event_read(sw_events(sw), swpout_zero));
	printf("# %-16s %lu\n", "swpin_zero", vm_event_read(sw_events(sw), swpin_zero));
	printf("# %-16s %lu\n", "discarded", ramdev_discarded(t_si(sw, 1)->dev));
	if (o.intensity)
		race_inject_report(stdout);
	CHECK_EQ(swap_check_all(sw), 0);
	CHECK(S.stats[ST_SWAPIN] > 0);
	CHECK(S.stats[ST_DUP] > 0);

	release_everything();
	for (int type = 0; type < S.nr_types; type++)
		CHECK_EQ(t_inuse(sw, type), 0);
	CHECK_EQ(get_nr_swap_pages(sw), sw->total_swap_pages);
	CHECK_EQ(pool_live(&sw->folio_pool), 0);
	CHECK_EQ(swap_check_all(sw), 0);
}
