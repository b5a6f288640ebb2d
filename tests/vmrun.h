/* SPDX-License-Identifier: MIT */
/*
 * vmrun: run a program (minivmm, QEMU) as a child with the given standard
 * input, collect its standard output and error, and wait for it, with a
 * deadline after which it is killed. For the integration tests.
 */
#ifndef VMMEM_TESTS_VMRUN_H
#define VMMEM_TESTS_VMRUN_H

#include <stdbool.h>
#include <stddef.h>

struct vmrun {
	int status;		/* exit status, or 128 + signal */
	bool timed_out;		/* killed at the deadline */
	char *out;		/* stdout, NUL-terminated (may hold NULs) */
	size_t out_len;
	char *err;		/* stderr, NUL-terminated */
	size_t err_len;
	double seconds;		/* wall time from fork to exit */
	long maxrss_kib;	/* peak resident set of the child */
};

/*
 * Run argv[0] (a path) with argv, feeding in[0..in_len) on its stdin and
 * then closing it (in may be NULL: stdin is /dev/null). Kills it after
 * deadline seconds. Return: 0, or -errno when it could not be started.
 */
int vmrun(const char *const argv[], const void *in, size_t in_len,
	  double deadline, struct vmrun *r);

/*
 * The same, but standard input is only written once the standard output
 * contains `marker` (for a program that loses input sent before it is
 * ready).
 */
int vmrun_after(const char *const argv[], const void *in, size_t in_len,
		const char *marker, double deadline, struct vmrun *r);

void vmrun_free(struct vmrun *r);

#endif /* VMMEM_TESTS_VMRUN_H */
