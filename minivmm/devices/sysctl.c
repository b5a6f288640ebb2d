/* SPDX-License-Identifier: MIT */
/* devices/sysctl.c - the debug-exit port and ACPI soft off. */
#include <string.h>

#include "../bus.h"
#include "../state.h"
#include "../util.h"
#include "../x86/acpi.h"
#include "sysctl.h"

static void stop(const struct device_stop *s, int status)
{
	if (s && s->fn)
		s->fn(s->opaque, status);
}

static void debug_exit_write(void *opaque, uint64_t off, const void *data,
			     unsigned len)
{
	uint8_t v;

	(void)len;
	if (off != 0)
		return;
	memcpy(&v, data, 1);
	pr_debug("guest wrote %u to the debug-exit port", v);
	stop(opaque, (v << 1) | 1);
}

const struct bus_ops debug_exit_bus_ops = {
	.write = debug_exit_write,
};

static void sleep_write(void *opaque, uint64_t off, const void *data,
			unsigned len)
{
	uint8_t v;

	(void)len;
	memcpy(&v, data, 1);
	if (off != 0 || !(v & ACPI_SLP_EN) ||
	    ((v >> 2) & 7) != ACPI_S5_SLP_TYP)
		return;
	pr_debug("guest powered off (ACPI S5)");
	stop(opaque, 0);
}

const struct bus_ops acpi_sleep_bus_ops = {
	.write = sleep_write,	/* the status register reads 0 */
};

static void nothing(void *opaque)
{
	(void)opaque;
}

static int save_nothing(void *opaque, struct state_buf *b)
{
	(void)opaque;
	(void)b;
	return 0;
}

static int restore_nothing(void *opaque, struct state_rd *r)
{
	(void)opaque;
	return state_rd_end(r);
}

const struct device_ops sysctl_device_ops = {
	.reset = nothing,
	.save = save_nothing,
	.restore = restore_nothing,
};
