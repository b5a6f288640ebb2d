/* SPDX-License-Identifier: MIT */
/*
 * vmm.h - one virtual machine, from options to exit status: guest memory,
 * the image, the devices, the vCPU thread and the event loop.
 */
#ifndef MINIVMM_VMM_H
#define MINIVMM_VMM_H

#include <stdbool.h>
#include <stdint.h>

enum vmm_console { VMM_CONSOLE_STDIO, VMM_CONSOLE_FILE, VMM_CONSOLE_NONE };
enum vmm_backend { VMM_BACKEND_ANON, VMM_BACKEND_MEMFD, VMM_BACKEND_HUGETLB };

struct vmm_opts {
	const char *image;		/* ELF with a PVH note, or NULL */
	const char *kernel;		/* bzImage (64-bit boot protocol) */
	const char *initrd;		/* with kernel, or NULL */
	uint64_t mem_size;
	bool mem_size_set;		/* -m given (a restore checks it) */
	const char *cmdline;		/* appended to the VMM's own */
	enum vmm_console console;
	const char *console_path;	/* VMM_CONSOLE_FILE */
	enum vmm_console serial;	/* the 8250 on 0x3f8; default none */
	const char *serial_path;
	enum vmm_backend backend;
	unsigned timeout;		/* seconds, 0 = none */
	unsigned cpus;			/* vCPUs, 1 .. VMM_MAX_CPUS */
	bool cpus_set;			/* --cpus given */
	bool dirty_log;
	const char *api_socket;		/* control API, or NULL */
	const char *restore_path;	/* --restore: a state file */
	const char *mem_file_path;	/* --mem-file: its memory */
	const char *mem_uffd_path;	/* --mem-uffd: a page-fault handler */
	const char *incoming;		/* --incoming URL: wait for a migration */
	bool seccomp;			/* the sandbox (off: --no-seccomp) */
};

#define VMM_MAX_CPUS 64
#define MINIVMM_VERSION "0.2.0"

/* Exit statuses besides the guest's own (V << 1) | 1, which are odd. */
#define VMM_EXIT_OK 0		/* user quit, guest halted or shut down */
#define VMM_EXIT_SETUP 2	/* bad option or input; nothing ran */
#define VMM_EXIT_CRASH 4	/* the guest could not be run */
#define VMM_EXIT_HANDLER 6	/* a lazy restore's page-fault handler
				 * died or stopped answering */
#define VMM_EXIT_TIMEOUT 124	/* --timeout expired */

/* Run a VM to completion. Return: the process exit status. */
int vmm_run(const struct vmm_opts *opts);

#endif /* MINIVMM_VMM_H */
