/* SPDX-License-Identifier: MIT */
/*
 * queue.c - the split virtqueue, device side. Every byte of the rings and
 * descriptors is reached through libvmmem; nothing here keeps a host
 * pointer into guest memory.
 *
 * Guest layout for a queue of size N (virtio 1.x, split ring):
 *   descriptor table  16 * N bytes, aligned 16: {le64 addr; le32 len;
 *                     le16 flags; le16 next}
 *   available ring    6 + 2 * N bytes, aligned 2: {le16 flags; le16 idx;
 *                     le16 ring[N]; le16 used_event}
 *   used ring         6 + 8 * N bytes, aligned 4: {le16 flags; le16 idx;
 *                     {le32 id; le32 len} ring[N]; le16 avail_event}
 */
#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include <vmmem/atomic.h>
#include <vmmem/memory.h>
#include <vmmem/scalar.h>

#include "../state.h"
#include "queue.h"

/* A descriptor as the guest wrote it; copied once, then checked. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One element of the used ring. */
struct used_elem {
	uint32_t id;
	uint32_t len;
};

_Static_assert(sizeof(struct desc) == 16, "descriptor is 16 bytes");
_Static_assert(sizeof(struct used_elem) == 8, "used element is 8 bytes");

static uint64_t desc_area_len(uint16_t size)
{
	return 16ull * size;
}

static uint64_t avail_area_len(uint16_t size)
{
	return 6ull + 2ull * size;
}

static uint64_t used_area_len(uint16_t size)
{
	return 6ull + 8ull * size;
}

/*
 * Field addresses. The areas were checked by virtq_validate() not to wrap,
 * so these sums of an area start and an offset inside it cannot wrap.
 */
static vmmem_gpa_t avail_idx_gpa(const struct virtq *q)
{
	return q->avail + 2;
}

static vmmem_gpa_t avail_ring_gpa(const struct virtq *q, uint16_t i)
{
	return q->avail + 4 + 2ull * (i & (q->size - 1));
}

static vmmem_gpa_t used_event_gpa(const struct virtq *q)
{
	return q->avail + 4 + 2ull * q->size;
}

static vmmem_gpa_t used_idx_gpa(const struct virtq *q)
{
	return q->used + 2;
}

static vmmem_gpa_t used_ring_gpa(const struct virtq *q, uint16_t i)
{
	return q->used + 4 + 8ull * (i & (q->size - 1));
}

static vmmem_gpa_t avail_event_gpa(const struct virtq *q)
{
	return q->used + 4 + 8ull * q->size;
}

static bool bit_test(const uint64_t *map, unsigned i)
{
	return map[i / 64] & (1ull << (i % 64));
}

static void bit_set(uint64_t *map, unsigned i)
{
	map[i / 64] |= 1ull << (i % 64);
}

static void bit_clear(uint64_t *map, unsigned i)
{
	map[i / 64] &= ~(1ull << (i % 64));
}

static int invalid(struct virtq *q, const char *why)
{
	q->error = why;
	return -EINVAL;
}

static int malformed(struct virtq *q, const char *why)
{
	q->error = why;
	return -EBADMSG;
}

static int unreachable(struct virtq *q, const char *why)
{
	q->error = why;
	return -EFAULT;
}

/* Checks one area: alignment, no wrap-around, fully backed. */
static int check_area(struct virtq *q, struct vmmem *mem, vmmem_gpa_t gpa,
		      uint64_t len, uint64_t align, const char *misaligned,
		      const char *wraps, const char *outside)
{
	vmmem_gpa_t last;

	if (!vmmem_gpa_is_aligned(gpa, align))
		return invalid(q, misaligned);
	if (vmmem_gpa_last(gpa, len, &last))
		return invalid(q, wraps);
	if (vmmem_check_range(mem, gpa, len))
		return invalid(q, outside);
	return 0;
}

int virtq_validate(struct virtq *q, struct vmmem *mem, uint16_t max)
{
	uint16_t idx;
	int rc;

	if (!q)
		return -EINVAL;
	if (!mem)
		return invalid(q, "no guest memory");
	if (q->size == 0)
		return invalid(q, "queue size is 0");
	if (q->size & (q->size - 1))
		return invalid(q, "queue size is not a power of two");
	/* chain->buf[] and the ownership maps hold VIRTQ_MAX_SIZE entries. */
	if (q->size > max || q->size > VIRTQ_MAX_SIZE)
		return invalid(q, "queue size above the maximum");
	rc = check_area(q, mem, q->desc, desc_area_len(q->size), 16,
			"descriptor table not aligned to 16 bytes",
			"descriptor table wraps past 2^64",
			"descriptor table outside guest memory");
	if (rc)
		return rc;
	rc = check_area(q, mem, q->avail, avail_area_len(q->size), 2,
			"available ring not aligned to 2 bytes",
			"available ring wraps past 2^64",
			"available ring outside guest memory");
	if (rc)
		return rc;
	rc = check_area(q, mem, q->used, used_area_len(q->size), 4,
			"used ring not aligned to 4 bytes",
			"used ring wraps past 2^64",
			"used ring outside guest memory");
	if (rc)
		return rc;
	if (vmmem_check_writable(mem, q->used, used_area_len(q->size)))
		return invalid(q, "used ring in read-only memory");
	/*
	 * The indices are shared with the driver and accessed atomically;
	 * that needs them naturally aligned in host memory too, which a
	 * region starting at an odd guest address would break. Find out now
	 * rather than at the first notification.
	 */
	if (vmmem_atomic_load_u16(mem, q->avail + 2, &idx,
				  memory_order_relaxed) ||
	    vmmem_atomic_load_u16(mem, q->used + 2, &idx, memory_order_relaxed))
		return invalid(q, "ring index not accessible atomically");
	q->error = NULL;
	return 0;
}

void virtq_start(struct virtq *q, struct vmmem *mem, bool event_idx)
{
	q->mem = mem;
	q->event_idx = event_idx;
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_valid = false;
	q->error = NULL;
	memset(q->owned, 0, sizeof(q->owned));
	memset(q->heads, 0, sizeof(q->heads));
	memset(q->link, 0xff, sizeof(q->link));
	q->unpop_valid = false;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

static bool started(const struct virtq *q)
{
	return q->mem && q->size && q->size <= VIRTQ_MAX_SIZE &&
	       !(q->size & (q->size - 1));
}

/*
 * Walk the chain that starts at head into chain->buf[], and record its
 * descriptors in order in idx[]. Nothing in q changes except q->error.
 */
static int walk_chain(struct virtq *q, uint16_t head, struct virtq_chain *chain,
		      uint16_t *idx)
{
	uint64_t seen[VIRTQ_MAX_SIZE / 64] = { 0 };
	uint64_t readable = 0, writable = 0;
	bool in_writable = false;
	uint16_t i = head;
	unsigned hops;

	if (head >= q->size)
		return malformed(q, "head index out of range");
	/*
	 * Hop budget: a chain has at most q->size descriptors, so however
	 * the guest links them (or relinks them while we walk), the loop
	 * ends after q->size reads.
	 */
	for (hops = 0;; hops++) {
		struct virtq_buf *buf;
		struct desc d;
		vmmem_gpa_t last;

		if (hops == q->size)
			return malformed(
				q, "descriptor chain longer than the queue");
		if (bit_test(seen, i))
			return malformed(q, "descriptor chain loops");
		if (bit_test(q->owned, i))
			return malformed(
				q, "descriptor made available while in use");
		/*
		 * One copy: everything below is decided on the local copy, so
		 * a vCPU rewriting the descriptor now cannot make us use a
		 * value other than the one we checked.
		 */
		if (vmmem_read_obj(q->mem, q->desc + 16ull * i, &d))
			return unreachable(q,
					   "cannot read the descriptor table");
		d.addr = le64toh(d.addr);
		d.len = le32toh(d.len);
		d.flags = le16toh(d.flags);
		d.next = le16toh(d.next);

		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return malformed(q,
					 "indirect descriptor (not offered)");
		if (d.len) {
			if (vmmem_gpa_last(d.addr, d.len, &last))
				return malformed(q, "buffer wraps past 2^64");
			if (vmmem_check_range(q->mem, d.addr, d.len))
				return malformed(q,
						 "buffer outside guest memory");
		}
		if (d.flags & VIRTQ_DESC_F_WRITE) {
			in_writable = true;
			writable += d.len;
		} else {
			if (in_writable)
				return malformed(q,
						 "device-readable buffer after "
						 "a device-writable one");
			readable += d.len;
		}
		/* Each sum gains at most 2^32 - 1 per hop and there are at
		 * most VIRTQ_MAX_SIZE hops: no 64-bit overflow. */
		if (readable + writable > UINT32_MAX)
			return malformed(q, "chain longer than 4 GiB");

		bit_set(seen, i);
		idx[hops] = i;
		buf = &chain->buf[hops];
		buf->gpa = d.addr;
		buf->len = d.len;
		buf->write = d.flags & VIRTQ_DESC_F_WRITE;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= q->size)
			return malformed(q, "next index out of range");
		i = d.next;
	}
	chain->head = head;
	chain->n = hops + 1;
	/* Both fit: their sum was checked against UINT32_MAX. */
	chain->readable = (uint32_t)readable;
	chain->writable = (uint32_t)writable;
	return 0;
}

int virtq_pop(struct virtq *q, struct virtq_chain *chain)
{
	uint16_t idx[VIRTQ_MAX_SIZE];
	uint16_t avail_idx, head, pending;
	unsigned k;
	int rc;

	if (!q || !chain || !started(q))
		return -EINVAL;
	/*
	 * Acquire: the ring entry and the descriptors the driver wrote
	 * before publishing this index are visible to the reads below.
	 */
	if (vmmem_atomic_load_u16(q->mem, avail_idx_gpa(q), &avail_idx,
				  memory_order_acquire))
		return unreachable(q, "cannot read the available index");
	avail_idx = le16toh(avail_idx);
	/* Free-running 16-bit indices: the difference is taken mod 2^16. */
	pending = (uint16_t)(avail_idx - q->last_avail);
	if (pending > q->size)
		return malformed(
			q, "available index moved by more than the queue size");
	if (pending == 0)
		return 0;
	if (vmmem_read_le16(q->mem, avail_ring_gpa(q, q->last_avail), &head))
		return unreachable(q, "cannot read the available ring");
	rc = walk_chain(q, head, chain, idx);
	if (rc)
		return rc;
	/*
	 * With EVENT_IDX the driver notifies when its index passes
	 * avail_event: ask for the entry after this one.
	 */
	if (q->event_idx && vmmem_write_le16(q->mem, avail_event_gpa(q),
					     (uint16_t)(q->last_avail + 1)))
		return unreachable(q, "cannot write the used ring");

	/* Commit: the chain now belongs to the device. */
	for (k = 0; k < chain->n; k++) {
		bit_set(q->owned, idx[k]);
		q->link[idx[k]] =
			k + 1 < chain->n ? idx[k + 1] : VIRTQ_LINK_END;
	}
	bit_set(q->heads, head);
	q->last_avail++;
	q->unpop_head = head;
	q->unpop_valid = true;
	q->error = NULL;
	return 1;
}

/* Give the descriptors of a held chain back to the driver's side. */
static void release_chain(struct virtq *q, uint16_t head)
{
	uint16_t i = head;
	unsigned hops;

	bit_clear(q->heads, head);
	/* link[] is our own record, but keep the walk bounded anyway. */
	for (hops = 0; hops < q->size && i < q->size; hops++) {
		uint16_t next = q->link[i];

		bit_clear(q->owned, i);
		q->link[i] = VIRTQ_LINK_END;
		i = next;
	}
}

void virtq_unpop(struct virtq *q)
{
	if (!q || !started(q) || !q->unpop_valid)
		return;
	release_chain(q, q->unpop_head);
	q->last_avail--;
	q->unpop_valid = false;
}

int virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	struct used_elem e;
	int rc;

	if (!q || !started(q) || head >= q->size || !bit_test(q->heads, head))
		return -EINVAL;
	e.id = htole32(head);
	e.len = htole32(len);
	rc = vmmem_write_obj(q->mem, used_ring_gpa(q, q->used_idx), &e);
	if (rc)
		return rc;
	/*
	 * Release: the element written above is visible before the driver
	 * can see the index that covers it.
	 */
	rc = vmmem_atomic_store_u16(q->mem, used_idx_gpa(q),
				    htole16((uint16_t)(q->used_idx + 1)),
				    memory_order_release);
	if (rc)
		return rc;
	q->used_idx++;
	release_chain(q, head);
	q->unpop_valid = false;
	return 0;
}

bool virtq_should_signal(struct virtq *q)
{
	uint16_t old, new, v;
	bool valid;

	if (!q || !started(q))
		return false;
	/*
	 * Full barrier: our store of used->idx must be visible before we
	 * read the driver's used_event or flags, or the driver could miss
	 * the entry while we miss its request (store then load).
	 */
	atomic_thread_fence(memory_order_seq_cst);
	old = q->signalled_used;
	new = q->used_idx;
	valid = q->signalled_valid;
	q->signalled_used = new;
	q->signalled_valid = true;
	if (q->event_idx) {
		/* A failed read only costs a spurious interrupt. */
		if (vmmem_read_le16(q->mem, used_event_gpa(q), &v))
			return true;
		if (!valid)
			return true;
		/* Whether used_event lies in (old, new], mod 2^16. */
		return (uint16_t)(new - v - 1) < (uint16_t)(new - old);
	}
	if (valid && new == old)
		return false;
	if (vmmem_read_le16(q->mem, q->avail, &v))
		return true;
	return !(v & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

bool virtq_has_avail(struct virtq *q)
{
	uint16_t idx;

	if (!q->mem || vmmem_atomic_load_u16(q->mem, avail_idx_gpa(q), &idx,
					     memory_order_acquire))
		return false;
	return idx != q->last_avail;
}

int virtq_enable_notify(struct virtq *q, bool enable)
{
	int rc;

	if (!q || !started(q))
		return -EINVAL;
	if (q->event_idx) {
		/* Without notifications the driver simply keeps going; a
		 * stale avail_event is enough to say so. */
		if (!enable)
			return 0;
		rc = vmmem_write_le16(q->mem, avail_event_gpa(q),
				      q->last_avail);
	} else {
		rc = vmmem_write_le16(q->mem, q->used,
				      enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
	}
	if (rc)
		return rc;
	/*
	 * Full barrier: the request must be visible before the caller reads
	 * avail->idx again, or a chain added in between would be seen by
	 * neither side.
	 */
	if (enable)
		atomic_thread_fence(memory_order_seq_cst);
	return 0;
}

const char *virtq_error(const struct virtq *q)
{
	return q ? q->error : NULL;
}

void virtq_save(const struct virtq *q, struct state_buf *b)
{
	unsigned i;

	state_put_u8(b, q->event_idx);
	state_put_u16(b, q->last_avail);
	state_put_u16(b, q->used_idx);
	state_put_u16(b, q->signalled_used);
	state_put_u8(b, q->signalled_valid);
	for (i = 0; i < VIRTQ_MAX_SIZE / 64; i++)
		state_put_u64(b, q->owned[i]);
	for (i = 0; i < VIRTQ_MAX_SIZE / 64; i++)
		state_put_u64(b, q->heads[i]);
	for (i = 0; i < VIRTQ_MAX_SIZE; i++)
		state_put_u16(b, q->link[i]);
}

/*
 * The held chains must be what virtq_pop() could have left: every head is
 * owned, each chain runs over owned descriptors only, ends within the
 * queue size, and together the chains cover every owned descriptor exactly
 * once. Nothing outside the queue is owned.
 */
static bool held_chains_valid(const struct virtq *q)
{
	uint64_t seen[VIRTQ_MAX_SIZE / 64] = { 0 };
	unsigned i, hops, owned = 0, visited = 0;

	for (i = 0; i < VIRTQ_MAX_SIZE; i++) {
		if (!bit_test(q->owned, i)) {
			if (bit_test(q->heads, i))
				return false;
			continue;
		}
		if (i >= q->size)
			return false;
		owned++;
	}
	for (i = 0; i < q->size; i++) {
		unsigned d = i;

		if (!bit_test(q->heads, i))
			continue;
		for (hops = 0;; hops++) {
			if (hops >= q->size || d >= q->size ||
			    !bit_test(q->owned, d) || bit_test(seen, d))
				return false;
			bit_set(seen, d);
			visited++;
			if (q->link[d] == VIRTQ_LINK_END)
				break;
			d = q->link[d];
		}
	}
	return visited == owned;
}

int virtq_restore(struct virtq *q, struct vmmem *mem, bool event_idx,
		  struct state_rd *r)
{
	unsigned i;

	virtq_start(q, mem, event_idx);
	if (state_get_u8(r) != event_idx)
		state_rd_fail(r);
	q->last_avail = state_get_u16(r);
	q->used_idx = state_get_u16(r);
	q->signalled_used = state_get_u16(r);
	q->signalled_valid = state_get_u8(r) != 0;
	for (i = 0; i < VIRTQ_MAX_SIZE / 64; i++)
		q->owned[i] = state_get_u64(r);
	for (i = 0; i < VIRTQ_MAX_SIZE / 64; i++)
		q->heads[i] = state_get_u64(r);
	for (i = 0; i < VIRTQ_MAX_SIZE; i++)
		q->link[i] = state_get_u16(r);
	if (r->err || !held_chains_valid(q)) {
		state_rd_fail(r);
		virtq_start(q, mem, event_idx);
		return -EBADMSG;
	}
	return 0;
}

bool virtq_holds(const struct virtq *q, uint16_t head)
{
	return head < q->size && bit_test(q->heads, head);
}
