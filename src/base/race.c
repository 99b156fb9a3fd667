/* SPDX-License-Identifier: MIT */
/*
 * race.c - race points: hooks for deterministic tests and seeded delay
 * injection for stress tests (see race.h).
 *
 * Owns: the hook, the injection seed, intensity and selection, and a fixed
 * table of the points reached (insert-only, open addressing on the name's
 * hash).
 * Locking: every field is accessed atomically; a slot's name is published
 * with a compare-and-swap, its counters are relaxed adds.
 */
#include "race.h"

#include <errno.h>
#include <sched.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atomic.h"
#include "random.h"

#ifdef USWAP_DEBUG

#define RACE_SLOTS	    256	 /* power of two, well above the number of call sites */
#define RACE_FULL_RATE_HITS 2048 /* hits of a point delayed at its full rate */

struct race_slot {
	const char *name;     /* published once (cmpxchg), then read-only */
	unsigned long hits;   /* times reached while armed */
	unsigned long delays; /* times a delay was injected */
};

int race_armed; /* hook or injection on */
static race_hook_t race_hook;
static void *race_hook_arg;
static uint64_t race_seed;	 /* the run's seed */
static uint64_t race_phase_seed; /* the rates' seed: the run's, mixed with the phase */
static unsigned race_intensity;
static unsigned race_reported_intensity; /* of the last start, for the report */
static const char *race_match;		 /* NULL: delays at every point the seed picks */
static struct race_slot race_slots[RACE_SLOTS];
static _Thread_local uint64_t race_rng;

static uint64_t race_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

/*
 * MurmurHash3's finalizer, not random.h's random_mix64(): it fixes which
 * points and rates each stress seed picks, and the seeds recorded in
 * docs/races.md replay their runs only while it stays the same.
 */
static uint64_t race_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static uint64_t race_next(void)
{
	if (!race_rng) {
		static unsigned long threads;

		race_rng = race_mix(atomic_load_relaxed(&race_seed) ^
				    (atomic_fetch_add_relaxed(&threads, 1) + 1) *
					    0x9e3779b97f4a7c15ULL);
		race_rng |= 1;
	}
	return random_next(&race_rng);
}

/* Sleeps as short as asked: without this the kernel adds up to 50 us of slack. */
static void race_thread_init(void)
{
	static _Thread_local bool done;

	if (!done) {
		prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
		done = true;
	}
}

static struct race_slot *race_slot_of(const char *name, uint64_t h)
{
	for (unsigned i = 0; i < RACE_SLOTS; i++) {
		struct race_slot *s = &race_slots[(h + i) & (RACE_SLOTS - 1)];
		const char *cur = atomic_load_acquire(&s->name);

		if (!cur) {
			const char *expected = NULL;

			if (atomic_cmpxchg_acq_rel(&s->name, &expected, name))
				return s;
			cur = expected;
		}
		if (cur == name || !strcmp(cur, name))
			return s;
	}
	return NULL; /* table full: the point is still hooked, just not counted */
}

/*
 * The seed gives each point a rate: half the points are left alone,
 * the others delay one hit in 2^k, k from 1 to 6, lowered by the intensity.
 * Different seeds so stress different windows. Return: log2 of the rate's
 * inverse, or 0 for a point left alone. (__race_point() lowers the rate
 * further as the point's hits grow.)
 */
static unsigned race_rate_shift(uint64_t h, uint64_t seed, unsigned intensity)
{
	uint64_t rate = race_mix(h ^ seed);

	if (!intensity || (rate & 1) == 0)
		return 0;
	return (unsigned)((rate >> 2) % 6) + 4 - intensity;
}

static bool race_selected(const char *name)
{
	const char *match = atomic_load_acquire(&race_match);

	return !match || strstr(name, match);
}

void __race_point(const char *name)
{
	race_hook_t hook = atomic_load_acquire(&race_hook);
	unsigned intensity = atomic_load_relaxed(&race_intensity), shift;
	bool aimed = false;
	uint64_t h = race_hash(name);
	struct race_slot *slot = race_slot_of(name, h);
	uint64_t r;

	if (slot)
		atomic_fetch_add_relaxed(&slot->hits, 1);
	if (hook)
		hook(name, atomic_load_relaxed(&race_hook_arg));
	if (atomic_load_relaxed(&race_match)) {
		/* Aimed (race_inject_select): every selected point, at 1 in 2. */
		if (!intensity || !race_selected(name))
			return;
		aimed = true;
		shift = 1;
	} else {
		shift = race_rate_shift(h, atomic_load_relaxed(&race_phase_seed), intensity);
		if (!shift)
			return;
	}
	/*
	 * One hit in 2^shift for a point's first RACE_FULL_RATE_HITS hits,
	 * then ever more rarely (the rate falls as 1/hits, so the delays grow
	 * only with the logarithm of the hits): a point on a hot path (a
	 * million hits) is delayed some thousand times, not half a million,
	 * and does not stall the run, while a rare window (a split, a few
	 * thousand hits a run) is delayed at its full rate.
	 */
	if (slot) {
		unsigned long hits = atomic_load_relaxed(&slot->hits);

		if (hits > RACE_FULL_RATE_HITS)
			shift += 63 - (unsigned)__builtin_clzl(hits / RACE_FULL_RATE_HITS);
	}
	r = race_next();
	if (r & ((1ULL << min(shift, 40U)) - 1))
		return;
	if (slot)
		atomic_fetch_add_relaxed(&slot->delays, 1);
	race_thread_init();
	/* Half yield; of the sleeps, most are 1-200 us, one in eight up to 2 ms. */
	if (!aimed && ((r >> 20) & 1)) {
		sched_yield();
	} else {
		long us = 1 + (long)((r >> 32) % 200);
		struct timespec ts;

		/* Aimed at a window: long enough for the others to act in it. */
		if (aimed || ((r >> 24) & 7) == 0)
			us *= 10;
		ts.tv_sec = 0;
		ts.tv_nsec = us * 1000;
		nanosleep(&ts, NULL);
	}
}

static void race_rearm(void)
{
	atomic_store_release(&race_armed, atomic_load_relaxed(&race_hook) ||
						  atomic_load_relaxed(&race_intensity));
}

int race_set_hook(race_hook_t hook, void *arg)
{
	atomic_store_relaxed(&race_hook_arg, arg);
	atomic_store_release(&race_hook, hook);
	race_rearm();
	return 0;
}

int race_inject_start(uint64_t seed, unsigned intensity)
{
	for (unsigned i = 0; i < RACE_SLOTS; i++) {
		atomic_store_relaxed(&race_slots[i].hits, 0UL);
		atomic_store_relaxed(&race_slots[i].delays, 0UL);
	}
	atomic_store_relaxed(&race_seed, seed);
	atomic_store_relaxed(&race_phase_seed, seed);
	atomic_store_relaxed(&race_reported_intensity, intensity > 3 ? 3 : intensity);
	atomic_store_release(&race_intensity, intensity > 3 ? 3 : intensity);
	race_rearm();
	return 0;
}

void race_inject_stop(void)
{
	atomic_store_release(&race_intensity, 0);
	race_rearm();
}

int race_inject_select(const char *match)
{
	atomic_store_release(&race_match, match && *match ? match : NULL);
	return 0;
}

int race_inject_phase(unsigned phase)
{
	uint64_t seed = atomic_load_relaxed(&race_seed);

	atomic_store_relaxed(&race_phase_seed,
			     phase ? race_mix(seed + phase * 0x9e3779b97f4a7c15ULL) : seed);
	return 0;
}

static int race_slot_cmp(const void *a, const void *b)
{
	return strcmp((*(struct race_slot *const *)a)->name, (*(struct race_slot *const *)b)->name);
}

unsigned race_inject_report(FILE *out)
{
	struct race_slot *sorted[RACE_SLOTS];
	uint64_t seed = atomic_load_relaxed(&race_phase_seed);
	unsigned intensity = atomic_load_relaxed(&race_reported_intensity), n = 0;
	unsigned long hits = 0, delays = 0;

	for (unsigned i = 0; i < RACE_SLOTS; i++) {
		struct race_slot *s = &race_slots[i];

		if (atomic_load_acquire(&s->name) && atomic_load_relaxed(&s->hits))
			sorted[n++] = s;
	}
	if (!out)
		return n;
	qsort(sorted, n, sizeof(sorted[0]), race_slot_cmp);
	for (unsigned i = 0; i < n; i++) {
		unsigned shift = race_rate_shift(race_hash(sorted[i]->name), seed, intensity);

		/* Aimed runs delay every selected point (__race_point). */
		if (atomic_load_relaxed(&race_match) && intensity)
			shift = 1;
		unsigned long h = atomic_load_relaxed(&sorted[i]->hits);
		unsigned long d = atomic_load_relaxed(&sorted[i]->delays);

		if (shift && race_selected(sorted[i]->name))
			fprintf(out,
				"# race point %-40s hits %9lu delays %8lu (1 in %lu at first)\n",
				sorted[i]->name, h, d, 1UL << shift);
		else
			fprintf(out, "# race point %-40s hits %9lu delays %8lu (none)\n",
				sorted[i]->name, h, d);
		hits += h;
		delays += d;
	}
	fprintf(out, "# race points: %u reached, %lu hits, %lu delays\n", n, hits, delays);
	return n;
}

static struct race_slot *race_slot_find(const char *name)
{
	uint64_t h = race_hash(name);

	for (unsigned i = 0; i < RACE_SLOTS; i++) {
		struct race_slot *s = &race_slots[(h + i) & (RACE_SLOTS - 1)];
		const char *cur = atomic_load_acquire(&s->name);

		if (!cur)
			return NULL;
		if (!strcmp(cur, name))
			return s;
	}
	return NULL;
}

unsigned long race_point_hits(const char *name)
{
	struct race_slot *s = race_slot_find(name);

	return s ? atomic_load_relaxed(&s->hits) : 0;
}

unsigned long race_point_delays(const char *name)
{
	struct race_slot *s = race_slot_find(name);

	return s ? atomic_load_relaxed(&s->delays) : 0;
}

bool race_points_available(void)
{
	return true;
}

#else /* !USWAP_DEBUG */

int race_set_hook(race_hook_t hook, void *arg)
{
	return hook ? -EOPNOTSUPP : 0;
}

int race_inject_start(uint64_t seed, unsigned intensity)
{
	return intensity ? -EOPNOTSUPP : 0;
}

void race_inject_stop(void)
{
}

int race_inject_select(const char *match)
{
	return match && *match ? -EOPNOTSUPP : 0;
}

int race_inject_phase(unsigned phase)
{
	return -EOPNOTSUPP;
}

unsigned race_inject_report(FILE *out)
{
	return 0;
}

unsigned long race_point_hits(const char *name)
{
	return 0;
}

unsigned long race_point_delays(const char *name)
{
	return 0;
}

bool race_points_available(void)
{
	return false;
}

#endif /* USWAP_DEBUG */
