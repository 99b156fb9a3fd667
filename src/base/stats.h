/* SPDX-License-Identifier: MIT */
/*
 * stats.h - event counters with /proc/vmstat names.
 *
 * One X-macro list is the single source of the names; counters live in the
 * engine (struct uswap_stats) and are bumped with relaxed atomics.
 *
 * Owns: nothing. Locking: atomic counters.
 */
#ifndef USWAP_BASE_STATS_H
#define USWAP_BASE_STATS_H

#include "atomic.h"

#define USWAP_VM_EVENTS(X)                                                                         \
	X(pgfault)                                                                                 \
	X(pgmajfault)                                                                              \
	X(pswpin)                                                                                  \
	X(pswpout)                                                                                 \
	X(swpin_zero)                                                                              \
	X(swpout_zero)                                                                             \
	X(swap_ra)                                                                                 \
	X(swap_ra_hit)                                                                             \
	X(thp_swpin)                                                                               \
	X(thp_swpin_fallback)                                                                      \
	X(thp_swpout)                                                                              \
	X(thp_swpout_fallback)                                                                     \
	X(thp_split_page)                                                                          \
	X(pgscan_anon)                                                                             \
	X(pgsteal_anon)                                                                            \
	X(pgactivate)                                                                              \
	X(pgdeactivate)                                                                            \
	X(workingset_refault_anon)                                                                 \
	X(workingset_activate_anon)                                                                \
	X(swpin_cache_hit)                                                                         \
	X(swap_cache_add_eexist)                                                                   \
	X(cow_ksm)                                                                                 \
	X(swpout_fail)                                                                             \
	X(swpin_fail)

enum vm_event_item {
#define X(name) name,
	USWAP_VM_EVENTS(X)
#undef X
		NR_VM_EVENT_ITEMS
};

extern const char *const vm_event_names[NR_VM_EVENT_ITEMS];

struct vm_event_state {
	unsigned long event[NR_VM_EVENT_ITEMS];
};

static inline void count_vm_events(struct vm_event_state *s, enum vm_event_item item,
				   unsigned long n)
{
	atomic_fetch_add_relaxed(&s->event[item], n);
}

static inline void count_vm_event(struct vm_event_state *s, enum vm_event_item item)
{
	count_vm_events(s, item, 1);
}

static inline unsigned long vm_event_read(const struct vm_event_state *s, enum vm_event_item item)
{
	return atomic_load_relaxed(&s->event[item]);
}

#endif /* USWAP_BASE_STATS_H */
