/* SPDX-License-Identifier: MIT */
/*
 * race.h - race points: named places between a check and the action it
 * guards, where another thread may change what was checked.
 *
 * In the kernel such a window is widened by preemption; in user space on a
 * machine with two CPUs it is a few nanoseconds and a stress test almost
 * never lands in it. A race point makes the window reachable:
 *
 *   race_point("swapin_large:before_add");
 *
 * Debug builds (USWAP_DEBUG) only; in release builds the macro is empty.
 * When nothing is armed it costs one relaxed load. Two things can be armed:
 *
 * - A hook (race_set_hook): called with the point's name, in the thread that
 *   reached it. Deterministic tests use it to run the competing operation
 *   exactly inside the window.
 * - Delay injection (race_inject_start): from a seed, each point is given a
 *   rate; a thread reaching it then sometimes yields and sometimes sleeps
 *   1-200 us, as a preempted kernel thread would. The same seed gives every
 *   point the same rate, so a stress run is replayed with its seed (thread
 *   timing still varies).
 *
 * Names are "file-or-flow:where", written at the call site as a string
 * literal; the set of points is the set of call sites (race_inject_report()
 * lists those reached).
 *
 * Owns: the process-wide hook and injection state (debug builds; the
 * facility is global on purpose: it instruments code, not an engine).
 * Locking: atomics; the per-point table is insert-only.
 */
#ifndef USWAP_BASE_RACE_H
#define USWAP_BASE_RACE_H

#include <stdint.h>
#include <stdio.h>

#include "atomic.h"
#include "compiler.h"

typedef void (*race_hook_t)(const char *name, void *arg);

#ifdef USWAP_DEBUG
extern int race_armed;
void __race_point(const char *name);

#define race_point(name)                                                                           \
	do {                                                                                       \
		if (unlikely(atomic_load_relaxed(&race_armed)))                                    \
			__race_point(name);                                                        \
	} while (0)
#else
#define race_point(name) ((void)0)
#endif

/*
 * race_set_hook - call @hook(name, @arg) at every race point reached from
 * now on (NULL: none). The hook runs in the thread at the point, with that
 * thread's locks held: it must not take a lock ranked at or below them.
 * Context: no race point running (set it between phases of a test).
 * Return: 0, or -EOPNOTSUPP in a build without race points.
 */
int race_set_hook(race_hook_t hook, void *arg);

/*
 * race_inject_start - delay threads at race points, with rates drawn from
 * @seed; @intensity 0..3 scales the rates (0: off). Context: any.
 * Return: 0, or -EOPNOTSUPP in a build without race points.
 */
int race_inject_start(uint64_t seed, unsigned intensity);

/* race_inject_stop - no more delays (hooks stay). Context: any. */
void race_inject_stop(void);

/*
 * race_inject_report - print the points reached since start, with their
 * hit and delay counts, to @out. Context: any.
 * Return: the number of distinct points reached.
 */
unsigned race_inject_report(FILE *out);

/* race_points_available - Return: true in builds with race points. */
bool race_points_available(void);

#endif /* USWAP_BASE_RACE_H */
