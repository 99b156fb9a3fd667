// SPDX-License-Identifier: MIT
/*
 * test_pattern.c - the helpers every test, benchmark and the CLI take their
 * randomness and page contents from: base/random.h (reproducible streams,
 * a shared stream stepped atomically) and base/pattern.h (checkable pages
 * that a single changed byte, another key or another version fails).
 *
 * Owns: nothing. Locking: the shared-stream test runs two threads.
 */
#include <lz4.h>
#include <pthread.h>

#include "base/pattern.h"
#include "base/random.h"
#include "test.h"

TEST(random_streams_repeat_from_the_same_seed)
{
	uint64_t a = 12345, b = 12345, zero = 0;

	for (int i = 0; i < 1000; i++)
		REQUIRE_EQ(random_next(&a), random_next(&b));
	/* A state of 0 is not a fixed point. */
	CHECK(random_next(&zero) != 0);
	CHECK(random_next(&zero) != 0);
}

TEST(random_streams_of_other_ids_differ)
{
	uint64_t s1 = random_stream(7, 0), s2 = random_stream(7, 1), s3 = random_stream(8, 0);
	unsigned same = 0;

	CHECK(s1 != s2 && s1 != s3 && s2 != s3);
	for (int i = 0; i < 100; i++)
		same += random_next(&s1) == random_next(&s2);
	CHECK_EQ(same, 0);
}

TEST(random_below_stays_in_range_and_reaches_every_value)
{
	uint64_t s = 99;
	unsigned seen[10] = {0};

	for (int i = 0; i < 10000; i++) {
		uint64_t v = random_below(&s, 10);

		REQUIRE(v < 10);
		seen[v]++;
	}
	for (int v = 0; v < 10; v++)
		CHECK(seen[v] > 500); /* 1000 expected each */
}

#define SHARED_STEPS 200000

struct shared_arg {
	uint64_t *state;
	pthread_barrier_t *start; /* both threads step at the same time */
	uint64_t got[SHARED_STEPS];
};

static void *shared_stepper(void *p)
{
	struct shared_arg *arg = p;

	pthread_barrier_wait(arg->start);
	for (int i = 0; i < SHARED_STEPS; i++)
		arg->got[i] = random_next_shared(arg->state);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Two threads on one stream: together they take exactly its first 2N numbers. */
TEST(random_shared_stream_loses_no_step_between_threads)
{
	static struct shared_arg args[2];
	static uint64_t want[2 * SHARED_STEPS], got[2 * SHARED_STEPS];
	uint64_t state = 4242, seq = 4242;
	pthread_barrier_t start;
	pthread_t th[2];

	pthread_barrier_init(&start, NULL, 2);
	for (int t = 0; t < 2; t++) {
		args[t].state = &state;
		args[t].start = &start;
		REQUIRE_EQ(pthread_create(&th[t], NULL, shared_stepper, &args[t]), 0);
	}
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < 2 * SHARED_STEPS; i++)
		want[i] = random_next(&seq);
	CHECK_EQ(state, seq);
	memcpy(got, args[0].got, sizeof(args[0].got));
	memcpy(got + SHARED_STEPS, args[1].got, sizeof(args[1].got));
	qsort(want, 2 * SHARED_STEPS, sizeof(want[0]), cmp_u64);
	qsort(got, 2 * SHARED_STEPS, sizeof(got[0]), cmp_u64);
	CHECK(!memcmp(want, got, sizeof(want)));
}

static const enum pattern_kind kinds[] = {PATTERN_RANDOM, PATTERN_TEXT};

TEST(pattern_checks_what_it_filled_and_names_key_and_version)
{
	static uint64_t page[PAGE_SIZE / 8];

	for (unsigned k = 0; k < ARRAY_SIZE(kinds); k++) {
		pattern_fill(page, PAGE_SIZE, kinds[k], 0x1234, 7);
		CHECK_EQ(page[0], 0x1234);
		CHECK_EQ(page[1], 7);
		CHECK(pattern_check(page, PAGE_SIZE, kinds[k], 0x1234, 7));
		/* A shorter buffer holds the start of the same pattern. */
		CHECK(pattern_check(page, 64, kinds[k], 0x1234, 7));
	}
}

TEST(pattern_check_fails_on_any_changed_byte)
{
	static const size_t at[] = {0, 8, 16, 2047, 4088, PAGE_SIZE - 1};
	static unsigned char page[PAGE_SIZE] __attribute__((aligned(8)));

	for (unsigned k = 0; k < ARRAY_SIZE(kinds); k++) {
		for (unsigned i = 0; i < ARRAY_SIZE(at); i++) {
			pattern_fill(page, PAGE_SIZE, kinds[k], 5, 1);
			page[at[i]] ^= 0x20;
			CHECK(!pattern_check(page, PAGE_SIZE, kinds[k], 5, 1));
		}
	}
}

TEST(pattern_check_fails_for_another_key_version_or_kind)
{
	static uint64_t page[PAGE_SIZE / 8], other[PAGE_SIZE / 8];
	unsigned same = 0;

	pattern_fill(page, PAGE_SIZE, PATTERN_RANDOM, 5, 1);
	CHECK(!pattern_check(page, PAGE_SIZE, PATTERN_RANDOM, 6, 1));
	CHECK(!pattern_check(page, PAGE_SIZE, PATTERN_RANDOM, 5, 2));
	CHECK(!pattern_check(page, PAGE_SIZE, PATTERN_TEXT, 5, 1));
	/* Not only the first two words differ: nearly all of them do. */
	pattern_fill(other, PAGE_SIZE, PATTERN_RANDOM, 5, 2);
	for (size_t i = 2; i < PAGE_SIZE / 8; i++)
		same += page[i] == other[i];
	CHECK(same < 4);
}

static double lz4_ratio(const void *page)
{
	static char out[LZ4_COMPRESSBOUND(PAGE_SIZE)];
	int n = LZ4_compress_default(page, out, PAGE_SIZE, sizeof(out));

	return n > 0 ? (double)PAGE_SIZE / n : 0;
}

TEST(pattern_text_compresses_and_random_does_not)
{
	static uint64_t page[PAGE_SIZE / 8];

	pattern_fill(page, PAGE_SIZE, PATTERN_TEXT, 3, 0);
	CHECK(lz4_ratio(page) > 2.0);
	pattern_fill(page, PAGE_SIZE, PATTERN_RANDOM, 3, 0);
	CHECK(lz4_ratio(page) < 1.05);
}
