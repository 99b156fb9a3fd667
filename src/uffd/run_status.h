/* SPDX-License-Identifier: MIT */
/*
 * run_status.h - the status page `uswap run` shares with the paging agent it
 * loads into the program.
 *
 * `uswap run` creates a file (on /dev/shm, mode 0600, O_EXCL), sizes it to
 * struct uswap_run_status, zero-filled, writes magic and version, and passes
 * its path to the program in USWAP_RUN_STATUS. The agent maps it MAP_SHARED
 * and publishes its state and figures; `uswap run` reads them for
 * --progress, --stats and refusals. The other variables `uswap run` sets:
 *
 *   LD_PRELOAD=<agent>[:the caller's LD_PRELOAD]
 *   USWAP_RUN_BUDGET=<bytes>          the budget of resident anonymous memory
 *   USWAP_RUN_DEVICE=zram|file:PATH   where cold pages go
 *   USWAP_RUN_COMP=lz4|zstd           zram's compressor
 *   USWAP_RUN_STATUS=<path>           this page
 *
 * Every field after the header is written by the agent with relaxed atomic
 * stores and read by `uswap run` with relaxed atomic loads; each is a
 * snapshot, not a transaction. state moves STARTING -> READY or FAILED
 * (message says why, NUL-terminated), READY -> EXITED at the agent's exit.
 *
 * roots[] (below) is the exception: it is written by every agent of the
 * tree that forks, not only the page's owner, and by `uswap run`; each
 * slot's state moves by compare-and-swap, see struct uswap_run_root.
 *
 * Owns: the layout. Locking: none (single writer per field, atomics).
 */
#ifndef USWAP_UFFD_RUN_STATUS_H
#define USWAP_UFFD_RUN_STATUS_H

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define USWAP_RUN_STATUS_MAGIC	 0x70777375u /* "uswp" */
#define USWAP_RUN_STATUS_VERSION 3u

enum uswap_run_state {
	USWAP_RUN_STARTING = 0, /* agent not (yet) up */
	USWAP_RUN_READY = 1,	/* paging */
	USWAP_RUN_FAILED = 2,	/* refused or failed at start: see message */
	USWAP_RUN_EXITED = 3,	/* program exited, slots freed */
};

/* Named counters: vmstat names (pswpin, pswpout, ...) and the agent's own. */
#define USWAP_RUN_MAX_COUNTERS 64
#define USWAP_RUN_NAME_LEN     32

/* Swap-in fault latency histogram: bucket i counts faults that took
 * [i, i+1) microseconds for i < 256, then powers of two above (see the
 * agent's helper that maps a latency to a bucket). */
#define USWAP_RUN_LAT_LINEAR  256
#define USWAP_RUN_LAT_BUCKETS (USWAP_RUN_LAT_LINEAR + 24)

struct uswap_run_counter {
	char name[USWAP_RUN_NAME_LEN]; /* written once before the value is used */
	uint64_t value;
};

/* One process of the tree (fork under the agent): the root, then live children. */
#define USWAP_RUN_MAX_PROCS 16

struct uswap_run_proc {
	int32_t pid; /* a child: its pid (its zapper's hello) or first faulting thread (0: none) */
	uint32_t live;	       /* 1 while it runs */
	uint64_t faults;       /* faults served for it */
	uint64_t swapins;      /* of them, on a swap entry */
	uint64_t swapouts;     /* root: pages written out (the tree's pswpout); child: evicted */
	uint64_t shared_hits;  /* swap-ins found in the swap cache: another process read it */
	uint64_t shared_reads; /* swap-ins of a shared entry (count >= 2) read from the device */
};

/*
 * A process whose forked children it pages (a *root*: its children's
 * swapped pages live in its engine). Written by that process's agent and
 * by `uswap run`; state moves by compare-and-swap (release), and the other
 * fields are written only while state is CLAIMING (by the agent that moved
 * it there) and read only in PAGING or HANDED:
 *
 *   FREE -> CLAIMING -> PAGING     the root's first fork (the agent), before
 *                                  any child exists: pid, pidfd_* and comm
 *                                  written, then PAGING published (HANDED
 *                                  if it forks only after its hand-over: a
 *                                  failed exec's; the child gets its pages
 *                                  at once);
 *   PAGING -> HANDED               the root's agent, once every child got its
 *                                  pages and its ranges were unregistered
 *                                  (exit, _exit, an exec about to happen):
 *                                  set before the root's exit can be seen;
 *   HANDED -> CLAIMING -> PAGING   a fresh image of the same process (after
 *                                  an exec) forks: a new tree token (a fork
 *                                  after a failed exec's hand-over is handed
 *                                  over at once: the record stays HANDED);
 *   PAGING -> LOST                 the agent of a new image of the same
 *                                  process (an exec that did not hand over:
 *                                  the raw system call), at its start;
 *   PAGING/LOST -> ENDED           `uswap run`, once the root was seen gone
 *                                  (or LOST) without HANDED and the
 *                                  processes left that held its pidfd (the
 *                                  root itself excepted) were ended;
 *   ENDED -> CLAIMING -> PAGING    a LOST root's new image forks (new token);
 *   HANDED/ENDED -> CLAIMING       an agent reuses the slot of a root gone;
 *   CLAIMING -> CLAIMING           an agent takes the slot of a claimer gone
 *                                  (killed between its claim and PAGING,
 *                                  before it had a child: nothing to end).
 *
 * CLAIMING names its claimer: the state is uswap_run_root_claiming(pid),
 * USWAP_RUN_ROOT_CLAIMING in the low byte and the pid above it (the record's
 * pid field may still be the previous root's then). A record left CLAIMING
 * by a process killed in its claim was lost for good before, and with
 * every slot lost no root of the tree had a record.
 *
 * pidfd_dev and pidfd_ino are the identity of the root's pidfds (one file
 * per process since Linux 6.9): they tell whether it is gone. The processes
 * a root pages hold its token (a file inherited at the fork, O_CLOEXEC, new
 * at each PAGING): tree_dev and tree_ino, which tell `uswap run` who they
 * are; children handed their pages before hold an older one (an image
 * before an exec shares the pidfd, not the token).
 */
enum uswap_run_root_state {
	USWAP_RUN_ROOT_FREE = 0,
	USWAP_RUN_ROOT_CLAIMING = 1,
	USWAP_RUN_ROOT_PAGING = 2,
	USWAP_RUN_ROOT_HANDED = 3,
	USWAP_RUN_ROOT_ENDED = 4,
	USWAP_RUN_ROOT_LOST = 5,
};

#define USWAP_RUN_MAX_ROOTS	  32
#define USWAP_RUN_ROOT_STATE_MASK 0xffu /* the state of a struct uswap_run_root's state */

/* uswap_run_root_claiming - the state of a record @pid is claiming. Context: any. */
static inline uint32_t uswap_run_root_claiming(int32_t pid)
{
	return USWAP_RUN_ROOT_CLAIMING | (uint32_t)pid << 8;
}

struct uswap_run_root {
	uint32_t state; /* enum uswap_run_root_state */
	int32_t pid;
	uint64_t pidfd_dev;
	uint64_t pidfd_ino;
	/* The token its paged children hold (a file's identity): the ones to end. */
	uint64_t tree_dev;
	uint64_t tree_ino;
	char comm[16]; /* the root's command name, for messages */
};

struct uswap_run_status {
	uint32_t magic;	  /* USWAP_RUN_STATUS_MAGIC, set by uswap run */
	uint32_t version; /* USWAP_RUN_STATUS_VERSION, set by uswap run */
	int32_t state;	  /* enum uswap_run_state */
	int32_t pid;	  /* the paged process */
	char message[512];
	uint64_t budget_bytes;	      /* as the agent applies it */
	uint64_t resident_bytes;      /* pages charged to the budget now */
	uint64_t resident_peak_bytes; /* highest charged */
	uint64_t swapped_bytes;	      /* pages held on the device */
	uint64_t compr_bytes;	      /* device memory holding them (zram) */
	uint64_t faults;	      /* faults served (missing + write-protect) */
	uint64_t warnings;	      /* e.g. device full: went over budget */
	uint32_t nr_counters;	      /* entries of counters[] in use */
	uint32_t pad;
	struct uswap_run_counter counters[USWAP_RUN_MAX_COUNTERS];
	uint64_t swapin_lat[USWAP_RUN_LAT_BUCKETS];
	/*
	 * The process tree: forked children share the engine (appended; all
	 * zero from an agent that never forked). Sums over the root, its live
	 * children and the children gone.
	 */
	uint64_t tree_processes;    /* the root and its live children */
	uint64_t tree_forks;	    /* children paged since the start */
	uint64_t tree_exited;	    /* of them, gone (exit or exec) */
	uint64_t tree_faults;	    /* faults served */
	uint64_t tree_swapins;	    /* of them, on a swap entry */
	uint64_t tree_swapouts;	    /* pages written out (pswpout) */
	uint64_t tree_shared_hits;  /* swap-ins found in the swap cache (shared after fork) */
	uint64_t tree_shared_reads; /* swap-ins of shared entries read from the device */
	uint32_t nr_procs;	    /* entries of procs[] in use */
	uint32_t pad2;
	struct uswap_run_proc procs[USWAP_RUN_MAX_PROCS];
	/* The roots of the tree: who must hand its children their pages (above). */
	struct uswap_run_root roots[USWAP_RUN_MAX_ROOTS];
};

/*
 * uswap_run_root_gone - whether the root @pid of a struct uswap_run_root,
 * whose pidfds are the file @ino, is gone: no such process, another one at
 * its pid, or exited (a zombie included: its memory, and its engine, went at
 * its exit). For the agent and `uswap run`, which both read the records.
 * Context: any. Return: true if gone.
 */
static inline bool uswap_run_root_gone(int32_t pid, uint64_t ino)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	struct stat sb;
	bool gone;

	if (fd < 0)
		return errno == ESRCH;
	gone = fstat(fd, &sb) || (uint64_t)sb.st_ino != ino || poll(&pf, 1, 0) == 1;
	close(fd);
	return gone;
}

/*
 * uswap_run_root_claimer_gone - whether the process claiming a record in
 * state @st (uswap_run_root_claiming()) is gone: no such process, or
 * exited (a zombie). A pid taken since by another process counts as the
 * claimer, alive: its record waits for that one. Context: any.
 * Return: true if gone; false for any other state.
 */
static inline bool uswap_run_root_claimer_gone(uint32_t st)
{
	int32_t pid = (int32_t)(st >> 8);
	int fd;
	struct pollfd pf;
	bool gone;

	if ((st & USWAP_RUN_ROOT_STATE_MASK) != USWAP_RUN_ROOT_CLAIMING || pid <= 0)
		return false;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return errno == ESRCH;
	pf = (struct pollfd){.fd = fd, .events = POLLIN};
	gone = poll(&pf, 1, 0) == 1;
	close(fd);
	return gone;
}

#endif /* USWAP_UFFD_RUN_STATUS_H */
