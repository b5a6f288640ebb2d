/* SPDX-License-Identifier: MIT */
/*
 * region.c - creating and destroying regions: the anonymous, memfd, file and
 * borrowed backends and their options.
 *
 * The parts between "#ifndef _WIN32" and "#endif" are the Linux backend;
 * os_windows.c implements the same functions for Windows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#ifndef _WIN32
#include <sys/ioctl.h>
#endif
#endif

#include <vmmem/dirty.h>
#include <vmmem/region.h>

#include "internal.h"
#include "os.h"

/* Bits a borrowed region accepts: the rest change how we map. */
#define BORROWED_FLAGS (VMMEM_REGION_READONLY | VMMEM_REGION_DIRTY_LOG)

#ifndef _WIN32

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004u
#endif

size_t vmmem__page_size(void)
{
	long ps = sysconf(_SC_PAGESIZE);

	return ps > 0 ? (size_t)ps : (size_t)VMMEM_PAGE_SIZE;
}

#endif /* !_WIN32 */

/*
 * Checks shared by every creator, before anything is allocated: the range
 * must be non-empty and must not wrap, and the flags must be known.
 */
int vmmem__region_check_args(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
		      struct vmmem_region **out)
{
	vmmem_gpa_t last;
	int rc;

	if (!out || (flags & ~VMMEM_REGION_FLAGS_ALL))
		return -EINVAL;
	rc = vmmem_gpa_last(gpa, len, &last);
	if (rc)
		return rc;
	if ((flags & VMMEM_REGION_HUGETLB) && (len % VMMEM_HUGE_SIZE))
		return -EINVAL;
	return 0;
}

/*
 * Allocate a region and, when asked, its dirty bitmap in the same block.
 * ceil(len / 4096) bits, rounded up to whole 64-bit words.
 */
/* The bitmap's words are used with 64-bit atomics, which need them
 * naturally aligned; i386 aligns uint64_t members to 4 bytes only, so it is
 * the struct's size that keeps r + 1 on an 8-byte boundary. */
_Static_assert(sizeof(struct vmmem_region) % sizeof(uint64_t) == 0,
	       "the dirty bitmap after struct vmmem_region must be 8-aligned");
int vmmem__region_alloc(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
			enum vmmem_region_kind kind, struct vmmem_region **out)
{
	struct vmmem_region *r;
	uint64_t pages = 0, words = 0;
	int rc;

	if (flags & VMMEM_REGION_DIRTY_LOG) {
		rc = vmmem__dirty_init();
		if (rc)
			return rc;
		pages = (len >> VMMEM_PAGE_SHIFT) +
			((len & (VMMEM_PAGE_SIZE - 1)) != 0);
		words = (pages + 63) / 64;
		/* Only a 32-bit host gets here, for a region it could not
		 * map either. */
		if (words > (SIZE_MAX - sizeof(*r)) / sizeof(uint64_t))
			return -EOVERFLOW;
	}
	r = calloc(1, sizeof(*r) + words * sizeof(uint64_t));
	if (!r)
		return -ENOMEM;
	r->refs = 1;
	r->kind = kind;
	r->flags = flags;
	r->gpa = gpa;
	r->len = len;
	r->fd = VMMEM_FD_NONE;
	r->dirty_pages = pages;
	r->dirty = pages ? (uint64_t *)(r + 1) : NULL;
	*out = r;
	return 0;
}

#ifndef _WIN32

/* Apply the madvise options to a fresh mapping. */
static int advise(void *hva, size_t len, unsigned flags)
{
	if ((flags & VMMEM_REGION_DONTDUMP) &&
	    madvise(hva, len, MADV_DONTDUMP) != 0)
		return vmmem__neg_errno(errno);
	if (flags & VMMEM_REGION_THP) {
		if (madvise(hva, len, MADV_HUGEPAGE) != 0) {
			/* EINVAL here means a kernel built without THP. */
			int err = errno;

			return err == EINVAL ? -ENOTSUP : vmmem__neg_errno(err);
		}
	}
	return 0;
}

/*
 * Map len bytes for r: directly, or, with VMMEM_REGION_GUARD, inside a
 * PROT_NONE reservation with one inaccessible guard unit (a page, or a huge
 * page for hugetlb mappings, whose addresses must be huge-page aligned) on
 * either side. The whole reservation is what destroy unmaps.
 */
static int region_map(struct vmmem_region *r, int mflags, int fd,
		      uint64_t foff, void *at)
{
	unsigned flags = r->flags;
	size_t page = vmmem__page_size();
	size_t align = (flags & VMMEM_REGION_HUGETLB) ? VMMEM_HUGE_SIZE : page;
	int prot = (flags & VMMEM_REGION_READONLY) ? PROT_READ :
						     PROT_READ | PROT_WRITE;
	size_t map_len, res_len;
	uint8_t *res, *hva;
	int rc;

	if (r->len > SIZE_MAX - align)
		return -EOVERFLOW;
	map_len = (r->len + align - 1) & ~(align - 1);
	/* Huge pages come from a fixed pool: without a reservation at mmap
	 * time an empty pool shows up later as SIGBUS on first touch, so make
	 * the kernel reserve them now and fail here instead. */
	if (flags & VMMEM_REGION_HUGETLB)
		mflags &= ~MAP_NORESERVE;

	if (at) {
		/* Inside a reservation the caller made for it. */
		hva = mmap(at, map_len, prot, mflags | MAP_FIXED, fd,
			   (off_t)foff);
		if (hva == MAP_FAILED)
			return vmmem__neg_errno(errno);
		res = hva;
		res_len = map_len;
	} else if (!(flags & VMMEM_REGION_GUARD)) {
		/* Where huge pages can line up (vmmem__reserve_aligned());
		 * hugetlb mappings are huge-page aligned by the kernel. */
		void *want = NULL;

		if (!(flags & VMMEM_REGION_HUGETLB) &&
		    map_len >= VMMEM_HUGE_SIZE && !(r->gpa & (page - 1)))
			want = vmmem__reserve_aligned(map_len, r->gpa, page);

		hva = mmap(want, map_len, prot, mflags | (want ? MAP_FIXED : 0),
			   fd, (off_t)foff);
		if (hva == MAP_FAILED) {
			rc = vmmem__neg_errno(errno);
			if (want)
				munmap(want, map_len);
			return rc;
		}
		res = hva;
		res_len = map_len;
	} else {
		const size_t huge = VMMEM_HUGE_SIZE;
		size_t slack = 0;
		uintptr_t start;

		/* Room to line the mapping up for huge pages, as above. */
		if (!(flags & VMMEM_REGION_HUGETLB) && map_len >= huge &&
		    !(r->gpa & (page - 1)))
			slack = huge;
		if (map_len > SIZE_MAX - 3 * align - slack)
			return -EOVERFLOW;
		res_len = map_len + 3 * align + slack;
		res = mmap(NULL, res_len, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (res == MAP_FAILED)
			return vmmem__neg_errno(errno);
		start = ((uintptr_t)res + align + align - 1) & ~(align - 1);
		if (slack)
			start += ((uintptr_t)r->gpa - start) & (huge - 1);
		hva = mmap((void *)start, map_len, prot, mflags | MAP_FIXED,
			   fd, (off_t)foff);
		if (hva == MAP_FAILED) {
			rc = vmmem__neg_errno(errno);
			munmap(res, res_len);
			return rc;
		}
	}
	rc = advise(hva, map_len, flags);
	if (rc) {
		munmap(res, res_len);
		return rc;
	}
	r->hva = hva;
	r->map = res;
	r->map_len = res_len;
	return 0;
}

void vmmem__region_free(struct vmmem_region *r)
{
	if (r->kind == VMMEM_REGION_XEN)
		vmmem__xen_region_unmap(r);
	else if (r->map)
		munmap(r->map, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	free(r);
}

int vmmem__region_create_anon_at(vmmem_gpa_t gpa, uint64_t len,
				  unsigned flags, void *at,
				  struct vmmem_region **out)
{
	int mflags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	struct vmmem_region *r;
	int rc;

	rc = vmmem__region_check_args(gpa, len, flags, out);
	if (rc)
		return rc;
	if (flags & VMMEM_REGION_HUGETLB)
		mflags |= MAP_HUGETLB;
	rc = vmmem__region_alloc(gpa, len, flags, VMMEM_REGION_ANON, &r);
	if (rc)
		return rc;
	rc = region_map(r, mflags, -1, 0, at);
	if (rc)
		goto err_free;
	*out = r;
	return 0;

err_free:
	free(r);
	return rc;
}

#endif /* !_WIN32 */

int vmmem_region_create_anon(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
			     struct vmmem_region **out)
{
	return vmmem__region_create_anon_at(gpa, len, flags, NULL, out);
}

#ifndef _WIN32

int vmmem_region_create_memfd(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
			      const char *name, struct vmmem_region **out)
{
	unsigned mfd_flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	struct vmmem_region *r;
	uint64_t size;
	int rc;

	rc = vmmem__region_check_args(gpa, len, flags, out);
	if (rc)
		return rc;
	/* A memfd exists to be shared: a private mapping would hide the
	 * guest's memory from every other holder of the fd. */
	if (flags & VMMEM_REGION_PRIVATE)
		return -EINVAL;
	if (flags & VMMEM_REGION_HUGETLB)
		mfd_flags |= MFD_HUGETLB;
	size = (flags & VMMEM_REGION_HUGETLB) ?
		       len :
		       (len + VMMEM_PAGE_SIZE - 1) & ~(VMMEM_PAGE_SIZE - 1);
	if (size < len || size > (uint64_t)INT64_MAX)
		return -EOVERFLOW;
	rc = vmmem__region_alloc(gpa, len, flags, VMMEM_REGION_MEMFD, &r);
	if (rc)
		return rc;
	r->fd = memfd_create(name ? name : "vmmem", mfd_flags);
	if (r->fd < 0) {
		rc = vmmem__neg_errno(errno);
		goto err_free;
	}
	if (ftruncate(r->fd, (off_t)size) != 0) {
		rc = vmmem__neg_errno(errno);
		goto err_close;
	}
	/* Nobody may shrink the file under a running guest: touching a page
	 * past the end of a mapped file raises SIGBUS in whoever touches it. */
	if (fcntl(r->fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) {
		rc = vmmem__neg_errno(errno);
		goto err_close;
	}
	rc = region_map(r, MAP_SHARED | MAP_NORESERVE, r->fd, 0, NULL);
	if (rc)
		goto err_close;
	*out = r;
	return 0;

err_close:
	close(r->fd);
err_free:
	free(r);
	return rc;
}

int vmmem_region_create_file(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
			     vmmem_fd_t fd, uint64_t foff,
			     struct vmmem_region **out)
{
	int mflags = MAP_SHARED | MAP_NORESERVE;
	struct vmmem_region *r;
	uint64_t end;
	int rc;

	rc = vmmem__region_check_args(gpa, len, flags, out);
	if (rc)
		return rc;
	if (fd < 0)
		return -EBADF;
	if ((flags & VMMEM_REGION_HUGETLB) || (foff & (vmmem__page_size() - 1)))
		return -EINVAL;
	if (__builtin_add_overflow(foff, len, &end) || end > (uint64_t)INT64_MAX)
		return -EOVERFLOW;
	rc = vmmem__region_alloc(gpa, len, flags, VMMEM_REGION_FILE, &r);
	if (rc)
		return rc;
	/* Our own duplicate: the caller may close theirs at once. */
	r->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (r->fd < 0) {
		rc = vmmem__neg_errno(errno);
		goto err_free;
	}
	r->foff = foff;
	/*
	 * Copy-on-write: pages come from the file until first written, then
	 * are ours. The kernel allows a writable private mapping of a file
	 * open only for reading, as nothing is ever written back to it.
	 */
	if (flags & VMMEM_REGION_PRIVATE)
		mflags = MAP_PRIVATE | MAP_NORESERVE;
	rc = region_map(r, mflags, r->fd, foff, NULL);
	if (rc)
		goto err_close;
	*out = r;
	return 0;

err_close:
	close(r->fd);
err_free:
	free(r);
	return rc;
}

#endif /* !_WIN32 */

int vmmem_region_create_borrowed(vmmem_gpa_t gpa, uint64_t len,
				 unsigned flags, void *hva,
				 struct vmmem_region **out)
{
	struct vmmem_region *r;
	uintptr_t end;
	int rc;

	rc = vmmem__region_check_args(gpa, len, flags, out);
	if (rc)
		return rc;
	if ((flags & ~BORROWED_FLAGS) || !hva ||
	    ((uintptr_t)hva & (vmmem__page_size() - 1)))
		return -EINVAL;
	if (len > UINTPTR_MAX ||
	    __builtin_add_overflow((uintptr_t)hva, (uintptr_t)(len - 1), &end))
		return -EOVERFLOW;
	rc = vmmem__region_alloc(gpa, len, flags, VMMEM_REGION_BORROWED, &r);
	if (rc)
		return rc;
	r->hva = hva;
	*out = r;
	return 0;
}

struct vmmem_region *vmmem_region_ref(struct vmmem_region *region)
{
	if (region)
		__atomic_fetch_add(&region->refs, 1, __ATOMIC_RELAXED);
	return region;
}

void vmmem_region_destroy(struct vmmem_region *region)
{
	if (!region)
		return;
	/* The release orders our last accesses before the free; the acquire
	 * on the final drop orders the free after everyone else's. */
	if (__atomic_sub_fetch(&region->refs, 1, __ATOMIC_ACQ_REL) == 0)
		vmmem__region_free(region);
}

vmmem_gpa_t vmmem_region_gpa(const struct vmmem_region *region)
{
	return region->gpa;
}

uint64_t vmmem_region_len(const struct vmmem_region *region)
{
	return region->len;
}

vmmem_gpa_t vmmem_region_last(const struct vmmem_region *region)
{
	return region->gpa + (region->len - 1);
}

void *vmmem_region_hva(const struct vmmem_region *region)
{
	return region->hva;
}

vmmem_fd_t vmmem_region_fd(const struct vmmem_region *region)
{
	return region->fd;
}

uint64_t vmmem_region_file_offset(const struct vmmem_region *region)
{
	return region->foff;
}

unsigned vmmem_region_flags(const struct vmmem_region *region)
{
	return region->flags;
}

enum vmmem_region_kind vmmem_region_kind(const struct vmmem_region *region)
{
	return region->kind;
}

int vmmem_region_is_owned(const struct vmmem_region *region)
{
	return region->kind != VMMEM_REGION_BORROWED;
}

#ifndef _WIN32

/* /proc/self/pagemap: one 64-bit entry per host page. */
#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_SWAPPED (1ull << 62)
/* Entries read at a time. */
#define PAGEMAP_BATCH 4096

/*
 * PAGEMAP_SCAN (Linux 6.7): the pagemap file's ioctl that reports ranges of
 * pages by category, where reading the file costs 8 bytes a page. Its ABI,
 * for headers older than the kernel (Debian 12's are 6.1).
 */
struct vmmem_page_region {
	uint64_t start, end, categories;
};

struct vmmem_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask;
	uint64_t return_mask;
};

#define VMMEM_PAGEMAP_SCAN _IOWR('f', 16, struct vmmem_pm_scan_arg)
#define VMMEM_PAGE_IS_PRESENT (1u << 3)
#define VMMEM_PAGE_IS_SWAPPED (1u << 4)
/* Ranges asked for at a time. */
#define SCAN_RANGES 256

/*
 * The pages in memory or swapped out among the n pages from host address
 * start, with PAGEMAP_SCAN; bits are clear on entry. Return: 0, or -ENOTSUP
 * when the kernel does not have the ioctl (or it fails: the caller reads
 * the file instead).
 */
static int resident_scan(int fd, uint64_t start, uint64_t n, uint64_t page,
			 uint64_t *bits)
{
	struct vmmem_page_region vec[SCAN_RANGES];
	uint64_t end = start + n * page, at = start;

	while (at < end) {
		struct vmmem_pm_scan_arg a = {
			.size = sizeof(a),
			.start = at,
			.end = end,
			.vec = (uintptr_t)vec,
			.vec_len = SCAN_RANGES,
			.category_anyof_mask = VMMEM_PAGE_IS_PRESENT |
					       VMMEM_PAGE_IS_SWAPPED,
			.return_mask = VMMEM_PAGE_IS_PRESENT |
				       VMMEM_PAGE_IS_SWAPPED,
		};
		long got = ioctl(fd, VMMEM_PAGEMAP_SCAN, &a), i;

		if (got < 0 && errno == EINTR)
			continue;
		/* Every call moves on, or the answer is not to be trusted. */
		if (got < 0 || got > SCAN_RANGES || a.walk_end <= at ||
		    a.walk_end > end)
			return -ENOTSUP;
		for (i = 0; i < got; i++) {
			if (vec[i].start < at || vec[i].end > a.walk_end ||
			    vec[i].start >= vec[i].end)
				return -ENOTSUP;
			/* The page size is the bitmaps' (checked by the
			 * caller): the dirty bitmaps' marker sets the bits. */
			vmmem__dirty_mark(bits, vec[i].start - start,
					  vec[i].end - vec[i].start);
		}
		at = a.walk_end;
	}
	return 0;
}

int vmmem_region_resident(const struct vmmem_region *region, uint64_t off,
			  uint64_t len, uint64_t *bits)
{
	uint64_t entries[PAGEMAP_BATCH], first, n, i, done = 0;
	long page = sysconf(_SC_PAGESIZE);
	int fd, ret = 0;

	if (!region || !bits || page != (long)VMMEM_PAGE_SIZE || off % page ||
	    len % page)
		return -EINVAL;
	if (off > region->len || len > region->len - off)
		return -EFAULT;
	n = len / page;
	/*
	 * Only anonymous memory reads as zero where nothing was ever put:
	 * elsewhere an absent page still has the file's (or the owner's)
	 * contents.
	 */
	if (region->kind != VMMEM_REGION_ANON || !region->hva)
		return -ENOTSUP;
	memset(bits, 0, ((n + 63) / 64) * sizeof(*bits));
	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	first = ((uintptr_t)region->hva + off) / (uint64_t)page;
	if (resident_scan(fd, first * (uint64_t)page, n, (uint64_t)page,
			  bits) == 0) {
		close(fd);
		return 0;
	}
	/* Without the ioctl: the file, an entry per page. */
	memset(bits, 0, ((n + 63) / 64) * sizeof(*bits));
	while (done < n) {
		uint64_t k = n - done < PAGEMAP_BATCH ? n - done :
							PAGEMAP_BATCH;
		ssize_t got = pread(fd, entries, k * sizeof(entries[0]),
				    (off_t)((first + done) * sizeof(entries[0])));

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || got % sizeof(entries[0])) {
			ret = got < 0 ? -errno : -EIO;
			break;
		}
		k = (uint64_t)got / sizeof(entries[0]);
		for (i = 0; i < k; i++)
			if (entries[i] & (PAGEMAP_PRESENT | PAGEMAP_SWAPPED))
				bits[(done + i) / 64] |= 1ull << ((done + i) % 64);
		done += k;
	}
	close(fd);
	return ret;
}

#endif /* !_WIN32 */
