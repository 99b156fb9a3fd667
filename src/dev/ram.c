// SPDX-License-Identifier: MIT
/*
 * ram.c - plain RAM test device. With SWAP_DEV_DISCARD it also discards:
 * a discarded slot is filled with a poison pattern (what a real device
 * returns for a trimmed block is undefined), so a read of a slot the engine
 * discarded while it still needed it shows up as garbage, not as stale data
 * that happens to be right.
 *
 * Owns: the slot pages. Locking: none (engine guarantees per-slot
 * exclusion); injection and discard counters atomic.
 */
#include "ram.h"

#include <errno.h>
#include <string.h>

#include "../base/arena.h"
#include "../base/atomic.h"

struct ramdev {
	struct swap_dev dev;
	struct arena *arena;
	char *pages;
	unsigned long read_nth, write_nth; /* atomic countdowns */
	unsigned long discarded;	   /* atomic: slots discarded */
	int inject_err;
};

static struct ramdev *to_ram(struct swap_dev *dev)
{
	return container_of(dev, struct ramdev, dev);
}

static int ram_read(struct swap_dev *dev, pgoff_t offset, void *buf, unsigned nr)
{
	struct ramdev *r = to_ram(dev);

	if (offset == 0 || offset + nr > dev->nr_pages)
		return -EINVAL;
	if (atomic_countdown_hits(&r->read_nth))
		return r->inject_err;
	memcpy(buf, r->pages + (offset << PAGE_SHIFT), (size_t)nr << PAGE_SHIFT);
	return 0;
}

static int ram_write(struct swap_dev *dev, pgoff_t offset, const void *buf, unsigned nr)
{
	struct ramdev *r = to_ram(dev);

	if (offset == 0 || offset + nr > dev->nr_pages)
		return -EINVAL;
	if (atomic_countdown_hits(&r->write_nth))
		return r->inject_err;
	memcpy(r->pages + (offset << PAGE_SHIFT), buf, (size_t)nr << PAGE_SHIFT);
	return 0;
}

/* What a discarded slot reads as: neither zeros nor anything written. */
#define RAM_DISCARD_POISON 0xd5

static int ram_discard(struct swap_dev *dev, pgoff_t offset, unsigned long nr)
{
	struct ramdev *r = to_ram(dev);

	if (!(dev->flags & SWAP_DEV_DISCARD))
		return -EOPNOTSUPP;
	if (offset == 0 || offset >= dev->nr_pages || nr > dev->nr_pages - offset)
		return -EINVAL;
	memset(r->pages + (offset << PAGE_SHIFT), RAM_DISCARD_POISON, nr << PAGE_SHIFT);
	atomic_fetch_add_relaxed(&r->discarded, nr);
	return 0;
}

static void ram_destroy(struct swap_dev *dev)
{
	struct ramdev *r = to_ram(dev);
	struct arena *a = r->arena;

	arena_free(a, r->pages, dev->nr_pages << PAGE_SHIFT);
	arena_free(a, r, sizeof(*r));
}

static const struct swap_dev_ops ram_ops = {
	.name = "ram",
	.read = ram_read,
	.write = ram_write,
	.discard = ram_discard,
	.destroy = ram_destroy,
};

int ramdev_create(struct swap_dev **out, struct arena *arena, unsigned long nr_pages,
		  unsigned long flags)
{
	struct ramdev *r;

	if (nr_pages < 2)
		return -EINVAL;
	r = arena_zalloc(arena, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->pages = arena_alloc(arena, nr_pages << PAGE_SHIFT);
	if (!r->pages) {
		arena_free(arena, r, sizeof(*r));
		return -ENOMEM;
	}
	r->arena = arena;
	r->dev.ops = &ram_ops;
	r->dev.flags = flags;
	r->dev.nr_pages = nr_pages;
	r->dev.kind = "ram";
	strcpy(r->dev.name, "ram");
	*out = &r->dev;
	return 0;
}

void ramdev_inject(struct swap_dev *dev, unsigned long read_nth, unsigned long write_nth, int err)
{
	struct ramdev *r = to_ram(dev);

	r->inject_err = err;
	atomic_store_relaxed(&r->read_nth, read_nth);
	atomic_store_relaxed(&r->write_nth, write_nth);
}

unsigned long ramdev_discarded(struct swap_dev *dev)
{
	return atomic_load_relaxed(&to_ram(dev)->discarded);
}
