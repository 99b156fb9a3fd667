/* SPDX-License-Identifier: MIT */
/*
 * mm_test.h - what the mm tests share: a model over a harness engine, page
 * patterns written and checked through the model, and counter deltas.
 *
 * Owns: nothing. Locking: none (helpers are thread-safe where the model is).
 */
#ifndef USWAP_TESTS_MM_TEST_H
#define USWAP_TESTS_MM_TEST_H

#include "dev/ram.h"
#include "mm/internal.h"
#include "model/model.h"
#include "test.h"

/* A model over a fresh harness engine; the test calls model_destroy(). */
static inline struct model *mt_model(void)
{
	struct model *m;

	if (model_create(&m, t_engine())) {
		test_fail(__FILE__, __LINE__, "model_create");
		exit(1);
	}
	return m;
}

/* A RAM device of @nr_pages slots. Return: its type. */
static inline unsigned mt_swapon(struct model *m, unsigned long nr_pages, unsigned long flags)
{
	int type = model_swapon_ram(m, nr_pages, flags, -1);

	if (type < 0) {
		test_fail(__FILE__, __LINE__, "swapon: %d", type);
		exit(1);
	}
	return (unsigned)type;
}

static inline unsigned long mt_addr(struct model_as *as, unsigned long page)
{
	return model_as_start(as) + (page << PAGE_SHIFT);
}

/* Write page @page of @as with the pattern of @tag. Return: 0 or -errno. */
static inline int mt_fill(struct model_as *as, unsigned long page, uint64_t tag)
{
	uint64_t buf[PAGE_SIZE / 8];

	t_fill(buf, tag);
	return model_write(as, mt_addr(as, page), buf, PAGE_SIZE);
}

/* Return: whether page @page of @as holds the pattern of @tag. */
static inline bool mt_check(struct model_as *as, unsigned long page, uint64_t tag)
{
	uint64_t buf[PAGE_SIZE / 8];

	return !model_read(as, mt_addr(as, page), buf, PAGE_SIZE) && t_check(buf, tag);
}

/* Return: whether page @page of @as reads as zeros. */
static inline bool mt_zero(struct model_as *as, unsigned long page)
{
	uint64_t buf[PAGE_SIZE / 8];

	if (model_read(as, mt_addr(as, page), buf, PAGE_SIZE))
		return false;
	for (size_t i = 0; i < PAGE_SIZE / 8; i++)
		if (buf[i])
			return false;
	return true;
}

/* The page-table entry of page @page of @as, as it is now (none: 0). */
static inline pte_t mt_pte(struct model_as *as, unsigned long page)
{
	struct mm_struct *mm = model_as_mm(as);
	struct ulock *ptl;
	pte_t pte = {0};
	pte_t *ptep = mm->ops->pte_offset_lock(mm, mt_addr(as, page), false, &ptl);

	if (!ptep)
		return pte;
	pte = ptep_get(ptep);
	ulock_unlock(ptl);
	return pte;
}

/* The entry page @page of @as holds now (a swap entry, or 0). */
static inline swp_entry_t mt_swap_entry(struct model_as *as, unsigned long page)
{
	pte_t pte = mt_pte(as, page);

	return is_swap_pte(pte) ? pte_to_swp_entry(pte) : (swp_entry_t){0};
}

static inline unsigned long mt_inuse(struct model *m, unsigned type)
{
	return swap_inuse_pages(model_engine(m)->swap_info[type]);
}

static inline unsigned long mt_stat(struct model *m, enum vm_event_item item)
{
	return model_stat(m, item);
}

#endif /* USWAP_TESTS_MM_TEST_H */
