/* SPDX-License-Identifier: MIT */
/*
 * churn.c - the memory churn program. Pass p writes every 64-bit word of
 * the working set with churn_word(p, gpa), in blocks of pages visited in
 * an order that changes from pass to pass, after checking that each page
 * still holds what pass p - 1 wrote there. A page whose last write was lost (a dirty
 * page a migration did not copy, a snapshot that missed it) holds an older
 * pass's pattern, or zeros, and every wrong word in it is counted.
 */
#include "churn.h"
#include "console.h"
#include "lib.h"

#define PAGE_SIZE 4096u
#define PAGE_WORDS (PAGE_SIZE / 8)
/*
 * Pages are visited in blocks of 64 KiB, in sequence inside a block: a
 * scattered order of single pages runs at half the speed (no prefetching
 * across pages, more TLB misses), blocks cost nothing measurable.
 */
#define BLOCK_PAGES 16
#define BLOCK_SIZE (BLOCK_PAGES * PAGE_SIZE)
/* From one word to the next, the address term grows by this much. */
#define WORD_STEP (8 * CHURN_K_ADDR)
/* Bad pages described in full; after that they are only counted. */
#define REPORT_PAGES 8
/* At most one progress line per this many milliseconds, plus the last. */
#define PROGRESS_MS 100
#define EOT 0x04

struct churn {
	struct con *con;
	uint64_t blocks;
	uint64_t pass;	   /* the pass being run */
	uint64_t errors;   /* wrong words so far */
	unsigned reported; /* bad pages described */
};

/* The part of churn_word() that depends on the pass. */
static uint64_t pass_term(uint64_t p)
{
	return (p * CHURN_K_PASS) ^ p;
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	uint64_t t;

	while (b) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/*
 * The order of pass p: block (start + k * stride) mod blocks for k = 0, 1,
 * ..., blocks - 1, which visits every block once because the stride is
 * coprime with the block count. Both change from pass to pass, so that
 * the pages dirtied in any stretch of time lie all over the working set
 * rather than in one sweep.
 */
static void pass_order(uint64_t p, uint64_t blocks, uint64_t *start,
		       uint64_t *stride)
{
	uint64_t h = (p + 1) * CHURN_K_ADDR, s;

	*start = (h >> 32) % blocks;
	if (blocks <= 2) {
		*stride = 1 % blocks;
		return;
	}
	s = 1 + (h >> 8) % (blocks - 1);
	while (gcd(s, blocks) != 1)
		s = s % (blocks - 1) + 1;
	*stride = s;
}

/* Count and, for the first few pages, describe what is wrong in a page. */
static void report_page(struct churn *ch, const uint64_t *w, uint64_t gpa,
			uint64_t old)
{
	uint64_t m = gpa * CHURN_K_ADDR, bad = 0, at = 0, want = 0, got = 0;
	unsigned i;

	for (i = 0; i < PAGE_WORDS; i++, m += WORD_STEP) {
		if (w[i] == (m ^ old))
			continue;
		if (!bad++) {
			at = gpa + 8 * i;
			want = m ^ old;
			got = w[i];
		}
	}
	ch->errors += bad;
	if (ch->reported >= REPORT_PAGES)
		return;
	con_printf(ch->con,
		   "churn: pass %lu, page 0x%lx: %lu bad words, first at "
		   "0x%lx: expected 0x%016lx, found 0x%016lx\n",
		   ch->pass, gpa, bad, at, want, got);
	if (++ch->reported == REPORT_PAGES)
		con_puts(ch->con, "churn: further bad pages are only "
				  "counted\n");
}

/*
 * Check the page at gpa against pass_term(old) (when check is set), then
 * rewrite it with pass_term(new). The check only folds differences
 * together, so that a good page costs a load, two XORs and an OR a word;
 * a bad page is then read again to describe it.
 */
static void churn_page(struct churn *ch, uint64_t gpa, uint64_t old,
		       uint64_t new, bool check)
{
	/* The working set is identity-mapped: the address is the pointer. */
	uint64_t *w = (uint64_t *)(uintptr_t)gpa;
	uint64_t m, diff = 0;
	unsigned i;

	if (check) {
		m = gpa * CHURN_K_ADDR;
		for (i = 0; i < PAGE_WORDS; i++, m += WORD_STEP)
			diff |= w[i] ^ m ^ old;
		if (diff)
			report_page(ch, w, gpa, old);
	}
	m = gpa * CHURN_K_ADDR;
	for (i = 0; i < PAGE_WORDS; i++, m += WORD_STEP)
		w[i] = m ^ new;
}

/*
 * Whether input has brought a 0x04 byte; other input is dropped. Reads at
 * most one receive buffer's worth per call, so that a stream of input
 * cannot hold up the churn.
 */
static int eot_seen(struct con *c, bool *seen)
{
	static uint8_t buf[CON_RX_BUF_SIZE];
	size_t got;
	int ret;

	ret = con_try_read(c, buf, sizeof(buf), &got);
	if (ret)
		return ret;
	*seen = memchr(buf, EOT, got) != NULL;
	return 0;
}

static int progress(struct churn *ch)
{
	con_printf(ch->con, "churn: %lu passes, %lu errors\n", ch->pass,
		   ch->errors);
	return con_flush(ch->con);
}

int churn_run(struct con *c, uint64_t gpa, uint64_t len, uint64_t passes,
	      uint64_t *errors)
{
	struct churn ch = { .con = c, .blocks = len / BLOCK_SIZE };
	uint64_t interval = tsc_hz() / 1000 * PROGRESS_MS;
	uint64_t start, stride, idx, k, last, now, old, new, at;
	unsigned i;
	bool stop = false;
	int ret;

	con_printf(c, "churn: %lu MiB at 0x%lx\n", len >> 20, gpa);
	ret = con_flush(c);
	if (ret)
		return ret;
	last = rdtsc();
	while (!stop) {
		pass_order(ch.pass, ch.blocks, &start, &stride);
		old = pass_term(ch.pass - 1);
		new = pass_term(ch.pass);
		idx = start;
		for (k = 0; k < ch.blocks; k++) {
			at = gpa + idx * BLOCK_SIZE;
			for (i = 0; i < BLOCK_PAGES; i++, at += PAGE_SIZE)
				churn_page(&ch, at, old, new, ch.pass > 0);
			/* idx, stride < blocks: no wrap. */
			idx += stride;
			if (idx >= ch.blocks)
				idx -= ch.blocks;
		}
		ch.pass++;
		ret = eot_seen(c, &stop);
		if (ret)
			return ret;
		if (passes && ch.pass == passes)
			stop = true;
		now = rdtsc();
		/* Unsigned: a TSC that went back (a restored snapshot)
		 * makes a line due at once. */
		if (ch.pass == 1 || stop || now - last >= interval) {
			ret = progress(&ch);
			if (ret)
				return ret;
			last = now;
		}
	}
	*errors = ch.errors;
	return 0;
}
