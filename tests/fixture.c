/* SPDX-License-Identifier: MIT */
/* See fixture.h. */
#include <errno.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>

#include "fixture.h"

int fixture_mem_create(const struct fixture_region *spec, size_t n,
		       struct vmmem_region **regions, struct vmmem **out)
{
	struct vmmem_region *own[FIXTURE_MAX_REGIONS];
	struct vmmem_region **r = regions ? regions : own;
	size_t i;
	int rc = 0;

	if (n > FIXTURE_MAX_REGIONS || (n && !spec) || !out)
		return -EINVAL;
	for (i = 0; i < n; i++)
		r[i] = NULL;
	for (i = 0; i < n && rc == 0; i++)
		rc = vmmem_region_create_anon(spec[i].gpa, spec[i].len,
					      spec[i].flags, &r[i]);
	if (rc == 0)
		rc = vmmem_create(r, n, out);
	/* The set holds its own references; keep ours only when asked. */
	if (rc || !regions)
		fixture_regions_destroy(r, n);
	return rc;
}

void fixture_regions_destroy(struct vmmem_region **regions, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		vmmem_region_destroy(regions[i]);
		regions[i] = NULL;
	}
}

int fixture_ram_create(uint64_t size, unsigned flags, int fill,
		       struct vmmem **out)
{
	struct vmmem_range ram[2] = { { 0, size } };
	size_t n = 1, i;
	int rc;

	if (size > FIXTURE_HOLE_GPA) {
		ram[0].len = FIXTURE_HOLE_GPA;
		ram[1].gpa = FIXTURE_HOLE_END;
		ram[1].len = size - FIXTURE_HOLE_GPA;
		n = 2;
	}
	rc = vmmem_create_anon(ram, n, flags, out);
	if (rc || fill == FIXTURE_NO_FILL)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		rc = vmmem_fill(*out, ram[i].gpa, fill, ram[i].len);
	if (rc) {
		vmmem_destroy(*out);
		*out = NULL;
	}
	return rc;
}

int fixture_too_big(int rc, uint64_t size)
{
	return sizeof(void *) < 8 && size >= (1ull << 30) &&
	       (rc == -ENOMEM || rc == -EOVERFLOW);
}
