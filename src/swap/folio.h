/* SPDX-License-Identifier: MIT */
/*
 * folio.h - folios: a power-of-two run of pages with one descriptor, as in
 * Linux (include/linux/mm_types.h, page-flags.h): flags, references,
 * mapcount, the folio lock, and the swap entry of a folio in the swap cache.
 * Descriptors come from a type-stable pool (folio.c), so a lockless reader
 * may look at one that was freed and reused, and re-checks after taking a
 * reference.
 *
 * Owns: declarations only. Locking: flags, _refcount and _mapcount are
 * atomic; swap-cache membership changes under the folio lock.
 */
#ifndef USWAP_SWAP_FOLIO_H
#define USWAP_SWAP_FOLIO_H

#include "swap_types.h"

enum pageflags {
	PG_uptodate,
	PG_dirty,
	PG_writeback,
	PG_swapcache,
	PG_lru,
	PG_active,
	PG_referenced,
	PG_workingset,
	PG_mlocked,
	PG_ksm,	       /* model: stands in for a KSM page that must be copied */
	PG_readahead,  /* mm: brought in by swap readahead, not yet used */
	PG_owner_priv, /* free for the front end */
	NR_PAGEFLAGS
};

/* Opaque page handle: the address of one page of a folio's data. */
struct page;

struct folio {
	refcount_t _refcount; /* references; 0 means free (in the pool) */
	int _mapcount;	      /* page-table mappings of this folio's pages (atomic) */
	unsigned long flags;  /* enum pageflags bits, atomic */
	struct ulock lock;    /* the folio lock (sleeping) */
	unsigned order;	      /* 0..MAX_PAGE_ORDER, fixed while allocated */
	swp_entry_t swap;     /* first slot, valid while PG_swapcache; atomic reads */
	void *data;	      /* PAGE_SIZE << order bytes, page aligned */
	struct uswap *sw;     /* the engine that owns it */
	struct list_head lru; /* LRU link (mm); pool link while free */
	void *mapping;	      /* owner (mm): anon_vma-like or shmem file */
	pgoff_t index;	      /* index in mapping */
	void *private;	      /* front end's */
};

static inline unsigned folio_order(const struct folio *folio)
{
	return atomic_load_relaxed(&folio->order);
}

/* The folio's index in its mapping (mm); atomic: see folio_set_mapping(). */
static inline pgoff_t folio_index(const struct folio *folio)
{
	return atomic_load_relaxed(&folio->index);
}

static inline unsigned long folio_nr_pages(const struct folio *folio)
{
	return 1UL << folio_order(folio);
}

static inline size_t folio_size(const struct folio *folio)
{
	return PAGE_SIZE << folio_order(folio);
}

static inline struct page *folio_page(struct folio *folio, unsigned long i)
{
	return (struct page *)((char *)folio->data + (i << PAGE_SHIFT));
}

static inline unsigned long folio_page_idx(const struct folio *folio, const struct page *page)
{
	return ((const char *)page - (const char *)folio->data) >> PAGE_SHIFT;
}

static inline void *page_address(struct page *page)
{
	return page;
}

#define FOLIO_FLAG_FNS(name, bit)                                                                  \
	static inline bool folio_test_##name(const struct folio *f)                                \
	{                                                                                          \
		return test_bit_acquire(bit, &f->flags);                                           \
	}                                                                                          \
	static inline void folio_set_##name(struct folio *f)                                       \
	{                                                                                          \
		set_bit_acq_rel(bit, &f->flags);                                                   \
	}                                                                                          \
	static inline void folio_clear_##name(struct folio *f)                                     \
	{                                                                                          \
		clear_bit_release(bit, &f->flags);                                                 \
	}                                                                                          \
	static inline bool folio_test_clear_##name(struct folio *f)                                \
	{                                                                                          \
		return test_and_clear_bit_acq_rel(bit, &f->flags);                                 \
	}                                                                                          \
	static inline bool folio_test_set_##name(struct folio *f)                                  \
	{                                                                                          \
		return test_and_set_bit_acq_rel(bit, &f->flags);                                   \
	}

FOLIO_FLAG_FNS(uptodate, PG_uptodate)
FOLIO_FLAG_FNS(dirty, PG_dirty)
FOLIO_FLAG_FNS(writeback, PG_writeback)
FOLIO_FLAG_FNS(swapcache, PG_swapcache)
FOLIO_FLAG_FNS(lru, PG_lru)
FOLIO_FLAG_FNS(active, PG_active)
FOLIO_FLAG_FNS(referenced, PG_referenced)
FOLIO_FLAG_FNS(workingset, PG_workingset)
FOLIO_FLAG_FNS(mlocked, PG_mlocked)
FOLIO_FLAG_FNS(ksm, PG_ksm)
FOLIO_FLAG_FNS(readahead, PG_readahead)
FOLIO_FLAG_FNS(owner_priv, PG_owner_priv)

static inline void folio_mark_dirty(struct folio *folio)
{
	folio_set_dirty(folio);
}

static inline bool folio_test_large(const struct folio *folio)
{
	return folio_order(folio) > 0;
}

static inline int folio_ref_count(const struct folio *folio)
{
	return refcount_read(&folio->_refcount);
}

static inline void folio_get(struct folio *folio)
{
	refcount_get(&folio->_refcount);
}

static inline void folio_ref_add(struct folio *folio, int n)
{
	refcount_get_many(&folio->_refcount, n);
}

static inline bool folio_try_get(struct folio *folio)
{
	return refcount_get_unless_zero(&folio->_refcount);
}

/* Acquire: pairs with folio_mapcount_add(), so a mapping gone was done with. */
static inline int folio_mapcount(const struct folio *folio)
{
	return atomic_load_acquire(&folio->_mapcount);
}

static inline bool folio_mapped(const struct folio *folio)
{
	return folio_mapcount(folio) > 0;
}

static inline swp_entry_t folio_swap_entry(const struct folio *folio)
{
	return (swp_entry_t){atomic_load_relaxed(&folio->swap.val)};
}

/*
 * folio_alloc - a new folio of 2^order pages, refcount 1, unlocked, no flags.
 * Context: any. Return: the folio, or NULL on allocation failure.
 */
struct folio *folio_alloc(struct uswap *sw, unsigned order);
/*
 * folio_alloc_locked - folio_alloc() with the folio already locked. The lock
 * of a new folio is free, so taking it never waits and keeps any caller's
 * lock order. Context: any. Return: the locked folio, or NULL.
 */
struct folio *folio_alloc_locked(struct uswap *sw, unsigned order);
/* Drop references; the last one frees data and descriptor. */
void folio_put_refs(struct folio *folio, int refs);
static inline void folio_put(struct folio *folio)
{
	folio_put_refs(folio, 1);
}

/* Folio lock: sleeping, with waiters. Context: may sleep (not trylock). */
#define folio_lock(f)	 ulock_lock(&(f)->lock)
#define folio_trylock(f) ulock_trylock(&(f)->lock)
#define folio_unlock(f)	 ulock_unlock(&(f)->lock)
static inline bool folio_test_locked(const struct folio *folio)
{
	return ulock_is_locked(&folio->lock);
}
#define VM_BUG_ON_FOLIO_UNLOCKED(f) lockdep_assert_held(&(f)->lock)

#endif /* USWAP_SWAP_FOLIO_H */
