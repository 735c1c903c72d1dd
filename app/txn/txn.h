/*
 * The unit of work of one request: the only owner of transaction control
 * and event staging. Outbox rows are written in the write's own transaction;
 * subscribers and listeners hear of a change only after its COMMIT and after
 * the response (docs/ARCHITECTURE.md). The root makes one per request and
 * hands it down; a batch's sub-requests share the batch's, nested in it.
 */
#ifndef PAWL_TXN_H
#define PAWL_TXN_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/err.h"
#include "events/stage.h"

struct pawl_pg;
struct pawl_config;
struct pawl_listener_set;
struct pawl_subscribers;

/* Savepoints a transaction may hold at once (a batch's sub-request, the write inside it). */
#define PAWL_TXN_MAX_DEPTH 4

/* What a unit of work borrows from the worker. */
struct pawl_txn_env {
	struct pawl_pg *pg;
	const struct pawl_listener_set *listeners;  /* NULL: none, so no outbox rows */
	const struct pawl_subscribers *subscribers; /* NULL: none */
	int relay_wake_fd; /* the relay's wake pipe under the supervisor; -1: deliver here */
	const struct pawl_config *history; /* history_enabled's settings; NULL: no history */
};

struct pawl_txn_done; /* a committed stage, waiting for the response to be sent */

/* Fields are txn.c's own; the struct is visible so a caller can hold one on its stack. */
struct pawl_txn {
	struct pawl_txn_env env;
	struct pawl_arena *arena;
	struct pawl_stage *stage;   /* the open transaction's events (or a read's), or NULL */
	bool open;                  /* between begin and commit/abort */
	unsigned depth;             /* savepoints held */
	size_t marks[PAWL_TXN_MAX_DEPTH]; /* the stage's length at each savepoint */
	struct pawl_txn_done *done, *last; /* committed stages, in commit order */
};

/* Sets t up for one request; nothing is sent. Allocates from arena later. */
void pawl_txn_init(struct pawl_txn *t, struct pawl_arena *arena, const struct pawl_txn_env *env);

/* True between begin and commit/abort: a write now nests in it (a batch's). */
bool pawl_txn_active(const struct pawl_txn *t);

/* True when a savepoint is held: the current work is part of a larger transaction. */
bool pawl_txn_nested(const struct pawl_txn *t);

/* BEGIN (deferred: it travels with the first statement). PAWL_ERR_INTERNAL if open. */
enum pawl_err pawl_txn_begin(struct pawl_txn *t, struct pawl_error *err);

/*
 * A savepoint inside the open transaction, remembering how many events
 * were staged. The SAVEPOINT travels with the next statement.
 */
enum pawl_err pawl_txn_savepoint(struct pawl_txn *t, struct pawl_error *err);

/* Keeps the innermost savepoint's work and events (RELEASE, deferred too). */
enum pawl_err pawl_txn_release(struct pawl_txn *t, struct pawl_error *err);

/*
 * Undoes the innermost savepoint's work (ROLLBACK TO, then RELEASE) and
 * forgets the events staged since it. The stage is rewound even when the
 * statement fails; the failure is then the caller's to end the transaction.
 */
enum pawl_err pawl_txn_rollback_to(struct pawl_txn *t, struct pawl_error *err);

/*
 * Seals the stage, writes the outbox rows of the durable listeners that
 * want its events and the history entries of its changes, and COMMITs, all in the one transaction (pawl_pg_commit:
 * early lock release, a lost COMMIT answer resolved). On success the events
 * wait for pawl_txn_publish; on failure the transaction is rolled back and
 * its events forgotten. Savepoints still held are committed with it.
 */
enum pawl_err pawl_txn_commit(struct pawl_txn *t, struct pawl_error *err);

/* ROLLBACK whatever the depth; the transaction's events are forgotten. Never fails. */
void pawl_txn_abort(struct pawl_txn *t);

/*
 * One write as a unit: outside a transaction BEGIN, fn, COMMIT (abort when
 * fn fails); inside one (a batch) a savepoint, fn, RELEASE (ROLLBACK TO when
 * fn fails), the enclosing transaction committing it.
 */
typedef enum pawl_err pawl_txn_fn(void *ctx, struct pawl_error *err);
enum pawl_err pawl_txn_run(struct pawl_txn *t, pawl_txn_fn *fn, void *ctx,
    struct pawl_error *err);

/*
 * Stages op (copied) with the open transaction, or, outside one, as a
 * read's event, published after the response with its outbox rows written
 * on their own.
 */
enum pawl_err pawl_txn_stage(struct pawl_txn *t, const struct pawl_stage_op *op,
    struct pawl_error *err);

/* True when something committed or staged will be published. */
bool pawl_txn_has_events(const struct pawl_txn *t);

/*
 * After the response: for each committed stage in commit order, then the
 * reads' events, the in-process subscribers, then the listeners -- a wake-up
 * for the relay under the supervisor, or the delivery here when alone. A
 * transaction still open is rolled back first (a bug, logged). Leaves t empty.
 */
void pawl_txn_publish(struct pawl_txn *t);

#endif
