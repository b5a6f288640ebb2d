/* SPDX-License-Identifier: MIT */
/* util.c - minivmm's messages: one line each, on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "util.h"

bool util_verbose;

static void vmsg(const char *fmt, va_list ap)
{
	char line[512];

	/* One write per message, so lines from two threads do not mix. */
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "minivmm: %s\n", line);
}

void pr_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void pr_debug(const char *fmt, ...)
{
	va_list ap;

	if (!util_verbose)
		return;
	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void util_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t (*util_clock)(void) = monotonic_ns;

void ratelimit_init(struct ratelimit *rl, const char *what)
{
	*rl = (struct ratelimit){ .what = what };
	pthread_mutex_init(&rl->lock, NULL);
}

/* Say the count (lock held). */
static void say_suppressed(struct ratelimit *rl)
{
	if (rl->suppressed)
		pr_err("%s: %llu more such messages suppressed", rl->what,
		       (unsigned long long)rl->suppressed);
	rl->suppressed = 0;
}

void ratelimit_fini(struct ratelimit *rl)
{
	pthread_mutex_lock(&rl->lock);
	say_suppressed(rl);
	pthread_mutex_unlock(&rl->lock);
	pthread_mutex_destroy(&rl->lock);
}

void pr_err_ratelimited(struct ratelimit *rl, const char *fmt, ...)
{
	uint64_t now = util_clock();
	va_list ap;

	pthread_mutex_lock(&rl->lock);
	if (!rl->start_ns || now - rl->start_ns >= RATELIMIT_INTERVAL_NS) {
		say_suppressed(rl);
		rl->start_ns = now ? now : 1;
		rl->printed = 0;
	}
	if (rl->printed < RATELIMIT_BURST) {
		rl->printed++;
		va_start(ap, fmt);
		vmsg(fmt, ap);
		va_end(ap);
	} else {
		rl->suppressed++;
	}
	pthread_mutex_unlock(&rl->lock);
}
