/* SPDX-License-Identifier: MIT */
/*
 * refcount.h - reference counts.
 *
 * Who frees: whoever drops the count to zero (refcount_put() returned true).
 * refcount_get() needs a reference already held; refcount_get_unless_zero()
 * needs the object's memory kept alive by other means (uswap: type-stable
 * pools, so memory of a freed object is still an object of the same type).
 *
 * Owns: nothing. Locking: none, all atomic.
 */
#ifndef USWAP_BASE_REFCOUNT_H
#define USWAP_BASE_REFCOUNT_H

#include "atomic.h"

typedef struct {
	int val;
} refcount_t;

static inline void refcount_set(refcount_t *r, int v)
{
	atomic_store_release(&r->val, v);
}

static inline int refcount_read(const refcount_t *r)
{
	return atomic_load_relaxed(&r->val);
}

static inline void refcount_get(refcount_t *r)
{
	atomic_fetch_add_relaxed(&r->val, 1);
}

static inline void refcount_get_many(refcount_t *r, int n)
{
	atomic_fetch_add_relaxed(&r->val, n);
}

/* Return: true if a reference was taken, false if the count was zero. */
static inline bool refcount_get_unless_zero(refcount_t *r)
{
	int old = atomic_load_relaxed(&r->val);

	do {
		if (old == 0)
			return false;
	} while (!atomic_cmpxchg_acquire(&r->val, &old, old + 1));
	return true;
}

/* Return: true if this put dropped the last reference (caller frees). */
static inline bool refcount_put_many(refcount_t *r, int n)
{
	return atomic_sub_return_acq_rel(&r->val, n) == 0;
}

static inline bool refcount_put(refcount_t *r)
{
	return refcount_put_many(r, 1);
}

#endif /* USWAP_BASE_REFCOUNT_H */
