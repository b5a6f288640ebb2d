/* SPDX-License-Identifier: MIT */
/*
 * Tests for minivmm/devices/console.c, end to end: a driver written here
 * sets the console up through the virtio-mmio registers on a bus, as a
 * guest would, places its rings and buffers in a libvmmem memory set, and
 * the test reads what comes out of a non-blocking pipe. No KVM.
 *
 * Guest memory: RAM [0, 0x100000) and a read-only region [0x200000,
 * 0x201000). The receive queue has its rings at 0x1000, 0x2000 and 0x3000,
 * the transmit queue at 0x4000, 0x5000 and 0x6000, both of size 16;
 * buffers are taken from 0x10000 up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmmem/atomic.h>
#include <vmmem/memory.h>
#include <vmmem/region.h>
#include <vmmem/scalar.h>

#include "../minivmm/bus.h"
#include "../minivmm/devices/console.h"
#include "../minivmm/devices/device.h"
#include "../minivmm/state.h"
#include "../minivmm/virtio/mmio.h"
#include "../minivmm/virtio/queue.h"
#include "sysmock.h"

#define MMIO_BASE 0xd0000000ull

#define RAM_LEN 0x100000ull
#define RO_GPA 0x200000ull
#define HOLE 0x300000ull
#define DATA_START 0x10000ull
/* STRIPES separate 4 KiB regions from STRIPE_GPA on: more than a chain's
 * writev gathers for one buffer. */
#define STRIPE_GPA 0x400000ull
#define STRIPES 80
#define QSIZE 16
#define RXQ 0
#define TXQ 1

#define F(bit) (1ull << (bit))
#define V1 F(VIRTIO_F_VERSION_1)
#define EIDX F(VIRTIO_F_EVENT_IDX)
#define FSIZE F(VIRTIO_CONSOLE_F_SIZE)
#define FEMERG F(VIRTIO_CONSOLE_F_EMERG_WRITE)

#define NEEDS_RESET VIRTIO_STATUS_NEEDS_RESET

/* The driver's side of one queue. */
struct drvq {
	vmmem_gpa_t desc, avail, used;
	uint16_t avail_idx;
	uint16_t next_desc;
};

struct fixture {
	struct vmmem *mem;
	int rfd, wfd; /* the pipe; the console writes wfd */
	struct vcon *c;
	struct vmmio *t;
	struct bus bus;
	unsigned irqs, blocked_calls;
	struct drvq q[2];
	vmmem_gpa_t data_next;
};

static void count_irq(void *opaque)
{
	struct fixture *f = opaque;

	f->irqs++;
}

static void count_blocked(void *opaque)
{
	struct fixture *f = opaque;

	f->blocked_calls++;
}

static void reset_driver_state(struct fixture *f)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		f->q[i].desc = 0x1000 + 0x3000ull * i;
		f->q[i].avail = f->q[i].desc + 0x1000;
		f->q[i].used = f->q[i].desc + 0x2000;
		f->q[i].avail_idx = 0;
		f->q[i].next_desc = 0;
	}
	/* A driver zeroes its rings before handing them over. */
	assert_int_equal(vmmem_fill(f->mem, 0x1000, 0, 0x6000), 0);
	f->data_next = DATA_START;
}

/* Where the fixture's console writes. */
enum out { OUT_NONE, OUT_PIPE, OUT_DEVNULL };

static int make_fixture(void **state, enum out out)
{
	struct vmmem_region *r[2 + STRIPES] = { NULL };
	struct fixture *f = calloc(1, sizeof(*f));
	struct vmmio_irq irq;
	int fds[2];
	unsigned i;

	if (!f)
		return -1;
	f->rfd = f->wfd = -1;
	if (vmmem_region_create_anon(0, RAM_LEN, 0, &r[0]) ||
	    vmmem_region_create_anon(RO_GPA, 0x1000, VMMEM_REGION_READONLY,
				     &r[1]))
		goto err;
	for (i = 0; i < STRIPES; i++)
		if (vmmem_region_create_anon(STRIPE_GPA + i * 0x1000, 0x1000,
					     0, &r[2 + i]))
			goto err;
	if (vmmem_create(r, 2 + STRIPES, &f->mem))
		goto err;
	if (out == OUT_PIPE) {
		if (pipe2(fds, O_NONBLOCK | O_CLOEXEC))
			goto err;
		f->rfd = fds[0];
		f->wfd = fds[1];
	} else if (out == OUT_DEVNULL) {
		f->wfd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (f->wfd < 0)
			goto err;
	}
	if (vcon_create(f->mem, f->wfd, 80, 25, &f->c))
		goto err;
	irq.raise = count_irq;
	irq.opaque = f;
	if (vmmio_create("console", &vcon_ops, f->c, f->mem, &irq, &f->t))
		goto err;
	vcon_set_blocked_cb(f->c, count_blocked, f);
	bus_init(&f->bus);
	if (bus_register(&f->bus, MMIO_BASE, VMMIO_WINDOW, &vmmio_bus_ops,
			 f->t))
		goto err;
	for (i = 0; i < 2 + STRIPES; i++)
		vmmem_region_destroy(r[i]);
	*state = f;
	return 0;

err:
	vmmio_destroy(f->t);
	vcon_destroy(f->c);
	if (f->rfd >= 0)
		close(f->rfd);
	if (f->wfd >= 0)
		close(f->wfd);
	vmmem_destroy(f->mem);
	for (i = 0; i < 2 + STRIPES; i++)
		vmmem_region_destroy(r[i]);
	free(f);
	return -1;
}

static int setup(void **state)
{
	return make_fixture(state, OUT_PIPE);
}

static int setup_discard(void **state)
{
	return make_fixture(state, OUT_NONE);
}

/* Output to /dev/null: always writable, takes any amount at once. */
static int setup_devnull(void **state)
{
	return make_fixture(state, OUT_DEVNULL);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmmio_destroy(f->t);
	vcon_destroy(f->c);
	if (f->rfd >= 0)
		close(f->rfd);
	if (f->wfd >= 0)
		close(f->wfd);
	vmmem_destroy(f->mem);
	free(f);
	return 0;
}

/* Registers, through the bus as a vCPU's access would arrive. */

static uint32_t rd(struct fixture *f, uint64_t off)
{
	uint32_t v = 0;

	assert_int_equal(bus_read(&f->bus, MMIO_BASE + off, &v, 4), 0);
	return le32toh(v);
}

static uint16_t rd16(struct fixture *f, uint64_t off)
{
	uint16_t v = 0;

	assert_int_equal(bus_read(&f->bus, MMIO_BASE + off, &v, 2), 0);
	return le16toh(v);
}

static void wr(struct fixture *f, uint64_t off, uint32_t val)
{
	uint32_t v = htole32(val);

	assert_int_equal(bus_write(&f->bus, MMIO_BASE + off, &v, 4), 0);
}

static void emerg(struct fixture *f, unsigned char ch)
{
	assert_int_equal(bus_write(&f->bus, MMIO_BASE + VMMIO_REG_CONFIG + 8, &ch, 1),
			 0);
}

static bool needs_reset(struct fixture *f)
{
	return rd(f, VMMIO_REG_STATUS) & NEEDS_RESET;
}

static void setup_queue(struct fixture *f, unsigned q)
{
	wr(f, VMMIO_REG_QUEUE_SEL, q);
	wr(f, VMMIO_REG_QUEUE_SIZE, QSIZE);
	wr(f, VMMIO_REG_QUEUE_DESC_LOW, (uint32_t)f->q[q].desc);
	wr(f, VMMIO_REG_QUEUE_DRIVER_LOW, (uint32_t)f->q[q].avail);
	wr(f, VMMIO_REG_QUEUE_DEVICE_LOW, (uint32_t)f->q[q].used);
	wr(f, VMMIO_REG_QUEUE_READY, 1);
}

static void bring_up(struct fixture *f, uint64_t features)
{
	reset_driver_state(f);
	wr(f, VMMIO_REG_STATUS, 1);
	wr(f, VMMIO_REG_STATUS, 3);
	wr(f, VMMIO_REG_DRIVER_FEATURES_SEL, 0);
	wr(f, VMMIO_REG_DRIVER_FEATURES, (uint32_t)features);
	wr(f, VMMIO_REG_DRIVER_FEATURES_SEL, 1);
	wr(f, VMMIO_REG_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(f, VMMIO_REG_STATUS, 11);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), 11);
	setup_queue(f, RXQ);
	setup_queue(f, TXQ);
	wr(f, VMMIO_REG_STATUS, 15);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), 15);
}

/* The guest's memory work. */

static vmmem_gpa_t buf_alloc(struct fixture *f, size_t len)
{
	vmmem_gpa_t gpa;

	if (f->data_next + len > RAM_LEN)
		f->data_next = DATA_START;
	gpa = f->data_next;
	f->data_next += (len + 15) & ~15ull;
	return gpa;
}

struct seg {
	vmmem_gpa_t gpa;
	uint32_t len;
	bool write;
};

/* Make a chain of the segments available on queue qi; returns its head. */
static uint16_t chain_add(struct fixture *f, unsigned qi,
			  const struct seg *segs, unsigned n)
{
	struct drvq *q = &f->q[qi];
	uint16_t head = q->next_desc;
	unsigned i;

	for (i = 0; i < n; i++) {
		uint16_t d = (head + i) % QSIZE;
		struct {
			uint64_t addr;
			uint32_t len;
			uint16_t flags;
			uint16_t next;
		} desc = {
			htole64(segs[i].gpa),
			htole32(segs[i].len),
			htole16((segs[i].write ? VIRTQ_DESC_F_WRITE : 0) |
				(i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			htole16((d + 1) % QSIZE),
		};

		assert_int_equal(
			vmmem_write_obj(f->mem, q->desc + 16ull * d, &desc), 0);
	}
	q->next_desc = (head + n) % QSIZE;
	assert_int_equal(
		vmmem_write_le16(f->mem,
				 q->avail + 4 + 2 * (q->avail_idx % QSIZE),
				 head),
		0);
	q->avail_idx++;
	/* Release: the descriptors and the entry before the index. */
	assert_int_equal(vmmem_atomic_store_u16(f->mem, q->avail + 2,
						htole16(q->avail_idx),
						memory_order_release),
			 0);
	return head;
}

/* Send len bytes of data in nbufs readable buffers; returns the head. */
static uint16_t tx_queue(struct fixture *f, const void *data, size_t len,
			 unsigned nbufs)
{
	struct seg segs[QSIZE];
	size_t off = 0;
	unsigned i;

	assert_true(nbufs >= 1 && nbufs <= QSIZE);
	for (i = 0; i < nbufs; i++) {
		size_t n = (len - off) / (nbufs - i);

		segs[i].len = n;
		segs[i].gpa = buf_alloc(f, n);
		segs[i].write = false;
		assert_int_equal(vmmem_write(f->mem, segs[i].gpa,
					     (const char *)data + off, n),
				 0);
		off += n;
	}
	return chain_add(f, TXQ, segs, nbufs);
}

static uint16_t tx_send(struct fixture *f, const void *data, size_t len,
			unsigned nbufs)
{
	uint16_t head = tx_queue(f, data, len, nbufs);

	wr(f, VMMIO_REG_QUEUE_NOTIFY, TXQ);
	return head;
}

/* Post one receive chain of one writable buffer; returns its address. */
static vmmem_gpa_t rx_post(struct fixture *f, uint32_t len)
{
	struct seg s = { buf_alloc(f, len), len, true };

	chain_add(f, RXQ, &s, 1);
	return s.gpa;
}

static uint16_t used_idx(struct fixture *f, unsigned qi)
{
	uint16_t v = 0;

	assert_int_equal(vmmem_read_le16(f->mem, f->q[qi].used + 2, &v), 0);
	return v;
}

static void used_elem(struct fixture *f, unsigned qi, uint16_t slot,
		      uint32_t *id, uint32_t *len)
{
	vmmem_gpa_t e = f->q[qi].used + 4 + 8ull * (slot % QSIZE);

	assert_int_equal(vmmem_read_le32(f->mem, e, id), 0);
	assert_int_equal(vmmem_read_le32(f->mem, e + 4, len), 0);
}

/* The host's side. */

static bool output(struct fixture *f)
{
	bool blocked;

	blocked = vcon_output(f->c);
	return blocked;
}

static size_t input(struct fixture *f, const void *buf, size_t len)
{
	size_t n;

	n = vcon_input(f->c, buf, len);
	return n;
}

static bool input_ready(struct fixture *f)
{
	bool ready;

	ready = vcon_input_ready(f->c);
	return ready;
}

static bool blocked(struct fixture *f)
{
	bool b;

	b = vcon_output_blocked(f->c);
	return b;
}

/* Everything in the pipe now, appended at out[*got]. */
static void drain(struct fixture *f, unsigned char *out, size_t cap,
		  size_t *got)
{
	for (;;) {
		ssize_t n = read(f->rfd, out + *got, cap - *got);

		if (n <= 0) {
			assert_true(n < 0 && errno == EAGAIN);
			return;
		}
		*got += n;
		assert_true(*got < cap);
	}
}

/* Shrink the pipe and fill it; returns how many 'x' bytes it holds. */
static size_t fill_pipe(struct fixture *f)
{
	static const char xs[512] = { [0 ... 511] = 'x' };
	size_t filled = 0;

	assert_true(fcntl(f->wfd, F_SETPIPE_SZ, 4096) >= 4096);
	for (;;) {
		ssize_t n = write(f->wfd, xs, sizeof(xs));

		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			break;
		}
		filled += n;
	}
	/* Small writes may fit in a pipe that refused a big one: fill
	 * byte by byte too. */
	while (write(f->wfd, xs, 1) == 1)
		filled++;
	return filled;
}

/* Read and resume until the console is no longer blocked. */
static void drain_until_done(struct fixture *f, unsigned char *out, size_t cap,
			     size_t *got)
{
	unsigned rounds;

	for (rounds = 0; rounds < 100000; rounds++) {
		drain(f, out, cap, got);
		if (!output(f)) {
			drain(f, out, cap, got);
			return;
		}
	}
	fail_msg("output never finished");
}

static void pattern(unsigned char *buf, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 31 + i / 256 + seed * 7 + 1);
}

static void assert_all(const unsigned char *buf, size_t len, unsigned char c)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != c)
			fail_msg("byte %zu is %#x, not %#x", i, buf[i], c);
}

/* Identification and configuration. */

static void test_vcon_identifies_as_console(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, VMMIO_REG_DEVICE_ID), VIRTIO_ID_CONSOLE);
	assert_int_equal(rd(f, VMMIO_REG_DEVICE_FEATURES),
			 (uint32_t)(FSIZE | FEMERG | EIDX));
	wr(f, VMMIO_REG_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(f, VMMIO_REG_DEVICE_FEATURES), V1 >> 32);
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_SIZE_MAX), VIRTQ_MAX_SIZE);
	wr(f, VMMIO_REG_QUEUE_SEL, 1);
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_SIZE_MAX), VIRTQ_MAX_SIZE);
	wr(f, VMMIO_REG_QUEUE_SEL, 2);
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_SIZE_MAX), 0);
}

static void test_vcon_config_space_holds_size(void **state)
{
	struct fixture *f = *state;
	uint8_t b = 0;

	assert_int_equal(rd16(f, VMMIO_REG_CONFIG + 0), 80);
	assert_int_equal(rd16(f, VMMIO_REG_CONFIG + 2), 25);
	assert_int_equal(rd(f, VMMIO_REG_CONFIG + 0), 80 | 25 << 16);
	assert_int_equal(rd(f, VMMIO_REG_CONFIG + 4), 0);  /* max_nr_ports */
	assert_int_equal(rd(f, VMMIO_REG_CONFIG + 8), 0);  /* emerg_wr */
	assert_int_equal(rd(f, VMMIO_REG_CONFIG + 10), 0); /* runs past it */
	assert_int_equal(rd(f, VMMIO_REG_CONFIG + 12), 0); /* past the end */
	assert_int_equal(bus_read(&f->bus, MMIO_BASE + VMMIO_REG_CONFIG + 1, &b, 1),
			 0);
	assert_int_equal(b, 0);
	/* Read-only fields stay as they are. */
	wr(f, VMMIO_REG_CONFIG, 0x12345678);
	assert_int_equal(rd16(f, VMMIO_REG_CONFIG + 0), 80);
}

static void test_vcon_resize_raises_config_interrupt(void **state)
{
	struct fixture *f = *state;
	uint32_t gen;

	bring_up(f, V1 | FSIZE);
	gen = rd(f, VMMIO_REG_CONFIG_GENERATION);
	vcon_resize(f->c, 132, 43);
	assert_int_not_equal(rd(f, VMMIO_REG_CONFIG_GENERATION), gen);
	assert_int_equal(rd(f, VMMIO_REG_INTERRUPT_STATUS) & 2, 2);
	assert_int_equal(f->irqs, 1);
	assert_int_equal(rd16(f, VMMIO_REG_CONFIG + 0), 132);
	assert_int_equal(rd16(f, VMMIO_REG_CONFIG + 2), 43);
}

static void test_vcon_resize_without_f_size_only_updates_values(void **state)
{
	struct fixture *f = *state;
	uint32_t gen;

	bring_up(f, V1);
	gen = rd(f, VMMIO_REG_CONFIG_GENERATION);
	vcon_resize(f->c, 100, 30);
	assert_int_equal(rd(f, VMMIO_REG_CONFIG_GENERATION), gen);
	assert_int_equal(f->irqs, 0);
	assert_int_equal(rd16(f, VMMIO_REG_CONFIG + 0), 100);
	assert_int_equal(rd16(f, VMMIO_REG_CONFIG + 2), 30);
}

/* Transmit. */

static void test_vcon_transmits_chain_to_out_fd(void **state)
{
	static const char msg[] = "hello, world\n";
	struct fixture *f = *state;
	unsigned char out[64];
	size_t got = 0;
	uint32_t id, len;
	uint16_t head;

	bring_up(f, V1);
	head = tx_send(f, msg, strlen(msg), 3);
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, strlen(msg));
	assert_memory_equal(out, msg, got);
	assert_int_equal(used_idx(f, TXQ), 1);
	used_elem(f, TXQ, 0, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
	assert_int_equal(f->irqs, 1);
	assert_int_equal(rd(f, VMMIO_REG_INTERRUPT_STATUS), 1);
	assert_false(blocked(f));
	assert_int_equal(vcon_bytes_out(f->c), strlen(msg));
}

/*
 * A buffer over more regions than one writev gathers still goes out whole
 * and in order, as do the buffers before and after it in the chain.
 */
static void test_vcon_transmits_buffer_over_many_regions(void **state)
{
	static unsigned char data[STRIPES * 0x1000 + 200], out[sizeof(data) + 64];
	struct fixture *f = *state;
	struct seg segs[3];
	size_t got = 0;

	bring_up(f, V1);
	pattern(data, sizeof(data), 7);
	segs[0] = (struct seg){ buf_alloc(f, 100), 100, false };
	segs[1] = (struct seg){ STRIPE_GPA, STRIPES * 0x1000, false };
	segs[2] = (struct seg){ buf_alloc(f, 100), 100, false };
	assert_int_equal(vmmem_write(f->mem, segs[0].gpa, data, 100), 0);
	assert_int_equal(vmmem_write(f->mem, STRIPE_GPA, data + 100,
				     STRIPES * 0x1000),
			 0);
	assert_int_equal(vmmem_write(f->mem, segs[2].gpa,
				     data + 100 + STRIPES * 0x1000, 100),
			 0);
	chain_add(f, TXQ, segs, 3);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, TXQ);
	drain_until_done(f, out, sizeof(out), &got);
	assert_int_equal(got, sizeof(data));
	assert_memory_equal(out, data, sizeof(data));
	assert_int_equal(used_idx(f, TXQ), 1);
	assert_false(needs_reset(f));
}

static void test_vcon_transmits_many_chains_in_order(void **state)
{
	struct fixture *f = *state;
	unsigned char data[10][100], out[2048];
	size_t got = 0;
	unsigned i;

	bring_up(f, V1 | EIDX);
	for (i = 0; i < 10; i++) {
		pattern(data[i], sizeof(data[i]), i);
		/* 15 descriptors in all: they fit the queue at once. */
		tx_queue(f, data[i], sizeof(data[i]), 1 + i % 2);
	}
	wr(f, VMMIO_REG_QUEUE_NOTIFY, TXQ);
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, sizeof(data));
	assert_memory_equal(out, data, sizeof(data));
	assert_int_equal(used_idx(f, TXQ), 10);
}

static void test_vcon_transmits_chains_posted_before_driver_ok(void **state)
{
	static const char msg[] = "early";
	struct fixture *f = *state;
	unsigned char out[16];
	size_t got = 0;

	/* The notification is dropped before DRIVER_OK; activation looks
	 * at the queue anyway. */
	reset_driver_state(f);
	wr(f, VMMIO_REG_STATUS, 1);
	wr(f, VMMIO_REG_STATUS, 3);
	wr(f, VMMIO_REG_DRIVER_FEATURES_SEL, 1);
	wr(f, VMMIO_REG_DRIVER_FEATURES, 1);
	wr(f, VMMIO_REG_STATUS, 11);
	setup_queue(f, RXQ);
	setup_queue(f, TXQ);
	tx_send(f, msg, 5, 1);
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, 0);
	wr(f, VMMIO_REG_STATUS, 15);
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, 5);
	assert_memory_equal(out, msg, 5);
}

static void test_vcon_back_pressure_keeps_every_byte_in_order(void **state)
{
	enum { A_LEN = 10000, B_LEN = 3000 };
	struct fixture *f = *state;
	static unsigned char a[A_LEN], b[B_LEN], out[64 * 1024];
	size_t filled, got = 0;
	uint16_t ha, hb;
	uint32_t id, len;

	pattern(a, A_LEN, 1);
	pattern(b, B_LEN, 2);
	bring_up(f, V1);
	filled = fill_pipe(f);
	ha = tx_send(f, a, A_LEN, 3);
	/* Nothing fit: the chain is held, not returned. */
	assert_true(blocked(f));
	assert_int_equal(f->blocked_calls, 1);
	assert_int_equal(used_idx(f, TXQ), 0);
	/* A second chain waits in the queue behind it. */
	hb = tx_send(f, b, B_LEN, 2);
	assert_int_equal(used_idx(f, TXQ), 0);
	assert_int_equal(f->blocked_calls, 1);

	drain_until_done(f, out, sizeof(out), &got);
	assert_int_equal(got, filled + A_LEN + B_LEN);
	assert_all(out, filled, 'x');
	assert_memory_equal(out + filled, a, A_LEN);
	assert_memory_equal(out + filled + A_LEN, b, B_LEN);
	assert_int_equal(used_idx(f, TXQ), 2);
	used_elem(f, TXQ, 0, &id, &len);
	assert_int_equal(id, ha);
	used_elem(f, TXQ, 1, &id, &len);
	assert_int_equal(id, hb);
	assert_int_equal(vcon_bytes_out(f->c), A_LEN + B_LEN);
	assert_false(blocked(f));
}

static void test_vcon_partial_write_resumes_mid_buffer(void **state)
{
	enum { LEN = 6000 };
	struct fixture *f = *state;
	static unsigned char a[LEN], out[64 * 1024];
	size_t filled, got = 0, step = 0;

	pattern(a, LEN, 3);
	bring_up(f, V1);
	filled = fill_pipe(f);
	tx_send(f, a, LEN, 1);
	assert_true(blocked(f));
	/* Make room for a little at a time: the device goes on from the
	 * byte it reached, inside one buffer. */
	while (got < filled + LEN && step++ < 100000) {
		unsigned char tmp[700];
		ssize_t n = read(f->rfd, tmp, sizeof(tmp));

		if (n > 0) {
			memcpy(out + got, tmp, n);
			got += n;
		}
		output(f);
	}
	assert_int_equal(got, filled + LEN);
	assert_memory_equal(out + filled, a, LEN);
	assert_int_equal(used_idx(f, TXQ), 1);
}

static void test_vcon_notify_while_blocked_does_not_write(void **state)
{
	struct fixture *f = *state;
	unsigned char out[8192];
	size_t filled, got = 0;

	bring_up(f, V1);
	filled = fill_pipe(f);
	tx_send(f, "abc", 3, 1);
	assert_true(blocked(f));
	/* Room appears, but only vcon_output() (EPOLLOUT) resumes. */
	drain(f, out, sizeof(out), &got);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, TXQ);
	assert_int_equal(used_idx(f, TXQ), 0);
	assert_false(output(f));
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, filled + 3);
	assert_memory_equal(out + filled, "abc", 3);
}

struct guest_thread {
	struct fixture *f;
	unsigned chains;
	unsigned char data[200][50];
};

/* A second "vCPU" that keeps the transmit queue full. */
static void *guest_refill(void *arg)
{
	struct guest_thread *g = arg;
	struct fixture *f = g->f;
	unsigned i;

	for (i = 0; i < g->chains; i++) {
		uint16_t used;

		/* Wait for a free descriptor (one per chain). */
		for (;;) {
			assert_int_equal(vmmem_atomic_load_u16(
						 f->mem, f->q[TXQ].used + 2,
						 &used, memory_order_acquire),
					 0);
			if ((uint16_t)(i - le16toh(used)) < QSIZE)
				break;
			sched_yield();
		}
		tx_queue(f, g->data[i], sizeof(g->data[i]), 1);
	}
	return NULL;
}

static void test_vcon_yields_after_a_queue_of_chains(void **state)
{
	struct fixture *f = *state;
	static struct guest_thread g;
	static unsigned char out[sizeof(g.data) + 4096];
	size_t got = 0;
	unsigned i, rounds = 0;
	pthread_t th;

	bring_up(f, V1);
	g.f = f;
	g.chains = sizeof(g.data) / sizeof(g.data[0]);
	for (i = 0; i < g.chains; i++)
		pattern(g.data[i], sizeof(g.data[i]), i);
	assert_int_equal(pthread_create(&th, NULL, guest_refill, &g), 0);
	while (got < sizeof(g.data) && rounds++ < 1000000) {
		uint16_t before = used_idx(f, TXQ);

		output(f);
		/* However fast the guest refills, one call takes at most a
		 * queue's worth. */
		assert_true((uint16_t)(used_idx(f, TXQ) - before) <= QSIZE);
		drain(f, out, sizeof(out), &got);
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(got, sizeof(g.data));
	assert_memory_equal(out, g.data, sizeof(g.data));
}

/* The same guest, output discarded: the bound holds there too. */
static void test_vcon_discarding_yields_after_a_queue_of_chains(void **state)
{
	struct fixture *f = *state;
	static struct guest_thread g;
	unsigned i, rounds = 0;
	pthread_t th;

	bring_up(f, V1);
	g.f = f;
	g.chains = sizeof(g.data) / sizeof(g.data[0]);
	for (i = 0; i < g.chains; i++)
		pattern(g.data[i], sizeof(g.data[i]), i);
	assert_int_equal(pthread_create(&th, NULL, guest_refill, &g), 0);
	while (used_idx(f, TXQ) != (uint16_t)g.chains && rounds++ < 1000000) {
		uint16_t before = used_idx(f, TXQ);

		output(f);
		assert_true((uint16_t)(used_idx(f, TXQ) - before) <= QSIZE);
		/* The slice ran out only if chains are still waiting. */
		if (vcon_output_more(f->c))
			assert_true(vcon_tx_waiting(f->c));
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(used_idx(f, TXQ), (uint16_t)g.chains);
	assert_int_equal(vcon_bytes_out(f->c), 0);
}

/*
 * One call writes at most VCON_SLICE_BYTES, however long the chain: here
 * 16 buffers of 512 KiB (the same guest memory each time), to an output
 * that would take it all at once. The rest follows call by call.
 */
static void test_vcon_one_call_writes_at_most_a_slice(void **state)
{
	struct fixture *f = *state;
	const uint32_t len = 512 * 1024;
	const uint64_t total = 16ull * len;
	struct seg segs[QSIZE];
	uint64_t before = 0;
	unsigned i, calls = 0;

	bring_up(f, V1);
	for (i = 0; i < QSIZE; i++)
		segs[i] = (struct seg){ .gpa = 0x80000, .len = len };
	chain_add(f, TXQ, segs, QSIZE);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, TXQ);
	for (;;) {
		uint64_t now = vcon_bytes_out(f->c);

		assert_true(now - before <= VCON_SLICE_BYTES);
		before = now;
		if (!vcon_output_more(f->c))
			break;
		assert_int_equal(used_idx(f, TXQ), 0);
		assert_false(blocked(f));
		assert_true(++calls <= total / VCON_SLICE_BYTES);
		output(f);
	}
	assert_int_equal(vcon_bytes_out(f->c), total);
	assert_int_equal(calls, total / VCON_SLICE_BYTES - 1);
	assert_int_equal(used_idx(f, TXQ), 1);
	/* The notify callback heard of each slice that ran out outside
	 * vcon_output(): the one in the notification. */
	assert_int_equal(f->blocked_calls, 1);
}

/* Receive. */

static void test_vcon_input_fills_posted_buffers_in_order(void **state)
{
	static const char in[] = "0123456789abcdefXYZ";
	struct fixture *f = *state;
	vmmem_gpa_t b0, b1;
	char got[8];
	uint32_t id, len;

	bring_up(f, V1);
	b0 = rx_post(f, 8);
	b1 = rx_post(f, 8);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, RXQ);
	assert_true(input_ready(f));
	/* 19 bytes offered, 16 fit. */
	assert_int_equal(input(f, in, 19), 16);
	assert_int_equal(used_idx(f, RXQ), 2);
	used_elem(f, RXQ, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 8);
	used_elem(f, RXQ, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(len, 8);
	assert_int_equal(vmmem_read(f->mem, b0, got, 8), 0);
	assert_memory_equal(got, in, 8);
	assert_int_equal(vmmem_read(f->mem, b1, got, 8), 0);
	assert_memory_equal(got, in + 8, 8);
	assert_int_equal(f->irqs, 1);
	/* Nothing posted any more: nothing accepted. */
	assert_false(input_ready(f));
	assert_int_equal(input(f, in + 16, 3), 0);
}

static void test_vcon_input_returns_partly_filled_buffer(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;
	vmmem_gpa_t b;
	char got[5];

	bring_up(f, V1);
	b = rx_post(f, 64);
	rx_post(f, 64);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, RXQ);
	assert_int_equal(input(f, "hello", 5), 5);
	assert_int_equal(used_idx(f, RXQ), 1);
	used_elem(f, RXQ, 0, &id, &len);
	assert_int_equal(len, 5);
	assert_int_equal(vmmem_read(f->mem, b, got, 5), 0);
	assert_memory_equal(got, "hello", 5);
	/* The next input goes to the next buffer. */
	assert_int_equal(input(f, "!", 1), 1);
	used_elem(f, RXQ, 1, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(len, 1);
}

static void test_vcon_input_spans_buffers_of_one_chain(void **state)
{
	struct fixture *f = *state;
	struct seg s[3] = {
		{ 0x20000, 4, true },
		{ 0x20100, 0, true },
		{ 0x20200, 4, true },
	};
	uint32_t id, len;
	char got[4];

	bring_up(f, V1);
	chain_add(f, RXQ, s, 3);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, RXQ);
	assert_int_equal(input(f, "abcdefgh-", 9), 8);
	used_elem(f, RXQ, 0, &id, &len);
	assert_int_equal(len, 8);
	assert_int_equal(vmmem_read(f->mem, 0x20200, got, 4), 0);
	assert_memory_equal(got, "efgh", 4);
}

static void test_vcon_input_without_buffers_accepts_nothing(void **state)
{
	struct fixture *f = *state;

	/* Not even set up. */
	assert_int_equal(input(f, "x", 1), 0);
	assert_false(input_ready(f));
	bring_up(f, V1);
	assert_int_equal(input(f, "x", 1), 0);
	assert_int_equal(input(f, "x", 0), 0);
	assert_false(input_ready(f));
}

static void test_vcon_input_finds_buffers_posted_without_notify(void **state)
{
	struct fixture *f = *state;

	bring_up(f, V1);
	rx_post(f, 8);
	assert_true(input_ready(f));
	assert_int_equal(input(f, "ab", 2), 2);
}

static void
test_vcon_readable_buffer_on_receive_queue_fails_at_notify(void **state)
{
	struct fixture *f = *state;
	struct seg s = { 0x20000, 16, false };

	bring_up(f, V1);
	chain_add(f, RXQ, &s, 1);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, RXQ);
	/* Found at once, with no input needed. */
	assert_true(needs_reset(f));
	assert_int_equal(rd(f, VMMIO_REG_INTERRUPT_STATUS) & 2, 2);
	assert_int_equal(f->irqs, 1);
	assert_false(input_ready(f));
	assert_int_equal(input(f, "x", 1), 0);
}

static void test_vcon_receive_buffer_in_readonly_memory_fails(void **state)
{
	struct fixture *f = *state;
	struct seg s = { RO_GPA, 16, true };

	bring_up(f, V1);
	chain_add(f, RXQ, &s, 1);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, RXQ);
	assert_false(needs_reset(f));
	assert_int_equal(input(f, "x", 1), 0);
	assert_true(needs_reset(f));
	assert_int_equal(used_idx(f, RXQ), 0);
}

static void test_vcon_malformed_receive_chain_fails(void **state)
{
	struct fixture *f = *state;
	struct seg s = { HOLE, 16, true };

	bring_up(f, V1);
	chain_add(f, RXQ, &s, 1);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, RXQ);
	assert_true(needs_reset(f));
}

static void test_vcon_writable_buffer_on_transmit_queue_fails(void **state)
{
	struct fixture *f = *state;
	struct seg s[2] = { { 0x20000, 4, false }, { 0x20100, 4, true } };
	unsigned char out[16];
	size_t got = 0;

	bring_up(f, V1);
	chain_add(f, TXQ, s, 2);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, TXQ);
	assert_true(needs_reset(f));
	assert_int_equal(f->irqs, 1);
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, 0);
	assert_int_equal(used_idx(f, TXQ), 0);
	/* Stopped: later chains are not sent. */
	tx_send(f, "late", 4, 1);
	assert_false(output(f));
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, 0);
}

static void test_vcon_malformed_transmit_chain_fails(void **state)
{
	struct fixture *f = *state;
	struct seg s = { HOLE, 4, false };

	bring_up(f, V1);
	chain_add(f, TXQ, &s, 1);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, TXQ);
	assert_true(needs_reset(f));
	assert_int_equal(used_idx(f, TXQ), 0);
}

/* Emergency writes. */

static void test_vcon_emergency_write_outputs_low_byte(void **state)
{
	struct fixture *f = *state;
	unsigned char out[16];
	size_t got = 0;

	/* Allowed on an unconfigured device. */
	emerg(f, 'O');
	wr(f, VMMIO_REG_CONFIG + 8, 0x12345600 | 'K');
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, 2);
	assert_memory_equal(out, "OK", 2);
	/* Other offsets are not emerg_wr. */
	wr(f, VMMIO_REG_CONFIG + 4, 'X');
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, 2);
}

static void test_vcon_emergency_write_waits_behind_blocked_output(void **state)
{
	enum { A_LEN = 5000 };
	struct fixture *f = *state;
	static unsigned char a[A_LEN], out[32 * 1024];
	size_t filled, got = 0;

	pattern(a, A_LEN, 4);
	bring_up(f, V1);
	filled = fill_pipe(f);
	tx_send(f, a, A_LEN, 2);
	emerg(f, 'E');
	tx_send(f, "later", 5, 1);
	emerg(f, 'F');
	drain_until_done(f, out, sizeof(out), &got);
	assert_int_equal(got, filled + A_LEN + 2 + 5);
	assert_memory_equal(out + filled, a, A_LEN);
	assert_memory_equal(out + filled + A_LEN, "EFlater", 7);
}

static void test_vcon_emergency_write_into_full_pipe_is_kept(void **state)
{
	struct fixture *f = *state;
	static unsigned char out[16 * 1024];
	size_t filled, got = 0;

	filled = fill_pipe(f);
	emerg(f, '1');
	assert_true(blocked(f));
	assert_int_equal(f->blocked_calls, 1);
	emerg(f, '2');
	drain_until_done(f, out, sizeof(out), &got);
	assert_int_equal(got, filled + 2);
	assert_memory_equal(out + filled, "12", 2);
}

static void test_vcon_emergency_buffer_overflow_drops_and_counts(void **state)
{
	struct fixture *f = *state;
	static unsigned char out[16 * 1024];
	size_t filled, got = 0, i;

	filled = fill_pipe(f);
	for (i = 0; i < VCON_EMERG_BUF + 10; i++)
		emerg(f, (unsigned char)('a' + i % 26));
	assert_int_equal(vcon_bytes_dropped(f->c), 10);
	drain_until_done(f, out, sizeof(out), &got);
	assert_int_equal(got, filled + VCON_EMERG_BUF);
	for (i = 0; i < VCON_EMERG_BUF; i++)
		assert_int_equal(out[filled + i], 'a' + i % 26);
	/* Room again: nothing more is dropped. */
	emerg(f, '!');
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, filled + VCON_EMERG_BUF + 1);
	assert_int_equal(vcon_bytes_dropped(f->c), 10);
}

/* Without an output fd, and when it breaks. */

static void test_vcon_discards_output_without_out_fd(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	bring_up(f, V1);
	for (i = 0; i < 3 * QSIZE; i++)
		tx_send(f, "discarded", 9, 1);
	emerg(f, 'e');
	assert_int_equal(used_idx(f, TXQ), 3 * QSIZE);
	assert_false(blocked(f));
	assert_false(output(f));
	assert_int_equal(vcon_bytes_out(f->c), 0);
	assert_int_equal(vcon_bytes_dropped(f->c), 0);
}

static void test_vcon_broken_output_discards_and_keeps_running(void **state)
{
	struct fixture *f = *state;

	bring_up(f, V1);
	close(f->rfd);
	f->rfd = -1;
	tx_send(f, "lost", 4, 1);
	assert_int_equal(used_idx(f, TXQ), 1);
	tx_send(f, "lost too", 8, 2);
	emerg(f, 'e');
	assert_int_equal(used_idx(f, TXQ), 2);
	assert_false(needs_reset(f));
	assert_false(blocked(f));
}

static void test_vcon_broken_output_on_emergency_write(void **state)
{
	struct fixture *f = *state;

	close(f->rfd);
	f->rfd = -1;
	emerg(f, 'e');
	assert_false(blocked(f));
	bring_up(f, V1);
	tx_send(f, "lost", 4, 1);
	assert_int_equal(used_idx(f, TXQ), 1);
	assert_int_equal(vcon_bytes_out(f->c), 0);
}

/* EVENT_IDX through the transport. */

static void test_vcon_follows_event_idx(void **state)
{
	struct fixture *f = *state;
	vmmem_gpa_t used_event, avail_event;
	unsigned char out[64];
	size_t got = 0;
	uint16_t ae = 0;

	bring_up(f, V1 | EIDX);
	used_event = f->q[TXQ].avail + 4 + 2 * QSIZE;
	avail_event = f->q[TXQ].used + 4 + 8 * QSIZE;
	/* The driver wants an interrupt only once used->idx passes 3. */
	assert_int_equal(vmmem_write_le16(f->mem, used_event, 3), 0);
	tx_send(f, "a", 1, 1); /* the first check always signals */
	assert_int_equal(f->irqs, 1);
	tx_send(f, "b", 1, 1); /* idx 2 */
	tx_send(f, "c", 1, 1); /* idx 3 */
	assert_int_equal(f->irqs, 1);
	tx_send(f, "d", 1, 1); /* idx 4: passes used_event */
	assert_int_equal(f->irqs, 2);
	/* The device asks to be notified of the next entry. */
	assert_int_equal(vmmem_read_le16(f->mem, avail_event, &ae), 0);
	assert_int_equal(ae, 4);
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, 4);
	assert_memory_equal(out, "abcd", 4);
}

/* Reset. */

static void test_vcon_reset_clears_receive_chains(void **state)
{
	struct fixture *f = *state;

	bring_up(f, V1);
	rx_post(f, 8);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, RXQ);
	assert_true(input_ready(f));
	wr(f, VMMIO_REG_STATUS, 0);
	assert_false(input_ready(f));
	assert_int_equal(input(f, "x", 1), 0);
	/* Up again, the old chain is gone; a new one works. */
	bring_up(f, V1);
	assert_false(input_ready(f));
	rx_post(f, 8);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, RXQ);
	assert_int_equal(input(f, "y", 1), 1);
	assert_int_equal(used_idx(f, RXQ), 1);
}

static void test_vcon_reset_clears_pending_output(void **state)
{
	struct fixture *f = *state;
	static unsigned char a[3000], out[16 * 1024];
	size_t filled, got = 0;

	pattern(a, sizeof(a), 5);
	bring_up(f, V1);
	filled = fill_pipe(f);
	tx_send(f, a, sizeof(a), 1);
	assert_true(blocked(f));
	wr(f, VMMIO_REG_STATUS, 0);
	assert_false(blocked(f));
	assert_false(output(f));
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, filled);
	bring_up(f, V1);
	tx_send(f, "fresh", 5, 1);
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, filled + 5);
	assert_memory_equal(out + filled, "fresh", 5);
}

static void test_vcon_reset_keeps_buffered_emergency_bytes(void **state)
{
	struct fixture *f = *state;
	static unsigned char out[16 * 1024];
	size_t filled, got = 0;

	bring_up(f, V1);
	filled = fill_pipe(f);
	emerg(f, 'p');
	emerg(f, 'q');
	wr(f, VMMIO_REG_STATUS, 0);
	assert_true(blocked(f));
	drain_until_done(f, out, sizeof(out), &got);
	assert_int_equal(got, filled + 2);
	assert_memory_equal(out + filled, "pq", 2);
}

/* Lifecycle. */

static void test_vcon_create_rejects_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct vcon *c = NULL;

	assert_int_equal(vcon_create(NULL, -1, 80, 25, &c), -EINVAL);
	assert_int_equal(vcon_create(f->mem, -1, 80, 25, NULL), -EINVAL);
	assert_int_equal(vcon_create(f->mem, -2, 80, 25, &c), -EINVAL);
	assert_null(c);
	sysmock_reset();
	sysmock_fail(SYSMOCK_CALLOC, 0, ENOMEM);
	assert_int_equal(vcon_create(f->mem, -1, 80, 25, &c), -ENOMEM);
	assert_true(sysmock_done());
	sysmock_reset();
	assert_null(c);
	vcon_destroy(NULL);
}

static void test_vcon_works_without_transport(void **state)
{
	struct fixture *f = *state;
	struct vcon *c;

	/* Unattached: nothing to fail or interrupt, nothing live. */
	assert_int_equal(vcon_create(f->mem, -1, 80, 25, &c), 0);
	assert_int_equal(vcon_input(c, "x", 1), 0);
	assert_false(vcon_input_ready(c));
	assert_false(vcon_output(c));
	assert_false(vcon_output_blocked(c));
	vcon_resize(c, 1, 2);
	vcon_destroy(c);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TD(f) cmocka_unit_test_setup_teardown(f, setup_discard, teardown)
#define TN(f) cmocka_unit_test_setup_teardown(f, setup_devnull, teardown)

/* Saving and restoring (the transport's device_ops, with the console's). */

/* Save f's device and restore it into a new console and transport on the
 * same memory with a new pipe, as a new process would; *rc: the restore's
 * result. The driver's view (queue places) carries over. */
static struct fixture *restore_into_new(struct fixture *f,
					const struct state_buf *b, int *rc)
{
	struct fixture *g = NULL;
	struct state_rd r;
	void *st = NULL;

	assert_int_equal(make_fixture(&st, OUT_PIPE), 0);
	g = st;
	/* The new device works on the saved memory, not a fresh one. */
	vmmio_destroy(g->t);
	vcon_destroy(g->c);
	vmmem_destroy(g->mem);
	g->mem = vmmem_ref(f->mem);
	assert_int_equal(vcon_create(g->mem, g->wfd, 80, 25, &g->c), 0);
	assert_int_equal(vmmio_create("console", &vcon_ops, g->c, g->mem,
				      NULL, &g->t),
			 0);
	bus_init(&g->bus);
	assert_int_equal(bus_register(&g->bus, MMIO_BASE, VMMIO_WINDOW,
				      &vmmio_bus_ops, g->t),
			 0);
	memcpy(g->q, f->q, sizeof(g->q));
	g->data_next = f->data_next;
	state_rd_init(&r, b->data, b->len);
	*rc = vmmio_device_ops.restore(g->t, &r);
	return g;
}

static void save(struct fixture *f, struct state_buf *b)
{
	state_buf_init(b);
	assert_int_equal(vmmio_device_ops.save(f->t, b), 0);
	assert_true(b->len > 0);
}

/* The flags word of the used ring: what the driver reads before a kick. */
static uint16_t used_flags(struct fixture *f, unsigned qi)
{
	uint16_t v = 0xffff;

	assert_int_equal(vmmem_read_le16(f->mem, f->q[qi].used, &v), 0);
	return v;
}

/*
 * While the event loop polls, the guest is told not to notify, also with
 * the queue empty; when it stops, notifications come back and a chain the
 * guest queued meanwhile (without a kick) is sent then, not lost.
 */
static void test_vcon_polling_keeps_notifications_off_until_unpoll(void **s)
{
	static const char one[] = "while polling", two[] = "just before";
	struct fixture *f = *s;
	unsigned char out[64];
	size_t got = 0;

	bring_up(f, V1);
	assert_int_equal(used_flags(f, TXQ), 0);
	assert_false(vmmio_poll(f->t));
	assert_int_equal(used_flags(f, TXQ), VIRTQ_USED_F_NO_NOTIFY);
	/* A chain without a kick, as a guest that saw the flag does. */
	tx_queue(f, one, strlen(one), 1);
	assert_true(vmmio_poll(f->t));
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, strlen(one));
	assert_int_equal(used_flags(f, TXQ), VIRTQ_USED_F_NO_NOTIFY);
	/* The last look of unpoll finds what came in between. */
	tx_queue(f, two, strlen(two), 1);
	assert_true(vmmio_unpoll(f->t));
	assert_int_equal(used_flags(f, TXQ), 0);
	got = 0;
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, strlen(two));
	assert_memory_equal(out, two, got);
	assert_int_equal(used_idx(f, TXQ), 2);
	/* Nothing more: unpoll says so, and the flag stays clear. */
	assert_false(vmmio_unpoll(f->t));
	assert_int_equal(used_flags(f, TXQ), 0);
}

/* A snapshot never keeps the guest's notifications off. */
static void test_vcon_save_turns_notifications_back_on(void **state)
{
	struct fixture *f = *state;
	struct state_buf b;

	bring_up(f, V1);
	assert_false(vmmio_poll(f->t));
	assert_int_equal(used_flags(f, TXQ), VIRTQ_USED_F_NO_NOTIFY);
	save(f, &b);
	assert_int_equal(used_flags(f, TXQ), 0);
	state_buf_fini(&b);
}

/* A device reset ends the quiet: the new driver's queue is untouched. */
static void test_vcon_reset_ends_polling_quiet(void **state)
{
	struct fixture *f = *state;

	bring_up(f, V1);
	assert_false(vmmio_poll(f->t));
	wr(f, VMMIO_REG_STATUS, 0);
	bring_up(f, V1);
	assert_false(vmmio_unpoll(f->t));
	assert_int_equal(used_flags(f, TXQ), 0);
}

static void test_vcon_restore_continues_held_chains(void **state)
{
	struct fixture *f = *state, *g;
	static const char msg[] = "held across a snapshot";
	unsigned char out[256];
	struct state_buf b;
	vmmem_gpa_t rx;
	size_t got = 0;
	uint32_t id, len;
	char in[4] = { 0 };
	int rc;

	bring_up(f, V1 | FSIZE | FEMERG);
	fill_pipe(f);
	tx_send(f, msg, sizeof(msg) - 1, 2);
	assert_true(blocked(f));
	emerg(f, '!');
	rx = rx_post(f, 16);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, RXQ);
	save(f, &b);
	g = restore_into_new(f, &b, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(rd(g, VMMIO_REG_STATUS), 15);
	/* The chain the old device held goes out in full, then the
	 * emergency byte, on the new output. */
	drain_until_done(g, out, sizeof(out), &got);
	assert_int_equal(got, sizeof(msg));
	assert_memory_equal(out, msg, sizeof(msg) - 1);
	assert_int_equal(out[got - 1], '!');
	assert_int_equal(used_idx(g, TXQ), 1);
	/* The receive buffer posted before the snapshot takes input. */
	assert_int_equal(vcon_input(g->c, "abc", 3), 3);
	assert_int_equal(used_idx(g, RXQ), 1);
	used_elem(g, RXQ, 0, &id, &len);
	assert_int_equal(len, 3);
	assert_int_equal(vmmem_read(g->mem, rx, in, 3), 0);
	assert_string_equal(in, "abc");
	state_buf_fini(&b);
	teardown((void **)&g);
}

static void test_vcon_restore_of_an_unconfigured_device_stays_down(void **state)
{
	struct fixture *f = *state, *g;
	struct state_buf b;
	int rc;

	save(f, &b);
	g = restore_into_new(f, &b, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(rd(g, VMMIO_REG_STATUS), 0);
	assert_false(vcon_input_ready(g->c));
	state_buf_fini(&b);
	teardown((void **)&g);
}

/* Offset of queue 0's size in the transport's saved state. */
#define SAVED_Q0_SIZE 44

static void test_vcon_restore_refuses_a_bad_queue_and_resets(void **state)
{
	struct fixture *f = *state, *g;
	struct state_buf b;
	int rc;

	bring_up(f, V1);
	save(f, &b);
	b.data[SAVED_Q0_SIZE] = 3; /* not a power of two */
	g = restore_into_new(f, &b, &rc);
	assert_int_equal(rc, -EBADMSG);
	assert_int_equal(rd(g, VMMIO_REG_STATUS), 0);
	assert_false(vcon_input_ready(g->c));
	state_buf_fini(&b);
	teardown((void **)&g);
}

static void test_vcon_restore_refuses_truncated_state(void **state)
{
	struct fixture *f = *state, *g;
	struct state_buf b;
	int rc;

	bring_up(f, V1);
	rx_post(f, 16);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, RXQ);
	save(f, &b);
	b.len--;
	g = restore_into_new(f, &b, &rc);
	assert_int_equal(rc, -EBADMSG);
	assert_int_equal(rd(g, VMMIO_REG_STATUS), 0);
	b.len++;
	state_buf_fini(&b);
	teardown((void **)&g);
}

static void test_vcon_restore_refuses_a_buffer_outside_memory(void **state)
{
	struct fixture *f = *state, *g;
	struct state_buf b;
	uint64_t gpa;
	int rc;

	bring_up(f, V1);
	rx_post(f, 16);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, RXQ);
	save(f, &b);
	/* The last buffer's record ends the state: gpa, len, write. */
	gpa = htole64(HOLE);
	memcpy(b.data + b.len - 13, &gpa, 8);
	g = restore_into_new(f, &b, &rc);
	assert_int_equal(rc, -EBADMSG);
	assert_int_equal(rd(g, VMMIO_REG_STATUS), 0);
	state_buf_fini(&b);
	teardown((void **)&g);
}

/* A state that lists one held receive chain twice (and so leaves out
 * another the queue holds) would answer that chain twice and never the
 * other: the first input after the restore failed the device. */
static void test_vcon_restore_refuses_a_receive_chain_twice(void **state)
{
	struct fixture *f = *state, *g;
	struct state_buf b;
	int rc;

	bring_up(f, V1);
	rx_post(f, 16);
	rx_post(f, 16);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, RXQ);
	save(f, &b);
	/* The state ends with the two chains: head, n, one buffer record
	 * (gpa, len, write) each. The second gets the first's head. */
	memcpy(b.data + b.len - 17, b.data + b.len - 34, 2);
	g = restore_into_new(f, &b, &rc);
	assert_int_equal(rc, -EBADMSG);
	assert_int_equal(rd(g, VMMIO_REG_STATUS), 0);
	state_buf_fini(&b);
	teardown((void **)&g);
}

static void test_vcon_restore_refuses_another_device(void **state)
{
	static const struct virtio_dev_ops other = {
		.device_id = 1,
		.num_queues = 2,
		.queue_max = 16,
	};
	struct fixture *f = *state;
	struct state_buf b;
	struct state_rd r;
	struct vmmio *t;

	bring_up(f, V1);
	save(f, &b);
	assert_int_equal(vmmio_create("net", &other, NULL, f->mem, NULL, &t),
			 0);
	state_rd_init(&r, b.data, b.len);
	assert_int_equal(vmmio_device_ops.restore(t, &r), -EBADMSG);
	vmmio_destroy(t);
	state_buf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_vcon_identifies_as_console),
		T(test_vcon_transmits_buffer_over_many_regions),
		T(test_vcon_polling_keeps_notifications_off_until_unpoll),
		T(test_vcon_save_turns_notifications_back_on),
		T(test_vcon_reset_ends_polling_quiet),
		T(test_vcon_config_space_holds_size),
		T(test_vcon_resize_raises_config_interrupt),
		T(test_vcon_resize_without_f_size_only_updates_values),
		T(test_vcon_transmits_chain_to_out_fd),
		T(test_vcon_transmits_many_chains_in_order),
		T(test_vcon_transmits_chains_posted_before_driver_ok),
		T(test_vcon_back_pressure_keeps_every_byte_in_order),
		T(test_vcon_partial_write_resumes_mid_buffer),
		T(test_vcon_notify_while_blocked_does_not_write),
		T(test_vcon_yields_after_a_queue_of_chains),
		TD(test_vcon_discarding_yields_after_a_queue_of_chains),
		TN(test_vcon_one_call_writes_at_most_a_slice),
		T(test_vcon_input_fills_posted_buffers_in_order),
		T(test_vcon_input_returns_partly_filled_buffer),
		T(test_vcon_input_spans_buffers_of_one_chain),
		T(test_vcon_input_without_buffers_accepts_nothing),
		T(test_vcon_input_finds_buffers_posted_without_notify),
		T(test_vcon_readable_buffer_on_receive_queue_fails_at_notify),
		T(test_vcon_receive_buffer_in_readonly_memory_fails),
		T(test_vcon_malformed_receive_chain_fails),
		T(test_vcon_writable_buffer_on_transmit_queue_fails),
		T(test_vcon_malformed_transmit_chain_fails),
		T(test_vcon_emergency_write_outputs_low_byte),
		T(test_vcon_emergency_write_waits_behind_blocked_output),
		T(test_vcon_emergency_write_into_full_pipe_is_kept),
		T(test_vcon_emergency_buffer_overflow_drops_and_counts),
		TD(test_vcon_discards_output_without_out_fd),
		T(test_vcon_broken_output_discards_and_keeps_running),
		T(test_vcon_broken_output_on_emergency_write),
		T(test_vcon_follows_event_idx),
		T(test_vcon_reset_clears_receive_chains),
		T(test_vcon_reset_clears_pending_output),
		T(test_vcon_reset_keeps_buffered_emergency_bytes),
		T(test_vcon_create_rejects_bad_arguments),
		T(test_vcon_works_without_transport),
		T(test_vcon_restore_continues_held_chains),
		T(test_vcon_restore_of_an_unconfigured_device_stays_down),
		T(test_vcon_restore_refuses_a_bad_queue_and_resets),
		T(test_vcon_restore_refuses_truncated_state),
		T(test_vcon_restore_refuses_a_buffer_outside_memory),
		T(test_vcon_restore_refuses_a_receive_chain_twice),
		T(test_vcon_restore_refuses_another_device),
	};

	/* A pipe without a reader must give EPIPE, not end the test. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
