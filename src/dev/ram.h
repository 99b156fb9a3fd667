/* SPDX-License-Identifier: MIT */
/*
 * ram.h - a plain RAM-backed test device (no compression). SYNC_IO.
 * Created with SWAP_DEV_DISCARD it discards, poisoning the slots.
 *
 * Owns: its slot array. Locking: none needed (the engine never touches one
 * slot concurrently); fault injection counters are atomic.
 */
#ifndef USWAP_DEV_RAM_H
#define USWAP_DEV_RAM_H

#include "dev.h"

struct arena;

/*
 * ramdev_create - @nr_pages slots (slot 0 included) in @arena memory.
 * @flags: SWAP_DEV_* flags to advertise (tests use them to exercise paths).
 * Return: 0 or -ENOMEM / -EINVAL.
 */
int ramdev_create(struct swap_dev **out, struct arena *arena, unsigned long nr_pages,
		  unsigned long flags);

/* Fault injection: fail the nth next read / write with @err (0: off). */
void ramdev_inject(struct swap_dev *dev, unsigned long read_nth, unsigned long write_nth, int err);

/*
 * ramdev_discarded - Return: how many slots @dev (a RAM device) discarded.
 * Context: any.
 */
unsigned long ramdev_discarded(struct swap_dev *dev);

#endif /* USWAP_DEV_RAM_H */
