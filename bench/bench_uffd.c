// SPDX-License-Identifier: MIT
/*
 * bench_uffd.c - the userfaultfd pager on this process's own memory, beside
 * references measured in the same run:
 *
 *   - swap-in fault round trip (random single pages: p50 / p99 in µs, timed
 *     around each access) and sequential swap-in per page (with pages per
 *     fault), against a native first-touch fault of an untouched page and
 *     raw LZ4 decompression of the same pages; the budget holds the data,
 *     so no eviction runs meanwhile (pages go out by explicit reclaim);
 *   - eviction per page (uswap_pager_reclaim) against raw LZ4 compression;
 *   - a usemem-like program at 2x overcommit (budget = half the data):
 *     sequential and random read and write throughput, against the same
 *     loops on unpaged memory.
 *
 *   bench_uffd [--json] [--mib N]
 *
 * Data is text-like (LZ4 compresses it 2-3x). A benchmark prints figures;
 * it asserts nothing. Needs a full-mode userfaultfd.
 *
 * Owns: its pager and buffers. Locking: single-threaded (the pager has its
 * own threads).
 */
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "uffd/pager.h"

static unsigned long mib = 64;
static volatile uint64_t sink;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Text-like contents: words and numbers, different on every page. */
static void fill_page(char *p, unsigned long n)
{
	static const char *const w[] = {"swap ",    "cache ", "folio ", "fault ", "page ",
					"reclaim ", "zram ",  "the ",	"slot ",  "table "};
	uint64_t s = n * 0x9e3779b97f4a7c15ULL + 1;
	size_t off = 0;

	while (off < PAGE_SIZE - 32) {
		off += (size_t)snprintf(p + off, 32, "%s%lu ", w[rnd(&s) % 10],
					(unsigned long)(rnd(&s) % 100000));
	}
	memset(p + off, '\n', PAGE_SIZE - off);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct results {
	double first_touch_us, uffd_first_touch_us, lz4_dec_us, lz4_comp_us;
	double swapin_p50_us, swapin_p99_us, seq_swapin_us, seq_pages_per_fault;
	double evict_us;
	double native_seq_mbs, native_rand_mbs, seq_read_mbs, seq_write_mbs, rand_read_mbs,
		rand_write_mbs;
	double ratio;
};

static struct uswap_pager *open_pager(size_t budget)
{
	struct uswap_pager_config cfg = {.budget_bytes = budget};
	struct uswap_pager *p;
	char err[512];

	if (uswap_pager_open(&p, &cfg, err, sizeof(err))) {
		fprintf(stderr, "bench_uffd: %s\n", err);
		exit(77);
	}
	return p;
}

static void measure_raw(struct results *r, char *data, unsigned long pages)
{
	char *comp = malloc(LZ4_compressBound(PAGE_SIZE)), out[PAGE_SIZE];
	unsigned long n = min(pages, 4096UL);
	double t, total = 0;
	size_t csize = 0;
	int len;

	t = now_us();
	for (unsigned long i = 0; i < n; i++) {
		len = LZ4_compress_default(data + i * PAGE_SIZE, comp, PAGE_SIZE,
					   LZ4_compressBound(PAGE_SIZE));
		csize += (size_t)len;
	}
	r->lz4_comp_us = (now_us() - t) / (double)n;
	r->ratio = (double)(n * PAGE_SIZE) / (double)csize;
	for (unsigned long i = 0; i < n; i++) {
		len = LZ4_compress_default(data + i * PAGE_SIZE, comp, PAGE_SIZE,
					   LZ4_compressBound(PAGE_SIZE));
		t = now_us();
		sink += (uint64_t)LZ4_decompress_safe(comp, out, len, PAGE_SIZE);
		total += now_us() - t;
	}
	r->lz4_dec_us = total / (double)n;
	free(comp);
}

static void measure_first_touch(struct results *r, struct uswap_pager *p, unsigned long pages)
{
	char *a = mmap(NULL, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0),
	     *b;
	double t;

	madvise(a, pages * PAGE_SIZE, MADV_NOHUGEPAGE);
	t = now_us();
	for (unsigned long i = 0; i < pages; i++)
		a[i * PAGE_SIZE] = 1;
	r->first_touch_us = (now_us() - t) / (double)pages;
	munmap(a, pages * PAGE_SIZE);
	if (uswap_pager_map(p, pages * PAGE_SIZE, (void **)&b))
		exit(1);
	t = now_us();
	for (unsigned long i = 0; i < pages; i++)
		b[i * PAGE_SIZE] = 1;
	r->uffd_first_touch_us = (now_us() - t) / (double)pages;
	munmap(b, pages * PAGE_SIZE);
}

/* Random single-page swap-ins: each access timed. */
static void measure_swapin(struct results *r, struct uswap_pager *p, char *data,
			   unsigned long pages)
{
	unsigned long n = min(pages, 8192UL);
	double *lat = malloc(n * sizeof(*lat)), t;
	struct uswap_pager_stats st0, st1;
	uint64_t s = 12345;
	char *b;

	if (uswap_pager_map(p, pages * PAGE_SIZE, (void **)&b) || !lat)
		exit(1);
	memcpy(b, data, pages * PAGE_SIZE);
	/* Eviction: everything out, timed. */
	t = now_us();
	{
		long bytes = 0, got;

		do {
			got = uswap_pager_reclaim(p, pages * PAGE_SIZE);
			bytes += got;
		} while (got > 0 && (unsigned long)bytes < pages * PAGE_SIZE);
		r->evict_us = (now_us() - t) / (double)max(bytes >> PAGE_SHIFT, 1L);
	}
	for (unsigned long k = 0; k < n; k++) {
		unsigned long i = rnd(&s) % pages;

		t = now_us();
		sink += (uint64_t)b[i * PAGE_SIZE + 100];
		lat[k] = now_us() - t;
	}
	qsort(lat, n, sizeof(*lat), cmp_double);
	r->swapin_p50_us = lat[n / 2];
	r->swapin_p99_us = lat[n * 99 / 100];
	/* Sequential: everything out again, then one pass. */
	while (uswap_pager_reclaim(p, pages * PAGE_SIZE) > 0)
		;
	uswap_pager_get_stats(p, &st0);
	t = now_us();
	for (unsigned long i = 0; i < pages; i++)
		sink += (uint64_t)b[i * PAGE_SIZE + 100];
	r->seq_swapin_us = (now_us() - t) / (double)pages;
	uswap_pager_get_stats(p, &st1);
	r->seq_pages_per_fault = (double)pages / (double)max(st1.faults - st0.faults, 1UL);
	munmap(b, pages * PAGE_SIZE);
	free(lat);
}

/* usemem-like loops over @b: MB/s. */
static double loop_mbs(char *b, unsigned long pages, bool random, bool write)
{
	uint64_t s = 777;
	double t = now_us();

	for (unsigned long k = 0; k < pages; k++) {
		unsigned long i = random ? rnd(&s) % pages : k;
		uint64_t *w = (uint64_t *)(b + i * PAGE_SIZE);

		if (write)
			for (unsigned j = 0; j < PAGE_SIZE / 8; j += 8)
				w[j] += k;
		else
			for (unsigned j = 0; j < PAGE_SIZE / 8; j += 8)
				sink += w[j];
	}
	return (double)(pages * PAGE_SIZE) / (now_us() - t);
}

static void measure_overcommit(struct results *r, char *data, unsigned long pages)
{
	size_t len = pages * PAGE_SIZE;
	char *a = malloc(len), *b;
	struct uswap_pager *p;

	memcpy(a, data, len);
	r->native_seq_mbs = loop_mbs(a, pages, false, false);
	r->native_rand_mbs = loop_mbs(a, pages, true, false);
	free(a);
	p = open_pager(max(len / 2, USWAP_PAGER_MIN_BUDGET));
	if (uswap_pager_map(p, len, (void **)&b))
		exit(1);
	memcpy(b, data, len);
	r->seq_write_mbs = loop_mbs(b, pages, false, true);
	r->seq_read_mbs = loop_mbs(b, pages, false, false);
	r->rand_write_mbs = loop_mbs(b, pages, true, true);
	r->rand_read_mbs = loop_mbs(b, pages, true, false);
	munmap(b, len);
	uswap_pager_close(p);
}

int main(int argc, char **argv)
{
	struct results r = {0};
	bool json = false;
	unsigned long pages;
	struct uswap_pager *p;
	char *data;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--mib") && i + 1 < argc)
			mib = strtoul(argv[++i], NULL, 10);
		else {
			fprintf(stderr, "usage: %s [--json] [--mib N]\n", argv[0]);
			return 2;
		}
	}
	pages = max(mib, 8UL) << (20 - PAGE_SHIFT);
	data = malloc(pages * PAGE_SIZE);
	for (unsigned long i = 0; i < pages; i++)
		fill_page(data + i * PAGE_SIZE, i);
	measure_raw(&r, data, pages);
	/*
	 * A budget the data fits in: swap-in and eviction are measured alone
	 * (pages go out by uswap_pager_reclaim), not paying for each other.
	 */
	p = open_pager(2 * pages * PAGE_SIZE + (64UL << 20));
	measure_first_touch(&r, p, min(pages, 4096UL));
	measure_swapin(&r, p, data, pages);
	uswap_pager_close(p);
	measure_overcommit(&r, data, pages);
	if (json) {
		printf("{\"mib\": %lu, \"lz4_ratio\": %.2f, \"native_first_touch_us\": %.2f, "
		       "\"uffd_first_touch_us\": %.2f, \"lz4_decompress_us\": %.2f, "
		       "\"lz4_compress_us\": %.2f, \"swapin_p50_us\": %.2f, \"swapin_p99_us\": "
		       "%.2f, "
		       "\"seq_swapin_us_per_page\": %.2f, \"seq_pages_per_fault\": %.2f, "
		       "\"evict_us_per_page\": %.2f, \"evict_vs_compress\": %.2f, "
		       "\"native_seq_read_mbs\": %.0f, \"native_rand_read_mbs\": %.0f, "
		       "\"seq_write_mbs\": %.0f, \"seq_read_mbs\": %.0f, \"rand_write_mbs\": %.0f, "
		       "\"rand_read_mbs\": %.0f}\n",
		       mib, r.ratio, r.first_touch_us, r.uffd_first_touch_us, r.lz4_dec_us,
		       r.lz4_comp_us, r.swapin_p50_us, r.swapin_p99_us, r.seq_swapin_us,
		       r.seq_pages_per_fault, r.evict_us, r.evict_us / r.lz4_comp_us,
		       r.native_seq_mbs, r.native_rand_mbs, r.seq_write_mbs, r.seq_read_mbs,
		       r.rand_write_mbs, r.rand_read_mbs);
		return 0;
	}
	printf("uswap pager on %lu MiB of text-like data (LZ4 ratio %.2f)\n\n", mib, r.ratio);
	printf("%-40s %10s %12s\n", "per page", "us", "vs reference");
	printf("%-40s %10.2f %12s\n", "native first-touch fault (reference)", r.first_touch_us,
	       "1.00x");
	printf("%-40s %10.2f %11.2fx\n", "uffd first-touch fault (zero fill)",
	       r.uffd_first_touch_us, r.uffd_first_touch_us / r.first_touch_us);
	printf("%-40s %10.2f %12s\n", "raw LZ4 decompression (reference)", r.lz4_dec_us, "1.00x");
	printf("%-40s %10.2f %11.2fx\n", "swap-in fault, random, p50", r.swapin_p50_us,
	       r.swapin_p50_us / r.lz4_dec_us);
	printf("%-40s %10.2f %11.2fx\n", "swap-in fault, random, p99", r.swapin_p99_us,
	       r.swapin_p99_us / r.lz4_dec_us);
	printf("%-40s %10.2f %11.2fx   (%.1f pages per fault)\n", "swap-in, sequential",
	       r.seq_swapin_us, r.seq_swapin_us / r.lz4_dec_us, r.seq_pages_per_fault);
	printf("%-40s %10.2f %12s\n", "raw LZ4 compression (reference)", r.lz4_comp_us, "1.00x");
	printf("%-40s %10.2f %11.2fx\n", "eviction", r.evict_us, r.evict_us / r.lz4_comp_us);
	printf("\n%-40s %10s %12s\n", "2x overcommit, MB/s", "paged", "unpaged");
	printf("%-40s %10.0f %12.0f\n", "sequential write", r.seq_write_mbs, r.native_seq_mbs);
	printf("%-40s %10.0f %12.0f\n", "sequential read", r.seq_read_mbs, r.native_seq_mbs);
	printf("%-40s %10.0f %12.0f\n", "random write", r.rand_write_mbs, r.native_rand_mbs);
	printf("%-40s %10.0f %12.0f\n", "random read", r.rand_read_mbs, r.native_rand_mbs);
	free(data);
	return 0;
}
