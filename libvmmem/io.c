/* SPDX-License-Identifier: MIT */
/* io.c - iovec export and fd I/O straight into and out of guest memory. */
#include <errno.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vmmem/dirty.h>
#include <vmmem/io.h>
#include <vmmem/memory.h>

#include "internal.h"

/* Entries per system call; a range needing more is done in several. */
#define IO_BATCH 64

/*
 * Fill iov with the pieces of a range that vmmem__check() accepted, at
 * most max entries. Returns the number of entries.
 */
static int fill_iov(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len,
		    struct iovec *iov, int max)
{
	const struct vmmem__slot *s = vmmem__lookup(mem, gpa);
	uint64_t off = gpa - s->gpa;
	int n = 0;

	while (len && n < max) {
		uint64_t piece = s->len - off < len ? s->len - off : len;

		iov[n].iov_base = s->hva + off;
		iov[n].iov_len = piece;
		n++;
		len -= piece;
		if (len) {
			s = vmmem__next_adjacent(mem, s);
			off = 0;
		}
	}
	return n;
}

int vmmem_get_iovec(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len,
		    int for_write, struct iovec *iov, int max, int *n)
{
	const struct vmmem__slot *s;
	uint64_t left = len, off;
	int need = 0, rc;

	if (!n)
		return -EINVAL;
	*n = 0;
	if (!mem || !iov || max < 0)
		return -EINVAL;
	if (len == 0)
		return 0;
	rc = vmmem__check(mem, gpa, len, for_write);
	if (rc)
		return rc;
	/* Count the pieces first: an array that is too small changes
	 * nothing. */
	s = vmmem__lookup(mem, gpa);
	off = gpa - s->gpa;
	for (;;) {
		need++;
		if (s->len - off >= left)
			break;
		left -= s->len - off;
		s = vmmem__next_adjacent(mem, s);
		off = 0;
	}
	if (need > max)
		return -E2BIG;
	*n = fill_iov(mem, gpa, len, iov, max);
	return 0;
}

enum dir { DIR_READ, DIR_WRITE };

/*
 * Move len bytes between fd and guest memory, IO_BATCH pieces per call,
 * continuing after short counts. Reads stop at end of file. EINTR is
 * retried; EAGAIN after progress ends the call with a short count.
 */
static int fd_io(struct vmmem *mem, vmmem_gpa_t gpa, size_t len, int fd,
		 int64_t foff, size_t *done, enum dir dir)
{
	bool into_guest = dir == DIR_READ;
	size_t moved = 0;
	int rc;

	if (!done)
		return -EINVAL;
	*done = 0;
	if (!mem || foff < -1)
		return -EINVAL;
	if (len == 0)
		return 0;
	rc = vmmem__check(mem, gpa, len, into_guest);
	if (rc)
		return rc;
	while (moved < len) {
		struct iovec iov[IO_BATCH];
		int n = fill_iov(mem, gpa + moved, len - moved, iov, IO_BATCH);
		ssize_t got;

		if (into_guest)
			got = foff < 0 ? readv(fd, iov, n) :
					 preadv(fd, iov, n, foff + moved);
		else
			got = foff < 0 ? writev(fd, iov, n) :
					 pwritev(fd, iov, n, foff + moved);
		if (got < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			if (err == EAGAIN && moved > 0)
				break;
			rc = vmmem__neg_errno(err);
			break;
		}
		if (got == 0) {
			/* End of file for reads; a write of zero bytes
			 * would never make progress either. */
			if (!into_guest)
				rc = -EIO;
			break;
		}
		if (into_guest) {
			/* Mark what arrived, whichever regions it spans. */
			int rcm = vmmem_mark_dirty(mem, gpa + moved, got);

			(void)rcm;
		}
		moved += (size_t)got;
		*done = moved;
	}
	return rc;
}

int vmmem_read_from_fd(struct vmmem *mem, vmmem_gpa_t gpa, size_t len,
		       int fd, int64_t foff, size_t *done)
{
	return fd_io(mem, gpa, len, fd, foff, done, DIR_READ);
}

int vmmem_write_to_fd(struct vmmem *mem, vmmem_gpa_t gpa, size_t len, int fd,
		      int64_t foff, size_t *done)
{
	return fd_io(mem, gpa, len, fd, foff, done, DIR_WRITE);
}
