/* SPDX-License-Identifier: MIT */
/*
 * migrate.h - live migration between minivmm processes (migrate.c has the
 * stream format).
 */
#ifndef MINIVMM_MIGRATE_H
#define MINIVMM_MIGRATE_H

#include <stddef.h>

struct api_migration;
struct machine;

/*
 * Migrate a running machine to the minivmm waiting at url (unix:PATH or
 * tcp:HOST:PORT), from any thread but the main one (it pauses the machine
 * through it). Return: 0 when the destination runs the guest (this
 * machine is then stopped, status 0); otherwise a negative errno with err
 * set, and the guest runs here as before.
 */
int migrate_send(struct machine *m, const char *url, char *err,
		 size_t errlen);

/* The last migration's progress (GET /migrate). */
void migrate_info(struct machine *m, struct api_migration *out);

/*
 * Wait at url for one migration and build the machine from it, ready to
 * run (sfd: a signalfd that ends the wait). Return: 0 (then call
 * migrate_ack() once the vCPUs run), or a negative errno with err set;
 * nothing of the guest runs then.
 */
int migrate_incoming(struct machine *m, const char *url, int sfd, char *err,
		     size_t errlen);

/* Tell the source whether the guest runs here (rc 0) or why not. */
void migrate_ack(struct machine *m, int rc, const char *msg);

#endif /* MINIVMM_MIGRATE_H */
