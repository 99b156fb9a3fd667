/* SPDX-License-Identifier: MIT */
/*
 * pattern.h - checkable page contents for tests, benchmarks and the CLI:
 * one way to write "the data of object @key at @version" into memory and to
 * tell later whether memory still holds exactly that.
 *
 * Word 0 of a pattern is @key and word 1 is @version, so a mismatch can name
 * what was found instead; the words after them come from a random.h stream
 * started from both, so two different (key, version) pairs differ nearly
 * everywhere and a page that was mixed up, shifted or partly zeroed fails
 * the check. Two kinds:
 *   PATTERN_RANDOM  random words: does not compress (the worst case);
 *   PATTERN_TEXT    8-byte words from a 16-word vocabulary: compresses
 *                   about 2.5x with LZ4 (5x with zstd), as program data often does.
 *
 * Not part of libuswap: a separate static library (pattern_dep in meson)
 * for the programs that exercise it.
 *
 * Owns: nothing. Locking: none (pure functions of their arguments).
 */
#ifndef USWAP_BASE_PATTERN_H
#define USWAP_BASE_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pattern_kind {
	PATTERN_RANDOM,
	PATTERN_TEXT,
};

/*
 * pattern_fill - write the @kind pattern of (@key, @version) into the @len
 * bytes at @buf (@len a multiple of 8; 8-byte aligned). Context: any.
 */
void pattern_fill(void *buf, size_t len, enum pattern_kind kind, uint64_t key, uint64_t version);

/*
 * pattern_check - Return: whether the @len bytes at @buf hold exactly what
 * pattern_fill() with the same arguments writes. Context: any.
 */
bool pattern_check(const void *buf, size_t len, enum pattern_kind kind, uint64_t key,
		   uint64_t version);

#endif /* USWAP_BASE_PATTERN_H */
