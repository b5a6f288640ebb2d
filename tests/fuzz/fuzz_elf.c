/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the ELF/PVH loader on arbitrary file bytes, into
 * guest memory of one of two shapes: 2 MiB of RAM, or RAM with a gap and
 * a read-only page above it. A successful load is followed by an initrd
 * load above the kernel, as for a Linux vmlinux.
 *
 * Input: one byte choosing the memory shape and the initrd's size, then
 * the ELF file.
 *
 * Checks, besides the sanitizers': a loaded image lies at or above the
 * floor, its highest byte is not below its lowest, and the initrd goes
 * page aligned above the kernel, inside guest RAM below 4 GiB.
 */
#include <stdint.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>

#include "../../minivmm/loader/pvh.h"
#include "fuzz.h"

#define FLOOR 0x100000ull

static struct vmmem *make_mem(uint8_t shape)
{
	struct vmmem_region *r[2] = { NULL };
	struct vmmem *mem = NULL;

	if (shape & 1) {
		if (vmmem_region_create_anon(0, 0x180000, 0, &r[0]) ||
		    vmmem_region_create_anon(0x200000, 0x1000,
					     VMMEM_REGION_READONLY, &r[1]) ||
		    vmmem_create(r, 2, &mem))
			abort();
	} else {
		if (vmmem_region_create_anon(0, 0x200000, 0, &r[0]) ||
		    vmmem_create(r, 1, &mem))
			abort();
	}
	vmmem_region_destroy(r[0]);
	vmmem_region_destroy(r[1]);
	return mem;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t how = fuzz_u8(&in);
	struct vmmem *mem = make_mem(how);
	struct pvh_image img;
	uint64_t gpa, len;

	if (pvh_load_buffer(mem, in.p, in.n, "fuzz.elf", FLOOR, &img) == 0) {
		if (img.lowest < FLOOR || img.highest < img.lowest)
			abort();
		/* An initrd of up to 64 KiB of the image's own bytes. */
		len = 1 + (uint64_t)(how >> 1) * 0x200;
		if (len <= in.n &&
		    pvh_load_initrd_buffer(mem, in.p, len, "fuzz.initrd",
					   img.highest, &gpa) == 0) {
			if (gpa <= img.highest || gpa % 0x1000 ||
			    gpa + len > (1ull << 32) ||
			    vmmem_check_range(mem, gpa, len))
				abort();
		}
	}
	vmmem_destroy(mem);
	return 0;
}
