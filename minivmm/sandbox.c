/* SPDX-License-Identifier: MIT */
/* sandbox.c - see sandbox.h. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"
#include "util.h"

/*
 * The filters themselves are built with libseccomp when minivmm is built
 * (sandbox_gen.c): sandbox_process_bpf[] and sandbox_vcpu_bpf[].
 */
#include "sandbox_bpf.h"

_Static_assert(ARRAY_SIZE(sandbox_process_bpf) <= BPF_MAXINSNS &&
		       ARRAY_SIZE(sandbox_vcpu_bpf) <= BPF_MAXINSNS,
	       "a filter longer than the kernel takes");

static int load(const struct sock_filter *bpf, size_t n, unsigned flags,
		const char *what)
{
	struct sock_fprog prog = {
		.len = (unsigned short)n,
		.filter = (struct sock_filter *)bpf,
	};
	long rc;

	/* Unprivileged filters need it; it is inherited and never undone. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		rc = -errno;
		goto err;
	}
	rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	if (rc < 0)
		rc = -errno;
	else if (rc > 0)
		rc = -EBUSY;	/* TSYNC: thread rc has another filter */
	if (!rc)
		return 0;
err:
	pr_err("sandbox: cannot install the %s filter: %s", what,
	       strerror((int)-rc));
	return (int)rc;
}

int sandbox_process(void)
{
	return load(sandbox_process_bpf, ARRAY_SIZE(sandbox_process_bpf),
		    SECCOMP_FILTER_FLAG_TSYNC, "process");
}

int sandbox_vcpu(void)
{
	return load(sandbox_vcpu_bpf, ARRAY_SIZE(sandbox_vcpu_bpf), 0, "vCPU");
}

void sandbox_probe(const char *where)
{
	const char *want = getenv("MINIVMM_SANDBOX_PROBE");

	/* personality(0xffffffff) only reads the persona: harmless where
	 * no filter is in, and no filter allows it. */
	if (want && strcmp(want, where) == 0)
		syscall(SYS_personality, 0xffffffffUL);
}
