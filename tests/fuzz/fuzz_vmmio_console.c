/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the virtio-mmio transport's register state machine
 * with the real console behind it, driven through a bus as a vCPU's
 * accesses arrive, on 64 KiB of guest memory (and a read-only page).
 *
 * The input is a program of operations: register reads and writes of any
 * size at any offset, rewrites of ring and descriptor memory between any
 * two accesses (a driver changing what the device already looked at: the
 * double-fetch cases), queue notifications through the register and the
 * ioeventfd path, vcon_output() and vcon_input(), draining the console's
 * output pipe (4 KiB, so that it blocks; the first byte may send output
 * to /dev/null or nowhere instead), resets, save and restore, and two
 * shortcuts a random program rarely finds: a whole driver bring-up and
 * the posting of a descriptor chain. Every operation does a bounded
 * amount of work, so an input runs in bounded time.
 *
 * Checks: the sanitizers' (memory safety, leaks, undefined behaviour),
 * that MagicValue always reads "virt", and that a save of the live device
 * always succeeds.
 */
#include <stdint.h>

#include "fuzz_console.h"

static void step(struct fcon *x, struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in);
	uint64_t v = 0, off;
	unsigned len;
	const uint8_t *p;
	size_t n;

	switch (op % 16) {
	case 0: /* an aligned control register */
		off = (fuzz_u8(in) % 64) * 4u;
		fcon_wr32(x, off, fuzz_u32(in));
		break;
	case 1: /* any size at any offset, configuration space included */
		off = fuzz_u16(in) % VMMIO_WINDOW;
		len = fuzz_access_len(in);
		v = fuzz_u64(in);
		bus_write(&x->bus, MMIO_BASE + off, &v, len);
		break;
	case 2:
		off = fuzz_u16(in) % VMMIO_WINDOW;
		len = fuzz_access_len(in);
		bus_read(&x->bus, MMIO_BASE + off, &v, len);
		break;
	case 3: /* rewrite guest memory, mostly the rings */
		off = fuzz_u16(in);
		if (!(op & 0x80))
			off %= BUF_GPA;
		p = fuzz_take(in, fuzz_u8(in) % 64, &n);
		vmmem_write(x->mem, off, p, n);
		break;
	case 4:
		fcon_wr32(x, VMMIO_REG_QUEUE_NOTIFY, fuzz_u8(in) % 4);
		break;
	case 5:
		vmmio_notify(x->t, (op >> 4) % vmmio_num_queues(x->t));
		break;
	case 6:
		vcon_output(x->c);
		break;
	case 7:
		p = fuzz_take(in, fuzz_u8(in), &n);
		if (vcon_input(x->c, p, n) > n)
			abort();
		break;
	case 8:
		if (x->rfd >= 0)
			fuzz_drain(x->rfd);
		break;
	case 9:
		if (op & 0x80)
			vmmio_device_ops.reset(x->t);
		else
			fcon_wr32(x, VMMIO_REG_STATUS, 0);
		break;
	case 10:
		/* The event loop's polling: looks, then (sometimes) the end
		 * of the quiet, which turns notifications on again. */
		vmmio_poll(x->t);
		if (op & 0x80)
			vmmio_unpoll(x->t);
		vcon_tx_waiting(x->c);
		vcon_input_ready(x->c);
		break;
	case 11:
		fuzz_save_restore(&vmmio_device_ops, x->t, false);
		break;
	case 12:
		fcon_bring_up(x, in);
		break;
	case 13:
		fcon_post_chain(x, in);
		break;
	case 14: /* a driver's index jumping anywhere after the fact */
		v = fuzz_u16(in);
		vmmem_write(x->mem, AVAIL_GPA((op >> 4) & 1) + 2, &v, 2);
		break;
	case 15:
		v = fuzz_u32(in);
		vcon_resize(x->c, (uint16_t)v, (uint16_t)(v >> 16));
		fcon_wr32(x, VMMIO_REG_INTERRUPT_ACK,
			  fcon_rd32(x, VMMIO_REG_INTERRUPT_STATUS));
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum fcon_out outs[] = { FCON_OUT_NONE, FCON_OUT_PIPE,
					      FCON_OUT_PIPE, FCON_OUT_DEVNULL };
	struct fuzz_in in = { data, size };
	struct fcon x;

	/* Output to a small pipe most of the time. */
	fcon_init(&x, outs[fuzz_u8(&in) % 4]);
	while (in.n) {
		step(&x, &in);
		if (fcon_rd32(&x, VMMIO_REG_MAGIC) != VMMIO_MAGIC)
			abort();
	}
	fcon_fini(&x);
	return 0;
}
