/* SPDX-License-Identifier: MIT */
/*
 * Integration tests for live migration: the own guest moved between two
 * minivmm processes on the real KVM, over a Unix socket and over TCP on
 * 127.0.0.1, driven through the source's API with curl; and every fault:
 * a destination that dies or refuses, a corrupted stream, a source that
 * dies, a second migration while one runs. After each, the guest runs on
 * exactly one side. Without /dev/kvm (or curl) every test is skipped.
 *
 * Faults are injected with the VMM's testing aids (migrate.c):
 * MINIVMM_MIGRATION_FAIL_AFTER, MINIVMM_MIGRATION_CORRUPT,
 * MINIVMM_MIGRATION_STRAY, MINIVMM_MIGRATION_TWICE,
 * MINIVMM_MIGRATION_NO_UFFD, MINIVMM_MIGRATION_NO_RING,
 * MINIVMM_MIGRATION_RING_UNSEALED and MINIVMM_MIGRATION_DUMP.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmproc.h"

#ifndef VARIANT
#define VARIANT "build"
#endif

static const char *const minivmm = VARIANT "/minivmm";
static const char *const guest = "build/guest/guest.elf";

static bool have_kvm;

static int group_setup(void **state)
{
	(void)state;
	have_kvm = vmproc_usable("migration");
	return 0;
}

#define NEED_KVM()                  \
	do {                        \
		if (!have_kvm)      \
			skip();     \
	} while (0)

struct fixture {
	char dir[64];
	char api[96];		/* the source's API socket */
	char mig[96];		/* where the destination listens */
	char url[128];		/* unix:mig */
	char env_dump[128];	/* MINIVMM_MIGRATION_DUMP=dir */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (vmproc_tmpdir(f->dir, sizeof(f->dir), "migrate")) {
		free(f);
		return -1;
	}
	snprintf(f->api, sizeof(f->api), "%s/api.sock", f->dir);
	snprintf(f->mig, sizeof(f->mig), "%s/mig.sock", f->dir);
	snprintf(f->url, sizeof(f->url), "unix:%s", f->mig);
	snprintf(f->env_dump, sizeof(f->env_dump),
		 "MINIVMM_MIGRATION_DUMP=%s", f->dir);
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

/* The source: an echo guest with the API, one line echoed. */
static void start_source(struct fixture *f, struct vmproc *v,
			 const char *const env[])
{
	const char *argv[] = { minivmm, "--api-socket", f->api, "-m", "64M",
			       "--cmdline", "prog=echo", guest, NULL };

	vmproc_start(v, argv, env);
	vmproc_wait_socket(v, f->api);
	vmproc_echo(v, "on the source\n");
}

/* The destination, waiting at url; extra options before it. */
static void start_dest(struct vmproc *v, const char *url, const char *opt1,
		       const char *opt2, const char *const env[])
{
	const char *argv[] = { minivmm, "--incoming", url, opt1, opt2, NULL };

	vmproc_start(v, argv, env);
}

static int migrate(struct fixture *f, const char *url, char **body)
{
	char json[256];

	snprintf(json, sizeof(json), "{\"destination_url\":\"%s\"}", url);
	return vmproc_api(f->api, "PUT", "/migrate", json, body);
}

/* GET /migrate's body (to free). */
static char *progress(struct fixture *f)
{
	char *body;

	assert_int_equal(vmproc_api(f->api, "GET", "/migrate", NULL, &body),
			 200);
	return body;
}

static void assert_contains(const char *s, const char *what)
{
	if (!strstr(s, what))
		fail_msg("\"%s\" lacks \"%s\"", s, what);
}

/* The migration is refused with a 400 naming `what`; the source runs. */
static void assert_refused(struct fixture *f, struct vmproc *src,
			   const char *url, const char *what)
{
	char *body, *p;

	assert_int_equal(migrate(f, url, &body), 400);
	assert_contains(body, what);
	free(body);
	p = progress(f);
	assert_contains(p, "\"state\":\"failed\"");
	free(p);
	/* On exactly one side: here. */
	vmproc_echo(src, "still on the source\n");
}

static void test_migrate_echo_guest_over_a_unix_socket(void **state)
{
	struct fixture *f = *state;
	struct vmproc src, dst;
	char *body;

	NEED_KVM();
	start_source(f, &src, NULL);
	start_dest(&dst, f->url, NULL, NULL, NULL);
	vmproc_wait_socket(&dst, f->mig);
	assert_int_equal(migrate(f, f->url, &body), 204);
	free(body);
	/* The source is done; the guest answers on the destination. */
	assert_int_equal(vmproc_wait(&src), 0);
	vmproc_echo(&dst, "on the destination\n");
	vmproc_send(&dst, "\x04");
	assert_int_equal(vmproc_wait(&dst), 1);
	/* The destination's listening socket is gone with its one use. */
	assert_int_equal(access(f->mig, F_OK), -1);
	vmproc_free(&src);
	vmproc_free(&dst);
}

/* A TCP port on 127.0.0.1 nobody uses now. */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static void test_migrate_echo_guest_over_tcp(void **state)
{
	struct fixture *f = *state;
	struct vmproc src, dst;
	char url[64], *body;
	int port;

	NEED_KVM();
	port = free_port();
	snprintf(url, sizeof(url), "tcp:127.0.0.1:%d", port);
	start_source(f, &src, NULL);
	start_dest(&dst, url, NULL, NULL, NULL);
	/* Until the destination listens, the connection is refused (and
	 * the source runs on): ask again. */
	for (;;) {
		int code = migrate(f, url, &body);

		if (code == 204)
			break;
		assert_int_equal(code, 400);
		assert_contains(body, "Connection refused");
		free(body);
		assert_true(vmproc_read(&dst, 10));
	}
	free(body);
	assert_int_equal(vmproc_wait(&src), 0);
	vmproc_echo(&dst, "after tcp\n");
	vmproc_free(&src);
	vmproc_free(&dst);
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

/* The destination (-v) must give a count of pages before `what` ("N
 * pages of the first round placed through userfaultfd", "N pages came
 * through shared memory"), and more than none, if `yes`; else say nothing
 * of it. */
static void assert_pages_said(const char *err, const char *what, bool yes)
{
	const char *p = strstr(err, what);

	if (!yes) {
		assert_null(p);
		return;
	}
	assert_non_null(p);
	while (p > err && p[-1] >= '0' && p[-1] <= '9')
		p--;
	assert_true(strtol(p, NULL, 10) > 0);
}

/* An echo guest migrated with the environments given (each with the dump
 * aid first); RAM at the source's pause must equal RAM at the
 * destination's resume. The destination must say it placed pages through
 * its userfaultfd if `placed` (else say nothing of it), that pages came
 * through the ring if `shared` (likewise), and dst_says. */
static void migrate_and_compare(struct fixture *f, const char *src_aid,
				const char *dst_aid, bool placed, bool shared,
				const char *dst_says)
{
	const char *src_env[] = { f->env_dump, src_aid, NULL };
	const char *dst_env[] = { f->env_dump, dst_aid, NULL };
	char a[160], b[160], *body, *err;
	struct vmproc src, dst;

	start_source(f, &src, src_env);
	start_dest(&dst, f->url, "-v", NULL, dst_env);
	vmproc_wait_socket(&dst, f->mig);
	assert_int_equal(migrate(f, f->url, &body), 204);
	free(body);
	assert_int_equal(vmproc_wait(&src), 0);
	vmproc_echo(&dst, "compared\n");
	snprintf(a, sizeof(a), "%s/source.mem", f->dir);
	snprintf(b, sizeof(b), "%s/dest.mem", f->dir);
	/* RAM at the source's pause = RAM at the destination's resume. */
	assert_same_content(a, b);
	err = vmproc_stderr(&dst);
	assert_pages_said(err, " pages of the first round placed through "
			       "userfaultfd", placed);
	assert_pages_said(err, " pages came through shared memory", shared);
	assert_contains(err, dst_says);
	free(err);
	vmproc_free(&src);
	vmproc_free(&dst);
}

/* The destination places the first round's pages through a userfaultfd
 * (none waits on it: any other touch would fail, not hang), from the
 * shared ring: over a Unix socket the page data does not go through it. */
static void test_migrate_destination_ram_equals_the_source_ram(void **state)
{
	NEED_KVM();
	migrate_and_compare(*state, NULL, NULL, true, true, "");
}

/* A page that comes twice in the first round, the second copy right: the
 * destination copies it over the placed one. (The inverted copy comes
 * through the socket, the right one through the ring.) */
static void test_migrate_page_sent_twice_keeps_the_last_copy(void **state)
{
	NEED_KVM();
	migrate_and_compare(*state, "MINIVMM_MIGRATION_TWICE=1", NULL, true,
			    true, "");
}

/* Without a userfaultfd the destination faults its pages in instead. */
static void test_migrate_destination_without_userfaultfd(void **state)
{
	NEED_KVM();
	migrate_and_compare(*state, NULL, "MINIVMM_MIGRATION_NO_UFFD=1", false,
			    true, "");
}

/* Without the ring every page goes through the socket, as over TCP. */
static void test_migrate_without_shared_memory(void **state)
{
	NEED_KVM();
	migrate_and_compare(*state, "MINIVMM_MIGRATION_NO_RING=1", NULL, true,
			    false, "");
}

/* A ring the source could still shrink (which would turn the
 * destination's reads into SIGBUS) is declined: the pages come through
 * the socket instead. */
static void test_migrate_unsealed_shared_memory_is_declined(void **state)
{
	NEED_KVM();
	migrate_and_compare(*state, "MINIVMM_MIGRATION_RING_UNSEALED=1", NULL,
			    true, false,
			    "the source's shared memory is not a memfd sealed "
			    "against shrinking");
}

/* A churning guest: 64 MiB rewritten pass after pass, every page checked. */
static void start_churn_source(struct fixture *f, struct vmproc *v,
			       const char *const env[])
{
	const char *argv[] = { minivmm, "--api-socket", f->api, "-m", "128M",
			       "--cmdline", "prog=churn churn=64", guest, NULL };

	vmproc_start(v, argv, env);
	vmproc_wait_socket(v, f->api);
	vmproc_wait_text(v, 0, "churn: 1 passes, 0 errors\n");
}

static void test_migrate_churning_guest_loses_no_page(void **state)
{
	struct fixture *f = *state;
	const char *env[] = { f->env_dump, NULL };
	char a[160], b[160], *body;
	struct vmproc src, dst;
	size_t n = strlen(" passes, 0 errors\n");

	NEED_KVM();
	start_churn_source(f, &src, env);
	start_dest(&dst, f->url, NULL, NULL, env);
	vmproc_wait_socket(&dst, f->mig);
	assert_int_equal(migrate(f, f->url, &body), 204);
	free(body);
	assert_int_equal(vmproc_wait(&src), 0);
	/* The destination checks every page it rewrites: two more
	 * progress lines, no error. */
	vmproc_wait_text(&dst, 0, " errors\n");
	vmproc_wait_text(&dst, dst.len, " errors\n");
	vmproc_send(&dst, "\x04");
	assert_int_equal(vmproc_wait(&dst), 1);
	if (dst.len < n || memcmp(dst.buf + dst.len - n, " passes, 0 errors\n",
				  n) || strstr(dst.buf, "bad words"))
		fail_msg("the churn found lost pages:\n%s", dst.buf);
	snprintf(a, sizeof(a), "%s/source.mem", f->dir);
	snprintf(b, sizeof(b), "%s/dest.mem", f->dir);
	assert_same_content(a, b);
	vmproc_free(&src);
	vmproc_free(&dst);
}

static void test_migrate_destination_dying_leaves_the_source_running(void **state)
{
	struct fixture *f = *state;
	const char *env[] = { "MINIVMM_MIGRATION_FAIL_AFTER=100000", NULL };
	struct vmproc src, dst;

	NEED_KVM();
	start_source(f, &src, NULL);
	start_dest(&dst, f->url, NULL, NULL, env);
	vmproc_wait_socket(&dst, f->mig);
	assert_refused(f, &src, f->url, "the destination closed");
	assert_int_equal(vmproc_wait(&dst), 128 + SIGKILL);
	vmproc_free(&src);
	vmproc_free(&dst);
}

static void test_migrate_refused_by_a_destination_of_another_shape(void **state)
{
	struct fixture *f = *state;
	struct vmproc src, dst;
	char *err;

	NEED_KVM();
	start_source(f, &src, NULL);
	start_dest(&dst, f->url, "-m", "128M", NULL);
	vmproc_wait_socket(&dst, f->mig);
	assert_refused(f, &src, f->url, "not 128 MiB");
	/* The destination ran nothing and said why in one line. */
	assert_int_equal(vmproc_wait(&dst), 2);
	assert_int_equal(dst.len, 0);
	err = vmproc_stderr(&dst);
	assert_contains(err, "nothing was run");
	assert_null(strchr(strchr(err, '\n') + 1, '\n'));
	free(err);
	vmproc_free(&src);
	vmproc_free(&dst);
}

/*
 * Whether a destination started as `nobody` (through setpriv) is one that
 * cannot open /dev/kvm: this process is root, nobody may run minivmm, and
 * nobody may not open /dev/kvm (some hosts let everyone).
 */
static bool nobody_lacks_kvm(void)
{
	pid_t pid;
	int status;

	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK))
		return false;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(3);
		if (access(minivmm, X_OK))
			_exit(4);
		_exit(open("/dev/kvm", O_RDWR) < 0 ? 0 : 5);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/*
 * The destination builds its VM while the first round arrives. One that
 * cannot (here: no access to /dev/kvm) says so when that round ends,
 * before the source would pause the guest: the request fails with its
 * reason, the guest keeps running on the source, and the destination
 * runs nothing.
 */
static void test_migrate_destination_that_cannot_build_its_vm(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { "/usr/bin/setpriv", "--reuid=65534",
			       "--regid=65534", "--clear-groups", minivmm,
			       "--incoming", NULL, NULL };
	struct vmproc src, dst;
	char url[64], *body, *err;
	int code;

	NEED_KVM();
	if (!nobody_lacks_kvm()) {
		print_message("migrate: cannot start minivmm as a user "
			      "without /dev/kvm here: skipping\n");
		skip();
	}
	snprintf(url, sizeof(url), "tcp:127.0.0.1:%d", free_port());
	argv[6] = url;
	start_source(f, &src, NULL);
	vmproc_start(&dst, argv, NULL);
	while ((code = migrate(f, url, &body)) == 400 &&
	       strstr(body, "Connection refused")) {
		free(body);
		assert_true(vmproc_read(&dst, 10));
	}
	assert_int_equal(code, 400);
	assert_contains(body, "setting up the VM");
	free(body);
	body = progress(f);
	assert_contains(body, "\"state\":\"failed\"");
	free(body);
	vmproc_echo(&src, "still on the source\n");
	assert_int_equal(vmproc_wait(&dst), 2);
	err = vmproc_stderr(&dst);
	assert_contains(err, "no permission to open /dev/kvm");
	free(err);
	vmproc_free(&src);
	vmproc_free(&dst);
}

/* A byte changed after the checksum, in the ring or in the socket. */
static void test_migrate_corrupted_stream_is_refused(void **state)
{
	static const char *const envs[][3] = {
		{ "MINIVMM_MIGRATION_CORRUPT=1", NULL, NULL },
		{ "MINIVMM_MIGRATION_CORRUPT=1", "MINIVMM_MIGRATION_NO_RING=1",
		  NULL },
	};
	struct fixture *f = *state;
	struct vmproc src, dst;
	unsigned i;

	NEED_KVM();
	for (i = 0; i < 2; i++) {
		start_source(f, &src, envs[i]);
		start_dest(&dst, f->url, NULL, NULL, NULL);
		vmproc_wait_socket(&dst, f->mig);
		assert_refused(f, &src, f->url, "checksum");
		assert_int_equal(vmproc_wait(&dst), 2);
		assert_int_equal(dst.len, 0);
		vmproc_free(&src);
		vmproc_free(&dst);
		unlink(f->api);
	}
}

/* Pages past the end of RAM, or straddling it, or a range past the end
 * of a slot of the shared ring: the destination checks each PAGES and
 * SHARED record against the shape (and the slot) before it touches guest
 * memory, refuses, and runs nothing; the source keeps the guest. */
static void test_migrate_pages_outside_ram_are_refused(void **state)
{
	static const char *const envs[][2] = {
		{ "MINIVMM_MIGRATION_STRAY=1", NULL },
		{ "MINIVMM_MIGRATION_STRAY=2", NULL },
		{ "MINIVMM_MIGRATION_STRAY=3", NULL },
	};
	static const char *const reason[] = {
		"a page record outside guest memory",
		"a page record outside guest memory",
		"a shared-memory page record outside its slot",
	};
	struct fixture *f = *state;
	struct vmproc src, dst;
	char *err, want[128];
	unsigned i;

	NEED_KVM();
	for (i = 0; i < 3; i++) {
		start_source(f, &src, envs[i]);
		start_dest(&dst, f->url, NULL, NULL, NULL);
		vmproc_wait_socket(&dst, f->mig);
		snprintf(want, sizeof(want), "the destination refused: %s",
			 reason[i]);
		assert_refused(f, &src, f->url, want);
		assert_int_equal(vmproc_wait(&dst), 2);
		assert_int_equal(dst.len, 0);
		err = vmproc_stderr(&dst);
		assert_contains(err, reason[i]);
		free(err);
		vmproc_free(&src);
		vmproc_free(&dst);
		/* The next source binds the same API socket path. */
		unlink(f->api);
	}
}

/* The same refusal while the source is still sending its first round (64
 * MiB, far more than the sockets hold): its send fails, and it still
 * reports the destination's reason, which waits in the socket. */
static void test_migrate_refusal_reaches_a_source_still_sending(void **state)
{
	struct fixture *f = *state;
	const char *env[] = { "MINIVMM_MIGRATION_STRAY=1", NULL };
	struct vmproc src, dst;
	char *body;
	size_t mark;

	NEED_KVM();
	start_churn_source(f, &src, env);
	start_dest(&dst, f->url, NULL, NULL, NULL);
	vmproc_wait_socket(&dst, f->mig);
	assert_int_equal(migrate(f, f->url, &body), 400);
	assert_contains(body, "the destination refused: a page record "
			      "outside guest memory");
	free(body);
	assert_int_equal(vmproc_wait(&dst), 2);
	/* The guest churns on at the source, without an error. */
	mark = src.len;
	vmproc_wait_text(&src, mark, " passes, 0 errors\n");
	vmproc_free(&src);
	vmproc_free(&dst);
}

static void test_migrate_source_dying_runs_nothing_on_the_destination(void **state)
{
	struct fixture *f = *state;
	const char *env[] = { "MINIVMM_MIGRATION_FAIL_AFTER=100000", NULL };
	char json[256];
	const char *curl_put[] = { "/usr/bin/curl", "-s", "--unix-socket",
				   f->api, "-X", "PUT", "-d", json,
				   "http://localhost/migrate", NULL };
	struct vmproc src, dst, c;
	char *err;

	NEED_KVM();
	start_source(f, &src, env);
	start_dest(&dst, f->url, NULL, NULL, NULL);
	vmproc_wait_socket(&dst, f->mig);
	/* The source dies mid-stream: curl gets no answer at all. */
	snprintf(json, sizeof(json), "{\"destination_url\":\"%s\"}",
		 f->url);
	vmproc_start(&c, curl_put, NULL);
	vmproc_wait(&c);
	vmproc_free(&c);
	assert_int_equal(vmproc_wait(&src), 128 + SIGKILL);
	assert_int_equal(vmproc_wait(&dst), 2);
	assert_int_equal(dst.len, 0);
	err = vmproc_stderr(&dst);
	assert_contains(err, "the source closed the connection");
	assert_contains(err, "nothing was run");
	free(err);
	vmproc_free(&src);
	vmproc_free(&dst);
}

/* A destination that takes the connection and never answers. */
struct silent {
	int lfd, fd;
	pthread_t thread;
};

static void *silent_accept(void *arg)
{
	struct silent *s = arg;

	s->fd = accept(s->lfd, NULL, NULL);
	return NULL;
}

/* A destination of the test's own at f->mig, run by fn on a thread. */
static void fake_destination(struct fixture *f, struct silent *s,
			     void *(*fn)(void *))
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->mig);
	s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 1), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, fn, s), 0);
}

struct put {
	struct fixture *f;
	int code;
	char *body;
	pthread_t thread;
};

static void *put_migrate(void *arg)
{
	struct put *p = arg;

	p->code = migrate(p->f, p->f->url, &p->body);
	return NULL;
}

static void snapshot_to(struct fixture *f, const char *type, const char *st,
			const char *mem)
{
	char json[512], *body;

	snprintf(json, sizeof(json),
		 "{\"snapshot_type\":\"%s\",\"snapshot_path\":\"%s/%s\","
		 "\"mem_file_path\":\"%s/%s\"}",
		 type, f->dir, st, f->dir, mem);
	assert_int_equal(vmproc_api(f->api, "PUT", "/snapshot/create", json,
				    &body), 204);
	free(body);
}

static void vm_state(struct fixture *f, const char *state)
{
	char json[64], *body;

	snprintf(json, sizeof(json), "{\"state\":\"%s\"}", state);
	assert_int_equal(vmproc_api(f->api, "PATCH", "/vm", json, &body), 204);
	free(body);
}

static void test_migrate_failed_one_keeps_diff_snapshots_whole(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { minivmm, "--api-socket", f->api, "-m", "64M",
			       "--dirty-log", "--cmdline", "prog=echo", guest,
			       NULL };
	const char *merge[] = { "build/tools/snapshot-merge", "--base", NULL,
				"--diff", NULL, NULL };
	const char *die[] = { "MINIVMM_MIGRATION_FAIL_AFTER=100000", NULL };
	char base[160], diff[160], full[160];
	struct vmproc src, dst, mt;

	NEED_KVM();
	vmproc_start(&src, argv, NULL);
	vmproc_wait_socket(&src, f->api);
	vm_state(f, "Paused");
	snapshot_to(f, "Full", "s0", "base");
	vm_state(f, "Resumed");
	/* Written after the base: the Diff must hold it. */
	vmproc_echo(&src, "between the base and the diff\n");
	/* The destination dies once pages are flowing: the source had
	 * harvested the bitmaps by then. */
	start_dest(&dst, f->url, NULL, NULL, die);
	vmproc_wait_socket(&dst, f->mig);
	assert_refused(f, &src, f->url, "the destination closed");
	vm_state(f, "Paused");
	snapshot_to(f, "Diff", "s1", "diff");
	snapshot_to(f, "Full", "s2", "full");
	snprintf(base, sizeof(base), "%s/base", f->dir);
	snprintf(diff, sizeof(diff), "%s/diff", f->dir);
	snprintf(full, sizeof(full), "%s/full", f->dir);
	merge[2] = base;
	merge[4] = diff;
	vmproc_start(&mt, merge, NULL);
	assert_int_equal(vmproc_wait(&mt), 0);
	vmproc_free(&mt);
	assert_same_content(base, full);
	vmproc_free(&src);
	vmproc_free(&dst);
}

static void test_migrate_second_request_while_one_runs_is_refused(void **state)
{
	struct fixture *f = *state;
	struct silent s = { .fd = -1 };
	struct put p = { .f = f };
	struct vmproc src;
	char *body = NULL;
	unsigned i;

	NEED_KVM();
	start_source(f, &src, NULL);
	fake_destination(f, &s, silent_accept);
	assert_int_equal(pthread_create(&p.thread, NULL, put_migrate, &p), 0);
	/* Once the first has connected, it is in progress. */
	assert_int_equal(pthread_join(s.thread, NULL), 0);
	assert_true(s.fd >= 0);
	for (i = 0;; i++) {
		assert_true(i < 1000);
		free(body);
		body = progress(f);
		if (strstr(body, "\"active\""))
			break;
	}
	free(body);
	assert_int_equal(migrate(f, f->url, &body), 400);
	assert_contains(body, "already in progress");
	free(body);
	/* The silent destination goes away: the first fails, the guest
	 * runs on. */
	close(s.fd);
	assert_int_equal(pthread_join(p.thread, NULL), 0);
	assert_int_equal(p.code, 400);
	assert_contains(p.body, "the destination closed");
	free(p.body);
	close(s.lfd);
	vmproc_echo(&src, "after two requests\n");
	vmproc_free(&src);
}

/* A destination that takes the shared ring and then claims more slots
 * freed than the source filled (testing the source, not minivmm's
 * destination): it answers HELLO as a destination with the ring would,
 * writes a wrong count into the ring's header, and reads what comes until
 * the source closes the connection. */
static void *lying_destination(void *opaque)
{
	struct silent *s = opaque;
	uint8_t hdr[16], reply[16] = { 7, 0, 0, 0, 2 }, buf[4096];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} c;
	struct iovec iov = { hdr, sizeof(hdr) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	uint64_t len;
	struct stat st;
	int ring = -1;
	void *p;

	s->fd = accept(s->lfd, NULL, NULL);
	if (s->fd < 0 || recvmsg(s->fd, &mh, MSG_WAITALL) != sizeof(hdr))
		return NULL;
	if (CMSG_FIRSTHDR(&mh))
		memcpy(&ring, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
	memcpy(&len, hdr + 8, 8);
	if (ring < 0 || len > sizeof(buf) ||
	    recv(s->fd, buf, len, MSG_WAITALL) != (ssize_t)len ||
	    fstat(ring, &st))
		return NULL;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 ring, 0);
	if (p == MAP_FAILED)
		return NULL;
	*(volatile uint32_t *)p = 1000;	/* slots freed: none were filled */
	if (send(s->fd, reply, sizeof(reply), MSG_NOSIGNAL) == sizeof(reply))
		while (read(s->fd, buf, sizeof(buf)) > 0)
			;
	munmap(p, (size_t)st.st_size);
	close(ring);
	return NULL;
}

static void test_migrate_destination_lying_about_the_ring_is_left(void **state)
{
	struct fixture *f = *state;
	struct silent s = { .fd = -1 };
	struct vmproc src;

	NEED_KVM();
	start_source(f, &src, NULL);
	fake_destination(f, &s, lying_destination);
	assert_refused(f, &src, f->url,
		       "the destination counts more shared memory slots freed "
		       "than were filled");
	assert_int_equal(pthread_join(s.thread, NULL), 0);
	close(s.fd);
	close(s.lfd);
	vmproc_free(&src);
}

static void test_migrate_refuses_bad_urls_and_a_missing_destination(void **state)
{
	struct fixture *f = *state;
	struct vmproc src;

	NEED_KVM();
	start_source(f, &src, NULL);
	assert_refused(f, &src, "ftp:somewhere", "bad migration URL");
	assert_refused(f, &src, "tcp:127.0.0.1", "bad migration URL");
	assert_refused(f, &src, f->url, "No such file");
	vmproc_free(&src);
}

static void test_migrate_refuses_a_vm_that_has_not_started(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { minivmm, "--api-socket", f->api, NULL };
	struct vmproc v;
	char *body;

	NEED_KVM();
	vmproc_start(&v, argv, NULL);
	vmproc_wait_socket(&v, f->api);
	assert_int_equal(migrate(f, f->url, &body), 400);
	assert_contains(body, "only a running VM");
	free(body);
	vmproc_free(&v);
}

static void test_migrate_incoming_refuses_bad_options(void **state)
{
	const char *argv[] = { minivmm, "--incoming", "unix:/tmp/x", guest,
			       NULL };
	const char *bad[] = { minivmm, "--incoming", "nowhere", NULL };
	struct vmproc v;
	char *err;

	(void)state;
	NEED_KVM();
	vmproc_start(&v, argv, NULL);
	assert_int_equal(vmproc_wait(&v), 2);
	err = vmproc_stderr(&v);
	assert_contains(err, "give no IMAGE");
	free(err);
	vmproc_free(&v);
	vmproc_start(&v, bad, NULL);
	assert_int_equal(vmproc_wait(&v), 2);
	err = vmproc_stderr(&v);
	assert_contains(err, "bad migration URL");
	free(err);
	vmproc_free(&v);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_migrate_echo_guest_over_a_unix_socket),
		T(test_migrate_echo_guest_over_tcp),
		T(test_migrate_destination_ram_equals_the_source_ram),
		T(test_migrate_page_sent_twice_keeps_the_last_copy),
		T(test_migrate_destination_without_userfaultfd),
		T(test_migrate_without_shared_memory),
		T(test_migrate_unsealed_shared_memory_is_declined),
		T(test_migrate_churning_guest_loses_no_page),
		T(test_migrate_destination_dying_leaves_the_source_running),
		T(test_migrate_refused_by_a_destination_of_another_shape),
		T(test_migrate_destination_that_cannot_build_its_vm),
		T(test_migrate_corrupted_stream_is_refused),
		T(test_migrate_pages_outside_ram_are_refused),
		T(test_migrate_refusal_reaches_a_source_still_sending),
		T(test_migrate_source_dying_runs_nothing_on_the_destination),
		T(test_migrate_failed_one_keeps_diff_snapshots_whole),
		T(test_migrate_second_request_while_one_runs_is_refused),
		T(test_migrate_destination_lying_about_the_ring_is_left),
		T(test_migrate_refuses_bad_urls_and_a_missing_destination),
		T(test_migrate_refuses_a_vm_that_has_not_started),
		T(test_migrate_incoming_refuses_bad_options),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
