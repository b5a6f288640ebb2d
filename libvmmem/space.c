/* SPDX-License-Identifier: MIT */
/*
 * space.c - publishing a changing memory set to many threads.
 *
 * Readers acquire with a handful of atomic operations and never block. The
 * problem to solve is the window between a reader loading the current
 * pointer and taking its reference: a writer must not drop the space's
 * reference to the old set while a reader is inside that window. Readers
 * announce the window in one of two counters ("pins"), chosen by the parity
 * of an epoch; the writer publishes the new set, flips the epoch so that new
 * readers use the other counter, and waits for the counters to drain. This is
 * the scheme of sleepable RCU, reduced to a single pointer:
 *
 *   reader: i = epoch & 1; pins[i]++; m = cur; m->refs++; pins[i]--
 *   writer: old = xchg(cur, next); i = epoch & 1;
 *           wait pins[i ^ 1] == 0; epoch++; wait pins[i] == 0
 *
 * All of these are sequentially consistent. A reader whose increment of
 * pins[] comes after the writer saw that counter at zero loads cur after the
 * exchange, so it gets the new set. The first wait covers a reader that read
 * the epoch before an earlier flip and only now increments the counter that
 * is no longer current; without it that reader could still be between its
 * load of cur and its reference when we return. Readers only stay pinned for
 * a few instructions, so the waits are short; new readers go to the other
 * counter and cannot starve the writer.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include <vmmem/memory.h>
#include <vmmem/space.h>

#include "internal.h"
#include "os.h"

struct vmmem_space {
	struct vmmem *cur;		/* atomic */
	uint32_t epoch;			/* atomic */
	unsigned long pins[2];		/* atomic */
	pthread_mutex_t lock;		/* serializes writers */
};

/*
 * Waiting for a set to be released: threads in vmmem_space_wait_released()
 * sleep on one process-wide futex word, bumped by vmmem_destroy() whenever a
 * count drops to 1 while anybody waits. A global word, because the waiter
 * may free the set the moment it sees the count, before the releasing thread
 * has finished its wake-up call.
 */
static uint32_t release_gen;		/* atomic; futex word */
static uint32_t release_waiters;	/* atomic */

void vmmem__notify_released(void)
{
	/* Pairs with the waiter's increment of release_waiters and its load
	 * of refs: either it sees our decrement, or we see it waiting. */
	if (__atomic_load_n(&release_waiters, __ATOMIC_SEQ_CST) == 0)
		return;
	__atomic_fetch_add(&release_gen, 1, __ATOMIC_SEQ_CST);
	vmmem__wake_all(&release_gen);
}

int vmmem_space_create(struct vmmem *mem, struct vmmem_space **out)
{
	struct vmmem_space *space;

	if (!mem || !out)
		return -EINVAL;
	space = calloc(1, sizeof(*space));
	if (!space)
		return -ENOMEM;
	pthread_mutex_init(&space->lock, NULL);
	space->cur = vmmem_ref(mem);
	*out = space;
	return 0;
}

void vmmem_space_destroy(struct vmmem_space *space)
{
	if (!space)
		return;
	vmmem_destroy(space->cur);
	pthread_mutex_destroy(&space->lock);
	free(space);
}

struct vmmem *vmmem_space_acquire(struct vmmem_space *space)
{
	uint32_t i = __atomic_load_n(&space->epoch, __ATOMIC_SEQ_CST) & 1;
	struct vmmem *mem;

	__atomic_fetch_add(&space->pins[i], 1, __ATOMIC_SEQ_CST);
	mem = __atomic_load_n(&space->cur, __ATOMIC_SEQ_CST);
	vmmem_ref(mem);
	/* Release: our reference is visible before the writer can see the
	 * counter drop and let go of the set. */
	__atomic_fetch_sub(&space->pins[i], 1, __ATOMIC_RELEASE);
	return mem;
}

void vmmem_space_release(struct vmmem *snapshot)
{
	vmmem_destroy(snapshot);
}

static void wait_unpinned(struct vmmem_space *space, uint32_t i)
{
	while (__atomic_load_n(&space->pins[i], __ATOMIC_SEQ_CST) != 0)
		sched_yield();
}

int vmmem_space_replace(struct vmmem_space *space, struct vmmem *next,
			struct vmmem **old)
{
	struct vmmem *prev;
	uint32_t i;

	if (!space || !next)
		return -EINVAL;
	pthread_mutex_lock(&space->lock);
	prev = __atomic_exchange_n(&space->cur, vmmem_ref(next),
				   __ATOMIC_SEQ_CST);
	i = __atomic_load_n(&space->epoch, __ATOMIC_SEQ_CST) & 1;
	wait_unpinned(space, i ^ 1);
	__atomic_fetch_add(&space->epoch, 1, __ATOMIC_SEQ_CST);
	wait_unpinned(space, i);
	pthread_mutex_unlock(&space->lock);
	if (old)
		*old = prev;
	else
		vmmem_destroy(prev);
	return 0;
}

/* Milliseconds left until the deadline, 0 when it has passed. */
static long ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000 +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? ms : 0;
}

int vmmem_space_wait_released(struct vmmem *mem, int timeout_ms)
{
	struct timespec deadline;
	int rc = 0;

	if (!mem || timeout_ms < -1)
		return -EINVAL;
	if (__atomic_load_n(&mem->refs, __ATOMIC_ACQUIRE) == 1)
		return 0;
	if (timeout_ms == 0)
		return -ETIMEDOUT;
	if (timeout_ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	__atomic_fetch_add(&release_waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		uint32_t gen = __atomic_load_n(&release_gen, __ATOMIC_SEQ_CST);
		struct timespec rel, *relp = NULL;

		if (__atomic_load_n(&mem->refs, __ATOMIC_SEQ_CST) == 1)
			break;
		if (timeout_ms > 0) {
			long ms = ms_left(&deadline);

			if (ms == 0) {
				rc = -ETIMEDOUT;
				break;
			}
			rel.tv_sec = ms / 1000;
			rel.tv_nsec = (ms % 1000) * 1000000;
			relp = &rel;
		}
		/* Returns at once if a release bumped gen since we read it. */
		vmmem__wait_on(&release_gen, gen, relp);
	}
	/* The seq_cst load that saw refs == 1 synchronizes with the last
	 * release: what the other holders did happens before what our caller
	 * does next (typically freeing memory). */
	__atomic_fetch_sub(&release_waiters, 1, __ATOMIC_SEQ_CST);
	return rc;
}
