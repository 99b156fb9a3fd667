// SPDX-License-Identifier: MIT
/*
 * hibernation_slots.c - hibernation's record of the slots it allocated, as
 * closed extents [start, end] (kernel/power/swap.c's swsusp_extents), so that
 * every slot is freed exactly once on release (docs/kernel-reference.md §10,
 * item 1).
 *
 * Owns: the extent array (arena memory). Locking: a swsusp_extents belongs
 * to one thread (hibernation is single-threaded by nature).
 */
#include "swap.h"

#include <string.h>

void swsusp_extents_init(struct swsusp_extents *x, struct uswap *sw, unsigned type)
{
	memset(x, 0, sizeof(*x));
	x->sw = sw;
	x->type = type;
}

/* Record @offset, merging with neighbours. Return: 0 or -ENOMEM / -EEXIST. */
static int swsusp_extents_insert(struct swsusp_extents *x, pgoff_t offset)
{
	unsigned lo = 0, hi = x->nr;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (x->ext[mid].end < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* lo: first extent with end >= offset. */
	if (lo < x->nr && x->ext[lo].start <= offset)
		return -EEXIST;
	if (lo > 0 && x->ext[lo - 1].end + 1 == offset) {
		x->ext[lo - 1].end = offset;
		if (lo < x->nr && x->ext[lo].start == offset + 1) {
			x->ext[lo - 1].end = x->ext[lo].end;
			memmove(&x->ext[lo], &x->ext[lo + 1], (x->nr - lo - 1) * sizeof(x->ext[0]));
			x->nr--;
		}
		return 0;
	}
	if (lo < x->nr && x->ext[lo].start == offset + 1) {
		x->ext[lo].start = offset;
		return 0;
	}
	if (x->nr == x->cap) {
		unsigned cap = x->cap ? x->cap * 2 : 16;
		struct swsusp_extent *n = arena_alloc(x->sw->arena, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		if (x->nr)
			memcpy(n, x->ext, x->nr * sizeof(*n));
		arena_free(x->sw->arena, x->ext, x->cap * sizeof(*n));
		x->ext = n;
		x->cap = cap;
	}
	memmove(&x->ext[lo + 1], &x->ext[lo], (x->nr - lo) * sizeof(x->ext[0]));
	x->ext[lo] = (struct swsusp_extent){offset, offset};
	x->nr++;
	return 0;
}

pgoff_t alloc_swapdev_block(struct swsusp_extents *x)
{
	swp_entry_t entry = swap_alloc_hibernation_slot(x->sw, x->type);

	if (!entry.val)
		return 0;
	if (swsusp_extents_insert(x, swp_offset(entry))) {
		swap_free_hibernation_slot(x->sw, entry);
		return 0;
	}
	return swp_offset(entry);
}

unsigned long free_all_swap_pages(struct swsusp_extents *x)
{
	unsigned long freed = 0;

	for (unsigned i = 0; i < x->nr; i++) {
		/* Closed interval: end is a slot of the extent too. */
		for (pgoff_t off = x->ext[i].start; off <= x->ext[i].end; off++) {
			swap_free_hibernation_slot(x->sw, swp_entry(x->type, off));
			freed++;
		}
	}
	arena_free(x->sw->arena, x->ext, x->cap * sizeof(x->ext[0]));
	x->ext = NULL;
	x->nr = x->cap = 0;
	return freed;
}
