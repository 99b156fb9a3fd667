// SPDX-License-Identifier: MIT
/*
 * bench.c - `uswap bench WORKLOAD`: parse the options, set up an engine with
 * a real device and the model over it, run the workload while a monitor
 * thread samples its progress and the swap counters, then print a result
 * table and the engine's state (or one JSON object), and write the time
 * series (--csv) and its plot (--plot, with gnuplot).
 *
 * Owns: the run's engine, model, monitor thread and samples; the lockstep
 * scheduler and the content generator workloads use. Locking: the monitor
 * only reads atomics (progress, counters); samples are its own until it is
 * joined; struct bench_lockstep has its mutex.
 */
#include "bench.h"
#include "compare.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dev/dev.h"
#include "dev/zram.h"
#include "model/model.h"

#define SAMPLE_MS	 100  /* time-series resolution */
#define PROGRESS_AFTER_S 2.0  /* runs shorter than this show no progress */
#define PROGRESS_TTY_S	 0.5  /* progress refresh on a terminal */
#define PROGRESS_LOG_S	 10.0 /* progress lines into a log */
#define DEFAULT_SIZE	 (256ULL << 20)
#define MIN_SIZE	 (1ULL << 20)
#define MIN_BUDGET	 (256ULL << 10)
#define MAX_THREADS	 64
#define ZRAM_SLACK_BYTES (16ULL << 20)

static const struct bench_workload *const workloads[] = {&bench_usemem, &bench_bgsave};

static const char bench_usage[] =
	"Usage: uswap bench WORKLOAD [options]\n"
	"\n"
	"Run a workload on the in-memory model (address spaces whose pages fault in\n"
	"and out through the real mm and swap code) with a real swap device and a\n"
	"budget of resident memory. Progress goes to stderr on runs longer than 2 s;\n"
	"at the end comes a result table and the engine's state (see `uswap stat\n"
	"--help`), or with --json one flat JSON object of every figure.\n"
	"\n"
	"Workloads:\n"
	"  compare real programs under the kernel's swap and under `uswap run`,\n"
	"          side by side: see `uswap bench compare --help`\n"
	"  usemem  like vm-scalability's usemem: N threads each write SIZE/N bytes of\n"
	"          pages, then read them back in order, then write and read them in a\n"
	"          random order; MB/s per pass, every page checked\n"
	"  bgsave  Redis with BGSAVE: 1 KiB values packed in pages; the parent serves\n"
	"          random reads with 10% writes, first alone, then while a forked\n"
	"          child reads every page once (the save); parent ops/s without and\n"
	"          during the save, swap-ins and -outs, swap-cache hits on pages the\n"
	"          two share; every value checked against what was written\n"
	"\n"
	"Options:\n"
	"  --device zram|file:PATH  swap device (default zram, sized 2*SIZE+16M); a\n"
	"                           swap file must exist (`uswap mkswap`)\n"
	"  --comp lz4|zstd          zram compressor (default lz4)\n"
	"  --mem-limit B            zram mem_limit: memory the device may use for\n"
	"                           data (default 0: no limit); a full device fails\n"
	"                           its writes, and a run whose swap-outs fail\n"
	"                           (half or more of them) exits 1\n"
	"  --threads N              usemem threads (default: CPUs online); bgsave\n"
	"                           has one parent thread and one child thread\n"
	"  --size S                 data the workload keeps (default 256M)\n"
	"  --budget B               resident memory allowed (default SIZE/2;\n"
	"                           0: no limit)\n"
	"  --seed S                 random seed (default 1)\n"
	"  --concurrent             let the threads run freely; by default they take\n"
	"                           turns in a fixed order (lockstep, on one CPU), so\n"
	"                           that a seed gives the same swap-in and swap-out\n"
	"                           counts every time\n"
	"  --json                   print one JSON object instead of the table\n"
	"  --csv F                  write the time series (time, phase, throughput,\n"
	"                           swap-ins, swap-outs, resident pages) to F\n"
	"  --plot F.png             plot throughput and swap traffic over time to\n"
	"                           F.png (needs gnuplot)\n"
	"                           F of --csv and --plot is checked before the run\n"
	"                           (writable, not the swap device); an existing F is\n"
	"                           replaced only when the run succeeded\n"
	"  --clusters               print the swap device's cluster map at the end\n"
	"                           (to stderr with --json)\n"
	"  --quiet                  no progress\n"
	"  -h, --help               this text\n"
	"\n"
	"A swap file the kernel uses as swap (/proc/swaps) or another engine holds\n"
	"is refused as busy.\n"
	"\n"
	"Exit status: 0 ok, 1 runtime failure (device, engine, data that read back\n"
	"wrong: verify_failures > 0, swap-outs that failed wholesale), 2 usage error.\n";

/* ---- helpers for workloads ---- */

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_phase(struct bench_ctx *ctx, const char *name, unsigned long total)
{
	atomic_store_relaxed(&ctx->phase_total, total);
	atomic_store_relaxed(&ctx->phase_done, 0UL);
	atomic_store_release(&ctx->phase, name);
}

void bench_figure(struct bench_ctx *ctx, const char *name, const char *label, double value,
		  const char *unit, int decimals)
{
	struct bench_figure *f = NULL;

	for (unsigned i = 0; i < ctx->nr_figs && !f; i++)
		if (!strcmp(ctx->figs[i].name, name))
			f = &ctx->figs[i];
	if (!f) {
		if (ctx->nr_figs == BENCH_MAX_FIGURES)
			return;
		f = &ctx->figs[ctx->nr_figs++];
	}
	*f = (struct bench_figure){name, label, unit, value, decimals};
}

void bench_pin(struct bench_ctx *ctx)
{
	cpu_set_t set;

	if (ctx->pin_cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(ctx->pin_cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* ---- lockstep ---- */

void lockstep_init(struct bench_lockstep *ls, unsigned n, bool enabled)
{
	pthread_mutex_init(&ls->lock, NULL);
	pthread_cond_init(&ls->cond, NULL);
	ls->enabled = enabled;
	ls->n = n;
	ls->turn = 0;
	ls->out = 0;
}

void lockstep_destroy(struct bench_lockstep *ls)
{
	pthread_cond_destroy(&ls->cond);
	pthread_mutex_destroy(&ls->lock);
}

/* Give the turn to the next thread after @me still taking part. Context: ls->lock. */
static void lockstep_pass(struct bench_lockstep *ls, unsigned me)
{
	for (unsigned i = 1; i <= ls->n; i++) {
		unsigned next = (me + i) % ls->n;

		if (!(ls->out & (1UL << next))) {
			ls->turn = next;
			break;
		}
	}
	pthread_cond_broadcast(&ls->cond);
}

void lockstep_begin(struct bench_lockstep *ls, unsigned me)
{
	if (!ls->enabled)
		return;
	pthread_mutex_lock(&ls->lock);
	while (ls->turn != me)
		pthread_cond_wait(&ls->cond, &ls->lock);
	pthread_mutex_unlock(&ls->lock);
}

void lockstep_yield(struct bench_lockstep *ls, unsigned me)
{
	if (!ls->enabled)
		return;
	pthread_mutex_lock(&ls->lock);
	lockstep_pass(ls, me);
	while (ls->turn != me)
		pthread_cond_wait(&ls->cond, &ls->lock);
	pthread_mutex_unlock(&ls->lock);
}

void lockstep_end(struct bench_lockstep *ls, unsigned me)
{
	if (!ls->enabled)
		return;
	pthread_mutex_lock(&ls->lock);
	ls->out |= 1UL << me;
	lockstep_pass(ls, me);
	pthread_mutex_unlock(&ls->lock);
}

/* ---- the monitor: samples and progress ---- */

struct sample {
	double t; /* seconds since the start */
	const char *phase;
	unsigned long ops, bytes, pswpin, pswpout, resident;
};

struct monitor {
	struct bench_ctx *ctx;
	pthread_t tid;
	bool stop; /* atomic */
	bool tty;
	double start, last_print;
	bool printed; /* a progress line is on the terminal */
	struct sample *s;
	size_t nr, cap;
};

static void take_sample(struct monitor *mon)
{
	struct bench_ctx *ctx = mon->ctx;
	struct model_info info;
	struct sample *s;

	if (mon->nr == mon->cap) {
		size_t cap = mon->cap ? mon->cap * 2 : 1024;
		struct sample *p = realloc(mon->s, cap * sizeof(*p));

		if (!p)
			return;
		mon->s = p;
		mon->cap = cap;
	}
	model_info(ctx->m, &info);
	s = &mon->s[mon->nr++];
	s->t = bench_now() - mon->start;
	s->phase = atomic_load_acquire(&ctx->phase);
	s->ops = atomic_load_relaxed(&ctx->ops);
	s->bytes = atomic_load_relaxed(&ctx->bytes);
	s->pswpin = model_stat(ctx->m, pswpin);
	s->pswpout = model_stat(ctx->m, pswpout);
	s->resident = info.resident;
}

/* A rate over the last second of samples. */
static double recent_rate(struct monitor *mon, size_t field_off)
{
	const struct sample *last = &mon->s[mon->nr - 1], *first = last;
	unsigned long a, b;

	while (first > mon->s && last->t - first->t < 1.0)
		first--;
	if (last->t <= first->t)
		return 0;
	memcpy(&a, (const char *)first + field_off, sizeof(a));
	memcpy(&b, (const char *)last + field_off, sizeof(b));
	return (double)(b - a) / (last->t - first->t);
}

/* ---- signals: a progress line is cleared, outputs made for the run removed ---- */

#define MAX_OUTPUTS 2

/*
 * Read by the signal handler (on the monitor thread while it runs), so both
 * are atomics (lock-free: safe in a handler), not plain variables.
 */
static bool progress_shown;		 /* a progress line is on the tty */
static const char *created[MAX_OUTPUTS]; /* outputs this run created */

static void on_fatal_signal(int sig)
{
	int saved = errno;
	const char *path;

	if (atomic_load_acquire(&progress_shown))
		(void)!write(STDERR_FILENO, "\r\033[K", 4);
	for (unsigned i = 0; i < MAX_OUTPUTS; i++)
		if ((path = atomic_load_acquire(&created[i])))
			unlink(path);
	errno = saved;
	signal(sig, SIG_DFL);
	raise(sig);
}

static const int fatal_sigs[] = {SIGINT, SIGTERM, SIGHUP};

/*
 * The handler clears the progress line only if it runs where no line can be
 * half drawn after it: the signals are blocked here, before any bench
 * thread exists (threads inherit the mask), and taken by the monitor thread
 * alone, the one that draws the line; monitor_stop() hands them back to the
 * caller once the line is gone.
 */
static void block_fatal_signals(int how)
{
	sigset_t set;

	sigemptyset(&set);
	for (unsigned i = 0; i < ARRAY_SIZE(fatal_sigs); i++)
		sigaddset(&set, fatal_sigs[i]);
	pthread_sigmask(how, &set, NULL);
}

static void catch_fatal_signals(bool on)
{
	struct sigaction sa = {.sa_handler = on ? on_fatal_signal : SIG_DFL};

	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < ARRAY_SIZE(fatal_sigs); i++)
		sigaction(fatal_sigs[i], &sa, NULL);
	block_fatal_signals(on ? SIG_BLOCK : SIG_UNBLOCK);
}

static void print_progress(struct monitor *mon)
{
	struct bench_ctx *ctx = mon->ctx;
	const struct sample *last = &mon->s[mon->nr - 1];
	unsigned long done = atomic_load_relaxed(&ctx->phase_done);
	unsigned long total = atomic_load_relaxed(&ctx->phase_total);
	bool mb = !strcmp(ctx->wl->rate_unit, "MB/s");
	double rate = mb ? recent_rate(mon, offsetof(struct sample, bytes)) / 1e6
			 : recent_rate(mon, offsetof(struct sample, ops));
	char pct[16] = "";

	if (total)
		snprintf(pct, sizeof(pct), " %3lu%%", min(done * 100 / total, 100UL));
	/* Before the line is drawn: a signal taken right after it must clear it. */
	atomic_store_release(&progress_shown, mon->tty);
	fprintf(stderr, "%s[%s %-6s]%s %6.1fs %10.0f %s  swap-in %8.0f/s  swap-out %8.0f/s%s",
		mon->tty ? "\r" : "", ctx->wl->name, last->phase ? last->phase : "", pct, last->t,
		rate, ctx->wl->rate_unit, recent_rate(mon, offsetof(struct sample, pswpin)),
		recent_rate(mon, offsetof(struct sample, pswpout)), mon->tty ? "\033[K" : "\n");
	fflush(stderr);
	mon->printed = mon->tty;
}

static void *monitor_main(void *arg)
{
	struct monitor *mon = arg;
	struct timespec tick = {0, SAMPLE_MS * 1000000L};

	block_fatal_signals(SIG_UNBLOCK);
	while (!atomic_load_acquire(&mon->stop)) {
		double now;

		nanosleep(&tick, NULL);
		take_sample(mon);
		now = bench_now() - mon->start;
		if (mon->ctx->o->quiet || now < PROGRESS_AFTER_S || !mon->nr)
			continue;
		if (now - mon->last_print >= (mon->tty ? PROGRESS_TTY_S : PROGRESS_LOG_S)) {
			print_progress(mon);
			mon->last_print = now;
		}
	}
	return NULL;
}

static int monitor_start(struct monitor *mon, struct bench_ctx *ctx)
{
	memset(mon, 0, sizeof(*mon));
	mon->ctx = ctx;
	mon->tty = isatty(STDERR_FILENO);
	mon->start = bench_now();
	take_sample(mon);
	return -pthread_create(&mon->tid, NULL, monitor_main, mon);
}

static void monitor_stop(struct monitor *mon)
{
	atomic_store_release(&mon->stop, true);
	pthread_join(mon->tid, NULL);
	take_sample(mon);
	if (mon->printed)
		fputs("\r\033[K", stderr);
	atomic_store_release(&progress_shown, false);
	block_fatal_signals(SIG_UNBLOCK);
}

/* ---- output ---- */

static void describe_run(FILE *out, struct bench_ctx *ctx)
{
	const struct bench_opts *o = ctx->o;
	char size[32], budget[32];

	fprintf(out, "uswap bench %s: ", ctx->wl->name);
	if (o->dev.kind == CLI_DEV_FILE)
		fprintf(out, "swap file %s", o->dev.path);
	else
		fprintf(out, "zram (%s)", cli_comp_name(o->dev.algo));
	fprintf(out, ", size %s, budget %s, %lu thread%s, seed %" PRIu64 ", %s\n",
		cli_format_bytes(o->size, size, sizeof(size)),
		o->budget ? cli_format_bytes(o->budget, budget, sizeof(budget)) : "none",
		o->threads, o->threads == 1 ? "" : "s", o->seed,
		o->concurrent ? "concurrent" : "lockstep");
}

static void print_table(FILE *out, struct bench_ctx *ctx)
{
	int label_w = 0;

	for (unsigned i = 0; i < ctx->nr_figs; i++)
		label_w = max(label_w, (int)strlen(ctx->figs[i].label));
	describe_run(out, ctx);
	fputc('\n', out);
	for (unsigned i = 0; i < ctx->nr_figs; i++) {
		const struct bench_figure *f = &ctx->figs[i];

		fprintf(out, "  %-*s %14.*f %-7s (%s)\n", label_w, f->label, f->decimals, f->value,
			f->unit, f->name);
	}
	fputc('\n', out);
}

static bool figure_named(struct bench_ctx *ctx, const char *name)
{
	for (unsigned i = 0; i < ctx->nr_figs; i++)
		if (!strcmp(ctx->figs[i].name, name))
			return true;
	return false;
}

/* The figures of the run's zram device, if it has one, as "zram_*" keys. */
static void print_json_zram(FILE *out, struct bench_ctx *ctx)
{
	struct zram_stats st;

	for (unsigned t = 0; t < MAX_SWAPFILES; t++) {
		struct swap_info_struct *si = ctx->sw->swap_info[t];

		if (!si || !(atomic_load_relaxed(&si->flags) & SWP_USED) || !si->dev ||
		    zram_get_stats(si->dev, &st))
			continue;
		fprintf(out,
			", \"zram_orig_data_size\": %" PRIu64 ", \"zram_compr_data_size\": %" PRIu64
			", \"zram_mem_used_total\": %" PRIu64 ", \"zram_mem_used_max\": %" PRIu64
			", \"zram_same_pages\": %" PRIu64 ", \"zram_huge_pages\": %" PRIu64,
			st.orig_data_size, st.compr_data_size, st.mem_used_total, st.mem_used_max,
			st.same_pages, st.huge_pages);
		return;
	}
}

static void print_json(FILE *out, struct bench_ctx *ctx)
{
	const struct bench_opts *o = ctx->o;

	fputs("{\"workload\": ", out);
	cli_json_string(out, ctx->wl->name);
	fputs(", \"device\": ", out);
	cli_json_string(out, o->dev.kind == CLI_DEV_FILE ? o->dev.path : "zram");
	fputs(", \"comp\": ", out);
	cli_json_string(out, o->dev.kind == CLI_DEV_FILE ? "none" : cli_comp_name(o->dev.algo));
	fprintf(out,
		", \"mode\": \"%s\", \"threads\": %lu, \"size_bytes\": %" PRIu64
		", \"budget_bytes\": %" PRIu64 ", \"seed\": %" PRIu64,
		o->concurrent ? "concurrent" : "lockstep", o->threads, o->size, o->budget, o->seed);
	for (unsigned i = 0; i < ctx->nr_figs; i++) {
		const struct bench_figure *f = &ctx->figs[i];

		fprintf(out, ", \"%s\": %.*f", f->name, f->decimals, f->value);
	}
	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		if (!figure_named(ctx, vm_event_names[i]))
			fprintf(out, ", \"%s\": %lu", vm_event_names[i],
				model_stat(ctx->m, (enum vm_event_item)i));
	print_json_zram(out, ctx);
	fputs("}\n", out);
}

/* An output file (--csv, --plot), opened before the run. */
struct output {
	const char *opt;  /* "--csv" */
	const char *path; /* NULL: not asked for */
	int fd;
	bool created; /* by this run: removed if the run fails */
};

/*
 * Open @out->path for writing before the run, so that a path that cannot be
 * written fails at once, not after minutes: created if missing, else opened
 * without truncating (the old contents stay until the run has succeeded).
 * Refused: the swap device itself (@dev: its stat, or NULL) and, through
 * O_NONBLOCK, a FIFO nobody reads. Return: 0, or a negative errno (said).
 */
static int output_open(struct output *out, const struct stat *dev, unsigned slot)
{
	struct stat st, so;
	int err;

	out->fd = -1;
	if (!out->path)
		return 0;
	out->fd = open(out->path, O_WRONLY | O_CREAT | O_EXCL | O_NONBLOCK | O_CLOEXEC, 0666);
	out->created = out->fd >= 0;
	if (out->fd < 0 && errno == EEXIST)
		out->fd = open(out->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (out->fd < 0) {
		err = -errno;
		cli_error("%s %s: cannot write: %s", out->opt, out->path,
			  err == -ENXIO ? "a FIFO with no reader" : strerror(-err));
		return err;
	}
	if (out->created)
		atomic_store_release(&created[slot], out->path);
	fcntl(out->fd, F_SETFL, fcntl(out->fd, F_GETFL) & ~O_NONBLOCK);
	if (fstat(out->fd, &st) < 0) {
		err = -errno;
		cli_error("%s %s: cannot stat: %s", out->opt, out->path, strerror(-err));
		return err;
	}
	/* The same inode, or another node of the same block device. */
	if (dev && ((st.st_dev == dev->st_dev && st.st_ino == dev->st_ino) ||
		    (S_ISBLK(st.st_mode) && S_ISBLK(dev->st_mode) && st.st_rdev == dev->st_rdev))) {
		cli_error("%s %s: that is the swap device: refusing to overwrite it", out->opt,
			  out->path);
		return -EINVAL;
	}
	/* stdout's own file (--csv /dev/stdout > F): the results would overwrite it. */
	if (S_ISREG(st.st_mode) && fstat(STDOUT_FILENO, &so) == 0 && S_ISREG(so.st_mode) &&
	    so.st_dev == st.st_dev && so.st_ino == st.st_ino) {
		cli_error("%s %s: that is the file stdout goes to, where the results are "
			  "printed: name another file",
			  out->opt, out->path);
		return -EINVAL;
	}
	return 0;
}

/* After the run: keep what was written (@ok), else undo what the run made. */
static void output_close(struct output *out, unsigned slot, bool ok)
{
	if (out->fd >= 0)
		close(out->fd);
	out->fd = -1;
	if (!ok && out->created)
		unlink(out->path);
	atomic_store_release(&created[slot], (const char *)NULL);
}

/*
 * Make @len bytes at @buf the whole contents of @out. A regular file gets
 * its room first (fallocate, or else the free space and the file size limit
 * are checked), so that a full disk or a limit fails before a byte of the
 * old contents is overwritten; then the new bytes go over the old ones and
 * the file is cut to @len. Anything else (a FIFO, a terminal) is written in
 * order. Return: 0 or -errno.
 */
static int output_replace(struct output *out, const char *buf, size_t len)
{
	bool reg;
	struct stat st;
	struct rlimit rl;
	size_t done = 0;

	if (fstat(out->fd, &st) < 0)
		return -errno;
	reg = S_ISREG(st.st_mode);
	if (reg && getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    len > rl.rlim_cur)
		return -EFBIG;
	if (reg && len && fallocate(out->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)len) < 0) {
		uint64_t have = (uint64_t)st.st_blocks * 512, avail;
		struct statvfs vfs;

		if (errno != EOPNOTSUPP && errno != ENOSYS)
			return -errno;
		if (fstatvfs(out->fd, &vfs) == 0 && len > have) {
			avail = (uint64_t)(geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail) *
				vfs.f_frsize;
			if (len - have > avail)
				return -ENOSPC;
		}
	}
	while (done < len) {
		ssize_t n = reg ? pwrite(out->fd, buf + done, len - done, (off_t)done)
				: write(out->fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	if (reg && ftruncate(out->fd, (off_t)len) < 0)
		return -errno;
	return 0;
}

static int write_csv_to(FILE *f, struct monitor *mon)
{
	fputs("time_s,phase,ops_per_s,mb_per_s,pswpin_per_s,pswpout_per_s,pswpin,pswpout,"
	      "resident_pages\n",
	      f);
	for (size_t i = 1; i < mon->nr; i++) {
		const struct sample *a = &mon->s[i - 1], *b = &mon->s[i];
		double dt = b->t - a->t;

		if (dt <= 0)
			continue;
		fprintf(f, "%.3f,%s,%.1f,%.2f,%.1f,%.1f,%lu,%lu,%lu\n", b->t,
			b->phase ? b->phase : "", (double)(b->ops - a->ops) / dt,
			(double)(b->bytes - a->bytes) / dt / 1e6,
			(double)(b->pswpin - a->pswpin) / dt,
			(double)(b->pswpout - a->pswpout) / dt, b->pswpin, b->pswpout, b->resident);
	}
	return fflush(f) || ferror(f) ? -(errno ? errno : EIO) : 0;
}

/* The time series made in memory, then put into @out. Return: 0 or -errno. */
static int write_csv_out(struct output *out, struct monitor *mon)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f)
		return -errno;
	errno = 0;
	err = write_csv_to(f, mon);
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (!err)
		err = output_replace(out, buf, len);
	free(buf);
	return err;
}

/* The whole of the file @path into a new buffer (*@buf, *@len). Return: 0 or -errno. */
static int read_whole(const char *path, char **buf, size_t *len)
{
	FILE *in = fopen(path, "rbe"), *mem;
	char chunk[8192];
	size_t n;
	int err = 0;

	if (!in)
		return -errno;
	mem = open_memstream(buf, len);
	if (!mem) {
		err = -errno;
		fclose(in);
		return err;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
		if (fwrite(chunk, 1, n, mem) != n)
			err = -ENOMEM;
	if (ferror(in) && !err)
		err = -EIO;
	fclose(in);
	if (fclose(mem) && !err)
		err = -ENOMEM;
	return err;
}

/* Return: whether an executable @name is on $PATH. */
static bool have_program(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	while (path && *path) {
		size_t n = strcspn(path, ":");

		if (n &&
		    snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* A phase name may go into the script only if it is a plain word. */
static bool plain_word(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != ' ')
			return false;
	return true;
}

/*
 * The gnuplot script. It holds no byte of a file name or of anything the
 * user typed: the title (which names the swap file) comes in as ARG1 and the
 * data file as ARG2, gnuplot arguments (`gnuplot -c script ARG1 ARG2`,
 * passed by execve, no shell), and the PNG goes to stdout, which is the
 * --plot file opened by uswap.
 */
static int write_gp_script(FILE *gp, struct bench_ctx *ctx, struct monitor *mon)
{
	bool mb = !strcmp(ctx->wl->rate_unit, "MB/s");
	const char *phase = NULL;

	fputs("set terminal pngcairo size 1100,600 noenhanced\n"
	      "set datafile separator ','\n"
	      "set title ARG1\n",
	      gp);
	fprintf(gp,
		"set xlabel 'time (s)'\nset ylabel '%s'\nset y2label 'pages/s'\n"
		"set ytics nomirror\nset y2tics\nset yrange [0:*]\nset y2range [0:*]\n"
		"set key outside bottom center horizontal\nset grid\n",
		mb ? "MB/s" : "ops/s");
	/* A dashed line and a name where each phase starts. */
	for (size_t i = 1; i < mon->nr; i++) {
		const char *p = mon->s[i].phase;

		if (!p || p == phase || !plain_word(p))
			continue;
		phase = p;
		fprintf(gp,
			"set arrow from %.3f, graph 0 to %.3f, graph 1 nohead dt 2 lc rgb 'gray'\n"
			"set label '%s' at %.3f, graph 0.97 left offset 0.3,0 font ',9'\n",
			mon->s[i - 1].t, mon->s[i - 1].t, p, mon->s[i - 1].t);
	}
	fprintf(gp,
		"plot ARG2 using 1:%d skip 1 with lines lw 2 lc rgb '#1f77b4' title '%s', "
		"'' using 1:5 skip 1 axes x1y2 with lines lc rgb '#2ca02c' title 'swap-ins/s', "
		"'' using 1:6 skip 1 axes x1y2 with lines lc rgb '#d62728' title 'swap-outs/s'\n",
		mb ? 4 : 3, mb ? "MB/s" : "ops/s");
	return fflush(gp) || ferror(gp) ? -EIO : 0;
}

/* Write @path with the script; Return: 0 or -errno. */
static int write_file(const char *path, struct bench_ctx *ctx, struct monitor *mon, bool script)
{
	FILE *f = fopen(path, "wxe");
	int err;

	if (!f)
		return -errno;
	errno = 0;
	err = script ? write_gp_script(f, ctx, mon) : write_csv_to(f, mon);
	if (fclose(f) && !err)
		err = -EIO;
	return err;
}

static int write_plot(struct output *png, struct bench_ctx *ctx, struct monitor *mon)
{
	char dir[] = "/tmp/uswap-plot-XXXXXX", script[64], data[64], image[64];
	char *title = NULL, *argv[6], *png_buf = NULL;
	size_t len = 0, png_len = 0;
	posix_spawn_file_actions_t fa;
	FILE *t;
	pid_t pid;
	int err, status;

	if (!mkdtemp(dir))
		return -errno;
	snprintf(script, sizeof(script), "%s/plot.gp", dir);
	snprintf(data, sizeof(data), "%s/data.csv", dir);
	snprintf(image, sizeof(image), "%s/plot.png", dir);
	t = open_memstream(&title, &len);
	if (!t) {
		err = -errno;
		goto out_dir;
	}
	describe_run(t, ctx);
	fclose(t);
	if (len && title[len - 1] == '\n')
		title[len - 1] = '\0';
	err = write_file(data, ctx, mon, false);
	if (!err)
		err = write_file(script, ctx, mon, true);
	if (err)
		goto out;
	argv[0] = "gnuplot";
	argv[1] = "-c";
	argv[2] = script;
	argv[3] = title;
	argv[4] = data;
	argv[5] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	/* The PNG goes to a file of ours first: the --plot file changes only at the end. */
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, image, O_WRONLY | O_CREAT | O_EXCL,
					 0600);
	err = -posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (!err) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			err = -EIO;
	}
	if (!err)
		err = read_whole(image, &png_buf, &png_len);
	/* gnuplot may exit 0 after a failed write: a whole PNG ends with its IEND chunk. */
	if (!err && (png_len < 12 || memcmp(png_buf + png_len - 8, "IEND\xae\x42\x60\x82", 8)))
		err = -EIO;
	if (!err)
		err = output_replace(png, png_buf, png_len);
out:
	free(png_buf);
	unlink(image);
	unlink(data);
	unlink(script);
	free(title);
out_dir:
	rmdir(dir);
	return err;
}

static int write_outputs(struct bench_ctx *ctx, struct monitor *mon, struct output *csv,
			 struct output *plot)
{
	int ret = 0;

	if (csv->path) {
		ret = write_csv_out(csv, mon);
		if (ret) {
			cli_error("%s: cannot write the time series: %s", csv->path,
				  strerror(-ret));
			return ret;
		}
	}
	if (plot->path) {
		ret = write_plot(plot, ctx, mon);
		if (ret)
			cli_error("%s: %s%s", plot->path,
				  ret == -EIO ? "gnuplot failed to draw the plot"
					      : "cannot write the plot: ",
				  ret == -EIO ? "" : strerror(-ret));
	}
	return ret;
}

/*
 * Swap-outs that failed: a device that refuses its writes (full, read-only,
 * in use elsewhere) leaves pages in memory, so the budget was not kept and
 * the figures mean nothing. Half or more failing is a failed run.
 * Return: 0, or -EIO (said).
 */
static int check_swapouts(struct bench_ctx *ctx)
{
	unsigned long fail = model_stat(ctx->m, swpout_fail);
	unsigned long done = model_stat(ctx->m, pswpout);

	if (!fail)
		return 0;
	if (fail < done) {
		cli_warn("%lu of %lu swap-outs failed (swpout_fail): the device refused some "
			 "writes",
			 fail, fail + done);
		return 0;
	}
	cli_error("%lu of %lu swap-outs failed (swpout_fail): the swap device refused its "
		  "writes, so the budget was not enforced and the figures are not a swap run",
		  fail, fail + done);
	return -EIO;
}

/* ---- the run ---- */

static const struct bench_workload *find_workload(const char *name)
{
	for (unsigned i = 0; i < ARRAY_SIZE(workloads); i++)
		if (!strcmp(workloads[i]->name, name))
			return workloads[i];
	return NULL;
}

/* The first CPU this process may run on. */
static int first_cpu(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			return cpu;
	return -1;
}

/* The swap file must hold what does not fit in the budget. */
static int check_capacity(struct bench_ctx *ctx, int type)
{
	const struct bench_opts *o = ctx->o;
	struct swap_info_struct *si = ctx->sw->swap_info[type];
	uint64_t need = o->budget && o->budget < o->size ? (o->size - o->budget) / PAGE_SIZE : 0;
	char have_s[32], need_s[32];

	if (si->pages >= need)
		return 0;
	cli_error("%s holds %s of swap, the run needs at least %s (SIZE - BUDGET): make a "
		  "larger one with `uswap mkswap`",
		  si->dev->name, cli_format_bytes(si->pages * PAGE_SIZE, have_s, sizeof(have_s)),
		  cli_format_bytes(need * PAGE_SIZE, need_s, sizeof(need_s)));
	return -ENOSPC;
}

static int bench_setup(struct bench_ctx *ctx)
{
	const struct bench_opts *o = ctx->o;
	struct cli_dev_spec spec = o->dev;
	char err[512];
	int type, ret;

	ret = cli_engine_create(&ctx->sw);
	if (ret) {
		cli_error("cannot create an engine: %s", strerror(-ret));
		return ret;
	}
	spec.zram_bytes = 2 * o->size + ZRAM_SLACK_BYTES;
	type = cli_swapon(ctx->sw, &spec, err, sizeof(err));
	if (type < 0) {
		cli_error("%s", err);
		return type;
	}
	ret = check_capacity(ctx, type);
	if (ret)
		return ret;
	ret = model_create(&ctx->m, ctx->sw);
	if (ret) {
		cli_error("cannot set up the model: %s", strerror(-ret));
		return ret;
	}
	model_set_budget(ctx->m, o->budget / PAGE_SIZE);
	ctx->pin_cpu = o->concurrent ? -1 : first_cpu();
	return 0;
}

static void bench_teardown(struct bench_ctx *ctx)
{
	if (ctx->m)
		model_destroy(ctx->m);
	if (ctx->sw) {
		if (cli_swapoff_all(ctx->sw))
			cli_error("swapoff failed: slots still in use after the model's teardown");
		swap_engine_destroy(ctx->sw);
	}
}

static int bench_run(struct bench_ctx *ctx)
{
	const struct bench_opts *o = ctx->o;
	struct output csv = {"--csv", o->csv, -1, false}, plot = {"--plot", o->plot, -1, false};
	struct stat dev_st;
	bool have_dev = o->dev.kind == CLI_DEV_FILE && stat(o->dev.path, &dev_st) == 0;
	struct monitor mon;
	double t0;
	int ret, status = CLI_EXIT_OK;

	catch_fatal_signals(true);
	ret = output_open(&csv, have_dev ? &dev_st : NULL, 0);
	if (!ret)
		ret = output_open(&plot, have_dev ? &dev_st : NULL, 1);
	if (!ret && csv.path && plot.path) {
		struct stat a, b;

		if (!fstat(csv.fd, &a) && !fstat(plot.fd, &b) && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino && S_ISREG(a.st_mode)) {
			cli_error("--csv and --plot name the same file %s", o->csv);
			ret = -EINVAL;
		}
	}
	if (!ret)
		ret = bench_setup(ctx);
	if (ret)
		goto out;
	ret = monitor_start(&mon, ctx);
	if (ret) {
		cli_error("cannot start the monitor thread: %s", strerror(-ret));
		goto out;
	}
	t0 = bench_now();
	ret = ctx->wl->run(ctx);
	monitor_stop(&mon);
	if (ret) {
		cli_error("%s failed: %s", ctx->wl->name, strerror(-ret));
		goto out_samples;
	}
	bench_figure(ctx, "elapsed_s", "elapsed", bench_now() - t0, "s", 2);
	bench_figure(ctx, "verify_failures", "values that read back wrong",
		     (double)atomic_load_relaxed(&ctx->verify_fails), "", 0);
	ret = model_check(ctx->m);
	if (ret)
		cli_error("the swap invariant checker failed after the run: %s", strerror(-ret));
	if (o->json) {
		print_json(stdout, ctx);
	} else {
		print_table(stdout, ctx);
		cli_print_stat(stdout, ctx->sw);
	}
	if (o->clusters) {
		for (unsigned t = 0; t < MAX_SWAPFILES; t++) {
			struct swap_info_struct *si = ctx->sw->swap_info[t];

			if (si && (atomic_load_relaxed(&si->flags) & SWP_USED) && si->dev) {
				fputc('\n', o->json ? stderr : stdout);
				cli_print_clusters(o->json ? stderr : stdout, si);
			}
		}
	}
	if (!ret)
		ret = check_swapouts(ctx);
	if (!ret)
		ret = write_outputs(ctx, &mon, &csv, &plot);
	if (!ret && ctx->verify_fails) {
		cli_error("%lu values read back different from what was written",
			  ctx->verify_fails);
		status = CLI_EXIT_FAIL;
	}
out_samples:
	free(mon.s);
out:
	bench_teardown(ctx);
	output_close(&csv, 0, !ret);
	output_close(&plot, 1, !ret);
	catch_fatal_signals(false);
	return ret ? CLI_EXIT_FAIL : status;
}

int cmd_bench(int argc, char **argv)
{
	enum {
		OPT_DEVICE = 256,
		OPT_COMP,
		OPT_THREADS,
		OPT_SIZE,
		OPT_BUDGET,
		OPT_SEED,
		OPT_CONCURRENT,
		OPT_JSON,
		OPT_CSV,
		OPT_PLOT,
		OPT_CLUSTERS,
		OPT_QUIET,
		OPT_MEM_LIMIT
	};
	static const struct option opts[] = {
		{"device", required_argument, NULL, OPT_DEVICE},
		{"comp", required_argument, NULL, OPT_COMP},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"size", required_argument, NULL, OPT_SIZE},
		{"budget", required_argument, NULL, OPT_BUDGET},
		{"seed", required_argument, NULL, OPT_SEED},
		{"concurrent", no_argument, NULL, OPT_CONCURRENT},
		{"json", no_argument, NULL, OPT_JSON},
		{"csv", required_argument, NULL, OPT_CSV},
		{"plot", required_argument, NULL, OPT_PLOT},
		{"clusters", no_argument, NULL, OPT_CLUSTERS},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"mem-limit", required_argument, NULL, OPT_MEM_LIMIT},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct bench_opts o = {
		.dev = {.kind = CLI_DEV_ZRAM},
		.size = DEFAULT_SIZE,
		.budget = UINT64_MAX,
		.seed = 1,
	};
	struct bench_ctx ctx = {.o = &o, .pin_cpu = -1};
	unsigned long v;
	int c, ret;

	if (argc > 1 && !strcmp(argv[1], "compare"))
		return cmd_bench_compare(argc - 1, argv + 1);

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DEVICE:
			if (cli_parse_device(optarg, &o.dev))
				return cli_usage_error("bad --device '%s': use zram or file:PATH",
						       optarg);
			break;
		case OPT_COMP:
			if (cli_parse_comp(optarg, &o.dev))
				return cli_usage_error("bad --comp '%s': use lz4 or zstd", optarg);
			break;
		case OPT_THREADS:
			if (cli_parse_ulong(optarg, 1, MAX_THREADS, &v))
				return cli_usage_error("bad --threads '%s': a number from 1 to %d",
						       optarg, MAX_THREADS);
			o.threads = v;
			break;
		case OPT_SIZE:
			if (cli_parse_size(optarg, &o.size) || o.size < MIN_SIZE)
				return cli_usage_error("bad --size '%s': a size of at least 1M, "
						       "with K, M or G suffix",
						       optarg);
			break;
		case OPT_BUDGET:
			if (cli_parse_size(optarg, &o.budget) ||
			    (o.budget && o.budget < MIN_BUDGET))
				return cli_usage_error("bad --budget '%s': 0 (no limit) or a size "
						       "of at least 256K, with K, M or G suffix",
						       optarg);
			break;
		case OPT_SEED:
			if (cli_parse_ulong(optarg, 0, ULONG_MAX, &v))
				return cli_usage_error("bad --seed '%s': a decimal number", optarg);
			o.seed = v;
			break;
		case OPT_CONCURRENT:
			o.concurrent = true;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_CSV:
			o.csv = optarg;
			break;
		case OPT_PLOT:
			o.plot = optarg;
			break;
		case OPT_CLUSTERS:
			o.clusters = true;
			break;
		case OPT_QUIET:
			o.quiet = true;
			break;
		case OPT_MEM_LIMIT:
			if (cli_parse_size(optarg, &o.dev.zram_limit))
				return cli_usage_error("bad --mem-limit '%s': a size with K, M or "
						       "G suffix, 0 for none",
						       optarg);
			break;
		case 'h':
			fputs(bench_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option(c, argv);
		}
	}
	if (optind == argc)
		return cli_usage_error("missing WORKLOAD (usemem or bgsave)");
	if (argc - optind > 1)
		return cli_usage_error("unexpected argument '%s'", argv[optind + 1]);
	o.workload = argv[optind];
	ctx.wl = find_workload(o.workload);
	if (!ctx.wl)
		return cli_usage_error("unknown workload '%s': use usemem or bgsave", o.workload);
	if (o.size > (64ULL << 30) / 4)
		return cli_usage_error("--size is at most 16G");
	if (o.dev.zram_limit && o.dev.kind != CLI_DEV_ZRAM)
		return cli_usage_error("--mem-limit is for a zram device");
	if (o.budget == UINT64_MAX)
		o.budget = max(o.size / 2, (uint64_t)MIN_BUDGET);
	ret = ctx.wl->check(&o);
	if (ret)
		return ret;
	if (o.plot && !have_program("gnuplot")) {
		cli_error("--plot needs gnuplot, which is not on PATH (install it with "
			  "scripts/deps.sh --all, or apt-get install gnuplot-nox)");
		return CLI_EXIT_FAIL;
	}
	return bench_run(&ctx);
}
