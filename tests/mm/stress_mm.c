// SPDX-License-Identifier: MIT
/*
 * stress_mm.c - threads run a random mix of every mm flow at once under a
 * tight memory budget: faults and writes, MADV_PAGEOUT and MADV_DONTNEED,
 * fork and exit (of private spaces and of one shared by all threads, whose
 * snapshots live on as a fork family while every thread keeps writing),
 * shmem writes, reads and truncates, hibernation images, and swapoff +
 * swapon cycles of two devices (compressed RAM with SYNC_IO, plain RAM with
 * readahead and discard).
 *
 *   stress_mm [-s SEED] -- [-T THREADS] [-S SECONDS] [-R INTENSITY]
 *                          [-P POINT] [-D DEVICE_PAGES]
 *
 * -R: race-point delay injection, 0 (off) to 3 (default 3 in builds with race
 * points): threads are delayed at the named windows between a check and the
 * action it guards, at rates drawn anew each second from the seed (about half
 * the windows each time, so each is delayed at full strength in some seconds),
 * so one seed replays the same choice of windows. -P aims the delays at the
 * points whose name contains POINT (each delayed one hit in 2, by long
 * sleeps); -P swapin_large also turns the mix of operations towards the
 * shared space's faults, holes and pageouts (op_weight_swapin), which that
 * window's race needs. The points reached and delays made are
 * printed at the end. -D: slots per device (default 1280): small devices that
 * swapped pages of orders 0 and 4 fill and fragment, so that reclaim often
 * gets no slots for a large folio and must split it, and emptied clusters are
 * often discarded.
 *
 * Every page carries a signature (owner, address, version) filling the
 * whole page, checked on every read: exactly against the writer's own
 * record, loosely (right address and owner, a version already published,
 * or zeros) for pages other threads write. A thread's versions only grow,
 * so "already published" is checked against the largest version ever
 * published for the page, which a zap or truncate never lowers. A fork
 * child must never see a write its parent made after the fork: a private
 * child is checked exactly against the parent's records at fork time, a
 * snapshot of the shared space against the versions published when the
 * fork returned; a child is checked where its parent wrote before it exits.
 * Periodically all threads stop at a barrier and the world is audited: the
 * swap invariant checker, every slot's count against the page-table entries
 * and shmem slots that hold it, every folio's mapcount against the entries
 * that map it, per-space counters, the LRU sums. After teardown, slots,
 * folios and arena bytes must all be back to where they started.
 *
 * Anonymous spaces fault in order-4 folios, shmem and split pieces are
 * order 0. Private writes go mostly to a hot window that other threads page
 * out with references ignored, so large folios are split while their pages
 * are written; the shared space is small, so its faults, zaps and forks
 * meet in the same folios.
 *
 * Owns: the run's state. Locking: each thread owns its private spaces and
 * records; shared records are atomics; device cycling takes dev_lock.
 */
#include <pthread.h>
#include <time.h>

#include "base/race.h"
#include "dev/zram.h"
#include "mm_test.h"

#define P_PAGES	    512	 /* a thread's private space (and its child) */
#define S_PAGES	    128	 /* the shared space, page p written by thread p % T */
#define F_PAGES	    256	 /* the shared shmem file, same partition */
#define DEV_PAGES   1280 /* default -D */
#define BUDGET	    384
#define MAX_T	    16
#define ZAP_BLOCK   16	/* the shared space's block zaps: one order-4 folio */
#define HOT_PAGES   64	/* a thread's hot window of private pages */
#define CHILD_OWNER 100 /* owner ids of children: CHILD_OWNER + thread */

enum op {
	OP_WRITE,
	OP_READ,
	OP_CHILD_WRITE,
	OP_CHILD_READ,
	OP_SHARED_WRITE,
	OP_SHARED_READ,
	OP_SHARED_ZAP,
	OP_SNAP_READ,
	OP_SHMEM_WRITE,
	OP_SHMEM_READ,
	OP_SHMEM_TRUNCATE,
	OP_ZAP,
	OP_PAGEOUT,
	OP_FORK,
	OP_EXIT_CHILD,
	OP_FORK_SHARED,
	OP_HIBERNATE,
	OP_SWAP_CYCLE,
	NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"write",      "read",	   "child_write", "child_read",	 "shared_write", "shared_read",
	"shared_zap", "snap_read", "shmem_write", "shmem_read",	 "shmem_trunc",	 "zap",
	"pageout",    "fork",	   "exit_child",  "fork_shared", "hibernate",	 "swap_cycle",
};

/* Relative frequencies. */
static const unsigned op_weight[NR_OPS] = {
	[OP_WRITE] = 30,      [OP_READ] = 30,	       [OP_CHILD_WRITE] = 10,
	[OP_CHILD_READ] = 10, [OP_SHARED_WRITE] = 15,  [OP_SHARED_READ] = 15,
	[OP_SHARED_ZAP] = 6,  [OP_SNAP_READ] = 6,      [OP_SHMEM_WRITE] = 10,
	[OP_SHMEM_READ] = 10, [OP_SHMEM_TRUNCATE] = 1, [OP_ZAP] = 6,
	[OP_PAGEOUT] = 8,     [OP_FORK] = 3,	       [OP_EXIT_CHILD] = 1,
	[OP_FORK_SHARED] = 1, [OP_HIBERNATE] = 1,      [OP_SWAP_CYCLE] = 1,
};

/*
 * The mix of a run aimed at the large swap-in window (-P swapin_large): the
 * race there needs a large swap-in of the shared space (the one space two
 * threads fault in), a page of its range zapped by the other thread while
 * the first waits in the window, and the freed slot taken at once by
 * another space's swap-out (private or shmem pages written and paged out).
 * So: shared faults, holes and pageouts of the shared space, and a steady
 * stream of order-0 swap-outs elsewhere on a nearly full device.
 */
static const unsigned op_weight_swapin[NR_OPS] = {
	[OP_WRITE] = 15,      [OP_READ] = 5,	       [OP_CHILD_WRITE] = 2,
	[OP_CHILD_READ] = 2,  [OP_SHARED_WRITE] = 20,  [OP_SHARED_READ] = 30,
	[OP_SHARED_ZAP] = 20, [OP_SNAP_READ] = 2,      [OP_SHMEM_WRITE] = 15,
	[OP_SHMEM_READ] = 5,  [OP_SHMEM_TRUNCATE] = 1, [OP_ZAP] = 2,
	[OP_PAGEOUT] = 25,    [OP_FORK] = 1,	       [OP_EXIT_CHILD] = 1,
	[OP_FORK_SHARED] = 1, [OP_HIBERNATE] = 1,      [OP_SWAP_CYCLE] = 1,
};

/* The op mix of this run: op_weight, or op_weight_swapin for -P swapin_large. */
static const unsigned *op_mix = op_weight;

/* What a page should hold: nothing yet (version 0), or this signature. */
struct sig {
	uint32_t owner;
	uint32_t version;
};

struct tstate {
	int id;
	uint64_t rng;
	struct model_as *p, *c;
	struct sig ps[P_PAGES], cs[P_PAGES];
	unsigned long cdirty[P_PAGES / 64]; /* pages of p written since c was forked */
	/*
	 * A snapshot (fork) of the shared space, kept while every thread
	 * writes on: for this thread's pages the exact version at the fork,
	 * for the others the newest it may hold (published when fork returned).
	 */
	struct model_as *snap;
	uint32_t snap_ver[S_PAGES];
	unsigned long snap_zap[S_PAGES / 64]; /* own pages a block zap may have emptied */
	uint32_t version;
	unsigned long ops[NR_OPS];
	uint64_t buf[PAGE_SIZE / 8];
	uint64_t hib[4][PAGE_SIZE / 8];
};

struct stress {
	struct model *m;
	struct uswap *sw;
	int nr_threads;
	struct model_as *s;
	struct model_shmem *f;
	/* Largest version ever published (atomic; zap and truncate leave it). */
	uint32_t s_version[S_PAGES];
	uint32_t f_version[F_PAGES];
	/* What the page holds now: read and written by its owner thread only. */
	uint32_t s_cur[S_PAGES];
	unsigned s_wgen[S_PAGES];	    /* its block's generation when last written (owner) */
	unsigned zgen[S_PAGES / ZAP_BLOCK]; /* atomic: +1 as a block zap starts, +1 as it ends */
	uint32_t f_cur[F_PAGES];
	unsigned long dev_pages;
	unsigned long hot[MAX_T]; /* atomic: first page of each thread's hot window */
	struct swap_dev *ram[2];  /* the RAM device in service per slot, or NULL */
	unsigned long discarded;  /* by RAM devices already swapped off */
	pthread_mutex_t dev_lock; /* the devices below */
	int dev[2];		  /* types in service, -1 when off */
	pthread_barrier_t barrier;
	int quiesce, stop; /* atomic */
	struct tstate *ts[MAX_T];
};

static struct stress st;
/* ---- signatures ---- */

/*
 * A signature is base/pattern.h's random pattern keyed by the address, with
 * (owner << 32 | version) as its version: word 0 names the address, word 1
 * the owner and version, and every other word depends on all three.
 */
static uint64_t sig_version(uint32_t owner, uint32_t version)
{
	return (uint64_t)owner << 32 | version;
}

static void sig_fill(uint64_t *page, uint32_t owner, unsigned long addr, uint32_t version)
{
	pattern_fill(page, PAGE_SIZE, PATTERN_RANDOM, addr, sig_version(owner, version));
}

/* Exact: the page holds @want (zeros for version 0). */
static bool sig_check(const uint64_t *page, unsigned long addr, struct sig want)
{
	if (!want.version)
		return t_is_zero(page);
	return pattern_check(page, PAGE_SIZE, PATTERN_RANDOM, addr,
			     sig_version(want.owner, want.version));
}

/* Loose: zeros, or a whole signature of @owner for @addr no newer than @max_version. */
static bool sig_check_loose(const uint64_t *page, unsigned long addr, uint32_t owner,
			    uint32_t max_version)
{
	uint32_t version = (uint32_t)page[1];

	if (t_is_zero(page))
		return true;
	if (page[0] != addr || page[1] >> 32 != owner || !version || version > max_version)
		return false;
	return sig_check(page, addr, (struct sig){owner, version});
}

static void fail(struct tstate *t, const char *what, unsigned long page)
{
	test_fail(__FILE__, __LINE__, "thread %d: %s, page %lu", t->id, what, page);
}

/* A check failed on the page read into t->buf: say what it holds instead. */
static void fail_found(struct tstate *t, const char *what, unsigned long page, struct sig want)
{
	const uint64_t *p = t->buf;

	if (t_is_zero(p))
		test_fail(__FILE__, __LINE__, "thread %d: %s, page %lu: zeros, not %u/v%u", t->id,
			  what, page, want.owner, want.version);
	else
		test_fail(__FILE__, __LINE__,
			  "thread %d: %s, page %lu: holds address %#lx owner %u v%u%s, not %u/v%u",
			  t->id, what, page, (unsigned long)p[0], (unsigned)(p[1] >> 32),
			  (unsigned)p[1],
			  sig_check(p, p[0], (struct sig){(uint32_t)(p[1] >> 32), (uint32_t)p[1]})
				  ? ""
				  : " (torn)",
			  want.owner, want.version);
}

/* ---- operations ---- */

static uint64_t rnd(struct tstate *t, uint64_t n)
{
	return t_rand(&t->rng) % n;
}

static bool as_check(struct tstate *t, struct model_as *as, unsigned long page, struct sig want)
{
	unsigned long addr = mt_addr(as, page);

	return !model_read(as, addr, t->buf, PAGE_SIZE) && sig_check(t->buf, addr, want);
}

/*
 * Writes to the private space go mostly to a hot window that moves now and
 * then, the window other threads page out (pageout()): large folios there
 * are split while their pages are being written.
 */
static unsigned long private_page(struct tstate *t, struct model_as *as)
{
	if (as != t->p || rnd(t, 4) == 0)
		return rnd(t, P_PAGES);
	if (rnd(t, 32) == 0)
		atomic_store_relaxed(&st.hot[t->id], rnd(t, P_PAGES / HOT_PAGES) * HOT_PAGES);
	return atomic_load_relaxed(&st.hot[t->id]) + rnd(t, HOT_PAGES);
}

static void as_write(struct tstate *t, struct model_as *as, struct sig *rec, uint32_t owner)
{
	unsigned long page = private_page(t, as), addr = mt_addr(as, page);
	struct sig want = {owner, ++t->version};

	sig_fill(t->buf, owner, addr, want.version);
	if (model_write(as, addr, t->buf, PAGE_SIZE))
		fail(t, "write failed", page);
	rec[page] = want;
	/* The child must go on seeing what the page held at the fork. */
	if (as == t->p && t->c)
		t->cdirty[page / 64] |= 1UL << (page % 64);
}

static void as_read(struct tstate *t, struct model_as *as, struct sig *rec)
{
	unsigned long page = rnd(t, P_PAGES);

	if (!as_check(t, as, page, rec[page]))
		fail_found(t, "private page lost or mixed up", page, rec[page]);
}

/*
 * Check the child where a copy-on-write break would show: every page the
 * parent wrote since the fork must still read as it was at the fork.
 */
static void child_check_cow(struct tstate *t)
{
	for (unsigned long page = 0; t->c && page < P_PAGES; page++) {
		if (!(t->cdirty[page / 64] & (1UL << (page % 64))))
			continue;
		if (as_check(t, t->c, page, t->cs[page]))
			continue;
		if (t->buf[0] == mt_addr(t->c, page) && t->buf[1] >> 32 == (uint64_t)t->id &&
		    (uint32_t)t->buf[1] > t->cs[page].version)
			fail_found(t,
				   "fork child sees a write its parent made after the fork "
				   "(copy-on-write broken)",
				   page, t->cs[page]);
		else
			fail_found(t, "fork child's page lost or mixed up", page, t->cs[page]);
	}
}

static void child_exit(struct tstate *t)
{
	child_check_cow(t);
	if (t->c)
		model_exit(t->c);
	t->c = NULL;
	memset(t->cdirty, 0, sizeof(t->cdirty));
}

/* A page of the shared space or file this thread writes. */
static unsigned long own_page(struct tstate *t, unsigned long nr)
{
	return rnd(t, nr / st.nr_threads) * st.nr_threads + t->id;
}

/*
 * Whether a block zap (shared_zap()) may have emptied this thread's page
 * since it last wrote it: the block's generation is odd during a zap and
 * moves on with each.
 */
static bool zapped_since_write(unsigned long page)
{
	unsigned gen = atomic_load_acquire(&st.zgen[page / ZAP_BLOCK]);

	return (st.s_wgen[page] & 1) || gen != st.s_wgen[page];
}

static void shared_write(struct tstate *t)
{
	unsigned long page = own_page(t, S_PAGES), addr = mt_addr(st.s, page);
	uint32_t version = ++t->version;

	st.s_wgen[page] = atomic_load_acquire(&st.zgen[page / ZAP_BLOCK]);
	/* Published first: a reader may see the new page before the write returns. */
	atomic_store_release(&st.s_version[page], version);
	st.s_cur[page] = version;
	sig_fill(t->buf, t->id, addr, version);
	if (model_write(st.s, addr, t->buf, PAGE_SIZE))
		fail(t, "shared write failed", page);
}

static void shared_read(struct tstate *t)
{
	unsigned long page = rnd(t, S_PAGES), addr = mt_addr(st.s, page);
	uint32_t owner = page % st.nr_threads;

	if (model_read(st.s, addr, t->buf, PAGE_SIZE))
		fail(t, "shared read failed", page);
	else if (owner == (uint32_t)t->id && t_is_zero(t->buf) && zapped_since_write(page))
		st.s_cur[page] = 0; /* another thread zapped its block */
	else if (owner == (uint32_t)t->id &&
		 !sig_check(t->buf, addr, (struct sig){owner, st.s_cur[page]}))
		fail_found(t, "own shared page lost", page, (struct sig){owner, st.s_cur[page]});
	else if (!sig_check_loose(t->buf, addr, owner, atomic_load_acquire(&st.s_version[page])))
		fail_found(t, "shared page mixed up", page, (struct sig){owner, 0});
}

/*
 * MADV_DONTNEED in the shared space, under the other threads' faults: one
 * of this thread's pages (a hole in a range others swap in), or a whole
 * aligned block, every thread's pages, so that it faults in as a large
 * folio again (owners learn of it from the block's generation).
 */
static void shared_zap(struct tstate *t)
{
	unsigned long page = own_page(t, S_PAGES), nr = 1;
	unsigned *gen = NULL;

	if (rnd(t, 2)) {
		page = ALIGN_DOWN(page, ZAP_BLOCK);
		nr = ZAP_BLOCK;
		gen = &st.zgen[page / ZAP_BLOCK];
		atomic_fetch_add_acq_rel(gen, 1U);
	}
	if (model_madvise(st.s, mt_addr(st.s, page), nr * PAGE_SIZE, MODEL_MADV_DONTNEED))
		fail(t, "shared zap failed", page);
	if (gen)
		atomic_fetch_add_acq_rel(gen, 1U);
	for (unsigned long i = page; i < page + nr; i++)
		if (i % st.nr_threads == (unsigned long)t->id)
			st.s_cur[i] = 0;
}

/*
 * Page @page of this thread's snapshot: exact for this thread's pages;
 * for the others, never a write made after the fork returned.
 */
static void snap_check(struct tstate *t, unsigned long page)
{
	unsigned long addr = mt_addr(t->snap, page);
	uint32_t owner = page % st.nr_threads, version;

	if (model_read(t->snap, addr, t->buf, PAGE_SIZE)) {
		fail(t, "snapshot read failed", page);
		return;
	}
	if (owner == (uint32_t)t->id) {
		if (t_is_zero(t->buf) && (t->snap_zap[page / 64] & (1UL << (page % 64))))
			return; /* a block zap may have emptied it before the fork */
		if (!sig_check(t->buf, addr, (struct sig){owner, t->snap_ver[page]}))
			fail_found(t, "own page of the snapshot lost or changed after the fork",
				   page, (struct sig){owner, t->snap_ver[page]});
		return;
	}
	version = (uint32_t)t->buf[1];
	if (sig_check_loose(t->buf, addr, owner, t->snap_ver[page]))
		return;
	if (t->buf[0] == addr && t->buf[1] >> 32 == owner && version > t->snap_ver[page] &&
	    sig_check(t->buf, addr, (struct sig){owner, version}))
		fail_found(t, "snapshot sees a write made after the fork (copy-on-write broken)",
			   page, (struct sig){owner, t->snap_ver[page]});
	else
		fail_found(t, "snapshot of shared page mixed up", page,
			   (struct sig){owner, t->snap_ver[page]});
}

/*
 * Fork the space every thread writes into a snapshot that lives on (a fork
 * family the other threads keep writing and reclaim keeps splitting), check
 * a few of its pages now and more later (OP_SNAP_READ).
 */
static void snap_exit(struct tstate *t)
{
	for (unsigned long page = 0; t->snap && page < S_PAGES; page++)
		snap_check(t, page);
	if (t->snap)
		model_exit(t->snap);
	t->snap = NULL;
}

static void fork_shared(struct tstate *t)
{
	snap_exit(t);
	if (model_fork(st.s, &t->snap)) {
		t->snap = NULL;
		fail(t, "shared fork failed", 0);
		return;
	}
	memset(t->snap_zap, 0, sizeof(t->snap_zap));
	for (unsigned long page = 0; page < S_PAGES; page++) {
		bool own = page % st.nr_threads == (unsigned long)t->id;

		t->snap_ver[page] = own ? st.s_cur[page] : atomic_load_acquire(&st.s_version[page]);
		if (own && zapped_since_write(page))
			t->snap_zap[page / 64] |= 1UL << (page % 64);
	}
	for (int i = 0; i < 16; i++)
		snap_check(t, rnd(t, S_PAGES));
}

static void snap_read(struct tstate *t)
{
	if (!t->snap)
		fork_shared(t);
	else if (rnd(t, 4) == 0)
		snap_exit(t);
	else
		snap_check(t, rnd(t, S_PAGES));
}

static void shmem_write_page(struct tstate *t)
{
	unsigned long page = own_page(t, F_PAGES);
	uint32_t version = ++t->version;

	atomic_store_release(&st.f_version[page], version);
	st.f_cur[page] = version;
	sig_fill(t->buf, t->id, page, version);
	if (model_shmem_write(st.f, page << PAGE_SHIFT, t->buf, PAGE_SIZE))
		fail(t, "shmem write failed", page);
}

/*
 * A page another thread owns may be read just before that thread truncates
 * it: the copy is old but was right, so it is checked against the largest
 * version ever published (which truncation leaves as it is), not against
 * the page's state after the read.
 */
static void shmem_read_page(struct tstate *t)
{
	unsigned long page = rnd(t, F_PAGES);
	uint32_t owner = page % st.nr_threads;

	if (model_shmem_read(st.f, page << PAGE_SHIFT, t->buf, PAGE_SIZE))
		fail(t, "shmem read failed", page);
	else if (owner == (uint32_t)t->id &&
		 !sig_check(t->buf, page, (struct sig){owner, st.f_cur[page]}))
		fail_found(t, "own shmem page lost", page, (struct sig){owner, st.f_cur[page]});
	else if (!sig_check_loose(t->buf, page, owner, atomic_load_acquire(&st.f_version[page])))
		fail_found(t, "shmem page mixed up", page, (struct sig){owner, 0});
}

static void shmem_truncate_page(struct tstate *t)
{
	unsigned long page = own_page(t, F_PAGES);

	if (model_shmem_truncate(st.f, page, page + 1))
		fail(t, "truncate failed", page);
	st.f_cur[page] = 0;
}

static void zap(struct tstate *t)
{
	bool child = t->c && rnd(t, 2);
	struct model_as *as = child ? t->c : t->p;
	struct sig *rec = child ? t->cs : t->ps;
	unsigned long first = rnd(t, P_PAGES), nr = 1 + rnd(t, 40);

	/*
	 * Half the time an aligned block of the hot window: its next writes
	 * fault in a large folio again, for fork to share and reclaim to split.
	 */
	if (!child && rnd(t, 2)) {
		first = atomic_load_relaxed(&st.hot[t->id]) + rnd(t, HOT_PAGES / 16) * 16;
		nr = 16;
	}
	nr = min(nr, P_PAGES - first);
	if (model_madvise(as, mt_addr(as, first), nr * PAGE_SIZE, MODEL_MADV_DONTNEED))
		fail(t, "zap failed", first);
	for (unsigned long i = first; i < first + nr; i++)
		rec[i] = (struct sig){0, 0};
}

/*
 * MADV_PAGEOUT (references ignored: hot pages go too) of a range of this
 * thread's spaces, of the shared one, or of another thread's private space
 * while its owner writes it (as kswapd or process_madvise would): large
 * folios there are split under the owner's write faults.
 */
static void pageout(struct tstate *t)
{
	/* Aimed at the large swap-in: the shared space half the time. */
	unsigned choice = op_mix == op_weight_swapin && rnd(t, 2) ? 3 : (unsigned)rnd(t, 4);
	int other = (int)rnd(t, st.nr_threads);
	struct model_as *as = choice == 0	    ? t->p
			      : choice == 1 && t->c ? t->c
			      : choice == 2	    ? st.ts[other]->p
						    : st.s;
	unsigned long pages = as == st.s ? S_PAGES : P_PAGES;
	unsigned long first = rnd(t, pages), nr = 1 + rnd(t, 64);
	long r;

	if (choice == 2) {
		first = atomic_load_relaxed(&st.hot[other]);
		nr = HOT_PAGES;
	}
	nr = min(nr, pages - first);
	r = model_madvise(as, mt_addr(as, first), nr * PAGE_SIZE, MODEL_MADV_PAGEOUT);
	if (r < 0)
		fail(t, "pageout failed", (unsigned long)-r);
}

static void do_fork(struct tstate *t)
{
	child_exit(t);
	if (model_fork(t->p, &t->c)) {
		fail(t, "fork failed", 0);
		return;
	}
	memcpy(t->cs, t->ps, sizeof(t->cs));
}

static int pick_device(struct tstate *t)
{
	int type;

	pthread_mutex_lock(&st.dev_lock);
	type = st.dev[rnd(t, 2)];
	if (type < 0)
		type = st.dev[0] >= 0 ? st.dev[0] : st.dev[1];
	pthread_mutex_unlock(&st.dev_lock);
	return type;
}

static void hibernate(struct tstate *t)
{
	int type = pick_device(t);
	void *pages[4];
	struct hib_image img;
	unsigned long freed;
	int err;

	for (int i = 0; i < 4; i++) {
		sig_fill(t->hib[i], 200 + t->id, i, ++t->version);
		pages[i] = t->hib[i];
	}
	/* The device may be on its way out: then it has no slot to give. */
	err = hib_image_write(st.sw, (unsigned)type, pages, 4, &img);
	if (err && err != -ENOSPC && err != -EINVAL)
		fail(t, "hibernation write failed", (unsigned long)-err);
	for (unsigned long i = 0; !err && i < img.nr; i++)
		if (hib_image_read(&img, i, t->buf) || memcmp(t->buf, t->hib[i], PAGE_SIZE))
			fail(t, "hibernation image read back wrong", i);
	freed = hib_image_release(&img);
	if (!err && freed != 4)
		fail(t, "hibernation slots not all freed", freed);
}

/*
 * Slot 0: compressed RAM (SYNC_IO: large swap-in). Slot 1: plain RAM with
 * readahead and discard (emptied clusters are discarded before reuse).
 */
static int swapon_kind(int slot)
{
	struct swap_dev *dev;
	int type, err;

	if (slot == 0)
		err = zram_create(&dev, st.sw->arena, st.dev_pages, NULL);
	else
		err = ramdev_create(&dev, st.sw->arena, st.dev_pages, SWAP_DEV_DISCARD);
	if (err)
		return err;
	type = model_swapon_dev(st.m, dev, -1);
	if (type >= 0 && slot == 1)
		st.ram[slot] = dev;
	return type;
}

static void swapoff_slot(struct tstate *t, int slot)
{
	int err;

	if (st.ram[slot])
		st.discarded += ramdev_discarded(st.ram[slot]);
	err = model_swapoff(st.m, (unsigned)st.dev[slot], NULL, NULL);
	if (err) {
		if (st.ram[slot])
			st.discarded -= ramdev_discarded(st.ram[slot]);
		if (t)
			fail(t, "swapoff failed", (unsigned long)-err);
		else
			test_fail(__FILE__, __LINE__, "swapoff failed: %d", err);
		return;
	}
	st.dev[slot] = -1;
	st.ram[slot] = NULL;
}

/* Swap a device off if both are on, else swap the missing one on. */
static void swap_cycle(struct tstate *t)
{
	int slot = (int)rnd(t, 2);

	pthread_mutex_lock(&st.dev_lock);
	if (st.dev[slot] >= 0 && st.dev[!slot] >= 0) {
		swapoff_slot(t, slot);
	} else {
		slot = st.dev[0] < 0 ? 0 : 1;
		st.dev[slot] = swapon_kind(slot);
		if (st.dev[slot] < 0)
			fail(t, "swapon failed", (unsigned long)-st.dev[slot]);
	}
	pthread_mutex_unlock(&st.dev_lock);
}

static enum op pick_op(struct tstate *t)
{
	unsigned total = 0, r;

	for (int i = 0; i < NR_OPS; i++)
		total += op_mix[i];
	r = (unsigned)rnd(t, total);
	for (int i = 0; i < NR_OPS; i++) {
		if (r < op_mix[i])
			return (enum op)i;
		r -= op_mix[i];
	}
	return OP_READ;
}

static void run_op(struct tstate *t, enum op op)
{
	if ((op == OP_CHILD_WRITE || op == OP_CHILD_READ || op == OP_EXIT_CHILD) && !t->c)
		op = OP_FORK;
	t->ops[op]++;
	switch (op) {
	case OP_WRITE:
		as_write(t, t->p, t->ps, t->id);
		break;
	case OP_READ:
		as_read(t, t->p, t->ps);
		break;
	case OP_CHILD_WRITE:
		as_write(t, t->c, t->cs, CHILD_OWNER + t->id);
		break;
	case OP_CHILD_READ:
		as_read(t, t->c, t->cs);
		break;
	case OP_SHARED_WRITE:
		shared_write(t);
		break;
	case OP_SHARED_READ:
		shared_read(t);
		break;
	case OP_SHARED_ZAP:
		shared_zap(t);
		break;
	case OP_SNAP_READ:
		snap_read(t);
		break;
	case OP_SHMEM_WRITE:
		shmem_write_page(t);
		break;
	case OP_SHMEM_READ:
		shmem_read_page(t);
		break;
	case OP_SHMEM_TRUNCATE:
		shmem_truncate_page(t);
		break;
	case OP_ZAP:
		zap(t);
		break;
	case OP_PAGEOUT:
		pageout(t);
		break;
	case OP_FORK:
		do_fork(t);
		break;
	case OP_EXIT_CHILD:
		child_exit(t);
		break;
	case OP_FORK_SHARED:
		fork_shared(t);
		break;
	case OP_HIBERNATE:
		hibernate(t);
		break;
	case OP_SWAP_CYCLE:
		swap_cycle(t);
		break;
	case NR_OPS:
		break;
	}
}

/* ---- the audit: the world at rest against every count ---- */

#define FOLIO_HASH (1 << 16)

struct audit {
	unsigned *refs[MAX_SWAPFILES]; /* entries per slot */
	struct {
		struct folio *folio;
		int maps;
	} folios[FOLIO_HASH];
};

static void audit_map(struct audit *a, struct folio *folio)
{
	unsigned long h = ((unsigned long)folio >> 6) * 0x9e3779b97f4a7c15ULL;

	for (unsigned long i = h >> 48;; i = (i + 1) % FOLIO_HASH) {
		if (!a->folios[i].folio)
			a->folios[i].folio = folio;
		if (a->folios[i].folio == folio) {
			a->folios[i].maps++;
			return;
		}
	}
}

static void audit_entry(struct audit *a, pte_t pte)
{
	swp_entry_t entry = pte_to_swp_entry(pte);
	struct swap_info_struct *si = st.sw->swap_info[swp_type(entry)];

	if (!a->refs[swp_type(entry)] || swp_offset(entry) >= si->max) {
		test_fail(__FILE__, __LINE__, "entry %#lx of a device not in service", entry.val);
		return;
	}
	a->refs[swp_type(entry)][swp_offset(entry)]++;
}

static void audit_as(struct audit *a, struct model_as *as)
{
	struct mm_struct *mm = model_as_mm(as);
	unsigned long present = 0, swapped = 0;

	for (unsigned long addr = mm->start; addr < mm->end; addr += PMD_SIZE) {
		struct ulock *ptl;
		pte_t *ptep = mm->ops->pte_offset_lock(mm, addr, false, &ptl);

		if (!ptep)
			continue;
		for (unsigned i = 0; i < PTRS_PER_PTE; i++) {
			pte_t pte = ptep_get(ptep + i);

			if (pte_present(pte)) {
				audit_map(a, pte_folio(pte));
				present++;
			} else if (is_swap_pte(pte)) {
				audit_entry(a, pte);
				swapped++;
			}
		}
		ulock_unlock(ptl);
	}
	CHECK_EQ(model_as_resident(as), present);
	CHECK_EQ(model_as_swapped(as), swapped);
}

static void audit(void)
{
	struct audit *a = calloc(1, sizeof(*a));
	struct shmem_file *f = model_shmem_file(st.f);
	struct model_info info;

	CHECK(!swap_check_all(st.sw));
	for (unsigned type = 0; type < MAX_SWAPFILES; type++) {
		struct swap_info_struct *si = st.sw->swap_info[type];

		if (si && (si->flags & SWP_USED))
			a->refs[type] = calloc(si->max, sizeof(unsigned));
	}
	audit_as(a, st.s);
	for (int i = 0; i < st.nr_threads; i++) {
		audit_as(a, st.ts[i]->p);
		if (st.ts[i]->c)
			audit_as(a, st.ts[i]->c);
		if (st.ts[i]->snap)
			audit_as(a, st.ts[i]->snap);
	}
	for (unsigned long i = 0; i < f->nr_pages; i++)
		if (is_swap_pte(f->slots[i]))
			audit_entry(a, f->slots[i]);
	for (unsigned type = 0; type < MAX_SWAPFILES; type++) {
		struct swap_info_struct *si = st.sw->swap_info[type];

		for (pgoff_t off = 1; a->refs[type] && off < si->max; off++) {
			int count = swp_swapcount(st.sw, swp_entry(type, off));

			if (count != (int)a->refs[type][off])
				test_fail(__FILE__, __LINE__,
					  "slot %u:%lu has count %d, %u entries", type, off, count,
					  a->refs[type][off]);
		}
		free(a->refs[type]);
	}
	for (unsigned long i = 0; i < FOLIO_HASH; i++) {
		struct folio *folio = a->folios[i].folio;

		if (folio && folio_mapcount(folio) != a->folios[i].maps)
			test_fail(__FILE__, __LINE__, "folio %p: mapcount %d, %d entries",
				  (void *)folio, folio_mapcount(folio), a->folios[i].maps);
	}
	model_info(st.m, &info);
	CHECK_EQ(info.active + info.inactive, info.resident);
	free(a);
}

/* ---- threads ---- */

struct run {
	struct tstate *t;
	double seconds;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Thread 0 decides when all stop for an audit, and when the run ends. */
static void *worker(void *arg)
{
	struct run *r = arg;
	struct tstate *t = r->t;
	double start = now(), next_audit = start + 0.25, next_phase = start + 1;
	unsigned phase = 0;

	for (;;) {
		/* Each second, the delays aim at another set of windows. */
		if (t->id == 0 && now() >= next_phase) {
			race_inject_phase(++phase);
			next_phase += 1;
		}
		if (t->id == 0 && now() >= next_audit) {
			if (now() - start >= r->seconds)
				atomic_store_relaxed(&st.stop, 1);
			atomic_store_release(&st.quiesce, 1);
			next_audit = now() + 0.25;
		}
		if (atomic_load_acquire(&st.quiesce)) {
			pthread_barrier_wait(&st.barrier);
			if (t->id == 0) {
				audit();
				atomic_store_relaxed(&st.quiesce, 0);
			}
			pthread_barrier_wait(&st.barrier);
			if (atomic_load_relaxed(&st.stop))
				return NULL;
		}
		run_op(t, pick_op(t));
	}
}

struct options {
	int threads;
	double seconds;
	unsigned intensity; /* race-point delays, 0: off */
	const char *points; /* only points containing this, NULL: all */
	unsigned long dev_pages;
};

static void parse_args(struct options *o)
{
	for (int i = 0; i + 1 < test_argc; i++) {
		if (!strcmp(test_argv[i], "-T"))
			o->threads = atoi(test_argv[++i]);
		else if (!strcmp(test_argv[i], "-S"))
			o->seconds = atof(test_argv[++i]);
		else if (!strcmp(test_argv[i], "-R"))
			o->intensity = (unsigned)atoi(test_argv[++i]);
		else if (!strcmp(test_argv[i], "-P"))
			o->points = test_argv[++i];
		else if (!strcmp(test_argv[i], "-D"))
			o->dev_pages = strtoul(test_argv[++i], NULL, 0);
	}
	o->threads = clamp(o->threads, 1, MAX_T);
	o->intensity = min(o->intensity, 3U);
	/* A few clusters at least, each device able to hold one order-4 folio. */
	o->dev_pages = max(o->dev_pages, 2UL * 512 + 1);
}

static void report(void)
{
	unsigned long ops[NR_OPS] = {0}, total = 0;

	for (int i = 0; i < st.nr_threads; i++)
		for (int o = 0; o < NR_OPS; o++)
			ops[o] += st.ts[i]->ops[o];
	printf("# ops:");
	for (int o = 0; o < NR_OPS; o++) {
		printf(" %s=%lu", op_names[o], ops[o]);
		total += ops[o];
	}
	printf(" total=%lu\n#", total);
	for (int e = 0; e < NR_VM_EVENT_ITEMS; e++)
		if (model_stat(st.m, (enum vm_event_item)e))
			printf(" %s=%lu", vm_event_names[e],
			       model_stat(st.m, (enum vm_event_item)e));
	printf("\n# RAM device slots discarded: %lu\n", st.discarded);
}

TEST(stress_mm)
{
	struct uswap *sw = t_engine();
	size_t arena_base = arena_in_use(sw->arena);
	struct options o = {
		.threads = 2,
		.seconds = 3,
		.intensity = race_points_available() ? 3 : 0,
		.dev_pages = DEV_PAGES,
	};
	struct run runs[MAX_T];
	pthread_t tids[MAX_T];
	int threads;

	parse_args(&o);
	threads = o.threads;
	printf("# %d threads, %.1f s, devices of %lu slots\n", threads, o.seconds, o.dev_pages);
	memset(&st, 0, sizeof(st));
	st.sw = sw;
	st.nr_threads = threads;
	st.dev_pages = o.dev_pages;
	REQUIRE(!model_create(&st.m, sw));
	pthread_mutex_init(&st.dev_lock, NULL);
	st.dev[0] = swapon_kind(0);
	st.dev[1] = swapon_kind(1);
	REQUIRE(st.dev[0] >= 0 && st.dev[1] >= 0);
	model_set_budget(st.m, BUDGET);
	REQUIRE(!model_as_create(st.m, S_PAGES * PAGE_SIZE, 4, &st.s));
	REQUIRE(!model_shmem_create(st.m, F_PAGES, &st.f));
	pthread_barrier_init(&st.barrier, NULL, (unsigned)threads);
	for (int i = 0; i < threads; i++) {
		struct tstate *t = calloc(1, sizeof(*t));

		t->id = i;
		t->rng = test_seed ^ ((uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL);
		REQUIRE(!model_as_create(st.m, P_PAGES * PAGE_SIZE, 4, &t->p));
		st.ts[i] = t;
		runs[i] = (struct run){t, o.seconds};
	}
	/* The windows delayed, and how often, follow from the run's seed. */
	if (t_race_inject(o.intensity, o.points))
		return;
	op_mix = o.points && strstr(o.points, "swapin_large") ? op_weight_swapin : op_weight;
	for (int i = 0; i < threads; i++)
		pthread_create(&tids[i], NULL, worker, &runs[i]);
	for (int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	race_inject_stop();
	report();
	if (o.intensity)
		race_inject_report(stdout);

	/* Everything back: every page checked once more, then torn down. */
	for (int i = 0; i < threads; i++) {
		struct tstate *t = st.ts[i];

		for (unsigned long p = 0; p < P_PAGES; p++) {
			CHECK(as_check(t, t->p, p, t->ps[p]));
			if (t->c)
				CHECK(as_check(t, t->c, p, t->cs[p]));
		}
		snap_exit(t);
		child_exit(t);
		model_exit(t->p);
		free(t);
	}
	model_exit(st.s);
	model_shmem_destroy(st.f);
	for (int slot = 0; slot < 2; slot++)
		if (st.dev[slot] >= 0)
			swapoff_slot(NULL, slot);
	printf("# RAM device slots discarded, all told: %lu\n", st.discarded);
	model_destroy(st.m);
	CHECK_EQ(pool_live(&sw->folio_pool), 0);
	/* Device descriptors stay for the engine's life (one per type ever used). */
	for (unsigned type = 0; type < MAX_SWAPFILES; type++)
		if (sw->swap_info[type])
			arena_base += arena_alloc_size(sizeof(struct swap_info_struct));
	CHECK_EQ(arena_in_use(sw->arena), arena_base);
	pthread_barrier_destroy(&st.barrier);
	pthread_mutex_destroy(&st.dev_lock);
}
