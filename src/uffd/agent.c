// SPDX-License-Identifier: MIT
/*
 * agent.c - the paging agent `uswap run` preloads into a program
 * (libuswap-agent.so). Its constructor reads the environment (run_status.h),
 * opens a pager over the program's own memory, registers every anonymous
 * private writable mapping (brk heap, malloc arenas, mmap'd regions, thread
 * stacks) and publishes its state and figures on the status page. Memory
 * mapped later is picked up by the interposed mmap() at once, and by a
 * rescan of /proc/self/maps (what glibc maps without the PLT: heap growth,
 * malloc arenas) from the pager's reclaim thread within 10 ms of the
 * process's anonymous memory outgrowing what the pager holds.
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
 * Owns: the agent's globals and the status page mapping. Locking: the
 * globals are written by the constructor before any paging thread starts;
 * the status page has one writer per field (the reclaim thread's tick, or
 * the destructor after it).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fork.h"
#include "pager.h"
#include "run_status.h"

#define MAPS_BUF (4UL << 20)

static struct uswap_pager *agent_pager;
static struct uswap_run_status *agent_status;
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

/* The process tree's figures (fork.c): the root's, its children's, the sums. */
static void status_publish_tree(struct uswap_run_status *s)
{
	struct fork_proc_stats procs[USWAP_RUN_MAX_PROCS];
	struct fork_tree_stats t;
	unsigned n = pager_fork_stats(agent_pager, &t, procs, USWAP_RUN_MAX_PROCS);
	long out = uswap_pager_counter(agent_pager, "pswpout");

	atomic_store_relaxed(&s->tree_processes, (uint64_t)t.processes);
	atomic_store_relaxed(&s->tree_forks, (uint64_t)t.forks);
	atomic_store_relaxed(&s->tree_exited, (uint64_t)t.exited);
	atomic_store_relaxed(&s->tree_faults, (uint64_t)t.faults);
	atomic_store_relaxed(&s->tree_swapins, (uint64_t)t.swapins);
	atomic_store_relaxed(&s->tree_swapouts, out > 0 ? (uint64_t)out : 0);
	atomic_store_relaxed(&s->tree_shared_hits, (uint64_t)t.shared_hits);
	atomic_store_relaxed(&s->tree_shared_reads, (uint64_t)t.shared_reads);
	for (unsigned i = 0; i < n; i++) {
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
	atomic_store_relaxed(&s->nr_procs, n);
}

static void status_publish(void)
{
	struct uswap_run_status *s = agent_status;
	struct uswap_pager_stats st;
	unsigned long hist[PAGER_LAT_BUCKETS];
	unsigned i = 0;
	long rss;

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
	for (unsigned e = 0; e < NR_VM_EVENT_ITEMS && i < USWAP_RUN_MAX_COUNTERS; e++, i++)
		status_set_counter(i, vm_event_names[e],
				   (uint64_t)uswap_pager_counter(agent_pager, vm_event_names[e]));
	rss = rss_anon_bytes();
	if (i + 5 <= USWAP_RUN_MAX_COUNTERS) {
		status_set_counter(i++, "uffd_faults", st.faults);
		status_set_counter(i++, "uffd_swapin_faults", st.swapin_faults);
		status_set_counter(i++, "uffd_evict_busy", st.evict_busy);
		status_set_counter(i++, "uffd_data_released", st.data_released);
		status_set_counter(i++, "rss_anon_bytes", rss > 0 ? (uint64_t)rss : 0);
	}
	uswap_pager_latency(agent_pager, hist, PAGER_LAT_BUCKETS);
	for (unsigned b = 0; b < PAGER_LAT_BUCKETS && b < USWAP_RUN_LAT_BUCKETS; b++)
		atomic_store_relaxed(&s->swapin_lat[b], (uint64_t)hist[b]);
	status_publish_tree(s);
}

/* ---- which mappings are the program's anonymous memory ---- */

static bool own_memory(unsigned long start, unsigned long end)
{
	unsigned long b = (unsigned long)maps_buf;

	return (start < b + MAPS_BUF && end > b) || pager_is_own(agent_pager, start, end);
}

/* Return: whether @path names a file that is not the main program. */
static bool is_library(const char *path)
{
	return path[0] == '/' && strcmp(path, exe_path);
}

/* Register [start, end) if not yet, except the pieces of it in @early (merged VMAs). */
static void register_range(unsigned long start, unsigned long end)
{
	if (start < end && !pager_is_registered(agent_pager, start, end))
		uswap_pager_register(agent_pager, (void *)start, end - start);
}

static void register_except_early(unsigned long start, unsigned long end)
{
	for (unsigned i = 0; i < nr_early && start < end; i++) {
		if (early[i].end <= start || early[i].start >= end)
			continue;
		register_range(start, early[i].start > start ? early[i].start : start);
		start = early[i].end;
	}
	register_range(start, end);
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
		char *next = strchr(line, '\n'), perms[8], path[512] = "";
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
		{
			char *pth = path;
			bool anon, after_lib = prev_lib && prev_end == start;
			bool after_exe = prev_exe && prev_end == start;

			while (*pth == ' ')
				pth++;
			anon = inode == 0 &&
			       (!pth[0] || !strcmp(pth, "[heap]") || !strncmp(pth, "[anon:", 6));
			prev_lib = is_library(pth) || (after_lib && !pth[0]);
			prev_exe = exe_path[0] && !strcmp(pth, exe_path);
			prev_end = end;
			if (!anon || strcmp(perms, "rw-p") || after_lib || own_memory(start, end) ||
			    end > (1UL << 47))
				continue;
			/* The program's own .bss tail is the program's memory. */
			if (first && strcmp(pth, "[heap]") && !after_exe) {
				/*
				 * Before main(): the dynamic loader's own data (link
				 * maps, the main thread's TLS), which resolving a
				 * lazily bound call reads. Never paged.
				 */
				if (nr_early < ARRAY_SIZE(early))
					early[nr_early++].start = start,
					early[nr_early - 1].end = end;
				continue;
			}
			register_except_early(start, end);
		}
	}
}

/*
 * From the reclaim thread, every 10 ms: rescan when anonymous memory the
 * pager does not hold grew by a megabyte (memory glibc maps without the
 * PLT: brk, malloc arenas, large blocks), and every second anyway.
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
	if (++agent_ticks % 100 == 0 || (rss > 0 && (size_t)rss > st.resident_bytes + (1UL << 20)))
		agent_scan(false);
	if (agent_ticks % 10 == 0)
		status_publish();
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

/* Return: whether this process owns the status page (publishes). */
static bool status_owner(void)
{
	return agent_status && atomic_load_relaxed(&agent_status->pid) == (int32_t)getpid();
}

static void agent_atfork_child(void)
{
	agent_forked = true;
}

__attribute__((constructor)) static void agent_init(void)
{
	const char *budget = getenv("USWAP_RUN_BUDGET"), *status = getenv("USWAP_RUN_STATUS");
	struct uswap_pager_config cfg = {0};
	char err[512], *end;
	int32_t none = 0;
	ssize_t n;
	int fd;

	if (!budget || !status)
		return;
	fd = open(status, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		void *m = mmap(NULL, sizeof(struct uswap_run_status), PROT_READ | PROT_WRITE,
			       MAP_SHARED, fd, 0);

		close(fd);
		if (m != MAP_FAILED)
			agent_status = m;
	}
	if (!agent_status || agent_status->magic != USWAP_RUN_STATUS_MAGIC ||
	    agent_status->version != USWAP_RUN_STATUS_VERSION)
		agent_fail("cannot map the status page USWAP_RUN_STATUS");
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
		munmap(agent_status, sizeof(*agent_status));
		agent_status = NULL;
		break;
	}
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
	if (uswap_pager_open(&agent_pager, &cfg, err, sizeof(err)))
		agent_fail(err[0] ? err : "cannot start the pager");
	pthread_atfork(NULL, NULL, agent_atfork_child);
	agent_scan(true);
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
	if (agent_pager && !agent_forked)
		pager_fork_orphan(agent_pager);
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
