/* SPDX-License-Identifier: MIT */
/*
 * util.h - minivmm's logging. The library never prints; the VMM decides what
 * is worth saying and what is fatal.
 */
#ifndef MINIVMM_UTIL_H
#define MINIVMM_UTIL_H

#include <stdbool.h>

/* Set by -v/--verbose: exit reasons, device state changes. */
extern bool util_verbose;

/* "minivmm: <message>" on stderr. */
void pr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with --verbose: "minivmm: <message>" on stderr. */
void pr_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* MINIVMM_UTIL_H */
