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

static struct uswap_run_status *st;

static void set_counter(const char *name, uint64_t value)
{
	unsigned i = st->nr_counters;

	strncpy(st->counters[i].name, name, USWAP_RUN_NAME_LEN - 1);
	__atomic_store_n(&st->counters[i].value, value, __ATOMIC_RELAXED);
	__atomic_store_n(&st->nr_counters, i + 1, __ATOMIC_RELEASE);
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
	pid = __atomic_load_n(&st->pid, __ATOMIC_RELAXED);
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
	__atomic_store_n(&st->pid, (int32_t)getpid(), __ATOMIC_RELAXED);
	if (fail) {
		strncpy(st->message, fail, sizeof(st->message) - 1);
		__atomic_store_n(&st->state, USWAP_RUN_FAILED, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&st->budget_bytes, budget ? strtoull(budget, NULL, 10) : 0,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&st->resident_bytes, 1 << 20, __ATOMIC_RELAXED);
	__atomic_store_n(&st->resident_peak_bytes, 2 << 20, __ATOMIC_RELAXED);
	__atomic_store_n(&st->swapped_bytes, 3 << 20, __ATOMIC_RELAXED);
	__atomic_store_n(&st->compr_bytes, 1 << 20, __ATOMIC_RELAXED);
	__atomic_store_n(&st->faults, 42, __ATOMIC_RELAXED);
	set_counter("pswpout", 7);
	set_counter("pswpin", 5);
	set_counter("env_ok", (uint64_t)env_ok);
	__atomic_store_n(&st->swapin_lat[3], 50, __ATOMIC_RELAXED);
	__atomic_store_n(&st->swapin_lat[8], 49, __ATOMIC_RELAXED);
	__atomic_store_n(&st->swapin_lat[USWAP_RUN_LAT_LINEAR + 1], 1, __ATOMIC_RELAXED);
	__atomic_store_n(&st->state, USWAP_RUN_READY, __ATOMIC_RELEASE);
}

__attribute__((destructor)) static void test_agent_exit(void)
{
	if (!st || __atomic_load_n(&st->state, __ATOMIC_RELAXED) != USWAP_RUN_READY)
		return;
	__atomic_store_n(&st->swapped_bytes, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&st->compr_bytes, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&st->state, USWAP_RUN_EXITED, __ATOMIC_RELEASE);
}
