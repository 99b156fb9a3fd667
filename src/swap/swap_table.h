/* SPDX-License-Identifier: MIT */
/*
 * swap_table.h - the per-cluster swap table: one word per slot.
 *
 *   63                                                   1   0
 *  +------------------------------------------------------+---+
 *  |                           0                           | 0 |  null: nothing cached
 *  +------------------------------------------------------+---+
 *  |            struct folio * (8-byte aligned)            | 0 |  folio: in the swap cache
 *  +------------------------------------------------------+---+
 *  |                 shadow value (63 bits)                | 1 |  shadow: workingset info
 *  +------------------------------------------------------+---+
 *
 * Words are only built, tested and decoded through the helpers below. A
 * large folio of 2^k pages occupies 2^k consecutive words, all pointing to it.
 *
 * Writers hold the cluster lock (the __swap_table_* accessors assert it) and,
 * to add or remove a folio, the folio lock taken before the cluster lock.
 * Readers may read a word locklessly (swap_table_get()): a folio word is only
 * a hint until the reader holds a reference (get-unless-zero), the folio lock,
 * and has re-checked folio->swap. Table memory comes from a type-stable pool,
 * so a reader racing with the table being freed reads zeros or a pool link,
 * which is tagged to look like a shadow.
 *
 * Owns: nothing. Locking: as above.
 */
#ifndef USWAP_SWAP_TABLE_H
#define USWAP_SWAP_TABLE_H

#include "swap.h"

BUILD_BUG_ON(_Alignof(struct folio) < 2);
BUILD_BUG_ON(sizeof(unsigned long) != sizeof(void *));

#define SWP_TB_SHADOW_MARK 1UL

/*
 * A hibernation slot's word: a shadow no workingset clock reaches. It keeps
 * swap-in (readahead in particular) from caching a folio over a slot that
 * hibernation writes behind the swap cache's back: the checked add refuses
 * it. Linux lets readahead add such a folio and reclaims it at free time.
 */
#define SWP_TB_HIBERNATION (~0UL)

static inline bool swp_tb_is_null(unsigned long tb)
{
	return tb == 0;
}

static inline bool swp_tb_is_folio(unsigned long tb)
{
	return tb && !(tb & SWP_TB_SHADOW_MARK);
}

static inline bool swp_tb_is_shadow(unsigned long tb)
{
	return tb & SWP_TB_SHADOW_MARK;
}

static inline unsigned long folio_to_swp_tb(struct folio *folio)
{
	return (unsigned long)folio;
}

static inline struct folio *swp_tb_to_folio(unsigned long tb)
{
	return (struct folio *)tb;
}

static inline unsigned long shadow_to_swp_tb(unsigned long shadow)
{
	return (shadow << 1) | SWP_TB_SHADOW_MARK;
}

static inline unsigned long swp_tb_to_shadow(unsigned long tb)
{
	return tb >> 1;
}

/* Locked accessors: the caller holds ci->lock. */
static inline unsigned long __swap_table_get(struct swap_cluster_info *ci, unsigned ci_off)
{
	lockdep_assert_held(&ci->lock);
	return atomic_load_relaxed(&ci->table[ci_off]);
}

static inline void __swap_table_set(struct swap_cluster_info *ci, unsigned ci_off, unsigned long tb)
{
	lockdep_assert_held(&ci->lock);
	atomic_store_release(&ci->table[ci_off], tb);
}

static inline unsigned long __swap_table_xchg(struct swap_cluster_info *ci, unsigned ci_off,
					      unsigned long tb)
{
	lockdep_assert_held(&ci->lock);
	return atomic_xchg_acq_rel(&ci->table[ci_off], tb);
}

/*
 * swap_table_get - lockless read of one slot's word.
 * Context: any; no lock needed. Return: the word, 0 if the cluster has no
 * table. A folio word is only a hint (see above).
 */
static inline unsigned long swap_table_get(struct swap_cluster_info *ci, unsigned ci_off)
{
	unsigned long *table = atomic_load_acquire(&ci->table);

	if (!table)
		return 0;
	return atomic_load_acquire(&table[ci_off]);
}

#endif /* USWAP_SWAP_TABLE_H */
