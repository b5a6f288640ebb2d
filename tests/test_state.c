/* SPDX-License-Identifier: MIT */
/* Tests for minivmm/state.c: the byte buffers saved state travels in. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "../minivmm/state.h"
#include "sysmock.h"

static void test_state_integers_are_little_endian(void **state)
{
	static const uint8_t want[] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
					0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc,
					0xdd, 0xee, 0xff };
	struct state_buf b;

	(void)state;
	state_buf_init(&b);
	state_put_u8(&b, 0x11);
	state_put_u16(&b, 0x3322);
	state_put_u32(&b, 0x77665544);
	state_put_u64(&b, 0xffeeddccbbaa9988ull);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	state_buf_fini(&b);
}

static void test_state_reads_back_what_was_written(void **state)
{
	struct state_buf b;
	struct state_rd r;
	char text[6];

	(void)state;
	state_buf_init(&b);
	state_put_u16(&b, 0xbeef);
	state_put(&b, "hello", 6);
	state_put_u64(&b, 1ull << 63);
	state_rd_init(&r, b.data, b.len);
	assert_int_equal(state_get_u16(&r), 0xbeef);
	state_get(&r, text, sizeof(text));
	assert_string_equal(text, "hello");
	assert_true(state_get_u64(&r) == 1ull << 63);
	assert_int_equal(state_rd_end(&r), 0);
	state_buf_fini(&b);
}

static void test_state_grows_past_its_first_allocation(void **state)
{
	struct state_buf b;
	unsigned i;

	(void)state;
	state_buf_init(&b);
	for (i = 0; i < 10000; i++)
		state_put_u32(&b, i);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 40000);
	assert_int_equal(b.data[4 * 9999], 9999 & 0xff);
	state_buf_fini(&b);
}

static void test_state_failed_growth_sticks(void **state)
{
	struct state_buf b;

	(void)state;
	state_buf_init(&b);
	sysmock_fail(SYSMOCK_REALLOC, 0, ENOMEM);
	state_put_u8(&b, 1);
	assert_int_equal(b.err, -ENOMEM);
	assert_int_equal(b.len, 0);
	state_put_u8(&b, 2);
	assert_int_equal(b.len, 0);
	sysmock_reset();
	state_buf_fini(&b);
}

static void test_state_underrun_reads_zero_and_fails(void **state)
{
	static const uint8_t data[3] = { 1, 2, 3 };
	struct state_rd r;

	(void)state;
	state_rd_init(&r, data, sizeof(data));
	assert_int_equal(state_get_u16(&r), 0x0201);
	assert_int_equal(state_get_u32(&r), 0);
	assert_int_equal(r.err, -EBADMSG);
	/* Sticky: even a read that would fit fails now. */
	assert_int_equal(state_get_u8(&r), 0);
	assert_int_equal(state_rd_end(&r), -EBADMSG);
}

static void test_state_end_refuses_unread_bytes(void **state)
{
	static const uint8_t data[2] = { 1, 2 };
	struct state_rd r;

	(void)state;
	state_rd_init(&r, data, sizeof(data));
	state_get_u8(&r);
	assert_int_equal(state_rd_end(&r), -EBADMSG);
}

static void test_state_fail_marks_a_value_out_of_bounds(void **state)
{
	static const uint8_t data[1] = { 9 };
	struct state_rd r;

	(void)state;
	state_rd_init(&r, data, sizeof(data));
	state_get_u8(&r);
	state_rd_fail(&r);
	assert_int_equal(state_rd_end(&r), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_integers_are_little_endian),
		cmocka_unit_test(test_state_reads_back_what_was_written),
		cmocka_unit_test(test_state_grows_past_its_first_allocation),
		cmocka_unit_test(test_state_failed_growth_sticks),
		cmocka_unit_test(test_state_underrun_reads_zero_and_fails),
		cmocka_unit_test(test_state_end_refuses_unread_bytes),
		cmocka_unit_test(test_state_fail_marks_a_value_out_of_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
