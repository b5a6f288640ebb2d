/* SPDX-License-Identifier: MIT */
/*
 * devices/sysctl.h - the two write-only ports through which a guest ends
 * its machine:
 *
 * - the debug-exit port (QEMU's isa-debug-exit convention): a byte V
 *   written at offset 0 of its range stops the machine with status
 *   (V << 1) | 1, so a guest's success, 0, is status 1;
 * - the ACPI sleep control register of hardware-reduced ACPI: SLP_TYP S5 with
 *   SLP_EN (soft off, the only sleep state the DSDT offers) stops the
 *   machine with status 0.
 *
 * Neither has state: reads return 0 and nothing is saved.
 */
#ifndef MINIVMM_DEVICES_SYSCTL_H
#define MINIVMM_DEVICES_SYSCTL_H

#include "device.h"

struct bus_ops;

/* QEMU's isa-debug-exit: writing V exits with (V << 1) | 1. */
#define DEBUG_EXIT_PORT 0xf4
#define DEBUG_EXIT_LEN 4

/* Register accesses; opaque is a struct device_stop that outlives them. */
extern const struct bus_ops debug_exit_bus_ops;
extern const struct bus_ops acpi_sleep_bus_ops;

/* Stateless devices: reset, save and restore do nothing. */
extern const struct device_ops sysctl_device_ops;

#endif /* MINIVMM_DEVICES_SYSCTL_H */
