/* SPDX-License-Identifier: MIT */
/*
 * The usage examples of the vm-memory crate's README, in C: a device that
 * reads and writes guest memory through the memory set only, whatever the
 * regions behind it look like.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>

/* A device's I/O: five bytes written across the boundary at 0x1000. */
static void device_io(struct vmmem *mem)
{
	static const uint8_t sample[5] = { 1, 2, 3, 4, 5 };
	uint8_t buf[5] = { 0 };

	assert_int_equal(vmmem_write(mem, 0xffc, sample, sizeof(sample)), 0);
	assert_int_equal(vmmem_read(mem, 0xffc, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, sample, sizeof(sample));
}

static void test_examples_device_writes_across_two_regions(void **state)
{
	static const struct vmmem_range ranges[] = {
		{ 0x0, 0x1000 },
		{ 0x1000, 0x1000 },
	};
	struct vmmem *mem = NULL;

	(void)state;
	assert_int_equal(vmmem_create_anon(ranges, 2, 0, &mem), 0);
	device_io(mem);
	vmmem_destroy(mem);
}

static void test_examples_write_lands_in_both_regions(void **state)
{
	static const struct vmmem_range ranges[] = {
		{ 0x0, 0x1000 },
		{ 0x1000, 0x1000 },
	};
	static const uint8_t sample[5] = { 1, 2, 3, 4, 5 };
	struct vmmem *mem = NULL;
	const uint8_t *lo, *hi;

	(void)state;
	assert_int_equal(vmmem_create_anon(ranges, 2, 0, &mem), 0);
	assert_int_equal(vmmem_write(mem, 0xffc, sample, sizeof(sample)), 0);
	lo = vmmem_region_hva(vmmem_region_at(mem, 0));
	hi = vmmem_region_hva(vmmem_region_at(mem, 1));
	assert_memory_equal(lo + 0xffc, sample, 4);
	assert_int_equal(hi[0], 5);
	vmmem_destroy(mem);
}

static void test_examples_object_crosses_explicit_regions(void **state)
{
	struct vmmem_region *regions[2] = { NULL, NULL };
	struct vmmem *mem = NULL;
	uint64_t value = 0x0123456789abcdefull, back = 0;

	(void)state;
	assert_int_equal(vmmem_region_create_anon(0x0, 0x1000, 0, &regions[0]),
			 0);
	assert_int_equal(
		vmmem_region_create_anon(0x1000, 0x1000, 0, &regions[1]), 0);
	assert_int_equal(vmmem_create(regions, 2, &mem), 0);
	/* The set holds its own references; the builder's can go at once. */
	vmmem_region_destroy(regions[0]);
	vmmem_region_destroy(regions[1]);

	device_io(mem);
	assert_int_equal(vmmem_write_obj(mem, 0xffc, &value), 0);
	assert_int_equal(vmmem_read_obj(mem, 0xffc, &back), 0);
	assert_true(back == value);
	vmmem_destroy(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_examples_device_writes_across_two_regions),
		cmocka_unit_test(test_examples_write_lands_in_both_regions),
		cmocka_unit_test(test_examples_object_crosses_explicit_regions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
