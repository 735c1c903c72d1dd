/*
 * The outbox table: events for durable listeners, written in the change's
 * transaction, taken and acknowledged by the delivery step in one
 * transaction per list, under a per-list advisory lock so one list is never
 * delivered by two processes at once (commit order is kept).
 */
#ifndef PAWL_OUTBOX_H
#define PAWL_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/err.h"

struct pawl_pg;

/* Rows to write: row i is (listeners[i], list_keys[i], payloads[i]). */
struct pawl_outbox_rows {
	size_t n;
	const char *const *listeners;
	const char *const *list_keys;
	const char *const *payloads;
};

/* Inserts the rows in one statement. */
enum pawl_err pawl_outbox_write(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_outbox_rows *rows, struct pawl_error *err);

struct pawl_outbox_batch {
	long long *ids;
	const char **payloads;
	const char **listeners; /* pawl_outbox_take_all only: each row's listener */
	const char **list_keys; /* each row's list (the id orders the rows of one list) */
	double *ages;           /* seconds from each row's insert (with its COMMIT) to the take */
	size_t n;
	int locked;       /* 0: another process is delivering this list now */
};

/*
 * Outside a transaction: a synchronous commit of its own, which returns once
 * the WAL is on disk past every transaction finished before it; *snapshot
 * (arena) names those transactions, for pawl_outbox_take.
 */
enum pawl_err pawl_outbox_barrier(struct pawl_pg *pg, struct pawl_arena *arena,
    const char **snapshot, struct pawl_error *err);

/*
 * The rows a take claims: those written by transactions the barrier's
 * snapshot saw finished (durable ones), up to limit, of one list
 * (pawl_outbox_take: listener and list_key) or of every list of some
 * listeners (pawl_outbox_take_all: listeners, n_listeners).
 */
struct pawl_outbox_due {
	const char *snapshot; /* from pawl_outbox_barrier */
	int limit;
	const char *listener;
	const char *list_key;
	const char *const *listeners;
	size_t n_listeners;
};

/*
 * Inside a transaction: takes the list's advisory lock (without waiting) and
 * deletes the due rows of due->listener's list due->list_key, returned in
 * commit order. The caller pushes them, then COMMITs (or ROLLBACKs, which
 * puts them back).
 */
enum pawl_err pawl_outbox_take(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_outbox_due *due, struct pawl_outbox_batch *out, struct pawl_error *err);

/*
 * pawl_outbox_take for every list of due->listeners at once: the rows (up
 * to due->limit) of each list whose lock it got, in id order -- commit order
 * within each list -- with their listener in out->listeners.
 */
enum pawl_err pawl_outbox_take_all(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_outbox_due *due, struct pawl_outbox_batch *out, struct pawl_error *err);

/*
 * The age in seconds of the oldest row waiting (of any listener, committed),
 * or -1 when none waits: __heartbeat__'s check. One probe of the primary key
 * however long the backlog: ids are taken as rows are inserted, so the
 * lowest is the oldest.
 */
enum pawl_err pawl_outbox_oldest_age(struct pawl_pg *pg, struct pawl_arena *arena, int timeout_ms,
    double *age_seconds, struct pawl_error *err);

/* Rows waiting and the age in seconds of the oldest (for the metrics). */
enum pawl_err pawl_outbox_stats(struct pawl_pg *pg, struct pawl_arena *arena, int timeout_ms,
    long long *pending, double *oldest_seconds, struct pawl_error *err);

/* Whether rows of the given listeners wait (committed ones). */
enum pawl_err pawl_outbox_any(struct pawl_pg *pg, struct pawl_arena *arena,
    const char *const *listeners, size_t n_listeners, bool *any, struct pawl_error *err);

/*
 * VACUUM of the outbox (outside a transaction; skipped if locked). A queue
 * table: every row is deleted soon after it is written, and until a vacuum
 * the dead rows are read again by every take -- more often than autovacuum,
 * whose naptime is a minute, comes round.
 */
enum pawl_err pawl_outbox_vacuum(struct pawl_pg *pg, struct pawl_error *err);

/* Wakes the relay (NOTIFY pawl_outbox). */
enum pawl_err pawl_outbox_wake(struct pawl_pg *pg, struct pawl_arena *arena, struct pawl_error *err);

#endif
