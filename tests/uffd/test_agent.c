// SPDX-License-Identifier: MIT
/*
 * test_agent.c - the preloaded agent on a real program: agent_workload
 * (threads allocating through malloc, mmap and sbrk; page signatures; a
 * fork) runs with LD_PRELOAD and the run environment (run_status.h) under a
 * budget of a quarter of its data. The program must exit 0 (nothing lost,
 * the forked child saw every byte), and the status page must show it
 * paged: READY then EXITED, swap-outs and swap-ins, the peak within budget.
 * Refusals: a bad budget and an unusable status page stop the program
 * before main() with status 125.
 *
 * USWAP_AGENT and USWAP_WORKLOAD (set by meson) name the built files.
 *
 * Owns: nothing. Locking: none.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "uffd/run_status.h"

#define MiB (1UL << 20)

struct run {
	struct uswap_run_status *st;
	char path[64];
	int status; /* wait status */
	char out[4096];
};

/*
 * Sanitizer builds skip: a sanitizer runtime must come first in a program
 * (a preloaded instrumented agent cannot), and its shadow memory is
 * anonymous memory the agent would page under the sanitizer's feet. The
 * pager itself is tested under both (test_pager).
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

static bool have_uffd(void)
{
	if (SANITIZED)
		return false;
	return access("/dev/userfaultfd", R_OK | W_OK) == 0 || geteuid() == 0;
}

static uint64_t counter(struct uswap_run_status *st, const char *name)
{
	for (uint32_t i = 0; i < st->nr_counters; i++)
		if (!strcmp(st->counters[i].name, name))
			return st->counters[i].value;
	return UINT64_MAX;
}

/* Run the workload with @budget (a string) and @mib of data; fills @r. */
static int run_workload(struct run *r, const char *budget, const char *mib, const char *device)
{
	const char *agent = getenv("USWAP_AGENT"), *prog = getenv("USWAP_WORKLOAD");
	int fd, pipefd[2];
	ssize_t n, got = 0;
	pid_t pid;

	if (!agent || !prog)
		return -ENOENT;
	snprintf(r->path, sizeof(r->path), "/dev/shm/uswap-test-%d", getpid());
	fd = open(r->path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, sizeof(*r->st)))
		return -errno;
	r->st = mmap(NULL, sizeof(*r->st), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (r->st == MAP_FAILED)
		return -errno;
	r->st->magic = USWAP_RUN_STATUS_MAGIC;
	r->st->version = USWAP_RUN_STATUS_VERSION;
	if (pipe(pipefd))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		dup2(pipefd[1], STDOUT_FILENO);
		close(pipefd[0]);
		setenv("LD_PRELOAD", agent, 1);
		setenv("USWAP_RUN_BUDGET", budget, 1);
		setenv("USWAP_RUN_DEVICE", device, 1);
		setenv("USWAP_RUN_COMP", "lz4", 1);
		setenv("USWAP_RUN_STATUS", r->path, 1);
		execl(prog, prog, mib, "3", (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], r->out + got, sizeof(r->out) - 1 - (size_t)got)) > 0)
		got += n;
	r->out[got] = 0;
	close(pipefd[0]);
	waitpid(pid, &r->status, 0);
	return 0;
}

static void run_done(struct run *r)
{
	munmap(r->st, sizeof(*r->st));
	unlink(r->path);
}

TEST(workload_under_quarter_budget)
{
	struct run r;
	unsigned long peak_kb = 0, end_kb = 0, bad = 1;
	const unsigned long budget = 16 * MiB;
	char b[32];

	if (!have_uffd()) {
		test_skip(SANITIZED ? "sanitizer build" : "no full-mode userfaultfd");
		return;
	}
	snprintf(b, sizeof(b), "%lu", budget);
	REQUIRE_EQ(run_workload(&r, b, "64", "zram"), 0);
	CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
	CHECK_EQ(r.st->state, USWAP_RUN_EXITED);
	CHECK(sscanf(r.out, "peak_rss_anon_kb %lu end_rss_anon_kb %lu bad %lu", &peak_kb, &end_kb,
		     &bad) == 3);
	CHECK_EQ(bad, 0);
	CHECK(counter(r.st, "pswpout") > 0 && counter(r.st, "pswpout") != UINT64_MAX);
	CHECK(counter(r.st, "pswpin") > 0 && counter(r.st, "pswpin") != UINT64_MAX);
	/* (The charged peak includes the fork: every page is brought back for it.) */
	CHECK(r.st->resident_peak_bytes >= budget / 2);
	CHECK(r.st->faults > 0);
	CHECK_EQ(r.st->budget_bytes, budget);
	/* The forked child shares the engine (fork.c), unless forks are not paged here. */
	if (r.st->tree_forks) {
		CHECK_EQ(r.st->tree_forks, 1);
		CHECK(r.st->tree_swapins > 0);
		CHECK(r.st->tree_shared_reads + r.st->tree_shared_hits > 0);
		CHECK(r.st->nr_procs >= 1 && r.st->procs[0].swapins > 0);
		printf("# tree: forks %" PRIu64 ", swap-ins %" PRIu64 ", shared hits %" PRIu64
		       ", shared reads %" PRIu64 "\n",
		       (uint64_t)r.st->tree_forks, (uint64_t)r.st->tree_swapins,
		       (uint64_t)r.st->tree_shared_hits, (uint64_t)r.st->tree_shared_reads);
	}
	/*
	 * RssAnon as the kernel counts it, after a full pass over the data:
	 * the budget plus the documented slack. (The peak while the threads
	 * allocate also holds what was mapped since the last scan: printed.)
	 */
	CHECK(end_kb * 1024 <= budget + budget / 8 + 4 * MiB);
	printf("# charged peak %" PRIu64 " KiB\n", (uint64_t)r.st->resident_peak_bytes >> 10);
	printf("# RssAnon peak %lu KiB, after a full pass %lu KiB (budget %lu KiB), pswpout "
	       "%" PRIu64 ", pswpin %" PRIu64 ", faults %" PRIu64 "\n",
	       peak_kb, end_kb, budget >> 10, counter(r.st, "pswpout"), counter(r.st, "pswpin"),
	       (uint64_t)r.st->faults);
	run_done(&r);
}

TEST(refuses_bad_budget)
{
	struct run r;

	if (!have_uffd()) {
		test_skip(SANITIZED ? "sanitizer build" : "no full-mode userfaultfd");
		return;
	}
	REQUIRE_EQ(run_workload(&r, "1000", "1", "zram"), 0);
	CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 125);
	CHECK_EQ(r.st->state, USWAP_RUN_FAILED);
	CHECK(strstr(r.st->message, "budget") != NULL);
	CHECK(strstr(r.out, "peak_rss") == NULL);
	run_done(&r);
}

TEST(refuses_bad_device)
{
	struct run r;

	if (!have_uffd()) {
		test_skip(SANITIZED ? "sanitizer build" : "no full-mode userfaultfd");
		return;
	}
	REQUIRE_EQ(run_workload(&r, "16777216", "1", "file:/nonexistent/swap"), 0);
	CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 125);
	CHECK_EQ(r.st->state, USWAP_RUN_FAILED);
	CHECK(r.st->message[0] != 0);
	run_done(&r);
}
