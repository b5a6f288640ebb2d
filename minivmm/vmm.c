/* SPDX-License-Identifier: MIT */
/*
 * vmm.c - assemble a VM and run it.
 *
 * Threads: the vCPU thread runs KVM_RUN and handles its exits (device
 * register accesses, the debug-exit port). The main thread runs an epoll
 * loop over the queue-notification eventfds, stdin, the console's output
 * fd when it is full, signals and the timeout. Device state is shared
 * under the transport's lock; the vCPU thread never waits for host I/O.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <vmmem/dirty.h>
#include <vmmem/memory.h>
#include <vmmem/region.h>
#ifdef VMMEM_XEN
#include <sys/mman.h>
#include <vmmem/xen.h>
#endif

#include "bus.h"
#include "i8042.h"
#include "loader/bzimage.h"
#include "loader/pvh.h"
#include "serial.h"
#include "term.h"
#include "util.h"
#include "vcpu.h"
#include "virtio/console.h"
#include "virtio/mmio.h"
#include "vm.h"
#include "vmm.h"
#include "x86/acpi.h"
#include "x86/boot.h"

/* QEMU's isa-debug-exit convention: writing V exits with (V << 1) | 1. */
#define DEBUG_EXIT_PORT 0xf4
#define KICK_SIGNAL SIGUSR1
#define NQUEUES 2
/*
 * After transmit activity, look at the queue for this long before going to
 * sleep in epoll: a guest streaming output queues its next chain within
 * microseconds, and catching it by polling saves a notification on its side
 * and a wake-up on ours (QEMU's event loop polls the same way).
 */
#define TX_POLL_NS 30000

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A device's output: stdout, a file, or nowhere (fd -1). */
struct output {
	int fd;
	bool restore;		/* fd is stdout with O_NONBLOCK we set */
	int flags;		/* its flags before */
};

struct machine {
	const struct vmm_opts *opts;
	struct vmmem *mem;
	struct vm vm;
	unsigned ncpus;		/* vCPUs created */
	struct vcpu vcpu[VMM_MAX_CPUS];
	struct bus pio;
	struct bus mmio;
	struct vmmio *transport;
	struct vcon *console;
	int irq_fd;
	int notify_fd[NQUEUES];
	int stop_fd;		/* signalled when the vCPU thread ends */
	int wake_fd;		/* signalled when console output blocks */
	struct output out;	/* the console's output */
	struct output serial_out;
	struct serial *serial;	/* the 8250 on 0x3f8, or NULL */
	struct i8042 *kbd;
	bool stop;		/* atomic: ask the vCPU to stop */
	int status;		/* exit status once decided; -1 before */
	enum vcpu_stop why[VMM_MAX_CPUS];
	pthread_t thread[VMM_MAX_CPUS];
	unsigned nthreads;	/* threads started */
	struct vcpu_arg {
		struct machine *m;
		unsigned i;
	} arg[VMM_MAX_CPUS];
};

/* The first reason to stop wins (the guest's exit, a timeout, a signal). */
static void set_status(struct machine *m, int status)
{
	int unset = -1;

	__atomic_compare_exchange_n(&m->status, &unset, status, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static void debug_exit_write(void *opaque, uint64_t off, const void *data,
			     unsigned len)
{
	struct machine *m = opaque;
	uint8_t v;

	(void)len;
	if (off != 0)
		return;
	memcpy(&v, data, 1);
	set_status(m, (v << 1) | 1);
	pr_debug("guest wrote %u to the debug-exit port", v);
	__atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
}

static const struct bus_ops debug_exit_ops = {
	.write = debug_exit_write,
};

/*
 * The console's output blocked, perhaps on the vCPU thread (a QueueNotify
 * without ioeventfd): wake the loop so it starts waiting for EPOLLOUT.
 * Called with the transport lock held; only writes an eventfd.
 */
static void output_blocked(void *opaque)
{
	struct machine *m = opaque;
	uint64_t one = 1;

	if (write(m->wake_fd, &one, sizeof(one)) < 0)
		pr_debug("wake: %s", strerror(errno));
}

static void raise_irq(void *opaque)
{
	struct machine *m = opaque;
	uint64_t one = 1;

	/* An eventfd write of 8 bytes cannot block or be partial short of
	 * an overflowing counter, which 2^64 interrupts do not reach. */
	if (write(m->irq_fd, &one, sizeof(one)) < 0)
		pr_debug("interrupt: %s", strerror(errno));
}

#ifdef VMMEM_XEN
/*
 * minivmm-xen: guest RAM as Xen UNIX-kind regions, the way a vhost-user
 * front-end would describe it (an fd, Xen flags 0, no domain): each range
 * is a sealed memfd mapped through vmmem_region_create_xen().
 */
static int build_memory_xen(struct machine *m, unsigned flags,
			    const uint64_t *gpa, const uint64_t *len,
			    unsigned n)
{
	struct vmmem_region *r[2] = { NULL, NULL };
	unsigned i;
	int rc = 0;

	for (i = 0; i < n && !rc; i++) {
		int fd = memfd_create("minivmm-ram", MFD_CLOEXEC);

		if (fd < 0)
			return -errno;
		if (ftruncate(fd, (off_t)len[i]) < 0)
			rc = -errno;
		else
			rc = vmmem_region_create_xen(gpa[i], len[i], flags,
						     VMMEM_XEN_UNIX, fd, 0, 0,
						     &r[i]);
		close(fd);	/* the region keeps its own duplicate */
	}
	if (!rc)
		rc = vmmem_create(r, n, &m->mem);
	for (i = 0; i < n; i++)
		vmmem_region_destroy(r[i]);
	if (!rc)
		pr_debug("guest RAM: %u Xen UNIX-kind region%s (memfd)", n,
			 n > 1 ? "s" : "");
	return rc;
}
#endif

/* Guest memory: RAM below the MMIO hole and, for large sizes, above 4 GiB. */
static int build_memory(struct machine *m)
{
	const struct vmm_opts *o = m->opts;
	unsigned flags = o->dirty_log ? VMMEM_REGION_DIRTY_LOG : 0;
	struct vmmem_region *r[2] = { NULL, NULL };
	struct vmmem_range ranges[2];
	uint64_t gpa[2], len[2];
	unsigned n, i;
	int rc;

	n = arch_ram_ranges(o->mem_size, gpa, len);
#ifdef VMMEM_XEN
	if (o->backend == VMM_BACKEND_ANON)
		return build_memory_xen(m, flags, gpa, len, n);
#endif
	for (i = 0; i < n; i++)
		ranges[i] = (struct vmmem_range){ gpa[i], len[i] };
	switch (o->backend) {
	case VMM_BACKEND_ANON:
		return vmmem_create_anon(ranges, n, flags, &m->mem);
	case VMM_BACKEND_HUGETLB:
		return vmmem_create_anon(ranges, n,
					 flags | VMMEM_REGION_HUGETLB,
					 &m->mem);
	case VMM_BACKEND_MEMFD:
		for (i = 0, rc = 0; i < n && !rc; i++)
			rc = vmmem_region_create_memfd(gpa[i], len[i], flags,
						       "minivmm-ram", &r[i]);
		if (!rc)
			rc = vmmem_create(r, n, &m->mem);
		for (i = 0; i < n; i++)
			vmmem_region_destroy(r[i]);
		return rc;
	}
	return -EINVAL;
}

/* Open a device's output for `mode`; always non-blocking. */
static int open_output(enum vmm_console mode, const char *path,
		       struct output *o)
{
	struct stat st;

	*o = (struct output){ .fd = -1 };
	if (mode == VMM_CONSOLE_NONE)
		return 0;
	if (mode == VMM_CONSOLE_FILE) {
		o->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
					   O_NONBLOCK,
			     0644);
		if (o->fd < 0) {
			pr_err("output file %s: %s", path, strerror(errno));
			return -errno;
		}
		return 0;
	}
	/*
	 * A regular file never blocks, and must keep the offset it shares
	 * with whoever opened it (output appended after theirs): use it as
	 * is. For a terminal or a pipe, a fresh open gets its own file
	 * description, so that O_NONBLOCK does not leak to the shell sharing
	 * it. Where that is impossible (a socket), set the flag and restore it
	 * on the way out.
	 */
	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode)) {
		o->fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
		if (o->fd < 0) {
			pr_err("standard output: %s", strerror(errno));
			return -errno;
		}
		return 0;
	}
	o->fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (o->fd >= 0)
		return 0;
	o->fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
	if (o->fd < 0) {
		pr_err("standard output: %s", strerror(errno));
		return -errno;
	}
	o->flags = fcntl(o->fd, F_GETFL);
	if (o->flags >= 0 && fcntl(o->fd, F_SETFL, o->flags | O_NONBLOCK) == 0)
		o->restore = true;
	return 0;
}

static void close_output(struct output *o)
{
	if (o->restore)
		fcntl(o->fd, F_SETFL, o->flags);
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
}

/* The UART's interrupt: a level-triggered ISA line. */
static void serial_irq_level(void *opaque, bool high)
{
	struct machine *m = opaque;
	int rc = vm_irq_line(&m->vm, SERIAL_COM1_IRQ, high);

	if (rc && rc != -ENOTSUP)
		pr_debug("serial interrupt: %s", strerror(-rc));
}

/* The keyboard controller pulsed the reset line: the guest asked to stop. */
static void i8042_reset(void *opaque)
{
	struct machine *m = opaque;

	pr_debug("reset through the i8042");
	set_status(m, VMM_EXIT_OK);
	__atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
}

/*
 * The ACPI sleep control register (hardware-reduced ACPI): the guest
 * writes SLP_TYP | SLP_EN to enter a sleep state; the only one the DSDT
 * offers is S5, soft off, which ends the VM with status 0.
 */
static void sleep_write(void *opaque, uint64_t off, const void *data,
			unsigned len)
{
	struct machine *m = opaque;
	uint8_t v;

	(void)len;
	memcpy(&v, data, 1);
	if (off != 0 || !(v & ACPI_SLP_EN) ||
	    ((v >> 2) & 7) != ACPI_S5_SLP_TYP)
		return;
	pr_debug("guest powered off (ACPI S5)");
	set_status(m, VMM_EXIT_OK);
	__atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
}

static const struct bus_ops sleep_ops = {
	.write = sleep_write,	/* the status register reads 0 */
};

/* The legacy devices every x86 guest may probe. */
static int build_legacy(struct machine *m)
{
	const struct serial_irq irq = { serial_irq_level, m };
	int rc;

	rc = bus_register(&m->pio, ACPI_SLEEP_PORT, 2, &sleep_ops, m);
	if (!rc)
		rc = i8042_create(i8042_reset, m, &m->kbd);
	if (!rc)
		rc = bus_register(&m->pio, I8042_DATA_PORT, 1,
				  &i8042_data_bus_ops, m->kbd);
	if (!rc)
		rc = bus_register(&m->pio, I8042_CMD_PORT, 1,
				  &i8042_cmd_bus_ops, m->kbd);
	if (rc || m->opts->serial == VMM_CONSOLE_NONE)
		return rc;
	rc = open_output(m->opts->serial, m->opts->serial_path,
			 &m->serial_out);
	if (!rc)
		rc = serial_create(m->serial_out.fd, &irq, &m->serial);
	if (rc)
		return rc;
	serial_set_blocked_cb(m->serial, output_blocked, m);
	return bus_register(&m->pio, SERIAL_COM1_BASE, SERIAL_NR_PORTS,
			    &serial_bus_ops, m->serial);
}

static int build_devices(struct machine *m)
{
	const struct vmmio_irq irq = { raise_irq, m };
	struct winsize ws = { .ws_col = 80, .ws_row = 25 };
	unsigned q;
	int rc;

	bus_init(&m->pio);
	bus_init(&m->mmio);
	rc = bus_register(&m->pio, DEBUG_EXIT_PORT, 4, &debug_exit_ops, m);
	if (rc)
		return rc;
	if (m->opts->console == VMM_CONSOLE_STDIO && isatty(STDOUT_FILENO))
		ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
	rc = vcon_create(m->mem, m->out.fd, ws.ws_col, ws.ws_row,
			 &m->console);
	if (rc)
		return rc;
	rc = vmmio_create("console", &vcon_ops, m->console, m->mem, &irq,
			  &m->transport);
	if (rc)
		return rc;
	m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->wake_fd < 0)
		return -errno;
	vmmio_lock(m->transport);
	vcon_attach(m->console, m->transport);
	vcon_set_blocked_cb(m->console, output_blocked, m);
	vmmio_unlock(m->transport);
	rc = bus_register(&m->mmio, VIRTIO_MMIO_BASE, VMMIO_WINDOW,
			  &vmmio_bus_ops, m->transport);
	if (rc)
		return rc;

	/* Interrupts through an irqfd, notifications through ioeventfds.
	 * Without them the device still works: the guest polls, and
	 * QueueNotify writes then arrive as MMIO exits. */
	m->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->irq_fd < 0)
		return -errno;
	rc = vm_irqfd(&m->vm, m->irq_fd, VIRTIO_MMIO_GSI);
	if (rc)
		pr_debug("irqfd: %s (no interrupts)", strerror(-rc));
	for (q = 0; q < NQUEUES; q++) {
		m->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (m->notify_fd[q] < 0)
			return -errno;
		rc = vm_ioeventfd(&m->vm, VIRTIO_MMIO_BASE + VMMIO_REG_QUEUE_NOTIFY,
				  4, q, m->notify_fd[q]);
		if (rc) {
			pr_debug("ioeventfd for queue %u: %s", q,
				 strerror(-rc));
			close(m->notify_fd[q]);
			m->notify_fd[q] = -1;
		}
	}
	return 0;
}

/* Where and how vCPU 0 starts. */
struct boot_entry {
	bool pvh;		/* 32-bit PVH entry, RBX = the start info */
	uint64_t entry;
	uint64_t zero_page;	/* 64-bit boot protocol: RSI */
};

/* Is the file at path an ELF file (a vmlinux) rather than a bzImage?
 * (Errors say no: the bzImage loader then reports them.) */
static bool is_elf(const char *path)
{
	char magic[SELFMAG];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool elf;

	if (fd < 0)
		return false;
	elf = read(fd, magic, sizeof(magic)) == SELFMAG &&
	      memcmp(magic, ELFMAG, SELFMAG) == 0;
	close(fd);
	return elf;
}

/* An uncompressed vmlinux through its PVH note, with the initrd as the
 * start info's module and the ACPI tables at rsdp. */
static int load_vmlinux(struct machine *m, uint64_t rsdp, uint64_t *entry)
{
	const struct vmm_opts *o = m->opts;
	struct boot_pvh_extra x = { .rsdp_gpa = rsdp };
	struct pvh_image img;
	int rc;

	rc = pvh_load(m->mem, o->kernel, BOOT_HIGH_RAM, &img);
	if (rc)
		return rc;
	if (o->initrd) {
		rc = pvh_load_initrd(m->mem, o->initrd, o->mem_size,
				     img.highest, &x.initrd_gpa,
				     &x.initrd_len);
		if (rc)
			return rc;
	}
	rc = arch_setup_pvh(m->mem, o->mem_size,
			    o->cmdline ? o->cmdline : "", &x);
	if (rc == -E2BIG)
		pr_err("command line too long (at most %u bytes)",
		       BOOT_CMDLINE_MAX - 1);
	else if (rc)
		pr_err("writing boot information: %s", strerror(-rc));
	if (rc)
		return rc;
	pr_debug("kernel: PVH entry %#x, initrd %llu bytes at %#llx",
		 img.entry, (unsigned long long)x.initrd_len,
		 (unsigned long long)x.initrd_gpa);
	*entry = img.entry;
	return 0;
}

/*
 * A Linux kernel: ACPI tables describing the vCPUs, the interrupt
 * controllers and the virtio-mmio device (how stock kernels find it), then
 * either a bzImage through the 64-bit boot protocol (the kernel, initrd,
 * command line and zero page, and the identity-mapped long-mode state the
 * protocol enters with) or an ELF vmlinux through its PVH note.
 */
static int setup_linux(struct machine *m, struct boot_entry *be)
{
	const struct vmm_opts *o = m->opts;
	const struct acpi_virtio_mmio dev = { VIRTIO_MMIO_BASE, VMMIO_WINDOW,
					      VIRTIO_MMIO_GSI };
	const struct acpi_config acpi = {
		.nr_vcpus = o->cpus,
		.ioapic_gpa = ACPI_IOAPIC_GPA,
		.lapic_gpa = ACPI_LAPIC_GPA,
		.virtio = &dev,
		.nr_virtio = 1,
		.com1 = o->serial != VMM_CONSOLE_NONE,
		.sleep_port = ACPI_SLEEP_PORT,
	};
	struct bzimage_boot boot;
	uint64_t rsdp;
	int rc;

	rc = acpi_build(m->mem, &acpi, &rsdp);
	if (rc) {
		pr_err("building the ACPI tables: %s", strerror(-rc));
		return rc;
	}
	if (is_elf(o->kernel)) {
		be->pvh = true;
		return load_vmlinux(m, rsdp, &be->entry);
	}
	rc = bzimage_load(m->mem, o->kernel, o->initrd, o->cmdline,
			  o->mem_size, rsdp, &boot);
	if (rc)
		return rc;
	rc = arch_setup_long_mode(m->mem, boot.ident_end);
	if (rc) {
		pr_err("%s: the kernel needs [0, %#llx) mapped at entry, more "
		       "than the boot page tables cover", o->kernel,
		       (unsigned long long)boot.ident_end);
		return rc;
	}
	pr_debug("kernel: boot protocol %#x, entry %#llx, initrd %llu bytes",
		 boot.version, (unsigned long long)boot.entry,
		 (unsigned long long)boot.initrd_len);
	be->entry = boot.entry;
	be->zero_page = boot.zero_page;
	return 0;
}

/* Our own guest (or any PVH image): the virtio-mmio device is on its
 * command line, there are no ACPI tables. */
static int setup_image(struct machine *m, struct boot_entry *be)
{
	const struct vmm_opts *o = m->opts;
	struct pvh_image img;
	char *cmdline;
	int rc;

	rc = pvh_load(m->mem, o->image, BOOT_HIGH_RAM, &img);
	if (rc)
		return rc;
	pr_debug("image: entry %#x, [%#llx, %#llx]", img.entry,
		 (unsigned long long)img.lowest,
		 (unsigned long long)img.highest);
	/* Devices first, then what the user asked for. */
	if (asprintf(&cmdline, "virtio_mmio.device=4K@%#llx:%d%s%s",
		     (unsigned long long)VIRTIO_MMIO_BASE, VIRTIO_MMIO_GSI,
		     o->cmdline ? " " : "", o->cmdline ? o->cmdline : "") < 0)
		return -ENOMEM;
	rc = arch_setup_pvh(m->mem, o->mem_size, cmdline, NULL);
	free(cmdline);
	if (rc == -E2BIG)
		pr_err("command line too long (at most %u bytes with the "
		       "device list)", BOOT_CMDLINE_MAX - 1);
	else if (rc)
		pr_err("writing boot information: %s", strerror(-rc));
	if (rc)
		return rc;
	be->pvh = true;
	be->entry = img.entry;
	return 0;
}

static int setup(struct machine *m)
{
	const struct vmm_opts *o = m->opts;
	struct boot_entry be = { 0 };
	int rc;

	rc = build_memory(m);
	if (rc) {
		pr_err("cannot allocate %llu MiB of guest memory: %s",
		       (unsigned long long)(o->mem_size >> 20),
		       strerror(-rc));
		return rc;
	}
	rc = o->kernel ? setup_linux(m, &be) : setup_image(m, &be);
	if (rc)
		return rc;
	rc = vm_init(&m->vm);
	if (rc)
		return rc;
	rc = vm_set_memory(&m->vm, m->mem, o->dirty_log);
	if (rc)
		return rc;
	rc = open_output(o->console, o->console_path, &m->out);
	if (rc)
		return rc;
	rc = build_devices(m);
	if (!rc)
		rc = build_legacy(m);
	if (rc) {
		pr_err("setting up devices: %s", strerror(-rc));
		return rc;
	}
	/*
	 * vCPU 0 boots; with the in-kernel irqchip KVM holds the others in
	 * wait-for-SIPI until the guest starts them (INIT/SIPI), so they
	 * only need their threads.
	 */
	for (m->ncpus = 0; m->ncpus < o->cpus; m->ncpus++) {
		rc = vcpu_init(&m->vm, m->ncpus, &m->vcpu[m->ncpus]);
		if (rc)
			return rc;
	}
	if (o->cpus > 1 && !m->vm.irqchip) {
		pr_err("--cpus %u needs KVM's in-kernel irqchip", o->cpus);
		return -ENOTSUP;
	}
	if (!be.pvh)
		return vcpu_setup_long64(&m->vcpu[0], be.entry, be.zero_page);
	return vcpu_setup_pvh(&m->vcpu[0], (uint32_t)be.entry,
			      (uint32_t)BOOT_START_INFO);
}

static void kick_handler(int sig)
{
	(void)sig;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu_arg *a = arg;
	struct machine *m = a->m;
	uint64_t one = 1;
	sigset_t set;

	/* Only vCPU threads take the kick, so it interrupts KVM_RUN. */
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	m->why[a->i] = vcpu_run(&m->vcpu[a->i], &m->pio, &m->mmio, &m->stop);
	/* Any vCPU that stops stops the machine: the loop then stops the
	 * others. */
	if (write(m->stop_fd, &one, sizeof(one)) < 0)
		pr_err("vCPU thread: %s", strerror(errno));
	return NULL;
}

/* The event loop's view of stdin. */
struct input {
	int fd;			/* -1 when closed or not used */
	bool tty;		/* escapes apply */
	bool polled;		/* registered with epoll */
	bool plain_file;	/* epoll cannot watch it: always readable */
	bool to_serial;		/* feeds the UART, not the virtio console */
	struct term_esc esc;
	uint8_t buf[4096 + 1];
	size_t len, off;	/* filtered bytes not yet accepted */
};

/* Offer pending input to the guest. */
static void feed(struct machine *m, struct input *in)
{
	size_t n;

	if (in->off == in->len)
		return;
	if (in->to_serial) {
		n = serial_input(m->serial, in->buf + in->off,
				 in->len - in->off);
	} else {
		vmmio_lock(m->transport);
		n = vcon_input(m->console, in->buf + in->off,
			       in->len - in->off);
		vmmio_unlock(m->transport);
	}
	in->off += n;
	if (in->off == in->len)
		in->off = in->len = 0;
}

/* Read stdin when our buffer is empty; returns true on Ctrl-A x. */
static bool read_input(struct machine *m, struct input *in)
{
	uint8_t raw[4096];
	bool quit = false;
	ssize_t n;

	if (in->fd < 0 || in->len)
		return false;
	n = read(in->fd, raw, sizeof(raw));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return false;
	if (n <= 0) {
		/* End of input (or an error, reported): stop watching it
		 * for good, so a closed pipe cannot make the loop spin. */
		if (n < 0)
			pr_err("standard input: %s", strerror(errno));
		in->fd = -1;
		return false;
	}
	if (in->tty) {
		in->len = term_filter(&in->esc, raw, (size_t)n, in->buf, &quit);
	} else {
		memcpy(in->buf, raw, (size_t)n);
		in->len = (size_t)n;
	}
	in->off = 0;
	feed(m, in);
	return quit;
}

/*
 * Watch fd for events (0: stop watching). Return: false when epoll cannot
 * watch it at all (a regular file, which is always ready).
 */
static bool set_interest(int ep, int fd, uint32_t events, bool *registered)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	if (events && !*registered) {
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0)
			*registered = true;
		else if (errno == EPERM)
			return false;
	} else if (!events && *registered) {
		epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
		*registered = false;
	}
	return true;
}

static int add_fd(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return fd < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0
								    : -errno;
}

/* Make every vCPU thread leave KVM_RUN and see the stop flag. */
static void kick_all(struct machine *m)
{
	unsigned i;

	__atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
	for (i = 0; i < m->nthreads; i++)
		vcpu_kick(&m->vcpu[i], (unsigned long)m->thread[i],
			  KICK_SIGNAL);
}

/* Stop the vCPU from the main thread and say why we did. */
static void request_stop(struct machine *m, int status)
{
	set_status(m, status);
	kick_all(m);
}

static void handle_signal(struct machine *m, int sfd)
{
	struct signalfd_siginfo si;
	struct winsize ws;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGWINCH) {
		if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
			vmmio_lock(m->transport);
			vcon_resize(m->console, ws.ws_col, ws.ws_row);
			vmmio_unlock(m->transport);
		}
		return;
	}
	pr_err("stopped by signal %d (%s)", (int)si.ssi_signo,
	       strsignal((int)si.ssi_signo));
	request_stop(m, 128 + (int)si.ssi_signo);
}

/*
 * One look at the transmit queue while polling: take what the guest queued
 * (extending the polling window), or end the window (*until = 0) when it
 * has passed.
 */
static void poll_tx(struct machine *m, uint64_t *until)
{
	bool waiting;

	vmmio_lock(m->transport);
	waiting = vcon_tx_waiting(m->console);
	if (waiting)
		vcon_output(m->console);
	vmmio_unlock(m->transport);
	if (waiting)
		*until = now_ns() + TX_POLL_NS;
	else if (now_ns() >= *until)
		*until = 0;
}

static int event_loop(struct machine *m, int sfd, int tfd)
{
	struct input in = { .fd = -1 };
	uint64_t poll_until = 0, wakeups = 0;
	bool out_polled = false, serial_polled = false;
	struct epoll_event evs[8];
	int ep, i, n, rc = 0;
	unsigned q;

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return -errno;
	if (add_fd(ep, m->stop_fd) || add_fd(ep, sfd) || add_fd(ep, tfd) ||
	    add_fd(ep, m->wake_fd)) {
		rc = -errno;
		goto out;
	}
	for (q = 0; q < NQUEUES; q++)
		if (add_fd(ep, m->notify_fd[q])) {
			rc = -errno;
			goto out;
		}
	/* Standard input goes to the virtio console, or to the UART when
	 * only the UART is on the terminal. */
	in.to_serial = m->opts->console != VMM_CONSOLE_STDIO &&
		       m->opts->serial == VMM_CONSOLE_STDIO && m->serial;
	if (m->opts->console == VMM_CONSOLE_STDIO || in.to_serial) {
		struct stat st;

		in.fd = STDIN_FILENO;
		in.tty = isatty(STDIN_FILENO);
		in.plain_file = fstat(STDIN_FILENO, &st) == 0 &&
				(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
	}

	for (;;) {
		bool want_in, blocked, ready;
		/* Polling the transmit queue: look at epoll, do not sleep. */
		int timeout = poll_until ? 0 : -1;

		vmmio_lock(m->transport);
		blocked = vcon_output_blocked(m->console);
		ready = vcon_input_ready(m->console);
		vmmio_unlock(m->transport);
		/* Read input only when the last read was delivered; stop
		 * watching stdin otherwise, so it cannot spin the loop. */
		want_in = in.fd >= 0 && in.len == 0;
		if (in.plain_file) {
			if (want_in && ready)
				timeout = 0;
		} else if (in.fd >= 0) {
			set_interest(ep, in.fd, want_in ? EPOLLIN : 0,
				     &in.polled);
		} else if (in.polled) {
			epoll_ctl(ep, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
			in.polled = false;
		}
		/* Output that epoll cannot watch (a file) is always
		 * writable: go on at once instead of waiting. */
		if (m->out.fd >= 0 &&
		    !set_interest(ep, m->out.fd, blocked ? EPOLLOUT : 0,
				  &out_polled) && blocked) {
			vmmio_lock(m->transport);
			vcon_output(m->console);
			vmmio_unlock(m->transport);
			timeout = 0;
		}
		if (m->serial && m->serial_out.fd >= 0) {
			bool sblocked = serial_output_blocked(m->serial);

			if (!set_interest(ep, m->serial_out.fd,
					  sblocked ? EPOLLOUT : 0,
					  &serial_polled) && sblocked) {
				serial_output(m->serial);
				timeout = 0;
			}
		}

		n = epoll_wait(ep, evs, ARRAY_SIZE(evs), timeout);
		wakeups++;
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			pr_err("epoll_wait: %s", strerror(errno));
			break;
		}
		if (n == 0 && in.plain_file && read_input(m, &in))
			request_stop(m, VMM_EXIT_OK);
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			uint64_t count;

			if (fd == m->stop_fd)
				goto out;
			if (fd == sfd) {
				handle_signal(m, sfd);
			} else if (fd == m->wake_fd) {
				/* Re-arm below, at the top of the loop. */
				if (read(fd, &count, sizeof(count)) < 0)
					continue;
			} else if (fd == tfd) {
				if (read(tfd, &count, sizeof(count)) < 0)
					continue;
				pr_err("guest timed out after %u s; stopping "
				       "it", m->opts->timeout);
				request_stop(m, VMM_EXIT_TIMEOUT);
			} else if (fd == in.fd) {
				if (read_input(m, &in)) {
					pr_debug("Ctrl-A x: quitting");
					request_stop(m, VMM_EXIT_OK);
				}
			} else if (m->serial && fd == m->serial_out.fd) {
				serial_output(m->serial);
			} else if (fd == m->out.fd) {
				vmmio_lock(m->transport);
				vcon_output(m->console);
				vmmio_unlock(m->transport);
			} else {
				for (q = 0; q < NQUEUES; q++) {
					if (fd != m->notify_fd[q])
						continue;
					if (read(fd, &count, sizeof(count)) < 0)
						break;
					vmmio_notify(m->transport, q);
					if (q == 1)
						poll_until = now_ns() +
							     TX_POLL_NS;
				}
			}
		}
		/* Receive buffers may have arrived with a notification. */
		feed(m, &in);
		if (poll_until)
			poll_tx(m, &poll_until);
	}
out:
	/* A loop that spins (on a closed stdin, say) shows up here. */
	pr_debug("event loop: %llu wake-ups", (unsigned long long)wakeups);
	close(ep);
	return rc;
}

/*
 * Wait until fd can take more output. A reader that never drains holds us
 * here, like any program writing to a full pipe.
 */
static void wait_writable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

/* Write out what the devices still hold (the guest has stopped). */
static void drain_output(struct machine *m)
{
	bool blocked;
	int rounds;

	for (rounds = 0; m->serial && rounds < 100000; rounds++) {
		if (!serial_output(m->serial))
			break;
		wait_writable(m->serial_out.fd);
	}
	for (rounds = 0; m->out.fd >= 0 && rounds < 100000; rounds++) {
		vmmio_lock(m->transport);
		blocked = vcon_output(m->console);
		vmmio_unlock(m->transport);
		if (!blocked)
			break;
		wait_writable(m->out.fd);
	}
}

static int make_timer(unsigned seconds)
{
	struct itimerspec its = { .it_value = { .tv_sec = seconds } };
	int fd;

	if (!seconds)
		return -1;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* --dirty-log: merge KVM's logs into libvmmem's bitmaps and count. */
static void report_dirty(struct machine *m)
{
	uint64_t pages = 0;
	size_t i, w;
	int rc = vm_sync_dirty(&m->vm);

	for (i = 0; !rc && i < vmmem_region_count(m->mem); i++) {
		struct vmmem_region *r = vmmem_region_at(m->mem, i);
		size_t words = (vmmem_region_dirty_pages(r) + 63) / 64;
		uint64_t *bits = calloc(words ? words : 1, sizeof(*bits));

		if (!bits ||
		    vmmem_region_dirty_get_and_reset(r, bits, words) != 0) {
			free(bits);
			rc = -ENOMEM;
			break;
		}
		for (w = 0; w < words; w++)
			pages += (uint64_t)__builtin_popcountll(bits[w]);
		free(bits);
	}
	if (rc)
		pr_err("dirty log: %s", strerror(-rc));
	else
		pr_err("dirty pages: %llu (%llu KiB written by the guest and "
		       "the VMM)", (unsigned long long)pages,
		       (unsigned long long)pages * 4);
}

static int report(struct machine *m)
{
	if (m->status >= 0)
		return m->status;
	enum vcpu_stop why = VCPU_STOPPED;
	unsigned i;

	/* The first reason other than "asked to stop" is the real one. */
	for (i = 0; i < m->nthreads && why == VCPU_STOPPED; i++)
		why = m->why[i];
	switch (why) {
	case VCPU_HALTED:
		pr_err("guest halted");
		return VMM_EXIT_OK;
	case VCPU_SHUTDOWN:
		pr_err("guest shut down (triple fault or reset)");
		return VMM_EXIT_OK;
	default:
		return VMM_EXIT_CRASH;
	}
}

static void teardown(struct machine *m)
{
	unsigned q;

	unsigned i;

	for (i = 0; i < m->ncpus; i++)
		vcpu_fini(&m->vcpu[i]);
	vmmio_destroy(m->transport);
	vcon_destroy(m->console);
	for (q = 0; q < NQUEUES; q++)
		if (m->notify_fd[q] >= 0)
			close(m->notify_fd[q]);
	if (m->irq_fd >= 0)
		close(m->irq_fd);
	if (m->wake_fd >= 0)
		close(m->wake_fd);
	close_output(&m->out);
	serial_destroy(m->serial);
	close_output(&m->serial_out);
	i8042_destroy(m->kbd);
	if (m->vm.kvm_fd >= 0 || m->vm.vm_fd >= 0)
		vm_fini(&m->vm);
	vmmem_destroy(m->mem);
}

int vmm_run(const struct vmm_opts *opts)
{
	struct machine m = {
		.opts = opts, .irq_fd = -1, .notify_fd = { -1, -1 },
		.stop_fd = -1, .wake_fd = -1, .status = -1,
		.out = { .fd = -1 }, .serial_out = { .fd = -1 },
		.vm = { .kvm_fd = -1, .vm_fd = -1 },
	};
	struct sigaction sa = { .sa_handler = kick_handler };
	sigset_t set;
	int sfd = -1, tfd = -1, status = VMM_EXIT_SETUP, rc;
	unsigned i;

	/* Signals are read from a signalfd by the loop, in every thread
	 * blocked; the vCPU thread unblocks only its kick. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGWINCH);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigaction(KICK_SIGNAL, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (setup(&m))
		goto out;
	sigdelset(&set, KICK_SIGNAL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	tfd = make_timer(opts->timeout);
	m.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (sfd < 0 || m.stop_fd < 0 || (opts->timeout && tfd < 0)) {
		pr_err("event setup: %s", strerror(errno));
		goto out;
	}
	if (opts->console == VMM_CONSOLE_STDIO)
		term_raw(STDIN_FILENO);
	for (i = 0; i < m.ncpus; i++) {
		m.arg[i] = (struct vcpu_arg){ &m, i };
		rc = pthread_create(&m.thread[i], NULL, vcpu_thread, &m.arg[i]);
		if (rc) {
			pr_err("cannot start vCPU thread %u: %s", i,
			       strerror(rc));
			break;
		}
		m.nthreads++;
	}
	if (m.nthreads == m.ncpus)
		event_loop(&m, sfd, tfd);
	/* The loop ends when a vCPU thread did, or after a stop request;
	 * stop them all in any case, without deciding the status here. */
	kick_all(&m);
	for (i = 0; i < m.nthreads; i++)
		pthread_join(m.thread[i], NULL);
	if (m.status == VMM_EXIT_TIMEOUT)
		for (i = 0; i < m.ncpus; i++)
			vcpu_dump(&m.vcpu[i]);
	drain_output(&m);
	if (opts->dirty_log)
		report_dirty(&m);
	status = report(&m);
	term_restore();
out:
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	if (m.stop_fd >= 0)
		close(m.stop_fd);
	teardown(&m);
	return status;
}
