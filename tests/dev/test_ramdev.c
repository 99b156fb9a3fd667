// SPDX-License-Identifier: MIT
/*
 * test_ramdev.c - the RAM test device's discard: refused without
 * SWAP_DEV_DISCARD, range-checked, poisoning what it discards (neither the
 * old data nor zeros), counted; and the engine's discard path reaching it
 * once a discardable device's cluster empties.
 */
#include <errno.h>

#include "dev/ram.h"
#include "test.h"

static bool page_filled_with(const unsigned char *p, unsigned char c)
{
	for (size_t i = 0; i < PAGE_SIZE; i++)
		if (p[i] != c)
			return false;
	return true;
}

TEST(ram_discard_poisons_counts_and_checks_its_range)
{
	struct uswap *sw = t_engine();
	static unsigned char buf[PAGE_SIZE], back[PAGE_SIZE];
	struct swap_dev *dev, *plain;

	REQUIRE_EQ(ramdev_create(&dev, sw->arena, 64, SWAP_DEV_DISCARD), 0);
	REQUIRE_EQ(ramdev_create(&plain, sw->arena, 64, 0), 0);
	t_fill(buf, 42);
	for (pgoff_t off = 4; off < 8; off++)
		REQUIRE_EQ(dev->ops->write(dev, off, buf, 1), 0);
	CHECK_EQ(dev->ops->discard(dev, 5, 2), 0);
	CHECK_EQ(ramdev_discarded(dev), 2);
	/* Outside the range: untouched. Inside: poison, not data, not zeros. */
	CHECK_EQ(dev->ops->read(dev, 4, back, 1), 0);
	CHECK(t_check(back, 42));
	CHECK_EQ(dev->ops->read(dev, 7, back, 1), 0);
	CHECK(t_check(back, 42));
	for (pgoff_t off = 5; off < 7; off++) {
		CHECK_EQ(dev->ops->read(dev, off, back, 1), 0);
		CHECK(!t_check(back, 42));
		CHECK(!page_filled_with(back, 0));
		CHECK(page_filled_with(back, back[0]));
	}
	/* Slot 0 is the header; a range past the end is refused whole. */
	CHECK_EQ(dev->ops->discard(dev, 0, 1), -EINVAL);
	CHECK_EQ(dev->ops->discard(dev, 60, 5), -EINVAL);
	CHECK_EQ(ramdev_discarded(dev), 2);
	/* Not created discardable: it says so and keeps the data. */
	REQUIRE_EQ(plain->ops->write(plain, 5, buf, 1), 0);
	CHECK_EQ(plain->ops->discard(plain, 5, 1), -EOPNOTSUPP);
	CHECK_EQ(plain->ops->read(plain, 5, back, 1), 0);
	CHECK(t_check(back, 42));
	CHECK_EQ(ramdev_discarded(plain), 0);
	dev->ops->destroy(dev);
	plain->ops->destroy(plain);
}

/* A cluster emptied on a discardable device is discarded before its reuse. */
TEST(engine_discards_an_emptied_cluster_through_the_ram_device)
{
	struct uswap *sw = t_engine();
	enum { NR = 2 * 512 };
	static swp_entry_t e[NR];
	struct swap_info_struct *si;
	unsigned long n = 0;
	int type = t_ramdev(sw, 4 * 512, SWAP_DEV_DISCARD, 0);

	REQUIRE(type >= 0);
	si = sw->swap_info[type];
	REQUIRE(si->flags & SWP_DISCARDABLE);
	while (n < NR && (e[n] = swap_alloc_hibernation_slot(sw, (unsigned)type)).val)
		n++;
	REQUIRE_EQ(n, NR);
	CHECK_EQ(ramdev_discarded(si->dev), 0);
	for (unsigned long i = 0; i < n; i++)
		swap_free_hibernation_slot(sw, e[i]);
	/* The next allocation runs the scheduled discards first. */
	e[0] = swap_alloc_hibernation_slot(sw, (unsigned)type);
	REQUIRE(e[0].val);
	CHECK(ramdev_discarded(si->dev) >= 512);
	CHECK_EQ(ramdev_discarded(si->dev) % 512, 0);
	swap_free_hibernation_slot(sw, e[0]);
}
