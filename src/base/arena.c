// SPDX-License-Identifier: MIT
/*
 * arena.c - the engine's memory reservation, size classes, page runs, pools.
 *
 * Owns: struct arena (stored at the start of its own reservation, so a
 * MAP_SHARED arena is shared with its allocator state). Locking: per size
 * class, one page-run lock, per pool; all leaves.
 */
#include "arena.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "atomic.h"
#include "random.h"

#define SMALL_STEP_FINE	  16
#define SMALL_FINE_MAX	  256
#define SMALL_STEP_COARSE 64
#define NR_SMALL_CLASSES                                                                           \
	(SMALL_FINE_MAX / SMALL_STEP_FINE + (ARENA_SMALL_MAX - SMALL_FINE_MAX) / SMALL_STEP_COARSE)
#define CHUNK_SIZE   (64UL << 10)
#define NR_RUN_LISTS 513 /* exact free lists for runs of 1..512 pages */

struct free_block {
	struct free_block *next;
};

struct free_run {
	struct free_run *next;
	size_t pages;
};

struct size_class {
	struct ulock lock;
	size_t size;
	struct free_block *free;
	char *bump, *bump_end;
};

struct arena {
	char *base;	/* start of the reservation */
	size_t reserve; /* its length */
	bool shared;
	size_t brk;    /* bytes carved so far (atomic) */
	size_t in_use; /* atomic */
	size_t pooled; /* atomic */
	struct size_class classes[NR_SMALL_CLASSES];
	struct ulock run_lock; /* protects runs[] and big_runs */
	struct free_run *runs[NR_RUN_LISTS];
	struct free_run *big_runs;
	/* fault injection */
	unsigned long inject_nth; /* atomic countdown, 0 = off */
	unsigned inject_ppm;
	uint64_t inject_rng;	/* random.h stream, stepped atomically */
	unsigned long injected; /* atomic */
};

static size_t class_index(size_t size)
{
	if (size <= SMALL_FINE_MAX)
		return (size + SMALL_STEP_FINE - 1) / SMALL_STEP_FINE - 1;
	return SMALL_FINE_MAX / SMALL_STEP_FINE +
	       (size - SMALL_FINE_MAX + SMALL_STEP_COARSE - 1) / SMALL_STEP_COARSE - 1;
}

size_t arena_alloc_size(size_t size)
{
	if (size == 0)
		size = 1;
	if (size > ARENA_SMALL_MAX)
		return ALIGN_UP(size, PAGE_SIZE);
	if (size <= SMALL_FINE_MAX)
		return ALIGN_UP(size, SMALL_STEP_FINE);
	return SMALL_FINE_MAX + ALIGN_UP(size - SMALL_FINE_MAX, SMALL_STEP_COARSE);
}

int arena_create(struct arena **out, size_t reserve, bool shared)
{
	struct arena *a;
	size_t hdr = ALIGN_UP(sizeof(*a), PAGE_SIZE);
	void *base;

	reserve = ALIGN_UP(reserve, PAGE_SIZE);
	if (reserve < hdr + CHUNK_SIZE)
		return -EINVAL;
	base = mmap(NULL, reserve, PROT_READ | PROT_WRITE,
		    (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	a = base;
	a->base = base;
	a->reserve = reserve;
	a->shared = shared;
	a->brk = hdr;
	for (size_t i = 0; i < NR_SMALL_CLASSES; i++) {
		ulock_init(&a->classes[i].lock, LOCK_RANK_ARENA);
		a->classes[i].size =
			i < SMALL_FINE_MAX / SMALL_STEP_FINE
				? (i + 1) * SMALL_STEP_FINE
				: SMALL_FINE_MAX + (i + 1 - SMALL_FINE_MAX / SMALL_STEP_FINE) *
							   SMALL_STEP_COARSE;
	}
	ulock_init(&a->run_lock, LOCK_RANK_ARENA);
	*out = a;
	return 0;
}

void arena_destroy(struct arena *a)
{
	if (a)
		munmap(a->base, a->reserve);
}

void arena_inject(struct arena *a, unsigned long nth, unsigned ppm, uint64_t seed)
{
	atomic_store_relaxed(&a->inject_rng, seed | 1);
	atomic_store_relaxed(&a->inject_ppm, ppm);
	atomic_store_release(&a->inject_nth, nth);
}

bool arena_should_fail(struct arena *a)
{
	unsigned ppm = atomic_load_relaxed(&a->inject_ppm);

	if (atomic_countdown_hits(&a->inject_nth) ||
	    (ppm && random_next_shared(&a->inject_rng) % 1000000 < ppm)) {
		atomic_fetch_add_relaxed(&a->injected, 1);
		return true;
	}
	return false;
}

unsigned long arena_injected(const struct arena *a)
{
	return atomic_load_relaxed(&a->injected);
}

/* Carve @size bytes (page multiple) from the reservation. */
static void *arena_carve(struct arena *a, size_t size)
{
	size_t old = atomic_load_relaxed(&a->brk);

	/* Never move brk past the end: a failed large carve must not fail others. */
	do {
		if (size > a->reserve - old)
			return NULL;
	} while (!atomic_cmpxchg_relaxed(&a->brk, &old, old + size));
	return a->base + old;
}

static void *small_alloc(struct arena *a, size_t size)
{
	struct size_class *sc = &a->classes[class_index(size)];
	void *p;

	ulock_lock(&sc->lock);
	if (sc->free) {
		p = sc->free;
		sc->free = sc->free->next;
	} else {
		if (sc->bump + sc->size > sc->bump_end) {
			char *chunk = arena_carve(a, CHUNK_SIZE);

			if (!chunk) {
				ulock_unlock(&sc->lock);
				return NULL;
			}
			sc->bump = chunk;
			sc->bump_end = chunk + CHUNK_SIZE;
		}
		p = sc->bump;
		sc->bump += sc->size;
	}
	ulock_unlock(&sc->lock);
	return p;
}

static void *run_alloc(struct arena *a, size_t pages)
{
	struct free_run **pp, *r = NULL;

	ulock_lock(&a->run_lock);
	if (pages < NR_RUN_LISTS) {
		r = a->runs[pages];
		if (r)
			a->runs[pages] = r->next;
	} else {
		for (pp = &a->big_runs; *pp; pp = &(*pp)->next) {
			if ((*pp)->pages == pages) {
				r = *pp;
				*pp = r->next;
				break;
			}
		}
	}
	ulock_unlock(&a->run_lock);
	if (r)
		return r;
	return arena_carve(a, pages << PAGE_SHIFT);
}

void *arena_alloc(struct arena *a, size_t size)
{
	size_t real = arena_alloc_size(size);
	void *p;

	if (arena_should_fail(a))
		return NULL;
	if (real <= ARENA_SMALL_MAX)
		p = small_alloc(a, real);
	else
		p = run_alloc(a, real >> PAGE_SHIFT);
	if (p)
		atomic_fetch_add_relaxed(&a->in_use, real);
	return p;
}

void *arena_zalloc(struct arena *a, size_t size)
{
	void *p = arena_alloc(a, size);

	if (p)
		memset(p, 0, size);
	return p;
}

void arena_free(struct arena *a, void *p, size_t size)
{
	size_t real = arena_alloc_size(size);

	if (!p)
		return;
	atomic_fetch_sub_relaxed(&a->in_use, real);
	if (real <= ARENA_SMALL_MAX) {
		struct size_class *sc = &a->classes[class_index(real)];
		struct free_block *b = p;

		ulock_lock(&sc->lock);
		b->next = sc->free;
		sc->free = b;
		ulock_unlock(&sc->lock);
	} else {
		struct free_run *r = p;
		size_t pages = real >> PAGE_SHIFT;

		/* Give large runs' memory back; they are rare (device metadata). */
		if (pages > 512)
			madvise((char *)p + PAGE_SIZE, real - PAGE_SIZE,
				a->shared ? MADV_REMOVE : MADV_DONTNEED);
		r->pages = pages;
		ulock_lock(&a->run_lock);
		if (pages < NR_RUN_LISTS) {
			r->next = a->runs[pages];
			a->runs[pages] = r;
		} else {
			r->next = a->big_runs;
			a->big_runs = r;
		}
		ulock_unlock(&a->run_lock);
	}
}

size_t arena_in_use(const struct arena *a)
{
	return atomic_load_relaxed(&a->in_use);
}

size_t arena_footprint(const struct arena *a)
{
	return atomic_load_relaxed(&a->brk);
}

size_t arena_pooled(const struct arena *a)
{
	return atomic_load_relaxed(&a->pooled);
}

bool arena_is_shared(const struct arena *a)
{
	return a->shared;
}

void pool_init(struct pool *p, struct arena *a, const char *name, size_t objsize, size_t align,
	       size_t link_off, uintptr_t link_tag)
{
	memset(p, 0, sizeof(*p));
	ulock_init(&p->lock, LOCK_RANK_POOL);
	p->arena = a;
	p->name = name;
	p->objsize = ALIGN_UP(objsize, align);
	p->link_off = link_off;
	p->link_tag = link_tag;
}

static uintptr_t *pool_link(struct pool *p, void *obj)
{
	return (uintptr_t *)((char *)obj + p->link_off);
}

void *pool_alloc(struct pool *p)
{
	void *obj;

	if (arena_should_fail(p->arena))
		return NULL;
	ulock_lock(&p->lock);
	obj = p->free;
	if (obj) {
		p->free = (void *)(atomic_load_relaxed(pool_link(p, obj)) & ~p->link_tag);
	} else {
		if (p->bump + p->objsize > p->bump_end) {
			size_t chunk = max(CHUNK_SIZE, ALIGN_UP(p->objsize * 8, PAGE_SIZE));
			char *c = arena_carve(p->arena, chunk);

			if (!c) {
				ulock_unlock(&p->lock);
				return NULL;
			}
			atomic_fetch_add_relaxed(&p->arena->pooled, chunk);
			p->bump = c;
			p->bump_end = c + chunk;
		}
		obj = p->bump;
		p->bump += p->objsize;
		p->total++;
	}
	p->live++;
	ulock_unlock(&p->lock);
	atomic_store_relaxed(pool_link(p, obj), 0);
	return obj;
}

void pool_free(struct pool *p, void *obj)
{
	ulock_lock(&p->lock);
	atomic_store_relaxed(pool_link(p, obj), (uintptr_t)p->free | p->link_tag);
	p->free = obj;
	p->live--;
	ulock_unlock(&p->lock);
}

unsigned long pool_live(struct pool *p)
{
	unsigned long n;

	ulock_lock(&p->lock);
	n = p->live;
	ulock_unlock(&p->lock);
	return n;
}
