/* SPDX-License-Identifier: MIT */
/*
 * loader/pvh.h - loading an ELF64 image with a PVH entry note (our guest,
 * or a Linux vmlinux) into guest memory, through libvmmem only.
 */
#ifndef MINIVMM_LOADER_PVH_H
#define MINIVMM_LOADER_PVH_H

#include <stddef.h>
#include <stdint.h>

struct vmmem;

struct pvh_image {
	uint32_t entry;		/* 32-bit PVH entry point */
	uint64_t lowest;	/* lowest loaded guest-physical byte */
	uint64_t highest;	/* highest loaded byte */
};

/*
 * Load the PT_LOAD segments of the ELF file at path into mem and find its
 * PVH entry (the Xen note XEN_ELFNOTE_PHYS32_ENTRY). Segments must lie in
 * guest RAM at or above `floor` (the VMM's own structures live below it).
 * On failure prints one line saying what is wrong with the image and
 * returns a negative errno; guest memory may then hold part of the image.
 */
int pvh_load(struct vmmem *mem, const char *path, uint64_t floor,
	     struct pvh_image *out);

/* The same, from an image already in memory (for tests and fuzzing). */
int pvh_load_buffer(struct vmmem *mem, const void *image, size_t size,
		    const char *name, uint64_t floor, struct pvh_image *out);

/**
 * pvh_load_initrd() - load the initrd of a PVH kernel (Linux's vmlinux)
 * from a file, for the start info's first module.
 * @mem: guest memory; its RAM below the MMIO hole (arch_low_ram_end())
 *       decides where the initrd goes.
 * @path: the initrd; untrusted only in its size.
 * @kernel_last: the kernel image's highest byte (pvh_image.highest).
 * @gpa: receives where the initrd went; untouched on error.
 * @len: receives its length; untouched on error.
 *
 * The initrd goes page aligned at the top of RAM below the MMIO hole (Linux
 * reads the module address as 32 bits) and above @kernel_last. A file
 * larger than that RAM is refused before it is read. Prints one line on
 * failure.
 *
 * Return: 0 on success.
 * Errors: those of loader_read_file(); -EINVAL when the file is empty;
 * -E2BIG when it does not fit between the kernel and the end of RAM below
 * the hole; a libvmmem write error (-EFAULT when guest memory does not back
 * the place, e.g. RAM with a gap below its top; -EACCES).
 */
int pvh_load_initrd(struct vmmem *mem, const char *path, uint64_t kernel_last,
		    uint64_t *gpa, uint64_t *len);

/**
 * pvh_load_initrd_buffer() - the same, from a buffer (for tests).
 * @mem: as for pvh_load_initrd().
 * @initrd: the initrd, @size bytes; only read.
 * @size: its size.
 * @name: the name used in messages.
 * @kernel_last: as for pvh_load_initrd().
 * @gpa: as for pvh_load_initrd().
 *
 * Return: 0 on success.
 * Errors: as pvh_load_initrd(), without the file errors.
 */
int pvh_load_initrd_buffer(struct vmmem *mem, const void *initrd, size_t size,
			   const char *name, uint64_t kernel_last,
			   uint64_t *gpa);

#endif /* MINIVMM_LOADER_PVH_H */
