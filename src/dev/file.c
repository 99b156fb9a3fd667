// SPDX-License-Identifier: MIT
/*
 * file.c - SWAPSPACE2 header handling and the swap file / block device
 * backend.
 *
 * Owns: struct swapfile (arena memory) and its file descriptor, which holds
 * an exclusive flock() on the area while the backend lives (a fork shares
 * it). Locking: none; every transfer is a positioned pread/pwrite of whole
 * slots, the engine never touches one slot from two threads, and the
 * descriptor does not change while the backend lives. Injection counters
 * are atomics.
 *
 * Unlike zram, a write that fails half way (a disk error, a short write)
 * may leave the slots torn, as on any disk: the engine does not rely on the
 * old contents, since a folio whose write failed stays dirty in memory.
 *
 * Nothing here leaves a file worse than it found it: opening writes no byte
 * (flags come from sysfs, not from a probe), a discard zeroes a range but
 * never punches a hole (a hole would make the file one swapon refuses, and
 * filling it again can fail), and swapfile_format() checks what it can
 * before it writes, takes the same flock as the backend, and puts an
 * existing file back as it was if it fails, or if a ^C or a kill comes
 * while it writes (it holds those signals until it has undone its work).
 */
#include "file.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>

#include "../base/arena.h"
#include "../base/atomic.h"

/* Byte offsets of the header fields (see file.h). */
#define HDR_VERSION	1024
#define HDR_LAST_PAGE	1028
#define HDR_NR_BADPAGES 1032
#define HDR_UUID	1036
#define HDR_LABEL	1052
#define HDR_BADPAGES	1536
#define HDR_MAGIC	(SWAP_HEADER_SIZE - SWAP_HEADER_MAGIC_LEN)

BUILD_BUG_ON(HDR_LABEL + SWAP_HEADER_LABEL_LEN + 117 * 4 != HDR_BADPAGES);
BUILD_BUG_ON(HDR_BADPAGES + SWAP_DEV_MAX_BAD * 4 > HDR_MAGIC);
BUILD_BUG_ON(HDR_BADPAGES + (SWAP_DEV_MAX_BAD + 1) * 4 <= HDR_MAGIC);
BUILD_BUG_ON(SWAP_HEADER_SIZE != PAGE_SIZE);

/* ---- the header ---- */

static uint32_t hdr_u32(const unsigned char *page, size_t off, bool swapped)
{
	uint32_t v;

	memcpy(&v, page + off, sizeof(v));
	return swapped ? __builtin_bswap32(v) : v;
}

static void hdr_put_u32(unsigned char *page, size_t off, uint32_t v)
{
	memcpy(page + off, &v, sizeof(v));
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint32_t swap_header_dup_badpage(const struct swap_header_info *hdr)
{
	uint32_t sorted[SWAP_DEV_MAX_BAD];
	uint32_t n = min(hdr->nr_badpages, (uint32_t)SWAP_DEV_MAX_BAD);

	memcpy(sorted, hdr->badpages, n * sizeof(sorted[0]));
	qsort(sorted, n, sizeof(sorted[0]), cmp_u32);
	for (uint32_t i = 1; i < n; i++)
		if (sorted[i] == sorted[i - 1])
			return sorted[i];
	return 0;
}

int swap_header_parse(const void *page, uint64_t dev_bytes, struct swap_header_info *hdr)
{
	const unsigned char *p = page;
	uint32_t version;

	memset(hdr, 0, sizeof(*hdr));
	if (memcmp(p + HDR_MAGIC, SWAP_HEADER_MAGIC, SWAP_HEADER_MAGIC_LEN)) {
		if (!memcmp(p + HDR_MAGIC, SWAP_HEADER_MAGIC_V0, SWAP_HEADER_MAGIC_LEN))
			return SWAP_HDR_OLD_V0;
		return SWAP_HDR_NO_SIGNATURE;
	}
	version = hdr_u32(p, HDR_VERSION, false);
	if (version != 1 && __builtin_bswap32(version) == 1)
		hdr->foreign_endian = true;
	hdr->version = hdr_u32(p, HDR_VERSION, hdr->foreign_endian);
	hdr->last_page = hdr_u32(p, HDR_LAST_PAGE, hdr->foreign_endian);
	hdr->nr_badpages = hdr_u32(p, HDR_NR_BADPAGES, hdr->foreign_endian);
	memcpy(hdr->uuid, p + HDR_UUID, SWAP_HEADER_UUID_LEN);
	memcpy(hdr->label, p + HDR_LABEL, SWAP_HEADER_LABEL_LEN);
	hdr->label[SWAP_HEADER_LABEL_LEN] = '\0';
	if (hdr->version != 1)
		return SWAP_HDR_BAD_VERSION;
	if (hdr->last_page == 0)
		return SWAP_HDR_EMPTY;
	if (hdr->nr_badpages > SWAP_DEV_MAX_BAD)
		return SWAP_HDR_TOO_MANY_BAD;
	if (dev_bytes != SWAP_SIZE_UNKNOWN && (uint64_t)hdr->last_page >= dev_bytes / PAGE_SIZE)
		return SWAP_HDR_TOO_SHORT;
	for (uint32_t i = 0; i < hdr->nr_badpages; i++) {
		uint32_t bad = hdr_u32(p, HDR_BADPAGES + 4 * i, hdr->foreign_endian);

		if (bad == 0 || bad > hdr->last_page)
			return SWAP_HDR_BAD_PAGE_RANGE;
		hdr->badpages[i] = bad;
	}
	if (swap_header_dup_badpage(hdr))
		return SWAP_HDR_DUP_BAD_PAGE;
	return 0;
}

const char *swap_header_strerror(int code)
{
	switch (code) {
	case 0:
		return "valid swap header";
	case SWAP_HDR_NO_SIGNATURE:
		return "no swap signature (SWAPSPACE2) found: not a swap area";
	case SWAP_HDR_OLD_V0:
		return "old swap format version 0 (SWAP-SPACE) is not supported: run mkswap again";
	case SWAP_HDR_BAD_VERSION:
		return "unsupported swap header version (only version 1 is handled)";
	case SWAP_HDR_EMPTY:
		return "empty swap area: last_page is 0";
	case SWAP_HDR_TOO_MANY_BAD:
		return "too many bad pages in the swap header (more than 637)";
	case SWAP_HDR_TOO_SHORT:
		return "swap area shorter than its header says (fewer than last_page + 1 pages)";
	case SWAP_HDR_BAD_PAGE_RANGE:
		return "bad page index outside 1..last_page in the swap header";
	case SWAP_HDR_DUP_BAD_PAGE:
		return "a bad page is listed twice in the swap header (the usable page count "
		       "would be wrong)";
	default:
		return "unknown swap header error";
	}
}

static int check_badpages(const struct swap_header_info *hdr)
{
	if (hdr->nr_badpages > SWAP_DEV_MAX_BAD)
		return -EINVAL;
	for (unsigned i = 0; i < hdr->nr_badpages; i++) {
		if (hdr->badpages[i] == 0 || hdr->badpages[i] > hdr->last_page)
			return -EINVAL;
	}
	return swap_header_dup_badpage(hdr) ? -EINVAL : 0;
}

int swap_header_build(void *page, const struct swap_header_info *hdr)
{
	unsigned char *p = page;
	size_t label_len = strnlen(hdr->label, sizeof(hdr->label));

	if (hdr->last_page == 0 || check_badpages(hdr))
		return -EINVAL;
	if (label_len > SWAP_HEADER_LABEL_LEN)
		return -ENAMETOOLONG;
	memset(p, 0, SWAP_HEADER_SIZE);
	hdr_put_u32(p, HDR_VERSION, 1);
	hdr_put_u32(p, HDR_LAST_PAGE, hdr->last_page);
	hdr_put_u32(p, HDR_NR_BADPAGES, hdr->nr_badpages);
	memcpy(p + HDR_UUID, hdr->uuid, SWAP_HEADER_UUID_LEN);
	memcpy(p + HDR_LABEL, hdr->label, label_len);
	for (uint32_t i = 0; i < hdr->nr_badpages; i++)
		hdr_put_u32(p, HDR_BADPAGES + 4 * i, hdr->badpages[i]);
	memcpy(p + HDR_MAGIC, SWAP_HEADER_MAGIC, SWAP_HEADER_MAGIC_LEN);
	return 0;
}

/* ---- formatting ---- */

static int random_uuid(uint8_t *uuid)
{
	size_t got = 0;

	while (got < SWAP_HEADER_UUID_LEN) {
		ssize_t n = getrandom(uuid + got, SWAP_HEADER_UUID_LEN - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	uuid[6] = (uuid[6] & 0x0f) | 0x40; /* version 4: random */
	uuid[8] = (uuid[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	return 0;
}

/* Positioned transfer of exactly @len bytes. Return: 0, -EIO if short, -errno. */
static int full_io(int fd, bool write, void *buf, size_t len, off_t pos)
{
	ssize_t n;

	do {
		n = write ? pwrite(fd, buf, len, pos) : pread(fd, buf, len, pos);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/*
 * The signals that end a process by default and that a user sends to stop a
 * command (^C, kill, a closed terminal). swapfile_format() holds them while
 * it writes, so that it can undo what it did before one ends the process.
 */
static const int format_sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

struct format_signals {
	sigset_t held; /* the ones held here: not blocked or ignored before */
	sigset_t old;  /* the caller's mask, put back at the end */
};

static void hold_signals(struct format_signals *fs)
{
	struct sigaction sa;

	sigemptyset(&fs->held);
	pthread_sigmask(SIG_SETMASK, NULL, &fs->old);
	for (unsigned i = 0; i < ARRAY_SIZE(format_sigs); i++) {
		int sig = format_sigs[i];

		/* Blocked or ignored by the caller: not ours to act on. */
		if (sigismember(&fs->old, sig) == 1 || sigaction(sig, NULL, &sa) < 0 ||
		    sa.sa_handler == SIG_IGN)
			continue;
		sigaddset(&fs->held, sig);
	}
	pthread_sigmask(SIG_BLOCK, &fs->held, NULL);
}

/* -EINTR if one of the held signals arrived (it stays pending), else 0. */
static int held_signal_pending(const struct format_signals *fs)
{
	sigset_t pending;

	if (sigpending(&pending) < 0)
		return 0;
	for (unsigned i = 0; i < ARRAY_SIZE(format_sigs); i++)
		if (sigismember(&fs->held, format_sigs[i]) == 1 &&
		    sigismember(&pending, format_sigs[i]) == 1)
			return -EINTR;
	return 0;
}

/* Put the caller's mask back: a pending signal is delivered now. */
static void release_signals(const struct format_signals *fs)
{
	pthread_sigmask(SIG_SETMASK, &fs->old, NULL);
}

/*
 * Write zeros over [pos, end): only ever into a hole or past the old end.
 * Stops with -EINTR when a signal @fs holds arrives.
 */
static int write_zeros(int fd, uint64_t pos, uint64_t end, const struct format_signals *fs)
{
	static const char zeros[64 << 10];

	while (pos < end) {
		size_t len = (size_t)min((uint64_t)sizeof(zeros), end - pos);
		int err = held_signal_pending(fs);

		if (!err)
			err = full_io(fd, true, (void *)zeros, len, (off_t)pos);
		if (err)
			return err;
		pos += len;
	}
	return 0;
}

/*
 * Give every block of [0, size) storage without changing a byte of the
 * file's data: fallocate() where the filesystem can; else zeros written into
 * the holes of the first @old_size bytes (SEEK_HOLE) and past them.
 */
static int allocate_all(int fd, uint64_t size, uint64_t old_size, const struct format_signals *fs)
{
	uint64_t pos = 0, end = min(size, old_size);

	if (fallocate(fd, 0, 0, (off_t)size) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS)
		return -errno;
	while (pos < end) {
		off_t hole = lseek(fd, (off_t)pos, SEEK_HOLE), data;
		int err;

		if (hole < 0 || (uint64_t)hole >= end)
			break; /* no hole (or cannot tell): the old data stays as it is */
		data = lseek(fd, hole, SEEK_DATA);
		if (data < 0 || (uint64_t)data > end)
			data = (off_t)end;
		err = write_zeros(fd, (uint64_t)hole, (uint64_t)data, fs);
		if (err)
			return err;
		pos = (uint64_t)data;
	}
	return size > old_size ? write_zeros(fd, old_size, size, fs) : 0;
}

/*
 * What can be known before a byte is written: whether @size bytes fit under
 * the file size limits and in the free space (beyond what @st already has).
 * Return: 0, -EFBIG or -ENOSPC.
 */
static int check_room(int fd, const struct stat *st, uint64_t size)
{
	uint64_t have = (uint64_t)st->st_blocks * 512, avail;
	struct statvfs vfs;
	struct rlimit rl;
	long bits;

	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    size > (uint64_t)rl.rlim_cur && size > (uint64_t)st->st_size)
		return -EFBIG;
	bits = fpathconf(fd, _PC_FILESIZEBITS);
	if (bits > 0 && bits < 64 && size > (1ULL << (bits - 1)) - 1)
		return -EFBIG;
	if (fstatvfs(fd, &vfs) == 0 && size > have) {
		avail = (uint64_t)(geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail) * vfs.f_frsize;
		if (size - have > avail)
			return -ENOSPC;
	}
	return 0;
}

/* -EBUSY if another engine holds @fd's file (its flock) or the kernel swaps to it. */
static int check_not_in_use(int fd, const struct stat *st)
{
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	return swapfile_kernel_active(st) == 1 ? -EBUSY : 0;
}

/* Fill a header for @pages slots from swapfile_format()'s arguments. */
static int format_header(unsigned char *page, uint64_t pages, const char *label,
			 const uint8_t *uuid, const uint32_t *badpages, unsigned nr_badpages)
{
	struct swap_header_info hdr = {0};
	int err;

	if (pages < SWAP_HEADER_MIN_PAGES)
		return -EINVAL;
	if (pages - 1 > UINT32_MAX)
		return -EFBIG;
	if (label && strlen(label) > SWAP_HEADER_LABEL_LEN)
		return -ENAMETOOLONG;
	if (nr_badpages > SWAP_DEV_MAX_BAD || (nr_badpages && !badpages))
		return -EINVAL;
	hdr.last_page = (uint32_t)(pages - 1);
	hdr.nr_badpages = nr_badpages;
	if (nr_badpages)
		memcpy(hdr.badpages, badpages, nr_badpages * sizeof(*badpages));
	if (label)
		memcpy(hdr.label, label, strlen(label));
	if (uuid)
		memcpy(hdr.uuid, uuid, SWAP_HEADER_UUID_LEN);
	else if ((err = random_uuid(hdr.uuid)))
		return err;
	return swap_header_build(page, &hdr);
}

/* A block device: only the header is written; its node and size stay. */
static int format_blockdev(const char *path, uint64_t size_bytes, const char *label,
			   const uint8_t *uuid, const uint32_t *badpages, unsigned nr_badpages)
{
	_Alignas(PAGE_SIZE) unsigned char page[SWAP_HEADER_SIZE];
	uint64_t dev_bytes;
	int fd, err;

	struct stat st;

	fd = open(path, O_WRONLY | O_EXCL | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fstat(fd, &st) < 0 ? -errno : check_not_in_use(fd, &st);
	if (!err)
		err = ioctl(fd, BLKGETSIZE64, &dev_bytes) < 0 ? -errno : 0;
	if (!err && size_bytes > dev_bytes)
		err = -ENOSPC;
	if (!err)
		err = format_header(page, (size_bytes ? size_bytes : dev_bytes) / PAGE_SIZE, label,
				    uuid, badpages, nr_badpages);
	if (!err)
		err = full_io(fd, true, page, sizeof(page), 0);
	if (!err && fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

int swapfile_format(const char *path, uint64_t size_bytes, const char *label, const uint8_t *uuid,
		    const uint32_t *badpages, unsigned nr_badpages)
{
	_Alignas(PAGE_SIZE) unsigned char page[SWAP_HEADER_SIZE], old[SWAP_HEADER_SIZE];
	uint64_t pages = size_bytes / PAGE_SIZE, size = pages * PAGE_SIZE;
	bool created = true, header_saved = false;
	struct format_signals fs;
	size_t old_len = 0;
	struct stat st;
	int fd, err;

	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode))
		return format_blockdev(path, size_bytes, label, uuid, badpages, nr_badpages);
	err = format_header(page, pages, label, uuid, badpages, nr_badpages);
	if (err)
		return err;
	/* From here a ^C or a kill waits until what was written is undone. */
	hold_signals(&fs);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* Not ours: never truncated, never removed. O_NONBLOCK: a FIFO. */
		created = false;
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	}
	if (fd < 0) {
		err = -errno;
		release_signals(&fs);
		return err;
	}
	if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EINVAL;
	if (!err)
		err = check_not_in_use(fd, &st);
	if (!err)
		err = check_room(fd, &st, size);
	if (!err)
		err = allocate_all(fd, size, (uint64_t)st.st_size, &fs);
	if (!err)
		err = held_signal_pending(&fs);
	if (!err && !created && st.st_size > 0) {
		old_len = (size_t)min((uint64_t)st.st_size, (uint64_t)sizeof(old));
		err = full_io(fd, false, old, old_len, 0);
		header_saved = !err;
	}
	if (!err)
		err = full_io(fd, true, page, sizeof(page), 0);
	if (!err && fsync(fd) < 0)
		err = -errno;
	/*
	 * Someone else's file that we may write (EPERM: not its owner) keeps
	 * its mode, as with util-linux mkswap; swapon only warns about it.
	 */
	if (!err && fchmod(fd, 0600) < 0 && errno != EPERM)
		err = -errno;
	if (err && created) {
		unlink(path);
	} else if (err && S_ISREG(st.st_mode)) {
		/* Put back what was there: the first page, the size. */
		if (header_saved)
			full_io(fd, true, old, old_len, 0);
		if (ftruncate(fd, st.st_size) == 0)
			fsync(fd);
	}
	close(fd);
	release_signals(&fs);
	return err;
}

/* ---- the backend ---- */

struct swapfile {
	struct swap_dev dev;
	struct arena *arena;
	int fd;
	bool is_blk;			   /* block device (else regular file) */
	bool direct;			   /* opened with O_DIRECT: buffers must be aligned */
	bool readonly;			   /* SWAPFILE_OPEN_READONLY: nothing is written */
	uint64_t size;			   /* bytes */
	unsigned long read_nth, write_nth; /* atomic injection countdowns */
	int inject_err;
	struct swap_header_info hdr;
};

static const struct swap_dev_ops swapfile_ops;

static struct swapfile *to_swapfile(struct swap_dev *dev)
{
	return container_of(dev, struct swapfile, dev);
}

bool is_swapfile_dev(const struct swap_dev *dev)
{
	return dev && dev->ops == &swapfile_ops;
}

/* An injected failure for this call, or 0. */
static int injected(struct swapfile *f, unsigned long *nth, bool write, void *buf, size_t len,
		    off_t pos)
{
	int err;

	if (likely(!atomic_load_relaxed(nth)) || !atomic_countdown_hits(nth))
		return 0;
	err = atomic_load_relaxed(&f->inject_err);
	if (err != SWAPFILE_SHORT_IO)
		return err;
	/* Half of the data (whole sectors) really moves, as in a short transfer. */
	len = ALIGN_DOWN(len / 2, 512);
	if (len)
		full_io(f->fd, write, buf, len, pos);
	return -EIO;
}

static __thread _Alignas(PAGE_SIZE) unsigned char swapfile_bounce[PAGE_SIZE];

static int swapfile_rw(struct swapfile *f, bool write, pgoff_t offset, void *buf, unsigned nr)
{
	off_t pos = (off_t)offset << PAGE_SHIFT;
	size_t len = (size_t)nr << PAGE_SHIFT;
	int err;

	if (offset == 0 || offset + nr > f->dev.nr_pages || offset + nr < offset)
		return -EINVAL;
	if (write && f->readonly)
		return -EROFS;
	err = injected(f, write ? &f->write_nth : &f->read_nth, write, buf, len, pos);
	if (err)
		return err;
	if (!f->direct || IS_ALIGNED((uintptr_t)buf, PAGE_SIZE))
		return full_io(f->fd, write, buf, len, pos);
	/* O_DIRECT needs aligned memory: go through a bounce page. */
	for (unsigned i = 0; i < nr; i++, pos += PAGE_SIZE) {
		unsigned char *p = (unsigned char *)buf + ((size_t)i << PAGE_SHIFT);

		if (write)
			memcpy(swapfile_bounce, p, PAGE_SIZE);
		err = full_io(f->fd, write, swapfile_bounce, PAGE_SIZE, pos);
		if (err)
			return err;
		if (!write)
			memcpy(p, swapfile_bounce, PAGE_SIZE);
	}
	return 0;
}

static int swapfile_read(struct swap_dev *dev, pgoff_t offset, void *buf, unsigned nr)
{
	return swapfile_rw(to_swapfile(dev), false, offset, buf, nr);
}

static int swapfile_write(struct swap_dev *dev, pgoff_t offset, const void *buf, unsigned nr)
{
	return swapfile_rw(to_swapfile(dev), true, offset, (void *)buf, nr);
}

static int swapfile_discard(struct swap_dev *dev, pgoff_t offset, unsigned long nr)
{
	struct swapfile *f = to_swapfile(dev);
	uint64_t range[2] = {(uint64_t)offset << PAGE_SHIFT, (uint64_t)nr << PAGE_SHIFT};

	if (offset == 0 || offset + nr > dev->nr_pages || offset + nr < offset)
		return -EINVAL;
	if (f->readonly)
		return -EROFS;
	if (f->is_blk)
		return ioctl(f->fd, BLKDISCARD, range) < 0 ? -errno : 0;
	/*
	 * A regular file keeps its blocks: a punched hole would make it a file
	 * swapon refuses, and filling it again can fail (no space). Zeroing
	 * the range (unwritten extents, no data written where the filesystem
	 * can) drops the contents and leaves no hole, even when it fails.
	 */
	if (fallocate(f->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)range[0],
		      (off_t)range[1]) < 0)
		return -errno;
	return 0;
}

static int swapfile_describe(struct swap_dev *dev, char *buf, size_t len)
{
	struct swapfile *f = to_swapfile(dev);

	snprintf(buf, len, "%s %s: %lu pages, %u bad, label \"%s\"%s%s%s", dev->kind, dev->name,
		 dev->nr_pages, dev->nr_badpages, f->hdr.label, f->direct ? ", direct I/O" : "",
		 f->hdr.foreign_endian ? ", foreign byte order" : "",
		 f->readonly ? ", read-only" : "");
	return 0;
}

static void swapfile_destroy(struct swap_dev *dev)
{
	struct swapfile *f = to_swapfile(dev);

	close(f->fd);
	arena_free(f->arena, f, sizeof(*f));
}

static const struct swap_dev_ops swapfile_ops = {
	.name = "file",
	.read = swapfile_read,
	.write = swapfile_write,
	.discard = swapfile_discard,
	.describe = swapfile_describe,
	.destroy = swapfile_destroy,
};

static void __printf(3, 4) errmsg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!buf || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/*
 * Whether [0, size) of a regular file has a hole: FIEMAP first (it tells
 * unwritten extents, which are allocated, from holes; SEEK_HOLE on ext4 does
 * not), SEEK_HOLE where FIEMAP is not supported.
 * Return: 1 if a hole, 0 if none, -errno if it cannot tell.
 */
static int file_has_holes(int fd, uint64_t size)
{
	enum { NR_EXTENTS = 32 };
	union {
		struct fiemap fm;
		char buf[sizeof(struct fiemap) + NR_EXTENTS * sizeof(struct fiemap_extent)];
	} m;
	uint64_t pos = 0;
	off_t hole;

	while (pos < size) {
		memset(&m.fm, 0, sizeof(m.fm));
		m.fm.fm_start = pos;
		m.fm.fm_length = size - pos;
		m.fm.fm_flags = FIEMAP_FLAG_SYNC;
		m.fm.fm_extent_count = NR_EXTENTS;
		if (ioctl(fd, FS_IOC_FIEMAP, &m.fm) < 0)
			goto seek_hole;
		if (m.fm.fm_mapped_extents == 0)
			return 1;
		for (unsigned i = 0; i < m.fm.fm_mapped_extents; i++) {
			const struct fiemap_extent *e = &m.fm.fm_extents[i];

			if (e->fe_logical > pos)
				return 1;
			if (e->fe_flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC))
				return 1;
			pos = max(pos, e->fe_logical + e->fe_length);
			if (e->fe_flags & FIEMAP_EXTENT_LAST)
				return pos < size;
		}
	}
	return 0;
seek_hole:
	hole = lseek(fd, 0, SEEK_HOLE);
	if (hole < 0)
		return -errno;
	return (uint64_t)hole < size;
}

/* The sysfs queue directory of the disk holding dev @rdev, into @buf. */
static bool sysfs_queue_dir(dev_t rdev, char *buf, size_t len)
{
	char link[64], real[PATH_MAX];
	struct stat st;
	int n;

	snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(rdev), minor(rdev));
	if (!realpath(link, real))
		return false;
	n = snprintf(buf, len, "%s/queue", real);
	if (n > 0 && (size_t)n < len && stat(buf, &st) == 0)
		return true;
	/* A partition: the queue belongs to the parent disk. */
	n = snprintf(buf, len, "%s/../queue", real);
	return n > 0 && (size_t)n < len && stat(buf, &st) == 0;
}

static bool sysfs_read_ulong(const char *dir, const char *name, unsigned long *val)
{
	char path[PATH_MAX + 64];
	FILE *fp;
	bool ok;
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof(path))
		return false;
	fp = fopen(path, "re");
	if (!fp)
		return false;
	ok = fscanf(fp, "%lu", val) == 1;
	fclose(fp);
	return ok;
}

/*
 * SOLIDSTATE and DISCARD as the storage under the file reports them, as the
 * kernel decides them: a regular file discards when the disk under it can
 * (its discards zero ranges, see swapfile_discard()). A file on a
 * filesystem without a block device of its own (overlay, btrfs subvolumes:
 * no sysfs queue) counts as rotational without discard, the kernel's
 * default. Nothing is written to find out: opening a swap file leaves every
 * byte of it as it was.
 */
static unsigned long swapfile_probe_flags(struct swapfile *f, const struct stat *st)
{
	char queue[PATH_MAX + 16];
	unsigned long flags = 0, val;

	if (sysfs_queue_dir(f->is_blk ? st->st_rdev : st->st_dev, queue, sizeof(queue))) {
		if (sysfs_read_ulong(queue, "rotational", &val) && val == 0)
			flags |= SWAP_DEV_SOLIDSTATE;
		if (!f->readonly && sysfs_read_ulong(queue, "discard_max_bytes", &val) && val)
			flags |= SWAP_DEV_DISCARD;
	}
	return flags;
}

static int swapfile_size(int fd, const struct stat *st, uint64_t *size)
{
	if (S_ISREG(st->st_mode)) {
		*size = (uint64_t)st->st_size;
		return 0;
	}
	return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
}

/*
 * /proc/swaps names a path with space, tab, newline and backslash written
 * as octal escapes ("\040"): decode @s in place.
 */
static void unescape_octal(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

int swapfile_kernel_active(const struct stat *st)
{
	char *line = NULL;
	size_t cap = 0;
	int found = 0;
	FILE *fp = fopen("/proc/swaps", "re");

	if (!fp)
		return -errno;
	while (!found && getline(&line, &cap, fp) > 0) {
		char *end = line;
		struct stat sw;

		/* "Filename Type Size Used Priority": the name ends at a space or tab. */
		while (*end && *end != ' ' && *end != '\t' && *end != '\n')
			end++;
		*end = '\0';
		if (line[0] != '/')
			continue; /* the title line */
		unescape_octal(line);
		if (stat(line, &sw) < 0)
			continue;
		if (S_ISBLK(st->st_mode))
			found = S_ISBLK(sw.st_mode) && sw.st_rdev == st->st_rdev;
		else
			found = !S_ISBLK(sw.st_mode) && sw.st_dev == st->st_dev &&
				sw.st_ino == st->st_ino;
	}
	free(line);
	fclose(fp);
	return found;
}

/* How a path is shown in a message: a long one keeps its last characters. */
#define SHOWN_PATH_MAX 160

static const char *shown_path(const char *path, char buf[SHOWN_PATH_MAX + 4])
{
	size_t len = strlen(path);

	if (len <= SHOWN_PATH_MAX)
		return path;
	snprintf(buf, SHOWN_PATH_MAX + 4, "...%s", path + len - SHOWN_PATH_MAX);
	return buf;
}

static int swapfile_open_fd(const char *path, const char *name, bool readonly, bool *direct,
			    char *errbuf, size_t errlen)
{
	/* O_NONBLOCK: a FIFO or a device must not make the open wait. */
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_NONBLOCK | O_CLOEXEC;
	struct stat st;
	int fd;

	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode))
		flags |= O_EXCL; /* like swapon: not while mounted or claimed */
	*direct = true;
	fd = open(path, flags | O_DIRECT);
	if (fd < 0 && errno == EINVAL) {
		*direct = false;
		fd = open(path, flags);
	}
	if (fd < 0) {
		int err = -errno;

		errmsg(errbuf, errlen, "%s: cannot open: %s", name, strerror(-err));
		return err;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/* Every check swapon makes before using the area. */
static int swapfile_check(int fd, const char *path, const struct stat *st, uint64_t size,
			  struct swap_header_info *hdr, char *errbuf, size_t errlen)
{
	_Alignas(PAGE_SIZE) unsigned char page[SWAP_HEADER_SIZE];
	struct statfs sfs;
	uint32_t dup;
	int err;

	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
		errmsg(errbuf, errlen, "%s: not a regular file or block device", path);
		return -EINVAL;
	}
	if (swapfile_kernel_active(st) == 1) {
		errmsg(errbuf, errlen, "%s: %s: the kernel uses it as swap (see /proc/swaps)", path,
		       strerror(EBUSY));
		return -EBUSY;
	}
	if (S_ISREG(st->st_mode) && fstatfs(fd, &sfs) == 0 && sfs.f_type == TMPFS_MAGIC) {
		errmsg(errbuf, errlen,
		       "%s: a file on tmpfs cannot be a swap area: tmpfs keeps its pages in "
		       "memory, and the kernel's swapon refuses it too; put the file on a "
		       "disk filesystem",
		       path);
		return -EINVAL;
	}
	if (size < SWAP_HEADER_SIZE) {
		errmsg(errbuf, errlen, "%s: %s (smaller than one page)", path,
		       swap_header_strerror(SWAP_HDR_NO_SIGNATURE));
		return SWAP_HDR_NO_SIGNATURE;
	}
	err = full_io(fd, false, page, sizeof(page), 0);
	if (err) {
		errmsg(errbuf, errlen, "%s: cannot read the header: %s", path, strerror(-err));
		return err;
	}
	err = swap_header_parse(page, size, hdr);
	if (err == SWAP_HDR_BAD_VERSION) {
		errmsg(errbuf, errlen, "%s: %s: found version %u", path, swap_header_strerror(err),
		       hdr->version);
		return err;
	}
	if (err == SWAP_HDR_DUP_BAD_PAGE && (dup = swap_header_dup_badpage(hdr))) {
		errmsg(errbuf, errlen,
		       "%s: bad page %u is listed more than once in the swap "
		       "header",
		       path, dup);
		return err;
	}
	if (err) {
		errmsg(errbuf, errlen, "%s: %s", path, swap_header_strerror(err));
		return err;
	}
	if (S_ISBLK(st->st_mode)) {
		if (hdr->nr_badpages >= hdr->last_page) {
			errmsg(errbuf, errlen,
			       "%s: no usable page: all %u pages after the header are listed as "
			       "bad",
			       path, hdr->last_page);
			return -EINVAL;
		}
		return 0;
	}
	if (hdr->nr_badpages) {
		errmsg(errbuf, errlen,
		       "%s: bad pages are not allowed on a regular file (%u listed)", path,
		       hdr->nr_badpages);
		return -EINVAL;
	}
	err = file_has_holes(fd, (uint64_t)(hdr->last_page + 1ULL) * PAGE_SIZE);
	if (err < 0) {
		errmsg(errbuf, errlen, "%s: cannot map the file's blocks: %s", path,
		       strerror(-err));
		return err;
	}
	if (err) {
		errmsg(errbuf, errlen, "%s: swapfile has holes (make it with mkswap or fallocate)",
		       path);
		return -EINVAL;
	}
	return 0;
}

int swapfile_open(struct swap_dev **out, struct arena *arena, const char *path, char *errbuf,
		  size_t errlen)
{
	return swapfile_open_flags(out, arena, path, 0, errbuf, errlen);
}

int swapfile_open_flags(struct swap_dev **out, struct arena *arena, const char *path,
			unsigned flags, char *errbuf, size_t errlen)
{
	char namebuf[SHOWN_PATH_MAX + 4];
	const char *name = shown_path(path, namebuf);
	bool readonly = flags & SWAPFILE_OPEN_READONLY;
	struct swap_header_info *hdr;
	struct swapfile *f;
	struct stat st;
	uint64_t size = 0;
	bool direct;
	int fd, err;

	errmsg(errbuf, errlen, "ok");
	if (flags & ~SWAPFILE_OPEN_READONLY) {
		errmsg(errbuf, errlen, "%s: unknown open flags %#x", name, flags);
		return -EINVAL;
	}
	fd = swapfile_open_fd(path, name, readonly, &direct, errbuf, errlen);
	if (fd < 0)
		return fd;
	f = arena_zalloc(arena, sizeof(*f));
	if (!f) {
		errmsg(errbuf, errlen, "%s: out of memory", name);
		err = -ENOMEM;
		goto out_close;
	}
	hdr = &f->hdr;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		errmsg(errbuf, errlen, "%s: cannot stat: %s", name, strerror(-err));
		goto out_free;
	}
	err = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) ? swapfile_size(fd, &st, &size) : 0;
	if (!err)
		err = swapfile_check(fd, name, &st, size, hdr, errbuf, errlen);
	if (err)
		goto out_free;
	/* Two engines writing one swap area would corrupt each other. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		errmsg(errbuf, errlen, "%s: in use by another swap engine", name);
		goto out_free;
	}

	f->arena = arena;
	f->fd = fd;
	f->direct = direct;
	f->readonly = readonly;
	f->is_blk = S_ISBLK(st.st_mode);
	f->size = size;
	f->dev.ops = &swapfile_ops;
	f->dev.nr_pages = hdr->last_page + 1UL;
	f->dev.nr_badpages = hdr->nr_badpages;
	memcpy(f->dev.badpages, hdr->badpages, hdr->nr_badpages * sizeof(hdr->badpages[0]));
	f->dev.kind = f->is_blk ? "partition" : "file";
	snprintf(f->dev.name, sizeof(f->dev.name), "%s", path);
	f->dev.flags = swapfile_probe_flags(f, &st);
	*out = &f->dev;
	return 0;
out_free:
	arena_free(arena, f, sizeof(*f));
out_close:
	close(fd);
	return err;
}

int swapfile_get_header(struct swap_dev *dev, struct swap_header_info *hdr)
{
	if (!is_swapfile_dev(dev))
		return -EINVAL;
	*hdr = to_swapfile(dev)->hdr;
	return 0;
}

void swapfile_inject(struct swap_dev *dev, unsigned long read_nth, unsigned long write_nth, int err)
{
	struct swapfile *f = to_swapfile(dev);

	atomic_store_relaxed(&f->inject_err, err);
	atomic_store_relaxed(&f->read_nth, read_nth);
	atomic_store_relaxed(&f->write_nth, write_nth);
}
