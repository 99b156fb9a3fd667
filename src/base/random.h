/* SPDX-License-Identifier: MIT */
/*
 * random.h - the one source of reproducible pseudo-random numbers for the
 * engine's fault injection, the tests, the benchmarks and the CLI.
 *
 * A stream is a 64-bit state; random_next() steps it (xorshift64) and
 * returns the new state. The same starting state gives the same numbers on
 * every machine and run, which is what lets a failing test or a benchmark's
 * counts be reproduced from the seed it printed. A state of 0 (a fixed point
 * of xorshift) is replaced by a constant, so any seed works. random_mix64()
 * spreads a seed and a stream number over all 64 bits (splitmix64's
 * finalizer) so that neighbouring seeds start unrelated streams. Nothing
 * here is fit for secrets.
 *
 * Owns: nothing. Locking: a stream belongs to the thread that steps it;
 * random_next_shared() steps one stream from several threads atomically.
 */
#ifndef USWAP_BASE_RANDOM_H
#define USWAP_BASE_RANDOM_H

#include <stdint.h>

#include "atomic.h"

/* 2^64 / golden ratio: an odd constant with well-spread bits. */
#define RANDOM_GOLDEN 0x9e3779b97f4a7c15ULL

static inline uint64_t random_step(uint64_t x)
{
	x = x ? x : RANDOM_GOLDEN;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

/* The next number of stream *@state. Context: the stream's owner. */
static inline uint64_t random_next(uint64_t *state)
{
	*state = random_step(*state);
	return *state;
}

/* A number in [0, @n) from stream *@state (@n > 0). Context: the stream's owner. */
static inline uint64_t random_below(uint64_t *state, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)random_next(state) * n) >> 64);
}

/* random_next() on a stream shared by threads. Context: any. */
static inline uint64_t random_next_shared(uint64_t *state)
{
	uint64_t old = atomic_load_relaxed(state), x;

	do {
		x = random_step(old);
	} while (!atomic_cmpxchg_relaxed(state, &old, x));
	return x;
}

/* A well-mixed function of @x (splitmix64's finalizer); 0 maps to 0. */
static inline uint64_t random_mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The starting state of stream @id (a thread, a role) of run @seed. */
static inline uint64_t random_stream(uint64_t seed, uint64_t id)
{
	return random_mix64(seed ^ ((id + 1) * RANDOM_GOLDEN));
}

#endif /* USWAP_BASE_RANDOM_H */
