/* SPDX-License-Identifier: MIT */
/*
 * Writes fuzz_snapshot's seed corpus: state files made by the real
 * encoder from devices in a busy state (an 8250 with input waiting, an
 * i8042 with a reply waiting, a live console holding chains and
 * emergency bytes), each behind fuzz_snapshot's flags byte.
 *
 * Usage: build/fuzz/snapshot_seed DIR   (tests/fuzz/corpus/fuzz_snapshot)
 */
#include <stdio.h>

#include "../../minivmm/devices/i8042.h"
#include "../../minivmm/devices/serial.h"
#include "../../minivmm/snapshot.h"
#include "fuzz_console.h"

/* Save a device into its own section. */
static void add(struct snap_writer *w, uint32_t id,
		const struct device_ops *ops, void *dev)
{
	struct state_buf b;

	state_buf_init(&b);
	if (ops->save(dev, &b) ||
	    snap_writer_add(w, SNAP_SEC_DEVICE, id, b.data, b.len))
		abort();
	state_buf_fini(&b);
}

static void put(const char *dir, const char *name, uint8_t flags,
		const struct snap_writer *w)
{
	struct state_buf file;
	char path[512];
	FILE *fp;

	state_buf_init(&file);
	state_put_u8(&file, flags);
	if (snap_writer_encode(w, &file))
		abort();
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(file.data, 1, file.len, fp) != file.len ||
	    fclose(fp)) {
		perror(path);
		exit(1);
	}
	state_buf_fini(&file);
}

int main(int argc, char **argv)
{
	/* Features: SIZE, EMERG_WRITE, EVENT_IDX; both queues of 16. */
	static const uint8_t up[] = { 0x44, 0x05, 0x00, 0x00, 0x20 };
	/* A receive chain of two buffers, a transmit chain of one. */
	static const uint8_t rx[] = { 0x82, 0x00, 0x00, 0x40, 0x00,
				      0x00, 0x10, 0x40, 0x00 };
	static const uint8_t tx[] = { 0x81, 0x00, 0x20, 0x00, 0x18 };
	struct fuzz_in in;
	struct snap_writer w;
	struct serial *s;
	struct i8042 *k;
	struct fcon con;
	uint8_t v;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	if (serial_create(-1, NULL, &s) || i8042_create(NULL, NULL, &k))
		abort();
	v = 0x83; /* LCR: 8 bits, DLAB */
	serial_bus_ops.write(s, SERIAL_LCR, &v, 1);
	v = 0x0c; /* divisor 12: 9600 baud */
	serial_bus_ops.write(s, SERIAL_DLL, &v, 1);
	v = 0x03;
	serial_bus_ops.write(s, SERIAL_LCR, &v, 1);
	v = 0x07; /* FIFOs on and cleared */
	serial_bus_ops.write(s, SERIAL_FCR, &v, 1);
	v = 0x0f;
	serial_bus_ops.write(s, SERIAL_IER, &v, 1);
	serial_input(s, "hello", 5);
	v = 0x20; /* read the command byte: a reply waits */
	i8042_cmd_bus_ops.write(k, 0, &v, 1);

	fcon_init(&con, FCON_OUT_PIPE);
	in = (struct fuzz_in){ up, sizeof(up) };
	fcon_bring_up(&con, &in);
	in = (struct fuzz_in){ rx, sizeof(rx) };
	fcon_post_chain(&con, &in);
	in = (struct fuzz_in){ tx, sizeof(tx) };
	fcon_post_chain(&con, &in);
	v = '!'; /* an emergency write */
	bus_write(&con.bus, MMIO_BASE + VMMIO_REG_CONFIG + 8, &v, 1);

	snap_writer_init(&w);
	add(&w, 0, &serial_device_ops, s);
	add(&w, 1, &i8042_device_ops, k);
	add(&w, 2, &vmmio_device_ops, con.t);
	put(argv[1], "devices", 0, &w);
	put(argv[1], "devices-fixed", 3, &w);
	snap_writer_fini(&w);

	snap_writer_init(&w);
	add(&w, 2, &vmmio_device_ops, con.t);
	put(argv[1], "console", 1, &w);
	snap_writer_fini(&w);

	snap_writer_init(&w);
	if (snap_writer_add(&w, SNAP_SEC_MACHINE, 0, "shape", 5) ||
	    snap_writer_add(&w, SNAP_SEC_VCPU, 0, "regs", 4))
		abort();
	add(&w, 0, &serial_device_ops, s);
	add(&w, 1, &i8042_device_ops, k);
	put(argv[1], "machine-serial-i8042", 1, &w);
	snap_writer_fini(&w);

	fcon_fini(&con);
	i8042_destroy(k);
	serial_destroy(s);
	return 0;
}
