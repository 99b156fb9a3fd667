// SPDX-License-Identifier: MIT
/*
 * wl_usemem.c - the usemem workload, after vm-scalability's usemem: N
 * threads each own SIZE/N bytes of one address space and touch every page
 * of it, under a budget that makes the pages go to swap and come back:
 *
 *   seq-write   write every page in order (version 1)
 *   seq-read    read every page in order, check it
 *   rand-write  write SIZE/N bytes of pages picked at random (version + 1)
 *   rand-read   read as many pages picked at random, check each
 *
 * Each pass reports MB/s over all threads. Pages hold bench_fill() contents
 * for (page number, version), so every read is checked in full.
 *
 * Owns: the threads and their bookkeeping (page versions, random streams).
 * Locking: each thread touches only its own pages and bookkeeping; the
 * lockstep scheduler orders the threads in reproducible runs.
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/model.h"

#define USEMEM_TURN_PAGES 64 /* pages a thread touches per lockstep turn */

enum usemem_pass { SEQ_WRITE, SEQ_READ, RAND_WRITE, RAND_READ, NR_PASSES };

static const struct {
	const char *phase, *name, *label;
	bool write, random;
} passes[NR_PASSES] = {
	[SEQ_WRITE] = {"seq-write", "seq_write_mb_s", "sequential write", true, false},
	[SEQ_READ] = {"seq-read", "seq_read_mb_s", "sequential read", false, false},
	[RAND_WRITE] = {"rand-write", "rand_write_mb_s", "random write", true, true},
	[RAND_READ] = {"rand-read", "rand_read_mb_s", "random read", false, true},
};

struct usemem_thread {
	struct bench_ctx *ctx;
	struct bench_lockstep *ls;
	struct model_as *as;
	struct model_thread *t;
	unsigned id;
	enum usemem_pass pass;
	unsigned long first; /* first page index of this thread's share */
	unsigned long nr;    /* pages in the share */
	uint32_t *version;   /* per page of the share: its contents' version */
	uint64_t rng;	     /* this thread's random stream */
	int err;
};

/* Touch page @i of the thread's share as the pass says. Return: 0 or -errno. */
static int usemem_touch(struct usemem_thread *ut, unsigned long i, uint64_t *buf)
{
	unsigned long page = ut->first + i;
	unsigned long addr = model_as_start(ut->as) + page * PAGE_SIZE;
	int err;

	if (passes[ut->pass].write) {
		bench_fill(buf, PAGE_SIZE, page, ++ut->version[i]);
		return model_write(ut->as, addr, buf, PAGE_SIZE);
	}
	err = model_read(ut->as, addr, buf, PAGE_SIZE);
	if (!err && !bench_check(buf, PAGE_SIZE, page, ut->version[i]))
		bench_verify_fail(ut->ctx);
	return err;
}

static void *usemem_thread_main(struct model_as *as, void *arg)
{
	struct usemem_thread *ut = arg;
	uint64_t buf[PAGE_SIZE / 8];

	bench_pin(ut->ctx);
	lockstep_begin(ut->ls, ut->id);
	for (unsigned long done = 0; done < ut->nr && !ut->err;) {
		unsigned long n = min(ut->nr - done, (unsigned long)USEMEM_TURN_PAGES);

		for (unsigned long k = 0; k < n && !ut->err; k++) {
			unsigned long i =
				passes[ut->pass].random ? random_below(&ut->rng, ut->nr) : done + k;

			ut->err = usemem_touch(ut, i, buf);
		}
		done += n;
		bench_progress(ut->ctx, n, n * PAGE_SIZE, n);
		if (done < ut->nr)
			lockstep_yield(ut->ls, ut->id);
	}
	lockstep_end(ut->ls, ut->id);
	return NULL;
}

/* One pass on every thread. Return: 0 or the first thread's error. */
static int usemem_pass(struct bench_ctx *ctx, struct usemem_thread *uts, enum usemem_pass pass,
		       double *seconds)
{
	unsigned n = (unsigned)ctx->o->threads, started = 0;
	struct bench_lockstep ls;
	double t0;
	int err = 0;

	lockstep_init(&ls, n, !ctx->o->concurrent);
	bench_phase(ctx, passes[pass].phase, uts[0].nr * n);
	t0 = bench_now();
	for (; started < n; started++) {
		uts[started].pass = pass;
		uts[started].ls = &ls;
		err = model_spawn(uts[started].as, usemem_thread_main, &uts[started],
				  &uts[started].t);
		if (err)
			break;
	}
	if (err) {
		/* Threads that never start leave the turn order at once. */
		for (unsigned i = started; i < n; i++)
			lockstep_end(&ls, i);
	}
	for (unsigned i = 0; i < started; i++) {
		model_join(uts[i].t);
		if (!err)
			err = uts[i].err;
	}
	*seconds = bench_now() - t0;
	lockstep_destroy(&ls);
	return err;
}

static int usemem_run(struct bench_ctx *ctx)
{
	const struct bench_opts *o = ctx->o;
	unsigned long per_thread = o->size / PAGE_SIZE / o->threads;
	struct usemem_thread *uts;
	struct model_as *as;
	int err;

	err = model_as_create(ctx->m, per_thread * o->threads * PAGE_SIZE, 0, &as);
	if (err)
		return err;
	uts = calloc(o->threads, sizeof(*uts));
	if (!uts)
		return -ENOMEM;
	for (unsigned i = 0; i < o->threads; i++) {
		uts[i] = (struct usemem_thread){
			.ctx = ctx,
			.as = as,
			.id = i,
			.first = i * per_thread,
			.nr = per_thread,
			.version = calloc(per_thread, sizeof(uint32_t)),
			.rng = random_stream(o->seed, i),
		};
		if (!uts[i].version)
			err = -ENOMEM;
	}
	for (int p = 0; p < NR_PASSES && !err; p++) {
		double secs;

		err = usemem_pass(ctx, uts, (enum usemem_pass)p, &secs);
		if (err)
			break;
		bench_figure(ctx, passes[p].name, passes[p].label,
			     (double)(per_thread * o->threads * PAGE_SIZE) / secs / 1e6, "MB/s", 1);
	}
	if (!err) {
		bench_figure(ctx, "pages", "pages touched per pass",
			     (double)(per_thread * o->threads), "", 0);
		bench_figure(ctx, "pswpin", "swap-ins (pages)", (double)model_stat(ctx->m, pswpin),
			     "", 0);
		bench_figure(ctx, "pswpout", "swap-outs (pages)",
			     (double)model_stat(ctx->m, pswpout), "", 0);
		bench_figure(ctx, "pgmajfault", "major faults",
			     (double)model_stat(ctx->m, pgmajfault), "", 0);
	}
	for (unsigned i = 0; i < o->threads; i++)
		free(uts[i].version);
	free(uts);
	return err;
}

static int usemem_check(struct bench_opts *o)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!o->threads)
		o->threads = cpus < 1 ? 1 : (unsigned long)min(cpus, 64L);
	if (o->size / PAGE_SIZE / o->threads < USEMEM_TURN_PAGES)
		return cli_usage_error("--size is too small for %lu threads: each needs at "
				       "least %lu KiB",
				       o->threads, USEMEM_TURN_PAGES * PAGE_SIZE / 1024);
	return 0;
}

const struct bench_workload bench_usemem = {
	.name = "usemem",
	.summary = "threads write and read their pages, in order then at random",
	.rate_unit = "MB/s",
	.check = usemem_check,
	.run = usemem_run,
};
