/*
 * The worker's PostgreSQL connection: opened lazily, re-opened after a
 * failure (with a short back-off so a dead server costs no time per request),
 * every query bounded by a client-side deadline, and the one SQLSTATE → pawl_err
 * mapping. Only app/store/ includes libpq; callers elsewhere see opaque results.
 */
#ifndef PAWL_PG_H
#define PAWL_PG_H

#include <stdbool.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/err.h"
#include "store/pg_slot.h"

struct pawl_pg;
struct pg_result; /* libpq's PGresult, opaque outside app/store/ */

/* A handle; does not connect. The handle borrows cfg. NULL on OOM. */
struct pawl_pg *pawl_pg_new(const struct pawl_config *cfg);

/* Closes the connection if open and frees the handle. NULL is accepted. */
void pawl_pg_free(struct pawl_pg *pg);

/*
 * Connects if not connected and checks that the schema is at the version
 * this binary was built for (unless check_schema is false, for `migrate`).
 * PAWL_ERR_BACKEND when the server is unreachable or the schema is behind.
 */
enum pawl_err pawl_pg_connect(struct pawl_pg *pg, bool check_schema, struct pawl_error *err);

/* The same, given up after timeout_ms (0: storage_connect_timeout_seconds alone). */
enum pawl_err pawl_pg_connect_within(struct pawl_pg *pg, bool check_schema, int timeout_ms,
    struct pawl_error *err);

/* One parameterised statement: its SQL and its text parameters (NULL = SQL NULL). */
struct pawl_pg_stmt {
	const char *sql;
	int nparams;
	const char *const *params;
	int timeout_ms; /* the most to wait; 0: the storage statement timeout + a margin */
};

/*
 * Runs stmt and waits at most stmt->timeout_ms. On success *out (may be NULL
 * if not wanted) is owned by the arena. On a connection failure or a
 * deadline the connection is dropped, to be re-opened by the next call;
 * errors are mapped with pawl_pg_map_sqlstate.
 */
enum pawl_err pawl_pg_exec(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_pg_stmt *stmt, struct pg_result **out, struct pawl_error *err);

/*
 * Queues a statement whose result nobody reads (a lock, an insert) to be sent
 * in one round trip with the next pawl_pg_exec, pawl_pg_commit included,
 * through libpq's pipeline mode. Its failure is that call's failure; a
 * rollback drops the queue unsent. sql must outlive the request (a literal);
 * params are copied into the arena. Only inside a transaction.
 */
enum pawl_err pawl_pg_defer(struct pawl_pg *pg, struct pawl_arena *arena, const char *sql,
    int nparams, const char *const *params, struct pawl_error *err);

/* A deferred statement whose result is wanted later, in slot (store/pg_slot.h). */
enum pawl_err pawl_pg_defer_result(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_pg_stmt *stmt, struct pawl_pg_slot *slot, struct pawl_error *err);

/* Sends the deferred statements now (no-op when there are none). */
enum pawl_err pawl_pg_flush(struct pawl_pg *pg, struct pawl_arena *arena, struct pawl_error *err);

/* Runs a script of several statements (migrations); no parameters. */
enum pawl_err pawl_pg_exec_script(struct pawl_pg *pg, const char *sql, struct pawl_error *err);

/*
 * Transaction primitives, for app/txn/ (a request's unit of work) and
 * pawl_pg_transaction below. BEGIN is deferred: it travels with the
 * transaction's first statement, and a transaction that sent nothing rolls back for free.
 * rollback never fails visibly (it logs). When the connection dies after
 * the COMMIT was sent, commit asks PostgreSQL (reconnecting, for up to a few
 * seconds) whether the transaction committed, and returns PAWL_OK if it did:
 * a failure returned by commit means the change was not applied, unless the
 * log says the outcome stayed unknown.
 */
enum pawl_err pawl_pg_begin(struct pawl_pg *pg, struct pawl_arena *arena, struct pawl_error *err);
enum pawl_err pawl_pg_commit(struct pawl_pg *pg, struct pawl_arena *arena, struct pawl_error *err);
/* COMMIT without waiting for durability: for transactions a crash may undo harmlessly. */
enum pawl_err pawl_pg_commit_nowait(struct pawl_pg *pg, struct pawl_arena *arena,
    struct pawl_error *err);
void pawl_pg_rollback(struct pawl_pg *pg, struct pawl_arena *arena);

/*
 * A transaction of its own around fn, for work outside a request (a
 * request's unit of work is app/txn/'s): ROLLBACK when fn fails, else
 * COMMIT. NOWAIT: deferred BEGIN, COMMIT without waiting for the disk (the
 * relay's deliveries, which a crash may undo harmlessly). SCRIPT: BEGIN and
 * COMMIT sent as plain statements around fn's scripts (migrations).
 */
enum pawl_pg_txn_kind { PAWL_PG_TXN_NOWAIT, PAWL_PG_TXN_SCRIPT };
typedef enum pawl_err pawl_pg_txn_fn(void *ctx, struct pawl_error *err);
enum pawl_err pawl_pg_transaction(struct pawl_pg *pg, struct pawl_arena *arena,
    enum pawl_pg_txn_kind kind, pawl_pg_txn_fn *fn, void *ctx, struct pawl_error *err);

/* Result accessors (row/column from 0). value is "" for NULL. */
int pawl_pg_rows(const struct pg_result *res);
const char *pawl_pg_value(const struct pg_result *res, int row, int col);
bool pawl_pg_is_null(const struct pg_result *res, int row, int col);

/* The code for a SQLSTATE (e.g. "08006" → PAWL_ERR_BACKEND). */
enum pawl_err pawl_pg_map_sqlstate(const char *sqlstate);

/*
 * The same mapping, with the plain text a client may see for it in *message
 * (static; never the SQLSTATE or PostgreSQL's own words). NULL or malformed
 * states are PAWL_ERR_BACKEND; unknown ones PAWL_ERR_INTERNAL.
 */
enum pawl_err pawl_pg_sqlstate_error(const char *sqlstate, const char **message);

/*
 * Whether an error with this SQLSTATE (NULL: none) means the session is no
 * use any more: gone, or read-only (25006) when opened to write.
 */
bool pawl_pg_sqlstate_lost(const char *sqlstate);

/*
 * Whether two "host:port" of connections name the same server (neither
 * empty): a lost COMMIT's outcome is asked only of the server it went to.
 */
bool pawl_pg_same_server(const char *before, const char *now);

/* libpq's target_session_attrs unless storage_url says: "read-write", or "any" when readonly. */
const char *pawl_pg_default_session_attrs(bool readonly);

/*
 * Where the session's server stands: *in_recovery (a hot standby), and
 * *lag_seconds, how far its replay is behind the primary's last commit it
 * received (0 when caught up, and always 0 on a primary).
 */
enum pawl_err pawl_pg_replication(struct pawl_pg *pg, struct pawl_arena *arena, int timeout_ms,
    bool *in_recovery, double *lag_seconds, struct pawl_error *err);

/* A text[] literal ({"a","b"}, quotes and backslashes escaped) for n strings. */
const char *pawl_pg_text_array(struct pawl_arena *arena, const char *const *items, size_t n);

/* LISTEN on channel (re-issued after every reconnect). */
enum pawl_err pawl_pg_listen(struct pawl_pg *pg, const char *channel, struct pawl_error *err);

/*
 * Waits up to timeout_ms for a notification on the listened channels, or for
 * extra_fd (if >= 0) to be readable. Returns PAWL_OK with *notified set (by
 * either), or an error when the connection broke.
 */
enum pawl_err pawl_pg_wait(struct pawl_pg *pg, int extra_fd, int timeout_ms, bool *notified,
    struct pawl_error *err);

/* True while a connection is open and healthy (for heartbeat and tests). */
bool pawl_pg_connected(const struct pawl_pg *pg);

#ifdef PAWL_FAULT_INJECTION
/* Test builds only: the next commit loses its connection before or after the COMMIT. */
enum pawl_pg_fault {
	PAWL_PG_FAULT_NONE,
	PAWL_PG_FAULT_LOSE_BEFORE_COMMIT,
	PAWL_PG_FAULT_LOSE_ANSWER,
};
void pawl_pg_fault_arm(struct pawl_pg *pg, enum pawl_pg_fault fault);
#endif

#endif
