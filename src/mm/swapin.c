// SPDX-License-Identifier: MIT
/*
 * swapin.c - bringing one swap entry's page into the swap cache: a lookup
 * that counts cache and readahead hits, and on a miss either a synchronous
 * order-0 swap-in (SWP_SYNCHRONOUS_IO devices) or cluster readahead of the
 * naturally aligned window around the entry (other devices). Large swap-in
 * is do_swap_page's (memory.c): only a page fault knows the range.
 *
 * Owns: nothing. Locking: no lock held on entry; each new folio is locked
 * while it is read (other threads that find it in the cache sleep on that
 * lock), then unlocked; the swap cache settles races between readers.
 */
#include "internal.h"

/* Pages of the readahead window (the kernel's page_cluster of 3). */
#define SWAP_RA_PAGES 8UL

struct folio *swap_cache_lookup(struct uswap *sw, swp_entry_t entry)
{
	struct folio *folio = swap_cache_get_folio(sw, entry);

	if (!folio)
		return NULL;
	count_vm_event(sw_events(sw), swpin_cache_hit);
	if (folio_test_clear_readahead(folio))
		count_vm_event(sw_events(sw), swap_ra_hit);
	return folio;
}

/*
 * A folio swap_cache_alloc_folio() just added, locked, in place of @shadow:
 * read it and put it on the LRU; unlock it unless @keep_locked. Return: 0,
 * or the read error (the folio is then out of the cache, its slot holding
 * @shadow again, unlocked and put).
 */
static int swapin_new_folio(struct folio *folio, unsigned long shadow, bool keep_locked)
{
	int err = swap_read_folio(folio);

	if (err) {
		swap_cache_del_folio(folio, shadow);
		folio_unlock(folio);
		folio_put(folio);
		return err;
	}
	folio_get(folio);
	folio_add_lru(folio);
	if (!keep_locked)
		folio_unlock(folio);
	return 0;
}

/*
 * Read the window around @entry into the swap cache. Return: the referenced
 * folio of @entry, NULL if it is not swapped, or ERR_PTR.
 */
static struct folio *swapin_readahead(struct uswap *sw, struct swap_info_struct *si,
				      swp_entry_t entry, bool *locked)
{
	pgoff_t offset = swp_offset(entry), start = ALIGN_DOWN(offset, SWAP_RA_PAGES);
	pgoff_t end = min(start + SWAP_RA_PAGES, (pgoff_t)si->max);
	struct folio *target = NULL;

	for (pgoff_t off = start; off < end; off++) {
		swp_entry_t e = swp_entry(si->type, off);
		unsigned long shadow;
		struct folio *folio;
		bool new_folio, found;
		int err = 0;

		/*
		 * The slot's shadow, put back if the read fails. Read before the
		 * add, it is the one the add replaces unless another swap-in
		 * cached and evicted the slot in between (a later shadow of the
		 * same slot is lost then: a workingset hint, not data).
		 */
		shadow = swap_cache_get_shadow(sw, e, &found);
		folio = swap_cache_alloc_folio(sw, e, &new_folio);
		if (!IS_ERR_OR_NULL(folio) && new_folio)
			err = swapin_new_folio(folio, shadow, off == offset);
		if (off == offset) {
			target = err ? ERR_PTR(err) : folio;
			*locked = !err && !IS_ERR_OR_NULL(folio) && new_folio;
			continue;
		}
		if (IS_ERR_OR_NULL(folio) || err)
			continue;
		if (new_folio) {
			folio_set_readahead(folio);
			count_vm_event(sw_events(sw), swap_ra);
		}
		folio_put(folio);
	}
	return target;
}

struct folio *swapin_entry(struct uswap *sw, struct swap_info_struct *si, swp_entry_t entry,
			   bool *locked)
{
	struct folio *folio, *new;

	*locked = false;
	if (!(atomic_load_relaxed(&si->flags) & SWP_SYNCHRONOUS_IO))
		return swapin_readahead(sw, si, entry, locked);
	new = folio_alloc_locked(sw, 0);
	if (!new)
		return ERR_PTR(-ENOMEM);
	folio = swapin_folio(sw, entry, new);
	if (folio == new) {
		folio_get(new);
		folio_add_lru(new);
		*locked = true;
		return new;
	}
	folio_unlock(new);
	folio_put(new);
	return folio;
}
