// SPDX-License-Identifier: MIT
/*
 * agent.c - the paging agent `uswap run` preloads into a program
 * (libuswap-agent.so). Its constructor reads the environment (run_status.h),
 * opens a pager over the program's own memory, registers every anonymous
 * private writable mapping (brk heap, malloc arenas, mmap'd regions, thread
 * stacks) and publishes its state and figures on the status page. Memory
 * mapped later is picked up by the interposed mmap() at once; what glibc
 * maps without the PLT (brk growth, thread arenas grown by mprotect, large
 * malloc blocks) by the pickup thread, which perf events on the process
 * wake at every change of a data mapping and which registers the memory
 * within microseconds (the adopt thread then adopts the pages touched
 * before); and, as a fallback (no perf events, USWAP_AGENT_NO_PERF=1), by
 * a rescan of /proc/self/maps from the pager's reclaim thread within 10 ms
 * of the process's anonymous memory outgrowing what the pager holds.
 *
 * What is never registered: the pager's own memory (its threads' stacks,
 * its staging area; the engine lives in a MAP_SHARED arena anyway), the main
 * thread's [stack], shared mappings, and the anonymous tail (.bss) right
 * after a shared library's file mapping, which the paging threads
 * themselves may touch (libc, the dynamic loader, this module).
 *
 * Every program started with the agent pages itself under the budget. A
 * forked child that does not exec shares its parent's engine and is served
 * by the parent's fork thread (fork.c; without CAP_SYS_PTRACE it runs
 * unpaged: the pager swaps everything in before the fork); a child that
 * execs another program pages itself with a fresh agent. The status page
 * belongs to one of them: the first, until a descendant of it starts (a
 * wrapper such as a shell script or timeout(1) that runs the real program
 * as its child); then to that
 * descendant, which hands it back when it exits while the ancestor lives,
 * unless it used more memory than the ancestor had (the real program under
 * a wrapper keeps the page and its figures). A page left by a process that
 * died is taken back. Only the owner publishes; EXITED comes from the last
 * owner's exit.
 *
 * Owns: the agent's globals, the status page mapping, the perf events and
 * the pickup and adopt threads. Locking: the globals are written by the
 * constructor before any paging thread starts (early[] only by the first
 * scan, read-only after); scan_lock serialises full scans of the maps
 * (maps_buf is shared: the adopt thread takes it, the reclaim thread's tick
 * only tries it and skips its rescan while held); pickup.lock guards the
 * queue of ranges to adopt (pickup thread and, at an unmapping, the fault
 * thread -> adopt thread; held only for a queue operation, never while
 * touching paged memory); the pickup thread's record buffers and cache of
 * its registrations are its own. Registering races are harmless: a
 * range the program replaced with a shared or file mapping between the look
 * and the registration is unregistered again (register_check), the
 * kernel's registration is idempotent, the pager's region list has its own
 * lock and mm_adopt_page() adopts a page once under its page-table lock. The
 * agent's threads run on their own stacks, never registered, and touch no
 * paged memory, so they may block on engine locks and reclaim without
 * waiting for a userfault of their own. The status page has one writer per
 * field (the reclaim thread's tick, or the destructor after it).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../base/race.h"
#include "fork.h"
#include "pager.h"
#include "run_status.h"

#define MAPS_BUF (4UL << 20)
/* PROCMAP_QUERY (Linux 6.11), newer than some installed headers: one VMA of /proc/self/maps. */
struct agent_vma_query {
	uint64_t size, query_flags, query_addr;
	uint64_t vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define VMA_QUERY		   _IOWR('f', 17, struct agent_vma_query)
#define VMA_QUERY_RW		   0x03 /* readable 0x01, writable 0x02 */
#define VMA_QUERY_EXEC		   0x04
#define VMA_QUERY_SHARED	   0x08
#define VMA_QUERY_COVERING_OR_NEXT 0x10
#define PICKUP_ADOPT		   (256UL << 10) /* adopted at a time, between looks at the rings */
#define PICKUP_RANGES		   256
#define PICKUP_CACHE		   64
#define PICKUP_MAX_CPUS		   256
#define PICKUP_RING_PAGES	   16	       /* data pages per CPU: 64 KiB, hundreds of records */
#define PICKUP_STACK		   (4UL << 20) /* virtual: sanitizers need room for their TLS */

static struct uswap_pager *agent_pager;
static struct uswap_run_status *agent_status;
/* The status page, owned or not: its roots[] is every root's (see below). */
static struct uswap_run_status *agent_shared;
static char *maps_buf; /* own memory: never registered */
static char exe_path[512];
static bool agent_forked; /* in a forked child: inert (process-private) */
/* Anonymous mappings that existed before the agent: the loader's. */
static struct {
	unsigned long start, end;
} early[128];
static unsigned nr_early;
static unsigned agent_ticks;
static int32_t prev_owner;	 /* the ancestor we took the status page from */
static uint64_t prev_owner_peak; /* its resident peak then */
/* One scan at a time: maps_buf is shared (the tick only tries it). */
static pthread_mutex_t scan_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long tick_rescans;  /* atomic */
static int agent_pickup_errno;	    /* why perf events could not be opened, or 0 */
static int agent_maps_fd = -1;	    /* /proc/self/maps, for PROCMAP_QUERY */
static unsigned long agent_dropped; /* atomic: registrations dropped (register_check) */

/*
 * The pickup and adopt threads and the perf events (set up before they
 * start). The pickup thread registers what the records tell of and queues
 * it in todo; the adopt thread adopts it. pickup.lock guards todo,
 * nr_todo and full_scan; the rest is one thread's (fresh, nr_fresh: the
 * pickup thread's) or atomic.
 */
struct pickup_range {
	unsigned long start, end;
};
struct pickup_cached {
	unsigned long start, end, seq; /* registered while pager_read_seq() was seq */
};
static struct {
	int fd[PICKUP_MAX_CPUS];
	struct perf_event_mmap_page *ring[PICKUP_MAX_CPUS];
	unsigned nr;
	int pid;
	char *stack; /* both threads' stacks, own memory: never registered */
	pthread_t thread, adopt_thread;
	bool on;				  /* atomic: the pickup thread runs */
	unsigned long takes, scans, lost;	  /* atomic: rounds of registering, full scans */
	unsigned long registers, cached;	  /* atomic: kernel registrations, ranges skipped */
	struct pickup_cached cache[PICKUP_CACHE]; /* the pickup thread's registrations */
	unsigned cache_next;
	struct pickup_range fresh[PICKUP_RANGES]; /* told of by this round's records */
	unsigned nr_fresh;
	bool fresh_overflow; /* lost records, or too many: a full scan */
	pthread_mutex_t lock;
	pthread_cond_t more;			 /* todo or full_scan, for the adopt thread */
	struct pickup_range todo[PICKUP_RANGES]; /* registered, to adopt (first come first) */
	unsigned nr_todo;
	bool full_scan;
} pickup = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.more = PTHREAD_COND_INITIALIZER,
};

/* ---- the status page ---- */

static bool status_owner(void);
static void reclaim_status(void);

static void status_set_message(const char *msg)
{
	size_t n = strlen(msg);

	if (!agent_status)
		return;
	n = min(n, sizeof(agent_status->message) - 1);
	memcpy(agent_status->message, msg, n);
	agent_status->message[n] = 0;
}

static void status_set_counter(unsigned i, const char *name, uint64_t v)
{
	struct uswap_run_counter *c = &agent_status->counters[i];

	if (!c->name[0]) {
		strncpy(c->name, name, sizeof(c->name) - 1);
		atomic_store_release(&agent_status->nr_counters,
				     max(agent_status->nr_counters, i + 1));
	}
	atomic_store_relaxed(&c->value, v);
}

static long rss_anon_bytes(void)
{
	char buf[128];
	long size, resident, shared;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* size resident shared(file + shmem) ...: anonymous = resident - shared. */
	if (sscanf(buf, "%ld %ld %ld", &size, &resident, &shared) != 3)
		return -1;
	return (resident - shared) * (long)PAGE_SIZE;
}

/*
 * The process tree's figures (fork.c): the root's, its children's, the sums.
 * @out: pswpout as this round published it among the counters, so that the
 * two agree (the reclaim thread evicts on meanwhile).
 */
static void status_publish_tree(struct uswap_run_status *s, long out)
{
	struct fork_proc_stats procs[USWAP_RUN_MAX_PROCS];
	struct fork_tree_stats t;
	int n = pager_fork_stats(agent_pager, &t, procs, USWAP_RUN_MAX_PROCS);

	/* The arena out of memory: the figures published before stay. */
	if (n < 0)
		return;
	atomic_store_relaxed(&s->tree_processes, (uint64_t)t.processes);
	atomic_store_relaxed(&s->tree_forks, (uint64_t)t.forks);
	atomic_store_relaxed(&s->tree_exited, (uint64_t)t.exited);
	atomic_store_relaxed(&s->tree_faults, (uint64_t)t.faults);
	atomic_store_relaxed(&s->tree_swapins, (uint64_t)t.swapins);
	atomic_store_relaxed(&s->tree_swapouts, out > 0 ? (uint64_t)out : 0);
	atomic_store_relaxed(&s->tree_shared_hits, (uint64_t)t.shared_hits);
	atomic_store_relaxed(&s->tree_shared_reads, (uint64_t)t.shared_reads);
	for (int i = 0; i < n; i++) {
		struct uswap_run_proc *d = &s->procs[i];

		atomic_store_relaxed(&d->pid, procs[i].pid);
		atomic_store_relaxed(&d->live, procs[i].live);
		atomic_store_relaxed(&d->faults, (uint64_t)procs[i].faults);
		atomic_store_relaxed(&d->swapins, (uint64_t)procs[i].swapins);
		/*
		 * The root: pages the engine wrote out (pswpout, the whole
		 * tree's); a child: its pages evicted (taken out of its memory).
		 */
		atomic_store_relaxed(&d->swapouts, i == 0 ? (out > 0 ? (uint64_t)out : 0)
							  : (uint64_t)procs[i].swapouts);
		atomic_store_relaxed(&d->shared_hits, (uint64_t)procs[i].shared_hits);
		atomic_store_relaxed(&d->shared_reads, (uint64_t)procs[i].shared_reads);
	}
	atomic_store_relaxed(&s->nr_procs, (uint32_t)n);
}

static void status_publish(void)
{
	struct uswap_run_status *s = agent_status;
	struct uswap_pager_stats st;
	unsigned long hist[PAGER_LAT_BUCKETS];
	unsigned i = 0;
	long rss, out = -1;

	if (!s || !agent_pager || agent_forked || !status_owner())
		return;
	uswap_pager_get_stats(agent_pager, &st);
	atomic_store_relaxed(&s->budget_bytes, (uint64_t)st.budget_bytes);
	atomic_store_relaxed(&s->resident_bytes, (uint64_t)st.resident_bytes);
	atomic_store_relaxed(&s->resident_peak_bytes, (uint64_t)st.resident_peak_bytes);
	atomic_store_relaxed(&s->swapped_bytes, (uint64_t)st.swapped_bytes);
	atomic_store_relaxed(&s->compr_bytes, (uint64_t)st.compr_bytes);
	atomic_store_relaxed(&s->faults, (uint64_t)st.faults);
	atomic_store_relaxed(&s->warnings, (uint64_t)st.warnings);
	for (unsigned e = 0; e < NR_VM_EVENT_ITEMS && i < USWAP_RUN_MAX_COUNTERS; e++, i++) {
		long v = uswap_pager_counter(agent_pager, vm_event_names[e]);

		if (e == pswpout)
			out = v;
		status_set_counter(i, vm_event_names[e], (uint64_t)v);
	}
	if (out < 0)
		out = uswap_pager_counter(agent_pager, "pswpout");
	rss = rss_anon_bytes();
	if (i + 19 <= USWAP_RUN_MAX_COUNTERS) {
		struct fork_tree_stats t;
		/* The arena out of memory: that figure stays as published before. */
		bool tree = pager_fork_stats(agent_pager, &t, NULL, 0) >= 0;

		status_set_counter(i++, "uffd_faults", st.faults);
		status_set_counter(i++, "uffd_swapin_faults", st.swapin_faults);
		status_set_counter(i++, "uffd_evict_busy", st.evict_busy);
		status_set_counter(i++, "uffd_evict_unshared", st.evict_unshared);
		status_set_counter(i++, "uffd_data_released", st.data_released);
		status_set_counter(i++, "uffd_data_reused", st.data_reused);
		status_set_counter(i++, "rss_anon_bytes", rss > 0 ? (uint64_t)rss : 0);
		status_set_counter(i++, "agent_pickup_perf", atomic_load_relaxed(&pickup.on));
		status_set_counter(i++, "agent_pickup_errno", (uint64_t)agent_pickup_errno);
		status_set_counter(i++, "agent_pickup_takes", atomic_load_relaxed(&pickup.takes));
		status_set_counter(i++, "agent_pickup_scans", atomic_load_relaxed(&pickup.scans));
		status_set_counter(i++, "agent_pickup_lost", atomic_load_relaxed(&pickup.lost));
		status_set_counter(i++, "agent_pickup_registers",
				   atomic_load_relaxed(&pickup.registers));
		status_set_counter(i++, "agent_pickup_cached", atomic_load_relaxed(&pickup.cached));
		status_set_counter(i++, "agent_tick_rescans", atomic_load_relaxed(&tick_rescans));
		status_set_counter(i++, "agent_register_dropped",
				   atomic_load_relaxed(&agent_dropped));
		/* Forked children's pages taken out of them, live and gone (fork.c). */
		if (tree) {
			status_set_counter(i, "fork_child_swapouts", t.child_swapouts);
			status_set_counter(i + 1, "fork_zap_requests", t.zap_requests);
			status_set_counter(i + 2, "fork_zap_batched", t.zap_batched);
		}
		i += 3;
	}
	uswap_pager_latency(agent_pager, hist, PAGER_LAT_BUCKETS);
	for (unsigned b = 0; b < PAGER_LAT_BUCKETS && b < USWAP_RUN_LAT_BUCKETS; b++)
		atomic_store_relaxed(&s->swapin_lat[b], (uint64_t)hist[b]);
	status_publish_tree(s, out);
}

/* ---- which mappings are the program's anonymous memory ---- */

static bool own_memory(unsigned long start, unsigned long end)
{
	unsigned long b = (unsigned long)maps_buf;

	unsigned long st = (unsigned long)pickup.stack;

	return (start < b + MAPS_BUF && end > b) ||
	       (st && start < st + 2 * PICKUP_STACK && end > st) ||
	       pager_is_own(agent_pager, start, end);
}

/* Return: whether @path names a file that is not the main program. */
static bool is_library(const char *path)
{
	return path[0] == '/' && strcmp(path, exe_path);
}

/*
 * Return: whether a VMA [start, end) without a file, named @name ("" for
 * none), is one of the program's to register by its name and place: no
 * name, [heap] or [anon:...] (named by prctl), not our own memory, below
 * 2^47.
 */
static bool anon_candidate(unsigned long start, unsigned long end, const char *name)
{
	return (!name[0] || !strcmp(name, "[heap]") || !strncmp(name, "[anon:", 6)) &&
	       !own_memory(start, end) && end <= (1UL << 47);
}

/*
 * After registering [start, end): drop the registration of what in it is
 * not private anonymous memory now. Between the look at the maps that
 * chose the range and the kernel registration, the program may have
 * unmapped it and mapped something else there (a shared or file mapping,
 * MAP_FIXED or not): the kernel registers whatever is there, and the pager
 * would then serve its faults and adopt its pages. The registration stays
 * with the VMA, so a VMA seen private and anonymous after it is either the
 * registered one (whose unmapping the fault thread hears of) or a new one
 * never registered; what is not is ours to drop. Without PROCMAP_QUERY
 * (Linux < 6.11) nothing is checked.
 */
static bool register_check(unsigned long start, unsigned long end)
{
	bool dropped = false;

	for (unsigned long addr = start; addr < end;) {
		struct agent_vma_query q = {
			.size = sizeof(q),
			.query_flags = VMA_QUERY_COVERING_OR_NEXT,
			.query_addr = addr,
		};

		if (agent_maps_fd < 0 || ioctl(agent_maps_fd, VMA_QUERY, &q) ||
		    q.vma_start >= end || q.vma_end <= addr)
			break;
		if (q.inode || q.dev_major || q.dev_minor || (q.vma_flags & VMA_QUERY_SHARED)) {
			pager_forget(agent_pager, max(q.vma_start, start), min(q.vma_end, end));
			atomic_fetch_add_relaxed(&agent_dropped, 1UL);
			dropped = true;
		}
		addr = q.vma_end;
	}
	return dropped || agent_maps_fd < 0;
}

/*
 * Register the pieces of [start, end) the region list does not cover yet
 * (a VMA that grew, brk or an arena's mprotect, is not adopted again as a
 * whole). !@adopt: the kernel registration only, of all of [start, end)
 * (idempotent; the region list may still show a range the program just
 * unmapped, until the fault thread applies the event): faults are served
 * from now on; pages already there are adopted, and the region list
 * learns of it, at a call with @adopt.
 */
static void register_range(unsigned long start, unsigned long end, bool adopt)
{
	unsigned long gs, ge;

	/* The caller looked at the range: the program may replace it meanwhile. */
	race_point("agent:before_register");
	if (!adopt) {
		/* Read before: a registration is known to stand while it is unchanged. */
		unsigned long seq = pager_read_seq(agent_pager);

		if (start < end && !pager_register(agent_pager, start, end - start, false)) {
			atomic_fetch_add_relaxed(&pickup.registers, 1UL);
			if (!register_check(start, end) && !(seq & 1)) {
				pickup.cache[pickup.cache_next++ % PICKUP_CACHE] =
					(struct pickup_cached){start, end, seq};
			}
		}
		return;
	}
	for (; start < end && pager_next_gap(agent_pager, start, end, &gs, &ge); start = ge)
		if (!pager_register(agent_pager, gs, ge - gs, true))
			register_check(gs, ge);
}

/* register_range(), except the pieces of [start, end) in @early (merged VMAs). */
static void register_except_early(unsigned long start, unsigned long end, bool adopt)
{
	for (unsigned i = 0; i < nr_early && start < end; i++) {
		if (early[i].end <= start || early[i].start >= end)
			continue;
		register_range(start, early[i].start > start ? early[i].start : start, adopt);
		start = early[i].end;
	}
	register_range(start, end, adopt);
}

/*
 * Register every anonymous private writable mapping not registered yet.
 * Raw system calls into our own buffer: no malloc, no stdio.
 */
static void agent_scan(bool first)
{
	unsigned long prev_end = 0;
	bool prev_lib = false, prev_exe = false;
	size_t len = 0;
	char *line;
	int fd;

	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (;;) {
		ssize_t n = read(fd, maps_buf + len, MAPS_BUF - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		if (len >= MAPS_BUF - 1)
			break;
	}
	close(fd);
	maps_buf[len] = 0;
	for (line = maps_buf; line && *line;) {
		char *next = strchr(line, '\n'), perms[8], path[512] = "", *pth;
		bool after_lib, after_exe;
		unsigned long start, end, off, inode;
		unsigned dmaj, dmin;
		int got;

		if (next)
			*next++ = 0;
		got = sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %511[^\n]", &start, &end, perms, &off,
			     &dmaj, &dmin, &inode, path);
		line = next;
		if (got < 7)
			continue;
		pth = path;
		while (*pth == ' ')
			pth++;
		after_lib = prev_lib && prev_end == start;
		after_exe = prev_exe && prev_end == start;
		prev_lib = is_library(pth) || (after_lib && !pth[0]);
		prev_exe = exe_path[0] && !strcmp(pth, exe_path);
		prev_end = end;
		if (inode || strcmp(perms, "rw-p") || after_lib || !anon_candidate(start, end, pth))
			continue;
		/* The program's own .bss tail is the program's memory. */
		if (first && strcmp(pth, "[heap]") && !after_exe) {
			/*
			 * Before main(): the dynamic loader's own data (link
			 * maps, the main thread's TLS), which resolving a
			 * lazily bound call reads. Never paged.
			 */
			if (nr_early < ARRAY_SIZE(early))
				early[nr_early++] = (typeof(early[0])){start, end};
			continue;
		}
		register_except_early(start, end, true);
	}
}

/*
 * From the reclaim thread, every 10 ms: rescan when anonymous memory the
 * pager does not hold grew by a megabyte (memory glibc maps without the
 * PLT: brk, malloc arenas, large blocks, when the pickup thread does not
 * run or missed it), and every second anyway. Skipped while the pickup
 * thread scans: the reclaim thread never waits for it.
 */
static void agent_tick(void *arg)
{
	struct uswap_pager_stats st;
	long rss;

	if (agent_forked)
		return;
	reclaim_status();
	rss = rss_anon_bytes();
	uswap_pager_get_stats(agent_pager, &st);
	if ((++agent_ticks % 100 == 0 ||
	     (rss > 0 && (size_t)rss > st.resident_bytes + (1UL << 20))) &&
	    !pthread_mutex_trylock(&scan_lock)) {
		agent_scan(false);
		pthread_mutex_unlock(&scan_lock);
		atomic_fetch_add_relaxed(&tick_rescans, 1UL);
	}
	if (agent_ticks % 10 == 0) {
		status_publish();
	} else if (agent_status && status_owner()) {
		/*
		 * The charged figure every tick, the rest every 10: `uswap run`
		 * compares its RssAnon samples with it, and a figure 100 ms old
		 * at start shows 0 charged beside what the program touched.
		 */
		atomic_store_relaxed(&agent_status->resident_bytes, (uint64_t)st.resident_bytes);
		atomic_store_relaxed(&agent_status->resident_peak_bytes,
				     (uint64_t)st.resident_peak_bytes);
	}
}

/* ---- interposed calls: prompt pickup of new mappings ---- */

/* Both names glibc exports (with 64-bit offsets, <sys/mman.h> renames mmap to mmap64). */
void *agent_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) __asm__("mmap")
	__attribute__((visibility("default")));
void *agent_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) __asm__("mmap64")
	__attribute__((visibility("default")));

void *agent_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	long ret = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	void *p = (void *)ret;

	if (ret == -1 || !agent_pager || agent_forked)
		return ret == -1 ? MAP_FAILED : p;
	/*
	 * Fresh private anonymous writable memory: register it now. Nothing in
	 * it yet (populated mappings wait for the next scan), so this thread,
	 * whose own stack may be paged, takes no engine lock.
	 */
	if ((flags & (MAP_ANONYMOUS | MAP_PRIVATE | MAP_SHARED)) == (MAP_ANONYMOUS | MAP_PRIVATE) &&
	    (prot & (PROT_READ | PROT_WRITE)) == (PROT_READ | PROT_WRITE) &&
	    !(flags & (MAP_STACK | MAP_POPULATE)) && len >= (64UL << 10))
		pager_register(agent_pager, (unsigned long)p, ALIGN_UP(len, PAGE_SIZE), false);
	return p;
}

void *agent_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return agent_mmap(addr, len, prot, flags, fd, off);
}

/*
 * ---- interposed calls: leaving without the exit handlers ----
 *
 * Forked children hold their own userfaultfd (fork.c), so the root leaving
 * without handing them their pages leaves their ranges registered with
 * nobody serving them: their next fault waits forever. Normal exit hands
 * over from the destructor; _exit(), _Exit(), quick_exit(), an exec and
 * the parent's side of daemon() run no destructor, so they hand over here
 * first. Only
 * the root does (not a forked child, not a vfork child sharing its memory:
 * the pid tells). An exec hands over only if it may succeed
 * (exec_may_succeed()): one the kernel surely refuses leaves the children
 * paged; one that fails past that check has handed over, and its children
 * run unpaged from then on, with all their data. glibc's own calls (its
 * daemon(), posix_spawn(), execvp() reaching execve()) do not come here,
 * hence daemon() and the exec family are each interposed whole.
 */
static pid_t agent_pid; /* the process the agent started in */

/*
 * ---- the root's record on the status page (roots[], run_status.h) ----
 *
 * A process whose forks are paged claims a slot at its first fork (the
 * pthread_atfork prepare handler: before any child exists) and marks it
 * HANDED once its children got their pages, before it leaves. `uswap run`
 * ends the processes that hold its pidfd if it sees it gone without that
 * mark (a raw exit_group, a kill in the middle of the hand-over, a kill
 * under a wrapper): their swapped pages went with it. agent_root is our
 * slot (-1: none yet); written by the forking thread, which holds no lock.
 */
static int agent_root = -1;
static bool agent_root_full_warned;
static int agent_root_tree = -1;       /* this generation's token (root_tree_new()) */
static struct stat agent_root_tree_sb; /* its identity: the program may reuse its number */

/*
 * A fresh token for the children we fork from now on, in slot @r (state
 * CLAIMING: ours): a file (a memfd, O_CLOEXEC, at a high number) that every
 * process we fork inherits and keeps until it execs; its identity goes in
 * tree_dev and tree_ino, by which `uswap run` tells the processes it ends.
 * Children handed their pages before (by the image before an exec, which
 * shares our pidfd, or before a failed exec) hold an older token, or none:
 * they are not ours to end. Without a memfd, our pidfd's identity stands in
 * (every child holds one: fork.c's hold). Context: our fork's prepare
 * handler.
 */
static void root_tree_new(struct uswap_run_root *r, const struct stat *pidfd_sb)
{
	int fd = memfd_create("uswap-tree", MFD_CLOEXEC), hi;
	struct rlimit rl;
	struct stat sb = *pidfd_sb;

	/* Ours still, not a file the program put at its number since (close_range(), dup2()). */
	if (agent_root_tree >= 0 && !fstat(agent_root_tree, &sb) &&
	    sb.st_dev == agent_root_tree_sb.st_dev && sb.st_ino == agent_root_tree_sb.st_ino)
		close(agent_root_tree);
	agent_root_tree = -1;
	if (fd >= 0 && !getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur > 64) {
		hi = fcntl(fd, F_DUPFD_CLOEXEC, (int)(min(rl.rlim_cur, (rlim_t)1024) - 40));
		if (hi >= 0) {
			close(fd);
			fd = hi;
		}
	}
	if (fd >= 0 && !fstat(fd, &sb)) {
		agent_root_tree = fd;
		agent_root_tree_sb = sb;
	} else if (fd >= 0)
		close(fd);
	if (agent_root_tree < 0)
		sb = *pidfd_sb;
	atomic_store_relaxed(&r->tree_dev, (uint64_t)sb.st_dev);
	atomic_store_relaxed(&r->tree_ino, (uint64_t)sb.st_ino);
}

/*
 * Our record @r, last seen in state @st, becomes PAGING with a new token
 * (root_tree_new()), unless it changed meanwhile (`uswap run` ended what the
 * image before us left: it moves LOST on). Context: as root_tree_new().
 */
static void root_paging_again(struct uswap_run_root *r, uint32_t st, const struct stat *pidfd_sb)
{
	if (!atomic_cmpxchg_acq_rel(&r->state, &st,
				    uswap_run_root_claiming((int32_t)syscall(SYS_getpid))))
		return;
	race_point("agent:root_claiming");
	root_tree_new(r, pidfd_sb);
	atomic_store_release(&r->state, USWAP_RUN_ROOT_PAGING);
}

/* Our pidfds' identity in *@sb. Return: 0 or -errno. */
static int root_self_id(struct stat *sb)
{
	int fd = (int)syscall(SYS_pidfd_open, syscall(SYS_getpid), 0), err;

	if (fd < 0)
		return -errno;
	err = fstat(fd, sb) ? -errno : 0;
	close(fd);
	return err;
}

/*
 * At the agent's start: a slot of ours still PAGING is the image before
 * an exec that did not hand its children over (the raw system call, or an
 * exec our check found sure to fail that succeeded): mark it LOST, for
 * `uswap run` to end them. Context: the constructor.
 */
static void root_after_exec(void)
{
	struct uswap_run_status *s = agent_shared;
	int32_t me = (int32_t)syscall(SYS_getpid);
	struct stat sb;

	if (!s || root_self_id(&sb))
		return;
	for (int i = 0; i < USWAP_RUN_MAX_ROOTS; i++) {
		struct uswap_run_root *r = &s->roots[i];
		uint32_t st = atomic_load_acquire(&r->state);

		if (st == USWAP_RUN_ROOT_PAGING && atomic_load_relaxed(&r->pid) == me &&
		    atomic_load_relaxed(&r->pidfd_ino) == (uint64_t)sb.st_ino &&
		    atomic_cmpxchg_acq_rel(&r->state, &st, USWAP_RUN_ROOT_LOST)) {
			agent_root = i;
			return;
		}
	}
}

/* Claim (or take back) our slot of roots[]. Context: our fork's prepare handler. */
static void root_claim(void)
{
	struct uswap_run_status *s = agent_shared;
	int32_t me = (int32_t)syscall(SYS_getpid);
	uint32_t st = USWAP_RUN_ROOT_HANDED;
	struct stat sb;
	/*
	 * After our hand-over (an exec that passed the check and failed) a
	 * child we fork is handed its pages at once: it loses nothing with
	 * us. We stay HANDED, or have a record that says so (without one,
	 * `uswap run` ends what holds the program's pidfd if it is killed).
	 */
	bool leaving = pager_fork_orphaning(agent_pager);

	if (!s || (leaving && agent_root >= 0))
		return;
	if (root_self_id(&sb))
		return;
	if (agent_root >= 0) {
		struct uswap_run_root *r = &s->roots[agent_root];

		/*
		 * The image before our exec left children behind (LOST):
		 * `uswap run` ends them, by the token in the record; wait
		 * for it (bounded) before the record becomes ours again.
		 */
		for (unsigned i = 0;
		     i < 2000 && atomic_load_acquire(&r->state) == USWAP_RUN_ROOT_LOST; i++)
			usleep(1000);
		/* Forking again after LOST: paging again, a new generation. */
		st = atomic_load_acquire(&r->state);
		if (st != USWAP_RUN_ROOT_PAGING)
			root_paging_again(r, st, &sb);
		return;
	}
	/* Ours already: the image before an exec claimed it. */
	for (int i = 0; i < USWAP_RUN_MAX_ROOTS; i++) {
		struct uswap_run_root *r = &s->roots[i];

		st = atomic_load_acquire(&r->state);
		if ((st == USWAP_RUN_ROOT_PAGING || st == USWAP_RUN_ROOT_HANDED) &&
		    atomic_load_relaxed(&r->pid) == me &&
		    atomic_load_relaxed(&r->pidfd_ino) == (uint64_t)sb.st_ino) {
			agent_root = i;
			/* A new image: its children hold a new token, not the old image's. */
			if (!leaving)
				root_paging_again(r, st, &sb);
			return;
		}
	}
	for (int i = 0; i < USWAP_RUN_MAX_ROOTS; i++) {
		struct uswap_run_root *r = &s->roots[i];

		st = atomic_load_acquire(&r->state);
		/* Free, a root gone that left no child to end, or a claimer gone. */
		if (st != USWAP_RUN_ROOT_FREE && !uswap_run_root_claimer_gone(st) &&
		    ((st != USWAP_RUN_ROOT_HANDED && st != USWAP_RUN_ROOT_ENDED) ||
		     !uswap_run_root_gone(atomic_load_relaxed(&r->pid),
					  atomic_load_relaxed(&r->pidfd_ino))))
			continue;
		if (!atomic_cmpxchg_acq_rel(&r->state, &st, uswap_run_root_claiming(me)))
			continue;
		race_point("agent:root_claiming");
		atomic_store_relaxed(&r->pid, me);
		atomic_store_relaxed(&r->pidfd_dev, (uint64_t)sb.st_dev);
		atomic_store_relaxed(&r->pidfd_ino, (uint64_t)sb.st_ino);
		root_tree_new(r, &sb);
		memset(r->comm, 0, sizeof(r->comm));
		strncpy(r->comm, program_invocation_short_name, sizeof(r->comm) - 1);
		atomic_store_release(&r->state,
				     leaving ? USWAP_RUN_ROOT_HANDED : USWAP_RUN_ROOT_PAGING);
		agent_root = i;
		return;
	}
	if (!agent_root_full_warned) {
		static const char msg[] =
			"uswap: no room on the status page for another process tree: "
			"if this process dies without handing its children their "
			"pages, uswap run cannot tell\n";

		agent_root_full_warned = true;
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
			agent_root_full_warned = true;
	}
}

/* Our children got their pages: say so before our exit can be seen. */
static void root_handed(void)
{
	uint32_t st = USWAP_RUN_ROOT_PAGING;

	if (agent_shared && agent_root >= 0)
		atomic_cmpxchg_acq_rel(&agent_shared->roots[agent_root].state, &st,
				       USWAP_RUN_ROOT_HANDED);
}

static void agent_atfork_prepare(void)
{
	if (agent_pager && !agent_forked && (pid_t)syscall(SYS_getpid) == agent_pid &&
	    pager_fork_enabled(agent_pager))
		root_claim();
}

/* Return: whether we are the root (not a forked child, nor a vfork child). */
static bool agent_is_root(void)
{
	return agent_pager && !agent_forked && (pid_t)syscall(SYS_getpid) == agent_pid;
}

static void agent_leaving(void)
{
	if (agent_is_root()) {
		pager_fork_orphan(agent_pager);
		root_handed();
	}
}

/*
 * An exec hands over only if it may succeed: one that fails leaves the
 * children paged. Return: false only when the kernel would surely refuse
 * @path (relative to @dirfd; @flags: AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW as
 * the exec has them): no such file, not a regular file, no execute
 * permission for our effective ids.
 * Anything else (ENOEXEC, E2BIG, ENOMEM, a missing interpreter...) only the
 * exec tells: true. Context: the exec's caller, before it.
 */
static bool exec_may_succeed(int dirfd, const char *path, int flags)
{
	struct stat sb;

	if (fstatat(dirfd, path, &sb, flags))
		return !(errno == ENOENT || errno == ENOTDIR || errno == EACCES || errno == ELOOP ||
			 errno == ENAMETOOLONG);
	if (!S_ISREG(sb.st_mode))
		return false;
	if (faccessat(dirfd, path, X_OK, AT_EACCESS | flags))
		return errno != EACCES;
	return true;
}

/* exec_may_succeed() for the p variants: @file searched in PATH as glibc does. */
static bool execp_may_succeed(const char *file)
{
	const char *path = getenv("PATH"), *dir, *end;
	char buf[PATH_MAX];
	size_t flen = strlen(file);

	if (!*file)
		return false;
	if (strchr(file, '/'))
		return exec_may_succeed(AT_FDCWD, file, 0);
	if (!path)
		path = "/bin:/usr/bin";
	for (dir = path;; dir = end + 1) {
		size_t dlen;

		end = strchrnul(dir, ':');
		dlen = (size_t)(end - dir);
		if (dlen + 1 + flen < sizeof(buf)) {
			if (dlen) {
				memcpy(buf, dir, dlen);
				buf[dlen] = '/';
				memcpy(buf + dlen + 1, file, flen + 1);
			} else { /* an empty entry: the current directory */
				memcpy(buf, file, flen + 1);
			}
			if (exec_may_succeed(AT_FDCWD, buf, 0))
				return true;
		}
		if (!*end)
			return false;
	}
}

#define AGENT_EXPORT __attribute__((visibility("default")))
void agent__exit(int status) __asm__("_exit") AGENT_EXPORT __attribute__((noreturn));
void agent__Exit(int status) __asm__("_Exit") AGENT_EXPORT __attribute__((noreturn));
void agent_quick_exit(int status) __asm__("quick_exit") AGENT_EXPORT __attribute__((noreturn));
int agent_daemon(int nochdir, int noclose) __asm__("daemon") AGENT_EXPORT;
int agent_execve(const char *path, char *const argv[],
		 char *const envp[]) __asm__("execve") AGENT_EXPORT;
int agent_execv(const char *path, char *const argv[]) __asm__("execv") AGENT_EXPORT;
int agent_execvp(const char *file, char *const argv[]) __asm__("execvp") AGENT_EXPORT;
int agent_execvpe(const char *file, char *const argv[],
		  char *const envp[]) __asm__("execvpe") AGENT_EXPORT;
int agent_fexecve(int fd, char *const argv[], char *const envp[]) __asm__("fexecve") AGENT_EXPORT;
int agent_execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		   int flags) __asm__("execveat") AGENT_EXPORT;
int agent_execl(const char *path, const char *arg, ...) __asm__("execl") AGENT_EXPORT;
int agent_execlp(const char *file, const char *arg, ...) __asm__("execlp") AGENT_EXPORT;
int agent_execle(const char *path, const char *arg, ...) __asm__("execle") AGENT_EXPORT;

void agent__exit(int status)
{
	agent_leaving();
	for (;;)
		syscall(SYS_exit_group, status);
}

void agent__Exit(int status)
{
	agent__exit(status);
}

/* glibc's daemon(), whose parent leaves by _exit(): the same steps, ours. */
int agent_daemon(int nochdir, int noclose)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -1;
	if (pid)
		agent__exit(0);
	if (setsid() < 0)
		return -1;
	if (!nochdir && chdir("/"))
		return -1;
	if (noclose)
		return 0;
	fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		return -1;
	if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
	    dup2(fd, STDERR_FILENO) < 0) {
		if (fd > STDERR_FILENO)
			close(fd);
		return -1;
	}
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

/* libc's execvpe() and fexecve(), looked up by the constructor (else at first use). */
static void *agent_next_execvpe, *agent_next_fexecve;

/* Return: the next definition of call @name (libc's) in *@slot, or NULL (errno ENOSYS). */
static void *agent_next(void **slot, const char *name)
{
	void *fn = atomic_load_acquire(slot);

	if (!fn) {
		fn = dlsym(RTLD_NEXT, name);
		atomic_store_release(slot, fn);
	}
	if (!fn)
		errno = ENOSYS;
	return fn;
}

/* libc's quick_exit(), looked up by the constructor (else at first use). */
static void *agent_next_quick_exit;

/*
 * quick_exit() runs the at_quick_exit() handlers and leaves by libc's own
 * _exit(), without the PLT and without our destructor: hand over first.
 */
void agent_quick_exit(int status)
{
	void (*fn)(int) = agent_next(&agent_next_quick_exit, "quick_exit");

	agent_leaving();
	if (fn)
		fn(status);
	agent__exit(status);
}

int agent_execve(const char *path, char *const argv[], char *const envp[])
{
	if (agent_is_root() && exec_may_succeed(AT_FDCWD, path, 0))
		agent_leaving();
	return (int)syscall(SYS_execve, path, argv, envp);
}

/* glibc 2.34's execveat(): @path relative to @dirfd, as the kernel reads @flags. */
int agent_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	if (agent_is_root() &&
	    exec_may_succeed(dirfd, path, flags & (AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)))
		agent_leaving();
	return (int)syscall(SYS_execveat, dirfd, path, argv, envp, flags);
}

int agent_execv(const char *path, char *const argv[])
{
	return agent_execve(path, argv, environ);
}

int agent_execvpe(const char *file, char *const argv[], char *const envp[])
{
	int (*fn)(const char *, char *const[], char *const[]) =
		agent_next(&agent_next_execvpe, "execvpe");

	if (fn && agent_is_root() && execp_may_succeed(file))
		agent_leaving();
	return fn ? fn(file, argv, envp) : -1;
}

int agent_execvp(const char *file, char *const argv[])
{
	return agent_execvpe(file, argv, environ);
}

int agent_fexecve(int fd, char *const argv[], char *const envp[])
{
	int (*fn)(int, char *const[], char *const[]) = agent_next(&agent_next_fexecve, "fexecve");

	if (fn && agent_is_root() && exec_may_succeed(fd, "", AT_EMPTY_PATH))
		agent_leaving();
	return fn ? fn(fd, argv, envp) : -1;
}

/*
 * The list forms: gather the arguments (and for execle the environment
 * after them) into an array on the stack. Return: false (errno E2BIG) when
 * they do not fit: the exec fails, as the kernel's does for too long a
 * list, rather than run the program with some arguments left out.
 */
#define AGENT_EXEC_ARGS 4096
static bool agent_gather(const char *arg, va_list ap, char **out)
{
	unsigned n = 0;

	for (out[n] = (char *)arg; out[n]; out[n] = va_arg(ap, char *))
		if (++n == AGENT_EXEC_ARGS) {
			errno = E2BIG;
			return false;
		}
	return true;
}

int agent_execl(const char *path, const char *arg, ...)
{
	char *argv[AGENT_EXEC_ARGS];
	va_list ap;
	bool ok;

	va_start(ap, arg);
	ok = agent_gather(arg, ap, argv);
	va_end(ap);
	return ok ? agent_execve(path, argv, environ) : -1;
}

int agent_execlp(const char *file, const char *arg, ...)
{
	char *argv[AGENT_EXEC_ARGS];
	va_list ap;
	bool ok;

	va_start(ap, arg);
	ok = agent_gather(arg, ap, argv);
	va_end(ap);
	return ok ? agent_execvpe(file, argv, environ) : -1;
}

int agent_execle(const char *path, const char *arg, ...)
{
	char *argv[AGENT_EXEC_ARGS], **envp;
	va_list ap;
	bool ok;

	va_start(ap, arg);
	ok = agent_gather(arg, ap, argv);
	envp = ok ? va_arg(ap, char **) : NULL;
	va_end(ap);
	return ok ? agent_execve(path, argv, envp) : -1;
}

/*
 * ---- interposed calls: those the kernel refuses a multithreaded process ----
 *
 * A forked child whose pages are evicted runs a zapper thread from fork()
 * on (fork.c). unshare() with CLONE_NEWUSER (or CLONE_THREAD, CLONE_SIGHAND,
 * CLONE_VM) and setns() into a user, mount or time namespace fail in a
 * process with more than one thread (EINVAL, EUSERS), and sandboxes and
 * container runtimes make them right after a fork: the zapper is stopped
 * first (the child's pages stay resident from then on, outside the budget).
 * clone() with CLONE_NEWUSER and chroot() need no single thread (probed on
 * Linux 6.18). A raw system call bypasses this.
 */
int agent_unshare(int flags) __asm__("unshare") AGENT_EXPORT;
int agent_setns(int fd, int nstype) __asm__("setns") AGENT_EXPORT;

#define AGENT_UNSHARE_SINGLE (CLONE_NEWUSER | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM)
#define AGENT_SETNS_SINGLE   (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWTIME)

/*
 * The program itself (not a forked child) cannot be made single-threaded:
 * its pager's threads are what pages it. Say so once when the kernel
 * refuses it for that reason, rather than leave a bare EINVAL.
 */
static void agent_single_refused(const char *call)
{
	static uint32_t said;
	int saved = errno, n;
	char msg[320];

	if (!agent_is_root() || atomic_xchg_acq_rel(&said, 1U))
		return;
	n = snprintf(msg, sizeof(msg),
		     "uswap: %s refused: the kernel allows it only to a single-threaded process, "
		     "and a program paged by uswap run has its pager's threads; run the namespace "
		     "tool outside uswap instead (e.g. unshare --user ... uswap run -- PROG)\n",
		     call);
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)min(n, (int)sizeof(msg) - 1)) < 0)
		n = 0; /* stderr gone: nothing more to say */
	errno = saved;
}

int agent_unshare(int flags)
{
	int ret;

	if (flags & AGENT_UNSHARE_SINGLE)
		pager_fork_zapper_stop();
	ret = (int)syscall(SYS_unshare, flags);
	if (ret && errno == EINVAL && (flags & AGENT_UNSHARE_SINGLE))
		agent_single_refused("unshare()");
	return ret;
}

int agent_setns(int fd, int nstype)
{
	int saved = errno, type = nstype, ret;

	/* 0: any namespace, the descriptor's (a pidfd needs flags). */
	if (!type) {
		type = ioctl(fd, NS_GET_NSTYPE);
		errno = saved;
	}
	if (type > 0 && (type & AGENT_SETNS_SINGLE))
		pager_fork_zapper_stop();
	ret = (int)syscall(SYS_setns, fd, nstype);
	if (ret && (errno == EINVAL || errno == EUSERS) && type > 0 && (type & AGENT_SETNS_SINGLE))
		agent_single_refused("setns()");
	return ret;
}

/* ---- the pickup thread: memory mapped without the PLT, as it is mapped ---- */

/* A PERF_RECORD_MMAP2 record (without build ids), as the kernel writes it. */
struct pickup_mmap2 {
	struct perf_event_header header;
	uint32_t pid, tid;
	uint64_t addr, len, pgoff;
	uint32_t maj, min;
	uint64_t ino, ino_generation;
	uint32_t prot, flags;
	char filename[];
};

/*
 * Add [start, end) to @list of *@nr ranges, merged with one it overlaps or
 * touches (records of a VMA that grows tell of it whole each time).
 * Return: false if the list is full.
 */
static bool pickup_range_add(struct pickup_range *list, unsigned *nr, unsigned long start,
			     unsigned long end)
{
	for (unsigned i = 0; i < *nr; i++) {
		if (start <= list[i].end && end >= list[i].start) {
			list[i].start = min(list[i].start, start);
			list[i].end = max(list[i].end, end);
			return true;
		}
	}
	if (*nr == PICKUP_RANGES)
		return false;
	list[(*nr)++] = (struct pickup_range){start, end};
	return true;
}

/*
 * Note record @h (@n bytes of it copied) in pickup.fresh if it tells of a
 * mapping of this process that is private, anonymous, readable and
 * writable or a reservation without access rights (which malloc makes
 * writable piece by piece). Even if the region list covers it: that may
 * be a range just unmapped, whose event the fault thread has read (munmap
 * returned) but not applied yet. Lost records (ring overflow) or too many
 * ask for a full scan.
 */
static void pickup_note(const struct perf_event_header *h, size_t n)
{
	const struct pickup_mmap2 *r = (const void *)h;
	unsigned rw = r->prot & (PROT_READ | PROT_WRITE | PROT_EXEC);

	if (h->type == PERF_RECORD_LOST) {
		atomic_fetch_add_relaxed(&pickup.lost, 1UL);
		pickup.fresh_overflow = true;
		return;
	}
	if (h->type != PERF_RECORD_MMAP2 || n < offsetof(struct pickup_mmap2, filename) ||
	    (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID))
		return;
	if ((int)r->pid != pickup.pid || (rw != (PROT_READ | PROT_WRITE) && rw != PROT_NONE) ||
	    !(r->flags & MAP_PRIVATE) || r->ino || r->maj || r->min ||
	    r->addr + r->len > (1UL << 47))
		return;
	if (!pickup_range_add(pickup.fresh, &pickup.nr_fresh, r->addr, r->addr + r->len))
		pickup.fresh_overflow = true;
}

/* Read ring @m to its head, noting what to register. */
static void pickup_drain(struct perf_event_mmap_page *m)
{
	static union { /* the pickup thread's only: not registered (.bss of a library) */
		struct perf_event_header h;
		char bytes[sizeof(struct pickup_mmap2) + 64];
	} rec;
	const char *data = (const char *)m + PAGE_SIZE;
	uint64_t size = m->data_size, head = atomic_load_acquire(&m->data_head),
		 tail = m->data_tail;

	while (tail < head) {
		/* Records are 8-byte aligned: a header never wraps, the rest may. */
		const struct perf_event_header *h = (const void *)(data + tail % size);
		size_t off = tail % size, n = min((size_t)h->size, sizeof(rec)),
		       first = min(n, (size_t)(size - off));

		if (h->size < sizeof(*h))
			break;
		memcpy(rec.bytes, data + off, first);
		memcpy(rec.bytes + first, data, n - first);
		tail += h->size;
		pickup_note(&rec.h, n);
	}
	atomic_store_release(&m->data_tail, tail);
}

/*
 * Register the program's anonymous private memory the kernel maps in
 * [start, end) now (a record tells what was, not what is: it is asked
 * again), with the scan's rules: not our own memory, not the loader's
 * early memory, not a library's .bss (a private anonymous mapping right
 * after a library's file mapping), not [stack]. !@adopt: the kernel
 * registration only. Return: 0, or a negative errno when the kernel cannot
 * be asked (PROCMAP_QUERY, Linux 6.11): scan the maps instead.
 */
static int pickup_take(unsigned long start, unsigned long end, bool adopt)
{
	char name[512]; /* on the calling agent thread's own stack */

	for (unsigned long addr = start; addr < end;) {
		struct agent_vma_query q = {
			.size = sizeof(q),
			.query_flags = VMA_QUERY_COVERING_OR_NEXT,
			.query_addr = addr,
			.vma_name_size = sizeof(name),
			.vma_name_addr = (uintptr_t)name,
		};
		unsigned long vs, ve;

		/* The kernel writes no name for a VMA without one: never read a stale one. */
		name[0] = 0;
		if (ioctl(agent_maps_fd, VMA_QUERY, &q))
			return errno == ENOENT ? 0 : -errno;
		vs = q.vma_start;
		ve = q.vma_end;
		if (vs >= end || ve <= addr)
			break;
		addr = ve;
		if (q.inode || q.dev_major || q.dev_minor || (q.vma_flags & VMA_QUERY_SHARED) ||
		    (q.vma_flags & VMA_QUERY_EXEC) ||
		    ((q.vma_flags & VMA_QUERY_RW) &&
		     (q.vma_flags & VMA_QUERY_RW) != VMA_QUERY_RW) ||
		    !anon_candidate(vs, ve, name))
			continue;
		if (q.vma_flags & VMA_QUERY_RW) {
			/* Is it right after a library's file mapping (its .bss)? */
			struct agent_vma_query prev = {
				.size = sizeof(prev),
				.query_addr = vs - 1,
				.vma_name_size = sizeof(name),
				.vma_name_addr = (uintptr_t)name,
			};

			name[0] = 0;
			if (!ioctl(agent_maps_fd, VMA_QUERY, &prev) && prev.vma_end == vs &&
			    prev.inode && is_library(name))
				continue;
		}
		register_except_early(max(vs, start), min(ve, end), adopt);
	}
	return 0;
}

/*
 * Return: whether the pickup thread's own registrations cover [start, end)
 * and still stand (no userfaultfd message read since: a registered VMA goes
 * away only with an UNMAP or REMAP message; a MAP_FIXED mapping over one,
 * seen before its message, is taken again once the fault thread applied it,
 * agent_unmapped()). Then a record of it (an mprotect() of memory already
 * registered, say) needs no registration again, nor the mmap lock it takes.
 */
static bool pickup_cached(unsigned long start, unsigned long end)
{
	unsigned long seq = pager_read_seq(agent_pager);

	while (!(seq & 1) && start < end) {
		unsigned i;

		for (i = 0; i < PICKUP_CACHE; i++) {
			const struct pickup_cached *c = &pickup.cache[i];

			if (c->seq == seq && c->start <= start && start < c->end)
				break;
		}
		if (i == PICKUP_CACHE)
			return false;
		start = pickup.cache[i].end;
	}
	return !(seq & 1);
}

/*
 * From the fault thread, once it applied the unmapping of a registered
 * range: take the range again (the adopt thread), for what the program
 * mapped there (MAP_FIXED) before the fault thread heard of it.
 */
static void agent_unmapped(void *arg, unsigned long start, unsigned long end)
{
	pthread_mutex_lock(&pickup.lock);
	if (!pickup_range_add(pickup.todo, &pickup.nr_todo, start, end))
		pickup.full_scan = true;
	pthread_cond_signal(&pickup.more);
	pthread_mutex_unlock(&pickup.lock);
}

/*
 * The pickup thread: sleeps in poll() on the per-CPU rings, wakes at each
 * record and at once makes the kernel registration of the new anonymous
 * memory the records tell of (the program's next touches fault and are
 * throttled under the budget), then queues it for the adopt thread. Lost
 * records, too many at once or no PROCMAP_QUERY ask the adopt thread for
 * a full scan of the maps instead. It never adopts nor reclaims, so that
 * it is back in poll() within microseconds. It stops at an error or a
 * hang-up (the rescan goes on alone).
 */
static void *pickup_main(void *arg)
{
	struct pollfd pfd[PICKUP_MAX_CPUS];
	unsigned nr = pickup.nr;

	for (unsigned i = 0; i < nr; i++)
		pfd[i] = (struct pollfd){.fd = pickup.fd[i], .events = POLLIN};
	/*
	 * It runs microseconds at a time, and how soon it runs after a
	 * record is what the program may touch unpaged meanwhile: ahead of
	 * the program's threads when allowed (CAP_SYS_NICE: the lowest
	 * real-time priority, as a threaded interrupt handler; the kernel's
	 * real-time throttling bounds it), else as them.
	 */
	{
		struct sched_param sp = {.sched_priority = 1};

		if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp))
			errno = 0;
	}
	while (!agent_forked) {
		bool hup = false, full = false, todo = false;

		if (poll(pfd, nr, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		pickup.nr_fresh = 0;
		pickup.fresh_overflow = false;
		for (unsigned i = 0; i < nr; i++) {
			hup |= pfd[i].revents & (POLLHUP | POLLERR | POLLNVAL);
			pickup_drain(pickup.ring[i]);
		}
		full = pickup.fresh_overflow;
		for (unsigned i = 0; i < pickup.nr_fresh && !full; i++) {
			struct pickup_range *r = &pickup.fresh[i];

			if (pickup_cached(r->start, r->end)) {
				atomic_fetch_add_relaxed(&pickup.cached, 1UL);
				r->end = r->start; /* nothing to adopt either */
				continue;
			}
			todo = true;
			full = pickup_take(r->start, r->end, false) != 0;
		}
		if (todo || full) {
			pthread_mutex_lock(&pickup.lock);
			for (unsigned i = 0; i < pickup.nr_fresh && !full; i++)
				if (pickup.fresh[i].start < pickup.fresh[i].end)
					full = !pickup_range_add(pickup.todo, &pickup.nr_todo,
								 pickup.fresh[i].start,
								 pickup.fresh[i].end);
			pickup.full_scan |= full;
			pthread_cond_signal(&pickup.more);
			pthread_mutex_unlock(&pickup.lock);
		}
		if (pickup.nr_fresh || full)
			atomic_fetch_add_relaxed(&pickup.takes, 1UL);
		if (hup)
			break;
	}
	atomic_store_relaxed(&pickup.on, false);
	return arg;
}

/*
 * The adopt thread: adopts the pages the program touched in what the
 * pickup thread registered, before it did (PICKUP_ADOPT bytes at a time,
 * first come first), or runs the full scans it asks for. Adopting may
 * reclaim (mm_throttle) and takes the engine's locks: it runs on its own
 * stack and touches no paged memory, like the reclaim thread.
 */
static void *adopt_main(void *arg)
{
	pthread_mutex_lock(&pickup.lock);
	while (!agent_forked) {
		unsigned long s, e;

		if (pickup.full_scan) {
			pickup.full_scan = false;
			pickup.nr_todo = 0;
			pthread_mutex_unlock(&pickup.lock);
			pthread_mutex_lock(&scan_lock);
			agent_scan(false);
			pthread_mutex_unlock(&scan_lock);
			atomic_fetch_add_relaxed(&pickup.scans, 1UL);
			pthread_mutex_lock(&pickup.lock);
			continue;
		}
		if (!pickup.nr_todo) {
			pthread_cond_wait(&pickup.more, &pickup.lock);
			continue;
		}
		s = pickup.todo[0].start;
		e = min(s + PICKUP_ADOPT, pickup.todo[0].end);
		pickup.todo[0].start = e;
		if (e == pickup.todo[0].end)
			memmove(&pickup.todo[0], &pickup.todo[1],
				--pickup.nr_todo * sizeof(pickup.todo[0]));
		pthread_mutex_unlock(&pickup.lock);
		if (pickup_take(s, e, true)) {
			pthread_mutex_lock(&pickup.lock);
			pickup.full_scan = true;
			continue;
		}
		pthread_mutex_lock(&pickup.lock);
	}
	pthread_mutex_unlock(&pickup.lock);
	return arg;
}

static void pickup_close_events(void)
{
	for (unsigned i = 0; i < pickup.nr; i++) {
		munmap(pickup.ring[i], (1 + PICKUP_RING_PAGES) * PAGE_SIZE);
		close(pickup.fd[i]);
	}
	pickup.nr = 0;
}

static void pickup_close(void)
{
	pickup_close_events();
	if (pickup.stack)
		munmap(pickup.stack, 2 * PICKUP_STACK);
	pickup.stack = NULL;
}

/*
 * Open one dummy software event per CPU on this process, inherited by its
 * new threads (not by forked children; gone at exec), that records every
 * change of a data mapping: mmap, brk growth, mprotect (the kernel reports
 * the whole VMA after the change). Per CPU because the kernel does not let
 * an inherited per-task event be mapped. Before the first scan, so that
 * nothing mapped after it is missed. USWAP_AGENT_NO_PERF=1 leaves the
 * rescan alone (-ECANCELED). Return: 0 or a negative errno (then nothing
 * is left open).
 */
static int pickup_open(void)
{
	struct perf_event_attr attr = {
		.size = sizeof(attr),
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_DUMMY,
		.mmap_data = 1,
		.mmap2 = 1,
		.inherit = 1,
		.inherit_thread = 1,
		.remove_on_exec = 1,
		.watermark = 1,
		.wakeup_watermark = 1, /* wake at every record */
		.exclude_kernel = 1,
		.exclude_hv = 1,
	};
	const char *off = getenv("USWAP_AGENT_NO_PERF");
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	int err = 0;

	if (off && off[0] && strcmp(off, "0"))
		return -ECANCELED;
	if (ncpu <= 0 || ncpu > PICKUP_MAX_CPUS)
		return -E2BIG;
	pickup.pid = getpid();
	for (long cpu = 0; cpu < ncpu && !err; cpu++) {
		int fd = (int)syscall(SYS_perf_event_open, &attr, 0, (int)cpu, -1,
				      PERF_FLAG_FD_CLOEXEC);
		void *m;

		if (fd < 0) {
			/* An offline CPU runs nothing of ours (until it comes up: the rescan). */
			err = errno == ENODEV ? 0 : -errno;
			continue;
		}
		m = mmap(NULL, (1 + PICKUP_RING_PAGES) * PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			err = -errno;
			close(fd);
			continue;
		}
		pickup.fd[pickup.nr] = fd;
		pickup.ring[pickup.nr++] = m;
	}
	pickup.stack =
		(void *)syscall(SYS_mmap, NULL, 2 * PICKUP_STACK, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (pickup.stack == MAP_FAILED) {
		pickup.stack = NULL;
		err = err ?: -ENOMEM;
	}
	if (!err && !pickup.nr)
		err = -ENODEV;
	if (!err && agent_maps_fd < 0)
		err = -EBADF;
	if (err)
		pickup_close();
	return err;
}

/* Return: 0 or pthread_create()'s error; @fifo: at SCHED_FIFO 1 from the start. */
static int pickup_create(pthread_attr_t *attr, bool fifo)
{
	struct sched_param sp = {.sched_priority = 1};
	int ret;

	if (fifo && (pthread_attr_setinheritsched(attr, PTHREAD_EXPLICIT_SCHED) ||
		     pthread_attr_setschedpolicy(attr, SCHED_FIFO) ||
		     pthread_attr_setschedparam(attr, &sp)))
		return EINVAL;
	ret = pthread_create(&pickup.thread, attr, pickup_main, NULL);
	pthread_attr_setinheritsched(attr, PTHREAD_INHERIT_SCHED);
	return ret;
}

/* Start the pickup and adopt threads (after the first scan), signals blocked. */
static void pickup_start(void)
{
	pthread_attr_t attr;
	sigset_t all, old;

	if (!pickup.nr)
		return;
	pthread_attr_init(&attr);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_setstack(&attr, pickup.stack + PICKUP_STACK, PICKUP_STACK);
	if (pthread_create(&pickup.adopt_thread, &attr, adopt_main, NULL)) {
		pickup_close();
	} else {
		pthread_attr_setstack(&attr, pickup.stack, PICKUP_STACK);
		atomic_store_relaxed(&pickup.on, true);
		pager_set_unmapped(agent_pager, agent_unmapped, NULL);
		/*
		 * Real-time from its creation where allowed, not from its
		 * first line: a new thread of the normal class may wait tens
		 * of ms for a CPU on a busy machine while the program's threads
		 * write memory it has not registered yet (a run under load:
		 * RssAnon 22 MiB, 4 KiB charged, 0.05 s after start). Else as
		 * the program's threads.
		 */
		if (pickup_create(&attr, true) && pickup_create(&attr, false)) {
			atomic_store_relaxed(&pickup.on, false);
			pickup_close_events();
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
}

/* ---- start and exit ---- */

static void agent_fail(const char *msg)
{
	static const char pfx[] = "uswap: ";

	status_set_message(msg);
	if (agent_status)
		atomic_store_release(&agent_status->state, (int32_t)USWAP_RUN_FAILED);
	if (write(STDERR_FILENO, pfx, sizeof(pfx) - 1) < 0 ||
	    write(STDERR_FILENO, msg, strlen(msg)) < 0 || write(STDERR_FILENO, "\n", 1) < 0)
		msg = NULL;
	/* Not paged is not an option: the program does not start. */
	_exit(125);
}

/* Return: the parent of process @pid, or -1. */
static int parent_of(int pid)
{
	char path[64], buf[512], *p;
	int fd, ppid = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* "pid (comm) state ppid": comm may hold anything but ends at the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

/* Return: whether process @pid is an ancestor of this one. */
static bool is_ancestor(int pid)
{
	int cur = getpid();

	for (unsigned depth = 0; depth < 64 && cur > 1; depth++) {
		cur = parent_of(cur);
		if (cur == pid)
			return true;
	}
	return false;
}

/* Take the status page back from a process that died without handing it back. */
static void reclaim_status(void)
{
	int32_t owner;

	if (!agent_status)
		return;
	owner = atomic_load_relaxed(&agent_status->pid);
	/* An owner that exited normally published its final figures: they stay. */
	if (atomic_load_acquire(&agent_status->state) == USWAP_RUN_EXITED)
		return;
	if (owner != (int32_t)getpid() && kill(owner, 0) && errno == ESRCH)
		atomic_cmpxchg_acq_rel(&agent_status->pid, &owner, (int32_t)getpid());
}

/* USWAP_AGENT_KILL_AT (tests, debug builds): the race point to die at. */
static char agent_kill_at[64];

static void agent_kill_hook(const char *name, void *arg)
{
	if (!strcmp(name, (const char *)arg))
		syscall(SYS_kill, syscall(SYS_getpid), SIGKILL);
}

/* Return: whether this process owns the status page (publishes). */
static bool status_owner(void)
{
	return agent_status && atomic_load_relaxed(&agent_status->pid) == (int32_t)getpid();
}

static void agent_atfork_child(void)
{
	agent_forked = true;
	/* The events watch the parent; the rings are not mapped in a child. */
	for (unsigned i = 0; i < pickup.nr; i++)
		close(pickup.fd[i]);
	if (agent_maps_fd >= 0)
		close(agent_maps_fd);
}

/*
 * In another PID namespace than `uswap run` (USWAP_RUN_PIDNS: unshare -p,
 * a container runtime in the tree), the pids we would publish name another
 * process, or none, for `uswap run`: it would take our record for a root
 * gone and end our live children, and read our figures as another's. So
 * we publish neither, and say so once. Context: the constructor, the
 * status page mapped. Return: whether we are in another namespace.
 */
static bool agent_foreign_pidns(void)
{
	static const char msg[] =
		"uswap: this program runs in a PID namespace of its own: uswap run cannot "
		"follow it by pid, so its figures are not shown and, if it is killed, the "
		"children it forked are not ended (they wait at their next swapped page)\n";
	const char *want = getenv("USWAP_RUN_PIDNS");
	unsigned long long dev, ino;
	struct stat sb;

	if (!want || sscanf(want, "%llu:%llu", &dev, &ino) != 2 || stat("/proc/self/ns/pid", &sb) ||
	    ((unsigned long long)sb.st_dev == dev && (unsigned long long)sb.st_ino == ino))
		return false;
	agent_status = NULL;
	agent_shared = NULL;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		agent_shared = NULL;
	return true;
}

__attribute__((constructor)) static void agent_init(void)
{
	const char *budget = getenv("USWAP_RUN_BUDGET"), *status = getenv("USWAP_RUN_STATUS");
	struct uswap_pager_config cfg = {0};
	char err[512], *end;
	int32_t none = 0;
	ssize_t n;
	int fd;

	/* Not at exec time, which may be a vfork child's or a signal handler's. */
	agent_next(&agent_next_execvpe, "execvpe");
	agent_next(&agent_next_fexecve, "fexecve");
	agent_next(&agent_next_quick_exit, "quick_exit");
	if (!budget || !status)
		return;
	fd = open(status, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		void *m = mmap(NULL, sizeof(struct uswap_run_status), PROT_READ | PROT_WRITE,
			       MAP_SHARED, fd, 0);

		close(fd);
		if (m != MAP_FAILED)
			agent_status = m;
		if (m != MAP_FAILED && agent_status->magic == USWAP_RUN_STATUS_MAGIC &&
		    agent_status->version == USWAP_RUN_STATUS_VERSION)
			agent_shared = m;
	} else if (errno == ENOENT) {
		/*
		 * `uswap run` creates the page before it starts the program
		 * and removes it at its exit: this is a descendant started
		 * once it has gone (a program a background job or a daemon
		 * of the tree execs later). It pages itself all the same,
		 * with nobody to publish to (as when another owns the page).
		 */
		goto no_status;
	}
	if (!agent_status || agent_status->magic != USWAP_RUN_STATUS_MAGIC ||
	    agent_status->version != USWAP_RUN_STATUS_VERSION)
		agent_fail("cannot map the status page USWAP_RUN_STATUS");
	if (agent_foreign_pidns())
		goto no_status;
	/* The status page is ours if free, already ours (exec), a parent's or a dead one's. */
	while (!atomic_cmpxchg_acq_rel(&agent_status->pid, &none, (int32_t)getpid())) {
		if (none == (int32_t)getpid())
			break;
		if (is_ancestor(none)) {
			prev_owner = none;
			prev_owner_peak = atomic_load_relaxed(&agent_status->resident_peak_bytes);
			continue;
		}
		if (kill(none, 0) && errno == ESRCH)
			continue;
		/* Another's: we publish nothing, but keep roots[] (agent_shared). */
		agent_status = NULL;
		break;
	}
no_status:
	errno = 0;
	cfg.budget_bytes = strtoull(budget, &end, 10);
	if (errno || *end || end == budget)
		agent_fail("bad USWAP_RUN_BUDGET");
	cfg.device = getenv("USWAP_RUN_DEVICE");
	cfg.comp = getenv("USWAP_RUN_COMP");
	n = readlink("/proc/self/exe", exe_path, sizeof(exe_path) - 1);
	exe_path[n > 0 ? n : 0] = 0;
	maps_buf = (void *)syscall(SYS_mmap, NULL, MAPS_BUF, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (maps_buf == MAP_FAILED)
		agent_fail("out of memory");
	err[0] = 0;
	agent_pid = getpid();
	root_after_exec();
	if (uswap_pager_open(&agent_pager, &cfg, err, sizeof(err)))
		agent_fail(err[0] ? err : "cannot start the pager");
	pthread_atfork(agent_atfork_prepare, NULL, agent_atfork_child);
	/*
	 * Tests widen the windows of the agent's race points whose names hold
	 * USWAP_AGENT_RACE (debug builds; a delay of 10 us to 2 ms one hit in
	 * two), to show what the program may do in them.
	 */
	if (getenv("USWAP_AGENT_RACE") && getenv("USWAP_AGENT_RACE")[0] &&
	    !race_inject_select(getenv("USWAP_AGENT_RACE")))
		race_inject_start(1, 3);
	/* And kill the process at the one USWAP_AGENT_KILL_AT names, to see what that leaves. */
	if (getenv("USWAP_AGENT_KILL_AT") && getenv("USWAP_AGENT_KILL_AT")[0]) {
		strncpy(agent_kill_at, getenv("USWAP_AGENT_KILL_AT"), sizeof(agent_kill_at) - 1);
		race_set_hook(agent_kill_hook, agent_kill_at);
	}
	agent_maps_fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	agent_pickup_errno = -pickup_open();
	agent_scan(true);
	pickup_start();
	status_publish();
	pager_set_tick(agent_pager, agent_tick, NULL, 10);
	if (agent_status) {
		status_set_message("");
		atomic_store_release(&agent_status->state, (int32_t)USWAP_RUN_READY);
	}
}

/*
 * At exit the paging threads keep serving: what runs after this (other
 * destructors, stdio flushing) may still touch swapped memory, and the
 * device's memory goes with the process. Publish the last figures.
 */
__attribute__((destructor)) static void agent_exit(void)
{
	int32_t me = (int32_t)getpid();

	/* Forked children outliving us get their swapped pages back first. */
	if (agent_pager && !agent_forked) {
		pager_fork_orphan(agent_pager);
		root_handed();
	}
	if (!agent_pager || agent_forked || !status_owner())
		return;
	/*
	 * A helper a wrapper ran (smaller than the wrapper) hands the page
	 * back; the program a wrapper ran keeps it, with its figures.
	 */
	if (prev_owner && !kill(prev_owner, 0) &&
	    atomic_load_relaxed(&agent_status->resident_peak_bytes) <= prev_owner_peak &&
	    atomic_cmpxchg_acq_rel(&agent_status->pid, &me, prev_owner))
		return;
	status_publish();
	atomic_store_release(&agent_status->state, (int32_t)USWAP_RUN_EXITED);
}
