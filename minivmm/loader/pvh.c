/* SPDX-License-Identifier: MIT */
/*
 * loader/pvh.c - ELF64 + PVH note loader. The image is untrusted input: every
 * offset and size from it is checked against the file and against guest
 * memory before use.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/memory.h>

#include "../util.h"
#include "../x86/boot.h"
#include "file.h"
#include "pvh.h"

/* Xen's ELF note carrying the 32-bit PVH entry point. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
/* More program headers than any sane image has. */
#define MAX_PHDRS 64
/* Refuse images larger than this before reading them. */
#define MAX_IMAGE (1ull << 30)
#define PVH_PAGE 4096ull

/* [off, off + len) inside a buffer of size bytes? */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
	uint64_t end;

	return !__builtin_add_overflow(off, len, &end) && end <= size;
}

/* Search a PT_NOTE segment for the PVH entry note. */
static int find_entry(const uint8_t *notes, uint64_t len, uint32_t *entry)
{
	uint64_t off = 0;

	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_off, desc_off, next;

		memcpy(&nh, notes + off, sizeof(nh));
		name_off = off + sizeof(nh);
		desc_off = name_off + (((uint64_t)nh.n_namesz + 3) & ~3ull);
		next = desc_off + (((uint64_t)nh.n_descsz + 3) & ~3ull);
		if (next > len)
			return -EINVAL;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(notes + name_off, "Xen", 4) &&
		    (nh.n_descsz == 4 || nh.n_descsz == 8)) {
			memcpy(entry, notes + desc_off, 4);
			return 0;
		}
		off = next;
	}
	return -ENOENT;
}

int pvh_load_buffer(struct vmmem *mem, const void *image, size_t size,
		    const char *name, uint64_t floor, struct pvh_image *out)
{
	const uint8_t *file = image;
	Elf64_Phdr ph[MAX_PHDRS];
	bool have_entry = false, entry_loaded = false;
	uint64_t lowest = UINT64_MAX, highest = 0;
	uint32_t entry = 0;
	Elf64_Ehdr eh;
	unsigned i, j;
	int rc;

	if (size < sizeof(eh) || memcmp(file, ELFMAG, SELFMAG)) {
		pr_err("%s: not an ELF file", name);
		return -ENOEXEC;
	}
	memcpy(&eh, file, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		pr_err("%s: not a 64-bit little-endian ELF file", name);
		return -ENOEXEC;
	}
	if (eh.e_machine != EM_X86_64) {
		pr_err("%s: ELF machine %u is not x86-64", name, eh.e_machine);
		return -ENOEXEC;
	}
	if (eh.e_type != ET_EXEC) {
		pr_err("%s: not an executable (ELF type %u)", name, eh.e_type);
		return -ENOEXEC;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    eh.e_phnum > MAX_PHDRS ||
	    !in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr),
		     size)) {
		pr_err("%s: malformed program header table", name);
		return -ENOEXEC;
	}
	memcpy(ph, file + eh.e_phoff, eh.e_phnum * sizeof(Elf64_Phdr));

	/* Check everything before writing anything. */
	for (i = 0; i < eh.e_phnum; i++) {
		vmmem_gpa_t last;

		if (ph[i].p_type == PT_NOTE && !have_entry) {
			if (!in_file(ph[i].p_offset, ph[i].p_filesz, size)) {
				pr_err("%s: note segment outside the file",
				       name);
				return -ENOEXEC;
			}
			have_entry = find_entry(file + ph[i].p_offset,
						ph[i].p_filesz, &entry) == 0;
			continue;
		}
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		if (!in_file(ph[i].p_offset, ph[i].p_filesz, size) ||
		    ph[i].p_filesz > ph[i].p_memsz) {
			pr_err("%s: segment %u: file data out of bounds", name,
			       i);
			return -ENOEXEC;
		}
		if (vmmem_gpa_last(ph[i].p_paddr, ph[i].p_memsz, &last) ||
		    vmmem_check_range(mem, ph[i].p_paddr, ph[i].p_memsz)) {
			pr_err("%s: segment %u [%#llx, %#llx) lies outside "
			       "guest memory (try a larger --memory)",
			       name, i, (unsigned long long)ph[i].p_paddr,
			       (unsigned long long)(ph[i].p_paddr +
						    ph[i].p_memsz));
			return -E2BIG;
		}
		if (ph[i].p_paddr < floor) {
			pr_err("%s: segment %u at %#llx overlaps the VMM's "
			       "boot structures below %#llx", name, i,
			       (unsigned long long)ph[i].p_paddr,
			       (unsigned long long)floor);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			/* Compare last bytes: an end at 2^64 would wrap. */
			if (ph[j].p_type == PT_LOAD && ph[j].p_memsz &&
			    ph[i].p_paddr <= ph[j].p_paddr + (ph[j].p_memsz - 1) &&
			    ph[j].p_paddr <= last) {
				pr_err("%s: segments %u and %u overlap", name,
				       j, i);
				return -EINVAL;
			}
		}
		if (ph[i].p_paddr < lowest)
			lowest = ph[i].p_paddr;
		if (last > highest)
			highest = last;
	}
	if (!have_entry) {
		pr_err("%s: no PVH entry point (ELF note Xen/%d); minivmm "
		       "boots PVH images", name, XEN_ELFNOTE_PHYS32_ENTRY);
		return -ENOEXEC;
	}
	for (i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && entry >= ph[i].p_paddr &&
		    entry - ph[i].p_paddr < ph[i].p_memsz)
			entry_loaded = true;
	if (!entry_loaded) {
		pr_err("%s: PVH entry %#x is not inside a loaded segment",
		       name, entry);
		return -ENOEXEC;
	}

	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		rc = vmmem_write(mem, ph[i].p_paddr, file + ph[i].p_offset,
				 ph[i].p_filesz);
		if (!rc)
			rc = vmmem_fill(mem, ph[i].p_paddr + ph[i].p_filesz, 0,
					ph[i].p_memsz - ph[i].p_filesz);
		if (rc) {
			pr_err("%s: loading segment %u: %s", name, i,
			       strerror(-rc));
			return rc;
		}
	}
	*out = (struct pvh_image){ entry, lowest, highest };
	return 0;
}

int pvh_load(struct vmmem *mem, const char *path, uint64_t floor,
	     struct pvh_image *out)
{
	uint8_t *buf;
	size_t size;
	int rc;

	rc = loader_read_file(path, MAX_IMAGE, &buf, &size);
	if (rc)
		return rc;
	rc = pvh_load_buffer(mem, buf, size, path, floor, out);
	free(buf);
	return rc;
}

int pvh_load_initrd_buffer(struct vmmem *mem, const void *initrd, size_t size,
			   const char *name, uint64_t kernel_last,
			   uint64_t *gpa)
{
	uint64_t top, at;
	int rc;

	if (size == 0) {
		pr_err("%s: initrd is empty", name);
		return -EINVAL;
	}
	/* Linux takes the module's address as 32 bits: RAM below the
	 * hole, which also keeps it clear of the device window. */
	top = arch_low_ram_end(mem);
	at = (top - (size < top ? size : top)) & ~(PVH_PAGE - 1);
	if (size > top || kernel_last >= at) {
		pr_err("%s: initrd of %zu bytes does not fit between the "
		       "kernel's end %#llx and the end of RAM below the MMIO "
		       "hole %#llx (try a larger --memory)",
		       name, size, (unsigned long long)kernel_last + 1,
		       (unsigned long long)top);
		return -E2BIG;
	}
	rc = vmmem_write(mem, at, initrd, size);
	if (rc) {
		pr_err("%s: writing the initrd at %#llx: %s", name,
		       (unsigned long long)at, strerror(-rc));
		return rc;
	}
	*gpa = at;
	return 0;
}

int pvh_load_initrd(struct vmmem *mem, const char *path, uint64_t kernel_last,
		    uint64_t *gpa, uint64_t *len)
{
	uint8_t *buf;
	size_t size;
	int rc;

	rc = loader_read_file(path, arch_low_ram_end(mem), &buf, &size);
	if (rc)
		return rc;
	rc = pvh_load_initrd_buffer(mem, buf, size, path, kernel_last, gpa);
	free(buf);
	if (!rc)
		*len = size;
	return rc;
}
