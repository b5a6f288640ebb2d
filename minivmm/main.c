/* SPDX-License-Identifier: MIT */
/* main.c - minivmm's command line. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"
#include "vmm.h"

#define MIN_MEMORY (2ull << 20)
#define DEFAULT_MEMORY (256ull << 20)

static void usage(FILE *f)
{
	fprintf(f,
"usage: minivmm [options] IMAGE\n"
"       minivmm [options] --kernel KERNEL [--initrd FILE]\n"
"       minivmm [options] --restore STATE --mem-file MEM\n"
"       minivmm [options] --api-socket PATH\n"
"       minivmm [options] --incoming unix:PATH|tcp:HOST:PORT\n"
"Run IMAGE, an ELF64 program with a PVH entry note, or a Linux KERNEL,\n"
"in a KVM virtual machine with a virtio-console on the terminal; or\n"
"restore a snapshot; or wait for one to be loaded through the API;\n"
"or receive a running guest from another minivmm.\n"
"\n"
"      --kernel KERNEL        boot Linux, with ACPI tables: a bzImage (64-bit\n"
"                             boot protocol) or an ELF vmlinux (PVH entry)\n"
"      --initrd FILE          initial ramdisk for --kernel\n"
"      --cpus N               virtual CPUs (default 1), one thread each\n"
"  -m, --memory SIZE          guest memory, with K/M/G suffix (default 256M)\n"
"      --cmdline STR          guest command line, after the device list\n"
"      --console MODE         stdio (default), file:PATH, or none\n"
"      --serial MODE          an 8250 UART on 0x3f8 (IRQ 4): stdio,\n"
"                             file:PATH or none (default)\n"
"      --memory-backend KIND  anon (default), memfd or hugetlb\n"
"      --timeout SECONDS      stop the guest after SECONDS (exit 124)\n"
"      --dirty-log            track pages written (needed for Diff\n"
"                             snapshots); report the count at exit\n"
"      --api-socket PATH      serve the control API (Firecracker's subset:\n"
"                             pause, resume, snapshot create and load)\n"
"                             on a Unix socket, mode 0600\n"
"      --restore STATE        start from a snapshot's state file ...\n"
"      --mem-file MEM         ... and its memory file (mapped\n"
"                             copy-on-write; the file is not changed)\n"
"      --mem-uffd SOCKET      ... or guest memory served on demand by the\n"
"                             page-fault handler listening at SOCKET\n"
"                             (Firecracker's Uffd backend protocol)\n"
"      --incoming URL         wait at URL (unix:PATH or tcp:HOST:PORT) for a\n"
"                             live migration (PUT /migrate on the source),\n"
"                             then run the guest\n"
"      --no-seccomp           run without the system-call filters (for\n"
"                             debugging; they are on by default)\n"
"  -v, --verbose              report exits and device state changes\n"
"  -h, --help                 this text\n"
"  -V, --version              version\n"
"\n"
"On a terminal, Ctrl-A x quits and Ctrl-A Ctrl-A sends Ctrl-A.\n"
"Exit status: (V << 1) | 1 when the guest writes V to port 0xf4\n"
"(QEMU's isa-debug-exit), 0 when the user quits or the guest halts,\n"
"2 for bad options or input, 4 when the guest cannot run, 6 when a\n"
"lazy restore's page-fault handler dies or stops answering, 124 on\n"
"timeout, 128 + N on signal N.\n");
}

/* "256M" and friends; 0 on success. */
static int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B' || *end == 'b')
		end += (*end == 'i' && (end[1] == 'B' || end[1] == 'b')) ? 2 : 1;
	if (*end)
		return -EINVAL;
	if (shift && v > (~0ull >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

static int check_memory(uint64_t size, enum vmm_backend backend)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	uint64_t host = pages > 0 && psize > 0 ?
				(uint64_t)pages * (uint64_t)psize : 0;

	if (size == 0) {
		pr_err("memory size must not be zero");
		return -EINVAL;
	}
	if (size < MIN_MEMORY) {
		pr_err("memory size %llu bytes is too small (at least 2 MiB)",
		       (unsigned long long)size);
		return -EINVAL;
	}
	if (size % 4096) {
		pr_err("memory size must be a multiple of 4 KiB");
		return -EINVAL;
	}
	if (backend == VMM_BACKEND_HUGETLB && size % (2u << 20)) {
		pr_err("with hugetlb, memory size must be a multiple of 2 MiB");
		return -EINVAL;
	}
	if (host && size > host) {
		pr_err("memory size %llu MiB is larger than this host's %llu "
		       "MiB", (unsigned long long)(size >> 20),
		       (unsigned long long)(host >> 20));
		return -E2BIG;
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum { OPT_CMDLINE = 256, OPT_CONSOLE, OPT_BACKEND, OPT_TIMEOUT,
	       OPT_DIRTY, OPT_KERNEL, OPT_INITRD, OPT_SERIAL, OPT_CPUS,
	       OPT_API, OPT_RESTORE, OPT_MEMFILE, OPT_INCOMING, OPT_MEMUFFD,
	       OPT_NOSECCOMP };
	static const struct option longopts[] = {
		{ "memory", required_argument, NULL, 'm' },
		{ "cmdline", required_argument, NULL, OPT_CMDLINE },
		{ "console", required_argument, NULL, OPT_CONSOLE },
		{ "memory-backend", required_argument, NULL, OPT_BACKEND },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "dirty-log", no_argument, NULL, OPT_DIRTY },
		{ "kernel", required_argument, NULL, OPT_KERNEL },
		{ "serial", required_argument, NULL, OPT_SERIAL },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "api-socket", required_argument, NULL, OPT_API },
		{ "restore", required_argument, NULL, OPT_RESTORE },
		{ "mem-file", required_argument, NULL, OPT_MEMFILE },
		{ "incoming", required_argument, NULL, OPT_INCOMING },
		{ "mem-uffd", required_argument, NULL, OPT_MEMUFFD },
		{ "no-seccomp", no_argument, NULL, OPT_NOSECCOMP },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct vmm_opts o = { .mem_size = DEFAULT_MEMORY,
			      .serial = VMM_CONSOLE_NONE, .cpus = 1,
			      .seccomp = true };
	unsigned long t;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "m:vhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_size(optarg, &o.mem_size)) {
				pr_err("bad memory size '%s' (examples: 256M, "
				       "1G)", optarg);
				return VMM_EXIT_SETUP;
			}
			o.mem_size_set = true;
			break;
		case OPT_CMDLINE:
			o.cmdline = optarg;
			break;
		case OPT_CONSOLE:
			if (!strcmp(optarg, "stdio")) {
				o.console = VMM_CONSOLE_STDIO;
			} else if (!strcmp(optarg, "none")) {
				o.console = VMM_CONSOLE_NONE;
			} else if (!strncmp(optarg, "file:", 5) && optarg[5]) {
				o.console = VMM_CONSOLE_FILE;
				o.console_path = optarg + 5;
			} else {
				pr_err("bad --console '%s' (stdio, file:PATH "
				       "or none)", optarg);
				return VMM_EXIT_SETUP;
			}
			break;
		case OPT_BACKEND:
			if (!strcmp(optarg, "anon")) {
				o.backend = VMM_BACKEND_ANON;
			} else if (!strcmp(optarg, "memfd")) {
				o.backend = VMM_BACKEND_MEMFD;
			} else if (!strcmp(optarg, "hugetlb")) {
				o.backend = VMM_BACKEND_HUGETLB;
			} else {
				pr_err("bad --memory-backend '%s' (anon, memfd "
				       "or hugetlb)", optarg);
				return VMM_EXIT_SETUP;
			}
			break;
		case OPT_TIMEOUT:
			errno = 0;
			t = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || t == 0 ||
			    t > 86400 * 365) {
				pr_err("bad --timeout '%s' (seconds, at least "
				       "1)", optarg);
				return VMM_EXIT_SETUP;
			}
			o.timeout = (unsigned)t;
			break;
		case OPT_DIRTY:
			o.dirty_log = true;
			break;
		case OPT_NOSECCOMP:
			o.seccomp = false;
			break;
		case OPT_SERIAL:
			if (!strcmp(optarg, "stdio")) {
				o.serial = VMM_CONSOLE_STDIO;
			} else if (!strcmp(optarg, "none")) {
				o.serial = VMM_CONSOLE_NONE;
			} else if (!strncmp(optarg, "file:", 5) && optarg[5]) {
				o.serial = VMM_CONSOLE_FILE;
				o.serial_path = optarg + 5;
			} else {
				pr_err("bad --serial '%s' (stdio, file:PATH or "
				       "none)", optarg);
				return VMM_EXIT_SETUP;
			}
			break;
		case OPT_CPUS:
			errno = 0;
			t = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || t < 1 ||
			    t > VMM_MAX_CPUS) {
				pr_err("bad --cpus '%s' (1 to %d)", optarg,
				       VMM_MAX_CPUS);
				return VMM_EXIT_SETUP;
			}
			o.cpus = (unsigned)t;
			o.cpus_set = true;
			break;
		case OPT_KERNEL:
			o.kernel = optarg;
			break;
		case OPT_INITRD:
			o.initrd = optarg;
			break;
		case OPT_API:
			o.api_socket = optarg;
			break;
		case OPT_RESTORE:
			o.restore_path = optarg;
			break;
		case OPT_MEMFILE:
			o.mem_file_path = optarg;
			break;
		case OPT_INCOMING:
			o.incoming = optarg;
			break;
		case OPT_MEMUFFD:
			o.mem_uffd_path = optarg;
			break;
		case 'v':
			util_verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("minivmm %s\n", MINIVMM_VERSION);
			return 0;
		default:
			usage(stderr);
			return VMM_EXIT_SETUP;
		}
	}
	if (o.initrd && !o.kernel) {
		pr_err("--initrd needs --kernel");
		return VMM_EXIT_SETUP;
	}
	if (o.mem_file_path && o.mem_uffd_path) {
		pr_err("--mem-file and --mem-uffd: choose one");
		return VMM_EXIT_SETUP;
	}
	if (!o.restore_path != !(o.mem_file_path || o.mem_uffd_path)) {
		pr_err(o.restore_path ? "--restore needs --mem-file or "
					"--mem-uffd" :
					"--mem-file and --mem-uffd need --restore");
		return VMM_EXIT_SETUP;
	}
	if (o.incoming && (o.restore_path || o.kernel || optind != argc)) {
		pr_err("--incoming receives a running guest; give no IMAGE, "
		       "--kernel or --restore");
		return VMM_EXIT_SETUP;
	}
	if (o.incoming)
		return vmm_run(&o);
	if (o.restore_path && (o.kernel || optind != argc)) {
		pr_err("--restore starts from a snapshot; give no IMAGE or "
		       "--kernel");
		return VMM_EXIT_SETUP;
	}
	/* With the API alone, the VM waits for a snapshot to load. */
	if (!o.restore_path && !o.kernel && o.api_socket && optind == argc)
		return vmm_run(&o);
	if (o.restore_path)
		return vmm_run(&o);
	if (o.kernel ? optind != argc : optind != argc - 1) {
		pr_err(o.kernel ? "an IMAGE and --kernel given; choose one" :
		       optind == argc ? "no IMAGE given (see --help)" :
					"more than one IMAGE given");
		return VMM_EXIT_SETUP;
	}
	o.image = o.kernel ? NULL : argv[optind];
	if (check_memory(o.mem_size, o.backend))
		return VMM_EXIT_SETUP;
	return vmm_run(&o);
}
