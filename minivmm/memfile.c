/* SPDX-License-Identifier: MIT */
/* memfile.c - the snapshot memory file; see memfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmmem/dirty.h>
#include <vmmem/io.h>
#include <vmmem/memory.h>
#include <vmmem/region.h>

#include "memfile.h"
#include "outfile.h"
#include "util.h"

/* The unit of the file: a dirty bit's page. */
#define PAGE VMMEM_DIRTY_PAGE_SIZE

/*
 * Guest memory is scanned for zero pages this much at a time: one
 * vmmem_get_ptr() per chunk, and the pointer is dropped after it.
 */
#define SCAN_CHUNK (1u << 20)

/* memfile_merge() copies through a buffer of this size. */
#define COPY_BUF (1u << 20)

int memfile_size(const struct vmmem *mem, uint64_t *size)
{
	uint64_t total = 0;
	size_t i, n;

	if (!mem || !size)
		return -EINVAL;
	n = vmmem_region_count(mem);
	for (i = 0; i < n; i++) {
		uint64_t len = vmmem_region_len(vmmem_region_at(mem, i));

		/* Offsets are off_t: stay below 2^63. */
		if (len > (uint64_t)INT64_MAX - total)
			return -EFBIG;
		total += len;
	}
	*size = total;
	return 0;
}

static bool is_tracked(const struct vmmem_region *r)
{
	return vmmem_region_flags(r) & VMMEM_REGION_DIRTY_LOG;
}

/* Every region whole pages, and dirty-tracked for a Diff. */
static int check_regions(struct vmmem *mem, enum memfile_kind kind,
			 const char *path, char *err, size_t errlen)
{
	size_t i, n = vmmem_region_count(mem);

	for (i = 0; i < n; i++) {
		const struct vmmem_region *r = vmmem_region_at(mem, i);
		unsigned long long gpa = vmmem_region_gpa(r);

		if (vmmem_region_len(r) % PAGE) {
			util_errf(err, errlen,
				"%s: the memory region at GPA 0x%llx is 0x%llx "
				"bytes, not a whole number of %u-byte pages",
				path, gpa,
				(unsigned long long)vmmem_region_len(r), PAGE);
			return -EINVAL;
		}
		if (kind == MEMFILE_DIFF && !is_tracked(r)) {
			util_errf(err, errlen,
				"%s: diff snapshots need dirty page tracking "
				"(the memory region at GPA 0x%llx has none)",
				path, gpa);
			return -ENOTSUP;
		}
	}
	return 0;
}

/* Words of a region's dirty bitmap. */
static size_t bitmap_words(const struct vmmem_region *r)
{
	return (size_t)((vmmem_region_dirty_pages(r) + 63) / 64);
}

/* Merge harvested bitmaps back, so that no dirty page is forgotten. */
static void put_back(struct vmmem *mem, uint64_t **bits, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct vmmem_region *r = vmmem_region_at(mem, i);

		/* Cannot fail: the region is tracked and the size fits. */
		if (bits[i])
			vmmem_region_dirty_merge(r, bits[i],
						 vmmem_region_dirty_pages(r));
	}
}

static void free_bits(uint64_t **bits, size_t n)
{
	size_t i;

	if (!bits)
		return;
	for (i = 0; i < n; i++)
		free(bits[i]);
	free(bits);
}

/*
 * Take and reset every tracked region's dirty bitmap: *out[i] is region
 * i's, NULL for an untracked region. Everything is allocated before the
 * first bitmap is reset, so a failure forgets no dirty bit.
 */
static int harvest(struct vmmem *mem, size_t n, uint64_t ***out)
{
	uint64_t **bits;
	size_t i;
	int ret = 0;

	bits = calloc(n ? n : 1, sizeof(*bits));
	if (!bits)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct vmmem_region *r = vmmem_region_at(mem, i);

		if (!is_tracked(r))
			continue;
		bits[i] = calloc(bitmap_words(r), sizeof(uint64_t));
		if (!bits[i]) {
			ret = -ENOMEM;
			goto err_free;
		}
	}
	for (i = 0; i < n; i++) {
		struct vmmem_region *r = vmmem_region_at(mem, i);

		if (!bits[i])
			continue;
		ret = vmmem_region_dirty_get_and_reset(r, bits[i],
						       bitmap_words(r));
		if (ret) {
			/* Give back what the earlier regions handed over. */
			put_back(mem, bits, i);
			goto err_free;
		}
	}
	*out = bits;
	return 0;

err_free:
	free_bits(bits, n);
	return ret;
}

/*
 * A run of guest bytes waiting to be written at one file offset: adjacent
 * pages are gathered into one vmmem_write_to_fd() call.
 */
struct run {
	struct vmmem *mem;
	int fd;
	vmmem_gpa_t gpa;
	uint64_t foff;
	uint64_t len;	/* 0 when nothing is pending */
};

static int run_flush(struct run *run)
{
	size_t done;
	int rc;

	if (!run->len)
		return 0;
	/* memfile_size() kept every offset below 2^63. */
	rc = vmmem_write_to_fd(run->mem, run->gpa, (size_t)run->len, run->fd,
			       (int64_t)run->foff, &done);
	/* A regular file takes everything or fails; be sure anyway. */
	if (!rc && done != run->len)
		rc = -EIO;
	run->len = 0;
	return rc;
}

static int run_add(struct run *run, vmmem_gpa_t gpa, uint64_t foff,
		   uint64_t len)
{
	int rc;

	if (run->len && run->gpa + run->len == gpa &&
	    run->foff + run->len == foff) {
		run->len += len;
		return 0;
	}
	rc = run_flush(run);
	run->gpa = gpa;
	run->foff = foff;
	run->len = len;
	return rc;
}

/*
 * Whether a page is all zero. memcmp() against a zero page runs at vector
 * width and stops at the first difference, which for a used page is
 * nearly always in its first bytes.
 */
static bool page_is_zero(const uint8_t *p)
{
	static const uint8_t zero[PAGE];

	return !memcmp(p, zero, PAGE);
}

/* A Full region: every page that is not all zero. */
/*
 * Which pages of r may hold data: all of them, except in anonymous memory,
 * where a page never touched is zero and need not be read (reading it
 * would fault it in). *bits is NULL for "all", or to free().
 */
static int maybe_data(struct vmmem_region *r, uint64_t **bits)
{
	uint64_t pages = vmmem_region_len(r) / PAGE;

	*bits = calloc((pages + 63) / 64 ? (pages + 63) / 64 : 1,
		       sizeof(uint64_t));
	if (!*bits)
		return -ENOMEM;
	if (vmmem_region_resident(r, 0, pages * PAGE, *bits)) {
		free(*bits);
		*bits = NULL;
	}
	return 0;
}

/* Whether the chunk's pages [first, first + n) hold no page to look at. */
static bool chunk_untouched(const uint64_t *bits, uint64_t first, uint64_t n)
{
	uint64_t p;

	if (!bits)
		return false;
	for (p = first; p < first + n; p++)
		if (bits[p / 64] >> (p % 64) & 1)
			return false;
	return true;
}

static int write_full(struct run *run, struct vmmem_region *r, uint64_t foff)
{
	vmmem_gpa_t gpa = vmmem_region_gpa(r);
	uint64_t len = vmmem_region_len(r), off, chunk, p, *bits;
	int rc = maybe_data(r, &bits);

	for (off = 0; !rc && off < len; off += chunk) {
		void *hva;

		chunk = len - off < SCAN_CHUNK ? len - off : SCAN_CHUNK;
		if (chunk_untouched(bits, off / PAGE, chunk / PAGE)) {
			rc = run_flush(run);
			continue;
		}
		rc = vmmem_get_ptr(run->mem, gpa + off, chunk, &hva);
		if (rc == -ENOTSUP) {
			/* Mapped on demand only: no pointer to scan. */
			rc = run_add(run, gpa + off, foff + off, chunk);
			continue;
		}
		for (p = 0; !rc && p < chunk; p += PAGE) {
			uint64_t page = (off + p) / PAGE;

			if ((bits && !(bits[page / 64] >> (page % 64) & 1)) ||
			    page_is_zero((const uint8_t *)hva + p))
				rc = run_flush(run);
			else
				rc = run_add(run, gpa + off + p, foff + off + p,
					     PAGE);
		}
	}
	free(bits);
	return rc ? rc : run_flush(run);
}

/* A Diff region: every page whose bit is set, zero or not. */
static int write_diff(struct run *run, struct vmmem_region *r, uint64_t foff,
		      const uint64_t *bits)
{
	vmmem_gpa_t gpa = vmmem_region_gpa(r);
	uint64_t npages = vmmem_region_len(r) / PAGE, page;
	int rc;

	for (page = 0; page < npages; page++) {
		uint64_t word = bits[page / 64];

		if (!word) {
			/* 64 clean pages: skip them at once. */
			rc = run_flush(run);
			if (rc)
				return rc;
			page |= 63;
			continue;
		}
		if (word >> (page % 64) & 1)
			rc = run_add(run, gpa + page * PAGE, foff + page * PAGE,
				     PAGE);
		else
			rc = run_flush(run);
		if (rc)
			return rc;
	}
	return run_flush(run);
}

int memfile_write(struct vmmem *mem, enum memfile_kind kind, const char *path,
		  char *err, size_t errlen)
{
	struct outfile f;
	struct run run;
	uint64_t **bits = NULL;
	uint64_t size, foff = 0;
	size_t i, n;
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!mem || !path || (kind != MEMFILE_FULL && kind != MEMFILE_DIFF)) {
		util_errf(err, errlen, "memory file: invalid arguments");
		return -EINVAL;
	}
	ret = check_regions(mem, kind, path, err, errlen);
	if (ret)
		return ret;
	ret = memfile_size(mem, &size);
	if (ret) {
		util_errf(err, errlen, "%s: guest memory too large for a file",
			path);
		return ret;
	}
	n = vmmem_region_count(mem);

	ret = outfile_init(&f, path, err, errlen);
	if (ret)
		return ret;
	/* The full size first: whatever is not written stays a hole. */
	if (ftruncate(f.fd, (off_t)size) < 0) {
		ret = -errno;
		util_errf(err, errlen, "%s: cannot size it to %llu bytes: %s",
			path, (unsigned long long)size, strerror(-ret));
		goto out_file;
	}
	/*
	 * Reset the bitmaps before reading memory: a page written after this
	 * point (there should be none) is then in the next Diff rather than
	 * lost.
	 */
	ret = harvest(mem, n, &bits);
	if (ret) {
		util_errf(err, errlen, "%s: %s", path, strerror(-ret));
		goto out_file;
	}

	run.mem = mem;
	run.fd = f.fd;
	run.len = 0;
	for (i = 0; i < n; i++) {
		struct vmmem_region *r = vmmem_region_at(mem, i);

		if (kind == MEMFILE_FULL)
			ret = write_full(&run, r, foff);
		else
			ret = write_diff(&run, r, foff, bits[i]);
		if (ret) {
			util_errf(err, errlen,
				"%s: cannot write the memory region at GPA "
				"0x%llx: %s",
				path, (unsigned long long)vmmem_region_gpa(r),
				strerror(-ret));
			goto out_bits;
		}
		foff += vmmem_region_len(r);
	}
	ret = outfile_commit(&f, err, errlen);

out_bits:
	if (ret)
		put_back(mem, bits, n);
	free_bits(bits, n);
out_file:
	outfile_fini(&f);
	return ret;
}

/* Open path for merging and check it is a regular file. */
static int open_regular(const char *path, int flags, struct stat *st,
			char *err, size_t errlen)
{
	int fd, ret;

	/* O_NONBLOCK: a FIFO must be refused below, not block the open. */
	fd = open(path, flags | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		util_errf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, st) < 0) {
		ret = -errno;
		util_errf(err, errlen, "%s: %s", path, strerror(-ret));
		close(fd);
		return ret;
	}
	if (!S_ISREG(st->st_mode)) {
		util_errf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* Copy [off, off + len) of the diff to the same place in the base. */
static int copy_extent(int dfd, int bfd, uint8_t *buf, off_t off,
		       off_t len)
{
	while (len > 0) {
		size_t want = len < COPY_BUF ? (size_t)len : COPY_BUF;
		size_t got = 0, put = 0;
		ssize_t n;

		while (got < want) {
			n = pread(dfd, buf + got, want - got, off + got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				return -EIO;	/* the diff shrank */
			got += (size_t)n;
		}
		while (put < got) {
			n = pwrite(bfd, buf + put, got - put, off + put);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				return -EIO;
			put += (size_t)n;
		}
		off += (off_t)got;
		len -= (off_t)got;
	}
	return 0;
}

int memfile_merge(const char *base, const char *diff, char *err,
		  size_t errlen)
{
	struct stat bst, dst;
	uint8_t *buf = NULL;
	off_t pos = 0;
	int bfd, dfd, ret = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!base || !diff) {
		util_errf(err, errlen, "memory file merge: invalid arguments");
		return -EINVAL;
	}
	dfd = open_regular(diff, O_RDONLY, &dst, err, errlen);
	if (dfd < 0)
		return dfd;
	bfd = open_regular(base, O_RDWR, &bst, err, errlen);
	if (bfd < 0) {
		ret = bfd;
		goto out_close_diff;
	}
	if (bst.st_dev == dst.st_dev && bst.st_ino == dst.st_ino) {
		util_errf(err, errlen,
			"%s: the base and the diff are the same file", diff);
		ret = -EINVAL;
		goto out_close_base;
	}
	if (bst.st_size != dst.st_size) {
		util_errf(err, errlen,
			"%s: %lld bytes, but the base %s has %lld: not a diff "
			"of the same guest memory",
			diff, (long long)dst.st_size, base,
			(long long)bst.st_size);
		ret = -EINVAL;
		goto out_close_base;
	}
	buf = malloc(COPY_BUF);
	if (!buf) {
		util_errf(err, errlen, "%s: out of memory", base);
		ret = -ENOMEM;
		goto out_close_base;
	}

	while (pos < dst.st_size) {
		off_t data, hole;

		data = lseek(dfd, pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;	/* nothing but a hole from pos on */
		if (data < 0) {
			ret = -errno;
			util_errf(err, errlen, "%s: cannot find its data: %s",
				diff, strerror(-ret));
			goto out_free;
		}
		hole = lseek(dfd, data, SEEK_HOLE);
		if (hole < 0) {
			ret = -errno;
			util_errf(err, errlen, "%s: cannot find its holes: %s",
				diff, strerror(-ret));
			goto out_free;
		}
		ret = copy_extent(dfd, bfd, buf, data, hole - data);
		if (ret) {
			util_errf(err, errlen,
				"%s: copying bytes %lld to %lld of %s failed "
				"(the base is now partly merged; run the merge "
				"again): %s",
				base, (long long)data, (long long)hole, diff,
				strerror(-ret));
			goto out_free;
		}
		pos = hole;
	}
	if (fsync(bfd) < 0) {
		ret = -errno;
		util_errf(err, errlen, "%s: cannot write: %s", base,
			strerror(-ret));
	}

out_free:
	free(buf);
out_close_base:
	close(bfd);
out_close_diff:
	close(dfd);
	return ret;
}
