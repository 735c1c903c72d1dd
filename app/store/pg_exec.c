/*
 * Statements on the worker's connection: each prepared once and found again
 * by its text, bounded by a client-side deadline (a hung server must not hang
 * the worker), and -- for those whose result is not needed at once -- queued
 * to travel in one libpq pipeline with the next. Never builds SQL from values.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store/pg_conn.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/str.h"

#define DEADLINE_MARGIN_MS 2000
/* poll() takes an int: wait at most this long at a time, then check the deadline again. */
#define POLL_SLICE_MS 60000

/* Waits until the pending query's results are all read, or the deadline. */
bool pawl_pg_wait_ready(PGconn *conn, long long deadline)
{
	while (PQisBusy(conn)) {
		struct pollfd pfd = { .fd = PQsocket(conn), .events = POLLIN };
		long long left = deadline - pawl_clock_mono_ms();
		int rc;

		if (left <= 0)
			return false;
		rc = poll(&pfd, 1, (int)(left > POLL_SLICE_MS ? POLL_SLICE_MS : left));
		if (rc < 0 && errno != EINTR)
			return false;
		if (rc > 0 && !PQconsumeInput(conn))
			return true; /* the error surfaces through PQgetResult */
	}
	return true;
}

static unsigned long hash_sql(const char *s)
{
	unsigned long h = 5381;

	while (*s)
		h = h * 33 + (unsigned char)*s++;
	return h;
}

/*
 * The name of sql's prepared statement on this connection ("s<n>"), preparing
 * it on first use; NULL to send it unnamed (cache full, disabled, or failed).
 */
static const char *prepared(struct pawl_pg *pg, const char *sql, int nparams, char name[16],
    long long deadline, bool may_prepare)
{
	unsigned long h = hash_sql(sql);
	PGresult *res;
	int i;
	bool ok;

	if (!pg->cfg->storage_prepared_statements)
		return NULL;
	for (i = 0; i < pg->n_stmts; i++) {
		if (pg->stmts[i].hash == h && strcmp(pg->stmts[i].sql, sql) == 0) {
			snprintf(name, 16, "s%d", i);
			return name;
		}
	}
	if (!may_prepare || pg->n_stmts == STMT_CACHE ||
	    (pg->stmts[pg->n_stmts].sql = strdup(sql)) == NULL)
		return NULL;
	snprintf(name, 16, "s%d", pg->n_stmts);
	if (!PQsendPrepare(pg->conn, name, sql, nparams, NULL) || !pawl_pg_wait_ready(pg->conn, deadline)) {
		free(pg->stmts[pg->n_stmts].sql);
		return NULL;
	}
	ok = true;
	while ((res = PQgetResult(pg->conn)) != NULL) {
		ok = ok && PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
	}
	if (!ok) {
		free(pg->stmts[pg->n_stmts].sql);
		return NULL;
	}
	pg->stmts[pg->n_stmts++].hash = h;
	return name;
}

static void clear_result(void *res)
{
	PQclear(res);
}

/*
 * A failed statement: the client gets a plain message chosen by SQLSTATE
 * (pawl_pg_sqlstate_error); the SQLSTATE and PostgreSQL's words stay here and
 * in the log. An internal error keeps them in err->message, which a 500's
 * body never shows (the response carries an error id the log line repeats).
 */
static enum pawl_err result_error(struct pawl_pg *pg, PGresult *res, struct pawl_error *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(pg->conn);
	const char *plain;
	enum pawl_err code = pawl_pg_sqlstate_error(state, &plain);

	if (state != NULL && strcmp(state, "25006") == 0) {
		/* One clear line: the admin's storage_url, or a failover, is the cause. */
		pawl_log_error("PostgreSQL refused a write: the session is read-only (a hot standby, "
		    "or a primary being demoted); the connection is dropped and the next one looks "
		    "for the primary (storage_url: list every host, target_session_attrs=read-write)");
		pawl_pg_drop(pg);
		return pawl_error_set(err, PAWL_ERR_BACKEND, "%s", plain);
	}
	if (PQstatus(pg->conn) != CONNECTION_OK ||
	    (code == PAWL_ERR_BACKEND && pawl_pg_sqlstate_lost(state))) {
		pawl_log_warn("PostgreSQL connection lost: %s", msg);
		pawl_pg_drop(pg);
		return pawl_pg_unavailable(err, "connection lost");
	}
	if (code == PAWL_ERR_INTERNAL)
		return pawl_error_set(err, code, "database error %s: %s", state,
		    primary ? primary : "(no message)");
	if (code == PAWL_ERR_TIMEOUT || code == PAWL_ERR_BACKEND)
		pawl_log_error("query failed (%s): %s", state, primary ? primary : "-");
	else
		pawl_log_warn("query refused (%s): %s", state, primary ? primary : "-");
	return pawl_error_set(err, code, "%s", plain);
}

static long long deadline_for(const struct pawl_pg *pg, int timeout_ms)
{
	if (timeout_ms <= 0)
		timeout_ms = (pg->cfg->storage_statement_timeout_ms > 0 ?
		    pg->cfg->storage_statement_timeout_ms : UNTIMED_STATEMENT_MS) + DEADLINE_MARGIN_MS;
	return pawl_clock_mono_ms() + timeout_ms;
}

/* In a pipeline, only statements prepared beforehand go by name. */
static bool send_one(struct pawl_pg *pg, const struct pending *q, long long deadline,
    bool in_pipeline)
{
	char name[16];
	const char *stmt = !in_pipeline && PQtransactionStatus(pg->conn) == PQTRANS_INERROR ? NULL :
	    prepared(pg, q->sql, q->nparams, name, deadline, !in_pipeline);

	return stmt ? PQsendQueryPrepared(pg->conn, stmt, q->nparams, q->params, NULL, NULL, 0)
	    : PQsendQueryParams(pg->conn, q->sql, q->nparams, NULL, q->params, NULL, NULL, 0);
}

static enum pawl_err timed_out(struct pawl_pg *pg, struct pawl_error *err)
{
	pawl_log_warn("PostgreSQL did not answer in time; dropping the connection");
	pawl_pg_drop(pg);
	return pawl_error_set(err, PAWL_ERR_TIMEOUT, "database did not answer in time");
}

/*
 * Reads one statement's results: the last good one is kept in *last, the
 * first failure in *failed (later ones are dropped). False on a deadline.
 */
static bool collect(struct pawl_pg *pg, long long deadline, PGresult **last, PGresult **failed)
{
	PGresult *res;

	for (;;) {
		ExecStatusType st;

		if (!pawl_pg_wait_ready(pg->conn, deadline))
			return false;
		if ((res = PQgetResult(pg->conn)) == NULL)
			return true;
		st = PQresultStatus(res);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			return true;
		}
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			if (*failed == NULL && st != PGRES_PIPELINE_ABORTED)
				*failed = res;
			else
				PQclear(res);
			continue;
		}
		PQclear(*last);
		*last = res;
	}
}

/* What a round trip left: the last statement's result, the first failure, a deadline passed. */
struct outcome {
	PGresult *last;
	PGresult *failed;
	bool late;
};

/*
 * The deferred statements, then q (if any), in one round trip: libpq's
 * pipeline mode sends them together and the server runs them in order; after
 * a failure the rest are skipped. o->last is q's result.
 */
static bool run_pipeline(struct pawl_pg *pg, struct pawl_arena *arena, const struct pending *q,
    long long deadline, struct outcome *o)
{
	int i, n = pg->n_pending;
	bool ok;

	/* Preparing is a round trip of its own: done before the pipeline, once per connection. */
	for (i = 0; i <= n; i++) {
		const struct pending *p = i < n ? &pg->pending[i] : q;
		char name[16];

		if (p != NULL && PQtransactionStatus(pg->conn) != PQTRANS_INERROR)
			(void)prepared(pg, p->sql, p->nparams, name, deadline, true);
	}
	if (!PQenterPipelineMode(pg->conn))
		return false;
	ok = true;
	for (i = 0; ok && i < n; i++)
		ok = send_one(pg, &pg->pending[i], deadline, true) &&
		    (!pg->pending[i].flush || PQsendFlushRequest(pg->conn) == 1);
	if (ok && q != NULL)
		ok = send_one(pg, q, deadline, true);
	ok = ok && PQpipelineSync(pg->conn);
	for (i = 0; ok && i < n; i++) {
		PGresult *res = NULL;

		ok = collect(pg, deadline, &res, &o->failed);
		if (res != NULL && pg->pending[i].slot != NULL &&
		    pawl_arena_defer(arena, clear_result, res) == 0)
			pg->pending[i].slot->res = (struct pg_result *)res;
		else
			PQclear(res);
	}
	if (ok && q != NULL)
		ok = collect(pg, deadline, &o->last, &o->failed);
	if (ok) {
		PGresult *stray = NULL;

		ok = collect(pg, deadline, &stray, &o->failed); /* up to the sync point */
		PQclear(stray);
	}
	if (!ok) {
		o->late = pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK;
		return false;
	}
	return PQexitPipelineMode(pg->conn) == 1;
}

static enum pawl_err exec_once(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_pg_stmt *stmt, struct pg_result **out, struct pawl_error *err)
{
	struct pending q = { NULL, 0, NULL, NULL, false };
	struct outcome o = { NULL, NULL, false };
	PGresult *res, *last = NULL, *failed = NULL;
	long long deadline = deadline_for(pg, stmt ? stmt->timeout_ms : 0);
	enum pawl_err rc;

	if (stmt != NULL)
		q = (struct pending){ stmt->sql, stmt->nparams, stmt->params, NULL, false };
	if (pg->n_pending > 0) {
		bool ok = run_pipeline(pg, arena, stmt ? &q : NULL, deadline, &o);

		pg->n_pending = 0;
		pg->pending_begin = false;
		last = o.last;
		failed = o.failed;
		if (!ok) {
			/* The connection is mid-pipeline: it cannot be reused. */
			PQclear(failed);
			PQclear(last);
			return o.late ? timed_out(pg, err) : result_error(pg, NULL, err);
		}
	} else {
		if (!send_one(pg, &q, deadline, false))
			return result_error(pg, NULL, err);
		if (!pawl_pg_wait_ready(pg->conn, deadline))
			return timed_out(pg, err);
		while ((res = PQgetResult(pg->conn)) != NULL) {
			ExecStatusType st = PQresultStatus(res);

			if (failed == NULL && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
				failed = res;
				continue;
			}
			PQclear(last);
			last = res;
		}
	}
	if (failed != NULL || (last == NULL && stmt != NULL)) {
		rc = result_error(pg, failed, err);
		PQclear(failed);
		PQclear(last);
		return rc;
	}
	if (last == NULL)
		return PAWL_OK;
	if (pawl_arena_defer(arena, clear_result, last) != 0)
		return pawl_error_nomem(err);
	if (out != NULL)
		*out = (struct pg_result *)last;
	return PAWL_OK;
}

/* One round trip, timed and counted (core/metrics.h) whatever its outcome. */
enum pawl_err pawl_pg_exec_once(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_pg_stmt *stmt, struct pg_result **out, struct pawl_error *err)
{
	int statements = pg->n_pending + (stmt != NULL);
	long long start = pawl_clock_mono_ns();
	enum pawl_err rc = exec_once(pg, arena, stmt, out, err);

	pawl_metrics_db_round_trip(statements, pawl_clock_mono_ns() - start);
	pawl_metrics_db_error(rc);
	return rc;
}

/* Runs exec_once, once more on a fresh connection when that is safe. */
static enum pawl_err exec_retrying(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_pg_stmt *stmt, struct pg_result **out, struct pawl_error *err)
{
	struct pending saved[PENDING_MAX];
	int n_saved = pg->n_pending;
	bool saved_begin = pg->pending_begin, outside_txn;
	enum pawl_err rc;

	if (out != NULL)
		*out = NULL;
	if ((rc = pawl_pg_connect(pg, true, err)) != PAWL_OK)
		return rc;
	memcpy(saved, pg->pending, sizeof(saved[0]) * (size_t)n_saved);
	/*
	 * A connection that died while idle (the server restarted) fails the
	 * first statement sent on it. Outside a transaction nothing is lost by
	 * trying once more on a fresh connection -- also when the transaction's
	 * BEGIN was still waiting to be sent with this statement, unless the
	 * statement is the COMMIT (it may have been applied); inside one the
	 * caller must see the failure, as the transaction is gone.
	 */
	outside_txn = PQtransactionStatus(pg->conn) == PQTRANS_IDLE &&
	    (stmt == NULL || strcmp(stmt->sql, "COMMIT") != 0);
	rc = pawl_pg_exec_once(pg, arena, stmt, out, err);
	if (rc == PAWL_ERR_BACKEND && outside_txn && pg->conn == NULL) {
		pg->next_attempt_ms = 0;
		memcpy(pg->pending, saved, sizeof(saved[0]) * (size_t)n_saved);
		pg->n_pending = n_saved;
		pg->pending_begin = saved_begin;
		if ((rc = pawl_pg_connect(pg, true, err)) == PAWL_OK)
			rc = pawl_pg_exec_once(pg, arena, stmt, out, err);
		pg->n_pending = 0;
		pg->pending_begin = false;
	}
	return rc;
}

enum pawl_err pawl_pg_exec(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_pg_stmt *stmt, struct pg_result **out, struct pawl_error *err)
{
	return exec_retrying(pg, arena, stmt, out, err);
}

/* Queues stmt (its timeout is the carrying statement's). */
static enum pawl_err defer(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_pg_stmt *stmt, struct pawl_pg_slot *slot, struct pawl_error *err)
{
	const char **copy = NULL;
	enum pawl_err rc;
	int i;

	if (slot != NULL)
		slot->res = NULL;
	/* Outside a transaction there may be no next statement to travel with. */
	if (!pg->pending_begin && (pg->conn == NULL || PQtransactionStatus(pg->conn) == PQTRANS_IDLE))
		return exec_retrying(pg, arena, &(struct pawl_pg_stmt){ stmt->sql, stmt->nparams,
		    stmt->params, 0 }, slot ? &slot->res : NULL, err);
	if (pg->n_pending == PENDING_MAX && (rc = exec_retrying(pg, arena, NULL, NULL, err)) != PAWL_OK)
		return rc;
	/* The caller's parameters may live on its stack: the queue keeps copies. */
	if (stmt->nparams > 0) {
		copy = pawl_arena_alloc(arena, sizeof(*copy) * (size_t)stmt->nparams);
		if (copy == NULL)
			return pawl_error_nomem(err);
		for (i = 0; i < stmt->nparams; i++) {
			copy[i] = stmt->params[i] ? pawl_arena_strdup(arena, stmt->params[i]) : NULL;
			if (stmt->params[i] != NULL && copy[i] == NULL)
				return pawl_error_nomem(err);
		}
	}
	pg->pending[pg->n_pending++] = (struct pending){ stmt->sql, stmt->nparams, copy, slot, false };
	return PAWL_OK;
}

enum pawl_err pawl_pg_defer(struct pawl_pg *pg, struct pawl_arena *arena, const char *sql,
    int nparams, const char *const *params, struct pawl_error *err)
{
	return defer(pg, arena, &(struct pawl_pg_stmt){ sql, nparams, params, 0 }, NULL, err);
}

enum pawl_err pawl_pg_defer_result(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_pg_stmt *stmt, struct pawl_pg_slot *slot, struct pawl_error *err)
{
	return defer(pg, arena, stmt, slot, err);
}

enum pawl_err pawl_pg_defer_flushed(struct pawl_pg *pg, struct pawl_arena *arena, const char *sql,
    struct pawl_pg_slot *slot, struct pawl_error *err)
{
	enum pawl_err rc = defer(pg, arena, &(struct pawl_pg_stmt){ sql, 0, NULL, 0 }, slot, err);

	/* Sent already when there was no transaction to ride with. */
	if (rc == PAWL_OK && pg->n_pending > 0 && pg->pending[pg->n_pending - 1].slot == slot)
		pg->pending[pg->n_pending - 1].flush = true;
	return rc;
}

enum pawl_err pawl_pg_flush(struct pawl_pg *pg, struct pawl_arena *arena, struct pawl_error *err)
{
	if (pg->n_pending == 0)
		return PAWL_OK;
	return exec_retrying(pg, arena, NULL, NULL, err);
}
