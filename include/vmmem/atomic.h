/* SPDX-License-Identifier: MIT */
/*
 * vmmem/atomic.h - atomic operations on 1, 2, 4 and 8-byte guest values.
 *
 * Each operation is one native atomic instruction on guest memory, with a C11
 * memory order (memory_order_relaxed ... memory_order_seq_cst, or the same
 * values as __ATOMIC_*). Unlike vmmem/scalar.h there is no fallback: the
 * value must be naturally aligned in host memory and lie in one region.
 *
 * Errors (every function):
 *   -EINVAL     the host address is not a multiple of the size, or the
 *               memory order is not valid for the operation;
 *   -EOVERFLOW  the value would wrap past 2^64;
 *   -EFAULT     the value is not backed;
 *   -EXDEV      the value starts in one region and ends in the next;
 *   -EACCES     an operation that writes, on a read-only region;
 *   -ENOTSUP    the region has no host mapping.
 * Operations that write mark dirty-tracked pages, also when a
 * compare-exchange fails (the guest may not rely on the page staying clean).
 */
#ifndef VMMEM_ATOMIC_H
#define VMMEM_ATOMIC_H

#include <errno.h>
#include <stdint.h>

#include <vmmem/addr.h>
#include <vmmem/view.h>

struct vmmem;

/* private: out-of-line parts. */
VMMEM__SLOW int vmmem__atomic_load_slow(struct vmmem *mem, vmmem_gpa_t gpa,
					void *val, unsigned n, int order);
VMMEM__SLOW int vmmem__atomic_store_slow(struct vmmem *mem, vmmem_gpa_t gpa,
					 uint64_t val, unsigned n, int order);

static inline int vmmem__load_order_ok(int order)
{
	return order == __ATOMIC_RELAXED || order == __ATOMIC_CONSUME ||
	       order == __ATOMIC_ACQUIRE || order == __ATOMIC_SEQ_CST;
}

static inline int vmmem__store_order_ok(int order)
{
	return order == __ATOMIC_RELAXED || order == __ATOMIC_RELEASE ||
	       order == __ATOMIC_SEQ_CST;
}

#define VMMEM__ATOMIC(bits)                                                    \
	static inline int vmmem_atomic_load_u##bits(                           \
		struct vmmem *mem, vmmem_gpa_t gpa, uint##bits##_t *val,       \
		int order)                                                     \
	{                                                                      \
		const struct vmmem__slot *s = vmmem__hint(mem);                \
		uint64_t off = gpa - s->gpa;                                   \
                                                                               \
		if (__builtin_expect(vmmem__small_ok(off, s->rlim, bits / 8) &&\
					     vmmem__load_order_ok(order),      \
				     1)) {                                     \
			*val = __atomic_load_n(                                \
				(uint##bits##_t *)(void *)(s->hva + off),      \
				order);                                        \
			return 0;                                              \
		}                                                              \
		return vmmem__atomic_load_slow(mem, gpa, val, bits / 8,        \
					       order);                         \
	}                                                                      \
	static inline int vmmem_atomic_store_u##bits(                          \
		struct vmmem *mem, vmmem_gpa_t gpa, uint##bits##_t val,        \
		int order)                                                     \
	{                                                                      \
		const struct vmmem__slot *s = vmmem__hint(mem);                \
		uint64_t off = gpa - s->gpa;                                   \
                                                                               \
		if (__builtin_expect(vmmem__small_ok(off, s->wlim, bits / 8) &&\
					     vmmem__store_order_ok(order),     \
				     1)) {                                     \
			__atomic_store_n(                                      \
				(uint##bits##_t *)(void *)(s->hva + off), val, \
				order);                                        \
			return 0;                                              \
		}                                                              \
		if (vmmem__small_ok(off, s->dlim, bits / 8) &&                 \
		    vmmem__store_order_ok(order)) {                            \
			__atomic_store_n(                                      \
				(uint##bits##_t *)(void *)(s->hva + off), val, \
				order);                                        \
			vmmem__mark_small(s, off);                             \
			return 0;                                              \
		}                                                              \
		return vmmem__atomic_store_slow(mem, gpa, val, bits / 8,       \
						order);                        \
	}                                                                      \
	int vmmem_atomic_cmpxchg_u##bits(struct vmmem *mem, vmmem_gpa_t gpa,   \
					 uint##bits##_t *expected,             \
					 uint##bits##_t desired, int success,  \
					 int failure);                         \
	int vmmem_atomic_fetch_add_u##bits(struct vmmem *mem, vmmem_gpa_t gpa, \
					   uint##bits##_t val,                 \
					   uint##bits##_t *old, int order);    \
	int vmmem_atomic_fetch_or_u##bits(struct vmmem *mem, vmmem_gpa_t gpa,  \
					  uint##bits##_t val,                  \
					  uint##bits##_t *old, int order);     \
	int vmmem_atomic_fetch_and_u##bits(struct vmmem *mem, vmmem_gpa_t gpa, \
					   uint##bits##_t val,                 \
					   uint##bits##_t *old, int order);

/*
 * For N in 8, 16, 32 and 64:
 *
 * int vmmem_atomic_load_uN(struct vmmem *mem, vmmem_gpa_t gpa,
 *                          uintN_t *val, int order);
 *	Load *val. order: relaxed, consume, acquire or seq_cst.
 *
 * int vmmem_atomic_store_uN(struct vmmem *mem, vmmem_gpa_t gpa,
 *                           uintN_t val, int order);
 *	Store val. order: relaxed, release or seq_cst.
 *
 * int vmmem_atomic_cmpxchg_uN(struct vmmem *mem, vmmem_gpa_t gpa,
 *                             uintN_t *expected, uintN_t desired,
 *                             int success, int failure);
 *	Strong compare-and-exchange: if the value equals *expected, replace it
 *	with desired and return 1; otherwise store the value found in
 *	*expected and return 0. Negative errno on error. failure may not be
 *	release or acq_rel, nor stronger than success.
 *
 * int vmmem_atomic_fetch_{add,or,and}_uN(struct vmmem *mem, vmmem_gpa_t gpa,
 *                                        uintN_t val, uintN_t *old,
 *                                        int order);
 *	Apply the operation, store the previous value in *old (old may be
 *	NULL). Any memory order.
 */
VMMEM__ATOMIC(8)
VMMEM__ATOMIC(16)
VMMEM__ATOMIC(32)
VMMEM__ATOMIC(64)

#undef VMMEM__ATOMIC

#endif /* VMMEM_ATOMIC_H */
