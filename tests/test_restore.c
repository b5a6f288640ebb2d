/* SPDX-License-Identifier: MIT */
/*
 * Integration tests for snapshots: the own guest under minivmm on the real
 * KVM, paused, snapshotted and killed through the control API (driven with
 * curl, as a user would), and restored in new processes with --restore or
 * PUT /snapshot/load. Every bad input gives one clear error and starts
 * nothing. Without /dev/kvm (or curl) every test is skipped, loudly.
 *
 * Each test works in its own temporary folder, removed by its teardown.
 */
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
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmproc.h"
#include "vmrun.h"

#ifndef VARIANT
#define VARIANT "build"
#endif

static const char *const minivmm = VARIANT "/minivmm";
static const char *const merge_tool = "build/tools/snapshot-merge";
static const char *const guest = "build/guest/guest.elf";

/* Deadlines, generous for the sanitizer builds. */
#define DEADLINE_S VMPROC_DEADLINE_S
#define MAX_ARGS 24

static bool have_kvm;

static int group_setup(void **state)
{
	(void)state;
	have_kvm = vmproc_usable("snapshot");
	return 0;
}

#define NEED_KVM()                  \
	do {                        \
		if (!have_kvm)      \
			skip();     \
	} while (0)

/* A test's folder and the paths in it. */
struct fixture {
	char dir[64];
	char sock[96], state[96], mem[96];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (vmproc_tmpdir(f->dir, sizeof(f->dir), "restore")) {
		free(f);
		return -1;
	}
	snprintf(f->sock, sizeof(f->sock), "%s/api.sock", f->dir);
	snprintf(f->state, sizeof(f->state), "%s/state", f->dir);
	snprintf(f->mem, sizeof(f->mem), "%s/mem", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmproc_rmdir(f->dir);
	free(f);
	return 0;
}

static char *path_in(struct fixture *f, const char *name)
{
	static char buf[4][160];
	static unsigned next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", f->dir, name);
	return p;
}

static void wait_socket(struct fixture *f, struct vmproc *v)
{
	vmproc_wait_socket(v, f->sock);
}

static int api(struct fixture *f, const char *method, const char *path,
	       const char *json, char **body)
{
	return vmproc_api(f->sock, method, path, json, body);
}

static void api_ok(struct fixture *f, const char *method, const char *path,
		   const char *json)
{
	char *body;
	int code = api(f, method, path, json, &body);

	if (code != 204)
		fail_msg("%s %s: %d %s", method, path, code, body);
	free(body);
}

/* A 400 whose fault_message contains `what`. */
static void api_refused(struct fixture *f, const char *method,
			const char *path, const char *json, const char *what)
{
	char *body;
	int code = api(f, method, path, json, &body);

	if (code != 400 || !strstr(body, "\"fault_message\"") ||
	    !strstr(body, what))
		fail_msg("%s %s: %d %s (wanted 400 with \"%s\")", method, path,
			 code, body, what);
	free(body);
}

static void pause_vm(struct fixture *f)
{
	api_ok(f, "PATCH", "/vm", "{\"state\":\"Paused\"}");
}

static void resume_vm(struct fixture *f)
{
	api_ok(f, "PATCH", "/vm", "{\"state\":\"Resumed\"}");
}

static void snapshot(struct fixture *f, const char *type, const char *state,
		     const char *mem)
{
	char json[512];

	snprintf(json, sizeof(json),
		 "{\"snapshot_type\":\"%s\",\"snapshot_path\":\"%s\","
		 "\"mem_file_path\":\"%s\"}",
		 type, state, mem);
	api_ok(f, "PUT", "/snapshot/create", json);
}

static void load_json(char *json, size_t len, const char *state,
		      const char *mem, bool resume)
{
	snprintf(json, len,
		 "{\"snapshot_path\":\"%s\",\"mem_backend\":{\"backend_type\":"
		 "\"File\",\"backend_path\":\"%s\"},\"resume_vm\":%s}",
		 state, mem, resume ? "true" : "false");
}

/* An echo guest with the API; one line echoed. */
static void start_echo(struct fixture *f, struct vmproc *v, const char *extra)
{
	const char *argv[MAX_ARGS] = { minivmm, "--api-socket", f->sock,
				       "-m", "64M", "--cmdline", "prog=echo" };
	unsigned n = 7;

	if (extra)
		argv[n++] = extra;
	argv[n++] = guest;
	vmproc_start(v, argv, NULL);
	wait_socket(f, v);
	vmproc_echo(v, "before the snapshot\n");
}

/* minivmm --restore state --mem-file mem. */
static void start_restored(struct vmproc *v, const char *state, const char *mem)
{
	const char *argv[] = { minivmm, "--restore", state, "--mem-file",
			       mem, NULL };

	vmproc_start(v, argv, NULL);
}

/* Take a Full snapshot of a running echo guest and kill it. */
static void snapshot_echo(struct fixture *f)
{
	struct vmproc v;

	start_echo(f, &v, NULL);
	pause_vm(f);
	snapshot(f, "Full", f->state, f->mem);
	vmproc_kill(&v);
	vmproc_free(&v);
}

static void test_restore_echo_guest_answers_after_restore(void **state)
{
	struct fixture *f = *state;
	struct vmproc v;
	struct stat st;

	NEED_KVM();
	snapshot_echo(f);
	/* VM state is secret: both files are the owner's alone. */
	assert_int_equal(stat(f->state, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(f->mem, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	start_restored(&v, f->state, f->mem);
	vmproc_echo(&v, "after the restore\n");
	vmproc_send(&v, "\x04");
	assert_int_equal(vmproc_wait(&v), 1);
	vmproc_free(&v);
}

static void test_restore_two_clones_run_from_one_snapshot(void **state)
{
	struct fixture *f = *state;
	struct vmproc a, b;

	NEED_KVM();
	snapshot_echo(f);
	start_restored(&a, f->state, f->mem);
	start_restored(&b, f->state, f->mem);
	vmproc_echo(&a, "clone a\n");
	vmproc_echo(&b, "clone b\n");
	vmproc_echo(&a, "a again\n");
	/* Copy-on-write: neither clone wrote to the snapshot. */
	vmproc_send(&a, "\x04");
	vmproc_send(&b, "\x04");
	assert_int_equal(vmproc_wait(&a), 1);
	assert_int_equal(vmproc_wait(&b), 1);
	assert_null(strstr(a.buf, "clone b"));
	vmproc_free(&a);
	vmproc_free(&b);
	start_restored(&a, f->state, f->mem);
	vmproc_echo(&a, "the snapshot is unchanged\n");
	vmproc_free(&a);
}

static void test_restore_load_through_the_api(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { minivmm, "--api-socket", f->sock, NULL };
	char json[512], *body;
	struct vmproc v;

	NEED_KVM();
	snapshot_echo(f);
	unlink(f->sock);
	vmproc_start(&v, argv, NULL);
	wait_socket(f, &v);
	assert_int_equal(api(f, "GET", "/", NULL, &body), 200);
	assert_non_null(strstr(body, "\"state\":\"Not started\""));
	free(body);
	load_json(json, sizeof(json), f->state, f->mem, false);
	api_ok(f, "PUT", "/snapshot/load", json);
	assert_int_equal(api(f, "GET", "/", NULL, &body), 200);
	assert_non_null(strstr(body, "\"state\":\"Paused\""));
	free(body);
	/* Loaded paused: input waits until the VM is resumed. */
	vmproc_send(&v, "loaded\n");
	resume_vm(f);
	vmproc_expect(&v, "loaded\n");
	/* Load twice: refused, and the VM runs on. */
	api_refused(f, "PUT", "/snapshot/load", json, "not started");
	vmproc_echo(&v, "still running\n");
	vmproc_free(&v);
}

/* The stream guest's output, uninterrupted. */
static char *stream_reference(size_t *len)
{
	const char *argv[] = { minivmm, "-m", "64M", "--cmdline", "stream=8",
			       guest, NULL };
	struct vmrun r;
	char *out;

	assert_int_equal(vmrun(argv, NULL, 0, DEADLINE_S, &r), 0);
	assert_int_equal(r.status, 1);
	out = malloc(r.out_len);
	assert_non_null(out);
	memcpy(out, r.out, r.out_len);
	*len = r.out_len;
	vmrun_free(&r);
	return out;
}

/* A stream snapshotted in its middle goes on from it, byte for byte,
 * in a process that restore() starts. */
static void stream_across_a_restore(struct fixture *f,
				    void (*restore)(struct fixture *,
						    struct vmproc *))
{
	const char *argv[] = { minivmm, "--api-socket", f->sock, "-m", "64M",
			       "--cmdline", "stream=8", guest, NULL };
	struct vmproc v, w;
	size_t ref_len, before;
	char *ref;

	ref = stream_reference(&ref_len);
	vmproc_start(&v, argv, NULL);
	wait_socket(f, &v);
	/* Somewhere in the middle of the stream. */
	vmproc_wait_len(&v, 1 << 20);
	pause_vm(f);
	snapshot(f, "Full", f->state, f->mem);
	vmproc_kill(&v);
	before = v.len;
	assert_true(before < ref_len);
	restore(f, &w);
	assert_int_equal(vmproc_wait(&w), 1);
	assert_int_equal(before + w.len, ref_len);
	assert_memory_equal(v.buf, ref, before);
	assert_memory_equal(w.buf, ref + before, w.len);
	vmproc_free(&v);
	vmproc_free(&w);
	free(ref);
}

static void restore_from_file(struct fixture *f, struct vmproc *w)
{
	start_restored(w, f->state, f->mem);
}

static void test_restore_stream_continues_byte_for_byte(void **state)
{
	NEED_KVM();
	stream_across_a_restore(*state, restore_from_file);
}

/* Compare two memory files by content (a hole reads as zeros). */
static void assert_same_content(const char *a, const char *b)
{
	static char x[1 << 16], y[1 << 16];
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
	ssize_t na, nb;

	assert_true(fa >= 0 && fb >= 0);
	do {
		na = read(fa, x, sizeof(x));
		nb = read(fb, y, sizeof(y));
		assert_int_equal(na, nb);
		assert_true(na >= 0);
		assert_memory_equal(x, y, (size_t)na);
	} while (na > 0);
	close(fa);
	close(fb);
}

static void merge(const char *base, const char *diff)
{
	const char *argv[] = { merge_tool, "--base", base, "--diff", diff,
			       NULL };
	struct vmrun r;

	assert_int_equal(vmrun(argv, NULL, 0, DEADLINE_S, &r), 0);
	assert_int_equal(r.status, 0);
	vmrun_free(&r);
}

static void test_restore_base_and_diffs_merge_to_the_full_memory(void **state)
{
	struct fixture *f = *state;
	struct vmproc v, w;

	NEED_KVM();
	start_echo(f, &v, "--dirty-log");
	pause_vm(f);
	snapshot(f, "Full", path_in(f, "s0"), path_in(f, "base"));
	resume_vm(f);
	vmproc_echo(&v, "first diff\n");
	pause_vm(f);
	snapshot(f, "Diff", path_in(f, "s1"), path_in(f, "d1"));
	resume_vm(f);
	vmproc_echo(&v, "second diff\n");
	pause_vm(f);
	snapshot(f, "Diff", path_in(f, "s2"), path_in(f, "d2"));
	/* At the same point, a Full one to compare with. */
	snapshot(f, "Full", path_in(f, "s3"), path_in(f, "full"));
	vmproc_kill(&v);
	vmproc_free(&v);
	merge(path_in(f, "base"), path_in(f, "d1"));
	merge(path_in(f, "base"), path_in(f, "d2"));
	assert_same_content(path_in(f, "base"), path_in(f, "full"));
	/* And the merged memory runs on with the last state. */
	start_restored(&w, path_in(f, "s2"), path_in(f, "base"));
	vmproc_echo(&w, "merged\n");
	vmproc_free(&w);
}

static void test_restore_full_snapshot_disk_use_is_about_touched(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	NEED_KVM();
	snapshot_echo(f);
	assert_int_equal(stat(f->mem, &st), 0);
	assert_int_equal(st.st_size, 64 << 20);
	/* The guest touches a few hundred KiB of its 64 MiB. */
	assert_true((uint64_t)st.st_blocks * 512 < (4u << 20));
}

/* Bad input on the command line: status 2, one line, nothing runs. */
static void expect_cli_error(const char *const argv[], const char *what)
{
	struct vmrun r;

	assert_int_equal(vmrun(argv, "x\n", 2, DEADLINE_S, &r), 0);
	if (r.status != 2 || !strstr(r.err, what) || r.out_len != 0)
		fail_msg("status %d, stderr \"%s\" (wanted 2 and \"%s\")",
			 r.status, r.err, what);
	/* One line. */
	assert_non_null(strchr(r.err, '\n'));
	assert_null(strchr(strchr(r.err, '\n') + 1, '\n'));
	vmrun_free(&r);
}

static void restore_cli_error(const char *state, const char *mem,
			      const char *what)
{
	const char *argv[] = { minivmm, "--restore", state, "--mem-file", mem,
			       NULL };

	expect_cli_error(argv, what);
}

static void copy_file(const char *from, const char *to, off_t len)
{
	static char buf[1 << 16];
	int a = open(from, O_RDONLY), b;
	ssize_t n;

	b = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(a >= 0 && b >= 0);
	while ((n = read(a, buf, sizeof(buf))) > 0)
		assert_int_equal(write(b, buf, (size_t)n), n);
	if (len >= 0)
		assert_int_equal(ftruncate(b, len), 0);
	close(a);
	close(b);
}

static void patch_byte(const char *path, off_t off, uint8_t xor)
{
	int fd = open(path, O_RDWR);
	uint8_t v;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &v, 1, off), 1);
	v ^= xor;
	assert_int_equal(pwrite(fd, &v, 1, off), 1);
	close(fd);
}

/*
 * A guest churning 16 MiB from 0x1000000 of its 64 MiB, with the API,
 * past its first pass.
 */
static void start_churn(struct fixture *f, struct vmproc *v, const char *extra)
{
	static const char cmdline[] = "prog=churn churn=16";
	const char *argv[MAX_ARGS] = { minivmm, "--api-socket", f->sock, "-m",
				       "64M",	"--cmdline",	cmdline };
	unsigned n = 7;

	if (extra)
		argv[n++] = extra;
	argv[n++] = guest;
	vmproc_start(v, argv, NULL);
	wait_socket(f, v);
	vmproc_wait_text(v, 0, "churn: 16 MiB at 0x1000000\n");
	vmproc_wait_text(v, 0, "churn: 1 passes, 0 errors\n");
}

/* Let a churning guest run until its next progress line. */
static void churn_on(struct vmproc *v)
{
	vmproc_wait_text(v, v->len, " errors\n");
}

/* Stop a churning guest with Ctrl-D: its exit status. */
static int churn_stop(struct vmproc *v)
{
	size_t n = strlen(" passes, 0 errors\n");

	vmproc_send(v, "\x04");
	vmproc_wait(v);
	if (v->len < n || memcmp(v->buf + v->len - n, " passes, 0 errors\n", n))
		fail_msg("the churn did not end cleanly:\n%s", v->buf);
	return v->status;
}

/*
 * The churn checks every page it rewrites against what it wrote in the
 * pass before: a dirty page missing from a Diff snapshot would come back
 * with an older pass's pattern and be counted.
 */
static void test_restore_churn_finds_every_page_after_merged_diffs(void **state)
{
	struct fixture *f = *state;
	struct vmproc v, w;

	NEED_KVM();
	start_churn(f, &v, "--dirty-log");
	pause_vm(f);
	snapshot(f, "Full", path_in(f, "s0"), path_in(f, "base"));
	resume_vm(f);
	churn_on(&v);
	pause_vm(f);
	snapshot(f, "Diff", path_in(f, "s1"), path_in(f, "d1"));
	resume_vm(f);
	churn_on(&v);
	pause_vm(f);
	snapshot(f, "Diff", path_in(f, "s2"), path_in(f, "d2"));
	vmproc_kill(&v);
	assert_null(strstr(v.buf, "bad words"));
	vmproc_free(&v);
	merge(path_in(f, "base"), path_in(f, "d1"));
	merge(path_in(f, "base"), path_in(f, "d2"));
	start_restored(&w, path_in(f, "s2"), path_in(f, "base"));
	churn_on(&w);
	assert_int_equal(churn_stop(&w), 1);
	vmproc_free(&w);
}

static uint64_t churn_word(uint64_t pass, uint64_t gpa)
{
	return (gpa * 0x9e3779b97f4a7c15ull) ^ (pass * 0xc2b2ae3d27d4eb4full) ^
	       pass;
}

/* Flip bits of the 64-bit word at off in a file. */
static void patch_word(const char *path, off_t off, uint64_t xor)
{
	int i;

	for (i = 0; i < 8; i++)
		patch_byte(path, off + i, (uint8_t)(xor >> (8 * i)));
}

/*
 * And a word changed behind the guest's back is reported, with the
 * expected pattern. Two pages are changed: the guest may have been
 * stopped in the middle of one of them.
 */
static void test_restore_churn_reports_a_word_changed_in_memory(void **state)
{
	static const char report[] = "churn: pass %llu, page 0x%llx: %llu bad "
				     "words, first at 0x%llx: expected 0x%llx, "
				     "found 0x%llx";
	const uint64_t flip = 0xdeadbeef, gpa[2] = { 0x1005038, 0x1bb8320 };
	unsigned long long pass, page, bad, at, want, got, errors;
	struct fixture *f = *state;
	const char *line;
	struct vmproc v, w;

	NEED_KVM();
	start_churn(f, &v, NULL);
	pause_vm(f);
	snapshot(f, "Full", f->state, f->mem);
	vmproc_kill(&v);
	vmproc_free(&v);
	/* The memory file holds guest-physical memory from 0. */
	patch_word(f->mem, (off_t)gpa[0], flip);
	patch_word(f->mem, (off_t)gpa[1], flip);
	start_restored(&w, f->state, f->mem);
	vmproc_wait_text(&w, 0, "bad words");
	churn_on(&w);
	vmproc_send(&w, "\x04");
	/* Exit code 1: status 3. */
	assert_int_equal(vmproc_wait(&w), 3);
	line = strstr(w.buf, "churn: pass ");
	assert_non_null(line);
	assert_int_equal(
		sscanf(line, report, &pass, &page, &bad, &at, &want, &got), 6);
	assert_true(at == gpa[0] || at == gpa[1]);
	assert_int_equal(page, at & ~0xfffull);
	assert_int_equal(bad, 1);
	assert_true(pass >= 1);
	assert_int_equal(want, churn_word(pass - 1, at));
	assert_int_equal(want ^ got, flip);
	line = strrchr(w.buf, ',');
	assert_non_null(line);
	assert_int_equal(sscanf(line, ", %llu errors", &errors), 1);
	assert_true(errors == 1 || errors == 2);
	vmproc_free(&w);
}

static void test_restore_cli_refuses_bad_state_files(void **state)
{
	struct fixture *f = *state;
	char *bad = path_in(f, "bad");
	struct stat st;

	NEED_KVM();
	snapshot_echo(f);
	assert_int_equal(stat(f->state, &st), 0);
	restore_cli_error(path_in(f, "missing"), f->mem, "No such file");
	copy_file(f->state, bad, st.st_size / 2);
	restore_cli_error(bad, f->mem, "truncated");
	copy_file(f->state, bad, -1);
	patch_byte(bad, st.st_size / 2, 0x40);
	restore_cli_error(bad, f->mem, "checksum");
	copy_file(f->state, bad, -1);
	patch_byte(bad, 0, 0x20);
	restore_cli_error(bad, f->mem, "not a minivmm snapshot");
	copy_file(f->state, bad, -1);
	patch_byte(bad, 8, 0x02); /* the format version */
	restore_cli_error(bad, f->mem, "version");
}

static void test_restore_cli_refuses_a_mismatched_memory_or_machine(void **state)
{
	struct fixture *f = *state;
	char *small = path_in(f, "small");
	const char *more_mem[] = { minivmm, "--restore", f->state,
				   "--mem-file", f->mem, "-m", "128M", NULL };
	const char *more_cpus[] = { minivmm, "--restore", f->state,
				    "--mem-file", f->mem, "--cpus", "2", NULL };
	const char *no_mem[] = { minivmm, "--restore", f->state, NULL };
	const char *with_image[] = { minivmm, "--restore", f->state,
				     "--mem-file", f->mem, guest, NULL };

	NEED_KVM();
	snapshot_echo(f);
	copy_file(f->mem, small, 32 << 20);
	restore_cli_error(f->state, small, "truncated or the wrong file");
	restore_cli_error(f->state, path_in(f, "none"), "No such file");
	expect_cli_error(more_mem, "not 128 MiB");
	expect_cli_error(more_cpus, "not 2");
	expect_cli_error(no_mem, "--restore needs --mem-file");
	expect_cli_error(with_image, "give no IMAGE");
}

static void test_restore_api_refuses_bad_requests(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { minivmm, "--api-socket", f->sock, NULL };
	char json[512], *bad = path_in(f, "bad");
	struct vmproc v;
	struct stat st;

	NEED_KVM();
	snapshot_echo(f);
	unlink(f->sock);
	assert_int_equal(stat(f->state, &st), 0);
	vmproc_start(&v, argv, NULL);
	wait_socket(f, &v);
	/* Nothing to pause or snapshot before a load. */
	api_refused(f, "PATCH", "/vm", "{\"state\":\"Paused\"}",
		    "not started");
	load_json(json, sizeof(json), path_in(f, "missing"), f->mem, true);
	api_refused(f, "PUT", "/snapshot/load", json, "No such file");
	copy_file(f->state, bad, st.st_size - 3);
	load_json(json, sizeof(json), bad, f->mem, true);
	api_refused(f, "PUT", "/snapshot/load", json, "truncated");
	copy_file(f->state, bad, -1);
	patch_byte(bad, st.st_size / 2, 1);
	api_refused(f, "PUT", "/snapshot/load", json, "checksum");
	copy_file(f->state, bad, -1);
	patch_byte(bad, 0, 0x20);
	api_refused(f, "PUT", "/snapshot/load", json,
		    "not a minivmm snapshot");
	copy_file(f->state, bad, -1);
	patch_byte(bad, 8, 0x02);
	api_refused(f, "PUT", "/snapshot/load", json, "version");
	copy_file(f->mem, path_in(f, "small"), 1 << 20);
	load_json(json, sizeof(json), f->state, path_in(f, "small"), true);
	api_refused(f, "PUT", "/snapshot/load", json,
		    "truncated or the wrong file");
	/* After every refusal a good load still works. */
	load_json(json, sizeof(json), f->state, f->mem, true);
	api_ok(f, "PUT", "/snapshot/load", json);
	vmproc_echo(&v, "loaded after refusals\n");
	/* Running: no snapshot without a pause, no second load. */
	snprintf(json, sizeof(json),
		 "{\"snapshot_type\":\"Full\",\"snapshot_path\":\"%s\","
		 "\"mem_file_path\":\"%s\"}",
		 path_in(f, "s2"), path_in(f, "m2"));
	api_refused(f, "PUT", "/snapshot/create", json, "must be paused");
	assert_int_equal(access(path_in(f, "s2"), F_OK), -1);
	assert_int_equal(access(path_in(f, "m2"), F_OK), -1);
	load_json(json, sizeof(json), f->state, f->mem, true);
	api_refused(f, "PUT", "/snapshot/load", json, "not started");
	vmproc_echo(&v, "unaffected\n");
	vmproc_free(&v);
}

static void test_restore_api_refuses_another_machine_shape(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { minivmm, "--api-socket", f->sock, "-m", "128M",
			       "--cpus", "2", NULL };
	const char *cpus[] = { minivmm, "--api-socket", f->sock, "--cpus",
			       "2", NULL };
	char json[512];
	struct vmproc v;

	NEED_KVM();
	snapshot_echo(f);
	unlink(f->sock);
	vmproc_start(&v, argv, NULL);
	wait_socket(f, &v);
	load_json(json, sizeof(json), f->state, f->mem, true);
	api_refused(f, "PUT", "/snapshot/load", json, "not 128 MiB");
	vmproc_free(&v);
	unlink(f->sock);
	vmproc_start(&v, cpus, NULL);
	wait_socket(f, &v);
	api_refused(f, "PUT", "/snapshot/load", json, "not 2");
	vmproc_free(&v);
}

static void test_restore_api_refusals_on_a_booted_vm(void **state)
{
	struct fixture *f = *state;
	char json[512];
	struct vmproc v;

	NEED_KVM();
	start_echo(f, &v, NULL);
	load_json(json, sizeof(json), f->state, f->mem, true);
	api_refused(f, "PUT", "/snapshot/load", json, "not started");
	pause_vm(f);
	/* Diff without dirty page tracking. */
	snprintf(json, sizeof(json),
		 "{\"snapshot_type\":\"Diff\",\"snapshot_path\":\"%s\","
		 "\"mem_file_path\":\"%s\"}",
		 f->state, f->mem);
	api_refused(f, "PUT", "/snapshot/create", json, "dirty page");
	/* A folder that does not exist: nothing under either name. */
	snprintf(json, sizeof(json),
		 "{\"snapshot_type\":\"Full\",\"snapshot_path\":\"%s/no/s\","
		 "\"mem_file_path\":\"%s\"}",
		 f->dir, f->mem);
	api_refused(f, "PUT", "/snapshot/create", json, "No such file");
	assert_int_equal(access(f->mem, F_OK), -1);
	resume_vm(f);
	vmproc_echo(&v, "still running\n");
	vmproc_free(&v);
}

/* Lazy restore: guest memory served by build/tools/uffd-handler. */

static const char *const handler = "build/tools/uffd-handler";

/* The handler on f's memory file, listening at f->dir/uffd.sock; ready
 * once it says so. prefetch: its working-set file, or NULL. */
static void start_handler(struct fixture *f, struct vmproc *h,
			  const char *prefetch)
{
	const char *argv[] = { handler, "--stats", "--prefetch", prefetch,
			       path_in(f, "uffd.sock"), f->mem, NULL };

	if (!prefetch) {
		argv[2] = argv[4];
		argv[3] = argv[5];
		argv[4] = NULL;
	}
	vmproc_start(h, argv, NULL);
	vmproc_expect(h, "ready\n");
}

static void start_lazy(struct fixture *f, struct vmproc *v,
		       const char *const env[])
{
	const char *argv[] = { minivmm, "--restore", f->state, "--mem-uffd",
			       path_in(f, "uffd.sock"), NULL };

	vmproc_start(v, argv, env);
}

/* The handler's fault count from its --stats line, once it ended. */
static long handler_faults(struct vmproc *h)
{
	const char *p;

	assert_int_equal(vmproc_wait(h), 0);
	p = strstr(h->buf, "uffd-handler: ");
	if (!p)
		fail_msg("no statistics from the handler: %s", h->buf);
	return strtol(p + strlen("uffd-handler: "), NULL, 10);
}

static void test_restore_lazy_echo_through_the_handler(void **state)
{
	struct fixture *f = *state;
	struct vmproc h, v;

	NEED_KVM();
	snapshot_echo(f);
	start_handler(f, &h, NULL);
	start_lazy(f, &v, NULL);
	vmproc_echo(&v, "served on demand\n");
	vmproc_send(&v, "\x04");
	assert_int_equal(vmproc_wait(&v), 1);
	/* The guest's pages came from the handler. */
	assert_true(handler_faults(&h) > 0);
	vmproc_free(&v);
	vmproc_free(&h);
}

static void test_restore_lazy_load_through_the_api(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { minivmm, "--api-socket", f->sock, NULL };
	struct vmproc h, v;
	char json[512];

	NEED_KVM();
	snapshot_echo(f);
	unlink(f->sock);
	start_handler(f, &h, NULL);
	vmproc_start(&v, argv, NULL);
	wait_socket(f, &v);
	snprintf(json, sizeof(json),
		 "{\"snapshot_path\":\"%s\",\"mem_backend\":{\"backend_type\":"
		 "\"Uffd\",\"backend_path\":\"%s\"},\"resume_vm\":true}",
		 f->state, path_in(f, "uffd.sock"));
	api_ok(f, "PUT", "/snapshot/load", json);
	vmproc_echo(&v, "loaded lazily\n");
	vmproc_free(&v);
	assert_true(handler_faults(&h) > 0);
	vmproc_free(&h);
}

static struct vmproc stream_handler;

static void restore_lazily(struct fixture *f, struct vmproc *w)
{
	start_handler(f, &stream_handler, NULL);
	start_lazy(f, w, NULL);
}

static void test_restore_lazy_stream_continues_byte_for_byte(void **state)
{
	NEED_KVM();
	stream_across_a_restore(*state, restore_lazily);
	vmproc_free(&stream_handler);
}

static void test_restore_lazy_prefetch_takes_far_fewer_faults(void **state)
{
	struct fixture *f = *state;
	char *ws = path_in(f, "ws");
	struct vmproc h, v;
	long first, second;
	unsigned run;

	NEED_KVM();
	snapshot_echo(f);
	for (run = 0; run < 2; run++) {
		start_handler(f, &h, ws);
		start_lazy(f, &v, NULL);
		vmproc_echo(&v, "the same work twice\n");
		vmproc_send(&v, "\x04");
		assert_int_equal(vmproc_wait(&v), 1);
		if (run == 0)
			first = handler_faults(&h);
		else
			second = handler_faults(&h);
		vmproc_free(&v);
		vmproc_free(&h);
	}
	/* The second run's pages were placed before it asked. */
	if (!(first > 4 && second * 4 < first))
		fail_msg("faults: %ld, then %ld with prefetch", first, second);
}

/* minivmm stopped with status 6 and one line saying why. */
static void assert_handler_failure(struct vmproc *v, const char *what)
{
	char *err;

	assert_int_equal(vmproc_wait(v), 6);
	err = vmproc_stderr(v);
	if (!strstr(err, what) || strchr(err, '\n') != strrchr(err, '\n'))
		fail_msg("stderr \"%s\" (wanted one line with \"%s\")", err,
			 what);
	free(err);
}

static void test_restore_lazy_handler_killed_stops_the_vmm(void **state)
{
	struct fixture *f = *state;
	struct vmproc h, v;

	NEED_KVM();
	snapshot_echo(f);
	start_handler(f, &h, NULL);
	start_lazy(f, &v, NULL);
	vmproc_echo(&v, "before the handler dies\n");
	vmproc_kill(&h);
	assert_handler_failure(&v, "closed its connection");
	vmproc_free(&v);
	vmproc_free(&h);
}

/* A page-fault handler of the test's: takes the connection and the
 * userfaultfd, then sends garbage, or nothing and serves nothing. */
struct fake_handler {
	int lfd, fd, uffd;
	bool talk;
	pthread_t thread;
};

static void *fake_handler(void *arg)
{
	struct fake_handler *k = arg;
	char control[CMSG_SPACE(sizeof(int))], data[32768];
	struct iovec iov = { data, sizeof(data) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control,
			      .msg_controllen = sizeof(control) };
	struct cmsghdr *c;

	k->fd = accept(k->lfd, NULL, NULL);
	if (k->fd < 0 || recvmsg(k->fd, &msg, 0) <= 0)
		return NULL;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(&k->uffd, CMSG_DATA(c), sizeof(int));
	if (k->talk && write(k->fd, "garbage", 7) != 7)
		k->fd = -1;
	return NULL;
}

static void fake_handler_start(struct fixture *f, struct fake_handler *k,
			       bool talk)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	k->fd = k->uffd = -1;
	k->talk = talk;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s",
		 path_in(f, "uffd.sock"));
	k->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(k->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(k->lfd, 1), 0);
	assert_int_equal(pthread_create(&k->thread, NULL, fake_handler, k),
			 0);
}

static void fake_handler_stop(struct fake_handler *k)
{
	pthread_join(k->thread, NULL);
	if (k->fd >= 0)
		close(k->fd);
	if (k->uffd >= 0)
		close(k->uffd);
	close(k->lfd);
}

static void test_restore_lazy_handler_that_talks_stops_the_vmm(void **state)
{
	struct fixture *f = *state;
	struct fake_handler k;
	struct vmproc v;

	NEED_KVM();
	snapshot_echo(f);
	fake_handler_start(f, &k, true);
	start_lazy(f, &v, NULL);
	assert_handler_failure(&v, "sent data");
	fake_handler_stop(&k);
	vmproc_free(&v);
}

static void test_restore_lazy_handler_that_never_answers_stops_the_vmm(void **state)
{
	struct fixture *f = *state;
	const char *env[] = { "MINIVMM_UFFD_DEADLINE_MS=300", NULL };
	struct fake_handler k;
	struct vmproc v;

	NEED_KVM();
	snapshot_echo(f);
	fake_handler_start(f, &k, false);
	start_lazy(f, &v, env);
	/* Its first fault is never read: the deadline ends it. */
	assert_handler_failure(&v, "unanswered past its deadline");
	fake_handler_stop(&k);
	vmproc_free(&v);
}

static void test_restore_lazy_refuses_a_missing_handler(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { minivmm, "--restore", f->state, "--mem-uffd",
			       path_in(f, "nobody.sock"), NULL };

	NEED_KVM();
	snapshot_echo(f);
	expect_cli_error(argv, "page-fault handler");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_restore_echo_guest_answers_after_restore),
		T(test_restore_two_clones_run_from_one_snapshot),
		T(test_restore_load_through_the_api),
		T(test_restore_stream_continues_byte_for_byte),
		T(test_restore_base_and_diffs_merge_to_the_full_memory),
		T(test_restore_churn_finds_every_page_after_merged_diffs),
		T(test_restore_churn_reports_a_word_changed_in_memory),
		T(test_restore_full_snapshot_disk_use_is_about_touched),
		T(test_restore_cli_refuses_bad_state_files),
		T(test_restore_cli_refuses_a_mismatched_memory_or_machine),
		T(test_restore_api_refuses_bad_requests),
		T(test_restore_api_refuses_another_machine_shape),
		T(test_restore_api_refusals_on_a_booted_vm),
		T(test_restore_lazy_echo_through_the_handler),
		T(test_restore_lazy_load_through_the_api),
		T(test_restore_lazy_stream_continues_byte_for_byte),
		T(test_restore_lazy_prefetch_takes_far_fewer_faults),
		T(test_restore_lazy_handler_killed_stops_the_vmm),
		T(test_restore_lazy_handler_that_talks_stops_the_vmm),
		T(test_restore_lazy_handler_that_never_answers_stops_the_vmm),
		T(test_restore_lazy_refuses_a_missing_handler),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
