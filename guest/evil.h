/* SPDX-License-Identifier: MIT */
/*
 * evil.h - programs that break the virtio rules on purpose, one rule each,
 * to check that a device notices (DEVICE_NEEDS_RESET) and recovers after a
 * reset.
 */
#ifndef GUEST_EVIL_H
#define GUEST_EVIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct con;

/* Whether kind[0..len) names an evil program. */
bool evil_known(const char *kind, size_t len);

/* The known kinds, space-separated, for messages. */
extern const char evil_kinds[];

/*
 * Run evil program `kind` on the console at base (c is set up here), then
 * reset, set up correctly and report the outcome on the console.
 * @ram_end: end of the highest RAM range, 0 if unknown.
 * Return: the program's exit code (0: the device reported the error).
 */
int evil_run(struct con *c, uintptr_t base, const char *kind, size_t len,
	     uint64_t ram_end);

#endif /* GUEST_EVIL_H */
