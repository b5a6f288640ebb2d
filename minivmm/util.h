/* SPDX-License-Identifier: MIT */
/*
 * util.h - minivmm's logging. The library never prints; the VMM decides what
 * is worth saying and what is fatal.
 */
#ifndef MINIVMM_UTIL_H
#define MINIVMM_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Set by -v/--verbose: exit reasons, device state changes. */
extern bool util_verbose;

/* "minivmm: <message>" on stderr. */
void pr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with --verbose: "minivmm: <message>" on stderr. */
void pr_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Format a message into err (errlen bytes, always terminated) for a caller
 * that reports it: one line, no newline. err NULL or errlen 0: nothing.
 */
void util_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* MINIVMM_UTIL_H */
