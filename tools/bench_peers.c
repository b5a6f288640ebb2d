/* SPDX-License-Identifier: MIT */
/*
 * bench_peers - the libvmmem side of `ninja bench-peers`: the workloads of
 * tools/peers/vm-memory-bench (the Rust vm-memory crate) through libvmmem.
 *
 * Both programs build the same guest memory layout, fill it with the same
 * bytes, draw the same random addresses from the same xorshift seed and time
 * the same loops the same way as bench_memory: pinned to one CPU, a
 * calibration run, then repetitions of about 10 ms each, of which each row
 * prints the median. Every iteration passes its inputs through an empty asm
 * statement, so nothing can be hoisted out of a loop. tools/bench-peers runs
 * the two programs in turn and prints one table.
 *
 * Output, one record a line, tab-separated (tools/bench-peers reads it):
 *   cpu     CPU pinned to, or -1
 *   check   NAME  VALUE     sum of what the row reads, to compare the sides
 *   row     NAME  NS        median ns per operation of this run
 *   runs    KEPT  DESCHEDULED
 *
 * Usage: bench_peers [--reps N] [--cpu N]
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <vmmem/vmmem.h>

#include "bench_common.h"
#include "bench_loop.h"

#define REPS_DEFAULT 5
#define REP_NS 10000000.0
#define CALIB_NS 1000000.0
#define TRIES 3

/* Scalar rows: one 64 KiB region, values at fixed offsets in it. */
#define SCALAR_GPA 0x100000ull
#define SCALAR_LEN 0x10000ull
#define SCALAR_READ_OFF 0x100ull
#define SCALAR_WRITE_OFF 0x200ull

/* Copy rows: two adjacent 2 MiB regions. */
#define COPY_GPA 0x40000000ull
#define COPY_REGION 0x200000ull
#define COPY_MAX 0x10000ull

#define RND_SETS 4
#define RND_SEED 0x2545f4914f6cdd1dull

#define NSIZES 3
#define MAX_ROWS 32

static const size_t rnd_counts[RND_SETS] = { 1, 16, 256, 1024 };
static const size_t copy_sizes[NSIZES] = { 64, 4096, 65536 };

/* Where loop results go so that the loops cannot be optimised away. */
static volatile uint64_t sink;

/* What one row's loop works on. */
struct bcase {
	struct vmmem *mem;
	vmmem_gpa_t gpa;	/* the fixed address, or a copy's start */
	uint8_t *buf;		/* the host side of copies */
	size_t len;		/* copy length */
	const vmmem_gpa_t *gpas; /* random rows */
	int rc;			/* error that stopped the last loop */
};

typedef uint64_t (*loop_fn)(struct bcase *c, uint64_t n);

struct row {
	char name[48];
	loop_fn fn;
	struct bcase c;
};

struct env {
	struct vmmem *scalar;
	struct vmmem *dirty;
	struct vmmem *copy;
	uint8_t *copy_buf;	/* page-aligned, like the guest side */
	struct vmmem_region *rnd_regions[RND_MAX];
	struct vmmem *rnd[RND_SETS];
	vmmem_gpa_t rnd_gpas[RND_SETS][RND_ADDRS];
	struct row rows[MAX_ROWS];
	size_t nrows;
	unsigned runs, descheduled;
};

static uint64_t finish(struct bcase *c, int rc, uint64_t acc)
{
	c->rc = rc;
	sink = acc;
	return acc;
}

/* The loops: the same shape as the Rust side's, one function each. */

static LOOP_FN uint64_t read_fixed(struct bcase *c, uint64_t n)
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

static LOOP_FN uint64_t write_fixed(struct bcase *c, uint64_t n)
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

static LOOP_FN uint64_t read_random(struct bcase *c, uint64_t n)
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

static LOOP_FN uint64_t write_random(struct bcase *c, uint64_t n)
{
	struct vmmem *mem = c->mem;
	const vmmem_gpa_t *gpas = c->gpas;
	uint64_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		vmmem_gpa_t gpa = gpas[i & (RND_ADDRS - 1)];

		OPAQUE(mem);
		rc = vmmem_write_u64(mem, gpa, i);
		if (rc)
			break;
	}
	return finish(c, rc, i);
}

static LOOP_FN uint64_t load_acquire(struct bcase *c, uint64_t n)
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

static LOOP_FN uint64_t store_release(struct bcase *c, uint64_t n)
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

/*
 * Copies: the buffer and the length go through OPAQUE() too, and CLOBBER()
 * keeps every copy's result observable.
 */
static LOOP_FN uint64_t read_copy(struct bcase *c, uint64_t n)
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

static LOOP_FN uint64_t write_copy(struct bcase *c, uint64_t n)
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

/* Timing: as bench_memory's, for one loop instead of a pair. */

static int time_loop(struct row *r, uint64_t n, double *ns)
{
	double t0, t1;

	t0 = bench_loop_now_ns();
	r->fn(&r->c, n);
	t1 = bench_loop_now_ns();
	*ns = t1 - t0;
	return r->c.rc;
}

/*
 * One repetition: a run during which the thread was descheduled also timed
 * another process, so run again, up to TRIES runs, and keep the fastest.
 */
static int time_rep(struct env *e, struct row *r, uint64_t n, double *per_op)
{
	double best = 0, ns = 0;
	unsigned i;
	long before;
	int rc;

	for (i = 0; i < TRIES; i++) {
		before = bench_loop_nivcsw();
		rc = time_loop(r, n, &ns);
		if (rc)
			return rc;
		if (i == 0 || ns < best)
			best = ns;
		if (bench_loop_nivcsw() == before)
			break;
	}
	e->runs++;
	if (i == TRIES)
		e->descheduled++;
	*per_op = best / (double)n;
	return 0;
}

/* Calibrate, warm up, then time reps repetitions; the median in ns/op. */
static int run_row(struct env *e, struct row *r, int reps, double *med)
{
	double t[BENCH_MAX_RUNS], ns = 0, per_op;
	uint64_t n = 1;
	int k, rc;

	for (;;) {
		rc = time_loop(r, n, &ns);
		if (rc)
			return rc;
		if (ns >= CALIB_NS || n >= (1ull << 40))
			break;
		n *= 2;
	}
	per_op = ns / (double)n;
	n = (uint64_t)(REP_NS / per_op);
	if (n < 1)
		n = 1;
	rc = time_loop(r, n / 8 + 1, &ns);
	if (rc)
		return rc;
	for (k = 0; k < reps; k++) {
		rc = time_rep(e, r, n, &t[k]);
		if (rc)
			return rc;
	}
	*med = bench_median(t, reps);
	return 0;
}

/* Setup. */

static int fail(const char *what, int rc)
{
	fprintf(stderr, "bench_peers: %s: %s\n", what, vmmem_strerror(rc));
	return rc;
}

static struct row *add_row(struct env *e, loop_fn fn, struct vmmem *mem,
			   const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static struct row *add_row(struct env *e, loop_fn fn, struct vmmem *mem,
			   const char *fmt, ...)
{
	struct row *r = &e->rows[e->nrows++];
	va_list ap;

	memset(r, 0, sizeof(*r));
	va_start(ap, fmt);
	vsnprintf(r->name, sizeof(r->name), fmt, ap);
	va_end(ap);
	r->fn = fn;
	r->c.mem = mem;
	return r;
}

static int setup_memory(struct env *e)
{
	struct vmmem_range scalar = { SCALAR_GPA, SCALAR_LEN };
	struct vmmem_range copy[2] = {
		{ COPY_GPA, COPY_REGION },
		{ COPY_GPA + COPY_REGION, COPY_REGION },
	};
	uint8_t *fill;
	size_t i, k;
	int rc;

	fill = malloc(2 * COPY_REGION);
	if (!fill)
		return fail("malloc", -ENOMEM);
	rc = vmmem_create_anon(&scalar, 1, 0, &e->scalar);
	if (rc)
		goto err_free;
	/*
	 * Filling the dirty-tracked region also sets its page's bit, as for
	 * every write but the first to a page between two harvests.
	 */
	rc = vmmem_create_anon(&scalar, 1, VMMEM_REGION_DIRTY_LOG, &e->dirty);
	if (rc)
		goto err_free;
	bench_loop_fill(fill, SCALAR_LEN, 0);
	rc = vmmem_write(e->scalar, SCALAR_GPA, fill, SCALAR_LEN);
	if (!rc)
		rc = vmmem_write(e->dirty, SCALAR_GPA, fill, SCALAR_LEN);
	if (rc)
		goto err_free;

	rc = vmmem_create_anon(copy, 2, 0, &e->copy);
	if (rc)
		goto err_free;
	bench_loop_fill(fill, 2 * COPY_REGION, 0);
	rc = vmmem_write(e->copy, COPY_GPA, fill, 2 * COPY_REGION);
	if (rc)
		goto err_free;
	/*
	 * memcpy's speed depends on how source and destination are aligned:
	 * the host buffer starts on a page on both sides, as the regions do.
	 */
	e->copy_buf = aligned_alloc(4096, COPY_MAX);
	if (!e->copy_buf) {
		rc = -ENOMEM;
		goto err_free;
	}
	memset(e->copy_buf, 0x5a, COPY_MAX);

	/* The random rows' regions are shared by the four sets. */
	for (i = 0; i < RND_MAX; i++) {
		rc = vmmem_region_create_anon(bench_loop_rnd_gpa(i), RND_REGION, 0,
					      &e->rnd_regions[i]);
		if (rc)
			goto err_free;
	}
	for (k = 0; k < RND_SETS; k++) {
		rc = vmmem_create(e->rnd_regions, rnd_counts[k], &e->rnd[k]);
		if (rc)
			goto err_free;
	}
	for (i = 0; i < RND_MAX && !rc; i++) {
		bench_loop_fill(fill, RND_REGION, i * RND_REGION);
		rc = vmmem_write(e->rnd[RND_SETS - 1], bench_loop_rnd_gpa(i), fill,
				 RND_REGION);
	}

err_free:
	free(fill);
	if (rc)
		fail("setting up guest memory", rc);
	return rc;
}

static void setup_rows(struct env *e)
{
	uint64_t x = RND_SEED;
	struct row *r;
	size_t i, k;
	int write, cross;

	for (k = 0; k < RND_SETS; k++) {
		for (i = 0; i < RND_ADDRS; i++) {
			uint64_t reg = bench_loop_xorshift(&x) % rnd_counts[k];
			uint64_t off = bench_loop_xorshift(&x) % (RND_REGION / 8) * 8;

			e->rnd_gpas[k][i] = bench_loop_rnd_gpa(reg) + off;
		}
	}

	r = add_row(e, read_fixed, e->scalar, "read u64, fixed gpa");
	r->c.gpa = SCALAR_GPA + SCALAR_READ_OFF;
	r = add_row(e, write_fixed, e->scalar, "write u64, fixed gpa");
	r->c.gpa = SCALAR_GPA + SCALAR_WRITE_OFF;
	for (write = 0; write < 2; write++) {
		for (k = 0; k < RND_SETS; k++) {
			r = add_row(e, write ? write_random : read_random,
				    e->rnd[k], "random %s u64, %zu region%s",
				    write ? "write" : "read", rnd_counts[k],
				    rnd_counts[k] == 1 ? "" : "s");
			r->c.gpas = e->rnd_gpas[k];
		}
	}
	r = add_row(e, load_acquire, e->scalar, "atomic load u64, acquire");
	r->c.gpa = SCALAR_GPA + SCALAR_READ_OFF;
	r = add_row(e, store_release, e->scalar, "atomic store u64, release");
	r->c.gpa = SCALAR_GPA + SCALAR_WRITE_OFF;
	r = add_row(e, write_fixed, e->dirty, "write u64, dirty-tracked");
	r->c.gpa = SCALAR_GPA + SCALAR_WRITE_OFF;

	/*
	 * Copies within one region start at its first byte; across the
	 * boundary their middle is the boundary.
	 */
	for (write = 0; write < 2; write++) {
		for (i = 0; i < NSIZES; i++) {
			for (cross = 0; cross < 2; cross++) {
				size_t len = copy_sizes[i];

				r = add_row(e, write ? write_copy : read_copy,
					    e->copy, "%s %zu %s%s",
					    write ? "write" : "read",
					    len >= 1024 ? len / 1024 : len,
					    len >= 1024 ? "KiB" : "B",
					    cross ? ", 2 regions" : "");
				r->c.gpa = COPY_GPA +
					   (cross ? COPY_REGION - len / 2 : 0);
				r->c.buf = e->copy_buf;
				r->c.len = len;
			}
		}
	}
}

static void teardown(struct env *e)
{
	size_t i;

	for (i = 0; i < RND_SETS; i++)
		vmmem_destroy(e->rnd[i]);
	for (i = 0; i < RND_MAX; i++)
		vmmem_region_destroy(e->rnd_regions[i]);
	vmmem_destroy(e->copy);
	vmmem_destroy(e->dirty);
	vmmem_destroy(e->scalar);
	free(e->copy_buf);
}

/* What the reading rows see, for the driver to compare with Rust's. */
static int print_checks(struct env *e)
{
	struct row *r;
	size_t i;

	for (i = 0; i < e->nrows; i++) {
		r = &e->rows[i];
		if (r->fn != read_fixed && r->fn != read_random)
			continue;
		r->fn(&r->c, r->fn == read_random ? RND_ADDRS : 1);
		if (r->c.rc)
			return fail(r->name, r->c.rc);
		printf("check\t%s\t%#llx\n", r->name, (unsigned long long)sink);
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_peers [--reps N] [--cpu N]\n"
		"\n"
		"Time libvmmem on the workloads of tools/peers/vm-memory-bench\n"
		"and print one line per row (run by tools/bench-peers).\n"
		"\n"
		"  --reps N   repetitions of about 10 ms per row (default %d)\n"
		"  --cpu N    pin to CPU N (default: the CPU it starts on)\n"
		"  --help     this text\n",
		REPS_DEFAULT);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "reps", required_argument, NULL, 'r' },
		{ "cpu", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, reps = REPS_DEFAULT, cpu = -1, ret = 1;
	double ns[MAX_ROWS];
	struct env *e;
	size_t i;

	while ((opt = getopt_long(argc, argv, "hr:c:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 'r':
			reps = atoi(optarg);
			if (reps < 1 || reps > BENCH_MAX_RUNS) {
				fprintf(stderr, "bench_peers: --reps 1..%d\n",
					BENCH_MAX_RUNS);
				return 2;
			}
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}

	e = calloc(1, sizeof(*e));
	if (!e) {
		fail("calloc", -ENOMEM);
		return 1;
	}
	if (setup_memory(e))
		goto out_teardown;
	setup_rows(e);

	printf("cpu\t%d\n", bench_loop_pin(cpu));
	if (print_checks(e))
		goto out_teardown;
	for (i = 0; i < e->nrows; i++) {
		int rc = run_row(e, &e->rows[i], reps, &ns[i]);

		if (rc) {
			fail(e->rows[i].name, rc);
			goto out_teardown;
		}
	}
	for (i = 0; i < e->nrows; i++)
		printf("row\t%s\t%.4f\n", e->rows[i].name, ns[i]);
	printf("runs\t%u\t%u\n", e->runs, e->descheduled);
	ret = 0;

out_teardown:
	teardown(e);
	free(e);
	return ret;
}
