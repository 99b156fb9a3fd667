// SPDX-License-Identifier: MIT
/*
 * test_base.c - the base layer: arena and pools, futex locks (threads and
 * processes), the lock checker, refcounts, sharded counters, WARN.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/lock.h"
#include "base/percpu.h"
#include "base/refcount.h"
#include "base/warn.h"
#include "test.h"

/* A counter read inside min()/max() is read once (review finding: twice). */
TEST(min_max_evaluate_each_argument_once)
{
	long calls = 0;

	CHECK_EQ(max(++calls, 0L), 1);
	CHECK_EQ(calls, 1);
	CHECK_EQ(min(++calls, 5L), 2);
	CHECK_EQ(calls, 2);
	CHECK_EQ(clamp(++calls, 0L, 10L), 3);
	CHECK_EQ(calls, 3);
}

TEST(arena_accounts_every_allocation_and_returns_to_zero)
{
	struct arena *a;
	void *p[64];

	REQUIRE_EQ(arena_create(&a, 64UL << 20, false), 0);
	for (int i = 0; i < 64; i++) {
		p[i] = arena_alloc(a, (size_t)(i + 1) * 100);
		REQUIRE(p[i]);
		memset(p[i], i, (size_t)(i + 1) * 100);
	}
	CHECK(arena_in_use(a) >= 64 * 100);
	for (int i = 0; i < 64; i++)
		CHECK(((unsigned char *)p[i])[(size_t)(i + 1) * 100 - 1] == i);
	for (int i = 0; i < 64; i++)
		arena_free(a, p[i], (size_t)(i + 1) * 100);
	CHECK_EQ(arena_in_use(a), 0);
	arena_destroy(a);
}

TEST(arena_large_runs_are_page_aligned_and_reused)
{
	struct arena *a;
	void *p, *q;

	REQUIRE_EQ(arena_create(&a, 64UL << 20, false), 0);
	p = arena_alloc(a, 3 * PAGE_SIZE + 1);
	REQUIRE(p);
	CHECK(IS_ALIGNED((uintptr_t)p, PAGE_SIZE));
	arena_free(a, p, 3 * PAGE_SIZE + 1);
	q = arena_alloc(a, 4 * PAGE_SIZE);
	CHECK(q == p);
	arena_free(a, q, 4 * PAGE_SIZE);
	CHECK_EQ(arena_in_use(a), 0);
	arena_destroy(a);
}

TEST(arena_exhaustion_returns_null_not_a_crash)
{
	struct arena *a, *tiny;
	int n = 0;

	REQUIRE_EQ(arena_create(&a, 1UL << 20, false), 0);
	while (arena_alloc(a, 64 * 1024) && n < 1000)
		n++;
	CHECK(n > 0 && n < 1000);
	CHECK(arena_create(&tiny, 4096, false) == -EINVAL);
	arena_destroy(a);
}

TEST(arena_injection_fails_exactly_the_nth_allocation)
{
	struct arena *a;
	void *p1, *p2, *p3;

	REQUIRE_EQ(arena_create(&a, 16UL << 20, false), 0);
	arena_inject(a, 2, 0, 0);
	p1 = arena_alloc(a, 100);
	p2 = arena_alloc(a, 100);
	p3 = arena_alloc(a, 100);
	CHECK(p1 && !p2 && p3);
	CHECK_EQ(arena_injected(a), 1);
	arena_free(a, p1, 100);
	arena_free(a, p3, 100);
	arena_destroy(a);
}

struct obj {
	unsigned long word0;
	unsigned long payload[7];
};

TEST(pool_is_type_stable_and_tags_the_free_link)
{
	struct arena *a;
	struct pool pool;
	struct obj *o1, *o2;

	REQUIRE_EQ(arena_create(&a, 16UL << 20, false), 0);
	pool_init(&pool, a, "obj", sizeof(struct obj), 64, 0, 1);
	o1 = pool_alloc(&pool);
	o2 = pool_alloc(&pool);
	REQUIRE(o1 && o2);
	CHECK(IS_ALIGNED((uintptr_t)o1, 64));
	CHECK_EQ(o1->word0, 0);
	CHECK_EQ(pool_live(&pool), 2);
	pool_free(&pool, o1);
	pool_free(&pool, o2);
	/* A freed object's link word carries the tag: a racing reader sees it. */
	CHECK(o2->word0 & 1);
	CHECK_EQ(pool_live(&pool), 0);
	/* Memory is recycled as the same type, never returned. */
	CHECK(pool_alloc(&pool) == o2);
	CHECK(arena_pooled(a) > 0);
	arena_destroy(a);
}

struct contended {
	struct ulock lock;
	long counter;
	int iters;
};

static void *hammer(void *arg)
{
	struct contended *c = arg;

	for (int i = 0; i < c->iters; i++) {
		ulock_lock(&c->lock);
		c->counter++;
		ulock_unlock(&c->lock);
	}
	return NULL;
}

TEST(ulock_excludes_threads)
{
	struct contended c = {.iters = 200000};
	pthread_t t[4];

	ulock_init(&c.lock, LOCK_RANK_CLUSTER);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, &c);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(c.counter, 4L * 200000);
	CHECK(!ulock_is_locked(&c.lock));
}

static void *sleepy_holder(void *arg)
{
	struct contended *c = arg;

	ulock_lock(&c->lock);
	usleep(50000);
	c->counter = 42;
	ulock_unlock(&c->lock);
	return NULL;
}

TEST(ulock_waiter_sleeps_until_unlock_and_trylock_fails_meanwhile)
{
	struct contended c = {0};
	pthread_t t;

	ulock_init(&c.lock, LOCK_RANK_FOLIO);
	pthread_create(&t, NULL, sleepy_holder, &c);
	while (!ulock_is_locked(&c.lock))
		usleep(100);
	CHECK(!ulock_trylock(&c.lock));
	ulock_lock(&c.lock);
	CHECK_EQ(c.counter, 42);
	ulock_unlock(&c.lock);
	pthread_join(t, NULL);
}

TEST(ulock_works_across_processes_in_shared_memory)
{
	struct contended *c =
		mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status, n = 50000;
	pid_t pid;

	REQUIRE(c != MAP_FAILED);
	ulock_init(&c->lock, LOCK_RANK_CLUSTER);
	c->counter = 0;
	pid = fork();
	REQUIRE(pid >= 0);
	for (int i = 0; i < n; i++) {
		ulock_lock(&c->lock);
		long v = c->counter;
		if (i % 1000 == 0)
			sched_yield();
		c->counter = v + 1;
		ulock_unlock(&c->lock);
	}
	if (pid == 0)
		_exit(0);
	REQUIRE_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_EQ(c->counter, 2L * n);
	munmap(c, PAGE_SIZE);
}

/* Run @fn in a child; return its stderr and whether it died of SIGABRT. */
static bool child_aborts_with(void (*fn)(void), const char *needle)
{
	char buf[4096] = {0};
	int pipefd[2], status;
	ssize_t n, len = 0;
	pid_t pid;

	if (pipe(pipefd))
		return false;
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		fn();
		_exit(0);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(buf, needle);
}

static struct ulock lock_a, lock_b;

static void take_out_of_order(void)
{
	ulock_init(&lock_a, LOCK_RANK_CLUSTER);
	ulock_init(&lock_b, LOCK_RANK_FOLIO);
	ulock_lock(&lock_a);
	ulock_lock(&lock_b); /* folio after cluster: wrong */
}

static void take_twice(void)
{
	ulock_init(&lock_a, LOCK_RANK_CLUSTER);
	ulock_lock(&lock_a);
	ulock_lock(&lock_a);
}

static void assert_unheld(void)
{
	ulock_init(&lock_a, LOCK_RANK_DEVICE);
	lockdep_assert_held(&lock_a);
}

TEST(lockdep_catches_order_violation_recursion_and_unheld_assert)
{
	if (!USWAP_DEBUG_ENABLED) {
		test_skip("built without debug checks");
		return;
	}
	CHECK(child_aborts_with(take_out_of_order, "lock order violation"));
	CHECK(child_aborts_with(take_twice, "recursive locking"));
	CHECK(child_aborts_with(assert_unheld, "lock not held"));
}

TEST(lockdep_allows_trylock_out_of_order)
{
	struct ulock a, b;

	ulock_init(&a, LOCK_RANK_CLUSTER);
	ulock_init(&b, LOCK_RANK_FOLIO);
	ulock_lock(&a);
	CHECK(ulock_trylock(&b));
	CHECK(!ulock_trylock(&b));
	ulock_unlock(&b);
	ulock_unlock(&a);
	CHECK_EQ(lockdep_depth(), 0);
}

TEST(refcount_get_unless_zero_refuses_a_dead_object)
{
	refcount_t r;

	refcount_set(&r, 1);
	CHECK(refcount_get_unless_zero(&r));
	CHECK(!refcount_put(&r));
	CHECK(refcount_put(&r));
	CHECK(!refcount_get_unless_zero(&r));
	CHECK_EQ(refcount_read(&r), 0);
}

static struct percpu_counter pc;

static void *count_up(void *arg)
{
	for (int i = 0; i < 100000; i++)
		percpu_counter_add(&pc, 1, 32);
	for (int i = 0; i < 1000; i++)
		percpu_counter_add(&pc, -1, 32);
	return arg;
}

TEST(percpu_counter_sum_is_exact_when_quiet)
{
	pthread_t t[4];

	percpu_counter_init(&pc, 7);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, count_up, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(percpu_counter_sum(&pc), 7 + 4L * 99000);
}

static int warn_site(int v)
{
	return WARN_ON_ONCE(v > 1);
}

TEST(warn_on_once_counts_every_hit_and_prints_once)
{
	unsigned long before = warn_count();

	CHECK(!warn_site(0));
	CHECK(warn_site(2));
	CHECK(warn_site(3));
	CHECK_EQ(warn_count() - before, 2);
}
