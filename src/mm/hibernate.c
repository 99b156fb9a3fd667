// SPDX-License-Identifier: MIT
/*
 * hibernate.c - hibernation images on a swap device: each page of the image
 * goes to a hibernation slot (swap_alloc_hibernation_slot, through
 * alloc_swapdev_block, which records the slots as closed extents), written
 * and read straight through the device; releasing the image frees every slot
 * exactly once (free_all_swap_pages; docs/kernel-reference.md §10, items 1
 * and 2).
 *
 * Owns: the image's slot list (arena memory). Locking: an image belongs to
 * one thread; slots are allocated and freed by the swap layer's own locks,
 * and no other user ever touches a hibernation slot's data.
 */
#include <string.h>

#include "../dev/dev.h"
#include "internal.h"

static int hib_image_record(struct hib_image *img, pgoff_t offset)
{
	struct arena *a = img->extents.sw->arena;

	if (img->nr == img->cap) {
		unsigned long cap = img->cap ? img->cap * 2 : 64;
		pgoff_t *n = arena_alloc(a, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		if (img->nr)
			memcpy(n, img->offsets, img->nr * sizeof(*n));
		arena_free(a, img->offsets, img->cap * sizeof(*n));
		img->offsets = n;
		img->cap = cap;
	}
	img->offsets[img->nr++] = offset;
	return 0;
}

int hib_image_write(struct uswap *sw, unsigned type, void *const *pages, unsigned long nr,
		    struct hib_image *img)
{
	struct swap_info_struct *si;
	int err = 0;

	memset(img, 0, sizeof(*img));
	swsusp_extents_init(&img->extents, sw, type);
	si = get_swap_device(sw, swp_entry(type, 1));
	if (!si)
		return -EINVAL;
	for (unsigned long i = 0; i < nr && !err; i++) {
		pgoff_t offset = alloc_swapdev_block(&img->extents);

		if (!offset) {
			err = -ENOSPC;
			break;
		}
		/* A slot not recorded here is still in the extents: release frees it. */
		err = hib_image_record(img, offset);
		if (!err)
			err = si->dev->ops->write(si->dev, offset, pages[i], 1);
	}
	put_swap_device(si);
	return err;
}

int hib_image_read(struct hib_image *img, unsigned long i, void *page)
{
	struct swap_info_struct *si;
	int err;

	if (i >= img->nr)
		return -EINVAL;
	si = get_swap_device(img->extents.sw, swp_entry(img->extents.type, img->offsets[i]));
	if (!si)
		return -EINVAL;
	err = si->dev->ops->read(si->dev, img->offsets[i], page, 1);
	put_swap_device(si);
	return err;
}

unsigned long hib_image_release(struct hib_image *img)
{
	unsigned long freed = free_all_swap_pages(&img->extents);

	arena_free(img->extents.sw->arena, img->offsets, img->cap * sizeof(img->offsets[0]));
	img->offsets = NULL;
	img->nr = img->cap = 0;
	return freed;
}
