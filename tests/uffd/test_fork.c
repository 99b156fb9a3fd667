// SPDX-License-Identifier: MIT
/*
 * test_fork.c - fork under the userfaultfd pager (src/uffd/fork.c): one
 * engine for the process tree. A program evicts most of its pages and
 * forks; the child checks every page against the state at the fork while
 * the parent rewrites them (copy-on-write keeps those writes out of the
 * child's view); swap counts of 2 while both live, back to 1 after; every
 * kind of child (vfork, posix_spawn, system(), fork + exec, nested forks
 * whose grandchildren let their parent's zapper go, a child stopped in the
 * middle of a reclaim batch (known broken: the tree waits for it),
 * a child outliving its parent); a child the root sets up late still
 * evicts (its zapper waits for its hello to be read); a fork storm
 * leaves no slot behind; a
 * child's fault on a page it maps anew meanwhile is woken, not SIGBUS; a
 * child outliving the pager touches pages it never had (its ranges were
 * unregistered, though it holds its userfaultfd); a child whose root dies
 * before it took that hold ends itself rather than read zeros (but runs on
 * when the root, its main thread gone, left normally and gave it its
 * pages), but not for
 * a file of the program's at the number of the root's pidfd; readers of
 * the children from other threads (the figures, reclaim batches, a
 * child's eviction being counted) while the fork thread ends the child,
 * the window held open at a race point; the figures read into paged
 * memory while a fork waits to be published; the pin that unshares a page
 * gone meanwhile (moved by MREMAP_DONTUNMAP) is served, not waited for by
 * the fault thread itself, and the comparison read of a child's page gone
 * so fails instead of waiting under the child's ev_lock; a child whose
 * main thread left (pthread_exit()) still evicts and loses no write; and
 * children killed with SIGKILL at random moments of their paging work
 * while the parent keeps faulting and checking its data, with the
 * invariant checker run after the deaths.
 *
 * Needs a full-mode userfaultfd with EVENT_FORK (root in CI); skips without.
 * USWAP_FORK_KILLS sets how many children the kill test kills (default 200,
 * 20 under ThreadSanitizer).
 *
 * Owns: nothing. Locking: none (one thread per process writes the pages).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/atomic.h"
#include "base/race.h"
#include "page_sig.h"
#include "pager_open.h"
#include "proc_status.h"
#include "test.h"
#include "mm/mm.h"
#include "uffd/fork.h"

#define MiB	   (1UL << 20)
#define BUDGET	   (4 * MiB)
#define NPAGES	   4096UL	/* 16 MiB: four times the budget */
#define FORK_OWNER 0x464f524bUL /* "FORK": the owner word of every page signature */

extern char **environ;

#ifdef __SANITIZE_THREAD__
/*
 * Under ThreadSanitizer: every forked child of these tests starts a thread
 * (its zapper, from the pager's pthread_atfork child handler) although the
 * parent had several, which the runtime refuses by default
 * (die_after_fork=1: a lock another thread of the parent held at the fork
 * stays held in the child for good). The pager is built for exactly that:
 * the zapper takes no lock and touches no registered memory (see
 * src/uffd/fork.c), and the child's other code is what it runs without
 * TSan. So the children run instrumented like the parent: a race in a
 * child is reported and ends it with status 66, which the test sees.
 * Defaults only: TSAN_OPTIONS still overrides them.
 */
__public const char *__tsan_default_options(void);
__public const char *__tsan_default_options(void)
{
	return "die_after_fork=0";
}
#endif

/* Open a pager with EVENT_FORK, or skip when the machine cannot. */
static struct uswap_pager *open_pager(void)
{
	struct uswap_pager_config cfg = {.budget_bytes = BUDGET, .device_bytes = 256 * MiB};
	struct uswap_pager *p;

	/*
	 * Children evict (their zapper threads) by default; the tests of
	 * USWAP_CHILD_EVICT=0 set it around their open.
	 */
	p = pager_open_or_skip(&cfg);
	if (!p)
		return NULL;
	if (!pager_fork_enabled(p)) {
		uswap_pager_close(p);
		test_skip("no UFFD_FEATURE_EVENT_FORK (CAP_SYS_PTRACE)");
		return NULL;
	}
	return p;
}

/* Pages [@from, @to) of @b whose signature is not @version. */
static unsigned long bad_pages_range(char *b, unsigned long from, unsigned long to,
				     uint64_t version)
{
	unsigned long bad = 0;

	for (unsigned long i = from; i < to; i++)
		bad += !sig_check(b + i * PAGE_SIZE, FORK_OWNER, version);
	return bad;
}

/* Pages of @b (NPAGES) whose signature is not @version. */
static unsigned long bad_pages(char *b, uint64_t version)
{
	return bad_pages_range(b, 0, NPAGES, version);
}

/* Map, fill with @version and evict all but the budget. */
static char *fill_and_evict(struct uswap_pager *p, uint64_t version)
{
	void *m = NULL;

	if (uswap_pager_map(p, NPAGES * PAGE_SIZE, &m))
		return NULL;
	for (unsigned long i = 0; i < NPAGES; i++)
		sig_write((char *)m + i * PAGE_SIZE, FORK_OWNER, version);
	uswap_pager_reclaim(p, NPAGES * PAGE_SIZE);
	uswap_pager_sync(p);
	return m;
}

/*
 * Children the fork thread has not finished with: published, or unpublished
 * but still being torn down (child_end() empties the slot before mmput()
 * gives back the child's swap entries; the tree's exited count moves after).
 */
static unsigned children_left(struct uswap_pager *p)
{
	struct fork_tree_stats t;
	unsigned n = pager_fork_nr_children(p);

	pager_fork_stats(p, &t, NULL, 0);
	return n ? n : (unsigned)(t.forks - t.exited);
}

/*
 * Wait (bounded) until the fork thread let go of every child and of its
 * swap entries: the checker and the counts read next must not race the
 * last mmput(). Return: children left.
 */
static unsigned wait_children_released(struct uswap_pager *p)
{
	for (unsigned i = 0; i < 20000 && children_left(p); i++)
		usleep(1000);
	return children_left(p);
}

static unsigned long swapped_pages_with_count(struct uswap_pager *p, char *b, int count)
{
	unsigned long n = 0;

	for (unsigned long i = 0; i < NPAGES; i++)
		n += pager_swap_count(p, (unsigned long)(b + i * PAGE_SIZE)) == count;
	return n;
}

/*
 * Swap references (counts of every slot) not held by an entry of the root's
 * tables: once the children are gone, none. Reclaim pauses meanwhile (an
 * eviction under way holds a count before its entry is written).
 */
static long refs_not_in_tables(struct uswap_pager *p)
{
	long d;

	pager_quiesce(p, true);
	d = (long)pager_swap_refs(p) - pager_nr_swapents(p);
	pager_quiesce(p, false);
	return d;
}

static int exit_code(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Wait (bounded) until the fork thread took in a child. */
static void wait_child_known(struct uswap_pager *p)
{
	for (unsigned i = 0; i < 20000 && !pager_fork_nr_children(p); i++)
		usleep(1000);
}

/*
 * Fork a child that waits for a byte on @go before it goes on (returns 0
 * in it, or exits 2 if the byte never comes). Return: the child's pid in
 * the parent, which keeps go[1], or -1.
 */
static pid_t fork_held(int go[2])
{
	pid_t pid;
	char c;

	if (pipe(go))
		return -1;
	pid = fork();
	if (!pid) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		return 0;
	}
	close(go[0]);
	return pid;
}

/*
 * The end of every test of a tree whose children are gone: the fork thread
 * let go of them all, every swap reference is held by the root's tables
 * and the checker agrees; then @b is unmapped and @p closed.
 */
static void check_tree_and_close(struct uswap_pager *p, char *b)
{
	CHECK_EQ(wait_children_released(p), 0U);
	CHECK_EQ(refs_not_in_tables(p), 0L);
	CHECK_EQ(pager_check(p), 0);
	munmap(b, NPAGES * PAGE_SIZE);
	uswap_pager_close(p);
}

/* ---- the parent rewrites, the child sees the fork's state; counts 2 then 1 ---- */

TEST(fork_child_sees_fork_state_counts_shared)
{
	struct uswap_pager *p = open_pager();
	unsigned long swapped, c1, c2, first = 0;
	int go[2], ack[2];
	char c;
	char *b;
	pid_t pid;

	if (!p)
		return;
	b = fill_and_evict(p, 1);
	REQUIRE(b);
	swapped = swapped_pages_with_count(p, b, 1);
	REQUIRE(swapped > NPAGES / 2);
	while (first < NPAGES && pager_swap_count(p, (unsigned long)(b + first * PAGE_SIZE)) != 1)
		first++;
	REQUIRE(first < NPAGES);
	REQUIRE_EQ(pipe(ack), 0);
	pid = fork_held(go);
	REQUIRE(pid >= 0);
	if (!pid) {
		if (!sig_check(b + first * PAGE_SIZE, FORK_OWNER, 1) || write(ack[1], "r", 1) != 1)
			_exit(1);
		_exit(bad_pages(b, 1) ? 1 : 0);
	}
	/* fork() returned once the event was read; the copy is done when the child is served. */
	wait_child_known(p);
	/* The fork dup'ed every swap entry of the parent. */
	c2 = swapped_pages_with_count(p, b, 2);
	CHECK(c2 >= swapped);
	CHECK_EQ(swapped_pages_with_count(p, b, 1), 0UL);
	CHECK_EQ(pager_fork_nr_children(p), 1U);
	CHECK_EQ(pager_check(p), 0);
	/*
	 * One shared hit whatever the timing: the parent brings a shared page
	 * in, reading only, and the child reads that page first while reclaim
	 * is paused, so the folio is still cached for it. Then both read (more
	 * hits there depend on who runs when) and the parent writes, at once,
	 * under one budget.
	 */
	pager_quiesce(p, true);
	CHECK(sig_check(b + first * PAGE_SIZE, FORK_OWNER, 1));
	REQUIRE_EQ(write(go[1], "g", 1), 1);
	CHECK_EQ(read(ack[0], &c, 1), 1);
	pager_quiesce(p, false);
	close(ack[0]);
	close(ack[1]);
	for (unsigned long i = 0; i < NPAGES; i++) {
		CHECK(sig_check(b + i * PAGE_SIZE, FORK_OWNER, 1));
		sig_write(b + i * PAGE_SIZE, FORK_OWNER, 2);
	}
	CHECK_EQ(exit_code(pid), 0);
	close(go[1]);
	CHECK_EQ(bad_pages(b, 2), 0UL);
	CHECK_EQ(wait_children_released(p), 0U);
	/* Alone again: what is swapped now has one owner. */
	uswap_pager_reclaim(p, NPAGES * PAGE_SIZE);
	uswap_pager_sync(p);
	c1 = swapped_pages_with_count(p, b, 1);
	CHECK(c1 > NPAGES / 2);
	CHECK_EQ(swapped_pages_with_count(p, b, 2), 0UL);
	CHECK_EQ(refs_not_in_tables(p), 0L);
	CHECK_EQ(pager_check(p), 0);
	CHECK_EQ(bad_pages(b, 2), 0UL);
	{
		struct fork_tree_stats t;
		struct fork_proc_stats procs[4];

		pager_fork_stats(p, &t, procs, 4);
		printf("# swapped at fork %lu; tree: forks %lu exited %lu swapins %lu shared hits "
		       "%lu shared reads %lu\n",
		       swapped, t.forks, t.exited, t.swapins, t.shared_hits, t.shared_reads);
		CHECK_EQ(t.forks, 1UL);
		CHECK_EQ(t.exited, 1UL);
		/* Both sides read every shared page: the second one finds it cached. */
		CHECK(t.shared_hits > 0);
		CHECK(t.shared_reads > 0);
	}
	munmap(b, NPAGES * PAGE_SIZE);
	uswap_pager_close(p);
}

/*
 * After a fork the kernel no longer counts the parent's resident pages as
 * its own, and keeps them so after the child is gone, until a write: it
 * refuses to move them out (EBUSY), and reclaim would scan them for
 * nothing round after round (a read-only pass over the data after one
 * fork once took 221 s instead of 1.3 s). The pager makes them its own
 * again, so they leave like any other page.
 */
TEST(pages_shared_by_a_fork_leave_once_the_child_is_gone)
{
	struct uswap_pager *p = open_pager();
	struct uswap_pager_stats st;
	pid_t pid;
	char *b;

	if (!p)
		return;
	b = fill_and_evict(p, 1);
	REQUIRE(b);
	/* A budget's worth of pages in memory at the fork. */
	CHECK_EQ(bad_pages(b, 1), 0UL);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid)
		_exit(0);
	CHECK_EQ(exit_code(pid), 0);
	CHECK_EQ(wait_children_released(p), 0U);
	uswap_pager_get_stats(p, &st);
	printf("# resident after the child's exit: %zu pages\n", st.resident_bytes / PAGE_SIZE);
	/* Reclaim everything, a round at a time, the reclaim thread in between: up to 10 s. */
	for (int i = 0; i < 1000; i++) {
		uswap_pager_reclaim(p, NPAGES * PAGE_SIZE);
		uswap_pager_get_stats(p, &st);
		if (st.resident_bytes < BUDGET / 8)
			break;
		pager_kick(p);
		usleep(10000);
	}
	printf("# resident after reclaim: %zu pages; refused %lu, made ours again %lu\n",
	       st.resident_bytes / PAGE_SIZE, st.evict_busy, st.evict_unshared);
	CHECK(st.resident_bytes < BUDGET / 8);
	CHECK(st.evict_unshared > 0);
	CHECK_EQ(bad_pages(b, 1), 0UL);
	check_tree_and_close(p, b);
}

/* ---- a child evicts too: one budget for the whole tree ---- */

/* RssAnon of @pid in pages (/proc/PID/status), or -1. */
static long rss_anon_pages(pid_t pid)
{
	long kb = proc_rss_anon_kb(pid);

	return kb < 0 ? -1 : kb / 4;
}

/* The RssAnon (pages) of child @pid once the fork thread took it in and it settled, or -1. */
/* Pages of @b (NPAGES) in @pid's real memory (its pagemap), or -1. */
static long present_pages(pid_t pid, char *b)
{
	static uint64_t pm[NPAGES];
	char path[64];
	long n = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (pread(fd, pm, sizeof(pm), (off_t)((uintptr_t)b / PAGE_SIZE * 8)) != (ssize_t)sizeof(pm))
		n = -1;
	close(fd);
	for (unsigned long i = 0; n >= 0 && i < NPAGES; i++)
		n += (long)(pm[i] >> 63);
	return n;
}

/* Children of @p whose zapper took its channel (they evict). */
static unsigned long children_evicting(struct uswap_pager *p)
{
	struct fork_tree_stats t;

	pager_fork_stats(p, &t, NULL, 0);
	return t.evicting;
}

/*
 * The child's RssAnon before it is let go, once it is known and its zapper
 * took its channel (up to 10 s): until then its pages count as pinned and
 * raise the budget, and a zapper slow to run on a loaded machine let the
 * tree fill up to twice the budget in that window (a test's charged peak
 * 2048 pages against 1024, once in about 20 full runs).
 */
static long child_rss_start(struct uswap_pager *p, pid_t pid)
{
	wait_child_known(p);
	for (unsigned i = 0; i < 10000 && !children_evicting(p); i++)
		usleep(1000);
	usleep(20000);
	return rss_anon_pages(pid);
}

static long charged_pages(struct uswap_pager *p);

/*
 * Once the held child @pid was let go (@go from fork_held()), every
 * millisecond until it exits, sample its RssAnon over @base into
 * *@peak_child and, if @peak_charged is not NULL, the engine's charged pages
 * into it. Return: the child's wait status.
 */
static int sample_until_exit(struct uswap_pager *p, int go[2], pid_t pid, long base,
			     long *peak_child, long *peak_charged)
{
	int st = 0;

	while (waitpid(pid, &st, WNOHANG) == 0) {
		long rc = rss_anon_pages(pid);

		if (rc >= 0)
			*peak_child = max(*peak_child, rc - base);
		if (peak_charged)
			*peak_charged = max(*peak_charged, charged_pages(p));
		usleep(1000);
	}
	close(go[1]);
	return st;
}

/*
 * The pin that makes a shared page ours again (a read through
 * process_vm_readv()) faults like any access where the page went since it
 * was found: moved away by MREMAP_DONTUNMAP (the kernel moves the pages
 * first and reports the move after, leaving the old range registered and
 * empty), or dropped by a MADV_DONTNEED whose event was already read. That
 * fault is a userfault the pager's fault thread must serve: a pin in the
 * fault thread itself waits for itself, and the program hangs. The window
 * is held open at the race point before the pin: another thread moves the
 * whole range away with MREMAP_DONTUNMAP meanwhile. The scenario runs in a
 * process of its own, so that a hang is seen (and killed) instead of
 * hanging the test; every page must read right at its new address.
 */
struct pin_window {
	char *b, *moved;
	int go[2];
	unsigned hits; /* atomic */
};

static void *pin_window_mover(void *arg)
{
	struct pin_window *w = arg;
	char c;

	if (read(w->go[0], &c, 1) != 1)
		return NULL;
	/* glibc passes a fifth argument for MREMAP_DONTUNMAP (a hint): none. */
	w->moved = mremap(w->b, NPAGES * PAGE_SIZE, NPAGES * PAGE_SIZE,
			  MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	return NULL;
}

/* Pages of @moved (NPAGES) not holding what @version wrote at @b (their old addresses). */
static unsigned long moved_bad_pages(const char *moved, const char *b, uint64_t version)
{
	unsigned long bad = 0;

	for (unsigned long i = 0; i < NPAGES; i++) {
		const uint64_t *w = (const uint64_t *)(moved + i * PAGE_SIZE);
		uint64_t addr = (uint64_t)(uintptr_t)(b + i * PAGE_SIZE);
		bool ok = w[0] == FORK_OWNER && w[1] == addr && w[2] == version;

		for (size_t k = 3; ok && k < PAGE_SIG_BYTES / 8; k++)
			ok = w[k] == page_sig_word(k, addr, version);
		bad += !ok;
	}
	return bad;
}

/* Whether no page of [@b, @b + NPAGES pages) is in real memory (pagemap). */
static bool range_empty(char *b)
{
	return present_pages(getpid(), b) == 0;
}

static void pin_window_hook(const char *name, void *arg)
{
	struct pin_window *w = arg;
	const char *colon = strrchr(name, ':');

	if (!colon || strcmp(colon, ":pin") || atomic_fetch_add_relaxed(&w->hits, 1U))
		return;
	if (write(w->go[1], "m", 1) != 1)
		return;
	/* The kernel moves the pages before it reports the move: wait for that. */
	for (int i = 0; i < 5000 && !range_empty(w->b); i++)
		usleep(1000);
}

/* The scenario, in a process of its own. Return: its exit code (0: right, 77: skipped). */
static int pin_window_run(void)
{
	struct pin_window w = {0};
	struct uswap_pager *p = open_pager();
	pthread_t t;
	pid_t pid;

	if (!p)
		return 77;
	if (!race_points_available())
		return 77;
	w.b = fill_and_evict(p, 1);
	if (!w.b || bad_pages(w.b, 1))
		return 1;
	/* The budget's worth of resident pages stays shared after the child is gone. */
	pid = fork();
	if (!pid)
		_exit(0);
	if (pid < 0 || exit_code(pid) != 0 || wait_children_released(p))
		return 2;
	if (pipe(w.go) || pthread_create(&t, NULL, pin_window_mover, &w))
		return 3;
	race_set_hook(pin_window_hook, &w);
	/* Faults over the budget: the evictions meet the shared pages. */
	for (int round = 0; round < 100 && !atomic_load_relaxed(&w.hits); round++) {
		for (unsigned long i = 0; i < NPAGES && !atomic_load_relaxed(&w.hits); i++)
			(void)*(volatile char *)(w.b + i * PAGE_SIZE);
		pager_kick(p);
	}
	if (!atomic_load_relaxed(&w.hits)) {
		close(w.go[1]);
		pthread_join(t, NULL);
		return 4; /* the window was never reached */
	}
	pthread_join(t, NULL);
	race_set_hook(NULL, NULL);
	if (w.moved == MAP_FAILED || !w.moved)
		return 5;
	uswap_pager_sync(p);
	if (moved_bad_pages(w.moved, w.b, 1))
		return 6;
	munmap(w.moved, NPAGES * PAGE_SIZE);
	munmap(w.b, NPAGES * PAGE_SIZE);
	uswap_pager_close(p);
	return 0;
}

/*
 * Run @fn in a process of its own and give it a minute (it takes a second
 * or two): a hang, the failure looked for, is killed and reported as
 * @what instead of hanging the test. 77 from @fn: skipped.
 */
static void run_bounded(int (*fn)(void), const char *what)
{
	int status = 0;
	pid_t pid, got = 0;

	/*
	 * Exit code 4, the window never reached (the reclaim thread made the
	 * pages ours before the hook was set): up to three tries.
	 */
	for (int run = 0; run < 3; run++) {
		fflush(stdout);
		pid = fork();
		REQUIRE(pid >= 0);
		if (!pid)
			_exit(fn());
		got = 0;
		for (int i = 0; i < 60000 && !(got = waitpid(pid, &status, WNOHANG)); i++)
			usleep(1000);
		if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 4)
			break;
		printf("# the window was not reached: again\n");
	}
	if (!got) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		test_fail(__FILE__, __LINE__, "hung: %s", what);
		return;
	}
	REQUIRE_EQ(got, pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		test_skip("no fork events or no race points");
		return;
	}
	CHECK(WIFEXITED(status));
	CHECK_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), 0);
}

TEST(pin_of_a_page_gone_meanwhile_does_not_hang)
{
	run_bounded(pin_window_run, "the pin waits for a fault only its own thread serves");
}

/*
 * The same window on a child's side: its pages the kernel still shares
 * with the root are unshared by a read of the child's memory (a pin,
 * child_unshare()) before its zapper moves them out. Where the child moved
 * the page away meanwhile (MREMAP_DONTUNMAP: the pages move before the
 * event is read), the pin's fault is a userfault of the child's, which the
 * fork thread serves under the child's ev_lock: a pin taken under that
 * lock (or by the fork thread) waits for good, and so does the child's
 * mremap. The child reads its pages in one thread (its evictions reach the
 * race point) and moves the whole range in another when told; the hook
 * waits until the child's pagemap shows the range empty. Run in a process
 * of its own (the child's death would not end the pin: the fork thread
 * holds the child's userfaultfd). Every page must read right at its new
 * address in the child.
 */
struct child_pin_window {
	pid_t pid;
	char *b;
	int go_w;
	unsigned hits; /* atomic */
	unsigned done; /* atomic: the hook is past its use of go_w */
};

struct child_pin_reader {
	char *b;
	unsigned stop; /* atomic */
};

static void *child_pin_reader_main(void *arg)
{
	struct child_pin_reader *r = arg;

	while (!atomic_load_relaxed(&r->stop))
		for (unsigned long i = 0; i < NPAGES && !atomic_load_relaxed(&r->stop); i++)
			(void)*(volatile char *)(r->b + i * PAGE_SIZE);
	return NULL;
}

static void child_pin_hook(const char *name, void *arg)
{
	struct child_pin_window *w = arg;

	if (strcmp(name, "fork_child:unshare") || atomic_fetch_add_relaxed(&w->hits, 1U))
		return;
	if (write(w->go_w, "m", 1) == 1)
		for (int i = 0; i < 5000 && present_pages(w->pid, w->b) != 0; i++)
			usleep(1000);
	atomic_store_release(&w->done, 1U);
}

/*
 * The child: reads in a thread, moves the range when told (its new address
 * in *@moved). Return: 0, or the child's exit code for what went wrong.
 */
static int child_move_when_told(char *b, int go_r, char **moved)
{
	struct child_pin_reader r = {.b = b};
	pthread_t t;
	char c;

	if (pthread_create(&t, NULL, child_pin_reader_main, &r))
		return 3;
	if (read(go_r, &c, 1) != 1) {
		atomic_store_relaxed(&r.stop, 1U);
		pthread_join(t, NULL);
		return 4; /* the window was never reached */
	}
	*moved = mremap(b, NPAGES * PAGE_SIZE, NPAGES * PAGE_SIZE,
			MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	atomic_store_relaxed(&r.stop, 1U);
	pthread_join(t, NULL);
	return *moved == MAP_FAILED ? 5 : 0;
}

/* The child: reads in a thread, moves the range when told. Return: its exit code. */
static int child_pin_run(char *b, int go_r)
{
	char *moved;
	int code = child_move_when_told(b, go_r, &moved);

	if (code)
		return code;
	return moved_bad_pages(moved, b, 1) ? 6 : 0;
}

/* The scenario, in a process of its own. Return: its exit code (0: right, 77: skipped). */
static int child_pin_scenario(void)
{
	struct uswap_pager *p = open_pager();
	struct child_pin_window w = {0};
	int go[2], code;

	if (!p || !race_points_available())
		return 77;
	w.b = fill_and_evict(p, 1);
	if (!w.b || pipe(go))
		return 1;
	w.go_w = go[1];
	w.pid = fork();
	if (w.pid < 0)
		return 2;
	if (!w.pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(go[1]);
		_exit(child_pin_run(w.b, go[0]));
	}
	close(go[0]);
	wait_child_known(p);
	/*
	 * The root lets go of the range: the child alone maps the folios, its
	 * pages still shared by the kernel.
	 */
	madvise(w.b, NPAGES * PAGE_SIZE, MADV_DONTNEED);
	uswap_pager_sync(p);
	race_set_hook(child_pin_hook, &w);
	code = exit_code(w.pid);
	race_set_hook(NULL, NULL);
	/* The child saw the hook's byte: the hook is done with go[1] soon after. */
	for (int i = 0; i < 10000 && atomic_load_relaxed(&w.hits) && !atomic_load_acquire(&w.done);
	     i++)
		usleep(1000);
	close(go[1]);
	if (code)
		return 10 + code;
	if (!atomic_load_relaxed(&w.hits))
		return 20;
	if (wait_children_released(p) || refs_not_in_tables(p) || pager_check(p))
		return 21;
	munmap(w.b, NPAGES * PAGE_SIZE);
	uswap_pager_close(p);
	return 0;
}

TEST(child_pin_of_a_page_gone_meanwhile_does_not_hang)
{
	run_bounded(child_pin_scenario, "the pin of a child's page waits for good");
}

/*
 * The comparison of a child's page with a folio others rely on too (the
 * root maps it, or holds a swap entry of it): the page is write-protected,
 * then read and compared under the child's ev_lock and page table lock, in
 * a reclaim batch (batch_page_ready()) or in a single page's eviction
 * (child_evict()). Where the child moved the page away meanwhile
 * (MREMAP_DONTUNMAP: the pages move before the event is read, the old range
 * stays registered and empty), a read that waits for the userfault waits
 * for the fork thread, which needs that ev_lock: the tree hung for good
 * with process_vm_readv(). A read through /proc/PID/mem fails at once
 * instead, and the page stays. The root keeps its pages and entries (so
 * every folio the child reads is others' too) and reclaims from its main
 * thread as well (the single page's eviction is never run by a thread that
 * serves faults); the child reads in one thread and moves the range when
 * told, and the hook at @point (between the write-protect and the read)
 * waits until the child's pagemap shows the range empty. Every page must
 * read right at its new address in the child, and again after the child
 * rewrote it (a write-protect left on a moved page is served); the root's
 * pages after.
 */
struct compare_window {
	const char *point;
	pid_t pid;
	char *b;
	int go_w;
	unsigned hits;	  /* atomic: claimed by the hook, or by the root giving up */
	unsigned emptied; /* atomic: the hook saw the range gone from the child */
	unsigned done;	  /* atomic: the hook is past its use of go_w */
};

static void compare_hook(const char *name, void *arg)
{
	struct compare_window *w = arg;

	/* NULL: a thread that read the hook as it was being unset. */
	if (!w || strcmp(name, w->point) || atomic_fetch_add_relaxed(&w->hits, 1U))
		return;
	if (write(w->go_w, "m", 1) == 1)
		for (int i = 0; i < 5000; i++) {
			if (present_pages(w->pid, w->b) == 0) {
				atomic_store_relaxed(&w->emptied, 1U);
				break;
			}
			usleep(1000);
		}
	atomic_store_release(&w->done, 1U);
}

/* The child: as child_pin_run(), then rewrites the moved range. Return: its exit code. */
static int compare_child_run(char *b, int go_r)
{
	char *moved;
	int code = child_move_when_told(b, go_r, &moved);

	if (code)
		return code;
	if (moved_bad_pages(moved, b, 1))
		return 6;
	for (unsigned long i = 0; i < NPAGES; i++)
		sig_write(moved + i * PAGE_SIZE, FORK_OWNER, 2);
	return bad_pages(moved, 2) ? 7 : 0;
}

/* The scenario at race point @point, in a process of its own. Return: its exit code. */
static int compare_scenario(const char *point)
{
	struct uswap_pager *p = open_pager();
	struct compare_window w = {.point = point};
	bool gave_up;
	int go[2], code;

	if (!p || !race_points_available())
		return 77;
	w.b = fill_and_evict(p, 1);
	if (!w.b || pipe(go))
		return 1;
	w.go_w = go[1];
	w.pid = fork();
	if (w.pid < 0)
		return 2;
	if (!w.pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(go[1]);
		_exit(compare_child_run(w.b, go[0]));
	}
	close(go[0]);
	wait_child_known(p);
	race_set_hook(compare_hook, &w);
	/* Up to 20 s for the window; then the root claims it and the child gives up. */
	for (int i = 0; i < 2000 && !atomic_load_relaxed(&w.hits); i++) {
		uswap_pager_reclaim(p, 64 * PAGE_SIZE);
		usleep(10000);
	}
	gave_up = !atomic_fetch_add_relaxed(&w.hits, 1U);
	if (gave_up)
		close(go[1]);
	code = exit_code(w.pid);
	race_set_hook(NULL, NULL);
	/* The child saw the hook's byte: the hook is done with go[1] soon after. */
	for (int i = 0; !gave_up && i < 10000 && !atomic_load_acquire(&w.done); i++)
		usleep(1000);
	if (!gave_up)
		close(go[1]);
	if (code == 4)
		return 4; /* run_bounded() tries again */
	if (code)
		return 10 + code;
	/* The read was made with the page gone: the window was held open. */
	if (!atomic_load_acquire(&w.done) || !atomic_load_relaxed(&w.emptied))
		return 22;
	uswap_pager_sync(p);
	if (bad_pages(w.b, 1))
		return 20;
	if (wait_children_released(p) || refs_not_in_tables(p) || pager_check(p))
		return 21;
	munmap(w.b, NPAGES * PAGE_SIZE);
	uswap_pager_close(p);
	return 0;
}

static int compare_in_batch_scenario(void)
{
	return compare_scenario("fork_batch:compare");
}

static int compare_in_single_eviction_scenario(void)
{
	return compare_scenario("child_evict:compare");
}

TEST(child_batch_compare_of_a_page_gone_meanwhile_does_not_hang)
{
	run_bounded(compare_in_batch_scenario, "the batch's read of a child's page waits for good");
}

TEST(child_evict_compare_of_a_page_gone_meanwhile_does_not_hang)
{
	run_bounded(compare_in_single_eviction_scenario,
		    "the eviction's read of a child's page waits for good");
}

static long charged_pages(struct uswap_pager *p)
{
	struct uswap_pager_stats st;

	uswap_pager_get_stats(p, &st);
	return (long)(st.resident_bytes / PAGE_SIZE);
}

/*
 * A child reads back every page of a range four times the budget (all
 * swapped before the fork) while the parent keeps rewriting its own copy:
 * the child's resident pages stay within the budget (it evicts, through
 * its zapper thread), so do the engine's charged pages, and every page is
 * right on both sides. Before children could evict, the child kept all it
 * read: its RssAnon grew to the whole range (4x the budget).
 */
TEST(child_reads_back_within_budget)
{
	struct uswap_pager *p = open_pager();
	const long budget = (long)(BUDGET / PAGE_SIZE), margin = budget / 4;
	long base_child = -1, peak_child = 0, peak_charged = 0, samples = 0;
	int go[2], done[2];
	uint64_t version = 2;
	pid_t pid;
	char *b;

	if (!p)
		return;
	b = fill_and_evict(p, 1);
	REQUIRE(b);
	REQUIRE(swapped_pages_with_count(p, b, 1) > NPAGES / 2);
	REQUIRE_EQ(pipe(done), 0);
	pid = fork_held(go);
	REQUIRE(pid >= 0);
	if (!pid) {
		unsigned long bad;

		close(done[0]);
		/* Twice: the second pass reads back what the first evicted. */
		bad = bad_pages(b, 1);
		bad += bad_pages(b, 1);
		if (write(done[1], "d", 1) != 1)
			_exit(3);
		_exit(bad ? 1 : 0);
	}
	close(done[1]);
	/* The child's own figure before it reads anything back. */
	base_child = child_rss_start(p, pid);
	REQUIRE(base_child >= 0);
	REQUIRE_EQ(write(go[1], "g", 1), 1);
	/* Rewrite our own copy meanwhile, checking it, and sample both figures. */
	for (;;) {
		struct pollfd pf = {.fd = done[0], .events = POLLIN};
		long rc = rss_anon_pages(pid), ch = charged_pages(p);

		if (rc >= 0)
			peak_child = max(peak_child, rc - base_child);
		peak_charged = max(peak_charged, ch);
		samples++;
		for (unsigned long i = 0; i < NPAGES; i += 16) {
			CHECK(sig_check(b + i * PAGE_SIZE, FORK_OWNER, version - 1));
			sig_write(b + i * PAGE_SIZE, FORK_OWNER, version);
		}
		version++;
		if (poll(&pf, 1, 0) > 0)
			break;
	}
	CHECK_EQ(exit_code(pid), 0);
	close(go[1]);
	close(done[0]);
	for (unsigned long i = 0; i < NPAGES; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, FORK_OWNER, i % 16 ? 1 : version - 1));
	{
		struct fork_tree_stats t;
		struct fork_proc_stats procs[4];

		pager_fork_stats(p, &t, procs, 4);
		printf("# budget %ld pages; child RssAnon peak %ld pages over its start, engine "
		       "charged peak %ld (%ld samples); child swap-outs %lu, %lu of them moved "
		       "out by %lu requests to its zapper\n",
		       budget, peak_child, peak_charged, samples, t.child_swapouts, t.zap_batched,
		       t.zap_requests);
		CHECK(t.child_swapouts > 0);
		/*
		 * Batched: a request moves several pages (one each before
		 * batches). How many depends on who runs when: 4.0 a request
		 * under TSan on a loaded machine, more elsewhere.
		 */
		CHECK(t.zap_batched >= 2 * t.zap_requests);
	}
	CHECK(samples > 1);
	CHECK(peak_child <= budget + margin);
	CHECK(peak_charged <= budget + margin);
	check_tree_and_close(p, b);
}

/*
 * Parent and child only read: nothing breaks the kernel's copy-on-write
 * sharing of the pages resident at the fork (as during a Redis BGSAVE).
 * Such a page used to leave neither process (UFFDIO_MOVE refuses a page
 * the kernel does not count as the process's own), so the budget was
 * raised by the child's shared pages: the engine's charged pages went to
 * about twice the budget. They leave now: the engine's charged pages stay
 * within the budget (+ a quarter), and the kernel's RssAnon of both
 * processes, less what each had besides the paged pages at the fork, and
 * the pages of the range in their pagemaps, within twice the budget (+ a
 * quarter: a folio both map is a real page in each, RssAnon counts it in
 * both), and every page reads right in both.
 */
TEST(pages_shared_with_a_reading_child_leave_while_both_live)
{
	struct uswap_pager *p = open_pager();
	const long budget = (long)(BUDGET / PAGE_SIZE), margin = budget / 4;
	long base_parent, base_child, peak_tree = 0, peak_present = 0, peak_charged = 0;
	long samples = 0;
	unsigned long bad = 0, passes = 0;
	int go[2], done[2];
	pid_t pid;
	char *b;

	if (!p)
		return;
	b = fill_and_evict(p, 1);
	REQUIRE(b);
	/* A budget's worth resident at the fork: shared by the kernel from then on. */
	CHECK_EQ(bad_pages(b, 1), 0UL);
	REQUIRE_EQ(pipe(done), 0);
	pid = fork_held(go);
	REQUIRE(pid >= 0);
	if (!pid) {
		unsigned long cbad = 0;

		close(done[0]);
		for (int i = 0; i < 3; i++)
			cbad += bad_pages(b, 1);
		if (write(done[1], "d", 1) != 1)
			_exit(3);
		_exit(cbad ? 1 : 0);
	}
	close(done[1]);
	/* What each has besides the paged pages in real memory stays (stacks, heap). */
	base_child = child_rss_start(p, pid) - present_pages(pid, b);
	base_parent = rss_anon_pages(getpid()) - present_pages(getpid(), b);
	REQUIRE(base_child >= 0 && base_parent >= 0);
	printf("# at the fork: RssAnon besides the paged pages: parent %ld pages, child %ld; "
	       "engine charged %ld\n",
	       base_parent, base_child, charged_pages(p));
	REQUIRE_EQ(write(go[1], "g", 1), 1);
	/* Read everything too (3 passes at least, until the child is done), sampling. */
	for (;;) {
		struct pollfd pf = {.fd = done[0], .events = POLLIN};
		long rp = rss_anon_pages(getpid()), rc = rss_anon_pages(pid);

		for (unsigned long i = 0; i < NPAGES; i += 256) {
			bad += bad_pages_range(b, i, min(i + 256, NPAGES), 1);
			rp = rss_anon_pages(getpid());
			rc = rss_anon_pages(pid);
			if (rp >= 0 && rc >= 0)
				peak_tree = max(peak_tree, rp + rc - base_parent - base_child);
			rp = present_pages(getpid(), b);
			rc = present_pages(pid, b);
			if (rp >= 0 && rc >= 0)
				peak_present = max(peak_present, rp + rc);
			peak_charged = max(peak_charged, charged_pages(p));
			samples++;
		}
		passes++;
		if (passes >= 3 && poll(&pf, 1, 0) > 0)
			break;
	}
	CHECK_EQ(exit_code(pid), 0);
	close(go[1]);
	close(done[0]);
	{
		struct uswap_pager_stats st;
		struct fork_tree_stats t;
		struct fork_proc_stats procs[4];

		uswap_pager_get_stats(p, &st);
		pager_fork_stats(p, &t, procs, 4);
		printf("# budget %ld pages; parent passes %lu; peak RssAnon of the tree's paged "
		       "pages %ld (in their pagemaps %ld), engine charged peak %ld (%ld samples); "
		       "tree swap-ins %lu, shared hits %lu, child swap-outs %lu; root evictions "
		       "refused %lu, unshared %lu\n",
		       budget, passes, peak_tree, peak_present, peak_charged, samples, t.swapins,
		       t.shared_hits, t.child_swapouts, st.evict_busy, st.evict_unshared);
	}
	CHECK_EQ(bad, 0UL);
	CHECK(peak_charged <= budget + margin);
	CHECK(peak_present <= 2 * budget + margin);
#ifndef __SANITIZE_THREAD__
	/* ThreadSanitizer's shadow of what the child reads is anonymous memory too. */
	CHECK(peak_tree <= 2 * budget + margin);
#endif
	CHECK_EQ(bad_pages(b, 1), 0UL);
	check_tree_and_close(p, b);
}

/*
 * A race hook that sleeps @us at race point @point, once after @armed was
 * set (in whichever process of the tree gets there first). Ignores a NULL
 * argument: race_set_hook(NULL, NULL) clears the argument before the hook.
 */
struct sleep_once {
	const char *point;
	useconds_t us;
	uint32_t armed;
};

static void sleep_once_hook(const char *name, void *arg)
{
	struct sleep_once *so = arg;

	if (so && !strcmp(name, so->point) && atomic_xchg_acq_rel(&so->armed, 0U))
		usleep(so->us);
}

/* The child's zapper takes its first request late (zap:before_claim, 500 ms). */
static struct sleep_once zapper_late = {"zap:before_claim", 500000, 0};

/*
 * A child whose zapper is late to its first request (a busy machine: the
 * thread runnable, not stopped): once its request was withdrawn the child
 * counted as one that cannot evict, its pages left out of the budget, and
 * it read the whole range back unbounded until its zapper ran (RssAnon peak
 * twice the budget and more). A zapper that is not stopped is waited for.
 */
TEST(late_zapper_keeps_child_within_budget)
{
	struct uswap_pager *p = open_pager();
	const long budget = (long)(BUDGET / PAGE_SIZE), margin = budget / 4;
	long base_child, peak_child = 0, peak_charged = 0;
	int go[2], st;
	pid_t pid;
	char *b;

	if (!p)
		return;
	if (race_set_hook(sleep_once_hook, &zapper_late)) {
		uswap_pager_close(p);
		test_skip("no race points in this build");
		return;
	}
	b = fill_and_evict(p, 1);
	REQUIRE(b);
	atomic_store_release(&zapper_late.armed, 1U);
	pid = fork_held(go);
	REQUIRE(pid >= 0);
	if (!pid)
		_exit(bad_pages(b, 1) + bad_pages(b, 1) ? 1 : 0);
	atomic_store_release(&zapper_late.armed, 0U);
	base_child = child_rss_start(p, pid);
	REQUIRE(base_child >= 0);
	REQUIRE_EQ(write(go[1], "g", 1), 1);
	st = sample_until_exit(p, go, pid, base_child, &peak_child, &peak_charged);
	race_set_hook(NULL, NULL);
	printf("# budget %ld pages; child RssAnon peak %ld pages over its start, engine "
	       "charged peak %ld\n",
	       budget, peak_child, peak_charged);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(peak_child <= budget + margin);
	CHECK(peak_charged <= budget + margin);
	CHECK_EQ(bad_pages(b, 1), 0UL);
	check_tree_and_close(p, b);
}

/* The root takes long to set a child up (fork:child_setup, 6 s, once). */
static struct sleep_once setup_late = {"fork:child_setup", 6000000, 0};

/*
 * The root sets a child up late (a busy machine: the fault thread that
 * read the fork is slow to publish the child, so the child's hello waits
 * that long to be read): its zapper, started before the hello, used to
 * look for its channel for 5 s from its start and give up, and the child
 * never evicted for the rest of its life (its pages kept out of the
 * budget: it read the whole range back unbounded). The zapper now waits
 * for the answer to its hello; the child evicts and stays within the budget.
 */
TEST(child_set_up_late_still_evicts)
{
	struct uswap_pager *p = open_pager();
	const long budget = (long)(BUDGET / PAGE_SIZE), margin = budget / 4;
	long base_child, peak_child = 0;
	unsigned long evicting = 0;
	int go[2], st;
	pid_t pid;
	char *b;

	if (!p)
		return;
	if (race_set_hook(sleep_once_hook, &setup_late)) {
		uswap_pager_close(p);
		test_skip("no race points in this build");
		return;
	}
	b = fill_and_evict(p, 1);
	REQUIRE(b);
	atomic_store_release(&setup_late.armed, 1U);
	pid = fork_held(go);
	REQUIRE(pid >= 0);
	if (!pid)
		_exit(bad_pages(b, 1) + bad_pages(b, 1) ? 1 : 0);
	/* Bounded (10 s after the child is known): its zapper takes its channel. */
	base_child = child_rss_start(p, pid);
	evicting = children_evicting(p);
	race_set_hook(NULL, NULL);
	REQUIRE(base_child >= 0);
	REQUIRE_EQ(write(go[1], "g", 1), 1);
	st = sample_until_exit(p, go, pid, base_child, &peak_child, NULL);
	{
		struct fork_tree_stats t;

		pager_fork_stats(p, &t, NULL, 0);
		printf("# child set up 6 s late: evicting %lu; budget %ld pages, child RssAnon "
		       "peak %ld pages over its start; child swap-outs %lu\n",
		       evicting, budget, peak_child, t.child_swapouts);
		CHECK(t.child_swapouts > 0);
	}
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(evicting, 1UL);
	CHECK(peak_child <= budget + margin);
	CHECK_EQ(bad_pages(b, 1), 0UL);
	check_tree_and_close(p, b);
}

/*
 * With USWAP_CHILD_EVICT=0 children do not evict: a child reading back the
 * range keeps it (nothing evicted from it, no zapper), and reads every page
 * right. (Without the variable they do: child_reads_back_within_budget.)
 */
TEST(child_evict_off_keeps_child_pages)
{
	struct uswap_pager *p;
	struct fork_tree_stats t;
	struct fork_proc_stats procs[4];
	unsigned long evicting = 0;
	int go[2];
	pid_t pid;
	char *b;

	setenv("USWAP_CHILD_EVICT", "0", 1);
	p = open_pager();
	unsetenv("USWAP_CHILD_EVICT");
	if (!p)
		return;
	b = fill_and_evict(p, 1);
	REQUIRE(b);
	pid = fork_held(go);
	REQUIRE(pid >= 0);
	if (!pid)
		_exit(bad_pages(b, 1) ? 1 : 0);
	wait_child_known(p);
	usleep(50000);
	pager_fork_stats(p, &t, procs, 4);
	evicting = t.evicting;
	REQUIRE_EQ(write(go[1], "g", 1), 1);
	CHECK_EQ(exit_code(pid), 0);
	close(go[1]);
	pager_fork_stats(p, &t, procs, 4);
	CHECK_EQ(evicting, 0UL);
	CHECK_EQ(t.child_swapouts, 0UL);
	check_tree_and_close(p, b);
}

struct race_writer {
	char *b;
	unsigned long rounds;
	unsigned long bad;
};

/* Write every page with the round's version, then check them all, each round. */
static void *race_writer_main(void *arg)
{
	struct race_writer *w = arg;

	for (uint64_t r = 2; r < 2 + w->rounds; r++) {
		for (unsigned long i = 0; i < NPAGES; i++)
			sig_write(w->b + i * PAGE_SIZE, FORK_OWNER, r);
		w->bad += bad_pages(w->b, r);
	}
	return NULL;
}

/*
 * A child's writer thread rewrites pages while the root evicts them from
 * under it (the child's own faults keep the tree over the budget): no
 * write is lost. Its reader thread keeps faulting pages back in.
 */
TEST(child_writes_race_its_eviction)
{
	struct uswap_pager *p = open_pager();
	unsigned long outs;
	char *b;
	pid_t pid;

	if (!p)
		return;
	b = fill_and_evict(p, 1);
	REQUIRE(b);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		struct race_writer w = {.b = b, .rounds = 3};
		pthread_t t;
		unsigned long reads = 0;
		volatile char sink = 0;

		if (pthread_create(&t, NULL, race_writer_main, &w))
			_exit(2);
		/* Read pages at random meanwhile: more faults, more eviction. */
		for (unsigned long i = 0; i < 20000; i++, reads++)
			sink = (char)(sink + b[(i * 2654435761UL) % NPAGES * PAGE_SIZE + 8]);
		pthread_join(t, NULL);
		_exit(w.bad ? 1 : 0);
	}
	CHECK_EQ(exit_code(pid), 0);
	{
		struct fork_tree_stats t;
		struct fork_proc_stats procs[4];

		struct uswap_pager_stats ps;

		pager_fork_stats(p, &t, procs, 4);
		uswap_pager_get_stats(p, &ps);
		outs = t.child_swapouts;
		printf("# child swap-outs %lu, faults %lu, swap-ins %lu; charged peak %zu pages\n",
		       outs, t.faults, t.swapins, ps.resident_peak_bytes / PAGE_SIZE);
	}
	/*
	 * The child wrote its own copy of every page, 4x the budget: at least
	 * three quarters of those copies had to leave its memory.
	 */
	CHECK(outs >= NPAGES / 2);
	CHECK_EQ(bad_pages(b, 1), 0UL);
	check_tree_and_close(p, b);
}

/*
 * A child whose main thread leaves with pthread_exit() while another
 * thread rewrites its pages: its memory is still read for its evictions
 * (through the descriptor of its /proc/PID/mem opened at its hello, which
 * holds the address space, not the thread; process_vm_readv() on its pid
 * fails then), so its pages leave and no write is lost. Twice: the second
 * time the fork thread is held at its hello's opens (race point
 * fork:hello_open, 200 ms) until the main thread has left, so that they
 * fail and the descriptors are opened through the zapper's thread (the
 * pagemap left unopened, the child's evictions counted 6 to 1,459 pages).
 */
static struct race_writer main_gone_writer;
static struct sleep_once hello_late = {"fork:hello_open", 200000, 0};

static void *main_gone_writer_main(void *arg)
{
	race_writer_main(arg);
	_exit(main_gone_writer.bad ? 1 : 0);
}

static void main_gone_run(bool late)
{
	struct uswap_pager *p = open_pager();
	struct fork_tree_stats t;
	char *b;
	pid_t pid;

	if (!p)
		return;
	b = fill_and_evict(p, 1);
	REQUIRE(b);
	if (late) {
		atomic_store_release(&hello_late.armed, 1U);
		race_set_hook(sleep_once_hook, &hello_late);
	}
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		pthread_t th;

		main_gone_writer = (struct race_writer){.b = b, .rounds = 2};
		if (pthread_create(&th, NULL, main_gone_writer_main, &main_gone_writer))
			_exit(2);
		pthread_exit(NULL);
	}
	CHECK_EQ(exit_code(pid), 0);
	race_set_hook(NULL, NULL);
	pager_fork_stats(p, &t, NULL, 0);
	printf("# hello %s: child swap-outs %lu; requests to its zapper %lu, pages they moved "
	       "%lu\n",
	       late ? "late" : "on time", t.child_swapouts, t.zap_requests, t.zap_batched);
	/* The hold was reached: the main thread had left by the opens. */
	if (late)
		CHECK_EQ(atomic_load_acquire(&hello_late.armed), 0U);
	/* It wrote its own copy of every page, twice 4x the budget. */
	CHECK(t.child_swapouts >= NPAGES / 2);
	CHECK_EQ(bad_pages(b, 1), 0UL);
	check_tree_and_close(p, b);
}

TEST(child_evicts_after_its_main_thread_left)
{
	main_gone_run(false);
	if (race_points_available())
		main_gone_run(true);
}

/*
 * A child rewrites every page of a range four times the budget (all swapped
 * before the fork) and reads it back twice: its own copies leave its memory
 * too, and every page reads back its write. The eviction holds the new
 * entry's swap count before it asks the child's side (try_to_unmap_one()),
 * which once made every such page look shared with another process: none
 * left (0 child swap-outs), the child's RssAnon grew to the whole range and
 * the reclaim thread retried them millions of times (16 s instead of 0.3 s
 * under ASan).
 */
TEST(child_rewrites_within_budget)
{
	struct uswap_pager *p = open_pager();
	const long budget = (long)(BUDGET / PAGE_SIZE), margin = budget / 4;
	long base_child, peak_child = 0;
	int go[2], st;
	pid_t pid;
	char *b;

	if (!p)
		return;
	b = fill_and_evict(p, 1);
	REQUIRE(b);
	pid = fork_held(go);
	REQUIRE(pid >= 0);
	if (!pid) {
		unsigned long bad;

		for (unsigned long i = 0; i < NPAGES; i++)
			sig_write(b + i * PAGE_SIZE, FORK_OWNER, 2);
		bad = bad_pages(b, 2);
		bad += bad_pages(b, 2);
		_exit(bad ? 1 : 0);
	}
	base_child = child_rss_start(p, pid);
	REQUIRE(base_child >= 0);
	REQUIRE_EQ(write(go[1], "g", 1), 1);
	st = sample_until_exit(p, go, pid, base_child, &peak_child, NULL);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	{
		struct fork_tree_stats t;
		struct fork_proc_stats procs[4];

		pager_fork_stats(p, &t, procs, 4);
		printf("# budget %ld pages; child RssAnon peak %ld pages over its start; child "
		       "swap-outs %lu\n",
		       budget, peak_child, t.child_swapouts);
		CHECK(t.child_swapouts >= NPAGES / 2);
	}
	CHECK(peak_child <= budget + margin);
	CHECK_EQ(bad_pages(b, 1), 0UL);
	check_tree_and_close(p, b);
}

/*
 * A child stopped (SIGSTOP) with most of the budget resident: its zapper
 * takes no request any more. The root rewrites its own pages (twice the
 * range, 8x the budget) meanwhile: each request to the stopped zapper
 * holds an evicting thread and the child's page-table lock for ZAP_CLAIM_NS
 * until it is withdrawn, so the stopped child's pages must be left alone
 * once one was (and kept out of the budget), not tried page after page:
 * that took the root's rewrite from 0.2 s to over 200 s. Once continued,
 * the child evicts again and reads every page back.
 */
TEST(stopped_child_does_not_stall_the_tree)
{
	struct uswap_pager *p = open_pager();
	int ready[2], st;
	pid_t pid;
	char *b, c;

	if (!p)
		return;
	b = fill_and_evict(p, 1);
	REQUIRE(b);
	REQUIRE_EQ(pipe(ready), 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		unsigned long bad = 0;

		close(ready[0]);
		for (unsigned long i = 0; i < NPAGES; i++)
			sig_write(b + i * PAGE_SIZE, FORK_OWNER, 2);
		/* The last pages resident: what reclaim tries first after our stop. */
		for (unsigned long i = NPAGES - 800; i < NPAGES; i++)
			bad += !sig_check(b + i * PAGE_SIZE, FORK_OWNER, 2);
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		raise(SIGSTOP);
		bad += bad_pages(b, 2);
		_exit(bad ? 1 : 0);
	}
	close(ready[1]);
	REQUIRE_EQ(read(ready[0], &c, 1), 1);
	close(ready[0]);
	REQUIRE_EQ(waitpid(pid, &st, WUNTRACED), pid);
	REQUIRE(WIFSTOPPED(st));
	for (uint64_t v = 10; v < 12; v++)
		for (unsigned long i = 0; i < NPAGES; i++)
			sig_write(b + i * PAGE_SIZE, FORK_OWNER, v);
	CHECK_EQ(bad_pages(b, 11), 0UL);
	kill(pid, SIGCONT);
	CHECK_EQ(exit_code(pid), 0);
	CHECK_EQ(bad_pages(b, 11), 0UL);
	check_tree_and_close(p, b);
}

/*
 * In a child: its zapper stops the process at race point stop_point, in the
 * middle of a request it claimed. In the root: what the threads waiting for
 * it did about the request (withdrew it before any move, or settled it slot
 * by slot: pages found moved, pages that stay).
 */
static uint32_t stop_at_claim;
static const char *stop_point;
static unsigned long withdrawn_claimed, settled_moved, settled_stays;
/*
 * With cont_in_settle: the stopped child (cont_pid, set once it stopped) is
 * continued by the root's thread settling its request, at its first slot,
 * which then goes on with the others while the zapper moves them.
 */
static bool cont_in_settle;
static uint32_t cont_pid;
static unsigned long continued_in_settle;

static void zapper_stops_at_claim(const char *name, void *arg)
{
	(void)arg;
	/* To this thread: it takes the stop itself, at once (the others soon after). */
	if (!strcmp(name, stop_point) && atomic_xchg_acq_rel(&stop_at_claim, 0U))
		syscall(SYS_tgkill, getpid(), gettid(), SIGSTOP);
	if (!strcmp(name, "zap:withdrawn_claimed"))
		atomic_fetch_add_relaxed(&withdrawn_claimed, 1UL);
	if (!strcmp(name, "zap:settled_moved"))
		atomic_fetch_add_relaxed(&settled_moved, 1UL);
	if (!strcmp(name, "zap:settled_stays"))
		atomic_fetch_add_relaxed(&settled_stays, 1UL);
	if (!strncmp(name, "zap:settled_", 12)) {
		pid_t cp = (pid_t)atomic_xchg_acq_rel(&cont_pid, 0U);

		if (cp > 0 && !kill(cp, SIGCONT)) {
			/* The zapper runs on meanwhile: its moves race ours. */
			usleep(20000);
			atomic_fetch_add_relaxed(&continued_in_settle, 1UL);
		}
	}
}

struct root_reader {
	char *b;
	unsigned long bad;
	uint32_t done;
};

static void *root_reader_main(void *arg)
{
	struct root_reader *r = arg;

	r->bad = bad_pages(r->b, 1);
	atomic_store_release(&r->done, 1U);
	return NULL;
}

struct root_leaver {
	struct uswap_pager *p;
	uint32_t done;
};

/* Milliseconds on the monotonic clock. */
static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * The root's pages [b, b + 512 pages) out with MADV_PAGEOUT, every 100 ms
 * (2 s at most) until told to stop: in a thread of its own, which may wait
 * for a stopped child's zapper.
 */
struct root_pageout {
	struct uswap_pager *p;
	char *b;
	uint32_t stop;
};

static void *root_pageout_main(void *arg)
{
	struct root_pageout *o = arg;

	for (unsigned i = 0; i < 20 && !atomic_load_acquire(&o->stop); i++) {
		madvise_pageout(pager_root_mm(o->p), (unsigned long)o->b,
				(unsigned long)o->b + 512 * PAGE_SIZE);
		usleep(100000);
	}
	return NULL;
}

/* The root leaving: its children get their pages (as at its exit). */
static void *root_leaver_main(void *arg)
{
	struct root_leaver *l = arg;

	pager_fork_orphan(l->p);
	atomic_store_release(&l->done, 1U);
	return NULL;
}

/*
 * A child stopped (SIGSTOP, Ctrl-Z, a debugger attaching) while its zapper
 * is in the middle of a request it claimed (at race point @point; a stop
 * lands there whenever it comes as the zapper works): the root's thread
 * that posted it must not wait for it until the child is continued,
 * holding what it holds meanwhile (the child's ev_lock, a reclaim batch
 * counted in f->batching, isolated folios). The rest of the tree goes on:
 * another child reads every page and ends, the fork thread lets it go, the
 * root reads every page, and then hands its children their pages as at
 * its exit, all before the stopped child is continued (each bounded: 5 s).
 * Continued, the child reads every page back twice (bit for bit), and the
 * tree ends with every slot and folio accounted for. Before the fix, the
 * fork thread, reclaiming directly while it served the stopped child's
 * fault (fork_ev_held), waited for the batch until the child was
 * continued, and everything above waited behind it.
 * With @single, the stopped child does not read before it is continued
 * (it writes those 512 pages again first, same data: its own copies, which
 * its zapper can move; the kernel refuses to move a page it still shares
 * with the root, and the request would only find its staging page empty),
 * and two more children (holders) map the root's resident pages too (512,
 * read back before the forks) until the end: a reclaim batch takes at
 * most 64 children's mappings, so those of its last folios are evicted one
 * page at a time (child_evict()), which MADV_PAGEOUT of those pages from
 * another thread of the root then does (root_pageout_main()).
 * stop_outcome: 1 the zapper stopped at @point, 0 it never reached it (a
 * child that read every page without a request stopping there ended clean:
 * tried again), -1 skipped or given up (REQUIRE).
 */
static int stop_outcome;

static void stopped_mid_request(const char *point, bool single)
{
	struct uswap_pager *p = open_pager();
	struct root_reader r = {0};
	struct root_leaver l = {0};
	struct root_pageout o = {0};
	bool other_done = false, other_released = false, root_done = false, left = false;
	const unsigned nr_holders = single ? 2 : 0;
	int st = 0, other_st = 0, go[2], hold[2];
	pid_t holders[2] = {0, 0};
	double t0, other_ms = -1, read_ms = -1, left_ms;
	pthread_t t, lt, ot;
	pid_t pid, other;

	stop_outcome = -1;
	if (!p)
		return;
	stop_point = point;
	atomic_store_release(&cont_pid, 0U);
	continued_in_settle = 0;
	withdrawn_claimed = settled_moved = settled_stays = 0;
	if (race_set_hook(zapper_stops_at_claim, NULL)) {
		uswap_pager_close(p);
		test_skip("no race points in this build");
		return;
	}
	r.b = fill_and_evict(p, 1);
	REQUIRE(r.b);
	REQUIRE_EQ(pipe(go), 0);
	REQUIRE_EQ(pipe(hold), 0);
	/* Resident at the fork (all of it was evicted): mapped by every child. */
	if (single)
		CHECK_EQ(bad_pages_range(r.b, 0, 512, 1), 0UL);
	atomic_store_release(&stop_at_claim, 1U);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		char c;

		close(go[1]);
		/* Its own copies of the pages (same data): its zapper can move them. */
		for (unsigned long i = 0; single && i < 512; i++)
			sig_write(r.b + i * PAGE_SIZE, FORK_OWNER, 1);
		if (single && read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(bad_pages(r.b, 1) + bad_pages(r.b, 1) ? 1 : 0);
	}
	atomic_store_release(&stop_at_claim, 0U);
	for (unsigned i = 0; i < nr_holders; i++) {
		holders[i] = fork();
		REQUIRE(holders[i] >= 0);
		if (!holders[i]) {
			char c;

			close(hold[1]);
			if (read(hold[0], &c, 1) != 0)
				_exit(2);
			_exit(bad_pages(r.b, 1) ? 1 : 0);
		}
	}
	close(go[0]);
	close(hold[0]);
	if (single) {
		/* Every zapper found its channel first: reclaim skips a child without. */
		for (unsigned i = 0; i < 10000 && children_evicting(p) < 1 + nr_holders; i++)
			usleep(1000);
		o.p = p;
		o.b = r.b;
		REQUIRE_EQ(pthread_create(&ot, NULL, root_pageout_main, &o), 0);
	}
	/* Bounded: a child that waits for go never ends by itself. */
	for (unsigned i = 0; i < 20000; i++) {
		pid_t w = waitpid(pid, &st, WUNTRACED | WNOHANG);

		REQUIRE(w >= 0);
		if (w == pid)
			break;
		st = 0;
		if (single && i == 2000 && write(go[1], "g", 1) != 1)
			break;
		usleep(1000);
	}
	atomic_store_release(&o.stop, 1U);
	if (cont_in_settle && WIFSTOPPED(st))
		atomic_store_release(&cont_pid, (uint32_t)pid);
	if (!WIFSTOPPED(st)) {
		printf("# %s not reached: the child ended (status %#x)\n", point, st);
		if (single)
			pthread_join(ot, NULL);
		race_set_hook(NULL, NULL);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		close(go[1]);
		close(hold[1]);
		for (unsigned i = 0; i < nr_holders; i++)
			CHECK_EQ(exit_code(holders[i]), 0);
		check_tree_and_close(p, r.b);
		stop_outcome = 0;
		return;
	}
	other = fork();
	REQUIRE(other >= 0);
	if (!other)
		_exit(bad_pages(r.b, 1) ? 1 : 0);
	REQUIRE_EQ(pthread_create(&t, NULL, root_reader_main, &r), 0);
	t0 = mono_ms();
	for (unsigned i = 0; i < 5000 && !(other_released && root_done); i++) {
		if (!other_done && waitpid(other, &other_st, WNOHANG) == other)
			other_done = true;
		if (!other_released && other_done && children_left(p) <= 1 + nr_holders) {
			other_released = true;
			other_ms = mono_ms() - t0;
		}
		if (!root_done && atomic_load_acquire(&r.done)) {
			root_done = true;
			read_ms = mono_ms() - t0;
		}
		usleep(1000);
	}
	/* Then the root leaves: the stopped child gets its pages meanwhile. */
	l.p = p;
	t0 = mono_ms();
	REQUIRE_EQ(pthread_create(&lt, NULL, root_leaver_main, &l), 0);
	for (unsigned i = 0; i < 5000 && !left; i++) {
		left = atomic_load_acquire(&l.done);
		usleep(1000);
	}
	left_ms = mono_ms() - t0;
	/* Figures: what was done, within how long (the bound: 5 s each). */
	printf("# with a child stopped at %s: another child %s, %s (%.0f ms); the root's "
	       "read %s (%.0f ms); its hand-over %s (%.0f ms); claimed requests withdrawn "
	       "%lu, settled pages moved %lu, staying %lu\n",
	       point, other_done ? "ended" : "did not end",
	       other_released ? "let go" : "not let go", other_ms, root_done ? "done" : "not done",
	       read_ms, left ? "done" : "not done", left_ms,
	       atomic_load_relaxed(&withdrawn_claimed), atomic_load_relaxed(&settled_moved),
	       atomic_load_relaxed(&settled_stays));
	kill(pid, SIGCONT);
	if (single)
		CHECK_EQ(write(go[1], "g", 1), 1);
	close(go[1]);
	close(hold[1]);
	if (!other_done)
		REQUIRE_EQ(waitpid(other, &other_st, 0), other);
	pthread_join(t, NULL);
	pthread_join(lt, NULL);
	if (single)
		pthread_join(ot, NULL);
	race_set_hook(NULL, NULL);
	/* Continued, the tree ends clean, every byte right. */
	CHECK(WIFEXITED(other_st) && WEXITSTATUS(other_st) == 0);
	CHECK_EQ(exit_code(pid), 0);
	for (unsigned i = 0; i < nr_holders; i++)
		CHECK_EQ(exit_code(holders[i]), 0);
	CHECK_EQ(r.bad, 0UL);
	check_tree_and_close(p, r.b);
	CHECK(other_done);
	CHECK(other_released);
	CHECK(root_done);
	CHECK(left);
	stop_outcome = 1;
}

/* Return: whether the scenario ran with the zapper stopped at @point (up to three tries). */
static bool stopped_mid_request_at(const char *point, bool single)
{
	for (unsigned i = 0; i < 3; i++) {
		stopped_mid_request(point, single);
		if (stop_outcome)
			break;
	}
	CHECK(stop_outcome);
	return stop_outcome == 1;
}

/* Stopped after its first move of a reclaim batch: the batch is settled. */
TEST(child_stopped_mid_request_does_not_stall_the_tree)
{
	if (!stopped_mid_request_at("zap:batch_moving", false))
		return;
	CHECK(atomic_load_relaxed(&settled_moved) + atomic_load_relaxed(&settled_stays) >= 1);
}

/*
 * Stopped between its claim and its first move (staging emptied): the
 * request is withdrawn, nothing is moved, not even once it is continued.
 */
TEST(child_stopped_between_claim_and_move_does_not_stall_the_tree)
{
	if (!stopped_mid_request_at("zap:before_moving", false))
		return;
	CHECK(atomic_load_relaxed(&withdrawn_claimed) >= 1);
	CHECK_EQ(atomic_load_relaxed(&settled_moved) + atomic_load_relaxed(&settled_stays), 0UL);
}

/*
 * Stopped with half a batch moved: the moved pages' data is read from the
 * staging area into their folios, the others stay in the child (its moves
 * of them fail once it is continued).
 */
TEST(child_stopped_mid_batch_keeps_moved_and_unmoved_pages)
{
	if (!stopped_mid_request_at("zap:batch_half", false))
		return;
	CHECK(atomic_load_relaxed(&settled_moved) >= 1);
	CHECK(atomic_load_relaxed(&settled_stays) >= 1);
}

/*
 * Stopped after the move of a single-page request (a page no batch took,
 * child_evict()): the settle finds the page moved (its zero page refused),
 * and the page is taken as moved, its data the folio's or read from the
 * staging page.
 */
TEST(child_stopped_mid_single_page_request_does_not_stall_the_tree)
{
	if (!stopped_mid_request_at("zap:out_moved", true))
		return;
	CHECK(atomic_load_relaxed(&settled_moved) >= 1);
}

/*
 * Continued (SIGCONT) just as the root begins to settle the half-moved
 * batch it stopped in: the zapper moves the rest of the batch while the
 * root fills the staging pages, each page's fate decided by whichever comes
 * first, and the root's reading of those found moved must match: the child
 * reads every page back, bit for bit, and the tree ends clean.
 */
TEST(child_continued_during_settle_keeps_every_page)
{
	bool ran;

	cont_in_settle = true;
	ran = stopped_mid_request_at("zap:batch_half", false);
	cont_in_settle = false;
	atomic_store_release(&cont_pid, 0U);
	if (!ran)
		return;
	printf("# continued in the settle: %lu\n", atomic_load_relaxed(&continued_in_settle));
	CHECK_EQ(atomic_load_relaxed(&continued_in_settle), 1UL);
	CHECK(atomic_load_relaxed(&settled_moved) >= 16);
}

/* ---- a child that must be single-threaded again ---- */

/* Threads of this process, as the kernel counts them (/proc/self/status), or -1. */
static long own_threads(void)
{
	return proc_status_field(0, "Threads");
}

/* Requests the root withdrew because the zapper stopped for good meanwhile. */
static unsigned long withdrawn_at_quit;
/*
 * In a child: its zapper holds the next request it sees unclaimed (held)
 * until the child began stopping it (stop_begun), and 5 ms more.
 */
static uint32_t hold_claim, claim_held, stop_begun;

/*
 * The child's zapper claims its requests late, now and then, and holds one
 * across the stop when asked (zap:before_claim); the root counts the
 * requests it withdrew at a stop (zap:withdrawn_at_quit).
 */
static void zapper_dawdles(const char *name, void *arg)
{
	(void)arg;
	if (!strcmp(name, "zap:before_claim")) {
		if (atomic_xchg_acq_rel(&hold_claim, 0U)) {
			atomic_store_release(&claim_held, 1U);
			for (unsigned i = 0; i < 2000 && !atomic_load_acquire(&stop_begun); i++)
				usleep(500);
			usleep(5000);
		} else if (rand() % 4 == 0) {
			usleep((useconds_t)(rand() % 3000));
		}
	}
	if (!strcmp(name, "zap:withdrawn_at_quit"))
		atomic_fetch_add_relaxed(&withdrawn_at_quit, 1UL);
}

#define STOP_CHILDREN 8

/* Pages of @b (NPAGES) not as the root left them: @last where i % 16 == 0, else 1. */
static unsigned long bad_pages_since(char *b, uint64_t last)
{
	unsigned long bad = 0;

	for (unsigned long i = 0; i < NPAGES; i++)
		bad += !sig_check(b + i * PAGE_SIZE, FORK_OWNER, i % 16 ? 1 : last);
	return bad;
}

/*
 * Children that evict (a zapper each) stop their zapper in the middle of
 * reading the range back, while the root keeps rewriting its own copy (so
 * reclaim batches keep asking the child's zapper, whose claims are late now
 * and then: a request is often in flight at the stop). Each child must then
 * be single-threaded as the kernel counts it (one thread, and
 * unshare(CLONE_NEWUSER) works: EINVAL with the zapper running), and read
 * every page right, twice. The root never hangs on the stopped zapper, sees
 * the child as one that does not evict from the stop on (its pages kept out
 * of the budget), posts it no request any more (but for one an evicting
 * thread had decided on before the stop: withdrawn at once), and the tree
 * is clean at the end.
 */
TEST(child_stops_its_zapper_to_be_single_threaded)
{
	struct uswap_pager *p = open_pager();
	uint64_t version = 2;
	char *b;

	if (!p)
		return;
	if (race_set_hook(zapper_dawdles, NULL)) {
		uswap_pager_close(p);
		test_skip("no race points in this build");
		return;
	}
	b = fill_and_evict(p, 1);
	REQUIRE(b);
	for (unsigned k = 0; k < STOP_CHILDREN; k++) {
		unsigned long stop_at = (k + 1) * NPAGES / (STOP_CHILDREN + 2);
		struct fork_tree_stats t;
		unsigned long requests = 0, pinned = 0;
		int go[2], stopped[2], cont[2], st;
		bool seen_stop = false, last = k == STOP_CHILDREN - 1;
		pid_t pid;
		char c;

		REQUIRE_EQ(pipe(stopped), 0);
		REQUIRE_EQ(pipe(cont), 0);
		pid = fork_held(go);
		REQUIRE(pid >= 0);
		if (!pid) {
			unsigned long bad = 0;
			long threads;

			srand((unsigned)getpid());
			close(stopped[0]);
			close(cont[1]);
			for (unsigned long i = 0; i < stop_at; i++)
				bad += !sig_check(b + i * PAGE_SIZE, FORK_OWNER,
						  i % 16 ? 1 : version - 1);
			/* Half of them: a request held unclaimed across the stop (bounded: 1 s). */
			if (k % 2) {
				atomic_store_release(&hold_claim, 1U);
				for (unsigned i = 0; i < 1000 && !atomic_load_acquire(&claim_held);
				     i++)
					usleep(1000);
			}
			threads = own_threads();
			atomic_store_release(&stop_begun, 1U);
			if (pager_fork_zapper_stop())
				_exit(3);
			if (threads < 2 || own_threads() != threads - 1)
				_exit(4);
			if (unshare(CLONE_NEWUSER))
				_exit(errno == EINVAL ? 5 : 6);
			/* Held until the root looked at us (alive, our pages kept). */
			if (write(stopped[1], "s", 1) != 1 || read(cont[0], &c, 1) != 1)
				_exit(7);
			bad += bad_pages_since(b, version - 1);
			bad += bad_pages_since(b, version - 1);
			_exit(bad ? 1 : 0);
		}
		close(stopped[1]);
		close(cont[0]);
		REQUIRE_EQ(write(go[1], "g", 1), 1);
		/* Rewrite our own copy until the child is done, checking it. */
		for (;;) {
			struct pollfd pf = {.fd = stopped[0], .events = POLLIN};

			for (unsigned long i = 0; i < NPAGES; i += 16) {
				CHECK(sig_check(b + i * PAGE_SIZE, FORK_OWNER, version - 1));
				sig_write(b + i * PAGE_SIZE, FORK_OWNER, version);
			}
			version++;
			if (!seen_stop && poll(&pf, 1, 0) > 0) {
				REQUIRE_EQ(read(stopped[0], &c, 1), 1);
				seen_stop = true;
				/*
				 * Stopped: the child evicts no more (child_evicts()).
				 * Looked at for the last child only: the stats read
				 * the live children's state, whose memory the next
				 * child reuses, and ThreadSanitizer cannot see that
				 * our read came before that child's exit (another
				 * process) and so before the reuse.
				 */
				if (last) {
					pager_fork_stats(p, &t, NULL, 0);
					CHECK_EQ(t.evicting, 0UL);
					requests = t.zap_requests;
				}
				/* Its pages are kept out of the budget (fork thread, bounded). */
				for (unsigned i = 0; i < 2000 && !pinned; i++) {
					pinned = pager_fork_pinned(p);
					if (!pinned)
						usleep(1000);
				}
				CHECK(pinned > 0);
				REQUIRE_EQ(write(cont[1], "c", 1), 1);
			}
			if (waitpid(pid, &st, WNOHANG) == pid)
				break;
		}
		close(go[1]);
		close(stopped[0]);
		close(cont[1]);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			printf("# child %u (stop after %lu pages): status %#x\n", k, stop_at, st);
		CHECK(seen_stop);
		CHECK_EQ(wait_children_released(p), 0U);
		if (last) {
			pager_fork_stats(p, &t, NULL, 0);
			/*
			 * At most one request a thread that reclaims (the reclaim
			 * thread, the root's fault thread) had decided on just
			 * before the stop.
			 */
			CHECK(t.zap_requests <= requests + 2);
		}
	}
	race_set_hook(NULL, NULL);
	printf("# %u children stopped their zapper, %u of them with a request held unclaimed; "
	       "%lu requests withdrawn at the stop\n",
	       STOP_CHILDREN, STOP_CHILDREN / 2, atomic_load_relaxed(&withdrawn_at_quit));
	CHECK_EQ(bad_pages_since(b, version - 1), 0UL);
	check_tree_and_close(p, b);
}

/* ---- every kind of child ---- */

TEST(vfork_spawn_system_exec_children)
{
	struct uswap_pager *p = open_pager();
	char *argv_true[] = {"/bin/sh", "-c", "exit 7", NULL};
	pid_t pid;
	char *b;

	if (!p)
		return;
	b = fill_and_evict(p, 3);
	REQUIRE(b);
	/* vfork: the child borrows our address space until it execs. */
	pid = vfork();
	REQUIRE(pid >= 0);
	if (!pid) {
		execve("/bin/sh", argv_true, environ);
		_exit(127);
	}
	CHECK_EQ(exit_code(pid), 7);
	/* posix_spawn and system() (clone with CLONE_VM inside glibc). */
	REQUIRE_EQ(posix_spawn(&pid, "/bin/sh", NULL, NULL, argv_true, environ), 0);
	CHECK_EQ(exit_code(pid), 7);
	{
		int st = system("exit 5");

		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5);
	}
	/* fork + exec: paged at the fork, released once the exec dropped the image. */
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		/* Touch our copy first: the exec must release it. */
		if (bad_pages(b, 3))
			_exit(1);
		execve("/bin/sh", argv_true, environ);
		_exit(127);
	}
	CHECK_EQ(exit_code(pid), 7);
	CHECK_EQ(wait_children_released(p), 0U);
	CHECK_EQ(bad_pages(b, 3), 0UL);
	uswap_pager_reclaim(p, NPAGES * PAGE_SIZE);
	uswap_pager_sync(p);
	CHECK_EQ(refs_not_in_tables(p), 0L);
	CHECK_EQ(pager_check(p), 0);
	munmap(b, NPAGES * PAGE_SIZE);
	uswap_pager_close(p);
}

TEST(nested_forks_see_every_byte)
{
	struct uswap_pager *p = open_pager();
	pid_t pid;
	char *b;

	if (!p)
		return;
	b = fill_and_evict(p, 4);
	REQUIRE(b);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		pid_t g;

		/* The child writes half, then forks: the grandchild sees the mix. */
		for (unsigned long i = 0; i < NPAGES; i += 2)
			sig_write(b + i * PAGE_SIZE, FORK_OWNER, 5);
		g = fork();
		if (g < 0)
			_exit(3);
		if (!g) {
			for (unsigned long i = 0; i < NPAGES; i++)
				if (!sig_check(b + i * PAGE_SIZE, FORK_OWNER, i % 2 ? 4 : 5))
					_exit(1);
			for (unsigned long i = 0; i < NPAGES; i++)
				sig_write(b + i * PAGE_SIZE, FORK_OWNER, 6);
			_exit(0);
		}
		if (exit_code(g) != 0)
			_exit(4);
		for (unsigned long i = 0; i < NPAGES; i++)
			if (!sig_check(b + i * PAGE_SIZE, FORK_OWNER, i % 2 ? 4 : 5))
				_exit(5);
		_exit(0);
	}
	CHECK_EQ(exit_code(pid), 0);
	CHECK_EQ(bad_pages(b, 4), 0UL);
	check_tree_and_close(p, b);
}

/* Userfaultfd descriptors this process has open. */
static int own_uffds(void)
{
	char path[64], link[64];
	int n = 0;

	for (int fd = 0; fd < 4096; fd++) {
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		len = readlink(path, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		n += !!strstr(link, "userfaultfd");
	}
	return n;
}

/* This process's VmSize in kB (/proc/self/status), or -1. */
static long own_vm_kb(void)
{
	return proc_status_field(0, "VmSize");
}

/*
 * A child that forks again at once (a shell's pipeline, daemon()): the
 * grandchild starts a zapper of its own and must not keep its parent's,
 * which a fork copies as memory and a descriptor (the parent's userfaultfd,
 * useless in the grandchild: each generation would add one descriptor and
 * the parent's 4 MiB stack and staging area). The grandchild has as many
 * userfaultfds and about as much address space as its parent; so does a
 * great-grandchild.
 */
TEST(grandchild_drops_its_parents_zapper)
{
	struct uswap_pager *p = open_pager();
	pid_t pid;

	if (!p)
		return;
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		int uffds = own_uffds(), depth = 0;
		long vm = own_vm_kb();
		pid_t g;

		if (uffds < 2 || vm <= 0)
			_exit(2);
		/* Two generations below the child, each checked against the first. */
		while (depth < 2) {
			g = fork();
			if (g < 0)
				_exit(3);
			if (g) {
				_exit(exit_code(g));
			}
			depth++;
			if (own_uffds() != uffds) {
				fprintf(stderr, "# generation %d: %d userfaultfds, the child %d\n",
					depth + 1, own_uffds(), uffds);
				_exit(10 + depth);
			}
			if (own_vm_kb() > vm + 1024) {
				fprintf(stderr,
					"# generation %d: VmSize %ld kB, the child %ld kB\n",
					depth + 1, own_vm_kb(), vm);
				_exit(20 + depth);
			}
		}
		_exit(0);
	}
	CHECK_EQ(exit_code(pid), 0);
	CHECK_EQ(wait_children_released(p), 0U);
	uswap_pager_close(p);
}

/*
 * In a middle process: open a pager of its own and a pipe @go, and fill
 * and evict the test range at @version (exits 2 or 3 if any of it fails).
 * Return: the range.
 */
static char *mid_fill(struct uswap_pager **q, int go[2], uint64_t version)
{
	struct uswap_pager_config cfg = {.budget_bytes = BUDGET, .device_bytes = 256 * MiB};
	char *b;

	if (uswap_pager_open(q, &cfg, NULL, 0) || pipe(go))
		_exit(2);
	b = fill_and_evict(*q, version);
	if (!b || pager_nr_swapents(*q) < (long)NPAGES / 2)
		_exit(3);
	return b;
}

/*
 * In a grandchild: once the middle process is gone (its end of @go closed
 * by its exit), check every page of @b against @version and write the
 * verdict, 'G' or 'B' (the first bad page on stderr), to @res_w; exit.
 */
static void __attribute__((noreturn))
grandchild_check(int go[2], int res_w, char *b, uint64_t version)
{
	char c = 0, verdict;

	close(go[1]);
	if (read(go[0], &c, 1) != 0)
		_exit(5);
	verdict = bad_pages(b, version) ? 'B' : 'G';
	for (unsigned long i = 0; i < NPAGES && verdict == 'B'; i++)
		if (!sig_check(b + i * PAGE_SIZE, FORK_OWNER, version)) {
			const uint64_t *w = (const uint64_t *)(b + i * PAGE_SIZE);

			fprintf(stderr, "# page %lu: owner %#" PRIx64 " version %" PRIu64 "\n", i,
				w[0], w[2]);
			break;
		}
	if (write(res_w, &verdict, 1) != 1)
		_exit(6);
	_exit(0);
}

/*
 * A child that outlives its parent: a middle process pages its own data
 * with its own pager, forks, and closes its pager and exits while the
 * grandchild still runs; the grandchild then checks every byte.
 */
TEST(child_outlives_parent)
{
	struct uswap_pager *p = open_pager();
	int res[2];
	pid_t mid;
	char r = 0;

	if (!p)
		return;
	uswap_pager_close(p);
	REQUIRE_EQ(pipe(res), 0);
	mid = fork();
	REQUIRE(mid >= 0);
	if (!mid) {
		struct uswap_pager *q = NULL;
		int go[2];
		pid_t g;
		char *b;

		close(res[0]);
		b = mid_fill(&q, go, 7);
		g = fork();
		if (g < 0)
			_exit(4);
		if (!g)
			grandchild_check(go, res[1], b, 7);
		close(go[0]);
		uswap_pager_close(q);
		/* Closing go[1] with our exit tells the grandchild we are gone. */
		_exit(0);
	}
	close(res[1]);
	CHECK_EQ(exit_code(mid), 0);
	CHECK_EQ(read(res[0], &r, 1), 1);
	CHECK_EQ(r, 'G');
	close(res[0]);
}

/*
 * The same hand-over with the window held open (race points, debug
 * builds). The fork thread lists the children it polls, then sleeps in
 * poll(); a fork followed at once by the close wakes it once for both. The
 * close's orphaning (every swapped page installed in each child before our
 * userfaultfds go) must reach the child forked after that list was made,
 * or the child reads zeros for every page that was swapped out. The hook
 * stops the fork thread just after it made a list without the child, and
 * lets it go on once the close asked for the orphaning.
 */
struct orphan_window {
	struct uswap_pager *q;
	int armed, held; /* armed by the test; held: the fork thread is in the window */
};

static void hold_before_poll(const char *name, void *arg)
{
	struct orphan_window *w = arg;

	if (strcmp(name, "fork:polling") || !atomic_load_acquire(&w->armed))
		return;
	/* The list just made holds no child (children only come, here). */
	if (pager_fork_nr_children(w->q))
		return;
	atomic_store_relaxed(&w->armed, 0);
	atomic_store_release(&w->held, 1);
	for (unsigned i = 0; i < 10000 && !pager_fork_orphaning(w->q); i++)
		usleep(500);
}

TEST(close_orphans_child_forked_in_the_window)
{
	struct uswap_pager *p = open_pager();
	int res[2];
	pid_t mid;
	char r = 0;

	if (!p)
		return;
	uswap_pager_close(p);
	if (!race_points_available()) {
		test_skip("race points are compiled out of this build");
		return;
	}
	REQUIRE_EQ(pipe(res), 0);
	mid = fork();
	REQUIRE(mid >= 0);
	if (!mid) {
		struct orphan_window w = {0};
		int go[2];
		pid_t g;
		char *b;

		close(res[0]);
		b = mid_fill(&w.q, go, 12);
		if (race_set_hook(hold_before_poll, &w))
			_exit(4);
		atomic_store_release(&w.armed, 1);
		for (unsigned i = 0; i < 10000 && !atomic_load_acquire(&w.held); i++)
			usleep(500);
		if (!atomic_load_acquire(&w.held))
			_exit(5);
		g = fork();
		if (g < 0)
			_exit(6);
		if (!g)
			grandchild_check(go, res[1], b, 12);
		close(go[0]);
		uswap_pager_close(w.q);
		_exit(0);
	}
	close(res[1]);
	CHECK_EQ(exit_code(mid), 0);
	CHECK_EQ(read(res[0], &r, 1), 1);
	CHECK_EQ(r, 'G');
	close(res[0]);
}

/* ---- a child outliving the pager touches a page it never had ---- */

/*
 * The pager closes (its owner leaving) while a child lives: the child gets
 * its pages and its ranges are unregistered through its userfaultfd. It
 * holds a copy of that userfaultfd, so closing the pager's descriptors no
 * longer unregisters them: a range left registered would make the child's
 * first touch of a page it never had wait forever. The child touches
 * pages of a mapping nobody wrote, after the close; bounded wait.
 */
TEST(orphaned_child_touches_a_page_it_never_had)
{
	struct uswap_pager *p = open_pager();
	void *fresh = NULL;
	int go[2], ready[2], st = 0;
	pid_t pid, w = 0;
	char *b, c;

	if (!p)
		return;
	b = fill_and_evict(p, 8);
	REQUIRE(b);
	REQUIRE_EQ(uswap_pager_map(p, 64 * PAGE_SIZE, &fresh), 0);
	REQUIRE_EQ(pipe(go), 0);
	REQUIRE_EQ(pipe(ready), 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		unsigned long bad;

		/* fork() returned: our fork handler took our copy already. */
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		bad = bad_pages(b, 8);
		for (unsigned long i = 0; i < 64; i++)
			if (((volatile char *)fresh)[i * PAGE_SIZE])
				_exit(5);
		_exit(bad ? 1 : 0);
	}
	REQUIRE_EQ(read(ready[0], &c, 1), 1);
	uswap_pager_close(p);
	REQUIRE_EQ(write(go[1], "g", 1), 1);
	close(go[1]);
	close(go[0]);
	close(ready[0]);
	close(ready[1]);
	for (unsigned i = 0; i < 10000 && w != pid; i++) {
		w = waitpid(pid, &st, WNOHANG);
		if (w != pid)
			usleep(1000);
	}
	if (w != pid) {
		printf("# the child is stuck on a page it never had: killing it\n");
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	CHECK_EQ(w, pid);
	CHECK_EQ(WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st), 0);
	munmap(b, NPAGES * PAGE_SIZE);
	munmap(fresh, 64 * PAGE_SIZE);
}

/* ---- the root gives back a page's data while a child swaps it in ---- */

struct release_race {
	int go;			/* the child reads its page once this is written */
	uint32_t armed;		/* the release's check: wake the child, then sleep */
	uint32_t install_armed; /* the child's install: sleep before the copy */
	uint32_t hit;		/* the release's check was held open (the child let go) */
	bool skipped;		/* the test let the child go itself */
};

/*
 * In the root: hold the reclaim thread between the two counts its release
 * check reads (folio_may_release:counts), having let the child go; and hold
 * the child's install (the fork thread) until that check is done.
 */
static void release_race_hook(const char *name, void *arg)
{
	struct release_race *r = arg;
	char c = 1;

	if (!r)
		return;
	if (!strcmp(name, "folio_may_release:counts") && atomic_xchg_acq_rel(&r->armed, 0U)) {
		atomic_store_release(&r->install_armed, 1U);
		if (write(r->go, &c, 1) != 1)
			return;
		/* After the write: the test closes the pipe once it saw this. */
		atomic_store_release(&r->hit, 1U);
		usleep(300 * 1000);
	} else if (!strcmp(name, "install:before_copy") &&
		   atomic_xchg_acq_rel(&r->install_armed, 0U)) {
		usleep(600 * 1000);
	}
}

/*
 * The root's copy of a page it installed goes back once nothing else can
 * need it (pager.c folio_may_release(): no other mapping, no swap entry of
 * another process). A child swapping the same entry in maps the folio and
 * then drops its entry: a check that read the mappings before the child
 * mapped and the entry count after it dropped its entry found neither, and
 * gave the data back; the child's install then copied a hole (zeros).
 * ThreadSanitizer saw the two threads meet on the folio's data in a CI run.
 */
TEST(release_check_does_not_race_a_child_swapin)
{
	struct release_race r = {0};
	struct uswap_pager *p = open_pager();
	unsigned long first = 0;
	int go[2], st;
	pid_t pid;
	char *b;

	if (!p)
		return;
	if (race_set_hook(NULL, NULL) == -EOPNOTSUPP) {
		uswap_pager_close(p);
		test_skip("no race points in this build");
		return;
	}
	b = fill_and_evict(p, 1);
	REQUIRE(b);
	while (first < NPAGES && pager_swap_count(p, (unsigned long)(b + first * PAGE_SIZE)) != 1)
		first++;
	REQUIRE(first < NPAGES);
	REQUIRE(!pipe(go));
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		char c;

		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		/* The page the root swapped in: a swap-cache hit for us. */
		_exit(sig_check(b + first * PAGE_SIZE, FORK_OWNER, 1) && !bad_pages(b, 1) ? 0 : 1);
	}
	close(go[0]);
	wait_child_known(p);
	r.go = go[1];
	race_set_hook(release_race_hook, &r);
	atomic_store_release(&r.armed, 1U);
	/* Swapped in (the child's entry keeps it cached), installed, queued for release. */
	CHECK(sig_check(b + first * PAGE_SIZE, FORK_OWNER, 1));
	for (unsigned i = 0; i < 5000 && !atomic_load_acquire(&r.hit); i++)
		usleep(1000);
	if (atomic_xchg_acq_rel(&r.armed, 0U)) {
		/* The release never checked that page: let the child go, nothing tried. */
		char c = 1;

		if (write(go[1], &c, 1) != 1)
			printf("# could not let the child go\n");
		r.skipped = true;
		test_skip("the release check was not reached");
	}
	st = exit_code(pid);
	race_set_hook(NULL, NULL);
	/* The hook is done with the pipe (or never wrote: then we did). */
	for (unsigned i = 0; i < 5000 && !atomic_load_acquire(&r.hit) && !r.skipped; i++)
		usleep(1000);
	close(go[1]);
	CHECK_EQ(st, 0);
	check_tree_and_close(p, b);
}

/* ---- the root killed between a child's fork and its hold ---- */

struct hold_race {
	int go;	     /* the child tells the root: kill yourself now */
	pid_t root;  /* the root's pid, for the child to see it gone */
	bool alarms; /* the child takes a signal every millisecond from then on */
};

static void hold_race_alarm(int sig)
{
	(void)sig;
}

static bool leader_exited(pid_t pid);

/* A forked child that survived its hold: wait for @root's end, then read every page. */
static __attribute__((noreturn)) void child_check_after_root(char *b, pid_t root)
{
	for (unsigned i = 0; i < 10000 && getppid() == root; i++)
		usleep(1000);
	_exit(bad_pages(b, 8) ? 1 : 0);
}

/*
 * In a root process of the hold tests: a pager, pages swapped out, @hook at
 * the race points, and a child forked (it checks every page once the root
 * is gone, if it survives its hold). Returns in the root once the child
 * reached its hold (the hook wrote to @h->go) or 5 s passed. Return: the
 * child's pid; the root exits 77 if paging forks is not possible here.
 */
static pid_t hold_root_fork(struct hold_race *h, race_hook_t hook)
{
	struct uswap_pager *p = open_pager();
	struct pollfd pf;
	int go[2];
	char *b;
	pid_t c;

	if (!p)
		_exit(77);
	b = fill_and_evict(p, 8);
	if (!b || pipe(go))
		_exit(3);
	h->root = getpid();
	h->go = go[1];
	race_set_hook(hook, h);
	c = fork();
	if (!c)
		child_check_after_root(b, h->root);
	pf = (struct pollfd){.fd = go[0], .events = POLLIN};
	poll(&pf, 1, 5000);
	return c;
}

/*
 * Run @root_main(@info_w, @arg) in a root process of its own (it writes the
 * pid of the child it forked to @info_w and never returns), the test
 * process its subreaper. Return: true with the root's status in *@st and
 * its child in *@child, reparented to us; false if the test was skipped
 * (said). Either way the test process is no subreaper any more but for
 * the child's reaping: call hold_scenario_end() after.
 */
static bool hold_scenario(void (*root_main)(int info_w, void *arg), void *arg, int *st,
			  pid_t *child)
{
	int info[2];
	pid_t root;

	*child = 0;
	if (race_set_hook(NULL, NULL) == -EOPNOTSUPP) {
		test_skip("no race points in this build");
		return false;
	}
	if (pipe(info) || prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL) ||
	    (root = fork()) < 0) {
		test_fail(__FILE__, __LINE__, "hold scenario set-up: %s", strerror(errno));
		return false;
	}
	if (!root) {
		close(info[0]);
		root_main(info[1], arg);
		_exit(7);
	}
	close(info[1]);
	if (read(info[0], child, sizeof(*child)) != sizeof(*child))
		*child = 0;
	close(info[0]);
	if (waitpid(root, st, 0) != root) {
		test_fail(__FILE__, __LINE__, "waitpid(root): %s", strerror(errno));
		return false;
	}
	if (WIFEXITED(*st) && WEXITSTATUS(*st) == 77) {
		prctl(PR_SET_CHILD_SUBREAPER, 0UL, 0UL, 0UL, 0UL);
		test_skip("no UFFD_FEATURE_EVENT_FORK (CAP_SYS_PTRACE)");
		return false;
	}
	return true;
}

/* The end of a hold scenario: the child's exit code (as exit_code()), no subreaper. */
static int hold_scenario_end(pid_t child)
{
	int code = exit_code(child);

	prctl(PR_SET_CHILD_SUBREAPER, 0UL, 0UL, 0UL, 0UL);
	return code;
}

/*
 * In the child, at its hold_take() race point (after its hello was
 * answered, before it takes its copy): have the root killed, and wait
 * until it is gone (we are reparented), so that the copy can no longer be
 * taken.
 */
static void hold_race_hook(const char *name, void *arg)
{
	struct hold_race *h = arg;
	char c = 1;

	if (strcmp(name, "fork:hold_take") || getpid() == h->root)
		return;
	if (write(h->go, &c, 1) != 1)
		_exit(4);
	for (unsigned i = 0; i < 10000 && getppid() == h->root; i++)
		usleep(1000);
}

/*
 * A root killed after its child's hello was answered but before the child
 * took its copy of its userfaultfd: the kernel has unregistered the child's
 * ranges, and its swapped pages would read as zeros. The child must end
 * itself (SIGKILL, with a message) rather than run on. The test process is
 * the subreaper that reaps the orphaned child.
 */
/* The root of that test: its child forked, it kills itself once the child is in its hold. */
static void root_killed_at_hold(int info_w, void *arg)
{
	struct hold_race h = {0};
	pid_t c = hold_root_fork(&h, hold_race_hook);

	(void)arg;
	if (write(info_w, &c, sizeof(c)) != sizeof(c))
		_exit(5);
	kill(getpid(), SIGKILL);
	_exit(6);
}

TEST(child_ends_itself_when_root_dies_before_its_hold)
{
	pid_t child;
	int st;

	if (!hold_scenario(root_killed_at_hold, NULL, &st, &child))
		return;
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	REQUIRE(child > 0);
	/* Reparented to us once the root died. */
	CHECK_EQ(hold_scenario_end(child), 128 + SIGKILL);
}

/*
 * In the child, at its hold_take() race point: have the root's main thread
 * exit, and wait until it is a zombie. The root's other threads live on a
 * while (the last one then ends the process), so the root is neither alive
 * for pidfd_getfd() (it answers ESRCH) nor gone for its pidfd yet.
 */
static void leader_exit_hook(const char *name, void *arg)
{
	struct hold_race *h = arg;
	char c = 1;

	if (strcmp(name, "fork:hold_take") || getpid() == h->root)
		return;
	if (h->alarms) {
		/* A program's timer: its handler interrupts whatever we wait in. */
		struct sigaction sa = {.sa_handler = hold_race_alarm};
		struct itimerval it = {{0, 1000}, {0, 1000}};

		if (sigaction(SIGALRM, &sa, NULL) || setitimer(ITIMER_REAL, &it, NULL))
			_exit(4);
	}
	if (write(h->go, &c, 1) != 1)
		_exit(4);
	for (unsigned i = 0; i < 10000 && !leader_exited(h->root); i++)
		usleep(1000);
}

/* The root's last thread: outlive its main thread a while, then end the process. */
static void *root_end_later(void *arg)
{
	(void)arg;
	usleep(300 * 1000);
	kill(getpid(), SIGKILL);
	return NULL;
}

/*
 * The same, with the root dying slowly: its main thread is gone already
 * (pidfd_getfd() answers ESRCH) while its pidfd does not yet say it exited
 * (another of its threads still runs). The child must still end itself,
 * not take the root for alive and run on unheld.
 */
/* The root of those tests: its main thread leaves once the child is in its hold. */
static void root_dies_slowly(int info_w, void *arg)
{
	struct hold_race h = {.alarms = *(bool *)arg};
	pid_t c = hold_root_fork(&h, leader_exit_hook);
	pthread_t t;

	if (write(info_w, &c, sizeof(c)) != sizeof(c))
		_exit(5);
	if (pthread_create(&t, NULL, root_end_later, NULL))
		_exit(6);
	syscall(SYS_exit, 0); /* this thread only */
}

static void root_dies_slowly_before_the_hold(bool alarms)
{
	pid_t child;
	int st;

	if (!hold_scenario(root_dies_slowly, &alarms, &st, &child))
		return;
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	REQUIRE(child > 0);
	CHECK_EQ(hold_scenario_end(child), 128 + SIGKILL);
}

TEST(child_ends_itself_when_root_dies_slowly_before_its_hold)
{
	root_dies_slowly_before_the_hold(false);
}

/*
 * The same in a child that takes a signal every millisecond (a program's
 * interval timer): its wait for the root's end is interrupted over and over,
 * and an interrupted wait is no answer (it took the root for one that only
 * ended its main thread, ran on unheld and read zeros).
 */
TEST(child_ends_itself_when_root_dies_slowly_under_signals)
{
	root_dies_slowly_before_the_hold(true);
}

/*
 * In the child, at its hold_take() race point: tell the root's last thread
 * that we are about to take our copy (its main thread is gone already).
 */
static void hold_reached_hook(const char *name, void *arg)
{
	struct hold_race *h = arg;
	char c = 1;

	if (strcmp(name, "fork:hold_take") || getpid() == h->root)
		return;
	if (write(h->go, &c, 1) != 1)
		_exit(4);
}

/* Whether the main thread of process @pid has exited (a zombie, the process living on). */
static bool leader_exited(pid_t pid)
{
	char path[64], buf[128] = "", *rp;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	rp = strrchr(buf, ')');
	return n <= 0 || (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'));
}

struct leaving_root {
	struct uswap_pager *p;
	char *b;
	int go;	  /* read end: the child reached its hold */
	int info; /* write end: the child's pid, for the test process */
	struct hold_race h;
};

/*
 * The root's last thread (its main thread ended with pthread_exit()): fork
 * a child, and once the child waits to know whether we died (its
 * pidfd_getfd() answered ESRCH), leave normally: close the pager, which
 * gives the child its pages first, and exit.
 */
static void *root_forks_then_leaves(void *arg)
{
	struct leaving_root *r = arg;
	struct pollfd pf = {.fd = r->go, .events = POLLIN};
	pid_t c;

	for (unsigned i = 0; i < 5000 && !leader_exited(r->h.root); i++)
		usleep(1000);
	c = fork();
	if (!c)
		child_check_after_root(r->b, r->h.root);
	if (write(r->info, &c, sizeof(c)) != sizeof(c))
		_exit(5);
	poll(&pf, 1, 5000);
	/* The child is in its wait for the root's pidfd now. */
	usleep(300 * 1000);
	uswap_pager_close(r->p);
	/* Not exit(): a leak check with the main thread gone could only be noise. */
	_exit(0);
}

/*
 * A root whose main thread ended with pthread_exit() cannot lend its
 * descriptors (pidfd_getfd() answers ESRCH), and its child waits a while
 * to tell it from a root dying. If the root leaves normally during that
 * wait, it gives the child its pages first (orphaning): the child must run
 * on with them, not end itself as for a root that died.
 */
/* The root of that test: its main thread leaves, another forks and then leaves normally. */
static void root_without_main_thread(int info_w, void *arg)
{
	static struct leaving_root r;
	pthread_t t;
	int go[2];

	(void)arg;
	r.p = open_pager();
	if (!r.p)
		_exit(77);
	r.b = fill_and_evict(r.p, 8);
	if (!r.b || pipe(go))
		_exit(3);
	r.go = go[0];
	r.info = info_w;
	r.h = (struct hold_race){.go = go[1], .root = getpid()};
	race_set_hook(hold_reached_hook, &r.h);
	if (pthread_create(&t, NULL, root_forks_then_leaves, &r))
		_exit(6);
	syscall(SYS_exit, 0); /* this thread only */
}

TEST(child_runs_on_when_root_without_main_thread_leaves_normally)
{
	pid_t child;
	int st;

	if (!hold_scenario(root_without_main_thread, NULL, &st, &child))
		return;
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	REQUIRE(child > 0);
	/* Reparented to us once the root left; it read every page right. */
	CHECK_EQ(hold_scenario_end(child), 0);
}

/* ---- the program's own descriptor at the number of the root's pidfd ---- */

/* Return: the number of our descriptor that is a pidfd of ours, or -1. */
static int own_pidfd_number(void)
{
	char path[64], link[64], info[512];

	for (int fd = 3; fd < 4096; fd++) {
		ssize_t n;
		int ifd;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (!strstr(link, "pidfd"))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
		ifd = open(path, O_RDONLY);
		if (ifd < 0)
			continue;
		n = read(ifd, info, sizeof(info) - 1);
		close(ifd);
		if (n <= 0)
			continue;
		info[n] = '\0';
		snprintf(path, sizeof(path), "\nPid:\t%d\n", (int)getpid());
		if (strstr(info, path))
			return fd;
	}
	return -1;
}

/*
 * The program puts a file of its own at the number of the pidfd the pager
 * keeps for its children (dup2() onto it, as a program that arranges its
 * descriptors may): a child must not take that file for the root, found
 * "gone" because it is readable, and end itself; and the pager's close
 * must not close the program's file. The child runs on without its hold
 * (said on stderr).
 */
TEST(program_descriptor_at_the_root_pidfd_number)
{
	struct uswap_pager *p = open_pager();
	int num, zero;
	pid_t pid;

	if (!p)
		return;
	num = own_pidfd_number();
	REQUIRE(num >= 0);
	zero = open("/dev/zero", O_RDONLY);
	REQUIRE(zero >= 0);
	REQUIRE_EQ(dup2(zero, num), num); /* always readable */
	close(zero);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid)
		_exit(0);
	CHECK_EQ(exit_code(pid), 0);
	uswap_pager_close(p);
	CHECK_EQ(fcntl(num, F_GETFD), 0); /* still ours, open */
	close(num);
}

/* ---- a fork storm leaves nothing behind ---- */

TEST(fork_storm_leaves_no_slot)
{
	struct uswap_pager *p = open_pager();
	unsigned failed = 0;
	char *b;

	if (!p)
		return;
	b = fill_and_evict(p, 8);
	REQUIRE(b);
	for (unsigned n = 0; n < 100; n++) {
		pid_t pid = fork();

		REQUIRE(pid >= 0);
		if (!pid) {
			/* A few reads and writes of its own copy, then gone. */
			for (unsigned long i = n; i < NPAGES; i += 97) {
				if (!sig_check(b + i * PAGE_SIZE, FORK_OWNER, 8))
					_exit(1);
				sig_write(b + i * PAGE_SIZE, FORK_OWNER, 9);
			}
			_exit(0);
		}
		failed += exit_code(pid) != 0;
	}
	CHECK_EQ(failed, 0U);
	CHECK_EQ(wait_children_released(p), 0U);
	CHECK_EQ(bad_pages(b, 8), 0UL);
	uswap_pager_reclaim(p, NPAGES * PAGE_SIZE);
	uswap_pager_sync(p);
	CHECK_EQ(refs_not_in_tables(p), 0L);
	CHECK_EQ(pager_check(p), 0);
	munmap(b, NPAGES * PAGE_SIZE);
	uswap_pager_close(p);
}

/* ---- a child's fault on a page whose mapping went meanwhile ---- */

static void exit_on_sigbus(int sig)
{
	(void)sig;
	_exit(7);
}

struct replace_race {
	char *b;
	unsigned long from, to;
};

/* Read one byte of every page of [from, to), as the replacing thread goes. */
static void *replace_reader(void *arg)
{
	struct replace_race *r = arg;

	for (unsigned long i = r->from; i < r->to; i++)
		(void)*(volatile char *)(r->b + i * PAGE_SIZE + 64);
	return NULL;
}

/*
 * A child's thread faults on a swapped page while another thread maps
 * fresh memory over it (mmap MAP_FIXED: an UNMAP event). When the fork
 * thread reads the fault with the event, there is nothing to install the
 * page into any more: the fault must be woken to run into the new mapping,
 * as without the pager (and as the root's own faults are), not get SIGBUS.
 */
TEST(child_fault_on_range_replaced_meanwhile)
{
	struct uswap_pager *p = open_pager();
	char *b;
	pid_t pid;

	if (!p)
		return;
	b = fill_and_evict(p, 8);
	REQUIRE(b);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		signal(SIGBUS, exit_on_sigbus);
		for (unsigned long round = 0; round < 8; round++) {
			struct replace_race r = {
				.b = b, .from = round * NPAGES / 8, .to = (round + 1) * NPAGES / 8};
			pthread_t t;

			if (pthread_create(&t, NULL, replace_reader, &r))
				_exit(2);
			for (unsigned long i = r.from; i < r.to; i++)
				if (mmap(b + i * PAGE_SIZE, PAGE_SIZE, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
					 0) == MAP_FAILED)
					_exit(3);
			pthread_join(t, NULL);
		}
		_exit(0);
	}
	CHECK_EQ(exit_code(pid), 0);
	CHECK_EQ(bad_pages(b, 8), 0UL);
	check_tree_and_close(p, b);
}

/* ---- readers of the children from other threads while one ends ---- */

/*
 * The status publisher (--stats, --progress) and reclaim batches look at
 * the children from threads other than the fork thread, which ends a child
 * and frees it (child_end(), then mmput() and child_release()). A hook at
 * a race point of such a reader lets the child go (a byte on its pipe) and
 * waits, bounded, for the fork thread to be done with it: the reader must
 * hold the end off meanwhile, else it reads a freed child (a crash in debug
 * builds, which poison it) or sums figures that leave the child out
 * (issue 11). Race points are compiled into debug builds only.
 */
#define END_WAIT_MS 1000

struct end_window {
	struct uswap_pager *p;
	const char *point; /* the race point to hold open */
	int go_w;	   /* the held child's pipe: a byte lets it exit */
	uint32_t armed;
	uint32_t hits;	/* the hook ran at the point */
	uint32_t ended; /* the fork thread let go of the child inside the window */
};

static void let_child_end_in_window(const char *name, void *arg)
{
	struct end_window *w = arg;
	char c = 'g';

	/* NULL: another thread reached a point while the hook was being taken away. */
	if (!w || strcmp(name, w->point) || !atomic_xchg_acq_rel(&w->armed, 0U))
		return;
	atomic_fetch_add_relaxed(&w->hits, 1U);
	if (write(w->go_w, &c, 1) != 1)
		return;
	for (unsigned i = 0; i < END_WAIT_MS; i++) {
		if (!pager_fork_nr_children(w->p)) {
			atomic_store_release(&w->ended, 1U);
			return;
		}
		usleep(1000);
	}
}

#define READER_STEP 4 /* the held child reads every fourth page */

/*
 * Fork a child that reads every READER_STEP-th page of @b (swapped: faults
 * counted as its own), then waits for a byte on go[0] and exits 0 if every
 * page it read was @version. Returns in the parent once the child read
 * them. Return: its pid (the parent keeps go[1]), or -1.
 */
static pid_t fork_reader_held(char *b, uint64_t version, int go[2])
{
	int ready[2];
	pid_t pid;
	char c = 0;

	if (pipe(ready) || pipe(go))
		return -1;
	pid = fork();
	if (!pid) {
		unsigned long bad = 0;

		close(ready[0]);
		close(go[1]);
		for (unsigned long i = 0; i < NPAGES; i += READER_STEP)
			bad += !sig_check(b + i * PAGE_SIZE, FORK_OWNER, version);
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(bad ? 1 : 0);
	}
	close(ready[1]);
	close(go[0]);
	if (pid > 0 && read(ready[0], &c, 1) != 1)
		pid = -1;
	close(ready[0]);
	return pid;
}

/* Open a pager with a held reader child and @w armed at @point; NULL: skipped. */
static struct uswap_pager *end_window_setup(struct end_window *w, const char *point, char **b,
					    pid_t *pid)
{
	struct uswap_pager *p = open_pager();
	int go[2];

	if (!p)
		return NULL;
	if (!race_points_available()) {
		uswap_pager_close(p);
		test_skip("race points are compiled out of this build");
		return NULL;
	}
	*b = fill_and_evict(p, 21);
	*pid = *b ? fork_reader_held(*b, 21, go) : -1;
	CHECK(*pid > 0);
	if (*pid <= 0) {
		uswap_pager_close(p);
		return NULL;
	}
	*w = (struct end_window){.p = p, .point = point, .go_w = go[1]};
	CHECK_EQ(race_set_hook(let_child_end_in_window, w), 0);
	return p;
}

/* After an end_window test's window: the child exited clean; the hook ran once. */
static void end_window_finish(struct uswap_pager *p, struct end_window *w, pid_t pid)
{
	race_set_hook(NULL, NULL);
	close(w->go_w);
	CHECK_EQ(exit_code(pid), 0);
	CHECK_EQ(atomic_load_relaxed(&w->hits), 1U);
	/* The reader held the child's end off until it was done with the child. */
	CHECK_EQ(atomic_load_acquire(&w->ended), 0U);
	CHECK_EQ(wait_children_released(p), 0U);
}

/*
 * pager_fork_stats() adds up the children gone, then the live ones: a child
 * ending between the two (its figures moved to the gone ones after those
 * were read, its slot emptied before it is read) was left out, and the
 * tree's faults went down from one snapshot to the next.
 */
TEST(fork_stats_count_a_child_ending_meanwhile)
{
	struct fork_tree_stats t1, t2, t3;
	struct fork_proc_stats procs[4];
	struct end_window w;
	struct uswap_pager *p;
	char *b = NULL;
	pid_t pid = 0;

	p = end_window_setup(&w, "fork_stats:gone_read", &b, &pid);
	if (!p)
		return;
	REQUIRE_EQ(pager_fork_stats(p, &t1, procs, 4), 2U);
	CHECK_EQ(t1.processes, 2UL);
	CHECK_EQ(procs[1].live, 1U);
	/* Most of what it read was swapped out: its own faults. */
	CHECK(procs[1].faults >= NPAGES / READER_STEP / 2);
	atomic_store_release(&w.armed, 1U);
	pager_fork_stats(p, &t2, NULL, 0);
	printf("# tree faults: %lu before, %lu with the child ending in the window "
	       "(its own %lu; it ended there: %s)\n",
	       t1.faults, t2.faults, procs[1].faults, atomic_load_relaxed(&w.ended) ? "yes" : "no");
	CHECK(t2.faults >= t1.faults);
	CHECK(t2.swapins >= t1.swapins);
	end_window_finish(p, &w, pid);
	pager_fork_stats(p, &t3, NULL, 0);
	CHECK_EQ(t3.processes, 1UL);
	CHECK_EQ(t3.exited, 1UL);
	CHECK(t3.faults >= t2.faults);
	check_tree_and_close(p, b);
}

/*
 * pager_fork_stats() follows each live child's pointer (whether its zapper
 * evicts): a child freed after its slot was read was read freed.
 */
TEST(fork_stats_never_read_a_freed_child)
{
	struct fork_proc_stats procs[4];
	struct fork_tree_stats t;
	struct end_window w;
	struct uswap_pager *p;
	char *b = NULL;
	pid_t pid = 0;
	unsigned n;

	p = end_window_setup(&w, "fork_stats:child_seen", &b, &pid);
	if (!p)
		return;
	atomic_store_release(&w.armed, 1U);
	n = pager_fork_stats(p, &t, procs, 4);
	/* A snapshot taken while the child was live: it is in it, as live. */
	CHECK_EQ(n, 2U);
	CHECK_EQ(t.processes, 2UL);
	CHECK_EQ(procs[n - 1].live, 1U);
	end_window_finish(p, &w, pid);
	check_tree_and_close(p, b);
}

/*
 * pager_fork_stats() wrote the caller's buffers under stats_lock. A buffer
 * in paged memory (a thread stack of the program: the agent's exit
 * publishes the figures from whichever thread calls exit()) whose page is
 * not in real memory faults there, and the root's fault thread serves that
 * fault; if a fork of another thread comes first, the fault thread waits
 * for stats_lock to publish the new child (publish_child()): the reader
 * waits for the fault thread, which waits for the reader's lock. Here the
 * reader's procs[1] is on a page of a paged range never touched (procs[0]
 * and the tree's figures on one written just before), a held child is
 * live, and the hook at its first child makes another thread fork and
 * waits until the fault thread is setting that child up (a race point just
 * before it publishes it), and 50 ms more. Run in a process of its own:
 * the old code hung there.
 */
struct stats_fault_window {
	int go[2];
	uint32_t armed;
	uint32_t hits;
	uint32_t setup; /* the fault thread is setting the new child up */
	pid_t forked;
};

static struct stats_fault_window stats_fault;

static void *stats_fault_forker(void *arg)
{
	struct stats_fault_window *w = arg;
	char c;

	if (read(w->go[0], &c, 1) != 1)
		return NULL;
	w->forked = fork();
	if (!w->forked)
		_exit(0);
	return NULL;
}

static void stats_fault_hook(const char *name, void *arg)
{
	struct stats_fault_window *w = arg;
	char c = 'g';

	if (!w)
		return;
	/* The fault thread, about to publish the child (publish_child()). */
	if (!strcmp(name, "fork:child_setup")) {
		atomic_store_release(&w->setup, 1U);
		return;
	}
	if (strcmp(name, "fork_stats:child_seen") || !atomic_xchg_acq_rel(&w->armed, 0U))
		return;
	atomic_fetch_add_relaxed(&w->hits, 1U);
	if (write(w->go[1], &c, 1) != 1)
		return;
	for (unsigned i = 0; i < 5000 && !atomic_load_acquire(&w->setup); i++)
		usleep(1000);
	/* From there on to stats_lock. */
	usleep(50000);
}

static int stats_fault_run(void)
{
	struct stats_fault_window *w = &stats_fault;
	struct fork_tree_stats *t;
	struct fork_proc_stats *procs;
	struct uswap_pager *p = open_pager();
	pthread_t th;
	void *m = NULL;
	int go[2], n;
	pid_t held;

	if (!p || !race_points_available())
		return 77;
	if (uswap_pager_map(p, 2 * PAGE_SIZE, &m) || pipe(w->go))
		return 1;
	/* procs[0] ends page 0, procs[1] begins page 1; the tree's figures on page 0. */
	procs = (struct fork_proc_stats *)((char *)m + PAGE_SIZE) - 1;
	t = m;
	memset(m, 1, PAGE_SIZE);
	held = fork_held(go);
	if (!held)
		_exit(0);
	if (held < 0 || pthread_create(&th, NULL, stats_fault_forker, w))
		return 2;
	wait_child_known(p);
	race_set_hook(stats_fault_hook, w);
	atomic_store_release(&w->armed, 1U);
	n = pager_fork_stats(p, t, procs, 3);
	race_set_hook(NULL, NULL);
	pthread_join(th, NULL);
	if (atomic_load_relaxed(&w->hits) != 1 || !atomic_load_acquire(&w->setup) || w->forked <= 0)
		return 3;
	/* The root and the held child at least (the new one if published in time). */
	if (n < 2 || t->processes < 2 || procs[0].pid != getpid() || !procs[1].live)
		return 6;
	if (write(go[1], "g", 1) != 1)
		return 5;
	close(go[1]);
	if (exit_code(held) != 0 || exit_code(w->forked) != 0 || wait_children_released(p))
		return 5;
	munmap(m, 2 * PAGE_SIZE);
	uswap_pager_close(p);
	return 0;
}

TEST(fork_stats_into_paged_memory_while_a_fork_is_published)
{
	run_bounded(stats_fault_run, "the figures' reader faults under stats_lock, which the "
				     "fault thread waits for");
}

/*
 * A reclaim batch (children evicting) first looks whether any published
 * child can take a batch request, following each child's pointer: a child
 * freed meanwhile was read freed, the batch not being counted yet for
 * child_end() to wait for it.
 */
TEST(reclaim_batch_never_reads_a_freed_child)
{
	struct end_window w;
	struct uswap_pager *p;
	char *b = NULL;
	pid_t pid = 0;

	p = end_window_setup(&w, "fork_batch:child_seen", &b, &pid);
	if (!p)
		return;
	/* Pages of the root's own for the reclaim below to take (a batch). */
	for (unsigned long i = 1; i < NPAGES; i += READER_STEP)
		CHECK(sig_check(b + i * PAGE_SIZE, FORK_OWNER, 21));
	atomic_store_release(&w.armed, 1U);
	/* This thread's batch, or the reclaim thread's: the hook runs in either. */
	for (unsigned i = 0; i < 100 && atomic_load_acquire(&w.armed); i++)
		uswap_pager_reclaim(p, 256 * PAGE_SIZE);
	end_window_finish(p, &w, pid);
	CHECK_EQ(bad_pages(b, 21), 0UL);
	check_tree_and_close(p, b);
}

/*
 * A child's page evicted by reclaim is counted in the child's figures
 * (swapouts) under the child's ev_lock, by the evicting thread: a child
 * ending meanwhile (the fork thread moving its figures to the gone ones)
 * must not lose the count, nor leave it in the slot for the next child.
 * The hook holds an eviction of the test's own thread just before its
 * count while the child exits; every eviction counted must be in the
 * tree's figures once the child is gone.
 */
struct count_window {
	struct uswap_pager *p;
	pid_t tid; /* the test's thread: the window is held there only */
	int go_w;
	uint32_t armed;
	uint32_t counts; /* evictions of children counted, in any thread */
	uint32_t ended;	 /* the child's slot emptied inside the window */
};

static void let_child_end_before_count(const char *name, void *arg)
{
	struct count_window *w = arg;
	struct fork_tree_stats t;
	char c = 'g';

	if (!w || strcmp(name, "child_evict:count"))
		return;
	atomic_fetch_add_relaxed(&w->counts, 1U);
	if (gettid() != w->tid || !atomic_xchg_acq_rel(&w->armed, 0U))
		return;
	if (write(w->go_w, &c, 1) != 1)
		return;
	for (unsigned i = 0; i < END_WAIT_MS; i++) {
		pager_fork_stats(w->p, &t, NULL, 0);
		if (t.processes == 1) {
			atomic_store_release(&w->ended, 1U);
			return;
		}
		usleep(1000);
	}
}

TEST(child_evictions_counted_once_when_it_ends)
{
	struct uswap_pager *p = open_pager();
	struct count_window w = {0};
	struct fork_tree_stats t;
	int go[2];
	pid_t pid;
	char *b;

	if (!p)
		return;
	if (!race_points_available()) {
		uswap_pager_close(p);
		test_skip("race points are compiled out of this build");
		return;
	}
	b = fill_and_evict(p, 22);
	REQUIRE(b);
	/* Counting from before the fork: reclaim evicts the child's pages as it reads them. */
	w = (struct count_window){.p = p, .tid = gettid(), .go_w = -1};
	REQUIRE_EQ(race_set_hook(let_child_end_before_count, &w), 0);
	pid = fork_reader_held(b, 22, go);
	REQUIRE(pid > 0);
	w.go_w = go[1];
	atomic_store_release(&w.armed, 1U);
	/* The child's pages read are on the LRU: reclaim evicts some of them. */
	for (unsigned i = 0; i < 200 && atomic_load_acquire(&w.armed); i++) {
		for (unsigned long j = 1 + i % READER_STEP; j < NPAGES; j += 2 * READER_STEP)
			CHECK(sig_check(b + j * PAGE_SIZE, FORK_OWNER, 22));
		uswap_pager_reclaim(p, NPAGES * PAGE_SIZE);
	}
	close(go[1]);
	CHECK_EQ(atomic_load_acquire(&w.armed), 0U);
	CHECK_EQ(exit_code(pid), 0);
	/* The hook stays until the child is let go: it counts every eviction of it. */
	CHECK_EQ(wait_children_released(p), 0U);
	race_set_hook(NULL, NULL);
	pager_fork_stats(p, &t, NULL, 0);
	printf("# child evictions: %u counted, %lu in the tree's figures "
	       "(the child ended in the window: %s)\n",
	       atomic_load_relaxed(&w.counts), t.child_swapouts,
	       atomic_load_relaxed(&w.ended) ? "yes" : "no");
	CHECK(atomic_load_relaxed(&w.counts) > 0);
	CHECK_EQ(t.child_swapouts, (unsigned long)atomic_load_relaxed(&w.counts));
	CHECK_EQ(atomic_load_acquire(&w.ended), 0U);
	CHECK_EQ(bad_pages(b, 22), 0UL);
	check_tree_and_close(p, b);
}

/* ---- children killed at random moments ---- */

/*
 * The window between the fork thread unpublishing a dead child and letting
 * go of its entries (child_end()), held open: a test that took "no child
 * any more" for "its slots are released" ran the checker and counted
 * references while the child's entries were being freed (issue 11: the
 * checker saw 4094 slots in use against 4112 in the clusters).
 */
static unsigned long end_window_hits;
static uint32_t end_window_armed;

static void hold_child_end(const char *name, void *arg)
{
	(void)arg;
	if (strcmp(name, "child_end:before_mmput") || !atomic_xchg_acq_rel(&end_window_armed, 0U))
		return;
	atomic_fetch_add_relaxed(&end_window_hits, 1UL);
	usleep(100000);
}

/*
 * Killed children, with @evict: each child evicting its own pages
 * (USWAP_CHILD_EVICT=1) or not. Every 20 deaths, once the fork thread says
 * it let go of every child, no swap count may be left outside the parent's
 * tables and the checker must pass; the window of child_end() is held
 * open (hold_child_end, 100 ms) for the deaths before a check where race
 * points are compiled in.
 */
#ifdef __SANITIZE_THREAD__
/*
 * Fewer under TSan. Past about 40 kills the read-back at the end can take
 * minutes in any build (debug: 0.5 s at 40 kills, 20-35 s at 45-60): the
 * evictions keep failing, UFFDIO_MOVE refusing the root's pages with -EBUSY
 * millions of times while every fault over the budget scans the LRU again
 * (most likely pages a fork shared that the kernel does not count as the
 * root's alone again until it writes them, children gone or not). Ten
 * times slower under TSan, that is past the test's timeout; 20 kills take
 * seconds.
 */
#define DEFAULT_KILLS 20
#else
#define DEFAULT_KILLS 200
#endif

static void killed_mid_paging(bool evict)
{
	struct uswap_pager *p;
	const char *env = getenv("USWAP_FORK_KILLS");
	unsigned kills = env ? (unsigned)atoi(env) : DEFAULT_KILLS, killed = 0, checks = 0;
	uint64_t rng = 0x5eed ^ (uint64_t)time(NULL);
	uint64_t *version;
	bool held;
	char *b;

	setenv("USWAP_CHILD_EVICT", evict ? "1" : "0", 1);
	p = open_pager();
	unsetenv("USWAP_CHILD_EVICT");
	if (!p)
		return;
	b = fill_and_evict(p, 10);
	REQUIRE(b);
	version = calloc(NPAGES, sizeof(*version));
	REQUIRE(version);
	for (unsigned long i = 0; i < NPAGES; i++)
		version[i] = 10;
	atomic_store_relaxed(&end_window_hits, 0UL);
	held = race_set_hook(hold_child_end, NULL) == 0;
	for (unsigned k = 0; k < kills; k++) {
		pid_t pid = fork();

		REQUIRE(pid >= 0);
		if (!pid) {
			uint64_t s = rng ^ (k + 1);

			/* Fault pages in (reads and copy-on-write writes) until killed. */
			for (;;) {
				unsigned long i = t_rand(&s) % NPAGES;
				char *pg = b + i * PAGE_SIZE;

				if (!sig_check(pg, FORK_OWNER, version[i]))
					_exit(1);
				version[i] += 1000;
				sig_write(pg, FORK_OWNER, version[i]);
			}
		}
		/* The parent faults and writes its own data meanwhile. */
		for (unsigned j = 0, n = (unsigned)(t_rand(&rng) % 64); j < n; j++) {
			unsigned long i = t_rand(&rng) % NPAGES;

			CHECK(sig_check(b + i * PAGE_SIZE, FORK_OWNER, version[i]));
			sig_write(b + i * PAGE_SIZE, FORK_OWNER, ++version[i]);
		}
		if (t_rand(&rng) % 4 == 0)
			uswap_pager_reclaim(p, (t_rand(&rng) % 512) * PAGE_SIZE);
		/* The deaths before a check: their end is held open (see above). */
		atomic_store_release(&end_window_armed, k % 20 == 19 ? 1U : 0U);
		kill(pid, SIGKILL);
		{
			int code = exit_code(pid);

			/* Killed: an exit of 1 is a page that failed its check before the kill. */
			CHECK_EQ(code, 128 + SIGKILL);
			killed += code == 128 + SIGKILL;
		}
		if (k % 20 == 19) {
			CHECK_EQ(wait_children_released(p), 0U);
			/* Released: its counts are gone, nothing moves under the checker. */
			CHECK_EQ(refs_not_in_tables(p), 0L);
			CHECK_EQ(pager_check(p), 0);
			checks++;
		}
	}
	if (held)
		race_set_hook(NULL, NULL);
	CHECK_EQ(wait_children_released(p), 0U);
	for (unsigned long i = 0; i < NPAGES; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, FORK_OWNER, version[i]));
	uswap_pager_reclaim(p, NPAGES * PAGE_SIZE);
	uswap_pager_sync(p);
	CHECK_EQ(refs_not_in_tables(p), 0L);
	CHECK_EQ(pager_check(p), 0);
	printf("# %u children killed; checker run %u times between deaths; "
	       "end of a child held %lu times%s\n",
	       killed, checks + 1, atomic_load_relaxed(&end_window_hits),
	       held ? "" : " (no race points in this build)");
	free(version);
	munmap(b, NPAGES * PAGE_SIZE);
	uswap_pager_close(p);
}

TEST(children_killed_mid_paging)
{
	killed_mid_paging(false);
}

TEST(children_killed_mid_eviction)
{
	killed_mid_paging(true);
}

/* ---- without EVENT_FORK (no CAP_SYS_PTRACE): everything in first, the child unpaged ---- */

TEST(fallback_without_event_fork)
{
	struct uswap_pager_config cfg = {.budget_bytes = BUDGET, .device_bytes = 256 * MiB};
	struct uswap_pager *p = NULL;
	pid_t pid;
	char *b;

	/* What a process without CAP_SYS_PTRACE gets (the variable forces it). */
	setenv("USWAP_NO_EVENT_FORK", "1", 1);
	if (uswap_pager_open(&p, &cfg, NULL, 0)) {
		unsetenv("USWAP_NO_EVENT_FORK");
		test_skip("no full-mode userfaultfd");
		return;
	}
	unsetenv("USWAP_NO_EVENT_FORK");
	CHECK(!pager_fork_enabled(p));
	b = fill_and_evict(p, 11);
	REQUIRE(b);
	CHECK(pager_nr_swapents(p) > (long)NPAGES / 2);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid)
		_exit(bad_pages(b, 11) ? 1 : 0);
	CHECK_EQ(exit_code(pid), 0);
	CHECK_EQ(pager_fork_nr_children(p), 0U);
	CHECK_EQ(bad_pages(b, 11), 0UL);
	CHECK_EQ(pager_check(p), 0);
	munmap(b, NPAGES * PAGE_SIZE);
	uswap_pager_close(p);
}
