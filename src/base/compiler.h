/* SPDX-License-Identifier: MIT */
/*
 * compiler.h - small compiler helpers used everywhere in uswap.
 *
 * Owns: nothing stateful. Locking: none.
 */
#ifndef USWAP_BASE_COMPILER_H
#define USWAP_BASE_COMPILER_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define __hidden       __attribute__((visibility("hidden")))
#define __public       __attribute__((visibility("default")))
#define __unused       __attribute__((unused))
#define __noinline     __attribute__((noinline))
#define __cold	       __attribute__((cold))
#define __must_check   __attribute__((warn_unused_result))
#define __printf(a, b) __attribute__((format(printf, a, b)))

#define ARRAY_SIZE(a)	   (sizeof(a) / sizeof((a)[0]))
#define BUILD_BUG_ON(cond) _Static_assert(!(cond), "BUILD_BUG_ON(" #cond ")")

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* Each argument is evaluated once (a call or an atomic read in it is made once). */
#define min(a, b)                                                                                  \
	({                                                                                         \
		__typeof__(a) __min_a = (a);                                                       \
		__typeof__(b) __min_b = (b);                                                       \
		__min_a < __min_b ? __min_a : __min_b;                                             \
	})
#define max(a, b)                                                                                  \
	({                                                                                         \
		__typeof__(a) __max_a = (a);                                                       \
		__typeof__(b) __max_b = (b);                                                       \
		__max_a > __max_b ? __max_a : __max_b;                                             \
	})
#define clamp(v, lo, hi) min(max((v), (lo)), (hi))

#define ALIGN_DOWN(x, a)   ((x) & ~((__typeof__(x))(a)-1))
#define ALIGN_UP(x, a)	   ALIGN_DOWN((x) + (a)-1, (a))
#define IS_ALIGNED(x, a)   (((x) & ((__typeof__(x))(a)-1)) == 0)
#define DIV_ROUND_UP(n, d) (((n) + (d)-1) / (d))

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1UL << PAGE_SHIFT)
#define PAGE_MASK  (~(PAGE_SIZE - 1))

#define BITS_PER_LONG 64

/* Thread sanitizer detection (gcc and clang). */
#if defined(__SANITIZE_THREAD__)
#define USWAP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define USWAP_TSAN 1
#endif
#endif

#endif /* USWAP_BASE_COMPILER_H */
