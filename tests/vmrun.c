/* SPDX-License-Identifier: MIT */
/* vmrun.c - see vmrun.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmrun.h"

static int sink_read(struct vmrun_sink *s, int fd)
{
	ssize_t n;

	if (s->cap - s->len < 65536 + 1) {
		size_t cap = s->cap ? s->cap * 2 : 1 << 17;
		char *p = realloc(s->buf, cap);

		if (!p)
			return -ENOMEM;
		s->buf = p;
		s->cap = cap;
	}
	n = read(fd, s->buf + s->len, s->cap - s->len - 1);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	s->len += (size_t)n;
	s->buf[s->len] = '\0';
	return n == 0 ? 1 : 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int vmrun(const char *const argv[], const void *in, size_t in_len,
	  double deadline, struct vmrun *r)
{
	return vmrun_after(argv, in, in_len, NULL, deadline, r);
}

int vmrun_after(const char *const argv[], const void *in, size_t in_len,
		const char *marker, double deadline, struct vmrun *r)
{
	int pin[2] = { -1, -1 }, pout[2], perr[2], wstatus;
	struct vmrun_sink out = { 0 }, err = { 0 };
	size_t sent = 0;
	double start = now();
	struct rusage ru = { 0 };
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC) ||
	    (in && pipe2(pin, O_CLOEXEC)))
		return -errno;
	/*
	 * A large output pipe: QEMU's virtio console drops output that its
	 * stdout cannot take at once, so a momentarily slow reader here
	 * would make the QEMU cross-checks lose bytes. (minivmm waits.)
	 */
	fcntl(pout[1], F_SETPIPE_SZ, 1 << 20);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		/* Never outlive a test that died. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in ? pin[0] : devnull, 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pout[1]);
	close(perr[1]);
	if (in) {
		close(pin[0]);
		fcntl(pin[1], F_SETFL, O_NONBLOCK);
		if (in_len == 0) {
			close(pin[1]);
			pin[1] = -1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = pout[0], .events = POLLIN },
			{ .fd = perr[0], .events = POLLIN },
			{ .fd = pin[1], .events = POLLOUT },
		};
		bool ready = !marker || (out.buf && strstr(out.buf, marker));
		double left = start + deadline - now();

		if (p[0].fd < 0 && p[1].fd < 0)
			break;
		if (left <= 0) {
			r->timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		if (!ready)
			p[2].fd = -1;
		if (poll(p, 3, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			break;
		if (p[2].revents & (POLLOUT | POLLERR | POLLHUP)) {
			ssize_t n = write(pin[1], (const char *)in + sent,
					  in_len - sent);

			if (n > 0)
				sent += (size_t)n;
			if ((n < 0 && errno != EAGAIN) || sent == in_len) {
				close(pin[1]);
				pin[1] = -1;
			}
		}
		if ((p[0].revents & (POLLIN | POLLHUP)) &&
		    sink_read(&out, pout[0]) != 0) {
			close(pout[0]);
			pout[0] = -1;
		}
		if ((p[1].revents & (POLLIN | POLLHUP)) &&
		    sink_read(&err, perr[0]) != 0) {
			close(perr[0]);
			perr[0] = -1;
		}
	}
	if (pin[1] >= 0)
		close(pin[1]);
	if (pout[0] >= 0)
		close(pout[0]);
	if (perr[0] >= 0)
		close(perr[0]);
	wait4(pid, &wstatus, 0, &ru);
	r->seconds = now() - start;
	r->maxrss_kib = ru.ru_maxrss;
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) :
					 128 + WTERMSIG(wstatus);
	if (!out.buf)
		out.buf = calloc(1, 1);
	if (!err.buf)
		err.buf = calloc(1, 1);
	r->out = out.buf;
	r->out_len = out.len;
	r->err = err.buf;
	r->err_len = err.len;
	return 0;
}

void vmrun_free(struct vmrun *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

int vmrun_start(const char *const argv[], double deadline,
		struct vmrun_session *s)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 };
	int ret = 0, i;

	memset(s, 0, sizeof(*s));
	s->in_fd = s->out_fd = s->err_fd = -1;
	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) ||
	    pipe2(perr, O_CLOEXEC)) {
		ret = -errno;
		goto err_close;
	}
	/* As in vmrun_after(): room for a burst of console output. */
	fcntl(pout[1], F_SETPIPE_SZ, 1 << 20);
	s->start = now();
	s->deadline = s->start + deadline;
	s->pid = fork();
	if (s->pid < 0) {
		ret = -errno;
		s->pid = 0;
		goto err_close;
	}
	if (s->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(perr[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	s->in_fd = pin[1];
	s->out_fd = pout[0];
	s->err_fd = perr[0];
	fcntl(s->in_fd, F_SETFL, O_NONBLOCK);
	signal(SIGPIPE, SIG_IGN);
	return 0;

err_close:
	for (i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
		if (perr[i] >= 0)
			close(perr[i]);
	}
	return ret;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * One round: wait until some output arrives (or, with want_in, standard
 * input takes more), at most until the deadline and, unless max_ms is
 * negative, max_ms milliseconds, and read what came. Return: 0;
 * -ETIMEDOUT at the deadline; -EPIPE when both outputs are closed.
 */
static int session_poll(struct vmrun_session *s, bool want_in, bool *in_ready,
			int max_ms)
{
	struct pollfd p[3] = {
		{ .fd = s->out_fd, .events = POLLIN },
		{ .fd = s->err_fd, .events = POLLIN },
		{ .fd = want_in ? s->in_fd : -1, .events = POLLOUT },
	};
	double left = s->deadline - now();
	int ms;

	if (s->out_fd < 0 && s->err_fd < 0)
		return -EPIPE;
	if (left <= 0)
		return -ETIMEDOUT;
	ms = (int)(left * 1000) + 1;
	if (max_ms >= 0 && max_ms < ms)
		ms = max_ms;
	if (poll(p, 3, ms) < 0 && errno != EINTR)
		return -errno;
	if ((p[0].revents & (POLLIN | POLLHUP | POLLERR)) &&
	    sink_read(&s->out, s->out_fd) != 0)
		close_fd(&s->out_fd);
	if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
	    sink_read(&s->err, s->err_fd) != 0)
		close_fd(&s->err_fd);
	if (in_ready)
		*in_ready = p[2].revents != 0;
	return 0;
}

int vmrun_send(struct vmrun_session *s, const char *text)
{
	size_t len = strlen(text), sent = 0;

	while (sent < len) {
		bool ready = false;
		ssize_t n;
		int ret;

		if (s->in_fd < 0)
			return -EPIPE;
		ret = session_poll(s, true, &ready, -1);
		if (ret)
			return ret;
		if (!ready)
			continue;
		n = write(s->in_fd, text + sent, len - sent);
		if (n > 0)
			sent += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return 0;
}

int vmrun_expect(struct vmrun_session *s, size_t from, const char *marker,
		 size_t *at)
{
	size_t mlen = strlen(marker);

	for (;;) {
		const char *hit = NULL;
		int ret;

		if (s->out.buf && from < s->out.len)
			hit = memmem(s->out.buf + from, s->out.len - from,
				     marker, mlen);
		if (hit) {
			*at = (size_t)(hit - s->out.buf);
			return 0;
		}
		ret = session_poll(s, false, NULL, -1);
		if (ret)
			return ret;
	}
}

int vmrun_poll(struct vmrun_session *s, int timeout_ms)
{
	return session_poll(s, false, NULL, timeout_ms);
}

int vmrun_wait(struct vmrun_session *s, int sig, struct vmrun *r)
{
	struct rusage ru = { 0 };
	int wstatus;

	memset(r, 0, sizeof(*r));
	if (s->pid <= 0)
		return -ECHILD;
	/* The signal first, so that it, not the end of input, ends it. */
	if (sig)
		kill(s->pid, sig);
	close_fd(&s->in_fd);
	for (;;) {
		int ret = session_poll(s, false, NULL, -1);

		if (ret == -EPIPE)
			break;
		if (ret == -ETIMEDOUT) {
			r->timed_out = true;
			kill(s->pid, SIGKILL);
			break;
		}
	}
	close_fd(&s->out_fd);
	close_fd(&s->err_fd);
	wait4(s->pid, &wstatus, 0, &ru);
	s->pid = 0;
	r->seconds = now() - s->start;
	r->maxrss_kib = ru.ru_maxrss;
	r->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) :
					 128 + WTERMSIG(wstatus);
	r->out = s->out.buf ? s->out.buf : calloc(1, 1);
	r->out_len = s->out.len;
	r->err = s->err.buf ? s->err.buf : calloc(1, 1);
	r->err_len = s->err.len;
	memset(&s->out, 0, sizeof(s->out));
	memset(&s->err, 0, sizeof(s->err));
	return 0;
}
