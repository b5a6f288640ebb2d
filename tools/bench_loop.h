/* SPDX-License-Identifier: MIT */
/*
 * bench_loop.h - what the loop benchmarks (bench_memory, bench_peers)
 * share: how their timed loops are compiled, the clock, the scheduler's
 * count of interruptions, pinning, and the layout and random addresses of
 * their random rows (the Rust side of bench-peers makes the same ones).
 */
#ifndef VMMEM_TOOLS_BENCH_LOOP_H
#define VMMEM_TOOLS_BENCH_LOOP_H

#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <vmmem/addr.h>

/*
 * The timed loops: compiled on their own (noinline) and each starting on a
 * cache line, so that where a loop lands does not change with unrelated
 * edits. Loops of a few instructions can differ by half their time with
 * placement alone.
 */
#define LOOP_FN __attribute__((noinline, aligned(64)))

/*
 * Make the compiler forget what it knows about x, at no run-time cost, so
 * that work depending on x cannot be hoisted out of a loop.
 */
#define OPAQUE(x) __asm__ volatile("" : "+r"(x))

/* Make the compiler assume all memory is read and written here. */
#define CLOBBER() __asm__ volatile("" : : : "memory")

/* Random rows: up to 1024 regions of 64 KiB with 4 KiB holes between. */
#define RND_GPA 0x100000000ull
#define RND_REGION 0x10000ull
#define RND_GAP 0x1000ull
#define RND_MAX 1024
#define RND_ADDRS 4096

/* CLOCK_MONOTONIC in ns. */
static inline double bench_loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Involuntary context switches of this thread so far. */
static inline long bench_loop_nivcsw(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return 0;
	return ru.ru_nivcsw;
}

/* Pin to cpu, or (cpu < 0) to the CPU we are on. Return: the CPU, or -1. */
static inline int bench_loop_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		cpu = sched_getcpu();
	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -1;
	return cpu;
}

/* Word i of a buffer filled from base is (base + 8 i + 1) * K. */
static inline void bench_loop_fill(uint8_t *p, size_t len, uint64_t base)
{
	uint64_t w;
	size_t i;

	for (i = 0; i + sizeof(w) <= len; i += sizeof(w)) {
		w = (base + i + 1) * 0x9e3779b97f4a7c15ull;
		memcpy(p + i, &w, sizeof(w));
	}
}

static inline uint64_t bench_loop_xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* The first byte of random-row region i. */
static inline vmmem_gpa_t bench_loop_rnd_gpa(size_t i)
{
	return RND_GPA + i * (RND_REGION + RND_GAP);
}

#endif /* VMMEM_TOOLS_BENCH_LOOP_H */
