// SPDX-License-Identifier: MIT
/*
 * mkswap.c - `uswap mkswap FILE SIZE [-L label] [-U uuid]`: format a swap
 * file in util-linux mkswap's SWAPSPACE2 format through dev/file, then read
 * the header back and show what was written.
 *
 * Owns: nothing. Locking: none (single-threaded).
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "dev/file.h"

static const char mkswap_usage[] =
	"Usage: uswap mkswap FILE SIZE [-L LABEL] [-U UUID]\n"
	"\n"
	"Make FILE a swap file of SIZE bytes (rounded down to whole 4 KiB pages, at\n"
	"least 40K) in the SWAPSPACE2 format of util-linux mkswap: the kernel's swapon\n"
	"and uswap both accept it. SIZE takes suffixes as util-linux does: K, M, G, T\n"
	"(or KiB, MiB, GiB, TiB) are powers of 1024, KB, MB, GB, TB powers of 1000.\n"
	"\n"
	"A new FILE is created with mode 0600 and every block allocated (a swap file\n"
	"must have no holes). An existing FILE must be a regular file; it is never\n"
	"truncated: like mkswap, its first page becomes the header, its holes and any\n"
	"growth to SIZE are allocated, and its mode becomes 0600 (if you own it; else\n"
	"it stays, and swapon warns about a mode open to others). Free space and file\n"
	"size limits are checked first; if anything fails, a FILE that existed is\n"
	"left as it was and one that did not is removed. A FILE in use as swap, by\n"
	"another uswap engine or by the kernel, is refused (busy).\n"
	"\n"
	"Options:\n"
	"  -L, --label LABEL  volume label, at most 16 bytes\n"
	"  -U, --uuid UUID    xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, or clear (all\n"
	"                     zeros), random (version 4, the default) or time\n"
	"                     (version 1)\n"
	"  -h, --help         this text\n"
	"\n"
	"Exit status: 0 ok, 1 runtime failure (I/O, no space, busy), 2 usage error.\n";

/* A header-sized file larger than 2^32 pages cannot be described. */
#define MKSWAP_MAX_BYTES (((uint64_t)UINT32_MAX + 1) * PAGE_SIZE)

static int refuse_existing(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return 0;
	if (!S_ISREG(st.st_mode)) {
		cli_error("%s: not a regular file (uswap mkswap only makes swap files)", path);
		return -EINVAL;
	}
	return 0;
}

int cmd_mkswap(int argc, char **argv)
{
	static const struct option opts[] = {
		{"label", required_argument, NULL, 'L'},
		{"uuid", required_argument, NULL, 'U'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *label = NULL, *path;
	uint8_t uuid[SWAP_HEADER_UUID_LEN];
	bool have_uuid = false;
	uint64_t size;
	char buf[32], esc[80];
	struct stat st;
	int c, ret;

	while ((c = getopt_long(argc, argv, ":L:U:h", opts, NULL)) != -1) {
		switch (c) {
		case 'L':
			if (strlen(optarg) > SWAP_HEADER_LABEL_LEN)
				return cli_usage_error("label '%s' is %zu bytes long: at most %d "
						       "fit in a swap header",
						       cli_escape(optarg, esc, sizeof(esc)),
						       strlen(optarg), SWAP_HEADER_LABEL_LEN);
			label = optarg;
			break;
		case 'U':
			ret = cli_uuid_arg(optarg, uuid);
			if (ret == -EINVAL)
				return cli_usage_error("bad UUID '%s': expected "
						       "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx "
						       "(hex digits), clear, random or time",
						       optarg);
			if (ret) {
				cli_error("cannot make a UUID: %s", strerror(-ret));
				return CLI_EXIT_FAIL;
			}
			have_uuid = true;
			break;
		case 'h':
			fputs(mkswap_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option(c, argv);
		}
	}
	if (argc - optind < 2)
		return cli_usage_error(argc == optind ? "missing FILE and SIZE" : "missing SIZE");
	if (argc - optind > 2)
		return cli_usage_error("unexpected argument '%s'", argv[optind + 2]);
	path = argv[optind];
	ret = cli_parse_size(argv[optind + 1], &size);
	if (ret)
		return cli_usage_error("bad SIZE '%s': %s", argv[optind + 1],
				       ret == -ERANGE ? "too large"
						      : "expected digits with an optional K, M, "
							"G or T suffix");
	if (size / PAGE_SIZE < SWAP_HEADER_MIN_PAGES)
		return cli_usage_error("SIZE %s is too small: a swap file needs at least %d "
				       "pages (%luK)",
				       argv[optind + 1], SWAP_HEADER_MIN_PAGES,
				       SWAP_HEADER_MIN_PAGES * PAGE_SIZE / 1024);
	if (size > MKSWAP_MAX_BYTES)
		return cli_usage_error("SIZE %s is too large: a swap header describes at most "
				       "2^32 pages (%s)",
				       argv[optind + 1],
				       cli_format_bytes(MKSWAP_MAX_BYTES, buf, sizeof(buf)));
	if (refuse_existing(path))
		return CLI_EXIT_FAIL;

	ret = swapfile_format(path, size, label, have_uuid ? uuid : NULL, NULL, 0);
	if (ret == -EBUSY) {
		cli_error("%s: %s: in use as swap (by another uswap engine, or by the kernel: "
			  "see /proc/swaps); not formatted",
			  path, strerror(-ret));
		return CLI_EXIT_FAIL;
	}
	if (ret) {
		cli_error("%s: cannot make a swap file: %s", path, strerror(-ret));
		return CLI_EXIT_FAIL;
	}
	/* Someone else's file keeps its mode: say so, as util-linux mkswap does. */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
		cli_warn("%s: insecure permissions %04o, fix with: chmod 0600 %s", path,
			 (unsigned)(st.st_mode & 07777), path);
	return cli_print_header(path, true) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
