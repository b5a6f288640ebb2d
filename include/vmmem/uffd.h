/* SPDX-License-Identifier: MIT */
/*
 * vmmem/uffd.h - guest memory filled on demand through userfaultfd(2).
 *
 * Lazy restore: a VMM restoring a snapshot maps guest RAM as empty private
 * anonymous memory and registers it with a userfaultfd; every first touch of
 * a page, by a vCPU, by KVM or by a device model, then stops the touching
 * thread and sends a MISSING fault to whoever reads the userfaultfd, usually
 * a page-fault handler in another process. The handler places the page with
 * UFFDIO_COPY (data from the snapshot's memory file) or UFFDIO_ZEROPAGE (a
 * hole in it), which also wakes the waiting thread.
 *
 * The VMM side needs vmmem_uffd_open() and vmmem_uffd_register(); the handler
 * side needs vmmem_uffd_copy() and vmmem_uffd_zero(), which hide the
 * ioctls' retry rules:
 *   EEXIST  the page is already there (another copy won a race, or a prefetch
 *           placed it): the page counts as done;
 *   EAGAIN  with progress: a partial copy, continued from where it stopped;
 *           without progress: the address space is changing (a REMOVE event
 *           that the reader has not read yet), retried a bounded number of
 *           times and then returned, so that the caller reads its events.
 *
 * A second use needs no handler: a process that fills fresh memory itself
 * (a migration's destination, say) places each page once with
 * vmmem_uffd_copy(), which allocates it and copies the data in without
 * zeroing it first, as the first write into an ordinary anonymous page must.
 * Such a process opens its userfaultfd with VMMEM_UFFD_SIGBUS, so that a
 * stray access to a page not yet placed fails at once instead of waiting for
 * a reader that does not exist.
 *
 * Host addresses are uint64_t because a handler works on another process's
 * address space: it never dereferences them.
 *
 * Thread safety: every function may be called from any number of threads.
 * Linux only (userfaultfd(2), Linux 4.11 or later for REMOVE events). On
 * Windows every function here returns -ENOTSUP (vmmem/platform.h).
 */
#ifndef VMMEM_UFFD_H
#define VMMEM_UFFD_H

#include <stdint.h>

struct vmmem;

/* The unit a handler places: dst_hva and len are multiples of it. */
#define VMMEM_UFFD_PAGE_SIZE 4096u

/*
 * A flag of vmmem_uffd_open(): faults never wait. A missing page of a
 * registered range raises SIGBUS when user code touches it, and the kernel's
 * accesses to it (a read(2) into it, KVM) fail with EFAULT. Not a bit of any
 * O_ flag.
 */
#define VMMEM_UFFD_SIGBUS 0x40000000

/**
 * vmmem_uffd_open() - create a userfaultfd and do the API handshake.
 * @flags: O_CLOEXEC and O_NONBLOCK (from <fcntl.h>) and VMMEM_UFFD_SIGBUS,
 *         or-ed; 0 for none.
 * @out_fd: receives the new userfaultfd (the caller's, close it with
 *          close(2)); -1 on error.
 *
 * The handshake (UFFDIO_API) asks for UFFD_FEATURE_EVENT_REMOVE, so that a
 * reader learns when madvise(MADV_DONTNEED) or MADV_REMOVE drops pages of a
 * registered range (a balloon, for instance): those pages fault again
 * later. A kernel without that feature gets a userfaultfd without it.
 *
 * Without VMMEM_UFFD_SIGBUS, the userfaultfd reports faults raised by the
 * kernel too (KVM reading guest memory is one), so it is not a
 * user-mode-only one. When userfaultfd(2)
 * refuses, /dev/userfaultfd (Linux 6.1 and later) is tried, whose file mode
 * decides who may use it.
 *
 * With VMMEM_UFFD_SIGBUS the handshake asks for UFFD_FEATURE_SIGBUS instead
 * (Linux 4.14), and no events: nobody reads this userfaultfd, and an event
 * would hold up the thread that raised it until somebody did. Such a
 * userfaultfd is user-mode-only where the kernel knows that (Linux 5.11):
 * a kernel access fails with EFAULT either way, and a user-mode-only one
 * needs no privilege.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL out_fd or other flags; -EPERM when the kernel
 * does not let this process handle kernel faults: an unprivileged process
 * needs the sysctl vm.unprivileged_userfaultfd = 1, the capability
 * CAP_SYS_PTRACE, or read and write access to /dev/userfaultfd (root always
 * may; with VMMEM_UFFD_SIGBUS anyone may, from Linux 5.11); -ENOTSUP when
 * the kernel has no userfaultfd (built without CONFIG_USERFAULTFD) or the
 * handshake fails (also when it lacks UFFD_FEATURE_SIGBUS for
 * VMMEM_UFFD_SIGBUS); -EMFILE, -ENFILE, -ENOMEM from userfaultfd(2).
 */
int vmmem_uffd_open(int flags, int *out_fd);

/**
 * vmmem_uffd_register() - register every region of a set for MISSING faults.
 * @mem: the set; held by the caller for as long as the registration matters
 *       (the registration lives in the mappings, not in @mem).
 * @uffd: a userfaultfd after its handshake (vmmem_uffd_open()).
 *
 * Each region's host range, from its first byte to its length rounded up
 * to whole pages, is registered with UFFDIO_REGISTER_MODE_MISSING. From then
 * on the first touch of every page that is not yet present waits until the
 * reader of @uffd places it. Register before the memory is touched: pages
 * already present never fault.
 *
 * Only private anonymous memory (vmmem_region_create_anon(),
 * vmmem_create_anon()) is accepted, because a MISSING fault there is what
 * UFFDIO_COPY and UFFDIO_ZEROPAGE answer: memfd and file regions are page
 * cache (shared), borrowed regions are not libvmmem's to describe, huge-page
 * regions would need 2 MiB copies, and Xen regions are not ordinary
 * mappings. Every region is checked before the first is registered; when a
 * registration fails, those already done are undone.
 *
 * Return: 0 on success (also for an empty set).
 * Errors: -EINVAL for a NULL mem; -EBADF for a negative uffd; -ENOTSUP for a set with
 * a region that is not anonymous, is HUGETLB, or has no host mapping, or
 * when the kernel does not offer UFFDIO_COPY and UFFDIO_ZEROPAGE on the
 * range (nothing is registered); -EBUSY when a range is already registered
 * with another userfaultfd; the negative errno of the ioctl otherwise
 * (-EINVAL for a userfaultfd without handshake, -ENOTTY for an fd that is
 * not a userfaultfd, -EBADF).
 */
int vmmem_uffd_register(struct vmmem *mem, int uffd);

/**
 * vmmem_uffd_unregister() - undo vmmem_uffd_register().
 * @mem: the set that was registered.
 * @uffd: the userfaultfd it was registered with.
 *
 * Pages not yet placed read as zero from then on, as in any anonymous
 * mapping. A VMM may unregister once a handler reports that every page is in
 * place, which saves the kernel the userfaultfd checks of later faults
 * (MADV_DONTNEED by a balloon, for instance).
 *
 * Every region is tried even after an error.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL mem; -EBADF for a negative uffd; -ENOTSUP as
 * vmmem_uffd_register() (nothing is unregistered); the first negative errno
 * of the ioctl.
 */
int vmmem_uffd_unregister(struct vmmem *mem, int uffd);

/**
 * vmmem_uffd_copy() - place pages with UFFDIO_COPY and wake their waiters.
 * @uffd: the userfaultfd the destination is registered with.
 * @dst_hva: first destination byte, in the address space that registered
 *           the range; a multiple of VMMEM_UFFD_PAGE_SIZE.
 * @src: the data, in this process; len readable bytes, any alignment.
 * @len: a non-zero multiple of VMMEM_UFFD_PAGE_SIZE.
 *
 * A partial copy continues where it stopped. A page that is already present
 * (EEXIST) is left as it is, counts as done, and its waiters are woken; the
 * copy goes on with the next page. When the kernel answers EAGAIN without
 * progress (the address space is changing: an event such as REMOVE waits to
 * be read from @uffd), the same call is retried a few times, yielding the
 * CPU in between, then -EAGAIN is returned. The pages before the failing one
 * are in place on every error.
 *
 * Return: 0 when every page of the range is present.
 * Errors: -EINVAL for a NULL src, a zero len, an unaligned dst_hva or len,
 * or a range that wraps; -EAGAIN as above: read the events pending on @uffd,
 * then try again; -ENOENT when the range is not registered with @uffd (or no
 * longer mapped); -ESRCH when the process owning the memory has exited;
 * -EFAULT when src is not readable; -ENOMEM; other negative errno values of
 * the ioctl.
 */
int vmmem_uffd_copy(int uffd, uint64_t dst_hva, const void *src, uint64_t len);

/**
 * vmmem_uffd_zero() - place zero pages with UFFDIO_ZEROPAGE.
 * @uffd: the userfaultfd the destination is registered with.
 * @dst_hva: first destination byte; a multiple of VMMEM_UFFD_PAGE_SIZE.
 * @len: a non-zero multiple of VMMEM_UFFD_PAGE_SIZE.
 *
 * The same rules as vmmem_uffd_copy(): partial progress continues, present
 * pages count as done, EAGAIN without progress is retried a few times. The
 * kernel maps the shared zero page read-only; a later write by the guest
 * takes an ordinary copy-on-write fault, which userfaultfd does not report.
 *
 * Return: 0 when every page of the range is present.
 * Errors: as vmmem_uffd_copy(), without the src ones.
 */
int vmmem_uffd_zero(int uffd, uint64_t dst_hva, uint64_t len);

/**
 * vmmem_uffd_wake() - wake the threads waiting on faults in a range.
 * @uffd: the userfaultfd.
 * @hva: first byte; a multiple of VMMEM_UFFD_PAGE_SIZE.
 * @len: a non-zero multiple of VMMEM_UFFD_PAGE_SIZE.
 *
 * vmmem_uffd_copy() and vmmem_uffd_zero() wake by themselves; this is for a
 * page that was placed some other way. A woken thread whose page is still
 * missing faults again.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for an unaligned or empty range, or one that wraps; the
 * negative errno of the ioctl.
 */
int vmmem_uffd_wake(int uffd, uint64_t hva, uint64_t len);

#endif /* VMMEM_UFFD_H */
