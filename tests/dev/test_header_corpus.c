// SPDX-License-Identifier: MIT
/*
 * test_header_corpus.c - the fuzz target's checks, replayed over a fixed
 * set of corrupted headers in the normal test build: every byte of the
 * fields and signature set to edge values, random mutations from fixed
 * seeds (and from the run's seed), and truncated inputs. Each parser
 * outcome must be reached, and no input may break an invariant (that
 * aborts the program).
 *
 * Owns: nothing. Locking: single-threaded.
 */
#define FUZZ_NO_ENTRY
#include "../fuzz/fuzz_swap_header.c"

#include "test.h"

#define INPUT_SIZE (SWAP_HEADER_SIZE + 8)

/* Outcome tallies, indexed by position in outcomes[]. */
static const int outcomes[] = {0,
			       SWAP_HDR_NO_SIGNATURE,
			       SWAP_HDR_OLD_V0,
			       SWAP_HDR_BAD_VERSION,
			       SWAP_HDR_EMPTY,
			       SWAP_HDR_TOO_MANY_BAD,
			       SWAP_HDR_TOO_SHORT,
			       SWAP_HDR_BAD_PAGE_RANGE,
			       SWAP_HDR_DUP_BAD_PAGE};
static unsigned long seen[ARRAY_SIZE(outcomes)];

static void feed(const uint8_t *in, size_t size)
{
	int ret = fuzz_swap_header_one(in, size);

	for (unsigned i = 0; i < ARRAY_SIZE(outcomes); i++)
		if (outcomes[i] == ret)
			seen[i]++;
}

static void set_size(uint8_t *in, uint64_t bytes)
{
	for (int i = 0; i < 8; i++)
		in[SWAP_HEADER_SIZE + i] = (uint8_t)(bytes >> (8 * i));
}

static void swap_u32_at(uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, 4);
	v = __builtin_bswap32(v);
	memcpy(p + off, &v, 4);
}

/* The two base inputs: native and other-endian, 4 bad pages, 100 pages. */
static void base_input(uint8_t *in, bool swapped)
{
	struct swap_header_info hdr = {.last_page = 99, .nr_badpages = 4};

	for (unsigned i = 0; i < 4; i++)
		hdr.badpages[i] = 10 * (i + 1);
	strcpy(hdr.label, "corpus");
	memset(hdr.uuid, 0x5a, sizeof(hdr.uuid));
	if (swap_header_build(in, &hdr))
		test_fail(__FILE__, __LINE__, "swap_header_build");
	set_size(in, 100 * SWAP_HEADER_SIZE);
	if (swapped) {
		swap_u32_at(in, 1024);
		swap_u32_at(in, 1028);
		swap_u32_at(in, 1032);
		for (unsigned i = 0; i < 4; i++)
			swap_u32_at(in, 1536 + 4 * i);
	}
}

TEST(corpus_base_inputs_parse)
{
	uint8_t in[INPUT_SIZE];

	base_input(in, false);
	CHECK_EQ(fuzz_swap_header_one(in, sizeof(in)), 0);
	base_input(in, true);
	CHECK_EQ(fuzz_swap_header_one(in, sizeof(in)), 0);
}

TEST(corpus_every_field_byte_at_edge_values)
{
	static const uint8_t values[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xfe, 0xff};
	uint8_t in[INPUT_SIZE], orig;

	for (int swapped = 0; swapped < 2; swapped++) {
		for (size_t off = 1016; off < 1560; off++) {
			for (unsigned v = 0; v < ARRAY_SIZE(values); v++) {
				base_input(in, swapped);
				orig = in[off];
				in[off] = values[v];
				feed(in, sizeof(in));
				in[off] = orig ^ values[v];
				feed(in, sizeof(in));
			}
		}
		for (size_t off = SWAP_HEADER_SIZE - 12; off < SWAP_HEADER_SIZE; off++) {
			base_input(in, swapped);
			in[off] ^= 0x20;
			feed(in, sizeof(in));
		}
	}
}

TEST(corpus_duplicate_bad_page)
{
	uint8_t in[INPUT_SIZE];

	for (int swapped = 0; swapped < 2; swapped++) {
		base_input(in, swapped);
		memcpy(in + 1536 + 12, in + 1536, 4); /* 10, 20, 30, 10 */
		CHECK_EQ(fuzz_swap_header_one(in, sizeof(in)), SWAP_HDR_DUP_BAD_PAGE);
		feed(in, sizeof(in));
	}
}

TEST(corpus_device_sizes)
{
	const uint64_t sizes[] = {0,
				  1,
				  SWAP_HEADER_SIZE,
				  99 * SWAP_HEADER_SIZE,
				  100 * SWAP_HEADER_SIZE - 1,
				  100 * SWAP_HEADER_SIZE,
				  UINT64_MAX - 1};
	uint8_t in[INPUT_SIZE];

	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		base_input(in, i & 1);
		set_size(in, sizes[i]);
		feed(in, sizeof(in));
	}
	for (size_t len = 0; len <= INPUT_SIZE; len += len < 16 ? 1 : 509) {
		base_input(in, false);
		feed(in, len);
	}
}

TEST(corpus_signatures)
{
	uint8_t in[INPUT_SIZE];

	base_input(in, false);
	memcpy(in + SWAP_HEADER_SIZE - 10, "SWAP-SPACE", 10);
	CHECK_EQ(fuzz_swap_header_one(in, sizeof(in)), SWAP_HDR_OLD_V0);
	feed(in, sizeof(in));
	memcpy(in + SWAP_HEADER_SIZE - 10, "SWAPSPACE1", 10);
	CHECK_EQ(fuzz_swap_header_one(in, sizeof(in)), SWAP_HDR_NO_SIGNATURE);
}

static void random_mutations(uint64_t seed, int rounds)
{
	uint8_t in[INPUT_SIZE];
	uint64_t s = seed;

	for (int r = 0; r < rounds; r++) {
		int flips = 1 + (int)(t_rand(&s) % 8);

		base_input(in, t_rand(&s) & 1);
		while (flips--) {
			/* Mostly the fields and bad-page list, sometimes anywhere. */
			size_t off = t_rand(&s) % 4 ? 1024 + t_rand(&s) % 560
						    : t_rand(&s) % SWAP_HEADER_SIZE;

			in[off] ^= (uint8_t)(1u << (t_rand(&s) % 8));
			if (t_rand(&s) % 16 == 0)
				in[off] = (uint8_t)t_rand(&s);
		}
		feed(in, sizeof(in));
	}
}

TEST(corpus_random_mutations_fixed_seeds)
{
	for (uint64_t seed = 1; seed <= 8; seed++)
		random_mutations(seed, 2000);
}

TEST(corpus_random_mutations_run_seed)
{
	random_mutations(test_seed, 5000);
}

/* Runs last: every parser outcome was reached by the inputs above. */
TEST(corpus_reaches_every_outcome)
{
	unsigned long total = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(outcomes); i++)
		total += seen[i];
	if (!total) { /* run alone (-t): replay the fixed inputs first */
		test_corpus_every_field_byte_at_edge_values();
		test_corpus_device_sizes();
		test_corpus_signatures();
		test_corpus_random_mutations_fixed_seeds();
	}
	for (unsigned i = 0; i < ARRAY_SIZE(outcomes); i++) {
		printf("# %-60s %lu\n", swap_header_strerror(outcomes[i]), seen[i]);
		if (!seen[i])
			test_fail(__FILE__, __LINE__, "outcome %d never reached", outcomes[i]);
	}
}
