// SPDX-License-Identifier: MIT
/*
 * lock.c - futex slow paths and the debug lock checker.
 *
 * Owns: the thread-local held-lock stack (debug). Locking: none needed, all
 * state is per thread or in the futex word.
 */
#include "lock.h"

#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "atomic.h"

static long sys_futex(uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

void futex_wait_u32(uint32_t *word, uint32_t val)
{
	sys_futex(word, FUTEX_WAIT, val);
}

void futex_wake_all_u32(uint32_t *word)
{
	sys_futex(word, FUTEX_WAKE, INT32_MAX);
}

/* Take the lock bit if it is free. Return: true if taken. */
static bool ulock_try_bit(struct ulock *l)
{
	return !(atomic_load_relaxed(&l->word) & 1) && !(atomic_fetch_or_acquire(&l->word, 1U) & 1);
}

/*
 * Contended acquire: spin a little, reading, with exponential backoff (the
 * holder is usually on the other CPU and about to release), then register
 * as a sleeper and sleep until the lock bit clears.
 */
void __ulock_lock_slow(struct ulock *l)
{
	uint32_t v;

	for (unsigned i = 0; i < 10; i++) {
		for (unsigned j = 0; j < (1U << i); j++)
			cpu_relax();
		if (ulock_try_bit(l))
			return;
	}
	atomic_fetch_add_relaxed(&l->word, 2U);
	for (;;) {
		v = atomic_load_relaxed(&l->word);
		if (!(v & 1)) {
			/* Take the lock and leave the sleepers in one step. */
			if (atomic_cmpxchg_acquire(&l->word, &v, (v | 1) - 2))
				return;
			continue;
		}
		sys_futex(&l->word, FUTEX_WAIT, v);
	}
}

void __ulock_wake(struct ulock *l)
{
	sys_futex(&l->word, FUTEX_WAKE, 1);
}

#ifdef USWAP_DEBUG

#define MAX_HELD 48

struct held_lock {
	const struct ulock *lock;
	const char *file;
	int line;
};

static __thread struct held_lock held[MAX_HELD];
static __thread int nr_held;

static const char *rank_name(unsigned rank)
{
	switch (rank) {
	case LOCK_RANK_SWAPON:
		return "swapon";
	case LOCK_RANK_MODEL:
		return "model";
	case LOCK_RANK_MMLIST:
		return "mmlist";
	case LOCK_RANK_FOLIO:
		return "folio";
	case LOCK_RANK_ANON_VMA:
		return "anon_vma";
	case LOCK_RANK_PTL:
		return "page-table";
	case LOCK_RANK_LRU:
		return "lru";
	case LOCK_RANK_GLOBAL_CURSOR:
		return "global-cursor";
	case LOCK_RANK_CLUSTER:
		return "cluster";
	case LOCK_RANK_DEVICE:
		return "device";
	case LOCK_RANK_SWAP_AVAIL:
		return "swap-avail";
	case LOCK_RANK_POOL:
		return "pool";
	case LOCK_RANK_FORK_STATS:
		return "fork-stats";
	case LOCK_RANK_ARENA:
		return "arena";
	}
	return "?";
}

static __cold __attribute__((noreturn)) void lockdep_fail(const char *what, const struct ulock *l,
							  const char *file, int line,
							  const struct held_lock *other)
{
	fprintf(stderr, "uswap lockdep: %s: %s lock %p at %s:%d\n", what, rank_name(l->rank),
		(const void *)l, file, line);
	if (other)
		fprintf(stderr, "uswap lockdep:   held: %s lock %p taken at %s:%d\n",
			rank_name(other->lock->rank), (const void *)other->lock, other->file,
			other->line);
	for (int i = nr_held - 1; i >= 0; i--)
		fprintf(stderr, "uswap lockdep:   #%d %s lock %p from %s:%d\n", i,
			rank_name(held[i].lock->rank), (const void *)held[i].lock, held[i].file,
			held[i].line);
	fflush(stderr);
	abort();
}

void lockdep_acquire(struct ulock *l, bool trylock, const char *file, int line)
{
	for (int i = 0; i < nr_held; i++) {
		if (held[i].lock == l)
			lockdep_fail("recursive locking", l, file, line, &held[i]);
		if (!trylock && held[i].lock->rank >= l->rank)
			lockdep_fail("lock order violation", l, file, line, &held[i]);
	}
	if (nr_held == MAX_HELD)
		lockdep_fail("too many locks held", l, file, line, NULL);
	held[nr_held++] = (struct held_lock){l, file, line};
}

void lockdep_release(struct ulock *l, const char *file, int line)
{
	for (int i = nr_held - 1; i >= 0; i--) {
		if (held[i].lock != l)
			continue;
		for (int j = i; j < nr_held - 1; j++)
			held[j] = held[j + 1];
		nr_held--;
		return;
	}
	lockdep_fail("unlock of a lock not held", l, file, line, NULL);
}

void lockdep_check_held(const struct ulock *l, bool want, const char *file, int line)
{
	bool have = false;

	for (int i = 0; i < nr_held; i++)
		if (held[i].lock == l)
			have = true;
	if (have != want)
		lockdep_fail(want ? "lock not held" : "lock unexpectedly held", l, file, line,
			     NULL);
}

int lockdep_depth(void)
{
	return nr_held;
}

#endif /* USWAP_DEBUG */
