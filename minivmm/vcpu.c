/* SPDX-License-Identifier: MIT */
/* vcpu.c - a KVM virtual CPU: boot state, run loop, exit dispatch. */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bus.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "x86/boot.h"

/* Leaf 1 ECX bit 31: tell the guest it runs on a hypervisor. */
#define CPUID_1_ECX_HYPERVISOR (1u << 31)

static int setup_cpuid(struct vcpu *v)
{
	struct kvm_cpuid2 *cpuid = NULL;
	unsigned nent = 64, i;
	int ret = 0;

	/* KVM says E2BIG until the buffer is large enough. */
	for (;;) {
		free(cpuid);
		cpuid = calloc(1, sizeof(*cpuid) +
					  nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return -ENOMEM;
		cpuid->nent = nent;
		if (ioctl(v->vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		if (errno != E2BIG || nent >= 4096) {
			ret = -errno;
			pr_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
			goto out;
		}
		nent *= 2;
	}
	for (i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 1) {
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			e->ebx = (e->ebx & 0x00ffffffu) | (v->id << 24);
		}
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0) {
		ret = -errno;
		pr_err("KVM_SET_CPUID2: %s", strerror(errno));
	}
out:
	free(cpuid);
	return ret;
}

int vcpu_init(struct vm *vm, unsigned id, struct vcpu *out)
{
	struct vcpu v = { .vm = vm, .id = id };
	int ret;

	v.fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v.fd < 0) {
		ret = -errno;
		pr_err("KVM_CREATE_VCPU %u: %s", id, strerror(errno));
		return ret;
	}
	v.run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE,
		     MAP_SHARED, v.fd, 0);
	if (v.run == MAP_FAILED) {
		ret = -errno;
		pr_err("mmap of kvm_run: %s", strerror(errno));
		goto err_close_vcpu;
	}
	ret = setup_cpuid(&v);
	if (ret)
		goto err_unmap_run;
	*out = v;
	return 0;

err_unmap_run:
	munmap(v.run, (size_t)vm->run_size);
err_close_vcpu:
	close(v.fd);
	return ret;
}

void vcpu_fini(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, (size_t)v->vm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

/* A flat 4 GiB segment in 32-bit protected mode. */
static struct kvm_segment flat_segment(uint16_t selector, uint8_t type)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = 1,
		.s = 1,
		.l = 0,
		.g = 1,
	};
}

int vcpu_setup_pvh(struct vcpu *v, uint32_t entry, uint32_t start_info)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = entry,
		.rbx = start_info,
		.rflags = 0x2,	/* bit 1 is always set; IF clear */
	};

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		pr_err("KVM_GET_SREGS: %s", strerror(errno));
		return -errno;
	}
	/* The PVH entry state: code 0x08 execute/read, data 0x10 read/write,
	 * a busy 32-bit TSS of 0x68 bytes at 0 in TR, paging off. */
	sregs.cs = flat_segment(0x08, 0xb);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss =
		flat_segment(0x10, 0x3);
	sregs.tr = (struct kvm_segment){ .selector = 0x18, .limit = 0x67,
					 .type = 0xb, .present = 1 };
	sregs.cr0 = 0x11;	/* PE | ET */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(v->fd, KVM_SET_REGS, &regs) < 0) {
		pr_err("setting the boot registers: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* A flat segment from one of arch_setup_long_mode()'s GDT entries. */
static struct kvm_segment long_segment(uint16_t selector, uint8_t type,
				       bool code)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.s = 1,
		.l = code,	/* 64-bit code */
		.db = !code,
		.g = 1,
	};
}

/* Local APIC registers and delivery modes for the LVT setup. */
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static void set_lvt(struct kvm_lapic_state *l, int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], sizeof(v));
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&l->regs[reg], &v, sizeof(v));
}

int vcpu_setup_long64(struct vcpu *v, uint64_t entry, uint64_t zero_page)
{
	struct kvm_sregs sregs;
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	struct kvm_regs regs = {
		.rip = entry,
		.rsi = zero_page,
		.rsp = BOOT_STACK,
		.rbp = BOOT_STACK,
		.rflags = 0x2,
	};

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		pr_err("KVM_GET_SREGS: %s", strerror(errno));
		return -errno;
	}
	sregs.cs = long_segment(0x08, 0xb, true);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss =
		long_segment(0x10, 0x3, false);
	sregs.tr = (struct kvm_segment){ .selector = 0x18, .limit = 0xffff,
					 .type = 0xb, .present = 1 };
	sregs.gdt.base = BOOT_GDT;
	sregs.gdt.limit = 4 * 8 - 1;
	sregs.idt.base = BOOT_IDT;
	sregs.idt.limit = 8 - 1;
	sregs.cr3 = BOOT_PML4;
	sregs.cr4 = 0x20;		/* PAE */
	sregs.cr0 = 0x80000011;		/* PG | ET | PE */
	sregs.efer = 0x500;		/* LMA | LME */
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(v->fd, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
		pr_err("setting the boot registers: %s", strerror(errno));
		return -errno;
	}
	if (v->vm->irqchip) {
		struct kvm_lapic_state lapic;

		if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0) {
			pr_err("KVM_GET_LAPIC: %s", strerror(errno));
			return -errno;
		}
		set_lvt(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
		set_lvt(&lapic, APIC_LVT1, APIC_MODE_NMI);
		if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0) {
			pr_err("KVM_SET_LAPIC: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static enum vcpu_stop handle_io(struct bus *pio, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned size = run->io.size;
	uint32_t i;

	/* KVM only hands out offsets inside the run page, and sizes of 1, 2
	 * or 4; a string instruction repeats count times. */
	for (i = 0; i < run->io.count; i++, data += size) {
		int rc = run->io.direction == KVM_EXIT_IO_OUT ?
				 bus_write(pio, run->io.port, data, size) :
				 bus_read(pio, run->io.port, data, size);

		if (rc)
			pr_debug("unhandled port %s %#x (%u bytes)",
				 run->io.direction == KVM_EXIT_IO_OUT ? "write" :
									"read",
				 run->io.port, size);
	}
	return VCPU_CONTINUE;
}

static enum vcpu_stop handle_mmio(struct bus *mmio, struct kvm_run *run)
{
	unsigned len = run->mmio.len;
	int rc;

	if (len == 0 || len > sizeof(run->mmio.data))
		return VCPU_CONTINUE;
	rc = run->mmio.is_write ?
		     bus_write(mmio, run->mmio.phys_addr, run->mmio.data, len) :
		     bus_read(mmio, run->mmio.phys_addr, run->mmio.data, len);
	if (rc)
		pr_debug("unhandled MMIO %s %#llx (%u bytes)",
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr, len);
	return VCPU_CONTINUE;
}

enum vcpu_stop vcpu_handle_exit(struct bus *pio, struct bus *mmio,
				struct kvm_run *run)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(pio, run);
	case KVM_EXIT_MMIO:
		return handle_mmio(mmio, run);
	case KVM_EXIT_INTR:
		return VCPU_CONTINUE;
	case KVM_EXIT_HLT:
		return VCPU_HALTED;
	case KVM_EXIT_SHUTDOWN:
		return VCPU_SHUTDOWN;
	case KVM_EXIT_FAIL_ENTRY:
		pr_err("KVM could not enter the guest (hardware reason %#llx)",
		       (unsigned long long)
			       run->fail_entry.hardware_entry_failure_reason);
		return VCPU_FAILED;
	case KVM_EXIT_INTERNAL_ERROR:
		pr_err("KVM internal error %u%s", run->internal.suberror,
		       run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			       " (instruction emulation failed)" :
			       "");
		return VCPU_FAILED;
	default:
		pr_err("unexpected KVM exit reason %u", run->exit_reason);
		return VCPU_FAILED;
	}
}

/*
 * Finish the instruction of the last port or MMIO exit (a read's data goes
 * into its register only on the next KVM_RUN) without running the guest
 * further: KVM_RUN with immediate_exit set does exactly that and returns
 * EINTR. Until then the vCPU's registers are not its whole state, so this
 * comes before anyone saves them.
 */
static void complete_io(struct vcpu *v)
{
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	if (ioctl(v->fd, KVM_RUN, 0) == 0 || (errno != EINTR && errno != EAGAIN))
		pr_debug("vCPU %u: completing I/O: %s", v->id, strerror(errno));
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELEASE);
}

enum vcpu_stop vcpu_run(struct vcpu *v, struct bus *pio, struct bus *mmio,
			const bool *stop)
{
	for (;;) {
		enum vcpu_stop why;

		if (__atomic_load_n(stop, __ATOMIC_ACQUIRE)) {
			complete_io(v);
			return VCPU_STOPPED;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				/* A kick: *stop says whether it was for us. */
				__atomic_store_n(&v->run->immediate_exit, 0,
						 __ATOMIC_RELAXED);
				continue;
			}
			pr_err("KVM_RUN: %s", strerror(errno));
			return VCPU_FAILED;
		}
		pr_debug("exit %u", v->run->exit_reason);
		why = vcpu_handle_exit(pio, mmio, v->run);
		if (why == VCPU_FAILED)
			vcpu_dump(v);
		if (why != VCPU_CONTINUE)
			return why;
	}
}

void vcpu_kick(struct vcpu *v, unsigned long thread, int sig)
{
	/* immediate_exit covers a kick that lands before KVM_RUN starts;
	 * the signal interrupts one that is already running. */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill((pthread_t)thread, sig);
}

void vcpu_dump(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		pr_err("vCPU %u: cannot read registers: %s", v->id,
		       strerror(errno));
		return;
	}
	pr_err("vCPU %u: rip %016llx rsp %016llx rflags %08llx", v->id,
	       r.rip, r.rsp, r.rflags);
	pr_err("  rax %016llx rbx %016llx rcx %016llx rdx %016llx", r.rax,
	       r.rbx, r.rcx, r.rdx);
	pr_err("  rsi %016llx rdi %016llx rbp %016llx", r.rsi, r.rdi, r.rbp);
	pr_err("  cs %04x (dpl %u, l %u) cr0 %llx cr3 %llx cr4 %llx efer %llx",
	       s.cs.selector, s.cs.dpl, s.cs.l, s.cr0, s.cr3, s.cr4, s.efer);
}
