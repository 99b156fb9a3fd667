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

#ifdef __cplusplus
}
#endif

#endif /* USWAP_USWAP_H */
