/* SPDX-License-Identifier: MIT */
/*
 * swap_types.h - the swap subsystem's data: entries, clusters, the count
 * encoding (swap_map), devices (struct swap_info_struct) and the engine
 * (struct uswap). Folios are in folio.h; the operations on all of these are
 * declared in swap.h, which includes this file.
 *
 * Owns: declarations only. Locking: each field names the lock that guards
 * it; the locks' order is the rank enum in base/lock.h.
 */
#ifndef USWAP_SWAP_TYPES_H
#define USWAP_SWAP_TYPES_H

#include "../base/arena.h"
#include "../base/atomic.h"
#include "../base/compiler.h"
#include "../base/list.h"
#include "../base/percpu.h"
#include "../base/lock.h"
#include "../base/refcount.h"
#include "../base/stats.h"
#include "../base/warn.h"

struct folio;
struct swap_dev;
struct uswap;

/* ---- page orders ---- */

#define MAX_PAGE_ORDER	9
#define NR_PAGE_ORDERS	(MAX_PAGE_ORDER + 1)
#define HPAGE_PMD_ORDER 9

/* ---- swap entries ---- */

#define MAX_SWAPFILES_SHIFT 5
#define MAX_SWAPFILES	    (1 << MAX_SWAPFILES_SHIFT)
#define SWP_TYPE_SHIFT	    (BITS_PER_LONG - MAX_SWAPFILES_SHIFT)
#define SWP_OFFSET_MASK	    ((1UL << SWP_TYPE_SHIFT) - 1)

typedef unsigned long pgoff_t;

/* A swap entry names one slot: type in the top 5 bits, offset below. 0 is invalid. */
typedef struct {
	unsigned long val;
} swp_entry_t;

static inline swp_entry_t swp_entry(unsigned type, pgoff_t offset)
{
	return (swp_entry_t){((unsigned long)type << SWP_TYPE_SHIFT) | (offset & SWP_OFFSET_MASK)};
}

static inline unsigned swp_type(swp_entry_t e)
{
	return e.val >> SWP_TYPE_SHIFT;
}

static inline pgoff_t swp_offset(swp_entry_t e)
{
	return e.val & SWP_OFFSET_MASK;
}

/* ---- clusters ---- */

#define SWAPFILE_CLUSTER 512
#define SWAP_NR_ORDERS	 (HPAGE_PMD_ORDER + 1)

/* Which list a cluster is on. Order matters: <= USABLE may be allocated from. */
enum {
	CLUSTER_FLAG_NONE = 0, /* isolated: on no list */
	CLUSTER_FLAG_FREE,
	CLUSTER_FLAG_NONFULL,
	CLUSTER_FLAG_FRAG,
	CLUSTER_FLAG_USABLE = CLUSTER_FLAG_FRAG,
	CLUSTER_FLAG_FULL,
	CLUSTER_FLAG_DISCARD,
	CLUSTER_FLAG_MAX,
};

struct swap_cluster_info {
	struct ulock lock;	    /* protects the fields below but list */
	uint16_t count;		    /* slots allocated, cached or bad */
	uint8_t flags;		    /* CLUSTER_FLAG_*; changed with si->lock too */
	uint8_t order;		    /* allocation order, fixed while count > 0 */
	uint16_t nr_ext;	    /* slots whose count lives in extend_table */
	unsigned long *table;	    /* swap table, NULL while free (atomic pointer) */
	unsigned int *extend_table; /* overflow counts, allocated on demand */
	struct list_head list;	    /* on one of si's lists; protected by si->lock */
};

/* ---- counts (swap_map), phase II ---- */

#define SWAP_MAP_MAX	 0x3e /* largest count stored inline (62) */
#define SWAP_MAP_BAD	 0x3f /* bad slot: never allocated */
#define SWAP_MAP_EXT	 0x80 /* count continues in the cluster's extend_table */
#define SWAP_COUNT_LIMIT 0x7fffffff

/* ---- devices ---- */

enum {
	SWP_USED = 1 << 0,	     /* type slot holds a device */
	SWP_WRITEOK = 1 << 1,	     /* allocation allowed; cleared first at swapoff */
	SWP_DISCARDABLE = 1 << 2,    /* device can discard freed clusters */
	SWP_SOLIDSTATE = 1 << 3,     /* per-CPU cluster allocation */
	SWP_SYNCHRONOUS_IO = 1 << 4, /* reads complete synchronously and cheaply */
	SWP_STABLE_WRITES = 1 << 5,
};

/*
 * get_swap_device() references, sharded by thread so that threads on
 * different CPUs do not bounce one cache line (percpu_ref in the kernel).
 * A reference may be dropped on another shard than it was taken on: only
 * the sum means anything, and only once the device is marked dead.
 */

struct swap_info_struct {
	struct uswap *sw;
	unsigned long flags; /* SWP_* (atomic reads) */
	int prio;	     /* higher is used first */
	unsigned type;
	unsigned long max;   /* slots including the header slot */
	unsigned long pages; /* usable slots */
	/*
	 * Slots allocated or cached: sharded (read with swap_inuse_pages()).
	 * Whether the device is full is told exactly by nr_full_clusters,
	 * which only moves when a cluster fills up or stops being full.
	 */
	struct percpu_counter inuse;
	unsigned long nr_full_clusters __attribute__((aligned(64))); /* atomic */
	bool dead __attribute__((aligned(64))); /* no new get_swap_device() references */
	struct shard_long users[NR_SHARDS];
	unsigned char *swap_map; /* one count byte per slot, under ci->lock */
	unsigned long *zeromap;	 /* page_io: slots whose page is all zero */
	struct swap_cluster_info *cluster_info;
	unsigned long nr_clusters;
	struct ulock lock; /* protects the lists below */
	struct list_head free_clusters;
	struct list_head full_clusters;
	struct list_head discard_clusters;
	struct list_head nonfull_clusters[SWAP_NR_ORDERS];
	struct list_head frag_clusters[SWAP_NR_ORDERS];
	unsigned long frag_cluster_nr[SWAP_NR_ORDERS];
	struct ulock global_cluster_lock;	   /* serializes allocation on rotating disks */
	unsigned long global_next[SWAP_NR_ORDERS]; /* global cursor (non-SSD) */
	struct list_head avail_list; /* on sw->swap_avail_head; under swap_avail_lock */
	bool on_avail;		     /* atomic; under swap_avail_lock to change */
	struct swap_dev *dev;	     /* backend */
	size_t meta_bytes;	     /* arena bytes of swap_map, zeromap, clusters */
};

/* Slots allocated or cached; exact while nothing is allocated or freed. */
static inline unsigned long swap_inuse_pages(struct swap_info_struct *si)
{
	return (unsigned long)percpu_counter_sum(&si->inuse);
}

/* Per-CPU allocation cursor: the device and offset last allocated from. */
struct percpu_swap_cluster {
	struct swap_info_struct *si[SWAP_NR_ORDERS];
	unsigned long offset[SWAP_NR_ORDERS];
	unsigned long gen[SWAP_NR_ORDERS]; /* sw->avail_gen when recorded */
} __attribute__((aligned(64)));

#define USWAP_MAX_CPUS 256

struct uswap {
	struct arena *arena;
	struct pool folio_pool; /* struct folio, type-stable */
	struct pool table_pool; /* swap tables, type-stable */
	struct vm_event_state events;
	struct ulock swap_lock;				   /* swapon/swapoff: swap_info[] changes */
	struct swap_info_struct *swap_info[MAX_SWAPFILES]; /* never freed */
	unsigned nr_swapfiles;				   /* types ever used */
	int least_priority;				   /* default priority: -1, -2, ... */
	struct ulock swap_avail_lock;			   /* protects swap_avail_head */
	struct list_head swap_avail_head;		   /* devices by prio, high first */
	unsigned long avail_gen;	     /* bumped when the avail list's members change */
	struct percpu_counter nr_swap_pages; /* free slots, all devices */
	long total_swap_pages;		     /* usable slots, all devices (atomic) */
	unsigned nr_cpus;
	struct percpu_swap_cluster pcp[USWAP_MAX_CPUS];
	void *mm; /* the mm layer's per-engine state */
	/* Called when a folio added to the cache replaces a shadow (refault). */
	void (*workingset_refault)(struct folio *folio, unsigned long shadow);
};

#endif /* USWAP_SWAP_TYPES_H */
