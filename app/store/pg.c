/*
 * The worker's one PostgreSQL connection. Connects lazily, backs off briefly
 * after a failed attempt, and runs transactions (with early lock release);
 * statements themselves go through pg_exec.c, and what a SQLSTATE means is
 * pg_rules.c's.
 * Never builds SQL from values: parameters travel separately.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "store/pg_conn.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "store/migrate.h"
#include "store/pg.h"
#include "core/str.h"

/*
 * After a slow failed connect (an unreachable host: connect_timeout), wait
 * this long before the next attempt so requests do not each pay the timeout.
 * A fast failure (socket missing, connection refused) is retried at once.
 */
#define SLOW_CONNECT_MS 100
#define RECONNECT_BACKOFF_MS 1000

struct pawl_pg *pawl_pg_new(const struct pawl_config *cfg)
{
	struct pawl_pg *pg = calloc(1, sizeof(*pg));

	if (pg != NULL)
		pg->cfg = cfg;
	return pg;
}

void pawl_pg_drop(struct pawl_pg *pg)
{
	int i;

	if (pg->conn != NULL) {
		PQfinish(pg->conn);
		pg->conn = NULL;
	}
	/* Prepared statements die with their connection. */
	for (i = 0; i < pg->n_stmts; i++)
		free(pg->stmts[i].sql);
	pg->n_stmts = 0;
}

void pawl_pg_free(struct pawl_pg *pg)
{
	if (pg == NULL)
		return;
	pawl_pg_drop(pg);
	free(pg);
}

bool pawl_pg_connected(const struct pawl_pg *pg)
{
	return pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK;
}

enum pawl_err pawl_pg_unavailable(struct pawl_error *err, const char *what)
{
	return pawl_error_set(err, PAWL_ERR_BACKEND, "database unavailable: %s", what);
}

/* Bounded like every statement: a server that stopped answering right after the connect costs no more. */
static enum pawl_err check_schema(struct pawl_pg *pg, long long deadline, struct pawl_error *err)
{
	PGresult *res, *next;
	unsigned have = 0, want = pawl_migrate_latest();

	if (!PQsendQuery(pg->conn, "SELECT coalesce(max(version), 0) FROM pawl_migrations") ||
	    !pawl_pg_wait_ready(pg->conn, deadline)) {
		pawl_log_warn("PostgreSQL did not answer the schema check in time");
		pawl_pg_drop(pg);
		return pawl_pg_unavailable(err, "no answer in time");
	}
	res = PQgetResult(pg->conn);
	while ((next = PQgetResult(pg->conn)) != NULL)
		PQclear(next);
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		have = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (have >= want)
		return PAWL_OK;
	pawl_log_error("database schema is at version %u, this pawl needs %u: "
	    "run `pawl-fcgi migrate -c <config>`", have, want);
	pawl_pg_drop(pg);
	return pawl_pg_unavailable(err, "schema not migrated");
}

/*
 * What the server says outside a result (a NOTICE, a WARNING, the FATAL of a
 * terminated session) goes through the logger, one line, instead of libpq's
 * default: raw text on stderr, in the middle of the JSON lines.
 */
static void notice_to_log(void *arg, const char *message)
{
	static const char *const quiet[] = { "NOTICE:", "DEBUG", "LOG:", "INFO:" };
	size_t i;

	(void)arg;
	for (i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
		if (strncmp(message, quiet[i], strlen(quiet[i])) == 0) {
			pawl_log(PAWL_LOG_DEBUG, "app", "PostgreSQL: %s", message);
			return;
		}
	pawl_log_warn("PostgreSQL: %s", message);
}

/*
 * libpq's non-blocking connect (PQconnectStartParams, PQconnectPoll), given
 * up at deadline_ms: a postmaster that accepts but never answers (stopped,
 * overloaded) costs a bounded wait. The connection is returned even when it
 * failed or is unfinished (its status says so); NULL only when out of memory.
 */
static PGconn *connect_until(const char *const *keys, const char *const *vals, long long deadline_ms)
{
	PGconn *conn = PQconnectStartParams(keys, vals, 1);
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
		return conn;
	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
		struct pollfd pfd = { .fd = PQsocket(conn),
		    .events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT };
		long long left = deadline_ms - pawl_clock_mono_ms();
		int n;

		if (left <= 0 || pfd.fd < 0)
			break;
		n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0)
			st = PQconnectPoll(conn);
	}
	return conn;
}

enum pawl_err pawl_pg_connect(struct pawl_pg *pg, bool schema, struct pawl_error *err)
{
	return pawl_pg_connect_within(pg, schema, 0, err);
}

enum pawl_err pawl_pg_connect_within(struct pawl_pg *pg, bool schema, int timeout_ms,
    struct pawl_error *err)
{
	char timeout[16], options[64];
	const char *keys[] = { "connect_timeout", "application_name", "options",
	    "target_session_attrs", "dbname", NULL };
	const char *vals[6];
	long long started;

	if (pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK)
		return PAWL_OK;
	pawl_pg_drop(pg);
	if (pawl_clock_mono_ms() < pg->next_attempt_ms)
		return pawl_pg_unavailable(err, "reconnecting");
	snprintf(timeout, sizeof(timeout), "%d", pg->cfg->storage_connect_timeout_seconds);
	snprintf(options, sizeof(options), "-c statement_timeout=%d",
	    pg->cfg->storage_statement_timeout_ms);
	vals[0] = timeout;
	vals[1] = "pawl-fcgi";
	vals[2] = options;
	vals[3] = pawl_pg_default_session_attrs(pg->cfg->readonly);
	/* Last: what the admin wrote in storage_url overrides our defaults. */
	vals[4] = pg->cfg->storage_url;
	vals[5] = NULL;
	started = pawl_clock_mono_ms();
	pg->conn = timeout_ms > 0 ? connect_until(keys, vals, started + timeout_ms)
	    : PQconnectdbParams(keys, vals, 1);
	if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
		pawl_log_warn("cannot connect to PostgreSQL: %s", pg->conn == NULL ? "out of memory" :
		    PQstatus(pg->conn) != CONNECTION_BAD ? "no answer in time" : PQerrorMessage(pg->conn));
		pawl_pg_drop(pg);
		pawl_metrics_db_error(PAWL_ERR_BACKEND);
		if (pawl_clock_mono_ms() - started > SLOW_CONNECT_MS)
			pg->next_attempt_ms = pawl_clock_mono_ms() + RECONNECT_BACKOFF_MS;
		return pawl_pg_unavailable(err, "cannot connect");
	}
	PQsetNoticeProcessor(pg->conn, notice_to_log, NULL);
	snprintf(pg->server, sizeof(pg->server), "%s:%s", PQhost(pg->conn) ? PQhost(pg->conn) : "",
	    PQport(pg->conn) ? PQport(pg->conn) : "");
	if (schema && check_schema(pg, timeout_ms > 0 ? started + timeout_ms : pawl_clock_mono_ms() +
	    (pg->cfg->storage_statement_timeout_ms > 0 ? pg->cfg->storage_statement_timeout_ms :
	    UNTIMED_STATEMENT_MS), err) != PAWL_OK)
		return err->code;
	if (pg->listen[0] != '\0') {
		char sql[96];
		PGresult *res;

		snprintf(sql, sizeof(sql), "LISTEN %s", pg->listen);
		res = PQexec(pg->conn, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			PQclear(res);
			pawl_pg_drop(pg);
			return pawl_pg_unavailable(err, "LISTEN failed");
		}
		PQclear(res);
	}
	return PAWL_OK;
}


enum pawl_err pawl_pg_exec_script(struct pawl_pg *pg, const char *sql, struct pawl_error *err)
{
	PGresult *res;
	enum pawl_err rc;

	if ((rc = pawl_pg_connect(pg, false, err)) != PAWL_OK)
		return rc;
	res = PQexec(pg->conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
		pawl_error_set(err, PAWL_ERR_INTERNAL, "%s", PQresultErrorMessage(res));
		PQclear(res);
		return PAWL_ERR_INTERNAL;
	}
	PQclear(res);
	return PAWL_OK;
}

enum pawl_err pawl_pg_begin(struct pawl_pg *pg, struct pawl_arena *arena, struct pawl_error *err)
{
	enum pawl_err rc;

	if (pg->n_pending > 0) {
		/* A bug: the last request left deferred statements behind. */
		pawl_log_error("deferred statements dropped at BEGIN");
		pg->n_pending = 0;
	}
	/* Sent with the transaction's first statement (and never, if it has none). */
	pg->pending_begin = true;
	if ((rc = pawl_pg_defer(pg, arena, "BEGIN", 0, NULL, err)) != PAWL_OK)
		return rc;
	if (!pg->cfg->storage_early_lock_release)
		return PAWL_OK;
	return pawl_pg_defer(pg, arena, "SET LOCAL synchronous_commit = off", 0, NULL, err);
}

/*
 * A transaction already sent that died with its connection: a COMMIT on a
 * new connection would "succeed" with nothing to commit. Drops the queue.
 */
static bool sent_and_lost(struct pawl_pg *pg)
{
	if (pg->pending_begin || (pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK))
		return false;
	pg->n_pending = 0;
	pawl_pg_drop(pg);
	return true;
}

/*
 * Early lock release. A synchronous COMMIT keeps every lock of the
 * transaction -- the list's timestamp row, which all writers of the list
 * queue for -- until its WAL record is on disk. Here the COMMIT is
 * asynchronous (SET LOCAL at BEGIN) and releases them at once; the statement
 * after it, in the same round trip, is a transaction of its own that commits
 * synchronously, so it returns only once the WAL is flushed past its commit
 * record, hence past ours. Nobody hears of the write before that: not the
 * client, not a subscriber, not Redis (the outbox delivery flushes the same
 * way, see pawl_outbox_barrier). Concurrent barriers share fsyncs (group
 * commit).
 *
 * PostgreSQL flushes at commit only a transaction that has an xid and wrote
 * WAL: an xid alone commits without waiting. A transactional logical message
 * (empty, prefix "pawl.barrier") gives the barrier both, at any wal_level and
 * for any role; logical decoding plugins ignore it unless asked for messages.
 */
#define BARRIER_SQL "SELECT pg_logical_emit_message(true, 'pawl.barrier', '')"

/*
 * The transaction's id, read in the COMMIT's own round trip just before it
 * and flushed at once by the server (so it arrives even if the COMMIT never
 * answers); NULL when the transaction wrote nothing.
 */
#define XID_SQL "SELECT pg_current_xact_id_if_assigned()::text"
#define XID_STATUS_SQL "SELECT pg_xact_status($1::xid8)"
/* How long a worker keeps trying to learn what became of a COMMIT whose answer was lost. */
#define OUTCOME_WAIT_MS 5000
#define OUTCOME_POLL_MS 100

/*
 * The outcome PostgreSQL records for xid: "committed", "aborted", "in
 * progress", or NULL. Asked only of the server the COMMIT went to (before):
 * after a failover the new primary may never have received that transaction
 * and may have given its xid to another one since, whose outcome it would tell.
 */
static const char *xact_status(struct pawl_pg *pg, struct pawl_arena *arena, const char *xid,
    const char *before, bool *moved)
{
	const char *params[1] = { xid };
	struct pg_result *res = NULL;
	struct pawl_error err;

	pg->next_attempt_ms = 0;
	if (pawl_pg_connect(pg, false, &err) != PAWL_OK)
		return NULL;
	if (!pawl_pg_same_server(before, pg->server)) {
		*moved = true;
		return NULL;
	}
	if (
	    pawl_pg_exec_once(pg, arena, &(struct pawl_pg_stmt){
	    XID_STATUS_SQL, 1, params, 0 }, &res, &err) != PAWL_OK ||
	    pawl_pg_rows(res) != 1 || pawl_pg_is_null(res, 0, 0))
		return NULL;
	return pawl_pg_value(res, 0, 0);
}

/*
 * The connection died after the COMMIT was sent: the worker cannot tell
 * whether it was applied. PostgreSQL can, once reached again (a restart
 * after a crash included): pg_xact_status says whether the transaction
 * committed. A commit found is made durable (the barrier: it may have been
 * asynchronous) and answered as a success; anything else stays a 503. Only
 * when PostgreSQL cannot be reached within OUTCOME_WAIT_MS does a 503 hide
 * a committed write, and the log says so with the transaction id.
 */
static enum pawl_err resolve_lost_commit(struct pawl_pg *pg, struct pawl_arena *arena,
    const char *xid, enum pawl_err failed, struct pawl_error *err)
{
	long long until = pawl_clock_mono_ms() + OUTCOME_WAIT_MS;
	const struct timespec pause = { 0, OUTCOME_POLL_MS * 1000000L };
	const char *status;
	char before[sizeof(pg->server)];
	bool moved = false;

	memcpy(before, pg->server, sizeof(before));
	for (;;) {
		status = xact_status(pg, arena, xid, before, &moved);
		if (moved) {
			pawl_log_error("the answer to COMMIT was lost and PostgreSQL is now reached at "
			    "%s, not %s (a failover): whether transaction %s committed cannot be told",
			    pg->server, before, xid);
			return failed;
		}
		if (status != NULL && strcmp(status, "committed") == 0 &&
		    pawl_pg_exec_once(pg, arena, &(struct pawl_pg_stmt){
		    BARRIER_SQL, 0, NULL, 0 }, NULL, err) == PAWL_OK) {
			pawl_log_warn("the answer to COMMIT was lost; transaction %s did commit", xid);
			return PAWL_OK;
		}
		if (status != NULL && strcmp(status, "aborted") == 0) {
			pawl_log_warn("the answer to COMMIT was lost; transaction %s did not commit", xid);
			return pawl_pg_unavailable(err, "connection lost; the change was not applied");
		}
		if (pawl_clock_mono_ms() >= until)
			break;
		nanosleep(&pause, NULL);
	}
	pawl_log_error("the answer to COMMIT was lost and PostgreSQL could not tell within %d ms "
	    "whether transaction %s committed (last status: %s)", OUTCOME_WAIT_MS, xid,
	    status ? status : "unreachable");
	return failed;
}

#ifdef PAWL_FAULT_INJECTION
void pawl_pg_fault_arm(struct pawl_pg *pg, enum pawl_pg_fault fault)
{
	pg->fault = fault;
}

/* Test builds: the connection dies just before or just after the COMMIT. */
static bool fault_fire(struct pawl_pg *pg, enum pawl_pg_fault when, struct pawl_arena *arena,
    enum pawl_err *rc, struct pawl_error *err)
{
	if (pg->fault != when)
		return false;
	pg->fault = PAWL_PG_FAULT_NONE;
	/* Before: what a COMMIT pipeline sends ahead of the COMMIT itself, then the loss. */
	if (when == PAWL_PG_FAULT_LOSE_BEFORE_COMMIT &&
	    pawl_pg_exec_once(pg, arena, NULL, NULL, err) != PAWL_OK) {
		*rc = PAWL_ERR_BACKEND;
		return true;
	}
	pawl_pg_drop(pg);
	*rc = pawl_pg_unavailable(err, "connection lost (fault injection)");
	return true;
}
#endif

enum pawl_err pawl_pg_commit(struct pawl_pg *pg, struct pawl_arena *arena, struct pawl_error *err)
{
	struct pawl_pg_slot xid = { NULL };
	enum pawl_err rc;

	if (sent_and_lost(pg))
		return pawl_pg_unavailable(err, "connection lost");
	if ((rc = pawl_pg_defer_flushed(pg, arena, XID_SQL, &xid, err)) != PAWL_OK)
		goto out;
#ifdef PAWL_FAULT_INJECTION
	if (fault_fire(pg, PAWL_PG_FAULT_LOSE_BEFORE_COMMIT, arena, &rc, err))
		goto lost;
#endif
	if (!pg->cfg->storage_early_lock_release) {
		rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
		    "COMMIT", 0, NULL, 0 }, NULL, err);
	} else if ((rc = pawl_pg_connect(pg, true, err)) == PAWL_OK &&
	    (rc = pawl_pg_defer(pg, arena, "COMMIT", 0, NULL, err)) == PAWL_OK) {
		/* Never retried: the COMMIT may have been applied. */
		rc = pawl_pg_exec_once(pg, arena, &(struct pawl_pg_stmt){
		    BARRIER_SQL, 0, NULL, 0 }, NULL, err);
	}
#ifdef PAWL_FAULT_INJECTION
	if (rc == PAWL_OK)
		(void)fault_fire(pg, PAWL_PG_FAULT_LOSE_ANSWER, arena, &rc, err);
lost:
#endif
	/* Lost with the connection, the COMMIT may or may not have been applied. */
	if (rc != PAWL_OK && pg->conn == NULL && xid.res != NULL && pawl_pg_rows(xid.res) == 1 &&
	    !pawl_pg_is_null(xid.res, 0, 0))
		rc = resolve_lost_commit(pg, arena, pawl_pg_value(xid.res, 0, 0), rc, err);
out:
	if (rc != PAWL_OK)
		pawl_pg_rollback(pg, arena);
	return rc;
}

enum pawl_err pawl_pg_commit_nowait(struct pawl_pg *pg, struct pawl_arena *arena,
    struct pawl_error *err)
{
	enum pawl_err rc;

	if (sent_and_lost(pg))
		return pawl_pg_unavailable(err, "connection lost");
	if ((rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "COMMIT", 0, NULL, 0 }, NULL, err)) != PAWL_OK)
		pawl_pg_rollback(pg, arena);
	return rc;
}

void pawl_pg_rollback(struct pawl_pg *pg, struct pawl_arena *arena)
{
	struct pawl_error err;
	bool unsent = pg->pending_begin;

	/* Deferred statements of a failed transaction are never sent. */
	pg->n_pending = 0;
	pg->pending_begin = false;
	if (pg->conn == NULL || unsent)
		return; /* a lost connection rolled back by itself; an unsent one never began */
	if (pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "ROLLBACK", 0, NULL, 0 }, NULL, &err) != PAWL_OK)
		pawl_log_warn("ROLLBACK failed: %s", err.message);
}

enum pawl_err pawl_pg_transaction(struct pawl_pg *pg, struct pawl_arena *arena,
    enum pawl_pg_txn_kind kind, pawl_pg_txn_fn *fn, void *ctx, struct pawl_error *err)
{
	bool script = kind == PAWL_PG_TXN_SCRIPT;
	enum pawl_err rc;

	rc = script ? pawl_pg_exec_script(pg, "BEGIN", err) : pawl_pg_begin(pg, arena, err);
	if (rc != PAWL_OK)
		return rc;
	if ((rc = fn(ctx, err)) != PAWL_OK) {
		pawl_pg_rollback(pg, arena);
		return rc;
	}
	return script ? pawl_pg_exec_script(pg, "COMMIT", err) : pawl_pg_commit_nowait(pg, arena, err);
}

int pawl_pg_rows(const struct pg_result *res)
{
	return PQntuples((const PGresult *)res);
}

const char *pawl_pg_value(const struct pg_result *res, int row, int col)
{
	return PQgetvalue((const PGresult *)res, row, col);
}

bool pawl_pg_is_null(const struct pg_result *res, int row, int col)
{
	return PQgetisnull((const PGresult *)res, row, col) != 0;
}

const char *pawl_pg_text_array(struct pawl_arena *arena, const char *const *items, size_t n)
{
	struct pawl_buf b;
	size_t i;

	pawl_buf_init(&b, arena);
	pawl_buf_putc(&b, '{');
	for (i = 0; i < n; i++) {
		const char *p;

		pawl_buf_puts(&b, i ? ",\"" : "\"");
		for (p = items[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				pawl_buf_putc(&b, '\\');
			pawl_buf_putc(&b, *p);
		}
		pawl_buf_putc(&b, '"');
	}
	pawl_buf_putc(&b, '}');
	return b.failed ? NULL : b.data;
}

enum pawl_err pawl_pg_listen(struct pawl_pg *pg, const char *channel, struct pawl_error *err)
{
	/* Channel names are ours (identifiers), never client input. */
	snprintf(pg->listen, sizeof(pg->listen), "%s", channel);
	pawl_pg_drop(pg);
	pg->next_attempt_ms = 0;
	return pawl_pg_connect(pg, true, err);
}

enum pawl_err pawl_pg_wait(struct pawl_pg *pg, int extra_fd, int timeout_ms, bool *notified,
    struct pawl_error *err)
{
	struct pollfd pfd[2];
	PGnotify *n;
	enum pawl_err rc;

	*notified = false;
	if ((rc = pawl_pg_connect(pg, true, err)) != PAWL_OK)
		return rc;
	pfd[0].fd = PQsocket(pg->conn);
	pfd[0].events = POLLIN;
	pfd[1].fd = extra_fd; /* poll ignores a negative descriptor */
	pfd[1].events = POLLIN;
	pfd[1].revents = 0;
	if (poll(pfd, 2, timeout_ms) < 0 && errno != EINTR)
		return pawl_pg_unavailable(err, "poll failed");
	*notified = (pfd[1].revents & POLLIN) != 0;
	if (!PQconsumeInput(pg->conn)) {
		pawl_pg_drop(pg);
		return pawl_pg_unavailable(err, "connection lost");
	}
	while ((n = PQnotifies(pg->conn)) != NULL) {
		*notified = true;
		PQfreemem(n);
	}
	return PAWL_OK;
}
