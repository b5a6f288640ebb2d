/* SPDX-License-Identifier: MIT */
/* state.c - little-endian byte buffers for saved state. */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

void state_buf_init(struct state_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void state_buf_fini(struct state_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void state_put(struct state_buf *b, const void *p, size_t n)
{
	if (b->err || n == 0)
		return;
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *d;

		while (cap - b->len < n) {
			if (cap > SIZE_MAX / 2) {
				b->err = -ENOMEM;
				return;
			}
			cap *= 2;
		}
		d = realloc(b->data, cap);
		if (!d) {
			b->err = -ENOMEM;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void state_put_u8(struct state_buf *b, uint8_t v)
{
	state_put(b, &v, 1);
}

void state_put_u16(struct state_buf *b, uint16_t v)
{
	v = htole16(v);
	state_put(b, &v, 2);
}

void state_put_u32(struct state_buf *b, uint32_t v)
{
	v = htole32(v);
	state_put(b, &v, 4);
}

void state_put_u64(struct state_buf *b, uint64_t v)
{
	v = htole64(v);
	state_put(b, &v, 8);
}

void state_rd_init(struct state_rd *r, const void *data, size_t len)
{
	r->data = data;
	r->len = data ? len : 0;
	r->off = 0;
	r->err = 0;
}

void state_get(struct state_rd *r, void *p, size_t n)
{
	if (r->err || n > r->len - r->off) {
		r->err = -EBADMSG;
		memset(p, 0, n);
		return;
	}
	memcpy(p, r->data + r->off, n);
	r->off += n;
}

uint8_t state_get_u8(struct state_rd *r)
{
	uint8_t v;

	state_get(r, &v, 1);
	return v;
}

uint16_t state_get_u16(struct state_rd *r)
{
	uint16_t v;

	state_get(r, &v, 2);
	return le16toh(v);
}

uint32_t state_get_u32(struct state_rd *r)
{
	uint32_t v;

	state_get(r, &v, 4);
	return le32toh(v);
}

uint64_t state_get_u64(struct state_rd *r)
{
	uint64_t v;

	state_get(r, &v, 8);
	return le64toh(v);
}

void state_rd_fail(struct state_rd *r)
{
	r->err = -EBADMSG;
}

int state_rd_end(const struct state_rd *r)
{
	return r->err || r->off != r->len ? -EBADMSG : 0;
}
