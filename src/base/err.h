/* SPDX-License-Identifier: MIT */
/*
 * err.h - error pointers, the kernel's idiom: a function that returns a
 * pointer returns ERR_PTR(-errno) on failure, and the caller tells the two
 * apart with IS_ERR() and takes the error back with PTR_ERR(). The top 4095
 * addresses are never valid objects, so they can carry an errno.
 *
 * Owns: nothing. Locking: none.
 */
#ifndef USWAP_BASE_ERR_H
#define USWAP_BASE_ERR_H

#include <stdbool.h>

#define MAX_ERRNO 4095
static inline void *ERR_PTR(long err)
{
	return (void *)err;
}
static inline long PTR_ERR(const void *p)
{
	return (long)p;
}
static inline bool IS_ERR(const void *p)
{
	return (unsigned long)p >= (unsigned long)-MAX_ERRNO;
}
static inline bool IS_ERR_OR_NULL(const void *p)
{
	return !p || IS_ERR(p);
}

#endif /* USWAP_BASE_ERR_H */
