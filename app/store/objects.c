/*
 * Object rows and list timestamps. Every statement is parameterised; the
 * object's served JSON is assembled by PostgreSQL (data || id, last_modified)
 * so reads return text that needs no reshaping. Never opens or ends a
 * transaction: the handler owns it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/objects.h"
#include "store/pg.h"

#define NOW_MS "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"
#define MAX_TS "9007199254740992"

/*
 * The list timestamp's next value: GREATEST(now or the client's floor,
 * previous + 1). A previous value beyond 2^53 can only come from an older
 * version that took any client value (sql/0007 repairs those): the "+ 1"
 * would then overflow at 2^63 - 1 and wedge the list, so the count resumes
 * after the list's last sane object timestamp instead.
 */
#define BUMP_SQL \
	"INSERT INTO timestamps AS t (parent_id, resource_name, last_modified) " \
	"VALUES ($1, $2, GREATEST(" NOW_MS ", $3::bigint)) " \
	"ON CONFLICT (parent_id, resource_name) DO UPDATE " \
	"SET last_modified = CASE WHEN t.last_modified < " MAX_TS " " \
	"THEN GREATEST(EXCLUDED.last_modified, t.last_modified + 1) " \
	"ELSE GREATEST(EXCLUDED.last_modified, (SELECT coalesce(max(o.last_modified), 0) + 1 " \
	"FROM objects o WHERE o.parent_id = $1 AND o.resource_name = $2 " \
	"AND o.last_modified < " MAX_TS ")) END " \
	"RETURNING last_modified"

static void fill(const struct pg_result *res, int row, const char *id, struct pawl_object *out)
{
	out->id = id;
	out->data = pawl_pg_value(res, row, 0);
	out->last_modified = strtoll(pawl_pg_value(res, row, 1), NULL, 10);
	out->deleted = pawl_pg_value(res, row, 2)[0] == 't';
}

enum pawl_err pawl_objects_get(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_store_item *it, struct pawl_object *out, bool *found,
    struct pawl_error *err)
{
	const struct pawl_list_key *key = it->key;
	const char *id = it->id;
	bool for_update = it->lock;
	const char *params[] = { key->parent_id, key->resource_name, id };
	struct pg_result *res;
	enum pawl_err rc;

	rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){ for_update ?
	    "SELECT data::text, last_modified, deleted FROM objects "
	    "WHERE parent_id = $1 AND resource_name = $2 AND id = $3 FOR UPDATE" :
	    "SELECT data::text, last_modified, deleted FROM objects "
	    "WHERE parent_id = $1 AND resource_name = $2 AND id = $3",
	    3, params, 0 }, &res, err);
	if (rc != PAWL_OK)
		return rc;
	*found = pawl_pg_rows(res) == 1;
	if (*found)
		fill(res, 0, id, out);
	return PAWL_OK;
}

#define EXISTS_SQL "SELECT 1 FROM objects WHERE parent_id = $1 " \
	"AND resource_name = $2 AND id = $3 AND NOT deleted"

enum pawl_err pawl_objects_exists_defer(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *key, const char *id, struct pawl_pg_slot *slot,
    struct pawl_error *err)
{
	const char *params[] = { key->parent_id, key->resource_name, id };

	return pawl_pg_defer_result(pg, arena, &(struct pawl_pg_stmt){
	    EXISTS_SQL, 3, params, 0 }, slot, err);
}

bool pawl_objects_exists_in(const struct pawl_pg_slot *slot)
{
	return slot->res != NULL && pawl_pg_rows(slot->res) == 1;
}

enum pawl_err pawl_objects_exists(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *key, const char *id, bool *exists, struct pawl_error *err)
{
	const char *params[] = { key->parent_id, key->resource_name, id };
	struct pg_result *res;
	enum pawl_err rc;

	rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){ EXISTS_SQL, 3, params, 0 }, &res, err);
	if (rc == PAWL_OK)
		*exists = pawl_pg_rows(res) == 1;
	return rc;
}

enum pawl_err pawl_objects_bump(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *key, long long at_least, long long *ts,
    struct pawl_error *err)
{
	char floor[24];
	const char *params[] = { key->parent_id, key->resource_name, floor };
	struct pg_result *res;
	enum pawl_err rc;

	snprintf(floor, sizeof(floor), "%lld", at_least);
	rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){ BUMP_SQL, 3, params, 0 }, &res, err);
	if (rc == PAWL_OK)
		*ts = strtoll(pawl_pg_value(res, 0, 0), NULL, 10);
	return rc;
}

enum pawl_err pawl_objects_lock_list(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *key, struct pawl_error *err)
{
	const char *params[] = { key->parent_id, key->resource_name };

	/* Class 1: list writers (the outbox's delivery locks use class 2). */
	return pawl_pg_defer(pg, arena, "SELECT pg_advisory_xact_lock(1, hashtext($1 || ' ' || $2))",
	    2, params, err);
}

enum pawl_err pawl_objects_lock_lists(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *keys, size_t n, struct pawl_error *err)
{
	const char **names = pawl_arena_calloc(arena, n ? n : 1, sizeof(*names));
	const char *params[1];
	size_t i;

	if (names == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < n; i++)
		if ((names[i] = pawl_arena_printf(arena, "%s %s", keys[i].parent_id,
		    keys[i].resource_name)) == NULL)
			return pawl_error_nomem(err);
	if ((params[0] = pawl_pg_text_array(arena, names, n)) == NULL)
		return pawl_error_nomem(err);
	/* The same class and numbers as pawl_objects_lock_list, in ascending order. */
	return pawl_pg_defer(pg, arena, "SELECT pg_advisory_xact_lock(1, h) FROM "
	    "(SELECT DISTINCT hashtext(k) AS h FROM unnest($1::text[]) AS k ORDER BY h) AS s",
	    1, params, err);
}

enum pawl_err pawl_objects_lock_object(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *key, const char *id, struct pawl_error *err)
{
	const char *params[] = { key->parent_id, key->resource_name, id };

	/* Class 1 shared with list writers, class 3 for objects (2 is the outbox's). */
	return pawl_pg_defer(pg, arena,
	    "SELECT pg_advisory_xact_lock_shared(1, hashtext($1 || ' ' || $2)), "
	    "pg_advisory_xact_lock(3, hashtext($1 || ' ' || $2 || ' ' || $3))", 3, params, err);
}

enum pawl_err pawl_objects_list_timestamp(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *key, bool readonly, long long *ts, struct pawl_error *err)
{
	const char *params[] = { key->parent_id, key->resource_name };
	struct pg_result *res;
	enum pawl_err rc;

	rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){ "SELECT last_modified FROM timestamps "
	    "WHERE parent_id = $1 AND resource_name = $2", 2, params, 0 }, &res, err);
	if (rc != PAWL_OK)
		return rc;
	if (pawl_pg_rows(res) == 1) {
		*ts = strtoll(pawl_pg_value(res, 0, 0), NULL, 10);
		return PAWL_OK;
	}
	/*
	 * No row: nothing was ever written to this list (rows are never
	 * deleted), and no writable host has listed it. A read-only head cannot
	 * store one; it answers the empty list with timestamp 0 rather than
	 * Kinto's 503: every later write gets a larger timestamp, so a client
	 * polling _since=0 misses nothing, and the answer comes after the same
	 * authorization as any list's (a 503 before it told strangers which
	 * lists were never used).
	 */
	if (readonly) {
		*ts = 0;
		return PAWL_OK;
	}
	/* Stored once, so an empty list keeps one ETag until it changes. */
	rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "WITH ins AS (INSERT INTO timestamps (parent_id, resource_name, last_modified) "
	    "VALUES ($1, $2, " NOW_MS ") ON CONFLICT DO NOTHING RETURNING last_modified) "
	    "SELECT last_modified FROM ins UNION ALL "
	    "SELECT last_modified FROM timestamps WHERE parent_id = $1 AND resource_name = $2",
	    2, params, 0 }, &res, err);
	if (rc != PAWL_OK)
		return rc;
	if (pawl_pg_rows(res) < 1)
		return pawl_error_set(err, PAWL_ERR_INTERNAL, "list timestamp vanished");
	*ts = strtoll(pawl_pg_value(res, 0, 0), NULL, 10);
	return PAWL_OK;
}

enum pawl_err pawl_objects_put(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_store_item *it, struct pawl_object *out, struct pawl_error *err)
{
	const struct pawl_list_key *key = it->key;
	const char *id = it->id, *data = it->data;
	long long at_least = it->ts;
	char floor[24];
	const char *params[] = { key->parent_id, key->resource_name, floor, id, data };
	struct pg_result *res;
	enum pawl_err rc;

	snprintf(floor, sizeof(floor), "%lld", at_least);
	/* One round trip fewer than bump + upsert; the CTE's INSERT runs exactly once. */
	rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "WITH ts AS (" BUMP_SQL ") "
	    "INSERT INTO objects (parent_id, resource_name, id, last_modified, deleted, data) "
	    "SELECT $1, $2, $4, ts.last_modified, false, $5::jsonb || "
	    "jsonb_build_object('id', $4::text, 'last_modified', ts.last_modified) FROM ts "
	    "ON CONFLICT (parent_id, resource_name, id) DO UPDATE SET "
	    "last_modified = EXCLUDED.last_modified, deleted = false, data = EXCLUDED.data "
	    "RETURNING data::text, last_modified, deleted", 5, params, 0 }, &res, err);
	if (rc == PAWL_OK)
		fill(res, 0, id, out);
	return rc;
}

enum pawl_err pawl_objects_delete(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_store_item *it, struct pawl_object *out, struct pawl_error *err)
{
	const struct pawl_list_key *key = it->key;
	const char *id = it->id;
	long long ts = it->ts;
	char tsbuf[24];
	const char *params[] = { key->parent_id, key->resource_name, id, tsbuf };
	struct pg_result *res;
	enum pawl_err rc;

	snprintf(tsbuf, sizeof(tsbuf), "%lld", ts);
	rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "UPDATE objects SET deleted = true, last_modified = $4::bigint, "
	    "data = jsonb_build_object('id', id, 'last_modified', $4::bigint, 'deleted', true) "
	    "WHERE parent_id = $1 AND resource_name = $2 AND id = $3 "
	    "RETURNING data::text, last_modified, deleted", 4, params, 0 }, &res, err);
	if (rc != PAWL_OK)
		return rc;
	if (pawl_pg_rows(res) != 1)
		return pawl_error_set(err, PAWL_ERR_NO_OBJECT, "object vanished");
	fill(res, 0, id, out);
	return PAWL_OK;
}

/*
 * The cascade of a delete, in one statement: every live object below uri
 * becomes a tombstone, so `_since` on a list re-created under the same URL
 * shows what went. Each list's tombstones get fresh timestamps above the
 * list's last one (in their former order) and the list timestamp follows;
 * timestamps rows are never deleted, so a list re-created under the same
 * URL continues above every timestamp it ever served (README, "Events").
 * The live rows are locked first (a concurrent update is waited for and its
 * newest version taken) and then updated by ctid: a plan that stays one TID
 * lookup per row whatever the table's statistics say.
 * '0' follows '/' in byte order: [uri/, uri0) is exactly the subtree.
 * History entries are no children: a deleted bucket's history is dropped
 * with the delete's COMMIT (events/history.c), never turned into tombstones.
 */
#define CASCADE_SQL \
	"WITH live AS (SELECT ctid AS tid, parent_id, resource_name, last_modified FROM objects " \
	"WHERE (parent_id = $1 OR (parent_id >= $1 || '/' AND parent_id < $1 || '0')) " \
	"AND NOT deleted AND resource_name <> 'history' FOR UPDATE), " \
	"gone AS (SELECT tid, parent_id, resource_name, " \
	"row_number() OVER (PARTITION BY parent_id, resource_name ORDER BY last_modified) AS n, " \
	"count(*) OVER (PARTITION BY parent_id, resource_name) AS c FROM live), " \
	"lists AS (SELECT parent_id, resource_name, max(c) AS c FROM gone GROUP BY 1, 2), " \
	"clock AS (SELECT " NOW_MS " AS ms), " \
	"ts AS (INSERT INTO timestamps AS t (parent_id, resource_name, last_modified) " \
	"SELECT l.parent_id, l.resource_name, clock.ms + l.c - 1 FROM lists l, clock " \
	"ON CONFLICT (parent_id, resource_name) DO UPDATE SET last_modified = " \
	"GREATEST(EXCLUDED.last_modified, t.last_modified + (SELECT l.c FROM lists l " \
	"WHERE l.parent_id = t.parent_id AND l.resource_name = t.resource_name)) " \
	"RETURNING parent_id, resource_name, last_modified), " \
	"tomb AS (UPDATE objects o SET deleted = true, " \
	"last_modified = ts.last_modified - g.c + g.n, " \
	"data = jsonb_build_object('id', o.id, 'last_modified', ts.last_modified - g.c + g.n, " \
	"'deleted', true) " \
	"FROM gone g JOIN ts ON ts.parent_id = g.parent_id AND ts.resource_name = g.resource_name " \
	"WHERE o.ctid = g.tid RETURNING o.resource_name) " \
	"SELECT resource_name, count(*) FROM tomb GROUP BY 1 ORDER BY 1"

enum pawl_err pawl_objects_delete_children(struct pawl_pg *pg, struct pawl_arena *arena,
    const char *uri, struct pawl_cascade *out, struct pawl_error *err)
{
	const char *params[] = { uri };
	struct pg_result *res;
	enum pawl_err rc;
	int i;

	memset(out, 0, sizeof(*out));
	if ((rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    CASCADE_SQL, 1, params, 0 }, &res, err)) != PAWL_OK)
		return rc;
	for (i = 0; i < pawl_pg_rows(res) && out->n < PAWL_CASCADE_KINDS; i++) {
		out->kinds[out->n].resource_name = pawl_pg_value(res, i, 0);
		out->kinds[out->n].count = strtoll(pawl_pg_value(res, i, 1), NULL, 10);
		out->n++;
	}
	return PAWL_OK;
}
