/* SPDX-License-Identifier: MIT */
/*
 * console.c - virtio-console, port 0: the transmit queue goes to out_fd
 * without a copy, host input fills the buffers the guest posted on the
 * receive queue.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <vmmem/io.h>
#include <vmmem/memory.h>

#include "../util.h"
#include "console.h"
#include "../state.h"
#include "../virtio/queue.h"

#define RXQ 0
#define TXQ 1

/* Configuration space: le16 cols; le16 rows; le32 max_nr_ports;
 * le32 emerg_wr. */
#define CFG_COLS 0
#define CFG_ROWS 2
#define CFG_MAX_NR_PORTS 4
#define CFG_EMERG_WR 8
#define CFG_LEN 12

/* A posted receive chain; its buffers are rx_buf[first .. first + n). */
struct rx_chain {
	uint16_t head;
	uint16_t n;
	unsigned first;
};

struct vcon {
	/*
	 * Taken by every entry point: the transport calls in from vCPU
	 * threads (with its own lock held), the event loop from the main
	 * thread. The seam (irq) takes no lock, so calling it here is safe.
	 */
	pthread_mutex_t lock;
	struct vmmem *mem; /* our reference */
	int out_fd;
	const struct virtio_irq *irq; /* from activation to reset */
	bool active;		      /* activated, not failed or reset */
	uint16_t cols, rows;
	uint64_t features;	 /* negotiated; 0 until activation */
	struct virtq *rxq, *txq; /* live queues, NULL when absent */

	/* Output. */
	bool blocked;	 /* waiting for out_fd */
	bool more;	 /* a slice ran out with output left: call again */
	/* The event loop is polling (con_poll() until con_unpoll()): the
	 * transmit queue's notifications stay off even when it is empty. */
	bool quiet;
	bool out_broken; /* out_fd failed for good: discard */
	bool tx_held;	 /* tx_chain is being sent */
	uint16_t tx_buf; /* its buffer being sent ... */
	uint32_t tx_off; /* ... and the bytes of it already out */
	bool tx_pushed;	 /* a chain was returned this round */
	uint64_t bytes_out;
	uint64_t bytes_dropped;
	void (*blocked_fn)(void *opaque);
	void *blocked_opaque;

	/* Emergency bytes waiting for out_fd: a ring, oldest at emerg_head. */
	unsigned emerg_head, emerg_len;
	bool emerg_overflow; /* reported this overflow already */
	struct ratelimit overflow_log; /* overflow after overflow */
	unsigned char emerg[VCON_EMERG_BUF];

	/*
	 * Posted receive chains, oldest first, and their buffers. Both are
	 * rings used in order: chains are returned in the order they were
	 * posted, so their buffers are freed in order too. The queue refuses
	 * a descriptor the device already holds, so the chains held never
	 * have more than VIRTQ_MAX_SIZE buffers in all.
	 */
	unsigned rx_first, rx_count;
	unsigned rx_buf_first, rx_buf_count;
	struct rx_chain rx[VIRTQ_MAX_SIZE];
	struct virtq_buf rx_buf[VIRTQ_MAX_SIZE];

	struct virtq_chain tx_chain; /* the chain being sent */
	struct virtq_chain scratch;  /* a receive chain being taken */
};

static bool live(const struct vcon *c)
{
	return c->active;
}

static bool discarding(const struct vcon *c)
{
	return c->out_fd < 0 || c->out_broken;
}

static void fail(struct vcon *c, unsigned q, const char *why)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "queue %u: %s", q, why ? why : "invalid");
	/* The transport stops calling us; the loop's calls see !live(). */
	c->active = false;
	if (c->irq)
		c->irq->fail(c->irq->opaque, msg);
}

static void signal_used(struct vcon *c, unsigned q)
{
	if (live(c))
		c->irq->signal_used(c->irq->opaque, q);
}

static void output_broken(struct vcon *c, int err)
{
	c->out_broken = true;
	c->emerg_len = 0;
	pr_err("console: output: %s; discarding further output",
	       strerror(-err));
}

/*
 * One call's share of work (console.h, "Bounded work"): bytes written,
 * chains taken and time, whether or not output is discarded.
 */
struct slice {
	uint64_t bytes; /* may still be written */
	unsigned chains; /* may still be taken */
	uint64_t end_ns; /* CLOCK_MONOTONIC */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum tx_rc {
	TX_DONE,  /* the chain was sent and returned (or the device failed) */
	TX_FULL,  /* out_fd is full: the chain stays held */
	TX_SLICE, /* the slice's bytes are spent: the chain stays held */
};

/* The most iovecs one writev of a chain gathers (below IOV_MAX). */
#define TX_IOV 64

/*
 * Describe the rest of the held chain, at most max bytes of it, as host
 * iovecs (libvmmem checks each buffer again). Return: the entries filled,
 * or a negative errno for a buffer that is no longer backed.
 */
static int tx_gather(struct vcon *c, uint64_t max, struct iovec *iov,
		     size_t *total)
{
	const struct virtq_chain *ch = &c->tx_chain;
	unsigned k = c->tx_buf;
	uint32_t off = c->tx_off;
	int n = 0;

	*total = 0;
	for (; k < ch->n && n < TX_IOV && *total < max; k++, off = 0) {
		uint64_t len = ch->buf[k].len - off;
		int got, rc;

		if (len > max - *total)
			len = max - *total;
		if (len == 0)
			continue;
		rc = vmmem_get_iovec(c->mem, ch->buf[k].gpa + off, len, 0,
				     iov + n, TX_IOV - n, &got);
		if (rc == -E2BIG && n > 0)
			break;	/* the next writev takes it */
		if (rc)
			return rc;
		n += got;
		*total += len;
	}
	return n;
}

/* Move the held chain's position on by done bytes. */
static void tx_advance(struct vcon *c, size_t done)
{
	const struct virtq_chain *ch = &c->tx_chain;

	while (done && c->tx_buf < ch->n) {
		size_t left = ch->buf[c->tx_buf].len - c->tx_off;

		if (done < left) {
			c->tx_off += (uint32_t)done;
			return;
		}
		done -= left;
		c->tx_buf++;
		c->tx_off = 0;
	}
	/* Empty buffers at the end are passed too. */
	while (c->tx_buf < ch->n && ch->buf[c->tx_buf].len == c->tx_off) {
		c->tx_buf++;
		c->tx_off = 0;
	}
}

/*
 * Send the rest of the held chain, at most s->bytes of it: the buffers of a
 * chain go out in one writev straight from guest memory (a guest that
 * splits its output in several buffers costs one system call, not one per
 * buffer).
 */
static enum tx_rc tx_continue(struct vcon *c, struct slice *s)
{
	struct virtq_chain *ch = &c->tx_chain;
	struct iovec iov[TX_IOV];
	int rc;

	while (c->tx_buf < ch->n && !discarding(c)) {
		size_t want;
		ssize_t done;
		int n;

		if (s->bytes == 0) {
			tx_advance(c, 0);
			if (c->tx_buf == ch->n)
				break;
			return TX_SLICE;
		}
		n = tx_gather(c, s->bytes, iov, &want);
		if (n == -E2BIG) {
			/* One buffer over more regions than TX_IOV: that
			 * buffer alone, with libvmmem's own writev loop. */
			const struct virtq_buf *b = &ch->buf[c->tx_buf];
			size_t len = b->len - c->tx_off, got = 0;

			want = len < s->bytes ? len : (size_t)s->bytes;
			rc = vmmem_write_to_fd(c->mem, b->gpa + c->tx_off, want,
					       c->out_fd, -1, &got);
			done = (ssize_t)got;
			if (rc && !(rc == -EAGAIN && got == 0)) {
				output_broken(c, rc);
				break;
			}
			if (rc)
				return TX_FULL;
		} else if (n < 0) {
			output_broken(c, n);
			break;
		} else if (n == 0) {
			tx_advance(c, 0);
			break;
		} else {
			do
				done = writev(c->out_fd, iov, n);
			while (done < 0 && errno == EINTR);
			if (done < 0) {
				if (errno == EAGAIN)
					return TX_FULL;
				output_broken(c, -errno);
				break;
			}
		}
		tx_advance(c, (size_t)done);
		c->bytes_out += (uint64_t)done;
		s->bytes -= (uint64_t)done;
		if ((size_t)done < want)
			return TX_FULL;
	}
	c->tx_held = false;
	rc = virtq_push(c->txq, ch->head, 0);
	if (rc) {
		fail(c, TXQ, "cannot write the used ring");
		return TX_DONE;
	}
	c->tx_pushed = true;
	return TX_DONE;
}

/* Write out buffered emergency bytes. Return: true when out_fd is full. */
static bool emerg_flush(struct vcon *c)
{
	while (c->emerg_len && !discarding(c)) {
		unsigned run = VCON_EMERG_BUF - c->emerg_head;
		ssize_t n;

		if (run > c->emerg_len)
			run = c->emerg_len;
		n = write(c->out_fd, c->emerg + c->emerg_head, run);
		if (n < 0) {
			int err = -errno;

			if (err == -EINTR)
				continue;
			if (err == -EAGAIN)
				return true;
			output_broken(c, err);
			break;
		}
		if (n == 0) {
			output_broken(c, -EIO);
			break;
		}
		c->emerg_head = (c->emerg_head + n) % VCON_EMERG_BUF;
		c->emerg_len -= n;
		c->bytes_out += n;
	}
	if (discarding(c))
		c->emerg_len = 0;
	if (c->emerg_len == 0) {
		c->emerg_head = 0;
		c->emerg_overflow = false;
	}
	return false;
}

/* Take a new transmit chain. Return: 1, 0 when none, -1 on failure. */
static int tx_take(struct vcon *c)
{
	struct virtq_chain *ch = &c->tx_chain;
	unsigned k;
	int rc;

	rc = virtq_pop(c->txq, ch);
	if (rc < 0) {
		fail(c, TXQ, virtq_error(c->txq));
		return -1;
	}
	if (rc == 0)
		return 0;
	for (k = 0; k < ch->n; k++) {
		if (ch->buf[k].write) {
			fail(c, TXQ,
			     "device-writable buffer on the transmit queue");
			return -1;
		}
	}
	c->tx_held = true;
	c->tx_buf = 0;
	c->tx_off = 0;
	return 1;
}

/*
 * Move output along, in order: the held chain, the emergency bytes, new
 * chains, within one slice. Return (and remember in c->blocked and
 * c->more): whether output is unfinished, because it waits for out_fd or
 * because the slice ran out with work left.
 */
static bool run_output(struct vcon *c)
{
	struct slice s = {
		.bytes = VCON_SLICE_BYTES,
		.end_ns = now_ns() + VCON_SLICE_NS,
	};
	bool rechecked = false;
	enum tx_rc r = TX_DONE;

	c->tx_pushed = false;
	c->more = false;
	if (c->tx_held && c->txq && live(c))
		r = tx_continue(c, &s);
	if (r == TX_DONE && emerg_flush(c))
		r = TX_FULL;
	if (r != TX_DONE || !c->txq || !live(c))
		goto out;
	s.chains = c->txq->size;
	/* While we drain the queue, the guest need not kick us: each kick is
	 * a VM exit on its side and a wake-up on ours. Re-enabled (and the
	 * queue checked once more) when it is empty. */
	virtq_enable_notify(c->txq, false);
	for (;;) {
		int rc;

		/* The slice is spent: come back (the caller is told) rather
		 * than keep the lock and the calling thread. Time is read
		 * every 16 chains; one chain costs at most the bytes left. */
		if (s.chains == 0 || s.bytes == 0 ||
		    ((s.chains & 15) == 0 && now_ns() >= s.end_ns)) {
			if (virtq_has_avail(c->txq) ||
			    (!c->quiet &&
			     virtq_enable_notify(c->txq, true) == 0 &&
			     virtq_has_avail(c->txq)))
				r = TX_SLICE;
			break;
		}
		rc = tx_take(c);
		if (rc < 0)
			break;
		if (rc == 0) {
			/* Ask to be notified, then look once more: a chain
			 * added before the request took effect would
			 * otherwise wait for a notification that never
			 * comes. While the loop polls, it looks anyway. */
			if (c->quiet || rechecked ||
			    virtq_enable_notify(c->txq, true))
				break;
			rechecked = true;
			continue;
		}
		rechecked = false;
		s.chains--;
		r = tx_continue(c, &s);
		if (r != TX_DONE || !live(c))
			break;
	}
out:
	if (c->tx_pushed)
		signal_used(c, TXQ);
	c->tx_pushed = false;
	c->blocked = r == TX_FULL;
	c->more = r == TX_SLICE && live(c);
	return c->blocked || c->more;
}

/* run_output() from anywhere but vcon_output(): tell the loop. */
static void kick_output(struct vcon *c)
{
	if (c->blocked || c->more)
		return;
	if (run_output(c) && c->blocked_fn)
		c->blocked_fn(c->blocked_opaque);
}

/* Take every posted receive chain off the queue and keep it. */
static void rx_take(struct vcon *c)
{
	struct virtq_chain *ch = &c->scratch;
	bool rechecked = false;
	unsigned k;
	int rc;

	if (!c->rxq || !live(c))
		return;
	/* Bounded: the queue hands out at most its size in descriptors
	 * until some are returned, and this loop returns none. */
	for (;;) {
		rc = virtq_pop(c->rxq, ch);
		if (rc < 0) {
			fail(c, RXQ, virtq_error(c->rxq));
			return;
		}
		if (rc == 0) {
			if (rechecked || virtq_enable_notify(c->rxq, true))
				return;
			rechecked = true;
			continue;
		}
		rechecked = false;
		for (k = 0; k < ch->n; k++) {
			if (!ch->buf[k].write) {
				fail(c, RXQ,
				     "device-readable buffer on the receive "
				     "queue");
				return;
			}
		}
		if (c->rx_count == VIRTQ_MAX_SIZE ||
		    ch->n > VIRTQ_MAX_SIZE - c->rx_buf_count) {
			fail(c, RXQ, "too many receive buffers");
			return;
		}
		c->rx[(c->rx_first + c->rx_count) % VIRTQ_MAX_SIZE] =
			(struct rx_chain){
				.head = ch->head,
				.n = ch->n,
				.first = (c->rx_buf_first + c->rx_buf_count) %
					 VIRTQ_MAX_SIZE,
			};
		for (k = 0; k < ch->n; k++)
			c->rx_buf[(c->rx_buf_first + c->rx_buf_count + k) %
				  VIRTQ_MAX_SIZE] = ch->buf[k];
		c->rx_count++;
		c->rx_buf_count += ch->n;
	}
}

static void rx_clear(struct vcon *c)
{
	c->rx_first = 0;
	c->rx_count = 0;
	c->rx_buf_first = 0;
	c->rx_buf_count = 0;
}

static size_t input(struct vcon *c, const void *buf, size_t len)
{
	const unsigned char *src = buf;
	size_t accepted = 0;
	bool pushed = false;

	if (!c || !buf || len == 0 || !c->rxq || !live(c))
		return 0;
	if (c->rx_count == 0)
		rx_take(c);
	while (accepted < len && c->rx_count && live(c)) {
		const struct rx_chain *ch = &c->rx[c->rx_first];
		size_t done = accepted;
		unsigned k;
		int rc;

		for (k = 0; k < ch->n && done < len; k++) {
			const struct virtq_buf *b =
				&c->rx_buf[(ch->first + k) % VIRTQ_MAX_SIZE];
			size_t n = len - done < b->len ? len - done : b->len;

			if (n == 0)
				continue;
			rc = vmmem_write(c->mem, b->gpa, src + done, n);
			if (rc) {
				/* Backed (checked at pop) but read-only. */
				fail(c, RXQ, "receive buffer not writable");
				goto out;
			}
			done += n;
		}
		/* done - accepted <= the chain's writable total, a u32. */
		rc = virtq_push(c->rxq, ch->head, (uint32_t)(done - accepted));
		if (rc) {
			fail(c, RXQ, "cannot write the used ring");
			goto out;
		}
		pushed = true;
		accepted = done;
		c->rx_buf_first = (c->rx_buf_first + ch->n) % VIRTQ_MAX_SIZE;
		c->rx_buf_count -= ch->n;
		c->rx_first = (c->rx_first + 1) % VIRTQ_MAX_SIZE;
		c->rx_count--;
	}
out:
	if (pushed)
		signal_used(c, RXQ);
	return accepted;
}

size_t vcon_input(struct vcon *c, const void *buf, size_t len)
{
	size_t n;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	n = input(c, buf, len);
	pthread_mutex_unlock(&c->lock);
	return n;
}

bool vcon_input_ready(struct vcon *c)
{
	bool ready = false;

	if (!c)
		return false;
	pthread_mutex_lock(&c->lock);
	if (c->rxq && live(c)) {
		if (c->rx_count == 0)
			rx_take(c);
		ready = c->rx_count > 0 && live(c);
	}
	pthread_mutex_unlock(&c->lock);
	return ready;
}

/* Whether the guest queued output we could take now. */
static bool tx_waiting(struct vcon *c)
{
	return c->txq && live(c) && !c->blocked && virtq_has_avail(c->txq);
}

bool vcon_tx_waiting(struct vcon *c)
{
	bool waiting;

	pthread_mutex_lock(&c->lock);
	waiting = tx_waiting(c);
	pthread_mutex_unlock(&c->lock);
	return waiting;
}

bool vcon_output(struct vcon *c)
{
	bool blocked;

	if (!c)
		return false;
	pthread_mutex_lock(&c->lock);
	blocked = run_output(c);
	pthread_mutex_unlock(&c->lock);
	return blocked;
}

bool vcon_output_more(struct vcon *c)
{
	bool more;

	if (!c)
		return false;
	pthread_mutex_lock(&c->lock);
	more = c->more;
	pthread_mutex_unlock(&c->lock);
	return more;
}

bool vcon_output_blocked(struct vcon *c)
{
	bool blocked;

	if (!c)
		return false;
	pthread_mutex_lock(&c->lock);
	blocked = c->blocked;
	pthread_mutex_unlock(&c->lock);
	return blocked;
}

void vcon_set_blocked_cb(struct vcon *c, void (*fn)(void *opaque), void *opaque)
{
	pthread_mutex_lock(&c->lock);
	c->blocked_fn = fn;
	c->blocked_opaque = opaque;
	pthread_mutex_unlock(&c->lock);
}

void vcon_resize(struct vcon *c, uint16_t cols, uint16_t rows)
{
	pthread_mutex_lock(&c->lock);
	c->cols = cols;
	c->rows = rows;
	if (live(c) && (c->features & 1ull << VIRTIO_CONSOLE_F_SIZE))
		c->irq->config_changed(c->irq->opaque);
	pthread_mutex_unlock(&c->lock);
}

uint64_t vcon_bytes_out(struct vcon *c)
{
	uint64_t n;

	pthread_mutex_lock(&c->lock);
	n = c->bytes_out;
	pthread_mutex_unlock(&c->lock);
	return n;
}

uint64_t vcon_bytes_dropped(struct vcon *c)
{
	uint64_t n;

	pthread_mutex_lock(&c->lock);
	n = c->bytes_dropped;
	pthread_mutex_unlock(&c->lock);
	return n;
}

static void emerg_write(struct vcon *c, unsigned char byte)
{
	if (discarding(c))
		return;
	if (c->emerg_len == VCON_EMERG_BUF) {
		c->bytes_dropped++;
		if (!c->emerg_overflow)
			pr_err_ratelimited(&c->overflow_log,
					   "console: emergency output buffer "
					   "full; dropping bytes until the "
					   "output drains");
		c->emerg_overflow = true;
		return;
	}
	c->emerg[(c->emerg_head + c->emerg_len) % VCON_EMERG_BUF] = byte;
	c->emerg_len++;
	/* When output is blocked the byte waits its turn; otherwise it goes
	 * now, with whatever the transmit queue holds after it. */
	kick_output(c);
}

static uint64_t con_features(void *dev)
{
	(void)dev;
	return 1ull << VIRTIO_CONSOLE_F_SIZE |
	       1ull << VIRTIO_CONSOLE_F_EMERG_WRITE;
}

static void con_config_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct vcon *c = dev;
	unsigned char cfg[CFG_LEN] = { 0 };
	uint16_t v16;

	if (off >= CFG_LEN)
		return;
	pthread_mutex_lock(&c->lock);
	v16 = htole16(c->cols);
	memcpy(cfg + CFG_COLS, &v16, 2);
	v16 = htole16(c->rows);
	pthread_mutex_unlock(&c->lock);
	memcpy(cfg + CFG_ROWS, &v16, 2);
	/* max_nr_ports (no MULTIPORT) and emerg_wr (write-only) read 0. */
	if (len > CFG_LEN - off)
		len = CFG_LEN - off;
	memcpy(data, cfg + off, len);
}

static void con_config_write(void *dev, uint64_t off, const void *data,
			     unsigned len)
{
	struct vcon *c = dev;

	/* Only emerg_wr is writable; its low byte is the character, which
	 * is the first byte of a little-endian write of any width. */
	if (off == CFG_EMERG_WR && len >= 1) {
		pthread_mutex_lock(&c->lock);
		emerg_write(c, *(const unsigned char *)data);
		pthread_mutex_unlock(&c->lock);
	}
}

/* Start using the queues (activation, or a restore). */
static void attach_queues(struct vcon *c, uint64_t features,
			  struct virtq *queues, const struct virtio_irq *irq)
{
	c->features = features;
	c->irq = irq;
	c->active = true;
	c->rxq = queues[RXQ].ready ? &queues[RXQ] : NULL;
	c->txq = queues[TXQ].ready ? &queues[TXQ] : NULL;
}

static int con_activate(void *dev, uint64_t features, struct virtq *queues,
			const struct virtio_irq *irq)
{
	struct vcon *c = dev;

	pthread_mutex_lock(&c->lock);
	attach_queues(c, features, queues, irq);
	/* The driver may have posted buffers before DRIVER_OK, when its
	 * notifications were not passed on. */
	rx_take(c);
	kick_output(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void reset_locked(struct vcon *c)
{
	c->active = false;
	c->irq = NULL;
	c->features = 0;
	c->rxq = NULL;
	c->txq = NULL;
	c->tx_held = false;
	c->tx_buf = 0;
	c->tx_off = 0;
	rx_clear(c);
	/* Buffered emergency bytes stay (console.h); only they can still
	 * be waiting for out_fd. */
	c->blocked = c->emerg_len > 0;
	c->more = false;
	c->quiet = false;
}

static void con_reset(void *dev)
{
	struct vcon *c = dev;

	pthread_mutex_lock(&c->lock);
	reset_locked(c);
	pthread_mutex_unlock(&c->lock);
}

static void con_notify(void *dev, unsigned q)
{
	struct vcon *c = dev;

	pthread_mutex_lock(&c->lock);
	if (q == RXQ)
		rx_take(c);
	else if (q == TXQ)
		kick_output(c);
	pthread_mutex_unlock(&c->lock);
}

/* Polling after transmit activity: take what the guest queued since. */
/*
 * The loop polls: the guest need not notify while it does (each notify is
 * an exit on its side), so notifications go off until con_unpoll().
 */
static bool con_poll(void *dev)
{
	struct vcon *c = dev;
	bool waiting;

	pthread_mutex_lock(&c->lock);
	if (!c->quiet && c->txq && live(c)) {
		c->quiet = true;
		virtq_enable_notify(c->txq, false);
	}
	waiting = tx_waiting(c);
	if (waiting)
		run_output(c);
	pthread_mutex_unlock(&c->lock);
	return waiting;
}

/* Notifications on again, and one more look: whether there was work. */
static bool quiet_end(struct vcon *c)
{
	if (!c->quiet)
		return false;
	c->quiet = false;
	if (!c->txq || !live(c) || virtq_enable_notify(c->txq, true))
		return false;
	if (!tx_waiting(c))
		return false;
	run_output(c);
	return true;
}

static bool con_unpoll(void *dev)
{
	struct vcon *c = dev;
	bool work;

	pthread_mutex_lock(&c->lock);
	work = quiet_end(c);
	pthread_mutex_unlock(&c->lock);
	return work;
}

/*
 * Saved state: the negotiated features, the terminal size the guest saw,
 * emergency bytes not yet written, and the chains the device holds (the
 * transmit chain being sent with how far it got, the posted receive
 * chains). Their buffers are guest addresses, checked again on restore.
 */
static void put_bufs(struct state_buf *b, const struct virtq_buf *buf,
		     unsigned n, unsigned first)
{
	unsigned k;

	for (k = 0; k < n; k++) {
		const struct virtq_buf *x = &buf[(first + k) % VIRTQ_MAX_SIZE];

		state_put_u64(b, x->gpa);
		state_put_u32(b, x->len);
		state_put_u8(b, x->write);
	}
}

static int con_save(void *dev, struct state_buf *b)
{
	struct vcon *c = dev;
	unsigned i, k;

	pthread_mutex_lock(&c->lock);
	/* A snapshot never holds the guest's notifications off: whoever
	 * restores it may not poll. */
	if (quiet_end(c))
		pr_debug("console: output taken before the save");
	state_put_u64(b, c->features);
	state_put_u16(b, c->cols);
	state_put_u16(b, c->rows);
	state_put_u32(b, c->emerg_len);
	for (k = 0; k < c->emerg_len; k++)
		state_put_u8(b, c->emerg[(c->emerg_head + k) % VCON_EMERG_BUF]);
	state_put_u8(b, c->tx_held);
	if (c->tx_held) {
		state_put_u16(b, c->tx_chain.head);
		state_put_u16(b, c->tx_chain.n);
		state_put_u16(b, c->tx_buf);
		state_put_u32(b, c->tx_off);
		put_bufs(b, c->tx_chain.buf, c->tx_chain.n, 0);
	}
	state_put_u32(b, c->rx_count);
	for (i = 0; i < c->rx_count; i++) {
		const struct rx_chain *ch = &c->rx[(c->rx_first + i) %
						   VIRTQ_MAX_SIZE];

		state_put_u16(b, ch->head);
		state_put_u16(b, ch->n);
		put_bufs(b, c->rx_buf, ch->n, ch->first);
	}
	pthread_mutex_unlock(&c->lock);
	return b->err;
}

/*
 * Read a chain's n buffers: each inside guest memory, all readable (tx)
 * or all writable (rx), the total within 32 bits. Return: false if not.
 */
static bool get_bufs(struct vcon *c, struct state_rd *r, struct virtq_buf *out,
		     unsigned n, unsigned first, bool write)
{
	uint64_t total = 0;
	unsigned k;

	for (k = 0; k < n; k++) {
		struct virtq_buf *x = &out[(first + k) % VIRTQ_MAX_SIZE];

		x->gpa = state_get_u64(r);
		x->len = state_get_u32(r);
		x->write = state_get_u8(r) != 0;
		total += x->len;
		if (r->err || x->write != write || total > UINT32_MAX ||
		    vmmem_check_range(c->mem, x->gpa, x->len))
			return false;
	}
	return true;
}

/* How many chains the queue says the device holds. */
static unsigned held_chains(const struct virtq *q)
{
	unsigned i, n = 0;

	for (i = 0; q && i < q->size; i++)
		n += virtq_holds(q, (uint16_t)i);
	return n;
}

static int restore_locked(struct vcon *c, struct state_rd *r,
			  uint64_t features)
{
	/* Receive heads already listed: each held chain once. */
	uint64_t seen[VIRTQ_MAX_SIZE / 64] = { 0 };
	uint16_t cols, rows;
	unsigned i, k, n;

	if (state_get_u64(r) != features)
		return -EBADMSG;
	cols = state_get_u16(r);
	rows = state_get_u16(r);
	n = state_get_u32(r);
	if (n > VCON_EMERG_BUF)
		return -EBADMSG;
	for (k = 0; k < n; k++)
		c->emerg[k] = state_get_u8(r);
	c->emerg_head = 0;
	c->emerg_len = n;
	c->tx_held = state_get_u8(r) != 0;
	if (c->tx_held) {
		struct virtq_chain *ch = &c->tx_chain;

		ch->head = state_get_u16(r);
		ch->n = state_get_u16(r);
		c->tx_buf = state_get_u16(r);
		c->tx_off = state_get_u32(r);
		if (!c->txq || !virtq_holds(c->txq, ch->head) ||
		    ch->n == 0 || ch->n > VIRTQ_MAX_SIZE ||
		    !get_bufs(c, r, ch->buf, ch->n, 0, false) ||
		    c->tx_buf > ch->n ||
		    (c->tx_buf < ch->n && c->tx_off > ch->buf[c->tx_buf].len))
			return -EBADMSG;
	}
	if (held_chains(c->txq) != c->tx_held)
		return -EBADMSG;
	n = state_get_u32(r);
	if (n > VIRTQ_MAX_SIZE || (n && !c->rxq) || n != held_chains(c->rxq))
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		struct rx_chain *ch = &c->rx[i];

		ch->head = state_get_u16(r);
		ch->n = state_get_u16(r);
		ch->first = c->rx_buf_count;
		/* virtq_holds() bounds head by the queue size, at most
		 * VIRTQ_MAX_SIZE, before it indexes seen. */
		if (!virtq_holds(c->rxq, ch->head) ||
		    (seen[ch->head / 64] & (1ull << ch->head % 64)) ||
		    ch->n == 0 || ch->n > VIRTQ_MAX_SIZE - c->rx_buf_count ||
		    !get_bufs(c, r, c->rx_buf, ch->n, ch->first, true))
			return -EBADMSG;
		seen[ch->head / 64] |= 1ull << ch->head % 64;
		c->rx_buf_count += ch->n;
		c->rx_count++;
	}
	/* The guest saw the old terminal size; tell it about this one. */
	if ((cols != c->cols || rows != c->rows) &&
	    (features & 1ull << VIRTIO_CONSOLE_F_SIZE))
		c->irq->config_changed(c->irq->opaque);
	return r->err;
}

static int con_restore(void *dev, struct state_rd *r, uint64_t features,
		       struct virtq *queues, const struct virtio_irq *irq)
{
	struct vcon *c = dev;
	int rc;

	pthread_mutex_lock(&c->lock);
	reset_locked(c);
	c->emerg_len = 0;
	c->blocked = false;
	attach_queues(c, features, queues, irq);
	rc = restore_locked(c, r, features);
	if (rc) {
		reset_locked(c);
		c->emerg_len = 0;
		c->blocked = false;
	}
	pthread_mutex_unlock(&c->lock);
	return rc ? -EBADMSG : 0;
}

const struct virtio_dev_ops vcon_ops = {
	.device_id = VIRTIO_ID_CONSOLE,
	.num_queues = 2,
	.queue_max = VIRTQ_MAX_SIZE,
	.features = con_features,
	.config_read = con_config_read,
	.config_write = con_config_write,
	.activate = con_activate,
	.reset = con_reset,
	.notify = con_notify,
	.poll = con_poll,
	.unpoll = con_unpoll,
	.save = con_save,
	.restore = con_restore,
};

int vcon_create(struct vmmem *mem, int out_fd, uint16_t cols, uint16_t rows,
		struct vcon **out)
{
	struct vcon *c;

	if (!mem || !out || out_fd < -1)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (pthread_mutex_init(&c->lock, NULL)) {
		free(c);
		return -ENOMEM;
	}
	ratelimit_init(&c->overflow_log, "console: emergency buffer overflows");
	c->mem = vmmem_ref(mem);
	c->out_fd = out_fd;
	c->cols = cols;
	c->rows = rows;
	*out = c;
	return 0;
}

void vcon_destroy(struct vcon *c)
{
	if (!c)
		return;
	ratelimit_fini(&c->overflow_log);
	pthread_mutex_destroy(&c->lock);
	vmmem_destroy(c->mem);
	free(c);
}
