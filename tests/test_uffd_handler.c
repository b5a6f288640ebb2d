/* SPDX-License-Identifier: MIT */
/*
 * Tests for tools/uffd-handler, run as a child while the test plays the
 * VMM: guest memory is anonymous (vmmem_create_anon()) and registered with
 * a userfaultfd (vmmem/uffd.h); the test connects to the handler's socket,
 * sends the userfaultfd and the JSON region list as Firecracker does, then
 * reads guest memory, each first touch of a page being a fault the handler
 * serves, and compares it with the sparse memory file it wrote.
 *
 * Guest memory is two regions, stored one after the other in the file:
 *   R0 gpa 0x0       64 pages   file offset 0
 *   R1 gpa 0x100000  32 pages   file offset 64 pages
 * Every third page of the file is a hole (zero), the others hold a pattern.
 *
 * The handler prints "ready" once it listens, which is what the test waits
 * for; every wait has a deadline, after which the child is killed. A fault
 * that nobody serves would hang the test: an alarm ends it instead.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vmmem/vmmem.h>

#include "sysmock.h"

#define HANDLER "build/tools/uffd-handler"
#define PAGE ((uint64_t)VMMEM_UFFD_PAGE_SIZE)
#define R0_GPA 0x0ull
#define R0_PAGES 64
#define R1_GPA 0x100000ull
#define R1_PAGES 32
#define PAGES (R0_PAGES + R1_PAGES)
/* Milliseconds the handler gets for anything it must do at once. */
#define DEADLINE_MS 20000
#define WATCHDOG 300

static bool have_uffd;

/* The handler as a child, its stdout and stderr collected. */
struct child {
	pid_t pid;
	int out, err; /* read ends, -1 once at EOF */
	char outbuf[4096], errbuf[4096];
	size_t outlen, errlen;
	int status; /* exit status, or 128 + signal */
};

struct fixture {
	char dir[64];
	char sock[96], memfile[96], ws[96];
	unsigned char *file; /* what the memory file holds */
	bool holes;	     /* the file system reports holes */
	unsigned data_pages;
	struct vmmem *mem;
	int uffd;
	int conn;
	struct child c;
};

static bool is_hole(unsigned page)
{
	return page % 3 == 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int group_setup(void **state)
{
	int fd, rc;

	(void)state;
	rc = vmmem_uffd_open(O_CLOEXEC, &fd);
	if (rc == 0) {
		have_uffd = true;
		close(fd);
	} else {
		print_message("uffd-handler: no userfaultfd for this process "
			      "(%s): skipping\n",
			      strerror(-rc));
	}
	return 0;
}

/* Write the sparse memory file: data pages with a pattern, holes. */
static int write_memfile(struct fixture *f)
{
	unsigned p;
	size_t i;
	int fd;

	f->file = calloc(PAGES, PAGE);
	if (!f->file)
		return -1;
	fd = open(f->memfile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, PAGES * PAGE))
		return -1;
	for (p = 0; p < PAGES; p++) {
		unsigned char *page = f->file + p * PAGE;

		if (is_hole(p))
			continue;
		for (i = 0; i < PAGE; i++)
			page[i] = (unsigned char)(p * 31 + i * 7 + (i >> 8));
		if (pwrite(fd, page, PAGE, (off_t)(p * PAGE)) != (ssize_t)PAGE)
			return -1;
		f->data_pages++;
	}
	close(fd);
	fd = open(f->memfile, O_RDONLY | O_CLOEXEC);
	f->holes = lseek(fd, 0, SEEK_DATA) == (off_t)PAGE;
	close(fd);
	return 0;
}

static int setup(void **state)
{
	static const struct vmmem_range ranges[] = {
		{ R0_GPA, R0_PAGES * PAGE },
		{ R1_GPA, R1_PAGES * PAGE },
	};
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	f->uffd = -1;
	f->conn = -1;
	f->c.pid = -1;
	f->c.out = f->c.err = -1;
	sysmock_reset();
	if (!have_uffd)
		return 0;
	strcpy(f->dir, "/tmp/vmmem-uffd-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->sock, sizeof(f->sock), "%s/uffd.sock", f->dir);
	snprintf(f->memfile, sizeof(f->memfile), "%s/mem", f->dir);
	snprintf(f->ws, sizeof(f->ws), "%s/ws", f->dir);
	if (write_memfile(f) || vmmem_create_anon(ranges, 2, 0, &f->mem) ||
	    vmmem_uffd_open(O_CLOEXEC | O_NONBLOCK, &f->uffd) ||
	    vmmem_uffd_register(f->mem, f->uffd))
		return -1;
	return 0;
}

static void child_kill(struct child *c)
{
	if (c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	c->pid = -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	child_kill(&f->c);
	if (f->c.out >= 0)
		close(f->c.out);
	if (f->c.err >= 0)
		close(f->c.err);
	if (f->conn >= 0)
		close(f->conn);
	if (f->uffd >= 0)
		close(f->uffd);
	vmmem_destroy(f->mem);
	if (f->dir[0]) {
		unlink(f->sock);
		unlink(f->memfile);
		unlink(f->ws);
		rmdir(f->dir);
	}
	free(f->file);
	free(f);
	return 0;
}

static struct fixture *need_handler(void **state)
{
	if (!have_uffd)
		skip();
	if (access(HANDLER, X_OK)) {
		print_message("uffd-handler: %s not built: skipping\n",
			      HANDLER);
		skip();
	}
	return *state;
}

/* Start the handler with extra options (NULL-terminated) before its
 * two arguments. */
static void child_start(struct fixture *f, const char *const opts[])
{
	const char *argv[8];
	int out[2], err[2], n = 0;

	argv[n++] = HANDLER;
	while (opts && *opts && n < 5)
		argv[n++] = *opts++;
	argv[n++] = f->sock;
	argv[n++] = f->memfile;
	argv[n] = NULL;
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	memset(&f->c, 0, sizeof(f->c));
	f->c.pid = fork();
	assert_true(f->c.pid >= 0);
	if (f->c.pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		execv(HANDLER, (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	f->c.out = out[0];
	f->c.err = err[0];
}

/* Read what the child wrote until both pipes are at EOF or the deadline
 * (or, with `until`, until stdout holds it). Returns whether it got
 * there. */
static bool child_collect(struct child *c, const char *until, int64_t end)
{
	while (c->out >= 0 || c->err >= 0) {
		struct pollfd p[2] = { { .fd = c->out, .events = POLLIN },
				       { .fd = c->err, .events = POLLIN } };
		int64_t left = end - now_ms();
		int i;

		if (until && strstr(c->outbuf, until))
			return true;
		if (left <= 0 || poll(p, 2, (int)left) <= 0)
			return false;
		for (i = 0; i < 2; i++) {
			int *fd = i ? &c->err : &c->out;
			char *buf = i ? c->errbuf : c->outbuf;
			size_t *len = i ? &c->errlen : &c->outlen;
			ssize_t n;

			if (!p[i].revents)
				continue;
			n = read(*fd, buf + *len, sizeof(c->outbuf) - 1 - *len);
			if (n <= 0) {
				close(*fd);
				*fd = -1;
				continue;
			}
			*len += (size_t)n;
			buf[*len] = '\0';
		}
	}
	return until ? strstr(c->outbuf, until) != NULL : true;
}

/* Wait until the handler listens. */
static void child_ready(struct fixture *f)
{
	if (!child_collect(&f->c, "ready\n", now_ms() + DEADLINE_MS))
		fail_msg("the handler did not get ready: %s", f->c.errbuf);
}

/* Wait for the handler to exit; returns its exit status. */
static int child_finish(struct fixture *f)
{
	int status;

	if (!child_collect(&f->c, NULL, now_ms() + DEADLINE_MS)) {
		child_kill(&f->c);
		fail_msg("the handler did not exit: %s", f->c.errbuf);
	}
	assert_int_equal(waitpid(f->c.pid, &status, 0), f->c.pid);
	f->c.pid = -1;
	f->c.status = WIFEXITED(status) ? WEXITSTATUS(status)
					: 128 + WTERMSIG(status);
	return f->c.status;
}

static void vmm_connect(struct fixture *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	strcpy(sun.sun_path, f->sock);
	f->conn = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->conn >= 0);
	assert_int_equal(connect(f->conn, (struct sockaddr *)&sun, sizeof(sun)),
			 0);
}

/* One sendmsg with the text and, unless fd is -1, the fd. */
static void vmm_send(struct fixture *f, const char *text, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)text, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	assert_int_equal(sendmsg(f->conn, &msg, 0), (ssize_t)len);
}

static uint64_t region_hva(struct fixture *f, size_t i)
{
	return (uintptr_t)vmmem_region_hva(vmmem_region_at(f->mem, i));
}

/* Firecracker's region list for the fixture's memory; page_key is
 * "page_size" (bytes) or "page_size_kib". */
static void region_json(struct fixture *f, char *buf, size_t size,
			const char *page_key)
{
	uint64_t ps = strcmp(page_key, "page_size") ? PAGE / 1024 : PAGE;

	snprintf(buf, size,
		 "[{\"base_host_virt_addr\": %" PRIu64 ", \"size\": %" PRIu64
		 ", \"offset\": 0, \"%s\": %" PRIu64 "},"
		 " {\"base_host_virt_addr\": %" PRIu64 ", \"size\": %" PRIu64
		 ", \"offset\": %" PRIu64 ", \"%s\": %" PRIu64 "}]",
		 region_hva(f, 0), R0_PAGES * PAGE, page_key, ps,
		 region_hva(f, 1), R1_PAGES * PAGE, R0_PAGES * PAGE, page_key,
		 ps);
}

/* Start the handler and do the whole handshake. */
static void start_served(struct fixture *f, const char *const opts[],
			 const char *page_key)
{
	char json[1024];

	child_start(f, opts);
	child_ready(f);
	vmm_connect(f);
	region_json(f, json, sizeof(json), page_key);
	vmm_send(f, json, strlen(json), f->uffd);
}

/* Guest page p of the file's order (R0's pages, then R1's). */
static vmmem_gpa_t page_gpa(unsigned p)
{
	return p < R0_PAGES ? R0_GPA + p * PAGE
			    : R1_GPA + (p - R0_PAGES) * PAGE;
}

/* Read file page p through guest memory and compare. */
static void assert_page(struct fixture *f, unsigned p)
{
	unsigned char got[PAGE];

	assert_int_equal(vmmem_read(f->mem, page_gpa(p), got, PAGE), 0);
	assert_memory_equal(got, f->file + p * PAGE, PAGE);
}

/* The four counts of --stats. */
struct stats {
	unsigned long long faults, copied, zero, prefetched;
};

static struct stats parse_stats(struct fixture *f)
{
	struct stats s;
	const char *line = strstr(f->c.outbuf, "uffd-handler: ");

	assert_non_null(line);
	assert_int_equal(sscanf(line,
				"uffd-handler: %llu faults, %llu pages copied, "
				"%llu zero pages, %llu prefetched",
				&s.faults, &s.copied, &s.zero, &s.prefetched),
			 4);
	return s;
}

/* End the session as a VMM does: close the connection. */
static int vmm_close(struct fixture *f)
{
	close(f->conn);
	f->conn = -1;
	return child_finish(f);
}

static void test_uffd_handler_serves_pages_from_the_memory_file(void **state)
{
	static const char *const opts[] = { "--stats", NULL };
	struct fixture *f = need_handler(state);
	struct stats s;
	int64_t t0, t1;
	unsigned p;

	start_served(f, opts, "page_size");
	t0 = now_ns();
	for (p = 0; p < PAGES; p++)
		assert_page(f, p);
	t1 = now_ns();
	assert_int_equal(vmm_close(f), 0);
	s = parse_stats(f);
	assert_int_equal(s.faults, PAGES);
	assert_int_equal(s.copied + s.zero, PAGES);
	if (f->holes)
		assert_int_equal(s.copied, f->data_pages);
	assert_int_equal(s.prefetched, 0);
	print_message("uffd-handler: %d faults in %.2f ms, %.1f us each "
		      "(with the test's own checks)\n",
		      PAGES, (double)(t1 - t0) / 1e6,
		      (double)(t1 - t0) / 1e3 / PAGES);
	/* The socket path is gone with the connection. */
	assert_int_equal(access(f->sock, F_OK), -1);
}

static void test_uffd_handler_accepts_page_size_kib(void **state)
{
	static const char *const opts[] = { "--stats", NULL };
	struct fixture *f = need_handler(state);

	start_served(f, opts, "page_size_kib");
	assert_page(f, 1);
	assert_page(f, R0_PAGES + 3);
	assert_int_equal(vmm_close(f), 0);
	assert_int_equal(parse_stats(f).faults, 2);
}

static void test_uffd_handler_serves_pages_again_after_remove(void **state)
{
	static const char *const opts[] = { "--stats", NULL };
	struct fixture *f = need_handler(state);
	void *hva = (void *)(uintptr_t)(region_hva(f, 0) + 2 * PAGE);

	start_served(f, opts, "page_size");
	assert_page(f, 2);
	/* madvise() returns once the handler has read the REMOVE event. */
	assert_int_equal(madvise(hva, PAGE, MADV_DONTNEED), 0);
	assert_page(f, 2);
	assert_int_equal(vmm_close(f), 0);
	assert_int_equal(parse_stats(f).faults, 2);
	assert_non_null(strstr(f->c.outbuf, "uffd-handler: 1 remove events\n"));
	assert_int_equal(f->c.errlen, 0);
}

static void test_uffd_handler_socket_is_private(void **state)
{
	struct fixture *f = need_handler(state);
	struct stat st;

	child_start(f, NULL);
	child_ready(f);
	assert_int_equal(stat(f->sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* Send a bad handshake; the handler says why on one line, exits 2, and
 * the VMM sees the connection close. */
static void assert_refused(struct fixture *f, const char *text, size_t len,
			   int fd, const char *why)
{
	ssize_t n;
	char byte;

	child_start(f, NULL);
	child_ready(f);
	vmm_connect(f);
	vmm_send(f, text, len, fd);
	assert_int_equal(child_finish(f), 2);
	/* EOF, or a reset when the handler left data unread. */
	n = recv(f->conn, &byte, 1, 0);
	assert_true(n == 0 || (n < 0 && errno == ECONNRESET));
	if (!strstr(f->c.errbuf, why))
		fail_msg("expected \"%s\" in: %s", why, f->c.errbuf);
	assert_int_equal(strchr(f->c.errbuf, '\n') - f->c.errbuf + 1,
			 (long)f->c.errlen);
}

static void test_uffd_handler_refuses_garbage(void **state)
{
	static const char garbage[] = "GET / HTTP/1.1\r\n\r\n";
	struct fixture *f = need_handler(state);

	assert_refused(f, garbage, sizeof(garbage) - 1, f->uffd, "not JSON");
}

static void test_uffd_handler_refuses_a_handshake_without_fd(void **state)
{
	struct fixture *f = need_handler(state);
	char json[1024];

	region_json(f, json, sizeof(json), "page_size");
	assert_refused(f, json, strlen(json), -1, "no userfaultfd");
}

static void test_uffd_handler_refuses_an_fd_that_is_no_userfaultfd(void **state)
{
	struct fixture *f = need_handler(state);
	char json[1024];
	int fd = open(f->memfile, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	region_json(f, json, sizeof(json), "page_size");
	assert_refused(f, json, strlen(json), fd, "not a userfaultfd");
	close(fd);
}

static void test_uffd_handler_refuses_a_userfaultfd_without_api(void **state)
{
	struct fixture *f = need_handler(state);
	char json[1024];
	int fd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	assert_true(fd >= 0);
	region_json(f, json, sizeof(json), "page_size");
	assert_refused(f, json, strlen(json), fd, "no UFFDIO_API");
	close(fd);
}

static void test_uffd_handler_refuses_a_non_array(void **state)
{
	static const char obj[] = "{\"base_host_virt_addr\": 4096}";
	struct fixture *f = need_handler(state);

	assert_refused(f, obj, sizeof(obj) - 1, f->uffd, "not a JSON array");
}

static void test_uffd_handler_refuses_an_empty_array(void **state)
{
	struct fixture *f = need_handler(state);

	assert_refused(f, "[]", 2, f->uffd, "0 regions");
}

static void test_uffd_handler_refuses_regions_past_the_file(void **state)
{
	struct fixture *f = need_handler(state);
	char json[256];

	snprintf(json, sizeof(json),
		 "[{\"base_host_virt_addr\": %" PRIu64 ", \"size\": %" PRIu64
		 ", \"offset\": %" PRIu64 ", \"page_size\": 4096}]",
		 region_hva(f, 1), R1_PAGES * PAGE, (R0_PAGES + 1) * PAGE);
	assert_refused(f, json, strlen(json), f->uffd, "past the end");
}

static void test_uffd_handler_refuses_overlapping_regions(void **state)
{
	struct fixture *f = need_handler(state);
	char json[512];
	uint64_t base = region_hva(f, 0);

	snprintf(json, sizeof(json),
		 "[{\"base_host_virt_addr\": %" PRIu64
		 ", \"size\": 16384, \"offset\": 0, \"page_size\": 4096},"
		 " {\"base_host_virt_addr\": %" PRIu64
		 ", \"size\": 16384, \"offset\": 0, \"page_size\": 4096}]",
		 base + 8192, base);
	assert_refused(f, json, strlen(json), f->uffd, "overlap");
}

static void test_uffd_handler_refuses_huge_pages(void **state)
{
	struct fixture *f = need_handler(state);
	char json[256];

	snprintf(json, sizeof(json),
		 "[{\"base_host_virt_addr\": %" PRIu64 ", \"size\": %" PRIu64
		 ", \"offset\": 0, \"page_size\": 2097152}]",
		 region_hva(f, 0), R0_PAGES * PAGE);
	assert_refused(f, json, strlen(json), f->uffd, "page size 2097152");
}

static void test_uffd_handler_refuses_unaligned_regions(void **state)
{
	struct fixture *f = need_handler(state);
	char json[256];

	snprintf(json, sizeof(json),
		 "[{\"base_host_virt_addr\": %" PRIu64
		 ", \"size\": 4000, \"offset\": 0, \"page_size\": 4096}]",
		 region_hva(f, 0));
	assert_refused(f, json, strlen(json), f->uffd, "multiples of 4096");
}

static void test_uffd_handler_refuses_negative_numbers(void **state)
{
	static const char neg[] = "[{\"base_host_virt_addr\": -4096, "
				  "\"size\": 4096, \"offset\": 0, "
				  "\"page_size\": 4096}]";
	struct fixture *f = need_handler(state);

	assert_refused(f, neg, sizeof(neg) - 1, f->uffd, "integers >= 0");
}

static void test_uffd_handler_refuses_too_many_regions(void **state)
{
	struct fixture *f = need_handler(state);
	size_t len = 0, i;
	char *json = malloc(64 * 1024);

	assert_non_null(json);
	/* 257 short objects: under the size limit, over the count. */
	json[len++] = '[';
	for (i = 0; i < 257; i++)
		len += (size_t)sprintf(json + len, "%s{}", i ? "," : "");
	json[len++] = ']';
	assert_refused(f, json, len, f->uffd, "257 regions");
	free(json);
}

static void test_uffd_handler_refuses_an_oversized_handshake(void **state)
{
	struct fixture *f = need_handler(state);
	size_t len = 40 * 1024;
	char *big = malloc(len);

	assert_non_null(big);
	memset(big, ' ', len);
	big[0] = '[';
	big[len - 1] = ']';
	assert_refused(f, big, len, f->uffd, "larger than");
	free(big);
}

static void test_uffd_handler_refuses_an_existing_socket_path(void **state)
{
	struct fixture *f = need_handler(state);
	int fd = open(f->sock, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	close(fd);
	child_start(f, NULL);
	assert_int_equal(child_finish(f), 2);
	assert_non_null(strstr(f->c.errbuf, "exists already"));
	assert_null(strstr(f->c.outbuf, "ready"));
}

static void test_uffd_handler_exits_when_the_vmm_hangs_up(void **state)
{
	struct fixture *f = need_handler(state);

	start_served(f, NULL, "page_size");
	/* No fault at all: closing alone ends it, with status 0. */
	assert_int_equal(vmm_close(f), 0);
	assert_int_equal(f->c.errlen, 0);
}

/* Touch the pages a "boot" touches: every other page of R0, all of R1. */
static unsigned touch_working_set(struct fixture *f)
{
	unsigned p, n = 0;

	for (p = 0; p < PAGES; p++) {
		if (p < R0_PAGES && p % 2)
			continue;
		assert_page(f, p);
		n++;
	}
	return n;
}

static void test_uffd_handler_prefetches_what_a_run_recorded(void **state)
{
	const char *opts[] = { "--stats", "--prefetch", NULL, NULL };
	struct fixture *f = need_handler(state);
	static const struct vmmem_range ranges[] = {
		{ R0_GPA, R0_PAGES * PAGE },
		{ R1_GPA, R1_PAGES * PAGE },
	};
	struct stats first, second;
	unsigned touched;

	opts[2] = f->ws;
	/* First run: no working set yet; every touch faults and is noted. */
	start_served(f, opts, "page_size");
	touched = touch_working_set(f);
	assert_int_equal(vmm_close(f), 0);
	first = parse_stats(f);
	assert_int_equal(first.faults, touched);
	assert_int_equal(first.prefetched, 0);
	assert_int_equal(access(f->ws, R_OK), 0);

	/* Second run, on fresh memory: the same touches find the pages in
	 * place. */
	close(f->uffd);
	vmmem_destroy(f->mem);
	assert_int_equal(vmmem_create_anon(ranges, 2, 0, &f->mem), 0);
	/* A blocking userfaultfd this time: the handler copes. */
	assert_int_equal(vmmem_uffd_open(O_CLOEXEC, &f->uffd), 0);
	assert_int_equal(vmmem_uffd_register(f->mem, f->uffd), 0);
	start_served(f, opts, "page_size");
	assert_int_equal(touch_working_set(f), touched);
	/* A page outside the working set still faults. */
	assert_page(f, 1);
	assert_int_equal(vmm_close(f), 0);
	second = parse_stats(f);
	assert_int_equal(second.prefetched, touched);
	assert_int_equal(second.faults, 1);
	assert_true(second.faults * 4 < first.faults);
}

static void test_uffd_handler_replaces_a_bad_working_set(void **state)
{
	const char *opts[] = { "--stats", "--prefetch", NULL, NULL };
	struct fixture *f = need_handler(state);
	char buf[256];
	FILE *fp;

	opts[2] = f->ws;
	fp = fopen(f->ws, "w");
	assert_non_null(fp);
	fputs("0x1000\nnot an offset\n", fp);
	fclose(fp);
	start_served(f, opts, "page_size");
	assert_page(f, 5);
	assert_int_equal(vmm_close(f), 0);
	assert_int_equal(parse_stats(f).prefetched, 0);
	assert_non_null(strstr(f->c.errbuf, "line 2"));
	/* Rewritten with this run's one page. */
	fp = fopen(f->ws, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof(buf), fp)); /* the comment */
	assert_non_null(fgets(buf, sizeof(buf), fp));
	assert_string_equal(buf, "0x5000\n");
	assert_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_uffd_handler_serves_pages_from_the_memory_file),
		T(test_uffd_handler_accepts_page_size_kib),
		T(test_uffd_handler_serves_pages_again_after_remove),
		T(test_uffd_handler_socket_is_private),
		T(test_uffd_handler_refuses_garbage),
		T(test_uffd_handler_refuses_a_handshake_without_fd),
		T(test_uffd_handler_refuses_an_fd_that_is_no_userfaultfd),
		T(test_uffd_handler_refuses_a_userfaultfd_without_api),
		T(test_uffd_handler_refuses_a_non_array),
		T(test_uffd_handler_refuses_an_empty_array),
		T(test_uffd_handler_refuses_regions_past_the_file),
		T(test_uffd_handler_refuses_overlapping_regions),
		T(test_uffd_handler_refuses_huge_pages),
		T(test_uffd_handler_refuses_unaligned_regions),
		T(test_uffd_handler_refuses_negative_numbers),
		T(test_uffd_handler_refuses_too_many_regions),
		T(test_uffd_handler_refuses_an_oversized_handshake),
		T(test_uffd_handler_refuses_an_existing_socket_path),
		T(test_uffd_handler_exits_when_the_vmm_hangs_up),
		T(test_uffd_handler_prefetches_what_a_run_recorded),
		T(test_uffd_handler_replaces_a_bad_working_set),
#undef T
	};

	alarm(WATCHDOG);
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
