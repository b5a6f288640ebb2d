/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: bus registration and dispatch against a model. The
 * input registers ranges (often next to, overlapping or touching earlier
 * ones, at both ends of the address space, with lengths that end exactly
 * at 2^64 or wrap past it) and makes accesses of every size at and around
 * every range's edges.
 *
 * Checks, besides the sanitizers': bus_register() returns what the model
 * says (-EINVAL, -EEXIST, -ENOSPC or 0); an access reaches the one device
 * whose range holds all of it, at the right offset, with a zeroed buffer,
 * and nothing else; an unclaimed read returns all ones and -ENOENT.
 */
#include <errno.h>
#include <stdint.h>

#include "../../minivmm/bus.h"
#include "fuzz.h"

struct dev {
	struct ctx *x;
	unsigned idx;
};

struct ctx {
	struct bus bus;
	/* The model: what was registered, in order. */
	uint64_t base[BUS_MAX_RANGES], len[BUS_MAX_RANGES];
	unsigned n;
	struct dev devs[BUS_MAX_RANGES];
	/* What the last access delivered. */
	int hit;
	uint64_t off;
	unsigned len_seen;
};

static void record(struct dev *d, uint64_t off, unsigned len)
{
	struct ctx *x = d->x;

	if (x->hit >= 0)
		abort(); /* two devices for one access */
	x->hit = (int)d->idx;
	x->off = off;
	x->len_seen = len;
}

static void dev_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	const uint8_t *p = data;
	unsigned i;

	for (i = 0; i < len; i++)
		if (p[i])
			abort(); /* the bus did not zero the buffer */
	record(opaque, off, len);
	memset(data, 0x5a, len);
}

static void dev_write(void *opaque, uint64_t off, const void *data,
		      unsigned len)
{
	(void)data;
	record(opaque, off, len);
}

static const struct bus_ops dev_ops = { dev_read, dev_write };

/* The last byte of [base, base + len), or false when there is none. */
static bool last_of(uint64_t base, uint64_t len, uint64_t *last)
{
	if (!len || len - 1 > UINT64_MAX - base)
		return false;
	*last = base + (len - 1);
	return true;
}

static int model_register(const struct ctx *x, uint64_t base, uint64_t len)
{
	uint64_t last, rlast;
	unsigned i;

	if (!last_of(base, len, &last))
		return -EINVAL;
	for (i = 0; i < x->n; i++) {
		last_of(x->base[i], x->len[i], &rlast);
		if (base <= rlast && x->base[i] <= last)
			return -EEXIST;
	}
	return x->n == BUS_MAX_RANGES ? -ENOSPC : 0;
}

static int model_find(const struct ctx *x, uint64_t gpa, unsigned len)
{
	uint64_t last, rlast;
	unsigned i;

	if (!last_of(gpa, len, &last))
		return -1;
	for (i = 0; i < x->n; i++) {
		last_of(x->base[i], x->len[i], &rlast);
		if (gpa >= x->base[i] && last <= rlast)
			return (int)i;
	}
	return -1;
}

/* An address near something interesting: a range's first or last byte,
 * either end of the address space, or anything. */
static uint64_t pick(const struct ctx *x, struct fuzz_in *in)
{
	uint8_t how = fuzz_u8(in);
	int64_t delta = (int8_t)fuzz_u8(in) % 12;
	uint64_t at;

	if (x->n && how % 4 < 2) {
		unsigned i = (how >> 2) % x->n;

		at = how % 4 == 0 ? x->base[i] : x->base[i] + x->len[i];
	} else if (how % 4 == 2) {
		at = how & 0x80 ? 0 : UINT64_MAX;
	} else {
		return fuzz_u64(in);
	}
	return at + (uint64_t)delta;
}

static void do_register(struct ctx *x, struct fuzz_in *in)
{
	uint8_t how = fuzz_u8(in);
	uint64_t base = pick(x, in), len;
	int want, rc;

	switch (how % 4) {
	case 0:
		len = 1 + how / 4 % 16;
		break;
	case 1:
		len = -base; /* up to the very end (0 when base is 0) */
		break;
	case 2:
		len = -base + 1; /* one past the end: wraps */
		break;
	default:
		len = fuzz_u64(in);
		break;
	}
	want = model_register(x, base, len);
	rc = bus_register(&x->bus, base, len, how & 0x80 ? NULL : &dev_ops,
			  &x->devs[x->n % BUS_MAX_RANGES]);
	if (how & 0x80)
		want = -EINVAL; /* no ops */
	if (rc != want)
		abort();
	if (rc == 0) {
		x->base[x->n] = base;
		x->len[x->n] = len;
		x->n++;
	}
}

static void do_access(struct ctx *x, struct fuzz_in *in, bool write)
{
	unsigned len = fuzz_access_len(in), i;
	uint64_t gpa = pick(x, in);
	int want = model_find(x, gpa, len), rc;
	uint8_t data[8];

	memset(data, 0xcc, sizeof(data));
	x->hit = -1;
	rc = write ? bus_write(&x->bus, gpa, data, len)
		   : bus_read(&x->bus, gpa, data, len);
	if (want < 0) {
		if (rc != -ENOENT || x->hit != -1)
			abort();
		for (i = 0; !write && i < len; i++)
			if (data[i] != 0xff)
				abort();
		return;
	}
	if (rc || x->hit != want || x->off != gpa - x->base[want] ||
	    x->len_seen != len)
		abort();
	for (i = 0; !write && i < len; i++)
		if (data[i] != 0x5a)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct ctx x = { 0 };
	unsigned i;

	bus_init(&x.bus);
	for (i = 0; i < BUS_MAX_RANGES; i++)
		x.devs[i] = (struct dev){ &x, i };
	while (in.n) {
		uint8_t op = fuzz_u8(&in);

		if (op % 4 == 0)
			do_register(&x, &in);
		else
			do_access(&x, &in, op % 4 == 1);
	}
	return 0;
}
