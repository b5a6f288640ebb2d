/* SPDX-License-Identifier: MIT */
/*
 * A program that uses libvmmem the way a user would, built by
 * test_install.sh against an installed tree with nothing but pkg-config.
 */
#include <stdio.h>
#include <string.h>

#include <vmmem/vmmem.h>

int main(void)
{
	struct vmmem_range ranges[] = { { 0x0, 0x1000 }, { 0x1000, 0x1000 } };
	const char msg[] = "hello";
	char back[sizeof(msg)] = "";
	struct vmmem *mem;
	uint32_t v = 0;
	int rc;

	rc = vmmem_create_anon(ranges, 2, 0, &mem);
	if (rc) {
		fprintf(stderr, "consumer: %s\n", vmmem_strerror(rc));
		return 1;
	}
	/* Across the boundary, then a scalar through the inline path. */
	rc = vmmem_write(mem, 0xffd, msg, sizeof(msg));
	if (!rc)
		rc = vmmem_read(mem, 0xffd, back, sizeof(back));
	if (!rc)
		rc = vmmem_write_le32(mem, 0x1000, 0xdeadbeef);
	if (!rc)
		rc = vmmem_atomic_load_u32(mem, 0x1000, &v, __ATOMIC_ACQUIRE);
	vmmem_destroy(mem);
	if (rc || strcmp(msg, back) || v != 0xdeadbeef) {
		fprintf(stderr, "consumer: wrong result (%s)\n",
			vmmem_strerror(rc));
		return 1;
	}
	printf("consumer: ok\n");
	return 0;
}
