/* SPDX-License-Identifier: MIT */
/*
 * loader/kernel.h - what the machine boots: our own guest (or any PVH
 * image) with its devices on the command line, or a Linux kernel (a
 * bzImage through the 64-bit boot protocol, or an ELF vmlinux through its
 * PVH note) with ACPI tables describing the machine.
 *
 * Each file is opened and read once: the kernel's format is told from the
 * bytes read, not from a second open. Guest RAM is what mem holds.
 */
#ifndef MINIVMM_LOADER_KERNEL_H
#define MINIVMM_LOADER_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

struct vmmem;

struct kernel_config {
	const char *image;	/* PVH image, or NULL with kernel */
	const char *kernel;	/* Linux: bzImage or vmlinux */
	const char *initrd;	/* with kernel, or NULL */
	const char *cmdline;	/* appended; NULL: none */
	unsigned cpus;		/* for the MADT */
	bool com1;		/* the 8250 is present (ACPI says so) */
};

/* Where and how vCPU 0 starts. */
struct boot_entry {
	bool pvh;		/* 32-bit PVH entry, RBX = the start info */
	uint64_t entry;
	uint64_t zero_page;	/* 64-bit boot protocol: RSI */
};

/*
 * Load what cfg names into mem and write the boot information.
 * Every failure prints one line saying what is wrong.
 * Return: 0 with *out filled, or the loader's negative errno.
 */
int kernel_load(struct vmmem *mem, const struct kernel_config *cfg,
		struct boot_entry *out);

#endif /* MINIVMM_LOADER_KERNEL_H */
