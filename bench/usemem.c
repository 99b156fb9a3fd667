// SPDX-License-Identifier: MIT
/*
 * usemem.c - uswap-usemem, the usemem workload of `uswap bench compare` as a
 * program of its own (the shape of vm-scalability's usemem): map SIZE bytes
 * of anonymous memory, then four passes over its pages, each timed:
 *
 *   seq_write   write every page in address order
 *   seq_read    read every page back in address order and check it
 *   rand_write  write every page again (new contents) in a random order
 *   rand_read   read every page back in another random order and check it
 *
 * and print one line of figures on stdout:
 *
 *   usemem size=BYTES pages=N seq_write=MB/s seq_read=MB/s rand_write=MB/s
 *          rand_read=MB/s mismatches=N seconds=S
 *
 * (MB = 10^6 bytes). Exit status 0, 1 when a page read back different from
 * what was written (the count is in mismatches) or memory could not be
 * mapped, 2 for a usage error.
 *
 * It is a plain libc program on purpose, linked with nothing of uswap: it
 * is what runs under the kernel's swap and under `uswap run` alike. Page
 * contents are a header naming the page and its version followed by words
 * from a small vocabulary, so that they compress about as well as typical
 * program memory.
 *
 * Owns: everything it maps. Locking: none (one thread).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096u

static const char words[16][8] = {
	"malloc  ", "buffer  ", "request ", "session ", "value   ", "object  ",
	"index   ", "string  ", "counter ", "record  ", "entry   ", "handle  ",
	"socket  ", "thread  ", "queue   ", "cache   ",
};

static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The contents of page @idx at @version. */
static void fill_page(uint64_t *w, uint64_t idx, uint64_t version)
{
	uint64_t s = idx * 0x9e3779b97f4a7c15ULL ^ version * 0xc2b2ae3d27d4eb4fULL;

	w[0] = idx;
	w[1] = version;
	for (unsigned i = 2; i < PAGE / 8; i += 16) {
		uint64_t r = next_rand(&s);

		for (unsigned k = i; k < i + 16 && k < PAGE / 8; k++, r >>= 4)
			memcpy(&w[k], words[r & 15], 8);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		shift = 20;
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	default:
		break;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* A random permutation of 0..n-1 (Fisher-Yates). */
static uint32_t *permutation(uint64_t n, uint64_t seed)
{
	uint32_t *p = malloc(n * sizeof(*p));

	if (!p)
		return NULL;
	for (uint64_t i = 0; i < n; i++)
		p[i] = (uint32_t)i;
	for (uint64_t i = n - 1; i > 0; i--) {
		uint64_t j = (uint64_t)(((unsigned __int128)next_rand(&seed) * (i + 1)) >> 64);
		uint32_t t = p[i];

		p[i] = p[j];
		p[j] = t;
	}
	return p;
}

int main(int argc, char **argv)
{
	uint64_t size, pages, mismatches = 0;
	uint64_t want[PAGE / 8];
	double t, mbps[4], start = now();
	uint32_t *order;
	char *mem;

	if (argc != 2 || parse_size(argv[1], &size) || size < PAGE || size / PAGE > UINT32_MAX) {
		fprintf(stderr, "Usage: uswap-usemem SIZE   (bytes, K/M/G suffix, at least 4K)\n");
		return 2;
	}
	pages = size / PAGE;
	mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		fprintf(stderr, "uswap-usemem: cannot map %" PRIu64 " bytes: %s\n", size,
			strerror(errno));
		return 1;
	}

	t = now();
	for (uint64_t i = 0; i < pages; i++)
		fill_page((uint64_t *)(mem + i * PAGE), i, 1);
	mbps[0] = (double)(pages * PAGE) / (now() - t) / 1e6;

	t = now();
	for (uint64_t i = 0; i < pages; i++) {
		fill_page(want, i, 1);
		mismatches += memcmp(mem + i * PAGE, want, PAGE) != 0;
	}
	mbps[1] = (double)(pages * PAGE) / (now() - t) / 1e6;

	order = permutation(pages, 1);
	if (!order) {
		fprintf(stderr, "uswap-usemem: out of memory for the page order\n");
		return 1;
	}
	t = now();
	for (uint64_t i = 0; i < pages; i++)
		fill_page((uint64_t *)(mem + (uint64_t)order[i] * PAGE), order[i], 2);
	mbps[2] = (double)(pages * PAGE) / (now() - t) / 1e6;
	free(order);

	order = permutation(pages, 2);
	if (!order) {
		fprintf(stderr, "uswap-usemem: out of memory for the page order\n");
		return 1;
	}
	t = now();
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t p = order[i];

		fill_page(want, p, 2);
		mismatches += memcmp(mem + p * PAGE, want, PAGE) != 0;
	}
	mbps[3] = (double)(pages * PAGE) / (now() - t) / 1e6;
	free(order);

	printf("usemem size=%" PRIu64 " pages=%" PRIu64 " seq_write=%.1f seq_read=%.1f "
	       "rand_write=%.1f rand_read=%.1f mismatches=%" PRIu64 " seconds=%.3f\n",
	       pages * PAGE, pages, mbps[0], mbps[1], mbps[2], mbps[3], mismatches, now() - start);
	if (mismatches)
		fprintf(stderr, "uswap-usemem: %" PRIu64 " pages read back wrong\n", mismatches);
	munmap(mem, pages * PAGE);
	return mismatches ? 1 : 0;
}
