/* SPDX-License-Identifier: MIT */
/*
 * pte.h - the page-table entry word shared by the mm layer and every front
 * end (the model's page tables, later the uffd front end's shadow tables).
 *
 *   63                                           6   5   4   3   2   1   0
 *  +-----------------------------------------------+---+---+---+---+---+---+
 *  |                      0                                            | 0 |  none
 *  +-----------------------------------------------+---+---+---+---+---+---+
 *  |      struct folio * (64-byte aligned)         | 0 |EXC|ACC|DRT| RW| 1 |  present
 *  +-----------------------------------------------+---+---+---+---+---+---+
 *
 *   63                                    8 7               3   2   1   0
 *  +---------------------------------------+-----------------+---+---+---+
 *  |            swap offset                |    swap type    |EXC| 1 | 0 |  swap
 *  +---------------------------------------+-----------------+---+---+---+
 *
 * A present entry maps one page of a folio: page (addr >> PAGE_SHIFT) -
 * folio->index, which the mm layer keeps right for every anon folio it maps
 * (all mappings of an anon folio sit at the same address: fork copies page
 * tables, nothing moves them). EXC is the kernel's PageAnonExclusive, kept
 * per mapping: the page is mapped by this entry only and may be written
 * without a copy. ACC and DRT are set by the "hardware" (the model's access
 * path) like an MMU's accessed and dirty bits.
 *
 * PTRS_PER_PTE entries of a PMD-aligned block form one table: they are
 * contiguous in memory and share one page-table lock (LOCK_RANK_PTL), which
 * protects every entry of the table and the folio mappings they hold.
 *
 * Owns: nothing. Locking: entries are read and written under their PTL.
 */
#ifndef USWAP_MM_PTE_H
#define USWAP_MM_PTE_H

#include "../swap/swap.h"

#define PTRS_PER_PTE 512
#define PMD_SHIFT    (PAGE_SHIFT + 9)
#define PMD_SIZE     (1UL << PMD_SHIFT)
#define PMD_MASK     (~(PMD_SIZE - 1))

BUILD_BUG_ON(PTRS_PER_PTE != SWAPFILE_CLUSTER);

typedef struct {
	unsigned long val;
} pte_t;

#define _PAGE_PRESENT	 (1UL << 0)
#define _PAGE_RW	 (1UL << 1)
#define _PAGE_DIRTY	 (1UL << 2)
#define _PAGE_ACCESSED	 (1UL << 3)
#define _PAGE_EXCLUSIVE	 (1UL << 4)
#define _PAGE_FLAGS_MASK 0x3fUL

#define _PAGE_SWP	     (1UL << 1)
#define _PAGE_SWP_EXCLUSIVE  (1UL << 2)
#define SWP_PTE_TYPE_SHIFT   3
#define SWP_PTE_OFFSET_SHIFT 8

static inline pte_t __pte(unsigned long val)
{
	return (pte_t){val};
}

static inline bool pte_none(pte_t pte)
{
	return pte.val == 0;
}

static inline bool pte_present(pte_t pte)
{
	return pte.val & _PAGE_PRESENT;
}

static inline bool is_swap_pte(pte_t pte)
{
	return !pte_present(pte) && (pte.val & _PAGE_SWP);
}

static inline bool pte_same(pte_t a, pte_t b)
{
	return a.val == b.val;
}

/* ---- present entries ---- */

/* Folio descriptors come from a pool aligned to 64 bytes: the low bits are free. */
static inline pte_t mk_pte(struct folio *folio, unsigned long flags)
{
	VM_BUG_ON((unsigned long)folio & _PAGE_FLAGS_MASK);
	return __pte((unsigned long)folio | _PAGE_PRESENT | (flags & _PAGE_FLAGS_MASK));
}

static inline struct folio *pte_folio(pte_t pte)
{
	return (struct folio *)(pte.val & ~_PAGE_FLAGS_MASK);
}

static inline bool pte_write(pte_t pte)
{
	return pte.val & _PAGE_RW;
}

static inline bool pte_dirty(pte_t pte)
{
	return pte.val & _PAGE_DIRTY;
}

static inline bool pte_young(pte_t pte)
{
	return pte.val & _PAGE_ACCESSED;
}

static inline bool pte_exclusive(pte_t pte)
{
	return pte.val & _PAGE_EXCLUSIVE;
}

static inline pte_t pte_set_flags(pte_t pte, unsigned long flags)
{
	return __pte(pte.val | flags);
}

static inline pte_t pte_clear_flags(pte_t pte, unsigned long flags)
{
	return __pte(pte.val & ~flags);
}

static inline pte_t pte_wrprotect(pte_t pte)
{
	return pte_clear_flags(pte, _PAGE_RW);
}

static inline pte_t pte_mkold(pte_t pte)
{
	return pte_clear_flags(pte, _PAGE_ACCESSED);
}

/* The virtual page number an anon folio's page @i is mapped at. */
static inline unsigned long folio_page_vpn(const struct folio *folio, unsigned long i)
{
	return folio_index(folio) + i;
}

/* The page a present entry at @addr maps. */
static inline struct page *pte_page(pte_t pte, unsigned long addr)
{
	struct folio *folio = pte_folio(pte);

	return folio_page(folio, (addr >> PAGE_SHIFT) - folio_index(folio));
}

/* ---- swap entries ---- */

static inline pte_t swp_entry_to_pte(swp_entry_t entry, bool exclusive)
{
	return __pte((swp_offset(entry) << SWP_PTE_OFFSET_SHIFT) |
		     ((unsigned long)swp_type(entry) << SWP_PTE_TYPE_SHIFT) | _PAGE_SWP |
		     (exclusive ? _PAGE_SWP_EXCLUSIVE : 0));
}

static inline swp_entry_t pte_to_swp_entry(pte_t pte)
{
	return swp_entry((pte.val >> SWP_PTE_TYPE_SHIFT) & (MAX_SWAPFILES - 1),
			 pte.val >> SWP_PTE_OFFSET_SHIFT);
}

static inline bool pte_swp_exclusive(pte_t pte)
{
	return pte.val & _PAGE_SWP_EXCLUSIVE;
}

static inline pte_t pte_swp_clear_exclusive(pte_t pte)
{
	return pte_clear_flags(pte, _PAGE_SWP_EXCLUSIVE);
}

/* Return: whether @pte is a swap entry for the same slot as @swp (exclusive bit aside). */
static inline bool pte_same_as_swp(pte_t pte, pte_t swp)
{
	return pte_swp_clear_exclusive(pte).val == pte_swp_clear_exclusive(swp).val;
}

/* Entry access under the PTL: plain atomics so lockless hints stay defined. */
static inline pte_t ptep_get(const pte_t *ptep)
{
	return __pte(atomic_load_relaxed(&ptep->val));
}

static inline void __set_pte(pte_t *ptep, pte_t pte)
{
	atomic_store_relaxed(&ptep->val, pte.val);
}

#endif /* USWAP_MM_PTE_H */
