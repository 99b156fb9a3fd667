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
 * - Delay injection (race_inject_start): from a seed, about half the points
 *   are given a rate (1 hit in 2 to 1 in 64 at the highest intensity); a
 *   thread reaching one then sometimes yields and sometimes sleeps 1-200 us
 *   (now and then up to 2 ms), as a preempted kernel thread would. A
 *   point's rate holds for its first 2048 hits, then falls with its hit
 *   count, so hot paths do not stall a run. The same seed gives every point
 *   the same rate, so a stress run is replayed with its seed (thread timing
 *   still varies); race_inject_phase() draws new rates from the same seed,
 *   to move the delays to other windows during a run. race_inject_select()
 *   aims a run at the points whose name contains a string: those, and no
 *   others, are delayed, whatever the seed, one hit in 2 (before the fall
 *   with the hit count), always by a sleep of 10 us to 2 ms, long enough for
 *   other threads to free and reuse what the window checked.
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

/* race_inject_stop - no more delays (hooks and counts stay). Context: any. */
void race_inject_stop(void);

/*
 * race_inject_select - from now on delay only at points whose name contains
 * @match, each at 1 in 2 with long sleeps (NULL or "": every point the seed
 * picks, at its rate). @match must outlive the injection. Context: any.
 * Return: 0, or -EOPNOTSUPP in a build without race points.
 */
int race_inject_select(const char *match);

/*
 * race_inject_phase - draw the rates anew from the run's seed mixed with
 * @phase (0: the seed itself), keeping the counts. A stress run that
 * changes phase every second or so aims its delays at a different set of
 * windows each time, each at full strength, instead of at all of them
 * diluted; the same seed gives the same sequence. Context: any.
 * Return: 0, or -EOPNOTSUPP in a build without race points.
 */
int race_inject_phase(unsigned phase);

/*
 * race_inject_report - print every point reached since the last
 * race_inject_start() (or since the program started), with its hit and
 * delay counts and rate, as "# " comment lines to @out (NULL: print
 * nothing). Context: any; counts of points being hit meanwhile may be
 * slightly behind.
 * Return: the number of distinct points reached.
 */
unsigned race_inject_report(FILE *out);

/*
 * race_point_hits - Return: how many times the point @name was reached while
 * armed since the last race_inject_start() (0 in a build without race
 * points). Context: any.
 */
unsigned long race_point_hits(const char *name);

/*
 * race_point_delays - Return: how many delays were injected at @name since
 * the last race_inject_start(). Context: any.
 */
unsigned long race_point_delays(const char *name);

/* race_points_available - Return: true in builds with race points. */
bool race_points_available(void);

#endif /* USWAP_BASE_RACE_H */
