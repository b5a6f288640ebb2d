/* SPDX-License-Identifier: MIT */
/*
 * main.c - the guest's ring-3 entry: read the PVH start info and the
 * command line, find the virtio console, run the selected program and
 * exit through the debug-exit port. Also the report of exceptions.
 */
#include "console.h"
#include "evil.h"
#include "lib.h"

/* PVH boot information (xen/include/public/arch-x86/hvm/start_info.h). */
#define HVM_START_MAGIC 0x336ec578
#define HVM_MEMMAP_TYPE_RAM 1

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;	 /* version >= 1 */
	uint32_t memmap_entries; /* version >= 1 */
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* Everything below 4 GiB is identity-mapped; nothing above. */
#define MAPPED_END 0x100000000ull
#define CMDLINE_MAX 4096
#define MAX_DEVICES 32
#define STREAM_MAX_MIB 4096
#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

enum prog {
	PROG_DEMO,
	PROG_HELLO,
	PROG_ECHO,
	PROG_STREAM,
	PROG_EVIL,
	PROG_UNKNOWN,
};

struct mmio_dev {
	uint64_t base;
	uint64_t size;
};

struct args {
	enum prog prog;
	unsigned selections; /* program options seen */
	const char *arg;     /* the selecting option, for messages */
	size_t arg_len;
	const char *value; /* what follows its '=' */
	size_t value_len;
	uint64_t stream_mib; /* 0: bad N */
	struct mmio_dev devs[MAX_DEVICES];
	unsigned ndevs;
};

/* Vector, error code, RIP and CR2 of a ring-3 exception (boot.S). */
struct fault_info {
	uint64_t vector;
	uint64_t error;
	uint64_t rip;
	uint64_t cr2;
};

extern struct fault_info guest_fault_info;
void guest_main(uint32_t start_info_gpa);
void guest_fault(void);

/* The console, for guest_fault(); set once it works. */
static struct con console;
static bool console_up;

static bool gpa_mapped(uint64_t gpa, uint64_t len)
{
	return gpa < MAPPED_END && len <= MAPPED_END - gpa;
}

__attribute__((noreturn)) static void guest_exit(int code)
{
	if (console_up)
		con_drain(&console, 0);
	debug_exit((uint8_t)code);
}

/*
 * The end of the highest RAM range in the memory map, 0 if there is no
 * map. Both VMMs describe the same RAM size this way, whatever holes they
 * leave below it.
 */
static uint64_t ram_end(const struct hvm_start_info *si)
{
	const struct hvm_memmap_entry *e;
	uint64_t end = 0;
	uint32_t i;

	if (si->version < 1 || !si->memmap_paddr ||
	    !gpa_mapped(si->memmap_paddr,
			(uint64_t)si->memmap_entries * sizeof(*e)))
		return 0;
	e = (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
	for (i = 0; i < si->memmap_entries; i++) {
		if (e[i].type == HVM_MEMMAP_TYPE_RAM &&
		    e[i].addr + e[i].size > end)
			end = e[i].addr + e[i].size;
	}
	return end;
}

/* A number with an optional K, M or G suffix, like Linux's memparse(). */
static size_t parse_size(const char *s, size_t len, uint64_t *out)
{
	size_t n = parse_u64(s, len, out);
	unsigned shift = 0;

	if (!n)
		return 0;
	if (n < len) {
		switch (s[n]) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		}
	}
	if (shift) {
		if (*out > (UINT64_MAX >> shift))
			return 0;
		*out <<= shift;
		n++;
	}
	return n;
}

/* virtio_mmio.device=<size>@<base>:<irq>[:<id>] */
static void parse_device(struct args *a, const char *s, size_t len)
{
	struct mmio_dev d;
	uint64_t irq;
	size_t n;

	n = parse_size(s, len, &d.size);
	if (!n || n >= len || s[n] != '@')
		return;
	s += n + 1;
	len -= n + 1;
	n = parse_size(s, len, &d.base);
	if (!n || n >= len || s[n] != ':')
		return;
	if (!parse_dec(s + n + 1, len - n - 1, &irq))
		return;
	if (a->ndevs < MAX_DEVICES)
		a->devs[a->ndevs++] = d;
}

static void select_prog(struct args *a, enum prog p, const char *tok,
			size_t len, size_t name_len)
{
	a->prog = p;
	a->selections++;
	a->arg = tok;
	a->arg_len = len;
	a->value = tok + name_len;
	a->value_len = len - name_len;
}

static void parse_token(struct args *a, const char *tok, size_t len)
{
	static const char dev[] = "virtio_mmio.device=";
	uint64_t n;

	if (str_starts(tok, len, dev)) {
		parse_device(a, tok + sizeof(dev) - 1, len - sizeof(dev) + 1);
	} else if (str_starts(tok, len, "prog=")) {
		select_prog(a, PROG_UNKNOWN, tok, len, 5);
		if (str_eq(a->value, a->value_len, "demo"))
			a->prog = PROG_DEMO;
		else if (str_eq(a->value, a->value_len, "hello"))
			a->prog = PROG_HELLO;
		else if (str_eq(a->value, a->value_len, "echo"))
			a->prog = PROG_ECHO;
	} else if (str_starts(tok, len, "stream=")) {
		select_prog(a, PROG_STREAM, tok, len, 7);
		a->stream_mib = 0;
		if (a->value_len &&
		    parse_dec(a->value, a->value_len, &n) == a->value_len &&
		    n >= 1 && n <= STREAM_MAX_MIB)
			a->stream_mib = n;
	} else if (str_starts(tok, len, "evil=")) {
		select_prog(a, PROG_EVIL, tok, len, 5);
	}
}

static void parse_cmdline(struct args *a, const char *s, size_t len)
{
	size_t i = 0, start;

	a->prog = PROG_DEMO;
	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n'))
			i++;
		start = i;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\n')
			i++;
		if (i > start)
			parse_token(a, s + start, i - start);
	}
}

/* The command line, bounded; "" when there is none. */
static const char *cmdline(const struct hvm_start_info *si, size_t *len)
{
	const char *s;
	size_t n = 0;

	*len = 0;
	if (!si->cmdline_paddr || !gpa_mapped(si->cmdline_paddr, CMDLINE_MAX))
		return "";
	s = (const char *)(uintptr_t)si->cmdline_paddr;
	while (n < CMDLINE_MAX && s[n])
		n++;
	*len = n;
	return s;
}

/*
 * The first version-2 virtio-mmio console on the command line; 0 if none.
 * *legacy gets the first version-1 console, to complain through.
 */
static uintptr_t find_console(const struct args *a, uintptr_t *legacy)
{
	uint32_t version, id;
	unsigned i;

	*legacy = 0;
	for (i = 0; i < a->ndevs; i++) {
		const struct mmio_dev *d = &a->devs[i];

		if (d->size < VMMIO_CONFIG || d->base & 3 ||
		    !gpa_mapped(d->base, d->size))
			continue;
		if (!vmmio_probe(d->base, &version, &id))
			continue;
		if (id != VIRTIO_ID_CONSOLE)
			continue;
		if (version == 2)
			return d->base;
		if (version == 1 && !*legacy)
			*legacy = d->base;
	}
	return 0;
}

static int banner(struct con *c, uint64_t end)
{
	con_puts(c, "vmmem guest: hello\n");
	if (end)
		con_printf(c, "memory: %lu MiB\n", (end + 0xfffff) >> 20);
	else
		con_puts(c, "memory: unknown\n");
	return con_puts(c, "console: virtio-console\n");
}

/*
 * Copy input to output until a 0x04 byte (not copied). With crlf, a
 * carriage return goes out as CR LF, so that Enter on a raw terminal
 * starts a new line.
 */
static int echo(struct con *c, bool crlf)
{
	static uint8_t buf[16384];
	uint8_t *eot, *p, *cr;
	size_t got, n;
	int ret;

	for (;;) {
		ret = con_read(c, buf, sizeof(buf), &got);
		if (ret)
			return ret;
		eot = memchr(buf, 0x04, got);
		n = eot ? (size_t)(eot - buf) : got;
		p = buf;
		while (crlf && (cr = memchr(p, '\r', n - (p - buf)))) {
			con_write(c, p, cr - p);
			con_write(c, "\r\n", 2);
			p = cr + 1;
		}
		ret = con_write(c, p, n - (p - buf));
		if (ret || eot)
			return ret;
	}
}

/*
 * The stream: byte i is (uint8_t)(i + (i >> 8) + (i >> 16) + (i >> 24)),
 * checksummed FNV-1a style over little-endian 64-bit words (one multiply
 * per 8 bytes, so the guest is not what limits the console). Inside an
 * aligned 8-byte word the shifted terms are the same for every byte, so
 * the word is just c, c + 1, ..., c + 7 for its first byte c: one table
 * lookup.
 */
static uint64_t stream_words[256];

static uint8_t stream_byte(uint64_t i)
{
	return (uint8_t)(i + (i >> 8) + (i >> 16) + (i >> 24));
}

static int stream(struct con *c, uint64_t mib)
{
	uint64_t total = mib << 20, i = 0, h = FNV_OFFSET, w;
	size_t room, k, j;
	char hex[17];
	uint8_t *p;
	int ret;

	for (j = 0; j < 256; j++)
		for (k = 0, stream_words[j] = 0; k < 8; k++)
			stream_words[j] |= (uint64_t)(uint8_t)(j + k) << (8 * k);
	while (i < total) {
		ret = con_tx_space(c, &p, &room);
		if (ret)
			return ret;
		/* Whole words only; room is a multiple of 8 in practice. */
		k = MIN(room, total - i) & ~(size_t)7;
		if (!k)
			k = MIN(room, total - i);
		for (j = 0; j + 8 <= k; j += 8, i += 8) {
			w = stream_words[stream_byte(i)];
			__builtin_memcpy(p + j, &w, 8);
			h = (h ^ w) * FNV_PRIME;
		}
		for (; j < k; j++, i++)
			p[j] = stream_byte(i);
		con_tx_commit(c, k);
	}
	fmt_hex64(hex, h);
	hex[16] = '\0';
	return con_printf(c, "\nstream: %lu MiB fnv1a64w %s\n", mib, hex);
}

/* Report a bad command line on the working console. */
static int usage_error(struct con *c, const struct args *a)
{
	if (a->selections > 1)
		return con_puts(c, "guest: more than one program on the "
				   "command line (prog=, stream=, evil=)\n");
	switch (a->prog) {
	case PROG_STREAM:
		return con_printf(c,
				  "guest: bad stream size in '%.*s': N MiB, "
				  "1 to %u\n",
				  (int)a->arg_len, a->arg, STREAM_MAX_MIB);
	case PROG_EVIL:
		return con_printf(c,
				  "guest: unknown evil kind in '%.*s'; "
				  "kinds: %s\n",
				  (int)a->arg_len, a->arg, evil_kinds);
	default:
		return con_printf(c,
				  "guest: unknown program in '%.*s'; "
				  "programs: prog=demo, prog=hello, "
				  "prog=echo, stream=N, evil=KIND\n",
				  (int)a->arg_len, a->arg);
	}
}

static bool args_ok(const struct args *a)
{
	if (a->selections > 1)
		return false;
	if (a->prog == PROG_UNKNOWN)
		return false;
	if (a->prog == PROG_STREAM && !a->stream_mib)
		return false;
	if (a->prog == PROG_EVIL && !evil_known(a->value, a->value_len))
		return false;
	return true;
}

static const char *setup_error(int ret)
{
	switch (ret) {
	case -ENOTSUP:
		return "guest: the console does not offer VIRTIO_F_VERSION_1\n";
	case -ENODEV:
		return "guest: the console refused FEATURES_OK or lacks a "
		       "queue\n";
	case -EIO:
		return "guest: the console set DEVICE_NEEDS_RESET during "
		       "setup\n";
	default:
		return "guest: the console did not complete its reset\n";
	}
}

void guest_main(uint32_t start_info_gpa)
{
	const struct hvm_start_info *si;
	static struct args args;
	uintptr_t base, legacy;
	const char *line, *why;
	size_t line_len;
	uint64_t end;
	int ret;

	si = (const struct hvm_start_info *)(uintptr_t)start_info_gpa;
	if (!gpa_mapped(start_info_gpa, sizeof(*si)) ||
	    si->magic != HVM_START_MAGIC)
		debug_exit(1);
	end = ram_end(si);
	line = cmdline(si, &line_len);
	parse_cmdline(&args, line, line_len);

	base = find_console(&args, &legacy);
	if (!base) {
		/* Nowhere to print, unless a legacy console listens. */
		if (legacy)
			con_emerg_puts(legacy,
				       "guest: the virtio-mmio console is "
				       "version 1 (legacy); version 2 is "
				       "needed\n");
		debug_exit(1);
	}

	if (args_ok(&args) && args.prog == PROG_EVIL) {
		ret = evil_run(&console, base, args.value, args.value_len, end);
		console_up = console.up && !console.failed;
		guest_exit(ret);
	}

	ret = con_setup(&console, base, NULL);
	if (ret) {
		con_emerg_puts(base, setup_error(ret));
		con_reset(&console);
		debug_exit(1);
	}
	console_up = true;

	if (!args_ok(&args)) {
		usage_error(&console, &args);
		guest_exit(1);
	}
	switch (args.prog) {
	case PROG_HELLO:
		ret = banner(&console, end);
		break;
	case PROG_ECHO:
		ret = echo(&console, false);
		break;
	case PROG_STREAM:
		ret = stream(&console, args.stream_mib);
		break;
	default:
		banner(&console, end);
		con_puts(&console, "Type away: input is echoed back. Ctrl-D "
				   "ends the demo, Ctrl-A x quits the VMM.\n");
		ret = echo(&console, true);
		break;
	}
	if (ret) {
		/* The console failed: say why after a reset, if it lets us. */
		why = console.error ? console.error : "unknown error";
		console_up = false;
		con_reset(&console);
		if (!con_setup(&console, base, NULL)) {
			console_up = true;
			con_printf(&console, "\nguest: console failed: %s\n",
				   why);
		}
		guest_exit(1);
	}
	guest_exit(0);
}

static const char *vector_name(uint64_t v)
{
	static const char *const names[] = {
		[0] = "#DE",  [1] = "#DB",  [2] = "NMI",  [3] = "#BP",
		[4] = "#OF",  [5] = "#BR",  [6] = "#UD",  [7] = "#NM",
		[8] = "#DF",  [10] = "#TS", [11] = "#NP", [12] = "#SS",
		[13] = "#GP", [14] = "#PF", [16] = "#MF", [17] = "#AC",
		[18] = "#MC", [19] = "#XM", [20] = "#VE", [21] = "#CP",
	};

	if (v < ARRAY_SIZE(names) && names[v])
		return names[v];
	return "other";
}

/*
 * Entered from boot.S, in ring 3 on a stack of its own, after an exception
 * in ring 3. A second exception while reporting ends the guest at once.
 */
void guest_fault(void)
{
	static bool reporting;
	const struct fault_info *f = &guest_fault_info;

	if (reporting || !console_up)
		debug_exit(1);
	reporting = true;
	con_printf(&console,
		   "\nguest: exception %lu (%s), error code 0x%lx, rip 0x%lx, "
		   "cr2 0x%lx\n",
		   f->vector, vector_name(f->vector), f->error, f->rip, f->cr2);
	con_drain(&console, tsc_deadline(2000));
	debug_exit(1);
}
