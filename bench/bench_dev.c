// SPDX-License-Identifier: MIT
/*
 * bench_dev.c - swap-out and swap-in cost through each backend (zram with
 * lz4, zram with zstd, a swap file in /var/tmp), for compressible
 * (text-like) and incompressible (random) pages, each beside raw LZ4 / zstd
 * compression and decompression of the same pages and a 4 KiB memcpy, all
 * measured in the same run.
 *
 *   bench_dev [--json] [--pages N] [--rounds R] [--no-file]
 *
 * Swap-out is measured through the engine per order-0 folio:
 * folio_alloc_swap + folio_dup_swap + swap_writeout + swap_cache_del_folio.
 * Swap-in is measured through the engine too: swapin_folio on a locked,
 * preallocated folio (swap-cache insert, zero-map check, device read,
 * uptodate), releasing the slots afterwards outside the timed loop. Each
 * figure is the best of R rounds over a working set of N pages, in ns per
 * page. A benchmark prints figures; it asserts nothing.
 *
 * Owns: its engines, buffers and a scratch swap file (removed at once).
 * Locking: single-threaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <lz4.h>
#include <zstd.h>

#include "base/pattern.h"
#include "dev/file.h"
#include "dev/zram.h"
#include "swap/swap.h"

static unsigned long nr_pages = 2048;
static int nr_rounds = 7;
static volatile unsigned long sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ---- page contents ---- */

enum data_kind { DATA_TEXT, DATA_RANDOM, NR_DATA };

static const char *const data_name[NR_DATA] = {"text", "random"};

/* Text-like pages compress about 2.5x with LZ4, random ones not at all. */
static void fill_page(unsigned char *p, enum data_kind kind, uint64_t seed)
{
	pattern_fill(p, PAGE_SIZE, kind == DATA_TEXT ? PATTERN_TEXT : PATTERN_RANDOM, seed, 0);
}

static void *xalloc_pages(size_t n)
{
	void *p = aligned_alloc(PAGE_SIZE, n * PAGE_SIZE);

	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	memset(p, 0, n * PAGE_SIZE);
	return p;
}

/* ---- figures ---- */

#define MAX_FIGS 64

static struct {
	char name[96];
	double value;
	const char *unit;
	char note[96];
} figs[MAX_FIGS];
static int nr_figs;

static void fig(const char *name, double value, const char *unit, const char *note)
{
	if (nr_figs == MAX_FIGS)
		return;
	snprintf(figs[nr_figs].name, sizeof(figs[0].name), "%s", name);
	figs[nr_figs].value = value;
	figs[nr_figs].unit = unit;
	snprintf(figs[nr_figs].note, sizeof(figs[0].note), "%s", note ? note : "");
	nr_figs++;
}

static double fig_get(const char *name)
{
	for (int i = 0; i < nr_figs; i++)
		if (!strcmp(figs[i].name, name))
			return figs[i].value;
	return 0;
}

/* Name a figure after @base and the data kind: text is the unsuffixed one. */
static void fig_kind(const char *base, enum data_kind kind, double value, const char *unit,
		     const char *note)
{
	char name[96];

	if (kind == DATA_TEXT)
		snprintf(name, sizeof(name), "%s_ns", base);
	else
		snprintf(name, sizeof(name), "%s_%s_ns", base, data_name[kind]);
	fig(name, value, unit, note);
}

/* ---- raw baselines ---- */

static double bench_memcpy(void)
{
	unsigned char *src = xalloc_pages(1), *dst = xalloc_pages(1);
	double best = 1e30;

	fill_page(src, DATA_RANDOM, 1);
	for (int r = 0; r < nr_rounds; r++) {
		double t0 = now_ns();

		for (int i = 0; i < 20000; i++) {
			memcpy(dst, src, PAGE_SIZE);
			__asm__ volatile("" : : "r"(dst) : "memory");
		}
		best = min(best, (now_ns() - t0) / 20000);
	}
	sink += dst[7];
	free(src);
	free(dst);
	return best;
}

struct raw_set {
	unsigned char *pages; /* nr_pages source pages */
	unsigned char *out;   /* nr_pages destination pages */
	unsigned char **comp; /* compressed copies */
	int *comp_len;
	size_t total_comp;
};

static void raw_free(struct raw_set *rs)
{
	for (unsigned long i = 0; i < nr_pages; i++)
		free(rs->comp[i]);
	free(rs->comp);
	free(rs->comp_len);
	free(rs->out);
}

/* Best-of-rounds ns/page of LZ4 compress and decompress over the set. */
static void bench_lz4(struct raw_set *rs, double *comp_ns, double *decomp_ns)
{
	int bound = LZ4_compressBound(PAGE_SIZE);
	unsigned char *tmp = malloc((size_t)bound);

	*comp_ns = *decomp_ns = 1e30;
	rs->total_comp = 0;
	for (unsigned long i = 0; i < nr_pages; i++) {
		rs->comp_len[i] = LZ4_compress_default((char *)rs->pages + i * PAGE_SIZE,
						       (char *)tmp, PAGE_SIZE, bound);
		rs->comp[i] = malloc((size_t)rs->comp_len[i]);
		memcpy(rs->comp[i], tmp, (size_t)rs->comp_len[i]);
		rs->total_comp += (size_t)rs->comp_len[i];
	}
	for (int r = 0; r < nr_rounds; r++) {
		double t0 = now_ns();

		for (unsigned long i = 0; i < nr_pages; i++)
			sink += (unsigned long)LZ4_compress_default(
				(char *)rs->pages + i * PAGE_SIZE, (char *)tmp, PAGE_SIZE, bound);
		*comp_ns = min(*comp_ns, (now_ns() - t0) / nr_pages);
		t0 = now_ns();
		for (unsigned long i = 0; i < nr_pages; i++)
			sink += (unsigned long)LZ4_decompress_safe((char *)rs->comp[i],
								   (char *)rs->out + i * PAGE_SIZE,
								   rs->comp_len[i], PAGE_SIZE);
		*decomp_ns = min(*decomp_ns, (now_ns() - t0) / nr_pages);
	}
	free(tmp);
}

static void bench_zstd(struct raw_set *rs, double *comp_ns, double *decomp_ns)
{
	size_t bound = ZSTD_compressBound(PAGE_SIZE);
	unsigned char *tmp = malloc(bound);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	ZSTD_DCtx *dctx = ZSTD_createDCtx();

	*comp_ns = *decomp_ns = 1e30;
	rs->total_comp = 0;
	for (unsigned long i = 0; i < nr_pages; i++) {
		size_t n = ZSTD_compressCCtx(cctx, tmp, bound, rs->pages + i * PAGE_SIZE, PAGE_SIZE,
					     ZSTD_CLEVEL_DEFAULT);

		rs->comp_len[i] = (int)n;
		rs->comp[i] = malloc(n);
		memcpy(rs->comp[i], tmp, n);
		rs->total_comp += n;
	}
	for (int r = 0; r < nr_rounds; r++) {
		double t0 = now_ns();

		for (unsigned long i = 0; i < nr_pages; i++)
			sink += ZSTD_compressCCtx(cctx, tmp, bound, rs->pages + i * PAGE_SIZE,
						  PAGE_SIZE, ZSTD_CLEVEL_DEFAULT);
		*comp_ns = min(*comp_ns, (now_ns() - t0) / nr_pages);
		t0 = now_ns();
		for (unsigned long i = 0; i < nr_pages; i++)
			sink += ZSTD_decompressDCtx(dctx, rs->out + i * PAGE_SIZE, PAGE_SIZE,
						    rs->comp[i], (size_t)rs->comp_len[i]);
		*decomp_ns = min(*decomp_ns, (now_ns() - t0) / nr_pages);
	}
	ZSTD_freeCCtx(cctx);
	ZSTD_freeDCtx(dctx);
	free(tmp);
}

static void raw_init(struct raw_set *rs, unsigned char *pages)
{
	rs->pages = pages;
	rs->out = xalloc_pages(nr_pages);
	rs->comp = calloc(nr_pages, sizeof(*rs->comp));
	rs->comp_len = calloc(nr_pages, sizeof(*rs->comp_len));
	if (!rs->comp || !rs->comp_len)
		exit(1);
}

/* A compressor measured on its own: the reference the backends compare with. */
struct raw_codec {
	const char *name;     /* figure prefix */
	const char *compress; /* the calls measured, for the notes */
	const char *decompress;
	void (*run)(struct raw_set *rs, double *comp_ns, double *decomp_ns);
};

static const struct raw_codec raw_codecs[] = {
	{"lz4", "LZ4_compress_default", "LZ4_decompress_safe", bench_lz4},
	{"zstd", "ZSTD_compressCCtx level 3", "ZSTD_decompressDCtx", bench_zstd},
};

/* Measure @rc on @pages of kind @d and record its figures. */
static void raw_codec_figures(const struct raw_codec *rc, enum data_kind d, unsigned char *pages)
{
	char name[64], note[96];
	struct raw_set rs;
	double c, dc, ratio;

	raw_init(&rs, pages);
	rc->run(&rs, &c, &dc);
	ratio = (double)nr_pages * PAGE_SIZE / rs.total_comp;
	snprintf(name, sizeof(name), "%s_compress", rc->name);
	snprintf(note, sizeof(note), "%s, ratio %.2f", rc->compress, ratio);
	fig_kind(name, d, c, "ns/page", note);
	snprintf(name, sizeof(name), "%s_decompress_buffer", rc->name);
	snprintf(note, sizeof(note), "%s, own buffers", rc->decompress);
	fig_kind(name, d, dc, "ns/page", note);
	if (d == DATA_TEXT) {
		snprintf(name, sizeof(name), "%s_ratio", rc->name);
		fig(name, ratio, "x", "original / compressed bytes");
	}
	raw_free(&rs);
}

/* ---- through the engine ---- */

enum dev_kind { DEV_ZRAM_LZ4, DEV_ZRAM_ZSTD, DEV_FILE, NR_DEVS };

static const char *const dev_fig[NR_DEVS] = {"zram", "zram", "file"};
static const char *const dev_algo[NR_DEVS] = {"_lz4", "_zstd", ""};

static char file_path[128];

static int make_dev(struct uswap *sw, enum dev_kind kind, struct swap_dev **dev)
{
	unsigned long slots = ALIGN_UP(nr_pages * 2 + SWAPFILE_CLUSTER, SWAPFILE_CLUSTER);
	char err[256];
	int ret;

	if (kind == DEV_FILE) {
		snprintf(file_path, sizeof(file_path), "/var/tmp/uswap-bench-%d.swap",
			 (int)getpid());
		ret = swapfile_format(file_path, slots * PAGE_SIZE, "bench", NULL, NULL, 0);
		if (!ret)
			ret = swapfile_open(dev, sw->arena, file_path, err, sizeof(err));
		unlink(file_path);
		if (ret)
			fprintf(stderr, "swap file: %s\n", err);
	} else {
		struct zram_config cfg = {.algo = kind == DEV_ZRAM_ZSTD ? ZRAM_ZSTD : ZRAM_LZ4};

		ret = zram_create(dev, sw->arena, slots, &cfg);
	}
	if (ret)
		return ret;
	ret = swapon(sw, *dev, -1);
	return ret < 0 ? ret : 0;
}

/*
 * The raw baseline of a zram swap-in: the same pages compressed by the same
 * codec, decompressed into the same folios, timed in the same rounds.
 */
struct raw_copies {
	unsigned char **blk;
	size_t *len;
	ZSTD_DCtx *dctx;
};

static void raw_copies_make(struct raw_copies *rc, enum dev_kind kind, const unsigned char *pages)
{
	size_t bound = ZSTD_compressBound(PAGE_SIZE) + LZ4_compressBound(PAGE_SIZE);
	unsigned char *tmp = malloc(bound);

	rc->blk = calloc(nr_pages, sizeof(*rc->blk));
	rc->len = calloc(nr_pages, sizeof(*rc->len));
	rc->dctx = ZSTD_createDCtx();
	if (!tmp || !rc->blk || !rc->len || !rc->dctx)
		exit(1);
	for (unsigned long i = 0; i < nr_pages; i++) {
		const unsigned char *src = pages + i * PAGE_SIZE;

		if (kind == DEV_ZRAM_LZ4)
			rc->len[i] = (size_t)LZ4_compress_default((const char *)src, (char *)tmp,
								  PAGE_SIZE, (int)bound);
		else
			rc->len[i] = ZSTD_compress(tmp, bound, src, PAGE_SIZE, ZSTD_CLEVEL_DEFAULT);
		rc->blk[i] = malloc(rc->len[i]);
		if (!rc->blk[i])
			exit(1);
		memcpy(rc->blk[i], tmp, rc->len[i]);
	}
	free(tmp);
}

static void raw_copies_free(struct raw_copies *rc)
{
	for (unsigned long i = 0; i < nr_pages; i++)
		free(rc->blk[i]);
	free(rc->blk);
	free(rc->len);
	ZSTD_freeDCtx(rc->dctx);
}

/* Return: ns per page to decompress every copy into its folio. */
static double raw_copies_time(struct raw_copies *rc, enum dev_kind kind, struct folio **folios)
{
	double t0 = now_ns();

	for (unsigned long i = 0; i < nr_pages; i++) {
		if (kind == DEV_ZRAM_LZ4)
			sink += (unsigned long)LZ4_decompress_safe((const char *)rc->blk[i],
								   folios[i]->data, (int)rc->len[i],
								   PAGE_SIZE);
		else
			sink += ZSTD_decompressDCtx(rc->dctx, folios[i]->data, PAGE_SIZE,
						    rc->blk[i], rc->len[i]);
	}
	return (now_ns() - t0) / nr_pages;
}

/*
 * One device, one data kind: rounds of swapping every page out, then in.
 * Return: 0, or -errno if the engine refused (figures not recorded).
 */
static int bench_engine(enum dev_kind kind, enum data_kind data, const unsigned char *pages)
{
	struct uswap *sw;
	struct swap_dev *dev;
	struct folio **folios = calloc(nr_pages, sizeof(*folios));
	swp_entry_t *entries = calloc(nr_pages, sizeof(*entries));
	double out_best = 1e30, in_best = 1e30, raw_best = 1e30, dev_best = 1e30;
	bool paired = kind != DEV_FILE;
	struct raw_copies rc;
	char base[64];
	int err;

	if (!folios || !entries || swap_engine_create(&sw, 1UL << 32, false))
		exit(1);
	if (paired)
		raw_copies_make(&rc, kind, pages);
	err = make_dev(sw, kind, &dev);
	if (err)
		goto out;
	for (unsigned long i = 0; i < nr_pages; i++) {
		folios[i] = folio_alloc(sw, 0);
		if (!folios[i])
			exit(1);
		memcpy(folios[i]->data, pages + i * PAGE_SIZE, PAGE_SIZE);
	}
	for (int r = 0; r < nr_rounds && !err; r++) {
		double t0, t1;

		/* Swap-out: slots, a reference, the write, out of the cache. */
		t0 = now_ns();
		for (unsigned long i = 0; i < nr_pages && !err; i++) {
			struct folio *f = folios[i];

			folio_lock(f);
			err = folio_alloc_swap(f);
			if (!err)
				err = folio_dup_swap(f, NULL);
			folio_mark_dirty(f);
			if (!err)
				err = swap_writeout(f);
			if (!err) {
				entries[i] = folio_swap_entry(f);
				swap_cache_del_folio(f, 0);
			}
			folio_unlock(f);
		}
		t1 = now_ns();
		if (err)
			break;
		out_best = min(out_best, (t1 - t0) / nr_pages);

		/* The raw baseline runs before swap-in in odd rounds, after in even. */
		if (paired && r % 2)
			raw_best = min(raw_best, raw_copies_time(&rc, kind, folios));

		/* Swap-in into preallocated folios. */
		t0 = now_ns();
		for (unsigned long i = 0; i < nr_pages && !err; i++) {
			struct folio *ret;

			folio_lock(folios[i]);
			ret = swapin_folio(sw, entries[i], folios[i]);
			folio_unlock(folios[i]);
			if (ret != folios[i])
				err = IS_ERR(ret) ? (int)PTR_ERR(ret) : -EINVAL;
		}
		t1 = now_ns();
		in_best = min(in_best, (t1 - t0) / nr_pages);
		if (paired && !(r % 2))
			raw_best = min(raw_best, raw_copies_time(&rc, kind, folios));
		/* The device read alone, to split the cost: engine and backend. */
		t0 = now_ns();
		for (unsigned long i = 0; i < nr_pages && !err; i++)
			err = dev->ops->read(dev, swp_offset(entries[i]), folios[i]->data, 1);
		dev_best = min(dev_best, (now_ns() - t0) / nr_pages);
		/* Release the slots (what a fault does after mapping the page). */
		for (unsigned long i = 0; i < nr_pages; i++) {
			folio_lock(folios[i]);
			if (folio_test_swapcache(folios[i])) {
				folio_put_swap(folios[i], NULL);
				folio_free_swap(folios[i]);
			}
			folio_unlock(folios[i]);
		}
	}
	if (err)
		goto out_folios;
	for (unsigned long i = 0; i < nr_pages; i++) {
		if (memcmp(folios[i]->data, pages + i * PAGE_SIZE, PAGE_SIZE)) {
			fprintf(stderr, "bench_dev: page %lu read back wrong\n", i);
			exit(1);
		}
	}
	snprintf(base, sizeof(base), "%s_swapout%s", dev_fig[kind], dev_algo[kind]);
	fig_kind(base, data, out_best, "ns/page", "alloc_swap + dup + writeout + cache del");
	snprintf(base, sizeof(base), "%s_swapin%s", dev_fig[kind], dev_algo[kind]);
	fig_kind(base, data, in_best, "ns/page", "swapin_folio: cache add + read");
	snprintf(base, sizeof(base), "%s_read%s", dev_fig[kind], dev_algo[kind]);
	fig_kind(base, data, dev_best, "ns/page", "the backend's read op alone");
	if (paired)
		fig_kind(kind == DEV_ZRAM_LZ4 ? "lz4_decompress" : "zstd_decompress", data,
			 raw_best, "ns/page",
			 kind == DEV_ZRAM_LZ4
				 ? "LZ4_decompress_safe, same pages into the same folios"
				 : "ZSTD_decompressDCtx, same pages into the same folios");
	if (is_zram_dev(dev) && data == DATA_TEXT) {
		struct zram_stats st;
		char name[64];

		zram_get_stats(dev, &st);
		snprintf(name, sizeof(name), "zram%s_mem_used_max_per_page", dev_algo[kind]);
		fig(name, (double)st.mem_used_max / nr_pages, "bytes",
		    "arena bytes per stored page");
	}
out_folios:
	for (unsigned long i = 0; i < nr_pages; i++)
		folio_put(folios[i]);
	for (unsigned t = 0; t < MAX_SWAPFILES; t++) {
		if (sw->swap_info[t] && (sw->swap_info[t]->flags & SWP_USED)) {
			swapoff_begin(sw, t);
			swapoff_finish(sw, t);
		}
	}
out:
	if (err)
		fprintf(stderr, "bench_dev: %s%s on %s pages: error %d\n", dev_fig[kind],
			dev_algo[kind], data_name[data], err);
	if (paired)
		raw_copies_free(&rc);
	swap_engine_destroy(sw);
	free(folios);
	free(entries);
	return err;
}

/* ---- output ---- */

static void print_table(void)
{
	printf("bench_dev: %lu pages per set, best of %d rounds, single thread\n", nr_pages,
	       nr_rounds);
	printf("swap-in is measured through the engine (swapin_folio on a preallocated, locked "
	       "folio)\n\n");
	printf("%-44s %12s  %-8s %s\n", "figure", "value", "unit", "what");
	for (int i = 0; i < nr_figs; i++)
		printf("%-44s %12.2f  %-8s %s\n", figs[i].name, figs[i].value, figs[i].unit,
		       figs[i].note);
}

static void print_json(void)
{
	printf("{");
	for (int i = 0; i < nr_figs; i++)
		printf("%s\"%s\": %.4f", i ? ", " : "", figs[i].name, figs[i].value);
	printf("}\n");
}

static void ratio(const char *name, const char *num, const char *den, const char *note)
{
	double d = fig_get(den);

	if (d > 0 && fig_get(num) > 0)
		fig(name, fig_get(num) / d, "x", note);
}

int main(int argc, char **argv)
{
	bool json = false, with_file = true;
	unsigned char *pages[NR_DATA];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--pages") && i + 1 < argc) {
			nr_pages = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
			nr_rounds = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--no-file")) {
			with_file = false;
		} else {
			fprintf(stderr, "usage: %s [--json] [--pages N] [--rounds R] [--no-file]\n",
				argv[0]);
			return 2;
		}
	}
	if (nr_pages < 16 || nr_rounds < 1)
		return 2;

	fig("memcpy_4k_ns", bench_memcpy(), "ns", "memcpy of one hot 4 KiB page");
	for (int d = 0; d < NR_DATA; d++) {
		pages[d] = xalloc_pages(nr_pages);
		for (unsigned long i = 0; i < nr_pages; i++)
			fill_page(pages[d] + i * PAGE_SIZE, d, i + 1);
		for (unsigned i = 0; i < ARRAY_SIZE(raw_codecs); i++)
			raw_codec_figures(&raw_codecs[i], d, pages[d]);
	}
	for (int k = 0; k < NR_DEVS; k++) {
		if (k == DEV_FILE && !with_file)
			continue;
		for (int d = 0; d < NR_DATA; d++)
			bench_engine(k, d, pages[d]);
	}
	fig("swapin_through_engine", 1, "bool", "1: swap-in figures go through swapin_folio");
	ratio("zram_swapin_over_lz4_decompress", "zram_swapin_lz4_ns", "lz4_decompress_ns",
	      "target <= 1.15");
	ratio("zram_swapin_over_lz4_decompress_random", "zram_swapin_lz4_random_ns",
	      "lz4_decompress_random_ns", "raw pages: a memcpy each");
	ratio("zram_swapout_over_lz4_compress", "zram_swapout_lz4_ns", "lz4_compress_ns", NULL);
	ratio("zram_swapin_over_zstd_decompress", "zram_swapin_zstd_ns", "zstd_decompress_ns",
	      NULL);
	ratio("zram_swapout_over_zstd_compress", "zram_swapout_zstd_ns", "zstd_compress_ns", NULL);
	ratio("zram_swapin_lz4_over_memcpy", "zram_swapin_lz4_ns", "memcpy_4k_ns", NULL);
	ratio("file_swapin_over_zram_swapin_lz4", "file_swapin_ns", "zram_swapin_lz4_ns", NULL);
	if (json)
		print_json();
	else
		print_table();
	for (int d = 0; d < NR_DATA; d++)
		free(pages[d]);
	return 0;
}
