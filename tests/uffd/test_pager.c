// SPDX-License-Identifier: MIT
/*
 * test_pager.c - the userfaultfd pager on this process's own memory: page
 * signatures (owner, address, version) written and read back by several
 * threads under a budget of a quarter of the data; a writer racing
 * eviction; the program's MADV_DONTNEED / MADV_FREE / munmap / mremap of
 * swapped ranges; device full; device read errors; fork.
 *
 * Needs a full-mode userfaultfd (root in CI); skips only when there is none.
 *
 * Owns: nothing. Locking: none (each thread writes its own pages).
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "dev/file.h"
#include "uffd/pager.h"
#include "page_sig.h"
#include "pager_open.h"
#include "proc_status.h"
#include "base/race.h"

#define MiB (1UL << 20)

#ifdef __SANITIZE_THREAD__
/*
 * Under ThreadSanitizer: a forked child starts a thread (its zapper, from
 * the pager's pthread_atfork child handler: children evict by default)
 * although the parent had several, which the runtime refuses by default
 * (die_after_fork=1). The zapper takes no lock and touches no registered
 * memory (src/uffd/fork.c); test_fork runs its children the same way.
 * Defaults only: TSAN_OPTIONS still overrides them.
 */
__public const char *__tsan_default_options(void);
__public const char *__tsan_default_options(void)
{
	return "die_after_fork=0";
}
#endif

/* Sanitizer builds run 10-20x slower: they page less data. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SCALE 2
#else
#define SCALE 1
#endif

/*
 * A range this program unmapped is anybody's: a sanitizer runtime (TSan's
 * allocator does) may map its own memory there at once. So no test unmaps
 * a range again, or a range around a hole it made: it unmaps the pieces it
 * still owns. (Unmapping [b, b + n) after a hole in its middle once tore
 * out TSan's clock blocks, mapped in the hole meanwhile: the runtime
 * crashed in UnrefClockBlock / DenseSlabAlloc a few tests later.)
 */

/* Open a pager or skip the test when the machine has no full-mode userfaultfd. */
static struct uswap_pager *open_pager(size_t budget, size_t device_bytes)
{
	struct uswap_pager_config cfg = {.budget_bytes = budget, .device_bytes = device_bytes};

	return pager_open_or_skip(&cfg);
}

static bool page_is_zero(const char *page)
{
	for (size_t i = 0; i < PAGE_SIZE; i++)
		if (page[i])
			return false;
	return true;
}

/* ---- threads writing and reading signatures ---- */

struct writer {
	struct uswap_pager *p;
	char *base;
	unsigned long nr_pages;
	uint64_t owner;
	unsigned rounds;
	unsigned long bad;
	int err;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	uint64_t rnd = test_seed ^ w->owner;

	for (unsigned r = 1; r <= w->rounds; r++) {
		for (unsigned long i = 0; i < w->nr_pages; i++)
			sig_write(w->base + i * PAGE_SIZE, w->owner, r);
		/* Random reads of this round's pages. */
		for (unsigned long k = 0; k < w->nr_pages; k++) {
			unsigned long i = t_rand(&rnd) % w->nr_pages;

			if (!sig_check(w->base + i * PAGE_SIZE, w->owner, r))
				w->bad++;
		}
	}
	for (unsigned long i = 0; i < w->nr_pages; i++)
		if (!sig_check(w->base + i * PAGE_SIZE, w->owner, w->rounds))
			w->bad++;
	return NULL;
}

/*
 * Four threads, each on memory of its own kind (a pager mapping, plain mmap
 * registered afterwards with data already in it, malloc'd, another
 * mapping), 4x the budget in all.
 */
TEST(threads_signatures_quarter_budget)
{
	const size_t budget = 8 * MiB / SCALE, per = 8 * MiB / SCALE;
	struct uswap_pager *p = open_pager(budget, 0);
	struct uswap_pager_stats st;
	struct writer w[4];
	pthread_t t[4];
	long rss0, rss1;
	char *pre, *m;

	if (!p)
		return;
	rss0 = proc_rss_anon_kb(0);
	memset(w, 0, sizeof(w));
	REQUIRE_EQ(uswap_pager_map(p, per, (void **)&w[0].base), 0);
	/* Existing memory with data in it, registered afterwards. */
	pre = mmap(NULL, per, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(pre != MAP_FAILED);
	for (unsigned long i = 0; i < per / PAGE_SIZE; i++)
		sig_write(pre + i * PAGE_SIZE, 1, 1);
	REQUIRE_EQ(uswap_pager_register(p, pre, per), 0);
	for (unsigned long i = 0; i < per / PAGE_SIZE; i++)
		CHECK(sig_check(pre + i * PAGE_SIZE, 1, 1));
	w[1].base = pre;
	/* malloc'd memory (its own mmap at this size), page aligned inside. */
	m = malloc(per + 2 * PAGE_SIZE);
	REQUIRE(m);
	w[2].base = (char *)ALIGN_UP((uintptr_t)m, PAGE_SIZE);
	REQUIRE_EQ(uswap_pager_register(p, w[2].base, per), 0);
	REQUIRE_EQ(uswap_pager_map(p, per, (void **)&w[3].base), 0);
	for (unsigned i = 0; i < 4; i++) {
		w[i].p = p;
		w[i].nr_pages = per / PAGE_SIZE;
		w[i].owner = 100 + i;
		w[i].rounds = 3;
		REQUIRE_EQ(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
	}
	for (unsigned i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(w[i].bad, 0);
	}
	uswap_pager_get_stats(p, &st);
	rss1 = proc_rss_anon_kb(0);
	CHECK(uswap_pager_counter(p, "pswpout") > 0);
	CHECK(uswap_pager_counter(p, "pswpin") > 0);
	CHECK(st.swapin_faults > 0);
	CHECK(st.swapped_bytes > 0);
	CHECK(st.resident_peak_bytes <= budget + 64 * PAGE_SIZE);
	/*
	 * RssAnon grew by at most the budget plus the documented slack (not
	 * under ThreadSanitizer, whose shadow memory is anonymous too).
	 */
#ifndef __SANITIZE_THREAD__
	CHECK(rss1 - rss0 <= (long)((budget + budget / 8 + 2 * MiB) >> 10));
#endif
	printf("# resident peak %zu KiB, RssAnon +%ld KiB, swapped %zu KiB, swap-in faults %lu\n",
	       st.resident_peak_bytes >> 10, rss1 - rss0, st.swapped_bytes >> 10, st.swapin_faults);
	uswap_pager_close(p);
	/* Closing brought everything back: the memory stays the caller's. */
	for (unsigned i = 0; i < 4; i++)
		for (unsigned long k = 0; k < w[i].nr_pages; k++)
			CHECK(sig_check(w[i].base + k * PAGE_SIZE, w[i].owner, w[i].rounds));
	munmap(w[0].base, per);
	munmap(pre, per);
	munmap(w[3].base, per);
	free(m);
}

/* ---- a writer racing eviction ---- */

struct racer {
	uint64_t *words; /* one counter per page, at a page's start */
	unsigned long nr_pages;
	unsigned long rounds;	/* complete rounds written */
	bool stop;		/* set by the evicting thread */
	unsigned long progress; /* rounds done so far (atomic) */
};

static void *race_writer(void *arg)
{
	struct racer *r = arg;
	unsigned long k;

	for (k = 1; !atomic_load_acquire(&r->stop); k++) {
		for (unsigned long i = 0; i < r->nr_pages; i++)
			r->words[i * (PAGE_SIZE / 8)] = k * 1000003 + i;
		atomic_store_release(&r->progress, k);
	}
	r->rounds = k - 1;
	return NULL;
}

TEST(writer_races_eviction)
{
	const size_t budget = 4 * MiB, len = 2 * MiB;
	struct uswap_pager *p = open_pager(budget, 0);
	struct racer r = {.rounds = 0};
	unsigned long evicted = 0, passes = 0;
	pthread_t t;

	if (!p)
		return;
	REQUIRE_EQ(uswap_pager_map(p, len, (void **)&r.words), 0);
	r.nr_pages = len / PAGE_SIZE;
	REQUIRE_EQ(pthread_create(&t, NULL, race_writer, &r), 0);
	/* Once the writer is going, evict everything again and again. */
	while (!atomic_load_acquire(&r.progress))
		usleep(1000);
	while (evicted < 20000 / SCALE && ++passes < 200000 / SCALE)
		evicted += (unsigned long)uswap_pager_reclaim(p, len) >> PAGE_SHIFT;
	atomic_store_release(&r.stop, true);
	pthread_join(t, NULL);
	for (unsigned long i = 0; i < r.nr_pages; i++)
		CHECK_EQ(r.words[i * (PAGE_SIZE / 8)], r.rounds * 1000003 + i);
	printf("# %lu pages evicted under the writer\n", evicted);
	CHECK(evicted > 0);
	uswap_pager_close(p);
	munmap(r.words, len);
}

/*
 * Sequential swap-in maps a run of pages with one UFFDIO_COPY after
 * swapping them in one by one (pager_install_run), and gives their folios'
 * data back in batches under each table's lock (pager_drain_release):
 * both windows race here with eviction of the same pages and with a
 * writer. Readers sweep the range in order (so that fault-around runs),
 * the writer bumps one counter per page, the main thread evicts again and
 * again; every page must end with the writer's last value and the
 * readers' signatures, never a stale or a zero page.
 */
struct seq_racer {
	char *base;
	unsigned long nr_pages;
	unsigned long *counts; /* the writer's last value per page */
	bool stop;
	unsigned long sweeps; /* atomic */
};

#define SEQ_COUNT_OFF (PAGE_SIZE - 8) /* the writer's word: past the signature */

/* Return: whether @page holds sig_write(@page, 31, 1) but for the writer's word. */
static bool seq_sig_ok(const char *page)
{
	const uint64_t *w = (const uint64_t *)page;
	uint64_t addr = (uint64_t)(uintptr_t)page;

	if (w[0] != 31 || w[1] != addr || w[2] != 1)
		return false;
	for (size_t i = 3; i < SEQ_COUNT_OFF / 8; i++)
		if (w[i] != page_sig_word(i, addr, 1))
			return false;
	return true;
}

static void *seq_reader(void *arg)
{
	struct seq_racer *r = arg;
	unsigned long bad = 0;

	while (!atomic_load_acquire(&r->stop)) {
		for (unsigned long i = 0; i < r->nr_pages; i++) {
			const uint64_t *w = (const uint64_t *)(r->base + i * PAGE_SIZE);

			/* The signature's first words: the writer never touches them. */
			bad += w[0] != 31 || w[1] != (uint64_t)(uintptr_t)w;
		}
		atomic_fetch_add_relaxed(&r->sweeps, 1UL);
	}
	return (void *)(uintptr_t)bad;
}

static void *seq_writer(void *arg)
{
	struct seq_racer *r = arg;

	for (unsigned long k = 1; !atomic_load_acquire(&r->stop); k++)
		for (unsigned long i = k % 7; i < r->nr_pages; i += 7) {
			*(volatile uint64_t *)(r->base + i * PAGE_SIZE + SEQ_COUNT_OFF) = k;
			r->counts[i] = k;
		}
	return NULL;
}

TEST(sequential_swapin_races_writer_and_eviction)
{
	const size_t len = 4 * MiB / SCALE;
	struct uswap_pager *p = open_pager(16 * MiB, 0);
	struct seq_racer r = {.nr_pages = len / PAGE_SIZE};
	unsigned long evicted = 0, passes = 0, bad = 0;
	struct uswap_pager_stats st;
	pthread_t rd[2], wr;
	void *ret;

	if (!p)
		return;
	REQUIRE_EQ(uswap_pager_map(p, len, (void **)&r.base), 0);
	r.counts = calloc(r.nr_pages, sizeof(*r.counts));
	REQUIRE(r.counts != NULL);
	for (unsigned long i = 0; i < r.nr_pages; i++)
		sig_write(r.base + i * PAGE_SIZE, 31, 1);
	for (unsigned i = 0; i < 2; i++)
		REQUIRE_EQ(pthread_create(&rd[i], NULL, seq_reader, &r), 0);
	REQUIRE_EQ(pthread_create(&wr, NULL, seq_writer, &r), 0);
	while ((evicted < 40000 / SCALE || atomic_load_acquire(&r.sweeps) < 20) &&
	       ++passes < 400000 / SCALE)
		evicted += (unsigned long)uswap_pager_reclaim(p, len) >> PAGE_SHIFT;
	atomic_store_release(&r.stop, true);
	for (unsigned i = 0; i < 2; i++) {
		pthread_join(rd[i], &ret);
		bad += (unsigned long)(uintptr_t)ret;
	}
	pthread_join(wr, NULL);
	CHECK_EQ(bad, 0);
	/* Once more out and back: what the writer wrote last is what comes back. */
	uswap_pager_reclaim(p, len);
	for (unsigned long i = 0; i < r.nr_pages; i++)
		bad += !seq_sig_ok(r.base + i * PAGE_SIZE) ||
		       *(uint64_t *)(r.base + i * PAGE_SIZE + SEQ_COUNT_OFF) != r.counts[i];
	CHECK_EQ(bad, 0);
	uswap_pager_get_stats(p, &st);
	printf("# %lu pages evicted, %lu reader sweeps, %lu pages swapped in around faults\n",
	       evicted, atomic_load_relaxed(&r.sweeps), st.swapin_around);
	CHECK(evicted > 0);
	CHECK(st.swapin_around > 0);
	munmap(r.base, len);
	free(r.counts);
	uswap_pager_close(p);
}

/* ---- the program's own memory calls on swapped ranges ---- */

/*
 * Once the program has unmapped everything it paged: the devices pass the
 * invariant checker and no slot is left in use (folios only the swap cache
 * still holds are reclaimed first). The reclaim thread is stopped first:
 * a folio it has isolated holds its fresh slot until its round is over
 * (its zap came meanwhile) and no other reclaim can free it, and a round
 * running during the count changes what is counted.
 */
static void check_no_slot_left(struct uswap_pager *p)
{
	struct uswap *sw = pager_engine(p);
	unsigned long inuse = 0;

	uswap_pager_sync(p);
	pager_quiesce(p, true);
	uswap_pager_reclaim(p, 64 * MiB);
	CHECK_EQ(swap_check_all(sw), 0);
	for (unsigned t = 0; t < MAX_SWAPFILES; t++) {
		struct swap_info_struct *si = sw->swap_info[t];

		if (si && (si->flags & SWP_USED))
			inuse += swap_inuse_pages(si);
	}
	pager_quiesce(p, false);
	CHECK_EQ(inuse, 0);
}

/* Map @pages pages, sign them, evict them all. */
static char *swapped_range(struct uswap_pager *p, unsigned long pages, uint64_t owner)
{
	char *base;

	if (uswap_pager_map(p, pages * PAGE_SIZE, (void **)&base))
		return NULL;
	for (unsigned long i = 0; i < pages; i++)
		sig_write(base + i * PAGE_SIZE, owner, 1);
	uswap_pager_reclaim(p, 64 * MiB);
	return base;
}

static size_t swapped_bytes(struct uswap_pager *p)
{
	struct uswap_pager_stats st;

	uswap_pager_sync(p);
	uswap_pager_get_stats(p, &st);
	return st.swapped_bytes;
}

TEST(madv_dontneed_and_free_swapped)
{
	struct uswap_pager *p = open_pager(4 * MiB, 0);
	const unsigned long n = 256;
	size_t before, after;
	char *b;

	if (!p)
		return;
	b = swapped_range(p, n, 7);
	REQUIRE(b);
	before = swapped_bytes(p);
	CHECK(before >= n / 2 * PAGE_SIZE);
	/* DONTNEED the first quarter, FREE the second: both read zero, slots freed. */
	REQUIRE_EQ(madvise(b, n / 4 * PAGE_SIZE, MADV_DONTNEED), 0);
	REQUIRE_EQ(madvise(b + n / 4 * PAGE_SIZE, n / 4 * PAGE_SIZE, MADV_FREE), 0);
	after = swapped_bytes(p);
	CHECK(after <= before - n / 2 * PAGE_SIZE + PAGE_SIZE * 8);
	for (unsigned long i = 0; i < n / 4; i++)
		CHECK(page_is_zero(b + i * PAGE_SIZE));
	for (unsigned long i = n / 4; i < n / 2; i++) {
		char *pg = b + i * PAGE_SIZE;

		/* MADV_FREE: old data or zeros, never anything else. */
		CHECK(page_is_zero(pg) || sig_check(pg, 7, 1));
	}
	for (unsigned long i = n / 2; i < n; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, 7, 1));
	munmap(b, n * PAGE_SIZE);
	uswap_pager_close(p);
}

/*
 * The agent registers a malloc arena's PROT_NONE reservation whole (its
 * pickup thread), and only the gaps of a VMA the region list does not
 * cover yet: pager_next_gap() finds those gaps, and pages of a piece made
 * writable later with mprotect() are paged (faulted in, moved out, brought
 * back) like any other.
 */
TEST(prot_none_reservation_grown_by_mprotect)
{
	struct uswap_pager *p = open_pager(4 * MiB, 0);
	const unsigned long n = 2048; /* 8 MiB: twice the budget */
	unsigned long gs = 0, ge = 0;
	char *b;

	if (!p)
		return;
	b = mmap(NULL, 4 * n * PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	REQUIRE(b != MAP_FAILED);
	unsigned long s = (unsigned long)b, e = s + 4 * n * PAGE_SIZE, q = n * PAGE_SIZE;

	/* Nothing registered: one gap, the whole range. */
	CHECK(pager_next_gap(p, s, e, &gs, &ge));
	CHECK(gs == s && ge == e);
	/* The second quarter registered: the first quarter, then the second half. */
	REQUIRE_EQ(uswap_pager_register(p, b + q, q), 0);
	CHECK(pager_next_gap(p, s, e, &gs, &ge));
	CHECK(gs == s && ge == s + q);
	CHECK(pager_next_gap(p, s + q, e, &gs, &ge));
	CHECK(gs == s + 2 * q && ge == e);
	CHECK(!pager_next_gap(p, s + q, s + 2 * q, &gs, &ge));
	/* The rest registered while PROT_NONE: no gap left. */
	REQUIRE_EQ(uswap_pager_register(p, b, q), 0);
	REQUIRE_EQ(uswap_pager_register(p, b + 2 * q, 2 * q), 0);
	CHECK(!pager_next_gap(p, s, e, &gs, &ge));
	CHECK(pager_is_registered(p, s, e));
	/* Grown by mprotect a piece at a time, as malloc grows an arena. */
	for (unsigned long i = 0; i < n; i += 64) {
		REQUIRE_EQ(mprotect(b + i * PAGE_SIZE, 64 * PAGE_SIZE, PROT_READ | PROT_WRITE), 0);
		for (unsigned long j = i; j < i + 64; j++)
			sig_write(b + j * PAGE_SIZE, 9, 1);
	}
	uswap_pager_reclaim(p, 64 * MiB);
	CHECK(uswap_pager_counter(p, "pswpout") >= (long)(n / 2));
	for (unsigned long i = 0; i < n; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, 9, 1));
	CHECK(uswap_pager_counter(p, "pswpin") > 0);
	REQUIRE_EQ(munmap(b, 4 * n * PAGE_SIZE), 0);
	CHECK_EQ(swapped_bytes(p), 0);
	check_no_slot_left(p);
	uswap_pager_close(p);
}

/*
 * uswap_pager_register() of a range the program unmaps and maps again
 * (another private anonymous mapping, which the kernel does not know as
 * registered) between the kernel registration and the adoption, after the
 * fault thread applied the unmapping: the region list must not keep the
 * range, nor the mm layer pages of memory no userfaultfd serves (they
 * could never leave: over budget for good, and the agent, trusting the
 * region list, would never register the new mapping). The new mapping is
 * registered instead and paged like any other.
 */
struct remap_in_window {
	struct uswap_pager *p;
	char *addr;
	unsigned long len;
	bool done, remapped;
};

static void remap_hook(const char *name, void *arg)
{
	struct remap_in_window *w = arg;

	/* The hook runs at every point in every thread: only the registering
	 * thread, which reaches this point, may read or set done. */
	if (strcmp(name, "pager_register:before_adopt") || w->done)
		return;
	w->done = true;
	munmap(w->addr, w->len);
	uswap_pager_sync(w->p); /* the fault thread applied the UNMAP */
	if (mmap(w->addr, w->len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != w->addr)
		return; /* taken meanwhile (a sanitizer's allocator): not ours to unmap */
	w->remapped = true;
	for (unsigned long i = 0; i < w->len / PAGE_SIZE; i++)
		sig_write(w->addr + i * PAGE_SIZE, 61, 1);
}

TEST(register_races_unmap_and_new_mapping)
{
	struct uswap_pager *p = open_pager(4 * MiB, 0);
	const unsigned long n = 2048; /* 8 MiB: twice the budget */
	struct remap_in_window w = {.p = p, .len = n * PAGE_SIZE};
	unsigned long bad = 0;

	if (!p)
		return;
	w.addr = mmap(NULL, w.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(w.addr != MAP_FAILED);
	for (unsigned long i = 0; i < n; i++)
		sig_write(w.addr + i * PAGE_SIZE, 60, 1);
	if (race_set_hook(remap_hook, &w)) {
		test_skip("no race points in this build");
		uswap_pager_close(p);
		return;
	}
	uswap_pager_register(p, w.addr, w.len);
	race_set_hook(NULL, NULL);
	REQUIRE(w.done);
	REQUIRE(w.remapped);
	uswap_pager_reclaim(p, 64 * MiB);
	for (unsigned long i = 0; i < n; i++)
		bad += !sig_check(w.addr + i * PAGE_SIZE, 61, 1);
	CHECK_EQ(bad, 0);
	/* The new mapping is the pager's: its pages went out and came back. */
	CHECK(uswap_pager_counter(p, "pswpout") >= (long)(n / 2));
	CHECK(uswap_pager_counter(p, "pswpin") >= (long)(n / 2));
	munmap(w.addr, w.len);
	uswap_pager_close(p);
}

TEST(munmap_swapped_frees_slots)
{
	struct uswap_pager *p = open_pager(4 * MiB, 0);
	const unsigned long n = 512;
	char *b;

	if (!p)
		return;
	b = swapped_range(p, n, 8);
	REQUIRE(b);
	CHECK(swapped_bytes(p) >= n / 2 * PAGE_SIZE);
	/* A hole in the middle first, then the rest. */
	REQUIRE_EQ(munmap(b + 128 * PAGE_SIZE, 128 * PAGE_SIZE), 0);
	for (unsigned long i = 0; i < 128; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, 8, 1));
	for (unsigned long i = 256; i < n; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, 8, 1));
	uswap_pager_reclaim(p, 64 * MiB);
	/* The pieces left, not [b, b + n): the hole may be someone else's now. */
	REQUIRE_EQ(munmap(b, 128 * PAGE_SIZE), 0);
	REQUIRE_EQ(munmap(b + 256 * PAGE_SIZE, (n - 256) * PAGE_SIZE), 0);
	CHECK_EQ(swapped_bytes(p), 0);
	CHECK_EQ(uswap_pager_counter(p, "pswpout") > 0, 1);
	check_no_slot_left(p);
	uswap_pager_close(p);
}

TEST(mremap_swapped_move_grow_shrink)
{
	struct uswap_pager *p = open_pager(4 * MiB, 0);
	const unsigned long n = 256;
	char *b, *nb, *far;

	if (!p)
		return;
	b = swapped_range(p, n, 9);
	REQUIRE(b);
	/* Move: to a fixed place elsewhere. */
	far = mmap(NULL, 4 * n * PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(far != MAP_FAILED);
	nb = mremap(b, n * PAGE_SIZE, n * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, far);
	REQUIRE(nb == far);
	for (unsigned long i = 0; i < n; i++) {
		uint64_t *w = (uint64_t *)(nb + i * PAGE_SIZE);

		/* The signature names the old address: compare against it. */
		CHECK(w[0] == 9 && w[1] == (uint64_t)(uintptr_t)(b + i * PAGE_SIZE) && w[2] == 1);
	}
	/* Re-sign at the new place, evict, then grow (may move) and shrink. */
	for (unsigned long i = 0; i < n; i++)
		sig_write(nb + i * PAGE_SIZE, 10, 2);
	uswap_pager_reclaim(p, 64 * MiB);
	b = mremap(nb, n * PAGE_SIZE, 3 * n * PAGE_SIZE, MREMAP_MAYMOVE);
	REQUIRE(b != MAP_FAILED);
	for (unsigned long i = 0; i < n; i++) {
		uint64_t *w = (uint64_t *)(b + i * PAGE_SIZE);

		CHECK(w[0] == 10 && w[1] == (uint64_t)(uintptr_t)(nb + i * PAGE_SIZE) && w[2] == 2);
	}
	for (unsigned long i = n; i < 3 * n; i++)
		CHECK(page_is_zero(b + i * PAGE_SIZE));
	for (unsigned long i = 0; i < 3 * n; i++)
		sig_write(b + i * PAGE_SIZE, 11, 3);
	uswap_pager_reclaim(p, 64 * MiB);
	nb = mremap(b, 3 * n * PAGE_SIZE, n * PAGE_SIZE, 0);
	REQUIRE(nb == b);
	for (unsigned long i = 0; i < n; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, 11, 3));
	munmap(b, n * PAGE_SIZE);
	/* What is left of the reservation (its first n pages moved away). */
	if (nb != far)
		munmap(far + n * PAGE_SIZE, 3 * n * PAGE_SIZE);
	CHECK_EQ(swapped_bytes(p), 0);
	uswap_pager_close(p);
}

/*
 * A page the program maps where a paged range was just unmapped must never
 * be taken by eviction: between the kernel's munmap and the pager applying
 * its UNMAP event, the mm layer still holds entries for the old range, and
 * moving "their" real page out would take the new mapping's page instead.
 * Here the fault thread is held (a fault waits on a page-table lock a
 * helper holds), so the event stays unread while another thread maps fresh,
 * unregistered memory at the same address, writes it, and reclaims.
 * Eviction's check differs with what it knows of the real page: installed
 * (its folio's data given back: a ZEROPAGE probe) or maybe missing (taken
 * out for aging: a write-protect probe); the second test has every page
 * sampled first.
 */
struct ptl_holder {
	struct uswap_pager *p;
	unsigned long addr;
	struct ulock *ptl; /* the held lock, set before state 1 */
	int state;	   /* 1: locked; 2: may unlock */
};

static void *hold_ptl(void *arg)
{
	struct ptl_holder *h = arg;
	struct mm_struct *mm = pager_root_mm(h->p);
	struct ulock *ptl;
	pte_t *ptep = mm->ops->pte_offset_lock(mm, h->addr, false, &ptl);

	h->ptl = ptep ? ptl : NULL;
	atomic_store_release(&h->state, 1);
	while (atomic_load_acquire(&h->state) != 2)
		usleep(1000);
	if (ptep)
		ulock_unlock(ptl);
	return NULL;
}

/*
 * Return: the faults a userfaultfd of this process has had read and not
 * yet resolved ("total" less "pending" in its fdinfo): a fault the fault
 * thread holds.
 */
static long uffd_faults_in_hand(void)
{
	long held = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[300], link[64], buf[512], *s;
		long pending = -1, total = -1;
		ssize_t n;
		int fd;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = 0;
		if (strcmp(link, "anon_inode:[userfaultfd]"))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		if ((s = strstr(buf, "pending:")))
			pending = strtol(s + 8, NULL, 10);
		if ((s = strstr(buf, "total:")))
			total = strtol(s + 6, NULL, 10);
		if (pending >= 0 && total > pending)
			held += total - pending;
	}
	if (d)
		closedir(d);
	return held;
}

/*
 * Wait until the fault thread sleeps on @h's held lock, instead of a fixed
 * sleep a loaded machine can outlast: up to 10 s. A sleeper on the lock
 * alone does not tell: the reclaim thread also takes the tables' locks
 * (aging, releasing data pages) and may be the one asleep there, the fault
 * thread then still free to read the next event (the munmap or
 * MADV_DONTNEED the caller is about to start would not wait). So also wait
 * until a fault was read and not resolved: the fault thread has it, and
 * the lock of its page's table is held. Return: whether both came.
 */
static bool wait_lock_sleeper(struct ptl_holder *h)
{
	for (int i = 0; h->ptl && i < 10000; i++) {
		if ((atomic_load_acquire(&h->ptl->word) >> 1) && uffd_faults_in_hand() > 0)
			return true;
		usleep(1000);
	}
	return false;
}

/*
 * Wait until thread @tid of this process sleeps (in a system call that
 * waits for the pager to read its event), up to 10 s, then a little more.
 * Return: whether it did.
 */
static bool wait_thread_sleeping(const int *tid)
{
	for (int i = 0; i < 10000; i++) {
		char path[64], buf[256], *st;
		int fd, t = atomic_load_acquire(tid);
		ssize_t n = -1;

		if (t) {
			snprintf(path, sizeof(path), "/proc/self/task/%d/stat", t);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				n = read(fd, buf, sizeof(buf) - 1);
				close(fd);
			}
		}
		if (n > 0) {
			buf[n] = 0;
			st = strrchr(buf, ')');
			/* S, or D: the event wait is killable (TASK_KILLABLE). */
			if (st && st[1] == ' ' && (st[2] == 'S' || st[2] == 'D')) {
				usleep(10000);
				return true;
			}
		}
		usleep(1000);
	}
	return false;
}

static void *touch_page(void *arg)
{
	return (void *)(uintptr_t) * (volatile char *)arg;
}

/* An munmap or MADV_DONTNEED made by a thread of its own, which says who it is. */
struct mm_call {
	void *addr;
	size_t len;
	int tid; /* set before the call */
};

static void *munmap_call(void *arg)
{
	struct mm_call *c = arg;

	atomic_store_release(&c->tid, (int)gettid());
	return (void *)(uintptr_t)munmap(c->addr, c->len);
}

static void *dontneed_call(void *arg)
{
	struct mm_call *c = arg;

	atomic_store_release(&c->tid, (int)gettid());
	return (void *)(uintptr_t)madvise(c->addr, c->len, MADV_DONTNEED);
}

static void new_mapping_race(struct uswap_pager *p, bool sampled)
{
	const unsigned long n = MiB / PAGE_SIZE;
	struct uswap_pager_stats st;
	unsigned long want, sampled0;
	struct ptl_holder h = {.p = p};
	pthread_t th, tt, tu;
	struct mm_call mc;
	char *z, *y, *r, *again;
	unsigned long bad = 0;

	/* A swapped page alone in its 2 MiB block: the fault thread waits there. */
	REQUIRE_EQ(uswap_pager_map(p, 4 * MiB, (void **)&z), 0);
	y = (char *)ALIGN_UP((unsigned long)z, 2 * MiB) + 64 * PAGE_SIZE;
	sig_write(y, 20, 1);
	uswap_pager_reclaim(p, 64 * MiB);
	REQUIRE(swapped_bytes(p) >= PAGE_SIZE);
	/* The range to unmap: resident, its entries present. */
	REQUIRE_EQ(uswap_pager_map(p, MiB, (void **)&r), 0);
	uswap_pager_get_stats(p, &st);
	want = st.data_released + n;
	sampled0 = st.sampled;
	for (unsigned long i = 0; i < n; i++)
		sig_write(r + i * PAGE_SIZE, 21, 1);
	uswap_pager_sync(p);
	/* Their folios' data given back: eviction probes with ZEROPAGE. */
	for (unsigned i = 0; i < 5000 && st.data_released < want; i++) {
		usleep(1000);
		uswap_pager_get_stats(p, &st);
	}
	REQUIRE(st.data_released >= want);
	if (sampled) {
		/*
		 * Every page taken out for aging (the data back in the folio,
		 * the entries present, no real page): eviction probes with
		 * write protection, and a MOVE would find the new mapping's
		 * page.
		 */
		want = sampled0 + n;
		for (unsigned i = 0; i < 10000 && st.sampled < want; i++) {
			usleep(1000);
			uswap_pager_get_stats(p, &st);
		}
		REQUIRE(st.sampled >= want);
	}

	h.addr = (unsigned long)y;
	REQUIRE_EQ(pthread_create(&th, NULL, hold_ptl, &h), 0);
	while (!atomic_load_acquire(&h.state))
		usleep(1000);
	REQUIRE_EQ(pthread_create(&tt, NULL, touch_page, y), 0);
	CHECK(wait_lock_sleeper(&h)); /* the fault thread waits on the held lock */
	mc = (struct mm_call){r, MiB, 0};
	REQUIRE_EQ(pthread_create(&tu, NULL, munmap_call, &mc), 0);
	CHECK(wait_thread_sleeping(&mc.tid)); /* unmapped; its UNMAP event waits to be read */
	again = mmap(r, MiB, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (again == r) {
		for (unsigned long i = 0; i < n; i++)
			sig_write(r + i * PAGE_SIZE, 22, 2);
		uswap_pager_reclaim(p, 64 * MiB);
	}
	atomic_store_release(&h.state, 2);
	pthread_join(th, NULL);
	pthread_join(tt, NULL);
	pthread_join(tu, NULL);
	uswap_pager_sync(p);
	REQUIRE(again == r);
	for (unsigned long i = 0; i < n; i++)
		bad += !sig_check(r + i * PAGE_SIZE, 22, 2);
	CHECK_EQ(bad, 0);
	CHECK(sig_check(y, 20, 1));
	munmap(r, MiB);
	munmap(z, 4 * MiB);
	CHECK_EQ(swapped_bytes(p), 0);
	check_no_slot_left(p);
}

TEST(eviction_never_takes_a_new_mapping_page)
{
	struct uswap_pager *p = open_pager(16 * MiB, 0);

	if (!p)
		return;
	new_mapping_race(p, false);
	uswap_pager_close(p);
}

TEST(eviction_never_takes_a_new_mapping_page_sampled)
{
	struct uswap_pager *p = open_pager(16 * MiB, 0);

	if (!p)
		return;
	new_mapping_race(p, true);
	uswap_pager_close(p);
}

/*
 * mremap that shrinks and moves at once (MREMAP_FIXED to a smaller size):
 * only the kept pages move, the tail's slots are freed, and nothing is
 * left at the destination beyond the new size (a mapping placed there
 * later must read zeros).
 */
TEST(mremap_shrink_and_move)
{
	struct uswap_pager *p = open_pager(4 * MiB, 0);
	const unsigned long n = 256;
	char *b, *far, *nb, *next;
	unsigned long bad = 0;

	if (!p)
		return;
	b = swapped_range(p, 3 * n, 30);
	REQUIRE(b);
	far = mmap(NULL, 4 * n * PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(far != MAP_FAILED);
	nb = mremap(b, 3 * n * PAGE_SIZE, n * PAGE_SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, far);
	REQUIRE(nb == far);
	for (unsigned long i = 0; i < n; i++) {
		uint64_t *w = (uint64_t *)(nb + i * PAGE_SIZE);

		bad += !(w[0] == 30 && w[1] == (uint64_t)(uintptr_t)(b + i * PAGE_SIZE));
	}
	CHECK_EQ(bad, 0);
	/* Beyond the new size: registered fresh memory must read zeros. */
	REQUIRE_EQ(munmap(far + n * PAGE_SIZE, 3 * n * PAGE_SIZE), 0);
	next = mmap(far + n * PAGE_SIZE, 2 * n * PAGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	REQUIRE(next == far + n * PAGE_SIZE);
	REQUIRE_EQ(uswap_pager_register(p, next, 2 * n * PAGE_SIZE), 0);
	bad = 0;
	for (unsigned long i = 0; i < 2 * n; i++)
		bad += !page_is_zero(next + i * PAGE_SIZE);
	CHECK_EQ(bad, 0);
	munmap(next, 2 * n * PAGE_SIZE);
	munmap(nb, n * PAGE_SIZE);
	CHECK_EQ(swapped_bytes(p), 0);
	check_no_slot_left(p);
	uswap_pager_close(p);
}

/*
 * The kernel's own accesses to swapped pages: read(2) into a swapped buffer
 * and process_vm_writev / process_vm_readv wait for the pager and see the
 * data. /proc/self/mem cannot wait for a userfault (the kernel's remote
 * access does not retry) and fails with EIO on a swapped page (docs/uffd.md,
 * Limits): it must fail visibly and leave the page as it was.
 */
TEST(kernel_accesses_to_swapped_pages)
{
	struct uswap_pager *p = open_pager(4 * MiB, 0);
	const unsigned long n = 64;
	char src[PAGE_SIZE], got[PAGE_SIZE];
	struct iovec local, remote;
	int fds[2], mem;
	ssize_t ret;
	char *b;

	if (!p)
		return;
	b = swapped_range(p, n, 40);
	REQUIRE(b);
	REQUIRE(swapped_bytes(p) >= n / 2 * PAGE_SIZE);
	memset(src, 0x5a, sizeof(src));
	/* read(2) into a swapped page. */
	REQUIRE_EQ(pipe(fds), 0);
	REQUIRE_EQ(write(fds[1], src, PAGE_SIZE), (ssize_t)PAGE_SIZE);
	CHECK_EQ(read(fds[0], b, PAGE_SIZE), (ssize_t)PAGE_SIZE);
	CHECK(!memcmp(b, src, PAGE_SIZE));
	close(fds[0]);
	close(fds[1]);
	/* process_vm_writev into a swapped page, process_vm_readv from another. */
	uswap_pager_reclaim(p, 64 * MiB);
	local = (struct iovec){.iov_base = src, .iov_len = PAGE_SIZE};
	remote = (struct iovec){.iov_base = b + PAGE_SIZE, .iov_len = PAGE_SIZE};
	CHECK_EQ(process_vm_writev(getpid(), &local, 1, &remote, 1, 0), (ssize_t)PAGE_SIZE);
	CHECK(!memcmp(b + PAGE_SIZE, src, PAGE_SIZE));
	uswap_pager_reclaim(p, 64 * MiB);
	local = (struct iovec){.iov_base = got, .iov_len = PAGE_SIZE};
	remote = (struct iovec){.iov_base = b + 2 * PAGE_SIZE, .iov_len = PAGE_SIZE};
	CHECK_EQ(process_vm_readv(getpid(), &local, 1, &remote, 1, 0), (ssize_t)PAGE_SIZE);
	CHECK(!memcmp(got, b + 2 * PAGE_SIZE, PAGE_SIZE));
	/* /proc/self/mem: the data, or EIO and the page untouched. */
	uswap_pager_reclaim(p, 64 * MiB);
	mem = open("/proc/self/mem", O_RDWR);
	REQUIRE(mem >= 0);
	ret = pwrite(mem, src, PAGE_SIZE, (off_t)(uintptr_t)(b + 3 * PAGE_SIZE));
	printf("# /proc/self/mem write to a swapped page: %zd (errno %d)\n", ret,
	       ret < 0 ? errno : 0);
	CHECK(ret == (ssize_t)PAGE_SIZE || (ret < 0 && errno == EIO));
	if (ret == (ssize_t)PAGE_SIZE)
		CHECK(!memcmp(b + 3 * PAGE_SIZE, src, PAGE_SIZE));
	else
		CHECK(sig_check(b + 3 * PAGE_SIZE, 40, 1));
	close(mem);
	CHECK(sig_check(b + 2 * PAGE_SIZE, 40, 1));
	for (unsigned long i = 4; i < n; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, 40, 1));
	munmap(b, n * PAGE_SIZE);
	uswap_pager_close(p);
}

/*
 * A fault whose range the program unmaps before the pager resolves it (one
 * thread reads a buffer another thread frees) must end as it would without
 * the pager: the access fails (EFAULT for the kernel's access here, SIGSEGV
 * for a load), the pager goes on serving, no entry is left behind. The
 * fault thread is held on the page's table lock while the range goes.
 */
struct pipe_reader {
	char *addr;
	int fd;
	ssize_t ret;
	int err;
	int done;
};

static void *write_from(void *arg)
{
	struct pipe_reader *r = arg;

	r->ret = write(r->fd, r->addr, PAGE_SIZE);
	r->err = r->ret < 0 ? errno : 0;
	atomic_store_release(&r->done, 1);
	return NULL;
}

TEST(fault_on_range_unmapped_meanwhile)
{
	struct uswap_pager *p = open_pager(4 * MiB, 0);
	const unsigned long n = 64;
	struct ptl_holder h = {.p = p};
	struct pipe_reader r = {.fd = -1};
	pthread_t th, tr, tu;
	struct mm_call mc;
	int fds[2], waited = 0;
	char *b, *other;

	if (!p)
		return;
	b = swapped_range(p, n, 50);
	REQUIRE(b);
	other = swapped_range(p, n, 51);
	REQUIRE(other);
	REQUIRE(swapped_bytes(p) >= n * PAGE_SIZE);
	REQUIRE_EQ(pipe(fds), 0);
	fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
	h.addr = (unsigned long)b;
	REQUIRE_EQ(pthread_create(&th, NULL, hold_ptl, &h), 0);
	while (!atomic_load_acquire(&h.state))
		usleep(1000);
	r.addr = b;
	r.fd = fds[1];
	REQUIRE_EQ(pthread_create(&tr, NULL, write_from, &r), 0);
	CHECK(wait_lock_sleeper(&h)); /* the fault thread waits on the held lock */
	mc = (struct mm_call){b, 64 * PAGE_SIZE, 0};
	REQUIRE_EQ(pthread_create(&tu, NULL, munmap_call, &mc), 0);
	CHECK(wait_thread_sleeping(&mc.tid)); /* its UNMAP event waits to be read */
	atomic_store_release(&h.state, 2);
	pthread_join(th, NULL);
	while (!atomic_load_acquire(&r.done) && waited++ < 5000)
		usleep(1000);
	CHECK_EQ(atomic_load_acquire(&r.done), 1);
	if (!atomic_load_acquire(&r.done)) {
		printf("# the fault thread is stuck: leaving the pager behind\n");
		return;
	}
	pthread_join(tr, NULL);
	pthread_join(tu, NULL);
	CHECK(r.ret < 0 && r.err == EFAULT);
	/* The pager still serves, and nothing of the range is left. */
	for (unsigned long i = 0; i < n; i++)
		CHECK(sig_check(other + i * PAGE_SIZE, 51, 1));
	munmap(other, n * PAGE_SIZE);
	CHECK_EQ(swapped_bytes(p), 0);
	{
		struct uswap_pager_stats st;

		uswap_pager_get_stats(p, &st);
		CHECK_EQ(st.resident_bytes, 0);
	}
	close(fds[0]);
	close(fds[1]);
	check_no_slot_left(p);
	uswap_pager_close(p);
}

/*
 * Faults that meet a changing address space (an event not read yet) wait
 * for a retry; with no room left to keep them they are handed back to the
 * kernel, never dropped (a dropped fault leaves its thread blocked for
 * good). The room is set to none so every such fault takes that path: the
 * fault thread waits on a held page-table lock with faults read, a
 * MADV_DONTNEED elsewhere queues its REMOVE event meanwhile, and then every
 * install of those faults fails with EAGAIN.
 */
struct page_reader {
	const char *page;
	uint64_t owner;
	int ok, done;
};

static void *read_page(void *arg)
{
	struct page_reader *r = arg;

	r->ok = sig_check(r->page, r->owner, 1);
	atomic_store_release(&r->done, 1);
	return NULL;
}

TEST(deferred_faults_are_never_dropped)
{
	struct uswap_pager *p = open_pager(4 * MiB, 0);
	const unsigned long n = 64, nr_readers = 4;
	struct page_reader r[4];
	struct ptl_holder h = {.p = p};
	pthread_t th, tm, tr[4];
	struct mm_call mc;
	unsigned long handed_back;
	unsigned done = 0;
	char *b, *other;

	if (!p)
		return;
	b = swapped_range(p, n, 62);
	REQUIRE(b);
	other = swapped_range(p, n, 63);
	REQUIRE(other);
	REQUIRE(swapped_bytes(p) >= n * PAGE_SIZE);
	pager_set_retry_cap(p, 0);
	h.addr = (unsigned long)b;
	REQUIRE_EQ(pthread_create(&th, NULL, hold_ptl, &h), 0);
	while (!atomic_load_acquire(&h.state))
		usleep(1000);
	for (unsigned long i = 0; i < nr_readers; i++) {
		r[i] = (struct page_reader){.page = b + i * 8 * PAGE_SIZE, .owner = 62};
		REQUIRE_EQ(pthread_create(&tr[i], NULL, read_page, &r[i]), 0);
	}
	CHECK(wait_lock_sleeper(&h)); /* the fault thread waits on the held lock */
	mc = (struct mm_call){other, PAGE_SIZE, 0};
	REQUIRE_EQ(pthread_create(&tm, NULL, dontneed_call, &mc), 0);
	CHECK(wait_thread_sleeping(&mc.tid)); /* its REMOVE event waits to be read */
	atomic_store_release(&h.state, 2);
	pthread_join(th, NULL);
	for (int waited = 0; waited < 5000 && done < nr_readers; waited++) {
		done = 0;
		for (unsigned long i = 0; i < nr_readers; i++)
			done += (unsigned)atomic_load_acquire(&r[i].done);
		if (done < nr_readers)
			usleep(1000);
	}
	CHECK_EQ(done, nr_readers);
	if (done < nr_readers) {
		printf("# a reader is stuck on a dropped fault: leaving the pager behind\n");
		return;
	}
	handed_back = pager_set_retry_cap(p, 1024);
	/* The path under test was taken: at least one fault was handed back. */
	CHECK(handed_back > 0);
	printf("# faults handed back to the kernel: %lu\n", handed_back);
	for (unsigned long i = 0; i < nr_readers; i++) {
		pthread_join(tr[i], NULL);
		CHECK(r[i].ok);
	}
	pthread_join(tm, NULL);
	CHECK(page_is_zero(other));
	for (unsigned long i = 0; i < n; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, 62, 1));
	for (unsigned long i = 1; i < n; i++)
		CHECK(sig_check(other + i * PAGE_SIZE, 63, 1));
	munmap(b, n * PAGE_SIZE);
	munmap(other, n * PAGE_SIZE);
	check_no_slot_left(p);
	uswap_pager_close(p);
}

/* ---- device full, read errors ---- */

TEST(device_full_goes_over_budget)
{
	/* 1 MiB of slots under a 4 MiB budget, 6 MiB of data. */
	struct uswap_pager *p = open_pager(4 * MiB, 1 * MiB);
	const unsigned long n = 6 * MiB / PAGE_SIZE;
	struct uswap_pager_stats st;
	char *b;

	if (!p)
		return;
	REQUIRE_EQ(uswap_pager_map(p, n * PAGE_SIZE, (void **)&b), 0);
	for (unsigned long i = 0; i < n; i++)
		sig_write(b + i * PAGE_SIZE, 12, 1);
	for (unsigned long i = 0; i < n; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, 12, 1));
	uswap_pager_get_stats(p, &st);
	CHECK(st.resident_bytes > 4 * MiB);
	CHECK_EQ(st.warnings, 1);
	munmap(b, n * PAGE_SIZE);
	uswap_pager_close(p);
}

static void on_sigbus(int sig)
{
	_exit(42);
}

TEST(read_error_is_sigbus)
{
	pid_t pid;
	int status;

	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		struct uswap_pager_config cfg = {.budget_bytes = 4 * MiB};
		struct uswap_pager *p;
		char *b;

		if (uswap_pager_open(&p, &cfg, NULL, 0))
			_exit(77);
		if (uswap_pager_map(p, 4 * MiB, (void **)&b))
			_exit(3);
		for (unsigned long i = 0; i < 1024; i++)
			sig_write(b + i * PAGE_SIZE, 13, 1);
		uswap_pager_reclaim(p, 64 * MiB);
		signal(SIGBUS, on_sigbus);
		pager_inject_read_error(p, 1);
		/* The first swap-in read fails: SIGBUS, not wrong data. */
		for (unsigned long i = 0; i < 1024; i++)
			if (!sig_check(b + i * PAGE_SIZE, 13, 1))
				_exit(4);
		_exit(0);
	}
	REQUIRE_EQ(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		test_skip("no full-mode userfaultfd");
		return;
	}
	/* The faulting thread got SIGBUS (its handler exits 42). */
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 42);
}

/* ---- fork ---- */

TEST(fork_child_sees_every_byte)
{
	struct uswap_pager *p = open_pager(4 * MiB, 0);
	const unsigned long n = 16 * MiB / SCALE / PAGE_SIZE;
	int status;
	pid_t pid;
	char *b;

	if (!p)
		return;
	REQUIRE_EQ(uswap_pager_map(p, n * PAGE_SIZE, (void **)&b), 0);
	for (unsigned long i = 0; i < n; i++)
		sig_write(b + i * PAGE_SIZE, 14, 1);
	CHECK(swapped_bytes(p) > 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		for (unsigned long i = 0; i < n; i++)
			if (!sig_check(b + i * PAGE_SIZE, 14, 1))
				_exit(1);
		/* Its own writes stay its own. */
		for (unsigned long i = 0; i < n; i += 7)
			sig_write(b + i * PAGE_SIZE, 15, 2);
		_exit(0);
	}
	REQUIRE_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* The parent goes on paging its own data. */
	for (unsigned long i = 0; i < n; i++)
		sig_write(b + i * PAGE_SIZE, 14, 3);
	for (unsigned long i = 0; i < n; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, 14, 3));
	{
		struct uswap_pager_stats st;

		uswap_pager_get_stats(p, &st);
		printf("# after fork: resident %zu KiB swapped %zu KiB busy %lu\n",
		       st.resident_bytes >> 10, st.swapped_bytes >> 10, st.evict_busy);
	}
	/* No fault goes over the budget here: the reclaim thread does it, when it runs. */
	for (int i = 0; i < 10000 && !swapped_bytes(p); i++)
		usleep(1000);
	CHECK(swapped_bytes(p) > 0);
	munmap(b, n * PAGE_SIZE);
	uswap_pager_close(p);
}

/*
 * In the fallback without EVENT_FORK (a process without CAP_SYS_PTRACE;
 * the variable forces it), a device read error while fork brings every page
 * back must not leave a page swapped out: the child would read zeros there
 * (its mappings are not registered). The error is transient here (one read
 * fails). With EVENT_FORK the child's own faults are served and a read
 * error there is a SIGBUS, as in the parent.
 */
TEST(fork_read_error_child_sees_every_byte)
{
	struct uswap_pager *p;
	const unsigned long n = 8 * MiB / PAGE_SIZE;
	int status;
	pid_t pid;
	char *b;

	setenv("USWAP_NO_EVENT_FORK", "1", 1);
	p = open_pager(4 * MiB, 0);
	unsetenv("USWAP_NO_EVENT_FORK");
	if (!p)
		return;
	REQUIRE_EQ(uswap_pager_map(p, n * PAGE_SIZE, (void **)&b), 0);
	for (unsigned long i = 0; i < n; i++)
		sig_write(b + i * PAGE_SIZE, 16, 1);
	REQUIRE(swapped_bytes(p) > 0);
	REQUIRE_EQ(pager_inject_read_error(p, 1), 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		unsigned long bad = 0;

		for (unsigned long i = 0; i < n; i++)
			bad += !sig_check(b + i * PAGE_SIZE, 16, 1);
		_exit(bad ? 1 : 0);
	}
	REQUIRE_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (unsigned long i = 0; i < n; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, 16, 1));
	munmap(b, n * PAGE_SIZE);
	uswap_pager_close(p);
}

/* ---- aging ---- */

/*
 * The aging sampler takes resident pages out of real memory (data kept in
 * the folio) to see which come back: a sampled page reads back right
 * without a swap-in, and one evicted while sampled (no real page to move)
 * comes back right from the device.
 */
TEST(aging_samples_keep_data)
{
	struct uswap_pager *p = open_pager(16 * MiB, 0);
	const unsigned long n = 1024;
	struct uswap_pager_stats st0, st1;
	long pswpin0;
	char *b;

	if (!p)
		return;
	REQUIRE_EQ(uswap_pager_map(p, n * PAGE_SIZE, (void **)&b), 0);
	for (unsigned long i = 0; i < n; i++)
		sig_write(b + i * PAGE_SIZE, 16, 1);
	/* The sampler runs every 100 ms on the reclaim thread. */
	for (int k = 0; k < 50; k++) {
		uswap_pager_get_stats(p, &st0);
		if (st0.sampled >= 128)
			break;
		usleep(20000);
	}
	REQUIRE(st0.sampled >= 64);
	pswpin0 = uswap_pager_counter(p, "pswpin");
	for (unsigned long i = 0; i < n; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, 16, 1));
	uswap_pager_get_stats(p, &st1);
	/* Sampled pages fault back from the folio, not from the device. */
	CHECK(st1.faults > st0.faults);
	CHECK_EQ(uswap_pager_counter(p, "pswpin"), pswpin0);
	/* Wait for more samples, then evict everything and read it all back. */
	for (int k = 0; k < 50; k++) {
		uswap_pager_get_stats(p, &st1);
		if (st1.sampled >= st0.sampled + 64)
			break;
		usleep(20000);
	}
	CHECK(uswap_pager_reclaim(p, 64 * MiB) > 0);
	for (unsigned long i = 0; i < n; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, 16, 1));
	CHECK(uswap_pager_counter(p, "pswpin") > pswpin0);
	munmap(b, n * PAGE_SIZE);
	uswap_pager_close(p);
}

/* ---- data pages traded between installs and evictions ---- */

/*
 * Random reads and writes over 4x the budget: installed pages give their
 * folio's data page to the spare pages and take a hole, evicted ones take
 * a spare page back (pager_data_reuse()). A page given another folio's
 * data, or data not copied back, shows as a wrong signature (owner,
 * address and version of every page are checked).
 */
TEST(evictions_reuse_data_pages_given_back)
{
	struct uswap_pager *p = open_pager(8 * MiB, 0);
	const unsigned long n = 8192 / SCALE;
	const unsigned rounds = 4;
	struct uswap_pager_stats st;
	uint64_t rnd = test_seed ^ 0x5eed;
	unsigned *version;
	unsigned long bad = 0;
	char *b;

	if (!p)
		return;
	version = calloc(n, sizeof(*version));
	REQUIRE(version != NULL);
	REQUIRE_EQ(uswap_pager_map(p, n * PAGE_SIZE, (void **)&b), 0);
	for (unsigned long i = 0; i < n; i++) {
		version[i] = 1;
		sig_write(b + i * PAGE_SIZE, 23, 1);
	}
	for (unsigned r = 0; r < rounds; r++) {
		for (unsigned long k = 0; k < n; k++) {
			unsigned long i = t_rand(&rnd) % n;

			/* One access in four writes: dirty pages and clean ones. */
			if (t_rand(&rnd) % 4 == 0)
				sig_write(b + i * PAGE_SIZE, 23, ++version[i]);
			else if (!sig_check(b + i * PAGE_SIZE, 23, version[i]))
				bad++;
		}
	}
	for (unsigned long i = 0; i < n; i++)
		if (!sig_check(b + i * PAGE_SIZE, 23, version[i]))
			bad++;
	CHECK_EQ(bad, 0UL);
	uswap_pager_get_stats(p, &st);
	CHECK(st.data_released > 0);
	CHECK(st.data_reused > 0);
	CHECK(st.data_reused <= uswap_pager_counter(p, "pswpout") + st.sampled);
	munmap(b, n * PAGE_SIZE);
	free(version);
	uswap_pager_close(p);
}

/*
 * What the kernel counts of the paged range and the engine, in KiB: the
 * range's resident pages (mincore(); RssAnon would add the sanitizers'
 * shadow memory) and the process's RssShmem (the engine's arena is shared
 * memory, the only shared memory the test maps that is touched).
 */
static long footprint_kb(char *b, unsigned long n, unsigned char *vec)
{
	long kb = proc_status_field(0, "RssShmem");

	if (kb < 0 || mincore(b, n * PAGE_SIZE, vec))
		return -1;
	for (unsigned long i = 0; i < n; i++)
		kb += (vec[i] & 1) * (long)(PAGE_SIZE >> 10);
	return kb;
}

/*
 * A pager whose device is a 64 MiB swap file, /tmp/uswap-test-@tag-PID (its
 * name in @path, cfg->device pointing at @dev, both the caller's). Return:
 * the pager, or NULL (skipped, the file removed); the caller unlinks @path.
 */
static struct uswap_pager *pager_open_on_swapfile(struct uswap_pager_config *cfg, const char *tag,
						  char *path, size_t path_len, char *dev,
						  size_t dev_len)
{
	struct uswap_pager *p;

	snprintf(path, path_len, "/tmp/uswap-test-%s-%d", tag, getpid());
	snprintf(dev, dev_len, "file:%s", path);
	if (swapfile_format(path, 64 * MiB, NULL, NULL, NULL, 0)) {
		test_fail(__FILE__, __LINE__, "cannot format %s", path);
		return NULL;
	}
	p = pager_open_or_skip(cfg);
	if (!p)
		unlink(path);
	return p;
}

/*
 * The spare data pages are resident arena memory the budget does not
 * charge: at a small budget they must stay a small part of it, and under
 * 8 MiB there are none. Pages of 4x a 4 MiB budget are read back at
 * random (evictions leave holes, installs trade their data pages for
 * them), then half of them is dropped and the other half read back:
 * installs with no eviction between, which fill the spares. On a swap
 * file, so that the arena holds no compressed data. No eviction may then
 * have taken a spare page (data_reused): with NR_SPARE spares at every
 * budget thousands did. The footprint (the range's resident pages and
 * RssShmem) is printed, not checked: the data an install leaves in the
 * arena is given back by the reclaim thread afterwards, so how far it
 * grows depends on how the threads are scheduled (from 4,716-4,940 KiB
 * over the start alone to 7,560 KiB with four runs on one CPU under
 * ThreadSanitizer, spares or not). With 512 spares it grew by
 * 6,416-6,560 KiB alone.
 */
TEST(spare_data_pages_within_a_small_budget)
{
	char path[64], dev[80];
	const size_t budget = 4 * MiB;
	struct uswap_pager_config cfg = {.budget_bytes = budget, .device = dev};
	const unsigned long n = 4 * budget / PAGE_SIZE;
	uint64_t rnd = test_seed ^ 0x59a7e;
	long base, now, peak = 0;
	struct uswap_pager_stats st;
	unsigned long bad = 0;
	struct uswap_pager *p;
	unsigned char *vec;
	char *b;

	p = pager_open_on_swapfile(&cfg, "spare", path, sizeof(path), dev, sizeof(dev));
	if (!p)
		return;
	vec = malloc(n);
	REQUIRE(vec != NULL);
	REQUIRE_EQ(uswap_pager_map(p, n * PAGE_SIZE, (void **)&b), 0);
	base = footprint_kb(b, n, vec);
	REQUIRE(base >= 0);
	for (unsigned long i = 0; i < n; i++)
		sig_write(b + i * PAGE_SIZE, 29, 1);
	for (unsigned r = 0; r < 8; r++) {
		for (unsigned long k = 0; k < n; k++) {
			unsigned long i = t_rand(&rnd) % n;

			if (!sig_check(b + i * PAGE_SIZE, 29, 1))
				bad++;
		}
		now = footprint_kb(b, n, vec);
		peak = max(peak, now - base);
	}
	REQUIRE_EQ(madvise(b, n / 2 * PAGE_SIZE, MADV_DONTNEED), 0);
	for (unsigned long i = n / 2; i < n; i++) {
		if (!sig_check(b + i * PAGE_SIZE, 29, 1))
			bad++;
		if (i % 256 == 0) {
			now = footprint_kb(b, n, vec);
			peak = max(peak, now - base);
		}
	}
	usleep(200000); /* the reclaim thread gives the installed pages' data back */
	now = footprint_kb(b, n, vec);
	peak = max(peak, now - base);
	CHECK_EQ(bad, 0UL);
	uswap_pager_get_stats(p, &st);
	printf("# budget %zu KiB: the range's resident pages and RssShmem grew by at most %ld "
	       "KiB; data pages given back %lu, reused %lu\n",
	       budget >> 10, peak, st.data_released, st.data_reused);
	/* Given back: the mechanism ran, and took no spare page at this budget. */
	CHECK(st.data_released > 0);
	CHECK_EQ(st.data_reused, 0UL);
	munmap(b, n * PAGE_SIZE);
	free(vec);
	uswap_pager_close(p);
	unlink(path);
}

/* ---- a swap file: clean pages keep their slot ---- */

/*
 * On a swap file a page read back keeps its slot (mapped write-protected):
 * evicted again while clean it is dropped without a second write; its first
 * write is a write-protect fault that frees the slot, and the new data is
 * what comes back.
 */
TEST(swapfile_clean_pages_not_rewritten)
{
	char path[64], dev[80];
	struct uswap_pager_config cfg = {.budget_bytes = 4 * MiB, .device = dev};
	const unsigned long n = 8 * MiB / SCALE / PAGE_SIZE;
	long out0, out1, out2;
	struct uswap_pager *p;
	char *b;

	p = pager_open_on_swapfile(&cfg, "swap", path, sizeof(path), dev, sizeof(dev));
	if (!p)
		return;
	REQUIRE_EQ(uswap_pager_map(p, n * PAGE_SIZE, (void **)&b), 0);
	for (unsigned long i = 0; i < n; i++)
		sig_write(b + i * PAGE_SIZE, 17, 1);
	while (uswap_pager_reclaim(p, 64 * MiB) > 0)
		;
	out0 = uswap_pager_counter(p, "pswpout");
	/* Read back (clean, slots kept), evict again: no rewrite. */
	for (unsigned long i = 0; i < n; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, 17, 1));
	while (uswap_pager_reclaim(p, 64 * MiB) > 0)
		;
	out1 = uswap_pager_counter(p, "pswpout");
	CHECK(out1 - out0 < (long)n / 8);
	/* Write (a write-protect fault each), evict: written out, new data back. */
	for (unsigned long i = 0; i < n; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, 17, 1));
	for (unsigned long i = 0; i < n; i++)
		sig_write(b + i * PAGE_SIZE, 17, 2);
	while (uswap_pager_reclaim(p, 64 * MiB) > 0)
		;
	out2 = uswap_pager_counter(p, "pswpout");
	CHECK(out2 - out1 >= (long)n / 2);
	for (unsigned long i = 0; i < n; i++)
		CHECK(sig_check(b + i * PAGE_SIZE, 17, 2));
	printf("# pswpout: first %ld, clean re-eviction +%ld, after writes +%ld\n", out0,
	       out1 - out0, out2 - out1);
	munmap(b, n * PAGE_SIZE);
	uswap_pager_close(p);
	unlink(path);
}

/* ---- unregister ---- */

/* Unregistering brings the range back: its data stays, its slots are freed. */
TEST(unregister_brings_back)
{
	struct uswap_pager *p = open_pager(4 * MiB, 0);
	const unsigned long n = 2048;
	char *b;

	if (!p)
		return;
	b = swapped_range(p, n, 18);
	REQUIRE(b);
	CHECK(swapped_bytes(p) > 0);
	REQUIRE_EQ(uswap_pager_unregister(p, b, n * PAGE_SIZE), 0);
	CHECK_EQ(swapped_bytes(p), 0);
	/* Plain memory now: the pager sees no fault for it. */
	{
		struct uswap_pager_stats st0, st1;

		uswap_pager_get_stats(p, &st0);
		for (unsigned long i = 0; i < n; i++)
			CHECK(sig_check(b + i * PAGE_SIZE, 18, 1));
		uswap_pager_get_stats(p, &st1);
		CHECK_EQ(st1.faults, st0.faults);
	}
	munmap(b, n * PAGE_SIZE);
	uswap_pager_close(p);
}
