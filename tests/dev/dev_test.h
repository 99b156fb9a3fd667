/* SPDX-License-Identifier: MIT */
/*
 * dev_test.h - helpers shared by the device tests: page contents of every
 * kind a swap device meets, scratch swap files, and one-folio swap-out /
 * swap-in through the engine.
 *
 * Owns: nothing. Locking: callers' (each helper touches only what it gets).
 */
#ifndef USWAP_TESTS_DEV_TEST_H
#define USWAP_TESTS_DEV_TEST_H

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "dev/dev.h"

enum page_kind {
	PAGE_RANDOM, /* t_fill pattern: incompressible, checkable by tag */
	PAGE_ZERO,   /* all zero */
	PAGE_SAME,   /* one non-zero 8-byte word repeated */
	PAGE_TEXT,   /* text-like (PATTERN_TEXT), compresses ~2.5x with LZ4 */
	PAGE_SPARSE, /* mostly zero with a few words set: compresses very well */
	PAGE_HALF,   /* half random, half zero */
	NR_PAGE_KINDS
};

/* A private 1 GiB arena for a backend under test; exits if there is none. */
static inline struct arena *t_arena(void)
{
	struct arena *a;

	if (arena_create(&a, 1UL << 30, false)) {
		test_fail(__FILE__, __LINE__, "arena_create");
		exit(1);
	}
	return a;
}

/* Fill @page with @kind content derived from @tag (same tag, same page). */
static inline void t_fill_kind(void *page, enum page_kind kind, uint64_t tag)
{
	uint64_t s = random_stream(tag, 7), *w = page;
	char *c = page;

	switch (kind) {
	case PAGE_RANDOM:
		t_fill(page, tag);
		break;
	case PAGE_ZERO:
		memset(page, 0, PAGE_SIZE);
		break;
	case PAGE_SAME:
		for (size_t i = 0; i < PAGE_SIZE / 8; i++)
			w[i] = tag | 1;
		break;
	case PAGE_TEXT:
		pattern_fill(page, PAGE_SIZE, PATTERN_TEXT, tag, 0);
		break;
	case PAGE_SPARSE:
		memset(page, 0, PAGE_SIZE);
		for (int i = 0; i < 8; i++)
			w[t_rand(&s) % (PAGE_SIZE / 8)] = t_rand(&s);
		w[0] = tag | 1;
		break;
	case PAGE_HALF:
		t_fill(page, tag);
		memset(c + PAGE_SIZE / 2, 0, PAGE_SIZE / 2);
		break;
	default:
		break;
	}
}

static inline bool t_check_kind(const void *page, enum page_kind kind, uint64_t tag)
{
	_Alignas(64) unsigned char want[PAGE_SIZE];

	t_fill_kind(want, kind, tag);
	return memcmp(want, page, PAGE_SIZE) == 0;
}

/* A scratch file name on the real disk (not tmpfs), unique per process. */
static inline void t_tmpname(char *buf, size_t len, const char *what)
{
	snprintf(buf, len, "/var/tmp/uswap-test-%d-%s", (int)getpid(), what);
}

/* Whether a regular file has a hole anywhere (by allocated size). */
static inline bool t_file_fully_allocated(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return false;
	return (uint64_t)st.st_blocks * 512 >= (uint64_t)st.st_size;
}

#endif /* USWAP_TESTS_DEV_TEST_H */
