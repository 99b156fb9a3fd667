/* SPDX-License-Identifier: MIT */
/*
 * proc_status.h - figures of a process from /proc/PID/status: its RssAnon,
 * what the tests hold a budget against, and the like.
 *
 * Owns: nothing. Locking: none (each call opens and closes the file).
 */
#ifndef USWAP_TESTS_PROC_STATUS_H
#define USWAP_TESTS_PROC_STATUS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/*
 * proc_status_field - the number after "@name:" in /proc/@pid/status (the
 * calling process's if @pid is 0), e.g. RssAnon (in KiB) or Threads.
 * Context: any. Return: it, or -1 (no such process, or no such line).
 */
static inline long proc_status_field(pid_t pid, const char *name)
{
	char path[64], line[256];
	size_t len = strlen(name);
	long v = -1;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, len) && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/*
 * proc_rss_anon_kb - RssAnon of @pid, or of the calling process if @pid is 0.
 * Context: any.
 * Return: RssAnon in KiB, or -1 (no such process, or no RssAnon line).
 */
static inline long proc_rss_anon_kb(pid_t pid)
{
	return proc_status_field(pid, "RssAnon");
}

#endif
