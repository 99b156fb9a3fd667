// SPDX-License-Identifier: MIT
/*
 * test_race.c - race points (base/race.h): the hook sees each point by name
 * in the thread that reached it, seeded injection delays some hits and the
 * same seed picks the same points, the report and counters match the hits,
 * and a build without race points refuses to arm anything (-EOPNOTSUPP).
 */
#include <errno.h>
#include <pthread.h>

#include "base/race.h"
#include "test.h"

#define NR_POINTS 16

/* The names as call sites write them: one string literal per point. */
static const char *const points[NR_POINTS] = {
	"test:p00", "test:p01", "test:p02", "test:p03", "test:p04", "test:p05",
	"test:p06", "test:p07", "test:p08", "test:p09", "test:p10", "test:p11",
	"test:p12", "test:p13", "test:p14", "test:p15",
};

static void hit(unsigned i)
{
	/* race_point() wants a literal in the engine; any string works. */
	race_point(points[i]);
}

struct seen {
	const char *last;
	void *arg;
	unsigned long calls; /* atomic */
	pthread_t thread;
};

static void record_hook(const char *name, void *arg)
{
	struct seen *s = arg;

	s->last = name;
	s->arg = arg;
	s->thread = pthread_self();
	atomic_fetch_add_relaxed(&s->calls, 1UL);
}

static void count_hook(const char *name, void *arg)
{
	atomic_fetch_add_relaxed((unsigned long *)arg, 1UL);
}

TEST(hook_sees_each_point_by_name_then_nothing_once_cleared)
{
	struct seen s = {0};

	if (!race_points_available()) {
		test_skip("built without race points (see release_build_refuses_to_arm)");
		return;
	}
	REQUIRE_EQ(race_set_hook(record_hook, &s), 0);
	race_point("test:hook_a");
	CHECK(s.last && !strcmp(s.last, "test:hook_a"));
	CHECK(s.arg == &s);
	CHECK(pthread_equal(s.thread, pthread_self()));
	hit(7);
	CHECK(s.last && !strcmp(s.last, "test:p07"));
	CHECK_EQ(s.calls, 2);
	REQUIRE_EQ(race_set_hook(NULL, NULL), 0);
	race_point("test:hook_b");
	CHECK_EQ(s.calls, 2);
	CHECK(!strcmp(s.last, "test:p07"));
}

struct hitter {
	unsigned id;
	unsigned long n;
};

static void *hitter_main(void *arg)
{
	struct hitter *h = arg;

	for (unsigned long i = 0; i < h->n; i++)
		hit((h->id + (unsigned)i) % NR_POINTS);
	return NULL;
}

TEST(hook_runs_in_every_thread_and_counts_add_up)
{
	enum { THREADS = 4, PER_THREAD = 20000 };
	struct hitter h[THREADS];
	pthread_t tid[THREADS];
	unsigned long calls = 0, hits = 0;

	if (!race_points_available()) {
		test_skip("built without race points");
		return;
	}
	REQUIRE_EQ(race_inject_start(test_seed, 0), 0); /* resets the counters, no delays */
	REQUIRE_EQ(race_set_hook(count_hook, &calls), 0);
	for (unsigned i = 0; i < THREADS; i++) {
		h[i] = (struct hitter){i, PER_THREAD};
		REQUIRE(!pthread_create(&tid[i], NULL, hitter_main, &h[i]));
	}
	for (unsigned i = 0; i < THREADS; i++)
		pthread_join(tid[i], NULL);
	race_set_hook(NULL, NULL);
	CHECK_EQ(atomic_load_relaxed(&calls), THREADS * PER_THREAD);
	for (unsigned i = 0; i < NR_POINTS; i++) {
		hits += race_point_hits(points[i]);
		CHECK_EQ(race_point_delays(points[i]), 0);
	}
	CHECK_EQ(hits, THREADS * PER_THREAD);
	CHECK_EQ(race_inject_report(NULL), NR_POINTS);
}

/* Hit every point @n times under injection; Return: bit i if point i was delayed. */
static unsigned run_injected(uint64_t seed, unsigned intensity, unsigned long n,
			     unsigned long *delays)
{
	unsigned delayed = 0;

	race_inject_start(seed, intensity);
	for (unsigned long k = 0; k < n; k++)
		for (unsigned i = 0; i < NR_POINTS; i++)
			hit(i);
	race_inject_stop();
	for (unsigned i = 0; i < NR_POINTS; i++) {
		unsigned long d = race_point_delays(points[i]);

		if (delays)
			delays[i] = d;
		CHECK_EQ(race_point_hits(points[i]), n);
		CHECK(d <= n);
		if (d)
			delayed |= 1U << i;
	}
	return delayed;
}

/*
 * The report of the last run with its counts cut out: one "name (rate)"
 * line per point, the rate the seed gave it. Return: malloc'd text.
 */
static char *rates_of_last_run(void)
{
	char *text = NULL, *rates, *out;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	race_inject_report(f);
	fclose(f);
	rates = calloc(1, len + 1);
	out = rates;
	for (char *line = strtok(text, "\n"); line && rates; line = strtok(NULL, "\n")) {
		char name[64];
		const char *rate = strchr(line, '(');

		if (sscanf(line, "# race point %63s", name) == 1 && rate)
			out += sprintf(out, "%s %s\n", name, rate);
	}
	free(text);
	return rates;
}

TEST(injection_delays_some_hits_and_the_seed_picks_the_points)
{
	unsigned long delays[NR_POINTS], total = 0;
	char *first, *again, *other = NULL;
	unsigned delayed;

	if (!race_points_available()) {
		test_skip("built without race points");
		return;
	}
	delayed = run_injected(test_seed, 3, 4000, delays);
	first = rates_of_last_run();
	REQUIRE(first);
	for (unsigned i = 0; i < NR_POINTS; i++) {
		const char *line = strstr(first, points[i]);

		total += delays[i];
		/* A point the seed left alone (about half) is never delayed. */
		CHECK(line);
		if (line && !strncmp(line + strlen(points[i]), " (none)", 7))
			CHECK_EQ(delays[i], 0);
	}
	printf("# seed %" PRIu64 ": %d of %d points delayed, %lu delays in %d hits\n", test_seed,
	       __builtin_popcount(delayed), NR_POINTS, total, NR_POINTS * 4000);
	CHECK(total > 0);
	CHECK(total < NR_POINTS * 4000UL * 3 / 4); /* some hits, not all */
	/* The same seed gives every point the same rate. */
	run_injected(test_seed, 3, 10, NULL);
	again = rates_of_last_run();
	CHECK(again && !strcmp(again, first));
	/* Another seed gives other rates (one of eight seeds surely does). */
	for (uint64_t k = 1; k <= 8 && !other; k++) {
		char *rates;

		run_injected(test_seed + k * 0x9e3779b97f4a7c15ULL, 3, 10, NULL);
		rates = rates_of_last_run();
		if (rates && strcmp(rates, first))
			other = rates;
		else
			free(rates);
	}
	CHECK(other != NULL);
	free(first);
	free(again);
	free(other);
	/* Stopped and no hook: unarmed, a point costs a load and counts nothing. */
	hit(0);
	CHECK_EQ(race_point_hits(points[0]), 10);
}

TEST(a_phase_draws_new_rates_and_keeps_the_counts)
{
	char *base, *phase0, *other = NULL;

	if (!race_points_available()) {
		test_skip("built without race points");
		return;
	}
	run_injected(test_seed, 3, 10, NULL);
	base = rates_of_last_run();
	REQUIRE(base);
	/* Phase 0 is the seed itself. */
	race_inject_start(test_seed, 3);
	REQUIRE_EQ(race_inject_phase(0), 0);
	for (unsigned i = 0; i < NR_POINTS; i++)
		hit(i);
	race_inject_stop();
	phase0 = rates_of_last_run();
	CHECK(phase0 && !strcmp(phase0, base));
	/* Another phase, other rates (one of eight surely), same counts. */
	race_inject_start(test_seed, 3);
	for (unsigned i = 0; i < NR_POINTS; i++)
		hit(i);
	for (unsigned phase = 1; phase <= 8 && !other; phase++) {
		char *rates;

		REQUIRE_EQ(race_inject_phase(phase), 0);
		rates = rates_of_last_run();
		if (rates && strcmp(rates, base))
			other = rates;
		else
			free(rates);
	}
	for (unsigned i = 0; i < NR_POINTS; i++)
		hit(i);
	race_inject_stop();
	CHECK(other != NULL);
	CHECK_EQ(race_point_hits(points[5]), 2);
	free(base);
	free(phase0);
	free(other);
}

TEST(select_narrows_delays_to_matching_points)
{
	unsigned long delays[NR_POINTS];
	unsigned picked;

	if (!race_points_available()) {
		test_skip("built without race points");
		return;
	}
	REQUIRE_EQ(race_inject_select(NULL), 0);
	picked = run_injected(test_seed, 3, 4000, delays);
	REQUIRE(picked != 0);
	/* Select one point the seed picks: only it is delayed. */
	/* The point delayed most: the highest rate, so delayed again for sure. */
	unsigned target = (unsigned)__builtin_ctz(picked);

	for (unsigned i = 0; i < NR_POINTS; i++)
		if (delays[i] > delays[target])
			target = i;

	REQUIRE_EQ(race_inject_select(points[target]), 0);
	run_injected(test_seed, 3, 40000, delays);
	REQUIRE_EQ(race_inject_select(NULL), 0);
	for (unsigned i = 0; i < NR_POINTS; i++) {
		if (i == target)
			CHECK(delays[i] > 0);
		else
			CHECK_EQ(delays[i], 0);
	}
}

TEST(report_lists_reached_points_with_their_counts)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	unsigned n;

	if (!race_points_available()) {
		test_skip("built without race points");
		return;
	}
	race_inject_start(test_seed, 1);
	for (unsigned k = 0; k < 300; k++)
		hit(3);
	for (unsigned k = 0; k < 5; k++)
		hit(9);
	race_inject_stop();
	out = open_memstream(&text, &len);
	REQUIRE(out);
	n = race_inject_report(out);
	fclose(out);
	CHECK_EQ(n, 2); /* the start reset every other point's count */
	CHECK(strstr(text, "# race point test:p03") != NULL);
	CHECK(strstr(text, "# race point test:p09") != NULL);
	CHECK(strstr(text, "test:p05") == NULL);
	CHECK(strstr(text, "hits       300") != NULL);
	CHECK(strstr(text, "hits         5") != NULL);
	CHECK(strstr(text, "# race points: 2 reached, 305 hits") != NULL);
	/* Every line is a TAP comment. */
	for (char *line = text; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		CHECK(line[0] == '#');
	free(text);
	CHECK_EQ(race_point_hits("test:never"), 0);
}

/* This build: race points exactly when built with debug checks. */
TEST(this_build_matches_its_flag)
{
#ifdef USWAP_DEBUG
	CHECK(race_points_available());
	CHECK_EQ(race_set_hook(NULL, NULL), 0);
#else
	CHECK(!race_points_available());
	CHECK_EQ(race_set_hook(count_hook, NULL), -EOPNOTSUPP);
	CHECK_EQ(race_inject_start(1, 1), -EOPNOTSUPP);
	CHECK_EQ(race_inject_report(stdout), 0);
#endif
}

/*
 * The release build's half of race.c, compiled here under other names: the
 * facility must refuse to arm rather than pretend (a stress run asking for
 * injection must learn it gets none).
 */
#undef USWAP_DEBUG
#define race_set_hook	      release_race_set_hook
#define race_inject_start     release_race_inject_start
#define race_inject_stop      release_race_inject_stop
#define race_inject_select    release_race_inject_select
#define race_inject_phase     release_race_inject_phase
#define race_inject_report    release_race_inject_report
#define race_point_hits	      release_race_point_hits
#define race_point_delays     release_race_point_delays
#define race_points_available release_race_points_available
int race_set_hook(race_hook_t hook, void *arg);
int race_inject_start(uint64_t seed, unsigned intensity);
void race_inject_stop(void);
int race_inject_select(const char *match);
int race_inject_phase(unsigned phase);
unsigned race_inject_report(FILE *out);
unsigned long race_point_hits(const char *name);
unsigned long race_point_delays(const char *name);
bool race_points_available(void);
#include "../../src/base/race.c"

TEST(release_build_refuses_to_arm)
{
	unsigned long calls = 0;

	CHECK(!release_race_points_available());
	CHECK_EQ(release_race_set_hook(count_hook, &calls), -EOPNOTSUPP);
	CHECK_EQ(release_race_set_hook(NULL, NULL), 0);
	CHECK_EQ(release_race_inject_start(1, 2), -EOPNOTSUPP);
	CHECK_EQ(release_race_inject_start(1, 0), 0);
	CHECK_EQ(release_race_inject_select("x"), -EOPNOTSUPP);
	CHECK_EQ(release_race_inject_select(NULL), 0);
	CHECK_EQ(release_race_inject_phase(1), -EOPNOTSUPP);
	release_race_inject_stop();
	CHECK_EQ(release_race_inject_report(stdout), 0);
	CHECK_EQ(release_race_point_hits("test:p00"), 0);
	CHECK_EQ(calls, 0);
}
