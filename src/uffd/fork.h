/* SPDX-License-Identifier: MIT */
/*
 * fork.h - fork under the userfaultfd pager (fork.c): one engine for the
 * whole process tree. With UFFD_FEATURE_EVENT_FORK the kernel hands the
 * child's userfaultfd to the pager's fault thread while the fork is still
 * in progress; the child's address space becomes mm_fork() of the parent's
 * (swap entries gain a count, present pages are shared copy-on-write) and
 * the root process's fork thread serves the child's faults and memory
 * events through that userfaultfd from the child's first instruction on.
 * Without EVENT_FORK (no CAP_SYS_PTRACE) the pager falls back to swapping
 * everything in before the fork, leaving the child unpaged (warned once).
 *
 * Owns: struct pager_forks (the children, their counters, the fork thread).
 * Locking: see fork.c.
 */
#ifndef USWAP_UFFD_FORK_H
#define USWAP_UFFD_FORK_H

#include "pager.h"

struct pager_forks;

/* One process's figures (the root's, or a child's while it lives). */
struct fork_proc_stats {
	int32_t pid;	       /* 0: unknown yet (a child is named by its hello or first fault) */
	uint32_t live;	       /* 1 while the slot holds a live process */
	unsigned long faults;  /* faults served */
	unsigned long swapins; /* faults on a swap entry */
	unsigned long shared_hits;  /* ... found in the swap cache (another process read it) */
	unsigned long shared_reads; /* ... on a shared entry (count >= 2) read from the device */
	unsigned long swapouts;	    /* a child: its pages taken out of its memory (evicted) */
};

/* The tree's figures: the root, the live children and every child gone. */
struct fork_tree_stats {
	unsigned long processes; /* the root and its live children */
	unsigned long forks;	 /* children paged since the start */
	unsigned long exited;	 /* of them, gone (exit or exec) */
	unsigned long faults, swapins, shared_hits, shared_reads;
	unsigned long child_swapouts; /* pages evicted from children (live and gone) */
	unsigned long evicting;	      /* live children whose pages can be evicted (a zapper) */
	unsigned long
		zap_requests; /* requests posted to children's zappers (one page, or a batch) */
	unsigned long zap_batched; /* pages moved out by batch requests */
};

/*
 * pager_fork_supported - Return: whether this process may use
 * UFFD_FEATURE_EVENT_FORK (CAP_SYS_PTRACE), and USWAP_NO_EVENT_FORK is not
 * set in the environment (it forces the fallback, for tests). Context: any.
 */
bool pager_fork_supported(void);

/*
 * pager_fork_start - set up @p's fork state in *@out; with @event_fork (the
 * pager's uffd reports UFFD_EVENT_FORK) start the fork thread.
 * Context: pager setup, its threads running. Return: 0 or -ENOMEM / -errno
 * (*@out may then be set: pager_fork_stop() and pager_fork_free() it).
 */
int pager_fork_start(struct uswap_pager *p, bool event_fork, struct pager_forks **out);

/* pager_fork_free - free the state pager_fork_stop() stopped. Context: teardown. */
void pager_fork_free(struct uswap_pager *p, struct pager_forks *f);

/*
 * pager_fork_stop - the root process is leaving: every live child gets its
 * swapped pages back (it runs unpaged from then on), the fork thread stops
 * and the state is freed. Context: not a paging thread; the fault thread
 * stopped (no FORK event is read any more, so no child is missed); may sleep.
 */
void pager_fork_stop(struct uswap_pager *p);

/*
 * pager_fork_orphan - like pager_fork_stop() without stopping: the process
 * is about to exit with its paging threads still serving (the agent's exit),
 * or the pager is closing. Returns once every child published by then got
 * its pages; a child forked later is orphaned by the fork thread as soon as
 * it is published, and by pager_fork_stop() at the latest.
 * Context: not a paging thread; may sleep.
 */
void pager_fork_orphan(struct uswap_pager *p);

/* Return: whether forks of @p's process are paged (EVENT_FORK on). Context: any. */
bool pager_fork_enabled(struct uswap_pager *p);

/*
 * pager_fork_event - a UFFD_EVENT_FORK read from @p's uffd: @ufd is the
 * child's userfaultfd. Sets up the child's address space as mm_fork(@parent)
 * and hands it to the fork thread. Context: the fault thread.
 */
void pager_fork_event(struct uswap_pager *p, struct mm_struct *parent, int ufd);

/*
 * pager_fork_prepare / pager_fork_parent - the root's pthread_atfork
 * handlers: count the fork; after it, wait (bounded) until the fault thread
 * has set the child up. Context: the forking thread.
 */
void pager_fork_prepare(struct uswap_pager *p);
void pager_fork_parent(struct uswap_pager *p);

/*
 * pager_fork_note_fault - count a fault of the root process at @addr of
 * @mm before it is resolved (swap-in, shared entry, swap-cache hit).
 * Context: the fault thread; no lock held.
 */
void pager_fork_note_fault(struct uswap_pager *p, struct mm_struct *mm, unsigned long addr);

/*
 * pager_fork_set_serving - the calling thread serves faults (the root's
 * fault thread; the fork thread says so itself): reclaim it runs never
 * waits for a forked child's zapper. Context: the thread, at its start.
 */
void pager_fork_set_serving(void);

/* pager_fork_is_own - Return: whether [start, end) overlaps the fork thread's stack. */
bool pager_fork_is_own(struct uswap_pager *p, unsigned long start, unsigned long end);

/*
 * pager_fork_zapper_stop - in a forked child whose pages are evicted (it
 * runs a zapper thread, see fork.c): stop that thread for good and return
 * once the kernel no longer counts it, so that the calls it refuses a
 * multithreaded process (unshare(CLONE_NEWUSER), setns() into a user or
 * mount namespace) work. The root then treats the child as one without a
 * zapper: its pages stay and are kept out of the budget; a request it
 * posted and the zapper had not claimed is withdrawn, one it claimed runs
 * to its end first. Nothing to do elsewhere (the root, a child without a
 * zapper, a second call).
 * Context: a thread of the child, not a signal handler; may sleep.
 * Return: 0, or -ETIMEDOUT (the thread did not go within seconds).
 */
int pager_fork_zapper_stop(void);

/* pager_fork_warn_fallback - say once that forks are not paged, and why. */
void pager_fork_warn_fallback(void);

/*
 * pager_fork_stats - the tree's figures and up to @n processes' (the root
 * first, then live children). @tree and @procs may be paged memory: they
 * are written with no lock of the pager held. Context: any thread of the
 * root; a snapshot.
 * Return: entries written to @procs, or -ENOMEM (the arena is out: @tree
 * zeroed, @procs untouched).
 */
int pager_fork_stats(struct uswap_pager *p, struct fork_tree_stats *tree,
		     struct fork_proc_stats *procs, unsigned n);

/*
 * pager_fork_pinned - Return: pages mapped by the live children that do not
 * evict (no zapper, or one stopped), which only they could drop: the budget
 * is enforced on top of them. Context: any.
 */
unsigned long pager_fork_pinned(struct uswap_pager *p);

/*
 * pager_fork_nr_children - Return: children the fork thread serves now, or
 * is still letting go of (a child gone counts until its swap entries lost
 * their counts). Context: any.
 */
unsigned pager_fork_nr_children(struct uswap_pager *p);

/*
 * pager_swap_count - for tests: the swap count (swp_swapcount) of the entry
 * at @addr of the root's address space. Return: the count, -ENOENT (not a
 * swap entry). Context: no lock held.
 */
int pager_swap_count(struct uswap_pager *p, unsigned long addr);

/* pager_swap_refs - for tests: the swap counts of every slot of every device, added up. */
unsigned long pager_swap_refs(struct uswap_pager *p);
/* pager_nr_swapents - for tests: swap entries in the root's tables. */
long pager_nr_swapents(struct uswap_pager *p);

/*
 * pager_fork_orphaning - whether pager_fork_orphan() was asked (the pager
 * is leaving: a child forked now gets its pages at once; the agent keeps
 * its root record HANDED then). Context: any.
 */
bool pager_fork_orphaning(struct uswap_pager *p);

/* pager_check - for tests: swap_check_all() on the engine. Return: 0 or -EUCLEAN. */
int pager_check(struct uswap_pager *p);

#endif /* USWAP_UFFD_FORK_H */
