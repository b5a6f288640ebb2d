/* SPDX-License-Identifier: MIT */
/*
 * Tests for vmmem/xen.h: the Xen region kinds of libvmmem-xen, without Xen.
 *
 * The FOREIGN and GRANT kinds reach the kernel only through the operations
 * table of libvmmem/xen_ops.h, which these tests replace with a fake
 * privcmd and gntdev. Both are backed by one memfd, "the guest": frame f
 * and grant ref f are page f of it. The fake records every call with its
 * arguments, really maps the memfd's pages where the kernel would map the
 * guest's, and counts the mappings and grants still outstanding, so the
 * tests check the arguments, the data, and that every on-demand mapping is
 * gone before the access returns.
 *
 * In builds without VMMEM_XEN the program checks that the Xen creators
 * report -ENOTSUP; the rest runs in build/xen (and build/cov).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vmmem/atomic.h>
#include <vmmem/dirty.h>
#include <vmmem/io.h>
#include <vmmem/memory.h>
#include <vmmem/region.h>
#include <vmmem/scalar.h>
#include <vmmem/slice.h>
#include <vmmem/xen.h>

#include "../libvmmem/xen_ops.h"
#include "sysmock.h"

#define PAGE 4096ull
#define GUEST_PAGES 600		/* the memfd behind every fake mapping */

#ifdef VMMEM_XEN

#define DOMID 7u
#define GFN0 8ull			/* FOREIGN regions start at frame 8 */
#define FOREIGN_GPA (GFN0 * PAGE)
#define REF0 16ull			/* GRANT regions start at ref 16 */
#define GRANT_GPA (VMMEM_XEN_GRANT_ADDR_OFF | (REF0 << 12))
#define NAM (VMMEM_XEN_GRANT | VMMEM_XEN_NO_ADVANCE_MAP)

#define MAX_CALLS 64
#define MAX_FRAMES 8
#define MAX_GRANTS 16

enum call_op { CALL_MMAP, CALL_MUNMAP, CALL_IOCTL };

/* One recorded call of the fake and its arguments. */
struct call {
	enum call_op op;
	void *hva;
	size_t len;
	int prot, flags, fd;
	off_t off;
	unsigned long req;
	/* MMAPBATCH_V2 and MAP_GRANT_REF: count, domain, frames or refs. */
	unsigned count;
	uint32_t domid;
	uint64_t addr;
	uint64_t frames[MAX_FRAMES];
	uint64_t index;		/* MAP_GRANT_REF (out), UNMAP_GRANT_REF */
};

static struct fake {
	bool gntdev;		/* which device mmap() stands for */
	int guest;		/* the memfd */
	int maps;		/* fake mmaps not yet munmapped */
	int grants;		/* grant table entries not yet removed */
	uint64_t next_index;
	unsigned long fail_req;	/* fail this ioctl once ... */
	int fail_errno;		/* ... with this errno */
	int fail_mmap;		/* fail the next mmap with this errno */
	int bad_page;		/* MMAPBATCH: this err[] entry fails, or -1 */
	int privcmd_prot;
	struct { uint64_t index, ref0; unsigned count; bool used; } g[MAX_GRANTS];
	struct call calls[MAX_CALLS];
	unsigned ncalls;
} fake;

static struct call *record(enum call_op op)
{
	assert_true(fake.ncalls < MAX_CALLS);
	fake.calls[fake.ncalls] = (struct call){ .op = op };
	return &fake.calls[fake.ncalls++];
}

static void *fake_mmap(void *hva, size_t len, int prot, int flags, int fd,
		       off_t off)
{
	struct call *c = record(CALL_MMAP);
	void *p = MAP_FAILED;
	unsigned i;

	*c = (struct call){ .op = CALL_MMAP, .hva = hva, .len = len,
			    .prot = prot, .flags = flags, .fd = fd, .off = off };
	if (fake.fail_mmap) {
		errno = fake.fail_mmap;
		fake.fail_mmap = 0;
		return MAP_FAILED;
	}
	if (!fake.gntdev) {
		/* privcmd: a VMA that MMAPBATCH fills in. */
		fake.privcmd_prot = prot;
		p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	} else {
		/* gntdev: the grants registered at index off. */
		for (i = 0; i < MAX_GRANTS; i++)
			if (fake.g[i].used && fake.g[i].index == (uint64_t)off)
				break;
		assert_true(i < MAX_GRANTS);
		assert_int_equal(len, fake.g[i].count * PAGE);
		p = mmap(NULL, len, prot, MAP_SHARED, fake.guest,
			 (off_t)(fake.g[i].ref0 * PAGE));
	}
	assert_true(p != MAP_FAILED);
	fake.maps++;
	return p;
}

static int fake_munmap(void *hva, size_t len)
{
	struct call *c = record(CALL_MUNMAP);

	c->hva = hva;
	c->len = len;
	fake.maps--;
	return munmap(hva, len);
}

static int batch(struct call *c, struct vmmem__privcmd_mmapbatch_v2 *b)
{
	unsigned i;

	c->count = b->num;
	c->domid = b->dom;
	c->addr = b->addr;
	for (i = 0; i < b->num && i < MAX_FRAMES; i++)
		c->frames[i] = b->arr[i];
	for (i = 0; i < b->num; i++) {
		void *at = (uint8_t *)(uintptr_t)b->addr + i * PAGE;

		if ((int)i == fake.bad_page) {
			b->err[i] = -EFAULT;
			continue;
		}
		assert_true(mmap(at, PAGE, fake.privcmd_prot,
				 MAP_SHARED | MAP_FIXED, fake.guest,
				 (off_t)(b->arr[i] * PAGE)) == at);
		b->err[i] = 0;
	}
	return 0;
}

static int grant_ref(struct call *c, struct vmmem__gntdev_map_grant_ref *req)
{
	const struct vmmem__gntdev_grant_ref *refs = req->refs;
	unsigned i;

	c->count = req->count;
	c->domid = refs[0].domid;
	for (i = 0; i < req->count; i++) {
		/* Every ref of one call is for the same domain, in order. */
		assert_int_equal(refs[i].domid, refs[0].domid);
		assert_int_equal(refs[i].ref, refs[0].ref + i);
		if (i < MAX_FRAMES)
			c->frames[i] = refs[i].ref;
	}
	for (i = 0; i < MAX_GRANTS && fake.g[i].used; i++)
		;
	assert_true(i < MAX_GRANTS);
	fake.g[i].used = true;
	fake.g[i].index = fake.next_index;
	fake.g[i].ref0 = refs[0].ref;
	fake.g[i].count = req->count;
	req->index = fake.next_index;
	c->index = req->index;
	fake.next_index += req->count * PAGE;
	fake.grants++;
	return 0;
}

static int ungrant(struct call *c, struct vmmem__gntdev_unmap_grant_ref *req)
{
	unsigned i;

	c->index = req->index;
	c->count = req->count;
	for (i = 0; i < MAX_GRANTS; i++)
		if (fake.g[i].used && fake.g[i].index == req->index)
			break;
	assert_true(i < MAX_GRANTS);
	assert_int_equal(fake.g[i].count, req->count);
	fake.g[i].used = false;
	fake.grants--;
	return 0;
}

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	struct call *c = record(CALL_IOCTL);

	c->fd = fd;
	c->req = req;
	if (fake.fail_errno && fake.fail_req == req) {
		errno = fake.fail_errno;
		fake.fail_errno = 0;
		return -1;
	}
	switch (req) {
	case VMMEM__IOCTL_PRIVCMD_MMAPBATCH_V2:
		return batch(c, arg);
	case VMMEM__IOCTL_GNTDEV_MAP_GRANT_REF:
		return grant_ref(c, arg);
	case VMMEM__IOCTL_GNTDEV_UNMAP_GRANT_REF:
		return ungrant(c, arg);
	default:
		fail_msg("unexpected ioctl %#lx", req);
		return -1;
	}
}

static const struct vmmem__xen_ops fake_ops = {
	.mmap = fake_mmap,
	.munmap = fake_munmap,
	.ioctl = fake_ioctl,
};

static int setup(void **state)
{
	(void)state;
	memset(&fake, 0, sizeof(fake));
	fake.bad_page = -1;
	fake.next_index = 0x10000;
	fake.guest = memfd_create("guest", MFD_CLOEXEC);
	if (fake.guest < 0 || ftruncate(fake.guest, GUEST_PAGES * PAGE) != 0)
		return -1;
	sysmock_reset();
	vmmem__xen_set_ops(&fake_ops);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	vmmem__xen_set_ops(NULL);
	close(fake.guest);
	return 0;
}

/* The guest's view: page `page` of the memfd, at byte off. */
static void guest_read(uint64_t page, uint64_t off, void *buf, size_t len)
{
	assert_int_equal(pread(fake.guest, buf, len,
			       (off_t)(page * PAGE + off)),
			 (ssize_t)len);
}

static void guest_write(uint64_t page, uint64_t off, const void *buf,
			size_t len)
{
	assert_int_equal(pwrite(fake.guest, buf, len,
				(off_t)(page * PAGE + off)),
			 (ssize_t)len);
}

/* Nothing mapped or granted is left over. */
static void assert_clean(void)
{
	assert_int_equal(fake.maps, 0);
	assert_int_equal(fake.grants, 0);
}

/* An on-demand grant region of `pages` pages in a set of its own. */
static void make_demand(unsigned flags, unsigned pages,
			struct vmmem_region **r, struct vmmem **mem)
{
	fake.gntdev = true;
	assert_int_equal(vmmem_region_create_xen(GRANT_GPA, pages * PAGE, flags,
						 NAM, fake.guest, 0, DOMID, r),
			 0);
	assert_int_equal(vmmem_create(r, 1, mem), 0);
	fake.ncalls = 0;
}

static void drop(struct vmmem_region *r, struct vmmem *mem)
{
	vmmem_destroy(mem);
	vmmem_region_destroy(r);
	assert_clean();
}

/* Check call i as one on-demand access of `pages` grants from ref. */
static void assert_demand_access(unsigned i, uint64_t ref, unsigned pages,
				 int prot)
{
	const struct call *c = &fake.calls[i];
	unsigned k;

	assert_true(fake.ncalls >= i + 4);
	assert_int_equal(c[0].op, CALL_IOCTL);
	assert_int_equal(c[0].req, VMMEM__IOCTL_GNTDEV_MAP_GRANT_REF);
	assert_int_equal(c[0].count, pages);
	assert_int_equal(c[0].domid, DOMID);
	for (k = 0; k < pages && k < MAX_FRAMES; k++)
		assert_int_equal(c[0].frames[k], ref + k);
	assert_int_equal(c[1].op, CALL_MMAP);
	assert_null(c[1].hva);
	assert_int_equal(c[1].len, pages * PAGE);
	assert_int_equal(c[1].prot, prot);
	assert_int_equal(c[1].flags, MAP_SHARED);
	assert_int_equal(c[1].off, (off_t)c[0].index);
	assert_int_equal(c[2].op, CALL_MUNMAP);
	assert_int_equal(c[2].len, pages * PAGE);
	assert_int_equal(c[3].op, CALL_IOCTL);
	assert_int_equal(c[3].req, VMMEM__IOCTL_GNTDEV_UNMAP_GRANT_REF);
	assert_int_equal(c[3].index, c[0].index);
	assert_int_equal(c[3].count, pages);
}

static void test_xen_rejects_invalid_flag_combinations(void **state)
{
	static const unsigned bad[] = {
		VMMEM_XEN_FOREIGN | VMMEM_XEN_GRANT,
		VMMEM_XEN_FOREIGN | VMMEM_XEN_NO_ADVANCE_MAP,
		VMMEM_XEN_NO_ADVANCE_MAP,
		0x4,
		0x10,
		VMMEM_XEN_GRANT | 0x4,
		VMMEM_XEN_GRANT | 0x10,
		0x80000000u,
	};
	struct vmmem_region *r = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vmmem_region_create_xen(0, PAGE, 0, bad[i],
							 fake.guest, 0, DOMID,
							 &r),
				 -EINVAL);
	assert_null(r);
	assert_int_equal(fake.ncalls, 0);
	assert_int_equal(sysmock_calls(SYSMOCK_FCNTL), 0);
}

static void test_xen_rejects_bad_arguments_before_any_call(void **state)
{
	struct vmmem_region *r = NULL;

	(void)state;
	/* A file offset for the devices. */
	assert_int_equal(vmmem_region_create_xen(FOREIGN_GPA, PAGE, 0,
						 VMMEM_XEN_FOREIGN, fake.guest,
						 PAGE, DOMID, &r),
			 -EINVAL);
	assert_int_equal(vmmem_region_create_xen(GRANT_GPA, PAGE, 0, NAM,
						 fake.guest, PAGE, DOMID, &r),
			 -EINVAL);
	/* No fd (-EBADF, as for every POSIX call), an unaligned address, a
	 * domid beyond 16 bits, options the devices decide, zero length, no
	 * out. */
	assert_int_equal(vmmem_region_create_xen(GRANT_GPA, PAGE, 0,
						 VMMEM_XEN_GRANT, -1, 0, DOMID,
						 &r),
			 -EBADF);
	assert_int_equal(vmmem_region_create_xen(FOREIGN_GPA + 8, PAGE, 0,
						 VMMEM_XEN_FOREIGN, fake.guest,
						 0, DOMID, &r),
			 -EINVAL);
	assert_int_equal(vmmem_region_create_xen(GRANT_GPA, PAGE, 0,
						 VMMEM_XEN_GRANT, fake.guest, 0,
						 0x10000, &r),
			 -EINVAL);
	assert_int_equal(vmmem_region_create_xen(GRANT_GPA, PAGE,
						 VMMEM_REGION_GUARD,
						 VMMEM_XEN_GRANT, fake.guest, 0,
						 DOMID, &r),
			 -EINVAL);
	assert_int_equal(vmmem_region_create_xen(
				 FOREIGN_GPA, PAGE, VMMEM_REGION_PRIVATE,
				 VMMEM_XEN_FOREIGN, fake.guest, 0, DOMID, &r),
			 -EINVAL);
	assert_int_equal(vmmem_region_create_xen(GRANT_GPA, 0, 0,
						 VMMEM_XEN_GRANT, fake.guest, 0,
						 DOMID, &r),
			 -EINVAL);
	assert_int_equal(vmmem_region_create_xen(GRANT_GPA, PAGE, 0,
						 VMMEM_XEN_GRANT, fake.guest, 0,
						 DOMID, NULL),
			 -EINVAL);
	/* A grant ref past 32 bits. */
	assert_int_equal(vmmem_region_create_xen(VMMEM_XEN_GRANT_ADDR_OFF |
							 (0xffffffffull << 12),
						 2 * PAGE, 0, VMMEM_XEN_GRANT,
						 fake.guest, 0, DOMID, &r),
			 -EINVAL);
	assert_null(r);
	assert_int_equal(fake.ncalls, 0);
	assert_int_equal(sysmock_calls(SYSMOCK_FCNTL), 0);
}

static void test_xen_foreign_maps_every_frame_up_front(void **state)
{
	struct vmmem_region *r;
	struct vmmem *mem;
	const struct call *c = fake.calls;
	uint8_t buf[16];
	uint64_t v = 0;

	(void)state;
	assert_int_equal(vmmem_region_create_xen(FOREIGN_GPA, 3 * PAGE, 0,
						 VMMEM_XEN_FOREIGN, fake.guest,
						 0, DOMID, &r),
			 0);
	assert_int_equal(fake.ncalls, 2);
	assert_int_equal(c[0].op, CALL_MMAP);
	assert_null(c[0].hva);
	assert_int_equal(c[0].len, 3 * PAGE);
	assert_int_equal(c[0].prot, PROT_READ | PROT_WRITE);
	assert_int_equal(c[0].flags, MAP_SHARED);
	assert_int_equal(c[0].off, 0);
	/* The region's own duplicate of the fd, used for both calls. */
	assert_int_equal(c[0].fd, vmmem_region_fd(r));
	assert_int_not_equal(c[0].fd, fake.guest);
	assert_int_equal(c[1].op, CALL_IOCTL);
	assert_int_equal(c[1].fd, vmmem_region_fd(r));
	assert_int_equal(c[1].req, VMMEM__IOCTL_PRIVCMD_MMAPBATCH_V2);
	assert_int_equal(c[1].req, 0x205004);
	assert_int_equal(c[1].count, 3);
	assert_int_equal(c[1].domid, DOMID);
	assert_ptr_equal((void *)(uintptr_t)c[1].addr, vmmem_region_hva(r));
	assert_int_equal(c[1].frames[0], GFN0);
	assert_int_equal(c[1].frames[1], GFN0 + 1);
	assert_int_equal(c[1].frames[2], GFN0 + 2);
	assert_int_equal(vmmem_region_kind(r), VMMEM_REGION_XEN);
	assert_int_equal(vmmem_region_xen_flags(r), VMMEM_XEN_FOREIGN);
	assert_int_equal(vmmem_region_xen_domid(r), DOMID);

	/* Data goes to the guest's frames, and the fast paths take it. */
	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	assert_int_equal(vmmem_write(mem, FOREIGN_GPA + PAGE + 8, "foreign", 8),
			 0);
	guest_read(GFN0 + 1, 8, buf, 8);
	assert_string_equal((char *)buf, "foreign");
	guest_write(GFN0 + 2, 16, &(uint64_t){ 0x1122334455667788 }, 8);
	assert_int_equal(vmmem_read_u64(mem, FOREIGN_GPA + 2 * PAGE + 16, &v),
			 0);
	assert_int_equal(v, 0x1122334455667788);

	fake.ncalls = 0;
	drop(r, mem);
	assert_int_equal(fake.ncalls, 1);
	assert_int_equal(c[0].op, CALL_MUNMAP);
	assert_int_equal(c[0].len, 3 * PAGE);
}

static void test_xen_foreign_readonly_maps_read_only(void **state)
{
	struct vmmem_region *r;

	(void)state;
	assert_int_equal(vmmem_region_create_xen(FOREIGN_GPA, PAGE,
						 VMMEM_REGION_READONLY,
						 VMMEM_XEN_FOREIGN, fake.guest,
						 0, DOMID, &r),
			 0);
	assert_int_equal(fake.calls[0].prot, PROT_READ);
	vmmem_region_destroy(r);
	assert_clean();
}

static void test_xen_foreign_fails_when_one_page_fails(void **state)
{
	struct vmmem_region *r = NULL;
	long long mapped = sysmock_mapped_bytes();

	(void)state;
	fake.bad_page = 2;
	assert_int_equal(vmmem_region_create_xen(FOREIGN_GPA, 4 * PAGE, 0,
						 VMMEM_XEN_FOREIGN, fake.guest,
						 0, DOMID, &r),
			 -EFAULT);
	assert_null(r);
	/* mmap, the batch, and the unmap of the whole VMA. */
	assert_int_equal(fake.ncalls, 3);
	assert_int_equal(fake.calls[2].op, CALL_MUNMAP);
	assert_ptr_equal(fake.calls[2].hva, (void *)(uintptr_t)fake.calls[1].addr);
	assert_int_equal(fake.calls[2].len, 4 * PAGE);
	assert_clean();
	assert_int_equal(sysmock_mapped_bytes(), mapped);
}

static void test_xen_foreign_passes_ioctl_errno_through(void **state)
{
	struct vmmem_region *r = NULL;

	(void)state;
	fake.fail_req = VMMEM__IOCTL_PRIVCMD_MMAPBATCH_V2;
	fake.fail_errno = EPERM;
	assert_int_equal(vmmem_region_create_xen(FOREIGN_GPA, 2 * PAGE, 0,
						 VMMEM_XEN_FOREIGN, fake.guest,
						 0, DOMID, &r),
			 -EPERM);
	assert_int_equal(fake.ncalls, 3);
	assert_int_equal(fake.calls[2].op, CALL_MUNMAP);
	assert_clean();
	/* A failing mmap of the VMA: nothing else is called. */
	fake.ncalls = 0;
	fake.fail_mmap = ENOMEM;
	assert_int_equal(vmmem_region_create_xen(FOREIGN_GPA, 2 * PAGE, 0,
						 VMMEM_XEN_FOREIGN, fake.guest,
						 0, DOMID, &r),
			 -ENOMEM);
	assert_int_equal(fake.ncalls, 1);
	assert_null(r);
	assert_clean();
}

static void test_xen_grant_maps_consecutive_refs_up_front(void **state)
{
	struct vmmem_region *r;
	struct vmmem *mem;
	const struct call *c = fake.calls;
	uint8_t buf[8];
	uint64_t index;

	(void)state;
	fake.gntdev = true;
	assert_int_equal(vmmem_region_create_xen(GRANT_GPA, 2 * PAGE, 0,
						 VMMEM_XEN_GRANT, fake.guest, 0,
						 DOMID, &r),
			 0);
	assert_int_equal(fake.ncalls, 2);
	assert_int_equal(c[0].req, VMMEM__IOCTL_GNTDEV_MAP_GRANT_REF);
	assert_int_equal(c[0].req, 0x184700);
	assert_int_equal(c[0].fd, vmmem_region_fd(r));
	assert_int_equal(c[0].count, 2);
	assert_int_equal(c[0].domid, DOMID);
	assert_int_equal(c[0].frames[0], REF0);
	assert_int_equal(c[0].frames[1], REF0 + 1);
	assert_int_equal(c[1].op, CALL_MMAP);
	assert_int_equal(c[1].len, 2 * PAGE);
	assert_int_equal(c[1].prot, PROT_READ | PROT_WRITE);
	assert_int_equal(c[1].flags, MAP_SHARED);
	assert_int_equal(c[1].fd, vmmem_region_fd(r));
	assert_int_equal(c[1].off, (off_t)c[0].index);
	assert_non_null(vmmem_region_hva(r));
	index = c[0].index;

	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	assert_int_equal(vmmem_write_u32(mem, GRANT_GPA + PAGE + 4, 0xfeedf00d),
			 0);
	guest_read(REF0 + 1, 4, buf, 4);
	assert_int_equal(*(uint32_t *)(void *)buf, 0xfeedf00d);

	fake.ncalls = 0;
	drop(r, mem);
	assert_int_equal(fake.ncalls, 2);
	assert_int_equal(c[0].op, CALL_MUNMAP);
	assert_int_equal(c[0].len, 2 * PAGE);
	assert_int_equal(c[1].req, VMMEM__IOCTL_GNTDEV_UNMAP_GRANT_REF);
	assert_int_equal(c[1].req, 0x104701);
	assert_int_equal(c[1].index, index);
	assert_int_equal(c[1].count, 2);
}

static void test_xen_grant_failures_undo_and_pass_errno(void **state)
{
	struct vmmem_region *r = NULL;

	(void)state;
	fake.gntdev = true;
	fake.fail_req = VMMEM__IOCTL_GNTDEV_MAP_GRANT_REF;
	fake.fail_errno = ENOSPC;
	assert_int_equal(vmmem_region_create_xen(GRANT_GPA, PAGE, 0,
						 VMMEM_XEN_GRANT, fake.guest, 0,
						 DOMID, &r),
			 -ENOSPC);
	assert_int_equal(fake.ncalls, 1);
	/* mmap fails after the refs went in: they come out again. */
	fake.ncalls = 0;
	fake.fail_mmap = EINVAL;
	assert_int_equal(vmmem_region_create_xen(GRANT_GPA, PAGE, 0,
						 VMMEM_XEN_GRANT, fake.guest, 0,
						 DOMID, &r),
			 -EINVAL);
	assert_int_equal(fake.ncalls, 3);
	assert_int_equal(fake.calls[2].req, VMMEM__IOCTL_GNTDEV_UNMAP_GRANT_REF);
	assert_int_equal(fake.calls[2].index, fake.calls[0].index);
	assert_null(r);
	assert_clean();
}

static void test_xen_no_advance_map_maps_nothing_up_front(void **state)
{
	struct vmmem_region *r;

	(void)state;
	fake.gntdev = true;
	assert_int_equal(vmmem_region_create_xen(GRANT_GPA, 4 * PAGE, 0, NAM,
						 fake.guest, 0, DOMID, &r),
			 0);
	assert_int_equal(fake.ncalls, 0);
	assert_null(vmmem_region_hva(r));
	assert_int_equal(vmmem_region_xen_flags(r), NAM);
	assert_int_equal(vmmem_region_xen_domid(r), DOMID);
	assert_true(vmmem_region_is_owned(r));
	vmmem_region_destroy(r);
	assert_int_equal(fake.ncalls, 0);
}

static void test_xen_demand_write_and_read_cross_a_page(void **state)
{
	struct vmmem_region *r;
	struct vmmem *mem;
	char out[100], in[100];
	size_t i;

	(void)state;
	make_demand(0, 4, &r, &mem);
	for (i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 3 + 1);
	assert_int_equal(vmmem_write(mem, GRANT_GPA + 2 * PAGE - 50, out,
				     sizeof(out)),
			 0);
	assert_int_equal(fake.ncalls, 4);
	assert_demand_access(0, REF0 + 1, 2, PROT_WRITE);
	assert_clean();
	guest_read(REF0 + 1, PAGE - 50, in, 50);
	guest_read(REF0 + 2, 0, in + 50, 50);
	assert_memory_equal(in, out, sizeof(out));

	fake.ncalls = 0;
	memset(in, 0, sizeof(in));
	assert_int_equal(vmmem_read(mem, GRANT_GPA + 2 * PAGE - 50, in,
				    sizeof(in)),
			 0);
	assert_demand_access(0, REF0 + 1, 2, PROT_READ);
	assert_memory_equal(in, out, sizeof(out));
	assert_clean();
	drop(r, mem);
}

static void test_xen_demand_partial_and_fill_unmap_each_piece(void **state)
{
	struct vmmem_region *r;
	struct vmmem *mem;
	uint8_t buf[PAGE];
	size_t done = 0;

	(void)state;
	make_demand(0, 2, &r, &mem);
	assert_int_equal(vmmem_fill(mem, GRANT_GPA + 10, 0x5a, 20), 0);
	assert_demand_access(0, REF0, 1, PROT_WRITE);
	guest_read(REF0, 10, buf, 20);
	assert_int_equal(buf[0], 0x5a);
	assert_int_equal(buf[19], 0x5a);
	/* Past the end: the region's part is read, then the hole. */
	fake.ncalls = 0;
	assert_int_equal(vmmem_read_partial(mem, GRANT_GPA + PAGE, buf,
					    2 * PAGE, &done),
			 -EFAULT);
	assert_int_equal(done, PAGE);
	assert_demand_access(0, REF0 + 1, 1, PROT_READ);
	fake.ncalls = 0;
	assert_int_equal(vmmem_write_partial(mem, GRANT_GPA, buf, 8, &done),
			 0);
	assert_int_equal(done, 8);
	assert_clean();
	drop(r, mem);
}

static void test_xen_demand_large_copies_map_in_chunks(void **state)
{
	const size_t len = 300 * PAGE;
	struct vmmem_region *r;
	struct vmmem *mem;
	uint8_t *buf = malloc(len), last[4];

	(void)state;
	assert_non_null(buf);
	memset(buf, 0xab, len);
	make_demand(0, 400, &r, &mem);
	assert_int_equal(vmmem_write(mem, GRANT_GPA, buf, len), 0);
	/* 256 pages at most per mapping, then the other 44. */
	assert_int_equal(fake.ncalls, 8);
	assert_demand_access(0, REF0, 256, PROT_WRITE);
	assert_demand_access(4, REF0 + 256, 44, PROT_WRITE);
	guest_read(REF0 + 299, PAGE - 4, last, 4);
	assert_int_equal(last[3], 0xab);
	assert_clean();
	free(buf);
	drop(r, mem);
}

static void test_xen_demand_scalars_are_single_accesses(void **state)
{
	struct vmmem_region *r;
	struct vmmem *mem;
	uint64_t v = 0;
	uint8_t buf[8];

	(void)state;
	make_demand(0, 2, &r, &mem);
	assert_int_equal(vmmem_write_u64(mem, GRANT_GPA + PAGE + 8,
					 0x0102030405060708),
			 0);
	assert_int_equal(fake.ncalls, 4);
	assert_demand_access(0, REF0 + 1, 1, PROT_WRITE);
	guest_read(REF0 + 1, 8, buf, 8);
	assert_int_equal(*(uint64_t *)(void *)buf, 0x0102030405060708);
	fake.ncalls = 0;
	assert_int_equal(vmmem_read_u64(mem, GRANT_GPA + PAGE + 8, &v), 0);
	assert_int_equal(v, 0x0102030405060708);
	assert_demand_access(0, REF0 + 1, 1, PROT_READ);
	/* Misaligned across the page boundary: two pages, one mapping. */
	fake.ncalls = 0;
	assert_int_equal(vmmem_write_u32(mem, GRANT_GPA + PAGE - 2, 0xa1b2c3d4),
			 0);
	assert_demand_access(0, REF0, 2, PROT_WRITE);
	fake.ncalls = 0;
	assert_int_equal(vmmem_read_u16(mem, GRANT_GPA + PAGE - 1,
					&(uint16_t){ 0 }),
			 0);
	assert_demand_access(0, REF0, 2, PROT_READ);
	assert_clean();
	drop(r, mem);
}

static void test_xen_demand_atomics_map_the_page_for_the_op(void **state)
{
	struct vmmem_region *r;
	struct vmmem *mem;
	uint64_t old = 0, v = 0;
	uint32_t expected = 5;

	(void)state;
	make_demand(0, 2, &r, &mem);
	guest_write(REF0 + 1, 0, &(uint64_t){ 40 }, 8);
	assert_int_equal(vmmem_atomic_fetch_add_u64(mem, GRANT_GPA + PAGE, 2,
						    &old, __ATOMIC_SEQ_CST),
			 0);
	assert_int_equal(old, 40);
	assert_int_equal(fake.ncalls, 4);
	assert_demand_access(0, REF0 + 1, 1, PROT_READ | PROT_WRITE);
	assert_clean();
	fake.ncalls = 0;
	assert_int_equal(vmmem_atomic_load_u64(mem, GRANT_GPA + PAGE, &v,
					       __ATOMIC_ACQUIRE),
			 0);
	assert_int_equal(v, 42);
	assert_demand_access(0, REF0 + 1, 1, PROT_READ);
	fake.ncalls = 0;
	assert_int_equal(vmmem_atomic_store_u32(mem, GRANT_GPA + 16, 5,
						__ATOMIC_RELEASE),
			 0);
	assert_demand_access(0, REF0, 1, PROT_WRITE);
	fake.ncalls = 0;
	assert_int_equal(vmmem_atomic_cmpxchg_u32(mem, GRANT_GPA + 16,
						  &expected, 9,
						  __ATOMIC_SEQ_CST,
						  __ATOMIC_SEQ_CST),
			 1);
	assert_demand_access(0, REF0, 1, PROT_READ | PROT_WRITE);
	guest_read(REF0, 16, &expected, 4);
	assert_int_equal(expected, 9);
	/* Misaligned values and values running off the end fail before
	 * any mapping. */
	fake.ncalls = 0;
	assert_int_equal(vmmem_atomic_load_u64(mem, GRANT_GPA + 4, &v,
					       __ATOMIC_RELAXED),
			 -EINVAL);
	assert_int_equal(vmmem_atomic_load_u64(mem, GRANT_GPA + 2 * PAGE - 4,
					       &v, __ATOMIC_RELAXED),
			 -EFAULT);
	assert_int_equal(fake.ncalls, 0);
	assert_clean();
	drop(r, mem);
}

static void test_xen_demand_has_no_host_pointers(void **state)
{
	struct vmmem_region *r;
	struct vmmem *mem;
	struct vmmem_slice slice;
	struct iovec iov[2];
	void *hva = NULL;
	int n = -1;

	(void)state;
	make_demand(0, 2, &r, &mem);
	assert_int_equal(vmmem_get_ptr(mem, GRANT_GPA, 8, &hva), -ENOTSUP);
	assert_null(hva);
	assert_int_equal(vmmem_get_slice(mem, GRANT_GPA, 8, &slice), -ENOTSUP);
	assert_int_equal(vmmem_get_iovec(mem, GRANT_GPA, 8, 0, iov, 2, &n),
			 -ENOTSUP);
	assert_int_equal(n, 0);
	/* Backed, though: the range checks accept it. */
	assert_int_equal(vmmem_check_range(mem, GRANT_GPA, 2 * PAGE), 0);
	assert_int_equal(fake.ncalls, 0);
	drop(r, mem);
}

static void test_xen_demand_fd_io_maps_around_each_call(void **state)
{
	struct vmmem_region *r;
	struct vmmem *mem;
	char out[64], in[64];
	size_t done = 0;
	int p[2];

	(void)state;
	make_demand(0, 2, &r, &mem);
	memset(out, 'x', sizeof(out));
	memcpy(out, "through a pipe", 14);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], out, sizeof(out)), (ssize_t)sizeof(out));
	assert_int_equal(vmmem_read_from_fd(mem, GRANT_GPA + PAGE - 32,
					    sizeof(out), p[0], -1, &done),
			 0);
	assert_int_equal(done, sizeof(out));
	assert_int_equal(fake.ncalls, 4);
	assert_demand_access(0, REF0, 2, PROT_WRITE);
	guest_read(REF0, PAGE - 32, in, 32);
	guest_read(REF0 + 1, 0, in + 32, 32);
	assert_memory_equal(in, out, sizeof(out));
	assert_clean();

	fake.ncalls = 0;
	assert_int_equal(vmmem_write_to_fd(mem, GRANT_GPA + PAGE - 32,
					   sizeof(out), p[1], -1, &done),
			 0);
	assert_int_equal(done, sizeof(out));
	assert_demand_access(0, REF0, 2, PROT_READ);
	memset(in, 0, sizeof(in));
	assert_int_equal(read(p[0], in, sizeof(in)), (ssize_t)sizeof(in));
	assert_memory_equal(in, out, sizeof(out));
	assert_clean();

	/* EINTR is retried with a fresh mapping; nothing stays mapped. */
	fake.ncalls = 0;
	assert_int_equal(write(p[1], out, 16), 16);
	sysmock_fail(SYSMOCK_READV, 0, EINTR);
	assert_int_equal(vmmem_read_from_fd(mem, GRANT_GPA, 16, p[0], -1,
					    &done),
			 0);
	assert_int_equal(done, 16);
	assert_int_equal(fake.ncalls, 8);
	assert_clean();
	/* A short count continues with the rest. */
	fake.ncalls = 0;
	assert_int_equal(write(p[1], out, 16), 16);
	sysmock_short(SYSMOCK_READV, 10);
	assert_int_equal(vmmem_read_from_fd(mem, GRANT_GPA, 16, p[0], -1,
					    &done),
			 0);
	assert_int_equal(done, 16);
	assert_int_equal(fake.ncalls, 8);
	assert_demand_access(4, REF0, 1, PROT_WRITE);
	assert_clean();
	/* A hard error is passed through after unmapping. */
	sysmock_fail(SYSMOCK_WRITEV, 0, EPIPE);
	assert_int_equal(vmmem_write_to_fd(mem, GRANT_GPA, 16, p[1], -1, &done),
			 -EPIPE);
	assert_int_equal(done, 0);
	assert_clean();
	assert_true(sysmock_done());
	close(p[0]);
	close(p[1]);
	drop(r, mem);
}

static void test_xen_demand_writes_are_dirty_tracked(void **state)
{
	struct vmmem_region *r;
	struct vmmem *mem;

	(void)state;
	make_demand(VMMEM_REGION_DIRTY_LOG, 4, &r, &mem);
	assert_int_equal(vmmem_write(mem, GRANT_GPA + PAGE + 100, "dirty", 5),
			 0);
	assert_int_equal(vmmem_dirty_test(mem, GRANT_GPA + PAGE, PAGE), 1);
	assert_int_equal(vmmem_dirty_test(mem, GRANT_GPA, PAGE), 0);
	assert_int_equal(vmmem_write_u32(mem, GRANT_GPA + 2 * PAGE, 1), 0);
	assert_int_equal(vmmem_dirty_test(mem, GRANT_GPA + 2 * PAGE, PAGE), 1);
	assert_int_equal(vmmem_atomic_fetch_or_u32(mem, GRANT_GPA + 3 * PAGE,
						   1, NULL, __ATOMIC_RELAXED),
			 0);
	assert_int_equal(vmmem_dirty_test(mem, GRANT_GPA + 3 * PAGE, PAGE), 1);
	/* Reads mark nothing. */
	assert_int_equal(vmmem_dirty_clear(mem, GRANT_GPA, 4 * PAGE), 0);
	assert_int_equal(vmmem_read(mem, GRANT_GPA, &(uint64_t){ 0 }, 8), 0);
	assert_int_equal(vmmem_dirty_test(mem, GRANT_GPA, 4 * PAGE), 0);
	assert_clean();
	drop(r, mem);
}

static void test_xen_demand_mapping_failures_are_errors(void **state)
{
	struct vmmem_region *r;
	struct vmmem *mem;
	uint64_t v = 0;
	size_t done = 1;
	int p[2];

	(void)state;
	make_demand(0, 2, &r, &mem);
	fake.fail_req = VMMEM__IOCTL_GNTDEV_MAP_GRANT_REF;
	fake.fail_errno = ENOSPC;
	assert_int_equal(vmmem_write(mem, GRANT_GPA, "x", 1), -ENOSPC);
	assert_clean();
	fake.fail_mmap = ENOMEM;
	assert_int_equal(vmmem_read_u64(mem, GRANT_GPA, &v), -ENOMEM);
	assert_clean();
	fake.fail_errno = EIO;
	assert_int_equal(vmmem_write_u64(mem, GRANT_GPA, 1), -EIO);
	fake.fail_errno = EIO;
	assert_int_equal(vmmem_atomic_fetch_add_u64(mem, GRANT_GPA, 1, &v,
						    __ATOMIC_SEQ_CST),
			 -EIO);
	fake.fail_mmap = EAGAIN;
	assert_int_equal(vmmem_atomic_load_u32(mem, GRANT_GPA, &(uint32_t){ 0 },
					       __ATOMIC_SEQ_CST),
			 -EAGAIN);
	assert_int_equal(pipe(p), 0);
	fake.fail_errno = EFAULT;
	assert_int_equal(vmmem_write_to_fd(mem, GRANT_GPA, 8, p[1], -1, &done),
			 -EFAULT);
	assert_int_equal(done, 0);
	close(p[0]);
	close(p[1]);
	assert_clean();
	drop(r, mem);
}

static void test_xen_demand_readonly_refuses_writes_unmapped(void **state)
{
	struct vmmem_region *r;
	struct vmmem *mem;

	(void)state;
	make_demand(VMMEM_REGION_READONLY, 1, &r, &mem);
	assert_int_equal(vmmem_write(mem, GRANT_GPA, "x", 1), -EACCES);
	assert_int_equal(vmmem_write_u32(mem, GRANT_GPA, 1), -EACCES);
	assert_int_equal(vmmem_atomic_store_u32(mem, GRANT_GPA, 1,
						__ATOMIC_RELAXED),
			 -EACCES);
	assert_int_equal(fake.ncalls, 0);
	assert_int_equal(vmmem_read_u32(mem, GRANT_GPA, &(uint32_t){ 0 }), 0);
	assert_demand_access(0, REF0, 1, PROT_READ);
	drop(r, mem);
}

static void test_xen_demand_check_writable_maps_nothing(void **state)
{
	struct vmmem_region *r[2];
	struct vmmem *mem;

	(void)state;
	fake.gntdev = true;
	assert_int_equal(vmmem_region_create_xen(GRANT_GPA, PAGE, 0, NAM,
						 fake.guest, 0, DOMID, &r[0]),
			 0);
	assert_int_equal(vmmem_region_create_xen(GRANT_GPA + PAGE, PAGE,
						 VMMEM_REGION_READONLY, NAM,
						 fake.guest, 0, DOMID, &r[1]),
			 0);
	assert_int_equal(vmmem_create(r, 2, &mem), 0);
	fake.ncalls = 0;
	assert_int_equal(vmmem_check_writable(mem, GRANT_GPA, PAGE), 0);
	assert_int_equal(vmmem_check_writable(mem, GRANT_GPA + PAGE - 1, 2),
			 -EACCES);
	assert_int_equal(vmmem_check_writable(mem, GRANT_GPA + PAGE, PAGE + 1),
			 -EFAULT);
	assert_int_equal(fake.ncalls, 0);
	vmmem_destroy(mem);
	vmmem_region_destroy(r[0]);
	vmmem_region_destroy(r[1]);
	assert_clean();
}

static void test_xen_demand_copies_cross_into_other_regions(void **state)
{
	struct vmmem_region *r[2];
	struct vmmem *mem;
	uint8_t out[64], in[64];

	(void)state;
	fake.gntdev = true;
	assert_int_equal(vmmem_region_create_anon(GRANT_GPA - PAGE, PAGE, 0,
						  &r[0]),
			 0);
	assert_int_equal(vmmem_region_create_xen(GRANT_GPA, PAGE, 0, NAM,
						 fake.guest, 0, DOMID, &r[1]),
			 0);
	assert_int_equal(vmmem_create(r, 2, &mem), 0);
	memset(out, 0x77, sizeof(out));
	assert_int_equal(vmmem_write(mem, GRANT_GPA - 32, out, sizeof(out)), 0);
	assert_int_equal(vmmem_read(mem, GRANT_GPA - 32, in, sizeof(in)), 0);
	assert_memory_equal(in, out, sizeof(out));
	guest_read(REF0, 0, in, 32);
	assert_memory_equal(in, out, 32);
	assert_clean();
	vmmem_destroy(mem);
	vmmem_region_destroy(r[0]);
	vmmem_region_destroy(r[1]);
}

static void test_xen_unix_kind_maps_the_file(void **state)
{
	struct vmmem_region *r;
	struct vmmem *mem;
	char buf[8] = { 0 };

	(void)state;
	assert_int_equal(vmmem_region_create_xen(0x100000, 2 * PAGE, 0,
						 VMMEM_XEN_UNIX, fake.guest,
						 4 * PAGE, 0, &r),
			 0);
	assert_int_equal(fake.ncalls, 0);
	assert_int_equal(vmmem_region_kind(r), VMMEM_REGION_FILE);
	assert_int_equal(vmmem_region_xen_flags(r), VMMEM_XEN_UNIX);
	assert_int_equal(vmmem_region_xen_domid(r), 0);
	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	assert_int_equal(vmmem_write(mem, 0x100000 + PAGE, "unix", 5), 0);
	guest_read(5, 0, buf, 5);
	assert_string_equal(buf, "unix");
	/* A bad file offset is the file backend's -EINVAL. */
	assert_int_equal(vmmem_region_create_xen(0, PAGE, 0, VMMEM_XEN_UNIX,
						 fake.guest, 12, 0,
						 &(struct vmmem_region *){ 0 }),
			 -EINVAL);
	drop(r, mem);
}

static void test_xen_attach_without_xen_fails_cleanly(void **state)
{
	struct vmmem *mem = NULL;

	(void)state;
	assert_int_equal(vmmem_xen_attach(1, VMMEM_REGION_GUARD, &mem),
			 -EINVAL);
	assert_int_equal(vmmem_xen_attach(1, 0, NULL), -EINVAL);
	if (access("/dev/xen/privcmd", F_OK) == 0)
		skip();
	/* No hypervisor here: libxenctrl's error, and nothing made. */
	assert_true(vmmem_xen_attach(32000, 0, &mem) < 0);
	assert_null(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_xen_rejects_invalid_flag_combinations),
		T(test_xen_rejects_bad_arguments_before_any_call),
		T(test_xen_foreign_maps_every_frame_up_front),
		T(test_xen_foreign_readonly_maps_read_only),
		T(test_xen_foreign_fails_when_one_page_fails),
		T(test_xen_foreign_passes_ioctl_errno_through),
		T(test_xen_grant_maps_consecutive_refs_up_front),
		T(test_xen_grant_failures_undo_and_pass_errno),
		T(test_xen_no_advance_map_maps_nothing_up_front),
		T(test_xen_demand_write_and_read_cross_a_page),
		T(test_xen_demand_partial_and_fill_unmap_each_piece),
		T(test_xen_demand_large_copies_map_in_chunks),
		T(test_xen_demand_scalars_are_single_accesses),
		T(test_xen_demand_atomics_map_the_page_for_the_op),
		T(test_xen_demand_has_no_host_pointers),
		T(test_xen_demand_fd_io_maps_around_each_call),
		T(test_xen_demand_writes_are_dirty_tracked),
		T(test_xen_demand_mapping_failures_are_errors),
		T(test_xen_demand_readonly_refuses_writes_unmapped),
		T(test_xen_demand_check_writable_maps_nothing),
		T(test_xen_demand_copies_cross_into_other_regions),
		T(test_xen_unix_kind_maps_the_file),
		T(test_xen_attach_without_xen_fails_cleanly),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* !VMMEM_XEN */

/* Without VMMEM_XEN the Xen creators exist but refuse every kind. */
static void test_xen_creators_report_enotsup_without_xen(void **state)
{
	struct vmmem_region *r = NULL;
	struct vmmem *mem = NULL;

	(void)state;
	assert_int_equal(vmmem_region_create_xen(0, PAGE, 0, VMMEM_XEN_UNIX, 0,
						 0, 0, &r),
			 -ENOTSUP);
	assert_int_equal(vmmem_region_create_xen(0, PAGE, 0, VMMEM_XEN_GRANT, 0,
						 0, 1, &r),
			 -ENOTSUP);
	assert_int_equal(vmmem_xen_attach(1, 0, &mem), -ENOTSUP);
	assert_null(r);
	assert_null(mem);
}

static void test_xen_ordinary_regions_have_no_xen_flags(void **state)
{
	struct vmmem_region *r;

	(void)state;
	assert_int_equal(vmmem_region_create_anon(0, PAGE, 0, &r), 0);
	assert_int_equal(vmmem_region_xen_flags(r), 0);
	assert_int_equal(vmmem_region_xen_domid(r), 0);
	vmmem_region_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xen_creators_report_enotsup_without_xen),
		cmocka_unit_test(test_xen_ordinary_regions_have_no_xen_flags),
	};

	printf("test_xen: built without VMMEM_XEN; the mocked FOREIGN and "
	       "GRANT tests run in build/xen\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif /* VMMEM_XEN */
