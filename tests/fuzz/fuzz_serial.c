/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the 8250 UART through a bus at COM1, as a guest and
 * the event loop drive it. The input is a program of operations: port
 * reads and writes of any size at any offset in (and just around) the
 * eight ports, host input, serial_output(), draining the output pipe (4
 * KiB, so that it fills and the transmit buffer is used), resets, and a
 * save and restore of the whole state.
 *
 * Checks: the sanitizers', that the interrupt callback only reports
 * changes of the level, that input is never over-accepted, and that a
 * saved state always restores.
 */
#include <stdint.h>

#include "../../minivmm/bus.h"
#include "../../minivmm/devices/serial.h"
#include "fuzz.h"

struct ctx {
	struct serial *s;
	struct bus bus;
	int rfd, wfd;
	bool level;
};

static void set_level(void *opaque, bool high)
{
	struct ctx *x = opaque;

	/* The line is reported only when it changes. */
	if (high == x->level)
		abort();
	x->level = high;
}

static void step(struct ctx *x, struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in);
	/* Mostly the eight ports, sometimes the bytes on either side. */
	uint64_t port = SERIAL_COM1_BASE - 2 + fuzz_u8(in) % 12;
	unsigned len = fuzz_access_len(in);
	uint64_t v = 0;
	const uint8_t *p;
	size_t n;

	switch (op % 8) {
	case 0:
	case 1:
		v = fuzz_u64(in);
		bus_write(&x->bus, port, &v, len);
		break;
	case 2:
	case 3:
		bus_read(&x->bus, port, &v, len);
		break;
	case 4:
		p = fuzz_take(in, fuzz_u8(in) % 32, &n);
		if (serial_input(x->s, p, n) > n)
			abort();
		serial_input_ready(x->s);
		break;
	case 5:
		serial_output(x->s);
		serial_output_blocked(x->s);
		break;
	case 6:
		if (x->rfd >= 0)
			fuzz_drain(x->rfd);
		break;
	case 7:
		if (op & 0x80)
			serial_device_ops.reset(x->s);
		else {
			/* A restore starts from a low line, as in a new
			 * process, and raises it if the registers say so. */
			x->level = false;
			fuzz_save_restore(&serial_device_ops, x->s, true);
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct ctx x = { .rfd = -1, .wfd = -1 };
	struct serial_irq irq = { set_level, &x };
	int fds[2];

	if (fuzz_u8(&in) % 4) {
		if (fuzz_pipe(fds))
			abort();
		x.rfd = fds[0];
		x.wfd = fds[1];
	}
	if (serial_create(x.wfd, &irq, &x.s))
		abort();
	bus_init(&x.bus);
	if (bus_register(&x.bus, SERIAL_COM1_BASE, SERIAL_NR_PORTS,
			 &serial_bus_ops, x.s))
		abort();
	while (in.n)
		step(&x, &in);
	serial_bytes_out(x.s);
	serial_bytes_dropped(x.s);
	serial_destroy(x.s);
	if (x.rfd >= 0) {
		close(x.rfd);
		close(x.wfd);
	}
	return 0;
}
