// SPDX-License-Identifier: MIT
/*
 * swapfile.c - swap devices, the cluster allocator, swap counts and the
 * entry lifecycle (docs/kernel-reference.md §1, §3, §4, §8, §9).
 *
 * Owns: struct swap_info_struct (one per type, never freed while the engine
 * lives), cluster lists, swap_map, overflow counts, the avail list and the
 * per-thread allocation cursors and cluster owners.
 *
 * Locking (order: the ranks in base/lock.h): a cluster is isolated from its
 * list under si->lock with a trylock of ci->lock (the only out-of-order
 * acquisition). Counts change under ci->lock; ci->flags under ci->lock and
 * si->lock. Cursors are hints: validated under ci->lock before use.
 */
#include "swap.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/race.h"
#include "../dev/dev.h"
#include "swap_table.h"
#include "swapfile_internal.h"

/* This thread's allocation cursor slot (see struct percpu_swap_cluster). */
static unsigned this_cursor(void)
{
	return this_shard() % NR_SWAP_CURSORS;
}

/*
 * Cluster owners: the last thread (by cursor slot) that allocated slots in a
 * cluster. Allocators looking for a new cluster pass over those another
 * thread works in, and take them only when nothing else is left: two
 * threads in one cluster share its lock and its cache lines, which is what
 * per-CPU clusters exist to avoid. The owner works in the cluster only while
 * its cursor still points there (its current or previous cluster): a
 * cluster it left long ago is anyone's, or the partly used clusters a busy
 * thread leaves behind would all be passed over and free clusters, which
 * large folios need, used up instead. A free does not make the freeing
 * thread the owner. A hint, written under ci->lock and read under si->lock
 * only; an empty cluster has no owner.
 */
static inline uint8_t this_owner(void)
{
	return (uint8_t)(this_cursor() + 1);
}

static inline void cluster_set_owner(struct swap_cluster_info *ci, uint8_t owner)
{
	lockdep_assert_held(&ci->lock);
	if (atomic_load_relaxed(&ci->owner) != owner)
		atomic_store_relaxed(&ci->owner, owner);
}

/* Does a thread other than this one allocate from @ci? A hint (see above). */
static bool cluster_worked_in_by_other(struct swap_info_struct *si, struct swap_cluster_info *ci)
{
	uint8_t owner = atomic_load_relaxed(&ci->owner);
	unsigned long cur = cluster_offset(si, ci) + 1;
	struct percpu_swap_cluster *pcp;
	unsigned order = ci->order;

	if (!owner || owner == this_owner())
		return false;
	pcp = &si->sw->pcp[owner - 1];
	return atomic_load_relaxed(&pcp->si[order]) == si &&
	       (atomic_load_relaxed(&pcp->cur[order]) == cur ||
		atomic_load_relaxed(&pcp->prev[order]) == cur);
}

/*
 * The bytes of a device's cluster array and zero map: page aligned (larger
 * than a small allocation), so that each cluster has its own cache line in
 * both, and threads working on neighbouring clusters do not share one.
 */
static size_t cluster_info_bytes(struct swap_info_struct *si)
{
	return max(si->nr_clusters * sizeof(struct swap_cluster_info), ARENA_SMALL_MAX + 1UL);
}

static size_t zeromap_bytes(struct swap_info_struct *si)
{
	return max(si->nr_clusters * (SWAPFILE_CLUSTER / 8), ARENA_SMALL_MAX + 1UL);
}

/* ---- device references ---- */

/*
 * Dekker-style with swapoff_finish(): the increment and the load of ->dead
 * are sequentially consistent, as are the store of ->dead and the sum there,
 * so either the reference is seen by the sum or the getter sees ->dead.
 */
static bool get_swap_device_info(struct swap_info_struct *si)
{
	long *n = &si->users[this_shard()].n;

	atomic_fetch_add_seq_cst(n, 1);
	if (likely(!atomic_load_seq_cst(&si->dead)))
		return true;
	atomic_fetch_sub_release(n, 1);
	return false;
}

static long swap_device_users(struct swap_info_struct *si)
{
	long sum = 0;

	for (unsigned i = 0; i < NR_SHARDS; i++)
		sum += atomic_load_seq_cst(&si->users[i].n);
	return sum;
}

struct swap_info_struct *get_swap_device(struct uswap *sw, swp_entry_t entry)
{
	unsigned type = swp_type(entry);
	struct swap_info_struct *si;

	if (!entry.val || type >= MAX_SWAPFILES)
		return NULL;
	si = atomic_load_acquire(&sw->swap_info[type]);
	if (!si || !get_swap_device_info(si))
		return NULL;
	if (!(atomic_load_acquire(&si->flags) & SWP_USED) || swp_offset(entry) >= si->max) {
		put_swap_device(si);
		return NULL;
	}
	return si;
}

void put_swap_device(struct swap_info_struct *si)
{
	atomic_fetch_sub_release(&si->users[this_shard()].n, 1);
}

/* ---- the avail list ---- */

static void __add_to_avail_list(struct uswap *sw, struct swap_info_struct *si)
{
	struct swap_info_struct *pos;

	lockdep_assert_held(&sw->swap_avail_lock);
	/* After every device of higher or equal priority. */
	list_for_each_entry (pos, &sw->swap_avail_head, avail_list) {
		if (pos->prio < si->prio) {
			__list_add(&si->avail_list, pos->avail_list.prev, &pos->avail_list);
			goto added;
		}
	}
	list_add_tail(&si->avail_list, &sw->swap_avail_head);
added:
	atomic_store_relaxed(&si->on_avail, true);
	atomic_fetch_add_relaxed(&sw->avail_gen, 1);
}

static void add_to_avail_list(struct swap_info_struct *si)
{
	struct uswap *sw = si->sw;

	ulock_lock(&sw->swap_avail_lock);
	if (!atomic_load_relaxed(&si->on_avail) &&
	    (atomic_load_relaxed(&si->flags) & SWP_WRITEOK) &&
	    swap_nr_full_clusters(si) < si->nr_clusters)
		__add_to_avail_list(sw, si);
	ulock_unlock(&sw->swap_avail_lock);
}

static void del_from_avail_list(struct swap_info_struct *si, bool swapoff)
{
	struct uswap *sw = si->sw;

	ulock_lock(&sw->swap_avail_lock);
	if (atomic_load_relaxed(&si->on_avail) &&
	    (swapoff || swap_nr_full_clusters(si) == si->nr_clusters)) {
		list_del_init(&si->avail_list);
		atomic_store_seq_cst(&si->on_avail, false);
		atomic_fetch_add_relaxed(&sw->avail_gen, 1);
	}
	ulock_unlock(&sw->swap_avail_lock);
	if (swapoff)
		return;
	/* Pairs with swap_range_free(): one of us sees the other's store. */
	if (swap_nr_full_clusters(si) < si->nr_clusters)
		add_to_avail_list(si);
}

/* Move @si behind the devices of its own priority (rotation). */
static void swap_avail_requeue(struct uswap *sw, struct swap_info_struct *si)
{
	struct list_head *pos = si->avail_list.next;

	lockdep_assert_held(&sw->swap_avail_lock);
	while (pos != &sw->swap_avail_head &&
	       list_entry(pos, struct swap_info_struct, avail_list)->prio == si->prio)
		pos = pos->next;
	if (pos == si->avail_list.next)
		return;
	list_del_init(&si->avail_list);
	__list_add(&si->avail_list, pos->prev, pos);
}

/* ---- slot accounting ---- */

/* Per-thread slack of the free-slot counter before it is folded. */
#define NR_SWAP_PAGES_BATCH 64

/*
 * A device is full when every cluster is: it then leaves the avail list, and
 * comes back when a cluster has a slot again. The count of full clusters is
 * sharded by thread and every access to it is sequentially consistent, like
 * the free-cluster count and on_avail: a thread that fills a cluster while
 * a cluster sits on the free list knows the device is not full (and the
 * thread that fills that one later will look again); otherwise it sums the
 * shards, and the last cluster to fill sees every other fill.
 * Context: ci->lock held.
 */
static void cluster_count_add(struct swap_info_struct *si, struct swap_cluster_info *ci,
			      unsigned nr)
{
	ci->count += nr;
	if (ci->count != SWAPFILE_CLUSTER)
		return;
	atomic_fetch_add_seq_cst(&si->nr_full[this_shard()].n, 1L);
	if (!atomic_load_seq_cst(&si->nr_free_clusters) &&
	    swap_nr_full_clusters(si) == si->nr_clusters)
		del_from_avail_list(si, false);
}

static void cluster_count_sub(struct swap_info_struct *si, struct swap_cluster_info *ci,
			      unsigned nr)
{
	bool was_full = ci->count == SWAPFILE_CLUSTER;

	VM_BUG_ON(ci->count < nr);
	ci->count -= nr;
	if (!was_full)
		return;
	/* Pairs with del_from_avail_list(): one of us sees the other's store. */
	atomic_fetch_add_seq_cst(&si->nr_full[this_shard()].n, -1L);
	if (!atomic_load_seq_cst(&si->on_avail) && (atomic_load_relaxed(&si->flags) & SWP_WRITEOK))
		add_to_avail_list(si);
}

static void swap_range_alloc(struct swap_info_struct *si, unsigned nr)
{
	percpu_counter_add(&si->sw->nr_swap_pages, -(long)nr, NR_SWAP_PAGES_BATCH);
	percpu_counter_add(&si->inuse, (long)nr, NR_SWAP_PAGES_BATCH);
}

static void swap_range_free(struct swap_info_struct *si, pgoff_t offset, unsigned nr)
{
	swap_range_free_notify(si, offset, nr);
	percpu_counter_add(&si->sw->nr_swap_pages, (long)nr, NR_SWAP_PAGES_BATCH);
	percpu_counter_add(&si->inuse, -(long)nr, NR_SWAP_PAGES_BATCH);
}

/* ---- cluster lists ---- */

static void move_cluster(struct swap_info_struct *si, struct swap_cluster_info *ci,
			 struct list_head *list, uint8_t new_flags)
{
	lockdep_assert_held(&ci->lock);
	VM_BUG_ON(ci->flags == new_flags);
	ulock_lock(&si->lock);
	if (ci->flags == CLUSTER_FLAG_NONE)
		list_add_tail(&ci->list, list);
	else
		list_move_tail(&ci->list, list);
	/* Atomic: allocators read the frag counts without si->lock. */
	if (ci->flags == CLUSTER_FLAG_FRAG)
		atomic_fetch_sub_relaxed(&si->frag_cluster_nr[ci->order], 1UL);
	else if (new_flags == CLUSTER_FLAG_FRAG)
		atomic_fetch_add_relaxed(&si->frag_cluster_nr[ci->order], 1UL);
	/* Sequentially consistent: see cluster_count_add(). */
	if (ci->flags == CLUSTER_FLAG_FREE)
		atomic_fetch_add_seq_cst(&si->nr_free_clusters, -1UL);
	else if (new_flags == CLUSTER_FLAG_FREE)
		atomic_fetch_add_seq_cst(&si->nr_free_clusters, 1UL);
	ci->flags = new_flags;
	ulock_unlock(&si->lock);
}

/*
 * Take the first cluster on @list whose lock can be had, off the list;
 * unless @others, only one no other thread owns.
 * Return: the cluster, locked, flags NONE; or NULL.
 */
static struct swap_cluster_info *isolate_lock_cluster(struct swap_info_struct *si,
						      struct list_head *list, bool others)
{
	struct swap_cluster_info *ci, *found = NULL;

	ulock_lock(&si->lock);
	list_for_each_entry (ci, list, list) {
		if (!others && cluster_worked_in_by_other(si, ci))
			continue;
		if (ulock_trylock(&ci->lock)) {
			found = ci;
			break;
		}
	}
	ci = found;
	if (ci) {
		VM_BUG_ON(ci->flags == CLUSTER_FLAG_NONE);
		list_del_init(&ci->list);
		if (ci->flags == CLUSTER_FLAG_FRAG)
			atomic_fetch_sub_relaxed(&si->frag_cluster_nr[ci->order], 1UL);
		else if (ci->flags == CLUSTER_FLAG_FREE)
			atomic_fetch_add_seq_cst(&si->nr_free_clusters, -1UL);
		ci->flags = CLUSTER_FLAG_NONE;
	}
	ulock_unlock(&si->lock);
	return found;
}

static int swap_cluster_alloc_table(struct swap_info_struct *si, struct swap_cluster_info *ci)
{
	unsigned long *table;

	lockdep_assert_held(&ci->lock);
	if (ci->table)
		return 0;
	table = pool_alloc(&si->sw->table_pool);
	if (!table)
		return -ENOMEM;
	if (USWAP_DEBUG_ENABLED)
		for (unsigned i = 0; i < SWAPFILE_CLUSTER; i++)
			VM_BUG_ON(table[i]);
	atomic_store_release(&ci->table, table);
	return 0;
}

static void swap_cluster_free_table(struct swap_info_struct *si, struct swap_cluster_info *ci)
{
	unsigned long *table = ci->table;

	lockdep_assert_held(&ci->lock);
	if (!table)
		return;
	if (USWAP_DEBUG_ENABLED)
		for (unsigned i = 0; i < SWAPFILE_CLUSTER; i++)
			VM_BUG_ON(table[i]);
	atomic_store_release(&ci->table, NULL);
	pool_free(&si->sw->table_pool, table);
}

static void free_cluster(struct swap_info_struct *si, struct swap_cluster_info *ci)
{
	VM_BUG_ON(ci->count != 0);
	VM_BUG_ON(ci->nr_ext || ci->extend_table);
	swap_cluster_free_table(si, ci);
	if ((atomic_load_relaxed(&si->flags) & (SWP_WRITEOK | SWP_DISCARDABLE)) ==
	    (SWP_WRITEOK | SWP_DISCARDABLE))
		move_cluster(si, ci, &si->discard_clusters, CLUSTER_FLAG_DISCARD);
	else
		move_cluster(si, ci, &si->free_clusters, CLUSTER_FLAG_FREE);
}

/* A cluster that regained free slots goes to NONFULL, where allocators look first. */
static void partial_free_cluster(struct swap_info_struct *si, struct swap_cluster_info *ci)
{
	VM_BUG_ON(!ci->count || ci->count == SWAPFILE_CLUSTER);
	if (ci->flags != CLUSTER_FLAG_NONFULL)
		move_cluster(si, ci, &si->nonfull_clusters[ci->order], CLUSTER_FLAG_NONFULL);
}

/*
 * Put a cluster on the list its state calls for, after allocating from it.
 * Unlike Linux, a cluster reached through a cursor that is already on
 * NONFULL (slots were freed in it) stays there, partly used or even full:
 * allocation and free alternating on a cursor's cluster would otherwise move
 * it between two lists under si->lock (shared by every thread) on every
 * operation. A full cluster left there moves to FULL when the next
 * allocator that isolates it finds nothing (it is then off the list, NONE).
 * A partly used cluster on FRAG stays there too.
 */
static void relocate_cluster(struct swap_info_struct *si, struct swap_cluster_info *ci)
{
	lockdep_assert_held(&ci->lock);
	if (ci->flags == CLUSTER_FLAG_DISCARD)
		return;
	if (!ci->count) {
		if (ci->flags != CLUSTER_FLAG_FREE)
			free_cluster(si, ci);
	} else if (ci->count != SWAPFILE_CLUSTER) {
		if (ci->flags != CLUSTER_FLAG_FRAG && ci->flags != CLUSTER_FLAG_NONFULL)
			move_cluster(si, ci, &si->frag_clusters[ci->order], CLUSTER_FLAG_FRAG);
	} else if (ci->flags != CLUSTER_FLAG_FULL && ci->flags != CLUSTER_FLAG_NONFULL) {
		move_cluster(si, ci, &si->full_clusters, CLUSTER_FLAG_FULL);
	}
}

/* Discard emptied clusters (device I/O without locks), then make them free. */
static void swap_do_scheduled_discard(struct swap_info_struct *si)
{
	struct swap_cluster_info *ci;

	for (;;) {
		ulock_lock(&si->lock);
		ci = list_first_entry_or_null(&si->discard_clusters, struct swap_cluster_info,
					      list);
		ulock_unlock(&si->lock);
		if (!ci)
			return;
		race_point("discard:before_cluster_lock");
		ulock_lock(&ci->lock);
		ulock_lock(&si->lock);
		/* Another thread may have taken it off the list to discard it. */
		if (ci->flags != CLUSTER_FLAG_DISCARD || list_empty(&ci->list)) {
			ulock_unlock(&si->lock);
			ulock_unlock(&ci->lock);
			continue;
		}
		/*
		 * Off the list but still DISCARD while the device works on it: an
		 * allocator that meets it (through a cursor, or after dropping
		 * the lock mid-scan) finds it unusable and leaves it alone.
		 */
		list_del_init(&ci->list);
		ulock_unlock(&si->lock);
		ulock_unlock(&ci->lock);

		race_point("discard:before_io");
		if (si->dev->ops->discard)
			si->dev->ops->discard(si->dev, cluster_offset(si, ci), SWAPFILE_CLUSTER);

		race_point("discard:after_io");
		ulock_lock(&ci->lock);
		VM_BUG_ON(ci->count || ci->table);
		move_cluster(si, ci, &si->free_clusters, CLUSTER_FLAG_FREE);
		ulock_unlock(&ci->lock);
	}
}

/* ---- counts ---- */

unsigned int __swap_count(struct swap_info_struct *si, struct swap_cluster_info *ci, pgoff_t offset)
{
	unsigned char c = swap_map_get(si, offset);

	lockdep_assert_held(&ci->lock);
	if (c == SWAP_MAP_EXT)
		return ci->extend_table[swap_cluster_offset(offset)];
	if (c == SWAP_MAP_BAD)
		return 0;
	return c;
}

/* +1 on one slot. Context: ci->lock held. Return: 0, -ENOMEM, -EOVERFLOW, -EINVAL. */
static int __swap_cluster_dup_entry(struct swap_info_struct *si, struct swap_cluster_info *ci,
				    pgoff_t offset)
{
	unsigned ci_off = swap_cluster_offset(offset);
	unsigned char c = swap_map_get(si, offset);

	lockdep_assert_held(&ci->lock);
	if (c == SWAP_MAP_BAD)
		return -EINVAL;
	if (c < SWAP_MAP_MAX) {
		swap_map_set(si, offset, c + 1);
		return 0;
	}
	if (c == SWAP_MAP_MAX) {
		if (!ci->extend_table) {
			ci->extend_table = arena_zalloc(si->sw->arena,
							SWAPFILE_CLUSTER * sizeof(unsigned int));
			if (!ci->extend_table)
				return -ENOMEM;
		}
		ci->extend_table[ci_off] = SWAP_MAP_MAX + 1;
		ci->nr_ext++;
		swap_map_set(si, offset, SWAP_MAP_EXT);
		return 0;
	}
	VM_BUG_ON(c != SWAP_MAP_EXT);
	if (WARN_ON_ONCE(ci->extend_table[ci_off] >= SWAP_COUNT_LIMIT))
		return -EOVERFLOW;
	ci->extend_table[ci_off]++;
	return 0;
}

/* -1 on one slot with count > 0. Context: ci->lock held. Return: the new count. */
static unsigned int __swap_cluster_put_entry(struct swap_info_struct *si,
					     struct swap_cluster_info *ci, pgoff_t offset)
{
	unsigned ci_off = swap_cluster_offset(offset);
	unsigned char c = swap_map_get(si, offset);
	unsigned int n;

	lockdep_assert_held(&ci->lock);
	VM_BUG_ON(c == 0 || c == SWAP_MAP_BAD);
	if (c != SWAP_MAP_EXT) {
		swap_map_set(si, offset, c - 1);
		return c - 1;
	}
	n = --ci->extend_table[ci_off];
	if (n == SWAP_MAP_MAX) {
		ci->extend_table[ci_off] = 0;
		swap_map_set(si, offset, SWAP_MAP_MAX);
		if (--ci->nr_ext == 0) {
			arena_free(si->sw->arena, ci->extend_table,
				   SWAPFILE_CLUSTER * sizeof(unsigned int));
			ci->extend_table = NULL;
		}
	}
	return n;
}

/*
 * Free @nr slots with count 0 and no folio. Context: ci->lock held.
 * The cluster moves to NONFULL or FREE as fits.
 */
static void swap_entries_free(struct swap_info_struct *si, struct swap_cluster_info *ci,
			      pgoff_t offset, unsigned nr)
{
	unsigned ci_off = swap_cluster_offset(offset);

	lockdep_assert_held(&ci->lock);
	for (unsigned i = 0; i < nr; i++) {
		VM_BUG_ON(swap_map_get(si, offset + i) != 0);
		VM_BUG_ON(swp_tb_is_folio(__swap_table_get(ci, ci_off + i)));
		__swap_table_set(ci, ci_off + i, 0);
	}
	swap_range_free(si, offset, nr);
	cluster_count_sub(si, ci, nr);
	if (!ci->count) {
		cluster_set_owner(ci, 0);
		free_cluster(si, ci);
	} else {
		partial_free_cluster(si, ci);
	}
}

/* Free every count-0, uncached slot in [offset, offset+nr). Context: ci->lock held. */
static void swap_entries_free_unused(struct swap_info_struct *si, struct swap_cluster_info *ci,
				     pgoff_t offset, unsigned nr)
{
	unsigned ci_off = swap_cluster_offset(offset);
	unsigned i = 0, start;

	while (i < nr) {
		while (i < nr && swap_slot_in_use(swap_map_get(si, offset + i),
						  __swap_table_get(ci, ci_off + i)))
			i++;
		start = i;
		while (i < nr && !swap_slot_in_use(swap_map_get(si, offset + i),
						   __swap_table_get(ci, ci_off + i)))
			i++;
		if (i > start)
			swap_entries_free(si, ci, offset + start, i - start);
	}
}

void __swap_cluster_free_unused(struct swap_info_struct *si, struct swap_cluster_info *ci,
				pgoff_t offset, unsigned nr)
{
	swap_entries_free_unused(si, ci, offset, nr);
}

/* Return: true if every slot of [offset, offset+nr) has count 0. Context: ci->lock. */
static bool swap_only_has_cache(struct swap_info_struct *si, struct swap_cluster_info *ci,
				pgoff_t offset, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++)
		if (swap_map_get(si, offset + i))
			return false;
	return true;
}

/*
 * Ask __try_to_reclaim_swap() about @offset with @flags, and return how far
 * a walk over slots moves on: past the folio it met, or one slot. A
 * reclaimed folio of ret slots is naturally aligned, so it ends at the next
 * multiple of ret (the walk may have met it in its middle); one not
 * reclaimed already says how far it reaches.
 */
static unsigned long reclaim_swap_step(struct swap_info_struct *si, pgoff_t offset, unsigned flags)
{
	int ret = __try_to_reclaim_swap(si, offset, flags);

	if (ret > 0)
		return ALIGN_UP(offset + 1, (unsigned long)ret) - offset;
	return ret < 0 ? (unsigned long)-ret : 1;
}

/* ---- allocation ---- */

/*
 * Can [offset, offset+nr) be allocated? Cache-only slots count as free only
 * when swap is more than half full (*need_reclaim is then set).
 */
static bool cluster_scan_range(struct swap_info_struct *si, struct swap_cluster_info *ci,
			       pgoff_t offset, unsigned nr, bool *need_reclaim)
{
	unsigned ci_off = swap_cluster_offset(offset);

	for (unsigned i = 0; i < nr; i++) {
		unsigned long tb = __swap_table_get(ci, ci_off + i);

		if (swap_map_get(si, offset + i))
			return false;
		if (!swp_tb_is_folio(tb))
			continue;
		/* Summing the free-slot counter costs: only ask at a cache-only slot. */
		if (!*need_reclaim && !vm_swap_full(si->sw))
			return false;
		*need_reclaim = true;
	}
	return true;
}

/*
 * Reclaim cache-only slots of [start, end) with the cluster lock dropped.
 * Return: true if the range is now free and the cluster still usable.
 */
static bool cluster_reclaim_range(struct swap_info_struct *si, struct swap_cluster_info *ci,
				  pgoff_t start, pgoff_t end, unsigned order)
{
	pgoff_t offset = start;
	unsigned long nr;

	ulock_unlock(&ci->lock);
	while (offset < end) {
		nr = 1;
		/* Reclaimed or not, the folio's other slots need no visit. */
		if (!swap_map_get(si, offset) &&
		    swp_tb_is_folio(swap_table_get(ci, swap_cluster_offset(offset))))
			nr = reclaim_swap_step(si, offset, TTRS_ANYWAY);
		offset += nr;
	}
	ulock_lock(&ci->lock);
	if (!cluster_is_usable(ci, order) || !ci->table)
		return false;
	for (offset = start; offset < end; offset++)
		if (swap_map_get(si, offset) ||
		    swp_tb_is_folio(__swap_table_get(ci, swap_cluster_offset(offset))))
			return false;
	return true;
}

/* Take [offset, offset + nr) for @folio (count 0, in the cache) or, without
 * a folio, one slot with count 1 (hibernation). Context: ci->lock held. */
static void cluster_alloc_range(struct swap_info_struct *si, struct swap_cluster_info *ci,
				struct folio *folio, pgoff_t offset, unsigned order)
{
	unsigned nr = 1U << order;

	lockdep_assert_held(&ci->lock);
	if (cluster_is_empty(ci))
		ci->order = order;
	if (folio) {
		__swap_cache_add_folio(ci, folio, swp_entry(si->type, offset));
	} else {
		swap_map_set(si, offset, 1);
		__swap_table_set(ci, swap_cluster_offset(offset), SWP_TB_HIBERNATION);
	}
	swap_range_alloc(si, nr);
	cluster_count_add(si, ci, nr);
}

/* Point this thread's cursor at @next (0: none). Context: device pinned. */
static void record_cursor(struct swap_info_struct *si, struct swap_cluster_info *ci, unsigned order,
			  pgoff_t next, unsigned long gen)
{
	if (atomic_load_relaxed(&si->flags) & SWP_SOLIDSTATE) {
		struct percpu_swap_cluster *pcp = &si->sw->pcp[this_cursor()];
		unsigned long cur = cluster_offset(si, ci) + 1;

		/* Moving to another cluster: the one left is the thread's second choice. */
		if (atomic_load_relaxed(&pcp->si[order]) != si) {
			atomic_store_relaxed(&pcp->prev[order], 0UL);
			atomic_store_relaxed(&pcp->cur[order], cur);
		} else if (atomic_load_relaxed(&pcp->cur[order]) != cur) {
			atomic_store_relaxed(&pcp->prev[order],
					     atomic_load_relaxed(&pcp->cur[order]));
			atomic_store_relaxed(&pcp->cur[order], cur);
		}
		atomic_store_relaxed(&pcp->si[order], si);
		atomic_store_relaxed(&pcp->offset[order], next);
		atomic_store_relaxed(&pcp->gen[order], gen);
	} else {
		lockdep_assert_held(&si->global_cluster_lock);
		si->global_next[order] = next;
	}
}

/*
 * Allocate from the locked cluster @ci, scanning from @offset in strides of
 * 2^order, then put the cluster where it belongs and unlock it.
 * Return: the first offset allocated, or 0.
 */
static pgoff_t alloc_swap_scan_cluster(struct swap_info_struct *si, struct swap_cluster_info *ci,
				       struct folio *folio, pgoff_t offset, unsigned order,
				       unsigned long gen)
{
	unsigned nr = 1U << order;
	pgoff_t base = cluster_offset(si, ci), end = base + SWAPFILE_CLUSTER, found = 0;
	bool need_reclaim;

	lockdep_assert_held(&ci->lock);
	if (!ci->table)
		goto out;
	offset = ALIGN_UP(offset, nr);
	if (cluster_is_empty(ci) || offset < base || offset >= end)
		offset = base;
	for (; offset + nr <= end; offset += nr) {
		need_reclaim = false;
		if (!cluster_scan_range(si, ci, offset, nr, &need_reclaim))
			continue;
		if (need_reclaim) {
			bool ok = cluster_reclaim_range(si, ci, offset, offset + nr, order);

			if (!cluster_is_usable(ci, order) || !ci->table)
				goto out;
			if (!ok)
				continue;
		}
		/* swapoff_begin() waits for this lock after clearing the flag. */
		if (!(atomic_load_relaxed(&si->flags) & SWP_WRITEOK))
			goto out;
		cluster_alloc_range(si, ci, folio, offset, order);
		cluster_set_owner(ci, this_owner());
		found = offset;
		offset += nr;
		break;
	}
out:
	relocate_cluster(si, ci);
	ulock_unlock(&ci->lock);
	if (found)
		record_cursor(si, ci, order, offset < end ? offset : 0, gen);
	return found;
}

/*
 * Allocate from the cluster a cursor points into, if it still serves this
 * order. A free or discarded cluster has no table and is left to the lists.
 * Return: the offset allocated, or 0.
 */
static pgoff_t alloc_from_cursor(struct swap_info_struct *si, struct folio *folio, pgoff_t offset,
				 unsigned order, unsigned long gen)
{
	struct swap_cluster_info *ci = swap_cluster_lock(si, offset);

	if (cluster_is_usable(ci, order) && ci->table)
		return alloc_swap_scan_cluster(si, ci, folio, offset, order, gen);
	ulock_unlock(&ci->lock);
	return 0;
}

/* Allocate from a cluster isolated off @list; loops while clusters remain. */
static pgoff_t alloc_from_list(struct swap_info_struct *si, struct list_head *list,
			       struct folio *folio, unsigned order, unsigned long gen,
			       unsigned long max_tries, bool others)
{
	struct swap_cluster_info *ci;
	pgoff_t found;

	/* A device leaving service (swapoff) takes no more slots: stop at once. */
	while (max_tries-- && (atomic_load_relaxed(&si->flags) & SWP_WRITEOK) &&
	       (ci = isolate_lock_cluster(si, list, others))) {
		if (!ci->table && swap_cluster_alloc_table(si, ci)) {
			relocate_cluster(si, ci);
			ulock_unlock(&ci->lock);
			return 0;
		}
		found = alloc_swap_scan_cluster(si, ci, folio, cluster_offset(si, ci), order, gen);
		if (found)
			return found;
	}
	return 0;
}

/* Reclaim cache-only slots of full clusters (swap is more than half full). */
static void swap_reclaim_full_clusters(struct swap_info_struct *si)
{
	unsigned long to_scan = 4;
	struct swap_cluster_info *ci;

	while (to_scan-- && (ci = isolate_lock_cluster(si, &si->full_clusters, true))) {
		pgoff_t base = cluster_offset(si, ci);
		unsigned long nr;

		/* A cluster of bad slots only has no table and nothing to reclaim. */
		for (pgoff_t off = base; ci->table && off < base + SWAPFILE_CLUSTER; off += nr) {
			nr = 1;
			if (swap_map_get(si, off) ||
			    !swp_tb_is_folio(__swap_table_get(ci, swap_cluster_offset(off))))
				continue;
			ulock_unlock(&ci->lock);
			nr = reclaim_swap_step(si, off, TTRS_ANYWAY);
			ulock_lock(&ci->lock);
		}
		relocate_cluster(si, ci);
		ulock_unlock(&ci->lock);
	}
}

/*
 * The allocator's slow path on one device (docs/kernel-reference.md §8).
 * Context: device pinned; caller may hold @folio's lock.
 * Return: the offset allocated, or 0.
 */
static pgoff_t cluster_alloc_swap_entry(struct swap_info_struct *si, unsigned order,
					struct folio *folio)
{
	unsigned long gen = atomic_load_relaxed(&si->sw->avail_gen);
	bool ssd = atomic_load_relaxed(&si->flags) & SWP_SOLIDSTATE;
	bool discard = atomic_load_relaxed(&si->flags) & SWP_DISCARDABLE;
	pgoff_t found = 0, offset;

	if (discard)
		swap_do_scheduled_discard(si);

	if (!ssd) {
		ulock_lock(&si->global_cluster_lock);
		offset = si->global_next[order];
		if (offset) {
			found = alloc_from_cursor(si, folio, offset, order, gen);
			if (found)
				goto done;
		}
	}

	if (discard) {
		found = alloc_from_list(si, &si->free_clusters, folio, order, gen, 1, true);
		if (found)
			goto done;
	}
	/*
	 * Partly used clusters first (they keep free clusters for large
	 * orders), but on a solid-state device not those another thread works
	 * in, as long as a free cluster is left; a rotating device allocates
	 * under one lock anyway.
	 */
	found = alloc_from_list(si, &si->nonfull_clusters[order], folio, order, gen,
				si->nr_clusters, !ssd);
	if (found)
		goto done;
	found = alloc_from_list(si, &si->free_clusters, folio, order, gen, 1, true);
	if (found)
		goto done;
	if (vm_swap_full(si->sw))
		swap_reclaim_full_clusters(si);
	for (int others = !ssd; others < 2 && !found; others++) {
		if (others && ssd)
			found = alloc_from_list(si, &si->nonfull_clusters[order], folio, order, gen,
						si->nr_clusters, true);
		if (!found)
			found = alloc_from_list(
				si, &si->frag_clusters[order], folio, order, gen,
				atomic_load_relaxed(&si->frag_cluster_nr[order]) + 1, others);
	}
	if (found)
		goto done;
	if (order == 0) {
		/* Steal: a cluster of any order that is not full has a free slot. */
		for (unsigned o = 1; o < SWAP_NR_ORDERS && !found; o++) {
			found = alloc_from_list(si, &si->frag_clusters[o], folio, 0, gen,
						atomic_load_relaxed(&si->frag_cluster_nr[o]) + 1,
						true);
			if (!found)
				found = alloc_from_list(si, &si->nonfull_clusters[o], folio, 0, gen,
							si->nr_clusters, true);
		}
	}
done:
	if (!ssd)
		ulock_unlock(&si->global_cluster_lock);
	return found;
}

/* Per-CPU cursor: the cluster this CPU allocated from last, if still valid. */
static bool swap_alloc_fast(struct uswap *sw, struct folio *folio, unsigned order)
{
	struct percpu_swap_cluster *pcp = &sw->pcp[this_cursor()];
	struct swap_info_struct *si = atomic_load_relaxed(&pcp->si[order]);
	pgoff_t offset = atomic_load_relaxed(&pcp->offset[order]);
	pgoff_t prev = atomic_load_relaxed(&pcp->prev[order]);
	unsigned long gen = atomic_load_relaxed(&sw->avail_gen);
	bool found = false;

	if (!si || (!offset && !prev) || atomic_load_relaxed(&pcp->gen[order]) != gen)
		return false;
	race_point("alloc_fast:after_cursor_read");
	if (!get_swap_device_info(si))
		return false;
	if ((atomic_load_relaxed(&si->flags) & (SWP_WRITEOK | SWP_SOLIDSTATE)) !=
	    (SWP_WRITEOK | SWP_SOLIDSTATE))
		goto out;
	if (offset && offset < si->max)
		found = alloc_from_cursor(si, folio, offset, order, gen);
	/*
	 * The cluster this thread allocated from before the current one: a
	 * thread freeing what it allocated a while ago finds room there again
	 * without the shared lists and locks of the slow path.
	 */
	if (!found && prev && prev - 1 < si->max)
		found = alloc_from_cursor(si, folio, prev - 1, order, gen);
out:
	put_swap_device(si);
	return found;
}

/* Walk devices in priority order, rotating among equal priorities. */
static pgoff_t swap_alloc_slow(struct uswap *sw, struct folio *folio, unsigned order,
			       struct swap_info_struct **sip)
{
	struct swap_info_struct *si, *next;
	unsigned restarts = 0, budget;
	struct list_head *pos;
	pgoff_t found;

	ulock_lock(&sw->swap_avail_lock);
start_over:
	/*
	 * Requeueing moves a device behind its equal-priority siblings, ahead
	 * of the walk: try each device once per pass, or devices of one
	 * priority that all fail this order would take turns forever.
	 */
	budget = 0;
	list_for_each (pos, &sw->swap_avail_head)
		budget++;
	list_for_each_entry_safe (si, next, &sw->swap_avail_head, avail_list) {
		if (!budget--)
			break;
		swap_avail_requeue(sw, si);
		ulock_unlock(&sw->swap_avail_lock);
		if (get_swap_device_info(si)) {
			found = 0;
			if (atomic_load_relaxed(&si->flags) & SWP_WRITEOK)
				found = cluster_alloc_swap_entry(si, order, folio);
			put_swap_device(si);
			if (found) {
				*sip = si;
				return found;
			}
		}
		ulock_lock(&sw->swap_avail_lock);
		/* The list may have changed while unlocked. */
		if (next && !atomic_load_relaxed(&next->on_avail)) {
			if (restarts++ < 2 * MAX_SWAPFILES)
				goto start_over;
			break;
		}
	}
	ulock_unlock(&sw->swap_avail_lock);
	return 0;
}

int folio_alloc_swap(struct folio *folio)
{
	struct uswap *sw = folio->sw;
	struct swap_info_struct *si;
	unsigned order = folio_order(folio);

	lockdep_assert_held(&folio->lock);
	if (WARN_ON_ONCE(!folio_test_locked(folio) || folio_test_swapcache(folio)))
		return -EINVAL;
	if (order > HPAGE_PMD_ORDER)
		return -EINVAL;
	if (swap_alloc_fast(sw, folio, order))
		return 0;
	if (swap_alloc_slow(sw, folio, order, &si))
		return 0;
	return -ENOMEM;
}

/* ---- the entry lifecycle ---- */

/* Check the folio-based helpers' contract. Return: the first entry, or 0. */
static swp_entry_t folio_swap_range(struct folio *folio, struct page *subpage, unsigned *nr)
{
	swp_entry_t entry = folio_swap_entry(folio);

	if (WARN_ON_ONCE(!folio_test_locked(folio)) || WARN_ON_ONCE(!folio_test_swapcache(folio)))
		return (swp_entry_t){0};
	lockdep_assert_held(&folio->lock);
	*nr = folio_nr_pages(folio);
	if (subpage) {
		unsigned long idx = folio_page_idx(folio, subpage);

		if (WARN_ON_ONCE(idx >= *nr))
			return (swp_entry_t){0};
		entry.val += idx;
		*nr = 1;
	}
	return entry;
}

/* Return: true if the table at @entry really holds @folio. Context: ci->lock. */
static bool cluster_holds_folio(struct swap_cluster_info *ci, swp_entry_t entry,
				struct folio *folio)
{
	return ci->table && __swap_table_get(ci, swap_cluster_offset(swp_offset(entry))) ==
				    folio_to_swp_tb(folio);
}

/*
 * Lock the cluster of the folio's slots (all, or @subpage's) after checking
 * the folio-based helpers' contract. Return: the locked cluster, or NULL
 * (misuse, warned).
 */
static struct swap_cluster_info *folio_swap_lock(struct folio *folio, struct page *subpage,
						 struct swap_info_struct **si, pgoff_t *offset,
						 unsigned *nr)
{
	swp_entry_t entry = folio_swap_range(folio, subpage, nr);
	struct swap_cluster_info *ci;

	if (!entry.val)
		return NULL;
	*si = __swap_entry_to_info(folio->sw, entry);
	*offset = swp_offset(entry);
	ci = swap_cluster_lock(*si, *offset);
	if (WARN_ON_ONCE(!cluster_holds_folio(ci, entry, folio))) {
		swap_cluster_unlock(ci);
		return NULL;
	}
	return ci;
}

int folio_dup_swap(struct folio *folio, struct page *subpage)
{
	struct swap_info_struct *si;
	struct swap_cluster_info *ci;
	pgoff_t offset;
	unsigned nr, i;
	int err = 0;

	ci = folio_swap_lock(folio, subpage, &si, &offset, &nr);
	if (!ci)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		err = __swap_cluster_dup_entry(si, ci, offset + i);
		if (err)
			break;
	}
	if (err)
		while (i--)
			__swap_cluster_put_entry(si, ci, offset + i);
	swap_cluster_unlock(ci);
	return err;
}

int folio_put_swap(struct folio *folio, struct page *subpage)
{
	struct swap_info_struct *si;
	struct swap_cluster_info *ci;
	pgoff_t offset;
	unsigned nr, i;
	int err = 0;

	ci = folio_swap_lock(folio, subpage, &si, &offset, &nr);
	if (!ci)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		if (WARN_ON_ONCE(!__swap_count(si, ci, offset + i))) {
			err = -EINVAL;
			goto out;
		}
	}
	/* The cache still pins every slot: nothing is freed here. */
	for (i = 0; i < nr; i++)
		__swap_cluster_put_entry(si, ci, offset + i);
out:
	swap_cluster_unlock(ci);
	return err;
}

bool folio_free_swap(struct folio *folio)
{
	struct swap_info_struct *si;
	struct swap_cluster_info *ci;
	swp_entry_t entry;
	unsigned nr;

	lockdep_assert_held(&folio->lock);
	if (WARN_ON_ONCE(!folio_test_locked(folio)))
		return false;
	if (!folio_test_swapcache(folio) || folio_test_writeback(folio))
		return false;
	entry = folio_swap_entry(folio);
	nr = folio_nr_pages(folio);
	si = __swap_entry_to_info(folio->sw, entry);
	race_point("free_swap:before_cluster_lock");
	ci = swap_cluster_lock(si, swp_offset(entry));
	if (!swap_only_has_cache(si, ci, swp_offset(entry), nr)) {
		swap_cluster_unlock(ci);
		return false;
	}
	__swap_cache_del_folio(ci, folio, entry, 0);
	swap_cluster_unlock(ci);
	folio_put_refs(folio, nr);
	folio_mark_dirty(folio);
	return true;
}

int swap_dup_entry_direct(struct uswap *sw, swp_entry_t entry)
{
	struct swap_info_struct *si = get_swap_device(sw, entry);
	struct swap_cluster_info *ci;
	pgoff_t offset = swp_offset(entry);
	int err;

	if (WARN_ON_ONCE(!si))
		return -EINVAL;
	ci = swap_cluster_lock(si, offset);
	if (WARN_ON_ONCE(!__swap_count(si, ci, offset)))
		err = -EINVAL;
	else
		err = __swap_cluster_dup_entry(si, ci, offset);
	swap_cluster_unlock(ci);
	put_swap_device(si);
	return err;
}

void swap_put_entries_direct(struct uswap *sw, swp_entry_t entry, int nr)
{
	struct swap_info_struct *si = get_swap_device(sw, entry);
	pgoff_t offset = swp_offset(entry);
	struct swap_cluster_info *ci;
	bool need_reclaim = false;
	unsigned ci_off;
	unsigned long step;
	int i;

	if (WARN_ON_ONCE(!si))
		return;
	ci_off = swap_cluster_offset(offset);
	if (WARN_ON_ONCE(nr <= 0 || ci_off + (unsigned)nr > SWAPFILE_CLUSTER ||
			 offset + nr > si->max))
		goto out;
	ci = swap_cluster_lock(si, offset);
	for (i = 0; i < nr; i++) {
		if (WARN_ON_ONCE(!__swap_count(si, ci, offset + i))) {
			swap_cluster_unlock(ci);
			goto out;
		}
	}
	for (i = 0; i < nr; i++) {
		if (__swap_cluster_put_entry(si, ci, offset + i))
			continue;
		if (swp_tb_is_folio(__swap_table_get(ci, ci_off + i)))
			need_reclaim = true;
	}
	swap_entries_free_unused(si, ci, offset, nr);
	swap_cluster_unlock(ci);

	race_point("put_direct:before_reclaim");
	/* Slots of a folio already reclaimed read as uncached and are skipped. */
	for (i = 0; need_reclaim && i < nr; i += (int)step) {
		step = 1;
		if (!swap_map_get(si, offset + i) &&
		    swp_tb_is_folio(swap_table_get(ci, ci_off + i)))
			step = reclaim_swap_step(si, offset + i, TTRS_UNMAPPED | TTRS_FULL);
	}
out:
	put_swap_device(si);
}

/*
 * Slots from @offset to the end of @folio, which caches @offset (read
 * without the folio lock: a hint, at least 1).
 */
static int folio_slots_from(struct folio *folio, pgoff_t offset)
{
	pgoff_t first = swp_offset(folio_swap_entry(folio));
	unsigned long nr = folio_nr_pages(folio);

	if (!folio_test_swapcache(folio) || first > offset || offset - first >= nr)
		return 1;
	return (int)(first + nr - offset);
}

int __try_to_reclaim_swap(struct swap_info_struct *si, pgoff_t offset, unsigned flags)
{
	swp_entry_t entry = swp_entry(si->type, offset);
	struct swap_cluster_info *ci;
	struct folio *folio;
	bool need_reclaim;
	int ret;
	unsigned nr;

	race_point("reclaim_swap:lookup");
	folio = swap_cache_get_folio(si->sw, entry);
	if (!folio)
		return 0;
	race_point("try_reclaim:before_trylock");
	nr = folio_nr_pages(folio);
	/* Not reclaimed: tell the caller how far the folio reaches past @offset. */
	ret = -folio_slots_from(folio, offset);
	if (!folio_trylock(folio)) {
		folio_put(folio);
		return ret;
	}
	if (!folio_matches_swap_entry(folio, entry)) {
		ret = -1;
		goto out_unlock;
	}
	need_reclaim = (flags & TTRS_ANYWAY) || ((flags & TTRS_UNMAPPED) && !folio_mapped(folio)) ||
		       ((flags & TTRS_FULL) && vm_swap_full(si->sw));
	if (!need_reclaim || folio_test_writeback(folio))
		goto out_unlock;
	entry = folio_swap_entry(folio);
	ci = swap_cluster_lock(si, swp_offset(entry));
	if (!swap_only_has_cache(si, ci, swp_offset(entry), nr)) {
		swap_cluster_unlock(ci);
		goto out_unlock;
	}
	__swap_cache_del_folio(ci, folio, entry, 0);
	swap_cluster_unlock(ci);
	folio_put_refs(folio, nr);
	folio_mark_dirty(folio);
	ret = (int)nr;
out_unlock:
	folio_unlock(folio);
	folio_put(folio);
	return ret;
}

bool swap_entry_swapped(struct uswap *sw, swp_entry_t entry)
{
	return swp_swapcount(sw, entry) > 0;
}

int swp_swapcount(struct uswap *sw, swp_entry_t entry)
{
	struct swap_info_struct *si = get_swap_device(sw, entry);
	struct swap_cluster_info *ci;
	unsigned int count;

	if (!si)
		return 0;
	ci = swap_cluster_lock(si, swp_offset(entry));
	count = __swap_count(si, ci, swp_offset(entry));
	swap_cluster_unlock(ci);
	put_swap_device(si);
	return (int)count;
}

swp_entry_t swap_alloc_hibernation_slot(struct uswap *sw, unsigned type)
{
	struct swap_info_struct *si;
	pgoff_t offset = 0;

	if (type >= MAX_SWAPFILES)
		return (swp_entry_t){0};
	si = atomic_load_acquire(&sw->swap_info[type]);
	if (!si || !get_swap_device_info(si))
		return (swp_entry_t){0};
	if (atomic_load_relaxed(&si->flags) & SWP_WRITEOK)
		offset = cluster_alloc_swap_entry(si, 0, NULL);
	put_swap_device(si);
	return offset ? swp_entry(type, offset) : (swp_entry_t){0};
}

void swap_free_hibernation_slot(struct uswap *sw, swp_entry_t entry)
{
	struct swap_info_struct *si = get_swap_device(sw, entry);
	pgoff_t offset = swp_offset(entry);
	struct swap_cluster_info *ci;

	if (WARN_ON_ONCE(!si))
		return;
	ci = swap_cluster_lock(si, offset);
	if (!WARN_ON_ONCE(!__swap_count(si, ci, offset))) {
		__swap_cluster_put_entry(si, ci, offset);
		swap_entries_free_unused(si, ci, offset, 1);
	}
	swap_cluster_unlock(ci);
	/* Readahead may have added a folio by accident: reclaim it unlocked. */
	__try_to_reclaim_swap(si, offset, TTRS_ANYWAY);
	put_swap_device(si);
}

struct swap_cluster_info *swap_cluster_get_and_lock(struct folio *folio)
{
	swp_entry_t entry = folio_swap_entry(folio);

	return swap_cluster_lock(__swap_entry_to_info(folio->sw, entry), swp_offset(entry));
}

/* ---- swapon / swapoff ---- */

static void swap_info_free_meta(struct swap_info_struct *si)
{
	struct arena *a = si->sw->arena;
	unsigned long slots = si->nr_clusters * SWAPFILE_CLUSTER;

	for (unsigned long i = 0; si->cluster_info && i < si->nr_clusters; i++) {
		struct swap_cluster_info *ci = &si->cluster_info[i];

		ulock_lock(&ci->lock);
		swap_cluster_free_table(si, ci);
		if (ci->extend_table) {
			arena_free(a, ci->extend_table, SWAPFILE_CLUSTER * sizeof(unsigned int));
			ci->extend_table = NULL;
		}
		ulock_unlock(&ci->lock);
	}
	arena_free(a, si->cluster_info, cluster_info_bytes(si));
	arena_free(a, si->swap_map, slots);
	arena_free(a, si->zeromap, zeromap_bytes(si));
	si->cluster_info = NULL;
	si->swap_map = NULL;
	si->zeromap = NULL;
}

static int swap_mark_bad(struct swap_info_struct *si, pgoff_t offset)
{
	struct swap_cluster_info *ci = __swap_offset_to_cluster(si, offset);

	if (swap_map_get(si, offset) == SWAP_MAP_BAD)
		return 0;
	swap_map_set(si, offset, SWAP_MAP_BAD);
	ci->count++;
	return 1;
}

static int setup_clusters(struct swap_info_struct *si, struct swap_dev *dev)
{
	unsigned long slots = si->nr_clusters * SWAPFILE_CLUSTER, nr_bad = 0;
	struct arena *a = si->sw->arena;

	si->swap_map = arena_zalloc(a, slots);
	si->zeromap = arena_zalloc(a, zeromap_bytes(si));
	si->cluster_info = arena_zalloc(a, cluster_info_bytes(si));
	for (unsigned long i = 0; si->cluster_info && i < si->nr_clusters; i++) {
		ulock_init(&si->cluster_info[i].lock, LOCK_RANK_CLUSTER);
		INIT_LIST_HEAD(&si->cluster_info[i].list);
	}
	if (!si->swap_map || !si->zeromap || !si->cluster_info)
		goto nomem;
	/* The header slot, the device's bad pages and the tail past max. */
	nr_bad += swap_mark_bad(si, 0);
	for (unsigned i = 0; i < dev->nr_badpages; i++) {
		if (dev->badpages[i] == 0 || dev->badpages[i] >= si->max)
			return -EINVAL;
		nr_bad += swap_mark_bad(si, dev->badpages[i]);
	}
	for (unsigned long off = si->max; off < slots; off++)
		nr_bad += swap_mark_bad(si, off);
	si->pages = slots - nr_bad;
	if (!si->pages)
		return -EINVAL;

	for (unsigned long i = 0; i < si->nr_clusters; i++) {
		struct swap_cluster_info *ci = &si->cluster_info[i];

		ulock_lock(&ci->lock);
		if (!ci->count) {
			move_cluster(si, ci, &si->free_clusters, CLUSTER_FLAG_FREE);
		} else if (ci->count == SWAPFILE_CLUSTER) {
			atomic_fetch_add_relaxed(&si->nr_full[0].n, 1L);
			move_cluster(si, ci, &si->full_clusters, CLUSTER_FLAG_FULL);
		} else {
			if (swap_cluster_alloc_table(si, ci)) {
				ulock_unlock(&ci->lock);
				goto nomem;
			}
			move_cluster(si, ci, &si->nonfull_clusters[0], CLUSTER_FLAG_NONFULL);
		}
		ulock_unlock(&ci->lock);
	}
	return 0;
nomem:
	return -ENOMEM;
}

int swapon(struct uswap *sw, struct swap_dev *dev, int prio)
{
	struct swap_info_struct *si = NULL;
	unsigned type;
	int err;

	if (!dev || dev->nr_pages < 2 || dev->nr_pages > SWP_OFFSET_MASK ||
	    dev->nr_badpages > SWAP_DEV_MAX_BAD) {
		err = -EINVAL;
		goto out_destroy;
	}
	ulock_lock(&sw->swap_lock);
	for (type = 0; type < MAX_SWAPFILES; type++) {
		si = sw->swap_info[type];
		if (!si || !(atomic_load_relaxed(&si->flags) & SWP_USED))
			break;
	}
	if (type == MAX_SWAPFILES) {
		err = -EBUSY;
		goto out_unlock;
	}
	if (!si) {
		si = arena_zalloc(sw->arena, sizeof(*si));
		if (!si) {
			err = -ENOMEM;
			goto out_unlock;
		}
		si->dead = true;
	}
	si->sw = sw;
	si->type = type;
	atomic_store_relaxed(&si->flags, 0UL);
	si->max = dev->nr_pages;
	si->nr_clusters = DIV_ROUND_UP(si->max, SWAPFILE_CLUSTER);
	percpu_counter_init(&si->inuse, 0);
	for (unsigned i = 0; i < NR_SHARDS; i++)
		atomic_store_relaxed(&si->nr_full[i].n, 0L);
	atomic_store_relaxed(&si->nr_free_clusters, 0UL);
	si->dev = dev;
	ulock_init(&si->lock, LOCK_RANK_DEVICE);
	ulock_init(&si->global_cluster_lock, LOCK_RANK_GLOBAL_CURSOR);
	INIT_LIST_HEAD(&si->free_clusters);
	INIT_LIST_HEAD(&si->full_clusters);
	INIT_LIST_HEAD(&si->discard_clusters);
	INIT_LIST_HEAD(&si->avail_list);
	for (unsigned o = 0; o < SWAP_NR_ORDERS; o++) {
		INIT_LIST_HEAD(&si->nonfull_clusters[o]);
		INIT_LIST_HEAD(&si->frag_clusters[o]);
		si->frag_cluster_nr[o] = 0;
		si->global_next[o] = 0;
	}
	err = setup_clusters(si, dev);
	if (err) {
		swap_info_free_meta(si);
		/* A descriptor never published (a new type) is ours to free. */
		if (!sw->swap_info[type])
			arena_free(sw->arena, si, sizeof(*si));
		goto out_unlock;
	}
	si->prio = prio >= 0 ? prio : --sw->least_priority;
	si->flags = SWP_USED | SWP_WRITEOK;
	if (dev->flags & SWAP_DEV_SYNC_IO)
		si->flags |= SWP_SYNCHRONOUS_IO;
	if (dev->flags & SWAP_DEV_SOLIDSTATE)
		si->flags |= SWP_SOLIDSTATE;
	if (dev->flags & SWAP_DEV_DISCARD)
		si->flags |= SWP_DISCARDABLE;
	if (dev->flags & SWAP_DEV_STABLE_WRITES)
		si->flags |= SWP_STABLE_WRITES;
	atomic_fetch_add_relaxed(&sw->total_swap_pages, (long)si->pages);
	percpu_counter_add(&sw->nr_swap_pages, (long)si->pages, NR_SWAP_PAGES_BATCH);
	if (type >= sw->nr_swapfiles)
		sw->nr_swapfiles = type + 1;
	atomic_store_seq_cst(&si->dead, false);
	atomic_store_release(&sw->swap_info[type], si);
	add_to_avail_list(si);
	ulock_unlock(&sw->swap_lock);
	return (int)type;

out_unlock:
	ulock_unlock(&sw->swap_lock);
out_destroy:
	if (dev && dev->ops->destroy)
		dev->ops->destroy(dev);
	return err;
}

static struct swap_info_struct *swap_info_get_used(struct uswap *sw, unsigned type)
{
	struct swap_info_struct *si;

	if (type >= MAX_SWAPFILES)
		return NULL;
	si = sw->swap_info[type];
	if (!si || !(atomic_load_relaxed(&si->flags) & SWP_USED))
		return NULL;
	return si;
}

int swapoff_begin(struct uswap *sw, unsigned type)
{
	struct swap_info_struct *si;
	int err = 0;

	ulock_lock(&sw->swap_lock);
	si = swap_info_get_used(sw, type);
	if (!si || !(atomic_load_relaxed(&si->flags) & SWP_WRITEOK)) {
		err = -EINVAL;
		goto out;
	}
	atomic_fetch_and_acq_rel(&si->flags, ~(unsigned long)SWP_WRITEOK);
	del_from_avail_list(si, true);
	/*
	 * Drain in-flight allocations: they check SWP_WRITEOK under the cluster
	 * lock before taking slots, so once every cluster lock has been free
	 * after the flag was cleared, no slot can be allocated any more.
	 */
	for (unsigned long i = 0; i < si->nr_clusters; i++) {
		ulock_lock(&si->cluster_info[i].lock);
		ulock_unlock(&si->cluster_info[i].lock);
	}
	/* Slots in use come back to nr_swap_pages as they are freed. */
	percpu_counter_add(&sw->nr_swap_pages, -(long)si->pages, NR_SWAP_PAGES_BATCH);
	atomic_fetch_sub_relaxed(&sw->total_swap_pages, (long)si->pages);
out:
	ulock_unlock(&sw->swap_lock);
	return err;
}

void swapoff_abort(struct uswap *sw, unsigned type)
{
	struct swap_info_struct *si;

	ulock_lock(&sw->swap_lock);
	si = swap_info_get_used(sw, type);
	if (si && !(atomic_load_relaxed(&si->flags) & SWP_WRITEOK)) {
		percpu_counter_add(&sw->nr_swap_pages, (long)si->pages, NR_SWAP_PAGES_BATCH);
		atomic_fetch_add_relaxed(&sw->total_swap_pages, (long)si->pages);
		atomic_fetch_or_acq_rel(&si->flags, (unsigned long)SWP_WRITEOK);
		add_to_avail_list(si);
	}
	ulock_unlock(&sw->swap_lock);
}

int swapoff_finish(struct uswap *sw, unsigned type)
{
	struct swap_info_struct *si;
	struct swap_dev *dev;
	ulock_lock(&sw->swap_lock);
	si = swap_info_get_used(sw, type);
	if (!si || (atomic_load_relaxed(&si->flags) & SWP_WRITEOK)) {
		ulock_unlock(&sw->swap_lock);
		return -EINVAL;
	}
	if (swap_inuse_pages(si)) {
		ulock_unlock(&sw->swap_lock);
		return -EBUSY;
	}
	/* No new users; wait for the ones in flight. */
	atomic_store_seq_cst(&si->dead, true);
	while (swap_device_users(si)) {
		struct timespec ts = {0, 50000};

		nanosleep(&ts, NULL);
	}
	for (unsigned c = 0; c < NR_SWAP_CURSORS; c++)
		for (unsigned o = 0; o < SWAP_NR_ORDERS; o++)
			if (atomic_load_relaxed(&sw->pcp[c].si[o]) == si)
				atomic_store_relaxed(&sw->pcp[c].si[o], NULL);
	dev = si->dev;
	swap_info_free_meta(si);
	si->dev = NULL;
	atomic_store_release(&si->flags, 0UL);
	ulock_unlock(&sw->swap_lock);
	if (dev->ops->destroy)
		dev->ops->destroy(dev);
	return 0;
}
