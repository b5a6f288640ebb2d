/* SPDX-License-Identifier: MIT */
/*
 * i8042.c - a keyboard controller without a keyboard: enough of the
 * command set for Linux's probe and the reset line for reboot=k.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "../bus.h"
#include "../state.h"
#include "device.h"
#include "i8042.h"

#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_OUTP 0xd0
#define CMD_WRITE_OUTP 0xd1
#define CMD_PULSE 0xf0 /* 0xf0-0xff: pulse the lines of clear bits 3:0 */

#define SELF_TEST_OK 0x55

/* Output port: bit 0 is the CPU reset line (active low), bit 1 A20. */
#define OUTP_RESET 0x01
#define OUTP_A20 0x02
#define OUTP_DEFAULT (OUTP_RESET | OUTP_A20)

struct i8042 {
	pthread_mutex_t lock;
	void (*reset)(void *opaque);
	void *opaque;

	uint8_t ctr;	 /* command byte */
	uint8_t outp;	 /* output port */
	uint8_t pending; /* command waiting for its data byte, or 0 */
	uint8_t obuf;	 /* reply, valid while obf */
	bool obf;
	bool last_cmd; /* last write went to the command port */
};

static void reply(struct i8042 *k, uint8_t byte)
{
	k->obuf = byte;
	k->obf = true;
}

/* Return: whether the guest asked for a reset. */
static bool command(struct i8042 *k, uint8_t cmd)
{
	k->pending = 0;
	switch (cmd) {
	case CMD_READ_CTR:
		reply(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
		k->pending = cmd;
		break;
	case CMD_AUX_DISABLE:
		k->ctr |= I8042_CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		k->ctr &= ~I8042_CTR_AUXDIS;
		break;
	case CMD_SELF_TEST:
		reply(k, SELF_TEST_OK);
		break;
	case CMD_KBD_DISABLE:
		k->ctr |= I8042_CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		k->ctr &= ~I8042_CTR_KBDDIS;
		break;
	case CMD_READ_OUTP:
		reply(k, k->outp);
		break;
	default:
		/* Pulse commands pulse each line whose bit is clear. */
		if ((cmd & 0xf0) == CMD_PULSE && !(cmd & OUTP_RESET))
			return true;
		break;
	}
	return false;
}

/* A byte written to the data port. Return: whether to reset. */
static bool data(struct i8042 *k, uint8_t byte)
{
	uint8_t cmd = k->pending;

	k->pending = 0;
	switch (cmd) {
	case CMD_WRITE_CTR:
		k->ctr = byte;
		break;
	case CMD_WRITE_OUTP:
		k->outp = byte;
		/* Bit 0 low holds the CPU in reset. */
		return !(byte & OUTP_RESET);
	default:
		/* Meant for the keyboard, which is not there. */
		break;
	}
	return false;
}

static uint8_t status(const struct i8042 *k)
{
	uint8_t st = I8042_STR_KEYLOCK;

	if (k->obf)
		st |= I8042_STR_OBF;
	if (k->ctr & I8042_CTR_SYSFLAG)
		st |= I8042_STR_SYSFLAG;
	if (k->last_cmd)
		st |= I8042_STR_CMDDAT;
	return st;
}

/* The ranges are one port long, so the bus only passes off 0, len 1. */
static void data_read(void *opaque, uint64_t off, void *buf, unsigned len)
{
	struct i8042 *k = opaque;

	if (off || !len)
		return;
	pthread_mutex_lock(&k->lock);
	k->obf = false;
	*(uint8_t *)buf = k->obuf;
	pthread_mutex_unlock(&k->lock);
}

static void data_write(void *opaque, uint64_t off, const void *buf,
		       unsigned len)
{
	struct i8042 *k = opaque;
	bool reset;

	if (off || !len)
		return;
	pthread_mutex_lock(&k->lock);
	k->last_cmd = false;
	reset = data(k, *(const uint8_t *)buf);
	pthread_mutex_unlock(&k->lock);
	if (reset && k->reset)
		k->reset(k->opaque);
}

static void cmd_read(void *opaque, uint64_t off, void *buf, unsigned len)
{
	struct i8042 *k = opaque;

	if (off || !len)
		return;
	pthread_mutex_lock(&k->lock);
	*(uint8_t *)buf = status(k);
	pthread_mutex_unlock(&k->lock);
}

static void cmd_write(void *opaque, uint64_t off, const void *buf, unsigned len)
{
	struct i8042 *k = opaque;
	bool reset;

	if (off || !len)
		return;
	pthread_mutex_lock(&k->lock);
	k->last_cmd = true;
	reset = command(k, *(const uint8_t *)buf);
	pthread_mutex_unlock(&k->lock);
	if (reset && k->reset)
		k->reset(k->opaque);
}

const struct bus_ops i8042_data_bus_ops = {
	.read = data_read,
	.write = data_write,
};

const struct bus_ops i8042_cmd_bus_ops = {
	.read = cmd_read,
	.write = cmd_write,
};

int i8042_create(void (*reset)(void *opaque), void *opaque, struct i8042 **out)
{
	struct i8042 *k;
	int ret = 0;

	if (!out)
		return -EINVAL;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	ret = -pthread_mutex_init(&k->lock, NULL);
	if (ret)
		goto err_free;
	k->reset = reset;
	k->opaque = opaque;
	k->ctr = I8042_CTR_DEFAULT;
	k->outp = OUTP_DEFAULT;
	*out = k;
	return 0;

err_free:
	free(k);
	return ret;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}

/* The machine's view (devices/device.h). */

static void dev_reset(void *opaque)
{
	struct i8042 *k = opaque;

	pthread_mutex_lock(&k->lock);
	k->ctr = I8042_CTR_DEFAULT;
	k->outp = OUTP_DEFAULT;
	k->pending = 0;
	k->obuf = 0;
	k->obf = false;
	k->last_cmd = false;
	pthread_mutex_unlock(&k->lock);
}

static int dev_save(void *opaque, struct state_buf *b)
{
	struct i8042 *k = opaque;

	pthread_mutex_lock(&k->lock);
	state_put_u8(b, k->ctr);
	state_put_u8(b, k->outp);
	state_put_u8(b, k->pending);
	state_put_u8(b, k->obuf);
	state_put_u8(b, k->obf);
	state_put_u8(b, k->last_cmd);
	pthread_mutex_unlock(&k->lock);
	return b->err;
}

static int dev_restore(void *opaque, struct state_rd *r)
{
	struct i8042 *k = opaque;
	uint8_t pending;
	int rc;

	pthread_mutex_lock(&k->lock);
	k->ctr = state_get_u8(r);
	k->outp = state_get_u8(r);
	pending = state_get_u8(r);
	/* Only the two commands that wait for a data byte can be pending. */
	k->pending = pending == CMD_WRITE_CTR || pending == CMD_WRITE_OUTP ?
			     pending : 0;
	k->obuf = state_get_u8(r);
	k->obf = state_get_u8(r) != 0;
	k->last_cmd = state_get_u8(r) != 0;
	rc = pending != k->pending ? -EBADMSG : state_rd_end(r);
	pthread_mutex_unlock(&k->lock);
	if (rc)
		dev_reset(k);
	return rc;
}

const struct device_ops i8042_device_ops = {
	.reset = dev_reset,
	.save = dev_save,
	.restore = dev_restore,
};
