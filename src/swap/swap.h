/* SPDX-License-Identifier: MIT */
/*
 * swap.h - the swap subsystem inside uswap: entries, folios, devices,
 * clusters, counts, the swap cache and the entry lifecycle (phase II).
 *
 * Names follow Linux (mm/swap.h, include/linux/swap.h) one to one.
 *
 * Lock order (see base/lock.h): folio lock -> page-table lock ->
 * si->global_cluster_lock -> ci->lock -> si->lock -> sw->swap_avail_lock.
 *
 * What each lock protects:
 *   folio->lock     the folio's swap-cache membership and, for a folio in the
 *                   swap cache, the counts of its slots (folio_dup_swap /
 *                   folio_put_swap);
 *   ci->lock        the cluster's table words, swap_map bytes, count, order,
 *                   overflow counts; flags may only change with si->lock too;
 *   si->lock        the device's cluster lists and frag counts;
 *   swap_avail_lock the engine's list of devices that can allocate.
 *
 * Owns: declarations only. Locking: as above.
 */
#ifndef USWAP_SWAP_H
#define USWAP_SWAP_H

#include <errno.h>

#include "../base/arena.h"
#include "../base/atomic.h"
#include "../base/compiler.h"
#include "../base/list.h"
#include "../base/percpu.h"
#include "../base/lock.h"
#include "../base/refcount.h"
#include "../base/stats.h"
#include "../base/warn.h"

struct swap_dev;
struct uswap;

/* ---- error pointers (kernel idiom) ---- */

#define MAX_ERRNO 4095
static inline void *ERR_PTR(long err)
{
	return (void *)err;
}
static inline long PTR_ERR(const void *p)
{
	return (long)p;
}
static inline bool IS_ERR(const void *p)
{
	return (unsigned long)p >= (unsigned long)-MAX_ERRNO;
}
static inline bool IS_ERR_OR_NULL(const void *p)
{
	return !p || IS_ERR(p);
}

/* ---- swap entries ---- */

#define MAX_SWAPFILES_SHIFT 5
#define MAX_SWAPFILES	    (1 << MAX_SWAPFILES_SHIFT)
#define SWP_TYPE_SHIFT	    (BITS_PER_LONG - MAX_SWAPFILES_SHIFT)
#define SWP_OFFSET_MASK	    ((1UL << SWP_TYPE_SHIFT) - 1)

typedef unsigned long pgoff_t;

/* A swap entry names one slot: type in the top 5 bits, offset below. 0 is invalid. */
typedef struct {
	unsigned long val;
} swp_entry_t;

static inline swp_entry_t swp_entry(unsigned type, pgoff_t offset)
{
	return (swp_entry_t){((unsigned long)type << SWP_TYPE_SHIFT) | (offset & SWP_OFFSET_MASK)};
}

static inline unsigned swp_type(swp_entry_t e)
{
	return e.val >> SWP_TYPE_SHIFT;
}

static inline pgoff_t swp_offset(swp_entry_t e)
{
	return e.val & SWP_OFFSET_MASK;
}

/* ---- folios ---- */

#define MAX_PAGE_ORDER	9
#define NR_PAGE_ORDERS	(MAX_PAGE_ORDER + 1)
#define HPAGE_PMD_ORDER 9

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

static inline int folio_mapcount(const struct folio *folio)
{
	return atomic_load_relaxed(&folio->_mapcount);
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

/* ---- clusters ---- */

#define SWAPFILE_CLUSTER 512
#define SWAP_NR_ORDERS	 (HPAGE_PMD_ORDER + 1)

/* Which list a cluster is on. Order matters: <= USABLE may be allocated from. */
enum {
	CLUSTER_FLAG_NONE = 0, /* isolated: on no list */
	CLUSTER_FLAG_FREE,
	CLUSTER_FLAG_NONFULL,
	CLUSTER_FLAG_FRAG,
	CLUSTER_FLAG_USABLE = CLUSTER_FLAG_FRAG,
	CLUSTER_FLAG_FULL,
	CLUSTER_FLAG_DISCARD,
	CLUSTER_FLAG_MAX,
};

/*
 * One cache line per cluster (the array is page aligned): threads working on
 * neighbouring clusters do not bounce each other's cluster lock.
 */
struct swap_cluster_info {
	struct ulock lock;	    /* protects the fields below but list */
	uint16_t count;		    /* slots allocated, cached or bad */
	uint8_t flags;		    /* CLUSTER_FLAG_*; changed with si->lock too */
	uint8_t order;		    /* allocation order, fixed while count > 0 */
	uint16_t nr_ext;	    /* slots whose count lives in extend_table */
	uint8_t owner;		    /* 1 + cursor slot of the last thread here, 0: none (hint) */
	unsigned long *table;	    /* swap table, NULL while free (atomic pointer) */
	unsigned int *extend_table; /* overflow counts, allocated on demand */
	struct list_head list;	    /* on one of si's lists; protected by si->lock */
	char pad[16];
};

/* ---- counts (swap_map), phase II ---- */

#define SWAP_MAP_MAX	 0x3e /* largest count stored inline (62) */
#define SWAP_MAP_BAD	 0x3f /* bad slot: never allocated */
#define SWAP_MAP_EXT	 0x80 /* count continues in the cluster's extend_table */
#define SWAP_COUNT_LIMIT 0x7fffffff

/* ---- devices ---- */

enum {
	SWP_USED = 1 << 0,	     /* type slot holds a device */
	SWP_WRITEOK = 1 << 1,	     /* allocation allowed; cleared first at swapoff */
	SWP_DISCARDABLE = 1 << 2,    /* device can discard freed clusters */
	SWP_SOLIDSTATE = 1 << 3,     /* per-CPU cluster allocation */
	SWP_SYNCHRONOUS_IO = 1 << 4, /* reads complete synchronously and cheaply */
	SWP_STABLE_WRITES = 1 << 5,
};

/*
 * get_swap_device() references, sharded by thread so that threads on
 * different CPUs do not bounce one cache line (percpu_ref in the kernel).
 * A reference may be dropped on another shard than it was taken on: only
 * the sum means anything, and only once the device is marked dead.
 */

/*
 * Laid out by who writes what: the fields every operation reads and almost
 * nothing writes come first; each group that threads write (counters,
 * references, the list lock, the avail link) has cache lines of its own, so
 * that writing it does not evict what the others read.
 */
struct swap_info_struct {
	struct uswap *sw;
	unsigned long flags; /* SWP_* (atomic reads) */
	int prio;	     /* higher is used first */
	unsigned type;
	unsigned long max;	 /* slots including the header slot */
	unsigned long pages;	 /* usable slots */
	unsigned char *swap_map; /* one count byte per slot, under ci->lock */
	unsigned long *zeromap;	 /* page_io: slots whose page is all zero */
	struct swap_cluster_info *cluster_info;
	unsigned long nr_clusters;
	struct swap_dev *dev; /* backend */
	size_t meta_bytes;    /* arena bytes of swap_map, zeromap, clusters */
	/*
	 * Slots allocated or cached: sharded (read with swap_inuse_pages()).
	 * Whether the device is full is told exactly by the number of full
	 * clusters, which only moves when a cluster fills up or stops being
	 * full: sharded too (nr_full[] per thread, read with
	 * swap_nr_full_clusters()), as a thread alternating allocation and
	 * free at the edge of a full cluster moves it on every operation.
	 */
	struct percpu_counter inuse;
	struct shard_long nr_full[NR_SHARDS];	/* sequentially consistent */
	bool dead __attribute__((aligned(64))); /* no new get_swap_device() references */
	struct shard_long users[NR_SHARDS];
	struct ulock lock __attribute__((aligned(64))); /* protects the lists below */
	unsigned long nr_free_clusters; /* on free_clusters (sequentially consistent) */
	struct list_head free_clusters;
	struct list_head full_clusters;
	struct list_head discard_clusters;
	struct list_head nonfull_clusters[SWAP_NR_ORDERS];
	struct list_head frag_clusters[SWAP_NR_ORDERS];
	unsigned long frag_cluster_nr[SWAP_NR_ORDERS];
	/* serializes allocation on rotating disks */
	struct ulock global_cluster_lock __attribute__((aligned(64)));
	unsigned long global_next[SWAP_NR_ORDERS]; /* global cursor (non-SSD) */
	/* on sw->swap_avail_head; under swap_avail_lock */
	struct list_head avail_list __attribute__((aligned(64)));
	bool on_avail; /* atomic; under swap_avail_lock to change */
} __attribute__((aligned(64)));

/* Full clusters; exact while no cluster fills up or stops being full. */
static inline unsigned long swap_nr_full_clusters(struct swap_info_struct *si)
{
	long sum = 0;

	for (unsigned i = 0; i < NR_SHARDS; i++)
		sum += atomic_load_seq_cst(&si->nr_full[i].n);
	return (unsigned long)sum;
}

/* Slots allocated or cached; exact while nothing is allocated or freed. */
static inline unsigned long swap_inuse_pages(struct swap_info_struct *si)
{
	return (unsigned long)percpu_counter_sum(&si->inuse);
}

/*
 * Allocation cursor: the device and offset last allocated from. The kernel
 * keeps one per CPU; here each thread is given its own slot (its percpu
 * shard, round robin), so two threads share a cursor, and so a cluster,
 * only when there are more threads than slots: a thread migrating between
 * CPUs keeps its cursor.
 */
struct percpu_swap_cluster {
	struct swap_info_struct *si[SWAP_NR_ORDERS];
	unsigned long offset[SWAP_NR_ORDERS];
	unsigned long gen[SWAP_NR_ORDERS]; /* sw->avail_gen when recorded */
	/* 1 + first slot of the cluster in use and of the one used before (0: none). */
	unsigned long cur[SWAP_NR_ORDERS];
	unsigned long prev[SWAP_NR_ORDERS];
} __attribute__((aligned(64)));

#define USWAP_MAX_CPUS	256
#define NR_SWAP_CURSORS NR_SHARDS

/*
 * As struct swap_info_struct: what every operation reads comes first, and
 * each group threads write has cache lines of its own.
 */
struct uswap {
	struct arena *arena;
	struct swap_info_struct *swap_info[MAX_SWAPFILES]; /* never freed */
	unsigned nr_swapfiles;				   /* types ever used */
	unsigned nr_cpus;
	unsigned long avail_gen; /* bumped when the avail list's members change */
	void *mm;		 /* the mm layer's per-engine state */
	/* Called when a folio added to the cache replaces a shadow (refault). */
	void (*workingset_refault)(struct folio *folio, unsigned long shadow);
	struct pool folio_pool __attribute__((aligned(64))); /* struct folio, type-stable */
	struct pool table_pool __attribute__((aligned(64))); /* swap tables, type-stable */
	struct vm_event_state events __attribute__((aligned(64)));
	struct ulock swap_lock __attribute__((aligned(64))); /* swapon/swapoff: swap_info[] */
	int least_priority;				     /* default priority: -1, -2, ... */
	struct ulock swap_avail_lock __attribute__((aligned(64))); /* protects swap_avail_head */
	struct list_head swap_avail_head;			   /* devices by prio, high first */
	long total_swap_pages;		     /* usable slots, all devices (atomic) */
	struct percpu_counter nr_swap_pages; /* free slots, all devices */
	struct percpu_swap_cluster pcp[NR_SWAP_CURSORS];
} __attribute__((aligned(64)));

/* ---- engine ---- */

/*
 * swap_engine_create - an engine in a fresh arena of @arena_size bytes,
 * MAP_SHARED if @shared. Return: 0 or -ENOMEM / -EINVAL.
 */
int swap_engine_create(struct uswap **out, size_t arena_size, bool shared);
/* Context: no device may be on; all folios put. */
void swap_engine_destroy(struct uswap *sw);

static inline struct vm_event_state *sw_events(struct uswap *sw)
{
	return &sw->events;
}

/* ---- device management (swapfile.c) ---- */

/*
 * swapon - put @dev into service with priority @prio (-1: next default).
 * The engine takes ownership of @dev (destroyed at swapoff, or on failure).
 * Context: may sleep. Return: the type (0..31), or -EBUSY (no free type),
 * -EINVAL (device too small), -ENOMEM.
 */
int swapon(struct uswap *sw, struct swap_dev *dev, int prio);

/*
 * swapoff_begin / swapoff_finish - take a device out of service in two steps,
 * so that the mm layer can unuse entries in between:
 * swapoff_begin clears SWP_WRITEOK and takes the device off the avail list.
 * swapoff_abort puts it back into service. swapoff_finish requires
 * no slot in use, waits for get_swap_device users, frees everything.
 * Return: 0, -EINVAL (no such device), -EBUSY (slots still in use).
 */
int swapoff_begin(struct uswap *sw, unsigned type);
void swapoff_abort(struct uswap *sw, unsigned type);
int swapoff_finish(struct uswap *sw, unsigned type);

/*
 * get_swap_device - pin the device of @entry against swapoff.
 * Context: any. Return: the device, or NULL (no such device, being removed,
 * or offset out of range). Pair with put_swap_device().
 */
struct swap_info_struct *get_swap_device(struct uswap *sw, swp_entry_t entry);
void put_swap_device(struct swap_info_struct *si);

/* The device of an entry the caller knows is pinned (folio in cache, PTE). */
static inline struct swap_info_struct *__swap_entry_to_info(struct uswap *sw, swp_entry_t e)
{
	return atomic_load_acquire(&sw->swap_info[swp_type(e)]);
}

static inline struct swap_cluster_info *__swap_offset_to_cluster(struct swap_info_struct *si,
								 pgoff_t offset)
{
	return &si->cluster_info[offset / SWAPFILE_CLUSTER];
}

static inline struct swap_cluster_info *__swap_entry_to_cluster(struct uswap *sw, swp_entry_t e)
{
	return __swap_offset_to_cluster(__swap_entry_to_info(sw, e), swp_offset(e));
}

static inline struct swap_cluster_info *swap_cluster_lock(struct swap_info_struct *si,
							  pgoff_t offset)
{
	struct swap_cluster_info *ci = __swap_offset_to_cluster(si, offset);

	ulock_lock(&ci->lock);
	return ci;
}

static inline void swap_cluster_unlock(struct swap_cluster_info *ci)
{
	ulock_unlock(&ci->lock);
}

/* Lock the cluster of a folio in the swap cache. Context: folio locked. */
struct swap_cluster_info *swap_cluster_get_and_lock(struct folio *folio);

static inline unsigned swap_cluster_offset(pgoff_t offset)
{
	return offset % SWAPFILE_CLUSTER;
}

/* Return: true if more than half of all swap is in use. */
static inline bool vm_swap_full(struct uswap *sw)
{
	return percpu_counter_sum(&sw->nr_swap_pages) * 2 <
	       atomic_load_relaxed(&sw->total_swap_pages);
}

static inline long get_nr_swap_pages(struct uswap *sw)
{
	return percpu_counter_sum(&sw->nr_swap_pages);
}

/* ---- the entry lifecycle (swapfile.c), KERNEL-REFERENCE §4 ---- */

/*
 * folio_alloc_swap - allocate 2^order contiguous, naturally aligned slots for
 * @folio and add it to the swap cache for all of them; counts start at 0.
 * Context: folio locked, not in the swap cache. Return: 0, or -ENOMEM (no
 * space at this order; the caller may split and retry), -EINVAL on misuse.
 */
int folio_alloc_swap(struct folio *folio);

/*
 * folio_dup_swap - count one more reference on all the folio's slots, or on
 * the slot of @subpage only (subpage may be NULL for all).
 * Context: folio locked and in the swap cache; the caller excludes concurrent
 * _direct puts on these entries (holds the owner's lock).
 * Return: 0, -ENOMEM (overflow storage), -EINVAL (misuse: warns, no change).
 */
int folio_dup_swap(struct folio *folio, struct page *subpage);

/*
 * folio_put_swap - one reference less on all / one slot. Never frees a slot:
 * the swap cache still pins it.
 * Context: as folio_dup_swap. Return: 0, or -EINVAL (misuse, such as a folio
 * not in the swap cache or a count underflow: warns, changes nothing).
 */
int folio_put_swap(struct folio *folio, struct page *subpage);

/*
 * folio_free_swap - if @folio is in the swap cache, not under writeback and
 * every slot has count 0: remove it from the cache, free the slots, mark it
 * dirty. Context: folio locked. Return: true if it did.
 */
bool folio_free_swap(struct folio *folio);

/*
 * swap_dup_entry_direct - +1 on @entry without a folio (fork).
 * Context: the caller locks the entry's owner; count already >= 1.
 * Return: 0, -ENOMEM (overflow storage), -EINVAL (bad entry / count 0; warns).
 */
int swap_dup_entry_direct(struct uswap *sw, swp_entry_t entry);

/*
 * swap_put_entries_direct - -1 on @nr slots from @entry, within one cluster.
 * Slots reaching 0 with no folio cached are freed; a cached slot reaching 0
 * makes it try to reclaim that folio. Context: caller locks the owner; must
 * not hold a cluster lock. Misuse warns and changes nothing.
 */
void swap_put_entries_direct(struct uswap *sw, swp_entry_t entry, int nr);

/*
 * swap_alloc_hibernation_slot - one order-0 slot of device @type, count 1,
 * no folio. Return: the entry, or entry 0 if none.
 */
swp_entry_t swap_alloc_hibernation_slot(struct uswap *sw, unsigned type);
/* Put and free a hibernation slot; then reclaim any stray cache folio. */
void swap_free_hibernation_slot(struct uswap *sw, swp_entry_t entry);

/*
 * swap_entry_swapped - count > 0 and slot not bad.
 * Context: takes the cluster lock itself: never call with it held.
 */
bool swap_entry_swapped(struct uswap *sw, swp_entry_t entry);
/* Exact count including overflow; takes the lock. Return: count, or 0. */
int swp_swapcount(struct uswap *sw, swp_entry_t entry);
/*
 * __swap_cluster_free_unused - free every slot of [offset, offset+nr) that has
 * count 0 and no cached folio. Context: ci->lock held.
 */
void __swap_cluster_free_unused(struct swap_info_struct *si, struct swap_cluster_info *ci,
				pgoff_t offset, unsigned nr);
/* Locked count read. Context: ci->lock held. */
unsigned int __swap_count(struct swap_info_struct *si, struct swap_cluster_info *ci,
			  pgoff_t offset);

enum {
	TTRS_ANYWAY = 1 << 0,	/* reclaim regardless */
	TTRS_UNMAPPED = 1 << 1, /* reclaim if the folio is not mapped */
	TTRS_FULL = 1 << 2,	/* reclaim if swap is more than half full */
};

/*
 * __try_to_reclaim_swap - reclaim the cache folio at @offset if @flags allow
 * and all its slots have count 0. Context: no cluster lock held; may hold
 * another folio's lock (this only trylocks). Return: slots freed (> 0, the
 * whole folio); 0 if no folio caches @offset; else, not reclaimed (kept, or
 * its lock contended), minus the number of slots from @offset to the end of
 * that folio, which callers walking a range skip.
 */
int __try_to_reclaim_swap(struct swap_info_struct *si, pgoff_t offset, unsigned flags);

/*
 * swap_check_device - walk every cluster: per-slot counts and table words
 * against cluster counts, list membership against flags, inuse_pages
 * against the sum. Context: no lock held; lists are only checked strictly
 * when no allocation is in flight. Return: 0, or -EUCLEAN (printed).
 */
int swap_check_device(struct swap_info_struct *si);
int swap_check_all(struct uswap *sw);

/* ---- the swap cache (swap_state.c), KERNEL-REFERENCE §5 ---- */

/*
 * swap_cache_get_folio - lockless lookup; a referenced folio that was in the
 * cache at @entry when checked. The caller must lock it and re-check with
 * folio_matches_swap_entry() before relying on it.
 * Context: device pinned. Return: folio with a reference, or NULL.
 */
struct folio *swap_cache_get_folio(struct uswap *sw, swp_entry_t entry);
/* Return: whether a folio is cached at @entry (a hint). */
bool swap_cache_has_folio(struct uswap *sw, swp_entry_t entry);
/* Return: the shadow stored at @entry, or 0 (no shadow; a hint). */
unsigned long swap_cache_get_shadow(struct uswap *sw, swp_entry_t entry, bool *found);

static inline bool folio_matches_swap_entry(const struct folio *folio, swp_entry_t entry)
{
	swp_entry_t fs = folio_swap_entry(folio);
	unsigned long nr = folio_nr_pages(folio);

	return folio_test_swapcache(folio) && fs.val == ALIGN_DOWN(entry.val, nr);
}

/*
 * __swap_cache_add_folio - put @folio in all its slots from @entry; one folio
 * reference per page; sets PG_swapcache and folio->swap.
 * Context: folio locked; ci->lock held; slots hold no folio.
 */
void __swap_cache_add_folio(struct swap_cluster_info *ci, struct folio *folio, swp_entry_t entry);

/*
 * swap_cache_add_folio - checked add. Return: 0; -EEXIST if any slot holds a
 * folio; -ENOENT if any slot has count 0, is bad or belongs to hibernation,
 * or the cluster has no table. @shadow (may be NULL) receives the first
 * slot's old shadow.
 * Context: folio locked; takes the cluster lock.
 */
int swap_cache_add_folio(struct folio *folio, swp_entry_t entry, unsigned long *shadow);

/*
 * __swap_cache_del_folio - replace each slot's folio with @shadow (0: none;
 * shadows are non-zero values), clear the folio's swap state, and free at
 * once every slot whose count is 0. The cache's folio references are left
 * for the caller to drop after unlocking (folio_put_refs(folio, nr)).
 * Context: folio locked; ci->lock held.
 */
void __swap_cache_del_folio(struct swap_cluster_info *ci, struct folio *folio, swp_entry_t entry,
			    unsigned long shadow);
/* Same, taking the lock, and dropping the cache's references.
 * Context: folio locked; the caller holds its own reference. */
void swap_cache_del_folio(struct folio *folio, unsigned long shadow);

/*
 * __swap_cache_replace_folio - @new takes @old's place in every slot; @new
 * gains the cache's references, @old's are left for the caller to drop.
 * Context: both locked; ci->lock held; same order.
 */
void __swap_cache_replace_folio(struct swap_cluster_info *ci, struct folio *old, struct folio *new);

/*
 * swap_cache_alloc_folio - order-0 swap-in preparation (was
 * __read_swap_cache_async): return the cached folio if any; if @entry is not
 * swapped, NULL; else a new locked folio added to the cache (*new_folio set;
 * the caller reads it and unlocks). If another thread wins the insert, its
 * folio is returned instead (unlocked; lock it to wait for its read).
 * Context: device pinned; may sleep. Return: referenced folio, NULL, or
 * ERR_PTR(-ENOMEM).
 */
struct folio *swap_cache_alloc_folio(struct uswap *sw, swp_entry_t entry, bool *new_folio);

/*
 * swapin_folio - swap in with a caller-provided locked @folio (any order,
 * @entry aligned to its size): add it to the cache and read it. If an order-0
 * folio loses the race, the winner's folio is returned (referenced); a large
 * folio that loses returns NULL. On a read error the folio is removed from
 * the cache again and ERR_PTR(error) returned.
 * Context: folio locked (stays locked if returned); may sleep.
 * Return: @folio, the winner's folio, NULL, or ERR_PTR(-errno).
 */
struct folio *swapin_folio(struct uswap *sw, swp_entry_t entry, struct folio *folio);

/* ---- page I/O (page_io.c) ---- */

/*
 * swap_read_folio - fill @folio from its slots: zero-map first, then the
 * device. Sets uptodate on success. Context: folio locked, in the swap
 * cache. Return: 0 or -errno (-EIO, a short read...).
 */
int swap_read_folio(struct folio *folio);

/*
 * swap_writeout - write @folio to its slots: an all-zero folio only sets
 * zero-map bits (swpout_zero); else the device write (pswpout). On success
 * the folio is clean; on failure it stays dirty and in the swap cache.
 * First, as in the kernel, a folio whose slots all have count 0 is only
 * taken out of the cache (folio_free_swap()): nothing is written, and the
 * caller finds !folio_test_swapcache().
 * Context: folio locked, in the swap cache. Return: 0 or -errno.
 */
int swap_writeout(struct folio *folio);

/* Zero-map helpers. Context: slot pinned. */
bool swap_zeromap_test(struct swap_info_struct *si, pgoff_t offset);
/* Return: number of the nr slots from @entry that are zero-mapped. */
unsigned swap_zeromap_batch(struct uswap *sw, swp_entry_t entry, unsigned nr);

/* Called when slots are freed (ci->lock held): drop zero bits, notify dev. */
void swap_range_free_notify(struct swap_info_struct *si, pgoff_t offset, unsigned nr);

/* ---- hibernation extents (hibernate.c) ---- */

struct swsusp_extent {
	pgoff_t start, end; /* closed interval [start, end] */
};

struct swsusp_extents {
	struct uswap *sw;
	unsigned type;
	struct swsusp_extent *ext; /* sorted, non-overlapping, arena memory */
	unsigned nr, cap;
};

void swsusp_extents_init(struct swsusp_extents *x, struct uswap *sw, unsigned type);
/*
 * alloc_swapdev_block - allocate one hibernation slot and record it in an
 * extent. Return: the offset, or 0 if none could be had.
 */
pgoff_t alloc_swapdev_block(struct swsusp_extents *x);
/* Free every slot of every extent, each exactly once. Return: slots freed. */
unsigned long free_all_swap_pages(struct swsusp_extents *x);

#endif /* USWAP_SWAP_H */
