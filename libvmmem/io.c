/* SPDX-License-Identifier: MIT */
/* io.c - iovec export and fd I/O straight into and out of guest memory. */
#include <errno.h>

#include <vmmem/dirty.h>
#include <vmmem/io.h>
#include <vmmem/memory.h>

#include "internal.h"
#include "os.h"

/* Entries per system call; a range needing more is done in several. */
#define IO_BATCH 64
/*
 * Bytes per system call. A 32-bit process's iov_len is a signed 32-bit
 * value to the kernel, which refuses a piece of 2 GiB or more with EINVAL,
 * and Linux moves less than 2 GiB per call anyway: larger ranges are done
 * in several calls, like ranges of more than IO_BATCH pieces.
 */
#define IO_MAX (1ull << 30)

/*
 * Fill iov with the pieces of a range that vmmem__check() accepted, at
 * most max entries, stopping before a region without a host mapping.
 * Returns the number of entries.
 */
static int fill_iov(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len,
		    struct iovec *iov, int max)
{
	const struct vmmem__slot *s = vmmem__lookup(mem, gpa);
	uint64_t off = gpa - s->gpa;
	int n = 0;

	while (len && n < max && s->hva) {
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
		/* Regions mapped on demand have no address to hand out. */
		if (!s->hva)
			return -ENOTSUP;
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
 * The iovec for the next system call of fd_io(): the mapped pieces from
 * gpa on, or, when gpa lies in a region mapped on demand, one piece of
 * that region (at most VMMEM_DEMAND_MAX bytes), mapped into *m for the
 * call. Returns the number of entries (> 0) or a negative errno.
 */
static int io_vec(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len,
		  bool into_guest, struct iovec *iov, struct vmmem__demand *m)
{
	const struct vmmem__slot *s = vmmem__lookup(mem, gpa);
	uint64_t off = gpa - s->gpa, room, piece;
	int rc;

	m->map = NULL;
	if (s->hva)
		return fill_iov(mem, gpa, len < IO_MAX ? len : IO_MAX, iov,
				IO_BATCH);
	room = VMMEM_DEMAND_MAX - (off & (VMMEM_PAGE_SIZE - 1));
	piece = s->len - off < len ? s->len - off : len;
	piece = piece < room ? piece : room;
	rc = vmmem__demand_map(s->region, off, piece,
			       into_guest ? PROT_WRITE : PROT_READ, m);
	if (rc)
		return rc;
	iov[0].iov_base = m->hva;
	iov[0].iov_len = piece;
	return 1;
}

/*
 * Move len bytes between fd and guest memory, IO_BATCH pieces per call,
 * continuing after short counts. Reads stop at end of file. EINTR is
 * retried; EAGAIN after progress ends the call with a short count. Pieces
 * in regions mapped on demand are mapped around their own system call.
 */
static int fd_io(struct vmmem *mem, vmmem_gpa_t gpa, size_t len,
		 vmmem_fd_t fd, int64_t foff, size_t *done, enum dir dir)
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
		struct vmmem__demand m;
		int n = io_vec(mem, gpa + moved, len - moved, into_guest, iov,
			       &m);
		ssize_t got;
		int err;

		if (n < 0) {
			rc = n;
			break;
		}
		got = vmmem__fd_rw(fd, iov, n,
				   foff < 0 ? -1 : foff + (int64_t)moved,
				   into_guest);
		/* Unmapping may change errno: keep the call's. */
		err = errno;
		if (m.map)
			vmmem__demand_unmap(&m);
		if (got < 0) {
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
		       vmmem_fd_t fd, int64_t foff, size_t *done)
{
	return fd_io(mem, gpa, len, fd, foff, done, DIR_READ);
}

int vmmem_write_to_fd(struct vmmem *mem, vmmem_gpa_t gpa, size_t len,
		      vmmem_fd_t fd, int64_t foff, size_t *done)
{
	return fd_io(mem, gpa, len, fd, foff, done, DIR_WRITE);
}
