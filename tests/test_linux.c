/* SPDX-License-Identifier: MIT */
/*
 * A stock Debian kernel under minivmm: it finds the virtio-mmio console
 * through our ACPI tables, loads Debian's own virtio_mmio and
 * virtio_console drivers from the initramfs (tools/mkinitramfs), and runs
 * a shell on hvc0, which answers commands typed on the host side.
 *
 * Stock kernels cannot reach user space on a PVM-based KVM, so this runs
 * inside tools/nested (ninja test-linux), on a real kvm_amd; elsewhere it
 * says why it skips.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmrun.h"

static const char *const minivmm = "build/minivmm";
static const char *const kernel = "build/linux/vmlinuz";
static const char *const initrd = "build/linux/initramfs.gz";
static const char *const data = "build/linux/data.bin";

#define CMDLINE "console=hvc0 quiet reboot=t panic=-1 nokaslr pci=noearly " \
		"i8042.noaux i8042.nomux"

static void need_linux(void)
{
	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "skipped: no /dev/kvm\n");
		skip();
	}
	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		fprintf(stderr, "skipped: this KVM is PVM, where stock kernels "
				"cannot reach user space; run ninja test-linux "
				"(a real kvm_amd under QEMU)\n");
		skip();
	}
	if (access(kernel, R_OK) || access(initrd, R_OK)) {
		fprintf(stderr, "skipped: no %s or %s (tools/mkinitramfs)\n",
			kernel, initrd);
		skip();
	}
}

/* Boot with `cpus` vCPUs, wait for the shell's prompt, type `input`. */
static void boot_and_type(const char *cpus, const char *input,
			  struct vmrun *r)
{
	const char *argv[] = { minivmm, "--kernel", kernel, "--initrd", initrd,
			       "-m", "512M", "--cpus", cpus, "--timeout",
			       "240", "--cmdline", CMDLINE, NULL };

	assert_int_equal(vmrun_after(argv, input, strlen(input), "/ # ", 300,
				     r),
			 0);
	assert_false(r->timed_out);
}

static void test_linux_shell_on_hvc0_answers_and_reboot_ends_the_vm(
	void **state)
{
	struct vmrun r;

	(void)state;
	need_linux();
	boot_and_type("1", "echo answer $((6*7))\n"
		      "cat /sys/bus/virtio/devices/*/device\n"
		      "nproc\n"
		      "reboot -f\n",
		      &r);
	if (!strstr(r.out, "answer 42"))
		fail_msg("no answer from the shell:\n%s\n%s", r.out, r.err);
	/* The virtio device the kernel found is a console (id 3). */
	assert_non_null(strstr(r.out, "\n0x0003"));
	assert_non_null(strstr(r.out, "nproc\r\n1\r\n"));
	/* reboot=t: a triple fault, which ends minivmm with status 0. */
	assert_int_equal(r.status, 0);
	vmrun_free(&r);
}

/* ACPI soft-off (S5) through the FADT's sleep control register. */
static void test_linux_poweroff_ends_the_vm_with_status_0(void **state)
{
	struct vmrun r;

	(void)state;
	need_linux();
	boot_and_type("1", "poweroff -f\n", &r);
	assert_int_equal(r.status, 0);
	/* A power-off, not the triple fault a reboot is. */
	if (strstr(r.err, "triple fault"))
		fail_msg("poweroff ended as a shutdown:\n%s", r.err);
	vmrun_free(&r);
}

/*
 * 1 MiB of random bytes written to hvc0 by the guest arrive byte for
 * byte: the guest turns output processing off, so the tty passes the
 * bytes unchanged, and cats the initramfs's copy of build/linux/data.bin.
 */
static void test_linux_hvc0_carries_1_mib_byte_exact(void **state)
{
	static uint8_t want[1 << 20];
	struct vmrun r;
	FILE *f;

	(void)state;
	need_linux();
	f = fopen(data, "rb");
	if (!f) {
		fprintf(stderr, "skipped: no %s (tools/mkinitramfs)\n", data);
		skip();
	}
	assert_int_equal(fread(want, 1, sizeof(want), f), sizeof(want));
	fclose(f);
	boot_and_type("1", "stty -opost; cat /data.bin; reboot -f\n", &r);
	assert_int_equal(r.status, 0);
	if (!memmem(r.out, r.out_len, want, sizeof(want)))
		fail_msg("the 1 MiB did not arrive intact (%zu bytes of "
			 "output)", r.out_len);
	vmrun_free(&r);
}

/* Two vCPUs: the MADT lists both, the guest starts the second one. */
static void test_linux_sees_every_vcpu(void **state)
{
	struct vmrun r;

	(void)state;
	need_linux();
	boot_and_type("2", "nproc\nreboot -f\n", &r);
	if (!strstr(r.out, "nproc\r\n2\r\n"))
		fail_msg("nproc is not 2:\n%s\n%s", r.out, r.err);
	assert_int_equal(r.status, 0);
	vmrun_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_linux_shell_on_hvc0_answers_and_reboot_ends_the_vm),
		cmocka_unit_test(test_linux_poweroff_ends_the_vm_with_status_0),
		cmocka_unit_test(test_linux_sees_every_vcpu),
		cmocka_unit_test(test_linux_hvc0_carries_1_mib_byte_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
