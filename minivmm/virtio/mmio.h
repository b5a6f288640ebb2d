/* SPDX-License-Identifier: MIT */
/*
 * mmio.h - the virtio-mmio version 2 transport: one 4 KiB register window
 * per device, the status state machine, feature negotiation, queue setup
 * and its checks, interrupts.
 *
 * Registers: the whole version 2 map. Control registers (below 0x100) take
 * only aligned 32-bit accesses; anything else is ignored and reads 0, as do
 * unknown offsets and write-only registers. SHMLen and SHMBase read all
 * ones (no shared memory regions). The configuration space (0x100 and up)
 * takes accesses of any size and is passed to the device in every state,
 * also before DRIVER_OK and after a failure (the console's emerg_wr).
 *
 * Status: only the forward path 0 -> ACKNOWLEDGE -> DRIVER -> FEATURES_OK
 * -> DRIVER_OK is accepted, one step at a time; writing 0 resets the
 * device; writing FAILED stops it until reset. FEATURES_OK is refused
 * (left clear) when the driver accepted a feature that was not offered or
 * did not accept VIRTIO_F_VERSION_1. DriverFeatures is writable only in
 * the DRIVER state; queue registers only after FEATURES_OK and before
 * DRIVER_OK, and a queue's size and addresses not while it is ready.
 * QueueReady = 1 runs virtq_validate(), a failure fails the device. At
 * DRIVER_OK every ready queue is started (with EVENT_IDX if negotiated)
 * and ops->activate() is called.
 *
 * Offered features: the device's bits 0-23 (ops->features()), plus
 * VIRTIO_F_VERSION_1 and VIRTIO_F_EVENT_IDX. Never INDIRECT_DESC.
 *
 * Threading: register accesses come from vCPU threads, notifications and
 * polling from the event loop. Every entry point here takes the
 * transport's lock, and every call into the device's ops happens with it
 * held; the device takes its own lock inside, and reaches back only through
 * the struct virtio_irq seam, which takes no lock (lock order: transport,
 * then device). Nothing outside takes either lock.
 *
 * As a device of the machine (vmmio_device_ops, devices/device.h) the
 * transport saves its registers, each queue's configuration and, for a
 * live device, the queues' positions and the device's own state; a restore
 * checks all of it as it would the guest's register writes, then looks at
 * every queue once (a notification in flight at the snapshot is not lost).
 */
#ifndef MINIVMM_VIRTIO_MMIO_H
#define MINIVMM_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "../bus.h"
#include "virtio.h"

struct device_ops;
struct vmmem;
struct vmmio;

#define VMMIO_WINDOW 0x1000
#define VMMIO_MAGIC 0x74726976

/* The version 2 register map (offsets in the window). */
#define VMMIO_REG_MAGIC 0x000
#define VMMIO_REG_VERSION 0x004
#define VMMIO_REG_DEVICE_ID 0x008
#define VMMIO_REG_VENDOR_ID 0x00c
#define VMMIO_REG_DEVICE_FEATURES 0x010
#define VMMIO_REG_DEVICE_FEATURES_SEL 0x014
#define VMMIO_REG_DRIVER_FEATURES 0x020
#define VMMIO_REG_DRIVER_FEATURES_SEL 0x024
#define VMMIO_REG_QUEUE_SEL 0x030
#define VMMIO_REG_QUEUE_SIZE_MAX 0x034
#define VMMIO_REG_QUEUE_SIZE 0x038
#define VMMIO_REG_QUEUE_READY 0x044
#define VMMIO_REG_QUEUE_NOTIFY 0x050
#define VMMIO_REG_INTERRUPT_STATUS 0x060
#define VMMIO_REG_INTERRUPT_ACK 0x064
#define VMMIO_REG_STATUS 0x070
#define VMMIO_REG_QUEUE_DESC_LOW 0x080
#define VMMIO_REG_QUEUE_DESC_HIGH 0x084
#define VMMIO_REG_QUEUE_DRIVER_LOW 0x090
#define VMMIO_REG_QUEUE_DRIVER_HIGH 0x094
#define VMMIO_REG_QUEUE_DEVICE_LOW 0x0a0
#define VMMIO_REG_QUEUE_DEVICE_HIGH 0x0a4
#define VMMIO_REG_SHM_SEL 0x0ac
#define VMMIO_REG_SHM_LEN_LOW 0x0b0
#define VMMIO_REG_SHM_LEN_HIGH 0x0b4
#define VMMIO_REG_SHM_BASE_LOW 0x0b8
#define VMMIO_REG_SHM_BASE_HIGH 0x0bc
#define VMMIO_REG_CONFIG_GENERATION 0x0fc
#define VMMIO_REG_CONFIG 0x100
/* VendorID register: "\0VMM" read as a little-endian number. */
#define VMMIO_VENDOR_ID 0x4d4d5600

/* How the transport raises its interrupt line (an irqfd write). */
struct vmmio_irq {
	void (*raise)(void *opaque);
	void *opaque;
};

/*
 * Create a transport for a device.
 * @name: for messages ("console"); copied (up to 31 characters).
 * @ops: the device's table; num_queues in [1, 64], queue_max in
 *       [1, VIRTQ_MAX_SIZE]. Callbacks other than features may be NULL.
 * @dev: the device, passed to every callback.
 * @mem: guest memory; the transport takes its own reference.
 * @irq: how to raise the interrupt; copied; NULL for none.
 * @out: receives the transport.
 * Return: 0, -EINVAL (a NULL argument, or ops out of range), -ENOMEM, or
 * the error of pthread_mutex_init().
 */
int vmmio_create(const char *name, const struct virtio_dev_ops *ops,
		 void *dev, struct vmmem *mem, const struct vmmio_irq *irq,
		 struct vmmio **out);
void vmmio_destroy(struct vmmio *t);

/* Register window accesses; opaque is the struct vmmio. */
extern const struct bus_ops vmmio_bus_ops;

/* The machine's view: reset, save, restore (opaque: the struct vmmio). */
extern const struct device_ops vmmio_device_ops;

/* A queue notification that arrived through an ioeventfd. */
void vmmio_notify(struct vmmio *t, unsigned q);

/*
 * Let a live device look for work without a notification (its poll op).
 * Return: whether it found any.
 */
bool vmmio_poll(struct vmmio *t);

/*
 * The event loop stops polling (its unpoll op): the device's notifications
 * are on again. Return: whether it found work on its last look.
 */
bool vmmio_unpoll(struct vmmio *t);

/* The device's queue count (for one notification eventfd each). */
unsigned vmmio_num_queues(const struct vmmio *t);

/*
 * The seam this transport hands its device at activation (and the only
 * way the device reaches it); for harnesses that drive a device model.
 */
const struct virtio_irq *vmmio_irq(const struct vmmio *t);

/* Whether the device is live: DRIVER_OK and not failed. */
bool vmmio_active(const struct vmmio *t);

#endif /* MINIVMM_VIRTIO_MMIO_H */
