/* SPDX-License-Identifier: MIT */
/*
 * uffd_compat.h - the userfaultfd ABI the pager uses, with what is newer
 * than some installed kernel headers (UFFD_FEATURE_WP_UNPOPULATED, Linux
 * 6.4; UFFDIO_MOVE, Linux 6.8) spelled out as the kernel defines it.
 *
 * Owns: nothing. Locking: none.
 */
#ifndef USWAP_UFFD_COMPAT_H
#define USWAP_UFFD_COMPAT_H

#include <linux/userfaultfd.h>

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1 << 16)
#endif
#ifndef UFFDIO_MOVE
struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
	__u64 mode;
	__s64 move;
};
#define UFFDIO_MOVE_MODE_DONTWAKE ((__u64)1 << 0)
#define UFFDIO_MOVE		  _IOWR(UFFDIO, 0x05, struct uffdio_move)
#endif

#endif /* USWAP_UFFD_COMPAT_H */
