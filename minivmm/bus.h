/* SPDX-License-Identifier: MIT */
/*
 * bus.h - port-I/O and MMIO address ranges and their dispatch.
 *
 * A device registers a range with a static ops table and its own state; the
 * bus hands it offsets within the range, never absolute addresses. Accesses
 * no device claims are reported to the caller (reads then return all ones).
 */
#ifndef MINIVMM_BUS_H
#define MINIVMM_BUS_H

#include <stddef.h>
#include <stdint.h>

struct bus_ops {
	/* data is zeroed by the bus before the call; len is 1, 2, 4 or 8. */
	void (*read)(void *opaque, uint64_t off, void *data, unsigned len);
	void (*write)(void *opaque, uint64_t off, const void *data,
		      unsigned len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *opaque;
};

#define BUS_MAX_RANGES 32

struct bus {
	struct bus_range ranges[BUS_MAX_RANGES];	/* private */
	unsigned n;					/* private */
};

/* Zero a bus. */
void bus_init(struct bus *bus);

/*
 * Claim [base, base + len) for a device.
 * Return: 0, -EINVAL (len 0 or wraps), -EEXIST (overlaps a range),
 * -ENOSPC (table full).
 */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque);

/*
 * Dispatch an access that lies entirely in one range. Reads fill data
 * (zeroed first). Return: 0, or -ENOENT when no range holds all of
 * [addr, addr + len); data then reads as all ones.
 */
int bus_read(struct bus *bus, uint64_t addr, void *data, unsigned len);
int bus_write(struct bus *bus, uint64_t addr, const void *data, unsigned len);

#endif /* MINIVMM_BUS_H */
