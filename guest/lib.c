/* SPDX-License-Identifier: MIT */
/*
 * lib.c - memory and string functions, number parsing, formatting and the
 * TSC helpers of the guest. Built with -fno-tree-loop-distribute-patterns
 * so that the loops below are not turned back into calls to themselves.
 */
#include "lib.h"

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < n; i++) {
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	}
	return 0;
}

void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == (unsigned char)c)
			return (void *)(p + i);
	}
	return NULL;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

bool str_eq(const char *s, size_t len, const char *lit)
{
	return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

bool str_starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return n <= len && memcmp(s, prefix, n) == 0;
}

static int digit_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return 99;
}

static size_t parse_base(const char *s, size_t len, unsigned base,
			 uint64_t *out)
{
	uint64_t v = 0;
	size_t i;
	int d;

	for (i = 0; i < len; i++) {
		d = digit_value(s[i]);
		if (d >= (int)base)
			break;
		if (v > (UINT64_MAX - (unsigned)d) / base)
			return 0;
		v = v * base + (unsigned)d;
	}
	*out = v;
	return i;
}

size_t parse_dec(const char *s, size_t len, uint64_t *out)
{
	return parse_base(s, len, 10, out);
}

size_t parse_u64(const char *s, size_t len, uint64_t *out)
{
	size_t n;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
	    digit_value(s[2]) < 16) {
		n = parse_base(s + 2, len - 2, 16, out);
		return n ? n + 2 : 0;
	}
	if (len > 1 && s[0] == '0')
		return parse_base(s, len, 8, out);
	return parse_base(s, len, 10, out);
}

/* An output cursor for vfmt: counts everything, stores what fits. */
struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void out_char(struct out *o, char ch)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = ch;
	o->len++;
}

static void out_number(struct out *o, uint64_t v, unsigned base, bool neg,
		       unsigned width, char pad)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[24];
	unsigned n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	for (; width > n; width--)
		out_char(o, pad);
	while (n)
		out_char(o, tmp[--n]);
}

size_t vfmt(char *buf, size_t size, const char *f, va_list ap)
{
	struct out o = { buf, size, 0 };
	unsigned width, lng;
	size_t prec, slen;
	const char *s;
	uint64_t u;
	int64_t d;
	char pad;

	for (; *f; f++) {
		if (*f != '%') {
			out_char(&o, *f);
			continue;
		}
		f++;
		pad = ' ';
		if (*f == '0') {
			pad = '0';
			f++;
		}
		width = 0;
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (unsigned)(*f++ - '0');
		prec = SIZE_MAX;
		if (f[0] == '.' && f[1] == '*') {
			prec = (size_t)va_arg(ap, int);
			f += 2;
		}
		lng = 0;
		while (*f == 'l') {
			lng++;
			f++;
		}
		switch (*f) {
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			for (slen = 0; slen < prec && s[slen]; slen++)
				;
			for (; width > slen; width--)
				out_char(&o, ' ');
			while (slen--)
				out_char(&o, *s++);
			break;
		case 'c':
			out_char(&o, (char)va_arg(ap, int));
			break;
		case 'd':
			d = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			u = d < 0 ? -(uint64_t)d : (uint64_t)d;
			out_number(&o, u, 10, d < 0, width, pad);
			break;
		case 'u':
		case 'x':
			u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
			out_number(&o, u, *f == 'x' ? 16 : 10, false, width,
				   pad);
			break;
		case 'p':
			out_char(&o, '0');
			out_char(&o, 'x');
			out_number(&o, (uintptr_t)va_arg(ap, void *), 16, false,
				   width, pad);
			break;
		case '%':
			out_char(&o, '%');
			break;
		default:
			/* Unknown or truncated conversion: show it as is. */
			out_char(&o, '%');
			if (!*f)
				goto done;
			out_char(&o, *f);
			break;
		}
	}
done:
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len;
}

size_t fmt(char *buf, size_t size, const char *f, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, f);
	n = vfmt(buf, size, f, ap);
	va_end(ap);
	return n;
}

void fmt_hex64(char out[16], uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 15; i >= 0; i--) {
		out[i] = digits[v & 0xf];
		v >>= 4;
	}
}

/*
 * Without a frequency from CPUID, assume a fast TSC: waits then last at
 * least as long as asked on any slower one.
 */
#define TSC_HZ_FALLBACK 3000000000ull

uint64_t tsc_hz(void)
{
	static uint64_t hz;
	uint32_t a, b, c, d, max;

	if (hz)
		return hz;
	hz = TSC_HZ_FALLBACK;
	cpuid(0, &max, &b, &c, &d);
	if (max >= 0x15) {
		/* TSC/crystal ratio b/a and the crystal frequency c. */
		cpuid(0x15, &a, &b, &c, &d);
		if (a && b && c) {
			hz = (uint64_t)c * b / a;
			return hz;
		}
	}
	if (max >= 0x16) {
		/* Base frequency in MHz. */
		cpuid(0x16, &a, &b, &c, &d);
		if (a & 0xffff) {
			hz = (uint64_t)(a & 0xffff) * 1000000;
			return hz;
		}
	}
	cpuid(0x40000000, &max, &b, &c, &d);
	if (max >= 0x40000010 && max < 0x40010000) {
		/* The hypervisor timing leaf: TSC frequency in kHz. */
		cpuid(0x40000010, &a, &b, &c, &d);
		if (a)
			hz = (uint64_t)a * 1000;
	}
	return hz;
}

uint64_t tsc_deadline(uint64_t ms)
{
	return rdtsc() + tsc_hz() / 1000 * ms;
}

void debug_exit(uint8_t v)
{
	asm volatile("outb %%al, $0xf4" : : "a"(v) : "memory");
	for (;;)
		cpu_relax();
}
