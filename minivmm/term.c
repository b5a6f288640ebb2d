/* SPDX-License-Identifier: MIT */
/* term.c - raw terminal mode and the Ctrl-A escapes. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "term.h"

#define CTRL_A 0x01

static struct termios saved;
static int saved_fd = -1;

void term_restore(void)
{
	/* tcsetattr is async-signal-safe, so this may run in a handler. */
	if (saved_fd >= 0)
		tcsetattr(saved_fd, TCSADRAIN, &saved);
}

/* A fatal signal: put the terminal back, then die of the same signal. */
static void fatal_signal(int sig)
{
	term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

int term_raw(int fd)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
	struct termios raw;
	size_t i;

	if (!isatty(fd))
		return 0;
	if (tcgetattr(fd, &saved) < 0)
		return -errno;
	raw = saved;
	/* Input: bytes as typed, no signals from keys (Ctrl-C goes to the
	 * guest), no echo. Output processing stays as it was, so the
	 * guest's "\n" still starts a new line. */
	raw.c_iflag &= ~(unsigned)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR |
				   IGNCR | ICRNL | IXON);
	raw.c_lflag &= ~(unsigned)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
	raw.c_cflag &= ~(unsigned)(CSIZE | PARENB);
	raw.c_cflag |= CS8;
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSADRAIN, &raw) < 0)
		return -errno;
	saved_fd = fd;
	atexit(term_restore);
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], fatal_signal);
	return 1;
}

size_t term_filter(struct term_esc *e, const uint8_t *in, size_t n,
		   uint8_t *out, bool *quit)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		uint8_t c = in[i];

		if (e->pending) {
			e->pending = false;
			if (c == 'x' || c == 'X') {
				*quit = true;
				return k;
			}
			/* Ctrl-A Ctrl-A is one Ctrl-A; Ctrl-A and anything
			 * else passes both on. */
			if (c != CTRL_A)
				out[k++] = CTRL_A;
			out[k++] = c;
		} else if (c == CTRL_A) {
			e->pending = true;
		} else {
			out[k++] = c;
		}
	}
	return k;
}
