/*
 * The test's side of systemd (systemd_util.c), for test_systemd.c: it starts
 * pawl-fcgi as a service manager would and collects what it says.
 */
#ifndef PAWL_TEST_SYSTEMD_UTIL_H
#define PAWL_TEST_SYSTEMD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define UNIT_MAX_MSGS 512
#define UNIT_WATCHDOG_USEC 400000 /* under WATCHDOG_USEC: a ping due every 200 ms */

/* One pawl-fcgi of the test's, and the service manager around it. */
struct unit {
	pid_t pid;
	bool reaped;    /* its exit status was collected (unit_exit_within) */
	int notify_fd;  /* the test's end of NOTIFY_SOCKET */
	int listen_fd;  /* the socket "systemd" holds and passes as fd 3 */
	char dir[64], ini[128], sock[100], notify[100], log[128];
	struct {
		char text[512];
		pid_t from;       /* the sender, from SCM_CREDENTIALS; -1 if unknown */
		long long at_ms;  /* when it arrived (monotonic) */
	} msgs[UNIT_MAX_MSGS];
	size_t n;    /* messages received */
	size_t seen; /* those before this index were matched by unit_wait */
};

/* How the child is started. */
struct unit_start {
	const char *command;   /* "serve" (--workers 2) or "relay" */
	bool notify;           /* NOTIFY_SOCKET */
	bool watchdog;         /* WATCHDOG_USEC and WATCHDOG_PID */
	int extra_fd;          /* also passed, as fd 4, with LISTEN_FDS=2; -1: none */
	bool wrong_pid;        /* LISTEN_PID names another process */
	const char *listen;    /* --listen, or NULL */
	const char *extra_env; /* one more NAME=value, or NULL */
};

/*
 * A fresh folder under /tmp with an ini for the stack's database (plus
 * extra_ini lines), the NOTIFY_SOCKET socket, and the socket to pass: of
 * sock_type, listening when SOCK_STREAM, at u->sock. False on failure.
 */
bool unit_init(struct unit *u, int sock_type, const char *extra_ini);

/* Forks and execs PAWL_BIN as st says; stdout and stderr go to u->log. */
void unit_start(struct unit *u, const struct unit_start *st);

/* The value after field f ("STATUS=") in a message, or the rest after a bare field; NULL. */
const char *unit_field(const char *msg, const char *f);

/*
 * The index of the next message, past those matched before, with field f
 * ("READY=1", or "STATUS=" for a line starting so), waiting up to ms; -1
 * when none came (or the process exited).
 */
long unit_wait(struct unit *u, const char *f, long ms);

/* Reads what arrives within ms. */
void unit_receive(struct unit *u, long ms);

/* How many messages from index from on have field f. */
size_t unit_count(const struct unit *u, const char *f, size_t from);

/* Its exit status within ms (128 + signal when killed), -1 while it runs. */
int unit_exit_within(struct unit *u, long ms);

/* Kills it if still running, closes the sockets, removes the folder. */
void unit_done(struct unit *u);

/* The end of its log, for failure messages (static buffer). */
const char *unit_log_tail(const struct unit *u);

/* True when the log holds needle. */
bool unit_log_has(const struct unit *u, const char *needle);

/* GET path through FastCGI on u->sock with cgi-fcgi; true on "Status: 200". */
bool unit_get_ok(const struct unit *u, const char *path);

/* Monotonic milliseconds, the clock of at_ms. */
long long unit_now_ms(void);

#endif
