/* SPDX-License-Identifier: MIT */
/*
 * uffd.c - userfaultfd: creation and handshake, registration of a set's
 * anonymous regions, and the copy, zero-page and wake ioctls with their
 * retry rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>
#include <vmmem/uffd.h>

#include "internal.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef UFFD_FEATURE_SIGBUS
#define UFFD_FEATURE_SIGBUS (1 << 7)
#endif

_Static_assert(!(VMMEM_UFFD_SIGBUS & (O_CLOEXEC | O_NONBLOCK)),
	       "VMMEM_UFFD_SIGBUS must not be an O_ flag");

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif

/*
 * How many times an EAGAIN without progress is retried before it is
 * returned. The usual cause is an event (REMOVE) that has been queued but
 * not read: the thread that raised it holds the address space "changing"
 * until the reader takes the event and it has run on, which a few yields
 * cover when another thread reads; when the caller is the reader itself, no
 * number of retries helps, hence a small bound.
 */
#define UFFD_RETRIES 16

/* The ioctls a registered range must offer for a handler to serve it. */
#define UFFD_NEEDED_IOCTLS                                                     \
	((1ull << _UFFDIO_COPY) | (1ull << _UFFDIO_ZEROPAGE) |                 \
	 (1ull << _UFFDIO_WAKE))

static int uffd_syscall(int flags)
{
#ifdef __NR_userfaultfd
	return (int)syscall(__NR_userfaultfd, flags);
#else
	(void)flags;
	errno = ENOSYS;
	return -1;
#endif
}

/*
 * A new userfaultfd without handshake: the system call, or, when that is
 * refused, the device of Linux 6.1 (whose access is decided by its file
 * mode rather than by the sysctl). Returns the fd or a negative errno.
 */
static int uffd_create(int flags)
{
	int fd, dev, err;

	fd = uffd_syscall(flags);
	if (fd >= 0)
		return fd;
	err = -errno;
	if (err == -ENOSYS)
		return -ENOTSUP;
	if (err != -EPERM)
		return err;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -EPERM; /* the system call's answer is the useful one */
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, flags);
	err = -errno;
	close(dev);
	if (fd < 0)
		return err == -ENOTTY ? -EPERM : err;
	return fd;
}

/* The UFFDIO_API handshake; 0 or a negative errno. */
static int uffd_handshake(int fd, uint64_t features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };

	if (ioctl(fd, UFFDIO_API, &api) < 0)
		return -errno;
	if (!(api.ioctls & (1ull << _UFFDIO_REGISTER)))
		return -ENOTSUP;
	return 0;
}

/*
 * vmmem_uffd_open() with VMMEM_UFFD_SIGBUS: user-mode-only where the kernel
 * knows it (an older one says EINVAL to the flag), then the handshake with
 * UFFD_FEATURE_SIGBUS alone.
 */
static int uffd_open_sigbus(int flags, int *out_fd)
{
	int fd = uffd_create(flags | UFFD_USER_MODE_ONLY), rc;

	if (fd == -EINVAL)
		fd = uffd_create(flags);
	if (fd < 0)
		return fd;
	rc = uffd_handshake(fd, UFFD_FEATURE_SIGBUS);
	if (rc) {
		close(fd);
		return rc == -EINVAL ? -ENOTSUP : rc;
	}
	*out_fd = fd;
	return 0;
}

int vmmem_uffd_open(int flags, int *out_fd)
{
	int fd, rc;

	if (!out_fd)
		return -EINVAL;
	*out_fd = -1;
	if (flags & ~(O_CLOEXEC | O_NONBLOCK | VMMEM_UFFD_SIGBUS))
		return -EINVAL;
	if (flags & VMMEM_UFFD_SIGBUS)
		return uffd_open_sigbus(flags & ~VMMEM_UFFD_SIGBUS, out_fd);
	fd = uffd_create(flags);
	if (fd < 0)
		return fd;
	rc = uffd_handshake(fd, UFFD_FEATURE_EVENT_REMOVE);
	if (rc == -EINVAL) {
		/*
		 * A kernel that does not know the feature refuses the whole
		 * handshake, and a userfaultfd takes only one: start over
		 * with a fresh one and no features.
		 */
		close(fd);
		fd = uffd_create(flags);
		if (fd < 0)
			return fd;
		rc = uffd_handshake(fd, 0);
	}
	if (rc) {
		close(fd);
		return rc == -EINVAL ? -ENOTSUP : rc;
	}
	*out_fd = fd;
	return 0;
}

/*
 * Whether a region can be served through a userfaultfd: private anonymous
 * memory in small pages, mapped up front. 0 or -ENOTSUP.
 */
static int uffd_region_ok(const struct vmmem_region *r)
{
	if (r->kind != VMMEM_REGION_ANON || !r->hva)
		return -ENOTSUP;
	if (r->flags & VMMEM_REGION_HUGETLB)
		return -ENOTSUP;
	/* Anonymous mappings start on a page; checked all the same, since
	 * the ioctl would only say EINVAL. */
	if ((uintptr_t)r->hva & (VMMEM_UFFD_PAGE_SIZE - 1))
		return -ENOTSUP;
	return 0;
}

/* A region's host range rounded out to whole pages. */
static struct uffdio_range uffd_region_range(const struct vmmem_region *r)
{
	struct uffdio_range range = {
		.start = (uintptr_t)r->hva,
		.len = (r->len + VMMEM_UFFD_PAGE_SIZE - 1) &
		       ~(uint64_t)(VMMEM_UFFD_PAGE_SIZE - 1),
	};

	return range;
}

static int uffd_check_set(struct vmmem *mem, int uffd)
{
	size_t i, n;
	int rc;

	if (!mem)
		return -EINVAL;
	if (uffd < 0)
		return -EBADF;
	n = vmmem_region_count(mem);
	for (i = 0; i < n; i++) {
		rc = uffd_region_ok(vmmem_region_at(mem, i));
		if (rc)
			return rc;
	}
	return 0;
}

static int uffd_unregister_one(int uffd, const struct vmmem_region *r)
{
	struct uffdio_range range = uffd_region_range(r);

	if (ioctl(uffd, UFFDIO_UNREGISTER, &range) < 0)
		return -errno;
	return 0;
}

int vmmem_uffd_register(struct vmmem *mem, int uffd)
{
	size_t i, n;
	int rc = uffd_check_set(mem, uffd);

	if (rc)
		return rc;
	n = vmmem_region_count(mem);
	for (i = 0; i < n; i++) {
		const struct vmmem_region *r = vmmem_region_at(mem, i);
		struct uffdio_register reg = {
			.range = uffd_region_range(r),
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (ioctl(uffd, UFFDIO_REGISTER, &reg) < 0) {
			rc = -errno;
			goto err_unregister;
		}
		if ((reg.ioctls & UFFD_NEEDED_IOCTLS) != UFFD_NEEDED_IOCTLS) {
			/* Registered, but not servable: undo this one too. */
			uffd_unregister_one(uffd, r);
			rc = -ENOTSUP;
			goto err_unregister;
		}
	}
	return 0;

err_unregister:
	while (i-- > 0)
		uffd_unregister_one(uffd, vmmem_region_at(mem, i));
	return rc;
}

int vmmem_uffd_unregister(struct vmmem *mem, int uffd)
{
	size_t i, n;
	int rc = uffd_check_set(mem, uffd);

	if (rc)
		return rc;
	n = vmmem_region_count(mem);
	for (i = 0; i < n; i++) {
		int err = uffd_unregister_one(uffd, vmmem_region_at(mem, i));

		if (err && !rc)
			rc = err;
	}
	return rc;
}

/* A destination range for the ioctls: aligned, non-empty, no wrap. */
static int uffd_check_range(uint64_t hva, uint64_t len)
{
	const uint64_t mask = VMMEM_UFFD_PAGE_SIZE - 1;

	if (len == 0 || (hva & mask) || (len & mask) || hva + len < hva)
		return -EINVAL;
	return 0;
}

int vmmem_uffd_wake(int uffd, uint64_t hva, uint64_t len)
{
	struct uffdio_range range = { .start = hva, .len = len };
	int rc = uffd_check_range(hva, len);

	if (rc)
		return rc;
	if (ioctl(uffd, UFFDIO_WAKE, &range) < 0)
		return -errno;
	return 0;
}

/*
 * One UFFDIO_COPY (src != NULL) or UFFDIO_ZEROPAGE of [dst, dst + len).
 * Returns 0 when it all went in, or a negative errno with *done set to the
 * bytes placed before it stopped (the kernel reports a partial operation
 * as EAGAIN with the count in the struct; on other errors the count field
 * holds the negated errno, so *done is 0).
 */
static int uffd_place(int uffd, uint64_t dst, const uint8_t *src, uint64_t len,
		      uint64_t *done)
{
	int64_t count;
	int rc;

	*done = 0;
	if (src) {
		struct uffdio_copy c = {
			.dst = dst,
			.src = (uintptr_t)src,
			.len = len,
		};

		rc = ioctl(uffd, UFFDIO_COPY, &c) < 0 ? -errno : 0;
		count = c.copy;
	} else {
		struct uffdio_zeropage z = {
			.range = { .start = dst, .len = len },
		};

		rc = ioctl(uffd, UFFDIO_ZEROPAGE, &z) < 0 ? -errno : 0;
		count = z.zeropage;
	}
	if (rc == 0)
		return 0;
	/* Only whole pages are placed; never trust a count past the end. */
	if (count > 0 && (uint64_t)count < len &&
	    !(count & (VMMEM_UFFD_PAGE_SIZE - 1)))
		*done = (uint64_t)count;
	return rc;
}

/*
 * The loop behind vmmem_uffd_copy() and vmmem_uffd_zero(). Every round
 * either places at least one page, skips a present one, or uses up one of
 * UFFD_RETRIES, so it ends after at most len / page + UFFD_RETRIES rounds.
 */
static int uffd_fill(int uffd, uint64_t dst, const uint8_t *src, uint64_t len)
{
	unsigned retries = 0;
	uint64_t done;
	int rc;

	while (len) {
		rc = uffd_place(uffd, dst, src, len, &done);
		if (rc == 0)
			return 0;
		if (done) {
			/* A partial copy: go on from the first page missed. */
			dst += done;
			src = src ? src + done : NULL;
			len -= done;
			continue;
		}
		if (rc == -EEXIST) {
			/*
			 * The first page is there already: someone else placed
			 * it. Wake its waiters in case that was done without
			 * waking, and carry on with the next page.
			 */
			vmmem_uffd_wake(uffd, dst, VMMEM_UFFD_PAGE_SIZE);
			dst += VMMEM_UFFD_PAGE_SIZE;
			src = src ? src + VMMEM_UFFD_PAGE_SIZE : NULL;
			len -= VMMEM_UFFD_PAGE_SIZE;
			continue;
		}
		if (rc == -EAGAIN && retries++ < UFFD_RETRIES) {
			sched_yield();
			continue;
		}
		return rc;
	}
	return 0;
}

int vmmem_uffd_copy(int uffd, uint64_t dst_hva, const void *src, uint64_t len)
{
	int rc = uffd_check_range(dst_hva, len);

	if (rc)
		return rc;
	if (!src || (uintptr_t)src + len < (uintptr_t)src)
		return -EINVAL;
	return uffd_fill(uffd, dst_hva, src, len);
}

int vmmem_uffd_zero(int uffd, uint64_t dst_hva, uint64_t len)
{
	int rc = uffd_check_range(dst_hva, len);

	if (rc)
		return rc;
	return uffd_fill(uffd, dst_hva, NULL, len);
}
