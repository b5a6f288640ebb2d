/* SPDX-License-Identifier: MIT */
/*
 * Tests for vmmem/space.h on one thread: creating a space, taking and giving
 * back snapshots, publishing a new set, and waiting for an old set to be
 * released. The multi-threaded behaviour is in test_concurrency.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/vmmem.h>

#include "fixture.h"
#include "sysmock.h"

/* Set A: one 64 KiB region at 0 holding MARK_A at gpa 0. */
#define MARK_A 0xaaaa0000aaaa0000ull
/* Set B: a 64 KiB region at 0 holding MARK_B, and 4 KiB at 1 MiB. */
#define MARK_B 0xbbbb0000bbbb0000ull
#define B_HIGH_GPA 0x100000ull
/* The region the hot-add example inserts, and the value it holds. */
#define HOT_GPA 0x200000ull
#define HOT_LEN 0x1000ull
#define HOT_MARK 0x0123456789abcdefull

struct fixture {
	struct vmmem *a;
	struct vmmem *b;
	struct vmmem_space *space; /* publishes a */
};

static int setup(void **state)
{
	static const struct fixture_region ra[] = { { 0x0, 0x10000, 0 } };
	static const struct fixture_region rb[] = { { 0x0, 0x10000, 0 },
						    { B_HIGH_GPA, 0x1000, 0 } };
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	*state = fx;
	if (fixture_mem_create(ra, 1, NULL, &fx->a) ||
	    fixture_mem_create(rb, 2, NULL, &fx->b) ||
	    vmmem_write_u64(fx->a, 0, MARK_A) ||
	    vmmem_write_u64(fx->b, 0, MARK_B) ||
	    vmmem_space_create(fx->a, &fx->space))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	sysmock_reset();
	if (!fx)
		return 0;
	vmmem_space_destroy(fx->space);
	vmmem_destroy(fx->a);
	vmmem_destroy(fx->b);
	free(fx);
	return 0;
}

/* The marker at gpa 0 of a set, or 0 when it cannot be read. */
static uint64_t mark_of(struct vmmem *mem)
{
	uint64_t v = 0;

	if (vmmem_read_u64(mem, 0, &v))
		return 0;
	return v;
}

static void test_space_create_rejects_a_null_set(void **state)
{
	struct vmmem_space *space = NULL;

	(void)state;
	assert_int_equal(vmmem_space_create(NULL, &space), -EINVAL);
	assert_null(space);
}

static void test_space_create_rejects_a_null_out(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(vmmem_space_create(fx->a, NULL), -EINVAL);
	/* Nothing took a reference: ours is the only one. */
	vmmem_space_destroy(fx->space);
	fx->space = NULL;
	assert_int_equal(vmmem_space_wait_released(fx->a, 0), 0);
}

/*
 * Fail each allocation that vmmem_space_create() makes in turn, first among
 * its calloc() calls and then among its malloc() calls. Every failure must
 * give -ENOMEM and leave nothing behind (the sanitizer build reports leaks),
 * and the set must not keep a reference from the failed attempt.
 */
static void
test_space_create_fails_with_enomem_when_allocation_fails(void **state)
{
	static const enum sysmock_fn fns[] = { SYSMOCK_CALLOC, SYSMOCK_MALLOC };
	struct fixture *fx = *state;
	struct vmmem_space *space;
	unsigned failures = 0;
	size_t i;
	int skip, rc;

	vmmem_space_destroy(fx->space);
	fx->space = NULL;
	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		for (skip = 0; skip < 64; skip++) {
			space = NULL;
			sysmock_reset();
			sysmock_fail(fns[i], skip, ENOMEM);
			rc = vmmem_space_create(fx->a, &space);
			if (sysmock_done()) {
				/* The scripted failure was hit. */
				assert_int_equal(rc, -ENOMEM);
				assert_int_equal(
					vmmem_space_wait_released(fx->a, 0), 0);
				failures++;
				continue;
			}
			/* Fewer allocations than skip: create succeeded. */
			assert_int_equal(rc, 0);
			vmmem_space_destroy(space);
			break;
		}
	}
	sysmock_reset();
	assert_true(failures >= 1);
	assert_int_equal(vmmem_space_wait_released(fx->a, 0), 0);
}

static void test_space_destroy_accepts_null(void **state)
{
	(void)state;
	vmmem_space_destroy(NULL);
}

static void test_space_release_accepts_null(void **state)
{
	(void)state;
	vmmem_space_release(NULL);
}

static void test_space_acquire_returns_the_current_set(void **state)
{
	struct fixture *fx = *state;
	struct vmmem *snap = vmmem_space_acquire(fx->space);

	assert_ptr_equal(snap, fx->a);
	assert_int_equal(mark_of(snap), MARK_A);
	vmmem_space_release(snap);
}

static void test_space_holds_its_own_reference_to_the_set(void **state)
{
	struct fixture *fx = *state;
	struct vmmem *snap;

	/* Drop the caller's reference; the space must keep the set alive. */
	vmmem_destroy(fx->a);
	fx->a = NULL;
	snap = vmmem_space_acquire(fx->space);
	assert_non_null(snap);
	assert_int_equal(vmmem_region_count(snap), 1);
	assert_int_equal(mark_of(snap), MARK_A);
	vmmem_space_release(snap);
	/* And again, after the snapshot was given back. */
	snap = vmmem_space_acquire(fx->space);
	assert_int_equal(mark_of(snap), MARK_A);
	vmmem_space_release(snap);
}

static void test_space_snapshot_outlives_the_space(void **state)
{
	struct fixture *fx = *state;
	struct vmmem *snap;

	vmmem_destroy(fx->a);
	fx->a = NULL;
	snap = vmmem_space_acquire(fx->space);
	vmmem_space_destroy(fx->space);
	fx->space = NULL;
	/* The snapshot is now the only reference, and still usable. */
	assert_int_equal(mark_of(snap), MARK_A);
	assert_int_equal(vmmem_write_u64(snap, 8, 1), 0);
	assert_int_equal(vmmem_space_wait_released(snap, 0), 0);
	vmmem_space_release(snap);
}

static void test_space_replace_publishes_the_new_set(void **state)
{
	struct fixture *fx = *state;
	struct vmmem *snap;

	assert_int_equal(vmmem_space_replace(fx->space, fx->b, NULL), 0);
	snap = vmmem_space_acquire(fx->space);
	assert_ptr_equal(snap, fx->b);
	assert_int_equal(mark_of(snap), MARK_B);
	assert_int_equal(vmmem_region_count(snap), 2);
	vmmem_space_release(snap);
}

static void
test_space_replace_holds_its_own_reference_to_the_new_set(void **state)
{
	struct fixture *fx = *state;
	struct vmmem *snap;

	assert_int_equal(vmmem_space_replace(fx->space, fx->b, NULL), 0);
	vmmem_destroy(fx->b);
	fx->b = NULL;
	snap = vmmem_space_acquire(fx->space);
	assert_int_equal(mark_of(snap), MARK_B);
	vmmem_space_release(snap);
}

static void test_space_replace_hands_back_the_previous_set(void **state)
{
	struct fixture *fx = *state;
	struct vmmem *old = NULL;

	assert_int_equal(vmmem_space_replace(fx->space, fx->b, &old), 0);
	assert_ptr_equal(old, fx->a);
	/* The space's reference moved to us: with the fixture's, two. */
	assert_int_equal(vmmem_space_wait_released(old, 0), -ETIMEDOUT);
	vmmem_destroy(fx->a);
	fx->a = NULL;
	assert_int_equal(vmmem_space_wait_released(old, 0), 0);
	assert_int_equal(mark_of(old), MARK_A);
	vmmem_destroy(old);
}

static void test_space_replace_without_old_drops_the_previous_set(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(vmmem_space_wait_released(fx->a, 0), -ETIMEDOUT);
	assert_int_equal(vmmem_space_replace(fx->space, fx->b, NULL), 0);
	/* Only the fixture's reference to the old set is left. */
	assert_int_equal(vmmem_space_wait_released(fx->a, 0), 0);
}

static void test_space_replace_rejects_a_null_space(void **state)
{
	struct fixture *fx = *state;
	struct vmmem *old = NULL;

	assert_int_equal(vmmem_space_replace(NULL, fx->b, &old), -EINVAL);
	assert_null(old);
	/* No reference to the new set was taken. */
	assert_int_equal(vmmem_space_wait_released(fx->b, 0), 0);
}

static void test_space_replace_rejects_a_null_set(void **state)
{
	struct fixture *fx = *state;
	struct vmmem *old = NULL, *snap;

	assert_int_equal(vmmem_space_replace(fx->space, NULL, &old), -EINVAL);
	assert_null(old);
	/* The current set is unchanged. */
	snap = vmmem_space_acquire(fx->space);
	assert_ptr_equal(snap, fx->a);
	vmmem_space_release(snap);
}

static void test_space_snapshot_of_the_old_set_stays_readable(void **state)
{
	struct fixture *fx = *state;
	struct vmmem *snap = vmmem_space_acquire(fx->space);

	vmmem_destroy(fx->a);
	fx->a = NULL;
	assert_int_equal(vmmem_space_replace(fx->space, fx->b, NULL), 0);
	/* The snapshot now holds the last reference to set A. */
	assert_int_equal(mark_of(snap), MARK_A);
	assert_int_equal(vmmem_space_wait_released(snap, 0), 0);
	vmmem_space_release(snap);
}

static void
test_space_wait_released_returns_at_once_for_the_only_holder(void **state)
{
	struct fixture *fx = *state;

	/* Set B is in no space: the fixture holds its only reference. */
	assert_int_equal(vmmem_space_wait_released(fx->b, 0), 0);
	assert_int_equal(vmmem_space_wait_released(fx->b, 10), 0);
	assert_int_equal(vmmem_space_wait_released(fx->b, -1), 0);
}

static void test_space_wait_released_times_out_at_once_while_held(void **state)
{
	struct fixture *fx = *state;
	struct vmmem *snap = vmmem_space_acquire(fx->space), *old = NULL;

	vmmem_destroy(fx->a);
	fx->a = NULL;
	assert_int_equal(vmmem_space_replace(fx->space, fx->b, &old), 0);
	assert_int_equal(vmmem_space_wait_released(old, 0), -ETIMEDOUT);
	vmmem_space_release(snap);
	vmmem_destroy(old);
}

static void test_space_wait_released_times_out_after_a_short_wait(void **state)
{
	struct fixture *fx = *state;
	struct vmmem *snap = vmmem_space_acquire(fx->space), *old = NULL;

	vmmem_destroy(fx->a);
	fx->a = NULL;
	assert_int_equal(vmmem_space_replace(fx->space, fx->b, &old), 0);
	assert_int_equal(vmmem_space_wait_released(old, 10), -ETIMEDOUT);
	vmmem_space_release(snap);
	vmmem_destroy(old);
}

static void test_space_wait_released_succeeds_once_released(void **state)
{
	struct fixture *fx = *state;
	struct vmmem *snap = vmmem_space_acquire(fx->space), *old = NULL;

	vmmem_destroy(fx->a);
	fx->a = NULL;
	assert_int_equal(vmmem_space_replace(fx->space, fx->b, &old), 0);
	vmmem_space_release(snap);
	assert_int_equal(vmmem_space_wait_released(old, 0), 0);
	assert_int_equal(vmmem_space_wait_released(old, -1), 0);
	vmmem_destroy(old);
}

static void test_space_wait_released_counts_every_snapshot(void **state)
{
	struct fixture *fx = *state;
	struct vmmem *s1, *s2, *old = NULL;

	vmmem_destroy(fx->a);
	fx->a = NULL;
	s1 = vmmem_space_acquire(fx->space);
	s2 = vmmem_space_acquire(fx->space);
	assert_ptr_equal(s1, s2);
	assert_int_equal(vmmem_space_replace(fx->space, fx->b, &old), 0);
	vmmem_space_release(s1);
	assert_int_equal(vmmem_space_wait_released(old, 0), -ETIMEDOUT);
	vmmem_space_release(s2);
	assert_int_equal(vmmem_space_wait_released(old, 0), 0);
	vmmem_destroy(old);
}

static void test_space_wait_released_rejects_a_null_set(void **state)
{
	(void)state;
	assert_int_equal(vmmem_space_wait_released(NULL, 0), -EINVAL);
	assert_int_equal(vmmem_space_wait_released(NULL, -1), -EINVAL);
}

static void
test_space_wait_released_rejects_a_timeout_below_minus_one(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(vmmem_space_wait_released(fx->b, -2), -EINVAL);
	assert_int_equal(vmmem_space_wait_released(fx->b, -1000), -EINVAL);
}

/* The example at the top of space.h, step by step. */
static void test_space_hot_add_example_works_end_to_end(void **state)
{
	static const uint64_t mark = HOT_MARK;
	struct fixture *fx = *state;
	struct vmmem *cur, *next = NULL, *old = NULL, *snap;
	struct vmmem_region *region = NULL;
	uint64_t v = 0;
	int rc;

	vmmem_destroy(fx->a);
	fx->a = NULL;
	assert_int_equal(vmmem_region_create_anon(HOT_GPA, HOT_LEN, 0, &region),
			 0);
	memcpy(vmmem_region_hva(region), &mark, sizeof(mark));

	cur = vmmem_space_acquire(fx->space);
	rc = vmmem_insert(cur, region, &next);
	vmmem_space_release(cur);
	vmmem_region_destroy(region);
	assert_int_equal(rc, 0);
	assert_int_equal(vmmem_space_replace(fx->space, next, &old), 0);
	vmmem_destroy(next);
	assert_int_equal(vmmem_space_wait_released(old, -1), 0);
	vmmem_destroy(old);

	snap = vmmem_space_acquire(fx->space);
	assert_ptr_equal(snap, next);
	assert_int_equal(vmmem_region_count(snap), 2);
	assert_int_equal(vmmem_read_u64(snap, HOT_GPA, &v), 0);
	assert_int_equal(v, HOT_MARK);
	assert_int_equal(mark_of(snap), MARK_A);
	vmmem_space_release(snap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_space_create_rejects_a_null_set),
		T(test_space_create_rejects_a_null_out),
		T(test_space_create_fails_with_enomem_when_allocation_fails),
		T(test_space_destroy_accepts_null),
		T(test_space_release_accepts_null),
		T(test_space_acquire_returns_the_current_set),
		T(test_space_holds_its_own_reference_to_the_set),
		T(test_space_snapshot_outlives_the_space),
		T(test_space_replace_publishes_the_new_set),
		T(test_space_replace_holds_its_own_reference_to_the_new_set),
		T(test_space_replace_hands_back_the_previous_set),
		T(test_space_replace_without_old_drops_the_previous_set),
		T(test_space_replace_rejects_a_null_space),
		T(test_space_replace_rejects_a_null_set),
		T(test_space_snapshot_of_the_old_set_stays_readable),
		T(test_space_wait_released_returns_at_once_for_the_only_holder),
		T(test_space_wait_released_times_out_at_once_while_held),
		T(test_space_wait_released_times_out_after_a_short_wait),
		T(test_space_wait_released_succeeds_once_released),
		T(test_space_wait_released_counts_every_snapshot),
		T(test_space_wait_released_rejects_a_null_set),
		T(test_space_wait_released_rejects_a_timeout_below_minus_one),
		T(test_space_hot_add_example_works_end_to_end),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
