// SPDX-License-Identifier: MIT
/*
 * check.c - the invariant checker: walks every cluster of a device and
 * compares per-slot counts and table words with the cluster's count and
 * flags, list membership with flags (and the free list's length with
 * nr_free_clusters), and inuse_pages with the sum.
 *
 * Owns: nothing. Locking: each cluster under its lock, then the lists
 * under si->lock (never both, so callers need not hold anything).
 */
#include "swap.h"

#include <stdio.h>

#include "swap_table.h"
#include "swapfile_internal.h"

#define CHECK_FAIL(si, fmt, ...)                                                                   \
	do {                                                                                       \
		fprintf(stderr, "uswap check: device %u: " fmt "\n", (si)->type, ##__VA_ARGS__);   \
		bad++;                                                                             \
	} while (0)

static int check_cluster(struct swap_info_struct *si, struct swap_cluster_info *ci,
			 unsigned long *inuse, unsigned long *nr_full)
{
	pgoff_t base = cluster_offset(si, ci);
	unsigned long idx = cluster_index(si, ci);
	unsigned count = 0, nr_bad = 0, nr_ext = 0;
	int bad = 0;

	ulock_lock(&ci->lock);
	for (unsigned i = 0; i < SWAPFILE_CLUSTER; i++) {
		pgoff_t off = base + i;
		unsigned char c = swap_map_get(si, off);
		unsigned long tb = ci->table ? __swap_table_get(ci, i) : 0;

		if (c == SWAP_MAP_BAD) {
			nr_bad++;
			count++;
			if (tb)
				CHECK_FAIL(si, "bad slot %lu has table word %#lx", off, tb);
			continue;
		}
		if (c == SWAP_MAP_EXT) {
			nr_ext++;
			if (!ci->extend_table || ci->extend_table[i] <= SWAP_MAP_MAX)
				CHECK_FAIL(si, "slot %lu: overflow count missing or small", off);
		} else if (c > SWAP_MAP_MAX) {
			CHECK_FAIL(si, "slot %lu: invalid count byte %#x", off, c);
		}
		if (swap_slot_in_use(c, tb))
			count++;
		if (!c && swp_tb_is_shadow(tb))
			CHECK_FAIL(si, "slot %lu: free slot keeps a shadow", off);
		if (swp_tb_is_folio(tb)) {
			struct folio *folio = swp_tb_to_folio(tb);
			swp_entry_t fs = folio_swap_entry(folio);
			unsigned long nr = folio_nr_pages(folio);

			if (!folio_test_swapcache(folio) || swp_type(fs) != si->type ||
			    off < swp_offset(fs) || off >= swp_offset(fs) + nr)
				CHECK_FAIL(si, "slot %lu: cached folio does not cover it", off);
			if (folio_ref_count(folio) < (int)nr)
				CHECK_FAIL(si, "slot %lu: cached folio has %d refs < %lu", off,
					   folio_ref_count(folio), nr);
		}
	}
	if (count != ci->count)
		CHECK_FAIL(si, "cluster %lu: count %u, slots say %u", idx, ci->count, count);
	if (nr_ext != ci->nr_ext || (!nr_ext && ci->extend_table))
		CHECK_FAIL(si, "cluster %lu: %u overflow slots, nr_ext %u, table %p", idx, nr_ext,
			   ci->nr_ext, (void *)ci->extend_table);
	if (!ci->count && ci->table)
		CHECK_FAIL(si, "cluster %lu: empty but keeps a swap table", idx);
	if (ci->count > nr_bad && !ci->table)
		CHECK_FAIL(si, "cluster %lu: in use without a swap table", idx);
	if (ci->flags == CLUSTER_FLAG_FREE && ci->count)
		CHECK_FAIL(si, "cluster %lu: on the free list with count %u", idx, ci->count);
	if (ci->flags == CLUSTER_FLAG_FULL && !cluster_is_full(ci))
		CHECK_FAIL(si, "cluster %lu: on the full list with count %u", idx, ci->count);
	if (ci->flags == CLUSTER_FLAG_NONE)
		CHECK_FAIL(si, "cluster %lu: isolated while idle", idx);
	*inuse += count - nr_bad;
	/* Under the lock: ci->count is a plain field its writers change under it. */
	*nr_full += cluster_is_full(ci);
	ulock_unlock(&ci->lock);
	return bad;
}

static int check_list(struct swap_info_struct *si, struct list_head *list, uint8_t flags, int order,
		      unsigned long *seen)
{
	struct swap_cluster_info *ci;
	unsigned long n = 0;
	int bad = 0;

	list_for_each_entry (ci, list, list) {
		n++;
		if (ci->flags != flags)
			CHECK_FAIL(si, "cluster %lu on list %u has flags %u", cluster_index(si, ci),
				   flags, ci->flags);
		if (order >= 0 && ci->order != order && ci->count)
			CHECK_FAIL(si, "cluster %lu of order %u on order-%d list",
				   cluster_index(si, ci), ci->order, order);
		if (n > si->nr_clusters) {
			CHECK_FAIL(si, "list %u loops", flags);
			break;
		}
	}
	if (flags == CLUSTER_FLAG_FRAG && order >= 0 && n != si->frag_cluster_nr[order])
		CHECK_FAIL(si, "frag[%d] has %lu clusters, counted %lu", order, n,
			   si->frag_cluster_nr[order]);
	/* The count that tells most fills the device cannot be full (swapfile.c). */
	if (flags == CLUSTER_FLAG_FREE && n != atomic_load_seq_cst(&si->nr_free_clusters))
		CHECK_FAIL(si, "free list has %lu clusters, counted %lu", n,
			   atomic_load_seq_cst(&si->nr_free_clusters));
	*seen += n;
	return bad;
}

int swap_check_device(struct swap_info_struct *si)
{
	unsigned long inuse = 0, seen = 0, nr_full = 0;
	int bad = 0;

	for (unsigned long i = 0; i < si->nr_clusters; i++)
		bad += check_cluster(si, &si->cluster_info[i], &inuse, &nr_full);
	if (inuse != swap_inuse_pages(si))
		CHECK_FAIL(si, "inuse_pages %lu, clusters say %lu", swap_inuse_pages(si), inuse);
	if (nr_full != swap_nr_full_clusters(si))
		CHECK_FAIL(si, "nr_full_clusters %lu, clusters say %lu", swap_nr_full_clusters(si),
			   nr_full);

	ulock_lock(&si->lock);
	bad += check_list(si, &si->free_clusters, CLUSTER_FLAG_FREE, -1, &seen);
	bad += check_list(si, &si->full_clusters, CLUSTER_FLAG_FULL, -1, &seen);
	bad += check_list(si, &si->discard_clusters, CLUSTER_FLAG_DISCARD, -1, &seen);
	for (int o = 0; o < SWAP_NR_ORDERS; o++) {
		bad += check_list(si, &si->nonfull_clusters[o], CLUSTER_FLAG_NONFULL, o, &seen);
		bad += check_list(si, &si->frag_clusters[o], CLUSTER_FLAG_FRAG, o, &seen);
	}
	ulock_unlock(&si->lock);
	if (seen != si->nr_clusters)
		CHECK_FAIL(si, "%lu clusters on lists, device has %lu", seen, si->nr_clusters);
	return bad ? -EUCLEAN : 0;
}

int swap_check_all(struct uswap *sw)
{
	int err = 0;

	for (unsigned t = 0; t < MAX_SWAPFILES; t++) {
		struct swap_info_struct *si = get_swap_device(sw, swp_entry(t, 1));

		if (!si)
			continue;
		if (swap_check_device(si))
			err = -EUCLEAN;
		put_swap_device(si);
	}
	return err;
}
