/* SPDX-License-Identifier: MIT */
/*
 * Tests for minivmm/loader/bzimage.h: loading a Linux bzImage and an initrd
 * for the 64-bit boot protocol.
 *
 * Every test builds its bzImage in memory: junk in the boot sector, the
 * sentinel byte 0x1ef set to 0xff as in real images, a setup header at
 * 0x1f1 whose unnamed bytes hold hdr_byte() and whose fields are set as
 * below, junk up to the end of the setup sectors, then PAYLOAD_LEN bytes of
 * pay_byte() as the protected-mode kernel. The zero page is read back at
 * the offsets of the boot protocol (Documentation/arch/x86/boot.rst and
 * zero-page.rst), not through the loader's own definitions:
 *
 *   boot_params                          setup_header (same offsets)
 *   0x070 acpi_rsdp_addr     u64         0x1f1 setup_sects      u8
 *   0x0c0 ext_ramdisk_image  u32         0x201 jump displacement u8
 *   0x0c4 ext_ramdisk_size   u32         0x202 "HdrS"
 *   0x0c8 ext_cmd_line_ptr   u32         0x206 version          u16
 *   0x1e8 e820_entries       u8          0x210 type_of_loader   u8
 *   0x1ef sentinel           u8          0x211 loadflags        u8
 *   0x2d0 e820_table[128]    20 bytes    0x218 ramdisk_image    u32
 *         {u64 addr, u64 size, u32 type} 0x21c ramdisk_size     u32
 *                                        0x228 cmd_line_ptr     u32
 *                                        0x22c initrd_addr_max  u32
 *                                        0x230 kernel_alignment u32
 *                                        0x234 relocatable      u8
 *                                        0x236 xloadflags       u16
 *                                        0x238 cmdline_size     u32
 *                                        0x250 setup_data       u64
 *                                        0x258 pref_address     u64
 *                                        0x260 init_size        u32
 *
 * Guest memory is [0, MEM_SIZE), filled with FILL before every test, so a
 * rejected image can be shown to have written nothing. The loader reads the
 * RAM layout from the memory, so tests of other layouts (less RAM, a gap,
 * RAM above 4 GiB) replace it with one of that shape (use_mem(), use_ram())
 * or load into a second memory (big).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>

#include "../minivmm/loader/bzimage.h"
#include "../minivmm/x86/boot.h"
#include "fixture.h"
#include "sysmock.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define PAGE 0x1000ull

#define MEM_SIZE (16 * MiB) /* guest RAM of the fixture */
#define FILL 0xa5	    /* what guest memory holds before a load */
#define JUNK 0x5c	    /* image bytes outside the setup header */

#define IMAGE_MAX 0x4000u
#define SETUP_SECTS 4
#define SETUP_LEN ((SETUP_SECTS + 1) * 512u) /* 0xa00 */
#define PAYLOAD_LEN 0x3000u
#define IMAGE_LEN (SETUP_LEN + PAYLOAD_LEN)
#define LOAD_GPA 0x100000ull
#define INIT_SIZE 0x400000u
#define KERNEL_END (LOAD_GPA + INIT_SIZE) /* 5 MiB */
#define HDR_END 0x26c			  /* a 2.15 header: jump byte 0x6a */
#define INITRD_SIZE 0x1801u		  /* not a page multiple */
#define RSDP 0xe0000ull
#define CMDLINE "console=ttyS0 reboot=t panic=-1"

/* Offsets, see the table above. */
#define ZP_ACPI_RSDP 0x070
#define ZP_EXT_RAMDISK_IMAGE 0x0c0
#define ZP_EXT_RAMDISK_SIZE 0x0c4
#define ZP_EXT_CMD_LINE_PTR 0x0c8
#define ZP_E820_ENTRIES 0x1e8
#define ZP_SENTINEL 0x1ef
#define ZP_E820_TABLE 0x2d0
#define HDR_SETUP_SECTS 0x1f1
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_SETUP_DATA 0x250
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260

/* What the out-parameter holds before a call, to see that a failure
 * leaves it alone. */
#define OUT_SENTINEL 0x5e5e5e5e5e5e5e5eull

struct fixture {
	struct vmmem *mem; /* MEM_SIZE bytes of FILL, or use_mem()'s */
	struct vmmem *big; /* a second guest memory, or NULL */
	uint8_t img[IMAGE_MAX];
	size_t size; /* bytes of the bzImage */
	bool has_initrd;
	size_t initrd_size;
	const char *cmdline;
	uint64_t rsdp;
	char kpath[64]; /* temporary files, or "" */
	char ipath[64];
};

/* Bytes of the payload, the initrd and the unnamed header fields: never
 * 0, FILL or JUNK, and different from one another. */
static uint8_t pay_byte(size_t i)
{
	return (uint8_t)(0x11 + i % 0x71);
}

static uint8_t initrd_byte(size_t i)
{
	return (uint8_t)(0x90 + i % 0x13);
}

static uint8_t hdr_byte(size_t off)
{
	return (uint8_t)(0xb0 + off % 0x3d);
}

/* ---- The image builder ---- */

static void set8(struct fixture *f, size_t off, uint8_t v)
{
	f->img[off] = v;
}

static void set16(struct fixture *f, size_t off, uint16_t v)
{
	memcpy(f->img + off, &v, sizeof(v));
}

static void set32(struct fixture *f, size_t off, uint32_t v)
{
	memcpy(f->img + off, &v, sizeof(v));
}

static void set64(struct fixture *f, size_t off, uint64_t v)
{
	memcpy(f->img + off, &v, sizeof(v));
}

/* A 2.15 bzImage with a 64-bit entry, loaded and run at 1 MiB. */
static void image_init(struct fixture *f)
{
	size_t i;

	memset(f->img, JUNK, sizeof(f->img));
	f->img[ZP_SENTINEL] = 0xff;
	for (i = HDR_SETUP_SECTS; i < 0x290; i++)
		f->img[i] = hdr_byte(i);
	set8(f, HDR_SETUP_SECTS, SETUP_SECTS);
	set16(f, HDR_BOOT_FLAG, 0xaa55);
	set8(f, HDR_JUMP, 0xeb);
	set8(f, HDR_JUMP + 1, HDR_END - 0x202);
	memcpy(f->img + HDR_MAGIC, "HdrS", 4);
	set16(f, HDR_VERSION, 0x020f);
	set8(f, HDR_TYPE_OF_LOADER, 0);
	set8(f, HDR_LOADFLAGS, 0x01);
	/* What a careless build might leave: the loader must replace it. */
	set32(f, HDR_RAMDISK_IMAGE, 0x11111111);
	set32(f, HDR_RAMDISK_SIZE, 0x22222222);
	set32(f, HDR_CMD_LINE_PTR, 0x33333333);
	set32(f, HDR_INITRD_ADDR_MAX, 0x7fffffff);
	set32(f, HDR_KERNEL_ALIGNMENT, 0x1000);
	set8(f, HDR_RELOCATABLE, 1);
	set16(f, HDR_XLOADFLAGS, 0x0001);
	set32(f, HDR_CMDLINE_SIZE, 0x7ff);
	set64(f, HDR_PREF_ADDRESS, LOAD_GPA);
	set32(f, HDR_INIT_SIZE, INIT_SIZE);
	for (i = HDR_END; i < SETUP_LEN; i++)
		f->img[i] = JUNK;
	for (i = 0; i < PAYLOAD_LEN; i++)
		f->img[SETUP_LEN + i] = pay_byte(i);
	f->size = IMAGE_LEN;
}

/* ---- Fixture and checks ---- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (fixture_ram_create(MEM_SIZE, 0, FILL, &f->mem)) {
		free(f);
		return -1;
	}
	image_init(f);
	f->cmdline = CMDLINE;
	f->rsdp = RSDP;
	sysmock_reset();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->kpath[0])
		unlink(f->kpath);
	if (f->ipath[0])
		unlink(f->ipath);
	vmmem_destroy(f->big);
	vmmem_destroy(f->mem);
	free(f);
	return 0;
}

static void *initrd_copy(size_t size)
{
	uint8_t *p = malloc(size ? size : 1);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < size; i++)
		p[i] = initrd_byte(i);
	return p;
}

/* Load the fixture's image from heap copies of exactly their size, so that
 * a sanitizer build catches any read past the end of a file. */
static int load_into(struct fixture *f, struct vmmem *mem,
		     struct bzimage_boot *out)
{
	void *kernel = malloc(f->size ? f->size : 1);
	void *initrd = NULL;
	int rc;

	assert_non_null(kernel);
	memcpy(kernel, f->img, f->size);
	if (f->has_initrd)
		initrd = initrd_copy(f->initrd_size);
	rc = bzimage_load_buffer(mem, kernel, f->size, "test-bzImage", initrd,
				 f->initrd_size, "test-initrd", f->cmdline,
				 f->rsdp, out);
	free(initrd);
	free(kernel);
	return rc;
}

static int load(struct fixture *f, struct bzimage_boot *out)
{
	return load_into(f, f->mem, out);
}

static void with_initrd(struct fixture *f, size_t size)
{
	f->has_initrd = true;
	f->initrd_size = size;
}

/* Replace the fixture's memory with the regions of a table, all FILL. */
static void use_mem(struct fixture *f, const struct fixture_region *spec,
		    size_t n)
{
	size_t i;

	vmmem_destroy(f->mem);
	f->mem = NULL;
	assert_int_equal(fixture_mem_create(spec, n, NULL, &f->mem), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(
			vmmem_fill(f->mem, spec[i].gpa, FILL, spec[i].len), 0);
}

/* Replace the fixture's memory with size bytes laid out as minivmm lays
 * them out, FILL in [0, MEM_SIZE) where the loader writes. */
static void use_ram(struct fixture *f, uint64_t size)
{
	int rc;

	vmmem_destroy(f->mem);
	f->mem = NULL;
	rc = fixture_ram_create(size, 0, FIXTURE_NO_FILL, &f->mem);
	FIXTURE_SKIP_IF_TOO_BIG(rc, size);
	assert_int_equal(rc, 0);
	assert_int_equal(vmmem_fill(f->mem, 0, FILL, MEM_SIZE), 0);
}

static const uint8_t *guest(struct fixture *f)
{
	void *hva;

	assert_int_equal(vmmem_get_ptr(f->mem, 0, MEM_SIZE, &hva), 0);
	return hva;
}

/* Every byte guest memory backs from gpa for len bytes still holds FILL
 * (all of them with the fixture's own memory). */
static void assert_filled(struct fixture *f, uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len, rgpa, rend, lo, hi, i;
	size_t r;

	for (r = 0; r < vmmem_region_count(f->mem); r++) {
		const struct vmmem_region *reg = vmmem_region_at(f->mem, r);
		const uint8_t *g;
		void *hva;

		rgpa = vmmem_region_gpa(reg);
		rend = rgpa + vmmem_region_len(reg);
		lo = gpa > rgpa ? gpa : rgpa;
		hi = end < rend ? end : rend;
		if (lo >= hi)
			continue;
		assert_int_equal(vmmem_get_ptr(f->mem, lo, hi - lo, &hva), 0);
		g = hva;
		for (i = 0; i < hi - lo; i++)
			if (g[i] != FILL)
				fail_msg("guest byte %#llx is %#x, not the "
					 "fill %#x",
					 (unsigned long long)(lo + i), g[i],
					 FILL);
	}
}

static void assert_payload(struct fixture *f, uint64_t gpa, size_t off,
			   size_t len)
{
	const uint8_t *g = guest(f);
	size_t i;

	for (i = 0; i < len; i++)
		if (g[gpa + i] != f->img[off + i])
			fail_msg("guest byte %#llx is %#x, image byte %#zx "
				 "is %#x",
				 (unsigned long long)(gpa + i), g[gpa + i],
				 off + i, f->img[off + i]);
}

static void assert_initrd_at(struct fixture *f, uint64_t gpa, size_t len)
{
	const uint8_t *g = guest(f);
	size_t i;

	for (i = 0; i < len; i++)
		if (g[gpa + i] != initrd_byte(i))
			fail_msg("initrd byte %#zx at %#llx is %#x", i,
				 (unsigned long long)(gpa + i), g[gpa + i]);
}

static void out_init(struct bzimage_boot *out)
{
	memset(out, 0x5e, sizeof(*out));
}

static void assert_out_untouched(const struct bzimage_boot *out)
{
	assert_int_equal(out->entry, OUT_SENTINEL);
	assert_int_equal(out->zero_page, OUT_SENTINEL);
	assert_int_equal(out->kernel_end, OUT_SENTINEL);
	assert_int_equal(out->initrd_gpa, OUT_SENTINEL);
	assert_int_equal(out->ident_end, OUT_SENTINEL);
}

/* The load fails with err and leaves *out and all guest memory alone. */
static void assert_rejected(struct fixture *f, int err)
{
	struct bzimage_boot out;

	out_init(&out);
	assert_int_equal(load(f, &out), err);
	assert_out_untouched(&out);
	assert_filled(f, 0, MEM_SIZE);
}

static void assert_loads(struct fixture *f, struct bzimage_boot *out)
{
	assert_int_equal(load(f, out), 0);
}

static void read_zero_page(struct vmmem *mem, uint8_t *zp)
{
	assert_int_equal(vmmem_read(mem, 0x7000, zp, 0x1000), 0);
}

static uint16_t rd16(const uint8_t *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

/* e820 entry i of a zero page is {gpa, len, type}. */
static void assert_e820(const uint8_t *zp, unsigned i, uint64_t gpa,
			uint64_t len, uint32_t type)
{
	size_t off = ZP_E820_TABLE + i * 20u;

	assert_int_equal(rd64(zp, off), gpa);
	assert_int_equal(rd64(zp, off + 8), len);
	assert_int_equal(rd32(zp, off + 16), type);
}

/* Whether zero page byte off belongs to a header field the loader writes
 * rather than copies. */
static bool loader_field(size_t off)
{
	return off == HDR_TYPE_OF_LOADER ||
	       (off >= HDR_RAMDISK_IMAGE && off < HDR_RAMDISK_SIZE + 4) ||
	       (off >= HDR_CMD_LINE_PTR && off < HDR_CMD_LINE_PTR + 4) ||
	       (off >= HDR_SETUP_DATA && off < HDR_SETUP_DATA + 8);
}

/* ---- Not a bzImage, or a malformed header ---- */

static void test_bzimage_rejects_empty_buffer(void **state)
{
	struct fixture *f = *state;

	f->size = 0;
	assert_rejected(f, -ENOEXEC);
}

static void test_bzimage_rejects_buffer_ending_inside_signature(void **state)
{
	struct fixture *f = *state;

	f->size = HDR_MAGIC + 3;
	assert_rejected(f, -ENOEXEC);
}

static void test_bzimage_rejects_buffer_ending_inside_version(void **state)
{
	struct fixture *f = *state;

	/* The signature is there; the version is cut in half. */
	f->size = HDR_VERSION + 1;
	assert_rejected(f, -ENOEXEC);
}

static void test_bzimage_rejects_missing_hdrs_signature(void **state)
{
	struct fixture *f = *state;

	memcpy(f->img + HDR_MAGIC, "HdrZ", 4);
	assert_rejected(f, -ENOEXEC);
}

static void test_bzimage_rejects_elf_file(void **state)
{
	struct fixture *f = *state;

	memset(f->img, 0, f->size);
	memcpy(f->img, "\177ELF", 4);
	assert_rejected(f, -ENOEXEC);
}

static void test_bzimage_rejects_header_past_end_of_file(void **state)
{
	struct fixture *f = *state;

	f->size = HDR_END - 1;
	assert_rejected(f, -ENOEXEC);
}

static void test_bzimage_rejects_protocol_older_than_2_12(void **state)
{
	struct fixture *f = *state;

	set16(f, HDR_VERSION, 0x020b);
	assert_rejected(f, -ENOTSUP);
}

static void test_bzimage_rejects_old_protocol_with_short_header(void **state)
{
	struct fixture *f = *state;

	/* A 2.02 header ends at 0x22c; the version decides, not the length. */
	set16(f, HDR_VERSION, 0x0202);
	set8(f, HDR_JUMP + 1, 0x22c - 0x202);
	assert_rejected(f, -ENOTSUP);
}

static void test_bzimage_rejects_header_too_short_for_2_12(void **state)
{
	struct fixture *f = *state;

	/* One byte short of handover_offset's end. */
	set8(f, HDR_JUMP + 1, 0x267 - 0x202);
	assert_rejected(f, -ENOEXEC);
}

static void
test_bzimage_rejects_header_longer_than_boot_params_has(void **state)
{
	struct fixture *f = *state;

	set8(f, HDR_JUMP + 1, 0x291 - 0x202);
	assert_rejected(f, -ENOEXEC);
}

static void test_bzimage_rejects_largest_jump_displacement(void **state)
{
	struct fixture *f = *state;

	/* 0x202 + 0xff = 0x301 would run into the e820 table at 0x2d0. */
	set8(f, HDR_JUMP + 1, 0xff);
	assert_rejected(f, -ENOEXEC);
}

static void test_bzimage_rejects_kernel_without_64_bit_entry(void **state)
{
	struct fixture *f = *state;

	/* Every other xloadflags bit, but not XLF_KERNEL_64. */
	set16(f, HDR_XLOADFLAGS, 0x007e);
	assert_rejected(f, -ENOTSUP);
}

static void test_bzimage_rejects_zimage_not_loaded_high(void **state)
{
	struct fixture *f = *state;

	set8(f, HDR_LOADFLAGS, 0x80);
	assert_rejected(f, -ENOEXEC);
}

static void test_bzimage_rejects_setup_sectors_past_end_of_file(void **state)
{
	struct fixture *f = *state;

	set8(f, HDR_SETUP_SECTS, 255);
	assert_rejected(f, -ENOEXEC);
}

static void test_bzimage_rejects_image_without_kernel_part(void **state)
{
	struct fixture *f = *state;

	/* Exactly the setup sectors, no protected-mode byte after them. */
	f->size = SETUP_LEN;
	assert_rejected(f, -ENOEXEC);
}

/* ---- What is accepted, and where the kernel goes ---- */

static void test_bzimage_accepts_protocol_2_12(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	set16(f, HDR_VERSION, 0x020c);
	set8(f, HDR_JUMP + 1, 0x268 - 0x202);
	assert_loads(f, &out);
	assert_int_equal(out.version, 0x020c);
}

static void test_bzimage_returns_64_bit_entry_and_zero_page(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	assert_loads(f, &out);
	assert_int_equal(out.entry, 0x100200);
	assert_int_equal(out.zero_page, 0x7000);
	assert_int_equal(out.version, 0x020f);
}

static void test_bzimage_returns_loaded_ranges(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	with_initrd(f, INITRD_SIZE);
	assert_loads(f, &out);
	assert_int_equal(out.kernel_gpa, LOAD_GPA);
	assert_int_equal(out.kernel_len, PAYLOAD_LEN);
	assert_int_equal(out.kernel_end, KERNEL_END);
	assert_int_equal(out.cmdline_gpa, 0x20000);
	assert_int_equal(out.cmdline_len, sizeof(CMDLINE));
	assert_int_equal(out.initrd_gpa, MEM_SIZE - 0x2000);
	assert_int_equal(out.initrd_len, INITRD_SIZE);
	assert_int_equal(out.ident_end, KERNEL_END);
}

static void test_bzimage_loads_protected_mode_part_at_1_mib(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	assert_loads(f, &out);
	assert_payload(f, LOAD_GPA, SETUP_LEN, PAYLOAD_LEN);
	/* The rest of init_size is the kernel's to clear: left alone. */
	assert_filled(f, LOAD_GPA + PAYLOAD_LEN, INIT_SIZE - PAYLOAD_LEN);
	/* Neither the setup sectors nor anything else went below 1 MiB,
	 * apart from the zero page and the command line. */
	assert_filled(f, 0, 0x7000);
	assert_filled(f, 0x8000, 0x20000 - 0x8000);
	assert_filled(f, 0x20000 + sizeof(CMDLINE),
		      LOAD_GPA - 0x20000 - sizeof(CMDLINE));
}

static void test_bzimage_treats_zero_setup_sectors_as_four(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	set8(f, HDR_SETUP_SECTS, 0);
	assert_loads(f, &out);
	assert_int_equal(out.kernel_len, PAYLOAD_LEN);
	assert_payload(f, LOAD_GPA, 5 * 512, PAYLOAD_LEN);
}

static void test_bzimage_loads_kernel_after_setup_sectors(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	/* One setup sector: the kernel starts at 0x400 of the file. */
	set8(f, HDR_SETUP_SECTS, 1);
	assert_loads(f, &out);
	assert_int_equal(out.kernel_len, IMAGE_LEN - 0x400);
	assert_payload(f, LOAD_GPA, 0x400, IMAGE_LEN - 0x400);
}

static void test_bzimage_accepts_one_byte_kernel(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	f->size = SETUP_LEN + 1;
	assert_loads(f, &out);
	assert_int_equal(out.kernel_len, 1);
	assert_payload(f, LOAD_GPA, SETUP_LEN, 1);
	assert_filled(f, LOAD_GPA + 1, 1);
}

/* ---- The kernel's footprint against low RAM ---- */

static void test_bzimage_rejects_init_size_past_low_ram(void **state)
{
	struct fixture *f = *state;

	set32(f, HDR_INIT_SIZE, MEM_SIZE - LOAD_GPA + 1);
	assert_rejected(f, -E2BIG);
}

static void test_bzimage_accepts_init_size_ending_at_low_ram_end(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	set32(f, HDR_INIT_SIZE, MEM_SIZE - LOAD_GPA);
	assert_loads(f, &out);
	assert_int_equal(out.kernel_end, MEM_SIZE);
}

static void test_bzimage_rejects_image_longer_than_low_ram(void **state)
{
	static const struct fixture_region ram[] = {
		{ 0, LOAD_GPA + PAYLOAD_LEN - 1, 0 },
	};
	struct fixture *f = *state;

	/* A small init_size does not excuse an image that does not fit. */
	use_mem(f, ram, 1);
	set32(f, HDR_INIT_SIZE, 0x1000);
	assert_rejected(f, -E2BIG);
}

static void test_bzimage_reserves_image_when_init_size_is_smaller(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	set32(f, HDR_INIT_SIZE, 0x1000);
	assert_loads(f, &out);
	assert_int_equal(out.kernel_end, LOAD_GPA + PAYLOAD_LEN);
}

static void test_bzimage_rejects_ram_below_1_mib(void **state)
{
	static const struct fixture_region ram[] = { { 0, LOAD_GPA, 0 } };
	struct fixture *f = *state;

	use_mem(f, ram, 1);
	assert_rejected(f, -E2BIG);
}

static void test_bzimage_rejects_kernel_reaching_into_mmio_hole(void **state)
{
	struct fixture *f = *state;

	/* 8 GiB of RAM, but the kernel must fit below 3 GiB. */
	use_ram(f, 8 * GiB);
	set32(f, HDR_INIT_SIZE, (uint32_t)(MMIO_HOLE - LOAD_GPA + 1));
	assert_rejected(f, -E2BIG);
}

static void test_bzimage_runs_relocatable_kernel_at_pref_address(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	set64(f, HDR_PREF_ADDRESS, 8 * MiB);
	set32(f, HDR_KERNEL_ALIGNMENT, 2 * MiB);
	assert_loads(f, &out);
	assert_int_equal(out.kernel_gpa, LOAD_GPA);
	assert_int_equal(out.kernel_end, 8 * MiB + INIT_SIZE);
	assert_int_equal(out.ident_end, 8 * MiB + INIT_SIZE);
}

static void test_bzimage_aligns_runtime_start_up(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	set64(f, HDR_PREF_ADDRESS, 0x900000);
	set32(f, HDR_KERNEL_ALIGNMENT, 2 * MiB);
	assert_loads(f, &out);
	assert_int_equal(out.kernel_end, 0xa00000 + INIT_SIZE);
}

static void test_bzimage_aligns_load_address_without_pref(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	/* pref_address below the load address: the load address counts,
	 * aligned up to 2 MiB. */
	set64(f, HDR_PREF_ADDRESS, 0);
	set32(f, HDR_KERNEL_ALIGNMENT, 2 * MiB);
	assert_loads(f, &out);
	assert_int_equal(out.kernel_end, 2 * MiB + INIT_SIZE);
}

static void test_bzimage_rejects_runtime_area_past_low_ram(void **state)
{
	struct fixture *f = *state;

	/* Fits from 1 MiB, not from pref_address. */
	set64(f, HDR_PREF_ADDRESS, MEM_SIZE - INIT_SIZE + 2 * MiB);
	set32(f, HDR_KERNEL_ALIGNMENT, 2 * MiB);
	assert_rejected(f, -E2BIG);
}

static void test_bzimage_rejects_alignment_not_power_of_two(void **state)
{
	struct fixture *f = *state;

	set32(f, HDR_KERNEL_ALIGNMENT, 0x300000);
	assert_rejected(f, -ENOEXEC);
}

static void test_bzimage_rejects_zero_alignment(void **state)
{
	struct fixture *f = *state;

	set32(f, HDR_KERNEL_ALIGNMENT, 0);
	assert_rejected(f, -ENOEXEC);
}

static void test_bzimage_runs_fixed_kernel_at_pref_address(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	/* Not relocatable: pref_address as is; the alignment is unused. */
	set8(f, HDR_RELOCATABLE, 0);
	set64(f, HDR_PREF_ADDRESS, 0x280000);
	set32(f, HDR_KERNEL_ALIGNMENT, 0x300000);
	assert_loads(f, &out);
	assert_int_equal(out.kernel_end, 0x280000 + INIT_SIZE);
}

static void test_bzimage_rejects_fixed_kernel_below_load_address(void **state)
{
	struct fixture *f = *state;

	set8(f, HDR_RELOCATABLE, 0);
	set64(f, HDR_PREF_ADDRESS, 0x8000);
	assert_rejected(f, -ENOEXEC);
}

static void test_bzimage_rejects_pref_address_that_wraps_aligned(void **state)
{
	struct fixture *f = *state;

	set64(f, HDR_PREF_ADDRESS, UINT64_MAX - 0xfff);
	set32(f, HDR_KERNEL_ALIGNMENT, 2 * MiB);
	assert_rejected(f, -E2BIG);
}

static void test_bzimage_rejects_pref_address_that_wraps_with_init(void **state)
{
	struct fixture *f = *state;

	set8(f, HDR_RELOCATABLE, 0);
	set64(f, HDR_PREF_ADDRESS, UINT64_MAX - 0xfff);
	assert_rejected(f, -E2BIG);
}

static void test_bzimage_rejects_memory_not_backing_kernel(void **state)
{
	/* Low RAM ends at 16 MiB, with a gap at [8 MiB, 12 MiB) inside the
	 * kernel's [1 MiB, 11 MiB). */
	static const struct fixture_region ram[] = {
		{ 0, 8 * MiB, 0 },
		{ 12 * MiB, 4 * MiB, 0 },
	};
	struct fixture *f = *state;

	use_mem(f, ram, 2);
	set32(f, HDR_INIT_SIZE, 10 * MiB);
	assert_rejected(f, -EFAULT);
}

static void test_bzimage_rejects_memory_not_backing_initrd(void **state)
{
	/* Low RAM ends with one page after a gap: the initrd at the top of
	 * it runs into the gap. */
	static const struct fixture_region ram[] = {
		{ 0, 8 * MiB, 0 },
		{ MEM_SIZE - PAGE, PAGE, 0 },
	};
	struct fixture *f = *state;

	use_mem(f, ram, 2);
	with_initrd(f, INITRD_SIZE);
	assert_rejected(f, -EFAULT);
}

static void test_bzimage_reports_write_to_read_only_memory(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	assert_int_equal(fixture_ram_create(MEM_SIZE, VMMEM_REGION_READONLY,
					    FIXTURE_NO_FILL, &f->big),
			 0);
	out_init(&out);
	assert_int_equal(load_into(f, f->big, &out), -EACCES);
	assert_out_untouched(&out);
}

/* ---- The command line ---- */

static void test_bzimage_writes_command_line_at_0x20000(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;
	char buf[sizeof(CMDLINE)];

	assert_loads(f, &out);
	assert_int_equal(vmmem_read(f->mem, 0x20000, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, CMDLINE, sizeof(CMDLINE));
	assert_filled(f, 0x20000 + sizeof(CMDLINE), 1);
}

static void test_bzimage_writes_empty_command_line_for_null(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	f->cmdline = NULL;
	assert_loads(f, &out);
	assert_int_equal(out.cmdline_len, 1);
	assert_int_equal(guest(f)[0x20000], 0);
	assert_filled(f, 0x20001, 1);
}

static void test_bzimage_accepts_command_line_of_cmdline_size(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	set32(f, HDR_CMDLINE_SIZE, 16);
	f->cmdline = "0123456789abcdef";
	assert_loads(f, &out);
	assert_int_equal(out.cmdline_len, 17);
	assert_int_equal(guest(f)[0x20000 + 16], 0);
}

static void test_bzimage_rejects_command_line_over_cmdline_size(void **state)
{
	struct fixture *f = *state;

	set32(f, HDR_CMDLINE_SIZE, 16);
	f->cmdline = "0123456789abcdefg";
	assert_rejected(f, -E2BIG);
}

static void test_bzimage_rejects_any_command_line_for_zero_size(void **state)
{
	struct fixture *f = *state;

	set32(f, HDR_CMDLINE_SIZE, 0);
	f->cmdline = "x";
	assert_rejected(f, -E2BIG);
}

static void test_bzimage_accepts_empty_command_line_for_zero_size(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	set32(f, HDR_CMDLINE_SIZE, 0);
	f->cmdline = "";
	assert_loads(f, &out);
}

/* A huge cmdline_size is capped by the VMM's area of BOOT_CMDLINE_MAX
 * bytes, NUL included. */
static void check_capped_command_line(struct fixture *f, size_t len, int err)
{
	char *line = malloc(len + 1);
	struct bzimage_boot out;

	assert_non_null(line);
	memset(line, 'c', len);
	line[len] = '\0';
	set32(f, HDR_CMDLINE_SIZE, UINT32_MAX);
	f->cmdline = line;
	if (err)
		assert_rejected(f, err);
	else
		assert_loads(f, &out);
	free(line);
}

static void test_bzimage_accepts_command_line_filling_boot_area(void **state)
{
	check_capped_command_line(*state, BOOT_CMDLINE_MAX - 1, 0);
}

static void test_bzimage_rejects_command_line_over_boot_area(void **state)
{
	check_capped_command_line(*state, BOOT_CMDLINE_MAX, -E2BIG);
}

/* ---- The zero page ---- */

/* The e820 map of size bytes of RAM as minivmm lays them out, as the tests
 * expect it. */
static unsigned expected_e820(uint64_t size, uint64_t e[4][3])
{
	uint64_t low = size < MMIO_HOLE ? size : MMIO_HOLE;
	unsigned n = 0;

	e[n][0] = 0, e[n][1] = 0x9fc00, e[n++][2] = 1;
	e[n][0] = 0x9fc00, e[n][1] = 0x100000 - 0x9fc00, e[n++][2] = 2;
	e[n][0] = 0x100000, e[n][1] = low - 0x100000, e[n++][2] = 1;
	if (size > MMIO_HOLE)
		e[n][0] = 4 * GiB, e[n][1] = size - MMIO_HOLE, e[n++][2] = 1;
	return n;
}

/* The whole zero page as the boot protocol wants it, built here from the
 * image and the fixture's parameters, for the fixture's own memory. */
static void expected_zero_page(struct fixture *f, uint8_t *zp,
			       uint64_t initrd_gpa)
{
	size_t hdr_end = 0x202 + f->img[0x201];
	uint64_t e[4][3];
	unsigned n, i;
	uint32_t v32;

	memset(zp, 0, 0x1000);
	memcpy(zp + 0x1f1, f->img + 0x1f1, hdr_end - 0x1f1);
	zp[HDR_TYPE_OF_LOADER] = 0xff;
	v32 = 0x20000;
	memcpy(zp + HDR_CMD_LINE_PTR, &v32, 4);
	v32 = (uint32_t)initrd_gpa;
	memcpy(zp + HDR_RAMDISK_IMAGE, &v32, 4);
	v32 = f->has_initrd ? (uint32_t)f->initrd_size : 0;
	memcpy(zp + HDR_RAMDISK_SIZE, &v32, 4);
	memset(zp + HDR_SETUP_DATA, 0, 8);
	memcpy(zp + ZP_ACPI_RSDP, &f->rsdp, 8);
	n = expected_e820(MEM_SIZE, e);
	zp[ZP_E820_ENTRIES] = (uint8_t)n;
	for (i = 0; i < n; i++) {
		memcpy(zp + ZP_E820_TABLE + i * 20, &e[i][0], 8);
		memcpy(zp + ZP_E820_TABLE + i * 20 + 8, &e[i][1], 8);
		v32 = (uint32_t)e[i][2];
		memcpy(zp + ZP_E820_TABLE + i * 20 + 16, &v32, 4);
	}
}

static void test_bzimage_zero_page_matches_byte_for_byte(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000], want[0x1000];
	struct bzimage_boot out;

	with_initrd(f, INITRD_SIZE);
	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	expected_zero_page(f, want, out.initrd_gpa);
	assert_memory_equal(zp, want, sizeof(zp));
}

static void test_bzimage_zero_page_keeps_sentinel_zero(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;

	assert_int_equal(f->img[ZP_SENTINEL], 0xff);
	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	assert_int_equal(zp[ZP_SENTINEL], 0);
}

static void test_bzimage_zero_page_copies_nothing_before_header(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;
	size_t i;

	f->rsdp = 0;
	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	for (i = 0; i < 0x1f1; i++)
		if (i != ZP_E820_ENTRIES && zp[i] != 0)
			fail_msg("zero page byte %#zx is %#x", i, zp[i]);
}

static void test_bzimage_zero_page_copies_nothing_after_header(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;
	size_t i;

	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	/* The image has hdr_byte() up to 0x290 and JUNK after it. */
	for (i = HDR_END; i < ZP_E820_TABLE; i++)
		if (zp[i] != 0)
			fail_msg("zero page byte %#zx is %#x", i, zp[i]);
	for (i = ZP_E820_TABLE + 3 * 20; i < 0x1000; i++)
		if (zp[i] != 0)
			fail_msg("zero page byte %#zx is %#x", i, zp[i]);
}

static void test_bzimage_zero_page_header_length_follows_jump(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;

	/* A 2.12 header ends at 0x268: 0x268..0x26c are not copied. */
	set16(f, HDR_VERSION, 0x020c);
	set8(f, HDR_JUMP + 1, 0x268 - 0x202);
	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	assert_memory_equal(zp + HDR_INIT_SIZE, f->img + HDR_INIT_SIZE, 8);
	assert_int_equal(rd32(zp, 0x268), 0);
}

static void test_bzimage_zero_page_copies_longest_header(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;

	set8(f, HDR_JUMP + 1, 0x290 - 0x202);
	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	assert_memory_equal(zp + HDR_END, f->img + HDR_END, 0x290 - HDR_END);
	assert_int_equal(zp[0x290], 0);
}

static void test_bzimage_zero_page_copies_setup_header(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;
	size_t i;

	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	for (i = 0x1f1; i < HDR_END; i++) {
		/* The fields a boot loader writes. */
		if (loader_field(i))
			continue;
		if (zp[i] != f->img[i])
			fail_msg("zero page byte %#zx is %#x, image has %#x", i,
				 zp[i], f->img[i]);
	}
	assert_memory_equal(zp + HDR_MAGIC, "HdrS", 4);
	assert_int_equal(rd16(zp, HDR_VERSION), 0x020f);
	assert_int_equal(zp[HDR_LOADFLAGS], 0x01);
	assert_int_equal(rd32(zp, HDR_INIT_SIZE), INIT_SIZE);
	assert_int_equal(rd16(zp, HDR_XLOADFLAGS), 0x0001);
}

static void test_bzimage_zero_page_sets_type_of_loader(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;

	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	assert_int_equal(zp[HDR_TYPE_OF_LOADER], 0xff);
}

static void test_bzimage_zero_page_points_to_command_line(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;

	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	assert_int_equal(rd32(zp, HDR_CMD_LINE_PTR), 0x20000);
	assert_int_equal(rd32(zp, ZP_EXT_CMD_LINE_PTR), 0);
}

static void test_bzimage_zero_page_sets_acpi_rsdp_addr(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;

	f->rsdp = 0xe0010;
	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	assert_int_equal(rd64(zp, ZP_ACPI_RSDP), 0xe0010);
}

static void test_bzimage_zero_page_leaves_rsdp_zero_without_acpi(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;

	f->rsdp = 0;
	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	assert_int_equal(rd64(zp, ZP_ACPI_RSDP), 0);
}

static void test_bzimage_zero_page_clears_setup_data(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;

	/* A setup_data pointer in the file would send the kernel to read a
	 * list the VMM never wrote. */
	set64(f, HDR_SETUP_DATA, 0x9000);
	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	assert_int_equal(rd64(zp, HDR_SETUP_DATA), 0);
}

static void test_bzimage_zero_page_describes_initrd(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;

	with_initrd(f, INITRD_SIZE);
	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	assert_int_equal(rd32(zp, HDR_RAMDISK_IMAGE), out.initrd_gpa);
	assert_int_equal(rd32(zp, HDR_RAMDISK_SIZE), INITRD_SIZE);
	assert_int_equal(rd32(zp, ZP_EXT_RAMDISK_IMAGE), 0);
	assert_int_equal(rd32(zp, ZP_EXT_RAMDISK_SIZE), 0);
}

static void test_bzimage_zero_page_clears_ramdisk_without_initrd(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;

	/* The image's header has non-zero ramdisk fields. */
	assert_int_not_equal(rd32(f->img, HDR_RAMDISK_IMAGE), 0);
	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	assert_int_equal(rd32(zp, HDR_RAMDISK_IMAGE), 0);
	assert_int_equal(rd32(zp, HDR_RAMDISK_SIZE), 0);
	assert_int_equal(out.initrd_gpa, 0);
	assert_int_equal(out.initrd_len, 0);
}

/* ---- The e820 map ---- */

static void test_bzimage_e820_for_16_mib(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;

	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	assert_int_equal(zp[ZP_E820_ENTRIES], 3);
	assert_e820(zp, 0, 0, 0x9fc00, 1);
	assert_e820(zp, 1, 0x9fc00, 0x100000 - 0x9fc00, 2);
	assert_e820(zp, 2, 0x100000, MEM_SIZE - 0x100000, 1);
}

static void test_bzimage_e820_for_exactly_3_gib(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;
	int rc;

	rc = fixture_ram_create(3 * GiB, 0, FIXTURE_NO_FILL, &f->big);
	FIXTURE_SKIP_IF_TOO_BIG(rc, 3 * GiB);
	assert_int_equal(rc, 0);
	assert_int_equal(load_into(f, f->big, &out), 0);
	read_zero_page(f->big, zp);
	assert_int_equal(zp[ZP_E820_ENTRIES], 3);
	assert_e820(zp, 2, 0x100000, 3 * GiB - 0x100000, 1);
	assert_e820(zp, 3, 0, 0, 0);
}

static void test_bzimage_e820_lists_ram_above_4_gib(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;
	int rc;

	rc = fixture_ram_create(3 * GiB + PAGE, 0, FIXTURE_NO_FILL, &f->big);
	FIXTURE_SKIP_IF_TOO_BIG(rc, 3 * GiB + PAGE);
	assert_int_equal(rc, 0);
	assert_int_equal(load_into(f, f->big, &out), 0);
	read_zero_page(f->big, zp);
	assert_int_equal(zp[ZP_E820_ENTRIES], 4);
	assert_e820(zp, 2, 0x100000, 3 * GiB - 0x100000, 1);
	assert_e820(zp, 3, 4 * GiB, PAGE, 1);
}

static void test_bzimage_e820_follows_a_gap_in_memory(void **state)
{
	static const struct fixture_region ram[] = {
		{ 0, MEM_SIZE, 0 },
		{ 2 * MEM_SIZE, MEM_SIZE, 0 },
	};
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;

	use_mem(f, ram, 2);
	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	assert_int_equal(zp[ZP_E820_ENTRIES], 4);
	assert_e820(zp, 2, 0x100000, MEM_SIZE - 0x100000, 1);
	assert_e820(zp, 3, 2 * MEM_SIZE, MEM_SIZE, 1);
}

/*
 * Replace the fixture's memory with [0, MEM_SIZE) of FILL and pages single
 * pages above it, apart from one another: a memory map of 3 + pages e820
 * entries.
 */
static void use_scattered_pages(struct fixture *f, unsigned pages)
{
	struct vmmem_range ram[1 + 126];
	unsigned i;

	assert_true(pages < sizeof(ram) / sizeof(ram[0]));
	ram[0] = (struct vmmem_range){ 0, MEM_SIZE };
	for (i = 1; i <= pages; i++)
		ram[i] = (struct vmmem_range){ 2 * MEM_SIZE + 2 * i * PAGE,
					       PAGE };
	vmmem_destroy(f->mem);
	f->mem = NULL;
	assert_int_equal(vmmem_create_anon(ram, 1 + pages, 0, &f->mem), 0);
	assert_int_equal(vmmem_fill(f->mem, 0, FILL, MEM_SIZE), 0);
}

static void test_bzimage_accepts_memory_map_filling_e820_table(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000];
	struct bzimage_boot out;

	/* The zero page holds 128 entries. */
	use_scattered_pages(f, 125);
	assert_loads(f, &out);
	read_zero_page(f->mem, zp);
	assert_int_equal(zp[ZP_E820_ENTRIES], 128);
	assert_e820(zp, 127, 2 * MEM_SIZE + 2 * 125 * PAGE, PAGE, 1);
}

static void test_bzimage_rejects_memory_map_longer_than_e820_table(void **state)
{
	struct fixture *f = *state;

	use_scattered_pages(f, 126);
	assert_rejected(f, -E2BIG);
}

/*
 * 5 GiB laid out as minivmm lays it out: [0, 3 GiB) and [4 GiB, 6 GiB),
 * anonymous memory reserved lazily (MAP_NORESERVE), so only the pages the
 * loader writes cost anything. The initrd goes below the hole, at the
 * highest page that fits.
 */
static void test_bzimage_places_initrd_below_hole_with_5_gib(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000], *initrd = malloc(INITRD_SIZE);
	struct bzimage_boot out;
	size_t i;
	int rc;

	assert_non_null(initrd);
	rc = fixture_ram_create(5 * GiB, 0, FIXTURE_NO_FILL, &f->big);
	if (fixture_too_big(rc, 5 * GiB))
		free(initrd);
	FIXTURE_SKIP_IF_TOO_BIG(rc, 5 * GiB);
	assert_int_equal(rc, 0);
	/* initrd_addr_max allows all of 4 GiB: the hole is the limit. */
	set32(f, HDR_INITRD_ADDR_MAX, UINT32_MAX);
	with_initrd(f, INITRD_SIZE);
	assert_int_equal(load_into(f, f->big, &out), 0);
	assert_int_equal(out.initrd_gpa, 3 * GiB - 0x2000);
	assert_int_equal(
		vmmem_read(f->big, out.initrd_gpa, initrd, INITRD_SIZE), 0);
	for (i = 0; i < INITRD_SIZE; i++)
		assert_int_equal(initrd[i], initrd_byte(i));
	free(initrd);

	read_zero_page(f->big, zp);
	assert_int_equal(zp[ZP_E820_ENTRIES], 4);
	assert_e820(zp, 0, 0, 0x9fc00, 1);
	assert_e820(zp, 1, 0x9fc00, 0x100000 - 0x9fc00, 2);
	assert_e820(zp, 2, 0x100000, 3 * GiB - 0x100000, 1);
	assert_e820(zp, 3, 4 * GiB, 2 * GiB, 1);
	assert_int_equal(rd32(zp, HDR_RAMDISK_IMAGE), 3 * GiB - 0x2000);
}

/* ---- Initrd placement ---- */

static void test_bzimage_places_initrd_at_highest_page(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	with_initrd(f, INITRD_SIZE);
	assert_loads(f, &out);
	/* 0x1801 bytes round to the page boundary 0x2000 below the end. */
	assert_int_equal(out.initrd_gpa, MEM_SIZE - 0x2000);
	assert_int_equal(out.initrd_gpa % PAGE, 0);
	assert_initrd_at(f, out.initrd_gpa, INITRD_SIZE);
	assert_filled(f, out.initrd_gpa + INITRD_SIZE,
		      MEM_SIZE - out.initrd_gpa - INITRD_SIZE);
	assert_filled(f, KERNEL_END, out.initrd_gpa - KERNEL_END);
}

static void test_bzimage_places_page_sized_initrd_at_last_page(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	with_initrd(f, PAGE);
	assert_loads(f, &out);
	assert_int_equal(out.initrd_gpa, MEM_SIZE - PAGE);
	assert_initrd_at(f, MEM_SIZE - PAGE, PAGE);
}

static void test_bzimage_places_initrd_below_initrd_addr_max(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	set32(f, HDR_INITRD_ADDR_MAX, 0x9fffff);
	with_initrd(f, INITRD_SIZE);
	assert_loads(f, &out);
	assert_int_equal(out.initrd_gpa, 0xa00000 - 0x2000);
	assert_true(out.initrd_gpa + INITRD_SIZE - 1 <= 0x9fffff);
	assert_initrd_at(f, out.initrd_gpa, INITRD_SIZE);
}

static void test_bzimage_uses_initrd_addr_max_as_last_byte(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	/* The last byte may sit at initrd_addr_max itself. */
	set32(f, HDR_INITRD_ADDR_MAX, 0x9ff7ff);
	with_initrd(f, 0x800);
	assert_loads(f, &out);
	assert_int_equal(out.initrd_gpa, 0x9ff000);
	assert_int_equal(out.initrd_gpa + 0x800 - 1, 0x9ff7ff);
}

static void test_bzimage_places_initrd_right_after_kernel(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	with_initrd(f, MEM_SIZE - KERNEL_END);
	assert_loads(f, &out);
	assert_int_equal(out.initrd_gpa, KERNEL_END);
	assert_initrd_at(f, KERNEL_END, MEM_SIZE - KERNEL_END);
	assert_payload(f, LOAD_GPA, SETUP_LEN, PAYLOAD_LEN);
}

static void test_bzimage_rejects_initrd_one_byte_too_big(void **state)
{
	struct fixture *f = *state;

	with_initrd(f, MEM_SIZE - KERNEL_END + 1);
	assert_rejected(f, -E2BIG);
}

static void test_bzimage_keeps_initrd_off_unaligned_kernel_end(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	/* The kernel claims one byte of the page at 5 MiB: the initrd must
	 * start at the next page. */
	set32(f, HDR_INIT_SIZE, INIT_SIZE + 1);
	with_initrd(f, MEM_SIZE - KERNEL_END - PAGE);
	assert_loads(f, &out);
	assert_int_equal(out.initrd_gpa, KERNEL_END + PAGE);
	assert_true(out.initrd_gpa >= out.kernel_end);
}

static void test_bzimage_rejects_initrd_overlapping_kernel_end(void **state)
{
	struct fixture *f = *state;

	set32(f, HDR_INIT_SIZE, INIT_SIZE + 1);
	with_initrd(f, MEM_SIZE - KERNEL_END - PAGE + 1);
	assert_rejected(f, -E2BIG);
}

static void test_bzimage_rejects_initrd_above_initrd_addr_max(void **state)
{
	struct fixture *f = *state;

	/* One page fits between the kernel and initrd_addr_max; one byte
	 * more does not. */
	set32(f, HDR_INITRD_ADDR_MAX, KERNEL_END + PAGE - 1);
	with_initrd(f, PAGE + 1);
	assert_rejected(f, -E2BIG);
}

static void test_bzimage_accepts_initrd_filling_up_to_addr_max(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	set32(f, HDR_INITRD_ADDR_MAX, KERNEL_END + PAGE - 1);
	with_initrd(f, PAGE);
	assert_loads(f, &out);
	assert_int_equal(out.initrd_gpa, KERNEL_END);
}

static void test_bzimage_rejects_initrd_addr_max_below_kernel(void **state)
{
	struct fixture *f = *state;

	set32(f, HDR_INITRD_ADDR_MAX, 0);
	with_initrd(f, 1);
	assert_rejected(f, -E2BIG);
}

static void test_bzimage_rejects_initrd_larger_than_ram(void **state)
{
	struct fixture *f = *state;

	with_initrd(f, MEM_SIZE + 1);
	assert_rejected(f, -E2BIG);
}

static void test_bzimage_rejects_empty_initrd(void **state)
{
	struct fixture *f = *state;

	with_initrd(f, 0);
	assert_rejected(f, -EINVAL);
}

static void test_bzimage_relocated_kernel_keeps_initrd_above(void **state)
{
	struct fixture *f = *state;

	/* Runtime area [8 MiB, 12 MiB + 1): 4 MiB of RAM above it is too
	 * little for a 4 MiB initrd, whatever lies free below it. */
	set64(f, HDR_PREF_ADDRESS, 8 * MiB);
	set32(f, HDR_KERNEL_ALIGNMENT, 2 * MiB);
	set32(f, HDR_INIT_SIZE, INIT_SIZE + 1);
	with_initrd(f, 4 * MiB);
	assert_rejected(f, -E2BIG);
}

/* ---- From files ---- */

static void write_temp(char *path, const void *data, size_t len)
{
	int fd;

	strcpy(path, "/tmp/test_bzimage.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void write_files(struct fixture *f)
{
	write_temp(f->kpath, f->img, f->size);
	if (f->has_initrd) {
		void *initrd = initrd_copy(f->initrd_size);

		write_temp(f->ipath, initrd, f->initrd_size);
		free(initrd);
	}
}

static int load_files(struct fixture *f, struct bzimage_boot *out)
{
	return bzimage_load(f->mem, f->kpath, f->ipath[0] ? f->ipath : NULL,
			    f->cmdline, f->rsdp, out);
}

static void test_bzimage_loads_from_files(void **state)
{
	struct fixture *f = *state;
	uint8_t zp[0x1000], want[0x1000];
	struct bzimage_boot out;

	with_initrd(f, INITRD_SIZE);
	write_files(f);
	assert_int_equal(load_files(f, &out), 0);
	assert_int_equal(out.entry, 0x100200);
	assert_int_equal(out.initrd_gpa, MEM_SIZE - 0x2000);
	assert_payload(f, LOAD_GPA, SETUP_LEN, PAYLOAD_LEN);
	assert_initrd_at(f, out.initrd_gpa, INITRD_SIZE);
	read_zero_page(f->mem, zp);
	expected_zero_page(f, want, out.initrd_gpa);
	assert_memory_equal(zp, want, sizeof(zp));
}

static void test_bzimage_loads_file_without_initrd(void **state)
{
	struct fixture *f = *state;
	struct bzimage_boot out;

	write_files(f);
	assert_int_equal(load_files(f, &out), 0);
	assert_int_equal(out.initrd_len, 0);
	assert_filled(f, KERNEL_END, MEM_SIZE - KERNEL_END);
}

static void assert_file_rejected(struct fixture *f, int err)
{
	struct bzimage_boot out;

	out_init(&out);
	assert_int_equal(load_files(f, &out), err);
	assert_out_untouched(&out);
	assert_filled(f, 0, MEM_SIZE);
}

static void test_bzimage_rejects_missing_kernel_file(void **state)
{
	struct fixture *f = *state;

	strcpy(f->kpath, "/nonexistent/bzImage");
	assert_file_rejected(f, -ENOENT);
	f->kpath[0] = '\0';
}

static void test_bzimage_rejects_missing_initrd_file(void **state)
{
	struct fixture *f = *state;

	write_files(f);
	strcpy(f->ipath, "/nonexistent/initrd");
	assert_file_rejected(f, -ENOENT);
	f->ipath[0] = '\0';
}

static void test_bzimage_rejects_kernel_path_to_directory(void **state)
{
	struct fixture *f = *state;

	strcpy(f->kpath, "/");
	assert_file_rejected(f, -EINVAL);
	f->kpath[0] = '\0';
}

static void test_bzimage_rejects_empty_kernel_file(void **state)
{
	struct fixture *f = *state;

	f->size = 0;
	write_files(f);
	assert_file_rejected(f, -ENOEXEC);
}

static void test_bzimage_rejects_empty_initrd_file(void **state)
{
	struct fixture *f = *state;

	with_initrd(f, 0);
	write_files(f);
	assert_file_rejected(f, -EINVAL);
}

static void test_bzimage_rejects_kernel_file_larger_than_ram(void **state)
{
	struct fixture *f = *state;

	/* A sparse file one byte longer than low RAM: refused before it is
	 * read. */
	write_files(f);
	assert_int_equal(truncate(f->kpath, MEM_SIZE + 1), 0);
	assert_file_rejected(f, -E2BIG);
	assert_int_equal(sysmock_calls(SYSMOCK_MALLOC), 0);
}

static void test_bzimage_rejects_initrd_file_larger_than_ram(void **state)
{
	struct fixture *f = *state;

	with_initrd(f, 1);
	write_files(f);
	assert_int_equal(truncate(f->ipath, MEM_SIZE + 1), 0);
	assert_file_rejected(f, -E2BIG);
}

static void test_bzimage_reports_out_of_memory_for_kernel(void **state)
{
	struct fixture *f = *state;

	write_files(f);
	sysmock_fail(SYSMOCK_MALLOC, 0, ENOMEM);
	assert_file_rejected(f, -ENOMEM);
	assert_true(sysmock_done());
}

static void test_bzimage_reports_out_of_memory_for_initrd(void **state)
{
	struct fixture *f = *state;

	with_initrd(f, INITRD_SIZE);
	write_files(f);
	sysmock_fail(SYSMOCK_MALLOC, 1, ENOMEM);
	assert_file_rejected(f, -ENOMEM);
	assert_true(sysmock_done());
}

/* ---- A real kernel, when one is at hand ---- */

/* Installed kernels and the one the Xen test unpacks; never downloaded. */
static const char *const real_kernels[] = {
	"/boot/vmlinuz-*",
	"build/*/boot/vmlinuz*",
	"build/*/cache/vmlinuz*",
};

static bool find_real_kernel(char *path, size_t len)
{
	bool found = false;
	size_t i, j;

	for (i = 0; i < sizeof(real_kernels) / sizeof(real_kernels[0]); i++) {
		glob_t g;

		if (glob(real_kernels[i], 0, NULL, &g))
			continue;
		for (j = 0; j < g.gl_pathc && !found; j++) {
			if (access(g.gl_pathv[j], R_OK))
				continue;
			snprintf(path, len, "%s", g.gl_pathv[j]);
			found = true;
		}
		globfree(&g);
		if (found)
			break;
	}
	return found;
}

static void test_bzimage_loads_real_debian_kernel(void **state)
{
	struct fixture *f = *state;
	uint8_t hdr[0x300], zp[0x1000];
	char path[256];
	struct bzimage_boot out;
	struct stat st;
	size_t hdr_end, i;
	unsigned sects;
	FILE *fp;

	if (!find_real_kernel(path, sizeof(path))) {
		print_message("no kernel in /boot or build/*/{boot,cache}: "
			      "skipping\n");
		skip();
	}
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(hdr, 1, sizeof(hdr), fp), sizeof(hdr));
	fclose(fp);
	assert_int_equal(stat(path, &st), 0);
	if (memcmp(hdr + HDR_MAGIC, "HdrS", 4) ||
	    rd16(hdr, HDR_VERSION) < 0x020c ||
	    !(rd16(hdr, HDR_XLOADFLAGS) & 1)) {
		print_message("%s: no 64-bit boot protocol: skipping\n", path);
		skip();
	}
	print_message("parsing %s\n", path);

	/* 256 MiB, reserved lazily: only the loaded bytes cost memory. */
	assert_int_equal(
		fixture_ram_create(256 * MiB, 0, FIXTURE_NO_FILL, &f->big), 0);
	assert_int_equal(bzimage_load(f->big, path, NULL, CMDLINE, RSDP, &out),
			 0);
	sects = hdr[HDR_SETUP_SECTS] ? hdr[HDR_SETUP_SECTS] : 4;
	assert_int_equal(out.entry, 0x100200);
	assert_int_equal(out.version, rd16(hdr, HDR_VERSION));
	assert_int_equal(out.kernel_len, st.st_size - (sects + 1) * 512);
	assert_true(out.kernel_end >= LOAD_GPA + rd32(hdr, HDR_INIT_SIZE));
	assert_true(out.ident_end <= 1 * GiB);

	read_zero_page(f->big, zp);
	assert_int_equal(hdr[ZP_SENTINEL], 0xff);
	assert_int_equal(zp[ZP_SENTINEL], 0);
	assert_int_equal(zp[HDR_TYPE_OF_LOADER], 0xff);
	assert_int_equal(rd32(zp, HDR_CMD_LINE_PTR), 0x20000);
	assert_int_equal(rd64(zp, ZP_ACPI_RSDP), RSDP);
	hdr_end = 0x202 + hdr[0x201];
	for (i = 0x1f1; i < hdr_end; i++)
		if (!loader_field(i))
			assert_int_equal(zp[i], hdr[i]);
	for (i = hdr_end; i < ZP_E820_TABLE; i++)
		assert_int_equal(zp[i], 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_bzimage_rejects_empty_buffer),
		T(test_bzimage_rejects_buffer_ending_inside_signature),
		T(test_bzimage_rejects_buffer_ending_inside_version),
		T(test_bzimage_rejects_missing_hdrs_signature),
		T(test_bzimage_rejects_elf_file),
		T(test_bzimage_rejects_header_past_end_of_file),
		T(test_bzimage_rejects_protocol_older_than_2_12),
		T(test_bzimage_rejects_old_protocol_with_short_header),
		T(test_bzimage_rejects_header_too_short_for_2_12),
		T(test_bzimage_rejects_header_longer_than_boot_params_has),
		T(test_bzimage_rejects_largest_jump_displacement),
		T(test_bzimage_rejects_kernel_without_64_bit_entry),
		T(test_bzimage_rejects_zimage_not_loaded_high),
		T(test_bzimage_rejects_setup_sectors_past_end_of_file),
		T(test_bzimage_rejects_image_without_kernel_part),
		T(test_bzimage_accepts_protocol_2_12),
		T(test_bzimage_returns_64_bit_entry_and_zero_page),
		T(test_bzimage_returns_loaded_ranges),
		T(test_bzimage_loads_protected_mode_part_at_1_mib),
		T(test_bzimage_treats_zero_setup_sectors_as_four),
		T(test_bzimage_loads_kernel_after_setup_sectors),
		T(test_bzimage_accepts_one_byte_kernel),
		T(test_bzimage_rejects_init_size_past_low_ram),
		T(test_bzimage_accepts_init_size_ending_at_low_ram_end),
		T(test_bzimage_rejects_image_longer_than_low_ram),
		T(test_bzimage_reserves_image_when_init_size_is_smaller),
		T(test_bzimage_rejects_ram_below_1_mib),
		T(test_bzimage_rejects_kernel_reaching_into_mmio_hole),
		T(test_bzimage_runs_relocatable_kernel_at_pref_address),
		T(test_bzimage_aligns_runtime_start_up),
		T(test_bzimage_aligns_load_address_without_pref),
		T(test_bzimage_rejects_runtime_area_past_low_ram),
		T(test_bzimage_rejects_alignment_not_power_of_two),
		T(test_bzimage_rejects_zero_alignment),
		T(test_bzimage_runs_fixed_kernel_at_pref_address),
		T(test_bzimage_rejects_fixed_kernel_below_load_address),
		T(test_bzimage_rejects_pref_address_that_wraps_aligned),
		T(test_bzimage_rejects_pref_address_that_wraps_with_init),
		T(test_bzimage_rejects_memory_not_backing_kernel),
		T(test_bzimage_rejects_memory_not_backing_initrd),
		T(test_bzimage_reports_write_to_read_only_memory),
		T(test_bzimage_writes_command_line_at_0x20000),
		T(test_bzimage_writes_empty_command_line_for_null),
		T(test_bzimage_accepts_command_line_of_cmdline_size),
		T(test_bzimage_rejects_command_line_over_cmdline_size),
		T(test_bzimage_rejects_any_command_line_for_zero_size),
		T(test_bzimage_accepts_empty_command_line_for_zero_size),
		T(test_bzimage_accepts_command_line_filling_boot_area),
		T(test_bzimage_rejects_command_line_over_boot_area),
		T(test_bzimage_zero_page_matches_byte_for_byte),
		T(test_bzimage_zero_page_keeps_sentinel_zero),
		T(test_bzimage_zero_page_copies_nothing_before_header),
		T(test_bzimage_zero_page_copies_nothing_after_header),
		T(test_bzimage_zero_page_header_length_follows_jump),
		T(test_bzimage_zero_page_copies_longest_header),
		T(test_bzimage_zero_page_copies_setup_header),
		T(test_bzimage_zero_page_sets_type_of_loader),
		T(test_bzimage_zero_page_points_to_command_line),
		T(test_bzimage_zero_page_sets_acpi_rsdp_addr),
		T(test_bzimage_zero_page_leaves_rsdp_zero_without_acpi),
		T(test_bzimage_zero_page_clears_setup_data),
		T(test_bzimage_zero_page_describes_initrd),
		T(test_bzimage_zero_page_clears_ramdisk_without_initrd),
		T(test_bzimage_e820_for_16_mib),
		T(test_bzimage_e820_for_exactly_3_gib),
		T(test_bzimage_e820_lists_ram_above_4_gib),
		T(test_bzimage_e820_follows_a_gap_in_memory),
		T(test_bzimage_accepts_memory_map_filling_e820_table),
		T(test_bzimage_rejects_memory_map_longer_than_e820_table),
		T(test_bzimage_places_initrd_below_hole_with_5_gib),
		T(test_bzimage_places_initrd_at_highest_page),
		T(test_bzimage_places_page_sized_initrd_at_last_page),
		T(test_bzimage_places_initrd_below_initrd_addr_max),
		T(test_bzimage_uses_initrd_addr_max_as_last_byte),
		T(test_bzimage_places_initrd_right_after_kernel),
		T(test_bzimage_rejects_initrd_one_byte_too_big),
		T(test_bzimage_keeps_initrd_off_unaligned_kernel_end),
		T(test_bzimage_rejects_initrd_overlapping_kernel_end),
		T(test_bzimage_rejects_initrd_above_initrd_addr_max),
		T(test_bzimage_accepts_initrd_filling_up_to_addr_max),
		T(test_bzimage_rejects_initrd_addr_max_below_kernel),
		T(test_bzimage_rejects_initrd_larger_than_ram),
		T(test_bzimage_rejects_empty_initrd),
		T(test_bzimage_relocated_kernel_keeps_initrd_above),
		T(test_bzimage_loads_from_files),
		T(test_bzimage_loads_file_without_initrd),
		T(test_bzimage_rejects_missing_kernel_file),
		T(test_bzimage_rejects_missing_initrd_file),
		T(test_bzimage_rejects_kernel_path_to_directory),
		T(test_bzimage_rejects_empty_kernel_file),
		T(test_bzimage_rejects_empty_initrd_file),
		T(test_bzimage_rejects_kernel_file_larger_than_ram),
		T(test_bzimage_rejects_initrd_file_larger_than_ram),
		T(test_bzimage_reports_out_of_memory_for_kernel),
		T(test_bzimage_reports_out_of_memory_for_initrd),
		T(test_bzimage_loads_real_debian_kernel),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
