// SPDX-License-Identifier: MIT
/*
 * stat.c - the way uswap shows an engine's state, and `uswap stat`.
 *
 * Three sections, each in the kernel's own shape so that people and scripts
 * that know /proc read them at once:
 *   == swaps ==     like /proc/swaps (Size and Used in KiB)
 *   == vmstat ==    "name value" lines with /proc/vmstat names
 *   == zramN mm_stat ==  a header of names over a line of values, like
 *                   /sys/block/zramN/mm_stat (bytes, but the page counts)
 *
 * Owns: nothing. Locking: reads device fields and counters with relaxed
 * atomics and takes no lock; devices cannot go away while the caller, who
 * owns the engine, is printing.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

#include "dev/zram.h"
#include "swap/swap.h"

/* Each device in service, in type order. */
#define for_each_swap_info(sw, type, si)                                                           \
	for ((type) = 0; (type) < MAX_SWAPFILES; (type)++)                                         \
		if (((si) = (sw)->swap_info[type]) &&                                              \
		    (atomic_load_relaxed(&(si)->flags) & SWP_USED) && (si)->dev)

const char *cli_device_name(struct swap_info_struct *si, char *buf, size_t len)
{
	struct swap_dev *dev = si->dev;

	if (dev->kind && !strcmp(dev->name, dev->kind)) {
		snprintf(buf, len, "%s%u", dev->name, si->type);
		return buf;
	}
	return dev->name;
}

void cli_print_swaps(FILE *out, struct uswap *sw)
{
	struct swap_info_struct *si;
	unsigned type;
	char name[300];

	fprintf(out, "%-40s%-16s%-16s%-16s%s\n", "Filename", "Type", "Size", "Used", "Priority");
	for_each_swap_info(sw, type, si)
	{
		unsigned long size_kb = si->pages << (PAGE_SHIFT - 10);
		unsigned long used_kb = swap_inuse_pages(si) << (PAGE_SHIFT - 10);

		fprintf(out, "%-39s %-15s %-15lu %-15lu %d\n",
			cli_device_name(si, name, sizeof(name)),
			si->dev->kind ? si->dev->kind : "?", size_kb, used_kb, si->prio);
	}
}

static void print_vmstat(FILE *out, struct uswap *sw)
{
	for (int i = 0; i < NR_VM_EVENT_ITEMS; i++)
		fprintf(out, "%s %lu\n", vm_event_names[i],
			vm_event_read(sw_events(sw), (enum vm_event_item)i));
}

static void print_mm_stat(FILE *out, struct swap_info_struct *si)
{
	static const char *const names[] = {"orig_data_size", "compr_data_size", "mem_used_total",
					    "mem_limit",      "mem_used_max",	 "same_pages",
					    "huge_pages",     "pages_stored"};
	struct zram_stats st;
	uint64_t v[ARRAY_SIZE(names)];
	char name[300];

	if (zram_get_stats(si->dev, &st))
		return;
	v[0] = st.orig_data_size;
	v[1] = st.compr_data_size;
	v[2] = st.mem_used_total;
	v[3] = st.mem_limit;
	v[4] = st.mem_used_max;
	v[5] = st.same_pages;
	v[6] = st.huge_pages;
	v[7] = st.pages_stored;
	fprintf(out, "\n== %s mm_stat ==\n", cli_device_name(si, name, sizeof(name)));
	for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
		fprintf(out, i + 1 < ARRAY_SIZE(names) ? "%-*s " : "%.*s\n", (int)strlen(names[i]),
			names[i]);
	for (unsigned i = 0; i < ARRAY_SIZE(names); i++)
		fprintf(out, i + 1 < ARRAY_SIZE(names) ? "%-*" PRIu64 " " : "%*" PRIu64 "\n",
			i + 1 < ARRAY_SIZE(names) ? (int)strlen(names[i]) : 0, v[i]);
	if (st.compr_data_size)
		fprintf(out, "compression ratio %.2f (orig_data_size / compr_data_size)\n",
			(double)st.orig_data_size / (double)st.compr_data_size);
}

void cli_print_stat(FILE *out, struct uswap *sw)
{
	struct swap_info_struct *si;
	unsigned type;

	fputs("== swaps ==\n", out);
	cli_print_swaps(out, sw);
	fputs("\n== vmstat ==\n", out);
	print_vmstat(out, sw);
	for_each_swap_info(sw, type, si)
	{
		if (is_zram_dev(si->dev))
			print_mm_stat(out, si);
	}
}

/* ---- uswap stat ---- */

static const char stat_usage[] =
	"Usage: uswap stat [--device zram|file:PATH] [--comp lz4|zstd] [--size S] [--demo]\n"
	"\n"
	"Show the state of a swap engine the way uswap prints it everywhere (after\n"
	"every `uswap bench` run too): a /proc/swaps-like device table (Size and Used\n"
	"in KiB), the event counters with /proc/vmstat names, and for a zram device\n"
	"its mm_stat figures (bytes; same_pages, huge_pages, pages_stored are pages).\n"
	"\n"
	"An engine lives inside a process, so there is no system-wide state to show:\n"
	"`uswap stat` builds a fresh engine with the chosen device and prints it (all\n"
	"counters zero). With --demo it first runs a small workload on the model\n"
	"(well under a second): 16 MiB of pages of four kinds (zero, same-filled,\n"
	"text, random) are written in a budget of 4 MiB, so most go to swap; one page\n"
	"in five is read back and checked; the state is printed while the rest is\n"
	"still swapped out.\n"
	"\n"
	"Options:\n"
	"  --device zram|file:PATH  the swap device (default zram); a swap file must\n"
	"                           exist (make one with `uswap mkswap`)\n"
	"  --comp lz4|zstd          zram compressor (default lz4)\n"
	"  --size S                 zram device size, K/M/G suffixes (default 256M)\n"
	"  --demo                   run the small workload before printing\n"
	"  -h, --help               this text\n"
	"\n"
	"Exit status: 0 ok, 1 runtime failure, 2 usage error.\n";

int cmd_stat(int argc, char **argv)
{
	static const struct option opts[] = {
		{"device", required_argument, NULL, 'D'}, {"comp", required_argument, NULL, 'c'},
		{"size", required_argument, NULL, 's'},	  {"demo", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},	  {0},
	};
	struct cli_dev_spec spec = {.kind = CLI_DEV_ZRAM, .zram_bytes = 256UL << 20};
	bool demo = false;
	struct uswap *sw;
	char err[512];
	int c, type, ret;

	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'D':
			if (cli_parse_device(optarg, &spec))
				return cli_usage_error("bad --device '%s': use zram or file:PATH",
						       optarg);
			break;
		case 'c':
			if (cli_parse_comp(optarg, &spec))
				return cli_usage_error("bad --comp '%s': use lz4 or zstd", optarg);
			break;
		case 's':
			if (cli_parse_size(optarg, &spec.zram_bytes) ||
			    spec.zram_bytes < 2 * PAGE_SIZE)
				return cli_usage_error("bad --size '%s': a size of at least 8K "
						       "with K, M or G suffix",
						       optarg);
			break;
		case 'd':
			demo = true;
			break;
		case 'h':
			fputs(stat_usage, stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option(c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);

	ret = cli_engine_create(&sw);
	if (ret) {
		cli_error("cannot create an engine: %s", strerror(-ret));
		return CLI_EXIT_FAIL;
	}
	type = cli_swapon(sw, &spec, err, sizeof(err));
	if (type < 0) {
		cli_error("%s", err);
		swap_engine_destroy(sw);
		return CLI_EXIT_FAIL;
	}
	if (demo) {
		ret = cli_stat_demo(sw, stdout);
		if (ret)
			cli_error("demo workload failed: %s", strerror(-ret));
	} else {
		cli_print_stat(stdout, sw);
	}
	if (cli_swapoff_all(sw) && ret == 0) {
		cli_error("swapoff failed: slots still in use");
		ret = -EBUSY;
	}
	swap_engine_destroy(sw);
	return ret ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
