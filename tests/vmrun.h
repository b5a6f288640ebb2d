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
#include <sys/types.h>

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

/* A growing buffer of a child's output, always NUL-terminated. */
struct vmrun_sink {
	char *buf;
	size_t len, cap;
};

/*
 * An interactive run: the child's standard input stays open for
 * vmrun_send(), and the test waits for markers in its output with
 * vmrun_expect(), then ends it with vmrun_wait(). Every wait is bounded by
 * the deadline given to vmrun_start().
 */
struct vmrun_session {
	/* read-only */
	struct vmrun_sink out;	/* standard output so far (may hold NULs) */
	struct vmrun_sink err;	/* standard error so far */
	/* private */
	pid_t pid;		/* 0 once waited for */
	int in_fd, out_fd, err_fd;	/* -1 once closed */
	double start, deadline;
};

/*
 * Start argv[0] (a path) with argv, its standard input a pipe kept open.
 * deadline: seconds from now for every later vmrun_send(), vmrun_expect()
 * and vmrun_wait() on it. Return: 0, or -errno when it could not be
 * started (then nothing is left to end).
 */
int vmrun_start(const char *const argv[], double deadline,
		struct vmrun_session *s);

/*
 * Write the NUL-terminated text to the child's standard input, collecting
 * its output meanwhile. Return: 0; -ETIMEDOUT at the deadline; -EPIPE when
 * the child no longer reads it.
 */
int vmrun_send(struct vmrun_session *s, const char *text);

/*
 * Wait until the standard output from offset `from` on contains `marker`.
 * Return: 0 with *at the offset of its first byte; -ETIMEDOUT at the
 * deadline; -EPIPE when the child closed its output (ended) first.
 */
int vmrun_expect(struct vmrun_session *s, size_t from, const char *marker,
		 size_t *at);

/*
 * Collect what the child writes for at most timeout_ms milliseconds (less
 * when output arrives first), for a test that waits for something other
 * than output while the child runs. Return: 0; -ETIMEDOUT at the
 * deadline; -EPIPE when the child closed its output (ended).
 */
int vmrun_poll(struct vmrun_session *s, int timeout_ms);

/*
 * Close the child's standard input, send it `sig` unless 0, and wait for
 * it to end, collecting the rest of its output; at the deadline it is
 * killed (r->timed_out). r receives the whole output and the status (free
 * it with vmrun_free()); the session holds nothing afterwards, and a
 * second call returns -ECHILD. Return: 0 or a negative errno.
 */
int vmrun_wait(struct vmrun_session *s, int sig, struct vmrun *r);

#endif /* VMMEM_TESTS_VMRUN_H */
