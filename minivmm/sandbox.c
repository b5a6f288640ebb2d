/* SPDX-License-Identifier: MIT */
/* sandbox.c - see sandbox.h. */
#include <errno.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"
#include "util.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

/*
 * After set-up, on any thread: the event loop and the devices it runs, the
 * control requests it serves (snapshots: files; a restore: a new VM, its
 * memory and eventfds), the control API's threads (libmicrohttpd: accept,
 * receive, send; jansson), a migration (a socket, the stream), a lazy
 * restore's watchdog, and the C library's thread start and exit.
 */
static const char *const process_calls[] = {
	"accept4", "brk", "clock_gettime", "clock_nanosleep", "clone",
	"clone3", "close", "connect", "epoll_create1", "epoll_ctl",
	"epoll_pwait", "epoll_wait", "eventfd2", "exit", "exit_group",
	"fchmod", "fcntl", "fdatasync", "fstat", "fsync", "ftruncate",
	"futex", "getpid", "getrandom", "getsockopt", "gettid", "ioctl",
	"lseek", "madvise", "membarrier", "memfd_create", "mmap", "mprotect",
	"mremap", "munmap", "nanosleep", "newfstatat", "openat", "pipe2",
	"poll", "ppoll", "prctl", "pread64", "preadv", "pwrite64", "pwritev",
	"read", "readv", "recvfrom", "recvmsg", "rename", "restart_syscall",
	"rseq", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
	"sched_yield", "seccomp", "sendmsg", "sendto", "set_robust_list",
	"setsockopt", "shutdown", "socket", "tgkill", "timerfd_create",
	"timerfd_settime", "unlink", "userfaultfd", "write", "writev",
};

/*
 * A vCPU thread: its exits (port and MMIO accesses reach the devices:
 * eventfd and console writes, the console's writev from guest memory),
 * the kick, the halt watch's look at its own state, completing the last
 * exit before a pause, locks, and the end of the thread.
 */
static const char *const vcpu_calls[] = {
	"clock_gettime", "exit", "futex", "getpid", "gettid", "ioctl",
	"madvise", "membarrier", "munmap", "restart_syscall", "rseq",
	"rt_sigprocmask", "rt_sigreturn", "sched_yield", "tgkill", "write",
	"writev",
};

/* The only ioctls a vCPU thread makes (vcpu.c: run, halt watch, dump). */
static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, KVM_GET_MP_STATE,
	KVM_GET_VCPU_EVENTS,
};

#ifdef SANITIZED
/*
 * What the sanitizer runtimes do besides: reports, their allocator, the
 * leak check at exit (a tracer thread that stops the others with ptrace
 * and reads /proc).
 */
static const char *const sanitizer_calls[] = {
	"access", "dup", "dup2", "dup3", "getdents", "getdents64", "getppid",
	"gettimeofday", "time",
	"getrlimit", "kill", "lstat", "open", "prlimit64", "ptrace",
	"readlink", "readlinkat", "sched_getaffinity", "sigaltstack", "stat",
	"uname", "wait4", "waitid",
};
#endif

static int add_calls(scmp_filter_ctx ctx, const char *const *names,
		     size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		int rc;

		if (nr == __NR_SCMP_ERROR)
			continue; /* not a system call of this architecture */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc)
			return rc;
	}
	return 0;
}

static int load(scmp_filter_ctx ctx, const char *what)
{
	int rc = seccomp_load(ctx);

	seccomp_release(ctx);
	if (rc)
		pr_err("sandbox: cannot install the %s filter: %s", what,
		       strerror(-rc));
	return rc;
}

int sandbox_process(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int rc;

	if (!ctx) {
		pr_err("sandbox: cannot make a filter");
		return -ENOMEM;
	}
	rc = add_calls(ctx, process_calls, ARRAY_SIZE(process_calls));
#ifdef SANITIZED
	if (!rc)
		rc = add_calls(ctx, sanitizer_calls,
			       ARRAY_SIZE(sanitizer_calls));
#endif
	if (!rc)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc) {
		seccomp_release(ctx);
		pr_err("sandbox: cannot build the process filter: %s",
		       strerror(-rc));
		return rc;
	}
	return load(ctx, "process");
}

int sandbox_vcpu(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int ioctl_nr = seccomp_syscall_resolve_name("ioctl");
	size_t i;
	int rc;

	if (!ctx)
		return -ENOMEM;
	rc = 0;
	for (i = 0; !rc && i < ARRAY_SIZE(vcpu_calls); i++) {
		int nr = seccomp_syscall_resolve_name(vcpu_calls[i]);

		if (nr == __NR_SCMP_ERROR || nr == ioctl_nr)
			continue;
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	for (i = 0; !rc && i < ARRAY_SIZE(vcpu_ioctls); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, ioctl_nr, 1,
				      SCMP_A1(SCMP_CMP_EQ, vcpu_ioctls[i]));
#ifdef SANITIZED
	if (!rc)
		rc = add_calls(ctx, sanitizer_calls,
			       ARRAY_SIZE(sanitizer_calls));
	/* The runtimes' own allocator and reports, on this thread too. */
	for (i = 0; !rc && i < ARRAY_SIZE(process_calls); i++) {
		int nr = seccomp_syscall_resolve_name(process_calls[i]);

		if (nr == __NR_SCMP_ERROR || nr == ioctl_nr)
			continue;
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
#endif
	if (rc) {
		seccomp_release(ctx);
		pr_err("sandbox: cannot build the vCPU filter: %s",
		       strerror(-rc));
		return rc;
	}
	return load(ctx, "vCPU");
}

void sandbox_probe(const char *where)
{
	const char *want = getenv("MINIVMM_SANDBOX_PROBE");

	/* personality(0xffffffff) only reads the persona: harmless where
	 * no filter is in, and no filter allows it. */
	if (want && strcmp(want, where) == 0)
		syscall(SYS_personality, 0xffffffffUL);
}
