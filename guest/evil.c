/* SPDX-License-Identifier: MIT */
/*
 * evil.c - hostile drivers. Each program sets the console up (correctly
 * for the ring patterns, with one bad queue address for the setup
 * patterns), breaks exactly one rule, and gives the device about two
 * seconds to set DEVICE_NEEDS_RESET in Status. Then it resets the device,
 * sets it up correctly and says on the console whether the error was
 * reported. Nothing is printed before the reset.
 */
#include "console.h"
#include "evil.h"
#include "lib.h"

enum evil_id {
	DESC_OUTSIDE_RAM,
	LEN_PAST_RAM,
	ADDR_WRAP,
	CHAIN_LOOP,
	CHAIN_TOO_LONG,
	NEXT_OUT_OF_RANGE,
	INDIRECT,
	AVAIL_JUMP,
	RO_RX_BUFFER,
	QUEUE_IN_MMIO_HOLE,
	MISALIGNED_RING,
	EVIL_COUNT,
};

static const char *const evil_names[EVIL_COUNT] = {
	[DESC_OUTSIDE_RAM] = "desc-outside-ram",
	[LEN_PAST_RAM] = "len-past-ram",
	[ADDR_WRAP] = "addr-wrap",
	[CHAIN_LOOP] = "chain-loop",
	[CHAIN_TOO_LONG] = "chain-too-long",
	[NEXT_OUT_OF_RANGE] = "next-out-of-range",
	[INDIRECT] = "indirect",
	[AVAIL_JUMP] = "avail-jump",
	[RO_RX_BUFFER] = "ro-rx-buffer",
	[QUEUE_IN_MMIO_HOLE] = "queue-in-mmio-hole",
	[MISALIGNED_RING] = "misaligned-ring",
};

const char evil_kinds[] = "desc-outside-ram len-past-ram addr-wrap "
			  "chain-loop chain-too-long next-out-of-range "
			  "indirect avail-jump ro-rx-buffer "
			  "queue-in-mmio-hole misaligned-ring";

/* Where queue-in-mmio-hole puts the descriptor table: no RAM there. */
#define MMIO_HOLE_GPA 0xd0000000ull
#define MMIO_HOLE_START 0xc0000000ull
#define NEEDS_RESET_WAIT_MS 2000

/* What a device that accepts a bad chain would print. */
static const char marker[] = "evil: the device used a malformed chain\n";
#define MARKER_LEN ((uint32_t)sizeof(marker) - 1)

static int lookup(const char *kind, size_t len)
{
	int i;

	for (i = 0; i < EVIL_COUNT; i++) {
		if (str_eq(kind, len, evil_names[i]))
			return i;
	}
	return -1;
}

bool evil_known(const char *kind, size_t len)
{
	return lookup(kind, len) >= 0;
}

static void set_desc(struct vq *vq, uint16_t i, uint64_t gpa, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	struct vring_desc *d = vq_desc(vq, i);

	d->addr = gpa;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* Make head available and notify, whatever used->flags says. */
static void submit(struct vq *vq, uint16_t head)
{
	vq_add(vq, head);
	vq_publish(vq);
	vq_notify(vq);
}

/*
 * A guest-physical address with no RAM and no device: 1 MiB past the end
 * of RAM, or past 4 GiB when that would land in the MMIO hole.
 */
static uint64_t beyond_ram(uint64_t ram_end)
{
	if (ram_end + 0x100000 < MMIO_HOLE_START)
		return ram_end + 0x100000;
	if (ram_end < 0x100000000ull)
		ram_end = 0x100000000ull;
	return ram_end + 0x100000;
}

/* The ring patterns: one bad chain or index on a live device. */
static void break_ring(struct con *c, enum evil_id id, uint64_t ram_end)
{
	uint64_t text = (uintptr_t)marker;
	struct vring_desc *table;
	struct vq *tx = &c->tx;
	uint16_t n = tx->size;
	uint16_t i;

	switch (id) {
	case DESC_OUTSIDE_RAM:
		set_desc(tx, 0, beyond_ram(ram_end), 64, 0, 0);
		submit(tx, 0);
		break;
	case LEN_PAST_RAM:
		/* The last 16 bytes of RAM, and 4080 more that are not. */
		set_desc(tx, 0, ram_end - 16, 4096, 0, 0);
		submit(tx, 0);
		break;
	case ADDR_WRAP:
		set_desc(tx, 0, 0xfffffffffffff000ull, 0x2000, 0, 0);
		submit(tx, 0);
		break;
	case CHAIN_LOOP:
		set_desc(tx, 0, text, MARKER_LEN, VRING_DESC_F_NEXT, 1);
		set_desc(tx, 1, text, MARKER_LEN, VRING_DESC_F_NEXT, 0);
		submit(tx, 0);
		break;
	case CHAIN_TOO_LONG:
		/* Every descriptor once, then back to the head: n + 1 hops. */
		for (i = 0; i < n; i++)
			set_desc(tx, i, text, MARKER_LEN, VRING_DESC_F_NEXT,
				 (uint16_t)((i + 1) % n));
		submit(tx, 0);
		break;
	case NEXT_OUT_OF_RANGE:
		set_desc(tx, 0, text, MARKER_LEN, VRING_DESC_F_NEXT, n);
		submit(tx, 0);
		break;
	case INDIRECT:
		/* A well-formed table: only the feature was never agreed. */
		table = (struct vring_desc *)c->tx_buf[0];
		table[0].addr = text;
		table[0].len = MARKER_LEN;
		table[0].flags = 0;
		table[0].next = 0;
		set_desc(tx, 0, (uintptr_t)table, sizeof(*table),
			 VRING_DESC_F_INDIRECT, 0);
		submit(tx, 0);
		break;
	case AVAIL_JUMP:
		/* Valid entries everywhere, but an index n + 1 ahead. */
		set_desc(tx, 0, text, MARKER_LEN, 0, 0);
		for (i = 0; i < n; i++)
			vq_add(tx, 0);
		vq_publish_idx(tx, (uint16_t)(n + 1));
		vq_notify(tx);
		break;
	case RO_RX_BUFFER:
		set_desc(&c->rx, 0, (uintptr_t)c->rx_buf[0], CON_RX_BUF_SIZE, 0,
			 0);
		submit(&c->rx, 0);
		break;
	default:
		break;
	}
}

/* Poll Status for DEVICE_NEEDS_RESET, about once a millisecond. */
static bool wait_needs_reset(struct con *c, uint64_t ms)
{
	uint64_t deadline = tsc_deadline(ms);
	uint64_t next;

	for (;;) {
		if (con_status(c) & VIRTIO_STATUS_NEEDS_RESET)
			return true;
		if (rdtsc() > deadline)
			return false;
		next = tsc_deadline(1);
		while (rdtsc() < next)
			cpu_relax();
	}
}

/* Set the console up correctly, or say why not where we still can. */
static int recover(struct con *c, uintptr_t base)
{
	int ret = con_setup(c, base, NULL);

	if (ret) {
		con_emerg_puts(base, "guest: console setup failed after "
				     "reset\n");
		con_reset(c);
	}
	return ret;
}

int evil_run(struct con *c, uintptr_t base, const char *kind, size_t len,
	     uint64_t ram_end)
{
	struct con_quirks quirks = { 0 };
	struct vq_gpas bad;
	bool reported;
	int id = lookup(kind, len);
	int ret;

	if (id < 0)
		return 1;
	if ((id == DESC_OUTSIDE_RAM || id == LEN_PAST_RAM) && !ram_end) {
		if (recover(c, base))
			return 1;
		con_printf(c, "evil %s: no memory map to find the end of RAM\n",
			   evil_names[id]);
		return 1;
	}

	bad.desc = (uintptr_t)c->tx_mem.desc;
	bad.avail = (uintptr_t)&c->tx_mem.avail;
	bad.used = (uintptr_t)&c->tx_mem.used;
	if (id == QUEUE_IN_MMIO_HOLE) {
		bad.desc = MMIO_HOLE_GPA;
		quirks.tx_gpas = &bad;
	} else if (id == MISALIGNED_RING) {
		bad.used += 2;
		quirks.tx_gpas = &bad;
	} else if (id == RO_RX_BUFFER) {
		/* The read-only buffer must be the first one seen. */
		quirks.no_rx = true;
	}

	ret = con_setup(c, base, &quirks);
	if (ret && ret != -EIO) {
		con_emerg_puts(base, "guest: console setup failed\n");
		con_reset(c);
		return 1;
	}
	if (!ret && !quirks.tx_gpas)
		break_ring(c, (enum evil_id)id, ram_end);
	reported = wait_needs_reset(c, NEEDS_RESET_WAIT_MS);

	con_reset(c);
	if (recover(c, base))
		return 1;
	if (reported) {
		con_printf(c,
			   "evil %s: device reported DEVICE_NEEDS_RESET; "
			   "recovered\n",
			   evil_names[id]);
		return 0;
	}
	con_printf(c, "evil %s: device did not report an error\n",
		   evil_names[id]);
	return 1;
}
