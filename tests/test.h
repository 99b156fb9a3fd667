/* SPDX-License-Identifier: MIT */
/*
 * test.h - a tiny white-box test harness printing TAP.
 *
 * TEST(name) { ... } registers a test. CHECK*() record a failure and go on;
 * REQUIRE*() record a failure and leave the test. Every test program accepts
 *   -s SEED   seed for the random helpers (printed at start)
 *   -t NAME   run only tests whose name contains NAME
 * and exits 0 only if every test passed. Engines made with t_engine() are
 * checked with the invariant checker after the test and destroyed.
 *
 * Owns: the registry. Locking: CHECK* may be called from many threads.
 */
#ifndef USWAP_TEST_H
#define USWAP_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pattern.h"
#include "base/random.h"
#include "swap/swap.h"

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...) __printf(3, 4);
void test_skip(const char *why);
/*
 * test_todo - the current test's failures from here on are a known failure
 * of an open issue (@why names it): reported as TAP "not ok ... # TODO why",
 * which scripts/test.sh lists and counts apart, and not failing the program.
 * Call it just before the check it covers, once that check is known to fail:
 * a failure recorded before the call still fails the test.
 */
void test_todo(const char *why);
extern uint64_t test_seed;
extern int test_argc;
extern char **test_argv;

#define TEST(name)                                                                                 \
	static void test_##name(void);                                                             \
	__attribute__((constructor)) static void register_##name(void)                             \
	{                                                                                          \
		test_register(#name, test_##name);                                                 \
	}                                                                                          \
	static void test_##name(void)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			test_fail(__FILE__, __LINE__, "%s", #cond);                                \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		long long __a = (long long)(a), __b = (long long)(b);                              \
		if (__a != __b)                                                                    \
			test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", #a, #b, __a,      \
				  __b);                                                            \
	} while (0)

#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			test_fail(__FILE__, __LINE__, "%s", #cond);                                \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define REQUIRE_EQ(a, b)                                                                           \
	do {                                                                                       \
		long long __a = (long long)(a), __b = (long long)(b);                              \
		if (__a != __b) {                                                                  \
			test_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", #a, #b, __a,      \
				  __b);                                                            \
			return;                                                                    \
		}                                                                                  \
	} while (0)

/* A fresh engine (private arena), checked and destroyed after the test. */
struct uswap *t_engine(void);
/* Adds a RAM device of @nr_pages slots; returns its type. */
int t_ramdev(struct uswap *sw, unsigned long nr_pages, unsigned long dev_flags, int prio);
/*
 * t_race_inject - a stress run's race-point delays (base/race.h): off for
 * @intensity 0, else at @intensity from test_seed, aimed at the points whose
 * name contains @points (NULL: every point), said on a "# " line.
 * Return: 0; -1 after a test failure when @intensity asks for delays in a
 * build without race points.
 */
int t_race_inject(unsigned intensity, const char *points);
/* The next number of a test's random stream (base/random.h), e.g. from test_seed. */
static inline uint64_t t_rand(uint64_t *state)
{
	return random_next(state);
}

/* Fill a page with the random pattern of @tag (base/pattern.h); check it. */
static inline void t_fill(void *page, uint64_t tag)
{
	pattern_fill(page, PAGE_SIZE, PATTERN_RANDOM, tag, 0);
}

static inline bool t_check(const void *page, uint64_t tag)
{
	return pattern_check(page, PAGE_SIZE, PATTERN_RANDOM, tag, 0);
}

/* Whether the page at @page is all zeros. */
static inline bool t_is_zero(const void *page)
{
	const uint64_t *w = page;

	for (size_t i = 0; i < PAGE_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

#endif /* USWAP_TEST_H */
