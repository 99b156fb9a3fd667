/* SPDX-License-Identifier: MIT */
/*
 * atomic.h - atomics with the memory order in the helper's name.
 *
 * Every lockless access in uswap goes through these, so a reader sees at the
 * call site which ordering it relies on. They work on plain integer and
 * pointer lvalues (GCC __atomic builtins), which TSan understands.
 *
 * Owns: nothing. Locking: none.
 */
#ifndef USWAP_BASE_ATOMIC_H
#define USWAP_BASE_ATOMIC_H

#include "compiler.h"

#define atomic_load_relaxed(p)	   __atomic_load_n((p), __ATOMIC_RELAXED)
#define atomic_load_acquire(p)	   __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define atomic_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define atomic_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/*
 * Sequentially consistent: for Dekker-style pairs (each side stores, then
 * loads what the other stores), where acquire/release is not enough.
 */
#define atomic_load_seq_cst(p)		__atomic_load_n((p), __ATOMIC_SEQ_CST)
#define atomic_store_seq_cst(p, v)	__atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define atomic_fetch_add_seq_cst(p, v)	__atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define atomic_add_return_seq_cst(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)
#define atomic_sub_return_seq_cst(p, v) __atomic_sub_fetch((p), (v), __ATOMIC_SEQ_CST)

#define atomic_xchg_acq_rel(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#define atomic_xchg_release(p, v) __atomic_exchange_n((p), (v), __ATOMIC_RELEASE)

/* Return true and store @new if *p == *old; else load *p into *old. */
#define atomic_cmpxchg_acquire(p, old, new)                                                        \
	__atomic_compare_exchange_n((p), (old), (new), false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)
#define atomic_cmpxchg_acq_rel(p, old, new)                                                        \
	__atomic_compare_exchange_n((p), (old), (new), false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
#define atomic_cmpxchg_relaxed(p, old, new)                                                        \
	__atomic_compare_exchange_n((p), (old), (new), false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)

#define atomic_fetch_add_relaxed(p, v)	__atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define atomic_fetch_add_acq_rel(p, v)	__atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
#define atomic_fetch_sub_relaxed(p, v)	__atomic_fetch_sub((p), (v), __ATOMIC_RELAXED)
#define atomic_fetch_sub_release(p, v)	__atomic_fetch_sub((p), (v), __ATOMIC_RELEASE)
#define atomic_fetch_sub_acq_rel(p, v)	__atomic_fetch_sub((p), (v), __ATOMIC_ACQ_REL)
#define atomic_add_return_relaxed(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define atomic_sub_return_acq_rel(p, v) __atomic_sub_fetch((p), (v), __ATOMIC_ACQ_REL)

#define atomic_fetch_or_acq_rel(p, v)  __atomic_fetch_or((p), (v), __ATOMIC_ACQ_REL)
#define atomic_fetch_or_acquire(p, v)  __atomic_fetch_or((p), (v), __ATOMIC_ACQUIRE)
#define atomic_fetch_or_relaxed(p, v)  __atomic_fetch_or((p), (v), __ATOMIC_RELAXED)
#define atomic_fetch_and_acq_rel(p, v) __atomic_fetch_and((p), (v), __ATOMIC_ACQ_REL)
#define atomic_fetch_and_release(p, v) __atomic_fetch_and((p), (v), __ATOMIC_RELEASE)
#define atomic_fetch_and_relaxed(p, v) __atomic_fetch_and((p), (v), __ATOMIC_RELAXED)

#define cpu_relax() __builtin_ia32_pause()

/*
 * Count *n down by one if it is not zero.
 * Return: true if this call took it from 1 to 0 (fault injection: "fail the
 * nth call").
 */
static inline bool atomic_countdown_hits(unsigned long *n)
{
	unsigned long old = atomic_load_relaxed(n);

	while (old) {
		if (atomic_cmpxchg_relaxed(n, &old, old - 1))
			return old == 1;
	}
	return false;
}

/* Atomic bit helpers on an unsigned long word. */
static inline bool test_bit_acquire(unsigned nr, const unsigned long *w)
{
	return (atomic_load_acquire(w) >> nr) & 1;
}

static inline bool test_bit_relaxed(unsigned nr, const unsigned long *w)
{
	return (atomic_load_relaxed(w) >> nr) & 1;
}

static inline void set_bit_acq_rel(unsigned nr, unsigned long *w)
{
	atomic_fetch_or_acq_rel(w, 1UL << nr);
}

static inline void clear_bit_release(unsigned nr, unsigned long *w)
{
	atomic_fetch_and_release(w, ~(1UL << nr));
}

static inline bool test_and_set_bit_acq_rel(unsigned nr, unsigned long *w)
{
	return (atomic_fetch_or_acq_rel(w, 1UL << nr) >> nr) & 1;
}

static inline bool test_and_clear_bit_acq_rel(unsigned nr, unsigned long *w)
{
	return (atomic_fetch_and_acq_rel(w, ~(1UL << nr)) >> nr) & 1;
}

#endif /* USWAP_BASE_ATOMIC_H */
