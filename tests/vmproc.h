/* SPDX-License-Identifier: MIT */
/*
 * vmproc: a VMM process a test talks to while it runs: its standard input
 * and output are pipes of the test's, and its control API is driven with
 * curl, as a user would. For the snapshot and migration tests; every
 * wait has a deadline and failures are cmocka failures.
 */
#ifndef VMMEM_TESTS_VMPROC_H
#define VMMEM_TESTS_VMPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Seconds any one wait may take (generous for the sanitizer builds). */
#define VMPROC_DEADLINE_S 60.0

struct vmproc {
	pid_t pid;
	int in, out, err;
	char *buf;		/* everything read from its stdout, NUL-ended */
	size_t len, cap;
	int status;		/* exit status once waited for; -1 before */
};

/* Start argv[0] (a path) with extra environment entries ("K=V", NULL
 * ended; env may be NULL). */
void vmproc_start(struct vmproc *v, const char *const argv[],
		  const char *const env[]);

/* Read what stdout has now, waiting at most timeout_ms. Return: false at
 * end of file. */
bool vmproc_read(struct vmproc *v, int timeout_ms);

/* Wait until stdout holds want bytes in all / ends with text. */
void vmproc_wait_len(struct vmproc *v, size_t want);
void vmproc_expect(struct vmproc *v, const char *text);

/* Wait until stdout holds text somewhere after its first from bytes. */
void vmproc_wait_text(struct vmproc *v, size_t from, const char *text);

void vmproc_send(struct vmproc *v, const char *text);
/* A line in, its echo out (the guest's prog=echo). */
void vmproc_echo(struct vmproc *v, const char *line);

/* Wait for the end (reading stdout); the exit status. */
int vmproc_wait(struct vmproc *v);
void vmproc_kill(struct vmproc *v);
/* Its standard error so far (to free). */
char *vmproc_stderr(struct vmproc *v);
/* Kill it if it still runs, and free everything. */
void vmproc_free(struct vmproc *v);

/* Wait until a Unix socket exists at path (v must not end meanwhile). */
void vmproc_wait_socket(struct vmproc *v, const char *path);

/* A test's own folder under /tmp (dir: at least 64 bytes); 0 or -1. */
int vmproc_tmpdir(char *dir, size_t len, const char *name);
/* Remove that folder and the files in it. */
void vmproc_rmdir(const char *dir);

/* Whether /dev/kvm and curl are there; if not, say which tests skip. */
bool vmproc_usable(const char *what);

/* Whether curl is there to drive the API. */
bool vmproc_have_curl(void);

/*
 * One API request with curl on the socket at sock: the HTTP status, and
 * the body in *body (to free) unless body is NULL. json NULL: no body.
 */
int vmproc_api(const char *sock, const char *method, const char *path,
	       const char *json, char **body);

#endif /* VMMEM_TESTS_VMPROC_H */
