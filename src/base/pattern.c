// SPDX-License-Identifier: MIT
/*
 * pattern.c - checkable page contents (pattern.h): a generator that yields
 * a pattern's words one by one, so that filling and checking share it and a
 * check needs no second buffer.
 *
 * Owns: nothing. Locking: none.
 */
#include "pattern.h"

#include <string.h>

#include "random.h"

/* Sixteen 8-byte words: one random nibble picks each word of a text pattern. */
static const char vocabulary[16][9] = {
	"swap in ", "swapout ", "folio   ", "cluster ", "table   ", "entry   ",
	"cache   ", "shadow  ", "count   ", "order   ", "fault   ", "reclaim ",
	"budget  ", "page    ", "zram    ", "lz4,    ",
};

struct pattern_gen {
	enum pattern_kind kind;
	uint64_t state; /* random.h stream */
	uint64_t bits;	/* text: nibbles not yet used */
	unsigned left;	/* text: how many */
};

static void pattern_start(struct pattern_gen *g, enum pattern_kind kind, uint64_t key,
			  uint64_t version)
{
	g->kind = kind;
	g->state = random_mix64(key + RANDOM_GOLDEN * (version + 1));
	g->left = 0;
}

/* The pattern's word @i (called for i = 0, 1, 2, ... in turn). */
static uint64_t pattern_word(struct pattern_gen *g, size_t i, uint64_t key, uint64_t version)
{
	uint64_t w;

	if (i == 0)
		return key;
	if (i == 1)
		return version;
	if (g->kind == PATTERN_RANDOM)
		return random_next(&g->state);
	if (!g->left) {
		g->bits = random_next(&g->state);
		g->left = 16;
	}
	memcpy(&w, vocabulary[g->bits & 15], sizeof(w));
	g->bits >>= 4;
	g->left--;
	return w;
}

void pattern_fill(void *buf, size_t len, enum pattern_kind kind, uint64_t key, uint64_t version)
{
	uint64_t *w = buf;
	struct pattern_gen g;

	pattern_start(&g, kind, key, version);
	for (size_t i = 0; i < len / 8; i++)
		w[i] = pattern_word(&g, i, key, version);
}

bool pattern_check(const void *buf, size_t len, enum pattern_kind kind, uint64_t key,
		   uint64_t version)
{
	const uint64_t *w = buf;
	struct pattern_gen g;

	pattern_start(&g, kind, key, version);
	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != pattern_word(&g, i, key, version))
			return false;
	return true;
}
