/* SPDX-License-Identifier: MIT */
/*
 * os_windows.c - the Windows backend: regions, reservations, the release
 * wait, the dirty harvest's barrier and fd I/O on HANDLEs.
 *
 * How the Linux calls map (docs/DESIGN.md, "Windows"):
 *   anonymous mmap          VirtualAlloc(MEM_RESERVE | MEM_COMMIT)
 *   memfd + MAP_SHARED      a pagefile-backed section (CreateFileMapping of
 *                           INVALID_HANDLE_VALUE) and MapViewOfFileEx()
 *   file mmap at an offset  CreateFileMapping of the file, a view at an
 *                           offset aligned to the allocation granularity
 *   PROT_NONE reservation   VirtualAlloc(MEM_RESERVE, PAGE_NOACCESS)
 *   MAP_FIXED in it         VirtualAlloc(MEM_COMMIT) of part of it
 *   MAP_HUGETLB             MEM_LARGE_PAGES (-ENOTSUP without the
 *                           privilege) / SEC_LARGE_PAGES
 *   futex                   WaitOnAddress() / WakeByAddressAll()
 *   membarrier              FlushProcessWriteBuffers()
 *   readv/preadv/...        ReadFile()/WriteFile(), one per piece
 * Every Win32 call that can fail goes through win32.h, so that the tests
 * can make it fail. Errors are negative errno values, translated from
 * GetLastError() in one place, vmmem__win_errno().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/region.h>

#include "internal.h"
#include "os.h"
#include "win32.h"

int vmmem__win_errno(DWORD err)
{
	/* Codes with the customer bit carry an errno value: how a layer
	 * between us and Win32 (such as the tests' failure injection)
	 * reports one. */
	if ((err & APPLICATION_ERROR_MASK) && (err & 0xffff))
		return (int)(err & 0xffff);
	switch (err) {
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
	case ERROR_COMMITMENT_LIMIT:
	case ERROR_INVALID_ADDRESS:
		return ENOMEM;
	case ERROR_INVALID_PARAMETER:
	case ERROR_FILE_INVALID:
	case ERROR_MAPPED_ALIGNMENT:
		return EINVAL;
	case ERROR_ACCESS_DENIED:
		return EACCES;
	case ERROR_INVALID_HANDLE:
		return EBADF;
	case ERROR_BROKEN_PIPE:
	case ERROR_NO_DATA:
		return EPIPE;
	case ERROR_NOT_SUPPORTED:
	case ERROR_PRIVILEGE_NOT_HELD:
	case ERROR_NO_SYSTEM_RESOURCES:
		return ENOTSUP;
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL:
		return ENOSPC;
	case ERROR_OPERATION_ABORTED:
		return EINTR;
	default:
		return EIO;
	}
}

/* The last Win32 error of this thread as a negative errno. */
static int last_error(void)
{
	return -vmmem__win_errno(GetLastError());
}

static SYSTEM_INFO sysinfo(void)
{
	SYSTEM_INFO si;

	GetSystemInfo(&si);
	return si;
}

size_t vmmem__page_size(void)
{
	return sysinfo().dwPageSize;
}

/* Where views and reservations may start: 64 KiB on every Windows. */
static size_t granularity(void)
{
	return sysinfo().dwAllocationGranularity;
}

static size_t round_up(size_t len, size_t align)
{
	return (len + align - 1) & ~(align - 1);
}

static DWORD page_prot(unsigned flags)
{
	return (flags & VMMEM_REGION_READONLY) ? PAGE_READONLY : PAGE_READWRITE;
}

/*
 * Reservations. A reservation (VirtualAlloc(MEM_RESERVE)) can only be
 * released as a whole, while Linux unmaps any part of a mapping. Regions
 * carved from one reservation (vmmem_create_anon()'s runs, the guard
 * pages around a region) therefore decommit their own part, and whoever
 * leaves the reservation without committed pages releases it. The lock
 * keeps two threads from both deciding to release it, or one from
 * releasing it while another decommits.
 */
static SRWLOCK reserve_lock = SRWLOCK_INIT;

static void release_if_unused(void *base)
{
	MEMORY_BASIC_INFORMATION mi;
	uint8_t *p = base;

	while (VirtualQuery(p, &mi, sizeof(mi)) == sizeof(mi) &&
	       mi.AllocationBase == base) {
		if (mi.State == MEM_COMMIT)
			return;
		p = (uint8_t *)mi.BaseAddress + mi.RegionSize;
	}
	vmmem__VirtualFree(base, 0, MEM_RELEASE);
}

void *vmmem__reserve(size_t len)
{
	void *hva = vmmem__VirtualAlloc(NULL, len, MEM_RESERVE, PAGE_NOACCESS);

	if (!hva)
		errno = vmmem__win_errno(GetLastError());
	return hva;
}

void vmmem__unreserve(void *hva, size_t len)
{
	MEMORY_BASIC_INFORMATION mi;

	AcquireSRWLockExclusive(&reserve_lock);
	if (VirtualQuery(hva, &mi, sizeof(mi)) == sizeof(mi) &&
	    mi.AllocationBase) {
		/* Decommitting pages that were only reserved is allowed. */
		vmmem__VirtualFree(hva, len, MEM_DECOMMIT);
		release_if_unused(mi.AllocationBase);
	}
	ReleaseSRWLockExclusive(&reserve_lock);
}

/*
 * The error of an allocation of large pages. Without SeLockMemoryPrivilege
 * (ERROR_PRIVILEGE_NOT_HELD), or on a system that has none to give
 * (ERROR_NOT_SUPPORTED, or ERROR_INVALID_PARAMETER, as every other
 * argument was checked), the process cannot use them: -ENOTSUP.
 */
static int large_page_error(void)
{
	DWORD err = GetLastError();

	if (err == ERROR_PRIVILEGE_NOT_HELD || err == ERROR_NOT_SUPPORTED ||
	    err == ERROR_INVALID_PARAMETER)
		return -ENOTSUP;
	return -vmmem__win_errno(err);
}

/* Commit len bytes at hva, inside a reservation. */
static int commit(void *hva, size_t len, unsigned flags)
{
	if (!vmmem__VirtualAlloc(hva, len, MEM_COMMIT, page_prot(flags)))
		return last_error();
	return 0;
}

/*
 * Anonymous memory for r: committed at `at` (part of a reservation the
 * caller hands over), or a new allocation of its own, inside a reservation
 * with one PAGE_NOACCESS guard page on either side for
 * VMMEM_REGION_GUARD, or of large pages for VMMEM_REGION_HUGETLB.
 */
static int anon_map(struct vmmem_region *r, void *at)
{
	unsigned flags = r->flags;
	size_t page = vmmem__page_size();
	size_t map_len, res_len;
	uint8_t *res, *hva;
	int rc;

	if (r->len > SIZE_MAX - 3 * VMMEM_HUGE_SIZE)
		return -EOVERFLOW;
	if (flags & VMMEM_REGION_HUGETLB) {
		size_t large = GetLargePageMinimum();

		/* Large pages are committed with their reservation, so
		 * there is no reservation to put guard pages into. */
		if (!large || VMMEM_HUGE_SIZE % large ||
		    (flags & VMMEM_REGION_GUARD))
			return -ENOTSUP;
		map_len = round_up(r->len, VMMEM_HUGE_SIZE);
		hva = vmmem__VirtualAlloc(NULL, map_len,
					  MEM_RESERVE | MEM_COMMIT |
						  MEM_LARGE_PAGES,
					  page_prot(flags));
		if (!hva)
			return large_page_error();
		res = hva;
		res_len = map_len;
	} else if (at) {
		map_len = round_up(r->len, page);
		rc = commit(at, map_len, flags);
		if (rc)
			return rc;
		hva = res = at;
		res_len = map_len;
	} else if (!(flags & VMMEM_REGION_GUARD)) {
		map_len = round_up(r->len, page);
		hva = vmmem__VirtualAlloc(NULL, map_len,
					  MEM_RESERVE | MEM_COMMIT,
					  page_prot(flags));
		if (!hva)
			return last_error();
		res = hva;
		res_len = map_len;
	} else {
		map_len = round_up(r->len, page);
		res_len = map_len + 2 * page;
		res = vmmem__reserve(res_len);
		if (!res)
			return -errno;
		hva = res + page;
		rc = commit(hva, map_len, flags);
		if (rc) {
			vmmem__VirtualFree(res, 0, MEM_RELEASE);
			return rc;
		}
	}
	r->hva = hva;
	r->map = res;
	r->map_len = res_len;
	return 0;
}

/* Options Windows has no equivalent for. */
static int check_options(unsigned flags)
{
	/* No transparent huge pages to advise, and no per-range switch to
	 * keep memory out of crash dumps. */
	if (flags & (VMMEM_REGION_THP | VMMEM_REGION_DONTDUMP))
		return -ENOTSUP;
	return 0;
}

int vmmem__region_create_anon_at(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
				 void *at, struct vmmem_region **out)
{
	struct vmmem_region *r;
	int rc;

	rc = vmmem__region_check_args(gpa, len, flags, out);
	if (rc)
		return rc;
	rc = check_options(flags);
	if (rc)
		return rc;
	rc = vmmem__region_alloc(gpa, len, flags, VMMEM_REGION_ANON, &r);
	if (rc)
		return rc;
	rc = anon_map(r, at);
	if (rc)
		goto err_free;
	*out = r;
	return 0;

err_free:
	free(r);
	return rc;
}

/*
 * Map map_len bytes of a section at foff for r: a view, or, with
 * VMMEM_REGION_GUARD, a view with a PAGE_NOACCESS reservation of one
 * allocation granule on either side. A view cannot be placed inside a
 * reservation, so the guards are reservations of their own next to it:
 * find a free range, map the view in its middle, reserve both sides, and
 * start again if another thread took part of the range meanwhile.
 */
#define GUARD_TRIES 16

static int view_map(struct vmmem_region *r, HANDLE section, DWORD access,
		    uint64_t foff, size_t map_len)
{
	DWORD hi = (DWORD)(foff >> 32), lo = (DWORD)foff;
	size_t g = granularity(), span = round_up(map_len, g);
	uint8_t *hva = NULL;
	int tries, rc = -ENOMEM;

	if (!(r->flags & VMMEM_REGION_GUARD)) {
		hva = vmmem__MapViewOfFileEx(section, access, hi, lo, map_len,
					     NULL);
		if (!hva)
			return last_error();
		goto out;
	}
	for (tries = 0; tries < GUARD_TRIES; tries++) {
		uint8_t *res = vmmem__reserve(span + 2 * g);
		void *below, *above;

		if (!res)
			return -errno;
		vmmem__VirtualFree(res, 0, MEM_RELEASE);
		hva = vmmem__MapViewOfFileEx(section, access, hi, lo, map_len,
					     res + g);
		if (!hva) {
			rc = last_error();
			if (GetLastError() == ERROR_INVALID_ADDRESS)
				continue; /* taken meanwhile */
			return rc;
		}
		below = vmmem__VirtualAlloc(res, g, MEM_RESERVE, PAGE_NOACCESS);
		above = vmmem__VirtualAlloc(hva + span, g, MEM_RESERVE,
					    PAGE_NOACCESS);
		if (below && above)
			goto out;
		rc = last_error();
		if (below)
			vmmem__VirtualFree(below, 0, MEM_RELEASE);
		if (above)
			vmmem__VirtualFree(above, 0, MEM_RELEASE);
		vmmem__UnmapViewOfFile(hva);
		hva = NULL;
	}
	return rc;
out:
	r->hva = hva;
	r->map = hva;
	r->map_len = map_len;
	return 0;
}

void vmmem__region_free(struct vmmem_region *r)
{
	if (r->map && r->kind == VMMEM_REGION_ANON) {
		if (r->flags & VMMEM_REGION_HUGETLB)
			vmmem__VirtualFree(r->map, 0, MEM_RELEASE);
		else
			vmmem__unreserve(r->map, r->map_len);
	} else if (r->map) {
		size_t g = granularity();
		uint8_t *hva = r->map;

		vmmem__UnmapViewOfFile(hva);
		if (r->flags & VMMEM_REGION_GUARD) {
			vmmem__VirtualFree(hva - g, 0, MEM_RELEASE);
			vmmem__VirtualFree(hva + round_up(r->map_len, g), 0,
					   MEM_RELEASE);
		}
	}
	if (r->fd != VMMEM_FD_NONE)
		vmmem__CloseHandle(r->fd);
	free(r);
}

int vmmem_region_create_memfd(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
			      const char *name, struct vmmem_region **out)
{
	DWORD prot = PAGE_READWRITE | SEC_COMMIT;
	struct vmmem_region *r;
	uint64_t size;
	int rc;

	/* Named sections are global objects that other processes can open:
	 * the name, a label on Linux, is not used. */
	(void)name;
	rc = vmmem__region_check_args(gpa, len, flags, out);
	if (rc)
		return rc;
	/* A section exists to be shared, like a memfd. */
	if (flags & VMMEM_REGION_PRIVATE)
		return -EINVAL;
	rc = check_options(flags);
	if (rc)
		return rc;
	if (flags & VMMEM_REGION_HUGETLB) {
		size_t large = GetLargePageMinimum();

		if (!large || VMMEM_HUGE_SIZE % large ||
		    (flags & VMMEM_REGION_GUARD))
			return -ENOTSUP;
		prot = PAGE_READWRITE | SEC_COMMIT | SEC_LARGE_PAGES;
	}
	size = (len + VMMEM_PAGE_SIZE - 1) & ~(VMMEM_PAGE_SIZE - 1);
	if (size < len || size > (uint64_t)INT64_MAX || size > SIZE_MAX)
		return -EOVERFLOW;
	rc = vmmem__region_alloc(gpa, len, flags, VMMEM_REGION_MEMFD, &r);
	if (rc)
		return rc;
	/* Backed by the paging file, sized once: a section never shrinks,
	 * so there is nothing to seal. The section is read-write even for a
	 * READONLY region, as a memfd is: other holders may write. */
	r->fd = vmmem__CreateFileMappingA(INVALID_HANDLE_VALUE, NULL, prot,
					  (DWORD)(size >> 32), (DWORD)size,
					  NULL);
	if (!r->fd) {
		DWORD err = GetLastError();

		r->fd = VMMEM_FD_NONE;
		rc = (flags & VMMEM_REGION_HUGETLB) ? large_page_error()
						    : -vmmem__win_errno(err);
		goto err_free;
	}
	rc = view_map(r, r->fd,
		      (flags & VMMEM_REGION_READONLY) ? FILE_MAP_READ
						      : FILE_MAP_WRITE,
		      0, (size_t)size);
	if (rc)
		goto err_close;
	*out = r;
	return 0;

err_close:
	vmmem__CloseHandle(r->fd);
err_free:
	free(r);
	return rc;
}

int vmmem_region_create_file(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
			     vmmem_fd_t fd, uint64_t foff,
			     struct vmmem_region **out)
{
	HANDLE self = GetCurrentProcess(), section;
	DWORD prot = PAGE_READWRITE, access = FILE_MAP_WRITE, old;
	struct vmmem_region *r;
	size_t map_len;
	uint64_t end;
	int rc;

	rc = vmmem__region_check_args(gpa, len, flags, out);
	if (rc)
		return rc;
	/* Views start at multiples of the allocation granularity, so the
	 * file offset must be one. */
	if (!fd || fd == VMMEM_FD_NONE)
		return -EBADF;
	if ((flags & VMMEM_REGION_HUGETLB) || (foff & (granularity() - 1)))
		return -EINVAL;
	rc = check_options(flags);
	if (rc)
		return rc;
	if (__builtin_add_overflow(foff, len, &end) ||
	    end > (uint64_t)INT64_MAX || len > SIZE_MAX - VMMEM_PAGE_SIZE)
		return -EOVERFLOW;
	if (flags & VMMEM_REGION_PRIVATE) {
		/* Copy-on-write: needs the file open for reading only, and
		 * nothing is ever written back to it. */
		prot = PAGE_WRITECOPY;
		access = FILE_MAP_COPY;
	} else if (flags & VMMEM_REGION_READONLY) {
		prot = PAGE_READONLY;
		access = FILE_MAP_READ;
	}
	rc = vmmem__region_alloc(gpa, len, flags, VMMEM_REGION_FILE, &r);
	if (rc)
		return rc;
	/* Our own duplicate: the caller may close theirs at once. */
	if (!vmmem__DuplicateHandle(self, fd, self, &r->fd, 0, FALSE,
				    DUPLICATE_SAME_ACCESS)) {
		r->fd = VMMEM_FD_NONE;
		rc = last_error();
		goto err_free;
	}
	r->foff = foff;
	/* Size 0: the file's current size. Windows maps no page past the
	 * end of a file, so a region running past it fails here. */
	section = vmmem__CreateFileMappingA(r->fd, NULL, prot, 0, 0, NULL);
	if (!section) {
		rc = last_error();
		goto err_close;
	}
	map_len = round_up((size_t)len, vmmem__page_size());
	rc = view_map(r, section, access, foff, map_len);
	/* The view keeps the section alive. */
	vmmem__CloseHandle(section);
	if (rc)
		goto err_close;
	/* A read-only private view is still a copy-on-write one (it does
	 * not share later writes to it), only without write access. */
	if ((flags & VMMEM_REGION_PRIVATE) && (flags & VMMEM_REGION_READONLY) &&
	    !vmmem__VirtualProtect(r->hva, map_len, PAGE_READONLY, &old)) {
		rc = last_error();
		goto err_unmap;
	}
	*out = r;
	return 0;

err_unmap:
	/* Unmaps the view and its guards, closes the dup, frees r. */
	vmmem__region_free(r);
	return rc;
err_close:
	vmmem__CloseHandle(r->fd);
err_free:
	free(r);
	return rc;
}

int vmmem_region_resident(const struct vmmem_region *region, uint64_t off,
			  uint64_t len, uint64_t *bits)
{
	/* The arguments are checked as on Linux. */
	if (!region || !bits || vmmem__page_size() != VMMEM_PAGE_SIZE ||
	    off % VMMEM_PAGE_SIZE || len % VMMEM_PAGE_SIZE)
		return -EINVAL;
	if (off > region->len || len > region->len - off)
		return -EFAULT;
	/* Windows tells which pages are in the working set, not which were
	 * ever touched: a trimmed page would read as never used. */
	return -ENOTSUP;
}

void vmmem__wait_on(uint32_t *word, uint32_t val, const struct timespec *rel)
{
	DWORD ms = INFINITE;

	if (rel) {
		uint64_t t = (uint64_t)rel->tv_sec * 1000 +
			     ((uint64_t)rel->tv_nsec + 999999) / 1000000;

		ms = t >= INFINITE ? INFINITE - 1 : (DWORD)t;
	}
	/* Returns at once if *word is no longer val. */
	WaitOnAddress(word, &val, sizeof(val), ms);
}

void vmmem__wake_all(uint32_t *word)
{
	WakeByAddressAll(word);
}

int vmmem__process_barrier(void)
{
	/* Interrupts every processor running a thread of this process,
	 * which makes each of them drain its store buffer: the full
	 * barrier that membarrier(2) gives on Linux. */
	FlushProcessWriteBuffers();
	return 0;
}
