/* SPDX-License-Identifier: MIT */
/*
 * Tests for vmmem/addr.h: checked guest-physical address arithmetic, with
 * the edges of the 64-bit space and the "output untouched on failure" rule.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include <vmmem/addr.h>

/* What the tests pre-load into an output to see that a failure left it. */
#define UNTOUCHED 0x5eed5eed5eed5eedull

static void test_addr_max_is_the_highest_64_bit_value(void **state)
{
	(void)state;
	assert_true(VMMEM_GPA_MAX == UINT64_MAX);
	assert_int_equal(sizeof(vmmem_gpa_t), 8);
}

static void test_addr_add_adds_length(void **state)
{
	vmmem_gpa_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_add(0x1000, 0x234, &out), 0);
	assert_true(out == 0x1234);
}

static void test_addr_add_of_zero_keeps_address(void **state)
{
	vmmem_gpa_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_add(0, 0, &out), 0);
	assert_true(out == 0);
	assert_int_equal(vmmem_gpa_add(UINT64_MAX, 0, &out), 0);
	assert_true(out == UINT64_MAX);
}

static void test_addr_add_reaches_max_without_overflow(void **state)
{
	vmmem_gpa_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_add(UINT64_MAX - 1, 1, &out), 0);
	assert_true(out == UINT64_MAX);
	out = UNTOUCHED;
	assert_int_equal(vmmem_gpa_add(0, UINT64_MAX, &out), 0);
	assert_true(out == UINT64_MAX);
}

static void test_addr_add_rejects_wrap_past_max(void **state)
{
	vmmem_gpa_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_add(UINT64_MAX, 1, &out), -EOVERFLOW);
	assert_true(out == UNTOUCHED);
	assert_int_equal(vmmem_gpa_add(1, UINT64_MAX, &out), -EOVERFLOW);
	assert_true(out == UNTOUCHED);
	assert_int_equal(vmmem_gpa_add(UINT64_MAX, UINT64_MAX, &out),
			 -EOVERFLOW);
	assert_true(out == UNTOUCHED);
	assert_int_equal(vmmem_gpa_add(1ull << 63, 1ull << 63, &out),
			 -EOVERFLOW);
	assert_true(out == UNTOUCHED);
}

static void test_addr_sub_subtracts_length(void **state)
{
	vmmem_gpa_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_sub(0x1234, 0x234, &out), 0);
	assert_true(out == 0x1000);
}

static void test_addr_sub_reaches_zero(void **state)
{
	vmmem_gpa_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_sub(5, 5, &out), 0);
	assert_true(out == 0);
	out = UNTOUCHED;
	assert_int_equal(vmmem_gpa_sub(UINT64_MAX, UINT64_MAX, &out), 0);
	assert_true(out == 0);
	out = UNTOUCHED;
	assert_int_equal(vmmem_gpa_sub(0, 0, &out), 0);
	assert_true(out == 0);
}

static void test_addr_sub_rejects_going_below_zero(void **state)
{
	vmmem_gpa_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_sub(0, 1, &out), -EOVERFLOW);
	assert_true(out == UNTOUCHED);
	assert_int_equal(vmmem_gpa_sub(0x1000, 0x1001, &out), -EOVERFLOW);
	assert_true(out == UNTOUCHED);
	assert_int_equal(vmmem_gpa_sub(UINT64_MAX - 1, UINT64_MAX, &out),
			 -EOVERFLOW);
	assert_true(out == UNTOUCHED);
}

static void test_addr_offset_from_measures_distance_from_base(void **state)
{
	uint64_t off = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_offset_from(0x1234, 0x1000, &off), 0);
	assert_true(off == 0x234);
	assert_int_equal(vmmem_gpa_offset_from(UINT64_MAX, 0, &off), 0);
	assert_true(off == UINT64_MAX);
}

static void test_addr_offset_from_base_itself_is_zero(void **state)
{
	uint64_t off = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_offset_from(0x1000, 0x1000, &off), 0);
	assert_true(off == 0);
}

static void test_addr_offset_from_rejects_address_below_base(void **state)
{
	uint64_t off = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_offset_from(0xfff, 0x1000, &off),
			 -EOVERFLOW);
	assert_true(off == UNTOUCHED);
	assert_int_equal(vmmem_gpa_offset_from(0, UINT64_MAX, &off),
			 -EOVERFLOW);
	assert_true(off == UNTOUCHED);
}

static void test_addr_last_of_one_byte_range_is_its_start(void **state)
{
	vmmem_gpa_t last = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_last(0x1000, 1, &last), 0);
	assert_true(last == 0x1000);
	assert_int_equal(vmmem_gpa_last(0, 1, &last), 0);
	assert_true(last == 0);
}

static void test_addr_last_is_start_plus_length_minus_one(void **state)
{
	vmmem_gpa_t last = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_last(0x1000, 0x1000, &last), 0);
	assert_true(last == 0x1fff);
	assert_int_equal(vmmem_gpa_last(3, 5, &last), 0);
	assert_true(last == 7);
}

static void test_addr_last_accepts_range_ending_on_max(void **state)
{
	vmmem_gpa_t last = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_last(UINT64_MAX, 1, &last), 0);
	assert_true(last == UINT64_MAX);
	last = UNTOUCHED;
	assert_int_equal(vmmem_gpa_last(UINT64_MAX - 0xfff, 0x1000, &last), 0);
	assert_true(last == UINT64_MAX);
	last = UNTOUCHED;
	assert_int_equal(vmmem_gpa_last(1, UINT64_MAX, &last), 0);
	assert_true(last == UINT64_MAX);
}

static void test_addr_last_of_whole_length_from_zero(void **state)
{
	vmmem_gpa_t last = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_last(0, UINT64_MAX, &last), 0);
	assert_true(last == UINT64_MAX - 1);
}

static void test_addr_last_rejects_zero_length(void **state)
{
	vmmem_gpa_t last = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_last(0x1000, 0, &last), -EINVAL);
	assert_true(last == UNTOUCHED);
	assert_int_equal(vmmem_gpa_last(0, 0, &last), -EINVAL);
	assert_true(last == UNTOUCHED);
	assert_int_equal(vmmem_gpa_last(UINT64_MAX, 0, &last), -EINVAL);
	assert_true(last == UNTOUCHED);
}

static void test_addr_last_rejects_range_running_past_max(void **state)
{
	vmmem_gpa_t last = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_last(UINT64_MAX, 2, &last), -EOVERFLOW);
	assert_true(last == UNTOUCHED);
	assert_int_equal(vmmem_gpa_last(UINT64_MAX - 0xfff, 0x1001, &last),
			 -EOVERFLOW);
	assert_true(last == UNTOUCHED);
	assert_int_equal(vmmem_gpa_last(2, UINT64_MAX, &last), -EOVERFLOW);
	assert_true(last == UNTOUCHED);
}

static void test_addr_align_up_rounds_up_to_boundary(void **state)
{
	vmmem_gpa_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_align_up(0x1001, 0x1000, &out), 0);
	assert_true(out == 0x2000);
	assert_int_equal(vmmem_gpa_align_up(1, 8, &out), 0);
	assert_true(out == 8);
	assert_int_equal(vmmem_gpa_align_up(0x1fff, 0x1000, &out), 0);
	assert_true(out == 0x2000);
}

static void test_addr_align_up_keeps_aligned_address(void **state)
{
	vmmem_gpa_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_align_up(0x2000, 0x1000, &out), 0);
	assert_true(out == 0x2000);
	assert_int_equal(vmmem_gpa_align_up(0, 0x1000, &out), 0);
	assert_true(out == 0);
}

static void test_addr_align_up_to_one_is_identity(void **state)
{
	vmmem_gpa_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_align_up(0x1235, 1, &out), 0);
	assert_true(out == 0x1235);
	assert_int_equal(vmmem_gpa_align_up(UINT64_MAX, 1, &out), 0);
	assert_true(out == UINT64_MAX);
}

static void test_addr_align_up_accepts_aligned_address_at_top(void **state)
{
	vmmem_gpa_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_align_up(UINT64_MAX - 0xffff, 0x10000, &out),
			 0);
	assert_true(out == UINT64_MAX - 0xffff);
}

static void test_addr_align_up_accepts_largest_power_of_two(void **state)
{
	vmmem_gpa_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_align_up(1, 1ull << 63, &out), 0);
	assert_true(out == 1ull << 63);
	assert_int_equal(vmmem_gpa_align_up(0, 1ull << 63, &out), 0);
	assert_true(out == 0);
}

static void test_addr_align_up_rejects_result_past_max(void **state)
{
	vmmem_gpa_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_align_up(UINT64_MAX - 0x3fff, 0x10000, &out),
			 -EOVERFLOW);
	assert_true(out == UNTOUCHED);
	assert_int_equal(vmmem_gpa_align_up(UINT64_MAX, 2, &out), -EOVERFLOW);
	assert_true(out == UNTOUCHED);
	assert_int_equal(vmmem_gpa_align_up((1ull << 63) + 1, 1ull << 63, &out),
			 -EOVERFLOW);
	assert_true(out == UNTOUCHED);
}

static void test_addr_align_up_rejects_zero_alignment(void **state)
{
	vmmem_gpa_t out = UNTOUCHED;

	(void)state;
	assert_int_equal(vmmem_gpa_align_up(0x1000, 0, &out), -EINVAL);
	assert_true(out == UNTOUCHED);
	assert_int_equal(vmmem_gpa_align_up(0, 0, &out), -EINVAL);
	assert_true(out == UNTOUCHED);
}

static void test_addr_align_up_rejects_non_power_of_two(void **state)
{
	static const uint64_t bad[] = { 3,	12,	    0x1001,
					0x3000, UINT64_MAX, (1ull << 63) + 1 };
	vmmem_gpa_t out = UNTOUCHED;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vmmem_gpa_align_up(0x1000, bad[i], &out),
				 -EINVAL);
		assert_true(out == UNTOUCHED);
	}
}

static void test_addr_is_aligned_accepts_multiples(void **state)
{
	(void)state;
	assert_int_equal(vmmem_gpa_is_aligned(0x2000, 0x1000), 1);
	assert_int_equal(vmmem_gpa_is_aligned(0x2000, 1), 1);
	assert_int_equal(vmmem_gpa_is_aligned(0x18, 8), 1);
	assert_int_equal(vmmem_gpa_is_aligned(UINT64_MAX, 1), 1);
	assert_int_equal(vmmem_gpa_is_aligned(1ull << 63, 1ull << 63), 1);
	assert_int_equal(vmmem_gpa_is_aligned(UINT64_MAX - 0xfff, 0x1000), 1);
}

static void test_addr_is_aligned_accepts_zero_address(void **state)
{
	(void)state;
	assert_int_equal(vmmem_gpa_is_aligned(0, 1), 1);
	assert_int_equal(vmmem_gpa_is_aligned(0, 0x1000), 1);
	assert_int_equal(vmmem_gpa_is_aligned(0, 1ull << 63), 1);
}

static void test_addr_is_aligned_rejects_non_multiples(void **state)
{
	(void)state;
	assert_int_equal(vmmem_gpa_is_aligned(0x2001, 0x1000), 0);
	assert_int_equal(vmmem_gpa_is_aligned(0x1c, 8), 0);
	assert_int_equal(vmmem_gpa_is_aligned(UINT64_MAX, 2), 0);
	assert_int_equal(vmmem_gpa_is_aligned(1ull << 62, 1ull << 63), 0);
}

static void test_addr_is_aligned_rejects_zero_alignment(void **state)
{
	(void)state;
	assert_int_equal(vmmem_gpa_is_aligned(0, 0), 0);
	assert_int_equal(vmmem_gpa_is_aligned(0x1000, 0), 0);
}

static void test_addr_is_aligned_rejects_non_power_of_two(void **state)
{
	(void)state;
	/* 24 is a multiple of 12, but 12 is not a valid alignment. */
	assert_int_equal(vmmem_gpa_is_aligned(24, 12), 0);
	assert_int_equal(vmmem_gpa_is_aligned(0, 12), 0);
	assert_int_equal(vmmem_gpa_is_aligned(0x3000, 0x3000), 0);
	assert_int_equal(vmmem_gpa_is_aligned(0, UINT64_MAX), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_max_is_the_highest_64_bit_value),
		cmocka_unit_test(test_addr_add_adds_length),
		cmocka_unit_test(test_addr_add_of_zero_keeps_address),
		cmocka_unit_test(test_addr_add_reaches_max_without_overflow),
		cmocka_unit_test(test_addr_add_rejects_wrap_past_max),
		cmocka_unit_test(test_addr_sub_subtracts_length),
		cmocka_unit_test(test_addr_sub_reaches_zero),
		cmocka_unit_test(test_addr_sub_rejects_going_below_zero),
		cmocka_unit_test(
			test_addr_offset_from_measures_distance_from_base),
		cmocka_unit_test(test_addr_offset_from_base_itself_is_zero),
		cmocka_unit_test(
			test_addr_offset_from_rejects_address_below_base),
		cmocka_unit_test(test_addr_last_of_one_byte_range_is_its_start),
		cmocka_unit_test(test_addr_last_is_start_plus_length_minus_one),
		cmocka_unit_test(test_addr_last_accepts_range_ending_on_max),
		cmocka_unit_test(test_addr_last_of_whole_length_from_zero),
		cmocka_unit_test(test_addr_last_rejects_zero_length),
		cmocka_unit_test(test_addr_last_rejects_range_running_past_max),
		cmocka_unit_test(test_addr_align_up_rounds_up_to_boundary),
		cmocka_unit_test(test_addr_align_up_keeps_aligned_address),
		cmocka_unit_test(test_addr_align_up_to_one_is_identity),
		cmocka_unit_test(
			test_addr_align_up_accepts_aligned_address_at_top),
		cmocka_unit_test(
			test_addr_align_up_accepts_largest_power_of_two),
		cmocka_unit_test(test_addr_align_up_rejects_result_past_max),
		cmocka_unit_test(test_addr_align_up_rejects_zero_alignment),
		cmocka_unit_test(test_addr_align_up_rejects_non_power_of_two),
		cmocka_unit_test(test_addr_is_aligned_accepts_multiples),
		cmocka_unit_test(test_addr_is_aligned_accepts_zero_address),
		cmocka_unit_test(test_addr_is_aligned_rejects_non_multiples),
		cmocka_unit_test(test_addr_is_aligned_rejects_zero_alignment),
		cmocka_unit_test(test_addr_is_aligned_rejects_non_power_of_two),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
