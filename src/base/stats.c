// SPDX-License-Identifier: MIT
/*
 * stats.c - names of the vm event counters.
 *
 * Owns: vm_event_names. Locking: read-only data.
 */
#include "stats.h"

const char *const vm_event_names[NR_VM_EVENT_ITEMS] = {
#define X(name) #name,
	USWAP_VM_EVENTS(X)
#undef X
};
