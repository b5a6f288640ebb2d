/* SPDX-License-Identifier: MIT */
/*
 * Tests for vcpu_handle_exit() (minivmm/vcpu.h): the dispatch of one KVM
 * exit to the port-I/O and MMIO buses, without a vCPU.
 *
 * Each test fills a struct kvm_run the way KVM does: a zeroed run area of
 * RUN_SIZE bytes, and for KVM_EXIT_IO the data in the page after the
 * struct, at io.data_offset (KVM's KVM_PIO_PAGE_OFFSET).
 *
 * A recording device sits on each bus: PIO_BASE on the port bus and
 * MMIO_BASE on the MMIO bus. It logs every access (offset, length, data)
 * and answers reads with the next bytes of a reply script.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "../minivmm/bus.h"
#include "../minivmm/vcpu.h"

#define RUN_SIZE 0x2000u
#define PIO_DATA_OFFSET 0x1000u
#define PIO_BASE 0x3f8u
#define PIO_LEN 8u
#define MMIO_BASE 0xd0000000ull
#define MMIO_LEN 0x1000ull
#define STALE 0xcc
#define MAX_ACCESSES 16

struct access {
	uint64_t off;
	unsigned len;
	int is_write;
	uint8_t data[8];
};

struct dev {
	struct access log[MAX_ACCESSES];
	unsigned n;
	uint8_t reply[64]; /* bytes handed out to reads, in order */
	unsigned reply_pos;
};

struct fixture {
	struct bus pio, mmio;
	struct dev port_dev, mmio_dev;
	struct kvm_run *run;
};

static struct access *dev_log(struct dev *d, uint64_t off, unsigned len,
			      int is_write)
{
	struct access *a;

	assert_true(d->n < MAX_ACCESSES);
	assert_true(len <= 8);
	a = &d->log[d->n++];
	a->off = off;
	a->len = len;
	a->is_write = is_write;
	return a;
}

static void dev_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct dev *d = opaque;

	dev_log(d, off, len, 0);
	assert_true(d->reply_pos + len <= sizeof(d->reply));
	memcpy(data, d->reply + d->reply_pos, len);
	d->reply_pos += len;
}

static void dev_write(void *opaque, uint64_t off, const void *data,
		      unsigned len)
{
	struct dev *d = opaque;

	memcpy(dev_log(d, off, len, 1)->data, data, len);
}

static const struct bus_ops dev_ops = {
	.read = dev_read,
	.write = dev_write,
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->run = calloc(1, RUN_SIZE);
	if (!f->run) {
		free(f);
		return -1;
	}
	bus_init(&f->pio);
	bus_init(&f->mmio);
	if (bus_register(&f->pio, PIO_BASE, PIO_LEN, &dev_ops, &f->port_dev) ||
	    bus_register(&f->mmio, MMIO_BASE, MMIO_LEN, &dev_ops,
			 &f->mmio_dev)) {
		free(f->run);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	free(f->run);
	free(f);
	return 0;
}

static uint8_t *pio_data(struct fixture *f)
{
	return (uint8_t *)f->run + PIO_DATA_OFFSET;
}

/* A KVM_EXIT_IO of count elements of size bytes at port. */
static void set_io(struct fixture *f, uint8_t direction, uint16_t port,
		   uint8_t size, uint32_t count)
{
	f->run->exit_reason = KVM_EXIT_IO;
	f->run->io.direction = direction;
	f->run->io.size = size;
	f->run->io.port = port;
	f->run->io.count = count;
	f->run->io.data_offset = PIO_DATA_OFFSET;
}

static void set_mmio(struct fixture *f, uint64_t gpa, uint32_t len,
		     int is_write)
{
	f->run->exit_reason = KVM_EXIT_MMIO;
	f->run->mmio.phys_addr = gpa;
	f->run->mmio.len = len;
	f->run->mmio.is_write = (uint8_t)is_write;
}

static enum vcpu_stop handle(struct fixture *f)
{
	return vcpu_handle_exit(&f->pio, &f->mmio, f->run);
}

/* ---- Port I/O ---- */

static void test_vcpu_port_out_reaches_device_at_port_offset(void **state)
{
	struct fixture *f = *state;

	set_io(f, KVM_EXIT_IO_OUT, PIO_BASE + 5, 1, 1);
	pio_data(f)[0] = 0x41;
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->port_dev.n, 1);
	assert_true(f->port_dev.log[0].is_write);
	assert_int_equal(f->port_dev.log[0].off, 5);
	assert_int_equal(f->port_dev.log[0].len, 1);
	assert_int_equal(f->port_dev.log[0].data[0], 0x41);
}

static void test_vcpu_port_out_passes_all_bytes_of_a_dword(void **state)
{
	struct fixture *f = *state;
	const uint8_t dword[4] = { 0x78, 0x56, 0x34, 0x12 };

	set_io(f, KVM_EXIT_IO_OUT, PIO_BASE + 4, 4, 1);
	memcpy(pio_data(f), dword, 4);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->port_dev.n, 1);
	assert_int_equal(f->port_dev.log[0].off, 4);
	assert_int_equal(f->port_dev.log[0].len, 4);
	assert_memory_equal(f->port_dev.log[0].data, dword, 4);
}

static void test_vcpu_port_in_stores_device_reply_in_run(void **state)
{
	struct fixture *f = *state;
	uint8_t *data = pio_data(f);

	f->port_dev.reply[0] = 0x34;
	f->port_dev.reply[1] = 0x12;
	set_io(f, KVM_EXIT_IO_IN, PIO_BASE + 2, 2, 1);
	memset(data, STALE, 4);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->port_dev.n, 1);
	assert_false(f->port_dev.log[0].is_write);
	assert_int_equal(f->port_dev.log[0].off, 2);
	assert_int_equal(f->port_dev.log[0].len, 2);
	assert_int_equal(data[0], 0x34);
	assert_int_equal(data[1], 0x12);
	assert_int_equal(data[2], STALE);
}

static void test_vcpu_string_out_writes_each_element_in_turn(void **state)
{
	struct fixture *f = *state;
	const uint8_t text[5] = { 'h', 'e', 'l', 'l', 'o' };
	unsigned i;

	set_io(f, KVM_EXIT_IO_OUT, PIO_BASE, 1, 5);
	memcpy(pio_data(f), text, 5);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->port_dev.n, 5);
	for (i = 0; i < 5; i++) {
		assert_true(f->port_dev.log[i].is_write);
		assert_int_equal(f->port_dev.log[i].off, 0);
		assert_int_equal(f->port_dev.log[i].len, 1);
		assert_int_equal(f->port_dev.log[i].data[0], text[i]);
	}
}

static void test_vcpu_string_out_of_words_steps_by_element_size(void **state)
{
	struct fixture *f = *state;
	const uint16_t words[3] = { 0x1111, 0x2222, 0x3333 };
	unsigned i;

	set_io(f, KVM_EXIT_IO_OUT, PIO_BASE + 2, 2, 3);
	memcpy(pio_data(f), words, sizeof(words));
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->port_dev.n, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(f->port_dev.log[i].len, 2);
		assert_memory_equal(f->port_dev.log[i].data, &words[i], 2);
	}
}

static void test_vcpu_string_in_fills_each_element_in_turn(void **state)
{
	struct fixture *f = *state;
	const uint8_t reply[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t *data = pio_data(f);
	unsigned i;

	memcpy(f->port_dev.reply, reply, sizeof(reply));
	set_io(f, KVM_EXIT_IO_IN, PIO_BASE, 2, 4);
	memset(data, STALE, 9);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->port_dev.n, 4);
	for (i = 0; i < 4; i++) {
		assert_false(f->port_dev.log[i].is_write);
		assert_int_equal(f->port_dev.log[i].len, 2);
	}
	assert_memory_equal(data, reply, 8);
	assert_int_equal(data[8], STALE);
}

static void test_vcpu_string_io_of_zero_count_does_nothing(void **state)
{
	struct fixture *f = *state;

	set_io(f, KVM_EXIT_IO_OUT, PIO_BASE, 1, 0);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->port_dev.n, 0);
}

static void test_vcpu_unclaimed_port_in_reads_all_ones(void **state)
{
	struct fixture *f = *state;
	uint8_t *data = pio_data(f);

	set_io(f, KVM_EXIT_IO_IN, 0x80, 4, 1);
	memset(data, STALE, 5);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(data[0], 0xff);
	assert_int_equal(data[1], 0xff);
	assert_int_equal(data[2], 0xff);
	assert_int_equal(data[3], 0xff);
	assert_int_equal(data[4], STALE);
	assert_int_equal(f->port_dev.n, 0);
}

static void test_vcpu_unclaimed_port_out_is_ignored(void **state)
{
	struct fixture *f = *state;

	set_io(f, KVM_EXIT_IO_OUT, 0x80, 1, 1);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->port_dev.n, 0);
	assert_int_equal(f->mmio_dev.n, 0);
}

static void test_vcpu_port_access_never_reaches_mmio_bus(void **state)
{
	struct fixture *f = *state;
	struct dev other = { .n = 0 };

	/* A port number that is also an MMIO address. */
	assert_int_equal(bus_register(&f->mmio, 0x80, 4, &dev_ops, &other), 0);
	set_io(f, KVM_EXIT_IO_OUT, 0x80, 1, 1);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(other.n, 0);
}

/* ---- MMIO ---- */

static void test_vcpu_mmio_write_reaches_device_at_offset(void **state)
{
	struct fixture *f = *state;
	const uint8_t data[4] = { 0xde, 0xad, 0xbe, 0xef };

	set_mmio(f, MMIO_BASE + 0x70, 4, 1);
	memcpy(f->run->mmio.data, data, 4);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->mmio_dev.n, 1);
	assert_true(f->mmio_dev.log[0].is_write);
	assert_int_equal(f->mmio_dev.log[0].off, 0x70);
	assert_int_equal(f->mmio_dev.log[0].len, 4);
	assert_memory_equal(f->mmio_dev.log[0].data, data, 4);
}

static void test_vcpu_mmio_read_stores_device_reply_in_run(void **state)
{
	struct fixture *f = *state;
	const uint8_t reply[8] = { 8, 7, 6, 5, 4, 3, 2, 1 };

	memcpy(f->mmio_dev.reply, reply, 8);
	set_mmio(f, MMIO_BASE + 0x100, 8, 0);
	memset(f->run->mmio.data, STALE, 8);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->mmio_dev.n, 1);
	assert_false(f->mmio_dev.log[0].is_write);
	assert_int_equal(f->mmio_dev.log[0].off, 0x100);
	assert_int_equal(f->mmio_dev.log[0].len, 8);
	assert_memory_equal(f->run->mmio.data, reply, 8);
}

static void test_vcpu_mmio_read_touches_only_len_bytes(void **state)
{
	struct fixture *f = *state;

	f->mmio_dev.reply[0] = 0x5a;
	set_mmio(f, MMIO_BASE, 1, 0);
	memset(f->run->mmio.data, STALE, 8);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->run->mmio.data[0], 0x5a);
	assert_int_equal(f->run->mmio.data[1], STALE);
}

static void test_vcpu_unclaimed_mmio_read_reads_all_ones(void **state)
{
	struct fixture *f = *state;
	uint8_t *data = f->run->mmio.data;

	set_mmio(f, 0xfee00000, 2, 0);
	memset(data, STALE, 8);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(data[0], 0xff);
	assert_int_equal(data[1], 0xff);
	assert_int_equal(data[2], STALE);
	assert_int_equal(f->mmio_dev.n, 0);
}

static void test_vcpu_unclaimed_mmio_write_is_ignored(void **state)
{
	struct fixture *f = *state;

	set_mmio(f, 0xfee00000, 4, 1);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->mmio_dev.n, 0);
}

static void test_vcpu_mmio_of_zero_length_is_ignored(void **state)
{
	struct fixture *f = *state;

	set_mmio(f, MMIO_BASE, 0, 0);
	memset(f->run->mmio.data, STALE, 8);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->mmio_dev.n, 0);
	assert_int_equal(f->run->mmio.data[0], STALE);
}

static void test_vcpu_mmio_longer_than_8_bytes_is_ignored(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	set_mmio(f, MMIO_BASE, 9, 0);
	memset(f->run->mmio.data, STALE, 8);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->mmio_dev.n, 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(f->run->mmio.data[i], STALE);
}

static void test_vcpu_mmio_write_longer_than_8_bytes_is_ignored(void **state)
{
	struct fixture *f = *state;

	set_mmio(f, MMIO_BASE, 0x1000, 1);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->mmio_dev.n, 0);
}

static void test_vcpu_mmio_access_never_reaches_port_bus(void **state)
{
	struct fixture *f = *state;

	set_mmio(f, PIO_BASE, 1, 1);
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->port_dev.n, 0);
}

/* ---- Other exits ---- */

static void test_vcpu_hlt_halts(void **state)
{
	struct fixture *f = *state;

	f->run->exit_reason = KVM_EXIT_HLT;
	assert_int_equal(handle(f), VCPU_HALTED);
}

static void test_vcpu_shutdown_shuts_down(void **state)
{
	struct fixture *f = *state;

	f->run->exit_reason = KVM_EXIT_SHUTDOWN;
	assert_int_equal(handle(f), VCPU_SHUTDOWN);
}

static void test_vcpu_intr_continues(void **state)
{
	struct fixture *f = *state;

	f->run->exit_reason = KVM_EXIT_INTR;
	assert_int_equal(handle(f), VCPU_CONTINUE);
	assert_int_equal(f->port_dev.n, 0);
	assert_int_equal(f->mmio_dev.n, 0);
}

static void test_vcpu_internal_error_fails(void **state)
{
	struct fixture *f = *state;

	f->run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	f->run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	assert_int_equal(handle(f), VCPU_FAILED);
}

static void test_vcpu_internal_error_of_other_kind_fails(void **state)
{
	struct fixture *f = *state;

	f->run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	f->run->internal.suberror = KVM_INTERNAL_ERROR_DELIVERY_EV;
	assert_int_equal(handle(f), VCPU_FAILED);
}

static void test_vcpu_fail_entry_fails(void **state)
{
	struct fixture *f = *state;

	f->run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	f->run->fail_entry.hardware_entry_failure_reason = 0x80000021;
	assert_int_equal(handle(f), VCPU_FAILED);
}

static void test_vcpu_unknown_reason_fails(void **state)
{
	struct fixture *f = *state;

	f->run->exit_reason = 0xdead;
	assert_int_equal(handle(f), VCPU_FAILED);
}

static void test_vcpu_unhandled_reason_touches_no_device(void **state)
{
	struct fixture *f = *state;

	f->run->exit_reason = KVM_EXIT_DEBUG;
	assert_int_equal(handle(f), VCPU_FAILED);
	assert_int_equal(f->port_dev.n, 0);
	assert_int_equal(f->mmio_dev.n, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* Port I/O */
		T(test_vcpu_port_out_reaches_device_at_port_offset),
		T(test_vcpu_port_out_passes_all_bytes_of_a_dword),
		T(test_vcpu_port_in_stores_device_reply_in_run),
		T(test_vcpu_string_out_writes_each_element_in_turn),
		T(test_vcpu_string_out_of_words_steps_by_element_size),
		T(test_vcpu_string_in_fills_each_element_in_turn),
		T(test_vcpu_string_io_of_zero_count_does_nothing),
		T(test_vcpu_unclaimed_port_in_reads_all_ones),
		T(test_vcpu_unclaimed_port_out_is_ignored),
		T(test_vcpu_port_access_never_reaches_mmio_bus),
		/* MMIO */
		T(test_vcpu_mmio_write_reaches_device_at_offset),
		T(test_vcpu_mmio_read_stores_device_reply_in_run),
		T(test_vcpu_mmio_read_touches_only_len_bytes),
		T(test_vcpu_unclaimed_mmio_read_reads_all_ones),
		T(test_vcpu_unclaimed_mmio_write_is_ignored),
		T(test_vcpu_mmio_of_zero_length_is_ignored),
		T(test_vcpu_mmio_longer_than_8_bytes_is_ignored),
		T(test_vcpu_mmio_write_longer_than_8_bytes_is_ignored),
		T(test_vcpu_mmio_access_never_reaches_port_bus),
		/* Other exits */
		T(test_vcpu_hlt_halts),
		T(test_vcpu_shutdown_shuts_down),
		T(test_vcpu_intr_continues),
		T(test_vcpu_internal_error_fails),
		T(test_vcpu_internal_error_of_other_kind_fails),
		T(test_vcpu_fail_entry_fails),
		T(test_vcpu_unknown_reason_fails),
		T(test_vcpu_unhandled_reason_touches_no_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
