/* SPDX-License-Identifier: MIT */
/*
 * Tests for term_filter() (minivmm/term.h): the Ctrl-A escapes on console
 * input. Ctrl-A x (or X) quits, Ctrl-A Ctrl-A sends one Ctrl-A, and Ctrl-A
 * followed by anything else sends both bytes. The escape state carries over
 * from one call to the next.
 *
 * Output buffers are allocated with exactly n + 1 bytes, the room the
 * header promises to be enough, so that a sanitizer build catches a filter
 * that writes more.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../minivmm/term.h"

#define CTRL_A 0x01

struct fixture {
	struct term_esc esc;
	bool quit;
	uint8_t *out; /* the output of the last filter() call */
	size_t len;   /* its length */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->out);
	free(f);
	return 0;
}

/* Filter n bytes of in into a fresh buffer of n + 1 bytes. */
static void filter(struct fixture *f, const void *in, size_t n)
{
	free(f->out);
	f->out = malloc(n + 1);
	assert_non_null(f->out);
	f->len = term_filter(&f->esc, in, n, f->out, &f->quit);
	assert_true(f->len <= n + 1);
}

/* The last call produced exactly the len bytes of expect. */
static void assert_out(struct fixture *f, const void *expect, size_t len)
{
	assert_int_equal(f->len, len);
	if (len)
		assert_memory_equal(f->out, expect, len);
}

static void test_term_passes_plain_bytes_unchanged(void **state)
{
	struct fixture *f = *state;
	const uint8_t in[] = { 'l', 's', '\r', 0x00, 0x03, 0x1b, 0x7f, 0xff };

	filter(f, in, sizeof(in));
	assert_out(f, in, sizeof(in));
	assert_false(f->quit);
	assert_false(f->esc.pending);
}

static void test_term_empty_input_gives_empty_output(void **state)
{
	struct fixture *f = *state;

	filter(f, "", 0);
	assert_out(f, "", 0);
	assert_false(f->quit);
}

static void test_term_ctrl_a_x_quits(void **state)
{
	struct fixture *f = *state;

	filter(f, "\x01x", 2);
	assert_true(f->quit);
	assert_out(f, "", 0);
}

static void test_term_ctrl_a_capital_x_quits(void **state)
{
	struct fixture *f = *state;

	filter(f, "\x01X", 2);
	assert_true(f->quit);
	assert_out(f, "", 0);
}

static void test_term_quit_keeps_bytes_before_escape(void **state)
{
	struct fixture *f = *state;

	filter(f, "ab\x01xcd", 6);
	assert_true(f->quit);
	assert_out(f, "ab", 2);
}

static void test_term_quit_drops_bytes_after_escape(void **state)
{
	struct fixture *f = *state;

	/* Not even a second escape after the quit comes out. */
	filter(f, "a\x01xbc\x01\x01", 7);
	assert_true(f->quit);
	assert_out(f, "a", 1);
}

static void test_term_x_without_ctrl_a_is_plain(void **state)
{
	struct fixture *f = *state;

	filter(f, "xX", 2);
	assert_false(f->quit);
	assert_out(f, "xX", 2);
}

static void test_term_ctrl_a_ctrl_a_sends_one_ctrl_a(void **state)
{
	struct fixture *f = *state;

	filter(f, "a\x01\x01z", 4);
	assert_false(f->quit);
	assert_out(f, "a\x01z", 3);
	assert_false(f->esc.pending);
}

static void test_term_escaped_ctrl_a_does_not_start_an_escape(void **state)
{
	struct fixture *f = *state;

	/* Ctrl-A Ctrl-A is a literal Ctrl-A; the x after it is plain. */
	filter(f, "\x01\x01x", 3);
	assert_false(f->quit);
	assert_out(f, "\x01x", 2);
}

static void test_term_three_ctrl_a_then_x_quits(void **state)
{
	struct fixture *f = *state;

	filter(f, "\x01\x01\x01x", 4);
	assert_true(f->quit);
	assert_out(f, "\x01", 1);
}

static void test_term_ctrl_a_then_other_byte_passes_both(void **state)
{
	struct fixture *f = *state;

	filter(f,
	       "\x01"
	       "c",
	       2);
	assert_false(f->quit);
	assert_out(f,
		   "\x01"
		   "c",
		   2);
}

static void test_term_ctrl_a_then_nul_passes_both(void **state)
{
	struct fixture *f = *state;
	const uint8_t in[2] = { CTRL_A, 0 };

	filter(f, in, 2);
	assert_false(f->quit);
	assert_out(f, in, 2);
}

static void test_term_ctrl_a_at_end_of_input_is_held_back(void **state)
{
	struct fixture *f = *state;

	filter(f, "ab\x01", 3);
	assert_false(f->quit);
	assert_out(f, "ab", 2);
	assert_true(f->esc.pending);
}

static void test_term_held_ctrl_a_and_next_x_quit(void **state)
{
	struct fixture *f = *state;

	filter(f, "a\x01", 2);
	filter(f, "xb", 2);
	assert_true(f->quit);
	assert_out(f, "", 0);
}

static void test_term_held_ctrl_a_and_next_ctrl_a_send_one(void **state)
{
	struct fixture *f = *state;

	filter(f, "\x01", 1);
	filter(f, "\x01q", 2);
	assert_false(f->quit);
	assert_out(f, "\x01q", 2);
}

static void test_term_held_ctrl_a_comes_out_before_next_byte(void **state)
{
	struct fixture *f = *state;

	filter(f, "\x01", 1);
	filter(f, "bc", 2);
	assert_false(f->quit);
	assert_out(f,
		   "\x01"
		   "bc",
		   3);
	assert_false(f->esc.pending);
}

static void test_term_held_ctrl_a_survives_empty_input(void **state)
{
	struct fixture *f = *state;

	filter(f, "\x01", 1);
	filter(f, "", 0);
	assert_true(f->esc.pending);
	filter(f, "x", 1);
	assert_true(f->quit);
}

static void test_term_worst_case_output_is_n_plus_one(void **state)
{
	struct fixture *f = *state;

	/* A held Ctrl-A, then n bytes that each come out. */
	filter(f, "\x01", 1);
	filter(f, "abcdefgh", 8);
	assert_out(f,
		   "\x01"
		   "abcdefgh",
		   9);
}

/* Every input of up to 6 bytes over { Ctrl-A, 'x', 'a' }, from either
 * state: never more than n + 1 bytes out (the buffer is exactly that). */
static void test_term_output_never_exceeds_n_plus_one(void **state)
{
	struct fixture *f = *state;
	static const uint8_t alphabet[3] = { CTRL_A, 'x', 'a' };
	uint8_t in[6];
	unsigned n, code, total, i, c, pending;

	for (n = 0; n <= sizeof(in); n++) {
		for (total = 1, i = 0; i < n; i++)
			total *= 3;
		for (pending = 0; pending < 2; pending++) {
			for (code = 0; code < total; code++) {
				for (c = code, i = 0; i < n; i++, c /= 3)
					in[i] = alphabet[c % 3];
				f->esc.pending = pending;
				f->quit = false;
				filter(f, in, n);
			}
		}
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_term_passes_plain_bytes_unchanged),
		T(test_term_empty_input_gives_empty_output),
		T(test_term_ctrl_a_x_quits),
		T(test_term_ctrl_a_capital_x_quits),
		T(test_term_quit_keeps_bytes_before_escape),
		T(test_term_quit_drops_bytes_after_escape),
		T(test_term_x_without_ctrl_a_is_plain),
		T(test_term_ctrl_a_ctrl_a_sends_one_ctrl_a),
		T(test_term_escaped_ctrl_a_does_not_start_an_escape),
		T(test_term_three_ctrl_a_then_x_quits),
		T(test_term_ctrl_a_then_other_byte_passes_both),
		T(test_term_ctrl_a_then_nul_passes_both),
		T(test_term_ctrl_a_at_end_of_input_is_held_back),
		T(test_term_held_ctrl_a_and_next_x_quit),
		T(test_term_held_ctrl_a_and_next_ctrl_a_send_one),
		T(test_term_held_ctrl_a_comes_out_before_next_byte),
		T(test_term_held_ctrl_a_survives_empty_input),
		T(test_term_worst_case_output_is_n_plus_one),
		T(test_term_output_never_exceeds_n_plus_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
