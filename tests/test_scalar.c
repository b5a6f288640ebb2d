/* SPDX-License-Identifier: MIT */
/*
 * Tests for vmmem/scalar.h: 1, 2, 4 and 8-byte values at aligned,
 * misaligned and region-crossing addresses, at the edges of regions and of
 * the 64-bit space, in read-only regions, and little-endian conversion.
 *
 * The memory set of the fixture:
 *   A   [0x0,       0x1000)   writable
 *   B   [0x1000,    0x2000)   writable, adjacent to A
 *       [0x2000,   0x10000)   hole
 *   RO  [0x10000,  0x11000)   read-only, anonymous (reads as zero)
 *   W   [0x11000,  0x12000)   writable, between the two read-only regions
 *   RB  [0x12000,  0x13000)   read-only, borrowed from a test mapping that
 *                             holds a known pattern
 *   TOP [2^64 - 0x1000, 2^64) writable, the very top of the address space
 * Writable regions are pre-filled with pat(gpa).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>
#include <vmmem/scalar.h>

#include "fixture.h"
#include "port.h"

#define PAGE 0x1000u
#define A_GPA 0x0ull
#define B_GPA 0x1000ull
#define HOLE_GPA 0x2000ull
#define RO_GPA 0x10000ull
#define W_GPA 0x11000ull
#define RB_GPA 0x12000ull
#define TOP_GPA (UINT64_MAX - 0xfffull)

/* What the tests pre-load into a result to see that a failure left it. */
#define UNTOUCHED 0x5eed5eed5eed5eedull

/* A test that runs on a fresh copy of the fixture. */
#define FIXTURE_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static const unsigned sizes[] = { 1, 2, 4, 8 };

#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

struct fixture {
	struct vmmem *mem;
	uint8_t *rb_map; /* the test's mapping behind RB */
};

/* The byte every writable (and the borrowed) region holds at gpa. */
static uint8_t pat(vmmem_gpa_t gpa)
{
	return (uint8_t)(gpa * 31 + 7 + (gpa >> 8));
}

static uint64_t mask(unsigned n)
{
	return n == 8 ? UINT64_MAX : (1ull << (8 * n)) - 1;
}

/* A distinct test value for each size, with no two equal bytes. */
static uint64_t value_for(unsigned n)
{
	return 0x8877665544332211ull & mask(n);
}

static int write_n(struct vmmem *mem, vmmem_gpa_t gpa, unsigned n, uint64_t v)
{
	switch (n) {
	case 1:
		return vmmem_write_u8(mem, gpa, (uint8_t)v);
	case 2:
		return vmmem_write_u16(mem, gpa, (uint16_t)v);
	case 4:
		return vmmem_write_u32(mem, gpa, (uint32_t)v);
	default:
		return vmmem_write_u64(mem, gpa, v);
	}
}

/*
 * Read an n-byte value through the typed accessor. The typed variable
 * starts as the low n bytes of *v, so a failed read that leaves it alone
 * leaves *v equal to (old *v & mask(n)).
 */
static int read_n(struct vmmem *mem, vmmem_gpa_t gpa, unsigned n, uint64_t *v)
{
	uint8_t v8 = (uint8_t)*v;
	uint16_t v16 = (uint16_t)*v;
	uint32_t v32 = (uint32_t)*v;
	uint64_t v64 = *v;
	int rc;

	switch (n) {
	case 1:
		rc = vmmem_read_u8(mem, gpa, &v8);
		*v = v8;
		break;
	case 2:
		rc = vmmem_read_u16(mem, gpa, &v16);
		*v = v16;
		break;
	case 4:
		rc = vmmem_read_u32(mem, gpa, &v32);
		*v = v32;
		break;
	default:
		rc = vmmem_read_u64(mem, gpa, &v64);
		*v = v64;
		break;
	}
	return rc;
}

/* The bytes of an n-byte value in host byte order. */
static void host_bytes(uint64_t v, unsigned n, uint8_t *out)
{
	uint8_t v8 = (uint8_t)v;
	uint16_t v16 = (uint16_t)v;
	uint32_t v32 = (uint32_t)v;

	switch (n) {
	case 1:
		memcpy(out, &v8, 1);
		break;
	case 2:
		memcpy(out, &v16, 2);
		break;
	case 4:
		memcpy(out, &v32, 4);
		break;
	default:
		memcpy(out, &v, 8);
		break;
	}
}

static void assert_pattern(struct vmmem *mem, vmmem_gpa_t gpa, size_t len)
{
	uint8_t buf[64];
	size_t i;

	assert_true(len <= sizeof(buf));
	assert_int_equal(vmmem_read(mem, gpa, buf, len), 0);
	for (i = 0; i < len; i++)
		assert_int_equal(buf[i], pat(gpa + i));
}

static void assert_zero(struct vmmem *mem, vmmem_gpa_t gpa, size_t len)
{
	uint8_t buf[64];
	size_t i;

	assert_true(len <= sizeof(buf));
	assert_int_equal(vmmem_read(mem, gpa, buf, len), 0);
	for (i = 0; i < len; i++)
		assert_int_equal(buf[i], 0);
}

static void assert_raw(struct vmmem *mem, vmmem_gpa_t gpa, const uint8_t *want,
		       size_t len)
{
	uint8_t buf[8];

	assert_true(len <= sizeof(buf));
	assert_int_equal(vmmem_read(mem, gpa, buf, len), 0);
	assert_memory_equal(buf, want, len);
}

static void fill_pattern(struct vmmem *mem, vmmem_gpa_t gpa)
{
	uint8_t buf[PAGE];
	size_t i;

	for (i = 0; i < PAGE; i++)
		buf[i] = pat(gpa + i);
	assert_int_equal(vmmem_write(mem, gpa, buf, PAGE), 0);
}

static int setup(void **state)
{
	static const vmmem_gpa_t writable[] = { A_GPA, B_GPA, W_GPA, TOP_GPA };
	static const struct fixture_region spec[] = {
		{ A_GPA, PAGE, 0 },
		{ B_GPA, PAGE, 0 },
		{ RO_GPA, PAGE, VMMEM_REGION_READONLY },
		{ W_GPA, PAGE, 0 },
		{ TOP_GPA, PAGE, 0 },
	};
	struct vmmem_region *rb = NULL;
	struct vmmem *anon = NULL;
	struct fixture *f;
	size_t i;
	int rc = 0;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->rb_map = port_map(PAGE);
	if (!f->rb_map)
		goto err_free;
	for (i = 0; i < PAGE; i++)
		f->rb_map[i] = pat(RB_GPA + i);

	/* The anonymous regions, and RB over the test's own mapping. */
	rc = fixture_mem_create(spec, sizeof(spec) / sizeof(spec[0]), NULL,
				&anon);
	if (rc == 0)
		rc = vmmem_region_create_borrowed(
			RB_GPA, PAGE, VMMEM_REGION_READONLY, f->rb_map, &rb);
	if (rc == 0)
		rc = vmmem_insert(anon, rb, &f->mem);
	/* f->mem holds its own references. */
	vmmem_region_destroy(rb);
	vmmem_destroy(anon);
	if (rc)
		goto err_unmap;
	for (i = 0; i < sizeof(writable) / sizeof(writable[0]); i++)
		fill_pattern(f->mem, writable[i]);
	*state = f;
	return 0;

err_unmap:
	port_unmap(f->rb_map, PAGE);
err_free:
	free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmmem_destroy(f->mem);
	port_unmap(f->rb_map, PAGE);
	free(f);
	return 0;
}

static void test_scalar_fresh_memory_reads_zero(void **state)
{
	static const struct fixture_region range = { 0x0, PAGE, 0 };
	struct vmmem *mem = NULL;
	uint64_t v = UNTOUCHED;

	(void)state;
	assert_int_equal(fixture_mem_create(&range, 1, NULL, &mem), 0);
	assert_int_equal(vmmem_read_u64(mem, 0x100, &v), 0);
	assert_true(v == 0);
	vmmem_destroy(mem);
}

static void test_scalar_aligned_values_round_trip(void **state)
{
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < NSIZES; i++) {
		unsigned n = sizes[i];
		vmmem_gpa_t gpa = 0x100 + 0x10 * i;
		uint64_t v = UNTOUCHED;

		assert_int_equal(write_n(f->mem, gpa, n, value_for(n)), 0);
		assert_int_equal(read_n(f->mem, gpa, n, &v), 0);
		assert_true(v == value_for(n));
	}
}

static void test_scalar_writes_store_host_byte_order(void **state)
{
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < NSIZES; i++) {
		unsigned n = sizes[i];
		vmmem_gpa_t gpa = 0x200 + 0x10 * i;
		uint8_t want[8];

		host_bytes(value_for(n), n, want);
		assert_int_equal(write_n(f->mem, gpa, n, value_for(n)), 0);
		assert_raw(f->mem, gpa, want, n);
		/* The neighbours are left alone. */
		assert_pattern(f->mem, gpa - 1, 1);
		assert_pattern(f->mem, gpa + n, 1);
	}
}

static void test_scalar_reads_load_host_byte_order(void **state)
{
	struct fixture *f = *state;
	static const uint8_t raw[8] = { 0x11, 0x22, 0x33, 0x44,
					0x55, 0x66, 0x77, 0x88 };
	size_t i;

	assert_int_equal(vmmem_write(f->mem, 0x300, raw, sizeof(raw)), 0);
	for (i = 0; i < NSIZES; i++) {
		uint64_t v = UNTOUCHED;
		uint8_t got[8];

		assert_int_equal(read_n(f->mem, 0x300, sizes[i], &v), 0);
		host_bytes(v, sizes[i], got);
		assert_memory_equal(got, raw, sizes[i]);
	}
}

static void test_scalar_misaligned_values_round_trip(void **state)
{
	struct fixture *f = *state;
	size_t i;
	unsigned skew;

	for (i = 1; i < NSIZES; i++) {
		unsigned n = sizes[i];

		for (skew = 1; skew < n; skew++) {
			vmmem_gpa_t gpa = 0x400 + 0x100 * i + 0x10 * skew;
			uint64_t v = UNTOUCHED;
			uint8_t want[8];

			assert_int_equal(write_n(f->mem, gpa, n, value_for(n)),
					 0);
			host_bytes(value_for(n), n, want);
			assert_raw(f->mem, gpa, want, n);
			assert_int_equal(read_n(f->mem, gpa, n, &v), 0);
			assert_true(v == value_for(n));
			assert_pattern(f->mem, gpa - 1, 1);
			assert_pattern(f->mem, gpa + n, 1);
		}
	}
}

static void test_scalar_values_crossing_regions_round_trip(void **state)
{
	struct fixture *f = *state;
	size_t i;
	unsigned before;

	for (i = 1; i < NSIZES; i++) {
		unsigned n = sizes[i];

		/* 1 .. n - 1 bytes in A, the rest in B. */
		for (before = 1; before < n; before++) {
			vmmem_gpa_t gpa = B_GPA - before;
			uint64_t v = UNTOUCHED;
			uint8_t want[8];

			fill_pattern(f->mem, A_GPA);
			fill_pattern(f->mem, B_GPA);
			assert_int_equal(write_n(f->mem, gpa, n, value_for(n)),
					 0);
			host_bytes(value_for(n), n, want);
			assert_raw(f->mem, gpa, want, n);
			assert_int_equal(read_n(f->mem, gpa, n, &v), 0);
			assert_true(v == value_for(n));
			assert_pattern(f->mem, gpa - 1, 1);
			assert_pattern(f->mem, gpa + n, 1);
		}
	}
}

static void test_scalar_crossing_read_joins_both_regions(void **state)
{
	struct fixture *f = *state;
	static const uint8_t raw[8] = { 0xa1, 0xb2, 0xc3, 0xd4,
					0xe5, 0xf6, 0x07, 0x18 };
	uint64_t v = UNTOUCHED;
	uint8_t got[8];

	assert_int_equal(vmmem_write(f->mem, B_GPA - 3, raw, sizeof(raw)), 0);
	assert_int_equal(read_n(f->mem, B_GPA - 3, 8, &v), 0);
	host_bytes(v, 8, got);
	assert_memory_equal(got, raw, 8);
}

static void test_scalar_values_at_region_edges_round_trip(void **state)
{
	struct fixture *f = *state;
	static const struct {
		vmmem_gpa_t gpa;
		unsigned n;
	} edges[] = {
		{ A_GPA, 1 },	     { A_GPA, 8 },	  { B_GPA - 1, 1 },
		{ B_GPA - 8, 8 },    { B_GPA, 1 },	  { B_GPA, 4 },
		{ HOLE_GPA - 1, 1 }, { HOLE_GPA - 2, 2 }, { HOLE_GPA - 4, 4 },
		{ HOLE_GPA - 8, 8 }, { W_GPA, 8 },	  { RB_GPA - 8, 8 },
	};
	size_t i;

	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		uint64_t v = UNTOUCHED;
		unsigned n = edges[i].n;

		assert_int_equal(write_n(f->mem, edges[i].gpa, n, value_for(n)),
				 0);
		assert_int_equal(read_n(f->mem, edges[i].gpa, n, &v), 0);
		assert_true(v == value_for(n));
	}
}

static void test_scalar_read_in_hole_fails_and_keeps_value(void **state)
{
	struct fixture *f = *state;
	static const vmmem_gpa_t holes[] = { HOLE_GPA, 0x8000, RO_GPA - 8,
					     0x13000, TOP_GPA - 8 };
	size_t i, j;

	for (i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
		for (j = 0; j < NSIZES; j++) {
			uint64_t v = UNTOUCHED;

			assert_int_equal(read_n(f->mem, holes[i], sizes[j], &v),
					 -EFAULT);
			assert_true(v == (UNTOUCHED & mask(sizes[j])));
		}
	}
}

static void test_scalar_read_running_into_hole_fails(void **state)
{
	struct fixture *f = *state;
	size_t i;
	unsigned inside;

	for (i = 1; i < NSIZES; i++) {
		unsigned n = sizes[i];

		/* 1 .. n - 1 bytes at the end of B, the rest in the hole. */
		for (inside = 1; inside < n; inside++) {
			uint64_t v = UNTOUCHED;

			assert_int_equal(
				read_n(f->mem, HOLE_GPA - inside, n, &v),
				-EFAULT);
			assert_true(v == (UNTOUCHED & mask(n)));
		}
	}
}

static void test_scalar_read_starting_in_hole_fails(void **state)
{
	struct fixture *f = *state;
	size_t i;
	unsigned outside;

	for (i = 1; i < NSIZES; i++) {
		unsigned n = sizes[i];

		/* 1 .. n - 1 bytes before RO, the rest in it. */
		for (outside = 1; outside < n; outside++) {
			uint64_t v = UNTOUCHED;

			assert_int_equal(
				read_n(f->mem, RO_GPA - outside, n, &v),
				-EFAULT);
			assert_true(v == (UNTOUCHED & mask(n)));
		}
	}
}

static void test_scalar_write_in_hole_fails(void **state)
{
	struct fixture *f = *state;
	size_t j;

	for (j = 0; j < NSIZES; j++) {
		assert_int_equal(write_n(f->mem, HOLE_GPA, sizes[j],
					 value_for(sizes[j])),
				 -EFAULT);
		assert_int_equal(
			write_n(f->mem, 0x8000, sizes[j], value_for(sizes[j])),
			-EFAULT);
	}
}

static void test_scalar_write_into_hole_changes_nothing(void **state)
{
	struct fixture *f = *state;
	size_t i;
	unsigned inside;

	for (i = 1; i < NSIZES; i++) {
		unsigned n = sizes[i];

		for (inside = 1; inside < n; inside++) {
			assert_int_equal(write_n(f->mem, HOLE_GPA - inside, n,
						 value_for(n)),
					 -EFAULT);
			assert_pattern(f->mem, HOLE_GPA - 8, 8);
		}
	}
}

static void test_scalar_values_at_top_of_space_round_trip(void **state)
{
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < NSIZES; i++) {
		unsigned n = sizes[i];
		/* Aligned, and misaligned by one, both ending at 2^64 - 1. */
		vmmem_gpa_t aligned = UINT64_MAX - (n - 1);
		vmmem_gpa_t skewed = aligned - 1;
		uint64_t v = UNTOUCHED;

		assert_int_equal(write_n(f->mem, aligned, n, value_for(n)), 0);
		assert_int_equal(read_n(f->mem, aligned, n, &v), 0);
		assert_true(v == value_for(n));
		assert_int_equal(write_n(f->mem, skewed, n, value_for(n)), 0);
		v = UNTOUCHED;
		assert_int_equal(read_n(f->mem, skewed, n, &v), 0);
		assert_true(v == value_for(n));
	}
}

static void test_scalar_read_past_top_overflows(void **state)
{
	struct fixture *f = *state;
	uint32_t v32 = 0x5eed5eed;
	uint64_t v64 = UNTOUCHED;
	uint16_t v16 = 0x5eed;
	uint8_t v8 = 0;

	/* Once with the top region as the hint, once with another. */
	assert_int_equal(vmmem_read_u8(f->mem, TOP_GPA, &v8), 0);
	assert_int_equal(vmmem_read_u32(f->mem, UINT64_MAX - 1, &v32),
			 -EOVERFLOW);
	assert_true(v32 == 0x5eed5eed);
	assert_int_equal(vmmem_read_u8(f->mem, A_GPA, &v8), 0);
	assert_int_equal(vmmem_read_u32(f->mem, UINT64_MAX - 1, &v32),
			 -EOVERFLOW);
	assert_true(v32 == 0x5eed5eed);

	assert_int_equal(vmmem_read_u16(f->mem, UINT64_MAX, &v16), -EOVERFLOW);
	assert_true(v16 == 0x5eed);
	assert_int_equal(vmmem_read_u64(f->mem, UINT64_MAX - 6, &v64),
			 -EOVERFLOW);
	assert_true(v64 == UNTOUCHED);
}

static void test_scalar_write_past_top_changes_nothing(void **state)
{
	struct fixture *f = *state;
	uint8_t v8 = 0;

	assert_int_equal(vmmem_read_u8(f->mem, TOP_GPA, &v8), 0);
	assert_int_equal(vmmem_write_u32(f->mem, UINT64_MAX - 1, 0xdeadbeef),
			 -EOVERFLOW);
	assert_int_equal(vmmem_read_u8(f->mem, A_GPA, &v8), 0);
	assert_int_equal(vmmem_write_u32(f->mem, UINT64_MAX - 1, 0xdeadbeef),
			 -EOVERFLOW);
	assert_int_equal(vmmem_write_u16(f->mem, UINT64_MAX, 0xbeef),
			 -EOVERFLOW);
	assert_int_equal(vmmem_write_u64(f->mem, UINT64_MAX - 3, 1),
			 -EOVERFLOW);
	assert_pattern(f->mem, UINT64_MAX - 7, 8);
}

static void test_scalar_write_to_read_only_region_fails(void **state)
{
	struct fixture *f = *state;
	size_t j;

	for (j = 0; j < NSIZES; j++) {
		unsigned n = sizes[j];

		assert_int_equal(
			write_n(f->mem, RO_GPA + 0x10, n, value_for(n)),
			-EACCES);
		assert_int_equal(
			write_n(f->mem, RB_GPA + 0x10, n, value_for(n)),
			-EACCES);
		/* Misaligned, through the byte-wise path. */
		assert_int_equal(
			write_n(f->mem, RO_GPA + 0x21, n, value_for(n)),
			-EACCES);
		assert_int_equal(
			write_n(f->mem, RB_GPA + 0x21, n, value_for(n)),
			-EACCES);
	}
	assert_zero(f->mem, RO_GPA, 0x30);
	assert_pattern(f->mem, RB_GPA, 0x30);
}

static void test_scalar_write_after_read_only_hint_fails(void **state)
{
	struct fixture *f = *state;
	uint64_t v = UNTOUCHED;

	/* The read makes the read-only region the hint of the set. */
	assert_int_equal(vmmem_read_u64(f->mem, RB_GPA + 0x40, &v), 0);
	assert_int_equal(vmmem_write_u64(f->mem, RB_GPA + 0x40, 1), -EACCES);
	assert_pattern(f->mem, RB_GPA + 0x40, 8);
}

static void test_scalar_read_from_read_only_region_works(void **state)
{
	struct fixture *f = *state;
	size_t j;
	unsigned k;

	for (j = 0; j < NSIZES; j++) {
		unsigned n = sizes[j];
		uint64_t v = UNTOUCHED;
		uint8_t got[8];

		assert_int_equal(read_n(f->mem, RB_GPA + 0x80, n, &v), 0);
		host_bytes(v, n, got);
		for (k = 0; k < n; k++)
			assert_int_equal(got[k], pat(RB_GPA + 0x80 + k));

		v = UNTOUCHED;
		assert_int_equal(read_n(f->mem, RO_GPA + 0x80, n, &v), 0);
		assert_true(v == 0);
	}
}

static void test_scalar_write_into_read_only_changes_nothing(void **state)
{
	struct fixture *f = *state;

	/* W -> RB: two writable bytes, two read-only. */
	assert_int_equal(vmmem_write_u32(f->mem, RB_GPA - 2, 0xdeadbeef),
			 -EACCES);
	assert_pattern(f->mem, RB_GPA - 8, 16);
	/* RO -> W: read-only first. */
	assert_int_equal(vmmem_write_u64(f->mem, W_GPA - 4, UINT64_MAX),
			 -EACCES);
	assert_zero(f->mem, W_GPA - 4, 4);
	assert_pattern(f->mem, W_GPA, 8);
}

static void test_scalar_le_writes_store_little_endian(void **state)
{
	struct fixture *f = *state;
	static const uint8_t le16[] = { 0x22, 0x11 };
	static const uint8_t le32[] = { 0x44, 0x33, 0x22, 0x11 };
	static const uint8_t le64[] = { 0x88, 0x77, 0x66, 0x55,
					0x44, 0x33, 0x22, 0x11 };

	assert_int_equal(vmmem_write_le16(f->mem, 0x500, 0x1122), 0);
	assert_raw(f->mem, 0x500, le16, sizeof(le16));
	assert_int_equal(vmmem_write_le32(f->mem, 0x510, 0x11223344), 0);
	assert_raw(f->mem, 0x510, le32, sizeof(le32));
	assert_int_equal(vmmem_write_le64(f->mem, 0x520, 0x1122334455667788ull),
			 0);
	assert_raw(f->mem, 0x520, le64, sizeof(le64));
}

static void test_scalar_le_reads_decode_little_endian(void **state)
{
	struct fixture *f = *state;
	static const uint8_t raw[8] = { 0x01, 0x02, 0x03, 0x04,
					0x05, 0x06, 0x07, 0x08 };
	uint16_t v16 = 0;
	uint32_t v32 = 0;
	uint64_t v64 = 0;

	assert_int_equal(vmmem_write(f->mem, 0x600, raw, sizeof(raw)), 0);
	assert_int_equal(vmmem_read_le16(f->mem, 0x600, &v16), 0);
	assert_int_equal(v16, 0x0201);
	assert_int_equal(vmmem_read_le32(f->mem, 0x600, &v32), 0);
	assert_int_equal(v32, 0x04030201);
	assert_int_equal(vmmem_read_le64(f->mem, 0x600, &v64), 0);
	assert_true(v64 == 0x0807060504030201ull);
}

static void test_scalar_le_crossing_values_round_trip(void **state)
{
	struct fixture *f = *state;
	static const uint8_t le64[] = { 0x88, 0x77, 0x66, 0x55,
					0x44, 0x33, 0x22, 0x11 };
	static const uint8_t le32[] = { 0xdd, 0xcc, 0xbb, 0xaa };
	uint64_t v64 = 0;
	uint32_t v32 = 0;

	assert_int_equal(
		vmmem_write_le64(f->mem, B_GPA - 5, 0x1122334455667788ull), 0);
	assert_raw(f->mem, B_GPA - 5, le64, sizeof(le64));
	assert_int_equal(vmmem_read_le64(f->mem, B_GPA - 5, &v64), 0);
	assert_true(v64 == 0x1122334455667788ull);
	assert_int_equal(vmmem_write_le32(f->mem, B_GPA - 1, 0xaabbccdd), 0);
	assert_raw(f->mem, B_GPA - 1, le32, sizeof(le32));
	assert_int_equal(vmmem_read_le32(f->mem, B_GPA - 1, &v32), 0);
	assert_int_equal(v32, 0xaabbccdd);
}

static void test_scalar_le_errors_keep_value(void **state)
{
	struct fixture *f = *state;
	uint16_t v16 = 0x5eed;
	uint32_t v32 = 0x5eed5eed;
	uint64_t v64 = UNTOUCHED;

	assert_int_equal(vmmem_read_le16(f->mem, HOLE_GPA, &v16), -EFAULT);
	assert_int_equal(v16, 0x5eed);
	assert_int_equal(vmmem_read_le32(f->mem, UINT64_MAX - 1, &v32),
			 -EOVERFLOW);
	assert_int_equal(v32, 0x5eed5eed);
	assert_int_equal(vmmem_read_le64(f->mem, HOLE_GPA - 4, &v64), -EFAULT);
	assert_true(v64 == UNTOUCHED);
	assert_int_equal(vmmem_write_le16(f->mem, HOLE_GPA, 1), -EFAULT);
	assert_int_equal(vmmem_write_le32(f->mem, UINT64_MAX - 1, 1),
			 -EOVERFLOW);
	assert_int_equal(vmmem_write_le64(f->mem, RB_GPA, 1), -EACCES);
	assert_pattern(f->mem, RB_GPA, 8);
}

static void test_scalar_alternating_regions_round_trip(void **state)
{
	struct fixture *f = *state;
	static const vmmem_gpa_t bases[] = { A_GPA, B_GPA, TOP_GPA, W_GPA };
	uint64_t i, v;
	size_t b;

	/*
	 * Every access lands in another region than the one before, so each
	 * goes through the slow path and moves the hint; the accesses that
	 * repeat a region right after it take the inline path.
	 */
	for (i = 0; i < 64; i++) {
		for (b = 0; b < 4; b++) {
			vmmem_gpa_t gpa = bases[b] + 8 * i;

			assert_int_equal(
				vmmem_write_u64(f->mem, gpa, i * 4 + b + 1), 0);
			assert_int_equal(vmmem_write_u32(f->mem, gpa + 0x800,
							 (uint32_t)(i + b)),
					 0);
		}
	}
	for (i = 0; i < 64; i++) {
		for (b = 0; b < 4; b++) {
			vmmem_gpa_t gpa = bases[(b + i) % 4] + 8 * i;
			uint32_t v32 = 0;

			v = 0;
			assert_int_equal(vmmem_read_u64(f->mem, gpa, &v), 0);
			assert_true(v == i * 4 + (b + i) % 4 + 1);
			assert_int_equal(
				vmmem_read_u32(f->mem, gpa + 0x800, &v32), 0);
			assert_true(v32 == i + (b + i) % 4);
		}
	}
}

static void test_scalar_accesses_fail_on_empty_set(void **state)
{
	struct vmmem *mem = NULL;
	uint64_t v = UNTOUCHED;
	size_t j;

	(void)state;
	assert_int_equal(vmmem_create(NULL, 0, &mem), 0);
	for (j = 0; j < NSIZES; j++) {
		v = UNTOUCHED;
		assert_int_equal(read_n(mem, 0, sizes[j], &v), -EFAULT);
		assert_true(v == (UNTOUCHED & mask(sizes[j])));
		assert_int_equal(write_n(mem, 0, sizes[j], 1), -EFAULT);
	}
	vmmem_destroy(mem);
}

static void test_scalar_values_in_odd_region_respect_its_bounds(void **state)
{
	static const struct fixture_region range = { 3, 5, 0 }; /* 3 .. 7 */
	struct vmmem *mem = NULL;
	uint32_t v32 = 0;
	uint8_t v8 = 0;
	uint64_t v64 = UNTOUCHED;

	(void)state;
	assert_int_equal(fixture_mem_create(&range, 1, NULL, &mem), 0);
	assert_int_equal(vmmem_write_u32(mem, 3, 0x11223344), 0);
	assert_int_equal(vmmem_read_u32(mem, 3, &v32), 0);
	assert_int_equal(v32, 0x11223344);
	assert_int_equal(vmmem_write_u32(mem, 4, 0x55667788), 0);
	assert_int_equal(vmmem_read_u32(mem, 4, &v32), 0);
	assert_int_equal(v32, 0x55667788);
	assert_int_equal(vmmem_write_u8(mem, 7, 0x99), 0);
	assert_int_equal(vmmem_read_u8(mem, 7, &v8), 0);
	assert_int_equal(v8, 0x99);

	assert_int_equal(vmmem_read_u8(mem, 2, &v8), -EFAULT);
	assert_int_equal(vmmem_read_u8(mem, 8, &v8), -EFAULT);
	assert_int_equal(vmmem_read_u32(mem, 5, &v32), -EFAULT);
	assert_int_equal(vmmem_read_u64(mem, 0, &v64), -EFAULT);
	assert_int_equal(vmmem_read_u64(mem, 3, &v64), -EFAULT);
	assert_true(v64 == UNTOUCHED);
	assert_int_equal(vmmem_write_u32(mem, 5, 1), -EFAULT);
	assert_int_equal(vmmem_read_u8(mem, 7, &v8), 0);
	assert_int_equal(v8, 0x99);
	vmmem_destroy(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalar_fresh_memory_reads_zero),
		FIXTURE_TEST(test_scalar_aligned_values_round_trip),
		FIXTURE_TEST(test_scalar_writes_store_host_byte_order),
		FIXTURE_TEST(test_scalar_reads_load_host_byte_order),
		FIXTURE_TEST(test_scalar_misaligned_values_round_trip),
		FIXTURE_TEST(test_scalar_values_crossing_regions_round_trip),
		FIXTURE_TEST(test_scalar_crossing_read_joins_both_regions),
		FIXTURE_TEST(test_scalar_values_at_region_edges_round_trip),
		FIXTURE_TEST(test_scalar_read_in_hole_fails_and_keeps_value),
		FIXTURE_TEST(test_scalar_read_running_into_hole_fails),
		FIXTURE_TEST(test_scalar_read_starting_in_hole_fails),
		FIXTURE_TEST(test_scalar_write_in_hole_fails),
		FIXTURE_TEST(test_scalar_write_into_hole_changes_nothing),
		FIXTURE_TEST(test_scalar_values_at_top_of_space_round_trip),
		FIXTURE_TEST(test_scalar_read_past_top_overflows),
		FIXTURE_TEST(test_scalar_write_past_top_changes_nothing),
		FIXTURE_TEST(test_scalar_write_to_read_only_region_fails),
		FIXTURE_TEST(test_scalar_write_after_read_only_hint_fails),
		FIXTURE_TEST(test_scalar_read_from_read_only_region_works),
		FIXTURE_TEST(test_scalar_write_into_read_only_changes_nothing),
		FIXTURE_TEST(test_scalar_le_writes_store_little_endian),
		FIXTURE_TEST(test_scalar_le_reads_decode_little_endian),
		FIXTURE_TEST(test_scalar_le_crossing_values_round_trip),
		FIXTURE_TEST(test_scalar_le_errors_keep_value),
		FIXTURE_TEST(test_scalar_alternating_regions_round_trip),
		cmocka_unit_test(test_scalar_accesses_fail_on_empty_set),
		cmocka_unit_test(
			test_scalar_values_in_odd_region_respect_its_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
