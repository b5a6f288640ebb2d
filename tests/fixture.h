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

/*
 * fixture_too_big() - whether rc, the result of building guest memory of
 * `size` bytes, only says that the host cannot map that much: -ENOMEM or
 * -EOVERFLOW on a 32-bit host, whose 4 GiB of address space cannot hold
 * minivmm's x86 layouts of 3 GiB and more beside the test program. Never
 * true on a 64-bit host, where such an rc is a failure like any other.
 */
int fixture_too_big(int rc, uint64_t size);

/*
 * In a cmocka test: skip it, saying why, when fixture_too_big(rc, size).
 * The caller asserts rc afterwards as usual.
 */
#define FIXTURE_SKIP_IF_TOO_BIG(rc, size)                                      \
	do {                                                                   \
		if (fixture_too_big(rc, size)) {                               \
			print_message("%llu MiB of guest memory do not fit "   \
				      "in a 32-bit host's address space: "     \
				      "skipping\n",                            \
				      (unsigned long long)((size) >> 20));     \
			skip();                                                \
		}                                                              \
	} while (0)

/*
 * FIXTURE_TOO_LONG: one byte more than a host size_t holds, the shortest
 * length a 32-bit host cannot map. Tests of it begin with
 * FIXTURE_SKIP_ON_64BIT(), which skips them, saying why, where every 64-bit
 * length fits (and FIXTURE_TOO_LONG would be 0).
 */
#define FIXTURE_TOO_LONG ((uint64_t)SIZE_MAX + 1)
#define FIXTURE_SKIP_ON_64BIT()                                                \
	do {                                                                   \
		if (SIZE_MAX >= UINT64_MAX) {                                  \
			print_message("size_t holds every 64-bit length on "   \
				      "this host: skipping\n");                \
			skip();                                                \
		}                                                              \
	} while (0)

#endif /* VMMEM_TESTS_FIXTURE_H */
