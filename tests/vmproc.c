/* SPDX-License-Identifier: MIT */
/* vmproc.c - a VMM process a test talks to while it runs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmproc.h"
#include "vmrun.h"

static const char *const curl = "/usr/bin/curl";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void vmproc_start(struct vmproc *v, const char *const argv[],
		  const char *const env[])
{
	int in[2], out[2], err[2];
	unsigned i;

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC | O_NONBLOCK), 0);
	memset(v, 0, sizeof(*v));
	v->pid = fork();
	assert_true(v->pid >= 0);
	if (v->pid == 0) {
		/* A test that fails (and so leaves before vmproc_free()) or
		 * dies must not leave a guest running. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(127);
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		fcntl(2, F_SETFL, 0);
		for (i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	v->in = in[1];
	v->out = out[0];
	v->err = err[0];
	v->status = -1;
}

bool vmproc_read(struct vmproc *v, int timeout_ms)
{
	struct pollfd p = { .fd = v->out, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return true;
	if (v->cap - v->len < 65536) {
		v->cap = v->cap ? v->cap * 2 : 1 << 20;
		v->buf = realloc(v->buf, v->cap + 1);
		assert_non_null(v->buf);
	}
	n = read(v->out, v->buf + v->len, v->cap - v->len);
	if (n <= 0)
		return false;
	v->len += (size_t)n;
	v->buf[v->len] = 0;
	return true;
}

void vmproc_wait_len(struct vmproc *v, size_t want)
{
	double end = now_s() + VMPROC_DEADLINE_S;

	while (v->len < want) {
		if (now_s() > end)
			fail_msg("timed out with %zu of %zu bytes", v->len,
				 want);
		if (!vmproc_read(v, 100))
			fail_msg("output ended at %zu of %zu bytes", v->len,
				 want);
	}
}

void vmproc_expect(struct vmproc *v, const char *text)
{
	double end = now_s() + VMPROC_DEADLINE_S;
	size_t n = strlen(text);

	while (v->len < n || memcmp(v->buf + v->len - n, text, n)) {
		if (now_s() > end)
			fail_msg("timed out waiting for \"%s\"", text);
		if (!vmproc_read(v, 100))
			fail_msg("output ended before \"%s\"", text);
	}
}

void vmproc_wait_text(struct vmproc *v, size_t from, const char *text)
{
	double end = now_s() + VMPROC_DEADLINE_S;

	while (!v->buf || v->len < from || !strstr(v->buf + from, text)) {
		if (now_s() > end)
			fail_msg("timed out waiting for \"%s\"", text);
		if (!vmproc_read(v, 100))
			fail_msg("output ended before \"%s\"", text);
	}
}

void vmproc_send(struct vmproc *v, const char *text)
{
	assert_int_equal(write(v->in, text, strlen(text)),
			 (ssize_t)strlen(text));
}

void vmproc_echo(struct vmproc *v, const char *line)
{
	vmproc_send(v, line);
	vmproc_expect(v, line);
}

int vmproc_wait(struct vmproc *v)
{
	double end = now_s() + VMPROC_DEADLINE_S;
	int st;

	if (v->status >= 0)
		return v->status;
	while (vmproc_read(v, 100))
		if (now_s() > end) {
			kill(v->pid, SIGKILL);
			break;
		}
	assert_int_equal(waitpid(v->pid, &st, 0), v->pid);
	v->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return v->status;
}

void vmproc_kill(struct vmproc *v)
{
	if (v->status < 0)
		kill(v->pid, SIGKILL);
	vmproc_wait(v);
}

char *vmproc_stderr(struct vmproc *v)
{
	size_t len = 0, cap = 4096;
	char *s = malloc(cap + 1);
	ssize_t n;

	assert_non_null(s);
	while ((n = read(v->err, s + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap) {
			cap *= 2;
			s = realloc(s, cap + 1);
			assert_non_null(s);
		}
	}
	s[len] = 0;
	return s;
}

void vmproc_free(struct vmproc *v)
{
	vmproc_kill(v);
	close(v->in);
	close(v->out);
	close(v->err);
	free(v->buf);
}

void vmproc_wait_socket(struct vmproc *v, const char *path)
{
	double end = now_s() + VMPROC_DEADLINE_S;
	struct stat st;

	while (stat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		assert_true(now_s() < end);
		assert_int_equal(waitpid(v->pid, NULL, WNOHANG), 0);
		vmproc_read(v, 10);
	}
}

int vmproc_tmpdir(char *dir, size_t len, const char *name)
{
	snprintf(dir, len, "/tmp/vmmem-%s-XXXXXX", name);
	return mkdtemp(dir) ? 0 : -1;
}

void vmproc_rmdir(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	char path[512];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

bool vmproc_usable(const char *what)
{
	bool ok = access("/dev/kvm", R_OK | W_OK) == 0 && vmproc_have_curl();

	if (!ok)
		fprintf(stderr, "skipped: no /dev/kvm or no curl: the %s tests "
				"need both\n", what);
	/* A write to a child that went away is an error, not our death. */
	signal(SIGPIPE, SIG_IGN);
	return ok;
}

bool vmproc_have_curl(void)
{
	return access(curl, X_OK) == 0;
}

int vmproc_api(const char *sock, const char *method, const char *path,
	       const char *json, char **body)
{
	char url[128];
	const char *argv[] = { curl, "-s", "-S", "--unix-socket", sock,
			       "-X", method, "-w", "\n%{http_code}",
			       url, json ? "-d" : NULL, json, NULL };
	struct vmrun r;
	char *nl;
	int code;

	snprintf(url, sizeof(url), "http://localhost%s", path);
	assert_int_equal(vmrun(argv, NULL, 0, VMPROC_DEADLINE_S, &r), 0);
	assert_int_equal(r.status, 0);
	nl = strrchr(r.out, '\n');
	assert_non_null(nl);
	code = atoi(nl + 1);
	*nl = 0;
	if (body)
		*body = strdup(r.out);
	vmrun_free(&r);
	return code;
}
