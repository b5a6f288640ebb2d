/* SPDX-License-Identifier: MIT */
/*
 * vmmem/scalar.h - reading and writing single 1, 2, 4 and 8-byte values.
 *
 * A naturally aligned access (the host address is a multiple of the size,
 * which for a region starting on an 8-byte boundary means the guest address
 * is) is one load or store: a concurrent guest sees the old or the new value,
 * never a mix. Misaligned or region-crossing values are still read and
 * written correctly, byte by byte, but may tear. Values are in host byte
 * order; the _le variants convert from and to little-endian, the byte order
 * of virtio and x86 device structures.
 *
 * The common case (an aligned value in the region of the previous access)
 * is inline and costs a few instructions; everything else calls the library.
 *
 * Return: 0 on success.
 * Errors: -EOVERFLOW when the value would wrap past 2^64; -EFAULT when it is
 * not backed; -EACCES for a write to a read-only region; -ENOTSUP when the
 * region has no host mapping.
 */
#ifndef VMMEM_SCALAR_H
#define VMMEM_SCALAR_H

#include <stdint.h>
#ifdef _WIN32
/* No <endian.h> on Windows, which runs little-endian everywhere. */
#define vmmem__le16toh(x) (x)
#define vmmem__le32toh(x) (x)
#define vmmem__le64toh(x) (x)
#else
#include <endian.h>
#define vmmem__le16toh(x) le16toh(x)
#define vmmem__le32toh(x) le32toh(x)
#define vmmem__le64toh(x) le64toh(x)
#endif

#include <vmmem/addr.h>
#include <vmmem/view.h>

struct vmmem;

/* private: out-of-line parts of the accessors below. */
VMMEM__SLOW int vmmem__read_small(struct vmmem *mem, vmmem_gpa_t gpa,
				  void *val, unsigned n);
VMMEM__SLOW int vmmem__write_small(struct vmmem *mem, vmmem_gpa_t gpa,
				   uint64_t val, unsigned n);

#define VMMEM__SCALAR(bits)                                                    \
	static inline int vmmem_read_u##bits(struct vmmem *mem,               \
					     vmmem_gpa_t gpa,                 \
					     uint##bits##_t *val)             \
	{                                                                      \
		const struct vmmem__slot *s = vmmem__hint(mem);                \
		uint64_t off = gpa - s->gpa;                                   \
		uintptr_t bias;                                                \
                                                                               \
		if (__builtin_expect(vmmem__small_ok(off, s->rlim, bits / 8),  \
				     1)) {                                     \
			*val = __atomic_load_n(                                \
				(uint##bits##_t *)(void *)(s->hva + off),      \
				__ATOMIC_RELAXED);                             \
			return 0;                                              \
		}                                                              \
		bias = vmmem__bias(mem, 0, gpa, bits / 8);                     \
		if (__builtin_expect(bias != 0, 1)) {                          \
			*val = __atomic_load_n(                                \
				(const uint##bits##_t *)(uintptr_t)(gpa + bias), \
				__ATOMIC_RELAXED);                             \
			return 0;                                              \
		}                                                              \
		return vmmem__read_small(mem, gpa, val, bits / 8);             \
	}                                                                      \
	static inline int vmmem_write_u##bits(struct vmmem *mem,              \
					      vmmem_gpa_t gpa,                \
					      uint##bits##_t val)             \
	{                                                                      \
		const struct vmmem__slot *s = vmmem__hint(mem);                \
		uint64_t off = gpa - s->gpa;                                   \
		uintptr_t bias;                                                \
                                                                               \
		if (__builtin_expect(vmmem__small_ok(off, s->wlim, bits / 8),  \
				     1)) {                                     \
			__atomic_store_n(                                      \
				(uint##bits##_t *)(void *)(s->hva + off), val, \
				__ATOMIC_RELAXED);                             \
			return 0;                                              \
		}                                                              \
		if (vmmem__small_ok(off, s->dlim, bits / 8)) {                 \
			__atomic_store_n(                                      \
				(uint##bits##_t *)(void *)(s->hva + off), val, \
				__ATOMIC_RELAXED);                             \
			vmmem__mark_small(s, off);                             \
			return 0;                                              \
		}                                                              \
		bias = vmmem__bias(mem, 1, gpa, bits / 8);                     \
		if (__builtin_expect(bias != 0, 1)) {                          \
			__atomic_store_n(                                      \
				(uint##bits##_t *)(uintptr_t)(gpa + bias), val, \
				__ATOMIC_RELAXED);                             \
			return 0;                                              \
		}                                                              \
		return vmmem__write_small(mem, gpa, val, bits / 8);            \
	}

/*
 * int vmmem_read_u8(struct vmmem *mem, vmmem_gpa_t gpa, uint8_t *val);
 * int vmmem_write_u8(struct vmmem *mem, vmmem_gpa_t gpa, uint8_t val);
 * ... and the same for u16, u32 and u64: read or write one value in host
 * byte order. On error *val is untouched.
 */
VMMEM__SCALAR(8)
VMMEM__SCALAR(16)
VMMEM__SCALAR(32)
VMMEM__SCALAR(64)

#undef VMMEM__SCALAR

#define VMMEM__SCALAR_LE(bits)                                                \
	static inline int vmmem_read_le##bits(struct vmmem *mem,             \
					      vmmem_gpa_t gpa, uint##bits##_t *val) \
	{                                                                     \
		uint##bits##_t v;                                             \
		int rc = vmmem_read_u##bits(mem, gpa, &v);                    \
		if (rc == 0)                                                  \
			*val = vmmem__le##bits##toh(v);                       \
		return rc;                                                    \
	}                                                                     \
	static inline int vmmem_write_le##bits(struct vmmem *mem,            \
					       vmmem_gpa_t gpa, uint##bits##_t val) \
	{                                                                     \
		/* Converting to or from little-endian is one swap. */        \
		return vmmem_write_u##bits(mem, gpa,                          \
					   vmmem__le##bits##toh(val));        \
	}

/*
 * int vmmem_read_le16(struct vmmem *mem, vmmem_gpa_t gpa, uint16_t *val);
 * int vmmem_write_le16(struct vmmem *mem, vmmem_gpa_t gpa, uint16_t val);
 * ... and the same for 32 and 64: values stored little-endian in guest
 * memory, converted to and from host byte order.
 */
VMMEM__SCALAR_LE(16)
VMMEM__SCALAR_LE(32)
VMMEM__SCALAR_LE(64)

#undef VMMEM__SCALAR_LE

#endif /* VMMEM_SCALAR_H */
