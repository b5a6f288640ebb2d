/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the i8042 keyboard controller's two ports through a
 * bus, as a guest drives them. The input is a program of operations: reads
 * and writes of any size at and around ports 0x60 and 0x64, resets, and a
 * save and restore of the whole state.
 *
 * Checks: the sanitizers', that a saved state always restores, and that
 * the status register never claims a busy input buffer (a guest polling
 * for it to clear would wait for ever).
 */
#include <stdint.h>

#include "../../minivmm/bus.h"
#include "../../minivmm/devices/i8042.h"
#include "fuzz.h"

struct ctx {
	struct i8042 *k;
	struct bus bus;
	unsigned resets;
};

static void count_reset(void *opaque)
{
	struct ctx *x = opaque;

	x->resets++;
}

static void step(struct ctx *x, struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in);
	/* Around each port, with the port between them unclaimed. */
	uint64_t port = (op & 0x10 ? I8042_CMD_PORT : I8042_DATA_PORT) - 1 +
			fuzz_u8(in) % 3;
	unsigned len = fuzz_access_len(in);
	uint64_t v = 0;

	switch (op % 4) {
	case 0:
		v = fuzz_u64(in);
		bus_write(&x->bus, port, &v, len);
		break;
	case 1:
		bus_read(&x->bus, port, &v, len);
		break;
	case 2:
		v = fuzz_u8(in);
		bus_write(&x->bus, op & 0x20 ? I8042_CMD_PORT : I8042_DATA_PORT,
			  &v, 1);
		break;
	case 3:
		if (op & 0x80)
			i8042_device_ops.reset(x->k);
		else
			fuzz_save_restore(&i8042_device_ops, x->k, true);
		break;
	}
	v = 0;
	bus_read(&x->bus, I8042_CMD_PORT, &v, 1);
	if (v & I8042_STR_IBF)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct ctx x = { 0 };

	if (i8042_create(count_reset, &x, &x.k))
		abort();
	bus_init(&x.bus);
	if (bus_register(&x.bus, I8042_DATA_PORT, 1, &i8042_data_bus_ops,
			 x.k) ||
	    bus_register(&x.bus, I8042_CMD_PORT, 1, &i8042_cmd_bus_ops, x.k))
		abort();
	while (in.n)
		step(&x, &in);
	i8042_destroy(x.k);
	return 0;
}
