/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what the libFuzzer targets share: a reader that takes numbers
 * and byte strings off the front of an input (zeroes once it runs out, so
 * every input is a valid program), and a small non-blocking pipe for
 * device output that fills up quickly and can be drained on demand.
 */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../minivmm/devices/device.h"
#include "../../minivmm/state.h"

/* The pipe's capacity: one page, so that output blocks after a few
 * chains and the blocked paths run as often as the others. */
#define FUZZ_PIPE_SIZE 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

/* Up to max bytes from the front; *len receives how many there were. */
static inline const uint8_t *fuzz_take(struct fuzz_in *in, size_t max,
				       size_t *len)
{
	const uint8_t *p = in->p;

	*len = max < in->n ? max : in->n;
	in->p += *len;
	in->n -= *len;
	return p;
}

/* A little-endian number of n bytes (n <= 8); missing bytes read 0. */
static inline uint64_t fuzz_num(struct fuzz_in *in, size_t n)
{
	uint64_t v = 0;
	size_t len, i;
	const uint8_t *p = fuzz_take(in, n, &len);

	for (i = 0; i < len; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in)
{
	return (uint8_t)fuzz_num(in, 1);
}

static inline uint16_t fuzz_u16(struct fuzz_in *in)
{
	return (uint16_t)fuzz_num(in, 2);
}

static inline uint32_t fuzz_u32(struct fuzz_in *in)
{
	return (uint32_t)fuzz_num(in, 4);
}

static inline uint64_t fuzz_u64(struct fuzz_in *in)
{
	return fuzz_num(in, 8);
}

/* An access size the bus passes on: 1, 2, 4 or 8. */
static inline unsigned fuzz_access_len(struct fuzz_in *in)
{
	return 1u << (fuzz_u8(in) & 3);
}

/* A non-blocking pipe of FUZZ_PIPE_SIZE bytes. Return: 0 or -1. */
static inline int fuzz_pipe(int fds[2])
{
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC))
		return -1;
	/* A smaller pipe only makes blocking likelier; failure is fine. */
	(void)fcntl(fds[1], F_SETPIPE_SZ, FUZZ_PIPE_SIZE);
	return 0;
}

/* Read what the device wrote, so that it can write again. */
static inline void fuzz_drain(int fd)
{
	char buf[FUZZ_PIPE_SIZE];
	unsigned i;

	/* Bounded: the pipe holds at most a few pages. */
	for (i = 0; i < 64 && read(fd, buf, sizeof(buf)) > 0; i++)
		;
}

/*
 * Save a device and restore what was saved, the machine's path through a
 * snapshot, on whatever state the input reached. Saving a live device
 * must work; so must restoring its own fresh state when exact is set
 * (a virtio device's restore also looks at guest memory, which the input
 * may have made inconsistent, so it may refuse).
 */
static inline void fuzz_save_restore(const struct device_ops *ops, void *dev,
				     bool exact)
{
	struct state_buf b;
	struct state_rd r;
	int rc;

	state_buf_init(&b);
	if (ops->save(dev, &b))
		abort();
	state_rd_init(&r, b.data, b.len);
	rc = ops->restore(dev, &r);
	if (exact && rc)
		abort();
	state_buf_fini(&b);
}

#endif /* TESTS_FUZZ_FUZZ_H */
