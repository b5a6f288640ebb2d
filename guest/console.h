/* SPDX-License-Identifier: MIT */
/*
 * console.h - a polling driver for virtio-console port 0 (receiveq 0,
 * transmitq 1) over virtio-mmio version 2.
 *
 * Output is gathered in CON_TX_SLOTS buffers of 64 KiB; a full buffer (or
 * con_flush()) goes to the device as one chain of up to CON_TX_CHAIN
 * descriptors, and up to CON_TX_SLOTS chains are in flight. Input arrives
 * in CON_RX_BUFS receive buffers of 4 KiB, each put back on the queue as
 * soon as it has been read.
 *
 * Waits poll the used rings; every 10 ms they also read Status, and a
 * DEVICE_NEEDS_RESET there ends them with -EIO (and marks the console
 * failed). Functions return 0 or a negative errno: -EIO (the device failed
 * or broke the protocol), -ETIMEDOUT (a deadline passed), -ENODEV,
 * -ENOTSUP (setup).
 */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio.h"

#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_CONSOLE_F_SIZE 0
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2
/* Offset of emerg_wr in the console's configuration space. */
#define VIRTIO_CONSOLE_EMERG_WR 8

#define CON_RX_BUFS 32
#define CON_RX_BUF_SIZE 4096
#define CON_TX_SLOTS 4
#define CON_TX_SLOT_SIZE 65536
#define CON_TX_CHAIN 4

/* Deliberately wrong setups, for the evil programs. */
struct con_quirks {
	bool no_rx;		       /* post no receive buffers */
	const struct vq_gpas *tx_gpas; /* transmitq areas, if not NULL */
};

struct con {
	uintptr_t base;	   /* register window */
	uint64_t features; /* negotiated */
	bool up;	   /* DRIVER_OK written */
	bool failed;	   /* the device needs a reset */
	const char *error; /* why, when failed */
	struct vq rx;
	struct vq tx;
	uint16_t rx_bufs;  /* receive buffers in use */
	uint16_t tx_slots; /* transmit buffers in use */
	uint16_t tx_chain; /* descriptors per transmit buffer */
	/* The receive buffer being read. */
	bool rx_have;
	uint32_t rx_id;
	uint32_t rx_len;
	uint32_t rx_off;
	/* The transmit buffer being filled, and which ones are in flight. */
	uint16_t tx_cur;
	uint32_t tx_fill;
	bool tx_busy[CON_TX_SLOTS];
	uint64_t next_status_check; /* TSC */
	struct vq_mem rx_mem;
	struct vq_mem tx_mem;
	uint8_t rx_buf[CON_RX_BUFS][CON_RX_BUF_SIZE]
		__attribute__((aligned(4096)));
	uint8_t tx_buf[CON_TX_SLOTS][CON_TX_SLOT_SIZE]
		__attribute__((aligned(4096)));
};

/*
 * Initialise the device at base and c: reset, ACKNOWLEDGE, DRIVER,
 * features (VIRTIO_F_VERSION_1, plus VIRTIO_CONSOLE_F_SIZE if offered),
 * FEATURES_OK (checked), queues 0 and 1, DRIVER_OK, then post the receive
 * buffers and notify queue 0.
 * @quirks: NULL for a correct setup.
 * Return: 0; -EIO if Status shows DEVICE_NEEDS_RESET right after
 * DRIVER_OK; -ENOTSUP without VIRTIO_F_VERSION_1; -ENODEV if FEATURES_OK
 * does not stick or a queue is missing; -ETIMEDOUT if the reset does not
 * complete.
 */
int con_setup(struct con *c, uintptr_t base, const struct con_quirks *quirks);

/* Reset the device (Status = 0, wait for 0) and forget all queue state. */
int con_reset(struct con *c);

/* The device's Status register. */
uint32_t con_status(struct con *c);

/*
 * Flood the device: after the output queued so far is out, hand it the
 * same one-byte chain again and again, as fast as it takes them back,
 * without end. Return: only when the console fails (a negative errno).
 */
int con_flood(struct con *c);

/* Queue output (sent when a buffer fills, or by con_flush/con_drain). */
int con_write(struct con *c, const void *buf, size_t len);
int con_puts(struct con *c, const char *s);
int con_printf(struct con *c, const char *f, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Direct access to the output buffer: *p and *room describe free space
 * (room > 0) in the buffer being filled; con_tx_commit(c, n) then adds the
 * n bytes written there.
 */
int con_tx_space(struct con *c, uint8_t **p, size_t *room);
int con_tx_commit(struct con *c, size_t n);

/* Send the buffer being filled, if it holds anything. */
int con_flush(struct con *c);

/*
 * Send everything and wait until the device has returned every buffer.
 * @deadline: TSC value to give up at, 0 for none.
 */
int con_drain(struct con *c, uint64_t deadline);

/*
 * Read at least one byte of input (flushing output before waiting), at most
 * len. Return: 0 with *got set, or a negative errno.
 */
int con_read(struct con *c, void *buf, size_t len, size_t *got);

/*
 * The same without waiting: copy what input has arrived, at most len
 * bytes, and return at once. Also reads Status now and then, like a wait.
 * Return: 0 with *got set (0 when nothing arrived), or a negative errno.
 */
int con_try_read(struct con *c, void *buf, size_t len, size_t *got);

/*
 * Write s through the emergency-write register of the console at base, if
 * it offers VIRTIO_CONSOLE_F_EMERG_WRITE: the only way to say something
 * when the device cannot be driven normally.
 */
void con_emerg_puts(uintptr_t base, const char *s);

#endif /* GUEST_CONSOLE_H */
