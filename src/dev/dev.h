/* SPDX-License-Identifier: MIT */
/*
 * dev.h - the one ops table every swap backend implements.
 *
 * A backend is an array of page-sized slots, slot 0 being the header slot
 * (never allocated by the engine). The engine calls the ops with slot
 * offsets; a call covers nr consecutive slots (a large folio), and a backend
 * may handle them page by page. Contract for every op:
 *   - returns 0 or a negative errno (-EIO, -ENOSPC, -ENOMEM, ...); never
 *     aborts, never returns garbage: a read either fills all nr pages with
 *     the data last written or fails;
 *   - a failed write leaves the slot's previous contents readable as they
 *     were (the engine keeps the folio in memory anyway);
 *   - may be called concurrently for different slots; the engine never
 *     calls write/read/free_notify concurrently for the same slot;
 *   - slot_free_notify may be called with a cluster lock held: it must not
 *     sleep for long nor call back into the engine.
 *
 * Owns: declarations. Locking: per backend, leaf locks only.
 */
#ifndef USWAP_DEV_H
#define USWAP_DEV_H

#include "../base/compiler.h"

typedef unsigned long pgoff_t;

struct swap_dev;

enum swap_dev_flags {
	SWAP_DEV_SYNC_IO = 1 << 0,    /* -> SWP_SYNCHRONOUS_IO */
	SWAP_DEV_SOLIDSTATE = 1 << 1, /* -> SWP_SOLIDSTATE */
	SWAP_DEV_DISCARD = 1 << 2,    /* -> SWP_DISCARDABLE */
	SWAP_DEV_STABLE_WRITES = 1 << 3,
};

struct swap_dev_ops {
	const char *name;
	/* Read nr slots from @offset into @buf (nr * PAGE_SIZE bytes). */
	int (*read)(struct swap_dev *dev, pgoff_t offset, void *buf, unsigned nr);
	/* Write nr slots from @buf. */
	int (*write)(struct swap_dev *dev, pgoff_t offset, const void *buf, unsigned nr);
	/* Discard nr slots (optional, NULL if unsupported). */
	int (*discard)(struct swap_dev *dev, pgoff_t offset, unsigned long nr);
	/* The engine freed this slot: drop its data (optional). */
	void (*slot_free_notify)(struct swap_dev *dev, pgoff_t offset);
	/* Print a one-line summary of backend figures (optional). */
	int (*describe)(struct swap_dev *dev, char *buf, size_t len);
	/* Release everything. */
	void (*destroy)(struct swap_dev *dev);
};

#define SWAP_DEV_MAX_BAD 637

struct swap_dev {
	const struct swap_dev_ops *ops;
	unsigned long flags;	/* enum swap_dev_flags */
	unsigned long nr_pages; /* slots including slot 0 (the header) */
	unsigned nr_badpages;	/* bad slot offsets, each in 1..nr_pages-1 */
	uint32_t badpages[SWAP_DEV_MAX_BAD];
	char name[256];	  /* path or "zram", for the device table */
	const char *kind; /* "file", "partition", "zram", "ram" */
};

#endif /* USWAP_DEV_H */
