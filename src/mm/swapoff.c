// SPDX-License-Identifier: MIT
/*
 * swapoff.c - try_to_unuse: bring every page of a device that is going out of
 * service back into memory (docs/kernel-reference.md §9), and mm_swapoff, the
 * two-step swapoff around it.
 *
 * Each pass walks every shmem file and every address space for slots and
 * entries of the device and swaps each page in: validate, map it (a PG_ksm
 * folio is copied, never mapped), folio_put_swap() on the swap-cache folio
 * at exactly the page the replaced entry named, then folio_free_swap().
 * Then cache-only slots are given back. Passes repeat until the device's
 * inuse_pages is 0: new entries of the device keep appearing while fork
 * copies them and reclaim unmaps folios already in its cache.
 *
 * Owns: nothing. Locking: the list walks hold ms->mmlist_lock only to take
 * a reference on the next address space or file; unuse of one entry takes
 * the folio lock, the PTL and the cluster lock, in base/lock.h's order.
 */
#include <limits.h>
#include <time.h>

#include "internal.h"

/* Passes in a row that free nothing before try_to_unuse gives up (about 2 s). */
#define UNUSE_MAX_IDLE_PASSES 2000

struct unuse_ctl {
	struct uswap *sw;
	struct swap_info_struct *si;
	swapoff_interrupt_t interrupted;
	void *arg;
};

static bool unuse_interrupted(struct unuse_ctl *ctl)
{
	return ctl->interrupted && ctl->interrupted(ctl->arg);
}

/*
 * Map @swapcache (locked) in place of the swap entry @orig at @addr.
 * Return: 0 (done, or the entry changed) or -ENOMEM.
 */
static int unuse_pte(struct mm_struct *mm, unsigned long addr, pte_t orig, struct folio *swapcache,
		     swp_entry_t entry)
{
	unsigned long idx = swp_offset(entry) - swp_offset(folio_swap_entry(swapcache));
	struct folio *folio = ksm_might_need_to_copy(swapcache, mm, addr, idx);
	unsigned long flags = 0;
	struct ulock *ptl;
	pte_t *ptep;

	if (!folio)
		return -ENOMEM;
	ptep = pte_offset_map_lock(mm, addr, false, &ptl);
	if (!ptep || !pte_same_as_swp(ptep_get(ptep), orig)) {
		if (ptep)
			ulock_unlock(ptl);
		if (folio != swapcache)
			folio_put(folio);
		return 0;
	}
	if (folio != swapcache || pte_swp_exclusive(ptep_get(ptep)))
		flags |= _PAGE_EXCLUSIVE;
	map_swap_pages(mm, addr, ptep, 1, folio, swapcache, idx, flags);
	ulock_unlock(ptl);
	return 0;
}

/* Swap in the entry @orig found at @addr of @mm. */
static int unuse_entry(struct unuse_ctl *ctl, struct mm_struct *mm, unsigned long addr, pte_t orig)
{
	swp_entry_t entry = pte_to_swp_entry(orig);
	bool locked = false;
	struct folio *folio;
	int err = 0;

	folio = swap_cache_lookup(ctl->sw, entry);
	if (!folio)
		folio = swapin_entry(ctl->sw, ctl->si, entry, &locked);
	if (IS_ERR_OR_NULL(folio))
		return folio ? (int)PTR_ERR(folio) : 0;
	if (!locked)
		folio_lock(folio);
	if (folio_matches_swap_entry(folio, entry)) {
		err = unuse_pte(mm, addr, orig, folio, entry);
		if (!err)
			folio_free_swap(folio);
	}
	folio_unlock(folio);
	folio_release_if_unused(folio);
	folio_put(folio);
	return err;
}

static int unuse_mm(struct unuse_ctl *ctl, struct mm_struct *mm)
{
	unsigned type = ctl->si->type;
	pte_t snap[PTRS_PER_PTE];

	for (unsigned long start = mm->start; start < mm->end; start += PMD_SIZE) {
		struct ulock *ptl;
		pte_t *ptep;

		ptep = pte_offset_map_lock(mm, start, false, &ptl);
		if (!ptep)
			continue;
		for (unsigned i = 0; i < PTRS_PER_PTE; i++)
			snap[i] = ptep_get(ptep + i);
		ulock_unlock(ptl);
		for (unsigned i = 0; i < PTRS_PER_PTE; i++) {
			int err;

			if (!is_swap_pte(snap[i]) || swp_type(pte_to_swp_entry(snap[i])) != type)
				continue;
			if (unuse_interrupted(ctl))
				return -EINTR;
			err = unuse_entry(ctl, mm, start + ((unsigned long)i << PAGE_SHIFT),
					  snap[i]);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Every address space on the list, each held by a reference while it is walked. */
static int unuse_mms(struct unuse_ctl *ctl)
{
	struct mm_state *ms = sw_mm(ctl->sw);
	struct mm_struct *mm, *prev = NULL;
	struct list_head *p = &ms->mmlist;
	int err = 0;

	ulock_lock(&ms->mmlist_lock);
	while (!err && (p = p->next) != &ms->mmlist) {
		mm = list_entry(p, struct mm_struct, mmlist);
		if (!mmget_not_zero(mm))
			continue;
		/* Our reference keeps @mm, and so our place, on the list. */
		ulock_unlock(&ms->mmlist_lock);
		if (prev)
			mmput(prev);
		prev = mm;
		err = unuse_mm(ctl, mm);
		ulock_lock(&ms->mmlist_lock);
	}
	ulock_unlock(&ms->mmlist_lock);
	if (prev)
		mmput(prev);
	return err;
}

static int unuse_shmem(struct unuse_ctl *ctl)
{
	struct mm_state *ms = sw_mm(ctl->sw);
	struct shmem_file *f, *prev = NULL;
	struct list_head *p = &ms->shmem_list;
	int err = 0;

	ulock_lock(&ms->mmlist_lock);
	while (!err && (p = p->next) != &ms->shmem_list) {
		f = list_entry(p, struct shmem_file, list);
		if (!refcount_get_unless_zero(&f->refcount))
			continue;
		ulock_unlock(&ms->mmlist_lock);
		if (prev)
			shmem_file_put(prev);
		prev = f;
		err = unuse_interrupted(ctl) ? -EINTR : shmem_unuse_file(f, ctl->si->type);
		ulock_lock(&ms->mmlist_lock);
	}
	ulock_unlock(&ms->mmlist_lock);
	if (prev)
		shmem_file_put(prev);
	return err;
}

/* Give back slots only the swap cache still holds (counts 0). */
static void unuse_cache_only(struct unuse_ctl *ctl)
{
	struct swap_info_struct *si = ctl->si;

	for (pgoff_t off = 1; off < si->max; off++) {
		swp_entry_t entry = swp_entry(si->type, off);
		struct folio *folio;

		if (!swap_cache_has_folio(ctl->sw, entry))
			continue;
		folio = swap_cache_get_folio(ctl->sw, entry);
		if (!folio)
			continue;
		folio_lock(folio);
		if (folio_matches_swap_entry(folio, entry)) {
			folio_free_swap(folio);
			off = swp_offset(entry) | (folio_nr_pages(folio) - 1);
		}
		folio_unlock(folio);
		folio_release_if_unused(folio);
		folio_put(folio);
	}
}

int try_to_unuse(struct uswap *sw, unsigned type, swapoff_interrupt_t interrupted, void *arg)
{
	struct unuse_ctl ctl = {.sw = sw, .interrupted = interrupted, .arg = arg};
	unsigned long inuse, last = ULONG_MAX, idle = 0;
	int err = 0;

	if (!sw_mm(sw))
		return -EINVAL;
	ctl.si = get_swap_device(sw, swp_entry(type, 1));
	if (!ctl.si)
		return -EINVAL;
	while ((inuse = swap_inuse_pages(ctl.si))) {
		if (unuse_interrupted(&ctl)) {
			err = -EINTR;
			break;
		}
		if (inuse < last) {
			last = inuse;
			idle = 0;
		} else if (++idle > UNUSE_MAX_IDLE_PASSES) {
			err = -EBUSY;
			break;
		} else if (idle > 2) {
			/* Whatever holds the rest is busy: let it finish. */
			struct timespec ts = {0, 1000000};

			nanosleep(&ts, NULL);
		}
		err = unuse_shmem(&ctl);
		if (!err)
			err = unuse_mms(&ctl);
		if (err)
			break;
		unuse_cache_only(&ctl);
	}
	put_swap_device(ctl.si);
	return err;
}

int mm_swapoff(struct uswap *sw, unsigned type, swapoff_interrupt_t interrupted, void *arg)
{
	int err = swapoff_begin(sw, type);

	if (err)
		return err;
	for (;;) {
		err = try_to_unuse(sw, type, interrupted, arg);
		if (err) {
			swapoff_abort(sw, type);
			return err;
		}
		err = swapoff_finish(sw, type);
		if (err != -EBUSY)
			return err;
	}
}
