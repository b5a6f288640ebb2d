/* SPDX-License-Identifier: MIT */
/*
 * bench_migrate - live migration, minivmm against QEMU's microvm on the
 * same guest image, for 256 MiB and 2 GiB guests, over a Unix socket
 * between two processes on this host. Medians of N runs; every run takes
 * one sample of everything, in an order that rotates from run to run.
 *
 * Two guests (build/guest/guest.elf):
 *  - idle: prog=echo. A line written to the VMM's standard input comes
 *    back before the migration (the guest is then polling its console)
 *    and another after it, from the destination.
 *  - churn: prog=churn churn=MIB (a quarter of RAM unless --churn says
 *    otherwise). The guest rewrites its working set pass after pass and
 *    checks every page before rewriting it. The migration starts once it
 *    has churned for CHURN_WARM seconds after its first pass (which faults
 *    the memory in); its passes per second over that time are its speed.
 *    After the migration the destination must print two more progress
 *    lines, then end on Ctrl-D with "0 errors" in every line and exit
 *    cleanly.
 *
 * Per size and guest:
 *  - minivmm: a destination `minivmm --incoming unix:SOCK`, a source with
 *    --api-socket. A second API connection is opened before the migration
 *    and kept open; PUT /migrate {"destination_url":"unix:SOCK"} on a
 *    first one; on its 204, GET /migrate on the second: minivmm, which
 *    stops after a migration, answers the connections still open before
 *    it exits, so this reads the final total_time_ms, downtime_ms,
 *    bytes_sent and rounds. The source must then exit with status 0.
 *  - QEMU: the same command line twice, the destination with -incoming
 *    unix:SOCK, QMP on a socket pair (fd 3) of each; max-bandwidth raised
 *    (QEMU 7.2 defaults to 32 MiB/s) and MIGRATION events on, then
 *    `migrate unix:SOCK`. Figures from query-migrate after the MIGRATION
 *    event "completed": total-time, downtime, ram.transferred and
 *    ram.dirty-sync-count. For the churning guest three settings: QEMU's
 *    default downtime limit (300 ms), a 2 ms limit (minivmm's budget),
 *    and 2 ms with the auto-converge capability (QEMU throttles the vCPU
 *    until the rest fits). A migration that has not completed after
 *    --bound seconds is cancelled and counted as not converged.
 *
 * QEMU's own downtime runs from its stop request (pausing the vCPUs
 * included) to the source's last byte; the QMP events' time stamps give
 * the span from the vCPUs stopped (STOP) to the destination running them
 * (RESUME), and the total from the migrate command to that RESUME.
 * minivmm's downtime runs from its vCPUs stopped to the destination's
 * answer that the guest runs there, its total from the request to that
 * answer; the benchmark's own PUT-to-204 time is the end-to-end total.
 *
 * For the churning guest the benchmark also reports its speed across the
 * migration: passes from its last progress line before the migration to
 * the destination's first, per second, in percent of its speed before.
 *
 * --pin puts the source on CPU 0 and the destination on CPU 1, as if on
 * two hosts; --verbose prints every migration's figures, QEMU's passes
 * (MIGRATION_PASS events) and minivmm's rounds (GET /migrate every 10 ms
 * while the PUT waits, which costs the source a little).
 *
 * usage: bench_migrate [--runs N] [--sizes SIZE,...] [--churn MIB]
 *                      [--bound SECONDS] [--pin] [--verbose]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

static const char *const minivmm = "build/minivmm";
static const char *const guest = "build/guest/guest.elf";
static const char *const qemu = "/usr/bin/qemu-system-x86_64";

#define MAX_RUNS BENCH_MAX_RUNS
#define MAX_SIZES 4
/* Every wait for a VMM (boot, migration, exit) ends by then. */
#define STEP_TIMEOUT 60.0
/* QEMU's migration is cancelled after this long, unless --bound. */
#define DEFAULT_BOUND 30.0
/* The churn runs this long after its first pass before a migration. */
#define CHURN_WARM 1.0
/* minivmm's downtime budget, which the QEMU variants below copy. */
#define LIMIT_MS 2

/* The lines the idle guest echoes: one before, one after. */
static const char ready_line[] = "bench-migrate: ready\n";
static const char moved_line[] = "bench-migrate: migrated\n";

enum guest_kind { IDLE, CHURN, NKINDS };

/* What migrates: minivmm, or QEMU with one of three settings. */
enum variant { MINIVMM, QEMU, QEMU_LIMIT, QEMU_AUTO, NVARIANTS };
static const char *const variant_name[NVARIANTS] = {
	"minivmm", "QEMU, default limit (300 ms)", "QEMU, limit 2 ms",
	"QEMU, limit 2 ms + auto-converge"
};

/* One migration's figures. */
struct sample {
	bool done;	     /* completed (QEMU: within the bound) */
	double total_ms;     /* the VMM's own total time */
	double down_ms;	     /* the VMM's own downtime */
	double e2e_total_ms; /* to the destination running the guest */
	double e2e_down_ms;  /* source paused to destination running */
	double bytes;	     /* stream (minivmm) or RAM (QEMU) bytes */
	double rounds;	     /* rounds, or QEMU's dirty-sync-count */
	/* The churning guest: passes per second before the migration, its
	 * speed across it in percent of that, and the last progress line
	 * before it. */
	double rate_before, guest_pct;
	unsigned long mark_n;
	double mark_t;
};

/*
 * What the signal handler and every exit path clean up: child process
 * groups and the temporary folder, whose paths are fixed at start-up so
 * that bench_cleanup() only calls async-signal-safe functions.
 */
enum tmp_file { F_API, F_MIG, F_SRC_ERR, F_DST_ERR, NFILES };
static const char *const tmp_name[NFILES] = { "api.sock", "mig.sock",
					      "source.err", "dest.err" };
static char tmp_path[NFILES][320];

/* The phase an error happened in, for its message. */
static char phase[96];
static bool verbose;
/* Source on CPU 0, destination on CPU 1, as if on two hosts. */
static bool pin;
static char qemu_version[32] = "unknown";


/* The wall clock, which QMP's event time stamps use. */
static double now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}








/*
 * "; it said: LINE" with the first non-empty line a child wrote on its
 * standard error (the file err), or "" when it wrote nothing.
 */
static const char *said(enum tmp_file err, char *buf, size_t size)
{
	FILE *f = fopen(tmp_path[err], "r");
	char line[200];

	buf[0] = '\0';
	if (!f)
		return buf;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0]) {
			snprintf(buf, size, "; it said: %s", line);
			break;
		}
	}
	fclose(f);
	return buf;
}

/* ---- Child processes ---- */

struct child {
	const char *name;
	pid_t pid;
	int in;		   /* its standard input: our write end */
	int out;	   /* its standard output: our read end */
	int qmp;	   /* our end of its QMP socket, or -1 */
	enum tmp_file err; /* where its standard error goes */
	char buf[4096];	   /* the tail of its standard output */
	size_t len;
	/* Its output line by line, and what the churn said in it. */
	char line[512];
	size_t line_len;
	unsigned progress;	/* "churn: N passes, M errors" lines */
	unsigned long passes;	/* N of the last one */
	unsigned long first_n;	/* N of the first one */
	double first_t, last_t; /* when the first and last one came */
	unsigned long errors;	/* the largest M */
	unsigned bad;		/* lines about bad pages, or from "guest:" */
	char bad_line[160];	/* the first of them */
	/* QMP: received bytes, the migration, event time stamps. */
	char qbuf[65536];
	size_t qlen, qskip;
	bool mig_done, mig_failed;
	double t_stop, t_resume; /* wall clock, 0 until seen */
	double t_migrate;	 /* wall clock of the migrate command */
};


/*
 * In the child after fork(). This program has one thread, so the child may
 * call anything; signals stay blocked until just before exec.
 */
static void exec_child(const char *const argv[], int in, int out, int qmp,
		       enum tmp_file err_file, int cpu)
{
	cpu_set_t set;
	sigset_t none;
	int err;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	/* Its own group, so that its children die with it; and it dies
	 * with us, should we be killed without a chance to clean up. */
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			_exit(127);
	}
	err = open(tmp_path[err_file], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		   0600);
	if (err < 0 || bench_move_fd(in, 0) || bench_move_fd(out, 1) || bench_move_fd(err, 2) ||
	    (qmp >= 0 && bench_move_fd(qmp, 3)))
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execv(argv[0], (char *const *)argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static void child_close(struct child *c)
{
	if (c->in >= 0)
		close(c->in);
	if (c->out >= 0)
		close(c->out);
	if (c->qmp >= 0)
		close(c->qmp);
	c->in = c->out = c->qmp = -1;
}

/*
 * Start argv[0] with input already in its standard input (the pipe holds
 * it before fork(), so the child can read it at any time), its standard
 * output on a pipe to us, its standard error in the file err, with qmp,
 * one end of a socket pair as its fd 3, and all its threads on CPU cpu
 * unless that is -1.
 */
static int child_start(struct child *c, const char *name,
		       const char *const argv[], const char *input, bool qmp,
		       enum tmp_file err, int cpu)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, sv[2] = { -1, -1 };
	size_t len = input ? strlen(input) : 0;
	sigset_t all, old;
	int saved = 0;

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->in = c->out = c->qmp = -1;
	c->pid = -1;
	c->err = err;
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) ||
	    (qmp && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))) {
		bench_failf("pipe: %s", strerror(errno));
		goto err_close;
	}
	if (len && write(in[1], input, len) != (ssize_t)len) {
		bench_failf("writing %s's input: %s", name, strerror(errno));
		goto err_close;
	}
	/* No signal handler may run in the child before exec. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	c->pid = fork();
	if (c->pid == 0)
		exec_child(argv, in[0], out[1], sv[1], err, cpu);
	saved = errno;
	if (c->pid > 0)
		bench_kid_add(c->pid);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (c->pid < 0) {
		bench_failf("fork: %s", strerror(saved));
		goto err_close;
	}
	close(in[0]);
	close(out[1]);
	if (sv[1] >= 0)
		close(sv[1]);
	c->in = in[1];
	c->out = out[0];
	c->qmp = sv[0];
	fcntl(c->out, F_SETFL, O_NONBLOCK);
	return 0;

err_close:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (sv[i] >= 0)
			close(sv[i]);
	}
	return -1;
}

/* One complete line of the child's output, read at t: what did the churn
 * say? */
static void child_line(struct child *c, const char *line, double t)
{
	unsigned long n, m;

	if (sscanf(line, "churn: %lu passes, %lu errors", &n, &m) == 2) {
		if (!c->progress++) {
			c->first_n = n;
			c->first_t = t;
		}
		c->passes = n;
		c->last_t = t;
		if (m > c->errors)
			c->errors = m;
	} else if (!strncmp(line, "guest:", 6) ||
		   (!strncmp(line, "churn:", 6) && strstr(line, "bad"))) {
		if (!c->bad++)
			snprintf(c->bad_line, sizeof(c->bad_line), "%.150s",
				 line);
	}
}

/* Take n bytes of output, read at t: the tail buffer, and the lines. */
static void child_take(struct child *c, const char *p, size_t n, double t)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n' || c->line_len == sizeof(c->line) - 1) {
			c->line[c->line_len] = '\0';
			child_line(c, c->line, t);
			c->line_len = 0;
		} else if (p[i] != '\r') {
			c->line[c->line_len++] = p[i];
		}
	}
	/* Keep the tail: a marker may span two reads. */
	if (c->len + n > sizeof(c->buf) - 1) {
		size_t keep = sizeof(c->buf) / 4;

		if (c->len > keep) {
			memmove(c->buf, c->buf + c->len - keep, keep);
			c->len = keep;
		}
		if (n > sizeof(c->buf) - 1 - c->len) {
			p += n - (sizeof(c->buf) - 1 - c->len);
			n = sizeof(c->buf) - 1 - c->len;
		}
	}
	memcpy(c->buf + c->len, p, n);
	c->len += n;
	c->buf[c->len] = '\0';
}

/*
 * Read what the child has written, waiting until deadline for something.
 * Return: 0 after some output, 1 at end of file, -1 on an error or at the
 * deadline (bench_errmsg set).
 */
static int child_read(struct child *c, double deadline)
{
	char tmp[4096], line[256];

	for (;;) {
		struct pollfd p = { .fd = c->out, .events = POLLIN };
		ssize_t n;
		int rc = poll(&p, 1, bench_ms_left(deadline));

		if (rc < 0 && errno != EINTR)
			return bench_failf("poll: %s", strerror(errno));
		if (rc <= 0) {
			if (bench_now() < deadline)
				continue;
			return bench_failf("%s: no answer on its output within "
				     "%.0f s%s",
				     c->name, STEP_TIMEOUT,
				     said(c->err, line, sizeof(line)));
		}
		n = read(c->out, tmp, sizeof(tmp));
		if (n == 0)
			return 1;
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return bench_failf("reading %s: %s", c->name,
				     strerror(errno));
		}
		child_take(c, tmp, (size_t)n, bench_now());
		return 0;
	}
}

/* "; its output ended with: LINE" for the child's last line of output,
 * or "" when it wrote none. */
static const char *last_line(const struct child *c, char *buf, size_t size)
{
	size_t end = c->len, start;

	while (end && (c->buf[end - 1] == '\n' || c->buf[end - 1] == '\r'))
		end--;
	for (start = end; start && c->buf[start - 1] != '\n'; start--)
		;
	buf[0] = '\0';
	if (end > start)
		snprintf(buf, size, "; its output ended with: %.*s",
			 (int)(end - start > 160 ? 160 : end - start),
			 c->buf + start);
	return buf;
}

/* Take what the child has written by now, without waiting. */
static void child_pump(struct child *c)
{
	char tmp[4096];
	ssize_t n;

	while ((n = read(c->out, tmp, sizeof(tmp))) > 0)
		child_take(c, tmp, (size_t)n, bench_now());
}

/* Wait until marker has appeared on the child's standard output. */
static int child_wait_output(struct child *c, const char *marker,
			     double deadline)
{
	char line[256], out[256];
	int rc;

	while (!memmem(c->buf, c->len, marker, strlen(marker))) {
		rc = child_read(c, deadline);
		if (rc < 0)
			return -1;
		if (rc > 0)
			return bench_failf("%s ended before its answer%s%s", c->name,
				     last_line(c, out, sizeof(out)),
				     said(c->err, line, sizeof(line)));
	}
	return 0;
}

/* Wait until the churn has printed n progress lines in all. */
static int child_wait_progress(struct child *c, unsigned n, double deadline)
{
	char line[256], out[256];
	int rc;

	while (c->progress < n) {
		rc = child_read(c, deadline);
		if (rc < 0)
			return -1;
		if (rc > 0)
			return bench_failf("%s ended after %u progress lines%s%s",
				     c->name, c->progress,
				     last_line(c, out, sizeof(out)),
				     said(c->err, line, sizeof(line)));
	}
	return 0;
}

/* Whatever output is left, once the child has exited. A failure here
 * only means nothing more came: it is not recorded. */
static void child_drain(struct child *c)
{
	double deadline = bench_now() + 1;
	bool clean = !bench_errmsg[0];

	while (child_read(c, deadline) == 0)
		;
	if (clean)
		bench_errmsg[0] = '\0';
}

/*
 * Wait for the child to exit (a pidfd becomes readable), killing its group
 * at the deadline. *status is its wait status.
 */
static int child_wait_exit(struct child *c, double deadline, int *status)
{
	struct pollfd p = { .events = POLLIN };
	char line[256];
	int rc;

	p.fd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (p.fd < 0)
		return bench_failf("pidfd_open: %s (Linux 5.3 or later needed)",
			     strerror(errno));
	do {
		rc = poll(&p, 1, bench_ms_left(deadline));
	} while ((rc < 0 && errno == EINTR) || (rc == 0 && bench_now() < deadline));
	close(p.fd);
	if (rc <= 0) {
		kill(-c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		bench_kid_remove(c->pid);
		c->pid = -1;
		return bench_failf("%s did not exit within %.0f s%s", c->name,
			     STEP_TIMEOUT, said(c->err, line, sizeof(line)));
	}
	if (waitpid(c->pid, status, 0) < 0)
		return bench_failf("waitpid: %s", strerror(errno));
	bench_kid_remove(c->pid);
	c->pid = -1;
	return 0;
}

/* Stop a VMM that has done its part, or any VMM on an error. */
static void child_kill(struct child *c)
{
	if (c->pid > 0) {
		kill(-c->pid, SIGKILL);
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		bench_kid_remove(c->pid);
		c->pid = -1;
	}
}

/* Wait for the destination's listening socket at path (it may not bind
 * at all: then the child's exit ends the wait). */
static int wait_socket(struct child *c, const char *path)
{
	double deadline = bench_now() + STEP_TIMEOUT;
	struct timespec ms = { 0, 1000000 };
	char line[256];
	struct stat st;
	siginfo_t si;

	while (stat(path, &st) || !S_ISSOCK(st.st_mode)) {
		memset(&si, 0, sizeof(si));
		if (!waitid(P_PID, (id_t)c->pid, &si,
			    WEXITED | WNOHANG | WNOWAIT) &&
		    si.si_pid)
			return bench_failf("%s ended before it listened%s", c->name,
				     said(c->err, line, sizeof(line)));
		if (bench_now() > deadline)
			return bench_failf("%s: no socket at %s within %.0f s",
				     c->name, path, STEP_TIMEOUT);
		nanosleep(&ms, NULL);
	}
	return 0;
}

/* ---- The guests ---- */

/* The guest's command line for kind at size. */
static void guest_cmdline(enum guest_kind kind, unsigned churn_mib, char *buf,
			  size_t len)
{
	if (kind == IDLE)
		snprintf(buf, len, "prog=echo");
	else
		snprintf(buf, len, "prog=churn churn=%u", churn_mib);
}

/*
 * The source guest is running as it should: its echo came back, or the
 * churn has finished its first pass (which also faults the memory in) and
 * then churned for CHURN_WARM seconds more, its speed in passes per second
 * measured over that time.
 */
static int source_ready(struct child *c, enum guest_kind kind, struct sample *s)
{
	double deadline = bench_now() + STEP_TIMEOUT;

	if (kind == IDLE)
		return child_wait_output(c, ready_line, deadline);
	if (child_wait_progress(c, 1, deadline))
		return -1;
	while (c->last_t - c->first_t < CHURN_WARM)
		if (child_wait_progress(c, c->progress + 1, deadline))
			return -1;
	if (c->errors || c->bad)
		return bench_failf("%s: the churn found errors before the migration"
			     ": %s",
			     c->name, c->bad ? c->bad_line : c->buf);
	s->rate_before =
		(double)(c->passes - c->first_n) / (c->last_t - c->first_t);
	return 0;
}

/* Just before the migration: the source's last progress line so far. */
static void guest_mark(struct child *a, struct sample *s)
{
	child_pump(a);
	s->mark_n = a->passes;
	s->mark_t = a->last_t;
}

/*
 * After it: the churn's speed from the source's last line before the
 * migration to the destination's first line, as a share of its speed
 * before. The lines come every 100 ms or so, which blurs short
 * migrations.
 */
static void guest_speed(const struct child *b, struct sample *s)
{
	double t = b->first_t - s->mark_t;

	if (b->progress && t > 0 && s->rate_before > 0)
		s->guest_pct = (double)(b->first_n - s->mark_n) / t /
			       s->rate_before * 100;
}

/*
 * The guest runs on the destination, whole: the idle guest echoes a line
 * and ends on Ctrl-D; the churn prints two more progress lines, ends on
 * Ctrl-D, and none of its lines reports an error. Then the destination VMM
 * must exit with status 1 (guest exit code 0).
 */
static int dest_check(struct child *c, enum guest_kind kind)
{
	double deadline = bench_now() + STEP_TIMEOUT;
	size_t n = strlen(moved_line);
	char line[256];
	int status;

	if (kind == IDLE) {
		if (write(c->in, moved_line, n) != (ssize_t)n)
			return bench_failf("writing to %s: %s", c->name,
				     strerror(errno));
		if (child_wait_output(c, moved_line, deadline))
			return -1;
	} else if (child_wait_progress(c, 2, deadline)) {
		return -1;
	}
	if (write(c->in, "\004", 1) != 1)
		return bench_failf("writing to %s: %s", c->name, strerror(errno));
	if (child_wait_exit(c, bench_now() + STEP_TIMEOUT, &status))
		return -1;
	child_drain(c);
	if (kind == CHURN && (c->errors || c->bad))
		return bench_failf("%s: the migrated churn found errors: %s", c->name,
			     c->bad ? c->bad_line : c->buf);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
		return bench_failf("%s: the migrated guest did not exit cleanly "
			     "(wait status 0x%x)%s",
			     c->name, status, said(c->err, line, sizeof(line)));
	return 0;
}

/* ---- minivmm's API: HTTP/1.1 on the Unix socket ---- */

static int api_connect(int *fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	/* make_tmp() checked that the path fits. */
	memcpy(sa.sun_path, tmp_path[F_API], strlen(tmp_path[F_API]) + 1);
	*fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0)
		return bench_failf("socket: %s", strerror(errno));
	if (connect(*fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		bench_failf("connecting to minivmm's API: %s", strerror(errno));
		close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
}

/*
 * Send one request on fd. With keep the connection stays open for the
 * next request.
 */
static int api_send(int fd, const char *method, const char *path,
		    const char *body, bool keep)
{
	char req[1024];
	int len;

	len = snprintf(req, sizeof(req),
		       "%s %s HTTP/1.1\r\nHost: localhost\r\n"
		       "Content-Type: application/json\r\n"
		       "Content-Length: %zu\r\n%s\r\n%s",
		       method, path, strlen(body),
		       keep ? "" : "Connection: close\r\n", body);
	/* A short request on a local stream socket goes out at once. */
	if (write(fd, req, (size_t)len) != len)
		return bench_failf("%s %s: %s", method, path, strerror(errno));
	return 0;
}

/*
 * Read the response to the request api_send() sent: *status and the body
 * (NUL-terminated, cut to size), read by its Content-Length, so that a
 * kept connection can serve the next request.
 */
static int api_recv(int fd, const char *method, const char *path, int *status,
		    char *resp, size_t size)
{
	double deadline = bench_now() + STEP_TIMEOUT;
	char buf[4096], *end, *cl;
	size_t got = 0, want = SIZE_MAX;

	*status = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int rc;

		end = got ? strstr(buf, "\r\n\r\n") : NULL;
		if (end && !*status) {
			if (sscanf(buf, "HTTP/1.%*d %d", status) != 1)
				return bench_failf("%s %s: not an HTTP response",
					     method, path);
			cl = strcasestr(buf, "\r\nContent-Length:");
			if (cl && cl < end)
				want = (size_t)(end + 4 - buf) +
				       strtoul(cl + 17, NULL, 10);
		}
		if (end && got >= want)
			break;
		if (got == sizeof(buf) - 1)
			return bench_failf("%s %s: response too long", method, path);
		rc = poll(&p, 1, bench_ms_left(deadline));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0 && bench_now() >= deadline)
			return bench_failf("%s %s: no response within %.0f s", method,
				     path, STEP_TIMEOUT);
		if (rc <= 0)
			continue;
		n = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bench_failf("%s %s: %s", method, path,
				     strerror(errno));
		if (n == 0) {
			if (end)
				break;
			return bench_failf("%s %s: the connection closed without "
				     "a response",
				     method, path);
		}
		got += (size_t)n;
		buf[got] = '\0';
	}
	snprintf(resp, size, "%s", end + 4);
	return 0;
}

/* One request and its response. */
static int api_request(int fd, const char *method, const char *path,
		       const char *body, bool keep, int *status, char *resp,
		       size_t size)
{
	if (api_send(fd, method, path, body, keep))
		return -1;
	return api_recv(fd, method, path, status, resp, size);
}

/* The number after "key": in a JSON object written on one line. */
static int json_num(const char *json, const char *key, double *v)
{
	char pat[64], *p, *end;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	if (!p)
		return bench_failf("no \"%s\" in %s", key, json);
	*v = strtod(p + strlen(pat), &end);
	if (end == p + strlen(pat))
		return bench_failf("\"%s\" is not a number in %s", key, json);
	return 0;
}

/*
 * With --verbose: until the PUT on put is answered, read GET /migrate on
 * keep every 10 ms and print each round as it ends. Each GET costs the
 * source a little: measure without --verbose for the table.
 */
static int minivmm_trace(int put, int keep, double t0)
{
	double deadline = bench_now() + STEP_TIMEOUT, rounds, last = 0, bytes, left;
	struct pollfd p = { .fd = put, .events = POLLIN };
	char resp[1024];
	int status, rc;

	for (;;) {
		rc = poll(&p, 1, 10);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return bench_failf("poll: %s", strerror(errno));
		if (bench_now() > deadline)
			return bench_failf("PUT /migrate: no response within %.0f s",
				     STEP_TIMEOUT);
		if (api_request(keep, "GET", "/migrate", "", true, &status,
				resp, sizeof(resp)) ||
		    json_num(resp, "rounds", &rounds) ||
		    json_num(resp, "bytes_sent", &bytes) ||
		    json_num(resp, "dirty_pages", &left))
			return -1;
		if (rounds != last)
			fprintf(stderr,
				"    %8.1f ms: round %.0f done, %.1f "
				"MiB sent, %.0f pages dirty\n",
				(now_real() - t0) * 1000, rounds,
				bytes / (1 << 20), left);
		last = rounds;
	}
}

/* One minivmm migration; the caller has its two children. */
static int minivmm_migrate(struct sample *s)
{
	char body[512], resp[1024], url[400];
	int keep = -1, put = -1, status, ret = -1, i;
	double t0;

	snprintf(url, sizeof(url), "unix:%s", tmp_path[F_MIG]);
	snprintf(body, sizeof(body), "{\"destination_url\":\"%s\"}", url);
	/* The connection that reads the final figures, open before the
	 * migration starts. */
	if (api_connect(&keep) || api_request(keep, "GET", "/migrate", "", true,
					      &status, resp, sizeof(resp)))
		goto out;
	/*
	 * The destination binds its socket before it listens: a connect()
	 * in between is refused, and the source then keeps running. Nothing
	 * has been migrated then; try again.
	 */
	for (i = 0;; i++) {
		if (api_connect(&put))
			goto out;
		t0 = now_real();
		if (api_send(put, "PUT", "/migrate", body, false) ||
		    (verbose && minivmm_trace(put, keep, t0)) ||
		    api_recv(put, "PUT", "/migrate", &status, resp,
			     sizeof(resp)))
			goto out;
		close(put);
		put = -1;
		if (status == 204)
			break;
		if (status != 400 || !strstr(resp, "refused") || i == 100) {
			bench_failf("PUT /migrate: HTTP %d %s", status, resp);
			goto out;
		}
		usleep(1000);
	}
	s->e2e_total_ms = (now_real() - t0) * 1000;
	if (api_request(keep, "GET", "/migrate", "", false, &status, resp,
			sizeof(resp)))
		goto out;
	if (status != 200 || !strstr(resp, "\"completed\"")) {
		bench_failf("GET /migrate after the migration: HTTP %d %s", status,
		      resp);
		goto out;
	}
	if (json_num(resp, "total_time_ms", &s->total_ms) ||
	    json_num(resp, "downtime_ms", &s->down_ms) ||
	    json_num(resp, "bytes_sent", &s->bytes) ||
	    json_num(resp, "rounds", &s->rounds))
		goto out;
	/* Its downtime ends when the destination runs the guest. */
	s->e2e_down_ms = s->down_ms;
	s->done = true;
	ret = 0;
out:
	if (keep >= 0)
		close(keep);
	if (put >= 0)
		close(put);
	return ret;
}

static int minivmm_sample(uint64_t size, enum guest_kind kind,
			  unsigned churn_mib, struct sample *s)
{
	char mem[32], cmd[64], url[400], line[256];
	const char *src[] = { minivmm,
			      "-m",
			      mem,
			      "--api-socket",
			      tmp_path[F_API],
			      "--cmdline",
			      cmd,
			      guest,
			      NULL };
	const char *dst[] = { minivmm, "--incoming", url, NULL };
	struct child *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	int status, ret = -1;

	if (!a || !b) {
		bench_failf("out of memory");
		goto out_free;
	}
	a->pid = b->pid = -1;
	a->in = a->out = a->qmp = b->in = b->out = b->qmp = -1;
	snprintf(mem, sizeof(mem), "%lluK", (unsigned long long)size >> 10);
	snprintf(url, sizeof(url), "unix:%s", tmp_path[F_MIG]);
	guest_cmdline(kind, churn_mib, cmd, sizeof(cmd));
	if (child_start(b, "minivmm --incoming", dst, NULL, false, F_DST_ERR,
			pin ? 1 : -1) ||
	    child_start(a, "minivmm", src, kind == IDLE ? ready_line : NULL,
			false, F_SRC_ERR, pin ? 0 : -1))
		goto out;
	if (source_ready(a, kind, s) || wait_socket(b, tmp_path[F_MIG]))
		goto out;
	guest_mark(a, s);
	if (minivmm_migrate(s))
		goto out;
	/* The source is done: it must say so with status 0. */
	if (child_wait_exit(a, bench_now() + STEP_TIMEOUT, &status))
		goto out;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		bench_failf("the source minivmm exited with wait status 0x%x%s",
		      status, said(F_SRC_ERR, line, sizeof(line)));
		goto out;
	}
	if (dest_check(b, kind))
		goto out;
	guest_speed(b, s);
	ret = 0;
out:
	child_kill(a);
	child_kill(b);
	child_close(a);
	child_close(b);
	unlink(tmp_path[F_API]);
	unlink(tmp_path[F_MIG]);
out_free:
	free(a);
	free(b);
	return ret;
}

/* ---- QMP ---- */

/* A QMP event's time stamp, wall clock seconds. */
static double qmp_timestamp(const char *line)
{
	const char *p = strstr(line, "\"seconds\":");
	const char *q = strstr(line, "\"microseconds\":");

	if (!p || !q)
		return now_real();
	return strtod(p + 10, NULL) + strtod(q + 15, NULL) / 1e6;
}

/* Note the events we wait for, whatever we are waiting for. */
static void qmp_note_event(struct child *c, const char *line)
{
	if (!strstr(line, "\"event\""))
		return;
	if (verbose && c->t_migrate && strstr(line, "\"MIGRATION_PASS\""))
		fprintf(stderr, "    %8.1f ms: %s\n",
			(qmp_timestamp(line) - c->t_migrate) * 1000,
			strstr(line, "\"data\""));
	if (strstr(line, "\"STOP\"") && !c->t_stop) {
		c->t_stop = qmp_timestamp(line);
		if (verbose && c->t_migrate)
			fprintf(stderr, "    %8.1f ms: STOP\n",
				(c->t_stop - c->t_migrate) * 1000);
	} else if (strstr(line, "\"RESUME\"") && !c->t_resume)
		c->t_resume = qmp_timestamp(line);
	if (!strstr(line, "\"MIGRATION\""))
		return;
	if (strstr(line, "\"completed\""))
		c->mig_done = true;
	else if (strstr(line, "\"failed\"") || strstr(line, "\"cancelled\""))
		c->mig_failed = true;
}

/*
 * The next line from QEMU's monitor; valid until the next call. Return:
 * 0, 1 at the deadline (bench_errmsg not set), or -1 on an error.
 */
static int qmp_next(struct child *c, double deadline, char **line)
{
	char buf[256];

	if (c->qskip) {
		memmove(c->qbuf, c->qbuf + c->qskip, c->qlen - c->qskip);
		c->qlen -= c->qskip;
		c->qskip = 0;
	}
	for (;;) {
		char *nl = memchr(c->qbuf, '\n', c->qlen);
		struct pollfd p = { .fd = c->qmp, .events = POLLIN };
		ssize_t n;
		int rc;

		if (nl) {
			*nl = '\0';
			c->qskip = (size_t)(nl - c->qbuf) + 1;
			*line = c->qbuf;
			qmp_note_event(c, c->qbuf);
			return 0;
		}
		if (c->qlen == sizeof(c->qbuf) - 1)
			return bench_failf("QMP: a line longer than %zu bytes",
				     sizeof(c->qbuf));
		rc = poll(&p, 1, bench_ms_left(deadline));
		if (rc < 0 && errno != EINTR)
			return bench_failf("poll: %s", strerror(errno));
		if (rc <= 0) {
			if (bench_now() < deadline)
				continue;
			return 1;
		}
		n = read(c->qmp, c->qbuf + c->qlen,
			 sizeof(c->qbuf) - 1 - c->qlen);
		if (n == 0)
			return bench_failf("%s closed its monitor%s", c->name,
				     said(c->err, buf, sizeof(buf)));
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return bench_failf("reading QMP: %s", strerror(errno));
		}
		c->qlen += (size_t)n;
	}
}

/* qmp_next() with STEP_TIMEOUT, for answers that must come. */
static int qmp_next_step(struct child *c, double deadline, char **line)
{
	int rc = qmp_next(c, deadline, line);

	if (rc > 0)
		return bench_failf("%s's monitor: no answer within %.0f s", c->name,
			     STEP_TIMEOUT);
	return rc;
}

/*
 * Send one command, with its newline in the same write(): QEMU runs a
 * command as soon as its JSON is complete.
 */
static int qmp_send(struct child *c, const char *cmd)
{
	char msg[512], buf[256];
	int len = snprintf(msg, sizeof(msg), "%s\n", cmd);

	if (len < 0 || (size_t)len >= sizeof(msg))
		return bench_failf("QMP command too long: %s", cmd);
	if (write(c->qmp, msg, (size_t)len) != len)
		return bench_failf("writing to %s's monitor: %s%s", c->name,
			     strerror(errno), said(c->err, buf, sizeof(buf)));
	return 0;
}

/* Run one command; *ret is its "return" line. An "error" fails. */
static int qmp_cmd(struct child *c, const char *cmd, char **ret)
{
	double deadline = bench_now() + STEP_TIMEOUT;
	char *line;

	if (qmp_send(c, cmd))
		return -1;
	for (;;) {
		if (qmp_next_step(c, deadline, &line))
			return -1;
		if (strstr(line, "\"return\"")) {
			if (ret)
				*ret = line;
			return 0;
		}
		if (strstr(line, "\"error\""))
			return bench_failf("%s: %s: %s", c->name, cmd, line);
	}
}

/* The greeting, then capabilities negotiation: events flow after it. */
static int qmp_open(struct child *c)
{
	double deadline = bench_now() + STEP_TIMEOUT;
	unsigned maj, min, mic;
	const char *v;
	char *line;

	do {
		if (qmp_next_step(c, deadline, &line))
			return -1;
	} while (!strstr(line, "\"QMP\""));
	v = strstr(line, "\"qemu\":");
	if (v && sscanf(v,
			"\"qemu\": {\"micro\": %u, \"minor\": %u, "
			"\"major\": %u",
			&mic, &min, &maj) == 3)
		snprintf(qemu_version, sizeof(qemu_version), "%u.%u.%u", maj,
			 min, mic);
	return qmp_cmd(c, "{\"execute\":\"qmp_capabilities\"}", NULL);
}

/* QEMU's command line from bench_vmm, plus QMP on fd 3. */
#define QEMU_ARGV(mem, cmd)                                                    \
	qemu, "-M", "microvm,acpi=off", "-accel", "kvm", "-cpu",               \
		"host,-arch-capabilities", "-m", mem, "-nodefaults",           \
		"-no-user-config", "-nographic", "-kernel", guest, "-append",  \
		cmd, "-global", "virtio-mmio.force-legacy=false", "-device",   \
		"virtio-serial-device", "-chardev",                            \
		"stdio,id=c0,mux=off,signal=off", "-device",                   \
		"virtconsole,chardev=c0", "-device",                           \
		"isa-debug-exit,iobase=0xf4,iosize=0x04", "-chardev",          \
		"socket,id=qmp,fd=3", "-mon", "chardev=qmp,mode=control"

/* query-migrate's figures (those of a migration still running, too). */
static int qemu_figures(struct child *c, struct sample *s, char **line)
{
	const char *ram;

	if (qmp_cmd(c, "{\"execute\":\"query-migrate\"}", line))
		return -1;
	ram = strstr(*line, "\"ram\":");
	if (!ram)
		return bench_failf("QEMU: no RAM figures in %s", *line);
	if (json_num(ram, "transferred", &s->bytes) ||
	    json_num(ram, "dirty-sync-count", &s->rounds))
		return -1;
	if (strstr(*line, "\"completed\"") &&
	    (json_num(*line, "total-time", &s->total_ms) ||
	     json_num(*line, "downtime", &s->down_ms)))
		return -1;
	return 0;
}

/* One QEMU migration; the caller has its two children. */
static int qemu_migrate(struct child *a, struct child *b, enum variant v,
			double bound, struct sample *s)
{
	struct timespec ms = { 0, 1000000 };
	char cmd[512], limit[64], *line;
	double t0, deadline;
	int rc, i;

	snprintf(limit, sizeof(limit), ",\"downtime-limit\":%d", LIMIT_MS);
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
		 "{\"max-bandwidth\":1099511627776%s}}",
		 v == QEMU ? "" : limit);
	if (qmp_cmd(a, cmd, NULL))
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"migrate-set-capabilities\",\"arguments\":"
		 "{\"capabilities\":[{\"capability\":\"events\",\"state\":"
		 "true}%s]}}",
		 v == QEMU_AUTO ? ",{\"capability\":\"auto-converge\","
				  "\"state\":true}"
				: "");
	if (qmp_cmd(a, cmd, NULL))
		return -1;
	snprintf(
		cmd, sizeof(cmd),
		"{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"unix:%s\"}}",
		tmp_path[F_MIG]);
	t0 = a->t_migrate = now_real();
	if (qmp_cmd(a, cmd, NULL))
		return -1;
	deadline = bench_now() + bound;
	while (!a->mig_done) {
		if (a->mig_failed)
			return bench_failf("QEMU: the migration failed");
		rc = qmp_next(a, deadline, &line);
		if (rc < 0)
			return -1;
		if (rc > 0) {
			/* Not converged: what it did by now, then stop. */
			if (qemu_figures(a, s, &line) ||
			    qmp_cmd(a, "{\"execute\":\"migrate_cancel\"}",
				    NULL))
				return -1;
			s->done = false;
			return 0;
		}
	}
	/*
	 * QEMU sets "completed" (and sends the event) a moment before it
	 * computes total-time and downtime, which read 0 until then.
	 */
	for (i = 0;; i++) {
		if (qemu_figures(a, s, &line))
			return -1;
		if (!strstr(line, "\"status\": \"completed\""))
			return bench_failf("QEMU: query-migrate after the event: %s",
				     line);
		if (s->total_ms > 0)
			break;
		if (i == 1000)
			return bench_failf("QEMU: no total-time after the migration: "
				     "%s",
				     line);
		nanosleep(&ms, NULL);
	}
	/* The guest runs on the destination once it says RESUME. */
	deadline = bench_now() + STEP_TIMEOUT;
	while (!b->t_resume)
		if (qmp_next_step(b, deadline, &line))
			return -1;
	if (!a->t_stop)
		return bench_failf("QEMU: no STOP event from the source");
	s->e2e_total_ms = (b->t_resume - t0) * 1000;
	s->e2e_down_ms = (b->t_resume - a->t_stop) * 1000;
	s->done = true;
	return 0;
}

/*
 * One QEMU sample. Returns 1 (with bench_errmsg set) when the source VM did not
 * come up at all, which the caller may treat as "QEMU cannot run this
 * size here" on the first run.
 */
static int qemu_sample(uint64_t size, enum guest_kind kind, unsigned churn_mib,
		       enum variant v, double bound, struct sample *s)
{
	char mem[32], cmd[64], incoming[400];
	const char *src[] = { QEMU_ARGV(mem, cmd), NULL };
	const char *dst[] = { QEMU_ARGV(mem, cmd), "-incoming", incoming,
			      NULL };
	struct child *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	int ret = -1;

	if (!a || !b) {
		bench_failf("out of memory");
		goto out_free;
	}
	a->pid = b->pid = -1;
	a->in = a->out = a->qmp = b->in = b->out = b->qmp = -1;
	snprintf(mem, sizeof(mem), "%lluK", (unsigned long long)size >> 10);
	snprintf(incoming, sizeof(incoming), "unix:%s", tmp_path[F_MIG]);
	guest_cmdline(kind, churn_mib, cmd, sizeof(cmd));
	if (child_start(b, "QEMU -incoming", dst, NULL, true, F_DST_ERR,
			pin ? 1 : -1) ||
	    child_start(a, "QEMU", src, kind == IDLE ? ready_line : NULL, true,
			F_SRC_ERR, pin ? 0 : -1))
		goto out;
	if (qmp_open(a) || source_ready(a, kind, s)) {
		ret = 1;
		goto out;
	}
	/* QEMU listens on its -incoming socket before its monitor runs. */
	if (qmp_open(b) || wait_socket(b, tmp_path[F_MIG]))
		goto out;
	guest_mark(a, s);
	if (qemu_migrate(a, b, v, bound, s))
		goto out;
	/* After a migration the source stays, paused, until told. */
	child_kill(a);
	if (s->done && dest_check(b, kind))
		goto out;
	guest_speed(b, s);
	ret = 0;
out:
	child_kill(a);
	child_kill(b);
	child_close(a);
	child_close(b);
	unlink(tmp_path[F_MIG]);
out_free:
	free(a);
	free(b);
	return ret;
}

/* ---- Statistics and the report ---- */



/* One table row's figures: over the completed runs, or over all runs
 * (what was done by the bound) when none completed. */
struct row {
	int done, runs;
	double total, total_min, total_max;
	double down, down_min, down_max;
	double e2e_total, e2e_down, bytes, rounds, guest_pct;
};

static void summarize(const struct sample *s, int runs, struct row *r)
{
	double v[7][MAX_RUNS];
	bool any;
	int i, n = 0;

	memset(r, 0, sizeof(*r));
	r->runs = runs;
	for (i = 0; i < runs; i++)
		r->done += s[i].done;
	any = r->done > 0;
	for (i = 0; i < runs; i++) {
		if (any && !s[i].done)
			continue;
		v[0][n] = s[i].total_ms;
		v[1][n] = s[i].down_ms;
		v[2][n] = s[i].e2e_total_ms;
		v[3][n] = s[i].e2e_down_ms;
		v[4][n] = s[i].bytes;
		v[5][n] = s[i].rounds;
		v[6][n] = s[i].guest_pct;
		if (!n || s[i].total_ms < r->total_min)
			r->total_min = s[i].total_ms;
		if (!n || s[i].total_ms > r->total_max)
			r->total_max = s[i].total_ms;
		if (!n || s[i].down_ms < r->down_min)
			r->down_min = s[i].down_ms;
		if (!n || s[i].down_ms > r->down_max)
			r->down_max = s[i].down_ms;
		n++;
	}
	r->total = bench_median(v[0], n);
	r->down = bench_median(v[1], n);
	r->e2e_total = bench_median(v[2], n);
	r->e2e_down = bench_median(v[3], n);
	r->bytes = bench_median(v[4], n);
	r->rounds = bench_median(v[5], n);
	r->guest_pct = bench_median(v[6], n);
}


/* "256M", "2G": bytes, a multiple of 2 MiB, 64 MiB to 64 GiB. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end == 'M' || *end == 'm')
		v <<= 20;
	else if (*end == 'G' || *end == 'g')
		v <<= 30;
	else
		return -1;
	if (end[1] || v < (64ull << 20) || v > (64ull << 30) ||
	    v % (2ull << 20))
		return -1;
	*out = v;
	return 0;
}


/* The churn's working set at size: --churn, or a quarter of RAM, at most
 * 2 GiB (the guest's RAM between 16 MiB and 3 GiB must hold it). */
static unsigned churn_size(uint64_t size, unsigned churn_opt)
{
	uint64_t mib = size >> 22;

	if (churn_opt)
		return churn_opt;
	return mib > 2048 ? 2048 : (unsigned)mib;
}

static void guest_label(enum guest_kind kind, uint64_t size, unsigned churn_opt,
			char *buf, size_t len)
{
	char s[32];

	bench_size_label(size, s, sizeof(s));
	if (kind == IDLE)
		snprintf(buf, len, "idle, %s", s);
	else
		snprintf(buf, len, "churn %u MiB, %s",
			 churn_size(size, churn_opt), s);
}

/* The variants measured for a guest. */
static bool measured(enum guest_kind kind, enum variant v)
{
	return kind == CHURN || v == MINIVMM || v == QEMU;
}

/* The ratio of two medians, or "-" when QEMU has none. */
static void ratio(const struct row *q, double mv, double qv, char *buf,
		  size_t len)
{
	if (!q->done || qv <= 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2f", mv / qv);
}

/* One goal line. */
static void goal(const char *what, const char *value, const char *target,
		 const char *met)
{
	printf("%-52s %-22s %-10s %s\n", what, value, target, met);
}

/*
 * A goal "minivmm below QEMU": judged on each VMM's own figures, with the
 * end-to-end ones (to the destination running) as a second opinion.
 */
static void compare(const char *what, double m, double q, double m_e2e,
		    double q_e2e, bool q_done, const char *fmt)
{
	char val[64];
	const char *met;

	if (!q_done) {
		snprintf(val, sizeof(val), "%.1f vs -", m);
		goal(what, val, "< QEMU", "yes (QEMU did not converge)");
		return;
	}
	snprintf(val, sizeof(val), fmt, m, q);
	if (m < q)
		met = m_e2e < q_e2e ? "yes" : "yes; no end to end";
	else
		met = m_e2e < q_e2e ? "no; yes end to end" : "no";
	goal(what, val, "< QEMU", met);
}

static void print_report(const uint64_t *sizes, int nsizes, int runs,
			 unsigned churn_opt, double bound,
			 struct sample (*res)[NKINDS][NVARIANTS][MAX_RUNS],
			 const char (*skip)[256])
{
	static struct row rows[MAX_SIZES][NKINDS][NVARIANTS];
	char cpu[128], label[64], a[32], b[32], c[32], what[128], val[64];
	struct utsname u;
	int k, g, v;

	for (k = 0; k < nsizes; k++)
		for (g = 0; g < NKINDS; g++)
			for (v = 0; v < NVARIANTS; v++)
				if (measured(g, v) &&
				    (v == MINIVMM || !skip[k][0]))
					summarize(res[k][g][v], runs,
						  &rows[k][g][v]);
	bench_cpu_model(cpu, sizeof(cpu));
	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "unknown");
	printf("\nCPU: %s; %ld CPUs online; Linux %s; QEMU %s\n", cpu,
	       sysconf(_SC_NPROCESSORS_ONLN), u.release, qemu_version);
	printf("medians of %d runs (range: fastest-slowest); QEMU's "
	       "migrations cancelled after %.0f s%s\n\n",
	       runs, bound,
	       pin ? "; source on CPU 0, destination on CPU 1" : "");
	printf("%-24s %-33s %9s %15s %9s %13s %9s %9s %9s %7s %6s %5s\n",
	       "guest", "VMM", "total ms", "range", "down ms", "range",
	       "to run ms", "down e2e", "MiB sent", "rounds", "guest", "done");
	for (k = 0; k < nsizes; k++) {
		for (g = 0; g < NKINDS; g++) {
			guest_label(g, sizes[k], churn_opt, label,
				    sizeof(label));
			for (v = 0; v < NVARIANTS; v++) {
				const struct row *r = &rows[k][g][v];

				if (!measured(g, v))
					continue;
				if (v != MINIVMM && skip[k][0]) {
					printf("%-24s %-33s skipped\n", label,
					       variant_name[v]);
					continue;
				}
				if (!r->done) {
					printf("%-24s %-33s did not converge "
					       "within %.0f s (%.0f MiB sent, "
					       "%.0f syncs by then)\n",
					       label, variant_name[v], bound,
					       r->bytes / (1 << 20), r->rounds);
					continue;
				}
				snprintf(a, sizeof(a), "%.1f-%.1f",
					 r->total_min, r->total_max);
				snprintf(b, sizeof(b), "%.2f-%.2f", r->down_min,
					 r->down_max);
				if (g == CHURN)
					snprintf(c, sizeof(c), "%.0f%%",
						 r->guest_pct);
				else
					snprintf(c, sizeof(c), "-");
				printf("%-24s %-33s %9.1f %15s %9.2f %13s "
				       "%9.1f %9.2f %9.1f %7.0f %6s %2d/%-2d\n",
				       label, variant_name[v], r->total, a,
				       r->down, b, r->e2e_total, r->e2e_down,
				       r->bytes / (1 << 20), r->rounds, c,
				       r->done, r->runs);
			}
		}
	}
	printf("\ntotal, down: each VMM's own figures (minivmm: GET "
	       "/migrate; QEMU: query-migrate, whole ms).\nto run, down e2e: "
	       "until the destination runs the guest (QEMU: QMP events "
	       "migrate->RESUME,\nSTOP->RESUME; minivmm: its own figures, "
	       "which end there). rounds: minivmm's pre-copy rounds,\n"
	       "QEMU's dirty-sync-count. MiB sent: minivmm's whole stream, "
	       "QEMU's ram.transferred.\nguest: the churn's speed from its "
	       "last line before the migration to its first after it,\n"
	       "in percent of its speed in the second before (lines come "
	       "every 100 ms: rough for short\nmigrations).\n");

	printf("\n%-44s %9s %9s %9s %9s\n", "ratio minivmm / QEMU (medians)",
	       "total", "down", "down e2e", "sent");
	for (k = 0; k < nsizes; k++) {
		if (skip[k][0])
			continue;
		for (g = 0; g < NKINDS; g++) {
			const struct row *m = &rows[k][g][MINIVMM];

			for (v = QEMU; v < NVARIANTS; v++) {
				const struct row *q = &rows[k][g][v];
				char d[32];

				if (!measured(g, v))
					continue;
				guest_label(g, sizes[k], churn_opt, label,
					    sizeof(label));
				snprintf(what, sizeof(what), "%s%s", label,
					 v == QEMU ? ""
					 : v == QEMU_LIMIT
						 ? ", QEMU 2 ms"
						 : ", QEMU 2 ms + a-c");
				ratio(q, m->total, q->total, a, sizeof(a));
				ratio(q, m->down, q->down, b, sizeof(b));
				ratio(q, m->e2e_down, q->e2e_down, c,
				      sizeof(c));
				ratio(q, m->bytes, q->bytes, d, sizeof(d));
				printf("%-44s %9s %9s %9s %9s\n", what, a, b, c,
				       d);
			}
		}
	}

	printf("\n%-52s %-22s %-10s %s\n", "goal (minivmm, medians)", "value",
	       "target", "met");
	for (k = 0; k < nsizes; k++) {
		const struct row *m = &rows[k][IDLE][MINIVMM];

		guest_label(IDLE, sizes[k], churn_opt, label, sizeof(label));
		snprintf(what, sizeof(what), "downtime, %s", label);
		snprintf(val, sizeof(val), "%.2f ms", m->down);
		goal(what, val, "< 2 ms", m->down < 2 ? "yes" : "no");
	}
	for (k = 0; k < nsizes; k++) {
		const struct row *m = &rows[k][CHURN][MINIVMM];

		if (skip[k][0])
			continue;
		for (v = QEMU; v < NVARIANTS; v++) {
			const struct row *q = &rows[k][CHURN][v];

			guest_label(CHURN, sizes[k], churn_opt, label,
				    sizeof(label));
			snprintf(what, sizeof(what), "downtime, %s vs %s",
				 label,
				 v == QEMU	   ? "QEMU"
				 : v == QEMU_LIMIT ? "QEMU 2 ms"
						   : "QEMU 2 ms + a-c");
			compare(what, m->down, q->down, m->e2e_down,
				q->e2e_down, q->done, "%.2f vs %.2f ms");
		}
	}
	for (k = 0; k < nsizes; k++) {
		if (skip[k][0])
			continue;
		for (g = 0; g < NKINDS; g++) {
			const struct row *m = &rows[k][g][MINIVMM];

			for (v = QEMU; v < NVARIANTS; v++) {
				const struct row *q = &rows[k][g][v];

				if (!measured(g, v))
					continue;
				guest_label(g, sizes[k], churn_opt, label,
					    sizeof(label));
				snprintf(what, sizeof(what), "total, %s%s",
					 label,
					 v == QEMU ? " vs QEMU"
					 : v == QEMU_LIMIT
						 ? " vs QEMU 2 ms"
						 : " vs QEMU 2 ms + a-c");
				compare(what, m->total, q->total, m->e2e_total,
					q->e2e_total, q->done,
					"%.1f vs %.1f ms");
			}
		}
	}
	for (k = 0; k < nsizes; k++) {
		if (skip[k][0]) {
			bench_size_label(sizes[k], label, sizeof(label));
			printf("QEMU at %s skipped: %s\n", label, skip[k]);
		}
	}
}

static void print_sample(const char *who, const char *label,
			 const struct sample *s)
{
	char speed[64] = "";

	if (!verbose)
		return;
	if (!s->done) {
		fprintf(stderr,
			"  %-34s %-26s not done: %.1f MiB, %.0f syncs\n", who,
			label, s->bytes / (1 << 20), s->rounds);
		return;
	}
	if (s->rate_before > 0)
		snprintf(speed, sizeof(speed),
			 ", guest %.0f%% of %.1f passes/s", s->guest_pct,
			 s->rate_before);
	fprintf(stderr,
		"  %-34s %-26s total %8.1f ms, down %7.2f ms, to run %8.1f ms, "
		"down e2e %7.2f ms, %8.1f MiB, %2.0f rounds%s\n",
		who, label, s->total_ms, s->down_ms, s->e2e_total_ms,
		s->e2e_down_ms, s->bytes / (1 << 20), s->rounds, speed);
}

static int usage(FILE *f, int status)
{
	fprintf(f,
		"usage: bench_migrate [--runs N] [--sizes SIZE,...] "
		"[--churn MIB] [--bound SECONDS] [--pin] [--verbose]\n"
		"  --runs N       runs per VMM, guest and size, 1..%d "
		"(default 5)\n"
		"  --sizes LIST   guest sizes, e.g. 256M,2G (the default; "
		"at most %d)\n"
		"  --churn MIB    the churning guest's working set "
		"(default: a quarter of RAM)\n"
		"  --bound S      cancel a QEMU migration after S seconds "
		"(default %.0f)\n"
		"  --pin          source on CPU 0, destination on CPU 1\n"
		"  --verbose      every migration's figures and rounds on "
		"stderr\n",
		MAX_RUNS, MAX_SIZES, DEFAULT_BOUND);
	return status;
}

static int make_tmp(void)
{
	const char *base = getenv("TMPDIR");
	char dir[200];
	int i;

	snprintf(dir, sizeof(dir), "%s/bench_migrate.XXXXXX",
		 base && *base && strlen(base) < 60 ? base : "/tmp");
	if (!mkdtemp(dir))
		return bench_failf("mkdtemp %s: %s", dir, strerror(errno));
	snprintf(bench_tmp_dir, sizeof(bench_tmp_dir), "%s", dir);
	for (i = 0; i < NFILES; i++)
		snprintf(tmp_path[i], sizeof(tmp_path[i]), "%s/%s", bench_tmp_dir,
			 tmp_name[i]);
	if (strlen(tmp_path[F_API]) >=
		    sizeof(((struct sockaddr_un *)0)->sun_path) ||
	    strlen(tmp_path[F_MIG]) >=
		    sizeof(((struct sockaddr_un *)0)->sun_path))
		return bench_failf("%s: path too long for a socket", bench_tmp_dir);
	return 0;
}

int main(int argc, char **argv)
{
	static struct sample res[MAX_SIZES][NKINDS][NVARIANTS][MAX_RUNS];
	static char skip[MAX_SIZES][256];
	uint64_t sizes[MAX_SIZES] = { 256ull << 20, 2ull << 30 };
	int runs = 5, nsizes = 2, i, j, k, g, v, rc;
	unsigned churn_opt = 0;
	double bound = DEFAULT_BOUND;
	char label[64];
	struct sigaction sa = { .sa_handler = bench_on_signal };

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
			runs = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--churn") && i + 1 < argc) {
			churn_opt = (unsigned)atoi(argv[++i]);
			if (churn_opt < 1 || churn_opt > 3056) {
				fprintf(stderr, "bench_migrate: --churn must "
						"be 1..3056 (MiB)\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--bound") && i + 1 < argc) {
			bound = atof(argv[++i]);
			if (bound < 1 || bound > 3600) {
				fprintf(stderr, "bench_migrate: --bound must "
						"be 1..3600 (seconds)\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
			char *list = argv[++i], *tok, *save = NULL;

			for (nsizes = 0, tok = strtok_r(list, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (nsizes == MAX_SIZES ||
				    parse_size(tok, &sizes[nsizes++])) {
					fprintf(stderr,
						"bench_migrate: bad "
						"--sizes (2 MiB multiples "
						"from 64M, e.g. 256M,2G; at "
						"most %d)\n",
						MAX_SIZES);
					return 2;
				}
			}
		} else if (!strcmp(argv[i], "--pin")) {
			pin = true;
		} else if (!strcmp(argv[i], "--verbose")) {
			verbose = true;
		} else if (!strcmp(argv[i], "--help")) {
			return usage(stdout, 0);
		} else {
			return usage(stderr, 2);
		}
	}
	if (runs < 1 || runs > MAX_RUNS || nsizes < 1) {
		fprintf(stderr,
			"bench_migrate: --runs must be 1..%d and "
			"--sizes not empty\n",
			MAX_RUNS);
		return 2;
	}
	if (pin && sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "bench_migrate: --pin needs two CPUs\n");
		return 2;
	}
	if (access("/dev/kvm", R_OK | W_OK)) {
		printf("bench_migrate: skipped: needs /dev/kvm\n");
		return 0;
	}
	if (access(minivmm, X_OK) || access(guest, R_OK)) {
		fprintf(stderr,
			"bench_migrate: %s and %s are needed: run "
			"from the source tree after ninja\n",
			minivmm, guest);
		return 1;
	}
	for (k = 0; k < nsizes; k++)
		if (access(qemu, X_OK))
			snprintf(skip[k], sizeof(skip[k]), "%s not installed",
				 qemu);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A VMM that dies while we write to it must not take us along. */
	signal(SIGPIPE, SIG_IGN);
	if (make_tmp()) {
		fprintf(stderr, "bench_migrate: %s\n", bench_errmsg);
		return 1;
	}

	printf("bench_migrate: %d runs; per run and size an idle guest "
	       "(prog=echo) and a churning one\n(prog=churn), migrated live "
	       "over a Unix socket by minivmm and by QEMU (microvm, KVM)\n",
	       runs);
	fflush(stdout);
	for (i = 0; i < runs; i++) {
		for (k = 0; k < nsizes; k++) {
			unsigned churn = churn_size(sizes[k], churn_opt);

			for (g = 0; g < NKINDS; g++) {
				guest_label(g, sizes[k], churn_opt, label,
					    sizeof(label));
				for (j = 0; j < NVARIANTS; j++) {
					struct sample *s;

					/* The order rotates from run to run:
					 * the first migration after another
					 * VMM's can be slower. */
					v = (i + j) % NVARIANTS;
					s = &res[k][g][v][i];

					if (!measured(g, v) ||
					    (v != MINIVMM && skip[k][0]))
						continue;
					snprintf(phase, sizeof(phase),
						 "%s, %s, run %d",
						 variant_name[v], label, i + 1);
					if (v == MINIVMM) {
						if (minivmm_sample(sizes[k], g,
								   churn, s))
							goto fail;
						print_sample(variant_name[v],
							     label, s);
						continue;
					}
					rc = qemu_sample(sizes[k], g, churn, v,
							 bound, s);
					/* QEMU that cannot boot this size at
					 * all: say so, compare the others. */
					if (rc == 1 && i == 0) {
						snprintf(skip[k],
							 sizeof(skip[k]),
							 "%.200s", bench_errmsg);
						bench_errmsg[0] = '\0';
					} else if (rc) {
						goto fail;
					} else {
						print_sample(variant_name[v],
							     label, s);
					}
				}
			}
		}
		fprintf(stderr, "run %d/%d done\n", i + 1, runs);
	}
	print_report(sizes, nsizes, runs, churn_opt, bound, res,
		     (const char(*)[256])skip);
	bench_cleanup();
	return 0;

fail:
	bench_cleanup();
	fprintf(stderr, "bench_migrate: %s: %s\n", phase, bench_errmsg);
	return 1;
}
