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

struct stmt {
	unsigned long hash;
	char *sql;
};

struct pawl_pg {
	const struct pawl_config *cfg;
	PGconn *conn;
	struct stmt stmts[STMT_CACHE];
	int n_stmts;
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
    long long deadline)
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
	if (pg->n_stmts == STMT_CACHE || (pg->stmts[pg->n_stmts].sql = strdup(sql)) == NULL)
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

static enum pawl_err exec_once(struct pawl_pg *pg, struct pawl_arena *arena, const char *sql,
    int nparams, const char *const *params, int timeout_ms, struct pg_result **out,
    struct pawl_error *err)
{
	PGresult *res, *last = NULL, *failed = NULL;
	long long deadline;
	const char *stmt;
	char name[16];
	enum pawl_err rc;

	if (timeout_ms <= 0)
		timeout_ms = (pg->cfg->storage_statement_timeout_ms > 0 ?
		    pg->cfg->storage_statement_timeout_ms : 60000) + DEADLINE_MARGIN_MS;
	deadline = now_ms() + timeout_ms;
	stmt = PQtransactionStatus(pg->conn) == PQTRANS_INERROR ? NULL :
	    prepared(pg, sql, nparams, name, deadline);
	if (!(stmt ? PQsendQueryPrepared(pg->conn, stmt, nparams, params, NULL, NULL, 0)
	    : PQsendQueryParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0)))
		return result_error(pg, NULL, err);
	if (!wait_ready(pg->conn, deadline)) {
		pawl_log_warn("PostgreSQL did not answer within %d ms; dropping the connection", timeout_ms);
		drop(pg);
		return pawl_error_set(err, PAWL_ERR_TIMEOUT, "database did not answer in time");
	}
	while ((res = PQgetResult(pg->conn)) != NULL) {
		ExecStatusType st = PQresultStatus(res);

		if (failed == NULL && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			failed = res;
			continue;
		}
		PQclear(last);
		last = res;
	}
	if (failed != NULL || last == NULL) {
		rc = result_error(pg, failed, err);
		PQclear(failed);
		PQclear(last);
		return rc;
	}
	if (pawl_arena_defer(arena, clear_result, last) != 0)
		return pawl_error_set(err, PAWL_ERR_NOMEM, "out of memory");
	if (out != NULL)
		*out = (struct pg_result *)last;
	return PAWL_OK;
}

enum pawl_err pawl_pg_exec(struct pawl_pg *pg, struct pawl_arena *arena, const char *sql,
    int nparams, const char *const *params, int timeout_ms, struct pg_result **out,
    struct pawl_error *err)
{
	bool outside_txn;
	enum pawl_err rc;

	if (out != NULL)
		*out = NULL;
	if ((rc = pawl_pg_connect(pg, true, err)) != PAWL_OK)
		return rc;
	outside_txn = PQtransactionStatus(pg->conn) == PQTRANS_IDLE;
	rc = exec_once(pg, arena, sql, nparams, params, timeout_ms, out, err);
	/*
	 * A connection that died while idle (the server restarted) fails the
	 * first statement sent on it. Outside a transaction nothing is lost by
	 * trying once more on a fresh connection; inside one the caller must
	 * see the failure, as the transaction is gone.
	 */
	if (rc == PAWL_ERR_BACKEND && outside_txn && pg->conn == NULL) {
		pg->next_attempt_ms = 0;
		if ((rc = pawl_pg_connect(pg, true, err)) == PAWL_OK)
			rc = exec_once(pg, arena, sql, nparams, params, timeout_ms, out, err);
	}
	return rc;
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
	return pawl_pg_exec(pg, arena, "BEGIN", 0, NULL, 0, NULL, err);
}

enum pawl_err pawl_pg_commit(struct pawl_pg *pg, struct pawl_arena *arena, struct pawl_error *err)
{
	enum pawl_err rc = pawl_pg_exec(pg, arena, "COMMIT", 0, NULL, 0, NULL, err);

	if (rc != PAWL_OK)
		pawl_pg_rollback(pg, arena);
	return rc;
}

void pawl_pg_rollback(struct pawl_pg *pg, struct pawl_arena *arena)
{
	struct pawl_error err;

	if (pg->conn == NULL)
		return; /* a lost connection rolled back by itself */
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

enum pawl_err pawl_pg_wait(struct pawl_pg *pg, int timeout_ms, bool *notified,
    struct pawl_error *err)
{
	struct pollfd pfd;
	PGnotify *n;
	enum pawl_err rc;

	*notified = false;
	if ((rc = pawl_pg_connect(pg, true, err)) != PAWL_OK)
		return rc;
	pfd.fd = PQsocket(pg->conn);
	pfd.events = POLLIN;
	if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
		return unavailable(err, "poll failed");
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
