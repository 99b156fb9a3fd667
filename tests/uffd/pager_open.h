/* SPDX-License-Identifier: MIT */
/*
 * pager_open.h - how the uffd tests open a pager: the test is skipped where
 * the machine has no full-mode userfaultfd, and fails on any other error.
 *
 * Owns: nothing. Locking: none.
 */
#ifndef USWAP_TESTS_UFFD_PAGER_OPEN_H
#define USWAP_TESTS_UFFD_PAGER_OPEN_H

#include <errno.h>

#include "test.h"
#include "uswap/uswap.h"

/*
 * pager_open_or_skip - uswap_pager_open() with @cfg.
 * Context: a test's own thread.
 * Return: the pager, or NULL with the test skipped (-EPERM, -EOPNOTSUPP:
 * no full-mode userfaultfd here; the skip gives the pager's reason) or
 * failed (any other error).
 */
static inline struct uswap_pager *pager_open_or_skip(const struct uswap_pager_config *cfg)
{
	struct uswap_pager *p = NULL;
	char err[512];
	int ret = uswap_pager_open(&p, cfg, err, sizeof(err));

	if (ret == -EPERM || ret == -EOPNOTSUPP) {
		test_skip(err);
		return NULL;
	}
	if (ret) {
		test_fail(__FILE__, __LINE__, "uswap_pager_open: %d: %s", ret, err);
		return NULL;
	}
	return p;
}

#endif
