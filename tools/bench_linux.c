/* SPDX-License-Identifier: MIT */
/*
 * bench_linux - a stock Linux kernel under minivmm and under QEMU's microvm
 * (KVM), same bzImage, same initramfs, same command line, one after the
 * other in pairs: the time from process start to the first line on hvc0,
 * and the throughput of hvc0.
 *
 * The initramfs of tools/mkinitramfs, booted with vmmem.bench=N, writes
 * "vmmem-bench: ready" as soon as hvc0 exists, then a start line, N MiB of
 * zeros (hvc0 in raw mode), an end line, and powers off. The VMM's
 * standard output is a pipe read here without pause; every read is
 * timestamped (CLOCK_MONOTONIC) when it returns. Throughput is N MiB over
 * the time between the arrival of the start line and of the end line, and
 * a boot counts only if exactly N MiB came between them: QEMU's virtio
 * console drops what its output cannot take at once. A pair counts only
 * if both of its boots do; each counted pair is printed as one "pair"
 * line, and --report makes the table of such lines collected by several
 * runs (tools/bench-linux).
 *
 * Stock kernels cannot reach user space on a PVM-based KVM: on such a host
 * run it inside tools/nested (ninja bench-linux).
 *
 * usage: bench_linux [--runs N] [--mib N] [--timeout S] [--pipe-kib K]
 *                    [--first N] [--append WORDS] [--minivmm-opt OPT]...
 *                    [--verbose]
 *        bench_linux --report FILE
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const minivmm = "build/minivmm";
static const char *const kernel = "build/linux/vmlinuz";
static const char *const initrd = "build/linux/initramfs.gz";
static const char *const qemu = "/usr/bin/qemu-system-x86_64";
/* What QEMU's microvm reads to boot a bzImage (found next to the binary):
 * qboot, and the option ROM that loads the kernel through fw_cfg DMA. */
static const char *const qemu_files[] = {
	"/usr/share/qemu/bios-microvm.bin",
	"/usr/share/qemu/linuxboot_dma.bin",
};

#define CMDLINE "console=hvc0 quiet reboot=t panic=-1 nokaslr pci=noearly " \
		"i8042.noaux i8042.nomux"

#define READY_LINE "vmmem-bench: ready"
/* Then /init says how long the kernel had been running (/proc/uptime). */
#define UPTIME_LINE "vmmem-bench: uptime "
#define START_LINE "vmmem-bench: start"
#define END_MARK "vmmem-bench: end\n"

#define MAX_RUNS 64
#define MAX_OPTS 8
#define EARLY_MAX 4096		/* hvc0 output kept from before the stream */
#define ERR_MAX 4096		/* the VMM's stderr kept for a failure */

enum vmm { MINIVMM, QEMU, NVMM };

static const char *const vmm_name[NVMM] = { "minivmm", "QEMU" };

struct opts {
	int runs;
	int mib;
	int timeout;		/* seconds, per boot */
	int pipe_kib;
	int first;		/* number of the first pair */
	const char *append;	/* more kernel command line, for both */
	const char *minivmm_opt[MAX_OPTS]; /* more options for minivmm */
	int nr_minivmm_opt;
	bool verbose;
	const char *report;	/* --report FILE */
};

enum phase { BOOTING, READY, STREAM, DONE };

/* One boot as seen from the read end of the VMM's standard output. */
struct watch {
	enum phase phase;
	double t0;		/* just before fork */
	double t_ready, t_start, t_end, t_exit;
	uint64_t stream;	/* bytes after the start line, end mark too */
	unsigned matched;	/* bytes of END_MARK matched so far */
	unsigned lines_before;	/* complete lines before the ready line */
	char line[64];		/* the line being received, before the stream */
	size_t line_len;
	bool line_long;		/* ... longer than that: not a marker */
	size_t early_len;	/* the end of the output up to the stream */
	char early[EARLY_MAX];
	size_t err_len;
	char err[ERR_MAX];
	int status;		/* exit status, or 128 + signal */
	bool timed_out;
	double kclock;		/* the guest kernel's clock at the ready line */
};

struct sample {
	double first;		/* s, process start to the ready line */
	double mibps;		/* MiB/s between the start and end lines */
	double exit;		/* s, process start to exit */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Every file the run needs, with what to do when one is missing. */
static int check_files(void)
{
	const char *need[] = { minivmm, kernel, initrd, qemu, qemu_files[0],
			       qemu_files[1] };
	unsigned i;

	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "bench_linux: /dev/kvm: %s\n", strerror(errno));
		return -1;
	}
	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		fprintf(stderr, "bench_linux: this KVM is PVM, where stock "
				"kernels cannot reach user space; run ninja "
				"bench-linux (a real kvm_amd under QEMU)\n");
		return -1;
	}
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (access(need[i], R_OK) == 0)
			continue;
		fprintf(stderr, "bench_linux: %s: %s (%s)\n", need[i],
			strerror(errno),
			i < 1	? "ninja build/minivmm" :
			i < 3	? "tools/mkinitramfs" :
				  "package qemu-system-x86; in tools/nested, "
				  "pass it with --with");
		return -1;
	}
	return 0;
}

/* Keep the last cap bytes of some output: the end says most about a
 * failure (a panic, a VMM's last words). */
static void keep(char *buf, size_t *len, size_t cap, const char *p,
		 size_t n)
{
	if (n >= cap) {
		memcpy(buf, p + n - cap, cap);
		*len = cap;
		return;
	}
	if (n > cap - *len) {
		size_t drop = n - (cap - *len);

		memmove(buf, buf + drop, *len - drop);
		*len -= drop;
	}
	memcpy(buf + *len, p, n);
	*len += n;
}

/* A complete line arrived at time t. */
static void line_done(struct watch *w, double t)
{
	bool is = !w->line_long && w->line_len > 0;

	w->line[w->line_len] = '\0';
	if (w->phase == BOOTING && is && !strcmp(w->line, READY_LINE)) {
		w->phase = READY;
		w->t_ready = t;
	} else if (w->phase == BOOTING) {
		w->lines_before++;
	} else if (is && !strcmp(w->line, START_LINE)) {
		w->phase = STREAM;
		w->t_start = t;
	} else if (is && !strncmp(w->line, UPTIME_LINE, strlen(UPTIME_LINE))) {
		w->kclock = strtod(w->line + strlen(UPTIME_LINE), NULL);
	}
	w->line_len = 0;
	w->line_long = false;
}

/*
 * Before the stream: whole lines. The ready line is the first one /init
 * writes (with `quiet`, the kernel writes nothing to hvc0 before it); the
 * start line switches to counting. Return: bytes of p consumed.
 */
static size_t take_lines(struct watch *w, const char *p, size_t n, double t)
{
	size_t used = 0;

	while (used < n && w->phase != STREAM) {
		const char *nl = memchr(p + used, '\n', n - used);
		size_t len = nl ? (size_t)(nl - (p + used)) : n - used;

		keep(w->early, &w->early_len, sizeof(w->early), p + used,
		     len + (nl != NULL));
		if (len > sizeof(w->line) - 1 - w->line_len) {
			w->line_long = true;
		} else {
			memcpy(w->line + w->line_len, p + used, len);
			w->line_len += len;
		}
		used += len;
		if (!nl)
			break;
		used++;
		line_done(w, t);
	}
	return used;
}

/*
 * The stream: count bytes until the end mark. The payload is zeros, so
 * memchr() skips to the mark's first byte, which occurs nowhere else in
 * the mark: a mismatch restarts the match at the current byte.
 */
static size_t take_stream(struct watch *w, const char *p, size_t n, double t)
{
	const size_t mark_len = sizeof(END_MARK) - 1;
	size_t i = 0;

	while (i < n) {
		if (w->matched == 0) {
			const char *v = memchr(p + i, END_MARK[0], n - i);

			if (!v) {
				i = n;
				break;
			}
			i = (size_t)(v - p);
		}
		if (p[i] == END_MARK[w->matched])
			w->matched++;
		else
			w->matched = p[i] == END_MARK[0];
		i++;
		if (w->matched == mark_len) {
			w->phase = DONE;
			w->t_end = t;
			break;
		}
	}
	w->stream += i;
	return i;
}

static void take(struct watch *w, const char *p, size_t n, double t)
{
	size_t used;

	while (n) {
		switch (w->phase) {
		case BOOTING:
		case READY:
			used = take_lines(w, p, n, t);
			break;
		case STREAM:
			used = take_stream(w, p, n, t);
			break;
		default:	/* after the end line: nothing to look for */
			used = n;
			break;
		}
		p += used;
		n -= used;
	}
}

static void vmm_argv(enum vmm which, const struct opts *o,
		     const char *cmdline, const char **argv)
{
	const char *mv[] = {
		minivmm, "--kernel", kernel, "--initrd", initrd, "-m", "512M",
		"--cmdline", cmdline, NULL,
	};
	/*
	 * microvm is QEMU's machine closest to minivmm's: no PCI, qboot
	 * instead of a BIOS, the console on virtio-mmio, found through ACPI.
	 * Its chardev is stdio, like minivmm's console.
	 */
	const char *qv[] = {
		qemu, "-M", "microvm", "-accel", "kvm", "-cpu", "host",
		"-m", "512M", "-smp", "1", "-nodefaults", "-no-user-config",
		"-display", "none", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd, "-append", cmdline,
		"-global", "virtio-mmio.force-legacy=false",
		"-device", "virtio-serial-device",
		"-chardev", "stdio,id=c0,mux=off,signal=off",
		"-device", "virtconsole,chardev=c0",
		NULL,
	};
	const char **v = which == MINIVMM ? mv : qv;
	size_t i;
	int k;

	for (i = 0; v[i]; i++)
		argv[i] = v[i];
	for (k = 0; which == MINIVMM && k < o->nr_minivmm_opt; k++)
		argv[i++] = o->minivmm_opt[k];
	argv[i] = NULL;
}

/* The guest's command line: the common one, the stream's size, --append. */
static void guest_cmdline(const struct opts *o, char *buf, size_t len)
{
	snprintf(buf, len, "%s vmmem.bench=%d%s%s", CMDLINE, o->mib,
		 o->append ? " " : "", o->append ? o->append : "");
}

/*
 * Start argv[0] with stdout and stderr on pipes, and stdin on a pipe we
 * hold open and never write: no input, and no end of input either, for
 * both VMMs alike.
 */
static pid_t spawn(const char *const *argv, int pipe_kib, int *in_w,
		   int *out_r, int *err_r)
{
	int in[2], out[2], err[2];
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) ||
	    pipe2(err, O_CLOEXEC))
		return -1;
	/*
	 * Room for output while this process is not scheduled: QEMU drops
	 * console output its stdout cannot take at once (minivmm waits).
	 */
	if (fcntl(out[1], F_SETPIPE_SZ, pipe_kib * 1024) < 0)
		fprintf(stderr, "bench_linux: pipe of %d KiB: %s\n", pipe_kib,
			strerror(errno));
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (pid < 0) {
		close(in[1]);
		close(out[0]);
		close(err[0]);
		return -1;
	}
	*in_w = in[1];
	*out_r = out[0];
	*err_r = err[0];
	return pid;
}

/* Read a pipe into the watch (stdout) or the error buffer. Return: false
 * at its end. */
static bool drain(struct watch *w, int fd, bool is_out)
{
	static char buf[1 << 20];
	ssize_t n = read(fd, buf, is_out ? sizeof(buf) : ERR_MAX);
	double t = now();

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	if (is_out)
		take(w, buf, (size_t)n, t);
	else
		keep(w->err, &w->err_len, sizeof(w->err), buf, (size_t)n);
	return true;
}

/* Boot once; fill w. Return: 0, or -1 when the VMM could not be started. */
static int boot(enum vmm which, const struct opts *o, struct watch *w)
{
	char cmdline[512];
	const char *argv[64];
	int in_w, out_r, err_r, wstatus;
	pid_t pid;

	guest_cmdline(o, cmdline, sizeof(cmdline));
	vmm_argv(which, o, cmdline, argv);
	memset(w, 0, sizeof(*w));
	w->t0 = now();
	pid = spawn(argv, o->pipe_kib, &in_w, &out_r, &err_r);
	if (pid < 0) {
		fprintf(stderr, "bench_linux: cannot start %s: %s\n", argv[0],
			strerror(errno));
		return -1;
	}
	while (out_r >= 0 || err_r >= 0) {
		struct pollfd p[2] = {
			{ .fd = out_r, .events = POLLIN },
			{ .fd = err_r, .events = POLLIN },
		};
		double left = w->t0 + o->timeout - now();

		if (left <= 0) {
			w->timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(p, 2, (int)(left * 1000) + 1) < 0 && errno != EINTR)
			break;
		if (p[0].revents && !drain(w, out_r, true)) {
			close(out_r);
			out_r = -1;
		}
		if (p[1].revents && !drain(w, err_r, false)) {
			close(err_r);
			err_r = -1;
		}
	}
	if (out_r >= 0)
		close(out_r);
	if (err_r >= 0)
		close(err_r);
	waitpid(pid, &wstatus, 0);
	w->t_exit = now();
	close(in_w);
	w->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) :
					 128 + WTERMSIG(wstatus);
	return 0;
}

/* A failed boot: say what went wrong and what the VMM said. */
static void explain(enum vmm which, int pair, const struct watch *w,
		    const char *what)
{
	fprintf(stderr, "bench_linux: pair %d, %s: %s\n", pair,
		vmm_name[which], what);
	if (w->early_len)
		fprintf(stderr, "  hvc0 up to the stream (its end):\n%.*s\n",
			(int)w->early_len, w->early);
	if (w->err_len)
		fprintf(stderr, "  its standard error:\n%.*s\n",
			(int)w->err_len, w->err);
}

/* Judge one boot. Return: true when it counts. */
static bool judge(enum vmm which, int pair, const struct opts *o,
		  const struct watch *w)
{
	uint64_t want = (uint64_t)o->mib << 20;
	uint64_t got = w->stream - (w->phase == DONE ? sizeof(END_MARK) - 1
						      : 0);
	char what[160];

	if (w->timed_out) {
		snprintf(what, sizeof(what), "no power-off within %d s (%s)",
			 o->timeout,
			 w->phase == BOOTING ? "no ready line on hvc0" :
			 w->phase == READY   ? "no start line" :
			 w->phase == STREAM  ? "no end line" :
					       "after the end line");
	} else if (w->status != 0) {
		snprintf(what, sizeof(what), "exited with status %d",
			 w->status);
	} else if (w->phase != DONE) {
		snprintf(what, sizeof(what), "exited without the %s line",
			 w->phase == BOOTING ? "ready" :
			 w->phase == READY   ? "start" : "end");
	} else if (got != want) {
		snprintf(what, sizeof(what),
			 "%llu bytes between the start and end lines, not "
			 "%llu: the console %s output",
			 (unsigned long long)got, (unsigned long long)want,
			 got < want ? "lost" : "added");
	} else {
		return true;
	}
	explain(which, pair, w, what);
	return false;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median, min and max of v[0..n) (which is sorted). */
static void stats(double *v, int n, double *med, double *lo, double *hi)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*lo = v[0];
	*hi = v[n - 1];
}

/*
 * One row: each VMM's median and range, and the median of the pairs'
 * ratios, which cancels what slows both boots of a pair alike (a slow
 * phase of the machine) better than the ratio of the medians would.
 */
static void row(const char *metric, struct sample s[NVMM][MAX_RUNS], int n,
		size_t off, int digits)
{
	double v[NVMM][MAX_RUNS], ratio[MAX_RUNS];
	double med[NVMM], lo[NVMM], hi[NVMM], r, r_lo, r_hi;
	char range[NVMM][24];
	int i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < NVMM; k++)
			memcpy(&v[k][i], (const char *)&s[k][i] + off,
			       sizeof(double));
		ratio[i] = v[MINIVMM][i] / v[QEMU][i];
	}
	stats(ratio, n, &r, &r_lo, &r_hi);
	for (k = 0; k < NVMM; k++) {
		stats(v[k], n, &med[k], &lo[k], &hi[k]);
		snprintf(range[k], sizeof(range[k]), "%.*f-%.*f", digits,
			 lo[k], digits, hi[k]);
	}
	printf("%-23s %7.2f %7.2f %5.2f  %-11s %-11s %.2f-%.2f\n", metric,
	       med[MINIVMM], med[QEMU], r, range[MINIVMM], range[QEMU], r_lo,
	       r_hi);
}

static void table(struct sample s[NVMM][MAX_RUNS], int n)
{
	printf("\n%-23s %-21s  %s\n", "", "     medians", "ranges (min-max)");
	printf("%-23s %7s %7s %5s  %-11s %-11s %s\n", "", "minivmm", "QEMU",
	       "ratio", "minivmm", "QEMU", "ratios");
	row("first line on hvc0 (s)", s, n, offsetof(struct sample, first), 1);
	row("hvc0 throughput (MiB/s)", s, n, offsetof(struct sample, mibps),
	    2);
	row("exit (s)", s, n, offsetof(struct sample, exit), 1);
	printf("\n%d pair%s. Times from the VMM's start. ratio: the median "
	       "of the pairs'\nminivmm / QEMU (lower is better for times, "
	       "higher for throughput).\n", n, n > 1 ? "s" : "");
}

/*
 * A pair's line, which --report reads back: runs of several processes
 * (tools/bench-linux, one per nested VM) make one table.
 */
#define PAIR_FMT "pair %d: minivmm %lf %lf %lf QEMU %lf %lf %lf"

static void print_pair(int pair, const struct sample *m,
		       const struct sample *q)
{
	printf("pair %d: minivmm %.3f %.3f %.3f QEMU %.3f %.3f %.3f\n", pair,
	       m->first, m->mibps, m->exit, q->first, q->mibps, q->exit);
}

/* --report FILE: the table of the pair lines in FILE. */
static int report(const char *path)
{
	static struct sample s[NVMM][MAX_RUNS];
	char line[512];
	FILE *f = fopen(path, "r");
	int n = 0, pair;

	if (!f) {
		fprintf(stderr, "bench_linux: %s: %s\n", path, strerror(errno));
		return 2;
	}
	while (fgets(line, sizeof(line), f) && n < MAX_RUNS) {
		struct sample *m = &s[MINIVMM][n], *q = &s[QEMU][n];

		if (sscanf(line, PAIR_FMT, &pair, &m->first, &m->mibps,
			   &m->exit, &q->first, &q->mibps, &q->exit) == 7)
			n++;
	}
	fclose(f);
	if (n == 0) {
		fprintf(stderr, "bench_linux: no pair lines in %s\n", path);
		return 1;
	}
	table(s, n);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_linux [--runs N] [--mib N] [--timeout S] "
		"[--pipe-kib K]\n"
		"                   [--first N] [--append WORDS] "
		"[--minivmm-opt OPT]...\n"
		"                   [--verbose]\n"
		"       bench_linux --report FILE\n"
		"  --runs N           pairs of boots, minivmm then QEMU "
		"(default 5)\n"
		"  --mib N            MiB written to hvc0 per boot (default "
		"64)\n"
		"  --timeout S        deadline of one boot, in seconds "
		"(default 300)\n"
		"  --pipe-kib K       the pipe the VMM writes to (default "
		"1024)\n"
		"  --first N          number of the first pair (default 1)\n"
		"  --append WORDS     more kernel command line, for both "
		"VMMs\n"
		"  --minivmm-opt OPT  one more option for minivmm (up to %d), "
		"e.g.\n"
		"                     --minivmm-opt --memory-backend=hugetlb\n"
		"  --verbose          the command lines; hvc0's lines before "
		"the ready line\n"
		"  --report FILE      the table of the pair lines in FILE\n"
		"Boots %s with %s under %s\n"
		"and under %s -M microvm,\n"
		"from the repository's top directory.\n",
		MAX_OPTS, kernel, initrd, minivmm, qemu);
}

static int parse(int argc, char **argv, struct opts *o)
{
	int i;

	for (i = 1; i < argc; i++) {
		int *v = !strcmp(argv[i], "--runs")	? &o->runs :
			 !strcmp(argv[i], "--mib")	? &o->mib :
			 !strcmp(argv[i], "--timeout")	? &o->timeout :
			 !strcmp(argv[i], "--pipe-kib") ? &o->pipe_kib :
			 !strcmp(argv[i], "--first")	? &o->first :
							  NULL;

		if (!strcmp(argv[i], "--help")) {
			usage(stdout);
			exit(0);
		}
		if (!strcmp(argv[i], "--verbose")) {
			o->verbose = true;
			continue;
		}
		if (!strcmp(argv[i], "--report") && i + 1 < argc) {
			o->report = argv[++i];
			continue;
		}
		if (!strcmp(argv[i], "--append") && i + 1 < argc) {
			o->append = argv[++i];
			continue;
		}
		if (!strcmp(argv[i], "--minivmm-opt") && i + 1 < argc &&
		    o->nr_minivmm_opt < MAX_OPTS) {
			o->minivmm_opt[o->nr_minivmm_opt++] = argv[++i];
			continue;
		}
		if (!v || i + 1 == argc) {
			usage(stderr);
			return -1;
		}
		*v = atoi(argv[++i]);
	}
	if (o->runs < 1 || o->runs > MAX_RUNS || o->mib < 1 ||
	    o->mib > 4096 || o->timeout < 1 || o->pipe_kib < 4 ||
	    o->first < 1) {
		fprintf(stderr, "bench_linux: --runs 1..%d, --mib 1..4096, "
				"--timeout >= 1, --pipe-kib >= 4, --first >= "
				"1\n", MAX_RUNS);
		return -1;
	}
	return 0;
}

static void print_argv(enum vmm which, const struct opts *o)
{
	char cmdline[512];
	const char *argv[64];
	int i;

	guest_cmdline(o, cmdline, sizeof(cmdline));
	vmm_argv(which, o, cmdline, argv);
	printf("  %s:", vmm_name[which]);
	for (i = 0; argv[i]; i++)
		printf(strchr(argv[i], ' ') ? " '%s'" : " %s", argv[i]);
	printf("\n");
}

/* Boot `which` once; fill x. Return: 1 counted, 0 failed (said why), -1
 * when the VMM could not be started. */
static int measure(enum vmm which, int pair, const struct opts *o,
		   struct sample *x)
{
	struct watch w;

	if (boot(which, o, &w))
		return -1;
	if (!judge(which, pair, o, &w))
		return 0;
	x->first = w.t_ready - w.t0;
	x->mibps = o->mib / (w.t_end - w.t_start);
	x->exit = w.t_exit - w.t0;
	printf("pair %d, %-7s first line %6.2f s, %d MiB in %6.2f s "
	       "(%5.2f MiB/s), exit %6.2f s\n", pair, vmm_name[which],
	       x->first, o->mib, w.t_end - w.t_start, x->mibps, x->exit);
	/* What came before the kernel's clock started: the VMM, firmware
	 * and the bzImage's decompressor. */
	if (w.kclock > 0)
		printf("pair %d, %-7s kernel clock at the first line %6.2f s, "
		       "before the kernel %6.2f s\n", pair, vmm_name[which],
		       w.kclock, x->first - w.kclock);
	if (w.lines_before && o->verbose)
		printf("  hvc0 before the ready line (its end):\n%.*s\n",
		       (int)w.early_len, w.early);
	else if (w.lines_before)
		printf("  (%u lines on hvc0 before the ready line)\n",
		       w.lines_before);
	fflush(stdout);
	return 1;
}

int main(int argc, char **argv)
{
	struct opts o = { .runs = 5, .mib = 64, .timeout = 300,
			  .pipe_kib = 1024, .first = 1 };
	static struct sample s[NVMM][MAX_RUNS];
	int n = 0, failed = 0, i, k, rc;

	if (parse(argc, argv, &o))
		return 2;
	if (o.report)
		return report(o.report);
	if (check_files())
		return 2;
	signal(SIGPIPE, SIG_IGN);
	printf("bench_linux: %d pair%s of boots, minivmm then QEMU (microvm, "
	       "KVM);\n%s + %s, %d MiB to hvc0 per boot, %d KiB output "
	       "pipe\n", o.runs, o.runs > 1 ? "s" : "", kernel, initrd, o.mib,
	       o.pipe_kib);
	if (o.verbose) {
		print_argv(MINIVMM, &o);
		print_argv(QEMU, &o);
	}
	fflush(stdout);
	for (i = 0; i < o.runs; i++) {
		bool whole = true;

		/* Both boot even when the first fails, so that the order
		 * stays the same for every pair that counts. */
		for (k = 0; k < NVMM; k++) {
			rc = measure(k, o.first + i, &o, &s[k][n]);
			if (rc < 0)
				return 1;
			whole = whole && rc;
		}
		if (!whole) {
			failed++;
			continue;
		}
		print_pair(o.first + i, &s[MINIVMM][n], &s[QEMU][n]);
		n++;
	}
	if (n)
		table(s, n);
	if (failed) {
		fprintf(stderr, "bench_linux: %d of %d pairs failed (above); "
				"not counted\n", failed, o.runs);
		return 1;
	}
	return 0;
}
