/* SPDX-License-Identifier: MIT */
/*
 * serial.c - an 8250/16550A UART: registers, a receive FIFO fed by the
 * host, output to a non-blocking fd with a bounded buffer for back-pressure,
 * and one level-triggered interrupt line.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "../bus.h"
#include "serial.h"
#include "../state.h"
#include "../util.h"
#include "device.h"

/* IER */
#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* THR empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI 0x08  /* modem status */
#define IER_MASK 0x0f

/* IIR (bits 3:0; bits 7:6 are set while the FIFOs are enabled) */
#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO_ON 0xc0

/* FCR */
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RCVR 0x02
#define FCR_CLEAR_XMIT 0x04
#define FCR_TRIGGER 0xc0

/* LCR */
#define LCR_DLAB 0x80

/* MCR */
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

/* LSR */
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

/* MSR */
#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct serial {
	pthread_mutex_t lock;
	int out_fd;
	struct serial_irq irq; /* set_level NULL: no line */
	bool level;	       /* the line as last reported */

	/* Registers; LSR and MSR keep only their latched bits. */
	uint8_t ier, fcr, lcr, mcr, scr, dll, dlm;
	uint8_t lsr_errors; /* LSR_ERRORS bits, cleared by reading LSR */
	uint8_t msr_lines;  /* MSR bits 7:4 */
	uint8_t msr_deltas; /* MSR bits 3:0, cleared by reading MSR */
	bool thr_pending;   /* THR-empty interrupt waiting */

	/* Receive FIFO: a ring, oldest byte at rx_head. */
	uint8_t rx[SERIAL_RX_FIFO];
	unsigned rx_head, rx_count;
	bool rx_refused; /* serial_input() left bytes behind */
	void (*input_fn)(void *opaque);
	void *input_opaque;

	/* Output waiting for out_fd: a ring, oldest byte at tx_head. */
	uint8_t tx[SERIAL_TX_BUF];
	unsigned tx_head, tx_len;
	bool tx_overflow; /* reported this overflow already */
	struct ratelimit overflow_log; /* overflow after overflow */
	bool out_broken;  /* out_fd failed for good: discard */
	uint64_t bytes_out, bytes_dropped;
	void (*blocked_fn)(void *opaque);
	void *blocked_opaque;
};

static bool loopback(const struct serial *s)
{
	return s->mcr & MCR_LOOP;
}

static bool fifo_on(const struct serial *s)
{
	return s->fcr & FCR_ENABLE;
}

/* Without FIFOs the receiver holds one byte, as on a 16450. */
static unsigned rx_capacity(const struct serial *s)
{
	return fifo_on(s) ? SERIAL_RX_FIFO : 1;
}

static unsigned rx_trigger(const struct serial *s)
{
	static const unsigned level[4] = { 1, 4, 8, 14 };

	return fifo_on(s) ? level[(s->fcr & FCR_TRIGGER) >> 6] : 1;
}

static bool thr_empty(const struct serial *s)
{
	return s->tx_len == 0;
}

static bool discarding(const struct serial *s)
{
	return s->out_fd < 0 || s->out_broken;
}

/* The pending interrupt of highest priority, as IIR bits 3:0. */
static uint8_t pending_irq(const struct serial *s)
{
	if ((s->ier & IER_RLSI) && (s->lsr_errors & LSR_ERRORS))
		return IIR_RLSI;
	if ((s->ier & IER_RDI) && s->rx_count)
		return s->rx_count >= rx_trigger(s) ? IIR_RDI : IIR_TIMEOUT;
	if ((s->ier & IER_THRI) && s->thr_pending)
		return IIR_THRI;
	if ((s->ier & IER_MSI) && s->msr_deltas)
		return IIR_MSI;
	return IIR_NO_INT;
}

/* Bring the line in line with the registers; called after every change. */
static void update_irq(struct serial *s)
{
	bool level = pending_irq(s) != IIR_NO_INT;

	if (level == s->level)
		return;
	s->level = level;
	if (s->irq.set_level)
		s->irq.set_level(s->irq.opaque, level);
}

/* The transmitter just became empty. */
static void thr_emptied(struct serial *s)
{
	if (s->ier & IER_THRI)
		s->thr_pending = true;
}

/* There may be room for host input again: tell the event loop once. */
static void rx_room(struct serial *s)
{
	if (!s->rx_refused || loopback(s) || s->rx_count >= rx_capacity(s))
		return;
	s->rx_refused = false;
	if (s->input_fn)
		s->input_fn(s->input_opaque);
}

static void rx_clear(struct serial *s)
{
	s->rx_head = 0;
	s->rx_count = 0;
	rx_room(s);
}

/* Append a byte to the receive FIFO. Return: false when it is full. */
static bool rx_push(struct serial *s, uint8_t byte)
{
	if (s->rx_count >= rx_capacity(s))
		return false;
	s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = byte;
	s->rx_count++;
	return true;
}

static uint8_t rx_pop(struct serial *s)
{
	uint8_t byte;

	if (!s->rx_count)
		return 0;
	byte = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
	s->rx_count--;
	if (!s->rx_count)
		s->rx_head = 0;
	rx_room(s);
	return byte;
}

static void output_broken(struct serial *s, int err)
{
	s->out_broken = true;
	s->bytes_dropped += s->tx_len;
	s->tx_head = 0;
	s->tx_len = 0;
	pr_err("serial: output: %s; discarding further output", strerror(-err));
}

/*
 * Write up to len bytes of buf (and buf2) to out_fd.
 * Return: bytes written, 0 when out_fd is full, or a negative errno.
 */
static ssize_t out_write(struct serial *s, const void *buf, size_t len,
			 const void *buf2, size_t len2)
{
	struct iovec iov[2] = {
		{ .iov_base = (void *)buf, .iov_len = len },
		{ .iov_base = (void *)buf2, .iov_len = len2 },
	};
	ssize_t n;

	do {
		n = writev(s->out_fd, iov, len2 ? 2 : 1);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (n == 0)
		return -EIO;
	return n;
}

/* Write the transmit buffer out as far as out_fd takes it. */
static void tx_flush(struct serial *s)
{
	while (s->tx_len && !discarding(s)) {
		unsigned run = SERIAL_TX_BUF - s->tx_head;
		ssize_t n;

		if (run > s->tx_len)
			run = s->tx_len;
		n = out_write(s, s->tx + s->tx_head, run, s->tx,
			      s->tx_len - run);
		if (n == 0)
			return;
		if (n < 0) {
			output_broken(s, (int)n);
			break;
		}
		/* writev() returns at most the bytes offered, tx_len. */
		s->tx_head = (s->tx_head + (size_t)n) % SERIAL_TX_BUF;
		s->tx_len -= (unsigned)n;
		s->bytes_out += (uint64_t)n;
	}
	if (!s->tx_len) {
		s->tx_head = 0;
		s->tx_overflow = false;
	}
}

/* A byte the guest wrote to THR, outside loopback. */
static void tx_byte(struct serial *s, uint8_t byte)
{
	ssize_t n;

	if (discarding(s))
		return;
	if (s->tx_len) {
		/* Keep the order: bytes already waiting go first. */
		if (s->tx_len == SERIAL_TX_BUF) {
			s->bytes_dropped++;
			if (!s->tx_overflow)
				pr_err_ratelimited(&s->overflow_log,
						   "serial: output buffer full; "
						   "the guest ignores THRE, "
						   "dropping output");
			s->tx_overflow = true;
			return;
		}
		s->tx[(s->tx_head + s->tx_len) % SERIAL_TX_BUF] = byte;
		s->tx_len++;
		return;
	}
	n = out_write(s, &byte, 1, NULL, 0);
	if (n > 0) {
		s->bytes_out++;
		return;
	}
	if (n < 0) {
		output_broken(s, (int)n);
		return;
	}
	s->tx[0] = byte;
	s->tx_head = 0;
	s->tx_len = 1;
	if (s->blocked_fn)
		s->blocked_fn(s->blocked_opaque);
}

static void thr_write(struct serial *s, uint8_t byte)
{
	s->thr_pending = false;
	if (loopback(s)) {
		/* The transmitter feeds the receiver; on overrun the new
		 * byte is lost and LSR says so. */
		if (!rx_push(s, byte))
			s->lsr_errors |= LSR_OE;
	} else {
		tx_byte(s, byte);
	}
	if (thr_empty(s))
		thr_emptied(s);
}

static void ier_write(struct serial *s, uint8_t val)
{
	uint8_t old = s->ier;

	s->ier = val & IER_MASK;
	/* A 16550 raises THRE at once when the interrupt is enabled while
	 * the transmitter is empty; Linux's startup tests rely on it. */
	if ((s->ier & IER_THRI) && !(old & IER_THRI))
		s->thr_pending = thr_empty(s);
	else if (!(s->ier & IER_THRI))
		s->thr_pending = false;
}

static void fcr_write(struct serial *s, uint8_t val)
{
	bool toggled = (val ^ s->fcr) & FCR_ENABLE;

	/* Bit 5 (64-byte FIFO of a 16750) and bit 3 (DMA mode) are not
	 * kept: IIR bit 5 must read 0 for Linux to see a 16550A. */
	s->fcr = val & (FCR_ENABLE | FCR_TRIGGER);
	if (toggled || (val & FCR_CLEAR_RCVR))
		rx_clear(s);
	/* FCR_CLEAR_XMIT: the transmit buffer holds bytes that have left
	 * the UART as far as the guest is concerned; they are kept. */
}

/* MSR bits 7:4 as the modem (or the loopback wiring) drives them. */
static uint8_t modem_lines(const struct serial *s)
{
	uint8_t m = 0;

	if (!loopback(s))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	if (s->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (s->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (s->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (s->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static void mcr_write(struct serial *s, uint8_t val)
{
	uint8_t old, now, changed;

	s->mcr = val & MCR_MASK;
	old = s->msr_lines;
	now = modem_lines(s);
	changed = old ^ now;
	if (changed & MSR_CTS)
		s->msr_deltas |= MSR_DCTS;
	if (changed & MSR_DSR)
		s->msr_deltas |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI))
		s->msr_deltas |= MSR_TERI;
	if (changed & MSR_DCD)
		s->msr_deltas |= MSR_DDCD;
	s->msr_lines = now;
	rx_room(s);
}

static uint8_t iir_read(struct serial *s)
{
	uint8_t iir = pending_irq(s);

	if (iir == IIR_THRI)
		s->thr_pending = false;
	return iir | (fifo_on(s) ? IIR_FIFO_ON : 0);
}

static uint8_t lsr_read(struct serial *s)
{
	uint8_t lsr = s->lsr_errors;

	if (s->rx_count)
		lsr |= LSR_DR;
	if (thr_empty(s))
		lsr |= LSR_THRE | LSR_TEMT;
	s->lsr_errors = 0;
	return lsr;
}

static uint8_t msr_read(struct serial *s)
{
	uint8_t msr = s->msr_lines | s->msr_deltas;

	s->msr_deltas = 0;
	return msr;
}

static uint8_t reg_read(struct serial *s, unsigned off)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (off) {
	case SERIAL_RBR:
		return dlab ? s->dll : rx_pop(s);
	case SERIAL_IER:
		return dlab ? s->dlm : s->ier;
	case SERIAL_IIR:
		return iir_read(s);
	case SERIAL_LCR:
		return s->lcr;
	case SERIAL_MCR:
		return s->mcr;
	case SERIAL_LSR:
		return lsr_read(s);
	case SERIAL_MSR:
		return msr_read(s);
	case SERIAL_SCR:
		return s->scr;
	}
	return 0xff;
}

static void reg_write(struct serial *s, unsigned off, uint8_t val)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (off) {
	case SERIAL_THR:
		if (dlab)
			s->dll = val;
		else
			thr_write(s, val);
		break;
	case SERIAL_IER:
		if (dlab)
			s->dlm = val;
		else
			ier_write(s, val);
		break;
	case SERIAL_FCR:
		fcr_write(s, val);
		break;
	case SERIAL_LCR:
		s->lcr = val;
		break;
	case SERIAL_MCR:
		mcr_write(s, val);
		break;
	case SERIAL_SCR:
		s->scr = val;
		break;
	default:
		/* LSR and MSR writes (factory test) are ignored. */
		break;
	}
}

/*
 * The bus keeps accesses inside the range, so off + len <= 8; the bound is
 * checked again here all the same, since off and len come from the guest.
 */
static void serial_bus_read(void *opaque, uint64_t off, void *data,
			    unsigned len)
{
	struct serial *s = opaque;
	uint8_t *p = data;
	unsigned i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < len && i < 8; i++)
		p[i] = off + i < SERIAL_NR_PORTS ? reg_read(s, off + i) : 0xff;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_bus_write(void *opaque, uint64_t off, const void *data,
			     unsigned len)
{
	struct serial *s = opaque;
	const uint8_t *p = data;
	unsigned i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < len && i < 8; i++)
		if (off + i < SERIAL_NR_PORTS)
			reg_write(s, off + i, p[i]);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

const struct bus_ops serial_bus_ops = {
	.read = serial_bus_read,
	.write = serial_bus_write,
};

int serial_create(int out_fd, const struct serial_irq *irq, struct serial **out)
{
	struct serial *s;
	int ret = 0;

	if (!out || out_fd < -1)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	ret = -pthread_mutex_init(&s->lock, NULL);
	if (ret)
		goto err_free;
	ratelimit_init(&s->overflow_log, "serial: output buffer overflows");
	s->out_fd = out_fd;
	if (irq)
		s->irq = *irq;
	s->dll = 0x01; /* 115200 baud */
	s->msr_lines = modem_lines(s);
	*out = s;
	return 0;

err_free:
	free(s);
	return ret;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	ratelimit_fini(&s->overflow_log);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

size_t serial_input(struct serial *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t n = 0;

	if (!len || !buf)
		return 0;
	pthread_mutex_lock(&s->lock);
	if (!loopback(s))
		while (n < len && rx_push(s, p[n]))
			n++;
	if (n < len)
		s->rx_refused = true;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

bool serial_input_ready(struct serial *s)
{
	bool ready;

	pthread_mutex_lock(&s->lock);
	ready = !loopback(s) && s->rx_count < rx_capacity(s);
	pthread_mutex_unlock(&s->lock);
	return ready;
}

void serial_set_input_cb(struct serial *s, void (*fn)(void *opaque),
			 void *opaque)
{
	pthread_mutex_lock(&s->lock);
	s->input_fn = fn;
	s->input_opaque = opaque;
	pthread_mutex_unlock(&s->lock);
}

bool serial_output(struct serial *s)
{
	bool blocked;

	pthread_mutex_lock(&s->lock);
	if (s->tx_len) {
		tx_flush(s);
		if (thr_empty(s))
			thr_emptied(s);
		update_irq(s);
	}
	blocked = s->tx_len != 0;
	pthread_mutex_unlock(&s->lock);
	return blocked;
}

bool serial_output_blocked(struct serial *s)
{
	bool blocked;

	pthread_mutex_lock(&s->lock);
	blocked = s->tx_len != 0;
	pthread_mutex_unlock(&s->lock);
	return blocked;
}

void serial_set_blocked_cb(struct serial *s, void (*fn)(void *opaque),
			   void *opaque)
{
	pthread_mutex_lock(&s->lock);
	s->blocked_fn = fn;
	s->blocked_opaque = opaque;
	pthread_mutex_unlock(&s->lock);
}

uint64_t serial_bytes_out(struct serial *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->bytes_out;
	pthread_mutex_unlock(&s->lock);
	return n;
}

uint64_t serial_bytes_dropped(struct serial *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->bytes_dropped;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* The machine's view (devices/device.h). */

static void reset_locked(struct serial *s)
{
	s->ier = s->fcr = s->lcr = s->mcr = s->scr = s->dlm = 0;
	s->dll = 0x01;
	s->lsr_errors = 0;
	s->msr_deltas = 0;
	s->msr_lines = modem_lines(s);
	s->thr_pending = false;
	rx_clear(s);
	update_irq(s);
}

static void dev_reset(void *opaque)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	reset_locked(s);
	pthread_mutex_unlock(&s->lock);
}

/*
 * Saved: the registers, the receive FIFO and the bytes waiting for output
 * (they were written by the guest and count as sent). Where output goes,
 * and whether it broke, belongs to the process.
 */
static int dev_save(void *opaque, struct state_buf *b)
{
	struct serial *s = opaque;
	unsigned i;

	pthread_mutex_lock(&s->lock);
	state_put_u8(b, s->ier);
	state_put_u8(b, s->fcr);
	state_put_u8(b, s->lcr);
	state_put_u8(b, s->mcr);
	state_put_u8(b, s->scr);
	state_put_u8(b, s->dll);
	state_put_u8(b, s->dlm);
	state_put_u8(b, s->lsr_errors);
	state_put_u8(b, s->msr_lines);
	state_put_u8(b, s->msr_deltas);
	state_put_u8(b, s->thr_pending);
	state_put_u32(b, s->rx_count);
	for (i = 0; i < s->rx_count; i++)
		state_put_u8(b, s->rx[(s->rx_head + i) % SERIAL_RX_FIFO]);
	state_put_u32(b, s->tx_len);
	for (i = 0; i < s->tx_len; i++)
		state_put_u8(b, s->tx[(s->tx_head + i) % SERIAL_TX_BUF]);
	pthread_mutex_unlock(&s->lock);
	return b->err;
}

static int dev_restore(void *opaque, struct state_rd *r)
{
	struct serial *s = opaque;
	unsigned i, n;

	pthread_mutex_lock(&s->lock);
	s->ier = state_get_u8(r) & IER_MASK;
	s->fcr = state_get_u8(r) & (FCR_ENABLE | FCR_TRIGGER);
	s->lcr = state_get_u8(r);
	s->mcr = state_get_u8(r) & MCR_MASK;
	s->scr = state_get_u8(r);
	s->dll = state_get_u8(r);
	s->dlm = state_get_u8(r);
	s->lsr_errors = state_get_u8(r) & LSR_ERRORS;
	s->msr_lines = state_get_u8(r) & 0xf0;
	s->msr_deltas = state_get_u8(r) & 0x0f;
	s->thr_pending = state_get_u8(r) != 0;
	n = state_get_u32(r);
	if (n > SERIAL_RX_FIFO)
		state_rd_fail(r);
	s->rx_head = 0;
	for (s->rx_count = 0; !r->err && s->rx_count < n; s->rx_count++)
		s->rx[s->rx_count] = state_get_u8(r);
	n = state_get_u32(r);
	if (n > SERIAL_TX_BUF)
		state_rd_fail(r);
	s->tx_head = 0;
	for (i = 0; !r->err && i < n; i++)
		s->tx[i] = state_get_u8(r);
	s->tx_len = r->err ? 0 : n;
	if (state_rd_end(r)) {
		s->tx_len = 0;
		reset_locked(s);
		pthread_mutex_unlock(&s->lock);
		return -EBADMSG;
	}
	if (discarding(s))
		s->tx_len = 0;
	/* The line follows the registers; the interrupt controller's own
	 * state was restored with the VM. */
	s->level = false;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

const struct device_ops serial_device_ops = {
	.reset = dev_reset,
	.save = dev_save,
	.restore = dev_restore,
};
