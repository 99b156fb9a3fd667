// SPDX-License-Identifier: MIT
/*
 * compare.c - `uswap bench compare [WORKLOAD...]`: real programs under the
 * kernel's own swap and under `uswap run`, same budget, same compressor,
 * same machine, same run; one table of figures with the ratio uswap/kernel.
 *
 * Each workload runs once on each side, the sides alternating (kernel first
 * for the first workload, uswap first for the second, ...). A side runs its
 * program in a process group of its own so that everything it started can
 * be ended by that group's id. While a program runs, a loop samples its
 * memory a few times a second (the cgroup's anonymous memory on the kernel
 * side; RssAnon and RssShmem of the program's processes on both sides:
 * shared memory the program holds is memory no file backs either) and prints
 * progress to stderr. SIGINT, SIGTERM, SIGHUP and SIGQUIT only set a flag:
 * every wait polls it, ends the programs, and the normal unwind restores
 * the kernel's state (kswap.c), removes the temporary directory and exits
 * with 128+N.
 *
 * Owns: the run's temporary directory, the processes it starts, the result
 * table. Locking: none (one thread; the signal handler writes one flag).
 */
#include "cli.h"
#include "compare.h"
#include "bench.h"
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIN_BUDGET	(8ULL << 20)
#define DEFAULT_BUDGET	(128ULL << 20)
#define TICK_MS		100
#define SAMPLE_S	0.2
#define PROGRESS_TTY_S	0.5
#define PROGRESS_LOG_S	10.0
#define START_TIMEOUT_S 60.0
#define STOP_TIMEOUT_S	30.0
#define MAX_FIGS	16
#define MAX_GROUPS	4
#define REDIS_BATCH	256
#define VALUE_BYTES	1024

volatile sig_atomic_t compare_interrupted;

enum side { KERNEL = 0, USWAP = 1 };
static const char *const side_name[] = {"kernel", "uswap"};

struct cmp_fig {
	const char *key, *label, *unit;
	int decimals;
	bool higher_better;
	bool have[2];
	double v[2];
};

/* One workload's results, both sides. */
struct cmp_result {
	const struct cmp_workload *wl;
	bool ran[2], ok[2];
	char err[2][320];
	struct cmp_fig figs[MAX_FIGS];
	unsigned nr_figs;
};

struct cmp_opts {
	uint64_t budget, size; /* size 0: each workload's default */
	const char *comp;
	bool json;
	const char *csv, *plot;
};

/* Bytes read from a program's stdout: the first 4 KiB, a hash and a count. */
struct sink {
	char text[4096];
	size_t len;
	uint64_t hash, bytes;
};

struct cmp_ctx {
	const struct cmp_opts *o;
	struct kswap ks;
	char dir[64];		  /* temporary directory */
	char self[PATH_MAX];	  /* this uswap executable */
	char usemem[PATH_MAX];	  /* uswap-usemem */
	char run_missing[160];	  /* why `uswap run` cannot be used, "" if it can */
	struct stat self_st;	  /* to leave `uswap run` itself out of RssAnon */
	pid_t groups[MAX_GROUPS]; /* process groups of the current run */
	/* The current run. */
	const char *wl_name, *phase;
	enum side side;
	unsigned run_no, nr_runs;
	double t0, last_sample, last_progress;
	bool progress_on_line;
	pid_t prog;		  /* the program's process group (sampled) */
	uint64_t peak_rss_anon;	  /* sampled RssAnon of the program's processes */
	uint64_t peak_rss_nofile; /* sampled RssAnon + RssShmem: what no file backs */
	char stats[96];		  /* `uswap run --stats` file */
	char errlog[96];	  /* the program's stderr */
	/* sort: the input and the first side's output hash. */
	char sort_input[96];
	uint64_t sort_hash;
	bool have_sort_hash;
};

struct cmp_workload {
	const char *name;
	uint64_t default_quarters; /* default size: this many quarters of the budget */
	/* The workload's own figures, in table order. */
	void (*declare)(struct cmp_result *r);
	/*
	 * Run the program of side c->side on @size bytes of data; a failure of
	 * the side goes to side_error(). Return: 0, or -EINTR when stopped by a
	 * signal, or a negative errno the side fails with.
	 */
	int (*run)(struct cmp_ctx *c, struct cmp_result *r, uint64_t size);
};

/* ---- figures ---- */

/* The figure @key declared for @r, or NULL. */
static struct cmp_fig *find_fig(struct cmp_result *r, const char *key)
{
	for (unsigned i = 0; i < r->nr_figs; i++)
		if (!strcmp(r->figs[i].key, key))
			return &r->figs[i];
	return NULL;
}

static struct cmp_fig *fig(struct cmp_result *r, const char *key, const char *label,
			   const char *unit, int decimals, bool higher_better)
{
	struct cmp_fig *f = find_fig(r, key);

	if (f)
		return f;
	if (r->nr_figs == MAX_FIGS)
		abort(); /* a workload declares more figures than fit: a bug */
	f = &r->figs[r->nr_figs++];
	*f = (struct cmp_fig){.key = key,
			      .label = label,
			      .unit = unit,
			      .decimals = decimals,
			      .higher_better = higher_better};
	return f;
}

static void set_fig(struct cmp_ctx *c, struct cmp_result *r, const char *key, double v)
{
	struct cmp_fig *f = find_fig(r, key);

	if (!f)
		abort(); /* not declared: a bug */
	f->v[c->side] = v;
	f->have[c->side] = true;
}

static void side_error(struct cmp_ctx *c, struct cmp_result *r, const char *fmt, ...)
	__printf(3, 4);
static void side_error(struct cmp_ctx *c, struct cmp_result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->err[c->side][0])
		return; /* the first error is the one that counts */
	va_start(ap, fmt);
	vsnprintf(r->err[c->side], sizeof(r->err[c->side]), fmt, ap);
	va_end(ap);
}

/* ---- time, signals, progress ---- */

static void on_signal(int sig)
{
	compare_interrupted = sig;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void progress(struct cmp_ctx *c, bool force)
{
	bool tty = isatty(STDERR_FILENO);
	double now = bench_now(), every = tty ? PROGRESS_TTY_S : PROGRESS_LOG_S;
	char rss[32];

	if (!force && now - c->last_progress < every)
		return;
	c->last_progress = now;
	cli_format_bytes(c->peak_rss_anon, rss, sizeof(rss));
	fprintf(stderr, "%scompare: [%u/%u] %s on %s: %s, %.0f s (peak RssAnon %s)%s",
		tty ? "\r\033[K" : "", c->run_no, c->nr_runs, c->wl_name, side_name[c->side],
		c->phase, now - c->t0, rss, tty ? "" : "\n");
	c->progress_on_line = tty;
}

static void progress_done(struct cmp_ctx *c)
{
	if (c->progress_on_line)
		fputc('\n', stderr);
	c->progress_on_line = false;
}

/*
 * The sums of RssAnon and of RssShmem of the processes of group @pgid,
 * leaving out uswap itself.
 */
static void group_rss(struct cmp_ctx *c, pid_t pgid, uint64_t *anon, uint64_t *shmem)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	*anon = *shmem = 0;
	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[300], buf[2048], *p;
		struct stat st;
		uint64_t v;
		long grp;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (cli_read_text(path, buf, sizeof(buf)) <= 0)
			continue;
		p = strrchr(buf, ')'); /* comm may hold spaces */
		if (!p || sscanf(p + 1, " %*c %*d %ld", &grp) != 1 || grp != pgid)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/exe", e->d_name);
		if (stat(path, &st) == 0 && st.st_dev == c->self_st.st_dev &&
		    st.st_ino == c->self_st.st_ino)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
		if (cli_read_text(path, buf, sizeof(buf)) <= 0)
			continue;
		if (!run_status_field(buf, "RssAnon", &v))
			*anon += v;
		if (!run_status_field(buf, "RssShmem", &v))
			*shmem += v;
	}
	closedir(d);
}

/*
 * tick - what every wait does between its checks: sample memory, show
 * progress. Return: 0, or -EINTR once a signal asked the command to stop.
 */
static int tick(struct cmp_ctx *c)
{
	double now = bench_now();

	if (now - c->last_sample >= SAMPLE_S) {
		c->last_sample = now;
		if (c->side == KERNEL)
			kswap_sample(&c->ks);
		if (c->prog > 0) {
			uint64_t anon, shmem;

			group_rss(c, c->prog, &anon, &shmem);
			if (anon > c->peak_rss_anon)
				c->peak_rss_anon = anon;
			if (anon + shmem > c->peak_rss_nofile)
				c->peak_rss_nofile = anon + shmem;
		}
	}
	progress(c, false);
	return compare_interrupted ? -EINTR : 0;
}

/* ---- processes ---- */

static void track_group(struct cmp_ctx *c, pid_t pgid)
{
	for (unsigned i = 0; i < MAX_GROUPS; i++)
		if (!c->groups[i]) {
			c->groups[i] = pgid;
			return;
		}
	kill(-pgid, SIGKILL); /* no room to track it: never leave it behind */
}

static void untrack_group(struct cmp_ctx *c, pid_t pgid)
{
	for (unsigned i = 0; i < MAX_GROUPS; i++)
		if (c->groups[i] == pgid)
			c->groups[i] = 0;
}

/*
 * End process group @pgid and reap its leader, unless the leader was reaped
 * already (then its id may belong to someone else by now).
 */
static bool tracked(const struct cmp_ctx *c, pid_t pgid)
{
	for (unsigned i = 0; i < MAX_GROUPS; i++)
		if (c->groups[i] == pgid)
			return true;
	return false;
}

static void end_group(struct cmp_ctx *c, pid_t pgid)
{
	if (!tracked(c, pgid))
		return;
	kill(-pgid, SIGKILL);
	while (waitpid(pgid, NULL, 0) < 0 && errno == EINTR)
		;
	untrack_group(c, pgid);
}

static void end_all_groups(struct cmp_ctx *c)
{
	for (unsigned i = 0; i < MAX_GROUPS; i++)
		if (c->groups[i])
			end_group(c, c->groups[i]);
}

enum spawn_how {
	SPAWN_PLAIN,   /* a client: runs unconstrained */
	SPAWN_LIMITED, /* the program under test: the current side's limits */
};

/*
 * spawn - start @argv in a process group of its own, stdin from /dev/null,
 * stdout to @out_fd (-1: /dev/null), stderr appended to c->errlog. With
 * SPAWN_LIMITED it runs in the kernel side's cgroup, or under `uswap run`
 * with the budget, the compressor and --stats c->stats.
 * Return: the pid (= its group's id), or a negative errno.
 */
static pid_t spawn(struct cmp_ctx *c, enum spawn_how how, char *const argv[], int out_fd)
{
	char budget[32];
	char *run_argv[64];
	unsigned n = 0;
	pid_t pid;

	if (how == SPAWN_LIMITED && c->side == USWAP) {
		snprintf(budget, sizeof(budget), "%" PRIu64, c->o->budget);
		run_argv[n++] = c->self;
		run_argv[n++] = (char *)"run";
		run_argv[n++] = (char *)"--budget";
		run_argv[n++] = budget;
		run_argv[n++] = (char *)"--device";
		run_argv[n++] = (char *)"zram";
		run_argv[n++] = (char *)"--comp";
		run_argv[n++] = (char *)c->o->comp;
		run_argv[n++] = (char *)"--stats";
		run_argv[n++] = c->stats;
		run_argv[n++] = (char *)"--";
		for (unsigned i = 0; argv[i] && n < ARRAY_SIZE(run_argv) - 1; i++)
			run_argv[n++] = argv[i];
		run_argv[n] = NULL;
		argv = run_argv;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		int err = open(c->errlog, O_WRONLY | O_CREAT | O_APPEND, 0600);

		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGQUIT, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		dup2(null, STDIN_FILENO);
		dup2(out_fd >= 0 ? out_fd : null, STDOUT_FILENO);
		if (err >= 0)
			dup2(err, STDERR_FILENO);
		if (how == SPAWN_LIMITED && c->side == KERNEL && kswap_enter(&c->ks)) {
			dprintf(STDERR_FILENO, "cannot enter the cgroup: %s\n", strerror(errno));
			_exit(125);
		}
		setenv("LC_ALL", "C", 1);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	setpgid(pid, pid); /* both sides set it: no window where a kill misses it */
	track_group(c, pid);
	if (how == SPAWN_LIMITED)
		c->prog = pid;
	return pid;
}

/* Whether @pid has exited, without reaping it. */
static bool leader_exited(pid_t pid)
{
	siginfo_t si = {0};

	return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

static void sink_add(struct sink *s, const char *buf, size_t n)
{
	size_t room = sizeof(s->text) - 1 - s->len;

	memcpy(s->text + s->len, buf, n < room ? n : room);
	s->len += n < room ? n : room;
	s->text[s->len] = '\0';
	for (size_t i = 0; i < n; i++) /* FNV-1a */
		s->hash = (s->hash ^ (unsigned char)buf[i]) * 0x100000001b3ULL;
	s->bytes += n;
}

/*
 * supervise - wait for @pid while ticking; drain @fd (-1: none) into @s
 * until end of file. Return: 0 and *status (as from waitpid), -EINTR, or
 * -ETIMEDOUT after @timeout_s (0: none).
 */
static int supervise(struct cmp_ctx *c, pid_t pid, int fd, struct sink *s, int *status,
		     double timeout_s)
{
	double start = bench_now();
	bool exited = false;
	char buf[65536];

	if (s) {
		s->len = 0;
		s->text[0] = '\0';
		s->hash = 0xcbf29ce484222325ULL;
		s->bytes = 0;
	}
	while (!exited || fd >= 0) {
		if (fd >= 0) {
			struct pollfd p = {.fd = fd, .events = POLLIN};

			if (poll(&p, 1, TICK_MS) > 0) {
				ssize_t n = read(fd, buf, sizeof(buf));

				if (n > 0 && s)
					sink_add(s, buf, (size_t)n);
				if (n == 0 || (n < 0 && errno != EINTR)) {
					close(fd);
					fd = -1;
				}
			}
		} else {
			sleep_ms(TICK_MS);
		}
		if (!exited && leader_exited(pid)) {
			kill(-pid,
			     SIGKILL); /* what it left behind, while its zombie holds the id */
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			exited = true;
			untrack_group(c, pid);
		}
		if (tick(c) || (timeout_s > 0 && bench_now() - start > timeout_s)) {
			if (fd >= 0)
				close(fd);
			if (!exited)
				end_group(c, pid);
			return compare_interrupted ? -EINTR : -ETIMEDOUT;
		}
	}
	return 0;
}

/*
 * run_captured - spawn @argv (see spawn()) with its stdout drained into @out
 * and wait for it.
 * Return: 0 and *status (as from waitpid), or a negative errno.
 */
static int run_captured(struct cmp_ctx *c, enum spawn_how how, char *const argv[], struct sink *out,
			int *status)
{
	int pfd[2];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = spawn(c, how, argv, pfd[1]);
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		return (int)pid;
	}
	return supervise(c, pid, pfd[0], out, status, 0);
}

/*
 * stop_group - ask the program of group @pid to end (SIGTERM to the leader:
 * redis-server, or `uswap run`, which passes it on and then writes its
 * --stats), and end the group with SIGKILL if it is not gone within
 * STOP_TIMEOUT_S or a signal asks the command to stop.
 */
static void stop_group(struct cmp_ctx *c, pid_t pid)
{
	int status;

	if (!tracked(c, pid))
		return; /* reaped already: its id may be someone else's */
	kill(pid, SIGTERM);
	supervise(c, pid, -1, NULL, &status, STOP_TIMEOUT_S);
	end_group(c, pid); /* only if it did not exit: supervise() reaped it then */
}

/* The last line of the log @path, for messages. */
static const char *log_tail(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	char *p;

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	n = pread(fd, buf, len - 1,
		  lseek(fd, 0, SEEK_END) > (off_t)len - 1 ? lseek(fd, 0, SEEK_END) - (off_t)len + 1
							  : 0);
	close(fd);
	if (n <= 0) {
		buf[0] = '\0';
		return buf;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	p = strrchr(buf, '\n');
	return p ? p + 1 : buf;
}

/*
 * Say what an exit status of @what means (the program under test, or a
 * client with @client). Return: whether it is a clean exit 0.
 */
static bool exit_status_ok(struct cmp_ctx *c, struct cmp_result *r, const char *prog, bool client,
			   int status)
{
	char tail[512], what[96];

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	snprintf(what, sizeof(what), "%s%s", !client && c->side == USWAP ? "uswap run -- " : "",
		 prog);
	log_tail(c->errlog, tail, sizeof(tail));
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && c->side == KERNEL &&
	    kswap_oom_kills(&c->ks) > 0)
		side_error(c, r,
			   "%s was killed by the kernel's OOM killer in the cgroup: the "
			   "budget is too small for it there",
			   what);
	else if (WIFSIGNALED(status))
		side_error(c, r, "%s was killed by signal %d%s%s", what, WTERMSIG(status),
			   tail[0] ? ": " : "", tail);
	else
		side_error(c, r, "%s exited with status %d%s%s", what, WEXITSTATUS(status),
			   tail[0] ? ": " : "", tail);
	return false;
}

static bool exit_ok(struct cmp_ctx *c, struct cmp_result *r, const char *prog, int status)
{
	return exit_status_ok(c, r, prog, false, status);
}

/* A "key=number" figure from a program's output line. */
static bool text_number(const char *text, const char *key, double *v)
{
	size_t klen = strlen(key);

	for (const char *p = text; (p = strstr(p, key)); p++)
		if ((p == text || p[-1] == ' ' || p[-1] == '\n') && p[klen] == '=') {
			*v = strtod(p + klen + 1, NULL);
			return true;
		}
	return false;
}

/* ---- usemem ---- */

static const struct {
	const char *key, *out, *label;
} usemem_passes[] = {
	{"seq_write_mbps", "seq_write", "sequential write"},
	{"seq_read_mbps", "seq_read", "sequential read"},
	{"rand_write_mbps", "rand_write", "random write"},
	{"rand_read_mbps", "rand_read", "random read"},
};

static void declare_usemem(struct cmp_result *r)
{
	for (unsigned i = 0; i < ARRAY_SIZE(usemem_passes); i++)
		fig(r, usemem_passes[i].key, usemem_passes[i].label, "MB/s", 1, true);
	fig(r, "wall_s", "wall time", "s", 2, false);
}

static int run_usemem(struct cmp_ctx *c, struct cmp_result *r, uint64_t size)
{
	char sz[32];
	char *argv[] = {c->usemem, sz, NULL};
	struct sink out;
	int status, ret;
	double t, v;

	snprintf(sz, sizeof(sz), "%" PRIu64, size);
	c->phase = "touching pages";
	t = bench_now();
	ret = run_captured(c, SPAWN_LIMITED, argv, &out, &status);
	if (ret)
		return ret;
	if (!exit_ok(c, r, "uswap-usemem", status))
		return 0;
	set_fig(c, r, "wall_s", bench_now() - t);
	for (unsigned i = 0; i < ARRAY_SIZE(usemem_passes); i++) {
		if (!text_number(out.text, usemem_passes[i].out, &v)) {
			side_error(c, r, "uswap-usemem printed no %s figure", usemem_passes[i].out);
			return 0;
		}
		set_fig(c, r, usemem_passes[i].key, v);
	}
	return 0;
}

/* ---- sort ---- */

/* Lines "KEY WORD WORD ... NUMBER": random keys, some repeated words. */
static int make_sort_input(struct cmp_ctx *c, uint64_t size)
{
	static const char *const words[] = {"alpha",   "bravo", "charlie", "delta", "echo",
					    "foxtrot", "golf",	"hotel",   "india", "juliet"};
	uint64_t s = random_stream(1, 7), written = 0;
	char buf[1 << 16];
	size_t n = 0;
	FILE *f;

	snprintf(c->sort_input, sizeof(c->sort_input), "%s/sort-input.txt", c->dir);
	f = fopen(c->sort_input, "w");
	if (!f)
		return -errno;
	while (written < size) {
		uint64_t r = random_next(&s);
		int len =
			snprintf(buf + n, sizeof(buf) - n, "%016" PRIx64 " %s %s %s %" PRIu64 "\n",
				 r, words[r % 10], words[(r >> 8) % 10], words[(r >> 16) % 10],
				 (r >> 24) % 1000000);

		n += (size_t)len;
		written += (uint64_t)len;
		if (n > sizeof(buf) - 128) {
			if (fwrite(buf, 1, n, f) != n)
				break;
			n = 0;
		}
	}
	if (n && fwrite(buf, 1, n, f) != n)
		written = 0;
	if (fclose(f) || written < size)
		return -EIO;
	return 0;
}

static void declare_sort(struct cmp_result *r)
{
	fig(r, "wall_s", "wall time", "s", 2, false);
}

static int run_sort(struct cmp_ctx *c, struct cmp_result *r, uint64_t size)
{
	char bufsz[32];
	char *argv[] = {(char *)"sort", (char *)"-S",  bufsz, (char *)"-T",
			c->dir,		c->sort_input, NULL};
	struct sink out;
	struct stat st;
	int status, ret;
	double t;

	if (!c->sort_input[0]) {
		c->phase = "writing the input";
		ret = make_sort_input(c, size);
		if (ret) {
			side_error(c, r, "cannot write the sort input in %s: %s", c->dir,
				   strerror(-ret));
			return 0;
		}
	}
	if (stat(c->sort_input, &st))
		return -errno;
	/*
	 * A buffer larger than the data needs (sort then works in memory, no
	 * temporary files) and larger than the budget.
	 */
	snprintf(bufsz, sizeof(bufsz), "%" PRIu64 "K",
		 max((uint64_t)st.st_size * 3, 2 * c->o->budget) / 1024 + 1024);
	c->phase = "sorting";
	t = bench_now();
	ret = run_captured(c, SPAWN_LIMITED, argv, &out, &status);
	if (ret)
		return ret;
	if (!exit_ok(c, r, "sort", status))
		return 0;
	set_fig(c, r, "wall_s", bench_now() - t);
	if (out.bytes != (uint64_t)st.st_size) {
		side_error(c, r, "sort wrote %" PRIu64 " bytes of a %" PRIu64 "-byte input",
			   out.bytes, (uint64_t)st.st_size);
		return 0;
	}
	if (c->have_sort_hash && out.hash != c->sort_hash) {
		side_error(c, r, "sort's output differs from the other side's");
		return 0;
	}
	c->sort_hash = out.hash;
	c->have_sort_hash = true;
	return 0;
}

/* ---- redis ---- */

struct rconn {
	int fd;
	char buf[65536];
	size_t len;
};

static int redis_connect(struct rconn *rc, const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	rc->len = 0;
	rc->fd = -1;
	if (snprintf(a.sun_path, sizeof(a.sun_path), "%s", path) >= (int)sizeof(a.sun_path))
		return -ENAMETOOLONG;
	rc->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (rc->fd < 0)
		return -errno;
	if (connect(rc->fd, (struct sockaddr *)&a, sizeof(a))) {
		int err = -errno;

		close(rc->fd);
		rc->fd = -1;
		return err;
	}
	return 0;
}

static int redis_send(struct cmp_ctx *c, struct rconn *rc, const char *data, size_t len)
{
	while (len) {
		struct pollfd p = {.fd = rc->fd, .events = POLLOUT};
		ssize_t n;

		if (tick(c))
			return -EINTR;
		if (poll(&p, 1, TICK_MS) <= 0)
			continue;
		n = send(rc->fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n > 0) {
			data += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

/* The length of the complete reply at the start of the buffer, or 0. */
static size_t reply_len(const struct rconn *rc)
{
	const char *end = memmem(rc->buf, rc->len, "\r\n", 2);
	long long bulk;

	if (!end)
		return 0;
	if (rc->buf[0] != '$')
		return (size_t)(end - rc->buf) + 2;
	bulk = strtoll(rc->buf + 1, NULL, 10);
	if (bulk < 0)
		return (size_t)(end - rc->buf) + 2;
	if (rc->len < (size_t)(end - rc->buf) + 2 + (size_t)bulk + 2)
		return 0;
	return (size_t)(end - rc->buf) + 2 + (size_t)bulk + 2;
}

/*
 * redis_reply - the next reply, NUL-terminated, into @out (truncated to
 * @len). Return: 0, -EINTR, -ETIMEDOUT (@timeout_s), -EPIPE (closed), -E2BIG.
 */
static int redis_reply(struct cmp_ctx *c, struct rconn *rc, char *out, size_t len, double timeout_s)
{
	double start = bench_now();
	size_t n;

	while (!(n = reply_len(rc))) {
		struct pollfd p = {.fd = rc->fd, .events = POLLIN};
		ssize_t got;

		if (rc->len == sizeof(rc->buf))
			return -E2BIG;
		if (tick(c))
			return -EINTR;
		if (bench_now() - start > timeout_s)
			return -ETIMEDOUT;
		if (poll(&p, 1, TICK_MS) <= 0)
			continue;
		got = recv(rc->fd, rc->buf + rc->len, sizeof(rc->buf) - rc->len, 0);
		if (got == 0)
			return -EPIPE;
		if (got < 0 && errno != EINTR)
			return -errno;
		if (got > 0)
			rc->len += (size_t)got;
	}
	if (out) {
		size_t k = n < len - 1 ? n : len - 1;

		memcpy(out, rc->buf, k);
		out[k] = '\0';
	}
	memmove(rc->buf, rc->buf + n, rc->len - n);
	rc->len -= n;
	return 0;
}

/* Send one inline command and read its reply into @out. */
static int redis_cmd(struct cmp_ctx *c, struct rconn *rc, const char *cmd, char *out, size_t len)
{
	char line[128];
	int ret;

	snprintf(line, sizeof(line), "%s\r\n", cmd);
	ret = redis_send(c, rc, line, strlen(line));
	return ret ?: redis_reply(c, rc, out, len, START_TIMEOUT_S);
}

/* A number from an INFO reply ("name:value"), or -1. */
static double info_number(const char *info, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = info; (p = strstr(p, name)); p++)
		if ((p == info || p[-1] == '\n' || p[-1] == ',') &&
		    (p[nlen] == ':' || p[nlen] == '='))
			return strtod(p + nlen + 1, NULL);
	return -1;
}

/* GET's call count: "cmdstat_get:calls=N,..." */
static double get_calls(const char *info)
{
	const char *p = strstr(info, "cmdstat_get:");

	return p ? info_number(p + 12, "calls") : 0;
}

/* SET key:%012u to a 1 KiB value for every key, pipelined. */
static int redis_load(struct cmp_ctx *c, struct rconn *rc, uint64_t keys)
{
	static char batch[REDIS_BATCH * (VALUE_BYTES + 96)];
	uint64_t value[VALUE_BYTES / 8];
	char reply[64];
	int ret;

	for (uint64_t k = 0; k < keys; k += REDIS_BATCH) {
		uint64_t n = keys - k < REDIS_BATCH ? keys - k : REDIS_BATCH;
		size_t len = 0;

		for (uint64_t i = k; i < k + n; i++) {
			bench_fill(value, VALUE_BYTES, i, 1);
			len += (size_t)sprintf(batch + len,
					       "*3\r\n$3\r\nSET\r\n$16\r\nkey:%012" PRIu64
					       "\r\n$%u\r\n",
					       i, VALUE_BYTES);
			memcpy(batch + len, value, VALUE_BYTES);
			len += VALUE_BYTES;
			memcpy(batch + len, "\r\n", 2);
			len += 2;
		}
		ret = redis_send(c, rc, batch, len);
		for (uint64_t i = 0; !ret && i < n; i++) {
			ret = redis_reply(c, rc, reply, sizeof(reply), START_TIMEOUT_S);
			if (!ret && strncmp(reply, "+OK", 3))
				return -EPROTO;
		}
		if (ret)
			return ret;
	}
	return 0;
}

static void redis_argv(char *sock, uint64_t keys, uint64_t requests, bool loop, char **argv,
		       char *nbuf, char *rbuf)
{
	unsigned n = 0;

	sprintf(nbuf, "%" PRIu64, requests);
	sprintf(rbuf, "%" PRIu64, keys);
	argv[n++] = (char *)"redis-benchmark";
	argv[n++] = (char *)"-s";
	argv[n++] = sock;
	argv[n++] = (char *)"-t";
	argv[n++] = (char *)"get";
	argv[n++] = (char *)"-n";
	argv[n++] = nbuf;
	argv[n++] = (char *)"-r";
	argv[n++] = rbuf;
	argv[n++] = (char *)"-d";
	argv[n++] = (char *)"1024";
	argv[n++] = (char *)"-P";
	argv[n++] = (char *)"32";
	argv[n++] = (char *)"-c";
	argv[n++] = (char *)"12";
	argv[n++] = (char *)(loop ? "-l" : "--csv");
	argv[n] = NULL;
}

/* The GET rps of a redis-benchmark --csv output, or -1. */
static double benchmark_rps(const char *text)
{
	const char *p = strstr(text, "\"GET\",\"");

	return p ? strtod(p + 7, NULL) : -1;
}

static int redis_get_pass(struct cmp_ctx *c, struct cmp_result *r, char *sock, uint64_t keys,
			  uint64_t requests, double *rps)
{
	char nbuf[32], rbuf[32], *argv[24];
	struct sink out;
	int status, ret;

	redis_argv(sock, keys, requests, false, argv, nbuf, rbuf);
	ret = run_captured(c, SPAWN_PLAIN, argv, &out, &status);
	if (ret)
		return ret;
	if (!exit_status_ok(c, r, "redis-benchmark", true, status))
		return -ECHILD;
	*rps = benchmark_rps(out.text);
	if (*rps <= 0) {
		side_error(c, r, "redis-benchmark printed no GET figure");
		return -ECHILD;
	}
	return 0;
}

/* BGSAVE while redis-benchmark loops over GETs: rps from the server's count. */
static int redis_save_pass(struct cmp_ctx *c, struct cmp_result *r, struct rconn *rc, char *sock,
			   uint64_t keys, double *rps, double *save_s)
{
	static char info[16384];
	char nbuf[32], rbuf[32], *argv[24];
	double t0, t1, calls0, calls1, ramp = bench_now();
	pid_t pid;
	int ret;

	c->phase = "BGSAVE";
	redis_argv(sock, keys, 1000000, true, argv, nbuf, rbuf);
	pid = spawn(c, SPAWN_PLAIN, argv, -1);
	if (pid < 0)
		return (int)pid;
	while (bench_now() - ramp < 0.5) /* every client connected and busy */
		if (tick(c))
			return -EINTR;
		else
			sleep_ms(TICK_MS / 2);
	ret = redis_cmd(c, rc, "INFO commandstats", info, sizeof(info));
	if (ret)
		goto out;
	calls0 = get_calls(info);
	t0 = bench_now();
	ret = redis_cmd(c, rc, "BGSAVE", info, sizeof(info));
	if (ret)
		goto out;
	if (info[0] != '+') {
		side_error(c, r, "BGSAVE refused: %.200s", info);
		ret = -ECHILD;
		goto out;
	}
	c->phase = "GET during BGSAVE";
	for (;;) {
		ret = redis_cmd(c, rc, "INFO persistence", info, sizeof(info));
		if (ret)
			goto out;
		if (info_number(info, "rdb_bgsave_in_progress") == 0)
			break;
		sleep_ms(20);
	}
	t1 = bench_now();
	ret = redis_cmd(c, rc, "INFO commandstats", info, sizeof(info));
	if (ret)
		goto out;
	calls1 = get_calls(info);
	ret = redis_cmd(c, rc, "INFO persistence", info, sizeof(info));
	if (ret)
		goto out;
	if (!strstr(info, "rdb_last_bgsave_status:ok")) {
		char log[160], tail[320];

		snprintf(log, sizeof(log), "%.*s/redis.log", (int)(strrchr(sock, '/') - sock),
			 sock);
		side_error(c, r, "BGSAVE failed (redis.log: %s)",
			   log_tail(log, tail, sizeof(tail)));
		ret = -ECHILD;
		goto out;
	}
	*save_s = t1 - t0;
	*rps = (calls1 - calls0) / *save_s;
out:
	end_group(c, pid);
	return ret;
}

static void declare_redis(struct cmp_result *r)
{
	fig(r, "load_s", "load (SET 1 KiB values)", "s", 2, false);
	fig(r, "get_rps", "GET, no save", "req/s", 0, true);
	fig(r, "get_bgsave_rps", "GET during BGSAVE", "req/s", 0, true);
	fig(r, "bgsave_s", "BGSAVE duration", "s", 2, false);
	/* uswap's only: its engine is shared by redis and its BGSAVE child. */
	fig(r, "child_swapins", "BGSAVE child swap-ins", "pages", 0, false);
	fig(r, "shared_hits", "shared swap-cache hits", "pages", 0, true);
}

static int run_redis(struct cmp_ctx *c, struct cmp_result *r, uint64_t size)
{
	static char info[16384];
	uint64_t keys = size / VALUE_BYTES, requests;
	char sock[128], log[128], dir[96];
	char *argv[] = {(char *)"redis-server",
			(char *)"--port",
			(char *)"0",
			(char *)"--unixsocket",
			sock,
			(char *)"--unixsocketperm",
			(char *)"700",
			(char *)"--save",
			(char *)"",
			(char *)"--appendonly",
			(char *)"no",
			(char *)"--dir",
			dir,
			(char *)"--logfile",
			log,
			(char *)"--daemonize",
			(char *)"no",
			NULL};
	struct rconn rc = {.fd = -1};
	double t, rps = 0, save_s = 0, calls0, calls1, misses;
	int status, ret;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/redis-%s", c->dir, side_name[c->side]);
	snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
	snprintf(log, sizeof(log), "%s/redis.log", dir);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	c->phase = "starting redis-server";
	pid = spawn(c, SPAWN_LIMITED, argv, -1);
	if (pid < 0)
		return (int)pid;
	for (t = bench_now(); redis_connect(&rc, sock); sleep_ms(50)) {
		if (leader_exited(pid)) {
			supervise(c, pid, -1, NULL, &status, 0);
			exit_ok(c, r, "redis-server", status);
			side_error(c, r, "redis-server exited at start (see its log)");
			ret = 0;
			goto out;
		}
		if (tick(c)) {
			ret = -EINTR;
			goto out;
		}
		if (bench_now() - t > START_TIMEOUT_S) {
			side_error(c, r, "redis-server did not listen on %s within %.0f s", sock,
				   START_TIMEOUT_S);
			ret = 0;
			goto out;
		}
	}
	c->phase = "loading values";
	t = bench_now();
	ret = redis_load(c, &rc, keys);
	if (ret) {
		if (ret != -EINTR)
			side_error(c, r, "loading %" PRIu64 " values failed: %s", keys,
				   strerror(-ret));
		ret = ret == -EINTR ? ret : 0;
		goto out;
	}
	set_fig(c, r, "load_s", bench_now() - t);

	c->phase = "GET, no save";
	requests = keys > 100000 ? keys : 100000;
	ret = redis_cmd(c, &rc, "INFO commandstats", info, sizeof(info));
	if (ret)
		goto fail;
	calls0 = get_calls(info);
	ret = redis_get_pass(c, r, sock, keys, requests, &rps);
	if (ret)
		goto fail;
	ret = redis_cmd(c, &rc, "INFO commandstats", info, sizeof(info));
	if (ret)
		goto fail;
	calls1 = get_calls(info);
	if (calls1 - calls0 < (double)requests) {
		side_error(c, r, "redis-server counted %.0f GETs of %" PRIu64, calls1 - calls0,
			   requests);
		ret = 0;
		goto out;
	}
	set_fig(c, r, "get_rps", rps);

	ret = redis_save_pass(c, r, &rc, sock, keys, &rps, &save_s);
	if (ret)
		goto fail;
	set_fig(c, r, "get_bgsave_rps", rps);
	set_fig(c, r, "bgsave_s", save_s);

	/* Every GET must have found its key: the benchmark read what was loaded. */
	ret = redis_cmd(c, &rc, "INFO stats", info, sizeof(info));
	if (ret)
		goto fail;
	misses = info_number(info, "keyspace_misses");
	if (misses != 0)
		side_error(c, r, "%.0f GETs missed their key (keyspace_misses)", misses);
	ret = 0;
	goto out;
fail:
	if (ret == -ETIMEDOUT)
		side_error(c, r, "redis-server gave no reply within %.0f s (during: %s)",
			   START_TIMEOUT_S, c->phase);
	else if (ret != -EINTR && ret != -ECHILD)
		side_error(c, r, "talking to redis-server (during: %s): %s", c->phase,
			   strerror(-ret));
	ret = ret == -EINTR ? ret : 0;
out:
	if (rc.fd >= 0)
		close(rc.fd);
	stop_group(c, pid);
	return ret;
}

/* ---- the runs ---- */

static const struct cmp_workload workloads[] = {
	{"usemem", 8, declare_usemem, run_usemem}, /* 2x the budget */
	{"redis", 12, declare_redis, run_redis},   /* values 3x the budget: Redis holds ~4x */
	{"sort", 3, declare_sort, run_sort},	   /* input 3/4 of it: sort holds ~2x the budget */
};

/*
 * A number of key @key in the JSON of `uswap run --stats` (the first
 * occurrence, at any depth), or -1 when it is missing or not a number.
 */
static double json_number(const char *json, const char *key)
{
	char pat[80], *end;
	const char *p;
	double v;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(json, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	while (*p == ' ' || *p == ':')
		p++;
	v = strtod(p, &end);
	return end == p ? -1 : v;
}

/* The figures every workload reports, from the side's own account. */
static void declare_common(struct cmp_result *r)
{
	fig(r, "pswpin", "swap-ins", "pages", 0, false);
	fig(r, "pswpout", "swap-outs", "pages", 0, false);
	fig(r, "peak_rss_anon_mib", "peak RssAnon (sampled)", "MiB", 1, false);
	fig(r, "peak_rss_anon_shmem_mib", "peak RssAnon+RssShmem", "MiB", 1, false);
	fig(r, "peak_anon_mib", "peak anon (own account)", "MiB", 1, false);
	fig(r, "compressed_mib", "compressed store, peak", "MiB", 1, false);
	fig(r, "swapin_p50_us", "swap-in fault p50", "us", 1, false);
	fig(r, "swapin_p99_us", "swap-in fault p99", "us", 1, false);
}

static void collect_kernel(struct cmp_ctx *c, struct cmp_result *r)
{
	struct kswap_figures f;

	kswap_figures(&c->ks, &f);
	set_fig(c, r, "pswpin", (double)f.pswpin);
	set_fig(c, r, "pswpout", (double)f.pswpout);
	set_fig(c, r, "peak_anon_mib", (double)f.peak_anon / (1 << 20));
	set_fig(c, r, "compressed_mib", (double)f.zram_peak / (1 << 20));
}

static void collect_uswap(struct cmp_ctx *c, struct cmp_result *r)
{
	static const struct {
		const char *fig, *json;
		double scale;
	} keys[] = {
		{"pswpin", "pswpin", 1},
		{"pswpout", "pswpout", 1},
		{"peak_anon_mib", "resident_peak_bytes", 1.0 / (1 << 20)},
		{"compressed_mib", "compr_peak_bytes", 1.0 / (1 << 20)},
		{"swapin_p50_us", "p50", 1}, /* in "swapin_latency_us" */
		{"swapin_p99_us", "p99", 1},
	};
	/* In --stats' "tree": {"all": {...}, "root": {...}, "children": {...}, ...}. */
	static const struct {
		const char *fig, *object, *json;
	} tree_keys[] = {
		{"child_swapins", "\"children\": {", "swapins"},
		{"shared_hits", "\"all\": {", "shared_hits"},
	};
	char json[16384];

	if (cli_read_text(c->stats, json, sizeof(json)) <= 0) {
		side_error(c, r, "uswap run wrote no --stats file");
		return;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++) {
		double v = json_number(json, keys[i].json);

		if (v >= 0)
			set_fig(c, r, keys[i].fig, v * keys[i].scale);
	}
	/* The process tree's figures, where the workload shows them. */
	for (unsigned i = 0; i < ARRAY_SIZE(tree_keys); i++) {
		const char *in = strstr(json, tree_keys[i].object);
		double v = in ? json_number(in, tree_keys[i].json) : -1;

		if (v >= 0 && find_fig(r, tree_keys[i].fig))
			set_fig(c, r, tree_keys[i].fig, v);
	}
}

static void run_side(struct cmp_ctx *c, struct cmp_result *r, enum side side, uint64_t size)
{
	char err[256];
	int ret;

	c->side = side;
	c->wl_name = r->wl->name;
	c->phase = "starting";
	c->run_no++;
	c->t0 = bench_now();
	c->last_sample = 0;
	c->last_progress = 0;
	c->peak_rss_anon = 0;
	c->peak_rss_nofile = 0;
	c->prog = 0;
	if (side == KERNEL && !c->ks.available) {
		snprintf(r->err[side], sizeof(r->err[side]), "skipped: %s", c->ks.why);
		return;
	}
	if (side == USWAP && c->run_missing[0]) {
		snprintf(r->err[side], sizeof(r->err[side]), "%s", c->run_missing);
		return;
	}
	r->ran[side] = true;
	snprintf(c->stats, sizeof(c->stats), "%s/stats-%s.json", c->dir, r->wl->name);
	snprintf(c->errlog, sizeof(c->errlog), "%s/stderr-%s-%s.log", c->dir, r->wl->name,
		 side_name[side]);
	unlink(c->stats);
	if (side == KERNEL) {
		/* zram's disksize is what it may hold uncompressed, not memory it takes. */
		ret = kswap_setup(&c->ks, c->o->budget, 4 * size + (256ULL << 20), err,
				  sizeof(err));
		if (ret) {
			side_error(c, r, "kernel setup failed: %s", err);
			return;
		}
	}
	progress(c, true);
	ret = r->wl->run(c, r, size);
	if (ret && ret != -EINTR)
		side_error(c, r, "%s", strerror(-ret));
	end_all_groups(c);
	if (!r->err[side][0] && !compare_interrupted) {
		if (side == KERNEL)
			collect_kernel(c, r);
		else
			collect_uswap(c, r);
		set_fig(c, r, "peak_rss_anon_mib", (double)c->peak_rss_anon / (1 << 20));
		set_fig(c, r, "peak_rss_anon_shmem_mib", (double)c->peak_rss_nofile / (1 << 20));
	}
	if (side == KERNEL && kswap_teardown(&c->ks))
		side_error(c, r, "the kernel's state could not be fully restored");
	r->ok[side] = !r->err[side][0] && !compare_interrupted;
	c->phase = r->ok[side] ? "done" : "failed";
	progress(c, true);
	progress_done(c);
}

/* ---- output ---- */

static bool ratio(const struct cmp_fig *f, double *q)
{
	if (!f->have[KERNEL] || !f->have[USWAP] || f->v[KERNEL] == 0)
		return false;
	*q = f->v[USWAP] / f->v[KERNEL];
	return true;
}

static void print_value(FILE *out, const struct cmp_fig *f, enum side s, int width)
{
	if (f->have[s])
		fprintf(out, " %*.*f", width, f->decimals, f->v[s]);
	else
		fprintf(out, " %*s", width, "-");
}

static void print_table(struct cmp_ctx *c, struct cmp_result *res, unsigned nr)
{
	char budget[32];

	cli_format_bytes(c->o->budget, budget, sizeof(budget));
	printf("uswap bench compare: budget %s, compressor %s; kernel: memory cgroup v%d + "
	       "zram0 swap; uswap: uswap run --device zram\n\n",
	       budget, c->o->comp, c->ks.cgroup_v ? c->ks.cgroup_v : 1);
	printf("%-8s %-26s %-6s %12s %12s %8s  %s\n", "workload", "figure", "unit", "kernel",
	       "uswap", "u/k", "better");
	for (unsigned w = 0; w < nr; w++) {
		struct cmp_result *r = &res[w];

		for (unsigned i = 0; i < r->nr_figs; i++) {
			const struct cmp_fig *f = &r->figs[i];
			double q;

			if (!f->have[KERNEL] && !f->have[USWAP])
				continue;
			printf("%-8s %-26s %-6s", i ? "" : r->wl->name, f->label, f->unit);
			print_value(stdout, f, KERNEL, 12);
			print_value(stdout, f, USWAP, 12);
			if (ratio(f, &q))
				printf(" %8.2f", q);
			else
				printf(" %8s", "-");
			printf("  %s\n", f->higher_better ? "higher" : "lower");
		}
		for (int s = 0; s < 2; s++)
			if (r->err[s][0])
				printf("%-8s %s side: %s\n", r->nr_figs ? "" : r->wl->name,
				       side_name[s], r->err[s]);
	}
	printf("\nu/k: uswap's figure divided by the kernel's, both measured in this run.\n");
}

static void print_json(struct cmp_ctx *c, struct cmp_result *res, unsigned nr)
{
	printf("{\"budget_bytes\":%" PRIu64 ",\"comp\":\"%s\",\"kernel_available\":%s,"
	       "\"kernel_reason\":",
	       c->o->budget, c->o->comp, c->ks.available ? "true" : "false");
	if (c->ks.available)
		printf("null");
	else
		cli_json_string(stdout, c->ks.why);
	printf(",\"cgroup_version\":%d,\"workloads\":{", c->ks.cgroup_v);
	for (unsigned w = 0; w < nr; w++) {
		struct cmp_result *r = &res[w];

		printf("%s\"%s\":{", w ? "," : "", r->wl->name);
		for (int s = 0; s < 2; s++) {
			printf("\"%s\":{\"ran\":%s,\"ok\":%s,\"error\":", side_name[s],
			       r->ran[s] ? "true" : "false", r->ok[s] ? "true" : "false");
			if (r->err[s][0])
				cli_json_string(stdout, r->err[s]);
			else
				printf("null");
			for (unsigned i = 0; i < r->nr_figs; i++)
				if (r->figs[i].have[s])
					printf(",\"%s\":%.*f", r->figs[i].key, r->figs[i].decimals,
					       r->figs[i].v[s]);
			printf("},");
		}
		printf("\"ratio\":{");
		for (unsigned i = 0, n = 0; i < r->nr_figs; i++) {
			double q;

			if (ratio(&r->figs[i], &q))
				printf("%s\"%s\":%.4f", n++ ? "," : "", r->figs[i].key, q);
		}
		printf("}}");
	}
	printf("}}\n");
}

static int write_csv(const char *path, struct cmp_result *res, unsigned nr)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "workload,figure,unit,kernel,uswap,ratio,better\n");
	for (unsigned w = 0; w < nr; w++)
		for (unsigned i = 0; i < res[w].nr_figs; i++) {
			const struct cmp_fig *fg = &res[w].figs[i];
			double q;

			if (!fg->have[KERNEL] && !fg->have[USWAP])
				continue;
			fprintf(f, "%s,%s,%s,", res[w].wl->name, fg->key, fg->unit);
			if (fg->have[KERNEL])
				fprintf(f, "%.*f", fg->decimals, fg->v[KERNEL]);
			fputc(',', f);
			if (fg->have[USWAP])
				fprintf(f, "%.*f", fg->decimals, fg->v[USWAP]);
			fputc(',', f);
			if (ratio(fg, &q))
				fprintf(f, "%.4f", q);
			fprintf(f, ",%s\n", fg->higher_better ? "higher" : "lower");
		}
	return fclose(f) ? -errno : 0;
}

/*
 * The plot script: the file names come in as ARG1 (the PNG) and ARG2 (the
 * CSV) of `gnuplot -c`, never as script text, so no name can inject
 * commands.
 */
static const char plot_script[] =
	"set terminal pngcairo size 1100,600 noenhanced\n"
	"set output ARG1\n"
	"set datafile separator ','\n"
	"set title 'uswap / kernel, same run (above 1: uswap higher)'\n"
	"set style data histograms\n"
	"set style fill solid 0.8\n"
	"set boxwidth 0.8\n"
	"set logscale y 2\n"
	"set ylabel 'ratio uswap / kernel'\n"
	"set xtics rotate by -45 font ',8'\n"
	"set grid ytics\n"
	"set key off\n"
	"plot ARG2 using ($6 > 0 ? $6 : 1/0):xtic(strcol(1).' '.strcol(2)) skip 1 "
	"lc rgb '#1f77b4', 1 with lines lc rgb 'gray' dt 2\n";

static int write_plot(struct cmp_ctx *c, const char *png, const char *csv)
{
	char script[96];
	int fd, status;
	pid_t pid;

	snprintf(script, sizeof(script), "%s/plot.gp", c->dir);
	fd = open(script, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, plot_script, sizeof(plot_script) - 1) != (ssize_t)sizeof(plot_script) - 1) {
		close(fd);
		return -EIO;
	}
	close(fd);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("gnuplot", "gnuplot", "-c", script, png, csv, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* ---- setup ---- */

static void remove_tree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;

	if (d) {
		while ((e = readdir(d))) {
			char sub[PATH_MAX];
			struct stat st;

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
				remove_tree(sub);
			else
				unlink(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static bool executable_at(char *out, size_t len, const char *dir, const char *rel)
{
	if (snprintf(out, len, "%s/%s", dir, rel) >= (int)len)
		return false;
	return access(out, X_OK) == 0;
}

/* Find uswap-usemem: $USWAP_USEMEM, next to uswap, in the build tree, on PATH. */
static bool find_usemem(struct cmp_ctx *c)
{
	const char *env = getenv("USWAP_USEMEM"), *path = getenv("PATH");
	char dir[PATH_MAX], *slash;

	if (env && *env) {
		snprintf(c->usemem, sizeof(c->usemem), "%s", env);
		return access(c->usemem, X_OK) == 0;
	}
	snprintf(dir, sizeof(dir), "%s", c->self);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (executable_at(c->usemem, sizeof(c->usemem), dir, "uswap-usemem") ||
	    executable_at(c->usemem, sizeof(c->usemem), dir, "../../bench/uswap-usemem"))
		return true;
	while (path && *path) {
		size_t n = strcspn(path, ":");

		snprintf(dir, sizeof(dir), "%.*s", (int)n, path);
		if (n && executable_at(c->usemem, sizeof(c->usemem), dir, "uswap-usemem"))
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* Whether this build has `uswap run`: `uswap help run` succeeds. */
static void check_uswap_run(struct cmp_ctx *c)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		execl(c->self, c->self, "help", "run", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		snprintf(c->run_missing, sizeof(c->run_missing),
			 "`uswap run` is not in this build of uswap: the uswap side cannot run");
}

static const char compare_usage[] =
	"Usage: uswap bench compare [WORKLOAD...] [options]\n"
	"\n"
	"Run real programs under the kernel's own swap and under `uswap run`, with the\n"
	"same budget of memory and the same compressor, one after the other in the same\n"
	"run, and print each figure for both sides and the ratio uswap / kernel.\n"
	"\n"
	"  kernel side  the program in a new memory cgroup (v1, or v2 where that is the\n"
	"               hierarchy) limited to the budget, swapping to /dev/zram0 set up\n"
	"               for the run; needs root and an unused zram0. Everything is put\n"
	"               back as it was at the end, also after a failure or a signal.\n"
	"               Otherwise this side is skipped with one line and uswap's runs.\n"
	"  uswap side   uswap run --budget B --device zram --comp C -- PROGRAM\n"
	"\n"
	"Workloads (default: all three, in this order):\n"
	"  usemem  uswap-usemem: write, read, random write, random read of every page\n"
	"          of SIZE bytes; MB/s per pass (default SIZE 2x the budget)\n"
	"  redis   redis-server with 1 KiB values, SIZE of them (default 3x the\n"
	"          budget); redis-benchmark -d 1024 -P 32 -c 12 -t get: requests/s\n"
	"          with no save and during a BGSAVE, and the BGSAVE's duration\n"
	"  sort    GNU sort -S (a buffer larger than the data) of a generated file of\n"
	"          SIZE bytes (default 3/4 of the budget: sort then holds about twice\n"
	"          the budget), -S 3x SIZE (at least 2x the budget); wall time\n"
	"Every workload also reports swap-ins, swap-outs and its peak resident\n"
	"anonymous memory, as sampled from /proc and as each side accounts it.\n"
	"\n"
	"Options:\n"
	"  --budget B       memory each side allows the program (default 128M)\n"
	"  --size S         the data of every workload (default: per workload, above)\n"
	"  --comp lz4|zstd  compressor on both sides (default lz4)\n"
	"  --json           one JSON object instead of the table\n"
	"  --csv F          the table as CSV into F\n"
	"  --plot F.png     the ratios as a bar chart into F.png (needs gnuplot)\n"
	"  -h, --help       this text\n"
	"\n"
	"Progress goes to stderr. Environment: USWAP_COMPARE_NO_KERNEL=1 skips the\n"
	"kernel side; USWAP_USEMEM names the uswap-usemem program.\n"
	"\n"
	"Exit status: 0 every side that ran succeeded, 1 a run failed or the kernel's\n"
	"state could not be restored, 2 usage error, 128+N stopped by signal N.\n";

int cmd_bench_compare(int argc, char **argv)
{
	enum { OPT_BUDGET = 256, OPT_SIZE, OPT_COMP, OPT_JSON, OPT_CSV, OPT_PLOT };
	static const struct option opts[] = {
		{"budget", required_argument, NULL, OPT_BUDGET},
		{"size", required_argument, NULL, OPT_SIZE},
		{"comp", required_argument, NULL, OPT_COMP},
		{"json", no_argument, NULL, OPT_JSON},
		{"csv", required_argument, NULL, OPT_CSV},
		{"plot", required_argument, NULL, OPT_PLOT},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct cmp_opts o = {.budget = DEFAULT_BUDGET, .comp = "lz4"};
	struct cmp_result res[ARRAY_SIZE(workloads)];
	bool chosen[ARRAY_SIZE(workloads)] = {0};
	static struct cmp_ctx ctx;
	struct cmp_ctx *c = &ctx;
	struct sigaction sa = {.sa_handler = on_signal};
	unsigned nr = 0, failed = 0;
	char plot_csv[128] = "";
	ssize_t n;
	int opt;

	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_BUDGET:
			if (cli_parse_size(optarg, &o.budget) || o.budget < MIN_BUDGET)
				return cli_usage_error("bad --budget '%s': a size of at least 8M",
						       optarg);
			break;
		case OPT_SIZE:
			if (cli_parse_size(optarg, &o.size) || o.size < (1ULL << 20))
				return cli_usage_error("bad --size '%s': a size of at least 1M",
						       optarg);
			break;
		case OPT_COMP:
			if (strcmp(optarg, "lz4") && strcmp(optarg, "zstd"))
				return cli_usage_error("bad --comp '%s': use lz4 or zstd", optarg);
			o.comp = optarg;
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
		case 'h':
			fputs(compare_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option(opt, argv);
		}
	}
	for (int i = optind; i < argc; i++) {
		unsigned w;

		for (w = 0; w < ARRAY_SIZE(workloads); w++)
			if (!strcmp(argv[i], workloads[w].name))
				break;
		if (w == ARRAY_SIZE(workloads))
			return cli_usage_error("unknown workload '%s': use usemem, redis or sort",
					       argv[i]);
		chosen[w] = true;
	}
	if (optind == argc)
		for (unsigned w = 0; w < ARRAY_SIZE(workloads); w++)
			chosen[w] = true;

	memset(c, 0, sizeof(*c));
	c->o = &o;
	cli_subcommand = "bench compare";
	n = readlink("/proc/self/exe", c->self, sizeof(c->self) - 1);
	if (n <= 0 || stat(c->self, &c->self_st)) {
		cli_error("cannot find the uswap executable (/proc/self/exe)");
		return CLI_EXIT_FAIL;
	}
	c->self[n] = '\0';
	if (chosen[0] && !find_usemem(c)) {
		cli_error("cannot find the uswap-usemem program (next to uswap, in the build "
			  "tree's bench/, on PATH, or named by USWAP_USEMEM)");
		return CLI_EXIT_FAIL;
	}
	if (o.plot && access("/usr/bin/gnuplot", X_OK) && access("/bin/gnuplot", X_OK)) {
		cli_error("--plot needs gnuplot (scripts/deps.sh --all installs it)");
		return CLI_EXIT_FAIL;
	}
	check_uswap_run(c);
	if (c->run_missing[0])
		cli_error("%s", c->run_missing);

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	snprintf(c->dir, sizeof(c->dir), "/tmp/uswap-compare-XXXXXX");
	if (!mkdtemp(c->dir)) {
		cli_error("cannot make a temporary directory in /tmp: %s", strerror(errno));
		return CLI_EXIT_FAIL;
	}
	kswap_open(&c->ks, o.comp);
	if (!c->ks.available)
		cli_error("kernel side skipped: %s", c->ks.why);

	for (unsigned w = 0; w < ARRAY_SIZE(workloads); w++)
		if (chosen[w])
			c->nr_runs += 2;
	for (unsigned w = 0; w < ARRAY_SIZE(workloads) && !compare_interrupted; w++) {
		struct cmp_result *r = &res[nr];
		uint64_t size = o.size ? o.size : o.budget / 4 * workloads[w].default_quarters;
		enum side first = nr % 2 ? USWAP : KERNEL;

		if (!chosen[w])
			continue;
		memset(r, 0, sizeof(*r));
		r->wl = &workloads[w];
		nr++;
		r->wl->declare(r);
		declare_common(r);
		run_side(c, r, first, size);
		if (!compare_interrupted)
			run_side(c, r, !first, size);
	}

	end_all_groups(c);
	if (kswap_close(&c->ks)) {
		cli_error("the kernel's swap and zram state is not as it was before this run");
		failed++;
	}
	if (compare_interrupted) {
		int sig = compare_interrupted;

		remove_tree(c->dir);
		cli_error("stopped by signal %d; the kernel's state is restored", sig);
		return 128 + sig;
	}
	for (unsigned w = 0; w < nr; w++)
		for (int s = 0; s < 2; s++)
			if (res[w].ran[s] && !res[w].ok[s])
				failed++;
	if (c->run_missing[0])
		failed++; /* the comparison cannot be made without uswap's side */
	if (o.json)
		print_json(c, res, nr);
	else
		print_table(c, res, nr);
	if (o.csv || o.plot) {
		const char *csv = o.csv;
		int ret;

		if (!csv) {
			if (snprintf(plot_csv, sizeof(plot_csv), "%s/ratios.csv", c->dir) <
			    (int)sizeof(plot_csv))
				csv = plot_csv;
		}
		ret = csv ? write_csv(csv, res, nr) : -ENAMETOOLONG;
		if (ret) {
			cli_error("%s: %s", csv, strerror(-ret));
			failed++;
		} else if (o.plot && write_plot(c, o.plot, csv)) {
			cli_error("%s: gnuplot failed to draw the plot", o.plot);
			failed++;
		}
	}
	remove_tree(c->dir);
	return failed ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
