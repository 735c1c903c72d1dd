/*
 * One worker process: builds its context, then accepts and answers requests
 * one at a time until told to stop. SIGTERM while idle exits at once; during
 * a request it lets the request finish first.
 */
#ifndef PAWL_WORKER_H
#define PAWL_WORKER_H

#include "core/config.h"

/*
 * Serves FastCGI on listen_fd until SIGTERM/SIGINT. Returns the exit status.
 * relay_wake_fd: the write end of the supervisor's pipe to its relay (-1 when
 * the worker runs alone): with it, the relay delivers every outbox row and
 * the worker only wakes it; without it, the worker delivers its own.
 * ready_fd (-1: none): the supervisor's pipe, where the worker writes its pid
 * once it is set up and about to accept, then closes it. SIGUSR1 reopens logs
 * (pawl_log_reopen) and never stops the worker.
 */
int pawl_worker_run(const struct pawl_config *cfg, int listen_fd, int relay_wake_fd, int ready_fd);

#endif
