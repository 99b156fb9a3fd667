/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what the mm layer's files share: the engine's mm state
 * (LRU, budget, workingset clock, lists of address spaces and shmem files),
 * the anon_vma (reverse map of a fork family), shmem files, and the helpers
 * that move folios on and off the LRU.
 *
 * Owns: declarations. Locking: in each structure's comments; the order is
 * in mm.h.
 */
#ifndef USWAP_MM_INTERNAL_H
#define USWAP_MM_INTERNAL_H

#include "mm.h"

enum lru_list {
	LRU_INACTIVE_ANON,
	LRU_ACTIVE_ANON,
	NR_LRU_LISTS,
};

/* Folios reclaim looks at in one batch (the kernel's SWAP_CLUSTER_MAX). */
#define SWAP_CLUSTER_MAX 32UL

struct lruvec {
	struct ulock lock;		      /* LOCK_RANK_LRU: lists, nr[], PG_lru */
	struct list_head lists[NR_LRU_LISTS]; /* most recent first */
	unsigned long nr_pages[NR_LRU_LISTS]; /* pages on each list (atomic reads) */
};

struct mm_state {
	struct uswap *sw;
	struct lruvec lruvec;
	long nr_charged;	       /* pages on the LRU or isolated (atomic) */
	unsigned long budget;	       /* pages, 0 = none (atomic) */
	unsigned long nonresident_age; /* workingset clock: evictions + activations (atomic) */
	long reclaim_failed_at;	   /* nr_charged when reclaim last freed nothing, or -1 (atomic) */
	long reclaim_failed_swap;  /* free swap slots at that moment (atomic) */
	struct pool anon_vma_pool; /* type-stable: rmap walkers may race with a free */
	struct ulock mmlist_lock;  /* LOCK_RANK_MMLIST: mmlist, shmem_list */
	struct list_head mmlist;   /* every mm_struct with mm_users > 0 */
	struct list_head shmem_list;	  /* every shmem file */
	mm_reclaim_batch_t reclaim_batch; /* the front end's (atomic), with its arg */
	void *reclaim_batch_arg;
};

static inline struct mm_state *sw_mm(struct uswap *sw)
{
	return sw->mm;
}

/*
 * The reverse map of one fork family: every address space that may map its
 * anon folios. All mappings of an anon folio sit at the same address, so a
 * walk looks at folio->index in each member. Objects come from a type-stable
 * pool: a walker takes a reference with get-unless-zero from a folio's
 * possibly stale ->mapping; a recycled anon_vma simply has no member mapping
 * the folio.
 */
struct anon_vma {
	refcount_t refcount;  /* members + walkers; 0 while free */
	struct ulock lock;    /* LOCK_RANK_ANON_VMA: mms */
	struct list_head mms; /* mm_struct.av_node; pool link while free */
};

/*
 * A shmem file: slots hold nothing, a folio (mk_pte(folio, 0)) or a swap
 * entry (swp_entry_to_pte()). Folios are order 0. A folio is in the file
 * exactly while folio->mapping points to the file; that and the slot change
 * together, under the folio lock and the file lock.
 */
struct shmem_file {
	struct mm_state *ms;
	struct ulock lock; /* LOCK_RANK_PTL: slots, and the counts they hold */
	unsigned long nr_pages;
	pte_t *slots;	       /* arena memory */
	long nr_swapped;       /* slots holding an entry (atomic reads) */
	refcount_t refcount;   /* the owner's and swapoff walkers' */
	struct list_head list; /* on ms->shmem_list, under ms->mmlist_lock */
};

/* ---- folio ownership: folio->mapping ---- */

#define FOLIO_MAPPING_ANON 1UL

static inline void *folio_mapping_raw(const struct folio *folio)
{
	return atomic_load_relaxed(&folio->mapping);
}

static inline struct anon_vma *folio_anon_vma(const struct folio *folio)
{
	unsigned long m = (unsigned long)folio_mapping_raw(folio);

	return (m & FOLIO_MAPPING_ANON) ? (struct anon_vma *)(m & ~FOLIO_MAPPING_ANON) : NULL;
}

/* The shmem file @folio is in. Context: folio locked for a stable answer. */
static inline struct shmem_file *folio_shmem(const struct folio *folio)
{
	unsigned long m = (unsigned long)folio_mapping_raw(folio);

	return (m & FOLIO_MAPPING_ANON) ? NULL : (struct shmem_file *)m;
}

/*
 * Every mapping of an anon folio is at the same page in each member of its
 * family (fork keeps addresses), so a fault that sets the index of a folio
 * that another member maps (a fork copying the entry at that moment) writes
 * the value already there: index is read and written atomically for that.
 */
static inline void folio_set_mapping(struct folio *folio, void *mapping, pgoff_t index)
{
	atomic_store_relaxed(&folio->index, index);
	atomic_store_relaxed(&folio->mapping, mapping);
}

/*
 * Nobody can reach @folio any more but its LRU reference: not in the swap
 * cache, not mapped, not in a shmem file. The swap-cache flag is read first:
 * a fault maps a cached folio before it may leave the cache, so seeing it
 * gone means seeing that mapping too.
 */
static inline bool folio_unused(const struct folio *folio)
{
	return !folio_test_swapcache(folio) && !folio_mapped(folio) && !folio_shmem(folio);
}

/*
 * Release: whoever reads the count with acquire (folio_mapcount()) and
 * finds a mapping gone also sees what was done through it before (an
 * install read the folio's data: pager.c may then give that data back).
 */
static inline void folio_mapcount_add(struct folio *folio, int nr)
{
	atomic_fetch_add_acq_rel(&folio->_mapcount, nr);
}

/*
 * Entries to put, gathered into runs of consecutive slots of one cluster so
 * that swap_put_entries_direct() takes each cluster lock once per run.
 */
struct swap_put_batch {
	swp_entry_t first;
	int nr;
};

static inline void swap_put_batch_flush(struct uswap *sw, struct swap_put_batch *b)
{
	if (b->nr)
		swap_put_entries_direct(sw, b->first, b->nr);
	b->nr = 0;
}

/* Add @entry to the run, or put the run and start a new one. */
static inline void swap_put_batch_add(struct uswap *sw, struct swap_put_batch *b, swp_entry_t entry)
{
	if (b->nr && entry.val == b->first.val + (unsigned)b->nr &&
	    swp_offset(entry) % SWAPFILE_CLUSTER) {
		b->nr++;
		return;
	}
	swap_put_batch_flush(sw, b);
	b->first = entry;
	b->nr = 1;
}

static inline void mm_add_counters(struct mm_struct *mm, long anon, long swapents)
{
	if (anon)
		atomic_fetch_add_relaxed(&mm->nr_anon, anon);
	if (swapents)
		atomic_fetch_add_relaxed(&mm->nr_swapents, swapents);
}

/* ---- vmscan.c: LRU, charge, reclaim, workingset ---- */

/*
 * folio_add_lru - charge @folio and put it on the LRU, which takes over one
 * reference the caller holds. Context: no LRU lock; a PTL may be held.
 */
void folio_add_lru(struct folio *folio);
/*
 * folio_isolate_lru - take @folio off the LRU; its LRU reference passes to
 * the caller. Context: no LRU lock. Return: false if it was not on the LRU.
 */
bool folio_isolate_lru(struct folio *folio);
/* folio_putback_lru - put an isolated folio back (active list if PG_active). Context: as above. */
void folio_putback_lru(struct folio *folio);
/* folio_drop_lru - uncharge an isolated, unlocked folio and drop its LRU reference. */
void folio_drop_lru(struct folio *folio);
/*
 * folio_release_if_unused - if @folio is on the LRU and unused, drop it now
 * rather than when reclaim finds it. Context: caller holds a reference of
 * its own; no LRU lock.
 */
void folio_release_if_unused(struct folio *folio);
/*
 * folio_mark_accessed - a use without a page table (shmem read or write):
 * the first sets PG_referenced, the second activates the folio.
 * Context: caller holds a reference; no LRU lock.
 */
void folio_mark_accessed(struct folio *folio);
/* mm_charge - count @nr more (or fewer) pages against the budget. Context: any. */
void mm_charge(struct mm_state *ms, long nr);
/*
 * mm_throttle - reclaim if charging @nr more pages would go over budget.
 * Context: no lock held; may sleep.
 */
void mm_throttle(struct mm_state *ms, unsigned long nr);
/*
 * mm_throttle_fits - make room for a folio of @nr pages as mm_throttle()
 * does, then tell whether charging it keeps the budget; a caller that gets
 * false uses a smaller folio (as a failed memcg charge makes the kernel
 * do). Threads charging at once may each pass and go over by a folio.
 * Context: no lock held; may sleep. Return: true if it fits (always true
 * without a budget).
 */
bool mm_throttle_fits(struct mm_state *ms, unsigned long nr);
/*
 * mm_budget_allows - whether charging @nr more pages keeps the budget, as
 * things stand (no reclaim): for optional work such as readahead.
 * Context: any. Return: true if it does (always without a budget).
 */
bool mm_budget_allows(struct mm_state *ms, unsigned long nr);
/*
 * shrink_folio_list - reclaim isolated folios from @folios (linked by
 * folio->lru); what cannot be reclaimed goes back to the LRU.
 * Context: no lock held. Return: pages freed.
 */
unsigned long shrink_folio_list(struct mm_state *ms, struct list_head *folios,
				bool ignore_references);

/* ---- rmap.c ---- */

/*
 * anon_vma_alloc - a new, empty family holding one reference for the
 * caller. Context: any. Return: the anon_vma or NULL.
 */
struct anon_vma *anon_vma_alloc(struct mm_state *ms);
/*
 * anon_vma_link / anon_vma_unlink - add @mm to a family (taking a reference
 * on it) / remove it (dropping that reference; the last frees the family).
 * Context: no lock held.
 */
void anon_vma_link(struct anon_vma *av, struct mm_struct *mm);
void anon_vma_unlink(struct mm_struct *mm);

/* Make @folio an anon folio of @mm whose first page is mapped at page @vpn. */
static inline void folio_set_anon(struct folio *folio, struct mm_struct *mm, unsigned long vpn)
{
	folio_set_mapping(folio, (void *)((unsigned long)mm->anon_vma | FOLIO_MAPPING_ANON), vpn);
}

/*
 * rmap_walk_anon - call @fn in each member of @folio's family that covers
 * the folio's address, with the lock of the table there held; @ptep and
 * @addr are the entry and address of the folio's first page (a large folio
 * is naturally aligned, so all its entries are in that table). Stops when
 * @fn returns false. Context: folio locked.
 */
typedef bool (*rmap_one_t)(struct folio *folio, struct mm_struct *mm, pte_t *ptep,
			   unsigned long addr, void *arg);
void rmap_walk_anon(struct folio *folio, rmap_one_t fn, void *arg);

/*
 * folio_referenced - clear the accessed bits of @folio's mappings.
 * Context: folio locked. Return: how many address spaces had one set.
 */
int folio_referenced(struct folio *folio);
/*
 * try_to_unmap - replace every mapping of @folio (in the swap cache) by a
 * swap entry, with folio_dup_swap per entry. Context: folio locked.
 * Return: true if @folio is no longer mapped.
 */
bool try_to_unmap(struct folio *folio);
/*
 * split_folio_to_list - split a large, unmapped-from-swap @folio into order-0
 * folios that take its place in every mapping; they are charged and
 * appended, isolated and unlocked, to @list.
 * Context: folio locked and isolated, not in the swap cache.
 * Return: 0, or -ENOMEM (nothing changed).
 */
int split_folio_to_list(struct folio *folio, struct list_head *list);

/* ---- memory.c ---- */

/*
 * set_pte_at - write @pte at @addr of @mm, mirrored by the front end
 * (ops->sync_pte). Context: the entry's PTL held.
 * Return: 0, or -EBUSY when the front end refused to unmap a page.
 */
int set_pte_at(struct mm_struct *mm, unsigned long addr, pte_t *ptep, pte_t pte);

static inline pte_t *pte_offset_map_lock(struct mm_struct *mm, unsigned long addr, bool alloc,
					 struct ulock **ptlp)
{
	return mm->ops->pte_offset_lock(mm, addr, alloc, ptlp);
}

/*
 * ksm_might_need_to_copy - a PG_ksm folio in the swap cache is never mapped
 * itself, nor is a folio that belongs to another fork family or address (it
 * cached a slot that was freed and reused meanwhile): return a new order-0
 * folio holding a copy of its page @idx, or @folio itself if it may be
 * mapped at @addr of @mm. Context: folio locked.
 * Return: the folio to map, or NULL (no memory).
 */
struct folio *ksm_might_need_to_copy(struct folio *folio, struct mm_struct *mm, unsigned long addr,
				     unsigned long idx);

/*
 * map_swap_pages - replace @nr swap entries from @ptep (at @addr) by
 * mappings of @folio's pages, @folio being the swap-cache folio @swapcache
 * itself or a KSM copy of page @idx of it; then folio_put_swap() on
 * @swapcache for exactly the pages whose entries were replaced.
 * Context: @swapcache locked, PTL held, entries validated.
 */
void map_swap_pages(struct mm_struct *mm, unsigned long addr, pte_t *ptep, unsigned nr,
		    struct folio *folio, struct folio *swapcache, unsigned long idx,
		    unsigned long pte_flags);

/* ---- swapin.c ---- */

/*
 * swap_cache_lookup - swap_cache_get_folio() that also counts the hit (and a
 * readahead hit). Context: device pinned. Return: referenced folio or NULL.
 */
struct folio *swap_cache_lookup(struct uswap *sw, swp_entry_t entry);
/*
 * swapin_entry - bring @entry's page into the swap cache, order 0: a
 * synchronous read on SWP_SYNCHRONOUS_IO devices, cluster readahead on
 * others. New folios go on the LRU. A folio this call read comes back still
 * locked (*locked set), so that reclaim cannot drop it before the caller
 * maps it; another thread's folio comes back unlocked.
 * Context: device @si pinned; no lock held.
 * Return: the referenced folio, NULL if @entry is not swapped any more, or
 * ERR_PTR(-ENOMEM / read error).
 */
struct folio *swapin_entry(struct uswap *sw, struct swap_info_struct *si, swp_entry_t entry,
			   bool *locked);

/* ---- shmem.c ---- */

/*
 * shmem_writeout - give a shmem folio slots and put its entry in the file in
 * its place; reclaim then writes it. Context: folio locked and isolated, in
 * its file. Return: 0, or -ENOMEM (no slot, nothing changed).
 */
int shmem_writeout(struct folio *folio);
/*
 * shmem_unuse_file - swap in every slot of @f holding an entry of device
 * @type. Context: no lock held; caller holds a file reference.
 * Return: 0 or the error of a swap-in.
 */
int shmem_unuse_file(struct shmem_file *f, unsigned type);
/* shmem_file_put - drop a file reference; the last one frees it. Context: no lock held. */
void shmem_file_put(struct shmem_file *f);

#endif /* USWAP_MM_INTERNAL_H */
