// SPDX-License-Identifier: MIT
/*
 * folio.c - folio descriptors and their data.
 *
 * Descriptors come from the engine's type-stable folio pool: once freed they
 * stay folios, so a lockless swap-table reader may call folio_try_get() on a
 * stale pointer. Every field such a reader looks at (refcount, flags, swap,
 * order) is written with atomics here.
 *
 * Owns: folio allocation and freeing. Locking: refcount is atomic; the pool
 * and arena take their own leaf locks.
 */
#include "swap.h"

struct folio *folio_alloc(struct uswap *sw, unsigned order)
{
	struct folio *folio;
	void *data;

	if (order > MAX_PAGE_ORDER)
		return NULL;
	data = arena_alloc(sw->arena, PAGE_SIZE << order);
	if (!data)
		return NULL;
	folio = pool_alloc(&sw->folio_pool);
	if (!folio) {
		arena_free(sw->arena, data, PAGE_SIZE << order);
		return NULL;
	}
	atomic_store_relaxed(&folio->flags, 0UL);
	atomic_store_relaxed(&folio->_mapcount, 0);
	atomic_store_relaxed(&folio->order, order);
	atomic_store_relaxed(&folio->swap.val, 0UL);
	ulock_init(&folio->lock, LOCK_RANK_FOLIO);
	folio->data = data;
	folio->sw = sw;
	INIT_LIST_HEAD(&folio->lru);
	folio->mapping = NULL;
	folio->index = 0;
	folio->private = NULL;
	/* Publish last: a racing folio_try_get() only succeeds from here on. */
	refcount_set(&folio->_refcount, 1);
	return folio;
}

struct folio *folio_alloc_locked(struct uswap *sw, unsigned order)
{
	struct folio *folio = folio_alloc(sw, order);
	bool locked;

	if (!folio)
		return NULL;
	locked = folio_trylock(folio);
	VM_BUG_ON(!locked);
	return folio;
}

static void folio_free(struct folio *folio)
{
	struct uswap *sw = folio->sw;

	VM_BUG_ON(folio_test_swapcache(folio));
	VM_BUG_ON(folio_test_locked(folio));
	VM_BUG_ON(folio_mapped(folio));
	VM_BUG_ON(folio_test_lru(folio));
	arena_free(sw->arena, folio->data, folio_size(folio));
	folio->data = NULL;
	atomic_store_relaxed(&folio->flags, 0UL);
	pool_free(&sw->folio_pool, folio);
}

void folio_put_refs(struct folio *folio, int refs)
{
	if (refcount_put_many(&folio->_refcount, refs))
		folio_free(folio);
}
