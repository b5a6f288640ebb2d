/* SPDX-License-Identifier: MIT */
/*
 * port.h - what the tests need from the host system, for Linux and for
 * Windows (MinGW-w64, run under wine by tools/test-ports): scratch files,
 * pipes, anonymous memory for borrowed regions, open handle counts and
 * page permissions, each on the port's own calls. On Linux each helper is
 * the call the tests always made. Include after <cmocka.h>.
 *
 * PORT_SKIP(why) skips the running test, printing the reason first
 * (cmocka counts it as skipped). Tests use it under "#ifdef _WIN32" for
 * assertions about Linux itself (mmap flags, memfd seals, /proc) and for
 * the few behaviours Windows does not have, never for behaviour a Windows
 * user relies on.
 */
#ifndef VMMEM_TESTS_PORT_H
#define VMMEM_TESTS_PORT_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vmmem/platform.h>

#define PORT_SKIP(why)                                                         \
	do {                                                                   \
		print_message("skipped on this port: %s\n", why);              \
		skip();                                                        \
	} while (0)

#ifdef _WIN32

#include <windows.h>

static inline size_t port_page_size(void)
{
	SYSTEM_INFO si;

	GetSystemInfo(&si);
	return si.dwPageSize;
}

/* A new scratch file of size bytes, open read-write, deleted on close. */
static inline vmmem_fd_t port_tmpfile(uint64_t size)
{
	char dir[MAX_PATH], path[MAX_PATH];
	LARGE_INTEGER at;
	HANDLE h;

	if (!GetTempPathA(sizeof(dir), dir) ||
	    !GetTempFileNameA(dir, "vmm", 0, path))
		return VMMEM_FD_NONE;
	h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE,
			FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
			NULL, CREATE_ALWAYS,
			FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE,
			NULL);
	if (h == INVALID_HANDLE_VALUE)
		return VMMEM_FD_NONE;
	at.QuadPart = (LONGLONG)size;
	if (!SetFilePointerEx(h, at, NULL, FILE_BEGIN) || !SetEndOfFile(h)) {
		CloseHandle(h);
		return VMMEM_FD_NONE;
	}
	return h;
}

static inline int port_resize(vmmem_fd_t fd, uint64_t size)
{
	LARGE_INTEGER at;

	at.QuadPart = (LONGLONG)size;
	return SetFilePointerEx(fd, at, NULL, FILE_BEGIN) && SetEndOfFile(fd)
		       ? 0
		       : -1;
}

static inline void port_close(vmmem_fd_t fd)
{
	CloseHandle(fd);
}

/* pread(2)/pwrite(2): at off, leaving the file pointer where it was. */
static inline long long port_rw(vmmem_fd_t fd, void *buf, size_t n,
				uint64_t off, int write)
{
	LARGE_INTEGER zero = { .QuadPart = 0 }, pos;
	OVERLAPPED ov;
	DWORD done = 0;
	BOOL ok;

	if (!SetFilePointerEx(fd, zero, &pos, FILE_CURRENT))
		return -1;
	memset(&ov, 0, sizeof(ov));
	ov.Offset = (DWORD)off;
	ov.OffsetHigh = (DWORD)(off >> 32);
	ok = write ? WriteFile(fd, buf, (DWORD)n, &done, &ov)
		   : ReadFile(fd, buf, (DWORD)n, &done, &ov);
	SetFilePointerEx(fd, pos, NULL, FILE_BEGIN);
	if (!ok)
		return GetLastError() == ERROR_HANDLE_EOF ? 0 : -1;
	return done;
}

static inline long long port_pread(vmmem_fd_t fd, void *buf, size_t n,
				   uint64_t off)
{
	return port_rw(fd, buf, n, off, 0);
}

static inline long long port_pwrite(vmmem_fd_t fd, const void *buf, size_t n,
				    uint64_t off)
{
	return port_rw(fd, (void *)buf, n, off, 1);
}

/*
 * read(2) and write(2) at the current position: 0 at the end of a file or
 * of a pipe whose writer closed it; -1 with errno EAGAIN when a PIPE_NOWAIT
 * pipe has no data or no room.
 */
static inline long long port_read(vmmem_fd_t fd, void *buf, size_t n)
{
	DWORD done = 0, err;

	if (!ReadFile(fd, buf, (DWORD)n, &done, NULL)) {
		err = GetLastError();
		if (err == ERROR_BROKEN_PIPE || err == ERROR_HANDLE_EOF)
			return 0;
		errno = err == ERROR_NO_DATA ? EAGAIN : EIO;
		return -1;
	}
	return done;
}

static inline long long port_write(vmmem_fd_t fd, const void *buf, size_t n)
{
	DWORD done = 0;

	if (!WriteFile(fd, buf, (DWORD)n, &done, NULL)) {
		errno = EPIPE;
		return -1;
	}
	if (done == 0 && n > 0) {
		errno = EAGAIN;
		return -1;
	}
	return done;
}

/* lseek(2); whence is SEEK_SET, SEEK_CUR or SEEK_END. */
static inline long long port_seek(vmmem_fd_t fd, long long off, int whence)
{
	LARGE_INTEGER to, now;
	DWORD how = whence == SEEK_SET	 ? FILE_BEGIN
		    : whence == SEEK_CUR ? FILE_CURRENT
					 : FILE_END;

	to.QuadPart = off;
	if (!SetFilePointerEx(fd, to, &now, how))
		return -1;
	return now.QuadPart;
}

static inline vmmem_fd_t port_dup(vmmem_fd_t fd)
{
	HANDLE self = GetCurrentProcess(), h;

	if (!DuplicateHandle(self, fd, self, &h, 0, FALSE,
			     DUPLICATE_SAME_ACCESS))
		return VMMEM_FD_NONE;
	return h;
}

/* Another handle of fd's file, open for reading only. */
static inline vmmem_fd_t port_reopen_rdonly(vmmem_fd_t fd)
{
	HANDLE self = GetCurrentProcess(), h;

	if (!DuplicateHandle(self, fd, self, &h, GENERIC_READ, FALSE, 0))
		return VMMEM_FD_NONE;
	return h;
}

/* p[0] the read end, p[1] the write end. */
static inline int port_pipe(vmmem_fd_t p[2])
{
	return CreatePipe(&p[0], &p[1], NULL, 1 << 20) ? 0 : -1;
}

/*
 * A pipe whose ends do not wait (PIPE_NOWAIT, the O_NONBLOCK of Windows
 * pipes) when nonblock, with a buffer of one page, so that it fills
 * quickly (what F_SETPIPE_SZ does on Linux).
 */
static inline int port_pipe2(vmmem_fd_t p[2], int nonblock)
{
	DWORD mode = PIPE_READMODE_BYTE | PIPE_NOWAIT;

	if (!CreatePipe(&p[0], &p[1], NULL, nonblock ? 4096 : 1 << 20))
		return -1;
	if (nonblock && (!SetNamedPipeHandleState(p[0], &mode, NULL, NULL) ||
			 !SetNamedPipeHandleState(p[1], &mode, NULL, NULL))) {
		CloseHandle(p[0]);
		CloseHandle(p[1]);
		return -1;
	}
	return 0;
}

/*
 * Open handles of the process: a leaked handle shows as a higher count.
 * Counted by asking about every handle value up to 16384 (handles are
 * multiples of 4), since GetProcessHandleCount() is not implemented
 * everywhere (wine reports 0).
 */
static inline int port_count_fds(void)
{
	uintptr_t h;
	DWORD flags;
	int n = 0;

	for (h = 4; h < 0x10000; h += 4)
		if (GetHandleInformation((HANDLE)h, &flags))
			n++;
	return n;
}

/* Anonymous read-write memory of the test's own. */
static inline void *port_map(size_t len)
{
	return VirtualAlloc(NULL, len, MEM_RESERVE | MEM_COMMIT,
			    PAGE_READWRITE);
}

static inline void port_unmap(void *hva, size_t len)
{
	(void)len;
	VirtualFree(hva, 0, MEM_RELEASE);
}

static inline int port_make_readonly(void *hva, size_t len)
{
	DWORD old;

	return VirtualProtect(hva, len, PAGE_READONLY, &old) ? 0 : -1;
}

/*
 * The permissions of the page at addr as /proc/self/maps writes them
 * ("rw-p", "r--s", "---p"), or "" when nothing is there.
 */
static inline void port_perms(uintptr_t addr, char perms[5])
{
	MEMORY_BASIC_INFORMATION mi;
	DWORD p;

	strcpy(perms, "");
	if (VirtualQuery((void *)addr, &mi, sizeof(mi)) != sizeof(mi) ||
	    mi.State == MEM_FREE)
		return;
	p = mi.State == MEM_COMMIT ? mi.Protect & 0xff : PAGE_NOACCESS;
	if (p == PAGE_READWRITE || p == PAGE_WRITECOPY)
		strcpy(perms, "rw-");
	else if (p == PAGE_READONLY)
		strcpy(perms, "r--");
	else
		strcpy(perms, "---");
	/* A view is private when it was mapped copy-on-write. */
	if (mi.Type == MEM_MAPPED &&
	    (mi.AllocationProtect & 0xff) != PAGE_WRITECOPY)
		perms[3] = 's';
	else
		perms[3] = 'p';
	perms[4] = '\0';
}

#else /* !_WIN32 */

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

static inline size_t port_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static inline vmmem_fd_t port_tmpfile(uint64_t size)
{
	char path[] = "/tmp/vmmem-test-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	if (ftruncate(fd, (off_t)size) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline int port_resize(vmmem_fd_t fd, uint64_t size)
{
	return ftruncate(fd, (off_t)size);
}

static inline void port_close(vmmem_fd_t fd)
{
	close(fd);
}

static inline long long port_pread(vmmem_fd_t fd, void *buf, size_t n,
				   uint64_t off)
{
	return pread(fd, buf, n, (off_t)off);
}

static inline long long port_pwrite(vmmem_fd_t fd, const void *buf, size_t n,
				    uint64_t off)
{
	return pwrite(fd, buf, n, (off_t)off);
}

static inline long long port_read(vmmem_fd_t fd, void *buf, size_t n)
{
	return read(fd, buf, n);
}

static inline long long port_write(vmmem_fd_t fd, const void *buf, size_t n)
{
	return write(fd, buf, n);
}

static inline long long port_seek(vmmem_fd_t fd, long long off, int whence)
{
	return lseek(fd, (off_t)off, whence);
}

static inline vmmem_fd_t port_dup(vmmem_fd_t fd)
{
	return dup(fd);
}

static inline int port_pipe(vmmem_fd_t p[2])
{
	return pipe(p);
}

static inline int port_pipe2(vmmem_fd_t p[2], int nonblock)
{
	return pipe2(p, O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
}

static inline void *port_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static inline void port_unmap(void *hva, size_t len)
{
	munmap(hva, len);
}

static inline int port_make_readonly(void *hva, size_t len)
{
	return mprotect(hva, len, PROT_READ);
}

#endif /* _WIN32 */

#endif /* VMMEM_TESTS_PORT_H */
