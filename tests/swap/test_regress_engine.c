// SPDX-License-Identifier: MIT
/*
 * test_regress_engine.c - regressions for bugs found in uswap's own engine
 * (as opposed to the seed's review, in test_regress_seed.c). Each test fails if
 * the bug comes back.
 *
 *  1. An order-0 allocation in flight when swapoff_begin() cleared
 *     SWP_WRITEOK cycled forever through the order-1 FRAG list (each scan
 *     refused, each cluster went back to the tail of the same list), holding
 *     a device reference, so swapoff could never finish.
 *  3. Swap readahead cached folios over hibernation slots (count 1, no
 *     folio) and read them while hibernation wrote them behind the swap
 *     cache: a data race on the device (found by stress_mm under TSan).
 *  2. A cluster taken off the discard list was marked NONE (isolated) while
 *     the device discarded it, so an allocator that met it took it for its
 *     own and could put it back in service before the discard completed:
 *     the discard then destroyed freshly written slots.
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "dev/dev.h"
#include "test.h"

struct hook_dev {
	struct swap_dev dev;
	void (*on_discard)(struct hook_dev *h, pgoff_t offset);
	bool armed;
	struct uswap *sw;
	int type;
};

static int hook_read(struct swap_dev *dev, pgoff_t offset, void *buf, unsigned nr)
{
	memset(buf, 0, (size_t)nr << PAGE_SHIFT);
	return 0;
}

static int hook_write(struct swap_dev *dev, pgoff_t offset, const void *buf, unsigned nr)
{
	return 0;
}

static int hook_discard(struct swap_dev *dev, pgoff_t offset, unsigned long nr)
{
	struct hook_dev *h = container_of(dev, struct hook_dev, dev);

	if (h->armed) {
		h->armed = false;
		h->on_discard(h, offset);
	}
	return 0;
}

static const struct swap_dev_ops hook_ops = {
	.name = "hook",
	.read = hook_read,
	.write = hook_write,
	.discard = hook_discard,
};

static void hook_dev_init(struct hook_dev *h, unsigned long nr_pages)
{
	memset(h, 0, sizeof(*h));
	h->dev.ops = &hook_ops;
	h->dev.flags = SWAP_DEV_SOLIDSTATE | SWAP_DEV_DISCARD;
	h->dev.nr_pages = nr_pages;
	h->dev.kind = "hook";
	strcpy(h->dev.name, "hook");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- 1: allocation vs swapoff_begin ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool in_discard, swapoff_started, alloc_returned;
static int alloc_err;

static void wait_for_swapoff(struct hook_dev *h, pgoff_t offset)
{
	pthread_mutex_lock(&mu);
	in_discard = true;
	pthread_cond_broadcast(&cv);
	while (!swapoff_started)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

static void *swapoff_when_discarding(void *arg)
{
	struct hook_dev *h = arg;

	pthread_mutex_lock(&mu);
	while (!in_discard)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	swapoff_begin(h->sw, (unsigned)h->type);
	pthread_mutex_lock(&mu);
	swapoff_started = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void *allocate_order0(void *arg)
{
	struct hook_dev *h = arg;
	struct folio *f = folio_alloc_locked(h->sw, 0);

	alloc_err = folio_alloc_swap(f);
	if (!alloc_err)
		folio_free_swap(f);
	folio_unlock(f);
	folio_put(f);
	atomic_store_release(&alloc_returned, true);
	return NULL;
}

TEST(allocation_in_flight_at_swapoff_begin_returns)
{
	struct uswap *sw = t_engine();
	static struct hook_dev h; /* outlives the test: the harness swaps it off */
	struct folio *big, *small;
	pthread_t a, b;
	double t0;

	hook_dev_init(&h, 3 * SWAPFILE_CLUSTER);
	h.on_discard = wait_for_swapoff;
	h.sw = sw;
	h.type = swapon(sw, &h.dev, 0);
	REQUIRE(h.type >= 0);
	/* An order-1 cluster on FRAG, and an emptied cluster queued for discard. */
	big = folio_alloc_locked(sw, 1);
	REQUIRE_EQ(folio_alloc_swap(big), 0);
	REQUIRE_EQ(folio_dup_swap(big, NULL), 0);
	/* Not held across swapoff_*(): the swap lock ranks before folio locks. */
	folio_unlock(big);
	small = folio_alloc_locked(sw, 0);
	REQUIRE_EQ(folio_alloc_swap(small), 0);
	CHECK(folio_free_swap(small));
	folio_unlock(small);
	folio_put(small);

	h.armed = true;
	pthread_create(&b, NULL, swapoff_when_discarding, &h);
	pthread_create(&a, NULL, allocate_order0, &h);
	t0 = now_s();
	while (!atomic_load_acquire(&alloc_returned) && now_s() - t0 < 5)
		usleep(1000);
	if (!atomic_load_acquire(&alloc_returned)) {
		test_fail(__FILE__, __LINE__, "allocation still running 5 s after swapoff_begin");
		swapoff_abort(sw, (unsigned)h.type);
	}
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	CHECK_EQ(alloc_err, -ENOMEM);

	/* Put the device back so the harness can take it down cleanly. */
	swapoff_abort(sw, (unsigned)h.type);
	folio_lock(big);
	CHECK_EQ(folio_put_swap(big, NULL), 0);
	CHECK(folio_free_swap(big));
	folio_unlock(big);
	folio_put(big);
}

/* ---- 2: a cluster under discard stays out of service ---- */

static struct folio *held[16];
static int nr_held;

static void allocate_during_discard(struct hook_dev *h, pgoff_t offset)
{
	struct swap_info_struct *si = h->sw->swap_info[h->type];
	struct swap_cluster_info *ci = __swap_offset_to_cluster(si, offset);

	/* No lock is held here: this is the window the bug lived in. */
	ulock_lock(&ci->lock);
	CHECK_EQ(ci->flags, CLUSTER_FLAG_DISCARD);
	CHECK(!ci->table && !ci->count);
	ulock_unlock(&ci->lock);
	for (nr_held = 0; nr_held < 16; nr_held++) {
		struct folio *f = folio_alloc_locked(h->sw, 0);

		if (folio_alloc_swap(f)) {
			folio_unlock(f);
			folio_put(f);
			break;
		}
		held[nr_held] = f;
		CHECK(swp_offset(folio_swap_entry(f)) / SWAPFILE_CLUSTER !=
		      offset / SWAPFILE_CLUSTER);
	}
}

TEST(cluster_being_discarded_is_not_handed_out)
{
	struct uswap *sw = t_engine();
	static struct hook_dev h; /* outlives the test: the harness swaps it off */
	struct folio *f;

	hook_dev_init(&h, 4 * SWAPFILE_CLUSTER);
	h.on_discard = allocate_during_discard;
	h.sw = sw;
	h.type = swapon(sw, &h.dev, 0);
	REQUIRE(h.type >= 0);
	/* Empty a whole cluster so that it is queued for discard. */
	f = folio_alloc_locked(sw, 9);
	REQUIRE_EQ(folio_alloc_swap(f), 0);
	CHECK(folio_free_swap(f));
	folio_unlock(f);
	folio_put(f);

	h.armed = true;
	f = folio_alloc_locked(sw, 0);
	CHECK_EQ(folio_alloc_swap(f), 0);
	CHECK(!h.armed); /* the discard ran */
	CHECK(nr_held > 0);
	CHECK_EQ(swap_check_all(sw), 0);
	CHECK(folio_free_swap(f));
	folio_unlock(f);
	folio_put(f);
	for (int i = 0; i < nr_held; i++) {
		CHECK(folio_free_swap(held[i]));
		folio_unlock(held[i]);
		folio_put(held[i]);
	}
}

/* ---- 3: hibernation slots are not swap-in targets ---- */

TEST(swap_in_refuses_hibernation_slots)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 2 * SWAPFILE_CLUSTER, SWAP_DEV_SYNC_IO | SWAP_DEV_SOLIDSTATE, 0);
	struct folio *folio, *f;
	swp_entry_t entry;
	bool new_folio;

	REQUIRE(type >= 0);
	entry = swap_alloc_hibernation_slot(sw, (unsigned)type);
	REQUIRE(entry.val);
	CHECK(swap_entry_swapped(sw, entry));
	/* Readahead's path: the entry is swapped, but no folio may be cached. */
	f = swap_cache_alloc_folio(sw, entry, &new_folio);
	CHECK(f == NULL);
	CHECK(!new_folio);
	CHECK(!swap_cache_has_folio(sw, entry));
	folio = folio_alloc_locked(sw, 0);
	CHECK_EQ(swap_cache_add_folio(folio, entry, NULL), -ENOENT);
	CHECK(swapin_folio(sw, entry, folio) == NULL);
	folio_unlock(folio);
	folio_put(folio);
	swap_free_hibernation_slot(sw, entry);
	CHECK(!swap_entry_swapped(sw, entry));
}
