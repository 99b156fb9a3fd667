// SPDX-License-Identifier: MIT
/*
 * test_supervisor.c - the test runner's supervisor (test_main.c): the tests
 * run in a child, and the runner stays behind to end what a test process
 * leaves when it dies. A test process that crashes dumps its core (where
 * the system keeps cores at all), and the core is the test process's, not
 * the supervisor's own written over it. Processes a test left behind are
 * ended and reaped, and the runner exits as the test process did.
 *
 * Each test runs this program again (/proc/self/exe -t NAME MODE) in a
 * scratch directory: MODE "crash" fills memory with a marker and aborts,
 * MODE "leave" forks a child that never ends, tells its pid and exits 0.
 *
 * Owns: nothing. Locking: none.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

#define MARKER_LEN 64
#define MARKED	   (8UL << 20) /* bytes filled with the marker */

/*
 * The marker, made at run time (it is in no file the program maps): only
 * the process that filled memory with it can have it in its core.
 */
static void make_marker(unsigned char *m)
{
	for (unsigned i = 0; i < MARKER_LEN; i++)
		m[i] = (unsigned char)(i * 37 + 11) ^ 0xa5;
}

/* Run this program's test @name in mode @mode, in directory @dir. Return: its wait status. */
static int run_self(const char *name, const char *mode, const char *dir, int out_fd)
{
	pid_t pid;
	int st;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		struct rlimit rl;
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (chdir(dir))
			_exit(120);
		if (!getrlimit(RLIMIT_CORE, &rl)) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_CORE, &rl);
		}
		unsetenv("USWAP_TEST_UNSUPERVISED");
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		if (out_fd >= 0 && dup2(out_fd, 3) != 3)
			_exit(121);
		execl("/proc/self/exe", "test_supervisor", "-t", name, mode, (char *)NULL);
		_exit(122);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

/* The marker's place in the file @path: whether it holds it. */
static bool file_has_marker(const char *path)
{
	unsigned char m[MARKER_LEN], buf[1 << 16];
	size_t have = 0;
	bool found = false;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	make_marker(m);
	while (!found && (n = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		have += (size_t)n;
		found = memmem(buf, have, m, MARKER_LEN) != NULL;
		/* Keep the tail: a marker may straddle two reads. */
		if (have > MARKER_LEN) {
			memmove(buf, buf + have - MARKER_LEN, MARKER_LEN);
			have = MARKER_LEN;
		}
	}
	close(fd);
	return found;
}

/* Whether a core goes to the crashing process's working directory (no pipe, no path). */
static bool core_in_cwd(void)
{
	char pat[256] = "";
	int fd = open("/proc/sys/kernel/core_pattern", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, pat, sizeof(pat) - 1) : -1;

	if (fd >= 0)
		close(fd);
	pat[n > 0 ? n : 0] = '\0';
	return n > 0 && pat[0] != '|' && !strchr(pat, '/');
}

/*
 * A test process that crashes leaves its own core, not one of the
 * supervisor's written over it at the same place (with the usual
 * core_pattern "core", and no pid in the name, the supervisor's re-raised
 * signal dumped a core of its own there, and the test process's was lost).
 */
TEST(crashed_test_process_keeps_its_core)
{
	char dir[] = "/tmp/uswap-supervisor-XXXXXX", path[512];
	unsigned cores = 0, marked = 0;
	struct dirent *e;
	DIR *d;
	int st;

	if (test_argc >= 1 && !strcmp(test_argv[0], "crash")) {
		unsigned char *mem = malloc(MARKED);

		if (!mem)
			_exit(3);
		for (unsigned long off = 0; off + MARKER_LEN <= MARKED; off += 4096)
			make_marker(mem + off);
		abort();
	}
	if (!core_in_cwd()) {
		test_skip("cores are not written to the working directory here (core_pattern)");
		return;
	}
	REQUIRE(mkdtemp(dir));
	st = run_self("crashed_test_process_keeps_its_core", "crash", dir, -1);
	/* The runner ends as the test process did. */
	CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	d = opendir(dir);
	REQUIRE(d);
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "core", 4))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		cores++;
		if (file_has_marker(path))
			marked++;
		else
			printf("# %s is not the test process's core\n", e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
	if (!cores) {
		test_skip("no core dumped here (RLIMIT_CORE, core_pattern, or a sanitizer)");
		return;
	}
	CHECK_EQ(marked, 1U);
	CHECK_EQ(cores, 1U);
}

/*
 * A test process that exits leaving a process behind: the runner ends and
 * reaps it, and exits as the test process did.
 */
TEST(leftover_of_a_test_process_is_ended)
{
	char dir[] = "/tmp/uswap-supervisor-XXXXXX";
	pid_t left = 0;
	int fds[2], st;

	if (test_argc >= 1 && !strcmp(test_argv[0], "leave")) {
		pid_t c = fork();

		if (c < 0)
			_exit(3);
		if (!c) {
			for (;;)
				pause();
		}
		if (write(3, &c, sizeof(c)) != sizeof(c))
			_exit(4);
		_exit(0);
	}
	REQUIRE(mkdtemp(dir));
	REQUIRE(!pipe(fds));
	st = run_self("leftover_of_a_test_process_is_ended", "leave", dir, fds[1]);
	close(fds[1]);
	CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(read(fds[0], &left, sizeof(left)), (ssize_t)sizeof(left));
	close(fds[0]);
	rmdir(dir);
	/* Ended and reaped by the runner before it exited: the pid names nothing now. */
	CHECK(left > 0 && kill(left, 0) == -1 && errno == ESRCH);
}
