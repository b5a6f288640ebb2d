/* SPDX-License-Identifier: MIT */
/*
 * Tests for minivmm/virtio/mmio.c: the virtio-mmio version 2 transport,
 * driven through its register window (vmmio_bus_ops) the way a guest
 * driver drives it, in front of a small fake device that records what the
 * transport asks of it. Interrupts are counted by a fake raise().
 *
 * Guest memory is one region, [0, 0x10000). Queue 0 lives at 0x1000
 * (descriptors), 0x2000 (available ring) and 0x3000 (used ring); queue 1 at
 * 0x4000, 0x5000 and 0x6000. Nothing is mapped at 0x20000.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <vmmem/memory.h>
#include <vmmem/scalar.h>

#include "../minivmm/devices/device.h"
#include "../minivmm/state.h"
#include "../minivmm/util.h"
#include "../minivmm/virtio/mmio.h"
#include "../minivmm/virtio/queue.h"
#include "sysmock.h"


#define ST_ACK 1u
#define ST_DRIVER 3u
#define ST_FEATURES_OK 11u
#define ST_DRIVER_OK 15u

#define FAKE_ID 42
#define FAKE_QUEUES 2
#define FAKE_QMAX 16
#define QSIZE 8
#define HOLE 0x20000ull

#define F(bit) (1ull << (bit))
#define V1 F(VIRTIO_F_VERSION_1)
#define EIDX F(VIRTIO_F_EVENT_IDX)
/* What the fake asks for: two device bits, and two the transport must
 * not pass on (INDIRECT_DESC and a transport bit above 32). */
#define FAKE_ASKS (F(0) | F(5) | F(VIRTIO_F_INDIRECT_DESC) | F(40))
#define OFFERED (F(0) | F(5) | EIDX | V1)

struct fake {
	unsigned notify[FAKE_QUEUES + 1];
	unsigned activations, resets, config_writes;
	int activate_rc;
	uint64_t features;
	struct virtq *queues;
	const struct virtio_irq *irq;
	unsigned char config[16];
};

static uint64_t fake_features(void *dev)
{
	(void)dev;
	return FAKE_ASKS;
}

static void fake_config_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct fake *d = dev;

	if (off >= sizeof(d->config))
		return;
	if (len > sizeof(d->config) - off)
		len = sizeof(d->config) - off;
	memcpy(data, d->config + off, len);
}

static void fake_config_write(void *dev, uint64_t off, const void *data,
			      unsigned len)
{
	struct fake *d = dev;

	d->config_writes++;
	if (off < sizeof(d->config) && len <= sizeof(d->config) - off)
		memcpy(d->config + off, data, len);
}

static int fake_activate(void *dev, uint64_t features, struct virtq *queues,
			 const struct virtio_irq *irq)
{
	struct fake *d = dev;

	d->activations++;
	d->features = features;
	d->queues = queues;
	d->irq = irq;
	return d->activate_rc;
}

static void fake_reset(void *dev)
{
	struct fake *d = dev;

	d->resets++;
	d->queues = NULL;
	d->irq = NULL;
}

static void fake_notify(void *dev, unsigned q)
{
	struct fake *d = dev;

	d->notify[q < FAKE_QUEUES ? q : FAKE_QUEUES]++;
}

static const struct virtio_dev_ops fake_ops = {
	.device_id = FAKE_ID,
	.num_queues = FAKE_QUEUES,
	.queue_max = FAKE_QMAX,
	.features = fake_features,
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.activate = fake_activate,
	.reset = fake_reset,
	.notify = fake_notify,
};

struct fixture {
	struct vmmem *mem;
	struct vmmio *t;
	struct fake dev;
	unsigned irqs;
};

static void count_irq(void *opaque)
{
	struct fixture *f = opaque;

	f->irqs++;
}

static int setup(void **state)
{
	struct vmmem_range r = { 0, 0x10000 };
	struct fixture *f = calloc(1, sizeof(*f));
	struct vmmio_irq irq;

	if (!f)
		return -1;
	irq.raise = count_irq;
	irq.opaque = f;
	if (vmmem_create_anon(&r, 1, 0, &f->mem))
		goto err_free;
	if (vmmio_create("fake", &fake_ops, &f->dev, f->mem, &irq, &f->t))
		goto err_mem;
	*state = f;
	return 0;

err_mem:
	vmmem_destroy(f->mem);
err_free:
	free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmmio_destroy(f->t);
	vmmem_destroy(f->mem);
	free(f);
	return 0;
}

static uint32_t rd(struct fixture *f, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	vmmio_bus_ops.read(f->t, off, &v, 4);
	return le32toh(v);
}

static void wr(struct fixture *f, uint64_t off, uint32_t val)
{
	uint32_t v = htole32(val);

	vmmio_bus_ops.write(f->t, off, &v, 4);
}

static void write_features(struct fixture *f, uint64_t features)
{
	wr(f, VMMIO_REG_DRIVER_FEATURES_SEL, 0);
	wr(f, VMMIO_REG_DRIVER_FEATURES, (uint32_t)features);
	wr(f, VMMIO_REG_DRIVER_FEATURES_SEL, 1);
	wr(f, VMMIO_REG_DRIVER_FEATURES, (uint32_t)(features >> 32));
}

/* Status up to FEATURES_OK with the given features. */
static void negotiate(struct fixture *f, uint64_t features)
{
	wr(f, VMMIO_REG_STATUS, ST_ACK);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER);
	write_features(f, features);
	wr(f, VMMIO_REG_STATUS, ST_FEATURES_OK);
}

static void setup_queue_at(struct fixture *f, unsigned q, uint32_t size,
			   uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(f, VMMIO_REG_QUEUE_SEL, q);
	wr(f, VMMIO_REG_QUEUE_SIZE, size);
	wr(f, VMMIO_REG_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(f, VMMIO_REG_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(f, VMMIO_REG_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(f, VMMIO_REG_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	wr(f, VMMIO_REG_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(f, VMMIO_REG_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	wr(f, VMMIO_REG_QUEUE_READY, 1);
}

static void setup_queue(struct fixture *f, unsigned q)
{
	uint64_t base = 0x1000 + 0x3000ull * q;

	setup_queue_at(f, q, QSIZE, base, base + 0x1000, base + 0x2000);
}

static void bring_up(struct fixture *f, uint64_t features)
{
	negotiate(f, features);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_FEATURES_OK);
	setup_queue(f, 0);
	setup_queue(f, 1);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER_OK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_DRIVER_OK);
}

/* What the transport hands its device at activation. */
static const struct virtio_irq *seam(struct fixture *f)
{
	return vmmio_irq(f->t);
}

static void fail_seam(struct fixture *f, const char *why)
{
	const struct virtio_irq *irq = seam(f);

	(irq->fail)(irq->opaque, why);
}

static void assert_needs_reset(struct fixture *f)
{
	assert_true(rd(f, VMMIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(rd(f, VMMIO_REG_INTERRUPT_STATUS) & 2);
}

/* Identification. */

static void test_vmmio_reads_identity_registers(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, 0), VMMIO_MAGIC);
	assert_int_equal(rd(f, VMMIO_REG_VERSION), 2);
	assert_int_equal(rd(f, VMMIO_REG_DEVICE_ID), FAKE_ID);
	assert_int_equal(rd(f, VMMIO_REG_VENDOR_ID), VMMIO_VENDOR_ID);
}

static void test_vmmio_offers_device_features_in_two_windows(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, VMMIO_REG_DEVICE_FEATURES), (uint32_t)OFFERED);
	wr(f, VMMIO_REG_DEVICE_FEATURES_SEL, 1);
	assert_int_equal(rd(f, VMMIO_REG_DEVICE_FEATURES), OFFERED >> 32);
	wr(f, VMMIO_REG_DEVICE_FEATURES_SEL, 2);
	assert_int_equal(rd(f, VMMIO_REG_DEVICE_FEATURES), 0);
	wr(f, VMMIO_REG_DEVICE_FEATURES_SEL, 0);
	assert_int_equal(rd(f, VMMIO_REG_DEVICE_FEATURES), (uint32_t)OFFERED);
}

static void test_vmmio_reports_queue_size_max_per_queue(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, VMMIO_REG_QUEUE_SIZE_MAX), FAKE_QMAX);
	wr(f, VMMIO_REG_QUEUE_SEL, 1);
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_SIZE_MAX), FAKE_QMAX);
	wr(f, VMMIO_REG_QUEUE_SEL, FAKE_QUEUES);
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_SIZE_MAX), 0);
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_READY), 0);
	wr(f, VMMIO_REG_QUEUE_SEL, 0xffffffff);
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_SIZE_MAX), 0);
}

/* The status state machine. */

static void test_vmmio_status_follows_forward_path(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, VMMIO_REG_STATUS), 0);
	wr(f, VMMIO_REG_STATUS, ST_ACK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_ACK);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_DRIVER);
	write_features(f, V1);
	wr(f, VMMIO_REG_STATUS, ST_FEATURES_OK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_FEATURES_OK);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER_OK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_DRIVER_OK);
	assert_true(vmmio_active(f->t));
	assert_int_equal(f->dev.activations, 1);
}

static void test_vmmio_status_refuses_skipping_a_step(void **state)
{
	struct fixture *f = *state;

	wr(f, VMMIO_REG_STATUS, ST_DRIVER);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), 0);
	wr(f, VMMIO_REG_STATUS, ST_ACK);
	wr(f, VMMIO_REG_STATUS, ST_FEATURES_OK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_ACK);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER);
	write_features(f, V1);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER_OK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_DRIVER);
	/* DRIVER_OK without FEATURES_OK, spelled out. */
	wr(f, VMMIO_REG_STATUS, ST_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_DRIVER);
	assert_int_equal(f->dev.activations, 0);
}

static void test_vmmio_status_refuses_going_back(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_FEATURES_OK);
	wr(f, VMMIO_REG_STATUS, ST_ACK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_FEATURES_OK);
	wr(f, VMMIO_REG_STATUS, VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_FEATURES_OK);
	assert_int_equal(f->dev.activations, 0);
}

static void test_vmmio_status_zero_resets_device(void **state)
{
	struct fixture *f = *state;

	bring_up(f, V1);
	seam(f)->config_changed(seam(f)->opaque);
	assert_int_not_equal(rd(f, VMMIO_REG_INTERRUPT_STATUS), 0);
	wr(f, VMMIO_REG_QUEUE_SEL, 1);
	wr(f, VMMIO_REG_STATUS, 0);
	assert_int_equal(f->dev.resets, 1);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), 0);
	assert_int_equal(rd(f, VMMIO_REG_INTERRUPT_STATUS), 0);
	/* QueueSel back to 0, and no queue is ready. */
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_READY), 0);
	wr(f, VMMIO_REG_QUEUE_SEL, 1);
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_READY), 0);
	/* The accepted features are forgotten. */
	wr(f, VMMIO_REG_STATUS, ST_ACK);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER);
	wr(f, VMMIO_REG_STATUS, ST_FEATURES_OK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_DRIVER);
}

static void test_vmmio_device_works_again_after_reset(void **state)
{
	struct fixture *f = *state;

	bring_up(f, V1);
	wr(f, VMMIO_REG_STATUS, 0);
	bring_up(f, V1 | EIDX);
	assert_int_equal(f->dev.activations, 2);
	assert_int_equal(f->dev.features, V1 | EIDX);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, 0);
	assert_int_equal(f->dev.notify[0], 1);
}

static void test_vmmio_driver_failed_status_stops_device(void **state)
{
	struct fixture *f = *state;

	bring_up(f, V1);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER_OK | VIRTIO_STATUS_FAILED);
	assert_int_equal(rd(f, VMMIO_REG_STATUS),
			 ST_DRIVER_OK | VIRTIO_STATUS_FAILED);
	assert_false(vmmio_active(f->t));
	wr(f, VMMIO_REG_QUEUE_NOTIFY, 0);
	assert_int_equal(f->dev.notify[0], 0);
	/* Nothing but a reset moves on. */
	wr(f, VMMIO_REG_STATUS, ST_ACK);
	assert_true(rd(f, VMMIO_REG_STATUS) & VIRTIO_STATUS_FAILED);
	wr(f, VMMIO_REG_STATUS, 0);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), 0);
}

/* Feature negotiation. */

static void test_vmmio_features_ok_accepts_offered_subset(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1 | F(5));
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_FEATURES_OK);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER_OK);
	assert_int_equal(f->dev.features, V1 | F(5));
}

static void test_vmmio_features_ok_refused_without_version_1(void **state)
{
	struct fixture *f = *state;

	negotiate(f, F(0));
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_DRIVER);
}

static void test_vmmio_features_ok_refused_with_unoffered_feature(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1 | F(VIRTIO_F_INDIRECT_DESC));
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_DRIVER);
	write_features(f, V1 | F(40));
	wr(f, VMMIO_REG_STATUS, ST_FEATURES_OK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_DRIVER);
	write_features(f, V1 | F(1));
	wr(f, VMMIO_REG_STATUS, ST_FEATURES_OK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_DRIVER);
	/* The driver may try again with a valid set. */
	write_features(f, V1);
	wr(f, VMMIO_REG_STATUS, ST_FEATURES_OK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_FEATURES_OK);
}

static void
test_vmmio_driver_features_ignored_outside_driver_state(void **state)
{
	struct fixture *f = *state;

	/* Before DRIVER: lost. */
	wr(f, VMMIO_REG_STATUS, ST_ACK);
	write_features(f, V1);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER);
	wr(f, VMMIO_REG_STATUS, ST_FEATURES_OK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_DRIVER);
	/* After FEATURES_OK: ignored. */
	write_features(f, V1);
	wr(f, VMMIO_REG_STATUS, ST_FEATURES_OK);
	write_features(f, V1 | EIDX | F(0));
	wr(f, VMMIO_REG_STATUS, ST_DRIVER_OK);
	assert_int_equal(f->dev.features, V1);
}

static void test_vmmio_driver_features_sel_above_one_is_ignored(void **state)
{
	struct fixture *f = *state;

	wr(f, VMMIO_REG_STATUS, ST_ACK);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER);
	write_features(f, V1);
	wr(f, VMMIO_REG_DRIVER_FEATURES_SEL, 2);
	wr(f, VMMIO_REG_DRIVER_FEATURES, 0xffffffff);
	wr(f, VMMIO_REG_STATUS, ST_FEATURES_OK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_FEATURES_OK);
}

/* Queue setup (checklist item 1 at QueueReady). */

static void test_vmmio_queue_ready_validates_queue(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	setup_queue(f, 0);
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_READY), 1);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_FEATURES_OK);
	assert_int_equal(f->irqs, 0);
}

static void test_vmmio_queue_ready_with_bad_address_needs_reset(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	setup_queue_at(f, 1, QSIZE, 0x1000, 0x2000, HOLE);
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_READY), 0);
	assert_needs_reset(f);
	assert_int_equal(f->irqs, 1);
	/* The device stays down: DRIVER_OK does not activate it. */
	wr(f, VMMIO_REG_STATUS, rd(f, VMMIO_REG_STATUS) | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(f->dev.activations, 0);
	assert_true(rd(f, VMMIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_vmmio_queue_ready_with_bad_size_needs_reset(void **state)
{
	static const uint32_t sizes[] = { 0, 3, 2 * FAKE_QMAX, 0x10008 };
	struct fixture *f = *state;
	unsigned i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		wr(f, VMMIO_REG_STATUS, 0);
		negotiate(f, V1);
		setup_queue_at(f, 0, sizes[i], 0x1000, 0x2000, 0x3000);
		assert_int_equal(rd(f, VMMIO_REG_QUEUE_READY), 0);
		assert_needs_reset(f);
	}
	assert_int_equal(f->irqs, i);
}

static void
test_vmmio_queue_ready_with_misaligned_ring_needs_reset(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	setup_queue_at(f, 0, QSIZE, 0x1008, 0x2000, 0x3000);
	assert_needs_reset(f);
}

static void test_vmmio_queue_ready_with_wrapping_ring_needs_reset(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	setup_queue_at(f, 0, QSIZE, 0x1000, 0xfffffffffffffffeull, 0x3000);
	assert_needs_reset(f);
}

static void test_vmmio_failure_is_reported_once(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	setup_queue_at(f, 0, QSIZE, HOLE, 0x2000, 0x3000);
	assert_int_equal(f->irqs, 1);
	fail_seam(f, "again");
	assert_int_equal(f->irqs, 1);
}

/* Standard error, captured into a memfd while a test provokes messages. */
struct capture {
	int fd, saved;
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->fd = memfd_create("stderr", MFD_CLOEXEC);
	assert_true(c->fd >= 0);
	c->saved = dup(2);
	assert_true(c->saved >= 0);
	assert_int_equal(dup2(c->fd, 2), 2);
}

/* Stop capturing; return the number of lines, the text in buf. */
static unsigned capture_end(struct capture *c, char *buf, size_t len)
{
	unsigned lines = 0;
	ssize_t n;
	size_t i;

	fflush(stderr);
	assert_int_equal(dup2(c->saved, 2), 2);
	close(c->saved);
	n = pread(c->fd, buf, len - 1, 0);
	close(c->fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	for (i = 0; i < (size_t)n; i++)
		lines += buf[i] == '\n';
	return lines;
}

static uint64_t fake_now = 1;

static uint64_t fake_clock(void)
{
	return fake_now;
}

/*
 * A guest that fails the device after every reset, a thousand times in
 * one rate-limit window: RATELIMIT_BURST lines, then nothing; in the next
 * window, one line with the count and the new message.
 */
static void test_vmmio_failure_reports_are_rate_limited(void **state)
{
	static char out[65536];
	struct fixture *f = *state;
	uint64_t (*clock)(void) = util_clock;
	struct capture c;
	unsigned i, lines;

	util_clock = fake_clock;
	capture_start(&c);
	for (i = 0; i < 1000; i++) {
		wr(f, VMMIO_REG_STATUS, 0);
		negotiate(f, V1);
		setup_queue_at(f, 0, QSIZE, HOLE, 0x2000, 0x3000);
		assert_needs_reset(f);
	}
	lines = capture_end(&c, out, sizeof(out));
	assert_int_equal(lines, RATELIMIT_BURST);

	fake_now += RATELIMIT_INTERVAL_NS;
	capture_start(&c);
	wr(f, VMMIO_REG_STATUS, 0);
	negotiate(f, V1);
	setup_queue_at(f, 0, QSIZE, HOLE, 0x2000, 0x3000);
	lines = capture_end(&c, out, sizeof(out));
	util_clock = clock;
	assert_int_equal(lines, 2);
	assert_non_null(strstr(out, "995 more such messages suppressed"));
}

static void test_vmmio_queue_registers_ignored_before_features_ok(void **state)
{
	struct fixture *f = *state;

	wr(f, VMMIO_REG_STATUS, ST_ACK);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER);
	setup_queue(f, 0);
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_READY), 0);
	/* Nothing stuck either: after FEATURES_OK the size is still 0. */
	write_features(f, V1);
	wr(f, VMMIO_REG_STATUS, ST_FEATURES_OK);
	wr(f, VMMIO_REG_QUEUE_READY, 1);
	assert_needs_reset(f);
}

static void test_vmmio_queue_registers_ignored_while_ready(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	setup_queue(f, 0);
	setup_queue(f, 1);
	/* A ready queue keeps what was validated. */
	wr(f, VMMIO_REG_QUEUE_SEL, 0);
	wr(f, VMMIO_REG_QUEUE_SIZE, 4);
	wr(f, VMMIO_REG_QUEUE_DESC_LOW, (uint32_t)HOLE);
	wr(f, VMMIO_REG_QUEUE_DRIVER_HIGH, 1);
	wr(f, VMMIO_REG_QUEUE_DEVICE_LOW, 0x8000);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER_OK);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_DRIVER_OK);
	assert_int_equal(f->dev.queues[0].size, QSIZE);
	assert_int_equal(f->dev.queues[0].desc, 0x1000);
	assert_int_equal(f->dev.queues[0].avail, 0x2000);
	assert_int_equal(f->dev.queues[0].used, 0x3000);
}

static void test_vmmio_queue_registers_ignored_after_driver_ok(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	setup_queue(f, 0);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER_OK);
	wr(f, VMMIO_REG_QUEUE_SEL, 1);
	setup_queue_at(f, 1, QSIZE, 0x4000, 0x5000, 0x6000);
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_READY), 0);
	wr(f, VMMIO_REG_QUEUE_SEL, 0);
	wr(f, VMMIO_REG_QUEUE_READY, 0);
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_READY), 1);
}

static void test_vmmio_queue_ready_zero_makes_queue_configurable(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	setup_queue(f, 0);
	wr(f, VMMIO_REG_QUEUE_READY, 0);
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_READY), 0);
	wr(f, VMMIO_REG_QUEUE_SIZE, 4);
	wr(f, VMMIO_REG_QUEUE_READY, 2); /* only 1 means ready */
	assert_int_equal(rd(f, VMMIO_REG_QUEUE_READY), 0);
	wr(f, VMMIO_REG_QUEUE_READY, 1);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER_OK);
	assert_int_equal(f->dev.queues[0].size, 4);
}

static void test_vmmio_queue_addresses_take_both_halves(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	setup_queue_at(f, 0, QSIZE, 0x100001000ull, 0x2000, 0x3000);
	/* 0x1_0000_1000 is not guest memory. */
	assert_needs_reset(f);
}

/* Activation. */

static void test_vmmio_driver_ok_starts_ready_queues_and_activates(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1 | EIDX);
	setup_queue(f, 0);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER_OK);
	assert_int_equal(f->dev.activations, 1);
	assert_int_equal(f->dev.features, V1 | EIDX);
	assert_non_null(f->dev.queues);
	assert_ptr_equal(f->dev.queues[0].mem, f->mem);
	assert_true(f->dev.queues[0].event_idx);
	assert_true(f->dev.queues[0].ready);
	/* Queue 1 was never set up: not started. */
	assert_false(f->dev.queues[1].ready);
	assert_null(f->dev.queues[1].mem);
}

static void test_vmmio_driver_ok_without_event_idx_starts_plain(void **state)
{
	struct fixture *f = *state;

	bring_up(f, V1);
	assert_false(f->dev.queues[0].event_idx);
	assert_false(f->dev.queues[1].event_idx);
}

static void test_vmmio_activate_failure_needs_reset(void **state)
{
	struct fixture *f = *state;

	f->dev.activate_rc = -EIO;
	negotiate(f, V1);
	setup_queue(f, 0);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER_OK);
	assert_int_equal(f->dev.activations, 1);
	assert_int_equal(rd(f, VMMIO_REG_STATUS),
			 ST_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET);
	assert_true(rd(f, VMMIO_REG_INTERRUPT_STATUS) & 2);
	assert_int_equal(f->irqs, 1);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, 0);
	assert_int_equal(f->dev.notify[0], 0);
}

static void test_vmmio_status_write_back_keeps_needs_reset(void **state)
{
	struct fixture *f = *state;

	bring_up(f, V1);
	fail_seam(f, "test");
	/* Drivers add bits to what they read, NEEDS_RESET included. */
	wr(f, VMMIO_REG_STATUS, rd(f, VMMIO_REG_STATUS));
	assert_int_equal(rd(f, VMMIO_REG_STATUS),
			 ST_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER_OK);
	assert_true(rd(f, VMMIO_REG_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

/* Notifications. */

static void test_vmmio_notify_reaches_device(void **state)
{
	struct fixture *f = *state;

	bring_up(f, V1);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, 1);
	assert_int_equal(f->dev.notify[1], 1);
	assert_int_equal(f->dev.notify[0], 0);
	vmmio_notify(f->t, 0);
	assert_int_equal(f->dev.notify[0], 1);
}

static void test_vmmio_notify_ignored_before_driver_ok(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	setup_queue(f, 0);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, 0);
	vmmio_notify(f->t, 0);
	assert_int_equal(f->dev.notify[0], 0);
}

static void test_vmmio_notify_ignored_for_absent_or_unready_queue(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	setup_queue(f, 0);
	wr(f, VMMIO_REG_STATUS, ST_DRIVER_OK);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, 1);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, FAKE_QUEUES);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, 0xffffffff);
	vmmio_notify(f->t, 7);
	assert_int_equal(f->dev.notify[1], 0);
	assert_int_equal(f->dev.notify[FAKE_QUEUES], 0);
}

static void test_vmmio_failed_device_gets_no_notify_until_reset(void **state)
{
	struct fixture *f = *state;

	bring_up(f, V1);
	fail_seam(f, "queue 0: test failure");
	assert_needs_reset(f);
	assert_int_equal(f->irqs, 1);
	assert_false(vmmio_active(f->t));
	wr(f, VMMIO_REG_QUEUE_NOTIFY, 0);
	vmmio_notify(f->t, 1);
	assert_int_equal(f->dev.notify[0], 0);
	assert_int_equal(f->dev.notify[1], 0);
	wr(f, VMMIO_REG_STATUS, 0);
	bring_up(f, V1);
	wr(f, VMMIO_REG_QUEUE_NOTIFY, 0);
	assert_int_equal(f->dev.notify[0], 1);
}

/* Interrupts. */

static void test_vmmio_signal_used_sets_interrupt_status(void **state)
{
	struct fixture *f = *state;

	bring_up(f, V1);
	f->dev.queues[0].used_idx = 1; /* as if a chain was pushed */
	seam(f)->signal_used(seam(f)->opaque, 0);
	assert_int_equal(rd(f, VMMIO_REG_INTERRUPT_STATUS), 1);
	assert_int_equal(f->irqs, 1);
	/* Nothing new: no interrupt. */
	seam(f)->signal_used(seam(f)->opaque, 0);
	seam(f)->signal_used(seam(f)->opaque, FAKE_QUEUES);
	assert_int_equal(f->irqs, 1);
}

static void test_vmmio_signal_used_honours_no_interrupt(void **state)
{
	struct fixture *f = *state;

	bring_up(f, V1);
	assert_int_equal(
		vmmem_write_le16(f->mem, 0x2000, VIRTQ_AVAIL_F_NO_INTERRUPT),
		0);
	f->dev.queues[0].used_idx = 1;
	seam(f)->signal_used(seam(f)->opaque, 0);
	assert_int_equal(rd(f, VMMIO_REG_INTERRUPT_STATUS), 0);
	assert_int_equal(f->irqs, 0);
}

static void test_vmmio_signal_used_ignored_when_inactive(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	setup_queue(f, 0);
	seam(f)->signal_used(seam(f)->opaque, 0);
	assert_int_equal(f->irqs, 0);
	assert_int_equal(rd(f, VMMIO_REG_INTERRUPT_STATUS), 0);
}

static void test_vmmio_interrupt_ack_clears_bits(void **state)
{
	struct fixture *f = *state;

	bring_up(f, V1);
	f->dev.queues[0].used_idx = 1;
	seam(f)->signal_used(seam(f)->opaque, 0);
	seam(f)->config_changed(seam(f)->opaque);
	assert_int_equal(rd(f, VMMIO_REG_INTERRUPT_STATUS), 3);
	wr(f, VMMIO_REG_INTERRUPT_ACK, 1);
	assert_int_equal(rd(f, VMMIO_REG_INTERRUPT_STATUS), 2);
	wr(f, VMMIO_REG_INTERRUPT_ACK, 2);
	assert_int_equal(rd(f, VMMIO_REG_INTERRUPT_STATUS), 0);
}

static void test_vmmio_config_changed_bumps_generation(void **state)
{
	struct fixture *f = *state;
	uint32_t gen = rd(f, VMMIO_REG_CONFIG_GENERATION);

	/* Before DRIVER_OK: a new generation, no interrupt. */
	seam(f)->config_changed(seam(f)->opaque);
	assert_int_not_equal(rd(f, VMMIO_REG_CONFIG_GENERATION), gen);
	assert_int_equal(f->irqs, 0);
	assert_int_equal(rd(f, VMMIO_REG_INTERRUPT_STATUS), 0);
	gen = rd(f, VMMIO_REG_CONFIG_GENERATION);
	bring_up(f, V1);
	seam(f)->config_changed(seam(f)->opaque);
	assert_int_not_equal(rd(f, VMMIO_REG_CONFIG_GENERATION), gen);
	assert_int_equal(rd(f, VMMIO_REG_INTERRUPT_STATUS), 2);
	assert_int_equal(f->irqs, 1);
}

/* Register access rules. */

static void test_vmmio_config_space_is_passed_through(void **state)
{
	struct fixture *f = *state;
	unsigned char b[8];
	uint16_t v16 = htole16(0xbeef);
	unsigned i;

	for (i = 0; i < sizeof(f->dev.config); i++)
		f->dev.config[i] = 0x10 + i;
	memset(b, 0xff, sizeof(b));
	vmmio_bus_ops.read(f->t, VMMIO_REG_CONFIG + 3, b, 1);
	assert_int_equal(b[0], 0x13);
	vmmio_bus_ops.read(f->t, VMMIO_REG_CONFIG + 2, b, 2);
	assert_int_equal(b[0], 0x12);
	assert_int_equal(b[1], 0x13);
	assert_int_equal(rd(f, VMMIO_REG_CONFIG + 4), 0x17161514);
	vmmio_bus_ops.read(f->t, VMMIO_REG_CONFIG + 8, b, 8);
	assert_int_equal(b[7], 0x1f);
	/* Beyond the device's space: zero. */
	assert_int_equal(rd(f, VMMIO_REG_CONFIG + 0x100), 0);
	vmmio_bus_ops.write(f->t, VMMIO_REG_CONFIG + 6, &v16, 2);
	assert_int_equal(f->dev.config[6], 0xef);
	assert_int_equal(f->dev.config[7], 0xbe);
	/* In any state, even after a failure. */
	fail_seam(f, "test");
	vmmio_bus_ops.write(f->t, VMMIO_REG_CONFIG, &v16, 2);
	assert_int_equal(f->dev.config_writes, 2);
}

static void test_vmmio_config_access_past_window_is_ignored(void **state)
{
	struct fixture *f = *state;
	uint32_t v = 0xffffffff;

	vmmio_bus_ops.read(f->t, VMMIO_WINDOW - 2, &v, 4);
	assert_int_equal(v, 0);
	vmmio_bus_ops.write(f->t, VMMIO_WINDOW - 2, &v, 4);
	vmmio_bus_ops.write(f->t, VMMIO_WINDOW, &v, 1);
	assert_int_equal(f->dev.config_writes, 0);
}

static void
test_vmmio_misaligned_and_wrong_size_accesses_are_ignored(void **state)
{
	struct fixture *f = *state;
	uint64_t v64 = ~0ull;
	uint16_t v16 = 0xffff;
	uint8_t v8 = ST_ACK;
	uint32_t v = 0xffffffff;

	vmmio_bus_ops.read(f->t, 2, &v, 4);
	assert_int_equal(v, 0);
	vmmio_bus_ops.read(f->t, 0, &v16, 2);
	assert_int_equal(v16, 0);
	vmmio_bus_ops.read(f->t, 0, &v64, 8);
	assert_int_equal(v64, 0);
	vmmio_bus_ops.read(f->t, 0, &v8, 1);
	assert_int_equal(v8, 0);
	v8 = ST_ACK;
	vmmio_bus_ops.write(f->t, VMMIO_REG_STATUS, &v8, 1);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), 0);
	v = htole32(ST_ACK << 8);
	vmmio_bus_ops.write(f->t, VMMIO_REG_STATUS - 1, &v, 4);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), 0);
	v64 = htole64(ST_ACK);
	vmmio_bus_ops.write(f->t, VMMIO_REG_STATUS, &v64, 8);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), 0);
	/* Lengths the bus never produces. */
	vmmio_bus_ops.write(f->t, VMMIO_REG_STATUS, &v64, 0);
	vmmio_bus_ops.read(f->t, VMMIO_REG_STATUS, NULL, 4);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), 0);
}

static void test_vmmio_unknown_and_write_only_offsets_read_zero(void **state)
{
	static const uint64_t offs[] = {
		0x018, 0x01c, 0x020, 0x028, 0x030, 0x038, 0x03c, 0x040,
		0x050, 0x064, 0x080, 0x0a4, 0x0ac, 0x0c0, 0x0f8,
	};
	struct fixture *f = *state;
	unsigned i;

	bring_up(f, V1 | EIDX);
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		assert_int_equal(rd(f, offs[i]), 0);
}

static void test_vmmio_shm_registers_read_all_ones(void **state)
{
	struct fixture *f = *state;
	uint64_t off;

	wr(f, VMMIO_REG_SHM_SEL, 0);
	for (off = VMMIO_REG_SHM_LEN_LOW; off <= VMMIO_REG_SHM_BASE_HIGH; off += 4)
		assert_int_equal(rd(f, off), 0xffffffff);
}

/* Lifecycle and locking. */

/* Saving and restoring. */

/* Offsets in the transport's saved state: Status, the byte of
 * DriverFeatures holding bit 32 (VERSION_1), queue 0's ready flag. */
#define SAVED_STATUS 12
#define SAVED_FEATURES_32 36

/* Save f's transport, set one byte of the state, restore it into f. */
static int restore_changed(struct fixture *f, size_t off, uint8_t val)
{
	struct state_buf b;
	struct state_rd r;
	int rc;

	state_buf_init(&b);
	assert_int_equal(vmmio_device_ops.save(f->t, &b), 0);
	assert_true(off < b.len);
	b.data[off] = val;
	state_rd_init(&r, b.data, b.len);
	rc = vmmio_device_ops.restore(f->t, &r);
	state_buf_fini(&b);
	return rc;
}

static void test_vmmio_restore_takes_its_own_state(void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	setup_queue(f, 0);
	assert_int_equal(restore_changed(f, SAVED_STATUS, ST_FEATURES_OK), 0);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), ST_FEATURES_OK);
}

/* A driver cannot get FEATURES_OK without accepting VERSION_1. */
static void test_vmmio_restore_refuses_features_ok_without_version_1(
	void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	assert_int_equal(restore_changed(f, SAVED_FEATURES_32, 0), -EBADMSG);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), 0);
}

/* Nor set a queue ready before FEATURES_OK. */
static void test_vmmio_restore_refuses_a_ready_queue_before_features_ok(
	void **state)
{
	struct fixture *f = *state;

	negotiate(f, V1);
	setup_queue(f, 0);
	assert_int_equal(restore_changed(f, SAVED_STATUS, ST_DRIVER),
			 -EBADMSG);
	assert_int_equal(rd(f, VMMIO_REG_STATUS), 0);
}

static void test_vmmio_create_rejects_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct virtio_dev_ops ops = fake_ops;
	struct vmmio *t = NULL;

	assert_int_equal(vmmio_create(NULL, &fake_ops, NULL, f->mem, NULL, &t),
			 -EINVAL);
	assert_int_equal(vmmio_create("x", NULL, NULL, f->mem, NULL, &t),
			 -EINVAL);
	assert_int_equal(vmmio_create("x", &fake_ops, NULL, NULL, NULL, &t),
			 -EINVAL);
	assert_int_equal(vmmio_create("x", &fake_ops, NULL, f->mem, NULL, NULL),
			 -EINVAL);
	ops.num_queues = 0;
	assert_int_equal(vmmio_create("x", &ops, NULL, f->mem, NULL, &t),
			 -EINVAL);
	ops.num_queues = 1000;
	assert_int_equal(vmmio_create("x", &ops, NULL, f->mem, NULL, &t),
			 -EINVAL);
	ops = fake_ops;
	ops.queue_max = 0;
	assert_int_equal(vmmio_create("x", &ops, NULL, f->mem, NULL, &t),
			 -EINVAL);
	ops.queue_max = 2 * VIRTQ_MAX_SIZE;
	assert_int_equal(vmmio_create("x", &ops, NULL, f->mem, NULL, &t),
			 -EINVAL);
	assert_null(t);
	vmmio_destroy(NULL);
}

static void test_vmmio_create_reports_allocation_failures(void **state)
{
	struct fixture *f = *state;
	struct vmmio *t = NULL;

	sysmock_reset();
	sysmock_fail(SYSMOCK_CALLOC, 0, ENOMEM);
	assert_int_equal(vmmio_create("x", &fake_ops, NULL, f->mem, NULL, &t),
			 -ENOMEM);
	sysmock_fail(SYSMOCK_CALLOC, 1, ENOMEM);
	assert_int_equal(vmmio_create("x", &fake_ops, NULL, f->mem, NULL, &t),
			 -ENOMEM);
	assert_true(sysmock_done());
	assert_null(t);
	sysmock_reset();
}

static void test_vmmio_works_without_irq_and_callbacks(void **state)
{
	static const struct virtio_dev_ops bare = {
		.device_id = 1,
		.num_queues = 1,
		.queue_max = 4,
	};
	struct fixture *f = *state;
	struct vmmio *t;
	uint32_t v = htole32(ST_ACK);

	assert_int_equal(vmmio_create("bare", &bare, NULL, f->mem, NULL, &t),
			 0);
	vmmio_bus_ops.write(t, VMMIO_REG_STATUS, &v, 4);
	v = 0;
	vmmio_bus_ops.read(t, VMMIO_REG_DEVICE_FEATURES, &v, 4);
	assert_int_equal(le32toh(v), (uint32_t)EIDX);
	vmmio_bus_ops.read(t, VMMIO_REG_CONFIG, &v, 4);
	assert_int_equal(v, 0);
	vmmio_bus_ops.write(t, VMMIO_REG_CONFIG, &v, 4);
	/* Up to DRIVER_OK without an activate callback. */
	v = htole32(ST_DRIVER);
	vmmio_bus_ops.write(t, VMMIO_REG_STATUS, &v, 4);
	v = htole32(1);
	vmmio_bus_ops.write(t, VMMIO_REG_DRIVER_FEATURES_SEL, &v, 4);
	vmmio_bus_ops.write(t, VMMIO_REG_DRIVER_FEATURES, &v, 4);
	v = htole32(ST_FEATURES_OK);
	vmmio_bus_ops.write(t, VMMIO_REG_STATUS, &v, 4);
	v = htole32(ST_DRIVER_OK);
	vmmio_bus_ops.write(t, VMMIO_REG_STATUS, &v, 4);
	assert_true(vmmio_active(t));
	v = 0;
	vmmio_bus_ops.write(t, VMMIO_REG_QUEUE_NOTIFY, &v, 4);
	(vmmio_irq(t)->fail)(vmmio_irq(t)->opaque, "bare device failure");
	v = 0;
	vmmio_bus_ops.write(t, VMMIO_REG_STATUS, &v, 4);
	vmmio_bus_ops.read(t, VMMIO_REG_STATUS, &v, 4);
	assert_int_equal(v, 0);
	vmmio_destroy(t);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_vmmio_reads_identity_registers),
		T(test_vmmio_offers_device_features_in_two_windows),
		T(test_vmmio_reports_queue_size_max_per_queue),
		T(test_vmmio_status_follows_forward_path),
		T(test_vmmio_status_refuses_skipping_a_step),
		T(test_vmmio_status_refuses_going_back),
		T(test_vmmio_status_zero_resets_device),
		T(test_vmmio_device_works_again_after_reset),
		T(test_vmmio_driver_failed_status_stops_device),
		T(test_vmmio_features_ok_accepts_offered_subset),
		T(test_vmmio_features_ok_refused_without_version_1),
		T(test_vmmio_features_ok_refused_with_unoffered_feature),
		T(test_vmmio_driver_features_ignored_outside_driver_state),
		T(test_vmmio_driver_features_sel_above_one_is_ignored),
		T(test_vmmio_queue_ready_validates_queue),
		T(test_vmmio_queue_ready_with_bad_address_needs_reset),
		T(test_vmmio_queue_ready_with_bad_size_needs_reset),
		T(test_vmmio_queue_ready_with_misaligned_ring_needs_reset),
		T(test_vmmio_queue_ready_with_wrapping_ring_needs_reset),
		T(test_vmmio_failure_is_reported_once),
		T(test_vmmio_failure_reports_are_rate_limited),
		T(test_vmmio_queue_registers_ignored_before_features_ok),
		T(test_vmmio_queue_registers_ignored_while_ready),
		T(test_vmmio_queue_registers_ignored_after_driver_ok),
		T(test_vmmio_queue_ready_zero_makes_queue_configurable),
		T(test_vmmio_queue_addresses_take_both_halves),
		T(test_vmmio_driver_ok_starts_ready_queues_and_activates),
		T(test_vmmio_driver_ok_without_event_idx_starts_plain),
		T(test_vmmio_activate_failure_needs_reset),
		T(test_vmmio_status_write_back_keeps_needs_reset),
		T(test_vmmio_notify_reaches_device),
		T(test_vmmio_notify_ignored_before_driver_ok),
		T(test_vmmio_notify_ignored_for_absent_or_unready_queue),
		T(test_vmmio_failed_device_gets_no_notify_until_reset),
		T(test_vmmio_signal_used_sets_interrupt_status),
		T(test_vmmio_signal_used_honours_no_interrupt),
		T(test_vmmio_signal_used_ignored_when_inactive),
		T(test_vmmio_interrupt_ack_clears_bits),
		T(test_vmmio_config_changed_bumps_generation),
		T(test_vmmio_config_space_is_passed_through),
		T(test_vmmio_config_access_past_window_is_ignored),
		T(test_vmmio_misaligned_and_wrong_size_accesses_are_ignored),
		T(test_vmmio_unknown_and_write_only_offsets_read_zero),
		T(test_vmmio_shm_registers_read_all_ones),
		T(test_vmmio_restore_takes_its_own_state),
		T(test_vmmio_restore_refuses_features_ok_without_version_1),
		T(test_vmmio_restore_refuses_a_ready_queue_before_features_ok),
		T(test_vmmio_create_rejects_bad_arguments),
		T(test_vmmio_create_reports_allocation_failures),
		T(test_vmmio_works_without_irq_and_callbacks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
