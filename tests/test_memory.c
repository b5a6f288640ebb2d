/* SPDX-License-Identifier: MIT */
/*
 * Tests for vmmem/memory.h: building region sets, copy-on-write insert and
 * remove, lookups, and all-or-nothing and partial range access.
 *
 * Most tests run on this set (a fresh copy each time):
 *   A   [0x0000, 0x1000)   writable
 *   B   [0x1000, 0x2000)   writable
 *   C   [0x2000, 0x3000)   writable       A, B, C adjacent
 *       [0x3000, 0x4000)   hole
 *   D   [0x4000, 0x5000)   writable
 *       [0x5000, 0x6000)   hole
 *   E   [0x6000, 0x7000)   writable
 *   R   [0x7000, 0x8000)   read-only      E, R, F adjacent
 *   F   [0x8000, 0x9000)   writable
 *       [0x9000, 2^64 - 0x1000) hole
 *   TOP [2^64 - 0x1000, 2^64) writable, the top of the address space
 * Writable regions hold pat(gpa); R reads as zero.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <sys/mman.h>
#else
#include <windows.h>
#endif

#include <vmmem/dirty.h>
#include <vmmem/memory.h>
#include <vmmem/region.h>
#include <vmmem/scalar.h>

#include "fixture.h"
#include "sysmock.h"

#define PAGE 0x1000u
#define A_GPA 0x0000ull
#define B_GPA 0x1000ull
#define C_GPA 0x2000ull
#define HOLE1_GPA 0x3000ull
#define D_GPA 0x4000ull
#define HOLE2_GPA 0x5000ull
#define E_GPA 0x6000ull
#define R_GPA 0x7000ull
#define F_GPA 0x8000ull
#define END_GPA 0x9000ull
#define TOP_GPA (UINT64_MAX - 0xfffull)

/* The fixture's regions, in address order, and how many there are. */
static const vmmem_gpa_t layout[] = { A_GPA, B_GPA, C_GPA, D_GPA,
				      E_GPA, R_GPA, F_GPA, TOP_GPA };
#define NLAYOUT (sizeof(layout) / sizeof(layout[0]))

/* Byte values the tests put into buffers, to see what a call changed. */
#define BUF_FILL 0xee
#define SRC_FILL 0xab

/* The number of regions of the many-regions fixture. */
#define NMANY 1024

struct model {
	vmmem_gpa_t gpa[NMANY]; /* sorted */
	uint64_t len[NMANY];
	uint8_t *bytes;	 /* NMANY pages: what each region holds */
	vmmem_gpa_t end; /* one past the last region */
};

struct fixture {
	struct vmmem *mem;
	struct model *model; /* many-regions fixture only */
	uint64_t rng;
};

/* A test that runs on a fresh copy of the fixture. */
#define FIXTURE_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define MANY_TEST(fn)                                                          \
	cmocka_unit_test_setup_teardown(fn, setup_many, teardown_many)
#define ALIGNED_TEST(fn)                                                       \
	cmocka_unit_test_setup_teardown(fn, setup_many_aligned, teardown_many)

/* The byte every writable region of the fixtures holds at gpa. */
static uint8_t pat(vmmem_gpa_t gpa)
{
	return (uint8_t)(gpa * 31 + 7 + (gpa >> 8));
}

/* A small deterministic generator (xorshift64). */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static struct vmmem_region *new_region(vmmem_gpa_t gpa, uint64_t len,
				       unsigned flags)
{
	struct vmmem_region *r = NULL;

	assert_int_equal(vmmem_region_create_anon(gpa, len, flags, &r), 0);
	assert_non_null(r);
	return r;
}

static void fill_pattern(struct vmmem *mem, vmmem_gpa_t gpa, size_t len)
{
	uint8_t buf[PAGE];
	size_t done, n, i;

	for (done = 0; done < len; done += n) {
		n = len - done < PAGE ? len - done : PAGE;
		for (i = 0; i < n; i++)
			buf[i] = pat(gpa + done + i);
		assert_int_equal(vmmem_write(mem, gpa + done, buf, n), 0);
	}
}

static void assert_bytes(const uint8_t *buf, size_t len, uint8_t byte)
{
	size_t i;

	for (i = 0; i < len; i++)
		assert_int_equal(buf[i], byte);
}

static void assert_bytes_pattern(const uint8_t *buf, size_t len,
				 vmmem_gpa_t gpa)
{
	size_t i;

	for (i = 0; i < len; i++)
		assert_int_equal(buf[i], pat(gpa + i));
}

/* Guest memory at [gpa, gpa + len) holds pat(). */
static void assert_pattern(struct vmmem *mem, vmmem_gpa_t gpa, size_t len)
{
	uint8_t buf[PAGE];
	size_t done, n;

	for (done = 0; done < len; done += n) {
		n = len - done < PAGE ? len - done : PAGE;
		assert_int_equal(vmmem_read(mem, gpa + done, buf, n), 0);
		assert_bytes_pattern(buf, n, gpa + done);
	}
}

/* Guest memory at [gpa, gpa + len) holds byte. */
static void assert_guest_bytes(struct vmmem *mem, vmmem_gpa_t gpa, size_t len,
			       uint8_t byte)
{
	uint8_t buf[PAGE];
	size_t done, n;

	for (done = 0; done < len; done += n) {
		n = len - done < PAGE ? len - done : PAGE;
		assert_int_equal(vmmem_read(mem, gpa + done, buf, n), 0);
		assert_bytes(buf, n, byte);
	}
}

/* Every region of the fixture still holds what setup() put there. */
static void assert_guest_unchanged(struct vmmem *mem)
{
	size_t i;

	for (i = 0; i < NLAYOUT; i++) {
		if (layout[i] == R_GPA)
			assert_guest_bytes(mem, R_GPA, PAGE, 0);
		else
			assert_pattern(mem, layout[i], PAGE);
	}
}

static int setup(void **state)
{
	/* Deliberately out of order: vmmem_create() sorts. */
	static const vmmem_gpa_t order[] = { F_GPA, A_GPA, TOP_GPA, R_GPA,
					     D_GPA, C_GPA, E_GPA,   B_GPA };
	struct vmmem_region *r[NLAYOUT] = { NULL };
	struct fixture *f;
	size_t i;
	int rc;

	sysmock_reset();
	f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->rng = 0x9e3779b97f4a7c15ull;
	for (i = 0; i < NLAYOUT; i++) {
		unsigned flags = order[i] == R_GPA ? VMMEM_REGION_READONLY : 0;

		if (vmmem_region_create_anon(order[i], PAGE, flags, &r[i]))
			break;
	}
	rc = i == NLAYOUT ? vmmem_create(r, NLAYOUT, &f->mem) : -1;
	/* The set holds its own references. */
	while (i-- > 0)
		vmmem_region_destroy(r[i]);
	if (rc) {
		free(f);
		return -1;
	}
	for (i = 0; i < NLAYOUT; i++)
		if (layout[i] != R_GPA)
			fill_pattern(f->mem, layout[i], PAGE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmmem_destroy(f->mem);
	free(f);
	sysmock_reset();
	return 0;
}

/* Index of the model region that holds gpa, or -1. */
static long model_find(const struct model *m, vmmem_gpa_t gpa)
{
	size_t lo = 0, hi = NMANY;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (gpa < m->gpa[mid])
			hi = mid;
		else if (gpa - m->gpa[mid] >= m->len[mid])
			lo = mid + 1;
		else
			return (long)mid;
	}
	return -1;
}

/* Whether every byte of [gpa, gpa + len) lies in a model region. */
static int model_backed(const struct model *m, vmmem_gpa_t gpa, uint64_t len)
{
	long i = model_find(m, gpa);
	vmmem_gpa_t end = gpa + len;

	if (i < 0)
		return 0;
	for (;;) {
		vmmem_gpa_t rend = m->gpa[i] + m->len[i];

		if (end <= rend)
			return 1;
		if (i + 1 == NMANY || m->gpa[i + 1] != rend)
			return 0;
		i++;
	}
}

/* The model's copy of the byte at gpa, which must be backed. */
static uint8_t *model_byte(const struct model *m, vmmem_gpa_t gpa)
{
	long i = model_find(m, gpa);

	assert_true(i >= 0);
	return &m->bytes[(size_t)i * PAGE + (gpa - m->gpa[i])];
}

/*
 * NMANY 4 KiB regions with gaps of random size (a quarter of them with no
 * gap, so some runs of regions are adjacent), created from a shuffled
 * range list. With aligned, the gaps are whole pages, so that the set's
 * bucket tables can cover every region (see vmmem/view.h); otherwise they
 * are any number of bytes, and the lookups search.
 */
static int setup_many_layout(void **state, bool aligned)
{
	struct vmmem_range *ranges;
	struct fixture *f;
	struct model *m;
	vmmem_gpa_t gpa = aligned ? 0x100000 : 0x10;
	size_t i;

	sysmock_reset();
	f = calloc(1, sizeof(*f));
	m = calloc(1, sizeof(*m));
	ranges = calloc(NMANY, sizeof(*ranges));
	if (!f || !m || !ranges)
		goto err;
	m->bytes = malloc((size_t)NMANY * PAGE);
	if (!m->bytes)
		goto err;
	f->model = m;
	f->rng = 0x2545f4914f6cdd1dull;
	for (i = 0; i < NMANY; i++) {
		uint64_t r = next_rand(&f->rng);

		m->gpa[i] = gpa;
		m->len[i] = PAGE;
		gpa += PAGE;
		if (r % 4)
			gpa += aligned ? PAGE * (1 + (r >> 8) % 2)
				       : 1 + (r >> 8) % 0x2000;
	}
	m->end = m->gpa[NMANY - 1] + m->len[NMANY - 1];
	for (i = 0; i < NMANY; i++) {
		ranges[i].gpa = m->gpa[i];
		ranges[i].len = m->len[i];
	}
	for (i = NMANY - 1; i > 0; i--) {
		size_t j = next_rand(&f->rng) % (i + 1);
		struct vmmem_range t = ranges[i];

		ranges[i] = ranges[j];
		ranges[j] = t;
	}
	if (vmmem_create_anon(ranges, NMANY, 0, &f->mem))
		goto err;
	for (i = 0; i < NMANY; i++) {
		size_t k;

		for (k = 0; k < PAGE; k++)
			m->bytes[i * PAGE + k] = pat(m->gpa[i] + k);
		if (vmmem_write(f->mem, m->gpa[i], &m->bytes[i * PAGE], PAGE))
			goto err_mem;
	}
	free(ranges);
	*state = f;
	return 0;

err_mem:
	vmmem_destroy(f->mem);
err:
	free(ranges);
	if (m)
		free(m->bytes);
	free(m);
	free(f);
	return -1;
}

static int setup_many(void **state)
{
	return setup_many_layout(state, false);
}

static int setup_many_aligned(void **state)
{
	return setup_many_layout(state, true);
}

static int teardown_many(void **state)
{
	struct fixture *f = *state;

	vmmem_destroy(f->mem);
	free(f->model->bytes);
	free(f->model);
	free(f);
	return 0;
}

/* vmmem_create() */

static void test_memory_create_sorts_regions_by_address(void **state)
{
	static const vmmem_gpa_t gpas[] = { 0x5000, 0x1000, 0x9000, 0x0 };
	static const size_t sorted[] = { 3, 1, 0, 2 };
	struct vmmem_region *r[4];
	struct vmmem *mem = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++)
		r[i] = new_region(gpas[i], PAGE, 0);
	assert_int_equal(vmmem_create(r, 4, &mem), 0);
	assert_int_equal(vmmem_region_count(mem), 4);
	for (i = 0; i < 4; i++) {
		assert_ptr_equal(vmmem_region_at(mem, i), r[sorted[i]]);
		assert_true(vmmem_region_gpa(vmmem_region_at(mem, i)) ==
			    gpas[sorted[i]]);
	}
	assert_null(vmmem_region_at(mem, 4));
	for (i = 0; i < 4; i++)
		vmmem_region_destroy(r[i]);
	vmmem_destroy(mem);
}

static void test_memory_create_rejects_overlapping_regions(void **state)
{
	static const struct vmmem_range pairs[][2] = {
		{ { 0, 100 }, { 99, 100 } },	     /* one shared byte */
		{ { 99, 100 }, { 0, 100 } },	     /* the same, reversed */
		{ { 0, 0x2000 }, { 0x1000, 0x10 } }, /* containment */
		{ { 0x1000, 0x10 }, { 0, 0x2000 } },
		{ { 0x1000, 0x1000 }, { 0x1000, 0x1000 } }, /* equal */
		{ { 0x1000, 0x1000 }, { 0, 0x1001 } },
		{ { TOP_GPA, PAGE }, { UINT64_MAX, 1 } },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct vmmem_region *r[2];
		struct vmmem *mem = NULL;

		r[0] = new_region(pairs[i][0].gpa, pairs[i][0].len, 0);
		r[1] = new_region(pairs[i][1].gpa, pairs[i][1].len, 0);
		assert_int_equal(vmmem_create(r, 2, &mem), -EEXIST);
		vmmem_region_destroy(r[0]);
		vmmem_region_destroy(r[1]);
	}
}

static void test_memory_create_rejects_overlap_among_many(void **state)
{
	struct vmmem_region *r[4];
	struct vmmem *mem = NULL;

	(void)state;
	/* Only the first and last entries overlap, and they are far apart
	 * in the array. */
	r[0] = new_region(0x8000, 0x1000, 0);
	r[1] = new_region(0x0, 0x1000, 0);
	r[2] = new_region(0x4000, 0x1000, 0);
	r[3] = new_region(0x8fff, 0x1000, 0);
	assert_int_equal(vmmem_create(r, 4, &mem), -EEXIST);
	vmmem_region_destroy(r[0]);
	vmmem_region_destroy(r[1]);
	vmmem_region_destroy(r[2]);
	vmmem_region_destroy(r[3]);
}

static void test_memory_create_rejects_same_region_twice(void **state)
{
	struct vmmem_region *a, *b;
	struct vmmem *mem = NULL;

	(void)state;
	a = new_region(0x0, PAGE, 0);
	b = new_region(0x1000, PAGE, 0);
	{
		struct vmmem_region *twice[] = { a, a };
		struct vmmem_region *apart[] = { a, b, a };

		assert_int_equal(vmmem_create(twice, 2, &mem), -EEXIST);
		assert_int_equal(vmmem_create(apart, 3, &mem), -EEXIST);
	}
	vmmem_region_destroy(a);
	vmmem_region_destroy(b);
}

static void test_memory_create_failure_keeps_caller_references(void **state)
{
	struct vmmem_region *a, *b;
	struct vmmem *mem = NULL;
	uint8_t byte = 0x42;

	(void)state;
	a = new_region(0x0, PAGE, 0);
	b = new_region(0x800, PAGE, 0);
	{
		struct vmmem_region *bad[] = { a, b };

		assert_int_equal(vmmem_create(bad, 2, &mem), -EEXIST);
	}
	/* Both regions are still the caller's, and usable. */
	vmmem_region_destroy(b);
	assert_int_equal(vmmem_create(&a, 1, &mem), 0);
	vmmem_region_destroy(a);
	assert_int_equal(vmmem_write(mem, 0xfff, &byte, 1), 0);
	byte = 0;
	assert_int_equal(vmmem_read(mem, 0xfff, &byte, 1), 0);
	assert_int_equal(byte, 0x42);
	vmmem_destroy(mem);
}

static void test_memory_create_accepts_adjacent_regions(void **state)
{
	static const uint8_t src[4] = { 1, 2, 3, 4 };
	struct vmmem_region *r[2], *found = NULL;
	struct vmmem *mem = NULL;
	uint8_t buf[4] = { 0 };

	(void)state;
	r[0] = new_region(100, 100, 0);
	r[1] = new_region(0, 100, 0);
	assert_int_equal(vmmem_create(r, 2, &mem), 0);
	assert_int_equal(vmmem_region_count(mem), 2);
	assert_int_equal(vmmem_find_region(mem, 99, &found), 0);
	assert_ptr_equal(found, r[1]);
	assert_int_equal(vmmem_find_region(mem, 100, &found), 0);
	assert_ptr_equal(found, r[0]);
	assert_int_equal(vmmem_write(mem, 98, src, 4), 0);
	assert_int_equal(vmmem_read(mem, 98, buf, 4), 0);
	assert_memory_equal(buf, src, 4);
	vmmem_region_destroy(r[0]);
	vmmem_region_destroy(r[1]);
	vmmem_destroy(mem);
}

static void test_memory_create_rejects_null_entry(void **state)
{
	struct vmmem_region *r[2] = { NULL, NULL };
	struct vmmem *mem = NULL;

	(void)state;
	assert_int_equal(vmmem_create(r, 1, &mem), -EINVAL);
	r[0] = new_region(0, PAGE, 0);
	assert_int_equal(vmmem_create(r, 2, &mem), -EINVAL);
	r[1] = r[0];
	r[0] = NULL;
	assert_int_equal(vmmem_create(r, 2, &mem), -EINVAL);
	vmmem_region_destroy(r[1]);
}

static void test_memory_create_rejects_null_array(void **state)
{
	struct vmmem *mem = NULL;

	(void)state;
	assert_int_equal(vmmem_create(NULL, 1, &mem), -EINVAL);
	assert_int_equal(vmmem_create(NULL, 3, &mem), -EINVAL);
}

static void test_memory_create_rejects_more_than_max_regions(void **state)
{
	/*
	 * One more than the maximum of 2^24. The array is a fresh anonymous
	 * mapping (all NULL), so it costs no memory unless it is read.
	 */
	size_t n = (1u << 24) + 1, size = n * sizeof(struct vmmem_region *);
	struct vmmem_region **r;
	struct vmmem *mem = NULL;

	(void)state;
#ifdef _WIN32
	r = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY);
	assert_non_null(r);
#else
	r = mmap(NULL, size, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	assert_true(r != MAP_FAILED);
#endif
	assert_int_equal(vmmem_create(r, n, &mem), -EINVAL);
	assert_int_equal(vmmem_create(r, SIZE_MAX, &mem), -EINVAL);
#ifdef _WIN32
	VirtualFree(r, 0, MEM_RELEASE);
#else
	munmap(r, size);
#endif
}

static void test_memory_create_accepts_empty_set(void **state)
{
	struct vmmem *mem = NULL;

	(void)state;
	assert_int_equal(vmmem_create(NULL, 0, &mem), 0);
	assert_non_null(mem);
	assert_int_equal(vmmem_region_count(mem), 0);
	assert_null(vmmem_region_at(mem, 0));
	vmmem_destroy(mem);
}

static void test_memory_empty_set_has_no_last_gpa(void **state)
{
	struct vmmem *mem = NULL;
	vmmem_gpa_t last = 0;

	(void)state;
	assert_int_equal(vmmem_create(NULL, 0, &mem), 0);
	assert_int_equal(vmmem_last_gpa(mem, &last), -ENOENT);
	vmmem_destroy(mem);
}

static void test_memory_empty_set_faults_every_access(void **state)
{
	struct vmmem_region *found = NULL;
	struct vmmem *mem = NULL;
	uint8_t buf[8];
	void *hva = NULL;
	size_t done = 1;

	(void)state;
	memset(buf, BUF_FILL, sizeof(buf));
	assert_int_equal(vmmem_create(NULL, 0, &mem), 0);
	assert_int_equal(vmmem_read(mem, 0, buf, 8), -EFAULT);
	assert_int_equal(vmmem_write(mem, 0, buf, 8), -EFAULT);
	assert_int_equal(vmmem_fill(mem, 0, 0, 8), -EFAULT);
	assert_int_equal(vmmem_read_partial(mem, 0, buf, 8, &done), -EFAULT);
	assert_int_equal(done, 0);
	done = 1;
	assert_int_equal(vmmem_write_partial(mem, 0, buf, 8, &done), -EFAULT);
	assert_int_equal(done, 0);
	assert_int_equal(vmmem_check_range(mem, 0, 1), -EFAULT);
	assert_int_equal(vmmem_check_writable(mem, 0, 1), -EFAULT);
	assert_int_equal(vmmem_find_region(mem, 0, &found), -EFAULT);
	assert_int_equal(vmmem_get_ptr(mem, 0, 1, &hva), -EFAULT);
	assert_bytes(buf, 8, BUF_FILL);
	/* A zero-length access still succeeds. */
	assert_int_equal(vmmem_read(mem, 0, buf, 0), 0);
	assert_int_equal(vmmem_check_range(mem, 0, 0), 0);
	assert_int_equal(vmmem_check_writable(mem, 0, 0), 0);
	vmmem_destroy(mem);
}

static void test_memory_set_keeps_region_after_caller_drops_it(void **state)
{
	static const uint8_t src[3] = { 7, 8, 9 };
	struct vmmem_region *r;
	struct vmmem *mem = NULL;
	uint8_t buf[3] = { 0 };

	(void)state;
	r = new_region(0x2000, PAGE, 0);
	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	vmmem_region_destroy(r);
	assert_int_equal(vmmem_write(mem, 0x2ffd, src, 3), 0);
	assert_int_equal(vmmem_read(mem, 0x2ffd, buf, 3), 0);
	assert_memory_equal(buf, src, 3);
	r = vmmem_region_at(mem, 0);
	assert_non_null(r);
	assert_true(vmmem_region_gpa(r) == 0x2000);
	assert_true(vmmem_region_len(r) == PAGE);
	vmmem_destroy(mem);
}

/* vmmem_create_anon() */

static void test_memory_create_anon_builds_sorted_set(void **state)
{
	static const struct vmmem_range ranges[] = {
		{ 0x10000, 0x3000 },
		{ 0x0, 0x1000 },
		{ 0x1000, 0x5 },
	};
	static const vmmem_gpa_t gpas[] = { 0x0, 0x1000, 0x10000 };
	static const uint64_t lens[] = { 0x1000, 0x5, 0x3000 };
	struct vmmem *mem = NULL;
	size_t i;

	(void)state;
	assert_int_equal(vmmem_create_anon(ranges, 3, 0, &mem), 0);
	assert_int_equal(vmmem_region_count(mem), 3);
	for (i = 0; i < 3; i++) {
		struct vmmem_region *r = vmmem_region_at(mem, i);

		assert_non_null(r);
		assert_true(vmmem_region_gpa(r) == gpas[i]);
		assert_true(vmmem_region_len(r) == lens[i]);
		assert_int_equal(vmmem_region_kind(r), VMMEM_REGION_ANON);
	}
	vmmem_destroy(mem);
}

static void test_memory_create_anon_rejects_zero_length(void **state)
{
	static const struct vmmem_range ranges[] = {
		{ 0x0, 0x1000 },
		{ 0x2000, 0 },
	};
	struct vmmem *mem = NULL;

	(void)state;
	assert_int_equal(vmmem_create_anon(&ranges[1], 1, 0, &mem), -EINVAL);
	assert_int_equal(vmmem_create_anon(ranges, 2, 0, &mem), -EINVAL);
}

static void test_memory_create_anon_rejects_wrapping_range(void **state)
{
	static const struct vmmem_range wraps[] = {
		{ TOP_GPA, 0x2000 },
		{ UINT64_MAX, 2 },
		{ TOP_GPA, PAGE + 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(wraps) / sizeof(wraps[0]); i++) {
		struct vmmem *mem = NULL;

		assert_int_equal(vmmem_create_anon(&wraps[i], 1, 0, &mem),
				 -EOVERFLOW);
	}
}

static void test_memory_create_anon_accepts_range_ending_at_top(void **state)
{
	static const struct vmmem_range top = { TOP_GPA, PAGE };
	struct vmmem *mem = NULL;
	vmmem_gpa_t last = 0;

	(void)state;
	assert_int_equal(vmmem_create_anon(&top, 1, 0, &mem), 0);
	assert_int_equal(vmmem_last_gpa(mem, &last), 0);
	assert_true(last == UINT64_MAX);
	vmmem_destroy(mem);
}

static void test_memory_create_anon_rejects_unknown_flags(void **state)
{
	static const unsigned bad[] = { 1u << 7, 0x80000000u,
					~VMMEM_REGION_FLAGS_ALL };
	static const struct vmmem_range range = { 0x0, PAGE };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vmmem *mem = NULL;

		assert_int_equal(vmmem_create_anon(&range, 1, bad[i], &mem),
				 -EINVAL);
	}
}

static void test_memory_create_anon_rejects_unaligned_hugetlb(void **state)
{
	static const struct vmmem_range range = { 0x0, PAGE };
	struct vmmem *mem = NULL;

	(void)state;
	assert_int_equal(
		vmmem_create_anon(&range, 1, VMMEM_REGION_HUGETLB, &mem),
		-EINVAL);
}

static void test_memory_create_anon_rejects_overlapping_ranges(void **state)
{
	static const struct vmmem_range overlap[] = {
		{ 0x0, 100 },
		{ 0x1000, 0x1000 },
		{ 99, 100 },
	};
	static const struct vmmem_range same[] = {
		{ 0x1000, 0x1000 },
		{ 0x1000, 0x1000 },
	};
	struct vmmem *mem = NULL;

	(void)state;
	assert_int_equal(vmmem_create_anon(overlap, 3, 0, &mem), -EEXIST);
	assert_int_equal(vmmem_create_anon(same, 2, 0, &mem), -EEXIST);
}

static void test_memory_create_anon_rejects_null_ranges(void **state)
{
	struct vmmem *mem = NULL;

	(void)state;
	assert_int_equal(vmmem_create_anon(NULL, 1, 0, &mem), -EINVAL);
}

static void test_memory_create_anon_of_no_ranges_is_empty(void **state)
{
	struct vmmem *mem = NULL;

	(void)state;
	assert_int_equal(vmmem_create_anon(NULL, 0, 0, &mem), 0);
	assert_int_equal(vmmem_region_count(mem), 0);
	vmmem_destroy(mem);
}

static void test_memory_create_anon_applies_flags_to_all(void **state)
{
	static const struct vmmem_range ranges[] = {
		{ 0x4000, 0x1000 },
		{ 0x0, 0x1000 },
	};
	static const uint8_t src[2] = { 1, 2 };
	struct vmmem *mem = NULL;
	size_t i;

	(void)state;
	assert_int_equal(
		vmmem_create_anon(ranges, 2, VMMEM_REGION_READONLY, &mem), 0);
	for (i = 0; i < 2; i++)
		assert_true(vmmem_region_flags(vmmem_region_at(mem, i)) &
			    VMMEM_REGION_READONLY);
	assert_int_equal(vmmem_write(mem, 0x10, src, 2), -EACCES);
	assert_int_equal(vmmem_write(mem, 0x4010, src, 2), -EACCES);
	vmmem_destroy(mem);
}

static void test_memory_create_anon_passes_mmap_errors_through(void **state)
{
	static const struct vmmem_range ranges[] = {
		{ 0x0, 0x1000 },
		{ 0x10000, 0x1000 },
		{ 0x20000, 0x1000 },
	};
	struct vmmem *mem = NULL;

	(void)state;
	sysmock_reset();
	/* The first region maps, a later mapping fails. */
	sysmock_fail(SYSMOCK_MMAP, 1, ENODEV);
	assert_int_equal(vmmem_create_anon(ranges, 3, 0, &mem), -ENODEV);
	assert_true(sysmock_done());
	/* Whatever was mapped before the failure was unmapped again. */
	assert_true(sysmock_calls(SYSMOCK_MUNMAP) >=
		    sysmock_calls(SYSMOCK_MMAP) - 1);
	sysmock_reset();
}

/* vmmem_ref(), vmmem_destroy() */

static void test_memory_destroy_accepts_null(void **state)
{
	(void)state;
	vmmem_destroy(NULL);
	vmmem_region_destroy(NULL);
}

static void test_memory_ref_accepts_null(void **state)
{
	(void)state;
	assert_null(vmmem_ref(NULL));
}

static void test_memory_ref_keeps_set_alive(void **state)
{
	struct fixture *f = *state;
	struct vmmem *extra = vmmem_ref(f->mem);
	uint8_t buf[4];

	assert_ptr_equal(extra, f->mem);
	/* Drop the fixture's reference; the extra one keeps the set. */
	vmmem_destroy(f->mem);
	assert_int_equal(vmmem_read(extra, 0xffe, buf, 4), 0);
	assert_bytes_pattern(buf, 4, 0xffe);
	assert_int_equal(vmmem_region_count(extra), NLAYOUT);
	f->mem = extra;
}

/* vmmem_insert() */

static void test_memory_insert_adds_region_to_new_set(void **state)
{
	struct fixture *f = *state;
	struct vmmem_region *r, *found = NULL;
	struct vmmem *next = NULL;
	size_t i;

	r = new_region(HOLE1_GPA + 0x100, 0x100, 0);
	assert_int_equal(vmmem_insert(f->mem, r, &next), 0);
	assert_non_null(next);
	assert_int_equal(vmmem_region_count(next), NLAYOUT + 1);
	assert_int_equal(vmmem_find_region(next, HOLE1_GPA + 0x1ff, &found), 0);
	assert_ptr_equal(found, r);
	/* In address order, between C and D. */
	assert_ptr_equal(vmmem_region_at(next, 3), r);
	for (i = 1; i < NLAYOUT + 1; i++)
		assert_true(vmmem_region_gpa(vmmem_region_at(next, i - 1)) <
			    vmmem_region_gpa(vmmem_region_at(next, i)));
	vmmem_region_destroy(r);
	vmmem_destroy(next);
}

static void test_memory_insert_leaves_old_set_unchanged(void **state)
{
	struct fixture *f = *state;
	struct vmmem_region *r, *found = NULL;
	struct vmmem *next = NULL;
	uint8_t byte;

	r = new_region(HOLE1_GPA, PAGE, 0);
	assert_int_equal(vmmem_insert(f->mem, r, &next), 0);
	assert_true(next != f->mem);
	assert_int_equal(vmmem_region_count(f->mem), NLAYOUT);
	assert_int_equal(vmmem_find_region(f->mem, HOLE1_GPA, &found), -EFAULT);
	assert_int_equal(vmmem_read(f->mem, HOLE1_GPA, &byte, 1), -EFAULT);
	assert_int_equal(vmmem_read(next, HOLE1_GPA, &byte, 1), 0);
	vmmem_region_destroy(r);
	vmmem_destroy(next);
}

static void test_memory_insert_shares_existing_regions(void **state)
{
	struct fixture *f = *state;
	static const uint8_t src[4] = { 0xde, 0xad, 0xbe, 0xef };
	struct vmmem_region *r;
	struct vmmem *next = NULL;
	uint8_t buf[4];

	r = new_region(END_GPA, PAGE, 0);
	assert_int_equal(vmmem_insert(f->mem, r, &next), 0);
	vmmem_region_destroy(r);
	assert_ptr_equal(vmmem_region_at(next, 0), vmmem_region_at(f->mem, 0));
	/* The same memory behind both sets: a write through one shows in
	 * the other. */
	assert_int_equal(vmmem_write(next, 0x10, src, 4), 0);
	assert_int_equal(vmmem_read(f->mem, 0x10, buf, 4), 0);
	assert_memory_equal(buf, src, 4);
	/* The new set outlives the old one. */
	vmmem_destroy(f->mem);
	f->mem = next;
	assert_int_equal(vmmem_read(next, 0x10, buf, 4), 0);
	assert_memory_equal(buf, src, 4);
}

static void test_memory_insert_rejects_overlapping_region(void **state)
{
	struct fixture *f = *state;
	static const struct vmmem_range bad[] = {
		{ C_GPA + 0x800, PAGE }, /* C and the hole */
		{ HOLE1_GPA - 1, 2 },	 /* last byte of C */
		{ HOLE2_GPA - 1, 1 },	 /* last byte of D */
		{ B_GPA, PAGE },	 /* exactly B */
		{ 0x0, 0x10000 },	 /* everything */
		{ UINT64_MAX, 1 },	 /* last byte of TOP */
	};
	struct vmmem *next = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vmmem_region *r = new_region(bad[i].gpa, bad[i].len, 0);

		assert_int_equal(vmmem_insert(f->mem, r, &next), -EEXIST);
		vmmem_region_destroy(r);
	}
	assert_int_equal(vmmem_region_count(f->mem), NLAYOUT);
}

static void test_memory_insert_rejects_region_already_in_set(void **state)
{
	struct fixture *f = *state;
	struct vmmem *next = NULL;

	assert_int_equal(
		vmmem_insert(f->mem, vmmem_region_at(f->mem, 3), &next),
		-EEXIST);
	assert_int_equal(vmmem_region_count(f->mem), NLAYOUT);
}

static void test_memory_insert_rejects_null_arguments(void **state)
{
	struct fixture *f = *state;
	struct vmmem_region *r;
	struct vmmem *next = NULL;

	r = new_region(HOLE1_GPA, PAGE, 0);
	assert_int_equal(vmmem_insert(NULL, r, &next), -EINVAL);
	assert_int_equal(vmmem_insert(f->mem, NULL, &next), -EINVAL);
	assert_int_equal(vmmem_insert(f->mem, r, NULL), -EINVAL);
	vmmem_region_destroy(r);
}

static void test_memory_insert_into_empty_set(void **state)
{
	struct vmmem *empty = NULL, *next = NULL;
	struct vmmem_region *r;
	vmmem_gpa_t last = 0;

	(void)state;
	assert_int_equal(vmmem_create(NULL, 0, &empty), 0);
	r = new_region(0x1000, PAGE, 0);
	assert_int_equal(vmmem_insert(empty, r, &next), 0);
	vmmem_region_destroy(r);
	assert_int_equal(vmmem_region_count(empty), 0);
	assert_int_equal(vmmem_region_count(next), 1);
	assert_int_equal(vmmem_last_gpa(next, &last), 0);
	assert_true(last == 0x1fff);
	vmmem_destroy(empty);
	vmmem_destroy(next);
}

static void test_memory_insert_fills_hole_between_neighbours(void **state)
{
	struct fixture *f = *state;
	struct vmmem_region *r;
	struct vmmem *next = NULL;
	uint8_t buf[0x1020];

	r = new_region(HOLE1_GPA, PAGE, 0);
	assert_int_equal(vmmem_insert(f->mem, r, &next), 0);
	vmmem_region_destroy(r);
	fill_pattern(next, HOLE1_GPA, PAGE);
	/* C, the new region and D are now one backed range. */
	assert_int_equal(vmmem_check_range(next, C_GPA, 3 * PAGE), 0);
	assert_int_equal(vmmem_read(next, HOLE1_GPA - 0x10, buf, sizeof(buf)),
			 0);
	assert_bytes_pattern(buf, sizeof(buf), HOLE1_GPA - 0x10);
	vmmem_destroy(next);
}

/* vmmem_remove() */

static void test_memory_remove_drops_exact_region(void **state)
{
	struct fixture *f = *state;
	struct vmmem_region *found = NULL;
	struct vmmem *next = NULL;
	size_t i;

	assert_int_equal(vmmem_remove(f->mem, D_GPA, PAGE, &next, NULL), 0);
	assert_non_null(next);
	assert_int_equal(vmmem_region_count(next), NLAYOUT - 1);
	assert_int_equal(vmmem_find_region(next, D_GPA, &found), -EFAULT);
	assert_int_equal(vmmem_check_range(next, D_GPA, 1), -EFAULT);
	/* Every other region is still there, with its contents. */
	for (i = 0; i < NLAYOUT; i++) {
		if (layout[i] == D_GPA)
			continue;
		assert_int_equal(vmmem_find_region(next, layout[i], &found), 0);
		if (layout[i] != R_GPA)
			assert_pattern(next, layout[i], PAGE);
	}
	vmmem_destroy(next);
}

static void test_memory_remove_leaves_old_set_unchanged(void **state)
{
	struct fixture *f = *state;
	struct vmmem_region *found = NULL;
	struct vmmem *next = NULL;

	assert_int_equal(vmmem_remove(f->mem, B_GPA, PAGE, &next, NULL), 0);
	assert_true(next != f->mem);
	assert_int_equal(vmmem_region_count(f->mem), NLAYOUT);
	assert_int_equal(vmmem_find_region(f->mem, B_GPA, &found), 0);
	assert_int_equal(vmmem_check_range(f->mem, A_GPA, 3 * PAGE), 0);
	assert_int_equal(vmmem_check_range(next, A_GPA, 3 * PAGE), -EFAULT);
	vmmem_destroy(next);
	assert_guest_unchanged(f->mem);
}

static void test_memory_remove_rejects_inexact_match(void **state)
{
	struct fixture *f = *state;
	static const struct vmmem_range bad[] = {
		{ D_GPA, PAGE / 2 },	 /* too short */
		{ D_GPA, 2 * PAGE },	 /* too long */
		{ D_GPA + 1, PAGE - 1 }, /* wrong start */
		{ D_GPA + 1, PAGE },
		{ HOLE1_GPA, PAGE }, /* a hole */
		{ A_GPA, 3 * PAGE }, /* three regions */
		{ D_GPA, 0 },
	};
	struct vmmem *next = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vmmem_region *removed = NULL;

		assert_int_equal(vmmem_remove(f->mem, bad[i].gpa, bad[i].len,
					      &next, &removed),
				 -ENOENT);
	}
	assert_int_equal(vmmem_region_count(f->mem), NLAYOUT);
}

static void test_memory_remove_hands_out_removed_region(void **state)
{
	struct fixture *f = *state;
	struct vmmem_region *removed = NULL, *d = vmmem_region_at(f->mem, 3);
	struct vmmem *next = NULL;
	uint8_t *hva;

	assert_true(vmmem_region_gpa(d) == D_GPA);
	assert_int_equal(vmmem_remove(f->mem, D_GPA, PAGE, &next, &removed), 0);
	assert_ptr_equal(removed, d);
	/* The caller's reference keeps the region after both sets go. */
	vmmem_destroy(next);
	vmmem_destroy(f->mem);
	f->mem = NULL;
	assert_true(vmmem_region_gpa(removed) == D_GPA);
	assert_true(vmmem_region_len(removed) == PAGE);
	hva = vmmem_region_hva(removed);
	assert_int_equal(hva[0x123], pat(D_GPA + 0x123));
	vmmem_region_destroy(removed);
}

static void test_memory_remove_of_only_region_gives_empty_set(void **state)
{
	static const struct vmmem_range range = { 0x1000, 0x800 };
	struct vmmem *mem = NULL, *next = NULL;
	vmmem_gpa_t last;

	(void)state;
	assert_int_equal(vmmem_create_anon(&range, 1, 0, &mem), 0);
	assert_int_equal(vmmem_remove(mem, 0x1000, 0x800, &next, NULL), 0);
	assert_int_equal(vmmem_region_count(next), 0);
	assert_int_equal(vmmem_last_gpa(next, &last), -ENOENT);
	assert_int_equal(vmmem_region_count(mem), 1);
	vmmem_destroy(next);
	vmmem_destroy(mem);
}

static void test_memory_remove_from_empty_set_fails(void **state)
{
	struct vmmem *mem = NULL, *next = NULL;

	(void)state;
	assert_int_equal(vmmem_create(NULL, 0, &mem), 0);
	assert_int_equal(vmmem_remove(mem, 0, PAGE, &next, NULL), -ENOENT);
	vmmem_destroy(mem);
}

static void test_memory_remove_rejects_null_arguments(void **state)
{
	struct fixture *f = *state;
	struct vmmem *next = NULL;
	struct vmmem_region *removed = NULL;

	assert_int_equal(vmmem_remove(NULL, D_GPA, PAGE, &next, &removed),
			 -EINVAL);
	assert_int_equal(vmmem_remove(f->mem, D_GPA, PAGE, NULL, &removed),
			 -EINVAL);
	assert_int_equal(vmmem_region_count(f->mem), NLAYOUT);
}

/* vmmem_find_region(), vmmem_region_at(), vmmem_last_gpa() */

static void test_memory_region_at_lists_regions_in_order(void **state)
{
	struct fixture *f = *state;
	size_t i;

	assert_int_equal(vmmem_region_count(f->mem), NLAYOUT);
	for (i = 0; i < NLAYOUT; i++) {
		struct vmmem_region *r = vmmem_region_at(f->mem, i);

		assert_non_null(r);
		assert_true(vmmem_region_gpa(r) == layout[i]);
	}
	assert_null(vmmem_region_at(f->mem, NLAYOUT));
	assert_null(vmmem_region_at(f->mem, SIZE_MAX));
}

static void test_memory_find_region_finds_every_byte_edge(void **state)
{
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < NLAYOUT; i++) {
		struct vmmem_region *want = vmmem_region_at(f->mem, i);
		vmmem_gpa_t probes[3] = { layout[i], layout[i] + 0x7ff,
					  layout[i] + PAGE - 1 };
		size_t j;

		for (j = 0; j < 3; j++) {
			struct vmmem_region *found = NULL;

			assert_int_equal(
				vmmem_find_region(f->mem, probes[j], &found),
				0);
			assert_ptr_equal(found, want);
		}
	}
}

static void test_memory_find_region_fails_outside_regions(void **state)
{
	struct fixture *f = *state;
	static const vmmem_gpa_t misses[] = {
		HOLE1_GPA,	HOLE1_GPA + 0x800, D_GPA - 1,
		HOLE2_GPA,	E_GPA - 1,	   END_GPA,
		0x123456789ull, TOP_GPA - 1,	   1ull << 63,
	};
	size_t i;

	for (i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
		struct vmmem_region *found = NULL;

		assert_int_equal(vmmem_find_region(f->mem, misses[i], &found),
				 -EFAULT);
	}
}

static void test_memory_find_region_repeats_hits(void **state)
{
	struct fixture *f = *state;
	struct vmmem_region *a = vmmem_region_at(f->mem, 0);
	struct vmmem_region *top = vmmem_region_at(f->mem, NLAYOUT - 1);
	struct vmmem_region *found;
	int i;

	for (i = 0; i < 8; i++) {
		found = NULL;
		assert_int_equal(vmmem_find_region(f->mem, 0x10, &found), 0);
		assert_ptr_equal(found, a);
		/* The same again, then elsewhere, then a miss. */
		assert_int_equal(vmmem_find_region(f->mem, 0xfff, &found), 0);
		assert_ptr_equal(found, a);
		assert_int_equal(vmmem_find_region(f->mem, UINT64_MAX, &found),
				 0);
		assert_ptr_equal(found, top);
		assert_int_equal(vmmem_find_region(f->mem, B_GPA, &found), 0);
		assert_true(vmmem_region_gpa(found) == B_GPA);
		assert_int_equal(vmmem_find_region(f->mem, HOLE1_GPA, &found),
				 -EFAULT);
	}
}

static void test_memory_last_gpa_is_last_byte_of_highest_region(void **state)
{
	static const struct vmmem_range ranges[] = {
		{ 0x5000, 0x803 },
		{ 0x0, 0x1000 },
	};
	struct vmmem *mem = NULL;
	vmmem_gpa_t last = 0;

	(void)state;
	assert_int_equal(vmmem_create_anon(ranges, 2, 0, &mem), 0);
	assert_int_equal(vmmem_last_gpa(mem, &last), 0);
	assert_true(last == 0x5802);
	vmmem_destroy(mem);
}

static void test_memory_last_gpa_reaches_top_of_space(void **state)
{
	struct fixture *f = *state;
	vmmem_gpa_t last = 0;

	assert_int_equal(vmmem_last_gpa(f->mem, &last), 0);
	assert_true(last == UINT64_MAX);
}

/* vmmem_check_range() */

static void test_memory_check_range_of_zero_length_succeeds(void **state)
{
	struct fixture *f = *state;
	static const vmmem_gpa_t gpas[] = { A_GPA, HOLE1_GPA, END_GPA,
					    UINT64_MAX, TOP_GPA - 1 };
	size_t i;

	for (i = 0; i < sizeof(gpas) / sizeof(gpas[0]); i++)
		assert_int_equal(vmmem_check_range(f->mem, gpas[i], 0), 0);
}

static void test_memory_check_range_accepts_exact_fit(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_check_range(f->mem, D_GPA, PAGE), 0);
	assert_int_equal(vmmem_check_range(f->mem, D_GPA, 1), 0);
	assert_int_equal(vmmem_check_range(f->mem, HOLE2_GPA - 1, 1), 0);
	assert_int_equal(vmmem_check_range(f->mem, TOP_GPA, PAGE), 0);
	assert_int_equal(vmmem_check_range(f->mem, UINT64_MAX, 1), 0);
}

static void test_memory_check_range_rejects_one_byte_past_end(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_check_range(f->mem, D_GPA, PAGE + 1), -EFAULT);
	assert_int_equal(vmmem_check_range(f->mem, HOLE2_GPA - 1, 2), -EFAULT);
	assert_int_equal(vmmem_check_range(f->mem, D_GPA - 1, PAGE), -EFAULT);
	assert_int_equal(vmmem_check_range(f->mem, A_GPA, 3 * PAGE + 1),
			 -EFAULT);
	assert_int_equal(vmmem_check_range(f->mem, TOP_GPA - 1, 2), -EFAULT);
}

static void test_memory_check_range_crosses_adjacent_regions(void **state)
{
	struct fixture *f = *state;

	/* Two regions. */
	assert_int_equal(vmmem_check_range(f->mem, B_GPA - 0x10, 0x20), 0);
	assert_int_equal(vmmem_check_range(f->mem, B_GPA - 1, 2), 0);
	/* Three regions. */
	assert_int_equal(vmmem_check_range(f->mem, A_GPA, 3 * PAGE), 0);
	assert_int_equal(vmmem_check_range(f->mem, B_GPA - 1, PAGE + 2), 0);
	/* Across a read-only region: it is backed. */
	assert_int_equal(vmmem_check_range(f->mem, R_GPA - 0x10, PAGE + 0x20),
			 0);
}

static void test_memory_check_range_rejects_hole_in_middle(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_check_range(f->mem, C_GPA, 3 * PAGE), -EFAULT);
	assert_int_equal(vmmem_check_range(f->mem, HOLE1_GPA - 1, PAGE + 2),
			 -EFAULT);
	assert_int_equal(vmmem_check_range(f->mem, A_GPA, END_GPA), -EFAULT);
}

static void test_memory_check_range_rejects_wrap(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_check_range(f->mem, UINT64_MAX, 2), -EOVERFLOW);
	assert_int_equal(vmmem_check_range(f->mem, TOP_GPA + 1, PAGE),
			 -EOVERFLOW);
	assert_int_equal(vmmem_check_range(f->mem, 2, UINT64_MAX), -EOVERFLOW);
	assert_int_equal(vmmem_check_range(f->mem, UINT64_MAX, UINT64_MAX),
			 -EOVERFLOW);
}

static void test_memory_check_range_of_max_length_is_unbacked(void **state)
{
	struct fixture *f = *state;

	/* [0, 2^64 - 1) and [1, 2^64) do not wrap, but have holes. */
	assert_int_equal(vmmem_check_range(f->mem, 0, UINT64_MAX), -EFAULT);
	assert_int_equal(vmmem_check_range(f->mem, 1, UINT64_MAX), -EFAULT);
}

/* vmmem_check_writable() */

static void test_memory_check_writable_of_zero_length_succeeds(void **state)
{
	struct fixture *f = *state;
	static const vmmem_gpa_t gpas[] = { A_GPA,   HOLE1_GPA,	 R_GPA,
					    END_GPA, UINT64_MAX, TOP_GPA - 1 };
	size_t i;

	for (i = 0; i < sizeof(gpas) / sizeof(gpas[0]); i++)
		assert_int_equal(vmmem_check_writable(f->mem, gpas[i], 0), 0);
}

static void test_memory_check_writable_accepts_one_region(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_check_writable(f->mem, D_GPA, PAGE), 0);
	assert_int_equal(vmmem_check_writable(f->mem, D_GPA + 0x10, 1), 0);
	assert_int_equal(vmmem_check_writable(f->mem, TOP_GPA, PAGE), 0);
	assert_int_equal(vmmem_check_writable(f->mem, UINT64_MAX, 1), 0);
}

static void test_memory_check_writable_crosses_adjacent_regions(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_check_writable(f->mem, B_GPA - 1, 2), 0);
	assert_int_equal(vmmem_check_writable(f->mem, A_GPA, 3 * PAGE), 0);
	assert_int_equal(vmmem_check_writable(f->mem, B_GPA - 1, PAGE + 2), 0);
	/* Up to the read-only region and from just after it. */
	assert_int_equal(vmmem_check_writable(f->mem, E_GPA, PAGE), 0);
	assert_int_equal(vmmem_check_writable(f->mem, F_GPA, PAGE), 0);
}

static void test_memory_check_writable_rejects_read_only_region(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_check_writable(f->mem, R_GPA, PAGE), -EACCES);
	assert_int_equal(vmmem_check_writable(f->mem, R_GPA + PAGE - 1, 1),
			 -EACCES);
	/* Ending in it, starting in it. */
	assert_int_equal(vmmem_check_writable(f->mem, R_GPA - 1, 2), -EACCES);
	assert_int_equal(vmmem_check_writable(f->mem, F_GPA - 1, 2), -EACCES);
}

static void test_memory_check_writable_rejects_read_only_in_middle(void **state)
{
	struct fixture *f = *state;

	/* E, R, F: writable on both sides, read-only between. */
	assert_int_equal(vmmem_check_writable(f->mem, E_GPA, 3 * PAGE),
			 -EACCES);
	assert_int_equal(
		vmmem_check_writable(f->mem, R_GPA - 0x10, PAGE + 0x20),
		-EACCES);
	/* The same ranges are backed. */
	assert_int_equal(vmmem_check_range(f->mem, E_GPA, 3 * PAGE), 0);
}

static void test_memory_check_writable_rejects_hole(void **state)
{
	struct fixture *f = *state;

	/* A hole in the middle, at the end, at the start. */
	assert_int_equal(vmmem_check_writable(f->mem, C_GPA, 3 * PAGE),
			 -EFAULT);
	assert_int_equal(vmmem_check_writable(f->mem, D_GPA, PAGE + 1),
			 -EFAULT);
	assert_int_equal(vmmem_check_writable(f->mem, HOLE2_GPA, 1), -EFAULT);
	assert_int_equal(vmmem_check_writable(f->mem, D_GPA - 1, 2), -EFAULT);
	assert_int_equal(vmmem_check_writable(f->mem, 0, UINT64_MAX), -EFAULT);
}

static void test_memory_check_writable_reports_hole_over_read_only(void **state)
{
	struct fixture *f = *state;

	/* Through R and on past the end of F: a hole beats read-only. */
	assert_int_equal(vmmem_check_writable(f->mem, R_GPA, 2 * PAGE + 1),
			 -EFAULT);
	assert_int_equal(vmmem_check_writable(f->mem, HOLE2_GPA - 1,
					      END_GPA - HOLE2_GPA + 2),
			 -EFAULT);
}

static void test_memory_check_writable_rejects_wrap(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_check_writable(f->mem, UINT64_MAX, 2),
			 -EOVERFLOW);
	assert_int_equal(vmmem_check_writable(f->mem, TOP_GPA + 1, PAGE),
			 -EOVERFLOW);
	assert_int_equal(vmmem_check_writable(f->mem, R_GPA, UINT64_MAX),
			 -EOVERFLOW);
}

static void test_memory_check_writable_agrees_with_write(void **state)
{
	struct fixture *f = *state;
	static const struct {
		vmmem_gpa_t gpa;
		uint64_t len;
	} cases[] = {
		{ B_GPA - 8, 16 },	  { C_GPA + PAGE - 8, 16 },
		{ E_GPA + PAGE - 8, 16 }, { R_GPA + 8, 16 },
		{ F_GPA - 8, 16 },	  { F_GPA + PAGE - 8, 16 },
		{ TOP_GPA - 8, 16 },	  { A_GPA, 3 * PAGE },
	};
	uint8_t buf[3 * PAGE];
	size_t i;

	memset(buf, SRC_FILL, sizeof(buf));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(
			vmmem_check_writable(f->mem, cases[i].gpa,
					     cases[i].len),
			vmmem_write(f->mem, cases[i].gpa, buf, cases[i].len));
}

/* vmmem_read(), vmmem_write() */

static void test_memory_read_crosses_two_regions(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[0x20];

	assert_int_equal(vmmem_read(f->mem, B_GPA - 0x10, buf, sizeof(buf)), 0);
	assert_bytes_pattern(buf, sizeof(buf), B_GPA - 0x10);
}

static void test_memory_read_crosses_three_regions(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[PAGE + 0x20];

	assert_int_equal(vmmem_read(f->mem, B_GPA - 0x10, buf, sizeof(buf)), 0);
	assert_bytes_pattern(buf, sizeof(buf), B_GPA - 0x10);
}

static void test_memory_write_crosses_two_regions(void **state)
{
	struct fixture *f = *state;
	uint8_t src[0x10], buf[0x10];
	const uint8_t *b, *c;
	size_t i;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(0x80 + i);
	assert_int_equal(vmmem_write(f->mem, C_GPA - 8, src, sizeof(src)), 0);
	assert_int_equal(vmmem_read(f->mem, C_GPA - 8, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, src, sizeof(src));
	/* Each half landed at the right offset of the right region. */
	b = vmmem_region_hva(vmmem_region_at(f->mem, 1));
	c = vmmem_region_hva(vmmem_region_at(f->mem, 2));
	assert_memory_equal(b + PAGE - 8, src, 8);
	assert_memory_equal(c, src + 8, 8);
	assert_pattern(f->mem, C_GPA - 9, 1);
	assert_pattern(f->mem, C_GPA + 8, 1);
}

static void test_memory_write_crosses_three_regions(void **state)
{
	struct fixture *f = *state;
	uint8_t src[PAGE + 4], buf[PAGE + 4];
	size_t i;

	for (i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 3 + 1);
	assert_int_equal(vmmem_write(f->mem, B_GPA - 2, src, sizeof(src)), 0);
	assert_int_equal(vmmem_read(f->mem, B_GPA - 2, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, src, sizeof(src));
	assert_pattern(f->mem, A_GPA, PAGE - 2);
	assert_pattern(f->mem, C_GPA + 2, PAGE - 2);
}

/* A read of [gpa, gpa + len) that must fail and change nothing. */
static void check_failed_read(struct vmmem *mem, vmmem_gpa_t gpa, size_t len,
			      int err)
{
	uint8_t buf[4 * PAGE];

	assert_true(len <= sizeof(buf));
	memset(buf, BUF_FILL, sizeof(buf));
	assert_int_equal(vmmem_read(mem, gpa, buf, len), err);
	assert_bytes(buf, sizeof(buf), BUF_FILL);
	assert_guest_unchanged(mem);
}

/* A write of [gpa, gpa + len) that must fail and change nothing. */
static void check_failed_write(struct vmmem *mem, vmmem_gpa_t gpa, size_t len,
			       int err)
{
	uint8_t src[4 * PAGE];

	assert_true(len <= sizeof(src));
	memset(src, SRC_FILL, sizeof(src));
	assert_int_equal(vmmem_write(mem, gpa, src, len), err);
	assert_bytes(src, sizeof(src), SRC_FILL);
	assert_guest_unchanged(mem);
}

static void test_memory_read_with_hole_in_middle_changes_nothing(void **state)
{
	struct fixture *f = *state;

	check_failed_read(f->mem, C_GPA + 0x800, 2 * PAGE, -EFAULT);
}

static void test_memory_read_starting_in_hole_changes_nothing(void **state)
{
	struct fixture *f = *state;

	check_failed_read(f->mem, D_GPA - 0x800, PAGE, -EFAULT);
	check_failed_read(f->mem, HOLE1_GPA, 1, -EFAULT);
}

static void test_memory_read_ending_in_hole_changes_nothing(void **state)
{
	struct fixture *f = *state;

	check_failed_read(f->mem, D_GPA + 0x800, PAGE, -EFAULT);
	check_failed_read(f->mem, A_GPA, 3 * PAGE + 1, -EFAULT);
}

static void test_memory_write_with_hole_in_middle_changes_nothing(void **state)
{
	struct fixture *f = *state;

	check_failed_write(f->mem, C_GPA + 0x800, 2 * PAGE, -EFAULT);
}

static void test_memory_write_starting_in_hole_changes_nothing(void **state)
{
	struct fixture *f = *state;

	check_failed_write(f->mem, D_GPA - 0x800, PAGE, -EFAULT);
	check_failed_write(f->mem, HOLE1_GPA, 1, -EFAULT);
}

static void test_memory_write_ending_in_hole_changes_nothing(void **state)
{
	struct fixture *f = *state;

	check_failed_write(f->mem, D_GPA + 0x800, PAGE, -EFAULT);
	check_failed_write(f->mem, A_GPA, 3 * PAGE + 1, -EFAULT);
}

static void test_memory_write_to_read_only_region_fails(void **state)
{
	struct fixture *f = *state;

	check_failed_write(f->mem, R_GPA + 0x100, 0x10, -EACCES);
	check_failed_write(f->mem, R_GPA, PAGE, -EACCES);
}

static void test_memory_write_into_read_only_changes_nothing(void **state)
{
	struct fixture *f = *state;

	/* E -> R, R -> F, and E -> R -> F. */
	check_failed_write(f->mem, R_GPA - 0x10, 0x20, -EACCES);
	check_failed_write(f->mem, F_GPA - 0x10, 0x20, -EACCES);
	check_failed_write(f->mem, R_GPA - 0x10, PAGE + 0x20, -EACCES);
}

static void test_memory_write_after_read_only_hint_fails(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8];

	/* The read makes R the region of the previous access. */
	assert_int_equal(vmmem_read(f->mem, R_GPA + 0x40, buf, sizeof(buf)), 0);
	check_failed_write(f->mem, R_GPA + 0x40, sizeof(buf), -EACCES);
}

static void test_memory_access_past_previous_region_fails(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[8];

	/* Each access starts in the region of the one before it. */
	assert_int_equal(vmmem_read(f->mem, D_GPA + 0x10, buf, sizeof(buf)), 0);
	check_failed_read(f->mem, D_GPA + 0x800, PAGE, -EFAULT);
	/* Write back what was read: D keeps its pattern. */
	assert_int_equal(vmmem_write(f->mem, D_GPA + 0x10, buf, sizeof(buf)),
			 0);
	check_failed_write(f->mem, D_GPA + 0x800, PAGE, -EFAULT);
}

static void test_memory_read_from_read_only_region_works(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[0x20];

	memset(buf, BUF_FILL, sizeof(buf));
	assert_int_equal(vmmem_read(f->mem, R_GPA - 0x10, buf, sizeof(buf)), 0);
	assert_bytes_pattern(buf, 0x10, R_GPA - 0x10);
	assert_bytes(buf + 0x10, 0x10, 0);
}

static void test_memory_zero_length_access_succeeds_anywhere(void **state)
{
	struct fixture *f = *state;
	static const vmmem_gpa_t gpas[] = { A_GPA, HOLE1_GPA, R_GPA, END_GPA,
					    UINT64_MAX };
	uint8_t buf[4];
	size_t i;

	for (i = 0; i < sizeof(gpas) / sizeof(gpas[0]); i++) {
		size_t done = 1;

		memset(buf, BUF_FILL, sizeof(buf));
		assert_int_equal(vmmem_read(f->mem, gpas[i], buf, 0), 0);
		assert_int_equal(vmmem_write(f->mem, gpas[i], buf, 0), 0);
		assert_int_equal(vmmem_fill(f->mem, gpas[i], 0x11, 0), 0);
		assert_int_equal(
			vmmem_read_partial(f->mem, gpas[i], buf, 0, &done), 0);
		assert_int_equal(done, 0);
		done = 1;
		assert_int_equal(
			vmmem_write_partial(f->mem, gpas[i], buf, 0, &done), 0);
		assert_int_equal(done, 0);
		assert_bytes(buf, sizeof(buf), BUF_FILL);
	}
	assert_guest_unchanged(f->mem);
}

static void test_memory_read_past_top_overflows(void **state)
{
	struct fixture *f = *state;

	check_failed_read(f->mem, UINT64_MAX - 0xf, 0x20, -EOVERFLOW);
	check_failed_read(f->mem, UINT64_MAX, 2, -EOVERFLOW);
	check_failed_read(f->mem, TOP_GPA, PAGE + 1, -EOVERFLOW);
}

static void test_memory_write_past_top_overflows(void **state)
{
	struct fixture *f = *state;

	check_failed_write(f->mem, UINT64_MAX - 0xf, 0x20, -EOVERFLOW);
	check_failed_write(f->mem, UINT64_MAX, 2, -EOVERFLOW);
	check_failed_write(f->mem, TOP_GPA, PAGE + 1, -EOVERFLOW);
}

static void test_memory_last_byte_of_space_round_trips(void **state)
{
	struct fixture *f = *state;
	uint8_t byte = 0x5c, back = 0;
	uint8_t *top = vmmem_region_hva(vmmem_region_at(f->mem, NLAYOUT - 1));

	assert_int_equal(vmmem_write(f->mem, UINT64_MAX, &byte, 1), 0);
	assert_int_equal(vmmem_read(f->mem, UINT64_MAX, &back, 1), 0);
	assert_int_equal(back, 0x5c);
	assert_int_equal(top[PAGE - 1], 0x5c);
	assert_pattern(f->mem, UINT64_MAX - 1, 1);
}

static void test_memory_whole_top_region_round_trips(void **state)
{
	struct fixture *f = *state;
	uint8_t src[PAGE], buf[PAGE];
	size_t i;

	for (i = 0; i < PAGE; i++)
		src[i] = (uint8_t)(i ^ 0x3c);
	assert_int_equal(vmmem_write(f->mem, TOP_GPA, src, PAGE), 0);
	assert_int_equal(vmmem_read(f->mem, TOP_GPA, buf, PAGE), 0);
	assert_memory_equal(buf, src, PAGE);
}

static void test_memory_top_region_holds_last_address(void **state)
{
	struct fixture *f = *state;
	struct vmmem_region *found = NULL;

	assert_int_equal(vmmem_find_region(f->mem, UINT64_MAX, &found), 0);
	assert_true(vmmem_region_gpa(found) == TOP_GPA);
	assert_true(vmmem_region_last(found) == UINT64_MAX);
	assert_true(vmmem_region_len(found) == PAGE);
}

/* vmmem_read_partial(), vmmem_write_partial() */

static void test_memory_read_partial_copies_all_when_backed(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[PAGE + 0x20];
	size_t done = 0;

	assert_int_equal(vmmem_read_partial(f->mem, B_GPA - 0x10, buf,
					    sizeof(buf), &done),
			 0);
	assert_int_equal(done, sizeof(buf));
	assert_bytes_pattern(buf, sizeof(buf), B_GPA - 0x10);
}

static void test_memory_read_partial_stops_at_hole(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[PAGE + 0x20];
	size_t done = 0;

	memset(buf, BUF_FILL, sizeof(buf));
	/* C's last 0x10 bytes, the hole, then D. */
	assert_int_equal(vmmem_read_partial(f->mem, HOLE1_GPA - 0x10, buf,
					    sizeof(buf), &done),
			 -EFAULT);
	assert_int_equal(done, 0x10);
	assert_bytes_pattern(buf, 0x10, HOLE1_GPA - 0x10);
	assert_bytes(buf + 0x10, sizeof(buf) - 0x10, BUF_FILL);
}

static void test_memory_read_partial_crosses_regions_then_stops(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[3 * PAGE];
	size_t done = 0;

	memset(buf, BUF_FILL, sizeof(buf));
	/* The end of A, all of B and C, then the hole. */
	assert_int_equal(vmmem_read_partial(f->mem, A_GPA + 0x800, buf,
					    sizeof(buf), &done),
			 -EFAULT);
	assert_int_equal(done, 2 * PAGE + 0x800);
	assert_bytes_pattern(buf, done, A_GPA + 0x800);
	assert_bytes(buf + done, sizeof(buf) - done, BUF_FILL);
}

static void test_memory_read_partial_in_hole_copies_nothing(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[0x10];
	size_t done = 1;

	memset(buf, BUF_FILL, sizeof(buf));
	assert_int_equal(
		vmmem_read_partial(f->mem, HOLE1_GPA, buf, sizeof(buf), &done),
		-EFAULT);
	assert_int_equal(done, 0);
	assert_bytes(buf, sizeof(buf), BUF_FILL);
}

static void test_memory_read_partial_stops_at_top_of_space(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[0x20];
	size_t done = 99;

	memset(buf, BUF_FILL, sizeof(buf));
	assert_int_equal(vmmem_read_partial(f->mem, UINT64_MAX - 0xf, buf,
					    sizeof(buf), &done),
			 -EOVERFLOW);
	/* A range that wraps is refused whole: an error means nothing
	 * moved, not even what lies below 2^64. */
	assert_int_equal(done, 0);
	assert_bytes(buf, sizeof(buf), BUF_FILL);
}

static void test_memory_write_partial_copies_all_when_backed(void **state)
{
	struct fixture *f = *state;
	uint8_t src[PAGE + 0x20], buf[PAGE + 0x20];
	size_t done = 0;

	memset(src, SRC_FILL, sizeof(src));
	assert_int_equal(vmmem_write_partial(f->mem, B_GPA - 0x10, src,
					     sizeof(src), &done),
			 0);
	assert_int_equal(done, sizeof(src));
	assert_int_equal(vmmem_read(f->mem, B_GPA - 0x10, buf, sizeof(buf)), 0);
	assert_bytes(buf, sizeof(buf), SRC_FILL);
}

static void test_memory_write_partial_stops_at_hole(void **state)
{
	struct fixture *f = *state;
	uint8_t src[PAGE + 0x20];
	size_t done = 0;

	memset(src, SRC_FILL, sizeof(src));
	assert_int_equal(vmmem_write_partial(f->mem, HOLE1_GPA - 0x10, src,
					     sizeof(src), &done),
			 -EFAULT);
	assert_int_equal(done, 0x10);
	assert_guest_bytes(f->mem, HOLE1_GPA - 0x10, 0x10, SRC_FILL);
	assert_pattern(f->mem, C_GPA, PAGE - 0x10);
	/* Nothing beyond the hole. */
	assert_pattern(f->mem, D_GPA, PAGE);
}

static void test_memory_write_partial_stops_at_read_only_region(void **state)
{
	struct fixture *f = *state;
	uint8_t src[PAGE + 0x20];
	size_t done = 0;

	memset(src, SRC_FILL, sizeof(src));
	/* E's last 0x10 bytes, then R (and F after it). */
	assert_int_equal(vmmem_write_partial(f->mem, R_GPA - 0x10, src,
					     sizeof(src), &done),
			 -EACCES);
	assert_int_equal(done, 0x10);
	assert_guest_bytes(f->mem, R_GPA - 0x10, 0x10, SRC_FILL);
	assert_guest_bytes(f->mem, R_GPA, PAGE, 0);
	assert_pattern(f->mem, F_GPA, PAGE);
}

static void test_memory_write_partial_at_read_only_copies_nothing(void **state)
{
	struct fixture *f = *state;
	uint8_t src[0x10];
	size_t done = 1;

	memset(src, SRC_FILL, sizeof(src));
	assert_int_equal(
		vmmem_write_partial(f->mem, R_GPA, src, sizeof(src), &done),
		-EACCES);
	assert_int_equal(done, 0);
	assert_guest_unchanged(f->mem);
}

static void test_memory_write_partial_in_hole_copies_nothing(void **state)
{
	struct fixture *f = *state;
	uint8_t src[0x10];
	size_t done = 1;

	memset(src, SRC_FILL, sizeof(src));
	assert_int_equal(
		vmmem_write_partial(f->mem, HOLE2_GPA, src, sizeof(src), &done),
		-EFAULT);
	assert_int_equal(done, 0);
	assert_guest_unchanged(f->mem);
}

/* A range that wraps past 2^64 fails with nothing written. */
static void test_memory_write_partial_reports_wrap(void **state)
{
	struct fixture *f = *state;
	uint8_t src[0x20], buf[0x10];
	size_t done = 99;

	memset(src, SRC_FILL, sizeof(src));
	assert_int_equal(vmmem_write_partial(f->mem, UINT64_MAX - 0xf, src,
					     sizeof(src), &done),
			 -EOVERFLOW);
	assert_int_equal(done, 0);
	assert_int_equal(vmmem_read(f->mem, UINT64_MAX - 0xf, buf, 0x10), 0);
	assert_bytes_pattern(buf, 0x10, UINT64_MAX - 0xf);
}

/* vmmem_read_obj(), vmmem_write_obj() */

struct sample_obj {
	uint32_t a;
	uint16_t b;
	uint8_t c[10];
};

static void test_memory_obj_round_trips_across_regions(void **state)
{
	struct fixture *f = *state;
	struct sample_obj in = { 0x11223344,
				 0x5566,
				 { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 } };
	struct sample_obj out;
	uint8_t raw[sizeof(in)];

	memset(&out, 0, sizeof(out));
	assert_int_equal(vmmem_write_obj(f->mem, B_GPA - 5, &in), 0);
	assert_int_equal(vmmem_read_obj(f->mem, B_GPA - 5, &out), 0);
	assert_memory_equal(&out, &in, sizeof(in));
	/* Exactly sizeof(obj) bytes, in memory order. */
	assert_int_equal(vmmem_read(f->mem, B_GPA - 5, raw, sizeof(raw)), 0);
	assert_memory_equal(raw, &in, sizeof(in));
	assert_pattern(f->mem, B_GPA - 6, 1);
	assert_pattern(f->mem, B_GPA - 5 + sizeof(in), 1);
}

static void test_memory_read_obj_from_hole_keeps_object(void **state)
{
	struct fixture *f = *state;
	struct sample_obj out, before;

	memset(&out, BUF_FILL, sizeof(out));
	memcpy(&before, &out, sizeof(out));
	assert_int_equal(vmmem_read_obj(f->mem, HOLE1_GPA - 4, &out), -EFAULT);
	assert_memory_equal(&out, &before, sizeof(out));
	assert_int_equal(vmmem_write_obj(f->mem, HOLE1_GPA - 4, &out), -EFAULT);
	assert_guest_unchanged(f->mem);
}

/* vmmem_fill() */

static void test_memory_fill_sets_range_across_regions(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_fill(f->mem, B_GPA - 8, 0x5a, PAGE + 0x10), 0);
	assert_guest_bytes(f->mem, B_GPA - 8, PAGE + 0x10, 0x5a);
	assert_pattern(f->mem, A_GPA, PAGE - 8);
	assert_pattern(f->mem, C_GPA + 8, PAGE - 8);
}

static void test_memory_fill_uses_low_byte_of_value(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_fill(f->mem, D_GPA, 0x1ab, 0x10), 0);
	assert_guest_bytes(f->mem, D_GPA, 0x10, 0xab);
	assert_int_equal(vmmem_fill(f->mem, D_GPA, -1, 0x10), 0);
	assert_guest_bytes(f->mem, D_GPA, 0x10, 0xff);
	assert_pattern(f->mem, D_GPA + 0x10, 1);
}

static void test_memory_fill_into_hole_changes_nothing(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_fill(f->mem, HOLE1_GPA - 0x10, 0, 0x20),
			 -EFAULT);
	assert_int_equal(vmmem_fill(f->mem, C_GPA, 0, 3 * PAGE), -EFAULT);
	assert_int_equal(vmmem_fill(f->mem, HOLE2_GPA, 0, 1), -EFAULT);
	assert_guest_unchanged(f->mem);
}

static void test_memory_fill_of_read_only_region_changes_nothing(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_fill(f->mem, R_GPA, 1, PAGE), -EACCES);
	assert_int_equal(vmmem_fill(f->mem, E_GPA, 1, 3 * PAGE), -EACCES);
	assert_guest_unchanged(f->mem);
}

static void test_memory_fill_past_top_overflows(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vmmem_fill(f->mem, UINT64_MAX - 0xf, 0, 0x20),
			 -EOVERFLOW);
	assert_guest_unchanged(f->mem);
}

/* vmmem_get_ptr() */

static void test_memory_get_ptr_rejects_zero_length(void **state)
{
	struct fixture *f = *state;
	void *hva = NULL;

	assert_int_equal(vmmem_get_ptr(f->mem, D_GPA, 0, &hva), -EINVAL);
	assert_int_equal(vmmem_get_ptr(f->mem, A_GPA, 0, &hva), -EINVAL);
}

static void test_memory_get_ptr_points_at_the_address(void **state)
{
	struct fixture *f = *state;
	static const uint8_t src[16] = { 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5,
					 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b,
					 0x3c, 0x2d, 0x1e, 0x0f };
	uint8_t *b = vmmem_region_hva(vmmem_region_at(f->mem, 1));
	uint8_t buf[16];
	void *hva = NULL;

	assert_int_equal(vmmem_get_ptr(f->mem, B_GPA + 0x234, 16, &hva), 0);
	assert_ptr_equal(hva, b + 0x234);
	memcpy(hva, src, sizeof(src));
	assert_int_equal(vmmem_read(f->mem, B_GPA + 0x234, buf, 16), 0);
	assert_memory_equal(buf, src, 16);
	assert_pattern(f->mem, B_GPA + 0x233, 1);
	assert_pattern(f->mem, B_GPA + 0x244, 1);
}

static void test_memory_get_ptr_accepts_whole_region(void **state)
{
	struct fixture *f = *state;
	uint8_t *d = vmmem_region_hva(vmmem_region_at(f->mem, 3));
	void *hva = NULL;

	assert_int_equal(vmmem_get_ptr(f->mem, D_GPA, PAGE, &hva), 0);
	assert_ptr_equal(hva, d);
	assert_int_equal(vmmem_get_ptr(f->mem, HOLE2_GPA - 1, 1, &hva), 0);
	assert_ptr_equal(hva, d + PAGE - 1);
}

static void test_memory_get_ptr_rejects_range_crossing_regions(void **state)
{
	struct fixture *f = *state;
	void *hva = NULL;

	assert_int_equal(vmmem_get_ptr(f->mem, B_GPA - 0x10, 0x20, &hva),
			 -EXDEV);
	assert_int_equal(vmmem_get_ptr(f->mem, A_GPA, PAGE + 1, &hva), -EXDEV);
	assert_int_equal(vmmem_get_ptr(f->mem, A_GPA, 3 * PAGE, &hva), -EXDEV);
	assert_int_equal(vmmem_get_ptr(f->mem, R_GPA - 1, 2, &hva), -EXDEV);
}

static void test_memory_get_ptr_rejects_range_into_hole(void **state)
{
	struct fixture *f = *state;
	void *hva = NULL;

	assert_int_equal(vmmem_get_ptr(f->mem, HOLE1_GPA - 0x10, 0x20, &hva),
			 -EFAULT);
	assert_int_equal(vmmem_get_ptr(f->mem, HOLE1_GPA, 1, &hva), -EFAULT);
	assert_int_equal(vmmem_get_ptr(f->mem, D_GPA - 1, 2, &hva), -EFAULT);
	assert_int_equal(vmmem_get_ptr(f->mem, D_GPA, PAGE + 1, &hva), -EFAULT);
	/* Crossing into an adjacent region and then into a hole is not
	 * fully backed: -EFAULT, not -EXDEV. */
	assert_int_equal(vmmem_get_ptr(f->mem, C_GPA - 0x10, PAGE + 0x20, &hva),
			 -EFAULT);
}

static void test_memory_get_ptr_rejects_wrap(void **state)
{
	struct fixture *f = *state;
	void *hva = NULL;

	assert_int_equal(vmmem_get_ptr(f->mem, UINT64_MAX, 2, &hva),
			 -EOVERFLOW);
	assert_int_equal(vmmem_get_ptr(f->mem, TOP_GPA, PAGE + 1, &hva),
			 -EOVERFLOW);
	assert_int_equal(vmmem_get_ptr(f->mem, 0x10, UINT64_MAX, &hva),
			 -EOVERFLOW);
}

static void test_memory_get_ptr_reaches_top_of_space(void **state)
{
	struct fixture *f = *state;
	uint8_t *top = vmmem_region_hva(vmmem_region_at(f->mem, NLAYOUT - 1));
	void *hva = NULL;

	assert_int_equal(vmmem_get_ptr(f->mem, UINT64_MAX, 1, &hva), 0);
	assert_ptr_equal(hva, top + PAGE - 1);
	assert_int_equal(vmmem_get_ptr(f->mem, TOP_GPA, PAGE, &hva), 0);
	assert_ptr_equal(hva, top);
}

static void test_memory_get_ptr_of_read_only_region_reads(void **state)
{
	struct fixture *f = *state;
	void *hva = NULL;

	assert_int_equal(vmmem_get_ptr(f->mem, R_GPA + 0x10, 0x10, &hva), 0);
	assert_bytes(hva, 0x10, 0);
}

/* Regions of odd start and length. */

static void test_memory_odd_region_bounds_are_exact(void **state)
{
	static const struct vmmem_range range = { 3, 5 }; /* 3 .. 7 */
	struct vmmem_region *found = NULL;
	struct vmmem *mem = NULL;
	vmmem_gpa_t last = 0;

	(void)state;
	assert_int_equal(vmmem_create_anon(&range, 1, 0, &mem), 0);
	assert_int_equal(vmmem_find_region(mem, 2, &found), -EFAULT);
	assert_int_equal(vmmem_find_region(mem, 3, &found), 0);
	assert_true(vmmem_region_len(found) == 5);
	assert_int_equal(vmmem_find_region(mem, 7, &found), 0);
	assert_int_equal(vmmem_find_region(mem, 8, &found), -EFAULT);
	assert_int_equal(vmmem_check_range(mem, 3, 5), 0);
	assert_int_equal(vmmem_check_range(mem, 3, 6), -EFAULT);
	assert_int_equal(vmmem_check_range(mem, 2, 2), -EFAULT);
	assert_int_equal(vmmem_last_gpa(mem, &last), 0);
	assert_true(last == 7);
	vmmem_destroy(mem);
}

static void test_memory_odd_region_round_trips_data(void **state)
{
	static const struct vmmem_range ranges[] = { { 3, 5 }, { 8, 3 } };
	static const uint8_t src[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct vmmem *mem = NULL;
	uint8_t buf[9] = { 0 };
	void *hva = NULL;

	(void)state;
	assert_int_equal(vmmem_create_anon(ranges, 2, 0, &mem), 0);
	/* [3, 11) spans both regions exactly. */
	assert_int_equal(vmmem_write(mem, 3, src, 8), 0);
	assert_int_equal(vmmem_read(mem, 3, buf, 8), 0);
	assert_memory_equal(buf, src, 8);
	assert_int_equal(vmmem_read(mem, 3, buf, 9), -EFAULT);
	assert_int_equal(vmmem_get_ptr(mem, 3, 5, &hva), 0);
	assert_memory_equal(hva, src, 5);
	assert_int_equal(vmmem_get_ptr(mem, 3, 6, &hva), -EXDEV);
	assert_int_equal(vmmem_get_ptr(mem, 8, 4, &hva), -EFAULT);
	vmmem_destroy(mem);
}

/* Many regions, checked against a model computed here. */

static void test_memory_many_regions_are_sorted(void **state)
{
	struct fixture *f = *state;
	const struct model *m = f->model;
	vmmem_gpa_t last = 0;
	size_t i;

	assert_int_equal(vmmem_region_count(f->mem), NMANY);
	for (i = 0; i < NMANY; i++) {
		struct vmmem_region *r = vmmem_region_at(f->mem, i);

		assert_true(vmmem_region_gpa(r) == m->gpa[i]);
		assert_true(vmmem_region_len(r) == m->len[i]);
	}
	assert_int_equal(vmmem_last_gpa(f->mem, &last), 0);
	assert_true(last == m->end - 1);
}

static void test_memory_many_regions_find_matches_model(void **state)
{
	struct fixture *f = *state;
	const struct model *m = f->model;
	int n;

	for (n = 0; n < 20000; n++) {
		vmmem_gpa_t gpa = next_rand(&f->rng) % (m->end + 0x2000);
		struct vmmem_region *found = NULL;
		long i = model_find(m, gpa);
		int rc = vmmem_find_region(f->mem, gpa, &found);

		if (i < 0) {
			assert_int_equal(rc, -EFAULT);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_ptr_equal(found, vmmem_region_at(f->mem, (size_t)i));
		assert_true(vmmem_region_gpa(found) == m->gpa[i]);
	}
}

static void test_memory_many_regions_read_matches_model(void **state)
{
	struct fixture *f = *state;
	const struct model *m = f->model;
	static uint8_t buf[3 * PAGE];
	int n;

	for (n = 0; n < 4000; n++) {
		uint64_t r = next_rand(&f->rng);
		vmmem_gpa_t gpa = r % (m->end + 0x2000);
		size_t len = 1 + (r >> 40) % sizeof(buf), k;
		int backed = model_backed(m, gpa, len);

		memset(buf, BUF_FILL, len);
		assert_int_equal(vmmem_check_range(f->mem, gpa, len),
				 backed ? 0 : -EFAULT);
		if (!backed) {
			assert_int_equal(vmmem_read(f->mem, gpa, buf, len),
					 -EFAULT);
			assert_bytes(buf, len, BUF_FILL);
			continue;
		}
		assert_int_equal(vmmem_read(f->mem, gpa, buf, len), 0);
		for (k = 0; k < len; k++)
			assert_int_equal(buf[k], *model_byte(m, gpa + k));
	}
}

static void test_memory_many_regions_write_matches_model(void **state)
{
	struct fixture *f = *state;
	const struct model *m = f->model;
	static uint8_t src[3 * PAGE], buf[PAGE];
	size_t i, k;
	int n;

	for (n = 0; n < 2000; n++) {
		uint64_t r = next_rand(&f->rng);
		vmmem_gpa_t gpa = r % (m->end + 0x2000);
		size_t len = 1 + (r >> 40) % sizeof(src);
		int backed = model_backed(m, gpa, len);

		memset(src, (int)(n & 0xff), len);
		assert_int_equal(vmmem_write(f->mem, gpa, src, len),
				 backed ? 0 : -EFAULT);
		if (backed)
			for (k = 0; k < len; k++)
				*model_byte(m, gpa + k) = src[k];
	}
	for (i = 0; i < NMANY; i++) {
		assert_int_equal(vmmem_read(f->mem, m->gpa[i], buf, PAGE), 0);
		assert_memory_equal(buf, &m->bytes[i * PAGE], PAGE);
	}
}

/*
 * 1, 2, 4 and 8-byte values at random addresses, aligned and not, read and
 * written through the inline accessors: the hint, the bucket tables and
 * the library's search must all agree with the model.
 */
static void test_memory_many_regions_scalars_match_model(void **state)
{
	struct fixture *f = *state;
	const struct model *m = f->model;
	int n;

	for (n = 0; n < 40000; n++) {
		uint64_t r = next_rand(&f->rng), want = 0, got = 0;
		unsigned size = 1u << (r >> 60 & 3), k;
		vmmem_gpa_t gpa = r % (m->end + 0x2000);
		int backed, rc;

		if (r >> 62 & 1)
			gpa &= ~(vmmem_gpa_t)(size - 1);
		backed = model_backed(m, gpa, size);
		if (r >> 63) {
			uint64_t v = next_rand(&f->rng);

			switch (size) {
			case 1: rc = vmmem_write_u8(f->mem, gpa, (uint8_t)v); break;
			case 2: rc = vmmem_write_le16(f->mem, gpa, (uint16_t)v); break;
			case 4: rc = vmmem_write_le32(f->mem, gpa, (uint32_t)v); break;
			default: rc = vmmem_write_le64(f->mem, gpa, v); break;
			}
			assert_int_equal(rc, backed ? 0 : -EFAULT);
			for (k = 0; backed && k < size; k++)
				*model_byte(m, gpa + k) = (uint8_t)(v >> 8 * k);
			continue;
		}
		switch (size) {
		case 1: {
			uint8_t v = 0x5a;

			rc = vmmem_read_u8(f->mem, gpa, &v);
			got = v;
			break;
		}
		case 2: {
			uint16_t v = 0x5a5a;

			rc = vmmem_read_le16(f->mem, gpa, &v);
			got = v;
			break;
		}
		case 4: {
			uint32_t v = 0x5a5a5a5a;

			rc = vmmem_read_le32(f->mem, gpa, &v);
			got = v;
			break;
		}
		default:
			got = 0x5a5a5a5a5a5a5a5aull;
			rc = vmmem_read_le64(f->mem, gpa, &got);
			break;
		}
		if (!backed) {
			/* On error the value is untouched. */
			assert_int_equal(rc, -EFAULT);
			assert_true(got == 0x5a5a5a5a5a5a5a5aull >> (64 - 8 * size));
			continue;
		}
		assert_int_equal(rc, 0);
		for (k = 0; k < size; k++)
			want |= (uint64_t)*model_byte(m, gpa + k) << 8 * k;
		assert_true(got == want);
	}
}

/* Where the bucket tables put an aligned value, or NULL: not there. */
static uint8_t *table_hva(struct vmmem *mem, unsigned tab, vmmem_gpa_t gpa,
			  unsigned n)
{
	uintptr_t bias = vmmem__bias(mem, tab, gpa, n);

	return bias ? (uint8_t *)(uintptr_t)(gpa + bias) : NULL;
}

/*
 * White box: with page-aligned boundaries, every aligned value of every
 * region is found through the bucket table, without a search (the speed of
 * random access depends on it).
 */
static void test_memory_aligned_layout_is_in_bucket_table(void **state)
{
	struct fixture *f = *state;
	const struct model *m = f->model;
	size_t i;

	for (i = 0; i < NMANY; i++) {
		void *hva = NULL;
		vmmem_gpa_t end = m->gpa[i] + m->len[i] - 8;

		assert_int_equal(vmmem_get_ptr(f->mem, m->gpa[i], m->len[i],
					       &hva),
				 0);
		assert_ptr_equal(table_hva(f->mem, 0, m->gpa[i], 8), hva);
		assert_ptr_equal(table_hva(f->mem, 1, end, 8),
				 (uint8_t *)hva + m->len[i] - 8);
		/* A misaligned value is left to the library. */
		assert_null(table_hva(f->mem, 0, m->gpa[i] + 4, 8));
		/* So is an address in a gap or outside the set. */
		if (i + 1 < NMANY && m->gpa[i + 1] != m->gpa[i] + m->len[i])
			assert_null(table_hva(f->mem, 0, end + 8, 8));
	}
	assert_null(table_hva(f->mem, 0, m->gpa[0] - 8, 8));
	assert_null(table_hva(f->mem, 0, m->end, 8));
	assert_null(table_hva(f->mem, 0, ~0ull - 7, 8));
}

/*
 * Regions the tables must not hand out for writing: read-only and
 * dirty-tracked ones, in a layout where every bucket is whole.
 */
static void test_memory_scalar_writes_respect_each_region(void **state)
{
	struct vmmem_region *r[3];
	struct vmmem *mem;
	uint64_t v = 0;
	int i;

	(void)state;
	assert_int_equal(vmmem_region_create_anon(0x10000, 0x10000, 0, &r[0]),
			 0);
	assert_int_equal(vmmem_region_create_anon(0x30000, 0x10000,
						  VMMEM_REGION_READONLY,
						  &r[1]),
			 0);
	assert_int_equal(vmmem_region_create_anon(0x50000, 0x10000,
						  VMMEM_REGION_DIRTY_LOG, &r[2]),
			 0);
	assert_int_equal(vmmem_create(r, 3, &mem), 0);
	for (i = 0; i < 3; i++)
		vmmem_region_destroy(r[i]);
	/* Start the hint in the first region, away from the others. */
	assert_int_equal(vmmem_write_u64(mem, 0x10008, 1), 0);
	assert_non_null(table_hva(mem, 0, 0x38000, 8));
	assert_null(table_hva(mem, 1, 0x38000, 8));
	assert_null(table_hva(mem, 1, 0x58000, 8));
	assert_int_equal(vmmem_write_u64(mem, 0x38000, 2), -EACCES);
	assert_int_equal(vmmem_read_u64(mem, 0x38000, &v), 0);
	assert_true(v == 0);
	assert_int_equal(vmmem_write_u64(mem, 0x10008, 1), 0);
	assert_int_equal(vmmem_dirty_test(mem, 0x58000, 8), 0);
	assert_int_equal(vmmem_write_u64(mem, 0x58000, 3), 0);
	assert_int_equal(vmmem_dirty_test(mem, 0x58000, 8), 1);
	assert_int_equal(vmmem_read_u64(mem, 0x58000, &v), 0);
	assert_true(v == 3);
	vmmem_destroy(mem);
}

/* Out of memory: every allocation the library makes may fail. */

static const enum sysmock_fn allocators[] = { SYSMOCK_CALLOC, SYSMOCK_MALLOC,
					      SYSMOCK_REALLOC };

/* An operation that may fail with -ENOMEM; it cleans up after success. */
typedef int (*alloc_op_fn)(struct fixture *f, void *arg);

/*
 * Fail the first, the second, ... allocation of each kind the operation
 * makes, until a run makes fewer allocations than skipped (the scripted
 * failure is left unconsumed, and the run must succeed). Every injected
 * failure must give -ENOMEM and leave nothing behind: ASan's leak checker
 * sees any allocation that is not undone. Return the number of injected
 * failures.
 */
static unsigned fail_each_allocation(struct fixture *f, alloc_op_fn op,
				     void *arg)
{
	unsigned injected = 0;
	size_t i;
	int skip;

	for (i = 0; i < sizeof(allocators) / sizeof(allocators[0]); i++) {
		for (skip = 0; skip < 10000; skip++) {
			int rc, hit;

			sysmock_reset();
			sysmock_fail(allocators[i], skip, ENOMEM);
			rc = op(f, arg);
			hit = sysmock_done();
			sysmock_reset();
			if (!hit) {
				assert_int_equal(rc, 0);
				break;
			}
			injected++;
			assert_int_equal(rc, -ENOMEM);
		}
		assert_true(skip < 10000);
	}
	return injected;
}

static int op_create(struct fixture *f, void *arg)
{
	struct vmmem_region **r = arg;
	struct vmmem *mem = NULL;
	int rc = vmmem_create(r, 4, &mem);

	(void)f;
	vmmem_destroy(mem);
	return rc;
}

static void test_memory_create_fails_cleanly_without_memory(void **state)
{
	struct vmmem_region *r[4];
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++)
		r[i] = new_region(0x10000 * (3 - i), PAGE, 0);
	assert_true(fail_each_allocation(NULL, op_create, r) > 0);
	for (i = 0; i < 4; i++)
		vmmem_region_destroy(r[i]);
}

static int op_create_anon(struct fixture *f, void *arg)
{
	static const struct vmmem_range ranges[] = {
		{ 0x20000, 0x1000 },
		{ 0x0, 0x1000 },
		{ 0x1000, 0x3000 },
	};
	struct vmmem *mem = NULL;
	int rc = vmmem_create_anon(ranges, 3, 0, &mem);

	(void)f;
	(void)arg;
	if (rc)
		/* No mapping survives the failure. */
		assert_int_equal(sysmock_mapped_bytes(), 0);
	vmmem_destroy(mem);
	return rc;
}

static void test_memory_create_anon_fails_cleanly_without_memory(void **state)
{
	(void)state;
	assert_true(fail_each_allocation(NULL, op_create_anon, NULL) > 0);
}

static void test_memory_create_anon_places_adjacent_ranges_contiguously(
	void **state)
{
	static const struct vmmem_range ranges[] = {
		{ 0x3000, 0x2000 }, { 0x0, 0x1000 }, { 0x1000, 0x2000 },
		{ 0x10000, 0x1000 },
	};
	struct vmmem_region *r[4];
	struct vmmem *mem;
	uint8_t in[64], out[64];
	size_t i;

	(void)state;
	assert_int_equal(vmmem_create_anon(ranges, 4, 0, &mem), 0);
	for (i = 0; i < 4; i++)
		r[i] = vmmem_region_at(mem, i);
	/* [0, 0x1000), [0x1000, 0x3000), [0x3000, 0x5000) follow each other
	 * in host memory too; 0x10000 stands alone. */
	assert_ptr_equal(vmmem_region_hva(r[1]),
			 (uint8_t *)vmmem_region_hva(r[0]) + 0x1000);
	assert_ptr_equal(vmmem_region_hva(r[2]),
			 (uint8_t *)vmmem_region_hva(r[1]) + 0x2000);
	/* A copy across both boundaries lands in the right regions. */
	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(vmmem_write(mem, 0x0fe0, in, 64), 0);
	assert_int_equal(vmmem_read(mem, 0x0fe0, out, 64), 0);
	assert_memory_equal(in, out, 64);
	assert_memory_equal(vmmem_region_hva(r[1]), in + 0x20, 0x20);
	vmmem_destroy(mem);
}

static void test_memory_create_anon_keeps_guarded_ranges_apart(void **state)
{
	static const struct vmmem_range ranges[] = { { 0x0, 0x1000 },
						     { 0x1000, 0x1000 } };
	struct vmmem *mem;

	(void)state;
	assert_int_equal(vmmem_create_anon(ranges, 2, VMMEM_REGION_GUARD,
					   &mem),
			 0);
	assert_ptr_not_equal(vmmem_region_hva(vmmem_region_at(mem, 1)),
			     (uint8_t *)vmmem_region_hva(vmmem_region_at(mem, 0)) +
				     0x1000);
	vmmem_destroy(mem);
}

/*
 * Fail the first, second, ... mmap of a create of three adjacent ranges
 * (one reservation, then one mapping per region). A failed reservation is
 * not an error (the regions are mapped apart); any other failure returns
 * the error and leaves no address space mapped.
 */
static void test_memory_create_anon_unmaps_everything_when_mmap_fails(
	void **state)
{
	static const struct vmmem_range ranges[] = {
		{ 0x0, 0x1000 }, { 0x1000, 0x1000 }, { 0x2000, 0x1000 } };
	unsigned failed = 0, succeeded = 0;
	int skip;

	(void)state;
	for (skip = 0; skip < 16; skip++) {
		struct vmmem *mem = NULL;
		int rc;

		sysmock_reset();
		sysmock_fail(SYSMOCK_MMAP, skip, ENOMEM);
		rc = vmmem_create_anon(ranges, 3, 0, &mem);
		if (rc == 0) {
			uint8_t b = 0x5a;

			succeeded++;
			assert_int_equal(vmmem_write(mem, 0x1fff, &b, 1), 0);
			vmmem_destroy(mem);
		} else {
			failed++;
			assert_int_equal(rc, -ENOMEM);
		}
		assert_int_equal(sysmock_mapped_bytes(), 0);
		if (!sysmock_done())
			break;
	}
	sysmock_reset();
	/* The reservation's failure fell back; the three mappings failed. */
	assert_int_equal(failed, 3);
	assert_true(succeeded >= 2);
}

static int op_insert(struct fixture *f, void *arg)
{
	struct vmmem *next = NULL;
	int rc = vmmem_insert(f->mem, arg, &next);

	vmmem_destroy(next);
	return rc;
}

static void test_memory_insert_fails_cleanly_without_memory(void **state)
{
	struct fixture *f = *state;
	struct vmmem_region *r = new_region(HOLE1_GPA, PAGE, 0);

	assert_true(fail_each_allocation(f, op_insert, r) > 0);
	vmmem_region_destroy(r);
	assert_int_equal(vmmem_region_count(f->mem), NLAYOUT);
	assert_int_equal(vmmem_check_range(f->mem, HOLE1_GPA, 1), -EFAULT);
	assert_guest_unchanged(f->mem);
}

static int op_remove(struct fixture *f, void *arg)
{
	struct vmmem_region *removed = NULL;
	struct vmmem *next = NULL;
	int rc = vmmem_remove(f->mem, D_GPA, PAGE, &next, &removed);

	(void)arg;
	vmmem_destroy(next);
	if (rc == 0)
		vmmem_region_destroy(removed);
	return rc;
}

static void test_memory_remove_fails_cleanly_without_memory(void **state)
{
	struct fixture *f = *state;

	assert_true(fail_each_allocation(f, op_remove, NULL) > 0);
	assert_int_equal(vmmem_region_count(f->mem), NLAYOUT);
	assert_guest_unchanged(f->mem);
}

/* ---- lengths past 32 bits ------------------------------------------- */

/* Guest lengths are 64-bit on every host: one just past 4 GiB is that
 * long, not cut to its low 32 bits (which would give 0x1000 here). */
static void test_memory_lengths_past_4_gib_are_not_cut(void **state)
{
	static const struct vmmem_range ram = { 0, 0x10000 };
	const uint64_t len = (1ull << 32) + 0x1000;
	struct vmmem *mem = NULL;
	void *hva = NULL;

	(void)state;
	assert_int_equal(vmmem_create_anon(&ram, 1, 0, &mem), 0);
	assert_int_equal(vmmem_check_range(mem, 0, len), -EFAULT);
	assert_int_equal(vmmem_check_writable(mem, 0, len), -EFAULT);
	assert_int_equal(vmmem_get_ptr(mem, 0, len, &hva), -EFAULT);
	assert_null(hva);
	vmmem_destroy(mem);
}

/* On a 32-bit host, a range longer than size_t is refused, and nothing is
 * left mapped. */
static void test_memory_create_anon_rejects_len_beyond_host_size(void **state)
{
	const struct vmmem_range ram[] = {
		{ 0, 0x10000 },
		{ 1ull << 40, FIXTURE_TOO_LONG },
	};
	struct vmmem *mem = NULL;

	(void)state;
	FIXTURE_SKIP_ON_64BIT();
	sysmock_reset();
	assert_int_equal(vmmem_create_anon(ram, 2, 0, &mem), -EOVERFLOW);
	assert_null(mem);
	assert_true(sysmock_mapped_bytes() == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* vmmem_create() */
		cmocka_unit_test(test_memory_create_sorts_regions_by_address),
		cmocka_unit_test(
			test_memory_create_rejects_overlapping_regions),
		cmocka_unit_test(test_memory_create_rejects_overlap_among_many),
		cmocka_unit_test(test_memory_create_rejects_same_region_twice),
		cmocka_unit_test(
			test_memory_create_failure_keeps_caller_references),
		cmocka_unit_test(test_memory_create_accepts_adjacent_regions),
		cmocka_unit_test(test_memory_create_rejects_null_entry),
		cmocka_unit_test(test_memory_create_rejects_null_array),
		cmocka_unit_test(
			test_memory_create_rejects_more_than_max_regions),
		cmocka_unit_test(test_memory_create_accepts_empty_set),
		cmocka_unit_test(test_memory_empty_set_has_no_last_gpa),
		cmocka_unit_test(test_memory_empty_set_faults_every_access),
		cmocka_unit_test(
			test_memory_set_keeps_region_after_caller_drops_it),
		/* vmmem_create_anon() */
		cmocka_unit_test(test_memory_create_anon_builds_sorted_set),
		cmocka_unit_test(test_memory_create_anon_rejects_zero_length),
		cmocka_unit_test(
			test_memory_create_anon_rejects_wrapping_range),
		cmocka_unit_test(
			test_memory_create_anon_accepts_range_ending_at_top),
		cmocka_unit_test(test_memory_create_anon_rejects_unknown_flags),
		cmocka_unit_test(
			test_memory_create_anon_rejects_unaligned_hugetlb),
		cmocka_unit_test(
			test_memory_create_anon_rejects_overlapping_ranges),
		cmocka_unit_test(test_memory_create_anon_rejects_null_ranges),
		cmocka_unit_test(test_memory_create_anon_of_no_ranges_is_empty),
		cmocka_unit_test(test_memory_create_anon_applies_flags_to_all),
		cmocka_unit_test(
			test_memory_create_anon_passes_mmap_errors_through),
		/* vmmem_ref(), vmmem_destroy() */
		cmocka_unit_test(test_memory_destroy_accepts_null),
		cmocka_unit_test(test_memory_ref_accepts_null),
		FIXTURE_TEST(test_memory_ref_keeps_set_alive),
		/* vmmem_insert() */
		FIXTURE_TEST(test_memory_insert_adds_region_to_new_set),
		FIXTURE_TEST(test_memory_insert_leaves_old_set_unchanged),
		FIXTURE_TEST(test_memory_insert_shares_existing_regions),
		FIXTURE_TEST(test_memory_insert_rejects_overlapping_region),
		FIXTURE_TEST(test_memory_insert_rejects_region_already_in_set),
		FIXTURE_TEST(test_memory_insert_rejects_null_arguments),
		cmocka_unit_test(test_memory_insert_into_empty_set),
		FIXTURE_TEST(test_memory_insert_fills_hole_between_neighbours),
		/* vmmem_remove() */
		FIXTURE_TEST(test_memory_remove_drops_exact_region),
		FIXTURE_TEST(test_memory_remove_leaves_old_set_unchanged),
		FIXTURE_TEST(test_memory_remove_rejects_inexact_match),
		FIXTURE_TEST(test_memory_remove_hands_out_removed_region),
		cmocka_unit_test(
			test_memory_remove_of_only_region_gives_empty_set),
		cmocka_unit_test(test_memory_remove_from_empty_set_fails),
		FIXTURE_TEST(test_memory_remove_rejects_null_arguments),
		/* Lookups */
		FIXTURE_TEST(test_memory_region_at_lists_regions_in_order),
		FIXTURE_TEST(test_memory_find_region_finds_every_byte_edge),
		FIXTURE_TEST(test_memory_find_region_fails_outside_regions),
		FIXTURE_TEST(test_memory_find_region_repeats_hits),
		cmocka_unit_test(
			test_memory_last_gpa_is_last_byte_of_highest_region),
		FIXTURE_TEST(test_memory_last_gpa_reaches_top_of_space),
		/* vmmem_check_range() */
		FIXTURE_TEST(test_memory_check_range_of_zero_length_succeeds),
		FIXTURE_TEST(test_memory_check_range_accepts_exact_fit),
		FIXTURE_TEST(test_memory_check_range_rejects_one_byte_past_end),
		FIXTURE_TEST(test_memory_check_range_crosses_adjacent_regions),
		FIXTURE_TEST(test_memory_check_range_rejects_hole_in_middle),
		FIXTURE_TEST(test_memory_check_range_rejects_wrap),
		FIXTURE_TEST(test_memory_check_range_of_max_length_is_unbacked),
		/* vmmem_check_writable() */
		FIXTURE_TEST(
			test_memory_check_writable_of_zero_length_succeeds),
		FIXTURE_TEST(test_memory_check_writable_accepts_one_region),
		FIXTURE_TEST(
			test_memory_check_writable_crosses_adjacent_regions),
		FIXTURE_TEST(
			test_memory_check_writable_rejects_read_only_region),
		FIXTURE_TEST(
			test_memory_check_writable_rejects_read_only_in_middle),
		FIXTURE_TEST(test_memory_check_writable_rejects_hole),
		FIXTURE_TEST(
			test_memory_check_writable_reports_hole_over_read_only),
		FIXTURE_TEST(test_memory_check_writable_rejects_wrap),
		FIXTURE_TEST(test_memory_check_writable_agrees_with_write),
		/* vmmem_read(), vmmem_write() */
		FIXTURE_TEST(test_memory_read_crosses_two_regions),
		FIXTURE_TEST(test_memory_read_crosses_three_regions),
		FIXTURE_TEST(test_memory_write_crosses_two_regions),
		FIXTURE_TEST(test_memory_write_crosses_three_regions),
		FIXTURE_TEST(
			test_memory_read_with_hole_in_middle_changes_nothing),
		FIXTURE_TEST(test_memory_read_starting_in_hole_changes_nothing),
		FIXTURE_TEST(test_memory_read_ending_in_hole_changes_nothing),
		FIXTURE_TEST(
			test_memory_write_with_hole_in_middle_changes_nothing),
		FIXTURE_TEST(
			test_memory_write_starting_in_hole_changes_nothing),
		FIXTURE_TEST(test_memory_write_ending_in_hole_changes_nothing),
		FIXTURE_TEST(test_memory_write_to_read_only_region_fails),
		FIXTURE_TEST(test_memory_write_into_read_only_changes_nothing),
		FIXTURE_TEST(test_memory_write_after_read_only_hint_fails),
		FIXTURE_TEST(test_memory_access_past_previous_region_fails),
		FIXTURE_TEST(test_memory_read_from_read_only_region_works),
		FIXTURE_TEST(test_memory_zero_length_access_succeeds_anywhere),
		FIXTURE_TEST(test_memory_read_past_top_overflows),
		FIXTURE_TEST(test_memory_write_past_top_overflows),
		FIXTURE_TEST(test_memory_last_byte_of_space_round_trips),
		FIXTURE_TEST(test_memory_whole_top_region_round_trips),
		FIXTURE_TEST(test_memory_top_region_holds_last_address),
		/* vmmem_read_partial(), vmmem_write_partial() */
		FIXTURE_TEST(test_memory_read_partial_copies_all_when_backed),
		FIXTURE_TEST(test_memory_read_partial_stops_at_hole),
		FIXTURE_TEST(
			test_memory_read_partial_crosses_regions_then_stops),
		FIXTURE_TEST(test_memory_read_partial_in_hole_copies_nothing),
		FIXTURE_TEST(test_memory_read_partial_stops_at_top_of_space),
		FIXTURE_TEST(test_memory_write_partial_copies_all_when_backed),
		FIXTURE_TEST(test_memory_write_partial_stops_at_hole),
		FIXTURE_TEST(
			test_memory_write_partial_stops_at_read_only_region),
		FIXTURE_TEST(
			test_memory_write_partial_at_read_only_copies_nothing),
		FIXTURE_TEST(test_memory_write_partial_in_hole_copies_nothing),
		FIXTURE_TEST(test_memory_write_partial_reports_wrap),
		/* vmmem_read_obj(), vmmem_write_obj() */
		FIXTURE_TEST(test_memory_obj_round_trips_across_regions),
		FIXTURE_TEST(test_memory_read_obj_from_hole_keeps_object),
		/* vmmem_fill() */
		FIXTURE_TEST(test_memory_fill_sets_range_across_regions),
		FIXTURE_TEST(test_memory_fill_uses_low_byte_of_value),
		FIXTURE_TEST(test_memory_fill_into_hole_changes_nothing),
		FIXTURE_TEST(
			test_memory_fill_of_read_only_region_changes_nothing),
		FIXTURE_TEST(test_memory_fill_past_top_overflows),
		/* vmmem_get_ptr() */
		FIXTURE_TEST(test_memory_get_ptr_rejects_zero_length),
		FIXTURE_TEST(test_memory_get_ptr_points_at_the_address),
		FIXTURE_TEST(test_memory_get_ptr_accepts_whole_region),
		FIXTURE_TEST(
			test_memory_get_ptr_rejects_range_crossing_regions),
		FIXTURE_TEST(test_memory_get_ptr_rejects_range_into_hole),
		FIXTURE_TEST(test_memory_get_ptr_rejects_wrap),
		FIXTURE_TEST(test_memory_get_ptr_reaches_top_of_space),
		FIXTURE_TEST(test_memory_get_ptr_of_read_only_region_reads),
		/* Odd regions */
		cmocka_unit_test(test_memory_odd_region_bounds_are_exact),
		cmocka_unit_test(test_memory_odd_region_round_trips_data),
		/* Many regions */
		MANY_TEST(test_memory_many_regions_are_sorted),
		MANY_TEST(test_memory_many_regions_find_matches_model),
		MANY_TEST(test_memory_many_regions_read_matches_model),
		MANY_TEST(test_memory_many_regions_write_matches_model),
		MANY_TEST(test_memory_many_regions_scalars_match_model),
		ALIGNED_TEST(test_memory_many_regions_find_matches_model),
		ALIGNED_TEST(test_memory_many_regions_read_matches_model),
		ALIGNED_TEST(test_memory_many_regions_write_matches_model),
		ALIGNED_TEST(test_memory_many_regions_scalars_match_model),
		ALIGNED_TEST(test_memory_aligned_layout_is_in_bucket_table),
		cmocka_unit_test(test_memory_scalar_writes_respect_each_region),
		/* Out of memory */
		cmocka_unit_test(
			test_memory_create_fails_cleanly_without_memory),
		cmocka_unit_test(
			test_memory_create_anon_fails_cleanly_without_memory),
		cmocka_unit_test(
			test_memory_create_anon_places_adjacent_ranges_contiguously),
		cmocka_unit_test(
			test_memory_create_anon_keeps_guarded_ranges_apart),
		cmocka_unit_test(
			test_memory_create_anon_unmaps_everything_when_mmap_fails),
		FIXTURE_TEST(test_memory_insert_fails_cleanly_without_memory),
		FIXTURE_TEST(test_memory_remove_fails_cleanly_without_memory),
		cmocka_unit_test(test_memory_lengths_past_4_gib_are_not_cut),
		cmocka_unit_test(
			test_memory_create_anon_rejects_len_beyond_host_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
