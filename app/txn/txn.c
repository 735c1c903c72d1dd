/*
 * A request's unit of work: BEGIN, savepoints, COMMIT with the outbox rows,
 * ROLLBACK, and the publication of committed events after the response. No
 * other file issues transaction control for a request or touches a stage;
 * this one never runs a statement of its own besides those.
 */
#include <string.h>

#include "txn/txn.h"
#include "events/history.h"
#include "events/listener_set.h"
#include "events/subscribers.h"
#include "events/relay.h"
#include "store/pg.h"
#include "core/log.h"
#include "core/metrics.h"

struct pawl_txn_done {
	struct pawl_stage *stage;
	struct pawl_txn_done *next;
};

/* One name per depth: ROLLBACK TO an outer one still works if an inner one leaked. */
static const char *const savepoint_sql[PAWL_TXN_MAX_DEPTH] = {
	"SAVEPOINT pawl_sp1", "SAVEPOINT pawl_sp2", "SAVEPOINT pawl_sp3", "SAVEPOINT pawl_sp4",
};
static const char *const release_sql[PAWL_TXN_MAX_DEPTH] = {
	"RELEASE SAVEPOINT pawl_sp1", "RELEASE SAVEPOINT pawl_sp2",
	"RELEASE SAVEPOINT pawl_sp3", "RELEASE SAVEPOINT pawl_sp4",
};
static const char *const rollback_to_sql[PAWL_TXN_MAX_DEPTH] = {
	"ROLLBACK TO SAVEPOINT pawl_sp1", "ROLLBACK TO SAVEPOINT pawl_sp2",
	"ROLLBACK TO SAVEPOINT pawl_sp3", "ROLLBACK TO SAVEPOINT pawl_sp4",
};

void pawl_txn_init(struct pawl_txn *t, struct pawl_arena *arena, const struct pawl_txn_env *env)
{
	memset(t, 0, sizeof(*t));
	t->env = *env;
	t->arena = arena;
}

bool pawl_txn_active(const struct pawl_txn *t)
{
	return t->open;
}

bool pawl_txn_nested(const struct pawl_txn *t)
{
	return t->depth > 0;
}

static void forget(struct pawl_txn *t)
{
	if (t->stage != NULL)
		pawl_stage_clear(t->stage);
	t->open = false;
	t->depth = 0;
}

enum pawl_err pawl_txn_begin(struct pawl_txn *t, struct pawl_error *err)
{
	enum pawl_err rc;

	if (t->open)
		return pawl_error_set(err, PAWL_ERR_INTERNAL, "a transaction is already open");
	if ((rc = pawl_pg_begin(t->env.pg, t->arena, err)) != PAWL_OK)
		return rc;
	t->open = true;
	t->depth = 0;
	return PAWL_OK;
}

enum pawl_err pawl_txn_savepoint(struct pawl_txn *t, struct pawl_error *err)
{
	enum pawl_err rc;

	if (!t->open || t->depth == PAWL_TXN_MAX_DEPTH)
		return pawl_error_set(err, PAWL_ERR_INTERNAL, "no room for a savepoint");
	/* Deferred: it costs no round trip of its own. */
	rc = pawl_pg_defer(t->env.pg, t->arena, savepoint_sql[t->depth], 0, NULL, err);
	if (rc != PAWL_OK)
		return rc;
	t->marks[t->depth++] = t->stage != NULL ? pawl_stage_mark(t->stage) : 0;
	return PAWL_OK;
}

enum pawl_err pawl_txn_release(struct pawl_txn *t, struct pawl_error *err)
{
	if (!t->open || t->depth == 0)
		return pawl_error_set(err, PAWL_ERR_INTERNAL, "no savepoint to release");
	t->depth--;
	return pawl_pg_defer(t->env.pg, t->arena, release_sql[t->depth], 0, NULL, err);
}

enum pawl_err pawl_txn_rollback_to(struct pawl_txn *t, struct pawl_error *err)
{
	struct pawl_pg_stmt stmt = { NULL, 0, NULL, 0 };
	enum pawl_err rc;
	unsigned d;

	if (!t->open || t->depth == 0)
		return pawl_error_set(err, PAWL_ERR_INTERNAL, "no savepoint to roll back to");
	d = --t->depth;
	if (t->stage != NULL)
		pawl_stage_rewind(t->stage, t->marks[d]);
	/*
	 * Statements still queued are sent first; if one of them fails, the
	 * pipeline skips the ROLLBACK TO, so it is sent again on its own.
	 */
	stmt.sql = rollback_to_sql[d];
	rc = pawl_pg_exec(t->env.pg, t->arena, &stmt, NULL, err);
	if (rc != PAWL_OK && pawl_pg_connected(t->env.pg))
		rc = pawl_pg_exec(t->env.pg, t->arena, &stmt, NULL, err);
	if (rc != PAWL_OK)
		return rc;
	return pawl_pg_defer(t->env.pg, t->arena, release_sql[d], 0, NULL, err);
}

enum pawl_err pawl_txn_commit(struct pawl_txn *t, struct pawl_error *err)
{
	struct pawl_txn_done *node = NULL;
	enum pawl_err rc;

	if (!t->open)
		return pawl_error_set(err, PAWL_ERR_INTERNAL, "no transaction to commit");
	/* Allocated first: once COMMIT succeeded, nothing may fail. */
	if (t->stage != NULL && (node = pawl_arena_calloc(t->arena, 1, sizeof(*node))) == NULL) {
		pawl_txn_abort(t);
		return pawl_error_nomem(err);
	}
	/*
	 * Outbox rows and history entries join the same transaction: the change,
	 * its events and its history commit together (or none of them).
	 */
	if (t->stage != NULL && ((rc = pawl_stage_seal(t->stage, err)) != PAWL_OK ||
	    (rc = pawl_history_stage_write(t->env.history, t->env.pg, t->arena, t->stage,
	    err)) != PAWL_OK ||
	    (rc = pawl_listener_set_stage_outbox(t->env.listeners, t->env.pg, t->arena, t->stage,
	    err)) != PAWL_OK)) {
		pawl_txn_abort(t);
		return rc;
	}
	/* A failed COMMIT has rolled back already. */
	if ((rc = pawl_pg_commit(t->env.pg, t->arena, err)) != PAWL_OK) {
		pawl_metrics_txn(false);
		forget(t);
		return rc;
	}
	t->open = false;
	t->depth = 0;
	/* Counted before the answer, as the commit: a client that saw it sees them. */
	pawl_metrics_txn(true);
	if (node != NULL) {
		pawl_listener_set_count_staged(t->env.listeners, t->stage);
		node->stage = t->stage;
		if (t->last != NULL)
			t->last->next = node;
		else
			t->done = node;
		t->last = node;
		t->stage = NULL;
	}
	return PAWL_OK;
}

void pawl_txn_abort(struct pawl_txn *t)
{
	if (t->open) {
		pawl_pg_rollback(t->env.pg, t->arena);
		pawl_metrics_txn(false);
	}
	forget(t);
}

enum pawl_err pawl_txn_run(struct pawl_txn *t, pawl_txn_fn *fn, void *ctx,
    struct pawl_error *err)
{
	enum pawl_err rc;

	if (t->open) {
		if ((rc = pawl_txn_savepoint(t, err)) != PAWL_OK)
			return rc;
		if ((rc = fn(ctx, err)) == PAWL_OK)
			return pawl_txn_release(t, err);
		/* fn's error is the answer; the enclosing transaction handles a failed undo. */
		(void)pawl_txn_rollback_to(t, &(struct pawl_error){ 0 });
		return rc;
	}
	if ((rc = pawl_txn_begin(t, err)) != PAWL_OK)
		return rc;
	if ((rc = fn(ctx, err)) != PAWL_OK) {
		pawl_txn_abort(t);
		return rc;
	}
	return pawl_txn_commit(t, err);
}

enum pawl_err pawl_txn_stage(struct pawl_txn *t, const struct pawl_stage_op *op,
    struct pawl_error *err)
{
	if (t->stage == NULL && (t->stage = pawl_stage_new(t->arena)) == NULL)
		return pawl_error_nomem(err);
	return pawl_stage_add(t->stage, op, err);
}

bool pawl_txn_has_events(const struct pawl_txn *t)
{
	const struct pawl_txn_done *d;

	for (d = t->done; d != NULL; d = d->next)
		if (pawl_stage_count(d->stage) > 0)
			return true;
	return t->stage != NULL && pawl_stage_mark(t->stage) > 0;
}

/* One committed (or read) stage: subscribers, then the listeners' delivery. */
static void publish_stage(struct pawl_txn *t, struct pawl_stage *st)
{
	const struct pawl_txn_env *env = &t->env;
	struct pawl_error err;

	if (pawl_stage_count(st) == 0)
		return;
	pawl_subscribers_dispatch(env->subscribers, st);
	if (env->listeners == NULL)
		return;
	/* Reads wrote no outbox rows in a transaction: they get theirs now (a no-op otherwise). */
	if (pawl_listener_set_stage_outbox(env->listeners, env->pg, t->arena, st, &err) != PAWL_OK)
		pawl_log_warn("read events not queued: %s", err.message);
	if (env->relay_wake_fd >= 0)
		pawl_relay_wake(env->listeners, st, env->relay_wake_fd);
	else
		pawl_relay_after_commit(env->listeners, env->pg, t->arena, st);
}

void pawl_txn_publish(struct pawl_txn *t)
{
	struct pawl_txn_done *d;
	struct pawl_error err;

	if (t->open) {
		pawl_log_error("a transaction was left open by the request: rolled back");
		pawl_txn_abort(t);
	}
	for (d = t->done; d != NULL; d = d->next)
		publish_stage(t, d->stage);
	if (t->stage != NULL && pawl_stage_seal(t->stage, &err) == PAWL_OK) {
		/* A read's events: staged now, with no transaction of their own. */
		pawl_listener_set_count_staged(t->env.listeners, t->stage);
		publish_stage(t, t->stage);
	}
	t->stage = NULL;
	t->done = t->last = NULL;
}
