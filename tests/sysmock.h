/* SPDX-License-Identifier: MIT */
/*
 * sysmock: make the system calls and allocations libvmmem makes fail on
 * demand. Every test program is linked with -Wl,--wrap=NAME for the
 * functions below; each wrapper passes straight through to the real
 * function unless a failure was scripted with sysmock_fail().
 *
 * Example: make the second mmap(2) fail with ENOMEM:
 *
 *	sysmock_fail(SYSMOCK_MMAP, 1, ENOMEM);
 *	assert_int_equal(vmmem_region_create_anon(..., VMMEM_REGION_GUARD,
 *						  &r), -ENOMEM);
 *	assert_true(sysmock_done());
 *
 * Only the thread that scripted a failure sees it, so concurrent threads of
 * a test (and the sanitizers' own allocations on other threads) are not
 * affected.
 */
#ifndef VMMEM_TESTS_SYSMOCK_H
#define VMMEM_TESTS_SYSMOCK_H

#include <stdint.h>

enum sysmock_fn {
	SYSMOCK_MMAP,
	SYSMOCK_MUNMAP,
	SYSMOCK_MADVISE,
	SYSMOCK_MEMFD_CREATE,
	SYSMOCK_FTRUNCATE,
	SYSMOCK_FCNTL,
	SYSMOCK_CALLOC,
	SYSMOCK_MALLOC,
	SYSMOCK_REALLOC,
	SYSMOCK_READV,
	SYSMOCK_PREADV,
	SYSMOCK_WRITEV,
	SYSMOCK_PWRITEV,
	SYSMOCK_MEMBARRIER, /* syscall(SYS_membarrier, a barrier command) */
	SYSMOCK_IOCTL,
	SYSMOCK_COUNT
};

/*
 * Let the next `skip` calls of fn on this thread through, then fail one call
 * with errno = err (allocators return NULL, the others -1). Calls after that
 * pass through again. A second sysmock_fail() on the same fn replaces the
 * first.
 */
void sysmock_fail(enum sysmock_fn fn, int skip, int err);

/*
 * Make the next call of readv/preadv/writev/pwritev on this thread transfer
 * at most `max` bytes (a short count), once.
 */
void sysmock_short(enum sysmock_fn fn, size_t max);

/* Whether every scripted failure and short count was consumed. */
int sysmock_done(void);

/* Forget every script and zero the counters (of this thread). */
void sysmock_reset(void);

/* Calls of fn on this thread since the last sysmock_reset(). */
unsigned sysmock_calls(enum sysmock_fn fn);

/*
 * Bytes of address space mapped on this thread since the last
 * sysmock_reset(): lengths of successful mmap calls that create a mapping
 * (not MAP_FIXED, which replaces part of an existing one), minus lengths of
 * successful munmap calls. Zero after a failed create means nothing leaked.
 */
long long sysmock_mapped_bytes(void);

/* Arguments of the last call of mmap and madvise on this thread. */
struct sysmock_last {
	int mmap_prot, mmap_flags;
	int madvise_advice;
	unsigned memfd_flags;
	int fcntl_cmd;
	long fcntl_arg;
};
const struct sysmock_last *sysmock_last(void);

#endif /* VMMEM_TESTS_SYSMOCK_H */
