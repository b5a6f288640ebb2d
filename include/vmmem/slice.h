/* SPDX-License-Identifier: MIT */
/*
 * vmmem/slice.h - a bounds-checked window onto guest memory in one region.
 *
 * A slice is a host pointer and a length, taken once from a memory set and
 * then used without further lookups: the natural handle for a device buffer
 * that is read or written piecewise. All offsets are checked against the
 * slice; writes through the functions here are dirty-tracked.
 *
 * A slice borrows its region: it is valid while the memory set it came from
 * (or the region) is held. It is a small value type: copy it freely.
 */
#ifndef VMMEM_SLICE_H
#define VMMEM_SLICE_H

#include <stddef.h>
#include <stdint.h>

#include <vmmem/addr.h>

struct vmmem;
struct vmmem_region;

struct vmmem_slice {
	void *hva;			/* read-only: host address of byte 0 */
	size_t len;			/* read-only: length in bytes */
	struct vmmem_region *region;	/* private */
	uint64_t off;			/* private: offset of hva in region */
};

/**
 * vmmem_get_slice() - a slice covering [gpa, gpa + len) in one region.
 * @mem: the set.
 * @gpa: first guest byte.
 * @len: length; not zero.
 * @out: receives the slice.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for zero len or a NULL argument; -EOVERFLOW when the range
 * wraps or len does not fit a size_t (a 32-bit host); -EFAULT when it is
 * not fully backed; -EXDEV when it crosses into another region; -ENOTSUP
 * when the region has no host mapping.
 */
int vmmem_get_slice(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len,
		    struct vmmem_slice *out);

/**
 * vmmem_slice_sub() - a slice of a slice.
 * @s: the slice.
 * @off: offset of the new slice in @s; may equal s->len when len is 0.
 * @len: length of the new slice; may be 0.
 * @out: receives the sub-slice (may be @s itself).
 *
 * Return: 0 on success.
 * Errors: -EOVERFLOW when off + len wraps; -EFAULT when [off, off + len)
 * does not lie within @s.
 */
int vmmem_slice_sub(const struct vmmem_slice *s, size_t off, size_t len,
		    struct vmmem_slice *out);

/**
 * vmmem_slice_read() - copy bytes out of a slice.
 * @s: the slice.
 * @off: offset in the slice.
 * @buf: destination.
 * @len: number of bytes; 0 succeeds.
 *
 * Return: 0 on success.
 * Errors: -EOVERFLOW when off + len wraps; -EFAULT when the bytes do not lie
 * within the slice (nothing is copied).
 */
int vmmem_slice_read(const struct vmmem_slice *s, size_t off, void *buf,
		     size_t len);

/**
 * vmmem_slice_write() - copy bytes into a slice and mark them dirty.
 * @s: the slice.
 * @off: offset in the slice.
 * @buf: source.
 * @len: number of bytes; 0 succeeds.
 *
 * Return: 0 on success.
 * Errors: -EOVERFLOW when off + len wraps; -EFAULT when the bytes do not lie
 * within the slice; -EACCES when the region is read-only. Nothing is copied
 * on error.
 */
int vmmem_slice_write(const struct vmmem_slice *s, size_t off,
		      const void *buf, size_t len);

/**
 * vmmem_slice_mark_dirty() - mark bytes of a slice dirty after writing them
 * through s->hva.
 * @s: the slice.
 * @off: offset in the slice.
 * @len: number of bytes; 0 succeeds.
 *
 * A no-op on regions without dirty tracking.
 *
 * Return: 0 on success.
 * Errors: -EOVERFLOW or -EFAULT as vmmem_slice_read().
 */
int vmmem_slice_mark_dirty(const struct vmmem_slice *s, size_t off,
			   size_t len);

#endif /* VMMEM_SLICE_H */
