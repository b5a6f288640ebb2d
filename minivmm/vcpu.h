/* SPDX-License-Identifier: MIT */
/*
 * vcpu.h - one virtual CPU: its creation, its boot state, the loop that
 * runs it and dispatches its exits to the port-I/O and MMIO buses, and the
 * state KVM keeps for it, saved and restored.
 */
#ifndef MINIVMM_VCPU_H
#define MINIVMM_VCPU_H

#include <stdbool.h>
#include <stdint.h>

struct bus;
struct kvm_run;
struct state_buf;
struct state_rd;
struct vm;

struct vcpu {
	struct vm *vm;
	int fd;
	unsigned id;
	struct kvm_run *run;	/* shared with KVM */
	/* The halt watch (vcpu_request_halt_check()), atomic: asked for,
	 * and the answer of the last check. */
	bool check_halt;
	bool dead_halt;
};

/* Why vcpu_run() returned. */
enum vcpu_stop {
	VCPU_CONTINUE = 0,	/* (vcpu_handle_exit only) keep running */
	VCPU_STOPPED,		/* *stop was set: a device or the VMM ended it */
	VCPU_HALTED,		/* HLT with nothing to wake it */
	VCPU_SHUTDOWN,		/* triple fault or reset request */
	VCPU_FAILED,		/* KVM could not run the guest; state printed */
};

int vcpu_init(struct vm *vm, unsigned id, struct vcpu *out);
void vcpu_fini(struct vcpu *v);

/*
 * The PVH entry state: 32-bit protected mode, paging off, flat segments,
 * interrupts off, EIP = entry, EBX = start_info (the hvm_start_info GPA).
 */
int vcpu_setup_pvh(struct vcpu *v, uint32_t entry, uint32_t start_info);

/*
 * The 64-bit entry state of the Linux boot protocol, over the tables
 * arch_setup_long_mode() wrote: long mode with paging (CR3 = the identity
 * map), flat code 0x08 and data 0x10, interrupts off, RIP = entry,
 * RSI = the zero page, RSP = RBP = the boot stack. With an in-kernel
 * irqchip, also the local APIC's LINT0 as ExtINT and LINT1 as NMI (the
 * virtual-wire setup Linux expects from firmware), and the FPU's reset
 * control words.
 */
int vcpu_setup_long64(struct vcpu *v, uint64_t entry, uint64_t zero_page);

/*
 * Handle the exit described by run: port I/O and MMIO go to the buses
 * (unclaimed reads return all ones, unclaimed writes are ignored).
 * Return: VCPU_CONTINUE or the reason to stop. A seam for tests: it needs
 * no vCPU, only a struct kvm_run.
 */
enum vcpu_stop vcpu_handle_exit(struct bus *pio, struct bus *mmio,
				struct kvm_run *run);

/*
 * Run until *stop is set (checked after every exit; vcpu_kick() makes a
 * running KVM_RUN return) or the guest halts, shuts down or fails. When it
 * returns VCPU_STOPPED the instruction of the last exit is complete, so the
 * vCPU's state can be saved.
 */
enum vcpu_stop vcpu_run(struct vcpu *v, struct bus *pio, struct bus *mmio,
			const bool *stop);

/*
 * Make KVM_RUN return soon, from another thread: marks the run structure
 * and signals the vCPU thread with sig (whose handler must do nothing and
 * be installed without SA_RESTART).
 */
void vcpu_kick(struct vcpu *v, unsigned long thread, int sig);

/*
 * Ask the vCPU thread to check, at its next kick (this kicks it), whether
 * the vCPU is halted for good: halted in the kernel with interrupts
 * disabled (RFLAGS.IF clear) and no NMI, SMI or exception pending, which
 * only an NMI or INIT from elsewhere could end. With the in-kernel
 * irqchip such a HLT never returns to us. The answer lands in
 * v->dead_halt (read it with vcpu_dead_halt()) once the thread has looked.
 */
void vcpu_request_halt_check(struct vcpu *v, unsigned long thread, int sig);
bool vcpu_dead_halt(struct vcpu *v);

/**
 * vcpu_save() - append everything KVM holds for a vCPU to a state buffer.
 * @v: the vCPU; not running: its thread is out of KVM_RUN and stays out.
 * @b: where the state goes.
 *
 * First lets KVM complete the instruction of the last exit (a port or MMIO
 * access completes only on the next KVM_RUN; one with immediate_exit set
 * does it without running the guest further). Then writes tagged records
 * of KVM's own x86-64 structures: MP_STATE, VCPU_EVENTS, REGS, SREGS2 (or
 * SREGS), XSAVE (or FPU), XCRS, LAPIC (with the in-kernel irqchip), MSRs
 * (KVM_GET_MSR_INDEX_LIST plus the ones a VMM must name itself, such as
 * TSC_AUX, PAT and the MTRRs: each if it reads back), DEBUGREGS and the
 * nested state, then an end record. State that this KVM cannot give
 * (nested state, SMM, XCRs, ...) is left out; see docs/DESIGN.md. The
 * bytes are for vcpu_restore() on the same host and build.
 *
 * Return: 0 on success.
 * Errors: -ENOMEM when b cannot grow (b->err); -ENOTSUP when KVM gave no
 * MSR list, or no MSR reads back; -EAGAIN when completing the last exit
 * made a new one (a string I/O instruction in progress: run the vCPU and
 * save again); another negative errno from a KVM_GET_* that KVM offers.
 * Nothing is printed (pr_debug says which ioctl failed).
 */
int vcpu_save(struct vcpu *v, struct state_buf *b);

/**
 * vcpu_restore() - give a new vCPU the state vcpu_save() wrote.
 * @v: a vCPU from vcpu_init() that has not run, in a VM whose memory is
 *     set (vm_set_memory()): KVM reads page tables and the paravirtual
 *     MSRs' areas from guest memory.
 * @r: positioned at vcpu_save()'s output; read up to and including its end
 *     record, so other state may follow (the caller checks the end of its
 *     data with state_rd_end()).
 *
 * Every record is read and checked before KVM sees any of it, then the
 * state is set in the order KVM needs (see apply_saved() in vcpu.c).
 * CPUID is vcpu_init()'s, which is the same on the same host. The first
 * vCPU restored in a VM gets exactly its saved TSC and the others are
 * matched to it, so restore the vCPUs of a VM one after another, not
 * concurrently.
 *
 * Return: 0 on success.
 * Errors: -EBADMSG when the state is malformed: an unknown record, a length
 * that is not its structure's or is over its bound, a record given twice,
 * a required one missing (REGS, SREGS or SREGS2, XSAVE or FPU, MSRs, and
 * LAPIC in a VM with the in-kernel irqchip), or no end record; nothing was
 * changed. -ENOTSUP when the state holds what this KVM or VM cannot take
 * (SREGS2, XCRS, events, debug registers, MP state or nested state without
 * the capability, a LAPIC without the irqchip); nothing was changed.
 * -ENOMEM. -EINVAL or another negative errno when KVM refuses a value (for
 * an MSR, -EINVAL); the vCPU is then partly restored and should be
 * destroyed.
 */
int vcpu_restore(struct vcpu *v, struct state_rd *r);

/* Print the registers to stderr (errors, --verbose, watchdog). */
void vcpu_dump(struct vcpu *v);

#endif /* MINIVMM_VCPU_H */
