/* SPDX-License-Identifier: MIT */
/*
 * vmmem/region.h - one contiguous range of guest-physical memory and the host
 * mapping behind it (the provider side).
 *
 * A region is created by whoever builds guest memory (a VMM) and then placed
 * into one or more memory sets (vmmem/memory.h). Consumers never need this
 * header: they read and write by guest-physical address.
 *
 * Regions are reference counted. vmmem_region_destroy() drops the caller's
 * reference; a memory set that contains the region holds its own, so the
 * mapping stays valid until the last set using it is destroyed too.
 *
 * Backends:
 *   anonymous  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, owned;
 *   memfd      a new memfd sealed against shrinking, MAP_SHARED, owned; its fd
 *              can be passed to another process (vhost-user, a snapshotter);
 *   file       an fd at an offset, MAP_SHARED (or MAP_PRIVATE with
 *              VMMEM_REGION_PRIVATE); the region keeps its own dup;
 *   borrowed   a caller's existing mapping; never unmapped by libvmmem.
 *
 * On Windows (vmmem/platform.h) the same backends are:
 *   anonymous  VirtualAlloc(), reserved and committed, owned;
 *   memfd      a pagefile-backed section (CreateFileMapping() of
 *              INVALID_HANDLE_VALUE) mapped with MapViewOfFile(), owned; its
 *              section handle is the region's fd, for DuplicateHandle()
 *              into another process. A section cannot shrink, so nothing is
 *              sealed, and it stays unnamed: the name is not used;
 *   file       a section of the caller's file HANDLE, at an offset that is
 *              a multiple of the allocation granularity (64 KiB) rather
 *              than of the page size, and only within the file's current
 *              size (Windows maps no page past the end of a file);
 *   borrowed   as on Linux.
 * Guard pages are PAGE_NOACCESS reservations: a page on either side of
 * anonymous memory, an allocation granule on either side of a view.
 * HUGETLB uses large pages (MEM_LARGE_PAGES, SEC_LARGE_PAGES), -ENOTSUP
 * when the process may not use them (it needs SeLockMemoryPrivilege) or
 * with GUARD. THP and DONTDUMP are -ENOTSUP, and so is
 * vmmem_region_resident(). Where the errors below say "a negative fd", read
 * NULL or INVALID_HANDLE_VALUE.
 */
#ifndef VMMEM_REGION_H
#define VMMEM_REGION_H

#include <stddef.h>
#include <stdint.h>

#include <vmmem/addr.h>
#include <vmmem/platform.h>

struct vmmem_region;

/* Region options, or-ed together into the flags argument of the creators. */
enum {
	/* Map read-only; every write through libvmmem fails with -EACCES. */
	VMMEM_REGION_READONLY = 1u << 0,
	/*
	 * Back with huge pages (MAP_HUGETLB, or MFD_HUGETLB for memfd). The
	 * length must be a multiple of 2 MiB. Fails with the kernel's error
	 * (usually -ENOMEM) when no huge pages are reserved.
	 */
	VMMEM_REGION_HUGETLB = 1u << 1,
	/* Ask for transparent huge pages (MADV_HUGEPAGE); a refusal is an
	 * error (-ENOTSUP when the kernel lacks THP). */
	VMMEM_REGION_THP = 1u << 2,
	/* Leave guest memory out of core dumps (MADV_DONTDUMP). */
	VMMEM_REGION_DONTDUMP = 1u << 3,
	/* Put an inaccessible page before and after the mapping, so that a
	 * stray host pointer running off either end faults at once. */
	VMMEM_REGION_GUARD = 1u << 4,
	/* Keep a dirty bitmap: one bit per 4 KiB page (vmmem/dirty.h). */
	VMMEM_REGION_DIRTY_LOG = 1u << 5,
	/*
	 * Copy-on-write file mapping (MAP_PRIVATE): the file's pages are read
	 * in on first touch, and writes go to private copies of the pages,
	 * never to the file, so the fd may be open read-only. This is how a
	 * VMM restores guest memory from a snapshot file without reading all
	 * of it up front. Meant for vmmem_region_create_file(); anonymous
	 * regions accept it and are unchanged (they are private already);
	 * memfd and borrowed regions refuse it with -EINVAL (a memfd is there
	 * to be shared, a borrowed mapping is not ours to make).
	 */
	VMMEM_REGION_PRIVATE = 1u << 6,
};

/*
 * Every flag some creator accepts; other bits are rejected with -EINVAL by
 * all of them. Each creator's doc says which of these it refuses.
 */
#define VMMEM_REGION_FLAGS_ALL 0x7fu

/* What backs a region (vmmem_region_kind()). */
enum vmmem_region_kind {
	VMMEM_REGION_ANON = 1,
	VMMEM_REGION_MEMFD = 2,
	VMMEM_REGION_FILE = 3,
	VMMEM_REGION_BORROWED = 4,
	/* A Xen FOREIGN or GRANT mapping (vmmem/xen.h, libvmmem-xen only). */
	VMMEM_REGION_XEN = 5,
};

/**
 * vmmem_region_create_anon() - map anonymous memory for a region.
 * @gpa: first guest-physical address of the region.
 * @len: length in bytes; any non-zero value (the host mapping is rounded up
 *       to whole pages, the region is not).
 * @flags: VMMEM_REGION_* options.
 * @out: receives the new region (one reference, the caller's).
 *
 * The mapping is MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE: no swap is
 * reserved and pages are allocated on first touch. It is unmapped when the
 * last reference is dropped. VMMEM_REGION_PRIVATE is accepted and changes
 * nothing.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for zero len, unknown flags, or HUGETLB with a len that is
 * not a multiple of 2 MiB; -EOVERFLOW when [gpa, gpa + len) runs past the
 * 64-bit space or len does not fit the host's address space; -ENOMEM and
 * other negative errno values from mmap(2) and madvise(2); -ENOTSUP when THP
 * advice is refused.
 */
int vmmem_region_create_anon(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
			     struct vmmem_region **out);

/**
 * vmmem_region_create_memfd() - create a region backed by a new memfd.
 * @gpa: first guest-physical address of the region.
 * @len: length in bytes; non-zero.
 * @flags: VMMEM_REGION_* options.
 * @name: the memfd's name (shown in /proc/PID/maps); NULL for "vmmem".
 * @out: receives the new region.
 *
 * The memfd is sized to len, sealed against shrinking (F_SEAL_SHRINK) so that
 * no holder of the fd can truncate it under a running guest (which would turn
 * guest accesses into SIGBUS), and mapped MAP_SHARED. The region owns the fd;
 * vmmem_region_fd() returns it for passing to other processes.
 *
 * Return: 0 on success.
 * Errors: as vmmem_region_create_anon(), plus -EINVAL for
 * VMMEM_REGION_PRIVATE (the point of a memfd is that the fd sees the guest's
 * memory) and the negative errno of memfd_create(2), ftruncate(2) and
 * fcntl(2).
 */
int vmmem_region_create_memfd(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
			      const char *name, struct vmmem_region **out);

/**
 * vmmem_region_create_file() - map a file descriptor at an offset.
 * @gpa: first guest-physical address of the region.
 * @len: length in bytes; non-zero.
 * @flags: VMMEM_REGION_* options (HUGETLB is not accepted: use an fd on
 *         hugetlbfs instead).
 * @fd: an open file descriptor; the caller keeps it and may close it at once,
 *      the region keeps its own duplicate (close-on-exec).
 * @foff: offset into the file; a multiple of the host page size.
 * @out: receives the new region.
 *
 * The mapping is MAP_SHARED, so writes reach the file. The file is not
 * checked beforehand (block devices, sparse files and special fds are
 * allowed); mapping past the end of a regular file succeeds, and touching
 * those pages faults in the host, so size the file first.
 *
 * With VMMEM_REGION_PRIVATE the mapping is MAP_PRIVATE instead: the region
 * reads what the file holds (holes in a sparse file read as zero) until a
 * page is first written, and from then on that page is the region's own
 * copy. Writes never reach the file, so a file opened O_RDONLY gives a
 * writable region, and changes to the file made after a page was copied do
 * not show in the region (before that they may). vmmem_region_fd() still
 * returns the file, which does not hold the guest's writes: do not hand it
 * to another process as guest memory. DIRTY_LOG tracks the writes as usual,
 * which tells a VMM restoring a snapshot what changed since.
 *
 * Example, guest RAM restored from a snapshot file:
 *
 *	int fd = open("mem.snap", O_RDONLY | O_CLOEXEC);
 *	rc = vmmem_region_create_file(0, ram_len, VMMEM_REGION_PRIVATE, fd,
 *				      0, &r);
 *	close(fd);
 *
 * Return: 0 on success.
 * Errors: -EINVAL for zero len, unknown flags, HUGETLB or an unaligned foff;
 * -EOVERFLOW when foff + len or gpa + len wraps, foff + len passes 2^63, or
 * len does not fit the host's address space; -EBADF when fd is negative
 * (VMMEM_FD_NONE) or not open; -EACCES when the fd's mode does not allow the protection
 * (a shared writable mapping of a file not open for writing; PRIVATE only
 * needs the fd open for reading); other negative errno values from mmap(2).
 */
int vmmem_region_create_file(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
			     vmmem_fd_t fd, uint64_t foff,
			     struct vmmem_region **out);

/**
 * vmmem_region_create_borrowed() - adopt an existing host mapping.
 * @gpa: first guest-physical address of the region.
 * @len: length in bytes; non-zero.
 * @flags: only VMMEM_REGION_READONLY and VMMEM_REGION_DIRTY_LOG are accepted
 *         (the memory is not ours to advise, to map privately or to
 *         surround with guards).
 * @hva: the host address of the memory; page-aligned.
 * @out: receives the new region.
 *
 * Caller guarantees: [hva, hva + len) is mapped readable (and writable unless
 * READONLY) and stays mapped until the last reference to the region is
 * dropped. libvmmem never unmaps it.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for zero len, a NULL or unaligned hva, or flags other than
 * the two above; -EOVERFLOW when gpa + len or hva + len wraps (len longer
 * than the host's address space included); -ENOMEM.
 */
int vmmem_region_create_borrowed(vmmem_gpa_t gpa, uint64_t len,
				 unsigned flags, void *hva,
				 struct vmmem_region **out);

/**
 * vmmem_region_ref() - take another reference to a region.
 * @region: the region; may be NULL.
 *
 * Return: @region.
 */
struct vmmem_region *vmmem_region_ref(struct vmmem_region *region);

/**
 * vmmem_region_destroy() - drop a reference to a region.
 * @region: the region; NULL is a no-op.
 *
 * When the last reference goes, an owned mapping is unmapped and an owned fd
 * closed; a borrowed mapping is left alone.
 */
void vmmem_region_destroy(struct vmmem_region *region);

/** vmmem_region_gpa() - first guest-physical address of the region. */
vmmem_gpa_t vmmem_region_gpa(const struct vmmem_region *region);

/** vmmem_region_len() - length of the region in bytes (never zero). */
uint64_t vmmem_region_len(const struct vmmem_region *region);

/**
 * vmmem_region_last() - last guest-physical byte of the region
 * (gpa + len - 1; never wraps).
 */
vmmem_gpa_t vmmem_region_last(const struct vmmem_region *region);

/**
 * vmmem_region_hva() - host address of the region's first byte.
 *
 * The pointer is borrowed: valid while a reference to the region is held.
 * Writes through it are not dirty-tracked; call vmmem_mark_dirty() (or
 * vmmem_region_mark_dirty()) after writing.
 */
void *vmmem_region_hva(const struct vmmem_region *region);

/**
 * vmmem_region_fd() - the fd behind the region.
 *
 * Return: the region's own fd (memfd and file regions; borrowed, do not
 * close it), or VMMEM_FD_NONE (-1 on Linux) for anonymous and borrowed
 * regions.
 */
vmmem_fd_t vmmem_region_fd(const struct vmmem_region *region);

/**
 * vmmem_region_file_offset() - offset of the region's first byte in its fd
 * (0 for memfd, 0 for regions without an fd).
 */
uint64_t vmmem_region_file_offset(const struct vmmem_region *region);

/**
 * vmmem_region_flags() - the options in effect: the flags the region was
 * created with (all of which were applied, or creation would have failed).
 */
unsigned vmmem_region_flags(const struct vmmem_region *region);

/** vmmem_region_kind() - what backs the region. */
enum vmmem_region_kind vmmem_region_kind(const struct vmmem_region *region);

/**
 * vmmem_region_is_owned() - whether libvmmem unmaps the memory.
 *
 * Return: 1 for anonymous, memfd and file regions, 0 for borrowed ones.
 */
int vmmem_region_is_owned(const struct vmmem_region *region);

/**
 * vmmem_region_resident() - which pages of an anonymous region hold memory.
 * @region: an anonymous region (vmmem_region_create_anon()).
 * @off: region offset of the first page; a multiple of 4096.
 * @len: bytes; a multiple of 4096.
 * @bits: receives one bit per page (bit i of word i / 64), set when the
 *        page is in memory or swapped out; clear when it was never
 *        touched, so it reads as zero. ceil(len / 4096 / 64) words.
 *
 * For a VMM that copies guest memory elsewhere (a migration, a snapshot)
 * and may skip what was never touched without reading it, which would
 * also fault it in. The answer is a snapshot: a page may be touched right
 * after; a caller that must not miss such pages tracks writes with the
 * dirty bitmap from before it asks. Asks /proc/self/pagemap: with its
 * PAGEMAP_SCAN ioctl where the kernel has it (Linux 6.7; 0.2 ms for 256 MiB
 * on this project's machines), by reading an entry per page otherwise
 * (about 1.4 ms).
 *
 * Return: 0.
 * Errors: -EINVAL for a NULL argument, unaligned off or len, or a host
 * page size other than 4096; -EFAULT when [off, off + len) is not inside
 * the region; -ENOTSUP for a region that is not anonymous memory (an
 * absent page of a file still holds the file's data); the negative errno
 * of open(2) or pread(2) on /proc/self/pagemap (the ioctl's errors are
 * not returned: the file is read instead).
 */
int vmmem_region_resident(const struct vmmem_region *region, uint64_t off,
			  uint64_t len, uint64_t *bits);

#endif /* VMMEM_REGION_H */
