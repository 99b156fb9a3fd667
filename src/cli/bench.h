/* SPDX-License-Identifier: MIT */
/*
 * bench.h - what `uswap bench` gives a workload: the model with a real
 * device under a budget, progress counters the monitor samples, figures for
 * the result table and JSON, a lockstep scheduler for reproducible runs,
 * per-thread random streams and checkable page contents.
 *
 * A workload's run() sets phases with bench_phase(), bumps bench_progress()
 * as it goes, reports figures with bench_figure(), and leaves its address
 * spaces in place: the runner prints the engine's state before it tears the
 * model down. It returns 0, or a negative errno for a failure of the engine
 * (the runner names it and exits 1). Data that reads back wrong is not an
 * error of run(): it is the figure verify_failures, and a non-zero count
 * makes the command exit 1.
 *
 * Owns: declarations. Locking: progress counters are atomics; figures are
 * added by the thread that called run() only; the lockstep scheduler has a
 * mutex of its own.
 */
#ifndef USWAP_CLI_BENCH_H
#define USWAP_CLI_BENCH_H

#include <pthread.h>

#include "base/atomic.h"
#include "base/pattern.h"
#include "base/random.h"
#include "cli.h"

struct model;
struct model_as;

/* What the command line chose. */
struct bench_opts {
	const char *workload;
	struct cli_dev_spec dev;
	unsigned long threads; /* 0: the workload's default */
	uint64_t size;	       /* bytes of data the workload keeps */
	uint64_t budget;       /* bytes of resident memory allowed */
	uint64_t seed;
	bool concurrent; /* free-running threads (timing-dependent counts) */
	bool json, clusters, quiet;
	const char *csv, *plot;
};

struct bench_ctx;

struct bench_workload {
	const char *name;
	const char *summary;
	const char *rate_unit; /* what progress and the plot show: "ops/s", "MB/s" */
	/*
	 * Fill in the defaults left at 0 (threads) and refuse what this
	 * workload cannot do: print why (cli_usage_error) and return
	 * CLI_EXIT_USAGE; else return 0.
	 */
	int (*check)(struct bench_opts *o);
	int (*run)(struct bench_ctx *ctx);
};

extern const struct bench_workload bench_usemem;
extern const struct bench_workload bench_bgsave;

/* ---- the context a workload runs in (bench.c) ---- */

#define BENCH_MAX_FIGURES 64

struct bench_figure {
	const char *name;  /* JSON key */
	const char *label; /* for the table */
	const char *unit;
	double value;
	int decimals;
};

struct bench_ctx {
	const struct bench_opts *o;
	const struct bench_workload *wl;
	struct model *m;
	struct uswap *sw;
	int pin_cpu; /* lockstep runs put every workload thread here; -1: none */
	/* Progress, written by workload threads (atomics). */
	unsigned long ops;	    /* operations done (what "ops/s" counts) */
	unsigned long bytes;	    /* bytes moved (what "MB/s" counts) */
	unsigned long phase_done;   /* units of the current phase done */
	unsigned long phase_total;  /* units the current phase has, 0: unknown */
	const char *phase;	    /* the current phase's name */
	unsigned long verify_fails; /* values or pages that read back wrong */
	/* Figures, written by the thread in run() only. */
	struct bench_figure figs[BENCH_MAX_FIGURES];
	unsigned nr_figs;
};

/*
 * bench_phase - start phase @name (a string literal) of @total units
 * (0: unknown); the monitor marks phase changes in the time series.
 * Context: the workload's threads.
 */
void bench_phase(struct bench_ctx *ctx, const char *name, unsigned long total);

/* Count @ops operations, @bytes bytes and @units units of the phase. Context: any. */
static inline void bench_progress(struct bench_ctx *ctx, unsigned long ops, unsigned long bytes,
				  unsigned long units)
{
	atomic_fetch_add_relaxed(&ctx->ops, ops);
	atomic_fetch_add_relaxed(&ctx->bytes, bytes);
	atomic_fetch_add_relaxed(&ctx->phase_done, units);
}

static inline void bench_verify_fail(struct bench_ctx *ctx)
{
	atomic_fetch_add_relaxed(&ctx->verify_fails, 1);
}

/*
 * bench_figure - report a figure: @name is its JSON key, @label and @unit
 * are for the table, @decimals how it prints. Reporting a name again
 * replaces the value.
 * Context: the thread in run() only.
 */
void bench_figure(struct bench_ctx *ctx, const char *name, const char *label, double value,
		  const char *unit, int decimals);

/* Seconds since an arbitrary start (monotonic clock). Context: any. */
double bench_now(void);

/*
 * bench_thread_cpu - CPU seconds the calling thread has used: unlike wall
 * time, not inflated when other programs take the machine's CPUs.
 * Context: any.
 */
double bench_thread_cpu(void);

/*
 * bench_pin - in lockstep runs, put the calling thread on ctx->pin_cpu so
 * that the swap allocator's per-CPU cursors, and so slot placement, are the
 * same from run to run. Context: a workload thread, at its start.
 */
void bench_pin(struct bench_ctx *ctx);

/* ---- deterministic randomness and contents ---- */

/*
 * A workload's random streams are base/random.h's: random_stream(seed, id)
 * for thread or role @id, then random_next() / random_below(), so one seed
 * gives the same operations, and with lockstep the same counts, every run.
 */

/*
 * bench_fill - the contents of object @key at @version: base/pattern.h's
 * text pattern (key and version in the first 16 bytes, then words from a
 * small vocabulary), so that data compresses about as well as typical
 * program memory and every (key, version) differs. @len is a multiple of 8.
 * Context: any.
 */
static inline void bench_fill(void *buf, size_t len, uint64_t key, uint64_t version)
{
	pattern_fill(buf, len, PATTERN_TEXT, key, version);
}

/* Return: whether @buf holds exactly bench_fill(key, version). Context: any. */
static inline bool bench_check(const void *buf, size_t len, uint64_t key, uint64_t version)
{
	return pattern_check(buf, len, PATTERN_TEXT, key, version);
}

/* ---- lockstep: reproducible interleaving of workload threads (bench.c) ---- */

/*
 * Threads 0..n-1 take turns: one runs while the others wait, and a turn
 * passes to the next thread still taking part, so the order of every
 * operation of every thread, and with it every count, depends only on the
 * seed. Disabled (concurrent runs), every call returns at once.
 */
struct bench_lockstep {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool enabled;
	unsigned n;	   /* threads */
	unsigned turn;	   /* whose turn */
	unsigned long out; /* bit i: thread i left */
};

/* Context: before any thread of the set starts; n <= 64. */
void lockstep_init(struct bench_lockstep *ls, unsigned n, bool enabled);
void lockstep_destroy(struct bench_lockstep *ls);
/* Wait for thread @me's first turn. */
void lockstep_begin(struct bench_lockstep *ls, unsigned me);
/* End @me's turn; return when it is @me's turn again. */
void lockstep_yield(struct bench_lockstep *ls, unsigned me);
/* @me takes no more turns. */
void lockstep_end(struct bench_lockstep *ls, unsigned me);

#endif /* USWAP_CLI_BENCH_H */
