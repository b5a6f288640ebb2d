/* SPDX-License-Identifier: MIT */
/*
 * A libvmmem-xen user, built by tests/test_install.sh against the installed
 * tree with `pkg-config libvmmem-xen` only: a UNIX (ordinary file) Xen
 * region, written and read back through a memory set and seen in the file.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>
#include <vmmem/xen.h>

int main(void)
{
	struct vmmem_region *r;
	struct vmmem *mem;
	char buf[16] = { 0 };
	int fd = memfd_create("consumer-xen", 0);

	if (fd < 0 || ftruncate(fd, 8192) != 0)
		return 1;
	if (vmmem_region_create_xen(0x1000, 8192, 0, VMMEM_XEN_UNIX, fd, 0, 0,
				    &r) != 0)
		return 2;
	if (vmmem_region_xen_flags(r) != VMMEM_XEN_UNIX ||
	    vmmem_create(&r, 1, &mem) != 0)
		return 3;
	if (vmmem_write(mem, 0x2000, "xen unix", 9) != 0 ||
	    vmmem_read(mem, 0x2000, buf, 9) != 0 || strcmp(buf, "xen unix"))
		return 4;
	memset(buf, 0, sizeof(buf));
	if (pread(fd, buf, 9, 4096) != 9 || strcmp(buf, "xen unix"))
		return 5;
	vmmem_destroy(mem);
	vmmem_region_destroy(r);
	close(fd);
	puts("libvmmem-xen: UNIX region round trip ok");
	return 0;
}
