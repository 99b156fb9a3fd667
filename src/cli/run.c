// SPDX-License-Identifier: MIT
/*
 * run.c - `uswap run [options] -- PROG [ARGS...]`: run an unmodified,
 * dynamically linked program with its anonymous memory paged by uswap under
 * a budget of resident memory.
 *
 * The paging itself is done inside the program by the agent library
 * (libuswap-agent.so), loaded with LD_PRELOAD. This command checks before
 * anything starts that the agent can work at all (a full-mode userfaultfd,
 * a program the dynamic loader will preload into), creates the status page
 * the agent publishes its figures on (uffd/run_status.h), starts the program
 * with the caller's environment, standard streams and exit status, forwards
 * the terminating signals to it, samples the kernel's view of its resident
 * anonymous memory, and prints --progress lines and the --stats report.
 *
 * It is the subreaper of the program's tree. Every process of the tree
 * whose forks are paged (a root: the program, or a program a wrapper ran)
 * has a record on the status page that says when it handed its children
 * their pages. When a root is gone without that (killed by a signal, a raw
 * exit_group, killed in the middle of the hand-over, under a wrapper that
 * exited normally), the processes it forked that are left (reparented to
 * us) and still paged by it (they did not exec) are ended with a message,
 * because their paging went with it (watch_roots(), end_tree()).
 *
 * Owns: the status page file (created here, removed at exit), the child
 * and the orphans of its tree.
 * Locking: none; one thread. The status page is written by the agent with
 * relaxed atomic stores and read here with relaxed atomic loads.
 */
#include "cli.h"
#include "run.h"

#include <ctype.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "dev/file.h"
#include "uffd/run_status.h"
#include "base/atomic.h"

#ifndef USWAP_AGENT_INSTALL_PATH
#define USWAP_AGENT_INSTALL_PATH "/usr/local/lib/uswap/libuswap-agent.so"
#endif
#define AGENT_NAME "libuswap-agent.so"

static const char run_usage[] =
	"Usage: uswap run [OPTION]... [--] PROG [ARG]...\n"
	"\n"
	"Run PROG with its anonymous memory (heap, malloc arenas, mmap'ed memory)\n"
	"held to a budget of resident memory: cold pages are compressed into RAM\n"
	"(zram) or written to a swap file, and come back when PROG touches them.\n"
	"PROG is looked up in PATH and runs with this environment, standard input,\n"
	"output and error; SIGINT, SIGTERM, SIGHUP and SIGQUIT are passed on to it.\n"
	"PROG must be dynamically linked (the pager is loaded into it with\n"
	"LD_PRELOAD), and a full userfaultfd must be available: run as root, with\n"
	"CAP_SYS_PTRACE, with sysctl vm.unprivileged_userfaultfd=1, or with read\n"
	"and write access to /dev/userfaultfd.\n"
	"\n"
	"Options:\n"
	"  -b, --budget SIZE     resident anonymous memory allowed (K, M, G suffixes;\n"
	"                        at least 4M; default: half of this machine's RAM)\n"
	"  -d, --device DEV      where cold pages go: zram (default) or file:PATH, a\n"
	"                        swap file made by `uswap mkswap PATH SIZE`\n"
	"  -c, --comp ALGO       zram's compressor: lz4 (default) or zstd\n"
	"  -s, --stats FILE      write one JSON object of figures to FILE at exit\n"
	"  -p, --progress        one status line a second on standard error\n"
	"  -h, --help            this text\n"
	"\n"
	"Environment: USWAP_AGENT, the agent library to load instead of the one\n"
	"installed with uswap. USWAP_CHILD_EVICT=0: a child PROG forks (without\n"
	"exec) keeps every page it reads back instead of evicting under the same\n"
	"budget as PROG; faster for a child that reads everything (a Redis BGSAVE),\n"
	"but the tree's memory then grows past the budget by what the child reads.\n"
	"By default children evict: one budget for the tree.\n"
	"\n"
	"Exit status: PROG's own; 128+N if PROG was killed by signal N; 127 PROG not\n"
	"found; 126 PROG not executable; 1 uswap refused to start it or the pager\n"
	"failed (the message says why); 2 usage error. When a process of the tree\n"
	"that forked (PROG, or a program a wrapper ran) ends without handing its\n"
	"forked children their pages (killed by a signal, a raw exit_group), what\n"
	"is left of them and did not exec is ended, said on standard error: their\n"
	"paging went with it.\n";

/* How often the kernel's RssAnon of the program is sampled. */
#define RUN_SAMPLE_NS (10 * 1000 * 1000L)
/* After this long without a word from the agent, say so once. */
#define RUN_AGENT_WAIT_S 5
/* The kernel's limit on nested "#!" interpreters. */
#define RUN_MAX_SCRIPT_DEPTH 4

/* ---- pure helpers (run.h) ---- */

int run_parse_budget(const char *s, uint64_t *bytes)
{
	uint64_t v;
	int ret = cli_parse_size(s, &v);

	if (ret)
		return ret;
	v &= ~(uint64_t)(PAGE_SIZE - 1);
	if (v < RUN_MIN_BUDGET)
		return -EDOM;
	*bytes = v;
	return 0;
}

/* 0 if @path is an executable regular file, else a negative errno. */
static int check_executable(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	if (access(path, X_OK) < 0)
		return errno == ENOENT ? -ENOENT : -EACCES;
	return 0;
}

int run_find_program(const char *name, const char *path_env, char *out, size_t outlen)
{
	const char *p, *end;
	int best = -ENOENT;

	if (!*name)
		return -ENOENT;
	if (strchr(name, '/')) {
		if (strlen(name) >= outlen)
			return -ENAMETOOLONG;
		strcpy(out, name);
		return check_executable(name);
	}
	if (!path_env)
		path_env = "/usr/local/bin:/usr/bin:/bin";
	for (p = path_env;; p = end + 1) {
		size_t dirlen;
		int ret;

		end = strchrnul(p, ':');
		dirlen = (size_t)(end - p);
		if (dirlen + strlen(name) + 2 > outlen) {
			best = best == -EACCES ? best : -ENAMETOOLONG;
		} else {
			if (dirlen)
				snprintf(out, outlen, "%.*s/%s", (int)dirlen, p, name);
			else
				snprintf(out, outlen, "%s", name);
			ret = check_executable(out);
			if (!ret)
				return 0;
			if (ret != -ENOENT && ret != -ENOTDIR)
				best = -EACCES; /* like a shell: remember, keep looking */
		}
		if (!*end)
			break;
	}
	return best;
}

/* Read @len bytes at @off; 0 or -EIO (short read: the file is truncated). */
static int read_at(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	return n == (ssize_t)len ? 0 : -EIO;
}

static void copy_str(char *dst, size_t dstlen, const char *src, size_t len)
{
	if (!dstlen)
		return;
	if (len >= dstlen)
		len = dstlen - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* The "#!" line in @buf (@n bytes read): interpreter and optional argument. */
static int parse_shebang(const char *buf, size_t n, char *interp, size_t interplen, char *arg,
			 size_t arglen)
{
	const char *p = buf + 2, *end = memchr(buf, '\n', n), *q;

	if (!end)
		end = buf + n;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	q = p;
	while (q < end && *q != ' ' && *q != '\t')
		q++;
	if (q == p)
		return -ENOEXEC;
	copy_str(interp, interplen, p, (size_t)(q - p));
	/* The kernel passes the rest of the line, trimmed, as one argument. */
	while (q < end && (*q == ' ' || *q == '\t'))
		q++;
	while (end > q && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	copy_str(arg, arglen, q, (size_t)(end - q));
	return RUN_EXEC_SCRIPT;
}

int run_exec_kind(int fd, char *interp, size_t interplen, char *arg, size_t arglen)
{
	unsigned char buf[256];
	Elf64_Ehdr eh;
	ssize_t n;

	if (interplen)
		interp[0] = '\0';
	if (arglen)
		arg[0] = '\0';
	n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -EIO;
	if (n >= 2 && buf[0] == '#' && buf[1] == '!')
		return parse_shebang((const char *)buf, (size_t)n, interp, interplen, arg, arglen);
	if (n < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG))
		return RUN_EXEC_UNKNOWN;
	if (buf[EI_CLASS] != ELFCLASS64 || buf[EI_DATA] != ELFDATA2LSB)
		return RUN_EXEC_FOREIGN;
	if ((size_t)n < sizeof(eh))
		return -ENOEXEC;
	memcpy(&eh, buf, sizeof(eh));
#if defined(__x86_64__)
	if (eh.e_machine != EM_X86_64)
		return RUN_EXEC_FOREIGN;
#elif defined(__aarch64__)
	if (eh.e_machine != EM_AARCH64)
		return RUN_EXEC_FOREIGN;
#endif
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return -ENOEXEC;
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 4096)
		return -ENOEXEC;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		if (read_at(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * sizeof(ph))))
			return -ENOEXEC;
		if (ph.p_type != PT_INTERP)
			continue;
		if (ph.p_filesz < 2 || ph.p_filesz > PATH_MAX)
			return -ENOEXEC;
		char path[PATH_MAX + 1];

		if (read_at(fd, path, ph.p_filesz, (off_t)ph.p_offset))
			return -ENOEXEC;
		path[ph.p_filesz] = '\0';
		if (strlen(path) != ph.p_filesz - 1)
			return -ENOEXEC; /* not one NUL-terminated string */
		copy_str(interp, interplen, path, ph.p_filesz - 1);
		return RUN_EXEC_DYNAMIC;
	}
	return RUN_EXEC_STATIC;
}

uint64_t run_lat_bucket_low(unsigned i)
{
	if (i < USWAP_RUN_LAT_LINEAR)
		return i;
	return (uint64_t)USWAP_RUN_LAT_LINEAR << (i - USWAP_RUN_LAT_LINEAR);
}

int run_lat_percentile(const uint64_t *hist, unsigned nr, unsigned permille, uint64_t *us)
{
	uint64_t total = 0, rank, seen = 0;

	for (unsigned i = 0; i < nr; i++)
		total += hist[i];
	if (!total)
		return -ENODATA;
	/* ceil(total * permille / 1000), at least 1, without overflow. */
	rank = total / 1000 * permille + ((total % 1000) * permille + 999) / 1000;
	if (!rank)
		rank = 1;
	for (unsigned i = 0; i < nr; i++) {
		seen += hist[i];
		if (seen >= rank) {
			*us = run_lat_bucket_low(i);
			return 0;
		}
	}
	*us = run_lat_bucket_low(nr - 1);
	return 0;
}

int run_status_field(const char *text, const char *key, uint64_t *bytes)
{
	size_t klen = strlen(key);

	for (const char *line = text; line && *line;
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		*bytes = strtoull(line + klen + 1, NULL, 10) << 10;
		return 0;
	}
	return -ENOENT;
}

/* ---- checks before the program starts ---- */

/*
 * Is a full-mode userfaultfd available to this process (and so to the
 * program, which runs with the same credentials)? The system call without
 * UFFD_USER_MODE_ONLY first, then /dev/userfaultfd.
 */
static int probe_uffd(char *why, size_t len)
{
	struct uffdio_api api = {.api = UFFD_API};
	int fd, dev, err_sys, err_dev;

	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	err_sys = fd < 0 ? errno : 0;
	if (fd < 0) {
		dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
		err_dev = dev < 0 ? errno : 0;
		if (dev >= 0) {
			fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
			err_dev = fd < 0 ? errno : 0;
			close(dev);
		}
		if (fd < 0) {
			snprintf(why, len,
				 "userfaultfd(2) without UFFD_USER_MODE_ONLY: %s; "
				 "/dev/userfaultfd: %s",
				 strerror(err_sys), strerror(err_dev));
			return -EPERM;
		}
	}
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		snprintf(why, len, "UFFDIO_API: %s", strerror(errno));
		close(fd);
		return -ENOSYS;
	}
	close(fd);
	return 0;
}

/* Would the loader run @path in secure-execution mode (LD_PRELOAD ignored)? */
static bool secure_exec(const char *path, const struct stat *st)
{
	if ((st->st_mode & S_ISUID) && st->st_uid != geteuid())
		return true;
	if ((st->st_mode & S_ISGID) && (st->st_mode & S_IXGRP) && st->st_gid != getegid())
		return true;
	return getxattr(path, "security.capability", NULL, 0) > 0;
}

/*
 * check_program - may the agent be preloaded into @path? Follows "#!"
 * interpreters (and `#!/usr/bin/env NAME` through PATH) down to the ELF file
 * the kernel finally runs. Prints the refusal.
 * Return: 0, or CLI_EXIT_FAIL.
 */
static int check_program(const char *name, const char *path, int depth)
{
	char interp[PATH_MAX], arg[PATH_MAX], next[PATH_MAX];
	struct stat st;
	int fd, kind;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		/* Not readable but executable: the kernel may still run it. */
		cli_error("%s: cannot read %s to check it can be paged: %s", name, path,
			  strerror(errno));
		return CLI_EXIT_FAIL;
	}
	kind = run_exec_kind(fd, interp, sizeof(interp), arg, sizeof(arg));
	if (fstat(fd, &st) < 0)
		memset(&st, 0, sizeof(st));
	close(fd);
	switch (kind) {
	case RUN_EXEC_DYNAMIC:
		if (secure_exec(path, &st)) {
			cli_error(
				"%s: %s is set-user-ID, set-group-ID or has file capabilities: the "
				"dynamic loader would ignore LD_PRELOAD, so uswap cannot page it",
				name, path);
			return CLI_EXIT_FAIL;
		}
		return 0;
	case RUN_EXEC_STATIC:
		cli_error("%s: %s is statically linked: uswap run pages a program through an "
			  "agent the dynamic loader preloads, which a static program never loads; "
			  "refusing to run it unpaged",
			  name, path);
		return CLI_EXIT_FAIL;
	case RUN_EXEC_FOREIGN:
		cli_error("%s: %s is an ELF program of another class or machine than uswap's "
			  "agent; it cannot be paged",
			  name, path);
		return CLI_EXIT_FAIL;
	case RUN_EXEC_UNKNOWN:
		cli_error("%s: %s is neither an ELF program nor a script with a #! line", name,
			  path);
		return CLI_EXIT_FAIL;
	case RUN_EXEC_SCRIPT:
		break;
	default:
		cli_error("%s: %s: malformed program file (%s)", name, path, strerror(-kind));
		return CLI_EXIT_FAIL;
	}
	if (depth >= RUN_MAX_SCRIPT_DEPTH) {
		cli_error("%s: too many levels of #! interpreters", name);
		return CLI_EXIT_FAIL;
	}
	if (check_executable(interp)) {
		cli_error("%s: its interpreter %s is not an executable file", name, interp);
		return CLI_EXIT_FAIL;
	}
	if (check_program(name, interp, depth + 1))
		return CLI_EXIT_FAIL;
	/* `#!/usr/bin/env PROG`: env runs PROG, which must be paged as well. */
	if (!strcmp(strrchr(interp, '/') ? strrchr(interp, '/') + 1 : interp, "env") && arg[0] &&
	    arg[0] != '-' && !strchr(arg, ' ') && !strchr(arg, '=')) {
		if (run_find_program(arg, getenv("PATH"), next, sizeof(next))) {
			cli_error("%s: its interpreter %s is not found in PATH", name, arg);
			return CLI_EXIT_FAIL;
		}
		return check_program(name, next, depth + 1);
	}
	return 0;
}

/* The agent library: $USWAP_AGENT, the build tree, the install directory. */
static int find_agent(char *out, size_t len)
{
	const char *env = getenv("USWAP_AGENT");
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	ssize_t n;

	if (env && *env) {
		if (!realpath(env, out) || access(out, R_OK)) {
			cli_error("USWAP_AGENT=%s: %s", env, strerror(errno));
			return -ENOENT;
		}
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		*strrchr(exe, '/') = '\0';
		/* build/src/cli/uswap next to build/src/uffd/libuswap-agent.so */
		snprintf(cand, sizeof(cand), "%s/../uffd/%s", exe, AGENT_NAME);
		if (realpath(cand, out) && !access(out, R_OK))
			return 0;
	}
	if (realpath(USWAP_AGENT_INSTALL_PATH, out) && !access(out, R_OK))
		return 0;
	cli_error("cannot find the paging agent %s (looked next to the uswap executable in a "
		  "build tree and in %s); set USWAP_AGENT to its path",
		  AGENT_NAME, USWAP_AGENT_INSTALL_PATH);
	return -ENOENT;
}

static int check_device(const struct cli_dev_spec *spec, char abs[PATH_MAX])
{
	unsigned char *page;
	struct swap_header_info hdr;
	struct stat st;
	int fd, ret;

	if (spec->kind != CLI_DEV_FILE)
		return 0;
	fd = open(spec->path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		cli_error("--device file:%s: %s (make a swap file with `uswap mkswap %s SIZE`)",
			  spec->path, strerror(errno), spec->path);
		return -errno;
	}
	page = malloc(SWAP_HEADER_SIZE);
	ret = page ? 0 : -ENOMEM;
	if (!ret && (fstat(fd, &st) < 0 || read_at(fd, page, SWAP_HEADER_SIZE, 0)))
		ret = -EIO;
	if (!ret)
		ret = swap_header_parse(
			page, S_ISREG(st.st_mode) ? (uint64_t)st.st_size : SWAP_SIZE_UNKNOWN, &hdr);
	if (ret)
		cli_error("--device file:%s: not a usable swap file: %s (make one with `uswap "
			  "mkswap %s SIZE`)",
			  spec->path,
			  ret == -EIO ? "cannot read its header" : swap_header_strerror(ret),
			  spec->path);
	free(page);
	close(fd);
	if (!ret && !realpath(spec->path, abs))
		ret = -errno;
	return ret;
}

/* ---- the run ---- */

struct run_ctx {
	const char *prog;
	struct cli_dev_spec dev;
	const char *dev_path; /* absolute path of the swap file */
	uint64_t budget;
	bool progress;
	bool progress_tty;
	bool progress_shown;
	FILE *stats;
	const char *stats_path;

	char status_path[64];
	struct uswap_run_status *st;
	pid_t pid;
	/* The program's identity as a pidfd's file (-1: none): see paged_by(). */
	int pidfd;
	dev_t pidfd_dev;
	ino_t pidfd_ino;
	bool reaped; /* the program was reaped: its status in wstatus */
	int wstatus;

	struct timespec start;
	uint64_t rss_anon_peak, rss_shmem_peak, rss_samples;
	uint64_t charged_at_rss_peak; /* the agent's resident_bytes then */
	double rss_peak_at;	      /* and when, in seconds from the start */
	uint64_t swapped_peak, compr_peak;
	uint64_t last_faults;
	double last_progress;
	bool agent_failed, agent_warned, agent_seen;
};

#define LOAD(field) atomic_load_relaxed(&(field))

static double now_s(const struct run_ctx *c)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - c->start.tv_sec) + (double)(t.tv_nsec - c->start.tv_nsec) / 1e9;
}

static int create_status(struct run_ctx *c)
{
	int fd;

	snprintf(c->status_path, sizeof(c->status_path), "/dev/shm/uswap-run.%d.XXXXXX",
		 (int)getpid());
	fd = mkostemp(c->status_path, O_CLOEXEC); /* O_EXCL, mode 0600 */
	if (fd < 0) {
		cli_error("cannot create the status page in /dev/shm: %s", strerror(errno));
		c->status_path[0] = '\0';
		return -errno;
	}
	if (fchmod(fd, 0600) < 0 || ftruncate(fd, sizeof(*c->st)) < 0) {
		cli_error("cannot size the status page %s: %s", c->status_path, strerror(errno));
		close(fd);
		return -EIO;
	}
	c->st = mmap(NULL, sizeof(*c->st), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (c->st == MAP_FAILED) {
		c->st = NULL;
		cli_error("cannot map the status page: %s", strerror(errno));
		return -ENOMEM;
	}
	memset(c->st, 0, sizeof(*c->st));
	c->st->magic = USWAP_RUN_STATUS_MAGIC;
	c->st->version = USWAP_RUN_STATUS_VERSION;
	return 0;
}

/* Build the program's environment in this (child) process. */
static int set_agent_env(const struct run_ctx *c, const char *agent)
{
	const char *old = getenv("LD_PRELOAD");
	char *preload, num[32], pidns[48], *dev = NULL;
	struct stat sb;
	int ret;

	if (old && *old)
		ret = asprintf(&preload, "%s:%s", agent, old);
	else
		ret = asprintf(&preload, "%s", agent);
	if (ret < 0)
		return -ENOMEM;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)c->budget);
	if (c->dev.kind == CLI_DEV_FILE) {
		if (asprintf(&dev, "file:%s", c->dev_path) < 0)
			return -ENOMEM;
	}
	/* Our PID namespace: where the pids the agents publish mean what we read. */
	if (!stat("/proc/self/ns/pid", &sb)) {
		snprintf(pidns, sizeof(pidns), "%llu:%llu", (unsigned long long)sb.st_dev,
			 (unsigned long long)sb.st_ino);
		if (setenv("USWAP_RUN_PIDNS", pidns, 1))
			return -ENOMEM;
	}
	if (setenv("LD_PRELOAD", preload, 1) || setenv("USWAP_RUN_BUDGET", num, 1) ||
	    setenv("USWAP_RUN_DEVICE", dev ? dev : "zram", 1) ||
	    setenv("USWAP_RUN_COMP", cli_comp_name(c->dev.algo), 1) ||
	    setenv("USWAP_RUN_STATUS", c->status_path, 1))
		return -ENOMEM;
	return 0;
}

static void sample_rss(struct run_ctx *c)
{
	char path[64], buf[4096];
	uint64_t v;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)c->pid);
	if (cli_read_text(path, buf, sizeof(buf)) <= 0)
		return;
	/* A zombie has no mm any more: no RssAnon line. */
	if (!run_status_field(buf, "RssAnon", &v)) {
		c->rss_samples++;
		if (v > c->rss_anon_peak) {
			c->rss_anon_peak = v;
			c->charged_at_rss_peak = LOAD(c->st->resident_bytes);
			c->rss_peak_at = now_s(c);
		}
	}
	if (!run_status_field(buf, "RssShmem", &v) && v > c->rss_shmem_peak)
		c->rss_shmem_peak = v;
}

static void sample_status(struct run_ctx *c)
{
	uint64_t v;
	int state = LOAD(c->st->state);

	v = LOAD(c->st->swapped_bytes);
	if (v > c->swapped_peak)
		c->swapped_peak = v;
	v = LOAD(c->st->compr_bytes);
	if (v > c->compr_peak)
		c->compr_peak = v;
	if (state != USWAP_RUN_STARTING)
		c->agent_seen = true;
	if (state == USWAP_RUN_FAILED && !c->agent_failed) {
		char msg[sizeof(c->st->message)];

		memcpy(msg, c->st->message, sizeof(msg));
		msg[sizeof(msg) - 1] = '\0';
		cli_error("the paging agent failed in %s: %s", c->prog,
			  msg[0] ? msg : "no reason given");
		c->agent_failed = true;
		kill(c->pid, SIGKILL);
	}
	if (!c->agent_seen && !c->agent_warned && now_s(c) > RUN_AGENT_WAIT_S) {
		cli_error("warning: no word from the paging agent in %s after %d s (it may not "
			  "have been loaded): the program may run unpaged",
			  c->prog, RUN_AGENT_WAIT_S);
		c->agent_warned = true;
	}
}

static void clear_progress(struct run_ctx *c)
{
	if (c->progress_shown && c->progress_tty)
		fputs("\r\033[K", stderr);
	c->progress_shown = false;
}

/*
 * The process tree's figures (forked children share the root's engine):
 * the sums, the root's own (procs[0]) and the children's, which are the
 * sums less the root's (children gone are only in the sums). Fields are
 * separate snapshots: a difference is clamped at 0. Swap-outs are not
 * such a sum: the tree's and the root's are the pages the engine wrote
 * out (pswpout: a page is written once, whoever mapped it), the
 * children's the pages taken out of them (fork_child_swapouts, children
 * gone included), which are pages written out once for the tree too.
 */
struct run_tree {
	uint64_t processes, forks, exited;
	struct uswap_run_proc all, root, children;
	bool has_root;
};

static uint64_t sub0(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* One process's record of the status page, each field loaded once. */
static void load_proc(const struct uswap_run_proc *s, struct uswap_run_proc *p)
{
	*p = (struct uswap_run_proc){
		.pid = LOAD(s->pid),
		.live = LOAD(s->live),
		.faults = LOAD(s->faults),
		.swapins = LOAD(s->swapins),
		.swapouts = LOAD(s->swapouts),
		.shared_hits = LOAD(s->shared_hits),
		.shared_reads = LOAD(s->shared_reads),
	};
}

/* Return: the agent's counter @name, or @dflt if it published none so named. */
static uint64_t status_counter(const struct uswap_run_status *st, const char *name, uint64_t dflt)
{
	unsigned nr = LOAD(st->nr_counters);

	for (unsigned i = 0; i < nr && i < USWAP_RUN_MAX_COUNTERS; i++)
		if (!strncmp(st->counters[i].name, name, USWAP_RUN_NAME_LEN))
			return LOAD(st->counters[i].value);
	return dflt;
}

static void read_tree(const struct run_ctx *c, struct run_tree *t)
{
	const struct uswap_run_status *st = c->st;

	memset(t, 0, sizeof(*t));
	t->processes = LOAD(st->tree_processes);
	t->forks = LOAD(st->tree_forks);
	t->exited = LOAD(st->tree_exited);
	t->all.faults = LOAD(st->tree_faults);
	t->all.swapins = LOAD(st->tree_swapins);
	t->all.swapouts = LOAD(st->tree_swapouts);
	t->all.shared_hits = LOAD(st->tree_shared_hits);
	t->all.shared_reads = LOAD(st->tree_shared_reads);
	t->has_root = LOAD(st->nr_procs) > 0;
	if (t->has_root)
		load_proc(&st->procs[0], &t->root);
	t->children.faults = sub0(t->all.faults, t->root.faults);
	t->children.swapins = sub0(t->all.swapins, t->root.swapins);
	t->children.swapouts =
		status_counter(st, "fork_child_swapouts", sub0(t->all.swapouts, t->root.swapouts));
	t->children.shared_hits = sub0(t->all.shared_hits, t->root.shared_hits);
	t->children.shared_reads = sub0(t->all.shared_reads, t->root.shared_reads);
}

static void show_progress(struct run_ctx *c)
{
	char res[32], bud[32], swp[32], ratio[32], tree[160] = "";
	struct run_tree rt;
	double t = now_s(c), dt = t - c->last_progress;
	uint64_t faults = LOAD(c->st->faults), swapped = LOAD(c->st->swapped_bytes);
	uint64_t compr = LOAD(c->st->compr_bytes);

	if (dt < 1.0)
		return;
	if (compr)
		snprintf(ratio, sizeof(ratio), "%.2f", (double)swapped / (double)compr);
	else
		snprintf(ratio, sizeof(ratio), "-");
	read_tree(c, &rt);
	/* Once the program forked: its children, their swap-ins, the shared hits. */
	if (rt.forks)
		snprintf(
			tree, sizeof(tree),
			", children %llu live / %llu forked, child swap-ins %llu, shared hits %llu",
			(unsigned long long)sub0(rt.processes, 1), (unsigned long long)rt.forks,
			(unsigned long long)rt.children.swapins,
			(unsigned long long)rt.all.shared_hits);
	fprintf(stderr, "%suswap run: resident %s / %s, swapped %s, ratio %s, %.0f faults/s%s%s",
		c->progress_tty ? "\r\033[K" : "",
		cli_format_bytes(LOAD(c->st->resident_bytes), res, sizeof(res)),
		cli_format_bytes(c->budget, bud, sizeof(bud)),
		cli_format_bytes(swapped, swp, sizeof(swp)), ratio,
		(double)(faults - c->last_faults) / dt, tree, c->progress_tty ? "" : "\n");
	fflush(stderr);
	c->progress_shown = true;
	c->last_faults = faults;
	c->last_progress = t;
}

static const char *state_name(int state)
{
	switch (state) {
	case USWAP_RUN_STARTING:
		return "starting";
	case USWAP_RUN_READY:
		return "ready";
	case USWAP_RUN_FAILED:
		return "failed";
	case USWAP_RUN_EXITED:
		return "exited";
	}
	return "unknown";
}

static void json_proc(FILE *f, const char *key, const struct uswap_run_proc *p, bool pid)
{
	if (key)
		fprintf(f, "\"%s\": ", key);
	fprintf(f, "{");
	if (pid)
		fprintf(f, "\"pid\": %d, \"live\": %u, ", (int)p->pid, (unsigned)p->live);
	fprintf(f,
		"\"faults\": %llu, \"swapins\": %llu, \"swapouts\": %llu, \"shared_hits\": %llu, "
		"\"shared_reads\": %llu}",
		(unsigned long long)p->faults, (unsigned long long)p->swapins,
		(unsigned long long)p->swapouts, (unsigned long long)p->shared_hits,
		(unsigned long long)p->shared_reads);
}

/*
 * The "tree" object of --stats: every process of the tree that shared the
 * engine (the root and the children it forked without exec), the sums, the
 * root's and the children's figures, and each process still listed.
 */
static void write_tree(struct run_ctx *c, FILE *f)
{
	unsigned nr = LOAD(c->st->nr_procs);
	struct run_tree t;

	read_tree(c, &t);
	fprintf(f,
		", \"tree\": {\"processes_seen\": %llu, \"live_children\": %llu, \"forks\": %llu, "
		"\"exited\": %llu, ",
		(unsigned long long)(1 + t.forks), (unsigned long long)sub0(t.processes, 1),
		(unsigned long long)t.forks, (unsigned long long)t.exited);
	json_proc(f, "all", &t.all, false);
	fprintf(f, ", ");
	if (t.has_root)
		json_proc(f, "root", &t.root, true);
	else
		fprintf(f, "\"root\": null");
	fprintf(f, ", ");
	json_proc(f, "children", &t.children, false);
	fprintf(f, ", \"procs\": [");
	if (nr > USWAP_RUN_MAX_PROCS)
		nr = USWAP_RUN_MAX_PROCS;
	for (unsigned i = 0; i < nr; i++) {
		struct uswap_run_proc p;

		load_proc(&c->st->procs[i], &p);
		fprintf(f, "%s", i ? ", " : "");
		json_proc(f, NULL, &p, true);
	}
	fprintf(f, "]}");
}

static int write_stats(struct run_ctx *c, int wstatus, int code)
{
	struct uswap_run_status *st = c->st;
	uint64_t hist[USWAP_RUN_LAT_BUCKETS], n = 0, p50, p99;
	unsigned nr = LOAD(st->nr_counters);
	FILE *f = c->stats;

	for (unsigned i = 0; i < USWAP_RUN_LAT_BUCKETS; i++) {
		hist[i] = LOAD(st->swapin_lat[i]);
		n += hist[i];
	}
	fprintf(f, "{\"program\": ");
	cli_json_string(f, c->prog);
	fprintf(f, ", \"exit_status\": %d", code);
	if (WIFSIGNALED(wstatus))
		fprintf(f, ", \"signal\": %d", WTERMSIG(wstatus));
	fprintf(f, ", \"elapsed_s\": %.3f, \"agent_state\": \"%s\"", now_s(c),
		state_name(LOAD(st->state)));
	fprintf(f, ", \"budget_bytes\": %llu, \"agent_budget_bytes\": %llu",
		(unsigned long long)c->budget, (unsigned long long)LOAD(st->budget_bytes));
	fprintf(f, ", \"rss_anon_peak_bytes\": %llu, \"rss_anon_samples\": %llu",
		(unsigned long long)c->rss_anon_peak, (unsigned long long)c->rss_samples);
	fprintf(f, ", \"rss_shmem_peak_bytes\": %llu", (unsigned long long)c->rss_shmem_peak);
	/* What the agent counted against the budget when the kernel's peak was seen. */
	fprintf(f, ", \"resident_at_rss_anon_peak_bytes\": %llu, \"rss_anon_peak_at_s\": %.3f",
		(unsigned long long)c->charged_at_rss_peak, c->rss_peak_at);
	fprintf(f, ", \"resident_peak_bytes\": %llu, \"resident_bytes\": %llu",
		(unsigned long long)LOAD(st->resident_peak_bytes),
		(unsigned long long)LOAD(st->resident_bytes));
	fprintf(f, ", \"faults\": %llu, \"warnings\": %llu", (unsigned long long)LOAD(st->faults),
		(unsigned long long)LOAD(st->warnings));
	fprintf(f, ", \"swapin_latency_us\": {\"samples\": %llu", (unsigned long long)n);
	if (!run_lat_percentile(hist, USWAP_RUN_LAT_BUCKETS, 500, &p50) &&
	    !run_lat_percentile(hist, USWAP_RUN_LAT_BUCKETS, 990, &p99))
		fprintf(f, ", \"p50\": %llu, \"p99\": %llu", (unsigned long long)p50,
			(unsigned long long)p99);
	else
		fprintf(f, ", \"p50\": null, \"p99\": null");
	fprintf(f, "}, \"device\": {\"kind\": ");
	if (c->dev.kind == CLI_DEV_FILE) {
		fprintf(f, "\"file\", \"path\": ");
		cli_json_string(f, c->dev_path);
	} else {
		fprintf(f, "\"zram\", \"comp\": \"%s\"", cli_comp_name(c->dev.algo));
	}
	fprintf(f,
		", \"swapped_bytes\": %llu, \"compr_bytes\": %llu, \"swapped_peak_bytes\": "
		"%llu, \"compr_peak_bytes\": %llu",
		(unsigned long long)LOAD(st->swapped_bytes),
		(unsigned long long)LOAD(st->compr_bytes), (unsigned long long)c->swapped_peak,
		(unsigned long long)c->compr_peak);
	if (c->compr_peak)
		fprintf(f, ", \"compression_ratio\": %.3f",
			(double)c->swapped_peak / (double)c->compr_peak);
	fprintf(f, "}, \"vmstat\": {");
	if (nr > USWAP_RUN_MAX_COUNTERS)
		nr = USWAP_RUN_MAX_COUNTERS;
	for (unsigned i = 0; i < nr; i++) {
		char name[USWAP_RUN_NAME_LEN + 1];

		memcpy(name, st->counters[i].name, USWAP_RUN_NAME_LEN);
		name[USWAP_RUN_NAME_LEN] = '\0';
		fprintf(f, "%s", i ? ", " : "");
		cli_json_string(f, name);
		fprintf(f, ": %llu", (unsigned long long)LOAD(st->counters[i].value));
	}
	fprintf(f, "}");
	write_tree(c, f);
	fprintf(f, "}\n");
	if (fclose(f)) {
		c->stats = NULL;
		cli_error("--stats %s: %s", c->stats_path, strerror(errno));
		return -EIO;
	}
	c->stats = NULL;
	return 0;
}

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

/*
 * Reap what died among our children: the program (its status kept in
 * c->wstatus) and any process of its tree reparented to us (we are their
 * subreaper). Return: whether the program was reaped (now or before).
 */
static bool reap(struct run_ctx *c)
{
	pid_t w;
	int st;

	while ((w = waitpid(-1, &st, WNOHANG)) > 0)
		if (w == c->pid) {
			c->wstatus = st;
			c->reaped = true;
		}
	return c->reaped;
}

/* Return: the parent of process @pid (0: gone, or a zombie). */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	int fd, ppid = 0;
	char state = 'Z';
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...": comm may hold anything, up to the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %d", &state, &ppid) != 2 || state == 'Z' || state == 'X')
		return 0;
	return (pid_t)ppid;
}

/*
 * Our living descendants (zombies left out): up to @max of them in @out.
 * Return: how many were found, at most @max.
 */
static unsigned list_tree(pid_t *out, unsigned max)
{
	enum { MAXP = 1 << 16 };
	pid_t *pid = malloc(MAXP * sizeof(*pid)), *ppid = malloc(MAXP * sizeof(*ppid));
	pid_t self = getpid();
	unsigned n = 0, found = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool more = true;

	while (d && pid && ppid && (e = readdir(d)) && n < MAXP) {
		char *end;
		long v = strtol(e->d_name, &end, 10);

		if (*end || v <= 0 || v == self)
			continue;
		pid[n] = (pid_t)v;
		ppid[n] = parent_of((pid_t)v);
		if (ppid[n])
			n++;
	}
	if (d)
		closedir(d);
	/* A pass per generation: children of ours, then of those found. */
	while (more && found < max) {
		more = false;
		for (unsigned i = 0; i < n && found < max; i++) {
			bool mine = ppid[i] == self;

			for (unsigned j = 0; !mine && j < found; j++)
				mine = ppid[i] == out[j];
			if (mine && pid[i]) {
				out[found++] = pid[i];
				pid[i] = 0;
				more = true;
			}
		}
	}
	free(pid);
	free(ppid);
	return found;
}

/*
 * Return: whether process @pid may be paged by the root whose token is
 * the file (@dev, @ino): it holds it. A root's agent keeps one (O_CLOEXEC)
 * that every process it forks inherits and that one which execs drops: the
 * token of the generation of children it pages now (its record's tree_*),
 * or the root's pidfd (the program without a record; fork.c's hold). A
 * descendant that exec'd another program (a job started with nohup, a
 * daemon) pages itself and lost nothing: it is left alone. Without an
 * identity (@ino 0: no pidfd on an old kernel), every descendant may be.
 */
static bool paged_by(pid_t pid, dev_t dev, ino_t ino)
{
	char path[64];
	struct dirent *e;
	bool found = false;
	DIR *d;

	if (!ino)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return false; /* gone meanwhile */
	while (!found && (e = readdir(d))) {
		char fd_path[64 + 256];
		struct stat sb;

		if (e->d_name[0] == '.')
			continue;
		snprintf(fd_path, sizeof(fd_path), "%s/%s", path, e->d_name);
		found = !stat(fd_path, &sb) && sb.st_dev == dev && sb.st_ino == ino;
	}
	closedir(d);
	return found;
}

/*
 * A root (its children's token: the file @dev, @ino; its pid @root) is gone as @what
 * says, or exec'd, without handing its children their pages. The processes it forked are served by
 * its paging threads, and the pages it had swapped out for them lived in
 * its memory: they are gone, and such a child's next access to one waits
 * forever (it holds its userfaultfd: it never reads zeros instead, see
 * docs/uffd.md). End every process left of its tree, saying which and why.
 */
static void end_tree(struct run_ctx *c, pid_t root, dev_t dev, ino_t ino, const char *what)
{
	enum { SHOWN = 16 };
	pid_t pids[1024];

	for (unsigned pass = 0; pass < 200; pass++) {
		unsigned found = list_tree(pids, ARRAY_SIZE(pids)), n = 0;

		for (unsigned i = 0; i < found; i++)
			if (pids[i] != root && paged_by(pids[i], dev, ino))
				pids[n++] = pids[i];
		if (!n)
			break;
		for (unsigned i = 0; i < n; i++)
			kill(pids[i], SIGKILL);
		if (!pass) {
			char list[SHOWN * 12 + 8] = "";
			size_t len = 0;

			for (unsigned i = 0; i < min(n, (unsigned)SHOWN); i++)
				len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d",
							i ? " " : "", (int)pids[i]);
			if (n > SHOWN)
				snprintf(list + len, sizeof(list) - len, " ...");
			cli_error("%s: ending the %u process%s left of its tree (pid%s %s): they "
				  "were paged by it, and their swapped pages went with it",
				  what, n, n == 1 ? "" : "es", n == 1 ? "" : "s", list);
		}
		reap(c);
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	reap(c);
}

/*
 * Look at the roots of the tree (the status page's roots[]): end the
 * processes left of each one gone without handing its children their
 * pages. @wstatus: the program's status once it was reaped, else -1.
 * Return: whether a root with the program's pidfds was met (it has a
 * record: handed over or dealt with here).
 */
static bool watch_roots(struct run_ctx *c, int wstatus)
{
	bool prog_seen = false;

	for (unsigned i = 0; i < USWAP_RUN_MAX_ROOTS; i++) {
		struct uswap_run_root *r = &c->st->roots[i];
		uint32_t st = atomic_load_acquire(&r->state);
		char what[256], comm[sizeof(r->comm) + 1];
		pid_t pid;
		dev_t dev, tdev;
		ino_t ino, tino;

		if (st != USWAP_RUN_ROOT_PAGING && st != USWAP_RUN_ROOT_HANDED &&
		    st != USWAP_RUN_ROOT_LOST)
			continue;
		pid = (pid_t)LOAD(r->pid);
		dev = (dev_t)LOAD(r->pidfd_dev);
		ino = (ino_t)LOAD(r->pidfd_ino);
		tdev = (dev_t)LOAD(r->tree_dev);
		tino = (ino_t)LOAD(r->tree_ino);
		memcpy(comm, r->comm, sizeof(r->comm));
		comm[sizeof(r->comm)] = '\0';
		if (c->pidfd >= 0 && dev == c->pidfd_dev && ino == c->pidfd_ino)
			prog_seen = true;
		if (st == USWAP_RUN_ROOT_LOST) {
			/* Its new image lives on (it holds no token of the old one's). */
			snprintf(what, sizeof(what),
				 "%s (pid %d) exec'd another program without handing its children "
				 "their pages",
				 comm, (int)pid);
			end_tree(c, pid, tdev, tino, what);
			atomic_cmpxchg_acq_rel(&r->state, &st, USWAP_RUN_ROOT_ENDED);
			continue;
		}
		/* The program's own end is told by its status, once reaped. */
		if (st != USWAP_RUN_ROOT_PAGING || (pid == c->pid && wstatus == -1) ||
		    !uswap_run_root_gone(pid, ino))
			continue;
		/* Gone: what it published before its exit is seen now. */
		if (atomic_load_acquire(&r->state) != USWAP_RUN_ROOT_PAGING)
			continue;
		if (pid == c->pid && wstatus != -1 && WIFSIGNALED(wstatus)) {
			const char *name = sigabbrev_np(WTERMSIG(wstatus));

			snprintf(what, sizeof(what), "%s (pid %d) was killed by SIG%s", c->prog,
				 (int)pid, name ? name : "?");
		} else if (pid == c->pid && wstatus != -1) {
			snprintf(what, sizeof(what),
				 "%s (pid %d) exited (status %d) without handing its children "
				 "their pages",
				 c->prog, (int)pid, WEXITSTATUS(wstatus));
		} else {
			snprintf(what, sizeof(what),
				 "%s (pid %d) ended without handing its children their pages", comm,
				 (int)pid);
		}
		end_tree(c, pid, tdev, tino, what);
		atomic_cmpxchg_acq_rel(&r->state, &st, USWAP_RUN_ROOT_ENDED);
	}
	return prog_seen;
}

/* Start the program; return its exit code as a shell would give it. */
static int supervise(struct run_ctx *c, const char *path, char **argv, const char *agent)
{
	sigset_t set, old;
	struct timespec tick = {0, RUN_SAMPLE_NS};
	int pipefd[2], err = 0, wstatus = 0, code;
	ssize_t n;

	sigemptyset(&set);
	for (unsigned i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	sigaddset(&set, SIGCHLD);
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		cli_error("pipe: %s", strerror(errno));
		return CLI_EXIT_FAIL;
	}
	sigprocmask(SIG_BLOCK, &set, &old);
	fflush(NULL);
	/* The program's orphans come to us: end_tree() finds them. */
	prctl(PR_SET_CHILD_SUBREAPER, 1UL, 0UL, 0UL, 0UL);
	c->pid = fork();
	if (c->pid < 0) {
		cli_error("fork: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		return CLI_EXIT_FAIL;
	}
	if (c->pid == 0) {
		close(pipefd[0]);
		sigprocmask(SIG_SETMASK, &old, NULL);
		err = set_agent_env(c, agent) ? ENOMEM : 0;
		if (!err) {
			execv(path, argv);
			err = errno;
		}
		if (write(pipefd[1], &err, sizeof(err)) < 0)
			_exit(126);
		_exit(err == ENOENT ? 127 : 126);
	}
	close(pipefd[1]);
	/* Before it can be reaped: its pidfds, whoever opens them, are one file. */
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pidfd >= 0) {
		struct stat sb;

		if (!fstat(c->pidfd, &sb)) {
			c->pidfd_dev = sb.st_dev;
			c->pidfd_ino = sb.st_ino;
		} else {
			close(c->pidfd);
			c->pidfd = -1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	do
		n = read(pipefd[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n == sizeof(err)) {
		if (c->pidfd >= 0)
			close(c->pidfd);
		waitpid(c->pid, NULL, 0);
		sigprocmask(SIG_SETMASK, &old, NULL);
		cli_error("%s: %s", c->prog, strerror(err));
		return err == ENOENT ? 127 : 126;
	}
	for (;;) {
		siginfo_t si;
		int sig = sigtimedwait(&set, &si, &tick);

		if (sig > 0 && sig != SIGCHLD) {
			/*
			 * A signal from the terminal reaches the whole foreground
			 * process group, the program included: pass on only the
			 * ones sent to uswap alone.
			 */
			if (si.si_code != SI_KERNEL || getpgid(c->pid) != getpgrp())
				kill(c->pid, sig);
			continue;
		}
		if (reap(c)) {
			wstatus = c->wstatus;
			break;
		}
		sample_rss(c);
		sample_status(c);
		watch_roots(c, -1);
		if (c->progress)
			show_progress(c);
	}
	sample_status(c);
	if (c->progress)
		clear_progress(c);
	/*
	 * The program is gone: every root without its hand-over is (the
	 * program's tree is ours to end). A program killed by a signal that
	 * left no record (its agent found no room, or none started) is ended
	 * as before, by its own pidfd.
	 */
	if (!watch_roots(c, wstatus) && WIFSIGNALED(wstatus)) {
		const char *name = sigabbrev_np(WTERMSIG(wstatus));
		char what[256];

		snprintf(what, sizeof(what), "%s (pid %d) was killed by SIG%s", c->prog,
			 (int)c->pid, name ? name : "?");
		end_tree(c, 0, c->pidfd >= 0 ? c->pidfd_dev : 0, c->pidfd >= 0 ? c->pidfd_ino : 0,
			 what);
	}
	if (c->pidfd >= 0)
		close(c->pidfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	if (c->agent_failed)
		code = CLI_EXIT_FAIL;
	if (c->stats && write_stats(c, wstatus, code) && !code)
		code = CLI_EXIT_FAIL;
	return code;
}

static uint64_t default_budget(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);
	uint64_t b = pages > 0 ? (uint64_t)pages * PAGE_SIZE / 2 : 1ULL << 30;

	b &= ~(uint64_t)(PAGE_SIZE - 1);
	return b < RUN_MIN_BUDGET ? RUN_MIN_BUDGET : b;
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{"budget", required_argument, NULL, 'b'},
		{"device", required_argument, NULL, 'd'},
		{"comp", required_argument, NULL, 'c'},
		{"stats", required_argument, NULL, 's'},
		{"progress", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct run_ctx c = {0};
	char path[PATH_MAX], agent[PATH_MAX], devpath[PATH_MAX], why[256], bud[32];
	const char *comp = NULL;
	int opt, ret;

	c.budget = 0;
	c.dev.kind = CLI_DEV_ZRAM;
	while ((opt = getopt_long(argc, argv, "+:b:d:c:s:ph", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			ret = run_parse_budget(optarg, &c.budget);
			if (ret == -EDOM)
				return cli_usage_error(
					"--budget %s: below the minimum of %s", optarg,
					cli_format_bytes(RUN_MIN_BUDGET, bud, sizeof(bud)));
			if (ret)
				return cli_usage_error("--budget %s: not a size (digits with an "
						       "optional K, M, G or T suffix)",
						       optarg);
			break;
		case 'd':
			if (cli_parse_device(optarg, &c.dev))
				return cli_usage_error("--device %s: not zram or file:PATH",
						       optarg);
			break;
		case 'c':
			comp = optarg;
			if (cli_parse_comp(optarg, &c.dev))
				return cli_usage_error("--comp %s: not lz4 or zstd", optarg);
			break;
		case 's':
			c.stats_path = optarg;
			break;
		case 'p':
			c.progress = true;
			break;
		case 'h':
			fputs(run_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option(opt, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("missing PROG: uswap run [OPTION]... -- PROG [ARG]...");
	if (comp && c.dev.kind == CLI_DEV_FILE)
		return cli_usage_error("--comp %s: only zram compresses (--device is a file)",
				       comp);
	if (!c.budget)
		c.budget = default_budget();
	c.prog = argv[optind];

	/* The program: found, executable, dynamically linked all the way down. */
	ret = run_find_program(c.prog, getenv("PATH"), path, sizeof(path));
	if (ret == -ENOENT) {
		cli_error("%s: command not found", c.prog);
		return 127;
	}
	if (ret) {
		cli_error("%s: %s", c.prog,
			  ret == -EACCES ? "not an executable file" : strerror(-ret));
		return 126;
	}
	if (check_program(c.prog, path, 0))
		return CLI_EXIT_FAIL;
	ret = probe_uffd(why, sizeof(why));
	if (ret) {
		cli_error("no full userfaultfd available to page %s (%s).\n"
			  "  Get one by running as root or with CAP_SYS_PTRACE, by setting sysctl "
			  "vm.unprivileged_userfaultfd=1, or with read-write access to "
			  "/dev/userfaultfd.\n"
			  "  A user-mode-only userfaultfd cannot be used: the kernel's own "
			  "accesses to "
			  "a paged-out buffer (read(2) into it, a futex in it) would fail with "
			  "EFAULT.",
			  c.prog, why);
		return CLI_EXIT_FAIL;
	}
	if (check_device(&c.dev, devpath))
		return CLI_EXIT_FAIL;
	c.dev_path = devpath;
	if (find_agent(agent, sizeof(agent)))
		return CLI_EXIT_FAIL;
	if (strpbrk(agent, ": \t")) {
		cli_error("the agent's path %s contains a ':' or a blank: LD_PRELOAD cannot "
			  "name it",
			  agent);
		return CLI_EXIT_FAIL;
	}
	if (c.stats_path) {
		c.stats = fopen(c.stats_path, "we");
		if (!c.stats) {
			cli_error("--stats %s: %s", c.stats_path, strerror(errno));
			return CLI_EXIT_FAIL;
		}
	}
	c.progress_tty = isatty(STDERR_FILENO);
	if (create_status(&c)) {
		ret = CLI_EXIT_FAIL;
	} else {
		ret = supervise(&c, path, argv + optind, agent);
	}
	if (c.stats)
		fclose(c.stats);
	if (c.st)
		munmap(c.st, sizeof(*c.st));
	if (c.status_path[0])
		unlink(c.status_path);
	return ret;
}
