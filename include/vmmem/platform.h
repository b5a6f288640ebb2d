/* SPDX-License-Identifier: MIT */
/*
 * vmmem/platform.h - the few types that differ between the host systems.
 *
 * libvmmem builds for Linux (every architecture) and for Windows (x86-64,
 * MinGW-w64). The API is the same on both; this header holds what cannot
 * be:
 *
 *   vmmem_fd_t     what libvmmem calls a file descriptor (io.h, region.h):
 *                  an int on Linux, a HANDLE on Windows. HANDLE is void *
 *                  in the Windows headers, and so is vmmem_fd_t there,
 *                  which lets a program pass a HANDLE (from CreateFile(),
 *                  CreatePipe(), or _get_osfhandle() of a C runtime fd)
 *                  without a cast and without this header pulling in
 *                  <windows.h>.
 *   VMMEM_FD_NONE  the "no file" value: -1 on Linux, INVALID_HANDLE_VALUE
 *                  on Windows.
 *   struct iovec   from <sys/uio.h> on Linux. Windows has none, so this
 *                  header defines one with the POSIX members (iov_base,
 *                  iov_len, in that order) unless the program defines
 *                  VMMEM_HAVE_STRUCT_IOVEC before including it, because
 *                  another library already gave it a struct iovec with
 *                  those members.
 *
 * Linux-only parts of the API: the Xen region kinds (xen.h), memfd seals
 * and userfaultfd (uffd.h) have no Windows counterpart. Their functions
 * exist on Windows so that programs link unchanged, and return -ENOTSUP;
 * their fd parameters stay int.
 */
#ifndef VMMEM_PLATFORM_H
#define VMMEM_PLATFORM_H

#ifdef _WIN32

#include <stddef.h>

typedef void *vmmem_fd_t;
#define VMMEM_FD_NONE ((vmmem_fd_t)(long long)-1)

#ifndef VMMEM_HAVE_STRUCT_IOVEC
#define VMMEM_HAVE_STRUCT_IOVEC 1
struct iovec {
	void *iov_base;
	size_t iov_len;
};
#endif

#else /* !_WIN32 */

#include <sys/uio.h>

typedef int vmmem_fd_t;
#define VMMEM_FD_NONE (-1)

#endif /* _WIN32 */

#endif /* VMMEM_PLATFORM_H */
