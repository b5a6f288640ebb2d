/* SPDX-License-Identifier: MIT */
/*
 * internal.h - libvmmem's private structures and helpers. Not installed and
 * not included from outside libvmmem/.
 */
#ifndef VMMEM_INTERNAL_H
#define VMMEM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vmmem/addr.h>
#include <vmmem/platform.h>
#include <vmmem/region.h>
#include <vmmem/view.h>

/* Everything declared from here on stays out of the shared library's
 * dynamic symbol table. */
#pragma GCC visibility push(hidden)

#define VMMEM_PAGE_SHIFT VMMEM__DIRTY_SHIFT
#define VMMEM_PAGE_SIZE (1ull << VMMEM_PAGE_SHIFT)
#define VMMEM_HUGE_SIZE (2ull << 20)

#ifdef __linux__
/* File offsets are 64-bit in the API and reach mmap(2) and preadv(2) as an
 * off_t: a 32-bit host builds with -D_FILE_OFFSET_BITS=64, or an offset
 * past 2 GiB would be cut to its low bits. */
_Static_assert(sizeof(off_t) == 8,
	       "libvmmem needs a 64-bit off_t: -D_FILE_OFFSET_BITS=64");
#endif

/* The most regions one set may hold; keeps every index in 32 bits. */
#define VMMEM_MAX_REGIONS (1u << 24)

struct vmmem_region {
	uint32_t refs;			/* atomic */
	enum vmmem_region_kind kind;
	unsigned flags;
	vmmem_gpa_t gpa;
	uint64_t len;
	uint8_t *hva;			/* host address of gpa */
	void *map;			/* what we munmap (NULL: borrowed) */
	size_t map_len;
	vmmem_fd_t fd;			/* our own fd, or VMMEM_FD_NONE */
	uint64_t foff;
	uint64_t dirty_pages;		/* bits in dirty[]; 0: not tracked */
	/*
	 * Xen regions (xen.c): the VMMEM_XEN_* flags and domain; on_demand
	 * for GRANT|NO_ADVANCE_MAP, which has no hva and is mapped around
	 * each access (vmmem__demand_map()); the gntdev index of an
	 * up-front grant mapping; the libxenforeignmemory handle of
	 * vmmem_xen_attach()'s region.
	 */
	unsigned xen_flags;
	uint32_t domid;
	bool on_demand;
	uint64_t xen_index;
	void *xen_handle;
	uint64_t *dirty;		/* points just past this struct */
};

struct vmmem {
	struct vmmem__view view;	/* first: read by the inline paths */
	uint32_t refs;			/* atomic */
	uint32_t n;			/* number of regions */
	/*
	 * The bucket index (see view.h): bucket b covers
	 * [base + (b << shift), base + ((b + 1) << shift)) and the regions
	 * that can contain one of its addresses are guess[b] to slots[hi[b]],
	 * so a lookup is a shift and a search over one or two regions for any
	 * layout that is not wildly uneven.
	 */
	vmmem_gpa_t top;		/* last byte of the last region */
	const struct vmmem__slot **guess; /* per bucket: see build_buckets() */
	uint32_t *hi;			/* per bucket */
	/* n slots, cache-line aligned, in the same allocation. */
	struct vmmem__slot *slots;
	struct vmmem__slot sentinel;	/* the only slot of an empty set */
	uintptr_t sentinel_btab;	/* its bucket tables: { 0 } */
};

/*
 * Checks shared by every region creator (region.c): non-empty, no wrap,
 * known flags. 0, -EINVAL or -EOVERFLOW.
 */
int vmmem__region_check_args(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
			     struct vmmem_region **out);

/* Allocate a region of a kind, with its dirty bitmap when flags ask. */
int vmmem__region_alloc(vmmem_gpa_t gpa, uint64_t len, unsigned flags,
			enum vmmem_region_kind kind, struct vmmem_region **out);

/* The host's page size: what mappings and borrowed pointers align to. */
size_t vmmem__page_size(void);

/* Unmap and close what a region owns, then free it (its last reference is
 * gone). */
void vmmem__region_free(struct vmmem_region *r);

/*
 * vmmem_region_create_anon(), mapped at `at` (MAP_FIXED, inside a
 * reservation the caller owns and hands over) when at is not NULL. GUARD is
 * not allowed with at.
 */
int vmmem__region_create_anon_at(vmmem_gpa_t gpa, uint64_t len,
				  unsigned flags, void *at,
				  struct vmmem_region **out);

/* Whether a slot's memory may be read or written through its hva. */
static inline bool vmmem__readable(const struct vmmem__slot *s)
{
	return s->hva != NULL;
}

static inline bool vmmem__writable(const struct vmmem__slot *s)
{
	return s->hva && !(s->region->flags & VMMEM_REGION_READONLY);
}

/*
 * Whether a slot without hva is mapped on demand (a Xen GRANT region with
 * NO_ADVANCE_MAP): accessible, but only through vmmem__demand_map().
 * Only the slow paths ask; the inline paths never take such slots (their
 * limits are 0).
 */
static inline bool vmmem__on_demand(const struct vmmem__slot *s)
{
	return !s->hva && s->region->on_demand;
}

/* Whether a slot may be accessed at all, directly or on demand. */
static inline bool vmmem__accessible(const struct vmmem__slot *s)
{
	return s->hva || s->region->on_demand;
}

/* The most bytes one on-demand mapping covers; longer pieces are moved
 * in several (the gntdev driver limits the grants mapped at once). */
#define VMMEM_DEMAND_MAX (256 * VMMEM_PAGE_SIZE)

/* A mapping of part of an on-demand region for one access. */
struct vmmem__demand {
	const struct vmmem_region *region;
	uint8_t *hva;			/* host address of the requested off */
	void *map;			/* NULL: nothing mapped */
	size_t map_len;
	uint64_t index;			/* gntdev index of the grants */
	uint32_t pages;
};

/*
 * Map region offsets [off, off + len) (len > 0, in range, at most
 * VMMEM_DEMAND_MAX bytes after rounding out to pages) with prot
 * (PROT_READ, PROT_WRITE or both) for one access. Every successful call is
 * paired with vmmem__demand_unmap() before the access returns. Returns 0,
 * or the negative errno of the mapping ioctl or mmap (nothing stays
 * mapped), -ENOTSUP when the region is not mapped on demand.
 */
int vmmem__demand_map(const struct vmmem_region *r, uint64_t off,
		      uint64_t len, int prot, struct vmmem__demand *m);

/* Undo vmmem__demand_map(); a no-op when m->map is NULL. */
void vmmem__demand_unmap(struct vmmem__demand *m);

/* Unmap a FOREIGN or GRANT region's up-front mapping (region_free). */
void vmmem__xen_region_unmap(struct vmmem_region *r);

/* A contiguous piece of an access: one region's part of a range. */
struct vmmem__piece {
	const struct vmmem__slot *slot;
	uint64_t off;			/* offset in the region */
	uint64_t len;
};

/*
 * Walk [gpa, gpa + len) (len > 0) for an access that may cross regions and
 * check it: every byte backed, every region mapped or mappable on demand,
 * and writable when `write`. Records the first `max` pieces in pieces[] (may be NULL) and
 * their total number in *n (may be NULL). Returns 0, or -EOVERFLOW,
 * -EFAULT (a hole anywhere wins over the other errors), -EACCES, -ENOTSUP.
 */
int vmmem__walk(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len, bool write,
		struct vmmem__piece *pieces, unsigned max, unsigned *n);

/*
 * Find the slot that contains gpa through the bucket index, without
 * looking at the hint (the inline paths already did). Returns NULL when no
 * region contains it; otherwise makes the slot the hint. Inline, because it
 * is the whole cost of a random access.
 */
static inline const struct vmmem__slot *vmmem__find(struct vmmem *mem,
						    vmmem_gpa_t gpa)
{
	const struct vmmem__slot *s;
	uint64_t b;
	uint32_t n;

	if (mem->n == 0 || gpa - mem->view.base > mem->top - mem->view.base)
		return NULL;
	b = (gpa - mem->view.base) >> (mem->view.geom & 63);
	/*
	 * The last region in [first, hi] that starts at or before gpa.
	 * Without branches on the comparison (it compiles to a conditional
	 * move): a bucket may straddle two regions, and random addresses
	 * would mispredict a branch half of the time.
	 */
	s = mem->guess[b];
	n = mem->hi[b] - (uint32_t)(s - mem->slots) + 1;
	while (n > 1) {
		uint32_t half = n / 2;

		s = s[half].gpa <= gpa ? s + half : s;
		n -= half;
	}
	if (gpa - s->gpa >= s->len)
		return NULL;
	/* The hint is shared by every thread using this set: only write it
	 * when it changes, so that threads working in one region do not keep
	 * bouncing its cache line. */
	if (s != __atomic_load_n(&mem->view.hint, __ATOMIC_RELAXED))
		__atomic_store_n(&mem->view.hint, s, __ATOMIC_RELAXED);
	return s;
}

/* Find the slot that contains gpa: the hint first, then the index. */
static inline const struct vmmem__slot *vmmem__lookup(struct vmmem *mem,
						      vmmem_gpa_t gpa)
{
	const struct vmmem__slot *hint = vmmem__hint(mem);

	if (gpa - hint->gpa < hint->len)
		return hint;
	return vmmem__find(mem, gpa);
}

/* The slot after s in address order, if it starts right where s ends. */
const struct vmmem__slot *vmmem__next_adjacent(const struct vmmem *mem,
					       const struct vmmem__slot *s);

/* vmmem__walk() without recording the pieces. */
static inline int vmmem__check(struct vmmem *mem, vmmem_gpa_t gpa,
			       uint64_t len, bool write)
{
	return vmmem__walk(mem, gpa, len, write, NULL, 0, NULL);
}

/* Mark region offsets [off, off + len) dirty (len > 0, in range). */
void vmmem__dirty_mark(uint64_t *bitmap, uint64_t off, uint64_t len);

/* Mark a piece of an access dirty if its region is tracked. */
static inline void vmmem__mark_piece(const struct vmmem__slot *s, uint64_t off,
				     uint64_t len)
{
	if (s->dirty && len)
		vmmem__dirty_mark(s->dirty, off, len);
}

/* Make sure the process-wide barrier that dirty harvesting relies on is
 * available; 0 or -ENOTSUP. */
int vmmem__dirty_init(void);

/*
 * Called after a set's reference count dropped to 1: wakes threads in
 * vmmem_space_wait_released(), if there are any (space.c).
 */
void vmmem__notify_released(void);

/* The same error code as a system call's errno, negated; never 0. */
static inline int vmmem__neg_errno(int err)
{
	return err > 0 ? -err : -EIO;
}

#pragma GCC visibility pop

#endif /* VMMEM_INTERNAL_H */
