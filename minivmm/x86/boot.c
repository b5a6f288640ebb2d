/* SPDX-License-Identifier: MIT */
/* x86/boot.c - memory layout and PVH boot information. */
#include <errno.h>
#include <string.h>

#include <vmmem/memory.h>

#include "boot.h"

/* The PVH boot ABI (Xen's arch-x86/hvm/start_info.h, version 1). */
#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

#define E820_RAM 1
#define E820_RESERVED 2

static struct hvm_memmap_entry entry(uint64_t addr, uint64_t size,
				     uint32_t type)
{
	return (struct hvm_memmap_entry){ .addr = addr, .size = size,
					  .type = type };
}

unsigned arch_ram_ranges(uint64_t size, uint64_t gpa[2], uint64_t len[2])
{
	gpa[0] = 0;
	len[0] = size < MMIO_HOLE ? size : MMIO_HOLE;
	if (size <= MMIO_HOLE)
		return 1;
	gpa[1] = MMIO_HOLE_END;
	len[1] = size - MMIO_HOLE;
	return 2;
}

int arch_setup_pvh(struct vmmem *mem, uint64_t size, const char *cmdline,
		   const struct boot_pvh_extra *x)
{
	const struct boot_pvh_extra none = { 0 };
	struct hvm_modlist_entry mod;
	struct hvm_memmap_entry map[4];
	struct hvm_start_info si;
	uint64_t gpa[2], len[2];
	unsigned n = 0, nram, i;
	size_t clen = strlen(cmdline) + 1;
	int rc;

	if (clen > BOOT_CMDLINE_MAX)
		return -E2BIG;
	if (!x)
		x = &none;
	nram = arch_ram_ranges(size, gpa, len);
	/* Low RAM, the legacy area (reserved: no RAM a guest may use),
	 * RAM from 1 MiB to the hole, RAM above 4 GiB. */
	map[n++] = entry(0, BOOT_LOW_RAM_END, E820_RAM);
	map[n++] = entry(BOOT_LOW_RAM_END, BOOT_HIGH_RAM - BOOT_LOW_RAM_END,
			 E820_RESERVED);
	map[n++] = entry(BOOT_HIGH_RAM, len[0] - BOOT_HIGH_RAM, E820_RAM);
	for (i = 1; i < nram; i++)
		map[n++] = entry(gpa[i], len[i], E820_RAM);
	si = (struct hvm_start_info){
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = BOOT_CMDLINE,
		.memmap_paddr = BOOT_MEMMAP,
		.memmap_entries = n,
		.rsdp_paddr = x->rsdp_gpa,
	};
	rc = vmmem_write(mem, BOOT_CMDLINE, cmdline, clen);
	if (!rc && x->initrd_len) {
		mod = (struct hvm_modlist_entry){ .paddr = x->initrd_gpa,
						  .size = x->initrd_len };
		si.nr_modules = 1;
		si.modlist_paddr = BOOT_MODLIST;
		rc = vmmem_write_obj(mem, BOOT_MODLIST, &mod);
	}
	if (!rc)
		rc = vmmem_write(mem, BOOT_MEMMAP, map, n * sizeof(map[0]));
	if (!rc)
		rc = vmmem_write_obj(mem, BOOT_START_INFO, &si);
	return rc;
}

/* Page-table entry bits. */
#define PTE_PRESENT 0x1ull
#define PTE_WRITE 0x2ull
#define PTE_HUGE 0x80ull

int arch_setup_long_mode(struct vmmem *mem, uint64_t ident_end)
{
	/* Flat segments: 64-bit code (L=1), data, and a 32-bit TSS type for
	 * TR (the kernel loads its own TSS at once). */
	static const uint64_t gdt[4] = {
		0,
		0x00af9b000000ffffull,
		0x00cf93000000ffffull,
		0x008f8b000000ffffull,
	};
	uint64_t pd[512];
	uint64_t pml4 = BOOT_PDPT | PTE_PRESENT | PTE_WRITE;
	uint64_t pdpt = BOOT_PD | PTE_PRESENT | PTE_WRITE;
	uint64_t idt = 0;
	unsigned i;
	int rc;

	if (ident_end > BOOT_IDENT_MAX)
		return -E2BIG;
	for (i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | PTE_PRESENT | PTE_WRITE | PTE_HUGE;
	rc = vmmem_write(mem, BOOT_GDT, gdt, sizeof(gdt));
	if (!rc)
		rc = vmmem_write_obj(mem, BOOT_IDT, &idt);
	if (!rc)
		rc = vmmem_write_obj(mem, BOOT_PML4, &pml4);
	if (!rc)
		rc = vmmem_write_obj(mem, BOOT_PDPT, &pdpt);
	if (!rc)
		rc = vmmem_write(mem, BOOT_PD, pd, sizeof(pd));
	return rc;
}
