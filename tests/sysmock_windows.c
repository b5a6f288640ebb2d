/* SPDX-License-Identifier: MIT */
/*
 * sysmock.h on Windows: the same scripts and counters as sysmock.c, over
 * the calls libvmmem's Windows backend makes. Under MinGW-w64 kernel32's
 * functions are reached through __imp_ pointers that -Wl,--wrap cannot
 * intercept, so the backend calls them through libvmmem/win32.c, and the
 * test programs are linked with -Wl,--wrap=vmmem__VirtualAlloc and so on.
 * Each Win32 call counts as the Linux call it stands for:
 *
 *   SYSMOCK_MMAP          VirtualAlloc(), MapViewOfFileEx(), and
 *                         CreateFileMapping() of a file (part of mapping it)
 *   SYSMOCK_MUNMAP        VirtualFree(), UnmapViewOfFile()
 *   SYSMOCK_MEMFD_CREATE  CreateFileMapping() of the paging file
 *   SYSMOCK_FCNTL         DuplicateHandle() (the dup of F_DUPFD_CLOEXEC)
 *   SYSMOCK_READV ...     vmmem__fd_rw(), by direction and offset
 *   SYSMOCK_CALLOC ...    calloc(), malloc(), realloc(), as on Linux
 *
 * MADVISE and FTRUNCATE have no Windows call and are never counted. A
 * scripted failure sets the thread's last error to the errno value with
 * the customer bit (APPLICATION_ERROR_MASK), which libvmmem turns back into
 * that errno. sysmock_last() records nothing here: the tests that look at
 * Linux's mmap flags do not run on Windows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <windows.h>

#include <vmmem/platform.h>

#include "sysmock.h"

LPVOID __real_vmmem__VirtualAlloc(LPVOID addr, SIZE_T len, DWORD type,
				  DWORD prot);
BOOL __real_vmmem__VirtualFree(LPVOID addr, SIZE_T len, DWORD type);
HANDLE __real_vmmem__CreateFileMappingA(HANDLE file, LPSECURITY_ATTRIBUTES sa,
					DWORD prot, DWORD size_hi,
					DWORD size_lo, LPCSTR name);
LPVOID __real_vmmem__MapViewOfFileEx(HANDLE section, DWORD access, DWORD off_hi,
				     DWORD off_lo, SIZE_T len, LPVOID addr);
BOOL __real_vmmem__UnmapViewOfFile(LPCVOID addr);
BOOL __real_vmmem__DuplicateHandle(HANDLE from_process, HANDLE h,
				   HANDLE to_process, LPHANDLE out,
				   DWORD access, BOOL inherit, DWORD options);
ssize_t __real_vmmem__fd_rw(vmmem_fd_t fd, const struct iovec *iov, int n,
			    int64_t foff, _Bool into_guest);
void *__real_calloc(size_t n, size_t size);
void *__real_malloc(size_t size);
void *__real_realloc(void *p, size_t size);

LPVOID __wrap_vmmem__VirtualAlloc(LPVOID addr, SIZE_T len, DWORD type,
				  DWORD prot);
BOOL __wrap_vmmem__VirtualFree(LPVOID addr, SIZE_T len, DWORD type);
HANDLE __wrap_vmmem__CreateFileMappingA(HANDLE file, LPSECURITY_ATTRIBUTES sa,
					DWORD prot, DWORD size_hi,
					DWORD size_lo, LPCSTR name);
LPVOID __wrap_vmmem__MapViewOfFileEx(HANDLE section, DWORD access, DWORD off_hi,
				     DWORD off_lo, SIZE_T len, LPVOID addr);
BOOL __wrap_vmmem__UnmapViewOfFile(LPCVOID addr);
BOOL __wrap_vmmem__DuplicateHandle(HANDLE from_process, HANDLE h,
				   HANDLE to_process, LPHANDLE out,
				   DWORD access, BOOL inherit, DWORD options);
ssize_t __wrap_vmmem__fd_rw(vmmem_fd_t fd, const struct iovec *iov, int n,
			    int64_t foff, _Bool into_guest);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_realloc(void *p, size_t size);

struct script {
	int armed;
	int skip;
	int err;
	size_t short_max; /* 0: no short count scripted */
	unsigned calls;
};

/*
 * Per-thread state, as sysmock.c keeps in __thread variables. MinGW-w64's
 * __thread allocates each thread's copy with malloc(), which is wrapped
 * here: the state lives in a Win32 TLS slot instead, allocated from the
 * process heap.
 */
struct state {
	struct script scripts[SYSMOCK_COUNT];
	struct sysmock_last last;
	long long mapped_bytes;
};

static DWORD slot = TLS_OUT_OF_INDEXES;

__attribute__((constructor)) static void slot_init(void)
{
	slot = TlsAlloc();
}

static struct state *state(void)
{
	struct state *s = TlsGetValue(slot);

	if (!s) {
		s = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*s));
		if (!s)
			abort();
		TlsSetValue(slot, s);
	}
	return s;
}

#define scripts (state()->scripts)
#define last (state()->last)
#define mapped_bytes (state()->mapped_bytes)

long long sysmock_mapped_bytes(void)
{
	return mapped_bytes;
}

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

/* Fail a Win32 call with errno value err. */
static void fail_with(int err)
{
	SetLastError(APPLICATION_ERROR_MASK | (DWORD)err);
}

/* Bytes of address space of the allocation (or view) that starts at base. */
static long long allocation_size(const void *base)
{
	MEMORY_BASIC_INFORMATION mi;
	const uint8_t *p = base;
	long long n = 0;

	while (VirtualQuery(p, &mi, sizeof(mi)) == sizeof(mi) &&
	       mi.AllocationBase == base && mi.State != MEM_FREE) {
		n += (long long)mi.RegionSize;
		p = (const uint8_t *)mi.BaseAddress + mi.RegionSize;
	}
	return n;
}

LPVOID __wrap_vmmem__VirtualAlloc(LPVOID addr, SIZE_T len, DWORD type,
				  DWORD prot)
{
	int err = consume(SYSMOCK_MMAP);
	LPVOID p;

	if (err) {
		fail_with(err);
		return NULL;
	}
	p = __real_vmmem__VirtualAlloc(addr, len, type, prot);
	/* Committing part of a reservation maps no new address space, as
	 * MAP_FIXED inside one does not on Linux. */
	if (p && (type & MEM_RESERVE))
		mapped_bytes += pages(len);
	return p;
}

BOOL __wrap_vmmem__VirtualFree(LPVOID addr, SIZE_T len, DWORD type)
{
	int err = consume(SYSMOCK_MUNMAP);
	long long size = 0;
	BOOL ok;

	if (err) {
		fail_with(err);
		return FALSE;
	}
	if (type & MEM_RELEASE)
		size = allocation_size(addr);
	ok = __real_vmmem__VirtualFree(addr, len, type);
	if (ok)
		mapped_bytes -= size;
	return ok;
}

HANDLE __wrap_vmmem__CreateFileMappingA(HANDLE file, LPSECURITY_ATTRIBUTES sa,
					DWORD prot, DWORD size_hi,
					DWORD size_lo, LPCSTR name)
{
	int err = consume(file == INVALID_HANDLE_VALUE ? SYSMOCK_MEMFD_CREATE
						       : SYSMOCK_MMAP);

	if (err) {
		fail_with(err);
		return NULL;
	}
	return __real_vmmem__CreateFileMappingA(file, sa, prot, size_hi,
						size_lo, name);
}

LPVOID __wrap_vmmem__MapViewOfFileEx(HANDLE section, DWORD access, DWORD off_hi,
				     DWORD off_lo, SIZE_T len, LPVOID addr)
{
	int err = consume(SYSMOCK_MMAP);
	LPVOID p;

	if (err) {
		fail_with(err);
		return NULL;
	}
	p = __real_vmmem__MapViewOfFileEx(section, access, off_hi, off_lo, len,
					  addr);
	if (p)
		mapped_bytes += pages(len);
	return p;
}

BOOL __wrap_vmmem__UnmapViewOfFile(LPCVOID addr)
{
	int err = consume(SYSMOCK_MUNMAP);
	long long size;
	BOOL ok;

	if (err) {
		fail_with(err);
		return FALSE;
	}
	size = allocation_size(addr);
	ok = __real_vmmem__UnmapViewOfFile(addr);
	if (ok)
		mapped_bytes -= size;
	return ok;
}

BOOL __wrap_vmmem__DuplicateHandle(HANDLE from_process, HANDLE h,
				   HANDLE to_process, LPHANDLE out,
				   DWORD access, BOOL inherit, DWORD options)
{
	int err = consume(SYSMOCK_FCNTL);

	if (err) {
		fail_with(err);
		return FALSE;
	}
	return __real_vmmem__DuplicateHandle(from_process, h, to_process, out,
					     access, inherit, options);
}

ssize_t __wrap_vmmem__fd_rw(vmmem_fd_t fd, const struct iovec *iov, int n,
			    int64_t foff, _Bool into_guest)
{
	enum sysmock_fn fn =
		into_guest ? (foff < 0 ? SYSMOCK_READV : SYSMOCK_PREADV)
			   : (foff < 0 ? SYSMOCK_WRITEV : SYSMOCK_PWRITEV);
	struct iovec tmp[64];
	size_t max = scripts[fn].short_max, left;
	int err = consume(fn), i;

	if (err) {
		errno = err;
		return -1;
	}
	if (!max || n <= 0 || n > 64)
		return __real_vmmem__fd_rw(fd, iov, n, foff, into_guest);
	/* A short count: pass on at most max bytes. */
	scripts[fn].short_max = 0;
	left = max;
	for (i = 0; i < n && left; i++) {
		tmp[i] = iov[i];
		if (tmp[i].iov_len > left)
			tmp[i].iov_len = left;
		left -= tmp[i].iov_len;
	}
	return __real_vmmem__fd_rw(fd, tmp, i, foff, into_guest);
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
