/* SPDX-License-Identifier: MIT */
/*
 * virtio.h - the driver side of virtio-mmio (version 2) and of the split
 * virtqueue. Registers are accessed with aligned 32-bit loads and stores
 * only. Rings live in guest memory the caller provides (struct vq_mem).
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

/* Register offsets (virtio-mmio version 2). */
#define VMMIO_MAGIC 0x000
#define VMMIO_VERSION 0x004
#define VMMIO_DEVICE_ID 0x008
#define VMMIO_DEVICE_FEATURES 0x010
#define VMMIO_DEVICE_FEATURES_SEL 0x014
#define VMMIO_DRIVER_FEATURES 0x020
#define VMMIO_DRIVER_FEATURES_SEL 0x024
#define VMMIO_QUEUE_SEL 0x030
#define VMMIO_QUEUE_SIZE_MAX 0x034
#define VMMIO_QUEUE_SIZE 0x038
#define VMMIO_QUEUE_READY 0x044
#define VMMIO_QUEUE_NOTIFY 0x050
#define VMMIO_INTERRUPT_STATUS 0x060
#define VMMIO_INTERRUPT_ACK 0x064
#define VMMIO_STATUS 0x070
#define VMMIO_QUEUE_DESC_LOW 0x080
#define VMMIO_QUEUE_DESC_HIGH 0x084
#define VMMIO_QUEUE_DRIVER_LOW 0x090
#define VMMIO_QUEUE_DRIVER_HIGH 0x094
#define VMMIO_QUEUE_DEVICE_LOW 0x0a0
#define VMMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VMMIO_CONFIG 0x100

#define VIRTIO_MMIO_MAGIC 0x74726976

/* Device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

#define VIRTIO_F_VERSION_1 32

/* Split ring. */
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY 1

/* The largest queue the guest uses; the rings below are sized for it. */
#define VQ_MAX_SIZE 64

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[VQ_MAX_SIZE];
	uint16_t used_event;
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[VQ_MAX_SIZE];
	uint16_t avail_event;
};

/* Guest memory for one queue's three areas, one page. */
struct vq_mem {
	struct vring_desc desc[VQ_MAX_SIZE];
	struct vring_avail avail __attribute__((aligned(512)));
	struct vring_used used __attribute__((aligned(512)));
} __attribute__((aligned(4096)));

/* A virtqueue as the driver sees it. */
struct vq {
	uintptr_t base; /* the device's register window */
	uint16_t index; /* queue number, written to QueueNotify */
	uint16_t size;	/* 0: not set up */
	struct vq_mem *mem;
	uint16_t avail_idx; /* next avail->idx to publish */
	uint16_t last_used; /* next used element to take */
};

/*
 * Register accesses are single 32-bit `mov` instructions, the form every
 * VMM's MMIO emulation decodes, and compiler barriers: ring memory written
 * before a register write is in memory by then.
 */
static inline uint32_t vmmio_read(uintptr_t base, unsigned off)
{
	uint32_t v;

	asm volatile("movl (%1), %0" : "=r"(v) : "r"(base + off) : "memory");
	return v;
}

static inline void vmmio_write(uintptr_t base, unsigned off, uint32_t v)
{
	asm volatile("movl %0, (%1)" : : "r"(v), "r"(base + off) : "memory");
}

/*
 * Whether a virtio-mmio window answers with the magic value. Fills
 * *version and *device_id when it does.
 */
bool vmmio_probe(uintptr_t base, uint32_t *version, uint32_t *device_id);

/*
 * Reset the device: write 0 to Status and wait (up to a second) until it
 * reads back 0. Return: 0 or -ETIMEDOUT.
 */
int vmmio_reset(uintptr_t base);

/* The device's 64 feature bits (both DeviceFeatures windows). */
uint64_t vmmio_device_features(uintptr_t base);

/* Write the 64 driver feature bits (both DriverFeatures windows). */
void vmmio_set_driver_features(uintptr_t base, uint64_t features);

/*
 * Largest usable size of queue `index`: min(QueueSizeMax, VQ_MAX_SIZE),
 * rounded down to a power of two. Return: 0 if the queue does not exist
 * or is already live.
 */
uint16_t vmmio_queue_size(uintptr_t base, uint16_t index);

/*
 * Where a queue's areas are placed. Normally the addresses of vq->mem's
 * areas; vq_setup() takes them separately so that a test can give the
 * device bad ones.
 */
struct vq_gpas {
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
};

/*
 * Initialise vq over mem (zeroed here, avail->flags = NO_INTERRUPT: the
 * guest polls) and program queue `index`: QueueSel, QueueSize,
 * QueueDesc/Driver/Device (low, high), QueueReady = 1.
 * @gpas: NULL for mem's own areas.
 */
void vq_setup(struct vq *vq, uintptr_t base, uint16_t index, uint16_t size,
	      struct vq_mem *mem, const struct vq_gpas *gpas);

/* Descriptor i of the table. */
static inline struct vring_desc *vq_desc(struct vq *vq, uint16_t i)
{
	return &vq->mem->desc[i];
}

/* Put chain head `head` in the next avail ring slot (not yet published). */
void vq_add(struct vq *vq, uint16_t head);

/*
 * Publish the added heads: a release store of avail->idx, so that the
 * descriptors and ring entries written before are visible first.
 */
void vq_publish(struct vq *vq);

/* Publish an arbitrary avail->idx (for tests of a device's checks). */
void vq_publish_idx(struct vq *vq, uint16_t idx);

/* Notify the device (QueueNotify) unless it asked not to be. */
void vq_kick(struct vq *vq);

/* Notify the device unconditionally. */
void vq_notify(struct vq *vq);

/* Whether the device has returned a chain not yet taken. */
bool vq_has_used(struct vq *vq);

/*
 * Take the next used element, if any. Return: true with *id and *len set.
 */
bool vq_get_used(struct vq *vq, uint32_t *id, uint32_t *len);

#endif /* GUEST_VIRTIO_H */
