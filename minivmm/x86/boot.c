/* SPDX-License-Identifier: MIT */
/* x86/boot.c - RAM layout, memory map and PVH boot information. */
#include <errno.h>
#include <string.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>

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

#define MEMMAP_END                                                             \
	(BOOT_MEMMAP + BOOT_MEMMAP_MAX * sizeof(struct hvm_memmap_entry))
_Static_assert(MEMMAP_END <= BOOT_MODLIST,
	       "the memory map runs into the module list");

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

/*
 * The range of the map that starts with region *i: that region and the
 * regions right after it that continue it. Moves *i past them. A set's
 * regions are sorted and never overlap, so this is the whole range.
 */
static void next_range(struct vmmem *mem, size_t *i, uint64_t *gpa,
		       uint64_t *len)
{
	size_t n = vmmem_region_count(mem);
	struct vmmem_region *r = vmmem_region_at(mem, (*i)++);

	*gpa = vmmem_region_gpa(r);
	*len = vmmem_region_len(r);
	for (; *i < n; (*i)++) {
		r = vmmem_region_at(mem, *i);
		/* A region ending at 2^64 has no successor: no wrap here. */
		if (vmmem_region_gpa(r) != *gpa + *len)
			break;
		*len += vmmem_region_len(r);
	}
}

unsigned arch_ram_map(struct vmmem *mem, uint64_t *gpa, uint64_t *len,
		      unsigned max)
{
	size_t i = 0, n = vmmem_region_count(mem);
	uint64_t g, l;
	unsigned nr = 0;

	while (i < n) {
		next_range(mem, &i, &g, &l);
		if (nr < max) {
			gpa[nr] = g;
			len[nr] = l;
		}
		nr++;
	}
	return nr;
}

uint64_t arch_low_ram_end(struct vmmem *mem)
{
	size_t i = 0, n = vmmem_region_count(mem);
	uint64_t g, l, end = 0;

	while (i < n) {
		next_range(mem, &i, &g, &l);
		if (g >= MMIO_HOLE)
			break;
		/* g < MMIO_HOLE: MMIO_HOLE - g cannot wrap, g + l then
		 * cannot either. */
		end = l < MMIO_HOLE - g ? g + l : MMIO_HOLE;
	}
	return end;
}

/* Append [gpa, last] of the given type to the map, if there is room. */
static void e820_add(struct boot_e820_entry *map, unsigned max, unsigned *nr,
		     uint64_t gpa, uint64_t last, uint32_t type)
{
	if (*nr < max)
		map[*nr] = (struct boot_e820_entry){ .gpa = gpa,
						     .len = last - gpa + 1,
						     .type = type };
	(*nr)++;
}

unsigned arch_e820_map(struct vmmem *mem, struct boot_e820_entry *map,
		       unsigned max)
{
	const uint64_t legacy = BOOT_LOW_RAM_END, high = BOOT_HIGH_RAM;
	size_t i = 0, n = vmmem_region_count(mem);
	uint64_t g, l, last;
	unsigned nr = 0;

	while (i < n) {
		next_range(mem, &i, &g, &l);
		/* The last byte rather than the end: a range may end at
		 * 2^64. */
		last = g + (l - 1);
		if (g < legacy)
			e820_add(map, max, &nr, g,
				 last < legacy ? last : legacy - 1,
				 BOOT_E820_RAM);
		if (g < high && last >= legacy)
			e820_add(map, max, &nr, g > legacy ? g : legacy,
				 last < high ? last : high - 1,
				 BOOT_E820_RESERVED);
		if (last >= high)
			e820_add(map, max, &nr, g > high ? g : high, last,
				 BOOT_E820_RAM);
	}
	return nr;
}

int arch_setup_pvh(struct vmmem *mem, const char *cmdline,
		   const struct boot_pvh_extra *x)
{
	const struct boot_pvh_extra none = { 0 };
	struct boot_e820_entry e820[BOOT_MEMMAP_MAX];
	struct hvm_memmap_entry map[BOOT_MEMMAP_MAX];
	struct hvm_modlist_entry mod;
	struct hvm_start_info si;
	size_t clen = strlen(cmdline) + 1;
	unsigned n, i;
	int rc;

	if (clen > BOOT_CMDLINE_MAX)
		return -E2BIG;
	n = arch_e820_map(mem, e820, BOOT_MEMMAP_MAX);
	if (n > BOOT_MEMMAP_MAX)
		return -E2BIG;
	if (!x)
		x = &none;
	for (i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_entry){ .addr = e820[i].gpa,
						    .size = e820[i].len,
						    .type = e820[i].type };
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
