/* SPDX-License-Identifier: MIT */
/*
 * run.h - the parts of `uswap run` that do not start anything: budget
 * parsing, the program checks (PATH lookup, ELF interpreter, #! lines), the
 * latency percentiles of the status page's histogram and /proc parsing.
 * They are separate so that tests/cli can call them directly.
 *
 * Owns: declarations. Locking: none; every helper is reentrant.
 */
#ifndef USWAP_CLI_RUN_H
#define USWAP_CLI_RUN_H

#include <stddef.h>
#include <stdint.h>

/*
 * The smallest budget `uswap run` accepts. Below it the program's own
 * working set (stack tops, the dynamic loader's and libc's data, the pages
 * a single system call may touch at once) would not fit, and every access
 * would fault.
 */
#define RUN_MIN_BUDGET (4ULL << 20)

/*
 * run_parse_budget - a --budget argument: a size as cli_parse_size() reads
 * it, rounded down to whole 4 KiB pages.
 * Context: any. Return: 0 and *bytes; -EINVAL (not a size), -ERANGE (does
 * not fit in 64 bits) or -EDOM (below RUN_MIN_BUDGET).
 */
int run_parse_budget(const char *s, uint64_t *bytes);

/*
 * run_find_program - find @name as a shell would: a name containing '/' is
 * taken as is, otherwise each directory of @path_env (":"-separated, an
 * empty entry is the current directory; "/usr/local/bin:/usr/bin:/bin" when
 * @path_env is NULL) is tried in order for an executable regular file.
 * Context: any. Return: 0 and the path in @out; -ENOENT (nowhere), -EACCES
 * (found, but not an executable regular file: a directory, no x bit),
 * -ENAMETOOLONG.
 */
int run_find_program(const char *name, const char *path_env, char *out, size_t outlen);

/* What a program file is, as run_exec_kind() tells it. */
enum run_exec_kind {
	RUN_EXEC_DYNAMIC = 0, /* ELF of this machine with PT_INTERP: the agent loads */
	RUN_EXEC_STATIC,      /* ELF of this machine without PT_INTERP */
	RUN_EXEC_FOREIGN,     /* ELF of another class, byte order or machine */
	RUN_EXEC_SCRIPT,      /* "#!" line: interpreter (and argument) returned */
	RUN_EXEC_UNKNOWN,     /* neither: the kernel would say ENOEXEC */
};

/*
 * run_exec_kind - read the start of the file open on @fd and tell what
 * execve() would do with it. For RUN_EXEC_DYNAMIC the interpreter's path
 * goes to @interp; for RUN_EXEC_SCRIPT the interpreter of the "#!" line
 * goes to @interp and its optional single argument to @arg (empty if none),
 * as the kernel splits the line.
 * Context: may sleep (reads). Return: an enum run_exec_kind, -EIO (read
 * error), or -ENOEXEC (an ELF file whose program headers are malformed or
 * a "#!" line without an interpreter).
 */
int run_exec_kind(int fd, char *interp, size_t interplen, char *arg, size_t arglen);

/*
 * run_lat_bucket_low - the lowest latency, in microseconds, that bucket @i
 * of the status page's histogram counts: i for the linear buckets, then
 * 256 << (i - 256) for the power-of-two ones.
 * Context: any.
 */
uint64_t run_lat_bucket_low(unsigned i);

/*
 * run_lat_percentile - the @permille-th latency (500: median, 990: p99) of
 * histogram @hist of @nr buckets, by nearest rank: the lower bound of the
 * bucket holding the ceil(n * permille / 1000)-th fastest sample.
 * Context: any (a snapshot of a histogram still written is fine).
 * Return: 0 and *us, or -ENODATA when the histogram is empty.
 */
int run_lat_percentile(const uint64_t *hist, unsigned nr, unsigned permille, uint64_t *us);

/*
 * run_status_field - the value of "KEY:  N kB" in /proc/PID/status text
 * @text, in bytes.
 * Context: any. Return: 0 and *bytes, or -ENOENT (no such line).
 */
int run_status_field(const char *text, const char *key, uint64_t *bytes);

#endif /* USWAP_CLI_RUN_H */
