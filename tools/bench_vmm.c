/* SPDX-License-Identifier: MIT */
/*
 * bench_vmm - minivmm against QEMU's microvm on the same guest image, in
 * the same run: time from process start to guest exit (prog=hello), console
 * throughput (stream=64), and peak resident memory. Runs alternate between
 * the two VMMs; medians are printed with their ratio.
 *
 * In the same runs, the references that bound minivmm's figures: the guest
 * making its stream without handing it to the device (stream=N nosend: the
 * guest's own rate, the most any device can move), the file system taking
 * the same bytes from a program shaped like a VMM's transmit path (one
 * thread fills 64 KiB buffers, another writes them: the most any VMM can
 * write into that file), minivmm's CPU time from
 * exec to the first KVM_RUN (its --verbose start-up line), and the floor of
 * any VMM on this host: this program re-executed to create a bare VM (one
 * 256 MiB slot, the in-kernel irqchip and PIT after it as minivmm does, one
 * vCPU), run it to its first exit and close it, timed from fork to exit.
 *
 * usage: bench_vmm [--runs N] [--stream MIB]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../tests/vmrun.h"
#include "bench_common.h"

static const char *const minivmm = "build/minivmm";
static const char *const guest = "build/guest/guest.elf";
static const char *const qemu = "/usr/bin/qemu-system-x86_64";

enum vmm { MINIVMM, QEMU };

/*
 * Run a guest program. With out_file, the console goes to that file in both
 * VMMs: QEMU drops console output that a pipe cannot take at once, which
 * would flatter its throughput, and a file never refuses a write.
 */
static int run(enum vmm which, const char *prog, const char *out_file,
	       struct vmrun *r)
{
	char append[64], console[128], chardev[160];
	const char *mv[] = { minivmm, "--cmdline", append, guest, NULL, NULL };
	const char *qv[] = {
		qemu, "-M", "microvm,acpi=off", "-accel", "kvm",
		"-cpu", "host,-arch-capabilities", "-m", "256M",
		"-nodefaults", "-no-user-config", "-nographic",
		"-kernel", guest, "-append", append,
		"-global", "virtio-mmio.force-legacy=false",
		"-device", "virtio-serial-device",
		"-chardev", chardev,
		"-device", "virtconsole,chardev=c0",
		"-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		NULL,
	};
	int rc;

	snprintf(append, sizeof(append), "%s", prog);
	snprintf(chardev, sizeof(chardev), "stdio,id=c0,mux=off,signal=off");
	if (out_file) {
		snprintf(console, sizeof(console), "--console=file:%s",
			 out_file);
		mv[3] = console;
		mv[4] = guest;
		snprintf(chardev, sizeof(chardev), "file,id=c0,path=%s",
			 out_file);
	}
	rc = vmrun(which == MINIVMM ? mv : qv, NULL, 0, 300, r);
	if (rc || r->timed_out || r->status != 1) {
		fprintf(stderr, "bench_vmm: %s %s failed (status %d)\n%s",
			which == MINIVMM ? "minivmm" : "qemu", prog, r->status,
			r->err ? r->err : "");
		return -1;
	}
	return 0;
}

/* Every byte of the stream arrived: the size is exact, the trailer there. */
static int check_stream(const char *path, int mib, enum vmm which)
{
	struct stat st;
	char tail[64] = "";
	FILE *f = fopen(path, "r");
	long want = (long)mib << 20;

	if (!f || fstat(fileno(f), &st) ||
	    fseek(f, want, SEEK_SET) || !fgets(tail, sizeof(tail), f) ||
	    !fgets(tail, sizeof(tail), f) || strncmp(tail, "stream: ", 8) ||
	    st.st_size != want + 1 + (long)strlen(tail)) {
		fprintf(stderr, "bench_vmm: %s lost console output (%lld "
			"bytes, expected %ld and a trailer)\n",
			which == MINIVMM ? "minivmm" : "qemu",
			f ? (long long)st.st_size : -1LL, want);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/*
 * The sink's own rate, in the shape of a VMM's transmit path: one thread
 * makes mib MiB, 64 KiB at a time, in four buffers in turn (as the guest
 * does), another writes each full buffer to path and hands it back; MiB/s.
 * The most any VMM can move into that file on this machine.
 */
#define SINK_BUFS 4
#define SINK_BUF 65536

struct sink {
	uint64_t buf[SINK_BUFS][SINK_BUF / 8];
	int full[SINK_BUFS];	/* atomic: 1 while the writer owns it */
	long chunks;
};

static void *sink_maker(void *arg)
{
	struct sink *k = arg;
	long i;
	size_t j;

	for (i = 0; i < k->chunks; i++) {
		uint64_t *b = k->buf[i % SINK_BUFS];

		while (__atomic_load_n(&k->full[i % SINK_BUFS], __ATOMIC_ACQUIRE))
			;
		for (j = 0; j < SINK_BUF / 8; j++)
			b[j] = (uint64_t)i << 32 | j;
		__atomic_store_n(&k->full[i % SINK_BUFS], 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static int sink_rate(const char *path, int mib, double *rate)
{
	static struct sink k;
	pthread_t maker;
	double t0, t1;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int rc = 0;
	long i;

	if (fd < 0)
		return -1;
	memset(&k, 0, sizeof(k));
	k.chunks = (long)mib * (1048576 / SINK_BUF);
	t0 = bench_now();
	if (pthread_create(&maker, NULL, sink_maker, &k)) {
		close(fd);
		return -1;
	}
	for (i = 0; i < k.chunks; i++) {
		int *full = &k.full[i % SINK_BUFS];

		while (!__atomic_load_n(full, __ATOMIC_ACQUIRE))
			;
		if (!rc && write(fd, k.buf[i % SINK_BUFS], SINK_BUF) != SINK_BUF)
			rc = -1;
		__atomic_store_n(full, 0, __ATOMIC_RELEASE);
	}
	pthread_join(maker, NULL);
	t1 = bench_now();
	close(fd);
	*rate = mib / (t1 - t0);
	return rc;
}

/* minivmm's CPU time from exec to its first KVM_RUN, in ms (-1: none). */
static int startup_cpu(double *ms)
{
	const char *mv[] = { minivmm, "--verbose", "--cmdline", "prog=hello",
			     guest, NULL };
	const char *p;
	struct vmrun r;

	if (vmrun(mv, NULL, 0, 300, &r) || r.timed_out || r.status != 1) {
		fprintf(stderr, "bench_vmm: minivmm --verbose failed\n%s",
			r.err ? r.err : "");
		vmrun_free(&r);
		return -1;
	}
	p = r.err ? strstr(r.err, "start-up: ") : NULL;
	*ms = p ? strtod(p + 10, NULL) : -1;
	vmrun_free(&r);
	return 0;
}

/* The floor, from fork to exit of this program re-executed. */
static int floor_time(const char *self, double *ms)
{
	const char *fv[] = { self, "--floor-child", NULL };
	struct vmrun r;

	if (vmrun(fv, NULL, 0, 60, &r) || r.timed_out || r.status != 0) {
		fprintf(stderr, "bench_vmm: the floor failed\n%s",
			r.out ? r.out : "");
		vmrun_free(&r);
		return -1;
	}
	*ms = r.seconds * 1000;
	vmrun_free(&r);
	return 0;
}

static int floor_child(void)
{
	double t_open, t_exit, t_closed;
	char err[256];

	if (bench_floor_run(BENCH_FLOOR_IRQCHIP_AFTER, 256ull << 20, &t_open,
			    &t_exit, &t_closed, err, sizeof(err))) {
		printf("%s\n", err);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int runs = 9, mib = 256, i, k;
	double hello[2][64], stream[2][64], rss[2][64], srss[2][64];
	double dry[64], cpu[64], flo[64], snk[64];
	double h[2], s[2], mr[2], sr[2], thr[2], d, own, c, f, sink;
	char prog[32], dry_prog[48], out_path[64], model[128];
	time_t now = time(NULL);
	char when[64];

	if (argc == 2 && !strcmp(argv[1], "--floor-child"))
		return floor_child();
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
			runs = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--stream") && i + 1 < argc) {
			mib = atoi(argv[++i]);
		} else {
			printf("usage: bench_vmm [--runs N] [--stream MIB]\n");
			return strcmp(argv[i], "--help") ? 2 : 0;
		}
	}
	if (runs < 1 || runs > 64 || mib < 1 || mib > 1024) {
		fprintf(stderr, "bench_vmm: runs must be 1..64, stream 1..1024\n");
		return 2;
	}
	if (access("/dev/kvm", R_OK | W_OK) || access(qemu, X_OK)) {
		fprintf(stderr, "bench_vmm: skipped: needs /dev/kvm and %s\n",
			qemu);
		return 0;
	}
	snprintf(prog, sizeof(prog), "stream=%d", mib);
	snprintf(dry_prog, sizeof(dry_prog), "stream=%d nosend", mib);
	snprintf(out_path, sizeof(out_path), "/tmp/bench_vmm.%d", getpid());
	bench_cpu_model(model, sizeof(model));
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	printf("bench_vmm: %s, %s\n%d runs each, alternating minivmm and QEMU "
	       "(microvm, KVM), same guest image\n", when, model, runs);
	for (i = 0; i < runs; i++) {
		struct vmrun r;

		for (k = 0; k < 2; k++) {
			if (run(k, "prog=hello", NULL, &r))
				return 1;
			hello[k][i] = r.seconds * 1000;
			rss[k][i] = r.maxrss_kib / 1024.0;
			vmrun_free(&r);
			if (run(k, prog, out_path, &r) ||
			    check_stream(out_path, mib, k))
				return 1;
			stream[k][i] = r.seconds * 1000;
			srss[k][i] = r.maxrss_kib / 1024.0;
			vmrun_free(&r);
		}
		if (run(MINIVMM, dry_prog, out_path, &r))
			return 1;
		dry[i] = r.seconds * 1000;
		vmrun_free(&r);
		if (startup_cpu(&cpu[i]) || floor_time(argv[0], &flo[i]))
			return 1;
		if (sink_rate(out_path, mib, &snk[i])) {
			fprintf(stderr, "bench_vmm: writing %s: %s\n", out_path,
				strerror(errno));
			return 1;
		}
	}
	for (k = 0; k < 2; k++) {
		h[k] = bench_median(hello[k], runs);
		s[k] = bench_median(stream[k], runs);
		mr[k] = bench_median(rss[k], runs);
		sr[k] = bench_median(srss[k], runs);
		/* Console throughput: the stream run minus boot and exit. */
		thr[k] = s[k] > h[k] ? mib / ((s[k] - h[k]) / 1000) : 0;
	}
	d = bench_median(dry, runs);
	own = d > h[0] ? mib / ((d - h[0]) / 1000) : 0;
	c = bench_median(cpu, runs);
	f = bench_median(flo, runs);
	sink = bench_median(snk, runs);
	printf("\n%-40s %10s %10s %8s\n", "benchmark", "minivmm", "QEMU",
	       "ratio");
	printf("%-40s %10.1f %10.1f %8.2f\n", "hello: start to exit (ms)",
	       h[0], h[1], h[0] / h[1]);
	printf("%-40s %10.1f %10.1f %8.2f\n", "stream: start to exit (ms)",
	       s[0], s[1], s[0] / s[1]);
	printf("%-40s %10.1f %10.1f %8.2f\n", "console throughput (MiB/s)",
	       thr[0], thr[1], thr[1] > 0 ? thr[0] / thr[1] : 0);
	printf("%-40s %10.1f %10.1f %8.2f\n", "peak RSS, hello (MiB)", mr[0],
	       mr[1], mr[0] / mr[1]);
	printf("%-40s %10.1f %10.1f %8.2f\n", "peak RSS, stream (MiB)", sr[0],
	       sr[1], sr[0] / sr[1]);
	printf("\n%-40s %10s %10s\n", "references (same runs)", "value",
	       "minivmm/");
	printf("%-40s %10.1f\n", "stream nosend: start to exit (ms)", d);
	printf("%-40s %10.1f %10.2f\n", "guest's own rate (MiB/s)", own,
	       own > 0 ? thr[0] / own : 0);
	printf("%-40s %10.1f %10.2f\n", "file sink, 2 threads (MiB/s)", sink,
	       sink > 0 ? thr[0] / sink : 0);
	printf("%-40s %10.1f %10.2f\n", "floor: bare VM, start to exit (ms)", f,
	       h[0] / f);
	printf("%-40s %10.2f\n", "minivmm CPU, exec to 1st KVM_RUN (ms)", c);
	unlink(out_path);
	printf("\nmedians; throughput = %d MiB / (stream time - hello time),\n"
	       "the guest's own rate the same with stream=%d nosend;\n"
	       "ratio = minivmm / QEMU (lower is better for time and RSS,\n"
	       "higher for throughput); minivmm/ = minivmm's throughput over\n"
	       "the guest's own rate and over the file sink's, minivmm's\n"
	       "hello over the floor\n",
	       mib, mib);
	return 0;
}
