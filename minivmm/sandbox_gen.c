/* SPDX-License-Identifier: MIT */
/*
 * sandbox_gen.c - build minivmm's system-call filters with libseccomp and
 * write them out as C arrays of BPF instructions (the build's
 * sandbox_bpf.h), so that minivmm only loads them at run time: compiling
 * a filter costs a few hundred microseconds on every start, restores
 * included, and loading one costs a system call.
 *
 * Built and run once per build variant, with that variant's flags: a
 * sanitizer build's filters allow what its runtime needs. The filters are
 * for the architecture the build runs on, which is the one minivmm is
 * built for (minivmm is x86-64 only; libseccomp's filter also kills any
 * call made with another architecture's convention, x32 included).
 *
 * Usage: sandbox_gen > sandbox_bpf.h. Exit status 1 with one line on
 * stderr if libseccomp cannot build a filter.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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
 * restore's watchdog, the C library's thread start and exit, and where
 * vCPU threads start (machine_start(): the CPU set, sched_getcpu()).
 */
static const char *const process_calls[] = {
	"accept4", "brk", "clock_gettime", "clock_nanosleep", "clone",
	"clone3", "close", "connect", "epoll_create1", "epoll_ctl",
	"epoll_pwait", "epoll_wait", "eventfd2", "exit", "exit_group",
	"fchmod", "fcntl", "fdatasync", "fstat", "fsync", "ftruncate", "futex",
	"getcpu", "getpid", "getrandom", "getsockopt", "gettid", "ioctl",
	"lseek", "madvise", "membarrier", "memfd_create", "mmap", "mprotect",
	"mremap", "munmap", "nanosleep", "newfstatat", "openat", "pipe2",
	"poll", "ppoll", "prctl", "pread64", "preadv", "pwrite64", "pwritev",
	"read", "readv", "recvfrom", "recvmsg", "rename", "restart_syscall",
	"rseq", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
	"sched_getaffinity", "sched_setaffinity", "sched_yield", "seccomp",
	"sendmsg", "sendto", "set_robust_list", "setsockopt", "shutdown",
	"socket", "tgkill", "timerfd_create", "timerfd_settime", "unlink",
	"userfaultfd", "write", "writev",
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

/* Allow each call of names[] that this architecture has, except skip. */
static int add_calls(scmp_filter_ctx ctx, const char *const *names,
		     size_t n, int skip)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		int rc;

		if (nr == __NR_SCMP_ERROR || nr == skip)
			continue; /* not a system call of this architecture */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc)
			return rc;
	}
	return 0;
}

static int add_process(scmp_filter_ctx ctx)
{
	int rc = add_calls(ctx, process_calls, ARRAY_SIZE(process_calls), -1);

#ifdef SANITIZED
	if (!rc)
		rc = add_calls(ctx, sanitizer_calls,
			       ARRAY_SIZE(sanitizer_calls), -1);
#endif
	return rc;
}

static int add_vcpu(scmp_filter_ctx ctx)
{
	int ioctl_nr = seccomp_syscall_resolve_name("ioctl");
	size_t i;
	int rc;

	rc = add_calls(ctx, vcpu_calls, ARRAY_SIZE(vcpu_calls), ioctl_nr);
	for (i = 0; !rc && i < ARRAY_SIZE(vcpu_ioctls); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, ioctl_nr, 1,
				      SCMP_A1(SCMP_CMP_EQ, vcpu_ioctls[i]));
#ifdef SANITIZED
	if (!rc)
		rc = add_calls(ctx, sanitizer_calls,
			       ARRAY_SIZE(sanitizer_calls), -1);
	/* The runtimes' own allocator and reports, on this thread too. */
	if (!rc)
		rc = add_calls(ctx, process_calls, ARRAY_SIZE(process_calls),
			       ioctl_nr);
#endif
	return rc;
}

/* Build one filter and print it as the array name[]. */
static int emit(const char *name, int (*add)(scmp_filter_ctx))
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	FILE *tmp = NULL;
	uint8_t insn[8];
	unsigned n = 0;
	int rc;

	if (!ctx) {
		fprintf(stderr, "sandbox_gen: seccomp_init failed for %s "
				"(does this kernel have SECCOMP_RET_KILL_"
				"PROCESS?)\n", name);
		return -1;
	}
	rc = add(ctx);
	if (!rc) {
		tmp = tmpfile();
		rc = tmp ? seccomp_export_bpf(ctx, fileno(tmp)) : -errno;
	}
	seccomp_release(ctx);
	if (rc) {
		fprintf(stderr, "sandbox_gen: cannot build %s: %s\n", name,
			strerror(-rc));
		goto out;
	}
	rewind(tmp);
	printf("static const struct sock_filter %s[] = {\n", name);
	/* struct sock_filter: u16 code, u8 jt, u8 jf, u32 k, host order. */
	while (fread(insn, sizeof(insn), 1, tmp) == 1) {
		uint16_t code;
		uint32_t k;

		memcpy(&code, insn, sizeof(code));
		memcpy(&k, insn + 4, sizeof(k));
		printf("\t{ 0x%04x, %3u, %3u, 0x%08x },\n", code, insn[2],
		       insn[3], k);
		n++;
	}
	printf("};\n\n");
	if (ferror(tmp) || !n) {
		fprintf(stderr, "sandbox_gen: cannot read back %s\n", name);
		rc = -1;
	}
out:
	if (tmp)
		fclose(tmp);
	return rc;
}

int main(void)
{
	printf("/* Generated by sandbox_gen (minivmm/sandbox_gen.c) with "
	       "libseccomp %u.%u.%u. */\n\n",
	       seccomp_version()->major, seccomp_version()->minor,
	       seccomp_version()->micro);
	if (emit("sandbox_process_bpf", add_process) ||
	    emit("sandbox_vcpu_bpf", add_vcpu))
		return 1;
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "sandbox_gen: cannot write the filters\n");
		return 1;
	}
	return 0;
}
