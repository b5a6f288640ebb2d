/* SPDX-License-Identifier: MIT */
/*
 * bench_memory - what libvmmem's guest-memory accesses cost, next to the
 * plain C code that does the same work on an ordinary buffer (the "limit").
 *
 * Each row times a libvmmem loop and a limit loop of the same shape, one
 * after the other (A, B, A, B, ...) for a number of repetitions, so that
 * noise from other processes hits both alike, and prints each loop's median
 * in ns per operation, the median of the per-repetition ratios and whether
 * the row's target is met.
 *
 * The loops are written so that the compiler can delete or hoist no more of
 * the limit than of libvmmem: both take their handle (the memory set or the
 * plain buffer's descriptor) and their address through an empty asm
 * statement on every iteration, so each iteration redoes its bounds check
 * and its load or store, and both keep their results live in the same way.
 *
 * Usage: bench_memory [--quick] [--filter SUBSTRING]
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include <vmmem/vmmem.h>

#include "bench_loop.h"

/* Repetitions and the time one repetition of one loop should take. */
#define REPS_FULL 15
#define REPS_QUICK 3
#define REPS_MAX REPS_FULL
#define REP_NS_FULL 10000000.0
#define REP_NS_QUICK 5000000.0
/* Runs of a repetition's loop when the thread keeps being descheduled. */
#define TRIES 3
/* A calibration run must last this long to give a usable rate. */
#define CALIB_NS_FULL 1000000.0
#define CALIB_NS_QUICK 500000.0

/* Scalar rows: one 64 KiB region, values at fixed offsets in it. */
#define SCALAR_GPA 0x100000ull
#define SCALAR_LEN 0x10000ull
#define SCALAR_READ_OFF 0x100ull
#define SCALAR_WRITE_OFF 0x200ull

/* Copy rows: two adjacent 2 MiB regions, copies of up to 1 MiB. */
#define COPY_GPA 0x40000000ull
#define COPY_REGION 0x200000ull
#define COPY_MAX 0x100000ull

#define RND_SETS 4

/* find_region row: the first 256 of the random rows' regions. */
#define FIND_REGIONS 256
#define FIND_SET 2

#define MAX_CASES 32
#define MAX_ROWS 40

static const size_t rnd_counts[RND_SETS] = { 1, 16, 256, 1024 };
static const size_t copy_sizes[] = { 64, 4096, 65536, COPY_MAX };

/*
 * Whether this program was compiled with optimisation: at -O0 the inline
 * fast paths become calls and every figure is meaningless.
 */
#ifdef __OPTIMIZE__
static const int optimized = 1;
#else
static const int optimized;
#endif

/* Where loop results go so that the loops cannot be optimised away. */
static volatile uint64_t sink;

/* A plain buffer and its length: what the limit loops bounds-check. */
struct plain {
	uint8_t *base;
	uint64_t len;
};

/* Everything one row's two loops work on. */
struct bcase {
	struct vmmem *mem;	/* libvmmem side */
	vmmem_gpa_t gpa;	/* the fixed address, or a copy's start */
	struct plain plain;	/* limit side: stands in for guest memory */
	uint64_t off;		/* the offset in plain that mirrors gpa */
	uint8_t *buf;		/* the host side of copies */
	size_t len;		/* copy length */
	const vmmem_gpa_t *gpas; /* random and find rows: addresses */
	const uint64_t *offs;	/* random rows: the same bytes in plain */
	int rc;			/* error that stopped the last loop */
};

typedef uint64_t (*loop_fn)(struct bcase *c, uint64_t n);

enum target_kind {
	TARGET_NONE,
	TARGET_NS,	/* libvmmem ns/op at most target */
	TARGET_RATIO,	/* libvmmem / limit at most target */
};

struct row {
	const char *name;
	loop_fn lib;
	loop_fn limit;		/* NULL: nothing to compare with */
	struct bcase *c;
	enum target_kind kind;
	double target;
	/* Both loops read the same data, so must return the same value. */
	int same_result;
};

struct env {
	struct vmmem *scalar;		/* one region */
	struct vmmem *dirty;		/* one dirty-tracked region */
	uint8_t *scalar_plain;
	struct vmmem *copy;		/* two adjacent regions */
	uint8_t *copy_plain;
	uint8_t *copy_buf;
	struct vmmem_region *rnd_regions[RND_MAX];
	struct vmmem *rnd[RND_SETS];
	uint8_t *rnd_flat;
	vmmem_gpa_t rnd_gpas[RND_SETS][RND_ADDRS];
	uint64_t rnd_offs[RND_SETS][RND_ADDRS];
	vmmem_gpa_t find_gpas[FIND_REGIONS];
	struct bcase cases[MAX_CASES];
	size_t ncases;
	struct row rows[MAX_ROWS];
	size_t nrows;
};

/* A row's figures: medians over the repetitions. */
struct result {
	double lib_ns;		/* libvmmem, ns per operation */
	double limit_ns;	/* the limit, ns per operation */
	double ratio;		/* of the two loops of each repetition */
	unsigned runs;		/* timed loop runs kept */
	unsigned preempted;	/* ... of which all tries were descheduled */
};

struct opts {
	unsigned reps;
	double rep_ns;
	double calib_ns;
	const char *filter;
};

/*
 * The limit of a checked access: one comparison against a length loaded
 * from memory, then the access itself, relaxed-atomic like libvmmem's so
 * that neither side can be merged or torn by the compiler.
 */
static inline int plain_read_u64(const struct plain *p, uint64_t off,
				 uint64_t *val)
{
	if (off < p->len - 7) {
		*val = __atomic_load_n((uint64_t *)(void *)(p->base + off),
				       __ATOMIC_RELAXED);
		return 0;
	}
	return -EFAULT;
}

static inline int plain_write_u64(const struct plain *p, uint64_t off,
				  uint64_t val)
{
	if (off < p->len - 7) {
		__atomic_store_n((uint64_t *)(void *)(p->base + off), val,
				 __ATOMIC_RELAXED);
		return 0;
	}
	return -EFAULT;
}

static uint64_t finish(struct bcase *c, int rc, uint64_t acc)
{
	c->rc = rc;
	sink = acc;
	return acc;
}

/*
 * The loops. Each pair (lib_*, limit_*) has the same structure: the same
 * OPAQUE() calls, the same early exit on error and the same accumulation.
 * They are not inlined into the timing code (LOOP_FN).
 */

static LOOP_FN uint64_t lib_read_u64(struct bcase *c, uint64_t n)
{
	struct vmmem *mem = c->mem;
	vmmem_gpa_t gpa = c->gpa;
	uint64_t acc = 0, v = 0, i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		OPAQUE(mem);
		OPAQUE(gpa);
		rc = vmmem_read_u64(mem, gpa, &v);
		if (rc)
			break;
		acc += v;
	}
	return finish(c, rc, acc);
}

static LOOP_FN uint64_t limit_read_u64(struct bcase *c, uint64_t n)
{
	const struct plain *p = &c->plain;
	uint64_t off = c->off;
	uint64_t acc = 0, v = 0, i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		OPAQUE(p);
		OPAQUE(off);
		rc = plain_read_u64(p, off, &v);
		if (rc)
			break;
		acc += v;
	}
	return finish(c, rc, acc);
}

static LOOP_FN uint64_t lib_write_u64(struct bcase *c, uint64_t n)
{
	struct vmmem *mem = c->mem;
	vmmem_gpa_t gpa = c->gpa;
	uint64_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		OPAQUE(mem);
		OPAQUE(gpa);
		rc = vmmem_write_u64(mem, gpa, i);
		if (rc)
			break;
	}
	return finish(c, rc, i);
}

static LOOP_FN uint64_t limit_write_u64(struct bcase *c, uint64_t n)
{
	const struct plain *p = &c->plain;
	uint64_t off = c->off;
	uint64_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		OPAQUE(p);
		OPAQUE(off);
		rc = plain_write_u64(p, off, i);
		if (rc)
			break;
	}
	return finish(c, rc, i);
}

static LOOP_FN uint64_t lib_load_acquire(struct bcase *c, uint64_t n)
{
	struct vmmem *mem = c->mem;
	vmmem_gpa_t gpa = c->gpa;
	uint64_t acc = 0, v = 0, i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		OPAQUE(mem);
		OPAQUE(gpa);
		rc = vmmem_atomic_load_u64(mem, gpa, &v, memory_order_acquire);
		if (rc)
			break;
		acc += v;
	}
	return finish(c, rc, acc);
}

static LOOP_FN uint64_t limit_load_acquire(struct bcase *c, uint64_t n)
{
	uint64_t *p = (uint64_t *)(void *)(c->plain.base + c->off);
	uint64_t acc = 0, i;

	for (i = 0; i < n; i++) {
		OPAQUE(p);
		acc += __atomic_load_n(p, __ATOMIC_ACQUIRE);
	}
	return finish(c, 0, acc);
}

static LOOP_FN uint64_t lib_store_release(struct bcase *c, uint64_t n)
{
	struct vmmem *mem = c->mem;
	vmmem_gpa_t gpa = c->gpa;
	uint64_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		OPAQUE(mem);
		OPAQUE(gpa);
		rc = vmmem_atomic_store_u64(mem, gpa, i, memory_order_release);
		if (rc)
			break;
	}
	return finish(c, rc, i);
}

static LOOP_FN uint64_t limit_store_release(struct bcase *c, uint64_t n)
{
	uint64_t *p = (uint64_t *)(void *)(c->plain.base + c->off);
	uint64_t i;

	for (i = 0; i < n; i++) {
		OPAQUE(p);
		__atomic_store_n(p, i, __ATOMIC_RELEASE);
	}
	return finish(c, 0, i);
}

/*
 * Copies: the length goes through OPAQUE() too, so the limit's memcpy() is
 * the library call a run-time length gets (as inside vmmem_read()), not an
 * inlined fixed-size copy; CLOBBER() keeps every copy's result observable.
 */
static LOOP_FN uint64_t lib_read_copy(struct bcase *c, uint64_t n)
{
	struct vmmem *mem = c->mem;
	vmmem_gpa_t gpa = c->gpa;
	uint8_t *buf = c->buf;
	size_t len = c->len;
	uint64_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		OPAQUE(mem);
		OPAQUE(gpa);
		OPAQUE(buf);
		OPAQUE(len);
		rc = vmmem_read(mem, gpa, buf, len);
		if (rc)
			break;
		CLOBBER();
	}
	return finish(c, rc, (uint64_t)c->buf[0] + c->buf[c->len - 1]);
}

static LOOP_FN uint64_t limit_read_copy(struct bcase *c, uint64_t n)
{
	const uint8_t *src = c->plain.base + c->off;
	uint8_t *buf = c->buf;
	size_t len = c->len;
	uint64_t i;

	for (i = 0; i < n; i++) {
		OPAQUE(src);
		OPAQUE(buf);
		OPAQUE(len);
		memcpy(buf, src, len);
		CLOBBER();
	}
	return finish(c, 0, (uint64_t)c->buf[0] + c->buf[c->len - 1]);
}

static LOOP_FN uint64_t lib_write_copy(struct bcase *c, uint64_t n)
{
	struct vmmem *mem = c->mem;
	vmmem_gpa_t gpa = c->gpa;
	const uint8_t *buf = c->buf;
	size_t len = c->len;
	uint64_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		OPAQUE(mem);
		OPAQUE(gpa);
		OPAQUE(buf);
		OPAQUE(len);
		rc = vmmem_write(mem, gpa, buf, len);
		if (rc)
			break;
		CLOBBER();
	}
	return finish(c, rc, i);
}

static LOOP_FN uint64_t limit_write_copy(struct bcase *c, uint64_t n)
{
	uint8_t *dst = c->plain.base + c->off;
	const uint8_t *buf = c->buf;
	size_t len = c->len;
	uint64_t i;

	for (i = 0; i < n; i++) {
		OPAQUE(dst);
		OPAQUE(buf);
		OPAQUE(len);
		memcpy(dst, buf, len);
		CLOBBER();
	}
	return finish(c, 0, i);
}

static LOOP_FN uint64_t lib_read_random(struct bcase *c, uint64_t n)
{
	struct vmmem *mem = c->mem;
	const vmmem_gpa_t *gpas = c->gpas;
	uint64_t acc = 0, v = 0, i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		vmmem_gpa_t gpa = gpas[i & (RND_ADDRS - 1)];

		OPAQUE(mem);
		rc = vmmem_read_u64(mem, gpa, &v);
		if (rc)
			break;
		acc += v;
	}
	return finish(c, rc, acc);
}

static LOOP_FN uint64_t limit_read_random(struct bcase *c, uint64_t n)
{
	const struct plain *p = &c->plain;
	const uint64_t *offs = c->offs;
	uint64_t acc = 0, v = 0, i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		uint64_t off = offs[i & (RND_ADDRS - 1)];

		OPAQUE(p);
		rc = plain_read_u64(p, off, &v);
		if (rc)
			break;
		acc += v;
	}
	return finish(c, rc, acc);
}

static LOOP_FN uint64_t lib_find_region(struct bcase *c, uint64_t n)
{
	struct vmmem *mem = c->mem;
	const vmmem_gpa_t *gpas = c->gpas;
	struct vmmem_region *region = NULL;
	uint64_t acc = 0, i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		OPAQUE(mem);
		rc = vmmem_find_region(mem, gpas[i & (FIND_REGIONS - 1)],
				       &region);
		if (rc)
			break;
		acc += (uintptr_t)region;
	}
	return finish(c, rc, acc);
}

/* Timing. */

/* Run n iterations of fn; a loop that stopped on an error returns it. */
static int time_loop(loop_fn fn, struct bcase *c, uint64_t n, double *ns,
		     uint64_t *acc)
{
	double t0, t1;
	uint64_t a;

	t0 = bench_loop_now_ns();
	a = fn(c, n);
	t1 = bench_loop_now_ns();
	if (c->rc)
		return c->rc;
	*ns = t1 - t0;
	if (acc)
		*acc = a;
	return 0;
}

/*
 * Time one repetition of one loop. A run during which the thread was
 * descheduled also timed another process: run it again, up to TRIES runs,
 * and keep the fastest. Runs that never got through undisturbed are
 * counted, so that the output can say how much to trust it.
 */
static int time_rep(loop_fn fn, struct bcase *c, uint64_t n, double *per_op,
		    struct result *res)
{
	double best = 0, ns = 0;
	unsigned i;
	long before;
	int rc;

	for (i = 0; i < TRIES; i++) {
		before = bench_loop_nivcsw();
		rc = time_loop(fn, c, n, &ns, NULL);
		if (rc)
			return rc;
		if (i == 0 || ns < best)
			best = ns;
		if (bench_loop_nivcsw() == before)
			break;
	}
	res->runs++;
	if (i == TRIES)
		res->preempted++;
	*per_op = best / (double)n;
	return 0;
}

/* ns per iteration of fn, from a run long enough to be measured. */
static int calibrate(loop_fn fn, struct bcase *c, double min_ns,
		     double *per_op)
{
	uint64_t n = 1;
	double ns = 0;
	int rc;

	for (;;) {
		rc = time_loop(fn, c, n, &ns, NULL);
		if (rc)
			return rc;
		if (ns >= min_ns || n >= (1ull << 40))
			break;
		n *= 2;
	}
	*per_op = ns / (double)n;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	if (n % 2)
		return v[n / 2];
	return (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Both loops of a row that reads must have read the same data. */
static int report_mismatch(const struct row *r, uint64_t lib, uint64_t limit)
{
	fprintf(stderr,
		"bench_memory: %s: libvmmem read %#llx, the limit %#llx\n",
		r->name, (unsigned long long)lib, (unsigned long long)limit);
	return -EIO;
}

/*
 * Measure one row: calibrate both loops, size the repetitions by the slower
 * one so that both run the same number of iterations, warm up, then
 * alternate the two loops and take each one's median.
 *
 * The ratio is the median of the two loops' ratio in each repetition, not
 * the ratio of the medians: noise on a shared machine comes in phases that
 * last several repetitions and slow down both loops of a repetition alike,
 * so pairing cancels most of it.
 */
static int run_row(const struct row *r, const struct opts *o,
		   struct result *res)
{
	double lib_t[REPS_MAX], limit_t[REPS_MAX], ratio_t[REPS_MAX];
	double per_lib = 0, per_limit = 0, ns = 0;
	uint64_t n, warm, acc_lib = 0, acc_limit = 0;
	unsigned k;
	int rc;

	rc = calibrate(r->lib, r->c, o->calib_ns, &per_lib);
	if (rc)
		goto err;
	if (r->limit) {
		rc = calibrate(r->limit, r->c, o->calib_ns, &per_limit);
		if (rc)
			goto err;
	}
	if (per_limit > per_lib)
		per_lib = per_limit;
	n = per_lib > 0 ? (uint64_t)(o->rep_ns / per_lib) : 1;
	if (n < 1)
		n = 1;

	/* Warm up, and check that both loops saw the same data. */
	warm = n / 8 + 1;
	rc = time_loop(r->lib, r->c, warm, &ns, &acc_lib);
	if (rc)
		goto err;
	if (r->limit) {
		rc = time_loop(r->limit, r->c, warm, &ns, &acc_limit);
		if (rc)
			goto err;
		if (r->same_result && acc_lib != acc_limit)
			return report_mismatch(r, acc_lib, acc_limit);
	}

	res->runs = 0;
	res->preempted = 0;
	for (k = 0; k < o->reps; k++) {
		rc = time_rep(r->lib, r->c, n, &lib_t[k], res);
		if (rc)
			goto err;
		if (!r->limit)
			continue;
		rc = time_rep(r->limit, r->c, n, &limit_t[k], res);
		if (rc)
			goto err;
		ratio_t[k] = lib_t[k] / limit_t[k];
	}
	res->lib_ns = median(lib_t, o->reps);
	res->limit_ns = r->limit ? median(limit_t, o->reps) : 0;
	res->ratio = r->limit ? median(ratio_t, o->reps) : 0;
	return 0;

err:
	fprintf(stderr, "bench_memory: %s: %s\n", r->name, vmmem_strerror(rc));
	return rc;
}

/* Output. */

static void format_ns(char *s, size_t size, double ns)
{
	if (ns >= 1000)
		snprintf(s, size, "%.0f", ns);
	else if (ns >= 100)
		snprintf(s, size, "%.1f", ns);
	else
		snprintf(s, size, "%.2f", ns);
}

static void print_row(const struct row *r, const struct result *res)
{
	char lib[32], limit[32] = "-", ratio[32] = "-", target[32] = "-";
	const char *met = "-";

	format_ns(lib, sizeof(lib), res->lib_ns);
	if (r->limit) {
		format_ns(limit, sizeof(limit), res->limit_ns);
		/* Three decimals, so that 1.052 does not read as 1.05 met. */
		snprintf(ratio, sizeof(ratio), "%.3f", res->ratio);
	}
	switch (r->kind) {
	case TARGET_NS:
		snprintf(target, sizeof(target), "<= %g ns", r->target);
		met = res->lib_ns <= r->target ? "yes" : "NO";
		break;
	case TARGET_RATIO:
		snprintf(target, sizeof(target), "<= %.2fx", r->target);
		met = r->limit && res->ratio <= r->target ? "yes" : "NO";
		break;
	case TARGET_NONE:
		break;
	}
	printf("%-30s %9s %9s %7s %10s %4s\n", r->name, lib, limit, ratio,
	       target, met);
	fflush(stdout);
}

static void cpu_model(char *s, size_t size)
{
	char line[256];
	FILE *f;

	snprintf(s, size, "unknown CPU");
	f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');

		if (strncmp(line, "model name", 10) || !p)
			continue;
		p += 1 + strspn(p + 1, " \t");
		p[strcspn(p, "\n")] = '\0';
		snprintf(s, size, "%s", p);
		break;
	}
	fclose(f);
}

static void print_header(const struct opts *o, int cpu)
{
	char date[64] = "", model[160];
	time_t t = time(NULL);
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm);
	cpu_model(model, sizeof(model));
	printf("bench_memory: %s, %s, %u repetitions per row\n", date, model,
	       o->reps);
	if (cpu >= 0)
		printf("pinned to CPU %d; ", cpu);
	else
		printf("not pinned to a CPU; ");
	printf("each repetition runs each loop for about %.0f ms\n",
	       o->rep_ns / 1e6);
	if (!optimized) {
		printf("WARNING: built without optimisation (-O0)\n");
		fprintf(stderr,
			"bench_memory: warning: built without optimisation\n");
	}
	printf("\n");
	printf("%-30s %9s %9s %7s %10s %4s\n", "benchmark", "libvmmem",
	       "limit", "ratio", "target", "met");
	printf("%-30s %9s %9s %7s %10s %4s\n", "", "ns/op", "ns/op",
	       "lib/lim", "", "");
}

static void print_notes(unsigned runs, unsigned preempted)
{
	printf("\n"
	       "ns/op: medians over the repetitions.\n"
	       "ratio: median of each repetition's libvmmem/limit, so it\n"
	       "  need not equal the quotient of the two medians.\n"
	       "limit: a bounds-checked load or store on a plain buffer\n"
	       "  (u64 and random rows); a raw __atomic load or store\n"
	       "  (atomic rows); memcpy() with a run-time length between\n"
	       "  plain buffers laid out like the regions (copy rows).\n");
	printf("descheduled: %u of %u timed runs were interrupted by other\n"
	       "  processes in %u tries; the more, the noisier the figures.\n",
	       preempted, runs, TRIES);
	printf("\nRust vm-memory side by side: ninja bench-peers\n");
}

/* Setup. */

static int fail(const char *what, int rc)
{
	fprintf(stderr, "bench_memory: %s: %s\n", what, vmmem_strerror(rc));
	return rc;
}

/*
 * An anonymous mapping made like libvmmem's anonymous regions, so that the
 * limit's memory behaves like guest memory; with nohuge, transparent huge
 * pages are refused too.
 */
static int map_plain(size_t len, int nohuge, uint8_t **out)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return fail("mmap", -errno);
	/* Only a hint: a kernel without THP has nothing to refuse. */
	if (nohuge)
		madvise(p, len, MADV_NOHUGEPAGE);
	*out = p;
	return 0;
}

static struct bcase *new_case(struct env *e)
{
	struct bcase *c = &e->cases[e->ncases++];

	memset(c, 0, sizeof(*c));
	return c;
}

static void add_row(struct env *e, const char *name, loop_fn lib,
		    loop_fn limit, struct bcase *c, enum target_kind kind,
		    double target, int same_result)
{
	struct row *r = &e->rows[e->nrows++];

	r->name = name;
	r->lib = lib;
	r->limit = limit;
	r->c = c;
	r->kind = kind;
	r->target = target;
	r->same_result = same_result;
}

static int setup_scalar(struct env *e)
{
	struct vmmem_range range = { SCALAR_GPA, SCALAR_LEN };
	struct bcase *rd, *wr, *dw;
	int rc;

	rc = vmmem_create_anon(&range, 1, 0, &e->scalar);
	if (rc)
		return fail("vmmem_create_anon", rc);
	rc = vmmem_create_anon(&range, 1, VMMEM_REGION_DIRTY_LOG, &e->dirty);
	if (rc)
		return fail("vmmem_create_anon (dirty log)", rc);
	rc = map_plain(SCALAR_LEN, 0, &e->scalar_plain);
	if (rc)
		return rc;
	bench_loop_fill(e->scalar_plain, SCALAR_LEN, 0);
	rc = vmmem_write(e->scalar, SCALAR_GPA, e->scalar_plain, SCALAR_LEN);
	if (rc)
		return fail("vmmem_write", rc);
	rc = vmmem_write(e->dirty, SCALAR_GPA, e->scalar_plain, SCALAR_LEN);
	if (rc)
		return fail("vmmem_write (dirty log)", rc);

	/*
	 * Reads and writes use different words: calibration runs the two
	 * write loops for different counts, which leaves different values
	 * in guest memory and in the plain buffer.
	 */
	rd = new_case(e);
	rd->mem = e->scalar;
	rd->gpa = SCALAR_GPA + SCALAR_READ_OFF;
	rd->plain.base = e->scalar_plain;
	rd->plain.len = SCALAR_LEN;
	rd->off = SCALAR_READ_OFF;
	wr = new_case(e);
	*wr = *rd;
	wr->gpa = SCALAR_GPA + SCALAR_WRITE_OFF;
	wr->off = SCALAR_WRITE_OFF;
	dw = new_case(e);
	*dw = *wr;
	dw->mem = e->dirty;

	add_row(e, "read_u64, fixed gpa", lib_read_u64, limit_read_u64, rd,
		TARGET_NS, 1.5, 1);
	add_row(e, "write_u64, fixed gpa", lib_write_u64, limit_write_u64, wr,
		TARGET_NS, 1.5, 0);
	add_row(e, "atomic_load_u64 acquire", lib_load_acquire,
		limit_load_acquire, rd, TARGET_NS, 1, 1);
	add_row(e, "atomic_store_u64 release", lib_store_release,
		limit_store_release, wr, TARGET_NS, 1, 0);
	/*
	 * The page's bit is already set (by the fill above), as it is for
	 * every write but the first to a page between two harvests.
	 */
	add_row(e, "write_u64, dirty-tracked", lib_write_u64, limit_write_u64,
		dw, TARGET_NS, 2, 0);
	return 0;
}

static double copy_target(size_t len)
{
	return len < 4096 ? 1.2 : 1.05;
}

static int setup_copy(struct env *e)
{
	static const char *const read_names[] = {
		"read 64 B",	"read 64 B, 2 regions",
		"read 4 KiB",	"read 4 KiB, 2 regions",
		"read 64 KiB",	"read 64 KiB, 2 regions",
		"read 1 MiB",	"read 1 MiB, 2 regions",
	};
	static const char *const write_names[] = {
		"write 64 B",	"write 64 B, 2 regions",
		"write 4 KiB",	"write 4 KiB, 2 regions",
		"write 64 KiB",	"write 64 KiB, 2 regions",
		"write 1 MiB",	"write 1 MiB, 2 regions",
	};
	struct vmmem_range ranges[2] = {
		{ COPY_GPA, COPY_REGION },
		{ COPY_GPA + COPY_REGION, COPY_REGION },
	};
	struct bcase *cases[2 * sizeof(copy_sizes) / sizeof(copy_sizes[0])];
	size_t i, ncases = 0;
	int rc;

	rc = vmmem_create_anon(ranges, 2, 0, &e->copy);
	if (rc)
		return fail("vmmem_create_anon (copies)", rc);
	rc = map_plain(2 * COPY_REGION, 0, &e->copy_plain);
	if (rc)
		return rc;
	rc = map_plain(COPY_MAX, 0, &e->copy_buf);
	if (rc)
		return rc;
	bench_loop_fill(e->copy_plain, 2 * COPY_REGION, 0);
	memset(e->copy_buf, 0x5a, COPY_MAX);
	rc = vmmem_write(e->copy, COPY_GPA, e->copy_plain, 2 * COPY_REGION);
	if (rc)
		return fail("vmmem_write (copies)", rc);

	/*
	 * Inside one region the copy starts at the region's first byte; across
	 * the boundary its middle is the boundary. The limit copies from and
	 * to the same offsets of one plain buffer as large as both regions,
	 * so both sides have the same alignment.
	 */
	for (i = 0; i < sizeof(copy_sizes) / sizeof(copy_sizes[0]); i++) {
		int cross;

		for (cross = 0; cross < 2; cross++) {
			struct bcase *c = new_case(e);
			uint64_t off = cross ? COPY_REGION - copy_sizes[i] / 2
					     : 0;

			c->mem = e->copy;
			c->gpa = COPY_GPA + off;
			c->plain.base = e->copy_plain;
			c->plain.len = 2 * COPY_REGION;
			c->off = off;
			c->buf = e->copy_buf;
			c->len = copy_sizes[i];
			cases[ncases++] = c;
		}
	}
	/* Small copies may pay for their lookup; large ones only for memcpy. */
	for (i = 0; i < ncases; i++)
		add_row(e, read_names[i], lib_read_copy, limit_read_copy,
			cases[i], TARGET_RATIO, copy_target(cases[i]->len), 1);
	for (i = 0; i < ncases; i++)
		add_row(e, write_names[i], lib_write_copy, limit_write_copy,
			cases[i], TARGET_RATIO, copy_target(cases[i]->len), 0);
	return 0;
}

static int setup_random(struct env *e)
{
	static const char *const names[RND_SETS] = {
		"random read_u64, 1 region",
		"random read_u64, 16 regions",
		"random read_u64, 256 regions",
		"random read_u64, 1024 regions",
	};
	uint64_t x = 0x2545f4914f6cdd1dull;
	struct bcase *c;
	size_t i, k;
	int rc;

	for (i = 0; i < RND_MAX; i++) {
		rc = vmmem_region_create_anon(bench_loop_rnd_gpa(i), RND_REGION, 0,
					      &e->rnd_regions[i]);
		if (rc)
			return fail("vmmem_region_create_anon", rc);
	}
	for (k = 0; k < RND_SETS; k++) {
		rc = vmmem_create(e->rnd_regions, rnd_counts[k], &e->rnd[k]);
		if (rc)
			return fail("vmmem_create", rc);
	}
	/*
	 * The regions are too small for huge pages, so the flat buffer must
	 * not get them either, or the limit would save TLB misses that the
	 * regions cannot.
	 */
	rc = map_plain(RND_MAX * RND_REGION, 1, &e->rnd_flat);
	if (rc)
		return rc;
	bench_loop_fill(e->rnd_flat, RND_MAX * RND_REGION, 0);
	for (i = 0; i < RND_MAX; i++) {
		rc = vmmem_write(e->rnd[RND_SETS - 1], bench_loop_rnd_gpa(i),
				 e->rnd_flat + i * RND_REGION, RND_REGION);
		if (rc)
			return fail("vmmem_write (random)", rc);
	}

	for (k = 0; k < RND_SETS; k++) {
		for (i = 0; i < RND_ADDRS; i++) {
			uint64_t reg = bench_loop_xorshift(&x) % rnd_counts[k];
			uint64_t off = bench_loop_xorshift(&x) % (RND_REGION / 8) * 8;

			e->rnd_gpas[k][i] = bench_loop_rnd_gpa(reg) + off;
			e->rnd_offs[k][i] = reg * RND_REGION + off;
		}
		c = new_case(e);
		c->mem = e->rnd[k];
		c->plain.base = e->rnd_flat;
		c->plain.len = rnd_counts[k] * RND_REGION;
		c->gpas = e->rnd_gpas[k];
		c->offs = e->rnd_offs[k];
		add_row(e, names[k], lib_read_random, limit_read_random, c,
			k == RND_SETS - 1 ? TARGET_NS : TARGET_NONE, 12, 1);
	}

	for (i = 0; i < FIND_REGIONS; i++)
		e->find_gpas[i] = bench_loop_rnd_gpa(i);
	c = new_case(e);
	c->mem = e->rnd[FIND_SET];
	c->gpas = e->find_gpas;
	add_row(e, "find_region, 256 regions", lib_find_region, NULL, c,
		TARGET_NONE, 0, 0);
	return 0;
}

static void teardown(struct env *e)
{
	size_t i;

	for (i = 0; i < RND_SETS; i++)
		vmmem_destroy(e->rnd[i]);
	for (i = 0; i < RND_MAX; i++)
		vmmem_region_destroy(e->rnd_regions[i]);
	if (e->rnd_flat)
		munmap(e->rnd_flat, RND_MAX * RND_REGION);
	vmmem_destroy(e->copy);
	if (e->copy_plain)
		munmap(e->copy_plain, 2 * COPY_REGION);
	if (e->copy_buf)
		munmap(e->copy_buf, COPY_MAX);
	vmmem_destroy(e->scalar);
	vmmem_destroy(e->dirty);
	if (e->scalar_plain)
		munmap(e->scalar_plain, SCALAR_LEN);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_memory [--quick] [--filter SUBSTRING]\n"
		"\n"
		"Time libvmmem's accesses against plain C doing the same work\n"
		"and print a table of medians, ratios and targets.\n"
		"\n"
		"  --quick             %d repetitions, not %d (a smoke test)\n"
		"  --filter SUBSTRING  only the rows whose name contains it\n"
		"  --help              this text\n",
		REPS_QUICK, REPS_FULL);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "quick", no_argument, NULL, 'q' },
		{ "filter", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { REPS_FULL, REP_NS_FULL, CALIB_NS_FULL, NULL };
	struct env *e;
	unsigned runs = 0, preempted = 0;
	size_t i, matched = 0;
	int opt, cpu, ret = 1;

	while ((opt = getopt_long(argc, argv, "hqf:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 'q':
			o.reps = REPS_QUICK;
			o.rep_ns = REP_NS_QUICK;
			o.calib_ns = CALIB_NS_QUICK;
			break;
		case 'f':
			o.filter = optarg;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bench_memory: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}

	e = calloc(1, sizeof(*e));
	if (!e) {
		fail("calloc", -ENOMEM);
		return 1;
	}
	if (setup_scalar(e) || setup_copy(e) || setup_random(e))
		goto out_teardown;
	for (i = 0; i < e->nrows; i++)
		if (!o.filter || strstr(e->rows[i].name, o.filter))
			matched++;
	if (!matched) {
		fprintf(stderr, "bench_memory: no benchmark matches '%s'\n",
			o.filter);
		ret = 2;
		goto out_teardown;
	}

	cpu = bench_loop_pin(-1);
	print_header(&o, cpu);
	for (i = 0; i < e->nrows; i++) {
		const struct row *r = &e->rows[i];
		struct result res;

		if (o.filter && !strstr(r->name, o.filter))
			continue;
		if (run_row(r, &o, &res))
			goto out_teardown;
		print_row(r, &res);
		runs += res.runs;
		preempted += res.preempted;
	}
	print_notes(runs, preempted);
	ret = 0;

out_teardown:
	teardown(e);
	free(e);
	return ret;
}
