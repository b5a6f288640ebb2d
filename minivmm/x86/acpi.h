/* SPDX-License-Identifier: MIT */
/*
 * x86/acpi.h - the ACPI tables that describe the machine to a Linux guest:
 * its vCPUs and IOAPIC (MADT), its virtio-mmio devices and COM1 (DSDT), in
 * hardware-reduced mode (FADT), reached through the XSDT and the RSDP.
 */
#ifndef MINIVMM_X86_ACPI_H
#define MINIVMM_X86_ACPI_H

#include <stdbool.h>
#include <stdint.h>

struct vmmem;

/*
 * Guest-physical layout. The tables go first-fit into the legacy area
 * between the end of low RAM and the RSDP (reserved in the memory map);
 * the RSDP sits at the start of the BIOS area that Linux scans for it.
 */
#define ACPI_TABLES_START 0x9fc00ull /* == BOOT_LOW_RAM_END */
#define ACPI_TABLES_END 0xe0000ull   /* exclusive */
#define ACPI_RSDP 0xe0000ull	     /* 36 bytes */
#define ACPI_RSDP_LEN 36u

/* The interrupt controllers as KVM's in-kernel irqchip places them. */
#define ACPI_IOAPIC_GPA 0xfec00000ull
#define ACPI_IOAPIC_PINS 24u /* GSIs gsi_base .. gsi_base + 23 */
#define ACPI_LAPIC_GPA 0xfee00000ull

/* The legacy COM1 UART. */
#define ACPI_COM1_PORT 0x3f8u
#define ACPI_COM1_PORT_LEN 8u
#define ACPI_COM1_IRQ 4u /* ISA IRQ 4 == GSI 4, no override */

/* Limits: APIC id 0xff is the broadcast id; device names are "Vxxx" with
 * three hexadecimal digits. */
#define ACPI_MAX_VCPUS 255u
#define ACPI_MAX_VIRTIO_MMIO 4096u

/* One virtio-mmio device: its register window and its interrupt. */
struct acpi_virtio_mmio {
	uint64_t gpa; /* first byte of the window */
	uint64_t len; /* window length, not 0 */
	uint32_t gsi; /* an IOAPIC input, edge triggered */
};

/* What the tables describe. All addresses must lie below 4 GiB. */
struct acpi_config {
	unsigned nr_vcpus;	  /* APIC ids and ACPI processor ids 0..n-1 */
	uint64_t ioapic_gpa;	  /* ACPI_IOAPIC_GPA */
	uint32_t ioapic_gsi_base; /* 0 */
	uint64_t lapic_gpa;	  /* ACPI_LAPIC_GPA */
	const struct acpi_virtio_mmio *virtio; /* NULL only when none */
	unsigned nr_virtio;
	bool com1; /* an 8250 at ACPI_COM1_PORT, ACPI_COM1_IRQ */
	/*
	 * 0: no ACPI sleep states. Otherwise the hardware-reduced sleep
	 * control register is this I/O port (status at port + 1), and the
	 * DSDT has \_S5 with SLP_TYP ACPI_S5_SLP_TYP, so that the guest can
	 * power off: it writes (ACPI_S5_SLP_TYP << 2) | ACPI_SLP_EN there.
	 */
	uint16_t sleep_port;
};

#define ACPI_SLEEP_PORT 0x600u
#define ACPI_S5_SLP_TYP 5u
#define ACPI_SLP_EN 0x20u

/**
 * acpi_build() - write the ACPI tables into guest memory.
 * @mem: guest memory; must back [ACPI_TABLES_START, ACPI_RSDP + 36).
 * @cfg: the machine to describe; read only during the call.
 * @rsdp_gpa: if not NULL, receives the address of the RSDP (ACPI_RSDP),
 *            for boot_params.acpi_rsdp_addr or the PVH start info.
 *
 * Writes, in this order and each at the first 8-byte-aligned address after
 * the previous one from ACPI_TABLES_START on: the DSDT (revision 2, one
 * device "Vxxx" with _HID "LNRO0005" per virtio-mmio device in @cfg order,
 * at root scope, then \_SB.COM1 with _HID PNP0501 when @cfg->com1), the
 * FADT (revision 6.5, HW_REDUCED_ACPI, X_DSDT), the MADT (one enabled local
 * APIC per vCPU, one IOAPIC, no PC-AT 8259s) and the XSDT (FADT, MADT);
 * then the revision 2 RSDP at ACPI_RSDP. Every checksum is filled in.
 *
 * The tables are assembled in a host buffer and validated before the first
 * guest byte is written. The RSDP is written last, so if writing guest
 * memory fails the guest finds no tables (it may find some of their bytes).
 *
 * Example, one vCPU, one virtio-mmio console and COM1:
 *
 *	struct acpi_virtio_mmio con = { VIRTIO_MMIO_BASE, 0x1000,
 *					VIRTIO_MMIO_GSI };
 *	struct acpi_config cfg = {
 *		.nr_vcpus = 1,
 *		.ioapic_gpa = ACPI_IOAPIC_GPA,
 *		.lapic_gpa = ACPI_LAPIC_GPA,
 *		.virtio = &con,
 *		.nr_virtio = 1,
 *		.com1 = true,
 *	};
 *	uint64_t rsdp;
 *	int rc = acpi_build(mem, &cfg, &rsdp);
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL @mem or @cfg, 0 or more than ACPI_MAX_VCPUS
 * vCPUs, more than ACPI_MAX_VIRTIO_MMIO devices, a NULL device array with
 * devices, a device window that is empty, 4 GiB long or ends above 4 GiB, a
 * device GSI (or COM1's IRQ 4) that is not an input of the IOAPIC, or an
 * IOAPIC or local APIC address at or above 4 GiB; -E2BIG when the tables do
 * not fit [ACPI_TABLES_START, ACPI_TABLES_END) (nothing is written);
 * -ENOMEM; the errors of vmmem_write() (-EFAULT when the area is not
 * backed, -EACCES when it is read-only).
 */
int acpi_build(struct vmmem *mem, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa);

#endif /* MINIVMM_X86_ACPI_H */
