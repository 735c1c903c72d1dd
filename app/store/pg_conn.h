/*
 * Inside app/store/ only: the connection handle shared by pg.c (connecting,
 * transactions, results, LISTEN) and pg_exec.c (statements, the prepared
 * statement cache, pipelines and the deferred queue).
 */
#ifndef PAWL_STORE_PG_CONN_H
#define PAWL_STORE_PG_CONN_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "store/pg.h"

/* Statements prepared on the current connection, found by their text. */
#define STMT_CACHE 256
/*
 * A statement's deadline when storage_statement_timeout_ms is 0 (no server
 * timeout): a minute, so a connection gone silent ends in an error, not a hang.
 */
#define UNTIMED_STATEMENT_MS 60000
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
	bool flush;                /* the server sends its result at once (see pg.c) */
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
	char server[192];          /* "host:port" of the last connection (kept after a drop) */
#ifdef PAWL_FAULT_INJECTION
	enum pawl_pg_fault fault;  /* armed for the next commit only */
#endif
};

/*
 * Like pawl_pg_defer_result, and the server is asked to send this result at
 * once (a flush request in the pipeline), so it reaches us even when a later
 * statement of the same pipeline never answers.
 */
enum pawl_err pawl_pg_defer_flushed(struct pawl_pg *pg, struct pawl_arena *arena, const char *sql,
    struct pawl_pg_slot *slot, struct pawl_error *err);

/* Waits until conn's pending results are in, or deadline (false: timed out). */
bool pawl_pg_wait_ready(PGconn *conn, long long deadline);

/* Closes the connection (prepared statements die with it). */
void pawl_pg_drop(struct pawl_pg *pg);

/* PAWL_ERR_BACKEND, "database unavailable: <what>". */
enum pawl_err pawl_pg_unavailable(struct pawl_error *err, const char *what);

/*
 * The deferred statements and then stmt (NULL: only the deferred ones), in
 * one round trip, never retried (pawl_pg_exec retries when that is safe).
 */
enum pawl_err pawl_pg_exec_once(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_pg_stmt *stmt, struct pg_result **out, struct pawl_error *err);

#endif
