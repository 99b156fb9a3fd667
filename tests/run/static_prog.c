// SPDX-License-Identifier: MIT
/*
 * static_prog.c - a program linked with -static, for `uswap run` to refuse:
 * the paging agent is loaded by the dynamic loader, which a static program
 * never runs.
 *
 * Owns: nothing. Locking: none.
 */
#include <stdio.h>

int main(void)
{
	puts("static_prog: ran (uswap run should have refused me)");
	return 0;
}
