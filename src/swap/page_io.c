// SPDX-License-Identifier: MIT
/*
 * page_io.c - moving folios between memory and their swap slots: the
 * zero map (all-zero pages take no device space and no I/O) and the
 * device read/write calls, with the vmstat counts they imply.
 *
 * Owns: the meaning of si->zeromap (one bit per slot, set while the slot's
 * page is all zeros and was never written to the device). Locking: zero-map
 * bits are changed with atomic bit operations by whoever owns the slot at
 * that moment: the locked swap-cache folio (read, writeout) or the cluster
 * lock holder freeing the slot (swap_range_free_notify). Device calls take
 * whatever the backend needs; no engine lock is held across them but the
 * folio lock.
 */
#include "swap.h"

#include <string.h>

#include "../base/race.h"
#include "../dev/dev.h"

/* Bit helpers on the zero map: @offset's word and bit. */
static unsigned long *zeromap_word(struct swap_info_struct *si, pgoff_t offset)
{
	return &si->zeromap[offset / BITS_PER_LONG];
}

static void zeromap_set(struct swap_info_struct *si, pgoff_t offset, unsigned long nr)
{
	for (unsigned long i = 0; i < nr; i++)
		set_bit_acq_rel((offset + i) % BITS_PER_LONG, zeromap_word(si, offset + i));
}

/*
 * Every free clears its slots' bits, and almost all are clear already:
 * write (an atomic on a line other threads' slots may share) only a word
 * that has one of them set.
 */
static void zeromap_clear(struct swap_info_struct *si, pgoff_t offset, unsigned long nr)
{
	while (nr) {
		unsigned bit = offset % BITS_PER_LONG;
		unsigned long n = min(nr, (unsigned long)(BITS_PER_LONG - bit));
		unsigned long mask = (n == BITS_PER_LONG ? ~0UL : ((1UL << n) - 1)) << bit;
		unsigned long *word = zeromap_word(si, offset);

		if (atomic_load_relaxed(word) & mask)
			atomic_fetch_and_release(word, ~mask);
		offset += n;
		nr -= n;
	}
}

bool swap_zeromap_test(struct swap_info_struct *si, pgoff_t offset)
{
	return test_bit_acquire(offset % BITS_PER_LONG, zeromap_word(si, offset));
}

unsigned swap_zeromap_batch(struct uswap *sw, swp_entry_t entry, unsigned nr)
{
	struct swap_info_struct *si = __swap_entry_to_info(sw, entry);
	pgoff_t offset = swp_offset(entry);
	unsigned n = 0;

	for (unsigned i = 0; i < nr; i++)
		n += swap_zeromap_test(si, offset + i);
	return n;
}

void swap_range_free_notify(struct swap_info_struct *si, pgoff_t offset, unsigned nr)
{
	struct swap_dev *dev = si->dev;

	zeromap_clear(si, offset, nr);
	if (!dev->ops->slot_free_notify)
		return;
	for (unsigned i = 0; i < nr; i++)
		dev->ops->slot_free_notify(dev, offset + i);
}

/* Whether @len bytes at @p (a multiple of 64, 8-byte aligned) are all zero. */
static bool mem_is_zero(const void *p, size_t len)
{
	const uint64_t *w = p;

	for (size_t i = 0; i < len / sizeof(*w); i += 8) {
		if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] |
		    w[i + 7])
			return false;
	}
	return true;
}

static bool folio_is_zero_filled(struct folio *folio)
{
	unsigned long nr = folio_nr_pages(folio);

	/* Most pages that are not zero show it in their first bytes: test those first. */
	for (unsigned long i = 0; i < nr; i++) {
		if (!mem_is_zero(folio_page(folio, i), 64))
			return false;
	}
	return mem_is_zero(folio->data, folio_size(folio));
}

/*
 * Large folios count as THP I/O. The kernel counts PMD-sized folios in
 * thp_swpin/thp_swpout and smaller ones in per-order mTHP statistics; uswap
 * has no per-order statistics, so every large folio counts here, once, and
 * nowhere else.
 */
static void count_swap_io(struct folio *folio, enum vm_event_item pages, enum vm_event_item thp,
			  unsigned long nr)
{
	struct vm_event_state *ev = sw_events(folio->sw);

	if (folio_test_large(folio))
		count_vm_event(ev, thp);
	count_vm_events(ev, pages, nr);
}

/* Read slots [first, first + nr) of the folio from the device. */
static int swap_read_pages(struct folio *folio, struct swap_info_struct *si, pgoff_t offset,
			   unsigned long first, unsigned long nr)
{
	return si->dev->ops->read(si->dev, offset + first, folio_page(folio, first), (unsigned)nr);
}

/*
 * A folio whose slots are partly zero-mapped: zero those pages, read each
 * run of the others. Return: 0 or the first device error.
 */
static int swap_read_folio_mixed(struct folio *folio, struct swap_info_struct *si, pgoff_t offset,
				 unsigned long *nr_read)
{
	unsigned long nr = folio_nr_pages(folio), i = 0;

	*nr_read = 0;
	while (i < nr) {
		unsigned long run = 0;
		int err;

		if (swap_zeromap_test(si, offset + i)) {
			memset(folio_page(folio, i), 0, PAGE_SIZE);
			i++;
			continue;
		}
		while (i + run < nr && !swap_zeromap_test(si, offset + i + run))
			run++;
		err = swap_read_pages(folio, si, offset, i, run);
		if (err)
			return err;
		*nr_read += run;
		i += run;
	}
	return 0;
}

int swap_read_folio(struct folio *folio)
{
	struct vm_event_state *ev = sw_events(folio->sw);
	swp_entry_t entry = folio_swap_entry(folio);
	struct swap_info_struct *si = __swap_entry_to_info(folio->sw, entry);
	pgoff_t offset = swp_offset(entry);
	unsigned long nr = folio_nr_pages(folio), nr_read = nr;
	unsigned nr_zero;
	int err;

	VM_BUG_ON_FOLIO_UNLOCKED(folio);
	nr_zero = swap_zeromap_batch(folio->sw, entry, (unsigned)nr);
	if (nr_zero == nr) {
		memset(folio->data, 0, folio_size(folio));
		count_vm_events(ev, swpin_zero, nr);
		folio_set_uptodate(folio);
		return 0;
	}
	if (nr_zero)
		err = swap_read_folio_mixed(folio, si, offset, &nr_read);
	else
		err = swap_read_pages(folio, si, offset, 0, nr);
	if (err) {
		count_vm_event(ev, swpin_fail);
		return err;
	}
	if (nr_zero)
		count_vm_events(ev, swpin_zero, nr_zero);
	count_swap_io(folio, pswpin, thp_swpin, nr_read);
	folio_set_uptodate(folio);
	return 0;
}

int swap_writeout(struct folio *folio)
{
	struct vm_event_state *ev = sw_events(folio->sw);
	swp_entry_t entry = folio_swap_entry(folio);
	struct swap_info_struct *si = __swap_entry_to_info(folio->sw, entry);
	pgoff_t offset = swp_offset(entry);
	unsigned long nr = folio_nr_pages(folio);
	int err;

	VM_BUG_ON_FOLIO_UNLOCKED(folio);
	/*
	 * The kernel's order: if every count dropped meanwhile (the last
	 * mapping went while reclaim unmapped the folio), nobody will read the
	 * slots again: give them back instead of writing.
	 */
	if (folio_free_swap(folio))
		return 0;
	/*
	 * Clean before reading the data, like folio_clear_dirty_for_io(): a
	 * store racing with the write dirties the folio again and is not lost.
	 */
	folio_clear_dirty(folio);
	race_point("writeout:after_clear_dirty");
	if (folio_is_zero_filled(folio)) {
		zeromap_set(si, offset, nr);
		count_vm_events(ev, swpout_zero, nr);
		return 0;
	}
	zeromap_clear(si, offset, nr);
	folio_set_writeback(folio);
	err = si->dev->ops->write(si->dev, offset, folio->data, (unsigned)nr);
	folio_clear_writeback(folio);
	if (err) {
		folio_set_dirty(folio);
		count_vm_event(ev, swpout_fail);
		return err;
	}
	count_swap_io(folio, pswpout, thp_swpout, nr);
	return 0;
}
