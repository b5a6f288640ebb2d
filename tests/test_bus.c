/* SPDX-License-Identifier: MIT */
/*
 * Tests for minivmm/bus.h: registering port-I/O and MMIO ranges and
 * dispatching accesses to the device that claims them.
 *
 * The test device records the last access it saw (offset, length, data,
 * and for a read the buffer's contents when the callback started) and
 * answers reads with `reply_len` bytes of `reply`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../minivmm/bus.h"

#define DEV_BASE 0x1000ull
#define DEV_LEN 0x100ull
#define STALE 0xcc /* what read buffers hold before a read */

struct dev {
	unsigned reads, writes;
	uint64_t off;
	unsigned len;
	uint8_t data[8]; /* written bytes, or the read buffer on entry */
	uint8_t reply[8];
	unsigned reply_len; /* bytes of reply a read stores */
};

struct fixture {
	struct bus bus;
	struct dev a, b;
};

static void dev_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct dev *d = opaque;

	d->reads++;
	d->off = off;
	d->len = len;
	memcpy(d->data, data, len);
	memcpy(data, d->reply, d->reply_len < len ? d->reply_len : len);
}

static void dev_write(void *opaque, uint64_t off, const void *data,
		      unsigned len)
{
	struct dev *d = opaque;

	d->writes++;
	d->off = off;
	d->len = len;
	memcpy(d->data, data, len);
}

static const struct bus_ops dev_ops = {
	.read = dev_read,
	.write = dev_write,
};

static const struct bus_ops null_ops = { 0 };

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	/* Garbage first, so that a bus_init() that forgot a field shows. */
	memset(&f->bus, 0x5a, sizeof(f->bus));
	bus_init(&f->bus);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* The fixture's bus with device a at [DEV_BASE, DEV_BASE + DEV_LEN). */
static int setup_dev(void **state)
{
	struct fixture *f;

	if (setup(state))
		return -1;
	f = *state;
	if (bus_register(&f->bus, DEV_BASE, DEV_LEN, &dev_ops, &f->a)) {
		teardown(state);
		return -1;
	}
	return 0;
}

/* ---- bus_init() and bus_register() ---- */

static void test_bus_init_leaves_no_range_claimed(void **state)
{
	struct fixture *f = *state;
	uint8_t data[4];

	assert_int_equal(bus_read(&f->bus, 0, data, sizeof(data)), -ENOENT);
	assert_int_equal(bus_write(&f->bus, 0x5a5a5a5a5a5a5a5aull, data, 4),
			 -ENOENT);
}

static void test_bus_register_accepts_a_free_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		bus_register(&f->bus, DEV_BASE, DEV_LEN, &dev_ops, &f->a), 0);
}

static void test_bus_register_rejects_zero_length(void **state)
{
	struct fixture *f = *state;

	/* At 0, where a zero length taken as "up to base - 1" would claim
	 * the whole space instead of wrapping. */
	assert_int_equal(bus_register(&f->bus, 0, 0, &dev_ops, &f->a), -EINVAL);
	assert_int_equal(bus_register(&f->bus, DEV_BASE, 0, &dev_ops, &f->a),
			 -EINVAL);
}

static void test_bus_register_rejects_range_that_wraps(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		bus_register(&f->bus, UINT64_MAX - 1, 3, &dev_ops, &f->a),
		-EINVAL);
}

static void test_bus_register_rejects_null_ops(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(bus_register(&f->bus, DEV_BASE, DEV_LEN, NULL, &f->a),
			 -EINVAL);
}

static void test_bus_register_accepts_range_ending_at_top_of_space(void **state)
{
	struct fixture *f = *state;
	uint8_t data[2] = { 0x12, 0x34 };

	assert_int_equal(
		bus_register(&f->bus, UINT64_MAX - 1, 2, &dev_ops, &f->a), 0);
	assert_int_equal(bus_write(&f->bus, UINT64_MAX - 1, data, 2), 0);
	assert_int_equal(f->a.writes, 1);
	assert_int_equal(f->a.off, 0);
}

static void test_bus_register_rejects_identical_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		bus_register(&f->bus, DEV_BASE, DEV_LEN, &dev_ops, &f->b),
		-EEXIST);
}

static void test_bus_register_rejects_range_covering_first_byte(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		bus_register(&f->bus, DEV_BASE - 0x10, 0x11, &dev_ops, &f->b),
		-EEXIST);
}

static void test_bus_register_rejects_range_covering_last_byte(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(bus_register(&f->bus, DEV_BASE + DEV_LEN - 1, 0x10,
				      &dev_ops, &f->b),
			 -EEXIST);
}

static void test_bus_register_rejects_range_inside_another(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		bus_register(&f->bus, DEV_BASE + 0x10, 1, &dev_ops, &f->b),
		-EEXIST);
}

static void test_bus_register_rejects_range_around_another(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		bus_register(&f->bus, 0, DEV_BASE * 4, &dev_ops, &f->b),
		-EEXIST);
}

static void test_bus_register_accepts_range_adjacent_below(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		bus_register(&f->bus, DEV_BASE - 0x10, 0x10, &dev_ops, &f->b),
		0);
}

static void test_bus_register_accepts_range_adjacent_above(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(bus_register(&f->bus, DEV_BASE + DEV_LEN, 0x10,
				      &dev_ops, &f->b),
			 0);
}

static void test_bus_register_rejects_range_when_table_is_full(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	for (i = 0; i < BUS_MAX_RANGES; i++)
		assert_int_equal(
			bus_register(&f->bus, i * 0x10, 0x10, &dev_ops, &f->a),
			0);
	assert_int_equal(bus_register(&f->bus, 0x10000, 0x10, &dev_ops, &f->a),
			 -ENOSPC);
}

static void test_bus_register_rejected_range_takes_no_slot(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	assert_int_equal(bus_register(&f->bus, 0, 0x10, &dev_ops, &f->a), 0);
	for (i = 0; i < BUS_MAX_RANGES; i++) {
		assert_int_equal(
			bus_register(&f->bus, 0, 0x10, &dev_ops, &f->a),
			-EEXIST);
		assert_int_equal(
			bus_register(&f->bus, 0x100, 0, &dev_ops, &f->a),
			-EINVAL);
	}
	for (i = 1; i < BUS_MAX_RANGES; i++)
		assert_int_equal(
			bus_register(&f->bus, i * 0x10, 0x10, &dev_ops, &f->a),
			0);
}

/* ---- Dispatch ---- */

static void test_bus_write_passes_offset_data_and_length(void **state)
{
	struct fixture *f = *state;
	const uint8_t data[4] = { 0x11, 0x22, 0x33, 0x44 };

	assert_int_equal(bus_write(&f->bus, DEV_BASE + 0x24, data, 4), 0);
	assert_int_equal(f->a.writes, 1);
	assert_int_equal(f->a.reads, 0);
	assert_int_equal(f->a.off, 0x24);
	assert_int_equal(f->a.len, 4);
	assert_memory_equal(f->a.data, data, 4);
}

static void test_bus_read_passes_offset_and_returns_device_data(void **state)
{
	struct fixture *f = *state;
	const uint8_t reply[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t data[8];

	memcpy(f->a.reply, reply, 8);
	f->a.reply_len = 8;
	assert_int_equal(bus_read(&f->bus, DEV_BASE + 0x08, data, 8), 0);
	assert_int_equal(f->a.reads, 1);
	assert_int_equal(f->a.writes, 0);
	assert_int_equal(f->a.off, 0x08);
	assert_int_equal(f->a.len, 8);
	assert_memory_equal(data, reply, 8);
}

static void test_bus_passes_opaque_of_the_claiming_range(void **state)
{
	struct fixture *f = *state;
	const uint8_t data[1] = { 0x77 };

	assert_int_equal(bus_register(&f->bus, DEV_BASE + DEV_LEN, 0x10,
				      &dev_ops, &f->b),
			 0);
	assert_int_equal(bus_write(&f->bus, DEV_BASE + DEV_LEN + 3, data, 1),
			 0);
	assert_int_equal(f->a.writes, 0);
	assert_int_equal(f->b.writes, 1);
	assert_int_equal(f->b.off, 3);
}

static void test_bus_dispatches_first_and_last_byte_of_range(void **state)
{
	struct fixture *f = *state;
	uint8_t data[1] = { 0 };

	assert_int_equal(bus_write(&f->bus, DEV_BASE, data, 1), 0);
	assert_int_equal(f->a.off, 0);
	assert_int_equal(bus_write(&f->bus, DEV_BASE + DEV_LEN - 1, data, 1),
			 0);
	assert_int_equal(f->a.off, DEV_LEN - 1);
	assert_int_equal(f->a.writes, 2);
}

static void test_bus_read_straddling_end_of_range_is_unclaimed(void **state)
{
	struct fixture *f = *state;
	uint8_t data[4];

	assert_int_equal(bus_read(&f->bus, DEV_BASE + DEV_LEN - 2, data, 4),
			 -ENOENT);
	assert_int_equal(f->a.reads, 0);
}

static void test_bus_write_straddling_end_of_range_is_unclaimed(void **state)
{
	struct fixture *f = *state;
	const uint8_t data[4] = { 0 };

	assert_int_equal(bus_write(&f->bus, DEV_BASE + DEV_LEN - 2, data, 4),
			 -ENOENT);
	assert_int_equal(f->a.writes, 0);
}

static void test_bus_write_straddling_start_of_range_is_unclaimed(void **state)
{
	struct fixture *f = *state;
	const uint8_t data[2] = { 0 };

	assert_int_equal(bus_write(&f->bus, DEV_BASE - 1, data, 2), -ENOENT);
	assert_int_equal(f->a.writes, 0);
}

static void
test_bus_access_across_two_adjacent_ranges_is_unclaimed(void **state)
{
	struct fixture *f = *state;
	const uint8_t data[4] = { 0 };

	assert_int_equal(bus_register(&f->bus, DEV_BASE + DEV_LEN, 0x10,
				      &dev_ops, &f->b),
			 0);
	assert_int_equal(bus_write(&f->bus, DEV_BASE + DEV_LEN - 2, data, 4),
			 -ENOENT);
	assert_int_equal(f->a.writes, 0);
	assert_int_equal(f->b.writes, 0);
}

static void test_bus_access_that_wraps_address_space_is_unclaimed(void **state)
{
	struct fixture *f = *state;
	uint8_t data[4];

	assert_int_equal(
		bus_register(&f->bus, UINT64_MAX - 1, 2, &dev_ops, &f->b), 0);
	assert_int_equal(bus_read(&f->bus, UINT64_MAX - 1, data, 4), -ENOENT);
	assert_int_equal(f->b.reads, 0);
}

static void test_bus_unclaimed_read_returns_all_ones(void **state)
{
	struct fixture *f = *state;
	static const unsigned lens[] = { 1, 2, 4, 8 };
	uint8_t data[9];
	unsigned i, j;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(data, STALE, sizeof(data));
		assert_int_equal(bus_read(&f->bus, 0x9000, data, lens[i]),
				 -ENOENT);
		for (j = 0; j < lens[i]; j++)
			assert_int_equal(data[j], 0xff);
		/* Not one byte more. */
		assert_int_equal(data[lens[i]], STALE);
	}
	assert_int_equal(f->a.reads, 0);
}

static void test_bus_unclaimed_write_reaches_no_device(void **state)
{
	struct fixture *f = *state;
	const uint8_t data[4] = { 1, 2, 3, 4 };

	assert_int_equal(bus_write(&f->bus, 0x9000, data, 4), -ENOENT);
	assert_int_equal(f->a.writes, 0);
}

static void test_bus_read_buffer_is_zeroed_before_device_runs(void **state)
{
	struct fixture *f = *state;
	const uint8_t zero[8] = { 0 };
	uint8_t data[8];

	memset(data, STALE, sizeof(data));
	assert_int_equal(bus_read(&f->bus, DEV_BASE, data, 8), 0);
	assert_int_equal(f->a.reads, 1);
	assert_memory_equal(f->a.data, zero, 8);
}

static void test_bus_read_device_that_stores_nothing_yields_zeros(void **state)
{
	struct fixture *f = *state;
	const uint8_t zero[8] = { 0 };
	uint8_t data[8];

	memset(data, STALE, sizeof(data));
	assert_int_equal(bus_read(&f->bus, DEV_BASE, data, 8), 0);
	assert_memory_equal(data, zero, 8);
}

static void
test_bus_read_device_that_stores_part_yields_zeros_after(void **state)
{
	struct fixture *f = *state;
	const uint8_t expect[4] = { 0xab, 0xcd, 0, 0 };
	uint8_t data[4];

	f->a.reply[0] = 0xab;
	f->a.reply[1] = 0xcd;
	f->a.reply_len = 2;
	memset(data, STALE, sizeof(data));
	assert_int_equal(bus_read(&f->bus, DEV_BASE, data, 4), 0);
	assert_memory_equal(data, expect, 4);
}

static void test_bus_read_touches_only_len_bytes(void **state)
{
	struct fixture *f = *state;
	uint8_t data[8];

	memset(data, STALE, sizeof(data));
	assert_int_equal(bus_read(&f->bus, DEV_BASE, data, 2), 0);
	assert_int_equal(data[0], 0);
	assert_int_equal(data[1], 0);
	assert_int_equal(data[2], STALE);
}

static void test_bus_read_without_read_callback_yields_zeros(void **state)
{
	struct fixture *f = *state;
	const uint8_t zero[4] = { 0 };
	uint8_t data[4];

	assert_int_equal(bus_register(&f->bus, 0x8000, 0x10, &null_ops, NULL),
			 0);
	memset(data, STALE, sizeof(data));
	assert_int_equal(bus_read(&f->bus, 0x8004, data, 4), 0);
	assert_memory_equal(data, zero, 4);
}

static void test_bus_write_without_write_callback_is_claimed(void **state)
{
	struct fixture *f = *state;
	const uint8_t data[4] = { 1, 2, 3, 4 };

	assert_int_equal(bus_register(&f->bus, 0x8000, 0x10, &null_ops, NULL),
			 0);
	assert_int_equal(bus_write(&f->bus, 0x8004, data, 4), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define DEV_T(fn) cmocka_unit_test_setup_teardown(fn, setup_dev, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* bus_init() and bus_register() */
		T(test_bus_init_leaves_no_range_claimed),
		T(test_bus_register_accepts_a_free_range),
		T(test_bus_register_rejects_zero_length),
		T(test_bus_register_rejects_range_that_wraps),
		T(test_bus_register_rejects_null_ops),
		T(test_bus_register_accepts_range_ending_at_top_of_space),
		DEV_T(test_bus_register_rejects_identical_range),
		DEV_T(test_bus_register_rejects_range_covering_first_byte),
		DEV_T(test_bus_register_rejects_range_covering_last_byte),
		DEV_T(test_bus_register_rejects_range_inside_another),
		DEV_T(test_bus_register_rejects_range_around_another),
		DEV_T(test_bus_register_accepts_range_adjacent_below),
		DEV_T(test_bus_register_accepts_range_adjacent_above),
		T(test_bus_register_rejects_range_when_table_is_full),
		T(test_bus_register_rejected_range_takes_no_slot),
		/* Dispatch */
		DEV_T(test_bus_write_passes_offset_data_and_length),
		DEV_T(test_bus_read_passes_offset_and_returns_device_data),
		DEV_T(test_bus_passes_opaque_of_the_claiming_range),
		DEV_T(test_bus_dispatches_first_and_last_byte_of_range),
		DEV_T(test_bus_read_straddling_end_of_range_is_unclaimed),
		DEV_T(test_bus_write_straddling_end_of_range_is_unclaimed),
		DEV_T(test_bus_write_straddling_start_of_range_is_unclaimed),
		DEV_T(test_bus_access_across_two_adjacent_ranges_is_unclaimed),
		DEV_T(test_bus_access_that_wraps_address_space_is_unclaimed),
		DEV_T(test_bus_unclaimed_read_returns_all_ones),
		DEV_T(test_bus_unclaimed_write_reaches_no_device),
		DEV_T(test_bus_read_buffer_is_zeroed_before_device_runs),
		DEV_T(test_bus_read_device_that_stores_nothing_yields_zeros),
		DEV_T(test_bus_read_device_that_stores_part_yields_zeros_after),
		DEV_T(test_bus_read_touches_only_len_bytes),
		T(test_bus_read_without_read_callback_yields_zeros),
		T(test_bus_write_without_write_callback_is_claimed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
