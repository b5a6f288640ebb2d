/* SPDX-License-Identifier: MIT */
/*
 * lazy.c - restore with guest memory served on demand by a page-fault
 * handler: Firecracker's `Uffd` memory backend.
 *
 * Guest RAM is empty anonymous memory registered with a userfaultfd
 * (libvmmem's uffd.h). minivmm connects to the handler's Unix socket and
 * sends, in one message, the userfaultfd (SCM_RIGHTS) and the JSON array of
 * Firecracker's GuestRegionUffdMapping objects, one per region in GPA
 * order: {"base_host_virt_addr", "size", "offset", "page_size"}, offset
 * being the region's place in the memory file. Then the state is restored
 * and the vCPUs run; each first touch of a page waits until the handler
 * places it.
 *
 * A handler that dies or stops answering would leave the threads that
 * touch guest memory waiting forever, the main thread included (device
 * models read the rings). So a watchdog thread that never touches guest
 * memory watches the handler: its end of the socket closing, anything it
 * sends (the protocol has no reply), or a fault nobody has read for
 * LAZY_DEADLINE_MS. Any of these ends the process at once with one line
 * and status VMM_EXIT_HANDLER: its vCPUs may be stuck in the kernel, so it
 * does not wait for them. minivmm keeps its own copy of the userfaultfd
 * open, so that a dead handler leaves faults waiting rather than filled
 * with zeros.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>
#include <vmmem/uffd.h>

#include "lazy.h"
#include "machine.h"
#include "term.h"
#include "util.h"

/* How long a fault may wait unread before the handler counts as stuck. */
#define LAZY_DEADLINE_MS 10000
/* The watchdog looks this often. */
#define LAZY_TICK_MS 100

struct lazy {
	int uffd;		/* our copy: faults wait if the handler dies */
	int sock;		/* the connection to the handler */
	int stop_fd;		/* eventfd: the watchdog ends */
	int deadline_ms;
	pthread_t thread;
	bool running;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The end: one line, the terminal back, no waiting for stuck threads. */
static void handler_failed(const char *why)
{
	pr_err("the page-fault handler %s; guest memory can no longer be "
	       "served, stopping", why);
	term_restore();
	_exit(VMM_EXIT_HANDLER);
}

static void *watchdog(void *arg)
{
	struct lazy *l = arg;
	double since = 0;

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = l->sock, .events = POLLIN | POLLRDHUP },
			{ .fd = l->stop_fd, .events = POLLIN },
			{ .fd = l->uffd, .events = POLLIN },
		};
		char c;
		int n = poll(p, 3, LAZY_TICK_MS);

		if (n < 0 && errno == EINTR)
			continue;
		if (p[1].revents)
			return NULL;
		if (p[0].revents) {
			ssize_t got = recv(l->sock, &c, 1, MSG_DONTWAIT);

			if (got > 0)
				handler_failed("sent data (the protocol has "
					       "none)");
			if (got == 0 || (p[0].revents & (POLLHUP | POLLRDHUP |
							 POLLERR)))
				handler_failed("closed its connection");
		}
		/* A fault the handler has not read yet keeps the uffd
		 * readable; one that stays so past the deadline means the
		 * handler stopped reading. */
		if (p[2].revents & POLLIN) {
			if (!since)
				since = now_ms();
			else if (now_ms() - since > l->deadline_ms)
				handler_failed("has left a page fault "
					       "unanswered past its deadline");
		} else {
			since = 0;
		}
	}
}

/* The mapping message: a JSON array, Firecracker's field names. */
static char *mappings(struct vmmem *mem)
{
	json_t *arr = json_array();
	uint64_t off = 0;
	char *text = NULL;
	size_t i;

	for (i = 0; arr && i < vmmem_region_count(mem); i++) {
		struct vmmem_region *r = vmmem_region_at(mem, i);
		json_t *o = json_pack(
			"{s:I, s:I, s:I, s:I}", "base_host_virt_addr",
			(json_int_t)(uintptr_t)vmmem_region_hva(r), "size",
			(json_int_t)vmmem_region_len(r), "offset",
			(json_int_t)off, "page_size",
			(json_int_t)VMMEM_UFFD_PAGE_SIZE);

		if (!o || json_array_append_new(arr, o))
			goto out;
		off += vmmem_region_len(r);
	}
	text = json_dumps(arr, JSON_COMPACT);
out:
	json_decref(arr);
	return text;
}

static int send_uffd(int sock, int uffd, const char *text)
{
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)text, strlen(text) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &uffd, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == iov.iov_len ? 0 : -EMSGSIZE;
}

static int connect_to(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "page-fault handler socket path too "
			 "long: %s", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		snprintf(err, errlen, "page-fault handler %s: %s", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

int lazy_map(struct machine *m, const struct machine_shape *sh,
	     const char *sock_path, char *err, size_t errlen)
{
	struct vmmem_range r[MACHINE_MAX_REGIONS];
	struct lazy *l;
	const char *v;
	char *text = NULL;
	unsigned i;
	int rc;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->uffd = l->sock = l->stop_fd = -1;
	v = getenv("MINIVMM_UFFD_DEADLINE_MS");	/* a testing aid */
	l->deadline_ms = v && atoi(v) > 0 ? atoi(v) : LAZY_DEADLINE_MS;
	for (i = 0; i < sh->nregions; i++)
		r[i] = (struct vmmem_range){ sh->gpa[i], sh->len[i] };
	/* Bitmaps as always: a migration turns KVM's log on later. */
	rc = vmmem_create_anon(r, sh->nregions, VMMEM_REGION_DIRTY_LOG,
			       &m->mem);
	if (rc) {
		snprintf(err, errlen, "cannot allocate guest memory: %s",
			 strerror(-rc));
		goto err;
	}
	/* Non-blocking, so that poll() tells whether a fault waits unread. */
	rc = vmmem_uffd_open(O_CLOEXEC | O_NONBLOCK, &l->uffd);
	if (!rc)
		rc = vmmem_uffd_register(m->mem, l->uffd);
	if (rc) {
		snprintf(err, errlen, "userfaultfd: %s%s", strerror(-rc),
			 rc == -EPERM ? " (see vm.unprivileged_userfaultfd)" :
					"");
		goto err;
	}
	l->sock = connect_to(sock_path, err, errlen);
	if (l->sock < 0) {
		rc = l->sock;
		goto err;
	}
	text = mappings(m->mem);
	rc = text ? send_uffd(l->sock, l->uffd, text) : -ENOMEM;
	free(text);
	if (rc) {
		snprintf(err, errlen, "sending to the page-fault handler: %s",
			 strerror(-rc));
		goto err;
	}
	l->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (l->stop_fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto err;
	}
	/* From now on guest memory depends on the handler: watch it before
	 * the restore itself reads any. */
	rc = -pthread_create(&l->thread, NULL, watchdog, l);
	if (rc) {
		snprintf(err, errlen, "cannot start a thread: %s",
			 strerror(-rc));
		goto err;
	}
	l->running = true;
	m->lazy = l;
	return 0;

err:
	m->lazy = l;
	lazy_fini(m);
	vmmem_destroy(m->mem);
	m->mem = NULL;
	return rc;
}

void lazy_fini(struct machine *m)
{
	struct lazy *l = m->lazy;
	uint64_t one = 1;

	if (!l)
		return;
	if (l->running) {
		if (write(l->stop_fd, &one, sizeof(one)) < 0)
			pr_debug("lazy: %s", strerror(errno));
		pthread_join(l->thread, NULL);
	}
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	if (l->sock >= 0)
		close(l->sock);
	if (l->uffd >= 0)
		close(l->uffd);
	free(l);
	m->lazy = NULL;
}
