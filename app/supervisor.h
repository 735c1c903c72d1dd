/*
 * The prefork supervisor (--workers N): keeps N workers alive on one
 * listening socket, respawns the ones that die (backing off when they die
 * young), drains them on SIGTERM/SIGINT, and on SIGHUP re-reads the config
 * and replaces every worker without dropping a request.
 */
#ifndef PAWL_SUPERVISOR_H
#define PAWL_SUPERVISOR_H

#include "core/config.h"

/*
 * Runs until stopped; takes ownership of cfg (replaced on reload). Returns
 * the process exit status.
 */
int pawl_supervisor_run(const char *config_path, struct pawl_config *cfg, int listen_fd,
    int workers);

#endif
