/* SPDX-License-Identifier: MIT */
/*
 * lock.h - futex-based sleeping locks, usable across processes, with a small
 * lock dependency checker ("lockdep") in debug builds.
 *
 * A struct ulock is one 32-bit futex word: bit 0 is the lock, the bits above
 * count sleeping waiters. Waiters spin briefly (reading, with backoff) and
 * then sleep in the kernel, so a preempted holder never makes others burn a
 * CPU; unlock only enters the kernel when someone sleeps. The futex calls
 * are not FUTEX_PRIVATE, so a lock in a MAP_SHARED arena works across fork().
 *
 * Lock order (written once, here): every lock has a rank, and a thread may
 * only block on a lock whose rank is higher than every lock it holds:
 *
 *   folio lock -> anon_vma lock -> page-table lock -> global cursor
 *     -> cluster lock -> device lock -> avail list lock -> backend locks
 *     -> pool / arena
 *
 * trylock never blocks, so it may be taken out of order (it is how the
 * allocator reclaims other folios while holding one). With USWAP_DEBUG, a
 * recursive acquire, an order violation, an unlock of a lock not held, or a
 * failed lockdep_assert_held() prints both call sites and aborts.
 *
 * Owns: the per-thread held-lock stack (debug builds). Locking: n/a.
 */
#ifndef USWAP_BASE_LOCK_H
#define USWAP_BASE_LOCK_H

#include "atomic.h"

enum lock_rank {
	LOCK_RANK_MM = 5, /* model: address-space structure lock */
	LOCK_RANK_FOLIO = 10,
	LOCK_RANK_ANON_VMA = 15, /* mm: rmap walks, under a folio lock, over PTLs */
	LOCK_RANK_PTL = 20,
	LOCK_RANK_LRU = 25,
	LOCK_RANK_GLOBAL_CURSOR = 30,
	LOCK_RANK_CLUSTER = 40,
	LOCK_RANK_DEVICE = 50,
	LOCK_RANK_SWAP_AVAIL = 60,
	LOCK_RANK_BACKEND = 70,
	LOCK_RANK_POOL = 80,
	LOCK_RANK_ARENA = 90,
};

struct ulock {
	uint32_t word; /* bit 0: locked; bits 1..31: sleepers */
	uint16_t rank; /* enum lock_rank */
};

static inline void ulock_init(struct ulock *l, enum lock_rank rank)
{
	atomic_store_relaxed(&l->word, 0U);
	l->rank = (uint16_t)rank;
}

void __ulock_lock_slow(struct ulock *l);
void __ulock_wake(struct ulock *l);

#ifdef USWAP_DEBUG
void lockdep_acquire(struct ulock *l, bool trylock, const char *file, int line);
void lockdep_release(struct ulock *l, const char *file, int line);
void lockdep_check_held(const struct ulock *l, bool held, const char *file, int line);
int lockdep_depth(void);
#define lockdep_assert_held(l)	   lockdep_check_held((l), true, __FILE__, __LINE__)
#define lockdep_assert_not_held(l) lockdep_check_held((l), false, __FILE__, __LINE__)
#else
static inline void lockdep_acquire(struct ulock *l __unused, bool t __unused,
				   const char *f __unused, int n __unused)
{
}
static inline void lockdep_release(struct ulock *l __unused, const char *f __unused, int n __unused)
{
}
static inline int lockdep_depth(void)
{
	return 0;
}
#define lockdep_assert_held(l)	   ((void)(l))
#define lockdep_assert_not_held(l) ((void)(l))
#endif

static inline void __ulock_lock(struct ulock *l, const char *file, int line)
{
	lockdep_acquire(l, false, file, line);
	if (unlikely(atomic_fetch_or_acquire(&l->word, 1U) & 1))
		__ulock_lock_slow(l);
}

static inline bool __ulock_trylock(struct ulock *l, const char *file, int line)
{
	if (atomic_load_relaxed(&l->word) & 1)
		return false;
	if (atomic_fetch_or_acquire(&l->word, 1U) & 1)
		return false;
	lockdep_acquire(l, true, file, line);
	return true;
}

static inline void __ulock_unlock(struct ulock *l, const char *file, int line)
{
	lockdep_release(l, file, line);
	if (unlikely(atomic_fetch_and_release(&l->word, ~1U) > 1))
		__ulock_wake(l);
}

/* Return: true if anyone holds the lock (a hint unless the caller holds it). */
static inline bool ulock_is_locked(const struct ulock *l)
{
	return atomic_load_relaxed(&l->word) & 1;
}

#define ulock_lock(l)	 __ulock_lock((l), __FILE__, __LINE__)
#define ulock_trylock(l) __ulock_trylock((l), __FILE__, __LINE__)
#define ulock_unlock(l)	 __ulock_unlock((l), __FILE__, __LINE__)

/* Sleep until *word != val or a wake-up; spurious returns allowed. */
void futex_wait_u32(uint32_t *word, uint32_t val);
void futex_wake_all_u32(uint32_t *word);

#endif /* USWAP_BASE_LOCK_H */
