/* SPDX-License-Identifier: MIT */
/*
 * swap.h - the swap subsystem inside uswap (phase II): the engine, device
 * management, the entry lifecycle, the swap cache, page I/O and hibernation
 * slots, each with its contract. The data they work on is declared in
 * swap_types.h (entries, clusters, devices, the engine), folio.h (folios)
 * and base/err.h (error pointers); this header includes all three, so its
 * users need nothing else.
 *
 * Names follow Linux (mm/swap.h, include/linux/swap.h) one to one.
 *
 * Owns: declarations only. Locking: the locks and their order are the rank
 * enum in base/lock.h; each structure's fields name the lock that guards
 * them.
 */
#ifndef USWAP_SWAP_H
#define USWAP_SWAP_H

#include <errno.h>

#include "../base/err.h"
#include "folio.h"
#include "swap_types.h"

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

/* ---- the entry lifecycle (swapfile.c), docs/kernel-reference.md §4 ---- */

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
 * another folio's lock (this only trylocks). Return: pages freed (> 0),
 * 0 if not reclaimed, -EAGAIN if the folio lock was contended.
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

/* ---- the swap cache (swap_state.c), docs/kernel-reference.md §5 ---- */

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
 * Context: folio locked, in the swap cache. Return: 0 or -errno.
 */
int swap_writeout(struct folio *folio);

/* Zero-map helpers. Context: slot pinned. */
bool swap_zeromap_test(struct swap_info_struct *si, pgoff_t offset);
/* Return: number of the nr slots from @entry that are zero-mapped. */
unsigned swap_zeromap_batch(struct uswap *sw, swp_entry_t entry, unsigned nr);

/* Called when slots are freed (ci->lock held): drop zero bits, notify dev. */
void swap_range_free_notify(struct swap_info_struct *si, pgoff_t offset, unsigned nr);

/* ---- hibernation extents (hibernation_slots.c) ---- */

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
