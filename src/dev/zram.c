// SPDX-License-Identifier: MIT
/*
 * zram.c - compressed RAM swap backend.
 *
 * Owns: struct zram, its slot metadata array and every stored data block
 * (arena memory). Locking: each slot has a lock bit in its flags word; a
 * contended locker sets a waiters bit and sleeps on the word (futex), so
 * the lock costs two atomics when uncontended and never spins. Slot
 * contents change only under the slot lock. Compression runs outside the
 * lock into per-thread scratch memory; data blocks are allocated and freed
 * outside it too. Counters are relaxed atomics.
 *
 * A write of nr pages is all or nothing: every page is compressed and its
 * memory charged and allocated first; only then are the slots switched
 * over and the old data released. So a failed write (-ENOSPC past the cap,
 * -ENOMEM from the arena, -EIO from the compressor) leaves every slot as it
 * was.
 */
#include "zram.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <lz4.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_customMem */
#include <sys/mman.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "../base/arena.h"
#include "../base/atomic.h"
#include "../base/lock.h"

/* Slot flags word: lock bits and what the slot holds. */
enum {
	ZS_LOCKED = 1u << 0,  /* slot lock held */
	ZS_WAITERS = 1u << 1, /* someone sleeps on the lock */
	ZS_SAME = 1u << 2,    /* same-filled page: @value, no data */
	ZS_HUGE = 1u << 3,    /* raw page: PAGE_SIZE bytes at @handle */
};
#define ZS_CONTENT (ZS_SAME | ZS_HUGE)

struct zram_slot {
	union {
		void *handle;	     /* data block (compressed or raw) */
		unsigned long value; /* the repeated word of a same-filled page */
	};
	uint32_t size;	/* bytes at @handle; 0 when no data block */
	uint32_t flags; /* ZS_* (atomic: the lock lives here) */
};

/* A slot's contents, outside the slot array (staged writes, freed data). */
struct zram_content {
	union {
		void *handle;
		unsigned long value;
	};
	uint32_t size;
	uint32_t flags; /* ZS_SAME / ZS_HUGE only */
};

/* A write stages at most this many pages at once (one PMD-sized folio). */
#define ZRAM_STAGE_MAX 512

struct zram {
	struct swap_dev dev;
	struct arena *arena;
	struct zram_slot *slots; /* dev.nr_pages entries */
	enum zram_algo algo;
	int level;		    /* zstd level */
	size_t huge_threshold;	    /* bytes */
	size_t mem_limit;	    /* bytes, 0 = none */
	unsigned long mem_used;	    /* atomic: arena bytes of data blocks */
	unsigned long mem_used_max; /* atomic */
	unsigned long compr_size;   /* atomic: sum of slot sizes */
	unsigned long pages_stored; /* atomic */
	unsigned long same_pages;   /* atomic */
	unsigned long huge_pages;   /* atomic */
	unsigned long read_nth;	    /* atomic countdowns for injection */
	unsigned long write_nth;
	int inject_err;
};

static const struct swap_dev_ops zram_ops;

static struct zram *to_zram(struct swap_dev *dev)
{
	return container_of(dev, struct zram, dev);
}

bool is_zram_dev(const struct swap_dev *dev)
{
	return dev && dev->ops == &zram_ops;
}

/* ---- per-thread compression state ---- */

/*
 * Scratch memory of the thread running a write: the compressor writes here
 * (bounded by the huge threshold), then the result is copied into a block
 * of exactly its size. LZ4 keeps its 16 KiB state here rather than on the
 * stack; zstd contexts are created on first use and freed at thread exit.
 */
struct zram_tls {
	LZ4_stream_t lz4;
	unsigned char scratch[PAGE_SIZE];
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	bool registered; /* the exit destructor knows about this thread */
};

static __thread struct zram_tls zram_tls;
static pthread_key_t zram_tls_key;
static pthread_once_t zram_tls_once = PTHREAD_ONCE_INIT;

static void zram_tls_release(void *arg)
{
	struct zram_tls *t = arg;

	ZSTD_freeCCtx(t->cctx);
	ZSTD_freeDCtx(t->dctx);
	t->cctx = NULL;
	t->dctx = NULL;
	t->registered = false;
}

static void zram_tls_key_create(void)
{
	pthread_key_create(&zram_tls_key, zram_tls_release);
}

static void zram_tls_register(struct zram_tls *t)
{
	if (t->registered)
		return;
	pthread_once(&zram_tls_once, zram_tls_key_create);
	t->registered = pthread_setspecific(zram_tls_key, t) == 0;
}

/*
 * zstd's contexts come from mappings of their own, never from the program's
 * malloc: the engine may run inside the program it pages (the uffd front
 * end), where the program's heap can be swapped out under the very thread
 * that would need it. Shared anonymous memory is never paged by it.
 */
static void *zstd_ctx_alloc(void *opaque, size_t size)
{
	size_t *p =
		mmap(NULL, size + 16, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	p[0] = size + 16;
	return (char *)p + 16;
}

static void zstd_ctx_free(void *opaque, void *addr)
{
	if (addr)
		munmap((char *)addr - 16, *(size_t *)((char *)addr - 16));
}

static const ZSTD_customMem zstd_mem = {zstd_ctx_alloc, zstd_ctx_free, NULL};

static ZSTD_CCtx *zram_cctx(void)
{
	struct zram_tls *t = &zram_tls;

	if (unlikely(!t->cctx)) {
		t->cctx = ZSTD_createCCtx_advanced(zstd_mem);
		zram_tls_register(t);
	}
	return t->cctx;
}

static ZSTD_DCtx *zram_dctx(void)
{
	struct zram_tls *t = &zram_tls;

	if (unlikely(!t->dctx)) {
		t->dctx = ZSTD_createDCtx_advanced(zstd_mem);
		zram_tls_register(t);
	}
	return t->dctx;
}

/* ---- slot lock ---- */

static void slot_lock(struct zram_slot *s)
{
	uint32_t old = atomic_load_relaxed(&s->flags);

	for (;;) {
		if (!(old & ZS_LOCKED)) {
			if (atomic_cmpxchg_acquire(&s->flags, &old, old | ZS_LOCKED))
				return;
			continue;
		}
		if (!(old & ZS_WAITERS)) {
			if (!atomic_cmpxchg_relaxed(&s->flags, &old, old | ZS_WAITERS))
				continue;
			old |= ZS_WAITERS;
		}
		futex_wait_u32(&s->flags, old);
		old = atomic_load_relaxed(&s->flags);
	}
}

static void slot_unlock(struct zram_slot *s)
{
	uint32_t old = atomic_fetch_and_release(&s->flags, ~(ZS_LOCKED | ZS_WAITERS));

	if (unlikely(old & ZS_WAITERS))
		futex_wake_all_u32(&s->flags);
}

/* Take the slot's contents out, leaving it empty. Context: slot locked. */
static struct zram_content slot_take(struct zram_slot *s)
{
	struct zram_content c = {
		.handle = s->handle,
		.size = s->size,
		.flags = atomic_load_relaxed(&s->flags) & ZS_CONTENT,
	};

	s->handle = NULL;
	s->size = 0;
	atomic_fetch_and_relaxed(&s->flags, ~ZS_CONTENT);
	return c;
}

/* Context: slot locked and empty. */
static void slot_put(struct zram_slot *s, const struct zram_content *c)
{
	s->handle = c->handle;
	s->size = c->size;
	atomic_fetch_or_relaxed(&s->flags, c->flags);
}

static bool content_present(const struct zram_content *c)
{
	return (c->flags & ZS_SAME) || c->size;
}

/* ---- accounting ---- */

static bool mem_charge(struct zram *z, size_t bytes)
{
	unsigned long used = atomic_add_return_relaxed(&z->mem_used, bytes);
	unsigned long max = atomic_load_relaxed(&z->mem_used_max);

	if (z->mem_limit && used > z->mem_limit) {
		atomic_fetch_sub_relaxed(&z->mem_used, bytes);
		return false;
	}
	while (used > max && !atomic_cmpxchg_relaxed(&z->mem_used_max, &max, used))
		;
	return true;
}

static void mem_uncharge(struct zram *z, size_t bytes)
{
	atomic_fetch_sub_relaxed(&z->mem_used, bytes);
}

/* Stored contents become visible in the figures / leave them. */
static void stats_add(struct zram *z, const struct zram_content *c, long sign)
{
	atomic_fetch_add_relaxed(&z->pages_stored, sign);
	if (c->flags & ZS_SAME) {
		atomic_fetch_add_relaxed(&z->same_pages, sign);
		return;
	}
	if (c->flags & ZS_HUGE)
		atomic_fetch_add_relaxed(&z->huge_pages, sign);
	atomic_fetch_add_relaxed(&z->compr_size, sign * (long)c->size);
}

/* Free the data of contents that are no longer in any slot. */
static void content_release(struct zram *z, const struct zram_content *c)
{
	if (!content_present(c))
		return;
	stats_add(z, c, -1);
	if (c->size) {
		arena_free(z->arena, c->handle, c->size);
		mem_uncharge(z, arena_alloc_size(c->size));
	}
}

/* Undo zram_prepare() for contents that never reached a slot. */
static void content_discard(struct zram *z, const struct zram_content *c)
{
	if (c->size) {
		arena_free(z->arena, c->handle, c->size);
		mem_uncharge(z, arena_alloc_size(c->size));
	}
}

/* ---- compression ---- */

static bool page_same_filled(const void *page, unsigned long *value)
{
	const unsigned long *w = page;
	const size_t n = PAGE_SIZE / sizeof(*w);
	unsigned long v = w[0];

	if (w[n - 1] != v)
		return false;
	for (size_t i = 1; i < n - 1; i++) {
		if (w[i] != v)
			return false;
	}
	*value = v;
	return true;
}

static void page_fill(void *page, unsigned long value)
{
	unsigned long *w = page;

	if (value == 0) {
		memset(page, 0, PAGE_SIZE);
		return;
	}
	for (size_t i = 0; i < PAGE_SIZE / sizeof(*w); i++)
		w[i] = value;
}

static long zram_compress_zstd(struct zram *z, const void *src, void *dst)
{
	ZSTD_CCtx *cctx = zram_cctx();
	size_t ret;

	if (!cctx)
		return -ENOMEM;
	ret = ZSTD_compressCCtx(cctx, dst, z->huge_threshold, src, PAGE_SIZE, z->level);
	if (!ZSTD_isError(ret))
		return (long)ret;
	switch (ZSTD_getErrorCode(ret)) {
	case ZSTD_error_dstSize_tooSmall:
		return 0;
	case ZSTD_error_memory_allocation:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/*
 * Compress @src into @dst, at most huge_threshold bytes. Return: the
 * compressed length, 0 if it does not fit (store raw), or -ENOMEM / -EIO.
 */
static long zram_compress(struct zram *z, const void *src, void *dst)
{
	if (z->algo == ZRAM_LZ4)
		return LZ4_compress_fast_extState(&zram_tls.lz4, src, dst, PAGE_SIZE,
						  (int)z->huge_threshold, 1);
	return zram_compress_zstd(z, src, dst);
}

static int zram_decompress_zstd(const void *src, uint32_t size, void *dst)
{
	ZSTD_DCtx *dctx = zram_dctx();
	size_t n;

	if (!dctx)
		return -ENOMEM;
	n = ZSTD_decompressDCtx(dctx, dst, PAGE_SIZE, src, size);
	return !ZSTD_isError(n) && n == PAGE_SIZE ? 0 : -EIO;
}

/*
 * Decompress a block straight into the destination page, checking that it
 * yields exactly one page. Return: 0, -EIO if corrupt, -ENOMEM.
 */
static int zram_decompress(struct zram *z, const void *src, uint32_t size, void *dst)
{
	if (z->algo == ZRAM_LZ4)
		return LZ4_decompress_safe(src, dst, (int)size, PAGE_SIZE) == (int)PAGE_SIZE ? 0
											     : -EIO;
	return zram_decompress_zstd(src, size, dst);
}

/* ---- the ops ---- */

static int zram_read_page(struct zram *z, pgoff_t index, void *dst)
{
	struct zram_slot *s = &z->slots[index];
	uint32_t flags;
	int err = 0;

	slot_lock(s);
	flags = atomic_load_relaxed(&s->flags);
	if (flags & ZS_SAME)
		page_fill(dst, s->value);
	else if (!s->size)
		memset(dst, 0, PAGE_SIZE); /* never written, or freed */
	else if (flags & ZS_HUGE)
		memcpy(dst, s->handle, PAGE_SIZE);
	else
		err = zram_decompress(z, s->handle, s->size, dst);
	slot_unlock(s);
	return err;
}

static int zram_read(struct swap_dev *dev, pgoff_t offset, void *buf, unsigned nr)
{
	struct zram *z = to_zram(dev);

	if (offset == 0 || offset + nr > dev->nr_pages || offset + nr < offset)
		return -EINVAL;
	if (unlikely(atomic_countdown_hits(&z->read_nth)))
		return atomic_load_relaxed(&z->inject_err);
	for (unsigned i = 0; i < nr; i++) {
		int err = zram_read_page(z, offset + i, (char *)buf + ((size_t)i << PAGE_SHIFT));

		if (err)
			return err;
	}
	return 0;
}

/*
 * Turn one page into slot contents, charged and allocated but not yet in a
 * slot. Return: 0, -ENOSPC (past mem_limit), -ENOMEM, -EIO.
 */
static int zram_prepare(struct zram *z, const void *src, struct zram_content *c)
{
	unsigned char *scratch = zram_tls.scratch;
	const void *data = scratch;
	size_t real;
	long len;

	*c = (struct zram_content){0};
	if (page_same_filled(src, &c->value)) {
		c->flags = ZS_SAME;
		return 0;
	}
	len = zram_compress(z, src, scratch);
	if (len < 0)
		return (int)len;
	if (len == 0) {
		len = PAGE_SIZE;
		data = src;
		c->flags = ZS_HUGE;
	}
	real = arena_alloc_size((size_t)len);
	if (!mem_charge(z, real))
		return -ENOSPC;
	c->handle = arena_alloc(z->arena, (size_t)len);
	if (!c->handle) {
		mem_uncharge(z, real);
		return -ENOMEM;
	}
	memcpy(c->handle, data, (size_t)len);
	c->size = (uint32_t)len;
	return 0;
}

/* Switch a slot to new contents; release the old ones. */
static void zram_commit(struct zram *z, pgoff_t index, const struct zram_content *c)
{
	struct zram_slot *s = &z->slots[index];
	struct zram_content old;

	stats_add(z, c, 1);
	slot_lock(s);
	old = slot_take(s);
	slot_put(s, c);
	slot_unlock(s);
	content_release(z, &old);
}

static int zram_write_batch(struct zram *z, pgoff_t offset, const char *src, unsigned nr)
{
	struct zram_content staged[ZRAM_STAGE_MAX];
	unsigned i;
	int err;

	for (i = 0; i < nr; i++) {
		err = zram_prepare(z, src + ((size_t)i << PAGE_SHIFT), &staged[i]);
		if (err)
			goto undo;
	}
	for (i = 0; i < nr; i++)
		zram_commit(z, offset + i, &staged[i]);
	return 0;
undo:
	while (i--)
		content_discard(z, &staged[i]);
	return err;
}

static int zram_write(struct swap_dev *dev, pgoff_t offset, const void *buf, unsigned nr)
{
	struct zram *z = to_zram(dev);
	const char *src = buf;

	if (offset == 0 || offset + nr > dev->nr_pages || offset + nr < offset)
		return -EINVAL;
	if (unlikely(atomic_countdown_hits(&z->write_nth)))
		return atomic_load_relaxed(&z->inject_err);
	while (nr) {
		unsigned n = min(nr, (unsigned)ZRAM_STAGE_MAX);
		int err = zram_write_batch(z, offset, src, n);

		if (err)
			return err;
		offset += n;
		src += (size_t)n << PAGE_SHIFT;
		nr -= n;
	}
	return 0;
}

static void zram_slot_free_notify(struct swap_dev *dev, pgoff_t offset)
{
	struct zram *z = to_zram(dev);
	struct zram_slot *s;
	struct zram_content old;

	if (offset == 0 || offset >= dev->nr_pages)
		return;
	s = &z->slots[offset];
	slot_lock(s);
	old = slot_take(s);
	slot_unlock(s);
	content_release(z, &old);
}

static const char *zram_algo_name(enum zram_algo algo)
{
	return algo == ZRAM_ZSTD ? "zstd" : "lz4";
}

static int zram_describe(struct swap_dev *dev, char *buf, size_t len)
{
	struct zram *z = to_zram(dev);
	struct zram_stats st;

	zram_get_stats(dev, &st);
	snprintf(buf, len,
		 "zram %s: orig_data_size %" PRIu64 " compr_data_size %" PRIu64
		 " mem_used_total %" PRIu64 " mem_limit %" PRIu64 " mem_used_max %" PRIu64
		 " same_pages %" PRIu64 " huge_pages %" PRIu64 " pages_stored %" PRIu64,
		 zram_algo_name(z->algo), st.orig_data_size, st.compr_data_size, st.mem_used_total,
		 st.mem_limit, st.mem_used_max, st.same_pages, st.huge_pages, st.pages_stored);
	return 0;
}

static void zram_destroy(struct swap_dev *dev)
{
	struct zram *z = to_zram(dev);
	struct arena *a = z->arena;

	for (unsigned long i = 1; i < dev->nr_pages; i++) {
		struct zram_slot *s = &z->slots[i];

		if (s->size)
			arena_free(a, s->handle, s->size);
	}
	arena_free(a, z->slots, dev->nr_pages * sizeof(*z->slots));
	arena_free(a, z, sizeof(*z));
}

static const struct swap_dev_ops zram_ops = {
	.name = "zram",
	.read = zram_read,
	.write = zram_write,
	.slot_free_notify = zram_slot_free_notify,
	.describe = zram_describe,
	.destroy = zram_destroy,
};

int zram_get_stats(struct swap_dev *dev, struct zram_stats *st)
{
	struct zram *z;

	if (!is_zram_dev(dev))
		return -EINVAL;
	z = to_zram(dev);
	st->pages_stored = atomic_load_relaxed(&z->pages_stored);
	st->orig_data_size = st->pages_stored << PAGE_SHIFT;
	st->compr_data_size = atomic_load_relaxed(&z->compr_size);
	st->mem_used_total = atomic_load_relaxed(&z->mem_used);
	st->mem_limit = z->mem_limit;
	st->mem_used_max = atomic_load_relaxed(&z->mem_used_max);
	st->same_pages = atomic_load_relaxed(&z->same_pages);
	st->huge_pages = atomic_load_relaxed(&z->huge_pages);
	return 0;
}

static int zram_check_config(const struct zram_config *cfg)
{
	if (cfg->algo != ZRAM_LZ4 && cfg->algo != ZRAM_ZSTD)
		return -EINVAL;
	if (cfg->algo == ZRAM_ZSTD && cfg->level &&
	    (cfg->level < ZSTD_minCLevel() || cfg->level > ZSTD_maxCLevel()))
		return -EINVAL;
	if (cfg->huge_threshold > PAGE_SIZE)
		return -EINVAL;
	return 0;
}

int zram_create(struct swap_dev **out, struct arena *arena, unsigned long nr_pages,
		const struct zram_config *cfg)
{
	static const struct zram_config defaults = {.algo = ZRAM_LZ4};
	struct zram *z;
	int err;

	if (!cfg)
		cfg = &defaults;
	err = zram_check_config(cfg);
	if (err)
		return err;
	if (nr_pages < 2 || nr_pages > SIZE_MAX / sizeof(struct zram_slot))
		return -EINVAL;
	z = arena_zalloc(arena, sizeof(*z));
	if (!z)
		return -ENOMEM;
	z->slots = arena_zalloc(arena, nr_pages * sizeof(*z->slots));
	if (!z->slots) {
		arena_free(arena, z, sizeof(*z));
		return -ENOMEM;
	}
	z->arena = arena;
	z->algo = cfg->algo;
	z->level = cfg->level ? cfg->level : ZSTD_CLEVEL_DEFAULT;
	z->huge_threshold = cfg->huge_threshold ? cfg->huge_threshold : PAGE_SIZE * 3 / 4;
	z->mem_limit = cfg->mem_limit;
	z->dev.ops = &zram_ops;
	z->dev.flags = SWAP_DEV_SYNC_IO | SWAP_DEV_SOLIDSTATE;
	z->dev.nr_pages = nr_pages;
	z->dev.kind = "zram";
	snprintf(z->dev.name, sizeof(z->dev.name), "zram");
	*out = &z->dev;
	return 0;
}

void zram_inject(struct swap_dev *dev, unsigned long read_nth, unsigned long write_nth, int err)
{
	struct zram *z = to_zram(dev);

	atomic_store_relaxed(&z->inject_err, err);
	atomic_store_relaxed(&z->read_nth, read_nth);
	atomic_store_relaxed(&z->write_nth, write_nth);
}

int zram_corrupt_slot(struct swap_dev *dev, pgoff_t offset, size_t byte, uint8_t mask)
{
	struct zram *z;
	struct zram_slot *s;
	int err = 0;

	if (!is_zram_dev(dev) || offset == 0 || offset >= dev->nr_pages)
		return -EINVAL;
	z = to_zram(dev);
	s = &z->slots[offset];
	slot_lock(s);
	if (!s->size)
		err = -ENOENT;
	else if (byte >= s->size)
		err = -EINVAL;
	else
		((uint8_t *)s->handle)[byte] ^= mask;
	slot_unlock(s);
	return err;
}
