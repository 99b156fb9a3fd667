/* SPDX-License-Identifier: MIT */
/*
 * file.h - SWAPSPACE2 swap files and block devices: the on-disk header
 * (parse, build, format a new file) and the swap backend over it.
 *
 * The header is util-linux mkswap's, one 4 KiB page
 * (docs/kernel-reference.md §9):
 *   0..1023     boot area (zeros)
 *   1024        u32 version (1)
 *   1028        u32 last_page (last usable slot index)
 *   1032        u32 nr_badpages
 *   1036        u8  uuid[16]
 *   1052        char volume label[16], NUL padded
 *   1068        u32 padding[117]
 *   1536        u32 badpages[nr_badpages] (at most 637)
 *   4086..4095  "SWAPSPACE2"
 * in the byte order of the machine that wrote it.
 *
 * Owns: the backend's file descriptor and header copy. Locking: none; reads
 * and writes are positioned (pread/pwrite) and the engine never touches one
 * slot concurrently; fault injection counters are atomic.
 */
#ifndef USWAP_DEV_FILE_H
#define USWAP_DEV_FILE_H

#include <errno.h>
#include <sys/stat.h>

#include "dev.h"

struct arena;

#define SWAP_HEADER_SIZE      4096
#define SWAP_HEADER_MAGIC     "SWAPSPACE2"
#define SWAP_HEADER_MAGIC_V0  "SWAP-SPACE"
#define SWAP_HEADER_MAGIC_LEN 10
#define SWAP_HEADER_LABEL_LEN 16
#define SWAP_HEADER_UUID_LEN  16
#define SWAP_HEADER_MIN_PAGES 10 /* mkswap's minimum: 40 KiB */

/* The header, decoded to this machine's byte order. */
struct swap_header_info {
	uint32_t version;		       /* always 1 once parsed */
	uint32_t last_page;		       /* last usable slot; slots = last_page + 1 */
	uint32_t nr_badpages;		       /* entries in badpages[] */
	uint32_t badpages[SWAP_DEV_MAX_BAD];   /* each in 1..last_page */
	uint8_t uuid[SWAP_HEADER_UUID_LEN];    /* as stored (RFC 4122 byte order) */
	char label[SWAP_HEADER_LABEL_LEN + 1]; /* NUL terminated */
	bool foreign_endian;		       /* written with the other byte order */
};

/*
 * What swap_header_parse() rejects: one negative errno per check, in the
 * order they are made. swap_header_strerror() turns each into a message.
 */
enum swap_header_error {
	SWAP_HDR_NO_SIGNATURE = -EINVAL,	 /* no "SWAPSPACE2" at the page end */
	SWAP_HDR_OLD_V0 = -EOPNOTSUPP,		 /* "SWAP-SPACE": version 0 format */
	SWAP_HDR_BAD_VERSION = -EPROTONOSUPPORT, /* version not 1 in either order */
	SWAP_HDR_EMPTY = -ENODATA,		 /* last_page is 0 */
	SWAP_HDR_TOO_MANY_BAD = -E2BIG,		 /* nr_badpages > 637 */
	SWAP_HDR_TOO_SHORT = -EOVERFLOW,	 /* fewer than last_page+1 pages */
	SWAP_HDR_BAD_PAGE_RANGE = -ERANGE,	 /* a bad page outside 1..last_page */
	SWAP_HDR_DUP_BAD_PAGE = -ENOTUNIQ,	 /* a bad page listed twice */
};

/* For swap_header_parse(): the device size is not known, skip that check. */
#define SWAP_SIZE_UNKNOWN UINT64_MAX

/*
 * swap_header_parse - check and decode the header page @page
 * (SWAP_HEADER_SIZE bytes, any alignment) of a device of @dev_bytes bytes.
 * An accepted header lists each bad page once, so the usable page count
 * last_page - nr_badpages never wraps.
 * Context: any. Return: 0 and *hdr filled, or one of enum swap_header_error
 * (*hdr then holds whatever was decoded so far; for SWAP_HDR_DUP_BAD_PAGE,
 * every entry).
 */
int swap_header_parse(const void *page, uint64_t dev_bytes, struct swap_header_info *hdr);

/*
 * swap_header_dup_badpage - a bad page @hdr lists more than once.
 * Context: any. Return: the smallest such page, or 0 if each is listed once.
 */
uint32_t swap_header_dup_badpage(const struct swap_header_info *hdr);

/*
 * swap_header_strerror - a message for a return value of swap_header_parse().
 * Context: any. Return: a static string (never NULL).
 */
const char *swap_header_strerror(int code);

/*
 * swap_header_build - write a header page for @hdr (version 1, this
 * machine's byte order; version and foreign_endian are ignored) into @page,
 * boot area zeroed. Context: any. Return: 0, or -EINVAL (last_page 0, too
 * many bad pages or one out of range), -ENAMETOOLONG (label over 16 bytes).
 */
int swap_header_build(void *page, const struct swap_header_info *hdr);

/*
 * swapfile_format - make @path a swap file of @size_bytes (rounded down to
 * pages, at least SWAP_HEADER_MIN_PAGES) like `mkswap`, with a header with
 * @label (may be NULL), @uuid (NULL: a random version-4 UUID) and
 * @nr_badpages bad pages.
 *
 * A new file is created with mode 0600 and every block allocated. An
 * existing regular file is never truncated: its holes and any growth up to
 * @size_bytes are allocated (its data stays), then its first page becomes
 * the header and its mode 0600 (unless the caller does not own it: then
 * the mode stays, as with util-linux mkswap). What can be checked first is: free space
 * and the file size limits (RLIMIT_FSIZE, the filesystem's), another engine
 * holding the file (its flock) and the kernel using it as swap
 * (/proc/swaps). On any failure a file this call created is removed and an
 * existing one is left as it was (size and contents). If @path is an
 * existing block device, only its header is written (the node keeps its
 * mode) and @size_bytes 0 means the whole device. While it writes a file,
 * SIGINT, SIGTERM, SIGHUP and SIGQUIT (those the caller neither blocks nor
 * ignores) are blocked in the calling thread; one that arrives stops the
 * writing, the file is put back or removed, and the signal is delivered
 * when the caller's mask is restored (so a default action still ends the
 * process, with the status of that signal). A multi-threaded caller should
 * block them in its other threads.
 * Context: may sleep (I/O). Return: 0, -EINVAL (bad arguments, or not a
 * regular file or block device), -ENAMETOOLONG, -EFBIG (more pages than a
 * header can describe, or over a file size limit), -ENOSPC (larger than the
 * free space or the block device), -EBUSY (held by an engine or the
 * kernel), -EINTR (a signal came while it wrote), or the errno of a failed
 * system call.
 */
int swapfile_format(const char *path, uint64_t size_bytes, const char *label, const uint8_t *uuid,
		    const uint32_t *badpages, unsigned nr_badpages);

/*
 * swapfile_open - open a formatted swap file or block device as a backend,
 * refusing what the kernel's swapon refuses: a missing or bad header
 * (enum swap_header_error), a regular file with holes or with bad pages
 * (-EINVAL), a header with no usable page (-EINVAL), a file on tmpfs
 * (-EINVAL), anything but a regular file or block device (-EINVAL, found
 * without blocking: a FIFO is refused, not waited on), an area another
 * engine has open or the kernel uses as swap (-EBUSY). Permissions are not
 * checked, as the kernel does not (swapon(8) warns: see the CLI). Opening
 * writes nothing to the file. A message saying which check failed goes to
 * @errbuf (may be NULL); a long path is shortened there, never the reason.
 * Context: may sleep (I/O). Return: 0 and *out set, or a negative errno.
 */
int swapfile_open(struct swap_dev **out, struct arena *arena, const char *path, char *errbuf,
		  size_t errlen);

/* For swapfile_open_flags(): open read-only; writes and discards fail with -EROFS. */
#define SWAPFILE_OPEN_READONLY (1U << 0)

/*
 * swapfile_open_flags - swapfile_open() with SWAPFILE_OPEN_* @flags.
 * Context: may sleep (I/O). Return: as swapfile_open().
 */
int swapfile_open_flags(struct swap_dev **out, struct arena *arena, const char *path,
			unsigned flags, char *errbuf, size_t errlen);

/*
 * swapfile_kernel_active - whether the file or block device @st describes
 * is in the kernel's swap list (/proc/swaps), compared by device and inode.
 * Context: may sleep (reads /proc). Return: 1, 0, or a negative errno if
 * the list cannot be read (-ENOENT: no /proc/swaps, treated as none by
 * callers).
 */
int swapfile_kernel_active(const struct stat *st);

/*
 * swapfile_get_header - the header @dev was opened with.
 * Context: any. Return: 0, or -EINVAL if @dev is not a swap file backend.
 */
int swapfile_get_header(struct swap_dev *dev, struct swap_header_info *hdr);

/* For swapfile_inject(): transfer part of the data for real, then -EIO. */
#define SWAPFILE_SHORT_IO 1

/*
 * swapfile_inject - fault injection: make the @read_nth next read call and
 * the @write_nth next write call fail (0 disables that one) with @err, a
 * negative errno, or do a real short transfer if @err is SWAPFILE_SHORT_IO.
 * A short write leaves the slots torn, as a failing disk would.
 * Context: any. Return: nothing (void).
 */
void swapfile_inject(struct swap_dev *dev, unsigned long read_nth, unsigned long write_nth,
		     int err);

/* is_swapfile_dev - Context: any. Return: whether @dev is a swap file backend. */
bool is_swapfile_dev(const struct swap_dev *dev);

#endif /* USWAP_DEV_FILE_H */
