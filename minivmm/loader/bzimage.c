/* SPDX-License-Identifier: MIT */
/*
 * loader/bzimage.c - Linux bzImage loader for the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst in the kernel tree). Both the kernel and
 * the initrd are untrusted input: every header field is checked against the
 * file, the zero page and low RAM, and every guest range against guest
 * memory, before anything is written.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/memory.h>

#include "../util.h"
#include "../x86/boot.h"
#include "bzimage.h"
#include "file.h"

/*
 * Offsets in the bzImage file, which are also the offsets in the zero page
 * (struct boot_params embeds the setup header at the same place).
 */
#define HDR_START 0x1f1		   /* first byte of the setup header */
#define HDR_SETUP_SECTS 0x1f1	   /* u8: 512-byte setup sectors; 0 means 4 */
#define HDR_JUMP_OFF 0x201	   /* u8: the header ends at 0x202 + this */
#define HDR_MAGIC 0x202		   /* "HdrS" */
#define HDR_VERSION 0x206	   /* u16: boot protocol version */
#define HDR_TYPE_OF_LOADER 0x210   /* u8 */
#define HDR_LOADFLAGS 0x211	   /* u8 */
#define HDR_RAMDISK_IMAGE 0x218	   /* u32 */
#define HDR_RAMDISK_SIZE 0x21c	   /* u32 */
#define HDR_CMD_LINE_PTR 0x228	   /* u32 */
#define HDR_INITRD_ADDR_MAX 0x22c  /* u32: highest byte the initrd may use */
#define HDR_KERNEL_ALIGNMENT 0x230 /* u32 */
#define HDR_RELOCATABLE 0x234	   /* u8 */
#define HDR_XLOADFLAGS 0x236	   /* u16 */
#define HDR_CMDLINE_SIZE 0x238	   /* u32: command line bytes without the NUL */
#define HDR_SETUP_DATA 0x250	   /* u64: GPA of a setup_data list, or 0 */
#define HDR_PREF_ADDRESS 0x258	   /* u64 */
#define HDR_INIT_SIZE 0x260	   /* u32 */
/* A 2.12 header ends after handover_offset; every field above is in it. */
#define HDR_MIN_END 0x268
/* struct boot_params reserves the header up to 0x290 (edd_mbr_sig_buffer
 * follows), so a longer header cannot be a real one. */
#define HDR_MAX_END 0x290

/* Fields of struct boot_params outside the setup header. */
#define ZP_SIZE 0x1000
#define ZP_ACPI_RSDP_ADDR 0x070 /* u64, protocol 2.14 */
#define ZP_E820_ENTRIES 0x1e8	/* u8 */
#define ZP_E820_TABLE 0x2d0	/* 20-byte entries {u64 addr, size; u32 type} */
#define ZP_E820_MAX 128		/* entries in the table */
#define E820_ENTRY_SIZE 20

#define HDR_SIGNATURE "HdrS"
#define LOADED_HIGH 0x01      /* loadflags: protected mode part at 1 MiB */
#define XLF_KERNEL_64 0x0001  /* xloadflags: 64-bit entry at +0x200 */
#define LOADER_UNDEFINED 0xff /* type_of_loader: no assigned id */
#define SECTOR 512u
#define PAGE 0x1000ull

/* The zero page is built in a host buffer and written in one piece. Host
 * and guest are both x86, so fields are stored in host (little) order. */
static uint8_t get8(const uint8_t *p, size_t off)
{
	return p[off];
}

static uint16_t get16(const uint8_t *p, size_t off)
{
	uint16_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint32_t get32(const uint8_t *p, size_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

/* What the checks decide, before anything is written. */
struct plan {
	size_t hdr_end;	  /* the setup header is [HDR_START, hdr_end) */
	size_t setup_len; /* real-mode part: (setup_sects + 1) * 512 */
	uint64_t kernel_len;
	uint64_t kernel_end;
	uint64_t initrd_gpa;
	size_t cmdline_len; /* with the NUL */
	struct boot_e820_entry e820[ZP_E820_MAX];
	unsigned nr_e820;
};

/* Check the setup header; fill hdr_end, setup_len and kernel_len. */
static int check_header(const uint8_t *k, size_t size, const char *name,
			struct plan *p)
{
	unsigned sects, version;

	if (size < HDR_VERSION + 2 || memcmp(k + HDR_MAGIC, HDR_SIGNATURE, 4)) {
		pr_err("%s: not a bzImage (no \"HdrS\" at %#x)", name,
		       HDR_MAGIC);
		return -ENOEXEC;
	}
	/* byte 0x201 is the displacement of the short jump over the header,
	 * hence its length; only these bytes go into the zero page. */
	p->hdr_end = HDR_MAGIC + get8(k, HDR_JUMP_OFF);
	if (p->hdr_end > size) {
		pr_err("%s: setup header ends at %#zx, past the end of the "
		       "file",
		       name, p->hdr_end);
		return -ENOEXEC;
	}
	/* An old header may be too short to hold the fields checked below,
	 * so the version comes first, read from the part that must exist. */
	version = get16(k, HDR_VERSION);
	if (version < BZIMAGE_MIN_VERSION) {
		pr_err("%s: boot protocol %u.%02u is too old (the 64-bit entry "
		       "needs %u.%02u)",
		       name, version >> 8, version & 0xff,
		       BZIMAGE_MIN_VERSION >> 8, BZIMAGE_MIN_VERSION & 0xff);
		return -ENOTSUP;
	}
	if (p->hdr_end < HDR_MIN_END || p->hdr_end > HDR_MAX_END) {
		pr_err("%s: setup header length %#zx is malformed for boot "
		       "protocol %u.%02u",
		       name, p->hdr_end - HDR_START, version >> 8,
		       version & 0xff);
		return -ENOEXEC;
	}
	if (!(get16(k, HDR_XLOADFLAGS) & XLF_KERNEL_64)) {
		pr_err("%s: kernel has no 64-bit entry point (XLF_KERNEL_64 "
		       "is clear)",
		       name);
		return -ENOTSUP;
	}
	if (!(get8(k, HDR_LOADFLAGS) & LOADED_HIGH)) {
		pr_err("%s: not a bzImage (LOADED_HIGH is clear)", name);
		return -ENOEXEC;
	}
	sects = get8(k, HDR_SETUP_SECTS);
	if (sects == 0)
		sects = 4;
	/* At most 256 sectors: no overflow on any size_t. */
	p->setup_len = (size_t)(sects + 1) * SECTOR;
	if (p->setup_len >= size) {
		pr_err("%s: no kernel after the %u setup sectors (file is %zu "
		       "bytes)",
		       name, sects, size);
		return -ENOEXEC;
	}
	p->kernel_len = size - p->setup_len;
	return 0;
}

/*
 * Find the end of the memory the kernel uses from BZIMAGE_LOAD_GPA on: the
 * image itself, and init_size bytes from its runtime start, which boot.rst
 * defines as pref_address for a fixed kernel and, for a relocatable one,
 * the load address raised to pref_address and aligned up to
 * kernel_alignment. All values come from the file: checked arithmetic.
 */
static int kernel_footprint(const uint8_t *k, const char *name,
			    uint64_t low_end, struct plan *p)
{
	uint64_t pref = get64(k, HDR_PREF_ADDRESS);
	uint64_t align = get32(k, HDR_KERNEL_ALIGNMENT);
	uint64_t init_size = get32(k, HDR_INIT_SIZE);
	uint64_t start, run_end, img_end;

	if (get8(k, HDR_RELOCATABLE)) {
		if (align == 0 || (align & (align - 1))) {
			pr_err("%s: kernel_alignment %#llx is not a power of "
			       "two",
			       name, (unsigned long long)align);
			return -ENOEXEC;
		}
		start = pref > BZIMAGE_LOAD_GPA ? pref : BZIMAGE_LOAD_GPA;
		if (__builtin_add_overflow(start, align - 1, &start))
			goto too_big;
		start &= ~(align - 1);
	} else {
		start = pref;
		if (start < BZIMAGE_LOAD_GPA) {
			pr_err("%s: kernel is not relocatable and runs at "
			       "%#llx, below the load address %#llx",
			       name, (unsigned long long)start,
			       BZIMAGE_LOAD_GPA);
			return -ENOEXEC;
		}
	}
	if (__builtin_add_overflow(start, init_size, &run_end))
		goto too_big;
	/* kernel_len < size of a buffer in memory: no overflow. */
	img_end = BZIMAGE_LOAD_GPA + p->kernel_len;
	p->kernel_end = run_end > img_end ? run_end : img_end;
	if (p->kernel_end > low_end) {
		pr_err("%s: kernel needs [%#llx, %#llx) (init_size %#llx) but "
		       "RAM below the MMIO hole ends at %#llx (try a larger "
		       "--memory)",
		       name, BZIMAGE_LOAD_GPA,
		       (unsigned long long)p->kernel_end,
		       (unsigned long long)init_size,
		       (unsigned long long)low_end);
		return -E2BIG;
	}
	return 0;
too_big:
	pr_err("%s: kernel runtime area (pref_address %#llx, init_size %#llx) "
	       "wraps the address space",
	       name, (unsigned long long)pref, (unsigned long long)init_size);
	return -E2BIG;
}

/*
 * The highest page-aligned GPA for the initrd that keeps it below
 * initrd_addr_max and low RAM's end and above the kernel. The kernel sits
 * at 1 MiB, above the zero page and command line, so an initrd above the
 * kernel cannot touch the low tables either.
 */
static int place_initrd(const uint8_t *k, uint64_t size, const char *name,
			uint64_t low_end, struct plan *p)
{
	uint64_t top = (uint64_t)get32(k, HDR_INITRD_ADDR_MAX) + 1;

	if (top > low_end)
		top = low_end;
	if (size > top || ((top - size) & ~(PAGE - 1)) < p->kernel_end) {
		pr_err("%s: initrd of %llu bytes does not fit between the "
		       "kernel's end %#llx and %#llx (initrd_addr_max + 1, or "
		       "the end of RAM below the MMIO hole; try a larger "
		       "--memory)",
		       name, (unsigned long long)size,
		       (unsigned long long)p->kernel_end,
		       (unsigned long long)top);
		return -E2BIG;
	}
	p->initrd_gpa = (top - size) & ~(PAGE - 1);
	return 0;
}

static int check_cmdline(const uint8_t *k, const char *cmdline,
			 const char *name, struct plan *p)
{
	uint64_t max = get32(k, HDR_CMDLINE_SIZE);
	size_t len = strlen(cmdline);

	/* The kernel's limit excludes the NUL; the VMM's area includes it. */
	if (max > BOOT_CMDLINE_MAX - 1)
		max = BOOT_CMDLINE_MAX - 1;
	if (len > max) {
		pr_err("%s: command line of %zu bytes is longer than the %llu "
		       "the kernel accepts",
		       name, len, (unsigned long long)max);
		return -E2BIG;
	}
	p->cmdline_len = len + 1;
	return 0;
}

/* The memory map of guest memory must fit the zero page's table. */
static int check_e820(struct vmmem *mem, const char *name, struct plan *p)
{
	unsigned n = arch_e820_map(mem, p->e820, ZP_E820_MAX);

	if (n > ZP_E820_MAX) {
		pr_err("%s: guest memory needs %u e820 entries, the zero page "
		       "holds %u",
		       name, n, ZP_E820_MAX);
		return -E2BIG;
	}
	p->nr_e820 = n;
	return 0;
}

/* Every range to be written must be backed before the first write. */
static int check_backed(struct vmmem *mem, const char *name, const char *what,
			uint64_t gpa, uint64_t len)
{
	int rc = vmmem_check_range(mem, gpa, len);

	if (rc)
		pr_err("%s: guest memory does not back the %s at [%#llx, "
		       "%#llx): %s",
		       name, what, (unsigned long long)gpa,
		       (unsigned long long)(gpa + len), strerror(-rc));
	return rc;
}

static void put_e820(uint8_t *zp, unsigned i, uint64_t gpa, uint64_t len,
		     uint32_t type)
{
	size_t off = ZP_E820_TABLE + (size_t)i * E820_ENTRY_SIZE;

	put64(zp, off, gpa);
	put64(zp, off + 8, len);
	put32(zp, off + 16, type);
}

/*
 * The zero page: all zero except the setup header copied from the file and
 * the fields a boot loader fills. Copying the whole first sector instead
 * would bring along its byte 0x1ef (the sentinel, non-zero in the file),
 * which makes the kernel discard fields it cannot trust.
 */
static void build_zero_page(uint8_t *zp, const uint8_t *k, const struct plan *p,
			    uint64_t initrd_len, uint64_t rsdp_gpa)
{
	unsigned i;

	memset(zp, 0, ZP_SIZE);
	memcpy(zp + HDR_START, k + HDR_START, p->hdr_end - HDR_START);
	zp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	put32(zp, HDR_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE);
	/* Both lie below the 3 GiB hole: the ext_ramdisk_* high halves stay
	 * zero. */
	put32(zp, HDR_RAMDISK_IMAGE, (uint32_t)p->initrd_gpa);
	put32(zp, HDR_RAMDISK_SIZE, (uint32_t)initrd_len);
	/* A pointer the kernel follows: the loader passes no setup_data,
	 * whatever the file holds there. */
	put64(zp, HDR_SETUP_DATA, 0);
	put64(zp, ZP_ACPI_RSDP_ADDR, rsdp_gpa);

	/* The same map as the PVH path, from guest memory's regions. */
	for (i = 0; i < p->nr_e820; i++)
		put_e820(zp, i, p->e820[i].gpa, p->e820[i].len,
			 p->e820[i].type);
	/* At most ZP_E820_MAX (128), checked by check_e820(). */
	zp[ZP_E820_ENTRIES] = (uint8_t)p->nr_e820;
}

int bzimage_load_buffer(struct vmmem *mem, const void *kernel,
			size_t kernel_size, const char *kernel_name,
			const void *initrd, size_t initrd_size,
			const char *initrd_name, const char *cmdline,
			uint64_t rsdp_gpa, struct bzimage_boot *out)
{
	const uint8_t *k = kernel;
	uint64_t low_end = arch_low_ram_end(mem);
	uint8_t zp[ZP_SIZE];
	struct plan p = { 0 };
	int rc;

	if (!cmdline)
		cmdline = "";
	if (!initrd_name)
		initrd_name = "initrd";

	rc = check_header(k, kernel_size, kernel_name, &p);
	if (!rc)
		rc = kernel_footprint(k, kernel_name, low_end, &p);
	if (!rc)
		rc = check_cmdline(k, cmdline, kernel_name, &p);
	if (!rc)
		rc = check_e820(mem, kernel_name, &p);
	if (rc)
		return rc;
	if (initrd) {
		if (initrd_size == 0) {
			pr_err("%s: initrd is empty", initrd_name);
			return -EINVAL;
		}
		rc = place_initrd(k, initrd_size, initrd_name, low_end, &p);
		if (rc)
			return rc;
	}

	/* The kernel's whole footprint, not only the image: it is RAM the
	 * kernel uses before it has read the e820 map. */
	rc = check_backed(mem, kernel_name, "kernel", BZIMAGE_LOAD_GPA,
			  p.kernel_end - BZIMAGE_LOAD_GPA);
	if (!rc)
		rc = check_backed(mem, kernel_name, "zero page",
				  BZIMAGE_ZERO_PAGE, ZP_SIZE);
	if (!rc)
		rc = check_backed(mem, kernel_name, "command line",
				  BOOT_CMDLINE, p.cmdline_len);
	if (!rc && initrd)
		rc = check_backed(mem, initrd_name, "initrd", p.initrd_gpa,
				  initrd_size);
	if (rc)
		return rc;

	build_zero_page(zp, k, &p, initrd ? initrd_size : 0, rsdp_gpa);
	rc = vmmem_write(mem, BZIMAGE_LOAD_GPA, k + p.setup_len, p.kernel_len);
	if (rc) {
		pr_err("%s: writing the kernel: %s", kernel_name,
		       strerror(-rc));
		return rc;
	}
	if (initrd) {
		rc = vmmem_write(mem, p.initrd_gpa, initrd, initrd_size);
		if (rc) {
			pr_err("%s: writing the initrd: %s", initrd_name,
			       strerror(-rc));
			return rc;
		}
	}
	rc = vmmem_write(mem, BOOT_CMDLINE, cmdline, p.cmdline_len);
	if (!rc)
		rc = vmmem_write(mem, BZIMAGE_ZERO_PAGE, zp, ZP_SIZE);
	if (rc) {
		pr_err("%s: writing the boot parameters: %s", kernel_name,
		       strerror(-rc));
		return rc;
	}

	*out = (struct bzimage_boot){
		.entry = BZIMAGE_LOAD_GPA + BZIMAGE_ENTRY_64,
		.zero_page = BZIMAGE_ZERO_PAGE,
		.kernel_gpa = BZIMAGE_LOAD_GPA,
		.kernel_len = p.kernel_len,
		.kernel_end = p.kernel_end,
		.cmdline_gpa = BOOT_CMDLINE,
		.cmdline_len = p.cmdline_len,
		.initrd_gpa = initrd ? p.initrd_gpa : 0,
		.initrd_len = initrd ? initrd_size : 0,
		/* The kernel lies above the zero page and the command line:
		 * its end covers both. */
		.ident_end = p.kernel_end,
		.version = get16(k, HDR_VERSION),
	};
	return 0;
}

int bzimage_load(struct vmmem *mem, const char *kernel_path,
		 const char *initrd_path, const char *cmdline,
		 uint64_t rsdp_gpa, struct bzimage_boot *out)
{
	uint64_t low_end = arch_low_ram_end(mem);
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t kernel_size = 0, initrd_size = 0;
	int rc;

	rc = loader_read_file(kernel_path, low_end, &kernel, &kernel_size);
	if (rc)
		return rc;
	if (initrd_path) {
		rc = loader_read_file(initrd_path, low_end, &initrd, &initrd_size);
		if (rc)
			goto out_free_kernel;
	}
	rc = bzimage_load_buffer(mem, kernel, kernel_size, kernel_path, initrd,
				 initrd_size, initrd_path, cmdline, rsdp_gpa,
				 out);
	free(initrd);
out_free_kernel:
	free(kernel);
	return rc;
}
