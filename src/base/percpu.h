/* SPDX-License-Identifier: MIT */
/*
 * percpu.h - counters sharded by thread, so that threads on different CPUs
 * updating one figure do not bounce its cache line (the kernel's
 * percpu_counter, with threads in place of CPUs: each thread is given a
 * shard on first use, round robin).
 *
 * A shard folds its delta into the central count once it reaches the batch;
 * percpu_counter_sum() is exact when no update is in flight.
 *
 * Owns: the thread's shard number. Locking: all atomic.
 */
#ifndef USWAP_BASE_PERCPU_H
#define USWAP_BASE_PERCPU_H

#include "atomic.h"

#define NR_SHARDS 16

struct shard_long {
	long n;
} __attribute__((aligned(64)));

struct percpu_counter {
	long count; /* folded part (atomic) */
	struct shard_long shard[NR_SHARDS];
};

/* Return: this thread's shard, 0..NR_SHARDS-1. */
unsigned this_shard(void);

static inline void percpu_counter_init(struct percpu_counter *pc, long v)
{
	atomic_store_relaxed(&pc->count, v);
	for (unsigned i = 0; i < NR_SHARDS; i++)
		atomic_store_relaxed(&pc->shard[i].n, 0L);
}

static inline void percpu_counter_add(struct percpu_counter *pc, long delta, long batch)
{
	long *n = &pc->shard[this_shard()].n;
	long v = atomic_add_return_relaxed(n, delta);

	if (v >= batch || v <= -batch) {
		atomic_fetch_sub_relaxed(n, v);
		atomic_fetch_add_relaxed(&pc->count, v);
	}
}

/* Exact while no update is in flight; otherwise off by those in flight. */
static inline long percpu_counter_sum(struct percpu_counter *pc)
{
	long sum = atomic_load_relaxed(&pc->count);

	for (unsigned i = 0; i < NR_SHARDS; i++)
		sum += atomic_load_relaxed(&pc->shard[i].n);
	return sum;
}

#endif /* USWAP_BASE_PERCPU_H */
