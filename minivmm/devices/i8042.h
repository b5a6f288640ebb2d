/* SPDX-License-Identifier: MIT */
/*
 * i8042.h - the PC keyboard controller, only as far as a guest needs it to
 * reboot: Linux with reboot=k pulses the CPU reset line through command
 * 0xfe on port 0x64. There is no keyboard, no mouse and no interrupt.
 *
 * Two one-port bus ranges: the data port (0x60, i8042_data_bus_ops) and
 * the status/command port (0x64, i8042_cmd_bus_ops); port 0x61 between
 * them belongs to someone else. Both take the struct i8042 as opaque.
 *
 * Status (read 0x64): output buffer full (bit 0) while a reply waits on
 * port 0x60, input buffer full (bit 1) never, the system flag (bit 2) from
 * the command byte, bit 3 when the last write went to port 0x64, and bit 4
 * (keyboard not inhibited). Idle, with the default command byte, it reads
 * 0x14 after a data write and 0x1c after a command.
 *
 * Commands (write 0x64):
 *   0x20       read the command byte (reply on 0x60)
 *   0x60       write the command byte (the next byte written to 0x60)
 *   0xa7/0xa8  disable/enable the auxiliary port (command byte bit 5)
 *   0xaa       self test: reply 0x55
 *   0xad/0xae  disable/enable the keyboard (command byte bit 4)
 *   0xd0       read the output port (reply on 0x60)
 *   0xd1       write the output port (the next byte written to 0x60); a
 *              value with bit 0 clear holds the CPU in reset: reset
 *   0xf0-0xff  pulse output lines for each clear bit of the low nibble;
 *              bit 0 clear (0xfe, among others) pulses reset: reset
 * Anything else is ignored, as is a data byte no command waits for (it
 * would go to the keyboard). A command replaces one still waiting for its
 * data byte. Reading 0x60 with no reply waiting returns the last byte
 * read.
 *
 * Linux probes the controller at boot unless told otherwise; commands it
 * tries for the auxiliary port then time out (about 0.5 s each). Pass
 * "i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd" on the kernel
 * command line, or "i8042.nokbd i8042.noaux", to skip that.
 *
 * Threads: each access takes the device's lock, so several vCPUs may use
 * it. The reset callback runs after the lock is released, on the vCPU
 * thread that wrote the command; Linux sends 0xfe up to ten times, so it
 * may run more than once and should only request the stop.
 */
#ifndef MINIVMM_I8042_H
#define MINIVMM_I8042_H

#include <stdint.h>

struct bus_ops;
struct device_ops;
struct i8042;

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64

/* Status register bits. */
#define I8042_STR_OBF 0x01 /* a reply waits on the data port */
#define I8042_STR_IBF 0x02 /* the controller is busy: never */
#define I8042_STR_SYSFLAG 0x04
#define I8042_STR_CMDDAT 0x08  /* last write was to the command port */
#define I8042_STR_KEYLOCK 0x10 /* keyboard not inhibited */

/* Command byte bits. */
#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_AUXINT 0x02
#define I8042_CTR_SYSFLAG 0x04
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define I8042_CTR_XLATE 0x40

/* The command byte after power-on: translation, system flag, keyboard
 * interrupt, as a BIOS leaves it. */
#define I8042_CTR_DEFAULT                                                      \
	(I8042_CTR_XLATE | I8042_CTR_SYSFLAG | I8042_CTR_KBDINT)

/* The machine's view (devices/device.h), opaque the struct i8042: the
 * command byte, output port, a command waiting for its data byte, and a
 * reply waiting to be read. */
extern const struct device_ops i8042_device_ops;

/* Register accesses; opaque is the struct i8042, one port each. */
extern const struct bus_ops i8042_data_bus_ops;
extern const struct bus_ops i8042_cmd_bus_ops;

/*
 * Create a controller.
 * @reset: called when the guest pulses the reset line; NULL to ignore
 *         reset requests.
 * @opaque: passed to reset.
 * @out: receives the controller.
 * Return: 0, -EINVAL (out NULL), -ENOMEM, or the error of
 * pthread_mutex_init().
 */
int i8042_create(void (*reset)(void *opaque), void *opaque, struct i8042 **out);

/* Free the controller. NULL: no-op. */
void i8042_destroy(struct i8042 *k);

#endif /* MINIVMM_I8042_H */
