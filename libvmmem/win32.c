/* SPDX-License-Identifier: MIT */
/* win32.c - the Win32 calls of the Windows backend; see win32.h. */
#include <errno.h>
#include <string.h>

#include "os.h"
#include "win32.h"

LPVOID vmmem__VirtualAlloc(LPVOID addr, SIZE_T len, DWORD type, DWORD prot)
{
	return VirtualAlloc(addr, len, type, prot);
}

BOOL vmmem__VirtualFree(LPVOID addr, SIZE_T len, DWORD type)
{
	return VirtualFree(addr, len, type);
}

BOOL vmmem__VirtualProtect(LPVOID addr, SIZE_T len, DWORD prot, PDWORD old)
{
	return VirtualProtect(addr, len, prot, old);
}

HANDLE vmmem__CreateFileMappingA(HANDLE file, LPSECURITY_ATTRIBUTES sa,
				 DWORD prot, DWORD size_hi, DWORD size_lo,
				 LPCSTR name)
{
	return CreateFileMappingA(file, sa, prot, size_hi, size_lo, name);
}

LPVOID vmmem__MapViewOfFileEx(HANDLE section, DWORD access, DWORD off_hi,
			      DWORD off_lo, SIZE_T len, LPVOID addr)
{
	return MapViewOfFileEx(section, access, off_hi, off_lo, len, addr);
}

BOOL vmmem__UnmapViewOfFile(LPCVOID addr)
{
	return UnmapViewOfFile(addr);
}

BOOL vmmem__DuplicateHandle(HANDLE from_process, HANDLE h, HANDLE to_process,
			    LPHANDLE out, DWORD access, BOOL inherit,
			    DWORD options)
{
	return DuplicateHandle(from_process, h, to_process, out, access,
			       inherit, options);
}

BOOL vmmem__CloseHandle(HANDLE h)
{
	return CloseHandle(h);
}

/* The most one ReadFile()/WriteFile() moves (its length is a DWORD). */
#define RW_MAX (1u << 30)

/*
 * Move the pieces one ReadFile()/WriteFile() each (Windows has vectored
 * I/O only for unbuffered overlapped files), stopping at the first short
 * one. Returns the bytes moved, or -1 with errno set when the first call
 * moved nothing; an error after progress shows on the caller's next call.
 */
static ssize_t rw_pieces(HANDLE fd, const struct iovec *iov, int n,
			 int64_t foff, bool into_guest)
{
	uint64_t total = 0;
	int i;

	for (i = 0; i < n; i++) {
		uint8_t *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		while (left) {
			DWORD want = left > RW_MAX ? RW_MAX : (DWORD)left;
			DWORD got = 0, err;
			OVERLAPPED ov, *ovp = NULL;
			BOOL ok;

			if (foff >= 0) {
				uint64_t at = (uint64_t)foff + total;

				memset(&ov, 0, sizeof(ov));
				ov.Offset = (DWORD)at;
				ov.OffsetHigh = (DWORD)(at >> 32);
				ovp = &ov;
			}
			ok = into_guest ? ReadFile(fd, p, want, &got, ovp)
					: WriteFile(fd, p, want, &got, ovp);
			if (!ok) {
				err = GetLastError();
				if (total)
					return (ssize_t)total;
				/* The writer closed the pipe, or a read at
				 * the end of the file: end of file. */
				if (into_guest && (err == ERROR_BROKEN_PIPE ||
						   err == ERROR_HANDLE_EOF))
					return 0;
				/* An empty PIPE_NOWAIT pipe. */
				if (into_guest && err == ERROR_NO_DATA)
					errno = EAGAIN;
				else
					errno = vmmem__win_errno(err);
				return -1;
			}
			/* A full PIPE_NOWAIT pipe takes nothing and says so
			 * by success with zero bytes. */
			if (!into_guest && got == 0 && total == 0) {
				errno = EAGAIN;
				return -1;
			}
			total += got;
			if (got < want)
				return (ssize_t)total;
			p += got;
			left -= got;
		}
	}
	return (ssize_t)total;
}

ssize_t vmmem__fd_rw(vmmem_fd_t fd, const struct iovec *iov, int n,
		     int64_t foff, bool into_guest)
{
	LARGE_INTEGER zero = { .QuadPart = 0 }, pos;
	BOOL seekable = FALSE;
	ssize_t got;
	int err;

	/* ReadFile()/WriteFile() at an offset move a synchronous handle's
	 * file pointer; put it back, as pread(2)/pwrite(2) leave it. */
	if (foff >= 0)
		seekable = SetFilePointerEx(fd, zero, &pos, FILE_CURRENT);
	got = rw_pieces(fd, iov, n, foff, into_guest);
	err = errno;
	if (seekable)
		SetFilePointerEx(fd, pos, NULL, FILE_BEGIN);
	errno = err;
	return got;
}
