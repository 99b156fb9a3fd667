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
};

/* For swap_header_parse(): the device size is not known, skip that check. */
#define SWAP_SIZE_UNKNOWN UINT64_MAX

/*
 * swap_header_parse - check and decode the header page @page
 * (SWAP_HEADER_SIZE bytes, any alignment) of a device of @dev_bytes bytes.
 * Context: any. Return: 0 and *hdr filled, or one of enum swap_header_error
 * (*hdr then holds whatever was decoded so far).
 */
int swap_header_parse(const void *page, uint64_t dev_bytes, struct swap_header_info *hdr);

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
 * pages, at least SWAP_HEADER_MIN_PAGES) like `mkswap`: created or truncated
 * with mode 0600, every block allocated (no holes), header with @label (may
 * be NULL), @uuid (NULL: a random version-4 UUID) and @nr_badpages bad pages.
 * On failure the file is removed. If @path is an existing block device,
 * only its header is written (the node keeps its mode) and @size_bytes 0
 * means the whole device.
 * Context: may sleep (I/O). Return: 0, -EINVAL, -ENAMETOOLONG, -EFBIG (more
 * pages than a header can describe), -ENOSPC (larger than the block
 * device), or the errno of a failed system call.
 */
int swapfile_format(const char *path, uint64_t size_bytes, const char *label, const uint8_t *uuid,
		    const uint32_t *badpages, unsigned nr_badpages);

/*
 * swapfile_open - open a formatted swap file or block device as a backend,
 * refusing what the kernel's swapon refuses: a missing or bad header
 * (enum swap_header_error), a regular file with holes or with bad pages
 * (-EINVAL), permissions open to group or others (-EACCES), anything but a
 * regular file or block device (-EINVAL), an area another engine has open
 * (-EBUSY). A message saying which check failed goes to @errbuf (may be
 * NULL).
 * Context: may sleep (I/O). Return: 0 and *out set, or a negative errno.
 */
int swapfile_open(struct swap_dev **out, struct arena *arena, const char *path, char *errbuf,
		  size_t errlen);

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
