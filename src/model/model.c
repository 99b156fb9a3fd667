// SPDX-License-Identifier: MIT
/*
 * model.c - the in-memory front end (see model.h): page tables of pte_t
 * words in two levels (an array of table pointers per address space, one
 * 4 KiB table of PTRS_PER_PTE entries per 2 MiB block, allocated on first
 * use and kept until the address space is released), the "hardware" access
 * path that reads and writes through them, and the model's lists.
 *
 * The access path is the CPU: under the table's lock it copies to or from
 * the mapped page and sets the entry's accessed (and dirty) bits, and on a
 * missing or write-protected entry it calls the mm layer's fault handler and
 * tries again.
 *
 * Owns: struct model, struct model_as (and its tables), struct model_shmem,
 * struct model_thread. Locking: m->lock (LOCK_RANK_MODEL) guards as_list and
 * shmem_list; each table has its lock (LOCK_RANK_PTL) in as->ptls[], which
 * also guards the table's pin bits. Table pointers are published once with
 * a compare-and-swap.
 */
#include "model.h"

#include <pthread.h>
#include <string.h>

#include "../dev/ram.h"
#include "../dev/zram.h"

struct model {
	struct uswap *sw;
	bool own_engine;	     /* destroy the engine with the model */
	struct ulock lock;	     /* LOCK_RANK_MODEL: the lists */
	struct list_head as_list;    /* model_as.node */
	struct list_head shmem_list; /* model_shmem.node */
};

struct model_as {
	struct mm_struct mm;
	struct model *m;
	struct list_head node; /* on m->as_list, until model_exit() */
	unsigned long nr_tables;
	pte_t **tables;	       /* one per 2 MiB block; published once (atomic) */
	struct ulock *ptls;    /* one per table */
	unsigned long *pinned; /* one bit per page, under its table's lock */
};

struct model_shmem {
	struct shmem_file *file;
	struct model *m;
	struct list_head node; /* on m->shmem_list */
};

struct model_thread {
	pthread_t tid;
	struct model_as *as;
	void *(*fn)(struct model_as *as, void *arg);
	void *arg;
	struct arena *arena;
};

static struct arena *model_arena(struct model *m)
{
	return m->sw->arena;
}

/* ---- the platform: page tables ---- */

static struct model_as *to_model_as(struct mm_struct *mm)
{
	return container_of(mm, struct model_as, mm);
}

static unsigned long as_page_index(struct model_as *as, unsigned long addr)
{
	return (addr - as->mm.start) >> PAGE_SHIFT;
}

static pte_t *model_pte_offset_lock(struct mm_struct *mm, unsigned long addr, bool alloc,
				    struct ulock **ptlp)
{
	struct model_as *as = to_model_as(mm);
	unsigned long t = (addr - mm->start) >> PMD_SHIFT;
	pte_t *table = atomic_load_acquire(&as->tables[t]), *expected = NULL;

	if (!table) {
		if (!alloc)
			return NULL;
		table = arena_zalloc(model_arena(as->m), PAGE_SIZE);
		if (!table)
			return ERR_PTR(-ENOMEM);
		if (!atomic_cmpxchg_acq_rel(&as->tables[t], &expected, table)) {
			arena_free(model_arena(as->m), table, PAGE_SIZE);
			table = expected;
		}
	}
	ulock_lock(&as->ptls[t]);
	*ptlp = &as->ptls[t];
	return &table[as_page_index(as, addr) % PTRS_PER_PTE];
}

static bool page_pinned(struct model_as *as, unsigned long addr)
{
	unsigned long idx = as_page_index(as, addr);

	return (as->pinned[idx / BITS_PER_LONG] >> (idx % BITS_PER_LONG)) & 1;
}

/* The model's memory is the page tables themselves; only pins can refuse. */
static int model_sync_pte(struct mm_struct *mm, unsigned long addr, pte_t old, pte_t new)
{
	if (pte_present(old) && is_swap_pte(new) && page_pinned(to_model_as(mm), addr))
		return -EBUSY;
	return 0;
}

static void model_as_free(struct model_as *as)
{
	struct arena *a = model_arena(as->m);
	unsigned long nr_pages = as->nr_tables * PTRS_PER_PTE;

	for (unsigned long t = 0; as->tables && t < as->nr_tables; t++)
		arena_free(a, as->tables[t], PAGE_SIZE);
	arena_free(a, as->tables, as->nr_tables * sizeof(*as->tables));
	arena_free(a, as->ptls, as->nr_tables * sizeof(*as->ptls));
	arena_free(a, as->pinned, DIV_ROUND_UP(nr_pages, BITS_PER_LONG) * sizeof(unsigned long));
	arena_free(a, as, sizeof(*as));
}

static void model_release(struct mm_struct *mm)
{
	model_as_free(to_model_as(mm));
}

static const struct mm_platform_ops model_mm_ops = {
	.pte_offset_lock = model_pte_offset_lock,
	.sync_pte = model_sync_pte,
	.release = model_release,
};

static struct model_as *model_as_alloc(struct model *m, size_t size)
{
	struct arena *a = model_arena(m);
	unsigned long nr_tables = DIV_ROUND_UP(size, PMD_SIZE);
	unsigned long nr_pages = nr_tables * PTRS_PER_PTE;
	struct model_as *as = arena_zalloc(a, sizeof(*as));

	if (!as)
		return NULL;
	as->m = m;
	as->nr_tables = nr_tables;
	as->tables = arena_zalloc(a, nr_tables * sizeof(*as->tables));
	as->ptls = arena_zalloc(a, nr_tables * sizeof(*as->ptls));
	as->pinned = arena_zalloc(a, DIV_ROUND_UP(nr_pages, BITS_PER_LONG) * sizeof(unsigned long));
	if (!as->tables || !as->ptls || !as->pinned) {
		model_as_free(as);
		return NULL;
	}
	for (unsigned long t = 0; t < nr_tables; t++)
		ulock_init(&as->ptls[t], LOCK_RANK_PTL);
	INIT_LIST_HEAD(&as->node);
	return as;
}

static void model_add_as(struct model_as *as)
{
	ulock_lock(&as->m->lock);
	list_add_tail(&as->node, &as->m->as_list);
	ulock_unlock(&as->m->lock);
}

int model_as_create(struct model *m, size_t size, unsigned thp_order, struct model_as **out)
{
	struct model_as *as;
	int err;

	if (!size || size > (1UL << 46))
		return -EINVAL;
	as = model_as_alloc(m, size);
	if (!as)
		return -ENOMEM;
	err = mm_init(&as->mm, m->sw, &model_mm_ops, MODEL_AS_BASE,
		      MODEL_AS_BASE + as->nr_tables * PMD_SIZE, thp_order);
	if (err) {
		model_as_free(as);
		return err;
	}
	model_add_as(as);
	*out = as;
	return 0;
}

int model_fork(struct model_as *parent, struct model_as **out)
{
	struct model_as *child = model_as_alloc(parent->m, model_as_size(parent));
	int err;

	if (!child)
		return -ENOMEM;
	err = mm_fork(&child->mm, &parent->mm, &model_mm_ops);
	if (err)
		return err;
	model_add_as(child);
	*out = child;
	return 0;
}

void model_exit(struct model_as *as)
{
	ulock_lock(&as->m->lock);
	list_del_init(&as->node);
	ulock_unlock(&as->m->lock);
	mmput(&as->mm);
}

struct mm_struct *model_as_mm(struct model_as *as)
{
	return &as->mm;
}

unsigned long model_as_start(const struct model_as *as)
{
	return as->mm.start;
}

size_t model_as_size(const struct model_as *as)
{
	return as->mm.end - as->mm.start;
}

unsigned long model_as_resident(struct model_as *as)
{
	return (unsigned long)atomic_load_relaxed(&as->mm.nr_anon);
}

unsigned long model_as_swapped(struct model_as *as)
{
	return (unsigned long)atomic_load_relaxed(&as->mm.nr_swapents);
}

/* ---- the hardware: accesses through the page tables ---- */

/* Copy within one page if its entry allows. Return: whether it did. */
static bool model_access_page(struct model_as *as, unsigned long addr, char *buf, size_t n,
			      bool write)
{
	unsigned long flags = _PAGE_ACCESSED | (write ? _PAGE_DIRTY : 0);
	struct ulock *ptl;
	bool done = false;
	pte_t *ptep, pte;

	ptep = model_pte_offset_lock(&as->mm, addr, false, &ptl);
	if (!ptep)
		return false;
	pte = ptep_get(ptep);
	if (pte_present(pte) && (!write || pte_write(pte))) {
		char *data = (char *)page_address(pte_page(pte, addr)) + (addr & ~PAGE_MASK);

		if (write)
			memcpy(data, buf, n);
		else
			memcpy(buf, data, n);
		if ((pte.val & flags) != flags)
			__set_pte(ptep, pte_set_flags(pte, flags));
		done = true;
	}
	ulock_unlock(ptl);
	return done;
}

static int model_access(struct model_as *as, unsigned long addr, void *buf, size_t len, bool write)
{
	char *p = buf;

	if (addr < as->mm.start || addr > as->mm.end || len > as->mm.end - addr)
		return -EFAULT;
	while (len) {
		size_t n = min(len, PAGE_SIZE - (addr & ~PAGE_MASK));

		while (!model_access_page(as, addr, p, n, write)) {
			int err = handle_mm_fault(&as->mm, addr, write ? FAULT_FLAG_WRITE : 0);

			if (err)
				return err;
		}
		addr += n;
		p += n;
		len -= n;
	}
	return 0;
}

int model_read(struct model_as *as, unsigned long addr, void *buf, size_t len)
{
	return model_access(as, addr, buf, len, false);
}

int model_write(struct model_as *as, unsigned long addr, const void *buf, size_t len)
{
	return model_access(as, addr, (void *)buf, len, true);
}

int model_read_u64(struct model_as *as, unsigned long addr, uint64_t *val)
{
	return model_read(as, addr, val, sizeof(*val));
}

int model_write_u64(struct model_as *as, unsigned long addr, uint64_t val)
{
	return model_write(as, addr, &val, sizeof(val));
}

long model_madvise(struct model_as *as, unsigned long addr, size_t len, enum model_advice advice)
{
	unsigned long end = addr + len;

	if ((addr | len) & ~PAGE_MASK || end < addr)
		return -EINVAL;
	switch (advice) {
	case MODEL_MADV_DONTNEED:
		return zap_page_range(&as->mm, addr, end);
	case MODEL_MADV_PAGEOUT:
		return madvise_pageout(&as->mm, addr, end);
	}
	return -EINVAL;
}

int model_pin(struct model_as *as, unsigned long addr, bool pin)
{
	unsigned long idx, bit;
	struct ulock *ptl;
	pte_t *ptep;

	if (addr < as->mm.start || addr >= as->mm.end)
		return -EFAULT;
	ptep = model_pte_offset_lock(&as->mm, addr, true, &ptl);
	if (IS_ERR(ptep))
		return (int)PTR_ERR(ptep);
	idx = as_page_index(as, addr);
	bit = 1UL << (idx % BITS_PER_LONG);
	if (pin)
		as->pinned[idx / BITS_PER_LONG] |= bit;
	else
		as->pinned[idx / BITS_PER_LONG] &= ~bit;
	ulock_unlock(ptl);
	return 0;
}

int model_ksm(struct model_as *as, unsigned long addr)
{
	return ksm_mark_page(&as->mm, addr & PAGE_MASK);
}

static void *model_thread_main(void *arg)
{
	struct model_thread *t = arg;

	return t->fn(t->as, t->arg);
}

int model_spawn(struct model_as *as, void *(*fn)(struct model_as *as, void *arg), void *arg,
		struct model_thread **out)
{
	struct arena *a = model_arena(as->m);
	struct model_thread *t = arena_zalloc(a, sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	t->as = as;
	t->fn = fn;
	t->arg = arg;
	t->arena = a;
	err = pthread_create(&t->tid, NULL, model_thread_main, t);
	if (err) {
		arena_free(a, t, sizeof(*t));
		return -err;
	}
	*out = t;
	return 0;
}

void *model_join(struct model_thread *t)
{
	void *ret = NULL;

	pthread_join(t->tid, &ret);
	arena_free(t->arena, t, sizeof(*t));
	return ret;
}

/* ---- shmem ---- */

int model_shmem_create(struct model *m, unsigned long nr_pages, struct model_shmem **out)
{
	struct model_shmem *s = arena_zalloc(model_arena(m), sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	err = shmem_file_create(m->sw, nr_pages, &s->file);
	if (err) {
		arena_free(model_arena(m), s, sizeof(*s));
		return err;
	}
	s->m = m;
	ulock_lock(&m->lock);
	list_add_tail(&s->node, &m->shmem_list);
	ulock_unlock(&m->lock);
	*out = s;
	return 0;
}

void model_shmem_destroy(struct model_shmem *s)
{
	struct model *m = s->m;

	ulock_lock(&m->lock);
	list_del_init(&s->node);
	ulock_unlock(&m->lock);
	shmem_file_destroy(s->file);
	arena_free(model_arena(m), s, sizeof(*s));
}

int model_shmem_read(struct model_shmem *s, unsigned long pos, void *buf, size_t len)
{
	return shmem_read(s->file, pos, buf, len);
}

int model_shmem_write(struct model_shmem *s, unsigned long pos, const void *buf, size_t len)
{
	return shmem_write(s->file, pos, buf, len);
}

int model_shmem_truncate(struct model_shmem *s, unsigned long start, unsigned long end)
{
	return shmem_truncate_range(s->file, start, end);
}

unsigned long model_shmem_swapped(struct model_shmem *s)
{
	return shmem_nr_swapped(s->file);
}

struct shmem_file *model_shmem_file(struct model_shmem *s)
{
	return s->file;
}

/* ---- hibernation ---- */

struct hib_pages {
	struct folio **folios; /* a reference on each */
	void **pages;
	unsigned long nr, cap;
};

static int hib_pages_add(struct arena *a, struct hib_pages *hp, struct folio *folio, void *page)
{
	if (hp->nr == hp->cap) {
		unsigned long cap = hp->cap ? hp->cap * 2 : 256;
		struct folio **folios = arena_alloc(a, cap * sizeof(*folios));
		void **pages = arena_alloc(a, cap * sizeof(*pages));

		if (!folios || !pages) {
			arena_free(a, folios, cap * sizeof(*folios));
			arena_free(a, pages, cap * sizeof(*pages));
			return -ENOMEM;
		}
		if (hp->nr) {
			memcpy(folios, hp->folios, hp->nr * sizeof(*folios));
			memcpy(pages, hp->pages, hp->nr * sizeof(*pages));
		}
		arena_free(a, hp->folios, hp->cap * sizeof(*folios));
		arena_free(a, hp->pages, hp->cap * sizeof(*pages));
		hp->folios = folios;
		hp->pages = pages;
		hp->cap = cap;
	}
	folio_get(folio);
	hp->folios[hp->nr] = folio;
	hp->pages[hp->nr++] = page;
	return 0;
}

/* Every page mapped in @as, referenced. */
static int hib_collect(struct model_as *as, struct hib_pages *hp)
{
	struct arena *a = model_arena(as->m);
	int err = 0;

	for (unsigned long addr = as->mm.start; addr < as->mm.end && !err; addr += PMD_SIZE) {
		struct ulock *ptl;
		pte_t *ptep = model_pte_offset_lock(&as->mm, addr, false, &ptl);

		if (!ptep)
			continue;
		for (unsigned i = 0; i < PTRS_PER_PTE && !err; i++) {
			pte_t pte = ptep_get(ptep + i);
			unsigned long va = addr + ((unsigned long)i << PAGE_SHIFT);

			if (pte_present(pte))
				err = hib_pages_add(a, hp, pte_folio(pte), pte_page(pte, va));
		}
		ulock_unlock(ptl);
	}
	return err;
}

/* Read the image back a page at a time and compare it with memory. */
static int hib_verify(struct hib_image *img, struct hib_pages *hp, struct arena *a)
{
	char *buf = arena_alloc(a, PAGE_SIZE);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	for (unsigned long i = 0; i < img->nr && !err; i++) {
		err = hib_image_read(img, i, buf);
		if (!err && memcmp(buf, hp->pages[i], PAGE_SIZE))
			err = -EUCLEAN;
	}
	arena_free(a, buf, PAGE_SIZE);
	return err;
}

long model_hibernate(struct model *m, unsigned type)
{
	struct arena *a = model_arena(m);
	struct hib_pages hp = {0};
	struct hib_image img;
	struct model_as *as;
	unsigned long freed;
	int err = 0;

	ulock_lock(&m->lock);
	list_for_each_entry (as, &m->as_list, node)
		if (!err)
			err = hib_collect(as, &hp);
	ulock_unlock(&m->lock);
	if (!err)
		err = hib_image_write(m->sw, type, hp.pages, hp.nr, &img);
	else
		memset(&img, 0, sizeof(img));
	if (!err)
		err = hib_verify(&img, &hp, a);
	freed = img.extents.sw ? hib_image_release(&img) : 0;
	if (!err && freed != hp.nr)
		err = -EUCLEAN;
	for (unsigned long i = 0; i < hp.nr; i++)
		folio_put(hp.folios[i]);
	arena_free(a, hp.folios, hp.cap * sizeof(*hp.folios));
	arena_free(a, hp.pages, hp.cap * sizeof(*hp.pages));
	return err ? err : (long)hp.nr;
}

/* ---- the model ---- */

int model_create(struct model **out, struct uswap *sw)
{
	struct model *m = arena_zalloc(sw->arena, sizeof(*m));
	int err;

	if (!m)
		return -ENOMEM;
	err = mm_state_create(sw);
	if (err) {
		arena_free(sw->arena, m, sizeof(*m));
		return err;
	}
	m->sw = sw;
	ulock_init(&m->lock, LOCK_RANK_MODEL);
	INIT_LIST_HEAD(&m->as_list);
	INIT_LIST_HEAD(&m->shmem_list);
	*out = m;
	return 0;
}

int model_create_engine(struct model **out, size_t arena_bytes)
{
	struct uswap *sw;
	int err = swap_engine_create(&sw, arena_bytes ? arena_bytes : 4UL << 30, false);

	if (err)
		return err;
	err = model_create(out, sw);
	if (err) {
		swap_engine_destroy(sw);
		return err;
	}
	(*out)->own_engine = true;
	return 0;
}

void model_destroy(struct model *m)
{
	struct uswap *sw = m->sw;
	bool own_engine = m->own_engine;

	while (!list_empty(&m->as_list))
		model_exit(list_first_entry(&m->as_list, struct model_as, node));
	while (!list_empty(&m->shmem_list))
		model_shmem_destroy(list_first_entry(&m->shmem_list, struct model_shmem, node));
	if (own_engine) {
		for (unsigned type = 0; type < MAX_SWAPFILES; type++) {
			struct swap_info_struct *si = get_swap_device(sw, swp_entry(type, 1));

			if (!si)
				continue;
			put_swap_device(si);
			mm_swapoff(sw, type, NULL, NULL);
		}
	}
	mm_state_destroy(sw);
	arena_free(sw->arena, m, sizeof(*m));
	if (own_engine)
		swap_engine_destroy(sw);
}

struct uswap *model_engine(struct model *m)
{
	return m->sw;
}

int model_swapon_dev(struct model *m, struct swap_dev *dev, int prio)
{
	return swapon(m->sw, dev, prio);
}

int model_swapon_ram(struct model *m, unsigned long nr_pages, unsigned long dev_flags, int prio)
{
	struct swap_dev *dev;
	int err = ramdev_create(&dev, model_arena(m), nr_pages, dev_flags);

	return err ? err : swapon(m->sw, dev, prio);
}

int model_swapon_zram(struct model *m, unsigned long nr_pages, int prio)
{
	struct swap_dev *dev;
	int err = zram_create(&dev, model_arena(m), nr_pages, NULL);

	return err ? err : swapon(m->sw, dev, prio);
}

int model_swapoff(struct model *m, unsigned type, swapoff_interrupt_t interrupted, void *arg)
{
	return mm_swapoff(m->sw, type, interrupted, arg);
}

void model_set_budget(struct model *m, unsigned long pages)
{
	mm_set_budget(m->sw, pages);
}

unsigned long model_reclaim(struct model *m, unsigned long nr)
{
	return try_to_free_pages(m->sw, nr);
}

void model_info(struct model *m, struct model_info *info)
{
	struct mm_lru_info lru;

	mm_lru_info(m->sw, &lru);
	info->resident = lru.charged;
	info->active = lru.active;
	info->inactive = lru.inactive;
	info->budget = lru.budget;
	info->swap_total = (unsigned long)atomic_load_relaxed(&m->sw->total_swap_pages);
	info->swap_free = (unsigned long)max(get_nr_swap_pages(m->sw), 0L);
}

unsigned long model_stat(struct model *m, enum vm_event_item item)
{
	return vm_event_read(sw_events(m->sw), item);
}

int model_check(struct model *m)
{
	return swap_check_all(m->sw);
}
