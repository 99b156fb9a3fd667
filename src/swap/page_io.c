// SPDX-License-Identifier: MIT
/*
 * page_io.c - placeholder until the page I/O layer lands: plain device
 * reads and writes, zero-map bookkeeping.
 *
 * Owns: nothing yet. Locking: zeromap bits are atomic.
 */
#include "swap.h"

#include "../dev/dev.h"

int swap_read_folio(struct folio *folio)
{
	swp_entry_t entry = folio_swap_entry(folio);
	struct swap_info_struct *si = __swap_entry_to_info(folio->sw, entry);
	int err = si->dev->ops->read(si->dev, swp_offset(entry), folio->data,
				     (unsigned)folio_nr_pages(folio));

	if (!err)
		folio_set_uptodate(folio);
	return err;
}

int swap_writeout(struct folio *folio)
{
	swp_entry_t entry = folio_swap_entry(folio);
	struct swap_info_struct *si = __swap_entry_to_info(folio->sw, entry);
	int err = si->dev->ops->write(si->dev, swp_offset(entry), folio->data,
				      (unsigned)folio_nr_pages(folio));

	if (!err)
		folio_clear_dirty(folio);
	return err;
}

bool swap_zeromap_test(struct swap_info_struct *si, pgoff_t offset)
{
	return test_bit_relaxed(offset % BITS_PER_LONG, &si->zeromap[offset / BITS_PER_LONG]);
}

unsigned swap_zeromap_batch(struct uswap *sw, swp_entry_t entry, unsigned nr)
{
	struct swap_info_struct *si = __swap_entry_to_info(sw, entry);
	unsigned n = 0;

	for (unsigned i = 0; i < nr; i++)
		n += swap_zeromap_test(si, swp_offset(entry) + i);
	return n;
}

void swap_range_free_notify(struct swap_info_struct *si, pgoff_t offset, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++) {
		clear_bit_release((offset + i) % BITS_PER_LONG,
				  &si->zeromap[(offset + i) / BITS_PER_LONG]);
		if (si->dev->ops->slot_free_notify)
			si->dev->ops->slot_free_notify(si->dev, offset + i);
	}
}
