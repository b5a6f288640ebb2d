/* SPDX-License-Identifier: MIT */
/*
 * virtio.c - virtio-mmio registers and the driver side of the split
 * virtqueue. The guest polls used rings (it runs with interrupts off), so
 * there is no interrupt handling here.
 */
#include "lib.h"
#include "virtio.h"

bool vmmio_probe(uintptr_t base, uint32_t *version, uint32_t *device_id)
{
	if (vmmio_read(base, VMMIO_MAGIC) != VIRTIO_MMIO_MAGIC)
		return false;
	*version = vmmio_read(base, VMMIO_VERSION);
	*device_id = vmmio_read(base, VMMIO_DEVICE_ID);
	return true;
}

int vmmio_reset(uintptr_t base)
{
	uint64_t deadline;

	vmmio_write(base, VMMIO_STATUS, 0);
	/* The reset is complete when Status reads back 0. */
	deadline = tsc_deadline(1000);
	while (vmmio_read(base, VMMIO_STATUS) != 0) {
		if (rdtsc() > deadline)
			return -ETIMEDOUT;
		cpu_relax();
	}
	return 0;
}

uint64_t vmmio_device_features(uintptr_t base)
{
	uint64_t lo, hi;

	vmmio_write(base, VMMIO_DEVICE_FEATURES_SEL, 0);
	lo = vmmio_read(base, VMMIO_DEVICE_FEATURES);
	vmmio_write(base, VMMIO_DEVICE_FEATURES_SEL, 1);
	hi = vmmio_read(base, VMMIO_DEVICE_FEATURES);
	return hi << 32 | lo;
}

void vmmio_set_driver_features(uintptr_t base, uint64_t features)
{
	vmmio_write(base, VMMIO_DRIVER_FEATURES_SEL, 0);
	vmmio_write(base, VMMIO_DRIVER_FEATURES, (uint32_t)features);
	vmmio_write(base, VMMIO_DRIVER_FEATURES_SEL, 1);
	vmmio_write(base, VMMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
}

uint16_t vmmio_queue_size(uintptr_t base, uint16_t index)
{
	uint32_t max, size;

	vmmio_write(base, VMMIO_QUEUE_SEL, index);
	if (vmmio_read(base, VMMIO_QUEUE_READY) != 0)
		return 0;
	max = vmmio_read(base, VMMIO_QUEUE_SIZE_MAX);
	if (max == 0)
		return 0;
	/* Split rings have power-of-two sizes. */
	for (size = VQ_MAX_SIZE; size > max; size >>= 1)
		;
	return (uint16_t)size;
}

static void write_gpa(uintptr_t base, unsigned off_low, uint64_t gpa)
{
	vmmio_write(base, off_low, (uint32_t)gpa);
	vmmio_write(base, off_low + 4, (uint32_t)(gpa >> 32));
}

void vq_setup(struct vq *vq, uintptr_t base, uint16_t index, uint16_t size,
	      struct vq_mem *mem, const struct vq_gpas *gpas)
{
	struct vq_gpas own = {
		.desc = (uintptr_t)mem->desc,
		.avail = (uintptr_t)&mem->avail,
		.used = (uintptr_t)&mem->used,
	};

	memset(mem, 0, sizeof(*mem));
	/* Used buffers are found by polling: spare the device interrupts. */
	mem->avail.flags = VRING_AVAIL_F_NO_INTERRUPT;
	vq->base = base;
	vq->index = index;
	vq->size = size;
	vq->mem = mem;
	vq->avail_idx = 0;
	vq->last_used = 0;
	if (!gpas)
		gpas = &own;

	vmmio_write(base, VMMIO_QUEUE_SEL, index);
	vmmio_write(base, VMMIO_QUEUE_SIZE, size);
	write_gpa(base, VMMIO_QUEUE_DESC_LOW, gpas->desc);
	write_gpa(base, VMMIO_QUEUE_DRIVER_LOW, gpas->avail);
	write_gpa(base, VMMIO_QUEUE_DEVICE_LOW, gpas->used);
	vmmio_write(base, VMMIO_QUEUE_READY, 1);
}

void vq_add(struct vq *vq, uint16_t head)
{
	vq->mem->avail.ring[vq->avail_idx & (vq->size - 1)] = head;
	vq->avail_idx++;
}

void vq_publish(struct vq *vq)
{
	vq_publish_idx(vq, vq->avail_idx);
}

void vq_publish_idx(struct vq *vq, uint16_t idx)
{
	/*
	 * Release: the descriptors and avail ring entries written before
	 * are visible to the device before the index that hands them over.
	 */
	__atomic_store_n(&vq->mem->avail.idx, idx, __ATOMIC_RELEASE);
}

void vq_kick(struct vq *vq)
{
	/*
	 * Full barrier: the avail->idx store must be visible before we read
	 * used->flags, or the device could set NO_NOTIFY, miss the new
	 * index, and wait for a notification we decided not to send.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&vq->mem->used.flags, __ATOMIC_RELAXED) &
	    VRING_USED_F_NO_NOTIFY)
		return;
	vq_notify(vq);
}

void vq_notify(struct vq *vq)
{
	vmmio_write(vq->base, VMMIO_QUEUE_NOTIFY, vq->index);
}

bool vq_has_used(struct vq *vq)
{
	return __atomic_load_n(&vq->mem->used.idx, __ATOMIC_ACQUIRE) !=
	       vq->last_used;
}

bool vq_get_used(struct vq *vq, uint32_t *id, uint32_t *len)
{
	struct vring_used_elem *e;

	/*
	 * Acquire: the element (and the data written into our buffers) is
	 * read only after the index that says it is there.
	 */
	if (__atomic_load_n(&vq->mem->used.idx, __ATOMIC_ACQUIRE) ==
	    vq->last_used)
		return false;
	e = &vq->mem->used.ring[vq->last_used & (vq->size - 1)];
	*id = e->id;
	*len = e->len;
	vq->last_used++;
	return true;
}
