/* SPDX-License-Identifier: MIT */
/* bench_common.c - the VMM benchmarks' shared harness (bench_common.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

#define MAX_KIDS 4
static volatile pid_t kids[MAX_KIDS];

char bench_tmp_dir[256];
char bench_errmsg[512];

/*
 * Kill every child's process group (QEMU's group includes the shell and
 * cat of an exec: migration), reap the children and remove the folder.
 * Async-signal-safe: also called from the signal handler.
 */
void bench_cleanup(void)
{
	int i;

	for (i = 0; i < MAX_KIDS; i++) {
		pid_t pid = kids[i];

		if (pid > 0) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			kids[i] = 0;
		}
	}
	if (bench_tmp_dir[0])
		bench_remove_tmp();
}

int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void bench_cpu_model(char *buf, size_t size)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256], *p;

	snprintf(buf, size, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10))
			continue;
		p = strchr(line, ':');
		if (!p)
			break;
		p += 1 + strspn(p + 1, " \t");
		p[strcspn(p, "\n")] = '\0';
		snprintf(buf, size, "%s", p);
		break;
	}
	fclose(f);
}

/* Record an error (the first one wins: it is the most specific). */
int bench_failf(const char *fmt, ...)
{
	va_list ap;

	if (bench_errmsg[0])
		return -1;
	va_start(ap, fmt);
	vsnprintf(bench_errmsg, sizeof(bench_errmsg), fmt, ap);
	va_end(ap);
	return -1;
}

void bench_kid_add(pid_t pid)
{
	int i;

	for (i = 0; i < MAX_KIDS; i++) {
		if (!kids[i]) {
			kids[i] = pid;
			return;
		}
	}
}

void bench_kid_remove(pid_t pid)
{
	int i;

	for (i = 0; i < MAX_KIDS; i++)
		if (kids[i] == pid)
			kids[i] = 0;
}

double bench_median(const double *v, int n)
{
	double tmp[BENCH_MAX_RUNS];

	memcpy(tmp, v, (size_t)n * sizeof(*v));
	qsort(tmp, (size_t)n, sizeof(*tmp), bench_cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* fd becomes target, without close-on-exec. */
int bench_move_fd(int fd, int target)
{
	if (fd == target)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, target) < 0 ? -1 : 0;
}

/* Milliseconds until deadline for poll(), at least 0. */
int bench_ms_left(double deadline)
{
	double left = deadline - bench_now();

	if (left <= 0)
		return 0;
	return left > 3600 ? 3600 * 1000 : (int)(left * 1000) + 1;
}

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void bench_on_signal(int sig)
{
	bench_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Everything in the temporary folder is ours, including the temporary
 * files a VMM killed in mid-write leaves: remove every entry. getdents64
 * rather than readdir(), which may allocate, so that the signal handler
 * can call this.
 */
void bench_remove_tmp(void)
{
	static char buf[4096];
	int fd, i;
	long n, off;

	fd = open(bench_tmp_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (i = 0; i < 64; i++) {
		n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);

			if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
				unlinkat(fd, d->d_name, 0);
			off += d->d_reclen;
		}
	}
	close(fd);
	rmdir(bench_tmp_dir);
}

void bench_size_label(uint64_t size, char *buf, size_t len)
{
	if (size % (1ull << 30) == 0)
		snprintf(buf, len, "%llu GiB",
			 (unsigned long long)(size >> 30));
	else
		snprintf(buf, len, "%llu MiB",
			 (unsigned long long)(size >> 20));
}

int bench_floor_run(enum bench_floor how, uint64_t mem_size, double *t_open,
		    double *t_exit, double *t_closed, char *err, size_t len)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	static const uint8_t code[] = { 0xb0, 0x42, 0xe6, 0x10, 0xf4 };
	struct kvm_userspace_memory_region slot = { 0 };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };
	struct kvm_run *run = MAP_FAILED;
	int kvm, vm = -1, cpu = -1, run_size = 0, ret = -1, e = 0;
	const char *what = NULL;
	uint8_t *mem;

/* On failure: remember the call and its errno, and unwind from label. */
#define CHECK(cond, name, label)                                               \
	do {                                                                   \
		if (cond) {                                                    \
			what = name;                                           \
			e = errno;                                             \
			goto label;                                            \
		}                                                              \
	} while (0)

	*t_open = bench_now();
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		snprintf(err, len, "floor: /dev/kvm: %s", strerror(errno));
		return -1;
	}
	mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(mem == MAP_FAILED, "mmap", err_close_kvm);
	memcpy(mem + 0x1000, code, sizeof(code));
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	CHECK(vm < 0, "KVM_CREATE_VM", err_unmap_mem);
	if (how == BENCH_FLOOR_IRQCHIP_FIRST) {
		CHECK(ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0,
		      "KVM_CREATE_IRQCHIP", err_close_vm);
		CHECK(ioctl(vm, KVM_CREATE_PIT2, &pit) < 0, "KVM_CREATE_PIT2",
		      err_close_vm);
	}
	slot.memory_size = mem_size;
	slot.userspace_addr = (uintptr_t)mem;
	CHECK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0,
	      "KVM_SET_USER_MEMORY_REGION", err_close_vm);
	if (how == BENCH_FLOOR_IRQCHIP_AFTER) {
		CHECK(ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0,
		      "KVM_CREATE_IRQCHIP", err_close_vm);
		CHECK(ioctl(vm, KVM_CREATE_PIT2, &pit) < 0, "KVM_CREATE_PIT2",
		      err_close_vm);
	}
	cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	CHECK(cpu < 0, "KVM_CREATE_VCPU", err_close_vm);
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	CHECK(run_size <= 0, "KVM_GET_VCPU_MMAP_SIZE", err_close_cpu);
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   cpu, 0);
	CHECK(run == MAP_FAILED, "mmap of kvm_run", err_close_cpu);
	/* The reset state runs at CS base 0xffff0000: point CS at 0. */
	CHECK(ioctl(cpu, KVM_GET_SREGS, &sregs) < 0, "KVM_GET_SREGS",
	      err_unmap_run);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	CHECK(ioctl(cpu, KVM_SET_SREGS, &sregs) < 0, "KVM_SET_SREGS",
	      err_unmap_run);
	regs.rip = 0x1000;
	regs.rflags = 0x2;
	CHECK(ioctl(cpu, KVM_SET_REGS, &regs) < 0, "KVM_SET_REGS",
	      err_unmap_run);
	CHECK(ioctl(cpu, KVM_RUN, 0) < 0, "KVM_RUN", err_unmap_run);
	*t_exit = bench_now();
#undef CHECK
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != 0x10 ||
	    run->io.direction != KVM_EXIT_IO_OUT ||
	    ((uint8_t *)run)[run->io.data_offset] != 0x42)
		snprintf(err, len, "floor: the vCPU stopped with exit reason "
			 "%u, not at its `out`", run->exit_reason);
	else
		ret = 0;
err_unmap_run:
	munmap(run, (size_t)run_size);
err_close_cpu:
	close(cpu);
err_close_vm:
	close(vm);
	if (t_closed)
		*t_closed = bench_now();
err_unmap_mem:
	munmap(mem, mem_size);
err_close_kvm:
	close(kvm);
	if (what)
		snprintf(err, len, "floor: %s: %s", what, strerror(e));
	return ret;
}
