// SPDX-License-Identifier: MIT
/*
 * shmem.c - shmem files: pages owned by a file rather than by page tables,
 * swapped like anon pages (docs/kernel-reference.md §6, §7).
 *
 * Writeout (from reclaim): folio_alloc_swap(), folio_dup_swap(folio, NULL)
 * for the file's reference, the entry takes the folio's place in the file,
 * then reclaim writes the folio and lets it go. Swap-in: the folio takes the
 * entry's place, folio_put_swap(folio, NULL), and it leaves the swap cache
 * at once: a file page in memory needs no slot. Truncate drops entries with
 * swap_put_entries_direct() (batched within a cluster) and folios from the
 * file.
 *
 * Owns: struct shmem_file. Locking: f->lock has a page-table lock's rank
 * (LOCK_RANK_PTL in base/lock.h, inside the folio lock). A slot changes
 * under f->lock; a folio also enters and leaves a file under its own lock,
 * so holding a file's folio locked keeps folio->mapping and the file itself
 * alive (destroy first truncates every folio under its lock). File data is
 * copied under the folio lock.
 */
#include <string.h>

#include "internal.h"

static pte_t shmem_slot(struct shmem_file *f, pgoff_t index)
{
	return ptep_get(&f->slots[index]);
}

/* Put @folio in @f at @index; the slot takes a reference. Context: both locks held. */
static void shmem_add_folio(struct shmem_file *f, pgoff_t index, struct folio *folio)
{
	lockdep_assert_held(&f->lock);
	lockdep_assert_held(&folio->lock);
	__set_pte(&f->slots[index], mk_pte(folio, 0));
	folio_set_mapping(folio, f, index);
	folio_get(folio);
}

/* Take @folio out of its file (the caller drops the slot's reference). Context: both locks held. */
static void shmem_del_folio(struct shmem_file *f, pgoff_t index, struct folio *folio, pte_t new)
{
	lockdep_assert_held(&f->lock);
	lockdep_assert_held(&folio->lock);
	__set_pte(&f->slots[index], new);
	folio_set_mapping(folio, NULL, 0);
}

/* Return: a new zeroed folio in the hole at @index (locked), NULL if it is not a hole. */
static struct folio *shmem_alloc_folio(struct shmem_file *f, pgoff_t index)
{
	struct folio *folio = folio_alloc_locked(f->ms->sw, 0);

	if (!folio)
		return ERR_PTR(-ENOMEM);
	memset(folio->data, 0, PAGE_SIZE);
	ulock_lock(&f->lock);
	if (!pte_none(shmem_slot(f, index))) {
		ulock_unlock(&f->lock);
		folio_unlock(folio);
		folio_put(folio);
		return NULL;
	}
	shmem_add_folio(f, index, folio);
	ulock_unlock(&f->lock);
	folio_mark_dirty(folio);
	folio_get(folio);
	folio_add_lru(folio);
	return folio;
}

/*
 * Swap in the entry @swap found at @index. Return: the locked folio now in
 * the file, NULL if the slot changed under us, or ERR_PTR.
 */
static struct folio *shmem_swapin(struct shmem_file *f, pgoff_t index, pte_t swap)
{
	swp_entry_t entry = pte_to_swp_entry(swap);
	struct uswap *sw = f->ms->sw;
	struct swap_info_struct *si;
	bool same, locked = false;
	struct folio *folio;

	si = get_swap_device(sw, entry);
	if (!si) {
		ulock_lock(&f->lock);
		same = pte_same(shmem_slot(f, index), swap);
		ulock_unlock(&f->lock);
		return same ? ERR_PTR(-EFAULT) : NULL;
	}
	folio = swap_cache_lookup(sw, entry);
	if (!folio)
		folio = swapin_entry(sw, si, entry, &locked);
	if (IS_ERR_OR_NULL(folio))
		goto out;
	if (!locked)
		folio_lock(folio);
	if (!folio_matches_swap_entry(folio, entry))
		goto retry;
	/* Slots of shmem entries are allocated for order-0 file folios only. */
	if (WARN_ON_ONCE(folio_test_large(folio))) {
		folio_unlock(folio);
		folio_put(folio);
		folio = ERR_PTR(-EINVAL);
		goto out;
	}
	ulock_lock(&f->lock);
	if (!pte_same(shmem_slot(f, index), swap)) {
		ulock_unlock(&f->lock);
		goto retry;
	}
	shmem_add_folio(f, index, folio);
	atomic_fetch_sub_relaxed(&f->nr_swapped, 1L);
	folio_put_swap(folio, NULL);
	ulock_unlock(&f->lock);
	swap_cache_del_folio(folio, 0);
	folio_mark_dirty(folio);
	goto out;
retry:
	folio_unlock(folio);
	folio_put(folio);
	folio = NULL;
out:
	put_swap_device(si);
	return folio;
}

/*
 * The folio at @index, locked and referenced: swapped in if needed, a new
 * zeroed one for a hole if @alloc. Return: folio, NULL (a hole, !@alloc), or
 * ERR_PTR. Context: no lock held.
 */
static struct folio *shmem_get_folio(struct shmem_file *f, pgoff_t index, bool alloc)
{
	struct folio *folio;
	pte_t slot;

	for (;;) {
		ulock_lock(&f->lock);
		slot = shmem_slot(f, index);
		if (pte_present(slot))
			folio_get(pte_folio(slot));
		ulock_unlock(&f->lock);
		if (pte_present(slot)) {
			folio = pte_folio(slot);
			folio_lock(folio);
			if (folio_shmem(folio) == f && folio_index(folio) == index)
				return folio;
			folio_unlock(folio);
			folio_put(folio);
			continue;
		}
		if (is_swap_pte(slot))
			folio = shmem_swapin(f, index, slot);
		else if (alloc)
			folio = shmem_alloc_folio(f, index);
		else
			return NULL;
		if (folio)
			return folio;
	}
}

int shmem_writeout(struct folio *folio)
{
	struct shmem_file *f = folio_shmem(folio);
	pgoff_t index = folio_index(folio);
	int err;

	VM_BUG_ON(folio_test_swapcache(folio) || folio_test_large(folio));
	err = folio_alloc_swap(folio);
	if (err)
		return err;
	ulock_lock(&f->lock);
	VM_BUG_ON(!pte_same(shmem_slot(f, index), mk_pte(folio, 0)));
	err = folio_dup_swap(folio, NULL);
	if (err) {
		ulock_unlock(&f->lock);
		swap_cache_del_folio(folio, 0);
		return err;
	}
	shmem_del_folio(f, index, folio, swp_entry_to_pte(folio_swap_entry(folio), false));
	atomic_fetch_add_relaxed(&f->nr_swapped, 1L);
	ulock_unlock(&f->lock);
	folio_put(folio);
	/* Fresh slots hold nothing yet. */
	folio_mark_dirty(folio);
	return 0;
}

static int shmem_rw(struct shmem_file *f, unsigned long pos, void *buf, size_t len, bool write)
{
	char *p = buf;

	if (pos > f->nr_pages << PAGE_SHIFT || len > (f->nr_pages << PAGE_SHIFT) - pos)
		return -EINVAL;
	while (len) {
		size_t off = pos & ~PAGE_MASK, n = min(len, PAGE_SIZE - off);
		struct folio *folio;

		mm_throttle(f->ms, 1);
		folio = shmem_get_folio(f, pos >> PAGE_SHIFT, write);
		if (IS_ERR(folio))
			return (int)PTR_ERR(folio);
		if (!folio) {
			memset(p, 0, n);
		} else {
			if (write) {
				memcpy((char *)folio->data + off, p, n);
				folio_mark_dirty(folio);
			} else {
				memcpy(p, (char *)folio->data + off, n);
			}
			folio_unlock(folio);
			folio_mark_accessed(folio);
			folio_put(folio);
		}
		pos += n;
		p += n;
		len -= n;
	}
	return 0;
}

int shmem_read(struct shmem_file *f, unsigned long pos, void *buf, size_t len)
{
	return shmem_rw(f, pos, buf, len, false);
}

int shmem_write(struct shmem_file *f, unsigned long pos, const void *buf, size_t len)
{
	return shmem_rw(f, pos, (void *)buf, len, true);
}

/*
 * Drop the swap entries and holes from @index on, up to the first folio.
 * Return: the index of that folio, or @end.
 */
static pgoff_t shmem_truncate_entries(struct shmem_file *f, pgoff_t index, pgoff_t end)
{
	struct uswap *sw = f->ms->sw;
	struct swap_put_batch batch = {.nr = 0};

	ulock_lock(&f->lock);
	for (; index < end; index++) {
		pte_t slot = shmem_slot(f, index);
		swp_entry_t entry;

		if (pte_present(slot))
			break;
		if (pte_none(slot))
			continue;
		entry = pte_to_swp_entry(slot);
		__set_pte(&f->slots[index], __pte(0));
		atomic_fetch_sub_relaxed(&f->nr_swapped, 1L);
		swap_put_batch_add(sw, &batch, entry);
	}
	swap_put_batch_flush(sw, &batch);
	ulock_unlock(&f->lock);
	return index;
}

/* Take the folio at @index out of @f. Return: false if the slot changed first. */
static bool shmem_truncate_folio(struct shmem_file *f, pgoff_t index)
{
	struct folio *folio;
	bool removed = false;
	pte_t slot;

	ulock_lock(&f->lock);
	slot = shmem_slot(f, index);
	if (!pte_present(slot)) {
		ulock_unlock(&f->lock);
		return false;
	}
	folio = pte_folio(slot);
	folio_get(folio);
	ulock_unlock(&f->lock);

	folio_lock(folio);
	ulock_lock(&f->lock);
	if (pte_same(shmem_slot(f, index), slot)) {
		shmem_del_folio(f, index, folio, __pte(0));
		removed = true;
	}
	ulock_unlock(&f->lock);
	folio_unlock(folio);
	if (removed)
		folio_put(folio);
	folio_release_if_unused(folio);
	folio_put(folio);
	return removed;
}

int shmem_truncate_range(struct shmem_file *f, pgoff_t start, pgoff_t end)
{
	if (start > end || end > f->nr_pages)
		return -EINVAL;
	while (start < end) {
		start = shmem_truncate_entries(f, start, end);
		if (start < end && shmem_truncate_folio(f, start))
			start++;
	}
	return 0;
}

unsigned long shmem_nr_swapped(struct shmem_file *f)
{
	return (unsigned long)atomic_load_relaxed(&f->nr_swapped);
}

int shmem_unuse_file(struct shmem_file *f, unsigned type)
{
	for (pgoff_t index = 0; index < f->nr_pages && shmem_nr_swapped(f); index++) {
		struct folio *folio;
		pte_t slot;

		ulock_lock(&f->lock);
		slot = shmem_slot(f, index);
		ulock_unlock(&f->lock);
		if (!is_swap_pte(slot) || swp_type(pte_to_swp_entry(slot)) != type)
			continue;
		folio = shmem_get_folio(f, index, false);
		if (IS_ERR(folio))
			return (int)PTR_ERR(folio);
		if (folio) {
			folio_unlock(folio);
			folio_put(folio);
		}
	}
	return 0;
}

int shmem_file_create(struct uswap *sw, unsigned long nr_pages, struct shmem_file **out)
{
	struct mm_state *ms = sw_mm(sw);
	struct shmem_file *f;

	if (!ms || !nr_pages || nr_pages > (SIZE_MAX >> PAGE_SHIFT))
		return -EINVAL;
	f = arena_zalloc(sw->arena, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->slots = arena_zalloc(sw->arena, nr_pages * sizeof(pte_t));
	if (!f->slots) {
		arena_free(sw->arena, f, sizeof(*f));
		return -ENOMEM;
	}
	f->ms = ms;
	f->nr_pages = nr_pages;
	ulock_init(&f->lock, LOCK_RANK_PTL);
	refcount_set(&f->refcount, 1);
	ulock_lock(&ms->mmlist_lock);
	list_add_tail(&f->list, &ms->shmem_list);
	ulock_unlock(&ms->mmlist_lock);
	*out = f;
	return 0;
}

/*
 * The last reference takes the file off the shmem list (as mmput() does for
 * address spaces): a walker that holds a reference keeps its place in the
 * list valid, even if the owner destroyed the file meanwhile.
 */
void shmem_file_put(struct shmem_file *f)
{
	struct mm_state *ms = f->ms;
	struct arena *a = ms->sw->arena;

	if (!refcount_put(&f->refcount))
		return;
	ulock_lock(&ms->mmlist_lock);
	list_del_init(&f->list);
	ulock_unlock(&ms->mmlist_lock);
	arena_free(a, f->slots, f->nr_pages * sizeof(pte_t));
	arena_free(a, f, sizeof(*f));
}

void shmem_file_destroy(struct shmem_file *f)
{
	shmem_truncate_range(f, 0, f->nr_pages);
	shmem_file_put(f);
}
