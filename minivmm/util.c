/* SPDX-License-Identifier: MIT */
/* util.c - minivmm's messages: one line each, on stderr. */
#include <stdarg.h>
#include <stdio.h>

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
