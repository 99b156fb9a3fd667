/* SPDX-License-Identifier: MIT */
/*
 * compare.h - `uswap bench compare`: the same real programs run under the
 * kernel's own swap (a memory cgroup limited to the budget, swapping to the
 * kernel's zram) and under `uswap run` with the same budget, side by side.
 *
 * kswap.c owns the kernel side: it notes the state of the swap devices,
 * of /dev/zram0 and of the memory cgroup hierarchy before it changes
 * anything, sets up one run (zram sized and given its compressor, a swap
 * area on it in service, a cgroup limited to the budget), reads that run's
 * figures, and puts everything back as it was, on every path: a run that
 * failed, a SIGINT or SIGTERM, an exit. compare.c owns the workloads, the
 * processes, the table and the outputs.
 *
 * Owns: declarations. Locking: none; the command is single-threaded and a
 * signal only sets a flag (compare_interrupted) that the loops poll.
 */
#ifndef USWAP_CLI_COMPARE_H
#define USWAP_CLI_COMPARE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* The signal that asks the command to stop (SIGINT, SIGTERM, ...), or 0. */
extern volatile sig_atomic_t compare_interrupted;

/*
 * cmd_bench_compare - `uswap bench compare`: argv[0] is "compare".
 * Context: the main thread. Return: the exit code (CLI_EXIT_*, or 128+N
 * when signal N stopped it).
 */
int cmd_bench_compare(int argc, char **argv);

/* The kernel side, between kswap_open() and kswap_close(). */
struct kswap {
	bool available;	   /* root, a memory cgroup hierarchy and a free zram0 */
	char why[256];	   /* !available: the reason, one line */
	int cgroup_v;	   /* 1 or 2 */
	char cg_root[96];  /* the memory hierarchy's mount point */
	char cg_path[160]; /* this run's cgroup, "" when none exists */
	char comp[16];	   /* the kernel's name of the compressor */
	int lock_fd;	   /* flock on the lock file: one compare at a time */
	/* As found before anything was touched. */
	char zram_comp_before[32];
	uint64_t zram_disksize_before;
	/* This run. */
	bool zram_set, swap_on;
	uint64_t vmstat_in, vmstat_out; /* pswpin/pswpout at the start */
	uint64_t peak_anon;		/* sampled: highest anonymous memory charged */
};

/* The figures of one kernel run. */
struct kswap_figures {
	uint64_t pswpin, pswpout; /* pages, from /proc/vmstat deltas */
	uint64_t peak_anon;	  /* bytes, cgroup anon (sampled) */
	uint64_t peak_usage;	  /* bytes, everything the cgroup charged (its peak) */
	uint64_t zram_peak;	  /* bytes of memory zram used at most */
	uint64_t zram_orig;	  /* bytes stored at the end of the run (uncompressed) */
};

/*
 * kswap_open - decide whether the kernel side can run here, and if so note
 * the state it will restore: /dev/zram0's disksize and compressor (it is
 * neither in /proc/swaps nor mounted, or the side is unavailable). @comp is
 * "lz4" or "zstd"; a compressor this kernel's zram does not offer makes the
 * side unavailable (comparing two compressors
 * would not be a comparison). USWAP_COMPARE_NO_KERNEL=1 in the environment
 * makes it unavailable too (for tests). Sets ks->why when unavailable.
 * Context: before any run. Return: 0 (see ks->available).
 */
int kswap_open(struct kswap *ks, const char *comp);

/*
 * kswap_setup - get one run ready: zram0 of @disksize bytes with the
 * compressor, a swap area on it in service, and a new cgroup limited to
 * @budget bytes. A message naming what failed goes to @err.
 * Context: ks->available, no run set up. Return: 0, or a negative errno
 * (everything set up so far is already undone).
 */
int kswap_setup(struct kswap *ks, uint64_t budget, uint64_t disksize, char *err, size_t errlen);

/*
 * kswap_enter - move the calling process into the run's cgroup.
 * Context: a child between fork and exec. Return: 0, or a negative errno.
 */
int kswap_enter(const struct kswap *ks);

/* How many processes the kernel's OOM killer ended in the run's cgroup. */
int kswap_oom_kills(const struct kswap *ks);

/* Note the cgroup's anonymous memory now (call a few times a second). */
void kswap_sample(struct kswap *ks);

/*
 * kswap_figures - the run's figures so far. Context: a run is set up.
 */
void kswap_figures(struct kswap *ks, struct kswap_figures *f);

/*
 * kswap_teardown - end the run: kill whatever is left in its cgroup, take
 * zram0 out of service, reset it and give it back its compressor, remove
 * the cgroup. Safe to call when nothing or part is set up.
 * Context: any time after kswap_open(). Return: 0, or the first negative
 * errno (each step is still tried).
 */
int kswap_teardown(struct kswap *ks);

/*
 * kswap_close - kswap_teardown(), then check that zram0 is out of
 * /proc/swaps and as it was before; a difference is printed to stderr.
 * Context: the end. Return: 0, or -EIO if the state differs.
 */
int kswap_close(struct kswap *ks);

#endif /* USWAP_CLI_COMPARE_H */
