/* SPDX-License-Identifier: MIT */
/* slice.c - bounds-checked windows onto one region. */
#include <errno.h>
#include <string.h>

#include <vmmem/memory.h>
#include <vmmem/slice.h>

#include "internal.h"

int vmmem_get_slice(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len,
		    struct vmmem_slice *out)
{
	const struct vmmem__slot *s;
	void *hva;
	int rc;

	if (!mem || !out || len == 0)
		return -EINVAL;
	if (len > SIZE_MAX)
		return -EOVERFLOW;
	rc = vmmem_get_ptr(mem, gpa, len, &hva);
	if (rc)
		return rc;
	/* vmmem_get_ptr() just found the region and left it as the hint. */
	s = vmmem__lookup(mem, gpa);
	out->hva = hva;
	out->len = len;
	out->region = s->region;
	out->off = gpa - s->gpa;
	return 0;
}

/* Whether [off, off + len) lies within the slice. */
static int in_slice(const struct vmmem_slice *s, size_t off, size_t len)
{
	size_t end;

	if (__builtin_add_overflow(off, len, &end))
		return -EOVERFLOW;
	return end <= s->len ? 0 : -EFAULT;
}

int vmmem_slice_sub(const struct vmmem_slice *s, size_t off, size_t len,
		    struct vmmem_slice *out)
{
	int rc = in_slice(s, off, len);

	if (rc)
		return rc;
	*out = (struct vmmem_slice){
		.hva = (uint8_t *)s->hva + off,
		.len = len,
		.region = s->region,
		.off = s->off + off,
	};
	return 0;
}

int vmmem_slice_read(const struct vmmem_slice *s, size_t off, void *buf,
		     size_t len)
{
	int rc = in_slice(s, off, len);

	if (rc)
		return rc;
	vmmem__from_guest(buf, (const uint8_t *)s->hva + off, len);
	return 0;
}

int vmmem_slice_write(const struct vmmem_slice *s, size_t off,
		      const void *buf, size_t len)
{
	int rc = in_slice(s, off, len);

	if (rc)
		return rc;
	if (s->region->flags & VMMEM_REGION_READONLY)
		return -EACCES;
	vmmem__to_guest((uint8_t *)s->hva + off, buf, len);
	if (s->region->dirty && len)
		vmmem__dirty_mark(s->region->dirty, s->off + off, len);
	return 0;
}

int vmmem_slice_mark_dirty(const struct vmmem_slice *s, size_t off,
			   size_t len)
{
	int rc = in_slice(s, off, len);

	if (rc)
		return rc;
	if (s->region->dirty && len)
		vmmem__dirty_mark(s->region->dirty, s->off + off, len);
	return 0;
}
