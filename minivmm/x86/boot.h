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
#define BOOT_MEMMAP_MAX 5u		/* entries that fit before the modules */
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

/*
 * arch_ram_ranges() - the RAM ranges minivmm gives a memory size: the layout
 * a VMM decides before it creates guest memory.
 * @size: bytes of RAM.
 * @gpa: receives the first address of each range.
 * @len: receives the length of each range.
 *
 * RAM starts at 0 and stops at the MMIO hole; what does not fit below the
 * hole goes on at MMIO_HOLE_END. Once the memory exists, code that needs
 * the guest's RAM reads it from the memory (arch_ram_map()), not from a
 * size.
 *
 * Return: the number of ranges, 1 or 2 (1 with len[0] = 0 for a size of 0).
 * Errors: none.
 */
unsigned arch_ram_ranges(uint64_t size, uint64_t gpa[2], uint64_t len[2]);

/*
 * arch_ram_map() - the guest's RAM as guest memory holds it: the regions of
 * @mem in ascending address order, adjacent regions merged into one range.
 * @mem: guest memory.
 * @gpa: receives the first address of each range; NULL when @max is 0.
 * @len: receives the length of each range; NULL when @max is 0.
 * @max: room in @gpa and @len.
 *
 * Every region counts as RAM, whatever backs it. Ranges past the first @max
 * are counted but not stored, so a result above @max says the arrays were
 * too short, and @max 0 only counts.
 *
 * Return: the number of ranges; 0 for a memory without regions.
 * Errors: none.
 */
unsigned arch_ram_map(struct vmmem *mem, uint64_t *gpa, uint64_t *len,
		      unsigned max);

/*
 * arch_low_ram_end() - the end of RAM below the MMIO hole, where a kernel,
 * an initrd and everything a 32-bit boot address points to must lie.
 * @mem: guest memory.
 *
 * It is the end of the last range of arch_ram_map() that starts below
 * MMIO_HOLE, capped at MMIO_HOLE. RAM below it need not be contiguous:
 * whoever writes there still checks that its range is backed.
 *
 * Return: that address, or 0 when no RAM starts below the hole.
 * Errors: none.
 */
uint64_t arch_low_ram_end(struct vmmem *mem);

/* Entry types of the e820-style memory map (the PVH ABI uses the same). */
#define BOOT_E820_RAM 1u
#define BOOT_E820_RESERVED 2u

/* One entry of the memory map given to the guest. */
struct boot_e820_entry {
	uint64_t gpa;
	uint64_t len;
	uint32_t type;	/* BOOT_E820_* */
};

/*
 * arch_e820_map() - the memory map a guest gets for @mem: the ranges of
 * arch_ram_map() as RAM, except that the part of them in the legacy area
 * [BOOT_LOW_RAM_END, BOOT_HIGH_RAM) (the EBDA, VGA and BIOS ROM of a PC,
 * which a guest must not use as RAM) is listed as reserved.
 * @mem: guest memory.
 * @map: receives the entries in ascending address order; NULL when @max
 *       is 0.
 * @max: room in @map.
 *
 * For minivmm's layout that is [0, BOOT_LOW_RAM_END) RAM, the legacy area
 * reserved, RAM from BOOT_HIGH_RAM to the hole, and RAM above 4 GiB when
 * there is any. As for arch_ram_map(), entries past @max are counted only.
 *
 * Return: the number of entries.
 * Errors: none.
 */
unsigned arch_e820_map(struct vmmem *mem, struct boot_e820_entry *map,
		       unsigned max);

/* What a PVH kernel such as Linux's vmlinux gets beyond the memory map and
 * the command line (all 0 for our own guest). */
struct boot_pvh_extra {
	uint64_t rsdp_gpa;	/* the ACPI RSDP; 0: none */
	uint64_t initrd_gpa;	/* module 0, the initrd */
	uint64_t initrd_len;	/* 0: no module */
};

/*
 * arch_setup_pvh() - write the PVH boot information.
 * @mem: guest memory; its regions are the guest's RAM.
 * @cmdline: the command line; "" for none.
 * @x: what a Linux kernel gets more (NULL: nothing): rsdp_paddr, and the
 *     initrd as the one module at BOOT_MODLIST.
 *
 * Writes hvm_start_info at BOOT_START_INFO, the memory map of
 * arch_e820_map() for @mem at BOOT_MEMMAP, and the command line at
 * BOOT_CMDLINE. The sizes are checked before anything is written.
 *
 * Return: 0 on success.
 * Errors: -E2BIG when the command line does not fit BOOT_CMDLINE_MAX or the
 * memory map has more than BOOT_MEMMAP_MAX entries (then nothing is
 * written); the errors of vmmem_write() (-EFAULT when a boot area is not
 * backed, -EACCES when it is read-only).
 */
int arch_setup_pvh(struct vmmem *mem, const char *cmdline,
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
