/* SPDX-License-Identifier: MIT */
/*
 * Tests for vmmem/uffd.h: a userfaultfd registered over anonymous guest
 * memory, faults served by a handler thread while the test thread reads
 * through vmmem_read(), the EEXIST, partial-copy and EAGAIN rules of the
 * copy and zero-page helpers, the regions that cannot be registered, and
 * a VMMEM_UFFD_SIGBUS userfaultfd, on which no fault waits.
 *
 * The fixture is one set of three anonymous regions:
 *   A [0x00000, 0x10000)   16 pages   } adjacent
 *   B [0x10000, 0x18000)    8 pages   }
 *   C [0x100000, +0x1800)   1.5 pages: registered as 2 pages
 * with a userfaultfd (close-on-exec, non-blocking). Every test that needs
 * userfaultfd skips, saying why once, when this process may not use it.
 *
 * A fault that nobody serves would hang the test; an alarm ends the
 * program instead.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vmmem/vmmem.h>

#include "sysmock.h"

#define PAGE VMMEM_UFFD_PAGE_SIZE
#define A_GPA 0x0ull
#define A_LEN 0x10000ull
#define B_GPA 0x10000ull
#define B_LEN 0x8000ull
#define C_GPA 0x100000ull
#define C_LEN 0x1800ull
/* Seconds after which a hung fault ends the program. */
#define WATCHDOG 120
/* Milliseconds the tests wait for something the kernel does at once. */
#define POLL_MS 10000

static bool have_uffd;
static bool no_syscall; /* vmmem_uffd_open() said -ENOTSUP */

struct fixture {
	struct vmmem *mem;
	int uffd;
	/* The handler thread (serve()), when started. */
	pthread_t thread;
	bool running;
	int stop;	 /* eventfd: tells the thread to end */
	bool zero;	 /* serve zero pages instead of the pattern */
	unsigned served; /* atomic: pages the thread placed */
	int err;	 /* the thread's first error */
};

/* What the handler thread writes: byte i of guest-physical page gpa. */
static unsigned char pattern_byte(uint64_t gpa, size_t i)
{
	uint64_t x = (gpa + i) * 0x9e3779b97f4a7c15ull;

	return (unsigned char)(x >> 56) ^ (unsigned char)i;
}

static void fill_pattern(unsigned char *buf, uint64_t gpa, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pattern_byte(gpa, i);
}

static int group_setup(void **state)
{
	int fd, rc;

	(void)state;
	rc = vmmem_uffd_open(O_CLOEXEC | O_NONBLOCK, &fd);
	if (rc == 0) {
		have_uffd = true;
		close(fd);
	} else if (rc == -ENOTSUP) {
		/* ENOSYS from the system call: qemu-user does not emulate
		 * it, and a kernel may be built without it. */
		no_syscall = true;
		print_message("uffd: no userfaultfd system call here (a "
			      "kernel without it, or qemu-user, which does "
			      "not emulate it): skipping\n");
	} else if (rc == -EPERM) {
		print_message("uffd: no userfaultfd for this process (%s); "
			      "it needs root, CAP_SYS_PTRACE, "
			      "vm.unprivileged_userfaultfd = 1 or access to "
			      "/dev/userfaultfd: skipping\n",
			      strerror(-rc));
	} else {
		/* Anything else is a failure, not a reason to skip. */
		print_message("uffd: vmmem_uffd_open: %s\n", strerror(-rc));
		return -1;
	}
	return 0;
}

static int setup(void **state)
{
	static const struct vmmem_range ranges[] = { { A_GPA, A_LEN },
						     { B_GPA, B_LEN },
						     { C_GPA, C_LEN } };
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	*state = f;
	f->uffd = -1;
	f->stop = -1;
	sysmock_reset();
	if (!have_uffd)
		return 0;
	if (vmmem_create_anon(ranges, 3, 0, &f->mem) ||
	    vmmem_uffd_open(O_CLOEXEC | O_NONBLOCK, &f->uffd))
		return -1;
	f->stop = eventfd(0, EFD_CLOEXEC);
	return f->stop < 0 ? -1 : 0;
}

static void stop_thread(struct fixture *f)
{
	uint64_t one = 1;

	if (!f->running)
		return;
	assert_int_equal(write(f->stop, &one, sizeof(one)), sizeof(one));
	pthread_join(f->thread, NULL);
	f->running = false;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	stop_thread(f);
	if (f->stop >= 0)
		close(f->stop);
	if (f->uffd >= 0)
		close(f->uffd);
	vmmem_destroy(f->mem);
	free(f);
	return 0;
}

/* The fixture, or skip the test when there is no userfaultfd. */
static struct fixture *need_uffd(void **state)
{
	if (!have_uffd)
		skip();
	return *state;
}

/* Host address of guest-physical gpa in the fixture's memory. */
static uint64_t hva_of(struct fixture *f, vmmem_gpa_t gpa)
{
	struct vmmem_region *r;

	assert_int_equal(vmmem_find_region(f->mem, gpa, &r), 0);
	return (uintptr_t)vmmem_region_hva(r) + (gpa - vmmem_region_gpa(r));
}

/* The guest-physical page a faulting host address belongs to. */
static int gpa_of(struct fixture *f, uint64_t hva, vmmem_gpa_t *gpa)
{
	size_t i;

	for (i = 0; i < vmmem_region_count(f->mem); i++) {
		struct vmmem_region *r = vmmem_region_at(f->mem, i);
		uint64_t base = (uintptr_t)vmmem_region_hva(r);

		if (hva - base <
		    ((vmmem_region_len(r) + PAGE - 1) & ~(PAGE - 1))) {
			*gpa = vmmem_region_gpa(r) + (hva - base);
			return 0;
		}
	}
	return -EFAULT;
}

/* Serve one fault: the pattern of its page, or a zero page. */
static int serve_fault(struct fixture *f, uint64_t addr)
{
	unsigned char buf[PAGE];
	uint64_t page = addr & ~(uint64_t)(PAGE - 1);
	vmmem_gpa_t gpa;
	int rc;

	rc = gpa_of(f, page, &gpa);
	if (rc)
		return rc;
	if (f->zero) {
		rc = vmmem_uffd_zero(f->uffd, page, PAGE);
	} else {
		fill_pattern(buf, gpa, PAGE);
		rc = vmmem_uffd_copy(f->uffd, page, buf, PAGE);
	}
	if (rc == 0)
		__atomic_fetch_add(&f->served, 1, __ATOMIC_RELAXED);
	return rc;
}

/* The handler thread: reads faults until told to stop. */
static void *serve(void *arg)
{
	struct fixture *f = arg;
	struct pollfd p[2] = { { .fd = f->uffd, .events = POLLIN },
			       { .fd = f->stop, .events = POLLIN } };
	struct uffd_msg msg[16];

	for (;;) {
		ssize_t n, i;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		n = read(f->uffd, msg, sizeof(msg));
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n < 0) {
			f->err = -errno;
			break;
		}
		for (i = 0; i < n / (ssize_t)sizeof(msg[0]); i++) {
			int rc;

			if (msg[i].event != UFFD_EVENT_PAGEFAULT)
				continue;
			rc = serve_fault(f, msg[i].arg.pagefault.address);
			if (rc && !f->err)
				f->err = rc;
		}
	}
	return NULL;
}

static void start_thread(struct fixture *f)
{
	assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
	f->running = true;
}

/* Whether [gpa, gpa + len) holds the pattern. */
static void assert_pattern(struct fixture *f, vmmem_gpa_t gpa, size_t len)
{
	unsigned char *got = malloc(len), *want = malloc(len);
	size_t k;

	assert_non_null(got);
	assert_non_null(want);
	assert_int_equal(vmmem_read(f->mem, gpa, got, len), 0);
	for (k = 0; k < len; k++)
		want[k] = pattern_byte((gpa + k) & ~(uint64_t)(PAGE - 1),
				       (gpa + k) & (PAGE - 1));
	assert_memory_equal(got, want, len);
	free(got);
	free(want);
}

static void assert_zero(struct fixture *f, vmmem_gpa_t gpa, size_t len)
{
	unsigned char *got = malloc(len), *want = calloc(1, len);

	assert_non_null(got);
	assert_non_null(want);
	assert_int_equal(vmmem_read(f->mem, gpa, got, len), 0);
	assert_memory_equal(got, want, len);
	free(got);
	free(want);
}

static void test_uffd_open_returns_a_userfaultfd(void **state)
{
	char link[64], target[64];
	ssize_t n;
	int fd;

	(void)need_uffd(state);
	assert_int_equal(vmmem_uffd_open(O_CLOEXEC | O_NONBLOCK, &fd), 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "anon_inode:[userfaultfd]");
	close(fd);
}

static void test_uffd_open_honours_absent_flags(void **state)
{
	int fd;

	(void)need_uffd(state);
	assert_int_equal(vmmem_uffd_open(0, &fd), 0);
	assert_false(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
}

static void test_uffd_open_rejects_unknown_flags(void **state)
{
	int fd = 7;

	(void)state;
	assert_int_equal(vmmem_uffd_open(O_RDWR, &fd), -EINVAL);
	assert_int_equal(fd, -1);
	assert_int_equal(vmmem_uffd_open(O_CLOEXEC | O_APPEND, &fd), -EINVAL);
	assert_int_equal(vmmem_uffd_open(O_CLOEXEC, NULL), -EINVAL);
}

/* Whether the sysctl refuses kernel-fault userfaultfds to unprivileged
 * users (vm.unprivileged_userfaultfd = 0, the default). */
static bool unprivileged_refused(void)
{
	FILE *fp = fopen("/proc/sys/vm/unprivileged_userfaultfd", "r");
	int allowed = 1;

	if (fp) {
		if (fscanf(fp, "%d", &allowed) != 1)
			allowed = 1;
		fclose(fp);
	}
	return allowed == 0;
}

/* Whether this process can become a user the sysctl refuses (root, the
 * sysctl at 0, no /dev/userfaultfd that anyone may open, which would let
 * anyone in). */
static bool refused_user_available(void)
{
	struct stat st;

	return geteuid() == 0 && unprivileged_refused() &&
	       !(stat("/dev/userfaultfd", &st) == 0 && (st.st_mode & 0006));
}

/* Run check() in a child as nobody, with no capabilities left; it must
 * return true. */
static void as_nobody(bool (*check)(void))
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(3);
		_exit(check() ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static bool plain_open_refused(void)
{
	int fd;

	return vmmem_uffd_open(O_CLOEXEC, &fd) == -EPERM && fd == -1;
}

static void test_uffd_open_reports_eperm_without_privilege(void **state)
{
	(void)state;
	if (no_syscall) {
		print_message("uffd: no userfaultfd system call to refuse "
			      "here: skipping\n");
		skip();
	}
	if (!refused_user_available()) {
		print_message("uffd: cannot drop to a user that is refused "
			      "here: skipping\n");
		skip();
	}
	as_nobody(plain_open_refused);
}

/* Where the SIGBUS handler of the test below returns to, and the address
 * it was given. */
static sigjmp_buf bus_jump;
static void *volatile bus_addr;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	(void)ctx;
	bus_addr = si->si_addr;
	siglongjmp(bus_jump, 1);
}

/* With VMMEM_UFFD_SIGBUS nobody has to read the userfaultfd: copies place
 * pages as ever, and a page not placed fails at once: EFAULT for the
 * kernel, SIGBUS for this thread. Without the flag both would wait
 * forever (the watchdog would end the program). */
static void test_uffd_open_sigbus_faults_never_wait(void **state)
{
	struct fixture *f = need_uffd(state);
	struct sigaction sa = { .sa_sigaction = on_sigbus,
				.sa_flags = SA_SIGINFO }, old;
	volatile unsigned char *p1;
	unsigned char buf[PAGE];
	int fd, pipefd[2];

	assert_int_equal(vmmem_uffd_open(O_CLOEXEC | VMMEM_UFFD_SIGBUS, &fd),
			 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_false(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_int_equal(vmmem_uffd_register(f->mem, fd), 0);
	fill_pattern(buf, A_GPA, PAGE);
	assert_int_equal(vmmem_uffd_copy(fd, hva_of(f, A_GPA), buf, PAGE), 0);
	assert_pattern(f, A_GPA, PAGE);
	/* The kernel reads a page not placed: EFAULT. */
	p1 = (volatile unsigned char *)(uintptr_t)hva_of(f, A_GPA + PAGE);
	assert_int_equal(pipe(pipefd), 0);
	errno = 0;
	assert_int_equal(write(pipefd[1], (const void *)p1, PAGE), -1);
	assert_int_equal(errno, EFAULT);
	close(pipefd[0]);
	close(pipefd[1]);
	/* This thread reads it: SIGBUS at that address. */
	bus_addr = NULL;
	assert_int_equal(sigaction(SIGBUS, &sa, &old), 0);
	if (!sigsetjmp(bus_jump, 1))
		(void)*p1;
	assert_int_equal(sigaction(SIGBUS, &old, NULL), 0);
	assert_ptr_equal(bus_addr, (void *)p1);
	/* Placed, it reads as placed. */
	fill_pattern(buf, A_GPA + PAGE, PAGE);
	assert_int_equal(
		vmmem_uffd_copy(fd, hva_of(f, A_GPA + PAGE), buf, PAGE), 0);
	assert_pattern(f, A_GPA, 2 * PAGE);
	assert_int_equal(vmmem_uffd_unregister(f->mem, fd), 0);
	close(fd);
}

/* Linux 5.11 or later: user-mode-only userfaultfds. */
static bool kernel_has_user_mode_only(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 5 || (major == 5 && minor >= 11);
}

static bool sigbus_open_allowed(void)
{
	int fd;

	return plain_open_refused() &&
	       vmmem_uffd_open(O_CLOEXEC | VMMEM_UFFD_SIGBUS, &fd) == 0 &&
	       fd >= 0;
}

/* Where a plain userfaultfd is refused to a user, a VMMEM_UFFD_SIGBUS one
 * is not: it handles no kernel faults. */
static void test_uffd_open_sigbus_needs_no_privilege(void **state)
{
	(void)need_uffd(state);
	if (!refused_user_available() || !kernel_has_user_mode_only()) {
		print_message("uffd: no refused user or no Linux 5.11 here: "
			      "skipping\n");
		skip();
	}
	as_nobody(sigbus_open_allowed);
}

static void test_uffd_register_serves_faults_from_a_handler_thread(void **state)
{
	struct fixture *f = need_uffd(state);

	assert_int_equal(vmmem_uffd_register(f->mem, f->uffd), 0);
	start_thread(f);
	/* One read across A and B, one in C: every page faults once. */
	assert_pattern(f, A_GPA, A_LEN + B_LEN);
	assert_pattern(f, C_GPA, C_LEN);
	stop_thread(f);
	assert_int_equal(f->err, 0);
	assert_int_equal(f->served, (A_LEN + B_LEN) / PAGE + 2);
	/* Placed pages stay: reading again faults no more. */
	assert_pattern(f, A_GPA + 0x3000, 0x5000);
	assert_int_equal(f->served, (A_LEN + B_LEN) / PAGE + 2);
}

static void test_uffd_register_rounds_a_region_up_to_whole_pages(void **state)
{
	struct fixture *f = need_uffd(state);

	assert_int_equal(vmmem_uffd_register(f->mem, f->uffd), 0);
	start_thread(f);
	/* The last byte of C lies in its second, half-used, page. */
	assert_pattern(f, C_GPA + C_LEN - 1, 1);
	stop_thread(f);
	assert_int_equal(f->served, 1);
}

static void test_uffd_zero_pages_read_as_zero(void **state)
{
	struct fixture *f = need_uffd(state);

	assert_int_equal(vmmem_uffd_register(f->mem, f->uffd), 0);
	f->zero = true;
	start_thread(f);
	assert_zero(f, A_GPA, A_LEN);
	stop_thread(f);
	assert_int_equal(f->err, 0);
	assert_int_equal(f->served, A_LEN / PAGE);
	/* A zero page takes writes like any other. */
	assert_int_equal(vmmem_write_u64(f->mem, A_GPA + 0x2000, 42), 0);
	assert_int_equal(*(uint64_t *)(uintptr_t)hva_of(f, A_GPA + 0x2000), 42);
}

static void test_uffd_copy_treats_present_pages_as_done(void **state)
{
	struct fixture *f = need_uffd(state);
	unsigned char *old = malloc(PAGE), *buf = malloc(8 * PAGE);

	assert_non_null(old);
	assert_non_null(buf);
	assert_int_equal(vmmem_uffd_register(f->mem, f->uffd), 0);
	/* Page 3 is there first, with other data. */
	memset(old, 0x5a, PAGE);
	assert_int_equal(
		vmmem_uffd_copy(f->uffd, hva_of(f, 3 * PAGE), old, PAGE), 0);
	/* Pages 0-7: the kernel copies 0-2, stops at 3 (EEXIST after a
	 * partial copy), and the rest goes on from 4. */
	for (int i = 0; i < 8; i++)
		fill_pattern(buf + i * PAGE, i * PAGE, PAGE);
	assert_int_equal(vmmem_uffd_copy(f->uffd, hva_of(f, 0), buf, 8 * PAGE),
			 0);
	assert_pattern(f, 0, 3 * PAGE);
	assert_memory_equal((void *)(uintptr_t)hva_of(f, 3 * PAGE), old, PAGE);
	assert_pattern(f, 4 * PAGE, 4 * PAGE);
	/* All of it present: a copy over it succeeds and changes nothing. */
	assert_int_equal(vmmem_uffd_copy(f->uffd, hva_of(f, 0), buf, 8 * PAGE),
			 0);
	assert_memory_equal((void *)(uintptr_t)hva_of(f, 3 * PAGE), old, PAGE);
	free(old);
	free(buf);
}

static void test_uffd_zero_treats_present_pages_as_done(void **state)
{
	struct fixture *f = need_uffd(state);
	unsigned char buf[PAGE];

	assert_int_equal(vmmem_uffd_register(f->mem, f->uffd), 0);
	fill_pattern(buf, B_GPA + PAGE, PAGE);
	assert_int_equal(
		vmmem_uffd_copy(f->uffd, hva_of(f, B_GPA + PAGE), buf, PAGE),
		0);
	assert_int_equal(vmmem_uffd_zero(f->uffd, hva_of(f, B_GPA), B_LEN), 0);
	assert_zero(f, B_GPA, PAGE);
	assert_pattern(f, B_GPA + PAGE, PAGE);
	assert_zero(f, B_GPA + 2 * PAGE, B_LEN - 2 * PAGE);
}

static void test_uffd_copy_rejects_bad_ranges(void **state)
{
	struct fixture *f = need_uffd(state);
	unsigned char buf[2 * PAGE] = { 0 };
	uint64_t hva = hva_of(f, A_GPA);

	assert_int_equal(vmmem_uffd_copy(f->uffd, hva + 1, buf, PAGE), -EINVAL);
	assert_int_equal(vmmem_uffd_copy(f->uffd, hva, buf, 100), -EINVAL);
	assert_int_equal(vmmem_uffd_copy(f->uffd, hva, buf, 0), -EINVAL);
	assert_int_equal(vmmem_uffd_copy(f->uffd, hva, NULL, PAGE), -EINVAL);
	assert_int_equal(
		vmmem_uffd_copy(f->uffd, -(uint64_t)PAGE, buf, 2 * PAGE),
		-EINVAL);
}

static void test_uffd_zero_rejects_bad_ranges(void **state)
{
	struct fixture *f = need_uffd(state);
	uint64_t hva = hva_of(f, A_GPA);

	assert_int_equal(vmmem_uffd_zero(f->uffd, hva + 8, PAGE), -EINVAL);
	assert_int_equal(vmmem_uffd_zero(f->uffd, hva, PAGE + 1), -EINVAL);
	assert_int_equal(vmmem_uffd_zero(f->uffd, hva, 0), -EINVAL);
	assert_int_equal(vmmem_uffd_zero(f->uffd, -(uint64_t)PAGE, 2 * PAGE),
			 -EINVAL);
}

static void test_uffd_wake_rejects_bad_ranges(void **state)
{
	struct fixture *f = need_uffd(state);
	uint64_t hva = hva_of(f, A_GPA);

	assert_int_equal(vmmem_uffd_wake(f->uffd, hva + 1, PAGE), -EINVAL);
	assert_int_equal(vmmem_uffd_wake(f->uffd, hva, 0), -EINVAL);
	assert_int_equal(vmmem_uffd_wake(f->uffd, hva, PAGE), 0);
}

static void test_uffd_copy_outside_a_registered_range_fails(void **state)
{
	struct fixture *f = need_uffd(state);
	unsigned char buf[PAGE] = { 0 };

	/* Nothing registered yet. */
	assert_int_equal(vmmem_uffd_copy(f->uffd, hva_of(f, A_GPA), buf, PAGE),
			 -ENOENT);
	assert_int_equal(vmmem_uffd_zero(f->uffd, hva_of(f, A_GPA), PAGE),
			 -ENOENT);
}

struct remover {
	void *hva;
	int rc;
};

static void *remove_page(void *arg)
{
	struct remover *r = arg;

	r->rc = madvise(r->hva, PAGE, MADV_DONTNEED) ? -errno : 0;
	return NULL;
}

static void test_uffd_copy_returns_eagain_while_a_remove_is_unread(void **state)
{
	struct fixture *f = need_uffd(state);
	struct pollfd p = { .fd = -1, .events = POLLIN };
	unsigned char buf[PAGE];
	struct remover rm;
	struct uffd_msg msg;
	pthread_t t;

	assert_int_equal(vmmem_uffd_register(f->mem, f->uffd), 0);
	fill_pattern(buf, A_GPA, PAGE);
	assert_int_equal(vmmem_uffd_copy(f->uffd, hva_of(f, A_GPA), buf, PAGE),
			 0);
	/* Dropping page 0 queues a REMOVE event, and madvise() waits until
	 * it is read. */
	rm.hva = (void *)(uintptr_t)hva_of(f, A_GPA);
	rm.rc = 1;
	assert_int_equal(pthread_create(&t, NULL, remove_page, &rm), 0);
	p.fd = f->uffd;
	assert_int_equal(poll(&p, 1, POLL_MS), 1);
	/* Until then the address space is "changing": copies are refused. */
	fill_pattern(buf, A_GPA + 5 * PAGE, PAGE);
	assert_int_equal(vmmem_uffd_copy(f->uffd, hva_of(f, A_GPA + 5 * PAGE),
					 buf, PAGE),
			 -EAGAIN);
	assert_int_equal(
		vmmem_uffd_zero(f->uffd, hva_of(f, A_GPA + 6 * PAGE), PAGE),
		-EAGAIN);
	assert_int_equal(read(f->uffd, &msg, sizeof(msg)), sizeof(msg));
	assert_int_equal(msg.event, UFFD_EVENT_REMOVE);
	assert_int_equal(msg.arg.remove.start, hva_of(f, A_GPA));
	assert_int_equal(msg.arg.remove.end, hva_of(f, A_GPA) + PAGE);
	pthread_join(t, NULL);
	assert_int_equal(rm.rc, 0);
	/* Read and done: copies work again, and page 0 is missing again. */
	assert_int_equal(vmmem_uffd_copy(f->uffd, hva_of(f, A_GPA + 5 * PAGE),
					 buf, PAGE),
			 0);
	fill_pattern(buf, A_GPA, PAGE);
	assert_int_equal(vmmem_uffd_copy(f->uffd, hva_of(f, A_GPA), buf, PAGE),
			 0);
	assert_pattern(f, A_GPA, PAGE);
	assert_pattern(f, A_GPA + 5 * PAGE, PAGE);
}

static void test_uffd_register_refuses_memfd_regions(void **state)
{
	struct fixture *f = need_uffd(state);
	struct vmmem_region *r;
	struct vmmem *mem;

	assert_int_equal(vmmem_region_create_memfd(0, 0x4000, 0, NULL, &r), 0);
	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	vmmem_region_destroy(r);
	assert_int_equal(vmmem_uffd_register(mem, f->uffd), -ENOTSUP);
	assert_int_equal(vmmem_uffd_unregister(mem, f->uffd), -ENOTSUP);
	vmmem_destroy(mem);
}

static void test_uffd_register_refuses_file_regions(void **state)
{
	struct fixture *f = need_uffd(state);
	struct vmmem_region *r;
	struct vmmem *mem;
	int fd = open("/tmp", O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 0x4000), 0);
	/* Copy-on-write file mappings too: their pages come from the file. */
	assert_int_equal(vmmem_region_create_file(
				 0, 0x4000, VMMEM_REGION_PRIVATE, fd, 0, &r),
			 0);
	close(fd);
	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	vmmem_region_destroy(r);
	assert_int_equal(vmmem_uffd_register(mem, f->uffd), -ENOTSUP);
	vmmem_destroy(mem);
}

static void test_uffd_register_refuses_borrowed_regions(void **state)
{
	struct fixture *f = need_uffd(state);
	struct vmmem_region *r;
	struct vmmem *mem;
	void *p = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	assert_int_equal(vmmem_region_create_borrowed(0, 0x4000, 0, p, &r), 0);
	assert_int_equal(vmmem_create(&r, 1, &mem), 0);
	vmmem_region_destroy(r);
	assert_int_equal(vmmem_uffd_register(mem, f->uffd), -ENOTSUP);
	vmmem_destroy(mem);
	munmap(p, 0x4000);
}

/* A set of the fixture's A and a memfd region: refused as a whole. */
static void test_uffd_register_refuses_a_mixed_set_whole(void **state)
{
	struct fixture *f = need_uffd(state);
	struct vmmem_region *r[2];
	struct vmmem *mem;
	int other;

	assert_int_equal(vmmem_find_region(f->mem, A_GPA, &r[0]), 0);
	assert_int_equal(
		vmmem_region_create_memfd(0x800000, 0x4000, 0, NULL, &r[1]), 0);
	assert_int_equal(vmmem_create(r, 2, &mem), 0);
	vmmem_region_destroy(r[1]);
	assert_int_equal(vmmem_uffd_register(mem, f->uffd), -ENOTSUP);
	vmmem_destroy(mem);
	/* A was left alone: another userfaultfd may take it. */
	assert_int_equal(vmmem_uffd_open(O_CLOEXEC, &other), 0);
	assert_int_equal(vmmem_uffd_register(f->mem, other), 0);
	close(other);
}

static void test_uffd_register_undoes_earlier_regions_on_failure(void **state)
{
	struct fixture *f = need_uffd(state);
	struct vmmem_region *b;
	struct vmmem *only_b, *only_a;
	struct vmmem_region *a;
	int other, third;

	/* B belongs to another userfaultfd already. */
	assert_int_equal(vmmem_find_region(f->mem, B_GPA, &b), 0);
	assert_int_equal(vmmem_create(&b, 1, &only_b), 0);
	assert_int_equal(vmmem_uffd_open(O_CLOEXEC, &other), 0);
	assert_int_equal(vmmem_uffd_register(only_b, other), 0);
	/* A registers, B fails: A must be undone. */
	assert_int_equal(vmmem_uffd_register(f->mem, f->uffd), -EBUSY);
	assert_int_equal(vmmem_find_region(f->mem, A_GPA, &a), 0);
	assert_int_equal(vmmem_create(&a, 1, &only_a), 0);
	assert_int_equal(vmmem_uffd_open(O_CLOEXEC, &third), 0);
	assert_int_equal(vmmem_uffd_register(only_a, third), 0);
	close(third);
	close(other);
	vmmem_destroy(only_a);
	vmmem_destroy(only_b);
}

static void test_uffd_register_rejects_bad_arguments(void **state)
{
	struct fixture *f = need_uffd(state);
	int pipefd[2];

	assert_int_equal(vmmem_uffd_register(NULL, f->uffd), -EINVAL);
	assert_int_equal(vmmem_uffd_register(f->mem, -1), -EBADF);
	assert_int_equal(vmmem_uffd_unregister(NULL, f->uffd), -EINVAL);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(vmmem_uffd_register(f->mem, pipefd[0]), -ENOTTY);
	close(pipefd[0]);
	close(pipefd[1]);
}

static void test_uffd_register_accepts_an_empty_set(void **state)
{
	struct fixture *f = need_uffd(state);
	struct vmmem *mem;

	assert_int_equal(vmmem_create(NULL, 0, &mem), 0);
	assert_int_equal(vmmem_uffd_register(mem, f->uffd), 0);
	assert_int_equal(vmmem_uffd_unregister(mem, f->uffd), 0);
	vmmem_destroy(mem);
}

static void test_uffd_unregister_leaves_missing_pages_reading_zero(void **state)
{
	struct fixture *f = need_uffd(state);
	unsigned char buf[PAGE];

	assert_int_equal(vmmem_uffd_register(f->mem, f->uffd), 0);
	fill_pattern(buf, A_GPA, PAGE);
	assert_int_equal(vmmem_uffd_copy(f->uffd, hva_of(f, A_GPA), buf, PAGE),
			 0);
	assert_int_equal(vmmem_uffd_unregister(f->mem, f->uffd), 0);
	/* No handler runs: these reads would hang if still registered. */
	assert_pattern(f, A_GPA, PAGE);
	assert_zero(f, A_GPA + PAGE, A_LEN - PAGE);
	assert_zero(f, C_GPA, C_LEN);
	/* And the ioctls no longer reach it. */
	assert_int_equal(vmmem_uffd_zero(f->uffd, hva_of(f, B_GPA), PAGE),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_uffd_open_returns_a_userfaultfd),
		T(test_uffd_open_honours_absent_flags),
		T(test_uffd_open_rejects_unknown_flags),
		T(test_uffd_open_reports_eperm_without_privilege),
		T(test_uffd_open_sigbus_faults_never_wait),
		T(test_uffd_open_sigbus_needs_no_privilege),
		T(test_uffd_register_serves_faults_from_a_handler_thread),
		T(test_uffd_register_rounds_a_region_up_to_whole_pages),
		T(test_uffd_zero_pages_read_as_zero),
		T(test_uffd_copy_treats_present_pages_as_done),
		T(test_uffd_zero_treats_present_pages_as_done),
		T(test_uffd_copy_rejects_bad_ranges),
		T(test_uffd_zero_rejects_bad_ranges),
		T(test_uffd_wake_rejects_bad_ranges),
		T(test_uffd_copy_outside_a_registered_range_fails),
		T(test_uffd_copy_returns_eagain_while_a_remove_is_unread),
		T(test_uffd_register_refuses_memfd_regions),
		T(test_uffd_register_refuses_file_regions),
		T(test_uffd_register_refuses_borrowed_regions),
		T(test_uffd_register_refuses_a_mixed_set_whole),
		T(test_uffd_register_undoes_earlier_regions_on_failure),
		T(test_uffd_register_rejects_bad_arguments),
		T(test_uffd_register_accepts_an_empty_set),
		T(test_uffd_unregister_leaves_missing_pages_reading_zero),
#undef T
	};

	alarm(WATCHDOG);
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
