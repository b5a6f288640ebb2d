/* SPDX-License-Identifier: MIT */
/*
 * virtio.h - virtio constants and the interface between a transport and a
 * device. A device describes itself with a static virtio_dev_ops table; the
 * transport (virtio/mmio.c) owns the registers, the status state machine and
 * the queues, and calls into the device through the table. The device
 * reaches back only through the struct virtio_irq handed to it.
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

struct state_buf;
struct state_rd;
struct virtq;

/*
 * How a device reaches its driver, handed to it at activation and valid
 * until its reset: the transport implements it (virtio-mmio: the
 * InterruptStatus register and an interrupt line). The device calls it
 * under its own lock, never the transport's, and only while active; the
 * calls take no lock and never call back into the device.
 */
struct virtio_irq {
	/* Chains were pushed to queue q: interrupt the driver if it asked
	 * for one (virtq_should_signal()). */
	void (*signal_used)(void *opaque, unsigned q);
	/* The device's configuration space changed. */
	void (*config_changed)(void *opaque);
	/* The driver broke the protocol: mark the device NEEDS_RESET and
	 * stop calling it until the driver resets it. why is reported once. */
	void (*fail)(void *opaque, const char *why);
	void *opaque;
};

/*
 * A virtio device. It owns its queue count and what each queue is for; it
 * never names its transport, and the transport never reaches into it but
 * through this table. Every callback runs with the transport's lock held
 * (the device takes its own lock inside); a device must not call into the
 * transport other than through the struct virtio_irq it was given.
 */
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
	 * i < num_queues stay valid until reset, and so does irq. Return 0,
	 * or a negative errno to fail the device (the transport sets
	 * NEEDS_RESET).
	 */
	int (*activate)(void *dev, uint64_t features, struct virtq *queues,
			const struct virtio_irq *irq);
	/* The driver wrote 0 to Status (or the transport reset the device). */
	void (*reset)(void *dev);
	/* The driver notified queue q (QueueNotify or its ioeventfd). */
	void (*notify)(void *dev, unsigned q);
	/*
	 * Optional: look for work without a notification, for an event loop
	 * that polls for a while after activity. Return: whether there was
	 * any. Called without the transport's lock. The device may turn the
	 * driver's notifications off from the first poll on (the loop looks
	 * anyway) until unpoll(), which the loop calls whenever it stops
	 * polling: it turns them on again, looks once more and returns
	 * whether there was work (the loop then polls again).
	 */
	bool (*poll)(void *dev);
	bool (*unpoll)(void *dev);
	/*
	 * Optional: the device's own state (not the queues', which the
	 * transport saves), while the machine is paused. restore() is
	 * called instead of activate() for a device that was active when
	 * saved, with the queues already restored; it must check every
	 * value it reads, as if it came from the guest. NULL: stateless.
	 */
	int (*save)(void *dev, struct state_buf *b);
	int (*restore)(void *dev, struct state_rd *r, uint64_t features,
		       struct virtq *queues, const struct virtio_irq *irq);
};

#endif /* MINIVMM_VIRTIO_H */
