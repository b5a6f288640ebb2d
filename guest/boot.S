/* SPDX-License-Identifier: MIT */
/*
 * boot.S - the guest's ring-0 part: the PVH entry note, the switch from
 * 32-bit protected mode to long mode, the static page tables, GDT, TSS and
 * IDT, the exception stubs and the emulation of `out` for ring 3.
 *
 * Everything here is kept short on purpose: on some hosts every ring-0
 * instruction is emulated (about 1 us each), so there are no loops in ring
 * 0. The tables are complete in the image (built with .rept by the
 * assembler; the addresses that need splitting into fields are computed by
 * guest.ld), and the entry code only loads them and drops to ring 3, where
 * the C code runs.
 */

#define KERNEL_CS	0x08
#define KERNEL_DS	0x10
#define USER_DS		0x18
#define USER_CS		0x20
#define TSS_SEL		0x28

/* IF = 0, IOPL = 3 (honoured by TCG and hardware virtualisation). */
#define USER_RFLAGS	0x3002

#define CR0_VALUE	0x80010033	/* PG | WP | NE | ET | MP | PE */
#define CR4_PAE		0x20
#define MSR_EFER	0xc0000080
#define EFER_LME	0x100

/* Page-directory entry bits. */
#define PTE_P		0x01
#define PTE_RW		0x02
#define PTE_US		0x04
#define PTE_PWT		0x08
#define PTE_PCD		0x10
#define PTE_PS		0x80
#define PDE_RAM		(PTE_P | PTE_RW | PTE_US | PTE_PS)
#define PDE_MMIO	(PDE_RAM | PTE_PWT | PTE_PCD)

#define DEBUG_EXIT_PORT	0xf4

/*
 * The PVH entry point: XEN_ELFNOTE_PHYS32_ENTRY (18), read by QEMU and by
 * minivmm to find where to start the guest in 32-bit protected mode.
 */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4			/* namesz */
	.long 4			/* descsz */
	.long 18		/* type: XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.long guest_entry32

/*
 * Entry: 32-bit protected mode, paging off, flat segments, EBX = the
 * guest-physical address of struct hvm_start_info. Nothing is assumed
 * about GDTR, IDTR or TR: all three are loaded here.
 */
	.section .text.boot, "ax"
	.code32
	.globl guest_entry32
guest_entry32:
	cli
	cld
	lgdtl gdt_ptr
	movl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	movl $EFER_LME, %eax
	xorl %edx, %edx
	wrmsr
	movl $CR0_VALUE, %eax
	movl %eax, %cr0
	ljmpl $KERNEL_CS, $entry64

	.code64
entry64:
	movl $KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movl $boot_stack_top, %esp
	lidt idt_ptr(%rip)
	movl $TSS_SEL, %eax
	ltr %ax
	/*
	 * Drop to ring 3 with its own stack. The stack pointer is set as if
	 * guest_main had been called, and guest_main never returns.
	 */
	pushq $(USER_DS | 3)
	pushq $(user_stack_top - 8)
	pushq $USER_RFLAGS
	pushq $(USER_CS | 3)
	pushq $guest_main
	movl %ebx, %edi
	iretq

/*
 * Exception stubs: 256 of them, 16 bytes apart, so that the IDT (built
 * below from the address of the first) can find each one. Each pushes a
 * zero error code where the CPU does not push one, then the vector.
 * Vectors with an error code: 8, 10-14, 17, 21, 29, 30.
 */
#define ERROR_CODE_MASK	0x60227d00

	.section .text.vectors, "ax"
	.balign 16
	.globl guest_vectors
guest_vectors:
	.set vec, 0
	.rept 256
	.balign 16
	.if vec == 13
	jmp gp_entry
	.else
	.if vec < 32
	.if ((ERROR_CODE_MASK >> vec) & 1) == 0
	pushq $0
	.endif
	.else
	pushq $0
	.endif
	pushq $vec
	jmp fault_common
	.endif
	.set vec, vec + 1
	.endr
	.balign 16
	.globl guest_vectors_end
guest_vectors_end:

	.text
/*
 * #GP: from ring 3, with error code 0, at an `out %al,$imm8` (e6 ib) or
 * `out %al,(%dx)` (ee) instruction, this is the I/O permission check of a
 * host that ignores IOPL 3: do the write here and resume after it.
 * Anything else is a real fault.
 *
 * Stack: error code, RIP, CS, RFLAGS, RSP, SS.
 */
gp_entry:
	testb $3, 16(%rsp)
	jz 3f
	cmpq $0, (%rsp)
	jne 3f
	pushq %rdx
	pushq %rcx
	/* Now: RCX, RDX, error code, RIP at 24(%rsp). */
	movq 24(%rsp), %rcx
	cmpb $0xee, (%rcx)
	je 1f
	cmpb $0xe6, (%rcx)
	jne 2f
	movzbl 1(%rcx), %edx
	outb %al, %dx
	addq $2, 24(%rsp)
	popq %rcx
	popq %rdx
	addq $8, %rsp
	iretq
1:	outb %al, %dx
	addq $1, 24(%rsp)
	popq %rcx
	popq %rdx
	addq $8, %rsp
	iretq
2:	popq %rcx
	popq %rdx
3:	pushq $13
	/* fall through */

/*
 * Every other exception. From ring 3: record vector, error code, RIP and
 * CR2 in guest_fault_info and "return" to guest_fault() in ring 3 on a
 * stack of its own, which reports it on the console and exits. From ring 0
 * (only the few instructions above can fault there) there is no console
 * to report on: exit with failure at once.
 *
 * Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS.
 */
fault_common:
	testb $3, 24(%rsp)
	jz 1f
	popq guest_fault_info+0(%rip)
	popq guest_fault_info+8(%rip)
	popq guest_fault_info+16(%rip)
	movq %cr2, %rax
	movq %rax, guest_fault_info+24(%rip)
	/* Now: CS, RFLAGS, RSP, SS. Keep CS and SS (ring 3). */
	movq $USER_RFLAGS, 8(%rsp)
	movq $(fault_stack_top - 8), 16(%rsp)
	pushq $guest_fault
	iretq
1:	movb $1, %al
	outb %al, $DEBUG_EXIT_PORT
2:	hlt
	jmp 2b

/*
 * Page tables: the first 4 GiB identity-mapped with 2 MiB pages, user
 * accessible and writable everywhere (ring 3 drives the devices and fills
 * nothing else). The last GiB, where the MMIO windows live, is uncached.
 */
	.section .data.pagetables, "aw"
	.balign 4096
pml4:
	.quad pdpt + (PTE_P | PTE_RW | PTE_US)
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x0000 + (PTE_P | PTE_RW | PTE_US)
	.quad pd + 0x1000 + (PTE_P | PTE_RW | PTE_US)
	.quad pd + 0x2000 + (PTE_P | PTE_RW | PTE_US)
	.quad pd + 0x3000 + (PTE_P | PTE_RW | PTE_US)
	.fill 508, 8, 0
pd:
	.set page, 0
	.rept 2048
	.if page < 1536
	.quad (page << 21) | PDE_RAM
	.else
	.quad (page << 21) | PDE_MMIO
	.endif
	.set page, page + 1
	.endr

	.data
/* GDT: null, kernel code/data, user data/code, 64-bit TSS (16 bytes). */
	.balign 16
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: kernel code, 64-bit */
	.quad 0x00cf92000000ffff	/* 0x10: kernel data */
	.quad 0x00cff2000000ffff	/* 0x18: user data */
	.quad 0x00affa000000ffff	/* 0x20: user code, 64-bit */
	.word 103			/* 0x28: TSS, limit */
	.word guest_tss_base_0_15
	.byte guest_tss_base_16_23
	.byte 0x89			/* present, 64-bit TSS (available) */
	.byte 0
	.byte guest_tss_base_24_31
	.long 0				/* base 63:32: the TSS is below 4 GiB */
	.long 0
gdt_end:

/* For lgdt in 32-bit mode: limit and a 32-bit base. */
	.balign 4
	.word 0
gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt

/* IDT: 256 interrupt gates, DPL 0, to the stubs above. */
	.balign 16
idt:
	.set vec, 0
	.rept 256
	.word guest_vectors_lo16 + 16 * vec
	.word KERNEL_CS
	.byte 0				/* no IST */
	.byte 0x8e			/* present, DPL 0, interrupt gate */
	.word guest_vectors_hi16
	.long 0				/* offset 63:32 */
	.long 0
	.set vec, vec + 1
	.endr

	.balign 8
	.word 0, 0, 0
idt_ptr:
	.word 256 * 16 - 1
	.quad idt

/* TSS: RSP0 is where exceptions from ring 3 push their frame. */
	.balign 16
	.globl guest_tss
guest_tss:
	.long 0
	.quad boot_stack_top		/* RSP0 */
	.quad 0, 0			/* RSP1, RSP2 */
	.quad 0
	.fill 7, 8, 0			/* IST1-7 */
	.quad 0
	.word 0
	.word 104			/* I/O map base past the limit: none */

	.bss
	.balign 16
boot_stack:
	.skip 8192
boot_stack_top:
user_stack:
	.skip 65536
user_stack_top:
fault_stack:
	.skip 16384
fault_stack_top:
	.globl guest_fault_info
guest_fault_info:
	.skip 32

	.section .note.GNU-stack, "", @progbits
