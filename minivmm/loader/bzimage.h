/* SPDX-License-Identifier: MIT */
/*
 * loader/bzimage.h - loading a Linux x86 bzImage (and an initrd) into guest
 * memory for the 64-bit boot protocol, through libvmmem only.
 *
 * The loader places the protected-mode kernel at BZIMAGE_LOAD_GPA, writes
 * the zero page (struct boot_params) at BZIMAGE_ZERO_PAGE with the e820 map
 * of guest memory (arch_e820_map() in x86/boot.h), the command line at
 * BOOT_CMDLINE and the initrd at the top of low RAM (RAM below the MMIO
 * hole, arch_low_ram_end()). It sets no registers: the VMM enters the
 * guest in long mode with
 *
 *	RIP = out->entry, RSI = out->zero_page, RFLAGS = 0x2, interrupts off,
 *	flat 64-bit code and data segments (GDT descriptors 0x00af9b000000ffff
 *	and 0x00cf93000000ffff), CR0 = PE | PG, CR4 = PAE, EFER = LME | LMA,
 *	and CR3 pointing to page tables that identity-map at least
 *	[0, out->ident_end).
 */
#ifndef MINIVMM_LOADER_BZIMAGE_H
#define MINIVMM_LOADER_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

struct vmmem;

#define BZIMAGE_LOAD_GPA 0x100000ull /* protected-mode kernel: 1 MiB */
#define BZIMAGE_ZERO_PAGE 0x7000ull  /* struct boot_params, 4 KiB */
#define BZIMAGE_ENTRY_64 0x200u	     /* 64-bit entry, from the load GPA */
#define BZIMAGE_MIN_VERSION 0x020cu  /* boot protocol 2.12 */

/* What the loader put where; all ranges are [gpa, gpa + len). */
struct bzimage_boot {
	uint64_t entry;	     /* RIP: BZIMAGE_LOAD_GPA + 0x200 */
	uint64_t zero_page;  /* RSI: BZIMAGE_ZERO_PAGE */
	uint64_t kernel_gpa; /* the protected-mode part as loaded */
	uint64_t kernel_len;
	/*
	 * End of the memory the kernel claims before it reads the e820 map:
	 * the loaded image and init_size bytes from its runtime start
	 * (which a relocatable kernel moves up to pref_address, aligned to
	 * kernel_alignment). Nothing the VMM places may lie in
	 * [kernel_gpa, kernel_end).
	 */
	uint64_t kernel_end;
	uint64_t cmdline_gpa; /* BOOT_CMDLINE */
	uint64_t cmdline_len; /* bytes including the NUL */
	uint64_t initrd_gpa;  /* page aligned; 0 without an initrd */
	uint64_t initrd_len;  /* 0 without an initrd */
	/* The boot protocol wants [0, ident_end) identity-mapped at entry:
	 * the zero page, the command line and [kernel_gpa, kernel_end). */
	uint64_t ident_end;
	uint16_t version; /* boot protocol of the image, e.g. 0x020f */
};

/**
 * bzimage_load() - load a bzImage and an optional initrd from files.
 * @mem: guest memory; its regions are the guest's RAM: they give the e820
 *       map and where low RAM (below the 3 GiB hole) ends, and must back
 *       every range the loader writes.
 * @kernel_path: the bzImage.
 * @initrd_path: the initrd (any format the kernel unpacks), or NULL.
 * @cmdline: the kernel command line; NULL means an empty one.
 * @rsdp_gpa: GPA of the ACPI RSDP for boot_params.acpi_rsdp_addr; 0: none.
 * @out: receives the entry point and the loaded ranges; untouched on error.
 *
 * Both files are untrusted: the setup header is checked ("HdrS", protocol
 * >= 2.12, XLF_KERNEL_64, a header that fits the file and the zero page, a
 * protected-mode part after the setup sectors) and every range is checked
 * against the file and low RAM before guest memory is written; a file
 * larger than low RAM is refused before it is read. Only the setup header
 * (bytes 0x1f1 up to 0x202 + byte 0x201) is copied into the zero page, with
 * type_of_loader 0xff, cmd_line_ptr, ramdisk_image/size and setup_data (0)
 * replaced, plus acpi_rsdp_addr and the e820 table. Each failure prints one
 * line naming the file.
 *
 * Return: 0 on success.
 * Errors: the errno of open(2), fstat(2) or read(2) (-ENOENT, -EACCES, ...),
 * or -EIO when a file shrinks while it is read;
 * -EINVAL when a path is not a regular file or the initrd is empty;
 * -ENOEXEC when the kernel is not a bzImage or its header is malformed;
 * -ENOTSUP when its boot protocol is older than 2.12 or it has no 64-bit
 * entry; -E2BIG when the kernel, its init_size or the initrd do not fit in
 * low RAM, the command line is longer than the kernel's cmdline_size or
 * BOOT_CMDLINE_MAX - 1, or @mem's e820 map has more than the zero page's 128
 * entries; -ENOMEM; -EFAULT when @mem does not back a range the loader
 * writes (low RAM with a gap, or no RAM where the zero page goes). Except
 * for a libvmmem write error (then reported and returned, e.g. -EACCES for
 * read-only memory), guest memory is unchanged on failure.
 */
int bzimage_load(struct vmmem *mem, const char *kernel_path,
		 const char *initrd_path, const char *cmdline,
		 uint64_t rsdp_gpa, struct bzimage_boot *out);

/**
 * bzimage_load_buffer() - the same, from images already in memory.
 * @mem: as for bzimage_load().
 * @kernel: the bzImage, @kernel_size bytes.
 * @kernel_size: its size.
 * @kernel_name: the name used in messages.
 * @initrd: the initrd, @initrd_size bytes, or NULL for none.
 * @initrd_size: its size; must not be 0 when @initrd is not NULL.
 * @initrd_name: the name used in messages; NULL means "initrd".
 * @cmdline: as for bzimage_load().
 * @rsdp_gpa: as for bzimage_load().
 * @out: as for bzimage_load().
 *
 * The buffers are only read, and not used after the call returns.
 *
 * Return: 0 on success.
 * Errors: as bzimage_load(), without the file errors.
 */
int bzimage_load_buffer(struct vmmem *mem, const void *kernel,
			size_t kernel_size, const char *kernel_name,
			const void *initrd, size_t initrd_size,
			const char *initrd_name, const char *cmdline,
			uint64_t rsdp_gpa, struct bzimage_boot *out);

#endif /* MINIVMM_LOADER_BZIMAGE_H */
