/*
 * libsystemd's sd-daemon behind pawl's names: the notification protocol and
 * socket activation are libsystemd's, never re-implemented here. Nothing in
 * this file may block or fail the caller: a service manager that is gone
 * must not take the server down with it, so send errors are ignored.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <systemd/sd-daemon.h>

#include "core/clock.h"
#include "systemd.h"

enum pawl_err pawl_systemd_listen_fd(int *fd, struct pawl_error *err)
{
	int n = sd_listen_fds(1), s = SD_LISTEN_FDS_START;

	*fd = -1;
	if (n < 0)
		return pawl_error_set(err, PAWL_ERR_CONFIG, "the sockets passed by systemd "
		    "(LISTEN_FDS) cannot be used: %s", strerror(-n));
	if (n == 0)
		return PAWL_OK;
	if (n > 1)
		return pawl_error_set(err, PAWL_ERR_CONFIG, "systemd passed %d sockets (LISTEN_FDS); "
		    "pawl-fcgi serves one: give its .socket unit a single ListenStream=", n);
	if (sd_is_socket_unix(s, SOCK_STREAM, 1, NULL, 0) <= 0 &&
	    sd_is_socket_inet(s, AF_UNSPEC, SOCK_STREAM, 1, 0) <= 0)
		return pawl_error_set(err, PAWL_ERR_CONFIG, "the socket systemd passed (fd %d) is "
		    "not a listening stream socket: use ListenStream= without Accept=yes", s);
	*fd = s;
	return PAWL_OK;
}

/*
 * One message. A status is one line: a newline in it (an error message
 * quoting a file) would start a field of its own, READY=1 or MAINPID= among
 * them, so control characters become spaces.
 */
static void notify(const char *fields, const char *status)
{
	char msg[512];
	size_t n;

	snprintf(msg, sizeof(msg), "%s%sSTATUS=", fields, fields[0] != '\0' ? "\n" : "");
	n = strlen(msg);
	if (status == NULL) {
		msg[strlen(fields)] = '\0';
	} else {
		snprintf(msg + n, sizeof(msg) - n, "%s", status);
		for (; msg[n] != '\0'; n++)
			if ((unsigned char)msg[n] < 0x20 || msg[n] == 0x7f)
				msg[n] = ' ';
	}
	sd_notify(0, msg);
}

void pawl_systemd_ready(const char *status)
{
	notify("READY=1", status);
}

void pawl_systemd_reloading(const char *status)
{
	char fields[64];

	/* CLOCK_MONOTONIC in microseconds: what systemd compares with the time it sent SIGHUP. */
	snprintf(fields, sizeof(fields), "RELOADING=1\nMONOTONIC_USEC=%lld",
	    pawl_clock_mono_ns() / 1000);
	notify(fields, status);
}

void pawl_systemd_stopping(const char *status)
{
	notify("STOPPING=1", status);
}

void pawl_systemd_status(const char *status)
{
	if (status != NULL)
		notify("", status);
}

void pawl_systemd_watchdog_init(struct pawl_systemd_watchdog *w)
{
	uint64_t usec = 0;

	w->every_ms = 0;
	w->next_ms = 0;
	/* > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID, if set, names this process. */
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		w->every_ms = (long long)(usec / 2000);
		if (w->every_ms < 1)
			w->every_ms = 1;
	}
}

void pawl_systemd_watchdog_kick(struct pawl_systemd_watchdog *w)
{
	long long now;

	if (w->every_ms == 0 || (now = pawl_clock_mono_ms()) < w->next_ms)
		return;
	sd_notify(0, "WATCHDOG=1");
	w->next_ms = now + w->every_ms;
}
