// SPDX-License-Identifier: MIT
/*
 * warn.c - the WARN counter and reporters.
 *
 * Owns: warn_hits. Locking: atomic.
 */
#include "warn.h"

#include <stdio.h>
#include <stdlib.h>

#include "atomic.h"

static unsigned long warn_hits;

void __warn_hit(bool *once, const char *file, int line, const char *cond)
{
	atomic_fetch_add_relaxed(&warn_hits, 1);
	if (!atomic_xchg_acq_rel(once, true))
		fprintf(stderr, "uswap: WARNING at %s:%d: %s\n", file, line, cond);
}

void __bug_hit(const char *file, int line, const char *cond)
{
	fprintf(stderr, "uswap: BUG at %s:%d: %s\n", file, line, cond);
	fflush(stderr);
	abort();
}

unsigned long warn_count(void)
{
	return atomic_load_relaxed(&warn_hits);
}
