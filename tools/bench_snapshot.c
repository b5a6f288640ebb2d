/* SPDX-License-Identifier: MIT */
/*
 * bench_snapshot - snapshot and restore, minivmm against QEMU's microvm on
 * the same guest image (prog=echo), for 256 MiB and 4 GiB guests, with the
 * floor of any KVM VMM on this host measured in the same run. Medians of
 * N runs; every run takes one sample of everything, in the same order.
 *
 * For each guest size and VMM:
 *  1. Boot the guest with prog=echo, write a line and wait for its echo:
 *     the guest is then known to be waiting for input.
 *  2. Pause it and snapshot it, timed. minivmm: PATCH /vm Paused, then
 *     PUT /snapshot/create (Full), from the connect() of that request to
 *     its 204 response. QEMU: stop, then migrate to "exec:cat > FILE"
 *     (max-bandwidth raised first), from the migrate command to the
 *     MIGRATION event with status "completed" (query-migrate confirms).
 *     The guest's touched memory is the resident size of the guest-RAM
 *     mapping in the paused VMM (/proc/PID/smaps).
 *  3. End that VMM and restore into a new process, timed from fork() to the
 *     echo of a line that was put in the new process's standard input
 *     (a pipe) before fork(). minivmm: --restore STATE --mem-file MEM.
 *     QEMU: the same command line plus -incoming "exec:cat FILE"; once
 *     the incoming migration has completed (MIGRATION event, or
 *     query-status no longer "inmigrate"), `cont` over QMP.
 *  4. After the echo, read the restored VMM's VmRSS, then end the guest
 *     with Ctrl-D and check that it exits cleanly.
 *  5. minivmm only, unless --no-lazy: restore the same snapshot lazily
 *     twice, minivmm --restore STATE --mem-uffd SOCKET with
 *     build/tools/uffd-handler --stats --prefetch WS SOCKET MEM started,
 *     and `ready`, before the timed fork() of minivmm. The first run has
 *     no WS (every page the guest touches is a fault) and records one;
 *     the second places the recorded pages before it answers any fault.
 *     Timed as in 3; the handler's --stats line gives the fault counts.
 *     Then the File restore of 3 once more, in the lazy ones' conditions.
 *     These restores are also timed from minivmm's execve(), its process
 *     start: the child writes the time into memory shared with this
 *     program just before it calls execve(), so this program's fork()
 *     and the child's set-up before exec are left out. The lazy goal is
 *     that span with prefetch against the floor from open().
 *
 * The floor: this program re-executed as a fresh process opens /dev/kvm,
 * creates a VM with one 256 MiB anonymous memory slot and one vCPU, and
 * runs a real-mode `out` to its exit. It reports the time from open() to
 * the exit; the parent also keeps the time from its fork() and from its
 * execve() to the exit.
 * A second floor creates the in-kernel IRQCHIP and PIT2 first, as QEMU
 * does: on some hosts the next memory-slot change then waits for KVM
 * (SRCU) for milliseconds (minivmm creates them after its slots). Each
 * other guest size gets a bare floor whose one slot has that size: KVM's
 * work for a slot grows with it (on this project's PVM hosts a 4 GiB slot
 * costs about 2 ms more than a 256 MiB one), and a restore of that guest
 * is compared with it.
 *
 * usage: bench_snapshot [--runs N] [--sizes SIZE[,SIZE...]] [--no-lazy]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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
static const char *const handler = "build/tools/uffd-handler";

#define MAX_RUNS BENCH_MAX_RUNS
#define MAX_SIZES 4
/* Every wait for a VMM (boot, snapshot, restore, exit) ends by then. */
#define STEP_TIMEOUT 60.0
/* The floor's one memory slot: the smaller guest size (each other guest
 * size gets a bare floor of its own as well). */
#define FLOOR_MEM (256ull << 20)

/* The lines the guest echoes: one before the snapshot, one after. */
static const char ready_line[] = "bench-snapshot: ready\n";
static const char restored_line[] = "bench-snapshot: restored\n";

enum vmm { MINIVMM, QEMU, NVMM };

/* One run's samples for one VMM and size. */
struct sample {
	double snap_ms;		/* snapshot request to completion */
	double state_size;	/* state file, bytes (QEMU: its stream) */
	double state_disk;	/* st_blocks * 512 */
	double mem_size;	/* memory file (minivmm only) */
	double mem_disk;
	double touched;		/* guest RAM resident in the paused VMM */
	double restore_ms;	/* fork() to the echo */
	double rss;		/* VmRSS of the restored VMM, bytes */
};

/*
 * The restores after the File one: lazy with no working set, lazy with the
 * one the first recorded, then from the File backend again.
 */
enum lazy { LAZY_FAULT, LAZY_PREFETCH, LAZY_FILE_AGAIN, NLAZY };
/* The lazy ones, which have the handler's counts. */
#define NUFFD LAZY_FILE_AGAIN

/* One run's sample of one of those restores. */
struct lazy_sample {
	double restore_ms;	/* fork() of minivmm to the echo */
	double exec_ms;		/* its execve() to the echo */
	double rss;		/* VmRSS of the restored VMM, bytes */
	/* The handler's --stats line (0 for LAZY_FILE_AGAIN). */
	double faults, copied, zeroed, prefetched;
};

/*
 * What the signal handler and every exit path clean up: child process
 * groups and the temporary folder, whose paths are fixed at start-up so
 * that bench_cleanup() only calls async-signal-safe functions.
 */
enum tmp_file {
	F_API,
	F_STATE,
	F_MEM,
	F_MIG,
	F_ERR,
	F_UFFD,		/* the page-fault handler's socket */
	F_WS,		/* its working set */
	F_HERR,		/* its standard error */
	NFILES
};
static const char *const tmp_name[NFILES] = {
	"api.sock", "vm.state", "vm.mem", "qemu.mig",
	"vmm.err", "uffd.sock", "vm.ws", "handler.err",
};
static char tmp_path[NFILES][320];

/* The phase an error happened in, for its message. */
static char phase[96];









/* The re-executed floor process: one line "<t_open> <t_exit>" or "error". */
static int floor_child(bool irqchip, uint64_t mem)
{
	double t_open, t_exit;
	char err[256];

	if (bench_floor_run(irqchip ? BENCH_FLOOR_IRQCHIP_FIRST :
				      BENCH_FLOOR_PLAIN,
			    mem, &t_open, &t_exit, NULL, err,
			    sizeof(err))) {
		printf("error %s\n", err);
		return 1;
	}
	printf("%.9f %.9f\n", t_open, t_exit);
	return 0;
}

/* ---- Child processes ---- */

struct child {
	const char *name;
	pid_t pid;
	int in;			/* its standard input: our write end */
	int out;		/* its standard output: our read end */
	int qmp;		/* our end of its QMP socket, or -1 */
	enum tmp_file err;	/* the file holding its standard error */
	double t_fork;		/* just before fork() */
	/* Where the child writes the time just before its execve(): a slot
	 * of exec_stamps, 0 until then. */
	volatile double *t_exec;
	char buf[4096];		/* the tail of its standard output */
	size_t len;
	/* QMP: received bytes, and the incoming or outgoing migration. */
	char qbuf[65536];
	size_t qlen, qskip;
	bool mig_done, mig_failed;
};

/*
 * "; it said: LINE" with the first non-empty line the child wrote on its
 * standard error, or "" when it wrote nothing.
 */
static const char *child_said(const struct child *c, char *buf, size_t size)
{
	FILE *f = fopen(tmp_path[c->err], "r");
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


/*
 * The times children write just before their execve(), in memory shared
 * with them (MAP_SHARED): the process start of a VMM, without the fork()
 * and set-up that are this program's. One slot per child, in turn.
 */
#define EXEC_STAMPS 512
static volatile double *exec_stamps;
static unsigned next_stamp;

/* A child's time from its execve() to t, in ms; -1 if it has none. */
static double since_exec(const struct child *c, double t)
{
	return c->t_exec && *c->t_exec > 0 ? (t - *c->t_exec) * 1000 : -1;
}

/*
 * In the child after fork(). This program has one thread, so the child may
 * call anything; signals stay blocked until just before exec.
 */
static void exec_child(const char *const argv[], int in, int out, int qmp,
		       enum tmp_file err_file, volatile double *t_exec)
{
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
	err = open(tmp_path[err_file], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		   0600);
	if (err < 0 || bench_move_fd(in, 0) || bench_move_fd(out, 1) || bench_move_fd(err, 2) ||
	    (qmp >= 0 && bench_move_fd(qmp, 3)))
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (t_exec)
		*t_exec = bench_now();
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
 * output on a pipe to us, its standard error in the file err, and with
 * qmp, one end of a socket pair as its fd 3.
 */
static int child_start_err(struct child *c, const char *name,
			   const char *const argv[], const char *input,
			   bool qmp, enum tmp_file err)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, sv[2] = { -1, -1 };
	size_t len = input ? strlen(input) : 0;
	sigset_t all, old;
	int saved = 0;

	memset(c, 0, sizeof(*c));
	c->name = name;
	c->err = err;
	c->in = c->out = c->qmp = -1;
	c->pid = -1;
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
	if (exec_stamps) {
		c->t_exec = &exec_stamps[next_stamp++ % EXEC_STAMPS];
		*c->t_exec = 0;
	}
	c->t_fork = bench_now();
	c->pid = fork();
	if (c->pid == 0)
		exec_child(argv, in[0], out[1], sv[1], err, c->t_exec);
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

/* The same, with its standard error in the F_ERR file. */
static int child_start(struct child *c, const char *name,
		       const char *const argv[], const char *input, bool qmp)
{
	return child_start_err(c, name, argv, input, qmp, F_ERR);
}

/*
 * Wait until marker has appeared on the child's standard output; *t is the
 * time the read that completed it returned.
 */
static int child_wait_output(struct child *c, const char *marker,
			     double deadline, double *t)
{
	char line[256];

	for (;;) {
		struct pollfd p = { .fd = c->out, .events = POLLIN };
		ssize_t n;
		int rc;

		if (memmem(c->buf, c->len, marker, strlen(marker)))
			return 0;
		rc = poll(&p, 1, bench_ms_left(deadline));
		if (rc < 0 && errno != EINTR)
			return bench_failf("poll: %s", strerror(errno));
		if (rc <= 0) {
			if (bench_now() < deadline)
				continue;
			return bench_failf("%s: no answer on its output within "
				     "%.0f s%s", c->name, STEP_TIMEOUT,
				     child_said(c, line, sizeof(line)));
		}
		n = read(c->out, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
		*t = bench_now();
		if (n == 0)
			return bench_failf("%s ended before its answer%s", c->name,
				     child_said(c, line, sizeof(line)));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return bench_failf("reading %s: %s", c->name,
				     strerror(errno));
		}
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		if (memmem(c->buf, c->len, marker, strlen(marker)))
			return 0;
		/* Keep the tail: a marker may span two reads. */
		if (c->len > sizeof(c->buf) / 2) {
			size_t keep = sizeof(c->buf) / 4;

			memmove(c->buf, c->buf + c->len - keep, keep);
			c->len = keep;
		}
	}
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
			     STEP_TIMEOUT, child_said(c, line, sizeof(line)));
	}
	if (waitpid(c->pid, status, 0) < 0)
		return bench_failf("waitpid: %s", strerror(errno));
	bench_kid_remove(c->pid);
	c->pid = -1;
	return 0;
}

/* End the echo guest with Ctrl-D; its VMM must exit with status 1
 * (guest exit code 0, as (0 << 1) | 1 through port 0xf4). */
static int child_end_guest(struct child *c)
{
	char line[256];
	int status;

	if (write(c->in, "\004", 1) != 1)
		return bench_failf("writing to %s: %s", c->name, strerror(errno));
	if (child_wait_exit(c, bench_now() + STEP_TIMEOUT, &status))
		return -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
		return bench_failf("%s: the restored guest did not exit cleanly "
			     "(wait status 0x%x)%s", c->name, status,
			     child_said(c, line, sizeof(line)));
	return 0;
}

/* Stop a source VMM that has done its part. */
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

/* ---- /proc ---- */

/* VmRSS of pid, bytes. */
static int read_vmrss(pid_t pid, double *bytes)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return bench_failf("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	if (kib < 0)
		return bench_failf("%s: no VmRSS", path);
	*bytes = kib * 1024.0;
	return 0;
}

/*
 * The resident part of guest RAM in pid: the Rss of its mappings that are
 * exactly guest_size long (minivmm's and QEMU's anonymous RAM), anonymous
 * and 64 MiB or more (the parts of minivmm's RAM around the MMIO hole), or
 * map mem_file (a restored minivmm).
 */
static int read_guest_rss(pid_t pid, uint64_t guest_size,
			  const char *mem_file, double *bytes)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	bool in_ram = false, found = false;
	double sum = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return bench_failf("%s: %s", path, strerror(errno));
	while (getline(&line, &cap, f) > 0) {
		unsigned long start, end;
		char perms[8];
		long kib;
		int off = 0;

		/* "start-end perms offset dev inode [path]" opens a mapping;
		 * field lines ("Rss:  12 kB") do not parse as that. */
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end,
			   perms, &off) == 3 && off > 0) {
			char *name = line + off, *nl = strchr(name, '\n');

			if (nl)
				*nl = '\0';
			/* minivmm's two RAM regions of a large guest are two
			 * mappings (each lined up for huge pages). */
			in_ram = end - start == guest_size ||
				 (!*name && !strcmp(perms, "rw-p") &&
				  end - start >= (64ul << 20) &&
				  end - start < guest_size) ||
				 (mem_file && !strcmp(name, mem_file));
			found |= in_ram;
		} else if (in_ram && sscanf(line, "Rss: %ld kB", &kib) == 1) {
			sum += kib * 1024.0;
		}
	}
	free(line);
	fclose(f);
	if (!found)
		return bench_failf("%s: no mapping of guest RAM found", path);
	*bytes = sum;
	return 0;
}

static int file_sizes(const char *path, double *size, double *disk)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return bench_failf("%s: %s", path, strerror(errno));
	*size = (double)st.st_size;
	*disk = (double)st.st_blocks * 512;
	return 0;
}

/* ---- minivmm's API: one HTTP/1.1 request on the Unix socket ---- */

/*
 * Send method path with a JSON body and wait for a 204; *elapsed is the
 * time from connect() to the complete response header.
 */
static int api_request(const char *method, const char *path,
		       const char *body, double *elapsed)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	double t0, deadline = bench_now() + STEP_TIMEOUT;
	char req[1024], resp[2048];
	size_t got = 0;
	int fd, len, status = 0, ret = -1;
	const char *fault;

	/* make_tmp() checked that the path fits. */
	memcpy(sa.sun_path, tmp_path[F_API], strlen(tmp_path[F_API]) + 1);
	len = snprintf(req, sizeof(req),
		       "%s %s HTTP/1.1\r\nHost: localhost\r\n"
		       "Content-Type: application/json\r\n"
		       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		       method, path, strlen(body), body);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return bench_failf("socket: %s", strerror(errno));
	t0 = bench_now();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		bench_failf("connecting to minivmm's API: %s", strerror(errno));
		goto out;
	}
	/* A short request on a local stream socket goes out at once. */
	if (write(fd, req, (size_t)len) != len) {
		bench_failf("%s %s: %s", method, path, strerror(errno));
		goto out;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int rc = poll(&p, 1, bench_ms_left(deadline));

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0 && bench_now() >= deadline) {
			bench_failf("%s %s: no response within %.0f s", method,
			      path, STEP_TIMEOUT);
			goto out;
		}
		if (rc <= 0)
			continue;
		n = read(fd, resp + got, sizeof(resp) - 1 - got);
		if (n <= 0 || (got += (size_t)n) == sizeof(resp) - 1)
			break;
		resp[got] = '\0';
		if (!status && strstr(resp, "\r\n\r\n")) {
			*elapsed = bench_now() - t0;
			if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
				status = -1;
			if (status == 204) {
				ret = 0;
				goto out;
			}
		}
	}
	/* An error: its body, read to the end, says why. */
	resp[got] = '\0';
	fault = strstr(resp, "\r\n\r\n");
	bench_failf("%s %s: HTTP %d %s", method, path, status,
	      fault ? fault + 4 : "(no response)");
out:
	close(fd);
	return ret;
}

/* ---- QMP ---- */

/* Note MIGRATION events whatever we are waiting for. */
static void qmp_note_event(struct child *c, const char *line)
{
	if (!strstr(line, "\"event\"") || !strstr(line, "\"MIGRATION\""))
		return;
	if (strstr(line, "\"completed\""))
		c->mig_done = true;
	else if (strstr(line, "\"failed\"") || strstr(line, "\"cancelled\""))
		c->mig_failed = true;
}

/* The next line from QEMU's monitor; valid until the next call. */
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
			return bench_failf("QEMU's monitor: no answer within %.0f s",
				     STEP_TIMEOUT);
		}
		n = read(c->qmp, c->qbuf + c->qlen,
			 sizeof(c->qbuf) - 1 - c->qlen);
		if (n == 0)
			return bench_failf("QEMU closed its monitor%s",
				     child_said(c, buf, sizeof(buf)));
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return bench_failf("reading QMP: %s", strerror(errno));
		}
		c->qlen += (size_t)n;
	}
}

/* Wait for a line containing what (events are noted on the way). */
static int qmp_wait(struct child *c, const char *what, char **line)
{
	double deadline = bench_now() + STEP_TIMEOUT;

	do {
		if (qmp_next(c, deadline, line))
			return -1;
	} while (!strstr(*line, what));
	return 0;
}

/*
 * Send one command, with its newline in the same write(): QEMU runs a
 * command as soon as its JSON is complete, and after `quit` it may be gone
 * before a second write.
 */
static int qmp_send(struct child *c, const char *cmd)
{
	char msg[512], buf[256];
	int len = snprintf(msg, sizeof(msg), "%s\n", cmd);

	if (len < 0 || (size_t)len >= sizeof(msg))
		return bench_failf("QMP command too long: %s", cmd);
	if (write(c->qmp, msg, (size_t)len) != len)
		return bench_failf("writing to QEMU's monitor: %s%s", strerror(errno),
			     child_said(c, buf, sizeof(buf)));
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
		if (qmp_next(c, deadline, &line))
			return -1;
		if (strstr(line, "\"return\"")) {
			if (ret)
				*ret = line;
			return 0;
		}
		if (strstr(line, "\"error\""))
			return bench_failf("QEMU: %s: %s", cmd, line);
	}
}

/* Wait for the MIGRATION event saying completed. */
static int qmp_wait_migration(struct child *c)
{
	double deadline = bench_now() + STEP_TIMEOUT;
	char *line;

	while (!c->mig_done) {
		if (c->mig_failed)
			return bench_failf("QEMU: the migration failed");
		if (qmp_next(c, deadline, &line))
			return -1;
	}
	return 0;
}

/* ---- One sample of each VMM ---- */

/* Remove what a minivmm sample leaves in the temporary folder. */
static void snapshot_remove(void)
{
	unlink(tmp_path[F_STATE]);
	unlink(tmp_path[F_MEM]);
	unlink(tmp_path[F_API]);
	unlink(tmp_path[F_UFFD]);
	unlink(tmp_path[F_WS]);
}

/*
 * Restore the snapshot in a new minivmm from the File backend (the memory
 * file mapped copy-on-write): *restore_ms from fork() to the echo, then
 * VmRSS, then the guest must end cleanly. On failure the caller kills c.
 */
static int file_restore(struct child *c, double *restore_ms, double *rss)
{
	const char *dst[] = { minivmm, "--restore", tmp_path[F_STATE],
			      "--mem-file", tmp_path[F_MEM], NULL };
	double t;

	if (child_start(c, "minivmm --restore", dst, restored_line, false) ||
	    child_wait_output(c, restored_line, bench_now() + STEP_TIMEOUT, &t))
		return -1;
	*restore_ms = (t - c->t_fork) * 1000;
	if (read_vmrss(c->pid, rss) || child_end_guest(c))
		return -1;
	return 0;
}

/*
 * Snapshot a booted minivmm and restore it from the File backend. On
 * success the snapshot stays for lazy_sample(); snapshot_remove() then
 * removes it.
 */
static int minivmm_sample(uint64_t size, struct sample *s)
{
	const char *src[] = { minivmm, "--memory", NULL, "--api-socket",
			      tmp_path[F_API], "--cmdline", "prog=echo",
			      guest, NULL };
	struct child *c = calloc(1, sizeof(*c));
	char mem[32], body[1024];
	double t, t_pause;
	int ret = -1;

	if (!c)
		return bench_failf("out of memory");
	snprintf(mem, sizeof(mem), "%lluK", (unsigned long long)size >> 10);
	src[2] = mem;
	if (child_start(c, "minivmm", src, ready_line, false))
		goto out;
	if (child_wait_output(c, ready_line, bench_now() + STEP_TIMEOUT, &t) ||
	    api_request("PATCH", "/vm", "{\"state\":\"Paused\"}", &t_pause) ||
	    read_guest_rss(c->pid, size, NULL, &s->touched))
		goto out_kill;
	snprintf(body, sizeof(body),
		 "{\"snapshot_type\":\"Full\",\"snapshot_path\":\"%s\","
		 "\"mem_file_path\":\"%s\"}",
		 tmp_path[F_STATE], tmp_path[F_MEM]);
	if (api_request("PUT", "/snapshot/create", body, &t))
		goto out_kill;
	s->snap_ms = t * 1000;
	child_kill(c);
	child_close(c);
	if (file_sizes(tmp_path[F_STATE], &s->state_size, &s->state_disk) ||
	    file_sizes(tmp_path[F_MEM], &s->mem_size, &s->mem_disk))
		goto out;

	if (file_restore(c, &s->restore_ms, &s->rss))
		goto out_kill;
	ret = 0;
out_kill:
	child_kill(c);
out:
	child_close(c);
	free(c);
	if (ret)
		snapshot_remove();
	return ret;
}

/*
 * The File restore again, after the lazy ones: the restore right after
 * the snapshot has been the slowest of all on some hosts, so the lazy
 * restores are also compared with one made in their conditions.
 */
static int file_again_sample(struct lazy_sample *s)
{
	struct child *c = calloc(1, sizeof(*c));
	int ret;

	if (!c)
		return bench_failf("out of memory");
	ret = file_restore(c, &s->restore_ms, &s->rss);
	/* The same span from the execve(): less the fork() and set-up. */
	s->exec_ms = since_exec(c, c->t_fork + s->restore_ms / 1000);
	child_kill(c);
	child_close(c);
	free(c);
	return ret;
}

/*
 * One lazy restore of the snapshot minivmm_sample() left: minivmm
 * --restore STATE --mem-uffd SOCKET, with build/tools/uffd-handler serving
 * the same memory file. The handler is started, and has said `ready`,
 * before the timed fork() of minivmm, as a platform keeps its handler
 * running before a restore is asked for. LAZY_FAULT gives it a working-set
 * path that does not exist: every page is placed on its first fault, and
 * the handler writes the pages it served to F_WS once minivmm has gone.
 * LAZY_PREFETCH hands that record to a new handler, which places all of
 * those pages before it answers any fault. Timed as the File restore is.
 */
static int lazy_sample(enum lazy mode, struct lazy_sample *s)
{
	const char *hargv[] = { handler, "--stats", "--prefetch",
				tmp_path[F_WS], tmp_path[F_UFFD],
				tmp_path[F_MEM], NULL };
	const char *dst[] = { minivmm, "--restore", tmp_path[F_STATE],
			      "--mem-uffd", tmp_path[F_UFFD], NULL };
	struct child *h = calloc(1, sizeof(*h)), *c = calloc(1, sizeof(*c));
	char said[256];
	const char *p;
	double t;
	int status, ret = -1;

	if (!h || !c) {
		bench_failf("out of memory");
		goto out_free;
	}
	/* Neither has started: nothing to kill or close yet. */
	h->pid = c->pid = -1;
	h->in = h->out = h->qmp = c->in = c->out = c->qmp = -1;
	if (mode == LAZY_FAULT) {
		unlink(tmp_path[F_WS]);
	} else if (access(tmp_path[F_WS], R_OK)) {
		bench_failf("no working set from the restore without prefetch: %s",
		      strerror(errno));
		goto out_free;
	}
	if (child_start_err(h, "uffd-handler", hargv, NULL, false, F_HERR) ||
	    child_wait_output(h, "ready\n", bench_now() + STEP_TIMEOUT, &t))
		goto out_kill;
	if (child_start(c, "minivmm --restore --mem-uffd", dst, restored_line,
			false) ||
	    child_wait_output(c, restored_line, bench_now() + STEP_TIMEOUT, &t))
		goto out_kill;
	s->restore_ms = (t - c->t_fork) * 1000;
	s->exec_ms = since_exec(c, t);
	if (read_vmrss(c->pid, &s->rss) || child_end_guest(c))
		goto out_kill;
	/* minivmm has gone: the handler writes the working set (when it
	 * records one), prints its counts and exits. */
	if (child_wait_output(h, " prefetched\n", bench_now() + STEP_TIMEOUT, &t) ||
	    child_wait_exit(h, bench_now() + STEP_TIMEOUT, &status))
		goto out_kill;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		bench_failf("uffd-handler did not exit cleanly (wait status 0x%x)%s",
		      status, child_said(h, said, sizeof(said)));
		goto out_kill;
	}
	p = strstr(h->buf, "uffd-handler: ");
	if (!p ||
	    sscanf(p,
		   "uffd-handler: %lf faults, %lf pages copied, "
		   "%lf zero pages, %lf prefetched",
		   &s->faults, &s->copied, &s->zeroed, &s->prefetched) != 4) {
		bench_failf("uffd-handler: no counts in its output: %s", h->buf);
		goto out_kill;
	}
	if (mode == LAZY_FAULT && access(tmp_path[F_WS], R_OK)) {
		bench_failf("uffd-handler recorded no working set in %s",
		      tmp_path[F_WS]);
		goto out_kill;
	}
	ret = 0;
out_kill:
	child_kill(c);
	child_kill(h);
	child_close(c);
	child_close(h);
out_free:
	free(c);
	free(h);
	/* The handler removes its socket once minivmm has connected; not
	 * when it failed before. */
	unlink(tmp_path[F_UFFD]);
	return ret;
}

/* QEMU's command line from bench_vmm, plus QMP on fd 3. */
#define QEMU_ARGV(mem)                                                         \
	qemu, "-M", "microvm,acpi=off", "-accel", "kvm", "-cpu",               \
		"host,-arch-capabilities", "-m", mem, "-nodefaults",           \
		"-no-user-config", "-nographic", "-kernel", guest,             \
		"-append", "prog=echo", "-global",                             \
		"virtio-mmio.force-legacy=false", "-device",                   \
		"virtio-serial-device", "-chardev",                            \
		"stdio,id=c0,mux=off,signal=off", "-device",                   \
		"virtconsole,chardev=c0", "-device",                           \
		"isa-debug-exit,iobase=0xf4,iosize=0x04", "-chardev",          \
		"socket,id=qmp,fd=3", "-mon", "chardev=qmp,mode=control"

/*
 * One QEMU sample. Returns 1 (with bench_errmsg set) when the source VM did not
 * come up at all, which the caller may treat as "QEMU cannot run this
 * size here" on the first run.
 */
static int qemu_sample(uint64_t size, struct sample *s)
{
	char mem[32], uri[400], incoming[400], *line;
	const char *src[] = { QEMU_ARGV(mem), NULL };
	/* x-events: the incoming side reports MIGRATION events too. */
	const char *dst[] = { QEMU_ARGV(mem), "-incoming", incoming, "-global",
			      "migration.x-events=on", NULL };
	struct child *c = calloc(1, sizeof(*c));
	double t, t0;
	int status, ret = -1;

	if (!c)
		return bench_failf("out of memory");
	snprintf(mem, sizeof(mem), "%lluK", (unsigned long long)size >> 10);
	snprintf(uri, sizeof(uri),
		 "{\"execute\":\"migrate\",\"arguments\":"
		 "{\"uri\":\"exec:cat > %s\"}}",
		 tmp_path[F_MIG]);
	snprintf(incoming, sizeof(incoming), "exec:cat %s", tmp_path[F_MIG]);
	if (child_start(c, "QEMU", src, ready_line, true))
		goto out;
	if (child_wait_output(c, ready_line, bench_now() + STEP_TIMEOUT, &t)) {
		ret = 1;
		goto out_kill;
	}
	if (qmp_wait(c, "\"QMP\"", &line) ||
	    qmp_cmd(c, "{\"execute\":\"qmp_capabilities\"}", NULL) ||
	    qmp_cmd(c, "{\"execute\":\"migrate-set-parameters\",\"arguments\":"
		       "{\"max-bandwidth\":1099511627776}}", NULL) ||
	    qmp_cmd(c, "{\"execute\":\"migrate-set-capabilities\","
		       "\"arguments\":{\"capabilities\":[{\"capability\":"
		       "\"events\",\"state\":true}]}}", NULL) ||
	    qmp_cmd(c, "{\"execute\":\"stop\"}", NULL) ||
	    read_guest_rss(c->pid, size, NULL, &s->touched))
		goto out_kill;
	t0 = bench_now();
	if (qmp_cmd(c, uri, NULL) || qmp_wait_migration(c))
		goto out_kill;
	s->snap_ms = (bench_now() - t0) * 1000;
	if (qmp_cmd(c, "{\"execute\":\"query-migrate\"}", &line))
		goto out_kill;
	if (!strstr(line, "\"status\": \"completed\"")) {
		bench_failf("QEMU: query-migrate after the event: %s", line);
		goto out_kill;
	}
	/*
	 * "completed" comes from the migration thread; the main loop then
	 * closes the channel and waits for cat. QEMU has done that by the
	 * time it exits after `quit`; a cut file would fail the restore
	 * below, not pass it.
	 */
	/* QEMU may exit before its answer reaches us: wait for the exit. */
	if (qmp_send(c, "{\"execute\":\"quit\"}") ||
	    child_wait_exit(c, bench_now() + STEP_TIMEOUT, &status))
		goto out_kill;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		bench_failf("QEMU did not quit cleanly (wait status 0x%x)", status);
		goto out_kill;
	}
	child_close(c);
	if (file_sizes(tmp_path[F_MIG], &s->state_size, &s->state_disk))
		goto out;
	s->mem_size = s->mem_disk = 0;

	if (child_start(c, "QEMU -incoming", dst, restored_line, true))
		goto out;
	if (qmp_wait(c, "\"QMP\"", &line) ||
	    qmp_cmd(c, "{\"execute\":\"qmp_capabilities\"}", NULL))
		goto out_kill;
	/*
	 * Events reach the monitor only after qmp_capabilities: ask for the
	 * state, and if the load is still running, wait for its event. The
	 * guest was saved paused, so QEMU stays paused until `cont`.
	 */
	for (int i = 0;; i++) {
		if (qmp_cmd(c, "{\"execute\":\"query-status\"}", &line))
			goto out_kill;
		if (!strstr(line, "\"inmigrate\""))
			break;
		if (i == 100) {
			bench_failf("QEMU: still \"inmigrate\" after its MIGRATION "
			      "event");
			goto out_kill;
		}
		if (qmp_wait_migration(c))
			goto out_kill;
	}
	if (!strstr(line, "\"status\": \"running\"") &&
	    qmp_cmd(c, "{\"execute\":\"cont\"}", NULL))
		goto out_kill;
	if (child_wait_output(c, restored_line, bench_now() + STEP_TIMEOUT, &t))
		goto out_kill;
	s->restore_ms = (t - c->t_fork) * 1000;
	if (read_vmrss(c->pid, &s->rss) || child_end_guest(c))
		goto out_kill;
	ret = 0;
out_kill:
	child_kill(c);
out:
	child_close(c);
	free(c);
	unlink(tmp_path[F_MIG]);
	return ret;
}

/* One floor sample with a slot of mem bytes: from fork(), from execve()
 * and from open() to the first exit. */
static int floor_sample(const char *self, bool irqchip, uint64_t mem,
			double *from_fork, double *from_exec, double *from_open)
{
	char size[32];
	const char *argv[] = { self, "--floor-child",
			       irqchip ? "irqchip" : "bare", size, NULL };
	struct child *c = calloc(1, sizeof(*c));
	double t_open, t_exit, t;
	int status, ret = -1;
	char *nl;

	if (!c)
		return bench_failf("out of memory");
	snprintf(size, sizeof(size), "%llu", (unsigned long long)mem);
	if (child_start(c, "the floor program", argv, NULL, false) ||
	    child_wait_output(c, "\n", bench_now() + STEP_TIMEOUT, &t))
		goto out;
	nl = strchr(c->buf, '\n');
	*nl = '\0';
	if (sscanf(c->buf, "%lf %lf", &t_open, &t_exit) != 2) {
		bench_failf("%s", c->buf);
		goto out;
	}
	if (child_wait_exit(c, bench_now() + STEP_TIMEOUT, &status))
		goto out;
	/* CLOCK_MONOTONIC is one clock for both processes. */
	*from_fork = (t_exit - c->t_fork) * 1000;
	*from_exec = since_exec(c, t_exit);
	*from_open = (t_exit - t_open) * 1000;
	ret = 0;
out:
	child_kill(c);
	child_close(c);
	free(c);
	return ret;
}

/* ---- Statistics and the report ---- */



/* The median of one field of a VMM's samples at one size. */
static double med_field(const struct sample *s, int runs, size_t off)
{
	double v[MAX_RUNS];
	int i;

	for (i = 0; i < runs; i++)
		v[i] = *(const double *)((const char *)&s[i] + off);
	return bench_median(v, runs);
}

#define MED(s, runs, field) med_field(s, runs, offsetof(struct sample, field))


/* "256M", "4G": bytes, a multiple of 2 MiB, 2 MiB to 64 GiB. */
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
	if (end[1] || v < (2ull << 20) || v > (64ull << 30) ||
	    v % (2ull << 20))
		return -1;
	*out = v;
	return 0;
}


struct summary {
	bool have[NVMM];
	double snap_ms[NVMM], state_size[NVMM], state_disk[NVMM];
	double mem_size[NVMM], mem_disk[NVMM], total_disk[NVMM];
	double touched[NVMM], restore_ms[NVMM], rss[NVMM];
	double restore_min[NVMM], restore_max[NVMM];
};

/* One table row: per size, minivmm, QEMU and their ratio. */
static void row(const char *label, const struct summary *sum, int nsizes,
		size_t off, double scale, const char *fmt, bool minivmm_only)
{
	int k;

	printf("%-36s", label);
	for (k = 0; k < nsizes; k++) {
		const double *v = (const double *)((const char *)&sum[k] + off);
		char a[32], b[32], r[32];

		snprintf(a, sizeof(a), fmt, v[MINIVMM] / scale);
		if (!sum[k].have[QEMU])
			snprintf(b, sizeof(b), "skipped");
		else if (minivmm_only)
			snprintf(b, sizeof(b), "-");
		else
			snprintf(b, sizeof(b), fmt, v[QEMU] / scale);
		if (sum[k].have[QEMU] && !minivmm_only && v[QEMU] > 0)
			snprintf(r, sizeof(r), "%.2f", v[MINIVMM] / v[QEMU]);
		else
			snprintf(r, sizeof(r), "-");
		printf(" %10s %10s %7s", a, b, r);
	}
	printf("\n");
}

#define ROW(label, field, scale, fmt, only)                                    \
	row(label, sum, nsizes, offsetof(struct summary, field), scale, fmt,   \
	    only)

/* One goal line; met is -1 for a figure shown for context only. */
static void goal(const char *what, const char *size, double value,
		 const char *target, int met)
{
	if (met < 0)
		printf("%-44s %-8s %8.2f\n", what, size, value);
	else
		printf("%-44s %-8s %8.2f  %-7s %s\n", what, size, value,
		       target, met ? "yes" : "no");
}

static void print_report(const uint64_t *sizes, int nsizes, int runs,
			 struct sample (*res)[NVMM][MAX_RUNS],
			 const char (*skip)[256],
			 double (*floor_fork)[MAX_RUNS],
			 double (*floor_open)[MAX_RUNS],
			 const double *size_fo, const double *size_ff)
{
	struct summary sum[MAX_SIZES];
	double fo = bench_median(floor_open[0], runs);
	double ff = bench_median(floor_fork[0], runs);
	double io = bench_median(floor_open[1], runs);
	double iff = bench_median(floor_fork[1], runs);
	char label[32], cpu[128];
	struct utsname u;
	int i, k, v;

	memset(sum, 0, sizeof(sum));
	for (k = 0; k < nsizes; k++) {
		for (v = 0; v < NVMM; v++) {
			const struct sample *s = res[k][v];

			sum[k].have[v] = v == MINIVMM || !skip[k][0];
			if (!sum[k].have[v])
				continue;
			sum[k].snap_ms[v] = MED(s, runs, snap_ms);
			sum[k].state_size[v] = MED(s, runs, state_size);
			sum[k].state_disk[v] = MED(s, runs, state_disk);
			sum[k].mem_size[v] = MED(s, runs, mem_size);
			sum[k].mem_disk[v] = MED(s, runs, mem_disk);
			sum[k].touched[v] = MED(s, runs, touched);
			sum[k].restore_ms[v] = MED(s, runs, restore_ms);
			sum[k].restore_min[v] = sum[k].restore_max[v] =
				s[0].restore_ms;
			for (i = 1; i < runs; i++) {
				if (s[i].restore_ms < sum[k].restore_min[v])
					sum[k].restore_min[v] = s[i].restore_ms;
				if (s[i].restore_ms > sum[k].restore_max[v])
					sum[k].restore_max[v] = s[i].restore_ms;
			}
			sum[k].rss[v] = MED(s, runs, rss);
			sum[k].total_disk[v] = sum[k].state_disk[v] +
					       sum[k].mem_disk[v];
		}
	}
	bench_cpu_model(cpu, sizeof(cpu));
	if (uname(&u))
		snprintf(u.release, sizeof(u.release), "unknown");
	printf("\nCPU: %s; %ld CPUs online; Linux %s\n", cpu,
	       sysconf(_SC_NPROCESSORS_ONLN), u.release);
	printf("medians of %d runs; ratio = minivmm / QEMU\n\n", runs);
	printf("%-36s", "");
	for (k = 0; k < nsizes; k++) {
		bench_size_label(sizes[k], label, sizeof(label));
		printf(" %21s%8s", label, "");
	}
	printf("\n%-36s", "metric");
	for (k = 0; k < nsizes; k++)
		printf(" %10s %10s %7s", "minivmm", "QEMU", "ratio");
	printf("\n");
	ROW("snapshot (ms)", snap_ms, 1, "%.1f", false);
	ROW("state file, size (KiB)", state_size, 1024, "%.0f", false);
	ROW("state file, disk use (KiB)", state_disk, 1024, "%.0f", false);
	ROW("memory file, size (KiB)", mem_size, 1024, "%.0f", true);
	ROW("memory file, disk use (KiB)", mem_disk, 1024, "%.0f", true);
	ROW("snapshot disk use, total (KiB)", total_disk, 1024, "%.0f",
	    false);
	ROW("guest memory touched (KiB)", touched, 1024, "%.0f", false);
	ROW("restore: fork to echo (ms)", restore_ms, 1, "%.2f", false);
	ROW("  fastest run (ms)", restore_min, 1, "%.2f", false);
	ROW("  slowest run (ms)", restore_max, 1, "%.2f", false);
	ROW("VmRSS after restore (MiB)", rss, 1 << 20, "%.1f", false);
	printf("\n%-36s %10s %10s\n", "floor: a VM to its first exit (ms)",
	       "open()", "fork()");
	printf("%-36s %10.2f %10.2f\n", "  one 256 MiB slot, one vCPU", fo, ff);
	printf("%-36s %10.2f %10.2f\n", "  the same after IRQCHIP and PIT2", io,
	       iff);
	for (k = 0; k < nsizes; k++) {
		char what[64];

		if (sizes[k] == FLOOR_MEM)
			continue;
		bench_size_label(sizes[k], label, sizeof(label));
		snprintf(what, sizeof(what), "  one %s slot, one vCPU", label);
		printf("%-36s %10.2f %10.2f\n", what, size_fo[k], size_ff[k]);
	}
	for (k = 0; k < nsizes; k++) {
		if (skip[k][0]) {
			bench_size_label(sizes[k], label, sizeof(label));
			printf("QEMU at %s skipped: %s\n", label, skip[k]);
		}
	}
	printf("\nQEMU's snapshot is one migration stream (state and memory "
	       "in one file).\n");

	printf("\n%-44s %-8s %8s  %-7s %s\n", "goal (minivmm)", "size",
	       "value", "target", "met");
	for (k = 0; k < nsizes; k++) {
		double r = sum[k].restore_ms[MINIVMM];

		bench_size_label(sizes[k], label, sizeof(label));
		goal("restore - floor (open to exit), ms", label, r - fo,
		     "<= 2", r - fo <= 2);
		if (sizes[k] != FLOOR_MEM)
			goal("  the same, floor of this size (open), ms",
			     label, r - size_fo[k], "", -1);
		goal("  restore - IRQCHIP floor (fork to exit), ms", label,
		     r - iff, "", -1);
	}
	for (k = 1; k < nsizes; k++) {
		double m = sum[k].restore_ms[MINIVMM] /
			   sum[0].restore_ms[MINIVMM];
		char what[64], base[32];

		bench_size_label(sizes[k], label, sizeof(label));
		bench_size_label(sizes[0], base, sizeof(base));
		snprintf(what, sizeof(what), "restore time / restore at %s",
			 base);
		goal(what, label, m, "<= 1.5", m <= 1.5);
		if (sum[k].have[QEMU] && sum[0].have[QEMU])
			goal("  the same for QEMU", label,
			     sum[k].restore_ms[QEMU] / sum[0].restore_ms[QEMU],
			     "", -1);
	}
	for (k = 0; k < nsizes; k++) {
		double x;

		if (!sum[k].have[QEMU])
			continue;
		bench_size_label(sizes[k], label, sizeof(label));
		x = sum[k].restore_ms[QEMU] / sum[k].restore_ms[MINIVMM];
		goal("restore speed-up over QEMU (QEMU / minivmm)", label, x,
		     ">= 6", x >= 6);
	}
	for (k = 0; k < nsizes; k++) {
		double d = sum[k].total_disk[MINIVMM];
		double t = sum[k].touched[MINIVMM];

		bench_size_label(sizes[k], label, sizeof(label));
		goal("snapshot disk use / touched memory", label, d / t,
		     "<= 1.2", d <= 1.2 * t);
	}
	for (k = 0; k < nsizes; k++) {
		double over = sum[k].rss[MINIVMM] - sum[k].touched[MINIVMM];

		bench_size_label(sizes[k], label, sizeof(label));
		goal("VmRSS after restore - touched memory, MiB", label,
		     over / (1 << 20), "< 8", over < 8.0 * (1 << 20));
	}
}

/* The median, fastest and slowest of one lazy restore field. */
static void lazy_stats(const struct lazy_sample *s, int runs, size_t off,
		       double *med, double *min, double *max)
{
	double v[MAX_RUNS];
	int i;

	for (i = 0; i < runs; i++)
		v[i] = *(const double *)((const char *)&s[i] + off);
	*med = bench_median(v, runs);
	*min = *max = v[0];
	for (i = 1; i < runs; i++) {
		if (v[i] < *min)
			*min = v[i];
		if (v[i] > *max)
			*max = v[i];
	}
}

#define LAZY_STATS(s, runs, field, med, min, max)                              \
	lazy_stats(s, runs, offsetof(struct lazy_sample, field), med, min, max)

/* One restore row: median, spread, against the floor and QEMU's restore. */
static void lazy_row(const char *size, const char *what, double med, double min,
		     double max, double fo, double qemu_ms)
{
	char label[48], q[16];

	snprintf(label, sizeof(label), "%s, %s", size, what);
	if (qemu_ms > 0)
		snprintf(q, sizeof(q), "%.2f", med / qemu_ms);
	else
		snprintf(q, sizeof(q), "-");
	printf("%-34s %8.2f %8.2f %8.2f %8.2f %8.1f %8s\n", label, med, min,
	       max, med - fo, med / fo, q);
}

/*
 * The lazy restore rows, after the report above (whose lines stay as
 * they are): each size's File restore and floor from the same run, then
 * the restores through the handler, its counts, and the goal.
 */
static void print_lazy(const uint64_t *sizes, int nsizes, int runs,
		       struct sample (*res)[NVMM][MAX_RUNS],
		       const char (*skip)[256],
		       struct lazy_sample (*lres)[NLAZY][MAX_RUNS],
		       const char (*lazy_skip)[256], const double *size_fo,
		       const double *size_ff, const double *size_fe, double fo,
		       double iff)
{
	static const char *const mode_name[NUFFD] = { "no prefetch",
						      "prefetch" };
	static const char *const row_name[NLAZY] = { "Uffd, no prefetch",
						     "Uffd, prefetch",
						     "File backend, again" };
	double med[MAX_SIZES][NLAZY], medx[MAX_SIZES][NLAZY], min, max;
	char label[32], what[48];
	int k, m, measured = 0;

	printf("\nlazy restore: minivmm --restore STATE --mem-uffd SOCKET, "
	       "the memory file served\nby %s (started, and ready, before "
	       "the timed fork() of minivmm);\nprefetch: a second handler "
	       "with the working set the first one recorded\n\n", handler);
	printf("%-34s %8s %8s %8s %8s %8s %8s\n", "restore: fork to echo (ms)",
	       "median", "fastest", "slowest", "- floor", "/ floor",
	       "/ QEMU");
	for (k = 0; k < nsizes; k++) {
		double q = skip[k][0] ? 0 : MED(res[k][QEMU], runs, restore_ms);
		const struct sample *s = res[k][MINIVMM];
		int i;

		bench_size_label(sizes[k], label, sizeof(label));
		min = max = s[0].restore_ms;
		for (i = 1; i < runs; i++) {
			if (s[i].restore_ms < min)
				min = s[i].restore_ms;
			if (s[i].restore_ms > max)
				max = s[i].restore_ms;
		}
		lazy_row(label, "File backend", MED(s, runs, restore_ms), min,
			 max, size_fo[k], q);
		if (lazy_skip[k][0])
			continue;
		measured++;
		for (m = 0; m < NLAZY; m++) {
			LAZY_STATS(lres[k][m], runs, restore_ms, &med[k][m],
				   &min, &max);
			lazy_row(label, row_name[m], med[k][m], min, max,
				 size_fo[k], q);
		}
	}
	printf("in each run, in this order: the File restore above (right "
	       "after the snapshot),\nUffd without and with prefetch, then "
	       "the File restore again\n");
	printf("floor: the bare KVM VM above with one slot of the guest's "
	       "size, open() to its first exit:\n ");
	for (k = 0; k < nsizes; k++) {
		bench_size_label(sizes[k], label, sizeof(label));
		printf("%s %s %.2f ms (from fork(): %.2f)", k ? "," : "",
		       label, size_fo[k], size_ff[k]);
	}
	printf(";\n\"- floor\" is the difference in ms, \"/ floor\" and "
	       "\"/ QEMU\" are ratios\n");
	for (k = 0; k < nsizes; k++) {
		if (lazy_skip[k][0]) {
			bench_size_label(sizes[k], label, sizeof(label));
			printf("lazy restore at %s skipped: %s\n", label,
			       lazy_skip[k]);
		}
	}
	if (!measured)
		return;

	printf("\nthe same restores from minivmm's execve() (its process "
	       "start, without this program's\nfork() and set-up before "
	       "exec) to the echo\n\n");
	printf("%-34s %8s %8s %8s %8s %8s\n", "restore: exec to echo (ms)",
	       "median", "fastest", "slowest", "- floor", "- exec fl");
	for (k = 0; k < nsizes; k++) {
		if (lazy_skip[k][0])
			continue;
		bench_size_label(sizes[k], label, sizeof(label));
		for (m = 0; m < NLAZY; m++) {
			LAZY_STATS(lres[k][m], runs, exec_ms, &medx[k][m], &min,
				   &max);
			snprintf(what, sizeof(what), "%s, %s", label,
				 row_name[m]);
			printf("%-34s %8.2f %8.2f %8.2f %8.2f %8.2f\n", what,
			       medx[k][m], min, max, medx[k][m] - size_fo[k],
			       medx[k][m] - size_fe[k]);
		}
	}
	printf("\"- floor\": against the floor from open() as above; "
	       "\"- exec fl\": against the floor\nfrom its own execve():");
	for (k = 0; k < nsizes; k++) {
		bench_size_label(sizes[k], label, sizeof(label));
		printf("%s %s %.2f ms", k ? "," : "", label, size_fe[k]);
	}
	printf("\n");

	printf("\n%-34s %8s %8s %8s %10s %12s\n", "handler counts (medians)",
	       "faults", "copied", "zero", "prefetched", "VmRSS (MiB)");
	for (k = 0; k < nsizes; k++) {
		if (lazy_skip[k][0])
			continue;
		bench_size_label(sizes[k], label, sizeof(label));
		for (m = 0; m < NUFFD; m++) {
			const struct lazy_sample *s = lres[k][m];
			double f, c, z, p, r;

			snprintf(what, sizeof(what), "%s, %s", label,
				 mode_name[m]);
			LAZY_STATS(s, runs, faults, &f, &min, &max);
			LAZY_STATS(s, runs, copied, &c, &min, &max);
			LAZY_STATS(s, runs, zeroed, &z, &min, &max);
			LAZY_STATS(s, runs, prefetched, &p, &min, &max);
			LAZY_STATS(s, runs, rss, &r, &min, &max);
			printf("%-34s %8.0f %8.0f %8.0f %10.0f %12.1f\n", what,
			       f, c, z, p, r / (1 << 20));
		}
	}

	printf("\n%-44s %-8s %8s  %-7s %s\n", "goal (minivmm, lazy restore)",
	       "size", "value", "target", "met");
	for (k = 0; k < nsizes; k++) {
		if (lazy_skip[k][0])
			continue;
		bench_size_label(sizes[k], label, sizeof(label));
		goal("prefetch: restore (exec) - floor (open), ms", label,
		     medx[k][LAZY_PREFETCH] - size_fo[k], "<= 3",
		     medx[k][LAZY_PREFETCH] - size_fo[k] <= 3);
		goal("  the same, restore from fork(), ms", label,
		     med[k][LAZY_PREFETCH] - size_fo[k], "", -1);
		goal("  both from execve(), ms", label,
		     medx[k][LAZY_PREFETCH] - size_fe[k], "", -1);
		goal("  both from fork(), ms", label,
		     med[k][LAZY_PREFETCH] - size_ff[k], "", -1);
		if (sizes[k] != FLOOR_MEM)
			goal("  the same, 256 MiB floor (open), ms", label,
			     med[k][LAZY_PREFETCH] - fo, "", -1);
		goal("  the same, IRQCHIP floor (fork to exit), ms", label,
		     med[k][LAZY_PREFETCH] - iff, "", -1);
		goal("  no prefetch: restore - floor (open), ms", label,
		     med[k][LAZY_FAULT] - size_fo[k], "", -1);
	}
}

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: bench_snapshot [--runs N] [--sizes SIZE,...] "
		   "[--no-lazy]\n"
		   "  --runs N      runs per VMM and size, 1..%d (default 5)\n"
		   "  --sizes LIST  guest sizes, e.g. 256M,4G (the default; "
		   "at most %d)\n"
		   "  --lazy        also restore minivmm lazily through %s,\n"
		   "                without and with prefetch (the default)\n"
		   "  --no-lazy     leave the lazy restore out\n",
		   MAX_RUNS, MAX_SIZES, handler);
	return status;
}

static int make_tmp(void)
{
	const char *base = getenv("TMPDIR");
	char dir[200], *real;
	int i;

	snprintf(dir, sizeof(dir), "%s/bench_snapshot.XXXXXX",
		 base && *base && strlen(base) < 120 ? base : "/tmp");
	if (!mkdtemp(dir))
		return bench_failf("mkdtemp %s: %s", dir, strerror(errno));
	/* /proc/PID/smaps names the memory file by its resolved path. */
	real = realpath(dir, NULL);
	snprintf(bench_tmp_dir, sizeof(bench_tmp_dir), "%s", real ? real : dir);
	free(real);
	for (i = 0; i < NFILES; i++)
		snprintf(tmp_path[i], sizeof(tmp_path[i]), "%s/%s", bench_tmp_dir,
			 tmp_name[i]);
	if (strlen(tmp_path[F_API]) >=
		    sizeof(((struct sockaddr_un *)0)->sun_path) ||
	    strlen(tmp_path[F_UFFD]) >=
		    sizeof(((struct sockaddr_un *)0)->sun_path))
		return bench_failf("%s: path too long for a socket", bench_tmp_dir);
	return 0;
}

int main(int argc, char **argv)
{
	static struct sample res[MAX_SIZES][NVMM][MAX_RUNS];
	static struct lazy_sample lres[MAX_SIZES][NLAZY][MAX_RUNS];
	static char skip[MAX_SIZES][256], lazy_skip[MAX_SIZES][256];
	bool lazy = true;
	uint64_t sizes[MAX_SIZES] = { 256ull << 20, 4ull << 30 };
	/* [0]: the bare floor; [1]: with IRQCHIP and PIT2. */
	double floor_fork[2][MAX_RUNS], floor_open[2][MAX_RUNS];
	double floor_exec[2][MAX_RUNS], size_exec[MAX_SIZES][MAX_RUNS];
	double size_fe[MAX_SIZES];
	/* The bare floor with one slot of each guest size. */
	double size_fork[MAX_SIZES][MAX_RUNS], size_open[MAX_SIZES][MAX_RUNS];
	double size_fo[MAX_SIZES], size_ff[MAX_SIZES];
	int runs = 5, nsizes = 2, i, k, rc;
	char self[PATH_MAX], label[32];
	struct sigaction sa = { .sa_handler = bench_on_signal };
	ssize_t n;

	if (argc == 4 && !strcmp(argv[1], "--floor-child"))
		return floor_child(!strcmp(argv[2], "irqchip"),
				   strtoull(argv[3], NULL, 10));
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
			runs = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
			char *list = argv[++i], *tok, *save = NULL;

			for (nsizes = 0, tok = strtok_r(list, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				if (nsizes == MAX_SIZES ||
				    parse_size(tok, &sizes[nsizes++])) {
					fprintf(stderr, "bench_snapshot: bad "
						"--sizes (2 MiB multiples, "
						"e.g. 256M,4G; at most %d)\n",
						MAX_SIZES);
					return 2;
				}
			}
		} else if (!strcmp(argv[i], "--lazy")) {
			lazy = true;
		} else if (!strcmp(argv[i], "--no-lazy")) {
			lazy = false;
		} else if (!strcmp(argv[i], "--help")) {
			return usage(stdout, 0);
		} else {
			return usage(stderr, 2);
		}
	}
	if (runs < 1 || runs > MAX_RUNS || nsizes < 1) {
		fprintf(stderr, "bench_snapshot: --runs must be 1..%d and "
			"--sizes not empty\n", MAX_RUNS);
		return 2;
	}
	if (access("/dev/kvm", R_OK | W_OK)) {
		printf("bench_snapshot: skipped: needs /dev/kvm\n");
		return 0;
	}
	if (access(minivmm, X_OK) || access(guest, R_OK)) {
		fprintf(stderr, "bench_snapshot: %s and %s are needed: run "
			"from the source tree after ninja\n", minivmm, guest);
		return 1;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "bench_snapshot: /proc/self/exe: %s\n",
			strerror(errno));
		return 1;
	}
	self[n] = '\0';
	for (k = 0; k < nsizes; k++) {
		if (access(qemu, X_OK))
			snprintf(skip[k], sizeof(skip[k]), "%s not installed",
				 qemu);
		if (lazy && access(handler, X_OK))
			snprintf(lazy_skip[k], sizeof(lazy_skip[k]),
				 "%s not built", handler);
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A VMM that dies while we write to it must not take us along. */
	signal(SIGPIPE, SIG_IGN);
	exec_stamps = mmap(NULL, EXEC_STAMPS * sizeof(double),
			   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			   -1, 0);
	if (exec_stamps == MAP_FAILED) {
		fprintf(stderr, "bench_snapshot: mmap: %s\n", strerror(errno));
		return 1;
	}
	if (make_tmp()) {
		fprintf(stderr, "bench_snapshot: %s\n", bench_errmsg);
		return 1;
	}

	printf("bench_snapshot: %d runs; per run the floor, then per size "
	       "minivmm and QEMU (microvm, KVM),\nsame guest image "
	       "(prog=echo); snapshot, then restore in a new process\n",
	       runs);
	if (lazy)
		printf("and minivmm's lazy restore through %s, without and "
		       "with prefetch\n", handler);
	fflush(stdout);
	for (i = 0; i < runs; i++) {
		snprintf(phase, sizeof(phase), "floor, run %d", i + 1);
		if (floor_sample(self, false, FLOOR_MEM, &floor_fork[0][i],
				 &floor_exec[0][i], &floor_open[0][i]) ||
		    floor_sample(self, true, FLOOR_MEM, &floor_fork[1][i],
				 &floor_exec[1][i], &floor_open[1][i]))
			goto fail;
		for (k = 0; k < nsizes; k++) {
			if (sizes[k] == FLOOR_MEM) {
				size_fork[k][i] = floor_fork[0][i];
				size_exec[k][i] = floor_exec[0][i];
				size_open[k][i] = floor_open[0][i];
			} else if (floor_sample(self, false, sizes[k],
						&size_fork[k][i],
						&size_exec[k][i],
						&size_open[k][i])) {
				goto fail;
			}
		}
		for (k = 0; k < nsizes; k++) {
			bench_size_label(sizes[k], label, sizeof(label));
			snprintf(phase, sizeof(phase), "minivmm, %s, run %d",
				 label, i + 1);
			if (minivmm_sample(sizes[k], &res[k][MINIVMM][i]))
				goto fail;
			if (lazy && !lazy_skip[k][0]) {
				snprintf(phase, sizeof(phase),
					 "lazy restore, %s, run %d", label,
					 i + 1);
				rc = lazy_sample(LAZY_FAULT,
						 &lres[k][LAZY_FAULT][i]);
				if (!rc)
					rc = lazy_sample(
						LAZY_PREFETCH,
						&lres[k][LAZY_PREFETCH][i]);
				if (!rc)
					rc = file_again_sample(
						&lres[k][LAZY_FILE_AGAIN][i]);
				/* A host where minivmm cannot restore lazily
				 * (no userfaultfd for this user): say so, and
				 * report the rest. */
				if (rc && i == 0) {
					snprintf(lazy_skip[k],
						 sizeof(lazy_skip[k]), "%.200s",
						 bench_errmsg);
					bench_errmsg[0] = '\0';
				} else if (rc) {
					goto fail;
				}
			}
			snapshot_remove();
			if (skip[k][0])
				continue;
			snprintf(phase, sizeof(phase), "QEMU, %s, run %d",
				 label, i + 1);
			rc = qemu_sample(sizes[k], &res[k][QEMU][i]);
			/* QEMU that cannot boot this size at all: say so,
			 * and compare the other sizes. */
			if (rc == 1 && i == 0) {
				snprintf(skip[k], sizeof(skip[k]), "%.200s",
					 bench_errmsg);
				bench_errmsg[0] = '\0';
			} else if (rc) {
				goto fail;
			}
		}
		fprintf(stderr, "run %d/%d done\n", i + 1, runs);
	}
	for (k = 0; k < nsizes; k++) {
		size_fo[k] = bench_median(size_open[k], runs);
		size_ff[k] = bench_median(size_fork[k], runs);
		size_fe[k] = bench_median(size_exec[k], runs);
	}
	print_report(sizes, nsizes, runs, res, (const char(*)[256])skip,
		     floor_fork, floor_open, size_fo, size_ff);
	if (lazy)
		print_lazy(sizes, nsizes, runs, res, (const char(*)[256])skip,
			   lres, (const char(*)[256])lazy_skip, size_fo,
			   size_ff, size_fe, bench_median(floor_open[0], runs),
			   bench_median(floor_fork[1], runs));
	bench_cleanup();
	return 0;

fail:
	bench_cleanup();
	fprintf(stderr, "bench_snapshot: %s: %s\n", phase, bench_errmsg);
	return 1;
}
