/* SPDX-License-Identifier: MIT */
/*
 * vm.h - the virtual machine: /dev/kvm, memory slots, the in-kernel
 * interrupt controller, ioeventfds and irqfds. With vcpu.c, the only code
 * that talks to KVM.
 */
#ifndef MINIVMM_VM_H
#define MINIVMM_VM_H

#include <stdbool.h>
#include <stdint.h>

struct vmmem;

struct vm {
	int kvm_fd;
	int vm_fd;
	int run_size;		/* size of each vCPU's kvm_run mapping */
	bool irqchip;		/* in-kernel PIC/IOAPIC/LAPIC present */
	bool dirty_log;		/* slots log dirty pages */
	struct vmmem *mem;	/* registered memory (a reference) */
	unsigned nslots;
};

/*
 * Open /dev/kvm and create a VM with an in-kernel irqchip where KVM offers
 * one. Errors are negative errno with a message already printed:
 * -ENOENT (no /dev/kvm), -EACCES (no permission), others from KVM.
 */
int vm_init(struct vm *vm);
void vm_fini(struct vm *vm);

/*
 * Register every region of mem as a memory slot (slot i = region i); each
 * must be page-aligned in address and size. With dirty_log, KVM logs the
 * guest's writes and vm_sync_dirty() merges them into the regions'
 * libvmmem bitmaps (the regions need VMMEM_REGION_DIRTY_LOG).
 */
int vm_set_memory(struct vm *vm, struct vmmem *mem, bool dirty_log);

/* Merge KVM's dirty logs into the libvmmem bitmaps; 0 or -errno. */
int vm_sync_dirty(struct vm *vm);

/* Signal fd whenever the guest writes datamatch (len bytes) at addr. */
int vm_ioeventfd(struct vm *vm, uint64_t addr, unsigned len,
		 uint64_t datamatch, int fd);

/* Set a level-triggered line (GSI) high or low; -ENOTSUP without irqchip. */
int vm_irq_line(struct vm *vm, unsigned gsi, bool high);

/* Inject GSI gsi whenever fd is signalled; -ENOTSUP without irqchip. */
int vm_irqfd(struct vm *vm, int fd, unsigned gsi);

#endif /* MINIVMM_VM_H */
