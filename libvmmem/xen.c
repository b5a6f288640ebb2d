/* SPDX-License-Identifier: MIT */
/*
 * xen.c - the Xen region kinds of libvmmem-xen (vmmem/xen.h): FOREIGN
 * mappings through privcmd, GRANT mappings through gntdev, up front or on
 * demand around each access, and attaching to a running domain through
 * libxenctrl and libxenforeignmemory.
 *
 * Compiled in every build. Without VMMEM_XEN only the accessors and the
 * operations table are real; the creators report -ENOTSUP, and no region
 * is ever mapped on demand, so the access paths never call in here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>
#include <vmmem/xen.h>

#include "xen_ops.h"

#include "internal.h"

static int sys_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

static const struct vmmem__xen_ops real_ops = {
	.mmap = mmap,
	.munmap = munmap,
	.ioctl = sys_ioctl,
};

static const struct vmmem__xen_ops *ops = &real_ops;

/* Exported for the unit tests despite internal.h's hidden default. */
__attribute__((visibility("default"))) void
vmmem__xen_set_ops(const struct vmmem__xen_ops *o)
{
	ops = o ? o : &real_ops;
}

unsigned vmmem_region_xen_flags(const struct vmmem_region *region)
{
	return region->xen_flags;
}

uint32_t vmmem_region_xen_domid(const struct vmmem_region *region)
{
	return region->domid;
}

#ifdef VMMEM_XEN

#include <xenctrl.h>
#include <xenforeignmemory.h>

/* Xen's page size, which the frame and grant numbering is in. */
#define XEN_PAGE_SHIFT 12
#define XEN_PAGE_SIZE (1ull << XEN_PAGE_SHIFT)

/* Region options a Xen mapping can honour: the others change how a
 * mapping is made, and the Xen devices decide that. */
#define XEN_REGION_FLAGS (VMMEM_REGION_READONLY | VMMEM_REGION_DIRTY_LOG)

/* The kernel ABI: the sizes are part of the ioctl numbers. */
_Static_assert(sizeof(struct vmmem__privcmd_mmapbatch_v2) == 32,
	       "privcmd_mmapbatch_v2 layout");
_Static_assert(sizeof(struct vmmem__gntdev_map_grant_ref) == 24,
	       "ioctl_gntdev_map_grant_ref layout");
_Static_assert(sizeof(struct vmmem__gntdev_unmap_grant_ref) == 16,
	       "ioctl_gntdev_unmap_grant_ref layout");

/* The valid combinations of VMMEM_XEN_* flags (vhost-user's table). */
static bool xen_flags_ok(unsigned xf)
{
	switch (xf) {
	case VMMEM_XEN_UNIX:
	case VMMEM_XEN_FOREIGN:
	case VMMEM_XEN_GRANT:
	case VMMEM_XEN_GRANT | VMMEM_XEN_NO_ADVANCE_MAP:
		return true;
	default:
		return false;
	}
}

static int region_prot(const struct vmmem_region *r)
{
	return (r->flags & VMMEM_REGION_READONLY) ? PROT_READ :
						    PROT_READ | PROT_WRITE;
}

/*
 * Map the region's frames gpa / 4096 + i of its domain up front: reserve a
 * VMA on privcmd, then fill it with MMAPBATCH_V2. The ioctl can succeed
 * while single pages failed, so every entry of err[] is checked.
 */
static int foreign_map(struct vmmem_region *r, uint64_t pages)
{
	size_t map_len = (size_t)(pages << XEN_PAGE_SHIFT);
	struct vmmem__privcmd_mmapbatch_v2 batch;
	uint64_t *gfns, i;
	int *err, rc = 0;
	void *hva;

	gfns = malloc(pages * sizeof(*gfns));
	err = calloc(pages, sizeof(*err));
	if (!gfns || !err) {
		rc = -ENOMEM;
		goto out_free;
	}
	for (i = 0; i < pages; i++)
		gfns[i] = (r->gpa >> XEN_PAGE_SHIFT) + i;
	hva = ops->mmap(NULL, map_len, region_prot(r), MAP_SHARED, r->fd, 0);
	if (hva == MAP_FAILED) {
		rc = vmmem__neg_errno(errno);
		goto out_free;
	}
	batch = (struct vmmem__privcmd_mmapbatch_v2){
		.num = (unsigned int)pages,
		.dom = (uint16_t)r->domid,	/* checked to fit at create */
		.addr = (uintptr_t)hva,
		.arr = gfns,
		.err = err,
	};
	if (ops->ioctl(r->fd, VMMEM__IOCTL_PRIVCMD_MMAPBATCH_V2, &batch) != 0) {
		rc = vmmem__neg_errno(errno);
		goto err_unmap;
	}
	for (i = 0; i < pages; i++) {
		if (err[i]) {
			rc = -EFAULT;
			goto err_unmap;
		}
	}
	r->hva = hva;
	r->map = hva;
	r->map_len = map_len;
	goto out_free;

err_unmap:
	ops->munmap(hva, map_len);
out_free:
	free(err);
	free(gfns);
	return rc;
}

/*
 * Map `pages` grants starting at the region's page `first`: the refs go
 * into the gntdev fd's table (MAP_GRANT_REF), then mmap at the index it
 * returns maps them.
 */
static int grant_map(const struct vmmem_region *r, uint64_t first,
		     uint32_t pages, int prot, struct vmmem__demand *m)
{
	size_t size = sizeof(struct vmmem__gntdev_map_grant_ref) +
		      (size_t)pages * sizeof(struct vmmem__gntdev_grant_ref);
	uint64_t base = (r->gpa & ~VMMEM_XEN_GRANT_ADDR_OFF) >> XEN_PAGE_SHIFT;
	struct vmmem__gntdev_unmap_grant_ref undo;
	struct vmmem__gntdev_map_grant_ref *req;
	struct vmmem__gntdev_grant_ref *refs;
	size_t map_len = (size_t)pages << XEN_PAGE_SHIFT;
	void *hva;
	uint32_t i;
	int rc = 0;

	req = calloc(1, size);
	if (!req)
		return -ENOMEM;
	req->count = pages;
	/* The refs run on past the one the struct declares. */
	refs = (struct vmmem__gntdev_grant_ref *)((uint8_t *)req +
		offsetof(struct vmmem__gntdev_map_grant_ref, refs));
	for (i = 0; i < pages; i++) {
		/* Fits: the region's last ref was checked at create. */
		refs[i].domid = r->domid;
		refs[i].ref = (uint32_t)(base + first + i);
	}
	if (ops->ioctl(r->fd, VMMEM__IOCTL_GNTDEV_MAP_GRANT_REF, req) != 0) {
		rc = vmmem__neg_errno(errno);
		goto out_free;
	}
	hva = ops->mmap(NULL, map_len, prot, MAP_SHARED, r->fd,
			(off_t)req->index);
	if (hva == MAP_FAILED) {
		rc = vmmem__neg_errno(errno);
		undo = (struct vmmem__gntdev_unmap_grant_ref){
			.index = req->index,
			.count = pages,
		};
		ops->ioctl(r->fd, VMMEM__IOCTL_GNTDEV_UNMAP_GRANT_REF, &undo);
		goto out_free;
	}
	m->region = r;
	m->hva = hva;
	m->map = hva;
	m->map_len = map_len;
	m->index = req->index;
	m->pages = pages;
out_free:
	free(req);
	return rc;
}

/*
 * munmap first: gntdev refuses to remove grants that are still mapped.
 * Failures cannot be reported from here; grants left in the table are
 * released when the region's fd is closed.
 */
static void grant_unmap(const struct vmmem_region *r, void *map,
			size_t map_len, uint64_t index, uint32_t pages)
{
	struct vmmem__gntdev_unmap_grant_ref req = {
		.index = index,
		.count = pages,
	};

	ops->munmap(map, map_len);
	ops->ioctl(r->fd, VMMEM__IOCTL_GNTDEV_UNMAP_GRANT_REF, &req);
}

int vmmem__demand_map(const struct vmmem_region *r, uint64_t off,
		      uint64_t len, int prot, struct vmmem__demand *m)
{
	uint64_t first = off >> XEN_PAGE_SHIFT;
	uint64_t last = (off + len - 1) >> XEN_PAGE_SHIFT;
	int rc;

	m->map = NULL;
	if (!r->on_demand)
		return -ENOTSUP;
	rc = grant_map(r, first, (uint32_t)(last - first + 1), prot, m);
	if (rc)
		return rc;
	m->hva = (uint8_t *)m->map + (off & (XEN_PAGE_SIZE - 1));
	return 0;
}

void vmmem__demand_unmap(struct vmmem__demand *m)
{
	if (!m->map)
		return;
	grant_unmap(m->region, m->map, m->map_len, m->index, m->pages);
	m->map = NULL;
}

void vmmem__xen_region_unmap(struct vmmem_region *r)
{
	if (r->xen_handle) {
		xenforeignmemory_unmap(r->xen_handle, r->hva,
				       r->map_len >> XEN_PAGE_SHIFT);
		xenforeignmemory_close(r->xen_handle);
	} else if (r->map && (r->xen_flags & VMMEM_XEN_GRANT)) {
		grant_unmap(r, r->map, r->map_len, r->xen_index,
			    (uint32_t)(r->map_len >> XEN_PAGE_SHIFT));
	} else if (r->map) {
		ops->munmap(r->map, r->map_len);
	}
}

/* The argument checks of a FOREIGN or GRANT region: no system call. */
static int check_xen_args(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
			  unsigned xen_flags, int fd, uint64_t foff,
			  uint32_t domid, uint64_t *pages)
{
	uint64_t n = (len >> XEN_PAGE_SHIFT) + !!(len & (XEN_PAGE_SIZE - 1));

	if (fd < 0)
		return -EBADF;
	if ((flags & ~XEN_REGION_FLAGS) || foff != 0 ||
	    (gpa & (XEN_PAGE_SIZE - 1)) || domid > UINT16_MAX)
		return -EINVAL;
	if (n > UINT32_MAX || n > (SIZE_MAX >> XEN_PAGE_SHIFT))
		return -ENOMEM;
	/* Every page's grant ref must fit the 32 bits of the ABI. */
	if ((xen_flags & VMMEM_XEN_GRANT) &&
	    ((gpa & ~VMMEM_XEN_GRANT_ADDR_OFF) >> XEN_PAGE_SHIFT) + n - 1 >
		    UINT32_MAX)
		return -EINVAL;
	*pages = n;
	return 0;
}

int vmmem_region_create_xen(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
			    unsigned xen_flags, int fd, uint64_t foff,
			    uint32_t domid, struct vmmem_region **out)
{
	struct vmmem_region *r;
	struct vmmem__demand m;
	uint64_t pages;
	int rc;

	rc = vmmem__region_check_args(gpa, len, flags, out);
	if (rc)
		return rc;
	if (!xen_flags_ok(xen_flags))
		return -EINVAL;
	if (xen_flags == VMMEM_XEN_UNIX)
		return vmmem_region_create_file(gpa, len, flags, fd, foff, out);
	rc = check_xen_args(gpa, len, flags, xen_flags, fd, foff, domid,
			    &pages);
	if (rc)
		return rc;
	rc = vmmem__region_alloc(gpa, len, flags, VMMEM_REGION_XEN, &r);
	if (rc)
		return rc;
	r->xen_flags = xen_flags;
	r->domid = domid;
	/* Our own duplicate: the caller may close theirs at once. */
	r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (r->fd < 0) {
		rc = vmmem__neg_errno(errno);
		goto err_free;
	}
	if (xen_flags & VMMEM_XEN_FOREIGN) {
		rc = foreign_map(r, pages);
	} else if (xen_flags & VMMEM_XEN_NO_ADVANCE_MAP) {
		r->on_demand = true;
	} else {
		rc = grant_map(r, 0, (uint32_t)pages, region_prot(r), &m);
		if (rc == 0) {
			r->hva = m.map;
			r->map = m.map;
			r->map_len = m.map_len;
			r->xen_index = m.index;
		}
	}
	if (rc)
		goto err_close;
	*out = r;
	return 0;

err_close:
	close(r->fd);
err_free:
	free(r);
	return rc;
}

/* libxenctrl logs to stderr unless given a logger; the library never
 * prints, so its messages go nowhere and errno carries the failure. */
static void silent_vmessage(struct xentoollog_logger *logger,
			    xentoollog_level level, int errnoval,
			    const char *context, const char *format,
			    va_list al)
{
	(void)logger;
	(void)level;
	(void)errnoval;
	(void)context;
	(void)format;
	(void)al;
}

static void silent_progress(struct xentoollog_logger *logger,
			    const char *context, const char *doing_what,
			    int percent, unsigned long done,
			    unsigned long total)
{
	(void)logger;
	(void)context;
	(void)doing_what;
	(void)percent;
	(void)done;
	(void)total;
}

static void silent_destroy(struct xentoollog_logger *logger)
{
	(void)logger;
}

static struct xentoollog_logger silent = {
	.vmessage = silent_vmessage,
	.progress = silent_progress,
	.destroy = silent_destroy,
};

/* The number of guest frames of a domain: its highest GFN plus one. */
static int domain_pages(uint32_t domid, uint64_t *pages)
{
	xen_pfn_t max_gpfn = 0;
	xc_interface *xch;
	int rc = 0;

	xch = xc_interface_open(&silent, &silent, 0);
	if (!xch)
		return vmmem__neg_errno(errno);
	if (xc_domain_maximum_gpfn(xch, domid, &max_gpfn) < 0)
		rc = vmmem__neg_errno(errno);
	xc_interface_close(xch);
	*pages = (uint64_t)max_gpfn + 1;
	return rc;
}

int vmmem_xen_attach(uint32_t domid, unsigned flags, struct vmmem **out)
{
	xenforeignmemory_handle *fmem;
	struct vmmem_region *r;
	xen_pfn_t *gfns = NULL;
	uint64_t pages, i;
	int *err = NULL;
	void *hva;
	int rc;

	if (!out || (flags & ~XEN_REGION_FLAGS) || domid > UINT16_MAX)
		return -EINVAL;
	rc = domain_pages(domid, &pages);
	if (rc)
		return rc;
	if (pages > (SIZE_MAX >> XEN_PAGE_SHIFT) / 2)
		return -ENOMEM;
	rc = vmmem__region_alloc(0, pages << XEN_PAGE_SHIFT, flags,
				 VMMEM_REGION_XEN, &r);
	if (rc)
		return rc;
	r->xen_flags = VMMEM_XEN_FOREIGN;
	r->domid = domid;
	fmem = xenforeignmemory_open(&silent, 0);
	if (!fmem) {
		rc = vmmem__neg_errno(errno);
		goto err_free;
	}
	gfns = malloc(pages * sizeof(*gfns));
	err = calloc(pages, sizeof(*err));
	if (!gfns || !err) {
		rc = -ENOMEM;
		goto err_close;
	}
	for (i = 0; i < pages; i++)
		gfns[i] = i;
	hva = xenforeignmemory_map(fmem, domid, region_prot(r), pages, gfns,
				   err);
	if (!hva) {
		rc = vmmem__neg_errno(errno);
		goto err_close;
	}
	for (i = 0; i < pages; i++) {
		if (err[i]) {
			rc = -EFAULT;
			xenforeignmemory_unmap(fmem, hva, pages);
			goto err_close;
		}
	}
	free(err);
	free(gfns);
	r->hva = hva;
	r->map_len = pages << XEN_PAGE_SHIFT;
	r->xen_handle = fmem;
	rc = vmmem_create(&r, 1, out);
	/* The set holds its own reference, or the region goes now. */
	vmmem_region_destroy(r);
	return rc;

err_close:
	free(err);
	free(gfns);
	xenforeignmemory_close(fmem);
err_free:
	free(r);
	return rc;
}

#else /* !VMMEM_XEN */

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

int vmmem__demand_map(const struct vmmem_region *r, uint64_t off,
		      uint64_t len, int prot, struct vmmem__demand *m)
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

void vmmem__xen_region_unmap(struct vmmem_region *r)
{
	(void)r;
}

#endif /* VMMEM_XEN */
