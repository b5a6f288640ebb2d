/* SPDX-License-Identifier: MIT */
/*
 * serial.h - an 8250/16550A UART (COM1: ports 0x3f8-0x3ff, IRQ 4) for
 * early kernel messages and a serial console.
 *
 * Registers (offsets in the 8-port range): 0 RBR (read) / THR (write), or
 * DLL while LCR.DLAB is set; 1 IER, or DLM with DLAB; 2 IIR (read) / FCR
 * (write); 3 LCR; 4 MCR; 5 LSR; 6 MSR; 7 SCR. Wider accesses are split
 * into byte accesses at consecutive offsets, as an ISA bus does. The
 * divisor and line settings are stored and read back but do not slow
 * anything down.
 *
 * Output: each THR byte is written to out_fd (non-blocking) at once. When
 * out_fd is full the byte is kept, with those that follow, in a transmit
 * buffer of SERIAL_TX_BUF bytes, and LSR reads THRE and TEMT clear until
 * serial_output() has written the buffer out: a guest polling LSR waits,
 * and one using the THR-empty interrupt gets it when the buffer drains. A
 * register write cannot be made to wait, so a byte written while the
 * buffer is full (by a guest that ignores THRE) is dropped, counted
 * (serial_bytes_dropped()) and reported once per overflow. A write error
 * other than EAGAIN is reported once, and output is discarded from then on
 * as with out_fd -1. The VMM should ignore SIGPIPE. Clearing the transmit
 * FIFO (FCR bit 2) does not discard the buffer: those bytes count as sent.
 *
 * Input: serial_input() puts host bytes in the receive FIFO (16 bytes, or
 * 1 with the FIFOs disabled) and accepts only what fits. In loopback mode
 * (MCR bit 4) the FIFO takes the guest's own THR bytes instead, a byte
 * that finds it full sets LSR.OE and is lost, and host input is refused.
 *
 * Interrupts: one level-triggered line through irq->set_level, called only
 * when the level changes (the line starts low). Sources, highest priority
 * first, as IIR reports them: line status (LSR.OE, IER bit 2), received
 * data (IER bit 0; IIR 0x04 at or above the FCR trigger level, else the
 * character timeout 0x0c, at once: input comes in bursts), THR empty (IER
 * bit 1; raised when the transmitter becomes empty, or when IER enables it
 * while empty; cleared by reading IIR when it is the source, by writing
 * THR, or by disabling it in IER), modem status (IER bit 3; MSR delta
 * bits). Outside loopback MSR reads CTS, DSR and DCD set: a terminal is
 * connected. MCR.OUT2 does not gate the line.
 *
 * Threads: every function takes the device's own lock, so register
 * accesses may come from vCPU threads while the event loop calls
 * serial_input() and serial_output(). Callbacks (set_level, the blocked
 * and input callbacks) run with that lock held: they must be quick and
 * must not call back into this device.
 */
#ifndef MINIVMM_SERIAL_H
#define MINIVMM_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus_ops;
struct device_ops;
struct serial;

/* COM1, where the kernel looks first (console=ttyS0). */
#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_IRQ 4
/* Ports in the device's range. */
#define SERIAL_NR_PORTS 8

/* Register offsets. */
#define SERIAL_RBR 0 /* read, DLAB 0 */
#define SERIAL_THR 0 /* write, DLAB 0 */
#define SERIAL_DLL 0 /* DLAB 1 */
#define SERIAL_IER 1 /* DLAB 0 */
#define SERIAL_DLM 1 /* DLAB 1 */
#define SERIAL_IIR 2 /* read */
#define SERIAL_FCR 2 /* write */
#define SERIAL_LCR 3
#define SERIAL_MCR 4
#define SERIAL_LSR 5
#define SERIAL_MSR 6
#define SERIAL_SCR 7

/* Receive FIFO depth of a 16550A. */
#define SERIAL_RX_FIFO 16
/* Bytes of output kept while out_fd is full. */
#define SERIAL_TX_BUF 4096

/* The interrupt line: set_level(opaque, high) on every change. */
struct serial_irq {
	void (*set_level)(void *opaque, bool high);
	void *opaque;
};

/*
 * The machine's view (devices/device.h), opaque the struct serial: reset to
 * power-on registers; save and restore the registers, the receive FIFO and
 * the output still waiting for out_fd.
 */
extern const struct device_ops serial_device_ops;

/* Register accesses; opaque is the struct serial, offsets 0-7. */
extern const struct bus_ops serial_bus_ops;

/*
 * Create a UART in its reset state (LSR 0x60, no interrupt enabled,
 * FIFOs off).
 * @out_fd: where output goes; must be non-blocking; -1 discards output.
 *          Not closed by the device.
 * @irq: the interrupt line; copied; NULL (or a NULL set_level) for none.
 * @out: receives the device.
 * Return: 0, -EINVAL (out NULL, out_fd < -1), -ENOMEM, or the error of
 * pthread_mutex_init().
 */
int serial_create(int out_fd, const struct serial_irq *irq,
		  struct serial **out);

/*
 * Free the device. Bytes still in the transmit buffer are lost: drain it
 * first with serial_output() when the guest has stopped. NULL: no-op.
 */
void serial_destroy(struct serial *s);

/*
 * Deliver host input: put up to len bytes in the receive FIFO, set LSR.DR
 * and raise the receive interrupt when IER enables it.
 * Return: the number of bytes accepted, from the start of buf (0 when the
 * FIFO is full, in loopback mode, or len is 0). When not everything was
 * accepted the input callback runs once there is room again.
 */
size_t serial_input(struct serial *s, const void *buf, size_t len);

/* Whether serial_input() would accept at least one byte now. */
bool serial_input_ready(struct serial *s);

/*
 * Be told when the receive FIFO has room again after serial_input() could
 * not take everything: the guest read a byte, cleared the FIFO, or left
 * loopback. Runs on the thread that made the room (usually a vCPU thread),
 * with the device's lock held; it should wake the event loop, which then
 * calls serial_input() again. fn NULL: no callback.
 */
void serial_set_input_cb(struct serial *s, void (*fn)(void *opaque),
			 void *opaque);

/*
 * Write buffered output to out_fd, after it became writable. When the
 * buffer empties, LSR reads THRE and TEMT again and the THR-empty
 * interrupt is raised if enabled.
 * Return: true while bytes are still waiting for out_fd (wait for
 * EPOLLOUT and call again), false when the buffer is empty.
 */
bool serial_output(struct serial *s);

/* Whether output is waiting for out_fd to become writable. */
bool serial_output_blocked(struct serial *s);

/*
 * Be told when output becomes blocked: a THR write found out_fd full. Runs
 * on that vCPU thread with the device's lock held; it should make the
 * event loop wait for out_fd to become writable (epoll_ctl() adding
 * EPOLLOUT is safe from any thread) and then call serial_output().
 * fn NULL: no callback.
 */
void serial_set_blocked_cb(struct serial *s, void (*fn)(void *opaque),
			   void *opaque);

/* Bytes written to out_fd so far (for tests and statistics). */
uint64_t serial_bytes_out(struct serial *s);

/* Output bytes dropped because the transmit buffer was full. */
uint64_t serial_bytes_dropped(struct serial *s);

#endif /* MINIVMM_SERIAL_H */
