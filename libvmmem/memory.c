/* SPDX-License-Identifier: MIT */
/*
 * memory.c - memory sets: building them, copy-on-write insert and remove,
 * reference counting, and address lookup.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>

#include "internal.h"
#include "os.h"

static int cmp_region(const void *a, const void *b)
{
	const struct vmmem_region *ra = *(struct vmmem_region *const *)a;
	const struct vmmem_region *rb = *(struct vmmem_region *const *)b;

	return ra->gpa < rb->gpa ? -1 : ra->gpa > rb->gpa;
}

/* Smallest power of two >= 2n, at least 2 and at most 2^21 buckets. */
static uint32_t bucket_count(uint32_t n)
{
	uint32_t nb = 2;

	while (nb < 2 * (uint64_t)n && nb < (1u << 21))
		nb <<= 1;
	return nb;
}

/*
 * Fill the bucket index. Bucket b covers [base + (b << shift), next bucket);
 * lo[b] is the last region starting at or before the bucket's first byte
 * (0 if none), hi[b] the last region starting at or before its last byte.
 * A region containing an address of bucket b is therefore in [lo[b], hi[b]].
 */
static void build_buckets(struct vmmem *m)
{
	uint64_t span = m->top - m->base;
	uint32_t nb = m->nbuckets, i = 0, b;
	unsigned bits = 0;

	/* The bucket of the top byte must be below nb: span >> shift < nb. */
	while (bits < 64 && (span >> bits) >= nb)
		bits++;
	m->shift = bits;

	for (b = 0; b < nb; b++) {
		uint64_t first = (uint64_t)b << m->shift;
		vmmem_gpa_t lo_gpa, hi_gpa;

		if (m->shift && first >> m->shift != b) {
			/* Buckets past the top of the 64-bit space. */
			m->buckets[b].lo = m->buckets[b].hi = m->n - 1;
			continue;
		}
		lo_gpa = m->base + first;
		hi_gpa = ((uint64_t)(b + 1) << m->shift) - 1;
		if (hi_gpa > span || hi_gpa < first)
			hi_gpa = m->top;
		else
			hi_gpa += m->base;
		while (i + 1 < m->n && m->slots[i + 1].gpa <= lo_gpa)
			i++;
		m->buckets[b].lo = i;
		{
			uint32_t j = i;

			while (j + 1 < m->n && m->slots[j + 1].gpa <= hi_gpa)
				j++;
			m->buckets[b].hi = j;
		}
	}
}

static uint64_t lim7(uint64_t run)
{
	return run >= 8 ? run - 7 : 0;
}

/* Whether t continues s in guest-physical and in host memory. */
static bool host_adjacent(const struct vmmem__slot *s,
			  const struct vmmem__slot *t)
{
	return t->gpa - s->gpa == s->len && t->gpa > s->gpa && s->hva &&
	       t->hva && (uintptr_t)t->hva - (uintptr_t)s->hva == s->len;
}

/*
 * The fast-path limits. Regions that follow each other in guest-physical
 * memory and whose mappings also follow each other in host memory (as
 * vmmem_create_anon() lays them out) form a run that one memcpy can cross;
 * rlim and wlim extend over the whole run that starts at a slot, so the
 * inline paths cross a region boundary without a lookup. wlim only covers
 * writable regions without dirty tracking: a tracked write must find its
 * own region's bitmap.
 */
static void set_runs(struct vmmem *m)
{
	uint64_t rrun = 0, wrun = 0;
	uint32_t i;

	for (i = m->n; i-- > 0;) {
		struct vmmem__slot *s = &m->slots[i];
		bool cont = i + 1 < m->n && host_adjacent(s, s + 1);
		bool writable = s->hva && !s->dirty &&
				!(s->region->flags & VMMEM_REGION_READONLY);

		rrun = s->hva ? s->len + (cont ? rrun : 0) : 0;
		wrun = writable ? s->len + (cont ? wrun : 0) : 0;
		s->rlim = lim7(rrun);
		s->wlim = lim7(wrun);
	}
}

/*
 * Build a set from regions that are already sorted and checked for overlap;
 * takes a reference to each.
 */
static int set_build(struct vmmem_region *const *sorted, uint32_t n,
		     struct vmmem **out)
{
	const size_t line = 64;
	uint32_t nb = n ? bucket_count(n) : 0, i;
	/* Header, slack to align the slots to a cache line, slots,
	 * buckets: one allocation. */
	size_t size = sizeof(struct vmmem) + line +
		      (size_t)n * sizeof(struct vmmem__slot) +
		      (size_t)nb * sizeof(struct vmmem__bucket);
	struct vmmem *m = calloc(1, size);

	if (!m)
		return -ENOMEM;
	m->refs = 1;
	m->n = n;
	m->slots = (struct vmmem__slot *)(((uintptr_t)(m + 1) + line - 1) &
					  ~(uintptr_t)(line - 1));
	for (i = 0; i < n; i++) {
		struct vmmem_region *r = vmmem_region_ref(sorted[i]);
		struct vmmem__slot *s = &m->slots[i];

		s->gpa = r->gpa;
		s->len = r->len;
		s->hva = r->hva;
		s->dirty = r->dirty;
		s->region = r;
		if (r->hva && r->dirty && !(r->flags & VMMEM_REGION_READONLY))
			s->dlim = lim7(r->len);
	}
	set_runs(m);
	if (n) {
		m->view.hint = &m->slots[0];
		m->base = m->slots[0].gpa;
		m->top = m->slots[n - 1].gpa + (m->slots[n - 1].len - 1);
		m->nbuckets = nb;
		m->buckets = (struct vmmem__bucket *)(void *)&m->slots[n];
		build_buckets(m);
	} else {
		/* All lengths 0: no address ever matches the sentinel. */
		m->view.hint = &m->sentinel;
	}
	*out = m;
	return 0;
}

/* Sort a private copy of the array and reject overlaps. */
static int sort_and_check(struct vmmem_region **v, size_t n)
{
	size_t i;

	qsort(v, n, sizeof(*v), cmp_region);
	for (i = 1; i < n; i++) {
		const struct vmmem_region *prev = v[i - 1];

		/* prev's last byte never wraps; >= catches equal starts. */
		if (prev->gpa + (prev->len - 1) >= v[i]->gpa)
			return -EEXIST;
	}
	return 0;
}

int vmmem_create(struct vmmem_region *const *regions, size_t n,
		 struct vmmem **out)
{
	struct vmmem_region **v;
	size_t i;
	int rc;

	if (!out || (n && !regions) || n > VMMEM_MAX_REGIONS)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!regions[i])
			return -EINVAL;
	if (n == 0)
		return set_build(NULL, 0, out);
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v, regions, n * sizeof(*v));
	rc = sort_and_check(v, n);
	if (rc == 0)
		rc = set_build(v, (uint32_t)n, out);
	free(v);
	return rc;
}

/* Ranges sorted by address, for vmmem_create_anon(). */
static int cmp_range(const void *a, const void *b)
{
	const struct vmmem_range *ra = *(const struct vmmem_range *const *)a;
	const struct vmmem_range *rb = *(const struct vmmem_range *const *)b;

	return ra->gpa < rb->gpa ? -1 : ra->gpa > rb->gpa;
}

/* Whether range b can be placed right after range a in host memory. */
static bool joins(const struct vmmem_range *a, const struct vmmem_range *b,
		  unsigned flags)
{
	return !(flags & (VMMEM_REGION_GUARD | VMMEM_REGION_HUGETLB)) &&
	       a->len && b->len && !(a->len & (VMMEM_PAGE_SIZE - 1)) &&
	       b->gpa - a->gpa == a->len && b->gpa > a->gpa;
}

/*
 * Create the regions of a run of guest-adjacent ranges (r[0..n-1]) in one
 * host reservation, so that they are adjacent in host memory as well and a
 * copy across their boundaries is one memcpy. Each region owns and unmaps
 * its own part. Falls back to separate mappings when the reservation
 * cannot be had (not an error: the layout is an optimisation).
 */
static int create_run(struct vmmem_range *const *r, size_t n, unsigned flags,
		      struct vmmem_region **v, size_t *made)
{
	uint64_t total = 0, last_len;
	uint8_t *res = NULL;
	size_t i;
	int rc;

	last_len = r[n - 1]->len;
	if (n > 1 && last_len <= UINT64_MAX - (VMMEM_PAGE_SIZE - 1)) {
		for (i = 0; i + 1 < n; i++)
			total += r[i]->len;	/* gpa-adjacent: cannot wrap */
		last_len = (last_len + VMMEM_PAGE_SIZE - 1) &
			   ~(VMMEM_PAGE_SIZE - 1);
		if (total <= SIZE_MAX - last_len)
			res = vmmem__reserve(total + last_len);
		total += last_len;
	}
	for (i = 0; i < n; i++) {
		uint64_t at = 0;
		size_t k;

		for (k = 0; k < i; k++)
			at += r[k]->len;
		rc = vmmem__region_create_anon_at(
			r[i]->gpa, r[i]->len, flags,
			res ? res + at : NULL, &v[*made]);
		if (rc) {
			/* Created regions unmap their parts; the rest of the
			 * reservation is ours. */
			if (res)
				vmmem__unreserve(res + at, total - at);
			return rc;
		}
		(*made)++;
	}
	return 0;
}

int vmmem_create_anon(const struct vmmem_range *ranges, size_t n,
		      unsigned flags, struct vmmem **out)
{
	struct vmmem_range **order = NULL;
	struct vmmem_region **v;
	size_t i, j, made = 0;
	int rc = -ENOMEM;

	if (!out || (n && !ranges) || n > VMMEM_MAX_REGIONS)
		return -EINVAL;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	order = malloc((n ? n : 1) * sizeof(*order));
	if (!order)
		goto out;
	for (i = 0; i < n; i++)
		order[i] = (struct vmmem_range *)&ranges[i];
	qsort(order, n, sizeof(*order), cmp_range);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && joins(order[j - 1], order[j], flags);
		     j++)
			;
		rc = create_run(&order[i], j - i, flags, v, &made);
		if (rc)
			goto out;
	}
	rc = vmmem_create(v, n, out);
out:
	/* The set holds its own references; drop the ones we made. */
	for (i = 0; i < made; i++)
		vmmem_region_destroy(v[i]);
	free(order);
	free(v);
	return rc;
}

struct vmmem *vmmem_ref(struct vmmem *mem)
{
	if (mem)
		__atomic_fetch_add(&mem->refs, 1, __ATOMIC_RELAXED);
	return mem;
}

void vmmem_destroy(struct vmmem *mem)
{
	uint32_t left;
	uint32_t i;

	if (!mem)
		return;
	left = __atomic_sub_fetch(&mem->refs, 1, __ATOMIC_SEQ_CST);
	if (left == 1) {
		/* A thread may be waiting to become the last holder. It may
		 * free the set as soon as it sees the count, so from here on
		 * we must not touch *mem: the wake-up goes through a global
		 * word instead. */
		vmmem__notify_released();
		return;
	}
	if (left)
		return;
	for (i = 0; i < mem->n; i++)
		vmmem_region_destroy(mem->slots[i].region);
	free(mem);
}

int vmmem_insert(struct vmmem *mem, struct vmmem_region *region,
		 struct vmmem **out)
{
	struct vmmem_region **v;
	uint32_t i, n;
	int rc;

	if (!mem || !region || !out)
		return -EINVAL;
	n = mem->n;
	if (n + 1 > VMMEM_MAX_REGIONS)
		return -EINVAL;
	v = malloc((n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		v[i] = mem->slots[i].region;
	v[n] = region;
	rc = sort_and_check(v, n + 1);
	if (rc == 0)
		rc = set_build(v, n + 1, out);
	free(v);
	return rc;
}

int vmmem_remove(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len,
		 struct vmmem **out, struct vmmem_region **removed)
{
	struct vmmem_region **v;
	uint32_t i, k = 0, hit = UINT32_MAX;
	int rc;

	if (!mem || !out)
		return -EINVAL;
	for (i = 0; i < mem->n; i++)
		if (mem->slots[i].gpa == gpa && mem->slots[i].len == len)
			hit = i;
	if (hit == UINT32_MAX)
		return -ENOENT;
	v = malloc((mem->n ? mem->n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < mem->n; i++)
		if (i != hit)
			v[k++] = mem->slots[i].region;
	rc = set_build(v, k, out);
	free(v);
	if (rc == 0 && removed)
		*removed = vmmem_region_ref(mem->slots[hit].region);
	return rc;
}

size_t vmmem_region_count(const struct vmmem *mem)
{
	return mem->n;
}

struct vmmem_region *vmmem_region_at(const struct vmmem *mem, size_t i)
{
	return i < mem->n ? mem->slots[i].region : NULL;
}

const struct vmmem__slot *vmmem__next_adjacent(const struct vmmem *mem,
					       const struct vmmem__slot *s)
{
	const struct vmmem__slot *next = s + 1;

	if (s->len == 0 || next >= mem->slots + mem->n)
		return NULL;
	/* s ends below 2^64 here: a region ending at the top is the last. */
	if (next->gpa - s->gpa != s->len)
		return NULL;
	return next;
}

int vmmem_find_region(struct vmmem *mem, vmmem_gpa_t gpa,
		      struct vmmem_region **out)
{
	const struct vmmem__slot *s = vmmem__lookup(mem, gpa);

	if (!s)
		return -EFAULT;
	*out = s->region;
	return 0;
}

int vmmem_last_gpa(const struct vmmem *mem, vmmem_gpa_t *last)
{
	if (mem->n == 0)
		return -ENOENT;
	*last = mem->top;
	return 0;
}

int vmmem__walk(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len, bool write,
		struct vmmem__piece *pieces, unsigned max, unsigned *n)
{
	const struct vmmem__slot *s;
	unsigned count = 0;
	vmmem_gpa_t last;
	uint64_t off;
	int rc = 0;

	if (vmmem_gpa_last(gpa, len, &last))
		return -EOVERFLOW;
	s = vmmem__lookup(mem, gpa);
	if (!s)
		return -EFAULT;
	off = gpa - s->gpa;
	for (;;) {
		uint64_t piece = s->len - off < len ? s->len - off : len;

		/* Remember the first non-fault problem, but keep walking:
		 * a hole further on is reported as -EFAULT first. */
		if (!rc && !vmmem__accessible(s))
			rc = -ENOTSUP;
		else if (!rc && write &&
			 (s->region->flags & VMMEM_REGION_READONLY))
			rc = -EACCES;
		if (count < max)
			pieces[count] = (struct vmmem__piece){ s, off, piece };
		count++;
		if (piece == len)
			break;
		len -= piece;
		s = vmmem__next_adjacent(mem, s);
		if (!s)
			return -EFAULT;
		off = 0;
	}
	if (n)
		*n = count;
	return rc;
}

int vmmem_check_range(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len)
{
	int rc;

	if (len == 0)
		return 0;
	rc = vmmem__check(mem, gpa, len, false);
	return rc == -ENOTSUP ? 0 : rc;
}

/*
 * Not vmmem__check(mem, gpa, len, true): that reports a region without a
 * host mapping as -ENOTSUP in preference to a read-only region after it,
 * and whether a region is mapped is not the question here.
 */
int vmmem_check_writable(struct vmmem *mem, vmmem_gpa_t gpa, uint64_t len)
{
	const struct vmmem__slot *s;
	vmmem_gpa_t last;
	uint64_t off;
	int rc = 0;

	if (len == 0)
		return 0;
	if (vmmem_gpa_last(gpa, len, &last))
		return -EOVERFLOW;
	s = vmmem__lookup(mem, gpa);
	if (!s)
		return -EFAULT;
	off = gpa - s->gpa;
	/* Each step moves on to the next region, so the walk takes at most
	 * as many steps as there are regions under the range. */
	for (;;) {
		uint64_t piece = s->len - off;

		/* Keep walking after a read-only region: a hole further on
		 * is reported first, as vmmem__walk() does. */
		if (s->region->flags & VMMEM_REGION_READONLY)
			rc = -EACCES;
		if (piece >= len)
			return rc;
		len -= piece;
		s = vmmem__next_adjacent(mem, s);
		if (!s)
			return -EFAULT;
		off = 0;
	}
}
