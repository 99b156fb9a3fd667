// SPDX-License-Identifier: MIT
/*
 * fork.c - fork under the userfaultfd pager (see fork.h): one engine for
 * the whole process tree, owned by the root process.
 *
 * The engine (devices, swap table, swap cache, LRU, budget) lives in the
 * pager's MAP_SHARED arena, which every child inherits at the same address.
 * The pager's userfaultfd asks for UFFD_FEATURE_EVENT_FORK, so a fork in
 * the program goes like this:
 *
 *   1. The kernel copies the address space (present pages shared
 *      copy-on-write, the uffd-wp bit of write-protected pages kept) and
 *      creates a userfaultfd for the child, registered on the same ranges.
 *      The forking thread then waits, before the child ever runs, until the
 *      pager's fault thread has read the UFFD_EVENT_FORK message carrying
 *      the child's userfaultfd (now a descriptor of the root process).
 *   2. The fault thread sets the child's address space up as mm_fork() of
 *      the parent's: every swap entry gains a count (swap_dup_entry_direct),
 *      present pages are shared read-only by both (the parent's real page
 *      is write-protected so that its next write is a copy-on-write fault
 *      the mm layer sees). Then it publishes the child to the fork thread.
 *   3. The fork thread serves the child's faults and memory events
 *      (REMOVE, UNMAP, REMAP, a nested FORK) through the child's
 *      userfaultfd: ioctls act on the address space the userfaultfd belongs
 *      to, so UFFDIO_COPY from the root installs pages in the child. A fault
 *      the child takes before step 2 is done waits in the kernel: the child
 *      never reads a page the engine has not given it.
 *   4. A swap-in by either side goes through the shared swap cache; the
 *      other side's fault on the same entry finds the folio there.
 *   5. The fork thread probes each child every few milliseconds: once its
 *      address space is gone (exit, or exec of another program, which then
 *      pages itself with a fresh agent) UFFDIO_ZEROPAGE fails with ESRCH and
 *      the child's address space is torn down (mmput): its slots lose their
 *      count, back to 1 or freed.
 *
 * Who runs engine code: only the root process's threads (its fault,
 * reclaim and fork threads). A child has no paging thread of its own and
 * never takes an engine lock, so a child killed at any instant (SIGKILL in
 * the middle of a fault being served for it) leaves nothing locked and no
 * update half done: the root finds the address space gone and tears the
 * child's state down itself. The root process is the engine's owner: if
 * it exits normally, its live children first get every swapped page back
 * and their ranges unregistered (they run unpaged from then on:
 * pager_fork_orphan).
 *
 * If the root is killed instead, the pages it swapped out for its children
 * go with it. Nothing may then read zeros in their place, which is what the
 * kernel gives once the last descriptor of a child's userfaultfd closes (it
 * unregisters the ranges). So every child holds a descriptor of its own
 * userfaultfd (fork_atfork_child()): it says hello (below), the fork thread
 * offers it the number of our descriptor in the hold area (hold_offer(),
 * MAP_SHARED), and the child takes a copy with pidfd_getfd() on a pidfd of
 * the root it inherited (hold_take(); ptrace rights over the root, which
 * EVENT_FORK's CAP_SYS_PTRACE gives), kept O_CLOEXEC at a high number. Our
 * death then leaves its ranges registered and its next fault on a page we
 * held waits, killable, for `uswap run` to end it. A child the root died on
 * before it held its userfaultfd ends itself (hold_die()). The offer is
 * withdrawn (hold_withdraw()) before our descriptor closes, so a child never
 * takes a number reused for something else; the probe below still sees a
 * child's end (the copy pins the context, not the address space).
 *
 * A child evicts too (one budget for the tree; USWAP_CHILD_EVICT=0 turns it
 * off), yet runs no engine code:
 * only a process can take its own pages out (UFFDIO_MOVE refuses another
 * process's address space, process_madvise() allows no remote
 * MADV_DONTNEED), so each forked child runs a *zapper* thread, started by
 * our pthread_atfork child handler (zap_atfork_child()):
 *
 *   - It has its own stack and a staging area of ZAP_STAGE pages (fresh
 *     memory, never registered with the pager) and a userfaultfd of its own
 *     with only UFFD_FEATURE_MOVE, on which the staging area is registered.
 *   - Its hello (every child says it, evicting or not) is a MADV_DONTNEED
 *     of page "pid" of the mailbox, a range the root registered and never
 *     touches: the REMOVE event comes on the child's userfaultfd, which
 *     tells the fork thread whose it is (child_hello()); the child gets the
 *     request channel of its slot in the zap area (MAP_SHARED, inherited by
 *     the whole tree). The zapper, started before the hello, waits for
 *     its channel until the hello returned (the root may be slow to read
 *     it: it sets the child up first), then 5 s at most.
 *   - Evicting a child's page (child_sync_pte(), present -> swap, under the
 *     PTL) needs the real page out of the child: the zapper moves it to a
 *     staging page (atomically against the child's accesses, which then
 *     fault and wait for us), the root reads it through the child's
 *     /proc/PID/mem (child_read_mem(), below) into the folio's data and
 *     marks the folio dirty as pager_evict() does.
 *   - Batches (fork_reclaim_batch(), the mm layer's reclaim_batch hook):
 *     before reclaim unmaps a batch of folios, the pages of them each child
 *     maps are moved out with one request to its zapper, and their data
 *     put into the folios (child_move_batch()); the entries stay present,
 *     like the root's aged pages. The unmap then finds the page gone
 *     (pagemap) and needs no request (child_evict()). A page no batch took
 *     is one request of its own (zap_call()).
 *   - A child's ev_lock keeps its entries still while one of its evictions
 *     runs: the fork thread reads its events and serves its faults under
 *     it (tried only: meanwhile it serves the other children). A munmap,
 *     mremap or madvise begun meanwhile cannot return before its event is
 *     read, so the page moved is the entry's; a page a batch moved cannot be
 *     installed again before its data is in the folio.
 *   - Threads that serve faults (fork_serving: the root's fault thread, the
 *     fork thread) never wait for a zapper, but the fork thread for the
 *     child whose faults it serves (it holds that child's ev_lock).
 *   - A folio others rely on (another mapping, or cached for another
 *     process's swap entry) must not receive the child's data (the kernel
 *     may have copied a page left writable across the fork on a write the
 *     mm layer never saw): such a page is write-protected, read in place and
 *     leaves only if it holds the folio's data (child_evict(),
 *     batch_page_ready()).
 *   - Those reads run under the child's ev_lock and a PTL, so they go
 *     through /proc/PID/mem (child_read_mem()), which never waits for a
 *     userfault: a page the child moved away meanwhile (MREMAP_DONTUNMAP
 *     moves the pages before its event is read) fails the read with EIO,
 *     where process_vm_readv() would wait for the fork thread, which needs
 *     that ev_lock.
 *   - A page the kernel still shares copy-on-write with another process
 *     (the fork left every resident page so) is refused by UFFDIO_MOVE
 *     on both sides until one writes: it is made the child's own first by
 *     a read that pins it (pid_unshare(), from reclaim batches with no
 *     lock held: the read may fault), which makes the kernel unshare it
 *     without a write; the root's
 *     pages of the batch's folios likewise (pager_unshare_page()). So
 *     the budget covers them like any other page.
 *
 * A request a stopped zapper did not take within ZAP_CLAIM_NS (one only
 * late to run: ZAP_LATE_NS) is withdrawn (the page stays). One it took
 * and stopped in is not waited for either (the waiting thread holds the
 * child's ev_lock; as the fork thread, every process's faults would wait):
 * taken, not begun (the zapper marks a request ZAP_MOVING by cmpxchg once
 * its staging area is emptied, before its first move), it is withdrawn the
 * same way; begun, we settle it ourselves (zap_settle()): through a copy
 * of the zapper's userfaultfd (pidfd_getfd(), taken before the child's
 * first request) each staging page of the request is filled with the zero
 * page, and the kernel arbitrates each against the zapper's move into it:
 * filled by us, its move fails (EEXIST) and the page stays in the child;
 * filled by the zapper, ours fails (EEXIST) and the page is read from
 * there as after a normal completion. Either way nothing is posted to the
 * child until its zapper caught up (c->stalled), and its next ZAP_EMPTY
 * empties our zero pages too. A child that dies while one waits is seen
 * by the waiting thread. The zapper takes no lock and touches no
 * registered memory: it never waits for us.
 * A page pinned for real (I/O in flight) stays (UFFDIO_MOVE says EBUSY).
 * A child without a zapper (USWAP_CHILD_EVICT=0, or its setup failed)
 * keeps its pages, and the budget is enforced on top of them
 * (fork_update_pinned()).
 *
 * A child that needs to be single-threaded again (unshare(CLONE_NEWUSER),
 * setns() into a user namespace: the agent interposes them) stops its
 * zapper for good first (pager_fork_zapper_stop()): the zapper sets
 * z->quit before it claims anything more and returns; the child joins it
 * and waits until the kernel no longer counts the thread. From z->quit on
 * the child is one without a zapper (child_evicts() is false): no request
 * is posted to it again, a request posted and not claimed is withdrawn at
 * once by the thread waiting for it (zap_call()), and one claimed before
 * runs to its end. The staging area stays mapped (that thread may still
 * be reading the last request's pages from it).
 *
 * Owns: struct pager_forks, each child's struct fork_child (its mm_struct,
 * tables, its userfaultfd and our copy of its zapper's), the mailbox, the
 * zap and hold areas, and in a child its hold (hold_fd) and its zapper
 * (zap_own). Locking: a hold slot's state changes by cmpxchg (root:
 * offered, withdrawn; child: taking, taken), and so does a zap request's
 * (root: posted, cancelled; zapper: claimed, moving); zap_own is taken by
 * exchange by the thread that stops the zapper, which tells it with
 * self->quit (seq_cst, against the zapper's store of its channel) and
 * waits for self->gone; children[]
 * slots are claimed (fault thread or fork thread) and emptied (only the
 * fork thread, or the one that stopped it) under f->stats_lock
 * (LOCK_RANK_FORK_STATS, a leaf), the figures of a child that ends moving
 * to the gone ones at the same time. The fork thread alone uses a
 * published child but for two readers from other threads, which child_end()
 * lets finish before it frees a child it unpublished (f->ending counts it
 * meanwhile): the figures (pager_fork_stats(), under stats_lock), and
 * reclaim batches, counted in f->batching before they look at a child,
 * which child_end() waits for; per-slot
 * counters are relaxed atomics (one writer, the thread serving that
 * process, but for swapouts: the evicting threads, under the child's
 * ev_lock); a child's ev_lock (LOCK_RANK_MODEL; tried only, under a PTL or
 * by the fork thread) serializes its evictions, its zapper channel (and
 * our copy of the zapper's userfaultfd) and the serving of its messages
 * (events and faults); the mm layer's locks as everywhere else.
 */
#include "fork.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../base/race.h"
#include "../mm/internal.h"
#include "uffd_compat.h"

#define MAX_CHILDREN 256
#define CHILD_MSGS   64
#define CHILD_RETRY  256
#define FORK_STACK   (4UL << 20) /* virtual: sanitizers need room for their TLS */
#define PROBE_NS     5000000ULL	 /* how often live children are probed */
#define VA_END	     (1UL << 47)
#define ZAP_STAGE    64		   /* a child's staging pages, emptied all at once */
#define ZAP_STACK    (4UL << 20)   /* the zapper's stack, virtual */
#define ZAP_CLAIM_NS 100000000ULL  /* not taken by a stopped zapper: withdrawn */
#define ZAP_LATE_NS  2000000000ULL /* not taken at all: withdrawn */
#define MAX_PID	     (1UL << 22)

/*
 * A request's state (struct fork_zap.claim): POSTED (root) -> CLAIMED
 * (zapper) -> MOVING (zapper, staging emptied, before its first move), or
 * POSTED/CLAIMED -> CANCELLED (root: nothing was or will be moved). A
 * MOVING request of a stopped zapper is settled slot by slot (zap_settle()).
 */
enum { ZAP_POSTED, ZAP_CLAIMED, ZAP_CANCELLED, ZAP_MOVING };
/* What a request asks (struct fork_zap.op). */
enum { ZAP_OP_OUT = 1, ZAP_OP_EXIT = 2, ZAP_OP_BATCH = 3 };
#define ZAP_EMPTY 0x100 /* empty every staging page first */

/*
 * One child's zapper: the request channel between the root's evicting
 * threads (one at a time: the child's ev_lock) and the small thread the
 * child runs for them, in memory both map (struct fork_zap_area).
 */
struct fork_zap {
	int32_t pid;	   /* the child's, from its hello (root); 0: free */
	uint32_t attached; /* the zapper found its slot and set stage (child) */
	uint64_t stage;	   /* its staging area: ZAP_STAGE pages (child) */
	uint32_t req;	   /* futex word: the last request posted (root) */
	uint32_t done;	   /* futex word: the last request finished (child) */
	uint32_t claim;	   /* ZAP_*: the last request's state (both, cmpxchg) */
	uint32_t op;	   /* ZAP_OP_* | ZAP_EMPTY (root) */
	uint32_t seq;	   /* the request these fields belong to (root) */
	uint32_t idx;	   /* the staging page to move to (root) */
	uint64_t addr;	   /* the page to move out (root) */
	int32_t result;	   /* the MOVE's: 0 or -errno (child) */
	int32_t tid;	   /* the zapper thread's id, set before attached (child) */
	/* ZAP_OP_BATCH: move addrs[i] to staging page i, for i < nr (root) */
	uint32_t nr;
	/*
	 * The zapper stopped for good (child): the child asked it to, so as
	 * to be single-threaded again (pager_fork_zapper_stop()). A request
	 * it did not claim by then never runs.
	 */
	uint32_t quit;
	/* Its userfaultfd (the staging area's): number and inode, set before attached (child) */
	int32_t ufd;
	uint64_t ufd_ino;
	uint64_t addrs[ZAP_STAGE];  /* (root) */
	int32_t results[ZAP_STAGE]; /* each MOVE's: 0 or -errno (child) */
};

/* MAP_SHARED: the root and every child map it; never reused while one does. */
struct fork_zap_area {
	uint32_t gen;	 /* futex word: a hello was answered */
	uint32_t closed; /* the root's pager is gone: zappers exit */
	struct fork_zap zap[MAX_CHILDREN];
};

/* What a child's zapper thread uses: all of it in the zapper's own mapping. */
struct zap_self {
	struct fork_zap_area *area;
	char *stage;
	int fd;
	int32_t pid;
	struct fork_zap *z; /* its channel, once found (zapper; seq_cst) */
	int32_t tid;	    /* the zapper's thread id (zapper, first thing it does) */
	uint32_t quit;	    /* stop for good (the child's other threads; seq_cst) */
	uint32_t gone;	    /* the zapper returned (zapper, last thing it does) */
	uint32_t said;	    /* the child's hello returned (the thread that forked it) */
	/* fd's identity: a grandchild closes the number only if it is still fd */
	dev_t fd_dev;
	ino_t fd_ino;
	bool stack_gone; /* the stack unmapped at the stop (the stopping thread) */
};

/*
 * In a forked child, its own zapper (process memory: a grandchild starts its
 * own, zap_drop_inherited() resets these first). Taken by the thread that
 * stops it (pager_fork_zapper_stop()).
 */
static struct zap_self *zap_own;
static pthread_t zap_own_thread;
/*
 * This process's zapper mapping and descriptor, running or stopped: a fork
 * copies them into the grandchild, which lets them go (zap_drop_inherited()).
 * Written only in the atfork child handler (one thread) and at the stop.
 */
static struct zap_self *zap_mine;

/*
 * A child's hold on its own userfaultfd (see the top): the root offers the
 * number of its descriptor of the child's userfaultfd at the child's hello,
 * the child takes a copy with pidfd_getfd() and keeps it. States of
 * struct fork_hold.state, changed with cmpxchg by both sides.
 */
enum {
	HOLD_FREE,	/* nothing offered */
	HOLD_OFFERED,	/* root: take fd (until withdrawn) */
	HOLD_TAKING,	/* child: taking it; the root does not close fd meanwhile */
	HOLD_TAKEN,	/* child: done (or failed: it said so on stderr) */
	HOLD_WITHDRAWN, /* root: leaving (orphaning): do not take it */
};

struct fork_hold {
	int32_t pid;	/* the child that said hello (root); 0: free */
	int32_t fd;	/* the root's descriptor of its userfaultfd (root) */
	uint32_t state; /* HOLD_* */
	uint32_t pad;
};

/* MAP_SHARED: the root and every child map it; never reused while one does. */
struct fork_hold_area {
	uint32_t gen;	      /* futex word: a hello was answered */
	uint32_t closed;      /* the root's fork state is gone: nothing is offered */
	uint32_t orphaned;    /* the root gave its children their pages (it is leaving) */
	uint32_t warned;      /* a child said once that it could not hold its userfaultfd */
	uint32_t leader_gone; /* the root's main thread exited and the root lived on */
	struct fork_hold hold[MAX_CHILDREN];
};

/*
 * Set in the root when forks are paged, inherited by every child (plain
 * process memory, copied by fork): where a child finds the mailbox, the
 * hold area, the zap area and the root (a pidfd, O_CLOEXEC at a high
 * number). Written before the first fork; a child only reads them.
 */
static struct fork_zap_area *zap_area_shared;
static char *zap_mailbox;
static unsigned long zap_mailbox_pages;
static struct fork_hold_area *hold_area_shared;
static int hold_root_pidfd = -1;
static dev_t hold_root_dev; /* its identity: the program may put another file at its number */
static ino_t hold_root_ino;
static int32_t hold_root_pid;
/* The root's PID namespace (/proc/self/ns/pid), where the pids of the hello mean something. */
static dev_t hold_root_pidns_dev;
static ino_t hold_root_pidns_ino;
/* This process's own copy of its userfaultfd (a child's; -1: none), and its identity. */
static int hold_fd = -1;
static dev_t hold_dev;
static ino_t hold_ino;

struct child_pending {
	unsigned long addr;
	unsigned flags;
	unsigned tid;
};

struct fork_child {
	struct mm_struct mm;
	struct pager_forks *f;
	struct pager_pt pt;
	int uffd; /* the child's userfaultfd, a descriptor of the root */
	unsigned slot;
	struct child_pending retry[CHILD_RETRY]; /* deferred on -EAGAIN */
	unsigned nr_retry;
	/*
	 * Eviction (see the top): ev_lock serializes the child's evictions
	 * with the reading of its events (taken by the fork thread around
	 * read() and the events; tried by an evicting thread under a PTL).
	 */
	struct ulock ev_lock;
	struct fork_zap *zap; /* its zapper's channel, once it said hello (ev_lock) */
	int32_t pid;	      /* from the hello */
	int pagemap_fd;	      /* /proc/PID/pagemap: as mem_fd; -1: none yet */
	int mem_fd;	      /* /proc/PID/mem: the hello, or an eviction (ev_lock); -1: none yet */
	unsigned stage_used;  /* staging pages holding a page (ev_lock) */
	bool no_evict;	      /* being orphaned (or done): nothing leaves any more (atomic) */
	/*
	 * A request its zapper did not take in time (the child is stopped):
	 * none is posted again until the zapper got to it (zap_stalled()).
	 * Written under ev_lock, read by the fork thread too (atomics).
	 */
	uint32_t stalled, stalled_seq;
	/*
	 * Our copy of its zapper's userfaultfd (pidfd_getfd(), taken before
	 * the first request; ev_lock): the staging slots of a request its
	 * stopped zapper is moving are settled through it (zap_settle()).
	 * -1: not taken yet; zap_nofd: could not be (no request is posted).
	 */
	int zap_ufd;
	bool zap_nofd;
};

struct pager_forks {
	struct uswap_pager *p;
	bool enabled; /* the fork thread runs (until pager_fork_stop() is done; atomic) */
	/*
	 * stats_lock: a slot's claim and reset of its figures, a child's
	 * figures moved to gone with its slot emptied, and whoever reads the
	 * children from outside the fork thread for figures
	 * (pager_fork_stats()): a child it sees published is not freed
	 * meanwhile, and its figures count once, in gone or in its slot.
	 */
	struct ulock stats_lock;
	struct fork_child *children[MAX_CHILDREN]; /* set, emptied under stats_lock */
	struct fork_proc_stats stats[MAX_CHILDREN];
	struct fork_proc_stats root;
	unsigned long forks, exited;
	struct fork_proc_stats gone;	  /* counters of the children gone, added up at their end */
	struct fork_zap_area *zap_area;	  /* MAP_SHARED; NULL: children do not evict */
	struct fork_hold_area *hold_area; /* MAP_SHARED; NULL: children hold nothing */
	int root_pidfd;			  /* ours, inherited by the children; -1: none */
	char *mailbox;			  /* pid_max pages, registered, never touched */
	unsigned long mailbox_pages;
	int wake_fd;
	void *stack;
	pthread_t thread;
	bool stopping;
	uint32_t orphan_req, orphan_done; /* futex words */
	unsigned long pinned; /* pages the live children map (atomic; fork thread writes) */
	uint32_t forks_begun; /* the root's forks (its prepare handler) */
	uint32_t forks_done;  /* FORK events of the root handled (futex word) */
	uint32_t ending;      /* children unpublished, their entries not let go yet */
	uint32_t batching;    /* reclaim batches looking at children (child_end waits) */
	unsigned long zap_requests, zap_batched; /* fork_tree_stats' (relaxed atomics) */
};

/*
 * Set in the threads that serve faults (the root's fault thread, the fork
 * thread): they never wait for a child's zapper (see child_evict()).
 */
static __thread bool fork_serving;
/* The child whose ev_lock the fork thread holds while it serves its messages. */
static __thread struct fork_child *fork_ev_held;

/*
 * Take child @c's ev_lock for an eviction, unless this thread holds it
 * already (the fork thread, reclaiming while it serves @c's faults: then no
 * fault of @c can be served meanwhile either). Return: whether it may go on.
 */
static bool ev_trylock(struct fork_child *c)
{
	return fork_ev_held == c || ulock_trylock(&c->ev_lock);
}

static void ev_unlock(struct fork_child *c)
{
	if (fork_ev_held != c)
		ulock_unlock(&c->ev_lock);
}

void pager_fork_set_serving(void)
{
	fork_serving = true;
}

static struct fork_child *to_child(struct mm_struct *mm)
{
	return container_of(mm, struct fork_child, mm);
}

static struct arena *forks_arena(struct pager_forks *f)
{
	return pager_engine(f->p)->arena;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static void fork_wake(struct pager_forks *f)
{
	uint64_t one = 1;

	if (write(f->wake_fd, &one, sizeof(one)) < 0)
		one = 0;
}

static void say(const char *msg)
{
	if (write(STDERR_FILENO, msg, strlen(msg)) < 0)
		msg = NULL;
}

/* ---- privileges ---- */

bool pager_fork_supported(void)
{
	static int cached = -1;
	struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_EVENT_FORK};
	const char *no = getenv("USWAP_NO_EVENT_FORK");
	int fd, ok;

	if (no && *no && strcmp(no, "0"))
		return false;
	if (cached >= 0)
		return cached;
	fd = pager_uffd_new(O_CLOEXEC | O_NONBLOCK);
	/* EVENT_FORK needs CAP_SYS_PTRACE: UFFDIO_API says EPERM otherwise. */
	ok = fd >= 0 && !ioctl(fd, UFFDIO_API, &api) && (api.features & UFFD_FEATURE_EVENT_FORK);
	if (fd >= 0)
		close(fd);
	cached = ok;
	return ok;
}

void pager_fork_warn_fallback(void)
{
	static bool warned;

	if (atomic_xchg_acq_rel(&warned, true))
		return;
	say("uswap: forks are not paged (UFFD_FEATURE_EVENT_FORK needs CAP_SYS_PTRACE): "
	    "every page is swapped in before a fork and the child runs unpaged\n");
}

/* ---- a child's address space ---- */

static pte_t *child_pte_offset_lock(struct mm_struct *mm, unsigned long addr, bool alloc,
				    struct ulock **ptlp)
{
	struct fork_child *c = to_child(mm);

	return pager_pt_lock(&c->pt, forks_arena(c->f), addr, alloc, ptlp);
}

static unsigned long child_next_table(struct mm_struct *mm, unsigned long addr, unsigned long end)
{
	return pager_pt_next(&to_child(mm)->pt, addr, end);
}

static bool child_alive(struct fork_child *c);
static int32_t child_zap_tid(struct fork_child *c);

/*
 * Whether child @c's pages may be evicted: its zapper said hello and found
 * its slot, and @c is not being orphaned. Context: @c's ev_lock held, or the
 * fork thread (which alone sets c->zap); elsewhere a hint.
 */
static bool child_evicts(struct fork_child *c)
{
	struct fork_zap *z = atomic_load_acquire(&c->zap);

	return z && atomic_load_acquire(&z->attached) && !atomic_load_acquire(&z->quit) &&
	       !atomic_load_acquire(&c->no_evict) && !atomic_load_acquire(&c->zap_nofd);
}

/*
 * Whether child @c's zapper has not yet got to a request withdrawn because
 * it did not take it in time (a SIGSTOPped child: its threads run no more).
 * Its pages are then left alone (and kept out of the budget, like those of a
 * child without a zapper): each new request would hold an evicting thread
 * and the child's PTL for ZAP_CLAIM_NS again, page after page. Context: any.
 */
static bool zap_stalled(struct fork_child *c)
{
	return atomic_load_acquire(&c->stalled) &&
	       (int32_t)(atomic_load_acquire(&c->zap->done) -
			 atomic_load_relaxed(&c->stalled_seq)) < 0;
}

static int uffd_wp(int fd, unsigned long addr, bool on)
{
	struct uffdio_writeprotect w = {
		.range = {.start = addr, .len = PAGE_SIZE},
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(fd, UFFDIO_WRITEPROTECT, &w) ? -errno : 0;
}

static int futex_wait_ns(uint32_t *word, uint32_t val, uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL)};

	return (int)syscall(SYS_futex, word, FUTEX_WAIT, val, &ts, NULL, 0);
}

/*
 * The state letter and the flags of thread @tid (its /proc name) of process
 * @pid, from /proc/PID/task/TID/stat. Context: any.
 * Return: 0, -ENOENT (gone, or unreadable) or -EINVAL (not understood).
 */
static int task_stat(int32_t pid, const char *tid, char *state, unsigned long *flags)
{
	char path[96], buf[512], *s;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%.16s/stat", (int)pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	buf[n] = '\0';
	/* After the name, which may hold anything: state ppid pgrp session tty_nr tpgid flags. */
	s = strrchr(buf, ')');
	if (!s || sscanf(s + 1, " %c %*d %*d %*d %*d %*d %lu", state, flags) != 2)
		return -EINVAL;
	return 0;
}

/*
 * Return: whether child @c's zapper thread is stopped (SIGSTOP, a tracer) or
 * gone, as /proc says. One that is only slow to run (a busy machine) is not.
 */
static bool zap_thread_stopped(struct fork_child *c)
{
	int32_t tid = atomic_load_relaxed(&c->zap->tid);
	unsigned long flags;
	char name[16], state;

	if (tid <= 0)
		return true;
	snprintf(name, sizeof(name), "%d", (int)tid);
	return task_stat(c->pid, name, &state, &flags) || state == 'T' || state == 't';
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9: a pidfd of a thread, not of its group's leader */
#endif

/*
 * Take a copy of child @c's zapper's userfaultfd, the one its staging area
 * is registered on (zap_settle() needs it), with pidfd_getfd() (ptrace
 * rights over the child: EVENT_FORK's CAP_SYS_PTRACE gives them). Through
 * the process's id, then through the zapper thread's (a main thread gone
 * with pthread_exit() has no descriptors any more). The number the zapper
 * published must still be its userfaultfd: the program may have closed it
 * and reused the number (the identity is checked).
 * Context: @c's ev_lock held. Return: whether we have the copy; without
 * one no request is posted to @c again (its pages stay, kept out of the
 * budget: child_evicts()), said once on stderr unless the child is gone.
 */
static bool zap_take_ufd(struct fork_child *c)
{
	static bool warned;
	struct fork_zap *z = c->zap;
	int32_t tid = child_zap_tid(c);
	int fd = -1, err = ESRCH;
	struct stat sb;

	if (c->zap_ufd >= 0)
		return true;
	for (unsigned i = 0; i < 2 && fd < 0; i++) {
		int pidfd = i ? (tid > 0 && tid != c->pid
					 ? (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD)
					 : -1)
			      : (int)syscall(SYS_pidfd_open, c->pid, 0);

		if (pidfd < 0) {
			err = i ? err : errno;
			continue;
		}
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, atomic_load_relaxed(&z->ufd), 0);
		err = fd < 0 ? errno : 0;
		close(pidfd);
	}
	if (fd >= 0 &&
	    (fstat(fd, &sb) || (uint64_t)sb.st_ino != atomic_load_relaxed(&z->ufd_ino))) {
		close(fd);
		fd = -1;
		err = EBADF;
	}
	if (fd >= 0) {
		c->zap_ufd = fd;
		return true;
	}
	atomic_store_release(&c->zap_nofd, true);
	if (err != ESRCH && !atomic_xchg_acq_rel(&warned, true)) {
		char msg[200];

		snprintf(msg, sizeof(msg),
			 "uswap: cannot take a forked child's zapper userfaultfd (%s): "
			 "that child's pages stay resident\n",
			 strerror(err));
		say(msg);
	}
	return false;
}

/*
 * Settle without the zapper the request it is in the middle of (ZAP_MOVING:
 * staging emptied, moves begun) while it is stopped: through our copy of
 * its userfaultfd each staging slot of the request is filled with the zero
 * page (UFFDIO_ZEROPAGE), and the kernel arbitrates each slot against the
 * zapper's move into it. Filled by us: the page was not moved and never
 * will be (the zapper's move into a filled slot fails with EEXIST, which
 * it reports, as we do: the page stays). Refused with EEXIST: the zapper
 * moved the page there, the child's only copy, read from it as after a
 * normal completion. @res[i] (@nr of them: the batch's pages, or the one
 * page of a ZAP_OP_OUT at staging page @idx) gets what the zapper's
 * results will say: 0 (moved) or -EEXIST (stays). The slots we filled are
 * emptied with the next request's ZAP_EMPTY, posted once the zapper caught
 * up (c->stalled); until then no slot is reused (c->stage_used).
 * Context: @c's ev_lock held. Return: 0, -ESRCH (the child is gone), or
 * another -errno (not settled: a slot filled meanwhile stays filled and
 * the zapper reports its page as staying; wait for the zapper).
 */
static int zap_settle(struct fork_child *c, unsigned op, unsigned idx, unsigned nr, int *res)
{
	unsigned long stage = atomic_load_relaxed(&c->zap->stage);

	for (unsigned i = 0; i < nr; i++) {
		unsigned slot = (op & 0xff) == ZAP_OP_BATCH ? i : idx;
		struct uffdio_zeropage zp = {
			.range = {.start = stage + slot * PAGE_SIZE, .len = PAGE_SIZE},
			.mode = UFFDIO_ZEROPAGE_MODE_DONTWAKE,
		};

		if (!ioctl(c->zap_ufd, UFFDIO_ZEROPAGE, &zp)) {
			res[i] = -EEXIST;
			race_point("zap:settled_stays");
			continue;
		}
		if (errno != EEXIST)
			return -errno;
		res[i] = 0;
		race_point("zap:settled_moved");
	}
	return 0;
}

/*
 * Post a request to child @c's zapper and wait for it. A request the
 * zapper has not taken within ZAP_CLAIM_NS while stopped, or within
 * ZAP_LATE_NS at all, is withdrawn: it will never run; so is one the
 * zapper has not taken when it stops for good (z->quit), at once. One it
 * took and stopped in: withdrawn as well if it moved nothing yet
 * (ZAP_CLAIMED), settled by us if it is moving pages (zap_settle()); then,
 * as after a withdrawal, nothing is posted to @c until the zapper caught up
 * (zap_stalled()). Otherwise, wait for it unless the child dies meanwhile.
 * @res gets the zapper's results: one for ZAP_OP_OUT and ZAP_OP_EXIT, z->nr
 * for ZAP_OP_BATCH (each 0 or -errno; the caller reads no z->result*).
 * Context: @c's ev_lock held. Return: 0 (done or settled: @res is set),
 * -EBUSY (withdrawn, or no copy of the zapper's userfaultfd) or -ESRCH
 * (the child is gone).
 */
static int zap_call(struct fork_child *c, unsigned op, unsigned long addr, unsigned idx, int *res)
{
	struct fork_zap *z = c->zap;
	unsigned nr = (op & 0xff) == ZAP_OP_BATCH ? min(z->nr, (uint32_t)ZAP_STAGE) : 1;
	uint32_t seq = atomic_load_relaxed(&z->req) + 1;
	uint64_t t0 = now_ns(), probed = t0;
	bool settle = true;

	/* Before the request: the zapper may be stopped in it. */
	if ((op & 0xff) != ZAP_OP_EXIT && !zap_take_ufd(c))
		return -EBUSY;
	atomic_fetch_add_relaxed(&c->f->zap_requests, 1UL);
	z->op = op;
	z->addr = addr;
	z->idx = idx;
	z->seq = seq;
	atomic_store_release(&z->claim, (uint32_t)ZAP_POSTED);
	atomic_store_release(&z->req, seq);
	futex_wake_all_u32(&z->req);
	for (;;) {
		uint32_t done = atomic_load_acquire(&z->done);
		uint32_t posted = ZAP_POSTED, claimed = ZAP_CLAIMED;
		uint64_t t;
		int err;

		if ((int32_t)(done - seq) >= 0) {
			uint32_t claim = atomic_load_acquire(&z->claim);

			if (claim != ZAP_CLAIMED && claim != ZAP_MOVING)
				return -EBUSY;
			if ((op & 0xff) != ZAP_OP_BATCH)
				res[0] = atomic_load_relaxed(&z->result);
			else
				for (unsigned i = 0; i < nr; i++)
					res[i] = atomic_load_relaxed(&z->results[i]);
			return 0;
		}
		/*
		 * Stopped for good (the child wants to be single-threaded): it
		 * claims nothing any more. Claimed before, the request runs to
		 * its end, and done comes.
		 */
		if (atomic_load_acquire(&z->quit) &&
		    atomic_cmpxchg_acq_rel(&z->claim, &posted, (uint32_t)ZAP_CANCELLED)) {
			race_point("zap:withdrawn_at_quit");
			return -EBUSY;
		}
		posted = ZAP_POSTED;
		futex_wait_ns(&z->done, done, 1000000);
		t = now_ns();
		/*
		 * Withdrawn from a stopped zapper after ZAP_CLAIM_NS, or settled
		 * if it stopped while moving; one that is only late (runnable,
		 * not scheduled yet) is waited for longer: withdrawn, it would
		 * leave all the child's pages out of the budget until it runs
		 * (fork_update_pinned()).
		 */
		if (t - t0 >= ZAP_CLAIM_NS && (t - t0 >= ZAP_LATE_NS || zap_thread_stopped(c))) {
			err = 1;
			if (atomic_cmpxchg_acq_rel(&z->claim, &posted, (uint32_t)ZAP_CANCELLED)) {
				err = -EBUSY;
			} else if (atomic_cmpxchg_acq_rel(&z->claim, &claimed,
							  (uint32_t)ZAP_CANCELLED)) {
				/* Before its first move: it moves nothing (zap_serve()). */
				race_point("zap:withdrawn_claimed");
				err = -EBUSY;
			} else if (claimed == ZAP_MOVING && settle) {
				err = zap_settle(c, op, idx, nr, res);
				if (err == -ESRCH)
					return err;
				/* Not settled (not expected): wait for the zapper. */
				settle = !err;
				err = err ? 1 : 0;
			}
			if (err <= 0) {
				/* Its zapper marks it done once it runs again. */
				atomic_store_relaxed(&c->stalled_seq, seq);
				atomic_store_release(&c->stalled, 1U);
				return err;
			}
			posted = ZAP_POSTED;
		}
		if (t - probed >= 10000000ULL) {
			probed = t;
			if (!child_alive(c)) {
				posted = ZAP_POSTED;
				atomic_cmpxchg_acq_rel(&z->claim, &posted, (uint32_t)ZAP_CANCELLED);
				return -ESRCH;
			}
		}
	}
}

/*
 * Whether child @c's data for @folio may be written into the folio: only
 * when nothing else relies on the folio's data (no other mapping of the
 * mm layer, no swap entry of another process waiting on it in the cache).
 * The kernel may have given the child a copy of its own on a write the mm
 * layer never saw (a page left writable across the fork, see
 * pager_sync_pte()): that copy must not become the others' data.
 */
static bool child_sole_holder(struct uswap *sw, struct folio *folio)
{
	/*
	 * One count is the eviction's own: try_to_unmap_one() takes the
	 * entry's reference before it writes the entry (and calls us). Only
	 * a count beyond it is another process's.
	 */
	return !folio_test_large(folio) && folio_mapcount(folio) == 1 &&
	       !(folio_test_swapcache(folio) && swp_swapcount(sw, folio_swap_entry(folio)) > 1);
}

/*
 * Return: whether child @c may have a real page at @addr (its pagemap says
 * present, or swapped out by the kernel's own swap; unreadable: maybe).
 */
static bool child_page_present(struct fork_child *c, unsigned long addr)
{
	uint64_t e;

	if (c->pagemap_fd < 0 || pread(c->pagemap_fd, &e, sizeof(e),
				       (off_t)((addr >> PAGE_SHIFT) * 8)) != (ssize_t)sizeof(e))
		return true;
	return (e >> 62) & 3;
}

/*
 * Read @len bytes at @addr of process @pid with process_vm_readv(), which
 * pins the pages (the kernel unshares a page shared copy-on-write first, see
 * pid_unshare()) and, where a page is missing in a registered range, waits
 * for its userfault to be served. Through the process's id first, then
 * through its zapper thread's (@tid): a main thread that left with
 * pthread_exit() (or is exiting first under SIGKILL) has no memory of its
 * own any more, the zapper still has the process's. Return: whether all of
 * it was read; not read, the child is exiting (its zapper is gone too).
 */
static bool pid_read_bytes(int32_t pid, int32_t tid, void *buf, unsigned long addr, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};

	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len)
		return true;
	return tid > 0 && tid != pid &&
	       process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

/* The id of @c's zapper thread, or 0. */
static int32_t child_zap_tid(struct fork_child *c)
{
	return c->zap ? atomic_load_relaxed(&c->zap->tid) : 0;
}

/*
 * Open /proc/@pid/task/@tid/@name (thread @tid of process @pid: the address
 * space they share). Return: the descriptor, or -1 (for "mem", said once
 * unless the thread is gone or exiting).
 */
static int child_proc_open(int32_t pid, int32_t tid, const char *name)
{
	static bool warned;
	char path[80];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/%s", (int)pid, (int)tid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno != ESRCH && errno != ENOENT && !strcmp(name, "mem") &&
	    !atomic_xchg_acq_rel(&warned, true)) {
		char msg[200];

		snprintf(msg, sizeof(msg),
			 "uswap: cannot open %s (%s): nothing leaves a forked child's memory "
			 "until it can be read\n",
			 path, strerror(errno));
		say(msg);
	}
	return fd;
}

/*
 * Whether child @c's memory can be read (child_read_mem()): its descriptor
 * is open, or opens now. Opened at the hello, it may have failed there:
 * the hello returns in the child as soon as its event is read, and by
 * then the main thread may have left (pthread_exit()) or the process be
 * exiting. Then through its zapper's thread, and its pagemap likewise
 * (without it every page looks present: the fork thread, which makes no
 * single page's round trip, evicted almost nothing of such a child).
 * Nothing is moved out of a child whose memory cannot be read (its data
 * would stay in the staging area). Context: @c's ev_lock held,
 * child_evicts(@c) true.
 */
static bool child_mem_ready(struct fork_child *c)
{
	int32_t tid = child_zap_tid(c);

	if (c->mem_fd < 0 && tid > 0)
		c->mem_fd = child_proc_open(c->pid, tid, "mem");
	if (c->pagemap_fd < 0 && tid > 0)
		c->pagemap_fd = child_proc_open(c->pid, tid, "pagemap");
	return c->mem_fd >= 0;
}

/*
 * Read the page at @addr of child @c into @buf, through its /proc/PID/mem
 * (c->mem_fd, opened at its hello or by child_mem_ready()). Such a read
 * never waits for a userfault: the kernel's remote access does not retry a
 * fault, so a page missing in a registered range (the child moved it away
 * with MREMAP_DONTUNMAP, whose event nobody reads while we hold its
 * ev_lock; an empty staging page, on the zapper's userfaultfd) fails the
 * read with EIO at once, where process_vm_readv() would wait for the fork
 * thread, which needs the ev_lock we hold: the tree would hang. Nor does
 * it pin: a page shared copy-on-write stays shared (pid_unshare() is for
 * that). The descriptor holds the child's mm, not its threads: it reads
 * after the main thread's pthread_exit(), and nothing once the address
 * space is gone (exit, exec).
 * Context: @c's ev_lock held, child_mem_ready(@c) true.
 * Return: whether all of it was read; not read, the page is not there (a
 * comparison fails, the page stays) or the child is exiting.
 */
static bool child_read_mem(struct fork_child *c, void *buf, unsigned long addr)
{
	return c->mem_fd >= 0 && pread(c->mem_fd, buf, PAGE_SIZE, (off_t)addr) == PAGE_SIZE;
}

/*
 * Make the real page at @addr of the child @pid (zapper @tid) its own again
 * if the kernel still shares it copy-on-write with another process (the
 * fork left it so, and neither side wrote it since): its zapper's
 * UFFDIO_MOVE refuses such a page (EBUSY). Reading it pins it, and the
 * kernel unshares it first (a copy for the child, or the page marked the
 * child's own if nobody else maps it): no data written (see
 * pager_unshare_page()). The page may be gone by the read (the child moved
 * it with MREMAP_DONTUNMAP, which does not wait for its event to be read):
 * the read then takes a userfault of the child's, served by the fork
 * thread under the child's ev_lock. Context: not a thread serving faults,
 * no lock held, and no child held alive (child_end() waits for f->batching).
 */
static void pid_unshare(int32_t pid, int32_t tid, unsigned long addr)
{
	char byte;

	race_point("fork_child:unshare");
	pid_read_bytes(pid, tid, &byte, addr, 1);
}

/*
 * Take child @c's real page at @addr out and keep its data in the folio
 * @old maps (see the top). Context: the PTL of @addr held.
 * Return: 0 (the entry may become a swap entry) or -EBUSY (it stays).
 */
static int child_evict(struct fork_child *c, unsigned long addr, pte_t old)
{
	struct fork_proc_stats *st;
	struct uswap *sw = pager_engine(c->f->p);
	struct folio *folio = pte_folio(old);
	char *data = page_address(pte_page(old, addr));
	unsigned idx, op = ZAP_OP_OUT;
	char buf[PAGE_SIZE] __attribute__((aligned(64)));
	bool sole, wp = false;
	int err = -EBUSY, res = 0;

	if (atomic_load_acquire(&c->no_evict) || pager_frozen(c->f->p) || !ev_trylock(c))
		return -EBUSY;
	/* Under ev_lock: another eviction of this child may have just used it. */
	idx = c->stage_used;
	if (!child_evicts(c) || !child_mem_ready(c))
		goto out;
	/*
	 * Only now: reclaim finds a child by its mappings as soon as mm_fork()
	 * made them, before publish_child() chose its slot; a child with a
	 * zapper channel (set after that, read with acquire) has one.
	 */
	st = &c->f->stats[c->slot];
	if (atomic_load_relaxed(&c->stalled)) {
		if (zap_stalled(c))
			goto out;
		atomic_store_release(&c->stalled, 0U);
	}
	sole = child_sole_holder(sw, folio);
	/*
	 * Moved out already (a reclaim batch did it, child_move_batch()), or
	 * never installed: the folio's data is the page. Nothing installs it
	 * meanwhile: the fork thread serves the child's faults under ev_lock,
	 * and its accesses wait for those.
	 */
	if (!child_page_present(c, addr)) {
		if (folio_test_owner_priv(folio))
			goto out;
		goto counted;
	}
	/*
	 * A round trip to the child's zapper for one page: never from a thread
	 * that serves faults (it would keep every process's faults waiting
	 * meanwhile). Reclaim batches take the page, with one round trip for
	 * all of a child's pages of the batch (fork_reclaim_batch()).
	 */
	if (fork_serving)
		goto out;
	if (!sole) {
		/*
		 * Others rely on the folio's data: the child's page may leave
		 * only if it holds that data. Write-protect it (its writes now
		 * wait for us), then compare. The page may be gone by the
		 * read: the child's MADV_DONTNEED waits for its event, which
		 * nobody reads while we hold ev_lock, and an unmapped page fails
		 * the read, but MREMAP_DONTUNMAP moves the pages before it
		 * queues its event and leaves the old range registered and
		 * empty. A read there that waited for the userfault would wait
		 * for the fork thread, which needs our ev_lock: the read goes
		 * through /proc/PID/mem, which fails instead (child_read_mem()),
		 * and the page stays.
		 */
		if (folio_test_owner_priv(folio) || uffd_wp(c->uffd, addr, true))
			goto busy;
		wp = true;
		race_point("child_evict:compare");
		if (!child_read_mem(c, buf, addr) || memcmp(buf, data, PAGE_SIZE))
			goto busy;
	}
	/*
	 * Not unshared here: the read could fault (see pid_unshare()) under
	 * ev_lock and the PTL. A page the kernel still shares is refused by
	 * the MOVE and stays; reclaim batches unshare the pages first.
	 */
	if (idx >= ZAP_STAGE) {
		op |= ZAP_EMPTY;
		idx = 0;
	}
	if (zap_call(c, op, addr, idx, &res))
		goto busy;
	/* Filled by zap_settle() (-EEXIST): not reused before the next ZAP_EMPTY. */
	c->stage_used = res == -EEXIST ? idx + 1 : idx;
	if (res == -ENOENT) {
		/*
		 * No real page (not installed yet, or dropped by the program,
		 * whose REMOVE event is on the way): the folio's data is the page.
		 */
		if (folio_test_owner_priv(folio))
			goto busy;
		goto counted;
	}
	if (res) /* pinned (-EBUSY), or not movable */
		goto busy;
	c->stage_used = idx + 1;
	if (sole) {
		/* The child's data, whatever it wrote: read it from the staging page. */
		if (!child_read_mem(c, buf,
				    atomic_load_relaxed(&c->zap->stage) + idx * PAGE_SIZE)) {
			/*
			 * Neither its main thread nor its zapper has the memory:
			 * the child is exiting (or exec'd) while we worked, and
			 * its entries go with it. The entry stays present.
			 */
			goto busy;
		}
		if (folio_test_owner_priv(folio) || memcmp(buf, data, PAGE_SIZE)) {
			memcpy(data, buf, PAGE_SIZE);
			folio_clear_owner_priv(folio);
			folio_mark_dirty(folio);
		}
	}
counted:
	err = 0;
	if (pte_write(old) || pte_dirty(old))
		folio_mark_dirty(folio);
	race_point("child_evict:count");
	atomic_fetch_add_relaxed(&st->swapouts, 1UL);
	goto out;
busy:
	/* A writable entry's page is writable again (one attempt, see child_sync_pte()). */
	if (wp && pte_write(old))
		uffd_wp(c->uffd, addr, false);
out:
	ev_unlock(c);
	return err;
}

static int child_sync_pte(struct mm_struct *mm, unsigned long addr, pte_t old, pte_t new)
{
	struct fork_child *c = to_child(mm);

	/* Taken out by the child's zapper thread, on our request (see the top). */
	if (pte_present(old) && is_swap_pte(new))
		return child_evict(c, addr, old);
	/*
	 * A nested fork shares the page: protect it, one attempt (see
	 * pager_sync_pte(): the fork thread must not wait for an event only
	 * it can read; a page left writable stays the child's own).
	 */
	if (pte_present(old) && pte_present(new) && pte_write(old) && !pte_write(new))
		uffd_wp(c->uffd, addr, true);
	return 0;
}

#define CHILD_POISON 0x6b /* a freed child, in debug builds (as slab poisoning does) */

static void child_release(struct mm_struct *mm)
{
	struct fork_child *c = to_child(mm);
	struct arena *a = forks_arena(c->f);

	pager_pt_free(&c->pt, a);
#ifdef USWAP_DEBUG
	/*
	 * The arena does not tell sanitizers what it frees: a reader left
	 * with a stale pointer to this child then follows a pointer that
	 * cannot be mapped (c->zap) and faults, instead of reading figures
	 * of whatever reuses the memory.
	 */
	memset(c, CHILD_POISON, sizeof(*c));
#endif
	arena_free(a, c, sizeof(*c));
}

static const struct mm_platform_ops child_mm_ops = {
	.pte_offset_lock = child_pte_offset_lock,
	.sync_pte = child_sync_pte,
	.release = child_release,
	.next_table = child_next_table,
};

/* ---- reclaim batches: a child's pages out with one request ---- */

#define BATCH_MAX ZAP_STAGE /* mappings of children looked at per reclaim batch */

/* A page of a reclaim batch to move out of a child (child_move_batch()). */
struct batch_page {
	unsigned long addr;
	struct folio *folio;
	pte_t pte;
	bool sole; /* only the child relies on the folio's data */
	bool wp;   /* write-protected for the comparison */
};

/* One child's mapping of a folio of the batch, found by the reverse map. */
struct batch_ctx {
	unsigned nr;
	struct fork_child *child[BATCH_MAX];
	unsigned slot[BATCH_MAX]; /* read while the walk held the child's table */
	struct batch_page pg[BATCH_MAX];
	/* The root's mappings of folios a child maps too (to unshare), if wanted. */
	struct mm_struct *root;
	unsigned nr_root;
	unsigned long root_addr[BATCH_MAX];
};

/* Whether @c's zapper may be asked now (a hint, ev_lock not held). */
static bool child_batchable(struct fork_child *c)
{
	return child_evicts(c) && !zap_stalled(c);
}

static bool batch_collect_one(struct folio *folio, struct mm_struct *mm, pte_t *ptep,
			      unsigned long addr, void *arg)
{
	struct batch_ctx *x = arg;
	pte_t pte = ptep_get(ptep);

	if (!pte_present(pte) || pte_folio(pte) != folio)
		return true;
	if (mm == x->root) {
		if (folio_mapcount(folio) > 1 && x->nr_root < BATCH_MAX)
			x->root_addr[x->nr_root++] = addr;
		return true;
	}
	if (mm->ops != &child_mm_ops || !child_batchable(to_child(mm)))
		return true;
	/* A thread serving faults waits only for the child it serves now. */
	if (fork_serving && to_child(mm) != fork_ev_held)
		return true;
	if (x->nr == BATCH_MAX)
		return false;
	x->child[x->nr] = to_child(mm);
	x->slot[x->nr] = to_child(mm)->slot;
	x->pg[x->nr++] = (struct batch_page){.addr = addr, .folio = folio};
	return true;
}

/*
 * Under the PTL of @b's entry: whether the page may leave in the batch.
 * A folio only the child relies on takes whatever the child wrote (read
 * after the move); one others rely on must hold the child's data, checked
 * here with the page write-protected (child_evict() says why). Where the
 * page is not there any more, nothing needs moving.
 */
static bool batch_page_ready(struct fork_child *c, struct batch_page *b, char *buf)
{
	struct uswap *sw = pager_engine(c->f->p);
	struct folio *folio = b->folio;

	if (!pte_present(b->pte) || pte_folio(b->pte) != folio || !child_page_present(c, b->addr))
		return false;
	/* Before the unmap: no count of the eviction's own yet. */
	b->sole = folio_mapcount(folio) == 1 &&
		  !(folio_test_swapcache(folio) && swp_swapcount(sw, folio_swap_entry(folio)) > 0);
	/* Unshared by fork_reclaim_batch() before ev_lock was taken. */
	if (b->sole)
		return true;
	if (folio_test_owner_priv(folio) || uffd_wp(c->uffd, b->addr, true))
		return false;
	b->wp = true;
	/* The page may be gone by the read (see child_evict()): it then stays. */
	race_point("fork_batch:compare");
	if (child_read_mem(c, buf, b->addr) && !memcmp(buf, folio->data, PAGE_SIZE))
		return true;
	if (pte_write(b->pte))
		uffd_wp(c->uffd, b->addr, false);
	return false;
}

/*
 * Take the real pages of @nr entries of child @c out with one request to its
 * zapper, before reclaim unmaps them: each page's data is then its folio's
 * (read from the staging page where only the child relies on the folio,
 * compared before the move where others do), as after pager_age() for the
 * root's pages, and child_evict() finds the page gone and needs no round
 * trip of its own. The entries stay present: a folio reclaim keeps after all
 * is installed again at the child's next access, like an aged page. Nothing
 * installs one meanwhile: the fork thread serves the child's faults under
 * ev_lock, which this holds throughout.
 * Context: no lock held; @c lives (the caller is counted in f->batching and
 * saw @c published after that). Return: pages moved out.
 */
static unsigned child_move_batch(struct fork_child *c, struct batch_page *pg, unsigned nr)
{
	char buf[PAGE_SIZE] __attribute__((aligned(64)));
	struct fork_zap *z = c->zap;
	unsigned n = 0, moved = 0;
	int res[ZAP_STAGE];

	if (atomic_load_acquire(&c->no_evict) || !ev_trylock(c))
		return 0;
	if (!child_evicts(c) || pager_frozen(c->f->p) || zap_stalled(c) || !child_mem_ready(c))
		goto out;
	for (unsigned i = 0; i < nr && n < ZAP_STAGE; i++) {
		struct batch_page b = pg[i];
		struct ulock *ptl;
		pte_t *ptep = child_pte_offset_lock(&c->mm, b.addr, false, &ptl);
		bool ready;

		if (IS_ERR_OR_NULL(ptep))
			continue;
		b.pte = ptep_get(ptep);
		ready = batch_page_ready(c, &b, buf);
		ulock_unlock(ptl);
		if (!ready)
			continue;
		z->addrs[n] = b.addr;
		pg[n++] = b;
	}
	if (!n)
		goto out;
	z->nr = n;
	/* Staging emptied first: every page read from it was read by then. */
	if (zap_call(c, ZAP_OP_BATCH | ZAP_EMPTY, 0, 0, res)) {
		for (unsigned i = 0; i < n; i++)
			if (pg[i].wp && pte_write(pg[i].pte))
				uffd_wp(c->uffd, pg[i].addr, false);
		goto out;
	}
	c->stage_used = n;
	for (unsigned i = 0; i < n; i++) {
		struct batch_page *b = &pg[i];
		struct ulock *ptl;
		pte_t *ptep, pte;

		if (res[i]) {
			/* Pinned (EBUSY), or gone meanwhile: it stays. */
			if (b->wp && pte_write(b->pte))
				uffd_wp(c->uffd, b->addr, false);
			continue;
		}
		moved++;
		if (!b->sole)
			continue; /* compared: the folio's data is the page */
		/* Not read: the child is exiting, the page goes with it. */
		if (!child_read_mem(c, buf, atomic_load_relaxed(&z->stage) + i * PAGE_SIZE))
			continue;
		ptep = child_pte_offset_lock(&c->mm, b->addr, false, &ptl);
		if (IS_ERR_OR_NULL(ptep))
			continue;
		/*
		 * ev_lock keeps the entry mapping the folio (every change of
		 * what it maps takes ev_lock; reclaim may only clear its
		 * accessed bit meanwhile).
		 */
		pte = ptep_get(ptep);
		if (pte_present(pte) && pte_folio(pte) == b->folio &&
		    (folio_test_owner_priv(b->folio) || memcmp(buf, b->folio->data, PAGE_SIZE))) {
			memcpy(b->folio->data, buf, PAGE_SIZE);
			folio_clear_owner_priv(b->folio);
			folio_mark_dirty(b->folio);
		}
		ulock_unlock(ptl);
	}
out:
	ev_unlock(c);
	atomic_fetch_add_relaxed(&c->f->zap_batched, (unsigned long)moved);
	return moved;
}

/*
 * The children's pages of batch @x, made theirs before their zappers move
 * them out (pid_unshare()): with no lock held, and with the batch not
 * counted meanwhile (a read that faults waits for the fork thread, which
 * may be waiting in child_end() for the batches counted to go). Children
 * seen published before are read through their ids: a child gone since
 * fails the read, or an unrelated process that took the id is read one
 * byte of (unshared, no data changed). Not from a thread serving faults.
 * Context: counted in f->batching on entry and on return.
 */
static void batch_unshare_children(struct pager_forks *f, struct batch_ctx *x)
{
	int32_t pid[BATCH_MAX], tid[BATCH_MAX];
	unsigned n = 0;

	if (fork_serving)
		return;
	for (unsigned i = 0; i < x->nr; i++) {
		struct fork_child *c = x->child[i];

		pid[i] = tid[i] = 0;
		if (!c || atomic_load_seq_cst(&f->children[x->slot[i]]) != c)
			continue;
		pid[i] = c->pid;
		tid[i] = child_zap_tid(c);
		n++;
	}
	if (!n)
		return;
	if (atomic_fetch_sub_acq_rel(&f->batching, 1U) == 1U)
		futex_wake_all_u32(&f->batching);
	for (unsigned i = 0; i < x->nr; i++)
		if (pid[i])
			pid_unshare(pid[i], tid[i], x->pg[i].addr);
	atomic_fetch_add_seq_cst(&f->batching, 1U);
}

/*
 * The mm layer's reclaim_batch hook: before a batch is unmapped, the pages
 * of it that forked children map are moved out of each child with one
 * request per child (child_move_batch()). Not in a thread that serves
 * faults (fork_serving): it must not wait for a zapper. Context: no lock
 * held; the folios are isolated, not locked.
 */
static void fork_reclaim_batch(struct list_head *folios, void *arg)
{
	struct pager_forks *f = arg;
	struct batch_ctx x;
	struct batch_page pg[BATCH_MAX];
	struct folio *folio;
	bool any = false;

	if ((fork_serving && !fork_ev_held) || pager_frozen(f->p))
		return;
	/*
	 * Children seen from here on stay allocated until we are done
	 * (child_end() empties a slot, then waits for the batches counted):
	 * counted before the first look at a child, whose pointer is followed.
	 */
	atomic_fetch_add_seq_cst(&f->batching, 1U);
	for (unsigned i = 0; i < MAX_CHILDREN && !any; i++) {
		struct fork_child *c = atomic_load_seq_cst(&f->children[i]);

		if (c)
			race_point("fork_batch:child_seen");
		any = c && child_batchable(c);
	}
	x.nr = 0;
	x.nr_root = 0;
	/* A thread that serves faults must not fault on our own pages. */
	x.root = fork_serving ? NULL : pager_root_mm(f->p);
	list_for_each_entry (folio, folios, lru) {
		if (x.nr == BATCH_MAX || !any)
			break;
		if (folio_test_large(folio) || folio_shmem(folio) || !folio_mapped(folio) ||
		    !folio_trylock(folio))
			continue;
		rmap_walk_anon(folio, batch_collect_one, &x);
		folio_unlock(folio);
	}
	/*
	 * Our pages of folios a child maps too: the kernel may still share
	 * them with the child (the fork left every resident page so), and
	 * then moves neither side's out until one of them writes. Unshared
	 * now, ours leaves in this round, and the child's after its own
	 * unshare (child_move_batch()). Before, such pages stayed until a
	 * write, out of the budget, which let the tree grow to twice it.
	 */
	for (unsigned i = 0; i < x.nr_root; i++)
		pager_unshare_page(f->p, x.root_addr[i]);
	batch_unshare_children(f, &x);
	for (unsigned i = 0; i < x.nr; i++) {
		struct fork_child *c = x.child[i];
		unsigned n = 0;

		/*
		 * Unpublished meanwhile: child_end() may be past its wait for us
		 * (and @c freed: not even c->slot may be read then).
		 */
		if (!c || atomic_load_seq_cst(&f->children[x.slot[i]]) != c)
			continue;
		for (unsigned j = i; j < x.nr; j++) {
			if (x.child[j] != c)
				continue;
			pg[n++] = x.pg[j];
			x.child[j] = NULL;
		}
		child_move_batch(c, pg, n);
	}
	if (atomic_fetch_sub_acq_rel(&f->batching, 1U) == 1U)
		futex_wake_all_u32(&f->batching);
}

/* ---- counting ---- */

/* Count a fault at @addr of @mm in @st before it is resolved. */
static void note_fault(struct uswap *sw, struct mm_struct *mm, unsigned long addr,
		       struct fork_proc_stats *st)
{
	struct ulock *ptl;
	pte_t *ptep = mm->ops->pte_offset_lock(mm, addr, false, &ptl), pte = __pte(0);
	struct folio *folio;
	swp_entry_t entry;

	atomic_fetch_add_relaxed(&st->faults, 1UL);
	if (IS_ERR_OR_NULL(ptep))
		return;
	pte = ptep_get(ptep);
	ulock_unlock(ptl);
	if (!is_swap_pte(pte))
		return;
	entry = pte_to_swp_entry(pte);
	atomic_fetch_add_relaxed(&st->swapins, 1UL);
	/* Hints: the entry may change meanwhile; the figures are statistics. */
	folio = swap_cache_get_folio(sw, entry);
	if (folio) {
		/*
		 * Our entry is still a swap entry, yet the folio is cached: another
		 * address space of the tree brought it in (the pager reads no pages
		 * ahead into the cache, and one process's faults are serialized).
		 */
		atomic_fetch_add_relaxed(&st->shared_hits, 1UL);
		folio_put(folio);
	} else if (swp_swapcount(sw, entry) >= 2) {
		atomic_fetch_add_relaxed(&st->shared_reads, 1UL);
	}
}

void pager_fork_note_fault(struct uswap_pager *p, struct mm_struct *mm, unsigned long addr)
{
	struct pager_forks *f = pager_fork_state(p);

	if (f)
		note_fault(pager_engine(p), mm, addr, &f->root);
}

/* ---- children: birth ---- */

/*
 * Claim a free slot for @c and publish it there (its figures reset first).
 * Under stats_lock: the fault thread and the fork thread (a nested fork)
 * both publish, and a reader of the figures must not see a slot's reset
 * half done. Return: whether a slot was free.
 */
static bool publish_child(struct pager_forks *f, struct fork_child *c)
{
	bool done = false;

	ulock_lock(&f->stats_lock);
	for (unsigned i = 0; i < MAX_CHILDREN && !done; i++) {
		if (atomic_load_relaxed(&f->children[i]))
			continue;
		c->slot = i;
		memset(&f->stats[i], 0, sizeof(f->stats[i]));
		atomic_store_relaxed(&f->stats[i].live, 1U);
		atomic_store_release(&f->children[i], c);
		done = true;
	}
	ulock_unlock(&f->stats_lock);
	return done;
}

/* Set up the child of @parent whose userfaultfd is @ufd. Context: a paging thread. */
static void fork_child_new(struct pager_forks *f, struct mm_struct *parent, int ufd)
{
	struct fork_child *c = arena_zalloc(forks_arena(f), sizeof(*c));
	int err = -ENOMEM;

	if (c) {
		c->f = f;
		c->uffd = ufd;
		c->pagemap_fd = -1;
		c->mem_fd = -1;
		c->zap_ufd = -1;
		ulock_init(&c->ev_lock, LOCK_RANK_MODEL);
		err = mm_fork(&c->mm, parent, &child_mm_ops);
		/* The child runs meanwhile: its hello waits until it is published. */
		race_point("fork:child_setup");
		/* On failure mm_fork released the child (child_release). */
		if (!err && !publish_child(f, c)) {
			mmput(&c->mm);
			err = -EMFILE;
		}
	}
	if (err) {
		char msg[200];

		snprintf(msg, sizeof(msg),
			 "uswap: cannot page a forked child (%s): its swapped pages are not "
			 "served\n",
			 strerror(-err));
		say(msg);
		close(ufd);
		return;
	}
	atomic_fetch_add_relaxed(&f->forks, 1UL);
	fork_wake(f);
}

void pager_fork_event(struct uswap_pager *p, struct mm_struct *parent, int ufd)
{
	struct pager_forks *f = pager_fork_state(p);

	if (!f || !atomic_load_acquire(&f->enabled)) {
		close(ufd);
		return;
	}
	fork_child_new(f, parent, ufd);
	atomic_fetch_add_acq_rel(&f->forks_done, 1U);
	futex_wake_all_u32(&f->forks_done);
}

void pager_fork_prepare(struct uswap_pager *p)
{
	struct pager_forks *f = pager_fork_state(p);

	if (f)
		atomic_fetch_add_acq_rel(&f->forks_begun, 1U);
}

void pager_fork_parent(struct uswap_pager *p)
{
	struct pager_forks *f = pager_fork_state(p);
	uint32_t begun, done;

	if (!f || !atomic_load_acquire(&f->enabled))
		return;
	begun = atomic_load_acquire(&f->forks_begun);
	/*
	 * fork() returns once the fault thread read the FORK event; wait until
	 * it also set the child up, so that what the parent does next (close
	 * the pager, exit and hand its children their pages) sees the child.
	 * Bounded: a fork that failed sends no event.
	 */
	for (unsigned i = 0; i < 100; i++) {
		done = atomic_load_acquire(&f->forks_done);
		if ((int32_t)(done - begun) >= 0)
			break;
		futex_wait_ns(&f->forks_done, done, 50000000);
	}
}

/* ---- children: faults and events ---- */

static void child_sigbus(const struct child_pending *pf, int err)
{
	char msg[160];

	snprintf(msg, sizeof(msg),
		 "uswap: cannot bring back the page at %#lx of a forked child (%s): SIGBUS to "
		 "thread %u\n",
		 pf->addr, strerror(-err), pf->tid);
	say(msg);
	syscall(SYS_tkill, pf->tid, SIGBUS);
}

/*
 * Resolve one fault of child @c. Context: @c's ev_lock held (child_read(),
 * child_retry_locked()). Return: 0 or -EAGAIN (retry after its events).
 */
static int child_fault(struct fork_child *c, struct child_pending *pf, bool first)
{
	struct fork_proc_stats *st = &c->f->stats[c->slot];
	bool wp = pf->flags & UFFD_PAGEFAULT_FLAG_WP;
	bool write = wp || (pf->flags & UFFD_PAGEFAULT_FLAG_WRITE);
	int err, tries = 0;

	if (first) {
		if (!atomic_load_relaxed(&st->pid))
			atomic_store_relaxed(&st->pid, (int32_t)pf->tid);
		note_fault(pager_engine(c->f->p), &c->mm, pf->addr, st);
	}
	for (;;) {
		err = handle_mm_fault(&c->mm, pf->addr, write ? FAULT_FLAG_WRITE : 0);
		if (err == -ENOMEM && ++tries < 100) {
			try_to_free_pages(pager_engine(c->f->p), SWAP_CLUSTER_MAX);
			continue;
		}
		if (err) {
			child_sigbus(pf, err);
			return 0;
		}
		err = pager_install_in(&c->mm, c->uffd, pf->addr, wp, write);
		if (err != -ENOENT)
			break;
	}
	if (err == -EAGAIN)
		return err;
	if (err == -EFAULT) {
		/*
		 * Nothing registered there any more (the child unmapped or
		 * replaced the range meanwhile, its event read with the
		 * fault): drop the entry the fault made and wake the thread,
		 * whose access then goes as without the pager (the new
		 * mapping, or SIGSEGV), as pager_fault_gone() does for ours.
		 */
		struct uffdio_range r = {.start = pf->addr, .len = PAGE_SIZE};

		/* Under @c's ev_lock, held to serve its faults, as for its events. */
		zap_page_range(&c->mm, pf->addr, pf->addr + PAGE_SIZE);
		ioctl(c->uffd, UFFDIO_WAKE, &r);
		return 0;
	}
	if (err)
		child_sigbus(pf, err);
	return 0;
}

/*
 * Offer child @c, whose hello named it @pid, the number of our descriptor
 * of its userfaultfd, for it to take a copy (hold_take()): once it holds
 * one, our death leaves its ranges registered, and its faults wait instead
 * of reading zeros. When we are leaving already (orphaning), it is told
 * not to: it gets its pages, and its ranges go with our descriptor.
 * Context: the fork thread, @c's ev_lock held.
 */
static void hold_offer(struct fork_child *c, int32_t pid)
{
	struct pager_forks *f = c->f;
	struct fork_hold_area *h = f->hold_area;
	struct fork_hold *s;

	c->pid = pid;
	atomic_store_relaxed(&f->stats[c->slot].pid, pid);
	if (!h)
		return;
	/* A slot still naming a process gone whose pid came back. */
	for (unsigned i = 0; i < MAX_CHILDREN; i++)
		if (i != c->slot && atomic_load_relaxed(&h->hold[i].pid) == pid)
			atomic_store_release(&h->hold[i].pid, 0);
	s = &h->hold[c->slot];
	atomic_store_relaxed(&s->fd, (int32_t)c->uffd);
	atomic_store_relaxed(&s->state, atomic_load_acquire(&f->orphan_req)
						? (uint32_t)HOLD_WITHDRAWN
						: (uint32_t)HOLD_OFFERED);
	atomic_store_release(&s->pid, pid);
	atomic_fetch_add_acq_rel(&h->gen, 1U);
	futex_wake_all_u32(&h->gen);
}

/*
 * Withdraw the offer made to child @c: it takes no copy from now on.
 * Return: whether our descriptor of its userfaultfd may be closed (false
 * while the child is in the middle of taking it: stopped there for over a
 * second, the descriptor is left open rather than have its number reused
 * under the child's pidfd_getfd()). Context: the fork thread, or the one
 * that stopped it.
 */
static bool hold_withdraw(struct fork_child *c)
{
	struct fork_hold_area *h = c->f->hold_area;
	struct fork_hold *s = h ? &h->hold[c->slot] : NULL;
	uint32_t st = HOLD_OFFERED;

	if (!s || !c->pid || atomic_load_acquire(&s->pid) != c->pid)
		return true;
	if (atomic_cmpxchg_acq_rel(&s->state, &st, (uint32_t)HOLD_WITHDRAWN))
		return true;
	for (unsigned i = 0; i < 1000 && st == HOLD_TAKING; i++) {
		struct timespec ms = {0, 1000000};

		nanosleep(&ms, NULL);
		st = atomic_load_acquire(&s->state);
	}
	return st != HOLD_TAKING;
}

/*
 * Child @c has all its pages (child_orphan()): unregister its ranges
 * through its userfaultfd, whose context may outlive our descriptor (the
 * copy the child holds, or one a later sibling inherited from us). Left
 * registered, a first touch of a page it never had would wait for a pager
 * that is gone. The ranges are the child's mappings (/proc/PID/maps, read
 * without allocating); those that cannot be registered just fail.
 * Context: the fork thread, or the one that stopped it.
 */
static void child_unregister(struct fork_child *c)
{
	int32_t pid = c->pid ? c->pid : atomic_load_relaxed(&c->f->stats[c->slot].pid);
	char path[64], buf[4096];
	size_t have = 0;
	bool skip = false; /* in the middle of a line longer than the buffer */
	int fd;

	if (pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		char *line = buf, *nl;

		if (n <= 0)
			break;
		have += (size_t)n;
		while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
			char *end;
			unsigned long start = strtoul(line, &end, 16), stop;

			if (!skip && *end == '-') {
				stop = strtoul(end + 1, NULL, 16);
				if (start < stop && stop <= VA_END) {
					struct uffdio_range r = {.start = start,
								 .len = stop - start};

					ioctl(c->uffd, UFFDIO_UNREGISTER, &r);
				}
			}
			skip = false;
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == sizeof(buf)) {
			have = 0;
			skip = true;
		}
	}
	close(fd);
}

/*
 * A REMOVE event of child @c at @addr: if it is the child's hello (its
 * MADV_DONTNEED of the mailbox page its pid names, see fork_atfork_child()),
 * offer it its userfaultfd and give its zapper the channel of @c's slot.
 * Return: whether it was. Context: the fork thread, @c's ev_lock held.
 */
static bool child_hello(struct fork_child *c, unsigned long addr)
{
	struct pager_forks *f = c->f;
	unsigned long mb = (unsigned long)f->mailbox;
	struct fork_zap_area *a = f->zap_area;
	struct fork_zap *z;
	char path[64];
	int32_t pid;

	if (!mb || addr < mb || addr >= mb + f->mailbox_pages * PAGE_SIZE)
		return false;
	pid = (int32_t)((addr - mb) >> PAGE_SHIFT);
	if (pid > 0 && !c->pid)
		hold_offer(c, pid);
	if (!a || c->zap || pid <= 0 || atomic_load_relaxed(&c->no_evict))
		return true;
	/* A slot still naming a process gone whose pid came back. */
	for (unsigned i = 0; i < MAX_CHILDREN; i++)
		if (i != c->slot && atomic_load_relaxed(&a->zap[i].pid) == pid)
			atomic_store_release(&a->zap[i].pid, 0);
	z = &a->zap[c->slot];
	atomic_store_relaxed(&z->attached, 0U);
	atomic_store_relaxed(&z->quit, 0U);
	atomic_store_relaxed(&z->stage, 0UL);
	atomic_store_relaxed(&z->tid, 0);
	atomic_store_relaxed(&z->req, 0U);
	atomic_store_relaxed(&z->done, 0U);
	atomic_store_relaxed(&z->claim, (uint32_t)ZAP_CANCELLED);
	atomic_store_release(&z->pid, pid);
	c->pid = pid;
	/* The child runs on meanwhile: its main thread may leave before the opens. */
	race_point("fork:hello_open");
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	c->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	c->mem_fd = child_proc_open(pid, pid, "mem");
	c->stage_used = 0;
	/* Published last: a reclaim batch reads it without a lock (child_evicts()). */
	atomic_store_release(&c->zap, z);
	atomic_store_relaxed(&f->stats[c->slot].pid, pid);
	atomic_fetch_add_acq_rel(&a->gen, 1U);
	futex_wake_all_u32(&a->gen);
	return true;
}

static void child_event(struct fork_child *c, const struct uffd_msg *m)
{
	unsigned long start, end;

	switch (m->event) {
	case UFFD_EVENT_REMOVE:
		if (child_hello(c, (unsigned long)m->arg.remove.start))
			break;
		__attribute__((fallthrough));
	case UFFD_EVENT_UNMAP:
		start = ALIGN_DOWN((unsigned long)m->arg.remove.start, PAGE_SIZE);
		end = min(ALIGN_UP((unsigned long)m->arg.remove.end, PAGE_SIZE), VA_END);
		if (start < end)
			zap_page_range(&c->mm, start, end);
		break;
	case UFFD_EVENT_REMAP:
		if (m->arg.remap.from + m->arg.remap.len <= VA_END &&
		    m->arg.remap.to + m->arg.remap.len <= VA_END)
			move_page_range(&c->mm, m->arg.remap.from, m->arg.remap.to,
					m->arg.remap.len);
		break;
	case UFFD_EVENT_FORK:
		/* A grandchild: the same engine, the same thread serves it. */
		fork_child_new(c->f, &c->mm, (int)m->arg.fork.ufd);
		break;
	default:
		break;
	}
}

/* As pager_defer(): a fault with no room to wait in is handed back, never dropped. */
static void child_defer(struct fork_child *c, const struct child_pending *pf)
{
	struct uffdio_range r = {.start = pf->addr, .len = PAGE_SIZE};

	if (c->nr_retry < CHILD_RETRY)
		c->retry[c->nr_retry++] = *pf;
	else
		ioctl(c->uffd, UFFDIO_WAKE, &r);
}

static void child_retry(struct fork_child *c)
{
	unsigned n = c->nr_retry;

	c->nr_retry = 0;
	for (unsigned i = 0; i < n; i++) {
		struct child_pending pf = c->retry[i];

		if (child_fault(c, &pf, false) == -EAGAIN)
			child_defer(c, &pf);
	}
}

/*
 * Read and serve what child @c's userfaultfd holds; with @wait, wait for an
 * eviction of @c that holds its ev_lock. Return: messages read, or -EBUSY
 * (without @wait: an eviction of @c holds the lock, nothing was read).
 */
static int child_read(struct fork_child *c, bool wait)
{
	struct uffd_msg msgs[CHILD_MSGS];
	unsigned nr, i;
	ssize_t n;

	/*
	 * No event is read and no fault served while an eviction of this
	 * child runs: a munmap, mremap or madvise that began meanwhile cannot
	 * return, so the page the zapper moves out is still the one the entry
	 * stands for, and a page moved out stays out until its data is in the
	 * folio (child_move_batch()). Tried first: the fork thread serves the
	 * other children before it waits for an eviction (fork_main()).
	 */
	if (wait)
		ulock_lock(&c->ev_lock);
	else if (!ulock_trylock(&c->ev_lock))
		return -EBUSY;
	n = read(c->uffd, msgs, sizeof(msgs));
	if (n <= 0) {
		ulock_unlock(&c->ev_lock);
		return 0;
	}
	fork_ev_held = c;
	nr = (unsigned)(n / (ssize_t)sizeof(msgs[0]));
	for (i = 0; i < nr; i++)
		if (msgs[i].event != UFFD_EVENT_PAGEFAULT)
			child_event(c, &msgs[i]);
	child_retry(c);
	for (i = 0; i < nr; i++) {
		struct child_pending pf;

		if (msgs[i].event != UFFD_EVENT_PAGEFAULT)
			continue;
		pf.addr = msgs[i].arg.pagefault.address & PAGE_MASK;
		pf.flags = (unsigned)msgs[i].arg.pagefault.flags;
		pf.tid = msgs[i].arg.pagefault.feat.ptid;
		if (child_fault(c, &pf, true) == -EAGAIN)
			child_defer(c, &pf);
	}
	fork_ev_held = NULL;
	ulock_unlock(&c->ev_lock);
	return (int)nr;
}

/* child_retry() under @c's ev_lock, if it is free. */
static void child_retry_locked(struct fork_child *c)
{
	if (!ulock_trylock(&c->ev_lock))
		return;
	fork_ev_held = c;
	child_retry(c);
	fork_ev_held = NULL;
	ulock_unlock(&c->ev_lock);
}

/* ---- children: death ---- */

/* Return: whether child @c's address space still exists (a harmless probe). */
static bool child_alive(struct fork_child *c)
{
	/* The staging area is never registered in a child: the call changes nothing. */
	struct uffdio_zeropage z = {
		.range = {.start = pager_probe_addr(c->f->p), .len = PAGE_SIZE},
		.mode = UFFDIO_ZEROPAGE_MODE_DONTWAKE,
	};

	return !(ioctl(c->uffd, UFFDIO_ZEROPAGE, &z) && errno == ESRCH);
}

/* Wait until no reclaim batch is looking at the children (f->batching). */
static void wait_reclaim_batches(struct pager_forks *f)
{
	for (uint32_t n; (n = atomic_load_seq_cst(&f->batching));)
		futex_wait_ns(&f->batching, n, 1000000);
}

/*
 * The child's address space is @gone (or we are stopping): let go of its
 * entries. Context: the fork thread, or the one that stopped it.
 */
static void child_end(struct pager_forks *f, struct fork_child *c, bool gone)
{
	struct fork_proc_stats *st = &f->stats[c->slot];
	int fd = gone || hold_withdraw(c) ? c->uffd : -1, pmfd, memfd;

	if (c->zap)
		atomic_store_release(&c->zap->pid, 0);
	/*
	 * Counted as a child until its entries are let go: whoever waits for
	 * the children to be released (the tests, before the checker) must not
	 * see none while mmput() frees their slots.
	 */
	atomic_fetch_add_acq_rel(&f->ending, 1U);
	/*
	 * No eviction of @c counts in its figures from here on: one that holds
	 * its ev_lock is done first, and the next one finds no_evict set once
	 * it has the lock (child_evicts()).
	 */
	atomic_store_release(&c->no_evict, true);
	ulock_lock(&c->ev_lock);
	ulock_unlock(&c->ev_lock);
	/* Opened by evictions too (child_mem_ready()), which are over. */
	pmfd = c->pagemap_fd;
	memfd = c->mem_fd;
	/* No request of ours is settled any more (zap_settle()). */
	if (c->zap_ufd >= 0)
		close(c->zap_ufd);
	c->zap_ufd = -1;
	/*
	 * Its figures move to the gone ones as its slot empties, under
	 * stats_lock: a reader of the figures counts them once, and is done
	 * with @c (it read it published under the lock) before it is freed.
	 */
	ulock_lock(&f->stats_lock);
	atomic_fetch_add_relaxed(&f->gone.faults, atomic_load_relaxed(&st->faults));
	atomic_fetch_add_relaxed(&f->gone.swapins, atomic_load_relaxed(&st->swapins));
	atomic_fetch_add_relaxed(&f->gone.shared_hits, atomic_load_relaxed(&st->shared_hits));
	atomic_fetch_add_relaxed(&f->gone.shared_reads, atomic_load_relaxed(&st->shared_reads));
	atomic_fetch_add_relaxed(&f->gone.swapouts, atomic_load_relaxed(&st->swapouts));
	atomic_store_relaxed(&st->live, 0U);
	atomic_store_seq_cst(&f->children[c->slot], NULL);
	ulock_unlock(&f->stats_lock);
	if (f->hold_area && atomic_load_relaxed(&f->hold_area->hold[c->slot].pid) == c->pid)
		atomic_store_release(&f->hold_area->hold[c->slot].pid, 0);
	/*
	 * A reclaim batch that may have found @c before it was unpublished
	 * uses it until it is done (fork_reclaim_batch()): wait for those.
	 */
	wait_reclaim_batches(f);
	race_point("child_end:before_mmput");
	mmput(&c->mm); /* zaps: swap entries lose their count */
	if (fd >= 0)
		close(fd);
	if (pmfd >= 0)
		close(pmfd);
	if (memfd >= 0)
		close(memfd);
	/* After mmput(): who reads exited (acquire) sees the entries let go. */
	atomic_fetch_add_acq_rel(&f->exited, 1UL);
	atomic_fetch_sub_acq_rel(&f->ending, 1U);
}

static void fork_update_pinned(struct pager_forks *f);

/*
 * Give child @c its page at @addr back if it is swapped, or present with the
 * data in the folio (the parent's page was out for aging at the fork, so the
 * child's may be missing too). Context: the fork thread, or the one that
 * stopped it. Return: whether the page had to be installed.
 */
static bool child_orphan_page(struct fork_child *c, unsigned long addr)
{
	struct ulock *ptl;
	pte_t *ptep = pager_pt_lock(&c->pt, forks_arena(c->f), addr, false, &ptl);
	bool todo;
	pte_t pte;
	int err, tries = 0;

	if (IS_ERR_OR_NULL(ptep))
		return false;
	pte = ptep_get(ptep);
	todo = is_swap_pte(pte) || (pte_present(pte) && !folio_test_owner_priv(pte_folio(pte)));
	ulock_unlock(ptl);
	if (!todo)
		return false;
	do {
		err = handle_mm_fault(&c->mm, addr, 0);
		if (!err)
			err = pager_install_in(&c->mm, c->uffd, addr, false, false);
		/*
		 * An event is on its way (the kernel marks the address space
		 * changing before it queues the event): wait for it rather
		 * than spin through the tries (the zapper's hello, a munmap).
		 */
		if (err == -EAGAIN && child_read(c, true) <= 0) {
			struct pollfd pf = {.fd = c->uffd, .events = POLLIN};

			poll(&pf, 1, 1);
		}
	} while ((err == -EAGAIN || err == -ENOENT) && ++tries < 1000);
	return true;
}

/*
 * Give child @c every swapped page back: its pager is going away, and the
 * kernel zero-fills what a closed userfaultfd leaves missing.
 */
static void child_orphan(struct fork_child *c)
{
	unsigned long done = 0;

	hold_withdraw(c);

	for (unsigned long addr = 0; addr < VA_END;) {
		unsigned long block = pager_pt_next(&c->pt, ALIGN_DOWN(addr, PMD_SIZE), VA_END);

		if (block >= VA_END)
			break;
		addr = max(addr, block);
		for (unsigned long stop = block + PMD_SIZE; addr < stop; addr += PAGE_SIZE)
			/* The reclaim thread leaves the children's pages out of its count. */
			if (child_orphan_page(c, addr) && ++done % 64 == 0)
				fork_update_pinned(c->f);
	}
	child_unregister(c);
}

/*
 * Child @c is being orphaned: no page of it leaves any more, and its zapper
 * thread exits (the channel must not outlive the pager). Context: the fork
 * thread, or the one that stopped it.
 */
static void child_stop_evicting(struct fork_child *c)
{
	int res;

	atomic_store_release(&c->no_evict, true);
	ulock_lock(&c->ev_lock);
	if (c->zap && atomic_load_acquire(&c->zap->attached))
		zap_call(c, ZAP_OP_EXIT, 0, 0, &res);
	ulock_unlock(&c->ev_lock);
}

/*
 * Orphan every published child not orphaned yet, looking at children[] as
 * it is now. Context: the fork thread, or the one that stopped it.
 * Return: children orphaned (a nested fork read meanwhile asks for a pass more).
 */
static unsigned orphan_pass(struct pager_forks *f)
{
	unsigned n = 0;

	for (unsigned i = 0; i < MAX_CHILDREN; i++) {
		struct fork_child *c = atomic_load_acquire(&f->children[i]);

		if (!c || atomic_load_relaxed(&c->no_evict))
			continue;
		child_stop_evicting(c);
		child_orphan(c);
		n++;
	}
	return n;
}

/* ---- the fork thread ---- */

/*
 * The children's pages cannot be evicted (see the top): the budget the mm
 * layer enforces is the root's budget plus what the live children map, so
 * that neither the reclaim thread nor a fault scans the LRU over and over
 * for pages it can never take. Once the children are being orphaned the
 * engine has no budget any more (orphan_req): what comes in now is the
 * children's, and the pager is leaving. Context: the fork thread, or the
 * one that stopped it.
 */
static void fork_update_pinned(struct pager_forks *f)
{
	unsigned long pinned = 0;

	for (unsigned i = 0; i < MAX_CHILDREN; i++) {
		struct fork_child *c = atomic_load_acquire(&f->children[i]);

		if (!c)
			continue;
		/* A child with a zapper evicts: its pages are the budget's like the root's. */
		if (!child_evicts(c) || zap_stalled(c))
			pinned += (unsigned long)max(atomic_load_relaxed(&c->mm.nr_anon), 0L);
	}
	if (pinned == atomic_load_relaxed(&f->pinned))
		return;
	atomic_store_relaxed(&f->pinned, pinned);
	if (!atomic_load_acquire(&f->orphan_req))
		mm_set_budget(pager_engine(f->p), pager_budget_pages(f->p) + pinned);
}

unsigned long pager_fork_pinned(struct uswap_pager *p)
{
	struct pager_forks *f = pager_fork_state(p);

	return f ? atomic_load_relaxed(&f->pinned) : 0;
}

static void *fork_main(void *arg)
{
	struct pager_forks *f = arg;
	struct pollfd fds[MAX_CHILDREN + 1];
	struct fork_child *who[MAX_CHILDREN + 1];
	uint64_t last_probe = now_ns(), last_msg = 0;

	fork_serving = true;
	while (!atomic_load_acquire(&f->stopping)) {
		struct fork_child *blocked;
		unsigned nfds = 1;
		bool retries = false, busy, served;
		int r;

		fds[0] = (struct pollfd){.fd = f->wake_fd, .events = POLLIN};
		for (unsigned i = 0; i < MAX_CHILDREN; i++) {
			struct fork_child *c = atomic_load_acquire(&f->children[i]);

			if (!c)
				continue;
			who[nfds] = c;
			fds[nfds++] = (struct pollfd){.fd = c->uffd, .events = POLLIN};
			retries |= c->nr_retry > 0;
		}
		fork_update_pinned(f);
		race_point("fork:polling");
		busy = now_ns() - last_msg < 50000;
		r = poll(fds, nfds, busy ? 0 : retries ? 1 : (int)(PROBE_NS / 1000000));
		if (r < 0 && errno != EINTR)
			break;
		if (fds[0].revents & POLLIN) {
			uint64_t v;

			if (read(f->wake_fd, &v, sizeof(v)) < 0)
				v = 0;
		}
		blocked = NULL;
		served = false;
		for (unsigned i = 1; i < nfds; i++) {
			if (fds[i].revents & POLLIN) {
				int n = child_read(who[i], false);

				if (n > 0) {
					last_msg = now_ns();
					served = true;
				} else if (n == -EBUSY) {
					blocked = who[i];
				}
			} else if (who[i]->nr_retry) {
				child_retry_locked(who[i]);
			}
		}
		/*
		 * A child with messages whose eviction holds its ev_lock (a batch
		 * waiting for its zapper): wait for it once nothing else is to
		 * be done, rather than spin on its readable userfaultfd.
		 */
		if (blocked && !served && child_read(blocked, true) > 0)
			last_msg = now_ns();
		race_point("fork:orphan_check");
		if (atomic_load_acquire(&f->orphan_req)) {
			/*
			 * Not who[]: a child published since it was filled (a
			 * fork just before the request, both seen in one wake-up)
			 * would be left out, and read zeros once we are gone.
			 */
			if (!atomic_load_relaxed(&f->orphan_done))
				mm_set_budget(pager_engine(f->p), 0);
			while (orphan_pass(f))
				;
			if (!atomic_load_relaxed(&f->orphan_done)) {
				if (f->hold_area)
					atomic_store_release(&f->hold_area->orphaned, 1U);
				atomic_store_release(&f->orphan_done, 1U);
				futex_wake_all_u32(&f->orphan_done);
			}
		}
		if (now_ns() - last_probe >= PROBE_NS) {
			last_probe = now_ns();
			for (unsigned i = 1; i < nfds; i++)
				if (!child_alive(who[i]))
					child_end(f, who[i], true);
		}
	}
	return NULL;
}

/* ---- the zapper: a child's own thread that moves its pages out ---- */

/*
 * The zapper thread of a forked child. It runs no engine code and takes no
 * lock: it waits on its request word in the shared zap area, moves the
 * page asked for to its staging area (UFFDIO_MOVE through its own
 * userfaultfd: only a process itself may move its pages, and its own
 * MADV_DONTNEED of a registered page would raise an event for the pager),
 * empties its staging pages when asked, and says it is done. It touches
 * only its own mapping (stack, staging area, this struct) and the zap area,
 * never registered memory, so it never waits for the pager. Killed at any
 * instant it leaves at most a page in its staging area, which is the
 * child's own memory and goes with it. Asked to stop for good
 * (self->quit, pager_fork_zapper_stop()), it says so in its channel
 * (z->quit) before it claims anything more, and returns. Stopped in the
 * middle of a request, it may find it withdrawn or settled by the root once
 * continued (zap_call()): then it moves nothing (the claim no longer turns
 * into ZAP_MOVING), or its moves into staging pages the root filled fail
 * with EEXIST, and those pages stay.
 */
static void zap_serve(struct zap_self *self)
{
	struct fork_zap_area *a = self->area;
	struct fork_zap *z = NULL;
	uint32_t seen = 0;

	/*
	 * Find the slot the root gave this process. The child's hello (its
	 * madvise) returns once the fork thread read it, which may take long
	 * on a busy machine (the fork thread serves every process of the tree;
	 * the root may still be setting the child up): not bounded until then.
	 * The root answers a hello as soon as it read it: bounded (5 s) from
	 * there on. A zapper that gave up before the answer came would leave
	 * the child without eviction for the rest of its life.
	 */
	for (unsigned tries = 0; !z && tries < 500;) {
		uint32_t gen = atomic_load_acquire(&a->gen);

		if (atomic_load_acquire(&a->closed) || atomic_load_seq_cst(&self->quit))
			return;
		for (unsigned i = 0; i < MAX_CHILDREN && !z; i++)
			if (atomic_load_acquire(&a->zap[i].pid) == self->pid)
				z = &a->zap[i];
		if (z)
			break;
		if (atomic_load_acquire(&self->said))
			tries++;
		futex_wait_ns(&a->gen, gen, 10000000);
	}
	if (!z)
		return;
	/* Before quit is read again: the stopping thread then wakes us there. */
	atomic_store_seq_cst(&self->z, z);
	atomic_store_relaxed(&z->stage, (uint64_t)(uintptr_t)self->stage);
	atomic_store_relaxed(&z->tid, self->tid);
	atomic_store_relaxed(&z->ufd, (int32_t)self->fd);
	atomic_store_relaxed(&z->ufd_ino, (uint64_t)self->fd_ino);
	atomic_store_release(&z->attached, 1U);
	for (;;) {
		uint32_t req = atomic_load_acquire(&z->req), posted = ZAP_POSTED,
			 claimed = ZAP_CLAIMED;
		uint32_t op, done, idx, nr;
		unsigned long addr;
		struct uffdio_move mv;
		int32_t res = 0;

		if (atomic_load_acquire(&a->closed) || atomic_load_acquire(&z->pid) != self->pid)
			return;
		if (atomic_load_seq_cst(&self->quit)) {
			/* A request posted, not claimed: the root withdraws it (zap_call()). */
			atomic_store_release(&z->quit, 1U);
			futex_wake_all_u32(&z->done);
			return;
		}
		if (req == seen) {
			futex_wait_ns(&z->req, seen, 1000000000ULL);
			continue;
		}
		seen = req;
		race_point("zap:before_claim");
		/* Told to stop meanwhile: the root withdraws this request (zap_call()). */
		if (atomic_load_seq_cst(&self->quit))
			continue;
		if (!atomic_cmpxchg_acq_rel(&z->claim, &posted, (uint32_t)ZAP_CLAIMED)) {
			/* Withdrawn (or already done): nothing to do. */
			atomic_store_release(&z->done, seen);
			futex_wake_all_u32(&z->done);
			continue;
		}
		/*
		 * The request as claimed: once the root withdrew or settled it, it
		 * may post ZAP_OP_EXIT (child_stop_evicting()) before our done.
		 */
		op = z->op;
		done = z->seq;
		idx = z->idx;
		addr = z->addr;
		nr = min(z->nr, (uint32_t)ZAP_STAGE);
		if (op & ZAP_EMPTY)
			madvise(self->stage, ZAP_STAGE * PAGE_SIZE, MADV_DONTNEED);
		race_point("zap:before_moving");
		/*
		 * Staging emptied: the moves begin unless the root withdrew the
		 * request meanwhile (we are stopped too long, zap_call()). From
		 * here on it settles the request slot by slot instead (a slot it
		 * filled makes our move into it fail with EEXIST: the page stays).
		 */
		if ((op & 0xff) != ZAP_OP_EXIT &&
		    !atomic_cmpxchg_acq_rel(&z->claim, &claimed, (uint32_t)ZAP_MOVING))
			op = 0;
		if ((op & 0xff) == ZAP_OP_OUT) {
			mv = (struct uffdio_move){
				.dst = (unsigned long)self->stage + (unsigned long)idx * PAGE_SIZE,
				.src = addr,
				.len = PAGE_SIZE,
				.mode = UFFDIO_MOVE_MODE_DONTWAKE,
			};
			if (idx >= ZAP_STAGE)
				res = -EINVAL;
			else if (ioctl(self->fd, UFFDIO_MOVE, &mv))
				res = -errno;
			race_point("zap:out_moved");
		}
		if ((op & 0xff) == ZAP_OP_BATCH) {
			for (unsigned i = 0; i < nr; i++) {
				mv = (struct uffdio_move){
					.dst = (unsigned long)self->stage + i * PAGE_SIZE,
					.src = z->addrs[i],
					.len = PAGE_SIZE,
					.mode = UFFDIO_MOVE_MODE_DONTWAKE,
				};
				atomic_store_relaxed(&z->results[i],
						     ioctl(self->fd, UFFDIO_MOVE, &mv) ? -errno
										       : 0);
				if (!i)
					race_point("zap:batch_moving");
				/* Some moved, the others not yet (tests stop here). */
				if (nr >= 2 && i + 1 == nr / 2)
					race_point("zap:batch_half");
			}
		}
		atomic_store_relaxed(&z->result, res);
		atomic_store_release(&z->done, done);
		futex_wake_all_u32(&z->done);
		if ((op & 0xff) == ZAP_OP_EXIT)
			return;
	}
}

static void *zap_main(void *arg)
{
	struct zap_self *self = arg;

	atomic_store_release(&self->tid, (int32_t)syscall(SYS_gettid));
	zap_serve(self);
	atomic_store_release(&self->gone, 1U);
	return NULL;
}

/* A userfaultfd of this process with MOVE and no events. Return: it or -1. */
static int zap_open_uffd(void)
{
	/* SIGBUS: a stray access to an empty staging page fails, never waits. */
	struct uffdio_api api = {.api = UFFD_API,
				 .features = UFFD_FEATURE_MOVE | UFFD_FEATURE_SIGBUS};
	int fd = pager_uffd_new(O_CLOEXEC);

	if (fd >= 0 && (ioctl(fd, UFFDIO_API, &api) || !(api.features & UFFD_FEATURE_MOVE))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * Unless USWAP_CHILD_EVICT=0, start this child's zapper (before its hello, see
 * fork_atfork_child(), which gives it its channel). Failing anywhere, the
 * child just does not evict (as without a zapper).
 */
static void zap_atfork_child(pid_t pid)
{
	struct fork_zap_area *a = zap_area_shared;
	size_t len = ZAP_STACK + ZAP_STAGE * PAGE_SIZE + PAGE_SIZE;
	struct uffdio_register reg = {.mode = UFFDIO_REGISTER_MODE_MISSING};
	struct zap_self *self;
	struct stat sb;
	pthread_t t;
	char *mem;
	int fd;

	if (!a || atomic_load_acquire(&a->closed))
		return;
	fd = zap_open_uffd();
	if (fd < 0)
		return;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (mem == MAP_FAILED) {
		close(fd);
		return;
	}
	self = (struct zap_self *)(mem + ZAP_STACK + ZAP_STAGE * PAGE_SIZE);
	self->area = a;
	self->stage = mem + ZAP_STACK;
	self->fd = fd;
	self->pid = (int32_t)pid;
	if (fstat(fd, &sb))
		goto fail;
	self->fd_dev = sb.st_dev;
	self->fd_ino = sb.st_ino;
	reg.range.start = (unsigned long)self->stage;
	reg.range.len = ZAP_STAGE * PAGE_SIZE;
	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		goto fail;
	if (pager_start_thread(&t, mem, ZAP_STACK, zap_main, self))
		goto fail;
	/* Joinable: pager_fork_zapper_stop() joins it. */
	zap_own_thread = t;
	zap_own = self;
	zap_mine = self;
	return;
fail:
	close(fd);
	munmap(mem, len);
}

int pager_fork_zapper_stop(void)
{
	struct zap_self *self = atomic_xchg_acq_rel(&zap_own, NULL);
	struct timespec nap = {0, 100000};
	int32_t tid;

	if (!self)
		return 0;
	atomic_store_seq_cst(&self->quit, 1U);
	/*
	 * Its wait on the request word may have begun before quit was set:
	 * wake it until it is back (a request it claimed first runs to its
	 * end, a few system calls). Bounded: 2 s.
	 */
	for (unsigned i = 0; !atomic_load_acquire(&self->gone); i++) {
		struct fork_zap *z = atomic_load_seq_cst(&self->z);

		if (i == 20000) {
			/* Still running (quit is set): a later call tries again. */
			atomic_store_release(&zap_own, self);
			return -ETIMEDOUT;
		}
		if (z)
			futex_wake_all_u32(&z->req);
		nanosleep(&nap, NULL);
	}
	pthread_join(zap_own_thread, NULL);
	/*
	 * The join returns once the thread's id is cleared, which the kernel
	 * does before it takes the thread out of the process: the thread
	 * count is checked by the calls that need a single thread. Bounded: 2 s.
	 */
	tid = atomic_load_acquire(&self->tid);
	for (unsigned i = 0; tid > 0 && !syscall(SYS_tgkill, getpid(), tid, 0); i++) {
		if (i == 20000)
			return -ETIMEDOUT;
		nanosleep(&nap, NULL);
	}
	/*
	 * The staging area stays mapped: the root may still be reading the
	 * pages of the last request from it (child_move_batch()). Our
	 * descriptor of its userfaultfd goes (the pages stay; the root's copy
	 * keeps the area registered until the child ends, and nothing here
	 * touches it), and so does the stack.
	 */
	close(self->fd);
	self->fd = -1;
	munmap((char *)self->stage - ZAP_STACK, ZAP_STACK);
	self->stack_gone = true;
	return 0;
}

/*
 * In a child just forked: the parent's zapper (its mapping, its userfaultfd
 * of the parent's memory) came along as a copy, without its thread, and is
 * of no use here: let go of it. The descriptor only if the number still
 * holds it (the program may have closed it and reused the number).
 * Context: the atfork child handler (one thread).
 */
static void zap_drop_inherited(void)
{
	struct zap_self *self = zap_mine;
	size_t len = ZAP_STACK + ZAP_STAGE * PAGE_SIZE + PAGE_SIZE;
	char *mem;
	struct stat sb;

	zap_own = NULL;
	zap_mine = NULL;
	if (!self)
		return;
	if (self->fd >= 0 && !fstat(self->fd, &sb) && sb.st_dev == self->fd_dev &&
	    sb.st_ino == self->fd_ino)
		close(self->fd);
	mem = self->stage - ZAP_STACK;
	if (self->stack_gone) {
		mem += ZAP_STACK;
		len -= ZAP_STACK;
	}
	munmap(mem, len);
}

/* ---- a child's hold on its own userfaultfd ---- */

/* Move @fd above the numbers a program uses (O_CLOEXEC). Return: the descriptor. */
static int fd_high(int fd)
{
	struct rlimit rl;
	long lo = 0;
	int hi;

	if (!getrlimit(RLIMIT_NOFILE, &rl))
		lo = (long)min(rl.rlim_cur, (rlim_t)1024) - 32;
	if (lo <= 3 || fd >= lo)
		return fd;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, (int)lo);
	if (hi < 0)
		return fd;
	close(fd);
	return hi;
}

/*
 * Return: whether @fd is still the pidfd of the root we inherited, not
 * another file the program put at its number (dup2(), or closed it and
 * opened others). Context: any process of the tree.
 */
static bool hold_root_pidfd_ok(int fd)
{
	struct stat sb;

	return fd >= 0 && !fstat(fd, &sb) && sb.st_dev == hold_root_dev &&
	       sb.st_ino == hold_root_ino;
}

/*
 * Return: whether the root process has exited (its pidfd is readable).
 * Another file at the pidfd's number tells nothing: false.
 */
static bool hold_root_gone(void)
{
	struct pollfd pf = {.fd = hold_root_pidfd, .events = POLLIN};

	return hold_root_pidfd_ok(hold_root_pidfd) && poll(&pf, 1, 0) == 1 &&
	       (pf.revents & (POLLIN | POLLHUP));
}

/*
 * Return: whether every thread of the root is in do_exit() (a kill, or an
 * exit_group(), under way: irreversible), as /proc tells; the root's last
 * thread may take long to get through it (tearing down a large address
 * space) before its pidfd says it exited. Without /proc: false.
 */
static bool hold_root_all_exiting(void)
{
	char path[64], buf[2048], state;
	unsigned long flags;
	bool all = true;
	int fd, err;
	long n;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)hold_root_pid);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT && !access("/proc/self/task", F_OK);
	while (all && (n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; all && off < n;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + off);

			off += d->reclen;
			if (d->name[0] == '.')
				continue;
			/* Reaped meanwhile counts as exiting; PF_EXITING is 0x4. */
			err = task_stat(hold_root_pid, d->name, &state, &flags);
			all = err == -ENOENT || (!err && (flags & 0x4));
		}
	}
	close(fd);
	return all;
}

/*
 * pidfd_getfd() answered ESRCH: the root's main thread has exited. Either
 * the whole root is dying (killed: every thread of it is in do_exit(), and
 * its pidfd says so once its last thread is gone) or the program ended
 * only its main thread (pthread_exit()) and lives on, unable to lend its
 * descriptors. Look for the first for a bounded while (a kill reaches
 * every thread at once); remember the second in @h so that later children
 * do not wait again. A signal of ours interrupting the wait is no answer.
 * Return: whether the root is gone or dying.
 */
static bool hold_root_dying(struct fork_hold_area *h)
{
	uint64_t t0 = now_ns();

	if (atomic_load_acquire(&h->leader_gone) || !hold_root_pidfd_ok(hold_root_pidfd))
		return hold_root_gone();
	/* By the clock: a signal every millisecond cuts each poll short. */
	while (now_ns() - t0 < 2000000000ULL) {
		struct pollfd pf = {.fd = hold_root_pidfd, .events = POLLIN};

		if (poll(&pf, 1, 10) == 1 && (pf.revents & (POLLIN | POLLHUP)))
			return true;
		if (hold_root_all_exiting())
			return true;
	}
	atomic_store_release(&h->leader_gone, 1U);
	return false;
}

/*
 * The root died between our fork and our hold on our userfaultfd: the
 * kernel unregistered our ranges with its descriptor, and every page it had
 * swapped out for us would read as zeros. End here rather than run on
 * garbage.
 */
static __attribute__((noreturn)) void hold_die(pid_t pid)
{
	char msg[200];

	snprintf(msg, sizeof(msg),
		 "uswap: process %d: the process paging it (pid %d) died during its fork: the "
		 "pages it had swapped out went with it; ending process %d\n",
		 (int)pid, (int)hold_root_pid, (int)pid);
	say(msg);
	for (;;)
		kill(pid, SIGKILL);
}

/* Say once for the tree why a child runs without a hold. */
static void hold_warn(struct fork_hold_area *h, const char *why, int err)
{
	char msg[300];

	if (atomic_xchg_acq_rel(&h->warned, 1U))
		return;
	snprintf(msg, sizeof(msg),
		 "uswap: a forked child cannot hold its userfaultfd (%s%s%s): if the process "
		 "paging the tree is killed, such a child reads zeros for its swapped pages\n",
		 why, err ? ": " : "", err ? strerror(err) : "");
	say(msg);
}

/*
 * After our hello: take a copy of our own userfaultfd from the root (the
 * number it offers in the hold area) and keep it, O_CLOEXEC at a high
 * number. Until the root has given us our pages and unregistered our
 * ranges (its normal exit), our ranges then stay registered whatever
 * happens to the root: killed, its descriptor closes, yet our faults wait
 * (for the supervisor to end us) instead of reading zeros. pidfd_getfd()
 * needs ptrace rights over the root, as EVENT_FORK needed CAP_SYS_PTRACE.
 */
static void hold_take(struct fork_hold_area *h, pid_t pid)
{
	struct fork_hold *s = NULL;
	uint32_t st = HOLD_OFFERED;
	struct stat sb;
	int fd, err;

	/* Bounded (5 s): the fork thread answers a hello as it reads it. */
	for (unsigned tries = 0; !s && tries < 500; tries++) {
		uint32_t gen = atomic_load_acquire(&h->gen);

		if (atomic_load_acquire(&h->closed))
			return;
		for (unsigned i = 0; i < MAX_CHILDREN && !s; i++)
			if (atomic_load_acquire(&h->hold[i].pid) == (int32_t)pid)
				s = &h->hold[i];
		if (!s && hold_root_gone())
			break;
		if (!s)
			futex_wait_ns(&h->gen, gen, 10000000);
	}
	if (!s) {
		if (!hold_root_gone())
			hold_warn(h, "no answer to its hello", 0);
		else if (!atomic_load_acquire(&h->orphaned))
			hold_die(pid);
		/* Else the root left normally, having given us our pages: no hold needed. */
		return;
	}
	race_point("fork:hold_take");
	if (!hold_root_pidfd_ok(hold_root_pidfd)) {
		hold_warn(h, "the program replaced its descriptor of the root", 0);
		return; /* the offer stays: the root withdraws it at our end */
	}
	if (!atomic_cmpxchg_acq_rel(&s->state, &st, (uint32_t)HOLD_TAKING))
		return; /* withdrawn: the root is leaving and gives us our pages */
	fd = (int)syscall(SYS_pidfd_getfd, hold_root_pidfd, atomic_load_relaxed(&s->fd), 0);
	err = errno;
	atomic_store_release(&s->state, (uint32_t)HOLD_TAKEN);
	if (fd < 0) {
		if (hold_root_gone() || (err == ESRCH && hold_root_dying(h))) {
			/*
			 * Gone, but maybe having left normally, our pages given
			 * first (a root without its main thread does so while we
			 * wait above): then no hold is needed.
			 */
			if (!atomic_load_acquire(&h->orphaned))
				hold_die(pid);
			return;
		}
		hold_warn(h, "pidfd_getfd", err);
		return;
	}
	fd = fd_high(fd);
	if (fstat(fd, &sb)) {
		close(fd);
		return;
	}
	hold_fd = fd;
	hold_dev = sb.st_dev;
	hold_ino = sb.st_ino;
}

/*
 * A child inherits its parent's hold (the parent's own userfaultfd, when
 * the parent is a forked child too): not ours, let go of it, unless the
 * program put something else at that number meanwhile.
 */
static void hold_drop_inherited(void)
{
	struct stat sb;

	if (hold_fd >= 0 && !fstat(hold_fd, &sb) && sb.st_dev == hold_dev && sb.st_ino == hold_ino)
		close(hold_fd);
	hold_fd = -1;
}

/*
 * The pthread_atfork child handler (every process of the tree runs it after
 * its fork): start the zapper (unless USWAP_CHILD_EVICT=0), say hello to the root
 * with a MADV_DONTNEED of mailbox page "pid" and take a hold on our own
 * userfaultfd. The mailbox is registered, so the root reads a REMOVE event
 * for it from this child's userfaultfd: that tells it which process the
 * userfaultfd belongs to. The madvise waits until the event is read.
 */
/*
 * Return: whether this process is in another PID namespace than the root
 * (unshare(CLONE_NEWPID) or clone(CLONE_NEWPID) between them): its pid
 * names another process, or none, for the root. Unknown: false.
 */
static bool fork_foreign_pidns(void)
{
	struct stat sb;

	return hold_root_pidns_ino && !stat("/proc/self/ns/pid", &sb) &&
	       (sb.st_dev != hold_root_pidns_dev || sb.st_ino != hold_root_pidns_ino);
}

static void fork_atfork_child(void)
{
	struct fork_hold_area *h = atomic_load_acquire(&hold_area_shared);
	pid_t pid = (pid_t)syscall(SYS_getpid);

	/* The parent's zapper, if it had one, is not this process's. */
	zap_drop_inherited();
	hold_drop_inherited();
	if (!h || atomic_load_acquire(&h->closed) || pid <= 0 ||
	    (unsigned long)pid >= zap_mailbox_pages)
		return;
	/*
	 * Our pid is not the root's name for us: a hello would make it read
	 * and evict through another process's /proc files. Served without
	 * one (its fork thread got our userfaultfd from the kernel), like a
	 * child of _Fork(): no zapper, no hold.
	 */
	if (fork_foreign_pidns()) {
		hold_warn(h, "it runs in a PID namespace of its own", 0);
		return;
	}
	zap_atfork_child(pid);
	madvise(zap_mailbox + (unsigned long)pid * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED);
	/* Read by the root (or it is gone): the zapper's wait for its slot is bounded now. */
	if (zap_mine)
		atomic_store_release(&zap_mine->said, 1U);
	hold_take(h, pid);
}

static void fork_atfork_once(void)
{
	pthread_atfork(NULL, NULL, fork_atfork_child);
}

/* Return: pid_max (the kernel's), at most MAX_PID. */
static unsigned long read_pid_max(void)
{
	char buf[32] = "";
	int fd = open("/proc/sys/kernel/pid_max", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	unsigned long v;

	if (fd >= 0)
		close(fd);
	v = n > 0 ? strtoul(buf, NULL, 10) : 0;
	return v ? min(v + 1, MAX_PID) : MAX_PID;
}

/*
 * The mailbox (registered on the pager's userfaultfd, inherited registered
 * by every child), the hold area and a pidfd of ours for the children: the
 * hello and the hold. Context: pager setup, before any fork.
 * Return: 0, or -errno (children then hold nothing: said on stderr).
 */
static int hello_setup(struct pager_forks *f)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct uffdio_register reg = {.mode = UFFDIO_REGISTER_MODE_MISSING};
	struct stat sb;
	size_t len;

	f->mailbox_pages = read_pid_max();
	len = f->mailbox_pages * PAGE_SIZE;
	f->mailbox = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (f->mailbox == MAP_FAILED) {
		f->mailbox = NULL;
		return -ENOMEM;
	}
	reg.range.start = (unsigned long)f->mailbox;
	reg.range.len = len;
	if (ioctl(pager_uffd(f->p), UFFDIO_REGISTER, &reg))
		return -errno;
	f->hold_area = mmap(NULL, sizeof(struct fork_hold_area), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->hold_area == MAP_FAILED) {
		f->hold_area = NULL;
		return -ENOMEM;
	}
	f->root_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0); /* O_CLOEXEC */
	if (f->root_pidfd < 0)
		return -errno;
	f->root_pidfd = fd_high(f->root_pidfd);
	zap_mailbox = f->mailbox;
	zap_mailbox_pages = f->mailbox_pages;
	hold_root_pid = (int32_t)getpid();
	if (!stat("/proc/self/ns/pid", &sb)) {
		hold_root_pidns_dev = sb.st_dev;
		hold_root_pidns_ino = sb.st_ino;
	}
	hold_root_pidfd = f->root_pidfd;
	if (!fstat(f->root_pidfd, &sb)) {
		hold_root_dev = sb.st_dev;
		hold_root_ino = sb.st_ino;
	}
	atomic_store_release(&hold_area_shared, f->hold_area);
	pthread_once(&once, fork_atfork_once);
	return 0;
}

/*
 * The zap area, unless USWAP_CHILD_EVICT=0. Context: pager setup, after
 * hello_setup(), before any fork. Return: 0, or -errno (children then do
 * not evict: not an error).
 */
static int zap_setup(struct pager_forks *f)
{
	if (!f->hold_area)
		return -ENOENT;
	f->zap_area = mmap(NULL, sizeof(struct fork_zap_area), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (f->zap_area == MAP_FAILED) {
		f->zap_area = NULL;
		return -ENOMEM;
	}
	atomic_store_release(&zap_area_shared, f->zap_area);
	return 0;
}

/*
 * The pager is going: zappers still waiting exit, children fork no new
 * ones, and none takes a hold any more.
 */
static void zap_teardown(struct pager_forks *f)
{
	struct fork_zap_area *a = f->zap_area;
	struct fork_hold_area *h = f->hold_area;

	if (atomic_load_relaxed(&zap_area_shared) == a)
		atomic_store_release(&zap_area_shared, NULL);
	if (a) {
		atomic_store_release(&a->closed, 1U);
		futex_wake_all_u32(&a->gen);
		for (unsigned i = 0; i < MAX_CHILDREN; i++)
			futex_wake_all_u32(&a->zap[i].req);
		/* Children map it too: it lives on, unused, while they do. */
		munmap(a, sizeof(*a));
		f->zap_area = NULL;
	}
	if (atomic_load_relaxed(&hold_area_shared) == h)
		atomic_store_release(&hold_area_shared, NULL);
	if (h) {
		atomic_store_release(&h->closed, 1U);
		futex_wake_all_u32(&h->gen);
		munmap(h, sizeof(*h));
		f->hold_area = NULL;
	}
	if (f->root_pidfd >= 0) {
		if (hold_root_pidfd == f->root_pidfd)
			hold_root_pidfd = -1;
		if (hold_root_pidfd_ok(f->root_pidfd)) /* not a descriptor of the program's */
			close(f->root_pidfd);
		f->root_pidfd = -1;
	}
	if (f->mailbox) {
		struct uffdio_range r = {.start = (unsigned long)f->mailbox,
					 .len = f->mailbox_pages * PAGE_SIZE};

		ioctl(pager_uffd(f->p), UFFDIO_UNREGISTER, &r);
		munmap(f->mailbox, f->mailbox_pages * PAGE_SIZE);
		f->mailbox = NULL;
	}
}

/* Children evict unless USWAP_CHILD_EVICT=0 (any other value, or none: they do). */
static bool child_evict_enabled(void)
{
	const char *on = getenv("USWAP_CHILD_EVICT");

	return !on || strcmp(on, "0");
}

/* ---- setup and teardown ---- */

int pager_fork_start(struct uswap_pager *p, bool event_fork, struct pager_forks **out)
{
	struct pager_forks *f = arena_zalloc(pager_engine(p)->arena, sizeof(*f));
	int err;

	if (!f)
		return -ENOMEM;
	f->p = p;
	ulock_init(&f->stats_lock, LOCK_RANK_FORK_STATS);
	f->wake_fd = -1;
	f->root_pidfd = -1;
	f->root.pid = (int32_t)getpid();
	f->root.live = 1;
	atomic_store_release(out, f);
	if (!event_fork)
		return 0;
	f->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	f->stack = mmap(NULL, FORK_STACK, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (f->wake_fd < 0 || f->stack == MAP_FAILED) {
		if (f->stack == MAP_FAILED)
			f->stack = NULL;
		return -ENOMEM;
	}
	/*
	 * Children evict (one budget for the tree) unless USWAP_CHILD_EVICT=0:
	 * then they keep what they read and the budget is enforced on top of
	 * their pages, which is faster for a child that reads everything in
	 * random order (a Redis BGSAVE rereads most of it under the budget,
	 * and each reclaim batch is a wake-up of its zapper: docs/uffd.md) but
	 * lets the tree grow past the budget by what the children read.
	 */
	err = hello_setup(f);
	if (err) {
		char msg[200];

		snprintf(msg, sizeof(msg),
			 "uswap: forked children cannot hold their userfaultfd (%s): if this "
			 "process is killed, they read zeros for their swapped pages\n",
			 strerror(-err));
		say(msg);
	}
	if (child_evict_enabled()) {
		if (zap_setup(f))
			say("uswap: forked children cannot evict (no mailbox): their pages stay "
			    "resident\n");
		else
			mm_set_reclaim_batch(pager_engine(p), fork_reclaim_batch, f);
	}
	err = pager_start_thread(&f->thread, f->stack, FORK_STACK, fork_main, f);
	if (err)
		return err;
	atomic_store_release(&f->enabled, true);
	return 0;
}

bool pager_fork_enabled(struct uswap_pager *p)
{
	struct pager_forks *f = pager_fork_state(p);

	return f && atomic_load_acquire(&f->enabled);
}

void pager_fork_orphan(struct uswap_pager *p)
{
	struct pager_forks *f = pager_fork_state(p);

	if (!f || !atomic_load_acquire(&f->enabled))
		return;
	/* A second caller (another thread leaving) waits for the same hand-over. */
	if (!atomic_xchg_acq_rel(&f->orphan_req, 1U))
		fork_wake(f);
	while (!atomic_load_acquire(&f->orphan_done))
		futex_wait_u32(&f->orphan_done, 0);
}

void pager_fork_stop(struct uswap_pager *p)
{
	struct pager_forks *f = pager_fork_state(p);

	if (!f)
		return;
	if (atomic_load_acquire(&f->enabled)) {
		pager_fork_orphan(p);
		atomic_store_release(&f->stopping, true);
		fork_wake(f);
		pthread_join(f->thread, NULL);
		/*
		 * No FORK event is read any more (the fault thread is stopped,
		 * see uswap_pager_close()): a child the last passes missed gets
		 * its pages here. The children keep their pages; their
		 * userfaultfds go with us.
		 */
		while (orphan_pass(f))
			;
		for (unsigned i = 0; i < MAX_CHILDREN; i++)
			if (f->children[i])
				child_end(f, f->children[i], false);
		fork_update_pinned(f);
	}
	/* No batch looks at the children any more once the last one is done. */
	mm_set_reclaim_batch(pager_engine(p), NULL, NULL);
	wait_reclaim_batches(f);
	zap_teardown(f);
	if (f->wake_fd >= 0)
		close(f->wake_fd);
	if (f->stack)
		munmap(f->stack, FORK_STACK);
	f->wake_fd = -1;
	f->stack = NULL;
	atomic_store_release(&f->enabled, false);
}

void pager_fork_free(struct uswap_pager *p, struct pager_forks *f)
{
	if (f)
		arena_free(pager_engine(p)->arena, f, sizeof(*f));
}

bool pager_fork_is_own(struct uswap_pager *p, unsigned long start, unsigned long end)
{
	struct pager_forks *f = pager_fork_state(p);
	unsigned long s = f ? (unsigned long)f->stack : 0;
	unsigned long mb = f ? (unsigned long)f->mailbox : 0;
	unsigned long za = f ? (unsigned long)f->zap_area : 0;
	unsigned long ha = f ? (unsigned long)f->hold_area : 0;

	return (s && start < s + FORK_STACK && end > s) ||
	       (mb && start < mb + f->mailbox_pages * PAGE_SIZE && end > mb) ||
	       (za && start < za + sizeof(struct fork_zap_area) && end > za) ||
	       (ha && start < ha + sizeof(struct fork_hold_area) && end > ha);
}

/* ---- figures ---- */

static void add_proc(struct fork_tree_stats *t, const struct fork_proc_stats *st)
{
	t->faults += atomic_load_relaxed(&st->faults);
	t->swapins += atomic_load_relaxed(&st->swapins);
	t->shared_hits += atomic_load_relaxed(&st->shared_hits);
	t->shared_reads += atomic_load_relaxed(&st->shared_reads);
	t->child_swapouts += atomic_load_relaxed(&st->swapouts);
}

static void copy_proc(struct fork_proc_stats *dst, const struct fork_proc_stats *st)
{
	dst->pid = atomic_load_relaxed(&st->pid);
	dst->live = atomic_load_relaxed(&st->live);
	dst->faults = atomic_load_relaxed(&st->faults);
	dst->swapins = atomic_load_relaxed(&st->swapins);
	dst->shared_hits = atomic_load_relaxed(&st->shared_hits);
	dst->shared_reads = atomic_load_relaxed(&st->shared_reads);
	dst->swapouts = atomic_load_relaxed(&st->swapouts);
}

/*
 * What pager_fork_stats() reads under stats_lock, in the arena: a buffer
 * of the caller's may be registered memory (a thread stack of the program,
 * where the agent's exit publishes from), whose write can take a userfault;
 * the thread that serves it may be waiting for stats_lock (publish_child()
 * at a fork): a write there under the lock waits for good.
 */
struct fork_stats_copy {
	struct fork_tree_stats t;
	struct fork_proc_stats procs[];
};

int pager_fork_stats(struct uswap_pager *p, struct fork_tree_stats *t,
		     struct fork_proc_stats *procs, unsigned n)
{
	struct pager_forks *f = pager_fork_state(p);
	struct fork_stats_copy *s;
	unsigned got = 0;
	size_t len;

	memset(t, 0, sizeof(*t));
	if (!f)
		return 0;
	n = min(n, MAX_CHILDREN + 1U);
	len = sizeof(*s) + n * sizeof(s->procs[0]);
	s = arena_zalloc(forks_arena(f), len);
	if (!s)
		return -ENOMEM;
	/* Children seen published are not freed, nor their figures moved, meanwhile. */
	ulock_lock(&f->stats_lock);
	s->t.processes = 1;
	s->t.forks = atomic_load_relaxed(&f->forks);
	s->t.exited = atomic_load_acquire(&f->exited);
	s->t.zap_requests = atomic_load_relaxed(&f->zap_requests);
	s->t.zap_batched = atomic_load_relaxed(&f->zap_batched);
	add_proc(&s->t, &f->gone);
	add_proc(&s->t, &f->root);
	if (got < n)
		copy_proc(&s->procs[got++], &f->root);
	race_point("fork_stats:gone_read");
	for (unsigned i = 0; i < MAX_CHILDREN; i++) {
		struct fork_child *c = atomic_load_acquire(&f->children[i]);

		if (!c)
			continue;
		race_point("fork_stats:child_seen");
		s->t.processes++;
		/* A hint: the zap pointer is set once, by the fork thread. */
		if (child_evicts(c))
			s->t.evicting++;
		add_proc(&s->t, &f->stats[i]);
		if (got < n)
			copy_proc(&s->procs[got++], &f->stats[i]);
	}
	ulock_unlock(&f->stats_lock);
	/* Into the caller's buffers with no lock held: a userfault here is served. */
	*t = s->t;
	if (got)
		memcpy(procs, s->procs, got * sizeof(s->procs[0]));
	arena_free(forks_arena(f), s, len);
	return (int)got;
}

unsigned pager_fork_nr_children(struct uswap_pager *p)
{
	struct pager_forks *f = pager_fork_state(p);
	unsigned n = 0;

	if (!f)
		return 0;
	for (unsigned i = 0; i < MAX_CHILDREN; i++)
		n += atomic_load_acquire(&f->children[i]) != NULL;
	/*
	 * Then the ones being let go of: a slot seen empty was emptied after
	 * its child was counted in ending (one seen in both counts twice).
	 */
	return n + atomic_load_acquire(&f->ending);
}

int pager_swap_count(struct uswap_pager *p, unsigned long addr)
{
	struct mm_struct *mm = pager_root_mm(p);
	struct ulock *ptl;
	pte_t *ptep = mm->ops->pte_offset_lock(mm, addr, false, &ptl), pte;

	if (IS_ERR_OR_NULL(ptep))
		return -ENOENT;
	pte = ptep_get(ptep);
	ulock_unlock(ptl);
	if (!is_swap_pte(pte))
		return -ENOENT;
	return swp_swapcount(pager_engine(p), pte_to_swp_entry(pte));
}

bool pager_fork_orphaning(struct uswap_pager *p)
{
	struct pager_forks *f = pager_fork_state(p);

	return f && atomic_load_acquire(&f->orphan_req);
}

int pager_check(struct uswap_pager *p)
{
	int err;

	/* The checker wants no allocation in flight: reclaim pauses. */
	pager_quiesce(p, true);
	err = swap_check_all(pager_engine(p));
	pager_quiesce(p, false);
	return err;
}

unsigned long pager_swap_refs(struct uswap_pager *p)
{
	struct uswap *sw = pager_engine(p);
	unsigned long n = 0;

	for (unsigned t = 0; t < atomic_load_acquire(&sw->nr_swapfiles); t++)
		for (pgoff_t off = 1; off < sw->swap_info[t]->max; off++)
			n += (unsigned long)max(swp_swapcount(sw, swp_entry(t, off)), 0);
	return n;
}

long pager_nr_swapents(struct uswap_pager *p)
{
	return atomic_load_relaxed(&pager_root_mm(p)->nr_swapents);
}
