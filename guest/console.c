/* SPDX-License-Identifier: MIT */
/*
 * console.c - the virtio-console driver: setup, buffered output in large
 * chains, input through a set of posted receive buffers, all by polling.
 */
#include "console.h"
#include "lib.h"

/* How often a wait reads Status to see DEVICE_NEEDS_RESET. */
#define STATUS_CHECK_MS 10
#define NEEDS_RESET_MSG "the device set DEVICE_NEEDS_RESET"

static void set_status(struct con *c, uint32_t status)
{
	vmmio_write(c->base, VMMIO_STATUS, status);
}

uint32_t con_status(struct con *c)
{
	return vmmio_read(c->base, VMMIO_STATUS);
}

static void post_rx(struct con *c)
{
	struct vring_desc *d;
	uint16_t i;

	for (i = 0; i < c->rx_bufs; i++) {
		d = vq_desc(&c->rx, i);
		d->addr = (uintptr_t)c->rx_buf[i];
		d->len = CON_RX_BUF_SIZE;
		d->flags = VRING_DESC_F_WRITE;
		d->next = 0;
		vq_add(&c->rx, i);
	}
	vq_publish(&c->rx);
	vq_kick(&c->rx);
}

static void forget(struct con *c)
{
	c->up = false;
	c->failed = false;
	c->error = NULL;
	c->rx_have = false;
	c->tx_cur = 0;
	c->tx_fill = 0;
	memset(c->tx_busy, 0, sizeof(c->tx_busy));
	c->next_status_check = 0;
}

/* The device broke the protocol or asked for a reset: stop using it. */
static int fail(struct con *c, const char *why)
{
	c->failed = true;
	c->error = why;
	return -EIO;
}

int con_reset(struct con *c)
{
	forget(c);
	return vmmio_reset(c->base);
}

int con_setup(struct con *c, uintptr_t base, const struct con_quirks *quirks)
{
	uint32_t status = 0;
	uint16_t rx_size, tx_size;
	uint64_t offered;
	int ret;

	c->base = base;
	ret = con_reset(c);
	if (ret)
		return ret;
	status |= VIRTIO_STATUS_ACKNOWLEDGE;
	set_status(c, status);
	status |= VIRTIO_STATUS_DRIVER;
	set_status(c, status);

	offered = vmmio_device_features(base);
	if (!(offered & (1ull << VIRTIO_F_VERSION_1))) {
		ret = -ENOTSUP;
		goto err_fail;
	}
	c->features = (1ull << VIRTIO_F_VERSION_1) |
		      (offered & (1ull << VIRTIO_CONSOLE_F_SIZE));
	vmmio_set_driver_features(base, c->features);
	status |= VIRTIO_STATUS_FEATURES_OK;
	set_status(c, status);
	if (!(con_status(c) & VIRTIO_STATUS_FEATURES_OK)) {
		ret = -ENODEV;
		goto err_fail;
	}

	rx_size = vmmio_queue_size(base, 0);
	if (!rx_size) {
		ret = -ENODEV;
		goto err_fail;
	}
	vq_setup(&c->rx, base, 0, rx_size, &c->rx_mem, NULL);
	tx_size = vmmio_queue_size(base, 1);
	if (!tx_size) {
		ret = -ENODEV;
		goto err_fail;
	}
	vq_setup(&c->tx, base, 1, tx_size, &c->tx_mem,
		 quirks ? quirks->tx_gpas : NULL);
	c->rx_bufs = MIN(CON_RX_BUFS, rx_size);
	c->tx_slots = MIN(CON_TX_SLOTS, tx_size);
	c->tx_chain = MIN(CON_TX_CHAIN, tx_size / c->tx_slots);

	status |= VIRTIO_STATUS_DRIVER_OK;
	set_status(c, status);
	c->up = true;
	if (con_status(c) & VIRTIO_STATUS_NEEDS_RESET)
		return fail(c, "DEVICE_NEEDS_RESET right after DRIVER_OK");
	if (!(quirks && quirks->no_rx))
		post_rx(c);
	return 0;

err_fail:
	/* Tell the device we gave up on it. */
	set_status(c, status | VIRTIO_STATUS_FAILED);
	return ret;
}

/*
 * Read Status if the last look was STATUS_CHECK_MS ago or more: each read
 * is an exit to the VMM, too slow to do on every poll.
 */
static int check_status(struct con *c, uint64_t now)
{
	if (now < c->next_status_check)
		return 0;
	c->next_status_check = tsc_deadline(STATUS_CHECK_MS);
	if (con_status(c) & VIRTIO_STATUS_NEEDS_RESET)
		return fail(c, NEEDS_RESET_MSG);
	return 0;
}

/*
 * Wait until vq has a used element, checking Status now and then.
 * @deadline: TSC value, 0 for none.
 */
static int wait_used(struct con *c, struct vq *vq, uint64_t deadline)
{
	uint64_t now;
	int ret;

	for (;;) {
		if (vq_has_used(vq))
			return 0;
		now = rdtsc();
		if (deadline && now > deadline)
			return -ETIMEDOUT;
		ret = check_status(c, now);
		if (ret)
			return ret;
		cpu_relax();
	}
}

/* Take back the transmit chains the device has finished with. */
static int tx_reap(struct con *c)
{
	uint32_t id, len, slot;

	while (vq_get_used(&c->tx, &id, &len)) {
		slot = id / c->tx_chain;
		/* Only heads we handed out may come back, and only once. */
		if (id % c->tx_chain || slot >= c->tx_slots ||
		    !c->tx_busy[slot])
			return fail(c, "the device returned a transmit chain "
				       "it was not given");
		c->tx_busy[slot] = false;
	}
	return 0;
}

static int tx_wait_slot(struct con *c, uint16_t slot, uint64_t deadline)
{
	int ret;

	for (;;) {
		ret = tx_reap(c);
		if (ret)
			return ret;
		if (!c->tx_busy[slot])
			return 0;
		ret = wait_used(c, &c->tx, deadline);
		if (ret)
			return ret;
	}
}

/* Hand the buffer being filled to the device as one chain. */
static void tx_submit(struct con *c)
{
	uint32_t chunk = CON_TX_SLOT_SIZE / c->tx_chain;
	uint16_t head = c->tx_cur * c->tx_chain;
	uint8_t *buf = c->tx_buf[c->tx_cur];
	uint32_t off = 0, n;
	struct vring_desc *d;
	uint16_t i = head;

	for (;;) {
		n = MIN(chunk, c->tx_fill - off);
		d = vq_desc(&c->tx, i);
		d->addr = (uintptr_t)(buf + off);
		d->len = n;
		off += n;
		if (off == c->tx_fill) {
			d->flags = 0;
			d->next = 0;
			break;
		}
		d->flags = VRING_DESC_F_NEXT;
		d->next = i + 1;
		i++;
	}
	c->tx_busy[c->tx_cur] = true;
	vq_add(&c->tx, head);
	vq_publish(&c->tx);
	vq_kick(&c->tx);
	c->tx_cur = (c->tx_cur + 1) % c->tx_slots;
	c->tx_fill = 0;
}

static int usable(struct con *c)
{
	if (!c->up || c->failed)
		return -EIO;
	return 0;
}

int con_flood(struct con *c)
{
	struct vq *vq = &c->tx;
	struct vring_desc *d;
	unsigned spins = 0;
	int ret = con_drain(c, 0);

	if (ret)
		return ret;
	/* Every chain is descriptor 0: one byte of the first buffer. */
	d = vq_desc(vq, 0);
	d->addr = (uintptr_t)c->tx_buf[0];
	d->len = 1;
	d->flags = 0;
	d->next = 0;
	/* No interrupts: used.idx is all we look at. */
	vq->mem->avail.flags = VRING_AVAIL_F_NO_INTERRUPT;
	for (;;) {
		uint16_t used = __atomic_load_n(&vq->mem->used.idx,
						__ATOMIC_ACQUIRE);

		uint16_t room = vq->size - (uint16_t)(vq->avail_idx - used);

		if (room) {
			/* All the room at once, one index store. */
			while (room--)
				vq_add(vq, 0);
			vq_publish(vq);
			vq_kick(vq);
			continue;
		}
		/* The time stamp now and then only: it may cost an exit. */
		if ((++spins & 4095) == 0) {
			ret = check_status(c, rdtsc());
			if (ret)
				return ret;
		}
		cpu_relax();
	}
}

int con_flush(struct con *c)
{
	int ret = usable(c);

	if (ret)
		return ret;
	if (c->tx_fill)
		tx_submit(c);
	return 0;
}

int con_tx_space(struct con *c, uint8_t **p, size_t *room)
{
	int ret = usable(c);

	if (ret)
		return ret;
	if (c->tx_fill == 0) {
		ret = tx_wait_slot(c, c->tx_cur, 0);
		if (ret)
			return ret;
	}
	*p = c->tx_buf[c->tx_cur] + c->tx_fill;
	*room = CON_TX_SLOT_SIZE - c->tx_fill;
	return 0;
}

int con_tx_commit(struct con *c, size_t n)
{
	c->tx_fill += n;
	if (c->tx_fill == CON_TX_SLOT_SIZE)
		tx_submit(c);
	return 0;
}

int con_write(struct con *c, const void *buf, size_t len)
{
	const uint8_t *s = buf;
	size_t room, n;
	uint8_t *p;
	int ret;

	while (len) {
		ret = con_tx_space(c, &p, &room);
		if (ret)
			return ret;
		n = MIN(len, room);
		memcpy(p, s, n);
		con_tx_commit(c, n);
		s += n;
		len -= n;
	}
	return 0;
}

int con_puts(struct con *c, const char *s)
{
	return con_write(c, s, strlen(s));
}

int con_printf(struct con *c, const char *f, ...)
{
	char buf[512];
	va_list ap;
	size_t n;

	va_start(ap, f);
	n = vfmt(buf, sizeof(buf), f, ap);
	va_end(ap);
	return con_write(c, buf, MIN(n, sizeof(buf) - 1));
}

int con_drain(struct con *c, uint64_t deadline)
{
	uint16_t i;
	int ret;

	ret = con_flush(c);
	if (ret)
		return ret;
	for (i = 0; i < c->tx_slots; i++) {
		ret = tx_wait_slot(c, i, deadline);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Copy what the device has put in receive buffers into buf, putting each
 * buffer back on the queue once it is read. Return: bytes copied, or a
 * negative errno.
 */
static long rx_take(struct con *c, uint8_t *buf, size_t len)
{
	bool repost = false;
	uint32_t id, n;
	size_t got = 0;

	while (got < len) {
		if (!c->rx_have) {
			if (!vq_get_used(&c->rx, &id, &c->rx_len))
				break;
			if (id >= c->rx_bufs || c->rx_len > CON_RX_BUF_SIZE)
				return fail(c, "the device returned a bad "
					       "receive buffer");
			c->rx_id = id;
			c->rx_off = 0;
			c->rx_have = true;
		}
		n = MIN(len - got, c->rx_len - c->rx_off);
		memcpy(buf + got, c->rx_buf[c->rx_id] + c->rx_off, n);
		got += n;
		c->rx_off += n;
		if (c->rx_off == c->rx_len) {
			vq_add(&c->rx, (uint16_t)c->rx_id);
			c->rx_have = false;
			repost = true;
		}
	}
	if (repost) {
		vq_publish(&c->rx);
		vq_kick(&c->rx);
	}
	return (long)got;
}

int con_read(struct con *c, void *buf, size_t len, size_t *got)
{
	long n;
	int ret;

	for (;;) {
		ret = usable(c);
		if (ret)
			return ret;
		n = rx_take(c, buf, len);
		if (n < 0)
			return (int)n;
		if (n > 0) {
			*got = (size_t)n;
			return 0;
		}
		/* Nothing to read: let the output out before waiting. */
		ret = con_flush(c);
		if (ret)
			return ret;
		ret = wait_used(c, &c->rx, 0);
		if (ret)
			return ret;
	}
}

int con_try_read(struct con *c, void *buf, size_t len, size_t *got)
{
	long n;
	int ret;

	*got = 0;
	ret = usable(c);
	if (!ret)
		ret = check_status(c, rdtsc());
	if (ret)
		return ret;
	n = rx_take(c, buf, len);
	if (n < 0)
		return (int)n;
	*got = (size_t)n;
	return 0;
}

void con_emerg_puts(uintptr_t base, const char *s)
{
	uint64_t offered = vmmio_device_features(base);

	if (!(offered & (1ull << VIRTIO_CONSOLE_F_EMERG_WRITE)))
		return;
	for (; *s; s++)
		vmmio_write(base, VMMIO_CONFIG + VIRTIO_CONSOLE_EMERG_WR,
			    (uint8_t)*s);
}
