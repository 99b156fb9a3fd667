// SPDX-License-Identifier: MIT
/*
 * test_zram.c - the compressed RAM backend through its ops table: round
 * trips of every kind of page with both compressors, slot reuse, the memory
 * cap, allocation failure, figures, corruption and fault injection, and
 * concurrent writers with free notifications.
 *
 * Owns: its arenas and devices. Locking: the concurrent test's threads each
 * own a range of slots; one thread frees slots another writes beside.
 */
#include <pthread.h>

#include <lz4.h>

#include "dev_test.h"
#include "dev/zram.h"

#define NR_SLOTS 1024

static struct swap_dev *t_zram(struct arena *a, enum zram_algo algo, size_t limit)
{
	struct zram_config cfg = {.algo = algo, .mem_limit = limit};
	struct swap_dev *dev = NULL;

	if (zram_create(&dev, a, NR_SLOTS, &cfg))
		return NULL;
	return dev;
}

static void destroy(struct arena *a, struct swap_dev *dev)
{
	dev->ops->destroy(dev);
	CHECK_EQ(arena_in_use(a), 0);
	arena_destroy(a);
}

/* What zram stores for a page with LZ4 and the default threshold: 0 = raw. */
static int lz4_len(const void *page)
{
	char out[PAGE_SIZE];

	return LZ4_compress_default(page, out, PAGE_SIZE, PAGE_SIZE * 3 / 4);
}

static void *pages(size_t nr)
{
	void *p = aligned_alloc(PAGE_SIZE, nr * PAGE_SIZE);

	if (!p)
		exit(1);
	return p;
}

/* Write one page of each kind per slot (kind = slot % kinds), read all back. */
static void roundtrip(enum zram_algo algo)
{
	struct arena *a = t_arena();
	struct swap_dev *dev = t_zram(a, algo, 0);
	unsigned char *buf = pages(1), *big = pages(64);

	REQUIRE(dev);
	CHECK(dev->flags & SWAP_DEV_SYNC_IO);
	CHECK(dev->flags & SWAP_DEV_SOLIDSTATE);
	for (pgoff_t off = 1; off < 200; off++) {
		t_fill_kind(buf, off % NR_PAGE_KINDS, off);
		REQUIRE_EQ(dev->ops->write(dev, off, buf, 1), 0);
	}
	for (pgoff_t off = 1; off < 200; off++) {
		memset(buf, 0xa5, PAGE_SIZE);
		REQUIRE_EQ(dev->ops->read(dev, off, buf, 1), 0);
		CHECK(t_check_kind(buf, off % NR_PAGE_KINDS, off));
	}
	/* A multi-page call (a large folio) of mixed kinds. */
	for (unsigned i = 0; i < 64; i++)
		t_fill_kind(big + i * PAGE_SIZE, (i * 7) % NR_PAGE_KINDS, 1000 + i);
	REQUIRE_EQ(dev->ops->write(dev, 512, big, 64), 0);
	memset(big, 0, 64 * PAGE_SIZE);
	REQUIRE_EQ(dev->ops->read(dev, 512, big, 64), 0);
	for (unsigned i = 0; i < 64; i++)
		CHECK(t_check_kind(big + i * PAGE_SIZE, (i * 7) % NR_PAGE_KINDS, 1000 + i));
	free(buf);
	free(big);
	destroy(a, dev);
}

TEST(zram_roundtrip_lz4)
{
	roundtrip(ZRAM_LZ4);
}

TEST(zram_roundtrip_zstd)
{
	roundtrip(ZRAM_ZSTD);
}

TEST(zram_roundtrip_zstd_levels)
{
	struct zram_config cfg = {.algo = ZRAM_ZSTD, .level = 19};
	struct arena *a = t_arena();
	struct swap_dev *dev;
	unsigned char *buf = pages(1);

	REQUIRE_EQ(zram_create(&dev, a, 16, &cfg), 0);
	t_fill_kind(buf, PAGE_TEXT, 5);
	REQUIRE_EQ(dev->ops->write(dev, 3, buf, 1), 0);
	memset(buf, 0, PAGE_SIZE);
	REQUIRE_EQ(dev->ops->read(dev, 3, buf, 1), 0);
	CHECK(t_check_kind(buf, PAGE_TEXT, 5));
	free(buf);
	destroy(a, dev);
}

TEST(zram_bad_config_rejected)
{
	struct arena *a = t_arena();
	struct swap_dev *dev;
	struct zram_config bad_algo = {.algo = 7};
	struct zram_config bad_level = {.algo = ZRAM_ZSTD, .level = 1000};
	struct zram_config bad_threshold = {.huge_threshold = PAGE_SIZE + 1};

	CHECK_EQ(zram_create(&dev, a, 16, &bad_algo), -EINVAL);
	CHECK_EQ(zram_create(&dev, a, 16, &bad_level), -EINVAL);
	CHECK_EQ(zram_create(&dev, a, 16, &bad_threshold), -EINVAL);
	CHECK_EQ(zram_create(&dev, a, 1, NULL), -EINVAL);
	CHECK_EQ(arena_in_use(a), 0);
	arena_destroy(a);
}

TEST(zram_out_of_range_rejected)
{
	struct arena *a = t_arena();
	struct swap_dev *dev = t_zram(a, ZRAM_LZ4, 0);
	unsigned char *buf = pages(2);

	REQUIRE(dev);
	CHECK_EQ(dev->ops->read(dev, 0, buf, 1), -EINVAL);
	CHECK_EQ(dev->ops->write(dev, 0, buf, 1), -EINVAL);
	CHECK_EQ(dev->ops->write(dev, NR_SLOTS - 1, buf, 2), -EINVAL);
	CHECK_EQ(dev->ops->read(dev, NR_SLOTS, buf, 1), -EINVAL);
	free(buf);
	destroy(a, dev);
}

TEST(zram_unwritten_slot_reads_zero)
{
	struct arena *a = t_arena();
	struct swap_dev *dev = t_zram(a, ZRAM_LZ4, 0);
	unsigned char *buf = pages(1);

	REQUIRE(dev);
	memset(buf, 0xff, PAGE_SIZE);
	REQUIRE_EQ(dev->ops->read(dev, 9, buf, 1), 0);
	CHECK(t_check_kind(buf, PAGE_ZERO, 0));
	free(buf);
	destroy(a, dev);
}

TEST(zram_slot_reuse_after_free_holds_new_data)
{
	struct arena *a = t_arena();
	struct swap_dev *dev = t_zram(a, ZRAM_LZ4, 0);
	unsigned char *buf = pages(1);
	struct zram_stats st;

	REQUIRE(dev);
	for (int round = 0; round < NR_PAGE_KINDS * 2; round++) {
		enum page_kind kind = round % NR_PAGE_KINDS;

		t_fill_kind(buf, kind, 77 + round);
		REQUIRE_EQ(dev->ops->write(dev, 5, buf, 1), 0);
		memset(buf, 0x11, PAGE_SIZE);
		REQUIRE_EQ(dev->ops->read(dev, 5, buf, 1), 0);
		CHECK(t_check_kind(buf, kind, 77 + round));
		dev->ops->slot_free_notify(dev, 5);
		zram_get_stats(dev, &st);
		CHECK_EQ(st.pages_stored, 0);
		CHECK_EQ(st.mem_used_total, 0);
		/* A freed slot holds nothing. */
		REQUIRE_EQ(dev->ops->read(dev, 5, buf, 1), 0);
		CHECK(t_check_kind(buf, PAGE_ZERO, 0));
	}
	/* Overwriting without a free in between also replaces the data. */
	t_fill_kind(buf, PAGE_TEXT, 1);
	REQUIRE_EQ(dev->ops->write(dev, 6, buf, 1), 0);
	t_fill_kind(buf, PAGE_RANDOM, 2);
	REQUIRE_EQ(dev->ops->write(dev, 6, buf, 1), 0);
	REQUIRE_EQ(dev->ops->read(dev, 6, buf, 1), 0);
	CHECK(t_check_kind(buf, PAGE_RANDOM, 2));
	zram_get_stats(dev, &st);
	CHECK_EQ(st.pages_stored, 1);
	CHECK_EQ(st.huge_pages, 1);
	free(buf);
	destroy(a, dev);
}

TEST(zram_stats_match_what_was_written)
{
	struct arena *a = t_arena();
	struct swap_dev *dev = t_zram(a, ZRAM_LZ4, 0);
	unsigned char *buf = pages(1);
	struct zram_stats st;
	uint64_t compr = 0, used = 0;
	unsigned same = 0, huge = 0, stored = 0;
	char line[512];

	REQUIRE(dev);
	for (pgoff_t off = 1; off <= 60; off++) {
		enum page_kind kind = off % NR_PAGE_KINDS;
		int n;

		t_fill_kind(buf, kind, off);
		REQUIRE_EQ(dev->ops->write(dev, off, buf, 1), 0);
		stored++;
		if (kind == PAGE_ZERO || kind == PAGE_SAME) {
			same++;
			continue;
		}
		/* Same compressor, same input: the same length. */
		n = lz4_len(buf);
		if (n == 0) {
			huge++;
			n = PAGE_SIZE;
		}
		compr += (uint64_t)n;
		used += arena_alloc_size((size_t)n);
	}
	CHECK(same > 0 && huge > 0 && compr > huge * PAGE_SIZE); /* every kind was met */
	zram_get_stats(dev, &st);
	CHECK_EQ(st.pages_stored, stored);
	CHECK_EQ(st.orig_data_size, (uint64_t)stored * PAGE_SIZE);
	CHECK_EQ(st.same_pages, same);
	CHECK_EQ(st.huge_pages, huge);
	CHECK_EQ(st.compr_data_size, compr);
	CHECK_EQ(st.mem_used_total, used);
	CHECK_EQ(st.mem_used_max, used);
	CHECK_EQ(st.mem_limit, 0);
	CHECK(dev->ops->describe(dev, line, sizeof(line)) == 0);
	CHECK(strstr(line, "same_pages") && strstr(line, "lz4"));
	for (pgoff_t off = 1; off <= 60; off++)
		dev->ops->slot_free_notify(dev, off);
	zram_get_stats(dev, &st);
	CHECK_EQ(st.pages_stored, 0);
	CHECK_EQ(st.same_pages, 0);
	CHECK_EQ(st.huge_pages, 0);
	CHECK_EQ(st.compr_data_size, 0);
	CHECK_EQ(st.mem_used_total, 0);
	CHECK_EQ(st.mem_used_max, used);
	free(buf);
	destroy(a, dev);
}

TEST(zram_huge_threshold_is_configurable)
{
	struct zram_config cfg = {.huge_threshold = 200};
	struct arena *a = t_arena();
	struct swap_dev *dev;
	unsigned char *buf = pages(1);
	struct zram_stats st;

	REQUIRE_EQ(zram_create(&dev, a, 16, &cfg), 0);
	t_fill_kind(buf, PAGE_TEXT, 3); /* compresses, but not to 200 bytes */
	REQUIRE_EQ(dev->ops->write(dev, 1, buf, 1), 0);
	t_fill_kind(buf, PAGE_SPARSE, 3); /* a few words: well under 200 bytes */
	REQUIRE_EQ(dev->ops->write(dev, 2, buf, 1), 0);
	zram_get_stats(dev, &st);
	CHECK_EQ(st.huge_pages, 1);
	CHECK(st.compr_data_size <= PAGE_SIZE + 200);
	REQUIRE_EQ(dev->ops->read(dev, 1, buf, 1), 0);
	CHECK(t_check_kind(buf, PAGE_TEXT, 3));
	REQUIRE_EQ(dev->ops->read(dev, 2, buf, 1), 0);
	CHECK(t_check_kind(buf, PAGE_SPARSE, 3));
	free(buf);
	destroy(a, dev);
}

static void mem_limit_case(enum zram_algo algo)
{
	struct arena *a = t_arena();
	struct swap_dev *dev = t_zram(a, algo, 16 * PAGE_SIZE);
	unsigned char *buf = pages(4);
	struct zram_stats st;
	pgoff_t off;
	int err = 0;

	REQUIRE(dev);
	/* Incompressible pages until the cap refuses one. */
	for (off = 1; off < 100; off++) {
		t_fill_kind(buf, PAGE_RANDOM, off);
		err = dev->ops->write(dev, off, buf, 1);
		if (err)
			break;
	}
	CHECK_EQ(err, -ENOSPC);
	CHECK_EQ(off, 17);
	zram_get_stats(dev, &st);
	CHECK(st.mem_used_total <= 16 * PAGE_SIZE);
	CHECK_EQ(st.mem_limit, 16 * PAGE_SIZE);
	/* Overwriting a full slot past the cap fails and keeps the old data. */
	t_fill_kind(buf, PAGE_RANDOM, 999);
	CHECK_EQ(dev->ops->write(dev, 3, buf, 1), -ENOSPC);
	REQUIRE_EQ(dev->ops->read(dev, 3, buf, 1), 0);
	CHECK(t_check_kind(buf, PAGE_RANDOM, 3));
	/* A multi-page write fails whole: no slot of it changes. */
	dev->ops->slot_free_notify(dev, 16);
	for (int i = 0; i < 4; i++)
		t_fill_kind(buf + i * PAGE_SIZE, PAGE_RANDOM, 500 + i);
	CHECK_EQ(dev->ops->write(dev, 13, buf, 4), -ENOSPC);
	REQUIRE_EQ(dev->ops->read(dev, 13, buf, 3), 0);
	for (int i = 0; i < 3; i++)
		CHECK(t_check_kind(buf + i * PAGE_SIZE, PAGE_RANDOM, 13 + i));
	/* Same-filled pages need no memory: still accepted at the cap. */
	t_fill_kind(buf, PAGE_SAME, 8);
	CHECK_EQ(dev->ops->write(dev, 40, buf, 1), 0);
	/* Freeing makes room again. */
	dev->ops->slot_free_notify(dev, 1);
	t_fill_kind(buf, PAGE_RANDOM, 1234);
	CHECK_EQ(dev->ops->write(dev, 41, buf, 1), 0);
	free(buf);
	destroy(a, dev);
}

TEST(zram_mem_limit_enospc_keeps_old_data_lz4)
{
	mem_limit_case(ZRAM_LZ4);
}

TEST(zram_mem_limit_enospc_keeps_old_data_zstd)
{
	mem_limit_case(ZRAM_ZSTD);
}

TEST(zram_alloc_failure_enomem_keeps_old_data)
{
	struct arena *a = t_arena();
	struct swap_dev *dev = t_zram(a, ZRAM_LZ4, 0);
	unsigned char *buf = pages(8);
	struct zram_stats before, after;

	REQUIRE(dev);
	for (int i = 0; i < 8; i++)
		t_fill_kind(buf + i * PAGE_SIZE, PAGE_TEXT, 10 + i);
	REQUIRE_EQ(dev->ops->write(dev, 10, buf, 8), 0);
	zram_get_stats(dev, &before);
	for (unsigned nth = 1; nth <= 8; nth++) {
		for (int i = 0; i < 8; i++)
			t_fill_kind(buf + i * PAGE_SIZE, PAGE_RANDOM, 100 * nth + i);
		arena_inject(a, nth, 0, 1);
		CHECK_EQ(dev->ops->write(dev, 10, buf, 8), -ENOMEM);
		arena_inject(a, 0, 0, 1);
		REQUIRE_EQ(dev->ops->read(dev, 10, buf, 8), 0);
		for (int i = 0; i < 8; i++)
			CHECK(t_check_kind(buf + i * PAGE_SIZE, PAGE_TEXT, 10 + i));
		zram_get_stats(dev, &after);
		CHECK_EQ(after.mem_used_total, before.mem_used_total);
		CHECK_EQ(after.compr_data_size, before.compr_data_size);
		CHECK_EQ(after.pages_stored, before.pages_stored);
	}
	free(buf);
	destroy(a, dev);
}

static void corrupt_case(enum zram_algo algo)
{
	struct arena *a = t_arena();
	struct swap_dev *dev = t_zram(a, algo, 0);
	unsigned char *buf = pages(1);

	REQUIRE(dev);
	t_fill_kind(buf, PAGE_TEXT, 4);
	REQUIRE_EQ(dev->ops->write(dev, 2, buf, 1), 0);
	REQUIRE_EQ(zram_corrupt_slot(dev, 2, 0, 0xff), 0);
	CHECK_EQ(dev->ops->read(dev, 2, buf, 1), -EIO);
	/* Same-filled slots have no block to corrupt. */
	t_fill_kind(buf, PAGE_ZERO, 0);
	REQUIRE_EQ(dev->ops->write(dev, 3, buf, 1), 0);
	CHECK_EQ(zram_corrupt_slot(dev, 3, 0, 1), -ENOENT);
	/* Rewriting a corrupt slot heals it. */
	t_fill_kind(buf, PAGE_TEXT, 5);
	REQUIRE_EQ(dev->ops->write(dev, 2, buf, 1), 0);
	REQUIRE_EQ(dev->ops->read(dev, 2, buf, 1), 0);
	CHECK(t_check_kind(buf, PAGE_TEXT, 5));
	free(buf);
	destroy(a, dev);
}

TEST(zram_corrupt_block_reads_eio_lz4)
{
	corrupt_case(ZRAM_LZ4);
}

TEST(zram_corrupt_block_reads_eio_zstd)
{
	corrupt_case(ZRAM_ZSTD);
}

TEST(zram_injected_faults_fail_the_nth_call)
{
	struct arena *a = t_arena();
	struct swap_dev *dev = t_zram(a, ZRAM_LZ4, 0);
	unsigned char *buf = pages(1);

	REQUIRE(dev);
	t_fill_kind(buf, PAGE_TEXT, 1);
	REQUIRE_EQ(dev->ops->write(dev, 1, buf, 1), 0);
	zram_inject(dev, 2, 3, -EIO);
	CHECK_EQ(dev->ops->read(dev, 1, buf, 1), 0);
	CHECK_EQ(dev->ops->read(dev, 1, buf, 1), -EIO);
	CHECK_EQ(dev->ops->read(dev, 1, buf, 1), 0);
	CHECK(t_check_kind(buf, PAGE_TEXT, 1));
	t_fill_kind(buf, PAGE_TEXT, 2);
	CHECK_EQ(dev->ops->write(dev, 2, buf, 1), 0);
	CHECK_EQ(dev->ops->write(dev, 1, buf, 1), 0);
	t_fill_kind(buf, PAGE_TEXT, 3);
	CHECK_EQ(dev->ops->write(dev, 1, buf, 1), -EIO);
	REQUIRE_EQ(dev->ops->read(dev, 1, buf, 1), 0);
	CHECK(t_check_kind(buf, PAGE_TEXT, 2));
	free(buf);
	destroy(a, dev);
}

/*
 * Writers own disjoint slot ranges and free each slot's neighbour while
 * writing: free_notify arrives while other slots are written.
 */
struct conc_arg {
	struct swap_dev *dev;
	pgoff_t first;
	unsigned nr;
	uint64_t seed;
	int errors;
};

static void *conc_worker(void *p)
{
	struct conc_arg *arg = p;
	unsigned char *buf = pages(1);
	uint64_t s = arg->seed;

	for (int iter = 0; iter < 600; iter++) {
		pgoff_t off = arg->first + t_rand(&s) % arg->nr;
		enum page_kind kind = t_rand(&s) % NR_PAGE_KINDS;
		uint64_t tag = t_rand(&s);

		t_fill_kind(buf, kind, tag);
		if (arg->dev->ops->write(arg->dev, off, buf, 1))
			arg->errors++;
		if (arg->dev->ops->read(arg->dev, off, buf, 1) || !t_check_kind(buf, kind, tag))
			arg->errors++;
		if (iter % 3 == 0)
			arg->dev->ops->slot_free_notify(arg->dev, off);
	}
	free(buf);
	return NULL;
}

static void concurrent_case(enum zram_algo algo)
{
	struct arena *a = t_arena();
	struct swap_dev *dev = t_zram(a, algo, 0);
	struct conc_arg args[4];
	pthread_t th[4];
	struct zram_stats st;

	REQUIRE(dev);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct conc_arg){dev, 1 + i * 32, 32, test_seed + i, 0};
		pthread_create(&th[i], NULL, conc_worker, &args[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(args[i].errors, 0);
	}
	for (pgoff_t off = 1; off < NR_SLOTS; off++)
		dev->ops->slot_free_notify(dev, off);
	zram_get_stats(dev, &st);
	CHECK_EQ(st.pages_stored, 0);
	CHECK_EQ(st.mem_used_total, 0);
	destroy(a, dev);
}

TEST(zram_concurrent_writers_and_frees_lz4)
{
	concurrent_case(ZRAM_LZ4);
}

TEST(zram_concurrent_writers_and_frees_zstd)
{
	concurrent_case(ZRAM_ZSTD);
}
