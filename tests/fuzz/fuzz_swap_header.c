// SPDX-License-Identifier: MIT
/*
 * fuzz_swap_header.c - libFuzzer target for the SWAPSPACE2 header parser.
 *
 * Input: up to one header page (shorter inputs are zero-padded), optionally
 * followed by 8 bytes giving the device size (little endian; absent means
 * unknown). The parser must return 0 or one of its documented errors, and
 * whatever it accepts must be self-consistent and survive a rebuild and
 * re-parse unchanged; anything else aborts.
 *
 * Built three ways: as the fuzzer (-Dfuzz=true, clang), with
 * FUZZ_SEED_MAIN as the program that writes the seed corpus, and included
 * by tests/dev/test_header_corpus.c, which replays corrupted headers in the
 * normal test build.
 *
 * Owns: nothing. Locking: none (single-threaded).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/file.h"

int fuzz_swap_header_one(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void __attribute__((noreturn)) fuzz_die(const char *what)
{
	fprintf(stderr, "fuzz_swap_header: invariant broken: %s\n", what);
	abort();
}

static bool known_code(int ret)
{
	switch (ret) {
	case 0:
	case SWAP_HDR_NO_SIGNATURE:
	case SWAP_HDR_OLD_V0:
	case SWAP_HDR_BAD_VERSION:
	case SWAP_HDR_EMPTY:
	case SWAP_HDR_TOO_MANY_BAD:
	case SWAP_HDR_TOO_SHORT:
	case SWAP_HDR_BAD_PAGE_RANGE:
	case SWAP_HDR_DUP_BAD_PAGE:
		return true;
	default:
		return false;
	}
}

static void check_accepted(const struct swap_header_info *hdr, uint64_t dev_bytes)
{
	unsigned char page[SWAP_HEADER_SIZE];
	struct swap_header_info again;

	if (hdr->version != 1 || hdr->last_page == 0 || hdr->nr_badpages > SWAP_DEV_MAX_BAD)
		fuzz_die("accepted fields out of range");
	if (dev_bytes != SWAP_SIZE_UNKNOWN && hdr->last_page >= dev_bytes / SWAP_HEADER_SIZE)
		fuzz_die("accepted a header longer than the device");
	for (uint32_t i = 0; i < hdr->nr_badpages; i++) {
		if (hdr->badpages[i] == 0 || hdr->badpages[i] > hdr->last_page)
			fuzz_die("accepted a bad page out of range");
	}
	if (swap_header_dup_badpage(hdr))
		fuzz_die("accepted a bad page listed twice");
	if (memchr(hdr->label, '\0', sizeof(hdr->label)) == NULL)
		fuzz_die("label not terminated");
	if (swap_header_build(page, hdr) != 0)
		fuzz_die("an accepted header cannot be rebuilt");
	if (swap_header_parse(page, dev_bytes, &again) != 0)
		fuzz_die("a rebuilt header is rejected");
	if (again.foreign_endian || again.last_page != hdr->last_page ||
	    again.nr_badpages != hdr->nr_badpages ||
	    memcmp(again.badpages, hdr->badpages, hdr->nr_badpages * sizeof(uint32_t)) ||
	    memcmp(again.uuid, hdr->uuid, sizeof(hdr->uuid)) || strcmp(again.label, hdr->label))
		fuzz_die("a rebuilt header reads back differently");
}

/* Parse one input; abort on a broken invariant. Return: the parser's code. */
int fuzz_swap_header_one(const uint8_t *data, size_t size)
{
	unsigned char page[SWAP_HEADER_SIZE] = {0};
	uint64_t dev_bytes = SWAP_SIZE_UNKNOWN;
	struct swap_header_info hdr;
	int ret;

	memcpy(page, data, min(size, sizeof(page)));
	if (size >= sizeof(page) + 8) {
		dev_bytes = 0;
		for (int i = 7; i >= 0; i--)
			dev_bytes = dev_bytes << 8 | data[sizeof(page) + i];
	}
	ret = swap_header_parse(page, dev_bytes, &hdr);
	if (!known_code(ret))
		fuzz_die("unknown return code");
	if (!strcmp(swap_header_strerror(ret), swap_header_strerror(-123456)))
		fuzz_die("a return code without its own message");
	if (ret == 0)
		check_accepted(&hdr, dev_bytes);
	return ret;
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_swap_header_one(data, size);
	return 0;
}
#endif

#ifdef FUZZ_SEED_MAIN
/*
 * Seed corpus writer: fuzz_swap_header_seeds DIR writes DIR/valid (made by
 * swapfile_format), DIR/swapped (the same, other byte order) and
 * DIR/badpages (a header listing bad pages), each followed by its size.
 */
#include <unistd.h>

static int write_seed(const char *dir, const char *name, const unsigned char *page,
		      uint64_t dev_bytes)
{
	char path[4096];
	unsigned char size[8];
	FILE *fp;

	for (int i = 0; i < 8; i++)
		size[i] = (unsigned char)(dev_bytes >> (8 * i));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (!fp)
		return -1;
	fwrite(page, 1, SWAP_HEADER_SIZE, fp);
	fwrite(size, 1, sizeof(size), fp);
	return fclose(fp);
}

static void swap_u32_at(unsigned char *page, size_t off)
{
	uint32_t v;

	memcpy(&v, page + off, 4);
	v = __builtin_bswap32(v);
	memcpy(page + off, &v, 4);
}

int main(int argc, char **argv)
{
	const uint32_t bad[] = {1, 7, 63};
	unsigned char page[SWAP_HEADER_SIZE];
	struct swap_header_info hdr = {.last_page = 63, .nr_badpages = 3};
	char path[4096];
	FILE *fp;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/.seed.swap", argv[1]);
	ret = swapfile_format(path, 64 * SWAP_HEADER_SIZE, "seed", NULL, NULL, 0);
	fp = ret ? NULL : fopen(path, "rb");
	if (!fp || fread(page, 1, sizeof(page), fp) != sizeof(page)) {
		fprintf(stderr, "cannot format %s: %d\n", path, ret);
		return 1;
	}
	fclose(fp);
	unlink(path);
	ret = write_seed(argv[1], "valid", page, 64 * SWAP_HEADER_SIZE);
	swap_u32_at(page, 1024);
	swap_u32_at(page, 1028);
	swap_u32_at(page, 1032);
	ret |= write_seed(argv[1], "swapped", page, 64 * SWAP_HEADER_SIZE);
	memcpy(hdr.badpages, bad, sizeof(bad));
	strcpy(hdr.label, "badpages");
	ret |= swap_header_build(page, &hdr);
	ret |= write_seed(argv[1], "badpages", page, 64 * SWAP_HEADER_SIZE);
	return ret ? 1 : 0;
}
#endif
