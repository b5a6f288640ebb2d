/* SPDX-License-Identifier: MIT */
/* vcpu.c - a KVM virtual CPU: boot state, run loop, exits, saved state. */
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
#include "state.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"
#include "x86/boot.h"

/* Leaf 1 ECX bit 31: tell the guest it runs on a hypervisor. */
#define CPUID_1_ECX_HYPERVISOR (1u << 31)

static int setup_cpuid(struct vcpu *v)
{
	const struct kvm_cpuid2 *supported;
	struct kvm_cpuid2 *cpuid;
	size_t size;
	unsigned i;
	int ret = vm_supported_cpuid(v->vm, &supported);

	if (ret)
		return ret;
	/* Each vCPU's copy differs in its APIC ID. */
	size = sizeof(*cpuid) + supported->nent * sizeof(cpuid->entries[0]);
	cpuid = malloc(size);
	if (!cpuid)
		return -ENOMEM;
	memcpy(cpuid, supported, size);
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
 * comes before anyone saves them. Finishing one element of a string I/O
 * instruction may exit again for the next: that exit is handled too, a
 * bounded number of times (KVM's string I/O exits carry up to a page).
 * Return: VCPU_STOPPED, or the reason an exit gave to stop.
 */
static enum vcpu_stop complete_io(struct vcpu *v, struct bus *pio,
				  struct bus *mmio)
{
	enum vcpu_stop why = VCPU_STOPPED;
	unsigned rounds;

	for (rounds = 0; rounds < 64; rounds++) {
		int rc;

		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
		rc = ioctl(v->fd, KVM_RUN, 0);
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELEASE);
		if (rc < 0) {
			if (errno != EINTR && errno != EAGAIN)
				pr_debug("vCPU %u: completing I/O: %s", v->id,
					 strerror(errno));
			return why;
		}
		why = vcpu_handle_exit(pio, mmio, v->run);
		if (why != VCPU_CONTINUE)
			return why;
		why = VCPU_STOPPED;
	}
	return why;
}

/* See vcpu_request_halt_check(). On this vCPU's thread, out of KVM_RUN. */
static bool halted_for_good(struct vcpu *v)
{
	struct kvm_mp_state mp;
	struct kvm_vcpu_events ev;
	struct kvm_regs r;

	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) < 0 ||
	    mp.mp_state != KVM_MP_STATE_HALTED)
		return false;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || (r.rflags & 0x200))
		return false;
	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return false;
	return !ev.nmi.pending && !ev.nmi.injected && !ev.smi.pending &&
	       !ev.exception.injected && !ev.interrupt.injected;
}

enum vcpu_stop vcpu_run(struct vcpu *v, struct bus *pio, struct bus *mmio,
			const bool *stop)
{
	for (;;) {
		enum vcpu_stop why;

		if (__atomic_load_n(stop, __ATOMIC_ACQUIRE))
			return complete_io(v, pio, mmio);
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				/* A kick: *stop says whether it was for us,
				 * check_halt whether the halt watch asks. */
				__atomic_store_n(&v->run->immediate_exit, 0,
						 __ATOMIC_RELAXED);
				if (__atomic_exchange_n(&v->check_halt, false,
							__ATOMIC_ACQ_REL))
					__atomic_store_n(&v->dead_halt,
							 halted_for_good(v),
							 __ATOMIC_RELEASE);
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

void vcpu_request_halt_check(struct vcpu *v, unsigned long thread, int sig)
{
	__atomic_store_n(&v->check_halt, true, __ATOMIC_RELEASE);
	vcpu_kick(v, thread, sig);
}

bool vcpu_dead_halt(struct vcpu *v)
{
	return __atomic_load_n(&v->dead_halt, __ATOMIC_ACQUIRE);
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

/*
 * Saved vCPU state.
 *
 * vcpu_save() writes one record per piece of state KVM holds for the vCPU:
 * a u32 tag, a u32 length and that many bytes, and ends with an END record
 * of length 0. The bytes are KVM's own structures for x86-64, laid out as
 * <linux/kvm.h> declares them (struct kvm_regs, struct kvm_sregs2, ...) and
 * copied as they are: the format is KVM's struct layout for x86-64, and a
 * snapshot is restored on the host, and by the build, that took it. Tags and
 * lengths are little-endian (state.h); so is everything else on x86-64.
 *
 * A tag is never reused for another meaning. vcpu_restore() refuses a tag
 * it does not know, a length other than its structure's, a record given
 * twice and a missing required one, before it changes anything.
 */
enum vcpu_rec {
	VCPU_REC_END = 0,
	VCPU_REC_MP_STATE = 1,	/* struct kvm_mp_state */
	VCPU_REC_EVENTS = 2,	/* struct kvm_vcpu_events */
	VCPU_REC_REGS = 3,	/* struct kvm_regs */
	VCPU_REC_SREGS = 4,	/* struct kvm_sregs (no KVM_CAP_SREGS2) */
	VCPU_REC_SREGS2 = 5,	/* struct kvm_sregs2 */
	VCPU_REC_XSAVE = 6,	/* struct kvm_xsave, KVM's size of it */
	VCPU_REC_FPU = 7,	/* struct kvm_fpu, without KVM_CAP_XSAVE */
	VCPU_REC_XCRS = 8,	/* struct kvm_xcrs */
	VCPU_REC_LAPIC = 9,	/* struct kvm_lapic_state */
	VCPU_REC_MSRS = 10,	/* struct kvm_msr_entry[n] */
	VCPU_REC_DEBUGREGS = 11, /* struct kvm_debugregs */
	VCPU_REC_NESTED = 12,	/* struct kvm_nested_state and its data */
};

/* Bounds for the records whose length varies. */
#define XSAVE_MAX (64u * 1024)	/* with AMX the area is about 11 KiB */
#define NESTED_MAX (64u * 1024)	/* VMX: 8 KiB of data after the header */
#define MSRS_MAX 1024u
/* KVM takes fewer than 256 MSRs per KVM_GET_MSRS or KVM_SET_MSRS. */
#define MSR_CHUNK 128u

#define MSR_IA32_TSC 0x10u
#define MSR_IA32_TSC_DEADLINE 0x6e0u

/*
 * MSRs that KVM does not put in KVM_GET_MSR_INDEX_LIST although it keeps
 * them per vCPU (or that an older KVM did not list): a VMM has to name them
 * itself. Each is saved only if KVM's list lacks it and KVM reads it back.
 */
static const uint32_t extra_msrs[] = {
	0xc0000103,		/* TSC_AUX: what RDTSCP and RDPID return */
	0x277,			/* PAT */
	0x2ff,			/* MTRR default type */
	0x250, 0x258, 0x259,	/* fixed-range MTRRs */
	0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
	0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207, /* variable */
	0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f, /* MTRRs */
	0x3b,			/* TSC_ADJUST */
	MSR_IA32_TSC_DEADLINE,
	0x1a0,			/* MISC_ENABLE */
	0x10a,			/* ARCH_CAPABILITIES */
	0x11, 0x12,		/* kvmclock, first interface */
	0x4b564d00, 0x4b564d01, /* kvmclock wall clock and system time */
	0x4b564d02,		/* asynchronous page faults */
	0x4b564d03,		/* steal time */
	0x4b564d04,		/* paravirtual EOI */
	0x4b564d05,		/* poll control */
	0x4b564d06,		/* asynchronous page fault interrupt */
};

static void put_record(struct state_buf *b, uint32_t tag, const void *p,
		       size_t len)
{
	state_put_u32(b, tag);
	state_put_u32(b, (uint32_t)len);
	state_put(b, p, len);
}

/*
 * KVM_CHECK_EXTENSION on the VM: 0 when KVM lacks cap, else what KVM says
 * (1, or a size for KVM_CAP_XSAVE2 and KVM_CAP_NESTED_STATE).
 */
static int vm_cap(const struct vcpu *v, long cap)
{
	int r = ioctl(v->vm->vm_fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

/*
 * The size of this KVM's XSAVE area: what KVM_CAP_XSAVE2 says (at least
 * struct kvm_xsave, more with dynamically enabled features), the plain
 * struct kvm_xsave for an older KVM, and 0 without XSAVE.
 */
static size_t xsave_size(const struct vcpu *v)
{
	int n = vm_cap(v, KVM_CAP_XSAVE2);

	if (n > 0)
		return (size_t)n < sizeof(struct kvm_xsave) ?
			       sizeof(struct kvm_xsave) :
			       (size_t)n;
	return vm_cap(v, KVM_CAP_XSAVE) ? sizeof(struct kvm_xsave) : 0;
}

/* One KVM_GET_* ioctl of the vCPU; its structure becomes a record. */
static int save_one(struct vcpu *v, struct state_buf *b, uint32_t tag,
		    unsigned long req, const char *name, void *p, size_t len)
{
	if (ioctl(v->fd, req, p) < 0) {
		int ret = -errno;

		pr_debug("vCPU %u: %s: %s", v->id, name, strerror(errno));
		return ret;
	}
	put_record(b, tag, p, len);
	return 0;
}

#define SAVE_ONE(v, b, tag, req, p) \
	save_one(v, b, tag, req, #req, p, sizeof(*(p)))

/*
 * KVM finishes some exits only when KVM_RUN is entered again: the value of
 * a port or MMIO read reaches its register, and RIP moves past the `in` or
 * `out`, on the next KVM_RUN. Until then the registers describe a half-done
 * instruction, which a restored vCPU would run a second time (KVM's API
 * documentation says to do this before saving). With immediate_exit set,
 * KVM_RUN completes the instruction and returns EINTR without running the
 * guest any further. A string I/O instruction may need a further exit for
 * its next piece; then the vCPU must run again before it can be saved.
 */
static int finish_exit(struct vcpu *v)
{
	int ret = 0;

	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELAXED);
	if (ioctl(v->fd, KVM_RUN, 0) == 0) {
		pr_debug("vCPU %u: exit %u while completing the last one",
			 v->id, v->run->exit_reason);
		ret = -EAGAIN;
	} else if (errno != EINTR && errno != EAGAIN) {
		ret = -errno;
		pr_debug("vCPU %u: KVM_RUN: %s", v->id, strerror(errno));
	}
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELAXED);
	return ret;
}

static bool msr_listed(const uint32_t *list, unsigned n, uint32_t index)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (list[i] == index)
			return true;
	return false;
}

/*
 * Read MSRs e[0, n) and keep those that read back, in place; *kept says
 * how many. KVM_GET_MSRS stops at the first MSR it cannot read and returns
 * how many it read, so that one is dropped and the rest asked again.
 */
static int read_msrs(struct vcpu *v, struct kvm_msr_entry *e, unsigned n,
		     unsigned *kept)
{
	struct kvm_msrs *buf;
	unsigned done = 0, k = 0;
	int ret = 0;

	buf = malloc(sizeof(*buf) + MSR_CHUNK * sizeof(buf->entries[0]));
	if (!buf)
		return -ENOMEM;
	while (done < n) {
		unsigned cnt = n - done < MSR_CHUNK ? n - done : MSR_CHUNK;
		int got;

		memset(buf, 0, sizeof(*buf) + cnt * sizeof(buf->entries[0]));
		buf->nmsrs = cnt;
		memcpy(buf->entries, e + done, cnt * sizeof(e[0]));
		got = ioctl(v->fd, KVM_GET_MSRS, buf);
		if (got < 0 || (unsigned)got > cnt) {
			ret = got < 0 ? -errno : -EIO;
			pr_debug("vCPU %u: KVM_GET_MSRS: %s", v->id,
				 strerror(-ret));
			break;
		}
		/* k <= done, so this never overwrites e[done + got]. */
		memcpy(e + k, buf->entries, (unsigned)got * sizeof(e[0]));
		k += (unsigned)got;
		done += (unsigned)got;
		if ((unsigned)got < cnt) {
			pr_debug("vCPU %u: MSR %#x does not read back; "
				 "not saved", v->id, e[done].index);
			done++;
		}
	}
	free(buf);
	*kept = k;
	return ret;
}

/* Every MSR of KVM's list, and the extra ones, that reads back. */
static int save_msrs(struct vcpu *v, struct state_buf *b)
{
	const struct vm *vm = v->vm;
	struct kvm_msr_entry *e;
	unsigned n = 0, kept, i;
	int ret;

	if (!vm->msr_index) {
		pr_debug("vCPU %u: no MSR list from KVM: cannot save MSRs",
			 v->id);
		return -ENOTSUP;
	}
	e = calloc(vm->nmsr_index + ARRAY_SIZE(extra_msrs), sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (i = 0; i < vm->nmsr_index; i++)
		if (!msr_listed(vm->msr_index, i, vm->msr_index[i]))
			e[n++].index = vm->msr_index[i];
	for (i = 0; i < ARRAY_SIZE(extra_msrs); i++)
		if (!msr_listed(vm->msr_index, vm->nmsr_index, extra_msrs[i]))
			e[n++].index = extra_msrs[i];
	ret = read_msrs(v, e, n, &kept);
	if (!ret && (kept == 0 || kept > MSRS_MAX))
		ret = -ENOTSUP;
	if (!ret)
		put_record(b, VCPU_REC_MSRS, e, kept * sizeof(*e));
	free(e);
	return ret;
}

/* The FPU and extended state: XSAVE where KVM has it, else the FPU. */
static int save_fpu(struct vcpu *v, struct state_buf *b)
{
	size_t len = xsave_size(v);
	struct kvm_xsave *xsave;
	struct kvm_fpu fpu;
	int ret = 0;

	if (len == 0)
		return SAVE_ONE(v, b, VCPU_REC_FPU, KVM_GET_FPU, &fpu);
	if (len > XSAVE_MAX)
		return -ENOTSUP;
	xsave = calloc(1, len);
	if (!xsave)
		return -ENOMEM;
	/* KVM_GET_XSAVE2 writes len bytes; KVM_GET_XSAVE a struct. */
	if (ioctl(v->fd, vm_cap(v, KVM_CAP_XSAVE2) ? KVM_GET_XSAVE2 :
						     KVM_GET_XSAVE,
		  xsave) < 0) {
		ret = -errno;
		pr_debug("vCPU %u: KVM_GET_XSAVE: %s", v->id, strerror(errno));
	} else {
		put_record(b, VCPU_REC_XSAVE, xsave, len);
	}
	free(xsave);
	return ret;
}

/*
 * Nested virtualization state (the guest's own guests). KVM_CAP_NESTED_STATE
 * gives the largest size; KVM_GET_NESTED_STATE says in the header how much
 * it used. KVMs without nested virtualization (KVM on PVM among them) lack
 * the capability, and there is nothing to save.
 */
static int save_nested(struct vcpu *v, struct state_buf *b)
{
	int max = vm_cap(v, KVM_CAP_NESTED_STATE);
	struct kvm_nested_state *ns;
	int ret = 0;

	if (max <= 0) {
		pr_debug("vCPU %u: no KVM_CAP_NESTED_STATE: no nested state",
			 v->id);
		return 0;
	}
	if ((size_t)max < sizeof(*ns) || (size_t)max > NESTED_MAX)
		return -ENOTSUP;
	ns = calloc(1, (size_t)max);
	if (!ns)
		return -ENOMEM;
	ns->size = (uint32_t)max;
	if (ioctl(v->fd, KVM_GET_NESTED_STATE, ns) < 0) {
		ret = -errno;
		pr_debug("vCPU %u: KVM_GET_NESTED_STATE: %s", v->id,
			 strerror(errno));
	} else if (ns->size < sizeof(*ns) || ns->size > (uint32_t)max) {
		ret = -EIO;
	} else {
		put_record(b, VCPU_REC_NESTED, ns, ns->size);
	}
	free(ns);
	return ret;
}

int vcpu_save(struct vcpu *v, struct state_buf *b)
{
	union {
		struct kvm_mp_state mp_state;
		struct kvm_vcpu_events events;
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_sregs2 sregs2;
		struct kvm_xcrs xcrs;
		struct kvm_lapic_state lapic;
		struct kvm_debugregs debugregs;
	} u;
	int ret;

	memset(&u, 0, sizeof(u));
	ret = finish_exit(v);
	if (ret)
		return ret;
	/*
	 * The order of the reads matters where a KVM_GET_* changes state.
	 * KVM_GET_MP_STATE first: it takes pending INIT and SIPI signals from
	 * the local APIC, which may reset the vCPU or set CS:RIP. Then
	 * KVM_GET_VCPU_EVENTS: it moves queued NMIs to pending and, because
	 * this VM does not enable KVM_CAP_EXCEPTION_PAYLOAD, writes the payload
	 * of a pending #PF or #DB into CR2 or DR6, which the later reads of
	 * SREGS and DEBUGREGS then include.
	 */
	if (vm_cap(v, KVM_CAP_MP_STATE)) {
		ret = SAVE_ONE(v, b, VCPU_REC_MP_STATE, KVM_GET_MP_STATE,
			       &u.mp_state);
		if (ret)
			return ret;
	}
	/* The events also hold the SMM state where KVM emulates SMM; KVM on
	 * PVM does not (no KVM_CAP_X86_SMM), and the flags then say so. */
	if (vm_cap(v, KVM_CAP_VCPU_EVENTS)) {
		ret = SAVE_ONE(v, b, VCPU_REC_EVENTS, KVM_GET_VCPU_EVENTS,
			       &u.events);
		if (ret)
			return ret;
	}
	ret = SAVE_ONE(v, b, VCPU_REC_REGS, KVM_GET_REGS, &u.regs);
	if (ret)
		return ret;
	/* SREGS2 adds the PAE PDPTRs, which KVM_SET_SREGS would reload from
	 * guest memory (possibly changed since), and drops the interrupt
	 * bitmap, which the events carry. */
	if (vm_cap(v, KVM_CAP_SREGS2))
		ret = SAVE_ONE(v, b, VCPU_REC_SREGS2, KVM_GET_SREGS2,
			       &u.sregs2);
	else
		ret = SAVE_ONE(v, b, VCPU_REC_SREGS, KVM_GET_SREGS, &u.sregs);
	if (ret)
		return ret;
	ret = save_fpu(v, b);
	if (ret)
		return ret;
	if (vm_cap(v, KVM_CAP_XCRS)) {
		ret = SAVE_ONE(v, b, VCPU_REC_XCRS, KVM_GET_XCRS, &u.xcrs);
		if (ret)
			return ret;
	}
	if (v->vm->irqchip) {
		ret = SAVE_ONE(v, b, VCPU_REC_LAPIC, KVM_GET_LAPIC, &u.lapic);
		if (ret)
			return ret;
	}
	ret = save_msrs(v, b);
	if (ret)
		return ret;
	if (vm_cap(v, KVM_CAP_DEBUGREGS)) {
		ret = SAVE_ONE(v, b, VCPU_REC_DEBUGREGS, KVM_GET_DEBUGREGS,
			       &u.debugregs);
		if (ret)
			return ret;
	}
	ret = save_nested(v, b);
	if (ret)
		return ret;
	put_record(b, VCPU_REC_END, NULL, 0);
	return b->err;
}

/* What vcpu_restore() read, checked, before it touches KVM. */
struct vcpu_saved {
	uint32_t have;		/* bit 1 << tag for each record read */
	struct kvm_mp_state mp_state;
	struct kvm_vcpu_events events;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_sregs2 sregs2;
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_debugregs debugregs;
	struct kvm_xsave *xsave;	/* as long as this KVM's XSAVE area */
	struct kvm_msr_entry *msrs;
	unsigned nmsrs;
	struct kvm_nested_state *nested;
};

#define HAVE(tag) (1u << (tag))

static void saved_free(struct vcpu_saved *s)
{
	free(s->xsave);
	free(s->msrs);
	free(s->nested);
	free(s);
}

/*
 * Read one record's bytes into p. A record must come once and have exactly
 * the length of its structure; anything else makes the state invalid.
 */
static int read_fixed(struct vcpu *v, struct state_rd *r, uint32_t tag,
		      uint32_t len, void *p, size_t size)
{
	if (len != size) {
		pr_debug("vCPU %u: saved record %u is %u bytes, not %zu", v->id,
			 tag, len, size);
		return -EBADMSG;
	}
	state_get(r, p, size);
	return r->err;
}

/*
 * Read a record of variable length (at most max bytes) into a new buffer
 * of alloc bytes (alloc >= len), zero past len.
 */
static int read_alloc(struct vcpu *v, struct state_rd *r, uint32_t tag,
		      uint32_t len, size_t min, size_t max, size_t alloc,
		      void **out)
{
	void *p;

	if (len < min || len > max || len > alloc) {
		pr_debug("vCPU %u: saved record %u is %u bytes, outside "
			 "[%zu, %zu]", v->id, tag, len, min,
			 max < alloc ? max : alloc);
		return -EBADMSG;
	}
	p = calloc(1, alloc);
	if (!p)
		return -ENOMEM;
	state_get(r, p, len);
	*out = p;
	return r->err;
}

static int read_msrs_record(struct vcpu *v, struct state_rd *r, uint32_t len,
			    struct vcpu_saved *s)
{
	size_t n = len / sizeof(s->msrs[0]);
	size_t i;
	int ret;

	if (len % sizeof(s->msrs[0]) || n == 0 || n > MSRS_MAX) {
		pr_debug("vCPU %u: saved MSRs: bad length %u", v->id, len);
		return -EBADMSG;
	}
	ret = read_alloc(v, r, VCPU_REC_MSRS, len, len, len, len,
			 (void **)&s->msrs);
	if (ret)
		return ret;
	s->nmsrs = (unsigned)n;
	for (i = 0; i < n; i++)
		if (s->msrs[i].reserved != 0)
			return -EBADMSG;
	return 0;
}

/* Read every record up to END into s; nothing reaches KVM yet. */
static int read_saved(struct vcpu *v, struct state_rd *r,
		      struct vcpu_saved *s)
{
	size_t xsave_len = xsave_size(v);
	int nested_max = vm_cap(v, KVM_CAP_NESTED_STATE);

	for (;;) {
		uint32_t tag = state_get_u32(r), len = state_get_u32(r);
		int ret;

		if (r->err)
			return -EBADMSG;
		if (tag == VCPU_REC_END)
			return len == 0 ? 0 : -EBADMSG;
		if (tag > VCPU_REC_NESTED) {
			pr_debug("vCPU %u: unknown saved record %u", v->id,
				 tag);
			return -EBADMSG;
		}
		if (s->have & HAVE(tag)) {
			pr_debug("vCPU %u: saved record %u twice", v->id, tag);
			return -EBADMSG;
		}
		s->have |= HAVE(tag);
		switch (tag) {
		case VCPU_REC_MP_STATE:
			ret = read_fixed(v, r, tag, len, &s->mp_state,
					 sizeof(s->mp_state));
			break;
		case VCPU_REC_EVENTS:
			ret = read_fixed(v, r, tag, len, &s->events,
					 sizeof(s->events));
			break;
		case VCPU_REC_REGS:
			ret = read_fixed(v, r, tag, len, &s->regs,
					 sizeof(s->regs));
			break;
		case VCPU_REC_SREGS:
			ret = read_fixed(v, r, tag, len, &s->sregs,
					 sizeof(s->sregs));
			break;
		case VCPU_REC_SREGS2:
			ret = read_fixed(v, r, tag, len, &s->sregs2,
					 sizeof(s->sregs2));
			break;
		case VCPU_REC_FPU:
			ret = read_fixed(v, r, tag, len, &s->fpu,
					 sizeof(s->fpu));
			break;
		case VCPU_REC_XCRS:
			ret = read_fixed(v, r, tag, len, &s->xcrs,
					 sizeof(s->xcrs));
			break;
		case VCPU_REC_LAPIC:
			ret = read_fixed(v, r, tag, len, &s->lapic,
					 sizeof(s->lapic));
			break;
		case VCPU_REC_DEBUGREGS:
			ret = read_fixed(v, r, tag, len, &s->debugregs,
					 sizeof(s->debugregs));
			break;
		case VCPU_REC_XSAVE:
			/* KVM_SET_XSAVE reads this KVM's whole size. */
			if (xsave_len == 0)
				return -ENOTSUP;
			ret = read_alloc(v, r, tag, len,
					 sizeof(struct kvm_xsave), XSAVE_MAX,
					 xsave_len, (void **)&s->xsave);
			break;
		case VCPU_REC_MSRS:
			ret = read_msrs_record(v, r, len, s);
			break;
		case VCPU_REC_NESTED:
			if (nested_max <= 0)
				return -ENOTSUP;
			ret = read_alloc(v, r, tag, len,
					 sizeof(struct kvm_nested_state),
					 NESTED_MAX, (size_t)nested_max,
					 (void **)&s->nested);
			if (!ret && s->nested->size != len)
				ret = -EBADMSG;
			break;
		default:
			ret = -EBADMSG;
			break;
		}
		if (ret)
			return ret;
	}
}

/* The records a state must have, and those this KVM and VM can take. */
static int check_saved(struct vcpu *v, const struct vcpu_saved *s)
{
	uint32_t sregs = s->have & (HAVE(VCPU_REC_SREGS) |
				    HAVE(VCPU_REC_SREGS2));
	uint32_t fpu = s->have & (HAVE(VCPU_REC_XSAVE) | HAVE(VCPU_REC_FPU));
	bool lapic = s->have & HAVE(VCPU_REC_LAPIC);

	/* One of each pair, not both: two values of the same registers. */
	if (!(s->have & HAVE(VCPU_REC_REGS)) ||
	    !(s->have & HAVE(VCPU_REC_MSRS)) || !sregs ||
	    (sregs & (sregs - 1)) || !fpu || (fpu & (fpu - 1)) ||
	    (v->vm->irqchip && !lapic)) {
		pr_debug("vCPU %u: saved state lacks a required record "
			 "(have %#x)", v->id, s->have);
		return -EBADMSG;
	}
	if (lapic && !v->vm->irqchip) {
		pr_debug("vCPU %u: saved local APIC, but no in-kernel irqchip",
			 v->id);
		return -ENOTSUP;
	}
	if ((s->have & HAVE(VCPU_REC_SREGS2) && !vm_cap(v, KVM_CAP_SREGS2)) ||
	    (s->have & HAVE(VCPU_REC_XCRS) && !vm_cap(v, KVM_CAP_XCRS)) ||
	    (s->have & HAVE(VCPU_REC_EVENTS) &&
	     !vm_cap(v, KVM_CAP_VCPU_EVENTS)) ||
	    (s->have & HAVE(VCPU_REC_DEBUGREGS) &&
	     !vm_cap(v, KVM_CAP_DEBUGREGS)) ||
	    (s->have & HAVE(VCPU_REC_MP_STATE) &&
	     !vm_cap(v, KVM_CAP_MP_STATE))) {
		pr_debug("vCPU %u: saved state needs what this KVM lacks "
			 "(have %#x)", v->id, s->have);
		return -ENOTSUP;
	}
	return 0;
}

static int restore_one(struct vcpu *v, unsigned long req, const char *name,
		       const void *p)
{
	if (ioctl(v->fd, req, p) < 0) {
		int ret = -errno;

		pr_debug("vCPU %u: %s: %s", v->id, name, strerror(errno));
		return ret;
	}
	return 0;
}

#define RESTORE_ONE(v, req, p) restore_one(v, req, #req, p)

/*
 * KVM_SET_MSRS in chunks; KVM returns how many it set and stops at the
 * first it refuses. Either every MSR but the TSC deadline, or only the TSC
 * deadline: KVM arms that timer only when the local APIC (restored before)
 * is in TSC-deadline mode, and computes it from the TSC, which must be
 * final by then (restore_tsc()).
 */
static int write_msrs(struct vcpu *v, const struct kvm_msr_entry *e,
		      unsigned n, bool deadline)
{
	struct kvm_msr_entry *pick;
	struct kvm_msrs *buf;
	unsigned i, k = 0, done;
	int ret = 0;

	pick = malloc(n * sizeof(*pick));
	buf = malloc(sizeof(*buf) + MSR_CHUNK * sizeof(buf->entries[0]));
	if (!pick || !buf) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((e[i].index == MSR_IA32_TSC_DEADLINE) == deadline)
			pick[k++] = e[i];
	for (done = 0; done < k;) {
		unsigned cnt = k - done < MSR_CHUNK ? k - done : MSR_CHUNK;
		int set;

		memset(buf, 0, sizeof(*buf));
		buf->nmsrs = cnt;
		memcpy(buf->entries, pick + done, cnt * sizeof(pick[0]));
		set = ioctl(v->fd, KVM_SET_MSRS, buf);
		if (set < 0) {
			ret = -errno;
			pr_debug("vCPU %u: KVM_SET_MSRS: %s", v->id,
				 strerror(errno));
			goto out;
		}
		if ((unsigned)set < cnt) {
			const struct kvm_msr_entry *bad = &pick[done + set];

			pr_debug("vCPU %u: KVM refuses MSR %#x = %#llx", v->id,
				 bad->index, (unsigned long long)bad->data);
			ret = -EINVAL;
			goto out;
		}
		done += cnt;
	}
out:
	free(buf);
	free(pick);
	return ret;
}

/*
 * Make sure the first vCPU restored in a VM gets its saved TSC. KVM takes
 * a host write of MSR_IA32_TSC within a second of the VM's own TSC as an
 * attempt to synchronize the vCPUs, and gives the vCPU the VM's offset
 * instead of the value written. Since Linux 6.7 it does so only after a
 * first write from userspace; before, also for that first write, so a
 * guest saved within a second of its start would come back with the new
 * VM's TSC, up to a second behind. The first vCPU's TSC is therefore
 * checked, and set exactly through its TSC offset (KVM_VCPU_TSC_OFFSET,
 * since Linux 5.16) when KVM moved it; the other vCPUs' writes then match
 * the first one's by the same rule, which keeps the vCPUs' TSCs together
 * as they were when saved.
 */
static int restore_tsc(struct vcpu *v, const struct vcpu_saved *s)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} tsc = { .hdr.nmsrs = 1, .e.index = MSR_IA32_TSC };
	struct kvm_device_attr attr = {
		.group = KVM_VCPU_TSC_CTRL,
		.attr = KVM_VCPU_TSC_OFFSET,
	};
	uint64_t saved = 0, offset;
	bool found = false;
	unsigned i;

	for (i = 0; i < s->nmsrs; i++)
		if (s->msrs[i].index == MSR_IA32_TSC) {
			saved = s->msrs[i].data;
			found = true;
		}
	if (!found || v->vm->tsc_restored)
		return 0;
	v->vm->tsc_restored = true;
	if (ioctl(v->fd, KVM_HAS_DEVICE_ATTR, &attr) < 0) {
		pr_debug("vCPU %u: no KVM_VCPU_TSC_OFFSET: the TSC is what "
			 "KVM_SET_MSRS made it", v->id);
		return 0;
	}
	attr.addr = (uintptr_t)&offset;
	/* The offset first: the TSC read next counts with it. */
	if (ioctl(v->fd, KVM_GET_DEVICE_ATTR, &attr) < 0 ||
	    ioctl(v->fd, KVM_GET_MSRS, &tsc) != 1) {
		pr_debug("vCPU %u: reading the TSC: %s", v->id,
			 strerror(errno));
		return -errno;
	}
	if (tsc.e.data == saved)
		return 0;
	pr_debug("vCPU %u: KVM set the TSC to %llu, not %llu: setting its "
		 "offset", v->id, (unsigned long long)tsc.e.data,
		 (unsigned long long)saved);
	/* Modulo 2^64, like the TSC and its offset. */
	offset += saved - tsc.e.data;
	if (ioctl(v->fd, KVM_SET_DEVICE_ATTR, &attr) < 0) {
		pr_debug("vCPU %u: KVM_SET_DEVICE_ATTR (TSC offset): %s",
			 v->id, strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * Give the state to KVM, in an order that respects what each KVM_SET_*
 * does to the others (QEMU and Firecracker restore in much the same order):
 *
 * 1. SREGS2 (or SREGS) first: CR0, CR4 and EFER set the mode in which
 *    everything after is interpreted, and the APIC base MSR, which
 *    KVM_SET_LAPIC uses, comes with them.
 * 2. Nested state needs EFER.SVME or CR4.VMXE from the special registers.
 * 3. REGS: setting them drops a pending exception, which the events
 *    (step 7) put back.
 * 4. XSAVE (or FPU), then XCRS.
 * 5. LAPIC after the APIC base (step 1).
 * 6. MSRs after the LAPIC; the TSC is made exact (restore_tsc()) before
 *    the TSC deadline is written (write_msrs()). The TSC goes on from the
 *    saved value: like the clock (vm_restore()), it does not count the
 *    time the snapshot was stored.
 * 7. VCPU_EVENTS after REGS; they also carry the SMM state where KVM has
 *    SMM.
 * 8. MP_STATE after the LAPIC and the events: an INIT or SIPI state needs
 *    the local APIC, and KVM refuses it while the events say SMM.
 * 9. DEBUGREGS last, as QEMU does.
 */
static int apply_saved(struct vcpu *v, const struct vcpu_saved *s)
{
	int ret;

	if (s->have & HAVE(VCPU_REC_SREGS2))
		ret = RESTORE_ONE(v, KVM_SET_SREGS2, &s->sregs2);
	else
		ret = RESTORE_ONE(v, KVM_SET_SREGS, &s->sregs);
	if (!ret && s->nested)
		ret = RESTORE_ONE(v, KVM_SET_NESTED_STATE, s->nested);
	if (!ret)
		ret = RESTORE_ONE(v, KVM_SET_REGS, &s->regs);
	if (!ret && s->xsave)
		ret = RESTORE_ONE(v, KVM_SET_XSAVE, s->xsave);
	else if (!ret)
		ret = RESTORE_ONE(v, KVM_SET_FPU, &s->fpu);
	if (!ret && s->have & HAVE(VCPU_REC_XCRS))
		ret = RESTORE_ONE(v, KVM_SET_XCRS, &s->xcrs);
	if (!ret && s->have & HAVE(VCPU_REC_LAPIC))
		ret = RESTORE_ONE(v, KVM_SET_LAPIC, &s->lapic);
	if (!ret)
		ret = write_msrs(v, s->msrs, s->nmsrs, false);
	if (!ret)
		ret = restore_tsc(v, s);
	if (!ret)
		ret = write_msrs(v, s->msrs, s->nmsrs, true);
	if (!ret && s->have & HAVE(VCPU_REC_EVENTS))
		ret = RESTORE_ONE(v, KVM_SET_VCPU_EVENTS, &s->events);
	if (!ret && s->have & HAVE(VCPU_REC_MP_STATE))
		ret = RESTORE_ONE(v, KVM_SET_MP_STATE, &s->mp_state);
	if (!ret && s->have & HAVE(VCPU_REC_DEBUGREGS))
		ret = RESTORE_ONE(v, KVM_SET_DEBUGREGS, &s->debugregs);
	return ret;
}

int vcpu_restore(struct vcpu *v, struct state_rd *r)
{
	struct vcpu_saved *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	ret = read_saved(v, r, s);
	if (!ret)
		ret = check_saved(v, s);
	if (!ret)
		ret = apply_saved(v, s);
	saved_free(s);
	return ret;
}
