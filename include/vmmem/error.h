/* SPDX-License-Identifier: MIT */
/*
 * vmmem/error.h - what libvmmem's error codes mean.
 *
 * Every function that can fail returns 0 (or a documented non-negative
 * value) on success and a negative errno value on failure, so strerror(-rc)
 * always works. vmmem_strerror() says what the code means in terms of guest
 * memory:
 *   -EINVAL     bad argument: zero size, unknown flag, misaligned value;
 *   -EOVERFLOW  address arithmetic wraps past 2^64, or a length is longer
 *               than the host can map (above SIZE_MAX: a 32-bit host; guest
 *               addresses and lengths are 64-bit everywhere, never cut);
 *   -EFAULT     a guest range is not backed by memory;
 *   -EXDEV      an access that must stay in one region crosses into another;
 *   -EEXIST     regions overlap;
 *   -EACCES     a write to a read-only region;
 *   -ENOTSUP    the region or backend cannot do it;
 *   -ENOENT     no such region;
 *   -E2BIG      an output array is too small;
 *   -ETIMEDOUT  a wait timed out;
 *   -ENOMEM     out of memory.
 * Codes from system calls (mmap, readv, ...) are passed through.
 */
#ifndef VMMEM_ERROR_H
#define VMMEM_ERROR_H

/**
 * vmmem_strerror() - describe an error code.
 * @err: a libvmmem return value; negative or positive errno both work.
 *
 * Return: a static string; never NULL. For codes libvmmem does not assign a
 * meaning to, the same text as strerror().
 */
const char *vmmem_strerror(int err);

#endif /* VMMEM_ERROR_H */
