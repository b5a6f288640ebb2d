/* SPDX-License-Identifier: MIT */
/*
 * term.h - the host terminal: raw mode for an interactive console, restored
 * on every way out, and the Ctrl-A escapes (Ctrl-A x quits, Ctrl-A Ctrl-A
 * sends a Ctrl-A).
 */
#ifndef MINIVMM_TERM_H
#define MINIVMM_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Put fd (a terminal) in raw mode; no-op when fd is not a terminal.
 * Installs the handlers that restore it. Return: 1 if raw, 0, -errno. */
int term_raw(int fd);

/* Restore the terminal if term_raw() changed it. Async-signal-safe. */
void term_restore(void);

/* Ctrl-A escape state. */
struct term_esc {
	bool pending;		/* the last byte was Ctrl-A */
};

/*
 * Filter input through the escapes: copy in[0..n) to out (room for n + 1
 * bytes: a Ctrl-A held back from the previous call may come out too)
 * without the escape sequences. Return: the number of bytes in out; sets
 * *quit when Ctrl-A x was typed (bytes after it are dropped).
 */
size_t term_filter(struct term_esc *e, const uint8_t *in, size_t n,
		   uint8_t *out, bool *quit);

#endif /* MINIVMM_TERM_H */
