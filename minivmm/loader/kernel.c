/* SPDX-License-Identifier: MIT */
/* loader/kernel.c - the machine's boot image, read once, and its boot info. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/memory.h>

#include "../util.h"
#include "../virtio/mmio.h"
#include "../x86/acpi.h"
#include "../x86/boot.h"
#include "bzimage.h"
#include "file.h"
#include "kernel.h"
#include "pvh.h"

static void boot_info_error(int rc, const char *what)
{
	if (rc == -E2BIG)
		pr_err("command line too long (at most %u bytes%s)",
		       BOOT_CMDLINE_MAX - 1, what);
	else if (rc)
		pr_err("writing boot information: %s", strerror(-rc));
}

/* An uncompressed vmlinux through its PVH note, with the initrd as the
 * start info's module and the ACPI tables at rsdp. */
static int load_vmlinux(struct vmmem *mem, const struct kernel_config *cfg,
			const uint8_t *image, size_t size, uint64_t rsdp,
			struct boot_entry *out)
{
	struct boot_pvh_extra x = { .rsdp_gpa = rsdp };
	struct pvh_image img;
	int rc;

	rc = pvh_load_buffer(mem, image, size, cfg->kernel, BOOT_HIGH_RAM,
			     &img);
	if (rc)
		return rc;
	if (cfg->initrd) {
		rc = pvh_load_initrd(mem, cfg->initrd, img.highest,
				     &x.initrd_gpa, &x.initrd_len);
		if (rc)
			return rc;
	}
	rc = arch_setup_pvh(mem, cfg->cmdline ? cfg->cmdline : "", &x);
	boot_info_error(rc, "");
	if (rc)
		return rc;
	pr_debug("kernel: PVH entry %#x, initrd %llu bytes at %#llx",
		 img.entry, (unsigned long long)x.initrd_len,
		 (unsigned long long)x.initrd_gpa);
	out->pvh = true;
	out->entry = img.entry;
	return 0;
}

/* A bzImage through the 64-bit boot protocol: the kernel, initrd, command
 * line and zero page, and the identity-mapped long-mode state. */
static int load_bzimage(struct vmmem *mem, const struct kernel_config *cfg,
			const uint8_t *image, size_t size, uint64_t rsdp,
			struct boot_entry *out)
{
	uint8_t *initrd = NULL;
	size_t initrd_size = 0;
	struct bzimage_boot boot;
	int rc;

	/* The initrd goes below the MMIO hole: a larger file cannot fit. */
	if (cfg->initrd) {
		rc = loader_read_file(cfg->initrd, arch_low_ram_end(mem),
				      &initrd, &initrd_size);
		if (rc)
			return rc;
	}
	rc = bzimage_load_buffer(mem, image, size, cfg->kernel, initrd,
				 initrd_size, cfg->initrd, cfg->cmdline, rsdp,
				 &boot);
	free(initrd);
	if (rc)
		return rc;
	rc = arch_setup_long_mode(mem, boot.ident_end);
	if (rc) {
		pr_err("%s: the kernel needs [0, %#llx) mapped at entry, more "
		       "than the boot page tables cover", cfg->kernel,
		       (unsigned long long)boot.ident_end);
		return rc;
	}
	pr_debug("kernel: boot protocol %#x, entry %#llx, initrd %llu bytes",
		 boot.version, (unsigned long long)boot.entry,
		 (unsigned long long)boot.initrd_len);
	out->pvh = false;
	out->entry = boot.entry;
	out->zero_page = boot.zero_page;
	return 0;
}

/*
 * A Linux kernel: ACPI tables describing the vCPUs, the interrupt
 * controllers and the virtio-mmio device (how stock kernels find it), then
 * the kernel in whichever format its first bytes say.
 */
static int load_linux(struct vmmem *mem, const struct kernel_config *cfg,
		      struct boot_entry *out)
{
	const struct acpi_virtio_mmio dev = { VIRTIO_MMIO_BASE, VMMIO_WINDOW,
					      VIRTIO_MMIO_GSI };
	const struct acpi_config acpi = {
		.nr_vcpus = cfg->cpus,
		.ioapic_gpa = ACPI_IOAPIC_GPA,
		.lapic_gpa = ACPI_LAPIC_GPA,
		.virtio = &dev,
		.nr_virtio = 1,
		.com1 = cfg->com1,
		.sleep_port = ACPI_SLEEP_PORT,
	};
	uint8_t *image;
	size_t size;
	uint64_t rsdp;
	int rc;

	rc = acpi_build(mem, &acpi, &rsdp);
	if (rc) {
		pr_err("building the ACPI tables: %s", strerror(-rc));
		return rc;
	}
	/* Either format loads below the MMIO hole (a bzImage at 1 MiB, a
	 * vmlinux at its 32-bit physical addresses): a larger file cannot
	 * fit. */
	rc = loader_read_file(cfg->kernel, arch_low_ram_end(mem), &image,
			      &size);
	if (rc)
		return rc;
	if (size >= SELFMAG && memcmp(image, ELFMAG, SELFMAG) == 0)
		rc = load_vmlinux(mem, cfg, image, size, rsdp, out);
	else
		rc = load_bzimage(mem, cfg, image, size, rsdp, out);
	free(image);
	return rc;
}

/* Our own guest (or any PVH image): the virtio-mmio device is on its
 * command line, there are no ACPI tables. */
static int load_image(struct vmmem *mem, const struct kernel_config *cfg,
		      struct boot_entry *out)
{
	struct pvh_image img;
	char *cmdline;
	int rc;

	rc = pvh_load(mem, cfg->image, BOOT_HIGH_RAM, &img);
	if (rc)
		return rc;
	pr_debug("image: entry %#x, [%#llx, %#llx]", img.entry,
		 (unsigned long long)img.lowest,
		 (unsigned long long)img.highest);
	/* Devices first, then what the user asked for. */
	if (asprintf(&cmdline, "virtio_mmio.device=4K@%#llx:%d%s%s",
		     (unsigned long long)VIRTIO_MMIO_BASE, VIRTIO_MMIO_GSI,
		     cfg->cmdline ? " " : "",
		     cfg->cmdline ? cfg->cmdline : "") < 0)
		return -ENOMEM;
	rc = arch_setup_pvh(mem, cmdline, NULL);
	free(cmdline);
	boot_info_error(rc, " with the device list");
	if (rc)
		return rc;
	out->pvh = true;
	out->entry = img.entry;
	return 0;
}

int kernel_load(struct vmmem *mem, const struct kernel_config *cfg,
		struct boot_entry *out)
{
	*out = (struct boot_entry){ 0 };
	return cfg->kernel ? load_linux(mem, cfg, out) :
			     load_image(mem, cfg, out);
}
