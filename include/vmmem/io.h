/* SPDX-License-Identifier: MIT */
/*
 * vmmem/io.h - zero-copy I/O between file descriptors and guest memory.
 *
 * A guest buffer that spans several regions is one logical range; these
 * functions turn it into an iovec array, or move data between it and a file
 * descriptor with readv/writev (preadv/pwritev at a file offset), without a
 * bounce buffer. The whole range is validated before any I/O.
 *
 * On Windows the fd is a HANDLE opened for synchronous I/O
 * (vmmem/platform.h), and each piece is moved with its own
 * ReadFile()/WriteFile(): there is no vectored I/O on ordinary handles.
 * A file offset goes in an OVERLAPPED, and the file pointer, which that
 * moves, is put back afterwards; unlike pread(2), that is not atomic with
 * respect to other threads using the same handle. A closed pipe
 * (ERROR_BROKEN_PIPE) reads as end of file and writes as -EPIPE; a pipe in
 * PIPE_NOWAIT mode gives -EAGAIN as a non-blocking fd does.
 */
#ifndef VMMEM_IO_H
#define VMMEM_IO_H

#include <stddef.h>
#include <stdint.h>
#include <vmmem/addr.h>
#include <vmmem/platform.h>

struct vmmem;

/**
 * vmmem_get_iovec() - describe a guest range as host iovecs.
 * @mem: the set.
 * @gpa: first byte.
 * @len: length; 0 gives *n = 0.
 * @for_write: non-zero when the caller will write into the range (the
 *             regions must then be writable).
 * @iov: receives one entry per region the range touches.
 * @max: number of entries in @iov.
 * @n: receives the number of entries filled.
 *
 * The host addresses are borrowed (valid while @mem is held). Writes through
 * them are not dirty-tracked: call vmmem_mark_dirty() after writing. On a
 * 32-bit host an entry can be 2 GiB or longer, which readv(2) and writev(2)
 * refuse there; vmmem_read_from_fd() and vmmem_write_to_fd() split such
 * ranges themselves.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL argument or max < 0; -EOVERFLOW when the range
 * wraps; -EFAULT when it is not fully backed; -EACCES when for_write and a
 * region is read-only; -E2BIG when more than max entries are needed;
 * -ENOTSUP when a region has no host mapping. *n is 0 on error.
 */
int vmmem_get_iovec(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len,
		    int for_write, struct iovec *iov, int max, int *n);

/**
 * vmmem_read_from_fd() - read from a file descriptor into guest memory.
 * @mem: the set.
 * @gpa: first guest byte to fill.
 * @len: number of bytes to read at most.
 * @fd: the source.
 * @foff: file offset to read at (preadv; the file position is not moved),
 *        or -1 to read at the current position (readv).
 * @done: receives the number of bytes read, also on error.
 *
 * The range is validated (backed and writable) first. Reads continue after
 * short counts until len bytes arrived, end of file, or an error; EINTR is
 * retried. A short count is not an error: at end of file, or when a
 * non-blocking fd has no more data after some bytes arrived, the call
 * returns 0 with *done < len. The bytes read are marked dirty.
 *
 * Return: 0 on success (see above for short counts).
 * Errors: -EINVAL for a NULL done or foff < -1; -EOVERFLOW, -EFAULT, -EACCES,
 * -ENOTSUP as vmmem_get_iovec() (nothing is read); the negative errno of
 * readv(2)/preadv(2) (including -EAGAIN when nothing at all could be read).
 */
int vmmem_read_from_fd(struct vmmem *mem, vmmem_gpa_t gpa, size_t len,
		       vmmem_fd_t fd, int64_t foff, size_t *done);

/**
 * vmmem_write_to_fd() - write guest memory to a file descriptor.
 * @mem: the set.
 * @gpa: first guest byte to send.
 * @len: number of bytes.
 * @fd: the destination.
 * @foff: file offset (pwritev), or -1 for the current position (writev).
 * @done: receives the number of bytes written, also on error.
 *
 * Writes continue after short counts until all len bytes are written or an
 * error occurs; EINTR is retried. When a non-blocking fd is full after some
 * bytes were written, the call returns 0 with *done < len.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL done or foff < -1; -EOVERFLOW, -EFAULT, -ENOTSUP
 * as vmmem_get_iovec(); the negative errno of writev(2)/pwritev(2)
 * (including -EAGAIN when nothing at all could be written, and -EPIPE).
 */
int vmmem_write_to_fd(struct vmmem *mem, vmmem_gpa_t gpa, size_t len,
		      vmmem_fd_t fd, int64_t foff, size_t *done);

#endif /* VMMEM_IO_H */
