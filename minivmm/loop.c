/* SPDX-License-Identifier: MIT */
/*
 * loop.c - the main thread's event loop: queue notifications (ioeventfds),
 * standard input, device output that waits for its fd, signals, the
 * timeout, and requests of the control API. The devices lock themselves;
 * the loop only calls them.
 *
 * While the machine is paused the loop does no device work at all: no
 * notification is taken, no input delivered, no output written. A snapshot
 * of a paused machine is then exactly what the guest had seen, and output
 * written before it is never written again by a process restored from it.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "devices/console.h"
#include "devices/serial.h"
#include "machine.h"
#include "term.h"
#include "util.h"
#include "virtio/mmio.h"

/*
 * After a notification, look at the device's queues for a while before
 * going to sleep in epoll: a guest streaming output queues its next chain
 * soon, and catching it by polling saves a wake-up (tens of microseconds
 * on a virtualised host). How long adapts to the guest, as QEMU's event
 * loop does: a notification that wakes us less than POLL_MAX_NS after the
 * last work would have been caught by a longer poll, so the window grows
 * to 1.5 times that gap; a long sleep halves it again, down to
 * POLL_MIN_NS. The window is the only time spent polling per event, and
 * each look is bounded like any device work (a slice).
 */
#define POLL_MIN_NS 30000ull
#define POLL_MAX_NS 500000ull

struct poller {
	uint64_t until;		/* poll until then; 0: not polling */
	uint64_t window;	/* current poll window, ns */
	uint64_t last_work;	/* the last notification or fruitful poll */
	bool slept;		/* the last epoll_wait could block */
	bool was_running;	/* the machine ran on the last round */
};

/* Work arrived at now (a notification, or a poll that found some). */
static void poll_work(struct poller *p, uint64_t now)
{
	if (p->slept && p->last_work) {
		uint64_t gap = now - p->last_work;

		if (gap < POLL_MAX_NS) {
			gap += gap / 2;
			if (gap > p->window)
				p->window = gap < POLL_MAX_NS ? gap
							      : POLL_MAX_NS;
		} else if (p->window / 2 >= POLL_MIN_NS) {
			p->window /= 2;
		} else {
			p->window = POLL_MIN_NS;
		}
	}
	p->last_work = now;
	p->until = now + p->window;
}

/* The most time output may take after the timeout or a signal. */
#define DRAIN_NS 500000000ull

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The event loop's view of stdin. */
struct input {
	int fd;			/* -1 when closed or not used */
	bool tty;		/* escapes apply */
	bool polled;		/* registered with epoll */
	bool plain_file;	/* epoll cannot watch it: always readable */
	bool to_serial;		/* feeds the UART, not the virtio console */
	struct term_esc esc;
	uint8_t buf[4096 + 1];
	size_t len, off;	/* filtered bytes not yet accepted */
};

/* Offer pending input to the guest. */
static void feed(struct machine *m, struct input *in)
{
	size_t n;

	if (in->off == in->len)
		return;
	if (in->to_serial)
		n = serial_input(m->serial, in->buf + in->off,
				 in->len - in->off);
	else
		n = vcon_input(m->console, in->buf + in->off,
			       in->len - in->off);
	in->off += n;
	if (in->off == in->len)
		in->off = in->len = 0;
}

/* Read stdin when our buffer is empty; returns true on Ctrl-A x. */
static bool read_input(struct machine *m, struct input *in)
{
	uint8_t raw[4096];
	bool quit = false;
	ssize_t n;

	if (in->fd < 0 || in->len)
		return false;
	n = read(in->fd, raw, sizeof(raw));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return false;
	if (n <= 0) {
		/* End of input (or an error, reported): stop watching it
		 * for good, so a closed pipe cannot make the loop spin. */
		if (n < 0)
			pr_err("standard input: %s", strerror(errno));
		in->fd = -1;
		return false;
	}
	if (in->tty) {
		in->len = term_filter(&in->esc, raw, (size_t)n, in->buf, &quit);
	} else {
		memcpy(in->buf, raw, (size_t)n);
		in->len = (size_t)n;
	}
	in->off = 0;
	feed(m, in);
	return quit;
}

/*
 * Watch fd for events (0: stop watching). Return: false when epoll cannot
 * watch it at all (a regular file, which is always ready).
 */
static bool set_interest(int ep, int fd, uint32_t events, bool *registered)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (events && !*registered) {
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0)
			*registered = true;
		else if (errno == EPERM)
			return false;
	} else if (!events && *registered) {
		epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
		*registered = false;
	}
	return true;
}

static int add_fd(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0
								    : -errno;
}

static void handle_signal(struct machine *m, int sfd)
{
	struct signalfd_siginfo si;
	struct winsize ws;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGWINCH) {
		if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0)
			vcon_resize(m->console, ws.ws_col, ws.ws_row);
		return;
	}
	pr_err("stopped by signal %d (%s)", (int)si.ssi_signo,
	       strsignal((int)si.ssi_signo));
	machine_stop(m, 128 + (int)si.ssi_signo);
}

/* Where standard input goes, if anywhere. */
static void input_init(struct machine *m, struct input *in)
{
	const struct vmm_opts *o = m->opts;
	struct stat st;

	*in = (struct input){ .fd = -1 };
	/* The virtio console, or the UART when only the UART is on the
	 * terminal. */
	in->to_serial = o->console != VMM_CONSOLE_STDIO &&
			o->serial == VMM_CONSOLE_STDIO && m->serial;
	if (o->console != VMM_CONSOLE_STDIO && !in->to_serial)
		return;
	in->fd = STDIN_FILENO;
	in->tty = isatty(STDIN_FILENO);
	in->plain_file = fstat(STDIN_FILENO, &st) == 0 &&
			 (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
}

/* Watch each device's output fd only while that output is blocked. */
struct outputs {
	bool out_polled, serial_polled;
};

/* Return: whether some output must be retried at once (a file). */
static bool watch_outputs(struct machine *m, int ep, struct outputs *w)
{
	bool again = false;

	if (m->console && m->out.fd >= 0) {
		bool blocked = vcon_output_blocked(m->console);

		/* Output that epoll cannot watch (a file) is always
		 * writable: go on at once instead of waiting. */
		if (!set_interest(ep, m->out.fd, blocked ? EPOLLOUT : 0,
				  &w->out_polled) && blocked) {
			vcon_output(m->console);
			again = true;
		}
	}
	/* A slice of output ran out with more to do (also when output is
	 * discarded): one more slice, then the other events, then again. */
	if (m->console && vcon_output_more(m->console)) {
		vcon_output(m->console);
		again = true;
	}
	if (m->serial && m->serial_out.fd >= 0) {
		bool blocked = serial_output_blocked(m->serial);

		if (!set_interest(ep, m->serial_out.fd,
				  blocked ? EPOLLOUT : 0, &w->serial_polled) &&
		    blocked) {
			serial_output(m->serial);
			again = true;
		}
	}
	return again;
}

/* Paused: no output is written, so none is waited for. */
static bool unwatch_outputs(struct machine *m, int ep, struct outputs *w)
{
	if (m->out.fd >= 0)
		set_interest(ep, m->out.fd, 0, &w->out_polled);
	if (m->serial_out.fd >= 0)
		set_interest(ep, m->serial_out.fd, 0, &w->serial_polled);
	return false;
}

/* A queue notification: pass it on, and poll for a while after it. */
static bool handle_notify(struct machine *m, int fd, struct poller *p)
{
	uint64_t count;
	unsigned q;

	for (q = 0; q < m->nqueues; q++) {
		if (fd != m->notify_fd[q])
			continue;
		if (read(fd, &count, sizeof(count)) == sizeof(count)) {
			vmmio_notify(m->transport, q);
			poll_work(p, now_ns());
		}
		return true;
	}
	return false;
}

static int add_fds(struct machine *m, int ep, int sfd, int tfd)
{
	if (add_fd(ep, m->stop_fd) || add_fd(ep, sfd) || add_fd(ep, tfd) ||
	    add_fd(ep, m->wake_fd) || add_fd(ep, m->ctl_fd))
		return -errno;
	return 0;
}

/*
 * Watch the queue notifications while the devices may work, not while the
 * machine is paused or not started (they stay pending in their eventfds).
 */
static void watch_notify(struct machine *m, int ep, bool *watching)
{
	bool want = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE) ==
		    MACHINE_RUNNING;
	unsigned q;

	if (want == *watching)
		return;
	for (q = 0; q < m->nqueues; q++) {
		if (m->notify_fd[q] < 0)
			continue;
		if (want)
			add_fd(ep, m->notify_fd[q]);
		else
			epoll_ctl(ep, EPOLL_CTL_DEL, m->notify_fd[q], NULL);
	}
	*watching = want;
}

/* The halt watch's period (machine_halt_watch()). */
#define HALT_WATCH_S 1

static int make_halt_watch(void)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = HALT_WATCH_S },
		.it_interval = { .tv_sec = HALT_WATCH_S },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int loop_run(struct machine *m, int sfd, int tfd)
{
	struct input in;
	struct outputs w = { 0 };
	bool watching = false;
	struct poller poll = { .window = POLL_MIN_NS };
	uint64_t wakeups = 0, sleeps = 0, notifies = 0;
	uint64_t count;
	struct epoll_event evs[8];
	int ep, hfd, i, n, rc;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	hfd = make_halt_watch();
	rc = add_fds(m, ep, sfd, tfd);
	if (!rc && (hfd < 0 || add_fd(ep, hfd)))
		rc = -errno;
	if (rc)
		goto out;
	input_init(m, &in);

	for (;;) {
		/* Polling the queues: look at epoll, do not sleep. */
		int timeout = poll.until ? 0 : -1;
		bool want_in, ready = false, running;

		watch_notify(m, ep, &watching);
		running = watching;
		if (!running)
			timeout = -1;
		/* Read input only when the last read was delivered; stop
		 * watching stdin otherwise, so it cannot spin the loop. */
		want_in = running && in.fd >= 0 && in.len == 0;
		if (in.plain_file) {
			if (want_in)
				ready = in.to_serial ?
						serial_input_ready(m->serial) :
						vcon_input_ready(m->console);
			if (want_in && ready)
				timeout = 0;
		} else if (in.fd >= 0) {
			set_interest(ep, in.fd, want_in ? EPOLLIN : 0,
				     &in.polled);
		} else if (in.polled) {
			epoll_ctl(ep, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
			in.polled = false;
		}
		if (running ? watch_outputs(m, ep, &w) :
			      unwatch_outputs(m, ep, &w))
			timeout = 0;

		n = epoll_wait(ep, evs, ARRAY_SIZE(evs), timeout);
		wakeups++;
		poll.slept = timeout != 0;
		sleeps += poll.slept;
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			pr_err("epoll_wait: %s", strerror(errno));
			break;
		}
		if (n == 0 && want_in && in.plain_file && read_input(m, &in))
			machine_stop(m, VMM_EXIT_OK);
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == m->stop_fd)
				goto out;
			if (fd == sfd) {
				handle_signal(m, sfd);
			} else if (fd == m->ctl_fd) {
				if (read(fd, &count, sizeof(count)) > 0)
					machine_serve_ctl(m);
			} else if (fd == m->wake_fd) {
				/* Re-arm below, at the top of the loop. */
				if (read(fd, &count, sizeof(count)) < 0)
					continue;
			} else if (fd == hfd) {
				if (read(hfd, &count, sizeof(count)) < 0)
					continue;
				if (machine_halt_watch(m)) {
					pr_debug("every vCPU halted with "
						 "interrupts disabled");
					machine_stop(m, VMM_EXIT_OK);
				}
			} else if (fd == tfd) {
				if (read(tfd, &count, sizeof(count)) < 0)
					continue;
				pr_err("guest timed out after %u s; stopping "
				       "it", m->opts->timeout);
				machine_stop(m, VMM_EXIT_TIMEOUT);
			} else if (fd == in.fd) {
				if (want_in && read_input(m, &in)) {
					pr_debug("Ctrl-A x: quitting");
					machine_stop(m, VMM_EXIT_OK);
				}
			} else if (!running) {
				continue;
			} else if (m->serial && fd == m->serial_out.fd) {
				serial_output(m->serial);
			} else if (fd == m->out.fd) {
				vcon_output(m->console);
			} else {
				notifies += handle_notify(m, fd, &poll);
			}
		}
		if (!running) {
			/* Paused or stopped: the device's notifications on
			 * again (a snapshot, say, must hold them on). */
			if (poll.until && m->transport)
				vmmio_unpoll(m->transport);
			poll.until = 0;
			poll.was_running = false;
			continue;
		}
		/* Started or resumed: look at the queues once, in case
		 * the guest queued work while notifications were off. */
		if (!poll.was_running && m->transport)
			poll_work(&poll, now_ns());
		poll.was_running = true;
		/* Receive buffers may have arrived with a notification, or
		 * the UART's FIFO drained (its input callback woke us). */
		if (m->console || in.to_serial)
			feed(m, &in);
		if (poll.until && m->transport) {
			uint64_t now;

			poll.slept = false;
			if (vmmio_poll(m->transport) ||
			    ((now = now_ns()) >= poll.until &&
			     vmmio_unpoll(m->transport)))
				poll_work(&poll, now_ns());
			else if (now >= poll.until)
				poll.until = 0;
		}
	}
out:
	/* A loop that spins (on a closed stdin, say) shows up here. */
	pr_debug("event loop: %llu wake-ups, %llu of them from sleep, %llu "
		 "queue notifications; poll window %llu us",
		 (unsigned long long)wakeups, (unsigned long long)sleeps,
		 (unsigned long long)notifies,
		 (unsigned long long)poll.window / 1000);
	if (hfd >= 0)
		close(hfd);
	close(ep);
	return rc;
}

/*
 * Wait until fd can take more output, a signal arrives on sfd, or
 * deadline (CLOCK_MONOTONIC ns, 0: none) passes. A reader that never
 * drains holds us here, like any program writing to a full pipe, until
 * it is interrupted. Return: false to stop draining.
 */
static bool wait_writable(int fd, int sfd, uint64_t deadline)
{
	struct pollfd p[2] = {
		{ .fd = fd, .events = POLLOUT },
		{ .fd = sfd, .events = POLLIN },
	};
	int timeout = -1, n;

	for (;;) {
		if (deadline) {
			uint64_t now = now_ns();

			if (now >= deadline)
				return false;
			timeout = (int)((deadline - now + 999999) / 1000000);
		}
		n = poll(p, 2, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || p[1].revents)
			return false;
		if (n > 0)
			return true;
	}
}

void loop_drain(struct machine *m, int sfd)
{
	/* Stopped from outside (the timeout, a signal): what the guest
	 * queued goes out for at most DRAIN_NS, so that a flooding guest
	 * cannot hold the exit. A guest that ended by itself has all of its
	 * output written, unless a signal comes first. */
	uint64_t deadline = 0;
	int rounds;

	if (m->status == VMM_EXIT_TIMEOUT || m->status >= 128)
		deadline = now_ns() + DRAIN_NS;
	for (rounds = 0; m->serial && rounds < 100000; rounds++) {
		if (!serial_output(m->serial) ||
		    !wait_writable(m->serial_out.fd, sfd, deadline))
			break;
	}
	for (rounds = 0; m->console && m->out.fd >= 0; rounds++) {
		if (!vcon_output(m->console))
			break;
		if (deadline && now_ns() >= deadline)
			break;
		if (vcon_output_blocked(m->console) &&
		    !wait_writable(m->out.fd, sfd, deadline))
			break;
	}
}
