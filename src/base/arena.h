/* SPDX-License-Identifier: MIT */
/*
 * arena.h - engine memory: one mmap'd reservation, never the program's malloc.
 *
 * The arena reserves a large virtual range up front (MAP_NORESERVE), private
 * or MAP_SHARED (so one engine can serve a process and its forked children),
 * and hands out:
 *   - small blocks (<= ARENA_SMALL_MAX bytes) from size classes,
 *   - page-aligned runs for anything larger,
 *   - chunks to type-stable pools (struct pool).
 * Memory freed to the arena is reused by later allocations but is never
 * unmapped while the arena lives.
 *
 * Pools hand out fixed-size objects and never return memory to the arena:
 * a freed object's memory stays an object of the same type (type stability),
 * which is what lets lockless readers of swap tables take folio references
 * without RCU. The free-list link is stored at a chosen offset, tagged, so a
 * racing reader sees a harmless value there (a shadow, for swap tables).
 *
 * Fault injection: arena_inject() makes the Nth following allocation (arena
 * or pool) fail, or each with a probability, to test -ENOMEM paths.
 *
 * Owns: the reservation. Locking: one lock per size class, one for page
 * runs, one per pool (all leaf locks, LOCK_RANK_POOL / LOCK_RANK_ARENA).
 */
#ifndef USWAP_BASE_ARENA_H
#define USWAP_BASE_ARENA_H

#include "compiler.h"
#include "lock.h"

#define ARENA_SMALL_MAX 4096

struct arena;

/*
 * arena_create - reserve @reserve bytes of address space.
 * Context: any. Return: 0, or -EINVAL / -ENOMEM.
 */
int arena_create(struct arena **out, size_t reserve, bool shared);
void arena_destroy(struct arena *a);

/*
 * arena_alloc / arena_zalloc - @size bytes (page aligned above ARENA_SMALL_MAX,
 * 16-byte aligned below). Context: any; takes leaf locks.
 * Return: the memory, or NULL (reservation exhausted or injected failure).
 */
void *arena_alloc(struct arena *a, size_t size);
void *arena_zalloc(struct arena *a, size_t size);
/* Free @p, allocated with the same @size. Context: any. */
void arena_free(struct arena *a, void *p, size_t size);

/* Bytes handed out and not freed (pool chunks not included). */
size_t arena_in_use(const struct arena *a);
/* Bytes of the reservation carved so far (footprint, pools included). */
size_t arena_footprint(const struct arena *a);
/* Bytes given to pools. */
size_t arena_pooled(const struct arena *a);
bool arena_is_shared(const struct arena *a);
/* Round @size up to what an allocation of that size really occupies. */
size_t arena_alloc_size(size_t size);

/*
 * arena_inject - fail allocations on purpose.
 * @nth: fail the nth next allocation (1 = the next one), 0 for none.
 * @ppm: additionally fail each allocation with probability ppm/1e6.
 * @seed: seed for the probabilistic failures.
 */
void arena_inject(struct arena *a, unsigned long nth, unsigned ppm, uint64_t seed);
/* Return: true if this allocation must fail (consumes the injection). */
bool arena_should_fail(struct arena *a);
/* Return: the number of failures injected so far. */
unsigned long arena_injected(const struct arena *a);

struct pool {
	struct ulock lock; /* protects everything below */
	struct arena *arena;
	const char *name;
	size_t objsize;	       /* object size, rounded to the alignment */
	size_t link_off;       /* where a free object stores its free-list link */
	uintptr_t link_tag;    /* or'ed into the stored link */
	void *free;	       /* free objects, linked at link_off */
	char *bump, *bump_end; /* unused part of the newest chunk */
	unsigned long live;    /* objects handed out and not freed */
	unsigned long total;   /* objects ever carved */
};

void pool_init(struct pool *p, struct arena *a, const char *name, size_t objsize, size_t align,
	       size_t link_off, uintptr_t link_tag);
/*
 * pool_alloc - one object; its memory is whatever the last user left, except
 * the link word which reads 0. Context: any. Return: object or NULL.
 */
void *pool_alloc(struct pool *p);
void pool_free(struct pool *p, void *obj);
unsigned long pool_live(struct pool *p);

#endif /* USWAP_BASE_ARENA_H */
