// SPDX-License-Identifier: MIT
/*
 * sigcheck.c - a program for `uswap run` to page: it allocates anonymous
 * memory three ways (malloc, mmap, brk/sbrk) from several threads, writes a
 * signature into every page (owner thread, address, version), rewrites a
 * part of them, reads other threads' pages while they do, and at the end
 * verifies every page. It prints one line with its result and exits 0 only
 * if every page held exactly what was last written.
 *
 * Usage: sigcheck [-t THREADS] [-m MiB] [-p PASSES]
 *                 [-f check|unshare|setns|orphan|orphan_exit|orphan_quick_exit|
 *                     orphan_exec|orphan_execveat|orphan_daemon|rootkill|rootexit|
 *                     rawexec|exec_fail [-o FILE]]
 *   -t  threads (default 4)   -m  MiB of data in all (default 64)
 *   -p  rewrite passes (default 2)
 *   -f check   after its own check, fork a child that checks every page
 *              while the parent checks them all again; the child's verdict
 *              is part of the exit status
 *   -f unshare the same, but the child first enters a new user namespace
 *              (unshare(CLONE_NEWUSER), which the kernel refuses a
 *              multithreaded process: EINVAL) and says so on stdout
 *   -f setns   the same, but the child forks a grandchild that makes a new
 *              user namespace as above, and enters it (setns(), which the
 *              kernel refuses a multithreaded process too)
 *   -f orphan  fork a child and exit at once: the child waits until its
 *              parent is gone, then checks every page and writes its
 *              verdict ("OK PAGES" or "FAILED BAD PAGES") to FILE (-o)
 *   -f orphan_exit, orphan_exec  the same, but we leave by _exit(0), or by
 *              an exec of true(1) (execlp): neither runs the exit handlers
 *   -f orphan_execveat  the same, the exec by execveat(3) (glibc 2.34)
 *   -f orphan_quick_exit  the same, we leave by quick_exit(0) (C11), which
 *              runs its own handlers and then _exit() within libc
 *   -f orphan_daemon  the same through daemon(3), whose parent leaves by
 *              _exit(): the daemon checks every page once that parent is gone
 *   -f rootkill  fork a child that writes "child PID" to FILE (-o) and
 *              checks every page; once it has checked a few, we kill
 *              ourselves with SIGKILL. At its first wrong page the child
 *              appends "FAILED PAGE-INDEX" to FILE at once and exits 1; if
 *              it gets through, "OK PAGES". Under `uswap run` it must do
 *              neither: pages swapped out before the fork went with us, so
 *              it must be stopped before it reads one (and ended).
 *   -f rootexit  the same, but we leave by the raw exit_group system call
 *              (status 3), which no interposition sees: no hand-over.
 *   -f rawexec  the same, but we exec sh(1) by the raw execve system call
 *              (no hand-over); the shell waits up to 10 s for the child to
 *              be gone and exits 0 if it went, 1 if not.
 *   -f exec_fail  fork a child, then try execs that must fail (a name on no
 *              PATH entry with execlp, FILE, not executable, with execv, a
 *              path that does not exist with execl); then the child checks
 *              every page and writes its verdict to FILE ("OK PAGES"), and
 *              we wait for it: its pages must still be paged (swap-ins,
 *              evictions with USWAP_CHILD_EVICT=1), not handed over.
 *
 * The brk region is taken with sbrk() by the main thread before any other
 * thread starts (sbrk is not thread-safe against malloc's own use of brk);
 * the threads then fill it like the others. Each thread's share is split
 * into thirds: malloc'ed blocks of 1 MiB, one mmap, its slice of the brk
 * region.
 *
 * Owns: everything. Locking: a thread writes only its own pages; it reads
 * others' pages only between barriers, when nobody writes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE	    4096UL
#define MAGIC	    0x5349474348454b31ULL /* "SIGCHEK1" */
#define BLOCK	    (1UL << 20)
#define MAX_THREADS 64

struct page_sig {
	uint64_t magic;
	uint64_t owner;
	uint64_t addr;
	uint64_t version;
};

struct region {
	char *base;
	size_t pages;
};

struct worker {
	pthread_t tid;
	unsigned id;
	size_t pages;	   /* pages owned */
	char **page;	   /* address of each owned page */
	uint32_t *version; /* last version written to each */
	struct region brk_slice;
	struct region mmap_region;
	char **blocks; /* malloc'ed 1 MiB blocks */
	size_t nr_blocks;
	unsigned long bad;
};

static unsigned nr_threads = 4, passes = 2;
static size_t total_mib = 64;
static struct worker workers[MAX_THREADS];
static pthread_barrier_t barrier;
static atomic_ulong reported;
static size_t share_bytes;

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/*
 * The page's contents for (owner, version): a header, then words that
 * depend on the header and their position, each repeated four times so the
 * page compresses about as well as ordinary program data.
 */
static void fill(char *p, unsigned owner, uint32_t version)
{
	struct page_sig *s = (struct page_sig *)p;
	uint64_t *w = (uint64_t *)p;
	uint64_t seed = mix(((uint64_t)owner << 40) ^ (uintptr_t)p ^ ((uint64_t)version << 20));

	for (size_t i = sizeof(*s) / 8; i < PAGE / 8; i++)
		w[i] = mix(seed + i / 4);
	s->owner = owner;
	s->addr = (uintptr_t)p;
	s->version = version;
	s->magic = MAGIC;
}

static bool check(const char *p, unsigned owner, uint32_t version, const char *when)
{
	const struct page_sig *s = (const struct page_sig *)p;
	const uint64_t *w = (const uint64_t *)p;
	uint64_t seed = mix(((uint64_t)owner << 40) ^ (uintptr_t)p ^ ((uint64_t)version << 20));
	size_t i;

	if (s->magic == MAGIC && s->owner == owner && s->addr == (uintptr_t)p &&
	    s->version == version) {
		for (i = sizeof(*s) / 8; i < PAGE / 8; i++)
			if (w[i] != mix(seed + i / 4))
				break;
		if (i == PAGE / 8)
			return true;
	}
	if (atomic_fetch_add(&reported, 1) < 10)
		fprintf(stderr,
			"sigcheck: %s: page %p of thread %u version %u holds magic %#" PRIx64
			" owner %" PRIu64 " addr %#" PRIx64 " version %" PRIu64 "%s\n",
			when, (const void *)p, owner, version, s->magic, s->owner, s->addr,
			s->version, s->magic == MAGIC ? " (body differs or header wrong)" : "");
	return false;
}

static int setup(struct worker *w, size_t share)
{
	size_t third = share / 3 / PAGE * PAGE, n = 0;
	size_t mmap_bytes = third, malloc_bytes = third;

	w->pages = w->brk_slice.pages + mmap_bytes / PAGE + malloc_bytes / PAGE;
	w->page = calloc(w->pages, sizeof(*w->page));
	w->version = calloc(w->pages, sizeof(*w->version));
	if (!w->page || !w->version)
		return -ENOMEM;
	for (size_t i = 0; i < w->brk_slice.pages; i++)
		w->page[n++] = w->brk_slice.base + i * PAGE;

	w->mmap_region.base =
		mmap(NULL, mmap_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->mmap_region.base == MAP_FAILED)
		return -errno;
	w->mmap_region.pages = mmap_bytes / PAGE;
	for (size_t i = 0; i < w->mmap_region.pages; i++)
		w->page[n++] = w->mmap_region.base + i * PAGE;

	/* malloc: 1 MiB blocks, page-aligned addresses inside each. */
	w->nr_blocks = (malloc_bytes + BLOCK - PAGE - 1) / (BLOCK - PAGE);
	w->blocks = calloc(w->nr_blocks, sizeof(*w->blocks));
	if (!w->blocks)
		return -ENOMEM;
	for (size_t b = 0; b < w->nr_blocks && n < w->pages; b++) {
		char *p, *first;

		w->blocks[b] = malloc(BLOCK);
		if (!w->blocks[b])
			return -ENOMEM;
		p = w->blocks[b];
		first = (char *)(((uintptr_t)p + PAGE - 1) & ~(PAGE - 1));
		for (char *q = first; q + PAGE <= p + BLOCK && n < w->pages; q += PAGE)
			w->page[n++] = q;
	}
	w->pages = n;
	return 0;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uint64_t rnd = mix(w->id + 1);
	int err = setup(w, share_bytes);

	if (err) {
		fprintf(stderr, "sigcheck: thread %u: allocation: %s\n", w->id, strerror(-err));
		exit(1);
	}
	/* Phase 1: every page version 1. */
	for (size_t i = 0; i < w->pages; i++) {
		w->version[i] = 1;
		fill(w->page[i], w->id, 1);
	}
	pthread_barrier_wait(&barrier);
	/*
	 * Phase 2: rewrite a different subset each pass (a new version), and
	 * check random pages of the other threads, which only read theirs.
	 */
	for (unsigned pass = 0; pass < passes; pass++) {
		for (size_t i = 0; i < w->pages; i++) {
			if ((i + pass) % 3)
				continue;
			w->version[i]++;
			fill(w->page[i], w->id, w->version[i]);
		}
		pthread_barrier_wait(&barrier);
		for (size_t k = 0; k < w->pages / 4; k++) {
			struct worker *o;
			size_t i;

			rnd = mix(rnd);
			o = &workers[rnd % nr_threads];
			i = (rnd >> 20) % o->pages;
			if (!check(o->page[i], o->id, o->version[i], "cross-thread read"))
				w->bad++;
		}
		pthread_barrier_wait(&barrier);
	}
	/* Phase 3: every own page, last version. */
	for (size_t i = 0; i < w->pages; i++)
		if (!check(w->page[i], w->id, w->version[i], "final check"))
			w->bad++;
	return NULL;
}

/* Every page of every thread, last version. Return: bad pages. */
static unsigned long check_all(const char *when)
{
	unsigned long bad = 0;

	for (unsigned t = 0; t < nr_threads; t++)
		for (size_t i = 0; i < workers[t].pages; i++)
			bad += !check(workers[t].page[i], workers[t].id, workers[t].version[i],
				      when);
	return bad;
}

/* What the child of -f check does first. */
enum { CHECK_ONLY, CHECK_UNSHARE, CHECK_SETNS };

/*
 * -f setns, in the forked child: a grandchild makes a new user namespace and
 * waits; we enter it with setns(). Return: 0, or -1 (said on stdout).
 */
static int enter_grandchild_userns(void)
{
	int ready[2], fd = -1, err = 0;
	char path[64], c;
	pid_t gc;

	if (pipe(ready))
		return -1;
	gc = fork();
	if (gc < 0)
		return -1;
	if (!gc) {
		close(ready[0]);
		c = unshare(CLONE_NEWUSER) ? 'e' : 'r';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1 || c != 'r') {
		printf("sigcheck: FAILED: the grandchild could not make a user namespace\n");
		err = -1;
	} else {
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)gc);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWUSER)) {
			printf("sigcheck: FAILED: setns() into a new user namespace in the forked "
			       "child: %s\n",
			       strerror(errno));
			err = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	close(ready[0]);
	kill(gc, SIGKILL);
	waitpid(gc, NULL, 0);
	return err;
}

/*
 * -f check: a child checks every page while we check them all again; with
 * CHECK_UNSHARE (-f unshare) it makes and enters a new user namespace first,
 * with CHECK_SETNS (-f setns) it enters one a grandchild made.
 * Return: 0 or 1.
 */
static int fork_check(int how)
{
	unsigned long bad;
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		perror("sigcheck: fork");
		return 1;
	}
	if (!pid) {
		if (how == CHECK_UNSHARE && unshare(CLONE_NEWUSER)) {
			printf("sigcheck: FAILED: unshare(CLONE_NEWUSER) in the forked child: %s\n",
			       strerror(errno));
			fflush(stdout);
			_exit(1);
		}
		if (how == CHECK_SETNS && enter_grandchild_userns()) {
			fflush(stdout);
			_exit(1);
		}
		if (how != CHECK_ONLY) {
			printf("sigcheck: fork: the child entered a new user namespace\n");
			fflush(stdout);
		}
		_exit(check_all("forked child") ? 1 : 0);
	}
	bad = check_all("parent after the fork");
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("sigcheck: FAILED: the forked child found bad pages (status %#x)\n", status);
		return 1;
	}
	if (bad) {
		printf("sigcheck: FAILED: %lu bad pages after the fork\n", bad);
		return 1;
	}
	printf("sigcheck: fork: the child and the parent checked every page\n");
	return 0;
}

/* Return: our RssAnon in KiB (0: not found). */
static unsigned long rss_anon_kb(void)
{
	char line[256];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %lu", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/*
 * An orphan's verdict: check every page and write "OK PAGES" or "FAILED BAD
 * PAGES" to @path (a temporary name renamed into place), then our RssAnon
 * after the check ("rss_anon_kb N"), then exit.
 */
static __attribute__((noreturn)) void orphan_verdict(const char *path, size_t total_pages)
{
	char tmp[4096];
	unsigned long bad = check_all("child after its parent exited");
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		_exit(3);
	if (bad)
		fprintf(f, "FAILED %lu %zu rss_anon_kb %lu\n", bad, total_pages, rss_anon_kb());
	else
		fprintf(f, "OK %zu rss_anon_kb %lu\n", total_pages, rss_anon_kb());
	if (fclose(f) || rename(tmp, path))
		_exit(4);
	_exit(bad ? 1 : 0);
}

/*
 * -f orphan: the child outlives us. It learns we are gone when our end of a
 * pipe closes (at our exit), then writes its verdict (orphan_verdict()). We
 * leave as @how says: orphan returns from main, orphan_exit calls _exit(),
 * orphan_quick_exit by quick_exit(), orphan_exec execs true(1),
 * orphan_execveat the same by execveat(3).
 * Return: 0 or 1 (ours).
 */
static int fork_orphan(const char *path, size_t total_pages, const char *how)
{
	int gone[2];
	pid_t pid;

	if (!path || pipe(gone)) {
		fprintf(stderr, "sigcheck: -f orphan needs -o FILE (and a pipe)\n");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("sigcheck: fork");
		return 1;
	}
	if (!pid) {
		char c;

		close(gone[1]);
		if (read(gone[0], &c, 1) != 0)
			_exit(2);
		orphan_verdict(path, total_pages);
	}
	close(gone[0]);
	printf("sigcheck: fork: child %d outlives us\n", (int)pid);
	fflush(stdout);
	if (!strcmp(how, "orphan_exit"))
		_exit(0); /* closes gone[1], no exit handler run */
	if (!strcmp(how, "orphan_quick_exit"))
		quick_exit(0); /* nor here: only at_quick_exit() ones */
	if (!strcmp(how, "orphan_exec")) {
		execlp("true", "true", (char *)NULL); /* gone[1] closes when true exits */
		perror("sigcheck: exec true");
		return 1;
	}
	if (!strcmp(how, "orphan_execveat")) {
		char *argv[] = {"true", NULL};

		execveat(AT_FDCWD, "/bin/true", argv, environ, 0);
		perror("sigcheck: execveat /bin/true");
		return 1;
	}
	return 0; /* our exit closes gone[1] */
}

/*
 * -f orphan_daemon: daemon(3) forks and its parent (the process that did
 * all the work) leaves by _exit(); we are the child. Once it is gone, check
 * every page and write the verdict to @path. Return: 1 if daemon() failed.
 */
static int fork_daemon(const char *path, size_t total_pages)
{
	pid_t parent = getpid();

	if (!path) {
		fprintf(stderr, "sigcheck: -f orphan_daemon needs -o FILE\n");
		return 1;
	}
	fflush(stdout);
	if (daemon(1, 1)) {
		perror("sigcheck: daemon");
		return 1;
	}
	while (getppid() == parent)
		usleep(1000);
	orphan_verdict(path, total_pages);
}

/* Append @line to the verdict file @fd at once (the child may be killed next). */
static void say_to(int fd, const char *line)
{
	if (write(fd, line, strlen(line)) < 0)
		_exit(5);
}

/*
 * -f rootkill: a child checks every page while we kill ourselves (SIGKILL)
 * after its first few checks; -f rootexit: we leave by the raw exit_group
 * system call instead; -f rawexec: by the raw execve system call (@how).
 * Return: only on failure (1).
 */
static int fork_rootkill(const char *path, size_t total_pages, const char *how)
{
	static const char wait_gone[] = "for i in $(seq 100); do [ -e /proc/$1 ] || exit 0; "
					"sleep 0.1; done; exit 1";
	char child[32];
	int started[2], fd;
	char line[128], c = 0;
	pid_t pid;

	fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644) : -1;
	if (fd < 0 || pipe(started)) {
		fprintf(stderr, "sigcheck: -f rootkill needs -o FILE (and a pipe)\n");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("sigcheck: fork");
		return 1;
	}
	if (!pid) {
		size_t n = 0;

		close(started[0]);
		snprintf(line, sizeof(line), "child %d\n", (int)getpid());
		say_to(fd, line);
		for (unsigned t = 0; t < nr_threads; t++)
			for (size_t i = 0; i < workers[t].pages; i++, n++) {
				if (!check(workers[t].page[i], workers[t].id, workers[t].version[i],
					   "child while its parent is killed")) {
					snprintf(line, sizeof(line), "FAILED %zu\n", n);
					say_to(fd, line);
					_exit(1);
				}
				if (n == 64 && write(started[1], &c, 1) != 1)
					_exit(2);
			}
		snprintf(line, sizeof(line), "OK %zu\n", total_pages);
		say_to(fd, line);
		_exit(0);
	}
	close(started[1]);
	close(fd);
	if (read(started[0], &c, 1) != 1) {
		fprintf(stderr, "sigcheck: -f rootkill: the child did not start checking\n");
		return 1;
	}
	printf("sigcheck: fork: child %d checks; %s\n", (int)pid,
	       !strcmp(how, "rootexit")	 ? "leaving by exit_group(3)"
	       : !strcmp(how, "rawexec") ? "exec'ing sh by the raw system call"
					 : "killing ourselves");
	fflush(stdout);
	if (!strcmp(how, "rootexit"))
		syscall(SYS_exit_group, 3);
	if (!strcmp(how, "rawexec")) {
		snprintf(child, sizeof(child), "%d", (int)pid);
		syscall(SYS_execve, "/bin/sh",
			(char *[]){"sh", "-c", (char *)wait_gone, "sh", child, NULL}, environ);
		perror("sigcheck: execve /bin/sh");
		return 1;
	}
	kill(getpid(), SIGKILL);
	for (;;)
		pause();
}

/*
 * -f exec_fail: execs that fail must leave the child paged. Return: 0 if
 * each exec failed and the child found every page intact, else 1.
 */
static int fork_exec_fail(const char *path, size_t total_pages)
{
	int go[2], fd, status;
	char c = 0;
	pid_t pid;

	/* FILE exists, a regular file without execute permission. */
	fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	if (fd < 0 || pipe(go)) {
		fprintf(stderr, "sigcheck: -f exec_fail needs -o FILE (and a pipe)\n");
		return 1;
	}
	close(fd);
	pid = fork();
	if (pid < 0) {
		perror("sigcheck: fork");
		return 1;
	}
	if (!pid) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(2);
		orphan_verdict(path, total_pages);
	}
	close(go[0]);
	execlp("uswap-sigcheck-no-such-program", "x", (char *)NULL);
	if (errno != ENOENT) {
		perror("sigcheck: execlp of a name on no PATH entry");
		return 1;
	}
	execv(path, (char *[]){(char *)path, NULL});
	if (errno != EACCES) {
		perror("sigcheck: execv of a file not executable");
		return 1;
	}
	execl("/nonexistent/uswap-sigcheck", "x", (char *)NULL);
	if (errno != ENOENT) {
		perror("sigcheck: execl of a path that does not exist");
		return 1;
	}
	printf("sigcheck: fork: child %d checks after 3 failed execs\n", (int)pid);
	fflush(stdout);
	if (write(go[1], &c, 1) != 1 || waitpid(pid, &status, 0) != pid) {
		perror("sigcheck: exec_fail");
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("sigcheck: FAILED: the child after the failed execs (status %#x)\n", status);
		return 1;
	}
	printf("sigcheck: exec_fail: the child checked every page\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *fork_mode = NULL, *out_path = NULL;
	size_t share, brk_pages, total_pages = 0;
	unsigned long bad = 0;
	char *brk_base;
	int opt;

	while ((opt = getopt(argc, argv, "t:m:p:f:o:")) != -1) {
		switch (opt) {
		case 't':
			nr_threads = (unsigned)atoi(optarg);
			break;
		case 'm':
			total_mib = (size_t)atol(optarg);
			break;
		case 'p':
			passes = (unsigned)atoi(optarg);
			break;
		case 'f':
			fork_mode = optarg;
			break;
		case 'o':
			out_path = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: sigcheck [-t THREADS] [-m MiB] [-p PASSES] [-f "
				"check|unshare|setns|orphan|orphan_exit|orphan_quick_exit|"
				"orphan_exec|orphan_execveat|orphan_daemon|rootkill|rootexit|"
				"rawexec|exec_fail [-o FILE]]\n");
			return 2;
		}
	}
	if (fork_mode && strcmp(fork_mode, "check") && strcmp(fork_mode, "unshare") &&
	    strcmp(fork_mode, "setns") && strcmp(fork_mode, "orphan") &&
	    strcmp(fork_mode, "orphan_exit") && strcmp(fork_mode, "orphan_exec") &&
	    strcmp(fork_mode, "orphan_execveat") && strcmp(fork_mode, "orphan_quick_exit") &&
	    strcmp(fork_mode, "orphan_daemon") && strcmp(fork_mode, "rootkill") &&
	    strcmp(fork_mode, "rootexit") && strcmp(fork_mode, "rawexec") &&
	    strcmp(fork_mode, "exec_fail")) {
		fprintf(stderr, "sigcheck: -f check, unshare, setns, orphan, orphan_exit, "
				"orphan_quick_exit, orphan_exec, orphan_execveat, orphan_daemon, "
				"rootkill, rootexit, rawexec or exec_fail\n");
		return 2;
	}
	if (nr_threads < 1 || nr_threads > MAX_THREADS || total_mib < 3) {
		fprintf(stderr, "sigcheck: 1..%d threads and at least 3 MiB\n", MAX_THREADS);
		return 2;
	}
	share = (total_mib << 20) / nr_threads;
	brk_pages = share / 3 / PAGE;

	/* The brk region for everyone, page-aligned, before any thread runs. */
	brk_base = sbrk(0);
	if (sbrk((intptr_t)(PAGE - ((uintptr_t)brk_base & (PAGE - 1)))) == (void *)-1 ||
	    (brk_base = sbrk((intptr_t)(brk_pages * PAGE * nr_threads))) == (void *)-1) {
		perror("sigcheck: sbrk");
		return 1;
	}
	for (unsigned t = 0; t < nr_threads; t++) {
		workers[t].id = t;
		workers[t].brk_slice.base = brk_base + t * brk_pages * PAGE;
		workers[t].brk_slice.pages = brk_pages;
	}
	pthread_barrier_init(&barrier, NULL, nr_threads);
	/* Allocations happen in the threads, each in its own malloc arena. */
	share_bytes = share;
	for (unsigned t = 0; t < nr_threads; t++) {
		if (pthread_create(&workers[t].tid, NULL, work, &workers[t])) {
			fprintf(stderr, "sigcheck: pthread_create failed\n");
			return 1;
		}
	}
	for (unsigned t = 0; t < nr_threads; t++) {
		pthread_join(workers[t].tid, NULL);
		bad += workers[t].bad;
		total_pages += workers[t].pages;
	}
	if (bad) {
		printf("sigcheck: FAILED: %lu bad page reads of %zu pages, %u threads\n", bad,
		       total_pages, nr_threads);
		return 1;
	}
	printf("sigcheck: OK: %zu pages (%zu MiB) in %u threads, malloc+mmap+brk, %u passes\n",
	       total_pages, total_pages * PAGE >> 20, nr_threads, passes);
	fflush(stdout);
	if (fork_mode && !strcmp(fork_mode, "check"))
		return fork_check(CHECK_ONLY);
	if (fork_mode && !strcmp(fork_mode, "unshare"))
		return fork_check(CHECK_UNSHARE);
	if (fork_mode && !strcmp(fork_mode, "setns"))
		return fork_check(CHECK_SETNS);
	if (fork_mode && (!strcmp(fork_mode, "rootkill") || !strcmp(fork_mode, "rootexit") ||
			  !strcmp(fork_mode, "rawexec")))
		return fork_rootkill(out_path, total_pages, fork_mode);
	if (fork_mode && !strcmp(fork_mode, "exec_fail"))
		return fork_exec_fail(out_path, total_pages);
	if (fork_mode && !strcmp(fork_mode, "orphan_daemon"))
		return fork_daemon(out_path, total_pages);
	if (fork_mode)
		return fork_orphan(out_path, total_pages, fork_mode);
	return 0;
}
