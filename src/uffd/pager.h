/* SPDX-License-Identifier: MIT */
/*
 * pager.h - the userfaultfd front end: an mm_struct over this process's real
 * address space, whose entries the pager mirrors into real memory with
 * userfaultfd, a fault thread and a reclaim thread. The public face is
 * uswap_pager_* (include/uswap/uswap.h); the preloaded agent (agent.c) uses
 * the extra hooks below.
 *
 * One mm_struct covers the whole user address space [0, 2^47); its page
 * tables are allocated lazily, one 4 KiB table per 2 MiB block that holds a
 * paged page, found through a three-level radix (512 GiB, 1 GiB, 2 MiB) in
 * the engine's arena. Only the registered ranges ever get entries.
 *
 * Owns: struct uswap_pager. Locking: see pager.c.
 */
#ifndef USWAP_UFFD_PAGER_H
#define USWAP_UFFD_PAGER_H

#include <pthread.h>
#include <uswap/uswap.h>

#include "../mm/mm.h"

struct uswap_pager;

/* Latency buckets (same layout as the run status page). */
#define PAGER_LAT_LINEAR  256
#define PAGER_LAT_BUCKETS (PAGER_LAT_LINEAR + 24)

/* pager_lat_bucket - Return: the bucket of a latency of @us microseconds. */
unsigned pager_lat_bucket(unsigned long us);

/*
 * pager_is_own - Return: whether [start, end) overlaps memory the pager's own
 * threads use (stacks, staging), which must never be registered.
 */
bool pager_is_own(struct uswap_pager *p, unsigned long start, unsigned long end);

/*
 * pager_is_registered - Return: whether [start, end) is wholly inside ranges
 * the pager registered (and still pages).
 */
bool pager_is_registered(struct uswap_pager *p, unsigned long start, unsigned long end);

/*
 * pager_next_gap - the first piece of [start, end) that no registered range
 * covers, as [*gap_start, *gap_end). Context: a paging thread or one of
 * the agent's (takes p->regions_lock, a leaf, for a walk of the list).
 * Return: whether there is one.
 */
bool pager_next_gap(struct uswap_pager *p, unsigned long start, unsigned long end,
		    unsigned long *gap_start, unsigned long *gap_end);

/*
 * pager_forget - drop the registration of [start, end), which the program
 * replaced with memory that is not private anonymous before the kernel
 * registration reached it: the kernel registration, the region list's
 * entry and the mm layer's entries go; no page is brought back (the
 * memory there is not the pager's), and none leaves meanwhile. Context: a
 * paging thread or one of the agent's, never the fault thread.
 * Return: 0 or a negative errno (UFFDIO_UNREGISTER's).
 */
int pager_forget(struct uswap_pager *p, unsigned long start, unsigned long end);

/*
 * pager_read_seq - a count of the fault thread's reads of userfaultfd
 * messages (and of pager_forget() calls): odd while a batch is being read
 * and its events applied. A range registered while it was even, and found
 * with the same even count later, is still registered: a registered VMA
 * goes away only with an UNMAP or REMAP message, read before the munmap()
 * or mremap() returns. Context: any. Return: the count.
 */
unsigned long pager_read_seq(struct uswap_pager *p);

/*
 * pager_register - uswap_pager_register(), or for fresh memory without
 * pages yet (!@adopt: the kernel registration only; no page is looked for,
 * nothing is reclaimed, no lock is taken, the region list learns of it at
 * the agent's next scan: fit for a thread of the program, whose own stack
 * may be paged and which must never hold a lock the fault thread needs).
 * Return: as uswap_pager_register().
 */
int pager_register(struct uswap_pager *p, unsigned long start, unsigned long len, bool adopt);

/*
 * pager_set_tick - call @fn(@arg) from the reclaim thread about every
 * @period_ms milliseconds and whenever pager_kick() asks (the agent rescans
 * the process's mappings and publishes its status there). @fn runs with no
 * engine lock held and may touch paged memory.
 */
void pager_set_tick(struct uswap_pager *p, void (*fn)(void *arg), void *arg, unsigned period_ms);

/*
 * pager_set_unmapped - call @fn(@arg, start, end) from the fault thread once
 * it applied the unmapping of a registered range [start, end) (munmap, or
 * the source of an mremap; also what a MAP_FIXED mapping replaced, which
 * the program may see mapped before the fault thread heard of it). @fn must
 * be quick and must not touch paged memory nor wait for a fault.
 */
void pager_set_unmapped(struct uswap_pager *p,
			void (*fn)(void *arg, unsigned long start, unsigned long end), void *arg);

/* pager_kick - wake the reclaim thread (and run the tick soon). Context: any. */
void pager_kick(struct uswap_pager *p);

/* pager_engine - Return: the engine, for its counters. */
struct uswap *pager_engine(struct uswap_pager *p);

/* The mm layer's tables over [0, 2^47): a radix in the engine's arena. */
#define PAGER_NR_L1 256 /* 512 GiB per top-level slot */
struct pt_mid;
struct pager_pt {
	struct pt_mid *l1[PAGER_NR_L1]; /* published once (cmpxchg) */
};

/*
 * pager_pt_lock - the entry of @addr in @pt, its table's lock taken (the
 * mm_platform_ops.pte_offset_lock contract); tables come from @a.
 */
pte_t *pager_pt_lock(struct pager_pt *pt, struct arena *a, unsigned long addr, bool alloc,
		     struct ulock **ptlp);
/* pager_pt_next - the mm_platform_ops.next_table hint over @pt. */
unsigned long pager_pt_next(struct pager_pt *pt, unsigned long addr, unsigned long end);
/* pager_pt_free - free every table of @pt. Context: no entry left, nobody walks it. */
void pager_pt_free(struct pager_pt *pt, struct arena *a);

/*
 * pager_install_in - make the real page at @addr of the process @uffd belongs
 * to what the entry of @mm says, after handle_mm_fault() resolved a fault
 * there (UFFDIO_COPY, write-protected for a read-only entry; for a @wp_fault,
 * write protection off). Context: no lock held.
 * Return: 0, -ENOENT (resolve again), -EAGAIN (the address space is
 * changing: retry after reading its events), or another negative errno.
 */
int pager_install_in(struct mm_struct *mm, int uffd, unsigned long addr, bool wp_fault, bool write);

/*
 * pager_uffd_new - a new userfaultfd of this process, with @flags (O_CLOEXEC,
 * O_NONBLOCK): the system call, or /dev/userfaultfd where the system call is
 * refused. No UFFDIO_API yet. Context: any. Return: the descriptor or -1 (errno).
 */
int pager_uffd_new(int flags);

/*
 * pager_start_thread - start @fn(@arg) on @stack (@size bytes) with every
 * signal blocked: the program's signals are for the program's threads.
 * Context: any. Return: 0 or a negative errno (pthread_create()'s).
 */
int pager_start_thread(pthread_t *t, void *stack, size_t size, void *(*fn)(void *), void *arg);

/* pager_uffd - Return: the userfaultfd of the program's memory (fork.c registers on it). */
int pager_uffd(struct uswap_pager *p);

/*
 * pager_frozen - Return: whether nothing may leave real memory now (a fork
 * without EVENT_FORK, an unregister or close brings pages back). Context: any.
 */
bool pager_frozen(struct uswap_pager *p);

/*
 * pager_unshare_page - make the real page at @addr the process's own again
 * if the kernel still shares it copy-on-write after a fork, so that it can
 * be moved out (UFFDIO_MOVE refuses such a page: EBUSY). The page is read
 * through process_vm_readv(), which pins it, and the kernel unshares a page
 * it does not count as the process's own before a pin may hold it: it
 * copies the page for this process if another process maps it too, or
 * marks it this process's own if none does. No data is written, the mm
 * layer sees nothing (it is not a write: no write-protect fault either),
 * and the other process's page is left as it was. Probed on Linux 6.18:
 * after it UFFDIO_MOVE takes the page, on either side of a fork.
 * Only for a page in real memory (pagemap): a missing page would fault in.
 * Context: no lock held; not the fault thread (a fault it takes waits for
 * that thread). Return: 0, -ENOENT (not in real memory), -EBUSY (nothing
 * may leave now) or another negative errno.
 */
int pager_unshare_page(struct uswap_pager *p, unsigned long addr);

/* pager_probe_addr - Return: a page the pager's own uffds never register (the staging area). */
unsigned long pager_probe_addr(struct uswap_pager *p);

/*
 * pager_quiesce - @stop: freeze the reclaim thread's work (reclaim, aging)
 * and wait until its current round is over; !@stop: resume. Nests.
 * Context: not a paging thread.
 */
void pager_quiesce(struct uswap_pager *p, bool stop);

/* pager_budget_pages - Return: the budget the pager was opened with, in pages. */
unsigned long pager_budget_pages(struct uswap_pager *p);

/*
 * pager_root_mm - Return: the pager's address space (this process's; tests
 * lock its tables to stage races).
 */
struct mm_struct *pager_root_mm(struct uswap_pager *p);

/* pager_fork_state - Return: the pager's fork state (fork.c), or NULL. */
struct pager_forks *pager_fork_state(struct uswap_pager *p);

/*
 * pager_set_retry_cap - keep at most @cap (<= 1024) faults deferred on a
 * changing address space; the others are handed back to the kernel (tests
 * lower it to reach that path). Context: any.
 * Return: faults handed back so far.
 */
unsigned long pager_set_retry_cap(struct uswap_pager *p, unsigned cap);

/* pager_compr_bytes - Return: device memory holding swapped pages (zram), or 0. */
size_t pager_compr_bytes(struct uswap_pager *p);

/*
 * pager_inject_read_error / pager_inject_write_error - make the @nth next
 * device read / write fail (zram only; for tests). Return: 0 or -EOPNOTSUPP.
 */
int pager_inject_read_error(struct uswap_pager *p, unsigned long nth);
int pager_inject_write_error(struct uswap_pager *p, unsigned long nth);

#endif /* USWAP_UFFD_PAGER_H */
