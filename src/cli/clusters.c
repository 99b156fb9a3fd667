// SPDX-License-Identifier: MIT
/*
 * clusters.c - the cluster map of a device in service: which list each
 * cluster is on and its allocation order, one character per cluster.
 *
 *            0  ################nnnnf...d.......
 *               9999999999999999444402
 *
 * Owns: nothing. Locking: reads ci->flags, ci->order and ci->count with
 * relaxed atomics and takes no lock: printing a map must not perturb the
 * allocator it shows. The map is exact when no thread allocates or frees
 * (after a benchmark run), a blurred snapshot otherwise.
 */
#include "cli.h"

#include <string.h>

#include "dev/dev.h"
#include "swap/swap.h"

#define MAP_COLUMNS  64
#define MAP_MAX_ROWS 64

static const char state_char[CLUSTER_FLAG_MAX] = {
	[CLUSTER_FLAG_NONE] = '?', [CLUSTER_FLAG_FREE] = '.', [CLUSTER_FLAG_NONFULL] = 'n',
	[CLUSTER_FLAG_FRAG] = 'f', [CLUSTER_FLAG_FULL] = '#', [CLUSTER_FLAG_DISCARD] = 'd',
};

static const char *const state_name[CLUSTER_FLAG_MAX] = {
	[CLUSTER_FLAG_NONE] = "isolated",   [CLUSTER_FLAG_FREE] = "free",
	[CLUSTER_FLAG_NONFULL] = "nonfull", [CLUSTER_FLAG_FRAG] = "frag",
	[CLUSTER_FLAG_FULL] = "full",	    [CLUSTER_FLAG_DISCARD] = "discard",
};

static unsigned cluster_state(struct swap_cluster_info *ci)
{
	unsigned flags = atomic_load_relaxed(&ci->flags);

	return flags < CLUSTER_FLAG_MAX ? flags : CLUSTER_FLAG_NONE;
}

/* A cluster whose order means something: it holds allocated slots. */
static bool cluster_has_order(struct swap_cluster_info *ci)
{
	unsigned state = cluster_state(ci);

	return state != CLUSTER_FLAG_FREE && state != CLUSTER_FLAG_DISCARD &&
	       atomic_load_relaxed(&ci->count) > 0;
}

/* The most common state among clusters [first, first + n). */
static unsigned group_state(struct swap_info_struct *si, unsigned long first, unsigned long n)
{
	unsigned long seen[CLUSTER_FLAG_MAX] = {0};
	unsigned best = CLUSTER_FLAG_FREE;

	for (unsigned long i = first; i < first + n && i < si->nr_clusters; i++)
		seen[cluster_state(&si->cluster_info[i])]++;
	for (unsigned s = 0; s < CLUSTER_FLAG_MAX; s++)
		if (seen[s] > seen[best])
			best = s;
	return best;
}

static void print_rows(FILE *out, struct swap_info_struct *si, unsigned long per)
{
	unsigned long cells = DIV_ROUND_UP(si->nr_clusters, per);
	char states[MAP_COLUMNS + 1], orders[MAP_COLUMNS + 1];

	for (unsigned long row = 0; row * MAP_COLUMNS < cells; row++) {
		unsigned long first = row * MAP_COLUMNS;
		unsigned n = (unsigned)min((unsigned long)MAP_COLUMNS, cells - first);
		bool any_order = false;

		for (unsigned i = 0; i < n; i++) {
			unsigned long c = (first + i) * per;
			struct swap_cluster_info *ci = &si->cluster_info[c];

			states[i] = state_char[group_state(si, c, per)];
			orders[i] = ' ';
			if (per == 1 && cluster_has_order(ci)) {
				orders[i] = (char)('0' + atomic_load_relaxed(&ci->order));
				any_order = true;
			}
		}
		states[n] = orders[n] = '\0';
		while (n && orders[n - 1] == ' ')
			orders[--n] = '\0';
		fprintf(out, "%8lu  %s\n", first * per, states);
		if (any_order)
			fprintf(out, "%8s  %s\n", "", orders);
	}
}

void cli_print_clusters(FILE *out, struct swap_info_struct *si)
{
	unsigned long nr_state[CLUSTER_FLAG_MAX] = {0}, nr_order[SWAP_NR_ORDERS] = {0};
	unsigned long per = DIV_ROUND_UP(si->nr_clusters, MAP_COLUMNS * MAP_MAX_ROWS);
	const char *sep = "";
	char name[300];

	for (unsigned long i = 0; i < si->nr_clusters; i++) {
		struct swap_cluster_info *ci = &si->cluster_info[i];

		nr_state[cluster_state(ci)]++;
		if (cluster_has_order(ci))
			nr_order[min(atomic_load_relaxed(&ci->order), SWAP_NR_ORDERS - 1)]++;
	}
	fprintf(out, "cluster map of %s: %lu clusters of %d slots, ",
		cli_device_name(si, name, sizeof(name)), si->nr_clusters, SWAPFILE_CLUSTER);
	if (per == 1)
		fputs("one character per cluster\n", out);
	else
		fprintf(out, "one character per %lu clusters (their most common state)\n", per);
	print_rows(out, si, per);
	fputs("legend: . free  n nonfull  f frag  # full  d discard  ? isolated (on no list)\n",
	      out);
	if (per == 1)
		fputs("        the digit below a cluster in use is its allocation order\n", out);
	fputs("totals:", out);
	for (unsigned s = CLUSTER_FLAG_FREE; s < CLUSTER_FLAG_MAX; s++)
		fprintf(out, " %s %lu", state_name[s], nr_state[s]);
	fprintf(out, " %s %lu\n", state_name[CLUSTER_FLAG_NONE], nr_state[CLUSTER_FLAG_NONE]);
	fputs("in use by order:", out);
	for (unsigned o = 0; o < SWAP_NR_ORDERS; o++) {
		if (!nr_order[o])
			continue;
		fprintf(out, "%s order %u: %lu", sep, o, nr_order[o]);
		sep = ",";
	}
	fprintf(out, "%s\nslots in use %lu of %lu\n", *sep ? "" : " none", swap_inuse_pages(si),
		si->pages);
}
