/* SPDX-License-Identifier: MIT */
/*
 * vmm.c - assemble a machine, run it, pause it, take it apart.
 *
 * Assembly: guest memory, the boot image (loader/kernel.c) or a snapshot
 * (snap.c), the KVM VM with one slot per region, the devices on their
 * buses, the vCPUs. Then one thread per vCPU and the event loop (loop.c)
 * on the main thread until the machine stops.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#include "api.h"
#include "devices/console.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "devices/sysctl.h"
#include "lazy.h"
#include "loader/kernel.h"
#include "machine.h"
#include "migrate.h"
#include "sandbox.h"
#include "term.h"
#include "util.h"
#include "virtio/mmio.h"
#include "x86/acpi.h"
#include "x86/boot.h"

#define KICK_SIGNAL SIGUSR1

/* The first reason to stop wins (the guest's exit, a timeout, a signal). */
static void set_status(struct machine *m, int status)
{
	int unset = -1;

	__atomic_compare_exchange_n(&m->status, &unset, status, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* Make every vCPU thread leave KVM_RUN and look at its flags. */
static void kick_all(struct machine *m)
{
	unsigned i;

	__atomic_store_n(&m->leave, true, __ATOMIC_RELEASE);
	for (i = 0; i < m->nthreads; i++)
		vcpu_kick(&m->vcpu[i], (unsigned long)m->thread[i],
			  KICK_SIGNAL);
}

void machine_stop(struct machine *m, int status)
{
	uint64_t one = 1;

	set_status(m, status);
	pthread_mutex_lock(&m->lock);
	__atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
	kick_all(m);
	/* Paused vCPU threads wait on the condition: let them end. */
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	/* The loop ends on this, also when no vCPU runs yet. */
	if (write(m->stop_fd, &one, sizeof(one)) < 0)
		pr_debug("stop: %s", strerror(errno));
}

/* Devices call this (from vCPU threads) to end the machine. */
static void device_stop(void *opaque, int status)
{
	machine_stop(opaque, status);
}

void machine_pause(struct machine *m)
{
	pthread_mutex_lock(&m->lock);
	if (m->state != MACHINE_RUNNING) {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	m->pausing = true;
	kick_all(m);
	/* Every vCPU thread either parks or ends (the guest stopped). */
	while (m->parked + m->ended < m->nthreads && !m->stop)
		pthread_cond_wait(&m->cond, &m->lock);
	__atomic_store_n(&m->state, MACHINE_PAUSED, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&m->lock);
}

void machine_resume(struct machine *m)
{
	pthread_mutex_lock(&m->lock);
	if (m->state == MACHINE_PAUSED) {
		m->pausing = false;
		if (!m->stop)
			__atomic_store_n(&m->leave, false, __ATOMIC_RELEASE);
		__atomic_store_n(&m->state, MACHINE_RUNNING, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&m->cond);
	}
	pthread_mutex_unlock(&m->lock);
}

bool machine_halt_watch(struct machine *m)
{
	bool all = true;
	unsigned i;

	pthread_mutex_lock(&m->lock);
	if (m->state != MACHINE_RUNNING || m->pausing || m->stop ||
	    m->nthreads < m->ncpus) {
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	for (i = 0; i < m->nthreads; i++)
		all = all && vcpu_dead_halt(&m->vcpu[i]);
	if (!all)
		for (i = 0; i < m->nthreads; i++)
			vcpu_request_halt_check(&m->vcpu[i],
						(unsigned long)m->thread[i],
						KICK_SIGNAL);
	pthread_mutex_unlock(&m->lock);
	return all;
}

static void kick_handler(int sig)
{
	(void)sig;
}

/*
 * With --verbose: the process's CPU time from exec to vCPU 0's first
 * KVM_RUN, what start-up costs the host (the benchmarks read it).
 */
static void report_startup(struct machine *m)
{
	struct timespec ts;

	m->started = true;
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0)
		pr_debug("start-up: %.2f ms of CPU time from exec to the "
			 "first KVM_RUN",
			 ts.tv_sec * 1e3 + ts.tv_nsec / 1e6);
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
	/* Started away from the main thread: every CPU allowed again. */
	if (m->placed && sched_setaffinity(0, sizeof(m->cpus), &m->cpus))
		pr_debug("vCPU %u: affinity: %s", a->i, strerror(errno));
	if (m->opts->seccomp) {
		if (sandbox_vcpu()) {
			machine_stop(m, VMM_EXIT_SETUP);
			m->why[a->i] = VCPU_FAILED;
			goto out;
		}
		sandbox_probe("vcpu");
	}
	if (a->i == 0 && !m->started)
		report_startup(m);
	for (;;) {
		m->why[a->i] = vcpu_run(&m->vcpu[a->i], &m->pio, &m->mmio,
					&m->leave);
		if (m->why[a->i] != VCPU_STOPPED)
			break;
		/* Asked to leave: to stop, or to wait while paused. */
		pthread_mutex_lock(&m->lock);
		if (!m->pausing || m->stop) {
			pthread_mutex_unlock(&m->lock);
			break;
		}
		m->parked++;
		pthread_cond_broadcast(&m->cond);
		while (m->pausing && !m->stop)
			pthread_cond_wait(&m->cond, &m->lock);
		m->parked--;
		pthread_mutex_unlock(&m->lock);
	}
out:
	/* Any vCPU that stops stops the machine: the loop then stops the
	 * others. */
	pthread_mutex_lock(&m->lock);
	m->ended++;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	if (write(m->stop_fd, &one, sizeof(one)) < 0)
		pr_err("vCPU thread: %s", strerror(errno));
	return NULL;
}

/*
 * Where the vCPU threads start: on the CPUs the process may use but the
 * one this (the main) thread is on, when there is another. Left alone,
 * the scheduler may start a new thread beside its creator and keep it
 * there while another CPU idles; a vCPU that spins (a guest that polls
 * its queues) then holds off the event loop it has just notified until
 * the next tick, 4 ms at HZ=250. Only the start is placed: each thread
 * allows itself every CPU again before it runs the guest (vcpu_thread()).
 * Return: attr set up, or NULL when there is no other CPU (or no
 * affinity to read).
 */
static pthread_attr_t *start_away(struct machine *m, pthread_attr_t *attr)
{
	int here = sched_getcpu();
	cpu_set_t away;

	if (here < 0 || sched_getaffinity(0, sizeof(m->cpus), &m->cpus))
		return NULL;
	away = m->cpus;
	CPU_CLR(here, &away);
	if (CPU_COUNT(&away) == 0 || pthread_attr_init(attr))
		return NULL;
	if (pthread_attr_setaffinity_np(attr, sizeof(away), &away)) {
		pthread_attr_destroy(attr);
		return NULL;
	}
	m->placed = true;
	return attr;
}

int machine_start(struct machine *m)
{
	pthread_attr_t attr_buf, *attr;
	unsigned i;
	int rc = 0;

	/* Under the lock: a vCPU that stops the machine at once kicks the
	 * threads started so far, and reads their count. */
	pthread_mutex_lock(&m->lock);
	attr = start_away(m, &attr_buf);
	for (i = 0; i < m->ncpus; i++) {
		m->arg[i] = (struct vcpu_arg){ m, i };
		rc = pthread_create(&m->thread[i], attr, vcpu_thread,
				    &m->arg[i]);
		/* The place is a preference, not a condition. */
		if (rc && attr)
			rc = pthread_create(&m->thread[i], NULL, vcpu_thread,
					    &m->arg[i]);
		if (rc) {
			pr_err("cannot start vCPU thread %u: %s", i,
			       strerror(rc));
			break;
		}
		m->nthreads++;
	}
	if (attr)
		pthread_attr_destroy(attr);
	pthread_mutex_unlock(&m->lock);
	return -rc;
}

int machine_ctl(struct machine *m, enum ctl_op op, const void *args,
		char *err, size_t errlen)
{
	struct ctl_request req = {
		.op = op, .args = args, .err = err, .errlen = errlen,
	};
	uint64_t one = 1;

	pthread_mutex_lock(&m->lock);
	while (m->ctl && !m->stop)
		pthread_cond_wait(&m->cond, &m->lock);
	if (m->stop) {
		pthread_mutex_unlock(&m->lock);
		snprintf(err, errlen, "the VM is shutting down");
		return -ESHUTDOWN;
	}
	m->ctl = &req;
	if (write(m->ctl_fd, &one, sizeof(one)) < 0)
		pr_debug("control: %s", strerror(errno));
	while (!req.done)
		pthread_cond_wait(&m->cond, &m->lock);
	pthread_mutex_unlock(&m->lock);
	return req.rc;
}

static int ctl_pause(struct machine *m, char *err, size_t errlen)
{
	if (m->state == MACHINE_NOT_STARTED) {
		snprintf(err, errlen, "the VM is not started");
		return -EINVAL;
	}
	machine_pause(m);
	return 0;
}

static int ctl_resume(struct machine *m, char *err, size_t errlen)
{
	if (m->state == MACHINE_NOT_STARTED) {
		snprintf(err, errlen, "the VM is not started");
		return -EINVAL;
	}
	machine_resume(m);
	return 0;
}

static void unbuild(struct machine *m);

static int ctl_load(struct machine *m, const struct snap_load_args *a,
		    char *err, size_t errlen)
{
	int rc;

	if (m->state != MACHINE_NOT_STARTED) {
		snprintf(err, errlen, "a snapshot can only be loaded into a "
			 "VM that has not started (this one is %s)",
			 m->state == MACHINE_RUNNING ? "running" : "paused");
		return -EINVAL;
	}
	rc = snap_restore(m, a, err, errlen);
	if (rc) {
		/* Refused: back to waiting, as if it never came. */
		unbuild(m);
		return rc;
	}
	return machine_start(m);
}

void machine_serve_ctl(struct machine *m)
{
	struct ctl_request *req;
	int rc = -EINVAL;
	bool busy;

	pthread_mutex_lock(&m->lock);
	req = m->ctl;
	pthread_mutex_unlock(&m->lock);
	if (!req)
		return;
	req->err[0] = 0;
	pthread_mutex_lock(&m->lock);
	busy = m->migrating && req->op != CTL_MIG_PAUSE &&
	       req->op != CTL_MIG_RESUME;
	pthread_mutex_unlock(&m->lock);
	if (busy) {
		snprintf(req->err, req->errlen, "a migration is in progress");
		req->op = 0;
		rc = -EBUSY;
	}
	switch (req->op) {
	case CTL_PAUSE:
	case CTL_MIG_PAUSE:
		rc = ctl_pause(m, req->err, req->errlen);
		break;
	case CTL_RESUME:
	case CTL_MIG_RESUME:
		rc = ctl_resume(m, req->err, req->errlen);
		break;
	case CTL_SNAPSHOT:
		rc = snap_create(m, req->args, req->err, req->errlen);
		break;
	case CTL_LOAD:
		rc = ctl_load(m, req->args, req->err, req->errlen);
		break;
	}
	pthread_mutex_lock(&m->lock);
	req->rc = rc;
	req->done = true;
	m->ctl = NULL;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

/* Fail a request that arrives or waits while the machine shuts down. */
static void ctl_shutdown(struct machine *m)
{
	pthread_mutex_lock(&m->lock);
	__atomic_store_n(&m->stop, true, __ATOMIC_RELEASE);
	if (m->ctl) {
		snprintf(m->ctl->err, m->ctl->errlen,
			 "the VM is shutting down");
		m->ctl->rc = -ESHUTDOWN;
		m->ctl->done = true;
		m->ctl = NULL;
	}
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

/*
 * A device wants the loop, perhaps from a vCPU thread (a QueueNotify
 * without ioeventfd, a register access): its output blocked or a slice ran
 * out (the loop then waits for EPOLLOUT or goes on at once), or the guest
 * made room for input the loop holds (the UART's receive FIFO). Called
 * with the device's lock held; only writes an eventfd.
 */
static void wake_loop(void *opaque)
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

static int build_ram(struct machine *m, unsigned flags,
		     const struct vmmem_range *ranges, const uint64_t *gpa,
		     const uint64_t *len, unsigned n);

/* Guest memory: RAM below the MMIO hole and, for large sizes, above 4 GiB. */
static int build_memory(struct machine *m)
{
	const struct vmm_opts *o = m->opts;
	/* Bitmaps always: a migration turns KVM's log on when it starts. */
	unsigned flags = VMMEM_REGION_DIRTY_LOG;
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
	/*
	 * Transparent huge pages where the host offers them: the regions are
	 * placed so that host and guest addresses agree modulo 2 MiB, and
	 * KVM then maps the guest with 2 MiB pages too (fewer second-level
	 * faults, far fewer in a nested hypervisor). A host without THP
	 * (-ENOTSUP) gets plain pages.
	 */
	if (o->backend != VMM_BACKEND_HUGETLB) {
		rc = build_ram(m, flags | VMMEM_REGION_THP, ranges, gpa, len, n);
		if (rc != -ENOTSUP)
			return rc;
		pr_debug("guest RAM: no transparent huge pages on this host");
	}
	return build_ram(m, flags, ranges, gpa, len, n);
}

/* build_memory() with these region flags. */
static int build_ram(struct machine *m, unsigned flags,
		     const struct vmmem_range *ranges, const uint64_t *gpa,
		     const uint64_t *len, unsigned n)
{
	struct vmmem_region *r[2] = { NULL, NULL };
	unsigned i;
	int rc;

	switch (m->opts->backend) {
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
int machine_open_output(enum vmm_console mode, const char *path,
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

/* The keyboard controller pulsed the reset line: the guest asked to stop. */
static void i8042_reset(void *opaque)
{
	pr_debug("reset through the i8042");
	machine_stop(opaque, VMM_EXIT_OK);
}

static int add_device(struct machine *m, const char *name,
		      const struct device_ops *ops, void *dev)
{
	if (m->ndevs == MACHINE_MAX_DEVICES)
		return -ENOSPC;
	m->devs[m->ndevs++] = (struct device){ name, ops, dev };
	return 0;
}

/* The legacy devices every x86 guest may probe. */
static int build_legacy(struct machine *m, bool serial)
{
	const struct serial_irq irq = { serial_irq_level, m };
	int rc;

	rc = bus_register(&m->pio, DEBUG_EXIT_PORT, DEBUG_EXIT_LEN,
			  &debug_exit_bus_ops, &m->stopper);
	if (!rc)
		rc = bus_register(&m->pio, ACPI_SLEEP_PORT, 2,
				  &acpi_sleep_bus_ops, &m->stopper);
	if (!rc)
		rc = add_device(m, "sysctl", &sysctl_device_ops, NULL);
	if (!rc)
		rc = i8042_create(i8042_reset, m, &m->kbd);
	if (!rc)
		rc = bus_register(&m->pio, I8042_DATA_PORT, 1,
				  &i8042_data_bus_ops, m->kbd);
	if (!rc)
		rc = bus_register(&m->pio, I8042_CMD_PORT, 1,
				  &i8042_cmd_bus_ops, m->kbd);
	if (!rc)
		rc = add_device(m, "i8042", &i8042_device_ops, m->kbd);
	if (rc || !serial)
		return rc;
	rc = machine_open_output(m->opts->serial, m->opts->serial_path,
				 &m->serial_out);
	if (!rc)
		rc = serial_create(m->serial_out.fd, &irq, &m->serial);
	if (rc)
		return rc;
	serial_set_blocked_cb(m->serial, wake_loop, m);
	serial_set_input_cb(m->serial, wake_loop, m);
	rc = bus_register(&m->pio, SERIAL_COM1_BASE, SERIAL_NR_PORTS,
			  &serial_bus_ops, m->serial);
	if (!rc)
		rc = add_device(m, "serial", &serial_device_ops, m->serial);
	return rc;
}

/* The virtio console on the transport, its interrupt and notifications. */
static int build_console(struct machine *m)
{
	const struct vmmio_irq irq = { raise_irq, m };
	struct winsize ws = { .ws_col = 80, .ws_row = 25 };
	unsigned q;
	int rc;

	if (m->opts->console == VMM_CONSOLE_STDIO && isatty(STDOUT_FILENO))
		ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
	rc = vcon_create(m->mem, m->out.fd, ws.ws_col, ws.ws_row,
			 &m->console);
	if (rc)
		return rc;
	vcon_set_blocked_cb(m->console, wake_loop, m);
	rc = vmmio_create("console", &vcon_ops, m->console, m->mem, &irq,
			  &m->transport);
	if (!rc)
		rc = bus_register(&m->mmio, VIRTIO_MMIO_BASE, VMMIO_WINDOW,
				  &vmmio_bus_ops, m->transport);
	if (!rc)
		rc = add_device(m, "virtio-console", &vmmio_device_ops,
				m->transport);
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
	m->nqueues = vmmio_num_queues(m->transport);
	if (m->nqueues > MACHINE_MAX_QUEUES)
		return -ENOSPC;
	for (q = 0; q < m->nqueues; q++) {
		m->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (m->notify_fd[q] < 0)
			return -errno;
		rc = vm_ioeventfd(&m->vm,
				  VIRTIO_MMIO_BASE + VMMIO_REG_QUEUE_NOTIFY, 4,
				  q, m->notify_fd[q]);
		if (rc) {
			pr_debug("ioeventfd for queue %u: %s", q,
				 strerror(-rc));
			close(m->notify_fd[q]);
			m->notify_fd[q] = -1;
		}
	}
	return 0;
}

int machine_build_devices(struct machine *m, bool serial)
{
	int rc;

	bus_init(&m->pio);
	bus_init(&m->mmio);
	m->stopper = (struct device_stop){ device_stop, m };
	rc = machine_open_output(m->opts->console, m->opts->console_path,
				 &m->out);
	if (!rc)
		rc = build_console(m);
	if (!rc)
		rc = build_legacy(m, serial);
	if (rc)
		pr_err("setting up devices: %s", strerror(-rc));
	return rc;
}

int machine_build_vcpus(struct machine *m, unsigned n)
{
	int rc;

	/*
	 * With the in-kernel irqchip KVM holds vCPUs other than 0 in
	 * wait-for-SIPI until the guest starts them (INIT/SIPI), so they
	 * only need their threads.
	 */
	if (n > 1 && !m->vm.irqchip) {
		pr_err("%u vCPUs need KVM's in-kernel irqchip", n);
		return -ENOTSUP;
	}
	for (m->ncpus = 0; m->ncpus < n; m->ncpus++) {
		rc = vcpu_init(&m->vm, m->ncpus, &m->vcpu[m->ncpus]);
		if (rc)
			return rc;
	}
	return 0;
}

/* A machine booting its image or kernel. */
static int setup_boot(struct machine *m)
{
	const struct vmm_opts *o = m->opts;
	const struct kernel_config kc = {
		.image = o->image,
		.kernel = o->kernel,
		.initrd = o->initrd,
		.cmdline = o->cmdline,
		.cpus = o->cpus,
		.com1 = o->serial != VMM_CONSOLE_NONE,
	};
	struct boot_entry be;
	int rc;

	rc = build_memory(m);
	if (rc) {
		pr_err("cannot allocate %llu MiB of guest memory: %s",
		       (unsigned long long)(o->mem_size >> 20),
		       strerror(-rc));
		return rc;
	}
	rc = kernel_load(m->mem, &kc, &be);
	if (!rc)
		rc = vm_init(&m->vm);
	if (!rc)
		rc = vm_set_memory(&m->vm, m->mem, m->dirty_log);
	if (!rc)
		rc = machine_build_devices(m, o->serial != VMM_CONSOLE_NONE);
	if (!rc)
		rc = machine_build_vcpus(m, o->cpus);
	if (rc)
		return rc;
	__atomic_store_n(&m->state, MACHINE_RUNNING, __ATOMIC_RELEASE);
	if (!be.pvh)
		return vcpu_setup_long64(&m->vcpu[0], be.entry, be.zero_page);
	return vcpu_setup_pvh(&m->vcpu[0], (uint32_t)be.entry,
			      (uint32_t)BOOT_START_INFO);
}

/* The control API's callbacks: each request goes to the main thread. */
static void api_info(void *opaque, struct api_info *out)
{
	struct machine *m = opaque;

	snprintf(out->vmm_version, sizeof(out->vmm_version), "%s",
		 MINIVMM_VERSION);
	switch (__atomic_load_n(&m->state, __ATOMIC_ACQUIRE)) {
	case MACHINE_NOT_STARTED:
		out->state = API_STATE_NOT_STARTED;
		break;
	case MACHINE_RUNNING:
		out->state = API_STATE_RUNNING;
		break;
	case MACHINE_PAUSED:
		out->state = API_STATE_PAUSED;
		break;
	}
}

static int api_pause(void *opaque, char *err, size_t errlen)
{
	return machine_ctl(opaque, CTL_PAUSE, NULL, err, errlen);
}

static int api_resume(void *opaque, char *err, size_t errlen)
{
	return machine_ctl(opaque, CTL_RESUME, NULL, err, errlen);
}

static int api_snapshot_create(void *opaque,
			       const struct api_snapshot_create *req,
			       char *err, size_t errlen)
{
	const struct snap_create_args a = {
		.diff = req->type == API_SNAPSHOT_DIFF,
		.state_path = req->snapshot_path,
		.mem_path = req->mem_file_path,
	};

	return machine_ctl(opaque, CTL_SNAPSHOT, &a, err, errlen);
}

static int api_snapshot_load(void *opaque, const struct api_snapshot_load *req,
			     char *err, size_t errlen)
{
	const struct snap_load_args a = {
		.state_path = req->snapshot_path,
		.mem_path = req->backend_path,
		.uffd = req->backend_type == API_BACKEND_UFFD,
		.track_dirty = req->track_dirty_pages,
		.resume = req->resume_vm,
	};

	return machine_ctl(opaque, CTL_LOAD, &a, err, errlen);
}

static int api_migrate(void *opaque, const char *url, char *err,
		       size_t errlen)
{
	return migrate_send(opaque, url, err, errlen);
}

static void api_migration(void *opaque, struct api_migration *out)
{
	migrate_info(opaque, out);
}

static const struct api_ops api_ops = {
	.info = api_info,
	.pause = api_pause,
	.resume = api_resume,
	.snapshot_create = api_snapshot_create,
	.snapshot_load = api_snapshot_load,
	.migrate = api_migrate,
	.migration = api_migration,
};

static void teardown(struct machine *m)
{
	unsigned i;

	/* The handler's watchdog first: what follows may end it. */
	lazy_fini(m);
	for (i = 0; i < m->ncpus; i++)
		vcpu_fini(&m->vcpu[i]);
	vmmio_destroy(m->transport);
	vcon_destroy(m->console);
	for (i = 0; i < m->nqueues; i++)
		if (m->notify_fd[i] >= 0)
			close(m->notify_fd[i]);
	if (m->irq_fd >= 0)
		close(m->irq_fd);
	close_output(&m->out);
	serial_destroy(m->serial);
	close_output(&m->serial_out);
	i8042_destroy(m->kbd);
	if (m->vm.kvm_fd >= 0 || m->vm.vm_fd >= 0)
		vm_fini(&m->vm);
	vmmem_destroy(m->mem);
}

/*
 * Take apart what a refused restore built, back to a machine that waits
 * for a snapshot (the main thread's own state: no vCPU thread runs).
 */
static void unbuild(struct machine *m)
{
	unsigned i;

	teardown(m);
	m->mem = NULL;
	m->vm = (struct vm){ .kvm_fd = -1, .vm_fd = -1 };
	m->ncpus = 0;
	m->ndevs = 0;
	m->transport = NULL;
	m->console = NULL;
	m->serial = NULL;
	m->kbd = NULL;
	m->irq_fd = -1;
	m->nqueues = 0;
	for (i = 0; i < MACHINE_MAX_QUEUES; i++)
		m->notify_fd[i] = -1;
	m->out = (struct output){ .fd = -1 };
	m->serial_out = (struct output){ .fd = -1 };
	m->dirty_log = m->opts->dirty_log;
	m->pausing = false;
	__atomic_store_n(&m->leave, false, __ATOMIC_RELEASE);
	__atomic_store_n(&m->state, MACHINE_NOT_STARTED, __ATOMIC_RELEASE);
}

/* The machine: booted, restored from the command line, or waiting for a
 * snapshot through the API. Return: 0, or a negative errno (reported). */
static int setup(struct machine *m, int sfd)
{
	const struct vmm_opts *o = m->opts;
	char err[512];
	int rc;

	if (o->incoming) {
		rc = migrate_incoming(m, o->incoming, sfd, err, sizeof(err));
		if (rc)
			pr_err("incoming migration: %s; nothing was run", err);
		return rc;
	}
	if (o->restore_path) {
		const struct snap_load_args a = {
			.state_path = o->restore_path,
			.mem_path = o->mem_uffd_path ? o->mem_uffd_path :
						       o->mem_file_path,
			.uffd = o->mem_uffd_path != NULL,
			.track_dirty = o->dirty_log,
			.resume = true,
		};

		rc = snap_restore(m, &a, err, sizeof(err));
		if (rc)
			pr_err("%s", err);
		return rc;
	}
	if (o->image || o->kernel)
		return setup_boot(m);
	return 0;	/* waits in "Not started" */
}

static int open_events(struct machine *m, sigset_t *set, int *sfd, int *tfd)
{
	*sfd = signalfd(-1, set, SFD_CLOEXEC);
	*tfd = make_timer(m->opts->timeout);
	m->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	m->ctl_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (*sfd < 0 || m->stop_fd < 0 || m->wake_fd < 0 || m->ctl_fd < 0 ||
	    (m->opts->timeout && *tfd < 0)) {
		pr_err("event setup: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
}

int vmm_run(const struct vmm_opts *opts)
{
	struct machine m = {
		.opts = opts, .irq_fd = -1, .stop_fd = -1, .wake_fd = -1,
		.ctl_fd = -1, .status = -1, .dirty_log = opts->dirty_log,
		.mig_fd = -1,
		.out = { .fd = -1 }, .serial_out = { .fd = -1 },
		.vm = { .kvm_fd = -1, .vm_fd = -1 },
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER,
	};
	struct sigaction sa = { .sa_handler = kick_handler };
	sigset_t set;
	int sfd = -1, tfd = -1, status = VMM_EXIT_SETUP;
	unsigned i;

	for (i = 0; i < MACHINE_MAX_QUEUES; i++)
		m.notify_fd[i] = -1;
	/* Signals are read from a signalfd by the loop, in every thread
	 * blocked; the vCPU threads unblock only their kick. */
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
	sigdelset(&set, KICK_SIGNAL);

	if (open_events(&m, &set, &sfd, &tfd) || setup(&m, sfd))
		goto out;
	if (opts->api_socket) {
		/* api_start() says what went wrong. */
		if (api_start(opts->api_socket, &api_ops, &m, &m.api))
			goto out;
	}
	if (opts->console == VMM_CONSOLE_STDIO)
		term_raw(STDIN_FILENO);
	/* Set-up is over: from here on, only what running needs. */
	if (opts->seccomp && sandbox_process()) {
		set_status(&m, VMM_EXIT_SETUP);
	} else if (m.state == MACHINE_NOT_STARTED) {
		sandbox_probe("main");
		loop_run(&m, sfd, tfd);
	} else if (!machine_start(&m)) {
		sandbox_probe("main");
		/* An incoming migration's source stops only now. */
		migrate_ack(&m, 0, NULL);
		loop_run(&m, sfd, tfd);
	} else {
		migrate_ack(&m, -EIO, "the destination cannot start its vCPUs");
	}
	/* The loop ends when a vCPU thread did, or after a stop request;
	 * stop them all in any case, without deciding the status here. */
	ctl_shutdown(&m);
	api_stop(m.api);
	pthread_mutex_lock(&m.lock);
	kick_all(&m);
	pthread_cond_broadcast(&m.cond);
	pthread_mutex_unlock(&m.lock);
	for (i = 0; i < m.nthreads; i++)
		pthread_join(m.thread[i], NULL);
	if (m.status == VMM_EXIT_TIMEOUT)
		for (i = 0; i < m.ncpus; i++)
			vcpu_dump(&m.vcpu[i]);
	loop_drain(&m, sfd);
	if (m.dirty_log && m.mem)
		report_dirty(&m);
	status = report(&m);
	term_restore();
out:
	close_fd(sfd);
	close_fd(tfd);
	close_fd(m.stop_fd);
	close_fd(m.wake_fd);
	close_fd(m.ctl_fd);
	close_fd(m.mig_fd);
	teardown(&m);
	return status;
}
