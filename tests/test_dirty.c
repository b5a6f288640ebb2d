/* SPDX-License-Identifier: MIT */
/*
 * Tests for vmmem/dirty.h: which write paths mark which pages, the
 * guest-address queries, the region-level bitmap operations, harvesting with
 * get-and-reset, and merging a KVM dirty log.
 *
 * The fixture is one set of four regions:
 *   R0 [0x000000, 0x100000)  tracked, 256 pages (four bitmap words)
 *   R1 [0x100000, 0x110000)  tracked, 16 pages, adjacent to R0
 *   R2 [0x110000, 0x111000)  not tracked, adjacent to R1
 *   R3 [0x200000, 0x201000)  tracked, one page, with holes on both sides
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmmem/atomic.h>
#include <vmmem/dirty.h>
#include <vmmem/io.h>
#include <vmmem/memory.h>
#include <vmmem/region.h>
#include <vmmem/scalar.h>
#include <vmmem/slice.h>

#include "fixture.h"
#include "port.h"
#include "sysmock.h"

#define PG 4096ull
#define R0_GPA 0x000000ull
#define R0_LEN 0x100000ull
#define R1_GPA 0x100000ull
#define R1_LEN 0x010000ull
#define R2_GPA 0x110000ull
#define R2_LEN 0x001000ull
#define R3_GPA 0x200000ull
#define R3_LEN 0x001000ull

/* Words in R0's bitmap, the largest of the fixture. */
#define MAX_WORDS 4

/* Page lists for expect_dirty(), ended by -1. */
#define DIRTY(...) ((const int[]){ __VA_ARGS__, -1 })
#define CLEAN ((const int[]){ -1 })

struct fixture {
	struct vmmem *mem;
	struct vmmem_region *r[4];
};

static int setup(void **state)
{
	static const struct fixture_region spec[4] = {
		{ R0_GPA, R0_LEN, VMMEM_REGION_DIRTY_LOG },
		{ R1_GPA, R1_LEN, VMMEM_REGION_DIRTY_LOG },
		{ R2_GPA, R2_LEN, 0 },
		{ R3_GPA, R3_LEN, VMMEM_REGION_DIRTY_LOG },
	};
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (fixture_mem_create(spec, 4, f->r, &f->mem)) {
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
	fixture_regions_destroy(f->r, 4);
	free(f);
	return 0;
}

/*
 * Harvest a region's bitmap and check that exactly the listed pages (ended
 * by -1) were dirty. This resets the bitmap.
 */
static void expect_dirty(struct vmmem_region *r, const int *pages)
{
	uint64_t want[MAX_WORDS] = { 0 }, got[MAX_WORDS];
	size_t i;

	for (i = 0; pages[i] >= 0; i++)
		want[pages[i] / 64] |= 1ull << (pages[i] % 64);
	memset(got, 0xee, sizeof(got));
	assert_int_equal(vmmem_region_dirty_get_and_reset(r, got, MAX_WORDS),
			 0);
	for (i = 0; i < MAX_WORDS; i++)
		assert_int_equal(got[i], want[i]);
}

/* Harvest a region into words[MAX_WORDS]. */
static void harvest(struct vmmem_region *r, uint64_t *words)
{
	assert_int_equal(vmmem_region_dirty_get_and_reset(r, words, MAX_WORDS),
			 0);
}

/* A pipe holding len bytes of data, with its write end closed. */
static vmmem_fd_t pipe_with(const void *data, size_t len)
{
	vmmem_fd_t p[2];

	assert_int_equal(port_pipe(p), 0);
	assert_int_equal(port_write(p[1], data, len), (long long)len);
	port_close(p[1]);
	return p[0];
}

/* ---- what marks --------------------------------------------------- */

static void test_dirty_regions_start_clean(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_dirty_test(f->mem, R0_GPA, R0_LEN + R1_LEN), 0);
	expect_dirty(f->r[0], CLEAN);
	expect_dirty(f->r[1], CLEAN);
	expect_dirty(f->r[3], CLEAN);
}

static void test_dirty_write_marks_written_page(void **state)
{
	struct fixture *f = *state;
	char buf[100] = { 1 };

	assert_int_equal(vmmem_write(f->mem, 0x500a, buf, sizeof(buf)), 0);
	expect_dirty(f->r[0], DIRTY(5));
	expect_dirty(f->r[1], CLEAN);
}

static void test_dirty_write_crossing_page_marks_both_pages(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_write(f->mem, 0x1ffe, "abcd", 4), 0);
	expect_dirty(f->r[0], DIRTY(1, 2));
}

static void test_dirty_write_crossing_regions_marks_both(void **state)
{
	struct fixture *f = *state;
	char buf[0x20] = { 2 };

	assert_int_equal(vmmem_write(f->mem, R1_GPA - 0x10, buf, sizeof(buf)),
			 0);
	expect_dirty(f->r[0], DIRTY(255));
	expect_dirty(f->r[1], DIRTY(0));
}

static void test_dirty_failed_write_marks_nothing(void **state)
{
	struct fixture *f = *state;
	char buf[0x200] = { 3 };

	assert_int_equal(
		vmmem_write(f->mem, R3_GPA + R3_LEN - 0x100, buf, sizeof(buf)),
		-EFAULT);
	expect_dirty(f->r[3], CLEAN);
}

static void test_dirty_write_partial_marks_pages_up_to_hole(void **state)
{
	struct fixture *f = *state;
	static char buf[0x2000];
	size_t done = 0;

	/* 0x100 bytes in R1, 0x1000 in untracked R2, then the hole. */
	assert_int_equal(vmmem_write_partial(f->mem, R2_GPA - 0x100, buf,
					     sizeof(buf), &done),
			 -EFAULT);
	assert_int_equal(done, 0x1100);
	expect_dirty(f->r[1], DIRTY(15));
	expect_dirty(f->r[0], CLEAN);
}

static void test_dirty_write_partial_marks_written_pages(void **state)
{
	struct fixture *f = *state;
	char buf[0x1001] = { 4 };
	size_t done = 0;

	assert_int_equal(
		vmmem_write_partial(f->mem, 0x8000, buf, sizeof(buf), &done),
		0);
	assert_int_equal(done, sizeof(buf));
	expect_dirty(f->r[0], DIRTY(8, 9));
}

static void test_dirty_fill_marks_filled_pages(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_fill(f->mem, 0x3000, 0xab, 0x2001), 0);
	expect_dirty(f->r[0], DIRTY(3, 4, 5));
}

static void test_dirty_scalar_writes_mark_their_page(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_write_u8(f->mem, 0x1001, 1), 0);
	assert_int_equal(vmmem_write_u16(f->mem, 0x2002, 2), 0);
	assert_int_equal(vmmem_write_u32(f->mem, 0x3004, 3), 0);
	assert_int_equal(vmmem_write_u64(f->mem, 0x4008, 4), 0);
	assert_int_equal(vmmem_write_u64(f->mem, R1_GPA + 0x3ff8, 5), 0);
	assert_int_equal(vmmem_write_u8(f->mem, R1_GPA + 0x5000, 6), 0);
	expect_dirty(f->r[0], DIRTY(1, 2, 3, 4));
	expect_dirty(f->r[1], DIRTY(3, 5));
}

static void test_dirty_le_scalar_writes_mark_their_page(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_write_le16(f->mem, 0x6002, 2), 0);
	assert_int_equal(vmmem_write_le32(f->mem, 0x7ffc, 3), 0);
	assert_int_equal(vmmem_write_le64(f->mem, R1_GPA + 0x1000, 4), 0);
	expect_dirty(f->r[0], DIRTY(6, 7));
	expect_dirty(f->r[1], DIRTY(1));
}

static void test_dirty_misaligned_scalar_write_marks_both_pages(void **s)
{
	struct fixture *f = *s;

	assert_int_equal(vmmem_write_u32(f->mem, 0x6ffe, 0x11223344), 0);
	assert_int_equal(vmmem_write_le64(f->mem, 0x9ffd, 7), 0);
	expect_dirty(f->r[0], DIRTY(6, 7, 9, 10));
}

static void test_dirty_scalar_write_crossing_regions_marks_both(void **s)
{
	struct fixture *f = *s;

	assert_int_equal(vmmem_write_u64(f->mem, R1_GPA - 4, ~0ull), 0);
	expect_dirty(f->r[0], DIRTY(255));
	expect_dirty(f->r[1], DIRTY(0));
}

static void test_dirty_atomic_stores_mark_their_page(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
		vmmem_atomic_store_u8(f->mem, 0x1003, 1, memory_order_relaxed),
		0);
	assert_int_equal(
		vmmem_atomic_store_u16(f->mem, 0x2ffe, 2, memory_order_release),
		0);
	assert_int_equal(
		vmmem_atomic_store_u32(f->mem, 0x3000, 3, memory_order_seq_cst),
		0);
	assert_int_equal(
		vmmem_atomic_store_u64(f->mem, 0x4ff8, 4, memory_order_release),
		0);
	assert_int_equal(vmmem_atomic_store_u32(f->mem, R1_GPA + 0xf000, 5,
						memory_order_seq_cst),
			 0);
	expect_dirty(f->r[0], DIRTY(1, 2, 3, 4));
	expect_dirty(f->r[1], DIRTY(15));
}

static void test_dirty_atomic_fetch_ops_mark_their_page(void **state)
{
	struct fixture *f = *state;
	uint32_t old32;
	uint64_t old64;
	uint8_t old8;
	uint16_t old16;

	assert_int_equal(vmmem_atomic_fetch_add_u32(f->mem, 0x1000, 1, &old32,
						    memory_order_seq_cst),
			 0);
	assert_int_equal(vmmem_atomic_fetch_or_u64(f->mem, 0x2008, 2, &old64,
						   memory_order_relaxed),
			 0);
	assert_int_equal(vmmem_atomic_fetch_and_u8(f->mem, 0x3fff, 3, &old8,
						   memory_order_acq_rel),
			 0);
	assert_int_equal(vmmem_atomic_fetch_add_u16(f->mem, R1_GPA + 0x4002, 4,
						    &old16,
						    memory_order_acquire),
			 0);
	expect_dirty(f->r[0], DIRTY(1, 2, 3));
	expect_dirty(f->r[1], DIRTY(4));
}

static void test_dirty_cmpxchg_marks_page(void **state)
{
	struct fixture *f = *state;
	uint64_t expected = 0;

	assert_int_equal(vmmem_atomic_cmpxchg_u64(f->mem, 0x5000, &expected, 9,
						  memory_order_seq_cst,
						  memory_order_seq_cst),
			 1);
	expect_dirty(f->r[0], DIRTY(5));
}

static void test_dirty_failed_cmpxchg_marks_page(void **state)
{
	struct fixture *f = *state;
	uint32_t expected = 1;

	assert_int_equal(vmmem_atomic_cmpxchg_u32(f->mem, 0x6004, &expected, 9,
						  memory_order_seq_cst,
						  memory_order_relaxed),
			 0);
	assert_int_equal(expected, 0);
	expect_dirty(f->r[0], DIRTY(6));
}

static void test_dirty_read_from_fd_marks_pages_read(void **state)
{
	struct fixture *f = *state;
	char data[0x20];
	size_t done = 0;
	vmmem_fd_t fd;

	memset(data, 0x61, sizeof(data));
	fd = pipe_with(data, sizeof(data));
	assert_int_equal(vmmem_read_from_fd(f->mem, R1_GPA - 0x10, sizeof(data),
					    fd, -1, &done),
			 0);
	assert_int_equal(done, sizeof(data));
	expect_dirty(f->r[0], DIRTY(255));
	expect_dirty(f->r[1], DIRTY(0));
	port_close(fd);
}

static void test_dirty_slice_write_marks_pages(void **state)
{
	struct fixture *f = *state;
	struct vmmem_slice s;

	assert_int_equal(vmmem_get_slice(f->mem, 0x7000, 0x2000, &s), 0);
	assert_int_equal(vmmem_slice_write(&s, 0xffe, "wxyz", 4), 0);
	expect_dirty(f->r[0], DIRTY(7, 8));
}

static void test_dirty_reads_do_not_mark(void **state)
{
	struct fixture *f = *state;
	static char buf[0x3000];
	struct vmmem_slice s;
	struct iovec iov[4];
	size_t done;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	void *hva;
	vmmem_fd_t p[2];
	int n;

	assert_int_equal(vmmem_read(f->mem, R1_GPA - 0x1000, buf, 0x2000), 0);
	assert_int_equal(vmmem_read_partial(f->mem, R2_GPA - 0x800, buf,
					    sizeof(buf), &done),
			 -EFAULT);
	assert_int_equal(vmmem_read_u8(f->mem, 0x1000, &v8), 0);
	assert_int_equal(vmmem_read_u16(f->mem, 0x2000, &v16), 0);
	assert_int_equal(vmmem_read_u32(f->mem, 0x2ffe, &v32), 0);
	assert_int_equal(vmmem_read_u64(f->mem, R1_GPA, &v64), 0);
	assert_int_equal(vmmem_read_le32(f->mem, 0x3000, &v32), 0);
	assert_int_equal(vmmem_atomic_load_u64(f->mem, 0x4000, &v64,
					       memory_order_acquire),
			 0);
	assert_int_equal(vmmem_get_slice(f->mem, 0x5000, 0x1000, &s), 0);
	assert_int_equal(vmmem_slice_read(&s, 0, buf, 0x1000), 0);
	assert_int_equal(vmmem_get_iovec(f->mem, 0x6000, 0x1000, 0, iov, 4, &n),
			 0);
	assert_int_equal(vmmem_get_ptr(f->mem, 0x7000, 0x10, &hva), 0);
	assert_int_equal(port_pipe(p), 0);
	assert_int_equal(
		vmmem_write_to_fd(f->mem, 0x8000, 0x100, p[1], -1, &done), 0);
	port_close(p[0]);
	port_close(p[1]);
	assert_int_equal(vmmem_dirty_test(f->mem, R0_GPA, R0_LEN + R1_LEN), 0);
	expect_dirty(f->r[0], CLEAN);
	expect_dirty(f->r[1], CLEAN);
}

static void test_dirty_pointer_write_is_marked_by_mark_dirty(void **state)
{
	struct fixture *f = *state;
	void *hva;

	assert_int_equal(vmmem_get_ptr(f->mem, 0x9000, 16, &hva), 0);
	memset(hva, 0x7f, 16);
	assert_int_equal(vmmem_dirty_test(f->mem, 0x9000, 16), 0);
	assert_int_equal(vmmem_mark_dirty(f->mem, 0x9000, 16), 0);
	assert_int_equal(vmmem_dirty_test(f->mem, 0x9000, 16), 1);
	expect_dirty(f->r[0], DIRTY(9));
}

static void test_dirty_iovec_write_is_marked_by_mark_dirty(void **state)
{
	struct fixture *f = *state;
	struct iovec iov[2];
	int i, n = 0;

	assert_int_equal(
		vmmem_get_iovec(f->mem, R1_GPA - 0x100, 0x200, 1, iov, 2, &n),
		0);
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++)
		memset(iov[i].iov_base, 0x11, iov[i].iov_len);
	assert_int_equal(vmmem_dirty_test(f->mem, R1_GPA - 0x100, 0x200), 0);
	assert_int_equal(vmmem_mark_dirty(f->mem, R1_GPA - 0x100, 0x200), 0);
	expect_dirty(f->r[0], DIRTY(255));
	expect_dirty(f->r[1], DIRTY(0));
}

/* ---- guest-address queries ---------------------------------------- */

static void test_dirty_mark_dirty_skips_untracked_regions(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_mark_dirty(f->mem, R2_GPA - 0x1000, 0x2000), 0);
	expect_dirty(f->r[1], DIRTY(15));
}

static void test_dirty_mark_dirty_of_zero_length_marks_nothing(void **s)
{
	struct fixture *f = *s;

	assert_int_equal(vmmem_mark_dirty(f->mem, 0x5000, 0), 0);
	assert_int_equal(vmmem_mark_dirty(f->mem, 0x300000, 0), 0);
	expect_dirty(f->r[0], CLEAN);
}

static void test_dirty_mark_dirty_rejects_unbacked_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_mark_dirty(f->mem, R3_GPA + 0xf00, 0x200),
			 -EFAULT);
	assert_int_equal(vmmem_mark_dirty(f->mem, R3_GPA - 0x100, 0x200),
			 -EFAULT);
	assert_int_equal(vmmem_mark_dirty(f->mem, R2_GPA, 0x2000), -EFAULT);
	expect_dirty(f->r[3], CLEAN);
}

static void test_dirty_mark_dirty_rejects_wrapping_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_mark_dirty(f->mem, UINT64_MAX - 10, 100),
			 -EOVERFLOW);
}

static void test_dirty_test_reports_any_touched_page(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_region_dirty_set(f->r[0], 3 * PG, 1), 0);
	assert_int_equal(vmmem_dirty_test(f->mem, 0x2fff, 2), 1);
	assert_int_equal(vmmem_dirty_test(f->mem, 0x3fff, 1), 1);
	assert_int_equal(vmmem_dirty_test(f->mem, 0x2000, 0x1000), 0);
	assert_int_equal(vmmem_dirty_test(f->mem, 0x4000, 0x1000), 0);
	assert_int_equal(vmmem_dirty_test(f->mem, 0, R0_LEN), 1);
}

static void test_dirty_test_of_zero_length_is_zero(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_region_dirty_set(f->r[0], 3 * PG, PG), 0);
	assert_int_equal(vmmem_dirty_test(f->mem, 0x3000, 0), 0);
}

static void test_dirty_test_spans_regions(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_region_dirty_set(f->r[1], 0, 1), 0);
	assert_int_equal(vmmem_dirty_test(f->mem, R1_GPA - 0x1000, 0x1000), 0);
	assert_int_equal(vmmem_dirty_test(f->mem, R1_GPA - 0x1000, 0x1001), 1);
}

static void test_dirty_test_rejects_untracked_region(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_dirty_test(f->mem, R2_GPA, 1), -ENOTSUP);
	assert_int_equal(vmmem_dirty_test(f->mem, R2_GPA - 0x1000, 0x2000),
			 -ENOTSUP);
}

static void test_dirty_test_rejects_unbacked_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_dirty_test(f->mem, R3_GPA + 0xf00, 0x200),
			 -EFAULT);
	assert_int_equal(vmmem_dirty_test(f->mem, 0x300000, 1), -EFAULT);
}

static void test_dirty_test_rejects_wrapping_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_dirty_test(f->mem, UINT64_MAX, 2), -EOVERFLOW);
}

static void test_dirty_clear_cleans_every_touched_page(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_region_dirty_set(f->r[0], 2 * PG, 3 * PG), 0);
	assert_int_equal(vmmem_dirty_clear(f->mem, 0x2fff, 2), 0);
	expect_dirty(f->r[0], DIRTY(4));
}

static void test_dirty_clear_spans_regions(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_mark_dirty(f->mem, R1_GPA - 1, 2), 0);
	assert_int_equal(vmmem_dirty_clear(f->mem, R1_GPA - 1, 2), 0);
	expect_dirty(f->r[0], CLEAN);
	expect_dirty(f->r[1], CLEAN);
}

static void test_dirty_clear_of_untracked_region_clears_nothing(void **s)
{
	struct fixture *f = *s;

	assert_int_equal(vmmem_region_dirty_set(f->r[1], 15 * PG, 1), 0);
	assert_int_equal(vmmem_dirty_clear(f->mem, R2_GPA - 0x1000, 0x2000),
			 -ENOTSUP);
	expect_dirty(f->r[1], DIRTY(15));
}

static void test_dirty_clear_of_unbacked_range_clears_nothing(void **s)
{
	struct fixture *f = *s;

	assert_int_equal(vmmem_region_dirty_set(f->r[3], 0, R3_LEN), 0);
	assert_int_equal(vmmem_dirty_clear(f->mem, R3_GPA, 0x2000), -EFAULT);
	expect_dirty(f->r[3], DIRTY(0));
}

static void test_dirty_clear_rejects_wrapping_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_dirty_clear(f->mem, UINT64_MAX - 1, 3),
			 -EOVERFLOW);
}

/* ---- region bitmaps ----------------------------------------------- */

static void test_dirty_region_pages_counts_tracked_pages(void **state)
{
	struct fixture *f = *state;

	assert_true(vmmem_region_dirty_pages(f->r[0]) == 256);
	assert_true(vmmem_region_dirty_pages(f->r[1]) == 16);
	assert_true(vmmem_region_dirty_pages(f->r[2]) == 0);
}

static void test_dirty_region_set_crosses_word_boundary(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_region_dirty_set(f->r[0], 60 * PG, 11 * PG), 0);
	expect_dirty(f->r[0],
		     DIRTY(60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70));
}

static void test_dirty_region_set_marks_partly_touched_pages(void **s)
{
	struct fixture *f = *s;

	assert_int_equal(
		vmmem_region_dirty_set(f->r[0], 60 * PG + 100, 10 * PG), 0);
	expect_dirty(f->r[0],
		     DIRTY(60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70));
}

static void test_dirty_region_clear_crosses_word_boundary(void **state)
{
	struct fixture *f = *state;
	uint64_t w[MAX_WORDS];

	assert_int_equal(vmmem_region_dirty_set(f->r[0], 0, R0_LEN), 0);
	assert_int_equal(
		vmmem_region_dirty_clear(f->r[0], 60 * PG + 100, 10 * PG), 0);
	harvest(f->r[0], w);
	assert_int_equal(w[0], 0x0fffffffffffffffull);
	assert_int_equal(w[1], ~0x7full);
	assert_int_equal(w[2], ~0ull);
	assert_int_equal(w[3], ~0ull);
}

static void test_dirty_region_test_crosses_word_boundary(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_region_dirty_set(f->r[0], 64 * PG, 1), 0);
	assert_int_equal(vmmem_region_dirty_test(f->r[0], 60 * PG, 11 * PG), 1);
	assert_int_equal(vmmem_region_dirty_test(f->r[0], 56 * PG, 8 * PG), 0);
	assert_int_equal(vmmem_region_dirty_test(f->r[0], 65 * PG, 5 * PG), 0);
	assert_int_equal(vmmem_region_dirty_test(f->r[0], 63 * PG + 4095, 2),
			 1);
}

static void test_dirty_region_set_covers_whole_bitmap(void **state)
{
	struct fixture *f = *state;
	uint64_t w[MAX_WORDS];
	int i;

	assert_int_equal(vmmem_region_dirty_set(f->r[0], 0, R0_LEN), 0);
	harvest(f->r[0], w);
	for (i = 0; i < MAX_WORDS; i++)
		assert_int_equal(w[i], ~0ull);
}

static void test_dirty_region_clear_covers_whole_bitmap(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_region_dirty_set(f->r[0], 0, R0_LEN), 0);
	assert_int_equal(vmmem_region_dirty_clear(f->r[0], 0, R0_LEN), 0);
	assert_int_equal(vmmem_region_dirty_test(f->r[0], 0, R0_LEN), 0);
	expect_dirty(f->r[0], CLEAN);
}

static void test_dirty_region_test_covers_whole_bitmap(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_region_dirty_test(f->r[0], 0, R0_LEN), 0);
	assert_int_equal(vmmem_region_dirty_set(f->r[0], R0_LEN - 1, 1), 0);
	assert_int_equal(vmmem_region_dirty_test(f->r[0], 0, R0_LEN), 1);
}

static void test_dirty_region_ops_of_zero_length_do_nothing(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_region_dirty_set(f->r[0], 5 * PG, 0), 0);
	expect_dirty(f->r[0], CLEAN);
	assert_int_equal(vmmem_region_dirty_set(f->r[0], 5 * PG, 1), 0);
	assert_int_equal(vmmem_region_dirty_test(f->r[0], 5 * PG, 0), 0);
	assert_int_equal(vmmem_region_dirty_clear(f->r[0], 5 * PG, 0), 0);
	expect_dirty(f->r[0], DIRTY(5));
}

static void test_dirty_region_ops_reject_range_past_region(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_region_dirty_set(f->r[0], R0_LEN - PG, 2 * PG),
			 -EFAULT);
	assert_int_equal(vmmem_region_dirty_set(f->r[0], R0_LEN, 1), -EFAULT);
	assert_int_equal(vmmem_region_dirty_clear(f->r[0], R0_LEN - 1, 2),
			 -EFAULT);
	assert_int_equal(vmmem_region_dirty_test(f->r[0], 0, R0_LEN + 1),
			 -EFAULT);
}

static void test_dirty_region_ops_reject_wrapping_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_region_dirty_set(f->r[0], UINT64_MAX, 2),
			 -EOVERFLOW);
	assert_int_equal(vmmem_region_dirty_clear(f->r[0], 4096, UINT64_MAX),
			 -EOVERFLOW);
	assert_int_equal(vmmem_region_dirty_test(f->r[0], UINT64_MAX - 1, 3),
			 -EOVERFLOW);
}

static void test_dirty_region_ops_reject_untracked_region(void **state)
{
	struct fixture *f = *state;
	uint64_t w[MAX_WORDS] = { 1 };

	assert_int_equal(vmmem_region_dirty_set(f->r[2], 0, 1), -ENOTSUP);
	assert_int_equal(vmmem_region_dirty_clear(f->r[2], 0, 1), -ENOTSUP);
	assert_int_equal(vmmem_region_dirty_test(f->r[2], 0, 1), -ENOTSUP);
	assert_int_equal(
		vmmem_region_dirty_get_and_reset(f->r[2], w, MAX_WORDS),
		-ENOTSUP);
	assert_int_equal(vmmem_region_dirty_merge(f->r[2], w, 1), -ENOTSUP);
}

static void test_dirty_get_and_reset_returns_bits_and_clears(void **state)
{
	struct fixture *f = *state;
	uint64_t w[MAX_WORDS];

	assert_int_equal(vmmem_region_dirty_set(f->r[0], 0, 1), 0);
	assert_int_equal(vmmem_region_dirty_set(f->r[0], 63 * PG, 1), 0);
	assert_int_equal(vmmem_region_dirty_set(f->r[0], 64 * PG, 1), 0);
	assert_int_equal(vmmem_region_dirty_set(f->r[0], 255 * PG, 1), 0);
	harvest(f->r[0], w);
	assert_int_equal(w[0], 1ull | 1ull << 63);
	assert_int_equal(w[1], 1);
	assert_int_equal(w[2], 0);
	assert_int_equal(w[3], 1ull << 63);
	assert_int_equal(vmmem_region_dirty_test(f->r[0], 0, R0_LEN), 0);
	expect_dirty(f->r[0], CLEAN);
}

static void test_dirty_get_and_reset_rejects_short_array(void **state)
{
	struct fixture *f = *state;
	uint64_t w[MAX_WORDS];

	assert_int_equal(vmmem_region_dirty_set(f->r[0], 255 * PG, 1), 0);
	assert_int_equal(
		vmmem_region_dirty_get_and_reset(f->r[0], w, MAX_WORDS - 1),
		-EINVAL);
	assert_int_equal(vmmem_region_dirty_get_and_reset(f->r[1], w, 0),
			 -EINVAL);
	expect_dirty(f->r[0], DIRTY(255));
}

static void test_dirty_get_and_reset_rejects_null_array(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_region_dirty_set(f->r[1], 0, 1), 0);
	assert_int_equal(vmmem_region_dirty_get_and_reset(f->r[1], NULL, 1),
			 -EINVAL);
	expect_dirty(f->r[1], DIRTY(0));
}

/*
 * The harvest's barrier fails: an error, not a harvest that may miss a
 * writer's data, and the bits stay in the region for the next one.
 */
static void test_dirty_get_and_reset_fails_without_its_barrier(void **state)
{
	struct fixture *f = *state;
	uint64_t w[MAX_WORDS];

#ifdef _WIN32
	(void)f;
	(void)w;
	PORT_SKIP("FlushProcessWriteBuffers() cannot fail");
#else
	assert_int_equal(vmmem_region_dirty_set(f->r[0], 64 * PG, 1), 0);
	sysmock_reset();
	sysmock_fail(SYSMOCK_MEMBARRIER, 0, EPERM);
	assert_int_equal(
		vmmem_region_dirty_get_and_reset(f->r[0], w, MAX_WORDS),
		-EPERM);
	sysmock_reset();
	expect_dirty(f->r[0], DIRTY(64));
#endif
}

static void test_dirty_get_and_reset_zeroes_extra_words(void **state)
{
	struct fixture *f = *state;
	uint64_t w[6];

	memset(w, 0xaa, sizeof(w));
	assert_int_equal(vmmem_region_dirty_set(f->r[0], 255 * PG, 1), 0);
	assert_int_equal(vmmem_region_dirty_get_and_reset(f->r[0], w, 6), 0);
	assert_int_equal(w[0], 0);
	assert_int_equal(w[3], 1ull << 63);
	assert_int_equal(w[4], 0);
	assert_int_equal(w[5], 0);
}

static void test_dirty_merge_ors_kvm_log_into_bitmap(void **state)
{
	struct fixture *f = *state;
	/* KVM_GET_DIRTY_LOG layout: bit i of word i / 64 is page i. */
	const uint64_t log[MAX_WORDS] = { 1ull << 3 | 1ull << 63, 1ull << 3, 0,
					  1ull << 63 };

	assert_int_equal(vmmem_region_dirty_set(f->r[0], 10 * PG, 1), 0);
	assert_int_equal(vmmem_region_dirty_merge(f->r[0], log, 256), 0);
	assert_int_equal(vmmem_dirty_test(f->mem, 67 * PG, 1), 1);
	assert_int_equal(vmmem_dirty_test(f->mem, 66 * PG, PG), 0);
	assert_int_equal(vmmem_dirty_test(f->mem, 68 * PG, PG), 0);
	expect_dirty(f->r[0], DIRTY(3, 10, 63, 67, 255));
}

static void test_dirty_merge_ignores_bits_past_npages(void **state)
{
	struct fixture *f = *state;
	const uint64_t log[MAX_WORDS] = { ~0ull, ~0ull, ~0ull, ~0ull };
	uint64_t w[MAX_WORDS];

	assert_int_equal(vmmem_region_dirty_merge(f->r[0], log, 70), 0);
	harvest(f->r[0], w);
	assert_int_equal(w[0], ~0ull);
	assert_int_equal(w[1], 0x3full);
	assert_int_equal(w[2], 0);
	assert_int_equal(w[3], 0);
}

static void test_dirty_merge_rejects_too_many_pages(void **state)
{
	struct fixture *f = *state;
	const uint64_t log[MAX_WORDS + 1] = { 1, 0, 0, 0, 1 };

	assert_int_equal(vmmem_region_dirty_merge(f->r[0], log, 257), -EINVAL);
	assert_int_equal(vmmem_region_dirty_merge(f->r[1], log, 17), -EINVAL);
	expect_dirty(f->r[0], CLEAN);
	expect_dirty(f->r[1], CLEAN);
}

static void test_dirty_merge_rejects_null_bits(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_region_dirty_merge(f->r[0], NULL, 1), -EINVAL);
	assert_int_equal(vmmem_region_dirty_merge(f->r[0], NULL, 0), 0);
	expect_dirty(f->r[0], CLEAN);
}

/* A region whose last page is partial still has a bit for that page. */
static void test_dirty_partial_last_page_has_a_bit(void **state)
{
	struct vmmem_region *r = NULL;
	struct vmmem *mem = NULL;
	const uint64_t log[1] = { ~0ull };
	uint64_t w[1];

	(void)state;
	assert_int_equal(vmmem_region_create_anon(0x300000, 2 * PG + 5,
						  VMMEM_REGION_DIRTY_LOG, &r),
			 0);
	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	assert_true(vmmem_region_dirty_pages(r) == 3);
	assert_int_equal(vmmem_write_u8(mem, 0x300000 + 2 * PG + 4, 1), 0);
	assert_int_equal(vmmem_region_dirty_get_and_reset(r, w, 1), 0);
	assert_int_equal(w[0], 4);
	assert_int_equal(vmmem_region_dirty_set(r, 2 * PG, 5), 0);
	assert_int_equal(vmmem_region_dirty_set(r, 2 * PG, 6), -EFAULT);
	assert_int_equal(vmmem_region_dirty_merge(r, log, 4), -EINVAL);
	assert_int_equal(vmmem_region_dirty_merge(r, log, 3), 0);
	assert_int_equal(vmmem_region_dirty_get_and_reset(r, w, 1), 0);
	assert_int_equal(w[0], 7);
	vmmem_destroy(mem);
	vmmem_region_destroy(r);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* Guest lengths are 64-bit on every host: a range just past 4 GiB is not
 * cut to its low 32 bits (one page here), so nothing is marked. */
static void test_dirty_lengths_past_4_gib_are_not_cut(void **state)
{
	struct fixture *f = *state;
	const uint64_t len = (1ull << 32) + 0x1000;

	assert_int_equal(vmmem_mark_dirty(f->mem, R0_GPA, len), -EFAULT);
	assert_int_equal(vmmem_dirty_test(f->mem, R0_GPA, len), -EFAULT);
	assert_int_equal(vmmem_dirty_clear(f->mem, R0_GPA, len), -EFAULT);
	assert_int_equal(vmmem_region_dirty_set(f->r[0], 0, len), -EFAULT);
	assert_int_equal(vmmem_region_dirty_test(f->r[0], 0, len), -EFAULT);
	assert_int_equal(vmmem_region_dirty_clear(f->r[0], 0, len), -EFAULT);
	assert_int_equal(vmmem_dirty_test(f->mem, R0_GPA, R0_LEN), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_dirty_regions_start_clean),
		T(test_dirty_write_marks_written_page),
		T(test_dirty_write_crossing_page_marks_both_pages),
		T(test_dirty_write_crossing_regions_marks_both),
		T(test_dirty_failed_write_marks_nothing),
		T(test_dirty_write_partial_marks_pages_up_to_hole),
		T(test_dirty_write_partial_marks_written_pages),
		T(test_dirty_fill_marks_filled_pages),
		T(test_dirty_scalar_writes_mark_their_page),
		T(test_dirty_le_scalar_writes_mark_their_page),
		T(test_dirty_misaligned_scalar_write_marks_both_pages),
		T(test_dirty_scalar_write_crossing_regions_marks_both),
		T(test_dirty_atomic_stores_mark_their_page),
		T(test_dirty_atomic_fetch_ops_mark_their_page),
		T(test_dirty_cmpxchg_marks_page),
		T(test_dirty_failed_cmpxchg_marks_page),
		T(test_dirty_read_from_fd_marks_pages_read),
		T(test_dirty_slice_write_marks_pages),
		T(test_dirty_reads_do_not_mark),
		T(test_dirty_pointer_write_is_marked_by_mark_dirty),
		T(test_dirty_iovec_write_is_marked_by_mark_dirty),
		T(test_dirty_mark_dirty_skips_untracked_regions),
		T(test_dirty_mark_dirty_of_zero_length_marks_nothing),
		T(test_dirty_mark_dirty_rejects_unbacked_range),
		T(test_dirty_mark_dirty_rejects_wrapping_range),
		T(test_dirty_test_reports_any_touched_page),
		T(test_dirty_test_of_zero_length_is_zero),
		T(test_dirty_test_spans_regions),
		T(test_dirty_test_rejects_untracked_region),
		T(test_dirty_test_rejects_unbacked_range),
		T(test_dirty_test_rejects_wrapping_range),
		T(test_dirty_clear_cleans_every_touched_page),
		T(test_dirty_clear_spans_regions),
		T(test_dirty_clear_of_untracked_region_clears_nothing),
		T(test_dirty_clear_of_unbacked_range_clears_nothing),
		T(test_dirty_clear_rejects_wrapping_range),
		T(test_dirty_region_pages_counts_tracked_pages),
		T(test_dirty_region_set_crosses_word_boundary),
		T(test_dirty_region_set_marks_partly_touched_pages),
		T(test_dirty_region_clear_crosses_word_boundary),
		T(test_dirty_region_test_crosses_word_boundary),
		T(test_dirty_region_set_covers_whole_bitmap),
		T(test_dirty_region_clear_covers_whole_bitmap),
		T(test_dirty_region_test_covers_whole_bitmap),
		T(test_dirty_region_ops_of_zero_length_do_nothing),
		T(test_dirty_region_ops_reject_range_past_region),
		T(test_dirty_region_ops_reject_wrapping_range),
		T(test_dirty_region_ops_reject_untracked_region),
		T(test_dirty_get_and_reset_returns_bits_and_clears),
		T(test_dirty_get_and_reset_rejects_short_array),
		T(test_dirty_get_and_reset_rejects_null_array),
		T(test_dirty_get_and_reset_fails_without_its_barrier),
		T(test_dirty_get_and_reset_zeroes_extra_words),
		T(test_dirty_merge_ors_kvm_log_into_bitmap),
		T(test_dirty_merge_ignores_bits_past_npages),
		T(test_dirty_merge_rejects_too_many_pages),
		T(test_dirty_merge_rejects_null_bits),
		cmocka_unit_test(test_dirty_partial_last_page_has_a_bit),
		T(test_dirty_lengths_past_4_gib_are_not_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
