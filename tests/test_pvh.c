/* SPDX-License-Identifier: MIT */
/*
 * Tests for minivmm/loader/pvh.h: loading ELF64 images with a PVH entry note
 * into guest memory.
 *
 * Every test builds its image in memory with the small ELF builder below:
 * an Elf64_Ehdr at 0, room for PHDR_ROOM program headers after it, then the
 * notes and segment data appended from DATA_START on. The "valid" image has
 * a PT_NOTE (phdr NOTE_PH) with the Xen PVH note and one PT_LOAD (phdr
 * LOAD_PH) of LOAD_FILESZ bytes of file data and LOAD_MEMSZ bytes in memory,
 * loaded at FLOOR.
 *
 * Guest memory is [0, MEM_SIZE), filled with FILL before every test, so a
 * rejected image can be shown to have written nothing. The few tests that
 * need RAM of another shape (a gap, RAM above 4 GiB) build it in top_mem.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmmem/memory.h>

#include "../minivmm/loader/pvh.h"
#include "fixture.h"

#define MEM_SIZE 0x200000ull /* guest RAM: [0, 2 MiB) */
#define FLOOR 0x100000ull    /* segments load at or above 1 MiB */
#define FILL 0xa5	     /* what guest memory holds before a load */

#define IMAGE_MAX 0x4000u  /* bytes of the largest image built */
#define PHDR_ROOM 64	   /* program headers that fit before the data */
#define DATA_START 0x1000u /* 64 + 64 * 56 = 0xe40, rounded up */

#define NOTE_PH 0 /* the valid image's PT_NOTE */
#define LOAD_PH 1 /* the valid image's PT_LOAD */
#define LOAD_GPA FLOOR
#define LOAD_FILESZ 0x200u
#define LOAD_MEMSZ 0x300u
#define ENTRY ((uint32_t)LOAD_GPA + 0x10)

#define XEN_PHYS32_ENTRY 18 /* XEN_ELFNOTE_PHYS32_ENTRY */
#define NOTE_MAX 64	    /* bytes of the largest note built */

/* What the out-parameter holds before a call, to see that a failure
 * leaves it alone. */
#define OUT_SENTINEL ((struct pvh_image){ 0xdeadbeef, 0x1111, 0x2222 })

struct image {
	union {
		uint8_t bytes[IMAGE_MAX];
		Elf64_Ehdr eh; /* aligns bytes for the headers */
	};
	size_t size; /* bytes of the file */
};

struct fixture {
	struct vmmem *mem;
	struct vmmem *top_mem; /* a guest memory of another shape, or NULL */
	struct image *img;
	char path[64]; /* a temporary file, or "" */
};

/* The byte a segment built by add_load() holds for guest address gpa:
 * never 0 (bss) and never FILL. */
static uint8_t seg_byte(uint64_t gpa)
{
	return (uint8_t)(0x11 + gpa % 0x71);
}

/* ---- The ELF builder ---- */

static Elf64_Phdr *phdr(struct image *img, unsigned i)
{
	return (Elf64_Phdr *)(img->bytes + sizeof(Elf64_Ehdr) +
			      i * sizeof(Elf64_Phdr));
}

/* An ELF64 x86-64 executable header with no program headers yet. */
static void image_init(struct image *img)
{
	Elf64_Ehdr *eh = &img->eh;

	memset(img, 0, sizeof(*img));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	img->size = DATA_START;
}

/* Append len bytes to the file, 8-byte aligned; return their offset. */
static uint64_t image_append(struct image *img, const void *data, size_t len)
{
	size_t off = (img->size + 7) & ~(size_t)7;

	assert_true(off + len <= IMAGE_MAX);
	if (len)
		memcpy(img->bytes + off, data, len);
	img->size = off + len;
	return off;
}

static Elf64_Phdr *image_add_phdr(struct image *img, uint32_t type,
				  uint64_t off, uint64_t filesz, uint64_t gpa,
				  uint64_t memsz)
{
	Elf64_Phdr *ph;

	assert_true(img->eh.e_phnum < PHDR_ROOM);
	ph = phdr(img, img->eh.e_phnum++);
	*ph = (Elf64_Phdr){
		.p_type = type,
		.p_flags = PF_R | PF_W | PF_X,
		.p_offset = off,
		.p_vaddr = gpa,
		.p_paddr = gpa,
		.p_filesz = filesz,
		.p_memsz = memsz,
		.p_align = 8,
	};
	return ph;
}

/* A PT_LOAD segment of filesz bytes of seg_byte() data at gpa. */
static Elf64_Phdr *add_load(struct image *img, uint64_t gpa, size_t filesz,
			    uint64_t memsz)
{
	uint8_t data[IMAGE_MAX];
	uint64_t off;
	size_t i;

	assert_true(filesz <= sizeof(data));
	for (i = 0; i < filesz; i++)
		data[i] = seg_byte(gpa + i);
	off = image_append(img, data, filesz);
	return image_add_phdr(img, PT_LOAD, off, filesz, gpa, memsz);
}

/*
 * Write one note at buf: the header, namesz bytes of name and descsz bytes
 * of desc (the 8 bytes of desc_val, then zeros), each padded to 4 bytes.
 * Return its length.
 */
static size_t put_note(uint8_t *buf, uint32_t namesz, const char *name,
		       uint32_t descsz, uint64_t desc_val, uint32_t type)
{
	Elf64_Nhdr nh = { .n_namesz = namesz,
			  .n_descsz = descsz,
			  .n_type = type };
	size_t name_pad = (namesz + 3) & ~3u, desc_pad = (descsz + 3) & ~3u;
	size_t len = sizeof(nh) + name_pad + desc_pad;

	assert_true(len <= NOTE_MAX);
	memset(buf, 0, len);
	memcpy(buf, &nh, sizeof(nh));
	memcpy(buf + sizeof(nh), name, namesz);
	memcpy(buf + sizeof(nh) + name_pad, &desc_val, descsz < 8 ? descsz : 8);
	return len;
}

/* The Xen PVH entry note: name "Xen\0", a 4-byte descriptor. */
static size_t put_entry_note(uint8_t *buf, uint32_t entry)
{
	return put_note(buf, 4, "Xen", 4, entry, XEN_PHYS32_ENTRY);
}

/* A PT_NOTE segment holding len bytes of notes. */
static Elf64_Phdr *add_notes(struct image *img, const void *notes, size_t len)
{
	uint64_t off = image_append(img, notes, len);

	return image_add_phdr(img, PT_NOTE, off, len, 0, 0);
}

static void add_entry_note(struct image *img, uint32_t entry)
{
	uint8_t note[NOTE_MAX];

	add_notes(img, note, put_entry_note(note, entry));
}

/* The valid image: PVH note, then one PT_LOAD with a bss tail. */
static void build_valid(struct image *img)
{
	add_entry_note(img, ENTRY);
	add_load(img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
}

/* ---- Fixture and checks ---- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->img = calloc(1, sizeof(*f->img));
	if (!f->img || fixture_ram_create(MEM_SIZE, 0, FILL, &f->mem)) {
		free(f->img);
		free(f);
		return -1;
	}
	image_init(f->img);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->path[0])
		unlink(f->path);
	vmmem_destroy(f->top_mem);
	vmmem_destroy(f->mem);
	free(f->img);
	free(f);
	return 0;
}

/* Load the image from a heap copy of exactly its size, so that a sanitizer
 * build catches any read past the end of the file. */
static int load(struct fixture *f, struct pvh_image *out)
{
	void *copy = malloc(f->img->size ? f->img->size : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, f->img->bytes, f->img->size);
	rc = pvh_load_buffer(f->mem, copy, f->img->size, "test.elf", FLOOR,
			     out);
	free(copy);
	return rc;
}

static const uint8_t *guest(struct fixture *f)
{
	void *hva;

	assert_int_equal(vmmem_get_ptr(f->mem, 0, MEM_SIZE, &hva), 0);
	return hva;
}

/* Guest memory from gpa for len bytes still holds FILL. */
static void assert_filled(struct fixture *f, uint64_t gpa, uint64_t len)
{
	const uint8_t *g = guest(f);
	uint64_t i;

	for (i = gpa; i < gpa + len; i++)
		if (g[i] != FILL)
			fail_msg("guest byte %#llx is %#x, not the fill %#x",
				 (unsigned long long)i, g[i], FILL);
}

/* Guest memory from gpa for len bytes holds the segment data. */
static void assert_seg_data(struct fixture *f, uint64_t gpa, uint64_t len)
{
	const uint8_t *g = guest(f);
	uint64_t i;

	for (i = gpa; i < gpa + len; i++)
		if (g[i] != seg_byte(i))
			fail_msg("guest byte %#llx is %#x, expected %#x",
				 (unsigned long long)i, g[i], seg_byte(i));
}

static void assert_zero(struct fixture *f, uint64_t gpa, uint64_t len)
{
	const uint8_t *g = guest(f);
	uint64_t i;

	for (i = gpa; i < gpa + len; i++)
		if (g[i] != 0)
			fail_msg("guest byte %#llx is %#x, expected 0",
				 (unsigned long long)i, g[i]);
}

/* The load fails with err, leaves *out and all of guest memory alone. */
static void assert_rejected(struct fixture *f, int err)
{
	struct pvh_image out = OUT_SENTINEL;

	assert_int_equal(load(f, &out), err);
	assert_int_equal(out.entry, OUT_SENTINEL.entry);
	assert_int_equal(out.lowest, OUT_SENTINEL.lowest);
	assert_int_equal(out.highest, OUT_SENTINEL.highest);
	assert_filled(f, 0, MEM_SIZE);
}

/* ---- The ELF header ---- */

static void test_pvh_rejects_empty_buffer(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	f->img->size = 0;
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_buffer_shorter_than_elf_header(void **state)
{
	struct fixture *f = *state;

	f->img->size = sizeof(Elf64_Ehdr) - 1;
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_bad_magic(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	f->img->eh.e_ident[EI_MAG3] = 'G';
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_32_bit_class(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	f->img->eh.e_ident[EI_CLASS] = ELFCLASS32;
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_big_endian_data(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	f->img->eh.e_ident[EI_DATA] = ELFDATA2MSB;
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_other_machine(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	f->img->eh.e_machine = EM_AARCH64;
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_shared_object(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	f->img->eh.e_type = ET_DYN;
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_relocatable_object(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	f->img->eh.e_type = ET_REL;
	assert_rejected(f, -ENOEXEC);
}

/* ---- The program header table ---- */

static void test_pvh_rejects_32_bit_phentsize(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	f->img->eh.e_phentsize = sizeof(Elf32_Phdr);
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_oversized_phentsize(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	f->img->eh.e_phentsize = sizeof(Elf64_Phdr) + 8;
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_zero_phnum(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	f->img->eh.e_phnum = 0;
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_more_than_64_phdrs(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	/* The extra entries are PT_NULL and the table lies in the file:
	 * only the count is wrong. */
	f->img->eh.e_phnum = 65;
	assert_true(sizeof(Elf64_Ehdr) + 65 * sizeof(Elf64_Phdr) <=
		    f->img->size);
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_accepts_64_phdrs(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out;

	build_valid(f->img);
	f->img->eh.e_phnum = 64;
	assert_int_equal(load(f, &out), 0);
	assert_int_equal(out.entry, ENTRY);
}

static void test_pvh_rejects_phdr_table_past_end_of_file(void **state)
{
	struct fixture *f = *state;
	size_t len;

	build_valid(f->img);
	/* Move the table to the end of the file, then cut its last byte. */
	len = f->img->eh.e_phnum * sizeof(Elf64_Phdr);
	f->img->eh.e_phoff = image_append(f->img, phdr(f->img, 0), len);
	f->img->size--;
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_phdr_offset_that_wraps(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	f->img->eh.e_phoff = UINT64_MAX - 8;
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_truncated_phdr_table(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	f->img->size = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 8;
	assert_rejected(f, -ENOEXEC);
}

/* ---- Segment checks ---- */

static void test_pvh_rejects_note_segment_past_end_of_file(void **state)
{
	struct fixture *f = *state;

	/* The note is the last thing in the file; its segment claims one
	 * byte more. */
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	add_entry_note(f->img, ENTRY);
	phdr(f->img, 1)->p_filesz++;
	assert_rejected(f, -ENOEXEC);
}

static void
test_pvh_rejects_note_segment_offset_past_end_of_file(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	phdr(f->img, NOTE_PH)->p_offset = f->img->size + 0x100;
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_note_segment_size_that_wraps(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	phdr(f->img, NOTE_PH)->p_filesz = UINT64_MAX;
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_segment_data_past_end_of_file(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	phdr(f->img, LOAD_PH)->p_offset = f->img->size - LOAD_FILESZ + 1;
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_segment_offset_that_wraps(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	phdr(f->img, LOAD_PH)->p_offset = UINT64_MAX - 0x10;
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_filesz_larger_than_memsz(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	phdr(f->img, LOAD_PH)->p_memsz = LOAD_FILESZ - 1;
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_segment_past_end_of_guest_memory(void **state)
{
	struct fixture *f = *state;

	add_entry_note(f->img, ENTRY);
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	/* A second segment whose last byte is one past guest RAM. */
	add_load(f->img, MEM_SIZE - 0xff, 0x10, 0x100);
	assert_rejected(f, -E2BIG);
}

static void test_pvh_rejects_bss_past_end_of_guest_memory(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	/* The file data fits; the zeroed tail does not. */
	phdr(f->img, LOAD_PH)->p_memsz = MEM_SIZE - LOAD_GPA + 1;
	assert_rejected(f, -E2BIG);
}

static void test_pvh_rejects_segment_above_guest_memory(void **state)
{
	struct fixture *f = *state;

	add_entry_note(f->img, ENTRY);
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	add_load(f->img, 0x40000000, 0x10, 0x10);
	assert_rejected(f, -E2BIG);
}

static void test_pvh_rejects_segment_that_wraps_address_space(void **state)
{
	struct fixture *f = *state;

	add_entry_note(f->img, ENTRY);
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	add_load(f->img, UINT64_MAX - 0xf, 0x10, 0x20);
	assert_rejected(f, -E2BIG);
}

static void test_pvh_rejects_segment_below_floor(void **state)
{
	struct fixture *f = *state;

	add_entry_note(f->img, ENTRY);
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	add_load(f->img, 0x8000, 0x100, 0x100);
	assert_rejected(f, -EINVAL);
}

static void test_pvh_rejects_segment_straddling_floor(void **state)
{
	struct fixture *f = *state;

	add_entry_note(f->img, ENTRY);
	add_load(f->img, FLOOR - 0x10, 0x100, LOAD_MEMSZ);
	assert_rejected(f, -EINVAL);
}

static void test_pvh_rejects_segment_overlapping_by_one_byte(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	add_load(f->img, LOAD_GPA + LOAD_MEMSZ - 1, 0x10, 0x10);
	assert_rejected(f, -EINVAL);
}

static void test_pvh_rejects_segment_overlapping_an_earlier_bss(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	/* Past the first segment's file data but inside its bss. */
	add_load(f->img, LOAD_GPA + LOAD_FILESZ, 0x10, 0x10);
	assert_rejected(f, -EINVAL);
}

static void test_pvh_rejects_segment_ending_on_an_earlier_start(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	add_load(f->img, LOAD_GPA + 0x1000, 0x10, 0x10);
	/* [LOAD_GPA + 0xf01, LOAD_GPA + 0x1001): its last byte is the first
	 * byte of the segment before. */
	add_load(f->img, LOAD_GPA + 0x1000 - 0xff, 0x10, 0x100);
	assert_rejected(f, -EINVAL);
}

static void test_pvh_rejects_segment_containing_an_earlier_one(void **state)
{
	struct fixture *f = *state;

	add_entry_note(f->img, ENTRY);
	add_load(f->img, LOAD_GPA + 0x1000, 0x10, 0x10);
	add_load(f->img, LOAD_GPA, 0x100, 0x4000);
	assert_rejected(f, -EINVAL);
}

static void test_pvh_rejects_identical_segments(void **state)
{
	struct fixture *f = *state;

	build_valid(f->img);
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_rejected(f, -EINVAL);
}

/*
 * Two overlapping segments in guest RAM at the very top of the address
 * space: the last one ends exactly at 2^64.
 */
static void test_pvh_rejects_overlap_at_top_of_address_space(void **state)
{
	struct fixture *f = *state;
	const uint64_t top = UINT64_MAX - 0x1fff; /* [top, 2^64) */
	const struct fixture_region ram[] = { { 0, MEM_SIZE, 0 },
					      { top, 0x2000, 0 } };
	struct pvh_image out = OUT_SENTINEL;

	assert_int_equal(fixture_mem_create(ram, 2, NULL, &f->top_mem), 0);
	add_entry_note(f->img, ENTRY);
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	add_load(f->img, top, 0x10, 0x2000);
	add_load(f->img, top + 0x1000, 0x10, 0x1000);
	assert_int_equal(pvh_load_buffer(f->top_mem, f->img->bytes,
					 f->img->size, "top.elf", FLOOR, &out),
			 -EINVAL);
}

/* ---- The PVH note ---- */

static void test_pvh_rejects_image_without_note_segment(void **state)
{
	struct fixture *f = *state;

	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_note_with_other_name(void **state)
{
	struct fixture *f = *state;
	uint8_t note[NOTE_MAX];

	add_notes(f->img, note,
		  put_note(note, 4, "Xyz", 4, ENTRY, XEN_PHYS32_ENTRY));
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_note_with_unterminated_name(void **state)
{
	struct fixture *f = *state;
	uint8_t note[NOTE_MAX];

	add_notes(f->img, note,
		  put_note(note, 3, "Xen", 4, ENTRY, XEN_PHYS32_ENTRY));
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_note_with_other_type(void **state)
{
	struct fixture *f = *state;
	uint8_t note[NOTE_MAX];

	add_notes(f->img, note, put_note(note, 4, "Xen", 4, ENTRY, 17));
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_note_with_2_byte_descriptor(void **state)
{
	struct fixture *f = *state;
	uint8_t note[NOTE_MAX];

	add_notes(f->img, note,
		  put_note(note, 4, "Xen", 2, ENTRY, XEN_PHYS32_ENTRY));
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_note_with_16_byte_descriptor(void **state)
{
	struct fixture *f = *state;
	uint8_t note[NOTE_MAX];

	add_notes(f->img, note,
		  put_note(note, 4, "Xen", 16, ENTRY, XEN_PHYS32_ENTRY));
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_rejected(f, -ENOEXEC);
}

/* Decoys with the wrong name, type and size come first, each claiming an
 * entry that is also loaded; the real note after them wins. */
static void test_pvh_skips_notes_that_are_not_the_entry(void **state)
{
	struct fixture *f = *state;
	uint8_t notes[4 * NOTE_MAX];
	struct pvh_image out;
	size_t len = 0;

	len += put_note(notes + len, 4, "Xyz", 4, ENTRY + 1, XEN_PHYS32_ENTRY);
	len += put_note(notes + len, 4, "Xen", 4, ENTRY + 2, 17);
	len += put_note(notes + len, 4, "Xen", 16, ENTRY + 3, XEN_PHYS32_ENTRY);
	len += put_entry_note(notes + len, ENTRY + 4);
	add_notes(f->img, notes, len);
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_int_equal(load(f, &out), 0);
	assert_int_equal(out.entry, ENTRY + 4);
}

static void test_pvh_rejects_note_whose_name_runs_past_segment(void **state)
{
	struct fixture *f = *state;
	Elf64_Nhdr nh = { .n_namesz = 0xffffffff,
			  .n_descsz = 4,
			  .n_type = XEN_PHYS32_ENTRY };
	uint8_t note[NOTE_MAX] = { 0 };

	memcpy(note, &nh, sizeof(nh));
	memcpy(note + sizeof(nh), "Xen", 4);
	add_notes(f->img, note, 32);
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_rejected(f, -ENOEXEC);
}

static void
test_pvh_rejects_note_whose_descriptor_runs_past_segment(void **state)
{
	struct fixture *f = *state;
	uint8_t note[NOTE_MAX];
	size_t len = put_entry_note(note, ENTRY);

	/* The descriptor's last byte is cut off by the segment size. */
	add_notes(f->img, note, len - 1);
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_rejected(f, -ENOEXEC);
}

static void
test_pvh_rejects_note_segment_shorter_than_note_header(void **state)
{
	struct fixture *f = *state;
	uint8_t note[NOTE_MAX];

	put_entry_note(note, ENTRY);
	add_notes(f->img, note, sizeof(Elf64_Nhdr) - 1);
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_finds_note_in_a_later_note_segment(void **state)
{
	struct fixture *f = *state;
	uint8_t note[NOTE_MAX];
	struct pvh_image out;

	add_notes(f->img, note, put_note(note, 4, "GNU", 4, 0, 3));
	add_entry_note(f->img, ENTRY);
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_int_equal(load(f, &out), 0);
	assert_int_equal(out.entry, ENTRY);
}

static void
test_pvh_keeps_entry_when_a_later_note_segment_lacks_it(void **state)
{
	struct fixture *f = *state;
	uint8_t note[NOTE_MAX];
	struct pvh_image out;

	add_entry_note(f->img, ENTRY);
	add_notes(f->img, note, put_note(note, 4, "GNU", 4, 0, 3));
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_int_equal(load(f, &out), 0);
	assert_int_equal(out.entry, ENTRY);
}

static void test_pvh_accepts_8_byte_note_descriptor(void **state)
{
	struct fixture *f = *state;
	uint8_t note[NOTE_MAX];
	struct pvh_image out;

	/* The upper half of the descriptor is not part of the entry. */
	add_notes(f->img, note,
		  put_note(note, 4, "Xen", 8, 0xffffffff00000000ull | ENTRY,
			   XEN_PHYS32_ENTRY));
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_int_equal(load(f, &out), 0);
	assert_int_equal(out.entry, ENTRY);
}

static void test_pvh_rejects_entry_outside_every_segment(void **state)
{
	struct fixture *f = *state;

	add_entry_note(f->img, 0x1000);
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_entry_one_past_segment_end(void **state)
{
	struct fixture *f = *state;

	add_entry_note(f->img, (uint32_t)LOAD_GPA + LOAD_MEMSZ);
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_rejects_entry_in_an_empty_segment(void **state)
{
	struct fixture *f = *state;

	add_entry_note(f->img, 0x180000);
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	image_add_phdr(f->img, PT_LOAD, DATA_START, 0, 0x180000, 0);
	assert_rejected(f, -ENOEXEC);
}

static void test_pvh_accepts_entry_at_last_byte_of_bss(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out;

	add_entry_note(f->img, (uint32_t)LOAD_GPA + LOAD_MEMSZ - 1);
	add_load(f->img, LOAD_GPA, LOAD_FILESZ, LOAD_MEMSZ);
	assert_int_equal(load(f, &out), 0);
	assert_int_equal(out.entry, LOAD_GPA + LOAD_MEMSZ - 1);
}

/* ---- Loading ---- */

static void test_pvh_copies_segment_data_exactly(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out;

	build_valid(f->img);
	assert_int_equal(load(f, &out), 0);
	assert_filled(f, 0, LOAD_GPA);
	assert_seg_data(f, LOAD_GPA, LOAD_FILESZ);
}

static void test_pvh_zeroes_bss_over_old_contents(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out;

	build_valid(f->img);
	assert_int_equal(load(f, &out), 0);
	assert_zero(f, LOAD_GPA + LOAD_FILESZ, LOAD_MEMSZ - LOAD_FILESZ);
}

static void test_pvh_writes_nothing_past_memsz(void **state)
{
	struct fixture *f = *state;
	uint64_t end = LOAD_GPA + LOAD_MEMSZ;
	struct pvh_image out;

	build_valid(f->img);
	assert_int_equal(load(f, &out), 0);
	assert_filled(f, end, MEM_SIZE - end);
}

static void test_pvh_reports_entry_and_loaded_range(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out;

	build_valid(f->img);
	assert_int_equal(load(f, &out), 0);
	assert_int_equal(out.entry, ENTRY);
	assert_int_equal(out.lowest, LOAD_GPA);
	assert_int_equal(out.highest, LOAD_GPA + LOAD_MEMSZ - 1);
}

static void test_pvh_loads_several_segments(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out;

	/* Out of address order, with gaps, and two adjacent ones. */
	add_entry_note(f->img, 0x140004);
	add_load(f->img, 0x180000, 0x100, 0x100);
	add_load(f->img, 0x140000, 0x80, 0x1000);
	add_load(f->img, 0x110000, 0x40, 0x40);
	add_load(f->img, 0x110040, 0x40, 0x80);
	assert_int_equal(load(f, &out), 0);
	assert_int_equal(out.entry, 0x140004);
	assert_int_equal(out.lowest, 0x110000);
	assert_int_equal(out.highest, 0x1800ff);
	assert_filled(f, 0, 0x110000);
	assert_seg_data(f, 0x110000, 0x80);
	assert_zero(f, 0x110080, 0x40);
	assert_filled(f, 0x1100c0, 0x140000 - 0x1100c0);
	assert_seg_data(f, 0x140000, 0x80);
	assert_zero(f, 0x140080, 0x1000 - 0x80);
	assert_filled(f, 0x141000, 0x180000 - 0x141000);
	assert_seg_data(f, 0x180000, 0x100);
	assert_filled(f, 0x180100, MEM_SIZE - 0x180100);
}

static void test_pvh_loads_segment_of_bss_only(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out;

	build_valid(f->img);
	image_add_phdr(f->img, PT_LOAD, 0, 0, 0x180000, 0x2000);
	assert_int_equal(load(f, &out), 0);
	assert_zero(f, 0x180000, 0x2000);
	assert_int_equal(out.highest, 0x181fff);
}

static void
test_pvh_loads_segment_ending_at_end_of_guest_memory(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out;

	build_valid(f->img);
	add_load(f->img, MEM_SIZE - 0x100, 0x100, 0x100);
	assert_int_equal(load(f, &out), 0);
	assert_seg_data(f, MEM_SIZE - 0x100, 0x100);
	assert_int_equal(out.highest, MEM_SIZE - 1);
}

static void test_pvh_ignores_empty_load_segment_outside_memory(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out;

	build_valid(f->img);
	image_add_phdr(f->img, PT_LOAD, UINT64_MAX, 0, UINT64_MAX, 0);
	assert_int_equal(load(f, &out), 0);
	assert_int_equal(out.lowest, LOAD_GPA);
	assert_int_equal(out.highest, LOAD_GPA + LOAD_MEMSZ - 1);
}

static void test_pvh_ignores_other_segment_types(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out;

	build_valid(f->img);
	/* A stack note and a PT_NULL pointing far outside file and RAM. */
	image_add_phdr(f->img, PT_GNU_STACK, 0, 0, 0, 0);
	image_add_phdr(f->img, PT_NULL, UINT64_MAX, 0x1000, 0, 0x1000);
	assert_int_equal(load(f, &out), 0);
	assert_int_equal(out.highest, LOAD_GPA + LOAD_MEMSZ - 1);
}

/* ---- pvh_load(): from a file ---- */

/* Write the image to a new temporary file named in f->path. */
static void write_image_file(struct fixture *f, size_t len)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	snprintf(f->path, sizeof(f->path), "%s/test_pvh.XXXXXX",
		 dir && strlen(dir) < 32 ? dir : "/tmp");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, f->img->bytes, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void test_pvh_file_that_does_not_exist_is_enoent(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out = OUT_SENTINEL;

	assert_int_equal(
		pvh_load(f->mem, "/nonexistent/minivmm-test.elf", FLOOR, &out),
		-ENOENT);
	assert_int_equal(out.entry, OUT_SENTINEL.entry);
}

static void test_pvh_file_that_is_a_directory_is_einval(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out = OUT_SENTINEL;

	assert_int_equal(pvh_load(f->mem, "/", FLOOR, &out), -EINVAL);
	assert_int_equal(out.entry, OUT_SENTINEL.entry);
}

static void test_pvh_empty_file_is_not_an_executable(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out = OUT_SENTINEL;

	write_image_file(f, 0);
	assert_int_equal(pvh_load(f->mem, f->path, FLOOR, &out), -ENOEXEC);
	assert_filled(f, 0, MEM_SIZE);
}

static void test_pvh_file_of_bad_image_is_rejected(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out = OUT_SENTINEL;

	build_valid(f->img);
	f->img->eh.e_machine = EM_AARCH64;
	write_image_file(f, f->img->size);
	assert_int_equal(pvh_load(f->mem, f->path, FLOOR, &out), -ENOEXEC);
	assert_filled(f, 0, MEM_SIZE);
}

static void test_pvh_loads_image_from_file(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out;

	build_valid(f->img);
	write_image_file(f, f->img->size);
	assert_int_equal(pvh_load(f->mem, f->path, FLOOR, &out), 0);
	assert_int_equal(out.entry, ENTRY);
	assert_int_equal(out.lowest, LOAD_GPA);
	assert_int_equal(out.highest, LOAD_GPA + LOAD_MEMSZ - 1);
	assert_seg_data(f, LOAD_GPA, LOAD_FILESZ);
	assert_zero(f, LOAD_GPA + LOAD_FILESZ, LOAD_MEMSZ - LOAD_FILESZ);
}

/* A file cut short inside the segment data is checked against its real
 * size, not the sizes its headers claim. */
static void test_pvh_file_truncated_inside_segment_is_rejected(void **state)
{
	struct fixture *f = *state;
	struct pvh_image out = OUT_SENTINEL;

	build_valid(f->img);
	write_image_file(f, f->img->size - 1);
	assert_int_equal(pvh_load(f->mem, f->path, FLOOR, &out), -ENOEXEC);
	assert_filled(f, 0, MEM_SIZE);
}

/* ---- pvh_load_initrd(): the initrd of a PVH kernel ---- */

#define INITRD_LEN 0x1234u
#define INITRD_GPA ((MEM_SIZE - INITRD_LEN) & ~0xfffull) /* 0x1fe000 */

static const uint8_t *initrd_bytes(void)
{
	static uint8_t b[INITRD_LEN];
	unsigned i;

	for (i = 0; i < sizeof(b); i++)
		b[i] = seg_byte(i);
	return b;
}

static void test_pvh_initrd_goes_page_aligned_to_the_top_of_ram(
	void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 1;

	assert_int_equal(pvh_load_initrd_buffer(
				 f->mem, initrd_bytes(), INITRD_LEN, "initrd",
				 LOAD_GPA + LOAD_MEMSZ - 1, &gpa),
			 0);
	assert_int_equal(gpa, INITRD_GPA);
	assert_memory_equal(guest(f) + gpa, initrd_bytes(), INITRD_LEN);
	assert_filled(f, 0, gpa);
	assert_filled(f, gpa + INITRD_LEN, MEM_SIZE - gpa - INITRD_LEN);
}

static void test_pvh_initrd_may_start_right_after_the_kernel(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 1;

	assert_int_equal(pvh_load_initrd_buffer(f->mem, initrd_bytes(),
						INITRD_LEN, "initrd",
						INITRD_GPA - 1, &gpa),
			 0);
	assert_int_equal(gpa, INITRD_GPA);
}

static void test_pvh_initrd_over_the_kernel_is_e2big(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 1;

	assert_int_equal(pvh_load_initrd_buffer(f->mem, initrd_bytes(),
						INITRD_LEN, "initrd",
						INITRD_GPA, &gpa),
			 -E2BIG);
	assert_int_equal(gpa, 1);
	assert_filled(f, 0, MEM_SIZE);
}

static void test_pvh_initrd_larger_than_ram_is_e2big(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 1;
	uint8_t *big = calloc(1, MEM_SIZE + 1);

	assert_non_null(big);
	assert_int_equal(pvh_load_initrd_buffer(f->mem, big, MEM_SIZE + 1,
						"initrd", 0, &gpa),
			 -E2BIG);
	free(big);
	assert_int_equal(gpa, 1);
	assert_filled(f, 0, MEM_SIZE);
}

static void test_pvh_empty_initrd_is_einval(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 1;

	assert_int_equal(pvh_load_initrd_buffer(f->mem, initrd_bytes(), 0,
						"initrd", 0, &gpa),
			 -EINVAL);
	assert_int_equal(gpa, 1);
}

/* RAM up to 4 MiB with a gap below its last page: the initrd at the top
 * runs into the gap, and the write fails and says so. */
static void test_pvh_initrd_in_unbacked_ram_is_efault(void **state)
{
	struct fixture *f = *state;
	const struct fixture_region ram[] = {
		{ 0, MEM_SIZE, 0 },
		{ 2 * MEM_SIZE - 0x1000, 0x1000, 0 },
	};
	uint64_t gpa = 1;

	assert_int_equal(fixture_mem_create(ram, 2, NULL, &f->top_mem), 0);
	assert_int_equal(pvh_load_initrd_buffer(f->top_mem, initrd_bytes(),
						INITRD_LEN, "initrd", 0, &gpa),
			 -EFAULT);
	assert_int_equal(gpa, 1);
}

/* RAM above 4 GiB is no place for it: Linux reads a 32-bit address. */
static void test_pvh_initrd_goes_below_hole_with_ram_above_4g(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 1;
	uint8_t back[INITRD_LEN];
	int rc;

	rc = fixture_ram_create(5ull << 30, 0, FIXTURE_NO_FILL, &f->top_mem);
	FIXTURE_SKIP_IF_TOO_BIG(rc, 5ull << 30);
	assert_int_equal(rc, 0);
	assert_int_equal(pvh_load_initrd_buffer(
				 f->top_mem, initrd_bytes(), INITRD_LEN,
				 "initrd", LOAD_GPA + LOAD_MEMSZ - 1, &gpa),
			 0);
	assert_int_equal(gpa, ((3ull << 30) - INITRD_LEN) & ~0xfffull);
	assert_int_equal(vmmem_read(f->top_mem, gpa, back, sizeof(back)), 0);
	assert_memory_equal(back, initrd_bytes(), INITRD_LEN);
}

static void test_pvh_initrd_from_file(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 1, len = 0;

	memcpy(f->img->bytes, initrd_bytes(), INITRD_LEN);
	write_image_file(f, INITRD_LEN);
	assert_int_equal(pvh_load_initrd(f->mem, f->path,
					 LOAD_GPA + LOAD_MEMSZ - 1, &gpa, &len),
			 0);
	assert_int_equal(gpa, INITRD_GPA);
	assert_int_equal(len, INITRD_LEN);
	assert_memory_equal(guest(f) + gpa, initrd_bytes(), INITRD_LEN);
}

static void test_pvh_initrd_file_missing_is_enoent(void **state)
{
	struct fixture *f = *state;
	uint64_t gpa = 1, len = 7;

	assert_int_equal(
		pvh_load_initrd(f->mem, "/nonexistent/initrd", 0, &gpa, &len),
		-ENOENT);
	assert_int_equal(gpa, 1);
	assert_int_equal(len, 7);
}

/* A file larger than RAM (here one page of it) is refused before it is
 * read. */
static void test_pvh_initrd_file_larger_than_ram_is_e2big(void **state)
{
	struct fixture *f = *state;
	const struct fixture_region ram[] = { { 0, 0x1000, 0 } };
	uint64_t gpa = 1, len = 7;
	uint8_t page[0x1000], back[0x1000];

	memset(page, FILL, sizeof(page));
	assert_int_equal(fixture_mem_create(ram, 1, NULL, &f->top_mem), 0);
	assert_int_equal(vmmem_write(f->top_mem, 0, page, sizeof(page)), 0);
	write_image_file(f, 0x2000);
	assert_int_equal(pvh_load_initrd(f->top_mem, f->path, 0, &gpa, &len),
			 -E2BIG);
	assert_int_equal(gpa, 1);
	assert_int_equal(len, 7);
	assert_int_equal(vmmem_read(f->top_mem, 0, back, sizeof(back)), 0);
	assert_memory_equal(back, page, sizeof(page));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* The ELF header */
		T(test_pvh_rejects_empty_buffer),
		T(test_pvh_rejects_buffer_shorter_than_elf_header),
		T(test_pvh_rejects_bad_magic),
		T(test_pvh_rejects_32_bit_class),
		T(test_pvh_rejects_big_endian_data),
		T(test_pvh_rejects_other_machine),
		T(test_pvh_rejects_shared_object),
		T(test_pvh_rejects_relocatable_object),
		/* The program header table */
		T(test_pvh_rejects_32_bit_phentsize),
		T(test_pvh_rejects_oversized_phentsize),
		T(test_pvh_rejects_zero_phnum),
		T(test_pvh_rejects_more_than_64_phdrs),
		T(test_pvh_accepts_64_phdrs),
		T(test_pvh_rejects_phdr_table_past_end_of_file),
		T(test_pvh_rejects_phdr_offset_that_wraps),
		T(test_pvh_rejects_truncated_phdr_table),
		/* Segment checks */
		T(test_pvh_rejects_note_segment_past_end_of_file),
		T(test_pvh_rejects_note_segment_offset_past_end_of_file),
		T(test_pvh_rejects_note_segment_size_that_wraps),
		T(test_pvh_rejects_segment_data_past_end_of_file),
		T(test_pvh_rejects_segment_offset_that_wraps),
		T(test_pvh_rejects_filesz_larger_than_memsz),
		T(test_pvh_rejects_segment_past_end_of_guest_memory),
		T(test_pvh_rejects_bss_past_end_of_guest_memory),
		T(test_pvh_rejects_segment_above_guest_memory),
		T(test_pvh_rejects_segment_that_wraps_address_space),
		T(test_pvh_rejects_segment_below_floor),
		T(test_pvh_rejects_segment_straddling_floor),
		T(test_pvh_rejects_segment_overlapping_by_one_byte),
		T(test_pvh_rejects_segment_overlapping_an_earlier_bss),
		T(test_pvh_rejects_segment_ending_on_an_earlier_start),
		T(test_pvh_rejects_segment_containing_an_earlier_one),
		T(test_pvh_rejects_identical_segments),
		T(test_pvh_rejects_overlap_at_top_of_address_space),
		/* The PVH note */
		T(test_pvh_rejects_image_without_note_segment),
		T(test_pvh_rejects_note_with_other_name),
		T(test_pvh_rejects_note_with_unterminated_name),
		T(test_pvh_rejects_note_with_other_type),
		T(test_pvh_rejects_note_with_2_byte_descriptor),
		T(test_pvh_rejects_note_with_16_byte_descriptor),
		T(test_pvh_skips_notes_that_are_not_the_entry),
		T(test_pvh_rejects_note_whose_name_runs_past_segment),
		T(test_pvh_rejects_note_whose_descriptor_runs_past_segment),
		T(test_pvh_rejects_note_segment_shorter_than_note_header),
		T(test_pvh_finds_note_in_a_later_note_segment),
		T(test_pvh_keeps_entry_when_a_later_note_segment_lacks_it),
		T(test_pvh_accepts_8_byte_note_descriptor),
		T(test_pvh_rejects_entry_outside_every_segment),
		T(test_pvh_rejects_entry_one_past_segment_end),
		T(test_pvh_rejects_entry_in_an_empty_segment),
		T(test_pvh_accepts_entry_at_last_byte_of_bss),
		/* Loading */
		T(test_pvh_copies_segment_data_exactly),
		T(test_pvh_zeroes_bss_over_old_contents),
		T(test_pvh_writes_nothing_past_memsz),
		T(test_pvh_reports_entry_and_loaded_range),
		T(test_pvh_loads_several_segments),
		T(test_pvh_loads_segment_of_bss_only),
		T(test_pvh_loads_segment_ending_at_end_of_guest_memory),
		T(test_pvh_ignores_empty_load_segment_outside_memory),
		T(test_pvh_ignores_other_segment_types),
		/* pvh_load() */
		T(test_pvh_file_that_does_not_exist_is_enoent),
		T(test_pvh_file_that_is_a_directory_is_einval),
		T(test_pvh_empty_file_is_not_an_executable),
		T(test_pvh_file_of_bad_image_is_rejected),
		T(test_pvh_loads_image_from_file),
		T(test_pvh_file_truncated_inside_segment_is_rejected),
		/* pvh_load_initrd() */
		T(test_pvh_initrd_goes_page_aligned_to_the_top_of_ram),
		T(test_pvh_initrd_may_start_right_after_the_kernel),
		T(test_pvh_initrd_over_the_kernel_is_e2big),
		T(test_pvh_initrd_larger_than_ram_is_e2big),
		T(test_pvh_empty_initrd_is_einval),
		T(test_pvh_initrd_in_unbacked_ram_is_efault),
		T(test_pvh_initrd_goes_below_hole_with_ram_above_4g),
		T(test_pvh_initrd_from_file),
		T(test_pvh_initrd_file_missing_is_enoent),
		T(test_pvh_initrd_file_larger_than_ram_is_e2big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
