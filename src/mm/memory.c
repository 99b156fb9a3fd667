// SPDX-License-Identifier: MIT
/*
 * memory.c - page faults (zero fill, copy-on-write, swap-in: do_swap_page),
 * zap (munmap, MADV_DONTNEED, exit), fork (copy_page_range) and the lifetime
 * of address spaces.
 *
 * do_swap_page follows phase II (docs/kernel-reference.md §6): the swap cache
 * is the only synchronization between racing swap-ins. Look the entry up; on
 * a miss read it (a large folio on SWP_SYNCHRONOUS_IO devices when the
 * aligned range is eligible, else order 0 or readahead); lock the folio and
 * re-validate it and the entry; map it; folio_put_swap() for the mapped
 * pages; only then maybe folio_free_swap(), so that racing faults find the
 * folio in the cache and wait on its lock. A clean page whose slot is kept is
 * mapped write-protected: the write fault that follows frees the slot and
 * marks the folio dirty.
 *
 * Owns: the page-table entries' contents for every flow but reclaim's
 * (rmap.c), and the address-space lists. Locking: folio lock, PTL and
 * cluster lock, in base/lock.h's order. A flow that must sleep for a folio lock or an allocation
 * drops the PTL, then re-takes it and re-checks that the entry is unchanged
 * (pte_same). Swap counts held by entries change under the PTL; fork copies
 * a table under the parent's PTL into a private snapshot and writes the
 * child's table under the child's PTL afterwards (two PTLs are never held).
 */
#include <string.h>

#include "../base/race.h"
#include "internal.h"

struct vm_fault {
	struct mm_struct *mm;
	unsigned long address; /* page aligned */
	unsigned flags;	       /* FAULT_FLAG_* */
	pte_t orig_pte;	       /* the entry the fault saw */
};

int set_pte_at(struct mm_struct *mm, unsigned long addr, pte_t *ptep, pte_t pte)
{
	pte_t old = ptep_get(ptep);
	int err = 0;

	if (mm->ops->sync_pte)
		err = mm->ops->sync_pte(mm, addr, old, pte);
	if (err && pte_present(old) && is_swap_pte(pte))
		return err;
	WARN_ON_ONCE(err);
	__set_pte(ptep, pte);
	return 0;
}

static bool pte_range_none(pte_t *ptep, unsigned long nr)
{
	for (unsigned long i = 0; i < nr; i++)
		if (!pte_none(ptep_get(ptep + i)))
			return false;
	return true;
}

/* Return: whether @nr entries from @ptep are the swap entries from @first. */
static bool swap_pte_range_matches(pte_t *ptep, swp_entry_t first, unsigned long nr, bool exclusive)
{
	for (unsigned long i = 0; i < nr; i++)
		if (!pte_same(ptep_get(ptep + i),
			      swp_entry_to_pte((swp_entry_t){first.val + i}, exclusive)))
			return false;
	return true;
}

/* Return: whether the aligned block of @nr pages around @addr lies in @mm. */
static bool range_in_mm(struct mm_struct *mm, unsigned long addr, unsigned long nr)
{
	unsigned long start = ALIGN_DOWN(addr, nr << PAGE_SHIFT);

	return start >= mm->start && start + (nr << PAGE_SHIFT) <= mm->end;
}

/* ---- anonymous pages ---- */

/*
 * The order of a new anon folio: the largest up to mm->thp_order whose
 * naturally aligned block around the address is all none (the kernel tries
 * each enabled order the same way).
 */
static unsigned anon_fault_order(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->mm;
	unsigned order = mm->thp_order;
	struct ulock *ptl;
	pte_t *ptep;

	if (!order)
		return 0;
	ptep = pte_offset_map_lock(mm, vmf->address, false, &ptl);
	if (!ptep)
		return range_in_mm(mm, vmf->address, 1UL << order) ? order : 0;
	for (; order; order--) {
		unsigned long start = ALIGN_DOWN(vmf->address, PAGE_SIZE << order);

		/* A block of at most a table's entries: they are contiguous. */
		if (range_in_mm(mm, vmf->address, 1UL << order) &&
		    pte_range_none(ptep - ((vmf->address - start) >> PAGE_SHIFT), 1UL << order))
			break;
	}
	ulock_unlock(ptl);
	return order;
}

/*
 * The largest order from @order down whose folio fits in the budget once
 * reclaim made room: the fault was throttled for one page, a folio is
 * charged whole. Every aligned block around the address inside an all-none
 * block of @order is all none too.
 */
static unsigned anon_fault_fit_order(struct mm_state *ms, unsigned order)
{
	while (order && !mm_throttle_fits(ms, 1UL << order))
		order--;
	return order;
}

static int do_anonymous_page(struct vm_fault *vmf)
{
	struct mm_struct *mm = vmf->mm;
	unsigned order = anon_fault_fit_order(mm->ms, anon_fault_order(vmf));
	unsigned long nr, start, flags;
	struct folio *folio;
	struct ulock *ptl;
	pte_t *ptep;

	for (;;) {
		nr = 1UL << order;
		start = ALIGN_DOWN(vmf->address, PAGE_SIZE << order);
		folio = folio_alloc(mm->ms->sw, order);
		if (!folio) {
			if (!order)
				return -ENOMEM;
			order = 0;
			continue;
		}
		memset(folio->data, 0, folio_size(folio));
		race_point("anon_fault:before_ptl");
		ptep = pte_offset_map_lock(mm, start, true, &ptl);
		if (IS_ERR(ptep)) {
			folio_put(folio);
			return (int)PTR_ERR(ptep);
		}
		if (pte_range_none(ptep, nr))
			break;
		ulock_unlock(ptl);
		folio_put(folio);
		if (!order)
			return 0;
		order = 0;
	}
	folio_set_anon(folio, mm, start >> PAGE_SHIFT);
	/* No swap copy exists: memory holds the only one. */
	folio_mark_dirty(folio);
	flags = _PAGE_RW | _PAGE_EXCLUSIVE | _PAGE_ACCESSED;
	if (vmf->flags & FAULT_FLAG_WRITE)
		flags |= _PAGE_DIRTY;
	folio_ref_add(folio, (int)nr);
	folio_mapcount_add(folio, (int)nr);
	for (unsigned long i = 0; i < nr; i++)
		set_pte_at(mm, start + (i << PAGE_SHIFT), ptep + i, mk_pte(folio, flags));
	mm_add_counters(mm, (long)nr, 0);
	folio_add_lru(folio);
	ulock_unlock(ptl);
	return 0;
}

int mm_adopt_page(struct mm_struct *mm, unsigned long addr)
{
	struct folio *folio;
	struct ulock *ptl;
	pte_t *ptep;

	addr &= PAGE_MASK;
	if (addr < mm->start || addr >= mm->end)
		return -EFAULT;
	mm_throttle(mm->ms, 1);
	folio = folio_alloc(mm->ms->sw, 0);
	if (!folio)
		return -ENOMEM;
	memset(folio->data, 0, PAGE_SIZE);
	ptep = pte_offset_map_lock(mm, addr, true, &ptl);
	if (IS_ERR(ptep)) {
		folio_put(folio);
		return (int)PTR_ERR(ptep);
	}
	if (!pte_none(ptep_get(ptep))) {
		ulock_unlock(ptl);
		folio_put(folio);
		return -EEXIST;
	}
	folio_set_anon(folio, mm, addr >> PAGE_SHIFT);
	folio_mark_dirty(folio);
	folio_get(folio);
	folio_mapcount_add(folio, 1);
	set_pte_at(mm, addr, ptep,
		   mk_pte(folio, _PAGE_RW | _PAGE_EXCLUSIVE | _PAGE_ACCESSED | _PAGE_DIRTY));
	mm_add_counters(mm, 1, 0);
	folio_add_lru(folio);
	ulock_unlock(ptl);
	return 0;
}

/* ---- write faults on present pages ---- */

static void wp_page_reuse(struct vm_fault *vmf, pte_t *ptep, struct folio *folio)
{
	folio_mark_dirty(folio);
	set_pte_at(vmf->mm, vmf->address, ptep,
		   pte_set_flags(ptep_get(ptep),
				 _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_EXCLUSIVE));
}

/*
 * Copy the page @vmf->orig_pte maps into a new folio mapped writable in its
 * place. The copy is made under the PTL with the entry re-checked: while the
 * entry still maps @old read-only, nobody writes @old's page (a writable
 * mapping would be its only one).
 */
static int wp_page_copy(struct vm_fault *vmf, struct folio *old)
{
	struct mm_struct *mm = vmf->mm;
	struct folio *new = folio_alloc(mm->ms->sw, 0);
	struct ulock *ptl;
	pte_t *ptep;

	if (!new)
		return -ENOMEM;
	race_point("wp_copy:before_ptl");
	ptep = pte_offset_map_lock(mm, vmf->address, false, &ptl);
	if (!ptep || !pte_same(ptep_get(ptep), vmf->orig_pte)) {
		if (ptep)
			ulock_unlock(ptl);
		folio_put(new);
		return 0;
	}
	memcpy(new->data, page_address(pte_page(vmf->orig_pte, vmf->address)), PAGE_SIZE);
	if (folio_test_ksm(old))
		count_vm_event(sw_events(mm->ms->sw), cow_ksm);
	folio_set_anon(new, mm, vmf->address >> PAGE_SHIFT);
	folio_mark_dirty(new);
	folio_get(new);
	folio_mapcount_add(new, 1);
	set_pte_at(mm, vmf->address, ptep,
		   mk_pte(new, _PAGE_RW | _PAGE_DIRTY | _PAGE_ACCESSED | _PAGE_EXCLUSIVE));
	folio_add_lru(new);
	folio_mapcount_add(old, -1);
	ulock_unlock(ptl);
	folio_release_if_unused(old);
	folio_put(old);
	return 0;
}

/*
 * The folio lock held: reuse the page if it has no other user once its
 * stale swap slots are freed. Return: whether it was reused.
 */
static bool wp_try_reuse(struct vm_fault *vmf, struct folio *folio)
{
	struct ulock *ptl;
	bool reused = false;
	pte_t *ptep;

	ptep = pte_offset_map_lock(vmf->mm, vmf->address, false, &ptl);
	if (!ptep)
		return false;
	if (pte_same(ptep_get(ptep), vmf->orig_pte)) {
		folio_free_swap(folio);
		if (!folio_test_swapcache(folio) && folio_mapcount(folio) == 1) {
			wp_page_reuse(vmf, ptep, folio);
			reused = true;
		}
	}
	ulock_unlock(ptl);
	return reused;
}

static int do_wp_page(struct vm_fault *vmf)
{
	struct folio *folio;
	struct ulock *ptl;
	pte_t *ptep;
	int ret;

	ptep = pte_offset_map_lock(vmf->mm, vmf->address, false, &ptl);
	if (!ptep)
		return 0;
	if (!pte_same(ptep_get(ptep), vmf->orig_pte)) {
		ulock_unlock(ptl);
		return 0;
	}
	folio = pte_folio(vmf->orig_pte);
	if (pte_exclusive(vmf->orig_pte) && !folio_test_ksm(folio)) {
		/* Written in place: the slot's copy goes stale; free it if we may. */
		if (folio_test_swapcache(folio) && folio_trylock(folio)) {
			folio_free_swap(folio);
			folio_unlock(folio);
		}
		wp_page_reuse(vmf, ptep, folio);
		ulock_unlock(ptl);
		return 0;
	}
	folio_get(folio);
	ulock_unlock(ptl);
	race_point("wp:before_folio_lock");
	folio_lock(folio);
	if (!folio_test_ksm(folio) && wp_try_reuse(vmf, folio)) {
		folio_unlock(folio);
		folio_put(folio);
		return 0;
	}
	/*
	 * The copy charges a page: the fault's throttle may have gone to the
	 * swap-in that mapped @folio. Make room with @folio locked, so that
	 * reclaim cannot take the page about to be copied (it would only be
	 * swapped in again).
	 */
	mm_throttle(vmf->mm->ms, 1);
	folio_unlock(folio);
	ret = wp_page_copy(vmf, folio);
	folio_put(folio);
	return ret;
}

/* ---- swap-in ---- */

/*
 * Whether page @idx of @folio may be mapped at @addr of @mm as it is: the
 * folio belongs to @mm's fork family at that address, or nobody maps it (it
 * then takes this identity, naturally aligned). A swap-cache folio read in
 * for one address space may cache a slot that was freed and given to
 * another space at another address (a large swap-in whose range changed
 * before its cache add): mapping it there would make the page's rmap and
 * its index lie. Context: folio locked (a folio is first mapped, and gets
 * its identity, under its lock).
 */
static bool folio_fits_address(struct folio *folio, struct mm_struct *mm, unsigned long addr,
			       unsigned long idx)
{
	unsigned long vpn = addr >> PAGE_SHIFT, nr = folio_nr_pages(folio);

	if (vpn < idx || !IS_ALIGNED(vpn - idx, nr))
		return false;
	if (!folio_mapped(folio))
		return true;
	return folio_anon_vma(folio) == mm->anon_vma && folio_index(folio) == vpn - idx;
}

struct folio *ksm_might_need_to_copy(struct folio *folio, struct mm_struct *mm, unsigned long addr,
				     unsigned long idx)
{
	struct folio *copy;

	if (!folio_test_ksm(folio) && folio_fits_address(folio, mm, addr, idx))
		return folio;
	copy = folio_alloc(folio->sw, 0);
	if (!copy)
		return NULL;
	/*
	 * A KSM page is never written: mapped read-only, copied on write. A
	 * folio that does not fit maps page @idx nowhere (only entries naming
	 * its slot could, and they all copy it), so nothing writes it.
	 */
	memcpy(copy->data, folio_page(folio, idx), PAGE_SIZE);
	folio_mark_dirty(copy);
	return copy;
}

void map_swap_pages(struct mm_struct *mm, unsigned long addr, pte_t *ptep, unsigned nr,
		    struct folio *folio, struct folio *swapcache, unsigned long idx,
		    unsigned long pte_flags)
{
	bool copy = folio != swapcache;

	VM_BUG_ON(nr != 1 && (copy || nr != folio_nr_pages(swapcache)));
	/* ksm_might_need_to_copy() copied a folio of another family or address. */
	VM_BUG_ON(!copy && !folio_fits_address(folio, mm, addr, idx));
	/* A folio nobody maps may have been read in for another address. */
	if (copy || !folio_mapped(folio))
		folio_set_anon(folio, mm, (addr >> PAGE_SHIFT) - (copy ? 0 : idx));
	for (unsigned i = 0; i < nr; i++)
		set_pte_at(mm, addr + ((unsigned long)i << PAGE_SHIFT), ptep + i,
			   mk_pte(folio, pte_flags));
	folio_ref_add(folio, (int)nr);
	folio_mapcount_add(folio, (int)nr);
	mm_add_counters(mm, nr, -(long)nr);
	if (copy)
		folio_add_lru(folio);
	/* The count goes from the swap-cache folio, at the page each entry named. */
	folio_put_swap(swapcache, nr == 1 ? folio_page(swapcache, idx) : NULL);
}

static bool should_try_to_free_swap(struct swap_info_struct *si, struct folio *folio,
				    unsigned fault_flags, unsigned long nr_mapped)
{
	if (!folio_test_swapcache(folio))
		return false;
	if ((atomic_load_relaxed(&si->flags) & SWP_SYNCHRONOUS_IO) || vm_swap_full(si->sw) ||
	    folio_test_mlocked(folio))
		return true;
	if (!(fault_flags & FAULT_FLAG_WRITE))
		return false;
	/* A write fault: free the slots if nobody else maps the folio. */
	return !folio_test_ksm(folio) && folio_mapcount(folio) == (int)nr_mapped;
}

/*
 * The order of a large swap-in for @vmf, or 0: the aligned range of
 * mm->thp_order pages holds contiguous, naturally aligned swap entries with
 * the faulting entry's exclusive bit, all or none of them zero-mapped, none
 * of them cached.
 */
static unsigned swapin_large_order(struct vm_fault *vmf, swp_entry_t entry)
{
	struct mm_struct *mm = vmf->mm;
	unsigned order = mm->thp_order;
	unsigned long nr = 1UL << order, idx, start;
	struct uswap *sw = mm->ms->sw;
	swp_entry_t first;
	struct ulock *ptl;
	unsigned nr_zero;
	pte_t *ptep;
	bool match;

	if (!order || !range_in_mm(mm, vmf->address, nr))
		return 0;
	start = ALIGN_DOWN(vmf->address, PAGE_SIZE << order);
	idx = (vmf->address - start) >> PAGE_SHIFT;
	if (swp_offset(entry) < idx || !IS_ALIGNED(swp_offset(entry) - idx, nr))
		return 0;
	first = swp_entry(swp_type(entry), swp_offset(entry) - idx);
	ptep = pte_offset_map_lock(mm, start, false, &ptl);
	if (!ptep)
		return 0;
	match = swap_pte_range_matches(ptep, first, nr, pte_swp_exclusive(vmf->orig_pte));
	ulock_unlock(ptl);
	if (!match)
		return 0;
	nr_zero = swap_zeromap_batch(sw, first, (unsigned)nr);
	if (nr_zero && nr_zero != nr)
		return 0;
	for (unsigned long i = 0; i < nr; i++)
		if (swap_cache_has_folio(sw, (swp_entry_t){first.val + i}))
			return 0;
	return order;
}

/*
 * Add @folio, of @nr pages, to the swap cache at @first if the aligned range
 * of @vmf (the range swapin_large_order() checked) still holds exactly the
 * swap entries from @first. The check and the add are made under the
 * range's page-table lock: no zap or fork changes an entry in between, so
 * no slot of the range can have been freed and given to another address
 * space when the add takes it (the folio would cache that space's page, and
 * giving it up would overwrite the shadow of that space's slot). From the
 * add on the slots cannot be freed: the folio holds this range's data.
 * Context: folio locked; takes the PTL, then the cluster lock.
 * Return: 0 (*shadow: the first slot's), -EAGAIN (the range changed), or
 * swap_cache_add_folio()'s -EEXIST / -ENOENT.
 */
static int swapin_large_add(struct vm_fault *vmf, struct folio *folio, swp_entry_t first,
			    unsigned long nr, unsigned long *shadow)
{
	unsigned long start = ALIGN_DOWN(vmf->address, PAGE_SIZE * nr);
	struct ulock *ptl;
	int err = -EAGAIN;
	pte_t *ptep;

	ptep = pte_offset_map_lock(vmf->mm, start, false, &ptl);
	if (!ptep)
		return -EAGAIN;
	if (swap_pte_range_matches(ptep, first, nr, pte_swp_exclusive(vmf->orig_pte)))
		err = swap_cache_add_folio(folio, first, shadow);
	ulock_unlock(ptl);
	return err;
}

/*
 * Swap in on a SWP_SYNCHRONOUS_IO device: a large folio when eligible,
 * falling back to order 0. The range was checked before the folio was
 * allocated; in between another thread may have zapped a page of it, and
 * the freed slot may have gone to another address space: so it is checked
 * again, under the page-table lock, as the folio is added to the cache
 * (swapin_large_add), and the fault falls back to one page if it changed.
 * Return: the referenced folio (*locked says whether we hold its lock),
 * NULL, or ERR_PTR.
 */
static struct folio *swapin_sync(struct vm_fault *vmf, struct swap_info_struct *si,
				 swp_entry_t entry, bool *locked)
{
	struct uswap *sw = vmf->mm->ms->sw;
	unsigned order = swapin_large_order(vmf, entry);
	unsigned long nr, shadow;
	struct folio *folio;
	swp_entry_t first;
	int err;

	if (!order)
		return swapin_entry(sw, si, entry, locked);
	race_point("swapin_large:before_add");
	nr = 1UL << order;
	first = swp_entry(swp_type(entry), ALIGN_DOWN(swp_offset(entry), nr));
	/* The fault was throttled for one page; this charges nr. */
	folio = NULL;
	if (mm_throttle_fits(vmf->mm->ms, nr))
		folio = folio_alloc_locked(sw, order);
	if (folio) {
		if (!swapin_large_add(vmf, folio, first, nr, &shadow)) {
			race_point("swapin_large:after_add");
			/* As swapin_folio() does once its add succeeded. */
			if (shadow && sw->workingset_refault)
				sw->workingset_refault(folio, shadow);
			err = swap_read_folio(folio);
			if (!err) {
				folio_get(folio);
				folio_add_lru(folio);
				*locked = true;
				return folio;
			}
			/* Leave nothing half-read in the cache: the next fault retries. */
			swap_cache_del_folio(folio, shadow);
			folio_unlock(folio);
			folio_put(folio);
			return ERR_PTR(err);
		}
		folio_unlock(folio);
		folio_put(folio);
	}
	/*
	 * Over budget, no memory, another swap-in raced with ours, or the range
	 * changed: one page will do.
	 */
	count_vm_event(sw_events(sw), thp_swpin_fallback);
	return swapin_entry(sw, si, entry, locked);
}

/*
 * The swap-cache folio @swapcache of @entry is locked: validate and map it
 * (or a KSM copy), whole if large and its range is intact.
 */
static int do_swap_map(struct vm_fault *vmf, struct swap_info_struct *si, struct folio *swapcache,
		       swp_entry_t entry)
{
	bool exclusive = pte_swp_exclusive(vmf->orig_pte);
	struct mm_struct *mm = vmf->mm;
	unsigned long addr = vmf->address, idx, nr = 1, flags;
	struct folio *folio;
	struct ulock *ptl;
	pte_t *ptep;

	if (!folio_matches_swap_entry(swapcache, entry))
		return 0;
	idx = swp_offset(entry) - swp_offset(folio_swap_entry(swapcache));
	folio = ksm_might_need_to_copy(swapcache, mm, addr, idx);
	if (!folio)
		return -ENOMEM;
	race_point("do_swap_map:before_ptl");
	ptep = pte_offset_map_lock(mm, addr, false, &ptl);
	if (!ptep || !pte_same(ptep_get(ptep), vmf->orig_pte)) {
		if (ptep)
			ulock_unlock(ptl);
		if (folio != swapcache)
			folio_put(folio);
		return 0;
	}
	/*
	 * A large folio is mapped whole if its range still holds exactly its
	 * entries. Not copied, it fits @addr (ksm_might_need_to_copy()): its
	 * range starts at addr - idx pages, aligned to its size.
	 */
	if (folio == swapcache && folio_test_large(folio) &&
	    range_in_mm(mm, addr, folio_nr_pages(folio)) &&
	    swap_pte_range_matches(ptep - idx, folio_swap_entry(folio), folio_nr_pages(folio),
				   exclusive)) {
		nr = folio_nr_pages(folio);
		addr -= idx << PAGE_SHIFT;
		ptep -= idx;
		idx = 0;
	}
	flags = _PAGE_ACCESSED;
	if (folio != swapcache)
		flags |= _PAGE_EXCLUSIVE | _PAGE_RW | _PAGE_DIRTY;
	else if (exclusive)
		flags |= _PAGE_EXCLUSIVE;
	map_swap_pages(mm, addr, ptep, (unsigned)nr, folio, swapcache, idx, flags);
	if (should_try_to_free_swap(si, swapcache, vmf->flags, nr))
		folio_free_swap(swapcache);
	/*
	 * Writable only once no slot holds a copy: a clean page whose slot is
	 * kept stays write-protected, so its first write is seen.
	 */
	if (folio == swapcache && !folio_test_swapcache(folio) && !folio_test_ksm(folio) &&
	    (exclusive || folio_mapcount(folio) == (int)nr)) {
		flags |= _PAGE_RW | _PAGE_EXCLUSIVE;
		if (vmf->flags & FAULT_FLAG_WRITE)
			flags |= _PAGE_DIRTY;
		for (unsigned long i = 0; i < nr; i++)
			set_pte_at(mm, addr + (i << PAGE_SHIFT), ptep + i, mk_pte(folio, flags));
	}
	ulock_unlock(ptl);
	return 0;
}

/* Return: -EFAULT if the entry is still there (its device is gone), else 0 (retry). */
static int swap_device_gone(struct vm_fault *vmf)
{
	struct ulock *ptl;
	pte_t *ptep = pte_offset_map_lock(vmf->mm, vmf->address, false, &ptl);
	bool same;

	if (!ptep)
		return 0;
	same = pte_same(ptep_get(ptep), vmf->orig_pte);
	ulock_unlock(ptl);
	return same ? -EFAULT : 0;
}

static int do_swap_page(struct vm_fault *vmf)
{
	swp_entry_t entry = pte_to_swp_entry(vmf->orig_pte);
	struct uswap *sw = vmf->mm->ms->sw;
	struct swap_info_struct *si;
	struct folio *folio;
	bool locked = false;
	int ret = 0;

	si = get_swap_device(sw, entry);
	if (!si)
		return swap_device_gone(vmf);
	folio = swap_cache_lookup(sw, entry);
	if (!folio) {
		count_vm_event(sw_events(sw), pgmajfault);
		if (atomic_load_relaxed(&si->flags) & SWP_SYNCHRONOUS_IO)
			folio = swapin_sync(vmf, si, entry, &locked);
		else
			folio = swapin_entry(sw, si, entry, &locked);
		/* NULL: the entry was freed under us; the entry has changed. */
		if (IS_ERR_OR_NULL(folio)) {
			ret = folio ? (int)PTR_ERR(folio) : 0;
			goto out;
		}
	}
	race_point("do_swap_page:before_lock");
	if (!locked)
		folio_lock(folio);
	ret = do_swap_map(vmf, si, folio, entry);
	folio_unlock(folio);
	folio_put(folio);
out:
	put_swap_device(si);
	return ret;
}

int handle_mm_fault(struct mm_struct *mm, unsigned long addr, unsigned flags)
{
	struct vm_fault vmf = {.mm = mm, .address = addr & PAGE_MASK, .flags = flags};
	struct ulock *ptl;
	pte_t *ptep;
	int ret;

	if (addr < mm->start || addr >= mm->end)
		return -EFAULT;
	count_vm_event(sw_events(mm->ms->sw), pgfault);
	mm_throttle(mm->ms, 1);
	for (;;) {
		ptep = pte_offset_map_lock(mm, vmf.address, true, &ptl);
		if (IS_ERR(ptep))
			return (int)PTR_ERR(ptep);
		vmf.orig_pte = ptep_get(ptep);
		ulock_unlock(ptl);
		race_point("fault:after_read_pte");
		if (pte_present(vmf.orig_pte) &&
		    (!(flags & FAULT_FLAG_WRITE) || pte_write(vmf.orig_pte)))
			return 0;
		if (pte_none(vmf.orig_pte))
			ret = do_anonymous_page(&vmf);
		else if (!pte_present(vmf.orig_pte))
			ret = do_swap_page(&vmf);
		else
			ret = do_wp_page(&vmf);
		if (ret)
			return ret;
	}
}

/*
 * Every page of the folio becomes read-only here: a writable mapping is
 * exclusive, so this address space holds every writable mapping there is.
 */
int ksm_mark_page(struct mm_struct *mm, unsigned long addr)
{
	unsigned long start, nr;
	struct folio *folio;
	struct ulock *ptl;
	pte_t *ptep, pte;

	if (addr < mm->start || addr >= mm->end)
		return -EINVAL;
	ptep = pte_offset_map_lock(mm, addr, false, &ptl);
	if (!ptep)
		return -ENOENT;
	pte = ptep_get(ptep);
	if (!pte_present(pte)) {
		ulock_unlock(ptl);
		return -ENOENT;
	}
	folio = pte_folio(pte);
	nr = folio_nr_pages(folio);
	start = folio_page_vpn(folio, 0) << PAGE_SHIFT;
	ptep -= (addr - start) >> PAGE_SHIFT;
	for (unsigned long i = 0; i < nr; i++) {
		pte = ptep_get(ptep + i);
		if (pte_present(pte) && pte_folio(pte) == folio)
			set_pte_at(mm, start + (i << PAGE_SHIFT), ptep + i,
				   pte_clear_flags(pte, _PAGE_RW | _PAGE_EXCLUSIVE));
	}
	folio_set_ksm(folio);
	ulock_unlock(ptl);
	return 0;
}

/*
 * A folio zap unmapped for the last time may leave the swap cache now if no
 * entry counts its slots any more (the kernel's free_swap_cache); reclaim
 * would only find it later. The trylock keeps zap from waiting on a folio.
 */
static void free_swap_cache(struct folio *folio)
{
	if (folio_test_swapcache(folio) && !folio_mapped(folio) && folio_trylock(folio)) {
		folio_free_swap(folio);
		folio_unlock(folio);
	}
}

/* Zap [addr, end), within one table. */
static void zap_pte_range(struct mm_struct *mm, unsigned long addr, unsigned long end)
{
	struct folio *folios[PTRS_PER_PTE];
	struct uswap *sw = mm->ms->sw;
	struct swap_put_batch batch = {.nr = 0};
	unsigned nr_folios = 0;
	long nr_swap = 0;
	struct ulock *ptl;
	pte_t *ptep;

	ptep = pte_offset_map_lock(mm, addr, false, &ptl);
	if (!ptep)
		return;
	for (; addr < end; addr += PAGE_SIZE, ptep++) {
		pte_t pte = ptep_get(ptep);

		if (pte_none(pte))
			continue;
		set_pte_at(mm, addr, ptep, __pte(0));
		if (pte_present(pte)) {
			struct folio *folio = pte_folio(pte);

			/* Another mapping may still need what was written here. */
			if (pte_dirty(pte))
				folio_mark_dirty(folio);
			folio_mapcount_add(folio, -1);
			folios[nr_folios++] = folio;
			continue;
		}
		nr_swap++;
		swap_put_batch_add(sw, &batch, pte_to_swp_entry(pte));
	}
	swap_put_batch_flush(sw, &batch);
	mm_add_counters(mm, -(long)nr_folios, -nr_swap);
	ulock_unlock(ptl);
	race_point("zap:before_folio_release");
	/* Entries' references go last: each release check still holds one. */
	for (unsigned i = 0; i < nr_folios; i++) {
		if (i + 1 == nr_folios || folios[i + 1] != folios[i]) {
			free_swap_cache(folios[i]);
			folio_release_if_unused(folios[i]);
		}
		folio_put(folios[i]);
	}
}

int zap_page_range(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	if (start >= end || start < mm->start || end > mm->end || (start | end) & ~PAGE_MASK)
		return -EINVAL;
	while (start < end) {
		unsigned long next = min(ALIGN_DOWN(start, PMD_SIZE) + PMD_SIZE, end);

		if (mm->ops->next_table && next < end) {
			unsigned long t = mm->ops->next_table(mm, ALIGN_DOWN(start, PMD_SIZE),
							      ALIGN_DOWN(end, PMD_SIZE));

			if (t > start) {
				start = t;
				continue;
			}
		}

		zap_pte_range(mm, start, next);
		start = next;
	}
	return 0;
}

/* ---- mremap ---- */

/*
 * Move the entry at @from to @to. Return: 0, -ENOMEM, -EOPNOTSUPP. A
 * present entry moves with its folio locked, so reclaim's reverse-map walk
 * never finds the folio half moved.
 */
static int move_one_pte(struct mm_struct *mm, unsigned long from, unsigned long to)
{
	struct folio *folio = NULL;
	struct ulock *ptl;
	pte_t *ptep, pte;

	/* The destination table first: once the entry is out there is no going back. */
	ptep = pte_offset_map_lock(mm, to, true, &ptl);
	if (IS_ERR(ptep))
		return (int)PTR_ERR(ptep);
	ulock_unlock(ptl);
	for (;;) {
		ptep = pte_offset_map_lock(mm, from, false, &ptl);
		if (!ptep)
			return 0;
		pte = ptep_get(ptep);
		if (pte_none(pte)) {
			ulock_unlock(ptl);
			return 0;
		}
		if (!pte_present(pte) || (folio && pte_folio(pte) == folio))
			break;
		if (folio_test_large(pte_folio(pte))) {
			ulock_unlock(ptl);
			if (folio) {
				folio_unlock(folio);
				folio_put(folio);
			}
			return -EOPNOTSUPP;
		}
		/* Lock order: folio before PTL. */
		ulock_unlock(ptl);
		if (folio) {
			folio_unlock(folio);
			folio_put(folio);
		}
		folio = pte_folio(pte);
		folio_get(folio);
		folio_lock(folio);
	}
	__set_pte(ptep, __pte(0));
	ulock_unlock(ptl);
	if (pte_present(pte))
		folio_set_anon(folio, mm, to >> PAGE_SHIFT);
	else if (folio) {
		folio_unlock(folio);
		folio_put(folio);
		folio = NULL;
	}
	for (;;) {
		ptep = pte_offset_map_lock(mm, to, false, &ptl);
		if (pte_none(ptep_get(ptep)))
			break;
		ulock_unlock(ptl);
		zap_page_range(mm, to, to + PAGE_SIZE);
	}
	__set_pte(ptep, pte);
	ulock_unlock(ptl);
	if (folio) {
		folio_unlock(folio);
		folio_put(folio);
	}
	return 0;
}

int move_page_range(struct mm_struct *mm, unsigned long old, unsigned long new, unsigned long len)
{
	bool backwards = new > old;

	if (!len || (old | new | len) & ~PAGE_MASK || old < mm->start || new < mm->start ||
	    old + len < old || new + len < new || old + len > mm->end || new + len > mm->end)
		return -EINVAL;
	if (old == new)
		return 0;
	/* Walk so that no entry is overwritten before it moved. */
	for (unsigned long i = 0; i < len; i += PAGE_SIZE) {
		unsigned long off = backwards ? len - PAGE_SIZE - i : i;
		int err = move_one_pte(mm, old + off, new + off);

		if (err)
			return err;
	}
	return 0;
}

/* ---- fork ---- */

/* Copy the entries of [addr, end), within one table, from @src to @dst. */
static int copy_pte_range(struct mm_struct *dst, struct mm_struct *src, unsigned long addr,
			  unsigned long end)
{
	unsigned long n = (end - addr) >> PAGE_SHIFT, i;
	struct uswap *sw = src->ms->sw;
	pte_t copy[PTRS_PER_PTE];
	long anon = 0, swapents = 0;
	struct ulock *ptl;
	pte_t *ptep;
	int err = 0;

	/* The child's table first: once counts are taken there is no going back. */
	ptep = pte_offset_map_lock(dst, addr, true, &ptl);
	if (IS_ERR(ptep))
		return (int)PTR_ERR(ptep);
	ulock_unlock(ptl);

	race_point("fork:before_snapshot");
	ptep = pte_offset_map_lock(src, addr, false, &ptl);
	if (!ptep)
		return 0;
	for (i = 0; i < n; i++) {
		pte_t pte = ptep_get(ptep + i), shared;

		copy[i] = __pte(0);
		if (pte_none(pte))
			continue;
		if (pte_present(pte)) {
			struct folio *folio = pte_folio(pte);

			shared = pte_clear_flags(pte, _PAGE_RW | _PAGE_EXCLUSIVE);
			folio_get(folio);
			folio_mapcount_add(folio, 1);
			copy[i] = pte_mkold(shared);
			anon++;
		} else {
			err = swap_dup_entry_direct(sw, pte_to_swp_entry(pte));
			if (err)
				break;
			shared = pte_swp_clear_exclusive(pte);
			copy[i] = shared;
			swapents++;
		}
		if (!pte_same(shared, pte))
			set_pte_at(src, addr + (i << PAGE_SHIFT), ptep + i, shared);
	}
	ulock_unlock(ptl);
	n = i;
	/* The snapshot's mappings are counted, but not yet in the child's table. */
	race_point("fork:between_tables");
	ptep = pte_offset_map_lock(dst, addr, false, &ptl);
	for (i = 0; i < n; i++)
		if (!pte_none(copy[i]))
			set_pte_at(dst, addr + (i << PAGE_SHIFT), ptep + i, copy[i]);
	mm_add_counters(dst, anon, swapents);
	ulock_unlock(ptl);
	return err;
}

static int copy_page_range(struct mm_struct *dst, struct mm_struct *src)
{
	for (unsigned long addr = src->start; addr < src->end; addr += PMD_SIZE) {
		int err;

		/* A sparse address space: skip blocks without a table. */
		if (src->ops->next_table) {
			addr = src->ops->next_table(src, addr, src->end);
			if (addr >= src->end)
				break;
		}
		err = copy_pte_range(dst, src, addr, addr + PMD_SIZE);

		if (err)
			return err;
	}
	return 0;
}

/* ---- address spaces ---- */

static void mm_setup(struct mm_struct *mm, struct mm_state *ms, const struct mm_platform_ops *ops,
		     unsigned long start, unsigned long end, unsigned thp_order,
		     struct anon_vma *av)
{
	mm->ops = ops;
	mm->ms = ms;
	mm->start = start;
	mm->end = end;
	mm->thp_order = thp_order;
	mm->nr_anon = 0;
	mm->nr_swapents = 0;
	INIT_LIST_HEAD(&mm->av_node);
	refcount_set(&mm->mm_users, 1);
	anon_vma_link(av, mm);
	/* On the list before any entry is copied in: swapoff must see them all. */
	ulock_lock(&ms->mmlist_lock);
	list_add_tail(&mm->mmlist, &ms->mmlist);
	ulock_unlock(&ms->mmlist_lock);
}

int mm_init(struct mm_struct *mm, struct uswap *sw, const struct mm_platform_ops *ops,
	    unsigned long start, unsigned long end, unsigned thp_order)
{
	struct mm_state *ms = sw_mm(sw);
	struct anon_vma *av;

	if (!ms || !ops || start >= end || !IS_ALIGNED(start | end, PMD_SIZE) ||
	    thp_order > HPAGE_PMD_ORDER)
		return -EINVAL;
	av = anon_vma_alloc(ms);
	if (!av)
		return -ENOMEM;
	mm_setup(mm, ms, ops, start, end, thp_order, av);
	/* The family lives on its members' references. */
	refcount_put(&av->refcount);
	return 0;
}

int mm_fork(struct mm_struct *child, struct mm_struct *parent, const struct mm_platform_ops *ops)
{
	int err;

	mm_setup(child, parent->ms, ops, parent->start, parent->end, parent->thp_order,
		 parent->anon_vma);
	err = copy_page_range(child, parent);
	if (err)
		mmput(child);
	return err;
}

void mmput(struct mm_struct *mm)
{
	struct mm_state *ms = mm->ms;

	if (!refcount_put(&mm->mm_users))
		return;
	zap_page_range(mm, mm->start, mm->end);
	ulock_lock(&ms->mmlist_lock);
	list_del_init(&mm->mmlist);
	ulock_unlock(&ms->mmlist_lock);
	anon_vma_unlink(mm);
	VM_WARN_ON(atomic_load_relaxed(&mm->nr_anon) || atomic_load_relaxed(&mm->nr_swapents));
	mm->ops->release(mm);
}
