/* SPDX-License-Identifier: MIT */
/*
 * stubs_windows.c - the Linux-only parts of the API on Windows: the Xen
 * region kinds (xen.h) and userfaultfd (uffd.h). They exist so that a
 * program links unchanged, and report -ENOTSUP. xen.c and uffd.c are not
 * built for Windows.
 */
#include <errno.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>
#include <vmmem/uffd.h>
#include <vmmem/xen.h>

#include "internal.h"

unsigned vmmem_region_xen_flags(const struct vmmem_region *region)
{
	return region->xen_flags;
}

uint32_t vmmem_region_xen_domid(const struct vmmem_region *region)
{
	return region->domid;
}

int vmmem_region_create_xen(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
			    unsigned xen_flags, int fd, uint64_t foff,
			    uint32_t domid, struct vmmem_region **out)
{
	(void)gpa;
	(void)len;
	(void)flags;
	(void)xen_flags;
	(void)fd;
	(void)foff;
	(void)domid;
	(void)out;
	return -ENOTSUP;
}

int vmmem_xen_attach(uint32_t domid, unsigned flags, struct vmmem **out)
{
	(void)domid;
	(void)flags;
	(void)out;
	return -ENOTSUP;
}

/* No region is mapped on demand on Windows: the access paths never call
 * these, but they are part of the internal interface. */
int vmmem__demand_map(const struct vmmem_region *r, uint64_t off, uint64_t len,
		      int prot, struct vmmem__demand *m)
{
	(void)r;
	(void)off;
	(void)len;
	(void)prot;
	m->map = NULL;
	return -ENOTSUP;
}

void vmmem__demand_unmap(struct vmmem__demand *m)
{
	(void)m;
}

int vmmem_uffd_open(int flags, int *out_fd)
{
	(void)flags;
	(void)out_fd;
	return -ENOTSUP;
}

int vmmem_uffd_register(struct vmmem *mem, int uffd)
{
	(void)mem;
	(void)uffd;
	return -ENOTSUP;
}

int vmmem_uffd_unregister(struct vmmem *mem, int uffd)
{
	(void)mem;
	(void)uffd;
	return -ENOTSUP;
}

int vmmem_uffd_copy(int uffd, uint64_t dst_hva, const void *src, uint64_t len)
{
	(void)uffd;
	(void)dst_hva;
	(void)src;
	(void)len;
	return -ENOTSUP;
}

int vmmem_uffd_zero(int uffd, uint64_t dst_hva, uint64_t len)
{
	(void)uffd;
	(void)dst_hva;
	(void)len;
	return -ENOTSUP;
}

int vmmem_uffd_wake(int uffd, uint64_t hva, uint64_t len)
{
	(void)uffd;
	(void)hva;
	(void)len;
	return -ENOTSUP;
}
