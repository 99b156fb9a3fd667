// SPDX-License-Identifier: MIT
/*
 * demo.c - the small workload behind `uswap stat --demo`, on the model: an
 * address space of 16 MiB in a budget of 4 MiB is written with pages of four
 * kinds (all zero, same-filled, text, random bytes), so that reclaim sends
 * most of them to the device; then one page in five is read back (swapped
 * in) and checked. The state is printed while the rest is still out, then
 * the model is torn down and every slot released.
 *
 * Owns: the demo's model and address space while it runs. Locking:
 * single-threaded; the model and mm layer lock as they need.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/pattern.h"
#include "model/model.h"

#define DEMO_PAGES	  4096 /* 16 MiB of data */
#define DEMO_BUDGET_PAGES 1024 /* in 4 MiB of memory */
#define DEMO_READ_NR	  5    /* one page in 5 comes back: every kind in turn */

/* Page @i of the demo: its kind follows i % 4, its bytes follow i. */
static void demo_fill(void *page, unsigned long i)
{
	uint64_t *w = page;

	switch (i % 4) {
	case 0:
		memset(page, 0, PAGE_SIZE);
		break;
	case 1:
		for (unsigned k = 0; k < PAGE_SIZE / 8; k++)
			w[k] = 0x0101010101010101ULL * (i & 0xff);
		break;
	case 2:
		pattern_fill(page, PAGE_SIZE, PATTERN_TEXT, i, 0);
		break;
	default:
		pattern_fill(page, PAGE_SIZE, PATTERN_RANDOM, i, 0);
		break;
	}
}

/* Page @i of the demo's address space. */
static unsigned long demo_addr(struct model_as *as, unsigned long i)
{
	return model_as_start(as) + i * PAGE_SIZE;
}

int cli_stat_demo(struct uswap *sw, FILE *out)
{
	_Alignas(16) unsigned char buf[PAGE_SIZE], want[PAGE_SIZE];
	struct model_as *as;
	struct model *m;
	int ret;

	ret = model_create(&m, sw);
	if (ret)
		return ret;
	model_set_budget(m, DEMO_BUDGET_PAGES);
	ret = model_as_create(m, DEMO_PAGES * PAGE_SIZE, 0, &as);
	for (unsigned long i = 0; i < DEMO_PAGES && !ret; i++) {
		demo_fill(buf, i);
		ret = model_write(as, demo_addr(as, i), buf, PAGE_SIZE);
	}
	for (unsigned long i = 0; i < DEMO_PAGES && !ret; i += DEMO_READ_NR) {
		ret = model_read(as, demo_addr(as, i), buf, PAGE_SIZE);
		demo_fill(want, i);
		if (!ret && memcmp(buf, want, PAGE_SIZE))
			ret = -EIO;
	}
	if (!ret)
		cli_print_stat(out, sw);
	model_destroy(m);
	return ret;
}
