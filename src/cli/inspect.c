// SPDX-License-Identifier: MIT
/*
 * inspect.c - `uswap inspect FILE`: what a swap header says, checked by the
 * same parser swapon uses; `--clusters`: the cluster map of FILE in service
 * in a fresh engine after a short, fixed allocation pattern.
 *
 * Owns: the demonstration folios while --clusters runs. Locking: none of
 * its own; the demonstration is single-threaded and takes folio locks as
 * the swap API requires.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dev/file.h"
#include "swap/swap.h"

static const char inspect_usage[] =
	"Usage: uswap inspect [--clusters] FILE\n"
	"\n"
	"Show what the SWAPSPACE2 header of FILE (a swap file or block device) says:\n"
	"version, size in pages and bytes, page size, label, UUID, bad pages and the\n"
	"byte order it was written in. The header is checked as swapon checks it;\n"
	"a malformed header is reported with the parser's reason.\n"
	"\n"
	"Options:\n"
	"  --clusters  also put FILE into service in a fresh engine, read-only (not a\n"
	"              byte of it is written; it must pass swapon's checks: no holes,\n"
	"              not in use by an engine or the kernel), allocate a fixed\n"
	"              pattern of slots of orders 9, 4, 2, 0 and 1, free part of them,\n"
	"              and draw the resulting cluster map. `uswap bench ... --clusters`\n"
	"              draws the map of a real workload instead.\n"
	"  -h, --help  this text\n"
	"\n"
	"Exit status: 0 ok, 1 unreadable file or malformed header, 2 usage error.\n";

static const char *native_endian(bool foreign)
{
	bool little = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

	return little != foreign ? "little-endian" : "big-endian";
}

/* Size of a regular file or block device. Return: 0 or -errno. */
static int device_bytes(int fd, const struct stat *st, uint64_t *bytes)
{
	if (S_ISBLK(st->st_mode))
		return ioctl(fd, BLKGETSIZE64, bytes) < 0 ? -errno : 0;
	*bytes = (uint64_t)st->st_size;
	return 0;
}

/*
 * Read and parse the header of @path. Messages name the problem.
 * Return: 0 and @hdr, @st, @bytes filled, or a negative errno.
 */
static int read_header(const char *path, struct swap_header_info *hdr, struct stat *st,
		       uint64_t *bytes)
{
	unsigned char page[SWAP_HEADER_SIZE];
	ssize_t n;
	int fd, ret;

	/* O_NONBLOCK: a FIFO or a tty must be refused, not waited on. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		cli_error("%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	ret = fstat(fd, st) < 0 ? -errno : device_bytes(fd, st, bytes);
	if (ret) {
		cli_error("%s: cannot stat: %s", path, strerror(-ret));
		goto out;
	}
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
		cli_error("%s: not a regular file or block device", path);
		ret = -EINVAL;
		goto out;
	}
	n = pread(fd, page, sizeof(page), 0);
	if (n < 0) {
		ret = -errno;
		cli_error("%s: cannot read the header: %s", path, strerror(-ret));
		goto out;
	}
	if (n < (ssize_t)sizeof(page)) {
		cli_error("%s: %s (the file is %zd bytes, smaller than one %lu-byte page)", path,
			  swap_header_strerror(SWAP_HDR_NO_SIGNATURE), n, PAGE_SIZE);
		ret = SWAP_HDR_NO_SIGNATURE;
		goto out;
	}
	ret = swap_header_parse(page, *bytes, hdr);
	if (ret == SWAP_HDR_BAD_VERSION)
		cli_error("%s: %s: found version %" PRIu32, path, swap_header_strerror(ret),
			  hdr->version);
	else if (ret == SWAP_HDR_TOO_SHORT)
		cli_error("%s: %s: last_page %" PRIu32 " needs %" PRIu64
			  " bytes, the %s has %" PRIu64,
			  path, swap_header_strerror(ret), hdr->last_page,
			  ((uint64_t)hdr->last_page + 1) * PAGE_SIZE,
			  S_ISBLK(st->st_mode) ? "device" : "file", *bytes);
	else if (ret == SWAP_HDR_DUP_BAD_PAGE)
		cli_error("%s: %s: page %" PRIu32 " (%" PRIu32 " entries for last_page %" PRIu32
			  "); swapon refuses it",
			  path, swap_header_strerror(ret), swap_header_dup_badpage(hdr),
			  hdr->nr_badpages, hdr->last_page);
	else if (ret)
		cli_error("%s: %s", path, swap_header_strerror(ret));
out:
	close(fd);
	return ret;
}

static void print_full(FILE *out, const char *path, const struct swap_header_info *hdr,
		       const struct stat *st, uint64_t bytes)
{
	uint64_t pages = (uint64_t)hdr->last_page + 1;
	uint64_t usable = (uint64_t)hdr->last_page - min(hdr->nr_badpages, hdr->last_page);
	char uuid[37], b1[32], label[80];

	cli_format_uuid(hdr->uuid, uuid);
	fprintf(out, "%s: swap area (SWAPSPACE2)\n", path);
	fprintf(out, "version:     %" PRIu32 "\n", hdr->version);
	fprintf(out,
		"size:        %" PRIu64 " pages, %" PRIu64 " bytes (%s); last_page %" PRIu32 "\n",
		pages, pages * PAGE_SIZE, cli_format_bytes(pages * PAGE_SIZE, b1, sizeof(b1)),
		hdr->last_page);
	fprintf(out,
		"usable:      %" PRIu64 " pages, %" PRIu64 " bytes (all but the header page"
		" and bad pages)\n",
		usable, usable * PAGE_SIZE);
	fprintf(out, "page size:   %lu\n", PAGE_SIZE);
	fprintf(out, "label:       %s\n",
		hdr->label[0] ? cli_escape(hdr->label, label, sizeof(label)) : "(none)");
	fprintf(out, "UUID:        %s\n", uuid);
	fprintf(out, "bad pages:   %" PRIu32, hdr->nr_badpages);
	for (uint32_t i = 0; i < hdr->nr_badpages; i++)
		fprintf(out, "%s%" PRIu32, i ? "," : " (", hdr->badpages[i]);
	fputs(hdr->nr_badpages ? ")\n" : "\n", out);
	fprintf(out, "endianness:  %s (%s)\n", native_endian(hdr->foreign_endian),
		hdr->foreign_endian ? "foreign: written on a machine of the other byte order"
				    : "this machine's byte order");
	fprintf(out, "%-12s %" PRIu64 " bytes, mode %04o\n",
		S_ISBLK(st->st_mode) ? "device:" : "file:", bytes, (unsigned)(st->st_mode & 07777));
	if ((st->st_mode & (S_ISBLK(st->st_mode) ? 07007 : 07077)))
		fprintf(out,
			"note:        mode %04o is open to %s: swapon warns (%s suggested) but "
			"the kernel accepts it\n",
			(unsigned)(st->st_mode & 07777),
			S_ISBLK(st->st_mode) ? "others" : "group or others",
			S_ISBLK(st->st_mode) ? "0660" : "0600");
	if (S_ISREG(st->st_mode) && hdr->nr_badpages)
		fputs("note:        swapon refuses bad pages on a regular file\n", out);
	if (!usable)
		fputs("note:        no usable page: swapon refuses it\n", out);
	if (bytes / PAGE_SIZE > pages)
		fprintf(out, "note:        %" PRIu64 " bytes past the swap area are unused\n",
			bytes - pages * PAGE_SIZE);
}

int cli_print_header(const char *path, bool brief)
{
	struct swap_header_info hdr;
	struct stat st;
	uint64_t bytes, usable;
	char uuid[37], b1[32], label[80];
	int ret;

	ret = read_header(path, &hdr, &st, &bytes);
	if (ret)
		return ret;
	if (!brief) {
		print_full(stdout, path, &hdr, &st, bytes);
		return 0;
	}
	cli_format_uuid(hdr.uuid, uuid);
	usable = (uint64_t)hdr.last_page - min(hdr.nr_badpages, hdr.last_page);
	printf("%s: swap space version %" PRIu32 ", %" PRIu64 " usable pages (%s), LABEL=%s, "
	       "UUID=%s\n",
	       path, hdr.version, usable, cli_format_bytes(usable * PAGE_SIZE, b1, sizeof(b1)),
	       hdr.label[0] ? cli_escape(hdr.label, label, sizeof(label)) : "(none)", uuid);
	return 0;
}

/* ---- --clusters: a fixed allocation pattern, then the map ---- */

struct demo {
	struct uswap *sw;
	struct folio **folios;
	unsigned long nr, cap;
};

/* Allocate up to @n folios of @order with swap slots; keep every one. */
static unsigned long demo_alloc(struct demo *d, unsigned order, unsigned long n)
{
	unsigned long done = 0;

	while (done < n && d->nr < d->cap) {
		struct folio *folio = folio_alloc(d->sw, order);
		int ret;

		if (!folio)
			break;
		folio_lock(folio);
		ret = folio_alloc_swap(folio);
		folio_unlock(folio);
		if (ret) {
			folio_put(folio);
			break;
		}
		d->folios[d->nr++] = folio;
		done++;
	}
	return done;
}

/* Free the slots of one kept folio (its counts are 0: only the cache holds it). */
static void demo_free_one(struct demo *d, unsigned long i)
{
	struct folio *folio = d->folios[i];

	if (!folio)
		return;
	folio_lock(folio);
	folio_free_swap(folio);
	folio_unlock(folio);
	folio_put(folio);
	d->folios[i] = NULL;
}

/* Free every @step-th folio of the last @n allocated, starting at @phase. */
static void demo_thin(struct demo *d, unsigned long n, unsigned long step, unsigned long phase)
{
	for (unsigned long i = d->nr - n + phase; i < d->nr; i += step)
		demo_free_one(d, i);
}

static void demo_pattern(struct demo *d, struct swap_info_struct *si)
{
	unsigned long quarter = max(si->nr_clusters / 4, 1UL), n;

	/* Whole clusters of order 9 (PMD-sized folios), every other one freed again. */
	n = demo_alloc(d, 9, min(quarter, 256UL));
	demo_thin(d, n, 2, 1);
	/* Order 4 fills clusters of its own; freeing half leaves them nonfull. */
	n = demo_alloc(d, 4, 2 * SWAPFILE_CLUSTER / 16);
	demo_thin(d, n, 2, 0);
	/* Order 2, a quarter freed. */
	n = demo_alloc(d, 2, SWAPFILE_CLUSTER / 4);
	demo_thin(d, n, 4, 0);
	/* Order 0, every third freed. */
	n = demo_alloc(d, 0, 3 * SWAPFILE_CLUSTER / 2);
	demo_thin(d, n, 3, 0);
	/* Order 1, a quarter of a fresh cluster, kept. */
	demo_alloc(d, 1, SWAPFILE_CLUSTER / 8);
}

static int inspect_clusters(const char *path)
{
	struct cli_dev_spec spec = {.kind = CLI_DEV_FILE, .path = path, .readonly = true};
	struct demo d = {0};
	struct uswap *sw;
	char err[512];
	int type, ret;

	ret = cli_engine_create(&sw);
	if (ret) {
		cli_error("cannot create an engine: %s", strerror(-ret));
		return ret;
	}
	type = cli_swapon(sw, &spec, err, sizeof(err));
	if (type < 0) {
		cli_error("%s", err);
		ret = type;
		goto out;
	}
	d.sw = sw;
	d.cap = 4096;
	d.folios = calloc(d.cap, sizeof(*d.folios));
	if (!d.folios) {
		ret = -ENOMEM;
		cli_error("out of memory");
		goto out_off;
	}
	demo_pattern(&d, sw->swap_info[type]);
	printf("\nafter a demonstration pattern: order 9 slots for up to a quarter of the "
	       "clusters,\nhalf of them freed; then orders 4, 2 and 0, partly freed; then "
	       "order 1:\n");
	cli_print_clusters(stdout, sw->swap_info[type]);
	for (unsigned long i = 0; i < d.nr; i++)
		demo_free_one(&d, i);
	free(d.folios);
	ret = swap_check_all(sw);
	if (ret)
		cli_error("the engine's invariant checker failed: %s", strerror(-ret));
out_off:
	if (cli_swapoff_all(sw) && !ret) {
		cli_error("swapoff failed: slots still in use");
		ret = -EBUSY;
	}
out:
	swap_engine_destroy(sw);
	return ret;
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{"clusters", no_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool clusters = false;
	int c;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			clusters = true;
			break;
		case 'h':
			fputs(inspect_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option(c, argv);
		}
	}
	if (optind == argc)
		return cli_usage_error("missing FILE");
	if (argc - optind > 1)
		return cli_usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (cli_print_header(argv[optind], false))
		return CLI_EXIT_FAIL;
	if (clusters && inspect_clusters(argv[optind]))
		return CLI_EXIT_FAIL;
	return CLI_EXIT_OK;
}
