/* SPDX-License-Identifier: MIT */
/*
 * churn.h - the memory churn program: it rewrites a working set pass after
 * pass with a pattern that depends on the pass, and checks every page
 * before rewriting it, so that a page that a live migration or a snapshot
 * failed to carry over shows up as an error.
 */
#ifndef GUEST_CHURN_H
#define GUEST_CHURN_H

#include <stdint.h>

struct con;

#define CHURN_K_ADDR 0x9e3779b97f4a7c15ull
#define CHURN_K_PASS 0xc2b2ae3d27d4eb4full

/*
 * The 64-bit word at guest-physical address gpa (a multiple of 8) after
 * pass p: (gpa * CHURN_K_ADDR) ^ (p * CHURN_K_PASS) ^ p, modulo 2^64. The
 * address term tells pages apart, the pass term tells passes apart.
 */
static inline uint64_t churn_word(uint64_t p, uint64_t gpa)
{
	return (gpa * CHURN_K_ADDR) ^ (p * CHURN_K_PASS) ^ p;
}

/*
 * Churn [gpa, gpa + len) (gpa page-aligned, len a multiple of 64 KiB, all
 * identity-mapped, writable and used by nothing else) and report on the
 * console: a line saying where, one line for each of the first few bad
 * pages, and `churn: N passes, M errors` after the first pass, at most
 * every 100 ms after that, and at the end. Ends after `passes` passes (0:
 * never), or after the pass during which input brought a 0x04 byte.
 * @errors: set to the number of 64-bit words found wrong.
 * Return: 0, or the console's negative errno.
 */
int churn_run(struct con *c, uint64_t gpa, uint64_t len, uint64_t passes,
	      uint64_t *errors);

#endif /* GUEST_CHURN_H */
