/* SPDX-License-Identifier: MIT */
/*
 * x86/boot.h - the guest-physical layout and the x86 boot information the
 * VMM writes for the guest (the PVH start info, its memory map and the
 * command line).
 */
#ifndef MINIVMM_X86_BOOT_H
#define MINIVMM_X86_BOOT_H

#include <stdint.h>

struct vmmem;

/* Guest-physical layout (the common microVM layout). */
#define BOOT_START_INFO 0x6000ull	/* struct hvm_start_info */
#define BOOT_MEMMAP 0x6040ull		/* its memory map */
#define BOOT_MODLIST 0x60c0ull		/* its module list: the initrd */
#define BOOT_CMDLINE 0x20000ull		/* NUL-terminated command line */
#define BOOT_CMDLINE_MAX 0x800u		/* including the NUL */
#define BOOT_LOW_RAM_END 0x9fc00ull	/* end of RAM below the legacy area */
#define BOOT_HIGH_RAM 0x100000ull	/* 1 MiB: images load here or above */
#define MMIO_HOLE 0xc0000000ull		/* [3 GiB, 4 GiB): devices, no RAM */
#define MMIO_HOLE_END 0x100000000ull
#define VIRTIO_MMIO_BASE 0xc0001000ull	/* device n at + n * 0x1000 */
#define VIRTIO_MMIO_GSI 5		/* device n uses GSI 5 + n */

/* The 64-bit entry state of the Linux boot protocol (arch_setup_long_mode). */
#define BOOT_GDT 0x500ull		/* null, code 0x08, data 0x10, TSS 0x18 */
#define BOOT_IDT 0x520ull		/* one empty gate: no interrupts yet */
#define BOOT_STACK 0x8ff0ull		/* initial RSP and RBP */
#define BOOT_PML4 0x9000ull		/* identity map of the first 1 GiB */
#define BOOT_PDPT 0xa000ull
#define BOOT_PD 0xb000ull
#define BOOT_IDENT_MAX (1ull << 30)	/* what that map covers */

/* The RAM ranges for a memory size: below the hole, and above 4 GiB. */
unsigned arch_ram_ranges(uint64_t size, uint64_t gpa[2], uint64_t len[2]);

/* What a PVH kernel such as Linux's vmlinux gets beyond the memory map and
 * the command line (all 0 for our own guest). */
struct boot_pvh_extra {
	uint64_t rsdp_gpa;	/* the ACPI RSDP; 0: none */
	uint64_t initrd_gpa;	/* module 0, the initrd */
	uint64_t initrd_len;	/* 0: no module */
};

/*
 * Write the PVH boot information: hvm_start_info at BOOT_START_INFO with
 * the e820-style memory map for `size` bytes of RAM, the command line, and
 * what x asks for (NULL: nothing more): rsdp_paddr, and the initrd as the
 * one module at BOOT_MODLIST.
 * Return: 0, -E2BIG when the command line does not fit BOOT_CMDLINE_MAX,
 * or a libvmmem error.
 */
int arch_setup_pvh(struct vmmem *mem, uint64_t size, const char *cmdline,
		   const struct boot_pvh_extra *x);

/*
 * Write what a 64-bit entry needs: a GDT at BOOT_GDT (flat 64-bit code at
 * selector 0x08, data at 0x10, a TSS descriptor at 0x18), an empty IDT at
 * BOOT_IDT, and page tables at BOOT_PML4 identity-mapping [0, 1 GiB) with
 * 2 MiB pages. The boot protocol wants at least [0, ident_end) mapped.
 * Return: 0, -E2BIG when ident_end is above 1 GiB, or a libvmmem error.
 */
int arch_setup_long_mode(struct vmmem *mem, uint64_t ident_end);

#endif /* MINIVMM_X86_BOOT_H */
