/* SPDX-License-Identifier: MIT */
/*
 * Tests for minivmm/x86/acpi.h: the RSDP, XSDT, FADT, MADT and DSDT that
 * acpi_build() writes into guest memory.
 *
 * The tables are read back from guest memory at the offsets of the ACPI
 * 6.5 specification, following the pointers as a guest does (RSDP -> XSDT
 * -> FADT -> DSDT, XSDT -> MADT), never through the builder's own code:
 *
 *   SDT header (36 bytes)        RSDP (36 bytes)
 *     0 signature  char[4]         0 "RSD PTR "     16 rsdt_address  u32
 *     4 length     u32             8 checksum (0-19) 20 length       u32
 *     8 revision   u8              9 oem_id         24 xsdt_address  u64
 *     9 checksum   u8             15 revision       32 ext. checksum (0-35)
 *    10 oem_id     char[6]
 *
 *   FADT: 109 IAPC_BOOT_ARCH u16, 112 flags u32, 131 minor version u8,
 *         140 X_DSDT u64, 268 hypervisor vendor id; 276 bytes.
 *   MADT: 36 local APIC address u32, 40 flags u32, then entries
 *         {type, length, ...}: type 0 local APIC {uid, apic id, u32 flags},
 *         type 1 IOAPIC {id, 0, u32 address, u32 gsi base}.
 *
 * The DSDT's AML is compared with hand-assembled bytes. When iasl (Debian
 * package acpica-tools) is installed, the tables are also disassembled by it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>

#include "../minivmm/x86/acpi.h"
#include "fixture.h"
#include "sysmock.h"

#define MiB (1ull << 20)
#define FILL 0xa5 /* what the table area holds before the call */

#define HDR_LEN 36
#define FADT_LEN 276
#define MADT_FIXED_LEN 44
#define XSDT_LEN (HDR_LEN + 2 * 8)

/* Tables a test has read, freed by the teardown. */
#define MAX_OWNED 16

struct fixture {
	struct vmmem *mem;
	struct acpi_config cfg;
	uint64_t rsdp;
	uint8_t *owned[MAX_OWNED];
	unsigned nr_owned;
	char dir[64]; /* iasl's scratch folder, when made */
	struct acpi_virtio_mmio dev[ACPI_MAX_VIRTIO_MMIO + 1];
};

/*
 * The AML of the notes for one virtio-mmio device: Device (V000) with
 * _HID "LNRO0005", _UID 0, _CCA One and a _CRS of Memory32Fixed (ReadWrite,
 * 0xC0001000, 0x1000) and Interrupt (Edge, ActiveHigh, Exclusive) { 5 }.
 */
/* clang-format off */
static const uint8_t virtio_v000[] = {
	0x5b, 0x82, 0x42, 0x04,		/* Device, PkgLength 0x42 */
	0x56, 0x30, 0x30, 0x30,		/* "V000" */
	0x08, 0x5f, 0x48, 0x49, 0x44,	/* Name (_HID, */
	0x0d, 0x4c, 0x4e, 0x52, 0x4f,	/*   "LNRO0005") */
	0x30, 0x30, 0x30, 0x35, 0x00,
	0x08, 0x5f, 0x55, 0x49, 0x44, 0x0a, 0x00, /* Name (_UID, 0) */
	0x08, 0x5f, 0x43, 0x43, 0x41, 0x01, /* Name (_CCA, One) */
	0x08, 0x5f, 0x43, 0x52, 0x53,	/* Name (_CRS, */
	0x11, 0x1a, 0x0a, 0x17,		/*   Buffer (0x17) { */
	0x86, 0x09, 0x00, 0x01,		/* Memory32Fixed (ReadWrite, */
	0x00, 0x10, 0x00, 0xc0,		/*   0xC0001000, */
	0x00, 0x10, 0x00, 0x00,		/*   0x1000) */
	0x89, 0x06, 0x00, 0x03, 0x01,	/* Interrupt (Edge, ...) { */
	0x05, 0x00, 0x00, 0x00,		/*   5 } */
	0x79, 0x00,			/* EndTag */
};
/* clang-format on */

/* Where the name digit, _UID, window base and GSI sit in virtio_v000. */
#define V_NAME_DIGIT 7
#define V_UID 29
#define V_BASE 49
#define V_GSI 62

/*
 * Device (_SB.COM1) with _HID EisaId ("PNP0501"), _UID 0, _DDN "COM1" and
 * a _CRS of Interrupt (Edge, ActiveHigh, Exclusive) { 4 } and IO (Decode16,
 * 0x3F8, 0x3F8, 1, 8).
 */
/* clang-format off */
static const uint8_t com1[] = {
	0x5b, 0x82, 0x43, 0x04,		/* Device, PkgLength 0x43 */
	0x2e, 0x5f, 0x53, 0x42, 0x5f,	/* "_SB_.COM1" */
	0x43, 0x4f, 0x4d, 0x31,
	0x08, 0x5f, 0x48, 0x49, 0x44,	/* Name (_HID, */
	0x0c, 0x41, 0xd0, 0x05, 0x01,	/*   EisaId ("PNP0501")) */
	0x08, 0x5f, 0x55, 0x49, 0x44, 0x0a, 0x00, /* Name (_UID, 0) */
	0x08, 0x5f, 0x44, 0x44, 0x4e,	/* Name (_DDN, */
	0x0d, 0x43, 0x4f, 0x4d, 0x31, 0x00, /*   "COM1") */
	0x08, 0x5f, 0x43, 0x52, 0x53,	/* Name (_CRS, */
	0x11, 0x16, 0x0a, 0x13,		/*   Buffer (0x13) { */
	0x89, 0x06, 0x00, 0x03, 0x01,	/* Interrupt (Edge, ...) { */
	0x04, 0x00, 0x00, 0x00,		/*   4 } */
	0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, /* IO (Decode16, 0x3F8, 0x3F8, */
	0x01, 0x08,			/*   1, 8) */
	0x79, 0x00,			/* EndTag */
};
/* clang-format on */

/* The virtio-mmio device n of the common layout (window n, GSI 5 + n). */
static struct acpi_virtio_mmio virtio_dev(unsigned n)
{
	return (struct acpi_virtio_mmio){ .gpa = 0xc0001000ull + n * 0x1000ull,
					  .len = 0x1000,
					  .gsi = 5 + n % 19 };
}

/* virtio_v000 for device n < 10 of the common layout. */
static void expected_virtio(uint8_t out[sizeof(virtio_v000)], unsigned n)
{
	memcpy(out, virtio_v000, sizeof(virtio_v000));
	out[V_NAME_DIGIT] = '0' + n;
	out[V_UID] = n;
	out[V_BASE + 1] = 0x10 + n * 0x10;
	out[V_GSI] = 5 + n;
}

/* Guest memory [0, len) as one anonymous region, the table area filled. */
static int setup_mem(void **state, uint64_t gpa, uint64_t len, unsigned flags)
{
	const struct fixture_region ram = { gpa, len, flags };
	struct fixture *f;

	f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	if (fixture_mem_create(&ram, 1, NULL, &f->mem))
		goto err_free;
	if (!flags && gpa <= ACPI_TABLES_START &&
	    gpa + len >= ACPI_RSDP + 0x1000 &&
	    vmmem_fill(f->mem, ACPI_TABLES_START, FILL,
		       ACPI_RSDP + 0x1000 - ACPI_TABLES_START))
		goto err_destroy;
	f->dev[0] = virtio_dev(0);
	f->cfg = (struct acpi_config){
		.nr_vcpus = 2,
		.ioapic_gpa = ACPI_IOAPIC_GPA,
		.ioapic_gsi_base = 0,
		.lapic_gpa = ACPI_LAPIC_GPA,
		.virtio = f->dev,
		.nr_virtio = 1,
		.com1 = true,
	};
	sysmock_reset();
	*state = f;
	return 0;

err_destroy:
	vmmem_destroy(f->mem);
err_free:
	free(f);
	return -1;
}

static int setup(void **state)
{
	return setup_mem(state, 0, 2 * MiB, 0);
}

/* Nothing backed below 1 MiB, where the tables go. */
static int setup_no_area(void **state)
{
	return setup_mem(state, MiB, MiB, 0);
}

/* The table area backed, the RSDP not. */
static int setup_no_rsdp(void **state)
{
	return setup_mem(state, 0, ACPI_RSDP, 0);
}

static int setup_read_only(void **state)
{
	return setup_mem(state, 0, 2 * MiB, VMMEM_REGION_READONLY);
}

static void remove_scratch(struct fixture *f)
{
	static const char *const names[] = {
		"dsdt.dat", "dsdt.dsl", "facp.dat", "facp.dsl",
		"apic.dat", "apic.dsl", "iasl.log",
	};
	char path[128];
	size_t i;

	if (!f->dir[0])
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, names[i]);
		unlink(path);
	}
	rmdir(f->dir);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	remove_scratch(f);
	for (i = 0; i < f->nr_owned; i++)
		free(f->owned[i]);
	vmmem_destroy(f->mem);
	free(f);
	return 0;
}

/* ---- Reading the tables back ---- */

static uint8_t rd8(struct fixture *f, uint64_t gpa)
{
	uint8_t v;

	assert_int_equal(vmmem_read(f->mem, gpa, &v, sizeof(v)), 0);
	return v;
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

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static void build(struct fixture *f)
{
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), 0);
}

static uint64_t xsdt_gpa(struct fixture *f)
{
	return rd64(f, ACPI_RSDP + 24);
}

static uint64_t fadt_gpa(struct fixture *f)
{
	return rd64(f, xsdt_gpa(f) + HDR_LEN);
}

static uint64_t madt_gpa(struct fixture *f)
{
	return rd64(f, xsdt_gpa(f) + HDR_LEN + 8);
}

static uint64_t dsdt_gpa(struct fixture *f)
{
	return rd64(f, fadt_gpa(f) + 140);
}

/* The whole table at gpa, by its header's length (owned by the fixture). */
static uint8_t *table(struct fixture *f, uint64_t gpa, uint32_t *len)
{
	uint32_t n = rd32(f, gpa + 4);
	uint8_t *t;

	assert_true(n >= HDR_LEN && n <= ACPI_TABLES_END - ACPI_TABLES_START);
	assert_true(f->nr_owned < MAX_OWNED);
	t = malloc(n);
	assert_non_null(t);
	f->owned[f->nr_owned++] = t;
	assert_int_equal(vmmem_read(f->mem, gpa, t, n), 0);
	if (len)
		*len = n;
	return t;
}

/* The table's signature is sig and its bytes sum to zero. */
static void assert_table_checksum(struct fixture *f, uint64_t gpa,
				  const char *sig)
{
	uint32_t len;
	uint8_t *t = table(f, gpa, &len);

	assert_memory_equal(t, sig, 4);
	assert_int_equal(sum(t, len), 0);
}

/* Every byte of [gpa, gpa + len) still holds FILL. */
static void assert_filled(struct fixture *f, uint64_t gpa, uint64_t len)
{
	uint64_t i;

	for (i = 0; i < len; i++)
		if (rd8(f, gpa + i) != FILL)
			fail_msg("byte %#llx is %#x, not the fill %#x",
				 (unsigned long long)(gpa + i), rd8(f, gpa + i),
				 FILL);
}

/* Use devices 0 .. n-1 of the common layout. */
static void use_devices(struct fixture *f, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		f->dev[i] = virtio_dev(i);
	f->cfg.nr_virtio = n;
}

/* ---- RSDP ---- */

static void test_acpi_build_reports_rsdp_at_0xe0000(void **state)
{
	struct fixture *f = *state;

	build(f);
	assert_int_equal(f->rsdp, 0xe0000);
}

static void test_acpi_build_accepts_null_rsdp_out(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(acpi_build(f->mem, &f->cfg, NULL), 0);
	assert_int_equal(rd64(f, ACPI_RSDP), 0x2052545020445352ull);
}

static void test_acpi_rsdp_has_signature_and_oem_id(void **state)
{
	struct fixture *f = *state;
	uint8_t r[36];

	build(f);
	assert_int_equal(vmmem_read(f->mem, 0xe0000, r, sizeof(r)), 0);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_memory_equal(r + 9, "MINVMM", 6);
}

static void test_acpi_rsdp_checksum_covers_first_20_bytes(void **state)
{
	struct fixture *f = *state;
	uint8_t r[20];

	build(f);
	assert_int_equal(vmmem_read(f->mem, ACPI_RSDP, r, sizeof(r)), 0);
	assert_int_equal(sum(r, sizeof(r)), 0);
}

static void test_acpi_rsdp_extended_checksum_covers_36_bytes(void **state)
{
	struct fixture *f = *state;
	uint8_t r[36];

	build(f);
	assert_int_equal(vmmem_read(f->mem, ACPI_RSDP, r, sizeof(r)), 0);
	assert_int_equal(sum(r, sizeof(r)), 0);
	assert_int_equal(r[33] | r[34] | r[35], 0);
}

static void test_acpi_rsdp_is_revision_2_of_36_bytes_without_rsdt(void **state)
{
	struct fixture *f = *state;

	build(f);
	assert_int_equal(rd8(f, ACPI_RSDP + 15), 2);
	assert_int_equal(rd32(f, ACPI_RSDP + 16), 0);
	assert_int_equal(rd32(f, ACPI_RSDP + 20), 36);
}

static void test_acpi_rsdp_points_at_xsdt(void **state)
{
	struct fixture *f = *state;

	build(f);
	assert_int_equal(rd32(f, xsdt_gpa(f)), 0x54445358); /* "XSDT" */
}

/* ---- XSDT ---- */

static void test_acpi_xsdt_checksum_is_zero(void **state)
{
	struct fixture *f = *state;

	build(f);
	assert_table_checksum(f, xsdt_gpa(f), "XSDT");
}

static void test_acpi_xsdt_lists_fadt_then_madt(void **state)
{
	struct fixture *f = *state;
	uint32_t len;
	uint8_t *x;

	build(f);
	x = table(f, xsdt_gpa(f), &len);
	assert_int_equal(len, XSDT_LEN);
	assert_int_equal(x[8], 1);
	assert_int_equal(rd32(f, get64(x + 36)), 0x50434146); /* "FACP" */
	assert_int_equal(rd32(f, get64(x + 44)), 0x43495041); /* "APIC" */
}

/* ---- Layout ---- */

static void test_acpi_dsdt_is_first_at_start_of_area(void **state)
{
	struct fixture *f = *state;

	build(f);
	assert_int_equal(dsdt_gpa(f), 0x9fc00);
}

static void test_acpi_tables_stay_in_area_without_overlap(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa[4], end = ACPI_TABLES_START;
	unsigned i;

	use_devices(f, 3);
	build(f);
	/* Written in this order: DSDT, FADT, MADT, XSDT. */
	gpa[0] = dsdt_gpa(f);
	gpa[1] = fadt_gpa(f);
	gpa[2] = madt_gpa(f);
	gpa[3] = xsdt_gpa(f);
	for (i = 0; i < 4; i++) {
		assert_true(gpa[i] >= end);
		end = gpa[i] + rd32(f, gpa[i] + 4);
	}
	assert_true(end <= ACPI_TABLES_END);
}

static void test_acpi_build_writes_nothing_past_last_table(void **state)
{
	struct fixture *f = *state;
	uint64_t end;

	build(f);
	end = xsdt_gpa(f) + XSDT_LEN;
	assert_filled(f, end, ACPI_TABLES_END - end);
	assert_filled(f, ACPI_RSDP + 36, 0x1000 - 36);
}

/* ---- FADT ---- */

static void test_acpi_fadt_checksum_is_zero(void **state)
{
	struct fixture *f = *state;

	build(f);
	assert_table_checksum(f, fadt_gpa(f), "FACP");
}

static void test_acpi_fadt_is_revision_6_minor_5_of_276_bytes(void **state)
{
	struct fixture *f = *state;
	uint32_t len;
	uint8_t *t;

	build(f);
	t = table(f, fadt_gpa(f), &len);
	assert_int_equal(len, FADT_LEN);
	assert_int_equal(t[8], 6);
	assert_int_equal(t[131], 5);
}

static void test_acpi_fadt_points_at_dsdt_through_x_dsdt(void **state)
{
	struct fixture *f = *state;
	uint8_t *t;

	build(f);
	t = table(f, fadt_gpa(f), NULL);
	assert_int_equal(get32(t + 40), 0); /* the 32-bit DSDT */
	assert_int_equal(rd32(f, get64(t + 140)), 0x54445344); /* "DSDT" */
}

static void test_acpi_fadt_is_hardware_reduced(void **state)
{
	struct fixture *f = *state;
	uint8_t *t;

	build(f);
	t = table(f, fadt_gpa(f), NULL);
	/* HW_REDUCED_ACPI (20), PWR_BUTTON (4), SLP_BUTTON (5). */
	assert_int_equal(get32(t + 112), 1u << 20 | 1u << 4 | 1u << 5);
}

/* IAPC_BOOT_ARCH: VGA not present (2), CMOS RTC not present (5). */
static void test_acpi_fadt_says_no_vga_and_no_cmos_rtc(void **state)
{
	struct fixture *f = *state;
	uint8_t *t;

	build(f);
	t = table(f, fadt_gpa(f), NULL);
	assert_int_equal(t[109] | t[110] << 8, 1u << 2 | 1u << 5);
}

static void test_acpi_fadt_has_no_fixed_hardware_blocks(void **state)
{
	struct fixture *f = *state;
	unsigned i;
	uint8_t *t;

	build(f);
	t = table(f, fadt_gpa(f), NULL);
	/* FACS, DSDT, SCI, SMI, PM1/PM2/PM timer/GPE blocks and lengths. */
	for (i = 36; i < 109; i++)
		assert_int_equal(t[i], 0);
	/* X_PM1a_EVT_BLK up to the sleep status register. */
	for (i = 148; i < 268; i++)
		assert_int_equal(t[i], 0);
}

/* ---- MADT ---- */

static void test_acpi_madt_checksum_is_zero(void **state)
{
	struct fixture *f = *state;

	build(f);
	assert_table_checksum(f, madt_gpa(f), "APIC");
}

static void test_acpi_madt_has_lapic_address_and_no_pcat_flag(void **state)
{
	struct fixture *f = *state;
	uint8_t *t;

	build(f);
	t = table(f, madt_gpa(f), NULL);
	assert_int_equal(get32(t + 36), 0xfee00000);
	assert_int_equal(get32(t + 40), 0);
}

/* Count the entries of a type; return the offset of the last one. */
static unsigned madt_entries(const uint8_t *t, uint32_t len, uint8_t type,
			     unsigned *count)
{
	unsigned off = MADT_FIXED_LEN, last = 0;

	*count = 0;
	while (off < len) {
		assert_true(t[off + 1] >= 2 && off + t[off + 1] <= len);
		if (t[off] == type) {
			(*count)++;
			last = off;
		}
		off += t[off + 1];
	}
	assert_int_equal(off, len);
	return last;
}

static void test_acpi_madt_has_one_ioapic_at_gsi_base_0(void **state)
{
	struct fixture *f = *state;
	unsigned n, off;
	uint32_t len;
	uint8_t *t;

	build(f);
	t = table(f, madt_gpa(f), &len);
	off = madt_entries(t, len, 1, &n);
	assert_int_equal(n, 1);
	assert_int_equal(t[off + 1], 12);
	assert_int_equal(t[off + 2], 0); /* IOAPIC id */
	assert_int_equal(get32(t + off + 4), 0xfec00000);
	assert_int_equal(get32(t + off + 8), 0);
}

static void test_acpi_madt_has_one_enabled_lapic_per_vcpu(void **state)
{
	struct fixture *f = *state;
	unsigned off, n = 0, i = 0;
	uint32_t len;
	uint8_t *t;

	f->cfg.nr_vcpus = 4;
	build(f);
	t = table(f, madt_gpa(f), &len);
	for (off = MADT_FIXED_LEN; off < len; off += t[off + 1]) {
		if (t[off] != 0)
			continue;
		assert_int_equal(t[off + 1], 8);
		assert_int_equal(t[off + 2], i);	 /* processor UID */
		assert_int_equal(t[off + 3], i);	 /* APIC id */
		assert_int_equal(get32(t + off + 4), 1); /* enabled */
		i++;
		n++;
	}
	assert_int_equal(n, 4);
	assert_int_equal(len, MADT_FIXED_LEN + 12 + 4 * 8);
}

static void test_acpi_madt_describes_255_vcpus(void **state)
{
	struct fixture *f = *state;
	unsigned n, off;
	uint32_t len;
	uint8_t *t;

	f->cfg.nr_vcpus = 255;
	build(f);
	t = table(f, madt_gpa(f), &len);
	assert_int_equal(len, MADT_FIXED_LEN + 12 + 255 * 8);
	off = madt_entries(t, len, 0, &n);
	assert_int_equal(n, 255);
	assert_int_equal(t[off + 3], 254);
	assert_int_equal(sum(t, len), 0);
}

static void test_acpi_madt_uses_configured_addresses(void **state)
{
	struct fixture *f = *state;
	unsigned n, off;
	uint32_t len;
	uint8_t *t;

	f->cfg.ioapic_gpa = 0xfec01000;
	f->cfg.ioapic_gsi_base = 2;
	f->cfg.lapic_gpa = 0xfee10000;
	build(f);
	t = table(f, madt_gpa(f), &len);
	off = madt_entries(t, len, 1, &n);
	assert_int_equal(get32(t + 36), 0xfee10000);
	assert_int_equal(get32(t + off + 4), 0xfec01000);
	assert_int_equal(get32(t + off + 8), 2);
}

/* ---- DSDT ---- */

static void test_acpi_dsdt_checksum_is_zero(void **state)
{
	struct fixture *f = *state;

	build(f);
	assert_table_checksum(f, dsdt_gpa(f), "DSDT");
}

static void test_acpi_dsdt_is_revision_2(void **state)
{
	struct fixture *f = *state;

	build(f);
	assert_int_equal(rd8(f, dsdt_gpa(f) + 8), 2);
}

static void test_acpi_dsdt_holds_exact_aml_of_virtio_device(void **state)
{
	struct fixture *f = *state;
	uint32_t len;
	uint8_t *t;

	f->cfg.com1 = false;
	build(f);
	t = table(f, dsdt_gpa(f), &len);
	assert_int_equal(len, HDR_LEN + sizeof(virtio_v000));
	assert_memory_equal(t + HDR_LEN, virtio_v000, sizeof(virtio_v000));
}

static void test_acpi_dsdt_holds_exact_aml_of_com1(void **state)
{
	struct fixture *f = *state;
	uint32_t len;
	uint8_t *t;

	f->cfg.nr_virtio = 0;
	f->cfg.virtio = NULL;
	build(f);
	t = table(f, dsdt_gpa(f), &len);
	assert_int_equal(len, HDR_LEN + sizeof(com1));
	assert_memory_equal(t + HDR_LEN, com1, sizeof(com1));
}

static void test_acpi_dsdt_puts_com1_after_devices(void **state)
{
	struct fixture *f = *state;
	uint32_t len;
	uint8_t *t;

	build(f);
	t = table(f, dsdt_gpa(f), &len);
	assert_int_equal(len, HDR_LEN + sizeof(virtio_v000) + sizeof(com1));
	assert_memory_equal(t + HDR_LEN, virtio_v000, sizeof(virtio_v000));
	assert_memory_equal(t + HDR_LEN + sizeof(virtio_v000), com1,
			    sizeof(com1));
}

static void test_acpi_dsdt_lists_devices_in_config_order(void **state)
{
	struct fixture *f = *state;
	uint8_t want[sizeof(virtio_v000)];
	uint32_t len;
	unsigned i;
	uint8_t *t;

	use_devices(f, 3);
	f->cfg.com1 = false;
	build(f);
	t = table(f, dsdt_gpa(f), &len);
	assert_int_equal(len, HDR_LEN + 3 * sizeof(virtio_v000));
	for (i = 0; i < 3; i++) {
		expected_virtio(want, i);
		assert_memory_equal(t + HDR_LEN + i * sizeof(want), want,
				    sizeof(want));
	}
}

static void test_acpi_dsdt_without_devices_or_com1_is_empty(void **state)
{
	struct fixture *f = *state;

	f->cfg.nr_virtio = 0;
	f->cfg.com1 = false;
	build(f);
	assert_int_equal(rd32(f, dsdt_gpa(f) + 4), HDR_LEN);
	assert_table_checksum(f, dsdt_gpa(f), "DSDT");
}

static void test_acpi_dsdt_names_device_256_v100_with_word_uid(void **state)
{
	/* Device (V100) { Name (_HID, "LNRO0005") Name (_UID, 0x0100) */
	/* clang-format off */
	static const uint8_t want[] = {
		0x56, 0x31, 0x30, 0x30,	/* "V100" */
		0x08, 0x5f, 0x48, 0x49, 0x44, /* Name (_HID, */
		0x0d, 0x4c, 0x4e, 0x52, 0x4f, /*   "LNRO0005") */
		0x30, 0x30, 0x30, 0x35, 0x00,
		0x08, 0x5f, 0x55, 0x49, 0x44, /* Name (_UID, */
		0x0b, 0x00, 0x01,	/*   0x0100) */
	};
	/* clang-format on */
	struct fixture *f = *state;
	uint32_t len;
	uint8_t *t;

	use_devices(f, 257);
	f->cfg.com1 = false;
	build(f);
	t = table(f, dsdt_gpa(f), &len);
	/* 256 devices of 68 bytes, then the Device opcode and PkgLength. */
	assert_memory_equal(t + HDR_LEN + 256 * 68 + 4, want, sizeof(want));
	assert_int_equal(len, HDR_LEN + 256 * 68 + 69);
}

/*
 * 1 vCPU, no COM1, n devices: the DSDT has 36 + 256 * 68 + (n - 256) * 69
 * bytes, each table starts 8-byte aligned, then FADT 276, MADT 64 and XSDT
 * 52 bytes. With 3811 devices the XSDT ends at area offset 263140, within
 * the 263168 bytes of [0x9fc00, 0xe0000); with 3812 at 263204.
 */
static void test_acpi_most_devices_that_fit_are_accepted(void **state)
{
	struct fixture *f = *state;

	use_devices(f, 3811);
	f->cfg.nr_vcpus = 1;
	f->cfg.com1 = false;
	build(f);
	assert_int_equal(xsdt_gpa(f) + XSDT_LEN, ACPI_TABLES_START + 263140);
	assert_table_checksum(f, dsdt_gpa(f), "DSDT");
}

static void test_acpi_one_device_too_many_for_area_is_e2big(void **state)
{
	struct fixture *f = *state;

	use_devices(f, 3812);
	f->cfg.nr_vcpus = 1;
	f->cfg.com1 = false;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -E2BIG);
}

static void test_acpi_tables_too_big_write_nothing(void **state)
{
	struct fixture *f = *state;

	use_devices(f, ACPI_MAX_VIRTIO_MMIO);
	f->rsdp = 1;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -E2BIG);
	assert_int_equal(f->rsdp, 1);
	assert_filled(f, ACPI_TABLES_START, ACPI_RSDP + 36 - ACPI_TABLES_START);
}

/* ---- Bad configurations ---- */

static void test_acpi_null_memory_is_einval(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(acpi_build(NULL, &f->cfg, &f->rsdp), -EINVAL);
}

static void test_acpi_null_config_is_einval(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(acpi_build(f->mem, NULL, &f->rsdp), -EINVAL);
}

static void test_acpi_zero_vcpus_is_einval(void **state)
{
	struct fixture *f = *state;

	f->cfg.nr_vcpus = 0;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EINVAL);
}

static void test_acpi_256_vcpus_is_einval(void **state)
{
	struct fixture *f = *state;

	f->cfg.nr_vcpus = 256;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EINVAL);
}

static void test_acpi_too_many_devices_is_einval(void **state)
{
	struct fixture *f = *state;

	use_devices(f, ACPI_MAX_VIRTIO_MMIO + 1);
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EINVAL);
}

static void test_acpi_null_device_array_is_einval(void **state)
{
	struct fixture *f = *state;

	f->cfg.virtio = NULL;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EINVAL);
}

static void test_acpi_empty_device_window_is_einval(void **state)
{
	struct fixture *f = *state;

	f->dev[0].len = 0;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EINVAL);
}

static void test_acpi_device_window_past_4g_is_einval(void **state)
{
	struct fixture *f = *state;

	f->dev[0].gpa = 0xfffff000;
	f->dev[0].len = 0x2000;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EINVAL);
}

static void test_acpi_device_window_of_4g_is_einval(void **state)
{
	struct fixture *f = *state;

	/* Memory32Fixed's length is 32 bits. */
	f->dev[0].gpa = 0;
	f->dev[0].len = 0x100000000ull;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EINVAL);
}

static void test_acpi_device_window_ending_at_4g_is_accepted(void **state)
{
	struct fixture *f = *state;
	uint8_t *t;

	f->dev[0].gpa = 0xfffff000;
	f->dev[0].len = 0x1000;
	f->cfg.com1 = false;
	build(f);
	t = table(f, dsdt_gpa(f), NULL);
	/* Memory32Fixed base and length. */
	assert_int_equal(get32(t + HDR_LEN + V_BASE), 0xfffff000);
	assert_int_equal(get32(t + HDR_LEN + V_BASE + 4), 0x1000);
}

static void test_acpi_device_gsi_past_ioapic_pins_is_einval(void **state)
{
	struct fixture *f = *state;

	f->dev[0].gsi = 24;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EINVAL);
}

static void test_acpi_device_gsi_below_gsi_base_is_einval(void **state)
{
	struct fixture *f = *state;

	f->cfg.ioapic_gsi_base = 8;
	f->cfg.com1 = false;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EINVAL);
}

static void test_acpi_com1_irq_outside_ioapic_is_einval(void **state)
{
	struct fixture *f = *state;

	f->cfg.ioapic_gsi_base = 8;
	f->cfg.nr_virtio = 0;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EINVAL);
}

static void test_acpi_ioapic_at_4g_is_einval(void **state)
{
	struct fixture *f = *state;

	f->cfg.ioapic_gpa = 0x100000000ull;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EINVAL);
}

static void test_acpi_lapic_at_4g_is_einval(void **state)
{
	struct fixture *f = *state;

	f->cfg.lapic_gpa = 0x1fee00000ull;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EINVAL);
}

static void test_acpi_bad_config_writes_nothing(void **state)
{
	struct fixture *f = *state;

	f->cfg.nr_vcpus = 0;
	f->rsdp = 1;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EINVAL);
	assert_int_equal(f->rsdp, 1);
	assert_filled(f, ACPI_TABLES_START, ACPI_RSDP + 36 - ACPI_TABLES_START);
}

/* ---- Failures around guest memory ---- */

static void test_acpi_allocation_failure_is_enomem(void **state)
{
	struct fixture *f = *state;

	sysmock_fail(SYSMOCK_CALLOC, 0, ENOMEM);
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -ENOMEM);
	assert_true(sysmock_done());
	assert_filled(f, ACPI_TABLES_START, ACPI_RSDP + 36 - ACPI_TABLES_START);
}

static void test_acpi_unbacked_table_area_is_efault(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EFAULT);
}

static void test_acpi_unbacked_rsdp_is_efault(void **state)
{
	struct fixture *f = *state;

	f->rsdp = 1;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EFAULT);
	assert_int_equal(f->rsdp, 1);
}

static void test_acpi_read_only_area_is_eacces(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EACCES);
}

/* ---- iasl (acpica-tools) ---- */

static bool have_iasl(void)
{
	return system("command -v iasl >/dev/null 2>&1") == 0;
}

#define SKIP_WITHOUT_IASL()                                                    \
	do {                                                                   \
		if (!have_iasl()) {                                            \
			print_message("iasl not found (Debian package "        \
				      "acpica-tools): skipping\n");            \
			skip();                                                \
		}                                                              \
	} while (0)

/*
 * Write the table at gpa to <scratch>/<name>.dat, run `iasl -d` on it and
 * return the text of <name>.dsl (owned by the fixture).
 */
static char *iasl_disassemble(struct fixture *f, uint64_t gpa, const char *name)
{
	char path[128], cmd[256];
	uint32_t len;
	uint8_t *t = table(f, gpa, &len);
	char *text;
	FILE *fp;
	long n;
	int rc;

	if (!f->dir[0]) {
		const char *tmp = getenv("TMPDIR");

		snprintf(f->dir, sizeof(f->dir), "%s/test_acpi.XXXXXX",
			 tmp && strlen(tmp) < 40 ? tmp : "/tmp");
		assert_non_null(mkdtemp(f->dir));
	}
	snprintf(path, sizeof(path), "%s/%s.dat", f->dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(t, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);

	snprintf(cmd, sizeof(cmd), "cd '%s' && iasl -d %s.dat >iasl.log 2>&1",
		 f->dir, name);
	rc = system(cmd);
	assert_true(WIFEXITED(rc));
	assert_int_equal(WEXITSTATUS(rc), 0);

	snprintf(path, sizeof(path), "%s/%s.dsl", f->dir, name);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n > 0);
	rewind(fp);
	assert_true(f->nr_owned < MAX_OWNED);
	text = calloc(1, n + 1);
	assert_non_null(text);
	f->owned[f->nr_owned++] = (uint8_t *)text;
	assert_int_equal(fread(text, 1, n, fp), n);
	fclose(fp);
	assert_null(strstr(text, "Incorrect checksum"));
	return text;
}

static unsigned count(const char *text, const char *word)
{
	unsigned n = 0;

	while ((text = strstr(text, word))) {
		n++;
		text += strlen(word);
	}
	return n;
}

static void test_acpi_iasl_disassembles_dsdt(void **state)
{
	struct fixture *f = *state;
	char *dsl;

	SKIP_WITHOUT_IASL();
	use_devices(f, 2);
	build(f);
	dsl = iasl_disassemble(f, dsdt_gpa(f), "dsdt");
	assert_int_equal(count(dsl, "Name (_HID, \"LNRO0005\")"), 2);
	assert_non_null(strstr(dsl, "Device (V000)"));
	assert_non_null(strstr(dsl, "0xC0001000,"));
	assert_non_null(strstr(dsl, "0xC0002000,"));
	assert_non_null(strstr(dsl, "0x00000005,"));
	assert_non_null(strstr(dsl, "0x00000006,"));
	assert_non_null(strstr(dsl, "Device (_SB.COM1)"));
	assert_non_null(strstr(dsl, "EisaId (\"PNP0501\")"));
	assert_non_null(strstr(dsl, "0x03F8,"));
}

static void test_acpi_iasl_disassembles_fadt(void **state)
{
	struct fixture *f = *state;
	char want[64];
	char *dsl;

	SKIP_WITHOUT_IASL();
	build(f);
	dsl = iasl_disassemble(f, fadt_gpa(f), "facp");
	snprintf(want, sizeof(want), "DSDT Address : %016llX",
		 (unsigned long long)dsdt_gpa(f));
	assert_non_null(strstr(dsl, want));
	assert_non_null(strstr(dsl, "Hardware Reduced (V5) : 1"));
	assert_non_null(strstr(dsl, "FADT Minor Revision : 05"));
}

static void test_acpi_iasl_disassembles_madt(void **state)
{
	struct fixture *f = *state;
	char *dsl;

	SKIP_WITHOUT_IASL();
	f->cfg.nr_vcpus = 4;
	build(f);
	dsl = iasl_disassemble(f, madt_gpa(f), "apic");
	assert_int_equal(count(dsl, "[Processor Local APIC]"), 4);
	assert_int_equal(count(dsl, "Processor Enabled : 1"), 4);
	assert_int_equal(count(dsl, "[I/O APIC]"), 1);
	assert_non_null(strstr(dsl, "Local Apic Address : FEE00000"));
	assert_non_null(strstr(dsl, "Address : FEC00000"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

static void test_acpi_sleep_port_fills_the_fadt_sleep_registers(void **state)
{
	struct fixture *f = *state;
	static const uint8_t ctl[12] = { 1, 8, 0, 1, 0x00, 0x06 };
	static const uint8_t sts[12] = { 1, 8, 0, 1, 0x01, 0x06 };
	uint8_t *t;

	f->cfg.sleep_port = ACPI_SLEEP_PORT;
	build(f);
	assert_table_checksum(f, fadt_gpa(f), "FACP");
	t = table(f, fadt_gpa(f), NULL);
	assert_memory_equal(t + 244, ctl, sizeof(ctl));
	assert_memory_equal(t + 256, sts, sizeof(sts));
}

static void test_acpi_without_sleep_port_the_sleep_registers_are_zero(
	void **state)
{
	struct fixture *f = *state;
	static const uint8_t zero[24];
	uint8_t *t;

	build(f);
	t = table(f, fadt_gpa(f), NULL);
	assert_memory_equal(t + 244, zero, sizeof(zero));
}

static void test_acpi_sleep_port_puts_s5_in_the_dsdt(void **state)
{
	struct fixture *f = *state;
	static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06,
				      0x02, 0x0a, ACPI_S5_SLP_TYP, 0x0a, 0x00 };
	uint32_t len;
	uint8_t *t;

	f->cfg.sleep_port = ACPI_SLEEP_PORT;
	build(f);
	assert_table_checksum(f, dsdt_gpa(f), "DSDT");
	t = table(f, dsdt_gpa(f), &len);
	/* Last in the DSDT, after the devices. */
	assert_true(len >= HDR_LEN + sizeof(s5));
	assert_memory_equal(t + len - sizeof(s5), s5, sizeof(s5));
}

static void test_acpi_rejects_a_sleep_port_without_room_for_status(
	void **state)
{
	struct fixture *f = *state;

	f->cfg.sleep_port = 0xffff;
	assert_int_equal(acpi_build(f->mem, &f->cfg, &f->rsdp), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_acpi_sleep_port_fills_the_fadt_sleep_registers,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_acpi_without_sleep_port_the_sleep_registers_are_zero,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_acpi_sleep_port_puts_s5_in_the_dsdt, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_acpi_rejects_a_sleep_port_without_room_for_status,
			setup, teardown),
		/* RSDP */
		T(test_acpi_build_reports_rsdp_at_0xe0000),
		T(test_acpi_build_accepts_null_rsdp_out),
		T(test_acpi_rsdp_has_signature_and_oem_id),
		T(test_acpi_rsdp_checksum_covers_first_20_bytes),
		T(test_acpi_rsdp_extended_checksum_covers_36_bytes),
		T(test_acpi_rsdp_is_revision_2_of_36_bytes_without_rsdt),
		T(test_acpi_rsdp_points_at_xsdt),
		/* XSDT */
		T(test_acpi_xsdt_checksum_is_zero),
		T(test_acpi_xsdt_lists_fadt_then_madt),
		/* Layout */
		T(test_acpi_dsdt_is_first_at_start_of_area),
		T(test_acpi_tables_stay_in_area_without_overlap),
		T(test_acpi_build_writes_nothing_past_last_table),
		/* FADT */
		T(test_acpi_fadt_checksum_is_zero),
		T(test_acpi_fadt_is_revision_6_minor_5_of_276_bytes),
		T(test_acpi_fadt_points_at_dsdt_through_x_dsdt),
		T(test_acpi_fadt_is_hardware_reduced),
		T(test_acpi_fadt_says_no_vga_and_no_cmos_rtc),
		T(test_acpi_fadt_has_no_fixed_hardware_blocks),
		/* MADT */
		T(test_acpi_madt_checksum_is_zero),
		T(test_acpi_madt_has_lapic_address_and_no_pcat_flag),
		T(test_acpi_madt_has_one_ioapic_at_gsi_base_0),
		T(test_acpi_madt_has_one_enabled_lapic_per_vcpu),
		T(test_acpi_madt_describes_255_vcpus),
		T(test_acpi_madt_uses_configured_addresses),
		/* DSDT */
		T(test_acpi_dsdt_checksum_is_zero),
		T(test_acpi_dsdt_is_revision_2),
		T(test_acpi_dsdt_holds_exact_aml_of_virtio_device),
		T(test_acpi_dsdt_holds_exact_aml_of_com1),
		T(test_acpi_dsdt_puts_com1_after_devices),
		T(test_acpi_dsdt_lists_devices_in_config_order),
		T(test_acpi_dsdt_without_devices_or_com1_is_empty),
		T(test_acpi_dsdt_names_device_256_v100_with_word_uid),
		T(test_acpi_most_devices_that_fit_are_accepted),
		T(test_acpi_one_device_too_many_for_area_is_e2big),
		T(test_acpi_tables_too_big_write_nothing),
		/* Bad configurations */
		T(test_acpi_null_memory_is_einval),
		T(test_acpi_null_config_is_einval),
		T(test_acpi_zero_vcpus_is_einval),
		T(test_acpi_256_vcpus_is_einval),
		T(test_acpi_too_many_devices_is_einval),
		T(test_acpi_null_device_array_is_einval),
		T(test_acpi_empty_device_window_is_einval),
		T(test_acpi_device_window_past_4g_is_einval),
		T(test_acpi_device_window_of_4g_is_einval),
		T(test_acpi_device_window_ending_at_4g_is_accepted),
		T(test_acpi_device_gsi_past_ioapic_pins_is_einval),
		T(test_acpi_device_gsi_below_gsi_base_is_einval),
		T(test_acpi_com1_irq_outside_ioapic_is_einval),
		T(test_acpi_ioapic_at_4g_is_einval),
		T(test_acpi_lapic_at_4g_is_einval),
		T(test_acpi_bad_config_writes_nothing),
		/* Guest memory */
		T(test_acpi_allocation_failure_is_enomem),
		cmocka_unit_test_setup_teardown(
			test_acpi_unbacked_table_area_is_efault, setup_no_area,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_acpi_unbacked_rsdp_is_efault, setup_no_rsdp,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_acpi_read_only_area_is_eacces, setup_read_only,
			teardown),
		/* iasl */
		T(test_acpi_iasl_disassembles_dsdt),
		T(test_acpi_iasl_disassembles_fadt),
		T(test_acpi_iasl_disassembles_madt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
