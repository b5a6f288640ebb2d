/* SPDX-License-Identifier: MIT */
/*
 * uffd-handler - serve a lazily restored VMM's page faults from a snapshot's
 * memory file, with Firecracker's Uffd protocol.
 *
 * The handler listens on a Unix socket and accepts one connection from the
 * VMM, which sends, in one message, its userfaultfd (SCM_RIGHTS) and a JSON
 * array of GuestRegionUffdMapping objects:
 *
 *   [{"base_host_virt_addr": 140000000000000, "size": 268435456,
 *     "offset": 0, "page_size": 4096}, ...]
 *
 * (older senders give "page_size_kib": 4 instead of "page_size"). Region i
 * covers the VMM's host addresses [base, base + size), backed by the memory
 * file's bytes [offset, offset + size). From then on every MISSING fault in
 * a region is answered with the page of the memory file (UFFDIO_COPY) or,
 * for a hole of the sparse file, a zero page (UFFDIO_ZEROPAGE). The handler
 * ends when the VMM closes the connection.
 *
 * With --prefetch, the page offsets faulted during a run are saved, and a
 * later run places all of them before it answers the first fault.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <vmmem/uffd.h>

#define PAGE ((uint64_t)VMMEM_UFFD_PAGE_SIZE)

/* Bounds on what the VMM may send. */
/*
 * Bytes of the handshake message. It is read with one recvmsg, which on a
 * Unix stream socket returns at most one of the kernel's buffers (about
 * 36 KiB), so a longer message could not arrive whole anyway; 256 regions
 * take about 28 KiB.
 */
#define MAX_MSG (32 * 1024)
#define MAX_REGIONS 256	   /* entries of its JSON array */
#define HANDSHAKE_MS 10000 /* from connection to message */
/* Bounds on the work of one wake-up of the serving loop. */
#define BATCH 64  /* uffd messages per read */
#define ROUNDS 16 /* reads before the socket is looked at */
/* Faults whose copy met EAGAIN, retried after the events are read. */
#define MAX_PENDING 1024
#define PENDING_TRIES 1000
/* Per-fault complaints shown before the rest are only counted. */
#define MAX_COMPLAINTS 10

#define WS_HEADER "# uffd-handler working set: memory file page offsets\n"

static const char usage[] =
	"usage: uffd-handler [--prefetch WS] [--stats] SOCKET MEMFILE\n"
	"Serves the page faults of a VMM restoring a snapshot lazily: listens\n"
	"on the Unix socket SOCKET (created, mode 0600; it must not exist),\n"
	"prints \"ready\" on stdout, accepts one connection, receives the\n"
	"userfaultfd and the JSON region list, and answers each fault with\n"
	"the page of MEMFILE (a zero page for a hole). Exits when the VMM\n"
	"closes the connection.\n"
	"  --prefetch WS  if the file WS exists, place every page it lists\n"
	"                 before serving faults; otherwise record the pages\n"
	"                 faulted in this run and write them to WS at the end\n"
	"  --stats        print the counts on stdout at the end: faults, "
	"pages\n"
	"                 copied and zero pages placed for them, pages\n"
	"                 prefetched (and REMOVE events, if there were any)\n"
	"Exit status: 0 when the VMM went away, 2 on bad arguments or a bad\n"
	"handshake, 1 on other errors (one line on stderr).\n";

struct region {
	uint64_t base; /* VMM host address */
	uint64_t size;
	uint64_t offset; /* in the memory file */
};

struct handler {
	const char *sock_path;
	const char *mem_path;
	const char *ws_path;
	bool stats;

	/* The memory file, mapped read-only, and its data pages. */
	const uint8_t *mem;
	uint64_t mem_len;
	uint64_t npages; /* pages of the file, rounded up */
	uint64_t *data;	 /* bit per page: not a hole */

	int conn; /* the VMM's connection */
	int uffd;
	struct region *regions; /* sorted by base */
	size_t nregions;

	/* Recording the working set (--prefetch WS, WS absent). */
	bool record;
	uint64_t *seen;	 /* bit per page: recorded */
	uint64_t *order; /* page offsets, first fault first */
	uint64_t norder;

	struct {
		uint64_t addr;
		unsigned tries;
	} pending[MAX_PENDING];
	size_t npending;

	uint64_t faults, copied, zeroed, prefetched, removes;
	unsigned complaints;
	bool said_unknown, said_extra;
	bool vmm_gone; /* a copy found the VMM exited */
};

/* Exit statuses: the VMM went away; any other error; bad input. */
enum { ST_DONE = 0, ST_ERROR = 1, ST_BAD_INPUT = 2 };

static void die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

static void die(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("uffd-handler: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* A complaint about one fault, rate-limited: a guest can fault forever. */
static void complain(struct handler *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void complain(struct handler *h, const char *fmt, ...)
{
	va_list ap;

	if (h->complaints >= MAX_COMPLAINTS)
		return;
	fputs("uffd-handler: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (++h->complaints == MAX_COMPLAINTS)
		fputs(" (further complaints not shown)", stderr);
	fputc('\n', stderr);
}

static bool bit_test(const uint64_t *map, uint64_t i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static void bit_set(uint64_t *map, uint64_t i)
{
	map[i / 64] |= 1ull << (i % 64);
}

static uint64_t *bitmap_alloc(uint64_t bits)
{
	uint64_t *map = calloc(bits / 64 + 1, sizeof(uint64_t));

	if (!map)
		die(ST_ERROR, "out of memory");
	return map;
}

/*
 * Map the memory file and find its data pages: every page that holds a
 * byte of a data extent (SEEK_DATA/SEEK_HOLE). Where the file system cannot
 * say, every page counts as data, which is slower but right.
 */
static void open_memfile(struct handler *h)
{
	struct stat st;
	uint64_t off = 0, rounds = 0;
	int fd = open(h->mem_path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		die(ST_BAD_INPUT, "%s: %s", h->mem_path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		die(ST_BAD_INPUT, "%s: not a regular file", h->mem_path);
	h->mem_len = (uint64_t)st.st_size;
	h->npages = (h->mem_len + PAGE - 1) / PAGE;
	h->data = bitmap_alloc(h->npages);
	if (h->mem_len) {
		void *p = mmap(NULL, h->mem_len, PROT_READ, MAP_SHARED, fd, 0);

		if (p == MAP_FAILED)
			die(ST_ERROR, "%s: mmap: %s", h->mem_path,
			    strerror(errno));
		h->mem = p;
	}
	/* Each round moves past one data extent: at most npages rounds. */
	while (off < h->mem_len && rounds++ <= h->npages) {
		off_t data = lseek(fd, (off_t)off, SEEK_DATA), hole;
		uint64_t p;

		if (data < 0 && errno == ENXIO)
			break; /* only a hole from here on */
		if (data < 0) {
			for (p = 0; p < h->npages; p++)
				bit_set(h->data, p);
			break;
		}
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > h->mem_len)
			hole = (off_t)h->mem_len;
		for (p = (uint64_t)data / PAGE; p * PAGE < (uint64_t)hole; p++)
			bit_set(h->data, p);
		off = (uint64_t)hole > off ? (uint64_t)hole : h->mem_len;
	}
	close(fd);
}

/* Create SOCKET, say "ready", accept the VMM's one connection. */
static void accept_vmm(struct handler *h)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, rc;

	if (strlen(h->sock_path) >= sizeof(sun.sun_path))
		die(ST_BAD_INPUT, "%s: socket path too long", h->sock_path);
	strcpy(sun.sun_path, h->sock_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die(ST_ERROR, "socket: %s", strerror(errno));
	/* Only this user may connect: the fd it gets is the guest's memory. */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0)
		die(ST_BAD_INPUT, "%s: %s", h->sock_path,
		    errno == EADDRINUSE ? "exists already" : strerror(errno));
	if (chmod(h->sock_path, 0600) < 0 || listen(fd, 1) < 0) {
		unlink(h->sock_path);
		die(ST_ERROR, "%s: %s", h->sock_path, strerror(errno));
	}
	printf("ready\n");
	fflush(stdout);
	do
		h->conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	while (h->conn < 0 && errno == EINTR);
	rc = errno;
	close(fd);
	/* One connection only: the path has served its purpose. */
	unlink(h->sock_path);
	if (h->conn < 0)
		die(ST_ERROR, "accept: %s", strerror(rc));
}

/* Whether fd is a userfaultfd, as far as /proc can tell. */
static bool is_uffd(int fd)
{
	char link[64], target[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return true; /* no /proc: the ioctls will tell */
	target[n] = '\0';
	return strcmp(target, "anon_inode:[userfaultfd]") == 0;
}

/*
 * Make the userfaultfd non-blocking: poll(2) reports nothing but POLLERR
 * for a blocking one. The flag belongs to the open file, which the VMM
 * shares, but a VMM never reads its userfaultfd. Then make sure the VMM
 * did the UFFDIO_API handshake, without which there are no faults to read.
 */
static void check_uffd(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die(ST_ERROR, "userfaultfd: %s", strerror(errno));
	if (poll(&p, 1, 0) < 0)
		die(ST_ERROR, "poll: %s", strerror(errno));
	if (p.revents & POLLERR)
		die(ST_BAD_INPUT, "the userfaultfd has had no UFFDIO_API "
				  "handshake");
}

/*
 * Receive the handshake: one recvmsg with the userfaultfd and the JSON
 * text. Returns the text's length; buf holds it.
 */
static size_t receive_handshake(struct handler *h, char *buf, size_t cap)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	struct pollfd p = { .fd = h->conn, .events = POLLIN };
	struct cmsghdr *c;
	int nfds = 0, rc;
	ssize_t n;

	do
		rc = poll(&p, 1, HANDSHAKE_MS);
	while (rc < 0 && errno == EINTR);
	if (rc == 0)
		die(ST_BAD_INPUT, "no handshake from the VMM within %d s",
		    HANDSHAKE_MS / 1000);
	do
		n = recvmsg(h->conn, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die(ST_BAD_INPUT, "receiving the handshake: %s",
		    strerror(errno));
	h->uffd = -1;
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		int fds[4], i, k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(c), (size_t)k * sizeof(int));
		for (i = 0; i < k; i++) {
			if (nfds++ == 0)
				h->uffd = fds[i];
			else
				close(fds[i]);
		}
	}
	if (n == 0)
		die(ST_BAD_INPUT, "the VMM closed the connection before the "
				  "handshake");
	if (msg.msg_flags & MSG_CTRUNC || nfds > 1)
		die(ST_BAD_INPUT, "the handshake carries more than one fd");
	if (nfds == 0)
		die(ST_BAD_INPUT, "the handshake carries no userfaultfd");
	if (!is_uffd(h->uffd))
		die(ST_BAD_INPUT, "the fd of the handshake is not a "
				  "userfaultfd");
	check_uffd(h->uffd);
	if ((size_t)n == cap)
		die(ST_BAD_INPUT, "handshake message larger than %zu bytes",
		    cap - 1);
	/* Senders that count a terminating NUL in the message. */
	while (n > 0 && buf[n - 1] == '\0')
		n--;
	return (size_t)n;
}

/* A non-negative JSON integer member of a region object. */
static bool get_u64(json_t *obj, const char *key, uint64_t *v)
{
	json_t *j = json_object_get(obj, key);

	if (!j || !json_is_integer(j) || json_integer_value(j) < 0)
		return false;
	*v = (uint64_t)json_integer_value(j);
	return true;
}

static int cmp_base(const void *a, const void *b)
{
	const struct region *x = a, *y = b;

	return x->base < y->base ? -1 : x->base > y->base;
}

/* Parse and check the GuestRegionUffdMapping array. */
static void parse_regions(struct handler *h, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	size_t i, n;

	if (!root)
		die(ST_BAD_INPUT, "the handshake is not JSON: %s (column %d)",
		    jerr.text, jerr.column);
	if (!json_is_array(root))
		die(ST_BAD_INPUT, "the handshake is not a JSON array");
	n = json_array_size(root);
	if (n == 0 || n > MAX_REGIONS)
		die(ST_BAD_INPUT, "%zu regions: 1 to %d expected", n,
		    MAX_REGIONS);
	h->regions = calloc(n, sizeof(*h->regions));
	if (!h->regions)
		die(ST_ERROR, "out of memory");
	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(root, i);
		struct region *r = &h->regions[i];
		uint64_t ps, kib;

		if (!json_is_object(o) ||
		    !get_u64(o, "base_host_virt_addr", &r->base) ||
		    !get_u64(o, "size", &r->size) ||
		    !get_u64(o, "offset", &r->offset))
			die(ST_BAD_INPUT,
			    "region %zu: base_host_virt_addr, "
			    "size and offset must be integers >= 0",
			    i);
		if (get_u64(o, "page_size", &ps)) {
			/* the current name */
		} else if (get_u64(o, "page_size_kib", &kib) &&
			   kib <= UINT64_MAX / 1024) {
			ps = kib * 1024;
		} else {
			die(ST_BAD_INPUT, "region %zu: no page_size", i);
		}
		if (ps != PAGE)
			die(ST_BAD_INPUT,
			    "region %zu: page size %" PRIu64 ": only %" PRIu64
			    "-byte pages are served",
			    i, ps, PAGE);
		if (r->size == 0 || (r->base | r->size | r->offset) % PAGE)
			die(ST_BAD_INPUT,
			    "region %zu: base, size and offset "
			    "must be multiples of %" PRIu64 ", size > 0",
			    i, PAGE);
		if (r->base + r->size < r->base)
			die(ST_BAD_INPUT,
			    "region %zu: wraps the address "
			    "space",
			    i);
		if (r->offset > h->mem_len || r->size > h->mem_len - r->offset)
			die(ST_BAD_INPUT,
			    "region %zu (offset %#" PRIx64 ", size %#" PRIx64
			    ") runs past the end of %s "
			    "(%" PRIu64 " bytes)",
			    i, r->offset, r->size, h->mem_path, h->mem_len);
	}
	json_decref(root);
	h->nregions = n;
	qsort(h->regions, n, sizeof(*h->regions), cmp_base);
	for (i = 1; i < n; i++) {
		const struct region *a = &h->regions[i - 1];

		if (a->base + a->size > h->regions[i].base)
			die(ST_BAD_INPUT,
			    "regions at %#" PRIx64 " and %#" PRIx64 " overlap",
			    a->base, h->regions[i].base);
	}
}

/* The region that holds host address a, or NULL. */
static const struct region *find_region(const struct handler *h, uint64_t a)
{
	size_t lo = 0, hi = h->nregions;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct region *r = &h->regions[mid];

		if (a < r->base)
			hi = mid;
		else if (a - r->base >= r->size)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

/*
 * Place npages pages at host address dst from memory file offset foff,
 * all data or all holes (the caller splits runs). 0 or a negative errno.
 */
static int place(struct handler *h, uint64_t dst, uint64_t foff, uint64_t len,
		 bool data)
{
	if (data)
		return vmmem_uffd_copy(h->uffd, dst, h->mem + foff, len);
	return vmmem_uffd_zero(h->uffd, dst, len);
}

static int cmp_u64(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/*
 * Read the working set: one page offset of the memory file per line (hex
 * or decimal), '#' lines ignored. Returns the sorted, deduplicated offsets
 * and their number; NULL with *n = 0 when the file is unusable (said once).
 */
static uint64_t *read_ws(struct handler *h, FILE *fp, uint64_t *n)
{
	uint64_t *offs = NULL, *seen = bitmap_alloc(h->npages), k = 0;
	char line[64];
	unsigned long lineno = 0;

	*n = 0;
	if (h->npages) {
		offs = calloc(h->npages, sizeof(*offs));
		if (!offs)
			die(ST_ERROR, "out of memory");
	}
	/* Bounded by the file: at most one line per page of it. */
	while (fgets(line, sizeof(line), fp)) {
		char *end;
		uint64_t off;

		lineno++;
		if (!strchr(line, '\n') && !feof(fp))
			goto bad;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		errno = 0;
		off = strtoull(line, &end, 0);
		if (errno || end == line || (*end != '\n' && *end != '\0') ||
		    off % PAGE || off >= h->mem_len)
			goto bad;
		if (bit_test(seen, off / PAGE))
			continue;
		bit_set(seen, off / PAGE);
		offs[k++] = off;
	}
	free(seen);
	if (k)
		qsort(offs, k, sizeof(*offs), cmp_u64);
	*n = k;
	return offs;
bad:
	fprintf(stderr,
		"uffd-handler: %s, line %lu: not a page offset of %s; "
		"not prefetching, recording this run instead\n",
		h->ws_path, lineno, h->mem_path);
	free(seen);
	free(offs);
	return NULL;
}

/*
 * Prefetch: place every page of the working set, in runs of adjacent
 * pages of the same kind (data or hole), region by region. Stops at the
 * first error, which it reports; the pages are then served on fault.
 */
static void prefetch(struct handler *h, const uint64_t *offs, uint64_t n)
{
	size_t ri;

	for (ri = 0; ri < h->nregions; ri++) {
		const struct region *r = &h->regions[ri];
		uint64_t i, lo = 0, hi = n;

		/* First offset at or after the region's start. */
		while (lo < hi) {
			uint64_t mid = lo + (hi - lo) / 2;

			if (offs[mid] < r->offset)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (i = lo; i < n && offs[i] - r->offset < r->size;) {
			uint64_t start = offs[i], j = i + 1;
			bool data = bit_test(h->data, start / PAGE);
			int rc;

			while (j < n && offs[j] - r->offset < r->size &&
			       offs[j] == offs[j - 1] + PAGE &&
			       bit_test(h->data, offs[j] / PAGE) == data)
				j++;
			rc = place(h, r->base + (start - r->offset), start,
				   (j - i) * PAGE, data);
			if (rc == -ESRCH) {
				h->vmm_gone = true;
				return;
			}
			if (rc) {
				fprintf(stderr,
					"uffd-handler: prefetch stopped "
					"at offset %#" PRIx64 ": %s\n",
					start, strerror(-rc));
				return;
			}
			h->prefetched += j - i;
			i = j;
		}
	}
}

/* Set up prefetching or recording, as --prefetch asks. */
static void start_working_set(struct handler *h)
{
	uint64_t *offs, n;
	FILE *fp;

	if (!h->ws_path)
		return;
	fp = fopen(h->ws_path, "re");
	if (fp) {
		offs = read_ws(h, fp, &n);
		fclose(fp);
		if (offs) {
			prefetch(h, offs, n);
			free(offs);
			return;
		}
	} else if (errno != ENOENT) {
		die(ST_BAD_INPUT, "%s: %s", h->ws_path, strerror(errno));
	}
	h->record = true;
	h->seen = bitmap_alloc(h->npages);
	h->order = calloc(h->npages ? h->npages : 1, sizeof(*h->order));
	if (!h->order)
		die(ST_ERROR, "out of memory");
}

/* Write the recorded working set: a temporary file, then rename. */
static void write_ws(struct handler *h)
{
	size_t len = strlen(h->ws_path) + sizeof(".XXXXXX");
	char *tmp = malloc(len);
	uint64_t i;
	FILE *fp;
	int fd;

	if (!tmp)
		die(ST_ERROR, "out of memory");
	snprintf(tmp, len, "%s.XXXXXX", h->ws_path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		die(ST_ERROR, "%s: %s", tmp, strerror(errno));
	fp = fdopen(fd, "w");
	if (!fp)
		goto err;
	fputs(WS_HEADER, fp);
	for (i = 0; i < h->norder; i++)
		fprintf(fp, "%#" PRIx64 "\n", h->order[i]);
	if (fflush(fp) || fsync(fd) || ferror(fp))
		goto err;
	if (fclose(fp)) {
		fp = NULL;
		goto err;
	}
	fp = NULL;
	if (rename(tmp, h->ws_path))
		goto err;
	free(tmp);
	return;
err:
	fprintf(stderr, "uffd-handler: writing %s: %s\n", h->ws_path,
		strerror(errno));
	if (fp)
		fclose(fp);
	unlink(tmp);
	free(tmp);
	exit(ST_ERROR);
}

/*
 * Answer one fault. Returns 0 when done (served, or impossible and
 * reported), -EAGAIN when it must be tried again after the events are read.
 */
static int serve_fault(struct handler *h, uint64_t addr)
{
	uint64_t page = addr & ~(PAGE - 1), foff;
	const struct region *r = find_region(h, page);
	bool data;
	int rc;

	if (!r) {
		complain(h, "fault at %#" PRIx64 " outside every region", addr);
		return 0;
	}
	foff = r->offset + (page - r->base);
	data = bit_test(h->data, foff / PAGE);
	rc = place(h, page, foff, PAGE, data);
	if (rc == -EAGAIN)
		return rc;
	if (rc == -ESRCH) {
		h->vmm_gone = true;
		return 0;
	}
	if (rc) {
		complain(h, "fault at %#" PRIx64 ": %s", addr, strerror(-rc));
		return 0;
	}
	if (data)
		h->copied++;
	else
		h->zeroed++;
	if (h->record && !bit_test(h->seen, foff / PAGE)) {
		bit_set(h->seen, foff / PAGE);
		h->order[h->norder++] = foff;
	}
	return 0;
}

static void defer(struct handler *h, uint64_t addr, unsigned tries)
{
	if (h->npending == MAX_PENDING) {
		complain(h, "fault at %#" PRIx64 " dropped: too many waiting",
			 addr);
		return;
	}
	h->pending[h->npending].addr = addr;
	h->pending[h->npending].tries = tries;
	h->npending++;
}

/* Try the deferred faults again, now that the events have been read. */
static void retry_pending(struct handler *h)
{
	size_t i, n = h->npending;

	h->npending = 0;
	for (i = 0; i < n; i++) {
		uint64_t addr = h->pending[i].addr;
		unsigned tries = h->pending[i].tries + 1;

		if (serve_fault(h, addr) != -EAGAIN)
			continue;
		if (tries < PENDING_TRIES)
			defer(h, addr, tries);
		else
			complain(h,
				 "fault at %#" PRIx64 " dropped after %u "
				 "tries",
				 addr, tries);
	}
}

/* Read and handle what the userfaultfd has, ROUNDS batches at most. */
static void drain_uffd(struct handler *h)
{
	struct uffd_msg msg[BATCH];
	int round;

	for (round = 0; round < ROUNDS && !h->vmm_gone; round++) {
		ssize_t n = read(h->uffd, msg, sizeof(msg)), i;

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n < 0)
			die(ST_ERROR, "reading the userfaultfd: %s",
			    strerror(errno));
		for (i = 0; i < n / (ssize_t)sizeof(msg[0]); i++) {
			switch (msg[i].event) {
			case UFFD_EVENT_PAGEFAULT:
				h->faults++;
				if (serve_fault(h,
						msg[i].arg.pagefault.address))
					defer(h, msg[i].arg.pagefault.address,
					      0);
				break;
			case UFFD_EVENT_REMOVE:
				/* The pages are gone from the VMM: they fault
				 * again if touched, and are served again. */
				h->removes++;
				break;
			default:
				if (!h->said_unknown)
					fprintf(stderr,
						"uffd-handler: ignoring "
						"userfaultfd event %u\n",
						msg[i].event);
				h->said_unknown = true;
				break;
			}
		}
		if ((size_t)n < sizeof(msg))
			break;
	}
}

/* Whether the VMM closed the connection (anything it sends is ignored). */
static bool vmm_closed(struct handler *h, short revents)
{
	char buf[4096];
	ssize_t n;

	if (revents & (POLLHUP | POLLERR))
		return true;
	n = recv(h->conn, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == 0)
		return true;
	if (n < 0)
		return errno != EAGAIN && errno != EINTR;
	if (!h->said_extra)
		fprintf(stderr,
			"uffd-handler: ignoring data from the VMM after "
			"the handshake\n");
	h->said_extra = true;
	return false;
}

static void serve(struct handler *h)
{
	struct pollfd p[2] = {
		{ .fd = h->uffd, .events = POLLIN },
		{ .fd = h->conn, .events = POLLIN | POLLRDHUP },
	};

	while (!h->vmm_gone) {
		int rc = poll(p, 2, h->npending ? 1 : -1);

		if (rc < 0 && errno != EINTR)
			die(ST_ERROR, "poll: %s", strerror(errno));
		if (rc > 0 && (p[0].revents & POLLERR))
			die(ST_ERROR, "the userfaultfd reports an error");
		if (rc > 0 && (p[0].revents & POLLHUP))
			return;
		if (rc > 0 && (p[0].revents & POLLIN))
			drain_uffd(h);
		if (h->npending)
			retry_pending(h);
		if (rc > 0 && p[1].revents && vmm_closed(h, p[1].revents))
			return;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prefetch", required_argument, NULL, 'p' },
		{ "stats", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct handler h = { .conn = -1, .uffd = -1 };
	static char msg[MAX_MSG];
	size_t len;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			h.ws_path = optarg;
			break;
		case 's':
			h.stats = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			die(ST_BAD_INPUT, "%s needs a file (try --help)",
			    argv[optind - 1]);
		default:
			die(ST_BAD_INPUT, "bad option %s (try --help)",
			    argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		die(ST_BAD_INPUT, "SOCKET and MEMFILE expected (try --help)");
	h.sock_path = argv[optind];
	h.mem_path = argv[optind + 1];
	signal(SIGPIPE, SIG_IGN);

	open_memfile(&h);
	accept_vmm(&h);
	len = receive_handshake(&h, msg, sizeof(msg));
	parse_regions(&h, msg, len);
	start_working_set(&h);
	serve(&h);

	if (h.record)
		write_ws(&h);
	if (h.stats)
		printf("uffd-handler: %" PRIu64 " faults, %" PRIu64
		       " pages copied, %" PRIu64 " zero pages, %" PRIu64
		       " prefetched\n",
		       h.faults, h.copied, h.zeroed, h.prefetched);
	if (h.stats && h.removes)
		printf("uffd-handler: %" PRIu64 " remove events\n", h.removes);
	fflush(stdout);
	return ST_DONE;
}
