/* SPDX-License-Identifier: MIT */
/*
 * proc_status.h - the kernel's RssAnon of a process, read from
 * /proc/PID/status: what the tests hold a budget against.
 *
 * Owns: nothing. Locking: none (each call opens and closes the file).
 */
#ifndef USWAP_TESTS_PROC_STATUS_H
#define USWAP_TESTS_PROC_STATUS_H

#include <stdio.h>
#include <sys/types.h>

/*
 * proc_rss_anon_kb - RssAnon of @pid, or of the calling process if @pid is 0.
 * Context: any.
 * Return: RssAnon in KiB, or -1 (no such process, or no RssAnon line).
 */
static inline long proc_rss_anon_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

#endif
