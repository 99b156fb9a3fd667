/* SPDX-License-Identifier: MIT */
/*
 * warn.h - WARN-once with a counter, and graded debug checks.
 *
 * WARN_ON_ONCE(cond): misuse or a broken invariant that the code survives.
 *   Prints once per call site, counts every hit (warn_count()), never aborts:
 *   callers refuse the operation and change nothing.
 * VM_BUG_ON(cond): an internal invariant. Debug builds abort with the site;
 *   release builds turn it into WARN_ON_ONCE.
 * VM_WARN_ON(cond): checked only in debug builds.
 *
 * Owns: the process-wide warning counter. Locking: atomic.
 */
#ifndef USWAP_BASE_WARN_H
#define USWAP_BASE_WARN_H

#include "compiler.h"

void __warn_hit(bool *once, const char *file, int line, const char *cond);
__attribute__((noreturn)) void __bug_hit(const char *file, int line, const char *cond);

/* Return: the number of WARN hits in this process so far. */
unsigned long warn_count(void);

#define WARN_ON_ONCE(cond)                                                                         \
	({                                                                                         \
		bool __w = !!(cond);                                                               \
		if (unlikely(__w)) {                                                               \
			static bool __once;                                                        \
			__warn_hit(&__once, __FILE__, __LINE__, #cond);                            \
		}                                                                                  \
		__w;                                                                               \
	})

#ifdef USWAP_DEBUG
#define VM_BUG_ON(cond)                                                                            \
	do {                                                                                       \
		if (unlikely(cond))                                                                \
			__bug_hit(__FILE__, __LINE__, #cond);                                      \
	} while (0)
#define VM_WARN_ON(cond)    ((void)WARN_ON_ONCE(cond))
#define USWAP_DEBUG_ENABLED 1
#else
#define VM_BUG_ON(cond)	    ((void)WARN_ON_ONCE(cond))
#define VM_WARN_ON(cond)    ((void)sizeof(!!(cond)))
#define USWAP_DEBUG_ENABLED 0
#endif

#endif /* USWAP_BASE_WARN_H */
