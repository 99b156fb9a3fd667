// SPDX-License-Identifier: MIT
/*
 * swap_state.c - the swap cache after phase II (docs/kernel-reference.md §5).
 *
 * The swap cache is the swap table: a slot's word points to the folio that
 * caches it. It is also the only swap-in synchronization: racing swap-ins
 * each allocate a folio, exactly one wins the insert under the cluster lock,
 * the others take the winner's folio and sleep on its lock until its read
 * completes. No bypass, no pin bit, no sleep-and-retry.
 *
 * Owns: adding, removing, replacing and looking up cached folios.
 * Locking: writers hold the folio lock, then ci->lock. Lookups are lockless
 * (get-unless-zero on a type-stable folio, then re-validate).
 */
#include "swap.h"

#include "swap_table.h"

struct folio *swap_cache_get_folio(struct uswap *sw, swp_entry_t entry)
{
	struct swap_info_struct *si = __swap_entry_to_info(sw, entry);
	struct swap_cluster_info *ci;
	unsigned ci_off = swap_cluster_offset(swp_offset(entry));
	struct folio *folio;
	unsigned long tb;

	if (!si || swp_offset(entry) >= si->max)
		return NULL;
	ci = __swap_offset_to_cluster(si, swp_offset(entry));
	for (;;) {
		tb = swap_table_get(ci, ci_off);
		if (!swp_tb_is_folio(tb))
			return NULL;
		folio = swp_tb_to_folio(tb);
		if (folio_try_get(folio)) {
			if (folio_matches_swap_entry(folio, entry))
				return folio;
			folio_put(folio);
		}
		/* Retry only if the slot changed under us. */
		if (swap_table_get(ci, ci_off) == tb)
			return NULL;
	}
}

bool swap_cache_has_folio(struct uswap *sw, swp_entry_t entry)
{
	struct swap_info_struct *si = __swap_entry_to_info(sw, entry);

	if (!si || swp_offset(entry) >= si->max)
		return false;
	return swp_tb_is_folio(swap_table_get(__swap_offset_to_cluster(si, swp_offset(entry)),
					      swap_cluster_offset(swp_offset(entry))));
}

unsigned long swap_cache_get_shadow(struct uswap *sw, swp_entry_t entry, bool *found)
{
	struct swap_info_struct *si = __swap_entry_to_info(sw, entry);
	struct swap_cluster_info *ci;
	unsigned long tb, *table;

	*found = false;
	if (!si || swp_offset(entry) >= si->max)
		return 0;
	ci = __swap_offset_to_cluster(si, swp_offset(entry));
	table = atomic_load_acquire(&ci->table);
	tb = swap_table_get(ci, swap_cluster_offset(swp_offset(entry)));
	/* A table freed meanwhile holds a pool link, tagged like a shadow. */
	if (!swp_tb_is_shadow(tb) || tb == SWP_TB_HIBERNATION ||
	    atomic_load_acquire(&ci->table) != table)
		return 0;
	*found = true;
	return swp_tb_to_shadow(tb);
}

void __swap_cache_add_folio(struct swap_cluster_info *ci, struct folio *folio, swp_entry_t entry)
{
	unsigned long nr = folio_nr_pages(folio);
	unsigned ci_off = swap_cluster_offset(swp_offset(entry));

	lockdep_assert_held(&ci->lock);
	lockdep_assert_held(&folio->lock);
	VM_BUG_ON(!IS_ALIGNED(swp_offset(entry), nr));
	VM_BUG_ON(folio_test_swapcache(folio));
	folio_ref_add(folio, (int)nr);
	/* Make the folio's swap state valid before any reader can find it. */
	atomic_store_relaxed(&folio->swap.val, entry.val);
	folio_set_swapcache(folio);
	for (unsigned long i = 0; i < nr; i++) {
		VM_BUG_ON(swp_tb_is_folio(__swap_table_get(ci, ci_off + i)));
		__swap_table_set(ci, ci_off + i, folio_to_swp_tb(folio));
	}
}

int swap_cache_add_folio(struct folio *folio, swp_entry_t entry, unsigned long *shadowp)
{
	struct uswap *sw = folio->sw;
	struct swap_info_struct *si = __swap_entry_to_info(sw, entry);
	unsigned long nr = folio_nr_pages(folio), shadow = 0, tb;
	pgoff_t offset = swp_offset(entry);
	unsigned ci_off = swap_cluster_offset(offset);
	struct swap_cluster_info *ci;
	int err = 0;

	if (WARN_ON_ONCE(!IS_ALIGNED(offset, nr) || ci_off + nr > SWAPFILE_CLUSTER ||
			 folio_test_swapcache(folio)))
		return -EINVAL;
	ci = swap_cluster_lock(si, offset);
	if (!ci->table) {
		err = -ENOENT;
		goto out;
	}
	for (unsigned long i = 0; i < nr; i++) {
		tb = __swap_table_get(ci, ci_off + i);
		if (swp_tb_is_folio(tb)) {
			err = -EEXIST;
			goto out;
		}
		if (!__swap_count(si, ci, offset + i) || tb == SWP_TB_HIBERNATION) {
			err = -ENOENT;
			goto out;
		}
		if (i == 0 && swp_tb_is_shadow(tb))
			shadow = swp_tb_to_shadow(tb);
	}
	__swap_cache_add_folio(ci, folio, entry);
out:
	swap_cluster_unlock(ci);
	if (err == -EEXIST)
		count_vm_event(sw_events(sw), swap_cache_add_eexist);
	if (shadowp)
		*shadowp = shadow;
	return err;
}

void __swap_cache_del_folio(struct swap_cluster_info *ci, struct folio *folio, swp_entry_t entry,
			    unsigned long shadow)
{
	struct swap_info_struct *si = __swap_entry_to_info(folio->sw, entry);
	unsigned long nr = folio_nr_pages(folio);
	pgoff_t offset = swp_offset(entry);
	unsigned ci_off = swap_cluster_offset(offset);
	bool need_free = false;

	lockdep_assert_held(&ci->lock);
	lockdep_assert_held(&folio->lock);
	VM_BUG_ON(!folio_test_swapcache(folio));
	VM_BUG_ON(folio_swap_entry(folio).val != entry.val);
	/*
	 * Every per-slot record (the shadow here) is written before any slot
	 * can be freed: freeing hands the slot to the next allocator.
	 */
	for (unsigned long i = 0; i < nr; i++) {
		VM_BUG_ON(__swap_table_get(ci, ci_off + i) != folio_to_swp_tb(folio));
		if (__swap_count(si, ci, offset + i)) {
			__swap_table_set(ci, ci_off + i, shadow ? shadow_to_swp_tb(shadow) : 0);
		} else {
			__swap_table_set(ci, ci_off + i, 0);
			need_free = true;
		}
	}
	folio_clear_swapcache(folio);
	atomic_store_relaxed(&folio->swap.val, 0UL);
	if (need_free)
		__swap_cluster_free_unused(si, ci, offset, (unsigned)nr);
}

void swap_cache_del_folio(struct folio *folio, unsigned long shadow)
{
	struct swap_cluster_info *ci = swap_cluster_get_and_lock(folio);

	__swap_cache_del_folio(ci, folio, folio_swap_entry(folio), shadow);
	swap_cluster_unlock(ci);
	folio_put_refs(folio, (int)folio_nr_pages(folio));
}

void __swap_cache_replace_folio(struct swap_cluster_info *ci, struct folio *old, struct folio *new)
{
	swp_entry_t entry = folio_swap_entry(old);
	unsigned long nr = folio_nr_pages(old);
	unsigned ci_off = swap_cluster_offset(swp_offset(entry));

	lockdep_assert_held(&ci->lock);
	VM_BUG_ON(folio_nr_pages(new) != nr || folio_test_swapcache(new));
	folio_ref_add(new, (int)nr);
	atomic_store_relaxed(&new->swap.val, entry.val);
	folio_set_swapcache(new);
	for (unsigned long i = 0; i < nr; i++) {
		VM_BUG_ON(__swap_table_get(ci, ci_off + i) != folio_to_swp_tb(old));
		__swap_table_set(ci, ci_off + i, folio_to_swp_tb(new));
	}
	folio_clear_swapcache(old);
	atomic_store_relaxed(&old->swap.val, 0UL);
}

static void swap_cache_refault(struct uswap *sw, struct folio *folio, unsigned long shadow)
{
	if (shadow && sw->workingset_refault)
		sw->workingset_refault(folio, shadow);
}

struct folio *swap_cache_alloc_folio(struct uswap *sw, swp_entry_t entry, bool *new_folio)
{
	struct folio *folio, *new;
	unsigned long shadow;
	int err;

	*new_folio = false;
	folio = swap_cache_get_folio(sw, entry);
	if (folio)
		return folio;
	if (!swap_entry_swapped(sw, entry))
		return NULL;
	new = folio_alloc_locked(sw, 0);
	if (!new)
		return ERR_PTR(-ENOMEM);
	for (;;) {
		err = swap_cache_add_folio(new, entry, &shadow);
		if (!err) {
			swap_cache_refault(sw, new, shadow);
			*new_folio = true;
			return new;
		}
		if (err != -EEXIST)
			break;
		/* Lost the race: use the winner's folio (its read may be in flight). */
		folio = swap_cache_get_folio(sw, entry);
		if (folio)
			break;
		/* The winner already left the cache: the slot decides again. */
	}
	folio_unlock(new);
	folio_put(new);
	return folio;
}

struct folio *swapin_folio(struct uswap *sw, swp_entry_t entry, struct folio *folio)
{
	struct folio *winner;
	unsigned long shadow;
	int err;

	lockdep_assert_held(&folio->lock);
	for (;;) {
		err = swap_cache_add_folio(folio, entry, &shadow);
		if (err != -EEXIST || folio_test_large(folio))
			break;
		/* Lost the race: use the winner's folio, unless it already left. */
		winner = swap_cache_get_folio(sw, entry);
		if (winner)
			return winner;
	}
	if (err)
		return NULL;
	swap_cache_refault(sw, folio, shadow);
	err = swap_read_folio(folio);
	if (err) {
		/* Leave nothing half-read in the cache: the next fault retries. */
		swap_cache_del_folio(folio, shadow);
		return ERR_PTR(err);
	}
	return folio;
}
