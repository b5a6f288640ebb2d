/* SPDX-License-Identifier: MIT */
/*
 * fixture: guest memory for the unit tests, built from a table.
 *
 * Most tests run on a few anonymous regions described by a table of
 * { gpa, len, flags }, read-only and dirty-tracked ones among them:
 *
 *	static const struct fixture_region spec[] = {
 *		{ 0x0000, 0x8000, 0 },
 *		{ 0x8000, 0x8000, 0 },
 *		{ 0x20000, 0x1000, VMMEM_REGION_READONLY },
 *	};
 *
 *	if (fixture_mem_create(spec, 3, f->r, &f->mem))
 *		return -1;
 *
 * and the teardown drops f->mem with vmmem_destroy() and f->r with
 * fixture_regions_destroy(). The loader and boot tests run on guest RAM as
 * minivmm lays it out instead (fixture_ram_create()): from address 0 up to
 * the MMIO hole at 3 GiB, and from 4 GiB on for what does not fit below it.
 *
 * The functions return 0 or a negative errno, as libvmmem does, and never
 * fail a test themselves, so that they can be called from a cmocka setup
 * (which reports a failure by returning non-zero) as well as from a test.
 */
#ifndef VMMEM_TESTS_FIXTURE_H
#define VMMEM_TESTS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include <vmmem/addr.h>

struct vmmem;
struct vmmem_region;

/* The most regions fixture_mem_create() builds a set of. */
#define FIXTURE_MAX_REGIONS 16

/* minivmm's MMIO hole: RAM stops at 3 GiB and goes on at 4 GiB. */
#define FIXTURE_HOLE_GPA (3ull << 30)
#define FIXTURE_HOLE_END (4ull << 30)

/* fixture_ram_create()'s fill for memory left as mapped (zero). */
#define FIXTURE_NO_FILL (-1)

/* One anonymous region of a fixture's memory. */
struct fixture_region {
	vmmem_gpa_t gpa;
	uint64_t len;
	unsigned flags; /* VMMEM_REGION_* */
};

/*
 * fixture_mem_create() - a set of anonymous regions, one per table entry.
 * @spec: the regions, in any order.
 * @n: how many; at most FIXTURE_MAX_REGIONS.
 * @regions: NULL, or n entries that receive the regions in table order,
 *           each with a reference for the caller (fixture_regions_destroy()).
 * @out: receives the set.
 *
 * Each region is created with vmmem_region_create_anon() and is a mapping
 * of its own, so regions that are adjacent in guest memory are not adjacent
 * in host memory (unlike vmmem_create_anon()'s), and an access across their
 * boundary is split by the library.
 *
 * Return: 0, or the error of the first creator that failed; then nothing
 * is left allocated and regions[] holds NULLs.
 */
int fixture_mem_create(const struct fixture_region *spec, size_t n,
		       struct vmmem_region **regions, struct vmmem **out);

/* Drop the references in regions[0..n) and set the entries to NULL; NULL
 * entries are skipped. */
void fixture_regions_destroy(struct vmmem_region **regions, size_t n);

/*
 * fixture_ram_create() - guest RAM of a size, as minivmm lays it out.
 * @size: bytes of RAM; not zero. [0, size) when it fits below the MMIO hole,
 *        otherwise [0, 3 GiB) and [4 GiB, 4 GiB + size - 3 GiB).
 * @flags: VMMEM_REGION_* options for the regions.
 * @fill: the byte every byte of RAM is set to, or FIXTURE_NO_FILL to leave
 *        it untouched (which costs nothing until a page is used).
 * @out: receives the set, built by vmmem_create_anon().
 *
 * Return: 0, or the error of vmmem_create_anon() or vmmem_fill(); then
 * nothing is left allocated.
 */
int fixture_ram_create(uint64_t size, unsigned flags, int fill,
		       struct vmmem **out);

#endif /* VMMEM_TESTS_FIXTURE_H */
