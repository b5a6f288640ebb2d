/* SPDX-License-Identifier: MIT */
/*
 * A stock Debian kernel under minivmm: it finds the virtio-mmio console
 * through our ACPI tables, loads Debian's own virtio_mmio and
 * virtio_console drivers from the initramfs (tools/mkinitramfs), and runs
 * a shell on hvc0, which answers commands typed on the host side. A
 * snapshot of that shell, taken through the control API, goes on in a new
 * minivmm process.
 *
 * Stock kernels cannot reach user space on a PVM-based KVM, so this runs
 * inside tools/nested (ninja test-linux), on a real kvm_amd; elsewhere it
 * says why it skips.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmrun.h"

static const char *const minivmm = "build/minivmm";
static const char *const bzimage = "build/linux/vmlinuz";
static const char *const initrd = "build/linux/initramfs.gz";
static const char *const data = "build/linux/data.bin";
/* The same kernel uncompressed (tools/nested takes it out of the bzImage). */
static const char *const vmlinux = "build/nested/boot/vmlinux";

#define CMDLINE "console=hvc0 quiet reboot=t panic=-1 nokaslr pci=noearly " \
		"i8042.noaux i8042.nomux"

static void need_linux(const char *kernel)
{
	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "skipped: no /dev/kvm\n");
		skip();
	}
	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		fprintf(stderr, "skipped: this KVM is PVM, where stock kernels "
				"cannot reach user space; run ninja test-nested "
				"(a real kvm_amd under QEMU)\n");
		skip();
	}
	if (access(kernel, R_OK) || access(initrd, R_OK)) {
		fprintf(stderr, "skipped: no %s or %s (tools/mkinitramfs, "
				"tools/nested)\n", kernel, initrd);
		skip();
	}
}

/* The 1 MiB that /data.bin holds in the guest, or skip without it. */
static void load_data(uint8_t *want, size_t len)
{
	FILE *f = fopen(data, "rb");

	if (!f) {
		fprintf(stderr, "skipped: no %s (tools/mkinitramfs)\n", data);
		skip();
	}
	assert_int_equal(fread(want, 1, len, f), len);
	fclose(f);
}

/*
 * Boot `kernel` with `cpus` vCPUs, wait for the shell's prompt on hvc0,
 * type `input` on the host side. minivmm's own --timeout is the watchdog:
 * a guest that hangs ends it with status 124 and its vCPU state on stderr.
 */
static void boot_and_type(const char *kernel, const char *cpus,
			  const char *input, struct vmrun *r)
{
	const char *argv[] = { minivmm, "--kernel", kernel, "--initrd", initrd,
			       "-m", "512M", "--cpus", cpus, "--timeout",
			       "240", "--cmdline", CMDLINE, NULL };

	assert_int_equal(vmrun_after(argv, input, strlen(input), "/ # ", 300,
				     r),
			 0);
	if (r->timed_out || r->status == 124)
		fail_msg("the guest hung; minivmm said:\n%s", r->err);
}

/*
 * The whole console check on one boot of the stock bzImage: a line typed
 * on the host reaches the shell (which does arithmetic), the kernel's
 * virtio device is a console (id 3), nproc counts every vCPU of the MADT,
 * 1 MiB of random bytes cat to hvc0 arrive byte for byte (output
 * processing off, so the tty passes them unchanged), and `poweroff -f`
 * (ACPI soft-off through the FADT) ends minivmm with status 0.
 */
static void check_console_session(const char *cpus)
{
	static uint8_t want[1 << 20];
	char nproc[32];
	struct vmrun r;

	need_linux(bzimage);
	load_data(want, sizeof(want));
	boot_and_type(bzimage, cpus,
		      "echo answer $((6*7))\n"
		      "cat /sys/bus/virtio/devices/*/device\n"
		      "nproc\n"
		      "stty -opost; cat /data.bin; stty opost\n"
		      "poweroff -f\n",
		      &r);
	if (!strstr(r.out, "answer 42"))
		fail_msg("no answer from the shell:\n%s\n%s", r.out, r.err);
	assert_non_null(strstr(r.out, "\n0x0003"));
	snprintf(nproc, sizeof(nproc), "nproc\r\n%s\r\n", cpus);
	if (!strstr(r.out, nproc))
		fail_msg("nproc is not %s:\n%.2000s\n%s", cpus, r.out, r.err);
	if (!memmem(r.out, r.out_len, want, sizeof(want)))
		fail_msg("the 1 MiB did not arrive intact (%zu bytes of "
			 "output)", r.out_len);
	assert_int_equal(r.status, 0);
	/* A power-off, not the triple fault a reboot is. */
	if (strstr(r.err, "triple fault"))
		fail_msg("poweroff ended as a shutdown:\n%s", r.err);
	vmrun_free(&r);
}

static void test_linux_bzimage_1_vcpu_console_session_and_poweroff(
	void **state)
{
	(void)state;
	check_console_session("1");
}

static void test_linux_bzimage_2_vcpus_console_session_and_poweroff(
	void **state)
{
	(void)state;
	check_console_session("2");
}

/*
 * The uncompressed vmlinux, entered through its PVH note instead of the
 * 64-bit boot protocol; `reboot -f` with reboot=t is a triple fault,
 * which ends minivmm with status 0 as well.
 */
static void test_linux_vmlinux_through_pvh_and_reboot(void **state)
{
	struct vmrun r;

	(void)state;
	need_linux(vmlinux);
	boot_and_type(vmlinux, "1", "echo answer $((6*7))\nreboot -f\n", &r);
	if (!strstr(r.out, "answer 42"))
		fail_msg("no answer from the shell:\n%s\n%s", r.out, r.err);
	assert_int_equal(r.status, 0);
	vmrun_free(&r);
}

/*
 * The snapshot test: a temporary directory for the API socket and the two
 * snapshot files, and the two minivmm processes (the booted one and the
 * restored one), which teardown ends if the test did not.
 */
struct snap_fixture {
	char dir[64];
	char sock[96];
	char state[96];
	char mem[96];
	struct vmrun_session vm[2];
};

static int snap_setup(void **state)
{
	struct snap_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_linux.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->sock, sizeof(f->sock), "%s/api.sock", f->dir);
	snprintf(f->state, sizeof(f->state), "%s/vm.state", f->dir);
	snprintf(f->mem, sizeof(f->mem), "%s/vm.mem", f->dir);
	*state = f;
	return 0;
}

static int snap_teardown(void **state)
{
	struct snap_fixture *f = *state;
	struct vmrun r;
	unsigned i;

	for (i = 0; i < 2; i++)
		if (vmrun_wait(&f->vm[i], SIGKILL, &r) == 0)
			vmrun_free(&r);
	unlink(f->sock);
	unlink(f->state);
	unlink(f->mem);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Seconds since an arbitrary point, for the host's side of the clock. */
static double host_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Wait for `marker` in the output from `from` on. Return: the offset of its
 * first byte; the test fails with the output's end and minivmm's messages
 * when it does not come.
 */
static size_t expect_output(struct vmrun_session *s, size_t from,
			    const char *marker)
{
	size_t at = 0, tail;
	int rc = vmrun_expect(s, from, marker, &at);

	if (rc) {
		tail = s->out.len > 4000 ? s->out.len - 4000 : 0;
		fail_msg("no \"%s\" from the guest (%s); its output ends "
			 "with:\n%s\nminivmm said:\n%s", marker,
			 rc == -EPIPE ? "minivmm ended" : strerror(-rc),
			 s->out.buf ? s->out.buf + tail : "",
			 s->err.buf ? s->err.buf : "");
	}
	return at;
}

/* Type a command line and wait for `answer` in what follows. */
static void ask(struct vmrun_session *s, const char *line, const char *answer)
{
	size_t from = s->out.len;

	assert_int_equal(vmrun_send(s, line), 0);
	expect_output(s, from, answer);
}

/*
 * The guest's /proc/uptime, in seconds. The shell computes both markers,
 * so neither appears in the echo of the typed line.
 */
static double read_uptime(struct vmrun_session *s)
{
	size_t from = s->out.len, end;
	const char *p;
	char *num_end;
	double up;

	assert_int_equal(vmrun_send(s, "echo uptime$((1+1)) $(cut -d' ' -f1 "
				       "/proc/uptime) end$((2+2))\n"),
			 0);
	end = expect_output(s, from, "end4");
	p = memmem(s->out.buf + from, end - from, "uptime2 ", 8);
	assert_non_null(p);
	up = strtod(p + 8, &num_end);
	if (num_end == p + 8)
		fail_msg("no number in /proc/uptime: %.*s", (int)(end - from),
			 s->out.buf + from);
	return up;
}

/* An API request gets no more than this to be answered. */
#define API_TIMEOUT_S 120

/*
 * One request to minivmm's control API on the Unix socket `sock`, in
 * HTTP/1.1 with "Connection: close", so that the answer ends where the
 * server closes. Return: the status code of the answer (0 when there is
 * none); reply holds the whole answer, headers and body, for messages.
 */
static int api_request(const char *sock, const char *method, const char *uri,
		       const char *body, char *reply, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = API_TIMEOUT_S };
	char req[1024];
	size_t got = 0, sent = 0;
	ssize_t n;
	int fd, req_len, status = 0;

	req_len = snprintf(req, sizeof(req),
			   "%s %s HTTP/1.1\r\n"
			   "Host: localhost\r\n"
			   "Accept: application/json\r\n"
			   "Content-Type: application/json\r\n"
			   "Content-Length: %zu\r\n"
			   "Connection: close\r\n"
			   "\r\n%s",
			   method, uri, strlen(body), body);
	assert_true(req_len > 0 && (size_t)req_len < sizeof(req));
	assert_true(strlen(sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	/* A minivmm that never answers fails the test, not hangs it. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(reply, len, "connect: %s", strerror(errno));
		goto out;
	}
	while (sent < (size_t)req_len) {
		n = write(fd, req + sent, (size_t)req_len - sent);
		if (n <= 0) {
			snprintf(reply, len, "write: %s",
				 n < 0 ? strerror(errno) : "nothing taken");
			goto out;
		}
		sent += (size_t)n;
	}
	while (got < len - 1) {
		n = read(fd, reply + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(reply, len, "read: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	reply[got] = '\0';
	if (sscanf(reply, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
out:
	close(fd);
	return status;
}

/*
 * Firecracker's sequence on a stock Linux with 2 vCPUs: boot to the shell,
 * pause (PATCH /vm), take a Full snapshot (PUT /snapshot/create), kill the
 * process; then a new minivmm --restore goes on from there: the shell
 * answers, a process pinned to the second vCPU runs, /proc/uptime went on
 * from where it was (not backwards, and not ahead of the host's time in
 * between: the stored snapshot's idle time does not count), and 1 MiB cat
 * to hvc0 arrives byte for byte before `poweroff -f` ends it with status 0.
 */
static void test_linux_2_vcpus_snapshot_goes_on_in_a_new_process(
	void **state)
{
	static uint8_t want[1 << 20];
	struct snap_fixture *f = *state;
	const char *boot[] = { minivmm, "--kernel", bzimage, "--initrd",
			       initrd, "-m", "512M", "--cpus", "2",
			       "--api-socket", f->sock, "--timeout", "240",
			       "--cmdline", CMDLINE, NULL };
	const char *restore[] = { minivmm, "--restore", f->state, "--mem-file",
				  f->mem, "--timeout", "240", NULL };
	char body[512], reply[2048];
	double up_saved, up_restored, host_before, host_after;
	struct vmrun r;
	int status;

	need_linux(bzimage);
	load_data(want, sizeof(want));

	assert_int_equal(vmrun_start(boot, 300, &f->vm[0]), 0);
	expect_output(&f->vm[0], 0, "/ # ");
	ask(&f->vm[0], "echo answer $((6*7))\n", "answer 42");
	host_before = host_seconds();
	up_saved = read_uptime(&f->vm[0]);

	status = api_request(f->sock, "PATCH", "/vm", "{\"state\":\"Paused\"}",
			     reply, sizeof(reply));
	if (status != 204)
		fail_msg("PATCH /vm (Paused): %d\n%s", status, reply);
	snprintf(body, sizeof(body),
		 "{\"snapshot_type\":\"Full\",\"snapshot_path\":\"%s\","
		 "\"mem_file_path\":\"%s\"}",
		 f->state, f->mem);
	status = api_request(f->sock, "PUT", "/snapshot/create", body, reply,
			     sizeof(reply));
	if (status != 204)
		fail_msg("PUT /snapshot/create: %d\n%s", status, reply);
	assert_int_equal(vmrun_wait(&f->vm[0], SIGKILL, &r), 0);
	assert_int_equal(r.status, 128 + SIGKILL);
	vmrun_free(&r);

	/* The shell reads from where it was: the prompt is not printed
	 * again, and the line typed now is its next command. */
	assert_int_equal(vmrun_start(restore, 300, &f->vm[1]), 0);
	ask(&f->vm[1], "echo answer $((6*7))\n", "answer 42");
	ask(&f->vm[1], "taskset 2 sh -c 'echo cpu1 says $((6*7))'\n",
	    "cpu1 says 42");
	up_restored = read_uptime(&f->vm[1]);
	host_after = host_seconds();
	if (up_restored < up_saved)
		fail_msg("/proc/uptime went backwards: %.2f s before the "
			 "snapshot, %.2f s after the restore",
			 up_saved, up_restored);
	/* Rounding of /proc/uptime (10 ms) and of the reads: 1 s. */
	if (up_restored - up_saved > host_after - host_before + 1.0)
		fail_msg("/proc/uptime jumped: %.2f s before the snapshot, "
			 "%.2f s after the restore, %.2f s later on the host",
			 up_saved, up_restored, host_after - host_before);

	assert_int_equal(vmrun_send(&f->vm[1],
				    "stty -opost; cat /data.bin; stty opost\n"
				    "poweroff -f\n"),
			 0);
	assert_int_equal(vmrun_wait(&f->vm[1], 0, &r), 0);
	if (r.timed_out || r.status == 124)
		fail_msg("the restored guest hung; minivmm said:\n%s", r.err);
	if (!memmem(r.out, r.out_len, want, sizeof(want)))
		fail_msg("the 1 MiB did not arrive intact after the restore "
			 "(%zu bytes of output)\n%s", r.out_len, r.err);
	assert_int_equal(r.status, 0);
	vmrun_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_linux_bzimage_1_vcpu_console_session_and_poweroff),
		cmocka_unit_test(
			test_linux_bzimage_2_vcpus_console_session_and_poweroff),
		cmocka_unit_test(test_linux_vmlinux_through_pvh_and_reboot),
		cmocka_unit_test_setup_teardown(
			test_linux_2_vcpus_snapshot_goes_on_in_a_new_process,
			snap_setup, snap_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
