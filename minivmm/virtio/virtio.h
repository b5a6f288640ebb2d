/* SPDX-License-Identifier: MIT */
/*
 * virtio.h - virtio constants and the interface between a transport and a
 * device. A device describes itself with a static virtio_dev_ops table; the
 * transport (virtio/mmio.c) owns the registers, the status state machine and
 * the queues, and calls into the device through the table.
 */
#ifndef MINIVMM_VIRTIO_H
#define MINIVMM_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

/* Device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* Feature bits. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VIRTIO_ID_CONSOLE 3

struct virtq;

struct virtio_dev_ops {
	uint32_t device_id;
	unsigned num_queues;
	uint16_t queue_max;	/* QueueSizeMax of every queue */
	/* Features offered (the transport adds VIRTIO_F_VERSION_1 and
	 * VIRTIO_F_EVENT_IDX itself, and keeps only bits 0-23 of these, the
	 * device-specific range). NULL: none. */
	uint64_t (*features)(void *dev);
	/* Device-specific configuration space, offsets from 0x100. Reads
	 * get a zeroed buffer; out-of-range offsets read zero. */
	void (*config_read)(void *dev, uint64_t off, void *data, unsigned len);
	void (*config_write)(void *dev, uint64_t off, const void *data,
			     unsigned len);
	/*
	 * DRIVER_OK: the queues are set up and validated; queues[i] for
	 * i < num_queues stay valid until reset. Return 0, or a negative
	 * errno to fail the device (the transport sets NEEDS_RESET).
	 */
	int (*activate)(void *dev, uint64_t features, struct virtq *queues);
	/* The driver wrote 0 to Status (or the transport reset the device). */
	void (*reset)(void *dev);
	/* The driver notified queue q (QueueNotify or its ioeventfd). */
	void (*notify)(void *dev, unsigned q);
};

#endif /* MINIVMM_VIRTIO_H */
