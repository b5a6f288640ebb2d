/* SPDX-License-Identifier: MIT */
/*
 * Tests for minivmm/devices/serial.c, the 8250/16550A UART: every register through
 * serial_bus_ops as a guest driver reaches them, the interrupt line through
 * a fake set_level that records each change, and output through a
 * non-blocking pipe that the tests fill to make the device wait. No KVM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../minivmm/bus.h"
#include "../minivmm/devices/device.h"
#include "../minivmm/devices/serial.h"
#include "../minivmm/state.h"
#include "sysmock.h"

/* Register bits, spelled out as a guest driver knows them. */
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08
#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_TIMEOUT 0x0c
#define IIR_ID 0x0f
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RCVR 0x02
#define FCR_CLEAR_XMIT 0x04
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_IDLE (LSR_THRE | LSR_TEMT)
#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct fixture {
	struct serial *s;
	int rfd, wfd; /* the pipe; the device writes wfd */
	/* The interrupt line as the fake set_level saw it. */
	atomic_bool high;
	atomic_int changes;
	atomic_int bad_changes; /* calls that did not change the level */
	atomic_int blocked_calls;
	atomic_int input_calls;
};

static void set_level(void *opaque, bool high)
{
	struct fixture *f = opaque;

	if (atomic_load(&f->high) == high)
		atomic_fetch_add(&f->bad_changes, 1);
	atomic_store(&f->high, high);
	atomic_fetch_add(&f->changes, 1);
}

static void blocked_cb(void *opaque)
{
	struct fixture *f = opaque;

	atomic_fetch_add(&f->blocked_calls, 1);
}

static void input_cb(void *opaque)
{
	struct fixture *f = opaque;

	atomic_fetch_add(&f->input_calls, 1);
}

static int make_fixture(void **state, bool discard)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct serial_irq irq = { .set_level = set_level };
	int fds[2];

	if (!f)
		return -1;
	irq.opaque = f;
	f->rfd = f->wfd = -1;
	if (!discard) {
		if (pipe2(fds, O_NONBLOCK | O_CLOEXEC))
			goto err;
		f->rfd = fds[0];
		f->wfd = fds[1];
	}
	if (serial_create(f->wfd, &irq, &f->s))
		goto err;
	serial_set_blocked_cb(f->s, blocked_cb, f);
	serial_set_input_cb(f->s, input_cb, f);
	*state = f;
	return 0;
err:
	if (f->rfd >= 0) {
		close(f->rfd);
		close(f->wfd);
	}
	free(f);
	return -1;
}

static int setup(void **state)
{
	return make_fixture(state, false);
}

static int setup_discard(void **state)
{
	return make_fixture(state, true);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	serial_destroy(f->s);
	if (f->rfd >= 0) {
		close(f->rfd);
		close(f->wfd);
	}
	assert_int_equal(atomic_load(&f->bad_changes), 0);
	free(f);
	return 0;
}

static uint8_t rd(struct fixture *f, unsigned off)
{
	uint8_t v = 0;

	serial_bus_ops.read(f->s, off, &v, 1);
	return v;
}

static void wr(struct fixture *f, unsigned off, uint8_t v)
{
	serial_bus_ops.write(f->s, off, &v, 1);
}

static void wr_str(struct fixture *f, const char *str)
{
	while (*str)
		wr(f, SERIAL_THR, (uint8_t)*str++);
}

static void input_str(struct fixture *f, const char *str)
{
	size_t len = strlen(str);

	assert_int_equal(serial_input(f->s, str, len), len);
}

static bool line(struct fixture *f)
{
	return atomic_load(&f->high);
}

/* Everything in the pipe now, appended at out[*got]. */
static void drain(struct fixture *f, uint8_t *out, size_t cap, size_t *got)
{
	for (;;) {
		ssize_t n = read(f->rfd, out + *got, cap - *got);

		if (n <= 0) {
			assert_true(n < 0 && errno == EAGAIN);
			return;
		}
		*got += (size_t)n;
		assert_true(*got < cap);
	}
}

/* Shrink the pipe and fill it; returns how many 'x' bytes it holds. */
static size_t fill_pipe(struct fixture *f)
{
	static const char xs[512] = { [0 ... 511] = 'x' };
	size_t filled = 0;

	assert_true(fcntl(f->wfd, F_SETPIPE_SZ, 4096) >= 4096);
	for (;;) {
		ssize_t n = write(f->wfd, xs, sizeof(xs));

		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			break;
		}
		filled += (size_t)n;
	}
	/* Small writes may fit in a pipe that refused a big one. */
	while (write(f->wfd, xs, 1) == 1)
		filled++;
	return filled;
}

/* Read and resume until the device is no longer blocked. */
static void drain_until_done(struct fixture *f, uint8_t *out, size_t cap,
			     size_t *got)
{
	unsigned rounds;

	for (rounds = 0; rounds < 100000; rounds++) {
		drain(f, out, cap, got);
		if (!serial_output(f->s)) {
			drain(f, out, cap, got);
			return;
		}
	}
	fail_msg("output never finished");
}

/* Creation and lifetime. */

static void test_serial_create_rejects_bad_arguments(void **state)
{
	struct serial *s = NULL;

	(void)state;
	assert_int_equal(serial_create(-1, NULL, NULL), -EINVAL);
	assert_int_equal(serial_create(-2, NULL, &s), -EINVAL);
	assert_null(s);
}

static void test_serial_create_reports_enomem(void **state)
{
	struct serial *s = NULL;

	(void)state;
	sysmock_reset();
	sysmock_fail(SYSMOCK_CALLOC, 0, ENOMEM);
	assert_int_equal(serial_create(-1, NULL, &s), -ENOMEM);
	assert_true(sysmock_done());
	sysmock_reset();
	assert_null(s);
}

static void test_serial_destroy_null_is_noop(void **state)
{
	(void)state;
	serial_destroy(NULL);
}

static void test_serial_works_without_irq_line(void **state)
{
	struct serial *s;
	uint8_t v = IER_THRI;

	(void)state;
	assert_int_equal(serial_create(-1, NULL, &s), 0);
	serial_bus_ops.write(s, SERIAL_IER, &v, 1);
	serial_bus_ops.read(s, SERIAL_IIR, &v, 1);
	assert_int_equal(v & IIR_ID, IIR_THRI);
	serial_destroy(s);
}

/* Registers. */

static void test_serial_lsr_reads_0x60_when_idle(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, SERIAL_LSR), 0x60);
	assert_int_equal(rd(f, SERIAL_LSR), 0x60);
}

static void test_serial_registers_start_in_reset_state(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, SERIAL_IER), 0x00);
	assert_int_equal(rd(f, SERIAL_IIR), IIR_NO_INT);
	assert_int_equal(rd(f, SERIAL_LCR), 0x00);
	assert_int_equal(rd(f, SERIAL_MCR), 0x00);
	assert_int_equal(rd(f, SERIAL_MSR), MSR_DCD | MSR_DSR | MSR_CTS);
	assert_int_equal(rd(f, SERIAL_SCR), 0x00);
	assert_int_equal(rd(f, SERIAL_RBR), 0x00);
	assert_false(line(f));
	assert_int_equal(atomic_load(&f->changes), 0);
}

static void test_serial_scratch_register_keeps_every_value(void **state)
{
	struct fixture *f = *state;
	unsigned v;

	for (v = 0; v < 256; v++) {
		wr(f, SERIAL_SCR, (uint8_t)v);
		assert_int_equal(rd(f, SERIAL_SCR), v);
	}
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
}

static void test_serial_ier_keeps_only_the_low_four_bits(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_IER, 0xf0);
	assert_int_equal(rd(f, SERIAL_IER), 0x00);
	wr(f, SERIAL_IER, 0xf5);
	assert_int_equal(rd(f, SERIAL_IER), 0x05);
}

static void test_serial_lcr_reads_back_every_value(void **state)
{
	struct fixture *f = *state;
	unsigned v;

	for (v = 0; v < 256; v++) {
		wr(f, SERIAL_LCR, (uint8_t)v);
		assert_int_equal(rd(f, SERIAL_LCR), v);
	}
}

static void test_serial_mcr_keeps_only_the_low_five_bits(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_MCR, 0xef);
	assert_int_equal(rd(f, SERIAL_MCR), 0x0f);
	wr(f, SERIAL_MCR, 0xff);
	assert_int_equal(rd(f, SERIAL_MCR), 0x1f);
}

static void test_serial_dlab_maps_divisor_over_rbr_and_ier(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_IER, IER_RDI | IER_MSI);
	wr(f, SERIAL_LCR, LCR_DLAB | 0x03);
	wr(f, SERIAL_DLL, 0x0c);
	wr(f, SERIAL_DLM, 0x01);
	assert_int_equal(rd(f, SERIAL_DLL), 0x0c);
	assert_int_equal(rd(f, SERIAL_DLM), 0x01);
	wr(f, SERIAL_LCR, 0x03);
	assert_int_equal(rd(f, SERIAL_IER), IER_RDI | IER_MSI);
	wr(f, SERIAL_LCR, LCR_DLAB);
	assert_int_equal(rd(f, SERIAL_DLL), 0x0c);
	assert_int_equal(rd(f, SERIAL_DLM), 0x01);
}

static void test_serial_dlab_writes_do_not_transmit(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[16];
	size_t got = 0;

	wr(f, SERIAL_LCR, LCR_DLAB);
	wr(f, SERIAL_DLL, 'x');
	wr(f, SERIAL_DLM, IER_THRI);
	wr(f, SERIAL_LCR, 0);
	drain(f, buf, sizeof(buf), &got);
	assert_int_equal(got, 0);
	assert_int_equal(rd(f, SERIAL_IER), 0);
	assert_false(line(f));
}

static void test_serial_dlab_reads_do_not_consume_input(void **state)
{
	struct fixture *f = *state;

	input_str(f, "a");
	wr(f, SERIAL_LCR, LCR_DLAB);
	rd(f, SERIAL_DLL);
	assert_int_equal(rd(f, SERIAL_LSR) & LSR_DR, LSR_DR);
	wr(f, SERIAL_LCR, 0);
	assert_int_equal(rd(f, SERIAL_RBR), 'a');
}

static void test_serial_lsr_and_msr_ignore_writes(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_LSR, 0x1f);
	wr(f, SERIAL_MSR, 0x0f);
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
	assert_int_equal(rd(f, SERIAL_MSR), MSR_DCD | MSR_DSR | MSR_CTS);
}

static void test_serial_wide_accesses_split_into_bytes(void **state)
{
	struct fixture *f = *state;
	uint8_t w[2] = { 0x03, 0x0b };
	uint8_t r[8] = { 0 };

	/* LCR and MCR in one 16-bit write. */
	serial_bus_ops.write(f->s, SERIAL_LCR, w, 2);
	assert_int_equal(rd(f, SERIAL_LCR), 0x03);
	assert_int_equal(rd(f, SERIAL_MCR), 0x0b);
	/* LSR and MSR in one 16-bit read. */
	serial_bus_ops.read(f->s, SERIAL_LSR, r, 2);
	assert_int_equal(r[0], LSR_IDLE);
	assert_int_equal(r[1], MSR_DCD | MSR_DSR | MSR_CTS);
	/* The whole range at once. */
	wr(f, SERIAL_SCR, 0x5a);
	serial_bus_ops.read(f->s, 0, r, 8);
	assert_int_equal(r[SERIAL_LCR], 0x03);
	assert_int_equal(r[SERIAL_SCR], 0x5a);
}

/* Output. */

static void test_serial_thr_bytes_reach_out_fd(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[64];
	size_t got = 0;

	wr_str(f, "hello\n");
	drain(f, buf, sizeof(buf), &got);
	assert_int_equal(got, 6);
	assert_memory_equal(buf, "hello\n", 6);
	assert_int_equal(serial_bytes_out(f->s), 6);
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
	assert_false(serial_output_blocked(f->s));
}

static void test_serial_out_fd_minus_one_discards_output(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	for (i = 0; i < 2 * SERIAL_TX_BUF; i++)
		wr(f, SERIAL_THR, 'x');
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
	assert_false(serial_output_blocked(f->s));
	assert_false(serial_output(f->s));
	assert_int_equal(serial_bytes_out(f->s), 0);
	assert_int_equal(serial_bytes_dropped(f->s), 0);
	assert_int_equal(atomic_load(&f->blocked_calls), 0);
}

static void test_serial_output_with_nothing_waiting_returns_false(void **state)
{
	struct fixture *f = *state;

	assert_false(serial_output(f->s));
	wr_str(f, "ab");
	assert_false(serial_output(f->s));
}

static void test_serial_full_pipe_clears_thre_and_temt(void **state)
{
	struct fixture *f = *state;

	fill_pipe(f);
	wr(f, SERIAL_THR, 'a');
	assert_int_equal(rd(f, SERIAL_LSR) & (LSR_THRE | LSR_TEMT), 0);
	assert_true(serial_output_blocked(f->s));
	/* Still full: still waiting. */
	assert_true(serial_output(f->s));
	assert_int_equal(rd(f, SERIAL_LSR), 0x00);
}

static void test_serial_blocked_cb_runs_when_output_blocks(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_THR, 'a');
	assert_int_equal(atomic_load(&f->blocked_calls), 0);
	fill_pipe(f);
	wr(f, SERIAL_THR, 'b');
	assert_int_equal(atomic_load(&f->blocked_calls), 1);
	/* Further bytes join the buffer without another call. */
	wr(f, SERIAL_THR, 'c');
	wr(f, SERIAL_THR, 'd');
	assert_int_equal(atomic_load(&f->blocked_calls), 1);
}

static void test_serial_blocked_output_drains_in_order_once(void **state)
{
	struct fixture *f = *state;
	static uint8_t out[3 * 4096 + 2 * SERIAL_TX_BUF];
	size_t filled, got = 0, i, n = SERIAL_TX_BUF;

	filled = fill_pipe(f);
	for (i = 0; i < n; i++)
		wr(f, SERIAL_THR, (uint8_t)(i % 251));
	assert_int_equal(rd(f, SERIAL_LSR), 0x00);
	assert_true(serial_output_blocked(f->s));
	drain_until_done(f, out, sizeof(out), &got);
	assert_int_equal(got, filled + n);
	for (i = 0; i < filled; i++)
		assert_int_equal(out[i], 'x');
	for (i = 0; i < n; i++)
		assert_int_equal(out[filled + i], i % 251);
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
	assert_false(serial_output_blocked(f->s));
	assert_int_equal(serial_bytes_out(f->s), n);
	assert_int_equal(serial_bytes_dropped(f->s), 0);
}

static void test_serial_bytes_after_drain_follow_in_order(void **state)
{
	struct fixture *f = *state;
	static uint8_t out[4 * 4096];
	size_t filled, got = 0;

	filled = fill_pipe(f);
	wr_str(f, "one ");
	drain_until_done(f, out, sizeof(out), &got);
	wr_str(f, "two");
	drain(f, out, sizeof(out), &got);
	assert_int_equal(got, filled + 7);
	assert_memory_equal(out + filled, "one two", 7);
}

static void test_serial_full_tx_buffer_drops_and_counts(void **state)
{
	struct fixture *f = *state;
	static uint8_t out[4 * 4096 + 2 * SERIAL_TX_BUF];
	size_t filled, got = 0, i;

	filled = fill_pipe(f);
	for (i = 0; i < SERIAL_TX_BUF; i++)
		wr(f, SERIAL_THR, (uint8_t)(i % 253));
	/* A guest ignoring THRE: these find the buffer full. */
	for (i = 0; i < 10; i++)
		wr(f, SERIAL_THR, '!');
	assert_int_equal(serial_bytes_dropped(f->s), 10);
	drain_until_done(f, out, sizeof(out), &got);
	assert_int_equal(got, filled + SERIAL_TX_BUF);
	for (i = 0; i < SERIAL_TX_BUF; i++)
		assert_int_equal(out[filled + i], i % 253);
	/* Room again: nothing else is dropped. */
	wr(f, SERIAL_THR, 'z');
	drain(f, out, sizeof(out), &got);
	assert_int_equal(out[got - 1], 'z');
	assert_int_equal(serial_bytes_dropped(f->s), 10);
}

static void test_serial_fcr_clear_xmit_keeps_buffered_output(void **state)
{
	struct fixture *f = *state;
	static uint8_t out[4 * 4096];
	size_t filled, got = 0;

	filled = fill_pipe(f);
	wr_str(f, "kept");
	wr(f, SERIAL_FCR, FCR_ENABLE | FCR_CLEAR_XMIT);
	drain_until_done(f, out, sizeof(out), &got);
	assert_int_equal(got, filled + 4);
	assert_memory_equal(out + filled, "kept", 4);
}

static void test_serial_write_error_discards_further_output(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[16];
	size_t got = 0;

	sysmock_reset();
	sysmock_fail(SYSMOCK_WRITEV, 0, EIO);
	wr(f, SERIAL_THR, 'a');
	assert_true(sysmock_done());
	sysmock_reset();
	wr(f, SERIAL_THR, 'b');
	drain(f, buf, sizeof(buf), &got);
	assert_int_equal(got, 0);
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
	assert_false(serial_output_blocked(f->s));
	assert_false(serial_output(f->s));
}

static void test_serial_write_error_while_draining_frees_thr(void **state)
{
	struct fixture *f = *state;

	fill_pipe(f);
	wr_str(f, "lost");
	assert_int_equal(rd(f, SERIAL_LSR), 0x00);
	sysmock_reset();
	sysmock_fail(SYSMOCK_WRITEV, 0, EPIPE);
	assert_false(serial_output(f->s));
	assert_true(sysmock_done());
	sysmock_reset();
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
	assert_int_equal(serial_bytes_dropped(f->s), 4);
}

/* Input. */

static void test_serial_input_sets_dr_and_reads_back_in_order(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_FCR, FCR_ENABLE);
	input_str(f, "hi!");
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE | LSR_DR);
	assert_int_equal(rd(f, SERIAL_RBR), 'h');
	assert_int_equal(rd(f, SERIAL_RBR), 'i');
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE | LSR_DR);
	assert_int_equal(rd(f, SERIAL_RBR), '!');
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
}

static void test_serial_rbr_reads_zero_when_empty(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, SERIAL_RBR), 0);
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
}

static void test_serial_input_without_fifo_holds_one_byte(void **state)
{
	struct fixture *f = *state;

	assert_true(serial_input_ready(f->s));
	assert_int_equal(serial_input(f->s, "ab", 2), 1);
	assert_false(serial_input_ready(f->s));
	assert_int_equal(serial_input(f->s, "b", 1), 0);
	assert_int_equal(rd(f, SERIAL_RBR), 'a');
	assert_int_equal(serial_input(f->s, "b", 1), 1);
	assert_int_equal(rd(f, SERIAL_RBR), 'b');
}

static void test_serial_input_fills_fifo_and_refuses_the_rest(void **state)
{
	struct fixture *f = *state;
	uint8_t in[SERIAL_RX_FIFO + 8];
	unsigned i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)('A' + i);
	wr(f, SERIAL_FCR, FCR_ENABLE);
	assert_int_equal(serial_input(f->s, in, sizeof(in)), SERIAL_RX_FIFO);
	assert_false(serial_input_ready(f->s));
	assert_int_equal(serial_input(f->s, in, 1), 0);
	/* Full is not an overrun: host input waits, nothing is lost. */
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE | LSR_DR);
	for (i = 0; i < SERIAL_RX_FIFO; i++)
		assert_int_equal(rd(f, SERIAL_RBR), 'A' + i);
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
	assert_true(serial_input_ready(f->s));
}

static void test_serial_input_of_nothing_accepts_nothing(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(serial_input(f->s, "x", 0), 0);
	assert_int_equal(serial_input(f->s, NULL, 0), 0);
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
	assert_int_equal(atomic_load(&f->changes), 0);
}

static void test_serial_input_cb_runs_once_when_room_returns(void **state)
{
	struct fixture *f = *state;
	uint8_t in[SERIAL_RX_FIFO + 1] = { 0 };

	wr(f, SERIAL_FCR, FCR_ENABLE);
	assert_int_equal(serial_input(f->s, in, sizeof(in)), SERIAL_RX_FIFO);
	assert_int_equal(atomic_load(&f->input_calls), 0);
	rd(f, SERIAL_RBR);
	assert_int_equal(atomic_load(&f->input_calls), 1);
	rd(f, SERIAL_RBR);
	assert_int_equal(atomic_load(&f->input_calls), 1);
}

static void test_serial_input_cb_needs_a_refusal(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_FCR, FCR_ENABLE);
	input_str(f, "abc");
	rd(f, SERIAL_RBR);
	rd(f, SERIAL_RBR);
	rd(f, SERIAL_RBR);
	wr(f, SERIAL_FCR, FCR_ENABLE | FCR_CLEAR_RCVR);
	assert_int_equal(atomic_load(&f->input_calls), 0);
}

static void test_serial_fcr_clear_rcvr_empties_fifo(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_FCR, FCR_ENABLE);
	input_str(f, "abc");
	wr(f, SERIAL_FCR, FCR_ENABLE | FCR_CLEAR_RCVR);
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
	input_str(f, "d");
	assert_int_equal(rd(f, SERIAL_RBR), 'd');
}

static void test_serial_fcr_switching_fifo_empties_it(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_FCR, FCR_ENABLE);
	input_str(f, "abc");
	wr(f, SERIAL_FCR, 0);
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
	input_str(f, "d");
	wr(f, SERIAL_FCR, FCR_ENABLE);
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
}

static void test_serial_iir_shows_fifo_bits_but_never_bit5(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_FCR, FCR_ENABLE);
	assert_int_equal(rd(f, SERIAL_IIR), 0xc1);
	/* The 64-byte FIFO bit of a 16750 is not there. */
	wr(f, SERIAL_FCR, FCR_ENABLE | 0x20);
	assert_int_equal(rd(f, SERIAL_IIR), 0xc1);
	wr(f, SERIAL_LCR, LCR_DLAB);
	assert_int_equal(rd(f, SERIAL_IIR), 0xc1);
	wr(f, SERIAL_FCR, 0);
	assert_int_equal(rd(f, SERIAL_IIR), 0x01);
}

/* Interrupts. */

static void test_serial_rx_interrupt_follows_ier_and_data(void **state)
{
	struct fixture *f = *state;

	input_str(f, "a");
	assert_false(line(f));
	assert_int_equal(rd(f, SERIAL_IIR), IIR_NO_INT);
	wr(f, SERIAL_IER, IER_RDI);
	assert_true(line(f));
	assert_int_equal(rd(f, SERIAL_IIR), IIR_RDI);
	/* Reading IIR does not clear it; reading the data does. */
	assert_true(line(f));
	assert_int_equal(rd(f, SERIAL_RBR), 'a');
	assert_false(line(f));
	assert_int_equal(rd(f, SERIAL_IIR), IIR_NO_INT);
	input_str(f, "b");
	assert_true(line(f));
	wr(f, SERIAL_IER, 0);
	assert_false(line(f));
}

static void test_serial_rx_below_trigger_level_is_timeout(void **state)
{
	struct fixture *f = *state;

	/* Trigger level 4 (FCR bits 7:6 = 01). */
	wr(f, SERIAL_FCR, FCR_ENABLE | 0x40);
	wr(f, SERIAL_IER, IER_RDI);
	input_str(f, "abc");
	assert_true(line(f));
	assert_int_equal(rd(f, SERIAL_IIR), 0xc0 | IIR_TIMEOUT);
	input_str(f, "d");
	assert_int_equal(rd(f, SERIAL_IIR), 0xc0 | IIR_RDI);
	rd(f, SERIAL_RBR);
	assert_int_equal(rd(f, SERIAL_IIR), 0xc0 | IIR_TIMEOUT);
}

static void test_serial_thre_raised_when_enabled_while_empty(void **state)
{
	struct fixture *f = *state;

	assert_false(line(f));
	wr(f, SERIAL_IER, IER_THRI);
	assert_true(line(f));
	assert_int_equal(rd(f, SERIAL_IIR) & IIR_ID, IIR_THRI);
}

static void test_serial_iir_read_clears_thre(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_IER, IER_THRI);
	assert_int_equal(rd(f, SERIAL_IIR), IIR_THRI);
	assert_false(line(f));
	assert_int_equal(rd(f, SERIAL_IIR), IIR_NO_INT);
	/* THR is still empty: LSR says so, only the interrupt is gone. */
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
}

static void test_serial_rewriting_ier_does_not_rearm_thre(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_IER, IER_THRI);
	rd(f, SERIAL_IIR);
	wr(f, SERIAL_IER, IER_THRI);
	assert_false(line(f));
	/* Off and on again does. */
	wr(f, SERIAL_IER, 0);
	wr(f, SERIAL_IER, IER_THRI);
	assert_true(line(f));
}

static void test_serial_thr_write_rearms_thre_once_sent(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_IER, IER_THRI);
	rd(f, SERIAL_IIR);
	assert_false(line(f));
	wr(f, SERIAL_THR, 'a');
	assert_true(line(f));
	assert_int_equal(rd(f, SERIAL_IIR), IIR_THRI);
}

static void test_serial_thr_write_clears_thre_while_blocked(void **state)
{
	struct fixture *f = *state;

	fill_pipe(f);
	wr(f, SERIAL_IER, IER_THRI);
	assert_true(line(f));
	wr(f, SERIAL_THR, 'a');
	assert_false(line(f));
	assert_int_equal(rd(f, SERIAL_IIR), IIR_NO_INT);
}

static void test_serial_thre_raised_when_output_drains(void **state)
{
	struct fixture *f = *state;
	static uint8_t out[4 * 4096];
	size_t got = 0;

	fill_pipe(f);
	wr(f, SERIAL_IER, IER_THRI);
	wr(f, SERIAL_THR, 'a');
	assert_false(line(f));
	/* Enabling it again while THR is busy does not raise it. */
	wr(f, SERIAL_IER, 0);
	wr(f, SERIAL_IER, IER_THRI);
	assert_false(line(f));
	assert_true(serial_output(f->s));
	assert_false(line(f));
	drain_until_done(f, out, sizeof(out), &got);
	assert_true(line(f));
	assert_int_equal(rd(f, SERIAL_IIR), IIR_THRI);
	assert_int_equal(out[got - 1], 'a');
}

static void test_serial_disabling_ier_thri_clears_thre(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_IER, IER_THRI);
	assert_true(line(f));
	wr(f, SERIAL_IER, 0);
	assert_false(line(f));
	assert_int_equal(rd(f, SERIAL_IIR), IIR_NO_INT);
}

static void test_serial_iir_ranks_sources_by_priority(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	/* Make all four sources pending: loopback overrun (line status),
	 * received data, THR empty, modem status deltas. */
	wr(f, SERIAL_MCR, MCR_LOOP | MCR_RTS);
	wr(f, SERIAL_THR, 'a');
	wr(f, SERIAL_THR, 'b'); /* one-byte receiver: overrun */
	wr(f, SERIAL_IER, IER_RDI | IER_THRI | IER_RLSI | IER_MSI);
	assert_true(line(f));

	assert_int_equal(rd(f, SERIAL_IIR), IIR_RLSI);
	assert_int_equal(rd(f, SERIAL_IIR), IIR_RLSI); /* still there */
	assert_int_equal(rd(f, SERIAL_LSR) & LSR_OE, LSR_OE);
	assert_int_equal(rd(f, SERIAL_IIR), IIR_RDI);
	assert_int_equal(rd(f, SERIAL_RBR), 'a');
	assert_int_equal(rd(f, SERIAL_IIR), IIR_THRI);
	assert_int_equal(rd(f, SERIAL_IIR), IIR_MSI);
	assert_true(line(f));
	/* Loopback dropped DSR and DCD (CTS follows RTS). */
	assert_int_equal(rd(f, SERIAL_MSR) & 0x0f, MSR_DDSR | MSR_DDCD);
	assert_int_equal(rd(f, SERIAL_IIR), IIR_NO_INT);
	assert_false(line(f));
	for (i = 0; i < 4; i++)
		assert_int_equal(rd(f, SERIAL_IIR), IIR_NO_INT);
}

static void test_serial_irq_line_reports_only_changes(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_IER, IER_THRI | IER_RDI);
	assert_int_equal(atomic_load(&f->changes), 1);
	/* Data arrives while THRE is pending: the line is high already. */
	input_str(f, "a");
	rd(f, SERIAL_RBR);
	wr(f, SERIAL_THR, 'x');
	assert_int_equal(atomic_load(&f->changes), 1);
	rd(f, SERIAL_IIR);
	assert_int_equal(atomic_load(&f->changes), 2);
	assert_false(line(f));
	/* teardown checks no call repeated the level. */
}

/* Loopback. */

static void test_serial_loopback_returns_written_bytes(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[16];
	size_t got = 0;

	wr(f, SERIAL_FCR, FCR_ENABLE);
	wr(f, SERIAL_MCR, MCR_LOOP);
	wr_str(f, "ping");
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE | LSR_DR);
	assert_int_equal(rd(f, SERIAL_RBR), 'p');
	assert_int_equal(rd(f, SERIAL_RBR), 'i');
	assert_int_equal(rd(f, SERIAL_RBR), 'n');
	assert_int_equal(rd(f, SERIAL_RBR), 'g');
	drain(f, buf, sizeof(buf), &got);
	assert_int_equal(got, 0);
	wr(f, SERIAL_MCR, 0);
	wr(f, SERIAL_THR, 'o');
	drain(f, buf, sizeof(buf), &got);
	assert_int_equal(got, 1);
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
}

static void test_serial_loopback_maps_mcr_to_msr(void **state)
{
	struct fixture *f = *state;

	/* Linux's autoconfig check: RTS | OUT2 reads CTS | DCD. */
	wr(f, SERIAL_MCR, MCR_LOOP | MCR_RTS | MCR_OUT2);
	assert_int_equal(rd(f, SERIAL_MSR) & 0xf0, MSR_CTS | MSR_DCD);
	wr(f, SERIAL_MCR, MCR_LOOP | MCR_DTR);
	assert_int_equal(rd(f, SERIAL_MSR) & 0xf0, MSR_DSR);
	wr(f, SERIAL_MCR, MCR_LOOP | MCR_OUT1);
	assert_int_equal(rd(f, SERIAL_MSR) & 0xf0, MSR_RI);
	wr(f, SERIAL_MCR, MCR_LOOP);
	assert_int_equal(rd(f, SERIAL_MSR) & 0xf0, 0);
	wr(f, SERIAL_MCR, MCR_LOOP | 0x0f);
	assert_int_equal(rd(f, SERIAL_MSR) & 0xf0, 0xf0);
}

static void test_serial_loopback_msr_deltas_clear_on_read(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_MCR, MCR_LOOP | 0x0f);
	rd(f, SERIAL_MSR);
	assert_int_equal(rd(f, SERIAL_MSR), 0xf0);
	wr(f, SERIAL_MCR, MCR_LOOP);
	assert_int_equal(rd(f, SERIAL_MSR),
			 MSR_DCTS | MSR_DDSR | MSR_TERI | MSR_DDCD);
	assert_int_equal(rd(f, SERIAL_MSR), 0);
	/* RI rising is not a trailing edge. */
	wr(f, SERIAL_MCR, MCR_LOOP | MCR_OUT1);
	assert_int_equal(rd(f, SERIAL_MSR), MSR_RI);
}

static void test_serial_modem_status_interrupt_follows_deltas(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_IER, IER_MSI);
	assert_false(line(f));
	wr(f, SERIAL_MCR, MCR_LOOP | MCR_DTR);
	assert_true(line(f));
	assert_int_equal(rd(f, SERIAL_IIR), IIR_MSI);
	assert_true(line(f));
	rd(f, SERIAL_MSR);
	assert_false(line(f));
}

static void test_serial_loopback_overrun_sets_oe_until_read(void **state)
{
	struct fixture *f = *state;
	unsigned i;

	wr(f, SERIAL_FCR, FCR_ENABLE);
	wr(f, SERIAL_MCR, MCR_LOOP);
	wr(f, SERIAL_IER, IER_RLSI);
	for (i = 0; i < SERIAL_RX_FIFO; i++)
		wr(f, SERIAL_THR, (uint8_t)i);
	assert_false(line(f));
	wr(f, SERIAL_THR, 0xee);
	assert_true(line(f));
	assert_int_equal(rd(f, SERIAL_IIR), 0xc0 | IIR_RLSI);
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE | LSR_DR | LSR_OE);
	assert_false(line(f));
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE | LSR_DR);
	/* The FIFO kept the first 16; the late byte is lost. */
	for (i = 0; i < SERIAL_RX_FIFO; i++)
		assert_int_equal(rd(f, SERIAL_RBR), i);
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
}

static void test_serial_loopback_refuses_host_input(void **state)
{
	struct fixture *f = *state;

	wr(f, SERIAL_FCR, FCR_ENABLE);
	wr(f, SERIAL_MCR, MCR_LOOP);
	assert_false(serial_input_ready(f->s));
	assert_int_equal(serial_input(f->s, "a", 1), 0);
	assert_int_equal(rd(f, SERIAL_LSR), LSR_IDLE);
	wr(f, SERIAL_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
	assert_int_equal(atomic_load(&f->input_calls), 1);
	assert_true(serial_input_ready(f->s));
	input_str(f, "a");
	assert_int_equal(rd(f, SERIAL_RBR), 'a');
}

/* What Linux does. */

static void test_serial_passes_linux_autoconfig(void **state)
{
	struct fixture *f = *state;
	uint8_t save_ier, save_mcr, save_lcr;

	/* Existence test on IER. */
	save_ier = rd(f, SERIAL_IER);
	wr(f, SERIAL_IER, 0);
	assert_int_equal(rd(f, SERIAL_IER) & 0x0f, 0);
	wr(f, SERIAL_IER, 0x0f);
	assert_int_equal(rd(f, SERIAL_IER) & 0x0f, 0x0f);
	wr(f, SERIAL_IER, save_ier);
	/* Loopback test. */
	save_mcr = rd(f, SERIAL_MCR);
	save_lcr = rd(f, SERIAL_LCR);
	wr(f, SERIAL_MCR, MCR_LOOP | 0x0a);
	assert_int_equal(rd(f, SERIAL_MSR) & 0xf0, 0x90);
	wr(f, SERIAL_MCR, save_mcr);
	/* EFR probe (LCR 0xbf), then FIFO type from IIR bits 7:6. */
	wr(f, SERIAL_LCR, 0xbf);
	wr(f, 2, 0);
	wr(f, SERIAL_LCR, 0);
	wr(f, SERIAL_FCR, FCR_ENABLE);
	assert_int_equal(rd(f, SERIAL_IIR) >> 6, 3); /* a 16550A */
	/* Not a ST16C650: offset 2 with DLAB set is not a zero EFR. */
	wr(f, SERIAL_LCR, LCR_DLAB);
	assert_int_not_equal(rd(f, 2), 0);
	/* Not a 16750: IIR bit 5 stays clear either way. */
	wr(f, SERIAL_LCR, 0);
	wr(f, SERIAL_FCR, FCR_ENABLE | 0x20);
	assert_int_equal(rd(f, SERIAL_IIR) >> 5, 6);
	wr(f, SERIAL_LCR, LCR_DLAB);
	wr(f, SERIAL_FCR, FCR_ENABLE | 0x20);
	assert_int_equal(rd(f, SERIAL_IIR) >> 5, 6);
	wr(f, SERIAL_LCR, save_lcr);
	/* Scratch test of the 8250/16450 branch. */
	wr(f, SERIAL_SCR, 0xa5);
	assert_int_equal(rd(f, SERIAL_SCR), 0xa5);
	wr(f, SERIAL_SCR, 0x5a);
	assert_int_equal(rd(f, SERIAL_SCR), 0x5a);
	/* The LSR safety check at startup. */
	assert_int_not_equal(rd(f, SERIAL_LSR), 0xff);
}

static void test_serial_passes_linux_thre_startup_tests(void **state)
{
	struct fixture *f = *state;
	uint8_t iir1, iir, lsr;

	/* UART_BUG_THRE: THRE must be re-asserted after IER off/on. */
	wr(f, SERIAL_IER, IER_THRI);
	assert_true(rd(f, SERIAL_LSR) & LSR_THRE);
	wr(f, SERIAL_IER, IER_THRI);
	iir1 = rd(f, SERIAL_IIR);
	wr(f, SERIAL_IER, 0);
	wr(f, SERIAL_IER, IER_THRI);
	iir = rd(f, SERIAL_IIR);
	wr(f, SERIAL_IER, 0);
	assert_false(iir1 & IIR_NO_INT);
	assert_false(iir & IIR_NO_INT);
	/* UART_BUG_TXEN: an idle transmitter with THRI enabled must show
	 * an interrupt. */
	wr(f, SERIAL_IER, IER_THRI);
	lsr = rd(f, SERIAL_LSR);
	iir = rd(f, SERIAL_IIR);
	wr(f, SERIAL_IER, 0);
	assert_true(lsr & LSR_TEMT);
	assert_false(iir & IIR_NO_INT);
	assert_false(line(f));
}

/* Threads: a vCPU polling LSR before each byte, the loop draining. */

#define THREAD_BYTES 20000

static void *writer(void *arg)
{
	struct fixture *f = arg;
	unsigned i;

	for (i = 0; i < THREAD_BYTES; i++) {
		while (!(rd(f, SERIAL_LSR) & LSR_THRE))
			sched_yield();
		wr(f, SERIAL_THR, (uint8_t)(i % 241));
	}
	return NULL;
}

static void test_serial_concurrent_writer_and_drain_lose_nothing(void **state)
{
	struct fixture *f = *state;
	static uint8_t out[THREAD_BYTES + 8192];
	size_t filled, got = 0, i;
	pthread_t t;

	filled = fill_pipe(f);
	assert_int_equal(pthread_create(&t, NULL, writer, f), 0);
	while (got < filled + THREAD_BYTES) {
		drain(f, out, sizeof(out), &got);
		serial_output(f->s);
		sched_yield();
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	drain_until_done(f, out, sizeof(out), &got);
	assert_int_equal(got, filled + THREAD_BYTES);
	for (i = 0; i < THREAD_BYTES; i++)
		assert_int_equal(out[filled + i], i % 241);
	assert_int_equal(serial_bytes_dropped(f->s), 0);
}

/* Saving and restoring (serial_device_ops). */

static void save(struct fixture *f, struct state_buf *b)
{
	state_buf_init(b);
	assert_int_equal(serial_device_ops.save(f->s, b), 0);
}

static int restore(struct fixture *f, const struct state_buf *b)
{
	struct state_rd r;

	state_rd_init(&r, b->data, b->len);
	return serial_device_ops.restore(f->s, &r);
}

static void test_serial_restore_brings_back_registers_and_fifo(void **state)
{
	struct fixture *f = *state, *g = NULL;
	struct state_buf b;
	uint8_t out[64];
	size_t got = 0;
	void *st;

	wr(f, SERIAL_FCR, FCR_ENABLE);
	wr(f, SERIAL_LCR, 0x03);
	wr(f, SERIAL_SCR, 0x5a);
	wr(f, SERIAL_IER, IER_RDI);
	input_str(f, "ab");
	assert_true(line(f));
	fill_pipe(f);
	wr_str(f, "held");
	save(f, &b);
	assert_int_equal(make_fixture(&st, false), 0);
	g = st;
	assert_int_equal(restore(g, &b), 0);
	assert_int_equal(rd(g, SERIAL_LCR), 0x03);
	assert_int_equal(rd(g, SERIAL_SCR), 0x5a);
	assert_int_equal(rd(g, SERIAL_IER), IER_RDI);
	/* The received bytes wait, and the line is up for them. */
	assert_true(line(g));
	assert_int_equal(rd(g, SERIAL_LSR) & LSR_DR, LSR_DR);
	assert_int_equal(rd(g, SERIAL_RBR), 'a');
	assert_int_equal(rd(g, SERIAL_RBR), 'b');
	assert_false(line(g));
	/* Output the guest wrote before the snapshot is not lost. */
	assert_false(serial_output(g->s));
	drain(g, out, sizeof(out), &got);
	assert_int_equal(got, 4);
	assert_memory_equal(out, "held", 4);
	state_buf_fini(&b);
	teardown(&st);
}

static void test_serial_restore_refuses_an_oversized_fifo(void **state)
{
	struct fixture *f = *state;
	struct state_buf b;

	input_str(f, "a");
	save(f, &b);
	/* The FIFO's count follows eleven register bytes. */
	b.data[11] = SERIAL_RX_FIFO + 1;
	assert_int_equal(restore(f, &b), -EBADMSG);
	/* Refused: the device is back in its reset state. */
	assert_int_equal(rd(f, SERIAL_LSR) & LSR_DR, 0);
	state_buf_fini(&b);
}

static void test_serial_restore_refuses_truncated_state(void **state)
{
	struct fixture *f = *state;
	struct state_buf b;

	wr(f, SERIAL_SCR, 0x77);
	save(f, &b);
	b.len--;
	assert_int_equal(restore(f, &b), -EBADMSG);
	assert_int_equal(rd(f, SERIAL_SCR), 0);
	b.len++;
	state_buf_fini(&b);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
#define TD(f) cmocka_unit_test_setup_teardown(f, setup_discard, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial_create_rejects_bad_arguments),
		cmocka_unit_test(test_serial_create_reports_enomem),
		cmocka_unit_test(test_serial_destroy_null_is_noop),
		cmocka_unit_test(test_serial_works_without_irq_line),
		T(test_serial_lsr_reads_0x60_when_idle),
		T(test_serial_registers_start_in_reset_state),
		T(test_serial_scratch_register_keeps_every_value),
		T(test_serial_ier_keeps_only_the_low_four_bits),
		T(test_serial_lcr_reads_back_every_value),
		T(test_serial_mcr_keeps_only_the_low_five_bits),
		T(test_serial_dlab_maps_divisor_over_rbr_and_ier),
		T(test_serial_dlab_writes_do_not_transmit),
		T(test_serial_dlab_reads_do_not_consume_input),
		T(test_serial_lsr_and_msr_ignore_writes),
		T(test_serial_wide_accesses_split_into_bytes),
		T(test_serial_thr_bytes_reach_out_fd),
		TD(test_serial_out_fd_minus_one_discards_output),
		T(test_serial_output_with_nothing_waiting_returns_false),
		T(test_serial_full_pipe_clears_thre_and_temt),
		T(test_serial_blocked_cb_runs_when_output_blocks),
		T(test_serial_blocked_output_drains_in_order_once),
		T(test_serial_bytes_after_drain_follow_in_order),
		T(test_serial_full_tx_buffer_drops_and_counts),
		T(test_serial_fcr_clear_xmit_keeps_buffered_output),
		T(test_serial_write_error_discards_further_output),
		T(test_serial_write_error_while_draining_frees_thr),
		T(test_serial_input_sets_dr_and_reads_back_in_order),
		T(test_serial_rbr_reads_zero_when_empty),
		T(test_serial_input_without_fifo_holds_one_byte),
		T(test_serial_input_fills_fifo_and_refuses_the_rest),
		T(test_serial_input_of_nothing_accepts_nothing),
		T(test_serial_input_cb_runs_once_when_room_returns),
		T(test_serial_input_cb_needs_a_refusal),
		T(test_serial_fcr_clear_rcvr_empties_fifo),
		T(test_serial_fcr_switching_fifo_empties_it),
		T(test_serial_iir_shows_fifo_bits_but_never_bit5),
		T(test_serial_rx_interrupt_follows_ier_and_data),
		T(test_serial_rx_below_trigger_level_is_timeout),
		T(test_serial_thre_raised_when_enabled_while_empty),
		T(test_serial_iir_read_clears_thre),
		T(test_serial_rewriting_ier_does_not_rearm_thre),
		T(test_serial_thr_write_rearms_thre_once_sent),
		T(test_serial_thr_write_clears_thre_while_blocked),
		T(test_serial_thre_raised_when_output_drains),
		T(test_serial_disabling_ier_thri_clears_thre),
		T(test_serial_iir_ranks_sources_by_priority),
		T(test_serial_irq_line_reports_only_changes),
		T(test_serial_loopback_returns_written_bytes),
		T(test_serial_loopback_maps_mcr_to_msr),
		T(test_serial_loopback_msr_deltas_clear_on_read),
		T(test_serial_modem_status_interrupt_follows_deltas),
		T(test_serial_loopback_overrun_sets_oe_until_read),
		T(test_serial_loopback_refuses_host_input),
		T(test_serial_passes_linux_autoconfig),
		T(test_serial_passes_linux_thre_startup_tests),
		T(test_serial_concurrent_writer_and_drain_lose_nothing),
			T(test_serial_restore_brings_back_registers_and_fifo),
		T(test_serial_restore_refuses_an_oversized_fifo),
		T(test_serial_restore_refuses_truncated_state),
};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
