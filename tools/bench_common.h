/* SPDX-License-Identifier: MIT */
/*
 * bench_common.h - what the VMM benchmarks (bench_snapshot, bench_migrate)
 * share: a clock, one error message, the children to kill and the
 * temporary folder to remove on every way out (signals included), medians
 * and the CPU model for the report.
 */
#ifndef VMMEM_TOOLS_BENCH_COMMON_H
#define VMMEM_TOOLS_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The temporary folder (removed by bench_cleanup()); "" until made. */
extern char bench_tmp_dir[256];
/* The first error, reported as one line. */
extern char bench_errmsg[512];

/* CLOCK_MONOTONIC in seconds. */
double bench_now(void);
/* Milliseconds until deadline for poll(), at least 0. */
int bench_ms_left(double deadline);

/* Record an error (the first one wins: it is the most specific). Return: -1. */
int bench_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The children bench_cleanup() kills (at most 4 at a time). */
void bench_kid_add(pid_t pid);
void bench_kid_remove(pid_t pid);
/* Kill the children, remove the folder; async-signal-safe. */
void bench_cleanup(void);
void bench_remove_tmp(void);
/* A handler for SIGINT/SIGTERM: clean up, then die of the signal. */
void bench_on_signal(int sig);

/* fd becomes target, without close-on-exec; -1 on failure. */
int bench_move_fd(int fd, int target);

/* Runs a benchmark may ask for: bench_median() takes at most this many. */
#define BENCH_MAX_RUNS 64

int bench_cmp_double(const void *a, const void *b);
double bench_median(const double *v, int n);
void bench_cpu_model(char *buf, size_t size);
void bench_size_label(uint64_t size, char *buf, size_t len);

/* Where a floor VM gets the in-kernel IRQCHIP and PIT2. */
enum bench_floor {
	BENCH_FLOOR_PLAIN,		/* none */
	BENCH_FLOOR_IRQCHIP_FIRST,	/* before the memory slot, as QEMU */
	BENCH_FLOOR_IRQCHIP_AFTER,	/* after it, as minivmm */
};

/*
 * The floor of any KVM VMM on this host: open /dev/kvm, create a VM with one
 * slot of mem_size anonymous bytes (and the irqchip as how says) and one
 * vCPU, and run `mov $0x42,%al; out %al,$0x10; hlt` in real mode at 0x1000
 * until KVM reports the `out`; then close everything. Times (bench_now())
 * of open() in *t_open, of the exit in *t_exit and, when t_closed is not
 * NULL, of the VM's close in *t_closed. Return: 0, or -1 with a message in
 * err.
 */
int bench_floor_run(enum bench_floor how, uint64_t mem_size, double *t_open,
		    double *t_exit, double *t_closed, char *err, size_t len);

#endif /* VMMEM_TOOLS_BENCH_COMMON_H */
