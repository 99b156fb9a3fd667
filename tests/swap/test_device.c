// SPDX-License-Identifier: MIT
/*
 * test_device.c - swap devices: swapon and its types, priorities across
 * devices (higher first until full, equal ones rotate), the avail list, the
 * 32-device limit, get_swap_device/put_swap_device, swapoff in steps
 * (begin/abort/finish), and entries of devices that are gone.
 *
 * Owns: nothing. Locking: the swapoff tests use helper threads.
 */
#include "swap_test.h"

#include <sched.h>

TEST(swapon_returns_consecutive_types)
{
	struct uswap *sw = t_engine();

	CHECK_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	CHECK_EQ(t_ramdev(sw, 1024, T_SSD, -1), 1);
	CHECK_EQ(t_ramdev(sw, 1024, T_SSD, 7), 2);
	CHECK_EQ(sw->nr_swapfiles, 3);
}

TEST(swapon_default_priorities_decrease)
{
	struct uswap *sw = t_engine();
	int a = t_ramdev(sw, 1024, T_SSD, -1);
	int b = t_ramdev(sw, 1024, T_SSD, -1);
	int c = t_ramdev(sw, 1024, T_SSD, 3);

	REQUIRE(a >= 0 && b >= 0 && c >= 0);
	CHECK_EQ(t_si(sw, a)->prio, -1);
	CHECK_EQ(t_si(sw, b)->prio, -2);
	CHECK_EQ(t_si(sw, c)->prio, 3);
}

TEST(swapon_sets_device_fields)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 1000, SWAP_DEV_SOLIDSTATE | SWAP_DEV_SYNC_IO, 1);
	struct swap_info_struct *si;

	REQUIRE_EQ(type, 0);
	si = t_si(sw, type);
	CHECK_EQ(si->type, 0);
	CHECK_EQ(si->max, 1000);
	/* Slot 0 holds the header. */
	CHECK_EQ(si->pages, 999);
	CHECK_EQ(swap_inuse_pages(si), 0);
	CHECK_EQ(si->nr_clusters, 2);
	CHECK(si->flags & SWP_USED);
	CHECK(si->flags & SWP_WRITEOK);
	CHECK(si->flags & SWP_SOLIDSTATE);
	CHECK(si->flags & SWP_SYNCHRONOUS_IO);
	CHECK(!(si->flags & SWP_DISCARDABLE));
	CHECK(si->on_avail);
	CHECK_EQ(sw->total_swap_pages, 999);
	CHECK_EQ(get_nr_swap_pages(sw), 999);
	/* The tail of the last cluster past max is unusable: bad. */
	CHECK_EQ(t_map(sw, swp_entry(type, 0)), SWAP_MAP_BAD);
	CHECK_EQ(t_map(sw, swp_entry(type, 1000)), SWAP_MAP_BAD);
	CHECK_EQ(t_map(sw, swp_entry(type, 1023)), SWAP_MAP_BAD);
	CHECK_EQ(t_map(sw, swp_entry(type, 999)), 0);
}

TEST(swapon_counts_bad_slots_out)
{
	static const uint32_t bad[] = {5, 600, 601};
	struct uswap *sw = t_engine();
	int type = t_ramdev_bad(sw, 1024, T_SSD, -1, bad, 3);

	REQUIRE_EQ(type, 0);
	CHECK_EQ(t_si(sw, type)->pages, 1023 - 3);
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(t_map(sw, swp_entry(type, bad[i])), SWAP_MAP_BAD);
}

TEST(swapon_refuses_bad_slot_out_of_range)
{
	static const uint32_t bad_hi[] = {1024}, bad_zero[] = {0};
	struct uswap *sw = t_engine();

	CHECK_EQ(t_ramdev_bad(sw, 1024, T_SSD, -1, bad_hi, 1), -EINVAL);
	CHECK_EQ(t_ramdev_bad(sw, 1024, T_SSD, -1, bad_zero, 1), -EINVAL);
	/* A refused device takes no type. */
	CHECK_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	CHECK_EQ(sw->total_swap_pages, 1023);
}

TEST(swapon_refuses_null_device)
{
	struct uswap *sw = t_engine();

	CHECK_EQ(swapon(sw, NULL, -1), -EINVAL);
}

TEST(swapon_past_32_devices_is_ebusy)
{
	struct uswap *sw = t_engine();
	struct swap_dev *dev;
	size_t in_use;

	for (int i = 0; i < MAX_SWAPFILES; i++)
		REQUIRE_EQ(t_ramdev(sw, 2, T_SSD, -1), i);
	in_use = arena_in_use(sw->arena);
	REQUIRE_EQ(ramdev_create(&dev, sw->arena, 2, T_SSD), 0);
	CHECK_EQ(swapon(sw, dev, -1), -EBUSY);
	/* The engine owned the refused device and destroyed it. */
	CHECK_EQ(arena_in_use(sw->arena), in_use);
	CHECK_EQ(sw->total_swap_pages, MAX_SWAPFILES);
}

TEST(higher_priority_device_is_used_first_until_full)
{
	struct uswap *sw = t_engine();
	int lo = t_ramdev(sw, 2048, T_SSD, 5);
	int hi = t_ramdev(sw, 512, T_SSD, 10);
	swp_entry_t entries[511], e;

	REQUIRE(lo >= 0 && hi >= 0);
	for (unsigned i = 0; i < ARRAY_SIZE(entries); i++) {
		entries[i] = t_alloc_entry(sw, 0);
		REQUIRE(entries[i].val);
		CHECK_EQ(swp_type(entries[i]), hi);
	}
	CHECK_EQ(t_inuse(sw, hi), t_si(sw, hi)->pages);
	e = t_alloc_entry(sw, 0);
	CHECK_EQ(swp_type(e), lo);
	swap_put_entries_direct(sw, e, 1);
	for (unsigned i = 0; i < ARRAY_SIZE(entries); i++)
		swap_put_entries_direct(sw, entries[i], 1);
}

TEST(full_device_leaves_avail_list_and_returns_when_a_slot_frees)
{
	struct uswap *sw = t_engine();
	int lo = t_ramdev(sw, 2048, T_SSD, 5);
	int hi = t_ramdev(sw, 512, T_SSD, 10);
	swp_entry_t entries[511], e;

	REQUIRE(lo >= 0 && hi >= 0);
	for (unsigned i = 0; i < ARRAY_SIZE(entries); i++) {
		entries[i] = t_alloc_entry(sw, 0);
		REQUIRE(entries[i].val);
	}
	CHECK(!t_si(sw, hi)->on_avail);
	CHECK(t_si(sw, lo)->on_avail);
	swap_put_entries_direct(sw, entries[100], 1);
	CHECK(t_si(sw, hi)->on_avail);
	/* The freed slot of the higher-priority device is the next one used. */
	e = t_alloc_entry(sw, 0);
	CHECK_EQ(e.val, entries[100].val);
	entries[100] = e;
	CHECK(!t_si(sw, hi)->on_avail);
	for (unsigned i = 0; i < ARRAY_SIZE(entries); i++)
		swap_put_entries_direct(sw, entries[i], 1);
}

TEST(equal_priority_devices_rotate)
{
	struct uswap *sw = t_engine();
	int a = t_ramdev(sw, 3 * 512, T_SSD, 5);
	int b = t_ramdev(sw, 3 * 512, T_SSD, 5);
	swp_entry_t e[4];
	int used[2] = {0, 0};

	REQUIRE(a == 0 && b == 1);
	/* One PMD-sized entry per cluster: each takes the slow path. */
	for (unsigned i = 0; i < ARRAY_SIZE(e); i++) {
		e[i] = t_alloc_entry(sw, HPAGE_PMD_ORDER);
		REQUIRE(e[i].val);
		used[swp_type(e[i])]++;
		if (i)
			CHECK(swp_type(e[i]) != swp_type(e[i - 1]));
	}
	CHECK_EQ(used[0], 2);
	CHECK_EQ(used[1], 2);
	for (unsigned i = 0; i < ARRAY_SIZE(e); i++)
		swap_put_entries_direct(sw, e[i], 1 << HPAGE_PMD_ORDER);
}

TEST(equal_priority_devices_share_order0_load)
{
	struct uswap *sw = t_engine();
	int a = t_ramdev(sw, 8 * 512, T_SSD, 5);
	int b = t_ramdev(sw, 8 * 512, T_SSD, 5);
	static swp_entry_t e[4 * 512];

	REQUIRE(a == 0 && b == 1);
	for (unsigned i = 0; i < ARRAY_SIZE(e); i++) {
		e[i] = t_alloc_entry(sw, 0);
		REQUIRE(e[i].val);
	}
	/* Four clusters' worth: neither device may have taken them all. */
	CHECK(t_inuse(sw, a) >= 512);
	CHECK(t_inuse(sw, b) >= 512);
	for (unsigned i = 0; i < ARRAY_SIZE(e); i++)
		swap_put_entries_direct(sw, e[i], 1);
}

TEST(get_swap_device_pins_a_device)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 1024, T_SSD, -1);
	struct swap_info_struct *si;

	REQUIRE_EQ(type, 0);
	si = get_swap_device(sw, swp_entry(type, 1));
	CHECK(si == t_si(sw, type));
	if (si)
		put_swap_device(si);
	si = get_swap_device(sw, swp_entry(type, 1023));
	CHECK(si == t_si(sw, type));
	if (si)
		put_swap_device(si);
}

TEST(get_swap_device_refuses_invalid_entries)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 1000, T_SSD, -1);

	REQUIRE_EQ(type, 0);
	CHECK(get_swap_device(sw, (swp_entry_t){0}) == NULL);
	/* Past max (the cluster's tail) and past the cluster array. */
	CHECK(get_swap_device(sw, swp_entry(type, 1000)) == NULL);
	CHECK(get_swap_device(sw, swp_entry(type, 1UL << 30)) == NULL);
	/* A type that never had a device. */
	CHECK(get_swap_device(sw, swp_entry(9, 1)) == NULL);
	CHECK(get_swap_device(sw, swp_entry(31, 1)) == NULL);
}

TEST(get_swap_device_refuses_removed_device)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 1024, T_SSD, -1);

	REQUIRE_EQ(type, 0);
	REQUIRE_EQ(swapoff_begin(sw, type), 0);
	REQUIRE_EQ(swapoff_finish(sw, type), 0);
	CHECK(get_swap_device(sw, swp_entry(type, 1)) == NULL);
}

struct finisher {
	struct uswap *sw;
	unsigned type;
	int ret;
	int done; /* atomic */
};

static void *finish_fn(void *arg)
{
	struct finisher *f = arg;

	f->ret = swapoff_finish(f->sw, f->type);
	atomic_store_release(&f->done, 1);
	return NULL;
}

TEST(swapoff_finish_waits_for_device_users)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 1024, T_SSD, -1);
	struct finisher f = {.sw = sw, .type = (unsigned)type};
	struct swap_info_struct *si;
	pthread_t t;

	REQUIRE_EQ(type, 0);
	si = get_swap_device(sw, swp_entry(type, 1));
	REQUIRE(si);
	REQUIRE_EQ(swapoff_begin(sw, type), 0);
	REQUIRE_EQ(pthread_create(&t, NULL, finish_fn, &f), 0);
	t_sleep_ms(50);
	CHECK(!atomic_load_acquire(&f.done));
	/* Still usable by the holder of the reference. */
	CHECK(si->swap_map != NULL);
	put_swap_device(si);
	pthread_join(t, NULL);
	CHECK_EQ(f.ret, 0);
	CHECK(!(t_si(sw, type)->flags & SWP_USED));
}

TEST(swapoff_begin_stops_allocation)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 1024, T_SSD, -1);
	int err;

	REQUIRE_EQ(type, 0);
	REQUIRE_EQ(swapoff_begin(sw, type), 0);
	CHECK(!(t_si(sw, type)->flags & SWP_WRITEOK));
	CHECK(!t_si(sw, type)->on_avail);
	CHECK_EQ(sw->total_swap_pages, 0);
	CHECK_EQ(get_nr_swap_pages(sw), 0);
	CHECK(t_swap_folio_err(sw, 0, &err) == NULL);
	CHECK_EQ(err, -ENOMEM);
	CHECK_EQ(swap_alloc_hibernation_slot(sw, type).val, 0);
	CHECK_EQ(swapoff_finish(sw, type), 0);
}

TEST(swapoff_begin_twice_is_einval)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 1024, T_SSD, -1);

	REQUIRE_EQ(type, 0);
	REQUIRE_EQ(swapoff_begin(sw, type), 0);
	CHECK_EQ(swapoff_begin(sw, type), -EINVAL);
	CHECK_EQ(swapoff_finish(sw, type), 0);
}

TEST(swapoff_of_unknown_device_is_einval)
{
	struct uswap *sw = t_engine();

	CHECK_EQ(swapoff_begin(sw, 0), -EINVAL);
	CHECK_EQ(swapoff_begin(sw, 40), -EINVAL);
	CHECK_EQ(swapoff_finish(sw, 3), -EINVAL);
	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	CHECK_EQ(swapoff_begin(sw, 1), -EINVAL);
}

TEST(swapoff_finish_without_begin_is_einval)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 1024, T_SSD, -1);

	REQUIRE_EQ(type, 0);
	CHECK_EQ(swapoff_finish(sw, type), -EINVAL);
	CHECK(t_si(sw, type)->flags & SWP_WRITEOK);
}

TEST(swapoff_finish_is_ebusy_while_slots_in_use)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 1024, T_SSD, -1);
	swp_entry_t e;

	REQUIRE_EQ(type, 0);
	e = t_alloc_entry(sw, 2);
	REQUIRE(e.val);
	REQUIRE_EQ(swapoff_begin(sw, type), 0);
	CHECK_EQ(swapoff_finish(sw, type), -EBUSY);
	CHECK(t_si(sw, type)->flags & SWP_USED);
	/* Entries of a device being swapped off still work (unuse needs them). */
	CHECK_EQ(swp_swapcount(sw, e), 1);
	swap_put_entries_direct(sw, e, 4);
	CHECK_EQ(t_inuse(sw, type), 0);
	CHECK_EQ(get_nr_swap_pages(sw), 0);
	CHECK_EQ(swapoff_finish(sw, type), 0);
	CHECK(!(t_si(sw, type)->flags & SWP_USED));
}

TEST(swapoff_abort_puts_device_back_in_service)
{
	struct uswap *sw = t_engine();
	int type = t_ramdev(sw, 1024, T_SSD, -1);
	swp_entry_t e, f;

	REQUIRE_EQ(type, 0);
	e = t_alloc_entry(sw, 0);
	REQUIRE(e.val);
	REQUIRE_EQ(swapoff_begin(sw, type), 0);
	swapoff_abort(sw, type);
	CHECK(t_si(sw, type)->flags & SWP_WRITEOK);
	CHECK(t_si(sw, type)->on_avail);
	CHECK_EQ(sw->total_swap_pages, 1023);
	CHECK_EQ(get_nr_swap_pages(sw), 1022);
	f = t_alloc_entry(sw, 0);
	CHECK(f.val);
	CHECK_EQ(get_nr_swap_pages(sw), 1021);
	swap_put_entries_direct(sw, e, 1);
	if (f.val)
		swap_put_entries_direct(sw, f, 1);
	CHECK_EQ(get_nr_swap_pages(sw), 1023);
}

TEST(swapon_reuses_type_of_removed_device)
{
	struct uswap *sw = t_engine();

	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, 10), 0);
	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, 5), 1);
	REQUIRE(t_alloc_entry(sw, 0).val == swp_entry(0, 1).val);
	swap_put_entries_direct(sw, swp_entry(0, 1), 1);
	REQUIRE_EQ(swapoff_begin(sw, 0), 0);
	REQUIRE_EQ(swapoff_finish(sw, 0), 0);
	CHECK_EQ(t_ramdev(sw, 2048, T_SSD, 10), 0);
	CHECK_EQ(t_si(sw, 0)->pages, 2047);
	CHECK(get_swap_device(sw, swp_entry(0, 1)) != NULL);
	put_swap_device(t_si(sw, 0));
	/* A fresh device: no stale allocation cursor leads into the old one. */
	CHECK_EQ(swp_type(t_alloc_entry(sw, 0)), 0);
	swap_put_entries_direct(sw, swp_entry(0, 1), 1);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

TEST(entries_of_a_removed_device_are_refused_with_warn)
{
	struct uswap *sw = t_engine();
	int gone = t_ramdev(sw, 1024, T_SSD, -1);
	int live = t_ramdev(sw, 1024, T_SSD, -1);
	swp_entry_t e = swp_entry((unsigned)gone, 1), l;
	unsigned long warns;

	REQUIRE(gone == 0 && live == 1);
	REQUIRE_EQ(swapoff_begin(sw, gone), 0);
	REQUIRE_EQ(swapoff_finish(sw, gone), 0);
	l = t_alloc_entry(sw, 0);
	REQUIRE(l.val);

	warns = warn_count();
	CHECK_EQ(swap_dup_entry_direct(sw, e), -EINVAL);
	CHECK(warn_count() > warns);
	warns = warn_count();
	swap_put_entries_direct(sw, e, 1);
	CHECK(warn_count() > warns);
	warns = warn_count();
	swap_free_hibernation_slot(sw, e);
	CHECK(warn_count() > warns);
	CHECK_EQ(swp_swapcount(sw, e), 0);
	CHECK(!swap_entry_swapped(sw, e));
	CHECK_EQ(swap_alloc_hibernation_slot(sw, gone).val, 0);
	/* Nothing else changed. */
	CHECK_EQ(swp_swapcount(sw, l), 1);
	CHECK_EQ(t_inuse(sw, live), 1);
	CHECK_EQ(get_nr_swap_pages(sw), 1022);
	swap_put_entries_direct(sw, l, 1);
}

TEST(entries_of_a_type_never_used_are_refused_with_warn)
{
	struct uswap *sw = t_engine();
	swp_entry_t e = swp_entry(7, 1);
	unsigned long warns;

	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	warns = warn_count();
	CHECK_EQ(swap_dup_entry_direct(sw, e), -EINVAL);
	swap_put_entries_direct(sw, e, 1);
	swap_free_hibernation_slot(sw, e);
	CHECK_EQ(warn_count(), warns + 3);
	CHECK_EQ(t_inuse(sw, 0), 0);
}

struct racing_alloc {
	struct uswap *sw;
	int stop;		  /* atomic: swapoff_begin() returned */
	unsigned long after_stop; /* allocations that began after it returned */
	swp_entry_t entries[512];
	unsigned nr;
};

static void *racing_alloc_fn(void *arg)
{
	struct racing_alloc *r = arg;

	while (r->nr < ARRAY_SIZE(r->entries)) {
		bool stopped = atomic_load_acquire(&r->stop);
		swp_entry_t e = t_alloc_entry(r->sw, 0);

		if (!e.val) {
			if (stopped)
				break;
			continue;
		}
		r->entries[r->nr++] = e;
		if (stopped)
			r->after_stop++;
	}
	return NULL;
}

TEST(swapoff_begin_drains_inflight_allocations)
{
	struct uswap *sw = t_engine();

	for (int round = 0; round < 1000; round++) {
		int type = t_ramdev(sw, 512, T_SSD, -1);
		struct racing_alloc r = {.sw = sw};
		unsigned long inuse;
		pthread_t t;

		REQUIRE_EQ(type, 0);
		REQUIRE_EQ(pthread_create(&t, NULL, racing_alloc_fn, &r), 0);
		for (unsigned spin = 1; t_inuse(sw, type) < 4; spin++)
			if (spin % 1024 == 0)
				sched_yield();
		REQUIRE_EQ(swapoff_begin(sw, type), 0);
		/* Whatever is allocated now is all that may ever be. */
		inuse = t_inuse(sw, type);
		atomic_store_release(&r.stop, 1);
		pthread_join(t, NULL);
		CHECK_EQ(r.after_stop, 0);
		CHECK_EQ(t_inuse(sw, type), inuse);
		for (unsigned i = 0; i < r.nr; i++)
			swap_put_entries_direct(sw, r.entries[i], 1);
		REQUIRE_EQ(swapoff_finish(sw, type), 0);
	}
}

static void alloc_order1_child(void *arg)
{
	struct uswap *sw = arg;
	int err;

	/* A hang is the failure: let the alarm kill us. */
	alarm(10);
	t_swap_folio_err(sw, 1, &err);
	_exit(err == -ENOMEM ? 0 : 1);
}

TEST(equal_priority_devices_that_cannot_serve_an_order_fail_promptly)
{
	struct uswap *sw = t_engine();
	char err[512];
	int status;

	/* One cluster each: the header slot leaves them order-0 clusters only. */
	REQUIRE_EQ(t_ramdev(sw, 512, T_SSD, 5), 0);
	REQUIRE_EQ(t_ramdev(sw, 512, T_SSD, 5), 1);
	REQUIRE_EQ(t_ramdev(sw, 512, T_SSD, 5), 2);
	REQUIRE_EQ(t_run_child(alloc_order1_child, sw, &status, err, sizeof(err)), 0);
	CHECK(WIFEXITED(status));
	if (WIFEXITED(status))
		CHECK_EQ(WEXITSTATUS(status), 0);
	else if (WIFSIGNALED(status))
		CHECK(WTERMSIG(status) != SIGALRM);
}

/* A device with no memory behind it, for swapon's refusals. */
static int fake_destroyed;

static void fake_destroy(struct swap_dev *dev)
{
	fake_destroyed++;
}

static const struct swap_dev_ops fake_ops = {
	.name = "fake",
	.destroy = fake_destroy,
};

TEST(swapon_refuses_devices_too_small_or_too_large)
{
	struct uswap *sw = t_engine();
	static struct swap_dev dev = {.ops = &fake_ops, .kind = "fake"};

	fake_destroyed = 0;
	dev.nr_pages = 1;
	CHECK_EQ(swapon(sw, &dev, -1), -EINVAL);
	dev.nr_pages = 0;
	CHECK_EQ(swapon(sw, &dev, -1), -EINVAL);
	dev.nr_pages = SWP_OFFSET_MASK + 1;
	CHECK_EQ(swapon(sw, &dev, -1), -EINVAL);
	/* The engine owned each device it refused. */
	CHECK_EQ(fake_destroyed, 3);
	CHECK_EQ(sw->total_swap_pages, 0);
}

/* Fail each allocation of swapon in turn: nothing may be left behind. */
static void swapon_under_injection(struct uswap *sw, int type)
{
	struct swap_dev *dev;
	size_t before;
	int err = -ENOMEM;

	for (unsigned long nth = 1; err == -ENOMEM && nth < 20; nth++) {
		before = arena_in_use(sw->arena);
		REQUIRE_EQ(ramdev_create(&dev, sw->arena, 3 * 512 + 7, T_SSD), 0);
		arena_inject(sw->arena, nth, 0, 0);
		err = swapon(sw, dev, -1);
		arena_inject(sw->arena, 0, 0, 0);
		if (err != -ENOMEM)
			break;
		CHECK_EQ(arena_in_use(sw->arena), before);
		CHECK(!t_si(sw, type) || !(t_si(sw, type)->flags & SWP_USED));
		CHECK_EQ(pool_live(&sw->table_pool), 0);
	}
	CHECK_EQ(err, type);
	CHECK_EQ(swap_check_all(sw), 0);
}

TEST(swapon_without_memory_fails_cleanly)
{
	struct uswap *sw = t_engine();

	swapon_under_injection(sw, 0);
}

TEST(swapon_without_memory_fails_cleanly_on_a_reused_type)
{
	struct uswap *sw = t_engine();

	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	REQUIRE_EQ(swapoff_begin(sw, 0), 0);
	REQUIRE_EQ(swapoff_finish(sw, 0), 0);
	swapon_under_injection(sw, 0);
}

TEST(swapoff_releases_all_device_memory)
{
	struct uswap *sw = t_engine();
	size_t in_use;
	swp_entry_t e;

	/* The first swapon of a type allocates its descriptor, kept for good. */
	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	REQUIRE_EQ(swapoff_begin(sw, 0), 0);
	REQUIRE_EQ(swapoff_finish(sw, 0), 0);
	in_use = arena_in_use(sw->arena);

	REQUIRE_EQ(t_ramdev(sw, 4 * 512, T_SSD | SWAP_DEV_DISCARD, -1), 0);
	e = t_alloc_entry(sw, 4);
	REQUIRE(e.val);
	for (int i = 0; i < 100; i++)
		REQUIRE_EQ(swap_dup_entry_direct(sw, e), 0);
	for (int i = 0; i < 101; i++)
		swap_put_entries_direct(sw, e, 1);
	swap_put_entries_direct(sw, (swp_entry_t){e.val + 1}, 15);
	REQUIRE_EQ(swapoff_begin(sw, 0), 0);
	REQUIRE_EQ(swapoff_finish(sw, 0), 0);
	CHECK_EQ(arena_in_use(sw->arena), in_use);
	CHECK_EQ(pool_live(&sw->table_pool), 0);
}
