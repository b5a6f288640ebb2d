/* SPDX-License-Identifier: MIT */
/*
 * demo - libvmmem in a few lines: guest memory made of two adjacent 4 KiB
 * regions, a write that crosses from one into the other, and a read back.
 * It prints each step, so a reader can follow what the library does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/vmmem.h>

static void check(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "demo: %s: %s\n", what, vmmem_strerror(rc));
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct vmmem_range ranges[] = { { 0x0, 0x1000 }, { 0x1000, 0x1000 } };
	const uint8_t msg[5] = { 1, 2, 3, 4, 5 };
	uint8_t back[5] = { 0 };
	struct vmmem *mem;
	uint64_t value;
	size_t i;

	(void)argv;
	if (argc > 1) {
		printf("usage: demo\n"
		       "Builds guest memory from two adjacent 4 KiB regions,"
		       " writes across the\nboundary between them and reads"
		       " the bytes back.\n");
		return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}

	check(vmmem_create_anon(ranges, 2, 0, &mem), "create guest memory");
	printf("guest memory: %zu regions\n", vmmem_region_count(mem));
	for (i = 0; i < vmmem_region_count(mem); i++) {
		struct vmmem_region *r = vmmem_region_at(mem, i);

		printf("  [0x%04llx, 0x%04llx] %llu bytes, anonymous\n",
		       (unsigned long long)vmmem_region_gpa(r),
		       (unsigned long long)vmmem_region_last(r),
		       (unsigned long long)vmmem_region_len(r));
	}

	check(vmmem_write(mem, 0xffc, msg, sizeof(msg)),
	      "write 5 bytes at 0xffc");
	printf("wrote 5 bytes at 0xffc: 4 in the first region, 1 in the "
	       "second\n");
	check(vmmem_read(mem, 0xffc, back, sizeof(back)),
	      "read 5 bytes at 0xffc");
	printf("read back:");
	for (i = 0; i < sizeof(back); i++)
		printf(" %u", back[i]);
	printf(" -> %s\n", memcmp(msg, back, sizeof(msg)) ? "MISMATCH" : "ok");

	check(vmmem_write_u64(mem, 0x1ff8, 0x0123456789abcdefull),
	      "write a u64");
	check(vmmem_read_u64(mem, 0x1ff8, &value), "read a u64");
	printf("u64 at 0x1ff8: %#llx\n", (unsigned long long)value);

	printf("read 8 bytes at 0x1ffc (runs past the end): %s\n",
	       vmmem_strerror(vmmem_read(mem, 0x1ffc, &value, 8)));
	vmmem_destroy(mem);
	return memcmp(msg, back, sizeof(msg)) ? 1 : 0;
}
