/* SPDX-License-Identifier: MIT */
/*
 * queue.h - the split virtqueue, device side, written only against
 * libvmmem: descriptors, rings and buffers are read and written through a
 * struct vmmem, so the queue is testable on plain anonymous memory.
 *
 * The guest is hostile. virtq_pop() copies each descriptor once into local
 * memory before checking it and bounds everything the guest controls: the
 * avail index may move at most `size` entries, every head and `next` is
 * below `size`, a chain has at most `size` descriptors (so a loop ends),
 * every buffer lies in guest memory without wrapping, the total length fits
 * 32 bits, device-writable buffers come after device-readable ones, and
 * INDIRECT is refused (never offered). A violation returns -EBADMSG and
 * virtq_error() says what was wrong; the device must then stop using the
 * queue (the transport sets DEVICE_NEEDS_RESET).
 */
#ifndef MINIVMM_VIRTIO_QUEUE_H
#define MINIVMM_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include <vmmem/addr.h>

struct state_buf;
struct state_rd;
struct vmmem;

/* Largest queue our devices offer (QueueSizeMax). */
#define VIRTQ_MAX_SIZE 256

/* Descriptor flags. */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
/* avail->flags and used->flags. */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

/* One buffer of a chain, as validated. */
struct virtq_buf {
	vmmem_gpa_t gpa;
	uint32_t len;
	bool write;		/* device-writable */
};

/* A popped chain. */
struct virtq_chain {
	uint16_t head;			/* id to return with virtq_push() */
	uint16_t n;			/* buffers in buf[] */
	uint32_t readable;		/* total length of readable buffers */
	uint32_t writable;		/* total length of writable buffers */
	struct virtq_buf buf[VIRTQ_MAX_SIZE];
};

struct virtq {
	/* Set by the transport from the guest's register writes. */
	uint16_t size;			/* 0: not configured */
	bool ready;
	vmmem_gpa_t desc;		/* descriptor table */
	vmmem_gpa_t avail;		/* driver area */
	vmmem_gpa_t used;		/* device area */
	/* private: device-side state, reset by virtq_start(). */
	struct vmmem *mem;
	bool event_idx;
	uint16_t last_avail;		/* next avail entry to pop */
	uint16_t used_idx;		/* our copy of used->idx */
	uint16_t signalled_used;	/* used_idx at the last signal check */
	bool signalled_valid;
	const char *error;		/* last -EBADMSG reason */
	/*
	 * private: the chains the device holds (popped, not yet pushed).
	 * Every descriptor of such a chain is set in `owned`, its head in
	 * `heads`, and `link` repeats the chain's `next` values as they were
	 * validated (VIRTQ_LINK_END after the last), so that virtq_push()
	 * releases exactly what virtq_pop() took without reading the guest's
	 * table again. A guest that makes an owned descriptor available again
	 * is refused, which also bounds the buffers a device can hold at once
	 * by the queue size.
	 */
	uint64_t owned[VIRTQ_MAX_SIZE / 64];
	uint64_t heads[VIRTQ_MAX_SIZE / 64];
	uint16_t link[VIRTQ_MAX_SIZE];
	uint16_t unpop_head;		/* head of the last pop, ... */
	bool unpop_valid;		/* ... while it may be undone */
};

/* link[] value after the last descriptor of a chain. */
#define VIRTQ_LINK_END 0xffff

/*
 * Check a queue's configuration when the driver sets it ready (or at
 * DRIVER_OK): size a power of two in [1, max] (and at most VIRTQ_MAX_SIZE,
 * whatever max says); desc, avail and used areas aligned (16, 2, 4) and
 * wholly inside guest memory without wrapping (an address in the MMIO hole
 * is simply not backed); the used ring writable (not in a read-only
 * region); and both ring indices usable with atomic accesses. Reads the two
 * indices, writes nothing.
 * Return: 0, or -EINVAL with virtq_error() set.
 */
int virtq_validate(struct virtq *q, struct vmmem *mem, uint16_t max);

/* Start using a validated queue: indices from zero. */
void virtq_start(struct virtq *q, struct vmmem *mem, bool event_idx);

/* Forget everything (device reset). */
void virtq_reset(struct virtq *q);

/*
 * Take the next available chain.
 * Besides the rules above, a descriptor that belongs to a chain the device
 * still holds (popped, not pushed) may not appear in a new chain, and no
 * descriptor may appear twice in one chain. With EVENT_IDX, avail_event is
 * advanced past the chain taken, so the driver keeps notifying.
 * Return: 1 with *chain filled, 0 when the queue is empty, -EBADMSG when the
 * guest broke a rule (virtq_error() says which), -EFAULT when a ring
 * itself cannot be read (or avail_event written), or -EINVAL when the queue
 * was not started. On error nothing is consumed.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *chain);

/*
 * Give back the chain the last virtq_pop() returned, without consuming it
 * (for a device that could not use it yet): the next virtq_pop() returns
 * it again. Only the most recent pop can be undone, and only before
 * anything else is pushed or popped; otherwise this does nothing.
 */
void virtq_unpop(struct virtq *q);

/*
 * Return a chain: used element {head, len}, then (release) used->idx.
 * len is the number of bytes written into its writable buffers.
 * Return: 0; -EINVAL when head is not the head of a chain the device holds
 * (nothing is written); or the negative errno of the failed write to the
 * used ring (the chain is then still held).
 */
int virtq_push(struct virtq *q, uint16_t head, uint32_t len);

/*
 * Whether the driver wants an interrupt for the chains pushed since the
 * last time this returned true: VIRTIO_F_EVENT_IDX's used_event rule, or
 * the NO_INTERRUPT flag without it.
 */
bool virtq_should_signal(struct virtq *q);

/*
 * Ask for (or stop asking for) notifications: with EVENT_IDX publish
 * avail_event = last_avail, without it clear or set NO_NOTIFY. After
 * enabling, the caller must check the queue again (a chain may have
 * arrived in between). Return: 0 or a negative errno.
 */
int virtq_enable_notify(struct virtq *q, bool enable);

/*
 * Whether the driver has made chains available that were not popped yet:
 * one acquire load of avail->idx, for a device that polls before it waits
 * for a notification. No validation: virtq_pop() does that.
 */
bool virtq_has_avail(struct virtq *q);

/*
 * Append a started queue's device-side state (indices, the chains the
 * device holds) to b; its configuration is the transport's to save.
 */
void virtq_save(const struct virtq *q, struct state_buf *b);

/*
 * Start a queue whose configuration was restored and validated
 * (virtq_validate()) with the state virtq_save() wrote: event_idx must match
 * what was saved, and the held chains must be consistent (each over held
 * descriptors inside the queue, ending, none shared).
 * Return: 0, or -EBADMSG (the queue is then started from zero).
 */
int virtq_restore(struct virtq *q, struct vmmem *mem, bool event_idx,
		  struct state_rd *r);

/* Whether head is the head of a chain the device holds. */
bool virtq_holds(const struct virtq *q, uint16_t head);

/* The reason of the last -EBADMSG/-EINVAL, or NULL. */
const char *virtq_error(const struct virtq *q);

#endif /* MINIVMM_VIRTIO_QUEUE_H */
