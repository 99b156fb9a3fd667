// SPDX-License-Identifier: MIT
/*
 * engine.c - struct uswap: creation and teardown of one swap engine.
 *
 * Owns: the engine object, which lives at the start of its own arena (so a
 * MAP_SHARED engine is shared with forked children). Locking: creation and
 * destruction are single-threaded by contract.
 */
#include "swap.h"

#include <string.h>
#include <unistd.h>

#include "swap_table.h"

int swap_engine_create(struct uswap **out, size_t arena_size, bool shared)
{
	struct arena *a;
	struct uswap *sw;
	long cpus;
	int err;

	err = arena_create(&a, arena_size, shared);
	if (err)
		return err;
	sw = arena_zalloc(a, sizeof(*sw));
	if (!sw) {
		arena_destroy(a);
		return -ENOMEM;
	}
	sw->arena = a;
	pool_init(&sw->folio_pool, a, "folio", sizeof(struct folio), 64,
		  offsetof(struct folio, lru), 0);
	/* A free table's link word is tagged as a shadow: lockless readers skip it. */
	pool_init(&sw->table_pool, a, "swap_table", SWAPFILE_CLUSTER * sizeof(unsigned long), 64, 0,
		  SWP_TB_SHADOW_MARK);
	ulock_init(&sw->swap_lock, LOCK_RANK_SWAPON);
	ulock_init(&sw->swap_avail_lock, LOCK_RANK_SWAP_AVAIL);
	INIT_LIST_HEAD(&sw->swap_avail_head);
	cpus = sysconf(_SC_NPROCESSORS_CONF);
	sw->nr_cpus = cpus < 1 ? 1 : cpus > USWAP_MAX_CPUS ? USWAP_MAX_CPUS : (unsigned)cpus;
	*out = sw;
	return 0;
}

void swap_engine_destroy(struct uswap *sw)
{
	if (sw)
		arena_destroy(sw->arena);
}
