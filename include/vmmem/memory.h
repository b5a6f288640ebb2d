/* SPDX-License-Identifier: MIT */
/*
 * vmmem/memory.h - guest memory as an immutable set of regions, and checked
 * range access to it (the consumer side).
 *
 * A struct vmmem is a sorted, non-overlapping, reference-counted set of
 * regions. It never changes after creation: vmmem_insert() and vmmem_remove()
 * return a new set that shares the unchanged regions (copy-on-write), so a
 * thread holding a set can use it without locks. To publish a changing map to
 * many threads, use vmmem/space.h.
 *
 * Every access is a range (gpa, len). Ranges may cross from one region into
 * an adjacent one. vmmem_read() and vmmem_write() are all-or-nothing: the whole
 * range is validated before the first byte moves, so a range running into a
 * hole changes nothing. The *_partial variants copy up to the first hole and
 * say how far they got.
 *
 * Bulk copies are not atomic, and a concurrent guest can see (or cause)
 * torn data, with one exception: a naturally aligned copy of 2, 4 or 8
 * bytes (vmmem_read_obj() of a uint16_t, say) is one load or store on every
 * path, as the Rust crate guarantees since its issue 93. For values shared
 * with the guest prefer the accessors of vmmem/scalar.h and vmmem/atomic.h,
 * which say so in their types.
 *
 * Unless a function says otherwise, a zero-length access succeeds and
 * touches nothing, whatever the address.
 *
 * Thread safety: a set may be used by any number of threads at once.
 */
#ifndef VMMEM_MEMORY_H
#define VMMEM_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include <vmmem/addr.h>
#include <vmmem/view.h>

struct vmmem;
struct vmmem_region;

/* A guest-physical range, for vmmem_create_anon(). */
struct vmmem_range {
	vmmem_gpa_t gpa;
	uint64_t len;
};

/**
 * vmmem_create() - build a memory set from regions.
 * @regions: the regions, in any order; NULL only when n is 0.
 * @n: number of regions; 0 gives an empty set.
 * @out: receives the new set (one reference, the caller's).
 *
 * The set takes its own reference to every region; the caller keeps its own
 * and may drop it at once with vmmem_region_destroy().
 *
 * Return: 0 on success.
 * Errors: -EINVAL when regions is NULL with n > 0, or an entry is NULL, or n
 * exceeds the maximum (2^24 regions); -EEXIST when two regions overlap
 * (including the same region twice); -ENOMEM.
 */
int vmmem_create(struct vmmem_region *const *regions, size_t n,
		 struct vmmem **out);

/**
 * vmmem_create_anon() - build a memory set of anonymous regions.
 * @ranges: the ranges, in any order.
 * @n: number of ranges.
 * @flags: VMMEM_REGION_* options applied to every region.
 * @out: receives the new set.
 *
 * Example, two adjacent 4 KiB regions:
 *
 *	struct vmmem_range r[] = { { 0x0, 0x1000 }, { 0x1000, 0x1000 } };
 *	struct vmmem *mem;
 *	int rc = vmmem_create_anon(r, 2, 0, &mem);
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL ranges with n > 0, a zero length or bad flags;
 * -EOVERFLOW for a range that wraps or is longer than the host's address
 * space (nothing is left mapped); -EEXIST for overlapping ranges; the
 * errors of vmmem_region_create_anon().
 */
int vmmem_create_anon(const struct vmmem_range *ranges, size_t n,
		      unsigned flags, struct vmmem **out);

/**
 * vmmem_ref() - take another reference to a set.
 * @mem: the set; may be NULL.
 *
 * Return: @mem.
 */
struct vmmem *vmmem_ref(struct vmmem *mem);

/**
 * vmmem_destroy() - drop a reference to a set.
 * @mem: the set; NULL is a no-op.
 *
 * The last reference frees the set and drops its references to its regions.
 */
void vmmem_destroy(struct vmmem *mem);

/**
 * vmmem_insert() - a new set with one more region.
 * @mem: the current set; not changed.
 * @region: the region to add; the new set takes its own reference.
 * @out: receives the new set.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL argument; -EEXIST when the region overlaps one
 * in @mem; -ENOMEM.
 */
int vmmem_insert(struct vmmem *mem, struct vmmem_region *region,
		 struct vmmem **out);

/**
 * vmmem_remove() - a new set without the region that is exactly [gpa, +len).
 * @mem: the current set; not changed.
 * @gpa: start of the region to remove.
 * @len: its length.
 * @out: receives the new set.
 * @removed: if not NULL, receives the removed region with a new reference
 *           for the caller (drop it with vmmem_region_destroy()).
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL mem or out; -ENOENT when no region has exactly
 * that start and length; -ENOMEM.
 */
int vmmem_remove(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len,
		 struct vmmem **out, struct vmmem_region **removed);

/** vmmem_region_count() - number of regions in the set. */
size_t vmmem_region_count(const struct vmmem *mem);

/**
 * vmmem_region_at() - the i-th region, in ascending address order.
 * @mem: the set.
 * @i: index, below vmmem_region_count().
 *
 * Iterate with: for (i = 0; i < vmmem_region_count(mem); i++).
 *
 * Return: the region, borrowed (valid while @mem is held), or NULL when i is
 * out of range.
 */
struct vmmem_region *vmmem_region_at(const struct vmmem *mem, size_t i);

/**
 * vmmem_find_region() - the region that contains an address.
 * @mem: the set.
 * @gpa: the address.
 * @out: receives the region, borrowed (valid while @mem is held).
 *
 * Binary search, with a shortcut for the region of the previous hit.
 *
 * Return: 0 on success.
 * Errors: -EFAULT when no region contains gpa.
 */
int vmmem_find_region(struct vmmem *mem, vmmem_gpa_t gpa,
		      struct vmmem_region **out);

/**
 * vmmem_last_gpa() - the highest guest-physical address in the set.
 * @mem: the set.
 * @last: receives the last byte of the last region.
 *
 * Return: 0 on success.
 * Errors: -ENOENT when the set is empty.
 */
int vmmem_last_gpa(const struct vmmem *mem, vmmem_gpa_t *last);

/**
 * vmmem_check_range() - whether a range is entirely backed.
 * @mem: the set.
 * @gpa: first byte.
 * @len: length; 0 always succeeds.
 *
 * The range may cross adjacent regions.
 *
 * Return: 0 when every byte is backed.
 * Errors: -EOVERFLOW when gpa + len wraps past 2^64; -EFAULT when some byte
 * is not backed.
 */
int vmmem_check_range(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len);

/**
 * vmmem_check_writable() - whether a range is entirely backed and writable.
 * @mem: the set.
 * @gpa: first byte.
 * @len: length; 0 always succeeds.
 *
 * The question vmmem_write() asks before it copies, for a consumer that
 * wants the answer once and ahead of time, such as a device checking at
 * setup that the guest placed a ring it must write to in writable memory.
 * The range may cross adjacent regions. Only the regions are looked at:
 * nothing is mapped or written, and dirty-tracked regions are not marked.
 * The answer holds for as long as @mem is held, since a set never changes.
 *
 * Return: 0 when every byte is backed and none is in a region created with
 * VMMEM_REGION_READONLY.
 * Errors: -EOVERFLOW when gpa + len wraps past 2^64; -EFAULT when some byte
 * is not backed (reported even when the range also touches a read-only
 * region, as vmmem_write() does); -EACCES when every byte is backed but some
 * byte is in a read-only region.
 */
int vmmem_check_writable(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len);

/**
 * vmmem_read() - copy guest memory into a buffer, all or nothing.
 * @mem: the set.
 * @gpa: first guest byte.
 * @buf: destination; len bytes.
 * @len: number of bytes; 0 succeeds at once.
 *
 * The range may cross regions. It is validated as a whole first; on error
 * @buf is untouched.
 *
 * Return: 0 on success.
 * Errors: -EOVERFLOW when gpa + len wraps; -EFAULT when any byte is not
 * backed; -ENOTSUP when a region has no host mapping.
 */
static inline int vmmem_read(struct vmmem *mem, vmmem_gpa_t gpa, void *buf,
			     size_t len);

/**
 * vmmem_write() - copy a buffer into guest memory, all or nothing.
 * @mem: the set.
 * @gpa: first guest byte.
 * @buf: source; len bytes.
 * @len: number of bytes; 0 succeeds at once.
 *
 * The range may cross regions. It is validated as a whole first (backed and
 * writable); on error guest memory is untouched. Dirty-tracked regions are
 * marked.
 *
 * Return: 0 on success.
 * Errors: -EOVERFLOW when gpa + len wraps; -EFAULT when any byte is not
 * backed; -EACCES when any byte is in a read-only region; -ENOTSUP when a
 * region has no host mapping.
 */
static inline int vmmem_write(struct vmmem *mem, vmmem_gpa_t gpa,
			      const void *buf, size_t len);

/**
 * vmmem_fill() - set a guest range to one byte value, all or nothing.
 * @mem: the set.
 * @gpa: first guest byte.
 * @byte: the value (converted to unsigned char).
 * @len: number of bytes.
 *
 * Return: 0 on success.
 * Errors: as vmmem_write().
 */
int vmmem_fill(struct vmmem *mem, vmmem_gpa_t gpa, int byte, size_t len);

/**
 * vmmem_read_partial() - copy guest memory up to the first hole.
 * @mem: the set.
 * @gpa: first guest byte.
 * @buf: destination.
 * @len: number of bytes.
 * @done: receives the number of bytes copied, also on error.
 *
 * Copies region by region and stops where the range leaves backed memory.
 *
 * Return: 0 when all len bytes were copied.
 * Errors: -EFAULT when the copy stopped at a hole (*done tells where);
 * -EOVERFLOW when the range wraps past 2^64, with nothing copied (*done is
 * 0); -ENOTSUP when a region has no host mapping.
 */
int vmmem_read_partial(struct vmmem *mem, vmmem_gpa_t gpa, void *buf,
		       size_t len, size_t *done);

/**
 * vmmem_write_partial() - copy a buffer into guest memory up to the first
 * hole or read-only region.
 * @mem: the set.
 * @gpa: first guest byte.
 * @buf: source.
 * @len: number of bytes.
 * @done: receives the number of bytes copied, also on error.
 *
 * Return: 0 when all len bytes were copied.
 * Errors: -EFAULT at a hole; -EACCES at a read-only region; -EOVERFLOW when
 * the range wraps, with nothing copied; -ENOTSUP when a region has no host
 * mapping.
 */
int vmmem_write_partial(struct vmmem *mem, vmmem_gpa_t gpa, const void *buf,
			size_t len, size_t *done);

/* Read or write one object by value: vmmem_read_obj(mem, gpa, &desc). */
#define vmmem_read_obj(mem, gpa, objp) \
	vmmem_read((mem), (gpa), (objp), sizeof(*(objp)))
#define vmmem_write_obj(mem, gpa, objp) \
	vmmem_write((mem), (gpa), (objp), sizeof(*(objp)))

/**
 * vmmem_get_ptr() - host address of a range that lies in one region.
 * @mem: the set.
 * @gpa: first guest byte.
 * @len: length; not zero.
 * @hva: receives the host address of gpa.
 *
 * The pointer is borrowed: valid while @mem (or the region) is held, for
 * exactly [gpa, gpa + len). Writes through it are not dirty-tracked: call
 * vmmem_mark_dirty() afterwards. Prefer vmmem_read()/vmmem_write().
 *
 * Return: 0 on success.
 * Errors: -EINVAL for zero len; -EOVERFLOW when the range wraps; -EFAULT
 * when the range is not fully backed; -EXDEV when it is backed but crosses
 * into another region; -ENOTSUP when the region has no host mapping. No
 * region is longer than the host's size_t, so neither is a range that
 * succeeds: a longer len (a 32-bit host) fails with -EFAULT or -EXDEV.
 */
int vmmem_get_ptr(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len,
		  void **hva);

/* private: the out-of-line parts of vmmem_read() and vmmem_write(). */
VMMEM__SLOW int vmmem__read_slow(struct vmmem *mem, vmmem_gpa_t gpa,
				 void *buf, size_t len);
VMMEM__SLOW int vmmem__write_slow(struct vmmem *mem, vmmem_gpa_t gpa,
				  const void *buf, size_t len);

/*
 * private: copy len bytes from guest memory g into buf, or from buf into g.
 * A naturally aligned access of 2, 4 or 8 bytes is one load or store of the
 * guest side, so a writer on another thread (the guest) cannot tear it:
 * memcpy() of a variable length may copy byte by byte. Every path of
 * vmmem_read()/vmmem_write() copies through these.
 */
void vmmem__from_guest_var(void *buf, const uint8_t *g, size_t len);
void vmmem__to_guest_var(uint8_t *g, const void *buf, size_t len);

static inline void vmmem__from_guest_fixed(void *buf, const uint8_t *g,
					   size_t len)
{
	uintptr_t a = (uintptr_t)g;

	if (len == 8 && !(a & 7)) {
		uint64_t v = __atomic_load_n((const uint64_t *)(const void *)g,
					     __ATOMIC_RELAXED);
		memcpy(buf, &v, 8);
	} else if (len == 4 && !(a & 3)) {
		uint32_t v = __atomic_load_n((const uint32_t *)(const void *)g,
					     __ATOMIC_RELAXED);
		memcpy(buf, &v, 4);
	} else if (len == 2 && !(a & 1)) {
		uint16_t v = __atomic_load_n((const uint16_t *)(const void *)g,
					     __ATOMIC_RELAXED);
		memcpy(buf, &v, 2);
	} else {
		memcpy(buf, g, len);
	}
}

static inline void vmmem__to_guest_fixed(uint8_t *g, const void *buf,
					 size_t len)
{
	uintptr_t a = (uintptr_t)g;

	if (len == 8 && !(a & 7)) {
		uint64_t v;

		memcpy(&v, buf, 8);
		__atomic_store_n((uint64_t *)(void *)g, v, __ATOMIC_RELAXED);
	} else if (len == 4 && !(a & 3)) {
		uint32_t v;

		memcpy(&v, buf, 4);
		__atomic_store_n((uint32_t *)(void *)g, v, __ATOMIC_RELAXED);
	} else if (len == 2 && !(a & 1)) {
		uint16_t v;

		memcpy(&v, buf, 2);
		__atomic_store_n((uint16_t *)(void *)g, v, __ATOMIC_RELAXED);
	} else {
		memcpy(g, buf, len);
	}
}

/*
 * A length known only at run time is one memcpy when it is longer than 8
 * bytes; up to 8 it goes out of line, so that callers do not get a branch
 * per size. The caller's buffer goes through an empty asm: a compiler that
 * sees an 8-byte buffer must not warn about a branch that the length rules
 * out at run time.
 */
static inline void vmmem__from_guest(void *buf, const uint8_t *g, size_t len)
{
	if (__builtin_constant_p(len)) {
		vmmem__from_guest_fixed(buf, g, len);
	} else if (__builtin_expect(len > 8, 1)) {
		__asm__("" : "+r"(buf));
		memcpy(buf, g, len);
	} else {
		vmmem__from_guest_var(buf, g, len);
	}
}

static inline void vmmem__to_guest(uint8_t *g, const void *buf, size_t len)
{
	if (__builtin_constant_p(len)) {
		vmmem__to_guest_fixed(g, buf, len);
	} else if (__builtin_expect(len > 8, 1)) {
		__asm__("" : "+r"(buf));
		memcpy(g, buf, len);
	} else {
		vmmem__to_guest_var(g, buf, len);
	}
}

/*
 * The common case, a range inside the region of the previous access, is
 * inline: a bounds check and a copy, which the compiler turns into a few
 * moves when len is a constant (vmmem_read_obj() of a descriptor).
 */
static inline int vmmem_read(struct vmmem *mem, vmmem_gpa_t gpa, void *buf,
			     size_t len)
{
	const struct vmmem__slot *s = vmmem__hint(mem);
	uint64_t off = gpa - s->gpa;

	/* rlim is the readable run from s->gpa on, minus 7 (view.h). */
	if (__builtin_expect(off < s->rlim && s->rlim - off + 7 >= len, 1)) {
		vmmem__from_guest(buf, s->hva + off, len);
		return 0;
	}
	return vmmem__read_slow(mem, gpa, buf, len);
}

static inline int vmmem_write(struct vmmem *mem, vmmem_gpa_t gpa,
			      const void *buf, size_t len)
{
	const struct vmmem__slot *s = vmmem__hint(mem);
	uint64_t off = gpa - s->gpa;

	if (__builtin_expect(off < s->wlim && s->wlim - off + 7 >= len, 1)) {
		vmmem__to_guest(s->hva + off, buf, len);
		return 0;
	}
	return vmmem__write_slow(mem, gpa, buf, len);
}

#endif /* VMMEM_MEMORY_H */
