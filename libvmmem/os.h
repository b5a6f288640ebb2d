/* SPDX-License-Identifier: MIT */
/*
 * os.h - what libvmmem's portable modules ask of the host system, besides
 * the region backends themselves (region.c on Linux, os_windows.c on
 * Windows).
 *
 * On Linux each of these is a static inline around the system call it has
 * always been (the dirty harvest's barrier stays in dirty.c), so the Linux
 * build makes the same calls as before; on Windows they are functions of
 * os_windows.c, and vmmem__fd_rw() of win32.c. Not installed.
 */
#ifndef VMMEM_OS_H
#define VMMEM_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <vmmem/platform.h>

/* The system's declarations stay outside the hidden block: one hidden
 * reference to mmap() would hide libc's for the whole shared library. */
#ifdef _WIN32
#include <sys/types.h>
#else
#include <limits.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#endif

#pragma GCC visibility push(hidden)

/*
 * A full memory barrier on every thread of the process, for the dirty
 * harvest (dirty.c: membarrier(2); os_windows.c:
 * FlushProcessWriteBuffers()).
 */
int vmmem__process_barrier(void);

#ifdef _WIN32

/* The protection bits of vmmem__demand_map() (PROT_* on Linux). */
#define PROT_NONE 0x0
#define PROT_READ 0x1
#define PROT_WRITE 0x2

/* An inaccessible reservation of len bytes, or NULL (errno is set). */
void *vmmem__reserve(size_t len);

/*
 * Give back [hva, hva + len) of a reservation from vmmem__reserve() whose
 * other parts regions may still use; the address space itself is
 * released with the last part.
 */
void vmmem__unreserve(void *hva, size_t len);

/*
 * vmmem__reserve(): a reservation is released only as a whole on Windows,
 * so there is no trimming an over-sized one to line it up for huge pages
 * (large pages there need a privilege and are all-or-nothing anyway).
 */
static inline void *vmmem__reserve_aligned(size_t len, uint64_t gpa,
					   size_t page)
{
	(void)gpa;
	(void)page;
	return vmmem__reserve(len);
}

/*
 * Sleep while *word == val, until woken, at most rel (NULL: no limit).
 * May return early; the caller rechecks.
 */
void vmmem__wait_on(uint32_t *word, uint32_t val, const struct timespec *rel);

/* Wake every thread sleeping on word. */
void vmmem__wake_all(uint32_t *word);

/* A full memory barrier on every thread of the process. */
int vmmem__process_barrier(void);

/*
 * One system call's worth of fd I/O for io.c, readv/preadv/writev/pwritev
 * in one: move the iovs (n > 0) from or to fd, at foff (>= 0) or at the
 * current position (-1). Returns the bytes moved, or -1 with errno set;
 * stops at the first short piece.
 */
ssize_t vmmem__fd_rw(vmmem_fd_t fd, const struct iovec *iov, int n,
		     int64_t foff, bool into_guest);

#else /* !_WIN32 */

static inline void *vmmem__reserve(size_t len)
{
	void *hva = mmap(NULL, len, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return hva == MAP_FAILED ? NULL : hva;
}

static inline void vmmem__unreserve(void *hva, size_t len)
{
	munmap(hva, len);
}

/*
 * An inaccessible reservation of len bytes whose address is congruent to
 * gpa modulo 2 MiB when len is at least that (so that guest memory can be
 * mapped with huge pages, both by the host and, for KVM, in the guest's
 * second-level page tables, which need the host and the guest address to
 * agree in their low 21 bits); only page-aligned otherwise, or when gpa is
 * not (page: the host's page size). NULL on failure.
 */
static inline void *vmmem__reserve_aligned(size_t len, uint64_t gpa,
					   size_t page)
{
	const size_t huge = 2u << 20;
	uintptr_t res, start;

	if (len < huge || len > SIZE_MAX - huge || (gpa & (page - 1)))
		return vmmem__reserve(len);
	res = (uintptr_t)vmmem__reserve(len + huge);
	if (!res)
		return NULL;
	start = res + (((uintptr_t)gpa - res) & (huge - 1));
	if (start > res)
		munmap((void *)res, start - res);
	munmap((void *)(start + len), res + huge - start);
	return (void *)start;
}

static inline void vmmem__wait_on(uint32_t *word, uint32_t val,
				  const struct timespec *rel)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, rel, NULL, 0);
}

static inline void vmmem__wake_all(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static inline ssize_t vmmem__fd_rw(vmmem_fd_t fd, const struct iovec *iov,
				   int n, int64_t foff, bool into_guest)
{
	if (into_guest)
		return foff < 0 ? readv(fd, iov, n) : preadv(fd, iov, n, foff);
	return foff < 0 ? writev(fd, iov, n) : pwritev(fd, iov, n, foff);
}

#endif /* _WIN32 */

#pragma GCC visibility pop

#endif /* VMMEM_OS_H */
