/* SPDX-License-Identifier: MIT */
/*
 * vmmem/space.h - publishing a changing memory map to many threads.
 *
 * A space holds the current memory set. Readers (vCPU and device threads)
 * take a snapshot with vmmem_space_acquire(), use it for as long as one
 * operation needs a consistent map, and give it back with
 * vmmem_space_release(). Acquiring never blocks and never fails: it is a few
 * atomic operations. A writer (hot-plug, balloon) builds a new set with
 * vmmem_insert()/vmmem_remove(), publishes it with vmmem_space_replace(), and
 * may then wait with vmmem_space_wait_released() until no reader holds the
 * old one, for example before unmapping memory the old set contained or
 * telling the guest that memory is gone.
 *
 * Example, hot-adding a region:
 *
 *	struct vmmem *cur = vmmem_space_acquire(space), *next, *old;
 *	rc = vmmem_insert(cur, region, &next);
 *	vmmem_space_release(cur);
 *	if (rc == 0) {
 *		vmmem_space_replace(space, next, &old);
 *		vmmem_destroy(next);
 *		vmmem_space_wait_released(old, -1);
 *		vmmem_destroy(old);
 *	}
 */
#ifndef VMMEM_SPACE_H
#define VMMEM_SPACE_H

struct vmmem;
struct vmmem_space;

/**
 * vmmem_space_create() - create a space publishing an initial set.
 * @mem: the initial set; the space takes its own reference.
 * @out: receives the space.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL argument; -ENOMEM.
 */
int vmmem_space_create(struct vmmem *mem, struct vmmem_space **out);

/**
 * vmmem_space_destroy() - destroy a space.
 * @space: the space; NULL is a no-op.
 *
 * Drops the space's reference to its current set. Snapshots that readers
 * still hold stay valid until they are released. No thread may call
 * vmmem_space_acquire() on the space during or after this call.
 */
void vmmem_space_destroy(struct vmmem_space *space);

/**
 * vmmem_space_acquire() - take a snapshot of the current set.
 * @space: the space.
 *
 * Lock-free and wait-free for readers: it never blocks, whatever writers do.
 *
 * Return: the current set, with a reference for the caller; never NULL.
 * Give it back with vmmem_space_release().
 */
struct vmmem *vmmem_space_acquire(struct vmmem_space *space);

/**
 * vmmem_space_release() - give back a snapshot.
 * @snapshot: a set returned by vmmem_space_acquire(); NULL is a no-op.
 */
void vmmem_space_release(struct vmmem *snapshot);

/**
 * vmmem_space_replace() - publish a new set.
 * @space: the space.
 * @next: the new set; the space takes its own reference.
 * @old: if not NULL, receives the previous set, with the space's reference
 *       moved to the caller; if NULL, that reference is dropped.
 *
 * Writers are serialized. When this returns, every later
 * vmmem_space_acquire() returns @next (or a newer set): the call waits for
 * the few readers that were in the middle of acquiring, which takes
 * nanoseconds, not for readers holding snapshots.
 *
 * Return: 0 on success.
 * Errors: -EINVAL for a NULL space or next.
 */
int vmmem_space_replace(struct vmmem_space *space, struct vmmem *next,
			struct vmmem **old);

/**
 * vmmem_space_wait_released() - wait until the caller's reference to a set
 * is the only one left.
 * @mem: a set the caller holds, typically the old set from
 *       vmmem_space_replace().
 * @timeout_ms: how long to wait; -1 waits for ever, 0 only checks.
 *
 * Sleeps (futex), without spinning, until every other holder has released
 * the set. Do not call it while this thread itself holds another snapshot of
 * the same set.
 *
 * Return: 0 when the caller holds the only reference.
 * Errors: -EINVAL for a NULL mem or a timeout below -1; -ETIMEDOUT when
 * other holders remain after timeout_ms.
 */
int vmmem_space_wait_released(struct vmmem *mem, int timeout_ms);

#endif /* VMMEM_SPACE_H */
