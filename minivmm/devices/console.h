/* SPDX-License-Identifier: MIT */
/*
 * devices/console.h - virtio-console, port 0 only (receiveq 0, transmitq 1), with
 * VIRTIO_CONSOLE_F_SIZE and VIRTIO_CONSOLE_F_EMERG_WRITE.
 *
 * Output goes straight from guest memory to out_fd (non-blocking) with
 * vmmem_write_to_fd(). When out_fd cannot take more, the device keeps the
 * chain it was sending and stops consuming the transmit queue, so the guest
 * waits; vcon_output() resumes once out_fd is writable. No byte is dropped.
 * Input is pushed in by the event loop with vcon_input(), which fills
 * receive buffers and accepts only as much as they hold.
 *
 * Output order is the order the device took the bytes in: the rest of the
 * chain being sent, then emergency bytes written meanwhile, then later
 * chains. Transmit chains must hold only device-readable buffers, receive
 * chains only device-writable ones; anything else fails the device
 * (the seam's fail()), the receive side as soon as the chain is posted. Receive
 * chains are taken from the queue when the guest notifies and kept until
 * input arrives; each vcon_input() call fills chains in order and returns
 * each one (even partly filled) with the number of bytes written.
 *
 * Emergency writes (config offset 8, any time, even before DRIVER_OK or
 * after a failure) go out at once when nothing is waiting, and are
 * otherwise kept, in order, in a buffer of VCON_EMERG_BUF bytes. A register
 * write cannot be made to wait, so a byte that finds this buffer full is
 * the one thing this device drops: it is counted (vcon_bytes_dropped())
 * and reported once per overflow on stderr. Bytes already buffered survive
 * a device reset; they no longer refer to guest memory.
 *
 * A write error other than EAGAIN (EPIPE when the reader went away, EIO)
 * is reported once, and from then on output is discarded as with out_fd
 * -1: the guest keeps running. The VMM should ignore SIGPIPE.
 *
 * Bounded work: one call (a notification, vcon_output(), an emergency
 * write, activation) does at most one slice of output: VCON_SLICE_BYTES
 * bytes written, a queue's worth of chains taken, and about VCON_SLICE_NS
 * of time, the same whether output goes to a pipe, a file or nowhere (out_fd
 * -1, or broken). A guest refilling the queue from another vCPU could
 * otherwise keep one call going for ever. When the slice runs out with
 * output left, the device keeps its place, stops and says so
 * (vcon_output_more(), and the blocked callback when it was not called by
 * vcon_output()): the event loop serves its other events (signals, the
 * timeout, the control socket) and calls vcon_output() again at once.
 *
 * The device knows no transport: it is created on its own, handed to one
 * with vcon_ops, and reaches its driver only through the struct virtio_irq
 * given at activation. It has its own lock, taken by every function below
 * and every op, so the event loop calls it directly from its thread while
 * vCPU threads reach it through the transport. Its saved state (vcon_ops
 * save/restore) is the negotiated features, the terminal size, pending
 * emergency bytes and the chains it holds with how far each got.
 */
#ifndef MINIVMM_VIRTIO_CONSOLE_H
#define MINIVMM_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../virtio/virtio.h"

struct vcon;
struct vmmem;

#define VIRTIO_CONSOLE_F_SIZE 0
#define VIRTIO_CONSOLE_F_MULTIPORT 1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

/* Bytes of emergency output kept while out_fd is full. */
#define VCON_EMERG_BUF 4096
/* One slice of output work (see "Bounded work"). */
#define VCON_SLICE_BYTES (1u << 20)
#define VCON_SLICE_NS 2000000u

/* The device's ops; dev is the struct vcon. */
extern const struct virtio_dev_ops vcon_ops;

/*
 * Create a console writing to out_fd (which must be non-blocking; -1
 * discards output, for --console none). cols/rows: initial size. The
 * console takes its own reference to mem and does not close out_fd.
 * Return: 0, -EINVAL (NULL mem or out, out_fd < -1), -ENOMEM.
 */
int vcon_create(struct vmmem *mem, int out_fd, uint16_t cols, uint16_t rows,
		struct vcon **out);
void vcon_destroy(struct vcon *c);

/*
 * Deliver host input to the guest: fill receive buffers with up to len
 * bytes. Return: the number of bytes accepted (0 when the guest has no
 * receive buffer posted, or the device is not active).
 */
size_t vcon_input(struct vcon *c, const void *buf, size_t len);

/* Whether the guest has a receive buffer posted (worth reading input). */
bool vcon_input_ready(struct vcon *c);

/*
 * Continue transmitting after out_fd became writable (or after a
 * notification), one slice. Return: true while output is unfinished: blocked
 * on out_fd (vcon_output_blocked(): wait for EPOLLOUT) or the slice ran out
 * (vcon_output_more(): call again at once, after other events); false when
 * the transmit queue is drained.
 */
bool vcon_output(struct vcon *c);

/* Whether the last slice ran out with output left (call again at once). */
bool vcon_output_more(struct vcon *c);

/*
 * Whether the guest has queued output the device has not taken, and could
 * take now (not blocked on out_fd). For an event loop that polls for a few
 * microseconds after activity instead of sleeping at once.
 */
bool vcon_tx_waiting(struct vcon *c);

/* Whether output is waiting for out_fd to become writable. */
bool vcon_output_blocked(struct vcon *c);

/*
 * Be told when output becomes blocked, or a slice runs out with output
 * left, outside vcon_output(): in a queue
 * notification (which may run on a vCPU thread), an emergency write, or
 * activation. fn runs with the device's lock held and must not call into
 * the device; it should wake the event loop, which then waits for out_fd
 * to become writable (vcon_output_blocked()) or goes on at once
 * (vcon_output_more()) and calls vcon_output(). vcon_output() itself reports
 * blocking by its return value only. fn NULL: no callback.
 */
void vcon_set_blocked_cb(struct vcon *c, void (*fn)(void *opaque),
			 void *opaque);

/* New terminal size: update the config space and interrupt. */
void vcon_resize(struct vcon *c, uint16_t cols, uint16_t rows);

/* Bytes transmitted to out_fd so far (for tests and statistics). */
uint64_t vcon_bytes_out(struct vcon *c);

/* Emergency bytes dropped because their buffer was full (see above). */
uint64_t vcon_bytes_dropped(struct vcon *c);

#endif /* MINIVMM_VIRTIO_CONSOLE_H */
