/* SPDX-License-Identifier: MIT */
/*
 * sandbox.h - system-call filters (seccomp), installed once set-up is done:
 * what a guest that takes over a device emulation, or a request that takes
 * over the control API, can still ask of the kernel. The filters are built
 * with libseccomp when minivmm is built (sandbox_gen.c, which holds the
 * lists of calls); at run time they are only loaded.
 *
 * Two filters, in Firecracker's per-thread posture:
 * - the process filter, installed by the main thread on every thread at
 *   once (TSYNC; threads created later inherit it): the system calls of the
 *   event loop, the control API's threads, a migration's sender, a lazy
 *   restore's watchdog, and what the C library does for them (thread start
 *   and exit, memory). Set-up calls (opening /dev/kvm before a restore,
 *   dlopen, bind) that only set-up makes are not in it.
 * - the vCPU filter, stacked on top by each vCPU thread as it starts: the
 *   exits of one vCPU (KVM_RUN and the few vCPU ioctls of its own thread,
 *   writes to eventfds and to the console's output, futexes, the kick's
 *   signal). Its ioctl is limited to those request numbers.
 *
 * Anything else kills the whole process with SIGSYS (SECCOMP_RET_KILL_
 * PROCESS): a sandboxed VMM that meets an unexpected system call has been
 * subverted or has a bug; either way it must not go on. --no-seccomp turns
 * both filters off, for debugging.
 *
 * Sanitizer builds (AddressSanitizer, ThreadSanitizer) allow what their
 * runtimes need besides (the leak check at exit stops the world with
 * ptrace, for one).
 */
#ifndef MINIVMM_SANDBOX_H
#define MINIVMM_SANDBOX_H

/*
 * Install the process filter on every thread. Return: 0, or a negative
 * errno (said on stderr).
 */
int sandbox_process(void);

/* Stack the vCPU filter on the calling thread. Return: 0 or -errno. */
int sandbox_vcpu(void);

/*
 * For tests (MINIVMM_SANDBOX_PROBE=main|vcpu in the environment): make one
 * system call that neither filter allows, on that thread, once the filters
 * are in. The process must die of SIGSYS.
 */
void sandbox_probe(const char *where);

#endif /* MINIVMM_SANDBOX_H */
