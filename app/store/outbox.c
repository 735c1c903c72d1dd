/*
 * Outbox rows. Writes are one INSERT from arrays; delivery takes a list's
 * rows with DELETE ... RETURNING under pg_try_advisory_xact_lock, so the rows
 * come back if the push fails and two deliverers never interleave one list.
 */
#include <stdio.h>
#include <stdlib.h>

#include "store/outbox.h"
#include "store/pg.h"

enum pawl_err pawl_outbox_write(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_outbox_rows *rows, struct pawl_error *err)
{
	const char *params[3];

	if (rows->n == 0)
		return PAWL_OK;
	params[0] = pawl_pg_text_array(arena, rows->listeners, rows->n);
	params[1] = pawl_pg_text_array(arena, rows->list_keys, rows->n);
	params[2] = pawl_pg_text_array(arena, rows->payloads, rows->n);
	if (params[0] == NULL || params[1] == NULL || params[2] == NULL)
		return pawl_error_nomem(err);
	/* WITH ORDINALITY keeps the staging order in the id sequence. */
	/* Inside a write transaction it travels with the COMMIT. */
	return pawl_pg_defer(pg, arena, "INSERT INTO outbox (listener, list_key, payload) "
	    "SELECT l, k, p FROM unnest($1::text[], $2::text[], $3::text[]) "
	    "WITH ORDINALITY AS t(l, k, p, o) ORDER BY o", 3, params, err);
}

enum pawl_err pawl_outbox_barrier(struct pawl_pg *pg, struct pawl_arena *arena,
    const char **snapshot, struct pawl_error *err)
{
	struct pg_result *res;
	enum pawl_err rc;

	/*
	 * A synchronous commit that writes WAL (the logical message; see the
	 * barrier in pg.c): it returns once everything before it is on disk.
	 */
	rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){ "SELECT pg_current_snapshot()::text, "
	    "pg_logical_emit_message(true, 'pawl.barrier', '')", 0, NULL, 0 }, &res, err);
	if (rc == PAWL_OK)
		*snapshot = pawl_pg_value(res, 0, 0);
	return rc;
}

enum pawl_err pawl_outbox_take(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_outbox_due *due, struct pawl_outbox_batch *out, struct pawl_error *err)
{
	char lim[16];
	const char *params[] = { due->listener, due->list_key, lim, due->snapshot };
	struct pg_result *res;
	enum pawl_err rc;
	int i, rows;

	snprintf(lim, sizeof(lim), "%d", due->limit);
	out->n = 0;
	out->locked = 0;
	out->listeners = NULL;
	out->list_keys = NULL;
	rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    /*
	     * The delivery's COMMIT need not wait for the disk: if it is lost in a
	     * crash, the rows come back and are pushed again (at least once).
	     */
	    "WITH lock AS (SELECT pg_try_advisory_xact_lock(2, hashtext($1 || ' ' || $2)) AS ok, "
	    "set_config('synchronous_commit', 'off', true) AS async), "
	    "taken AS (DELETE FROM outbox WHERE id IN (SELECT id FROM outbox, lock "
	    "WHERE lock.ok AND listener = $1 AND list_key = $2 "
	    "AND pg_visible_in_snapshot(xid, $4::pg_snapshot) ORDER BY id LIMIT $3::integer) "
	    "RETURNING id, payload, extract(epoch FROM clock_timestamp() - created_at)::float8 "
	    "AS age) "
	    "SELECT (SELECT ok FROM lock), id, payload, age FROM taken RIGHT JOIN lock ON true "
	    "ORDER BY id", 4, params, 0 }, &res, err);
	if (rc != PAWL_OK)
		return rc;
	rows = pawl_pg_rows(res);
	out->ids = pawl_arena_calloc(arena, (size_t)rows + 1, sizeof(*out->ids));
	out->payloads = pawl_arena_calloc(arena, (size_t)rows + 1, sizeof(*out->payloads));
	out->list_keys = pawl_arena_calloc(arena, (size_t)rows + 1, sizeof(*out->list_keys));
	out->ages = pawl_arena_calloc(arena, (size_t)rows + 1, sizeof(*out->ages));
	if (out->ids == NULL || out->payloads == NULL || out->list_keys == NULL || out->ages == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < rows; i++) {
		out->locked = pawl_pg_value(res, i, 0)[0] == 't';
		if (pawl_pg_is_null(res, i, 1))
			continue;
		out->ids[out->n] = strtoll(pawl_pg_value(res, i, 1), NULL, 10);
		out->payloads[out->n] = pawl_pg_value(res, i, 2);
		out->list_keys[out->n] = due->list_key;
		out->ages[out->n] = strtod(pawl_pg_value(res, i, 3), NULL);
		out->n++;
	}
	return PAWL_OK;
}

enum pawl_err pawl_outbox_take_all(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_outbox_due *due, struct pawl_outbox_batch *out, struct pawl_error *err)
{
	char lim[16];
	const char *params[] = { pawl_pg_text_array(arena, due->listeners, due->n_listeners),
	    due->snapshot, lim };
	struct pg_result *res;
	enum pawl_err rc;
	int i, rows;

	if (params[0] == NULL)
		return pawl_error_nomem(err);
	snprintf(lim, sizeof(lim), "%d", due->limit);
	out->n = 0;
	out->locked = 1;
	/*
	 * Every list with rows ready, each under its delivery lock (lists another
	 * process is delivering are skipped, for the next pass), the oldest rows
	 * first: one statement a pass, however many lists the writes touched.
	 * The COMMIT need not wait for the disk: a lost DELETE means a re-push.
	 */
	rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "WITH async AS (SELECT set_config('synchronous_commit', 'off', true)), "
	    /* The oldest ready rows, walking the primary key: no scan of the whole table. */
	    "cand AS MATERIALIZED (SELECT id, listener, list_key FROM outbox "
	    "WHERE listener = ANY($1::text[]) AND pg_visible_in_snapshot(xid, $2::pg_snapshot) "
	    "ORDER BY id LIMIT $3::integer), "
	    "locked AS MATERIALIZED (SELECT d.listener, d.list_key FROM "
	    "(SELECT DISTINCT listener, list_key FROM cand) d, async "
	    "WHERE pg_try_advisory_xact_lock(2, hashtext(d.listener || ' ' || d.list_key))), "
	    "taken AS (DELETE FROM outbox o USING cand c JOIN locked l "
	    "ON c.listener = l.listener AND c.list_key = l.list_key WHERE o.id = c.id "
	    "RETURNING o.id, o.listener, o.payload, o.list_key, "
	    "extract(epoch FROM clock_timestamp() - o.created_at)::float8 AS age) "
	    "SELECT id, listener, payload, list_key, age FROM taken ORDER BY id", 3, params, 0 },
	    &res, err);
	if (rc != PAWL_OK)
		return rc;
	rows = pawl_pg_rows(res);
	out->ids = pawl_arena_calloc(arena, (size_t)rows + 1, sizeof(*out->ids));
	out->listeners = pawl_arena_calloc(arena, (size_t)rows + 1, sizeof(*out->listeners));
	out->payloads = pawl_arena_calloc(arena, (size_t)rows + 1, sizeof(*out->payloads));
	out->list_keys = pawl_arena_calloc(arena, (size_t)rows + 1, sizeof(*out->list_keys));
	out->ages = pawl_arena_calloc(arena, (size_t)rows + 1, sizeof(*out->ages));
	if (out->ids == NULL || out->listeners == NULL || out->payloads == NULL ||
	    out->list_keys == NULL || out->ages == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < rows; i++) {
		out->ids[i] = strtoll(pawl_pg_value(res, i, 0), NULL, 10);
		out->listeners[i] = pawl_pg_value(res, i, 1);
		out->payloads[i] = pawl_pg_value(res, i, 2);
		out->list_keys[i] = pawl_pg_value(res, i, 3);
		out->ages[i] = strtod(pawl_pg_value(res, i, 4), NULL);
	}
	out->n = (size_t)rows;
	return PAWL_OK;
}

enum pawl_err pawl_outbox_any(struct pawl_pg *pg, struct pawl_arena *arena,
    const char *const *listeners, size_t n_listeners, bool *any, struct pawl_error *err)
{
	const char *params[] = { pawl_pg_text_array(arena, listeners, n_listeners) };
	struct pg_result *res;
	enum pawl_err rc;

	*any = false;
	if (params[0] == NULL)
		return pawl_error_nomem(err);
	rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){ "SELECT EXISTS (SELECT 1 FROM outbox "
	    "WHERE listener = ANY($1::text[]))", 1, params, 0 }, &res, err);
	if (rc == PAWL_OK)
		*any = pawl_pg_value(res, 0, 0)[0] == 't';
	return rc;
}

enum pawl_err pawl_outbox_vacuum(struct pawl_pg *pg, struct pawl_error *err)
{
	/* A utility statement: not preparable, so through the simple protocol. */
	return pawl_pg_exec_script(pg, "VACUUM (SKIP_LOCKED) outbox", err);
}

enum pawl_err pawl_outbox_stats(struct pawl_pg *pg, struct pawl_arena *arena, int timeout_ms,
    long long *pending, double *oldest_seconds, struct pawl_error *err)
{
	struct pg_result *res;
	enum pawl_err rc;

	rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "SELECT count(*), coalesce(extract(epoch FROM "
	    "clock_timestamp() - min(created_at)), 0) FROM outbox", 0, NULL, timeout_ms },
	    &res, err);
	if (rc != PAWL_OK)
		return rc;
	*pending = strtoll(pawl_pg_value(res, 0, 0), NULL, 10);
	*oldest_seconds = strtod(pawl_pg_value(res, 0, 1), NULL);
	return PAWL_OK;
}

enum pawl_err pawl_outbox_oldest_age(struct pawl_pg *pg, struct pawl_arena *arena, int timeout_ms,
    double *age_seconds, struct pawl_error *err)
{
	struct pg_result *res;
	enum pawl_err rc;

	*age_seconds = -1;
	rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "SELECT extract(epoch FROM clock_timestamp() - created_at) FROM outbox "
	    "ORDER BY id LIMIT 1", 0, NULL, timeout_ms }, &res, err);
	if (rc == PAWL_OK && pawl_pg_rows(res) > 0)
		*age_seconds = strtod(pawl_pg_value(res, 0, 0), NULL);
	return rc;
}

enum pawl_err pawl_outbox_wake(struct pawl_pg *pg, struct pawl_arena *arena, struct pawl_error *err)
{
	return pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "NOTIFY pawl_outbox", 0, NULL, 0 }, NULL, err);
}
