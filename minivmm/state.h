/* SPDX-License-Identifier: MIT */
/*
 * state.h - byte buffers for saving and restoring device and CPU state.
 *
 * A device's save() appends to a struct state_buf; its restore() reads the
 * same bytes back through a struct state_rd. Integers are little-endian
 * whatever the host. Both keep the first error and ignore every call after
 * it, so a save or restore is a straight sequence of puts or gets with one
 * check at the end:
 *
 *	state_put_u32(b, dev->status);
 *	state_put(b, dev->regs, sizeof(dev->regs));
 *	return b->err;
 *
 *	dev->status = state_get_u32(r);
 *	state_get(r, dev->regs, sizeof(dev->regs));
 *	return state_rd_end(r);	  (-EBADMSG unless all was read)
 *
 * A reader never reads past its data: a get beyond the end yields zeroes
 * and sets err to -EBADMSG. State comes from a file, so every value read
 * must still be checked against its bounds before use.
 */
#ifndef MINIVMM_STATE_H
#define MINIVMM_STATE_H

#include <stddef.h>
#include <stdint.h>

struct state_buf {
	uint8_t *data;	/* read-only: the bytes so far */
	size_t len;	/* read-only */
	size_t cap;	/* private */
	int err;	/* read-only: 0, or -ENOMEM after a failed growth */
};

struct state_rd {
	const uint8_t *data;	/* private */
	size_t len;		/* private */
	size_t off;		/* read-only: bytes consumed */
	int err;		/* read-only: 0, or -EBADMSG after an underrun */
};

/* An empty buffer; state_buf_fini() frees what it grew to. */
void state_buf_init(struct state_buf *b);
void state_buf_fini(struct state_buf *b);

/* Append n bytes (n may be 0). On -ENOMEM the buffer keeps what it had. */
void state_put(struct state_buf *b, const void *p, size_t n);
void state_put_u8(struct state_buf *b, uint8_t v);
void state_put_u16(struct state_buf *b, uint16_t v);
void state_put_u32(struct state_buf *b, uint32_t v);
void state_put_u64(struct state_buf *b, uint64_t v);

/* Read from data[0, len); the data must outlive the reader. */
void state_rd_init(struct state_rd *r, const void *data, size_t len);

/* Copy the next n bytes to p; zeroes (and -EBADMSG) past the end. */
void state_get(struct state_rd *r, void *p, size_t n);
uint8_t state_get_u8(struct state_rd *r);
uint16_t state_get_u16(struct state_rd *r);
uint32_t state_get_u32(struct state_rd *r);
uint64_t state_get_u64(struct state_rd *r);

/* Mark the state invalid (a value out of its bounds): sets -EBADMSG. */
void state_rd_fail(struct state_rd *r);

/* Return: 0 when every byte was read without error, else -EBADMSG. */
int state_rd_end(const struct state_rd *r);

#endif /* MINIVMM_STATE_H */
