/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the bzImage loader on arbitrary kernel bytes, with or
 * without an initrd and with a command line of the input's choosing, into
 * 8 MiB of guest RAM or into RAM with a gap.
 *
 * Input: a flags byte (memory shape, initrd, RSDP), the command line's
 * length (u16, at most 1023 used) and the initrd's (u16, 0: none), the
 * command line, the initrd, and the rest is the kernel.
 *
 * Checks, besides the sanitizers': after a successful load the entry is
 * the 64-bit one at 1 MiB + 0x200, the zero page is where the header says,
 * the kernel's claim [kernel_gpa, kernel_end) covers the loaded image, and
 * neither the command line nor the initrd lies in it or outside RAM.
 */
#include <stdint.h>

#include <vmmem/memory.h>

#include "../../minivmm/loader/bzimage.h"
#include "fuzz.h"

#define MiB (1ull << 20)

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static void check(struct vmmem *mem, const struct bzimage_boot *b)
{
	if (b->entry != BZIMAGE_LOAD_GPA + BZIMAGE_ENTRY_64 ||
	    b->zero_page != BZIMAGE_ZERO_PAGE ||
	    b->kernel_gpa < BZIMAGE_LOAD_GPA ||
	    b->kernel_end < b->kernel_gpa + b->kernel_len ||
	    vmmem_check_range(mem, b->kernel_gpa, b->kernel_len) ||
	    vmmem_check_range(mem, b->cmdline_gpa, b->cmdline_len) ||
	    overlaps(b->cmdline_gpa, b->cmdline_len, b->kernel_gpa,
		     b->kernel_end - b->kernel_gpa) ||
	    b->version < BZIMAGE_MIN_VERSION)
		abort();
	if (b->initrd_len &&
	    (b->initrd_gpa % 0x1000 ||
	     vmmem_check_range(mem, b->initrd_gpa, b->initrd_len) ||
	     overlaps(b->initrd_gpa, b->initrd_len, b->kernel_gpa,
		      b->kernel_end - b->kernel_gpa)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t how = fuzz_u8(&in);
	size_t cmd_len = fuzz_u16(&in) % 1024, initrd_len = fuzz_u16(&in), n;
	struct vmmem_range ram[2] = { { 0, 8 * MiB } };
	const uint8_t *cmd, *initrd;
	char cmdline[1024];
	struct vmmem *mem;
	struct bzimage_boot b;

	cmd = fuzz_take(&in, cmd_len, &n);
	memcpy(cmdline, cmd, n);
	cmdline[n] = '\0';
	initrd = fuzz_take(&in, initrd_len, &initrd_len);
	if (how & 1) {
		/* Low RAM ends below the kernel's init_size, more follows. */
		ram[0].len = 3 * MiB;
		ram[1] = (struct vmmem_range){ 4 * MiB, 4 * MiB };
	}
	if (vmmem_create_anon(ram, how & 1 ? 2 : 1, 0, &mem))
		abort();
	if (bzimage_load_buffer(mem, in.p, in.n, "fuzz-bzImage",
				initrd_len ? initrd : NULL, initrd_len,
				"fuzz-initrd", how & 2 ? NULL : cmdline,
				how & 4 ? 0xe0000 : 0, &b) == 0)
		check(mem, &b);
	vmmem_destroy(mem);
	return 0;
}
