// SPDX-License-Identifier: MIT
/*
 * test_entry.c - swap entries (type in the top 5 bits, offset below, 0
 * invalid) and folios: allocation of every order, references, the folio lock
 * (trylock, blocking waiters that sleep), type-stable descriptors.
 *
 * Owns: nothing. Locking: the blocking tests use one helper thread each.
 */
#include "swap_test.h"

TEST(entry_packs_type_in_top_five_bits)
{
	CHECK_EQ(MAX_SWAPFILES, 32);
	CHECK_EQ(swp_entry(1, 0).val, 1UL << (BITS_PER_LONG - 5));
	CHECK_EQ(swp_entry(31, 0).val >> (BITS_PER_LONG - 5), 31);
	CHECK_EQ(swp_entry(0, 12345).val, 12345);
}

TEST(entry_round_trips_every_type_and_offset)
{
	static const pgoff_t offsets[] = {0, 1, 511, 512, 123456789, SWP_OFFSET_MASK};

	for (unsigned type = 0; type < MAX_SWAPFILES; type++) {
		for (unsigned i = 0; i < ARRAY_SIZE(offsets); i++) {
			swp_entry_t e = swp_entry(type, offsets[i]);

			CHECK_EQ(swp_type(e), type);
			CHECK_EQ(swp_offset(e), offsets[i]);
		}
	}
}

TEST(entry_offset_never_spills_into_type)
{
	swp_entry_t e = swp_entry(3, SWP_OFFSET_MASK + 5);

	CHECK_EQ(swp_type(e), 3);
	CHECK_EQ(swp_offset(e), 4);
}

TEST(entry_zero_is_invalid)
{
	struct uswap *sw = t_engine();
	swp_entry_t zero = {0};
	unsigned long warns;

	REQUIRE_EQ(t_ramdev(sw, 1024, T_SSD, -1), 0);
	/* Type 0, offset 0 names the header slot of device 0: never usable. */
	CHECK(get_swap_device(sw, zero) == NULL);
	CHECK_EQ(swp_swapcount(sw, zero), 0);
	CHECK(!swap_entry_swapped(sw, zero));
	warns = warn_count();
	CHECK_EQ(swap_dup_entry_direct(sw, zero), -EINVAL);
	CHECK(warn_count() > warns);
}

TEST(folio_alloc_every_order)
{
	struct uswap *sw = t_engine();

	for (unsigned order = 0; order <= MAX_PAGE_ORDER; order++) {
		struct folio *folio = folio_alloc(sw, order);

		REQUIRE(folio);
		CHECK_EQ(folio_order(folio), order);
		CHECK_EQ(folio_nr_pages(folio), 1UL << order);
		CHECK_EQ(folio_size(folio), PAGE_SIZE << order);
		CHECK_EQ(folio_ref_count(folio), 1);
		CHECK_EQ(folio->flags, 0);
		CHECK_EQ(folio_swap_entry(folio).val, 0);
		CHECK(!folio_test_locked(folio));
		CHECK(!folio_mapped(folio));
		CHECK(IS_ALIGNED((uintptr_t)folio->data, PAGE_SIZE));
		/* Every byte is the folio's to use. */
		memset(folio->data, 0xa5, folio_size(folio));
		CHECK_EQ(pool_live(&sw->folio_pool), 1);
		folio_put(folio);
		CHECK_EQ(pool_live(&sw->folio_pool), 0);
	}
}

TEST(folio_alloc_refuses_order_above_max)
{
	struct uswap *sw = t_engine();

	CHECK(folio_alloc(sw, MAX_PAGE_ORDER + 1) == NULL);
	CHECK_EQ(pool_live(&sw->folio_pool), 0);
}

TEST(folio_alloc_failure_leaks_nothing)
{
	struct uswap *sw = t_engine();
	size_t before = arena_in_use(sw->arena);

	/* The data allocation fails, then the descriptor's. */
	for (unsigned long nth = 1; nth <= 2; nth++) {
		arena_inject(sw->arena, nth, 0, 0);
		CHECK(folio_alloc(sw, 2) == NULL);
		arena_inject(sw->arena, 0, 0, 0);
		CHECK_EQ(pool_live(&sw->folio_pool), 0);
		CHECK_EQ(arena_in_use(sw->arena), before);
	}
}

TEST(folio_page_indexes_pages_of_the_folio)
{
	struct uswap *sw = t_engine();
	struct folio *folio = folio_alloc(sw, 3);

	REQUIRE(folio);
	for (unsigned long i = 0; i < folio_nr_pages(folio); i++) {
		struct page *page = folio_page(folio, i);

		CHECK(page_address(page) == (char *)folio->data + i * PAGE_SIZE);
		CHECK_EQ(folio_page_idx(folio, page), i);
	}
	folio_put(folio);
}

TEST(folio_last_put_frees_it)
{
	struct uswap *sw = t_engine();
	struct folio *folio = folio_alloc(sw, 0);

	REQUIRE(folio);
	folio_get(folio);
	folio_ref_add(folio, 2);
	CHECK_EQ(folio_ref_count(folio), 4);
	folio_put_refs(folio, 3);
	CHECK_EQ(pool_live(&sw->folio_pool), 1);
	CHECK_EQ(folio_ref_count(folio), 1);
	folio_put(folio);
	CHECK_EQ(pool_live(&sw->folio_pool), 0);
}

TEST(folio_try_get_fails_on_freed_descriptor)
{
	struct uswap *sw = t_engine();
	struct folio *folio = folio_alloc(sw, 0);

	REQUIRE(folio);
	CHECK(folio_try_get(folio));
	CHECK_EQ(folio_ref_count(folio), 2);
	folio_put_refs(folio, 2);
	/* Type-stable: the memory is still a folio, with refcount 0. */
	CHECK_EQ(folio_ref_count(folio), 0);
	CHECK(!folio_try_get(folio));
	CHECK_EQ(pool_live(&sw->folio_pool), 0);
}

TEST(folio_trylock_fails_while_locked)
{
	struct uswap *sw = t_engine();
	struct folio *folio = folio_alloc(sw, 0);

	REQUIRE(folio);
	CHECK(folio_trylock(folio));
	CHECK(folio_test_locked(folio));
	CHECK(!folio_trylock(folio));
	folio_unlock(folio);
	CHECK(!folio_test_locked(folio));
	CHECK(folio_trylock(folio));
	folio_unlock(folio);
	folio_put(folio);
}

struct lock_waiter {
	struct folio *folio;
	int started;  /* atomic */
	int acquired; /* atomic */
};

static void *lock_waiter_fn(void *arg)
{
	struct lock_waiter *w = arg;

	atomic_store_release(&w->started, 1);
	folio_lock(w->folio);
	atomic_store_release(&w->acquired, 1);
	folio_unlock(w->folio);
	return NULL;
}

static double thread_cpu_ms(pthread_t t)
{
	struct timespec ts;
	clockid_t cid;

	if (pthread_getcpuclockid(t, &cid) || clock_gettime(cid, &ts))
		return 0;
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

TEST(folio_lock_blocks_second_thread_until_unlock)
{
	struct uswap *sw = t_engine();
	struct lock_waiter w = {.folio = folio_alloc(sw, 0)};
	pthread_t t;

	REQUIRE(w.folio);
	folio_lock(w.folio);
	REQUIRE_EQ(pthread_create(&t, NULL, lock_waiter_fn, &w), 0);
	while (!atomic_load_acquire(&w.started))
		t_sleep_ms(1);
	t_sleep_ms(50);
	CHECK(!atomic_load_acquire(&w.acquired));
	folio_unlock(w.folio);
	pthread_join(t, NULL);
	CHECK(atomic_load_acquire(&w.acquired));
	CHECK(!folio_test_locked(w.folio));
	folio_put(w.folio);
}

TEST(folio_lock_waiters_sleep)
{
	struct uswap *sw = t_engine();
	struct lock_waiter w = {.folio = folio_alloc(sw, 0)};
	double cpu0, cpu1;
	pthread_t t;
	int i;

	REQUIRE(w.folio);
	folio_lock(w.folio);
	REQUIRE_EQ(pthread_create(&t, NULL, lock_waiter_fn, &w), 0);
	/* A sleeping waiter counts itself in the lock word, above the lock bit. */
	for (i = 0; i < 2000 && atomic_load_acquire(&w.folio->lock.word) >> 1 == 0; i++)
		t_sleep_ms(1);
	CHECK_EQ(atomic_load_acquire(&w.folio->lock.word), 3);
	cpu0 = thread_cpu_ms(t);
	t_sleep_ms(200);
	cpu1 = thread_cpu_ms(t);
	/* A spinner would burn ~200 ms of CPU; a sleeper next to none. */
	CHECK(cpu1 - cpu0 < 40);
	CHECK(!atomic_load_acquire(&w.acquired));
	folio_unlock(w.folio);
	pthread_join(t, NULL);
	CHECK(atomic_load_acquire(&w.acquired));
	folio_put(w.folio);
}
