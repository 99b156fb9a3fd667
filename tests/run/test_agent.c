// SPDX-License-Identifier: MIT
/*
 * test_agent.c - a stand-in for the paging agent, for testing `uswap run`
 * itself (tests/run/test_run_cli.sh): it pages nothing. Loaded with
 * USWAP_AGENT=<this library>, it checks what `uswap run` handed it (the
 * status page's magic, version, size and mode; the USWAP_RUN_* variables;
 * LD_PRELOAD naming it first) and publishes known figures, so the test can
 * compare --stats with them:
 *   state READY, pid, budget_bytes = USWAP_RUN_BUDGET, resident_bytes 1 MiB,
 *   swapped_bytes 3 MiB, compr_bytes 1 MiB, faults 42, counters
 *   pswpout = 7, pswpin = 5, env_ok = 1 if everything was as promised;
 *   a latency histogram of 50 samples at 3 us, 49 at 8 us, 1 at 512 us.
 * With USWAP_TEST_AGENT_TREE=1 it also publishes a process tree: 2
 * processes of 3 forks (2 exited), sums faults 100, swap-ins 60, swap-outs 7,
 * shared hits 11, shared reads 13; the root (its pid, live) faults 40,
 * swap-ins 20, swap-outs 7, hits 4, reads 5; a live child pid 4242 with
 * faults 30, swap-ins 25, hits 6, reads 6; counter fork_child_swapouts 9
 * (the children's swap-outs, which are not the sums less the root's).
 * At exit it sets EXITED. With USWAP_TEST_AGENT_FAIL=MESSAGE it publishes
 * FAILED and MESSAGE instead and lets the program go on, so `uswap run`
 * must stop it. USWAP_TEST_AGENT_LOG=FILE gets one line of what it found.
 *
 * Owns: its mapping of the status page. Locking: none (constructor and
 * destructor run single-threaded in the tests' programs).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uffd/run_status.h"
#include "base/atomic.h"

static struct uswap_run_status *st;

static void set_counter(const char *name, uint64_t value)
{
	unsigned i = st->nr_counters;

	strncpy(st->counters[i].name, name, USWAP_RUN_NAME_LEN - 1);
	atomic_store_relaxed(&st->counters[i].value, value);
	atomic_store_release(&st->nr_counters, i + 1);
}

static void set_proc(unsigned i, int32_t pid, uint64_t faults, uint64_t swapins, uint64_t swapouts,
		     uint64_t hits, uint64_t reads)
{
	struct uswap_run_proc *p = &st->procs[i];

	atomic_store_relaxed(&p->pid, pid);
	atomic_store_relaxed(&p->live, 1U);
	atomic_store_relaxed(&p->faults, faults);
	atomic_store_relaxed(&p->swapins, swapins);
	atomic_store_relaxed(&p->swapouts, swapouts);
	atomic_store_relaxed(&p->shared_hits, hits);
	atomic_store_relaxed(&p->shared_reads, reads);
}

static void publish_tree(void)
{
	atomic_store_relaxed(&st->tree_processes, 2);
	atomic_store_relaxed(&st->tree_forks, 3);
	atomic_store_relaxed(&st->tree_exited, 2);
	atomic_store_relaxed(&st->tree_faults, 100);
	atomic_store_relaxed(&st->tree_swapins, 60);
	atomic_store_relaxed(&st->tree_swapouts, 7);
	atomic_store_relaxed(&st->tree_shared_hits, 11);
	atomic_store_relaxed(&st->tree_shared_reads, 13);
	set_proc(0, (int32_t)getpid(), 40, 20, 7, 4, 5);
	set_proc(1, 4242, 30, 25, 9, 6, 6);
	set_counter("fork_child_swapouts", 9);
	atomic_store_relaxed(&st->nr_procs, 2U);
}

__attribute__((constructor)) static void test_agent_init(void)
{
	const char *path = getenv("USWAP_RUN_STATUS"), *fail = getenv("USWAP_TEST_AGENT_FAIL");
	const char *budget = getenv("USWAP_RUN_BUDGET"), *dev = getenv("USWAP_RUN_DEVICE");
	const char *comp = getenv("USWAP_RUN_COMP"), *preload = getenv("LD_PRELOAD");
	const char *logpath = getenv("USWAP_TEST_AGENT_LOG");
	struct stat sb = {0};
	Dl_info info = {0};
	int fd, env_ok, pid;

	/* Only the program uswap started, not what it runs in turn. */
	if (!path || strncmp(path, "/dev/shm/", 9))
		return;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	fstat(fd, &sb);
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (st == MAP_FAILED || st->magic != USWAP_RUN_STATUS_MAGIC ||
	    st->version != USWAP_RUN_STATUS_VERSION) {
		st = NULL;
		return;
	}
	pid = atomic_load_relaxed(&st->pid);
	if (pid != 0 && pid != getpid()) {
		st = NULL; /* a child of the program: the page is taken */
		return;
	}
	/* The program (or what it exec'd: scripts, pyenv shims) starts over. */
	st->nr_counters = 0;
	dladdr((void *)test_agent_init, &info);
	env_ok = budget && dev && comp && preload && info.dli_fname &&
		 !strncmp(preload, info.dli_fname, strlen(info.dli_fname)) &&
		 (preload[strlen(info.dli_fname)] == '\0' ||
		  preload[strlen(info.dli_fname)] == ':') &&
		 (sb.st_mode & 0777) == 0600 && (size_t)sb.st_size == sizeof(*st);
	if (logpath) {
		FILE *f = fopen(logpath, "w");

		if (f) {
			fprintf(f,
				"status=%s mode=%o size=%lld budget=%s device=%s comp=%s "
				"preload=%s\n",
				path, (unsigned)(sb.st_mode & 0777), (long long)sb.st_size,
				budget ? budget : "-", dev ? dev : "-", comp ? comp : "-",
				preload ? preload : "-");
			fclose(f);
		}
	}
	atomic_store_relaxed(&st->pid, (int32_t)getpid());
	if (fail) {
		strncpy(st->message, fail, sizeof(st->message) - 1);
		atomic_store_release(&st->state, USWAP_RUN_FAILED);
		return;
	}
	atomic_store_relaxed(&st->budget_bytes, budget ? strtoull(budget, NULL, 10) : 0);
	atomic_store_relaxed(&st->resident_bytes, 1 << 20);
	atomic_store_relaxed(&st->resident_peak_bytes, 2 << 20);
	atomic_store_relaxed(&st->swapped_bytes, 3 << 20);
	atomic_store_relaxed(&st->compr_bytes, 1 << 20);
	atomic_store_relaxed(&st->faults, 42);
	set_counter("pswpout", 7);
	set_counter("pswpin", 5);
	set_counter("env_ok", (uint64_t)env_ok);
	atomic_store_relaxed(&st->swapin_lat[3], 50);
	atomic_store_relaxed(&st->swapin_lat[8], 49);
	atomic_store_relaxed(&st->swapin_lat[USWAP_RUN_LAT_LINEAR + 1], 1);
	if (getenv("USWAP_TEST_AGENT_TREE"))
		publish_tree();
	atomic_store_release(&st->state, USWAP_RUN_READY);
}

__attribute__((destructor)) static void test_agent_exit(void)
{
	if (!st || atomic_load_relaxed(&st->state) != USWAP_RUN_READY)
		return;
	atomic_store_relaxed(&st->swapped_bytes, 0);
	atomic_store_relaxed(&st->compr_bytes, 0);
	atomic_store_release(&st->state, USWAP_RUN_EXITED);
}
