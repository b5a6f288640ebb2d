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

/* The most buckets a set of n regions gets: 32 per region, at least 64
 * and at most 2^21 (16 MiB of index). */
static uint64_t bucket_cap(uint32_t n)
{
	uint64_t cap = 32 * (uint64_t)n;

	return cap < 64 ? 64 : cap > (1u << 21) ? (1u << 21) : cap;
}

static unsigned ctz64(uint64_t x)
{
	return (unsigned)__builtin_ctzll(x);
}

/*
 * log2 of the bucket size: the largest power of two that every region
 * boundary is a multiple of (relative to base), so that no bucket holds
 * parts of two regions and the inline paths' tables cover every bucket; or,
 * when that would take more buckets than bucket_cap(), the smallest size
 * within it, with a search in the buckets that a boundary cuts.
 */
static unsigned bucket_shift(const struct vmmem *m, uint64_t span)
{
	uint64_t cap = bucket_cap(m->n);
	unsigned need = 0, align = 63;
	uint32_t i;

	while (need < 63 && (span >> need) >= cap)
		need++;
	for (i = 0; i < m->n; i++) {
		uint64_t start = m->slots[i].gpa - m->view.base;
		uint64_t end = start + m->slots[i].len; /* 0: the top of 2^64 */

		if (start && ctz64(start) < align)
			align = ctz64(start);
		if (end && ctz64(end) < align)
			align = ctz64(end);
	}
	return need > align ? need : align;
}

/*
 * The bucket table entry of [lo, hi] (see vmmem/view.h): host minus guest
 * address when the bucket is at least 8 bytes and wholly readable memory of
 * region s, or with write, memory that may be written without dirty
 * tracking, and the region's host and guest addresses agree modulo 8; else
 * 0, which sends the inline paths to the library.
 */
static uintptr_t whole_bucket(const struct vmmem__slot *s, vmmem_gpa_t lo,
			      vmmem_gpa_t hi, unsigned shift, bool write)
{
	uintptr_t bias;

	if (shift < 3 || !s->hva || lo < s->gpa || hi - s->gpa >= s->len)
		return 0;
	if (write && (s->dirty || (s->region->flags & VMMEM_REGION_READONLY)))
		return 0;
	bias = (uintptr_t)s->hva - (uintptr_t)s->gpa;
	return bias & 7 ? 0 : bias;
}

/*
 * Fill the bucket index (see struct vmmem): guess[b] is the last region
 * starting at or before the bucket's first byte, hi[b] the last region
 * starting at or before its last byte. A region containing an address of
 * bucket b is therefore in [first[b], hi[b]].
 */
static void build_buckets(struct vmmem *m, const struct vmmem__slot **guess,
			  uintptr_t *rtab, uintptr_t *wtab, uint64_t nb)
{
	uint64_t span = m->top - m->view.base, b;
	unsigned shift = m->view.geom & 63;
	uint32_t i = 0;

	for (b = 0; b < nb; b++) {
		vmmem_gpa_t lo_gpa = m->view.base + (b << shift);
		vmmem_gpa_t hi_gpa =
			m->view.base +
			(b + 1 < nb ? ((b + 1) << shift) - 1 : span);
		uint32_t j;

		while (i + 1 < m->n && m->slots[i + 1].gpa <= lo_gpa)
			i++;
		guess[b] = &m->slots[i];
		rtab[b] = whole_bucket(&m->slots[i], lo_gpa, hi_gpa, shift,
				       false);
		wtab[b] = whole_bucket(&m->slots[i], lo_gpa, hi_gpa, shift,
				       true);
		for (j = i; j + 1 < m->n && m->slots[j + 1].gpa <= hi_gpa;)
			j++;
		m->hi[b] = j;
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
	struct vmmem *m;
	uint64_t nb = 0;
	const struct vmmem__slot **guess;
	uintptr_t *rtab, *wtab;
	unsigned shift;
	size_t size;
	uint32_t i;

	/* The regions first: the bucket count depends on their layout. */
	m = calloc(1, sizeof(struct vmmem) + line +
			      (size_t)n * sizeof(struct vmmem__slot));
	if (!m)
		return -ENOMEM;
	m->refs = 1;
	m->n = n;
	m->slots = (struct vmmem__slot *)(((uintptr_t)(m + 1) + line - 1) &
					  ~(uintptr_t)(line - 1));
	for (i = 0; i < n; i++) {
		struct vmmem_region *r = sorted[i];
		struct vmmem__slot *s = &m->slots[i];

		s->gpa = r->gpa;
		s->len = r->len;
		s->hva = r->hva;
		s->dirty = r->dirty;
		s->region = r;
		if (r->hva && r->dirty && !(r->flags & VMMEM_REGION_READONLY))
			s->dlim = lim7(r->len);
	}
	if (n == 0) {
		/* All lengths 0: no address ever matches the sentinel. */
		m->view.hint = &m->sentinel;
		m->view.btab[0] = m->view.btab[1] = &m->sentinel_btab;
		*out = m;
		return 0;
	}
	m->view.base = m->slots[0].gpa;
	m->top = m->slots[n - 1].gpa + (m->slots[n - 1].len - 1);
	shift = bucket_shift(m, m->top - m->view.base);
	nb = ((m->top - m->view.base) >> shift) + 1;
	m->view.geom = (nb - 1) << 6 | shift;
	/* Then the index, in its own allocation: guess[], the two host
	 * address tables, hi[]. */
	size = (size_t)nb * (sizeof(*guess) + 2 * sizeof(*rtab) +
			     sizeof(uint32_t));
	guess = malloc(size);
	if (!guess) {
		free(m);
		return -ENOMEM;
	}
	rtab = (uintptr_t *)(void *)(guess + nb);
	wtab = rtab + nb;
	m->hi = (uint32_t *)(void *)(wtab + nb);
	build_buckets(m, guess, rtab, wtab, nb);
	for (i = 0; i < n; i++)
		vmmem_region_ref(sorted[i]);
	set_runs(m);
	m->view.hint = &m->slots[0];
	m->guess = guess;
	m->view.btab[0] = rtab;
	m->view.btab[1] = wtab;
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
			res = vmmem__reserve_aligned(total + last_len,
						     r[0]->gpa,
						     vmmem__page_size());
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
	if (mem->n)
		free(mem->guess);
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
