/* SPDX-License-Identifier: MIT */
/*
 * main.c - the guest's ring-3 entry: read the PVH start info and the
 * command line, find the virtio console, run the selected program and
 * exit through the debug-exit port. Also the report of exceptions.
 */
#include "churn.h"
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
#define PAGE_SIZE ((uint64_t)4096)
#define MIB ((uint64_t)1 << 20)

/*
 * Where prog=churn may write: RAM from 16 MiB, well above the image (its
 * stack and rings included) and the boot information, up to 3 GiB, as the
 * last GiB below 4 GiB is mapped uncached for devices. By default it takes
 * half of that RAM, at most CHURN_DEFAULT_MAX_MIB.
 */
#define CHURN_FLOOR (16 * MIB)
#define CHURN_TOP ((uint64_t)0xc0000000)
#define CHURN_MAX_MIB ((CHURN_TOP - CHURN_FLOOR) / MIB)
#define CHURN_DEFAULT_MAX_MIB 1024

enum prog {
	PROG_DEMO,
	PROG_HELLO,
	PROG_ECHO,
	PROG_STREAM,
	PROG_EVIL,
	PROG_CHURN,
	PROG_FLOOD,
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
	bool nosend;	     /* stream= only: keep the stream in the guest */
	uint64_t churn_mib;  /* 0: the default size */
	uint64_t passes;     /* 0: until 0x04 */
	bool churn_opts;     /* churn= or passes= seen */
	const char *bad_opt; /* the first bad one of those, for messages */
	size_t bad_opt_len;
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
extern char guest_image_end[];
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

/* The memory map, NULL if there is none (or it is not mapped). */
static const struct hvm_memmap_entry *memmap(const struct hvm_start_info *si)
{
	if (si->version < 1 || !si->memmap_paddr ||
	    !gpa_mapped(si->memmap_paddr,
			(uint64_t)si->memmap_entries *
				sizeof(struct hvm_memmap_entry)))
		return NULL;
	return (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
}

/*
 * The end of the highest RAM range in the memory map, 0 if there is no
 * map. Both VMMs describe the same RAM size this way, whatever holes they
 * leave below it.
 */
static uint64_t ram_end(const struct hvm_start_info *si)
{
	const struct hvm_memmap_entry *e = memmap(si);
	uint64_t end = 0;
	uint32_t i;

	if (!e)
		return 0;
	for (i = 0; i < si->memmap_entries; i++) {
		if (e[i].type == HVM_MEMMAP_TYPE_RAM &&
		    e[i].addr + e[i].size > end)
			end = e[i].addr + e[i].size;
	}
	return end;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/*
 * The largest page-aligned stretch of RAM in [floor, CHURN_TOP): the
 * length, with its start in *gpa; 0 if there is none or no memory map.
 */
static uint64_t ram_free(const struct hvm_start_info *si, uint64_t floor,
			 uint64_t *gpa)
{
	const struct hvm_memmap_entry *e = memmap(si);
	uint64_t start, end, best = 0;
	uint32_t i;

	if (!e)
		return 0;
	for (i = 0; i < si->memmap_entries; i++) {
		if (e[i].type != HVM_MEMMAP_TYPE_RAM || e[i].addr >= CHURN_TOP)
			continue;
		/* addr < CHURN_TOP, so addr + size cannot wrap when size is
		 * below CHURN_TOP - addr. */
		end = e[i].size < CHURN_TOP - e[i].addr ? e[i].addr + e[i].size
							: CHURN_TOP;
		start = (max_u64(e[i].addr, floor) + PAGE_SIZE - 1) &
			~(PAGE_SIZE - 1);
		end &= ~(PAGE_SIZE - 1);
		if (start < end && end - start > best) {
			best = end - start;
			*gpa = start;
		}
	}
	return best;
}

/*
 * The lowest address prog=churn may use: CHURN_FLOOR, or higher if the
 * image or the boot information reach that far under some VMM.
 */
static uint64_t churn_floor(const struct hvm_start_info *si,
			    uint32_t start_info_gpa, const char *line,
			    size_t line_len)
{
	const struct hvm_memmap_entry *e = memmap(si);
	uint64_t floor = CHURN_FLOOR;

	floor = max_u64(floor, (uintptr_t)guest_image_end);
	floor = max_u64(floor, start_info_gpa + sizeof(*si));
	/* Both are mapped, so below 4 GiB: the sums cannot wrap. */
	if (e)
		floor = max_u64(floor, (uintptr_t)(e + si->memmap_entries));
	return max_u64(floor, (uintptr_t)line + line_len + 1);
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

/*
 * An option of prog=churn, name=N with 1 <= N <= max; the first bad one
 * is kept for the message.
 */
static void parse_churn_opt(struct args *a, const char *tok, size_t len,
			    size_t name_len, uint64_t max, uint64_t *out)
{
	const char *v = tok + name_len;
	size_t vlen = len - name_len;
	uint64_t n;

	a->churn_opts = true;
	if (vlen && parse_dec(v, vlen, &n) == vlen && n >= 1 && n <= max) {
		*out = n;
	} else if (!a->bad_opt) {
		a->bad_opt = tok;
		a->bad_opt_len = len;
	}
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
		else if (str_eq(a->value, a->value_len, "churn"))
			a->prog = PROG_CHURN;
		else if (str_eq(a->value, a->value_len, "flood"))
			a->prog = PROG_FLOOD;
	} else if (str_starts(tok, len, "stream=")) {
		select_prog(a, PROG_STREAM, tok, len, 7);
		a->stream_mib = 0;
		if (a->value_len &&
		    parse_dec(a->value, a->value_len, &n) == a->value_len &&
		    n >= 1 && n <= STREAM_MAX_MIB)
			a->stream_mib = n;
	} else if (str_eq(tok, len, "nosend")) {
		a->nosend = true;
	} else if (str_starts(tok, len, "evil=")) {
		select_prog(a, PROG_EVIL, tok, len, 5);
	} else if (str_starts(tok, len, "churn=")) {
		parse_churn_opt(a, tok, len, 6, CHURN_MAX_MIB, &a->churn_mib);
	} else if (str_starts(tok, len, "passes=")) {
		parse_churn_opt(a, tok, len, 7, UINT64_MAX, &a->passes);
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

/*
 * With send false (nosend) the stream is made the same way, into the same
 * transmit buffers in turn, but never handed to the device: the guest's own
 * rate, which bounds what any device can move.
 */
static int stream(struct con *c, uint64_t mib, bool send)
{
	uint64_t total = mib << 20, i = 0, h = FNV_OFFSET, w;
	size_t room, k, j;
	unsigned slot = 0;
	char hex[17];
	uint8_t *p;
	int ret;

	for (j = 0; j < 256; j++)
		for (k = 0, stream_words[j] = 0; k < 8; k++)
			stream_words[j] |= (uint64_t)(uint8_t)(j + k) << (8 * k);
	while (i < total) {
		if (send) {
			ret = con_tx_space(c, &p, &room);
			if (ret)
				return ret;
		} else {
			p = c->tx_buf[slot];
			room = CON_TX_SLOT_SIZE;
			slot = (slot + 1) % CON_TX_SLOTS;
		}
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
		if (send)
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
	if (a->prog == PROG_STREAM && !a->stream_mib)
		return con_printf(c,
				  "guest: bad stream size in '%.*s': N MiB, "
				  "1 to %u\n",
				  (int)a->arg_len, a->arg, STREAM_MAX_MIB);
	if (a->prog == PROG_EVIL && !evil_known(a->value, a->value_len))
		return con_printf(c,
				  "guest: unknown evil kind in '%.*s'; "
				  "kinds: %s\n",
				  (int)a->arg_len, a->arg, evil_kinds);
	if (a->prog == PROG_UNKNOWN)
		return con_printf(c,
				  "guest: unknown program in '%.*s'; "
				  "programs: prog=demo, prog=hello, "
				  "prog=echo, prog=churn [churn=MIB] "
				  "[passes=N], prog=flood, stream=N, "
				  "evil=KIND\n",
				  (int)a->arg_len, a->arg);
	if (a->bad_opt && str_starts(a->bad_opt, a->bad_opt_len, "churn="))
		return con_printf(c,
				  "guest: bad churn size in '%.*s': MIB, "
				  "1 to %lu\n",
				  (int)a->bad_opt_len, a->bad_opt,
				  CHURN_MAX_MIB);
	if (a->bad_opt)
		return con_printf(c,
				  "guest: bad pass count in '%.*s': N, 1 or "
				  "more\n",
				  (int)a->bad_opt_len, a->bad_opt);
	if (a->nosend && a->prog != PROG_STREAM)
		return con_puts(c, "guest: nosend is an option of stream=N\n");
	return con_puts(c, "guest: churn= and passes= are options of "
			   "prog=churn\n");
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
	if (a->churn_opts && (a->bad_opt || a->prog != PROG_CHURN))
		return false;
	if (a->nosend && a->prog != PROG_STREAM)
		return false;
	return true;
}

/*
 * prog=churn: size and place the working set, then run it. *code is the
 * exit code: 1 when the working set does not fit or a word was wrong.
 */
static int churn(struct con *c, const struct args *a, uint64_t floor,
		 const struct hvm_start_info *si, int *code)
{
	uint64_t gpa = 0, room, len, errors = 0;
	int ret;

	room = ram_free(si, floor, &gpa);
	len = a->churn_mib * MIB;
	if (!a->churn_mib)
		len = MIN(room / 2, CHURN_DEFAULT_MAX_MIB * MIB) & ~(MIB - 1);
	if (a->churn_mib && len > room) {
		*code = 1;
		return con_printf(c,
				  "guest: churn=%lu does not fit: %lu MiB "
				  "of RAM free between %lu and %lu MiB\n",
				  a->churn_mib, room / MIB, floor / MIB,
				  CHURN_TOP / MIB);
	}
	if (!len) {
		*code = 1;
		return con_printf(c,
				  "guest: no RAM for churn: %lu MiB free "
				  "between %lu and %lu MiB\n",
				  room / MIB, floor / MIB, CHURN_TOP / MIB);
	}
	ret = churn_run(c, gpa, len, a->passes, &errors);
	*code = errors ? 1 : 0;
	return ret;
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
	int ret, code = 0;

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
		ret = stream(&console, args.stream_mib, !args.nosend);
		break;
	case PROG_FLOOD:
		ret = con_flood(&console);
		break;
	case PROG_CHURN:
		ret = churn(&console, &args,
			    churn_floor(si, start_info_gpa, line, line_len), si,
			    &code);
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
	guest_exit(code);
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
