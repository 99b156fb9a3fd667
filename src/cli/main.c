// SPDX-License-Identifier: MIT
/*
 * main.c - the uswap command: find the subcommand and run it.
 *
 * Owns: the subcommand table. Locking: none (runs before any thread).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "uswap/uswap.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis;
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{"mkswap", cmd_mkswap, "mkswap FILE SIZE [-L LABEL] [-U UUID]",
	 "make a SWAPSPACE2 swap file (mode 0600)"},
	{"inspect", cmd_inspect, "inspect [--clusters] FILE",
	 "show a swap header; --clusters: a cluster map"},
	{"stat", cmd_stat, "stat [--demo] [--device D]", "show the engine's state format"},
	{"bench", cmd_bench, "bench WORKLOAD [options]",
	 "run a workload (usemem, bgsave) on a real device"},
	{"run", cmd_run, "run [--budget SIZE] -- PROG [ARG]...",
	 "run a program with its memory paged under a budget"},
};

static void usage(FILE *out)
{
	fputs("Usage: uswap COMMAND [ARGUMENT]...\n"
	      "\n"
	      "uswap is the Linux swap subsystem (swap-table design, phase II) in user space.\n"
	      "\n"
	      "Commands:\n",
	      out);
	for (unsigned i = 0; i < ARRAY_SIZE(subcommands); i++)
		fprintf(out, "  %-40s %s\n", subcommands[i].synopsis, subcommands[i].summary);
	fputs("  help [COMMAND]                           this text, or COMMAND --help\n"
	      "\n"
	      "Run 'uswap COMMAND --help' for a command's arguments and options.\n"
	      "\n"
	      "Exit status:\n"
	      "  0  success\n"
	      "  1  runtime failure: unreadable or malformed file, I/O error, engine or\n"
	      "     device failure, a benchmark's data verification failed\n"
	      "  2  usage error: unknown command or option, bad or missing argument\n"
	      "  uswap run exits with PROG's status instead (128+N if a signal N killed it,\n"
	      "  127 not found, 126 not executable); 1 if it refused to start PROG.\n",
	      out);
}

static const struct subcommand *find_subcommand(const char *name)
{
	for (unsigned i = 0; i < ARRAY_SIZE(subcommands); i++)
		if (!strcmp(subcommands[i].name, name))
			return &subcommands[i];
	return NULL;
}

static int run_subcommand(const struct subcommand *sub, int argc, char **argv)
{
	cli_subcommand = sub->name;
	opterr = 0;
	optind = 1;
	return sub->run(argc, argv);
}

/*
 * Results that never reached stdout (a full disk, /dev/full, a closed
 * descriptor) are a failure, as in util-linux: "write error" and exit 1.
 * A reader that went away (EPIPE) is not. So is a failed write to stderr,
 * which carries results too (`bench --json --clusters` puts the cluster map
 * there) and warnings: exit 1 (as util-linux does), with no message, since
 * there is nowhere left to write one.
 */
static int finish(int status)
{
	int err = 0;

	errno = 0;
	if (fflush(stdout) != 0 || ferror(stdout))
		err = errno ? errno : EIO;
	if ((!err || err == EPIPE) && ferror(stderr) && status == CLI_EXIT_OK)
		return CLI_EXIT_FAIL;
	if (!err || err == EPIPE)
		return status;
	cli_error("write error: %s", strerror(err));
	return CLI_EXIT_FAIL;
}

static int run_main(int argc, char **argv)
{
	const struct subcommand *sub;

	if (argc < 2)
		return cli_usage_error("missing COMMAND (mkswap, inspect, stat, bench, run)");
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("uswap %s\n", uswap_version());
		return CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "help")) {
		char help[] = "--help";
		char *args[] = {argv[2], help, NULL};

		if (argc < 3) {
			usage(stdout);
			return CLI_EXIT_OK;
		}
		sub = find_subcommand(argv[2]);
		if (!sub)
			return cli_usage_error("unknown command '%s'", argv[2]);
		return run_subcommand(sub, 2, args);
	}
	sub = find_subcommand(argv[1]);
	if (!sub)
		return cli_usage_error("unknown command '%s'", argv[1]);
	return run_subcommand(sub, argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	return finish(run_main(argc, argv));
}
