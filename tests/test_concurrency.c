/* SPDX-License-Identifier: MIT */
/*
 * Tests with threads: publishing sets through a space while readers use
 * them, waiting for old snapshots, single-copy atomicity of aligned scalars,
 * concurrent dirty marking, and the lookup hint that threads share. They
 * also run under ThreadSanitizer (build/tsan), which reports any access the
 * library leaves unordered, and AddressSanitizer, which reports a snapshot
 * used after it was freed.
 *
 * Every loop is bounded by an iteration count. Threads start together on a
 * barrier and stop on an atomic flag; nothing sleeps. cmocka's assertions
 * are not thread-safe, so worker threads only record what they saw and the
 * main thread checks it after joining them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/vmmem.h>

#include "fixture.h"
#include "sysmock.h"

/* The sanitizers make every access several times slower: do fewer. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SLOWDOWN 4
#else
#define SLOWDOWN 1
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Start n threads running fn(arg + i * size); 0 or the first error. */
static int start_threads(pthread_t *threads, unsigned n, void *(*fn)(void *),
			 void *arg, size_t size)
{
	unsigned i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = pthread_create(&threads[i], NULL, fn,
				    (char *)arg + i * size);
		if (rc)
			return rc;
	}
	return 0;
}

static void join_threads(pthread_t *threads, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
}

/*
 * Hot swap under load.
 *
 * Every set the writer publishes is generation g. It holds a shared 64 KiB
 * base region with a fixed magic value, a 4 KiB region of its own at
 * HS_GEN_GPA holding g, and, when g is odd, another region of its own at
 * HS_ODD_GPA holding g too. Each new set removes the previous generation's
 * regions and adds new ones, and the writer destroys the old set (unmapping
 * its regions) as soon as vmmem_space_wait_released() says no reader holds
 * it. A reader that saw a torn or freed set would read the wrong
 * generation, the wrong region count, or freed memory (AddressSanitizer).
 */
#define HS_READERS 3
#define HS_GENERATIONS 400
#define HS_BASE_GPA 0x0ull
#define HS_BASE_LEN 0x10000ull
#define HS_BASE_MAGIC 0x5eed0000feed0000ull
#define HS_GEN_GPA 0x100000ull
#define HS_ODD_GPA 0x200000ull
#define HS_SMALL_LEN 0x1000ull

/* What a reader found wrong; 0 when nothing. */
enum hs_error {
	HS_OK,
	HS_GEN_UNREADABLE,
	HS_GEN_WENT_BACK,
	HS_GEN_TOO_NEW,
	HS_WRONG_COUNT,
	HS_BASE_WRONG,
	HS_ODD_WRONG,
	HS_ODD_PRESENT,
	HS_NOT_LATEST,
};

struct hot_swap;

struct hs_reader {
	struct hot_swap *hs;
	uint64_t last_gen;
	uint64_t reads;
	enum hs_error err;
};

struct hot_swap {
	struct vmmem_space *space;
	pthread_barrier_t start;
	int have_start;
	atomic_int done;
	int writer_rc;
	uint64_t writer_gen;
	struct hs_reader readers[HS_READERS];
};

/* A new 4 KiB region at gpa whose first 8 bytes hold gen. */
static int hs_region(vmmem_gpa_t gpa, uint64_t gen, struct vmmem_region **out)
{
	int rc = vmmem_region_create_anon(gpa, HS_SMALL_LEN, 0, out);

	if (rc == 0)
		memcpy(vmmem_region_hva(*out), &gen, sizeof(gen));
	return rc;
}

/* Replace *mem with a set that also has a new region at gpa holding gen. */
static int hs_add(struct vmmem **mem, vmmem_gpa_t gpa, uint64_t gen)
{
	struct vmmem_region *region;
	struct vmmem *next;
	int rc = hs_region(gpa, gen, &region);

	if (rc)
		return rc;
	rc = vmmem_insert(*mem, region, &next);
	vmmem_region_destroy(region);
	if (rc)
		return rc;
	vmmem_destroy(*mem);
	*mem = next;
	return 0;
}

/* Replace *mem with a set without the 4 KiB region at gpa. */
static int hs_drop(struct vmmem **mem, vmmem_gpa_t gpa)
{
	struct vmmem *next;
	int rc = vmmem_remove(*mem, gpa, HS_SMALL_LEN, &next, NULL);

	if (rc)
		return rc;
	vmmem_destroy(*mem);
	*mem = next;
	return 0;
}

/* Build generation gen from the current set, publish it, retire the old. */
static int hs_publish(struct vmmem_space *space, uint64_t gen)
{
	struct vmmem *cur, *mem = NULL, *old = NULL;
	int rc;

	cur = vmmem_space_acquire(space);
	rc = vmmem_remove(cur, HS_GEN_GPA, HS_SMALL_LEN, &mem, NULL);
	vmmem_space_release(cur);
	if (rc)
		return rc;
	rc = hs_add(&mem, HS_GEN_GPA, gen);
	if (rc == 0)
		rc = (gen & 1) ? hs_add(&mem, HS_ODD_GPA, gen)
			       : hs_drop(&mem, HS_ODD_GPA);
	if (rc == 0)
		rc = vmmem_space_replace(space, mem, &old);
	vmmem_destroy(mem);
	if (rc)
		return rc;
	rc = vmmem_space_wait_released(old, -1);
	vmmem_destroy(old);
	return rc;
}

/* Check that a snapshot is one whole generation, not older than *last. */
static enum hs_error hs_check(struct vmmem *snap, uint64_t *last)
{
	uint64_t gen, v;

	if (vmmem_read_u64(snap, HS_GEN_GPA, &gen))
		return HS_GEN_UNREADABLE;
	if (gen < *last)
		return HS_GEN_WENT_BACK;
	if (gen > HS_GENERATIONS)
		return HS_GEN_TOO_NEW;
	*last = gen;
	if (vmmem_region_count(snap) != 2 + (gen & 1))
		return HS_WRONG_COUNT;
	if (vmmem_read_u64(snap, HS_BASE_GPA, &v) || v != HS_BASE_MAGIC)
		return HS_BASE_WRONG;
	if (gen & 1) {
		if (vmmem_read_u64(snap, HS_ODD_GPA, &v) || v != gen)
			return HS_ODD_WRONG;
	} else if (vmmem_check_range(snap, HS_ODD_GPA, 8) != -EFAULT) {
		return HS_ODD_PRESENT;
	}
	return HS_OK;
}

static void *hs_reader_main(void *arg)
{
	struct hs_reader *rd = arg;
	struct hot_swap *hs = rd->hs;
	struct vmmem *snap;

	pthread_barrier_wait(&hs->start);
	while (rd->err == HS_OK &&
	       !atomic_load_explicit(&hs->done, memory_order_acquire)) {
		snap = vmmem_space_acquire(hs->space);
		rd->err = hs_check(snap, &rd->last_gen);
		vmmem_space_release(snap);
		rd->reads++;
	}
	if (rd->err != HS_OK)
		return NULL;
	/* The writer's last replace returned before it set done. */
	snap = vmmem_space_acquire(hs->space);
	rd->err = hs_check(snap, &rd->last_gen);
	if (rd->err == HS_OK && rd->last_gen != HS_GENERATIONS)
		rd->err = HS_NOT_LATEST;
	vmmem_space_release(snap);
	return NULL;
}

static void *hs_writer_main(void *arg)
{
	struct hot_swap *hs = arg;
	uint64_t gen;
	int rc = 0;

	pthread_barrier_wait(&hs->start);
	for (gen = 1; gen <= HS_GENERATIONS && rc == 0; gen++)
		rc = hs_publish(hs->space, gen);
	hs->writer_rc = rc;
	hs->writer_gen = gen - 1;
	atomic_store_explicit(&hs->done, 1, memory_order_release);
	return NULL;
}

static int hs_setup(void **state)
{
	struct hot_swap *hs = calloc(1, sizeof(*hs));
	struct vmmem_region *regions[2] = { NULL, NULL };
	uint64_t magic = HS_BASE_MAGIC;
	struct vmmem *mem = NULL;
	unsigned i;
	int rc;

	if (!hs)
		return -1;
	*state = hs;
	for (i = 0; i < HS_READERS; i++)
		hs->readers[i].hs = hs;
	rc = vmmem_region_create_anon(HS_BASE_GPA, HS_BASE_LEN, 0, &regions[0]);
	if (rc == 0) {
		memcpy(vmmem_region_hva(regions[0]), &magic, sizeof(magic));
		rc = hs_region(HS_GEN_GPA, 0, &regions[1]);
	}
	if (rc == 0)
		rc = vmmem_create(regions, 2, &mem);
	vmmem_region_destroy(regions[0]);
	vmmem_region_destroy(regions[1]);
	if (rc == 0)
		rc = vmmem_space_create(mem, &hs->space);
	vmmem_destroy(mem);
	if (rc || pthread_barrier_init(&hs->start, NULL, HS_READERS + 1))
		return -1;
	hs->have_start = 1;
	return 0;
}

static int hs_teardown(void **state)
{
	struct hot_swap *hs = *state;

	if (!hs)
		return 0;
	if (hs->have_start)
		pthread_barrier_destroy(&hs->start);
	vmmem_space_destroy(hs->space);
	free(hs);
	return 0;
}

static void
test_concurrency_readers_see_whole_sets_during_hot_swap(void **state)
{
	struct hot_swap *hs = *state;
	pthread_t readers[HS_READERS], writer;
	struct vmmem *last;
	unsigned i;

	assert_int_equal(start_threads(readers, HS_READERS, hs_reader_main,
				       hs->readers, sizeof(hs->readers[0])),
			 0);
	assert_int_equal(pthread_create(&writer, NULL, hs_writer_main, hs), 0);
	pthread_join(writer, NULL);
	join_threads(readers, HS_READERS);

	assert_int_equal(hs->writer_rc, 0);
	assert_int_equal(hs->writer_gen, HS_GENERATIONS);
	for (i = 0; i < HS_READERS; i++) {
		struct hs_reader *rd = &hs->readers[i];

		if (rd->err != HS_OK)
			print_error("reader %u: error %d after gen %llu\n", i,
				    (int)rd->err,
				    (unsigned long long)rd->last_gen);
		assert_int_equal(rd->err, HS_OK);
		assert_int_equal(rd->last_gen, HS_GENERATIONS);
	}

	/*
	 * Every reader gave its snapshots back: once the space is gone, a
	 * final snapshot is the only reference to the last set.
	 */
	last = vmmem_space_acquire(hs->space);
	vmmem_space_destroy(hs->space);
	hs->space = NULL;
	assert_int_equal(vmmem_space_wait_released(last, 0), 0);
	vmmem_space_release(last);
}

/*
 * vmmem_space_wait_released() waits for a reader in another thread: the
 * reader holds a snapshot of the old set until the main thread lets it go,
 * then still reads the whole set WT_READS times, as a device finishing a
 * request would, and sets a flag just before it gives the snapshot back.
 * The reads and the yields between them synchronise nothing; they only
 * give a wait that returned early the time to see the flag still clear.
 */
#define WT_LEN 0x10000ull
#define WT_MARK 0x0fdd0000beef0000ull
#define WT_READS 64u

struct wait_test {
	struct vmmem *next;
	struct vmmem_space *space;
	pthread_barrier_t held;
	pthread_barrier_t go;
	int have_barriers;
	atomic_int releasing;
	int reader_rc;
	uint8_t buf[WT_LEN]; /* the reader's */
};

static void *wt_reader_main(void *arg)
{
	struct wait_test *wt = arg;
	struct vmmem *snap = vmmem_space_acquire(wt->space);
	uint64_t mark;
	unsigned k;
	int rc = 0;

	pthread_barrier_wait(&wt->held);
	pthread_barrier_wait(&wt->go);
	for (k = 0; k < WT_READS && rc == 0; k++) {
		rc = vmmem_read(snap, 0, wt->buf, WT_LEN);
		memcpy(&mark, wt->buf, sizeof(mark));
		if (rc == 0 && mark != WT_MARK)
			rc = -EIO;
		sched_yield();
	}
	wt->reader_rc = rc;
	atomic_store(&wt->releasing, 1);
	vmmem_space_release(snap);
	return NULL;
}

static int wt_setup(void **state)
{
	static const struct fixture_region r[] = { { 0x0, WT_LEN, 0 } };
	struct wait_test *wt = calloc(1, sizeof(*wt));
	struct vmmem *mem = NULL;
	int rc;

	if (!wt)
		return -1;
	*state = wt;
	rc = fixture_mem_create(r, 1, NULL, &mem);
	if (rc == 0)
		rc = vmmem_write_u64(mem, 0, WT_MARK);
	if (rc == 0)
		rc = fixture_mem_create(r, 1, NULL, &wt->next);
	if (rc == 0)
		rc = vmmem_space_create(mem, &wt->space);
	vmmem_destroy(mem);
	if (rc)
		return -1;
	if (pthread_barrier_init(&wt->held, NULL, 2))
		return -1;
	if (pthread_barrier_init(&wt->go, NULL, 2)) {
		pthread_barrier_destroy(&wt->held);
		return -1;
	}
	wt->have_barriers = 1;
	return 0;
}

static int wt_teardown(void **state)
{
	struct wait_test *wt = *state;

	if (!wt)
		return 0;
	if (wt->have_barriers) {
		pthread_barrier_destroy(&wt->held);
		pthread_barrier_destroy(&wt->go);
	}
	vmmem_space_destroy(wt->space);
	vmmem_destroy(wt->next);
	free(wt);
	return 0;
}

static void
test_concurrency_wait_released_waits_for_a_reader_thread(void **state)
{
	struct wait_test *wt = *state;
	struct vmmem *old = NULL;
	int rc_replace, rc_check, rc_wait, released_first;
	pthread_t reader;

	assert_int_equal(pthread_create(&reader, NULL, wt_reader_main, wt), 0);
	pthread_barrier_wait(&wt->held);
	rc_replace = vmmem_space_replace(wt->space, wt->next, &old);
	rc_check = old ? vmmem_space_wait_released(old, 0) : -EINVAL;
	pthread_barrier_wait(&wt->go);
	rc_wait = old ? vmmem_space_wait_released(old, -1) : -EINVAL;
	released_first = atomic_load(&wt->releasing);
	pthread_join(reader, NULL);
	vmmem_destroy(old);

	assert_int_equal(rc_replace, 0);
	assert_int_equal(rc_check, -ETIMEDOUT);
	assert_int_equal(rc_wait, 0);
	assert_int_equal(wt->reader_rc, 0);
	assert_int_equal(released_first, 1);
}

/*
 * No tearing: one thread flips an aligned u16 between 0x0000 and 0xffff,
 * two others read it, one with vmmem_read_u16() and one with
 * vmmem_atomic_load_u16(). Two adjacent 4 KiB regions; the value either lies
 * inside the first, or in its last two bytes, in which case the readers also
 * touch the second region between reads so that the shared lookup hint
 * keeps moving and the library's out-of-line path is taken too.
 *
 * So that the threads overlap however they are scheduled, the writer flips
 * the value there and back at least TEAR_PAIRS times and goes on until
 * every reader is done, and each reader reads at least TEAR_READS times and
 * goes on until the writer has made its TEAR_PAIRS.
 */
#define TEAR_PAIRS (1000000u / SLOWDOWN)
#define TEAR_READS (1000000u / SLOWDOWN)
#define TEAR_READERS 3
#define TEAR_MIDDLE_GPA 0x100ull
#define TEAR_EDGE_GPA 0xffeull
#define TEAR_NEXT_GPA 0x1000ull

/*
 * The length of the bulk copies of the tear test, read at run time, so that
 * the copy is the library's variable-length one (a constant 2 would let the
 * compiler make one load of it anyway).
 */
static volatile size_t tear_len = 2;

/*
 * memcpy() as some of glibc's variants copy 2 or 3 bytes: one byte at a
 * time (which one a machine gets depends on its CPU). The library's calls
 * come here (--wrap=memcpy, Linux builds), so that a bulk copy that relied
 * on memcpy() for a naturally aligned u16 would tear on every machine.
 */
#if defined(__linux__)
void *__real_memcpy(void *dst, const void *src, size_t n);
void *__wrap_memcpy(void *dst, const void *src, size_t n);

void *__wrap_memcpy(void *dst, const void *src, size_t n)
{
	volatile uint8_t *d = dst;
	const volatile uint8_t *s = src;
	size_t i;

	if (n > 3)
		return __real_memcpy(dst, src, n);
	for (i = 0; i < n; i++)
		d[i] = s[i];
	return dst;
}
#endif

struct tear_test;

struct tear_reader {
	struct tear_test *tt;
	int mode; /* 0: vmmem_read_u16(), 1: atomic, 2: vmmem_read() */
	uint64_t reads;
	uint64_t torn;
	uint16_t first_torn;
	int rc;
};

struct tear_test {
	struct vmmem *mem;
	vmmem_gpa_t gpa;
	int move_hint;
	int bulk_write; /* the writer uses vmmem_write(), not _u16 */
	pthread_barrier_t start;
	int have_start;
	atomic_int flipped; /* the writer made its TEAR_PAIRS */
	atomic_uint readers_left;
	int writer_rc;
	struct tear_reader readers[TEAR_READERS];
};

static void *tear_reader_main(void *arg)
{
	struct tear_reader *rd = arg;
	struct tear_test *tt = rd->tt;
	uint16_t v = 0;
	uint8_t other;
	int rc;

	pthread_barrier_wait(&tt->start);
	while (rd->reads < TEAR_READS ||
	       !atomic_load_explicit(&tt->flipped, memory_order_relaxed)) {
		if (rd->mode == 1)
			rc = vmmem_atomic_load_u16(tt->mem, tt->gpa, &v,
						   __ATOMIC_RELAXED);
		else if (rd->mode == 2)
			rc = vmmem_read(tt->mem, tt->gpa, &v, tear_len);
		else
			rc = vmmem_read_u16(tt->mem, tt->gpa, &v);
		if (rc == 0 && tt->move_hint)
			rc = vmmem_read_u8(tt->mem, TEAR_NEXT_GPA, &other);
		if (rc) {
			rd->rc = rc;
			break;
		}
		if (v != 0x0000 && v != 0xffff && rd->torn++ == 0)
			rd->first_torn = v;
		rd->reads++;
	}
	atomic_fetch_sub_explicit(&tt->readers_left, 1, memory_order_relaxed);
	return NULL;
}

static void *tear_writer_main(void *arg)
{
	struct tear_test *tt = arg;
	unsigned i;
	int rc = 0;

	pthread_barrier_wait(&tt->start);
	for (i = 0; rc == 0; i++) {
		if (i == TEAR_PAIRS)
			atomic_store_explicit(&tt->flipped, 1,
					      memory_order_relaxed);
		if (i >= TEAR_PAIRS &&
		    !atomic_load_explicit(&tt->readers_left,
					  memory_order_relaxed))
			break;
		/* There and back: 0x0000 between iterations. */
		if (tt->bulk_write) {
			static const uint16_t ones = 0xffff, zero = 0;

			rc = vmmem_write(tt->mem, tt->gpa, &ones, tear_len);
			if (rc == 0)
				rc = vmmem_write(tt->mem, tt->gpa, &zero,
						 tear_len);
		} else {
			rc = vmmem_write_u16(tt->mem, tt->gpa, 0xffff);
			if (rc == 0)
				rc = vmmem_write_u16(tt->mem, tt->gpa, 0x0000);
		}
	}
	tt->writer_rc = rc;
	/* Let the readers stop also when a write failed early. */
	atomic_store_explicit(&tt->flipped, 1, memory_order_relaxed);
	return NULL;
}

static int tear_setup(void **state)
{
	static const struct fixture_region r[] = { { 0x0, 0x1000, 0 },
						   { 0x1000, 0x1000, 0 } };
	struct tear_test *tt = calloc(1, sizeof(*tt));
	unsigned i;

	if (!tt)
		return -1;
	*state = tt;
	if (fixture_mem_create(r, ARRAY_SIZE(r), NULL, &tt->mem))
		return -1;
	for (i = 0; i < TEAR_READERS; i++) {
		tt->readers[i].tt = tt;
		tt->readers[i].mode = (int)(i % 3);
	}
	if (pthread_barrier_init(&tt->start, NULL, TEAR_READERS + 1))
		return -1;
	tt->have_start = 1;
	return 0;
}

static int tear_teardown(void **state)
{
	struct tear_test *tt = *state;

	if (!tt)
		return 0;
	if (tt->have_start)
		pthread_barrier_destroy(&tt->start);
	vmmem_destroy(tt->mem);
	free(tt);
	return 0;
}

/* Run the flipping writer against the readers and check what they saw. */
static void tear_run(struct tear_test *tt, vmmem_gpa_t gpa, int move_hint)
{
	pthread_t readers[TEAR_READERS], writer;
	uint16_t v = 1;
	unsigned i;

	tt->gpa = gpa;
	tt->move_hint = move_hint;
	atomic_store(&tt->readers_left, TEAR_READERS);
	assert_int_equal(vmmem_write_u16(tt->mem, gpa, 0), 0);
	assert_int_equal(start_threads(readers, TEAR_READERS, tear_reader_main,
				       tt->readers, sizeof(tt->readers[0])),
			 0);
	assert_int_equal(pthread_create(&writer, NULL, tear_writer_main, tt),
			 0);
	pthread_join(writer, NULL);
	join_threads(readers, TEAR_READERS);

	assert_int_equal(tt->writer_rc, 0);
	for (i = 0; i < TEAR_READERS; i++) {
		struct tear_reader *rd = &tt->readers[i];

		if (rd->torn)
			print_error("reader %u (%s): %llu of %llu reads torn, "
				    "first 0x%04x\n",
				    i,
				    rd->mode == 1 ? "atomic" :
				    rd->mode == 2 ? "bulk" : "scalar",
				    (unsigned long long)rd->torn,
				    (unsigned long long)rd->reads,
				    rd->first_torn);
		assert_int_equal(rd->rc, 0);
		assert_int_equal(rd->torn, 0);
	}
	/* Every iteration of the writer ended with 0x0000. */
	assert_int_equal(vmmem_read_u16(tt->mem, gpa, &v), 0);
	assert_int_equal(v, 0x0000);
}

static void test_concurrency_readers_never_see_a_torn_u16(void **state)
{
	tear_run(*state, TEAR_MIDDLE_GPA, 0);
}

static void
test_concurrency_readers_never_see_a_torn_u16_at_region_end(void **state)
{
	tear_run(*state, TEAR_EDGE_GPA, 1);
}

/* The same with a writer that copies its two bytes with vmmem_write(). */
static void test_concurrency_bulk_u16_copies_never_tear(void **state)
{
	struct tear_test *tt = *state;

	tt->bulk_write = 1;
	tear_run(tt, TEAR_MIDDLE_GPA, 0);
}

/*
 * Dirty marking loses no bit. A 16 MiB dirty-logged region has 4096 pages,
 * 64 words of bitmap. Thread t writes one byte into every page p with
 * p % DL_THREADS == t, so neighbouring bits of each word are set by
 * different threads at the same time.
 */
#define DL_PAGES 4096u
#define DL_WORDS (DL_PAGES / 64)
#define DL_LEN ((uint64_t)DL_PAGES * VMMEM_DIRTY_PAGE_SIZE)
#define DL_THREADS 4u
#define DL_ROUNDS 32u
#define DL_PASSES 32u

struct dirty_test;

struct dl_writer {
	struct dirty_test *dt;
	unsigned index;
	int rc;
};

struct dirty_test {
	struct vmmem *mem;
	struct vmmem_region *region;
	pthread_barrier_t start; /* writers (and collector) and main */
	pthread_barrier_t end;	 /* writers and main */
	int have_barriers;
	atomic_uint writers_left;
	int collector_rc;
	uint64_t acc[DL_WORDS];
	struct dl_writer writers[DL_THREADS];
};

/* Write one byte into each of this writer's pages, at a round's offset. */
static int dl_write_pages(struct dl_writer *w, unsigned round)
{
	uint64_t off = (round * 8 + w->index * 64) % VMMEM_DIRTY_PAGE_SIZE;
	unsigned p;
	int rc;

	for (p = w->index; p < DL_PAGES; p += DL_THREADS) {
		rc = vmmem_write_u8(w->dt->mem,
				    (uint64_t)p * VMMEM_DIRTY_PAGE_SIZE + off,
				    (uint8_t)(round + 1));
		if (rc)
			return rc;
	}
	return 0;
}

/* Number of pages whose bit is set in a bitmap. */
static unsigned dl_count(const uint64_t *bits)
{
	unsigned i, n = 0;

	for (i = 0; i < DL_WORDS; i++)
		n += (unsigned)__builtin_popcountll(bits[i]);
	return n;
}

/* Map the region; start_count threads meet on the start barrier. */
static int dl_setup_threads(void **state, unsigned start_count)
{
	static const struct fixture_region spec = { 0, DL_LEN,
						    VMMEM_REGION_DIRTY_LOG };
	struct dirty_test *dt = calloc(1, sizeof(*dt));
	unsigned i;

	if (!dt)
		return -1;
	*state = dt;
	if (fixture_mem_create(&spec, 1, &dt->region, &dt->mem))
		return -1;
	for (i = 0; i < DL_THREADS; i++) {
		dt->writers[i].dt = dt;
		dt->writers[i].index = i;
	}
	if (pthread_barrier_init(&dt->start, NULL, start_count))
		return -1;
	if (pthread_barrier_init(&dt->end, NULL, DL_THREADS + 1)) {
		pthread_barrier_destroy(&dt->start);
		return -1;
	}
	dt->have_barriers = 1;
	atomic_store(&dt->writers_left, DL_THREADS);
	return 0;
}

/* Writers and main meet on both barriers, once per round. */
static int dl_setup(void **state)
{
	return dl_setup_threads(state, DL_THREADS + 1);
}

/* Writers, the collector and main meet on the start barrier. */
static int dl_setup_collector(void **state)
{
	return dl_setup_threads(state, DL_THREADS + 2);
}

static int dl_teardown(void **state)
{
	struct dirty_test *dt = *state;

	if (!dt)
		return 0;
	if (dt->have_barriers) {
		pthread_barrier_destroy(&dt->start);
		pthread_barrier_destroy(&dt->end);
	}
	vmmem_destroy(dt->mem);
	vmmem_region_destroy(dt->region);
	free(dt);
	return 0;
}

static void *dl_round_writer_main(void *arg)
{
	struct dl_writer *w = arg;
	unsigned round;

	for (round = 0; round < DL_ROUNDS; round++) {
		pthread_barrier_wait(&w->dt->start);
		if (w->rc == 0)
			w->rc = dl_write_pages(w, round);
		pthread_barrier_wait(&w->dt->end);
	}
	return NULL;
}

static void test_concurrency_parallel_dirty_marking_loses_no_bit(void **state)
{
	struct dirty_test *dt = *state;
	pthread_t threads[DL_THREADS];
	uint64_t bits[DL_WORDS];
	unsigned round, i, set[DL_ROUNDS], left[DL_ROUNDS];
	int rc_get[DL_ROUNDS], rc_again[DL_ROUNDS];

	assert_int_equal(start_threads(threads, DL_THREADS,
				       dl_round_writer_main, dt->writers,
				       sizeof(dt->writers[0])),
			 0);
	for (round = 0; round < DL_ROUNDS; round++) {
		pthread_barrier_wait(&dt->start);
		pthread_barrier_wait(&dt->end);
		memset(bits, 0, sizeof(bits));
		rc_get[round] = vmmem_region_dirty_get_and_reset(
			dt->region, bits, DL_WORDS);
		set[round] = dl_count(bits);
		/* The harvest cleared the bitmap for the next round. */
		memset(bits, 0xff, sizeof(bits));
		rc_again[round] = vmmem_region_dirty_get_and_reset(
			dt->region, bits, DL_WORDS);
		left[round] = dl_count(bits);
	}
	join_threads(threads, DL_THREADS);

	for (i = 0; i < DL_THREADS; i++)
		assert_int_equal(dt->writers[i].rc, 0);
	for (round = 0; round < DL_ROUNDS; round++) {
		assert_int_equal(rc_get[round], 0);
		assert_int_equal(set[round], DL_PAGES);
		assert_int_equal(rc_again[round], 0);
		assert_int_equal(left[round], 0);
	}
}

/* Write every page of this writer DL_PASSES times, then check out. */
static void *dl_pass_writer_main(void *arg)
{
	struct dl_writer *w = arg;
	unsigned pass;

	pthread_barrier_wait(&w->dt->start);
	for (pass = 0; pass < DL_PASSES && w->rc == 0; pass++)
		w->rc = dl_write_pages(w, pass);
	atomic_fetch_sub_explicit(&w->dt->writers_left, 1,
				  memory_order_release);
	return NULL;
}

/* Harvest and accumulate the bitmap until every writer has finished. */
static void *dl_collector_main(void *arg)
{
	struct dirty_test *dt = arg;
	uint64_t bits[DL_WORDS];
	unsigned i;
	int rc;

	pthread_barrier_wait(&dt->start);
	while (atomic_load_explicit(&dt->writers_left, memory_order_acquire)) {
		rc = vmmem_region_dirty_get_and_reset(dt->region, bits,
						      DL_WORDS);
		if (rc) {
			dt->collector_rc = rc;
			break;
		}
		for (i = 0; i < DL_WORDS; i++)
			dt->acc[i] |= bits[i];
	}
	return NULL;
}

static void test_concurrency_harvest_during_writes_loses_no_page(void **state)
{
	struct dirty_test *dt = *state;
	pthread_t writers[DL_THREADS], collector;
	uint64_t bits[DL_WORDS];
	unsigned i;
	int rc;

	assert_int_equal(start_threads(writers, DL_THREADS, dl_pass_writer_main,
				       dt->writers, sizeof(dt->writers[0])),
			 0);
	assert_int_equal(
		pthread_create(&collector, NULL, dl_collector_main, dt), 0);
	pthread_barrier_wait(&dt->start);
	join_threads(writers, DL_THREADS);
	pthread_join(collector, NULL);

	rc = vmmem_region_dirty_get_and_reset(dt->region, bits, DL_WORDS);
	for (i = 0; i < DL_WORDS; i++)
		dt->acc[i] |= bits[i];

	for (i = 0; i < DL_THREADS; i++)
		assert_int_equal(dt->writers[i].rc, 0);
	assert_int_equal(dt->collector_rc, 0);
	assert_int_equal(rc, 0);
	assert_int_equal(dl_count(dt->acc), DL_PAGES);
}

/*
 * Threads share a set's lookup hint. Each of HR_THREADS threads reads its
 * own region of a 16-region set, so the hint keeps moving between regions
 * under every reader; each must still find its own region and values.
 * The u64 at offset off of region i holds hr_value(i, off).
 */
#define HR_REGIONS 16u
#define HR_LEN 0x1000ull
#define HR_STRIDE 0x10000ull
#define HR_THREADS 4u
#define HR_READS (400000u / SLOWDOWN)

/* What a reader found wrong; 0 when nothing. */
enum hr_error {
	HR_OK,
	HR_FIND_FAILED,
	HR_WRONG_REGION,
	HR_READ_FAILED,
	HR_WRONG_VALUE,
};

struct hint_test;

struct hr_reader {
	struct hint_test *ht;
	unsigned region;
	enum hr_error err;
	unsigned at; /* iteration of the first failure */
};

struct hint_test {
	struct vmmem *mem;
	pthread_barrier_t start;
	int have_start;
	struct hr_reader readers[HR_THREADS];
};

static uint64_t hr_value(unsigned region, uint64_t off)
{
	return ((uint64_t)(region + 1) << 56) | ((uint64_t)region << 32) | off;
}

static enum hr_error hr_read_once(struct vmmem *mem, unsigned region,
				  unsigned k)
{
	vmmem_gpa_t base = region * HR_STRIDE;
	/* A multiple of 8 with room for 16 bytes after it. */
	uint64_t off = ((uint64_t)k * 56) % (HR_LEN - 8), v, pair[2];
	struct vmmem_region *found;

	switch (k % 3) {
	case 0:
		if (vmmem_find_region(mem, base + off, &found))
			return HR_FIND_FAILED;
		if (vmmem_region_gpa(found) != base)
			return HR_WRONG_REGION;
		break;
	case 1:
		if (vmmem_read_u64(mem, base + off, &v))
			return HR_READ_FAILED;
		if (v != hr_value(region, off))
			return HR_WRONG_VALUE;
		break;
	default:
		if (vmmem_read(mem, base + off, pair, sizeof(pair)))
			return HR_READ_FAILED;
		if (pair[0] != hr_value(region, off) ||
		    pair[1] != hr_value(region, off + 8))
			return HR_WRONG_VALUE;
		break;
	}
	return HR_OK;
}

static void *hr_reader_main(void *arg)
{
	struct hr_reader *rd = arg;
	unsigned k;

	pthread_barrier_wait(&rd->ht->start);
	for (k = 0; k < HR_READS; k++) {
		rd->err = hr_read_once(rd->ht->mem, rd->region, k);
		if (rd->err != HR_OK) {
			rd->at = k;
			break;
		}
	}
	return NULL;
}

static int hr_setup(void **state)
{
	struct fixture_region ranges[HR_REGIONS];
	struct hint_test *ht = calloc(1, sizeof(*ht));
	uint64_t off;
	unsigned i;

	if (!ht)
		return -1;
	*state = ht;
	for (i = 0; i < HR_REGIONS; i++)
		ranges[i] = (struct fixture_region){ i * HR_STRIDE, HR_LEN, 0 };
	if (fixture_mem_create(ranges, HR_REGIONS, NULL, &ht->mem))
		return -1;
	for (i = 0; i < HR_REGIONS; i++)
		for (off = 0; off < HR_LEN; off += 8)
			if (vmmem_write_u64(ht->mem, i * HR_STRIDE + off,
					    hr_value(i, off)))
				return -1;
	for (i = 0; i < HR_THREADS; i++) {
		ht->readers[i].ht = ht;
		/* Spread the readers over the set: 0, 5, 10, 15. */
		ht->readers[i].region = i * (HR_REGIONS - 1) / (HR_THREADS - 1);
	}
	if (pthread_barrier_init(&ht->start, NULL, HR_THREADS))
		return -1;
	ht->have_start = 1;
	return 0;
}

static int hr_teardown(void **state)
{
	struct hint_test *ht = *state;

	if (!ht)
		return 0;
	if (ht->have_start)
		pthread_barrier_destroy(&ht->start);
	vmmem_destroy(ht->mem);
	free(ht);
	return 0;
}

static void
test_concurrency_readers_sharing_the_hint_find_their_region(void **state)
{
	struct hint_test *ht = *state;
	pthread_t threads[HR_THREADS];
	unsigned i;

	assert_int_equal(start_threads(threads, HR_THREADS, hr_reader_main,
				       ht->readers, sizeof(ht->readers[0])),
			 0);
	join_threads(threads, HR_THREADS);
	for (i = 0; i < HR_THREADS; i++) {
		if (ht->readers[i].err != HR_OK)
			print_error("reader of region %u: error %d, read %u\n",
				    ht->readers[i].region,
				    (int)ht->readers[i].err, ht->readers[i].at);
		assert_int_equal(ht->readers[i].err, HR_OK);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn, setup, teardown)                                                 \
	cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_concurrency_readers_see_whole_sets_during_hot_swap,
		  hs_setup, hs_teardown),
		T(test_concurrency_wait_released_waits_for_a_reader_thread,
		  wt_setup, wt_teardown),
		T(test_concurrency_readers_never_see_a_torn_u16, tear_setup,
		  tear_teardown),
		T(test_concurrency_readers_never_see_a_torn_u16_at_region_end,
		  tear_setup, tear_teardown),
		T(test_concurrency_bulk_u16_copies_never_tear, tear_setup,
		  tear_teardown),
		T(test_concurrency_parallel_dirty_marking_loses_no_bit,
		  dl_setup, dl_teardown),
		T(test_concurrency_harvest_during_writes_loses_no_page,
		  dl_setup_collector, dl_teardown),
		T(test_concurrency_readers_sharing_the_hint_find_their_region,
		  hr_setup, hr_teardown),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
