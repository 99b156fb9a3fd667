/* SPDX-License-Identifier: MIT */
/*
 * uswap.h - the public interface of libuswap.
 *
 * uswap is the Linux swap subsystem (swap-table design, phase II) in user
 * space. Every public symbol is prefixed uswap_; every function returns 0 or
 * a count, or a negative errno, and never touches errno.
 */
#ifndef USWAP_USWAP_H
#define USWAP_USWAP_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uswap;

/* Library version, "MAJOR.MINOR.PATCH". */
const char *uswap_version(void);

/* A short message for a negative errno returned by uswap. */
const char *uswap_strerror(int err);

/*
 * uswap_create - a new engine whose memory comes from its own reservation of
 * @arena_bytes (0: 4 GiB of address space, touched only as used); @shared
 * maps it MAP_SHARED so forked children share the engine.
 * Return: 0 and *out, or -ENOMEM / -EINVAL.
 */
int uswap_create(struct uswap **out, size_t arena_bytes, bool shared);

/* Destroy an engine. All devices must be off. */
void uswap_destroy(struct uswap *sw);

/* ---- the pager: real memory of this process under a budget ---- */

/*
 * A pager pages anonymous private memory of the calling process through the
 * engine with userfaultfd: pages beyond the budget are compressed (zram) or
 * written to a swap file, and come back on access. Its threads run inside
 * the process. It needs a full-mode userfaultfd: root, CAP_SYS_PTRACE,
 * vm.unprivileged_userfaultfd=1, or access to /dev/userfaultfd.
 */
struct uswap_pager;

/* The smallest budget a pager accepts. */
#define USWAP_PAGER_MIN_BUDGET (4UL << 20)

struct uswap_pager_config {
	size_t budget_bytes; /* resident pages to hold to, >= USWAP_PAGER_MIN_BUDGET */
	const char *device;  /* "zram" (NULL: zram) or "file:PATH" (a mkswap'd file) */
	const char *comp;    /* zram's compressor: "lz4" (NULL) or "zstd" */
	size_t device_bytes; /* zram: pages it may hold, in bytes (0: 8x budget, 1 GiB-RAM) */
};

/*
 * uswap_pager_open - an engine, its device, a userfaultfd and the paging
 * threads. On failure a message saying why goes to @errbuf (may be NULL).
 * Return: 0 and *out, -EPERM (no full-mode userfaultfd), -EINVAL (config),
 * -ENOMEM, or the device's error.
 */
int uswap_pager_open(struct uswap_pager **out, const struct uswap_pager_config *cfg, char *errbuf,
		     size_t errlen);

/*
 * uswap_pager_close - bring every page back into memory, stop paging and free
 * everything (every slot). The memory the pager paged stays the caller's.
 */
void uswap_pager_close(struct uswap_pager *p);

/*
 * uswap_pager_map - map @len bytes (rounded up to pages) of fresh anonymous
 * memory, paged from the start. Unmap it with munmap(). Return: 0 and *out.
 */
int uswap_pager_map(struct uswap_pager *p, size_t len, void **out);

/*
 * uswap_pager_register - page [@addr, @addr + @len) (page aligned), existing
 * anonymous private writable memory of the caller; what it holds now is
 * kept. Return: 0, -EINVAL (alignment, not anonymous, the pager's own).
 */
int uswap_pager_register(struct uswap_pager *p, void *addr, size_t len);

/*
 * uswap_pager_unregister - bring the pages of the range back and stop paging
 * it. Return: 0 or -EINVAL.
 */
int uswap_pager_unregister(struct uswap_pager *p, void *addr, size_t len);

/*
 * uswap_pager_sync - wait until the pager has applied every memory event of
 * the program the kernel delivered so far (its munmap, mremap, MADV_DONTNEED
 * return once the event is read, a moment before it is applied: slots are
 * freed then). Return: 0.
 */
int uswap_pager_sync(struct uswap_pager *p);

/* uswap_pager_reclaim - evict up to @bytes now. Return: bytes evicted. */
long uswap_pager_reclaim(struct uswap_pager *p, size_t bytes);

struct uswap_pager_stats {
	size_t budget_bytes;
	size_t resident_bytes;	     /* pages charged to the budget */
	size_t resident_peak_bytes;  /* highest charged */
	size_t swapped_bytes;	     /* pages held on the device */
	size_t compr_bytes;	     /* device memory holding them (zram), or 0 */
	unsigned long faults;	     /* userfaults served (missing + write-protect) */
	unsigned long swapin_faults; /* of which swapped a page in */
	unsigned long swapin_around; /* pages swapped in after those (sequential access) */
	unsigned long evict_busy;    /* evictions the kernel refused (shared pages) */
	unsigned long data_released; /* staging copies given back once a page was mapped */
	unsigned long sampled;	     /* pages taken out of memory to see if they are used (aging) */
	unsigned long warnings;	     /* e.g. device full: over budget */
	unsigned long
		evict_unshared; /* pages a fork left shared made ours again (a pin, no write) */
	unsigned long
		data_reused; /* evictions into a page given back by an install, not a new one */
};

/* uswap_pager_get_stats - a snapshot. Return: 0. */
int uswap_pager_get_stats(struct uswap_pager *p, struct uswap_pager_stats *st);

/* uswap_pager_counter - Return: the vmstat counter @name (pswpin, ...), or -ENOENT. */
long uswap_pager_counter(struct uswap_pager *p, const char *name);

/*
 * uswap_pager_latency - swap-in fault latencies: @hist[i] counts faults that
 * took [i, i+1) µs for i < 256, [256 << (i - 256), 256 << (i - 255)) above;
 * copies up to @n buckets. Return: buckets copied.
 */
int uswap_pager_latency(struct uswap_pager *p, unsigned long *hist, unsigned n);

/*
 * Fork: nothing the pager holds reaches a child (its registration does not
 * survive fork), so before a fork every swapped page is brought back and
 * eviction pauses until the fork returns. uswap_pager_open() installs these
 * with pthread_atfork(); they are public for callers of the raw syscall.
 */
void uswap_pager_fork_prepare(struct uswap_pager *p);
void uswap_pager_fork_parent(struct uswap_pager *p);
void uswap_pager_fork_child(struct uswap_pager *p);

#ifdef __cplusplus
}
#endif

#endif /* USWAP_USWAP_H */
