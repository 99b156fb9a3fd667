// SPDX-License-Identifier: MIT
/*
 * pickup.c - a program for `uswap run` that takes its memory the ways glibc
 * maps it without calling mmap() through the PLT, and touches each piece at
 * once, as fast as it can: the agent must page that memory before (or right
 * as) it is touched for the program's RssAnon to stay near the budget.
 *
 * In order, a quarter of -m each:
 *   1. one mmap() (through the PLT: registered by the interposed call), to
 *      fill the budget first, so that what follows has no room left;
 *   2. one sbrk() growth of the brk heap;
 *   3. from a second thread, small malloc() blocks: that thread's arena,
 *      a PROT_NONE reservation that malloc makes writable with mprotect();
 *   4. large malloc() blocks (glibc maps them with its internal mmap).
 * Every page gets a signature (address, piece) as soon as it is mapped;
 * at the end every page is checked. Prints one line and exits 0 only if
 * every page held what was written.
 *
 * With -r N instead: N times, a private anonymous mapping made without the
 * PLT (as glibc makes one), touched, unmapped and replaced at once at the
 * same address by a shared anonymous mapping (MAP_FIXED), which gets a
 * signature; then none of those shared mappings may be registered with
 * the agent's userfaultfd (smaps VmFlags "um"), and all hold their data.
 * The agent sees the first mapping and may register its range just after
 * the program replaced it: it must never leave the shared one registered.
 *
 * With -n instead: a private anonymous mapping made without the PLT right
 * above a file's mapping (which the agent leaves alone, as it does a
 * library's .bss), then another one elsewhere: the agent's pickup thread
 * must register the second one (smaps VmFlags "um") within half a second,
 * before the agent's periodic rescan of its maps would.
 *
 * With -f instead: a private anonymous mapping made without the PLT, once
 * the agent registered it, replaced by another one with MAP_FIXED: the new
 * one must be registered within half a second too.
 *
 * With -p N instead: N times, one page of a private anonymous mapping
 * made read-only and writable again with mprotect() (as a JIT or a
 * garbage collector does); the agent should not register the mapping
 * again at each change (its --stats tell).
 *
 * Usage: pickup [-m MiB] [-w MiB] [-v] | pickup -r N | pickup -n | pickup -f | pickup -p N
 *   -m  MiB of data in all (default 64)
 *   -w  before the check, wait until the process's RssAnon (the kernel's
 *       figure) is at most this many MiB, for up to a minute, and fail if it
 *       never is: the agent's rescan alone must page all of it eventually
 *   -v  print RssAnon after each piece (stderr)
 *   -r  replace N mappings as said above, and nothing else
 *   -n  the two mappings after a file's, as said above, and nothing else
 *   -f  the mapping replaced with MAP_FIXED, as said above, and nothing else
 *   -p  N mprotect() pairs, as said above, and nothing else
 *
 * Owns: everything. Locking: the second thread writes only its own blocks,
 * and the main thread reads them after joining it.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "proc_status.h"

#define PAGE	   4096UL
#define MAGIC	   0x5049434b55503031ULL /* "PICKUP01" */
#define SMALL	   (32UL << 10)		 /* below malloc's mmap threshold: the arena */
#define LARGE	   (4UL << 20)		 /* above it: glibc's own mmap */
#define MAX_BLOCKS 65536
#define NR_PIECES  4
#define MAX_MIB	   1024

struct block {
	char *p;
	size_t len;
	unsigned piece;
};

static struct block blocks[MAX_BLOCKS];
static unsigned nr_blocks;
static size_t piece_bytes;

static uint64_t sig(const char *page, unsigned piece, unsigned word)
{
	return (MAGIC ^ (uint64_t)(uintptr_t)page ^ ((uint64_t)piece << 56)) + word;
}

/* Write the signature into every page of [p, p + len), page by page. */
static void fill(char *p, size_t len, unsigned piece)
{
	for (size_t off = 0; off + PAGE <= len; off += PAGE) {
		uint64_t *w = (uint64_t *)(p + off);

		for (unsigned i = 0; i < PAGE / 8; i++)
			w[i] = sig(p + off, piece, i);
	}
}

/* Return: the number of pages of [p, p + len) that do not hold their signature. */
static size_t check(const char *p, size_t len, unsigned piece)
{
	size_t bad = 0;

	for (size_t off = 0; off + PAGE <= len; off += PAGE) {
		const uint64_t *w = (const uint64_t *)(p + off);

		for (unsigned i = 0; i < PAGE / 8; i++) {
			if (w[i] != sig(p + off, piece, i)) {
				bad++;
				break;
			}
		}
	}
	return bad;
}

static void report(bool verbose, const char *what)
{
	if (verbose)
		fprintf(stderr, "pickup: after %s: RssAnon %ld MiB\n", what,
			proc_rss_anon_kb(0) >> 10);
}

/* Wait until RssAnon <= @mib MiB, a minute at most. Return: 0 or -1 (never). */
static int wait_rss(unsigned long mib)
{
	struct timespec pause = {0, 10 * 1000 * 1000};
	long kib = proc_rss_anon_kb(0);

	for (unsigned i = 0; i < 6000 && (kib < 0 || (unsigned long)kib > mib << 10); i++) {
		nanosleep(&pause, NULL);
		kib = proc_rss_anon_kb(0);
	}
	if (kib >= 0 && (unsigned long)kib <= mib << 10)
		return 0;
	fprintf(stderr, "pickup: RssAnon still %ld MiB after a minute, not <= %lu MiB\n", kib >> 10,
		mib);
	return -1;
}

static int add_block(char *p, size_t len, unsigned piece)
{
	if (nr_blocks == MAX_BLOCKS) {
		fprintf(stderr, "pickup: too many blocks\n");
		return -1;
	}
	blocks[nr_blocks++] = (struct block){p, len, piece};
	fill(p, len, piece);
	return 0;
}

/* Piece 3: small blocks, from this thread's own malloc arena. */
static void *arena_thread(void *arg)
{
	for (size_t done = 0; done < piece_bytes; done += SMALL) {
		/* Page-aligned data inside the block: fill whole pages only. */
		char *b = malloc(SMALL + PAGE);

		if (!b || add_block((char *)(((uintptr_t)b + PAGE - 1) & ~(PAGE - 1)), SMALL, 2))
			return (void *)1;
	}
	return arg;
}

/* Spin @ns nanoseconds (a sleep would be far longer). */
static void spin_ns(long ns)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec < ns);
}

/*
 * Return: how many VMAs starting in [lo, hi) that are shared are
 * registered with a userfaultfd (smaps VmFlags "um" or "uw"), or -1.
 */
static long registered_shared(unsigned long lo, unsigned long hi)
{
	char line[512];
	bool shared = false;
	long n = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3)
			shared = s >= lo && s < hi && perms[3] == 's';
		else if (shared && !strncmp(line, "VmFlags:", 8) &&
			 (strstr(line, " um") || strstr(line, " uw")))
			n++;
	}
	fclose(f);
	return n;
}

/* Return: whether the VMA at @addr is registered with a userfaultfd, or -1. */
static int registered(unsigned long addr)
{
	char line[512];
	bool at = false;
	int reg = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, ' ') < line + 40)
			at = s <= addr && addr < e;
		else if (at && !strncmp(line, "VmFlags:", 8))
			reg = strstr(line, " um") != NULL;
	}
	fclose(f);
	return reg;
}

/* -n: see the top of the file. Return: 0 if the second mapping was registered. */
static int after_file(void)
{
	char path[] = "/tmp/pickup.XXXXXX", *base, *a, *b;
	struct timespec pause = {0, 10 * 1000 * 1000};
	int fd = mkstemp(path), reg = 0;
	unsigned i;

	if (fd < 0 || unlink(path) || ftruncate(fd, 16 * PAGE))
		return perror("pickup: file"), 1;
	base = mmap(NULL, 8UL << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED || munmap(base, 8UL << 20))
		return perror("pickup: mmap"), 1;
	if (mmap(base, 16 * PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd, 0) != base)
		return perror("pickup: mmap file"), 1;
	a = (char *)syscall(SYS_mmap, base + 16 * PAGE, 16 * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (a != base + 16 * PAGE)
		return perror("pickup: mmap after the file"), 1;
	nanosleep(&pause, NULL);
	b = (char *)syscall(SYS_mmap, base + (4UL << 20), 64 * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (b != base + (4UL << 20))
		return perror("pickup: mmap elsewhere"), 1;
	for (i = 0; i < 50 && (reg = registered((unsigned long)b)) == 0; i++)
		nanosleep(&pause, NULL);
	printf("pickup: %s: the mapping made after one above a file %s\n",
	       reg == 1 ? "OK" : "FAILED",
	       reg == 1 ? "was registered" : "was not registered within half a second");
	return reg == 1 ? 0 : 1;
}

/* Wait up to half a second for the VMA at @a to be registered. Return: whether it is. */
static bool wait_registered(const char *a)
{
	struct timespec pause = {0, 10 * 1000 * 1000};
	int reg = 0;

	for (unsigned i = 0; i < 50 && (reg = registered((unsigned long)a)) == 0; i++)
		nanosleep(&pause, NULL);
	return reg == 1;
}

/* -f: see the top of the file. Return: 0 if both mappings were registered. */
static int fixed_over(void)
{
	const size_t len = 64 * PAGE;
	char *a = (char *)syscall(SYS_mmap, NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	bool first, second;

	if (a == MAP_FAILED)
		return perror("pickup: mmap"), 1;
	first = wait_registered(a);
	if ((char *)syscall(SYS_mmap, a, len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a)
		return perror("pickup: mmap MAP_FIXED"), 1;
	second = wait_registered(a);
	fill(a, len, 5);
	printf("pickup: %s: a mapping %s, the one that replaced it with MAP_FIXED %s\n",
	       first && second && !check(a, len, 5) ? "OK" : "FAILED",
	       first ? "was registered" : "was not registered within half a second",
	       second ? "too" : "was not within half a second");
	return first && second ? 0 : 1;
}

/* -p: see the top of the file. Return: 0. */
static int mprotect_pairs(unsigned long n)
{
	char *a = (char *)syscall(SYS_mmap, NULL, 256 * PAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (a == MAP_FAILED)
		return perror("pickup: mmap"), 1;
	fill(a, 256 * PAGE, 6);
	for (unsigned long i = 0; i < n; i++) {
		if (mprotect(a, PAGE, PROT_READ) || mprotect(a, PAGE, PROT_READ | PROT_WRITE))
			return perror("pickup: mprotect"), 1;
	}
	if (check(a, 256 * PAGE, 6))
		return printf("pickup: FAILED: data lost across %lu mprotect() pairs\n", n), 1;
	printf("pickup: OK: %lu mprotect() pairs\n", n);
	return 0;
}

#define REPLACE_LEN (256UL << 10)

/* -r: @n private mappings replaced by shared ones. Return: 0 if all went right. */
static int replace(unsigned n)
{
	/* Room for all of them, reserved and given back: addresses nobody uses. */
	char *base = mmap(NULL, (size_t)n * 2 * REPLACE_LEN, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct timespec settle = {0, 200 * 1000 * 1000};
	size_t bad = 0;
	long reg;

	if (base == MAP_FAILED || munmap(base, (size_t)n * 2 * REPLACE_LEN))
		return perror("pickup: mmap"), 1;
	srand(1);
	for (unsigned i = 0; i < n; i++) {
		char *a = base + (size_t)i * 2 * REPLACE_LEN, *p;

		/* glibc's own mmap: no PLT, the agent's pickup thread sees it. */
		p = (char *)syscall(SYS_mmap, a, REPLACE_LEN, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p != a)
			return perror("pickup: mmap private"), 1;
		p[0] = 1;
		spin_ns(rand() % 500000);
		p = mmap(a, REPLACE_LEN, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p != a)
			return perror("pickup: mmap shared"), 1;
		fill(p, REPLACE_LEN, 4);
	}
	/* What the agent's threads were doing about the first mappings is over. */
	nanosleep(&settle, NULL);
	for (unsigned i = 0; i < n; i++)
		bad += check(base + (size_t)i * 2 * REPLACE_LEN, REPLACE_LEN, 4);
	reg = registered_shared((unsigned long)base,
				(unsigned long)base + (size_t)n * 2 * REPLACE_LEN);
	printf("pickup: %s: %u private mappings replaced by shared ones, %ld of those registered, "
	       "%zu bad pages\n",
	       bad || reg ? "FAILED" : "OK", n, reg, bad);
	return bad || reg ? 1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long mib = 64, wait_mib = 0;
	size_t bad = 0, pages = 0;
	bool verbose = false;
	pthread_t t;
	void *ret;
	char *p;
	int opt;

	while ((opt = getopt(argc, argv, "m:w:vr:nfp:")) != -1) {
		if (opt == 'n') {
			return after_file();
		} else if (opt == 'f') {
			return fixed_over();
		} else if (opt == 'p') {
			return mprotect_pairs(strtoul(optarg, NULL, 10));
		} else if (opt == 'r') {
			return replace((unsigned)strtoul(optarg, NULL, 10));
		} else if (opt == 'm') {
			mib = strtoul(optarg, NULL, 10);
		} else if (opt == 'w') {
			wait_mib = strtoul(optarg, NULL, 10);
		} else if (opt == 'v') {
			verbose = true;
		} else {
			fprintf(stderr, "usage: pickup [-m MiB] [-w MiB] [-v] | pickup -r N | "
					"pickup -n | pickup -f | "
					"pickup -p N\n");
			return 2;
		}
	}
	if (mib < 4 || mib > MAX_MIB) {
		fprintf(stderr, "pickup: -m between 4 and %d\n", MAX_MIB);
		return 2;
	}
	piece_bytes = (mib << 20) / NR_PIECES;

	/* 1: mmap through the PLT. */
	p = mmap(NULL, piece_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || add_block(p, piece_bytes, 0))
		return perror("pickup: mmap"), 1;
	report(verbose, "mmap");

	/* 2: the brk heap, grown in one step (before any other thread runs). */
	p = sbrk(0);
	p = (char *)(((uintptr_t)p + PAGE - 1) & ~(PAGE - 1));
	if (brk(p + piece_bytes) || add_block(p, piece_bytes, 1))
		return perror("pickup: brk"), 1;
	report(verbose, "brk");

	/* 3: a thread arena. */
	if (pthread_create(&t, NULL, arena_thread, NULL) || pthread_join(t, &ret) || ret)
		return fprintf(stderr, "pickup: arena thread failed\n"), 1;
	report(verbose, "thread arena");

	/* 4: large blocks: glibc's mmap. */
	for (size_t done = 0; done < piece_bytes; done += LARGE) {
		char *b = malloc(LARGE + PAGE);

		if (!b || add_block((char *)(((uintptr_t)b + PAGE - 1) & ~(PAGE - 1)), LARGE, 3))
			return fprintf(stderr, "pickup: malloc failed\n"), 1;
	}
	report(verbose, "large blocks");
	if (wait_mib && wait_rss(wait_mib))
		return 1;

	for (unsigned i = 0; i < nr_blocks; i++) {
		bad += check(blocks[i].p, blocks[i].len, blocks[i].piece);
		pages += blocks[i].len / PAGE;
	}
	printf("pickup: %s: %zu pages (%lu MiB: mmap, brk, thread arena, large blocks), %zu bad\n",
	       bad ? "FAILED" : "OK", pages, mib, bad);
	return bad ? 1 : 0;
}
