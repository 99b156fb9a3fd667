// SPDX-License-Identifier: MIT
/*
 * public.c - the exported uswap_ entry points for engine lifetime.
 *
 * Owns: nothing. Locking: none.
 */
#include <string.h>

#include "swap.h"
#include "uswap/uswap.h"

/* USWAP_VERSION comes from the project's version in meson.build. */
__public const char *uswap_version(void)
{
	return USWAP_VERSION;
}

__public const char *uswap_strerror(int err)
{
	return strerror(err < 0 ? -err : err);
}

__public int uswap_create(struct uswap **out, size_t arena_bytes, bool shared)
{
	return swap_engine_create(out, arena_bytes ? arena_bytes : (4UL << 30), shared);
}

__public void uswap_destroy(struct uswap *sw)
{
	swap_engine_destroy(sw);
}
