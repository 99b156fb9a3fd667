// SPDX-License-Identifier: MIT
/*
 * demo.c - the small workload behind `uswap stat --demo`, written straight
 * on the swap API (no address spaces): pages of four kinds (all zero,
 * same-filled, compressible text, random bytes) go out to the device the
 * way reclaim sends them, a fraction comes back the way a fault brings it
 * in and is checked; the state is printed while the rest is still out,
 * then every slot is released.
 *
 * Owns: its folios and entries while it runs. Locking: single-threaded;
 * folio locks taken as the swap API requires.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "swap/swap.h"

#define DEMO_PAGES   4096 /* 16 MiB */
#define DEMO_READ_NR 5	  /* one page in 5 comes back: every kind in turn */

/* Page @i of the demo: its kind follows i % 4, its bytes follow i. */
static void demo_fill(void *page, unsigned long i)
{
	uint64_t *w = page, x = i * 0x9e3779b97f4a7c15ULL + 1;

	switch (i % 4) {
	case 0:
		memset(page, 0, PAGE_SIZE);
		break;
	case 1:
		for (unsigned k = 0; k < PAGE_SIZE / 8; k++)
			w[k] = 0x0101010101010101ULL * (i & 0xff);
		break;
	case 2:
		memset(page, ' ', PAGE_SIZE);
		for (unsigned k = 0; k < PAGE_SIZE; k += 64)
			snprintf((char *)page + k, 64,
				 "record %08u field %04u of the demo records...", (unsigned)i,
				 k / 64);
		break;
	default:
		for (unsigned k = 0; k < PAGE_SIZE / 8; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			w[k] = x;
		}
		break;
	}
}

/* Reclaim's steps for one page: slot, reference, write, leave the cache. */
static int demo_swap_out(struct uswap *sw, unsigned long i, swp_entry_t *entry)
{
	struct folio *folio = folio_alloc(sw, 0);
	int ret;

	if (!folio)
		return -ENOMEM;
	demo_fill(folio->data, i);
	folio_lock(folio);
	ret = folio_alloc_swap(folio);
	if (ret)
		goto out;
	ret = folio_dup_swap(folio, NULL);
	if (!ret)
		ret = swap_writeout(folio);
	if (ret) {
		if (swap_entry_swapped(sw, folio_swap_entry(folio)))
			folio_put_swap(folio, NULL);
		folio_free_swap(folio);
		goto out;
	}
	*entry = folio_swap_entry(folio);
	swap_cache_del_folio(folio, 0);
out:
	folio_unlock(folio);
	folio_put(folio);
	return ret;
}

/* A fault's steps: find or read the page, check it, drop the last reference. */
static int demo_swap_in(struct uswap *sw, unsigned long i, swp_entry_t entry)
{
	_Alignas(16) unsigned char want[PAGE_SIZE];
	struct swap_info_struct *si = get_swap_device(sw, entry);
	struct folio *folio;
	bool new_folio = false;
	int ret = 0;

	if (!si)
		return -ENOENT;
	folio = swap_cache_alloc_folio(sw, entry, &new_folio);
	if (IS_ERR_OR_NULL(folio)) {
		put_swap_device(si);
		return folio ? (int)PTR_ERR(folio) : -ENOENT;
	}
	if (new_folio) {
		ret = swap_read_folio(folio);
	} else {
		folio_lock(folio);
	}
	demo_fill(want, i);
	if (!ret && memcmp(folio->data, want, PAGE_SIZE))
		ret = -EIO;
	folio_put_swap(folio, NULL);
	folio_free_swap(folio);
	folio_unlock(folio);
	folio_put(folio);
	put_swap_device(si);
	return ret;
}

int cli_stat_demo(struct uswap *sw, FILE *out)
{
	swp_entry_t *entries = calloc(DEMO_PAGES, sizeof(*entries));
	unsigned long nr = 0;
	int ret = 0;

	if (!entries)
		return -ENOMEM;
	for (; nr < DEMO_PAGES && !ret; nr++)
		ret = demo_swap_out(sw, nr, &entries[nr]);
	if (ret)
		nr--;
	for (unsigned long i = 0; i < nr && !ret; i += DEMO_READ_NR) {
		ret = demo_swap_in(sw, i, entries[i]);
		entries[i].val = 0;
	}
	if (!ret)
		cli_print_stat(out, sw);
	for (unsigned long i = 0; i < nr; i++)
		if (entries[i].val)
			swap_put_entries_direct(sw, entries[i], 1);
	free(entries);
	return ret;
}
