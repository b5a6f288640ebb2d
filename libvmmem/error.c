/* SPDX-License-Identifier: MIT */
/* error.c - what the error codes mean for guest memory. */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include <vmmem/error.h>

const char *vmmem_strerror(int err)
{
	/* INT_MIN has no positive counterpart; it is no errno either. */
	if (err == INT_MIN)
		return "unknown error";
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case EINVAL:
		return "invalid argument (zero size, unknown flag or "
		       "misaligned value)";
	case EOVERFLOW:
		return "guest address range wraps past the end of the "
		       "64-bit address space, or is longer than the host "
		       "can map";
	case EFAULT:
		return "guest address range not backed by memory";
	case EXDEV:
		return "access crosses from one memory region into another";
	case EEXIST:
		return "memory regions overlap";
	case EACCES:
		return "write to read-only guest memory";
	case ENOTSUP:
		return "not supported by this memory region or backend";
	case ENOENT:
		return "no such memory region";
	case E2BIG:
		return "output array too small";
	case ETIMEDOUT:
		return "timed out waiting for the memory map to be released";
	case ENOMEM:
		return "out of memory";
	default:
		return strerror(err);
	}
}
