/*
 * pawl-fcgi started as systemd starts pawl.service and pawl-relay.service,
 * the test playing systemd (systemd_util.c): the supervisor says READY=1
 * once its workers serve, RELOADING=1 then READY=1 around SIGHUP (a refused
 * config too), WATCHDOG=1 under WATCHDOG_USEC, STOPPING=1 then exits 0 on
 * SIGTERM, every message from the main pid; it serves on the socket passed
 * as fd 3 and leaves that socket where it was. Without NOTIFY_SOCKET nothing
 * changes; two sockets, a datagram socket or another process's LISTEN_PID
 * are refused or ignored as sd_listen_fds(3) says.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "systemd_util.h"

#define START_MS 20000
#define STOP_MS 15000

/* Every message came from the main process: NotifyAccess=main drops any other's. */
static void check_senders(const struct unit *u)
{
	for (size_t i = 0; i < u->n; i++)
		CHECK(u->msgs[i].from == u->pid, "message %zu (%.60s) from pid %ld, not the main pid "
		      "%ld", i, u->msgs[i].text, (long)u->msgs[i].from, (long)u->pid);
}

/* The socket "systemd" holds is still at its path and still takes connections. */
static void check_socket_kept(const struct unit *u)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), rc;

	CHECK(lstat(u->sock, &st) == 0 && S_ISSOCK(st.st_mode),
	      "%s was removed: the socket is systemd's, not pawl-fcgi's", u->sock);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", u->sock);
	rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	close(fd);
	CHECK(rc == 0, "%s no longer takes connections after the stop", u->sock);
}

/* The STATUS= of message i contains want. */
static void check_status(const struct unit *u, long i, const char *want)
{
	const char *status = i >= 0 ? unit_field(u->msgs[i].text, "STATUS=") : NULL;

	CHECK(status != NULL && strstr(status, want) != NULL, "message %ld: STATUS should say "
	      "'%s': %s", i, want, i >= 0 ? u->msgs[i].text : "(none)");
}

/* SIGTERM: STOPPING=1, exit 0, the socket left to systemd. */
static void stop_and_check(struct unit *u)
{
	int rc;

	CU_ASSERT_FATAL(kill(u->pid, SIGTERM) == 0);
	CHECK(unit_wait(u, "STOPPING=1", STOP_MS) >= 0, "no STOPPING=1 after SIGTERM: %s",
	      unit_log_tail(u));
	rc = unit_exit_within(u, STOP_MS);
	CHECK(rc == 0, "exit status %d after SIGTERM: %s", rc, unit_log_tail(u));
	unit_receive(u, 100);
	check_senders(u);
	check_socket_kept(u);
}

static void test_ready_reload_watchdog_stop(void)
{
	struct unit u;
	struct unit_start st = { .command = "serve", .notify = true, .watchdog = true,
				 .extra_fd = -1 };
	long starting, ready, reloading;
	long long sent_ms, mono_ms;
	size_t from, pings;

	CU_ASSERT_FATAL(unit_init(&u, SOCK_STREAM, NULL));
	unit_start(&u, &st);
	starting = unit_wait(&u, "STATUS=", START_MS);
	ready = unit_wait(&u, "READY=1", START_MS);
	CHECK(ready >= 0, "no READY=1 within %d ms: %s", START_MS, unit_log_tail(&u));
	if (ready < 0)
		goto out;
	CHECK(starting >= 0 && starting < ready, "no STATUS= before READY=1");
	check_status(&u, ready, "serving with 2 workers (generation 0)");
	CHECK(unit_get_ok(&u, "/v1/__lbheartbeat__") && unit_get_ok(&u, "/v1/"),
	      "no 200 through the inherited socket: %s", unit_log_tail(&u));

	from = u.n;
	for (long long until = unit_now_ms() + 1500; unit_now_ms() < until;)
		unit_receive(&u, 100);
	pings = unit_count(&u, "WATCHDOG=1", from);
	/* Every 200 ms asked; the supervisor's loop turns every 100 ms at most. */
	CHECK(pings >= 4 && pings <= 12, "%zu WATCHDOG=1 in 1.5 s with WATCHDOG_USEC=%d", pings,
	      UNIT_WATCHDOG_USEC);

	sent_ms = unit_now_ms();
	CU_ASSERT_FATAL(kill(u.pid, SIGHUP) == 0);
	reloading = unit_wait(&u, "RELOADING=1", 5000);
	CHECK(reloading >= 0, "no RELOADING=1 after SIGHUP: %s", unit_log_tail(&u));
	if (reloading >= 0) {
		const char *mono = unit_field(u.msgs[reloading].text, "MONOTONIC_USEC=");

		/* CLOCK_MONOTONIC as systemd reads it, taken after the signal. */
		mono_ms = mono != NULL ? strtoll(mono, NULL, 10) / 1000 : -1;
		CHECK(mono_ms >= sent_ms - 1 && mono_ms <= u.msgs[reloading].at_ms + 1,
		      "MONOTONIC_USEC %lld ms, SIGHUP sent at %lld ms, message read at %lld ms",
		      mono_ms, sent_ms, u.msgs[reloading].at_ms);
		CHECK(unit_count(&u, "READY=1", (size_t)ready + 1) ==
		      unit_count(&u, "READY=1", (size_t)reloading), "READY=1 between SIGHUP and "
		      "RELOADING=1");
	}
	ready = unit_wait(&u, "READY=1", START_MS);
	CHECK(ready > reloading, "no READY=1 after the reload: %s", unit_log_tail(&u));
	check_status(&u, ready, "generation 1");
	CHECK(unit_get_ok(&u, "/v1/"), "no 200 after the reload: %s", unit_log_tail(&u));
	stop_and_check(&u);
out:
	unit_done(&u);
}

/* A config that would not start: RELOADING=1, then READY=1 for the generation kept. */
static void test_refused_reload_ends_ready(void)
{
	struct unit u;
	struct unit_start st = { .command = "serve", .notify = true, .extra_fd = -1 };
	long reloading, ready;
	FILE *f;

	CU_ASSERT_FATAL(unit_init(&u, SOCK_STREAM, NULL));
	unit_start(&u, &st);
	ready = unit_wait(&u, "READY=1", START_MS);
	CHECK(ready >= 0, "no READY=1 within %d ms: %s", START_MS, unit_log_tail(&u));
	if (ready < 0)
		goto out;
	f = fopen(u.ini, "a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("no_such_setting = 1\n", f);
	fclose(f);
	CU_ASSERT_FATAL(kill(u.pid, SIGHUP) == 0);
	reloading = unit_wait(&u, "RELOADING=1", 5000);
	ready = unit_wait(&u, "READY=1", 5000);
	CHECK(reloading >= 0 && ready > reloading, "RELOADING=1 at %ld, READY=1 at %ld: a refused "
	      "reload must end with READY=1: %s", reloading, ready, unit_log_tail(&u));
	check_status(&u, ready, "(generation 0); reload refused: unknown setting 'no_such_setting'");
	CHECK(unit_log_has(&u, "reload refused"), "the log does not say the reload was refused");
	CHECK(unit_get_ok(&u, "/v1/"), "no 200 after a refused reload");
	CHECK(unit_count(&u, "WATCHDOG=1", 0) == 0, "WATCHDOG=1 without WATCHDOG_USEC");
	stop_and_check(&u);
out:
	unit_done(&u);
}

#ifdef PAWL_FAULT_INJECTION
/* Workers that cannot start: no READY=1 until they can (test builds' fault point). */
static void test_ready_waits_for_workers(void)
{
	char flag[160], env[200];
	struct unit u;
	struct unit_start st = { .command = "serve", .notify = true, .extra_fd = -1,
				 .extra_env = env };
	long ready;
	FILE *f;

	CU_ASSERT_FATAL(unit_init(&u, SOCK_STREAM, NULL));
	snprintf(flag, sizeof flag, "%s/no-worker", u.dir);
	snprintf(env, sizeof env, "PAWL_FAULT_WORKER_START=%s", flag);
	f = fopen(flag, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fclose(f);
	unit_start(&u, &st);
	CHECK(unit_wait(&u, "STATUS=", START_MS) >= 0, "no STATUS= at start: %s",
	      unit_log_tail(&u));
	ready = unit_wait(&u, "READY=1", 3000);
	CHECK(ready < 0, "READY=1 while no worker could start: %s", ready >= 0 ?
	      u.msgs[ready].text : "");
	CHECK(unlink(flag) == 0, "cannot remove %s", flag);
	ready = unit_wait(&u, "READY=1", START_MS);
	CHECK(ready >= 0, "no READY=1 once the workers could start: %s", unit_log_tail(&u));
	CHECK(unit_get_ok(&u, "/v1/"), "no 200 after READY=1");
	stop_and_check(&u);
	unit_done(&u);
}
#endif

/* No NOTIFY_SOCKET: nothing said, the same service; the inherited socket beats --listen. */
static void test_without_notify_socket(void)
{
	char other[160];
	struct unit u;
	struct unit_start st = { .command = "serve", .extra_fd = -1, .listen = other };
	bool ok = false;
	int status;

	CU_ASSERT_FATAL(unit_init(&u, SOCK_STREAM, NULL));
	snprintf(other, sizeof other, "unix:%s/other.sock", u.dir);
	unit_start(&u, &st);
	for (long waited = 0; !ok && waited < START_MS && unit_exit_within(&u, 0) == -1;
	     waited += 200) {
		ok = unit_get_ok(&u, "/v1/__lbheartbeat__");
		if (!ok)
			sleep_ms(200);
	}
	CHECK(ok, "no 200 through the inherited socket: %s", unit_log_tail(&u));
	CHECK(access(other + strlen("unix:"), F_OK) != 0, "--listen %s was bound besides the "
	      "socket systemd passed", other);
	CHECK(unit_log_has(&u, "ignored"), "the log does not say --listen was ignored");
	CU_ASSERT_FATAL(kill(u.pid, SIGTERM) == 0);
	status = unit_exit_within(&u, STOP_MS);
	CHECK(status == 0, "no clean exit (%d; -1: still running after %d ms): %s", status, STOP_MS,
	      unit_log_tail(&u));
	unit_receive(&u, 100);
	CHECK(u.n == 0, "%zu messages sent without NOTIFY_SOCKET", u.n);
	check_socket_kept(&u);
	unit_done(&u);
}

/* What sd_listen_fds hands over that pawl cannot serve: exit 2, saying why. */
static void refused_start(int sock_type, bool two, bool wrong_pid, const char *says)
{
	struct unit u, second;
	struct unit_start st = { .command = "serve", .notify = true, .extra_fd = -1,
				 .wrong_pid = wrong_pid };
	int rc;

	CU_ASSERT_FATAL(unit_init(&u, sock_type, NULL));
	CU_ASSERT_FATAL(!two || unit_init(&second, SOCK_STREAM, NULL));
	if (two)
		st.extra_fd = second.listen_fd;
	unit_start(&u, &st);
	rc = unit_exit_within(&u, START_MS);
	CHECK(rc == 2 && unit_log_has(&u, says), "exit %d (2 expected), log without '%s': %s", rc,
	      says, unit_log_tail(&u));
	unit_receive(&u, 0);
	CHECK(unit_count(&u, "READY=1", 0) == 0, "READY=1 from a start that failed");
	if (two)
		unit_done(&second);
	unit_done(&u);
}

static void test_two_sockets_refused(void)
{
	refused_start(SOCK_STREAM, true, false, "systemd passed 2 sockets");
}

static void test_datagram_socket_refused(void)
{
	refused_start(SOCK_DGRAM, false, false, "not a listening stream socket");
}

/* LISTEN_PID of another process: not ours (then fd 0, /dev/null here, is tried). */
static void test_other_listen_pid_ignored(void)
{
	refused_start(SOCK_STREAM, false, true, "fd 0 is not a listening socket");
}

/* pawl-relay.service: READY=1, pings even when its poll interval is longer, STOPPING=1. */
static void test_relay_notifies(void)
{
	struct unit u;
	struct unit_start st = { .command = "relay", .notify = true, .watchdog = true,
				 .extra_fd = -1 };
	size_t from, pings;
	long ready;

	CU_ASSERT_FATAL(unit_init(&u, SOCK_STREAM, "relay_poll_interval_ms = 60000\n"));
	unit_start(&u, &st);
	ready = unit_wait(&u, "READY=1", START_MS);
	CHECK(ready >= 0, "the relay sent no READY=1: %s", unit_log_tail(&u));
	if (ready >= 0) {
		from = u.n;
		for (long long until = unit_now_ms() + 1500; unit_now_ms() < until;)
			unit_receive(&u, 100);
		pings = unit_count(&u, "WATCHDOG=1", from);
		CHECK(pings >= 4, "%zu WATCHDOG=1 from the relay in 1.5 s (poll interval 60 s)",
		      pings);
		CU_ASSERT_FATAL(kill(u.pid, SIGTERM) == 0);
		CHECK(unit_wait(&u, "STOPPING=1", STOP_MS) >= 0, "no STOPPING=1 from the relay");
		CHECK(unit_exit_within(&u, STOP_MS) == 0, "the relay's exit: %s", unit_log_tail(&u));
		unit_receive(&u, 100);
		check_senders(&u);
	}
	unit_done(&u);
}

void test_systemd_register(void)
{
	CU_pSuite s = CU_add_suite("systemd", NULL, NULL);

	CU_add_test(s, "READY, RELOADING, WATCHDOG, STOPPING; the inherited socket served and kept",
		    test_ready_reload_watchdog_stop);
	CU_add_test(s, "a refused reload ends with READY=1", test_refused_reload_ends_ready);
#ifdef PAWL_FAULT_INJECTION
	CU_add_test(s, "READY=1 waits for the workers", test_ready_waits_for_workers);
#endif
	CU_add_test(s, "without NOTIFY_SOCKET: silent, and the inherited socket beats --listen",
		    test_without_notify_socket);
	CU_add_test(s, "two sockets: exit 2", test_two_sockets_refused);
	CU_add_test(s, "a datagram socket: exit 2", test_datagram_socket_refused);
	CU_add_test(s, "another process's LISTEN_PID is ignored", test_other_listen_pid_ignored);
	CU_add_test(s, "the standalone relay: READY, WATCHDOG, STOPPING", test_relay_notifies);
}
