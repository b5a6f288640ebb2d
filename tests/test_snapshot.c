/* SPDX-License-Identifier: MIT */
/*
 * Tests for minivmm's snapshot files: the state file (snapshot.h), the
 * guest memory file (memfile.h) and the way both reach their names
 * (outfile.h).
 *
 * Every test gets a fresh directory under /tmp, removed with everything in
 * it by the teardown, and a guest memory of two dirty-tracked regions with
 * a gap between them:
 *   R0 [0x0000000, 0x0100000)   file offset 0
 *   R1 [0x1000000, 0x1200000)   file offset 0x100000
 * so a memory file is 3 MiB.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <vmmem/dirty.h>
#include <vmmem/memory.h>
#include <vmmem/region.h>

#include "../minivmm/memfile.h"
#include "../minivmm/snapshot.h"
#include "../minivmm/state.h"
#include "sysmock.h"

#define PAGE 4096u
#define R0_GPA 0x0ull
#define R0_LEN 0x100000ull
#define R1_GPA 0x1000000ull
#define R1_LEN 0x200000ull
#define MEM_SIZE (R0_LEN + R1_LEN)
#define R1_FOFF R0_LEN

#define NPATHS 4

struct fixture {
	char dir[64];
	char paths[NPATHS][128];
	struct vmmem *mem;
	struct snap_writer w;
	struct snap_file file;
	char err[512];
};

/* --- helpers -------------------------------------------------------- */

/* dir/name in the fixture's path slot i. */
static const char *path_of(struct fixture *f, int i, const char *name)
{
	char path[sizeof(f->paths[i])];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	memcpy(f->paths[i], path, sizeof(path));
	return f->paths[i];
}

static int remove_one(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Entries in a directory, . and .. aside. */
static int count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* The whole file at path, in a buffer to free(); its size in *size. */
static uint8_t *slurp(const char *path, size_t *size)
{
	struct stat st;
	uint8_t *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*size = (size_t)st.st_size;
	return buf;
}

static void spill(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/*
 * A state file built by hand: the header with the given fields, the
 * payload, and a correct checksum.
 */
static void craft(const char *path, uint32_t version, uint32_t flags,
		  const void *payload, size_t plen)
{
	struct state_buf b;

	state_buf_init(&b);
	state_put(&b, "MVMSNAP", 8);
	state_put_u32(&b, version);
	state_put_u32(&b, flags);
	state_put_u64(&b, plen);
	state_put(&b, payload, plen);
	state_put_u32(&b, (uint32_t)crc32(0, b.data, (uInt)b.len));
	assert_int_equal(b.err, 0);
	spill(path, b.data, b.len);
	state_buf_fini(&b);
}

/* One section header in a hand-built payload. */
static void put_section(struct state_buf *b, uint32_t type, uint32_t id,
			uint64_t len)
{
	state_put_u32(b, type);
	state_put_u32(b, id);
	state_put_u64(b, len);
}

/* err names path first, says what, and is one line. */
static void assert_message(const char *err, const char *path,
			   const char *what)
{
	if (strncmp(err, path, strlen(path)) || !strstr(err, what) ||
	    strchr(err, '\n'))
		fail_msg("message \"%s\" should start with \"%s\" and say "
			 "\"%s\"",
			 err, path, what);
}

/* A valid state file with one section at path; returns its size. */
static size_t write_small(struct fixture *f, const char *path)
{
	struct stat st;

	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VM, 0, "vmstate", 7),
			 0);
	assert_int_equal(snap_writer_commit(&f->w, path, f->err,
					    sizeof(f->err)),
			 0);
	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* A page of a recognisable non-zero pattern. */
static void write_page(struct vmmem *mem, vmmem_gpa_t gpa, unsigned seed)
{
	uint8_t page[PAGE];
	unsigned i;

	for (i = 0; i < PAGE; i++)
		page[i] = (uint8_t)(i * 13 + seed * 7 + 1) | 1;
	assert_int_equal(vmmem_write(mem, gpa, page, PAGE), 0);
}

/* Guest memory laid out as a memory file is: R0 then R1. */
static uint8_t *memory_image(struct vmmem *mem)
{
	uint8_t *img = malloc(MEM_SIZE);

	assert_non_null(img);
	assert_int_equal(vmmem_read(mem, R0_GPA, img, R0_LEN), 0);
	assert_int_equal(vmmem_read(mem, R1_GPA, img + R1_FOFF, R1_LEN), 0);
	return img;
}

/* The file's data extents are exactly the n [start, end) pairs. */
static void assert_extents(const char *path, const off_t (*ext)[2], int n)
{
	off_t pos = 0, data, hole;
	int fd = open(path, O_RDONLY), i = 0;

	assert_true(fd >= 0);
	for (;;) {
		data = lseek(fd, pos, SEEK_DATA);
		if (data < 0) {
			assert_int_equal(errno, ENXIO);
			break;
		}
		hole = lseek(fd, data, SEEK_HOLE);
		assert_true(i < n);
		if (data != ext[i][0] || hole != ext[i][1])
			fail_msg("extent %d is [0x%llx, 0x%llx), expected "
				 "[0x%llx, 0x%llx)",
				 i, (long long)data, (long long)hole,
				 (long long)ext[i][0], (long long)ext[i][1]);
		i++;
		pos = hole;
	}
	close(fd);
	assert_int_equal(i, n);
}

static void assert_files_equal(const char *a, const char *b)
{
	size_t alen, blen;
	uint8_t *x = slurp(a, &alen), *y = slurp(b, &blen);

	assert_int_equal(alen, blen);
	assert_memory_equal(x, y, alen);
	free(x);
	free(y);
}

/* --- fixture -------------------------------------------------------- */

static int setup(void **state)
{
	static const struct vmmem_range ranges[] = {
		{ R0_GPA, R0_LEN },
		{ R1_GPA, R1_LEN },
	};
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_snapshot.XXXXXX");
	if (!mkdtemp(f->dir))
		goto err_free;
	if (vmmem_create_anon(ranges, 2, VMMEM_REGION_DIRTY_LOG, &f->mem))
		goto err_rmdir;
	snap_writer_init(&f->w);
	sysmock_reset();
	*state = f;
	return 0;

err_rmdir:
	rmdir(f->dir);
err_free:
	free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sysmock_reset();
	snap_file_fini(&f->file);
	snap_writer_fini(&f->w);
	vmmem_destroy(f->mem);
	nftw(f->dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* --- state file: writing and reading back ---------------------------- */

static void test_snapshot_round_trips_sections(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	const struct snap_section *s;
	uint8_t big[10000];
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 31);
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_MACHINE, 0, "shape",
					 5),
			 0);
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VM, 0, big,
					 sizeof(big)),
			 0);
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VCPU, 1, "cpu1", 4),
			 0);
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_DEVICE, 7, NULL, 0),
			 0);
	assert_int_equal(
		snap_writer_commit(&f->w, path, f->err, sizeof(f->err)), 0);

	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->file.count, 4);
	assert_int_equal(f->file.sections[0].type, SNAP_SEC_MACHINE);
	assert_int_equal(f->file.sections[3].type, SNAP_SEC_DEVICE);
	s = snap_find(&f->file, SNAP_SEC_VM, 0);
	assert_non_null(s);
	assert_int_equal(s->len, sizeof(big));
	assert_memory_equal(s->data, big, sizeof(big));
	s = snap_find(&f->file, SNAP_SEC_VCPU, 1);
	assert_non_null(s);
	assert_int_equal(s->len, 4);
	assert_memory_equal(s->data, "cpu1", 4);
	s = snap_find(&f->file, SNAP_SEC_DEVICE, 7);
	assert_non_null(s);
	assert_int_equal(s->len, 0);
}

static void test_snapshot_round_trips_file_without_sections(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	struct stat st;

	assert_int_equal(
		snap_writer_commit(&f->w, path, f->err, sizeof(f->err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 24 + 4);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->file.count, 0);
}

static void test_snapshot_file_layout_is_little_endian(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	uint8_t expect[] = {
		'M', 'V', 'M', 'S', 'N', 'A', 'P', 0,	/* magic */
		1, 0, 0, 0,				/* version */
		0, 0, 0, 0,				/* flags */
		19, 0, 0, 0, 0, 0, 0, 0,		/* payload */
		3, 0, 0, 0,				/* type */
		0x04, 0x03, 0x02, 0x01,			/* id */
		3, 0, 0, 0, 0, 0, 0, 0,			/* len */
		'a', 'b', 'c',
	};
	uint32_t crc = htole32((uint32_t)crc32(0, expect, sizeof(expect)));
	uint8_t *buf;
	size_t len;

	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VCPU, 0x01020304,
					 "abc", 3),
			 0);
	assert_int_equal(
		snap_writer_commit(&f->w, path, f->err, sizeof(f->err)), 0);
	buf = slurp(path, &len);
	assert_int_equal(len, sizeof(expect) + 4);
	assert_memory_equal(buf, expect, sizeof(expect));
	assert_memory_equal(buf + sizeof(expect), &crc, 4);
	free(buf);
}

static void test_snapshot_next_iterates_sections_of_one_type(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	const struct snap_section *s;
	uint32_t ids[4];
	int n = 0;

	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VCPU, 2, "c", 1), 0);
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_DEVICE, 0, "d", 1),
			 0);
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VCPU, 0, "a", 1), 0);
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VCPU, 1, "b", 1), 0);
	assert_int_equal(
		snap_writer_commit(&f->w, path, f->err, sizeof(f->err)), 0);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)), 0);

	for (s = snap_next(&f->file, SNAP_SEC_VCPU, NULL); s;
	     s = snap_next(&f->file, SNAP_SEC_VCPU, s)) {
		assert_true(n < 4);
		ids[n++] = s->id;
	}
	assert_int_equal(n, 3);
	assert_int_equal(ids[0], 2);
	assert_int_equal(ids[1], 0);
	assert_int_equal(ids[2], 1);
}

static void test_snapshot_find_returns_null_for_missing_section(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");

	write_small(f, path);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)), 0);
	assert_null(snap_find(&f->file, SNAP_SEC_VM, 1));
	assert_null(snap_find(&f->file, SNAP_SEC_VCPU, 0));
	assert_null(snap_next(&f->file, SNAP_SEC_DEVICE, NULL));
}

static void test_snapshot_commit_replaces_existing_file(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");

	spill(path, "old contents", 12);
	write_small(f, path);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)), 0);
	assert_non_null(snap_find(&f->file, SNAP_SEC_VM, 0));
	assert_int_equal(count_entries(f->dir), 1);
}

/* --- state file: the writer's refusals ------------------------------- */

static void test_snapshot_writer_rejects_duplicate_section(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VCPU, 3, "x", 1), 0);
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VCPU, 3, "y", 1),
			 -EEXIST);
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_DEVICE, 3, "y", 1),
			 0);
	assert_int_equal(f->w.count, 2);
}

static void test_snapshot_writer_rejects_too_many_sections(void **state)
{
	struct fixture *f = *state;
	uint32_t i;

	for (i = 0; i < SNAP_MAX_SECTIONS; i++)
		assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_DEVICE, i,
						 NULL, 0),
				 0);
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_DEVICE, i, NULL, 0),
			 -E2BIG);
	assert_int_equal(f->w.count, SNAP_MAX_SECTIONS);
}

static void test_snapshot_writer_rejects_state_over_size_cap(void **state)
{
	struct fixture *f = *state;
	/* Room for the header, one section header and the trailer. */
	size_t most = SNAP_MAX_SIZE - 24 - 16 - 4;
	uint8_t *big = calloc(1, most + 1);

	assert_non_null(big);
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VM, 0, big, most + 1),
			 -EFBIG);
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VM, 0, big, most), 0);
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VM, 1, NULL, 0),
			 -EFBIG);
	free(big);
}

static void test_snapshot_writer_rejects_null_data(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VM, 0, NULL, 1),
			 -EINVAL);
	assert_int_equal(f->w.count, 0);
}

static void test_snapshot_writer_stays_failed_after_enomem(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");

	sysmock_fail(SYSMOCK_REALLOC, 0, ENOMEM);
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VM, 0, "x", 1),
			 -ENOMEM);
	assert_true(sysmock_done());
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VM, 1, "x", 1),
			 -ENOMEM);
	assert_int_equal(snap_writer_commit(&f->w, path, f->err,
					    sizeof(f->err)),
			 -ENOMEM);
	assert_message(f->err, path, "out of memory");
	assert_int_equal(count_entries(f->dir), 0);
}

/* --- state file: commit discipline ----------------------------------- */

static void test_snapshot_state_file_is_private(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	mode_t old = umask(0);
	struct stat st;

	write_small(f, path);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_snapshot_state_file_is_0600_under_strict_umask(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	mode_t old = umask(0277);
	struct stat st;

	write_small(f, path);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_snapshot_commit_into_missing_directory_leaves_nothing(
	void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "nodir/vm.snap");

	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VM, 0, "x", 1), 0);
	assert_int_equal(snap_writer_commit(&f->w, path, f->err,
					    sizeof(f->err)),
			 -ENOENT);
	assert_message(f->err, path, "No such file or directory");
	assert_int_equal(count_entries(f->dir), 0);
}

static void test_snapshot_commit_onto_directory_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	struct stat st;

	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_VM, 0, "x", 1), 0);
	assert_int_equal(snap_writer_commit(&f->w, path, f->err,
					    sizeof(f->err)),
			 -EISDIR);
	assert_message(f->err, path, "Is a directory");
	/* No temporary file next to it, and the directory as it was. */
	assert_int_equal(count_entries(f->dir), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(count_entries(path), 0);
}

static void test_snapshot_failed_write_keeps_old_file(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	static uint8_t big[65536];
	struct snap_writer w2;
	struct rlimit old, small;
	void (*old_handler)(int);
	uint8_t *before, *after;
	size_t blen, alen;
	int rc;

	write_small(f, path);
	before = slurp(path, &blen);

	/* A file size limit makes write(2) fail with EFBIG part way. */
	snap_writer_init(&w2);
	assert_int_equal(snap_writer_add(&w2, SNAP_SEC_VM, 0, big,
					 sizeof(big)),
			 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 4096;
	old_handler = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	rc = snap_writer_commit(&w2, path, f->err, sizeof(f->err));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
	snap_writer_fini(&w2);

	assert_int_equal(rc, -EFBIG);
	assert_message(f->err, path, "cannot write");
	after = slurp(path, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	assert_int_equal(count_entries(f->dir), 1);
	free(before);
	free(after);
}

/* --- state file: the reader's refusals -------------------------------- */

static void test_snapshot_read_reports_missing_file(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "missing.snap");

	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -ENOENT);
	assert_message(f->err, path, "No such file or directory");
	assert_int_equal(f->file.count, 0);
}

static void test_snapshot_read_rejects_directory(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(snap_read(f->dir, &f->file, f->err, sizeof(f->err)),
			 -EINVAL);
	assert_message(f->err, f->dir, "not a regular file");
}

static void test_snapshot_read_rejects_file_over_size_cap(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "huge.snap");
	int fd = open(path, O_WRONLY | O_CREAT, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SNAP_MAX_SIZE + 1), 0);
	close(fd);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -EFBIG);
	assert_message(f->err, path, "64 MiB");
}

static void test_snapshot_read_rejects_wrong_magic(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	static const char text[] = "#!/bin/sh\necho this is no snapshot\n";

	spill(path, text, sizeof(text) - 1);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -ENOEXEC);
	assert_message(f->err, path, "not a minivmm snapshot");
}

static void test_snapshot_read_rejects_short_non_snapshot(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");

	spill(path, "MVX", 3);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -ENOEXEC);
	assert_message(f->err, path, "not a minivmm snapshot");
}

static void test_snapshot_read_rejects_empty_file(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");

	spill(path, "", 0);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -ENODATA);
	assert_message(f->err, path, "truncated");
}

static void test_snapshot_read_rejects_file_shorter_than_header(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");

	write_small(f, path);
	assert_int_equal(truncate(path, 20), 0);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -ENODATA);
	assert_message(f->err, path, "truncated");
}

static void test_snapshot_read_rejects_truncated_sections(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	size_t size = write_small(f, path);

	assert_int_equal(truncate(path, (off_t)size - 6), 0);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -ENODATA);
	assert_message(f->err, path, "truncated");
}

static void test_snapshot_read_rejects_missing_checksum(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	size_t size = write_small(f, path);

	assert_int_equal(truncate(path, (off_t)size - 4), 0);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -ENODATA);
	assert_message(f->err, path, "truncated");
}

static void test_snapshot_read_rejects_huge_payload_length(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	size_t size = write_small(f, path);
	uint8_t *buf = slurp(path, &size);

	/* The payload length field says 2^64 - 1. */
	memset(buf + 16, 0xff, 8);
	spill(path, buf, size);
	free(buf);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -ENODATA);
	assert_message(f->err, path, "truncated");
}

static void test_snapshot_read_rejects_unsupported_version(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");

	craft(path, 2, 0, NULL, 0);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -EPROTO);
	assert_message(f->err, path,
		       "snapshot format version 2, this minivmm reads 1");
}

static void test_snapshot_read_checks_version_before_header_length(
	void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");

	/* A later format's header need not be the same size. */
	spill(path, "MVMSNAP\0\3\0\0\0", 12);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -EPROTO);
	assert_message(f->err, path,
		       "snapshot format version 3, this minivmm reads 1");
}

static void test_snapshot_read_rejects_unknown_flags(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");

	craft(path, 1, 0x4, NULL, 0);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -EPROTO);
	assert_message(f->err, path, "flags 0x4");
}

static void test_snapshot_read_rejects_checksum_mismatch(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	size_t size;
	uint8_t *buf;

	write_small(f, path);
	buf = slurp(path, &size);
	buf[24 + 16 + 2] ^= 0x20;	/* a byte of the section's data */
	spill(path, buf, size);
	free(buf);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -EBADMSG);
	assert_message(f->err, path, "corrupt (checksum mismatch)");
}

static void test_snapshot_read_rejects_trailing_data(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	int fd;

	write_small(f, path);
	fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "junk", 4), 4);
	close(fd);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -EMSGSIZE);
	assert_message(f->err, path, "4 bytes of unexpected data");
}

static void test_snapshot_read_rejects_section_overrunning_payload(
	void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	struct state_buf b;

	state_buf_init(&b);
	put_section(&b, SNAP_SEC_VM, 0, 9);
	state_put(&b, "12345678", 8);
	craft(path, 1, 0, b.data, b.len);
	state_buf_fini(&b);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -EOVERFLOW);
	assert_message(f->err, path, "run past the end");
}

static void test_snapshot_read_rejects_huge_section_length(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	struct state_buf b;

	state_buf_init(&b);
	put_section(&b, SNAP_SEC_VM, 0, UINT64_MAX);
	craft(path, 1, 0, b.data, b.len);
	state_buf_fini(&b);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -EOVERFLOW);
	assert_message(f->err, path, "run past the end");
}

static void test_snapshot_read_rejects_partial_section_header(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	struct state_buf b;

	state_buf_init(&b);
	put_section(&b, SNAP_SEC_VM, 0, 2);
	state_put(&b, "ok", 2);
	state_put(&b, "0123456789", 10);	/* not a whole header */
	craft(path, 1, 0, b.data, b.len);
	state_buf_fini(&b);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -EOVERFLOW);
	assert_message(f->err, path, "header runs past the end");
}

static void test_snapshot_read_rejects_too_many_sections(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	struct state_buf b;
	uint32_t i;

	state_buf_init(&b);
	for (i = 0; i <= SNAP_MAX_SECTIONS; i++)
		put_section(&b, SNAP_SEC_DEVICE, i, 0);
	craft(path, 1, 0, b.data, b.len);
	state_buf_fini(&b);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -E2BIG);
	assert_message(f->err, path, "more than 4096 sections");
}

static void test_snapshot_read_accepts_most_sections(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	uint32_t i;

	for (i = 0; i < SNAP_MAX_SECTIONS; i++)
		assert_int_equal(snap_writer_add(&f->w, SNAP_SEC_DEVICE,
						 SNAP_MAX_SECTIONS - i, &i,
						 sizeof(i)),
				 0);
	assert_int_equal(
		snap_writer_commit(&f->w, path, f->err, sizeof(f->err)), 0);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)), 0);
	assert_int_equal(f->file.count, SNAP_MAX_SECTIONS);
}

static void test_snapshot_read_rejects_duplicate_sections(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "vm.snap");
	struct state_buf b;

	state_buf_init(&b);
	put_section(&b, SNAP_SEC_VCPU, 1, 1);
	state_put(&b, "a", 1);
	put_section(&b, SNAP_SEC_VCPU, 0, 1);
	state_put(&b, "b", 1);
	put_section(&b, SNAP_SEC_VCPU, 1, 1);
	state_put(&b, "c", 1);
	craft(path, 1, 0, b.data, b.len);
	state_buf_fini(&b);
	assert_int_equal(snap_read(path, &f->file, f->err, sizeof(f->err)),
			 -EEXIST);
	assert_message(f->err, path, "type 3 id 1");
}

/* --- memory file ------------------------------------------------------ */

/* Pages with data in the fixture's memory, as file offsets. */
static const off_t touched[][2] = {
	{ 0x0, 0x2000 },			/* R0: two pages */
	{ 0x8000, 0x9000 },			/* R0: only its last byte */
	{ R0_LEN - PAGE, R1_FOFF + PAGE },	/* R0's last, R1's first */
	{ MEM_SIZE - PAGE, MEM_SIZE },		/* R1: last page */
};

static void touch_pages(struct vmmem *mem)
{
	write_page(mem, 0x0, 1);
	write_page(mem, 0x1000, 2);
	assert_int_equal(vmmem_fill(mem, 0x8fff, 0x55, 1), 0);
	write_page(mem, R0_LEN - PAGE, 3);
	write_page(mem, R1_GPA, 4);
	write_page(mem, R1_GPA + R1_LEN - PAGE, 5);
}

static void test_snapshot_memfile_size_is_total_ram(void **state)
{
	struct fixture *f = *state;
	uint64_t size = 0;

	assert_int_equal(memfile_size(f->mem, &size), 0);
	assert_int_equal(size, MEM_SIZE);
}

static void test_snapshot_memfile_full_reads_back_identical(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "mem");
	uint8_t *img, *file;
	size_t len;

	touch_pages(f->mem);
	assert_int_equal(memfile_write(f->mem, MEMFILE_FULL, path, f->err,
				       sizeof(f->err)),
			 0);
	img = memory_image(f->mem);
	file = slurp(path, &len);
	assert_int_equal(len, MEM_SIZE);
	assert_memory_equal(file, img, MEM_SIZE);
	free(img);
	free(file);
}

static void test_snapshot_memfile_full_uses_disk_for_touched_pages_only(
	void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "mem");
	const uint64_t used = 6 * PAGE, slack = 64 * 1024;
	struct stat st;

	touch_pages(f->mem);
	assert_int_equal(memfile_write(f->mem, MEMFILE_FULL, path, f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, MEM_SIZE);
	assert_true((uint64_t)st.st_blocks * 512 <= used + slack);
}

static void test_snapshot_memfile_full_leaves_zero_pages_as_holes(
	void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "mem");

	touch_pages(f->mem);
	assert_int_equal(memfile_write(f->mem, MEMFILE_FULL, path, f->err,
				       sizeof(f->err)),
			 0);
	assert_extents(path, touched, 4);
}

static void test_snapshot_memfile_full_resets_dirty_bitmaps(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "mem");

	touch_pages(f->mem);
	assert_int_equal(vmmem_dirty_test(f->mem, R1_GPA, R1_LEN), 1);
	assert_int_equal(memfile_write(f->mem, MEMFILE_FULL, path, f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(vmmem_dirty_test(f->mem, R0_GPA, R0_LEN), 0);
	assert_int_equal(vmmem_dirty_test(f->mem, R1_GPA, R1_LEN), 0);
}

static void test_snapshot_memfile_full_of_untracked_memory(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "mem");
	struct vmmem_range r = { 0x0, 0x4000 };
	struct vmmem *mem;
	uint8_t *file;
	size_t len;

	assert_int_equal(vmmem_create_anon(&r, 1, 0, &mem), 0);
	write_page(mem, 0x2000, 9);
	assert_int_equal(memfile_write(mem, MEMFILE_FULL, path, f->err,
				       sizeof(f->err)),
			 0);
	file = slurp(path, &len);
	assert_int_equal(len, 0x4000);
	assert_int_equal(file[0x2000], (uint8_t)(9 * 7 + 1) | 1);
	assert_int_equal(file[0x1fff], 0);
	free(file);
	vmmem_destroy(mem);
}

static void test_snapshot_memfile_is_private(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "mem");
	mode_t old = umask(0);
	struct stat st;
	int rc;

	rc = memfile_write(f->mem, MEMFILE_FULL, path, f->err, sizeof(f->err));
	umask(old);
	assert_int_equal(rc, 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_snapshot_memfile_diff_writes_only_dirty_pages(void **state)
{
	struct fixture *f = *state;
	const char *base = path_of(f, 0, "base"), *diff = path_of(f, 1, "diff");
	static const off_t dirty[][2] = {
		{ 0x5000, 0x6000 },
		{ R1_FOFF + 0x10000, R1_FOFF + 0x12000 },
	};
	uint8_t *img, *file;
	size_t len;

	touch_pages(f->mem);
	assert_int_equal(memfile_write(f->mem, MEMFILE_FULL, base, f->err,
				       sizeof(f->err)),
			 0);
	write_page(f->mem, 0x5000, 6);
	write_page(f->mem, R1_GPA + 0x10000, 7);
	write_page(f->mem, R1_GPA + 0x11000, 8);
	assert_int_equal(memfile_write(f->mem, MEMFILE_DIFF, diff, f->err,
				       sizeof(f->err)),
			 0);

	assert_extents(diff, dirty, 2);
	img = memory_image(f->mem);
	file = slurp(diff, &len);
	assert_int_equal(len, MEM_SIZE);
	assert_memory_equal(file + 0x5000, img + 0x5000, PAGE);
	assert_memory_equal(file + R1_FOFF + 0x10000, img + R1_FOFF + 0x10000,
			    2 * PAGE);
	free(img);
	free(file);
}

static void test_snapshot_memfile_diff_writes_zeroed_dirty_page_as_data(
	void **state)
{
	struct fixture *f = *state;
	const char *base = path_of(f, 0, "base"), *diff = path_of(f, 1, "diff");
	static const off_t dirty[][2] = { { R1_FOFF, R1_FOFF + PAGE } };
	uint8_t page[PAGE], zero[PAGE] = { 0 };
	int fd;

	touch_pages(f->mem);
	assert_int_equal(memfile_write(f->mem, MEMFILE_FULL, base, f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(vmmem_fill(f->mem, R1_GPA, 0, PAGE), 0);
	assert_int_equal(memfile_write(f->mem, MEMFILE_DIFF, diff, f->err,
				       sizeof(f->err)),
			 0);

	assert_extents(diff, dirty, 1);
	fd = open(diff, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, 0, SEEK_DATA), R1_FOFF);
	assert_int_equal(pread(fd, page, PAGE, R1_FOFF), PAGE);
	assert_memory_equal(page, zero, PAGE);
	close(fd);
}

static void test_snapshot_memfile_diff_of_clean_memory_is_all_hole(
	void **state)
{
	struct fixture *f = *state;
	const char *base = path_of(f, 0, "base"), *diff = path_of(f, 1, "diff");
	struct stat st;

	touch_pages(f->mem);
	assert_int_equal(memfile_write(f->mem, MEMFILE_FULL, base, f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(memfile_write(f->mem, MEMFILE_DIFF, diff, f->err,
				       sizeof(f->err)),
			 0);
	assert_extents(diff, NULL, 0);
	assert_int_equal(stat(diff, &st), 0);
	assert_int_equal(st.st_size, MEM_SIZE);
}

static void test_snapshot_memfile_diff_needs_dirty_tracking(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "diff");
	struct vmmem_region *r[2];
	struct vmmem *mem;

	assert_int_equal(vmmem_region_create_anon(0x0, 0x4000,
						  VMMEM_REGION_DIRTY_LOG,
						  &r[0]),
			 0);
	assert_int_equal(vmmem_region_create_anon(0x10000, 0x4000, 0, &r[1]),
			 0);
	assert_int_equal(vmmem_create(r, 2, &mem), 0);
	vmmem_region_destroy(r[0]);
	vmmem_region_destroy(r[1]);
	write_page(mem, 0x1000, 1);

	assert_int_equal(memfile_write(mem, MEMFILE_DIFF, path, f->err,
				       sizeof(f->err)),
			 -ENOTSUP);
	assert_message(f->err, path, "diff snapshots need dirty page tracking");
	assert_int_equal(count_entries(f->dir), 0);
	/* Nothing was harvested either. */
	assert_int_equal(vmmem_dirty_test(mem, 0x1000, PAGE), 1);
	vmmem_destroy(mem);
}

static void test_snapshot_memfile_rejects_partial_pages(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "mem");
	struct vmmem_range r = { 0x0, 0x1800 };
	struct vmmem *mem;

	assert_int_equal(vmmem_create_anon(&r, 1, 0, &mem), 0);
	assert_int_equal(memfile_write(mem, MEMFILE_FULL, path, f->err,
				       sizeof(f->err)),
			 -EINVAL);
	assert_message(f->err, path, "not a whole number of 4096-byte pages");
	assert_int_equal(count_entries(f->dir), 0);
	vmmem_destroy(mem);
}

static void test_snapshot_memfile_failed_write_leaves_old_file(void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "mem");
	uint8_t *buf;
	size_t len;

	spill(path, "old", 3);
	touch_pages(f->mem);
	/* The second run of pages hits a full disk. */
	sysmock_fail(SYSMOCK_PWRITEV, 1, ENOSPC);
	assert_int_equal(memfile_write(f->mem, MEMFILE_FULL, path, f->err,
				       sizeof(f->err)),
			 -ENOSPC);
	assert_true(sysmock_done());
	assert_message(f->err, path, "No space left on device");
	assert_int_equal(count_entries(f->dir), 1);
	buf = slurp(path, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "old", 3);
	free(buf);
}

static void test_snapshot_memfile_failed_write_keeps_dirty_pages(
	void **state)
{
	struct fixture *f = *state;
	const char *path = path_of(f, 0, "mem");

	touch_pages(f->mem);
	sysmock_fail(SYSMOCK_PWRITEV, 2, EIO);
	assert_int_equal(memfile_write(f->mem, MEMFILE_DIFF, path, f->err,
				       sizeof(f->err)),
			 -EIO);
	assert_true(sysmock_done());
	assert_int_equal(vmmem_dirty_test(f->mem, 0x0, PAGE), 1);
	assert_int_equal(vmmem_dirty_test(f->mem, 0x8000, PAGE), 1);
	assert_int_equal(vmmem_dirty_test(f->mem, R1_GPA + R1_LEN - PAGE,
					  PAGE),
			 1);
	assert_int_equal(vmmem_dirty_test(f->mem, 0x2000, PAGE), 0);
}

static void test_snapshot_memfile_merge_of_two_diffs_equals_full(
	void **state)
{
	struct fixture *f = *state;
	const char *base = path_of(f, 0, "base"), *d1 = path_of(f, 1, "d1"),
		   *d2 = path_of(f, 2, "d2"), *full = path_of(f, 3, "full");
	uint8_t *img, *file;
	size_t len;

	touch_pages(f->mem);
	assert_int_equal(memfile_write(f->mem, MEMFILE_FULL, base, f->err,
				       sizeof(f->err)),
			 0);
	/* First diff: new data in both regions, a page overwritten. */
	write_page(f->mem, 0x3000, 10);
	write_page(f->mem, 0x1000, 11);
	write_page(f->mem, R1_GPA + 0x80000, 12);
	assert_int_equal(memfile_write(f->mem, MEMFILE_DIFF, d1, f->err,
				       sizeof(f->err)),
			 0);
	/* Second: pages of the base and of the first diff zeroed. */
	assert_int_equal(vmmem_fill(f->mem, 0x0, 0, 2 * PAGE), 0);
	assert_int_equal(vmmem_fill(f->mem, R1_GPA + 0x80000, 0, PAGE), 0);
	write_page(f->mem, R1_GPA + R1_LEN - PAGE, 13);
	assert_int_equal(memfile_write(f->mem, MEMFILE_DIFF, d2, f->err,
				       sizeof(f->err)),
			 0);

	assert_int_equal(memfile_merge(base, d1, f->err, sizeof(f->err)), 0);
	assert_int_equal(memfile_merge(base, d2, f->err, sizeof(f->err)), 0);
	assert_int_equal(memfile_write(f->mem, MEMFILE_FULL, full, f->err,
				       sizeof(f->err)),
			 0);
	assert_files_equal(base, full);
	img = memory_image(f->mem);
	file = slurp(base, &len);
	assert_int_equal(len, MEM_SIZE);
	assert_memory_equal(file, img, MEM_SIZE);
	free(img);
	free(file);
}

static void test_snapshot_memfile_merge_rejects_different_sizes(void **state)
{
	struct fixture *f = *state;
	const char *base = path_of(f, 0, "base"), *diff = path_of(f, 1, "diff");
	struct vmmem_range r = { 0x0, 0x4000 };
	struct vmmem *small;
	uint8_t *before, *after;
	size_t blen, alen;

	touch_pages(f->mem);
	assert_int_equal(memfile_write(f->mem, MEMFILE_FULL, base, f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(vmmem_create_anon(&r, 1, VMMEM_REGION_DIRTY_LOG,
					   &small),
			 0);
	write_page(small, 0x0, 3);
	assert_int_equal(memfile_write(small, MEMFILE_DIFF, diff, f->err,
				       sizeof(f->err)),
			 0);
	vmmem_destroy(small);

	before = slurp(base, &blen);
	assert_int_equal(memfile_merge(base, diff, f->err, sizeof(f->err)),
			 -EINVAL);
	assert_message(f->err, diff, "but the base");
	after = slurp(base, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(before);
	free(after);
}

static void test_snapshot_memfile_merge_reports_missing_diff(void **state)
{
	struct fixture *f = *state;
	const char *base = path_of(f, 0, "base"), *diff = path_of(f, 1, "diff");

	assert_int_equal(memfile_write(f->mem, MEMFILE_FULL, base, f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(memfile_merge(base, diff, f->err, sizeof(f->err)),
			 -ENOENT);
	assert_message(f->err, diff, "No such file or directory");
}

static void test_snapshot_memfile_merge_rejects_same_file(void **state)
{
	struct fixture *f = *state;
	const char *base = path_of(f, 0, "base");

	assert_int_equal(memfile_write(f->mem, MEMFILE_FULL, base, f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(memfile_merge(base, base, f->err, sizeof(f->err)),
			 -EINVAL);
	assert_message(f->err, base, "the same file");
}

static void test_snapshot_memfile_merge_rejects_directory(void **state)
{
	struct fixture *f = *state;
	const char *base = path_of(f, 0, "base");

	assert_int_equal(memfile_write(f->mem, MEMFILE_FULL, base, f->err,
				       sizeof(f->err)),
			 0);
	assert_int_equal(memfile_merge(base, f->dir, f->err, sizeof(f->err)),
			 -EINVAL);
	assert_message(f->err, f->dir, "not a regular file");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_snapshot_round_trips_sections),
		T(test_snapshot_round_trips_file_without_sections),
		T(test_snapshot_file_layout_is_little_endian),
		T(test_snapshot_next_iterates_sections_of_one_type),
		T(test_snapshot_find_returns_null_for_missing_section),
		T(test_snapshot_commit_replaces_existing_file),
		T(test_snapshot_writer_rejects_duplicate_section),
		T(test_snapshot_writer_rejects_too_many_sections),
		T(test_snapshot_writer_rejects_state_over_size_cap),
		T(test_snapshot_writer_rejects_null_data),
		T(test_snapshot_writer_stays_failed_after_enomem),
		T(test_snapshot_state_file_is_private),
		T(test_snapshot_state_file_is_0600_under_strict_umask),
		T(test_snapshot_commit_into_missing_directory_leaves_nothing),
		T(test_snapshot_commit_onto_directory_leaves_nothing),
		T(test_snapshot_failed_write_keeps_old_file),
		T(test_snapshot_read_reports_missing_file),
		T(test_snapshot_read_rejects_directory),
		T(test_snapshot_read_rejects_file_over_size_cap),
		T(test_snapshot_read_rejects_wrong_magic),
		T(test_snapshot_read_rejects_short_non_snapshot),
		T(test_snapshot_read_rejects_empty_file),
		T(test_snapshot_read_rejects_file_shorter_than_header),
		T(test_snapshot_read_rejects_truncated_sections),
		T(test_snapshot_read_rejects_missing_checksum),
		T(test_snapshot_read_rejects_huge_payload_length),
		T(test_snapshot_read_rejects_unsupported_version),
		T(test_snapshot_read_checks_version_before_header_length),
		T(test_snapshot_read_rejects_unknown_flags),
		T(test_snapshot_read_rejects_checksum_mismatch),
		T(test_snapshot_read_rejects_trailing_data),
		T(test_snapshot_read_rejects_section_overrunning_payload),
		T(test_snapshot_read_rejects_huge_section_length),
		T(test_snapshot_read_rejects_partial_section_header),
		T(test_snapshot_read_rejects_too_many_sections),
		T(test_snapshot_read_accepts_most_sections),
		T(test_snapshot_read_rejects_duplicate_sections),
		T(test_snapshot_memfile_size_is_total_ram),
		T(test_snapshot_memfile_full_reads_back_identical),
		T(test_snapshot_memfile_full_uses_disk_for_touched_pages_only),
		T(test_snapshot_memfile_full_leaves_zero_pages_as_holes),
		T(test_snapshot_memfile_full_resets_dirty_bitmaps),
		T(test_snapshot_memfile_full_of_untracked_memory),
		T(test_snapshot_memfile_is_private),
		T(test_snapshot_memfile_diff_writes_only_dirty_pages),
		T(test_snapshot_memfile_diff_writes_zeroed_dirty_page_as_data),
		T(test_snapshot_memfile_diff_of_clean_memory_is_all_hole),
		T(test_snapshot_memfile_diff_needs_dirty_tracking),
		T(test_snapshot_memfile_rejects_partial_pages),
		T(test_snapshot_memfile_failed_write_leaves_old_file),
		T(test_snapshot_memfile_failed_write_keeps_dirty_pages),
		T(test_snapshot_memfile_merge_of_two_diffs_equals_full),
		T(test_snapshot_memfile_merge_rejects_different_sizes),
		T(test_snapshot_memfile_merge_reports_missing_diff),
		T(test_snapshot_memfile_merge_rejects_same_file),
		T(test_snapshot_memfile_merge_rejects_directory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
