// SPDX-License-Identifier: MIT
/*
 * wl_bgsave.c - the seed's Redis-with-BGSAVE shape
 * (docs/kernel-reference.md §11): an address space of 1 KiB values, four
 * to a page, under a budget, and
 *
 *   load     the parent writes every value (version 1)
 *   serve    the parent alone serves random requests, 10% of them writes
 *            (a write stores the next version of the value)
 *   save     the parent forks; a child thread reads every page of the
 *            child address space once, in order, checking each value
 *            against the versions at the fork (copy-on-write must keep the
 *            parent's later writes out of its view), while the parent goes
 *            on serving; the child then exits
 *   verify   the parent reads every value once and checks it
 *
 * Swapped pages are shared by parent and child after the fork (count 2):
 * whichever side faults first brings the folio into the swap cache, where
 * the other side finds it. Those hits are shared_cache_hits: swap-cache
 * hits (swpin_cache_hit) during the save, less readahead hits (swap_ra_hit).
 * During serve the same difference (cache_hits_without_save) shows the
 * baseline, which is about 0.
 *
 * Lockstep runs (the default) alternate strictly: the parent serves
 * OPS_PER_PAGE * SAVE_TURN_PAGES requests, then the child reads
 * SAVE_TURN_PAGES pages, and so on, every thread on one CPU, so a seed
 * gives the same counts every time; the parent's rate during the save is
 * then per second of its own turns, and hits are split by the side that
 * faulted. Concurrent runs let both run freely; the parent's rate is then
 * per second of the save's wall time. The same rates per CPU second of the
 * parent thread are reported too: on a machine shared with other work they
 * vary much less from run to run than rates per wall-clock second.
 *
 * Owns: the parent's bookkeeping (versions, the snapshot at fork), the
 * child thread. Locking: the parent's fields are the parent thread's; the
 * child reads only the snapshot (written before it starts) and its own
 * fields; save_done and abort are atomics; the lockstep scheduler orders
 * the two in reproducible runs.
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

#define VALUE_SIZE	1024
#define VALUES_PER_PAGE (PAGE_SIZE / VALUE_SIZE)
#define WRITE_PERCENT	10
#define SAVE_TURN_PAGES 16 /* child pages per lockstep turn */
#define OPS_PER_PAGE	4  /* parent requests per child page in lockstep */
#define PROGRESS_OPS	64 /* requests between progress updates */

enum { PARENT, CHILD };

struct bgsave {
	struct bench_ctx *ctx;
	struct model_as *parent, *child;
	unsigned long nr_keys, nr_pages;
	uint32_t *version;  /* the parent's value versions */
	uint32_t *snapshot; /* the versions at the fork: the child's view */
	uint64_t rng;	    /* the parent's random stream */
	struct bench_lockstep ls;
	bool save_done;		   /* atomic: the child is finished */
	bool abort;		   /* atomic: the parent failed, the child stops */
	int child_err;		   /* the child's, read after joining it */
	unsigned long child_hits;  /* the child's cache hits (lockstep) */
	unsigned long parent_hits; /* the parent's cache hits in the save (lockstep) */
	double parent_busy;	   /* seconds of the parent's turns in the save */
	double parent_cpu;	   /* CPU seconds of the parent in the save */
	double fork_ms;		   /* how long model_fork() took */
	unsigned long save_ops;	   /* parent requests during the save */
};

static unsigned long cache_hits(struct bench_ctx *ctx)
{
	return model_stat(ctx->m, swpin_cache_hit) - model_stat(ctx->m, swap_ra_hit);
}

static unsigned long key_addr(struct model_as *as, unsigned long key)
{
	return model_as_start(as) + key * VALUE_SIZE;
}

/* One request: read a random value and check it, or write its next version. */
static int parent_request(struct bgsave *b, uint64_t *buf)
{
	unsigned long key = bench_rand_below(&b->rng, b->nr_keys);
	bool write = bench_rand_below(&b->rng, 100) < WRITE_PERCENT;
	int err;

	if (write) {
		bench_fill(buf, VALUE_SIZE, key, ++b->version[key]);
		return model_write(b->parent, key_addr(b->parent, key), buf, VALUE_SIZE);
	}
	err = model_read(b->parent, key_addr(b->parent, key), buf, VALUE_SIZE);
	if (!err && !bench_check(buf, VALUE_SIZE, key, b->version[key]))
		bench_verify_fail(b->ctx);
	return err;
}

/*
 * Serve @n requests. They are units of the phase only when the parent is
 * alone; during the save the child's pages are.
 */
static int parent_serve(struct bgsave *b, unsigned long n, bool phase_units)
{
	uint64_t buf[VALUE_SIZE / 8];
	int err = 0;

	for (unsigned long i = 0; i < n && !err; i++) {
		unsigned long k = i % PROGRESS_OPS + 1;

		err = parent_request(b, buf);
		if (k == PROGRESS_OPS || i + 1 == n)
			bench_progress(b->ctx, k, k * VALUE_SIZE, phase_units ? k : 0);
	}
	return err;
}

/* Read page @page of @as and check its values against @versions. */
static int check_page(struct bgsave *b, struct model_as *as, unsigned long page,
		      const uint32_t *versions)
{
	uint64_t buf[PAGE_SIZE / 8];
	int err = model_read(as, model_as_start(as) + page * PAGE_SIZE, buf, PAGE_SIZE);

	for (unsigned v = 0; v < VALUES_PER_PAGE && !err; v++) {
		unsigned long key = page * VALUES_PER_PAGE + v;

		if (!bench_check(buf + v * (VALUE_SIZE / 8), VALUE_SIZE, key, versions[key]))
			bench_verify_fail(b->ctx);
	}
	return err;
}

static int bgsave_load(struct bgsave *b)
{
	uint64_t buf[PAGE_SIZE / 8];
	int err = 0;

	bench_phase(b->ctx, "load", b->nr_pages);
	for (unsigned long page = 0; page < b->nr_pages && !err; page++) {
		for (unsigned v = 0; v < VALUES_PER_PAGE; v++) {
			unsigned long key = page * VALUES_PER_PAGE + v;

			b->version[key] = 1;
			bench_fill(buf + v * (VALUE_SIZE / 8), VALUE_SIZE, key, 1);
		}
		err = model_write(b->parent, model_as_start(b->parent) + page * PAGE_SIZE, buf,
				  PAGE_SIZE);
		bench_progress(b->ctx, 0, PAGE_SIZE, 1);
	}
	return err;
}

/* The child: read every page once, in order, as the snapshot says it is. */
static void *child_save(struct model_as *as, void *arg)
{
	struct bgsave *b = arg;
	struct bench_ctx *ctx = b->ctx;
	int err = 0;

	bench_pin(ctx);
	lockstep_begin(&b->ls, CHILD);
	for (unsigned long page = 0; page < b->nr_pages && !err;) {
		unsigned long n = min(b->nr_pages - page, (unsigned long)SAVE_TURN_PAGES);
		unsigned long hits = cache_hits(ctx);

		if (__atomic_load_n(&b->abort, __ATOMIC_ACQUIRE))
			break;
		for (unsigned long k = 0; k < n && !err; k++)
			err = check_page(b, as, page + k, b->snapshot);
		b->child_hits += cache_hits(ctx) - hits;
		page += n;
		bench_progress(ctx, 0, n * PAGE_SIZE, n);
		if (page < b->nr_pages)
			lockstep_yield(&b->ls, CHILD);
	}
	b->child_err = err;
	__atomic_store_n(&b->save_done, true, __ATOMIC_RELEASE);
	lockstep_end(&b->ls, CHILD);
	return NULL;
}

/* The parent's side of the save: serve until the child is done. */
static int parent_during_save(struct bgsave *b)
{
	unsigned long batch = OPS_PER_PAGE * SAVE_TURN_PAGES;
	int err = 0;

	while (!__atomic_load_n(&b->save_done, __ATOMIC_ACQUIRE) && !err) {
		unsigned long hits = cache_hits(b->ctx);
		double t0 = bench_now(), c0 = bench_thread_cpu();

		err = parent_serve(b, batch, false);
		b->parent_busy += bench_now() - t0;
		b->parent_cpu += bench_thread_cpu() - c0;
		b->parent_hits += cache_hits(b->ctx) - hits;
		b->save_ops += batch;
		lockstep_yield(&b->ls, PARENT);
	}
	return err;
}

static int bgsave_save(struct bgsave *b, double *seconds)
{
	struct bench_ctx *ctx = b->ctx;
	struct model_thread *t;
	double t0;
	int err;

	t0 = bench_now();
	err = model_fork(b->parent, &b->child);
	if (err)
		return err;
	b->fork_ms = (bench_now() - t0) * 1e3;
	memcpy(b->snapshot, b->version, b->nr_keys * sizeof(*b->version));

	lockstep_init(&b->ls, 2, !ctx->o->concurrent);
	bench_phase(ctx, "save", b->nr_pages);
	t0 = bench_now();
	err = model_spawn(b->child, child_save, b, &t);
	if (err) {
		lockstep_destroy(&b->ls);
		return err;
	}
	lockstep_begin(&b->ls, PARENT);
	err = parent_during_save(b);
	if (err)
		__atomic_store_n(&b->abort, true, __ATOMIC_RELEASE);
	lockstep_end(&b->ls, PARENT);
	model_join(t);
	*seconds = bench_now() - t0;
	lockstep_destroy(&b->ls);
	model_exit(b->child);
	b->child = NULL;
	return err ? err : b->child_err;
}

static int bgsave_verify(struct bgsave *b)
{
	int err = 0;

	bench_phase(b->ctx, "verify", b->nr_pages);
	for (unsigned long page = 0; page < b->nr_pages && !err; page++) {
		err = check_page(b, b->parent, page, b->version);
		bench_progress(b->ctx, 0, PAGE_SIZE, 1);
	}
	return err;
}

/* What the phases measured, for the report. */
struct bgsave_figures {
	double serve_s, save_s;
	double serve_cpu;		     /* the parent's CPU seconds in serve */
	unsigned long serve_hits, save_hits; /* cache_hits() during each */
	unsigned long serve_in, serve_out;   /* pswpin, pswpout during serve */
	unsigned long save_in, save_out;     /* pswpin, pswpout during the save */
};

static void bgsave_report(struct bgsave *b, const struct bgsave_figures *f)
{
	struct bench_ctx *ctx = b->ctx;
	bool lockstep = !ctx->o->concurrent;
	double serve_rate = (double)(OPS_PER_PAGE * b->nr_pages) / f->serve_s;
	double save_rate = (double)b->save_ops / (lockstep ? b->parent_busy : f->save_s);
	double serve_cpu_rate = (double)(OPS_PER_PAGE * b->nr_pages) / f->serve_cpu;
	double save_cpu_rate = (double)b->save_ops / b->parent_cpu;

	bench_figure(ctx, "values", "1 KiB values", (double)b->nr_keys, "", 0);
	bench_figure(ctx, "parent_ops_per_s", "parent requests/s, no save", serve_rate, "ops/s", 0);
	bench_figure(ctx, "parent_ops_per_s_during_save",
		     lockstep ? "parent requests/s during save (own turns)"
			      : "parent requests/s during save",
		     save_rate, "ops/s", 0);
	bench_figure(ctx, "save_change_pct", "change during save",
		     (save_rate / serve_rate - 1) * 100, "%", 1);
	bench_figure(ctx, "parent_ops_per_cpu_s", "parent requests per CPU second, no save",
		     serve_cpu_rate, "ops/s", 0);
	bench_figure(ctx, "parent_ops_per_cpu_s_during_save",
		     "parent requests per CPU second, during save", save_cpu_rate, "ops/s", 0);
	bench_figure(ctx, "save_change_cpu_pct", "change during save, per CPU second",
		     (save_cpu_rate / serve_cpu_rate - 1) * 100, "%", 1);
	bench_figure(ctx, "fork_ms", "fork", b->fork_ms, "ms", 2);
	bench_figure(ctx, "save_s", "save (child reads every page)", f->save_s, "s", 2);
	bench_figure(ctx, "parent_ops_during_save", "parent requests during save",
		     (double)b->save_ops, "", 0);
	bench_figure(ctx, "shared_cache_hits", "swap-cache hits on shared pages",
		     (double)f->save_hits, "", 0);
	if (lockstep) {
		bench_figure(ctx, "child_cache_hits", "  found by the child", (double)b->child_hits,
			     "", 0);
		bench_figure(ctx, "parent_cache_hits", "  found by the parent",
			     (double)b->parent_hits, "", 0);
	}
	bench_figure(ctx, "cache_hits_without_save", "swap-cache hits, no save",
		     (double)f->serve_hits, "", 0);
	bench_figure(ctx, "pswpin_without_save", "swap-ins, no save", (double)f->serve_in, "", 0);
	bench_figure(ctx, "pswpout_without_save", "swap-outs, no save", (double)f->serve_out, "",
		     0);
	bench_figure(ctx, "pswpin_during_save", "swap-ins during save", (double)f->save_in, "", 0);
	bench_figure(ctx, "pswpout_during_save", "swap-outs during save", (double)f->save_out, "",
		     0);
	bench_figure(ctx, "pswpin", "swap-ins (pages)", (double)model_stat(ctx->m, pswpin), "", 0);
	bench_figure(ctx, "pswpout", "swap-outs (pages)", (double)model_stat(ctx->m, pswpout), "",
		     0);
}

static int bgsave_run(struct bench_ctx *ctx)
{
	const struct bench_opts *o = ctx->o;
	struct bgsave b = {.ctx = ctx};
	struct bgsave_figures f = {0};
	unsigned long hits0, in0, out0;
	double t0;
	int err;

	b.nr_pages = o->size / PAGE_SIZE;
	b.nr_keys = b.nr_pages * VALUES_PER_PAGE;
	b.rng = bench_stream(o->seed, 0);
	b.version = calloc(b.nr_keys, sizeof(*b.version));
	b.snapshot = calloc(b.nr_keys, sizeof(*b.snapshot));
	err = b.version && b.snapshot ? 0 : -ENOMEM;
	if (!err)
		err = model_as_create(ctx->m, b.nr_pages * PAGE_SIZE, 0, &b.parent);
	if (err)
		goto out;
	bench_pin(ctx);
	err = bgsave_load(&b);
	if (err)
		goto out;

	bench_phase(ctx, "serve", OPS_PER_PAGE * b.nr_pages);
	hits0 = cache_hits(ctx);
	in0 = model_stat(ctx->m, pswpin);
	out0 = model_stat(ctx->m, pswpout);
	t0 = bench_now();
	f.serve_cpu = bench_thread_cpu();
	err = parent_serve(&b, OPS_PER_PAGE * b.nr_pages, true);
	f.serve_s = bench_now() - t0;
	f.serve_cpu = bench_thread_cpu() - f.serve_cpu;
	f.serve_hits = cache_hits(ctx) - hits0;
	f.serve_in = model_stat(ctx->m, pswpin) - in0;
	f.serve_out = model_stat(ctx->m, pswpout) - out0;
	if (err)
		goto out;

	hits0 = cache_hits(ctx);
	in0 = model_stat(ctx->m, pswpin);
	out0 = model_stat(ctx->m, pswpout);
	err = bgsave_save(&b, &f.save_s);
	f.save_hits = cache_hits(ctx) - hits0;
	f.save_in = model_stat(ctx->m, pswpin) - in0;
	f.save_out = model_stat(ctx->m, pswpout) - out0;
	if (err)
		goto out;
	err = bgsave_verify(&b);
	if (!err)
		bgsave_report(&b, &f);
out:
	free(b.version);
	free(b.snapshot);
	return err;
}

static int bgsave_check(struct bench_opts *o)
{
	if (!o->threads)
		o->threads = 1;
	if (o->threads != 1)
		return cli_usage_error("bgsave runs one parent thread and one saving child, "
				       "like Redis: --threads must be 1");
	return 0;
}

const struct bench_workload bench_bgsave = {
	.name = "bgsave",
	.summary = "a Redis-like parent serving requests while a forked child saves",
	.rate_unit = "ops/s",
	.check = bgsave_check,
	.run = bgsave_run,
};
