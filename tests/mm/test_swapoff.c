// SPDX-License-Identifier: MIT
/*
 * test_swapoff.c - swapoff brings every page back (anon, shared after fork,
 * large, shmem, cache-only), is interruptible with the device put back in
 * service, and leaves other devices alone.
 *
 * Owns: nothing. Locking: single-threaded, but the racing test.
 */
#include <pthread.h>

#include "mm_test.h"

#define THP 4

struct world {
	struct model_as *parent, *child, *large;
	struct model_shmem *shm;
};

static void world_fill(struct model *m, struct world *w)
{
	uint64_t buf[PAGE_SIZE / 8];

	REQUIRE(!model_as_create(m, 4 << 20, 0, &w->parent));
	REQUIRE(!model_as_create(m, 2 << 20, THP, &w->large));
	REQUIRE(!model_shmem_create(m, 64, &w->shm));
	for (unsigned long p = 0; p < 300; p++)
		REQUIRE(!mt_fill(w->parent, p, 100000 + p));
	REQUIRE(!model_fork(w->parent, &w->child));
	for (unsigned long p = 0; p < 100; p++)
		REQUIRE(!mt_fill(w->child, p, 200000 + p));
	for (unsigned long p = 0; p < 64; p++)
		REQUIRE(!mt_fill(w->large, p, 300000 + p));
	for (unsigned long p = 0; p < 64; p++) {
		t_fill(buf, 400000 + p);
		REQUIRE(!model_shmem_write(w->shm, p << PAGE_SHIFT, buf, PAGE_SIZE));
	}
}

static void world_check(struct world *w)
{
	uint64_t buf[PAGE_SIZE / 8];

	for (unsigned long p = 0; p < 300; p++) {
		CHECK(mt_check(w->parent, p, 100000 + p));
		CHECK(mt_check(w->child, p, (p < 100 ? 200000 : 100000) + p));
	}
	for (unsigned long p = 0; p < 64; p++)
		CHECK(mt_check(w->large, p, 300000 + p));
	for (unsigned long p = 0; p < 64; p++)
		CHECK(!model_shmem_read(w->shm, p << PAGE_SHIFT, buf, PAGE_SIZE) &&
		      t_check(buf, 400000 + p));
}

static void swapoff_empties_device(unsigned long flags)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 2048, flags);
	struct model_info info;
	struct world w;

	world_fill(m, &w);
	model_reclaim(m, 100000);
	CHECK(mt_inuse(m, type) >= 400);
	CHECK(model_shmem_swapped(w.shm) == 64);
	/* Some pages back in memory with their slots kept (readahead devices). */
	CHECK(mt_check(w.parent, 150, 100150));
	CHECK(!model_swapoff(m, type, NULL, NULL));
	CHECK(!model_engine(m)->swap_info[type]->flags);
	CHECK_EQ(model_as_swapped(w.parent), 0);
	CHECK_EQ(model_as_swapped(w.child), 0);
	CHECK_EQ(model_as_swapped(w.large), 0);
	CHECK_EQ(model_shmem_swapped(w.shm), 0);
	model_info(m, &info);
	CHECK_EQ(info.swap_total, 0);
	world_check(&w);
	model_destroy(m);
}

TEST(swapoff_empties_sync_io_device_with_every_byte_intact)
{
	swapoff_empties_device(SWAP_DEV_SYNC_IO);
}

TEST(swapoff_empties_readahead_device_with_every_byte_intact)
{
	swapoff_empties_device(0);
}

static bool interrupt_after(void *arg)
{
	int *left = arg;

	return --*left < 0;
}

TEST(interrupted_swapoff_puts_device_back)
{
	struct model *m = mt_model();
	unsigned type = mt_swapon(m, 2048, 0);
	struct model_info info;
	int left = 50;
	struct world w;

	world_fill(m, &w);
	model_reclaim(m, 100000);
	CHECK_EQ(model_swapoff(m, type, interrupt_after, &left), -EINTR);
	CHECK(model_engine(m)->swap_info[type]->flags & SWP_WRITEOK);
	model_info(m, &info);
	CHECK(info.swap_total > 0);
	/* Still in service: reclaim can use it. */
	CHECK(mt_check(w.parent, 299, 100299));
	CHECK(!mt_fill(w.parent, 299, 5));
	CHECK_EQ(model_madvise(w.parent, mt_addr(w.parent, 299), PAGE_SIZE, MODEL_MADV_PAGEOUT), 1);
	CHECK(!model_swapoff(m, type, NULL, NULL));
	CHECK(mt_check(w.parent, 299, 5));
	CHECK(!mt_fill(w.parent, 299, 100299));
	world_check(&w);
	model_destroy(m);
}

TEST(swapoff_of_one_device_leaves_the_other)
{
	struct model *m = mt_model();
	unsigned a = mt_swapon(m, 1024, 0);
	struct model_as *as;
	unsigned b;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &as));
	for (unsigned long p = 0; p < 100; p++)
		REQUIRE(!mt_fill(as, p, p));
	REQUIRE(model_madvise(as, mt_addr(as, 0), 50 * PAGE_SIZE, MODEL_MADV_PAGEOUT) == 50);
	/* Higher priority: the next pages go there. */
	b = (unsigned)model_swapon_ram(m, 1024, 0, 10);
	REQUIRE(model_madvise(as, mt_addr(as, 50), 50 * PAGE_SIZE, MODEL_MADV_PAGEOUT) == 50);
	CHECK_EQ(mt_inuse(m, b), 50);
	CHECK(!model_swapoff(m, a, NULL, NULL));
	CHECK_EQ(model_as_swapped(as), 50);
	CHECK_EQ(mt_inuse(m, b), 50);
	for (unsigned long p = 0; p < 100; p++)
		CHECK(mt_check(as, p, p));
	CHECK_EQ(model_swapoff(m, a, NULL, NULL), -EINVAL);
	model_destroy(m);
}

struct churn {
	struct model_as *as;
	bool stop; /* atomic */
	bool ok;
};

static void *churn_main(void *arg)
{
	struct churn *c = arg;
	uint64_t seed = test_seed;

	c->ok = true;
	while (!atomic_load_acquire(&c->stop)) {
		unsigned long p = t_rand(&seed) % 256;

		if (t_rand(&seed) % 4 == 0)
			model_madvise(c->as, mt_addr(c->as, p), PAGE_SIZE, MODEL_MADV_PAGEOUT);
		else if (!mt_check(c->as, p, 900 + p))
			c->ok = false;
	}
	return NULL;
}

TEST(swapoff_races_with_faults_and_reclaim)
{
	struct model *m = mt_model();
	unsigned a = mt_swapon(m, 1024, SWAP_DEV_SYNC_IO);
	struct churn c = {0};
	pthread_t t;
	unsigned b;

	REQUIRE(!model_as_create(m, 2 << 20, 0, &c.as));
	for (unsigned long p = 0; p < 256; p++)
		REQUIRE(!mt_fill(c.as, p, 900 + p));
	REQUIRE(model_madvise(c.as, mt_addr(c.as, 0), 256 * PAGE_SIZE, MODEL_MADV_PAGEOUT) == 256);
	b = mt_swapon(m, 1024, 0);
	pthread_create(&t, NULL, churn_main, &c);
	for (int round = 0; round < 5; round++) {
		CHECK(!model_swapoff(m, a, NULL, NULL));
		a = mt_swapon(m, 1024, SWAP_DEV_SYNC_IO);
		CHECK(!model_swapoff(m, b, NULL, NULL));
		b = mt_swapon(m, 1024, 0);
	}
	atomic_store_release(&c.stop, true);
	pthread_join(t, NULL);
	CHECK(c.ok);
	CHECK(!model_check(m));
	model_destroy(m);
}
