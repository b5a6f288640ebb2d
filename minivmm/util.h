/* SPDX-License-Identifier: MIT */
/*
 * util.h - minivmm's logging. The library never prints; the VMM decides what
 * is worth saying and what is fatal.
 */
#ifndef MINIVMM_UTIL_H
#define MINIVMM_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/*
 * Rate-limited messages, for what a guest can make happen again and again
 * (a device failure after each reset, an overflowing buffer), in the style
 * of the kernel's printk_ratelimit: per limiter (one per device and kind
 * of message), at most RATELIMIT_BURST lines in each RATELIMIT_INTERVAL_NS
 * window; the rest are counted, and the count is said once, as one line,
 * with the first message of a later window or by ratelimit_fini().
 * Thread-safe.
 */
#define RATELIMIT_BURST 5
#define RATELIMIT_INTERVAL_NS 5000000000ull

struct ratelimit {
	pthread_mutex_t lock;
	const char *what; /* names the messages in the count line */
	uint64_t start_ns; /* this window's start; 0: none yet */
	unsigned printed;  /* in this window */
	uint64_t suppressed;
};

void ratelimit_init(struct ratelimit *rl, const char *what);
/* Say how many were suppressed and not yet said. */
void ratelimit_fini(struct ratelimit *rl);
void pr_err_ratelimited(struct ratelimit *rl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The clock of the limiters (CLOCK_MONOTONIC ns); tests may replace it. */
extern uint64_t (*util_clock)(void);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* MINIVMM_UTIL_H */
