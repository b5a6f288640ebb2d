/* SPDX-License-Identifier: MIT */
/*
 * A stock Debian kernel under minivmm: it finds the virtio-mmio console
 * through our ACPI tables, loads Debian's own virtio_mmio and
 * virtio_console drivers from the initramfs (tools/mkinitramfs), and runs
 * a shell on hvc0, which answers commands typed on the host side. A
 * snapshot of that shell, taken through the control API, goes on in a new
 * minivmm process, and so does the shell migrated live, through the API,
 * while a loop in it keeps writing memory.
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
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
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
 * The snapshot and migration tests: a temporary directory for the API
 * socket, the two snapshot files and the socket the destination of a
 * migration listens on, and the two minivmm processes (the booted one and
 * the restored or migrated one), which teardown ends if the test did not.
 */
struct pair_fixture {
	char dir[64];
	char sock[96];
	char state[96];
	char mem[96];
	char mig[96];
	char url[128];		/* unix:mig */
	struct vmrun_session vm[2];
};

static int pair_setup(void **state)
{
	struct pair_fixture *f = calloc(1, sizeof(*f));

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
	snprintf(f->mig, sizeof(f->mig), "%s/mig.sock", f->dir);
	snprintf(f->url, sizeof(f->url), "unix:%s", f->mig);
	*state = f;
	return 0;
}

static int pair_teardown(void **state)
{
	struct pair_fixture *f = *state;
	struct vmrun r;
	unsigned i;

	for (i = 0; i < 2; i++)
		if (vmrun_wait(&f->vm[i], SIGKILL, &r) == 0)
			vmrun_free(&r);
	unlink(f->sock);
	unlink(f->state);
	unlink(f->mem);
	unlink(f->mig);
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
 * What the shell command `cmd` prints, as one word (at most len - 1
 * bytes) in value. The shell computes both markers around it, so neither
 * appears in the echo of the typed line.
 */
static void shell_value(struct vmrun_session *s, const char *cmd, char *value,
			size_t len)
{
	size_t from = s->out.len, end;
	char line[256];
	const char *p;

	snprintf(line, sizeof(line), "echo value$((1+1)) $(%s) end$((2+2))\n",
		 cmd);
	assert_int_equal(vmrun_send(s, line), 0);
	end = expect_output(s, from, "end4");
	p = memmem(s->out.buf + from, end - from, "value2 ", 7);
	if (!p || sscanf(p + 7, "%255s", line) != 1 || strlen(line) >= len)
		fail_msg("no answer to %s: %.*s", cmd, (int)(end - from),
			 s->out.buf + from);
	memcpy(value, line, strlen(line) + 1);
}

/* The guest's /proc/uptime, in seconds. */
static double read_uptime(struct vmrun_session *s)
{
	char value[64], *num_end;
	double up;

	shell_value(s, "cut -d' ' -f1 /proc/uptime", value, sizeof(value));
	up = strtod(value, &num_end);
	if (num_end == value)
		fail_msg("no number in /proc/uptime: %s", value);
	return up;
}

/* An API request gets no more than this to be answered. */
#define API_TIMEOUT_S 120

/*
 * Send one request to minivmm's control API on the Unix socket `sock`, in
 * HTTP/1.1 with "Connection: close", so that the answer ends where the
 * server closes. Return: the connection, for api_answer(); -1 when the
 * request could not be sent, with the reason in reply (len bytes).
 */
static int api_send(const char *sock, const char *method, const char *uri,
		    const char *body, char *reply, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = API_TIMEOUT_S };
	char req[1024];
	size_t sent = 0;
	ssize_t n;
	int fd, req_len;

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
		goto err_close;
	}
	while (sent < (size_t)req_len) {
		n = write(fd, req + sent, (size_t)req_len - sent);
		if (n <= 0) {
			snprintf(reply, len, "write: %s",
				 n < 0 ? strerror(errno) : "nothing taken");
			goto err_close;
		}
		sent += (size_t)n;
	}
	return fd;

err_close:
	close(fd);
	return -1;
}

/*
 * Read the answer to the request sent on fd, up to where the server
 * closes, and close fd. Return: its status code (0 when there is none);
 * reply holds the whole answer, headers and body, for messages.
 */
static int api_answer(int fd, char *reply, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int status = 0;

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

/* One request and its answer (see api_send() and api_answer()). */
static int api_request(const char *sock, const char *method, const char *uri,
		       const char *body, char *reply, size_t len)
{
	int fd = api_send(sock, method, uri, body, reply, len);

	return fd < 0 ? 0 : api_answer(fd, reply, len);
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
	struct pair_fixture *f = *state;
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

/*
 * Whether a Unix socket listens at path: /proc/net/unix flags one that
 * listen() was called on with __SO_ACCEPTCON (0x10000), which the socket
 * file, there from bind() on, does not tell yet.
 */
static bool unix_listening(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "r");
	char line[512], sock_path[256];
	unsigned long flags;
	bool found = false;

	if (!f)
		return false;
	/* The heading has no number in the flags' column: skipped. */
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %255s",
			       &flags, sock_path) == 2 &&
			(flags & 0x10000) && !strcmp(sock_path, path);
	fclose(f);
	return found;
}

/* Wait until minivmm --incoming (s) listens at path. */
static void wait_listening(struct vmrun_session *s, const char *path)
{
	int rc;

	while (!unix_listening(path)) {
		rc = vmrun_poll(s, 10);
		if (rc)
			fail_msg("nothing listens at %s (%s); it said:\n%s",
				 path,
				 rc == -EPIPE ? "minivmm ended" : strerror(-rc),
				 s->err.buf ? s->err.buf : "");
	}
}

/* The body of an HTTP answer, or "" without one. */
static const char *http_body(const char *reply)
{
	const char *p = strstr(reply, "\r\n\r\n");

	return p ? p + 4 : "";
}

/*
 * A line a shell loop prints when the file it has just written does not
 * read back the same: memory written on the source while it was being
 * copied, and read on the destination, would show it.
 */
#define CHURN_DIFFERS "churn differs 42"

/*
 * Live migration of a stock Linux on 2 vCPUs between two minivmm
 * processes. The source boots to the shell, which writes a 4.4 MiB file to
 * a tmpfs (/data.bin's random bytes and seq's numbers, different in every
 * page) and takes its MD5, then starts a background loop that copies the
 * file to another one again and again, checks the copy with cmp and counts
 * its passes, so guest memory keeps changing while it is sent. A new
 * minivmm --incoming waits on a Unix socket; PUT /migrate on the source's
 * API is answered 204, and the source ends with status 0. On the
 * destination the shell answers the next line typed, the file has the
 * same MD5, a process pinned to the second vCPU runs, the loop goes on
 * (its pass count grows) and never saw a copy differ, /proc/uptime went
 * on from where it was, and `poweroff -f` ends it with status 0. The
 * source's console shows the guest up to the migration, the destination's
 * after it.
 */
static void test_linux_2_vcpus_live_migration_goes_on_in_a_new_process(
	void **state)
{
	struct pair_fixture *f = *state;
	const char *boot[] = { minivmm, "--kernel", bzimage, "--initrd",
			       initrd, "-m", "512M", "--cpus", "2",
			       "--api-socket", f->sock, "--timeout", "240",
			       "--cmdline", CMDLINE, NULL };
	const char *incoming[] = { minivmm, "--incoming", f->url, "-m", "512M",
				   "--cpus", "2", "--timeout", "240", NULL };
	char body[256], reply[2048], answer[1024], progress[1024] = "";
	char sum_before[64], sum_after[64], passes[32], passes_after[32];
	double up_before, up_after, host_before, host_after;
	double t0, t_put, t_answer;
	struct pollfd pfd;
	struct vmrun r;
	int fd, status;

	need_linux(bzimage);

	assert_int_equal(vmrun_start(boot, 300, &f->vm[0]), 0);
	expect_output(&f->vm[0], 0, "/ # ");
	ask(&f->vm[0],
	    "mkdir -p /tmp && mount -t tmpfs tmpfs /tmp && "
	    "{ cat /data.bin; seq 500000; } >/tmp/f && echo file $((6*7))\n",
	    "file 42");
	shell_value(&f->vm[0], "md5sum </tmp/f", sum_before,
		    sizeof(sum_before));
	assert_int_equal(vmrun_send(&f->vm[0],
				    "n=0; while :; do cat /tmp/f >/tmp/churn; "
				    "cmp -s /tmp/f /tmp/churn || "
				    "echo churn differs $((6*7)); "
				    "n=$((n+1)); echo $n >/tmp/n.new; "
				    "mv /tmp/n.new /tmp/n; done &\n"),
			 0);
	/* The loop has gone round once: it runs while RAM is sent. */
	shell_value(&f->vm[0], "until [ -e /tmp/n ]; do :; done; cat /tmp/n",
		    passes, sizeof(passes));
	host_before = host_seconds();
	up_before = read_uptime(&f->vm[0]);

	assert_int_equal(vmrun_start(incoming, 300, &f->vm[1]), 0);
	wait_listening(&f->vm[1], f->mig);
	snprintf(body, sizeof(body), "{\"destination_url\":\"%s\"}", f->url);
	t0 = host_seconds();
	fd = api_send(f->sock, "PUT", "/migrate", body, reply, sizeof(reply));
	if (fd < 0)
		fail_msg("PUT /migrate: %s", reply);
	/*
	 * Until the PUT is answered, GET /migrate every 100 ms, for the
	 * report below; a GET that fails means that the source is ending.
	 */
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (poll(&pfd, 1, 100) == 0 &&
	       api_request(f->sock, "GET", "/migrate", "", answer,
			   sizeof(answer)) == 200)
		snprintf(progress, sizeof(progress), "%s", http_body(answer));
	status = api_answer(fd, reply, sizeof(reply));
	t_put = host_seconds() - t0;
	/* The totals, if the source still answers. */
	if (status == 204 && api_request(f->sock, "GET", "/migrate", "", answer,
					 sizeof(answer)) == 200)
		snprintf(progress, sizeof(progress), "%s", http_body(answer));
	if (status != 204) {
		struct vmrun src, dst;

		/* Both sides' messages: the source runs on, the destination
		 * has ended or still waits. */
		assert_int_equal(vmrun_wait(&f->vm[0], SIGTERM, &src), 0);
		assert_int_equal(vmrun_wait(&f->vm[1], SIGTERM, &dst), 0);
		fail_msg("PUT /migrate: %d\n%s\nthe source said:\n%s\nthe "
			 "destination said:\n%s", status, reply, src.err,
			 dst.err);
	}

	/* The source is done, and its console shows the guest up to here. */
	assert_int_equal(vmrun_wait(&f->vm[0], 0, &r), 0);
	if (r.timed_out || r.status != 0)
		fail_msg("the source ended with status %d%s:\n%s", r.status,
			 r.timed_out ? " (killed at the deadline)" : "", r.err);
	if (strstr(r.out, CHURN_DIFFERS))
		fail_msg("a copy differed on the source:\n%s", r.out);
	vmrun_free(&r);

	/* The destination's console goes on from there. */
	ask(&f->vm[1], "echo answer $((6*7))\n", "answer 42");
	t_answer = host_seconds() - t0 - t_put;
	shell_value(&f->vm[1], "md5sum </tmp/f", sum_after, sizeof(sum_after));
	if (strcmp(sum_before, sum_after))
		fail_msg("/tmp/f changed in the migration: MD5 %s before, %s "
			 "after", sum_before, sum_after);
	ask(&f->vm[1], "taskset 2 sh -c 'echo cpu1 says $((6*7))'\n",
	    "cpu1 says 42");
	shell_value(&f->vm[1],
		    "p=$(cat /tmp/n); until [ $(cat /tmp/n) -gt $p ]; do :; "
		    "done; cat /tmp/n",
		    passes_after, sizeof(passes_after));
	up_after = read_uptime(&f->vm[1]);
	host_after = host_seconds();
	if (up_after < up_before)
		fail_msg("/proc/uptime went backwards: %.2f s before the "
			 "migration, %.2f s after it", up_before, up_after);
	/* Rounding of /proc/uptime (10 ms) and of the reads: 1 s. */
	if (up_after - up_before > host_after - host_before + 1.0)
		fail_msg("/proc/uptime jumped: %.2f s before the migration, "
			 "%.2f s after it, %.2f s later on the host",
			 up_before, up_after, host_after - host_before);

	assert_int_equal(vmrun_send(&f->vm[1], "poweroff -f\n"), 0);
	assert_int_equal(vmrun_wait(&f->vm[1], 0, &r), 0);
	if (r.timed_out || r.status == 124)
		fail_msg("the migrated guest hung; minivmm said:\n%s", r.err);
	if (strstr(r.out, CHURN_DIFFERS))
		fail_msg("a copy differed on the destination:\n%s", r.out);
	assert_int_equal(r.status, 0);
	vmrun_free(&r);
	print_message("migration: PUT /migrate answered after %.2f s, the "
		      "shell's first answer on the destination %.2f s after "
		      "it; passes of the loop: %s before, %s after; the last "
		      "progress seen: %s\n",
		      t_put, t_answer, passes, passes_after, progress);
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
			pair_setup, pair_teardown),
		cmocka_unit_test_setup_teardown(
			test_linux_2_vcpus_live_migration_goes_on_in_a_new_process,
			pair_setup, pair_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
