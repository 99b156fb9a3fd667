// SPDX-License-Identifier: MIT
/*
 * vmscan.c - the LRU, the memory budget, reclaim and workingset detection.
 *
 * Every folio the mm layer allocates is charged and put on the LRU (inactive
 * first, active once it proves hot); reclaim isolates folios from the
 * inactive tail and, for each, with the folio lock (trylocked: reclaim never
 * waits for a folio): allocates swap (folio_alloc_swap; a large folio that
 * gets no slots is split and its pieces reclaimed one by one), unmaps it
 * (try_to_unmap: folio_dup_swap per replaced entry), writes it only if dirty
 * (a clean folio whose slots still hold its data is not written again), and
 * removes it from the swap cache leaving a workingset shadow, an eviction
 * timestamp. Before a batch's first unmap, the front end's reclaim_batch
 * hook (mm_set_reclaim_batch) may look at the whole batch, to prepare the
 * unmaps in one go. A swap-in that replaces a shadow (the swap cache's
 * workingset_refault hook) activates the folio when it was evicted recently
 * enough to have stayed resident with a larger active list.
 *
 * Owns: struct mm_state, the LRU lists, the charge counter and the
 * workingset clock. Locking: lruvec->lock (LOCK_RANK_LRU) guards the lists,
 * their counts and PG_lru; it is taken alone or under a page-table lock and
 * nothing is taken under it. Everything else reclaim looks at is read under
 * the folio lock.
 */
#include <string.h>

#include "../base/race.h"
#include "internal.h"

enum folio_references {
	FOLIOREF_RECLAIM,
	FOLIOREF_KEEP,
	FOLIOREF_ACTIVATE,
};

/* What became of one folio in shrink_folio_list(). */
enum reclaim_result {
	RECLAIM_FREED,	  /* swapped out and freed */
	RECLAIM_DISCARD,  /* nobody used it any more: freed */
	RECLAIM_KEEP,	  /* back to the inactive list */
	RECLAIM_ACTIVATE, /* back to the active list */
};

static struct lruvec *folio_lruvec(struct folio *folio)
{
	return &sw_mm(folio->sw)->lruvec;
}

static enum lru_list folio_lru_list(struct folio *folio)
{
	return folio_test_active(folio) ? LRU_ACTIVE_ANON : LRU_INACTIVE_ANON;
}

static void lruvec_add_folio(struct lruvec *lruvec, struct folio *folio)
{
	enum lru_list lru = folio_lru_list(folio);

	lockdep_assert_held(&lruvec->lock);
	list_add(&folio->lru, &lruvec->lists[lru]);
	atomic_store_relaxed(&lruvec->nr_pages[lru], lruvec->nr_pages[lru] + folio_nr_pages(folio));
	folio_set_lru(folio);
}

static void lruvec_del_folio(struct lruvec *lruvec, struct folio *folio)
{
	enum lru_list lru = folio_lru_list(folio);

	lockdep_assert_held(&lruvec->lock);
	list_del_init(&folio->lru);
	atomic_store_relaxed(&lruvec->nr_pages[lru], lruvec->nr_pages[lru] - folio_nr_pages(folio));
	folio_clear_lru(folio);
}

static unsigned long lruvec_pages(struct lruvec *lruvec, enum lru_list lru)
{
	return atomic_load_relaxed(&lruvec->nr_pages[lru]);
}

void mm_charge(struct mm_state *ms, long nr)
{
	atomic_fetch_add_relaxed(&ms->nr_charged, nr);
}

void folio_add_lru(struct folio *folio)
{
	struct lruvec *lruvec = folio_lruvec(folio);

	mm_charge(sw_mm(folio->sw), (long)folio_nr_pages(folio));
	ulock_lock(&lruvec->lock);
	lruvec_add_folio(lruvec, folio);
	ulock_unlock(&lruvec->lock);
}

bool folio_isolate_lru(struct folio *folio)
{
	struct lruvec *lruvec = folio_lruvec(folio);
	bool isolated = false;

	ulock_lock(&lruvec->lock);
	if (folio_test_lru(folio)) {
		lruvec_del_folio(lruvec, folio);
		isolated = true;
	}
	ulock_unlock(&lruvec->lock);
	return isolated;
}

void folio_putback_lru(struct folio *folio)
{
	struct lruvec *lruvec = folio_lruvec(folio);

	ulock_lock(&lruvec->lock);
	lruvec_add_folio(lruvec, folio);
	ulock_unlock(&lruvec->lock);
}

void folio_drop_lru(struct folio *folio)
{
	mm_charge(sw_mm(folio->sw), -(long)folio_nr_pages(folio));
	folio_put(folio);
}

void folio_release_if_unused(struct folio *folio)
{
	struct lruvec *lruvec = folio_lruvec(folio);
	bool dropped = false;

	ulock_lock(&lruvec->lock);
	if (folio_test_lru(folio) && folio_unused(folio)) {
		lruvec_del_folio(lruvec, folio);
		dropped = true;
	}
	ulock_unlock(&lruvec->lock);
	if (dropped)
		folio_drop_lru(folio);
}

void folio_mark_accessed(struct folio *folio)
{
	struct lruvec *lruvec = folio_lruvec(folio);
	bool activated = false;

	if (folio_test_active(folio))
		return;
	if (!folio_test_referenced(folio)) {
		folio_set_referenced(folio);
		return;
	}
	ulock_lock(&lruvec->lock);
	if (folio_test_lru(folio) && !folio_test_active(folio)) {
		lruvec_del_folio(lruvec, folio);
		folio_set_active(folio);
		lruvec_add_folio(lruvec, folio);
		activated = true;
	}
	ulock_unlock(&lruvec->lock);
	folio_clear_referenced(folio);
	if (activated)
		count_vm_events(sw_events(folio->sw), pgactivate, folio_nr_pages(folio));
}

/* ---- workingset ---- */

static void workingset_age_nonresident(struct mm_state *ms, unsigned long nr)
{
	atomic_fetch_add_relaxed(&ms->nonresident_age, nr);
}

/* The shadow of an evicted folio: the clock after its eviction (never 0). */
static unsigned long workingset_eviction(struct mm_state *ms, struct folio *folio)
{
	return atomic_add_return_relaxed(&ms->nonresident_age, folio_nr_pages(folio));
}

/*
 * The swap cache's refault hook: the folio replacing @shadow is a refault.
 * Had the active list been larger by the refault distance (evictions and
 * activations since), the folio would still be resident: activate it.
 * Context: folio locked, new in the swap cache, not yet on the LRU.
 */
static void workingset_refault(struct folio *folio, unsigned long shadow)
{
	struct mm_state *ms = sw_mm(folio->sw);
	struct vm_event_state *ev = sw_events(folio->sw);
	unsigned long nr = folio_nr_pages(folio);
	unsigned long distance = atomic_load_relaxed(&ms->nonresident_age) - shadow;

	count_vm_events(ev, workingset_refault_anon, nr);
	if (distance > lruvec_pages(&ms->lruvec, LRU_ACTIVE_ANON))
		return;
	folio_set_active(folio);
	workingset_age_nonresident(ms, nr);
	count_vm_events(ev, workingset_activate_anon, nr);
}

/* ---- reclaim ---- */

static enum folio_references folio_check_references(struct folio *folio)
{
	int referenced_ptes = folio_referenced(folio);
	bool referenced_folio = folio_test_clear_referenced(folio);

	if (referenced_ptes) {
		folio_set_referenced(folio);
		if (referenced_folio || referenced_ptes > 1)
			return FOLIOREF_ACTIVATE;
		return FOLIOREF_KEEP;
	}
	return FOLIOREF_RECLAIM;
}

/*
 * Give @folio swap slots and unmap it: after this it is in the swap cache
 * and no page table maps it. A large folio that gets no slots is split, its
 * pieces appended to @folios. Context: folio locked.
 */
static enum reclaim_result folio_prepare_swapout(struct folio *folio, struct list_head *folios)
{
	if (folio_shmem(folio)) {
		if (shmem_writeout(folio))
			return RECLAIM_ACTIVATE;
	} else if (!folio_test_swapcache(folio)) {
		if (folio_alloc_swap(folio)) {
			if (!folio_test_large(folio))
				return RECLAIM_ACTIVATE;
			count_vm_event(sw_events(folio->sw), thp_swpout_fallback);
			if (split_folio_to_list(folio, folios))
				return RECLAIM_ACTIVATE;
			/* A fork may have mapped the folio while it was split. */
			return folio_unused(folio) ? RECLAIM_DISCARD : RECLAIM_KEEP;
		}
		/* Fresh slots hold nothing yet. */
		folio_mark_dirty(folio);
	}
	race_point("reclaim:between_alloc_and_unmap");
	if (folio_mapped(folio) && !try_to_unmap(folio))
		return RECLAIM_ACTIVATE;
	return RECLAIM_FREED;
}

/* Reclaim one isolated, locked folio. */
static enum reclaim_result reclaim_folio(struct mm_state *ms, struct folio *folio,
					 struct list_head *folios, bool ignore_references)
{
	enum reclaim_result ret;

	if (folio_unused(folio))
		return RECLAIM_DISCARD;
	/* Only the swap cache holds it: its slots' counts are 0, give them back. */
	if (!folio_mapped(folio) && !folio_shmem(folio) && folio_free_swap(folio))
		return RECLAIM_DISCARD;
	if (folio_test_mlocked(folio))
		return RECLAIM_ACTIVATE;
	if (!ignore_references) {
		switch (folio_check_references(folio)) {
		case FOLIOREF_ACTIVATE:
			return RECLAIM_ACTIVATE;
		case FOLIOREF_KEEP:
			return RECLAIM_KEEP;
		case FOLIOREF_RECLAIM:
			break;
		}
	}
	ret = folio_prepare_swapout(folio, folios);
	if (ret != RECLAIM_FREED)
		return ret;
	race_point("reclaim:between_unmap_and_writeout");
	/* A failed write leaves the folio dirty and in the cache: nothing is lost. */
	if (folio_test_dirty(folio) && swap_writeout(folio))
		return RECLAIM_ACTIVATE;
	race_point("reclaim:before_cache_del");
	/* Its counts all went during the unmap: the writeout only freed the slots. */
	if (folio_test_swapcache(folio))
		swap_cache_del_folio(folio, workingset_eviction(ms, folio));
	count_vm_events(sw_events(ms->sw), pgsteal_anon, folio_nr_pages(folio));
	return RECLAIM_FREED;
}

unsigned long shrink_folio_list(struct mm_state *ms, struct list_head *folios,
				bool ignore_references)
{
	struct vm_event_state *ev = sw_events(ms->sw);
	mm_reclaim_batch_t batch = atomic_load_acquire(&ms->reclaim_batch);
	unsigned long nr_reclaimed = 0;

	if (batch && !list_empty(folios))
		batch(folios, atomic_load_relaxed(&ms->reclaim_batch_arg));
	while (!list_empty(folios)) {
		struct folio *folio = list_first_entry(folios, struct folio, lru);
		unsigned long nr = folio_nr_pages(folio);
		enum reclaim_result ret = RECLAIM_KEEP;

		list_del_init(&folio->lru);
		count_vm_events(ev, pgscan_anon, nr);
		if (folio_trylock(folio)) {
			ret = reclaim_folio(ms, folio, folios, ignore_references);
			folio_unlock(folio);
		}
		switch (ret) {
		case RECLAIM_FREED:
			nr_reclaimed += nr;
			folio_drop_lru(folio);
			break;
		case RECLAIM_DISCARD:
			folio_drop_lru(folio);
			break;
		case RECLAIM_ACTIVATE:
			if (!folio_test_set_active(folio)) {
				workingset_age_nonresident(ms, nr);
				count_vm_events(ev, pgactivate, nr);
			}
			folio_putback_lru(folio);
			break;
		case RECLAIM_KEEP:
			folio_putback_lru(folio);
			break;
		}
	}
	return nr_reclaimed;
}

/* Move up to @nr folios from the active tail to the inactive list. */
static void shrink_active_list(struct lruvec *lruvec, struct vm_event_state *ev, unsigned long nr)
{
	struct list_head *active = &lruvec->lists[LRU_ACTIVE_ANON];

	ulock_lock(&lruvec->lock);
	while (nr-- && !list_empty(active)) {
		struct folio *folio = list_entry(active->prev, struct folio, lru);

		lruvec_del_folio(lruvec, folio);
		folio_clear_active(folio);
		lruvec_add_folio(lruvec, folio);
		count_vm_events(ev, pgdeactivate, folio_nr_pages(folio));
	}
	ulock_unlock(&lruvec->lock);
}

/* Isolate up to @nr folios from the inactive tail onto @list. Return: how many. */
static unsigned long isolate_lru_folios(struct lruvec *lruvec, unsigned long nr,
					struct list_head *list)
{
	struct list_head *inactive = &lruvec->lists[LRU_INACTIVE_ANON];
	unsigned long n = 0;

	ulock_lock(&lruvec->lock);
	while (n < nr && !list_empty(inactive)) {
		struct folio *folio = list_entry(inactive->prev, struct folio, lru);

		lruvec_del_folio(lruvec, folio);
		list_add_tail(&folio->lru, list);
		n++;
	}
	ulock_unlock(&lruvec->lock);
	return n;
}

static unsigned long shrink_lruvec(struct mm_state *ms, unsigned long nr_to_reclaim)
{
	struct lruvec *lruvec = &ms->lruvec;
	struct vm_event_state *ev = sw_events(ms->sw);
	unsigned long nr_reclaimed = 0, nr_scanned = 0, max_scan;

	/* Twice round the lists: once to age the folios, once to reclaim them. */
	max_scan = 2 * (lruvec_pages(lruvec, LRU_ACTIVE_ANON) +
			lruvec_pages(lruvec, LRU_INACTIVE_ANON)) +
		   SWAP_CLUSTER_MAX;
	while (nr_reclaimed < nr_to_reclaim && nr_scanned < max_scan) {
		struct list_head folios = LIST_HEAD_INIT(folios);
		unsigned long n;

		if (lruvec_pages(lruvec, LRU_INACTIVE_ANON) <=
		    lruvec_pages(lruvec, LRU_ACTIVE_ANON))
			shrink_active_list(lruvec, ev, SWAP_CLUSTER_MAX);
		n = isolate_lru_folios(lruvec, SWAP_CLUSTER_MAX, &folios);
		if (!n) {
			if (!lruvec_pages(lruvec, LRU_ACTIVE_ANON))
				break;
			nr_scanned += SWAP_CLUSTER_MAX;
			continue;
		}
		nr_scanned += n;
		nr_reclaimed += shrink_folio_list(ms, &folios, false);
	}
	return nr_reclaimed;
}

unsigned long try_to_free_pages(struct uswap *sw, unsigned long nr)
{
	return shrink_lruvec(sw_mm(sw), nr);
}

long madvise_pageout(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct list_head folios = LIST_HEAD_INIT(folios);
	unsigned long addr = start;

	if (start >= end || start < mm->start || end > mm->end || (start | end) & ~PAGE_MASK)
		return -EINVAL;
	while (addr < end) {
		unsigned long next = min(ALIGN_DOWN(addr, PMD_SIZE) + PMD_SIZE, end);
		struct ulock *ptl;
		pte_t *ptep = pte_offset_map_lock(mm, addr, false, &ptl);

		for (; ptep && addr < next; addr += PAGE_SIZE, ptep++) {
			pte_t pte = ptep_get(ptep);

			/* A large folio goes on the list once: then it is off the LRU. */
			if (pte_present(pte) && folio_isolate_lru(pte_folio(pte)))
				list_add_tail(&pte_folio(pte)->lru, &folios);
		}
		if (ptep)
			ulock_unlock(ptl);
		addr = next;
	}
	race_point("pageout:after_isolate");
	return (long)shrink_folio_list(mm->ms, &folios, true);
}

void mm_throttle(struct mm_state *ms, unsigned long nr)
{
	unsigned long budget = atomic_load_relaxed(&ms->budget);
	long charged = atomic_load_relaxed(&ms->nr_charged), over, failed_at;

	if (!budget)
		return;
	over = charged + (long)nr - (long)budget;
	if (over <= 0)
		return;
	/*
	 * When a whole reclaim pass freed nothing (swap full, everything in
	 * use), try again only once something changed: another batch of pages
	 * was charged, or pages were uncharged (the LRU is not what it was), or
	 * swap slots were freed. A scan of the whole LRU per fault would get
	 * nothing more.
	 */
	failed_at = atomic_load_relaxed(&ms->reclaim_failed_at);
	if (failed_at >= 0 && charged < failed_at + (long)SWAP_CLUSTER_MAX &&
	    charged >= failed_at &&
	    get_nr_swap_pages(ms->sw) <= atomic_load_relaxed(&ms->reclaim_failed_swap))
		return;
	if (shrink_lruvec(ms, max((unsigned long)over, SWAP_CLUSTER_MAX))) {
		atomic_store_relaxed(&ms->reclaim_failed_at, -1L);
	} else {
		atomic_store_relaxed(&ms->reclaim_failed_swap, get_nr_swap_pages(ms->sw));
		atomic_store_relaxed(&ms->reclaim_failed_at, charged);
	}
}

bool mm_budget_allows(struct mm_state *ms, unsigned long nr)
{
	unsigned long budget = atomic_load_relaxed(&ms->budget);

	return !budget || atomic_load_relaxed(&ms->nr_charged) + (long)nr <= (long)budget;
}

bool mm_throttle_fits(struct mm_state *ms, unsigned long nr)
{
	unsigned long budget = atomic_load_relaxed(&ms->budget);

	if (!budget)
		return true;
	if (nr > budget)
		return false;
	mm_throttle(ms, nr);
	return mm_budget_allows(ms, nr);
}

void mm_set_budget(struct uswap *sw, unsigned long pages)
{
	atomic_store_relaxed(&sw_mm(sw)->budget, pages);
}

void mm_set_reclaim_batch(struct uswap *sw, mm_reclaim_batch_t fn, void *arg)
{
	struct mm_state *ms = sw_mm(sw);

	/* The arg first: a batch that reads the new hook finds its arg. */
	atomic_store_relaxed(&ms->reclaim_batch, NULL);
	atomic_store_release(&ms->reclaim_batch_arg, arg);
	atomic_store_release(&ms->reclaim_batch, fn);
}

void mm_lru_info(struct uswap *sw, struct mm_lru_info *info)
{
	struct mm_state *ms = sw_mm(sw);
	long charged = atomic_load_relaxed(&ms->nr_charged);

	info->charged = charged > 0 ? (unsigned long)charged : 0;
	info->active = lruvec_pages(&ms->lruvec, LRU_ACTIVE_ANON);
	info->inactive = lruvec_pages(&ms->lruvec, LRU_INACTIVE_ANON);
	info->budget = atomic_load_relaxed(&ms->budget);
}

/* ---- the engine's mm state ---- */

int mm_state_create(struct uswap *sw)
{
	struct mm_state *ms;

	if (sw->mm)
		return -EEXIST;
	ms = arena_zalloc(sw->arena, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	ms->sw = sw;
	ms->reclaim_failed_at = -1;
	ulock_init(&ms->lruvec.lock, LOCK_RANK_LRU);
	for (int lru = 0; lru < NR_LRU_LISTS; lru++)
		INIT_LIST_HEAD(&ms->lruvec.lists[lru]);
	pool_init(&ms->anon_vma_pool, sw->arena, "anon_vma", sizeof(struct anon_vma), 64,
		  offsetof(struct anon_vma, mms), 0);
	ulock_init(&ms->mmlist_lock, LOCK_RANK_MMLIST);
	INIT_LIST_HEAD(&ms->mmlist);
	INIT_LIST_HEAD(&ms->shmem_list);
	sw->mm = ms;
	sw->workingset_refault = workingset_refault;
	return 0;
}

void mm_state_destroy(struct uswap *sw)
{
	struct mm_state *ms = sw_mm(sw);
	struct lruvec *lruvec = &ms->lruvec;

	if (!ms)
		return;
	WARN_ON_ONCE(!list_empty(&ms->mmlist) || !list_empty(&ms->shmem_list));
	for (int lru = 0; lru < NR_LRU_LISTS; lru++) {
		while (!list_empty(&lruvec->lists[lru])) {
			struct folio *folio =
				list_first_entry(&lruvec->lists[lru], struct folio, lru);

			ulock_lock(&lruvec->lock);
			lruvec_del_folio(lruvec, folio);
			ulock_unlock(&lruvec->lock);
			/* With no owner left, only cache-only folios remain to let go. */
			folio_lock(folio);
			folio_free_swap(folio);
			folio_unlock(folio);
			WARN_ON_ONCE(!folio_unused(folio));
			folio_drop_lru(folio);
		}
	}
	WARN_ON_ONCE(atomic_load_relaxed(&ms->nr_charged));
	sw->workingset_refault = NULL;
	sw->mm = NULL;
	arena_free(sw->arena, ms, sizeof(*ms));
}
