/* SPDX-License-Identifier: MIT */
/*
 * dirty.c - dirty-page bitmaps.
 *
 * Ordering. Writers store the data first and then mark the page; when the
 * bit is already set they only load it (vmmem__mark_small() in view.h and
 * vmmem__dirty_mark() here), with no hardware barrier between the store and
 * the load. A harvester exchanges every word with zero and then calls
 * membarrier(2) (FlushProcessWriteBuffers() on Windows), which runs a full
 * barrier on every other thread of the process. Take a writer W that stores data D and then loads a bit B, and a
 * harvester H that resets B, issues the barrier and copies D:
 *   - if W's barrier point falls after its load of B, its store of D is
 *     before that point and so visible to H's copy;
 *   - if it falls before the store, W's load of B comes after H's reset,
 *     finds the bit clear and sets it, so the next harvest reports it.
 * Either way no write is lost, and marking an already dirty page costs one
 * load.
 */
#include <errno.h>
#include <string.h>
#ifndef _WIN32
#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <vmmem/dirty.h>
#include <vmmem/memory.h>

#include "internal.h"
#include "os.h"

#ifdef _WIN32

/* FlushProcessWriteBuffers() is the same barrier, and every Windows
 * version since Vista has it (os_windows.c). */
int vmmem__dirty_init(void)
{
	return 0;
}

#else /* !_WIN32 */

static pthread_once_t barrier_once = PTHREAD_ONCE_INIT;
static int barrier_cmd;		/* 0: no barrier available */

static void barrier_setup(void)
{
	long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	if (cmds < 0)
		return;
	if ((cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    syscall(SYS_membarrier,
		    MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0)
		barrier_cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED;
	else if (cmds & MEMBARRIER_CMD_GLOBAL)
		barrier_cmd = MEMBARRIER_CMD_GLOBAL;
}

int vmmem__dirty_init(void)
{
	pthread_once(&barrier_once, barrier_setup);
	return barrier_cmd ? 0 : -ENOTSUP;
}

int vmmem__process_barrier(void)
{
	/* Without the barrier a writer's data may not be visible yet: the
	 * harvest must not report success then. */
	if (syscall(SYS_membarrier, barrier_cmd, 0, 0) < 0)
		return vmmem__neg_errno(errno);
	return 0;
}

#endif /* _WIN32 */

/* Bits [first, last] of a word-aligned bitmap, one word at a time. */
#define for_each_word(first, last, w, mask)                                   \
	for (uint64_t w = (first) >> 6, mask; w <= (last) >> 6 &&             \
	     (mask = word_mask(first, last, w), 1); w++)

static inline uint64_t word_mask(uint64_t first, uint64_t last, uint64_t w)
{
	uint64_t lo = w == first >> 6 ? first & 63 : 0;
	uint64_t hi = w == last >> 6 ? last & 63 : 63;

	return (~0ull >> (63 - hi)) & (~0ull << lo);
}

void vmmem__dirty_mark(uint64_t *bitmap, uint64_t off, uint64_t len)
{
	uint64_t first = off >> VMMEM_PAGE_SHIFT;
	uint64_t last = (off + len - 1) >> VMMEM_PAGE_SHIFT;

	/* Keep the compiler from hoisting the loads above the data stores. */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	for_each_word(first, last, w, mask) {
		if ((__atomic_load_n(&bitmap[w], __ATOMIC_RELAXED) & mask) !=
		    mask)
			__atomic_fetch_or(&bitmap[w], mask, __ATOMIC_RELAXED);
	}
}

/* Page range of region offsets [off, off + len), checked. */
static int page_range(const struct vmmem_region *r, uint64_t off,
		      uint64_t len, uint64_t *first, uint64_t *last)
{
	uint64_t end;

	if (!r->dirty)
		return -ENOTSUP;
	if (__builtin_add_overflow(off, len, &end))
		return -EOVERFLOW;
	if (end > r->len)
		return -EFAULT;
	*first = off >> VMMEM_PAGE_SHIFT;
	*last = (end - 1) >> VMMEM_PAGE_SHIFT;
	return 0;
}

uint64_t vmmem_region_dirty_pages(const struct vmmem_region *region)
{
	return region->dirty_pages;
}

int vmmem_region_dirty_set(struct vmmem_region *region, uint64_t off,
			   uint64_t len)
{
	uint64_t first, last;
	int rc = page_range(region, off, len, &first, &last);

	if (rc || len == 0)
		return rc;
	vmmem__dirty_mark(region->dirty, off, len);
	return 0;
}

int vmmem_region_dirty_clear(struct vmmem_region *region, uint64_t off,
			     uint64_t len)
{
	uint64_t first, last;
	int rc = page_range(region, off, len, &first, &last);

	if (rc || len == 0)
		return rc;
	for_each_word(first, last, w, mask)
		__atomic_fetch_and(&region->dirty[w], ~mask, __ATOMIC_RELAXED);
	return 0;
}

int vmmem_region_dirty_test(struct vmmem_region *region, uint64_t off,
			    uint64_t len)
{
	uint64_t first, last;
	int rc = page_range(region, off, len, &first, &last);

	if (rc || len == 0)
		return rc;
	for_each_word(first, last, w, mask) {
		if (__atomic_load_n(&region->dirty[w], __ATOMIC_RELAXED) & mask)
			return 1;
	}
	return 0;
}

int vmmem_region_dirty_get_and_reset(struct vmmem_region *region,
				     uint64_t *bits, size_t nwords)
{
	uint64_t words, i;
	int rc;

	if (!region->dirty)
		return -ENOTSUP;
	words = (region->dirty_pages + 63) / 64;
	if (!bits || nwords < words)
		return -EINVAL;
	for (i = 0; i < words; i++)
		bits[i] = __atomic_exchange_n(&region->dirty[i], 0,
					      __ATOMIC_SEQ_CST);
	memset(bits + words, 0, (nwords - words) * sizeof(*bits));
	/* See the comment at the top: after this, every writer that skipped
	 * setting a bit we just cleared has its data visible to us. Without
	 * it that is not so: put the bits back, so that nothing is lost, and
	 * fail. */
	rc = vmmem__process_barrier();
	if (rc) {
		for (i = 0; i < words; i++)
			if (bits[i])
				__atomic_fetch_or(&region->dirty[i], bits[i],
						  __ATOMIC_SEQ_CST);
		return rc;
	}
	return 0;
}

int vmmem_region_dirty_merge(struct vmmem_region *region,
			     const uint64_t *bits, uint64_t npages)
{
	uint64_t i;

	if (!region->dirty)
		return -ENOTSUP;
	if ((npages && !bits) || npages > region->dirty_pages)
		return -EINVAL;
	for (i = 0; i < npages / 64; i++)
		if (bits[i])
			__atomic_fetch_or(&region->dirty[i], bits[i],
					  __ATOMIC_RELAXED);
	if (npages & 63) {
		uint64_t v = bits[i] & (~0ull >> (64 - (npages & 63)));

		if (v)
			__atomic_fetch_or(&region->dirty[i], v,
					  __ATOMIC_RELAXED);
	}
	return 0;
}

/*
 * Apply fn to each region piece of a guest range, after checking that the
 * range is backed and (with `tracked`) that every region keeps a bitmap.
 */
static int for_range(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len,
		     bool tracked,
		     int (*fn)(struct vmmem_region *, uint64_t, uint64_t))
{
	const struct vmmem__slot *s;
	uint64_t off;
	int rc, any = 0;

	if (len == 0)
		return 0;
	rc = vmmem__check(mem, gpa, len, false);
	if (rc && rc != -ENOTSUP)
		return rc;
	s = vmmem__lookup(mem, gpa);
	off = gpa - s->gpa;
	if (tracked) {
		const struct vmmem__slot *t = s;
		uint64_t left = len, o = off;

		for (;;) {
			if (!t->dirty)
				return -ENOTSUP;
			if (t->len - o >= left)
				break;
			left -= t->len - o;
			t = vmmem__next_adjacent(mem, t);
			o = 0;
		}
	}
	for (;;) {
		uint64_t n = s->len - off < len ? s->len - off : len;

		if (s->dirty) {
			rc = fn(s->region, off, n);
			if (rc > 0)
				any = 1;
		}
		if (n == len)
			return any;
		len -= n;
		s = vmmem__next_adjacent(mem, s);
		off = 0;
	}
}

int vmmem_mark_dirty(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len)
{
	return for_range(mem, gpa, len, false, vmmem_region_dirty_set);
}

int vmmem_dirty_test(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len)
{
	return for_range(mem, gpa, len, true, vmmem_region_dirty_test);
}

int vmmem_dirty_clear(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len)
{
	int rc = for_range(mem, gpa, len, true, vmmem_region_dirty_clear);

	return rc > 0 ? 0 : rc;
}
