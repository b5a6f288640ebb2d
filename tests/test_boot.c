/* SPDX-License-Identifier: MIT */
/*
 * Tests for minivmm/x86/boot.h: the RAM layout around the 3 GiB MMIO hole,
 * the RAM and memory map read back from guest memory, and the PVH boot
 * information (hvm_start_info, its memory map, the command line) written
 * into guest memory.
 *
 * The boot structures are read back byte by byte at the offsets of the PVH
 * ABI (Xen's public/arch-x86/hvm/start_info.h, version 1), not through the
 * VMM's own struct definitions:
 *
 *   hvm_start_info                      hvm_memmap_table_entry (24 bytes)
 *     0 magic          u32                0 addr      u64
 *     4 version        u32                8 size      u64
 *     8 flags          u32               16 type      u32
 *    12 nr_modules     u32               20 reserved  u32
 *    16 modlist_paddr  u64
 *    24 cmdline_paddr  u64
 *    32 rsdp_paddr     u64
 *    40 memmap_paddr   u64
 *    48 memmap_entries u32
 *    52 reserved       u32
 *
 *   hvm_modlist_entry (32 bytes): 0 paddr u64, 8 size u64,
 *     16 cmdline_paddr u64, 24 reserved u64
 *
 * Guest memory is laid out as minivmm lays it out: the ranges that
 * arch_ram_ranges() gives for the size, as anonymous regions (reserved
 * lazily, so 3 GiB and more cost nothing until touched). Tests of other
 * shapes (gaps, adjacent regions, nothing below 1 MiB) build their memory
 * from a table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/memory.h>

#include "../minivmm/x86/boot.h"
#include "fixture.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

#define START_INFO_MAGIC 0x336ec578u
#define START_INFO_SIZE 56
#define MEMMAP_ENTRY_SIZE 24
#define E820_RAM 1
#define E820_RESERVED 2

#define FILL 0xa5 /* what the boot area holds before the call */
#define CMDLINE "console=hvc0 root=/dev/vda quiet"

struct fixture {
	struct vmmem *mem; /* NULL until a test builds it */
	int rc;		   /* setup_size(): the memory's error, or 0 */
	uint64_t size;	   /* setup_size(): the memory's size */
};

/* In a test of setup_size()'s memory: skip it when the host cannot map
 * that much (a 32-bit host), else check that the memory was built. */
static void need_mem(struct fixture *f)
{
	FIXTURE_SKIP_IF_TOO_BIG(f->rc, f->size);
	assert_int_equal(f->rc, 0);
}

/*
 * Give f the memory of a table, with the start info, memory map and
 * command line areas filled with FILL when it backs them.
 * Return: 0, or the error of fixture_mem_create() or vmmem_fill().
 */
static int use_mem(struct fixture *f, const struct fixture_region *spec,
		   size_t n)
{
	int rc = fixture_mem_create(spec, n, NULL, &f->mem);

	if (rc)
		return rc;
	if (vmmem_check_range(f->mem, BOOT_START_INFO, 0x1000) ||
	    vmmem_check_range(f->mem, BOOT_CMDLINE, 2 * BOOT_CMDLINE_MAX))
		return 0;
	rc = vmmem_fill(f->mem, BOOT_START_INFO, FILL, 0x1000);
	if (!rc)
		rc = vmmem_fill(f->mem, BOOT_CMDLINE, FILL,
				2 * BOOT_CMDLINE_MAX);
	return rc;
}

/* A fixture whose test builds the memory it needs with use_mem(). */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmmem_destroy(f->mem);
	free(f);
	return 0;
}

/* Guest memory of `size` bytes, laid out by arch_ram_ranges() as the VMM
 * lays it out, with the boot areas filled with FILL. */
static int setup_size(void **state, uint64_t size)
{
	struct fixture_region spec[2];
	uint64_t gpa[2], len[2];
	struct fixture *f;
	unsigned n, i;

	if (setup(state))
		return -1;
	n = arch_ram_ranges(size, gpa, len);
	for (i = 0; i < n; i++)
		spec[i] = (struct fixture_region){ gpa[i], len[i], 0 };
	f = *state;
	f->size = size;
	f->rc = use_mem(f, spec, n);
	/* The tests skip memory too big for the host (need_mem()). */
	if (f->rc && !fixture_too_big(f->rc, size)) {
		teardown(state);
		return -1;
	}
	return 0;
}

static int setup_64m(void **state)
{
	return setup_size(state, 64 * MiB);
}

static int setup_3g(void **state)
{
	return setup_size(state, 3 * GiB);
}

static int setup_4g(void **state)
{
	return setup_size(state, 4 * GiB);
}

/* RAM from 2 MiB to 64 MiB: nothing backed where the boot structures
 * go. */
static int setup_no_boot_area(void **state)
{
	static const struct fixture_region ram = { 2 * MiB, 62 * MiB, 0 };

	if (setup(state))
		return -1;
	if (use_mem(*state, &ram, 1)) {
		teardown(state);
		return -1;
	}
	return 0;
}

static uint32_t rd32(struct fixture *f, uint64_t gpa)
{
	uint32_t v;

	assert_int_equal(vmmem_read(f->mem, gpa, &v, sizeof(v)), 0);
	return v;
}

static uint64_t rd64(struct fixture *f, uint64_t gpa)
{
	uint64_t v;

	assert_int_equal(vmmem_read(f->mem, gpa, &v, sizeof(v)), 0);
	return v;
}

/* Memory map entry i is [addr, addr + size) of the given type. */
static void assert_memmap_entry(struct fixture *f, unsigned i, uint64_t addr,
				uint64_t size, uint32_t type)
{
	uint64_t e = BOOT_MEMMAP + (uint64_t)i * MEMMAP_ENTRY_SIZE;

	assert_int_equal(rd64(f, e + 0), addr);
	assert_int_equal(rd64(f, e + 8), size);
	assert_int_equal(rd32(f, e + 16), type);
	assert_int_equal(rd32(f, e + 20), 0);
}

static void setup_pvh(struct fixture *f)
{
	assert_int_equal(arch_setup_pvh(f->mem, CMDLINE, NULL), 0);
}

/* Every byte of [gpa, gpa + len) still holds FILL. */
static void assert_filled(struct fixture *f, uint64_t gpa, uint64_t len)
{
	uint8_t buf[2 * BOOT_CMDLINE_MAX];
	uint64_t i;

	assert_true(len <= sizeof(buf));
	assert_int_equal(vmmem_read(f->mem, gpa, buf, len), 0);
	for (i = 0; i < len; i++)
		if (buf[i] != FILL)
			fail_msg("byte %#llx is %#x, not the fill %#x",
				 (unsigned long long)(gpa + i), buf[i], FILL);
}

/* ---- arch_ram_ranges() ---- */

static void test_boot_ram_below_hole_is_one_range(void **state)
{
	uint64_t gpa[2] = { 1, 1 }, len[2] = { 1, 1 };

	(void)state;
	assert_int_equal(arch_ram_ranges(64 * MiB, gpa, len), 1);
	assert_int_equal(gpa[0], 0);
	assert_int_equal(len[0], 64 * MiB);
}

static void test_boot_ram_just_below_hole_is_one_range(void **state)
{
	uint64_t gpa[2], len[2];

	(void)state;
	assert_int_equal(arch_ram_ranges(MMIO_HOLE - 0x1000, gpa, len), 1);
	assert_int_equal(gpa[0], 0);
	assert_int_equal(len[0], MMIO_HOLE - 0x1000);
}

static void test_boot_ram_filling_exactly_up_to_hole_is_one_range(void **state)
{
	uint64_t gpa[2], len[2];

	(void)state;
	assert_int_equal(arch_ram_ranges(3 * GiB, gpa, len), 1);
	assert_int_equal(gpa[0], 0);
	assert_int_equal(len[0], 3 * GiB);
}

static void test_boot_ram_one_page_past_hole_continues_at_4g(void **state)
{
	uint64_t gpa[2], len[2];

	(void)state;
	assert_int_equal(arch_ram_ranges(3 * GiB + 0x1000, gpa, len), 2);
	assert_int_equal(gpa[0], 0);
	assert_int_equal(len[0], 3 * GiB);
	assert_int_equal(gpa[1], 4 * GiB);
	assert_int_equal(len[1], 0x1000);
}

static void test_boot_ram_of_8g_splits_around_hole(void **state)
{
	uint64_t gpa[2], len[2];

	(void)state;
	assert_int_equal(arch_ram_ranges(8 * GiB, gpa, len), 2);
	assert_int_equal(gpa[0], 0);
	assert_int_equal(len[0], 3 * GiB);
	assert_int_equal(gpa[1], MMIO_HOLE_END);
	assert_int_equal(len[1], 5 * GiB);
}

static void test_boot_hole_is_3g_to_4g(void **state)
{
	(void)state;
	assert_int_equal(MMIO_HOLE, 3 * GiB);
	assert_int_equal(MMIO_HOLE_END, 4 * GiB);
}

/* ---- arch_ram_map(): RAM read back from guest memory ---- */

static void test_boot_ram_map_of_one_region_is_one_range(void **state)
{
	static const struct fixture_region ram[] = { { 0, 64 * MiB, 0 } };
	struct fixture *f = *state;
	uint64_t gpa[4] = { 1, 1 }, len[4] = { 1, 1 };

	assert_int_equal(use_mem(f, ram, 1), 0);
	assert_int_equal(arch_ram_map(f->mem, gpa, len, 4), 1);
	assert_int_equal(gpa[0], 0);
	assert_int_equal(len[0], 64 * MiB);
}

static void test_boot_ram_map_has_a_range_on_each_side_of_hole(void **state)
{
	static const struct fixture_region ram[] = {
		{ 0, 3 * GiB, 0 },
		{ 4 * GiB, 5 * GiB, 0 },
	};
	struct fixture *f = *state;
	uint64_t gpa[4], len[4], want_gpa[2], want_len[2];
	int rc;

	rc = use_mem(f, ram, 2);
	FIXTURE_SKIP_IF_TOO_BIG(rc, 8 * GiB);
	assert_int_equal(rc, 0);
	assert_int_equal(arch_ram_map(f->mem, gpa, len, 4), 2);
	assert_int_equal(gpa[0], 0);
	assert_int_equal(len[0], 3 * GiB);
	assert_int_equal(gpa[1], MMIO_HOLE_END);
	assert_int_equal(len[1], 5 * GiB);
	/* What the VMM decided for 8 GiB is what the memory says. */
	assert_int_equal(arch_ram_ranges(8 * GiB, want_gpa, want_len), 2);
	assert_memory_equal(gpa, want_gpa, sizeof(want_gpa));
	assert_memory_equal(len, want_len, sizeof(want_len));
}

static void test_boot_ram_map_merges_adjacent_regions(void **state)
{
	static const struct fixture_region ram[] = {
		{ 0, 1 * MiB, 0 },
		{ 1 * MiB, 15 * MiB, 0 },
		{ 16 * MiB, 16 * MiB, 0 },
	};
	struct fixture *f = *state;
	uint64_t gpa[4], len[4];

	assert_int_equal(use_mem(f, ram, 3), 0);
	assert_int_equal(arch_ram_map(f->mem, gpa, len, 4), 1);
	assert_int_equal(gpa[0], 0);
	assert_int_equal(len[0], 32 * MiB);
}

static void test_boot_ram_map_keeps_ranges_apart_across_a_gap(void **state)
{
	static const struct fixture_region ram[] = {
		{ 32 * MiB, 16 * MiB, 0 },
		{ 0, 16 * MiB, 0 },
	};
	struct fixture *f = *state;
	uint64_t gpa[4], len[4];

	assert_int_equal(use_mem(f, ram, 2), 0);
	assert_int_equal(arch_ram_map(f->mem, gpa, len, 4), 2);
	assert_int_equal(gpa[0], 0);
	assert_int_equal(len[0], 16 * MiB);
	assert_int_equal(gpa[1], 32 * MiB);
	assert_int_equal(len[1], 16 * MiB);
}

static void test_boot_ram_map_counts_ranges_past_max(void **state)
{
	static const struct fixture_region ram[] = {
		{ 0, 16 * MiB, 0 },
		{ 32 * MiB, 16 * MiB, 0 },
		{ 64 * MiB, 16 * MiB, 0 },
	};
	struct fixture *f = *state;
	uint64_t gpa[3] = { 1, 1, 1 }, len[3] = { 1, 1, 1 };

	assert_int_equal(use_mem(f, ram, 3), 0);
	assert_int_equal(arch_ram_map(f->mem, gpa, len, 2), 3);
	assert_int_equal(gpa[0], 0);
	assert_int_equal(gpa[1], 32 * MiB);
	assert_int_equal(len[1], 16 * MiB);
	/* Nothing stored past max. */
	assert_int_equal(gpa[2], 1);
	assert_int_equal(len[2], 1);
}

static void test_boot_ram_map_with_max_0_only_counts(void **state)
{
	static const struct fixture_region ram[] = {
		{ 0, 16 * MiB, 0 },
		{ 32 * MiB, 16 * MiB, 0 },
	};
	struct fixture *f = *state;

	assert_int_equal(use_mem(f, ram, 2), 0);
	assert_int_equal(arch_ram_map(f->mem, NULL, NULL, 0), 2);
}

static void test_boot_ram_map_of_empty_memory_is_empty(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa[1] = { 1 }, len[1] = { 1 };

	assert_int_equal(use_mem(f, NULL, 0), 0);
	assert_int_equal(arch_ram_map(f->mem, gpa, len, 1), 0);
	assert_int_equal(gpa[0], 1);
	assert_int_equal(arch_low_ram_end(f->mem), 0);
}

/* ---- arch_low_ram_end() ---- */

static void test_boot_low_ram_end_is_end_of_ram_below_hole(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(arch_low_ram_end(f->mem), 64 * MiB);
}

static void test_boot_low_ram_end_is_hole_with_ram_above_4g(void **state)
{
	struct fixture *f = *state;

	need_mem(f);
	assert_int_equal(arch_low_ram_end(f->mem), MMIO_HOLE);
}

static void test_boot_low_ram_end_is_end_of_last_range_below_hole(void **state)
{
	static const struct fixture_region ram[] = {
		{ 0, 16 * MiB, 0 },
		{ 32 * MiB, 16 * MiB, 0 },
		{ 4 * GiB, 1 * GiB, 0 },
	};
	struct fixture *f = *state;

	assert_int_equal(use_mem(f, ram, 3), 0);
	assert_int_equal(arch_low_ram_end(f->mem), 48 * MiB);
}

static void test_boot_low_ram_end_stops_ram_running_into_hole(void **state)
{
	static const struct fixture_region ram[] = {
		{ 0, 16 * MiB, 0 },
		{ 2 * GiB, 2 * GiB, 0 },
	};
	struct fixture *f = *state;

	assert_int_equal(use_mem(f, ram, 2), 0);
	assert_int_equal(arch_low_ram_end(f->mem), MMIO_HOLE);
}

static void test_boot_low_ram_end_without_ram_below_hole_is_0(void **state)
{
	static const struct fixture_region ram[] = { { 4 * GiB, 16 * MiB, 0 } };
	struct fixture *f = *state;

	assert_int_equal(use_mem(f, ram, 1), 0);
	assert_int_equal(arch_low_ram_end(f->mem), 0);
}

/* ---- arch_e820_map() ---- */

static void assert_e820(const struct boot_e820_entry *e, uint64_t gpa,
			uint64_t len, uint32_t type)
{
	assert_int_equal(e->gpa, gpa);
	assert_int_equal(e->len, len);
	assert_int_equal(e->type, type);
}

static void test_boot_e820_map_reserves_legacy_area_of_low_ram(void **state)
{
	struct fixture *f = *state;
	struct boot_e820_entry map[8];

	assert_int_equal(arch_e820_map(f->mem, map, 8), 3);
	assert_e820(&map[0], 0, 0x9fc00, BOOT_E820_RAM);
	assert_e820(&map[1], 0x9fc00, 1 * MiB - 0x9fc00, BOOT_E820_RESERVED);
	assert_e820(&map[2], 1 * MiB, 63 * MiB, BOOT_E820_RAM);
}

static void test_boot_e820_map_lists_ram_above_1_mib_as_it_is(void **state)
{
	struct fixture *f = *state;
	struct boot_e820_entry map[8];

	assert_int_equal(arch_e820_map(f->mem, map, 8), 1);
	assert_e820(&map[0], 2 * MiB, 62 * MiB, BOOT_E820_RAM);
}

static void test_boot_e820_map_reserves_only_ram_in_legacy_area(void **state)
{
	/* RAM up to 640 KiB: its last 1 KiB is the EBDA. */
	static const struct fixture_region ram[] = { { 0, 0xa0000, 0 } };
	struct fixture *f = *state;
	struct boot_e820_entry map[8];

	assert_int_equal(use_mem(f, ram, 1), 0);
	assert_int_equal(arch_e820_map(f->mem, map, 8), 2);
	assert_e820(&map[0], 0, 0x9fc00, BOOT_E820_RAM);
	assert_e820(&map[1], 0x9fc00, 0x400, BOOT_E820_RESERVED);
}

static void test_boot_e820_map_lists_both_sides_of_a_gap(void **state)
{
	static const struct fixture_region ram[] = {
		{ 0, 16 * MiB, 0 },
		{ 32 * MiB, 16 * MiB, 0 },
	};
	struct fixture *f = *state;
	struct boot_e820_entry map[8];

	assert_int_equal(use_mem(f, ram, 2), 0);
	assert_int_equal(arch_e820_map(f->mem, map, 8), 4);
	assert_e820(&map[2], 1 * MiB, 15 * MiB, BOOT_E820_RAM);
	assert_e820(&map[3], 32 * MiB, 16 * MiB, BOOT_E820_RAM);
}

static void test_boot_e820_map_counts_entries_past_max(void **state)
{
	struct fixture *f = *state;
	struct boot_e820_entry map[3];

	need_mem(f);
	memset(map, 0x5a, sizeof(map));
	assert_int_equal(arch_e820_map(f->mem, map, 2), 4);
	assert_e820(&map[1], 0x9fc00, 1 * MiB - 0x9fc00, BOOT_E820_RESERVED);
	assert_int_equal(map[2].gpa, 0x5a5a5a5a5a5a5a5aull);
}

/* ---- arch_setup_pvh(): the start info ---- */

static void test_boot_start_info_has_magic_and_version_1(void **state)
{
	struct fixture *f = *state;

	setup_pvh(f);
	assert_int_equal(rd32(f, BOOT_START_INFO + 0), START_INFO_MAGIC);
	assert_int_equal(rd32(f, BOOT_START_INFO + 4), 1);
}

static void test_boot_start_info_has_no_flags_modules_or_rsdp(void **state)
{
	struct fixture *f = *state;

	setup_pvh(f);
	assert_int_equal(rd32(f, BOOT_START_INFO + 8), 0);
	assert_int_equal(rd32(f, BOOT_START_INFO + 12), 0);
	assert_int_equal(rd64(f, BOOT_START_INFO + 16), 0);
	assert_int_equal(rd64(f, BOOT_START_INFO + 32), 0);
	assert_int_equal(rd32(f, BOOT_START_INFO + 52), 0);
}

static void test_boot_start_info_points_at_command_line(void **state)
{
	struct fixture *f = *state;

	setup_pvh(f);
	assert_int_equal(rd64(f, BOOT_START_INFO + 24), BOOT_CMDLINE);
}

static void test_boot_start_info_points_at_memory_map(void **state)
{
	struct fixture *f = *state;

	setup_pvh(f);
	assert_int_equal(rd64(f, BOOT_START_INFO + 40), BOOT_MEMMAP);
}

static void test_boot_start_info_does_not_overlap_memory_map(void **state)
{
	(void)state;
	assert_true(BOOT_START_INFO + START_INFO_SIZE <= BOOT_MEMMAP);
}

/* ---- arch_setup_pvh(): what a Linux vmlinux gets more ---- */

static void test_boot_start_info_carries_rsdp_and_initrd_module(void **state)
{
	const struct boot_pvh_extra x = { .rsdp_gpa = 0xe0000,
					  .initrd_gpa = 0x3e00000,
					  .initrd_len = 0x1ff123 };
	struct fixture *f = *state;

	assert_int_equal(arch_setup_pvh(f->mem, CMDLINE, &x), 0);
	assert_int_equal(rd64(f, BOOT_START_INFO + 32), 0xe0000);
	assert_int_equal(rd32(f, BOOT_START_INFO + 12), 1);
	assert_int_equal(rd64(f, BOOT_START_INFO + 16), BOOT_MODLIST);
	assert_int_equal(rd64(f, BOOT_MODLIST + 0), 0x3e00000);
	assert_int_equal(rd64(f, BOOT_MODLIST + 8), 0x1ff123);
	/* No module command line; reserved is zero. */
	assert_int_equal(rd64(f, BOOT_MODLIST + 16), 0);
	assert_int_equal(rd64(f, BOOT_MODLIST + 24), 0);
	/* The rest is as without the extras. */
	assert_int_equal(rd64(f, BOOT_START_INFO + 24), BOOT_CMDLINE);
	assert_int_equal(rd64(f, BOOT_START_INFO + 40), BOOT_MEMMAP);
}

static void test_boot_rsdp_without_initrd_lists_no_module(void **state)
{
	const struct boot_pvh_extra x = { .rsdp_gpa = 0xe0000 };
	struct fixture *f = *state;
	uint8_t b;

	assert_int_equal(arch_setup_pvh(f->mem, CMDLINE, &x), 0);
	assert_int_equal(rd64(f, BOOT_START_INFO + 32), 0xe0000);
	assert_int_equal(rd32(f, BOOT_START_INFO + 12), 0);
	assert_int_equal(rd64(f, BOOT_START_INFO + 16), 0);
	assert_int_equal(vmmem_read_obj(f->mem, BOOT_MODLIST, &b), 0);
	assert_int_equal(b, FILL);
}

static void test_boot_module_list_lies_between_memmap_and_page_end(
	void **state)
{
	(void)state;
	/* After the largest memory map... */
	assert_true(BOOT_MEMMAP + BOOT_MEMMAP_MAX * MEMMAP_ENTRY_SIZE <=
		    BOOT_MODLIST);
	/* ...which holds minivmm's layout with RAM above 4 GiB and one
	 * gap more. */
	assert_true(BOOT_MEMMAP_MAX >= 5);
	/* ...and inside the start info's page. */
	assert_true(BOOT_MODLIST + 32 <= BOOT_START_INFO + 0x1000);
}

/* ---- arch_setup_pvh(): the memory map ---- */

static void test_boot_memmap_below_hole_has_three_entries(void **state)
{
	struct fixture *f = *state;

	setup_pvh(f);
	assert_int_equal(rd32(f, BOOT_START_INFO + 48), 3);
	assert_memmap_entry(f, 0, 0, 0x9fc00, E820_RAM);
	assert_memmap_entry(f, 1, 0x9fc00, 1 * MiB - 0x9fc00, E820_RESERVED);
	assert_memmap_entry(f, 2, 1 * MiB, 64 * MiB - 1 * MiB, E820_RAM);
}

static void test_boot_memmap_at_hole_ends_at_3g(void **state)
{
	struct fixture *f = *state;

	need_mem(f);
	setup_pvh(f);
	assert_int_equal(rd32(f, BOOT_START_INFO + 48), 3);
	assert_memmap_entry(f, 0, 0, 0x9fc00, E820_RAM);
	assert_memmap_entry(f, 1, 0x9fc00, 1 * MiB - 0x9fc00, E820_RESERVED);
	assert_memmap_entry(f, 2, 1 * MiB, 3 * GiB - 1 * MiB, E820_RAM);
}

static void test_boot_memmap_above_hole_adds_ram_at_4g(void **state)
{
	struct fixture *f = *state;

	need_mem(f);
	setup_pvh(f);
	assert_int_equal(rd32(f, BOOT_START_INFO + 48), 4);
	assert_memmap_entry(f, 0, 0, 0x9fc00, E820_RAM);
	assert_memmap_entry(f, 1, 0x9fc00, 1 * MiB - 0x9fc00, E820_RESERVED);
	assert_memmap_entry(f, 2, 1 * MiB, 3 * GiB - 1 * MiB, E820_RAM);
	assert_memmap_entry(f, 3, 4 * GiB, 1 * GiB, E820_RAM);
}

static void test_boot_memmap_lists_ram_on_both_sides_of_a_gap(void **state)
{
	static const struct fixture_region ram[] = {
		{ 0, 64 * MiB, 0 },
		{ 128 * MiB, 128 * MiB, 0 },
		{ 4 * GiB, 1 * GiB, 0 },
	};
	struct fixture *f = *state;

	assert_int_equal(use_mem(f, ram, 3), 0);
	setup_pvh(f);
	assert_int_equal(rd32(f, BOOT_START_INFO + 48), 5);
	assert_memmap_entry(f, 2, 1 * MiB, 63 * MiB, E820_RAM);
	assert_memmap_entry(f, 3, 128 * MiB, 128 * MiB, E820_RAM);
	assert_memmap_entry(f, 4, 4 * GiB, 1 * GiB, E820_RAM);
}

static void test_boot_memmap_too_long_for_its_area_is_e2big(void **state)
{
	static const struct fixture_region ram[] = {
		{ 0, 64 * MiB, 0 },
		{ 128 * MiB, 64 * MiB, 0 },
		{ 256 * MiB, 64 * MiB, 0 },
		{ 4 * GiB, 1 * GiB, 0 },
	};
	struct fixture *f = *state;

	assert_int_equal(use_mem(f, ram, 4), 0);
	assert_int_equal(arch_e820_map(f->mem, NULL, 0), BOOT_MEMMAP_MAX + 1);
	assert_int_equal(arch_setup_pvh(f->mem, CMDLINE, NULL), -E2BIG);
	assert_filled(f, BOOT_START_INFO, 0x1000);
	assert_filled(f, BOOT_CMDLINE, 2 * BOOT_CMDLINE_MAX);
}

static void test_boot_memmap_writes_nothing_past_its_entries(void **state)
{
	struct fixture *f = *state;
	uint64_t end = BOOT_MEMMAP + 3 * MEMMAP_ENTRY_SIZE;

	setup_pvh(f);
	assert_filled(f, end, BOOT_START_INFO + 0x1000 - end);
}

/* ---- arch_setup_pvh(): the command line ---- */

static void test_boot_cmdline_is_copied_with_its_nul(void **state)
{
	struct fixture *f = *state;
	char buf[sizeof(CMDLINE)];

	setup_pvh(f);
	assert_int_equal(vmmem_read(f->mem, BOOT_CMDLINE, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, CMDLINE, sizeof(CMDLINE));
	assert_filled(f, BOOT_CMDLINE + sizeof(CMDLINE), 0x10);
}

static void test_boot_empty_cmdline_is_a_single_nul(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(arch_setup_pvh(f->mem, "", NULL), 0);
	assert_int_equal(rd32(f, BOOT_CMDLINE) & 0xff, 0);
	assert_filled(f, BOOT_CMDLINE + 1, 0x10);
}

static void test_boot_cmdline_of_max_minus_one_bytes_fits(void **state)
{
	struct fixture *f = *state;
	char line[BOOT_CMDLINE_MAX], back[BOOT_CMDLINE_MAX];

	memset(line, 'a', BOOT_CMDLINE_MAX - 1);
	line[BOOT_CMDLINE_MAX - 1] = '\0';
	assert_int_equal(arch_setup_pvh(f->mem, line, NULL), 0);
	assert_int_equal(vmmem_read(f->mem, BOOT_CMDLINE, back, sizeof(back)),
			 0);
	assert_memory_equal(back, line, BOOT_CMDLINE_MAX);
	assert_filled(f, BOOT_CMDLINE + BOOT_CMDLINE_MAX, BOOT_CMDLINE_MAX);
}

static void test_boot_cmdline_of_max_bytes_is_too_big(void **state)
{
	struct fixture *f = *state;
	char line[BOOT_CMDLINE_MAX + 1];

	memset(line, 'a', BOOT_CMDLINE_MAX);
	line[BOOT_CMDLINE_MAX] = '\0';
	assert_int_equal(arch_setup_pvh(f->mem, line, NULL), -E2BIG);
}

static void test_boot_too_big_cmdline_writes_nothing(void **state)
{
	struct fixture *f = *state;
	char line[BOOT_CMDLINE_MAX + 1];

	memset(line, 'a', BOOT_CMDLINE_MAX);
	line[BOOT_CMDLINE_MAX] = '\0';
	assert_int_equal(arch_setup_pvh(f->mem, line, NULL), -E2BIG);
	assert_filled(f, BOOT_START_INFO, 0x1000);
	assert_filled(f, BOOT_CMDLINE, 2 * BOOT_CMDLINE_MAX);
}

/* ---- arch_setup_pvh(): errors from guest memory ---- */

static void test_boot_memory_not_backing_boot_area_is_efault(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(arch_setup_pvh(f->mem, CMDLINE, NULL), -EFAULT);
}

#define T64M(fn) cmocka_unit_test_setup_teardown(fn, setup_64m, teardown)
#define T3G(fn) cmocka_unit_test_setup_teardown(fn, setup_3g, teardown)
#define T4G(fn) cmocka_unit_test_setup_teardown(fn, setup_4g, teardown)
#define TMEM(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TNOBOOT(fn)                                                            \
	cmocka_unit_test_setup_teardown(fn, setup_no_boot_area, teardown)

static void test_boot_long_mode_tables_identity_map_the_first_gib(void **state)
{
	struct fixture *f = *state;
	uint64_t gdt[4], pml4, pdpt, pd[512], idt = 1;
	unsigned i;

	assert_int_equal(arch_setup_long_mode(f->mem, 80 * MiB), 0);
	assert_int_equal(vmmem_read(f->mem, BOOT_GDT, gdt, sizeof(gdt)), 0);
	assert_int_equal(gdt[0], 0);
	/* 64-bit code (L set, D clear), flat data. */
	assert_int_equal(gdt[1], 0x00af9b000000ffffull);
	assert_int_equal(gdt[2], 0x00cf93000000ffffull);
	assert_int_equal(vmmem_read_obj(f->mem, BOOT_IDT, &idt), 0);
	assert_int_equal(idt, 0);
	assert_int_equal(vmmem_read_obj(f->mem, BOOT_PML4, &pml4), 0);
	assert_int_equal(pml4, BOOT_PDPT | 3);
	assert_int_equal(vmmem_read_obj(f->mem, BOOT_PDPT, &pdpt), 0);
	assert_int_equal(pdpt, BOOT_PD | 3);
	assert_int_equal(vmmem_read(f->mem, BOOT_PD, pd, sizeof(pd)), 0);
	for (i = 0; i < 512; i++)
		assert_int_equal(pd[i], ((uint64_t)i << 21) | 0x83);
}

static void test_boot_long_mode_refuses_more_than_1_gib(void **state)
{
	struct fixture *f = *state;
	uint64_t pml4 = 0x5a5a;

	assert_int_equal(vmmem_write_obj(f->mem, BOOT_PML4, &pml4), 0);
	assert_int_equal(arch_setup_long_mode(f->mem, BOOT_IDENT_MAX + 1),
			 -E2BIG);
	assert_int_equal(vmmem_read_obj(f->mem, BOOT_PML4, &pml4), 0);
	assert_int_equal(pml4, 0x5a5a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* arch_ram_ranges() */
		cmocka_unit_test(test_boot_ram_below_hole_is_one_range),
		cmocka_unit_test(test_boot_ram_just_below_hole_is_one_range),
		cmocka_unit_test(
			test_boot_ram_filling_exactly_up_to_hole_is_one_range),
		cmocka_unit_test(
			test_boot_ram_one_page_past_hole_continues_at_4g),
		cmocka_unit_test(test_boot_ram_of_8g_splits_around_hole),
		cmocka_unit_test(test_boot_hole_is_3g_to_4g),
		/* arch_ram_map() */
		TMEM(test_boot_ram_map_of_one_region_is_one_range),
		TMEM(test_boot_ram_map_has_a_range_on_each_side_of_hole),
		TMEM(test_boot_ram_map_merges_adjacent_regions),
		TMEM(test_boot_ram_map_keeps_ranges_apart_across_a_gap),
		TMEM(test_boot_ram_map_counts_ranges_past_max),
		TMEM(test_boot_ram_map_with_max_0_only_counts),
		TMEM(test_boot_ram_map_of_empty_memory_is_empty),
		/* arch_low_ram_end() */
		T64M(test_boot_low_ram_end_is_end_of_ram_below_hole),
		T4G(test_boot_low_ram_end_is_hole_with_ram_above_4g),
		TMEM(test_boot_low_ram_end_is_end_of_last_range_below_hole),
		TMEM(test_boot_low_ram_end_stops_ram_running_into_hole),
		TMEM(test_boot_low_ram_end_without_ram_below_hole_is_0),
		/* arch_e820_map() */
		T64M(test_boot_e820_map_reserves_legacy_area_of_low_ram),
		TNOBOOT(test_boot_e820_map_lists_ram_above_1_mib_as_it_is),
		TMEM(test_boot_e820_map_reserves_only_ram_in_legacy_area),
		TMEM(test_boot_e820_map_lists_both_sides_of_a_gap),
		T4G(test_boot_e820_map_counts_entries_past_max),
		cmocka_unit_test_setup_teardown(
			test_boot_long_mode_tables_identity_map_the_first_gib,
			setup_64m, teardown),
		cmocka_unit_test_setup_teardown(
			test_boot_long_mode_refuses_more_than_1_gib, setup_64m,
			teardown),
		/* The start info */
		T64M(test_boot_start_info_has_magic_and_version_1),
		T64M(test_boot_start_info_has_no_flags_modules_or_rsdp),
		T64M(test_boot_start_info_points_at_command_line),
		T64M(test_boot_start_info_points_at_memory_map),
		cmocka_unit_test(
			test_boot_start_info_does_not_overlap_memory_map),
		T64M(test_boot_start_info_carries_rsdp_and_initrd_module),
		T64M(test_boot_rsdp_without_initrd_lists_no_module),
		cmocka_unit_test(
			test_boot_module_list_lies_between_memmap_and_page_end),
		/* The memory map */
		T64M(test_boot_memmap_below_hole_has_three_entries),
		T3G(test_boot_memmap_at_hole_ends_at_3g),
		T4G(test_boot_memmap_above_hole_adds_ram_at_4g),
		TMEM(test_boot_memmap_lists_ram_on_both_sides_of_a_gap),
		TMEM(test_boot_memmap_too_long_for_its_area_is_e2big),
		T64M(test_boot_memmap_writes_nothing_past_its_entries),
		/* The command line */
		T64M(test_boot_cmdline_is_copied_with_its_nul),
		T64M(test_boot_empty_cmdline_is_a_single_nul),
		T64M(test_boot_cmdline_of_max_minus_one_bytes_fits),
		T64M(test_boot_cmdline_of_max_bytes_is_too_big),
		T64M(test_boot_too_big_cmdline_writes_nothing),
		/* Errors */
		TNOBOOT(test_boot_memory_not_backing_boot_area_is_efault),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
