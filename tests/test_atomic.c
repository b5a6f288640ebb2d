/* SPDX-License-Identifier: MIT */
/*
 * Tests for vmmem/atomic.h: loads, stores, compare-exchange and fetch
 * operations on 1, 2, 4 and 8-byte guest values, their memory-order rules,
 * and the errors for misaligned, region-crossing, unbacked, wrapping and
 * read-only values.
 *
 * The fixture is one set of these regions (every host mapping starts on a
 * page boundary, so host alignment is the alignment of the region offset):
 *   M  [0x00000, 0x02000)  read-write
 *   RO [0x10000, 0x11000)  read-only
 *   P0 [0x20000, 0x21001)  and P1 [0x21001, 0x22000): a value at 0x21000 is
 *                          host-aligned in P0 but runs into P1
 *   Q  [0x50000, 0x50004)  four bytes followed by a hole
 *   U  [0x60004, 0x61004)  starts on a guest address that is not 8-aligned
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/atomic.h>
#include <vmmem/memory.h>
#include <vmmem/region.h>

#include "fixture.h"

#define M_GPA 0x00000ull
#define RO_GPA 0x10000ull
#define CROSS_GPA 0x21000ull
#define Q_GPA 0x50000ull
#define U_GPA 0x60004ull
#define NREGIONS 6

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct fixture {
	struct vmmem *mem;
	struct vmmem_region *r[NREGIONS];
};

static const int load_orders[] = {
	memory_order_relaxed,
	memory_order_consume,
	memory_order_acquire,
	memory_order_seq_cst,
};

static const int store_orders[] = {
	memory_order_relaxed,
	memory_order_release,
	memory_order_seq_cst,
};

static const int all_orders[] = {
	memory_order_relaxed, memory_order_consume, memory_order_acquire,
	memory_order_release, memory_order_acq_rel, memory_order_seq_cst,
};

static int setup(void **state)
{
	static const struct fixture_region spec[NREGIONS] = {
		{ M_GPA, 0x2000, 0 },
		{ RO_GPA, 0x1000, VMMEM_REGION_READONLY },
		{ 0x20000, 0x1001, 0 },
		{ 0x21001, 0xfff, 0 },
		{ Q_GPA, 4, 0 },
		{ U_GPA, 0x1000, 0 },
	};
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (fixture_mem_create(spec, NREGIONS, f->r, &f->mem)) {
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
	fixture_regions_destroy(f->r, NREGIONS);
	free(f);
	return 0;
}

/* The 8 guest bytes at gpa, as a number in host byte order. */
static uint64_t peek64(struct fixture *f, vmmem_gpa_t gpa)
{
	uint64_t v;

	assert_int_equal(vmmem_read(f->mem, gpa, &v, sizeof(v)), 0);
	return v;
}

static void poke64(struct fixture *f, vmmem_gpa_t gpa, uint64_t v)
{
	assert_int_equal(vmmem_write(f->mem, gpa, &v, sizeof(v)), 0);
}

/* ---- load and store ----------------------------------------------- */

static void test_atomic_store_then_load_with_every_valid_order(void **state)
{
	struct fixture *f = *state;
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(store_orders); i++) {
		for (j = 0; j < ARRAY_SIZE(load_orders); j++) {
			int so = store_orders[i], lo = load_orders[j];
			uint8_t seed = (uint8_t)(i * 16 + j + 1);
			uint8_t v8;
			uint16_t v16;
			uint32_t v32;
			uint64_t v64;

			assert_int_equal(
				vmmem_atomic_store_u8(f->mem, 0x101, seed, so),
				0);
			assert_int_equal(vmmem_atomic_store_u16(f->mem, 0x202,
								seed * 0x101u,
								so),
					 0);
			assert_int_equal(
				vmmem_atomic_store_u32(f->mem, 0x304,
						       seed * 0x01010101u, so),
				0);
			assert_int_equal(vmmem_atomic_store_u64(
						 f->mem, 0x408,
						 seed * 0x0101010101010101ull,
						 so),
					 0);
			assert_int_equal(
				vmmem_atomic_load_u8(f->mem, 0x101, &v8, lo),
				0);
			assert_int_equal(
				vmmem_atomic_load_u16(f->mem, 0x202, &v16, lo),
				0);
			assert_int_equal(
				vmmem_atomic_load_u32(f->mem, 0x304, &v32, lo),
				0);
			assert_int_equal(
				vmmem_atomic_load_u64(f->mem, 0x408, &v64, lo),
				0);
			assert_int_equal(v8, seed);
			assert_int_equal(v16, seed * 0x101u);
			assert_int_equal(v32, seed * 0x01010101u);
			assert_int_equal(v64, seed * 0x0101010101010101ull);
		}
	}
}

static void test_atomic_store_writes_host_byte_order(void **state)
{
	struct fixture *f = *state;
	const uint64_t v64 = 0x0102030405060708ull;
	const uint32_t v32 = 0x11223344u;
	const uint16_t v16 = 0x5566u;
	unsigned char got[8];

	assert_int_equal(vmmem_atomic_store_u64(f->mem, 0x800, v64,
						memory_order_seq_cst),
			 0);
	assert_int_equal(vmmem_read(f->mem, 0x800, got, 8), 0);
	assert_memory_equal(got, &v64, 8);
	assert_int_equal(vmmem_atomic_store_u32(f->mem, 0x810, v32,
						memory_order_seq_cst),
			 0);
	assert_int_equal(vmmem_read(f->mem, 0x810, got, 4), 0);
	assert_memory_equal(got, &v32, 4);
	assert_int_equal(vmmem_atomic_store_u16(f->mem, 0x820, v16,
						memory_order_seq_cst),
			 0);
	assert_int_equal(vmmem_read(f->mem, 0x820, got, 2), 0);
	assert_memory_equal(got, &v16, 2);
}

static void test_atomic_load_reads_guest_bytes(void **state)
{
	struct fixture *f = *state;
	const unsigned char bytes[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint64_t v64, want64;
	uint32_t v32, want32;
	uint16_t v16, want16;
	uint8_t v8;

	assert_int_equal(vmmem_write(f->mem, 0x1ff8, bytes, 8), 0);
	memcpy(&want64, bytes, 8);
	memcpy(&want32, bytes + 4, 4);
	memcpy(&want16, bytes + 2, 2);
	assert_int_equal(vmmem_atomic_load_u64(f->mem, 0x1ff8, &v64,
					       memory_order_acquire),
			 0);
	assert_int_equal(vmmem_atomic_load_u32(f->mem, 0x1ffc, &v32,
					       memory_order_acquire),
			 0);
	assert_int_equal(vmmem_atomic_load_u16(f->mem, 0x1ffa, &v16,
					       memory_order_acquire),
			 0);
	assert_int_equal(
		vmmem_atomic_load_u8(f->mem, 0x1fff, &v8, memory_order_acquire),
		0);
	assert_int_equal(v64, want64);
	assert_int_equal(v32, want32);
	assert_int_equal(v16, want16);
	assert_int_equal(v8, 8);
}

static void test_atomic_load_rejects_release_orders(void **state)
{
	struct fixture *f = *state;
	static const int bad[] = { memory_order_release, memory_order_acq_rel };
	uint64_t v64;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(vmmem_atomic_load_u8(f->mem, 0, &v8, bad[i]),
				 -EINVAL);
		assert_int_equal(vmmem_atomic_load_u16(f->mem, 0, &v16, bad[i]),
				 -EINVAL);
		assert_int_equal(vmmem_atomic_load_u32(f->mem, 0, &v32, bad[i]),
				 -EINVAL);
		assert_int_equal(vmmem_atomic_load_u64(f->mem, 0, &v64, bad[i]),
				 -EINVAL);
	}
}

static void test_atomic_store_rejects_acquire_orders(void **state)
{
	struct fixture *f = *state;
	static const int bad[] = { memory_order_consume, memory_order_acquire,
				   memory_order_acq_rel };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(vmmem_atomic_store_u8(f->mem, 0x10, 1, bad[i]),
				 -EINVAL);
		assert_int_equal(
			vmmem_atomic_store_u16(f->mem, 0x10, 1, bad[i]),
			-EINVAL);
		assert_int_equal(
			vmmem_atomic_store_u32(f->mem, 0x10, 1, bad[i]),
			-EINVAL);
		assert_int_equal(
			vmmem_atomic_store_u64(f->mem, 0x10, 1, bad[i]),
			-EINVAL);
	}
	assert_int_equal(peek64(f, 0x10), 0);
}

static void test_atomic_rejects_unknown_orders(void **state)
{
	struct fixture *f = *state;
	static const int bad[] = { -1, 6, 42 };
	uint32_t v32 = 0, old;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(
			vmmem_atomic_load_u32(f->mem, 0x20, &v32, bad[i]),
			-EINVAL);
		assert_int_equal(
			vmmem_atomic_store_u32(f->mem, 0x20, 1, bad[i]),
			-EINVAL);
		assert_int_equal(vmmem_atomic_fetch_add_u32(f->mem, 0x20, 1,
							    &old, bad[i]),
				 -EINVAL);
		assert_int_equal(vmmem_atomic_fetch_or_u32(f->mem, 0x20, 1,
							   &old, bad[i]),
				 -EINVAL);
		assert_int_equal(vmmem_atomic_fetch_and_u32(f->mem, 0x20, 0,
							    &old, bad[i]),
				 -EINVAL);
		v32 = 0;
		assert_int_equal(vmmem_atomic_cmpxchg_u32(f->mem, 0x20, &v32, 1,
							  bad[i],
							  memory_order_relaxed),
				 -EINVAL);
	}
	assert_int_equal(peek64(f, 0x20), 0);
}

/* ---- compare-exchange --------------------------------------------- */

static void test_atomic_cmpxchg_swaps_when_expected_matches(void **state)
{
	struct fixture *f = *state;
	uint8_t e8 = 0;
	uint16_t e16 = 0;
	uint32_t e32 = 0;
	uint64_t e64 = 0;
	const int sc = memory_order_seq_cst;

	assert_int_equal(
		vmmem_atomic_cmpxchg_u8(f->mem, 0x31, &e8, 0xa1, sc, sc), 1);
	assert_int_equal(
		vmmem_atomic_cmpxchg_u16(f->mem, 0x32, &e16, 0xa2b2, sc, sc),
		1);
	assert_int_equal(vmmem_atomic_cmpxchg_u32(f->mem, 0x34, &e32,
						  0xa3b3c3d3u, sc, sc),
			 1);
	assert_int_equal(vmmem_atomic_cmpxchg_u64(f->mem, 0x38, &e64,
						  0xa4b4c4d4e4f40414ull, sc,
						  sc),
			 1);
	assert_int_equal(e8, 0);
	assert_int_equal(e16, 0);
	assert_int_equal(e32, 0);
	assert_int_equal(e64, 0);
	assert_int_equal(peek64(f, 0x38), 0xa4b4c4d4e4f40414ull);
	assert_int_equal(vmmem_atomic_load_u32(f->mem, 0x34, &e32, sc), 0);
	assert_int_equal(e32, 0xa3b3c3d3u);
	assert_int_equal(vmmem_atomic_load_u16(f->mem, 0x32, &e16, sc), 0);
	assert_int_equal(e16, 0xa2b2);
	assert_int_equal(vmmem_atomic_load_u8(f->mem, 0x31, &e8, sc), 0);
	assert_int_equal(e8, 0xa1);
}

static void test_atomic_cmpxchg_reports_value_when_expected_differs(void **s)
{
	struct fixture *f = *s;
	const uint64_t v = 0x99aabbccddeeff00ull;
	const int sc = memory_order_seq_cst, rx = memory_order_relaxed;
	uint8_t e8 = 1, w8;
	uint16_t e16 = 2, w16;
	uint32_t e32 = 3, w32;
	uint64_t e64 = 4;

	poke64(f, 0x40, 0x1122334455667788ull);
	poke64(f, 0x48, v);
	assert_int_equal(
		vmmem_atomic_cmpxchg_u64(f->mem, 0x40, &e64, 7, sc, rx), 0);
	assert_int_equal(e64, 0x1122334455667788ull);
	assert_int_equal(
		vmmem_atomic_cmpxchg_u32(f->mem, 0x48, &e32, 7, sc, sc), 0);
	assert_int_equal(
		vmmem_atomic_cmpxchg_u16(f->mem, 0x48, &e16, 7, sc, sc), 0);
	assert_int_equal(vmmem_atomic_cmpxchg_u8(f->mem, 0x48, &e8, 7, sc, sc),
			 0);
	memcpy(&w32, &v, 4);
	memcpy(&w16, &v, 2);
	memcpy(&w8, &v, 1);
	assert_int_equal(e32, w32);
	assert_int_equal(e16, w16);
	assert_int_equal(e8, w8);
	assert_int_equal(peek64(f, 0x40), 0x1122334455667788ull);
	assert_int_equal(peek64(f, 0x48), v);
}

static void test_atomic_cmpxchg_accepts_valid_order_pairs(void **state)
{
	struct fixture *f = *state;
	static const int pairs[][2] = {
		{ memory_order_seq_cst, memory_order_seq_cst },
		{ memory_order_seq_cst, memory_order_relaxed },
		{ memory_order_acq_rel, memory_order_acquire },
		{ memory_order_acquire, memory_order_acquire },
		{ memory_order_release, memory_order_relaxed },
		{ memory_order_relaxed, memory_order_relaxed },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pairs); i++) {
		uint32_t e = (uint32_t)i;

		assert_int_equal(vmmem_atomic_cmpxchg_u32(
					 f->mem, 0x50, &e, (uint32_t)i + 1,
					 pairs[i][0], pairs[i][1]),
				 1);
	}
	assert_int_equal(peek64(f, 0x50), ARRAY_SIZE(pairs));
}

static void test_atomic_cmpxchg_rejects_bad_failure_orders(void **state)
{
	struct fixture *f = *state;
	static const int pairs[][2] = {
		{ memory_order_seq_cst, memory_order_release },
		{ memory_order_seq_cst, memory_order_acq_rel },
		{ memory_order_relaxed, memory_order_acquire },
		{ memory_order_relaxed, memory_order_seq_cst },
		{ memory_order_acquire, memory_order_seq_cst },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pairs); i++) {
		uint64_t e = 0;

		assert_int_equal(vmmem_atomic_cmpxchg_u64(f->mem, 0x58, &e, 9,
							  pairs[i][0],
							  pairs[i][1]),
				 -EINVAL);
		assert_int_equal(e, 0);
	}
	assert_int_equal(peek64(f, 0x58), 0);
}

/* ---- fetch operations --------------------------------------------- */

static void test_atomic_fetch_add_returns_old_value_and_wraps(void **state)
{
	struct fixture *f = *state;
	const int sc = memory_order_seq_cst;
	uint8_t o8;
	uint16_t o16;
	uint32_t o32;
	uint64_t o64;

	assert_int_equal(vmmem_atomic_store_u8(f->mem, 0x61, 0xff, sc), 0);
	assert_int_equal(vmmem_atomic_fetch_add_u8(f->mem, 0x61, 1, &o8, sc),
			 0);
	assert_int_equal(o8, 0xff);
	assert_int_equal(vmmem_atomic_load_u8(f->mem, 0x61, &o8, sc), 0);
	assert_int_equal(o8, 0);

	assert_int_equal(vmmem_atomic_store_u16(f->mem, 0x62, 0xffff, sc), 0);
	assert_int_equal(vmmem_atomic_fetch_add_u16(f->mem, 0x62, 2, &o16, sc),
			 0);
	assert_int_equal(o16, 0xffff);
	assert_int_equal(vmmem_atomic_load_u16(f->mem, 0x62, &o16, sc), 0);
	assert_int_equal(o16, 1);

	assert_int_equal(vmmem_atomic_store_u32(f->mem, 0x64, 0xfffffffeu, sc),
			 0);
	assert_int_equal(vmmem_atomic_fetch_add_u32(f->mem, 0x64, 5, &o32, sc),
			 0);
	assert_int_equal(o32, 0xfffffffeu);
	assert_int_equal(vmmem_atomic_load_u32(f->mem, 0x64, &o32, sc), 0);
	assert_int_equal(o32, 3);

	assert_int_equal(vmmem_atomic_store_u64(f->mem, 0x68, UINT64_MAX, sc),
			 0);
	assert_int_equal(vmmem_atomic_fetch_add_u64(f->mem, 0x68, 1, &o64, sc),
			 0);
	assert_int_equal(o64, UINT64_MAX);
	assert_int_equal(peek64(f, 0x68), 0);
	/* The add stayed inside its own bytes: nothing carried out. */
	assert_int_equal(peek64(f, 0x60) & 0xffff, 0);
}

static void test_atomic_fetch_or_returns_old_value(void **state)
{
	struct fixture *f = *state;
	const int sc = memory_order_seq_cst;
	uint8_t o8;
	uint16_t o16;
	uint32_t o32;
	uint64_t o64;

	poke64(f, 0x70, 0x0101010101010101ull);
	poke64(f, 0x78, 0x0101010101010101ull);
	assert_int_equal(vmmem_atomic_fetch_or_u8(f->mem, 0x70, 0x80, &o8, sc),
			 0);
	assert_int_equal(o8, 0x01);
	assert_int_equal(
		vmmem_atomic_fetch_or_u16(f->mem, 0x72, 0x8000, &o16, sc), 0);
	assert_int_equal(o16, 0x0101);
	assert_int_equal(
		vmmem_atomic_fetch_or_u32(f->mem, 0x74, 0xf0000000u, &o32, sc),
		0);
	assert_int_equal(o32, 0x01010101u);
	assert_int_equal(vmmem_atomic_fetch_or_u64(
				 f->mem, 0x78, 0x8000000000000000ull, &o64, sc),
			 0);
	assert_int_equal(o64, 0x0101010101010101ull);
	assert_int_equal(vmmem_atomic_load_u8(f->mem, 0x70, &o8, sc), 0);
	assert_int_equal(o8, 0x81);
	assert_int_equal(vmmem_atomic_load_u16(f->mem, 0x72, &o16, sc), 0);
	assert_int_equal(o16, 0x8101);
	assert_int_equal(vmmem_atomic_load_u32(f->mem, 0x74, &o32, sc), 0);
	assert_int_equal(o32, 0xf1010101u);
	assert_int_equal(peek64(f, 0x78), 0x8101010101010101ull);
}

static void test_atomic_fetch_and_returns_old_value(void **state)
{
	struct fixture *f = *state;
	const int sc = memory_order_seq_cst;
	uint8_t o8;
	uint16_t o16;
	uint32_t o32;
	uint64_t o64;

	poke64(f, 0x80, UINT64_MAX);
	poke64(f, 0x88, UINT64_MAX);
	assert_int_equal(vmmem_atomic_fetch_and_u8(f->mem, 0x80, 0x0f, &o8, sc),
			 0);
	assert_int_equal(o8, 0xff);
	assert_int_equal(
		vmmem_atomic_fetch_and_u16(f->mem, 0x82, 0x00ff, &o16, sc), 0);
	assert_int_equal(o16, 0xffff);
	assert_int_equal(
		vmmem_atomic_fetch_and_u32(f->mem, 0x84, 0x0000ffffu, &o32, sc),
		0);
	assert_int_equal(o32, 0xffffffffu);
	assert_int_equal(
		vmmem_atomic_fetch_and_u64(f->mem, 0x88, 0xffull, &o64, sc), 0);
	assert_int_equal(o64, UINT64_MAX);
	assert_int_equal(vmmem_atomic_load_u8(f->mem, 0x80, &o8, sc), 0);
	assert_int_equal(o8, 0x0f);
	assert_int_equal(vmmem_atomic_load_u16(f->mem, 0x82, &o16, sc), 0);
	assert_int_equal(o16, 0x00ff);
	assert_int_equal(vmmem_atomic_load_u32(f->mem, 0x84, &o32, sc), 0);
	assert_int_equal(o32, 0x0000ffffu);
	assert_int_equal(peek64(f, 0x88), 0xff);
}

static void test_atomic_fetch_ops_accept_null_old(void **state)
{
	struct fixture *f = *state;
	const int sc = memory_order_seq_cst;
	unsigned char got[8];

	assert_int_equal(vmmem_atomic_fetch_add_u8(f->mem, 0x90, 3, NULL, sc),
			 0);
	assert_int_equal(vmmem_atomic_fetch_add_u16(f->mem, 0x92, 4, NULL, sc),
			 0);
	assert_int_equal(vmmem_atomic_fetch_or_u32(f->mem, 0x94, 5, NULL, sc),
			 0);
	assert_int_equal(vmmem_atomic_fetch_add_u64(f->mem, 0x98, 6, NULL, sc),
			 0);
	assert_int_equal(vmmem_atomic_fetch_and_u64(f->mem, 0x98, 4, NULL, sc),
			 0);
	assert_int_equal(vmmem_atomic_fetch_or_u8(f->mem, 0x91, 1, NULL, sc),
			 0);
	assert_int_equal(
		vmmem_atomic_fetch_and_u16(f->mem, 0x92, 0xff, NULL, sc), 0);
	assert_int_equal(
		vmmem_atomic_fetch_and_u32(f->mem, 0x94, 0xff, NULL, sc), 0);
	assert_int_equal(peek64(f, 0x98), 4);
	assert_int_equal(vmmem_read(f->mem, 0x90, got, 8), 0);
	assert_int_equal(got[0], 3);
	assert_int_equal(got[1], 1);
}

static void test_atomic_fetch_ops_accept_every_order(void **state)
{
	struct fixture *f = *state;
	uint64_t old = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(all_orders); i++) {
		assert_int_equal(vmmem_atomic_fetch_add_u64(
					 f->mem, 0xa0, 1, &old, all_orders[i]),
				 0);
		assert_int_equal(old, i);
		assert_int_equal(vmmem_atomic_fetch_or_u64(f->mem, 0xa8, 0,
							   NULL, all_orders[i]),
				 0);
		assert_int_equal(vmmem_atomic_fetch_and_u64(f->mem, 0xa8,
							    UINT64_MAX, NULL,
							    all_orders[i]),
				 0);
	}
	assert_int_equal(peek64(f, 0xa0), ARRAY_SIZE(all_orders));
}

/* ---- errors ------------------------------------------------------- */

static void test_atomic_rejects_misaligned_values(void **state)
{
	struct fixture *f = *state;
	const int sc = memory_order_seq_cst;
	uint16_t v16 = 0;
	uint32_t v32 = 0;
	uint64_t v64 = 0;

	assert_int_equal(vmmem_atomic_load_u16(f->mem, 0x101, &v16, sc),
			 -EINVAL);
	assert_int_equal(vmmem_atomic_store_u16(f->mem, 0x101, 1, sc), -EINVAL);
	assert_int_equal(vmmem_atomic_load_u32(f->mem, 0x102, &v32, sc),
			 -EINVAL);
	assert_int_equal(vmmem_atomic_store_u32(f->mem, 0x102, 1, sc), -EINVAL);
	assert_int_equal(vmmem_atomic_fetch_add_u32(f->mem, 0x106, 1, NULL, sc),
			 -EINVAL);
	assert_int_equal(vmmem_atomic_load_u64(f->mem, 0x104, &v64, sc),
			 -EINVAL);
	assert_int_equal(vmmem_atomic_store_u64(f->mem, 0x104, 1, sc), -EINVAL);
	assert_int_equal(
		vmmem_atomic_cmpxchg_u64(f->mem, 0x104, &v64, 1, sc, sc),
		-EINVAL);
	assert_int_equal(vmmem_atomic_fetch_or_u64(f->mem, 0x101, 1, NULL, sc),
			 -EINVAL);
	assert_int_equal(vmmem_atomic_fetch_and_u16(f->mem, 0x103, 0, NULL, sc),
			 -EINVAL);
	assert_int_equal(peek64(f, 0x100), 0);
	assert_int_equal(peek64(f, 0x108), 0);
}

static void test_atomic_judges_alignment_by_host_address(void **state)
{
	struct fixture *f = *state;
	const int sc = memory_order_seq_cst;
	uint64_t v64 = 0;
	uint32_t v32 = 0;

	/* U starts at 0x60004 on a page-aligned host address. */
	assert_int_equal(vmmem_atomic_store_u64(f->mem, U_GPA, 0x1234, sc), 0);
	assert_int_equal(vmmem_atomic_load_u64(f->mem, U_GPA, &v64, sc), 0);
	assert_int_equal(v64, 0x1234);
	assert_int_equal(vmmem_atomic_load_u64(f->mem, U_GPA + 4, &v64, sc),
			 -EINVAL);
	assert_int_equal(vmmem_atomic_load_u32(f->mem, U_GPA + 4, &v32, sc), 0);
	assert_int_equal(vmmem_atomic_load_u32(f->mem, U_GPA + 2, &v32, sc),
			 -EINVAL);
}

static void test_atomic_rejects_value_crossing_regions(void **state)
{
	struct fixture *f = *state;
	const int sc = memory_order_seq_cst;
	uint16_t v16 = 0;
	uint32_t v32 = 0;
	uint64_t v64 = 0;

	assert_int_equal(vmmem_atomic_load_u16(f->mem, CROSS_GPA, &v16, sc),
			 -EXDEV);
	assert_int_equal(vmmem_atomic_store_u16(f->mem, CROSS_GPA, 1, sc),
			 -EXDEV);
	assert_int_equal(vmmem_atomic_load_u32(f->mem, CROSS_GPA, &v32, sc),
			 -EXDEV);
	assert_int_equal(vmmem_atomic_store_u32(f->mem, CROSS_GPA, 1, sc),
			 -EXDEV);
	assert_int_equal(
		vmmem_atomic_fetch_add_u32(f->mem, CROSS_GPA, 1, NULL, sc),
		-EXDEV);
	assert_int_equal(vmmem_atomic_load_u64(f->mem, CROSS_GPA, &v64, sc),
			 -EXDEV);
	assert_int_equal(vmmem_atomic_store_u64(f->mem, CROSS_GPA, 1, sc),
			 -EXDEV);
	assert_int_equal(
		vmmem_atomic_cmpxchg_u64(f->mem, CROSS_GPA, &v64, 1, sc, sc),
		-EXDEV);
	assert_int_equal(
		vmmem_atomic_fetch_or_u64(f->mem, CROSS_GPA, 1, NULL, sc),
		-EXDEV);
	assert_int_equal(
		vmmem_atomic_fetch_and_u16(f->mem, CROSS_GPA, 0, NULL, sc),
		-EXDEV);
	assert_int_equal(peek64(f, CROSS_GPA), 0);
}

static void test_atomic_works_on_both_sides_of_a_boundary(void **state)
{
	struct fixture *f = *state;
	const int sc = memory_order_seq_cst;
	uint8_t v8 = 0;
	uint32_t v32 = 0;

	assert_int_equal(vmmem_atomic_store_u8(f->mem, CROSS_GPA, 0x5a, sc), 0);
	assert_int_equal(
		vmmem_atomic_store_u32(f->mem, CROSS_GPA + 1, 0xdeadbeefu, sc),
		0);
	assert_int_equal(vmmem_atomic_load_u8(f->mem, CROSS_GPA, &v8, sc), 0);
	assert_int_equal(vmmem_atomic_load_u32(f->mem, CROSS_GPA + 1, &v32, sc),
			 0);
	assert_int_equal(v8, 0x5a);
	assert_int_equal(v32, 0xdeadbeefu);
}

static void test_atomic_rejects_unbacked_values(void **state)
{
	struct fixture *f = *state;
	const int sc = memory_order_seq_cst;
	uint8_t v8 = 0;
	uint32_t v32 = 0;
	uint64_t v64 = 0;

	assert_int_equal(vmmem_atomic_load_u32(f->mem, 0x8000, &v32, sc),
			 -EFAULT);
	assert_int_equal(vmmem_atomic_store_u32(f->mem, 0x8000, 1, sc),
			 -EFAULT);
	assert_int_equal(vmmem_atomic_load_u8(f->mem, Q_GPA + 4, &v8, sc),
			 -EFAULT);
	/* Q holds only the first four of these eight bytes. */
	assert_int_equal(vmmem_atomic_load_u64(f->mem, Q_GPA, &v64, sc),
			 -EFAULT);
	assert_int_equal(vmmem_atomic_store_u64(f->mem, Q_GPA, 1, sc), -EFAULT);
	assert_int_equal(vmmem_atomic_fetch_add_u64(f->mem, Q_GPA, 1, NULL, sc),
			 -EFAULT);
	assert_int_equal(
		vmmem_atomic_cmpxchg_u64(f->mem, Q_GPA, &v64, 1, sc, sc),
		-EFAULT);
	assert_int_equal(vmmem_atomic_load_u32(f->mem, Q_GPA, &v32, sc), 0);
	assert_int_equal(v32, 0);
}

static void test_atomic_rejects_wrapping_values(void **state)
{
	struct fixture *f = *state;
	const int sc = memory_order_seq_cst;
	uint16_t v16 = 0;
	uint32_t v32 = 0;
	uint64_t v64 = 0;

	assert_int_equal(
		vmmem_atomic_load_u64(f->mem, UINT64_MAX - 3, &v64, sc),
		-EOVERFLOW);
	assert_int_equal(vmmem_atomic_store_u64(f->mem, UINT64_MAX - 3, 1, sc),
			 -EOVERFLOW);
	assert_int_equal(
		vmmem_atomic_load_u32(f->mem, UINT64_MAX - 1, &v32, sc),
		-EOVERFLOW);
	assert_int_equal(
		vmmem_atomic_fetch_add_u16(f->mem, UINT64_MAX, 1, &v16, sc),
		-EOVERFLOW);
	assert_int_equal(vmmem_atomic_cmpxchg_u32(f->mem, UINT64_MAX - 1, &v32,
						  1, sc, sc),
			 -EOVERFLOW);
}

static void test_atomic_writes_to_readonly_region_are_refused(void **state)
{
	struct fixture *f = *state;
	const int sc = memory_order_seq_cst;
	uint8_t e8 = 0;
	uint32_t e32 = 0;
	uint64_t e64 = 0;

	assert_int_equal(vmmem_atomic_store_u8(f->mem, RO_GPA, 1, sc), -EACCES);
	assert_int_equal(vmmem_atomic_store_u16(f->mem, RO_GPA, 1, sc),
			 -EACCES);
	assert_int_equal(vmmem_atomic_store_u32(f->mem, RO_GPA, 1, sc),
			 -EACCES);
	assert_int_equal(vmmem_atomic_store_u64(f->mem, RO_GPA, 1, sc),
			 -EACCES);
	assert_int_equal(
		vmmem_atomic_fetch_add_u64(f->mem, RO_GPA, 1, NULL, sc),
		-EACCES);
	assert_int_equal(vmmem_atomic_fetch_or_u32(f->mem, RO_GPA, 1, NULL, sc),
			 -EACCES);
	assert_int_equal(
		vmmem_atomic_fetch_and_u16(f->mem, RO_GPA, 0, NULL, sc),
		-EACCES);
	assert_int_equal(
		vmmem_atomic_cmpxchg_u8(f->mem, RO_GPA, &e8, 1, sc, sc),
		-EACCES);
	assert_int_equal(
		vmmem_atomic_cmpxchg_u32(f->mem, RO_GPA, &e32, 1, sc, sc),
		-EACCES);
	assert_int_equal(
		vmmem_atomic_cmpxchg_u64(f->mem, RO_GPA, &e64, 1, sc, sc),
		-EACCES);
	assert_int_equal(peek64(f, RO_GPA), 0);
}

static void test_atomic_load_from_readonly_region_works(void **state)
{
	struct fixture *f = *state;
	uint64_t v64 = 1;
	uint8_t v8 = 1;

	assert_int_equal(vmmem_atomic_load_u64(f->mem, RO_GPA + 8, &v64,
					       memory_order_acquire),
			 0);
	assert_int_equal(vmmem_atomic_load_u8(f->mem, RO_GPA + 0xfff, &v8,
					      memory_order_relaxed),
			 0);
	assert_int_equal(v64, 0);
	assert_int_equal(v8, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_atomic_store_then_load_with_every_valid_order),
		T(test_atomic_store_writes_host_byte_order),
		T(test_atomic_load_reads_guest_bytes),
		T(test_atomic_load_rejects_release_orders),
		T(test_atomic_store_rejects_acquire_orders),
		T(test_atomic_rejects_unknown_orders),
		T(test_atomic_cmpxchg_swaps_when_expected_matches),
		T(test_atomic_cmpxchg_reports_value_when_expected_differs),
		T(test_atomic_cmpxchg_accepts_valid_order_pairs),
		T(test_atomic_cmpxchg_rejects_bad_failure_orders),
		T(test_atomic_fetch_add_returns_old_value_and_wraps),
		T(test_atomic_fetch_or_returns_old_value),
		T(test_atomic_fetch_and_returns_old_value),
		T(test_atomic_fetch_ops_accept_null_old),
		T(test_atomic_fetch_ops_accept_every_order),
		T(test_atomic_rejects_misaligned_values),
		T(test_atomic_judges_alignment_by_host_address),
		T(test_atomic_rejects_value_crossing_regions),
		T(test_atomic_works_on_both_sides_of_a_boundary),
		T(test_atomic_rejects_unbacked_values),
		T(test_atomic_rejects_wrapping_values),
		T(test_atomic_writes_to_readonly_region_are_refused),
		T(test_atomic_load_from_readonly_region_works),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
