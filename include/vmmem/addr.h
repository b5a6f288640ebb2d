/* SPDX-License-Identifier: MIT */
/*
 * vmmem/addr.h - guest-physical addresses and checked address arithmetic.
 *
 * A guest-physical address (GPA) is a plain 64-bit number. Every helper here
 * reports wrap-around instead of silently wrapping, so that a range
 * (gpa, len) taken from a guest can be validated without undefined or
 * surprising arithmetic. A range may end on the very last byte of the 64-bit
 * space: [2^64 - 4096, 2^64) is a valid range of length 4096.
 */
#ifndef VMMEM_ADDR_H
#define VMMEM_ADDR_H

#include <errno.h>
#include <stdint.h>

/* A guest-physical address. */
typedef uint64_t vmmem_gpa_t;

/* Highest guest-physical address. */
#define VMMEM_GPA_MAX UINT64_MAX

/**
 * vmmem_gpa_add() - add a length to an address, checking for wrap-around.
 * @gpa: the base address.
 * @len: the number of bytes to add.
 * @out: receives gpa + len on success; untouched on failure.
 *
 * Return: 0 on success.
 * Errors: -EOVERFLOW when gpa + len does not fit in 64 bits.
 */
static inline int vmmem_gpa_add(vmmem_gpa_t gpa, uint64_t len,
				vmmem_gpa_t *out)
{
	vmmem_gpa_t r;

	if (__builtin_add_overflow(gpa, len, &r))
		return -EOVERFLOW;
	*out = r;
	return 0;
}

/**
 * vmmem_gpa_sub() - subtract a length from an address, checking for
 * wrap-around below zero.
 * @gpa: the base address.
 * @len: the number of bytes to subtract.
 * @out: receives gpa - len on success; untouched on failure.
 *
 * Return: 0 on success.
 * Errors: -EOVERFLOW when len > gpa.
 */
static inline int vmmem_gpa_sub(vmmem_gpa_t gpa, uint64_t len,
				vmmem_gpa_t *out)
{
	if (len > gpa)
		return -EOVERFLOW;
	*out = gpa - len;
	return 0;
}

/**
 * vmmem_gpa_offset_from() - distance of an address from a base address.
 * @gpa: the address.
 * @base: the base it is measured from.
 * @off: receives gpa - base on success; untouched on failure.
 *
 * Return: 0 on success.
 * Errors: -EOVERFLOW when gpa lies below base.
 */
static inline int vmmem_gpa_offset_from(vmmem_gpa_t gpa, vmmem_gpa_t base,
					uint64_t *off)
{
	return vmmem_gpa_sub(gpa, base, off);
}

/**
 * vmmem_gpa_last() - last byte of a range, checking for wrap-around.
 * @gpa: first byte of the range.
 * @len: length of the range; must not be zero.
 * @last: receives gpa + len - 1 on success; untouched on failure.
 *
 * A range may end exactly on VMMEM_GPA_MAX: (VMMEM_GPA_MAX, 1) is valid.
 *
 * Return: 0 on success.
 * Errors: -EINVAL when len is zero; -EOVERFLOW when the range runs past
 * VMMEM_GPA_MAX.
 */
static inline int vmmem_gpa_last(vmmem_gpa_t gpa, uint64_t len,
				 vmmem_gpa_t *last)
{
	if (len == 0)
		return -EINVAL;
	return vmmem_gpa_add(gpa, len - 1, last);
}

/**
 * vmmem_gpa_align_up() - round an address up to a power-of-two boundary.
 * @gpa: the address.
 * @align: the alignment; a power of two.
 * @out: receives the smallest multiple of align that is >= gpa; untouched
 *       on failure.
 *
 * Return: 0 on success.
 * Errors: -EINVAL when align is zero or not a power of two; -EOVERFLOW when
 * the result does not fit in 64 bits.
 */
static inline int vmmem_gpa_align_up(vmmem_gpa_t gpa, uint64_t align,
				     vmmem_gpa_t *out)
{
	vmmem_gpa_t r;

	if (align == 0 || (align & (align - 1)) != 0)
		return -EINVAL;
	if (__builtin_add_overflow(gpa, align - 1, &r))
		return -EOVERFLOW;
	*out = r & ~(align - 1);
	return 0;
}

/**
 * vmmem_gpa_is_aligned() - whether an address is a multiple of an alignment.
 * @gpa: the address.
 * @align: a power of two.
 *
 * Return: 1 when aligned, 0 when not (also when align is not a power of two).
 */
static inline int vmmem_gpa_is_aligned(vmmem_gpa_t gpa, uint64_t align)
{
	if (align == 0 || (align & (align - 1)) != 0)
		return 0;
	return (gpa & (align - 1)) == 0;
}

#endif /* VMMEM_ADDR_H */
