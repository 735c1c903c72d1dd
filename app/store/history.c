/*
 * History entries in SQL. The INSERT builds each entry's JSON in
 * PostgreSQL (id, last_modified, date, target) so the ACL it reads is the
 * one the transaction leaves, and numbers each bucket's entries from one
 * bump of the bucket's history timestamp (the list stays strictly
 * increasing in commit order, as every list). Never opens a request's
 * transaction; the trimming statements run on their own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/history.h"
#include "store/pg.h"
#include "core/clock.h"

#define NOW_MS "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

/*
 * Two entries or more (a batch, a plural DELETE, entries in several
 * buckets; one entry takes ONE_SQL below, which writes the same entry).
 * e: the rows in order; g: each row's rank k among its bucket's c rows;
 * hid: each entry's id (in g's select list: one per row, never an initplan's one);
 * ts: one bump per bucket by c (buckets in order: two writers never wait on
 * each other's rows crosswise); the entry of rank k gets ts - c + k.
 */
#define INSERT_SQL \
	"WITH e AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], " \
	"$5::text[]) WITH ORDINALITY AS e(bucket, coll, uri, attrs, target, n)), " \
	"g AS (SELECT e.*, gen_random_uuid()::text AS hid, row_number() OVER (PARTITION BY bucket ORDER BY n) AS k, " \
	"count(*) OVER (PARTITION BY bucket) AS c FROM e), " \
	"lists AS (SELECT bucket, max(c) AS c FROM g GROUP BY 1), " \
	"ts AS (INSERT INTO timestamps AS t (parent_id, resource_name, last_modified) " \
	"SELECT l.bucket, 'history', " NOW_MS " + l.c - 1 FROM lists l ORDER BY l.bucket " \
	"ON CONFLICT (parent_id, resource_name) DO UPDATE SET last_modified = " \
	"GREATEST(EXCLUDED.last_modified, t.last_modified + (SELECT l.c FROM lists l " \
	"WHERE l.bucket = t.parent_id)) RETURNING parent_id, last_modified) " \
	"INSERT INTO objects (parent_id, resource_name, id, last_modified, data, history_readers) " \
	"SELECT g.bucket, 'history', g.hid, ts.last_modified - g.c + g.k, " \
	"g.attrs::jsonb || jsonb_build_object('id', g.hid, " \
	"'last_modified', ts.last_modified - g.c + g.k, " \
	"'date', to_char(clock_timestamp() AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00', " \
	"'target', jsonb_build_object('data', g.target::jsonb, " \
	"'permissions', coalesce(p.perms, '{}'::jsonb))), " \
	"ARRAY(SELECT DISTINCT g.bucket || ' ' || a.principal FROM access_control_entries a " \
	"WHERE a.object_id IN (g.bucket, g.coll, g.uri) AND a.permission IN ('read', 'write') " \
	"ORDER BY 1) " \
	"FROM g JOIN ts ON ts.parent_id = g.bucket " \
	"LEFT JOIN LATERAL (SELECT jsonb_object_agg(q.permission, q.ps) AS perms FROM " \
	"(SELECT permission, jsonb_agg(principal ORDER BY principal) AS ps " \
	"FROM access_control_entries WHERE object_id = g.uri GROUP BY permission) q) p ON true"

/*
 * The common transaction, one entry (a POST, PUT, PATCH or DELETE of one
 * object): INSERT_SQL's entry, in the statement that runs while the list's
 * writers wait for this one's COMMIT, so without arrays to unnest, window
 * functions, grouping nor sorts of rows, and with the ACEs of the bucket, the
 * collection and the object read in one index scan (a: materialised, read
 * twice) feeding both target.permissions (the object's) and the readers (the
 * read and write principals of the three). Read in this transaction's
 * statement, as INSERT_SQL's: the ACL it commits, the object's own included.
 * h: the entry's id, one value for the row and its JSON.
 * $1 bucket URI, $2 collection URI ("" when none), $3 object URI, $4 attrs, $5 target.
 */
#define ONE_SQL \
	"WITH ts AS (INSERT INTO timestamps AS t (parent_id, resource_name, last_modified) " \
	"VALUES ($1::text, 'history', " NOW_MS ") ON CONFLICT (parent_id, resource_name) " \
	"DO UPDATE SET last_modified = GREATEST(EXCLUDED.last_modified, t.last_modified + 1) " \
	"RETURNING last_modified AS lm), " \
	"a AS (SELECT object_id, permission, principal FROM access_control_entries " \
	"WHERE object_id IN ($1::text, $2::text, $3::text)), " \
	"h AS (SELECT gen_random_uuid()::text AS hid) " \
	"INSERT INTO objects (parent_id, resource_name, id, last_modified, data, history_readers) " \
	"SELECT $1::text, 'history', h.hid, ts.lm, $4::jsonb || jsonb_build_object('id', h.hid, " \
	"'last_modified', ts.lm, " \
	"'date', to_char(clock_timestamp() AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.US') || '+00:00', " \
	"'target', jsonb_build_object('data', $5::jsonb, " \
	"'permissions', coalesce((SELECT jsonb_object_agg(q.permission, q.ps) FROM " \
	"(SELECT permission, jsonb_agg(principal ORDER BY principal) AS ps FROM a " \
	"WHERE a.object_id = $3::text GROUP BY permission) q), '{}'::jsonb))), " \
	"ARRAY(SELECT DISTINCT $1::text || ' ' || a.principal FROM a " \
	"WHERE a.permission IN ('read', 'write') ORDER BY 1) " \
	"FROM ts, h"

static enum pawl_err insert_one(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_history_rows *rows, struct pawl_error *err)
{
	const char *params[5] = { rows->buckets[0], rows->collections[0], rows->uris[0],
	    rows->attrs[0], rows->targets[0] };

	return pawl_pg_defer(pg, arena, ONE_SQL, 5, params, err);
}

enum pawl_err pawl_history_insert(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_history_rows *rows, struct pawl_error *err)
{
	const char *params[5];

	if (rows->n == 0)
		return PAWL_OK;
	if (rows->n == 1)
		return insert_one(pg, arena, rows, err);
	params[0] = pawl_pg_text_array(arena, rows->buckets, rows->n);
	params[1] = pawl_pg_text_array(arena, rows->collections, rows->n);
	params[2] = pawl_pg_text_array(arena, rows->uris, rows->n);
	params[3] = pawl_pg_text_array(arena, rows->attrs, rows->n);
	params[4] = pawl_pg_text_array(arena, rows->targets, rows->n);
	for (size_t i = 0; i < 5; i++)
		if (params[i] == NULL)
			return pawl_error_nomem(err);
	return pawl_pg_defer(pg, arena, INSERT_SQL, 5, params, err);
}

enum pawl_err pawl_history_drop(struct pawl_pg *pg, struct pawl_arena *arena,
    const char *const *bucket_uris, size_t n, struct pawl_error *err)
{
	const char *param;

	if (n == 0)
		return PAWL_OK;
	if ((param = pawl_pg_text_array(arena, bucket_uris, n)) == NULL)
		return pawl_error_nomem(err);
	return pawl_pg_defer(pg, arena, "DELETE FROM objects WHERE parent_id = ANY($1::text[]) "
	    "AND resource_name = 'history'", 1, &param, err);
}

/*
 * The next buckets of the round (their history timestamps rows: one per
 * bucket that ever had history, holding its newest entry's timestamp), and
 * in each the entries to go: older than the age cut, and, in a bucket written
 * to since the previous round began (an idle bucket cannot have grown), those
 * past the newest max_per_bucket (found by the list index: at most that many
 * index entries read). Up to batch entries removed, oldest first.
 * $1 cursor, $2 buckets, $3 max_per_bucket, $4 batch, $5 since, $6 max_age_ms.
 */
#define TRIM_SQL \
	"WITH b AS (SELECT parent_id, last_modified FROM timestamps " \
	"WHERE resource_name = 'history' AND parent_id > $1 " \
	"AND ($6::bigint > 0 OR last_modified >= $5::bigint) ORDER BY parent_id LIMIT $2::bigint), " \
	"cut AS (SELECT b.parent_id, GREATEST(" \
	"CASE WHEN $3::bigint > 0 AND b.last_modified >= $5::bigint THEN " \
	"(SELECT o.last_modified FROM objects o WHERE o.parent_id = b.parent_id " \
	"AND o.resource_name = 'history' ORDER BY o.last_modified DESC " \
	"OFFSET $3::bigint LIMIT 1) END, " \
	"CASE WHEN $6::bigint > 0 THEN " NOW_MS " - $6::bigint - 1 END) AS lm FROM b), " \
	"old AS (SELECT o.ctid FROM objects o JOIN cut ON o.parent_id = cut.parent_id " \
	"WHERE o.resource_name = 'history' AND o.last_modified <= cut.lm " \
	"ORDER BY o.last_modified LIMIT $4::bigint), " \
	"gone AS (DELETE FROM objects WHERE ctid IN (SELECT ctid FROM old) RETURNING 1) " \
	"SELECT (SELECT count(*) FROM gone), (SELECT max(parent_id) FROM b), " \
	"(SELECT count(*) FROM b)"

enum pawl_err pawl_history_trim_pass(struct pawl_pg *pg, struct pawl_arena *arena,
    struct pawl_history_trim *t, struct pawl_error *err)
{
	const char *params[6];
	struct pg_result *res;
	enum pawl_err rc;
	long long n, seen;

	t->removed = 0;
	t->more = false;
	if (t->batch <= 0)
		t->batch = 1000;
	if (t->buckets <= 0)
		t->buckets = 50;
	if (t->max_age_ms <= 0 && t->max_per_bucket <= 0)
		return PAWL_OK;
	/* A round begins: what changed since the previous one began is counted. */
	if (t->cursor[0] == '\0') {
		t->since_ms = t->round_start_ms > 0 ? t->round_start_ms - 60000 : 0;
		t->round_start_ms = pawl_clock_wall_ms();
	}
	params[0] = t->cursor;
	params[1] = pawl_arena_printf(arena, "%lld", t->buckets);
	params[2] = pawl_arena_printf(arena, "%lld", t->max_per_bucket);
	params[3] = pawl_arena_printf(arena, "%lld", t->batch);
	params[4] = pawl_arena_printf(arena, "%lld", t->since_ms);
	params[5] = pawl_arena_printf(arena, "%lld", t->max_age_ms);
	for (size_t i = 1; i < 6; i++)
		if (params[i] == NULL)
			return pawl_error_nomem(err);
	if ((rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    TRIM_SQL, 6, params, 0 }, &res, err)) != PAWL_OK)
		return rc;
	n = strtoll(pawl_pg_value(res, 0, 0), NULL, 10);
	seen = strtoll(pawl_pg_value(res, 0, 2), NULL, 10);
	t->removed = n;
	/* A full batch: the same buckets again; past the last bucket: the round is over. */
	if (n == t->batch)
		t->more = true;
	else if (seen < t->buckets)
		t->cursor[0] = '\0';
	else
		snprintf(t->cursor, sizeof(t->cursor), "%s", pawl_pg_value(res, 0, 1));
	return PAWL_OK;
}
