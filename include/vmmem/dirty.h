/* SPDX-License-Identifier: MIT */
/*
 * vmmem/dirty.h - dirty-page tracking.
 *
 * A region created with VMMEM_REGION_DIRTY_LOG keeps a bitmap with one bit
 * per 4 KiB page of the region (bit i covers region offsets
 * [i * 4096, (i + 1) * 4096)), stored as 64-bit words, bit i in word i / 64 at
 * position i % 64. This is the layout KVM_GET_DIRTY_LOG returns for a memory
 * slot on a 64-bit little-endian host, so a KVM log can be merged as is.
 *
 * Every write path of libvmmem marks the pages it writes: vmmem_write(),
 * vmmem_write_partial(), vmmem_fill(), the scalar and atomic stores, atomic
 * read-modify-writes, vmmem_read_from_fd() and slice writes. Writes through
 * an escaped host pointer (vmmem_get_ptr(), vmmem_region_hva(), iovecs) are
 * not: mark them with vmmem_mark_dirty() after writing.
 *
 * Marking happens after the data is written and costs one load when the bit
 * is already set. vmmem_region_dirty_get_and_reset() pairs with that: after
 * it returns, every write whose page it did not report has been ordered
 * after the reset and will be reported by the next call, so copying the
 * reported pages after the call is safe while writers keep running.
 *
 * Bits are set and cleared a 64-bit word at a time with atomic operations;
 * any number of threads may mark concurrently without losing a bit.
 */
#ifndef VMMEM_DIRTY_H
#define VMMEM_DIRTY_H

#include <stddef.h>
#include <stdint.h>

#include <vmmem/addr.h>

struct vmmem;
struct vmmem_region;

/* Size of the page a dirty bit covers. */
#define VMMEM_DIRTY_PAGE_SIZE 4096u

/**
 * vmmem_mark_dirty() - mark a guest range dirty.
 * @mem: the set.
 * @gpa: first byte.
 * @len: length; 0 succeeds.
 *
 * Regions of the range without dirty tracking are skipped.
 *
 * Return: 0 on success.
 * Errors: -EOVERFLOW when the range wraps; -EFAULT when it is not fully
 * backed (nothing is marked).
 */
int vmmem_mark_dirty(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len);

/**
 * vmmem_dirty_test() - whether any page of a guest range is dirty.
 * @mem: the set.
 * @gpa: first byte.
 * @len: length; 0 gives 0.
 *
 * Return: 1 when some page that the range touches is dirty, 0 when none is.
 * Errors: -EOVERFLOW; -EFAULT when the range is not fully backed; -ENOTSUP
 * when a region of the range is not dirty-tracked.
 */
int vmmem_dirty_test(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len);

/**
 * vmmem_dirty_clear() - mark every page a guest range touches clean.
 * @mem: the set.
 * @gpa: first byte.
 * @len: length; 0 succeeds.
 *
 * Return: 0 on success.
 * Errors: -EOVERFLOW; -EFAULT when the range is not fully backed; -ENOTSUP
 * when a region of the range is not dirty-tracked (nothing is cleared).
 */
int vmmem_dirty_clear(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len);

/**
 * vmmem_region_dirty_pages() - number of bits in the region's dirty bitmap.
 *
 * Return: ceil(len / 4096) for a tracked region, 0 for an untracked one.
 */
uint64_t vmmem_region_dirty_pages(const struct vmmem_region *region);

/**
 * vmmem_region_dirty_set() - mark pages of a region dirty.
 * @region: the region.
 * @off: first byte, relative to the region.
 * @len: length; 0 succeeds.
 *
 * Every page that [off, off + len) touches is marked, whole words at a time.
 *
 * Return: 0 on success.
 * Errors: -ENOTSUP when the region is not tracked; -EOVERFLOW when off + len
 * wraps; -EFAULT when the range runs past the region.
 */
int vmmem_region_dirty_set(struct vmmem_region *region, uint64_t off,
			   uint64_t len);

/**
 * vmmem_region_dirty_clear() - mark pages of a region clean.
 *
 * Same arguments and errors as vmmem_region_dirty_set().
 */
int vmmem_region_dirty_clear(struct vmmem_region *region, uint64_t off,
			     uint64_t len);

/**
 * vmmem_region_dirty_test() - whether any page of a region range is dirty.
 *
 * Return: 1 or 0. Errors: as vmmem_region_dirty_set().
 */
int vmmem_region_dirty_test(struct vmmem_region *region, uint64_t off,
			    uint64_t len);

/**
 * vmmem_region_dirty_get_and_reset() - copy the bitmap out and clear it.
 * @region: the region.
 * @bits: receives the bitmap; at least nwords words.
 * @nwords: size of @bits in 64-bit words; at least
 *          (vmmem_region_dirty_pages() + 63) / 64. Words past that are
 *          zeroed.
 *
 * Each word is exchanged with zero atomically, so a bit set concurrently is
 * either in @bits or still in the bitmap, never lost. Before returning, the
 * call makes every thread of the process pass a full memory barrier
 * (membarrier(2)), which is what lets writers skip the atomic operation when
 * a bit is already set.
 *
 * Return: 0 on success.
 * Errors: -ENOTSUP when the region is not tracked; -EINVAL for a NULL bits or
 * an nwords that is too small (nothing is reset); the negative errno of
 * membarrier(2) when the barrier fails: without it a writer's data might not
 * be visible yet, so the bits are put back in the region (none is lost) and
 * *bits must not be used.
 */
int vmmem_region_dirty_get_and_reset(struct vmmem_region *region,
				     uint64_t *bits, size_t nwords);

/**
 * vmmem_region_dirty_merge() - or an external bitmap into the region's.
 * @region: the region.
 * @bits: bitmap in the layout above (bit i = page i), for example the buffer
 *        filled by KVM_GET_DIRTY_LOG for the slot of this region.
 * @npages: number of valid bits in @bits; at most
 *          vmmem_region_dirty_pages(). Bits past npages in the last word are
 *          ignored.
 *
 * After the merge, "dirty since the last get-and-reset" covers both the
 * guest's writes (from KVM) and the VMM's (from libvmmem) in one bitmap.
 *
 * Return: 0 on success.
 * Errors: -ENOTSUP when the region is not tracked; -EINVAL for a NULL bits
 * with npages > 0, or npages larger than the bitmap.
 */
int vmmem_region_dirty_merge(struct vmmem_region *region,
			     const uint64_t *bits, uint64_t npages);

#endif /* VMMEM_DIRTY_H */
