/* SPDX-License-Identifier: MIT */
/*
 * model.h - the in-memory front end: address spaces whose page tables map
 * real 4 KiB pages (folio->data), shmem files, and the engine and swap
 * devices under them. Tests and benchmarks (usemem, bgsave) drive the mm
 * layer through it; every access goes through the page tables like a CPU's,
 * faulting pages in (and swapping them in) as needed.
 *
 * A typical run:
 *
 *	model_create_engine(&m, 0);
 *	model_swapon_zram(m, 1 << 18, -1);
 *	model_set_budget(m, 1 << 16);
 *	model_as_create(m, 1UL << 30, 0, &as);
 *	model_write_u64(as, model_as_start(as) + off, v);   (faults, reclaims)
 *	model_fork(as, &child);                             (a BGSAVE)
 *	model_spawn(child, save, arg, &t); ... model_join(t); model_exit(child);
 *	model_destroy(m);
 *
 * Context, unless a contract says otherwise: any thread, no lock held; may
 * sleep. Address spaces and files may be shared by threads; one must not be
 * used once model_exit() / model_shmem_destroy() was called on it.
 *
 * Owns: struct model, struct model_as, struct model_shmem, model threads.
 * Locking: m->lock (LOCK_RANK_MODEL) guards the model's lists; page tables have
 * one lock per table (LOCK_RANK_PTL), which also guards the table's pin bits;
 * the rest is the mm layer's (mm/mm.h).
 */
#ifndef USWAP_MODEL_MODEL_H
#define USWAP_MODEL_MODEL_H

#include "../mm/mm.h"

struct model;
struct model_as;
struct model_shmem;
struct model_thread;
struct swap_dev;

/* Where every address space starts (any PMD-aligned address would do). */
#define MODEL_AS_BASE (1UL << 32)

/* ---- the model, its engine and devices ---- */

/*
 * model_create - a model over the existing engine @sw (which must not have
 * an mm layer yet); its devices are the caller's.
 * Context: no lock held. Return: 0 and *out, or -ENOMEM / -EEXIST.
 */
int model_create(struct model **out, struct uswap *sw);

/*
 * model_create_engine - a model with an engine of its own, in an arena of
 * @arena_bytes (0: 4 GiB of address space, touched only as used); devices
 * are swapped off and the engine destroyed by model_destroy().
 * Return: 0 and *out, or a negative errno.
 */
int model_create_engine(struct model **out, size_t arena_bytes);

/*
 * model_destroy - exit every address space, destroy every shmem file, tear
 * the mm layer down; with an engine of its own, swap off every device and
 * destroy the engine too. Context: no other thread uses the model.
 */
void model_destroy(struct model *m);

/* model_engine - Return: the engine under @m (for swap-layer calls). */
struct uswap *model_engine(struct model *m);

/*
 * model_swapon_ram / model_swapon_zram / model_swapon_dev - put a RAM test
 * device (@dev_flags: SWAP_DEV_*, e.g. SWAP_DEV_SYNC_IO), a zram device, or
 * any backend into service at priority @prio (-1: next default).
 * @nr_pages counts slots, the header slot included.
 * Return: the device type, or a negative errno.
 */
int model_swapon_ram(struct model *m, unsigned long nr_pages, unsigned long dev_flags, int prio);
int model_swapon_zram(struct model *m, unsigned long nr_pages, int prio);
int model_swapon_dev(struct model *m, struct swap_dev *dev, int prio);

/* model_swapoff - mm_swapoff() (@interrupted may be NULL). Return: as mm_swapoff(). */
int model_swapoff(struct model *m, unsigned type, swapoff_interrupt_t interrupted, void *arg);

/* ---- memory budget, reclaim, figures ---- */

/* model_set_budget - hold the model's resident pages to @pages (0: no limit). */
void model_set_budget(struct model *m, unsigned long pages);
/* model_reclaim - reclaim up to @nr pages now. Return: pages freed. */
unsigned long model_reclaim(struct model *m, unsigned long nr);

struct model_info {
	unsigned long resident;	  /* pages charged: on the LRU or isolated */
	unsigned long active;	  /* pages on the active list */
	unsigned long inactive;	  /* pages on the inactive list */
	unsigned long budget;	  /* 0: none */
	unsigned long swap_total; /* usable slots of every device in service */
	unsigned long swap_free;  /* of which free */
};

/* model_info - fill @info with a snapshot of the figures above. */
void model_info(struct model *m, struct model_info *info);
/* model_stat - Return: a vmstat counter (names in vm_event_names[]). */
unsigned long model_stat(struct model *m, enum vm_event_item item);
/*
 * model_check - run the swap invariant checker on every device; strict only
 * while nothing else runs. Return: 0 or -EUCLEAN.
 */
int model_check(struct model *m);

/* ---- address spaces ---- */

/*
 * model_as_create - an empty address space of @size bytes (rounded up to
 * 2 MiB) at MODEL_AS_BASE; anon faults and swap-ins use folios of
 * @thp_order (0: single pages; up to 9).
 * Return: 0 and *out, -EINVAL, -ENOMEM.
 */
int model_as_create(struct model *m, size_t size, unsigned thp_order, struct model_as **out);

/*
 * model_fork - a child address space sharing @parent's pages copy-on-write
 * and its swapped pages by count (the child may run on another thread).
 * Return: 0 and *out, or -ENOMEM.
 */
int model_fork(struct model_as *parent, struct model_as **out);

/* model_exit - tear the address space down (its last user frees it); @as is gone. */
void model_exit(struct model_as *as);

/* model_as_mm - Return: the mm layer's view of @as, for callers of mm/mm.h. */
struct mm_struct *model_as_mm(struct model_as *as);
/* model_as_start / model_as_size - Return: where @as starts, its size in bytes. */
unsigned long model_as_start(const struct model_as *as);
size_t model_as_size(const struct model_as *as);
/* model_as_resident / model_as_swapped - Return: pages mapped / held in swap (snapshots). */
unsigned long model_as_resident(struct model_as *as);
unsigned long model_as_swapped(struct model_as *as);

/*
 * model_read / model_write - copy @len bytes at @addr, faulting (zero fill,
 * swap-in, copy-on-write) as needed. Context: may sleep and reclaim.
 * Return: 0, -EFAULT (outside the space), -ENOMEM, -EIO.
 */
int model_read(struct model_as *as, unsigned long addr, void *buf, size_t len);
int model_write(struct model_as *as, unsigned long addr, const void *buf, size_t len);
int model_read_u64(struct model_as *as, unsigned long addr, uint64_t *val);
int model_write_u64(struct model_as *as, unsigned long addr, uint64_t val);

enum model_advice {
	MODEL_MADV_DONTNEED, /* drop the pages: they read as zero again */
	MODEL_MADV_PAGEOUT,  /* reclaim them now */
};

/*
 * model_madvise - apply @advice to the pages of [addr, addr + len).
 * Return: 0 (DONTNEED) or pages reclaimed (PAGEOUT), or -EINVAL.
 */
long model_madvise(struct model_as *as, unsigned long addr, size_t len, enum model_advice advice);

/*
 * model_pin - pin (or unpin) the page at @addr: reclaim may not unmap it
 * (like a page held for DMA); the mm layer undoes the swap count it took.
 * Return: 0 or -EFAULT / -ENOMEM.
 */
int model_pin(struct model_as *as, unsigned long addr, bool pin);

/*
 * model_ksm - make the resident folio at @addr a stand-in KSM page
 * (ksm_mark_page). Return: 0, -ENOENT (not resident), -EINVAL.
 */
int model_ksm(struct model_as *as, unsigned long addr);

/*
 * model_spawn - run @fn(@as, @arg) on a new thread; model_join() waits for
 * it and returns what @fn returned. Return: 0 or a negative errno.
 */
int model_spawn(struct model_as *as, void *(*fn)(struct model_as *as, void *arg), void *arg,
		struct model_thread **out);
void *model_join(struct model_thread *t);

/* ---- shmem files ---- */

/* model_shmem_create - a file of @nr_pages pages. Return: 0 and *out, -EINVAL, -ENOMEM. */
int model_shmem_create(struct model *m, unsigned long nr_pages, struct model_shmem **out);
/* model_shmem_destroy - truncate and free @s. Context: nobody else uses @s. */
void model_shmem_destroy(struct model_shmem *s);
/*
 * model_shmem_read / model_shmem_write - copy @len bytes at byte @pos (holes
 * read as zeros). Return: 0, -EINVAL (range), -ENOMEM, -EIO.
 */
int model_shmem_read(struct model_shmem *s, unsigned long pos, void *buf, size_t len);
int model_shmem_write(struct model_shmem *s, unsigned long pos, const void *buf, size_t len);
/* model_shmem_truncate - punch pages [start, end). Return: 0 or -EINVAL. */
int model_shmem_truncate(struct model_shmem *s, unsigned long start, unsigned long end);
/* model_shmem_swapped - Return: pages of @s held in swap (a snapshot). */
unsigned long model_shmem_swapped(struct model_shmem *s);
/* model_shmem_file - Return: the mm layer's file behind @s, for callers of mm/mm.h. */
struct shmem_file *model_shmem_file(struct model_shmem *s);

/* ---- hibernation ---- */

/*
 * model_hibernate - write every resident page of every address space to a
 * hibernation image on device @type, read the image back and compare it
 * with memory, then release it (every slot freed).
 * Context: no other thread uses the model (hibernation freezes everything).
 * Return: pages in the image, or -ENOSPC, -ENOMEM, -EIO, -EUCLEAN (the
 * image read back differs, or not every slot was freed).
 */
long model_hibernate(struct model *m, unsigned type);

#endif /* USWAP_MODEL_MODEL_H */
