/* SPDX-License-Identifier: MIT */
/*
 * swap_test.h - helpers shared by the swap subsystem's white-box tests:
 * devices with chosen bad slots, folios put into the swap cache, counts read
 * back, and forked children whose death the parent inspects.
 *
 * Owns: nothing. Locking: each helper takes what the API it calls needs;
 * callers hold nothing unless a helper says so.
 */
#ifndef USWAP_TESTS_SWAP_TEST_H
#define USWAP_TESTS_SWAP_TEST_H

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "dev/dev.h"
#include "dev/ram.h"
#include "swap/swap_table.h"

/* Device flags of the usual test device: a RAM disk that looks like an SSD. */
#define T_SSD (SWAP_DEV_SOLIDSTATE | SWAP_DEV_SYNC_IO)

static inline struct swap_info_struct *t_si(struct uswap *sw, int type)
{
	return sw->swap_info[type];
}

static inline unsigned long t_inuse(struct uswap *sw, int type)
{
	return swap_inuse_pages(sw->swap_info[type]);
}

/* A RAM device of @nr_pages slots whose slots @bad[0..nr_bad) are bad. */
static inline int t_ramdev_bad(struct uswap *sw, unsigned long nr_pages, unsigned long dev_flags,
			       int prio, const uint32_t *bad, unsigned nr_bad)
{
	struct swap_dev *dev;
	int err = ramdev_create(&dev, sw->arena, nr_pages, dev_flags);

	if (err)
		return err;
	for (unsigned i = 0; i < nr_bad; i++)
		dev->badpages[i] = bad[i];
	dev->nr_badpages = nr_bad;
	return swapon(sw, dev, prio);
}

/*
 * A new folio of @order, locked and in the swap cache (counts 0), or NULL
 * with *@err set if folio_alloc_swap() refused.
 */
static inline struct folio *t_swap_folio_err(struct uswap *sw, unsigned order, int *err)
{
	struct folio *folio = folio_alloc(sw, order);

	*err = -ENOMEM;
	if (!folio)
		return NULL;
	folio_lock(folio);
	*err = folio_alloc_swap(folio);
	if (*err) {
		folio_unlock(folio);
		folio_put(folio);
		return NULL;
	}
	return folio;
}

static inline struct folio *t_swap_folio(struct uswap *sw, unsigned order)
{
	int err;

	return t_swap_folio_err(sw, order, &err);
}

/* The entry of page @i of a folio in the swap cache. */
static inline swp_entry_t t_entry(struct folio *folio, unsigned long i)
{
	return (swp_entry_t){folio_swap_entry(folio).val + i};
}

/*
 * Undo t_swap_folio() after the test dropped every count it took: remove the
 * locked folio from the swap cache (freeing its slots), unlock and put it.
 * Return: whether folio_free_swap() succeeded.
 */
static inline bool t_release(struct folio *folio)
{
	bool freed = folio_free_swap(folio);

	folio_unlock(folio);
	folio_put(folio);
	return freed;
}

/*
 * An entry of 2^@order slots with count 1 each and no folio cached, as after
 * swap-out and reclaim: allocate, dup, drop the folio from the cache.
 * Return: the first entry, or entry 0 if allocation failed (*@err says why).
 */
static inline swp_entry_t t_alloc_entry_err(struct uswap *sw, unsigned order, int *err)
{
	struct folio *folio = t_swap_folio_err(sw, order, err);
	swp_entry_t entry;

	if (!folio)
		return (swp_entry_t){0};
	entry = folio_swap_entry(folio);
	*err = folio_dup_swap(folio, NULL);
	if (!*err)
		swap_cache_del_folio(folio, 0);
	else
		folio_free_swap(folio);
	folio_unlock(folio);
	folio_put(folio);
	return *err ? (swp_entry_t){0} : entry;
}

static inline swp_entry_t t_alloc_entry(struct uswap *sw, unsigned order)
{
	int err;

	return t_alloc_entry_err(sw, order, &err);
}

/*
 * Allocate @nr order-0 entries into @e (each with count 1), then put every
 * one whose offset is not a multiple of six: someone else keeps every sixth
 * slot, and the free slots between lie in runs of five. Return: true if all
 * @nr allocations succeeded.
 */
static inline bool t_keep_every_sixth_slot(struct uswap *sw, swp_entry_t *e, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++)
		if (!(e[i] = t_alloc_entry(sw, 0)).val)
			return false;
	for (unsigned i = 0; i < nr; i++)
		if (swp_offset(e[i]) % 6)
			swap_put_entries_direct(sw, e[i], 1);
	return true;
}

/* The count byte of a slot, as the checker sees it. */
static inline unsigned char t_map(struct uswap *sw, swp_entry_t entry)
{
	return atomic_load_relaxed(&t_si(sw, swp_type(entry))->swap_map[swp_offset(entry)]);
}

static inline struct swap_cluster_info *t_cluster(struct uswap *sw, swp_entry_t entry)
{
	return __swap_entry_to_cluster(sw, entry);
}

static inline void t_sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/*
 * Run @fn(@arg) in a forked child with stderr captured. The child's death is
 * what the caller checks: *@status gets the wait status, @err (size @len)
 * what the child wrote to stderr. Return: 0, or -1 if fork/pipe failed.
 */
static inline int t_run_child(void (*fn)(void *), void *arg, int *status, char *err, size_t len)
{
	int fds[2];
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct rlimit no_core = {0, 0};

		/* Children abort on purpose: no core dumps. */
		setrlimit(RLIMIT_CORE, &no_core);
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	/* Drain everything, keeping what fits, so the child never blocks on us. */
	for (;;) {
		char buf[512];

		n = read(fds[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && got + 1 < len; i++)
			err[got++] = buf[i];
	}
	err[got] = '\0';
	close(fds[0]);
	waitpid(pid, status, 0);
	return 0;
}

#endif /* USWAP_TESTS_SWAP_TEST_H */
