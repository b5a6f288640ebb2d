/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the snapshot state file parser, then the devices'
 * restore operations on what it found. The machine section and the vCPU
 * and VM sections need KVM and are only parsed; device sections go to the
 * 8250 (id 0), the i8042 (id 1) and the virtio console behind its
 * transport (id 2 and up), each restore followed by the device's normal
 * work (output, input, polling, register reads) and a save and restore of
 * the result.
 *
 * Input: a flags byte, then the file. Flag 1 rewrites the file's trailer
 * to the right CRC-32 and flag 2 its payload length to what follows the
 * header, so that mutations get past those checks to the sections; seeds
 * written by the encoder are valid with or without them.
 *
 * Checks, besides the sanitizers': the parser's sections lie inside the
 * file and are found again by snap_find() and snap_next(); a device that
 * accepted a state saves it again, and its 8250 and i8042 restore that.
 */
#include <stdint.h>

#include <zlib.h>

#include "../../minivmm/devices/i8042.h"
#include "../../minivmm/devices/serial.h"
#include "../../minivmm/snapshot.h"
#include "fuzz_console.h"

#define HEADER_LEN 24 /* magic, version, flags, payload length */
#define LEN_OFF 16
#define TRAILER_LEN 4

struct devs {
	struct serial *s;
	struct i8042 *k;
	struct fcon con;
};

static void restore_serial(struct devs *d, struct state_rd *r)
{
	if (serial_device_ops.restore(d->s, r))
		return;
	serial_output(d->s);
	serial_input(d->s, "x", 1);
	fuzz_save_restore(&serial_device_ops, d->s, true);
}

static void restore_i8042(struct devs *d, struct state_rd *r)
{
	uint8_t v;

	if (i8042_device_ops.restore(d->k, r))
		return;
	i8042_data_bus_ops.read(d->k, 0, &v, 1);
	i8042_cmd_bus_ops.read(d->k, 0, &v, 1);
	fuzz_save_restore(&i8042_device_ops, d->k, true);
}

static void restore_console(struct devs *d, struct state_rd *r)
{
	struct fcon *x = &d->con;
	unsigned off;

	if (vmmio_device_ops.restore(x->t, r))
		return;
	vmmio_poll(x->t);
	vcon_output(x->c);
	fuzz_drain(x->rfd);
	vcon_output(x->c);
	vcon_input(x->c, "input", 5);
	for (off = 0; off < 0x110; off += 4)
		fcon_rd32(x, off);
	fcon_wr32(x, VMMIO_REG_QUEUE_NOTIFY, 1);
	fuzz_save_restore(&vmmio_device_ops, x->t, false);
}

static void check_sections(const struct snap_file *f, const uint8_t *buf,
			   size_t size)
{
	const struct snap_section *s;
	size_t i, n = 0;

	for (i = 0; i < f->count; i++) {
		s = &f->sections[i];
		if (s->data < buf + HEADER_LEN ||
		    s->len > (size_t)(buf + size - s->data))
			abort();
		if (snap_find(f, s->type, s->id) != s)
			abort();
	}
	for (s = snap_next(f, SNAP_SEC_DEVICE, NULL); s && n <= f->count;
	     s = snap_next(f, SNAP_SEC_DEVICE, s))
		n++;
	if (n > f->count)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t how = fuzz_u8(&in);
	struct snap_file f;
	struct state_rd r;
	struct devs d;
	uint8_t *buf;
	uint64_t plen;
	uint32_t crc;
	size_t i;

	/* snap_parse() takes a heap buffer of exactly the file's size. */
	buf = malloc(in.n ? in.n : 1);
	if (!buf)
		abort();
	memcpy(buf, in.p, in.n);
	if ((how & 2) && in.n >= HEADER_LEN + TRAILER_LEN) {
		plen = in.n - HEADER_LEN - TRAILER_LEN;
		memcpy(buf + LEN_OFF, &plen, sizeof(plen));
	}
	if ((how & 1) && in.n >= TRAILER_LEN) {
		crc = (uint32_t)crc32(crc32(0, NULL, 0), buf,
				      (uInt)(in.n - TRAILER_LEN));
		memcpy(buf + in.n - TRAILER_LEN, &crc, sizeof(crc));
	}
	if (snap_parse("fuzz.snap", buf, in.n, &f, NULL, 0))
		return 0; /* buf was freed */
	check_sections(&f, buf, in.n);

	if (serial_create(-1, NULL, &d.s) || i8042_create(NULL, NULL, &d.k))
		abort();
	fcon_init(&d.con, FCON_OUT_PIPE);
	for (i = 0; i < f.count; i++) {
		const struct snap_section *s = &f.sections[i];

		if (s->type != SNAP_SEC_DEVICE)
			continue;
		state_rd_init(&r, s->data, s->len);
		if (s->id == 0)
			restore_serial(&d, &r);
		else if (s->id == 1)
			restore_i8042(&d, &r);
		else
			restore_console(&d, &r);
	}
	fcon_fini(&d.con);
	i8042_destroy(d.k);
	serial_destroy(d.s);
	snap_file_fini(&f);
	return 0;
}
