/* SPDX-License-Identifier: MIT */
/* vm.c - the KVM virtual machine, its memory slots and its saved state. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <vmmem/dirty.h>
#include <vmmem/memory.h>
#include <vmmem/region.h>

#include "state.h"
#include "util.h"
#include "vm.h"

/* Where KVM may put the TSS it needs for real-mode emulation on Intel:
 * three pages just below the BIOS area, inside the MMIO hole. */
#define TSS_ADDR 0xfffbd000ull

/* More MSRs than any KVM lists: a bound for a size KVM reports. */
#define MSR_INDEX_MAX 4096u

/* CPUID entries asked for at first: enough for every CPU seen so far. */
#define CPUID_NENT_FIRST 256u
/* A bound for the retries with a larger buffer (KVM says E2BIG). */
#define CPUID_NENT_MAX 4096u

/*
 * The early KVM_GET_SUPPORTED_CPUID: the thread writes only here, and
 * only the thread that joins it reads it.
 */
struct vm_cpuid_job {
	int kvm_fd;
	int err;			/* 0 or -errno of the ioctl */
	struct kvm_cpuid2 *cpuid;	/* CPUID_NENT_FIRST entries */
};

static void *cpuid_thread(void *arg)
{
	struct vm_cpuid_job *job = arg;

	if (ioctl(job->kvm_fd, KVM_GET_SUPPORTED_CPUID, job->cpuid) < 0)
		job->err = -errno;
	return NULL;
}

/* Ask for the CPUID on a thread; without memory or a thread, it is asked
 * later, when a vCPU needs it. */
static void start_cpuid(struct vm *vm)
{
	struct vm_cpuid_job *job;

	job = calloc(1, sizeof(*job));
	if (!job)
		return;
	job->cpuid = calloc(1, sizeof(*job->cpuid) + CPUID_NENT_FIRST *
					   sizeof(job->cpuid->entries[0]));
	if (!job->cpuid)
		goto err;
	job->kvm_fd = vm->kvm_fd;
	job->cpuid->nent = CPUID_NENT_FIRST;
	if (pthread_create(&vm->cpuid_thread, NULL, cpuid_thread, job))
		goto err;
	vm->cpuid_job = job;
	return;

err:
	free(job->cpuid);
	free(job);
}

/* Join the thread, if there is one; keep its answer if it has one. */
static void finish_cpuid(struct vm *vm)
{
	struct vm_cpuid_job *job = vm->cpuid_job;

	if (!job)
		return;
	pthread_join(vm->cpuid_thread, NULL);
	vm->cpuid_job = NULL;
	if (job->err)
		free(job->cpuid);	/* E2BIG or worse: asked again */
	else
		vm->cpuid = job->cpuid;
	free(job);
}

/* The CPUID, asked or being asked, gone. */
static void drop_cpuid(struct vm *vm)
{
	finish_cpuid(vm);
	free(vm->cpuid);
	vm->cpuid = NULL;
}

int vm_supported_cpuid(struct vm *vm, const struct kvm_cpuid2 **out)
{
	struct kvm_cpuid2 *cpuid = NULL;
	unsigned nent = CPUID_NENT_FIRST;

	finish_cpuid(vm);
	/* Asked here when the thread could not answer: KVM says E2BIG until
	 * the buffer is large enough. */
	while (!vm->cpuid) {
		free(cpuid);
		cpuid = calloc(1, sizeof(*cpuid) +
					  nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return -ENOMEM;
		cpuid->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0) {
			vm->cpuid = cpuid;
			break;
		}
		if (errno != E2BIG || nent >= CPUID_NENT_MAX) {
			int ret = -errno;

			pr_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
			free(cpuid);
			return ret;
		}
		nent *= 2;
	}
	*out = vm->cpuid;
	return 0;
}

/*
 * KVM_GET_MSR_INDEX_LIST: the MSRs KVM keeps per vCPU that a VMM must save
 * (msrs_to_save and emulated_msrs in KVM). With nmsrs too small KVM fails
 * with E2BIG and writes the count it needs, so the first call asks with 0.
 */
static int get_msr_index(struct vm *vm)
{
	struct kvm_msr_list head = { .nmsrs = 0 }, *list = NULL;
	int ret = 0;

	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &head) == 0)
		return 0;	/* no MSRs at all */
	if (errno != E2BIG)
		return -errno;
	for (;;) {
		unsigned n = head.nmsrs;

		if (n == 0 || n > MSR_INDEX_MAX)
			return -EINVAL;
		list = malloc(sizeof(*list) + n * sizeof(list->indices[0]));
		if (!list)
			return -ENOMEM;
		list->nmsrs = n;
		if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) == 0)
			break;
		ret = -errno;
		/* The list grew between the calls (it does not, today). */
		head.nmsrs = list->nmsrs;
		free(list);
		if (ret != -E2BIG)
			return ret;
	}
	vm->msr_index = malloc(list->nmsrs * sizeof(vm->msr_index[0]));
	if (!vm->msr_index) {
		free(list);
		return -ENOMEM;
	}
	memcpy(vm->msr_index, list->indices,
	       list->nmsrs * sizeof(vm->msr_index[0]));
	vm->nmsr_index = list->nmsrs;
	free(list);
	return 0;
}

int vm_init(struct vm *vm)
{
	int ret, version;

	memset(vm, 0, sizeof(*vm));
	vm->vm_fd = -1;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			pr_err("/dev/kvm does not exist: KVM is not available "
			       "on this host (is the kvm module loaded?)");
		else if (ret == -EACCES || ret == -EPERM)
			pr_err("no permission to open /dev/kvm (add the user "
			       "to the kvm group, or run as root)");
		else
			pr_err("cannot open /dev/kvm: %s", strerror(-ret));
		return ret;
	}
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		pr_err("unsupported KVM API version %d (need %d)", version,
		       KVM_API_VERSION);
		ret = -ENOTSUP;
		goto err_close_kvm;
	}
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0) {
		ret = -errno;
		pr_err("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		goto err_close_kvm;
	}
	start_cpuid(vm);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ret = -errno;
		pr_err("KVM_CREATE_VM: %s", strerror(errno));
		goto err_close_kvm;
	}
	/* Only Intel hosts need it; elsewhere it may fail harmlessly. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR) < 0)
		pr_debug("KVM_SET_TSS_ADDR: %s (ignored)", strerror(errno));
	/* Only snapshots need the list: a VM without it still runs. */
	ret = get_msr_index(vm);
	if (ret)
		pr_debug("KVM_GET_MSR_INDEX_LIST: %s (vCPUs cannot be saved)",
			 strerror(-ret));
	return 0;

err_close_kvm:
	drop_cpuid(vm);
	close(vm->kvm_fd);
	vm->kvm_fd = -1;
	return ret;
}

void vm_fini(struct vm *vm)
{
	drop_cpuid(vm);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vmmem_destroy(vm->mem);
	free(vm->msr_index);
	vm->vm_fd = vm->kvm_fd = -1;
	vm->mem = NULL;
	vm->msr_index = NULL;
	vm->nmsr_index = 0;
}

/*
 * The in-kernel PIC, IOAPIC and LAPICs make irqfd possible. A KVM without
 * them still runs guests that poll, like ours.
 */
static void create_irqchip(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		pr_debug("KVM_CREATE_IRQCHIP: %s (no interrupts)",
			 strerror(errno));
		return;
	}
	vm->irqchip = true;
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) == 0)
		vm->pit = true;
	else
		pr_debug("KVM_CREATE_PIT2: %s (no PIT)", strerror(errno));
}

int vm_set_memory(struct vm *vm, struct vmmem *mem, bool dirty_log)
{
	size_t i, n = vmmem_region_count(mem);
	long page = sysconf(_SC_PAGESIZE);

	for (i = 0; i < n; i++) {
		struct vmmem_region *r = vmmem_region_at(mem, i);
		struct kvm_userspace_memory_region slot = {
			.slot = (uint32_t)i,
			.flags = dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = vmmem_region_gpa(r),
			.memory_size = vmmem_region_len(r),
			.userspace_addr = (uintptr_t)vmmem_region_hva(r),
		};

		/* libvmmem allows any alignment; a KVM slot does not. */
		if ((slot.guest_phys_addr | slot.memory_size |
		     slot.userspace_addr) & (uint64_t)(page - 1)) {
			pr_err("memory region at %#llx (%llu bytes) is not "
			       "page-aligned; KVM cannot map it",
			       (unsigned long long)slot.guest_phys_addr,
			       (unsigned long long)slot.memory_size);
			return -EINVAL;
		}
		if (vmmem_region_flags(r) & VMMEM_REGION_READONLY)
			slot.flags |= KVM_MEM_READONLY;
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
			int ret = -errno;

			pr_err("KVM_SET_USER_MEMORY_REGION (slot %zu at %#llx, "
			       "%llu bytes): %s", i,
			       (unsigned long long)slot.guest_phys_addr,
			       (unsigned long long)slot.memory_size,
			       strerror(errno));
			return ret;
		}
		pr_debug("slot %zu: gpa %#llx, %llu MiB", i,
			 (unsigned long long)slot.guest_phys_addr,
			 (unsigned long long)(slot.memory_size >> 20));
	}
	vm->mem = vmmem_ref(mem);
	vm->nslots = (unsigned)n;
	vm->dirty_log = dirty_log;
	/*
	 * The irqchip after the slots: once it exists, KVM waits for an SRCU
	 * grace period whenever a slot is installed, which costs 4 to 8 ms
	 * of start-up on the hosts measured (docs/PERFORMANCE.md).
	 */
	if (!vm->irqchip)
		create_irqchip(vm);
	return 0;
}

int vm_set_dirty_log(struct vm *vm, bool on)
{
	unsigned i;

	if (vm->dirty_log == on)
		return 0;
	for (i = 0; i < vm->nslots; i++) {
		struct vmmem_region *r = vmmem_region_at(vm->mem, i);
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
			.guest_phys_addr = vmmem_region_gpa(r),
			.memory_size = vmmem_region_len(r),
			.userspace_addr = (uintptr_t)vmmem_region_hva(r),
		};

		/* The same slot with other flags: KVM changes only them. */
		if (vmmem_region_flags(r) & VMMEM_REGION_READONLY)
			slot.flags |= KVM_MEM_READONLY;
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
			return -errno;
	}
	vm->dirty_log = on;
	return 0;
}

int vm_sync_dirty(struct vm *vm)
{
	unsigned i;

	for (i = 0; vm->dirty_log && i < vm->nslots; i++) {
		struct vmmem_region *r = vmmem_region_at(vm->mem, i);
		uint64_t pages = vmmem_region_dirty_pages(r);
		struct kvm_dirty_log log = { .slot = i };
		uint64_t *bits;
		int ret;

		if (!pages)
			continue;
		bits = calloc((pages + 63) / 64, sizeof(*bits));
		if (!bits)
			return -ENOMEM;
		log.dirty_bitmap = bits;
		ret = ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0 ? -errno :
			vmmem_region_dirty_merge(r, bits, pages);
		free(bits);
		if (ret)
			return ret;
	}
	return 0;
}

int vm_ioeventfd(struct vm *vm, uint64_t addr, unsigned len,
		 uint64_t datamatch, int fd)
{
	struct kvm_ioeventfd ev = {
		.datamatch = datamatch,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
	};

	return ioctl(vm->vm_fd, KVM_IOEVENTFD, &ev) < 0 ? -errno : 0;
}

int vm_irq_line(struct vm *vm, unsigned gsi, bool high)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = high };

	if (!vm->irqchip)
		return -ENOTSUP;
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0 ? -errno : 0;
}

int vm_irqfd(struct vm *vm, int fd, unsigned gsi)
{
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi };

	if (!vm->irqchip)
		return -ENOTSUP;
	return ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;
}

/*
 * Saved VM state: records like the vCPUs' (vcpu.c): a u32 tag, a u32
 * length and KVM's own x86-64 structure as <linux/kvm.h> lays it out, then
 * an END record of length 0. The format is KVM's struct layout for x86-64,
 * restored on the same host. The tags do not overlap the vCPUs', so one
 * given for the other is refused.
 */
enum vm_rec {
	VM_REC_END = 0,
	VM_REC_IRQCHIP = 0x100,	/* struct kvm_irqchip: PICs, IOAPIC */
	VM_REC_PIT2 = 0x101,	/* struct kvm_pit_state2 */
	VM_REC_CLOCK = 0x102,	/* struct kvm_clock_data */
};

/* The chips of KVM_GET_IRQCHIP, in the order they are saved. */
static const uint32_t irqchip_ids[] = {
	KVM_IRQCHIP_PIC_MASTER,
	KVM_IRQCHIP_PIC_SLAVE,
	KVM_IRQCHIP_IOAPIC,
};

static void put_record(struct state_buf *b, uint32_t tag, const void *p,
		       size_t len)
{
	state_put_u32(b, tag);
	state_put_u32(b, (uint32_t)len);
	state_put(b, p, len);
}

static int vm_ioctl(struct vm *vm, unsigned long req, const char *name,
		    void *p)
{
	if (ioctl(vm->vm_fd, req, p) < 0) {
		int ret = -errno;

		pr_debug("%s: %s", name, strerror(errno));
		return ret;
	}
	return 0;
}

#define VM_IOCTL(vm, req, p) vm_ioctl(vm, req, #req, p)

static bool vm_cap(struct vm *vm, long cap)
{
	return ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, cap) > 0;
}

int vm_save(struct vm *vm, struct state_buf *b)
{
	union {
		struct kvm_irqchip chip;
		struct kvm_pit_state2 pit;
		struct kvm_clock_data clock;
	} u;
	unsigned i;
	int ret;

	for (i = 0; vm->irqchip && i < ARRAY_SIZE(irqchip_ids); i++) {
		memset(&u, 0, sizeof(u));
		u.chip.chip_id = irqchip_ids[i];
		ret = VM_IOCTL(vm, KVM_GET_IRQCHIP, &u.chip);
		if (ret)
			return ret;
		put_record(b, VM_REC_IRQCHIP, &u.chip, sizeof(u.chip));
	}
	if (vm->pit) {
		memset(&u, 0, sizeof(u));
		ret = VM_IOCTL(vm, KVM_GET_PIT2, &u.pit);
		if (ret)
			return ret;
		put_record(b, VM_REC_PIT2, &u.pit, sizeof(u.pit));
	}
	/* kvmclock's base; every KVM since 2.6.32 has it, but it is not
	 * needed to run a guest, so its absence is no error. */
	if (vm_cap(vm, KVM_CAP_ADJUST_CLOCK)) {
		memset(&u, 0, sizeof(u));
		ret = VM_IOCTL(vm, KVM_GET_CLOCK, &u.clock);
		if (ret)
			return ret;
		put_record(b, VM_REC_CLOCK, &u.clock, sizeof(u.clock));
	} else {
		pr_debug("no KVM_CAP_ADJUST_CLOCK: the clock is not saved");
	}
	put_record(b, VM_REC_END, NULL, 0);
	return b->err;
}

/* What vm_restore() read and checked before it touches KVM. */
struct vm_saved {
	struct kvm_irqchip chip[ARRAY_SIZE(irqchip_ids)];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	unsigned chips;		/* bit i: chip_id i */
	bool have_pit, have_clock;
};

static int vm_read_fixed(struct state_rd *r, uint32_t tag, uint32_t len,
			 void *p, size_t size, bool *seen)
{
	if (*seen || len != size) {
		pr_debug("saved VM record %#x: %s", tag,
			 *seen ? "given twice" : "wrong length");
		return -EBADMSG;
	}
	*seen = true;
	state_get(r, p, size);
	return r->err;
}

static int vm_read_saved(struct state_rd *r, struct vm_saved *s)
{
	for (;;) {
		uint32_t tag = state_get_u32(r), len = state_get_u32(r);
		struct kvm_irqchip chip;
		bool seen = false;
		int ret;

		if (r->err)
			return -EBADMSG;
		switch (tag) {
		case VM_REC_END:
			return len == 0 ? 0 : -EBADMSG;
		case VM_REC_IRQCHIP:
			ret = vm_read_fixed(r, tag, len, &chip, sizeof(chip),
					    &seen);
			if (ret)
				return ret;
			if (chip.chip_id >= ARRAY_SIZE(irqchip_ids) ||
			    s->chips & (1u << chip.chip_id)) {
				pr_debug("saved irqchip %u: unknown or twice",
					 chip.chip_id);
				return -EBADMSG;
			}
			s->chips |= 1u << chip.chip_id;
			s->chip[chip.chip_id] = chip;
			break;
		case VM_REC_PIT2:
			ret = vm_read_fixed(r, tag, len, &s->pit,
					    sizeof(s->pit), &s->have_pit);
			if (ret)
				return ret;
			break;
		case VM_REC_CLOCK:
			ret = vm_read_fixed(r, tag, len, &s->clock,
					    sizeof(s->clock), &s->have_clock);
			if (ret)
				return ret;
			break;
		default:
			pr_debug("unknown saved VM record %#x", tag);
			return -EBADMSG;
		}
	}
}

/*
 * The interrupt controllers first, then the PIT (KVM_SET_PIT2 reloads
 * each channel's count and starts it anew), then the clock, last so that
 * the guest's clock starts as close as possible to its first KVM_RUN.
 */
static int vm_apply_saved(struct vm *vm, struct vm_saved *s)
{
	unsigned i;
	int ret;

	for (i = 0; s->chips && i < ARRAY_SIZE(irqchip_ids); i++) {
		ret = VM_IOCTL(vm, KVM_SET_IRQCHIP, &s->chip[i]);
		if (ret)
			return ret;
	}
	if (s->have_pit) {
		ret = VM_IOCTL(vm, KVM_SET_PIT2, &s->pit);
		if (ret)
			return ret;
	}
	if (s->have_clock) {
		/*
		 * KVM_GET_CLOCK reports flags (TSC_STABLE, REALTIME,
		 * HOST_TSC) that KVMs before 5.16 refuse on set; and with
		 * REALTIME a newer one would move the clock forward by the
		 * wall time since the save. Without flags the guest's clock
		 * goes on from the value it had when saved, never backwards
		 * and without a jump, as QEMU and Firecracker restore it.
		 */
		s->clock.flags = 0;
		ret = VM_IOCTL(vm, KVM_SET_CLOCK, &s->clock);
		if (ret)
			return ret;
	}
	return 0;
}

int vm_restore(struct vm *vm, struct state_rd *r)
{
	struct vm_saved *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	ret = vm_read_saved(r, s);
	if (ret)
		goto out;
	/* Every chip there is, and the PIT if there is one. */
	if ((vm->irqchip && s->chips != (1u << ARRAY_SIZE(irqchip_ids)) - 1) ||
	    (vm->pit && !s->have_pit)) {
		pr_debug("saved VM state lacks the irqchip or the PIT");
		ret = -EBADMSG;
		goto out;
	}
	if ((!vm->irqchip && s->chips) || (!vm->pit && s->have_pit) ||
	    (s->have_clock && !vm_cap(vm, KVM_CAP_ADJUST_CLOCK))) {
		pr_debug("saved VM state needs what this VM lacks");
		ret = -ENOTSUP;
		goto out;
	}
	ret = vm_apply_saved(vm, s);
out:
	free(s);
	return ret;
}
