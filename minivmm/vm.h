/* SPDX-License-Identifier: MIT */
/*
 * vm.h - the virtual machine: /dev/kvm, memory slots, the in-kernel
 * interrupt controller, ioeventfds and irqfds, and the VM-wide state KVM
 * keeps, saved and restored. With vcpu.c, the only code that talks to KVM.
 */
#ifndef MINIVMM_VM_H
#define MINIVMM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct kvm_cpuid2;
struct state_buf;
struct state_rd;
struct vmmem;

struct vm {
	int kvm_fd;
	int vm_fd;
	int run_size;		/* size of each vCPU's kvm_run mapping */
	bool irqchip;		/* in-kernel PIC/IOAPIC/LAPIC present */
	bool pit;		/* in-kernel PIT (KVM_CREATE_PIT2) present */
	bool dirty_log;		/* slots log dirty pages */
	struct vmmem *mem;	/* registered memory (a reference) */
	unsigned nslots;
	/*
	 * KVM_GET_MSR_INDEX_LIST: the MSRs KVM keeps for each vCPU, which
	 * vcpu_save() reads. NULL when KVM would not give it.
	 */
	uint32_t *msr_index;
	unsigned nmsr_index;
	bool tsc_restored;	/* vcpu_restore() has set a vCPU's TSC */
	/*
	 * KVM_GET_SUPPORTED_CPUID, which takes about 0.3 ms on some hosts: a
	 * thread asks it while vm_init()'s caller goes on building the VM,
	 * and vm_supported_cpuid() collects the answer once (job is private).
	 */
	struct vm_cpuid_job *cpuid_job;	/* set while the thread is not joined */
	pthread_t cpuid_thread;
	struct kvm_cpuid2 *cpuid;	/* the answer, once collected */
};

/*
 * Open /dev/kvm, create a VM and fetch KVM's list of MSRs to save (the
 * irqchip comes with the memory: vm_set_memory()). Errors are negative
 * errno with a message already printed: -ENOENT (no /dev/kvm), -EACCES (no
 * permission), others from KVM.
 */
int vm_init(struct vm *vm);
void vm_fini(struct vm *vm);

/*
 * The CPUID entries KVM supports on this host (KVM_GET_SUPPORTED_CPUID),
 * asked once per VM; the result stays the VM's. Return: 0 with *out set,
 * or a negative errno with a message already printed.
 */
int vm_supported_cpuid(struct vm *vm, const struct kvm_cpuid2 **out);

/*
 * Register every region of mem as a memory slot (slot i = region i), then
 * create the in-kernel irqchip and PIT where KVM offers them; each region
 * must be page-aligned in address and size. With dirty_log, KVM logs the
 * guest's writes and vm_sync_dirty() merges them into the regions'
 * libvmmem bitmaps (the regions need VMMEM_REGION_DIRTY_LOG).
 */
int vm_set_memory(struct vm *vm, struct vmmem *mem, bool dirty_log);

/*
 * Start or stop KVM's dirty logging on every slot of a VM that runs (a
 * flags-only change of each slot; the log starts empty). The regions need
 * VMMEM_REGION_DIRTY_LOG for vm_sync_dirty() to merge into.
 * Return: 0 or the negative errno of KVM_SET_USER_MEMORY_REGION.
 */
int vm_set_dirty_log(struct vm *vm, bool on);

/* Merge KVM's dirty logs into the libvmmem bitmaps; 0 or -errno. */
int vm_sync_dirty(struct vm *vm);

/* Signal fd whenever the guest writes datamatch (len bytes) at addr. */
int vm_ioeventfd(struct vm *vm, uint64_t addr, unsigned len,
		 uint64_t datamatch, int fd);

/* Set a level-triggered line (GSI) high or low; -ENOTSUP without irqchip. */
int vm_irq_line(struct vm *vm, unsigned gsi, bool high);

/* Inject GSI gsi whenever fd is signalled; -ENOTSUP without irqchip. */
int vm_irqfd(struct vm *vm, int fd, unsigned gsi);

/**
 * vm_save() - append the VM-wide state KVM holds to a state buffer.
 * @vm: the VM; no vCPU of it is running.
 * @b: where the state goes.
 *
 * Tagged records of KVM's own x86-64 structures, then an end record: with
 * the in-kernel irqchip, the PIC master, the PIC slave and the IOAPIC
 * (KVM_GET_IRQCHIP); the PIT (KVM_GET_PIT2) when vm_init() created one;
 * and kvmclock's base (KVM_GET_CLOCK) where KVM has KVM_CAP_ADJUST_CLOCK.
 * The vCPUs are saved with vcpu_save(), guest memory by the caller.
 *
 * Return: 0 on success.
 * Errors: -ENOMEM when b cannot grow (b->err); another negative errno from
 * a KVM_GET_* that KVM offers. Nothing is printed.
 */
int vm_save(struct vm *vm, struct state_buf *b);

/**
 * vm_restore() - give a new VM the state vm_save() wrote.
 * @vm: from vm_init(), with no vCPU run yet.
 * @r: positioned at vm_save()'s output; read up to and including its end
 *     record, so other state may follow.
 *
 * Every record is read and checked before KVM sees any of it. The clock
 * goes on from its saved value (its flags are dropped; see vm.c), so the
 * guest's time does not jump by the time the snapshot was stored; restore
 * the VM just before its vCPUs run.
 *
 * Return: 0 on success.
 * Errors: -EBADMSG when the state is malformed: an unknown record, a wrong
 * length, a record or chip given twice, a chip missing in a VM with the
 * in-kernel irqchip or the PIT missing in one with a PIT, or no end record;
 * nothing was changed. -ENOTSUP when the state holds a chip, a PIT or a
 * clock this VM or KVM lacks; nothing was changed. -ENOMEM. Another negative
 * errno when KVM refuses a value; the VM is then partly restored.
 */
int vm_restore(struct vm *vm, struct state_rd *r);

#endif /* MINIVMM_VM_H */
