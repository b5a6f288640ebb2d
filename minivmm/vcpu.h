/* SPDX-License-Identifier: MIT */
/*
 * vcpu.h - one virtual CPU: its creation, its boot state, and the loop that
 * runs it and dispatches its exits to the port-I/O and MMIO buses.
 */
#ifndef MINIVMM_VCPU_H
#define MINIVMM_VCPU_H

#include <stdbool.h>
#include <stdint.h>

struct bus;
struct kvm_run;
struct vm;

struct vcpu {
	struct vm *vm;
	int fd;
	unsigned id;
	struct kvm_run *run;	/* shared with KVM */
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

/* Print the registers to stderr (errors, --verbose, watchdog). */
void vcpu_dump(struct vcpu *v);

#endif /* MINIVMM_VCPU_H */
