/* SPDX-License-Identifier: MIT */
/*
 * Tests for vmmem/region.h: the four creators (anonymous, memfd, file at an
 * offset, borrowed), the options, the getters and the reference count.
 * Failures of the system calls and allocations behind a creator are scripted
 * with sysmock; every failure must give the right errno and leave no mapping,
 * no fd and no heap block behind.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <dirent.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

#include <vmmem/dirty.h>
#include <vmmem/memory.h>
#include <vmmem/region.h>

#include "fixture.h"
#include "port.h"
#include "sysmock.h"

#define MIB (1024ull * 1024)

/* A creator under test, for the allocation-failure loop. */
typedef int (*create_fn)(void *arg, struct vmmem_region **out);

/*
 * A scratch file of FILE_SIZE bytes, for file regions, and FOFF(off), the
 * file offset the tests use for off: the same on Linux; on Windows, where
 * a file region must start at a multiple of the allocation granularity
 * (64 KiB), the same number of granules as off has pages.
 */
#ifdef _WIN32
#define FOFF(off) ((off) / 4096 * 0x10000)
#define FILE_SIZE (4 * 0x10000)
#else
#define FOFF(off) (off)
#define FILE_SIZE (4 * 4096)
#endif

struct file_fixture {
	vmmem_fd_t fd;
};

static size_t page_size(void)
{
	return port_page_size();
}

#ifdef _WIN32

/* Open handles stand in for open fds. */
#define count_fds port_count_fds
#define maps_perms port_perms

#else /* !_WIN32 */

/* Number of open fds of the process. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static char maps_buf[1 << 20];

/*
 * Copy the permissions ("rw-p") of the mapping that holds addr into perms,
 * or "" when addr is not mapped. Reads /proc/self/maps with plain read(2)
 * into a static buffer, so that looking does not itself map anything.
 */
static void maps_perms(uintptr_t addr, char perms[5])
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t used = 0;
	ssize_t n;
	char *line;

	assert_true(fd >= 0);
	while ((n = read(fd, maps_buf + used, sizeof(maps_buf) - 1 - used)) > 0)
		used += (size_t)n;
	close(fd);
	assert_true(used < sizeof(maps_buf) - 1);
	maps_buf[used] = '\0';
	perms[0] = '\0';
	for (line = maps_buf; line && *line;) {
		unsigned long lo, hi;
		char p[5];
		char *nl = strchr(line, '\n');

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 &&
		    addr >= lo && addr < hi) {
			memcpy(perms, p, 5);
			return;
		}
		line = nl ? nl + 1 : NULL;
	}
}

/* HugePages_Free from /proc/meminfo (0 when the line is missing). */
static long hugepages_free(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long v = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

#endif /* _WIN32 */

/*
 * Fail the skip-th allocation of kind fn made by a creator, for skip = 0,
 * 1, ... until creation gets past every allocation. Each failure must give
 * -ENOMEM and leave no fd open; an owned mapping that was made must have
 * been unmapped, and a borrowed one never is. (Leaked heap blocks show in
 * the ASan build.)
 */
static void check_alloc_failures(enum sysmock_fn fn, create_fn create,
				 void *arg, int owned)
{
	struct vmmem_region *r;
	int skip, rc, fds;

	for (skip = 0; skip < 64; skip++) {
		fds = count_fds();
		sysmock_reset();
		sysmock_fail(fn, skip, ENOMEM);
		r = NULL;
		rc = create(arg, &r);
		if (rc == 0) {
			int consumed = sysmock_done();

			vmmem_region_destroy(r);
			sysmock_reset();
			if (!consumed)
				return;
			continue;
		}
		assert_int_equal(rc, -ENOMEM);
		assert_true(sysmock_done());
		assert_int_equal(count_fds(), fds);
		if (!owned)
			assert_int_equal(sysmock_calls(SYSMOCK_MUNMAP), 0);
		else if (sysmock_calls(SYSMOCK_MMAP) > 0)
			assert_true(sysmock_calls(SYSMOCK_MUNMAP) > 0);
	}
	fail_msg("creation still fails after %d allocations", skip);
}

static int file_setup(void **state)
{
	struct file_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->fd = port_tmpfile(FILE_SIZE);
	if (f->fd == VMMEM_FD_NONE) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int file_teardown(void **state)
{
	struct file_fixture *f = *state;

	port_close(f->fd);
	free(f);
	return 0;
}

/* Reopen the fixture's file read-only. */
#ifdef _WIN32
#define reopen_rdonly port_reopen_rdonly
#else
static int reopen_rdonly(int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_RDONLY | O_CLOEXEC);
}
#endif

/* ---- anonymous ---------------------------------------------------- */

static void test_region_anon_maps_private_anonymous_noreserve(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("Linux's mmap(2) flags: Windows maps with VirtualAlloc() and views");
#else
	const int want = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	struct vmmem_region *r = NULL;

	(void)state;
	sysmock_reset();
	assert_int_equal(vmmem_region_create_anon(0x1000, 0x4000, 0, &r), 0);
	assert_int_equal(sysmock_last()->mmap_flags & want, want);
	assert_int_equal(sysmock_last()->mmap_flags & MAP_SHARED, 0);
	vmmem_region_destroy(r);
#endif
}

static void test_region_anon_memory_is_zeroed_and_writable(void **state)
{
	struct vmmem_region *r = NULL;
	unsigned char *p;
	size_t i;

	(void)state;
	assert_int_equal(vmmem_region_create_anon(0, 0x3000, 0, &r), 0);
	p = vmmem_region_hva(r);
	assert_non_null(p);
	for (i = 0; i < 0x3000; i++)
		assert_int_equal(p[i], 0);
	memset(p, 0x5a, 0x3000);
	assert_int_equal(p[0x2fff], 0x5a);
	vmmem_region_destroy(r);
}

static void test_region_anon_accepts_odd_length(void **state)
{
	struct vmmem_region *r = NULL;
	unsigned char *p;

	(void)state;
	assert_int_equal(vmmem_region_create_anon(0x2000, 5, 0, &r), 0);
	assert_true(vmmem_region_len(r) == 5);
	assert_true(vmmem_region_last(r) == 0x2004);
	p = vmmem_region_hva(r);
	memcpy(p, "abcde", 5);
	assert_memory_equal(p, "abcde", 5);
	vmmem_region_destroy(r);
}

static void test_region_anon_rejects_zero_length(void **state)
{
	struct vmmem_region *r = NULL;

	(void)state;
	assert_int_equal(vmmem_region_create_anon(0x1000, 0, 0, &r), -EINVAL);
}

static void test_region_anon_rejects_unknown_flags(void **state)
{
	struct vmmem_region *r = NULL;

	(void)state;
	assert_int_equal(vmmem_region_create_anon(0, 0x1000, 1u << 7, &r),
			 -EINVAL);
	assert_int_equal(vmmem_region_create_anon(0, 0x1000, 1u << 31, &r),
			 -EINVAL);
	assert_int_equal(vmmem_region_create_anon(
				 0, 0x1000, VMMEM_REGION_FLAGS_ALL + 1, &r),
			 -EINVAL);
}

static void test_region_anon_rejects_range_wrapping_past_top(void **state)
{
	struct vmmem_region *r = NULL;

	(void)state;
	assert_int_equal(
		vmmem_region_create_anon(UINT64_MAX - 0xfff, 0x2000, 0, &r),
		-EOVERFLOW);
	assert_int_equal(vmmem_region_create_anon(UINT64_MAX, 2, 0, &r),
			 -EOVERFLOW);
}

static void test_region_anon_accepts_region_ending_on_last_byte(void **state)
{
	struct vmmem_region *r = NULL;
	unsigned char *p;

	(void)state;
	assert_int_equal(vmmem_region_create_anon(0ull - 4096, 4096, 0, &r), 0);
	assert_true(vmmem_region_gpa(r) == 0ull - 4096);
	assert_true(vmmem_region_len(r) == 4096);
	assert_true(vmmem_region_last(r) == UINT64_MAX);
	p = vmmem_region_hva(r);
	p[4095] = 0x77;
	assert_int_equal(p[4095], 0x77);
	vmmem_region_destroy(r);
}

static void test_region_anon_returns_mmap_errno(void **state)
{
	struct vmmem_region *r = NULL;

	(void)state;
	sysmock_reset();
	sysmock_fail(SYSMOCK_MMAP, 0, EPERM);
	assert_int_equal(vmmem_region_create_anon(0, 0x1000, 0, &r), -EPERM);
	assert_true(sysmock_done());
	sysmock_reset();
	sysmock_fail(SYSMOCK_MMAP, 0, ENOMEM);
	assert_int_equal(vmmem_region_create_anon(0, 0x1000, 0, &r), -ENOMEM);
	assert_true(sysmock_done());
	assert_int_equal(sysmock_calls(SYSMOCK_MUNMAP), 0);
}

static int create_anon_tracked(void *arg, struct vmmem_region **out)
{
	(void)arg;
	return vmmem_region_create_anon(0x10000, 0x5000, VMMEM_REGION_DIRTY_LOG,
					out);
}

static void test_region_anon_survives_every_calloc_failure(void **state)
{
	(void)state;
	check_alloc_failures(SYSMOCK_CALLOC, create_anon_tracked, NULL, 1);
}

static void test_region_anon_survives_every_malloc_failure(void **state)
{
	(void)state;
	check_alloc_failures(SYSMOCK_MALLOC, create_anon_tracked, NULL, 1);
}

/* ---- memfd -------------------------------------------------------- */

static void test_region_memfd_has_an_fd_at_offset_zero(void **state)
{
	struct vmmem_region *r = NULL;

	(void)state;
	assert_int_equal(vmmem_region_create_memfd(0, 0x2000, 0, "guest", &r),
			 0);
	assert_true(vmmem_region_fd(r) != VMMEM_FD_NONE);
	assert_true(vmmem_region_file_offset(r) == 0);
	assert_int_equal(vmmem_region_kind(r), VMMEM_REGION_MEMFD);
	assert_int_equal(vmmem_region_is_owned(r), 1);
	vmmem_region_destroy(r);
}

static void test_region_memfd_is_sealed_against_shrinking(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("memfd seals are Linux-only; a section never shrinks");
#else
	struct vmmem_region *r = NULL;
	int fd, seals;

	(void)state;
	assert_int_equal(vmmem_region_create_memfd(0, 0x2000, 0, NULL, &r), 0);
	fd = vmmem_region_fd(r);
	seals = fcntl(fd, F_GET_SEALS);
	assert_true(seals >= 0);
	assert_true(seals & F_SEAL_SHRINK);
	errno = 0;
	assert_int_equal(ftruncate(fd, 0x1000), -1);
	assert_int_equal(errno, EPERM);
	vmmem_region_destroy(r);
#endif
}

static void test_region_memfd_is_sized_to_length(void **state)
{
#ifdef _WIN32
	struct vmmem_region *r = NULL;
	MEMORY_BASIC_INFORMATION mi;
	void *all;

	(void)state;
	assert_int_equal(vmmem_region_create_memfd(0, 0x3000, 0, NULL, &r), 0);
	/* A view of length 0 is a view of the whole section. */
	all = MapViewOfFile(vmmem_region_fd(r), FILE_MAP_READ, 0, 0, 0);
	assert_non_null(all);
	assert_int_equal(VirtualQuery(all, &mi, sizeof(mi)), sizeof(mi));
	assert_int_equal(mi.RegionSize, 0x3000);
	UnmapViewOfFile(all);
	vmmem_region_destroy(r);
#else
	struct vmmem_region *r = NULL;
	off_t end;

	(void)state;
	assert_int_equal(vmmem_region_create_memfd(0, 0x3000, 0, NULL, &r), 0);
	end = lseek(vmmem_region_fd(r), 0, SEEK_END);
	assert_int_equal(end, 0x3000);
	vmmem_region_destroy(r);
#endif
}

static void test_region_memfd_is_mapped_shared(void **state)
{
	struct vmmem_region *r = NULL;
	unsigned char *mine;
	unsigned char *hva;

	(void)state;
	sysmock_reset();
	assert_int_equal(vmmem_region_create_memfd(0, 0x2000, 0, NULL, &r), 0);
#ifdef _WIN32
	/* A second view of the region's section. */
	mine = MapViewOfFile(vmmem_region_fd(r), FILE_MAP_READ, 0, 0, 0x2000);
	assert_non_null(mine);
#else
	assert_true(sysmock_last()->mmap_flags & MAP_SHARED);
	mine = mmap(NULL, 0x2000, PROT_READ, MAP_SHARED, vmmem_region_fd(r), 0);
	assert_true(mine != MAP_FAILED);
#endif
	hva = vmmem_region_hva(r);
	memcpy(hva + 0x1ffc, "wxyz", 4);
	hva[0] = 0x42;
	assert_memory_equal(mine + 0x1ffc, "wxyz", 4);
	assert_int_equal(mine[0], 0x42);
#ifdef _WIN32
	UnmapViewOfFile(mine);
#else
	munmap(mine, 0x2000);
#endif
	vmmem_region_destroy(r);
}

#ifndef _WIN32
/* The name of the memfd behind fd, as /proc shows it. */
static void memfd_link(int fd, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, size - 1);
	assert_true(n > 0);
	buf[n] = '\0';
}
#endif

static void test_region_memfd_is_named_after_name(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("a memfd's name is a Linux label; sections stay unnamed");
#else
	struct vmmem_region *r = NULL;
	char link[256];

	(void)state;
	assert_int_equal(vmmem_region_create_memfd(0, 0x1000, 0, "ram0", &r),
			 0);
	memfd_link(vmmem_region_fd(r), link, sizeof(link));
	assert_non_null(strstr(link, "memfd:ram0"));
	vmmem_region_destroy(r);
#endif
}

static void test_region_memfd_without_name_is_named_vmmem(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("a memfd's name is a Linux label; sections stay unnamed");
#else
	struct vmmem_region *r = NULL;
	char link[256];

	(void)state;
	assert_int_equal(vmmem_region_create_memfd(0, 0x1000, 0, NULL, &r), 0);
	memfd_link(vmmem_region_fd(r), link, sizeof(link));
	assert_non_null(strstr(link, "memfd:vmmem"));
	vmmem_region_destroy(r);
#endif
}

static void test_region_memfd_returns_memfd_create_errno(void **state)
{
	struct vmmem_region *r = NULL;
	int fds = count_fds();

	(void)state;
	sysmock_reset();
	sysmock_fail(SYSMOCK_MEMFD_CREATE, 0, EMFILE);
	assert_int_equal(vmmem_region_create_memfd(0, 0x1000, 0, NULL, &r),
			 -EMFILE);
	assert_true(sysmock_done());
	assert_int_equal(count_fds(), fds);
}

static void test_region_memfd_closes_fd_when_ftruncate_fails(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("a section is sized when created: there is no ftruncate step");
#else
	struct vmmem_region *r = NULL;
	int fds = count_fds();

	(void)state;
	sysmock_reset();
	sysmock_fail(SYSMOCK_FTRUNCATE, 0, EFBIG);
	assert_int_equal(vmmem_region_create_memfd(0, 0x1000, 0, NULL, &r),
			 -EFBIG);
	assert_true(sysmock_done());
	assert_int_equal(count_fds(), fds);
#endif
}

static void test_region_memfd_closes_fd_when_sealing_fails(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("there is no sealing step (memfd seals are Linux-only)");
#else
	struct vmmem_region *r = NULL;
	int fds = count_fds();

	(void)state;
	sysmock_reset();
	sysmock_fail(SYSMOCK_FCNTL, 0, EBUSY);
	assert_int_equal(vmmem_region_create_memfd(0, 0x1000, 0, NULL, &r),
			 -EBUSY);
	assert_true(sysmock_done());
	assert_int_equal(count_fds(), fds);
#endif
}

static void test_region_memfd_closes_fd_when_mmap_fails(void **state)
{
	struct vmmem_region *r = NULL;
	int fds = count_fds();

	(void)state;
	sysmock_reset();
	sysmock_fail(SYSMOCK_MMAP, 0, ENOMEM);
	assert_int_equal(vmmem_region_create_memfd(0, 0x1000, 0, NULL, &r),
			 -ENOMEM);
	assert_true(sysmock_done());
	assert_int_equal(count_fds(), fds);
}

static void test_region_memfd_destroy_closes_its_fd(void **state)
{
	struct vmmem_region *r = NULL;
	int fds = count_fds();

	(void)state;
	assert_int_equal(vmmem_region_create_memfd(0, 0x1000, 0, NULL, &r), 0);
	assert_int_equal(count_fds(), fds + 1);
	vmmem_region_destroy(r);
	assert_int_equal(count_fds(), fds);
}

static int create_memfd(void *arg, struct vmmem_region **out)
{
	(void)arg;
	return vmmem_region_create_memfd(0, 0x3000, VMMEM_REGION_DIRTY_LOG,
					 "alloc", out);
}

static void test_region_memfd_survives_every_calloc_failure(void **state)
{
	(void)state;
	check_alloc_failures(SYSMOCK_CALLOC, create_memfd, NULL, 1);
}

static void test_region_memfd_survives_every_malloc_failure(void **state)
{
	(void)state;
	check_alloc_failures(SYSMOCK_MALLOC, create_memfd, NULL, 1);
}

/* ---- file --------------------------------------------------------- */

static void test_region_file_writes_reach_file_at_offset(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	unsigned char *hva;
	char buf[8];

	sysmock_reset();
	assert_int_equal(vmmem_region_create_file(0x10000, 0x2000, 0, f->fd,
						  FOFF(8192), &r),
			 0);
#ifndef _WIN32
	assert_true(sysmock_last()->mmap_flags & MAP_SHARED);
#endif
	hva = vmmem_region_hva(r);
	memcpy(hva, "hello", 5);
	memcpy(hva + 0x1ffb, "world", 5);
	assert_int_equal(port_pread(f->fd, buf, 5, FOFF(8192)), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(port_pread(f->fd, buf, 5, FOFF(8192) + 0x1ffb), 5);
	assert_memory_equal(buf, "world", 5);
	vmmem_region_destroy(r);
}

static void test_region_file_reads_file_contents_at_offset(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;

	assert_int_equal(port_pwrite(f->fd, "page3", 5, FOFF(0x3000)), 5);
	assert_int_equal(
		vmmem_region_create_file(0, 0x1000, 0, f->fd, FOFF(0x3000), &r),
		0);
	assert_memory_equal(vmmem_region_hva(r), "page3", 5);
	vmmem_region_destroy(r);
}

static void test_region_file_reports_kind_and_offset(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;

	assert_int_equal(vmmem_region_create_file(0x10000, 0x1000, 0, f->fd,
						  FOFF(8192), &r),
			 0);
	assert_int_equal(vmmem_region_kind(r), VMMEM_REGION_FILE);
	assert_true(vmmem_region_file_offset(r) == FOFF(8192));
	assert_int_equal(vmmem_region_is_owned(r), 1);
	assert_true(vmmem_region_gpa(r) == 0x10000);
	assert_true(vmmem_region_len(r) == 0x1000);
	vmmem_region_destroy(r);
}

static void test_region_file_keeps_its_own_dup(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	vmmem_fd_t fd = port_dup(f->fd), rfd;
	char buf[4];

	assert_true(fd != VMMEM_FD_NONE);
	assert_int_equal(vmmem_region_create_file(0, 0x1000, 0, fd, 0, &r), 0);
	rfd = vmmem_region_fd(r);
	assert_true(rfd != VMMEM_FD_NONE);
	assert_true(rfd != fd);
	port_close(fd);
	memcpy(vmmem_region_hva(r), "dup!", 4);
	assert_int_equal(port_pread(rfd, buf, 4, 0), 4);
	assert_memory_equal(buf, "dup!", 4);
	vmmem_region_destroy(r);
}

static void test_region_file_dup_is_close_on_exec(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	int fdflags;

	assert_int_equal(vmmem_region_create_file(0, 0x1000, 0, f->fd, 0, &r),
			 0);
#ifdef _WIN32
	/* Not inherited by child processes, the close-on-exec of Windows. */
	DWORD hflags = ~0u;

	assert_true(GetHandleInformation(vmmem_region_fd(r), &hflags));
	assert_false(hflags & HANDLE_FLAG_INHERIT);
	(void)fdflags;
#else
	fdflags = fcntl(vmmem_region_fd(r), F_GETFD);
	assert_true(fdflags >= 0);
	assert_true(fdflags & FD_CLOEXEC);
#endif
	vmmem_region_destroy(r);
}

static void test_region_file_destroy_closes_its_dup(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	int fds = count_fds();

	assert_int_equal(vmmem_region_create_file(0, 0x1000, 0, f->fd, 0, &r),
			 0);
	assert_int_equal(count_fds(), fds + 1);
	vmmem_region_destroy(r);
	assert_int_equal(count_fds(), fds);
}

static void test_region_file_maps_past_end_of_file(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("Windows maps no page past the end of a file (the region fails instead)");
#else
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;

	assert_int_equal(
		vmmem_region_create_file(0, 0x4000, 0, f->fd, FILE_SIZE, &r),
		0);
	vmmem_region_destroy(r);
#endif
}

static void test_region_file_rejects_unaligned_offset(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;

	assert_int_equal(vmmem_region_create_file(0, 0x1000, 0, f->fd, 100, &r),
			 -EINVAL);
	assert_int_equal(
		vmmem_region_create_file(0, 0x1000, 0, f->fd, 2048, &r),
		-EINVAL);
}

static void test_region_file_rejects_negative_fd(void **state)
{
	struct vmmem_region *r = NULL;

	(void)state;
#ifdef _WIN32
	/* No handle: NULL or INVALID_HANDLE_VALUE. */
	assert_int_equal(vmmem_region_create_file(0, 0x1000, 0, VMMEM_FD_NONE,
						  0, &r),
			 -EBADF);
	assert_int_equal(vmmem_region_create_file(0, 0x1000, 0, NULL, 0, &r),
			 -EBADF);
#else
	/* A negative fd is -EBADF, as for every POSIX call. */
	assert_int_equal(vmmem_region_create_file(0, 0x1000, 0, -1, 0, &r),
			 -EBADF);
	assert_int_equal(vmmem_region_create_file(0, 0x1000, 0, -100, 0, &r),
			 -EBADF);
#endif
}

static void test_region_file_rejects_closed_fd(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	vmmem_fd_t fd = port_dup(f->fd);

	assert_true(fd != VMMEM_FD_NONE);
	port_close(fd);
	assert_int_equal(vmmem_region_create_file(0, 0x1000, 0, fd, 0, &r),
			 -EBADF);
}

static void test_region_file_rejects_writable_map_of_rdonly_fd(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	vmmem_fd_t fd = reopen_rdonly(f->fd);
	int fds;

	assert_true(fd != VMMEM_FD_NONE);
	fds = count_fds();
	assert_int_equal(vmmem_region_create_file(0, 0x1000, 0, fd, 0, &r),
			 -EACCES);
	assert_int_equal(count_fds(), fds);
	port_close(fd);
}

static void test_region_file_maps_rdonly_fd_when_readonly(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	vmmem_fd_t fd = reopen_rdonly(f->fd);

	assert_true(fd != VMMEM_FD_NONE);
	assert_int_equal(port_pwrite(f->fd, "ro", 2, 0), 2);
	assert_int_equal(vmmem_region_create_file(
				 0, 0x1000, VMMEM_REGION_READONLY, fd, 0, &r),
			 0);
	port_close(fd);
	assert_memory_equal(vmmem_region_hva(r), "ro", 2);
	assert_int_equal(vmmem_region_flags(r), VMMEM_REGION_READONLY);
	vmmem_region_destroy(r);
}

static void test_region_file_rejects_file_range_wrapping(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;

	assert_int_equal(vmmem_region_create_file(0, 0x2000, 0, f->fd,
						  0ull - FOFF(4096), &r),
			 -EOVERFLOW);
}

static void test_region_file_rejects_guest_range_wrapping(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;

	assert_int_equal(
		vmmem_region_create_file(0ull - 4096, 0x2000, 0, f->fd, 0, &r),
		-EOVERFLOW);
}

static void test_region_file_rejects_hugetlb(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;

	assert_int_equal(vmmem_region_create_file(0, 2 * MIB,
						  VMMEM_REGION_HUGETLB, f->fd,
						  0, &r),
			 -EINVAL);
}

static void test_region_file_rejects_zero_length(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;

	assert_int_equal(vmmem_region_create_file(0, 0, 0, f->fd, 0, &r),
			 -EINVAL);
}

static void test_region_file_rejects_unknown_flags(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;

	assert_int_equal(
		vmmem_region_create_file(0, 0x1000, 1u << 7, f->fd, 0, &r),
		-EINVAL);
}

static void test_region_file_closes_its_dup_when_mmap_fails(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	int fds = count_fds();

	sysmock_reset();
	sysmock_fail(SYSMOCK_MMAP, 0, ENODEV);
	assert_int_equal(vmmem_region_create_file(0, 0x1000, 0, f->fd, 0, &r),
			 -ENODEV);
	assert_true(sysmock_done());
	assert_int_equal(count_fds(), fds);
}

static int create_file(void *arg, struct vmmem_region **out)
{
	const struct file_fixture *f = arg;

	return vmmem_region_create_file(0, 0x2000, VMMEM_REGION_DIRTY_LOG,
					f->fd, FOFF(4096), out);
}

static void test_region_file_survives_every_calloc_failure(void **state)
{
	check_alloc_failures(SYSMOCK_CALLOC, create_file, *state, 1);
}

static void test_region_file_survives_every_malloc_failure(void **state)
{
	check_alloc_failures(SYSMOCK_MALLOC, create_file, *state, 1);
}

/* ---- borrowed ----------------------------------------------------- */

static void *map_pages(size_t len)
{
	void *p = port_map(len);

	assert_non_null(p);
	return p;
}

static void test_region_borrowed_uses_callers_memory(void **state)
{
	struct vmmem_region *r = NULL;
	unsigned char *p = map_pages(0x2000);

	(void)state;
	p[0x1234] = 0x99;
	assert_int_equal(
		vmmem_region_create_borrowed(0x40000, 0x2000, 0, p, &r), 0);
	assert_ptr_equal(vmmem_region_hva(r), p);
	assert_int_equal(((unsigned char *)vmmem_region_hva(r))[0x1234], 0x99);
	assert_int_equal(vmmem_region_kind(r), VMMEM_REGION_BORROWED);
	assert_true(vmmem_region_fd(r) == VMMEM_FD_NONE);
	assert_true(vmmem_region_file_offset(r) == 0);
	assert_true(vmmem_region_gpa(r) == 0x40000);
	assert_true(vmmem_region_len(r) == 0x2000);
	vmmem_region_destroy(r);
	port_unmap(p, 0x2000);
}

static void test_region_borrowed_is_not_owned(void **state)
{
	struct vmmem_region *r = NULL;
	void *p = map_pages(0x1000);

	(void)state;
	assert_int_equal(vmmem_region_create_borrowed(0, 0x1000, 0, p, &r), 0);
	assert_int_equal(vmmem_region_is_owned(r), 0);
	vmmem_region_destroy(r);
	port_unmap(p, 0x1000);
}

static void test_region_borrowed_stays_mapped_after_destroy(void **state)
{
	struct vmmem_region *r = NULL;
	unsigned char *p = map_pages(0x2000);

	(void)state;
	assert_int_equal(vmmem_region_create_borrowed(0, 0x2000, 0, p, &r), 0);
	memset(vmmem_region_hva(r), 0x3c, 0x2000);
	sysmock_reset();
	vmmem_region_destroy(r);
	assert_int_equal(sysmock_calls(SYSMOCK_MUNMAP), 0);
	assert_int_equal(p[0], 0x3c);
	assert_int_equal(p[0x1fff], 0x3c);
	port_unmap(p, 0x2000);
}

static void test_region_owned_destroy_unmaps(void **state)
{
	struct vmmem_region *r = NULL;
	uintptr_t hva;
	char perms[5];

	(void)state;
	assert_int_equal(vmmem_region_create_anon(0, 0x3000, 0, &r), 0);
	hva = (uintptr_t)vmmem_region_hva(r);
	sysmock_reset();
	vmmem_region_destroy(r);
	assert_true(sysmock_calls(SYSMOCK_MUNMAP) >= 1);
	maps_perms(hva, perms);
	assert_string_equal(perms, "");
}

static void test_region_borrowed_accepts_unaligned_length(void **state)
{
	struct vmmem_region *r = NULL;
	void *p = map_pages(0x1000);

	(void)state;
	assert_int_equal(vmmem_region_create_borrowed(0, 10, 0, p, &r), 0);
	assert_true(vmmem_region_len(r) == 10);
	vmmem_region_destroy(r);
	port_unmap(p, 0x1000);
}

static void test_region_borrowed_rejects_unaligned_pointer(void **state)
{
	struct vmmem_region *r = NULL;
	unsigned char *p = map_pages(0x2000);

	(void)state;
	assert_int_equal(vmmem_region_create_borrowed(0, 0x1000, 0, p + 1, &r),
			 -EINVAL);
	assert_int_equal(
		vmmem_region_create_borrowed(0, 0x1000, 0, p + 2048, &r),
		-EINVAL);
	port_unmap(p, 0x2000);
}

static void test_region_borrowed_rejects_null_pointer(void **state)
{
	struct vmmem_region *r = NULL;

	(void)state;
	assert_int_equal(vmmem_region_create_borrowed(0, 0x1000, 0, NULL, &r),
			 -EINVAL);
}

static void test_region_borrowed_rejects_zero_length(void **state)
{
	struct vmmem_region *r = NULL;
	void *p = map_pages(0x1000);

	(void)state;
	assert_int_equal(vmmem_region_create_borrowed(0, 0, 0, p, &r), -EINVAL);
	port_unmap(p, 0x1000);
}

static void test_region_borrowed_rejects_options_it_cannot_apply(void **state)
{
	static const unsigned bad[] = {
		VMMEM_REGION_HUGETLB,
		VMMEM_REGION_THP,
		VMMEM_REGION_DONTDUMP,
		VMMEM_REGION_GUARD,
		VMMEM_REGION_PRIVATE,
		1u << 7,
		VMMEM_REGION_READONLY | VMMEM_REGION_GUARD,
	};
	struct vmmem_region *r = NULL;
	void *p = map_pages(0x1000);
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
			vmmem_region_create_borrowed(0, 0x1000, bad[i], p, &r),
			-EINVAL);
	port_unmap(p, 0x1000);
}

static void test_region_borrowed_accepts_readonly_and_dirty_log(void **state)
{
	const unsigned flags = VMMEM_REGION_READONLY | VMMEM_REGION_DIRTY_LOG;
	struct vmmem_region *r = NULL;
	void *p = map_pages(0x3000);

	(void)state;
	assert_int_equal(port_make_readonly(p, 0x3000), 0);
	assert_int_equal(vmmem_region_create_borrowed(0, 0x3000, flags, p, &r),
			 0);
	assert_int_equal(vmmem_region_flags(r), flags);
	assert_true(vmmem_region_dirty_pages(r) == 3);
	vmmem_region_destroy(r);
	port_unmap(p, 0x3000);
}

static void test_region_borrowed_rejects_guest_range_wrapping(void **state)
{
	struct vmmem_region *r = NULL;
	void *p = map_pages(0x2000);

	(void)state;
	assert_int_equal(
		vmmem_region_create_borrowed(0ull - 4096, 0x2000, 0, p, &r),
		-EOVERFLOW);
	port_unmap(p, 0x2000);
}

static void test_region_borrowed_rejects_host_range_wrapping(void **state)
{
	struct vmmem_region *r = NULL;
	void *top = (void *)(UINTPTR_MAX & ~(uintptr_t)(page_size() - 1));

	(void)state;
	assert_int_equal(
		vmmem_region_create_borrowed(0, 2 * page_size(), 0, top, &r),
		-EOVERFLOW);
}

static int create_borrowed(void *arg, struct vmmem_region **out)
{
	return vmmem_region_create_borrowed(0, 0x2000, VMMEM_REGION_DIRTY_LOG,
					    arg, out);
}

static void test_region_borrowed_survives_every_calloc_failure(void **state)
{
	void *p = map_pages(0x2000);

	(void)state;
	check_alloc_failures(SYSMOCK_CALLOC, create_borrowed, p, 0);
	port_unmap(p, 0x2000);
}

static void test_region_borrowed_survives_every_malloc_failure(void **state)
{
	void *p = map_pages(0x2000);

	(void)state;
	check_alloc_failures(SYSMOCK_MALLOC, create_borrowed, p, 0);
	port_unmap(p, 0x2000);
}

/* ---- private file mappings ---------------------------------------- */

/* The file holds len bytes equal to byte at off. */
static void assert_file_bytes(vmmem_fd_t fd, uint64_t off, size_t len,
			      int byte)
{
	unsigned char buf[0x1000];

	assert_true(len <= sizeof(buf));
	assert_int_equal(port_pread(fd, buf, len, off), (long long)len);
	while (len--)
		assert_int_equal(buf[len], (unsigned char)byte);
}

static void test_region_file_private_maps_private_read_write(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;

	sysmock_reset();
	assert_int_equal(vmmem_region_create_file(
				 0, 0x2000, VMMEM_REGION_PRIVATE, f->fd, 0, &r),
			 0);
#ifdef _WIN32
	char perms[5];

	/* A copy-on-write view, readable and writable. */
	port_perms((uintptr_t)vmmem_region_hva(r), perms);
	assert_string_equal(perms, "rw-p");
#else
	assert_true(sysmock_last()->mmap_flags & MAP_PRIVATE);
	assert_false(sysmock_last()->mmap_flags & MAP_SHARED);
	assert_int_equal(sysmock_last()->mmap_prot, PROT_READ | PROT_WRITE);
#endif
	assert_int_equal(vmmem_region_kind(r), VMMEM_REGION_FILE);
	assert_int_equal(vmmem_region_flags(r), VMMEM_REGION_PRIVATE);
	assert_true(vmmem_region_fd(r) != VMMEM_FD_NONE);
	vmmem_region_destroy(r);
}

static void test_region_file_private_reads_file_contents(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	struct vmmem *mem = NULL;
	char buf[8] = { 0 };

	assert_int_equal(
		port_pwrite(f->fd, "snapshot", 8, FOFF(0x2000) + 0xffc), 8);
	assert_int_equal(vmmem_region_create_file(0x100000, 0x2000,
						  VMMEM_REGION_PRIVATE, f->fd,
						  FOFF(0x2000), &r),
			 0);
	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	/* Across the boundary of two file pages. */
	assert_int_equal(vmmem_read(mem, 0x100ffc, buf, 8), 0);
	assert_memory_equal(buf, "snapshot", 8);
	vmmem_destroy(mem);
	vmmem_region_destroy(r);
}

static void test_region_file_private_writes_leave_file_unchanged(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	struct vmmem *mem = NULL;
	unsigned char page[0x1000];
	char buf[8] = { 0 };

	memset(page, 0x5a, sizeof(page));
	assert_int_equal(port_pwrite(f->fd, page, sizeof(page), 0x1000),
			 (long long)sizeof(page));
	assert_int_equal(vmmem_region_create_file(0, FILE_SIZE,
						  VMMEM_REGION_PRIVATE, f->fd,
						  0, &r),
			 0);
	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	assert_int_equal(vmmem_write(mem, 0x1ffc, "private!", 8), 0);
	assert_int_equal(vmmem_fill(mem, 0x3000, 0x11, 0x1000), 0);

	/* The region sees its writes, through libvmmem and its host address. */
	assert_int_equal(vmmem_read(mem, 0x1ffc, buf, 8), 0);
	assert_memory_equal(buf, "private!", 8);
	assert_memory_equal((char *)vmmem_region_hva(r) + 0x1ffc, "private!",
			    8);
	assert_int_equal(vmmem_read(mem, 0x1000, buf, 4), 0);
	assert_memory_equal(buf, "\x5a\x5a\x5a\x5a", 4);
	/* The file does not, not even after the region is gone. */
	assert_file_bytes(f->fd, 0x1000, 0x1000, 0x5a);
	assert_file_bytes(f->fd, 0x2000, 4, 0);
	assert_file_bytes(f->fd, 0x3000, 0x1000, 0);
	vmmem_destroy(mem);
	vmmem_region_destroy(r);
	assert_file_bytes(f->fd, 0x1000, 0x1000, 0x5a);
	assert_file_bytes(f->fd, 0x3000, 0x1000, 0);
}

static void test_region_file_private_maps_rdonly_fd_writable(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	struct vmmem *mem = NULL;
	vmmem_fd_t fd = reopen_rdonly(f->fd);
	char perms[5];
	char buf[4] = { 0 };

	assert_true(fd != VMMEM_FD_NONE);
	assert_int_equal(port_pwrite(f->fd, "orig", 4, 0), 4);
	assert_int_equal(vmmem_region_create_file(
				 0, 0x2000, VMMEM_REGION_PRIVATE, fd, 0, &r),
			 0);
	port_close(fd);
	maps_perms((uintptr_t)vmmem_region_hva(r), perms);
	assert_string_equal(perms, "rw-p");
	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	assert_int_equal(vmmem_read(mem, 0, buf, 4), 0);
	assert_memory_equal(buf, "orig", 4);
	assert_int_equal(vmmem_write(mem, 0, "copy", 4), 0);
	assert_int_equal(vmmem_read(mem, 0, buf, 4), 0);
	assert_memory_equal(buf, "copy", 4);
	assert_int_equal(port_pread(f->fd, buf, 4, 0), 4);
	assert_memory_equal(buf, "orig", 4);
	vmmem_destroy(mem);
	vmmem_region_destroy(r);
}

static void test_region_file_private_reads_holes_as_zero(void **state)
{
	const uint64_t len = 64 * 0x1000;
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	struct vmmem *mem = NULL;
	unsigned char buf[0x1000];
	uint64_t off;

	/* Data in the first and the last page, nothing in between. */
	assert_int_equal(port_resize(f->fd, len), 0);
	assert_int_equal(port_pwrite(f->fd, "head", 4, 0), 4);
	assert_int_equal(port_pwrite(f->fd, "tail", 4, len - 4), 4);
	assert_int_equal(vmmem_region_create_file(0x200000, len,
						  VMMEM_REGION_PRIVATE, f->fd,
						  0, &r),
			 0);
	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	for (off = 0x1000; off < len - 0x1000; off += 0x1000) {
		memset(buf, 0xff, sizeof(buf));
		assert_int_equal(
			vmmem_read(mem, 0x200000 + off, buf, sizeof(buf)), 0);
		assert_int_equal(buf[0], 0);
		assert_memory_equal(buf, buf + 1, sizeof(buf) - 1);
	}
	assert_int_equal(vmmem_read(mem, 0x200000, buf, 4), 0);
	assert_memory_equal(buf, "head", 4);
	assert_int_equal(vmmem_read(mem, 0x200000 + len - 4, buf, 4), 0);
	assert_memory_equal(buf, "tail", 4);
	vmmem_destroy(mem);
	vmmem_region_destroy(r);
}

static void test_region_file_private_dirty_log_tracks_writes(void **state)
{
	const unsigned flags = VMMEM_REGION_PRIVATE | VMMEM_REGION_DIRTY_LOG;
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	struct vmmem *mem = NULL;
	uint64_t bits = 0;

	assert_int_equal(vmmem_region_create_file(0x10000, FILE_SIZE, flags,
						  f->fd, 0, &r),
			 0);
	assert_int_equal(vmmem_region_flags(r), flags);
	assert_true(vmmem_region_dirty_pages(r) == FILE_SIZE / 0x1000);
	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	assert_int_equal(vmmem_write(mem, 0x11ffe, "dirty", 5), 0);
	assert_int_equal(vmmem_dirty_test(mem, 0x10000, 0x1000), 0);
	assert_int_equal(vmmem_dirty_test(mem, 0x11000, 0x1000), 1);
	assert_int_equal(vmmem_dirty_test(mem, 0x12000, 0x1000), 1);
	assert_int_equal(vmmem_dirty_test(mem, 0x13000, 0x1000), 0);
	assert_int_equal(vmmem_region_dirty_get_and_reset(r, &bits, 1), 0);
	assert_true(bits == 0x6);
	assert_file_bytes(f->fd, 0x1ffe, 5, 0);
	vmmem_destroy(mem);
	vmmem_region_destroy(r);
}

static void test_region_file_private_readonly_rejects_writes(void **state)
{
	const unsigned flags = VMMEM_REGION_PRIVATE | VMMEM_REGION_READONLY;
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	struct vmmem *mem = NULL;
	vmmem_fd_t fd = reopen_rdonly(f->fd);
	char perms[5];

	assert_true(fd != VMMEM_FD_NONE);
	sysmock_reset();
	assert_int_equal(vmmem_region_create_file(0, 0x1000, flags, fd, 0, &r),
			 0);
	port_close(fd);
#ifndef _WIN32
	assert_true(sysmock_last()->mmap_flags & MAP_PRIVATE);
#endif
	maps_perms((uintptr_t)vmmem_region_hva(r), perms);
	assert_string_equal(perms, "r--p");
	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	assert_int_equal(vmmem_write(mem, 0, "x", 1), -EACCES);
	vmmem_destroy(mem);
	vmmem_region_destroy(r);
}

static void test_region_anon_accepts_private_and_maps_as_before(void **state)
{
#ifndef _WIN32
	const int want = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
#endif
	static const struct vmmem_range range = { 0x0, 0x2000 };
	struct vmmem_region *r = NULL;
	struct vmmem *mem = NULL;

	(void)state;
	sysmock_reset();
	assert_int_equal(vmmem_region_create_anon(0x1000, 0x1000,
						  VMMEM_REGION_PRIVATE, &r),
			 0);
#ifndef _WIN32
	assert_int_equal(sysmock_last()->mmap_flags, want);
#endif
	assert_int_equal(vmmem_region_flags(r), VMMEM_REGION_PRIVATE);
	vmmem_region_destroy(r);
	assert_int_equal(
		vmmem_create_anon(&range, 1, VMMEM_REGION_PRIVATE, &mem), 0);
	assert_int_equal(vmmem_write(mem, 0x1ffc, "anon", 4), 0);
	vmmem_destroy(mem);
}

static void test_region_private_is_refused_for_memfd_and_borrowed(void **s)
{
	struct vmmem_region *r = NULL;
	void *p = map_pages(0x1000);

	(void)s;
	sysmock_reset();
	assert_int_equal(vmmem_region_create_memfd(
				 0, 0x1000, VMMEM_REGION_PRIVATE, NULL, &r),
			 -EINVAL);
	assert_int_equal(vmmem_region_create_borrowed(
				 0, 0x1000, VMMEM_REGION_PRIVATE, p, &r),
			 -EINVAL);
	assert_int_equal(vmmem_region_create_borrowed(
				 0, 0x1000,
				 VMMEM_REGION_PRIVATE | VMMEM_REGION_READONLY,
				 p, &r),
			 -EINVAL);
	assert_null(r);
	/* Refused before anything was created. */
	assert_int_equal(sysmock_calls(SYSMOCK_MEMFD_CREATE), 0);
	assert_int_equal(sysmock_calls(SYSMOCK_MMAP), 0);
	port_unmap(p, 0x1000);
}

static void test_region_file_private_rejects_hugetlb(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;

	assert_int_equal(vmmem_region_create_file(0, 2 * MIB,
						  VMMEM_REGION_PRIVATE |
							  VMMEM_REGION_HUGETLB,
						  f->fd, 0, &r),
			 -EINVAL);
	assert_null(r);
}

/* ---- options ------------------------------------------------------ */

static void test_region_readonly_rejects_writes(void **state)
{
	struct vmmem_region *r = NULL;
	struct vmmem *mem = NULL;
	unsigned char buf[4] = { 1, 2, 3, 4 };
	unsigned char zero[4] = { 0 };

	(void)state;
	assert_int_equal(vmmem_region_create_anon(0x1000, 0x1000,
						  VMMEM_REGION_READONLY, &r),
			 0);
	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	assert_int_equal(vmmem_write(mem, 0x1000, buf, sizeof(buf)), -EACCES);
	assert_int_equal(vmmem_read(mem, 0x1000, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, zero, sizeof(buf));
	vmmem_destroy(mem);
	vmmem_region_destroy(r);
}

static void test_region_readonly_maps_without_write(void **state)
{
	struct vmmem_region *r = NULL;
	char perms[5];

	(void)state;
	assert_int_equal(
		vmmem_region_create_anon(0, 0x2000, VMMEM_REGION_READONLY, &r),
		0);
	maps_perms((uintptr_t)vmmem_region_hva(r), perms);
	assert_string_equal(perms, "r--p");
	vmmem_region_destroy(r);
}

static void test_region_guard_surrounds_mapping_with_no_access(void **state)
{
	struct vmmem_region *r = NULL;
	uintptr_t hva, pg = page_size();
	char perms[5];

	(void)state;
	/* 5000 bytes round up to two pages; the guard follows those. */
	assert_int_equal(
		vmmem_region_create_anon(0, 5000, VMMEM_REGION_GUARD, &r), 0);
	hva = (uintptr_t)vmmem_region_hva(r);
	maps_perms(hva - pg, perms);
	assert_string_equal(perms, "---p");
	maps_perms(hva, perms);
	assert_string_equal(perms, "rw-p");
	maps_perms(hva + pg, perms);
	assert_string_equal(perms, "rw-p");
	maps_perms(hva + 2 * pg, perms);
	assert_string_equal(perms, "---p");
	vmmem_region_destroy(r);
}

static void test_region_guard_pages_are_unmapped_on_destroy(void **state)
{
	struct vmmem_region *r = NULL;
	uintptr_t hva, pg = page_size();
	char perms[5];

	(void)state;
	assert_int_equal(
		vmmem_region_create_anon(0, 4096, VMMEM_REGION_GUARD, &r), 0);
	hva = (uintptr_t)vmmem_region_hva(r);
	vmmem_region_destroy(r);
	maps_perms(hva - pg, perms);
	assert_string_equal(perms, "");
	maps_perms(hva, perms);
	assert_string_equal(perms, "");
	maps_perms(hva + pg, perms);
	assert_string_equal(perms, "");
}

static void test_region_guard_works_for_memfd(void **state)
{
	struct vmmem_region *r = NULL;
	uintptr_t hva, pg = page_size();
	char perms[5];

	(void)state;
	assert_int_equal(vmmem_region_create_memfd(0, 4096, VMMEM_REGION_GUARD,
						   NULL, &r),
			 0);
	hva = (uintptr_t)vmmem_region_hva(r);
	maps_perms(hva - pg, perms);
	assert_string_equal(perms, "---p");
	maps_perms(hva, perms);
	assert_string_equal(perms, "rw-s");
	maps_perms(hva + pg, perms);
#ifdef _WIN32
	/* Views and reservations start on 64 KiB boundaries: the guard
	 * reservation above a view starts at the next one, and the space
	 * up to it is unmapped and can never be allocated. */
	assert_string_equal(perms, "");
	maps_perms(hva + 0x10000, perms);
#endif
	assert_string_equal(perms, "---p");
	vmmem_region_destroy(r);
}

static void test_region_dontdump_advises_dontdump(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("Windows has no per-range exclusion from dumps: DONTDUMP is -ENOTSUP");
#else
	struct vmmem_region *r = NULL;

	(void)state;
	sysmock_reset();
	assert_int_equal(
		vmmem_region_create_anon(0, 0x2000, VMMEM_REGION_DONTDUMP, &r),
		0);
	assert_true(sysmock_calls(SYSMOCK_MADVISE) >= 1);
	assert_int_equal(sysmock_last()->madvise_advice, MADV_DONTDUMP);
	assert_int_equal(vmmem_region_flags(r), VMMEM_REGION_DONTDUMP);
	vmmem_region_destroy(r);
#endif
}

static void test_region_dontdump_returns_madvise_errno(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("Windows has no per-range exclusion from dumps: DONTDUMP is -ENOTSUP");
#else
	struct vmmem_region *r = NULL;

	(void)state;
	sysmock_reset();
	sysmock_fail(SYSMOCK_MADVISE, 0, EAGAIN);
	assert_int_equal(
		vmmem_region_create_anon(0, 0x2000, VMMEM_REGION_DONTDUMP, &r),
		-EAGAIN);
	assert_true(sysmock_done());
	assert_true(sysmock_calls(SYSMOCK_MUNMAP) >= 1);
#endif
}

static void test_region_thp_advises_hugepage(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("Windows has no transparent huge pages: THP is -ENOTSUP");
#else
	struct vmmem_region *r = NULL;

	(void)state;
	if (access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) != 0)
		skip();
	sysmock_reset();
	assert_int_equal(
		vmmem_region_create_anon(0, 4 * MIB, VMMEM_REGION_THP, &r), 0);
	assert_int_equal(sysmock_last()->madvise_advice, MADV_HUGEPAGE);
	vmmem_region_destroy(r);
#endif
}

static void test_region_thp_refused_is_not_supported(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("Windows has no transparent huge pages: THP is -ENOTSUP");
#else
	struct vmmem_region *r = NULL;

	(void)state;
	sysmock_reset();
	sysmock_fail(SYSMOCK_MADVISE, 0, EINVAL);
	assert_int_equal(
		vmmem_region_create_anon(0, 4 * MIB, VMMEM_REGION_THP, &r),
		-ENOTSUP);
	assert_true(sysmock_done());
	assert_true(sysmock_calls(SYSMOCK_MUNMAP) >= 1);
#endif
}

/* The low 21 bits of a region's host address: what huge pages need. */
static uint64_t huge_offset(const struct vmmem_region *r)
{
	return (uintptr_t)vmmem_region_hva(r) & (2 * MIB - 1);
}

/*
 * Regions of 2 MiB or more are placed where their host address agrees with
 * their guest address in the low 21 bits, so that the host and KVM can map
 * them with huge pages; whatever the backend and with guard pages.
 */
static void test_region_large_regions_line_up_for_huge_pages(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("Windows reservations cannot be trimmed to line them up");
#else
	static const uint64_t gpas[] = { 0, 0x40000000, 0x300000, 0x1ff000 };
	struct vmmem_region *r = NULL;
	char perms[5];
	size_t i;
	int fd;

	(void)state;
	sysmock_reset();
	for (i = 0; i < sizeof(gpas) / sizeof(gpas[0]); i++) {
		uint64_t want = gpas[i] & (2 * MIB - 1);

		assert_int_equal(
			vmmem_region_create_anon(gpas[i], 4 * MIB, 0, &r), 0);
		assert_true(huge_offset(r) == want);
		vmmem_region_destroy(r);
		assert_int_equal(vmmem_region_create_anon(gpas[i], 4 * MIB,
							  VMMEM_REGION_GUARD,
							  &r),
				 0);
		assert_true(huge_offset(r) == want);
		/* The guard pages are still there. */
		maps_perms((uintptr_t)vmmem_region_hva(r) - 4096, perms);
		assert_string_equal(perms, "---p");
		vmmem_region_destroy(r);
		assert_int_equal(vmmem_region_create_memfd(gpas[i], 4 * MIB, 0,
							   NULL, &r),
				 0);
		assert_true(huge_offset(r) == want);
		fd = dup(vmmem_region_fd(r));
		assert_true(fd >= 0);
		vmmem_region_destroy(r);
		assert_int_equal(vmmem_region_create_file(gpas[i], 4 * MIB, 0,
							  fd, 0, &r),
				 0);
		assert_true(huge_offset(r) == want);
		vmmem_region_destroy(r);
		close(fd);
	}
	/* Small regions keep one plain mapping each. */
	sysmock_reset();
	assert_int_equal(vmmem_region_create_anon(0x1000, 0x3000, 0, &r), 0);
	assert_int_equal(sysmock_calls(SYSMOCK_MMAP), 1);
	vmmem_region_destroy(r);
#endif
}

/* So is a run of adjacent ranges that share one reservation. */
static void test_region_anon_run_lines_up_for_huge_pages(void **state)
{
	static const struct vmmem_range ranges[] = {
		{ 0x100000, 0x100000 }, { 0x200000, 4 * MIB }
	};
	struct vmmem *mem = NULL;
	struct vmmem_region *r;

	(void)state;
#ifdef _WIN32
	PORT_SKIP("Windows reservations cannot be trimmed to line them up");
#endif
	assert_int_equal(vmmem_create_anon(ranges, 2, 0, &mem), 0);
	r = vmmem_region_at(mem, 1);
	assert_true(huge_offset(r) == 0);
	assert_true(huge_offset(vmmem_region_at(mem, 0)) == 0x100000);
	assert_ptr_equal(vmmem_region_hva(r),
			 (uint8_t *)vmmem_region_hva(vmmem_region_at(mem, 0)) +
				 0x100000);
	vmmem_destroy(mem);
}

/*
 * A failing mapping after the reservation gives its error and leaves
 * nothing mapped (the reservation is given back).
 */
static void test_region_large_region_mmap_failure_unmaps_all(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("no reservation to line up on Windows");
#else
	struct vmmem_region *r = NULL;

	(void)state;
	sysmock_reset();
	/* The reservation is the first mmap, the mapping the second. */
	sysmock_fail(SYSMOCK_MMAP, 1, ENOMEM);
	assert_int_equal(vmmem_region_create_anon(0, 4 * MIB, 0, &r), -ENOMEM);
	assert_true(sysmock_done());
	assert_int_equal(sysmock_calls(SYSMOCK_MMAP), 2);
	/* Trimming the reservation's ends (one or two), then giving the
	 * rest back. */
	assert_true(sysmock_calls(SYSMOCK_MUNMAP) >= 2);
	assert_null(r);
#endif
}

/*
 * With the host's THP on (always or madvise), a THP region that the
 * guest touches is backed by huge pages, as /proc/self/smaps counts them.
 */
static void test_region_thp_region_gets_huge_pages(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("Windows has no transparent huge pages: THP is -ENOTSUP");
#else
	char line[256], mode[128] = "";
	struct vmmem_region *r = NULL;
	unsigned long long kb = 0, start, end;
	bool in = false, found = false, advised = false;
	FILE *f;

	(void)state;
	f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (f) {
		if (!fgets(mode, sizeof(mode), f))
			mode[0] = '\0';
		fclose(f);
	}
	if (!strstr(mode, "[always]") && !strstr(mode, "[madvise]"))
		PORT_SKIP("transparent huge pages are off on this host");
	sysmock_reset();
	assert_int_equal(vmmem_region_create_anon(0, 8 * MIB, VMMEM_REGION_THP,
						  &r),
			 0);
	memset(vmmem_region_hva(r), 0x5a, 8 * MIB);
	f = fopen("/proc/self/smaps", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx ", &start, &end) == 2) {
			in = start <= (uintptr_t)vmmem_region_hva(r) &&
			     (uintptr_t)vmmem_region_hva(r) < end;
			found |= in;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %llu kB", &kb) == 1)
			continue;
		/* The kernel's mark of MADV_HUGEPAGE in VmFlags. */
		if (in && !strncmp(line, "VmFlags:", 8))
			advised = strstr(line, " hg") != NULL;
	}
	fclose(f);
	if (!found || !advised) {
		vmmem_region_destroy(r);
		/* qemu-user accepts madvise() and does nothing. */
		PORT_SKIP("the kernel does not hold MADV_HUGEPAGE on the region");
	}
	/* Four huge pages fit; the kernel may not find all of them. */
	assert_true(kb >= 2048);
	vmmem_region_destroy(r);
#endif
}

static void test_region_hugetlb_rejects_length_not_2mib_multiple(void **s)
{
	struct vmmem_region *r = NULL;

	(void)s;
	assert_int_equal(
		vmmem_region_create_anon(0, 4096, VMMEM_REGION_HUGETLB, &r),
		-EINVAL);
	assert_int_equal(
		vmmem_region_create_anon(0, 3 * MIB, VMMEM_REGION_HUGETLB, &r),
		-EINVAL);
	assert_int_equal(vmmem_region_create_memfd(0, MIB, VMMEM_REGION_HUGETLB,
						   NULL, &r),
			 -EINVAL);
}

static void test_region_hugetlb_anon_follows_reserved_pages(void **state)
{
#ifdef _WIN32
	struct vmmem_region *r = NULL;
	int rc;

	(void)state;
	rc = vmmem_region_create_anon(0, 2 * MIB, VMMEM_REGION_HUGETLB, &r);
	if (rc == -ENOTSUP)
		PORT_SKIP("no large pages for this process (it lacks "
			  "SeLockMemoryPrivilege, or the system has none)");
	assert_int_equal(rc, 0);
	memset(vmmem_region_hva(r), 1, 2 * MIB);
	vmmem_region_destroy(r);
#else
	struct vmmem_region *r = NULL;
	long free_pages = hugepages_free();
	int fds = count_fds();
	int rc;

	(void)state;
	sysmock_reset();
	rc = vmmem_region_create_anon(0, 2 * MIB, VMMEM_REGION_HUGETLB, &r);
	assert_true(sysmock_last()->mmap_flags & MAP_HUGETLB);
	if (free_pages == 0) {
		assert_true(rc < 0);
		assert_int_equal(count_fds(), fds);
		if (sysmock_calls(SYSMOCK_MMAP) > 1)
			assert_true(sysmock_calls(SYSMOCK_MUNMAP) >= 1);
		return;
	}
	assert_int_equal(rc, 0);
	memset(vmmem_region_hva(r), 1, 2 * MIB);
	vmmem_region_destroy(r);
#endif
}

static void test_region_hugetlb_memfd_follows_reserved_pages(void **state)
{
#ifdef _WIN32
	struct vmmem_region *r = NULL;
	int rc;

	(void)state;
	rc = vmmem_region_create_memfd(0, 2 * MIB, VMMEM_REGION_HUGETLB,
				       NULL, &r);
	if (rc == -ENOTSUP)
		PORT_SKIP("no large pages for this process (it lacks "
			  "SeLockMemoryPrivilege, or the system has none)");
	assert_int_equal(rc, 0);
	memset(vmmem_region_hva(r), 1, 2 * MIB);
	vmmem_region_destroy(r);
#else
	struct vmmem_region *r = NULL;
	long free_pages = hugepages_free();
	int fds = count_fds();
	int rc;

	(void)state;
	sysmock_reset();
	rc = vmmem_region_create_memfd(0, 2 * MIB, VMMEM_REGION_HUGETLB, NULL,
				       &r);
	if (sysmock_calls(SYSMOCK_MEMFD_CREATE) > 0)
		assert_true(sysmock_last()->memfd_flags & MFD_HUGETLB);
	if (free_pages == 0) {
		assert_true(rc < 0);
		assert_int_equal(count_fds(), fds);
		return;
	}
	assert_int_equal(rc, 0);
	assert_true(sysmock_last()->memfd_flags & MFD_HUGETLB);
	memset(vmmem_region_hva(r), 1, 2 * MIB);
	vmmem_region_destroy(r);
#endif
}

static void test_region_dirty_log_keeps_one_bit_per_page(void **state)
{
	static const uint64_t lens[] = { 1,    4095,	 4096,
					 4097, 5 * 4096, 64 * 4096 + 1 };
	struct vmmem_region *r = NULL;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		rc = vmmem_region_create_anon(0, lens[i],
					      VMMEM_REGION_DIRTY_LOG, &r);
		assert_int_equal(rc, 0);
		assert_true(vmmem_region_dirty_pages(r) ==
			    (lens[i] + 4095) / 4096);
		vmmem_region_destroy(r);
	}
}

static void test_region_without_dirty_log_has_no_bitmap(void **state)
{
	struct vmmem_region *r = NULL;

	(void)state;
	assert_int_equal(vmmem_region_create_anon(0, 0x4000, 0, &r), 0);
	assert_true(vmmem_region_dirty_pages(r) == 0);
	vmmem_region_destroy(r);
}

/* ---- getters and references --------------------------------------- */

static void test_region_anon_getters_report_creation_arguments(void **state)
{
#ifdef _WIN32
	/* Without DONTDUMP, which Windows cannot do. */
	const unsigned flags = VMMEM_REGION_DIRTY_LOG | VMMEM_REGION_GUARD;
#else
	const unsigned flags = VMMEM_REGION_DONTDUMP | VMMEM_REGION_DIRTY_LOG |
			       VMMEM_REGION_GUARD;
#endif
	struct vmmem_region *r = NULL;

	(void)state;
	assert_int_equal(vmmem_region_create_anon(0x123456, 0x1801, flags, &r),
			 0);
	assert_true(vmmem_region_gpa(r) == 0x123456);
	assert_true(vmmem_region_len(r) == 0x1801);
	assert_true(vmmem_region_last(r) == 0x123456 + 0x1800);
	assert_non_null(vmmem_region_hva(r));
	assert_true((uintptr_t)vmmem_region_hva(r) % page_size() == 0);
	assert_true(vmmem_region_fd(r) == VMMEM_FD_NONE);
	assert_true(vmmem_region_file_offset(r) == 0);
	assert_int_equal(vmmem_region_flags(r), flags);
	assert_int_equal(vmmem_region_kind(r), VMMEM_REGION_ANON);
	assert_int_equal(vmmem_region_is_owned(r), 1);
	vmmem_region_destroy(r);
}

static void test_region_ref_keeps_region_until_last_destroy(void **state)
{
	struct vmmem_region *r = NULL;
	unsigned char *hva;

	(void)state;
	assert_int_equal(vmmem_region_create_anon(0, 0x1000, 0, &r), 0);
	assert_ptr_equal(vmmem_region_ref(r), r);
	hva = vmmem_region_hva(r);
	sysmock_reset();
	vmmem_region_destroy(r);
	assert_int_equal(sysmock_calls(SYSMOCK_MUNMAP), 0);
	hva[0] = 0x11;
	assert_int_equal(hva[0], 0x11);
	assert_true(vmmem_region_len(r) == 0x1000);
	vmmem_region_destroy(r);
	assert_true(sysmock_calls(SYSMOCK_MUNMAP) >= 1);
}

static void test_region_ref_of_null_is_null(void **state)
{
	(void)state;
	assert_null(vmmem_region_ref(NULL));
}

static void test_region_destroy_of_null_does_nothing(void **state)
{
	(void)state;
	sysmock_reset();
	vmmem_region_destroy(NULL);
	assert_int_equal(sysmock_calls(SYSMOCK_MUNMAP), 0);
}

static void test_region_set_keeps_region_after_caller_destroys(void **s)
{
	struct vmmem_region *r = NULL;
	struct vmmem *mem = NULL;
	unsigned char buf[3];

	(void)s;
	assert_int_equal(vmmem_region_create_anon(0, 0x1000, 0, &r), 0);
	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	sysmock_reset();
	vmmem_region_destroy(r);
	assert_int_equal(sysmock_calls(SYSMOCK_MUNMAP), 0);
	assert_int_equal(vmmem_write(mem, 0xffd, "abc", 3), 0);
	assert_int_equal(vmmem_read(mem, 0xffd, buf, 3), 0);
	assert_memory_equal(buf, "abc", 3);
	vmmem_destroy(mem);
	assert_true(sysmock_calls(SYSMOCK_MUNMAP) >= 1);
}

/* vmmem_region_resident() */

#ifndef _WIN32
/* vmmem_region_resident(), with PAGEMAP_SCAN refused first when no_scan
 * (as a kernel before 6.7 would: the pagemap file is read instead). */
static int resident(struct vmmem_region *r, uint64_t off, uint64_t len,
		    uint64_t *bits, bool no_scan)
{
	int rc;

	if (no_scan)
		sysmock_fail(SYSMOCK_IOCTL, 0, ENOTTY);
	rc = vmmem_region_resident(r, off, len, bits);
	assert_true(sysmock_done());
	return rc;
}

static void check_touched_pages(bool no_scan)
{
	struct vmmem_region *r;
	uint64_t bits[2] = { ~0ull, ~0ull };
	uint8_t *p;

	assert_int_equal(vmmem_region_create_anon(0, 128 * 4096, 0, &r), 0);
	assert_int_equal(resident(r, 0, 128 * 4096, bits, no_scan), 0);
	assert_true(bits[0] == 0 && bits[1] == 0);
	p = vmmem_region_hva(r);
	p[5 * 4096] = 1;
	p[100 * 4096 + 7] = 2;
	assert_int_equal(resident(r, 0, 128 * 4096, bits, no_scan), 0);
	assert_true(bits[0] == 1ull << 5);
	assert_true(bits[1] == 1ull << (100 - 64));
	/* A window of the region: bits count from its start. */
	assert_int_equal(resident(r, 4 * 4096, 2 * 4096, bits, no_scan), 0);
	assert_true(bits[0] == 2);
	vmmem_region_destroy(r);
}
#endif

static void test_region_resident_sees_only_touched_pages(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("Windows reports working-set membership, not first touch: -ENOTSUP");
#else
	(void)state;
	check_touched_pages(false);
#endif
}

/* More runs of touched pages than one PAGEMAP_SCAN call reports (every
 * other page of 4096), and a window that starts and ends inside runs. */
static void test_region_resident_sees_many_runs(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("Windows reports working-set membership, not first touch: -ENOTSUP");
#else
	struct vmmem_region *r;
	uint64_t *bits = calloc(64, sizeof(*bits));
	uint8_t *p;
	unsigned i;

	(void)state;
	assert_non_null(bits);
	assert_int_equal(vmmem_region_create_anon(0, 4096 * 4096, 0, &r), 0);
	p = vmmem_region_hva(r);
	for (i = 0; i < 4096; i += 2)
		p[(size_t)i * 4096] = 1;
	/* Pages 4093-4095 as well: a run to the very end. */
	p[4093 * 4096] = 1;
	p[4095 * 4096] = 1;
	assert_int_equal(vmmem_region_resident(r, 0, 4096 * 4096, bits), 0);
	for (i = 0; i < 63; i++)
		assert_true(bits[i] == 0x5555555555555555ull);
	assert_true(bits[63] == 0xf555555555555555ull);
	/* Pages 63 to 200: bit 0 is page 63 (clear), bit 1 page 64 (set). */
	memset(bits, 0xff, 64 * sizeof(*bits));
	assert_int_equal(vmmem_region_resident(r, 63 * 4096, 138 * 4096, bits),
			 0);
	assert_true(bits[0] == 0xaaaaaaaaaaaaaaaaull);
	assert_true(bits[1] == 0xaaaaaaaaaaaaaaaaull);
	assert_true(bits[2] == 0x2aaull);
	vmmem_region_destroy(r);
	free(bits);
#endif
}

/* A kernel without PAGEMAP_SCAN (before 6.7): the same answers from the
 * file's entries. */
static void test_region_resident_without_the_scan_ioctl(void **state)
{
#ifdef _WIN32
	(void)state;
	PORT_SKIP("Windows reports working-set membership, not first touch: -ENOTSUP");
#else
	(void)state;
	check_touched_pages(true);
#endif
}

static void test_region_resident_refuses_bad_arguments(void **state)
{
	struct vmmem_region *r;
	uint64_t bits[1];

	(void)state;
	assert_int_equal(vmmem_region_create_anon(0, 16 * 4096, 0, &r), 0);
	assert_int_equal(vmmem_region_resident(NULL, 0, 4096, bits), -EINVAL);
	assert_int_equal(vmmem_region_resident(r, 0, 4096, NULL), -EINVAL);
	assert_int_equal(vmmem_region_resident(r, 1, 4096, bits), -EINVAL);
	assert_int_equal(vmmem_region_resident(r, 0, 100, bits), -EINVAL);
	assert_int_equal(vmmem_region_resident(r, 8 * 4096, 9 * 4096, bits),
			 -EFAULT);
	vmmem_region_destroy(r);
}

static void test_region_resident_refuses_file_memory(void **state)
{
	struct vmmem_region *r;
	uint64_t bits[1];
	vmmem_fd_t fd = port_tmpfile(4 * 4096);

	(void)state;
	assert_true(fd != VMMEM_FD_NONE);
	assert_int_equal(vmmem_region_create_file(0, 4 * 4096, 0, fd, 0, &r),
			 0);
	/* An absent page of a file still holds the file's data. */
	assert_int_equal(vmmem_region_resident(r, 0, 4 * 4096, bits),
			 -ENOTSUP);
	vmmem_region_destroy(r);
	port_close(fd);
}

/* ---- lengths beyond a 32-bit host ---------------------------------- */

/*
 * Guest addresses and lengths are 64-bit everywhere; a region longer than
 * the host's size_t is an error on a 32-bit host, never a mapping of the
 * length cut to 32 bits.
 */
static void test_region_anon_rejects_len_beyond_host_size(void **state)
{
	struct vmmem_region *r = NULL;

	(void)state;
	FIXTURE_SKIP_ON_64BIT();
	sysmock_reset();
	assert_int_equal(vmmem_region_create_anon(0, FIXTURE_TOO_LONG, 0, &r),
			 -EOVERFLOW);
	assert_null(r);
	assert_int_equal(vmmem_region_create_anon(0, FIXTURE_TOO_LONG + 0x1000,
						  VMMEM_REGION_DIRTY_LOG, &r),
			 -EOVERFLOW);
	assert_null(r);
	/* So long that even its dirty bitmap would not fit. */
	assert_int_equal(vmmem_region_create_anon(0, 1ull << 52,
						  VMMEM_REGION_DIRTY_LOG, &r),
			 -EOVERFLOW);
	assert_null(r);
	assert_true(sysmock_mapped_bytes() == 0);
}

static void test_region_memfd_rejects_len_beyond_host_size(void **state)
{
	struct vmmem_region *r = NULL;
	int fds = count_fds();

	(void)state;
	FIXTURE_SKIP_ON_64BIT();
	sysmock_reset();
	assert_int_equal(
		vmmem_region_create_memfd(0, FIXTURE_TOO_LONG, 0, NULL, &r),
		-EOVERFLOW);
	assert_null(r);
	assert_int_equal(count_fds(), fds);
	assert_true(sysmock_mapped_bytes() == 0);
}

static void test_region_file_rejects_len_beyond_host_size(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	int fds = count_fds();

	FIXTURE_SKIP_ON_64BIT();
	sysmock_reset();
	assert_int_equal(
		vmmem_region_create_file(0, FIXTURE_TOO_LONG, 0, f->fd, 0, &r),
		-EOVERFLOW);
	assert_null(r);
	assert_int_equal(count_fds(), fds);
	assert_true(sysmock_mapped_bytes() == 0);
}

static void test_region_borrowed_rejects_len_beyond_host_size(void **state)
{
	struct vmmem_region *r = NULL;
	void *hva = map_pages(0x1000);

	(void)state;
	FIXTURE_SKIP_ON_64BIT();
	assert_int_equal(
		vmmem_region_create_borrowed(0, FIXTURE_TOO_LONG, 0, hva, &r),
		-EOVERFLOW);
	assert_null(r);
	port_unmap(hva, 0x1000);
}

/* A file offset past 4 GiB reaches the file there, on 32-bit hosts too
 * (whose off_t libvmmem builds 64-bit). */
static void test_region_file_maps_offset_beyond_4_gib(void **state)
{
	struct file_fixture *f = *state;
	struct vmmem_region *r = NULL;
	uint64_t foff = (5ull << 30) + FOFF(0x2000);

#ifdef _WIN32
	/* Observed under wine 8: the view fails with -EACCES there. */
	PORT_SKIP("a file view at an offset past 4 GiB is refused under wine");
#endif
	assert_int_equal(port_pwrite(f->fd, "far", 3, foff + 0x10),
			 3);
	assert_int_equal(
		vmmem_region_create_file(0, 0x1000, 0, f->fd, foff, &r), 0);
	assert_true(vmmem_region_file_offset(r) == foff);
	assert_memory_equal((char *)vmmem_region_hva(r) + 0x10, "far", 3);
	memcpy(vmmem_region_hva(r), "back", 4);
	vmmem_region_destroy(r);
	assert_int_equal(port_resize(f->fd, FILE_SIZE), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_region_anon_maps_private_anonymous_noreserve),
		cmocka_unit_test(
			test_region_anon_memory_is_zeroed_and_writable),
		cmocka_unit_test(test_region_anon_accepts_odd_length),
		cmocka_unit_test(test_region_anon_rejects_zero_length),
		cmocka_unit_test(test_region_anon_rejects_unknown_flags),
		cmocka_unit_test(
			test_region_anon_rejects_range_wrapping_past_top),
		cmocka_unit_test(
			test_region_anon_accepts_region_ending_on_last_byte),
		cmocka_unit_test(test_region_anon_returns_mmap_errno),
		cmocka_unit_test(
			test_region_large_regions_line_up_for_huge_pages),
		cmocka_unit_test(test_region_anon_run_lines_up_for_huge_pages),
		cmocka_unit_test(
			test_region_large_region_mmap_failure_unmaps_all),
		cmocka_unit_test(test_region_thp_region_gets_huge_pages),
		cmocka_unit_test(
			test_region_anon_survives_every_calloc_failure),
		cmocka_unit_test(
			test_region_anon_survives_every_malloc_failure),
		cmocka_unit_test(test_region_memfd_has_an_fd_at_offset_zero),
		cmocka_unit_test(test_region_memfd_is_sealed_against_shrinking),
		cmocka_unit_test(test_region_memfd_is_sized_to_length),
		cmocka_unit_test(test_region_memfd_is_mapped_shared),
		cmocka_unit_test(test_region_memfd_is_named_after_name),
		cmocka_unit_test(test_region_memfd_without_name_is_named_vmmem),
		cmocka_unit_test(test_region_memfd_returns_memfd_create_errno),
		cmocka_unit_test(
			test_region_memfd_closes_fd_when_ftruncate_fails),
		cmocka_unit_test(
			test_region_memfd_closes_fd_when_sealing_fails),
		cmocka_unit_test(test_region_memfd_closes_fd_when_mmap_fails),
		cmocka_unit_test(test_region_memfd_destroy_closes_its_fd),
		cmocka_unit_test(
			test_region_memfd_survives_every_calloc_failure),
		cmocka_unit_test(
			test_region_memfd_survives_every_malloc_failure),
		cmocka_unit_test_setup_teardown(
			test_region_file_writes_reach_file_at_offset,
			file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_reads_file_contents_at_offset,
			file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_reports_kind_and_offset, file_setup,
			file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_keeps_its_own_dup, file_setup,
			file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_dup_is_close_on_exec, file_setup,
			file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_destroy_closes_its_dup, file_setup,
			file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_maps_past_end_of_file, file_setup,
			file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_rejects_unaligned_offset, file_setup,
			file_teardown),
		cmocka_unit_test(test_region_file_rejects_negative_fd),
		cmocka_unit_test_setup_teardown(
			test_region_file_rejects_closed_fd, file_setup,
			file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_rejects_writable_map_of_rdonly_fd,
			file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_maps_rdonly_fd_when_readonly,
			file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_rejects_file_range_wrapping,
			file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_rejects_guest_range_wrapping,
			file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_rejects_hugetlb, file_setup,
			file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_rejects_zero_length, file_setup,
			file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_rejects_unknown_flags, file_setup,
			file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_closes_its_dup_when_mmap_fails,
			file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_survives_every_calloc_failure,
			file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_survives_every_malloc_failure,
			file_setup, file_teardown),
		cmocka_unit_test(test_region_borrowed_uses_callers_memory),
		cmocka_unit_test(test_region_borrowed_is_not_owned),
		cmocka_unit_test(
			test_region_borrowed_stays_mapped_after_destroy),
		cmocka_unit_test(test_region_owned_destroy_unmaps),
		cmocka_unit_test(test_region_borrowed_accepts_unaligned_length),
		cmocka_unit_test(
			test_region_borrowed_rejects_unaligned_pointer),
		cmocka_unit_test(test_region_borrowed_rejects_null_pointer),
		cmocka_unit_test(test_region_borrowed_rejects_zero_length),
		cmocka_unit_test(
			test_region_borrowed_rejects_options_it_cannot_apply),
		cmocka_unit_test(
			test_region_borrowed_accepts_readonly_and_dirty_log),
		cmocka_unit_test(
			test_region_borrowed_rejects_guest_range_wrapping),
		cmocka_unit_test(
			test_region_borrowed_rejects_host_range_wrapping),
		cmocka_unit_test(
			test_region_borrowed_survives_every_calloc_failure),
		cmocka_unit_test(
			test_region_borrowed_survives_every_malloc_failure),
		cmocka_unit_test_setup_teardown(
			test_region_file_private_maps_private_read_write,
			file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_private_reads_file_contents,
			file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_private_writes_leave_file_unchanged,
			file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_private_maps_rdonly_fd_writable,
			file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_private_reads_holes_as_zero,
			file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_private_dirty_log_tracks_writes,
			file_setup, file_teardown),
		cmocka_unit_test_setup_teardown(
			test_region_file_private_readonly_rejects_writes,
			file_setup, file_teardown),
		cmocka_unit_test(
			test_region_anon_accepts_private_and_maps_as_before),
		cmocka_unit_test(
			test_region_private_is_refused_for_memfd_and_borrowed),
		cmocka_unit_test_setup_teardown(
			test_region_file_private_rejects_hugetlb, file_setup,
			file_teardown),
		cmocka_unit_test(test_region_readonly_rejects_writes),
		cmocka_unit_test(test_region_readonly_maps_without_write),
		cmocka_unit_test(
			test_region_guard_surrounds_mapping_with_no_access),
		cmocka_unit_test(
			test_region_guard_pages_are_unmapped_on_destroy),
		cmocka_unit_test(test_region_guard_works_for_memfd),
		cmocka_unit_test(test_region_dontdump_advises_dontdump),
		cmocka_unit_test(test_region_dontdump_returns_madvise_errno),
		cmocka_unit_test(test_region_thp_advises_hugepage),
		cmocka_unit_test(test_region_thp_refused_is_not_supported),
		cmocka_unit_test(
			test_region_hugetlb_rejects_length_not_2mib_multiple),
		cmocka_unit_test(
			test_region_hugetlb_anon_follows_reserved_pages),
		cmocka_unit_test(
			test_region_hugetlb_memfd_follows_reserved_pages),
		cmocka_unit_test(test_region_dirty_log_keeps_one_bit_per_page),
		cmocka_unit_test(test_region_without_dirty_log_has_no_bitmap),
		cmocka_unit_test(
			test_region_anon_getters_report_creation_arguments),
		cmocka_unit_test(
			test_region_ref_keeps_region_until_last_destroy),
		cmocka_unit_test(test_region_ref_of_null_is_null),
		cmocka_unit_test(test_region_destroy_of_null_does_nothing),
		cmocka_unit_test(
			test_region_set_keeps_region_after_caller_destroys),
		cmocka_unit_test(test_region_resident_sees_only_touched_pages),
		cmocka_unit_test(test_region_resident_sees_many_runs),
		cmocka_unit_test(test_region_resident_without_the_scan_ioctl),
		cmocka_unit_test(test_region_resident_refuses_bad_arguments),
		cmocka_unit_test(test_region_resident_refuses_file_memory),
		cmocka_unit_test(test_region_anon_rejects_len_beyond_host_size),
		cmocka_unit_test(
			test_region_memfd_rejects_len_beyond_host_size),
		cmocka_unit_test_setup_teardown(
			test_region_file_rejects_len_beyond_host_size,
			file_setup, file_teardown),
		cmocka_unit_test(
			test_region_borrowed_rejects_len_beyond_host_size),
		cmocka_unit_test_setup_teardown(
			test_region_file_maps_offset_beyond_4_gib, file_setup,
			file_teardown),
};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
