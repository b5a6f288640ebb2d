/* SPDX-License-Identifier: MIT */
/*
 * Tests for vcpu_save()/vcpu_restore() and vm_save()/vm_restore()
 * (minivmm/vcpu.h, minivmm/vm.h) on the real KVM.
 *
 * Each test builds two machines (a VM with 2 MiB of libvmmem memory at GPA
 * 0, registered as a memory slot, and one vCPU): state is set on the first,
 * saved, restored into the second and read back with KVM's own KVM_GET_*
 * ioctls, field by field. A tiny guest stopped at a port exit goes on,
 * restored, to the same next exit. Malformed state is refused with
 * -EBADMSG before KVM sees any of it. Without a usable /dev/kvm every test
 * is skipped, with a message saying so.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <vmmem/memory.h>

#include "../minivmm/state.h"
#include "../minivmm/vcpu.h"
#include "../minivmm/vm.h"
#include "sysmock.h"

#define MEM_SIZE (2ull << 20)
#define CODE_GPA 0x1000ull

/* The record tags vcpu.c and vm.c write (the saved format). */
#define VCPU_REC_END 0
#define VCPU_REC_MP_STATE 1
#define VCPU_REC_EVENTS 2
#define VCPU_REC_REGS 3
#define VCPU_REC_SREGS 4
#define VCPU_REC_SREGS2 5
#define VCPU_REC_XSAVE 6
#define VCPU_REC_FPU 7
#define VCPU_REC_XCRS 8
#define VCPU_REC_LAPIC 9
#define VCPU_REC_MSRS 10
#define VCPU_REC_DEBUGREGS 11
#define VCPU_REC_NESTED 12
#define VM_REC_IRQCHIP 0x100
#define VM_REC_PIT2 0x101
#define VM_REC_CLOCK 0x102

/* MSRs the tests set. */
#define MSR_IA32_TSC 0x10u
#define MSR_IA32_SYSENTER_CS 0x174u
#define MSR_IA32_SYSENTER_ESP 0x175u
#define MSR_IA32_SYSENTER_EIP 0x176u
#define MSR_PAT 0x277u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MSR_TSC_AUX 0xc0000103u

/* Local APIC registers (offsets in struct kvm_lapic_state). */
#define APIC_TPR 0x80
#define APIC_SPIV 0xf0
#define APIC_LVTT 0x320
#define APIC_TMCCT 0x390

/*
 * The guest, 32-bit protected mode code at CODE_GPA (vcpu_setup_pvh()'s
 * state): four port accesses, each an exit to the VMM.
 */
static const uint8_t guest_code[] = {
	0xb8, 0x44, 0x33, 0x22, 0x11, /* 0x1000 mov $0x11223344, %eax */
	0xe6, 0x80,		      /* 0x1005 out %al, $0x80 */
	0x40,			      /* 0x1007 inc %eax */
	0xe6, 0x81,		      /* 0x1008 out %al, $0x81 */
	0xe4, 0x82,		      /* 0x100a in $0x82, %al */
	0xe6, 0x83,		      /* 0x100c out %al, $0x83 */
	0xeb, 0xfe,		      /* 0x100e jmp . */
};

struct machine {
	struct vm vm;
	struct vmmem *mem;
	struct vcpu vcpu;
	bool has_vm, has_vcpu;
};

struct fixture {
	struct machine src, dst;
	struct state_buf b;
};

static bool have_kvm;

static int group_setup(void **state)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	(void)state;
	if (fd < 0) {
		fprintf(stderr,
			"skipped: cannot open /dev/kvm (%s): the KVM "
			"state tests need KVM\n",
			strerror(errno));
		return 0;
	}
	have_kvm = ioctl(fd, KVM_GET_API_VERSION, 0) == KVM_API_VERSION;
	if (!have_kvm)
		fprintf(stderr,
			"skipped: /dev/kvm does not speak KVM API "
			"version %d: the KVM state tests need KVM\n",
			KVM_API_VERSION);
	close(fd);
	return 0;
}

static void machine_fini(struct machine *m)
{
	if (m->has_vcpu)
		vcpu_fini(&m->vcpu);
	if (m->has_vm)
		vm_fini(&m->vm);
	vmmem_destroy(m->mem);
	memset(m, 0, sizeof(*m));
}

static int machine_init(struct machine *m)
{
	const struct vmmem_range ram = { .gpa = 0, .len = MEM_SIZE };

	memset(m, 0, sizeof(*m));
	if (vm_init(&m->vm))
		return -1;
	m->has_vm = true;
	if (vmmem_create_anon(&ram, 1, 0, &m->mem) ||
	    vm_set_memory(&m->vm, m->mem, false) ||
	    vcpu_init(&m->vm, 0, &m->vcpu)) {
		machine_fini(m);
		return -1;
	}
	m->has_vcpu = true;
	return 0;
}

static int setup(void **state)
{
	struct fixture *f;

	*state = NULL;
	if (!have_kvm)
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	if (machine_init(&f->src) || machine_init(&f->dst)) {
		machine_fini(&f->src);
		free(f);
		return -1;
	}
	state_buf_init(&f->b);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sysmock_reset();
	if (!f)
		return 0;
	state_buf_fini(&f->b);
	machine_fini(&f->dst);
	machine_fini(&f->src);
	free(f);
	return 0;
}

/* The fixture, or skip the test when there is no KVM. */
static struct fixture *need_kvm(void **state)
{
	if (!have_kvm)
		skip();
	return *state;
}

#define KVM_OK(fd, req, p)                                                     \
	do {                                                                   \
		if (ioctl(fd, req, p) < 0)                                     \
			fail_msg("%s: %s", #req, strerror(errno));             \
	} while (0)

static int cap(struct machine *m, long c)
{
	int r = ioctl(m->vm.vm_fd, KVM_CHECK_EXTENSION, c);

	return r < 0 ? 0 : r;
}

static bool set_msr(struct machine *m, uint32_t index, uint64_t data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} msrs = { .hdr.nmsrs = 1, .e = { .index = index, .data = data } };

	return ioctl(m->vcpu.fd, KVM_SET_MSRS, &msrs) == 1;
}

static bool get_msr(struct machine *m, uint32_t index, uint64_t *data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} msrs = { .hdr.nmsrs = 1, .e = { .index = index } };

	if (ioctl(m->vcpu.fd, KVM_GET_MSRS, &msrs) != 1)
		return false;
	*data = msrs.e.data;
	return true;
}

static uint64_t msr(struct machine *m, uint32_t index)
{
	uint64_t data = 0;

	if (!get_msr(m, index, &data))
		fail_msg("MSR %#x does not read", index);
	return data;
}

/* Save src's vCPU into f->b and restore it into dst's. */
static void save_and_restore_vcpu(struct fixture *f)
{
	struct state_rd r;

	assert_int_equal(vcpu_save(&f->src.vcpu, &f->b), 0);
	state_rd_init(&r, f->b.data, f->b.len);
	assert_int_equal(vcpu_restore(&f->dst.vcpu, &r), 0);
	assert_int_equal(state_rd_end(&r), 0);
}

/* vcpu_restore() on data[0, len) of a saved state. */
static int restore_bytes(struct machine *m, const void *data, size_t len)
{
	struct state_rd r;

	state_rd_init(&r, data, len);
	return vcpu_restore(&m->vcpu, &r);
}

static int vm_restore_bytes(struct machine *m, const void *data, size_t len)
{
	struct state_rd r;

	state_rd_init(&r, data, len);
	return vm_restore(&m->vm, &r);
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* Offset of the first record with this tag in a saved state, or -1. */
static long find_record(const struct state_buf *b, uint32_t tag)
{
	size_t off = 0;

	while (off + 8 <= b->len) {
		if (get_u32(b->data + off) == tag)
			return (long)off;
		off += 8 + get_u32(b->data + off + 4);
	}
	return -1;
}

/* The bytes of a record (header included), or fail. */
static size_t record_size(const struct state_buf *b, long off)
{
	assert_true(off >= 0);
	return 8 + get_u32(b->data + off + 4);
}

/* A copy of b without the record at off. */
static uint8_t *without_record(const struct state_buf *b, long off, size_t *len)
{
	size_t n = record_size(b, off);
	uint8_t *p = malloc(b->len);

	assert_non_null(p);
	memcpy(p, b->data, (size_t)off);
	memcpy(p + off, b->data + off + n, b->len - (size_t)off - n);
	*len = b->len - n;
	return p;
}

/* A copy of b with extra bytes inserted at off. */
static uint8_t *with_bytes(const struct state_buf *b, long off,
			   const void *extra, size_t n, size_t *len)
{
	uint8_t *p = malloc(b->len + n);

	assert_non_null(p);
	memcpy(p, b->data, (size_t)off);
	memcpy(p + off, extra, n);
	memcpy(p + off + n, b->data + off, b->len - (size_t)off);
	*len = b->len + n;
	return p;
}

/* KVM's reset RIP; a vCPU that kept it was not restored into. */
static void assert_untouched(struct machine *m)
{
	struct kvm_regs regs;

	KVM_OK(m->vcpu.fd, KVM_GET_REGS, &regs);
	assert_int_equal(regs.rip, 0xfff0);
}

static void test_kvmstate_restores_general_registers(void **state)
{
	struct fixture *f = need_kvm(state);
	struct kvm_regs set = {
		.rax = 0x1111111111111111ull,
		.rbx = 0x2222222222222222ull,
		.rcx = 0x3333333333333333ull,
		.rdx = 0x4444444444444444ull,
		.rsi = 0x5555555555555555ull,
		.rdi = 0x6666666666666666ull,
		.rsp = 0x7777777777777770ull,
		.rbp = 0x8888888888888888ull,
		.r8 = 0x0808080808080808ull,
		.r9 = 0x0909090909090909ull,
		.r10 = 0x1010101010101010ull,
		.r11 = 0x1111000011110000ull,
		.r12 = 0x1212121212121212ull,
		.r13 = 0x1313131313131313ull,
		.r14 = 0x1414141414141414ull,
		.r15 = 0xf15f15f15f15f15full,
		.rip = 0xfedcba98,
		.rflags = 0x2 | 0x1 | 0x40 | 0x800, /* CF, ZF, OF */
	};
	struct kvm_regs got;

	KVM_OK(f->src.vcpu.fd, KVM_SET_REGS, &set);
	save_and_restore_vcpu(f);
	KVM_OK(f->dst.vcpu.fd, KVM_GET_REGS, &got);
	assert_int_equal(got.rip, set.rip);
	assert_int_equal(got.rax, set.rax);
	assert_int_equal(got.r15, set.r15);
	assert_int_equal(got.rflags, set.rflags);
	assert_memory_equal(&got, &set, sizeof(got));
}

static void test_kvmstate_restores_special_registers(void **state)
{
	struct fixture *f = need_kvm(state);
	struct kvm_sregs want, got;

	/* Long mode with paging: CR0, CR3, CR4, EFER, GDT, IDT, TR. */
	assert_int_equal(vcpu_setup_long64(&f->src.vcpu, 0x100000, 0x7000), 0);
	KVM_OK(f->src.vcpu.fd, KVM_GET_SREGS, &want);
	want.cr2 = 0xffff800012345000ull;
	want.fs.base = 0x7f0000001000ull;
	want.gs.base = 0xffff888000000000ull;
	KVM_OK(f->src.vcpu.fd, KVM_SET_SREGS, &want);
	KVM_OK(f->src.vcpu.fd, KVM_GET_SREGS, &want);
	save_and_restore_vcpu(f);
	KVM_OK(f->dst.vcpu.fd, KVM_GET_SREGS, &got);
	assert_int_equal(got.cr0, 0x80000011);
	assert_int_equal(got.cr4, 0x20);
	assert_int_equal(got.efer, 0x500);
	assert_int_equal(got.cr3, want.cr3);
	assert_int_equal(got.cr2, want.cr2);
	assert_int_equal(got.cs.selector, 0x08);
	assert_int_equal(got.cs.l, 1);
	assert_int_equal(got.apic_base, want.apic_base);
	assert_memory_equal(&got, &want, sizeof(got));
	if (cap(&f->src, KVM_CAP_SREGS2)) {
		struct kvm_sregs2 want2, got2;

		KVM_OK(f->src.vcpu.fd, KVM_GET_SREGS2, &want2);
		KVM_OK(f->dst.vcpu.fd, KVM_GET_SREGS2, &got2);
		assert_memory_equal(&got2, &want2, sizeof(got2));
	}
}

static void test_kvmstate_restores_msrs(void **state)
{
	struct fixture *f = need_kvm(state);
	static const struct {
		uint32_t index;
		uint64_t data;
	} set[] = {
		{ MSR_IA32_SYSENTER_CS, 0x10 },
		/* 32 bits: on AMD, KVM keeps only those of these two. */
		{ MSR_IA32_SYSENTER_ESP, 0x80123000 },
		{ MSR_IA32_SYSENTER_EIP, 0x81000040 },
		{ MSR_STAR, 0x0023001000000000ull },
		{ MSR_LSTAR, 0xffffffff81000080ull },
		{ MSR_KERNEL_GS_BASE, 0x00007f1234560000ull },
		{ MSR_PAT, 0x0007010600070106ull },
		{ MSR_TSC_AUX, 0x2a },
	};
	bool was_set[sizeof(set) / sizeof(set[0])];
	unsigned i;

	for (i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
		was_set[i] = set_msr(&f->src, set[i].index, set[i].data);
		/* TSC_AUX exists only where the CPU has RDTSCP or RDPID. */
		if (!was_set[i] && set[i].index == MSR_TSC_AUX)
			print_message("kvmstate: no TSC_AUX on this host\n");
		else if (!was_set[i])
			fail_msg("cannot set MSR %#x", set[i].index);
	}
	save_and_restore_vcpu(f);
	for (i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
		uint64_t got = was_set[i] ? msr(&f->dst, set[i].index) : 0;

		if (was_set[i] && got != set[i].data)
			fail_msg("MSR %#x is %#llx, not %#llx", set[i].index,
				 (unsigned long long)got,
				 (unsigned long long)set[i].data);
	}
}

/*
 * The restored TSC goes on from the saved value: not below what the guest
 * could have read before the save, and behind the original, which kept
 * counting while the copy was made.
 */
static void test_kvmstate_restores_the_tsc_without_going_back(void **state)
{
	struct fixture *f = need_kvm(state);
	uint64_t before, restored, original;

	before = msr(&f->src, MSR_IA32_TSC);
	save_and_restore_vcpu(f);
	restored = msr(&f->dst, MSR_IA32_TSC);
	original = msr(&f->src, MSR_IA32_TSC);
	if (restored < before || restored > original)
		fail_msg("TSC: %llu before the save, %llu restored, %llu in "
			 "the original",
			 (unsigned long long)before,
			 (unsigned long long)restored,
			 (unsigned long long)original);
}

static bool tsc_offset(struct vcpu *v, uint64_t *offset)
{
	struct kvm_device_attr attr = {
		.group = KVM_VCPU_TSC_CTRL,
		.attr = KVM_VCPU_TSC_OFFSET,
		.addr = (uintptr_t)offset,
	};

	return ioctl(v->fd, KVM_GET_DEVICE_ATTR, &attr) == 0;
}

/*
 * Two vCPUs with one TSC offset (their TSCs in step) are restored with one
 * offset again: the second vCPU's TSC is matched to the first's.
 */
static void test_kvmstate_restored_vcpus_keep_their_tscs_in_step(void **state)
{
	struct fixture *f = need_kvm(state);
	struct vcpu src1, dst1;
	uint64_t src_off[2], dst_off[2];
	struct state_buf b1;
	struct state_rd r;

	assert_int_equal(vcpu_init(&f->src.vm, 1, &src1), 0);
	assert_int_equal(vcpu_init(&f->dst.vm, 1, &dst1), 0);
	if (!tsc_offset(&f->src.vcpu, &src_off[0])) {
		print_message("kvmstate: no KVM_VCPU_TSC_OFFSET on this host\n");
		vcpu_fini(&dst1);
		vcpu_fini(&src1);
		skip();
	}
	assert_true(tsc_offset(&src1, &src_off[1]));
	assert_int_equal(src_off[0], src_off[1]);
	state_buf_init(&b1);
	assert_int_equal(vcpu_save(&f->src.vcpu, &f->b), 0);
	assert_int_equal(vcpu_save(&src1, &b1), 0);
	state_rd_init(&r, f->b.data, f->b.len);
	assert_int_equal(vcpu_restore(&f->dst.vcpu, &r), 0);
	state_rd_init(&r, b1.data, b1.len);
	assert_int_equal(vcpu_restore(&dst1, &r), 0);
	assert_true(tsc_offset(&f->dst.vcpu, &dst_off[0]));
	assert_true(tsc_offset(&dst1, &dst_off[1]));
	assert_int_equal(dst_off[0], dst_off[1]);
	state_buf_fini(&b1);
	vcpu_fini(&dst1);
	vcpu_fini(&src1);
}

/* Byte offsets in the XSAVE area (its legacy part is FXSAVE's). */
#define XSAVE_FCW 0
#define XSAVE_MXCSR 24
#define XSAVE_MXCSR_MASK 28
#define XSAVE_XMM0 160
#define XSAVE_XMM15 (160 + 15 * 16)
#define XSAVE_XSTATE_BV 512

static void test_kvmstate_restores_fpu_and_sse_registers(void **state)
{
	struct fixture *f = need_kvm(state);
	static const uint8_t xmm0[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
					  0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
					  0xcc, 0xdd, 0xee, 0xff };
	static const uint8_t xmm15[16] = {
		0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
	};
	const uint16_t fcw = 0x027f;   /* 53-bit precision */
	const uint32_t mxcsr = 0x7f80; /* round toward zero */
	struct kvm_xsave xs, got;
	struct kvm_fpu fpu;
	uint64_t bv;

	if (!cap(&f->src, KVM_CAP_XSAVE)) {
		KVM_OK(f->src.vcpu.fd, KVM_GET_FPU, &fpu);
		fpu.fcw = fcw;
		fpu.mxcsr = mxcsr;
		memcpy(fpu.xmm[0], xmm0, 16);
		memcpy(fpu.xmm[15], xmm15, 16);
		KVM_OK(f->src.vcpu.fd, KVM_SET_FPU, &fpu);
		save_and_restore_vcpu(f);
		KVM_OK(f->dst.vcpu.fd, KVM_GET_FPU, &fpu);
		assert_int_equal(fpu.fcw, fcw);
		assert_int_equal(fpu.mxcsr, mxcsr);
		assert_memory_equal(fpu.xmm[0], xmm0, 16);
		assert_memory_equal(fpu.xmm[15], xmm15, 16);
		return;
	}
	/*
	 * Through XSAVE, with the x87 and SSE bits set in XSTATE_BV: an area
	 * that says they are in their initial state makes KVM ignore the
	 * values. Read back the same way.
	 */
	KVM_OK(f->src.vcpu.fd, KVM_GET_XSAVE, &xs);
	memcpy((uint8_t *)xs.region + XSAVE_FCW, &fcw, sizeof(fcw));
	memcpy((uint8_t *)xs.region + XSAVE_MXCSR, &mxcsr, sizeof(mxcsr));
	memcpy((uint8_t *)xs.region + XSAVE_XMM0, xmm0, 16);
	memcpy((uint8_t *)xs.region + XSAVE_XMM15, xmm15, 16);
	memcpy(&bv, (uint8_t *)xs.region + XSAVE_XSTATE_BV, 8);
	bv |= 0x3;
	memcpy((uint8_t *)xs.region + XSAVE_XSTATE_BV, &bv, 8);
	KVM_OK(f->src.vcpu.fd, KVM_SET_XSAVE, &xs);
	KVM_OK(f->src.vcpu.fd, KVM_GET_XSAVE, &xs);
	save_and_restore_vcpu(f);
	KVM_OK(f->dst.vcpu.fd, KVM_GET_XSAVE, &got);
	assert_memory_equal((uint8_t *)got.region + XSAVE_FCW, &fcw,
			    sizeof(fcw));
	assert_memory_equal((uint8_t *)got.region + XSAVE_MXCSR, &mxcsr,
			    sizeof(mxcsr));
	assert_memory_equal((uint8_t *)got.region + XSAVE_XMM0, xmm0, 16);
	assert_memory_equal((uint8_t *)got.region + XSAVE_XMM15, xmm15, 16);
	/* All of it, but MXCSR_MASK: it describes the CPU, not its state,
	 * and KVM fills it in as it sees fit. */
	memset((uint8_t *)got.region + XSAVE_MXCSR_MASK, 0, 4);
	memset((uint8_t *)xs.region + XSAVE_MXCSR_MASK, 0, 4);
	assert_memory_equal(&got, &xs, sizeof(got));
	/* The x87 control word and XMM registers through KVM_GET_FPU too. */
	KVM_OK(f->dst.vcpu.fd, KVM_GET_FPU, &fpu);
	assert_int_equal(fpu.fcw, fcw);
	assert_memory_equal(fpu.xmm[0], xmm0, 16);
	assert_memory_equal(fpu.xmm[15], xmm15, 16);
}

static void test_kvmstate_restores_xcr0(void **state)
{
	struct fixture *f = need_kvm(state);
	struct kvm_xcrs xcrs;
	unsigned i;

	if (!cap(&f->src, KVM_CAP_XCRS)) {
		print_message("kvmstate: no KVM_CAP_XCRS on this host\n");
		skip();
	}
	KVM_OK(f->src.vcpu.fd, KVM_GET_XCRS, &xcrs);
	for (i = 0; i < xcrs.nr_xcrs; i++)
		if (xcrs.xcrs[i].xcr == 0)
			xcrs.xcrs[i].value = 0x3; /* x87 and SSE */
	KVM_OK(f->src.vcpu.fd, KVM_SET_XCRS, &xcrs);
	save_and_restore_vcpu(f);
	KVM_OK(f->dst.vcpu.fd, KVM_GET_XCRS, &xcrs);
	assert_true(xcrs.nr_xcrs >= 1);
	for (i = 0; i < xcrs.nr_xcrs; i++)
		if (xcrs.xcrs[i].xcr == 0)
			assert_int_equal(xcrs.xcrs[i].value, 0x3);
}

static uint32_t apic_reg(const struct kvm_lapic_state *l, unsigned reg)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], sizeof(v));
	return v;
}

static void set_apic_reg(struct kvm_lapic_state *l, unsigned reg, uint32_t v)
{
	memcpy(&l->regs[reg], &v, sizeof(v));
}

static void test_kvmstate_restores_the_local_apic(void **state)
{
	struct fixture *f = need_kvm(state);
	struct kvm_lapic_state want, got;
	struct kvm_sregs sregs;

	assert_true(f->src.vm.irqchip);
	/* vcpu_setup_long64() also sets LINT0 and LINT1. */
	assert_int_equal(vcpu_setup_long64(&f->src.vcpu, 0x100000, 0x7000), 0);
	KVM_OK(f->src.vcpu.fd, KVM_GET_LAPIC, &want);
	set_apic_reg(&want, APIC_TPR, 0x20);
	set_apic_reg(&want, APIC_SPIV, 0x1ff); /* enabled, vector 0xff */
	set_apic_reg(&want, APIC_LVTT, 0x100ec); /* masked, vector 0xec */
	KVM_OK(f->src.vcpu.fd, KVM_SET_LAPIC, &want);
	KVM_OK(f->src.vcpu.fd, KVM_GET_LAPIC, &want);
	save_and_restore_vcpu(f);
	KVM_OK(f->dst.vcpu.fd, KVM_GET_LAPIC, &got);
	assert_int_equal(apic_reg(&got, APIC_TPR), 0x20);
	assert_int_equal(apic_reg(&got, APIC_SPIV), 0x1ff);
	assert_int_equal(apic_reg(&got, APIC_LVTT), 0x100ec);
	/* Everything else too, but the timer's current count. */
	set_apic_reg(&got, APIC_TMCCT, 0);
	set_apic_reg(&want, APIC_TMCCT, 0);
	assert_memory_equal(&got, &want, sizeof(got));
	/* CR8 is the TPR's priority class. */
	KVM_OK(f->dst.vcpu.fd, KVM_GET_SREGS, &sregs);
	assert_int_equal(sregs.cr8, 2);
}

static void test_kvmstate_restores_debug_registers(void **state)
{
	struct fixture *f = need_kvm(state);
	struct kvm_debugregs want, got;

	if (!cap(&f->src, KVM_CAP_DEBUGREGS)) {
		print_message("kvmstate: no KVM_CAP_DEBUGREGS on this host\n");
		skip();
	}
	KVM_OK(f->src.vcpu.fd, KVM_GET_DEBUGREGS, &want);
	want.db[0] = 0x1000;
	want.db[1] = 0x2008;
	want.db[2] = 0xffffffff81000000ull;
	want.db[3] = 0x7ffff000;
	want.dr7 = 0x400 | 0xff; /* L0-L3, G0-G3 */
	KVM_OK(f->src.vcpu.fd, KVM_SET_DEBUGREGS, &want);
	KVM_OK(f->src.vcpu.fd, KVM_GET_DEBUGREGS, &want);
	save_and_restore_vcpu(f);
	KVM_OK(f->dst.vcpu.fd, KVM_GET_DEBUGREGS, &got);
	assert_int_equal(got.db[0], 0x1000);
	assert_int_equal(got.db[3], 0x7ffff000);
	assert_int_equal(got.dr7, 0x4ff);
	assert_memory_equal(&got, &want, sizeof(got));
}

static void test_kvmstate_restores_events_and_mp_state(void **state)
{
	struct fixture *f = need_kvm(state);
	struct kvm_vcpu_events ev, got;
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_HALTED };

	KVM_OK(f->src.vcpu.fd, KVM_GET_VCPU_EVENTS, &ev);
	ev.nmi.masked = 1;
	ev.nmi.pending = 1;
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING;
	KVM_OK(f->src.vcpu.fd, KVM_SET_VCPU_EVENTS, &ev);
	KVM_OK(f->src.vcpu.fd, KVM_SET_MP_STATE, &mp);
	KVM_OK(f->src.vcpu.fd, KVM_GET_VCPU_EVENTS, &ev);
	save_and_restore_vcpu(f);
	KVM_OK(f->dst.vcpu.fd, KVM_GET_VCPU_EVENTS, &got);
	assert_int_equal(got.nmi.masked, 1);
	assert_int_equal(got.nmi.pending, 1);
	assert_memory_equal(&got, &ev, sizeof(got));
	mp.mp_state = 0xff;
	KVM_OK(f->dst.vcpu.fd, KVM_GET_MP_STATE, &mp);
	assert_int_equal(mp.mp_state, KVM_MP_STATE_HALTED);
}

static uint64_t vm_clock(struct machine *m)
{
	struct kvm_clock_data c;

	memset(&c, 0, sizeof(c));
	KVM_OK(m->vm.vm_fd, KVM_GET_CLOCK, &c);
	return c.clock;
}

static void test_kvmstate_restores_irqchips_pit_and_clock(void **state)
{
	struct fixture *f = need_kvm(state);
	struct kvm_irqchip pic = { .chip_id = KVM_IRQCHIP_PIC_MASTER };
	struct kvm_irqchip ioapic = { .chip_id = KVM_IRQCHIP_IOAPIC };
	struct kvm_irqchip got;
	struct kvm_pit_state2 pit, got_pit;
	uint64_t before, restored, original;
	struct state_rd r;

	assert_true(f->src.vm.irqchip);
	assert_true(f->src.vm.pit);
	KVM_OK(f->src.vm.vm_fd, KVM_GET_IRQCHIP, &pic);
	pic.chip.pic.imr = 0xfa;
	pic.chip.pic.irq_base = 0x20;
	KVM_OK(f->src.vm.vm_fd, KVM_SET_IRQCHIP, &pic);
	KVM_OK(f->src.vm.vm_fd, KVM_GET_IRQCHIP, &ioapic);
	ioapic.chip.ioapic.id = 3;
	/* Pin 3: vector 0x33, level-triggered, masked, to APIC 1. */
	ioapic.chip.ioapic.redirtbl[3].bits =
		0x33 | (1ull << 15) | (1ull << 16) | (1ull << 56);
	KVM_OK(f->src.vm.vm_fd, KVM_SET_IRQCHIP, &ioapic);
	/* Channel 1 (no interrupt): mode 3, count 0x1234. */
	KVM_OK(f->src.vm.vm_fd, KVM_GET_PIT2, &pit);
	pit.channels[1].count = 0x1234;
	pit.channels[1].mode = 3;
	pit.channels[1].rw_mode = 3;
	KVM_OK(f->src.vm.vm_fd, KVM_SET_PIT2, &pit);

	before = vm_clock(&f->src);
	assert_int_equal(vm_save(&f->src.vm, &f->b), 0);
	state_rd_init(&r, f->b.data, f->b.len);
	assert_int_equal(vm_restore(&f->dst.vm, &r), 0);
	assert_int_equal(state_rd_end(&r), 0);
	restored = vm_clock(&f->dst);
	original = vm_clock(&f->src);

	got.chip_id = KVM_IRQCHIP_PIC_MASTER;
	KVM_OK(f->dst.vm.vm_fd, KVM_GET_IRQCHIP, &got);
	assert_int_equal(got.chip.pic.imr, 0xfa);
	assert_int_equal(got.chip.pic.irq_base, 0x20);
	got.chip_id = KVM_IRQCHIP_IOAPIC;
	KVM_OK(f->dst.vm.vm_fd, KVM_GET_IRQCHIP, &got);
	assert_int_equal(got.chip.ioapic.id, 3);
	assert_int_equal(got.chip.ioapic.redirtbl[3].bits,
			 ioapic.chip.ioapic.redirtbl[3].bits);
	assert_memory_equal(&got.chip.ioapic, &ioapic.chip.ioapic,
			    sizeof(got.chip.ioapic));
	KVM_OK(f->dst.vm.vm_fd, KVM_GET_PIT2, &got_pit);
	assert_int_equal(got_pit.channels[1].count, 0x1234);
	assert_int_equal(got_pit.channels[1].mode, 3);
	/* The guest's clock goes on from where it was: no step back, and
	 * behind the original, which went on counting meanwhile. */
	if (restored < before || restored > original)
		fail_msg("clock: %llu ns before the save, %llu restored, %llu "
			 "in the original",
			 (unsigned long long)before,
			 (unsigned long long)restored,
			 (unsigned long long)original);
}

/* Run until the next exit, which must be port I/O; return its data. */
static uint8_t *run_to_port(struct machine *m, uint16_t port, int dir)
{
	struct kvm_run *run = m->vcpu.run;

	if (ioctl(m->vcpu.fd, KVM_RUN, 0) < 0)
		fail_msg("KVM_RUN: %s", strerror(errno));
	if (run->exit_reason != KVM_EXIT_IO)
		fail_msg("exit reason %u, not port I/O", run->exit_reason);
	assert_int_equal(run->io.port, port);
	assert_int_equal(run->io.direction, dir);
	assert_int_equal(run->io.size, 1);
	assert_int_equal(run->io.count, 1);
	return (uint8_t *)run + run->io.data_offset;
}

static void load_guest(struct fixture *f)
{
	assert_int_equal(vmmem_write(f->src.mem, CODE_GPA, guest_code,
				     sizeof(guest_code)),
			 0);
	/* What a snapshot's memory file would bring along. */
	assert_int_equal(vmmem_write(f->dst.mem, CODE_GPA, guest_code,
				     sizeof(guest_code)),
			 0);
	assert_int_equal(vcpu_setup_pvh(&f->src.vcpu, CODE_GPA, 0), 0);
}

/*
 * The machine is saved as a VMM would: the VM's state, then the vCPU's, in
 * one buffer, restored in the same order.
 */
static void save_and_restore_machine(struct fixture *f)
{
	struct state_rd r;

	assert_int_equal(vm_save(&f->src.vm, &f->b), 0);
	assert_int_equal(vcpu_save(&f->src.vcpu, &f->b), 0);
	state_rd_init(&r, f->b.data, f->b.len);
	assert_int_equal(vm_restore(&f->dst.vm, &r), 0);
	assert_int_equal(vcpu_restore(&f->dst.vcpu, &r), 0);
	assert_int_equal(state_rd_end(&r), 0);
}

static void
test_kvmstate_restored_guest_reaches_the_same_next_exit(void **state)
{
	struct fixture *f = need_kvm(state);
	struct kvm_regs regs, want;

	load_guest(f);
	assert_int_equal(*run_to_port(&f->src, 0x80, KVM_EXIT_IO_OUT), 0x44);
	save_and_restore_machine(f);
	/* The save completed the `out`: both go on after it. */
	KVM_OK(f->dst.vcpu.fd, KVM_GET_REGS, &regs);
	assert_int_equal(regs.rip, CODE_GPA + 7);
	assert_int_equal(regs.rax, 0x11223344);
	assert_int_equal(*run_to_port(&f->dst, 0x81, KVM_EXIT_IO_OUT), 0x45);
	assert_int_equal(*run_to_port(&f->src, 0x81, KVM_EXIT_IO_OUT), 0x45);
	KVM_OK(f->src.vcpu.fd, KVM_GET_REGS, &want);
	KVM_OK(f->dst.vcpu.fd, KVM_GET_REGS, &regs);
	assert_memory_equal(&regs, &want, sizeof(regs));
}

static void test_kvmstate_save_completes_a_pending_port_read(void **state)
{
	struct fixture *f = need_kvm(state);
	struct kvm_regs regs;

	load_guest(f);
	run_to_port(&f->src, 0x80, KVM_EXIT_IO_OUT);
	run_to_port(&f->src, 0x81, KVM_EXIT_IO_OUT);
	/* The VMM answers the `in`; KVM puts it in AL on the next entry. */
	*run_to_port(&f->src, 0x82, KVM_EXIT_IO_IN) = 0x5a;
	save_and_restore_machine(f);
	KVM_OK(f->dst.vcpu.fd, KVM_GET_REGS, &regs);
	assert_int_equal(regs.rip, CODE_GPA + 0xc);
	assert_int_equal(regs.rax & 0xff, 0x5a);
	assert_int_equal(*run_to_port(&f->dst, 0x83, KVM_EXIT_IO_OUT), 0x5a);
}

static void test_kvmstate_refuses_truncated_vcpu_state(void **state)
{
	struct fixture *f = need_kvm(state);
	size_t len;

	assert_int_equal(vcpu_save(&f->src.vcpu, &f->b), 0);
	for (len = 0; len < f->b.len; len++)
		if (restore_bytes(&f->dst, f->b.data, len) != -EBADMSG)
			fail_msg("%zu of %zu bytes were accepted", len,
				 f->b.len);
	assert_untouched(&f->dst);
	assert_int_equal(restore_bytes(&f->dst, f->b.data, f->b.len), 0);
}

static void test_kvmstate_refuses_unknown_vcpu_records(void **state)
{
	struct fixture *f = need_kvm(state);
	uint8_t rec[12] = { 0 };
	uint32_t tags[] = { 13, 99, 0xffffffff, VM_REC_CLOCK };
	unsigned i;

	assert_int_equal(vcpu_save(&f->src.vcpu, &f->b), 0);
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		size_t len;
		uint8_t *p;

		put_u32(rec, tags[i]);
		put_u32(rec + 4, 4);
		p = with_bytes(&f->b, find_record(&f->b, VCPU_REC_END), rec,
			       sizeof(rec), &len);
		assert_int_equal(restore_bytes(&f->dst, p, len), -EBADMSG);
		free(p);
	}
	assert_untouched(&f->dst);
}

/* Each record's length, changed to a wrong one, is refused. */
static void test_kvmstate_refuses_wrong_record_lengths(void **state)
{
	struct fixture *f = need_kvm(state);
	static const uint32_t tags[] = {
		VCPU_REC_MP_STATE, VCPU_REC_EVENTS,    VCPU_REC_REGS,
		VCPU_REC_SREGS,	   VCPU_REC_SREGS2,    VCPU_REC_XSAVE,
		VCPU_REC_FPU,	   VCPU_REC_XCRS,      VCPU_REC_LAPIC,
		VCPU_REC_MSRS,	   VCPU_REC_DEBUGREGS, VCPU_REC_NESTED,
	};
	unsigned i, j, tried = 0;

	assert_int_equal(vcpu_save(&f->src.vcpu, &f->b), 0);
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		long off = find_record(&f->b, tags[i]);
		uint32_t len, bad[6];

		if (off < 0)
			continue;
		len = get_u32(f->b.data + off + 4);
		/* Empty, short, long, far too long (no 4 GiB allocation). */
		bad[0] = 0;
		bad[1] = len - 1;
		bad[2] = len + 1;
		bad[3] = len + 8;
		bad[4] = len + (1u << 20);
		bad[5] = 0xffffffffu;
		for (j = 0; j < 6; j++) {
			put_u32(f->b.data + off + 4, bad[j]);
			if (restore_bytes(&f->dst, f->b.data, f->b.len) !=
			    -EBADMSG)
				fail_msg("record %u with %u bytes (not %u) "
					 "was accepted",
					 tags[i], bad[j], len);
			tried++;
		}
		put_u32(f->b.data + off + 4, len);
	}
	assert_true(tried >= 6 * 6);
	assert_untouched(&f->dst);
	assert_int_equal(restore_bytes(&f->dst, f->b.data, f->b.len), 0);
}

static void test_kvmstate_refuses_state_without_a_required_record(void **state)
{
	struct fixture *f = need_kvm(state);
	static const uint32_t required[] = {
		VCPU_REC_REGS,
		VCPU_REC_MSRS,
		VCPU_REC_LAPIC,
		VCPU_REC_END,
	};
	unsigned i;

	assert_int_equal(vcpu_save(&f->src.vcpu, &f->b), 0);
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		size_t len;
		uint8_t *p = without_record(
			&f->b, find_record(&f->b, required[i]), &len);

		if (restore_bytes(&f->dst, p, len) != -EBADMSG)
			fail_msg("state without record %u was accepted",
				 required[i]);
		free(p);
	}
	assert_untouched(&f->dst);
}

static void test_kvmstate_refuses_a_record_given_twice(void **state)
{
	struct fixture *f = need_kvm(state);
	long off;
	size_t len;
	uint8_t *p;

	assert_int_equal(vcpu_save(&f->src.vcpu, &f->b), 0);
	off = find_record(&f->b, VCPU_REC_REGS);
	p = with_bytes(&f->b, off, f->b.data + off, record_size(&f->b, off),
		       &len);
	assert_int_equal(restore_bytes(&f->dst, p, len), -EBADMSG);
	free(p);
	assert_untouched(&f->dst);
}

static void test_kvmstate_refuses_malformed_vm_state(void **state)
{
	struct fixture *f = need_kvm(state);
	uint8_t rec[8];
	size_t len, n;
	long off;
	uint8_t *p;

	assert_int_equal(vm_save(&f->src.vm, &f->b), 0);
	for (len = 0; len < f->b.len; len++)
		if (vm_restore_bytes(&f->dst, f->b.data, len) != -EBADMSG)
			fail_msg("%zu of %zu bytes were accepted", len,
				 f->b.len);
	/* An unknown record, and a vCPU record. */
	put_u32(rec, VCPU_REC_REGS);
	put_u32(rec + 4, 0);
	p = with_bytes(&f->b, 0, rec, sizeof(rec), &n);
	assert_int_equal(vm_restore_bytes(&f->dst, p, n), -EBADMSG);
	free(p);
	/* A chip twice, and a missing PIT. */
	off = find_record(&f->b, VM_REC_IRQCHIP);
	p = with_bytes(&f->b, off, f->b.data + off, record_size(&f->b, off),
		       &n);
	assert_int_equal(vm_restore_bytes(&f->dst, p, n), -EBADMSG);
	free(p);
	p = without_record(&f->b, find_record(&f->b, VM_REC_PIT2), &n);
	assert_int_equal(vm_restore_bytes(&f->dst, p, n), -EBADMSG);
	free(p);
	/* A chip number KVM does not have, and a wrong length. */
	put_u32(f->b.data + off + 8, 7);
	assert_int_equal(vm_restore_bytes(&f->dst, f->b.data, f->b.len),
			 -EBADMSG);
	put_u32(f->b.data + off + 8, KVM_IRQCHIP_PIC_MASTER);
	put_u32(f->b.data + off + 4, 0xffffffffu);
	assert_int_equal(vm_restore_bytes(&f->dst, f->b.data, f->b.len),
			 -EBADMSG);
}

static void test_kvmstate_restore_reports_allocation_failure(void **state)
{
	struct fixture *f = need_kvm(state);

	assert_int_equal(vcpu_save(&f->src.vcpu, &f->b), 0);
	sysmock_fail(SYSMOCK_CALLOC, 0, ENOMEM);
	assert_int_equal(restore_bytes(&f->dst, f->b.data, f->b.len), -ENOMEM);
	assert_true(sysmock_done());
	assert_untouched(&f->dst);
	assert_int_equal(restore_bytes(&f->dst, f->b.data, f->b.len), 0);
}

static void test_kvmstate_save_reports_allocation_failure(void **state)
{
	struct fixture *f = need_kvm(state);

	/* The first allocation: the XSAVE area (the MSRs without XSAVE). */
	sysmock_fail(SYSMOCK_CALLOC, 0, ENOMEM);
	assert_int_equal(vcpu_save(&f->src.vcpu, &f->b), -ENOMEM);
	assert_true(sysmock_done());
}

/*
 * Optional state is saved exactly where KVM has it; what it lacks is said
 * in the test log (on KVM on PVM: nested state and SMM).
 */
/* KVM_GET_SUPPORTED_CPUID asked here, on a /dev/kvm of the test's own. */
static struct kvm_cpuid2 *supported_cpuid(void)
{
	unsigned nent = 256;
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) +
						     nent * sizeof(c->entries[0]));

		assert_non_null(c);
		c->nent = nent;
		if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			close(fd);
			return c;
		}
		assert_int_equal(errno, E2BIG);
		free(c);
		nent *= 2;
	}
}

/*
 * The vCPU's CPUID, as KVM_GET_CPUID2 reads it back, has want's leaves,
 * want's vendor and signature, the hypervisor bit and APIC ID 0. (A KVM
 * may change feature bits of what it was given, as kvm_pvm does: those
 * are not compared.)
 */
static void assert_vcpu_cpuid(struct vcpu *v, const struct kvm_cpuid2 *want)
{
	struct kvm_cpuid2 *got = calloc(1, sizeof(*got) + want->nent *
						     sizeof(got->entries[0]));
	unsigned i;

	assert_non_null(got);
	got->nent = want->nent;
	assert_int_equal(ioctl(v->fd, KVM_GET_CPUID2, got), 0);
	assert_int_equal(got->nent, want->nent);
	for (i = 0; i < want->nent; i++) {
		const struct kvm_cpuid_entry2 *g = &got->entries[i];
		const struct kvm_cpuid_entry2 *w = &want->entries[i];

		assert_int_equal(g->function, w->function);
		assert_int_equal(g->index, w->index);
		if (w->function == 0)
			assert_memory_equal(&g->eax, &w->eax, 4 * 4);
		if (w->function == 1) {
			assert_int_equal(g->eax, w->eax);
			assert_true(g->ecx & (1u << 31));
			assert_int_equal(g->ebx >> 24, 0);
		}
	}
	free(got);
}

/* vm_init() asks for the supported CPUID on a thread; each vCPU gets it. */
static void test_kvmstate_vcpus_get_the_supported_cpuid(void **state)
{
	struct fixture *f = need_kvm(state);
	struct kvm_cpuid2 *want = supported_cpuid();
	const struct kvm_cpuid2 *a, *b;

	assert_vcpu_cpuid(&f->src.vcpu, want);
	assert_vcpu_cpuid(&f->dst.vcpu, want);
	/* Asked once per VM: the same answer every time. */
	assert_int_equal(vm_supported_cpuid(&f->src.vm, &a), 0);
	assert_int_equal(vm_supported_cpuid(&f->src.vm, &b), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(a->nent, want->nent);
	free(want);
}

/* Without memory for the early thread's job, the CPUID is asked when the
 * first vCPU needs it, with the same result. */
static void test_kvmstate_cpuid_without_the_early_thread(void **state)
{
	struct fixture *f = need_kvm(state);
	struct kvm_cpuid2 *want = supported_cpuid();
	struct machine m;

	(void)f;
	sysmock_fail(SYSMOCK_CALLOC, 0, ENOMEM);
	assert_int_equal(machine_init(&m), 0);
	assert_true(sysmock_done());
	assert_vcpu_cpuid(&m.vcpu, want);
	machine_fini(&m);
	free(want);
}

static void test_kvmstate_saves_what_the_host_kvm_has(void **state)
{
	struct fixture *f = need_kvm(state);
	static const struct {
		long cap;
		const char *name;
		uint32_t tag; /* its record, or VCPU_REC_END for none */
	} caps[] = {
		{ KVM_CAP_MP_STATE, "MP state", VCPU_REC_MP_STATE },
		{ KVM_CAP_VCPU_EVENTS, "vCPU events", VCPU_REC_EVENTS },
		{ KVM_CAP_SREGS2, "SREGS2 (PDPTRs)", VCPU_REC_SREGS2 },
		{ KVM_CAP_XSAVE, "XSAVE", VCPU_REC_XSAVE },
		{ KVM_CAP_XCRS, "XCRs", VCPU_REC_XCRS },
		{ KVM_CAP_DEBUGREGS, "debug registers", VCPU_REC_DEBUGREGS },
		{ KVM_CAP_NESTED_STATE, "nested state", VCPU_REC_NESTED },
		{ KVM_CAP_X86_SMM, "SMM (in the vCPU events)", VCPU_REC_END },
		{ KVM_CAP_ADJUST_CLOCK, "kvmclock base", VCPU_REC_END },
		{ KVM_CAP_PIT_STATE2, "PIT state", VCPU_REC_END },
		{ KVM_CAP_TSC_CONTROL, "TSC scaling", VCPU_REC_END },
		{ KVM_CAP_EXCEPTION_PAYLOAD, "exception payloads",
		  VCPU_REC_END },
	};
	char has[512] = "", lacks[512] = "";
	unsigned i;

	assert_int_equal(vcpu_save(&f->src.vcpu, &f->b), 0);
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		bool present = cap(&f->src, caps[i].cap) > 0;
		char *list = present ? has : lacks;

		snprintf(list + strlen(list), 512 - strlen(list), "%s%s",
			 *list ? ", " : "", caps[i].name);
		if (caps[i].tag == VCPU_REC_END)
			continue;
		if (present != (find_record(&f->b, caps[i].tag) >= 0))
			fail_msg("%s: KVM %s it, the state %s it", caps[i].name,
				 present ? "has" : "lacks",
				 present ? "lacks" : "has");
	}
	print_message("kvmstate: this KVM has %s\n", has);
	print_message("kvmstate: this KVM lacks %s\n", *lacks ? lacks : "none");
	assert_true(find_record(&f->b, VCPU_REC_XSAVE) >= 0 ||
		    find_record(&f->b, VCPU_REC_FPU) >= 0);
	assert_true(find_record(&f->b, VCPU_REC_MSRS) >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_kvmstate_restores_general_registers),
		T(test_kvmstate_restores_special_registers),
		T(test_kvmstate_restores_msrs),
		T(test_kvmstate_restores_the_tsc_without_going_back),
		T(test_kvmstate_restored_vcpus_keep_their_tscs_in_step),
		T(test_kvmstate_restores_fpu_and_sse_registers),
		T(test_kvmstate_restores_xcr0),
		T(test_kvmstate_restores_the_local_apic),
		T(test_kvmstate_restores_debug_registers),
		T(test_kvmstate_restores_events_and_mp_state),
		T(test_kvmstate_restores_irqchips_pit_and_clock),
		T(test_kvmstate_restored_guest_reaches_the_same_next_exit),
		T(test_kvmstate_save_completes_a_pending_port_read),
		T(test_kvmstate_refuses_truncated_vcpu_state),
		T(test_kvmstate_refuses_unknown_vcpu_records),
		T(test_kvmstate_refuses_wrong_record_lengths),
		T(test_kvmstate_refuses_state_without_a_required_record),
		T(test_kvmstate_refuses_a_record_given_twice),
		T(test_kvmstate_refuses_malformed_vm_state),
		T(test_kvmstate_restore_reports_allocation_failure),
		T(test_kvmstate_save_reports_allocation_failure),
		T(test_kvmstate_saves_what_the_host_kvm_has),
		T(test_kvmstate_vcpus_get_the_supported_cpuid),
		T(test_kvmstate_cpuid_without_the_early_thread),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
