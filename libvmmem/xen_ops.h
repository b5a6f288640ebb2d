/* SPDX-License-Identifier: MIT */
/*
 * xen_ops.h - the system calls behind libvmmem's Xen region kinds, as a
 * table that tests can replace, and the kernel ABI they use.
 *
 * The one header under libvmmem/ that code outside it may include: the
 * unit tests drive the FOREIGN and GRANT kinds through a fake table, with
 * no Xen and no /dev/xen devices. vmmem__xen_set_ops() is exported from
 * the shared library for them too; it is not API.
 *
 * The ioctl structures are the kernel's (include/uapi/xen/privcmd.h and
 * gntdev.h), defined here so that this header compiles on its own in every
 * build; the layouts are fixed by the kernel ABI.
 */
#ifndef VMMEM_XEN_OPS_H
#define VMMEM_XEN_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

/* IOCTL_PRIVCMD_MMAPBATCH_V2: map frames of a domain into a privcmd VMA. */
struct vmmem__privcmd_mmapbatch_v2 {
	unsigned int num;	/* number of pages */
	uint16_t dom;		/* domid_t */
	uint64_t addr;		/* start of the VMA, from mmap(privcmd) */
	const uint64_t *arr;	/* xen_pfn_t[num]: the frames (GFNs) */
	int *err;		/* int[num]: per-page result, 0 or -errno */
};

/* One entry of IOCTL_GNTDEV_MAP_GRANT_REF. */
struct vmmem__gntdev_grant_ref {
	uint32_t domid;
	uint32_t ref;
};

/* IOCTL_GNTDEV_MAP_GRANT_REF: count refs follow the header. */
struct vmmem__gntdev_map_grant_ref {
	uint32_t count;
	uint32_t pad;
	uint64_t index;		/* out: the mmap offset of the refs */
	struct vmmem__gntdev_grant_ref refs[1];
};

/* IOCTL_GNTDEV_UNMAP_GRANT_REF, after munmap(). */
struct vmmem__gntdev_unmap_grant_ref {
	uint64_t index;
	uint32_t count;
	uint32_t pad;
};

#define VMMEM__IOCTL_PRIVCMD_MMAPBATCH_V2                                      \
	_IOC(_IOC_NONE, 'P', 4, sizeof(struct vmmem__privcmd_mmapbatch_v2))
#define VMMEM__IOCTL_GNTDEV_MAP_GRANT_REF                                      \
	_IOC(_IOC_NONE, 'G', 0, sizeof(struct vmmem__gntdev_map_grant_ref))
#define VMMEM__IOCTL_GNTDEV_UNMAP_GRANT_REF                                    \
	_IOC(_IOC_NONE, 'G', 1, sizeof(struct vmmem__gntdev_unmap_grant_ref))

/* The system calls the FOREIGN and GRANT kinds make, with the usual
 * mmap(2), munmap(2) and ioctl(2) contracts (-1 and errno on failure). */
struct vmmem__xen_ops {
	void *(*mmap)(void *hva, size_t len, int prot, int flags, int fd,
		      off_t off);
	int (*munmap)(void *hva, size_t len);
	int (*ioctl)(int fd, unsigned long req, void *arg);
};

/*
 * Use ops for every later Xen mapping and unmapping; NULL restores the
 * real system calls. Not thread-safe: set it before creating regions, and
 * keep it until every region created under it is destroyed.
 */
void vmmem__xen_set_ops(const struct vmmem__xen_ops *ops);

#endif /* VMMEM_XEN_OPS_H */
