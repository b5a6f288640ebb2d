/* SPDX-License-Identifier: MIT */
/* bus.c - address ranges of port I/O or MMIO and their dispatch. */
#include <errno.h>
#include <string.h>

#include "bus.h"

void bus_init(struct bus *bus)
{
	memset(bus, 0, sizeof(*bus));
}

/* Last byte of [base, base + len), or -1 when it wraps. */
static int range_last(uint64_t base, uint64_t len, uint64_t *last)
{
	if (len == 0 || __builtin_add_overflow(base, len - 1, last))
		return -1;
	return 0;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque)
{
	uint64_t last;
	unsigned i;

	if (!ops || range_last(base, len, &last))
		return -EINVAL;
	for (i = 0; i < bus->n; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (base <= r->base + (r->len - 1) && r->base <= last)
			return -EEXIST;
	}
	if (bus->n == BUS_MAX_RANGES)
		return -ENOSPC;
	bus->ranges[bus->n++] = (struct bus_range){ base, len, ops, opaque };
	return 0;
}

/* The range holding all of [addr, addr + len), or NULL. */
static const struct bus_range *find(const struct bus *bus, uint64_t addr,
				    unsigned len)
{
	uint64_t last;
	unsigned i;

	if (range_last(addr, len, &last))
		return NULL;
	for (i = 0; i < bus->n; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (addr >= r->base && last <= r->base + (r->len - 1))
			return r;
	}
	return NULL;
}

int bus_read(struct bus *bus, uint64_t addr, void *data, unsigned len)
{
	const struct bus_range *r = find(bus, addr, len);

	/* Devices get a zeroed buffer: whatever they do not fill reads 0,
	 * never stale host data. Unclaimed addresses read all ones, as on
	 * real hardware. */
	memset(data, r ? 0 : 0xff, len);
	if (!r)
		return -ENOENT;
	if (r->ops->read)
		r->ops->read(r->opaque, addr - r->base, data, len);
	return 0;
}

int bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned len)
{
	const struct bus_range *r = find(bus, addr, len);

	if (!r)
		return -ENOENT;
	if (r->ops->write)
		r->ops->write(r->opaque, addr - r->base, data, len);
	return 0;
}
