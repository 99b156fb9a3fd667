/* SPDX-License-Identifier: MIT */
/*
 * cli.h - the uswap command: subcommands, exit codes, argument parsing
 * helpers and the printers that show an engine's state everywhere.
 *
 * Exit codes (documented in `uswap --help`):
 *   0  success
 *   1  runtime failure: a file could not be read or written, a header is
 *      malformed, the engine or a device failed, a benchmark verify failed
 *   2  usage error: unknown subcommand or option, bad or missing argument
 *
 * Every message for the user goes to stderr as "uswap SUBCOMMAND: what went
 * wrong"; results go to stdout.
 *
 * Owns: declarations. Locking: the printers read engine state with relaxed
 * atomics and no locks: exact when the engine is quiescent, a snapshot
 * otherwise.
 */
#ifndef USWAP_CLI_H
#define USWAP_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/compiler.h"

struct uswap;
struct swap_info_struct;
struct swap_header_info;

enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1,
	CLI_EXIT_USAGE = 2,
};

/* ---- messages (util.c) ---- */

/* The subcommand running, for messages ("mkswap"); NULL for the top level. */
extern const char *cli_subcommand;

/*
 * cli_error - print "uswap SUB: message" and a newline to stderr.
 * Context: any.
 */
void cli_error(const char *fmt, ...) __printf(1, 2);

/*
 * cli_usage_error - print "uswap SUB: message" and a pointer to --help.
 * Context: any. Return: CLI_EXIT_USAGE, for `return cli_usage_error(...)`.
 */
int cli_usage_error(const char *fmt, ...) __printf(1, 2);

/*
 * cli_warn - print "uswap SUB: warning: message" to stderr: something the
 * command accepts but the user should know.
 * Context: any.
 */
void cli_warn(const char *fmt, ...) __printf(1, 2);

/* ---- argument parsing (util.c) ---- */

/*
 * cli_bad_option - the usage error for what getopt_long() returned as @c
 * ('?' unknown option, ':' missing argument: optstrings start with ':').
 * Context: right after getopt_long(). Return: CLI_EXIT_USAGE.
 */
int cli_bad_option(int c, char **argv);

/*
 * cli_parse_size - a byte count: digits with an optional suffix read as
 * util-linux reads them: K, M, G, T and KiB, MiB, GiB, TiB are powers of
 * 1024; KB, MB, GB, TB are powers of 1000 (case-insensitive).
 * Context: any. Return: 0 and *bytes, -EINVAL (not a size) or -ERANGE
 * (does not fit in 64 bits).
 */
int cli_parse_size(const char *s, uint64_t *bytes);

/*
 * cli_parse_ulong - a decimal number in [lo, hi].
 * Context: any. Return: 0 and *val, -EINVAL (not a number) or -ERANGE.
 */
int cli_parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *val);

/*
 * cli_parse_uuid - "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", hex digits in
 * either case, into 16 bytes in the order written (RFC 4122).
 * Context: any. Return: 0, or -EINVAL if @s is not exactly that.
 */
int cli_parse_uuid(const char *s, uint8_t uuid[16]);

/*
 * cli_uuid_arg - what mkswap -U takes, as util-linux does: "clear" (all
 * zeros), "random" (version 4), "time" (version 1, a random clock sequence
 * and node) or a UUID (cli_parse_uuid()).
 * Context: any. Return: 0, -EINVAL, or the errno of getrandom().
 */
int cli_uuid_arg(const char *s, uint8_t uuid[16]);

/*
 * cli_escape - @s for a terminal: control characters and backslash as
 * "\xHH", the rest as is; cut short to fit @len (at least 6).
 * Context: any. Return: @buf.
 */
char *cli_escape(const char *s, char *buf, size_t len);

/* Write @uuid as 36 characters and a NUL into @out. Context: any. */
void cli_format_uuid(const uint8_t uuid[16], char out[37]);

/*
 * cli_read_text - a small text file (sysfs, cgroup, /proc) into @buf, at
 * most @len - 1 bytes, NUL-terminated.
 * Context: any. Return: the number of bytes read, or a negative errno.
 */
ssize_t cli_read_text(const char *path, char *buf, size_t len);

/*
 * cli_json_string - @s as a JSON string, quoted and escaped. JSON text is
 * UTF-8: a byte that is not part of a well-formed UTF-8 sequence becomes
 * U+FFFD.
 * Context: any.
 */
void cli_json_string(FILE *out, const char *s);

/*
 * cli_format_bytes - @bytes for people: "512 B", "4 KiB", "1.5 GiB".
 * Context: any. Return: @buf.
 */
char *cli_format_bytes(uint64_t bytes, char *buf, size_t len);

/* ---- devices and engines (device.c) ---- */

enum cli_dev_kind {
	CLI_DEV_ZRAM = 0,
	CLI_DEV_FILE,
};

/* What --device and --comp chose. */
struct cli_dev_spec {
	enum cli_dev_kind kind;
	const char *path;    /* CLI_DEV_FILE: the swap file */
	int algo;	     /* enum zram_algo */
	uint64_t zram_bytes; /* CLI_DEV_ZRAM: device size */
	uint64_t zram_limit; /* CLI_DEV_ZRAM: mem_limit, 0 = none */
	bool readonly;	     /* CLI_DEV_FILE: write nothing (SWAPFILE_OPEN_READONLY) */
};

/*
 * cli_parse_device - "zram" or "file:PATH" into @spec (other fields kept).
 * Context: any. Return: 0, or -EINVAL.
 */
int cli_parse_device(const char *s, struct cli_dev_spec *spec);

/*
 * cli_parse_comp - "lz4" or "zstd" into spec->algo.
 * Context: any. Return: 0, or -EINVAL.
 */
int cli_parse_comp(const char *s, struct cli_dev_spec *spec);

/* A name for a zram algorithm ("lz4", "zstd"). Context: any. */
const char *cli_comp_name(int algo);

/*
 * cli_swapon - make the device @spec describes and put it into service on
 * @sw. A message naming the problem goes to @err. A swap file open to
 * others gets swapon(8)'s warning (mode & 07077 for a file, 07007 for a
 * block device), as the kernel does not refuse it.
 * Context: may sleep (I/O). Return: the swap type (>= 0) or a negative errno.
 */
int cli_swapon(struct uswap *sw, const struct cli_dev_spec *spec, char *err, size_t errlen);

/*
 * cli_engine_create - an engine for the command line (private arena of
 * 64 GiB of address space, touched only as used).
 * Context: any. Return: 0 and *out, or a negative errno.
 */
int cli_engine_create(struct uswap **out);

/*
 * cli_swapoff_all - take every device out of service and destroy it.
 * Context: every slot must be free (no folio, no count).
 * Return: 0, or the first error of swapoff.
 */
int cli_swapoff_all(struct uswap *sw);

/* ---- printers (stat.c, clusters.c) ---- */

/*
 * cli_print_stat - the engine's state as uswap shows it everywhere: a
 * /proc/swaps-like device table (sizes in KiB), the event counters with
 * /proc/vmstat names, and for each zram device its mm_stat-like figures.
 * Context: any; a snapshot while the engine runs.
 */
void cli_print_stat(FILE *out, struct uswap *sw);

/*
 * cli_device_name - how the device of @si is named in tables: its path, or
 * its kind and type ("zram0") when it has none. @buf holds the latter.
 * Context: the device is in service. Return: the name.
 */
const char *cli_device_name(struct swap_info_struct *si, char *buf, size_t len);

/*
 * cli_print_swaps - only the device table of cli_print_stat().
 * Context: any.
 */
void cli_print_swaps(FILE *out, struct uswap *sw);

/*
 * cli_print_clusters - the cluster map of device @si: one character per
 * cluster for its list ('.' free, 'n' nonfull, 'f' frag, '#' full,
 * 'd' discard, '?' isolated), a row of allocation orders below, a legend
 * and per-state totals.
 * Context: the device is in service; exact only when nothing allocates.
 */
void cli_print_clusters(FILE *out, struct swap_info_struct *si);

/*
 * cli_print_header - the facts of the swap header of @path on stdout: all of
 * them, or (@brief) one line, as after mkswap. Problems (unreadable file,
 * malformed header with the parser's reason) go to stderr.
 * Context: may sleep (I/O). Return: 0, or a negative errno.
 */
int cli_print_header(const char *path, bool brief);

/*
 * cli_stat_demo - the small workload of `uswap stat --demo` on @sw (a device
 * in service, no mm layer yet): a model address space larger than its
 * budget is written, part of it read back and checked; the state is printed
 * with cli_print_stat() to @out while the rest is still swapped out, then
 * the model is torn down and every slot released.
 * Context: may sleep. Return: 0, or a negative errno (-EIO: a page came
 * back different).
 */
int cli_stat_demo(struct uswap *sw, FILE *out);

/* ---- subcommands ---- */

/*
 * cmd_NAME - run `uswap NAME`: argv[0] is NAME, options and arguments
 * follow; getopt's state is fresh (optind 1, opterr 0).
 * Context: the main thread, before any other thread of the command.
 * Return: the exit code (CLI_EXIT_*).
 */
int cmd_mkswap(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_run(int argc, char **argv);

#endif /* USWAP_CLI_H */
