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
 * Lock order: written once, here, as the rank enum below. Every lock has a
 * rank, and a thread may only block on a lock whose rank is higher than that
 * of every lock it holds (two locks of one rank never nest). Other files name
 * the ranks of their locks and refer here instead of repeating the order.
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

/* Outermost first; each line says which lock has the rank and what it protects. */
enum lock_rank {
	LOCK_RANK_SWAPON = 2,	      /* sw->swap_lock: swapon/off, swap_info[], prios */
	LOCK_RANK_MODEL = 4,	      /* a front end's lock: model->lock, pager->req_lock */
	LOCK_RANK_MMLIST = 5,	      /* ms->mmlist_lock: mmlist, shmem_list (swapoff) */
	LOCK_RANK_FOLIO = 10,	      /* folio->lock: swap-cache membership and counts */
	LOCK_RANK_ANON_VMA = 15,      /* anon_vma->lock: a fork family's member list */
	LOCK_RANK_PTL = 20,	      /* page table, shmem file: entries, their counts */
	LOCK_RANK_LRU = 25,	      /* lruvec->lock: LRU lists, their sizes, PG_lru */
	LOCK_RANK_GLOBAL_CURSOR = 30, /* si->global_cluster_lock: a rotating device */
	LOCK_RANK_CLUSTER = 40,	      /* ci->lock: table, swap_map, count, overflow */
	LOCK_RANK_DEVICE = 50,	      /* si->lock: cluster lists, frag counts, flags */
	LOCK_RANK_SWAP_AVAIL = 60,    /* sw->swap_avail_lock: devices that allocate */
	LOCK_RANK_POOL = 80,	      /* pool->lock: a type-stable pool's free list */
	LOCK_RANK_FORK_STATS = 85,    /* forks->stats_lock: the children's slots, figures */
	LOCK_RANK_ARENA = 90,	      /* arena: a size class's lock, the run lock */
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
