/* SPDX-License-Identifier: MIT */
/*
 * mmio.c - the virtio-mmio version 2 transport: registers, the status state
 * machine, feature negotiation, queue setup and its checks, interrupts.
 *
 * Everything the guest can reach goes through the register window, and
 * every access takes the transport's lock, so a vCPU thread and the event
 * loop never see the device half-changed.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/memory.h>

#include "../devices/device.h"
#include "../state.h"
#include "../util.h"
#include "mmio.h"
#include "queue.h"


#define VMMIO_VERSION 2

/* InterruptStatus bits. */
#define INT_USED 1u
#define INT_CONFIG 2u

/* Device-specific feature bits; the transport decides bits 24 and up. */
#define DEVICE_FEATURE_MASK ((1ull << 24) - 1)

/* Status values of the forward path. */
#define ST_ACK VIRTIO_STATUS_ACKNOWLEDGE
#define ST_DRIVER (ST_ACK | VIRTIO_STATUS_DRIVER)
#define ST_FEATURES_OK (ST_DRIVER | VIRTIO_STATUS_FEATURES_OK)
#define ST_DRIVER_OK (ST_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK)

/* More queues than any device of ours needs; bounds the allocation. */
#define VMMIO_MAX_QUEUES 64

struct vmmio {
	pthread_mutex_t lock;
	char name[32];
	const struct virtio_dev_ops *ops;
	void *dev;
	struct vmmem *mem; /* our reference */
	struct vmmio_irq irq;
	struct virtio_irq seam; /* what the device gets at activation */

	/*
	 * Changed under the lock by register writes, and also by the device
	 * through the seam, which takes no lock: hence atomic. The device
	 * only sets bits (NEEDS_RESET, InterruptStatus) while it is active.
	 */
	uint32_t status;
	uint32_t isr; /* InterruptStatus */
	uint32_t config_gen;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	struct virtq *queues; /* ops->num_queues of them */
	/* Failure reports: once per failure, and a guest that fails the
	 * device after every reset gets a few lines, then a count. */
	struct ratelimit fail_log;
	char fail_what[64];
};

static uint64_t offered_features(const struct vmmio *t)
{
	uint64_t f = t->ops->features ? t->ops->features(t->dev) : 0;

	return (f & DEVICE_FEATURE_MASK) | 1ull << VIRTIO_F_VERSION_1 |
	       1ull << VIRTIO_F_EVENT_IDX;
}

static void raise_irq(struct vmmio *t)
{
	if (t->irq.raise)
		t->irq.raise(t->irq.opaque);
}

/* The selected queue, or NULL when QueueSel names no queue. */
static struct virtq *selected_queue(struct vmmio *t)
{
	if (t->queue_sel >= t->ops->num_queues)
		return NULL;
	return &t->queues[t->queue_sel];
}

bool vmmio_unpoll(struct vmmio *t)
{
	if (!t->ops->unpoll || !vmmio_active(t))
		return false;
	return t->ops->unpoll(t->dev);
}

static void device_reset(struct vmmio *t);

static uint32_t status(const struct vmmio *t)
{
	return __atomic_load_n(&t->status, __ATOMIC_ACQUIRE);
}

static void set_status(struct vmmio *t, uint32_t v)
{
	__atomic_store_n(&t->status, v, __ATOMIC_RELEASE);
}

static bool failed(const struct vmmio *t)
{
	return status(t) & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED);
}

static void set_isr(struct vmmio *t, uint32_t bits)
{
	__atomic_fetch_or(&t->isr, bits, __ATOMIC_ACQ_REL);
}

/* The seam (virtio.h): device-side calls, lock-free. */

static void seam_signal_used(void *opaque, unsigned q)
{
	struct vmmio *t = opaque;

	if (q >= t->ops->num_queues || !vmmio_active(t))
		return;
	if (!virtq_should_signal(&t->queues[q]))
		return;
	set_isr(t, INT_USED);
	raise_irq(t);
}

static void seam_config_changed(void *opaque)
{
	struct vmmio *t = opaque;

	__atomic_fetch_add(&t->config_gen, 1, __ATOMIC_ACQ_REL);
	/* Before DRIVER_OK the driver reads the configuration when it gets
	 * there; the new generation is enough. */
	if (!(status(t) & VIRTIO_STATUS_DRIVER_OK))
		return;
	set_isr(t, INT_CONFIG);
	raise_irq(t);
}

static void seam_fail(void *opaque, const char *why)
{
	struct vmmio *t = opaque;
	uint32_t old;

	/* Once per failure: the first report is the one that matters, and
	 * a guest must not be able to flood the log. */
	old = __atomic_fetch_or(&t->status, VIRTIO_STATUS_NEEDS_RESET,
				__ATOMIC_ACQ_REL);
	if (old & VIRTIO_STATUS_NEEDS_RESET)
		return;
	set_isr(t, INT_CONFIG);
	pr_err_ratelimited(&t->fail_log, "%s: %s", t->name, why);
	raise_irq(t);
}

int vmmio_create(const char *name, const struct virtio_dev_ops *ops, void *dev,
		 struct vmmem *mem, const struct vmmio_irq *irq,
		 struct vmmio **out)
{
	struct vmmio *t;
	int ret = -EINVAL;

	if (!name || !ops || !mem || !out)
		return -EINVAL;
	if (ops->num_queues == 0 || ops->num_queues > VMMIO_MAX_QUEUES ||
	    ops->queue_max == 0 || ops->queue_max > VIRTQ_MAX_SIZE)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->queues = calloc(ops->num_queues, sizeof(*t->queues));
	if (!t->queues) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = -pthread_mutex_init(&t->lock, NULL);
	if (ret)
		goto err_free_queues;
	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->fail_what, sizeof(t->fail_what), "%s: device failures",
		 t->name);
	ratelimit_init(&t->fail_log, t->fail_what);
	t->ops = ops;
	t->dev = dev;
	t->mem = vmmem_ref(mem);
	if (irq)
		t->irq = *irq;
	t->seam = (struct virtio_irq){
		.signal_used = seam_signal_used,
		.config_changed = seam_config_changed,
		.fail = seam_fail,
		.opaque = t,
	};
	*out = t;
	return 0;

err_free_queues:
	free(t->queues);
err_free:
	free(t);
	return ret;
}

void vmmio_destroy(struct vmmio *t)
{
	if (!t)
		return;
	ratelimit_fini(&t->fail_log);
	pthread_mutex_destroy(&t->lock);
	vmmem_destroy(t->mem);
	free(t->queues);
	free(t);
}

static void lock(struct vmmio *t)
{
	pthread_mutex_lock(&t->lock);
}

static void unlock(struct vmmio *t)
{
	pthread_mutex_unlock(&t->lock);
}

bool vmmio_active(const struct vmmio *t)
{
	return (status(t) & VIRTIO_STATUS_DRIVER_OK) && !failed(t);
}

const struct virtio_irq *vmmio_irq(const struct vmmio *t)
{
	return &t->seam;
}

unsigned vmmio_num_queues(const struct vmmio *t)
{
	return t->ops->num_queues;
}

static void queue_fail(struct vmmio *t, unsigned q, const char *why)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "queue %u: %s", q, why ? why : "invalid");
	seam_fail(t, msg);
}

/* Deliver a notification of queue q to the device, lock held. */
static void notify_locked(struct vmmio *t, uint32_t q)
{
	/* A stopped device, or a queue that is not live, hears nothing. */
	if (!vmmio_active(t) || q >= t->ops->num_queues || !t->queues[q].ready)
		return;
	if (t->ops->notify)
		t->ops->notify(t->dev, q);
}

void vmmio_notify(struct vmmio *t, unsigned q)
{
	lock(t);
	notify_locked(t, q);
	unlock(t);
}

bool vmmio_poll(struct vmmio *t)
{
	/* The device checks its own state under its own lock; the transport
	 * only keeps a stopped device from being called. */
	if (!t->ops->poll || !vmmio_active(t))
		return false;
	return t->ops->poll(t->dev);
}

static void device_reset(struct vmmio *t)
{
	unsigned i;

	if (t->ops->reset)
		t->ops->reset(t->dev);
	for (i = 0; i < t->ops->num_queues; i++)
		virtq_reset(&t->queues[i]);
	set_status(t, 0);
	__atomic_store_n(&t->isr, 0, __ATOMIC_RELEASE);
	t->device_features_sel = 0;
	t->driver_features_sel = 0;
	t->driver_features = 0;
	t->queue_sel = 0;
	/* config_gen keeps counting: a driver comparing generations across
	 * the reset must still see a change. */
}

static void features_ok(struct vmmio *t)
{
	uint64_t unknown = t->driver_features & ~offered_features(t);

	/* Refusing means leaving the bit clear: the driver reads Status
	 * back and gives up. */
	if (unknown) {
		pr_debug("%s: driver accepted unoffered features %#llx",
			 t->name, (unsigned long long)unknown);
		return;
	}
	if (!(t->driver_features & 1ull << VIRTIO_F_VERSION_1)) {
		pr_debug("%s: driver did not accept VERSION_1 (legacy driver)",
			 t->name);
		return;
	}
	set_status(t, ST_FEATURES_OK);
}

static void driver_ok(struct vmmio *t)
{
	bool event_idx = t->driver_features & 1ull << VIRTIO_F_EVENT_IDX;
	unsigned i;
	int rc;

	set_status(t, ST_DRIVER_OK);
	for (i = 0; i < t->ops->num_queues; i++) {
		struct virtq *q = &t->queues[i];

		if (!q->ready)
			continue;
		/* Checked at QueueReady and unchangeable since; checking
		 * again costs little and keeps the device's promise local. */
		if (virtq_validate(q, t->mem, t->ops->queue_max)) {
			queue_fail(t, i, virtq_error(q));
			return;
		}
		virtq_start(q, t->mem, event_idx);
	}
	pr_debug("%s: driver ok, features %#llx", t->name,
		 (unsigned long long)t->driver_features);
	if (!t->ops->activate)
		return;
	rc = t->ops->activate(t->dev, t->driver_features, t->queues,
			      &t->seam);
	if (rc < 0) {
		char msg[96];

		snprintf(msg, sizeof(msg), "activation failed: %s",
			 strerror(-rc));
		seam_fail(t, msg);
	}
}

static void write_status(struct vmmio *t, uint32_t val)
{
	/* Drivers write back what they read, NEEDS_RESET included. */
	uint32_t want = val & ~VIRTIO_STATUS_NEEDS_RESET, cur;

	if (val == 0) {
		device_reset(t);
		return;
	}
	if (want & VIRTIO_STATUS_FAILED) {
		/* The driver gave up: stop until it resets. */
		__atomic_fetch_or(&t->status, VIRTIO_STATUS_FAILED,
				  __ATOMIC_ACQ_REL);
		return;
	}
	cur = status(t);
	if (failed(t) || want == cur)
		return;
	/* Only the next step of the forward path is accepted. */
	if (cur == 0 && want == ST_ACK)
		set_status(t, ST_ACK);
	else if (cur == ST_ACK && want == ST_DRIVER)
		set_status(t, ST_DRIVER);
	else if (cur == ST_DRIVER && want == ST_FEATURES_OK)
		features_ok(t);
	else if (cur == ST_FEATURES_OK && want == ST_DRIVER_OK)
		driver_ok(t);
	else
		pr_debug("%s: status %#x -> %#x refused", t->name, cur, val);
}

static void write_queue_ready(struct vmmio *t, struct virtq *q, uint32_t val)
{
	if (val == 0) {
		q->ready = false;
		return;
	}
	if (val != 1 || q->ready)
		return;
	if (virtq_validate(q, t->mem, t->ops->queue_max)) {
		queue_fail(t, t->queue_sel, virtq_error(q));
		return;
	}
	q->ready = true;
}

/* Replace the low or high half of a 64-bit value. */
static void set_half(uint64_t *v, uint32_t val, bool high)
{
	if (high)
		*v = (*v & 0xffffffffull) | (uint64_t)val << 32;
	else
		*v = (*v & ~0xffffffffull) | val;
}

static void write_queue_reg(struct vmmio *t, uint64_t off, uint32_t val)
{
	struct virtq *q = selected_queue(t);

	/*
	 * The queue is set up after FEATURES_OK and before DRIVER_OK, and
	 * does not change while ready: virtq_validate() checked exactly the
	 * values the device will use.
	 */
	if (!q || status(t) != ST_FEATURES_OK)
		return;
	if (off == VMMIO_REG_QUEUE_READY) {
		write_queue_ready(t, q, val);
		return;
	}
	if (q->ready)
		return;
	switch (off) {
	case VMMIO_REG_QUEUE_SIZE:
		/* A size that does not fit 16 bits becomes 0, which
		 * virtq_validate() refuses like any other bad size. */
		q->size = val > 0xffff ? 0 : (uint16_t)val;
		break;
	case VMMIO_REG_QUEUE_DESC_LOW:
	case VMMIO_REG_QUEUE_DESC_HIGH:
		set_half(&q->desc, val, off == VMMIO_REG_QUEUE_DESC_HIGH);
		break;
	case VMMIO_REG_QUEUE_DRIVER_LOW:
	case VMMIO_REG_QUEUE_DRIVER_HIGH:
		set_half(&q->avail, val, off == VMMIO_REG_QUEUE_DRIVER_HIGH);
		break;
	case VMMIO_REG_QUEUE_DEVICE_LOW:
	case VMMIO_REG_QUEUE_DEVICE_HIGH:
		set_half(&q->used, val, off == VMMIO_REG_QUEUE_DEVICE_HIGH);
		break;
	}
}

static void write_reg(struct vmmio *t, uint64_t off, uint32_t val)
{
	switch (off) {
	case VMMIO_REG_DEVICE_FEATURES_SEL:
		t->device_features_sel = val;
		break;
	case VMMIO_REG_DRIVER_FEATURES_SEL:
		t->driver_features_sel = val;
		break;
	case VMMIO_REG_DRIVER_FEATURES:
		/* Only while negotiating: afterwards the device already
		 * acts on the accepted set. */
		if (status(t) != ST_DRIVER || t->driver_features_sel > 1)
			break;
		set_half(&t->driver_features, val, t->driver_features_sel == 1);
		break;
	case VMMIO_REG_QUEUE_SEL:
		t->queue_sel = val;
		break;
	case VMMIO_REG_QUEUE_SIZE:
	case VMMIO_REG_QUEUE_READY:
	case VMMIO_REG_QUEUE_DESC_LOW:
	case VMMIO_REG_QUEUE_DESC_HIGH:
	case VMMIO_REG_QUEUE_DRIVER_LOW:
	case VMMIO_REG_QUEUE_DRIVER_HIGH:
	case VMMIO_REG_QUEUE_DEVICE_LOW:
	case VMMIO_REG_QUEUE_DEVICE_HIGH:
		write_queue_reg(t, off, val);
		break;
	case VMMIO_REG_QUEUE_NOTIFY:
		notify_locked(t, val);
		break;
	case VMMIO_REG_INTERRUPT_ACK:
		__atomic_fetch_and(&t->isr, ~val, __ATOMIC_ACQ_REL);
		break;
	case VMMIO_REG_STATUS:
		write_status(t, val);
		break;
	}
}

static uint32_t read_reg(struct vmmio *t, uint64_t off)
{
	struct virtq *q = selected_queue(t);

	switch (off) {
	case VMMIO_REG_MAGIC:
		return VMMIO_MAGIC;
	case VMMIO_REG_VERSION:
		return VMMIO_VERSION;
	case VMMIO_REG_DEVICE_ID:
		return t->ops->device_id;
	case VMMIO_REG_VENDOR_ID:
		return VMMIO_VENDOR_ID;
	case VMMIO_REG_DEVICE_FEATURES:
		if (t->device_features_sel > 1)
			return 0;
		return (uint32_t)(offered_features(t) >>
				  (32 * t->device_features_sel));
	case VMMIO_REG_QUEUE_SIZE_MAX:
		return q ? t->ops->queue_max : 0;
	case VMMIO_REG_QUEUE_READY:
		return q ? q->ready : 0;
	case VMMIO_REG_INTERRUPT_STATUS:
		return __atomic_load_n(&t->isr, __ATOMIC_ACQUIRE);
	case VMMIO_REG_STATUS:
		return status(t);
	case VMMIO_REG_SHM_LEN_LOW:
	case VMMIO_REG_SHM_LEN_HIGH:
	case VMMIO_REG_SHM_BASE_LOW:
	case VMMIO_REG_SHM_BASE_HIGH:
		/* No shared memory regions: length and base read as -1. */
		return 0xffffffff;
	case VMMIO_REG_CONFIG_GENERATION:
		return __atomic_load_n(&t->config_gen, __ATOMIC_ACQUIRE);
	}
	return 0;
}

/* Control registers are 32 bits wide and accessed only aligned. */
static bool control_access_ok(uint64_t off, unsigned len)
{
	return len == 4 && off % 4 == 0;
}

static bool config_access_ok(uint64_t off, unsigned len)
{
	return len >= 1 && len <= 8 && off >= VMMIO_REG_CONFIG &&
	       off < VMMIO_WINDOW && len <= VMMIO_WINDOW - off;
}

static void window_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct vmmio *t = opaque;
	uint32_t v;

	if (!data || len == 0 || len > 8)
		return;
	memset(data, 0, len);
	lock(t);
	if (off >= VMMIO_REG_CONFIG) {
		if (config_access_ok(off, len) && t->ops->config_read)
			t->ops->config_read(t->dev, off - VMMIO_REG_CONFIG, data,
					    len);
	} else if (control_access_ok(off, len)) {
		v = htole32(read_reg(t, off));
		memcpy(data, &v, 4);
	}
	unlock(t);
}

static void window_write(void *opaque, uint64_t off, const void *data,
			 unsigned len)
{
	struct vmmio *t = opaque;
	uint32_t v;

	if (!data || len == 0 || len > 8)
		return;
	lock(t);
	if (off >= VMMIO_REG_CONFIG) {
		/* Passed on in every state: the console's emerg_wr must work
		 * on an unconfigured device. */
		if (config_access_ok(off, len) && t->ops->config_write)
			t->ops->config_write(t->dev, off - VMMIO_REG_CONFIG, data,
					     len);
	} else if (control_access_ok(off, len)) {
		memcpy(&v, data, 4);
		write_reg(t, off, le32toh(v));
	}
	unlock(t);
}

const struct bus_ops vmmio_bus_ops = {
	.read = window_read,
	.write = window_write,
};

/* Saved state. */

/* Layout version of the transport's section, checked on restore. */
#define VMMIO_STATE_VERSION 1

static void mmio_reset(void *opaque)
{
	struct vmmio *t = opaque;

	lock(t);
	device_reset(t);
	unlock(t);
}

static int mmio_save(void *opaque, struct state_buf *b)
{
	struct vmmio *t = opaque;
	uint32_t st;
	unsigned i;
	int rc = 0;

	lock(t);
	st = status(t);
	state_put_u32(b, VMMIO_STATE_VERSION);
	state_put_u32(b, t->ops->device_id);
	state_put_u32(b, t->ops->num_queues);
	state_put_u32(b, st);
	state_put_u32(b, __atomic_load_n(&t->isr, __ATOMIC_ACQUIRE));
	state_put_u32(b, __atomic_load_n(&t->config_gen, __ATOMIC_ACQUIRE));
	state_put_u32(b, t->device_features_sel);
	state_put_u32(b, t->driver_features_sel);
	state_put_u64(b, t->driver_features);
	state_put_u32(b, t->queue_sel);
	for (i = 0; i < t->ops->num_queues; i++) {
		const struct virtq *q = &t->queues[i];

		state_put_u16(b, q->size);
		state_put_u8(b, q->ready);
		state_put_u64(b, q->desc);
		state_put_u64(b, q->avail);
		state_put_u64(b, q->used);
	}
	/* A live device: the queues' positions and the device's own state.
	 * A failed one is reset by its driver before it is used again. */
	if (vmmio_active(t)) {
		for (i = 0; i < t->ops->num_queues; i++)
			if (t->queues[i].ready)
				virtq_save(&t->queues[i], b);
		if (t->ops->save)
			rc = t->ops->save(t->dev, b);
	}
	unlock(t);
	return rc ? rc : b->err;
}

/* A status the forward path can reach, with or without the stop bits. */
static bool status_valid(uint32_t st)
{
	uint32_t path = st & ~(VIRTIO_STATUS_NEEDS_RESET |
			       VIRTIO_STATUS_FAILED);

	return path == 0 || path == ST_ACK || path == ST_DRIVER ||
	       path == ST_FEATURES_OK || path == ST_DRIVER_OK;
}

static int restore_locked(struct vmmio *t, struct state_rd *r)
{
	uint32_t st;
	bool event_idx;
	unsigned i;

	if (state_get_u32(r) != VMMIO_STATE_VERSION ||
	    state_get_u32(r) != t->ops->device_id ||
	    state_get_u32(r) != t->ops->num_queues)
		return -EBADMSG;
	st = state_get_u32(r);
	__atomic_store_n(&t->isr, state_get_u32(r) & (INT_USED | INT_CONFIG),
			 __ATOMIC_RELEASE);
	__atomic_store_n(&t->config_gen, state_get_u32(r), __ATOMIC_RELEASE);
	t->device_features_sel = state_get_u32(r);
	t->driver_features_sel = state_get_u32(r);
	t->driver_features = state_get_u64(r);
	t->queue_sel = state_get_u32(r);
	/* As features_ok() would: FEATURES_OK means VERSION_1 accepted. */
	if (r->err || !status_valid(st) ||
	    (t->driver_features & ~offered_features(t)) ||
	    ((st & VIRTIO_STATUS_FEATURES_OK) &&
	     !(t->driver_features & 1ull << VIRTIO_F_VERSION_1)))
		return -EBADMSG;
	for (i = 0; i < t->ops->num_queues; i++) {
		struct virtq *q = &t->queues[i];

		q->size = state_get_u16(r);
		q->ready = state_get_u8(r) != 0;
		q->desc = state_get_u64(r);
		q->avail = state_get_u64(r);
		q->used = state_get_u64(r);
		/* A ready queue passed these checks when the driver set it
		 * ready, which it can only do after FEATURES_OK; the file
		 * must not skip them. */
		if (q->ready && (!(st & VIRTIO_STATUS_FEATURES_OK) ||
				 virtq_validate(q, t->mem, t->ops->queue_max)))
			return -EBADMSG;
	}
	if (r->err)
		return -EBADMSG;
	set_status(t, st);
	if (!vmmio_active(t))
		return 0;
	event_idx = t->driver_features & 1ull << VIRTIO_F_EVENT_IDX;
	for (i = 0; i < t->ops->num_queues; i++)
		if (t->queues[i].ready &&
		    virtq_restore(&t->queues[i], t->mem, event_idx, r))
			return -EBADMSG;
	if (t->ops->restore)
		return t->ops->restore(t->dev, r, t->driver_features,
				       t->queues, &t->seam);
	if (t->ops->activate)
		return t->ops->activate(t->dev, t->driver_features, t->queues,
					&t->seam) ? -EBADMSG : 0;
	return 0;
}

static int mmio_restore(void *opaque, struct state_rd *r)
{
	struct vmmio *t = opaque;
	unsigned i;
	int rc;

	lock(t);
	device_reset(t);
	rc = restore_locked(t, r);
	if (!rc)
		rc = state_rd_end(r);
	if (rc) {
		device_reset(t);
		unlock(t);
		return -EBADMSG;
	}
	/*
	 * A notification the guest sent just before the snapshot was still
	 * in its eventfd, which did not travel: look at every queue once, and
	 * interrupt once if anything was pending (a spare interrupt is
	 * harmless, a lost one can hang a driver).
	 */
	for (i = 0; i < t->ops->num_queues; i++)
		notify_locked(t, i);
	if (__atomic_load_n(&t->isr, __ATOMIC_ACQUIRE))
		raise_irq(t);
	unlock(t);
	return 0;
}

const struct device_ops vmmio_device_ops = {
	.reset = mmio_reset,
	.save = mmio_save,
	.restore = mmio_restore,
};
