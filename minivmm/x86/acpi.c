/* SPDX-License-Identifier: MIT */
/*
 * x86/acpi.c - RSDP, XSDT, FADT, MADT and DSDT for a hardware-reduced ACPI
 * machine, with the small AML encoder the DSDT needs.
 *
 * Everything is assembled in one host buffer the size of the table area,
 * little-endian and byte by byte (no packed structs), then copied into guest
 * memory with two writes: the tables, then the RSDP.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/memory.h>

#include "acpi.h"
#include "boot.h"

_Static_assert(ACPI_TABLES_START == BOOT_LOW_RAM_END,
	       "the tables fill the legacy area from the end of low RAM");
_Static_assert(ACPI_TABLES_END == ACPI_RSDP, "the RSDP follows the tables");

#define AREA_LEN (ACPI_TABLES_END - ACPI_TABLES_START)
#define TABLE_ALIGN 8u
#define GIB4 0x100000000ull

/* Identification in every header (ACPI strings are space padded). */
#define OEM_ID "MINVMM"
#define OEM_TABLE_ID "MINIVMM "
#define OEM_REVISION 1u
#define CREATOR_ID "MVMM"
#define CREATOR_REVISION 1u
#define HYPERVISOR_VENDOR "MINIVMM "

/* The common SDT header (ACPI 6.5, 5.2.6). */
#define SDT_HEADER_LEN 36u
#define SDT_LENGTH 4u
#define SDT_CHECKSUM 9u

/* FADT (5.2.9): revision 6, minor 5, 276 bytes. */
#define FADT_LEN 276u
#define FADT_REVISION 6u
#define FADT_MINOR 5u
#define FADT_IAPC_BOOT_ARCH 109u
#define FADT_FLAGS 112u
#define FADT_MINOR_VERSION 131u
#define FADT_X_DSDT 140u
#define FADT_SLEEP_CONTROL 244u	/* generic address structures */
#define FADT_SLEEP_STATUS 256u
#define FADT_HYPERVISOR_VENDOR 268u
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)
#define FADT_PWR_BUTTON (1u << 4)
#define FADT_SLP_BUTTON (1u << 5)
#define FADT_HW_REDUCED_ACPI (1u << 20)

/* MADT (5.2.12): local APIC address, flags, then the entries. */
#define MADT_REVISION 6u
#define MADT_FIXED_LEN (SDT_HEADER_LEN + 8u)
#define MADT_LAPIC 0u
#define MADT_LAPIC_LEN 8u
#define MADT_LAPIC_ENABLED 1u
#define MADT_IOAPIC 1u
#define MADT_IOAPIC_LEN 12u

#define XSDT_REVISION 1u
#define DSDT_REVISION 2u /* 2 and up: AML integers are 64 bits */

/* RSDP (5.2.5.3). */
#define RSDP_CHECKSUM 8u
#define RSDP_V1_LEN 20u
#define RSDP_EXT_CHECKSUM 32u
#define RSDP_REVISION 2u

/* AML opcodes and prefixes (ACPI 6.5, 20.2). */
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_BUFFER 0x11
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_EXT_PREFIX 0x5b
#define AML_DEVICE 0x82 /* after AML_EXT_PREFIX */
#define AML_NAMESEG_LEN 4u

/* Resource descriptors (6.4). */
#define RES_IO 0x47 /* small, 7 bytes of data */
#define RES_IO_DECODE16 0x01
#define RES_END 0x79		/* small, 1 byte: the checksum, 0 = none */
#define RES_MEMORY32_FIXED 0x86 /* large, 9 bytes of data */
#define RES_MEMORY32_RW 0x01
#define RES_EXT_IRQ 0x89 /* large, 6 bytes of data for one GSI */
#define RES_IRQ_CONSUMER (1u << 0)
#define RES_IRQ_EDGE (1u << 1)
#define RES_MAX 32u /* the largest template built here */

/* A bounded output buffer; the first overflow sticks as -E2BIG. */
struct out {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int err;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, v);
	put32(p + 4, v >> 32);
}

/* The byte that makes the sum of [p, p + len) zero modulo 256. */
static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return -sum;
}

/* Room for len more bytes at o->buf + o->len, or NULL (and -E2BIG). */
static uint8_t *out_reserve(struct out *o, size_t len)
{
	uint8_t *p;

	if (o->err || len > o->cap - o->len) {
		o->err = -E2BIG;
		return NULL;
	}
	p = o->buf + o->len;
	o->len += len;
	return p;
}

static void out_bytes(struct out *o, const void *src, size_t len)
{
	uint8_t *p = out_reserve(o, len);

	if (p)
		memcpy(p, src, len);
}

static void out_u8(struct out *o, uint8_t v)
{
	out_bytes(o, &v, 1);
}

/* ---- AML ---- */

/*
 * Close a package that started at offset `start`: its contents are already
 * in place, so move them up by the size of the PkgLength and write it in
 * front. The PkgLength counts itself, hence the search for the smallest
 * form: one byte for up to 63, else 1 to 3 more bytes of 8 bits each after
 * the lead byte's low nibble (20.2.4).
 */
static void aml_pkg_end(struct out *o, size_t start)
{
	size_t body, total, n;
	uint8_t *p;

	if (o->err)
		return;
	body = o->len - start;
	if (body + 1 <= 0x3f)
		n = 1;
	else if (body + 2 <= 0xfff)
		n = 2;
	else if (body + 3 <= 0xfffff)
		n = 3;
	else if (body + 4 <= 0xfffffff)
		n = 4;
	else {
		o->err = -E2BIG;
		return;
	}
	if (!out_reserve(o, n))
		return;
	p = o->buf + start;
	memmove(p + n, p, body);
	total = body + n;
	if (n == 1) {
		p[0] = total;
		return;
	}
	p[0] = (n - 1) << 6 | (total & 0xf);
	p[1] = total >> 4;
	if (n > 2)
		p[2] = total >> 12;
	if (n > 3)
		p[3] = total >> 20;
}

/* One NameSeg: four characters, already padded with '_'. */
static void aml_nameseg(struct out *o, const char *seg)
{
	out_bytes(o, seg, AML_NAMESEG_LEN);
}

/* A NameString of one segment ("COM1") or two ("_SB_.COM1"). */
static void aml_namestring(struct out *o, const char *path)
{
	if (strlen(path) == 2 * AML_NAMESEG_LEN + 1) {
		out_u8(o, AML_DUAL_NAME_PREFIX);
		aml_nameseg(o, path);
		aml_nameseg(o, path + AML_NAMESEG_LEN + 1);
		return;
	}
	aml_nameseg(o, path);
}

/*
 * An integer in the smallest prefixed form. Zero and one keep BytePrefix
 * rather than ZeroOp/OneOp: both are valid AML, and this way _UID 0 is the
 * `0a 00` of the DSDT layout minivmm documents.
 */
static void aml_integer(struct out *o, uint64_t v)
{
	uint8_t b[9];
	size_t n;

	if (v <= 0xff) {
		b[0] = AML_BYTE_PREFIX;
		b[1] = v;
		n = 2;
	} else if (v <= 0xffff) {
		b[0] = AML_WORD_PREFIX;
		put16(b + 1, v);
		n = 3;
	} else if (v <= 0xffffffff) {
		b[0] = AML_DWORD_PREFIX;
		put32(b + 1, v);
		n = 5;
	} else {
		b[0] = AML_QWORD_PREFIX;
		put64(b + 1, v);
		n = 9;
	}
	out_bytes(o, b, n);
}

/* Name(seg, "str") */
static void aml_name_string(struct out *o, const char *seg, const char *str)
{
	out_u8(o, AML_NAME);
	aml_nameseg(o, seg);
	out_u8(o, AML_STRING_PREFIX);
	out_bytes(o, str, strlen(str) + 1);
}

/* Name(seg, v) */
static void aml_name_integer(struct out *o, const char *seg, uint64_t v)
{
	out_u8(o, AML_NAME);
	aml_nameseg(o, seg);
	aml_integer(o, v);
}

/* Name(seg, One) */
static void aml_name_one(struct out *o, const char *seg)
{
	out_u8(o, AML_NAME);
	aml_nameseg(o, seg);
	out_u8(o, AML_ONE);
}

/*
 * Name(seg, EisaId("AAAdddd")): three letters of five bits each (A = 1)
 * packed big-endian into the first two bytes, then the four hex digits as
 * two bytes, read as one little-endian DWord.
 */
static void aml_name_eisaid(struct out *o, const char *seg, const char *id)
{
	static const char hex[] = "0123456789ABCDEF";
	uint16_t vendor =
		(id[0] & 0x1f) << 10 | (id[1] & 0x1f) << 5 | (id[2] & 0x1f);
	uint8_t b[5];
	unsigned i;

	b[0] = AML_DWORD_PREFIX;
	b[1] = vendor >> 8;
	b[2] = vendor;
	b[3] = 0;
	b[4] = 0;
	for (i = 0; i < 4; i++) {
		uint8_t digit = strchr(hex, id[3 + i]) - hex;

		b[3 + i / 2] |= digit << (i % 2 ? 0 : 4);
	}
	out_u8(o, AML_NAME);
	aml_nameseg(o, seg);
	out_bytes(o, b, sizeof(b));
}

/*
 * Name(_CRS, ResourceTemplate() { ... }): a Buffer whose size is an
 * integer in front of the descriptors, which end with an EndTag.
 */
static void aml_name_crs(struct out *o, const uint8_t *res, size_t len)
{
	static const uint8_t end[] = { RES_END, 0 };
	size_t start;

	out_u8(o, AML_NAME);
	aml_nameseg(o, "_CRS");
	out_u8(o, AML_BUFFER);
	start = o->len;
	aml_integer(o, len + sizeof(end));
	out_bytes(o, res, len);
	out_bytes(o, end, sizeof(end));
	aml_pkg_end(o, start);
}

/* Device(path) { ... }: returns where the package starts, for the end. */
static size_t aml_device_begin(struct out *o, const char *path)
{
	size_t start;

	out_u8(o, AML_EXT_PREFIX);
	out_u8(o, AML_DEVICE);
	start = o->len;
	aml_namestring(o, path);
	return start;
}

static void aml_device_end(struct out *o, size_t start)
{
	aml_pkg_end(o, start);
}

/* Memory32Fixed(ReadWrite, gpa, len) */
static size_t res_memory32_fixed(uint8_t *p, uint32_t gpa, uint32_t len)
{
	p[0] = RES_MEMORY32_FIXED;
	put16(p + 1, 9);
	p[3] = RES_MEMORY32_RW;
	put32(p + 4, gpa);
	put32(p + 8, len);
	return 12;
}

/* Interrupt(ResourceConsumer, Edge, ActiveHigh, Exclusive) { gsi } */
static size_t res_ext_irq(uint8_t *p, uint32_t gsi)
{
	p[0] = RES_EXT_IRQ;
	put16(p + 1, 6);
	p[3] = RES_IRQ_CONSUMER | RES_IRQ_EDGE;
	p[4] = 1;
	put32(p + 5, gsi);
	return 9;
}

/* IO(Decode16, port, port, 1, len): one fixed range of ports. */
static size_t res_io(uint8_t *p, uint16_t port, uint8_t len)
{
	p[0] = RES_IO;
	p[1] = RES_IO_DECODE16;
	put16(p + 2, port);
	put16(p + 4, port);
	p[6] = 1;
	p[7] = len;
	return 8;
}

/*
 * Device(Vxxx) { _HID "LNRO0005", _UID i, _CCA One, _CRS { Memory32Fixed,
 * Interrupt } }: what Linux's virtio_mmio driver matches on ACPI.
 */
static void dsdt_virtio_mmio(struct out *o, unsigned i,
			     const struct acpi_virtio_mmio *dev)
{
	static const char hex[] = "0123456789ABCDEF";
	char name[AML_NAMESEG_LEN + 1] = { 'V', hex[i >> 8 & 0xf],
					   hex[i >> 4 & 0xf], hex[i & 0xf] };
	uint8_t res[RES_MAX];
	size_t start, len = 0;

	/* check_config() keeps the window below 4 GiB: the casts are exact. */
	len += res_memory32_fixed(res + len, (uint32_t)dev->gpa,
				  (uint32_t)dev->len);
	len += res_ext_irq(res + len, dev->gsi);
	start = aml_device_begin(o, name);
	aml_name_string(o, "_HID", "LNRO0005");
	aml_name_integer(o, "_UID", i);
	aml_name_one(o, "_CCA");
	aml_name_crs(o, res, len);
	aml_device_end(o, start);
}

/* Device(_SB.COM1) { _HID EisaId("PNP0501"), _UID 0, _DDN "COM1", _CRS }. */
static void dsdt_com1(struct out *o)
{
	uint8_t res[RES_MAX];
	size_t start, len = 0;

	len += res_ext_irq(res + len, ACPI_COM1_IRQ);
	len += res_io(res + len, ACPI_COM1_PORT, ACPI_COM1_PORT_LEN);
	start = aml_device_begin(o, "_SB_.COM1");
	aml_name_eisaid(o, "_HID", "PNP0501");
	aml_name_integer(o, "_UID", 0);
	aml_name_string(o, "_DDN", "COM1");
	aml_name_crs(o, res, len);
	aml_device_end(o, start);
}

/* ---- Tables ---- */

/* Start a table: the header with its length and checksum still zero. */
static size_t table_begin(struct out *o, const char *sig, uint8_t revision)
{
	size_t start;
	uint8_t *h;

	/* Align the table; the padding is zero (the buffer starts zeroed). */
	if (o->len % TABLE_ALIGN)
		out_reserve(o, TABLE_ALIGN - o->len % TABLE_ALIGN);
	start = o->len;
	h = out_reserve(o, SDT_HEADER_LEN);
	if (!h)
		return start;
	memcpy(h, sig, 4);
	h[8] = revision;
	memcpy(h + 10, OEM_ID, 6);
	memcpy(h + 16, OEM_TABLE_ID, 8);
	put32(h + 24, OEM_REVISION);
	memcpy(h + 28, CREATOR_ID, 4);
	put32(h + 32, CREATOR_REVISION);
	return start;
}

/* Finish a table: its length, then the checksum over all of it. */
static void table_end(struct out *o, size_t start)
{
	uint8_t *t = o->buf + start;
	size_t len = o->len - start;

	if (o->err)
		return;
	put32(t + SDT_LENGTH, len);
	t[SDT_CHECKSUM] = checksum(t, len);
}

static uint64_t table_gpa(size_t start)
{
	return ACPI_TABLES_START + start;
}

/* Name(\_S5, Package() { SLP_TYPa, SLP_TYPb }): the soft-off state. */
static void dsdt_s5(struct out *o)
{
	static const uint8_t s5[] = {
		0x08, '_', 'S', '5', '_',	/* NameOp "_S5_" */
		0x12, 0x06, 0x02,		/* PackageOp, length, 2 items */
		0x0a, ACPI_S5_SLP_TYP,		/* BytePrefix SLP_TYPa */
		0x0a, 0x00,			/* BytePrefix SLP_TYPb */
	};

	out_bytes(o, s5, sizeof(s5));
}

static size_t build_dsdt(struct out *o, const struct acpi_config *cfg)
{
	size_t start = table_begin(o, "DSDT", DSDT_REVISION);
	unsigned i;

	for (i = 0; i < cfg->nr_virtio; i++)
		dsdt_virtio_mmio(o, i, &cfg->virtio[i]);
	if (cfg->com1)
		dsdt_com1(o);
	if (cfg->sleep_port)
		dsdt_s5(o);
	table_end(o, start);
	return start;
}

/*
 * Hardware-reduced ACPI: no SCI, PM timer, PM1 or GPE blocks, so all of
 * those fields stay zero; the only pointer is the 64-bit one to the DSDT.
 */
/* A generic address structure for one byte-wide I/O port. */
static void put_gas_io8(uint8_t *p, uint16_t port)
{
	p[0] = 1;	/* SystemIO */
	p[1] = 8;	/* bit width */
	p[2] = 0;	/* bit offset */
	p[3] = 1;	/* byte access */
	put64(p + 4, port);
}

static size_t build_fadt(struct out *o, size_t dsdt,
			 const struct acpi_config *cfg)
{
	size_t start = table_begin(o, "FACP", FADT_REVISION);
	uint8_t *t;

	if (!out_reserve(o, FADT_LEN - SDT_HEADER_LEN))
		return start;
	t = o->buf + start;
	/* No CMOS RTC: its ports read as all ones, so a guest that probed
	 * it would poll a forever-busy update flag (thousands of exits). */
	put16(t + FADT_IAPC_BOOT_ARCH,
	      IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRESENT);
	put32(t + FADT_FLAGS,
	      FADT_HW_REDUCED_ACPI | FADT_PWR_BUTTON | FADT_SLP_BUTTON);
	t[FADT_MINOR_VERSION] = FADT_MINOR;
	put64(t + FADT_X_DSDT, table_gpa(dsdt));
	if (cfg->sleep_port) {
		put_gas_io8(t + FADT_SLEEP_CONTROL, cfg->sleep_port);
		put_gas_io8(t + FADT_SLEEP_STATUS, cfg->sleep_port + 1);
	}
	memcpy(t + FADT_HYPERVISOR_VENDOR, HYPERVISOR_VENDOR, 8);
	table_end(o, start);
	return start;
}

/*
 * Flags 0: there are no PC-AT 8259s to mask, and without interrupt source
 * overrides ISA IRQ n is GSI n, edge triggered, active high.
 */
static size_t build_madt(struct out *o, const struct acpi_config *cfg)
{
	size_t start = table_begin(o, "APIC", MADT_REVISION);
	uint8_t *p;
	unsigned i;

	p = out_reserve(o, 8 + MADT_IOAPIC_LEN);
	if (!p)
		return start;
	put32(p, cfg->lapic_gpa);
	put32(p + 4, 0);
	p += 8;
	p[0] = MADT_IOAPIC;
	p[1] = MADT_IOAPIC_LEN;
	p[2] = 0; /* IOAPIC id */
	p[3] = 0;
	put32(p + 4, cfg->ioapic_gpa);
	put32(p + 8, cfg->ioapic_gsi_base);
	for (i = 0; i < cfg->nr_vcpus; i++) {
		p = out_reserve(o, MADT_LAPIC_LEN);
		if (!p)
			return start;
		p[0] = MADT_LAPIC;
		p[1] = MADT_LAPIC_LEN;
		p[2] = i; /* ACPI processor UID */
		p[3] = i; /* APIC id */
		put32(p + 4, MADT_LAPIC_ENABLED);
	}
	table_end(o, start);
	return start;
}

static size_t build_xsdt(struct out *o, size_t fadt, size_t madt)
{
	size_t start = table_begin(o, "XSDT", XSDT_REVISION);
	uint8_t *p = out_reserve(o, 16);

	if (!p)
		return start;
	put64(p, table_gpa(fadt));
	put64(p + 8, table_gpa(madt));
	table_end(o, start);
	return start;
}

static void build_rsdp(uint8_t *p, uint64_t xsdt_gpa)
{
	memset(p, 0, ACPI_RSDP_LEN);
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, OEM_ID, 6);
	p[15] = RSDP_REVISION;
	put32(p + 20, ACPI_RSDP_LEN);
	put64(p + 24, xsdt_gpa);
	p[RSDP_CHECKSUM] = checksum(p, RSDP_V1_LEN);
	p[RSDP_EXT_CHECKSUM] = checksum(p, ACPI_RSDP_LEN);
}

/*
 * Whether [gpa, gpa + len) is a non-empty range that ends at or below 4 GiB
 * and whose start and length both fit 32 bits (a whole 4 GiB does not).
 */
static bool below_4g(uint64_t gpa, uint64_t len)
{
	return len && len < GIB4 && gpa < GIB4 && len <= GIB4 - gpa;
}

static bool ioapic_input(const struct acpi_config *cfg, uint32_t gsi)
{
	return gsi >= cfg->ioapic_gsi_base &&
	       gsi - cfg->ioapic_gsi_base < ACPI_IOAPIC_PINS;
}

static int check_config(const struct acpi_config *cfg)
{
	unsigned i;

	if (!cfg->nr_vcpus || cfg->nr_vcpus > ACPI_MAX_VCPUS)
		return -EINVAL;
	if (cfg->nr_virtio > ACPI_MAX_VIRTIO_MMIO ||
	    (cfg->nr_virtio && !cfg->virtio))
		return -EINVAL;
	if (!below_4g(cfg->ioapic_gpa, 1) || !below_4g(cfg->lapic_gpa, 1))
		return -EINVAL;
	for (i = 0; i < cfg->nr_virtio; i++) {
		const struct acpi_virtio_mmio *dev = &cfg->virtio[i];

		if (!below_4g(dev->gpa, dev->len) ||
		    !ioapic_input(cfg, dev->gsi))
			return -EINVAL;
	}
	/* The status register is the port after the control register. */
	if (cfg->sleep_port == 0xffff)
		return -EINVAL;
	if (cfg->com1 && !ioapic_input(cfg, ACPI_COM1_IRQ))
		return -EINVAL;
	return 0;
}

int acpi_build(struct vmmem *mem, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa)
{
	uint8_t rsdp[ACPI_RSDP_LEN];
	size_t dsdt, fadt, madt, xsdt;
	struct out o = { .cap = AREA_LEN };
	int ret = 0;

	if (!mem || !cfg)
		return -EINVAL;
	ret = check_config(cfg);
	if (ret)
		return ret;
	o.buf = calloc(1, AREA_LEN);
	if (!o.buf)
		return -ENOMEM;
	dsdt = build_dsdt(&o, cfg);
	fadt = build_fadt(&o, dsdt, cfg);
	madt = build_madt(&o, cfg);
	xsdt = build_xsdt(&o, fadt, madt);
	ret = o.err;
	if (ret)
		goto out_free;
	build_rsdp(rsdp, table_gpa(xsdt));
	ret = vmmem_write(mem, ACPI_TABLES_START, o.buf, o.len);
	if (ret)
		goto out_free;
	/* Last: until the RSDP is in place the guest cannot find the rest. */
	ret = vmmem_write(mem, ACPI_RSDP, rsdp, sizeof(rsdp));
	if (ret)
		goto out_free;
	if (rsdp_gpa)
		*rsdp_gpa = ACPI_RSDP;
out_free:
	free(o.buf);
	return ret;
}
