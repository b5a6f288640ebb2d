/* SPDX-License-Identifier: MIT */
/*
 * win32.h - the Win32 calls of the Windows backend (os_windows.c), each
 * through a one-line function of win32.c with the same signature; fd I/O
 * (vmmem__fd_rw() of os.h, the readv/preadv/writev/pwritev of Windows) is
 * there too.
 *
 * MinGW-w64 reaches kernel32's functions through __imp_ pointers, which a
 * link with -Wl,--wrap cannot intercept. These functions live in their
 * own object, so the test programs can wrap them (tests/sysmock_windows.c)
 * and make them fail on demand, as tests/sysmock.c does for mmap(2) and
 * friends on Linux. Not installed.
 */
#ifndef VMMEM_WIN32_H
#define VMMEM_WIN32_H

#include <windows.h>

#pragma GCC visibility push(hidden)

LPVOID vmmem__VirtualAlloc(LPVOID addr, SIZE_T len, DWORD type, DWORD prot);
BOOL vmmem__VirtualFree(LPVOID addr, SIZE_T len, DWORD type);
BOOL vmmem__VirtualProtect(LPVOID addr, SIZE_T len, DWORD prot, PDWORD old);
HANDLE vmmem__CreateFileMappingA(HANDLE file, LPSECURITY_ATTRIBUTES sa,
				 DWORD prot, DWORD size_hi, DWORD size_lo,
				 LPCSTR name);
LPVOID vmmem__MapViewOfFileEx(HANDLE section, DWORD access, DWORD off_hi,
			      DWORD off_lo, SIZE_T len, LPVOID addr);
BOOL vmmem__UnmapViewOfFile(LPCVOID addr);
BOOL vmmem__DuplicateHandle(HANDLE from_process, HANDLE h, HANDLE to_process,
			    LPHANDLE out, DWORD access, BOOL inherit,
			    DWORD options);
BOOL vmmem__CloseHandle(HANDLE h);

/* The errno value closest to a Win32 error code (never 0; os_windows.c,
 * the one place that translates them). */
int vmmem__win_errno(DWORD err);

#pragma GCC visibility pop

#endif /* VMMEM_WIN32_H */
