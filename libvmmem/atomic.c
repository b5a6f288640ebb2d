/* SPDX-License-Identifier: MIT */
/*
 * atomic.c - atomic operations on guest values: the slow paths of load and
 * store, and the read-modify-write operations.
 */
#include <errno.h>
#include <string.h>

#include <vmmem/atomic.h>

#include "internal.h"
#include "os.h"

static bool order_ok(int order)
{
	return order >= __ATOMIC_RELAXED && order <= __ATOMIC_SEQ_CST;
}

/* Where an atomic operation acts: the host address of the value, its
 * region offset, and the on-demand mapping made for it (if any). */
struct target {
	const struct vmmem__slot *s;
	uint8_t *p;
	uint64_t off;
	struct vmmem__demand m;
};

/*
 * Resolve a value for an atomic operation: the checks are done in the order
 * the errors are documented, the cheapest argument checks first. A value in
 * a region mapped on demand gets its page mapped with prot (the operation
 * is atomic within this process's mapping of it); done() unmaps it.
 */
static int resolve(struct vmmem *mem, vmmem_gpa_t gpa, unsigned n, bool write,
		   int prot, struct target *t)
{
	const struct vmmem__slot *s;
	vmmem_gpa_t last;
	uint64_t off;
	int rc;

	t->m.map = NULL;
	if (vmmem_gpa_last(gpa, n, &last))
		return -EOVERFLOW;
	s = vmmem__lookup(mem, gpa);
	if (!s)
		return -EFAULT;
	off = gpa - s->gpa;
	if (s->len - off < n) {
		rc = vmmem__check(mem, gpa, n, false);
		return rc == -EFAULT ? rc : -EXDEV;
	}
	if (!vmmem__accessible(s))
		return -ENOTSUP;
	/* Region host addresses are page-aligned: the offset's alignment is
	 * the address's. */
	if (off & (n - 1))
		return -EINVAL;
	if (write && (s->region->flags & VMMEM_REGION_READONLY))
		return -EACCES;
	t->s = s;
	t->off = off;
	if (s->hva) {
		t->p = s->hva + off;
		return 0;
	}
	rc = vmmem__demand_map(s->region, off, n, prot, &t->m);
	if (rc)
		return rc;
	t->p = t->m.hva;
	return 0;
}

/* After the operation: unmap an on-demand page, mark a write dirty. */
static inline void done(struct target *t, bool write)
{
	if (t->m.map)
		vmmem__demand_unmap(&t->m);
	if (write && t->s->dirty)
		vmmem__mark_small(t->s, t->off);
}

static __attribute__((noinline)) int
atomic_load_slow_body(struct vmmem *mem, vmmem_gpa_t gpa, void *val, unsigned n,
		      int order)
{
	struct target t;
	uint8_t *p;
	int rc;

	if (!vmmem__load_order_ok(order))
		return -EINVAL;
	rc = resolve(mem, gpa, n, false, PROT_READ, &t);
	if (rc)
		return rc;
	p = t.p;
	/* order is a valid load order here; the builtins treat a value that
	 * is not a compile-time constant as seq_cst, which is never weaker. */
	switch (n) {
	case 1:
		*(uint8_t *)val = __atomic_load_n(p, order);
		break;
	case 2:
		*(uint16_t *)val =
			__atomic_load_n((uint16_t *)(void *)p, order);
		break;
	case 4:
		*(uint32_t *)val =
			__atomic_load_n((uint32_t *)(void *)p, order);
		break;
	default:
		*(uint64_t *)val =
			__atomic_load_n((uint64_t *)(void *)p, order);
		break;
	}
	done(&t, false);
	return 0;
}

static __attribute__((noinline)) int
atomic_store_slow_body(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t val,
		       unsigned n, int order)
{
	struct target t;
	uint8_t *p;
	int rc;

	if (!vmmem__store_order_ok(order))
		return -EINVAL;
	rc = resolve(mem, gpa, n, true, PROT_WRITE, &t);
	if (rc)
		return rc;
	p = t.p;
	switch (n) {
	case 1:
		__atomic_store_n(p, (uint8_t)val, order);
		break;
	case 2:
		__atomic_store_n((uint16_t *)(void *)p, (uint16_t)val, order);
		break;
	case 4:
		__atomic_store_n((uint32_t *)(void *)p, (uint32_t)val, order);
		break;
	default:
		__atomic_store_n((uint64_t *)(void *)p, val, order);
		break;
	}
	done(&t, true);
	return 0;
}

/*
 * C11 rules for compare-exchange orders: the failure order is a load order
 * (not release or acq_rel) and no stronger than the success order.
 */
static bool cmpxchg_orders_ok(int success, int failure)
{
	static const int max_failure[] = {
		[__ATOMIC_RELAXED] = __ATOMIC_RELAXED,
		[__ATOMIC_CONSUME] = __ATOMIC_CONSUME,
		[__ATOMIC_ACQUIRE] = __ATOMIC_ACQUIRE,
		[__ATOMIC_RELEASE] = __ATOMIC_RELAXED,
		[__ATOMIC_ACQ_REL] = __ATOMIC_ACQUIRE,
		[__ATOMIC_SEQ_CST] = __ATOMIC_SEQ_CST,
	};

	if (!order_ok(success) || !vmmem__load_order_ok(failure))
		return false;
	return failure <= max_failure[success];
}

#define VMMEM__RMW(bits)                                                       \
	int vmmem_atomic_cmpxchg_u##bits(                                      \
		struct vmmem *mem, vmmem_gpa_t gpa, uint##bits##_t *expected,  \
		uint##bits##_t desired, int success, int failure)              \
	{                                                                      \
		struct target t;                                               \
		bool ok;                                                       \
		int rc;                                                        \
                                                                               \
		if (!expected || !cmpxchg_orders_ok(success, failure))         \
			return -EINVAL;                                        \
		rc = resolve(mem, gpa, bits / 8, true, PROT_READ | PROT_WRITE, \
			     &t);                                              \
		if (rc)                                                        \
			return rc;                                             \
		ok = __atomic_compare_exchange_n((uint##bits##_t *)(void *)t.p,\
						 expected, desired, false,     \
						 success, failure);            \
		done(&t, true);                                                \
		return ok;                                                     \
	}                                                                      \
	VMMEM__FETCH(bits, add)                                                \
	VMMEM__FETCH(bits, or)                                                 \
	VMMEM__FETCH(bits, and)

#define VMMEM__FETCH(bits, op)                                                 \
	int vmmem_atomic_fetch_##op##_u##bits(                                 \
		struct vmmem *mem, vmmem_gpa_t gpa, uint##bits##_t val,        \
		uint##bits##_t *old, int order)                                \
	{                                                                      \
		struct target t;                                               \
		uint##bits##_t prev;                                           \
		int rc;                                                        \
                                                                               \
		if (!order_ok(order))                                          \
			return -EINVAL;                                        \
		rc = resolve(mem, gpa, bits / 8, true, PROT_READ | PROT_WRITE, \
			     &t);                                              \
		if (rc)                                                        \
			return rc;                                             \
		prev = __atomic_fetch_##op((uint##bits##_t *)(void *)t.p, val, \
					   order);                             \
		done(&t, true);                                                \
		if (old)                                                       \
			*old = prev;                                           \
		return 0;                                                      \
	}

VMMEM__RMW(8)
VMMEM__RMW(16)
VMMEM__RMW(32)
VMMEM__RMW(64)

/* The cold entry point (see VMMEM__SLOW in view.h). */
int vmmem__atomic_load_slow(struct vmmem *mem, vmmem_gpa_t gpa, void *val,
			    unsigned n, int order)
{
	return atomic_load_slow_body(mem, gpa, val, n, order);
}

/* The cold entry point (see VMMEM__SLOW in view.h). */
int vmmem__atomic_store_slow(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t val,
			     unsigned n, int order)
{
	return atomic_store_slow_body(mem, gpa, val, n, order);
}
