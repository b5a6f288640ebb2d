/* SPDX-License-Identifier: MIT */
/*
 * migrate.c - live migration between two minivmm processes.
 *
 * The source sends, over one stream socket (unix:PATH or tcp:HOST:PORT),
 * records of { u32 type, u32 aux, u64 length, payload }, little-endian:
 *
 *   HELLO   magic, stream version, the machine's shape   -> READY or NAK
 *   PAGES   u64 RAM offset, then whole pages of data
 *   SHARED  u64 RAM offset, u32 first page, u32 page count: pages of data
 *           in the current slot of the shared ring (below); aux 1: the
 *           last record of that slot, which the destination then frees
 *   ZERO    u64 RAM offset, u64 page count: pages that are zero now
 *   ROUND   aux = the pre-copy round that ended    (the first: -> BUILT or
 *           NAK, once the destination's VM is built; read before pausing)
 *   STATE   the bytes of a state file (snap.c), taken while paused
 *   END     XXH3-64 of every byte sent before it           -> ACK or NAK
 *
 * A RAM offset is a memory-file offset: regions one after another in GPA
 * order. Pre-copy: every non-zero page while the guest runs, then rounds of
 * the pages written since the last round (KVM's dirty log merged into
 * libvmmem's bitmaps, so the VMM's own writes count) until what is left
 * fits the downtime budget or the round limit is reached; then the guest is
 * paused, the rest and the state go out, and the destination, which has
 * built its VM on a thread of its own since the shape arrived, checks the
 * checksum, restores, starts the guest and acknowledges. Only then does
 * the source stop; on any failure before that it resumes the guest and
 * keeps running. The destination never runs a guest it did not receive
 * whole.
 *
 * Both sides reach guest memory through libvmmem: the source reads each
 * chunk into its own buffer before it checksums and sends it (the guest may
 * write it meanwhile; the dirty log then sends it again), and sends a
 * record with one sendmsg(); the destination, whose guest does not run
 * yet, receives page data straight into a slice of guest memory and
 * checksums it there. The checksum is libxxhash's XXH3-64, five to nine
 * times as fast here as zlib's CRC-32, which was half the sender's CPU
 * time.
 *
 * Over a Unix socket the page data goes through shared memory instead: the
 * source passes a sealed memfd with HELLO (SCM_RIGHTS), a ring of slots of
 * SEND_PAGES pages, reads guest pages straight into a slot and sends only
 * SHARED records; the destination places the pages from the slot and
 * frees it. That spares both copies through the socket's buffers, which
 * were a third of the two sides' CPU time. The checksum covers the data
 * all the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
/* XXH3_64bits_update() becomes the variant that picks AVX2 or AVX-512 at
 * run time (in Debian's libxxhash): twice the speed of its SSE2 default
 * on this project's machines, the same hash. */
#include <xxh_x86dispatch.h>

#include <vmmem/dirty.h>
#include <vmmem/memory.h>
#include <vmmem/region.h>
#include <vmmem/slice.h>
#include <vmmem/uffd.h>

#include "api.h"
#include "machine.h"
#include "memfile.h"
#include "migrate.h"
#include "snapshot.h"
#include "state.h"
#include "util.h"

#define MIG_MAGIC "MVMMIGR"
#define MIG_MAGIC_LEN 8
#define MIG_VERSION 4

enum mig_type {
	MIG_HELLO = 1,
	MIG_PAGES = 2,
	MIG_ZERO = 3,
	MIG_ROUND = 4,
	MIG_STATE = 5,
	MIG_END = 6,
	/* Destination to source: aux 0 = yes, REPLY_RING = yes and the
	 * shared ring is mapped (to HELLO), else a message follows. */
	MIG_REPLY = 7,
	MIG_SHARED = 8,
};

#define REPLY_RING 2u

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PAGE 4096u
#define HDR_LEN 16
/* Pages per PAGES record at most (the destination's bound), and the pages
 * the source copies, checks and sends at a time: a chunk its buffer keeps
 * in the CPU's second-level cache from the copy to the send. */
#define CHUNK_PAGES 256u
#define SEND_PAGES 32u
#define MAX_PAYLOAD (SNAP_MAX_SIZE + 0u)
#define MAX_HELLO 4096u
#define MAX_REPLY 1024u
/* The destination gives up on a silent source after this long. */
#define IDLE_TIMEOUT_MS 30000
/* A source whose send failed waits this long for the destination's
 * reason (which a closed connection has queued already). */
#define REASON_WAIT_MS 100
/* Pre-copy: at most this many rounds, then the guest is paused anyway;
 * and no more once this many rounds in a row did not shrink what is left
 * by a tenth. */
#define MAX_ROUNDS 30
#define STALLED_ROUNDS 2
/* What may be left for the paused phase: what the measured bandwidth
 * sends in this time, and never less than MIN_LEFT pages. */
#define DOWNTIME_BUDGET_S 0.002
#define MIN_LEFT 64

/*
 * The shared ring (unix: URLs): a header page, then RING_SLOTS slots of
 * SEND_PAGES pages. The source fills slots in order; the destination
 * frees them in the same order and counts them in `done`, which is also
 * the futex a source with no free slot sleeps on. It wakes the source
 * only every RING_SLOTS / 2 slots, so that each wake-up finds half the
 * ring free.
 */
#define RING_SLOTS 16u
#define RING_SLOT_LEN (SEND_PAGES * PAGE)
#define RING_LEN (PAGE + (size_t)RING_SLOTS * RING_SLOT_LEN)
/* A source waiting for a slot looks at its socket this often. */
#define RING_POLL_MS 20

struct ring_hdr {
	uint32_t done;		/* slots freed (destination) */
	uint32_t wait;		/* 1: the source sleeps, or is about to */
};

struct ring {
	uint8_t *base;		/* RING_LEN bytes shared; NULL: no ring */
	uint32_t seq;		/* slots filled (source) or freed (dest.) */
	uint64_t pages;		/* pages that came through it */
};

/* Whether a page is all zero: 8 bytes at a time. */
static bool page_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	unsigned i;

	for (i = 0; i < PAGE / 8; i++)
		if (w[i])
			return false;
	return true;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Testing aids, for fault injection: with MINIVMM_MIGRATION_FAIL_AFTER=N
 * a side that has moved N stream bytes dies at once of SIGKILL (as a
 * killed process would); MINIVMM_MIGRATION_CORRUPT=1 has the source
 * change one byte of its first page after checksumming it (as a bad link
 * would);
 * MINIVMM_MIGRATION_STRAY=1 (or 2) has the source send, before any RAM,
 * two pages at the first RAM offset past the end of RAM (or straddling
 * it), as a broken or hostile source would; MINIVMM_MIGRATION_TWICE=1
 * has the source send its first PAGES record twice, the first time with
 * every byte inverted (the second copy must win);
 * MINIVMM_MIGRATION_NO_UFFD=1 has the destination fill its memory without
 * a userfaultfd (see struct fill); and MINIVMM_MIGRATION_DUMP=DIR has both
 * sides write guest RAM as a memory file at the switchover
 * (DIR/source.mem, DIR/dest.mem).
 */
static uint64_t fail_after(void)
{
	const char *v = getenv("MINIVMM_MIGRATION_FAIL_AFTER");

	return v && *v ? strtoull(v, NULL, 10) : 0;
}

static void dump_memory(struct machine *m, const char *name)
{
	const char *dir = getenv("MINIVMM_MIGRATION_DUMP");
	char path[512], err[256];

	if (!dir || !*dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (memfile_write(m->mem, MEMFILE_FULL, path, err, sizeof(err)))
		pr_err("migration: %s", err);
}

/* A connection and its running checksum. */
struct link {
	int fd;
	XXH3_state_t *xs;	/* of every byte sent or received so far */
	uint64_t bytes;
	uint64_t fail_at;	/* 0: never */
	bool corrupt;		/* change the next page sent (testing) */
	int sfd;		/* signals end a wait; -1: none */
	int pass_fd;		/* to pass with the next send; -1: none */
	int got_fd;		/* passed with what was read; -1: none */
	bool take_fd;		/* keep a passed fd (else it is closed) */
	bool ring_ok;		/* the destination mapped the ring */
	struct ring ring;
};

/* n more stream bytes moved (through the socket or the ring). */
static void count_bytes(struct link *l, uint64_t n)
{
	l->bytes += n;
	if (l->fail_at && l->bytes >= l->fail_at)
		raise(SIGKILL);
}

/* Send the n buffers of iov (changed as it goes) whole, with l->pass_fd
 * if set. */
static int writev_all(struct link *l, struct iovec *iov, int n)
{
	while (n) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int))];
		} c;
		ssize_t k;

		if (l->pass_fd >= 0) {
			memset(&c, 0, sizeof(c));
			mh.msg_control = c.b;
			mh.msg_controllen = sizeof(c.b);
			c.h.cmsg_level = SOL_SOCKET;
			c.h.cmsg_type = SCM_RIGHTS;
			c.h.cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(&c.h), &l->pass_fd, sizeof(int));
		}
		k = sendmsg(l->fd, &mh, MSG_NOSIGNAL);
		if (k > 0)
			l->pass_fd = -1;	/* it went with the first byte */
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		count_bytes(l, (uint64_t)k);
		while (n && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

/* Only links whose state was made hash: replies, the one record a link
 * without it may send, are never hashed. */
static void hash(struct link *l, const void *p, size_t len)
{
	XXH3_64bits_update(l->xs, p, len);
}

/* Wait for fd to be readable: 0, -ETIMEDOUT, or -EINTR on a signal. */
static int wait_readable(struct link *l, int timeout_ms)
{
	struct pollfd p[2] = { { .fd = l->fd, .events = POLLIN },
			       { .fd = l->sfd, .events = POLLIN } };
	int n;

	for (;;) {
		n = poll(p, l->sfd >= 0 ? 2 : 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		if (l->sfd >= 0 && (p[1].revents & POLLIN))
			return -EINTR;
		return 0;
	}
}

/* recv() that takes a file descriptor passed with the data: kept in
 * l->got_fd if l->take_fd (one at most), else closed at once. */
static ssize_t recv_fd(struct link *l, void *p, size_t len)
{
	struct iovec iov = { p, len };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} c;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	struct cmsghdr *h;
	ssize_t n = recvmsg(l->fd, &mh, MSG_CMSG_CLOEXEC);
	size_t i;
	int fd;

	for (h = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; h;
	     h = CMSG_NXTHDR(&mh, h)) {
		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		for (i = 0; (i + 1) * sizeof(int) <= h->cmsg_len - CMSG_LEN(0);
		     i++) {
			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
			if (l->take_fd && l->got_fd < 0)
				l->got_fd = fd;
			else
				close(fd);
		}
	}
	return n;
}

static int read_all(struct link *l, void *p, size_t len, int timeout_ms)
{
	uint8_t *b = p;
	int rc;

	while (len) {
		ssize_t n;

		rc = wait_readable(l, timeout_ms);
		if (rc)
			return rc;
		n = recv_fd(l, b, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		b += n;
		len -= (size_t)n;
		count_bytes(l, (uint64_t)n);
	}
	return 0;
}

/* A record's header, little-endian. */
static void put_hdr(uint8_t *hdr, uint32_t type, uint32_t aux, uint64_t len)
{
	uint32_t t = htole32(type), x = htole32(aux);

	len = htole64(len);
	memcpy(hdr, &t, 4);
	memcpy(hdr + 4, &x, 4);
	memcpy(hdr + 8, &len, 8);
}

/* Send one record: header, a, b (either may be empty) in one sendmsg();
 * the checksum covers it unless it is a reply. */
static int send_rec(struct link *l, uint32_t type, uint32_t aux,
		    const void *a, size_t alen, const void *b, size_t blen)
{
	uint8_t hdr[HDR_LEN], first;
	struct iovec iov[4];
	int n = 0;

	put_hdr(hdr, type, aux, (uint64_t)alen + blen);
	if (type != MIG_REPLY) {
		hash(l, hdr, HDR_LEN);
		hash(l, a, alen);
		hash(l, b, blen);
	}
	iov[n++] = (struct iovec){ hdr, HDR_LEN };
	if (alen)
		iov[n++] = (struct iovec){ (void *)a, alen };
	if (blen && l->corrupt && type == MIG_PAGES) {
		/* The first byte goes out changed, after the checksum. */
		l->corrupt = false;
		first = *(const uint8_t *)b ^ 0x01;
		iov[n++] = (struct iovec){ &first, 1 };
		b = (const uint8_t *)b + 1;
		blen--;
	}
	if (blen)
		iov[n++] = (struct iovec){ (void *)b, blen };
	return writev_all(l, iov, n);
}

struct rec {
	uint32_t type, aux;
	uint64_t len;
	uint8_t *data;		/* len bytes, to free() */
};

/* The largest payload each record type may have. */
static uint64_t max_len(uint32_t type)
{
	switch (type) {
	case MIG_HELLO:
		return MAX_HELLO;
	case MIG_PAGES:
		return 8 + (uint64_t)CHUNK_PAGES * PAGE;
	case MIG_ZERO:
		return 16;
	case MIG_ROUND:
		return 0;
	case MIG_STATE:
		return SNAP_MAX_SIZE;
	case MIG_END:
		return 8;
	case MIG_REPLY:
		return MAX_REPLY;
	case MIG_SHARED:
		return 16;
	}
	return 0;
}

/* Receive a record's header into hdr and r, its length checked against
 * max and its type's bound. */
static int recv_hdr(struct link *l, uint8_t *hdr, struct rec *r,
		    uint64_t max, int timeout_ms)
{
	uint64_t len;
	int rc;

	r->data = NULL;
	rc = read_all(l, hdr, HDR_LEN, timeout_ms);
	if (rc)
		return rc;
	memcpy(&r->type, hdr, 4);
	memcpy(&r->aux, hdr + 4, 4);
	memcpy(&len, hdr + 8, 8);
	r->type = le32toh(r->type);
	r->aux = le32toh(r->aux);
	r->len = le64toh(len);
	if (r->len > max || r->len > max_len(r->type))
		return -EMSGSIZE;
	return 0;
}

/* Receive into r->data the payload of the record whose header recv_hdr()
 * read; counted in the checksum unless it is the END or a reply (which
 * carry or answer it). */
static int recv_payload(struct link *l, const uint8_t *hdr, struct rec *r,
			int timeout_ms)
{
	int rc;

	r->data = malloc(r->len ? r->len : 1);
	if (!r->data)
		return -ENOMEM;
	rc = read_all(l, r->data, r->len, timeout_ms);
	if (rc) {
		free(r->data);
		r->data = NULL;
		return rc;
	}
	if (r->type != MIG_END && r->type != MIG_REPLY) {
		hash(l, hdr, HDR_LEN);
		hash(l, r->data, r->len);
	}
	return 0;
}

/* Receive one record of at most max bytes (and its type's bound). */
static int recv_rec(struct link *l, struct rec *r, uint64_t max,
		    int timeout_ms)
{
	uint8_t hdr[HDR_LEN];
	int rc = recv_hdr(l, hdr, r, max, timeout_ms);

	return rc ? rc : recv_payload(l, hdr, r, timeout_ms);
}

/* A reply: yes (aux 0) or no with its reason. Replies are not part of
 * the stream the checksum covers. */
static int send_reply(struct link *l, int rc, const char *msg)
{
	size_t len = rc ? strnlen(msg, MAX_REPLY) : 0;

	return send_rec(l, MIG_REPLY, rc ? 1 : 0, msg, len, NULL, 0);
}

/* Wait for the other side's reply: 0, or an error with its reason. */
static int wait_reply(struct link *l, int timeout_ms, char *err,
		      size_t errlen)
{
	struct rec r;
	int rc = recv_rec(l, &r, MAX_REPLY, timeout_ms);

	if (rc == -EPIPE || rc == -ECONNRESET) {
		snprintf(err, errlen, "the destination closed the connection");
		return rc;
	}
	if (rc == -ETIMEDOUT) {
		snprintf(err, errlen, "the destination did not answer within "
			 "%d s", timeout_ms / 1000);
		return rc;
	}
	if (rc) {
		snprintf(err, errlen, "reading the destination's answer: %s",
			 strerror(-rc));
		return rc;
	}
	if (r.type != MIG_REPLY) {
		rc = -EPROTO;
		snprintf(err, errlen, "the destination answered with record "
			 "type %u", r.type);
	} else if (r.aux == REPLY_RING && !r.len) {
		l->ring_ok = true;
	} else if (r.aux) {
		rc = -ECONNREFUSED;
		snprintf(err, errlen, "the destination refused: %.*s",
			 (int)r.len, (const char *)r.data);
	}
	free(r.data);
	return rc;
}

/*
 * Why sending failed, the way a user reads it. A destination that refused
 * (a record outside guest memory, a VM it could not build) answered with
 * its reason before it closed the connection: that answer may still wait
 * in the socket, behind the one to the first ROUND.
 */
static void send_error(struct link *l, char *err, size_t errlen, int rc)
{
	unsigned i;

	if (rc == -EPROTO) {	/* ring_wait() */
		snprintf(err, errlen, "the destination counts more shared "
			 "memory slots freed than were filled");
		return;
	}
	if (rc == -ETIMEDOUT) {	/* ring_wait() too */
		snprintf(err, errlen, "the destination freed no shared memory "
			 "slot within %d s", IDLE_TIMEOUT_MS / 1000);
		return;
	}
	if (rc != -EPIPE && rc != -ECONNRESET) {
		snprintf(err, errlen, "sending to the destination: %s",
			 strerror(-rc));
		return;
	}
	for (i = 0; i < 2; i++)
		if (wait_reply(l, REASON_WAIT_MS, err, errlen) ==
		    -ECONNREFUSED)
			return;
	snprintf(err, errlen, "the destination closed the connection");
}

/*
 * The shared ring. Both sides map the same sealed memfd. What the
 * destination reads there is as untrusted as what comes through the
 * socket: each record names a range of the current slot, which it checks,
 * and it writes nothing there but the header's `done`. The source trusts
 * `done` no further: a count of more slots freed than it filled ends the
 * migration.
 */
static uint8_t *ring_slot(const struct ring *rg)
{
	return rg->base + PAGE + (size_t)(rg->seq % RING_SLOTS) * RING_SLOT_LEN;
}

static void ring_unmap(struct ring *rg)
{
	if (rg->base)
		munmap(rg->base, RING_LEN);
	rg->base = NULL;
}

/* The source's ring, mapped: a memfd sealed against shrinking (unless
 * !seal, for testing), whose fd goes to *fd. */
static int ring_create(struct ring *rg, bool seal, int *fd)
{
	void *p;
	int rc;

	*fd = memfd_create("minivmm-migration",
			   MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (*fd < 0)
		return -errno;
	if (ftruncate(*fd, (off_t)RING_LEN) ||
	    (seal && fcntl(*fd, F_ADD_SEALS,
			   F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)))
		goto err;
	p = mmap(NULL, RING_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (p == MAP_FAILED)
		goto err;
	rg->base = p;
	rg->seq = 0;
	return 0;
err:
	rc = -errno;
	close(*fd);
	*fd = -1;
	return rc;
}

/* The destination maps the fd that came with HELLO if it is a ring: a
 * memfd of RING_LEN bytes that can no longer shrink (a shrunk file would
 * turn its reads into SIGBUS). The fd is closed either way. Return: 0, or
 * -EINVAL with *why set. */
static int ring_attach(struct ring *rg, int fd, const char **why)
{
	int seals = fcntl(fd, F_GET_SEALS);
	void *p = MAP_FAILED;
	struct stat st;

	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		*why = "not a memfd sealed against shrinking";
	else if (fstat(fd, &st) || st.st_size != (off_t)RING_LEN)
		*why = "not of the ring's size";
	else if ((p = mmap(NULL, RING_LEN, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd, 0)) == MAP_FAILED)
		*why = "cannot be mapped";
	close(fd);
	if (p == MAP_FAILED)
		return -EINVAL;
	rg->base = p;
	rg->seq = 0;
	rg->pages = 0;
	return 0;
}

/* The source: wait until the slot at rg->seq is free. Return: 0, -EPIPE
 * when the destination went away meanwhile, -ETIMEDOUT, or -EPROTO when it
 * counts more slots freed than were filled. */
static int ring_wait(struct link *l)
{
	struct ring_hdr *h = (struct ring_hdr *)l->ring.base;
	struct timespec ts = { 0, RING_POLL_MS * 1000000L };
	struct pollfd p = { .fd = l->fd, .events = POLLRDHUP };
	unsigned waited = 0;

	for (;;) {
		uint32_t done = __atomic_load_n(&h->done, __ATOMIC_SEQ_CST);
		uint32_t used = l->ring.seq - done;

		if (used > RING_SLOTS)
			return -EPROTO;
		if (used < RING_SLOTS)
			return 0;
		/* Then look again: a slot freed in between is not missed,
		 * and a wake-up after this store finds the flag. */
		__atomic_store_n(&h->wait, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&h->done, __ATOMIC_SEQ_CST) != done)
			continue;
		if (!syscall(SYS_futex, &h->done, FUTEX_WAIT, done, &ts, NULL,
			     0) ||
		    errno != ETIMEDOUT)
			continue;
		if (poll(&p, 1, 0) > 0 &&
		    (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			return -EPIPE;
		if (++waited * RING_POLL_MS >= IDLE_TIMEOUT_MS)
			return -ETIMEDOUT;
	}
}

/* The destination: the current slot is free again. The source is woken
 * only every RING_SLOTS / 2 slots: one that sleeps has the whole ring
 * filled, so that many are freed before long. */
static void ring_free_slot(struct ring *rg)
{
	struct ring_hdr *h = (struct ring_hdr *)rg->base;

	rg->seq++;
	__atomic_store_n(&h->done, rg->seq, __ATOMIC_SEQ_CST);
	if (rg->seq % (RING_SLOTS / 2) == 0 &&
	    __atomic_exchange_n(&h->wait, 0, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &h->done, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* A SHARED record: pages first to first + count of the current slot, for
 * RAM offset off; last: the slot's last record (the slot is then the
 * destination's until it frees it). Checksummed like PAGES, and changed
 * after that by l->corrupt the same way. */
static int send_shared(struct link *l, uint64_t off, uint64_t first,
		       uint64_t count, bool last)
{
	uint8_t hdr[HDR_LEN], pl[16], *p = ring_slot(&l->ring) + first * PAGE;
	uint64_t o = htole64(off);
	uint32_t f = htole32((uint32_t)first), c = htole32((uint32_t)count);
	struct iovec iov[2] = { { hdr, HDR_LEN }, { pl, sizeof(pl) } };

	put_hdr(hdr, MIG_SHARED, last, sizeof(pl));
	memcpy(pl, &o, 8);
	memcpy(pl + 8, &f, 4);
	memcpy(pl + 12, &c, 4);
	hash(l, hdr, HDR_LEN);
	hash(l, pl, sizeof(pl));
	hash(l, p, count * PAGE);
	if (l->corrupt) {
		l->corrupt = false;
		p[0] ^= 0x01;
	}
	count_bytes(l, count * PAGE);
	if (last)
		l->ring.seq++;
	return writev_all(l, iov, 2);
}

/* unix:PATH or tcp:HOST:PORT. Return: its family, or -EINVAL. */
static int parse_url(const char *url, char *host, size_t hostlen,
		     char *port, size_t portlen, char *path, size_t pathlen)
{
	const char *colon;

	if (!strncmp(url, "unix:", 5) && url[5]) {
		if (strlen(url + 5) >= pathlen ||
		    strlen(url + 5) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return -ENAMETOOLONG;
		snprintf(path, pathlen, "%s", url + 5);
		return AF_UNIX;
	}
	if (strncmp(url, "tcp:", 4))
		return -EINVAL;
	colon = strrchr(url + 4, ':');
	if (!colon || colon == url + 4 || !colon[1] ||
	    (size_t)(colon - (url + 4)) >= hostlen || strlen(colon + 1) >= portlen)
		return -EINVAL;
	snprintf(host, hostlen, "%.*s", (int)(colon - (url + 4)), url + 4);
	snprintf(port, portlen, "%s", colon + 1);
	return AF_INET;
}

/* Connect (source) or listen (destination) to url. */
static int open_url(const char *url, bool listen_, char *err, size_t errlen)
{
	char host[256], port[16], path[256];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int family, fd = -1, rc, one = 1;

	family = parse_url(url, host, sizeof(host), port, sizeof(port), path,
			   sizeof(path));
	if (family < 0) {
		snprintf(err, errlen, "bad migration URL '%s' (unix:PATH or "
			 "tcp:HOST:PORT)", url);
		return -EINVAL;
	}
	if (family == AF_UNIX) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		memcpy(sa.sun_path, path, strlen(path));
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			goto err_errno;
		/* Whoever can connect can send us a guest: the socket is
		 * its owner's alone from the moment it exists. */
		if (listen_ && (fchmod(fd, 0600) ||
				bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
				listen(fd, 1)))
			goto err_errno;
		if (!listen_ && connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			goto err_errno;
		return fd;
	}
	hints.ai_flags = listen_ ? AI_PASSIVE : 0;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "%s: %s", url, gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err_errno;
	if (listen_) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1))
			goto err_errno;
	} else if (connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		goto err_errno;
	}
	freeaddrinfo(ai);
	return fd;

err_errno:
	rc = -errno;
	snprintf(err, errlen, "%s: %s", url, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	return rc;
}

void migrate_info(struct machine *m, struct api_migration *out)
{
	pthread_mutex_lock(&m->lock);
	*out = m->mig;
	pthread_mutex_unlock(&m->lock);
}

/* The source's side of one migration. */
struct source {
	struct machine *m;
	struct link l;
	uint8_t *buf;		/* SEND_PAGES pages */
	uint64_t **bits;	/* a dirty bitmap per region */
	size_t nregions;
	double bw;		/* bytes per second, measured */
	bool twice;		/* MINIVMM_MIGRATION_TWICE (testing) */
	bool local;		/* a unix: URL: offer the shared ring */
};

/* See MINIVMM_MIGRATION_TWICE above (testing): the len bytes at p
 * inverted, for RAM offset o (little-endian), once, through the socket
 * (which has copied them when sendmsg() returns). */
static int send_inverted(struct source *s, uint64_t o, uint8_t *p,
			 uint64_t len)
{
	uint8_t *e = p + len, *q;
	int rc;

	for (q = p; q < e; q++)
		*q = (uint8_t)~*q;
	rc = send_rec(&s->l, MIG_PAGES, 0, &o, 8, p, len);
	for (q = p; q < e; q++)
		*q = (uint8_t)~*q;
	s->twice = false;
	return rc;
}

/*
 * Send the n pages at RAM offset off (gpa in guest memory): data runs,
 * and zero runs unless skip_zero (round 0: the destination starts zero).
 * With the ring, each SEND_PAGES chunk is read into the next free slot and
 * its data runs go out as SHARED records, the last one freeing the slot.
 */
static int send_pages(struct source *s, vmmem_gpa_t gpa, uint64_t off,
		      uint64_t n, bool skip_zero)
{
	struct link *l = &s->l;

	while (n) {
		uint64_t k = n < SEND_PAGES ? n : SEND_PAGES, i, j;
		uint64_t run = 0, run_end = 0;	/* a SHARED run not sent */
		uint8_t *buf = s->buf;
		int rc = l->ring.base ? ring_wait(l) : 0;

		if (rc)
			return rc;
		if (l->ring.base)
			buf = ring_slot(&l->ring);
		rc = vmmem_read(s->m->mem, gpa, buf, k * PAGE);
		if (rc)
			return rc;
		for (i = 0; i < k; i = j) {
			bool zero = page_zero(buf + i * PAGE);

			for (j = i + 1; j < k &&
					page_zero(buf + j * PAGE) == zero;
			     j++)
				;
			if (zero && !skip_zero) {
				uint64_t z[2] = { htole64(off + i * PAGE),
						  htole64(j - i) };

				rc = send_rec(l, MIG_ZERO, 0, z, sizeof(z),
					      NULL, 0);
			} else if (!zero) {
				uint64_t o = htole64(off + i * PAGE);

				if (s->twice)
					rc = send_inverted(s, o,
							   buf + i * PAGE,
							   (j - i) * PAGE);
				if (!rc && l->ring.base && run_end)
					rc = send_shared(l, off + run * PAGE,
							 run, run_end - run,
							 false);
				if (!rc && l->ring.base) {
					run = i;
					run_end = j;
				} else if (!rc) {
					rc = send_rec(l, MIG_PAGES, 0, &o, 8,
						      buf + i * PAGE,
						      (j - i) * PAGE);
				}
			}
			if (rc)
				return rc;
		}
		if (run_end)
			rc = send_shared(l, off + run * PAGE, run,
					 run_end - run, true);
		if (rc)
			return rc;
		gpa += k * PAGE;
		off += k * PAGE;
		n -= k;
	}
	return 0;
}

/* Send the pages whose bits are set in bits[], in runs; zero runs too
 * unless skip_zero. */
static int send_marked(struct source *s, struct vmmem_region *r, uint64_t off,
		       const uint64_t *bits, bool skip_zero)
{
	uint64_t pages = vmmem_region_len(r) / PAGE, p = 0, q;
	int rc;

	while (p < pages) {
		if (!(bits[p / 64] >> (p % 64) & 1)) {
			/* A whole clear word: skip it at once. */
			p = bits[p / 64] ? p + 1 : (p / 64 + 1) * 64;
			continue;
		}
		for (q = p + 1; q < pages && (bits[q / 64] >> (q % 64) & 1); q++)
			;
		rc = send_pages(s, vmmem_region_gpa(r) + p * PAGE,
				off + p * PAGE, q - p, skip_zero);
		if (rc)
			return rc;
		p = q;
	}
	return 0;
}

/*
 * Every page of guest RAM that is not zero (round 0). Pages of anonymous
 * memory that were never touched are zero without reading them (the
 * destination's memory starts zero), which spares faulting in the whole
 * of a mostly idle guest; the dirty log, on since before this, catches
 * any page touched after it was looked at.
 */
static int send_all(struct source *s)
{
	uint64_t off = 0, *resident;
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < s->nregions; i++) {
		struct vmmem_region *r = vmmem_region_at(s->m->mem, i);
		uint64_t len = vmmem_region_len(r), pages = len / PAGE;

		resident = calloc((pages + 63) / 64, sizeof(uint64_t));
		if (!resident)
			return -ENOMEM;
		if (vmmem_region_resident(r, 0, pages * PAGE, resident) == 0)
			rc = send_marked(s, r, off, resident, true);
		else
			rc = send_pages(s, vmmem_region_gpa(r), off, pages,
					true);
		free(resident);
		off += len;
	}
	return rc;
}

/* Take the pages written since the last harvest into s->bits (KVM's log
 * merged in first). Return: how many, or a negative errno. */
static int64_t harvest(struct source *s)
{
	int64_t count = 0;
	size_t i, w;
	int rc = vm_sync_dirty(&s->m->vm);

	for (i = 0; !rc && i < s->nregions; i++) {
		struct vmmem_region *r = vmmem_region_at(s->m->mem, i);
		size_t words = (vmmem_region_dirty_pages(r) + 63) / 64;

		rc = vmmem_region_dirty_get_and_reset(r, s->bits[i], words);
		for (w = 0; !rc && w < words; w++)
			count += __builtin_popcountll(s->bits[i][w]);
	}
	return rc ? rc : count;
}

/* Send the pages harvest() found, in runs. */
static int send_dirty(struct source *s)
{
	uint64_t off = 0;
	size_t i;
	int rc;

	for (i = 0; i < s->nregions; i++) {
		struct vmmem_region *r = vmmem_region_at(s->m->mem, i);

		rc = send_marked(s, r, off, s->bits[i], false);
		if (rc)
			return rc;
		off += vmmem_region_len(r);
	}
	return 0;
}

static int alloc_source(struct source *s, struct machine *m)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	s->m = m;
	s->l.fd = -1;
	s->l.sfd = -1;
	s->l.pass_fd = -1;
	s->l.got_fd = -1;
	s->l.xs = XXH3_createState();
	s->l.fail_at = fail_after();
	s->l.corrupt = getenv("MINIVMM_MIGRATION_CORRUPT") != NULL;
	s->twice = getenv("MINIVMM_MIGRATION_TWICE") != NULL;
	s->nregions = vmmem_region_count(m->mem);
	s->buf = malloc(SEND_PAGES * PAGE);
	s->bits = calloc(s->nregions, sizeof(*s->bits));
	if (!s->buf || !s->bits || !s->l.xs ||
	    XXH3_64bits_reset(s->l.xs) != XXH_OK)
		return -ENOMEM;
	for (i = 0; i < s->nregions; i++) {
		struct vmmem_region *r = vmmem_region_at(m->mem, i);
		size_t words = (vmmem_region_dirty_pages(r) + 63) / 64;

		if (!words)
			return -ENOTSUP;	/* no bitmap */
		s->bits[i] = calloc(words, sizeof(uint64_t));
		if (!s->bits[i])
			return -ENOMEM;
	}
	return 0;
}

static void free_source(struct source *s)
{
	size_t i;

	for (i = 0; s->bits && i < s->nregions; i++)
		free(s->bits[i]);
	free(s->bits);
	free(s->buf);
	ring_unmap(&s->l.ring);
	XXH3_freeState(s->l.xs);
	if (s->l.fd >= 0)
		close(s->l.fd);
}

static void set_progress(struct source *s, uint64_t rounds, int64_t left)
{
	pthread_mutex_lock(&s->m->lock);
	s->m->mig.bytes_sent = s->l.bytes;
	s->m->mig.rounds = rounds;
	if (left >= 0)
		s->m->mig.dirty_pages = (uint64_t)left;
	pthread_mutex_unlock(&s->m->lock);
}

/* See MINIVMM_MIGRATION_STRAY above (testing). */
static int send_stray(struct source *s)
{
	const char *v = getenv("MINIVMM_MIGRATION_STRAY");
	uint64_t ram = 0, off;
	size_t i;

	if (!v || (strcmp(v, "1") && strcmp(v, "2") && strcmp(v, "3")))
		return 0;
	if (*v == '3')
		return s->l.ring.base ? send_shared(&s->l, 0, SEND_PAGES - 1,
						    2, true) :
					0;
	for (i = 0; i < s->nregions; i++)
		ram += vmmem_region_len(vmmem_region_at(s->m->mem, i));
	off = htole64(*v == '1' ? ram : ram - PAGE);
	memset(s->buf, 0xa5, 2 * PAGE);
	return send_rec(&s->l, MIG_PAGES, 0, &off, 8, s->buf, 2 * PAGE);
}

/* Pre-copy while the guest runs. Return: 0, or an error (err set). */
static int precopy(struct source *s, char *err, size_t errlen)
{
	struct state_buf hello;
	uint64_t round, b0;
	unsigned stalled = 0;
	double t;
	int64_t left, prev_left = 0;
	int rc, ring_fd = -1;

	/* A destination on this host may take the pages through shared
	 * memory; without it (or if it declines) they go through the
	 * socket. */
	if (s->local && !getenv("MINIVMM_MIGRATION_NO_RING") &&
	    ring_create(&s->l.ring,
			!getenv("MINIVMM_MIGRATION_RING_UNSEALED"), &ring_fd))
		pr_debug("migration: no shared ring, pages go through the "
			 "socket");
	s->l.pass_fd = ring_fd;
	state_buf_init(&hello);
	state_put(&hello, MIG_MAGIC, MIG_MAGIC_LEN);
	state_put_u32(&hello, MIG_VERSION);
	snap_shape_put(s->m, &hello);
	rc = hello.err ? hello.err :
			 send_rec(&s->l, MIG_HELLO, 0, hello.data, hello.len,
				  NULL, 0);
	state_buf_fini(&hello);
	s->l.pass_fd = -1;
	if (ring_fd >= 0)
		close(ring_fd);	/* passed, or never will be */
	if (rc) {
		send_error(&s->l, err, errlen, rc);
		return rc;
	}
	/* The destination takes the shape and makes guest memory, or says
	 * why it will not; it builds the VM while the pages arrive. */
	rc = wait_reply(&s->l, IDLE_TIMEOUT_MS, err, errlen);
	if (rc)
		return rc;
	if (!s->l.ring_ok)
		ring_unmap(&s->l.ring);
	rc = send_stray(s);
	if (rc) {
		send_error(&s->l, err, errlen, rc);
		return rc;
	}
	rc = vm_set_dirty_log(&s->m->vm, true);
	if (!rc)
		rc = (int)(harvest(s) < 0 ? -EIO : 0);
	if (rc) {
		snprintf(err, errlen, "starting dirty page logging: %s",
			 strerror(-rc));
		return rc;
	}
	t = now_s();
	b0 = s->l.bytes;
	rc = send_all(s);
	for (round = 0; !rc; round++) {
		/* This round's pace: what the paused phase can expect. */
		if (now_s() > t && s->l.bytes > b0)
			s->bw = (double)(s->l.bytes - b0) / (now_s() - t);
		rc = send_rec(&s->l, MIG_ROUND, (uint32_t)round, NULL, 0, NULL,
			      0);
		if (rc)
			break;
		left = harvest(s);
		if (left < 0) {
			rc = (int)left;
			break;
		}
		set_progress(s, round + 1, left);
		/* A guest that writes as fast as the link sends no longer
		 * shrinks what is left: more rounds would not help. */
		stalled = round > 0 && left * 10 >= prev_left * 9 ?
				  stalled + 1 : 0;
		prev_left = left;
		if (round + 1 >= MAX_ROUNDS || (uint64_t)left <= MIN_LEFT ||
		    (double)left * PAGE <= s->bw * DOWNTIME_BUDGET_S ||
		    stalled >= STALLED_ROUNDS) {
			/* What is left goes out while paused, once the
			 * destination's VM is built (its answer to the first
			 * ROUND, mostly waiting in the socket by now). */
			return wait_reply(&s->l, IDLE_TIMEOUT_MS, err,
					  errlen);
		}
		t = now_s();
		b0 = s->l.bytes;
		rc = send_dirty(s);
	}
	send_error(&s->l, err, errlen, rc);
	return rc;
}

/* The paused phase: the rest of RAM, the state, the checksum. */
static int finish(struct source *s, char *err, size_t errlen)
{
	struct state_buf st;
	uint64_t sum;
	int rc;

	state_buf_init(&st);
	/* The last harvest of precopy() is still in s->bits; what was
	 * written since joins it. */
	rc = send_dirty(s);
	if (!rc) {
		int64_t more = harvest(s);

		rc = more < 0 ? (int)more : send_dirty(s);
	}
	if (rc) {
		send_error(&s->l, err, errlen, rc);
		goto out;
	}
	dump_memory(s->m, "source.mem");
	rc = snap_encode(s->m, &st, err, errlen);
	if (rc)
		goto out;
	rc = send_rec(&s->l, MIG_STATE, 0, st.data, st.len, NULL, 0);
	sum = htole64(XXH3_64bits_digest(s->l.xs));
	if (!rc)
		rc = send_rec(&s->l, MIG_END, 0, &sum, 8, NULL, 0);
	if (rc) {
		send_error(&s->l, err, errlen, rc);
		goto out;
	}
	rc = wait_reply(&s->l, IDLE_TIMEOUT_MS, err, errlen);
out:
	state_buf_fini(&st);
	return rc;
}

/*
 * The migration harvested the dirty bitmaps that Diff snapshots use too:
 * after one that failed, count every page as written, so that the next
 * Diff is whole rather than missing what the migration took.
 */
static void forget_harvest(struct machine *m)
{
	size_t i;

	for (i = 0; i < vmmem_region_count(m->mem); i++) {
		struct vmmem_region *r = vmmem_region_at(m->mem, i);

		if (vmmem_mark_dirty(m->mem, vmmem_region_gpa(r),
				     vmmem_region_len(r)))
			pr_debug("migration: marking region %zu dirty failed",
				 i);
	}
}

int migrate_send(struct machine *m, const char *url, char *err, size_t errlen)
{
	struct source s;
	char ctl_err[256];
	double t0, t_pause = 0;
	bool paused = false;
	int rc;

	pthread_mutex_lock(&m->lock);
	if (m->migrating || m->state != MACHINE_RUNNING) {
		rc = m->migrating ? -EBUSY : -EINVAL;
		snprintf(err, errlen, m->migrating ?
				"a migration is already in progress" :
				"only a running VM can be migrated");
		pthread_mutex_unlock(&m->lock);
		return rc;
	}
	m->migrating = true;
	memset(&m->mig, 0, sizeof(m->mig));
	m->mig.state = API_MIGRATION_ACTIVE;
	pthread_mutex_unlock(&m->lock);

	t0 = now_s();
	rc = alloc_source(&s, m);
	if (rc) {
		snprintf(err, errlen, "migration: %s", strerror(-rc));
		goto out;
	}
	s.local = !strncmp(url, "unix:", 5);
	s.l.fd = open_url(url, false, err, errlen);
	if (s.l.fd < 0) {
		rc = s.l.fd;
		goto out;
	}
	rc = precopy(&s, err, errlen);
	if (rc)
		goto out;
	rc = machine_ctl(m, CTL_MIG_PAUSE, NULL, ctl_err, sizeof(ctl_err));
	if (rc) {
		snprintf(err, errlen, "pausing the VM: %s", ctl_err);
		goto out;
	}
	paused = true;
	t_pause = now_s();
	rc = finish(&s, err, errlen);
out:
	pthread_mutex_lock(&m->lock);
	m->mig.bytes_sent = s.l.bytes;
	m->mig.total_ms = (now_s() - t0) * 1e3;
	if (paused)
		m->mig.downtime_ms = (now_s() - t_pause) * 1e3;
	m->mig.state = rc ? API_MIGRATION_FAILED : API_MIGRATION_COMPLETED;
	if (rc)
		snprintf(m->mig.fault_message, sizeof(m->mig.fault_message),
			 "%s", err);
	pthread_mutex_unlock(&m->lock);
	free_source(&s);
	if (!rc) {
		pr_debug("migrated to %s: %.1f ms, downtime %.2f ms", url,
			 m->mig.total_ms, m->mig.downtime_ms);
		/* The guest runs there now: this process is done. */
		machine_stop(m, VMM_EXIT_OK);
	} else {
		/* The guest keeps running here, on exactly one side. */
		if (!m->dirty_log)
			vm_set_dirty_log(&m->vm, false);
		else
			forget_harvest(m);
		if (paused && machine_ctl(m, CTL_MIG_RESUME, NULL, ctl_err,
					  sizeof(ctl_err)))
			pr_err("migration: resuming the VM: %s", ctl_err);
		pr_err("migration to %s failed: %s", url, err);
	}
	pthread_mutex_lock(&m->lock);
	m->migrating = false;
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* The destination's side. */

/* RAM offset -> GPA for len bytes inside one region of the shape. */
static int off_to_gpa(const struct machine_shape *sh, uint64_t off,
		      uint64_t len, vmmem_gpa_t *gpa)
{
	uint64_t start = 0;
	unsigned i;

	for (i = 0; i < sh->nregions; i++) {
		if (off >= start && off - start <= sh->len[i] &&
		    len <= sh->len[i] - (off - start)) {
			*gpa = sh->gpa[i] + (off - start);
			return 0;
		}
		start += sh->len[i];
	}
	return -EBADMSG;
}

/*
 * The first round's pages, placed with UFFDIO_COPY. Guest memory is
 * registered with a userfaultfd from its creation to the first record that
 * is not PAGES (the end of the first round), and each page that arrives is
 * placed there: the kernel allocates it and copies the data in, without
 * first zeroing it as a write into an empty anonymous page must (a third
 * of the receiving side's time went there). The userfaultfd is
 * VMMEM_UFFD_SIGBUS: nobody reads it, so any other access to a page not yet
 * placed fails at once (SIGBUS, or EFAULT in the kernel) instead of
 * waiting. Pages are placed once; a page that comes again (the stream
 * allows it) is copied over the placed one, which `placed` tells.
 */
struct fill {
	int uffd;		/* -1: not (or no longer) in use */
	uint64_t *placed;	/* a bit per page of RAM */
	uint8_t *buf;		/* SEND_PAGES pages */
	uint64_t count;		/* pages placed */
};

static void fill_end(struct machine *m, struct fill *f)
{
	if (f->uffd >= 0) {
		pr_debug("migration: %llu pages of the first round placed "
			 "through userfaultfd",
			 (unsigned long long)f->count);
		if (vmmem_uffd_unregister(m->mem, f->uffd))
			pr_debug("migration: unregistering guest memory "
				 "failed");
		close(f->uffd);
	}
	f->uffd = -1;
	free(f->placed);
	free(f->buf);
	f->placed = NULL;
	f->buf = NULL;
}

/* Register guest memory, or leave f unused when this kernel or process
 * cannot (the receiver then faults pages in the ordinary way). */
static void fill_start(struct machine *m, const struct machine_shape *sh,
		       struct fill *f)
{
	f->uffd = -1;
	if (getenv("MINIVMM_MIGRATION_NO_UFFD"))
		return;
	f->placed = calloc((snap_shape_ram(sh) / PAGE + 63) / 64, 8);
	f->buf = malloc(SEND_PAGES * PAGE);
	if (!f->placed || !f->buf ||
	    vmmem_uffd_open(O_CLOEXEC | VMMEM_UFFD_SIGBUS, &f->uffd)) {
		fill_end(m, f);
		return;
	}
	if (vmmem_uffd_register(m->mem, f->uffd)) {
		close(f->uffd);
		f->uffd = -1;
		fill_end(m, f);
	}
}

static bool placed(const struct fill *f, uint64_t page)
{
	return f->placed[page / 64] >> (page % 64) & 1;
}

/* Place the n bytes at src for RAM offset off (hva in guest memory): the
 * pages not placed yet with UFFDIO_COPY, the others copied over. */
static int place(struct fill *f, uint8_t *hva, uint64_t off,
		 const uint8_t *src, uint64_t n)
{
	uint64_t first = off / PAGE, end = first + n / PAGE, p, q;
	int rc;

	for (p = first; p < end; p = q) {
		bool was = placed(f, p);
		const uint8_t *from = src + (p - first) * PAGE;
		uint8_t *dst = hva + (p - first) * PAGE;

		for (q = p + 1; q < end && placed(f, q) == was; q++)
			;
		if (was) {
			memcpy(dst, from, (q - p) * PAGE);
			continue;
		}
		rc = vmmem_uffd_copy(f->uffd, (uintptr_t)dst, from,
				     (q - p) * PAGE);
		if (rc)
			return rc;
		f->count += q - p;
	}
	for (p = first; p < end; p++)
		f->placed[p / 64] |= 1ull << (p % 64);
	return 0;
}

/* The n bytes of a PAGES record for RAM offset off (hva in guest memory),
 * through f->buf: received, hashed, then placed. */
static int recv_fill(struct fill *f, struct link *l, uint8_t *hva,
		     uint64_t off, uint64_t n)
{
	while (n) {
		uint64_t k = n < SEND_PAGES * PAGE ? n : SEND_PAGES * PAGE;
		int rc = read_all(l, f->buf, k, IDLE_TIMEOUT_MS);

		if (rc)
			return rc;
		hash(l, f->buf, k);
		rc = place(f, hva, off, f->buf, k);
		if (rc)
			return rc;
		hva += k;
		off += k;
		n -= k;
	}
	return 0;
}

/*
 * Guest RAM of the shape: anonymous, with dirty bitmaps. Not with
 * transparent huge pages, unlike a booted VM: filling huge-page memory page
 * by page as the stream arrives made a churning 2 GiB guest's migration
 * 2.2 times longer on this project's machines (docs/PERFORMANCE.md).
 */
static int build_memory(struct machine *m, const struct machine_shape *sh)
{
	struct vmmem_range r[MACHINE_MAX_REGIONS];
	unsigned i;

	for (i = 0; i < sh->nregions; i++)
		r[i] = (struct vmmem_range){ sh->gpa[i], sh->len[i] };
	return vmmem_create_anon(r, sh->nregions, VMMEM_REGION_DIRTY_LOG,
				 &m->mem);
}

/*
 * The VM (KVM's VM, its memory slots, the devices and vCPUs) is built on a
 * thread of its own while the first round arrives: installing the memory
 * slot is mostly a wait inside KVM (0.6 to 8 ms here), which the source
 * would otherwise spend waiting for the answer to HELLO. Nothing of it
 * touches guest memory, which is all the receiving thread uses until it
 * joins the builder at the first ROUND and answers: built, or why not.
 * The source reads that answer before it pauses the guest, so the build
 * is never downtime.
 */
struct builder {
	pthread_t thread;
	bool running;		/* a thread to join */
	struct machine *m;
	const struct machine_shape *sh;
	int rc;
	char err[256];
};

static void *build_vm(void *opaque)
{
	struct builder *b = opaque;

	b->rc = snap_build(b->m, b->sh, b->err, sizeof(b->err));
	return NULL;
}

/* Start the build, on this thread if no other can be had. */
static void build_start(struct builder *b, struct machine *m,
			const struct machine_shape *sh)
{
	b->m = m;
	b->sh = sh;
	b->running = !pthread_create(&b->thread, NULL, build_vm, b);
	if (!b->running)
		build_vm(b);
}

/* Wait for the build (once started). Return: its result, err set. */
static int build_join(struct builder *b, char *err, size_t errlen)
{
	if (b->running)
		pthread_join(b->thread, NULL);
	b->running = false;
	if (b->rc)
		snprintf(err, errlen, "%s", b->err);
	return b->rc;
}

static int on_hello(struct machine *m, const struct rec *r,
		    struct machine_shape *sh, struct fill *fill,
		    struct builder *b, char *err, size_t errlen)
{
	struct state_rd rd;
	char magic[MIG_MAGIC_LEN];
	uint32_t version;
	int rc;

	state_rd_init(&rd, r->data, r->len);
	state_get(&rd, magic, sizeof(magic));
	version = state_get_u32(&rd);
	if (rd.err || memcmp(magic, MIG_MAGIC, MIG_MAGIC_LEN)) {
		snprintf(err, errlen, "not a minivmm migration stream");
		return -EPROTO;
	}
	if (version != MIG_VERSION) {
		snprintf(err, errlen, "migration stream version %u, this "
			 "minivmm speaks %u", version, MIG_VERSION);
		return -EPROTO;
	}
	if (snap_shape_parse(r->data + rd.off, r->len - rd.off, sh)) {
		snprintf(err, errlen, "the machine's description is "
			 "malformed");
		return -EBADMSG;
	}
	rc = snap_check_options(m, sh, err, errlen);
	if (rc)
		return rc;
	rc = build_memory(m, sh);
	if (rc) {
		snprintf(err, errlen, "cannot allocate %llu MiB of guest "
			 "memory: %s",
			 (unsigned long long)(snap_shape_ram(sh) >> 20),
			 strerror(-rc));
		return rc;
	}
	/* Before anything could touch guest memory. */
	fill_start(m, sh, fill);
	m->dirty_log = m->opts->dirty_log;
	build_start(b, m, sh);
	return 0;
}

/*
 * A PAGES record after its header: the RAM offset, then the data. In the
 * first round, placed through f (when in use); otherwise received straight
 * into guest memory (the guest does not run yet) and checksummed there.
 * fresh: the pages are most likely not yet in memory (the first round).
 * Return: 0, -EBADMSG for pages outside guest memory, or what read_all()
 * or vmmem_uffd_copy() returns.
 */
static int recv_pages(struct machine *m, const struct machine_shape *sh,
		      struct link *l, const uint8_t *hdr, uint64_t len,
		      bool fresh, struct fill *f)
{
	struct vmmem_slice sl;
	vmmem_gpa_t gpa;
	uint64_t off, n;
	int rc;

	if (len < 8)
		return -EBADMSG;
	n = len - 8;
	rc = read_all(l, &off, 8, IDLE_TIMEOUT_MS);
	if (rc)
		return rc;
	hash(l, hdr, HDR_LEN);
	hash(l, &off, 8);
	off = le64toh(off);
	if (off % PAGE || n % PAGE || off_to_gpa(sh, off, n, &gpa))
		return -EBADMSG;
	if (!n)
		return 0;
	if (vmmem_get_slice(m->mem, gpa, n, &sl))
		return -EBADMSG;
	if (f->uffd >= 0) {
		rc = recv_fill(f, l, sl.hva, off, n);
		return rc ? rc : vmmem_slice_mark_dirty(&sl, 0, n);
	}
	/* Fresh memory without f: one call faults the record's pages in,
	 * about a third cheaper per page here than a fault each inside
	 * recv(). A kernel without it (before 5.14) leaves that to recv().
	 * Not in later rounds, whose pages are mostly there already: the
	 * call would still walk them (a quarter of a microsecond a page
	 * here), also in the paused phase. */
	if (fresh)
		(void)madvise(sl.hva, n, MADV_POPULATE_WRITE);
	rc = read_all(l, sl.hva, n, IDLE_TIMEOUT_MS);
	if (rc)
		return rc;
	hash(l, sl.hva, n);
	return vmmem_slice_mark_dirty(&sl, 0, n);
}

/*
 * A SHARED record after its header: the RAM offset and a range of the
 * current ring slot, whose pages are placed (through f, when in use) or
 * copied into guest memory, then the slot freed if the record is its last.
 * Return: 0, -EPROTO without a ring, -ERANGE for a range outside the slot,
 * -EBADMSG for pages outside guest memory, or what read_all() or
 * vmmem_uffd_copy() returns.
 */
static int recv_shared(struct machine *m, const struct machine_shape *sh,
		       struct link *l, const uint8_t *hdr,
		       const struct rec *r, bool fresh, struct fill *f)
{
	uint8_t pl[16], *src;
	uint32_t first, count;
	struct vmmem_slice sl;
	vmmem_gpa_t gpa;
	uint64_t off, n;
	int rc;

	if (!l->ring.base || r->len != sizeof(pl))
		return -EPROTO;
	rc = read_all(l, pl, sizeof(pl), IDLE_TIMEOUT_MS);
	if (rc)
		return rc;
	hash(l, hdr, HDR_LEN);
	hash(l, pl, sizeof(pl));
	memcpy(&off, pl, 8);
	memcpy(&first, pl + 8, 4);
	memcpy(&count, pl + 12, 4);
	off = le64toh(off);
	first = le32toh(first);
	count = le32toh(count);
	if (!count || first >= SEND_PAGES || count > SEND_PAGES - first)
		return -ERANGE;
	n = (uint64_t)count * PAGE;
	if (off % PAGE || off_to_gpa(sh, off, n, &gpa) ||
	    vmmem_get_slice(m->mem, gpa, n, &sl))
		return -EBADMSG;
	src = ring_slot(&l->ring) + (size_t)first * PAGE;
	hash(l, src, n);
	count_bytes(l, n);
	if (f->uffd >= 0) {
		rc = place(f, sl.hva, off, src, n);
		if (rc)
			return rc;
	} else {
		/* As recv_pages() does. */
		if (fresh)
			(void)madvise(sl.hva, n, MADV_POPULATE_WRITE);
		memcpy(sl.hva, src, n);
	}
	l->ring.pages += count;
	if (r->aux)
		ring_free_slot(&l->ring);
	return vmmem_slice_mark_dirty(&sl, 0, n);
}

/* A ZERO record: pages that are zero now. */
static int on_zero(struct machine *m, const struct machine_shape *sh,
		   const struct rec *r)
{
	vmmem_gpa_t gpa;
	uint64_t off, n;

	if (r->len != 16)
		return -EBADMSG;
	memcpy(&off, r->data, 8);
	memcpy(&n, r->data + 8, 8);
	off = le64toh(off);
	n = le64toh(n);
	if (off % PAGE || n > UINT64_MAX / PAGE ||
	    off_to_gpa(sh, off, n * PAGE, &gpa))
		return -EBADMSG;
	return vmmem_fill(m->mem, gpa, 0, n * PAGE);
}

/* Accept the one connection, or end on a signal. */
static int accept_one(int lfd, int sfd, char *err, size_t errlen)
{
	struct link l = { .fd = lfd, .sfd = sfd, .pass_fd = -1, .got_fd = -1 };
	int rc = wait_readable(&l, -1), fd;

	if (rc) {
		snprintf(err, errlen, "stopped while waiting for the source");
		return rc;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "accept: %s", strerror(errno));
		return rc;
	}
	return fd;
}

/* The fd that came with HELLO: the source's ring, used if it is one. */
static void take_ring(struct link *l)
{
	const char *why = "";
	int fd = l->got_fd;

	l->got_fd = -1;
	if (ring_attach(&l->ring, fd, &why))
		pr_debug("migration: the source's shared memory is %s: pages "
			 "go through the socket", why);
}

static int receive(struct machine *m, struct link *l, char *err,
		   size_t errlen)
{
	struct machine_shape sh;
	struct snap_file f = { 0 };
	bool have_hello = false, have_state = false, round0 = true;
	struct fill fill = { .uffd = -1 };
	struct builder build = { .rc = 0 };
	uint64_t want;
	struct rec r;
	int rc;

	for (;;) {
		uint8_t hdr[HDR_LEN];

		rc = recv_hdr(l, hdr, &r, MAX_PAYLOAD, IDLE_TIMEOUT_MS);
		if (!rc && have_hello &&
		    (r.type == MIG_PAGES || r.type == MIG_SHARED)) {
			rc = r.type == MIG_PAGES ?
				     recv_pages(m, &sh, l, hdr, r.len, round0,
						&fill) :
				     recv_shared(m, &sh, l, hdr, &r, round0,
						 &fill);
			if (rc == -EBADMSG || rc == -ERANGE || rc == -EPROTO) {
				snprintf(err, errlen, "%s",
					 rc == -EBADMSG ?
						 "a page record outside guest "
						 "memory" :
					 rc == -ERANGE ?
						 "a shared-memory page record "
						 "outside its slot" :
						 "a shared-memory page record "
						 "without shared memory");
				goto out;
			}
			if (!rc)
				continue;
		} else if (!rc) {
			fill_end(m, &fill);
			rc = recv_payload(l, hdr, &r, IDLE_TIMEOUT_MS);
		}
		if (rc == -EPIPE) {
			snprintf(err, errlen, "the source closed the "
				 "connection after %llu bytes, before the end "
				 "of the migration",
				 (unsigned long long)l->bytes);
			goto out;
		}
		if (rc == -ETIMEDOUT) {
			snprintf(err, errlen, "the source sent nothing for "
				 "%d s", IDLE_TIMEOUT_MS / 1000);
			goto out;
		}
		if (rc == -EINTR) {
			snprintf(err, errlen, "stopped by a signal");
			goto out;
		}
		if (rc) {
			snprintf(err, errlen, "receiving: %s", strerror(-rc));
			goto out;
		}
		if (!have_hello && r.type != MIG_HELLO) {
			rc = -EPROTO;
			snprintf(err, errlen, "not a minivmm migration "
				 "stream");
		} else if (r.type == MIG_HELLO) {
			rc = have_hello ? -EPROTO :
					  on_hello(m, &r, &sh, &fill, &build,
						   err, errlen);
			if (rc == -EPROTO && have_hello)
				snprintf(err, errlen, "a second HELLO");
			have_hello = true;
			l->take_fd = false;
			if (!rc && l->got_fd >= 0)
				take_ring(l);
			/* The source waits for this answer before RAM;
			 * the VM is still being built. */
			if ((rc || !l->ring.base ?
				     send_reply(l, rc, err) :
				     send_rec(l, MIG_REPLY, REPLY_RING, NULL, 0,
					      NULL, 0)) &&
			    !rc)
				rc = -EPIPE;
		} else if (r.type == MIG_ZERO) {
			rc = on_zero(m, &sh, &r);
			if (rc)
				snprintf(err, errlen, "a page record outside "
					 "guest memory");
		} else if (r.type == MIG_ROUND) {
			pr_debug("migration: round %u received", r.aux);
			/* The source waits for this answer before it pauses
			 * the guest: the rest of the build is not downtime. */
			if (round0) {
				rc = build_join(&build, err, errlen);
				if (!rc && send_reply(l, 0, err)) {
					rc = -EPIPE;
					snprintf(err, errlen, "the source "
						 "closed the connection");
				}
			}
			round0 = false;
		} else if (r.type == MIG_STATE && !have_state) {
			rc = snap_parse("migrated state", r.data, r.len, &f,
					err, errlen);
			r.data = NULL;	/* the snap_file's now */
			have_state = !rc;
		} else if (r.type == MIG_END && have_state && r.len == 8) {
			memcpy(&want, r.data, 8);
			if (le64toh(want) != XXH3_64bits_digest(l->xs)) {
				rc = -EBADMSG;
				snprintf(err, errlen, "the stream's checksum "
					 "does not match: corrupted in "
					 "transit");
			}
			free(r.data);
			if (!rc)
				break;
			goto out;
		} else {
			rc = -EPROTO;
			snprintf(err, errlen, "unexpected record type %u",
				 r.type);
		}
		free(r.data);
		if (rc)
			goto out;
	}
	dump_memory(m, "dest.mem");
	rc = build_join(&build, err, errlen);
	if (!rc)
		rc = snap_apply(m, &f, true, err, errlen);
out:
	if (build.running)	/* an error before the end */
		pthread_join(build.thread, NULL);
	fill_end(m, &fill);
	snap_file_fini(&f);
	return rc;
}

int migrate_incoming(struct machine *m, const char *url, int sfd, char *err,
		     size_t errlen)
{
	struct link l = { .fd = -1, .sfd = sfd, .pass_fd = -1, .got_fd = -1,
			  .take_fd = true };
	char path[256] = "";
	int lfd, rc;

	lfd = open_url(url, true, err, errlen);
	if (lfd < 0)
		return lfd;
	if (!strncmp(url, "unix:", 5))
		snprintf(path, sizeof(path), "%s", url + 5);
	rc = accept_one(lfd, sfd, err, errlen);
	close(lfd);
	/* One migration per listening socket: the name goes at once. */
	if (path[0])
		unlink(path);
	if (rc < 0)
		return rc;
	l.fd = rc;
	l.fail_at = fail_after();
	l.xs = XXH3_createState();
	if (!l.xs || XXH3_64bits_reset(l.xs) != XXH_OK) {
		rc = -ENOMEM;
		snprintf(err, errlen, "migration: %s", strerror(ENOMEM));
	} else {
		rc = receive(m, &l, err, errlen);
	}
	if (l.ring.base)
		pr_debug("migration: %llu pages came through shared memory",
			 (unsigned long long)l.ring.pages);
	ring_unmap(&l.ring);
	if (l.got_fd >= 0)
		close(l.got_fd);
	XXH3_freeState(l.xs);
	l.xs = NULL;
	if (rc) {
		/* Tell the source, if it still listens, and run nothing. */
		send_reply(&l, rc, err);
		close(l.fd);
		return rc;
	}
	m->mig_fd = l.fd;
	return 0;
}

void migrate_ack(struct machine *m, int rc, const char *msg)
{
	struct link l = { .fd = m->mig_fd, .sfd = -1, .pass_fd = -1,
			  .got_fd = -1 };

	if (m->mig_fd < 0)
		return;
	if (send_reply(&l, rc, msg))
		pr_debug("migration: the source did not take the answer");
	close(m->mig_fd);
	m->mig_fd = -1;
}
