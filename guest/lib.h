/* SPDX-License-Identifier: MIT */
/*
 * lib.h - what the guest has instead of a C library: memory and string
 * functions, number parsing, a small formatter, and the few x86
 * instructions it needs (all usable in ring 3).
 */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The errno values the guest uses (negated in return values). */
#define EIO 5
#define EINVAL 22
#define ENODEV 19
#define ENOTSUP 95
#define ETIMEDOUT 110

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* The compiler may emit calls to these four. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
/* Whether s[0..len) equals the NUL-terminated string lit. */
bool str_eq(const char *s, size_t len, const char *lit);
/* Whether s[0..len) starts with the NUL-terminated string prefix. */
bool str_starts(const char *s, size_t len, const char *prefix);

/*
 * Parse an unsigned number at s[0..len): "0x" hexadecimal, a leading 0
 * octal, else decimal (like strtoull with base 0). Stops at the first
 * character that is not a digit of the base.
 * Return: the number of characters used, 0 if there is no number or it
 * does not fit 64 bits.
 */
size_t parse_u64(const char *s, size_t len, uint64_t *out);
/* The same, decimal digits only. */
size_t parse_dec(const char *s, size_t len, uint64_t *out);

/*
 * Format into buf (always NUL-terminated if size > 0). Conversions: %s
 * (and %.*s) %c %d %u %x with the l and ll modifiers, %p, %%, a '0' flag
 * and a width.
 * Return: the length of the full output (may exceed size - 1).
 */
size_t fmt(char *buf, size_t size, const char *f, ...)
	__attribute__((format(printf, 3, 4)));
size_t vfmt(char *buf, size_t size, const char *f, va_list ap);

/* Hexadecimal digits of v, lowercase, exactly 16. */
void fmt_hex64(char out[16], uint64_t v);

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c,
			 uint32_t *d)
{
	asm volatile("cpuid"
		     : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
		     : "a"(leaf), "c"(0));
}

/* TSC ticks per second: from CPUID when it says, else an upper estimate. */
uint64_t tsc_hz(void);

/* TSC value `ms` milliseconds from now. */
uint64_t tsc_deadline(uint64_t ms);

/*
 * Write v to the debug-exit port 0xf4, which ends the VM with status
 * (v << 1) | 1. Must stay the `out %al,$imm8` form: the ring-0 #GP handler
 * in boot.S emulates exactly that (and `out %al,(%dx)`) when ring 3 may not
 * do port I/O.
 */
__attribute__((noreturn)) void debug_exit(uint8_t v);

#endif /* GUEST_LIB_H */
