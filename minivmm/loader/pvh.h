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

/*
 * Load the initrd of a PVH kernel (Linux's vmlinux) from path, for the
 * start info's first module: page aligned at the top of RAM below the MMIO
 * hole (Linux reads the module address as 32 bits) and above kernel_last,
 * the image's highest byte (pvh_image.highest). The file is untrusted only
 * in its size. Prints one line on failure.
 * Return: 0 with *gpa and *len set.
 * Errors: those of loader_read_file(); -EINVAL when the file is empty;
 * -E2BIG when it does not fit above the kernel; a libvmmem write error
 * (-EFAULT, -EACCES).
 */
int pvh_load_initrd(struct vmmem *mem, const char *path, uint64_t ram_size,
		    uint64_t kernel_last, uint64_t *gpa, uint64_t *len);

/* The same, from a buffer of size bytes (for tests); name for messages. */
int pvh_load_initrd_buffer(struct vmmem *mem, const void *initrd, size_t size,
			   const char *name, uint64_t ram_size,
			   uint64_t kernel_last, uint64_t *gpa);

#endif /* MINIVMM_LOADER_PVH_H */
