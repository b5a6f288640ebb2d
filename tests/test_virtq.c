/* SPDX-License-Identifier: MIT */
/*
 * Tests for minivmm/virtio/queue.c: the split virtqueue on plain libvmmem
 * memory, with the test playing the driver. Every rule of the validation
 * checklist and every error path has a test.
 *
 * The fixture is one set of three regions:
 *   A [0x0000, 0x8000), B [0x8000, 0x10000)   adjacent RAM
 *   R [0x20000, 0x21000)                       read-only
 * The queue (size 8 unless a test says otherwise) has its descriptor table
 * at 0x1000, its available ring at 0x2000 and its used ring at 0x3000;
 * buffers start at 0x4000.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/memory.h>
#include <vmmem/region.h>
#include <vmmem/scalar.h>

#include "../minivmm/state.h"
#include "../minivmm/virtio/queue.h"
#include "fixture.h"

#define DESC 0x1000ull
#define AVAIL 0x2000ull
#define USED 0x3000ull
#define BUF 0x4000ull
#define RAM_END 0x10000ull
#define RO_GPA 0x20000ull
#define QSIZE 8

struct fixture {
	struct vmmem *mem;
	struct virtq q;
	struct virtq_chain chain;
	uint16_t avail_idx; /* the driver's next avail->idx */
};

static int setup(void **state)
{
	static const struct fixture_region spec[] = {
		{ 0x0000, 0x8000, 0 },
		{ 0x8000, 0x8000, 0 },
		{ RO_GPA, 0x1000, VMMEM_REGION_READONLY },
	};
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (fixture_mem_create(spec, 3, NULL, &f->mem)) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmmem_destroy(f->mem);
	free(f);
	return 0;
}

/* The queue registers as a driver would set them. */
static void configure(struct fixture *f, uint16_t size)
{
	virtq_reset(&f->q);
	f->q.size = size;
	f->q.desc = DESC;
	f->q.avail = AVAIL;
	f->q.used = USED;
	f->q.ready = true;
	f->avail_idx = 0;
}

static void start(struct fixture *f, uint16_t size, bool event_idx)
{
	configure(f, size);
	assert_int_equal(virtq_validate(&f->q, f->mem, VIRTQ_MAX_SIZE), 0);
	virtq_start(&f->q, f->mem, event_idx);
}

static void set_desc_in(struct vmmem *mem, uint16_t i, uint64_t gpa,
			uint32_t len, uint16_t flags, uint16_t next)
{
	struct {
		uint64_t addr;
		uint32_t len;
		uint16_t flags;
		uint16_t next;
	} d = { htole64(gpa), htole32(len), htole16(flags), htole16(next) };

	assert_int_equal(vmmem_write_obj(mem, DESC + 16ull * i, &d), 0);
}

static void set_desc(struct fixture *f, uint16_t i, uint64_t gpa, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	set_desc_in(f->mem, i, gpa, len, flags, next);
}

/* Publish avail->idx as the driver does after filling a ring entry. */
static void set_avail_idx(struct fixture *f, uint16_t idx)
{
	f->avail_idx = idx;
	assert_int_equal(vmmem_write_le16(f->mem, AVAIL + 2, idx), 0);
}

static void make_avail(struct fixture *f, uint16_t head)
{
	uint16_t slot = f->avail_idx % f->q.size;

	assert_int_equal(vmmem_write_le16(f->mem, AVAIL + 4 + 2 * slot, head),
			 0);
	set_avail_idx(f, f->avail_idx + 1);
}

static uint16_t read16(struct fixture *f, vmmem_gpa_t gpa)
{
	uint16_t v = 0;

	assert_int_equal(vmmem_read_le16(f->mem, gpa, &v), 0);
	return v;
}

static uint16_t used_idx(struct fixture *f)
{
	return read16(f, USED + 2);
}

static void used_elem(struct fixture *f, uint16_t slot, uint32_t *id,
		      uint32_t *len)
{
	assert_int_equal(vmmem_read_le32(f->mem, USED + 4 + 8 * slot, id), 0);
	assert_int_equal(vmmem_read_le32(f->mem, USED + 8 + 8 * slot, len), 0);
}

static void set_used_event(struct fixture *f, uint16_t v)
{
	assert_int_equal(vmmem_write_le16(f->mem, AVAIL + 4 + 2 * f->q.size, v),
			 0);
}

static uint16_t avail_event(struct fixture *f)
{
	return read16(f, USED + 4 + 8 * f->q.size);
}

/* A one-buffer readable chain at descriptor i. */
static void simple_chain(struct fixture *f, uint16_t i)
{
	set_desc(f, i, BUF + 0x100 * i, 0x10, 0, 0);
	make_avail(f, i);
}

static void assert_malformed(struct fixture *f, const char *reason)
{
	uint16_t before = f->q.last_avail;

	assert_int_equal(virtq_pop(&f->q, &f->chain), -EBADMSG);
	assert_non_null(virtq_error(&f->q));
	assert_non_null(strstr(virtq_error(&f->q), reason));
	/* Nothing was consumed. */
	assert_int_equal(f->q.last_avail, before);
}

static void assert_invalid(struct fixture *f, const char *reason)
{
	assert_int_equal(virtq_validate(&f->q, f->mem, VIRTQ_MAX_SIZE),
			 -EINVAL);
	assert_non_null(virtq_error(&f->q));
	assert_non_null(strstr(virtq_error(&f->q), reason));
}

/* Validation (checklist item 1). */

static void test_virtq_validate_accepts_good_queue(void **state)
{
	struct fixture *f = *state;

	configure(f, QSIZE);
	assert_int_equal(virtq_validate(&f->q, f->mem, QSIZE), 0);
	assert_null(virtq_error(&f->q));
}

static void test_virtq_validate_accepts_areas_ending_at_memory_end(void **state)
{
	struct fixture *f = *state;

	/* The used ring cannot end on the last byte and stay aligned. */
	configure(f, QSIZE);
	f->q.desc = RAM_END - 16 * QSIZE;
	f->q.avail = RAM_END - (6 + 2 * QSIZE);
	f->q.used = RAM_END - (6 + 8 * QSIZE) - 2;
	assert_int_equal(virtq_validate(&f->q, f->mem, QSIZE), 0);
}

static void test_virtq_validate_accepts_areas_across_regions(void **state)
{
	struct fixture *f = *state;

	/* Each area straddles the boundary between A and B. */
	configure(f, QSIZE);
	f->q.desc = 0x8000 - 0x40;
	f->q.avail = 0x8000 - 0x8;
	f->q.used = 0x8000 - 0x20;
	assert_int_equal(virtq_validate(&f->q, f->mem, QSIZE), 0);
}

static void test_virtq_validate_rejects_size_zero(void **state)
{
	struct fixture *f = *state;

	configure(f, 0);
	assert_invalid(f, "size is 0");
}

static void test_virtq_validate_rejects_size_not_power_of_two(void **state)
{
	struct fixture *f = *state;

	configure(f, 6);
	assert_invalid(f, "power of two");
}

static void test_virtq_validate_rejects_size_above_max(void **state)
{
	struct fixture *f = *state;

	configure(f, 16);
	assert_int_equal(virtq_validate(&f->q, f->mem, 8), -EINVAL);
	assert_non_null(strstr(virtq_error(&f->q), "above the maximum"));
}

static void test_virtq_validate_rejects_size_above_virtq_max(void **state)
{
	struct fixture *f = *state;

	configure(f, 2 * VIRTQ_MAX_SIZE);
	assert_int_equal(virtq_validate(&f->q, f->mem, 0xffff), -EINVAL);
	assert_non_null(strstr(virtq_error(&f->q), "above the maximum"));
}

static void
test_virtq_validate_rejects_misaligned_descriptor_table(void **state)
{
	struct fixture *f = *state;

	configure(f, QSIZE);
	f->q.desc = DESC + 8;
	assert_invalid(f, "descriptor table not aligned");
}

static void test_virtq_validate_rejects_misaligned_available_ring(void **state)
{
	struct fixture *f = *state;

	configure(f, QSIZE);
	f->q.avail = AVAIL + 1;
	assert_invalid(f, "available ring not aligned");
}

static void test_virtq_validate_rejects_misaligned_used_ring(void **state)
{
	struct fixture *f = *state;

	configure(f, QSIZE);
	f->q.used = USED + 2;
	assert_invalid(f, "used ring not aligned");
}

static void test_virtq_validate_rejects_descriptor_table_in_hole(void **state)
{
	struct fixture *f = *state;

	configure(f, QSIZE);
	f->q.desc = 0x10000;
	assert_invalid(f, "descriptor table outside guest memory");
}

static void
test_virtq_validate_rejects_available_ring_past_memory_end(void **state)
{
	struct fixture *f = *state;

	/* Starts in RAM, its used_event runs 2 bytes into the hole. */
	configure(f, QSIZE);
	f->q.avail = RAM_END - (6 + 2 * QSIZE) + 2;
	assert_invalid(f, "available ring outside guest memory");
}

static void test_virtq_validate_rejects_used_ring_in_hole(void **state)
{
	struct fixture *f = *state;

	configure(f, QSIZE);
	f->q.used = 0x11000;
	assert_invalid(f, "used ring outside guest memory");
}

static void test_virtq_validate_rejects_descriptor_table_wrapping(void **state)
{
	struct fixture *f = *state;

	configure(f, QSIZE);
	f->q.desc = 0xfffffffffffffff0ull;
	assert_invalid(f, "descriptor table wraps");
}

static void test_virtq_validate_rejects_available_ring_wrapping(void **state)
{
	struct fixture *f = *state;

	configure(f, QSIZE);
	f->q.avail = 0xfffffffffffffffeull;
	assert_invalid(f, "available ring wraps");
}

static void test_virtq_validate_rejects_used_ring_wrapping(void **state)
{
	struct fixture *f = *state;

	configure(f, QSIZE);
	f->q.used = 0xfffffffffffffffcull;
	assert_invalid(f, "used ring wraps");
}

static void
test_virtq_validate_rejects_used_ring_in_readonly_memory(void **state)
{
	struct fixture *f = *state;

	configure(f, QSIZE);
	f->q.used = RO_GPA;
	assert_invalid(f, "read-only");
}

static void test_virtq_validate_accepts_readonly_driver_areas(void **state)
{
	struct fixture *f = *state;

	/* The device only reads the table and the available ring. */
	configure(f, QSIZE);
	f->q.desc = RO_GPA;
	f->q.avail = RO_GPA + 0x800;
	assert_int_equal(virtq_validate(&f->q, f->mem, QSIZE), 0);
}

static void test_virtq_validate_rejects_indices_not_atomic(void **state)
{
	struct fixture *f = *state;
	struct vmmem_region *r;
	struct vmmem *odd;

	/* A region at an odd guest address: every even guest address in it
	 * is odd in host memory, so the 16-bit indices cannot be atomic. */
	assert_int_equal(vmmem_region_create_anon(0x40001, 0x1000, 0, &r), 0);
	assert_int_equal(vmmem_insert(f->mem, r, &odd), 0);
	vmmem_region_destroy(r);
	configure(f, QSIZE);
	f->q.avail = 0x40002;
	assert_int_equal(virtq_validate(&f->q, odd, QSIZE), -EINVAL);
	assert_non_null(strstr(virtq_error(&f->q), "atomic"));
	vmmem_destroy(odd);
}

static void test_virtq_validate_rejects_missing_memory(void **state)
{
	struct fixture *f = *state;

	configure(f, QSIZE);
	assert_int_equal(virtq_validate(&f->q, NULL, QSIZE), -EINVAL);
	assert_int_equal(virtq_validate(NULL, f->mem, QSIZE), -EINVAL);
}

/* Popping well-formed chains. */

static void test_virtq_pop_of_empty_queue_returns_zero(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
	assert_int_equal(f->q.last_avail, 0);
}

static void test_virtq_pop_returns_single_buffer_chain(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 3, BUF, 100, 0, 0);
	make_avail(f, 3);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.head, 3);
	assert_int_equal(f->chain.n, 1);
	assert_int_equal(f->chain.buf[0].gpa, BUF);
	assert_int_equal(f->chain.buf[0].len, 100);
	assert_false(f->chain.buf[0].write);
	assert_int_equal(f->chain.readable, 100);
	assert_int_equal(f->chain.writable, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
}

static void test_virtq_pop_returns_readable_then_writable_chain(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 5);
	set_desc(f, 5, BUF + 0x100, 32, VIRTQ_DESC_F_NEXT, 2);
	set_desc(f, 2, BUF + 0x200, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
		 7);
	set_desc(f, 7, BUF + 0x300, 128, VIRTQ_DESC_F_WRITE, 0);
	make_avail(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.head, 0);
	assert_int_equal(f->chain.n, 4);
	assert_int_equal(f->chain.readable, 48);
	assert_int_equal(f->chain.writable, 192);
	assert_int_equal(f->chain.buf[1].gpa, BUF + 0x100);
	assert_false(f->chain.buf[1].write);
	assert_true(f->chain.buf[2].write);
	assert_int_equal(f->chain.buf[3].gpa, BUF + 0x300);
	assert_int_equal(f->chain.buf[3].len, 128);
}

static void test_virtq_pop_returns_chains_in_avail_order(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	simple_chain(f, 4);
	simple_chain(f, 1);
	simple_chain(f, 6);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.head, 4);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.head, 1);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.head, 6);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
}

static void test_virtq_pop_accepts_chain_as_long_as_the_queue(void **state)
{
	struct fixture *f = *state;
	uint16_t i;

	start(f, QSIZE, false);
	for (i = 0; i < QSIZE; i++)
		set_desc(f, i, BUF, 1, i + 1 < QSIZE ? VIRTQ_DESC_F_NEXT : 0,
			 i + 1);
	make_avail(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.n, QSIZE);
	assert_int_equal(f->chain.readable, QSIZE);
}

static void test_virtq_pop_accepts_zero_length_descriptor(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	/* A zero-length buffer is tolerated wherever it points. */
	set_desc(f, 0, 0xdead0000ull, 0, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
	make_avail(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.n, 2);
	assert_int_equal(f->chain.readable, 0);
	assert_int_equal(f->chain.writable, 8);
}

static void test_virtq_pop_accepts_buffer_across_adjacent_regions(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 0, 0x7ff0, 0x20, 0, 0);
	make_avail(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.buf[0].len, 0x20);
}

static void test_virtq_pop_accepts_buffer_in_readonly_memory(void **state)
{
	struct fixture *f = *state;

	/* Backed is all pop checks; writing is the device's business. */
	start(f, QSIZE, false);
	set_desc(f, 0, RO_GPA, 0x1000, VIRTQ_DESC_F_WRITE, 0);
	make_avail(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
}

static void test_virtq_pop_accepts_avail_index_moving_by_size(void **state)
{
	struct fixture *f = *state;
	uint16_t i;

	start(f, QSIZE, false);
	for (i = 0; i < QSIZE; i++)
		simple_chain(f, i);
	for (i = 0; i < QSIZE; i++) {
		assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
		assert_int_equal(f->chain.head, i);
	}
	assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
}

static void test_virtq_pop_follows_avail_index_across_wrap(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	/* As if 65534 chains had gone through already. */
	f->q.last_avail = 0xfffe;
	f->q.used_idx = 0xfffe;
	set_avail_idx(f, 0xfffe);
	simple_chain(f, 2); /* slot 6 */
	simple_chain(f, 3); /* slot 7 */
	simple_chain(f, 4); /* slot 0, avail->idx is now 1 */
	assert_int_equal(f->avail_idx, 1);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.head, 2);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.head, 3);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.head, 4);
	assert_int_equal(f->q.last_avail, 1);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
}

/* Malformed chains (checklist items 2-7). */

static void test_virtq_pop_rejects_avail_index_moving_too_far(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_avail_idx(f, QSIZE + 1);
	assert_malformed(f,
			 "available index moved by more than the queue size");
}

static void test_virtq_pop_rejects_avail_index_moving_back(void **state)
{
	struct fixture *f = *state;

	/* Going back by one looks like moving forward by 65535. */
	start(f, QSIZE, false);
	simple_chain(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	set_avail_idx(f, 0);
	assert_malformed(f, "available index moved");
}

static void test_virtq_pop_rejects_head_out_of_range(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	make_avail(f, QSIZE);
	assert_malformed(f, "head index out of range");
}

static void test_virtq_pop_rejects_next_out_of_range(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 0xffff);
	make_avail(f, 0);
	assert_malformed(f, "next index out of range");
}

static void test_virtq_pop_rejects_chain_longer_than_queue(void **state)
{
	struct fixture *f = *state;

	/* With two descriptors, the third hop is over budget. */
	start(f, 2, false);
	set_desc(f, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
	make_avail(f, 0);
	assert_malformed(f, "descriptor chain longer than the queue");
}

static void test_virtq_pop_rejects_looping_chain(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 2);
	set_desc(f, 2, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	make_avail(f, 0);
	assert_malformed(f, "loops");
}

static void test_virtq_pop_rejects_descriptor_to_itself(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 4, BUF, 8, VIRTQ_DESC_F_NEXT, 4);
	make_avail(f, 4);
	assert_malformed(f, "loops");
}

static void test_virtq_pop_rejects_head_held_by_device(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	simple_chain(f, 1);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	make_avail(f, 1);
	assert_malformed(f, "while in use");
}

static void test_virtq_pop_rejects_descriptor_held_by_device(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 8, 0, 0);
	make_avail(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	/* A second chain sharing the tail of the first. */
	set_desc(f, 2, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	make_avail(f, 2);
	assert_malformed(f, "while in use");
}

static void test_virtq_pop_rejects_indirect_descriptor(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 0, BUF, 32, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(f, 0);
	assert_malformed(f, "indirect");
}

static void test_virtq_pop_rejects_indirect_descriptor_in_chain(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 32, VIRTQ_DESC_F_INDIRECT, 0);
	make_avail(f, 0);
	assert_malformed(f, "indirect");
}

static void test_virtq_pop_rejects_buffer_in_hole(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 0, 0x18000, 8, 0, 0);
	make_avail(f, 0);
	assert_malformed(f, "buffer outside guest memory");
}

static void test_virtq_pop_rejects_buffer_running_into_hole(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 0, RAM_END - 8, 9, VIRTQ_DESC_F_WRITE, 0);
	make_avail(f, 0);
	assert_malformed(f, "buffer outside guest memory");
}

static void test_virtq_pop_rejects_buffer_wrapping(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 0, 0xfffffffffffffff0ull, 0x20, 0, 0);
	make_avail(f, 0);
	assert_malformed(f, "buffer wraps");
}

static void test_virtq_pop_rejects_chain_over_4_gib(void **state)
{
	struct fixture *f = *state;
	struct vmmem_region *r;
	struct vmmem *big;

	/* Two 2 GiB buffers over the same (never touched) memory. */
	assert_int_equal(
		vmmem_region_create_anon(0x100000000ull, 0x80000000ull, 0, &r),
		0);
	assert_int_equal(vmmem_insert(f->mem, r, &big), 0);
	vmmem_region_destroy(r);
	configure(f, QSIZE);
	assert_int_equal(virtq_validate(&f->q, big, QSIZE), 0);
	virtq_start(&f->q, big, false);
	set_desc(f, 0, 0x100000000ull, 0x80000000u, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, 0x100000000ull, 0x7fffffffu, VIRTQ_DESC_F_NEXT, 2);
	set_desc(f, 2, 0x100000000ull, 1, 0, 0);
	make_avail(f, 0);
	assert_malformed(f, "4 GiB");
	/* Exactly 2^32 - 1 bytes is allowed. */
	set_desc(f, 1, 0x100000000ull, 0x7fffffffu, 0, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.readable, 0xffffffffu);
	vmmem_destroy(big);
}

static void test_virtq_pop_rejects_readable_after_writable(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 0, BUF, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF + 8, 8, 0, 0);
	make_avail(f, 0);
	assert_malformed(f, "device-readable buffer after a device-writable");
}

static void test_virtq_pop_consumes_nothing_on_error(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, 0x18000, 8, 0, 0);
	make_avail(f, 0);
	assert_malformed(f, "outside");
	/* None of the chain's descriptors is held: fixed, it pops. */
	set_desc(f, 1, BUF, 8, 0, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.n, 2);
	assert_null(virtq_error(&f->q));
}

static void test_virtq_pop_uses_the_descriptor_it_checked(void **state)
{
	struct fixture *f = *state;

	/* The chain is copied out: changing the table afterwards does not
	 * change what was popped. */
	start(f, QSIZE, false);
	set_desc(f, 0, BUF, 8, 0, 0);
	make_avail(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	set_desc(f, 0, 0xfffffffffffffff0ull, 0x100, 0, 0);
	assert_int_equal(f->chain.buf[0].gpa, BUF);
	assert_int_equal(f->chain.buf[0].len, 8);
}

static void test_virtq_pop_rejects_unstarted_queue(void **state)
{
	struct fixture *f = *state;

	configure(f, QSIZE);
	assert_int_equal(virtq_pop(&f->q, &f->chain), -EINVAL);
	assert_int_equal(virtq_pop(NULL, &f->chain), -EINVAL);
	start(f, QSIZE, false);
	assert_int_equal(virtq_pop(&f->q, NULL), -EINVAL);
}

/* Memory the rings were checked against, replaced by smaller memory. */
static struct vmmem *partial_memory(vmmem_gpa_t gpa, uint64_t len)
{
	const struct fixture_region r = { gpa, len, 0 };
	struct vmmem *mem;

	assert_int_equal(fixture_mem_create(&r, 1, NULL, &mem), 0);
	return mem;
}

static void test_virtq_pop_reports_unreadable_avail_index(void **state)
{
	struct fixture *f = *state;
	struct vmmem *mem;

	assert_int_equal(vmmem_create(NULL, 0, &mem), 0);
	start(f, QSIZE, false);
	virtq_start(&f->q, mem, false);
	assert_int_equal(virtq_pop(&f->q, &f->chain), -EFAULT);
	assert_non_null(strstr(virtq_error(&f->q), "available index"));
	vmmem_destroy(mem);
}

static void test_virtq_pop_reports_unreadable_avail_ring(void **state)
{
	struct fixture *f = *state;
	struct vmmem *mem = partial_memory(AVAIL, 4);

	start(f, QSIZE, false);
	virtq_start(&f->q, mem, false);
	assert_int_equal(vmmem_write_le16(mem, AVAIL + 2, 1), 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), -EFAULT);
	assert_non_null(strstr(virtq_error(&f->q), "available ring"));
	vmmem_destroy(mem);
}

static void test_virtq_pop_reports_unreadable_descriptor_table(void **state)
{
	struct fixture *f = *state;
	struct vmmem *mem = partial_memory(AVAIL, 0x100);

	start(f, QSIZE, false);
	virtq_start(&f->q, mem, false);
	assert_int_equal(vmmem_write_le16(mem, AVAIL + 2, 1), 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), -EFAULT);
	assert_non_null(strstr(virtq_error(&f->q), "descriptor table"));
	assert_int_equal(f->q.last_avail, 0);
	vmmem_destroy(mem);
}

static void test_virtq_pop_reports_unwritable_avail_event(void **state)
{
	struct fixture *f = *state;
	struct vmmem *mem = partial_memory(DESC, 0x2000);

	/* Table and available ring, no used ring. */
	start(f, QSIZE, true);
	virtq_start(&f->q, mem, true);
	set_desc_in(mem, 0, DESC, 8, 0, 0);
	assert_int_equal(vmmem_write_le16(mem, AVAIL + 2, 1), 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), -EFAULT);
	assert_non_null(strstr(virtq_error(&f->q), "used ring"));
	assert_int_equal(f->q.last_avail, 0);
	vmmem_destroy(mem);
}

/* Returning chains (checklist item 9). */

static void test_virtq_push_writes_used_element_then_index(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;

	start(f, QSIZE, false);
	simple_chain(f, 5);
	simple_chain(f, 2);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	/* Out of order is allowed. */
	assert_int_equal(virtq_push(&f->q, 2, 7), 0);
	assert_int_equal(used_idx(f), 1);
	used_elem(f, 0, &id, &len);
	assert_int_equal(id, 2);
	assert_int_equal(len, 7);
	assert_int_equal(virtq_push(&f->q, 5, 0), 0);
	assert_int_equal(used_idx(f), 2);
	used_elem(f, 1, &id, &len);
	assert_int_equal(id, 5);
	assert_int_equal(len, 0);
}

static void test_virtq_push_wraps_used_index(void **state)
{
	struct fixture *f = *state;
	uint32_t id, len;

	start(f, QSIZE, false);
	f->q.last_avail = 0xffff;
	f->q.used_idx = 0xffff;
	set_avail_idx(f, 0xffff);
	simple_chain(f, 1); /* slot 7 */
	simple_chain(f, 3); /* slot 0 */
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(virtq_push(&f->q, 1, 11), 0);
	assert_int_equal(used_idx(f), 0);
	used_elem(f, 7, &id, &len);
	assert_int_equal(id, 1);
	assert_int_equal(len, 11);
	assert_int_equal(virtq_push(&f->q, 3, 12), 0);
	assert_int_equal(used_idx(f), 1);
	used_elem(f, 0, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(len, 12);
}

static void test_virtq_push_rejects_head_never_popped(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	assert_int_equal(virtq_push(&f->q, 0, 0), -EINVAL);
	assert_int_equal(virtq_push(&f->q, QSIZE, 0), -EINVAL);
	assert_int_equal(used_idx(f), 0);
}

static void test_virtq_push_rejects_descriptor_that_is_not_a_head(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 8, 0, 0);
	make_avail(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(virtq_push(&f->q, 1, 0), -EINVAL);
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
}

static void test_virtq_push_rejects_same_head_twice(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	simple_chain(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_int_equal(virtq_push(&f->q, 0, 0), -EINVAL);
	assert_int_equal(used_idx(f), 1);
}

static void test_virtq_push_rejects_unstarted_queue(void **state)
{
	struct fixture *f = *state;

	configure(f, QSIZE);
	assert_int_equal(virtq_push(&f->q, 0, 0), -EINVAL);
	assert_int_equal(virtq_push(NULL, 0, 0), -EINVAL);
}

static void test_virtq_push_releases_descriptors_for_reuse(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 8, 0, 0);
	make_avail(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	/* Descriptor 1 is free again: a new chain may start there. */
	make_avail(f, 1);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.head, 1);
}

static void test_virtq_push_reports_unwritable_used_ring(void **state)
{
	struct fixture *f = *state;
	struct vmmem *mem = partial_memory(DESC, 0x2000);

	start(f, QSIZE, false);
	virtq_start(&f->q, mem, false);
	set_desc_in(mem, 0, DESC, 8, 0, 0);
	assert_int_equal(vmmem_write_le16(mem, AVAIL + 2, 1), 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(virtq_push(&f->q, 0, 0), -EFAULT);
	/* Still held: the device may try again. */
	assert_int_equal(f->q.used_idx, 0);
	assert_int_equal(virtq_push(&f->q, 0, 0), -EFAULT);
	vmmem_destroy(mem);
}

/* Unpop. */

static void test_virtq_unpop_returns_chain_again(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	set_desc(f, 2, BUF, 8, VIRTQ_DESC_F_NEXT, 3);
	set_desc(f, 3, BUF, 8, VIRTQ_DESC_F_WRITE, 0);
	make_avail(f, 2);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	virtq_unpop(&f->q);
	assert_int_equal(f->q.last_avail, 0);
	/* Not held any more... */
	assert_int_equal(virtq_push(&f->q, 2, 0), -EINVAL);
	/* ...and popped again, whole. */
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.head, 2);
	assert_int_equal(f->chain.n, 2);
	assert_int_equal(virtq_push(&f->q, 2, 0), 0);
}

static void test_virtq_unpop_undoes_only_the_last_pop(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	simple_chain(f, 0);
	simple_chain(f, 1);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	virtq_unpop(&f->q);
	virtq_unpop(&f->q);
	assert_int_equal(f->q.last_avail, 1);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(f->chain.head, 1);
}

static void test_virtq_unpop_after_push_does_nothing(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	simple_chain(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	virtq_unpop(&f->q);
	assert_int_equal(f->q.last_avail, 1);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 0);
	/* Nor on a queue that never started. */
	configure(f, QSIZE);
	virtq_unpop(&f->q);
	virtq_unpop(NULL);
	assert_int_equal(f->q.last_avail, 0);
}

/* Interrupt suppression. */

static void test_virtq_signals_after_push_without_event_idx(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	simple_chain(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_true(virtq_should_signal(&f->q));
	/* Nothing new since. */
	assert_false(virtq_should_signal(&f->q));
}

static void test_virtq_honours_no_interrupt(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	assert_int_equal(
		vmmem_write_le16(f->mem, AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT), 0);
	simple_chain(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(virtq_push(&f->q, 0, 0), 0);
	assert_false(virtq_should_signal(&f->q));
	/* The flag cleared, the next push signals. */
	assert_int_equal(vmmem_write_le16(f->mem, AVAIL, 0), 0);
	simple_chain(f, 1);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(virtq_push(&f->q, 1, 0), 0);
	assert_true(virtq_should_signal(&f->q));
}

static void push_one(struct fixture *f, uint16_t head)
{
	simple_chain(f, head);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(virtq_push(&f->q, head, 0), 0);
}

static void test_virtq_event_idx_signals_when_used_event_is_passed(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, true);
	/* First check: always (nothing signalled yet to compare with). */
	set_used_event(f, 100);
	push_one(f, 0);
	assert_true(virtq_should_signal(&f->q));
	/* used_event = 2: pushing entry 1 (idx 1 -> 2) does not pass it. */
	set_used_event(f, 2);
	push_one(f, 1);
	assert_false(virtq_should_signal(&f->q));
	/* Pushing entry 2 (idx 2 -> 3) does. */
	push_one(f, 2);
	assert_true(virtq_should_signal(&f->q));
	/* Two pushes that cross used_event together signal once. */
	set_used_event(f, 3);
	push_one(f, 3);
	push_one(f, 4);
	assert_true(virtq_should_signal(&f->q));
	assert_false(virtq_should_signal(&f->q));
}

static void test_virtq_event_idx_ignores_no_interrupt(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, true);
	assert_int_equal(
		vmmem_write_le16(f->mem, AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT), 0);
	set_used_event(f, 0);
	push_one(f, 0);
	assert_true(virtq_should_signal(&f->q));
}

static void test_virtq_event_idx_rule_across_wrap(void **state)
{
	/* Entries 0xfffe, 0xffff and 0 were pushed since the last check:
	 * old = 0xfffe, new = 1. */
	static const struct {
		uint16_t used_event;
		bool signal;
	} cases[] = {
		{ 0xfffe, true },  { 0xffff, true },  { 0x0000, true },
		{ 0xfffd, false }, { 0x0001, false }, { 0x8000, false },
	};
	struct fixture *f = *state;
	unsigned i;

	start(f, QSIZE, true);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f->q.signalled_used = 0xfffe;
		f->q.signalled_valid = true;
		f->q.used_idx = 0x0001;
		set_used_event(f, cases[i].used_event);
		assert_int_equal(virtq_should_signal(&f->q), cases[i].signal);
		assert_int_equal(f->q.signalled_used, 1);
	}
}

static void test_virtq_should_signal_on_unstarted_queue_is_false(void **state)
{
	struct fixture *f = *state;

	configure(f, QSIZE);
	assert_false(virtq_should_signal(&f->q));
	assert_false(virtq_should_signal(NULL));
}

static void test_virtq_should_signal_when_rings_unreadable(void **state)
{
	struct fixture *f = *state;
	struct vmmem *mem;

	/* A spurious interrupt is harmless; a lost one is not. */
	assert_int_equal(vmmem_create(NULL, 0, &mem), 0);
	start(f, QSIZE, false);
	virtq_start(&f->q, mem, false);
	f->q.used_idx = 1;
	assert_true(virtq_should_signal(&f->q));
	start(f, QSIZE, true);
	virtq_start(&f->q, mem, true);
	f->q.signalled_valid = true;
	f->q.used_idx = 1;
	assert_true(virtq_should_signal(&f->q));
	vmmem_destroy(mem);
}

/* Notification suppression. */

static void test_virtq_enable_notify_toggles_no_notify(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	assert_int_equal(virtq_enable_notify(&f->q, false), 0);
	assert_int_equal(read16(f, USED), VIRTQ_USED_F_NO_NOTIFY);
	assert_int_equal(virtq_enable_notify(&f->q, true), 0);
	assert_int_equal(read16(f, USED), 0);
}

static void test_virtq_enable_notify_publishes_avail_event(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, true);
	f->q.last_avail = 0x1234;
	assert_int_equal(virtq_enable_notify(&f->q, true), 0);
	assert_int_equal(avail_event(f), 0x1234);
	/* Disabling leaves it and the flags alone. */
	f->q.last_avail = 0x1300;
	assert_int_equal(virtq_enable_notify(&f->q, false), 0);
	assert_int_equal(avail_event(f), 0x1234);
	assert_int_equal(read16(f, USED), 0);
}

static void test_virtq_pop_with_event_idx_moves_avail_event(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, true);
	simple_chain(f, 0);
	simple_chain(f, 1);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(avail_event(f), 1);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(avail_event(f), 2);
}

static void test_virtq_pop_without_event_idx_leaves_avail_event(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	simple_chain(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(avail_event(f), 0);
}

static void test_virtq_enable_notify_reports_errors(void **state)
{
	struct fixture *f = *state;
	struct vmmem *mem;

	configure(f, QSIZE);
	assert_int_equal(virtq_enable_notify(&f->q, true), -EINVAL);
	assert_int_equal(virtq_enable_notify(NULL, true), -EINVAL);
	assert_int_equal(vmmem_create(NULL, 0, &mem), 0);
	start(f, QSIZE, true);
	virtq_start(&f->q, mem, true);
	assert_int_equal(virtq_enable_notify(&f->q, true), -EFAULT);
	virtq_start(&f->q, mem, false);
	assert_int_equal(virtq_enable_notify(&f->q, false), -EFAULT);
	vmmem_destroy(mem);
}

/* Lifecycle. */

static void test_virtq_start_resets_device_state(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	simple_chain(f, 0);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	virtq_start(&f->q, f->mem, true);
	assert_int_equal(f->q.last_avail, 0);
	assert_int_equal(f->q.used_idx, 0);
	assert_true(f->q.event_idx);
	assert_false(f->q.signalled_valid);
	/* The chain is no longer held. */
	assert_int_equal(virtq_push(&f->q, 0, 0), -EINVAL);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
}

static void test_virtq_reset_forgets_everything(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	make_avail(f, QSIZE);
	assert_malformed(f, "head");
	virtq_reset(&f->q);
	assert_int_equal(f->q.size, 0);
	assert_false(f->q.ready);
	assert_int_equal(f->q.desc, 0);
	assert_int_equal(f->q.avail, 0);
	assert_int_equal(f->q.used, 0);
	assert_null(f->q.mem);
	assert_null(virtq_error(&f->q));
	assert_int_equal(virtq_pop(&f->q, &f->chain), -EINVAL);
}

static void test_virtq_error_is_null_until_something_fails(void **state)
{
	struct fixture *f = *state;

	start(f, QSIZE, false);
	assert_null(virtq_error(&f->q));
	assert_null(virtq_error(NULL));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* Saving and restoring the device's side. */

/* Pop a two-descriptor chain at 0-1 and a one-descriptor chain at 2, save
 * the queue, and give a new queue struct the same configuration. */
static void save_two_held(struct fixture *f, struct state_buf *b,
			  struct virtq *nq)
{
	start(f, QSIZE, false);
	set_desc(f, 0, BUF, 0x10, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF + 0x100, 0x10, VIRTQ_DESC_F_WRITE, 0);
	make_avail(f, 0);
	simple_chain(f, 2);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	assert_int_equal(virtq_pop(&f->q, &f->chain), 1);
	state_buf_init(b);
	virtq_save(&f->q, b);
	assert_int_equal(b->err, 0);
	virtq_reset(nq);
	nq->size = f->q.size;
	nq->desc = f->q.desc;
	nq->avail = f->q.avail;
	nq->used = f->q.used;
	nq->ready = true;
	assert_int_equal(virtq_validate(nq, f->mem, VIRTQ_MAX_SIZE), 0);
}

static int restore(struct fixture *f, struct virtq *nq, struct state_buf *b,
		   bool event_idx)
{
	struct state_rd r;
	int rc;

	state_rd_init(&r, b->data, b->len);
	rc = virtq_restore(nq, f->mem, event_idx, &r);
	return rc ? rc : state_rd_end(&r);
}

static void test_virtq_restore_keeps_held_chains_and_position(void **state)
{
	struct fixture *f = *state;
	struct state_buf b;
	struct virtq nq;
	uint32_t id, len;

	save_two_held(f, &b, &nq);
	assert_int_equal(restore(f, &nq, &b, false), 0);
	assert_true(virtq_holds(&nq, 0));
	assert_true(virtq_holds(&nq, 2));
	assert_false(virtq_holds(&nq, 1));
	/* Both chains can be returned, once. */
	assert_int_equal(virtq_push(&nq, 2, 0), 0);
	assert_int_equal(virtq_push(&nq, 0, 7), 0);
	assert_int_equal(virtq_push(&nq, 0, 7), -EINVAL);
	assert_int_equal(used_idx(f), 2);
	used_elem(f, 1, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, 7);
	/* The next pop starts after what was taken before the save. */
	assert_int_equal(virtq_pop(&nq, &f->chain), 0);
	simple_chain(f, 3);
	assert_int_equal(virtq_pop(&nq, &f->chain), 1);
	assert_int_equal(f->chain.head, 3);
	state_buf_fini(&b);
}

static void test_virtq_restore_refuses_other_event_idx(void **state)
{
	struct fixture *f = *state;
	struct state_buf b;
	struct virtq nq;

	save_two_held(f, &b, &nq);
	assert_int_equal(restore(f, &nq, &b, true), -EBADMSG);
	assert_false(virtq_holds(&nq, 0));
	state_buf_fini(&b);
}

/* Offsets in virtq_save()'s bytes. */
#define SAVED_OWNED 8
#define SAVED_HEADS (SAVED_OWNED + 8 * (VIRTQ_MAX_SIZE / 64))
#define SAVED_LINK (SAVED_HEADS + 8 * (VIRTQ_MAX_SIZE / 64))

static void test_virtq_restore_refuses_a_cyclic_held_chain(void **state)
{
	struct fixture *f = *state;
	struct state_buf b;
	struct virtq nq;

	save_two_held(f, &b, &nq);
	/* Descriptor 1 links back to 0. */
	b.data[SAVED_LINK + 2] = 0;
	b.data[SAVED_LINK + 3] = 0;
	assert_int_equal(restore(f, &nq, &b, false), -EBADMSG);
	state_buf_fini(&b);
}

static void test_virtq_restore_refuses_owned_beyond_the_queue(void **state)
{
	struct fixture *f = *state;
	struct state_buf b;
	struct virtq nq;

	save_two_held(f, &b, &nq);
	b.data[SAVED_OWNED + 1] |= 1; /* descriptor 8 of a queue of 8 */
	assert_int_equal(restore(f, &nq, &b, false), -EBADMSG);
	state_buf_fini(&b);
}

static void test_virtq_restore_refuses_a_head_not_held(void **state)
{
	struct fixture *f = *state;
	struct state_buf b;
	struct virtq nq;

	save_two_held(f, &b, &nq);
	b.data[SAVED_HEADS] |= 1 << 5;
	assert_int_equal(restore(f, &nq, &b, false), -EBADMSG);
	state_buf_fini(&b);
}

static void test_virtq_restore_refuses_an_owned_descriptor_in_no_chain(void **state)
{
	struct fixture *f = *state;
	struct state_buf b;
	struct virtq nq;

	save_two_held(f, &b, &nq);
	b.data[SAVED_OWNED] |= 1 << 6;
	assert_int_equal(restore(f, &nq, &b, false), -EBADMSG);
	state_buf_fini(&b);
}

static void test_virtq_restore_refuses_truncated_state(void **state)
{
	struct fixture *f = *state;
	struct state_buf b;
	struct virtq nq;

	save_two_held(f, &b, &nq);
	b.len--;
	assert_int_equal(restore(f, &nq, &b, false), -EBADMSG);
	b.len++;
	state_buf_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_virtq_validate_accepts_good_queue),
		T(test_virtq_validate_accepts_areas_ending_at_memory_end),
		T(test_virtq_validate_accepts_areas_across_regions),
		T(test_virtq_validate_rejects_size_zero),
		T(test_virtq_validate_rejects_size_not_power_of_two),
		T(test_virtq_validate_rejects_size_above_max),
		T(test_virtq_validate_rejects_size_above_virtq_max),
		T(test_virtq_validate_rejects_misaligned_descriptor_table),
		T(test_virtq_validate_rejects_misaligned_available_ring),
		T(test_virtq_validate_rejects_misaligned_used_ring),
		T(test_virtq_validate_rejects_descriptor_table_in_hole),
		T(test_virtq_validate_rejects_available_ring_past_memory_end),
		T(test_virtq_validate_rejects_used_ring_in_hole),
		T(test_virtq_validate_rejects_descriptor_table_wrapping),
		T(test_virtq_validate_rejects_available_ring_wrapping),
		T(test_virtq_validate_rejects_used_ring_wrapping),
		T(test_virtq_validate_rejects_used_ring_in_readonly_memory),
		T(test_virtq_validate_accepts_readonly_driver_areas),
		T(test_virtq_validate_rejects_indices_not_atomic),
		T(test_virtq_validate_rejects_missing_memory),
		T(test_virtq_pop_of_empty_queue_returns_zero),
		T(test_virtq_pop_returns_single_buffer_chain),
		T(test_virtq_pop_returns_readable_then_writable_chain),
		T(test_virtq_pop_returns_chains_in_avail_order),
		T(test_virtq_pop_accepts_chain_as_long_as_the_queue),
		T(test_virtq_pop_accepts_zero_length_descriptor),
		T(test_virtq_pop_accepts_buffer_across_adjacent_regions),
		T(test_virtq_pop_accepts_buffer_in_readonly_memory),
		T(test_virtq_pop_accepts_avail_index_moving_by_size),
		T(test_virtq_pop_follows_avail_index_across_wrap),
		T(test_virtq_pop_rejects_avail_index_moving_too_far),
		T(test_virtq_pop_rejects_avail_index_moving_back),
		T(test_virtq_pop_rejects_head_out_of_range),
		T(test_virtq_pop_rejects_next_out_of_range),
		T(test_virtq_pop_rejects_chain_longer_than_queue),
		T(test_virtq_pop_rejects_looping_chain),
		T(test_virtq_pop_rejects_descriptor_to_itself),
		T(test_virtq_pop_rejects_head_held_by_device),
		T(test_virtq_pop_rejects_descriptor_held_by_device),
		T(test_virtq_pop_rejects_indirect_descriptor),
		T(test_virtq_pop_rejects_indirect_descriptor_in_chain),
		T(test_virtq_pop_rejects_buffer_in_hole),
		T(test_virtq_pop_rejects_buffer_running_into_hole),
		T(test_virtq_pop_rejects_buffer_wrapping),
		T(test_virtq_pop_rejects_chain_over_4_gib),
		T(test_virtq_pop_rejects_readable_after_writable),
		T(test_virtq_pop_consumes_nothing_on_error),
		T(test_virtq_pop_uses_the_descriptor_it_checked),
		T(test_virtq_pop_rejects_unstarted_queue),
		T(test_virtq_pop_reports_unreadable_avail_index),
		T(test_virtq_pop_reports_unreadable_avail_ring),
		T(test_virtq_pop_reports_unreadable_descriptor_table),
		T(test_virtq_pop_reports_unwritable_avail_event),
		T(test_virtq_push_writes_used_element_then_index),
		T(test_virtq_push_wraps_used_index),
		T(test_virtq_push_rejects_head_never_popped),
		T(test_virtq_push_rejects_descriptor_that_is_not_a_head),
		T(test_virtq_push_rejects_same_head_twice),
		T(test_virtq_push_rejects_unstarted_queue),
		T(test_virtq_push_releases_descriptors_for_reuse),
		T(test_virtq_push_reports_unwritable_used_ring),
		T(test_virtq_unpop_returns_chain_again),
		T(test_virtq_unpop_undoes_only_the_last_pop),
		T(test_virtq_unpop_after_push_does_nothing),
		T(test_virtq_signals_after_push_without_event_idx),
		T(test_virtq_honours_no_interrupt),
		T(test_virtq_event_idx_signals_when_used_event_is_passed),
		T(test_virtq_event_idx_ignores_no_interrupt),
		T(test_virtq_event_idx_rule_across_wrap),
		T(test_virtq_should_signal_on_unstarted_queue_is_false),
		T(test_virtq_should_signal_when_rings_unreadable),
		T(test_virtq_enable_notify_toggles_no_notify),
		T(test_virtq_enable_notify_publishes_avail_event),
		T(test_virtq_pop_with_event_idx_moves_avail_event),
		T(test_virtq_pop_without_event_idx_leaves_avail_event),
		T(test_virtq_enable_notify_reports_errors),
		T(test_virtq_start_resets_device_state),
		T(test_virtq_reset_forgets_everything),
		T(test_virtq_error_is_null_until_something_fails),
			T(test_virtq_restore_keeps_held_chains_and_position),
		T(test_virtq_restore_refuses_other_event_idx),
		T(test_virtq_restore_refuses_a_cyclic_held_chain),
		T(test_virtq_restore_refuses_owned_beyond_the_queue),
		T(test_virtq_restore_refuses_a_head_not_held),
		T(test_virtq_restore_refuses_an_owned_descriptor_in_no_chain),
		T(test_virtq_restore_refuses_truncated_state),
};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
