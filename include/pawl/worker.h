/*
 * One worker process: builds its context, then accepts and answers requests
 * one at a time until told to stop. SIGTERM while idle exits at once; during
 * a request it lets the request finish first.
 */
#ifndef PAWL_WORKER_H
#define PAWL_WORKER_H

#include "pawl/config.h"

/* Serves FastCGI on listen_fd until SIGTERM/SIGINT. Returns the exit status. */
int pawl_worker_run(const struct pawl_config *cfg, int listen_fd);

#endif
