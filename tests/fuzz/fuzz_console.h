/* SPDX-License-Identifier: MIT */
/*
 * fuzz_console.h - a virtio console behind its virtio-mmio transport on a
 * bus, on 64 KiB of guest memory and a read-only page, with a driver's
 * two shortcuts (bring-up and posting a chain); for the targets that
 * drive the console (fuzz_vmmio_console, fuzz_snapshot) and the tool
 * that writes the snapshot seeds.
 *
 * Guest memory: RAM [0, 0x10000), a read-only page at 0x20000. Queue q's
 * rings are at DESC_GPA(q), AVAIL_GPA(q) and USED_GPA(q); the buffers of
 * posted chains lie in [BUF_GPA, 0x10000).
 */
#ifndef TESTS_FUZZ_FUZZ_CONSOLE_H
#define TESTS_FUZZ_FUZZ_CONSOLE_H

#include <stdint.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>

#include "../../minivmm/bus.h"
#include "../../minivmm/devices/console.h"
#include "../../minivmm/virtio/mmio.h"
#include "../../minivmm/virtio/queue.h"
#include "fuzz.h"

#define MMIO_BASE 0xd0000000ull
#define RAM_LEN 0x10000ull
#define RO_GPA 0x20000ull /* one read-only page after a hole */
#define BUF_GPA 0x8000ull /* buffers of posted chains: [0x8000, 0x10000) */

/* Queue q's rings: descriptors, driver area, device area. */
#define DESC_GPA(q) (0x1000ull + 0x3000ull * (q))
#define AVAIL_GPA(q) (DESC_GPA(q) + 0x1000)
#define USED_GPA(q) (DESC_GPA(q) + 0x2000)

struct drvq {
	uint16_t size;
	uint16_t avail_idx;
	uint16_t next_desc;
};

struct fcon {
	struct vmmem *mem;
	struct vcon *c;
	struct vmmio *t;
	struct bus bus;
	int rfd, wfd;
	struct drvq q[2];
	unsigned irqs;
};

static inline void fcon_count(void *opaque)
{
	struct fcon *x = opaque;

	x->irqs++;
}

static inline uint32_t fcon_rd32(struct fcon *x, uint64_t off)
{
	uint32_t v = 0;

	bus_read(&x->bus, MMIO_BASE + off, &v, 4);
	return v;
}

static inline void fcon_wr32(struct fcon *x, uint64_t off, uint32_t v)
{
	bus_write(&x->bus, MMIO_BASE + off, &v, 4);
}

static inline void fcon_wr_gpa(struct fcon *x, uint64_t lo, uint64_t gpa)
{
	fcon_wr32(x, lo, (uint32_t)gpa);
	fcon_wr32(x, lo + 4, (uint32_t)(gpa >> 32));
}

/* What a driver does from reset to DRIVER_OK, with the input choosing the
 * features and queue sizes (a size the device refuses fails it). */
static inline void fcon_bring_up(struct fcon *x, struct fuzz_in *in)
{
	uint32_t status = VIRTIO_STATUS_ACKNOWLEDGE;
	uint8_t sizes = fuzz_u8(in);
	unsigned q;

	fcon_wr32(x, VMMIO_REG_STATUS, 0);
	fcon_wr32(x, VMMIO_REG_STATUS, status);
	status |= VIRTIO_STATUS_DRIVER;
	fcon_wr32(x, VMMIO_REG_STATUS, status);
	fcon_wr32(x, VMMIO_REG_DRIVER_FEATURES_SEL, 0);
	fcon_wr32(x, VMMIO_REG_DRIVER_FEATURES, fuzz_u32(in));
	fcon_wr32(x, VMMIO_REG_DRIVER_FEATURES_SEL, 1);
	fcon_wr32(x, VMMIO_REG_DRIVER_FEATURES, 1); /* VIRTIO_F_VERSION_1 */
	status |= VIRTIO_STATUS_FEATURES_OK;
	fcon_wr32(x, VMMIO_REG_STATUS, status);
	for (q = 0; q < 2; q++) {
		x->q[q].size = (uint16_t)(1u << ((sizes >> (4 * q)) % 9));
		x->q[q].avail_idx = 0;
		x->q[q].next_desc = 0;
		/* A driver zeroes its rings before handing them over. */
		vmmem_fill(x->mem, DESC_GPA(q), 0, 0x3000);
		fcon_wr32(x, VMMIO_REG_QUEUE_SEL, q);
		fcon_wr32(x, VMMIO_REG_QUEUE_SIZE, x->q[q].size);
		fcon_wr_gpa(x, VMMIO_REG_QUEUE_DESC_LOW, DESC_GPA(q));
		fcon_wr_gpa(x, VMMIO_REG_QUEUE_DRIVER_LOW, AVAIL_GPA(q));
		fcon_wr_gpa(x, VMMIO_REG_QUEUE_DEVICE_LOW, USED_GPA(q));
		fcon_wr32(x, VMMIO_REG_QUEUE_READY, 1);
	}
	fcon_wr32(x, VMMIO_REG_STATUS, status | VIRTIO_STATUS_DRIVER_OK);
}

/* Post a chain of one to four descriptors on queue q, as a driver would
 * (receive buffers device-writable, transmit ones not), and publish it. */
static inline void fcon_post_chain(struct fcon *x, struct fuzz_in *in)
{
	uint8_t how = fuzz_u8(in);
	unsigned q = how & 1, n = 1 + ((how >> 1) & 3), i;
	struct drvq *d = &x->q[q];
	uint16_t head, idx;

	if (!d->size)
		return;
	head = d->next_desc % d->size;
	for (i = 0; i < n; i++) {
		uint16_t slot = d->next_desc++ % d->size;
		uint16_t flags = q == 0 ? VIRTQ_DESC_F_WRITE : 0;
		uint8_t desc[16];
		uint64_t gpa = BUF_GPA + (fuzz_u16(in) & 0x7fff);
		uint32_t len = fuzz_u16(in) & 0x1fff;
		uint16_t next = d->next_desc % d->size;

		if (i + 1 < n)
			flags |= VIRTQ_DESC_F_NEXT;
		memcpy(desc, &gpa, 8);
		memcpy(desc + 8, &len, 4);
		memcpy(desc + 12, &flags, 2);
		memcpy(desc + 14, &next, 2);
		vmmem_write(x->mem, DESC_GPA(q) + 16ull * slot, desc, 16);
	}
	vmmem_write(x->mem, AVAIL_GPA(q) + 4 + 2ull * (d->avail_idx % d->size),
		    &head, 2);
	idx = ++d->avail_idx;
	vmmem_write(x->mem, AVAIL_GPA(q) + 2, &idx, 2);
	if (how & 0x80)
		fcon_wr32(x, VMMIO_REG_QUEUE_NOTIFY, q);
}

/* Where the console writes. */
enum fcon_out {
	FCON_OUT_NONE,	  /* out_fd -1: discarded */
	FCON_OUT_PIPE,	  /* a FUZZ_PIPE_SIZE pipe that fills up */
	FCON_OUT_DEVNULL, /* /dev/null: takes everything at once */
};

/*
 * Create the console writing to out, its transport and the bus. Aborts
 * when the host is out of resources.
 */
static inline void fcon_init(struct fcon *x, enum fcon_out out)
{
	struct vmmem_region *r[2] = { NULL };
	struct vmmio_irq irq = { fcon_count, x };
	int fds[2];

	memset(x, 0, sizeof(*x));
	x->rfd = x->wfd = -1;
	if (vmmem_region_create_anon(0, RAM_LEN, 0, &r[0]) ||
	    vmmem_region_create_anon(RO_GPA, 0x1000, VMMEM_REGION_READONLY,
				     &r[1]) ||
	    vmmem_create(r, 2, &x->mem))
		abort();
	vmmem_region_destroy(r[0]);
	vmmem_region_destroy(r[1]);
	if (out == FCON_OUT_PIPE) {
		if (fuzz_pipe(fds))
			abort();
		x->rfd = fds[0];
		x->wfd = fds[1];
	} else if (out == FCON_OUT_DEVNULL) {
		x->wfd = open("/dev/null", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (x->wfd < 0)
			abort();
	}
	if (vcon_create(x->mem, x->wfd, 80, 25, &x->c) ||
	    vmmio_create("console", &vcon_ops, x->c, x->mem, &irq, &x->t))
		abort();
	vcon_set_blocked_cb(x->c, fcon_count, x);
	bus_init(&x->bus);
	if (bus_register(&x->bus, MMIO_BASE, VMMIO_WINDOW, &vmmio_bus_ops,
			 x->t))
		abort();
}

static inline void fcon_fini(struct fcon *x)
{
	vmmio_destroy(x->t);
	vcon_destroy(x->c);
	if (x->rfd >= 0)
		close(x->rfd);
	if (x->wfd >= 0)
		close(x->wfd);
	vmmem_destroy(x->mem);
}

#endif /* TESTS_FUZZ_FUZZ_CONSOLE_H */
