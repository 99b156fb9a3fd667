// SPDX-License-Identifier: MIT
/*
 * percpu.c - shard numbers for threads.
 *
 * Owns: the round-robin shard allocator. Locking: atomic.
 */
#include "percpu.h"

static unsigned next_shard;
static __thread int my_shard = -1;

unsigned this_shard(void)
{
	if (unlikely(my_shard < 0))
		my_shard = (int)(atomic_fetch_add_relaxed(&next_shard, 1) % NR_SHARDS);
	return (unsigned)my_shard;
}
