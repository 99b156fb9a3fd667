// SPDX-License-Identifier: MIT
/*
 * pager.c - the userfaultfd front end (see pager.h): the mm layer's page
 * tables for this process's real memory, mirrored into it with userfaultfd.
 *
 * How an entry of the mm layer maps to the real page at the same address:
 *
 *   none, swap          real page missing: an access is a MISSING userfault
 *   present, writable   real page present, writable
 *   present, read-only  real page present, write-protected (uffd-wp): a
 *                       write is a WP userfault (a clean page whose swap
 *                       slot is still valid, as do_swap_page maps it)
 *
 * A present folio's own data (folio->data) is only a staging copy: it holds
 * the page between a device read and its installation, and between its
 * eviction and the device write; once the page is installed the reclaim
 * thread gives the copy back (PG_owner_priv marks it): the folio takes a
 * hole left by an eviction and its page is kept as a spare for the next
 * eviction (pager_data_reuse(); a few, sized from the budget, which does
 * not charge them), or, with no hole, MADV_REMOVE. While
 * mapped the real page is the truth.
 *
 * Faults: the fault thread reads userfault messages in batches (polling a
 * little while they come often and a CPU is free), runs handle_mm_fault() for each and then
 * installs the entry's state: UFFDIO_COPY of folio->data (write-protected
 * for a read-only entry) for a MISSING fault, UFFDIO_WRITEPROTECT off for a
 * WP fault; sequential swap-ins bring the next pages too, mapped with one
 * UFFDIO_COPY of the run from a private buffer. It also applies
 * the program's memory events: REMOVE (MADV_DONTNEED / MADV_FREE) and UNMAP
 * zap the range, REMAP moves its entries (move_page_range). The fault thread
 * never blocks on an event of its own: it never madvises registered memory.
 *
 * Eviction (sync_pte, present -> swap, under the PTL): a probe through the
 * program's userfaultfd (pager_may_move), then UFFDIO_MOVE of the
 * real page out to a staging page registered on a second userfaultfd that
 * reports no events, a copy into folio->data, and MADV_DONTNEED of the
 * staging pages a block at a time. MOVE unmaps atomically against the
 * program's writes, so no write is lost. MOVE only moves exclusive pages
 * (not after a fork shared them): the entry then stays present (-EBUSY) and
 * reclaim moves on; the kernel keeps such a page not exclusive after the
 * child is gone, until a write. Such a page is made the process's own
 * again without a write (a read that pins it, pager_unshare_page()): by
 * the reclaim thread after its round for every evicting thread
 * (pager_unshare(); never by the fault thread, whose pin would wait for
 * itself where the page went meanwhile), and before the unmap by
 * reclaim batches of folios a forked child maps too (fork.c). A clean
 * (write-protected) page keeps its valid slot and is dropped without a
 * second write. Nothing leaves while a fork, an
 * unregister or close brings pages back (p->frozen).
 *
 * Reclaim: the mm layer's (LRU, workingset shadows, lazy freeing), driven by
 * the reclaim thread in batches between a high and a low watermark under
 * the budget; a fault that would go over the budget reclaims itself
 * (mm_throttle). Aging: there is no accessed bit, so the reclaim thread
 * takes a sample of resident pages out of real memory (pager_age) and
 * installing one back marks its entry young.
 *
 * Owns: struct uswap_pager, its tables, threads, staging area, fault-around
 * buffer (the fault thread's alone), region list and spare data pages.
 * Locking: each 2 MiB table has a PTL (LOCK_RANK_PTL); radix nodes are
 * published once with a compare-and-swap and never freed while the pager
 * lives; p->regions_lock (a leaf, LOCK_RANK_ARENA) guards the region list,
 * p->spare_lock (a leaf, taken under a PTL) the spare pages and holes, and
 * a folio's data pointer changes only under its entry's PTL with the folio
 * mapped by that entry alone; requests to the fault
 * thread go through p->req_lock (LOCK_RANK_MODEL).
 */
#include "pager.h"
#include "fork.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../dev/file.h"
#include "../dev/zram.h"
#include "../base/race.h"
#include "../mm/internal.h"
#include "uffd_compat.h"

#define PAGER_VA_BITS 47
#define PAGER_VA_END  (1UL << PAGER_VA_BITS)
#define L1_SHIFT      39 /* 512 GiB per top-level slot */
#define L2_SHIFT      30 /* 1 GiB per middle slot */
#define NR_L1	      PAGER_NR_L1
#define STAGE_BATCH   32 /* staging pages a thread fills before one MADV_DONTNEED */
#define NR_BLOCKS     64 /* threads with a staging block of their own */
#define NR_SHARED     64 /* single staging pages for the other threads */
#define NR_STAGE      (NR_BLOCKS * STAGE_BATCH + NR_SHARED)
#define THREAD_STACK  (4UL << 20) /* virtual: sanitizers need room for their TLS */
#define STACKS_LEN    (2 * THREAD_STACK + RA_MAX * PAGE_SIZE) /* + the fault-around buffer */
#define MAX_REGIONS   65536
#define MSG_BATCH     64
#define MAX_RETRY     1024
#define POLL_SPIN_NS  50000 /* keep polling this long after a fault */
#define RELEASE_RING  4096
#define UNSHARE_SLOTS 256 /* pages refused by the kernel, to make ours again */
#define RECLAIM_BATCH 256UL
#define RA_MAX	      32  /* pages brought in after a sequential swap-in fault */
#define NR_SPARE      512 /* data pages kept for reuse (pager_data_reuse) */

struct pt_leaf {		     /* 1 GiB: 512 tables of 2 MiB */
	pte_t *tables[PTRS_PER_PTE]; /* published once (cmpxchg) */
	struct ulock ptls[PTRS_PER_PTE];
};

struct pt_mid {
	struct pt_leaf *leaves[512];
};

struct region {
	unsigned long start, end;
};

enum pager_req_kind {
	REQ_NONE,
	REQ_SWAPIN, /* bring [start, end) in (all of it: 0, ULONG_MAX) */
};

/* The folio installed at addr, whose data may go (NULL: whichever the entry maps). */
struct release_req {
	unsigned long addr;
	struct folio *folio;
};

struct pending_fault {
	unsigned long addr;
	unsigned flags; /* UFFD_PAGEFAULT_FLAG_* */
	unsigned tid;
	struct timespec t0;
};

struct uswap_pager {
	struct mm_struct mm;
	struct uswap *sw;
	unsigned dev_type;
	struct swap_dev *dev;
	size_t budget_bytes;
	unsigned long high, low; /* reclaim watermarks, pages */

	int uffd;     /* the program's memory */
	int stage_fd; /* the staging area: MOVE target, no events */
	int wake_fd;  /* eventfd: wakes the fault thread */
	int pagemap_fd;
	int loadavg_fd; /* /proc/loadavg: threads runnable now (pager_may_spin) */
	unsigned nr_cpus;
	bool spin_ok;		      /* fault thread only */
	struct timespec spin_checked; /* fault thread only */
	char *stage;
	unsigned long stage_next; /* atomic: next shared staging page */
	unsigned next_block;	  /* atomic: next staging block to hand out */
	unsigned long id;	  /* tells this pager from earlier ones at the same address */

	struct pager_pt pt; /* the mm layer's tables */

	struct ulock regions_lock;
	struct region *regions; /* sorted, disjoint */
	unsigned long nr_regions;

	pthread_t fault_thread, reclaim_thread;
	void *stacks; /* both threads' stacks, then the fault-around buffer */
	bool stopping;
	unsigned frozen;
	uint32_t reclaim_kick; /* futex word */

	/* A request to the fault thread. */
	struct ulock req_lock;
	enum pager_req_kind req;
	unsigned long req_start, req_end;
	uint32_t req_done; /* futex word */
	int req_result;

	void (*tick)(void *arg);
	void *tick_arg;
	unsigned tick_ms;
	void (*unmapped)(void *arg, unsigned long start, unsigned long end);
	void *unmapped_arg;

	struct pending_fault retry[MAX_RETRY];
	unsigned nr_retry, retry_cap;	  /* cap: MAX_RETRY (tests lower it) */
	unsigned long ra_next, ra_window; /* fault-around (fault thread only) */
	unsigned long age_cursor;	  /* aging sweep (reclaim thread only) */
	struct timespec last_age;

	/* Installed pages whose folio data can go (fault thread -> reclaim thread). */
	struct release_req release[RELEASE_RING];
	unsigned long release_head, release_tail; /* atomic */

	/* Figures (atomic). */
	unsigned long faults, swapin_faults, ra_pages, evict_busy, warnings, peak, data_released;
	unsigned long retry_overflow; /* deferred faults handed back to the kernel */
	unsigned long read_seq;	      /* odd while a batch is read and its events applied */
	unsigned long unmap_gen;      /* unmappings applied (UNMAP, REMAP, pager_forget) */
	unsigned long sampled;	      /* pages taken out for aging */
	bool warned_full;
	bool reclaiming;   /* between the watermarks, going down (reclaim thread) */
	long full_at_free; /* free slots when the device was found full, or -1 */
	unsigned long lat[PAGER_LAT_BUCKETS];

	/*
	 * Data pages traded between installed and evicted folios, under
	 * spare_lock (a leaf): spare[] are resident arena pages no folio
	 * uses, holes[] addresses whose page was given back, which folios
	 * with PG_owner_priv take instead of their resident page.
	 */
	struct ulock spare_lock;
	char *spare[NR_SPARE], *holes[NR_SPARE];
	unsigned nr_spare, nr_holes;
	unsigned spare_max;	   /* at most this many of each (pager_spare_max()), set at open */
	unsigned long data_reused; /* folios given a spare page at eviction (atomic) */

	struct pager_forks *forks;   /* fork.c: the children served, or NULL */
	unsigned long reclaim_loops; /* rounds of the reclaim thread (atomic) */

	/*
	 * Pages whose move out the kernel refused (EBUSY): after a fork its
	 * page is no longer marked the process's own, and stays so after the
	 * child is gone until a write breaks the sharing; until then reclaim
	 * would scan it for nothing, round after round. Hints (slots written
	 * by any evicting thread, atomic) for the reclaim thread, which breaks
	 * the sharing (pager_unshare()).
	 */
	unsigned long unshare[UNSHARE_SLOTS];
	unsigned long unshare_next, unshared; /* atomic */
};

/*
 * Set in a forked child, which must leave every pager alone: the pager and
 * its engine live in the parent's shared arena. Process-private on purpose.
 */
static bool in_fork_child;

static struct uswap_pager *to_pager(struct mm_struct *mm)
{
	return container_of(mm, struct uswap_pager, mm);
}

/* ---- time and latency ---- */

static uint64_t ns_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)(t.tv_sec - t0->tv_sec) * 1000000000ULL + (uint64_t)t.tv_nsec -
	       (uint64_t)t0->tv_nsec;
}

unsigned pager_lat_bucket(unsigned long us)
{
	unsigned b = PAGER_LAT_LINEAR;

	if (us < PAGER_LAT_LINEAR)
		return (unsigned)us;
	for (unsigned long v = us / PAGER_LAT_LINEAR; v > 1 && b < PAGER_LAT_BUCKETS - 1; v >>= 1)
		b++;
	return b;
}

/* ---- the page tables ---- */

static struct pt_leaf *pt_leaf(struct pager_pt *pt, struct arena *a, unsigned long addr, bool alloc)
{
	struct pt_mid **midp = &pt->l1[addr >> L1_SHIFT], *mid = atomic_load_acquire(midp);
	struct pt_leaf **leafp, *leaf, *expected;

	if (!mid) {
		struct pt_mid *m2 = NULL;

		if (!alloc)
			return NULL;
		mid = arena_zalloc(a, sizeof(*mid));
		if (!mid)
			return ERR_PTR(-ENOMEM);
		if (!atomic_cmpxchg_acq_rel(midp, &m2, mid)) {
			arena_free(a, mid, sizeof(*mid));
			mid = m2;
		}
	}
	leafp = &mid->leaves[(addr >> L2_SHIFT) & 511];
	leaf = atomic_load_acquire(leafp);
	if (!leaf) {
		if (!alloc)
			return NULL;
		leaf = arena_zalloc(a, sizeof(*leaf));
		if (!leaf)
			return ERR_PTR(-ENOMEM);
		for (unsigned i = 0; i < PTRS_PER_PTE; i++)
			ulock_init(&leaf->ptls[i], LOCK_RANK_PTL);
		expected = NULL;
		if (!atomic_cmpxchg_acq_rel(leafp, &expected, leaf)) {
			arena_free(a, leaf, sizeof(*leaf));
			leaf = expected;
		}
	}
	return leaf;
}

pte_t *pager_pt_lock(struct pager_pt *pt, struct arena *a, unsigned long addr, bool alloc,
		     struct ulock **ptlp)
{
	struct pt_leaf *leaf = pt_leaf(pt, a, addr, alloc);
	unsigned t = (addr >> PMD_SHIFT) & (PTRS_PER_PTE - 1);
	pte_t *table, *expected = NULL;

	if (IS_ERR_OR_NULL(leaf))
		return (pte_t *)leaf;
	table = atomic_load_acquire(&leaf->tables[t]);
	if (!table) {
		if (!alloc)
			return NULL;
		table = arena_zalloc(a, PAGE_SIZE);
		if (!table)
			return ERR_PTR(-ENOMEM);
		if (!atomic_cmpxchg_acq_rel(&leaf->tables[t], &expected, table)) {
			arena_free(a, table, PAGE_SIZE);
			table = expected;
		}
	}
	ulock_lock(&leaf->ptls[t]);
	*ptlp = &leaf->ptls[t];
	return &table[(addr >> PAGE_SHIFT) & (PTRS_PER_PTE - 1)];
}

static pte_t *pager_pte_offset_lock(struct mm_struct *mm, unsigned long addr, bool alloc,
				    struct ulock **ptlp)
{
	struct uswap_pager *p = to_pager(mm);

	return pager_pt_lock(&p->pt, p->sw->arena, addr, alloc, ptlp);
}

unsigned long pager_pt_next(struct pager_pt *pt, unsigned long addr, unsigned long end)
{
	while (addr < end) {
		struct pt_mid *mid = atomic_load_acquire(&pt->l1[addr >> L1_SHIFT]);
		struct pt_leaf *leaf;

		if (!mid) {
			addr = ALIGN_DOWN(addr, 1UL << L1_SHIFT) + (1UL << L1_SHIFT);
			continue;
		}
		leaf = atomic_load_acquire(&mid->leaves[(addr >> L2_SHIFT) & 511]);
		if (!leaf) {
			addr = ALIGN_DOWN(addr, 1UL << L2_SHIFT) + (1UL << L2_SHIFT);
			continue;
		}
		if (atomic_load_acquire(&leaf->tables[(addr >> PMD_SHIFT) & (PTRS_PER_PTE - 1)]))
			return addr;
		addr += PMD_SIZE;
	}
	return end;
}

static unsigned long pager_next_table(struct mm_struct *mm, unsigned long addr, unsigned long end)
{
	return pager_pt_next(&to_pager(mm)->pt, addr, end);
}

void pager_pt_free(struct pager_pt *pt, struct arena *a)
{
	for (unsigned i = 0; i < NR_L1; i++) {
		struct pt_mid *mid = pt->l1[i];

		if (!mid)
			continue;
		for (unsigned j = 0; j < 512; j++) {
			struct pt_leaf *leaf = mid->leaves[j];

			if (!leaf)
				continue;
			for (unsigned t = 0; t < PTRS_PER_PTE; t++)
				arena_free(a, leaf->tables[t], PAGE_SIZE);
			arena_free(a, leaf, sizeof(*leaf));
		}
		arena_free(a, mid, sizeof(*mid));
		pt->l1[i] = NULL;
	}
}

/* ---- mirroring entries into real memory ---- */

static int uffd_writeprotect(int fd, unsigned long addr, unsigned long len, bool wp)
{
	struct uffdio_writeprotect w = {
		.range = {.start = addr, .len = len},
		.mode = wp ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(fd, UFFDIO_WRITEPROTECT, &w) ? -errno : 0;
}

/* A thread's staging block: pages moved out, emptied STAGE_BATCH at a time. */
static __thread struct {
	unsigned long pager_id;
	unsigned block; /* NR_BLOCKS: none (use the shared pages) */
	unsigned used;
} stage_tls;

static unsigned long pager_ids;

/* Return: where this thread moves its next page out to (*batched: in its block). */
static char *stage_page(struct uswap_pager *p, bool *batched)
{
	if (stage_tls.pager_id != p->id) {
		stage_tls.pager_id = p->id;
		stage_tls.block = atomic_fetch_add_relaxed(&p->next_block, 1U);
		stage_tls.used = 0;
	}
	*batched = stage_tls.block < NR_BLOCKS;
	if (*batched)
		return p->stage + (stage_tls.block * STAGE_BATCH + stage_tls.used) * PAGE_SIZE;
	return p->stage + (NR_BLOCKS * STAGE_BATCH +
			   atomic_fetch_add_relaxed(&p->stage_next, 1UL) % NR_SHARED) *
				  PAGE_SIZE;
}

/* The page moved to @stage was copied: empty it (now, or with its block). */
static void stage_done(struct uswap_pager *p, char *stage, bool batched)
{
	if (!batched) {
		madvise(stage, PAGE_SIZE, MADV_DONTNEED);
	} else if (++stage_tls.used == STAGE_BATCH) {
		madvise(p->stage + stage_tls.block * STAGE_BATCH * PAGE_SIZE,
			STAGE_BATCH * PAGE_SIZE, MADV_DONTNEED);
		stage_tls.used = 0;
	}
}

/*
 * Whether the real page at @addr may be moved out: the mapping there is
 * still the registered one and no unmap, mremap or madvise of the program
 * is between the kernel and the pager. MOVE goes through the staging
 * area's userfaultfd, which checks neither: from the kernel's munmap until
 * the pager has applied the UNMAP event, the mm layer still has entries
 * for the old range, and the program (another thread meanwhile, or itself
 * once the event was read) may already have mapped and written new,
 * unregistered memory there; moving "the entry's" page out would take that
 * page instead. Write-protecting the page through the program's
 * userfaultfd checks both: EAGAIN while an event is unread, ENOENT where
 * the mapping is not registered for write-protection. A write meanwhile
 * faults and waits for the page, which is then moved out; a page that
 * stays is unprotected again by pager_move_out_failed() (*@wp says so).
 *
 * Where the real page is known to be installed (@folio's data was given
 * back: pager_drain_table() does that only with the real page present,
 * under the PTL, and eviction and aging clear the mark when they take it
 * out) the probe is UFFDIO_ZEROPAGE instead: the same two checks, and on a
 * present page an EEXIST that changes nothing, where write protection
 * changes the entry and flushes every thread's TLB (an IPI to the other
 * CPU, about as dear as the MOVE itself). Should the page be gone all the
 * same (the program dropped it and its REMOVE event is not applied yet),
 * ZEROPAGE maps the zero page, which is what the program reads there
 * anyway, and nothing is moved.
 * Context: the PTL of @addr held.
 */
static bool pager_may_move(struct uswap_pager *p, unsigned long addr, struct folio *folio, bool *wp)
{
	if (folio_test_owner_priv(folio)) {
		struct uffdio_zeropage z = {
			.range = {.start = addr, .len = PAGE_SIZE},
			.mode = UFFDIO_ZEROPAGE_MODE_DONTWAKE,
		};

		*wp = false;
		return ioctl(p->uffd, UFFDIO_ZEROPAGE, &z) && errno == EEXIST;
	}
	*wp = true;
	return !uffd_writeprotect(p->uffd, addr, PAGE_SIZE, true);
}

/*
 * Read a byte of the page at @addr through process_vm_readv(), which pins
 * it: see pager_unshare_page(). Return: 0 or -errno.
 */
static int pager_pin_page(struct uswap_pager *p, unsigned long addr)
{
	struct iovec local, remote = {(void *)addr, 1};
	char c;

	local = (struct iovec){&c, 1};
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != 1)
		return -errno;
	atomic_fetch_add_relaxed(&p->unshared, 1UL);
	return 0;
}

static void pager_data_reuse(struct uswap_pager *p, struct folio *folio);

/* The MOVE after pager_may_move() failed: a writable entry's page is writable again. */
static void pager_move_out_failed(struct uswap_pager *p, unsigned long addr, pte_t pte, bool wp)
{
	if (wp && pte_write(pte))
		uffd_writeprotect(p->uffd, addr, PAGE_SIZE, false);
}

/*
 * Take the real page at @addr out (atomically) and, if it may be dirty, keep
 * its data. The staging page is emptied at once (shared pages) or with the
 * rest of the thread's block when the block is full.
 */
static int pager_evict(struct uswap_pager *p, unsigned long addr, pte_t old)
{
	bool batched, wp;
	char *stage = stage_page(p, &batched);
	struct uffdio_move mv = {
		.dst = (unsigned long)stage,
		.src = addr,
		.len = PAGE_SIZE,
		.mode = UFFDIO_MOVE_MODE_DONTWAKE,
	};

	/*
	 * Nothing leaves while a fork, an unregister or close brings pages
	 * back (checked under the PTL their walk takes too).
	 */
	if (in_fork_child || atomic_load_acquire(&p->frozen))
		return -EBUSY;
	if (!pager_may_move(p, addr, pte_folio(old), &wp)) {
		atomic_fetch_add_relaxed(&p->evict_busy, 1UL);
		return -EBUSY;
	}
	if (ioctl(p->stage_fd, UFFDIO_MOVE, &mv)) {
		/*
		 * No real page: taken out for aging, or not installed yet; the
		 * folio's data is the page (or it reads zero: the program
		 * dropped it and its REMOVE event is on the way).
		 */
		if (errno == ENOENT && !folio_test_owner_priv(pte_folio(old))) {
			if (pte_write(old))
				folio_mark_dirty(pte_folio(old));
			return 0;
		}
		/*
		 * Shared after a fork (with a child that maps it or not), or
		 * pinned: left to the reclaim thread (pager_unshare(), no lock
		 * held), it leaves at the next round. Not pinned here, not even
		 * by the fault thread: the page may be gone by the pin (moved
		 * by MREMAP_DONTUNMAP, which the kernel reports only after the
		 * move, or dropped by a MADV_DONTNEED whose event was read
		 * already), and the pin's fault would then wait for the fault
		 * thread.
		 */
		if (errno == EBUSY)
			atomic_store_relaxed(
				&p->unshare[atomic_fetch_add_relaxed(&p->unshare_next, 1UL) %
					    UNSHARE_SLOTS],
				addr);
		pager_move_out_failed(p, addr, old, wp);
		atomic_fetch_add_relaxed(&p->evict_busy, 1UL);
		return -EBUSY;
	}
	/* The folio's data was released while mapped: the real page is the copy. */
	if (folio_test_owner_priv(pte_folio(old)))
		pager_data_reuse(p, pte_folio(old));
	memcpy(page_address(pte_page(old, addr)), stage, PAGE_SIZE);
	folio_clear_owner_priv(pte_folio(old));
	/* Dirty but read-only: shared after a fork, the slot lacks the data. */
	if (pte_write(old) || pte_dirty(old))
		folio_mark_dirty(pte_folio(old));
	stage_done(p, stage, batched);
	return 0;
}

static int pager_sync_pte(struct mm_struct *mm, unsigned long addr, pte_t old, pte_t new)
{
	struct uswap_pager *p = to_pager(mm);

	if (pte_present(old) && is_swap_pte(new))
		return pager_evict(p, addr, old);
	/*
	 * Write access taken away from a mapped page (fork): protect it, so the
	 * next write is a copy-on-write fault the mm layer sees. One attempt:
	 * during a fork the address space is "changing" (EAGAIN) until the
	 * forking thread runs again, and the fault thread, which calls this
	 * for mm_fork(), must not wait for a later fork whose event only it can
	 * read. A page left writable is harmless: its writes stay the
	 * process's own (the kernel copies it on write), eviction copies the
	 * real page, and a forked child's eviction checks the data of a folio
	 * others share before it lets a page go (fork.c).
	 */
	if (pte_present(old) && pte_present(new) && pte_write(old) && !pte_write(new) &&
	    !in_fork_child)
		uffd_writeprotect(p->uffd, addr, PAGE_SIZE, true);
	/*
	 * Entries becoming present are installed by the fault path once the
	 * fault is resolved (pager_install); entries going away were removed
	 * from real memory by the program itself (zap on its events) or are
	 * torn down at exit.
	 */
	return 0;
}

static void pager_release(struct mm_struct *mm)
{
	struct uswap_pager *p = to_pager(mm);

	pager_pt_free(&p->pt, p->sw->arena);
}

static const struct mm_platform_ops pager_mm_ops = {
	.pte_offset_lock = pager_pte_offset_lock,
	.sync_pte = pager_sync_pte,
	.release = pager_release,
	.next_table = pager_next_table,
};

/*
 * The real page at @addr holds the data now: give the folio's own copy back
 * to the system (its arena page is shared memory, which would double the
 * footprint). PG_owner_priv marks a folio whose data was released; eviction
 * copies the page back into it. Context: the PTL of @addr held, the entry
 * maps @folio and the real page is installed.
 */
static bool folio_may_release(struct uswap_pager *p, struct folio *folio)
{
	bool cached;

	if (folio_test_owner_priv(folio) || folio_test_large(folio))
		return false;
	/*
	 * Shared with a forked child (fork.c), whose real page may still be
	 * missing and installed later from this copy, or cached for a swap
	 * entry another address space of the tree still holds, whose swap-in
	 * will map or copy it: keep it.
	 *
	 * The entry first, then the mappings: a child's swap-in maps the
	 * folio, then drops its entry (under the cluster lock, or it takes
	 * the folio out of the swap cache, a release of the flag), so a count
	 * of 0 read here, under that lock or with acquire, comes with its
	 * mapping seen. Read the other way round, a swap-in between the two
	 * reads was seen in neither, and its install copied a hole (test_fork
	 * release_check_does_not_race_a_child_swapin).
	 */
	cached = folio_test_swapcache(folio) && swp_swapcount(p->sw, folio_swap_entry(folio)) > 0;
	race_point("folio_may_release:counts");
	return !cached && folio_mapcount(folio) <= 1;
}

/* Queue @folio at @addr for release by the reclaim thread. Context: the fault thread. */
static void pager_queue_release(struct uswap_pager *p, unsigned long addr, struct folio *folio)
{
	unsigned long head = atomic_load_relaxed(&p->release_head);

	if (head - atomic_load_acquire(&p->release_tail) >= RELEASE_RING)
		return; /* full: the copy stays until the page is evicted */
	p->release[head % RELEASE_RING] = (struct release_req){addr, folio};
	atomic_store_release(&p->release_head, head + 1);
}

/* A folio whose data a drain gives back (sorted by data address). */
struct release_item {
	char *data;
	struct folio *folio;
};

static void release_items_sift(struct release_item *it, unsigned root, unsigned end)
{
	while (2 * root + 1 < end) {
		unsigned child = 2 * root + 1;
		struct release_item tmp;

		if (child + 1 < end && it[child].data < it[child + 1].data)
			child++;
		if (it[root].data >= it[child].data)
			return;
		tmp = it[root];
		it[root] = it[child];
		it[child] = tmp;
		root = child;
	}
}

/*
 * Sort @it by data address: a heapsort, in place. Not qsort(): glibc's may
 * allocate, and memory from malloc may be paged, which a paging thread
 * holding a page-table lock must never touch (the fault thread that would
 * bring it back may be waiting for that lock: seen as a hang of
 * redis-server under `uswap run`).
 */
static void release_items_sort(struct release_item *it, unsigned nr)
{
	for (unsigned i = nr / 2; i-- > 0;)
		release_items_sift(it, i, nr);
	for (unsigned end = nr; end > 1;) {
		struct release_item tmp = it[0];

		end--;
		it[0] = it[end];
		it[end] = tmp;
		release_items_sift(it, 0, end);
	}
}

/*
 * Reusing data pages. Giving a folio's data page back (MADV_REMOVE) unmaps
 * it from every thread's TLB: an IPI to the other CPU, where the program
 * or the fault thread runs, and on a loaded virtual machine a wait for that
 * CPU to be scheduled; the eviction of the folio later copies the page
 * back into the data, which faults a fresh page in and zeroes it. Both are
 * avoided by trading pages: an installed folio's resident data page goes
 * to the spare pages and the folio takes a hole (an address whose page was
 * given back, so the footprint is the same as after a MADV_REMOVE); an
 * evicted folio whose data is a hole takes a spare page and leaves the
 * hole. Installs and evictions follow each other under a budget, so the
 * few spare pages go round. Holes come from evictions, with a fresh
 * arena page where no spare one is left; with none, a folio's data goes
 * back with MADV_REMOVE as before. Only for a folio the one entry maps
 * (as folio_may_release()), whose data no other process of the tree reads.
 *
 * The spare pages are resident and no folio's, so the budget does not
 * charge them: there are at most pager_spare_max() of them, 1/64 of the
 * budget (up to NR_SPARE, about as many as one round of reclaim evicts, from
 * a 128 MiB budget on) and none under 8 MiB, where one reclaim batch's
 * worth would be a visible part of the budget. With NR_SPARE at every
 * budget, a 4 MiB budget let the process hold up to 2 MiB more.
 */

/*
 * pager_spare_max - spare pages (and holes) kept under a budget of
 * @budget_pages. Context: any. Return: 0 to NR_SPARE.
 */
static unsigned pager_spare_max(unsigned long budget_pages)
{
	unsigned long n = budget_pages / 64;

	/* Fewer than one reclaim batch (SWAP_CLUSTER_MAX) would hardly be traded. */
	return n < SWAP_CLUSTER_MAX ? 0 : (unsigned)min(n, (unsigned long)NR_SPARE);
}

/*
 * Give @folio a hole for its data and keep its page as a spare.
 * Context: the PTL of the entry mapping @folio held, the real page
 * installed. Return: whether it did (otherwise the page goes back).
 */
static bool pager_data_to_spare(struct uswap_pager *p, struct folio *folio)
{
	bool done = false;

	ulock_lock(&p->spare_lock);
	if (p->nr_holes && p->nr_spare < p->spare_max) {
		p->spare[p->nr_spare++] = folio->data;
		folio->data = p->holes[--p->nr_holes];
		done = true;
	}
	ulock_unlock(&p->spare_lock);
	return done;
}

/*
 * Before the page is copied into @folio's data, which was given back
 * (PG_owner_priv): give it a resident page, a spare one or a fresh one
 * from the arena, and keep its hole for an install. Without one, the copy
 * faults a page in, as it would anyway.
 * Context: the PTL of the entry mapping @folio held.
 */
static void pager_data_reuse(struct uswap_pager *p, struct folio *folio)
{
	char *page = NULL;

	/*
	 * Not the swap count: the unmap that evicts counted the new swap
	 * entry already. Data given back was never shared (folio_may_release())
	 * and nobody reads it until this copy fills it.
	 */
	if (folio_test_large(folio) || folio_mapcount(folio) > 1)
		return;
	ulock_lock(&p->spare_lock);
	if (p->nr_holes < p->spare_max && p->nr_spare) {
		p->holes[p->nr_holes++] = folio->data;
		folio->data = p->spare[--p->nr_spare];
		ulock_unlock(&p->spare_lock);
		atomic_fetch_add_relaxed(&p->data_reused, 1UL);
		return;
	}
	if (p->nr_holes >= p->spare_max) {
		ulock_unlock(&p->spare_lock);
		return;
	}
	ulock_unlock(&p->spare_lock);
	page = arena_alloc(p->sw->arena, PAGE_SIZE);
	if (!page)
		return;
	ulock_lock(&p->spare_lock);
	if (p->nr_holes < p->spare_max) {
		p->holes[p->nr_holes++] = folio->data;
		folio->data = page;
		page = NULL;
	}
	ulock_unlock(&p->spare_lock);
	arena_free(p->sw->arena, page, PAGE_SIZE);
}

/* Give the spare pages and holes back to the arena. Context: the pager's threads stopped. */
static void pager_spare_free(struct uswap_pager *p)
{
	while (p->nr_spare)
		arena_free(p->sw->arena, p->spare[--p->nr_spare], PAGE_SIZE);
	while (p->nr_holes)
		arena_free(p->sw->arena, p->holes[--p->nr_holes], PAGE_SIZE);
}

/*
 * Give back the data of @nr folios at once: traded for holes while there
 * are some (pager_data_to_spare()), then sorted by address, adjacent
 * pages go back in one MADV_REMOVE (each call unmaps its range from every
 * thread's TLB: one shootdown per run instead of one per page).
 * Context: the PTL of every folio's entry held.
 */
static void release_items(struct uswap_pager *p, struct release_item *it, unsigned nr)
{
	unsigned i = 0, kept = 0;

	for (unsigned k = 0; k < nr; k++) {
		/* The same folio queued twice is traded once. */
		if (!folio_test_owner_priv(it[k].folio) && pager_data_to_spare(p, it[k].folio)) {
			folio_set_owner_priv(it[k].folio);
			atomic_fetch_add_relaxed(&p->data_released, 1UL);
		} else if (!folio_test_owner_priv(it[k].folio)) {
			it[kept++] = it[k];
		}
	}
	nr = kept;
	release_items_sort(it, nr);
	while (i < nr) {
		unsigned j = i + 1;

		/* Exactly adjacent (or the same folio queued twice): one range. */
		while (j < nr &&
		       (it[j].data == it[j - 1].data + PAGE_SIZE || it[j].data == it[j - 1].data))
			j++;
		if (!madvise(it[i].data, (size_t)(it[j - 1].data - it[i].data) + PAGE_SIZE,
			     MADV_REMOVE)) {
			for (unsigned k = i; k < j; k++) {
				if (k > i && it[k].data == it[k - 1].data)
					continue;
				folio_set_owner_priv(it[k].folio);
				atomic_fetch_add_relaxed(&p->data_released, 1UL);
			}
		}
		i = j;
	}
}

/*
 * Give back the data of the folios installed at the @nr addresses of @req,
 * all in one 2 MiB table, under its PTL: one lock, one pagemap read and
 * few MADV_REMOVE calls for a run of pages. A folio may have been evicted,
 * freed and reused at the same address since it was queued: the real page
 * being present (under the PTL, which install and eviction hold) says the
 * folio mapped now was installed. Context: no lock held; @nr <= PTRS_PER_PTE.
 */
static void release_in_table(struct uswap_pager *p, const struct release_req *req, unsigned nr)
{
	struct release_item items[PTRS_PER_PTE];
	uint64_t pm[PTRS_PER_PTE];
	unsigned long block = req[0].addr & PMD_MASK, lo = req[0].addr, hi = lo, n;
	unsigned nr_items = 0;
	struct ulock *ptl;
	pte_t *ptep;
	ssize_t got;

	for (unsigned i = 1; i < nr; i++) {
		lo = min(lo, req[i].addr);
		hi = max(hi, req[i].addr);
	}
	ptep = pager_pte_offset_lock(&p->mm, block, false, &ptl);
	if (!ptep)
		return;
	n = ((hi - lo) >> PAGE_SHIFT) + 1;
	got = pread(p->pagemap_fd, pm, n * 8, (off_t)((lo >> PAGE_SHIFT) * 8));
	for (unsigned i = 0; got == (ssize_t)(n * 8) && i < nr; i++) {
		pte_t pte = ptep_get(ptep + ((req[i].addr - block) >> PAGE_SHIFT));
		struct folio *folio = pte_present(pte) ? pte_folio(pte) : NULL;

		if (folio && (!req[i].folio || folio == req[i].folio) &&
		    !folio_test_owner_priv(folio) && (pm[(req[i].addr - lo) >> PAGE_SHIFT] >> 63) &&
		    folio_may_release(p, folio))
			items[nr_items++] = (struct release_item){folio->data, folio};
	}
	if (nr_items)
		release_items(p, items, nr_items);
	ulock_unlock(ptl);
}

/*
 * Release what the fault thread queued from @tail on, the entries of one
 * 2 MiB table at a time (release_in_table). Return: the entries done (at
 * least one).
 */
static unsigned long pager_drain_table(struct uswap_pager *p, unsigned long tail,
				       unsigned long head)
{
	struct release_req req[PTRS_PER_PTE];
	unsigned long block = p->release[tail % RELEASE_RING].addr & PMD_MASK, end = tail;
	unsigned nr = 0;

	for (; end != head && nr < PTRS_PER_PTE &&
	       (p->release[end % RELEASE_RING].addr & PMD_MASK) == block;
	     end++)
		req[nr++] = p->release[end % RELEASE_RING];
	release_in_table(p, req, nr);
	return end - tail;
}

/* Context: the reclaim thread. */
static void pager_drain_release(struct uswap_pager *p)
{
	unsigned long tail = atomic_load_relaxed(&p->release_tail);
	unsigned long head = atomic_load_acquire(&p->release_head);

	while (tail != head) {
		tail += pager_drain_table(p, tail, head);
		atomic_store_release(&p->release_tail, tail);
	}
}

/*
 * Make the real page at @addr what its entry says, after handle_mm_fault()
 * resolved a fault there. Return: 0, -ENOENT (the entry is no longer what
 * the fault needs: resolve again), -EAGAIN (the address space is changing:
 * retry after reading events), -EFAULT (no registered mapping at @addr any
 * more: the program unmapped or moved it, and the event was applied), or
 * another negative errno.
 */
int pager_install_in(struct mm_struct *mm, int uffd, unsigned long addr, bool wp_fault, bool write)
{
	struct ulock *ptl;
	pte_t *ptep, pte;
	int err = 0;

	ptep = mm->ops->pte_offset_lock(mm, addr, false, &ptl);
	if (!ptep)
		return -ENOENT;
	pte = ptep_get(ptep);
	if (!pte_present(pte) || (write && !pte_write(pte))) {
		ulock_unlock(ptl);
		return -ENOENT;
	}
	race_point("install:before_copy");
	if (wp_fault) {
		err = uffd_writeprotect(uffd, addr, PAGE_SIZE, false);
	} else {
		struct uffdio_copy cp = {
			.dst = addr,
			.src = (unsigned long)page_address(pte_page(pte, addr)),
			.len = PAGE_SIZE,
			.mode = pte_write(pte) ? 0 : UFFDIO_COPY_MODE_WP,
		};

		if (ioctl(uffd, UFFDIO_COPY, &cp))
			err = -errno;
		else if (mm->ops == &pager_mm_ops) /* not a forked child's (fork.c) */
			pager_queue_release(to_pager(mm), addr, pte_folio(pte));
		/* The "hardware" accessed bit: the page was just used (see pager_age). */
		if (!err || err == -EEXIST)
			__set_pte(ptep, pte_set_flags(pte, _PAGE_ACCESSED));
		if (err == -EEXIST) {
			/* Installed by an earlier message for the same page. */
			if (pte_write(pte))
				err = uffd_writeprotect(uffd, addr, PAGE_SIZE, false);
			else {
				struct uffdio_range r = {.start = addr, .len = PAGE_SIZE};

				err = ioctl(uffd, UFFDIO_WAKE, &r) ? -errno : 0;
			}
		}
	}
	ulock_unlock(ptl);
	/* The process is exiting: nobody waits for the page any more. */
	if (err == -ESRCH || err == -ENOSPC)
		err = 0;
	/* The kernel's ENOENT: nothing registered there (not "resolve again"). */
	if (err == -ENOENT)
		err = -EFAULT;
	return err;
}

/*
 * The fault at @addr has no mapping left to install into: drop the entry
 * the fault made (it maps nothing real) and wake the faulting thread, whose
 * access then fails as it would without the pager (SIGSEGV, EFAULT).
 */
static void pager_fault_gone(struct uswap_pager *p, unsigned long addr)
{
	struct uffdio_range r = {.start = addr, .len = PAGE_SIZE};

	zap_page_range(&p->mm, addr, addr + PAGE_SIZE);
	ioctl(p->uffd, UFFDIO_WAKE, &r);
}

static int pager_install(struct uswap_pager *p, unsigned long addr, bool wp_fault, bool write)
{
	return pager_install_in(&p->mm, p->uffd, addr, wp_fault, write);
}

static void pager_sigbus(struct uswap_pager *p, const struct pending_fault *f, int err)
{
	char msg[160];
	/* No strerror(): under a locale it may allocate, from memory we page. */
	int n = snprintf(msg, sizeof(msg),
			 "uswap: cannot bring back the page at %#lx (%s, errno %d): SIGBUS to "
			 "thread %u\n",
			 f->addr, err == -EIO ? "device read error" : "error", -err, f->tid);

	if (n > 0 && write(STDERR_FILENO, msg, (size_t)min(n, (int)sizeof(msg) - 1)) < 0)
		n = 0;
	atomic_fetch_add_relaxed(&p->warnings, 1UL);
	if (syscall(SYS_tgkill, getpid(), f->tid, SIGBUS))
		kill(getpid(), SIGBUS);
}

/*
 * Return: whether the entry at @addr is a swap entry now (a hint; no walk
 * while the tables hold none, as before the first eviction).
 */
static bool pte_is_swapped(struct uswap_pager *p, unsigned long addr)
{
	struct ulock *ptl;
	pte_t *ptep;
	bool swapped;

	if (!atomic_load_relaxed(&p->mm.nr_swapents))
		return false;
	ptep = pager_pte_offset_lock(&p->mm, addr, false, &ptl);
	if (!ptep)
		return false;
	swapped = is_swap_pte(ptep_get(ptep));
	ulock_unlock(ptl);
	return swapped;
}

/*
 * Return: how many of the @nr entries from @start, all in one 2 MiB table,
 * are swap entries before the first that is not (a hint: one look under
 * the PTL).
 */
static unsigned long swapped_run(struct uswap_pager *p, unsigned long start, unsigned long nr)
{
	struct ulock *ptl;
	pte_t *ptep;
	unsigned long n = 0;

	if (!nr)
		return 0;
	ptep = pager_pte_offset_lock(&p->mm, start, false, &ptl);
	if (!ptep)
		return 0;
	while (n < nr && is_swap_pte(ptep_get(ptep + n)))
		n++;
	ulock_unlock(ptl);
	return n;
}

static void update_peak(struct uswap_pager *p)
{
	long charged = atomic_load_relaxed(&sw_mm(p->sw)->nr_charged);
	unsigned long peak = atomic_load_relaxed(&p->peak);

	while (charged > 0 && (unsigned long)charged > peak &&
	       !atomic_cmpxchg_relaxed(&p->peak, &peak, (unsigned long)charged))
		;
	if (charged > 0 && (unsigned long)charged > p->high &&
	    !atomic_load_relaxed(&p->reclaim_kick)) {
		atomic_store_release(&p->reclaim_kick, 1U);
		futex_wake_all_u32(&p->reclaim_kick);
	}
}

/*
 * Install the run of @nr pages from @start, all in one 2 MiB table and
 * made present by handle_mm_fault(), with as few UFFDIO_COPY calls as
 * their protections allow: the data of each folio goes into the fault
 * thread's buffer (contiguous, private memory, as COPY wants it), under the
 * PTL that eviction takes too, and one COPY maps the whole run. A page
 * whose entry is no longer present (evicted meanwhile) ends the run.
 * Context: the fault thread. Return: pages installed from @start (a page
 * after them that was not installed is still present in the mm layer: an
 * access faults and pager_install() maps it).
 */
static unsigned long pager_install_run(struct uswap_pager *p, unsigned long start, unsigned long nr)
{
	char *buf = (char *)p->stacks + 2 * THREAD_STACK;
	unsigned long done = 0;
	struct ulock *ptl;
	pte_t *ptep;

	ptep = pager_pte_offset_lock(&p->mm, start, false, &ptl);
	if (IS_ERR_OR_NULL(ptep))
		return 0;
	while (done < nr) {
		pte_t first = ptep_get(ptep + done);
		struct uffdio_copy cp = {.dst = start + done * PAGE_SIZE,
					 .src = (unsigned long)buf};
		unsigned long n = 0, copied;

		for (; done + n < nr && n < RA_MAX; n++) {
			pte_t pte = ptep_get(ptep + done + n);
			unsigned long a = start + (done + n) * PAGE_SIZE;

			/* One COPY mode per call: a run of the same protection. */
			if (!pte_present(pte) || pte_write(pte) != pte_write(first))
				break;
			memcpy(buf + n * PAGE_SIZE, page_address(pte_page(pte, a)), PAGE_SIZE);
		}
		if (!n)
			break;
		cp.len = n * PAGE_SIZE;
		cp.mode = pte_write(first) ? 0 : UFFDIO_COPY_MODE_WP;
		/* A partial copy says how far it got; the rest waits for its own fault. */
		copied = ioctl(p->uffd, UFFDIO_COPY, &cp)
				 ? (cp.copy > 0 ? (unsigned long)cp.copy : 0)
				 : n * PAGE_SIZE;
		copied >>= PAGE_SHIFT;
		for (unsigned long i = done; i < done + copied; i++) {
			unsigned long a = start + i * PAGE_SIZE;
			pte_t pte = ptep_get(ptep + i);

			pager_queue_release(p, a, pte_folio(pte));
			/* The "hardware" accessed bit, as pager_install_in() sets it. */
			__set_pte(ptep + i, pte_set_flags(pte, _PAGE_ACCESSED));
		}
		done += copied;
		if (copied < n)
			break;
	}
	ulock_unlock(ptl);
	return done;
}

/*
 * Sequential swap-in: when swap-in faults follow each other page by page,
 * bring the next pages in too (a window doubling up to RA_MAX pages, within
 * the faulting page's 2 MiB table), after the faulting thread was woken,
 * and map them with one UFFDIO_COPY (pager_install_run), so that the
 * program's next accesses find them mapped instead of paying a fault round
 * trip each. Stops at the first page that is not swapped out.
 * Context: the fault thread.
 */
static void pager_fault_around(struct uswap_pager *p, unsigned long addr)
{
	unsigned long start = addr + PAGE_SIZE, n, limit;

	if (addr == p->ra_next || addr == p->ra_next - PAGE_SIZE)
		p->ra_window = clamp(p->ra_window * 2, 2UL, (unsigned long)RA_MAX);
	else
		p->ra_window = 0;
	limit = min(p->ra_window, (ALIGN_DOWN(addr, PMD_SIZE) + PMD_SIZE - start) >> PAGE_SHIFT);
	limit = swapped_run(p, start, limit);
	for (n = 0; n < limit; n++) {
		/*
		 * Only into room the budget has: reclaiming for a page read
		 * ahead can evict the run's own pages before they are mapped
		 * (the kernel's swap readahead never reclaims either).
		 */
		if (!mm_budget_allows(sw_mm(p->sw), 1) ||
		    handle_mm_fault(&p->mm, start + n * PAGE_SIZE, 0))
			break;
	}
	if (n)
		n = pager_install_run(p, start, n);
	atomic_fetch_add_relaxed(&p->ra_pages, n);
	p->ra_next = start + n * PAGE_SIZE;
}

/* Resolve one fault. Return: 0 (done) or -EAGAIN (retry after events). */
static int pager_fault(struct uswap_pager *p, struct pending_fault *f)
{
	bool wp = f->flags & UFFD_PAGEFAULT_FLAG_WP;
	bool write = wp || (f->flags & UFFD_PAGEFAULT_FLAG_WRITE);
	bool swapin = pte_is_swapped(p, f->addr);
	int err, tries = 0;

	for (;;) {
		err = handle_mm_fault(&p->mm, f->addr, write ? FAULT_FLAG_WRITE : 0);
		if (err == -ENOMEM && ++tries < 100) {
			try_to_free_pages(p->sw, SWAP_CLUSTER_MAX);
			continue;
		}
		if (err) {
			pager_sigbus(p, f, err);
			return 0;
		}
		err = pager_install(p, f->addr, wp, write);
		if (err != -ENOENT)
			break;
	}
	if (err == -EAGAIN)
		return err;
	if (err == -EFAULT) {
		pager_fault_gone(p, f->addr);
		return 0;
	}
	if (err) {
		pager_sigbus(p, f, err);
		return 0;
	}
	atomic_fetch_add_relaxed(&p->faults, 1UL);
	if (swapin) {
		atomic_fetch_add_relaxed(&p->swapin_faults, 1UL);
		atomic_fetch_add_relaxed(&p->lat[pager_lat_bucket(ns_since(&f->t0) / 1000)], 1UL);
		pager_fault_around(p, f->addr);
	}
	update_peak(p);
	return 0;
}

/* ---- regions ---- */

static void regions_add(struct uswap_pager *p, unsigned long start, unsigned long end)
{
	unsigned long i, j;

	ulock_lock(&p->regions_lock);
	/* Merge with every region it touches. */
	for (i = 0; i < p->nr_regions && p->regions[i].end < start; i++)
		;
	for (j = i; j < p->nr_regions && p->regions[j].start <= end; j++) {
		start = min(start, p->regions[j].start);
		end = max(end, p->regions[j].end);
	}
	if (j == i && p->nr_regions == MAX_REGIONS) {
		ulock_unlock(&p->regions_lock);
		return;
	}
	memmove(&p->regions[i + 1], &p->regions[j], (p->nr_regions - j) * sizeof(struct region));
	p->regions[i] = (struct region){start, end};
	p->nr_regions = p->nr_regions - (j - i) + 1;
	ulock_unlock(&p->regions_lock);
}

static void regions_remove(struct uswap_pager *p, unsigned long start, unsigned long end)
{
	ulock_lock(&p->regions_lock);
	for (unsigned long i = 0; i < p->nr_regions; i++) {
		struct region *r = &p->regions[i];

		if (r->end <= start || r->start >= end)
			continue;
		if (r->start < start && r->end > end) {
			if (p->nr_regions == MAX_REGIONS)
				break;
			memmove(r + 1, r, (p->nr_regions - i) * sizeof(*r));
			r->end = start;
			r[1].start = end;
			p->nr_regions++;
			break;
		}
		if (r->start < start) {
			r->end = start;
		} else if (r->end > end) {
			r->start = end;
		} else {
			memmove(r, r + 1, (p->nr_regions - i - 1) * sizeof(*r));
			p->nr_regions--;
			i--;
		}
	}
	ulock_unlock(&p->regions_lock);
}

bool pager_is_registered(struct uswap_pager *p, unsigned long start, unsigned long end)
{
	bool in = false;

	ulock_lock(&p->regions_lock);
	for (unsigned long i = 0; i < p->nr_regions && !in; i++)
		in = p->regions[i].start <= start && end <= p->regions[i].end;
	ulock_unlock(&p->regions_lock);
	return in;
}

bool pager_next_gap(struct uswap_pager *p, unsigned long start, unsigned long end,
		    unsigned long *gap_start, unsigned long *gap_end)
{
	ulock_lock(&p->regions_lock);
	/* Regions are sorted and disjoint: skip those before, step over covering ones. */
	for (unsigned long i = 0; i < p->nr_regions && start < end; i++) {
		if (p->regions[i].end <= start)
			continue;
		if (p->regions[i].start > start)
			break;
		start = p->regions[i].end;
	}
	if (start < end) {
		unsigned long i;

		*gap_start = start;
		*gap_end = end;
		for (i = 0; i < p->nr_regions && p->regions[i].start <= start; i++)
			;
		if (i < p->nr_regions && p->regions[i].start < end)
			*gap_end = p->regions[i].start;
	}
	ulock_unlock(&p->regions_lock);
	return start < end;
}

bool pager_is_own(struct uswap_pager *p, unsigned long start, unsigned long end)
{
	unsigned long s = (unsigned long)p->stage, st = (unsigned long)p->stacks;

	return (start < s + NR_STAGE * PAGE_SIZE && end > s) ||
	       (start < st + STACKS_LEN && end > st) || pager_fork_is_own(p, start, end);
}

/* ---- events ---- */

static void clip(unsigned long *start, unsigned long *end)
{
	*start = ALIGN_DOWN(*start, PAGE_SIZE);
	*end = min(ALIGN_UP(*end, PAGE_SIZE), PAGER_VA_END);
}

static void pager_unmapped(struct uswap_pager *p, unsigned long start, unsigned long end)
{
	void (*fn)(void *, unsigned long, unsigned long) = atomic_load_acquire(&p->unmapped);

	if (fn && start < end)
		fn(p->unmapped_arg, start, end);
}

static void pager_event(struct uswap_pager *p, const struct uffd_msg *m)
{
	unsigned long start, end;

	switch (m->event) {
	case UFFD_EVENT_REMOVE:
	case UFFD_EVENT_UNMAP:
		start = m->arg.remove.start;
		end = m->arg.remove.end;
		clip(&start, &end);
		if (start < end)
			zap_page_range(&p->mm, start, end);
		if (m->event == UFFD_EVENT_UNMAP) {
			regions_remove(p, start, end);
			atomic_fetch_add_acq_rel(&p->unmap_gen, 1UL);
			pager_unmapped(p, start, end);
		}
		break;
	case UFFD_EVENT_REMAP: {
		unsigned long from = m->arg.remap.from, to = m->arg.remap.to,
			      len = m->arg.remap.len;

		if (from + len > PAGER_VA_END || to + len > PAGER_VA_END)
			break;
		move_page_range(&p->mm, from, to, len);
		regions_remove(p, from, from + len);
		regions_add(p, to, to + len);
		atomic_fetch_add_acq_rel(&p->unmap_gen, 1UL);
		pager_unmapped(p, from, from + len);
		break;
	}
	case UFFD_EVENT_FORK:
		/* The child's userfaultfd: fork.c serves it from now on. */
		pager_fork_event(p, &p->mm, (int)m->arg.fork.ufd);
		break;
	default:
		break;
	}
}

/* ---- bringing pages back ---- */

/* Swap in every swapped page of [start, end). Return: 0 or -EAGAIN / -errno. */
static int pager_swapin_range(struct uswap_pager *p, unsigned long start, unsigned long end)
{
	int ret = 0;

	start = ALIGN_DOWN(start, PAGE_SIZE);
	end = min(ALIGN_UP(end, PAGE_SIZE), PAGER_VA_END);
	/* Nothing out (a fork in a process that never went over budget). */
	if (!atomic_load_relaxed(&p->mm.nr_swapents) && !atomic_load_relaxed(&p->sampled))
		return 0;
	while (start < end) {
		unsigned long block = pager_next_table(&p->mm, ALIGN_DOWN(start, PMD_SIZE),
						       ALIGN_UP(end, PMD_SIZE));
		unsigned long stop, todo[PTRS_PER_PTE];
		unsigned nr = 0;
		struct ulock *ptl;
		pte_t *ptep;

		if (block >= end)
			break;
		start = max(start, block);
		stop = min(block + PMD_SIZE, end);
		/*
		 * Swapped pages, and present ones whose real page may be
		 * missing (sampled for aging, or not installed yet): their
		 * data is still the folio's.
		 */
		ptep = pager_pte_offset_lock(&p->mm, start, false, &ptl);
		if (ptep) {
			for (unsigned long a = start; a < stop; a += PAGE_SIZE, ptep++) {
				pte_t pte = ptep_get(ptep);

				if (is_swap_pte(pte) ||
				    (pte_present(pte) && !folio_test_owner_priv(pte_folio(pte))))
					todo[nr++] = a;
			}
			ulock_unlock(ptl);
		}
		for (unsigned i = 0; i < nr; i++) {
			int err = handle_mm_fault(&p->mm, todo[i], 0);

			if (!err)
				err = pager_install(p, todo[i], false, false);
			/* Changed meanwhile, or unmapped (its UNMAP event zaps it). */
			if (err == -ENOENT || err == -EEXIST || err == -EFAULT)
				err = 0;
			if (err && !ret)
				ret = err;
		}
		start = stop;
	}
	return ret;
}

/* ---- aging ---- */

/*
 * Linux gives user space no accessed bit, so the pager makes one: a sample
 * of the resident pages is taken out of real memory (MOVE to staging, data
 * kept in the folio, entry left present and made old). The next access
 * faults, and installing the page back marks the entry young, as an MMU
 * would. Reclaim's second chance (folio_referenced) then tells the pages in
 * use from the idle ones. The sample sweeps the tables round robin, about
 * budget/64 pages every 100 ms (the whole resident set in ~6 s).
 * Context: the reclaim thread.
 */
static void pager_age(struct uswap_pager *p)
{
	unsigned long want = max(p->high / 64, 64UL), done = 0, addr = p->age_cursor;
	unsigned long blocks = 0, tried = 0;

	if (atomic_load_acquire(&p->frozen) || in_fork_child)
		return;
	while (done < want && blocks++ < 4096) {
		unsigned long block =
			pager_next_table(&p->mm, ALIGN_DOWN(addr, PMD_SIZE), PAGER_VA_END);
		struct ulock *ptl;
		pte_t *ptep;

		if (block >= PAGER_VA_END) {
			addr = 0; /* wrap around */
			if (blocks > 1 && !done)
				break;
			continue;
		}
		addr = max(addr, block);
		ptep = pager_pte_offset_lock(&p->mm, addr, false, &ptl);
		if (!ptep) {
			addr = block + PMD_SIZE;
			continue;
		}
		for (; addr < block + PMD_SIZE && done < want; addr += PAGE_SIZE, ptep++) {
			pte_t pte = ptep_get(ptep);
			struct folio *folio;
			bool batched, wp;
			char *stage;
			struct uffdio_move mv = {
				.src = addr, .len = PAGE_SIZE, .mode = UFFDIO_MOVE_MODE_DONTWAKE};

			if (!pte_present(pte))
				continue;
			/* A fork or unregister walks the tables: leave them be. */
			if (atomic_load_acquire(&p->frozen)) {
				want = done;
				break;
			}
			folio = pte_folio(pte);
			/* Installed and alone in real memory: the ones worth sampling. */
			if (!folio_test_owner_priv(folio) || folio_test_large(folio))
				continue;
			/*
			 * At most 8 * want such pages tried or skipped a round:
			 * right after a fork every resident page is shared with
			 * the child, and going through all of them each round (a
			 * cache miss on each folio, and before the test below two
			 * system calls the kernel refused) kept the reclaim thread
			 * from reclaiming. The cursor stays: the next round goes
			 * on from here.
			 */
			if (++tried > 8 * want) {
				want = done;
				break;
			}
			/*
			 * Mapped by a forked child too: the kernel shares the page
			 * copy-on-write with it and refuses to move it (EBUSY).
			 */
			if (folio_mapcount(folio) > 1)
				continue;
			if (!pager_may_move(p, addr, folio, &wp))
				continue;
			stage = stage_page(p, &batched);
			mv.dst = (unsigned long)stage;
			if (ioctl(p->stage_fd, UFFDIO_MOVE, &mv)) {
				pager_move_out_failed(p, addr, pte, wp);
				continue;
			}
			pager_data_reuse(p, folio);
			memcpy(folio->data, stage, PAGE_SIZE);
			folio_clear_owner_priv(folio);
			__set_pte(ptep, pte_mkold(pte));
			stage_done(p, stage, batched);
			done++;
		}
		ulock_unlock(ptl);
	}
	p->age_cursor = addr >= PAGER_VA_END ? 0 : addr;
	if (done)
		atomic_fetch_add_relaxed(&p->sampled, done);
}

/* ---- the fault thread ---- */

static void pager_serve_request(struct uswap_pager *p)
{
	int err;

	/*
	 * Deferred faults first: their entries may be present while their
	 * pages are not installed yet, which a fork would not carry over.
	 */
	if (atomic_load_acquire(&p->req) != REQ_SWAPIN || p->nr_retry)
		return;
	err = pager_swapin_range(p, p->req_start, p->req_end);
	if (err == -EAGAIN)
		return; /* again after the next batch of events */
	p->req_result = err;
	atomic_store_relaxed(&p->req, REQ_NONE);
	atomic_store_release(&p->req_done, 1U);
	futex_wake_all_u32(&p->req_done);
}

/*
 * Keep a fault that met a changing address space (-EAGAIN) for a retry once
 * events were read. When the list is full the fault is handed back to the
 * kernel instead: waking the thread makes it retry its access, which faults
 * again and queues a new message. Dropping it would leave the thread
 * blocked for good. Context: the fault thread.
 */
static void pager_defer(struct uswap_pager *p, const struct pending_fault *f)
{
	struct uffdio_range r = {.start = f->addr, .len = PAGE_SIZE};

	if (p->nr_retry < atomic_load_relaxed(&p->retry_cap)) {
		p->retry[p->nr_retry++] = *f;
		return;
	}
	atomic_fetch_add_relaxed(&p->retry_overflow, 1UL);
	ioctl(p->uffd, UFFDIO_WAKE, &r);
}

/* Retry the first @nr deferred faults (deferring again what still meets -EAGAIN). */
static void pager_retry(struct uswap_pager *p, unsigned nr)
{
	p->nr_retry = 0;
	for (unsigned i = 0; i < nr; i++) {
		struct pending_fault f = p->retry[i];

		if (pager_fault(p, &f) == -EAGAIN)
			pager_defer(p, &f);
	}
}

static void pager_read_batch(struct uswap_pager *p)
{
	struct uffd_msg msgs[MSG_BATCH];
	struct timespec now;
	ssize_t n;
	unsigned nr, i, nr_old = p->nr_retry;

	/*
	 * An munmap() returns once its UNMAP message is read, before it is
	 * applied: pager_read_seq() readers see the batch under way.
	 */
	atomic_fetch_add_seq_cst(&p->read_seq, 1UL);
	n = read(p->uffd, msgs, sizeof(msgs));
	nr = n > 0 ? (unsigned)(n / (ssize_t)sizeof(msgs[0])) : 0;
	/* Events first: a fault may need the table they change. */
	for (i = 0; i < nr; i++)
		if (msgs[i].event != UFFD_EVENT_PAGEFAULT)
			pager_event(p, &msgs[i]);
	atomic_fetch_add_seq_cst(&p->read_seq, 1UL);
	if (!nr)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* Faults deferred on -EAGAIN are retried once events were read. */
	pager_retry(p, nr_old);
	for (i = 0; i < nr; i++) {
		struct pending_fault f;

		if (msgs[i].event != UFFD_EVENT_PAGEFAULT)
			continue;
		f.addr = msgs[i].arg.pagefault.address & PAGE_MASK;
		f.flags = (unsigned)msgs[i].arg.pagefault.flags;
		f.tid = msgs[i].arg.pagefault.feat.ptid;
		f.t0 = now;
		pager_fork_note_fault(p, &p->mm, f.addr);
		if (pager_fault(p, &f) == -EAGAIN)
			pager_defer(p, &f);
	}
}

/* CPUs this process may run on (at least 1). */
static unsigned pager_nr_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) || CPU_COUNT(&set) < 1)
		return 1;
	return (unsigned)CPU_COUNT(&set);
}

/*
 * Whether the fault thread may poll for the next fault (POLL_SPIN_NS)
 * instead of sleeping in poll(): only while a CPU is free for it. Polling
 * saves the wake-up (a few microseconds) when the faulting thread and the
 * fault thread each have a CPU; when the program, the reclaim thread or
 * other processes want every CPU, the polling takes the CPU the faulting
 * thread needs to go on, and every TLB shootdown of eviction interrupts
 * the polling CPU too. The threads runnable now (/proc/loadavg's fourth
 * field, this one included) are read at most every 10 ms.
 * Context: the fault thread.
 */
static bool pager_may_spin(struct uswap_pager *p)
{
	char buf[128], *slash;
	ssize_t n;

	if (ns_since(&p->spin_checked) < 10000000ULL)
		return p->spin_ok;
	clock_gettime(CLOCK_MONOTONIC, &p->spin_checked);
	n = p->loadavg_fd >= 0 ? pread(p->loadavg_fd, buf, sizeof(buf) - 1, 0) : -1;
	if (n <= 0) {
		p->spin_ok = true; /* no figure: poll as before */
		return true;
	}
	buf[n] = '\0';
	slash = strchr(buf, '/');
	if (!slash) {
		p->spin_ok = true;
		return true;
	}
	while (slash > buf && slash[-1] != ' ')
		slash--;
	p->spin_ok = strtoul(slash, NULL, 10) <= p->nr_cpus;
	return p->spin_ok;
}

static void *pager_fault_main(void *arg)
{
	struct uswap_pager *p = arg;
	struct pollfd fds[2] = {{.fd = p->uffd, .events = POLLIN},
				{.fd = p->wake_fd, .events = POLLIN}};
	struct timespec last;

	pager_fork_set_serving();
	clock_gettime(CLOCK_MONOTONIC, &last);
	while (!atomic_load_acquire(&p->stopping)) {
		bool busy = (ns_since(&last) < POLL_SPIN_NS && pager_may_spin(p)) || p->nr_retry;
		int r = poll(fds, 2, busy ? 0 : (p->nr_retry ? 1 : 100));

		if (r < 0 && errno != EINTR)
			break;
		if (fds[1].revents & POLLIN) {
			uint64_t v;

			if (read(p->wake_fd, &v, sizeof(v)) < 0)
				v = 0;
		}
		if (r > 0 && (fds[0].revents & POLLIN)) {
			pager_read_batch(p);
			clock_gettime(CLOCK_MONOTONIC, &last);
		} else if (p->nr_retry) {
			pager_read_batch(p);
			/* Still changing: read nothing new; retry the deferred ones. */
			if (p->nr_retry)
				pager_retry(p, p->nr_retry);
		}
		pager_serve_request(p);
	}
	return NULL;
}

/* Ask the fault thread to swap [start, end) in and wait. Context: not the fault thread. */
static int pager_request_swapin(struct uswap_pager *p, unsigned long start, unsigned long end)
{
	uint64_t one = 1;
	int err;

	ulock_lock(&p->req_lock);
	p->req_start = start;
	p->req_end = end;
	atomic_store_relaxed(&p->req_done, 0U);
	atomic_store_release(&p->req, REQ_SWAPIN);
	if (write(p->wake_fd, &one, sizeof(one)) < 0)
		one = 0;
	while (!atomic_load_acquire(&p->req_done))
		futex_wait_u32(&p->req_done, 0);
	err = p->req_result;
	ulock_unlock(&p->req_lock);
	return err;
}

/* ---- the reclaim thread ---- */

/*
 * Reclaim a batch when above the high watermark, and go on batch by batch
 * down to the low one; batches keep the thread's other work (releasing
 * folio data, the agent's scans) going meanwhile.
 * Return: whether to come back at once (more to reclaim).
 */
static bool pager_reclaim_step(struct uswap_pager *p)
{
	/* Pages forked children map are theirs to drop, not ours (fork.c). */
	long charged = atomic_load_relaxed(&sw_mm(p->sw)->nr_charged) - (long)pager_fork_pinned(p);
	unsigned long freed;

	if (atomic_load_acquire(&p->frozen) || charged <= (long)p->low ||
	    (!p->reclaiming && charged <= (long)p->high)) {
		p->reclaiming = false;
		return false;
	}
	/* The device was full: wait until slots are freed (the program's zaps). */
	if (p->full_at_free >= 0 && get_nr_swap_pages(p->sw) <= p->full_at_free)
		return false;
	p->full_at_free = -1;
	p->reclaiming = true;
	freed = try_to_free_pages(p->sw, min((unsigned long)charged - p->low, RECLAIM_BATCH));
	if (!freed) {
		p->reclaiming = false;
		if (get_nr_swap_pages(p->sw) < (long)SWAP_CLUSTER_MAX)
			p->full_at_free = get_nr_swap_pages(p->sw);
		if (get_nr_swap_pages(p->sw) < (long)SWAP_CLUSTER_MAX && !p->warned_full) {
			static const char msg[] =
				"uswap: swap device full: the program goes on over its budget\n";

			p->warned_full = true;
			atomic_fetch_add_relaxed(&p->warnings, 1UL);
			if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
				freed = 0;
		}
		return false;
	}
	return true;
}

int pager_unshare_page(struct uswap_pager *p, unsigned long addr)
{
	uint64_t pm;

	if (in_fork_child || atomic_load_acquire(&p->frozen))
		return -EBUSY;
	if (pread(p->pagemap_fd, &pm, sizeof(pm), (off_t)((addr >> PAGE_SHIFT) * 8)) !=
	    (ssize_t)sizeof(pm))
		return -EIO;
	if (!(pm >> 63))
		return -ENOENT;
	/* The page may go now: the pin's fault is then served by the fault thread. */
	race_point("pager_unshare:pin");
	return pager_pin_page(p, addr);
}

/*
 * Make the pages the kernel refused to move out (pager_evict()) the
 * process's own again, so that the next reclaim can take them
 * (pager_unshare_page()). Context: the reclaim thread, no lock held (a
 * fault it takes waits for the fault thread, which never waits for this
 * one).
 */
static void pager_unshare(struct uswap_pager *p)
{
	for (unsigned i = 0; i < UNSHARE_SLOTS; i++) {
		unsigned long addr = atomic_xchg_acq_rel(&p->unshare[i], 0UL);

		if (addr)
			pager_unshare_page(p, addr);
	}
}

static void *pager_reclaim_main(void *arg)
{
	struct uswap_pager *p = arg;
	struct timespec last_tick;

	clock_gettime(CLOCK_MONOTONIC, &last_tick);
	while (!atomic_load_acquire(&p->stopping)) {
		if (!atomic_load_acquire(&p->reclaim_kick)) {
			struct timespec ts = {0, (long)min(p->tick_ms ? p->tick_ms : 10U, 10U) *
							 1000000};

			syscall(SYS_futex, &p->reclaim_kick, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
		}
		atomic_store_relaxed(&p->reclaim_kick, 0U);
		pager_drain_release(p);
		if (pager_reclaim_step(p))
			atomic_store_relaxed(&p->reclaim_kick, 1U);
		pager_unshare(p);
		if (ns_since(&p->last_age) >= 100000000ULL) {
			pager_age(p);
			clock_gettime(CLOCK_MONOTONIC, &p->last_age);
		}
		if (p->tick && ns_since(&last_tick) >= p->tick_ms * 1000000ULL) {
			p->tick(p->tick_arg);
			clock_gettime(CLOCK_MONOTONIC, &last_tick);
		}
		atomic_fetch_add_relaxed(&p->reclaim_loops, 1UL);
	}
	return NULL;
}

void pager_quiesce(struct uswap_pager *p, bool stop)
{
	unsigned long loops;

	if (!stop) {
		atomic_fetch_sub_relaxed(&p->frozen, 1U);
		pager_kick(p);
		return;
	}
	atomic_fetch_add_relaxed(&p->frozen, 1U);
	/* Two rounds: the one under way when frozen was set is over. */
	loops = atomic_load_relaxed(&p->reclaim_loops);
	while (atomic_load_relaxed(&p->reclaim_loops) - loops < 2 &&
	       !atomic_load_acquire(&p->stopping)) {
		pager_kick(p);
		usleep(1000);
	}
}

void pager_kick(struct uswap_pager *p)
{
	atomic_store_release(&p->reclaim_kick, 1U);
	futex_wake_all_u32(&p->reclaim_kick);
}

void pager_set_unmapped(struct uswap_pager *p,
			void (*fn)(void *arg, unsigned long start, unsigned long end), void *arg)
{
	p->unmapped_arg = arg;
	atomic_store_release(&p->unmapped, fn);
}

void pager_set_tick(struct uswap_pager *p, void (*fn)(void *arg), void *arg, unsigned period_ms)
{
	p->tick_arg = arg;
	p->tick_ms = period_ms ? period_ms : 1000;
	atomic_store_release(&p->tick, fn);
}

/* ---- setup ---- */

static void set_err(char *errbuf, size_t errlen, const char *fmt, ...) __printf(3, 4);
static void set_err(char *errbuf, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!errbuf || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

/* A full-mode userfaultfd: the syscall without UFFD_USER_MODE_ONLY, or /dev/userfaultfd. */
int pager_uffd_new(int flags)
{
	int fd = (int)syscall(SYS_userfaultfd, flags);

	if (fd < 0) {
		int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);

		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
			close(dev);
		}
	}
	return fd;
}

static int open_uffd(uint64_t features, char *errbuf, size_t errlen)
{
	struct uffdio_api api = {.api = UFFD_API, .features = features};
	int fd = pager_uffd_new(O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		set_err(errbuf, errlen,
			"no full-mode userfaultfd (%s): run as root, with CAP_SYS_PTRACE, with "
			"sysctl vm.unprivileged_userfaultfd=1, or with access to /dev/userfaultfd "
			"(a user-mode-only one cannot serve the kernel's own accesses)",
			strerror(errno));
		return -EPERM;
	}
	if (ioctl(fd, UFFDIO_API, &api) || (api.features & features) != features) {
		set_err(errbuf, errlen,
			"userfaultfd lacks features this pager needs (have %#llx, need %#llx): "
			"Linux 6.8 or later is required",
			(unsigned long long)api.features, (unsigned long long)features);
		close(fd);
		return -EOPNOTSUPP;
	}
	return fd;
}

/*
 * Run the device's write and read paths once before anything is paged, so
 * that the libraries they call (LZ4, zstd) have their lazily bound calls
 * resolved now: resolving them later reads the dynamic loader's data, which
 * may sit in memory the pager evicts, from the fault thread itself.
 */
static void pager_warm_up(struct uswap_pager *p, struct swap_dev *sd)
{
	char *buf = arena_alloc(p->sw->arena, 2 * PAGE_SIZE);
	uint64_t s = 0x9e3779b97f4a7c15ULL;

	if (!buf)
		return;
	for (size_t i = 0; i < PAGE_SIZE / 8; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		((uint64_t *)buf)[i] = i % 4 ? 0 : s;
	}
	for (size_t i = 0; i < PAGE_SIZE / 8; i++)
		((uint64_t *)buf)[PAGE_SIZE / 8 + i] = s * (i + 1);
	for (unsigned i = 0; i < 2; i++) {
		if (!sd->ops->write(sd, 1, buf + i * PAGE_SIZE, 1))
			sd->ops->read(sd, 1, buf + i * PAGE_SIZE, 1);
		if (sd->ops->slot_free_notify)
			sd->ops->slot_free_notify(sd, 1);
	}
	arena_free(p->sw->arena, buf, 2 * PAGE_SIZE);
}

/*
 * zram's default capacity: eight times the budget, at least 1 GiB, at most
 * the machine's RAM (its slot array is set up at start, and every process
 * the agent starts in pays for that). Full, it stops reclaim: the program
 * goes on over its budget.
 */
static size_t pager_default_device_bytes(const struct uswap_pager_config *cfg)
{
	long ram = sysconf(_SC_PHYS_PAGES);
	size_t cap = ram > 0 ? (size_t)ram << PAGE_SHIFT : (4UL << 30);

	if (cfg->device_bytes)
		return cfg->device_bytes;
	return max(min(8 * cfg->budget_bytes, cap), 1UL << 30);
}

static int pager_add_device(struct uswap_pager *p, const struct uswap_pager_config *cfg,
			    char *errbuf, size_t errlen)
{
	const char *dev = cfg->device ? cfg->device : "zram";
	struct swap_dev *sd;
	int err, type;

	if (!strcmp(dev, "zram")) {
		struct zram_config zc = {.algo = ZRAM_LZ4};
		unsigned long pages = pager_default_device_bytes(cfg) >> PAGE_SHIFT;

		if (cfg->comp && !strcmp(cfg->comp, "zstd"))
			zc.algo = ZRAM_ZSTD;
		else if (cfg->comp && strcmp(cfg->comp, "lz4")) {
			set_err(errbuf, errlen, "unknown compressor '%s' (lz4 or zstd)", cfg->comp);
			return -EINVAL;
		}
		err = zram_create(&sd, p->sw->arena, pages + 1, &zc);
		if (err) {
			set_err(errbuf, errlen, "cannot create the zram device: %s",
				strerror(-err));
			return err;
		}
	} else if (!strncmp(dev, "file:", 5)) {
		char msg[256] = "";

		err = swapfile_open(&sd, p->sw->arena, dev + 5, msg, sizeof(msg));
		if (err) {
			set_err(errbuf, errlen, "swap file %s: %s", dev + 5,
				msg[0] ? msg : strerror(-err));
			return err;
		}
	} else {
		set_err(errbuf, errlen, "unknown device '%s' (zram or file:PATH)", dev);
		return -EINVAL;
	}
	pager_warm_up(p, sd);
	type = swapon(p->sw, sd, -1);
	if (type < 0) {
		set_err(errbuf, errlen, "swapon: %s", strerror(-type));
		return type;
	}
	p->dev_type = (unsigned)type;
	p->dev = sd;
	return 0;
}

static struct uswap_pager *live_pagers[16];

static void atfork_prepare(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(live_pagers); i++)
		if (atomic_load_acquire(&live_pagers[i]))
			uswap_pager_fork_prepare(live_pagers[i]);
}

static void atfork_parent(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(live_pagers); i++)
		if (atomic_load_acquire(&live_pagers[i]))
			uswap_pager_fork_parent(live_pagers[i]);
}

static void atfork_child(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(live_pagers); i++)
		if (atomic_load_acquire(&live_pagers[i]))
			uswap_pager_fork_child(live_pagers[i]);
}

static void pager_atfork_once(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/*
 * pager_stop_threads - tell the fault and reclaim threads to stop, wake both
 * and wait for them. Context: not on either thread; both were started.
 */
static void pager_stop_threads(struct uswap_pager *p)
{
	uint64_t one = 1;

	atomic_store_release(&p->stopping, true);
	if (write(p->wake_fd, &one, sizeof(one)) < 0)
		one = 0;
	pager_kick(p);
	pthread_join(p->fault_thread, NULL);
	pthread_join(p->reclaim_thread, NULL);
}

static void pager_teardown(struct uswap_pager *p)
{
	struct uswap *sw = p->sw;

	pager_fork_stop(p);
	if (p->mm.ops)
		mmput(&p->mm);
	pager_spare_free(p);
	if (p->dev)
		mm_swapoff(sw, p->dev_type, NULL, NULL);
	mm_state_destroy(sw);
	if (p->uffd >= 0)
		close(p->uffd);
	if (p->stage_fd >= 0)
		close(p->stage_fd);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	if (p->pagemap_fd >= 0)
		close(p->pagemap_fd);
	if (p->loadavg_fd >= 0)
		close(p->loadavg_fd);
	if (p->stage)
		munmap(p->stage, NR_STAGE * PAGE_SIZE);
	if (p->stacks)
		munmap(p->stacks, STACKS_LEN);
	pager_fork_free(p, p->forks);
	arena_free(sw->arena, p->regions, MAX_REGIONS * sizeof(struct region));
	arena_free(sw->arena, p, sizeof(*p));
	swap_engine_destroy(sw);
}

int pager_start_thread(pthread_t *t, void *stack, size_t size, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	sigset_t all, old;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, stack, size);
	/* The program's signals are for the program's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(t, &attr, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return -err;
}

static int start_thread(struct uswap_pager *p, pthread_t *t, void *stack, void *(*fn)(void *))
{
	return pager_start_thread(t, stack, THREAD_STACK, fn, p);
}

__public int uswap_pager_open(struct uswap_pager **out, const struct uswap_pager_config *cfg,
			      char *errbuf, size_t errlen)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	uint64_t features = UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP |
			    UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_THREAD_ID |
			    UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_MOVE;
	bool event_fork = pager_fork_supported();
	struct uffdio_register reg = {.mode = UFFDIO_REGISTER_MODE_MISSING};
	unsigned long budget_pages, margin;
	struct uswap_pager *p;
	struct uswap *sw;
	int err;

	if (!cfg || cfg->budget_bytes < USWAP_PAGER_MIN_BUDGET) {
		set_err(errbuf, errlen, "budget below the minimum of %lu MiB",
			USWAP_PAGER_MIN_BUDGET >> 20);
		return -EINVAL;
	}
	/*
	 * The arena holds zram's data (at most the device), the folios in
	 * flight and charged (the budget), page tables and slack: reserved,
	 * touched only as used.
	 */
	err = swap_engine_create(
		&sw, pager_default_device_bytes(cfg) + 2 * cfg->budget_bytes + (1UL << 30), true);
	if (err) {
		set_err(errbuf, errlen, "cannot create the engine: %s", strerror(-err));
		return err;
	}
	p = arena_zalloc(sw->arena, sizeof(*p));
	if (!p) {
		swap_engine_destroy(sw);
		return -ENOMEM;
	}
	p->sw = sw;
	p->id = atomic_fetch_add_relaxed(&pager_ids, 1UL) + 1;
	p->full_at_free = -1;
	p->uffd = p->stage_fd = p->wake_fd = -1;
	p->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	p->loadavg_fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	p->nr_cpus = pager_nr_cpus();
	ulock_init(&p->regions_lock, LOCK_RANK_ARENA);
	ulock_init(&p->spare_lock, LOCK_RANK_ARENA);
	ulock_init(&p->req_lock, LOCK_RANK_MODEL);
	p->regions = arena_zalloc(sw->arena, MAX_REGIONS * sizeof(struct region));
	err = p->regions ? mm_state_create(sw) : -ENOMEM;
	if (err)
		goto fail_early;
	err = pager_add_device(p, cfg, errbuf, errlen);
	if (err)
		goto fail;
	if (event_fork)
		features |= UFFD_FEATURE_EVENT_FORK;
	err = p->uffd = open_uffd(features, errbuf, errlen);
	if (err < 0)
		goto fail;
	err = p->stage_fd = open_uffd(UFFD_FEATURE_MOVE, errbuf, errlen);
	if (err < 0)
		goto fail;
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->stage = mmap(NULL, NR_STAGE * PAGE_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p->stacks = mmap(NULL, STACKS_LEN, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (p->wake_fd < 0 || p->stage == MAP_FAILED || p->stacks == MAP_FAILED) {
		if (p->stage == MAP_FAILED)
			p->stage = NULL;
		if (p->stacks == MAP_FAILED)
			p->stacks = NULL;
		err = -ENOMEM;
		goto fail;
	}
	reg.range.start = (unsigned long)p->stage;
	reg.range.len = NR_STAGE * PAGE_SIZE;
	if (ioctl(p->stage_fd, UFFDIO_REGISTER, &reg)) {
		err = -errno;
		set_err(errbuf, errlen, "cannot register the staging area: %s", strerror(errno));
		goto fail;
	}
	err = mm_init(&p->mm, sw, &pager_mm_ops, 0, PAGER_VA_END, 0);
	if (err)
		goto fail;
	p->retry_cap = MAX_RETRY;
	budget_pages = cfg->budget_bytes >> PAGE_SHIFT;
	margin = max(budget_pages / 16, 64UL);
	p->budget_bytes = cfg->budget_bytes;
	p->high = budget_pages - margin;
	p->low = budget_pages - 2 * margin;
	p->spare_max = pager_spare_max(budget_pages);
	mm_set_budget(sw, budget_pages);
	err = start_thread(p, &p->fault_thread, p->stacks, pager_fault_main);
	if (err) {
		set_err(errbuf, errlen, "cannot start the fault thread: %s", strerror(-err));
		goto fail;
	}
	err = start_thread(p, &p->reclaim_thread, (char *)p->stacks + THREAD_STACK,
			   pager_reclaim_main);
	if (err) {
		uint64_t one = 1;

		atomic_store_release(&p->stopping, true);
		if (write(p->wake_fd, &one, sizeof(one)) < 0)
			one = 0;
		pthread_join(p->fault_thread, NULL);
		goto fail;
	}
	err = pager_fork_start(p, event_fork, &p->forks);
	if (err) {
		set_err(errbuf, errlen, "cannot start the fork thread: %s", strerror(-err));
		pager_stop_threads(p);
		goto fail;
	}
	pthread_once(&once, pager_atfork_once);
	for (unsigned i = 0; i < ARRAY_SIZE(live_pagers); i++) {
		struct uswap_pager *none = NULL;

		if (atomic_cmpxchg_acq_rel(&live_pagers[i], &none, p))
			break;
	}
	*out = p;
	return 0;
fail:
	pager_teardown(p);
	return err;
fail_early:
	arena_free(sw->arena, p->regions, MAX_REGIONS * sizeof(struct region));
	arena_free(sw->arena, p, sizeof(*p));
	swap_engine_destroy(sw);
	return err;
}

/* ---- registering memory ---- */

/* Put the pages present in [start, end) under the mm layer (pagemap says which). */
static int pager_adopt(struct uswap_pager *p, unsigned long start, unsigned long end)
{
	uint64_t buf[512];
	struct release_req adopted[PTRS_PER_PTE]; /* in one table, to release */
	unsigned nr_adopted = 0;
	int err = 0;

	if (p->pagemap_fd < 0)
		return -ENOENT; /* /proc/self/pagemap could not be opened */
	for (unsigned long addr = start; addr < end && !err;) {
		size_t n = min((end - addr) >> PAGE_SHIFT, ARRAY_SIZE(buf));
		ssize_t got = pread(p->pagemap_fd, buf, n * 8, (off_t)((addr >> PAGE_SHIFT) * 8));

		if (got <= 0) {
			err = got < 0 ? -errno : -EIO;
			break;
		}
		n = (size_t)got / 8;
		for (size_t i = 0; i < n && !err; i++) {
			unsigned long a = addr + i * PAGE_SIZE;

			/* Present, or in the kernel's swap: data the program owns. */
			if (!(buf[i] & (3ULL << 62)))
				continue;
			err = mm_adopt_page(&p->mm, a);
			if (!err) {
				if (nr_adopted && (a & PMD_MASK) != (adopted[0].addr & PMD_MASK)) {
					release_in_table(p, adopted, nr_adopted);
					nr_adopted = 0;
				}
				adopted[nr_adopted++] = (struct release_req){a, NULL};
			}
			if (err == -EEXIST)
				err = 0;
		}
		addr += n << PAGE_SHIFT;
	}
	if (nr_adopted)
		release_in_table(p, adopted, nr_adopted);
	update_peak(p);
	return err;
}

int pager_register(struct uswap_pager *p, unsigned long start, unsigned long len, bool adopt)
{
	unsigned long end = start + len;
	struct uffdio_register reg = {
		.range = {.start = start, .len = len},
		.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
	};

	if (!len || (start | len) & ~PAGE_MASK || end > PAGER_VA_END || end < start ||
	    pager_is_own(p, start, end) || in_fork_child)
		return -EINVAL;
	unsigned long gen = atomic_load_acquire(&p->unmap_gen);
	int err;

	if (ioctl(p->uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	/* Fresh memory is written down by the next scan: no lock taken here. */
	if (!adopt)
		return 0;
	for (unsigned tries = 0;; tries++) {
		/* The program may unmap the range and map another there meanwhile. */
		race_point("pager_register:before_adopt");
		regions_add(p, start, end);
		err = pager_adopt(p, start, end);
		/*
		 * No unmapping applied since the registration: what was
		 * adopted is the registered VMA's (an unmapping applied later
		 * zaps it and takes the region out). Else the fault thread may
		 * have taken the region out and zapped before we put them in,
		 * for a VMA the program has replaced since, which the kernel
		 * does not know as registered: register what is there now
		 * (idempotent) and adopt again (pages adopted once stay).
		 */
		if (atomic_load_acquire(&p->unmap_gen) == gen || tries == 4)
			return err;
		gen = atomic_load_acquire(&p->unmap_gen);
		if (ioctl(p->uffd, UFFDIO_REGISTER, &reg)) {
			err = -errno;
			/* Nothing, or not only anonymous memory, there now. */
			regions_remove(p, start, end);
			return err;
		}
	}
}

int pager_forget(struct uswap_pager *p, unsigned long start, unsigned long end)
{
	struct uffdio_range range = {.start = start, .len = end - start};
	int err = 0;

	if (start >= end || (start | end) & ~PAGE_MASK || end > PAGER_VA_END)
		return -EINVAL;
	atomic_fetch_add_acq_rel(&p->frozen, 1U);
	if (ioctl(p->uffd, UFFDIO_UNREGISTER, &range))
		err = -errno;
	regions_remove(p, start, end);
	zap_page_range(&p->mm, start, end);
	atomic_fetch_sub_relaxed(&p->frozen, 1U);
	/* What was registered before may not be now. */
	atomic_fetch_add_seq_cst(&p->read_seq, 2UL);
	atomic_fetch_add_acq_rel(&p->unmap_gen, 1UL);
	return err;
}

unsigned long pager_read_seq(struct uswap_pager *p)
{
	return atomic_load_acquire(&p->read_seq);
}

__public int uswap_pager_register(struct uswap_pager *p, void *addr, size_t len)
{
	return pager_register(p, (unsigned long)addr, len, true);
}

__public int uswap_pager_map(struct uswap_pager *p, size_t len, void **out)
{
	void *addr;
	int err;

	len = ALIGN_UP(len, PAGE_SIZE);
	if (!len)
		return -EINVAL;
	addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (addr == MAP_FAILED)
		return -errno;
	err = pager_register(p, (unsigned long)addr, len, false);
	if (!err)
		regions_add(p, (unsigned long)addr, (unsigned long)addr + len);
	if (err) {
		munmap(addr, len);
		return err;
	}
	*out = addr;
	return 0;
}

__public int uswap_pager_unregister(struct uswap_pager *p, void *addr, size_t len)
{
	unsigned long start = (unsigned long)addr, end = start + len;
	struct uffdio_range range = {.start = start, .len = len};
	int err;

	if (!len || (start | len) & ~PAGE_MASK || end > PAGER_VA_END || end < start)
		return -EINVAL;
	atomic_fetch_add_acq_rel(&p->frozen, 1U);
	err = pager_request_swapin(p, start, end);
	if (!err && ioctl(p->uffd, UFFDIO_UNREGISTER, &range))
		err = -errno;
	if (!err) {
		regions_remove(p, start, end);
		/* Real pages stay: only the mm layer lets go of them. */
		zap_page_range(&p->mm, start, end);
	}
	atomic_fetch_sub_relaxed(&p->frozen, 1U);
	return err;
}

/* ---- fork ---- */

__public void uswap_pager_fork_prepare(struct uswap_pager *p)
{
	int err, tries = 0;

	if (in_fork_child)
		return;
	/* The child is served through its own userfaultfd (fork.c). */
	if (pager_fork_enabled(p)) {
		pager_fork_prepare(p);
		return;
	}
	pager_fork_warn_fallback();
	atomic_fetch_add_acq_rel(&p->frozen, 1U);
	/* Faults that would go over the budget must not reclaim meanwhile. */
	mm_set_budget(p->sw, 0);
	/*
	 * A page left swapped out would read as zeros in the child: a failed
	 * read (the slot stays) is tried again, and what still fails is said.
	 */
	do
		err = pager_request_swapin(p, 0, PAGER_VA_END);
	while (err && ++tries < 8);
	if (err) {
		char msg[160];
		int n = snprintf(msg, sizeof(msg),
				 "uswap: fork: cannot bring every swapped page back (errno %d): "
				 "the child may read zeros there\n",
				 -err);

		atomic_fetch_add_relaxed(&p->warnings, 1UL);
		if (n > 0 && write(STDERR_FILENO, msg, (size_t)min(n, (int)sizeof(msg) - 1)) < 0)
			n = 0;
	}
}

__public void uswap_pager_fork_parent(struct uswap_pager *p)
{
	if (in_fork_child)
		return;
	if (pager_fork_enabled(p)) {
		pager_fork_parent(p);
		return;
	}
	mm_set_budget(p->sw, p->budget_bytes >> PAGE_SHIFT);
	atomic_fetch_sub_relaxed(&p->frozen, 1U);
	pager_kick(p);
}

__public void uswap_pager_fork_child(struct uswap_pager *p)
{
	/*
	 * Without EVENT_FORK the child's mappings are not registered and every
	 * page it inherited is in its memory: it runs unpaged. With it, the
	 * parent's fork thread serves the child (fork.c). Either way the engine
	 * is the parent's (shared arena): leave it alone.
	 */
	in_fork_child = true;
	close(p->uffd);
	close(p->stage_fd);
	close(p->wake_fd);
	close(p->pagemap_fd);
	for (unsigned i = 0; i < ARRAY_SIZE(live_pagers); i++)
		if (live_pagers[i] == p)
			live_pagers[i] = NULL;
}

/* ---- teardown and figures ---- */

__public void uswap_pager_close(struct uswap_pager *p)
{
	if (in_fork_child)
		return;
	for (unsigned i = 0; i < ARRAY_SIZE(live_pagers); i++) {
		struct uswap_pager *me = p;

		atomic_cmpxchg_acq_rel(&live_pagers[i], &me, NULL);
	}
	/*
	 * Children first (they keep their pages), then our own memory. The
	 * fork thread keeps serving until the fault thread is stopped: a
	 * child forked meanwhile (its FORK event read by the fault thread)
	 * is orphaned too, and pager_teardown() stops it (pager_fork_stop()).
	 */
	pager_fork_orphan(p);
	atomic_fetch_add_acq_rel(&p->frozen, 1U);
	mm_set_budget(p->sw, 0);
	pager_request_swapin(p, 0, PAGER_VA_END);
	ulock_lock(&p->regions_lock);
	for (unsigned long i = 0; i < p->nr_regions; i++) {
		struct uffdio_range r = {.start = p->regions[i].start,
					 .len = p->regions[i].end - p->regions[i].start};

		ioctl(p->uffd, UFFDIO_UNREGISTER, &r);
	}
	p->nr_regions = 0;
	ulock_unlock(&p->regions_lock);
	pager_stop_threads(p);
	pager_teardown(p);
}

__public int uswap_pager_sync(struct uswap_pager *p)
{
	if (in_fork_child)
		return -EINVAL;
	/* An empty swap-in: served after the batch the fault thread read last. */
	return pager_request_swapin(p, 0, 0);
}

__public long uswap_pager_reclaim(struct uswap_pager *p, size_t bytes)
{
	if (in_fork_child)
		return 0;
	return (long)(try_to_free_pages(p->sw, bytes >> PAGE_SHIFT) << PAGE_SHIFT);
}

size_t pager_compr_bytes(struct uswap_pager *p)
{
	struct zram_stats zs;

	if (!p->dev || !is_zram_dev(p->dev) || zram_get_stats(p->dev, &zs))
		return 0;
	return zs.mem_used_total;
}

struct uswap *pager_engine(struct uswap_pager *p)
{
	return p->sw;
}

unsigned long pager_budget_pages(struct uswap_pager *p)
{
	return p->budget_bytes >> PAGE_SHIFT;
}

struct mm_struct *pager_root_mm(struct uswap_pager *p)
{
	return &p->mm;
}

int pager_uffd(struct uswap_pager *p)
{
	return p->uffd;
}

bool pager_frozen(struct uswap_pager *p)
{
	return atomic_load_acquire(&p->frozen) != 0;
}

unsigned long pager_probe_addr(struct uswap_pager *p)
{
	return (unsigned long)p->stage;
}

struct pager_forks *pager_fork_state(struct uswap_pager *p)
{
	return atomic_load_acquire(&p->forks);
}

unsigned long pager_set_retry_cap(struct uswap_pager *p, unsigned cap)
{
	atomic_store_relaxed(&p->retry_cap, min(cap, (unsigned)MAX_RETRY));
	return atomic_load_relaxed(&p->retry_overflow);
}

int pager_inject_read_error(struct uswap_pager *p, unsigned long nth)
{
	if (!p->dev || !is_zram_dev(p->dev))
		return -EOPNOTSUPP;
	zram_inject(p->dev, nth, 0, -EIO);
	return 0;
}

int pager_inject_write_error(struct uswap_pager *p, unsigned long nth)
{
	if (!p->dev || !is_zram_dev(p->dev))
		return -EOPNOTSUPP;
	zram_inject(p->dev, 0, nth, -EIO);
	return 0;
}

__public int uswap_pager_get_stats(struct uswap_pager *p, struct uswap_pager_stats *st)
{
	long charged = atomic_load_relaxed(&sw_mm(p->sw)->nr_charged);
	long swapped = atomic_load_relaxed(&p->mm.nr_swapents);

	memset(st, 0, sizeof(*st));
	st->budget_bytes = p->budget_bytes;
	st->resident_bytes = charged > 0 ? (size_t)charged << PAGE_SHIFT : 0;
	st->resident_peak_bytes = atomic_load_relaxed(&p->peak) << PAGE_SHIFT;
	st->swapped_bytes = swapped > 0 ? (size_t)swapped << PAGE_SHIFT : 0;
	st->compr_bytes = pager_compr_bytes(p);
	st->faults = atomic_load_relaxed(&p->faults);
	st->swapin_faults = atomic_load_relaxed(&p->swapin_faults);
	st->swapin_around = atomic_load_relaxed(&p->ra_pages);
	st->data_released = atomic_load_relaxed(&p->data_released);
	st->data_reused = atomic_load_relaxed(&p->data_reused);
	st->sampled = atomic_load_relaxed(&p->sampled);
	st->evict_busy = atomic_load_relaxed(&p->evict_busy);
	st->evict_unshared = atomic_load_relaxed(&p->unshared);
	st->warnings = atomic_load_relaxed(&p->warnings);
	return 0;
}

__public long uswap_pager_counter(struct uswap_pager *p, const char *name)
{
	for (unsigned i = 0; i < NR_VM_EVENT_ITEMS; i++)
		if (!strcmp(vm_event_names[i], name))
			return (long)vm_event_read(sw_events(p->sw), (enum vm_event_item)i);
	return -ENOENT;
}

__public int uswap_pager_latency(struct uswap_pager *p, unsigned long *hist, unsigned n)
{
	n = min(n, (unsigned)PAGER_LAT_BUCKETS);
	for (unsigned i = 0; i < n; i++)
		hist[i] = atomic_load_relaxed(&p->lat[i]);
	return (int)n;
}
