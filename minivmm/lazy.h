/* SPDX-License-Identifier: MIT */
/*
 * lazy.h - guest memory served on demand by a page-fault handler during a
 * restore (Firecracker's `Uffd` memory backend; lazy.c has the protocol).
 */
#ifndef MINIVMM_LAZY_H
#define MINIVMM_LAZY_H

#include <stddef.h>

struct machine;
struct machine_shape;

/*
 * Give m empty guest memory of the shape, registered with a userfaultfd
 * that the handler listening at sock_path now serves, and start watching
 * the handler: if it dies, talks, or leaves a fault unread too long, the
 * process ends with one line and status VMM_EXIT_HANDLER.
 * Return: 0, or a negative errno with err set (nothing is left over).
 */
int lazy_map(struct machine *m, const struct machine_shape *sh,
	     const char *sock_path, char *err, size_t errlen);

/* Stop watching and let the handler go (it exits when we close). */
void lazy_fini(struct machine *m);

#endif /* MINIVMM_LAZY_H */
