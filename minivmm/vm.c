/* SPDX-License-Identifier: MIT */
/* vm.c - the KVM virtual machine and its memory slots. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <vmmem/dirty.h>
#include <vmmem/memory.h>
#include <vmmem/region.h>

#include "util.h"
#include "vm.h"

/* Where KVM may put the TSS it needs for real-mode emulation on Intel:
 * three pages just below the BIOS area, inside the MMIO hole. */
#define TSS_ADDR 0xfffbd000ull

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
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ret = -errno;
		pr_err("KVM_CREATE_VM: %s", strerror(errno));
		goto err_close_kvm;
	}
	/* Only Intel hosts need it; elsewhere it may fail harmlessly. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR) < 0)
		pr_debug("KVM_SET_TSS_ADDR: %s (ignored)", strerror(errno));
	/*
	 * The in-kernel PIC, IOAPIC and LAPICs make irqfd possible. A KVM
	 * without them still runs guests that poll, like ours.
	 */
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) == 0) {
		struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

		vm->irqchip = true;
		if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
			pr_debug("KVM_CREATE_PIT2: %s (no PIT)",
				 strerror(errno));
	} else {
		pr_debug("KVM_CREATE_IRQCHIP: %s (no interrupts)",
			 strerror(errno));
	}
	return 0;

err_close_kvm:
	close(vm->kvm_fd);
	vm->kvm_fd = -1;
	return ret;
}

void vm_fini(struct vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vmmem_destroy(vm->mem);
	vm->vm_fd = vm->kvm_fd = -1;
	vm->mem = NULL;
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
