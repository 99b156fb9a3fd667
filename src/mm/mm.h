/* SPDX-License-Identifier: MIT */
/*
 * mm.h - the swap client ("mm layer"): page faults with swap-in
 * (do_swap_page), reclaim (LRU, unmap, writeout, workingset), fork, zap,
 * madvise, shmem, swapoff (try_to_unuse) and hibernation images, written once
 * for every front end.
 *
 * A front end (the in-memory model, later the uffd front end) provides the
 * address spaces: it embeds a struct mm_struct in its own object and gives
 * the mm layer three operations (struct mm_platform_ops): find and lock the
 * page-table entry of an address, mirror an entry change to the real address
 * space, and free its object once the mm layer is done with it. Page-table
 * entries use the encoding of mm/pte.h; everything else (LRU, reverse map,
 * swap counts) is the mm layer's.
 *
 * Locks: the order is the rank enum in base/lock.h. The page-table lock
 * (PTL) owns the swap counts held by the entries of its table
 * (swap_dup_entry_direct / swap_put_entries_direct are called under it); a
 * shmem file's lock owns the counts held by its slots. A folio's
 * swap-cache membership, and the counts of its slots through the folio
 * helpers, move under the folio lock. The LRU lock is a leaf for the mm layer.
 *
 * Reference counts of a folio the mm layer manages: one per page-table
 * entry mapping one of its pages; one while it is on the LRU or isolated
 * from it (the LRU reference, which also stands for the memory "charge"
 * counted against the budget); one per page while in the swap cache (the
 * swap layer's); one for a shmem file slot holding it; plus short-lived
 * lookup references.
 *
 * Every flow may run concurrently with every other on shared address spaces,
 * except that an address space must not be used after mmput() dropped the
 * front end's reference.
 *
 * Owns: declarations. Locking: as above; per function in its contract.
 */
#ifndef USWAP_MM_MM_H
#define USWAP_MM_MM_H

#include "../swap/swap.h"
#include "pte.h"

struct anon_vma;
struct mm_state;
struct mm_struct;
struct shmem_file;

struct mm_platform_ops {
	/*
	 * pte_offset_lock - the entry of @addr, with the lock of its table
	 * taken and returned in *ptlp. The PTRS_PER_PTE entries of the
	 * PMD-aligned block around @addr are contiguous from the block's
	 * first one and share that lock. Without @alloc, a block that has no
	 * table yet returns NULL (it holds only none entries).
	 * Context: may sleep (takes the PTL). Return: the entry, NULL, or
	 * ERR_PTR(-ENOMEM) when a table cannot be allocated.
	 */
	pte_t *(*pte_offset_lock)(struct mm_struct *mm, unsigned long addr, bool alloc,
				  struct ulock **ptlp);
	/*
	 * sync_pte - (optional) the mm layer is about to change the entry of
	 * @addr from @old to @new: make the real address space follow. The
	 * front end may refuse only to replace a present entry with a swap
	 * entry (a page it cannot unmap, e.g. pinned): reclaim then keeps the
	 * page mapped. Context: the PTL is held. Return: 0 or -EBUSY.
	 */
	int (*sync_pte)(struct mm_struct *mm, unsigned long addr, pte_t old, pte_t new);
	/*
	 * release - the address space is torn down (no entry left, off every
	 * list): free the front end's object. Context: no lock held.
	 */
	void (*release)(struct mm_struct *mm);
	/*
	 * next_table - (optional) a hint for walks over a sparse address
	 * space: the first PMD-aligned block at or after @addr (PMD aligned)
	 * and below @end that may have a table, or @end if none. A table
	 * allocated meanwhile holds only none entries.
	 * Context: any. Return: a PMD-aligned address in [addr, end].
	 */
	unsigned long (*next_table)(struct mm_struct *mm, unsigned long addr, unsigned long end);
};

/* One address space, embedded in the front end's object. */
struct mm_struct {
	const struct mm_platform_ops *ops;
	struct mm_state *ms;	   /* the engine's mm state */
	struct anon_vma *anon_vma; /* the fork family its anon folios belong to */
	struct list_head av_node;  /* on anon_vma->mms, under anon_vma->lock */
	struct list_head mmlist;   /* on ms->mmlist, under ms->mmlist_lock */
	unsigned long start, end;  /* [start, end), PMD aligned; fixed */
	unsigned thp_order;	   /* order of anon fault and swap-in folios; fixed */
	refcount_t mm_users;	   /* the front end's reference and walkers' */
	long nr_anon;		   /* pages mapped (atomic) */
	long nr_swapents;	   /* swap entries in the tables (atomic) */
};

/* ---- the engine's mm state ---- */

/*
 * mm_state_create - set up the mm layer of engine @sw (sw->mm, the refault
 * hook). Context: single-threaded setup. Return: 0 or -ENOMEM / -EEXIST.
 */
int mm_state_create(struct uswap *sw);

/*
 * mm_state_destroy - tear the mm layer down: drop what is left on the LRU
 * (folios only the swap cache still holds are removed from it).
 * Context: no address space or shmem file left; no other thread in the mm
 * layer. Devices stay on.
 */
void mm_state_destroy(struct uswap *sw);

/*
 * mm_set_budget - hold the pages charged to the mm layer (every folio on the
 * LRU or isolated from it) to @pages; 0 means no limit. Faults that would go
 * over reclaim first. Context: any.
 */
void mm_set_budget(struct uswap *sw, unsigned long pages);

/*
 * A front end's look at a batch reclaim is about to take: @folios (linked by
 * folio->lru, isolated from the LRU, not locked) before any is unmapped. It
 * may prepare their unmapping in one go (fork.c: a forked child's pages
 * moved out by one request to the child) and must leave the list as it is.
 */
typedef void (*mm_reclaim_batch_t)(struct list_head *folios, void *arg);

/*
 * mm_set_reclaim_batch - call @fn(folios, @arg) with every batch reclaim
 * isolated, before it unmaps them (NULL: none). Context: any; a batch that
 * already read the old hook may still call it: the caller waits for those
 * before it frees what @arg points to.
 */
void mm_set_reclaim_batch(struct uswap *sw, mm_reclaim_batch_t fn, void *arg);

struct mm_lru_info {
	unsigned long charged;	/* pages charged (LRU + isolated) */
	unsigned long active;	/* pages on the active list */
	unsigned long inactive; /* pages on the inactive list */
	unsigned long budget;	/* 0: none */
};

/* mm_lru_info - a snapshot of the figures above. Context: any. */
void mm_lru_info(struct uswap *sw, struct mm_lru_info *info);

/*
 * try_to_free_pages - reclaim up to @nr pages from the LRU (the budget's
 * reclaim, callable directly). Context: no lock held; may sleep.
 * Return: pages freed.
 */
unsigned long try_to_free_pages(struct uswap *sw, unsigned long nr);

/* ---- address spaces ---- */

/*
 * mm_init - set up @mm for [start, end) (PMD aligned) in a fork family of
 * its own; anon faults and large swap-ins use folios of @thp_order (0: none).
 * Context: no lock held. Return: 0, -EINVAL (range, order), -ENOMEM.
 */
int mm_init(struct mm_struct *mm, struct uswap *sw, const struct mm_platform_ops *ops,
	    unsigned long start, unsigned long end, unsigned thp_order);

/*
 * mm_fork - set up @child as a copy of @parent (same range and order, same
 * fork family) and copy the page tables: swap entries gain a count
 * (swap_dup_entry_direct), present pages are shared copy-on-write (both
 * sides write-protected, neither exclusive).
 * Context: no lock held; @parent in use by its own threads is fine.
 * Return: 0, or -ENOMEM, in which case @child was released (ops->release).
 */
int mm_fork(struct mm_struct *child, struct mm_struct *parent, const struct mm_platform_ops *ops);

/* mmget_not_zero - a walker's reference. Return: false if @mm is exiting. */
static inline bool mmget_not_zero(struct mm_struct *mm)
{
	return refcount_get_unless_zero(&mm->mm_users);
}

/*
 * mmput - drop a reference; the last one zaps every entry (exit), takes
 * @mm off every list and calls ops->release. Context: no lock held.
 */
void mmput(struct mm_struct *mm);

/* ---- faults ---- */

#define FAULT_FLAG_WRITE (1U << 0)

/*
 * handle_mm_fault - resolve a fault at @addr until its entry is present
 * (and writable for FAULT_FLAG_WRITE): zero-fill, copy-on-write, swap-in.
 * Context: no lock held; may sleep; may reclaim to stay in the budget.
 * Return: 0, -EFAULT (outside the address space, or its swap device is
 * gone), -ENOMEM, -EIO (swap-in read failed; nothing is lost, a later fault
 * retries).
 */
int handle_mm_fault(struct mm_struct *mm, unsigned long addr, unsigned flags);

/*
 * mm_adopt_page - put a page that exists in the front end's real address
 * space, but not yet in @mm (memory that was there before @mm covered it),
 * under the mm layer: a new order-0 folio, charged, mapped writable and
 * exclusive at @addr, dirty (no swap copy exists). Its data is the real
 * page's: the folio's own data reads zero until the front end fills it.
 * Context: no lock held; may sleep; may reclaim to stay in the budget.
 * Return: 0, -EEXIST (the entry is not none), -EFAULT (outside), -ENOMEM.
 */
int mm_adopt_page(struct mm_struct *mm, unsigned long addr);

/* ---- zap and madvise ---- */

/*
 * zap_page_range - remove every entry of [start, end) (munmap,
 * MADV_DONTNEED): present pages lose a mapping, swap entries a count
 * (swap_put_entries_direct, batched within a cluster).
 * Context: no lock held. Return: 0 or -EINVAL (range).
 */
int zap_page_range(struct mm_struct *mm, unsigned long start, unsigned long end);

/*
 * move_page_range - the front end moved [@old, @old + @len) of its real
 * address space to [@new, @new + @len) (mremap): move the entries along
 * without mirroring them (sync_pte is not called for them). An entry
 * already at a destination is zapped first; an anon folio mapped by a moved
 * entry takes its new index under its folio lock. Overlapping ranges are
 * fine. Only order-0 folios may be mapped in the source range.
 * Context: no lock held; may sleep. A swap entry is in no table while it
 * moves (swapoff must not run meanwhile).
 * Return: 0, -EINVAL (range), -ENOMEM (a destination table), -EOPNOTSUPP
 * (a large folio: what moved before it stays moved).
 */
int move_page_range(struct mm_struct *mm, unsigned long old, unsigned long new, unsigned long len);

/*
 * madvise_pageout - reclaim now the folios mapped in [start, end), shared
 * ones included, ignoring their references (MADV_PAGEOUT).
 * Context: no lock held; may sleep. Return: pages freed, or -EINVAL.
 */
long madvise_pageout(struct mm_struct *mm, unsigned long start, unsigned long end);

/*
 * ksm_mark_page - make the page at @addr stand in for a KSM page: mapped
 * read-only everywhere and flagged PG_ksm, so a write or a swapoff copies it
 * instead of mapping it. Context: no lock held.
 * Return: 0, -ENOENT (not present), -EINVAL.
 */
int ksm_mark_page(struct mm_struct *mm, unsigned long addr);

/* ---- shmem ---- */

/*
 * shmem_file_create - a shmem file of @nr_pages pages (holes read as zero).
 * Context: no lock held. Return: 0 and *out, or -ENOMEM / -EINVAL.
 */
int shmem_file_create(struct uswap *sw, unsigned long nr_pages, struct shmem_file **out);

/* shmem_file_destroy - truncate and free @f. Context: nobody else uses @f. */
void shmem_file_destroy(struct shmem_file *f);

/*
 * shmem_read / shmem_write - copy @len bytes at byte offset @pos, swapping
 * pages in as needed. Context: no lock held; may sleep.
 * Return: 0, -EINVAL (range), -ENOMEM, -EIO.
 */
int shmem_read(struct shmem_file *f, unsigned long pos, void *buf, size_t len);
int shmem_write(struct shmem_file *f, unsigned long pos, const void *buf, size_t len);

/*
 * shmem_truncate_range - punch pages [start, end): cached folios leave the
 * file, swap entries lose their count. Context: no lock held.
 * Return: 0 or -EINVAL.
 */
int shmem_truncate_range(struct shmem_file *f, pgoff_t start, pgoff_t end);

/* shmem_nr_swapped - Context: any. Return: slots of @f holding a swap entry (a snapshot). */
unsigned long shmem_nr_swapped(struct shmem_file *f);

/* ---- swapoff ---- */

/* Return true to abort swapoff (a pending signal, in the kernel). */
typedef bool (*swapoff_interrupt_t)(void *arg);

/*
 * try_to_unuse - bring every page still on device @type back to memory:
 * every shmem slot and page-table entry holding one of its entries is
 * swapped in and mapped, until the device's inuse_pages is 0.
 * Context: between swapoff_begin() and swapoff_finish(); no lock held.
 * Return: 0, -EINTR (@interrupted said so), -ENOMEM, -EIO (a read
 * failed), -EBUSY (no progress for long: slots held by something that is
 * not an address space or a file, such as a hibernation image).
 */
int try_to_unuse(struct uswap *sw, unsigned type, swapoff_interrupt_t interrupted, void *arg);

/*
 * mm_swapoff - take device @type out of service: swapoff_begin(),
 * try_to_unuse(), swapoff_finish(); on failure the device is put back in
 * service (swapoff_abort()). @interrupted may be NULL.
 * Context: no lock held; may sleep. Return: 0 or as try_to_unuse(), or
 * -EINVAL (no such device).
 */
int mm_swapoff(struct uswap *sw, unsigned type, swapoff_interrupt_t interrupted, void *arg);

/* ---- hibernation images ---- */

struct hib_image {
	struct swsusp_extents extents; /* the slots, as closed extents */
	pgoff_t *offsets;	       /* slot of each page, in image order */
	unsigned long nr;	       /* pages written */
	unsigned long cap;	       /* room in offsets[] */
};

/*
 * hib_image_write - write @nr pages to hibernation slots of device @type,
 * recording them in @img. Context: no lock held; may sleep.
 * Return: 0, -ENOSPC (no slot; what was written stays in @img until
 * hib_image_release()), -ENOMEM, or a device error.
 */
int hib_image_write(struct uswap *sw, unsigned type, void *const *pages, unsigned long nr,
		    struct hib_image *img);

/*
 * hib_image_read - read page @i of the image back into @page.
 * Context: no lock held; may sleep. Return: 0, -EINVAL, or a device error.
 */
int hib_image_read(struct hib_image *img, unsigned long i, void *page);

/*
 * hib_image_release - free every slot of the image, each exactly once.
 * Context: no lock held. Return: slots freed.
 */
unsigned long hib_image_release(struct hib_image *img);

#endif /* USWAP_MM_MM_H */
