/* SPDX-License-Identifier: MIT */
/*
 * Tests for minivmm/devices/i8042.c, the keyboard controller stub: its two ports
 * registered on a port bus at 0x60 and 0x64 as the VMM will, driven the
 * way Linux's i8042 driver and its reboot code drive them, with a reset
 * callback that counts its calls.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>

#include "../minivmm/bus.h"
#include "../minivmm/devices/device.h"
#include "../minivmm/devices/i8042.h"
#include "../minivmm/state.h"
#include "sysmock.h"

#define STR_OBF I8042_STR_OBF
#define STR_IBF I8042_STR_IBF
#define STR_SYS I8042_STR_SYSFLAG

struct fixture {
	struct bus bus;
	struct i8042 *k;
	int resets;
};

static void reset_cb(void *opaque)
{
	struct fixture *f = opaque;

	f->resets++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	bus_init(&f->bus);
	if (i8042_create(reset_cb, f, &f->k))
		goto err;
	if (bus_register(&f->bus, I8042_DATA_PORT, 1, &i8042_data_bus_ops,
			 f->k) ||
	    bus_register(&f->bus, I8042_CMD_PORT, 1, &i8042_cmd_bus_ops, f->k))
		goto err_destroy;
	*state = f;
	return 0;

err_destroy:
	i8042_destroy(f->k);
err:
	free(f);
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	i8042_destroy(f->k);
	free(f);
	return 0;
}

static uint8_t in8(struct fixture *f, uint16_t port)
{
	uint8_t v = 0;

	assert_int_equal(bus_read(&f->bus, port, &v, 1), 0);
	return v;
}

static void out8(struct fixture *f, uint16_t port, uint8_t v)
{
	assert_int_equal(bus_write(&f->bus, port, &v, 1), 0);
}

static uint8_t status(struct fixture *f)
{
	return in8(f, I8042_CMD_PORT);
}

/* A command with a one-byte reply, as Linux's i8042_command() does it:
 * wait for the input buffer, write, wait for the output buffer, read. */
static uint8_t query(struct fixture *f, uint8_t cmd)
{
	assert_int_equal(status(f) & STR_IBF, 0);
	out8(f, I8042_CMD_PORT, cmd);
	assert_int_equal(status(f) & STR_OBF, STR_OBF);
	return in8(f, I8042_DATA_PORT);
}

static void command_with_data(struct fixture *f, uint8_t cmd, uint8_t v)
{
	out8(f, I8042_CMD_PORT, cmd);
	assert_int_equal(status(f) & STR_IBF, 0);
	out8(f, I8042_DATA_PORT, v);
}

static void test_i8042_create_rejects_null_out(void **state)
{
	(void)state;
	assert_int_equal(i8042_create(NULL, NULL, NULL), -EINVAL);
}

static void test_i8042_create_reports_enomem(void **state)
{
	struct i8042 *k = NULL;

	(void)state;
	sysmock_reset();
	sysmock_fail(SYSMOCK_CALLOC, 0, ENOMEM);
	assert_int_equal(i8042_create(NULL, NULL, &k), -ENOMEM);
	assert_true(sysmock_done());
	sysmock_reset();
	assert_null(k);
}

static void test_i8042_destroy_null_is_noop(void **state)
{
	(void)state;
	i8042_destroy(NULL);
}

static void test_i8042_status_is_idle_with_system_flag(void **state)
{
	struct fixture *f = *state;
	uint8_t st = status(f);

	assert_int_equal(st & (STR_OBF | STR_IBF), 0);
	assert_int_equal(st & STR_SYS, STR_SYS);
	assert_int_equal(st, 0x14);
	assert_int_not_equal(st, 0xff);
}

static void test_i8042_claims_only_ports_0x60_and_0x64(void **state)
{
	struct fixture *f = *state;
	uint8_t v = 0;

	assert_int_equal(bus_read(&f->bus, 0x61, &v, 1), -ENOENT);
	assert_int_equal(bus_read(&f->bus, 0x65, &v, 1), -ENOENT);
	assert_int_equal(bus_read(&f->bus, 0x5f, &v, 1), -ENOENT);
}

static void test_i8042_pulse_reset_calls_reset(void **state)
{
	struct fixture *f = *state;

	out8(f, I8042_CMD_PORT, 0xfe);
	assert_int_equal(f->resets, 1);
}

static void test_i8042_linux_reboot_sequence_resets(void **state)
{
	struct fixture *f = *state;
	unsigned i, spins;

	/* arch/x86 BOOT_KBD: ten tries of kb_wait() then 0xfe. */
	for (i = 0; i < 10; i++) {
		for (spins = 0; spins < 0x10000; spins++)
			if (!(status(f) & STR_IBF))
				break;
		assert_true(spins < 1);
		out8(f, I8042_CMD_PORT, 0xfe);
	}
	assert_int_equal(f->resets, 10);
}

static void test_i8042_reset_without_callback_is_harmless(void **state)
{
	struct i8042 *k;
	uint8_t v = 0xfe;

	(void)state;
	assert_int_equal(i8042_create(NULL, NULL, &k), 0);
	i8042_cmd_bus_ops.write(k, 0, &v, 1);
	v = 0;
	i8042_cmd_bus_ops.read(k, 0, &v, 1);
	assert_int_equal(v & (STR_OBF | STR_IBF), 0);
	i8042_destroy(k);
}

static void test_i8042_pulses_without_reset_bit_do_not_reset(void **state)
{
	struct fixture *f = *state;
	unsigned cmd;

	for (cmd = 0xf1; cmd <= 0xff; cmd += 2)
		out8(f, I8042_CMD_PORT, (uint8_t)cmd);
	assert_int_equal(f->resets, 0);
	/* Every pulse with bit 0 clear does pulse the reset line. */
	for (cmd = 0xf0; cmd <= 0xfe; cmd += 2)
		out8(f, I8042_CMD_PORT, (uint8_t)cmd);
	assert_int_equal(f->resets, 8);
}

static void test_i8042_self_test_replies_0x55(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(query(f, 0xaa), 0x55);
	assert_int_equal(status(f) & STR_OBF, 0);
}

static void test_i8042_data_read_without_reply_repeats_last(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in8(f, I8042_DATA_PORT), 0);
	query(f, 0xaa);
	assert_int_equal(in8(f, I8042_DATA_PORT), 0x55);
	assert_int_equal(status(f) & STR_OBF, 0);
}

static void test_i8042_reads_default_command_byte(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(query(f, 0x20), I8042_CTR_DEFAULT);
	/* Linux reads it until two reads agree. */
	assert_int_equal(query(f, 0x20), I8042_CTR_DEFAULT);
}

static void test_i8042_writes_command_byte(void **state)
{
	struct fixture *f = *state;

	command_with_data(f, 0x60, 0x65);
	assert_int_equal(query(f, 0x20), 0x65);
	assert_int_equal(f->resets, 0);
}

static void test_i8042_system_flag_follows_command_byte(void **state)
{
	struct fixture *f = *state;

	command_with_data(f, 0x60, I8042_CTR_DEFAULT & ~I8042_CTR_SYSFLAG);
	assert_int_equal(status(f) & STR_SYS, 0);
	command_with_data(f, 0x60, I8042_CTR_DEFAULT);
	assert_int_equal(status(f) & STR_SYS, STR_SYS);
}

static void test_i8042_status_bit3_tracks_last_port_written(void **state)
{
	struct fixture *f = *state;

	out8(f, I8042_CMD_PORT, 0xad);
	assert_int_equal(status(f) & I8042_STR_CMDDAT, I8042_STR_CMDDAT);
	out8(f, I8042_DATA_PORT, 0xf4);
	assert_int_equal(status(f) & I8042_STR_CMDDAT, 0);
}

static void test_i8042_keyboard_disable_and_enable(void **state)
{
	struct fixture *f = *state;

	out8(f, I8042_CMD_PORT, 0xad);
	assert_int_equal(query(f, 0x20) & I8042_CTR_KBDDIS, I8042_CTR_KBDDIS);
	out8(f, I8042_CMD_PORT, 0xae);
	assert_int_equal(query(f, 0x20) & I8042_CTR_KBDDIS, 0);
	assert_int_equal(status(f) & (STR_OBF | STR_IBF), 0);
}

static void test_i8042_aux_disable_and_enable(void **state)
{
	struct fixture *f = *state;

	out8(f, I8042_CMD_PORT, 0xa7);
	assert_int_equal(query(f, 0x20) & I8042_CTR_AUXDIS, I8042_CTR_AUXDIS);
	out8(f, I8042_CMD_PORT, 0xa8);
	assert_int_equal(query(f, 0x20) & I8042_CTR_AUXDIS, 0);
	assert_int_equal(status(f) & (STR_OBF | STR_IBF), 0);
}

static void test_i8042_output_port_reads_back(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(query(f, 0xd0), 0x03);
	/* Linux turns A20 on with 0xdf at boot: no reset. */
	command_with_data(f, 0xd1, 0xdf);
	assert_int_equal(query(f, 0xd0), 0xdf);
	assert_int_equal(f->resets, 0);
}

static void test_i8042_output_port_reset_bit_low_resets(void **state)
{
	struct fixture *f = *state;

	command_with_data(f, 0xd1, 0xde);
	assert_int_equal(f->resets, 1);
}

static void test_i8042_unknown_commands_are_harmless(void **state)
{
	struct fixture *f = *state;
	unsigned cmd;

	for (cmd = 0; cmd < 0xf0; cmd++) {
		switch (cmd) {
		case 0x20:
		case 0x60:
		case 0xa7:
		case 0xa8:
		case 0xaa:
		case 0xad:
		case 0xae:
		case 0xd0:
		case 0xd1:
			continue;
		}
		out8(f, I8042_CMD_PORT, (uint8_t)cmd);
		/* A data byte some of them would take: goes nowhere. */
		out8(f, I8042_DATA_PORT, 0x00);
		assert_int_equal(status(f) & (STR_OBF | STR_IBF), 0);
	}
	assert_int_equal(f->resets, 0);
	assert_int_equal(query(f, 0x20), I8042_CTR_DEFAULT);
	assert_int_equal(query(f, 0xd0), 0x03);
}

static void test_i8042_keyboard_bytes_go_nowhere(void **state)
{
	struct fixture *f = *state;

	/* atkbd's GETID and reset: no keyboard answers. */
	out8(f, I8042_DATA_PORT, 0xf2);
	out8(f, I8042_DATA_PORT, 0xff);
	assert_int_equal(status(f) & (STR_OBF | STR_IBF), 0);
	assert_int_equal(query(f, 0x20), I8042_CTR_DEFAULT);
	assert_int_equal(f->resets, 0);
}

static void test_i8042_new_command_replaces_waiting_one(void **state)
{
	struct fixture *f = *state;

	out8(f, I8042_CMD_PORT, 0x60);
	assert_int_equal(query(f, 0x20), I8042_CTR_DEFAULT);
	out8(f, I8042_DATA_PORT, 0x00);
	assert_int_equal(query(f, 0x20), I8042_CTR_DEFAULT);
	out8(f, I8042_CMD_PORT, 0xd1);
	out8(f, I8042_CMD_PORT, 0xaa);
	out8(f, I8042_DATA_PORT, 0x00);
	assert_int_equal(f->resets, 0);
	assert_int_equal(in8(f, I8042_DATA_PORT), 0x55);
}

static void test_i8042_ignores_accesses_past_its_port(void **state)
{
	struct fixture *f = *state;
	uint8_t v = 0xfe;

	/* Not reachable through the bus; the ops still check. */
	i8042_cmd_bus_ops.write(f->k, 1, &v, 1);
	i8042_data_bus_ops.write(f->k, 3, &v, 1);
	v = 0;
	i8042_cmd_bus_ops.read(f->k, 4, &v, 1);
	assert_int_equal(v, 0);
	assert_int_equal(f->resets, 0);
}

/* Saving and restoring (i8042_device_ops). */

static void save(struct fixture *f, struct state_buf *b)
{
	state_buf_init(b);
	assert_int_equal(i8042_device_ops.save(f->k, b), 0);
}

static int restore(struct fixture *f, const struct state_buf *b)
{
	struct state_rd r;

	state_rd_init(&r, b->data, b->len);
	return i8042_device_ops.restore(f->k, &r);
}

static void test_i8042_restore_keeps_a_command_waiting_for_data(void **state)
{
	struct fixture *f = *state, *g;
	struct state_buf b;
	void *st;

	/* "Write the command byte", then the snapshot, then its data. */
	out8(f, I8042_CMD_PORT, 0x60);
	save(f, &b);
	assert_int_equal(setup(&st), 0);
	g = st;
	assert_int_equal(restore(g, &b), 0);
	out8(g, I8042_DATA_PORT, 0x25);
	assert_int_equal(query(g, 0x20), 0x25);
	state_buf_fini(&b);
	teardown(&st);
}

static void test_i8042_restore_keeps_a_waiting_reply(void **state)
{
	struct fixture *f = *state, *g;
	struct state_buf b;
	void *st;

	out8(f, I8042_CMD_PORT, 0xaa);
	save(f, &b);
	assert_int_equal(setup(&st), 0);
	g = st;
	assert_int_equal(restore(g, &b), 0);
	assert_int_equal(status(g) & STR_OBF, STR_OBF);
	assert_int_equal(in8(g, I8042_DATA_PORT), 0x55);
	state_buf_fini(&b);
	teardown(&st);
}

static void test_i8042_restore_refuses_an_unknown_pending_command(void **state)
{
	struct fixture *f = *state;
	struct state_buf b;

	save(f, &b);
	b.data[2] = 0xd3; /* pending: not a command that takes data */
	assert_int_equal(restore(f, &b), -EBADMSG);
	assert_int_equal(query(f, 0x20), I8042_CTR_DEFAULT);
	state_buf_fini(&b);
}

static void test_i8042_restore_refuses_truncated_state(void **state)
{
	struct fixture *f = *state;
	struct state_buf b;

	save(f, &b);
	b.len--;
	assert_int_equal(restore(f, &b), -EBADMSG);
	b.len++;
	state_buf_fini(&b);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_i8042_create_rejects_null_out),
		cmocka_unit_test(test_i8042_create_reports_enomem),
		cmocka_unit_test(test_i8042_destroy_null_is_noop),
		cmocka_unit_test(test_i8042_reset_without_callback_is_harmless),
		T(test_i8042_status_is_idle_with_system_flag),
		T(test_i8042_claims_only_ports_0x60_and_0x64),
		T(test_i8042_pulse_reset_calls_reset),
		T(test_i8042_linux_reboot_sequence_resets),
		T(test_i8042_pulses_without_reset_bit_do_not_reset),
		T(test_i8042_self_test_replies_0x55),
		T(test_i8042_data_read_without_reply_repeats_last),
		T(test_i8042_reads_default_command_byte),
		T(test_i8042_writes_command_byte),
		T(test_i8042_system_flag_follows_command_byte),
		T(test_i8042_status_bit3_tracks_last_port_written),
		T(test_i8042_keyboard_disable_and_enable),
		T(test_i8042_aux_disable_and_enable),
		T(test_i8042_output_port_reads_back),
		T(test_i8042_output_port_reset_bit_low_resets),
		T(test_i8042_unknown_commands_are_harmless),
		T(test_i8042_keyboard_bytes_go_nowhere),
		T(test_i8042_new_command_replaces_waiting_one),
		T(test_i8042_ignores_accesses_past_its_port),
			T(test_i8042_restore_keeps_a_command_waiting_for_data),
		T(test_i8042_restore_keeps_a_waiting_reply),
		T(test_i8042_restore_refuses_an_unknown_pending_command),
		T(test_i8042_restore_refuses_truncated_state),
};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
