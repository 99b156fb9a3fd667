/* SPDX-License-Identifier: MIT */
/*
 * swapfile_internal.h - the small helpers over a device's clusters and count
 * bytes that swapfile.c works with and check.c verifies with: one
 * definition each, so the checker reads the state the way the allocator
 * writes it instead of deriving it again.
 *
 * Owns: nothing. Locking: swap_map bytes are read and written with relaxed
 * atomics (lockless readers exist) and change only under the cluster's
 * ci->lock; the cluster helpers read fields ci->lock guards (a caller
 * without it gets a hint).
 */
#ifndef USWAP_SWAP_SWAPFILE_INTERNAL_H
#define USWAP_SWAP_SWAPFILE_INTERNAL_H

#include "swap.h"
#include "swap_table.h"

/* The count byte of slot @offset (SWAP_MAP_* encoding). */
static inline unsigned char swap_map_get(struct swap_info_struct *si, pgoff_t offset)
{
	return atomic_load_relaxed(&si->swap_map[offset]);
}

/* Context: ci->lock of the slot's cluster held. */
static inline void swap_map_set(struct swap_info_struct *si, pgoff_t offset, unsigned char v)
{
	atomic_store_relaxed(&si->swap_map[offset], v);
}

/* The number of @ci in its device. */
static inline unsigned long cluster_index(struct swap_info_struct *si, struct swap_cluster_info *ci)
{
	return (unsigned long)(ci - si->cluster_info);
}

/* The device offset of @ci's first slot. */
static inline pgoff_t cluster_offset(struct swap_info_struct *si, struct swap_cluster_info *ci)
{
	return (pgoff_t)cluster_index(si, ci) * SWAPFILE_CLUSTER;
}

static inline bool cluster_is_empty(struct swap_cluster_info *ci)
{
	return ci->count == 0;
}

/* Every slot allocated, cached or bad: the cluster belongs on the full list. */
static inline bool cluster_is_full(struct swap_cluster_info *ci)
{
	return ci->count == SWAPFILE_CLUSTER;
}

/* May an allocation of @order be taken from @ci? */
static inline bool cluster_is_usable(struct swap_cluster_info *ci, unsigned order)
{
	if (ci->flags > CLUSTER_FLAG_USABLE)
		return false;
	if (!order)
		return true;
	return cluster_is_empty(ci) || order == ci->order;
}

/*
 * A slot counts toward its cluster's count while it has a swap count or a
 * folio in the swap cache (@tb: its table word); otherwise it is free.
 */
static inline bool swap_slot_in_use(unsigned char count, unsigned long tb)
{
	return count || swp_tb_is_folio(tb);
}

#endif /* USWAP_SWAP_SWAPFILE_INTERNAL_H */
