/* SPDX-License-Identifier: MIT */
/*
 * machine.h - one virtual machine as the VMM's own files see it: guest
 * memory, the KVM VM and its vCPUs, the buses, the devices, and the
 * threads. Private to vmm.c (assembly, vCPU threads, pause), loop.c (the
 * event loop) and snap.c (snapshot and restore); main.c sees only vmm.h.
 *
 * Threads: one per vCPU, running KVM_RUN and handling its exits; the main
 * thread runs the event loop, and every change of the machine's state
 * (pause, resume, snapshot, restore, stop) happens there. The control API,
 * when enabled, has its own thread, which hands each request to the main
 * thread and waits for its answer.
 */
#ifndef MINIVMM_MACHINE_H
#define MINIVMM_MACHINE_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "bus.h"
#include "devices/device.h"
#include "vcpu.h"
#include "vm.h"
#include "vmm.h"

struct api;
struct lazy;
struct i8042;
struct serial;
struct vcon;
struct vmmem;
struct vmmio;

#define MACHINE_MAX_DEVICES 8
#define MACHINE_MAX_REGIONS 8
#define MACHINE_NAME_MAX 32	/* a device's name, NUL included */
#define MACHINE_MAX_QUEUES 8

/* A device's output: stdout, a file, or nowhere (fd -1). */
struct output {
	int fd;
	bool restore;		/* fd is stdout with O_NONBLOCK we set */
	int flags;		/* its flags before */
};

enum machine_state {
	MACHINE_NOT_STARTED,	/* waiting for a snapshot to load */
	MACHINE_RUNNING,
	MACHINE_PAUSED,
};

/* What a snapshot is asked for (control API or CLI). */
struct snap_create_args {
	bool diff;		/* only pages dirtied since the last one */
	const char *state_path;
	const char *mem_path;
};

struct snap_load_args {
	const char *state_path;
	const char *mem_path;	/* mapped privately: copy-on-write; or */
	bool uffd;		/* mem_path is a page-fault handler's socket */
	bool track_dirty;	/* log dirty pages from now on (for Diff) */
	bool resume;		/* run at once; else stay paused */
};

/* A request of the control API, carried out by the main thread. */
enum ctl_op {
	CTL_PAUSE = 1,
	CTL_RESUME,
	CTL_SNAPSHOT,
	CTL_LOAD,
	/* A migration's own pause and resume: the only changes allowed
	 * while it runs. */
	CTL_MIG_PAUSE,
	CTL_MIG_RESUME,
};

struct ctl_request {
	enum ctl_op op;
	const void *args;	/* struct snap_create_args or _load_args */
	int rc;
	char *err;
	size_t errlen;
	bool done;
};

struct machine {
	const struct vmm_opts *opts;
	struct vmmem *mem;
	struct vm vm;
	unsigned ncpus;		/* vCPUs initialised */
	struct vcpu vcpu[VMM_MAX_CPUS];
	struct bus pio;
	struct bus mmio;

	/* Devices, in the order they are saved. */
	struct device devs[MACHINE_MAX_DEVICES];
	unsigned ndevs;
	struct vmmio *transport;	/* the virtio console's */
	struct vcon *console;
	struct serial *serial;		/* the 8250 on 0x3f8, or NULL */
	struct i8042 *kbd;
	struct device_stop stopper;	/* what the devices call to stop */

	int irq_fd;
	int notify_fd[MACHINE_MAX_QUEUES];
	unsigned nqueues;
	int stop_fd;		/* signalled when a vCPU thread ends */
	int wake_fd;		/* signalled when output blocks */
	struct output out;	/* the console's output */
	struct output serial_out;

	bool stop;		/* atomic: the machine is ending */
	int status;		/* exit status once decided; -1 before */
	enum vcpu_stop why[VMM_MAX_CPUS];
	pthread_t thread[VMM_MAX_CPUS];
	unsigned nthreads;	/* threads started */
	/* The CPUs the process may use: vCPU threads that started away from
	 * the main thread's CPU take them all back (machine_start()). */
	cpu_set_t cpus;
	bool placed;
	struct vcpu_arg {
		struct machine *m;
		unsigned i;
	} arg[VMM_MAX_CPUS];

	/*
	 * Pausing: `leave` makes vCPUs leave KVM_RUN (stop or pause); a
	 * paused vCPU thread waits on `cond` until resumed. Under `lock`.
	 */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool leave;		/* atomic: vCPUs leave KVM_RUN */
	bool started;		/* vCPU 0 has run (start-up reported) */
	bool pausing;
	unsigned parked;	/* vCPU threads waiting while paused */
	unsigned ended;		/* vCPU threads that have returned */
	enum machine_state state;	/* atomic: read by the API thread */

	/* The control API and its one request in flight. */
	struct api *api;
	int ctl_fd;		/* eventfd: a request is waiting */
	struct ctl_request *ctl;	/* under lock */
	bool dirty_log;		/* KVM logs writes (--dirty-log, track) */

	struct lazy *lazy;	/* memory served by a page-fault handler */

	/* Migration: out (under lock), or the incoming one's connection. */
	bool migrating;
	struct api_migration mig;
	int mig_fd;
};

/*
 * The halt watch, called about once a second while the machine runs:
 * true when, at the last call, every vCPU was found halted for good
 * (halted with interrupts disabled, nothing pending: see
 * vcpu_request_halt_check()); otherwise asks each vCPU thread to look
 * again. Such a guest has halted as surely as a HLT that exits to us.
 */
bool machine_halt_watch(struct machine *m);

/* Decide the exit status (the first call wins) and stop every vCPU. */
void machine_stop(struct machine *m, int status);

/* Stop every vCPU between two instructions and wait until they are. */
void machine_pause(struct machine *m);
void machine_resume(struct machine *m);

/* Start one thread per vCPU. Return: 0 or a negative errno (reported). */
int machine_start(struct machine *m);

/* Carry out the control request waiting in m->ctl, if any. */
void machine_serve_ctl(struct machine *m);

/*
 * Hand a request to the main thread and wait for its answer (any thread
 * but the main one). Return: its result; err holds the message.
 */
int machine_ctl(struct machine *m, enum ctl_op op, const void *args,
		char *err, size_t errlen);

/*
 * The devices of a machine whose memory and VM exist: the virtio console,
 * the 8250 when asked for (or when a restored machine had one), the
 * i8042, the debug-exit and ACPI sleep ports. Prints what failed.
 */
int machine_build_devices(struct machine *m, bool serial);

/* vCPUs 0 .. n-1. Prints what failed. */
int machine_build_vcpus(struct machine *m, unsigned n);

/* Open a device's output for `mode`; always non-blocking. */
int machine_open_output(enum vmm_console mode, const char *path,
			struct output *o);

/* Snapshot of a paused machine; restore into a new one. snap.c. */
int snap_create(struct machine *m, const struct snap_create_args *a,
		char *err, size_t errlen);
int snap_restore(struct machine *m, const struct snap_load_args *a,
		 char *err, size_t errlen);

/*
 * The pieces of both, for a migration, which sends the same state over a
 * socket. The machine's shape: what must be built before any state fits.
 */
struct machine_shape {
	unsigned nregions;
	uint64_t gpa[MACHINE_MAX_REGIONS];
	uint64_t len[MACHINE_MAX_REGIONS];
	unsigned ncpus;
	unsigned ndevs;
	char dev[MACHINE_MAX_DEVICES][MACHINE_NAME_MAX];
};

struct snap_file;
struct state_buf;

/* A paused machine's whole state, as the bytes of a state file. */
int snap_encode(struct machine *m, struct state_buf *out, char *err,
		size_t errlen);
/* The shape's bytes (as in a state file), and them read back and checked
 * (regions page-aligned, sorted, within bounds): 0 or -EBADMSG. */
void snap_shape_put(struct machine *m, struct state_buf *b);
int snap_shape_parse(const void *data, size_t len, struct machine_shape *sh);
/* Read and check a state file's shape section; name for messages. */
int snap_shape(const struct snap_file *f, const char *name,
	       struct machine_shape *sh, char *err, size_t errlen);
uint64_t snap_shape_ram(const struct machine_shape *sh);
/* -m and --cpus, when given, must agree with the shape. */
int snap_check_options(struct machine *m, const struct machine_shape *sh,
		       char *err, size_t errlen);
/* With m->mem in place: the VM, devices and vCPUs the shape names. */
int snap_build(struct machine *m, const struct machine_shape *sh,
	       char *err, size_t errlen);
/* Give the built machine the file's state; running or paused. */
int snap_apply(struct machine *m, const struct snap_file *f, bool resume,
	       char *err, size_t errlen);

/* The event loop: returns when the machine stops. loop.c. */
int loop_run(struct machine *m, int sfd, int tfd);

/*
 * Write out what the devices still hold (the guest has stopped); a signal
 * on sfd ends it, and after the timeout or a signal it takes at most
 * half a second.
 */
void loop_drain(struct machine *m, int sfd);

#endif /* MINIVMM_MACHINE_H */
