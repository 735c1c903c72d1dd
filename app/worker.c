/*
 * One worker's loop: accept, build the request in the arena, run the
 * pipeline, send, finish, log, reset the arena -- the one place a request's
 * memory dies. SIGTERM is blocked while a request runs, so a stop never cuts
 * one in half; while idle it ends the process at once.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "http/fcgi.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "store/pg.h"
#include "http/pipeline.h"
#include "http/request.h"
#include "http/response.h"
#include "txn/txn.h"
#include "worker.h"

#define ARENA_BLOCK (64 * 1024)

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reopen_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Stop signals stay blocked except inside the wait (waitmask): never mid-request. */
static void on_usr1(int sig)
{
	(void)sig;
	reopen_requested = 1;
}

static void install_signals(sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t stopset;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop; /* no SA_RESTART: interrupt accept() */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* Before libfcgi's initialisation, which would take SIGUSR1 as "stop accepting". */
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_flags = 0;
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&stopset);
	sigaddset(&stopset, SIGTERM);
	sigaddset(&stopset, SIGINT);
	sigprocmask(SIG_BLOCK, &stopset, waitmask);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
}

static double ms_since(long long start_ns)
{
	return (double)(pawl_clock_mono_ns() - start_ns) / 1e6;
}

#ifdef PAWL_FAULT_INJECTION
/* Whether the environment variable var is "1", or one whole segment of path. */
static bool fault_wanted(const char *var, const char *path)
{
	const char *want = getenv(var), *p = path;
	size_t n;

	if (want == NULL || want[0] == '\0' || path == NULL)
		return false;
	if (strcmp(want, "1") == 0)
		return true;
	n = strlen(want);
	/* A whole segment: "/<want>" followed by '/', '?' or the end. */
	for (; (p = strstr(p, want)) != NULL; p++)
		if (p > path && p[-1] == '/' && (p[n] == '\0' || p[n] == '/' || p[n] == '?'))
			return true;
	return false;
}

/*
 * Test builds only (--enable-fault-injection): tests name a bucket after a
 * fault point. PAWL_FAULT_KILL_AFTER_COMMIT dies as a crash would, between
 * COMMIT and the outbox push; PAWL_FAULT_LOSE_COMMIT_ANSWER and
 * PAWL_FAULT_LOSE_BEFORE_COMMIT cut the PostgreSQL connection just after or
 * just before the request's COMMIT.
 */
static void fault_arm(struct pawl_app *app, const char *path)
{
	if (fault_wanted("PAWL_FAULT_LOSE_COMMIT_ANSWER", path))
		pawl_pg_fault_arm(app->pg, PAWL_PG_FAULT_LOSE_ANSWER);
	else if (fault_wanted("PAWL_FAULT_LOSE_BEFORE_COMMIT", path))
		pawl_pg_fault_arm(app->pg, PAWL_PG_FAULT_LOSE_BEFORE_COMMIT);
	else
		pawl_pg_fault_arm(app->pg, PAWL_PG_FAULT_NONE);
}

static void fault_kill_after_commit(const char *path)
{
	if (fault_wanted("PAWL_FAULT_KILL_AFTER_COMMIT", path))
		raise(SIGKILL);
}
#endif

static void handle(struct pawl_app *app, struct pawl_request *req, struct pawl_response *resp,
    struct pawl_txn *txn)
{
#ifdef PAWL_FAULT_INJECTION
	fault_arm(app, req->raw_path);
#endif
	pawl_pipeline_handle(app, req, resp, txn);
}

static void serve_one(struct pawl_app *app, struct pawl_fcgi *fcgi, struct pawl_arena *arena,
    int relay_wake_fd)
{
	struct pawl_request req;
	struct pawl_response resp;
	struct pawl_error err;
	struct pawl_log_summary sum;
	long long start = pawl_clock_mono_ns();
	struct pawl_txn txn;
	const struct pawl_txn_env env = {
		.pg = app->pg, .listeners = app->listeners, .subscribers = app->subscribers,
		.relay_wake_fd = relay_wake_fd,
		.history = app->cfg->history_enabled ? app->cfg : NULL,
	};

	pawl_txn_init(&txn, arena, &env);
	pawl_error_clear(&err);
	pawl_response_init(&resp, arena);
	/* Before anything can log: every line of this request carries its id. */
	resp.request_id = pawl_request_id(arena, pawl_fcgi_params(fcgi));
	pawl_log_request_id(resp.request_id);
	if (pawl_request_init(&req, arena, pawl_fcgi_params(fcgi), &err) != PAWL_OK ||
	    pawl_fcgi_read_body(fcgi, arena, app->cfg->max_request_body, &req.body,
	    &req.body_len, &err) != PAWL_OK)
		pawl_pipeline_error(app, &req, &resp, &err);
	else
		handle(app, &req, &resp, &txn);
	/* Counted before it is sent: whoever saw this answer sees it counted. */
	pawl_metrics_request(req.match.route != NULL ? req.match.route->kind :
	    PAWL_METRICS_ROUTE_NONE, req.method_bit, resp.status, pawl_clock_mono_ns() - start);
	pawl_fcgi_send(fcgi, &resp);
	memset(&sum, 0, sizeof(sum));
	/* Copies: the params they point into are freed by finish. */
	sum.rid = resp.request_id;
	sum.method = pawl_arena_strdup(arena, req.method);
	sum.path = pawl_arena_strdup(arena, req.raw_path);
	sum.query = pawl_arena_strdup(arena, req.query);
	sum.status = resp.status;
	sum.errno_ = resp.errno_;
	sum.ms = ms_since(start);
	sum.user_id = req.user_id;
	sum.agent = pawl_arena_strdup(arena, pawl_request_header(&req, "User-Agent"));
	sum.lang = pawl_arena_strdup(arena, pawl_request_header(&req, "Accept-Language"));
	/* Finishing frees the params: everything read from them is read above. */
	pawl_fcgi_finish(fcgi);
	pawl_log_request(&sum);
#ifdef PAWL_FAULT_INJECTION
	if (pawl_txn_has_events(&txn))
		fault_kill_after_commit(sum.path);
#endif
	/* After COMMIT and after the response: subscribers, then the outbox's delivery. */
	pawl_txn_publish(&txn);
	pawl_log_request_id(NULL);
}

/* Tells the supervisor (ready_fd, the write end of its pipe) that this worker can serve. */
static void report_ready(int ready_fd)
{
	pid_t self = getpid();

	if (ready_fd < 0)
		return;
	if (write(ready_fd, &self, sizeof(self)) != (ssize_t)sizeof(self))
		pawl_log_warn("worker: cannot report ready: %s", strerror(errno));
	close(ready_fd);
}

int pawl_worker_run(const struct pawl_config *cfg, int listen_fd, int relay_wake_fd, int ready_fd)
{
	struct pawl_error err;
	struct pawl_app *app = NULL;
	struct pawl_fcgi *fcgi = NULL;
	struct pawl_arena *arena = NULL;
	sigset_t waitmask;
	int status = 1;

	install_signals(&waitmask);
	if (pawl_fcgi_init() != 0 || (fcgi = pawl_fcgi_new(listen_fd)) == NULL ||
	    (arena = pawl_arena_new(ARENA_BLOCK)) == NULL) {
		pawl_log_error("worker: cannot set up FastCGI");
		goto out;
	}
	if ((app = pawl_app_new(cfg, &err)) == NULL) {
		pawl_log_error("worker: %s", err.message);
		goto out;
	}
#ifdef PAWL_FAULT_INJECTION
	/* Test builds: a worker that cannot start while this file exists. */
	if (getenv("PAWL_FAULT_WORKER_START") != NULL &&
	    access(getenv("PAWL_FAULT_WORKER_START"), F_OK) == 0) {
		pawl_log_error("worker: failing at start (fault injection)");
		goto out;
	}
#endif
	status = 0;
	report_ready(ready_fd);
	while (!stop_requested) {
		int rc = pawl_fcgi_wait(fcgi, &waitmask);

		if (reopen_requested) {
			reopen_requested = 0;
			pawl_log_reopen();
		}

		/*
		 * Woken for a connection: take it even if a stop came meanwhile.
		 * EPOLLEXCLUSIVE woke this worker alone, so a connection left
		 * in the queue would wait for the next one to wake a peer.
		 */
		if (rc > 0)
			rc = pawl_fcgi_accept(fcgi);
		if (rc < 0) {
			pawl_log_error("worker: accept failed: %s", strerror(errno));
			usleep(100000); /* a broken socket must not spin a core */
		}
		if (rc <= 0)
			continue;
		serve_one(app, fcgi, arena, relay_wake_fd);
		pawl_arena_reset(arena);
	}
out:
	pawl_app_free(app);
	pawl_arena_free(arena);
	pawl_fcgi_free(fcgi);
	return status;
}
