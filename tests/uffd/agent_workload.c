// SPDX-License-Identifier: MIT
/*
 * agent_workload.c - a program run under the paging agent by test_agent:
 * several threads allocate through malloc (small and large), mmap and sbrk,
 * write page signatures (owner, address, version), read them back in random
 * order, rewrite them, and check them all; then a forked child checks every
 * byte too. Prints its peak RssAnon while the threads ran (memory glibc maps
 * without the PLT is registered at the agent's next scan: not paged until
 * then) and RssAnon after a last full pass, and exits 0 only if nothing was
 * lost.
 *
 * Usage: agent_workload MIB [THREADS]
 *
 * Owns: nothing. Locking: each thread owns its memory.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "page_sig.h"
#include "proc_status.h"

#define PAGE 4096UL

struct area {
	char *base;
	unsigned long pages;
};

struct worker {
	unsigned id;
	unsigned long pages; /* to allocate */
	struct area areas[64];
	unsigned nr_areas;
	unsigned long bad;
};

static unsigned long peak_rss_kb, end_rss_kb;
static pthread_mutex_t peak_lock = PTHREAD_MUTEX_INITIALIZER;

static void note_rss(void)
{
	long kb = proc_rss_anon_kb(0);

	if (kb < 0)
		return;
	pthread_mutex_lock(&peak_lock);
	if ((unsigned long)kb > peak_rss_kb)
		peak_rss_kb = (unsigned long)kb;
	pthread_mutex_unlock(&peak_lock);
}

static char *page_align(char *p)
{
	return (char *)(((uintptr_t)p + PAGE - 1) & ~(PAGE - 1));
}

/* Allocate @pages pages in pieces of every kind. */
static void allocate(struct worker *w)
{
	unsigned long left = w->pages, chunk = w->pages / 8 ? w->pages / 8 : 1;

	while (left && w->nr_areas < 64) {
		unsigned long n = chunk < left ? chunk : left;
		char *p;

		switch (w->nr_areas % 4) {
		case 0: /* large malloc: its own mmap */
		case 1: /* malloc in many small pieces is not page sized: one block */
			p = malloc((n + 1) * PAGE);
			p = p ? page_align(p) : NULL;
			break;
		case 2:
			p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				p = NULL;
			break;
		default: /* the brk heap (thread 0 only: sbrk is not thread safe) */
			if (w->id == 0) {
				p = sbrk((intptr_t)((n + 1) * PAGE));
				p = p == (void *)-1 ? NULL : page_align(p);
			} else {
				p = malloc((n + 1) * PAGE);
				p = p ? page_align(p) : NULL;
			}
			break;
		}
		if (!p) {
			fprintf(stderr, "allocation failed\n");
			exit(3);
		}
		w->areas[w->nr_areas++] = (struct area){p, n};
		left -= n;
	}
}

static void for_pages(struct worker *w, void (*fn)(struct worker *w, char *pg, uint64_t v),
		      uint64_t v)
{
	for (unsigned a = 0; a < w->nr_areas; a++)
		for (unsigned long i = 0; i < w->areas[a].pages; i++)
			fn(w, w->areas[a].base + i * PAGE, v);
}

static void do_write(struct worker *w, char *pg, uint64_t v)
{
	sig_write(pg, w->id, v);
}

static void do_check(struct worker *w, char *pg, uint64_t v)
{
	if (!sig_check(pg, w->id, v))
		w->bad++;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t rnd = 88172645463325252ULL ^ w->id;

	allocate(w);
	for_pages(w, do_write, 1);
	note_rss();
	/* Random reads. */
	for (unsigned long k = 0; k < w->pages; k++) {
		struct area *a;

		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		a = &w->areas[rnd % w->nr_areas];
		if (!sig_check(a->base + ((rnd >> 8) % a->pages) * PAGE, w->id, 1))
			w->bad++;
	}
	for_pages(w, do_write, 2);
	note_rss();
	for_pages(w, do_check, 2);
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	unsigned nr = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 3;
	struct worker *w = calloc(nr, sizeof(*w));
	pthread_t *t = calloc(nr, sizeof(*t));
	unsigned long bad = 0;
	int status;
	pid_t pid;

	if (!w || !t || !nr)
		return 3;
	for (unsigned i = 0; i < nr; i++) {
		w[i].id = i;
		w[i].pages = mib * 256 / nr;
		if (pthread_create(&t[i], NULL, worker_main, &w[i]))
			return 3;
	}
	for (unsigned i = 0; i < nr; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].bad;
	}
	/* Once every thread is done: everything allocated is registered by now. */
	for (unsigned i = 0; i < nr; i++) {
		w[i].bad = 0;
		for_pages(&w[i], do_check, 2);
		bad += w[i].bad;
	}
	/* A moment for the agent's threads to catch up (scan, reclaim). */
	usleep(300000);
	end_rss_kb = (unsigned long)proc_rss_anon_kb(0);
	/* A child sees every byte the parent had, swapped or not. */
	pid = fork();
	if (pid == 0) {
		unsigned long cbad = 0;

		for (unsigned i = 0; i < nr; i++) {
			w[i].bad = 0;
			for_pages(&w[i], do_check, 2);
			cbad += w[i].bad;
		}
		_exit(cbad ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "the forked child saw wrong data\n");
		return 2;
	}
	printf("peak_rss_anon_kb %lu end_rss_anon_kb %lu bad %lu\n", peak_rss_kb, end_rss_kb, bad);
	return bad ? 1 : 0;
}
