// SPDX-License-Identifier: MIT
/*
 * rmap.c - the reverse map: which page-table entries map an anon folio, and
 * the walks over them that reclaim needs (references, unmap, split).
 *
 * An anon_vma stands for one fork family: the address spaces that may map
 * the family's anon folios. Nothing moves a mapping, so every mapping of an
 * anon folio's page i lies at page folio->index + i of some member; a walk
 * locks each member's table there and checks which entries really map the
 * folio. The anon_vma lives while it has members or walkers.
 *
 * Owns: anon_vma objects and membership. Locking: walks run with the folio
 * locked, take anon_vma->lock (LOCK_RANK_ANON_VMA) to hold the member list
 * still (a member can only be freed after unlinking, which needs that lock),
 * then each member's page-table lock. Membership changes take anon_vma->lock
 * alone.
 */
#include <string.h>

#include "../base/race.h"
#include "internal.h"

struct anon_vma *anon_vma_alloc(struct mm_state *ms)
{
	struct anon_vma *av = pool_alloc(&ms->anon_vma_pool);

	if (!av)
		return NULL;
	ulock_init(&av->lock, LOCK_RANK_ANON_VMA);
	INIT_LIST_HEAD(&av->mms);
	/* Publish last: a racing walker's get-unless-zero succeeds from here on. */
	refcount_set(&av->refcount, 1);
	return av;
}

static void anon_vma_put(struct mm_state *ms, struct anon_vma *av)
{
	if (refcount_put(&av->refcount)) {
		VM_BUG_ON(!list_empty(&av->mms));
		pool_free(&ms->anon_vma_pool, av);
	}
}

void anon_vma_link(struct anon_vma *av, struct mm_struct *mm)
{
	refcount_get(&av->refcount);
	mm->anon_vma = av;
	ulock_lock(&av->lock);
	list_add_tail(&mm->av_node, &av->mms);
	ulock_unlock(&av->lock);
}

void anon_vma_unlink(struct mm_struct *mm)
{
	struct anon_vma *av = mm->anon_vma;

	ulock_lock(&av->lock);
	list_del_init(&mm->av_node);
	ulock_unlock(&av->lock);
	anon_vma_put(mm->ms, av);
}

/* @split: the walk of split_folio_to_list(), with a race point between members. */
static void __rmap_walk_anon(struct folio *folio, rmap_one_t fn, void *arg, bool split)
{
	struct anon_vma *av = folio_anon_vma(folio);
	unsigned long addr = folio_index(folio) << PAGE_SHIFT;
	struct mm_state *ms = sw_mm(folio->sw);
	struct mm_struct *mm;

	lockdep_assert_held(&folio->lock);
	/* Naturally aligned: the whole folio sits in the table at @addr. */
	VM_BUG_ON(!IS_ALIGNED(folio_index(folio), folio_nr_pages(folio)));
	if (!av || !refcount_get_unless_zero(&av->refcount))
		return;
	ulock_lock(&av->lock);
	list_for_each_entry (mm, &av->mms, av_node) {
		struct ulock *ptl;
		pte_t *ptep;
		bool more;

		if (addr < mm->start || addr >= mm->end)
			continue;
		ptep = pte_offset_map_lock(mm, addr, false, &ptl);
		if (!ptep)
			continue;
		more = fn(folio, mm, ptep, addr, arg);
		ulock_unlock(ptl);
		if (!more)
			break;
		if (split && mm->av_node.next != &av->mms)
			race_point("split:between_mms");
	}
	ulock_unlock(&av->lock);
	anon_vma_put(ms, av);
}

void rmap_walk_anon(struct folio *folio, rmap_one_t fn, void *arg)
{
	__rmap_walk_anon(folio, fn, arg, false);
}

/* Return: whether the entry at @ptep maps a page of @folio. */
static bool pte_maps_folio(pte_t pte, struct folio *folio)
{
	return pte_present(pte) && pte_folio(pte) == folio;
}

/*
 * Accessed bits are the front end's "hardware" bits: clearing one needs no
 * mirroring to the real address space.
 */
static bool folio_referenced_one(struct folio *folio, struct mm_struct *mm, pte_t *ptep,
				 unsigned long addr, void *arg)
{
	unsigned long nr = folio_nr_pages(folio);
	bool young = false;
	int *referenced = arg;

	for (unsigned long i = 0; i < nr; i++) {
		pte_t pte = ptep_get(ptep + i);

		if (!pte_maps_folio(pte, folio) || !pte_young(pte))
			continue;
		__set_pte(ptep + i, pte_mkold(pte));
		young = true;
	}
	*referenced += young;
	return true;
}

int folio_referenced(struct folio *folio)
{
	int referenced = 0;

	if (folio_mapped(folio))
		rmap_walk_anon(folio, folio_referenced_one, &referenced);
	return referenced;
}

static bool try_to_unmap_one(struct folio *folio, struct mm_struct *mm, pte_t *ptep,
			     unsigned long addr, void *arg)
{
	unsigned long nr = folio_nr_pages(folio), unmapped = 0;
	swp_entry_t entry = folio_swap_entry(folio);
	bool ok = true;

	for (unsigned long i = 0; i < nr; i++) {
		pte_t pte = ptep_get(ptep + i), swp_pte;
		struct page *page = folio_page(folio, i);

		if (!pte_maps_folio(pte, folio))
			continue;
		if (folio_dup_swap(folio, page)) {
			ok = false;
			break;
		}
		swp_pte = swp_entry_to_pte((swp_entry_t){entry.val + i}, pte_exclusive(pte));
		if (set_pte_at(mm, addr + (i << PAGE_SHIFT), ptep + i, swp_pte)) {
			/* The front end cannot let the page go: undo the count. */
			folio_put_swap(folio, page);
			ok = false;
			break;
		}
		if (pte_dirty(pte))
			folio_mark_dirty(folio);
		unmapped++;
	}
	if (unmapped) {
		folio_mapcount_add(folio, -(int)unmapped);
		mm_add_counters(mm, -(long)unmapped, (long)unmapped);
		/* The entries' references; the caller's keep the folio. */
		folio_put_refs(folio, (int)unmapped);
	}
	return ok;
}

bool try_to_unmap(struct folio *folio)
{
	VM_BUG_ON(!folio_test_swapcache(folio));
	rmap_walk_anon(folio, try_to_unmap_one, NULL);
	return !folio_mapped(folio);
}

/*
 * A piece's mapcount carries this bias from its allocation until the split
 * walk has moved every mapping: the walk maps the pieces into one address
 * space at a time, and a write fault in a space already walked must not see
 * mapcount 1 and reuse a piece that a space not yet walked is about to map
 * (wp_try_reuse): it copies instead. The kernel gets the same by replacing
 * every mapping with a migration entry first; locking the pieces would do
 * too, but a split holds up to PTRS_PER_PTE of them, under the large folio's
 * lock of the same rank.
 */
#define SPLIT_MAPCOUNT_BIAS (1 << 20)

struct split_ctl {
	struct folio *pieces[PTRS_PER_PTE];
	unsigned long copied[PTRS_PER_PTE / BITS_PER_LONG];
	int moved; /* mappings moved to the pieces */
};

static void split_copy_page(struct split_ctl *ctl, struct folio *folio, unsigned long i)
{
	unsigned long bit = 1UL << (i % BITS_PER_LONG);

	if (ctl->copied[i / BITS_PER_LONG] & bit)
		return;
	memcpy(ctl->pieces[i]->data, folio_page(folio, i), PAGE_SIZE);
	ctl->copied[i / BITS_PER_LONG] |= bit;
}

/*
 * A page mapped writable is mapped by that one entry only, so copying it
 * under the entry's page-table lock sees its last write and no later one.
 */
static bool split_folio_one(struct folio *folio, struct mm_struct *mm, pte_t *ptep,
			    unsigned long addr, void *arg)
{
	unsigned long nr = folio_nr_pages(folio);
	struct split_ctl *ctl = arg;

	for (unsigned long i = 0; i < nr; i++) {
		pte_t pte = ptep_get(ptep + i);
		struct folio *piece = ctl->pieces[i];

		if (!pte_maps_folio(pte, folio))
			continue;
		split_copy_page(ctl, folio, i);
		folio_get(piece);
		folio_mapcount_add(piece, 1);
		set_pte_at(mm, addr + (i << PAGE_SHIFT), ptep + i, mk_pte(piece, pte.val));
		ctl->moved++;
	}
	return true;
}

int split_folio_to_list(struct folio *folio, struct list_head *list)
{
	unsigned long nr = folio_nr_pages(folio), i;
	struct mm_state *ms = sw_mm(folio->sw);
	struct split_ctl ctl;

	VM_BUG_ON(folio_test_swapcache(folio) || !folio_test_large(folio));
	memset(ctl.copied, 0, sizeof(ctl.copied));
	ctl.moved = 0;
	for (i = 0; i < nr; i++) {
		ctl.pieces[i] = folio_alloc(folio->sw, 0);
		if (!ctl.pieces[i]) {
			while (i--) {
				folio_mapcount_add(ctl.pieces[i], -SPLIT_MAPCOUNT_BIAS);
				folio_put(ctl.pieces[i]);
			}
			return -ENOMEM;
		}
		folio_mapcount_add(ctl.pieces[i], SPLIT_MAPCOUNT_BIAS);
		folio_set_mapping(ctl.pieces[i], folio_mapping_raw(folio), folio_index(folio) + i);
		/* Not in the swap cache: memory holds the only copy. */
		folio_mark_dirty(ctl.pieces[i]);
	}
	__rmap_walk_anon(folio, split_folio_one, &ctl, true);
	for (i = 0; i < nr; i++) {
		split_copy_page(&ctl, folio, i);
		/* Every mapping moved: the true count of each piece from here on. */
		folio_mapcount_add(ctl.pieces[i], -SPLIT_MAPCOUNT_BIAS);
	}
	folio_mapcount_add(folio, -ctl.moved);
	folio_put_refs(folio, ctl.moved);
	/* Each piece's allocation reference becomes its LRU reference, isolated. */
	mm_charge(ms, (long)nr);
	for (i = 0; i < nr; i++)
		list_add_tail(&ctl.pieces[i]->lru, list);
	count_vm_event(sw_events(folio->sw), thp_split_page);
	return 0;
}
