/* SPDX-License-Identifier: MIT */
/* See sysmock.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <linux/membarrier.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sysmock.h"

/*
 * On a 32-bit host with a 64-bit off_t (_FILE_OFFSET_BITS=64), glibc's
 * headers rename the functions that take one: the library calls mmap64,
 * ftruncate64, fcntl64, preadv64 and pwritev64, and the tests wrap those
 * names (ports/linux.ninja). The wrappers below are the same code.
 */
#if defined(__GLIBC__) && _FILE_OFFSET_BITS == 64 && __SIZEOF_LONG__ == 4
#define __real_mmap __real_mmap64
#define __wrap_mmap __wrap_mmap64
#define __real_ftruncate __real_ftruncate64
#define __wrap_ftruncate __wrap_ftruncate64
#define __real_fcntl __real_fcntl64
#define __wrap_fcntl __wrap_fcntl64
#define __real_preadv __real_preadv64
#define __wrap_preadv __wrap_preadv64
#define __real_pwritev __real_pwritev64
#define __wrap_pwritev __wrap_pwritev64
#endif

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off);
int __real_munmap(void *addr, size_t len);
int __real_madvise(void *addr, size_t len, int advice);
int __real_memfd_create(const char *name, unsigned flags);
int __real_ftruncate(int fd, off_t len);
int __real_fcntl(int fd, int cmd, ...);
void *__real_calloc(size_t n, size_t size);
void *__real_malloc(size_t size);
void *__real_realloc(void *p, size_t size);
ssize_t __real_readv(int fd, const struct iovec *iov, int n);
ssize_t __real_preadv(int fd, const struct iovec *iov, int n, off_t off);
ssize_t __real_writev(int fd, const struct iovec *iov, int n);
ssize_t __real_pwritev(int fd, const struct iovec *iov, int n, off_t off);
int __real_ioctl(int fd, unsigned long req, ...);

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off);
int __wrap_munmap(void *addr, size_t len);
int __wrap_madvise(void *addr, size_t len, int advice);
int __wrap_memfd_create(const char *name, unsigned flags);
int __wrap_ftruncate(int fd, off_t len);
int __wrap_fcntl(int fd, int cmd, ...);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_realloc(void *p, size_t size);
ssize_t __wrap_readv(int fd, const struct iovec *iov, int n);
ssize_t __wrap_preadv(int fd, const struct iovec *iov, int n, off_t off);
ssize_t __wrap_writev(int fd, const struct iovec *iov, int n);
ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int n, off_t off);
int __wrap_ioctl(int fd, unsigned long req, ...);

struct script {
	int armed;
	int skip;
	int err;
	size_t short_max;	/* 0: no short count scripted */
	unsigned calls;
};

static __thread struct script scripts[SYSMOCK_COUNT];
static __thread struct sysmock_last last;
static __thread long long mapped_bytes;

long long sysmock_mapped_bytes(void)
{
	return mapped_bytes;
}

/* Length rounded up to whole pages, as the kernel counts it. */
static long long pages(size_t len)
{
	return (long long)((len + 4095) & ~(size_t)4095);
}

void sysmock_fail(enum sysmock_fn fn, int skip, int err)
{
	scripts[fn].armed = 1;
	scripts[fn].skip = skip;
	scripts[fn].err = err;
}

void sysmock_short(enum sysmock_fn fn, size_t max)
{
	scripts[fn].short_max = max;
}

int sysmock_done(void)
{
	for (int i = 0; i < SYSMOCK_COUNT; i++)
		if (scripts[i].armed || scripts[i].short_max)
			return 0;
	return 1;
}

void sysmock_reset(void)
{
	for (int i = 0; i < SYSMOCK_COUNT; i++)
		scripts[i] = (struct script){ 0 };
	last = (struct sysmock_last){ 0 };
	mapped_bytes = 0;
}

unsigned sysmock_calls(enum sysmock_fn fn)
{
	return scripts[fn].calls;
}

const struct sysmock_last *sysmock_last(void)
{
	return &last;
}

/* Count a call of fn; return the errno to fail it with, or 0. */
static int consume(enum sysmock_fn fn)
{
	struct script *s = &scripts[fn];

	s->calls++;
	if (!s->armed)
		return 0;
	if (s->skip > 0) {
		s->skip--;
		return 0;
	}
	s->armed = 0;
	return s->err;
}

/* Shorten an iovec array to at most max bytes, if a short count is
 * scripted; returns the number of entries to pass on. */
static int shorten(enum sysmock_fn fn, const struct iovec *iov, int n,
		   struct iovec *tmp)
{
	size_t max = scripts[fn].short_max, left;
	int i;

	if (!max || n <= 0 || n > 64)
		return -1;
	scripts[fn].short_max = 0;
	left = max;
	for (i = 0; i < n && left; i++) {
		tmp[i] = iov[i];
		if (tmp[i].iov_len > left)
			tmp[i].iov_len = left;
		left -= tmp[i].iov_len;
	}
	return i;
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd,
		  off_t off)
{
	int err = consume(SYSMOCK_MMAP);
	void *p;

	last.mmap_prot = prot;
	last.mmap_flags = flags;
	if (err) {
		errno = err;
		return MAP_FAILED;
	}
	p = __real_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && !(flags & MAP_FIXED))
		mapped_bytes += pages(len);
	return p;
}

int __wrap_munmap(void *addr, size_t len)
{
	int err = consume(SYSMOCK_MUNMAP);

	int rc;

	if (err) {
		errno = err;
		return -1;
	}
	rc = __real_munmap(addr, len);
	if (rc == 0)
		mapped_bytes -= pages(len);
	return rc;
}

long __real_syscall(long nr, ...);
long __wrap_syscall(long nr, ...);

/*
 * syscall(2): only membarrier's barriers (not its query or registration)
 * can be made to fail; every call passes its six argument words on.
 */
long __wrap_syscall(long nr, ...)
{
	long a[6];
	va_list ap;
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
#ifdef SYS_membarrier
	if (nr == SYS_membarrier && a[0] != MEMBARRIER_CMD_QUERY &&
	    a[0] != MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) {
		int err = consume(SYSMOCK_MEMBARRIER);

		if (err) {
			errno = err;
			return -1;
		}
	}
#endif
	return __real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

int __wrap_madvise(void *addr, size_t len, int advice)
{
	int err = consume(SYSMOCK_MADVISE);

	last.madvise_advice = advice;
	if (err) {
		errno = err;
		return -1;
	}
	return __real_madvise(addr, len, advice);
}

int __wrap_memfd_create(const char *name, unsigned flags)
{
	int err = consume(SYSMOCK_MEMFD_CREATE);

	last.memfd_flags = flags;
	if (err) {
		errno = err;
		return -1;
	}
	return __real_memfd_create(name, flags);
}

int __wrap_ftruncate(int fd, off_t len)
{
	int err = consume(SYSMOCK_FTRUNCATE);

	if (err) {
		errno = err;
		return -1;
	}
	return __real_ftruncate(fd, len);
}

/* libvmmem only calls fcntl with an int (or no) third argument. */
int __wrap_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;
	int err;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	err = consume(SYSMOCK_FCNTL);
	last.fcntl_cmd = cmd;
	last.fcntl_arg = arg;
	if (err) {
		errno = err;
		return -1;
	}
	return __real_fcntl(fd, cmd, arg);
}

void *__wrap_calloc(size_t n, size_t size)
{
	int err = consume(SYSMOCK_CALLOC);

	if (err) {
		errno = err;
		return NULL;
	}
	return __real_calloc(n, size);
}

void *__wrap_malloc(size_t size)
{
	int err = consume(SYSMOCK_MALLOC);

	if (err) {
		errno = err;
		return NULL;
	}
	return __real_malloc(size);
}

void *__wrap_realloc(void *p, size_t size)
{
	int err = consume(SYSMOCK_REALLOC);

	if (err) {
		errno = err;
		return NULL;
	}
	return __real_realloc(p, size);
}

ssize_t __wrap_readv(int fd, const struct iovec *iov, int n)
{
	struct iovec tmp[64];
	int err = consume(SYSMOCK_READV), m;

	if (err) {
		errno = err;
		return -1;
	}
	m = shorten(SYSMOCK_READV, iov, n, tmp);
	return m < 0 ? __real_readv(fd, iov, n) : __real_readv(fd, tmp, m);
}

ssize_t __wrap_preadv(int fd, const struct iovec *iov, int n, off_t off)
{
	struct iovec tmp[64];
	int err = consume(SYSMOCK_PREADV), m;

	if (err) {
		errno = err;
		return -1;
	}
	m = shorten(SYSMOCK_PREADV, iov, n, tmp);
	return m < 0 ? __real_preadv(fd, iov, n, off) :
		       __real_preadv(fd, tmp, m, off);
}

ssize_t __wrap_writev(int fd, const struct iovec *iov, int n)
{
	struct iovec tmp[64];
	int err = consume(SYSMOCK_WRITEV), m;

	if (err) {
		errno = err;
		return -1;
	}
	m = shorten(SYSMOCK_WRITEV, iov, n, tmp);
	return m < 0 ? __real_writev(fd, iov, n) : __real_writev(fd, tmp, m);
}

ssize_t __wrap_pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	struct iovec tmp[64];
	int err = consume(SYSMOCK_PWRITEV), m;

	if (err) {
		errno = err;
		return -1;
	}
	m = shorten(SYSMOCK_PWRITEV, iov, n, tmp);
	return m < 0 ? __real_pwritev(fd, iov, n, off) :
		       __real_pwritev(fd, tmp, m, off);
}

/* Every ioctl(2) this project makes passes one argument, or none. */
int __wrap_ioctl(int fd, unsigned long req, ...)
{
	int err = consume(SYSMOCK_IOCTL);
	va_list ap;
	void *arg;

	if (err) {
		errno = err;
		return -1;
	}
	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	return __real_ioctl(fd, req, arg);
}
