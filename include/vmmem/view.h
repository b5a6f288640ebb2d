/* SPDX-License-Identifier: MIT */
/*
 * vmmem/view.h - private: the part of a memory set that the inline accessors
 * of vmmem/scalar.h and vmmem/atomic.h read.
 *
 * Nothing here is API. It is in a public header only so that a u64 load at a
 * recently used address compiles to a few instructions in the caller instead
 * of a call into the library. The layout changes together with the soname.
 */
#ifndef VMMEM_VIEW_H
#define VMMEM_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include <vmmem/addr.h>

struct vmmem;
struct vmmem_region;

/*
 * private: one region of a set, as the fast paths see it: 64 bytes, one
 * cache line. The limits the fast paths compare against are 0 when they
 * must not take the region (no permanent host mapping, not writable, or
 * dirty-tracked for wlim), so one bounds check also answers "may I use
 * hva". Region host addresses are page-aligned, so the alignment of a host
 * address is the alignment of its region offset.
 */
struct vmmem__slot {
	vmmem_gpa_t gpa;	/* first byte */
	uint64_t len;		/* the region's length; 0 in the sentinel */
	/*
	 * Offsets below rlim may be read through hva; below wlim written with
	 * no dirty tracking; below dlim written and then marked dirty. Each
	 * is the length of what may be accessed, minus 7, or 0: one
	 * comparison then covers a value of any size up to 8 bytes (a value
	 * in the last 7 bytes takes the slow path), and an untracked write
	 * pays nothing for tracking. rlim and wlim reach past the region's
	 * end when the next regions continue it in both guest-physical and
	 * host memory, so copies cross such boundaries with one memcpy.
	 */
	uint64_t rlim;
	uint64_t wlim;
	uint64_t dlim;
	uint8_t *hva;		/* host address of gpa, or NULL */
	uint64_t *dirty;	/* one bit per 4 KiB page, or NULL */
	struct vmmem_region *region;
};

/*
 * private: the head of every struct vmmem. Besides the hint, the inline
 * paths read the set's bucket tables: the covered span is cut into
 * power-of-two buckets, aligned where the set allows it to every region
 * boundary, and btab[0][b] turns an address of bucket b into a host address
 * when all of the bucket is readable memory of one region. An aligned value
 * in such a bucket is found with a subtraction, a shift and one load, and no
 * access waits on the one before (the hint is only written by the library's
 * lookups).
 * None of these fields change after the set is built.
 */
struct vmmem__view {
	/* The slot that served the last lookup: a hint, read and written
	 * with relaxed atomics by any thread; never NULL. */
	const struct vmmem__slot *hint;
	vmmem_gpa_t base;		/* first byte of the first region */
	/* (number of buckets - 1) << 6 | log2 of the bucket size: one load
	 * for both. */
	uint64_t geom;
	/* Per bucket: host address minus guest address (modulo 2^64) when
	 * the whole bucket is readable ([0]), or writable without dirty
	 * tracking ([1]), memory of one region whose host and guest
	 * addresses agree modulo 8; else 0 (also when the difference is 0). */
	const uintptr_t *btab[2];
};

#define VMMEM__DIRTY_SHIFT 12

/*
 * The out-of-line halves of the inline accessors are declared cold so that
 * compilers lay out the callers' fast paths as straight-line code; the
 * library itself optimises their bodies as ordinary hot code.
 */
#define VMMEM__SLOW __attribute__((cold))

static inline const struct vmmem__slot *vmmem__hint(struct vmmem *mem)
{
	const struct vmmem__view *v = (const struct vmmem__view *)(void *)mem;

	return __atomic_load_n(&v->hint, __ATOMIC_RELAXED);
}

/*
 * For the n bytes (a power of two up to 8) at gpa: host minus guest address
 * when they are naturally aligned and inside a bucket that is wholly
 * readable (tab 0) or writable without dirty tracking (tab 1), else 0 (see
 * struct vmmem__view). A subtraction, a shift, a comparison and one load
 * from the bucket table; buckets are at least 8 bytes and aligned, so such
 * a value never crosses one.
 */
static inline uintptr_t vmmem__bias(struct vmmem *mem, unsigned tab,
				    vmmem_gpa_t gpa, unsigned n)
{
	const struct vmmem__view *v = (const struct vmmem__view *)(void *)mem;
	uint64_t geom = v->geom;
	uint64_t b = (gpa - v->base) >> (geom & 63);

	if (b > geom >> 6 || (gpa & (n - 1)))
		return 0;
	return v->btab[tab][b];
}

/*
 * Whether a value of n bytes (a power of two up to 8) at region offset off
 * can take the fast path: below the limit, and naturally aligned so that it
 * is one access. The offset is computed by the caller with unsigned
 * wrap-around: an address below the slot gives a huge offset that fails the
 * comparison.
 */
static inline int vmmem__small_ok(uint64_t off, uint64_t lim, unsigned n)
{
	return (off < lim) & !(off & (n - 1));
}

/*
 * Mark the page of a small aligned write dirty, after the data store, in a
 * slot that has a bitmap. An
 * aligned value of at most 8 bytes never straddles a page, so this is one
 * bit. A bit that is already set costs one load: a collector that harvests
 * concurrently pairs its reset with a process-wide barrier (membarrier),
 * which orders our data store before that load; see libvmmem/dirty.c. The
 * signal fence keeps the compiler from moving the load above the store.
 */
static inline void vmmem__mark_small(const struct vmmem__slot *s,
				     uint64_t off)
{
	uint64_t page, *w, bit;

	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	page = off >> VMMEM__DIRTY_SHIFT;
	w = &s->dirty[page >> 6];
	bit = 1ull << (page & 63);
	if (!(__atomic_load_n(w, __ATOMIC_RELAXED) & bit))
		__atomic_fetch_or(w, bit, __ATOMIC_RELAXED);
}

#endif /* VMMEM_VIEW_H */
