/* SPDX-License-Identifier: MIT */
/*
 * vmmem/xen.h - Xen guest memory in libvmmem-xen, the Xen build variant.
 *
 * libvmmem-xen is libvmmem plus the Xen region kinds below; anonymous,
 * memfd, file and borrowed regions keep working in it, and everything in
 * the other headers applies to Xen regions too. A region is described the
 * way vhost-user's Xen extension describes one: an fd, Xen mapping flags
 * and a domain id.
 *
 *   UNIX (0)           the fd is mapped like vmmem_region_create_file():
 *                      an ordinary shared mapping at foff.
 *   FOREIGN (0x1)      the fd is an open /dev/xen/privcmd and foff is 0;
 *                      the domain's frames gpa / 4096 + i are mapped up
 *                      front (IOCTL_PRIVCMD_MMAPBATCH_V2), every per-page
 *                      error checked.
 *   GRANT (0x2)        the fd is an open /dev/xen/gntdev and foff is 0;
 *                      page i of the region is the domain's grant ref
 *                      ((gpa & ~(1 << 63)) >> 12) + i (the addresses
 *                      Linux's grant DMA ops hand out). Mapped up front,
 *                      or, with NO_ADVANCE_MAP, on demand:
 *   NO_ADVANCE_MAP (0x8)  (with GRANT only) every access maps exactly the
 *                      pages it touches, with the protection it needs,
 *                      and unmaps them before it returns. Such regions have
 *                      no host address: vmmem_get_ptr(), slices, iovecs
 *                      and vmmem_region_hva() give -ENOTSUP or NULL, never
 *                      a bogus pointer. Reads, writes, scalars, atomics
 *                      (the page is mapped for the duration of the
 *                      operation), fd I/O and dirty tracking work.
 *
 * In the plain libvmmem (built without VMMEM_XEN) and on Windows the
 * creators below exist but return -ENOTSUP, and the accessors return 0.
 *
 * The vhost-user specification says "bit 8" for the no-advance-map flag;
 * the implementations (rust-vmm vm-memory, xen-vhost-frontend) use the
 * value 0x8, and so does libvmmem.
 */
#ifndef VMMEM_XEN_H
#define VMMEM_XEN_H

#include <stdint.h>

#include <vmmem/addr.h>

struct vmmem;
struct vmmem_region;

#define VMMEM_XEN_UNIX 0x0u
#define VMMEM_XEN_FOREIGN 0x1u
#define VMMEM_XEN_GRANT 0x2u
#define VMMEM_XEN_NO_ADVANCE_MAP 0x8u

/* Grant-mapped guest addresses have bit 63 set (XEN_GRANT_ADDR_OFF). */
#define VMMEM_XEN_GRANT_ADDR_OFF (1ull << 63)

/**
 * vmmem_region_create_xen() - create a region of a Xen mapping kind.
 * @gpa: first guest address of the region; 4 KiB-aligned for FOREIGN
 *       and GRANT.
 * @len: length in bytes; not zero (rounded up to 4 KiB pages for mapping).
 * @flags: VMMEM_REGION_READONLY and VMMEM_REGION_DIRTY_LOG only.
 * @xen_flags: VMMEM_XEN_* as in the table above.
 * @fd: UNIX: the file; FOREIGN: /dev/xen/privcmd; GRANT: /dev/xen/gntdev.
 *      The region keeps its own duplicate.
 * @foff: UNIX: offset in the file (page-aligned); otherwise must be 0.
 * @domid: FOREIGN and GRANT: the domain whose memory it is (16 bits).
 * @out: receives the region.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for unknown xen_flags bits or an invalid combination
 * (FOREIGN|GRANT, FOREIGN|NO_ADVANCE_MAP, NO_ADVANCE_MAP alone), foff != 0
 * for FOREIGN or GRANT, zero len, bad flags, an unaligned
 * gpa, a domid above 0xffff or a grant ref beyond 32 bits, all checked
 * before any system call; -EBADF for a negative fd; -EOVERFLOW when the
 * range wraps; -EFAULT when a
 * FOREIGN page cannot be mapped (what was mapped is unmapped again); the
 * negative errno of mmap(2) or the Xen ioctls; -ENOMEM; -ENOTSUP in a
 * build without VMMEM_XEN. UNIX regions: vmmem_region_create_file()'s.
 *
 * Accesses to an on-demand region return the negative errno of the
 * mapping ioctl or mmap(2) when the pages cannot be mapped.
 */
int vmmem_region_create_xen(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
			    unsigned xen_flags, int fd, uint64_t foff,
			    uint32_t domid, struct vmmem_region **out);

/** vmmem_region_xen_flags() - the region's VMMEM_XEN_* flags (0: not Xen). */
unsigned vmmem_region_xen_flags(const struct vmmem_region *region);

/** vmmem_region_xen_domid() - the region's domain id (0 for UNIX). */
uint32_t vmmem_region_xen_domid(const struct vmmem_region *region);

/**
 * vmmem_xen_attach() - a memory set covering a running domain's RAM.
 * @domid: the domain.
 * @flags: VMMEM_REGION_* options for the region.
 * @out: receives a set with one FOREIGN region [0, (max gpfn + 1) * 4096),
 *       mapped through libxenforeignmemory.
 *
 * For a standalone device model in dom0 or a driver domain. Needs
 * permission to map the domain's memory.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL out, bad flags or a domid above 0xffff; the
 * negative errno from libxenctrl or libxenforeignmemory (-EPERM without
 * privilege, -ESRCH for no such domain, -ENOENT without Xen); -EFAULT when
 * some page cannot be mapped; -ENOMEM; -ENOTSUP in a build without
 * VMMEM_XEN.
 */
int vmmem_xen_attach(uint32_t domid, unsigned flags, struct vmmem **out);

#endif /* VMMEM_XEN_H */
