/* SPDX-License-Identifier: MIT */
/*
 * devices/device.h - what every device is to the machine.
 *
 * A device is an object behind a static ops table: the machine creates it,
 * registers its register ranges on a bus (bus.h), and from then on drives
 * it only through these operations; it never reads a device's fields. The
 * machine calls save() and restore() while every vCPU is stopped and its
 * event loop is not running device work, so they need no more locking
 * than the device does anyway.
 *
 * Saved state is the device's alone: the machine stores it in one
 * length-prefixed section under the device's name, so a device may change
 * its format as long as it refuses what it cannot read (-EBADMSG).
 */
#ifndef MINIVMM_DEVICES_DEVICE_H
#define MINIVMM_DEVICES_DEVICE_H

struct state_buf;
struct state_rd;

struct device_ops {
	/* Back to power-on state (the guest's view: registers, queues). */
	void (*reset)(void *dev);
	/*
	 * Append the device's state to b. Return: 0 or a negative errno
	 * (b->err after a failed allocation).
	 */
	int (*save)(void *dev, struct state_buf *b);
	/*
	 * Replace the device's state with what save() wrote, checking every
	 * value: the file is outside our control. Host-side settings (where
	 * output goes) are the new process's. Return: 0, or -EBADMSG when the
	 * state is malformed or out of bounds (the device is then reset).
	 */
	int (*restore)(void *dev, struct state_rd *r);
};

/*
 * How a device asks the machine to stop (the guest powered off, asked for
 * a reset, or wrote to the debug-exit port): with the process exit status
 * it chose. Safe from any thread; the first request wins.
 */
struct device_stop {
	void (*fn)(void *opaque, int status);
	void *opaque;
};

/* One device of a machine: its name (unique, the key of its saved state),
 * its operations and its state object. */
struct device {
	const char *name;
	const struct device_ops *ops;
	void *dev;
};

#endif /* MINIVMM_DEVICES_DEVICE_H */
