/* SPDX-License-Identifier: MIT */
/*
 * Tests for vmmem/slice.h: taking a slice from a set, sub-slicing, bounds
 * checked reads and writes, read-only regions and dirty marking.
 *
 * The fixture is one set of three regions:
 *   A [0x00000, 0x01000)  not tracked
 *   B [0x01000, 0x03000)  dirty-tracked (two pages), adjacent to A
 *   C [0x10000, 0x11000)  read-only
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/dirty.h>
#include <vmmem/memory.h>
#include <vmmem/region.h>
#include <vmmem/slice.h>

#include "fixture.h"

#define A_GPA 0x00000ull
#define B_GPA 0x01000ull
#define B_LEN 0x2000u
#define C_GPA 0x10000ull

struct fixture {
	struct vmmem *mem;
	struct vmmem_region *r[3];
};

static int setup(void **state)
{
	static const struct fixture_region spec[3] = {
		{ A_GPA, 0x1000, 0 },
		{ B_GPA, B_LEN, VMMEM_REGION_DIRTY_LOG },
		{ C_GPA, 0x1000, VMMEM_REGION_READONLY },
	};
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (fixture_mem_create(spec, 3, f->r, &f->mem)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmmem_destroy(f->mem);
	fixture_regions_destroy(f->r, 3);
	free(f);
	return 0;
}

/* The slice covering all of B. */
static struct vmmem_slice slice_b(struct fixture *f)
{
	struct vmmem_slice s;

	assert_int_equal(vmmem_get_slice(f->mem, B_GPA, B_LEN, &s), 0);
	return s;
}

/* ---- vmmem_get_slice ---------------------------------------------- */

static void test_slice_get_covers_range_in_one_region(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s;

	assert_int_equal(vmmem_get_slice(f->mem, B_GPA + 0x100, 0x200, &s), 0);
	assert_ptr_equal(s.hva, (char *)vmmem_region_hva(f->r[1]) + 0x100);
	assert_int_equal(s.len, 0x200);
}

static void test_slice_get_accepts_whole_region(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s = slice_b(f);

	assert_ptr_equal(s.hva, vmmem_region_hva(f->r[1]));
	assert_int_equal(s.len, B_LEN);
}

static void test_slice_get_rejects_range_crossing_regions(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s;

	assert_int_equal(vmmem_get_slice(f->mem, B_GPA - 0x100, 0x200, &s),
			 -EXDEV);
	assert_int_equal(vmmem_get_slice(f->mem, A_GPA, 0x1001, &s), -EXDEV);
}

static void test_slice_get_rejects_unbacked_range(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s;

	assert_int_equal(
		vmmem_get_slice(f->mem, B_GPA + B_LEN - 0x100, 0x200, &s),
		-EFAULT);
	assert_int_equal(vmmem_get_slice(f->mem, 0x8000, 1, &s), -EFAULT);
	assert_int_equal(vmmem_get_slice(f->mem, C_GPA - 1, 2, &s), -EFAULT);
}

static void test_slice_get_rejects_zero_length(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s;

	assert_int_equal(vmmem_get_slice(f->mem, B_GPA, 0, &s), -EINVAL);
}

static void test_slice_get_rejects_null_arguments(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s;

	assert_int_equal(vmmem_get_slice(f->mem, B_GPA, 1, NULL), -EINVAL);
	assert_int_equal(vmmem_get_slice(NULL, B_GPA, 1, &s), -EINVAL);
}

static void test_slice_get_rejects_wrapping_range(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s;

	assert_int_equal(vmmem_get_slice(f->mem, UINT64_MAX - 1, 4, &s),
			 -EOVERFLOW);
	assert_int_equal(vmmem_get_slice(f->mem, B_GPA, UINT64_MAX, &s),
			 -EOVERFLOW);
}

/* ---- vmmem_slice_sub ---------------------------------------------- */

static void test_slice_sub_narrows_window(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s = slice_b(f), sub;

	assert_int_equal(vmmem_slice_sub(&s, 0x10, 0x20, &sub), 0);
	assert_ptr_equal(sub.hva, (char *)s.hva + 0x10);
	assert_int_equal(sub.len, 0x20);
}

static void test_slice_sub_accepts_whole_slice(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s = slice_b(f), sub;

	assert_int_equal(vmmem_slice_sub(&s, 0, s.len, &sub), 0);
	assert_ptr_equal(sub.hva, s.hva);
	assert_int_equal(sub.len, s.len);
}

static void test_slice_sub_accepts_empty_slice_at_end(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s = slice_b(f), sub;

	assert_int_equal(vmmem_slice_sub(&s, s.len, 0, &sub), 0);
	assert_int_equal(sub.len, 0);
}

static void test_slice_sub_rejects_window_past_end(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s = slice_b(f), sub;

	assert_int_equal(vmmem_slice_sub(&s, s.len - 1, 2, &sub), -EFAULT);
	assert_int_equal(vmmem_slice_sub(&s, 0, s.len + 1, &sub), -EFAULT);
	assert_int_equal(vmmem_slice_sub(&s, s.len + 1, 0, &sub), -EFAULT);
}

static void test_slice_sub_rejects_wrapping_window(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s = slice_b(f), sub;

	assert_int_equal(vmmem_slice_sub(&s, SIZE_MAX, 2, &sub), -EOVERFLOW);
	assert_int_equal(vmmem_slice_sub(&s, 2, SIZE_MAX, &sub), -EOVERFLOW);
}

static void test_slice_sub_may_overwrite_its_source(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s = slice_b(f);
	void *hva = s.hva;

	assert_int_equal(vmmem_slice_sub(&s, 0x100, 0x10, &s), 0);
	assert_ptr_equal(s.hva, (char *)hva + 0x100);
	assert_int_equal(s.len, 0x10);
}

static void test_slice_sub_of_sub_reaches_right_guest_bytes(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s = slice_b(f), sub, subsub;
	char buf[4];

	assert_int_equal(vmmem_slice_sub(&s, 0x800, 0x100, &sub), 0);
	assert_int_equal(vmmem_slice_sub(&sub, 0x20, 0x10, &subsub), 0);
	assert_int_equal(vmmem_slice_write(&subsub, 0xc, "nest", 4), 0);
	assert_int_equal(vmmem_read(f->mem, B_GPA + 0x82c, buf, 4), 0);
	assert_memory_equal(buf, "nest", 4);
	assert_int_equal(vmmem_slice_write(&subsub, 0xd, "nest", 4), -EFAULT);
}

/* ---- read and write ----------------------------------------------- */

static void test_slice_write_then_read_round_trips(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s;
	char buf[6];

	assert_int_equal(vmmem_get_slice(f->mem, B_GPA + 0x400, 0x100, &s), 0);
	assert_int_equal(vmmem_slice_write(&s, 0xfa, "slices", 6), 0);
	assert_int_equal(vmmem_slice_read(&s, 0xfa, buf, 6), 0);
	assert_memory_equal(buf, "slices", 6);
	assert_int_equal(vmmem_read(f->mem, B_GPA + 0x4fa, buf, 6), 0);
	assert_memory_equal(buf, "slices", 6);
}

static void test_slice_read_sees_guest_writes(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s;
	char buf[5];

	assert_int_equal(vmmem_write(f->mem, A_GPA + 0x10, "guest", 5), 0);
	assert_int_equal(vmmem_get_slice(f->mem, A_GPA, 0x1000, &s), 0);
	assert_int_equal(vmmem_slice_read(&s, 0x10, buf, 5), 0);
	assert_memory_equal(buf, "guest", 5);
}

static void test_slice_read_rejects_bytes_past_end(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s;
	char buf[4] = { 'k', 'e', 'e', 'p' };

	assert_int_equal(vmmem_get_slice(f->mem, B_GPA, 0x100, &s), 0);
	assert_int_equal(vmmem_slice_read(&s, 0xfe, buf, 4), -EFAULT);
	assert_memory_equal(buf, "keep", 4);
}

static void test_slice_write_rejects_bytes_past_end(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s;
	char zero[4] = { 0 }, buf[4];

	assert_int_equal(vmmem_get_slice(f->mem, B_GPA, 0x100, &s), 0);
	assert_int_equal(vmmem_slice_write(&s, 0xfe, "oops", 4), -EFAULT);
	assert_int_equal(vmmem_read(f->mem, B_GPA + 0xfe, buf, 4), 0);
	assert_memory_equal(buf, zero, 4);
	assert_int_equal(vmmem_dirty_test(f->mem, B_GPA, B_LEN), 0);
}

static void test_slice_read_and_write_reject_wrapping_offsets(void **s)
{
	struct fixture *f = *s;
	struct vmmem_slice sl = slice_b(f);
	char buf[4];

	assert_int_equal(vmmem_slice_read(&sl, SIZE_MAX, buf, 2), -EOVERFLOW);
	assert_int_equal(vmmem_slice_write(&sl, SIZE_MAX - 1, buf, 4),
			 -EOVERFLOW);
}

static void test_slice_read_and_write_of_zero_length_succeed(void **s)
{
	struct fixture *f = *s;
	struct vmmem_slice sl = slice_b(f);
	char buf[1] = { 'x' };

	assert_int_equal(vmmem_slice_read(&sl, sl.len, buf, 0), 0);
	assert_int_equal(vmmem_slice_write(&sl, sl.len, buf, 0), 0);
	assert_int_equal(vmmem_slice_write(&sl, 0, buf, 0), 0);
	assert_int_equal(buf[0], 'x');
	assert_int_equal(vmmem_dirty_test(f->mem, B_GPA, B_LEN), 0);
}

static void test_slice_of_readonly_region_can_be_read(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s;
	char zero[8] = { 0 }, buf[8];

	assert_int_equal(vmmem_get_slice(f->mem, C_GPA, 0x1000, &s), 0);
	assert_int_equal(vmmem_slice_read(&s, 0x10, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, zero, sizeof(buf));
}

static void test_slice_write_on_readonly_region_is_refused(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s;
	char zero[4] = { 0 }, buf[4];

	assert_int_equal(vmmem_get_slice(f->mem, C_GPA, 0x1000, &s), 0);
	assert_int_equal(vmmem_slice_write(&s, 0, "nope", 4), -EACCES);
	assert_int_equal(vmmem_read(f->mem, C_GPA, buf, 4), 0);
	assert_memory_equal(buf, zero, 4);
}

static void test_slice_copy_is_usable(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s = slice_b(f), copy;
	char buf[4];

	copy = s;
	assert_int_equal(vmmem_slice_write(&copy, 0x20, "copy", 4), 0);
	assert_int_equal(vmmem_slice_read(&s, 0x20, buf, 4), 0);
	assert_memory_equal(buf, "copy", 4);
	assert_int_equal(vmmem_dirty_test(f->mem, B_GPA, 1), 1);
}

/* ---- dirty marking ------------------------------------------------ */

static void test_slice_write_marks_pages_written(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s = slice_b(f);

	assert_int_equal(vmmem_slice_write(&s, 0xffe, "page", 4), 0);
	assert_int_equal(vmmem_region_dirty_test(f->r[1], 0, 1), 1);
	assert_int_equal(vmmem_region_dirty_test(f->r[1], 0x1000, 1), 1);
}

static void test_slice_write_through_sub_slice_marks_its_page(void **s)
{
	struct fixture *f = *s;
	struct vmmem_slice sl = slice_b(f), sub;

	assert_int_equal(vmmem_slice_sub(&sl, 0x1000, 0x10, &sub), 0);
	assert_int_equal(vmmem_slice_write(&sub, 0, "sub", 3), 0);
	assert_int_equal(vmmem_region_dirty_test(f->r[1], 0, 0x1000), 0);
	assert_int_equal(vmmem_region_dirty_test(f->r[1], 0x1000, 0x1000), 1);
}

static void test_slice_mark_dirty_marks_pointer_writes(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s;

	assert_int_equal(vmmem_get_slice(f->mem, B_GPA + 0x1800, 0x100, &s), 0);
	memset(s.hva, 0x5a, s.len);
	assert_int_equal(vmmem_dirty_test(f->mem, B_GPA, B_LEN), 0);
	assert_int_equal(vmmem_slice_mark_dirty(&s, 0x80, 0x10), 0);
	assert_int_equal(vmmem_region_dirty_test(f->r[1], 0, 0x1000), 0);
	assert_int_equal(vmmem_region_dirty_test(f->r[1], 0x1000, 0x1000), 1);
}

static void test_slice_mark_dirty_on_untracked_region_does_nothing(void **s)
{
	struct fixture *f = *s;
	struct vmmem_slice sl;

	assert_int_equal(vmmem_get_slice(f->mem, A_GPA, 0x1000, &sl), 0);
	assert_int_equal(vmmem_slice_mark_dirty(&sl, 0, 0x1000), 0);
	assert_int_equal(vmmem_dirty_test(f->mem, B_GPA, B_LEN), 0);
}

static void test_slice_mark_dirty_rejects_bytes_past_end(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s;

	assert_int_equal(vmmem_get_slice(f->mem, B_GPA, 0x1000, &s), 0);
	assert_int_equal(vmmem_slice_mark_dirty(&s, 0xfff, 2), -EFAULT);
	assert_int_equal(vmmem_slice_mark_dirty(&s, SIZE_MAX, 2), -EOVERFLOW);
	assert_int_equal(vmmem_dirty_test(f->mem, B_GPA, B_LEN), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* On a 32-bit host a slice cannot be longer than size_t: refused, not cut
 * to the low 32 bits of the length. */
static void test_slice_get_rejects_len_beyond_host_size(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s = { 0 };

	FIXTURE_SKIP_ON_64BIT();
	assert_int_equal(vmmem_get_slice(f->mem, B_GPA, FIXTURE_TOO_LONG, &s),
			 -EOVERFLOW);
	assert_int_equal(
		vmmem_get_slice(f->mem, B_GPA, FIXTURE_TOO_LONG + 0x10, &s),
		-EOVERFLOW);
	assert_null(s.hva);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_slice_get_covers_range_in_one_region),
		T(test_slice_get_accepts_whole_region),
		T(test_slice_get_rejects_range_crossing_regions),
		T(test_slice_get_rejects_unbacked_range),
		T(test_slice_get_rejects_zero_length),
		T(test_slice_get_rejects_null_arguments),
		T(test_slice_get_rejects_wrapping_range),
		T(test_slice_sub_narrows_window),
		T(test_slice_sub_accepts_whole_slice),
		T(test_slice_sub_accepts_empty_slice_at_end),
		T(test_slice_sub_rejects_window_past_end),
		T(test_slice_sub_rejects_wrapping_window),
		T(test_slice_sub_may_overwrite_its_source),
		T(test_slice_sub_of_sub_reaches_right_guest_bytes),
		T(test_slice_write_then_read_round_trips),
		T(test_slice_read_sees_guest_writes),
		T(test_slice_read_rejects_bytes_past_end),
		T(test_slice_write_rejects_bytes_past_end),
		T(test_slice_read_and_write_reject_wrapping_offsets),
		T(test_slice_read_and_write_of_zero_length_succeed),
		T(test_slice_of_readonly_region_can_be_read),
		T(test_slice_write_on_readonly_region_is_refused),
		T(test_slice_copy_is_usable),
		T(test_slice_write_marks_pages_written),
		T(test_slice_write_through_sub_slice_marks_its_page),
		T(test_slice_mark_dirty_marks_pointer_writes),
		T(test_slice_mark_dirty_on_untracked_region_does_nothing),
		T(test_slice_mark_dirty_rejects_bytes_past_end),
		T(test_slice_get_rejects_len_beyond_host_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
