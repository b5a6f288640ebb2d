/* SPDX-License-Identifier: MIT */
/*
 * access.c - range reads and writes, all-or-nothing and partial, and the
 * slow paths of the scalar accessors.
 */
#include <errno.h>
#include <string.h>

#include <vmmem/memory.h>
#include <vmmem/scalar.h>

#include "internal.h"
#include "os.h"

/*
 * The run-time-length copies of memory.h's vmmem__from_guest() and
 * vmmem__to_guest(): a naturally aligned 2, 4 or 8 goes to the fixed-size
 * inline copy with that length as a constant (one load or store), the rest to
 * memcpy().
 */
void vmmem__from_guest_var(void *buf, const uint8_t *g, size_t len)
{
	uintptr_t a = (uintptr_t)g;

	if (len == 8 && !(a & 7))
		vmmem__from_guest_fixed(buf, g, 8);
	else if (len == 4 && !(a & 3))
		vmmem__from_guest_fixed(buf, g, 4);
	else if (len == 2 && !(a & 1))
		vmmem__from_guest_fixed(buf, g, 2);
	else
		memcpy(buf, g, len);
}

void vmmem__to_guest_var(uint8_t *g, const void *buf, size_t len)
{
	uintptr_t a = (uintptr_t)g;

	if (len == 8 && !(a & 7))
		vmmem__to_guest_fixed(g, buf, 8);
	else if (len == 4 && !(a & 3))
		vmmem__to_guest_fixed(g, buf, 4);
	else if (len == 2 && !(a & 1))
		vmmem__to_guest_fixed(g, buf, 2);
	else
		memcpy(g, buf, len);
}

enum op { OP_READ, OP_WRITE, OP_FILL };

/* Move one piece: guest <-> buffer, or fill. */
static void move(enum op op, uint8_t *hva, uint8_t *buf, int byte, uint64_t len)
{
	switch (op) {
	case OP_READ:
		vmmem__from_guest(buf, hva, (size_t)len);
		break;
	case OP_WRITE:
		vmmem__to_guest(hva, buf, (size_t)len);
		break;
	case OP_FILL:
		memset(hva, byte, len);
		break;
	}
}

/* Pieces recorded by one validating walk; longer ranges walk again. */
#define MAX_PIECES 8

/*
 * Move a piece of a region that is mapped on demand: map at most
 * VMMEM_DEMAND_MAX bytes at a time with the protection the move needs,
 * move, unmap. A mapping failure ends the move; what was moved before it
 * stays moved (and marked).
 */
static int move_demand(enum op op, const struct vmmem__slot *s, uint64_t off,
		       uint8_t *buf, int byte, uint64_t n)
{
	int prot = op == OP_READ ? PROT_READ : PROT_WRITE;

	while (n) {
		/* Up to the end of the chunk that starts at off's page. */
		uint64_t room = VMMEM_DEMAND_MAX - (off & (VMMEM_PAGE_SIZE - 1));
		uint64_t k = n < room ? n : room;
		struct vmmem__demand m;
		int rc;

		rc = vmmem__demand_map(s->region, off, k, prot, &m);
		if (rc)
			return rc;
		move(op, m.hva, buf, byte, k);
		vmmem__demand_unmap(&m);
		if (op != OP_READ)
			vmmem__mark_piece(s, off, k);
		if (op != OP_FILL)
			buf += k;
		off += k;
		n -= k;
	}
	return 0;
}

/* Move one validated piece and mark it dirty if it was written. */
static int move_piece(enum op op, const struct vmmem__slot *s, uint64_t off,
		      uint8_t *buf, int byte, uint64_t n)
{
	if (!s->hva)
		return move_demand(op, s, off, buf, byte, n);
	move(op, s->hva + off, buf, byte, n);
	if (op != OP_READ)
		vmmem__mark_piece(s, off, n);
	return 0;
}

/*
 * Copy [gpa, gpa + len) region by region, up to the first piece that fails
 * (a hole, a read-only region for writes, a region without a mapping, an
 * on-demand mapping that fails); *done says how far we got, in whole
 * pieces. buf advances only for reads and writes.
 */
static int transfer_partial(struct vmmem *mem, vmmem_gpa_t gpa, uint8_t *buf,
			    int byte, uint64_t len, enum op op, size_t *done)
{
	const struct vmmem__slot *s;
	uint64_t off, moved = 0;
	vmmem_gpa_t last;
	int rc;

	*done = 0;
	if (len == 0)
		return 0;
	/* A range that wraps is not a range: nothing moves (memory.h). */
	if (vmmem_gpa_last(gpa, len, &last))
		return -EOVERFLOW;
	s = vmmem__lookup(mem, gpa);
	if (!s)
		return -EFAULT;
	off = gpa - s->gpa;
	for (;;) {
		uint64_t n =
			s->len - off < len - moved ? s->len - off : len - moved;

		if (!vmmem__accessible(s))
			return -ENOTSUP;
		if (op != OP_READ && (s->region->flags & VMMEM_REGION_READONLY))
			return -EACCES;
		rc = move_piece(op, s, off, buf, byte, n);
		if (rc)
			return rc;
		if (op != OP_FILL)
			buf += n;
		moved += n;
		*done = moved;
		if (moved == len)
			return 0;
		s = vmmem__next_adjacent(mem, s);
		if (!s)
			return -EFAULT;
		off = 0;
	}
}

/*
 * All or nothing: one walk validates the whole range and records its
 * pieces, then the pieces are moved. A range of more than MAX_PIECES
 * regions, already validated, is moved by the partial loop. The one
 * failure left after the walk is an on-demand mapping that cannot be made;
 * the pieces before it have been moved by then.
 */
static int transfer(struct vmmem *mem, vmmem_gpa_t gpa, uint8_t *buf, int byte,
		    uint64_t len, enum op op)
{
	struct vmmem__piece p[MAX_PIECES];
	unsigned n, i;
	size_t done;
	int rc;

	if (len == 0)
		return 0;
	rc = vmmem__walk(mem, gpa, len, op != OP_READ, p, MAX_PIECES, &n);
	if (rc)
		return rc;
	if (n > MAX_PIECES)
		return transfer_partial(mem, gpa, buf, byte, len, op, &done);
	for (i = 0; i < n; i++) {
		rc = move_piece(op, p[i].slot, p[i].off, buf, byte, p[i].len);
		if (rc)
			return rc;
		if (op != OP_FILL)
			buf += p[i].len;
	}
	return 0;
}

static __attribute__((noinline)) int
read_slow_body(struct vmmem *mem, vmmem_gpa_t gpa, void *buf, size_t len)
{
	return transfer(mem, gpa, buf, 0, len, OP_READ);
}

static __attribute__((noinline)) int
write_slow_body(struct vmmem *mem, vmmem_gpa_t gpa, const void *buf, size_t len)
{
	const struct vmmem__slot *s = vmmem__hint(mem);
	uint64_t off = gpa - s->gpa;

	/* Inside the hinted region, but dirty-tracked: one copy, then
	 * mark. */
	if (off < s->len && s->len - off >= len && len && s->dlim) {
		vmmem__to_guest(s->hva + off, buf, len);
		vmmem__mark_piece(s, off, len);
		return 0;
	}
	return transfer(mem, gpa, (uint8_t *)buf, 0, len, OP_WRITE);
}

int vmmem_fill(struct vmmem *mem, vmmem_gpa_t gpa, int byte, size_t len)
{
	return transfer(mem, gpa, NULL, byte, len, OP_FILL);
}

int vmmem_read_partial(struct vmmem *mem, vmmem_gpa_t gpa, void *buf,
		       size_t len, size_t *done)
{
	size_t ignored;

	return transfer_partial(mem, gpa, buf, 0, len, OP_READ,
				done ? done : &ignored);
}

int vmmem_write_partial(struct vmmem *mem, vmmem_gpa_t gpa, const void *buf,
			size_t len, size_t *done)
{
	size_t ignored;

	return transfer_partial(mem, gpa, (uint8_t *)buf, 0, len, OP_WRITE,
				done ? done : &ignored);
}

int vmmem_get_ptr(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len, void **hva)
{
	const struct vmmem__slot *s;
	vmmem_gpa_t last;
	uint64_t off;
	int rc;

	if (!hva || len == 0)
		return -EINVAL;
	if (vmmem_gpa_last(gpa, len, &last))
		return -EOVERFLOW;
	s = vmmem__lookup(mem, gpa);
	if (!s)
		return -EFAULT;
	off = gpa - s->gpa;
	if (s->len - off < len) {
		/* Backed but split between regions, or running into a hole. */
		rc = vmmem__check(mem, gpa, len, false);
		return rc == -EFAULT || rc == -EOVERFLOW ? rc : -EXDEV;
	}
	if (!s->hva)
		return -ENOTSUP;
	*hva = s->hva + off;
	return 0;
}

/* Whether n bytes at off are one aligned access within the first len. */
static bool single(uint64_t off, uint64_t len, unsigned n)
{
	return off < len && len - off >= n && !(off & (n - 1));
}

/* One relaxed load or store of n bytes (1, 2, 4 or 8) at an aligned p. */
static inline void load_n(const uint8_t *p, void *val, unsigned n)
{
	switch (n) {
	case 1:
		*(uint8_t *)val = __atomic_load_n(p, __ATOMIC_RELAXED);
		break;
	case 2:
		*(uint16_t *)val = __atomic_load_n((const uint16_t *)(const void *)p,
						   __ATOMIC_RELAXED);
		break;
	case 4:
		*(uint32_t *)val = __atomic_load_n((const uint32_t *)(const void *)p,
						   __ATOMIC_RELAXED);
		break;
	default:
		*(uint64_t *)val = __atomic_load_n((const uint64_t *)(const void *)p,
						   __ATOMIC_RELAXED);
		break;
	}
}

static inline void store_n(uint8_t *p, uint64_t val, unsigned n)
{
	switch (n) {
	case 1:
		__atomic_store_n(p, (uint8_t)val, __ATOMIC_RELAXED);
		break;
	case 2:
		__atomic_store_n((uint16_t *)(void *)p, (uint16_t)val,
				 __ATOMIC_RELAXED);
		break;
	case 4:
		__atomic_store_n((uint32_t *)(void *)p, (uint32_t)val,
				 __ATOMIC_RELAXED);
		break;
	default:
		__atomic_store_n((uint64_t *)(void *)p, val, __ATOMIC_RELAXED);
		break;
	}
}

/*
 * An aligned scalar in a region mapped on demand: still one access, in a
 * mapping of its page made for it. Out of line, to keep the mapping code
 * off the other slow paths.
 */
static __attribute__((noinline)) int
small_demand(const struct vmmem__slot *s, uint64_t off, void *val,
	     uint64_t wval, unsigned n, bool write)
{
	struct vmmem__demand m;
	int rc;

	rc = vmmem__demand_map(s->region, off, n, write ? PROT_WRITE : PROT_READ,
			       &m);
	if (rc)
		return rc;
	if (write)
		store_n(m.hva, wval, n);
	else
		load_n(m.hva, val, n);
	vmmem__demand_unmap(&m);
	if (write && s->dirty)
		vmmem__mark_small(s, off);
	return 0;
}

/*
 * A scalar that the inline path could not handle: misaligned, in another
 * region than the hint, crossing regions, in a region mapped on demand, or
 * not backed at all. Aligned values inside one region are still single
 * accesses, so they never tear.
 */
static __attribute__((noinline)) int
read_small_body(struct vmmem *mem, vmmem_gpa_t gpa, void *val, unsigned n)
{
	const struct vmmem__slot *s;
	vmmem_gpa_t last;
	uint64_t off;

	if (vmmem_gpa_last(gpa, n, &last))
		return -EOVERFLOW;
	s = vmmem__find(mem, gpa);
	if (!s)
		return -EFAULT;
	off = gpa - s->gpa;
	if (!single(off, s->len, n))
		return transfer(mem, gpa, val, 0, n, OP_READ);
	if (!vmmem__readable(s)) {
		if (vmmem__on_demand(s))
			return small_demand(s, off, val, 0, n, false);
		return transfer(mem, gpa, val, 0, n, OP_READ);
	}
	load_n(s->hva + off, val, n);
	return 0;
}

static __attribute__((noinline)) int
write_small_body(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t val, unsigned n)
{
	const struct vmmem__slot *s;
	uint8_t bytes[8];
	vmmem_gpa_t last;
	uint64_t off;

	if (vmmem_gpa_last(gpa, n, &last))
		return -EOVERFLOW;
	s = vmmem__find(mem, gpa);
	if (!s)
		return -EFAULT;
	off = gpa - s->gpa;
	if (single(off, s->len, n) && vmmem__on_demand(s) &&
	    !(s->region->flags & VMMEM_REGION_READONLY))
		return small_demand(s, off, NULL, val, n, true);
	if (!vmmem__writable(s) || !single(off, s->len, n)) {
		/* The value's own bytes, in host order, whatever n is. */
		uint8_t v8 = val;
		uint16_t v16 = val;
		uint32_t v32 = val;

		memcpy(bytes,
		       n == 1	? (void *)&v8
		       : n == 2 ? (void *)&v16
		       : n == 4 ? (void *)&v32
				: (void *)&val,
		       n);
		return transfer(mem, gpa, bytes, 0, n, OP_WRITE);
	}
	store_n(s->hva + off, val, n);
	if (s->dirty)
		vmmem__mark_small(s, off);
	return 0;
}

/* The cold entry point (see VMMEM__SLOW in view.h). */
int vmmem__read_slow(struct vmmem *mem, vmmem_gpa_t gpa, void *buf, size_t len)
{
	return read_slow_body(mem, gpa, buf, len);
}

/* The cold entry point (see VMMEM__SLOW in view.h). */
int vmmem__write_slow(struct vmmem *mem, vmmem_gpa_t gpa, const void *buf,
		      size_t len)
{
	return write_slow_body(mem, gpa, buf, len);
}

/* The cold entry point (see VMMEM__SLOW in view.h). */
int vmmem__read_small(struct vmmem *mem, vmmem_gpa_t gpa, void *val, unsigned n)
{
	return read_small_body(mem, gpa, val, n);
}

/* The cold entry point (see VMMEM__SLOW in view.h). */
int vmmem__write_small(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t val,
		       unsigned n)
{
	return write_small_body(mem, gpa, val, n);
}
