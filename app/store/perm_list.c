/*
 * The permissions endpoint's statement (store/perm_list.h). Cost: the
 * caller's ACEs (through the principal index) and their groups, one primary
 * key probe per object URI to keep only live objects, and, when a
 * `<kind>_<perm>_principals` setting names the caller, the live objects of
 * that kind (a range of the primary key for buckets, a scan for the kinds
 * below them). Filters, sort and page come after, on the computed entries:
 * a page costs what the caller's whole list costs, which Kinto's in-memory
 * list does too.
 */
#include <stdlib.h>
#include <string.h>

#include "store/acl.h"
#include "store/list_query.h"
#include "store/perm_list.h"

/*
 * $1 principals; $2-$6 kinds (name, segment, depth, keys, at); $7-$9
 * implied (name, perm, implied); $10-$13 everywhere (name, segment, perm,
 * top); $14 root. held: (uri, perm) pairs granted; found: those URIs that
 * name a live object of a known kind (by the last two segments and the
 * count, then the object's primary key: two kinds alike in both never share
 * a parent), with their ids; shown: the permissions once expanded. String
 * functions, not regular expressions: measured at a third of the time.
 */
static const char with_sql[] =
	"WITH held(uri, perm) AS ("
	"SELECT a.object_id, a.permission FROM access_control_entries a "
	"WHERE a.principal = ANY" PAWL_ACL_EXPANDED(1) " "
	"UNION SELECT '/' || g.seg || '/' || o.id, g.perm "
	"FROM unnest($10::text[], $11::text[], $12::text[], $13::text[]) g(name, seg, perm, top) "
	"JOIN objects o ON o.parent_id = '' AND o.resource_name = g.name "
	"WHERE g.top = 't' AND NOT o.deleted "
	"UNION SELECT o.parent_id || '/' || g.seg || '/' || o.id, g.perm "
	"FROM unnest($10::text[], $11::text[], $12::text[], $13::text[]) g(name, seg, perm, top) "
	"JOIN objects o ON o.resource_name = g.name WHERE g.top = 'f' AND NOT o.deleted), "
	"found(uri, name, md, oid) AS ("
	"SELECT h.uri, k.name, jsonb_object(string_to_array(k.keys, ','), "
	"ARRAY(SELECT h.parts[p::int] FROM unnest(string_to_array(k.at, ',')) p)), h.oid "
	"FROM (SELECT uri, string_to_array(uri, '/') AS parts, split_part(uri, '/', -1) AS oid, "
	"split_part(uri, '/', -2) AS seg FROM (SELECT DISTINCT uri FROM held) d) h "
	"JOIN unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) "
	"k(name, seg, depth, keys, at) ON k.seg = h.seg AND k.depth::int = cardinality(h.parts) "
	"WHERE EXISTS (SELECT 1 FROM objects o "
	"WHERE o.parent_id = left(h.uri, length(h.uri) - length(h.oid) - length(h.seg) - 2) "
	"AND o.resource_name = k.name AND o.id = h.oid AND NOT o.deleted)), "
	"shown(uri, perm) AS ("
	"SELECT h.uri, coalesce(i.implied, h.perm) FROM held h JOIN found f ON f.uri = h.uri "
	"LEFT JOIN unnest($7::text[], $8::text[], $9::text[]) i(name, perm, implied) "
	"ON i.name = f.name AND i.perm = h.perm)";

/* The permissions aggregated once per URI and joined: a subquery per entry would read shown n times. */
static const char from_sql[] =
	"SELECT f.oid AS id, f.md || jsonb_build_object('id', f.oid, f.name || '_id', f.oid, "
	"'uri', f.uri, 'resource_name', f.name, 'permissions', p.perms) AS data "
	"FROM found f JOIN (SELECT uri, jsonb_agg(DISTINCT perm ORDER BY perm) AS perms "
	"FROM shown GROUP BY uri) p ON p.uri = f.uri "
	"UNION ALL SELECT NULL, jsonb_build_object('uri', '/', 'resource_name', 'root', "
	"'permissions', (SELECT jsonb_agg(DISTINCT r ORDER BY r) FROM unnest($14::text[]) r)) "
	"WHERE cardinality($14::text[]) > 0";

#define N_PARAMS 14

static bool params_of(struct pawl_arena *arena, const struct pawl_perm_list *pl,
    const char **p)
{
	const struct pawl_perm_kinds *k = &pl->kinds;
	const struct pawl_perm_implied *i = &pl->implied;
	const struct pawl_perm_everywhere *e = &pl->everywhere;
	size_t j;

	p[0] = pawl_acl_principals_param(arena, pl->principals);
	p[1] = pawl_pg_text_array(arena, k->name, k->n);
	p[2] = pawl_pg_text_array(arena, k->segment, k->n);
	p[3] = pawl_pg_text_array(arena, k->depth, k->n);
	p[4] = pawl_pg_text_array(arena, k->keys, k->n);
	p[5] = pawl_pg_text_array(arena, k->at, k->n);
	p[6] = pawl_pg_text_array(arena, i->name, i->n);
	p[7] = pawl_pg_text_array(arena, i->perm, i->n);
	p[8] = pawl_pg_text_array(arena, i->implied, i->n);
	p[9] = pawl_pg_text_array(arena, e->name, e->n);
	p[10] = pawl_pg_text_array(arena, e->segment, e->n);
	p[11] = pawl_pg_text_array(arena, e->perm, e->n);
	p[12] = pawl_pg_text_array(arena, e->top, e->n);
	p[13] = pawl_pg_text_array(arena, pl->root, pl->n_root);
	for (j = 0; j < N_PARAMS; j++)
		if (p[j] == NULL)
			return false;
	return true;
}

static enum pawl_err run(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_perm_list *pl, bool count, struct pg_result **res, struct pawl_error *err)
{
	const char **params = pawl_arena_calloc(arena, N_PARAMS, sizeof(*params));

	if (params == NULL || !params_of(arena, pl, params))
		return pawl_error_nomem(err);
	return pawl_list_query_over(pg, arena, &(struct pawl_list_over){
	    .with = with_sql, .from = from_sql, .params = params, .n_params = N_PARAMS,
	    .query = pl->query, .after = pl->after, .limit = pl->limit, .count = count }, res, err);
}

enum pawl_err pawl_perm_list_fetch(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_perm_list *pl, const char ***entries, size_t *n, bool *more,
    struct pawl_error *err)
{
	struct pg_result *res;
	enum pawl_err rc;
	int rows, r;

	*n = 0;
	*more = false;
	if ((rc = run(pg, arena, pl, false, &res, err)) != PAWL_OK)
		return rc;
	rows = pawl_pg_rows(res);
	*more = rows > pl->limit;
	if ((*entries = pawl_arena_calloc(arena, (size_t)rows + 1, sizeof(**entries))) == NULL)
		return pawl_error_nomem(err);
	for (r = 0; r < rows && (long long)r < pl->limit; r++)
		(*entries)[(*n)++] = pawl_pg_value(res, r, 0);
	return PAWL_OK;
}

enum pawl_err pawl_perm_list_count(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_perm_list *pl, long long *count, struct pawl_error *err)
{
	struct pg_result *res;
	enum pawl_err rc;

	if ((rc = run(pg, arena, pl, true, &res, err)) != PAWL_OK)
		return rc;
	*count = strtoll(pawl_pg_value(res, 0, 0), NULL, 10);
	return PAWL_OK;
}
