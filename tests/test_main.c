// SPDX-License-Identifier: MIT
/*
 * test_main.c - the runner behind test.h.
 *
 * Owns: the test registry and the per-test engine list. Locking: failures
 * counted atomically; everything else runs on the main thread.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/race.h"
#include "dev/ram.h"

#define MAX_TESTS   256
#define MAX_ENGINES 16

static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static int nr_tests;
static int cur_failures;
static bool cur_skipped;
/* A copy: callers pass reasons in buffers of their own, gone once they return. */
static char cur_skip_why[256];
static const char *cur_todo_why;
static int cur_failures_before_todo;
static struct uswap *engines[MAX_ENGINES];
static int nr_engines;

uint64_t test_seed;

int t_race_inject(unsigned intensity, const char *points)
{
	if (!intensity) {
		printf("# race injection: off%s\n",
		       race_points_available() ? "" : " (a build without race points)");
		return 0;
	}
	if (!race_points_available()) {
		test_fail(__FILE__, __LINE__,
			  "-R %u: race injection needs a build with race points (debug_checks)",
			  intensity);
		return -1;
	}
	if (race_inject_select(points) || race_inject_start(test_seed, intensity)) {
		test_fail(__FILE__, __LINE__, "race injection refused to start");
		return -1;
	}
	printf("# race injection: intensity %u%s%s, rates from seed %" PRIu64 " (-R 0: off)\n",
	       intensity, points ? ", points matching " : "", points ? points : "", test_seed);
	return 0;
}
int test_argc;
char **test_argv;

void test_register(const char *name, test_fn fn)
{
	if (nr_tests < MAX_TESTS) {
		tests[nr_tests].name = name;
		tests[nr_tests].fn = fn;
		nr_tests++;
	}
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add_relaxed(&cur_failures, 1);
	fprintf(stdout, "# FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void test_todo(const char *why)
{
	cur_todo_why = why;
	cur_failures_before_todo = atomic_load_relaxed(&cur_failures);
}

void test_skip(const char *why)
{
	cur_skipped = true;
	snprintf(cur_skip_why, sizeof(cur_skip_why), "%s", why);
}

struct uswap *t_engine(void)
{
	struct uswap *sw;
	int err = swap_engine_create(&sw, 1UL << 32, false);

	if (err) {
		test_fail(__FILE__, __LINE__, "swap_engine_create: %d", err);
		exit(1);
	}
	if (nr_engines < MAX_ENGINES)
		engines[nr_engines++] = sw;
	return sw;
}

int t_ramdev(struct uswap *sw, unsigned long nr_pages, unsigned long dev_flags, int prio)
{
	struct swap_dev *dev;
	int err = ramdev_create(&dev, sw->arena, nr_pages, dev_flags);

	if (err)
		return err;
	return swapon(sw, dev, prio);
}

static void finish_engines(void)
{
	for (int i = 0; i < nr_engines; i++) {
		struct uswap *sw = engines[i];

		if (swap_check_all(sw))
			test_fail(__FILE__, __LINE__, "invariant check failed after test");
		for (unsigned t = 0; t < MAX_SWAPFILES; t++) {
			struct swap_info_struct *si = sw->swap_info[t];

			if (si && (si->flags & SWP_USED)) {
				if (swapoff_begin(sw, t) == 0 && swapoff_finish(sw, t) != 0) {
					test_fail(__FILE__, __LINE__,
						  "device %u still has %lu slots in use after test",
						  t, swap_inuse_pages(si));
				}
			}
		}
		swap_engine_destroy(sw);
	}
	nr_engines = 0;
}

/*
 * The tests run in a child of this process, which stays behind as their
 * supervisor. A test process that ends mid-test (a sanitizer's report
 * halts it at once) leaves the children it forked blocked for good on
 * pages their paging process took with it (by design: never zeros, see
 * docs/uffd.md), holding the test's output open, so meson waited for its
 * timeout. As a subreaper the supervisor inherits them once the test
 * process is gone; it kills them, says so, and exits as the test process
 * did. USWAP_TEST_UNSUPERVISED=1 runs the tests in this process.
 */
static pid_t supervised;

static void supervise_forward(int sig)
{
	if (supervised > 0)
		kill(supervised, sig);
}

/* Kill every child of ours (orphans of the test process). Return: whether there was one. */
static bool supervise_kill_children(void)
{
	char path[64], buf[4096];
	bool any = false;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[len > 0 ? len : 0] = '\0';
	for (char *s = buf, *end; *s; s = end) {
		long pid = strtol(s, &end, 10);

		if (end == s)
			break;
		if (pid > 0 && kill((pid_t)pid, SIGKILL) == 0)
			any = true;
	}
	return any;
}

static void test_supervise(void)
{
	const char *off = getenv("USWAP_TEST_UNSUPERVISED");
	bool killed = false;
	pid_t pid, w;
	int st;

	if ((off && *off == '1') || prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL))
		return;
	fflush(NULL);
	pid = fork();
	if (pid <= 0) {
		/* The test process (or no supervisor: run here). */
		prctl(PR_SET_CHILD_SUBREAPER, 0UL, 0UL, 0UL, 0UL);
		if (!pid)
			prctl(PR_SET_PDEATHSIG, SIGKILL, 0UL, 0UL, 0UL);
		return;
	}
	supervised = pid;
	signal(SIGTERM, supervise_forward);
	signal(SIGINT, supervise_forward);
	signal(SIGHUP, supervise_forward);
	signal(SIGQUIT, supervise_forward);
	while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (w != pid)
		_exit(2);
	/* What is left was forked by the tests and is ours now: end it. */
	for (;;) {
		w = waitpid(-1, NULL, WNOHANG);
		if (w > 0)
			continue;
		if (w < 0 && errno != EINTR)
			break;
		killed |= supervise_kill_children();
		usleep(1000);
	}
	if (killed)
		printf("# the test process left processes behind: killed\n");
	fflush(stdout);
	if (WIFSIGNALED(st)) {
		/*
		 * No core of ours: the test process dumped its own where ours
		 * would go (the usual core_pattern "core" has no pid in it).
		 */
		setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});
		signal(WTERMSIG(st), SIG_DFL);
		kill(getpid(), WTERMSIG(st));
		_exit(128 + WTERMSIG(st));
	}
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 2);
}

int main(int argc, char **argv)
{
	const char *filter = NULL;
	int opt, failed = 0, n = 0;

	test_supervise();
	test_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	while ((opt = getopt(argc, argv, "s:t:")) != -1) {
		switch (opt) {
		case 's':
			test_seed = strtoull(optarg, NULL, 0);
			break;
		case 't':
			filter = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-s seed] [-t name]\n", argv[0]);
			return 2;
		}
	}
	test_argc = argc - optind;
	test_argv = argv + optind;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# seed %" PRIu64 " (rerun with -s %" PRIu64 ")\n", test_seed, test_seed);
	for (int i = 0; i < nr_tests; i++)
		if (!filter || strstr(tests[i].name, filter))
			n++;
	printf("1..%d\n", n);
	n = 0;
	for (int i = 0; i < nr_tests; i++) {
		if (filter && !strstr(tests[i].name, filter))
			continue;
		cur_failures = 0;
		cur_skipped = false;
		cur_todo_why = NULL;
		tests[i].fn();
		finish_engines();
		n++;
		/* A failure before test_todo() is not the known one: it fails. */
		if (cur_failures && cur_todo_why && !cur_failures_before_todo) {
			printf("not ok %d - %s # TODO %s\n", n, tests[i].name, cur_todo_why);
		} else if (cur_failures) {
			printf("not ok %d - %s\n", n, tests[i].name);
			failed++;
		} else if (cur_skipped) {
			printf("ok %d - %s # SKIP %s\n", n, tests[i].name, cur_skip_why);
		} else {
			printf("ok %d - %s\n", n, tests[i].name);
		}
	}
	return failed ? 1 : 0;
}
