/*
 * What pawl-fcgi tells systemd, and the socket systemd hands it: the only
 * user of libsystemd (sd-daemon). Started by anything else (a shell,
 * spawn-fcgi, a test), NOTIFY_SOCKET, WATCHDOG_USEC and LISTEN_FDS are unset
 * and every call here does nothing: the process behaves as it always did.
 */
#ifndef PAWL_SYSTEMD_H
#define PAWL_SYSTEMD_H

#include <stdbool.h>

#include "core/err.h"

/*
 * The listening socket systemd passed (socket activation: LISTEN_FDS and
 * LISTEN_PID naming this process), in *fd; -1 when none was passed. The
 * LISTEN_* variables are removed from the environment, so children never
 * take the socket for theirs. PAWL_ERR_CONFIG, naming what is wrong, when
 * systemd passed more than one socket or one that is not a listening stream
 * socket (AF_UNIX, AF_INET or AF_INET6): pawl serves exactly one.
 */
enum pawl_err pawl_systemd_listen_fd(int *fd, struct pawl_error *err);

/*
 * READY=1 with STATUS=status (may be NULL): the service is up, or back up
 * after a reload. Also the end of a reload that was refused or rolled back.
 */
void pawl_systemd_ready(const char *status);

/*
 * RELOADING=1 with the monotonic clock (MONOTONIC_USEC, which systemd's
 * Type=notify-reload matches against the SIGHUP it sent) and STATUS=status.
 * Every call must be followed by pawl_systemd_ready once the reload ended,
 * whichever way.
 */
void pawl_systemd_reloading(const char *status);

/* STOPPING=1 with STATUS=status: the service is going down on purpose. */
void pawl_systemd_stopping(const char *status);

/* STATUS=status alone: what `systemctl status` shows under the unit's name. */
void pawl_systemd_status(const char *status);

/*
 * The watchdog (WatchdogSec= in the unit): systemd restarts a service that
 * stops pinging. every_ms is half the interval systemd asked for (0: no
 * watchdog for this process); next_ms when the next ping is due.
 */
struct pawl_systemd_watchdog {
	long long every_ms;
	long long next_ms;
};

/* Reads WATCHDOG_USEC and WATCHDOG_PID (left in the environment) into w. */
void pawl_systemd_watchdog_init(struct pawl_systemd_watchdog *w);

/*
 * WATCHDOG=1 when a ping is due, else nothing: call it from each turn of a
 * loop that only turns while the process is healthy. A loop that would sleep
 * longer than every_ms (when not 0) must wake for it.
 */
void pawl_systemd_watchdog_kick(struct pawl_systemd_watchdog *w);

#endif
