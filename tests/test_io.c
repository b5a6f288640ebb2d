/* SPDX-License-Identifier: MIT */
/*
 * Tests for vmmem/io.h: guest ranges as iovecs, and reading and writing file
 * descriptors (pipes and regular files) straight into and out of guest
 * memory, with EINTR, short counts, EOF, EAGAIN and hard errors scripted
 * through sysmock.
 *
 * The fixture is one set of four regions:
 *   A [0x0000, 0x1000), B [0x1000, 0x3000), C [0x3000, 0x4000)  adjacent
 *   D [0x10000, 0x11000)                                        read-only
 * Most transfers use SPAN, 0x2200 bytes at 0xf00: the last 0x100 bytes of
 * A, all of B and the first 0x100 bytes of C.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmmem/io.h>
#include <vmmem/memory.h>
#include <vmmem/region.h>

#include "fixture.h"
#include "port.h"
#include "sysmock.h"

#define SPAN_GPA 0xf00ull
#define SPAN_LEN 0x2200u
#define RO_GPA 0x10000ull
#define MAX_FDS 8

struct fixture {
	struct vmmem *mem;
	struct vmmem_region *r[4];
	vmmem_fd_t fds[MAX_FDS];
};

/* Data the tests move around: byte i of pattern n. */
static unsigned char pattern_byte(size_t i, unsigned n)
{
	return (unsigned char)((i * 7 + i / 251 + n * 13 + 1) & 0xff);
}

static void fill_pattern(unsigned char *buf, size_t len, unsigned n)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pattern_byte(i, n);
}

static int setup(void **state)
{
	static const struct fixture_region spec[4] = {
		{ 0x0000, 0x1000, 0 },
		{ 0x1000, 0x2000, 0 },
		{ 0x3000, 0x1000, 0 },
		{ RO_GPA, 0x1000, VMMEM_REGION_READONLY },
	};
	struct fixture *f = calloc(1, sizeof(*f));
	int i;

	if (!f)
		return -1;
	for (i = 0; i < MAX_FDS; i++)
		f->fds[i] = VMMEM_FD_NONE;
	if (fixture_mem_create(spec, 4, f->r, &f->mem)) {
		free(f);
		return -1;
	}
	sysmock_reset();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int i;

	sysmock_reset();
	for (i = 0; i < MAX_FDS; i++)
		if (f->fds[i] != VMMEM_FD_NONE)
			port_close(f->fds[i]);
	vmmem_destroy(f->mem);
	fixture_regions_destroy(f->r, 4);
	free(f);
	return 0;
}

/* Remember fd so that teardown closes it; returns fd. */
static vmmem_fd_t keep(struct fixture *f, vmmem_fd_t fd)
{
	int i;

	assert_true(fd != VMMEM_FD_NONE);
	for (i = 0; i < MAX_FDS; i++) {
		if (f->fds[i] == VMMEM_FD_NONE) {
			f->fds[i] = fd;
			return fd;
		}
	}
	fail_msg("too many fds");
	return VMMEM_FD_NONE;
}

/* Close an fd remembered with keep(). */
static void drop(struct fixture *f, vmmem_fd_t fd)
{
	int i;

	for (i = 0; i < MAX_FDS; i++) {
		if (f->fds[i] == fd) {
			f->fds[i] = VMMEM_FD_NONE;
			port_close(fd);
			return;
		}
	}
	fail_msg("fd was not kept");
}

/* A pipe (p[0] read end, p[1] write end), optionally non-blocking. */
static void make_pipe(struct fixture *f, vmmem_fd_t p[2], int nonblock)
{
	assert_int_equal(port_pipe2(p, nonblock), 0);
	keep(f, p[0]);
	keep(f, p[1]);
}

/* A pipe holding pattern n (len bytes), its write end closed. */
static vmmem_fd_t pipe_with_pattern(struct fixture *f, size_t len,
				    unsigned n)
{
	unsigned char *buf = malloc(len);
	vmmem_fd_t p[2];

	assert_non_null(buf);
	fill_pattern(buf, len, n);
	make_pipe(f, p, 0);
	assert_int_equal(port_write(p[1], buf, len), (long long)len);
	drop(f, p[1]);
	free(buf);
	return p[0];
}

/* An unlinked regular file holding pattern n (len bytes, may be 0). */
static vmmem_fd_t file_with_pattern(struct fixture *f, size_t len,
				    unsigned n)
{
	unsigned char *buf = malloc(len + 1);
	vmmem_fd_t fd = port_tmpfile(0);

	assert_non_null(buf);
	keep(f, fd);
	fill_pattern(buf, len, n);
	assert_int_equal(port_pwrite(fd, buf, len, 0), (long long)len);
	free(buf);
	return fd;
}

/* Check that guest [gpa, gpa + len) holds bytes from..from+len of pattern n. */
static void expect_guest(struct fixture *f, vmmem_gpa_t gpa, size_t len,
			 size_t from, unsigned n)
{
	unsigned char *got = malloc(len), *want = malloc(from + len);

	assert_non_null(got);
	assert_non_null(want);
	fill_pattern(want, from + len, n);
	assert_int_equal(vmmem_read(f->mem, gpa, got, len), 0);
	assert_memory_equal(got, want + from, len);
	free(got);
	free(want);
}

/* Put pattern n into guest [gpa, gpa + len). */
static void put_guest(struct fixture *f, vmmem_gpa_t gpa, size_t len,
		      unsigned n)
{
	unsigned char *buf = malloc(len);

	assert_non_null(buf);
	fill_pattern(buf, len, n);
	assert_int_equal(vmmem_write(f->mem, gpa, buf, len), 0);
	free(buf);
}

/* Read exactly len bytes from fd and check they are pattern n. */
static void expect_fd(vmmem_fd_t fd, size_t len, unsigned n)
{
	unsigned char *got = malloc(len + 1), *want = malloc(len);
	size_t have = 0;
	long long r;

	assert_non_null(got);
	assert_non_null(want);
	while (have < len) {
		r = port_read(fd, got + have, len - have);
		assert_true(r > 0);
		have += (size_t)r;
	}
	fill_pattern(want, len, n);
	assert_memory_equal(got, want, len);
	free(got);
	free(want);
}

static long long position(vmmem_fd_t fd)
{
	return port_seek(fd, 0, SEEK_CUR);
}

/* ---- vmmem_get_iovec ---------------------------------------------- */

static void test_io_iovec_of_range_in_one_region(void **state)
{
	struct fixture *f = *state;
	struct iovec iov[3];
	int n = -1;

	assert_int_equal(vmmem_get_iovec(f->mem, 0x1100, 0x100, 0, iov, 3, &n),
			 0);
	assert_int_equal(n, 1);
	assert_ptr_equal(iov[0].iov_base,
			 (char *)vmmem_region_hva(f->r[1]) + 0x100);
	assert_int_equal(iov[0].iov_len, 0x100);
}

static void test_io_iovec_of_range_across_two_regions(void **state)
{
	struct fixture *f = *state;
	struct iovec iov[3];
	int n = -1;

	assert_int_equal(vmmem_get_iovec(f->mem, 0x800, 0x1000, 1, iov, 3, &n),
			 0);
	assert_int_equal(n, 2);
	assert_ptr_equal(iov[0].iov_base,
			 (char *)vmmem_region_hva(f->r[0]) + 0x800);
	assert_int_equal(iov[0].iov_len, 0x800);
	assert_ptr_equal(iov[1].iov_base, vmmem_region_hva(f->r[1]));
	assert_int_equal(iov[1].iov_len, 0x800);
}

static void test_io_iovec_of_range_across_three_regions(void **state)
{
	struct fixture *f = *state;
	struct iovec iov[4];
	int n = -1;

	assert_int_equal(
		vmmem_get_iovec(f->mem, SPAN_GPA, SPAN_LEN, 0, iov, 4, &n), 0);
	assert_int_equal(n, 3);
	assert_ptr_equal(iov[0].iov_base,
			 (char *)vmmem_region_hva(f->r[0]) + 0xf00);
	assert_int_equal(iov[0].iov_len, 0x100);
	assert_ptr_equal(iov[1].iov_base, vmmem_region_hva(f->r[1]));
	assert_int_equal(iov[1].iov_len, 0x2000);
	assert_ptr_equal(iov[2].iov_base, vmmem_region_hva(f->r[2]));
	assert_int_equal(iov[2].iov_len, 0x100);
}

static void test_io_iovec_of_whole_regions_has_their_lengths(void **state)
{
	struct fixture *f = *state;
	struct iovec iov[3];
	int n = -1, i;

	assert_int_equal(vmmem_get_iovec(f->mem, 0, 0x4000, 0, iov, 3, &n), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++) {
		assert_ptr_equal(iov[i].iov_base, vmmem_region_hva(f->r[i]));
		assert_int_equal(iov[i].iov_len, vmmem_region_len(f->r[i]));
	}
}

static void test_io_iovec_rejects_too_small_array(void **state)
{
	struct fixture *f = *state;
	struct iovec iov[2];
	int n = -1;

	assert_int_equal(
		vmmem_get_iovec(f->mem, SPAN_GPA, SPAN_LEN, 0, iov, 2, &n),
		-E2BIG);
	assert_int_equal(n, 0);
	n = -1;
	assert_int_equal(vmmem_get_iovec(f->mem, 0x1000, 1, 0, iov, 0, &n),
			 -E2BIG);
	assert_int_equal(n, 0);
}

static void test_io_iovec_rejects_range_into_hole(void **state)
{
	struct fixture *f = *state;
	struct iovec iov[4];
	int n = -1;

	assert_int_equal(vmmem_get_iovec(f->mem, 0x3f00, 0x200, 0, iov, 4, &n),
			 -EFAULT);
	assert_int_equal(n, 0);
	n = -1;
	assert_int_equal(vmmem_get_iovec(f->mem, 0x8000, 1, 0, iov, 4, &n),
			 -EFAULT);
	assert_int_equal(n, 0);
}

static void test_io_iovec_rejects_write_to_readonly_region(void **state)
{
	struct fixture *f = *state;
	struct iovec iov[1];
	int n = -1;

	assert_int_equal(vmmem_get_iovec(f->mem, RO_GPA, 16, 1, iov, 1, &n),
			 -EACCES);
	assert_int_equal(n, 0);
	assert_int_equal(vmmem_get_iovec(f->mem, RO_GPA, 16, 0, iov, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_ptr_equal(iov[0].iov_base, vmmem_region_hva(f->r[3]));
}

static void test_io_iovec_of_zero_length_is_empty(void **state)
{
	struct fixture *f = *state;
	struct iovec iov[1];
	int n = -1;

	assert_int_equal(vmmem_get_iovec(f->mem, 0x1000, 0, 1, iov, 1, &n), 0);
	assert_int_equal(n, 0);
}

static void test_io_iovec_rejects_wrapping_range(void **state)
{
	struct fixture *f = *state;
	struct iovec iov[1];
	int n = -1;

	assert_int_equal(vmmem_get_iovec(f->mem, UINT64_MAX, 2, 0, iov, 1, &n),
			 -EOVERFLOW);
	assert_int_equal(n, 0);
}

static void test_io_iovec_rejects_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct iovec iov[1];
	int n = -1;

	assert_int_equal(vmmem_get_iovec(f->mem, 0, 16, 0, iov, -1, &n),
			 -EINVAL);
	assert_int_equal(vmmem_get_iovec(f->mem, 0, 16, 0, iov, 1, NULL),
			 -EINVAL);
	assert_int_equal(vmmem_get_iovec(f->mem, 0, 16, 0, NULL, 1, &n),
			 -EINVAL);
}

/* ---- vmmem_read_from_fd ------------------------------------------- */

static void test_io_read_from_pipe_fills_range_across_regions(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = pipe_with_pattern(f, SPAN_LEN, 1);
	size_t done = 0;

	assert_int_equal(
		vmmem_read_from_fd(f->mem, SPAN_GPA, SPAN_LEN, fd, -1, &done),
		0);
	assert_int_equal(done, SPAN_LEN);
	expect_guest(f, SPAN_GPA, SPAN_LEN, 0, 1);
}

static void test_io_read_at_current_position_advances_it(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = file_with_pattern(f, 0x3000, 2);
	size_t done = 0;

	assert_int_equal(port_seek(fd, 0x100, SEEK_SET), 0x100);
	assert_int_equal(
		vmmem_read_from_fd(f->mem, SPAN_GPA, SPAN_LEN, fd, -1, &done),
		0);
	assert_int_equal(done, SPAN_LEN);
	expect_guest(f, SPAN_GPA, SPAN_LEN, 0x100, 2);
	assert_int_equal(position(fd), 0x100 + SPAN_LEN);
}

static void test_io_read_at_offset_keeps_position(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = file_with_pattern(f, 0x3000, 3);
	size_t done = 0;

	assert_int_equal(port_seek(fd, 7, SEEK_SET), 7);
	sysmock_reset();
	assert_int_equal(vmmem_read_from_fd(f->mem, SPAN_GPA, SPAN_LEN, fd,
					    0x400, &done),
			 0);
	assert_int_equal(done, SPAN_LEN);
	expect_guest(f, SPAN_GPA, SPAN_LEN, 0x400, 3);
	assert_int_equal(position(fd), 7);
	assert_true(sysmock_calls(SYSMOCK_PREADV) >= 1);
	assert_int_equal(sysmock_calls(SYSMOCK_READV), 0);
}

static void test_io_read_stops_at_end_of_file(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = file_with_pattern(f, 0x180, 4);
	size_t done = 0;

	assert_int_equal(
		vmmem_read_from_fd(f->mem, SPAN_GPA, SPAN_LEN, fd, 0, &done),
		0);
	assert_int_equal(done, 0x180);
	expect_guest(f, SPAN_GPA, 0x180, 0, 4);
}

static void test_io_read_from_pipe_stops_at_end_of_data(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = pipe_with_pattern(f, 0x1234, 5);
	size_t done = 0;

	assert_int_equal(
		vmmem_read_from_fd(f->mem, SPAN_GPA, SPAN_LEN, fd, -1, &done),
		0);
	assert_int_equal(done, 0x1234);
	expect_guest(f, SPAN_GPA, 0x1234, 0, 5);
}

static void test_io_read_retries_after_eintr(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = pipe_with_pattern(f, SPAN_LEN, 6);
	size_t done = 0;

	sysmock_fail(SYSMOCK_READV, 0, EINTR);
	assert_int_equal(
		vmmem_read_from_fd(f->mem, SPAN_GPA, SPAN_LEN, fd, -1, &done),
		0);
	assert_true(sysmock_done());
	assert_int_equal(done, SPAN_LEN);
	expect_guest(f, SPAN_GPA, SPAN_LEN, 0, 6);
}

static void test_io_read_at_offset_retries_after_eintr(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = file_with_pattern(f, 0x3000, 7);
	size_t done = 0;

	sysmock_fail(SYSMOCK_PREADV, 0, EINTR);
	assert_int_equal(vmmem_read_from_fd(f->mem, SPAN_GPA, SPAN_LEN, fd,
					    0x200, &done),
			 0);
	assert_true(sysmock_done());
	assert_int_equal(done, SPAN_LEN);
	expect_guest(f, SPAN_GPA, SPAN_LEN, 0x200, 7);
}

static void test_io_read_continues_after_short_count(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = pipe_with_pattern(f, SPAN_LEN, 8);
	size_t done = 0;

	/* Stops 0x80 bytes into B, in the middle of the second iovec. */
	sysmock_short(SYSMOCK_READV, 0x180);
	assert_int_equal(
		vmmem_read_from_fd(f->mem, SPAN_GPA, SPAN_LEN, fd, -1, &done),
		0);
	assert_true(sysmock_done());
	assert_int_equal(done, SPAN_LEN);
	expect_guest(f, SPAN_GPA, SPAN_LEN, 0, 8);
}

static void test_io_read_continues_after_short_first_iovec(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = pipe_with_pattern(f, SPAN_LEN, 9);
	size_t done = 0;

	sysmock_short(SYSMOCK_READV, 0x10);
	assert_int_equal(
		vmmem_read_from_fd(f->mem, SPAN_GPA, SPAN_LEN, fd, -1, &done),
		0);
	assert_true(sysmock_done());
	assert_int_equal(done, SPAN_LEN);
	expect_guest(f, SPAN_GPA, SPAN_LEN, 0, 9);
}

static void test_io_read_at_offset_continues_after_short_count(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = file_with_pattern(f, 0x3000, 10);
	size_t done = 0;

	sysmock_short(SYSMOCK_PREADV, 0x180);
	assert_int_equal(vmmem_read_from_fd(f->mem, SPAN_GPA, SPAN_LEN, fd,
					    0x400, &done),
			 0);
	assert_true(sysmock_done());
	assert_int_equal(done, SPAN_LEN);
	expect_guest(f, SPAN_GPA, SPAN_LEN, 0x400, 10);
	assert_int_equal(position(fd), 0);
}

static void test_io_read_returns_hard_error_with_done(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = pipe_with_pattern(f, SPAN_LEN, 11);
	size_t done = 0;

	sysmock_short(SYSMOCK_READV, 0x180);
	sysmock_fail(SYSMOCK_READV, 1, EIO);
	assert_int_equal(
		vmmem_read_from_fd(f->mem, SPAN_GPA, SPAN_LEN, fd, -1, &done),
		-EIO);
	assert_true(sysmock_done());
	assert_int_equal(done, 0x180);
	expect_guest(f, SPAN_GPA, 0x180, 0, 11);
}

static void test_io_read_returns_immediate_error_with_no_done(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = pipe_with_pattern(f, SPAN_LEN, 12);
	size_t done = 99;

	sysmock_fail(SYSMOCK_READV, 0, EIO);
	assert_int_equal(
		vmmem_read_from_fd(f->mem, SPAN_GPA, SPAN_LEN, fd, -1, &done),
		-EIO);
	assert_true(sysmock_done());
	assert_int_equal(done, 0);
}

static void test_io_read_from_empty_nonblocking_pipe_is_eagain(void **s)
{
	struct fixture *f = *s;
	size_t done = 99;
	vmmem_fd_t p[2];

	make_pipe(f, p, 1);
	assert_int_equal(
		vmmem_read_from_fd(f->mem, SPAN_GPA, SPAN_LEN, p[0], -1, &done),
		-EAGAIN);
	assert_int_equal(done, 0);
}

static void test_io_read_returns_short_done_when_pipe_runs_dry(void **s)
{
	struct fixture *f = *s;
	unsigned char buf[0x100];
	size_t done = 0;
	vmmem_fd_t p[2];

	/* The write end stays open: no EOF, just no more data yet. */
	make_pipe(f, p, 1);
	fill_pattern(buf, sizeof(buf), 13);
	assert_int_equal(port_write(p[1], buf, sizeof(buf)), sizeof(buf));
	assert_int_equal(
		vmmem_read_from_fd(f->mem, SPAN_GPA, SPAN_LEN, p[0], -1, &done),
		0);
	assert_int_equal(done, sizeof(buf));
	expect_guest(f, SPAN_GPA, sizeof(buf), 0, 13);
}

static void test_io_read_into_unbacked_range_reads_nothing(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = pipe_with_pattern(f, 0x200, 14);
	size_t done = 99;

	assert_int_equal(
		vmmem_read_from_fd(f->mem, 0x3f00, 0x200, fd, -1, &done),
		-EFAULT);
	assert_int_equal(done, 0);
	expect_fd(fd, 0x200, 14);
}

static void test_io_read_into_readonly_region_reads_nothing(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = pipe_with_pattern(f, 0x100, 15);
	size_t done = 99;

	assert_int_equal(
		vmmem_read_from_fd(f->mem, RO_GPA, 0x100, fd, -1, &done),
		-EACCES);
	assert_int_equal(done, 0);
	expect_fd(fd, 0x100, 15);
}

static void test_io_read_of_wrapping_range_reads_nothing(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = pipe_with_pattern(f, 0x10, 16);
	size_t done = 99;

	assert_int_equal(
		vmmem_read_from_fd(f->mem, UINT64_MAX - 4, 0x10, fd, -1, &done),
		-EOVERFLOW);
	assert_int_equal(done, 0);
	expect_fd(fd, 0x10, 16);
}

static void test_io_read_rejects_bad_arguments(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = pipe_with_pattern(f, 0x10, 17);
	size_t done;

	assert_int_equal(vmmem_read_from_fd(f->mem, 0, 0x10, fd, -2, &done),
			 -EINVAL);
	assert_int_equal(
		vmmem_read_from_fd(f->mem, 0, 0x10, fd, INT64_MIN, &done),
		-EINVAL);
	assert_int_equal(vmmem_read_from_fd(f->mem, 0, 0x10, fd, -1, NULL),
			 -EINVAL);
	expect_fd(fd, 0x10, 17);
}

static void test_io_read_of_zero_length_reads_nothing(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = pipe_with_pattern(f, 0x10, 18);
	size_t done = 99;

	assert_int_equal(vmmem_read_from_fd(f->mem, 0, 0, fd, -1, &done), 0);
	assert_int_equal(done, 0);
	expect_fd(fd, 0x10, 18);
}

/* ---- vmmem_write_to_fd -------------------------------------------- */

static void test_io_write_to_pipe_sends_range_across_regions(void **state)
{
	struct fixture *f = *state;
	size_t done = 0;
	vmmem_fd_t p[2];

	make_pipe(f, p, 0);
	put_guest(f, SPAN_GPA, SPAN_LEN, 20);
	assert_int_equal(
		vmmem_write_to_fd(f->mem, SPAN_GPA, SPAN_LEN, p[1], -1, &done),
		0);
	assert_int_equal(done, SPAN_LEN);
	expect_fd(p[0], SPAN_LEN, 20);
}

static void test_io_write_at_current_position_advances_it(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = file_with_pattern(f, 0, 0);
	size_t done = 0;

	put_guest(f, SPAN_GPA, SPAN_LEN, 21);
	assert_int_equal(port_seek(fd, 0, SEEK_SET), 0);
	assert_int_equal(
		vmmem_write_to_fd(f->mem, SPAN_GPA, SPAN_LEN, fd, -1, &done),
		0);
	assert_int_equal(done, SPAN_LEN);
	assert_int_equal(position(fd), SPAN_LEN);
	assert_int_equal(port_seek(fd, 0, SEEK_SET), 0);
	expect_fd(fd, SPAN_LEN, 21);
}

static void test_io_write_at_offset_keeps_position(void **state)
{
	struct fixture *f = *state;
	vmmem_fd_t fd = file_with_pattern(f, 0, 0);
	size_t done = 0;

	put_guest(f, SPAN_GPA, SPAN_LEN, 22);
	assert_int_equal(port_seek(fd, 5, SEEK_SET), 5);
	sysmock_reset();
	assert_int_equal(vmmem_write_to_fd(f->mem, SPAN_GPA, SPAN_LEN, fd,
					   0x1000, &done),
			 0);
	assert_int_equal(done, SPAN_LEN);
	assert_int_equal(position(fd), 5);
	assert_true(sysmock_calls(SYSMOCK_PWRITEV) >= 1);
	assert_int_equal(sysmock_calls(SYSMOCK_WRITEV), 0);
	assert_int_equal(port_seek(fd, 0x1000, SEEK_SET), 0x1000);
	expect_fd(fd, SPAN_LEN, 22);
}

static void test_io_write_retries_after_eintr(void **state)
{
	struct fixture *f = *state;
	size_t done = 0;
	vmmem_fd_t p[2];

	make_pipe(f, p, 0);
	put_guest(f, SPAN_GPA, SPAN_LEN, 23);
	sysmock_fail(SYSMOCK_WRITEV, 0, EINTR);
	assert_int_equal(
		vmmem_write_to_fd(f->mem, SPAN_GPA, SPAN_LEN, p[1], -1, &done),
		0);
	assert_true(sysmock_done());
	assert_int_equal(done, SPAN_LEN);
	expect_fd(p[0], SPAN_LEN, 23);
}

static void test_io_write_continues_after_short_count(void **state)
{
	struct fixture *f = *state;
	size_t done = 0;
	char c;
	vmmem_fd_t p[2];

	make_pipe(f, p, 0);
	put_guest(f, SPAN_GPA, SPAN_LEN, 24);
	sysmock_short(SYSMOCK_WRITEV, 0x180);
	assert_int_equal(
		vmmem_write_to_fd(f->mem, SPAN_GPA, SPAN_LEN, p[1], -1, &done),
		0);
	assert_true(sysmock_done());
	assert_int_equal(done, SPAN_LEN);
	drop(f, p[1]);
	expect_fd(p[0], SPAN_LEN, 24);
	assert_int_equal(port_read(p[0], &c, 1), 0);
}

static void test_io_write_at_offset_continues_after_short_count(void **s)
{
	struct fixture *f = *s;
	vmmem_fd_t fd = file_with_pattern(f, 0, 0);
	size_t done = 0;

	put_guest(f, SPAN_GPA, SPAN_LEN, 25);
	sysmock_short(SYSMOCK_PWRITEV, 0x10);
	assert_int_equal(
		vmmem_write_to_fd(f->mem, SPAN_GPA, SPAN_LEN, fd, 0x800, &done),
		0);
	assert_true(sysmock_done());
	assert_int_equal(done, SPAN_LEN);
	assert_int_equal(port_seek(fd, 0, SEEK_END), 0x800 + SPAN_LEN);
	assert_int_equal(port_seek(fd, 0x800, SEEK_SET), 0x800);
	expect_fd(fd, SPAN_LEN, 25);
}

static void test_io_write_returns_hard_error_with_done(void **state)
{
	struct fixture *f = *state;
	size_t done = 0;
	vmmem_fd_t p[2];

	make_pipe(f, p, 0);
	put_guest(f, SPAN_GPA, SPAN_LEN, 26);
	sysmock_short(SYSMOCK_WRITEV, 0x180);
	sysmock_fail(SYSMOCK_WRITEV, 1, EIO);
	assert_int_equal(
		vmmem_write_to_fd(f->mem, SPAN_GPA, SPAN_LEN, p[1], -1, &done),
		-EIO);
	assert_true(sysmock_done());
	assert_int_equal(done, 0x180);
	expect_fd(p[0], 0x180, 26);
}

/* Shrink a pipe's buffer to one page. */
static void shrink_pipe(vmmem_fd_t wfd)
{
#ifdef _WIN32
	/* port_pipe2() made the non-blocking pipes that small already. */
	(void)wfd;
#else
	assert_true(fcntl(wfd, F_SETPIPE_SZ, 4096) >= 4096);
#endif
}

/* Fill a non-blocking pipe until it takes no more. */
static void fill_pipe(vmmem_fd_t wfd)
{
	static char junk[4096];

	while (port_write(wfd, junk, sizeof(junk)) > 0)
		;
	assert_int_equal(errno, EAGAIN);
}

static void test_io_write_to_full_nonblocking_pipe_is_eagain(void **state)
{
	struct fixture *f = *state;
	size_t done = 99;
	vmmem_fd_t p[2];

	make_pipe(f, p, 1);
	shrink_pipe(p[1]);
	fill_pipe(p[1]);
	assert_int_equal(
		vmmem_write_to_fd(f->mem, SPAN_GPA, SPAN_LEN, p[1], -1, &done),
		-EAGAIN);
	assert_int_equal(done, 0);
}

static void test_io_write_returns_short_done_when_pipe_fills(void **state)
{
	struct fixture *f = *state;
	size_t done = 0;
	vmmem_fd_t p[2];

	/* One page of room: the first write is short, the next one would
	 * block. */
	make_pipe(f, p, 1);
	shrink_pipe(p[1]);
	put_guest(f, SPAN_GPA, SPAN_LEN, 27);
	assert_int_equal(
		vmmem_write_to_fd(f->mem, SPAN_GPA, SPAN_LEN, p[1], -1, &done),
		0);
	assert_true(done > 0);
	assert_true(done < SPAN_LEN);
	expect_fd(p[0], done, 27);
}

static void test_io_write_to_closed_pipe_is_epipe(void **state)
{
	struct fixture *f = *state;
#ifndef _WIN32
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
#endif
	size_t done = 99;
	vmmem_fd_t p[2];
	int rc;

	make_pipe(f, p, 0);
	drop(f, p[0]);
	rc = vmmem_write_to_fd(f->mem, SPAN_GPA, SPAN_LEN, p[1], -1, &done);
#ifndef _WIN32
	signal(SIGPIPE, old);
#endif
	assert_int_equal(rc, -EPIPE);
	assert_int_equal(done, 0);
}

static void test_io_write_from_unbacked_range_writes_nothing(void **state)
{
	struct fixture *f = *state;
	size_t done = 99;
	char c;
	vmmem_fd_t p[2];

	make_pipe(f, p, 1);
	sysmock_reset();
	assert_int_equal(
		vmmem_write_to_fd(f->mem, 0x3f00, 0x200, p[1], -1, &done),
		-EFAULT);
	assert_int_equal(done, 0);
	assert_int_equal(sysmock_calls(SYSMOCK_WRITEV), 0);
	assert_int_equal(port_read(p[0], &c, 1), -1);
	assert_int_equal(errno, EAGAIN);
}

static void test_io_write_from_readonly_region_works(void **state)
{
	struct fixture *f = *state;
	unsigned char zero[0x100] = { 0 }, got[0x100];
	size_t done = 0;
	vmmem_fd_t p[2];

	make_pipe(f, p, 0);
	assert_int_equal(
		vmmem_write_to_fd(f->mem, RO_GPA, sizeof(got), p[1], -1, &done),
		0);
	assert_int_equal(done, sizeof(got));
	assert_int_equal(port_read(p[0], got, sizeof(got)), sizeof(got));
	assert_memory_equal(got, zero, sizeof(got));
}

static void test_io_write_rejects_bad_arguments(void **state)
{
	struct fixture *f = *state;
	size_t done;
	char c;
	vmmem_fd_t p[2];

	make_pipe(f, p, 1);
	assert_int_equal(vmmem_write_to_fd(f->mem, 0, 0x10, p[1], -2, &done),
			 -EINVAL);
	assert_int_equal(vmmem_write_to_fd(f->mem, 0, 0x10, p[1], -1, NULL),
			 -EINVAL);
	assert_int_equal(port_read(p[0], &c, 1), -1);
	assert_int_equal(errno, EAGAIN);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* ---- lengths and offsets past 32 bits ------------------------------- */

/* A guest range just past 4 GiB is that long on every host, not cut to its
 * low 32 bits (one page here). */
static void test_io_iovec_of_len_past_4_gib_is_not_cut(void **state)
{
	struct fixture *f = *state;
	struct iovec iov[4];
	int n = 1;

	assert_int_equal(vmmem_get_iovec(f->mem, 0, (1ull << 32) + 0x1000, 0,
					 iov, 4, &n),
			 -EFAULT);
	assert_int_equal(n, 0);
}

/* File offsets are 64-bit on every host: data 5 GiB into a (sparse) file
 * is read and written there, on 32-bit hosts too. */
static void test_io_fd_offsets_past_4_gib_reach_the_file(void **state)
{
	struct fixture *f = *state;
	const int64_t foff = (5ll << 30) + 0x1000;
	unsigned char buf[0x1000], back[0x1000];
	size_t done = 0;
	vmmem_fd_t fd = port_tmpfile(0);

	assert_true(fd != VMMEM_FD_NONE);
	fill_pattern(buf, sizeof(buf), 3);
	assert_int_equal(port_pwrite(fd, buf, sizeof(buf), (uint64_t)foff),
			 sizeof(buf));
	assert_int_equal(
		vmmem_read_from_fd(f->mem, 0x800, sizeof(buf), fd, foff, &done),
		0);
	assert_int_equal(done, sizeof(buf));
	assert_int_equal(vmmem_read(f->mem, 0x800, back, sizeof(back)), 0);
	assert_memory_equal(back, buf, sizeof(buf));
	/* Nothing was written at the offset's low 32 bits: still a hole. */
	assert_int_equal(port_pread(fd, back, sizeof(back), 0x1000),
			 sizeof(back));
	memset(buf, 0, sizeof(buf));
	assert_memory_equal(back, buf, sizeof(back));
	fill_pattern(buf, sizeof(buf), 3);

	assert_int_equal(vmmem_write_to_fd(f->mem, 0x800, sizeof(buf), fd,
					   foff + 0x2000, &done),
			 0);
	assert_int_equal(done, sizeof(buf));
	assert_int_equal(port_pread(fd, back, sizeof(back),
				    (uint64_t)foff + 0x2000),
			 sizeof(back));
	assert_memory_equal(back, buf, sizeof(buf));
	port_close(fd);
}

/*
 * A transfer of 2 GiB or more within one region goes to the kernel in
 * pieces it accepts: a 32-bit process's readv() and writev() refuse an
 * iov_len of 2 GiB (EINVAL). Pipes take little, so the calls end with short
 * counts and nearly nothing of the region is touched.
 */
#ifdef _WIN32
static void test_io_fd_transfers_past_2_gib_in_one_region(void **state)
{
	(void)state;
	PORT_SKIP("the 2 GiB limit is a 32-bit Linux readv()/writev() one");
}
#else
static void test_io_fd_transfers_past_2_gib_in_one_region(void **state)
{
	const struct vmmem_range ram = { 0, (2ull << 30) + 0x2000 };
	struct vmmem *mem = NULL;
	unsigned char back[16];
	size_t done = 1;
	int p[2], rc;

	(void)state;
	rc = vmmem_create_anon(&ram, 1, 0, &mem);
	FIXTURE_SKIP_IF_TOO_BIG(rc, ram.len);
	assert_int_equal(rc, 0);
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(write(p[1], "sixteen bytes..", 16), 16);
	assert_int_equal(vmmem_read_from_fd(mem, 0x1000, (size_t)ram.len - 0x1000,
					    p[0], -1, &done),
			 0);
	assert_int_equal(done, 16);
	assert_int_equal(vmmem_read(mem, 0x1000, back, 16), 0);
	assert_memory_equal(back, "sixteen bytes..", 16);

	done = 0;
	assert_int_equal(vmmem_write_to_fd(mem, 0x1000,
					   (size_t)ram.len - 0x1000, p[1], -1,
					   &done),
			 0);
	assert_true(done > 0);
	assert_int_equal(read(p[0], back, 16), 16);
	assert_memory_equal(back, "sixteen bytes..", 16);
	close(p[0]);
	close(p[1]);
	vmmem_destroy(mem);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_io_iovec_of_range_in_one_region),
		T(test_io_iovec_of_range_across_two_regions),
		T(test_io_iovec_of_range_across_three_regions),
		T(test_io_iovec_of_whole_regions_has_their_lengths),
		T(test_io_iovec_rejects_too_small_array),
		T(test_io_iovec_rejects_range_into_hole),
		T(test_io_iovec_rejects_write_to_readonly_region),
		T(test_io_iovec_of_zero_length_is_empty),
		T(test_io_iovec_rejects_wrapping_range),
		T(test_io_iovec_rejects_bad_arguments),
		T(test_io_read_from_pipe_fills_range_across_regions),
		T(test_io_read_at_current_position_advances_it),
		T(test_io_read_at_offset_keeps_position),
		T(test_io_read_stops_at_end_of_file),
		T(test_io_read_from_pipe_stops_at_end_of_data),
		T(test_io_read_retries_after_eintr),
		T(test_io_read_at_offset_retries_after_eintr),
		T(test_io_read_continues_after_short_count),
		T(test_io_read_continues_after_short_first_iovec),
		T(test_io_read_at_offset_continues_after_short_count),
		T(test_io_read_returns_hard_error_with_done),
		T(test_io_read_returns_immediate_error_with_no_done),
		T(test_io_read_from_empty_nonblocking_pipe_is_eagain),
		T(test_io_read_returns_short_done_when_pipe_runs_dry),
		T(test_io_read_into_unbacked_range_reads_nothing),
		T(test_io_read_into_readonly_region_reads_nothing),
		T(test_io_read_of_wrapping_range_reads_nothing),
		T(test_io_read_rejects_bad_arguments),
		T(test_io_read_of_zero_length_reads_nothing),
		T(test_io_write_to_pipe_sends_range_across_regions),
		T(test_io_write_at_current_position_advances_it),
		T(test_io_write_at_offset_keeps_position),
		T(test_io_write_retries_after_eintr),
		T(test_io_write_continues_after_short_count),
		T(test_io_write_at_offset_continues_after_short_count),
		T(test_io_write_returns_hard_error_with_done),
		T(test_io_write_to_full_nonblocking_pipe_is_eagain),
		T(test_io_write_returns_short_done_when_pipe_fills),
		T(test_io_write_to_closed_pipe_is_epipe),
		T(test_io_write_from_unbacked_range_writes_nothing),
		T(test_io_write_from_readonly_region_works),
		T(test_io_write_rejects_bad_arguments),
		T(test_io_iovec_of_len_past_4_gib_is_not_cut),
		T(test_io_fd_offsets_past_4_gib_reach_the_file),
		cmocka_unit_test(test_io_fd_transfers_past_2_gib_in_one_region),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
