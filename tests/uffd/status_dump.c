// SPDX-License-Identifier: MIT
/*
 * status_dump.c - for tests: `status_dump create FILE` makes an empty run
 * status page (run_status.h) as `uswap run` does; `status_dump show FILE`
 * prints its figures, the process tree's included, one "name value" a line.
 *
 * Owns: nothing. Locking: none (reads a snapshot).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uffd/run_status.h"

int main(int argc, char **argv)
{
	struct uswap_run_status *s;
	int fd;

	if (argc != 3 || (strcmp(argv[1], "create") && strcmp(argv[1], "show"))) {
		fprintf(stderr, "usage: status_dump create|show FILE\n");
		return 2;
	}
	if (!strcmp(argv[1], "create")) {
		struct uswap_run_status z;

		memset(&z, 0, sizeof(z));
		z.magic = USWAP_RUN_STATUS_MAGIC;
		z.version = USWAP_RUN_STATUS_VERSION;
		fd = open(argv[2], O_RDWR | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || write(fd, &z, sizeof(z)) != (ssize_t)sizeof(z)) {
			perror(argv[2]);
			return 1;
		}
		return close(fd) ? 1 : 0;
	}
	fd = open(argv[2], O_RDONLY);
	s = fd < 0 ? MAP_FAILED : mmap(NULL, sizeof(*s), PROT_READ, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED) {
		perror(argv[2]);
		return 1;
	}
	printf("state %d\nresident_bytes %" PRIu64 "\nresident_peak_bytes %" PRIu64
	       "\nswapped_bytes %" PRIu64 "\n",
	       s->state, s->resident_bytes, s->resident_peak_bytes, s->swapped_bytes);
	printf("tree_processes %" PRIu64 "\ntree_forks %" PRIu64 "\ntree_exited %" PRIu64
	       "\ntree_faults %" PRIu64 "\ntree_swapins %" PRIu64 "\ntree_swapouts %" PRIu64
	       "\ntree_shared_hits %" PRIu64 "\ntree_shared_reads %" PRIu64 "\n",
	       s->tree_processes, s->tree_forks, s->tree_exited, s->tree_faults, s->tree_swapins,
	       s->tree_swapouts, s->tree_shared_hits, s->tree_shared_reads);
	for (uint32_t i = 0; i < s->nr_procs && i < USWAP_RUN_MAX_PROCS; i++)
		printf("proc %d live %u faults %" PRIu64 " swapins %" PRIu64 " swapouts %" PRIu64
		       " shared_hits %" PRIu64 " shared_reads %" PRIu64 "\n",
		       s->procs[i].pid, s->procs[i].live, s->procs[i].faults, s->procs[i].swapins,
		       s->procs[i].swapouts, s->procs[i].shared_hits, s->procs[i].shared_reads);
	return 0;
}
