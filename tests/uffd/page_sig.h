/* SPDX-License-Identifier: MIT */
/*
 * page_sig.h - the page signature test_pager, test_fork and agent_workload
 * write into paged memory and check after it comes back: owner, the page's
 * own address and version in the first three words, then every eighth word
 * a mix of address and version with zeros between (so the page still
 * compresses, as program data does, yet a page put back at the wrong
 * address, from the wrong owner or at a stale version fails the check).
 *
 * Owns: nothing. Locking: none (pure functions of their arguments).
 */
#ifndef USWAP_TESTS_UFFD_PAGE_SIG_H
#define USWAP_TESTS_UFFD_PAGE_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_SIG_BYTES 4096UL

static inline uint64_t page_sig_word(size_t i, uint64_t addr, uint64_t version)
{
	return (i % 8) ? 0 : (addr ^ version ^ (i * 0x9e3779b97f4a7c15ULL));
}

/* sig_write - write the signature of (@owner, @version) into @page. Context: any. */
static inline void sig_write(char *page, uint64_t owner, uint64_t version)
{
	uint64_t *w = (uint64_t *)page, addr = (uint64_t)(uintptr_t)page;

	w[0] = owner;
	w[1] = addr;
	w[2] = version;
	for (size_t i = 3; i < PAGE_SIG_BYTES / 8; i++)
		w[i] = page_sig_word(i, addr, version);
}

/* sig_check - Return: whether @page holds exactly what sig_write() wrote. Context: any. */
static inline bool sig_check(const char *page, uint64_t owner, uint64_t version)
{
	const uint64_t *w = (const uint64_t *)page;
	uint64_t addr = (uint64_t)(uintptr_t)page;

	if (w[0] != owner || w[1] != addr || w[2] != version)
		return false;
	for (size_t i = 3; i < PAGE_SIG_BYTES / 8; i++)
		if (w[i] != page_sig_word(i, addr, version))
			return false;
	return true;
}

#endif /* USWAP_TESTS_UFFD_PAGE_SIG_H */
