/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the split virtqueue on arbitrary guest memory.
 *
 * The input is the queue's configuration (size, ring addresses, event
 * index) and the initial contents of 64 KiB of guest memory. The device
 * side pops until the queue reports empty or broken, checking what every
 * popped chain promises: at most `size` buffers, each wholly inside guest
 * memory, readable ones before writable ones, lengths adding up. It never
 * crashes, never loops, and stops on the first -EBADMSG.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vmmem/vmmem.h>

#include "../../minivmm/virtio/queue.h"

#define MEM_SIZE 0x10000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_chain chain;
	struct vmmem_range range = { 0, MEM_SIZE };
	struct virtq q = { 0 };
	struct vmmem *mem;
	unsigned i, rounds;
	uint64_t hdr[4] = { 0 };

	if (size < sizeof(hdr))
		return 0;
	memcpy(hdr, data, sizeof(hdr));
	data += sizeof(hdr);
	size -= sizeof(hdr);
	if (vmmem_create_anon(&range, 1, 0, &mem))
		abort();
	if (vmmem_write(mem, 0, data, size < MEM_SIZE ? size : MEM_SIZE))
		abort();

	/* Mostly plausible placements, sometimes anything at all. */
	q.size = (uint16_t)(hdr[0] & 0x1ff);
	q.desc = hdr[0] & (1u << 16) ? hdr[1] : hdr[1] % MEM_SIZE;
	q.avail = hdr[0] & (1u << 17) ? hdr[2] : hdr[2] % MEM_SIZE;
	q.used = hdr[0] & (1u << 18) ? hdr[3] : hdr[3] % MEM_SIZE;
	q.ready = true;
	if (virtq_validate(&q, mem, VIRTQ_MAX_SIZE) == 0) {
		virtq_start(&q, mem, hdr[0] & (1u << 19));
		/* At most two queues' worth: each pop either consumes one of
		 * at most `size` entries or fails. */
		for (rounds = 0; rounds < 2u * q.size + 2; rounds++) {
			uint64_t readable = 0, writable = 0;
			int rc = virtq_pop(&q, &chain);

			if (rc <= 0)
				break;
			if (chain.n == 0 || chain.n > q.size ||
			    chain.head >= q.size)
				abort();
			for (i = 0; i < chain.n; i++) {
				const struct virtq_buf *b = &chain.buf[i];

				if (vmmem_check_range(mem, b->gpa, b->len))
					abort();
				if (i && chain.buf[i - 1].write && !b->write)
					abort();
				if (b->write)
					writable += b->len;
				else
					readable += b->len;
			}
			if (readable != chain.readable ||
			    writable != chain.writable)
				abort();
			if (virtq_push(&q, chain.head,
				       chain.writable ? 1 : 0) < 0)
				break;
			virtq_should_signal(&q);
		}
	}
	vmmem_destroy(mem);
	return 0;
}
