/* SPDX-License-Identifier: MIT */
/*
 * zram.h - compressed RAM swap backend (SYNC_IO, SOLIDSTATE).
 *
 * Each slot holds one of: nothing (reads as zeros), a same-filled page (every
 * 8-byte word equal, kept as that word, no data), a compressed page (LZ4 or
 * zstd) in arena memory sized to its compressed length, or a "huge" page
 * stored raw because it did not compress below the huge threshold.
 * Memory used for data is accounted and may be capped (mem_limit).
 *
 * Owns: the per-slot metadata array and the stored data. Locking: one lock
 * bit per slot (sleeping on a futex when contended, which the engine's
 * per-slot exclusion makes rare); counters are atomics.
 */
#ifndef USWAP_DEV_ZRAM_H
#define USWAP_DEV_ZRAM_H

#include "dev.h"

struct arena;

enum zram_algo {
	ZRAM_LZ4 = 0, /* the default */
	ZRAM_ZSTD,
};

struct zram_config {
	enum zram_algo algo;   /* compressor */
	int level;	       /* zstd level; 0 means zstd's default (3) */
	size_t mem_limit;      /* cap on mem_used_total in bytes; 0 = none */
	size_t huge_threshold; /* store raw above this many compressed bytes;
				 * 0 = 3/4 of a page */
};

/* Figures with the names of the kernel's zram mm_stat (all in bytes but counts). */
struct zram_stats {
	uint64_t orig_data_size;  /* pages stored (same-filled included) * PAGE_SIZE */
	uint64_t compr_data_size; /* compressed bytes held (huge pages count a page) */
	uint64_t mem_used_total;  /* arena bytes held for data (size-class rounded) */
	uint64_t mem_limit;	  /* the cap, 0 = none */
	uint64_t mem_used_max;	  /* high-water mark of mem_used_total */
	uint64_t same_pages;	  /* slots holding a same-filled page */
	uint64_t huge_pages;	  /* slots holding a raw page */
	uint64_t pages_stored;	  /* slots holding any page */
};

/*
 * zram_create - a compressed RAM device of @nr_pages slots (slot 0 included)
 * whose metadata and data come from @arena.
 * @cfg: may be NULL for the defaults (lz4, no limit, 3/4-page threshold).
 * Context: any; may sleep. Return: 0 and *out set, or -EINVAL (fewer than
 * two slots, unknown algorithm, bad level or threshold) / -ENOMEM.
 */
int zram_create(struct swap_dev **out, struct arena *arena, unsigned long nr_pages,
		const struct zram_config *cfg);

/*
 * zram_get_stats - a snapshot of the figures above (each one exact, the set
 * not taken atomically while writes run).
 * Context: any. Return: 0, or -EINVAL if @dev is not a zram device.
 */
int zram_get_stats(struct swap_dev *dev, struct zram_stats *st);

/*
 * zram_inject - fault injection: make the @read_nth next read call and the
 * @write_nth next write call fail with @err (0 disables that one). A failed
 * write leaves the slot as it was.
 * Context: any. Return: nothing (void).
 */
void zram_inject(struct swap_dev *dev, unsigned long read_nth, unsigned long write_nth, int err);

/*
 * zram_corrupt_slot - fault injection: xor byte @byte of the data block
 * stored for @offset with @mask, as a memory error would, so that tests can
 * see a corrupt block read back as -EIO.
 * Context: the slot is not being written or freed.
 * Return: 0, -ENOENT (the slot holds no data block), -EINVAL (@byte past
 * the block, or @dev is not zram).
 */
int zram_corrupt_slot(struct swap_dev *dev, pgoff_t offset, size_t byte, uint8_t mask);

/* is_zram_dev - Context: any. Return: whether @dev is a zram device. */
bool is_zram_dev(const struct swap_dev *dev);

#endif /* USWAP_DEV_ZRAM_H */
