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
static const char *const bzimage = "build/linux/vmlinuz";
static const char *const initrd = "build/linux/initramfs.gz";
static const char *const data = "build/linux/data.bin";
/* The same kernel uncompressed (tools/nested takes it out of the bzImage). */
static const char *const vmlinux = "build/nested/boot/vmlinux";

#define CMDLINE "console=hvc0 quiet reboot=t panic=-1 nokaslr pci=noearly " \
		"i8042.noaux i8042.nomux"

static void need_linux(const char *kernel)
{
	if (access("/dev/kvm", R_OK | W_OK)) {
		fprintf(stderr, "skipped: no /dev/kvm\n");
		skip();
	}
	if (access("/sys/module/kvm_pvm", F_OK) == 0) {
		fprintf(stderr, "skipped: this KVM is PVM, where stock kernels "
				"cannot reach user space; run ninja test-nested "
				"(a real kvm_amd under QEMU)\n");
		skip();
	}
	if (access(kernel, R_OK) || access(initrd, R_OK)) {
		fprintf(stderr, "skipped: no %s or %s (tools/mkinitramfs, "
				"tools/nested)\n", kernel, initrd);
		skip();
	}
}

/*
 * Boot `kernel` with `cpus` vCPUs, wait for the shell's prompt on hvc0,
 * type `input` on the host side. minivmm's own --timeout is the watchdog:
 * a guest that hangs ends it with status 124 and its vCPU state on stderr.
 */
static void boot_and_type(const char *kernel, const char *cpus,
			  const char *input, struct vmrun *r)
{
	const char *argv[] = { minivmm, "--kernel", kernel, "--initrd", initrd,
			       "-m", "512M", "--cpus", cpus, "--timeout",
			       "240", "--cmdline", CMDLINE, NULL };

	assert_int_equal(vmrun_after(argv, input, strlen(input), "/ # ", 300,
				     r),
			 0);
	if (r->timed_out || r->status == 124)
		fail_msg("the guest hung; minivmm said:\n%s", r->err);
}

/*
 * The whole console check on one boot of the stock bzImage: a line typed
 * on the host reaches the shell (which does arithmetic), the kernel's
 * virtio device is a console (id 3), nproc counts every vCPU of the MADT,
 * 1 MiB of random bytes cat to hvc0 arrive byte for byte (output
 * processing off, so the tty passes them unchanged), and `poweroff -f`
 * (ACPI soft-off through the FADT) ends minivmm with status 0.
 */
static void check_console_session(const char *cpus)
{
	static uint8_t want[1 << 20];
	char nproc[32];
	struct vmrun r;
	FILE *f;

	need_linux(bzimage);
	f = fopen(data, "rb");
	if (!f) {
		fprintf(stderr, "skipped: no %s (tools/mkinitramfs)\n", data);
		skip();
	}
	assert_int_equal(fread(want, 1, sizeof(want), f), sizeof(want));
	fclose(f);
	boot_and_type(bzimage, cpus,
		      "echo answer $((6*7))\n"
		      "cat /sys/bus/virtio/devices/*/device\n"
		      "nproc\n"
		      "stty -opost; cat /data.bin; stty opost\n"
		      "poweroff -f\n",
		      &r);
	if (!strstr(r.out, "answer 42"))
		fail_msg("no answer from the shell:\n%s\n%s", r.out, r.err);
	assert_non_null(strstr(r.out, "\n0x0003"));
	snprintf(nproc, sizeof(nproc), "nproc\r\n%s\r\n", cpus);
	if (!strstr(r.out, nproc))
		fail_msg("nproc is not %s:\n%.2000s\n%s", cpus, r.out, r.err);
	if (!memmem(r.out, r.out_len, want, sizeof(want)))
		fail_msg("the 1 MiB did not arrive intact (%zu bytes of "
			 "output)", r.out_len);
	assert_int_equal(r.status, 0);
	/* A power-off, not the triple fault a reboot is. */
	if (strstr(r.err, "triple fault"))
		fail_msg("poweroff ended as a shutdown:\n%s", r.err);
	vmrun_free(&r);
}

static void test_linux_bzimage_1_vcpu_console_session_and_poweroff(
	void **state)
{
	(void)state;
	check_console_session("1");
}

static void test_linux_bzimage_2_vcpus_console_session_and_poweroff(
	void **state)
{
	(void)state;
	check_console_session("2");
}

/*
 * The uncompressed vmlinux, entered through its PVH note instead of the
 * 64-bit boot protocol; `reboot -f` with reboot=t is a triple fault,
 * which ends minivmm with status 0 as well.
 */
static void test_linux_vmlinux_through_pvh_and_reboot(void **state)
{
	struct vmrun r;

	(void)state;
	need_linux(vmlinux);
	boot_and_type(vmlinux, "1", "echo answer $((6*7))\nreboot -f\n", &r);
	if (!strstr(r.out, "answer 42"))
		fail_msg("no answer from the shell:\n%s\n%s", r.out, r.err);
	assert_int_equal(r.status, 0);
	vmrun_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			test_linux_bzimage_1_vcpu_console_session_and_poweroff),
		cmocka_unit_test(
			test_linux_bzimage_2_vcpus_console_session_and_poweroff),
		cmocka_unit_test(test_linux_vmlinux_through_pvh_and_reboot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
