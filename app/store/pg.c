/*
 * The worker's one PostgreSQL connection. Connects lazily, backs off briefly
 * after a failed attempt, bounds every wait with a client-side deadline (a
 * hung server must not hang the worker), and maps SQLSTATEs in one table.
 * Never builds SQL from values: parameters travel separately.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "pawl/log.h"
#include "pawl/migrate.h"
#include "pawl/pg.h"
#include "pawl/str.h"

/*
 * After a slow failed connect (an unreachable host: connect_timeout), wait
 * this long before the next attempt so requests do not each pay the timeout.
 * A fast failure (socket missing, connection refused) is retried at once.
 */
#define SLOW_CONNECT_MS 100
#define RECONNECT_BACKOFF_MS 1000
#define DEADLINE_MARGIN_MS 2000

/* Statements prepared on the current connection, found by their text. */
#define STMT_CACHE 256
/* Deferred statements waiting for the next round trip (pawl_pg_defer). */
#define PENDING_MAX 16

struct stmt {
	unsigned long hash;
	char *sql;
};

struct pending {
	const char *sql;
	int nparams;
	const char *const *params;
	struct pawl_pg_slot *slot; /* where its result goes, or NULL */
};

struct pawl_pg {
	const struct pawl_config *cfg;
	PGconn *conn;
	struct stmt stmts[STMT_CACHE];
	int n_stmts;
	struct pending pending[PENDING_MAX];
	int n_pending;
	bool pending_begin; /* pending[0] is the BEGIN of a transaction not yet sent */
	char listen[64];           /* channel to LISTEN on after (re)connecting */
	long long next_attempt_ms; /* monotonic; no connect before this */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct pawl_pg *pawl_pg_new(const struct pawl_config *cfg)
{
	struct pawl_pg *pg = calloc(1, sizeof(*pg));

	if (pg != NULL)
		pg->cfg = cfg;
	return pg;
}

static void drop(struct pawl_pg *pg)
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
	drop(pg);
	free(pg);
}

bool pawl_pg_connected(const struct pawl_pg *pg)
{
	return pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK;
}

static const struct {
	const char *prefix; /* a full SQLSTATE or a two-character class */
	enum pawl_err code;
} sqlstate_map[] = {
	{ "57014", PAWL_ERR_TIMEOUT },    /* query_canceled: statement_timeout */
	{ "40001", PAWL_ERR_CONFLICT },   /* serialization_failure */
	{ "40P01", PAWL_ERR_CONFLICT },   /* deadlock_detected */
	{ "55P03", PAWL_ERR_CONFLICT },   /* lock_not_available */
	{ "25006", PAWL_ERR_METHOD },     /* read_only_sql_transaction */
	{ "08", PAWL_ERR_BACKEND },       /* connection exceptions */
	{ "57", PAWL_ERR_BACKEND },       /* operator intervention: shutdown, crash */
	{ "53", PAWL_ERR_INTERNAL },      /* insufficient resources: not "retry" */
	{ "23", PAWL_ERR_CONFLICT },      /* integrity constraint violations */
	{ "22", PAWL_ERR_INVALID },       /* data exceptions from client values */
	{ "42", PAWL_ERR_INTERNAL },      /* our SQL is wrong: a bug */
};

enum pawl_err pawl_pg_map_sqlstate(const char *state)
{
	size_t i;

	if (state == NULL || strlen(state) != 5)
		return PAWL_ERR_BACKEND;
	for (i = 0; i < sizeof(sqlstate_map) / sizeof(sqlstate_map[0]); i++)
		if (strncmp(state, sqlstate_map[i].prefix, strlen(sqlstate_map[i].prefix)) == 0)
			return sqlstate_map[i].code;
	return PAWL_ERR_INTERNAL;
}

static enum pawl_err unavailable(struct pawl_error *err, const char *what)
{
	return pawl_error_set(err, PAWL_ERR_BACKEND, "database unavailable: %s", what);
}

static enum pawl_err check_schema(struct pawl_pg *pg, struct pawl_error *err)
{
	PGresult *res = PQexec(pg->conn, "SELECT coalesce(max(version), 0) FROM pawl_migrations");
	unsigned have = 0, want = pawl_migrate_latest();

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		have = (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	if (have >= want)
		return PAWL_OK;
	pawl_log_error("database schema is at version %u, this pawl needs %u: "
	    "run `pawl-fcgi migrate -c <config>`", have, want);
	drop(pg);
	return unavailable(err, "schema not migrated");
}

enum pawl_err pawl_pg_connect(struct pawl_pg *pg, bool schema, struct pawl_error *err)
{
	char timeout[16], options[64];
	const char *keys[] = { "connect_timeout", "application_name", "options", "dbname", NULL };
	const char *vals[5];
	long long started;

	if (pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK)
		return PAWL_OK;
	drop(pg);
	if (now_ms() < pg->next_attempt_ms)
		return unavailable(err, "reconnecting");
	snprintf(timeout, sizeof(timeout), "%d", pg->cfg->storage_connect_timeout_seconds);
	snprintf(options, sizeof(options), "-c statement_timeout=%d",
	    pg->cfg->storage_statement_timeout_ms);
	vals[0] = timeout;
	vals[1] = "pawl-fcgi";
	vals[2] = options;
	/* Last: what the admin wrote in storage_url overrides our defaults. */
	vals[3] = pg->cfg->storage_url;
	vals[4] = NULL;
	started = now_ms();
	pg->conn = PQconnectdbParams(keys, vals, 1);
	if (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK) {
		pawl_log_warn("cannot connect to PostgreSQL: %s",
		    pg->conn ? PQerrorMessage(pg->conn) : "out of memory");
		drop(pg);
		if (now_ms() - started > SLOW_CONNECT_MS)
			pg->next_attempt_ms = now_ms() + RECONNECT_BACKOFF_MS;
		return unavailable(err, "cannot connect");
	}
	if (schema && check_schema(pg, err) != PAWL_OK)
		return err->code;
	if (pg->listen[0] != '\0') {
		char sql[96];
		PGresult *res;

		snprintf(sql, sizeof(sql), "LISTEN %s", pg->listen);
		res = PQexec(pg->conn, sql);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			PQclear(res);
			drop(pg);
			return unavailable(err, "LISTEN failed");
		}
		PQclear(res);
	}
	return PAWL_OK;
}

/* Waits until the pending query's results are all read, or the deadline. */
static bool wait_ready(PGconn *conn, long long deadline)
{
	while (PQisBusy(conn)) {
		struct pollfd pfd = { .fd = PQsocket(conn), .events = POLLIN };
		long long left = deadline - now_ms();
		int rc;

		if (left <= 0)
			return false;
		rc = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
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
	if (!PQsendPrepare(pg->conn, name, sql, nparams, NULL) || !wait_ready(pg->conn, deadline)) {
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

static enum pawl_err result_error(struct pawl_pg *pg, PGresult *res, struct pawl_error *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(pg->conn);
	enum pawl_err code = pawl_pg_map_sqlstate(state);

	if (PQstatus(pg->conn) != CONNECTION_OK || code == PAWL_ERR_BACKEND) {
		pawl_log_warn("PostgreSQL connection lost: %s", msg);
		drop(pg);
		return unavailable(err, "connection lost");
	}
	if (code == PAWL_ERR_INTERNAL || code == PAWL_ERR_TIMEOUT)
		pawl_log_error("query failed (%s): %s", state ? state : "-", msg);
	return pawl_error_set(err, code, "database error %s", state ? state : "");
}

static long long deadline_for(const struct pawl_pg *pg, int timeout_ms)
{
	if (timeout_ms <= 0)
		timeout_ms = (pg->cfg->storage_statement_timeout_ms > 0 ?
		    pg->cfg->storage_statement_timeout_ms : 60000) + DEADLINE_MARGIN_MS;
	return now_ms() + timeout_ms;
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
	drop(pg);
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

		if (!wait_ready(pg->conn, deadline))
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

/*
 * The deferred statements, then q (if any), in one round trip: libpq's
 * pipeline mode sends them together and the server runs them in order; after
 * a failure the rest are skipped. *last is q's result.
 */
static bool run_pipeline(struct pawl_pg *pg, struct pawl_arena *arena, const struct pending *q,
    long long deadline, PGresult **last, PGresult **failed, bool *late)
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
		ok = send_one(pg, &pg->pending[i], deadline, true);
	if (ok && q != NULL)
		ok = send_one(pg, q, deadline, true);
	ok = ok && PQpipelineSync(pg->conn);
	for (i = 0; ok && i < n; i++) {
		PGresult *res = NULL;

		ok = collect(pg, deadline, &res, failed);
		if (res != NULL && pg->pending[i].slot != NULL &&
		    pawl_arena_defer(arena, clear_result, res) == 0)
			pg->pending[i].slot->res = (struct pg_result *)res;
		else
			PQclear(res);
	}
	if (ok && q != NULL)
		ok = collect(pg, deadline, last, failed);
	if (ok) {
		PGresult *stray = NULL;

		ok = collect(pg, deadline, &stray, failed); /* up to the sync point */
		PQclear(stray);
	}
	if (!ok) {
		*late = pg->conn != NULL && PQstatus(pg->conn) == CONNECTION_OK;
		return false;
	}
	return PQexitPipelineMode(pg->conn) == 1;
}

/* The deferred statements and then sql (NULL: only the deferred ones). */
static enum pawl_err exec_once(struct pawl_pg *pg, struct pawl_arena *arena, const char *sql,
    int nparams, const char *const *params, int timeout_ms, struct pg_result **out,
    struct pawl_error *err)
{
	struct pending q = { sql, nparams, params, NULL };
	PGresult *res, *last = NULL, *failed = NULL;
	long long deadline = deadline_for(pg, timeout_ms);
	bool late = false;
	enum pawl_err rc;

	if (pg->n_pending > 0) {
		bool ok = run_pipeline(pg, arena, sql ? &q : NULL, deadline, &last, &failed, &late);

		pg->n_pending = 0;
		pg->pending_begin = false;
		if (!ok) {
			/* The connection is mid-pipeline: it cannot be reused. */
			PQclear(failed);
			PQclear(last);
			return late ? timed_out(pg, err) : result_error(pg, NULL, err);
		}
	} else {
		if (!send_one(pg, &q, deadline, false))
			return result_error(pg, NULL, err);
		if (!wait_ready(pg->conn, deadline))
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
	if (failed != NULL || (last == NULL && sql != NULL)) {
		rc = result_error(pg, failed, err);
		PQclear(failed);
		PQclear(last);
		return rc;
	}
	if (last == NULL)
		return PAWL_OK;
	if (pawl_arena_defer(arena, clear_result, last) != 0)
		return pawl_error_set(err, PAWL_ERR_NOMEM, "out of memory");
	if (out != NULL)
		*out = (struct pg_result *)last;
	return PAWL_OK;
}

/* Runs exec_once, once more on a fresh connection when that is safe. */
static enum pawl_err exec_retrying(struct pawl_pg *pg, struct pawl_arena *arena, const char *sql,
    int nparams, const char *const *params, int timeout_ms, struct pg_result **out,
    struct pawl_error *err)
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
	    (sql == NULL || strcmp(sql, "COMMIT") != 0);
	rc = exec_once(pg, arena, sql, nparams, params, timeout_ms, out, err);
	if (rc == PAWL_ERR_BACKEND && outside_txn && pg->conn == NULL) {
		pg->next_attempt_ms = 0;
		memcpy(pg->pending, saved, sizeof(saved[0]) * (size_t)n_saved);
		pg->n_pending = n_saved;
		pg->pending_begin = saved_begin;
		if ((rc = pawl_pg_connect(pg, true, err)) == PAWL_OK)
			rc = exec_once(pg, arena, sql, nparams, params, timeout_ms, out, err);
		pg->n_pending = 0;
		pg->pending_begin = false;
	}
	return rc;
}

enum pawl_err pawl_pg_exec(struct pawl_pg *pg, struct pawl_arena *arena, const char *sql,
    int nparams, const char *const *params, int timeout_ms, struct pg_result **out,
    struct pawl_error *err)
{
	return exec_retrying(pg, arena, sql, nparams, params, timeout_ms, out, err);
}

static enum pawl_err defer(struct pawl_pg *pg, struct pawl_arena *arena, const char *sql,
    int nparams, const char *const *params, struct pawl_pg_slot *slot, struct pawl_error *err)
{
	const char **copy = NULL;
	enum pawl_err rc;
	int i;

	if (slot != NULL)
		slot->res = NULL;
	/* Outside a transaction there may be no next statement to travel with. */
	if (!pg->pending_begin && (pg->conn == NULL || PQtransactionStatus(pg->conn) == PQTRANS_IDLE))
		return exec_retrying(pg, arena, sql, nparams, params, 0, slot ? &slot->res : NULL, err);
	if (pg->n_pending == PENDING_MAX &&
	    (rc = exec_retrying(pg, arena, NULL, 0, NULL, 0, NULL, err)) != PAWL_OK)
		return rc;
	/* The caller's parameters may live on its stack: the queue keeps copies. */
	if (nparams > 0) {
		copy = pawl_arena_alloc(arena, sizeof(*copy) * (size_t)nparams);
		if (copy == NULL)
			return pawl_error_set(err, PAWL_ERR_NOMEM, "out of memory");
		for (i = 0; i < nparams; i++) {
			copy[i] = params[i] ? pawl_arena_strdup(arena, params[i]) : NULL;
			if (params[i] != NULL && copy[i] == NULL)
				return pawl_error_set(err, PAWL_ERR_NOMEM, "out of memory");
		}
	}
	pg->pending[pg->n_pending++] = (struct pending){ sql, nparams, copy, slot };
	return PAWL_OK;
}

enum pawl_err pawl_pg_defer(struct pawl_pg *pg, struct pawl_arena *arena, const char *sql,
    int nparams, const char *const *params, struct pawl_error *err)
{
	return defer(pg, arena, sql, nparams, params, NULL, err);
}

enum pawl_err pawl_pg_defer_result(struct pawl_pg *pg, struct pawl_arena *arena, const char *sql,
    int nparams, const char *const *params, struct pawl_pg_slot *slot, struct pawl_error *err)
{
	return defer(pg, arena, sql, nparams, params, slot, err);
}

enum pawl_err pawl_pg_flush(struct pawl_pg *pg, struct pawl_arena *arena, struct pawl_error *err)
{
	if (pg->n_pending == 0)
		return PAWL_OK;
	return exec_retrying(pg, arena, NULL, 0, NULL, 0, NULL, err);
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

enum pawl_err pawl_pg_commit(struct pawl_pg *pg, struct pawl_arena *arena, struct pawl_error *err)
{
	enum pawl_err rc;

	/* A transaction already sent died with its connection: a new one must not "commit" it. */
	if (!pg->pending_begin && (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK)) {
		pg->n_pending = 0;
		drop(pg);
		return unavailable(err, "connection lost");
	}
	if (!pg->cfg->storage_early_lock_release) {
		rc = pawl_pg_exec(pg, arena, "COMMIT", 0, NULL, 0, NULL, err);
	} else if ((rc = pawl_pg_connect(pg, true, err)) == PAWL_OK &&
	    (rc = pawl_pg_defer(pg, arena, "COMMIT", 0, NULL, err)) == PAWL_OK) {
		/* Never retried: the COMMIT may have been applied. */
		rc = exec_once(pg, arena, BARRIER_SQL, 0, NULL, 0, NULL, err);
	}
	if (rc != PAWL_OK)
		pawl_pg_rollback(pg, arena);
	return rc;
}

enum pawl_err pawl_pg_commit_nowait(struct pawl_pg *pg, struct pawl_arena *arena,
    struct pawl_error *err)
{
	enum pawl_err rc;

	if (!pg->pending_begin && (pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK)) {
		pg->n_pending = 0;
		drop(pg);
		return unavailable(err, "connection lost");
	}
	if ((rc = pawl_pg_exec(pg, arena, "COMMIT", 0, NULL, 0, NULL, err)) != PAWL_OK)
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
	if (pawl_pg_exec(pg, arena, "ROLLBACK", 0, NULL, 0, NULL, &err) != PAWL_OK)
		pawl_log_warn("ROLLBACK failed: %s", err.message);
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
	drop(pg);
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
		return unavailable(err, "poll failed");
	*notified = (pfd[1].revents & POLLIN) != 0;
	if (!PQconsumeInput(pg->conn)) {
		drop(pg);
		return unavailable(err, "connection lost");
	}
	while ((n = PQnotifies(pg->conn)) != NULL) {
		*notified = true;
		PQfreemem(n);
	}
	return PAWL_OK;
}
