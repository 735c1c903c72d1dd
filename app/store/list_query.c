/*
 * The list query builder. SQL text comes only from the fixed fragments in
 * this file; every value, and every JSON path as a text[] parameter, is bound.
 * Pages resume after the last object served (keyset), so page N costs what
 * page 1 costs when the sort is the default -last_modified.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "store/acl.h"
#include "store/list_query.h"
#include "store/pg.h"
#include "core/str.h"

#define MAX_PARAMS 256

struct sql {
	struct pawl_buf text;
	const char *params[MAX_PARAMS];
	int n;
	bool failed;
};

/* Binds a value and returns its placeholder number (0 when full). */
static int bind(struct sql *s, const char *value)
{
	if (s->n == MAX_PARAMS || value == NULL) {
		s->failed = true;
		return 0;
	}
	s->params[s->n++] = value;
	return s->n;
}

/* A JSON path as a PostgreSQL text[] literal ({"a","b"}), for data #> $n. */
static const char *path_literal(struct pawl_arena *arena, const struct pawl_field *f)
{
	return pawl_pg_text_array(arena, f->path, f->depth);
}

/* The SQL expression of a field: a column, or (data #> $n::text[]). */
static void put_field(struct sql *s, struct pawl_arena *arena, const struct pawl_field *f, bool as_text)
{
	switch (f->kind) {
	case PAWL_FIELD_ID:
		pawl_buf_puts(&s->text, "id");
		return;
	case PAWL_FIELD_LAST_MODIFIED:
		pawl_buf_puts(&s->text, "last_modified");
		return;
	case PAWL_FIELD_DATA:
		pawl_buf_printf(&s->text, "(data %s $%d::text[])", as_text ? "#>>" : "#>",
		    bind(s, path_literal(arena, f)));
		return;
	}
}

static const char *json_text(struct pawl_arena *arena, json_object *v)
{
	size_t len;

	return pawl_json_compact(arena, v, &len);
}

/* The value as the column wants it: text for id, an integer for last_modified, jsonb else. */
static void put_value(struct sql *s, struct pawl_arena *arena, const struct pawl_field *f,
    json_object *v)
{
	if (f->kind == PAWL_FIELD_ID)
		pawl_buf_printf(&s->text, "$%d::text", bind(s, pawl_arena_strdup(arena,
		    json_object_get_string(v))));
	else if (f->kind == PAWL_FIELD_LAST_MODIFIED)
		pawl_buf_printf(&s->text, "$%d::bigint", bind(s, pawl_arena_printf(arena, "%lld",
		    (long long)json_object_get_int64(v))));
	else
		pawl_buf_printf(&s->text, "$%d::jsonb", bind(s, json_text(arena, v)));
}

/* The elements of a JSON array value as a set, typed for the field. */
static void put_set(struct sql *s, struct pawl_arena *arena, const struct pawl_field *f,
    json_object *v)
{
	int n = bind(s, json_text(arena, v));

	if (f->kind == PAWL_FIELD_ID)
		pawl_buf_printf(&s->text, "(SELECT jsonb_array_elements_text($%d::jsonb))", n);
	else if (f->kind == PAWL_FIELD_LAST_MODIFIED)
		pawl_buf_printf(&s->text, "(SELECT jsonb_array_elements_text($%d::jsonb)::bigint)", n);
	else
		pawl_buf_printf(&s->text, "(SELECT jsonb_array_elements($%d::jsonb))", n);
}

static const char *const compare_ops[] = {
	[PAWL_FILTER_EQ] = "=", [PAWL_FILTER_MIN] = ">=", [PAWL_FILTER_MAX] = "<=",
	[PAWL_FILTER_LT] = "<", [PAWL_FILTER_GT] = ">",
};

/* Range comparisons only between values of one JSON type (no "abc" <= 18). */
static void put_comparison(struct sql *s, struct pawl_arena *arena, const struct pawl_filter *f)
{
	pawl_buf_putc(&s->text, '(');
	put_field(s, arena, &f->field, false);
	pawl_buf_printf(&s->text, " %s ", compare_ops[f->op]);
	put_value(s, arena, &f->field, f->value);
	if (f->field.kind == PAWL_FIELD_DATA && f->op != PAWL_FILTER_EQ) {
		pawl_buf_puts(&s->text, " AND jsonb_typeof(");
		put_field(s, arena, &f->field, false);
		pawl_buf_printf(&s->text, ") = jsonb_typeof($%d::jsonb)", bind(s, json_text(arena, f->value)));
	}
	pawl_buf_putc(&s->text, ')');
}

static void put_filter(struct sql *s, struct pawl_arena *arena, const struct pawl_filter *f)
{
	const struct pawl_field *fd = &f->field;

	pawl_buf_puts(&s->text, " AND ");
	switch (f->op) {
	case PAWL_FILTER_EQ: case PAWL_FILTER_MIN: case PAWL_FILTER_MAX:
	case PAWL_FILTER_LT: case PAWL_FILTER_GT:
		put_comparison(s, arena, f);
		break;
	case PAWL_FILTER_NOT:
	case PAWL_FILTER_EXCLUDE:
		/* A missing field is "not equal" to anything, as in Kinto. */
		pawl_buf_puts(&s->text, "(");
		put_field(s, arena, fd, false);
		pawl_buf_puts(&s->text, " IS NULL OR ");
		put_field(s, arena, fd, false);
		if (f->op == PAWL_FILTER_NOT) {
			pawl_buf_puts(&s->text, " <> ");
			put_value(s, arena, fd, f->value);
		} else {
			pawl_buf_puts(&s->text, " NOT IN ");
			put_set(s, arena, fd, f->value);
		}
		pawl_buf_putc(&s->text, ')');
		break;
	case PAWL_FILTER_IN:
		put_field(s, arena, fd, false);
		pawl_buf_puts(&s->text, " IN ");
		put_set(s, arena, fd, f->value);
		break;
	case PAWL_FILTER_LIKE:
		put_field(s, arena, fd, true);
		pawl_buf_printf(&s->text, " ILIKE $%d ESCAPE '\\'",
		    bind(s, pawl_arena_strdup(arena, json_object_get_string(f->value))));
		break;
	case PAWL_FILTER_HAS:
		put_field(s, arena, fd, false);
		pawl_buf_puts(&s->text, json_object_get_boolean(f->value) ? " IS NOT NULL" : " IS NULL");
		break;
	case PAWL_FILTER_CONTAINS:
	case PAWL_FILTER_CONTAINS_ANY:
		pawl_buf_puts(&s->text, "(jsonb_typeof(");
		put_field(s, arena, fd, false);
		pawl_buf_puts(&s->text, ") = 'array' AND ");
		if (f->op == PAWL_FILTER_CONTAINS) {
			put_field(s, arena, fd, false);
			pawl_buf_printf(&s->text, " @> $%d::jsonb)", bind(s, json_text(arena, f->value)));
		} else {
			pawl_buf_printf(&s->text, "EXISTS (SELECT 1 FROM jsonb_array_elements($%d::jsonb) e "
			    "WHERE ", bind(s, json_text(arena, f->value)));
			put_field(s, arena, fd, false);
			pawl_buf_puts(&s->text, " @> jsonb_build_array(e)))");
		}
		break;
	}
}

static void put_where(struct sql *s, struct pawl_arena *arena, const struct pawl_list_request *lr,
    bool live_only)
{
	const struct pawl_query *q = lr->query;
	size_t i;

	/*
	 * History's readers are '<bucket URI> <principal>' (sql/0008): they name
	 * the list, so a lookup by them needs no parent_id, and leaving it out
	 * leaves the planner no path along the list index.
	 */
	if (lr->readers != NULL && lr->by_readers)
		pawl_buf_printf(&s->text, " FROM objects WHERE resource_name = $%d",
		    bind(s, lr->key->resource_name));
	else
		pawl_buf_printf(&s->text, " FROM objects WHERE parent_id = $%d AND resource_name = $%d",
		    bind(s, lr->key->parent_id), bind(s, lr->key->resource_name));
	if (live_only || q == NULL || !q->with_tombstones)
		pawl_buf_puts(&s->text, " AND NOT deleted");
	if (lr->acl_prefix != NULL) {
		int prefix = bind(s, lr->acl_prefix);
		int perms = bind(s, pawl_pg_text_array(arena, lr->acl_perms, lr->n_acl_perms));
		int who = bind(s, pawl_acl_principals_param(arena, lr->acl_principals));

		pawl_buf_printf(&s->text, " AND EXISTS (SELECT 1 FROM access_control_entries a "
		    "WHERE a.object_id = $%d || '/' || objects.id AND a.permission = ANY($%d::text[]) "
		    "AND a.principal = ANY($%d::text[] || ARRAY(SELECT principal FROM user_principals "
		    "WHERE user_id = ANY($%d::text[]))))", prefix, perms, who, who);
	}
	if (lr->readers != NULL) {
		int list = bind(s, lr->key->parent_id);
		int who = bind(s, pawl_acl_principals_param(arena, lr->readers));

		pawl_buf_printf(&s->text, " AND history_readers && ARRAY(SELECT $%d || ' ' || p "
		    "FROM unnest" PAWL_ACL_EXPANDED_AT " AS p)", list, who, who);
	}
	if (q == NULL)
		return;
	if (q->has_since)
		pawl_buf_printf(&s->text, " AND last_modified > $%d::bigint",
		    bind(s, pawl_arena_printf(arena, "%lld", q->since)));
	if (q->has_before)
		pawl_buf_printf(&s->text, " AND last_modified < $%d::bigint",
		    bind(s, pawl_arena_printf(arena, "%lld", q->before)));
	for (i = 0; i < q->n_filters; i++)
		put_filter(s, arena, &q->filters[i]);
}

static const struct pawl_sort default_sort = {
	.field = { .name = "last_modified", .kind = PAWL_FIELD_LAST_MODIFIED }, .desc = true
};

static void sort_keys(const struct pawl_query *q, const struct pawl_sort **keys, size_t *n)
{
	if (q == NULL || q->n_sort == 0) {
		*keys = &default_sort;
		*n = 1;
	} else {
		*keys = q->sort;
		*n = q->n_sort;
	}
}

/* "field = v", where an absent v means the field was missing (SQL NULL). */
static void put_equal(struct sql *s, struct pawl_arena *arena, const struct pawl_field *f,
    json_object *v)
{
	put_field(s, arena, f, false);
	if (v == NULL && f->kind == PAWL_FIELD_DATA) {
		pawl_buf_puts(&s->text, " IS NULL");
		return;
	}
	pawl_buf_puts(&s->text, " = ");
	put_value(s, arena, f, v);
}

/* "field comes after v" in the sort order (NULLs last ascending, first descending). */
static void put_after(struct sql *s, struct pawl_arena *arena, const struct pawl_sort *k,
    json_object *v)
{
	bool data = k->field.kind == PAWL_FIELD_DATA;

	if (v == NULL && data) {
		if (k->desc) {
			put_field(s, arena, &k->field, false);
			pawl_buf_puts(&s->text, " IS NOT NULL");
		} else {
			pawl_buf_puts(&s->text, "FALSE");
		}
		return;
	}
	pawl_buf_putc(&s->text, '(');
	put_field(s, arena, &k->field, false);
	pawl_buf_puts(&s->text, k->desc ? " < " : " > ");
	put_value(s, arena, &k->field, v);
	if (data && !k->desc) {
		pawl_buf_puts(&s->text, " OR ");
		put_field(s, arena, &k->field, false);
		pawl_buf_puts(&s->text, " IS NULL");
	}
	pawl_buf_putc(&s->text, ')');
}

/* OR over k of (key1 = v1 AND ... AND key(k-1) = v(k-1) AND key k after vk). */
static void put_keyset(struct sql *s, struct pawl_arena *arena, const struct pawl_list_request *lr)
{
	const struct pawl_sort *keys;
	size_t n, i, j;

	if (lr->after == NULL)
		return;
	sort_keys(lr->query, &keys, &n);
	pawl_buf_puts(&s->text, " AND (");
	for (i = 0; i < n; i++) {
		pawl_buf_puts(&s->text, i ? " OR (" : "(");
		for (j = 0; j < i; j++) {
			put_equal(s, arena, &keys[j].field,
			    json_object_object_get(lr->after->last, keys[j].field.name));
			pawl_buf_puts(&s->text, " AND ");
		}
		put_after(s, arena, &keys[i], json_object_object_get(lr->after->last, keys[i].field.name));
		pawl_buf_putc(&s->text, ')');
	}
	pawl_buf_putc(&s->text, ')');
}

static void put_order(struct sql *s, struct pawl_arena *arena, const struct pawl_query *q)
{
	const struct pawl_sort *keys;
	size_t n, i;

	sort_keys(q, &keys, &n);
	pawl_buf_puts(&s->text, " ORDER BY ");
	for (i = 0; i < n; i++) {
		if (i)
			pawl_buf_puts(&s->text, ", ");
		put_field(s, arena, &keys[i].field, false);
		pawl_buf_puts(&s->text, keys[i].desc ? " DESC" : " ASC");
	}
}

static enum pawl_err run(struct pawl_pg *pg, struct pawl_arena *arena, struct sql *s,
    struct pg_result **res, struct pawl_error *err)
{
	if (s->failed || s->text.failed)
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "querystring", NULL,
		    "Too many filters or values in the query");
	return pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    s->text.data, s->n, s->params, 0 }, res, err);
}

enum pawl_err pawl_list_query_fetch(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_request *lr, struct pawl_list_page *page, struct pawl_error *err)
{
	struct sql s;
	struct pg_result *res;
	enum pawl_err rc;
	int i, rows;

	memset(&s, 0, sizeof(s));
	pawl_buf_init(&s.text, arena);
	pawl_buf_puts(&s.text, "SELECT data::text, last_modified, id, deleted");
	put_where(&s, arena, lr, false);
	put_keyset(&s, arena, lr);
	put_order(&s, arena, lr->query);
	pawl_buf_printf(&s.text, " LIMIT $%d::bigint", bind(&s, pawl_arena_printf(arena, "%lld",
	    lr->limit + 1)));
	if (lr->lock)
		pawl_buf_puts(&s.text, " FOR UPDATE");
	if ((rc = run(pg, arena, &s, &res, err)) != PAWL_OK)
		return rc;
	rows = pawl_pg_rows(res);
	page->more = rows > lr->limit;
	page->n = 0;
	page->items = pawl_arena_calloc(arena, (size_t)rows + 1, sizeof(*page->items));
	if (page->items == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < rows && (long long)i < lr->limit; i++) {
		struct pawl_object *o = &page->items[page->n++];

		o->data = pawl_pg_value(res, i, 0);
		o->last_modified = strtoll(pawl_pg_value(res, i, 1), NULL, 10);
		o->id = pawl_pg_value(res, i, 2);
		o->deleted = pawl_pg_value(res, i, 3)[0] == 't';
	}
	return PAWL_OK;
}

enum pawl_err pawl_list_query_count(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_request *lr, long long *count, struct pawl_error *err)
{
	struct sql s;
	struct pg_result *res;
	enum pawl_err rc;

	memset(&s, 0, sizeof(s));
	pawl_buf_init(&s.text, arena);
	if (lr->count_cap > 0) {
		/* Bounded: "are there any, or more than a few?" costs what a few cost. */
		pawl_buf_puts(&s.text, "SELECT count(*) FROM (SELECT 1");
		put_where(&s, arena, lr, true);
		pawl_buf_printf(&s.text, " LIMIT $%d::bigint) capped", bind(&s,
		    pawl_arena_printf(arena, "%lld", lr->count_cap)));
	} else {
		pawl_buf_puts(&s.text, "SELECT count(*)");
		put_where(&s, arena, lr, true);
	}
	if ((rc = run(pg, arena, &s, &res, err)) != PAWL_OK)
		return rc;
	*count = strtoll(pawl_pg_value(res, 0, 0), NULL, 10);
	return PAWL_OK;
}

/*
 * A list over a computed relation instead of objects (the permissions
 * endpoint, store/perm_list.c): from is fixed SQL text naming a relation
 * with the columns id (text) and data (jsonb) and using the parameters
 * $1..$n_params; the query's filters (last_modified ones already removed by
 * the caller), the keyset and the sort are added here as for any list.
 */
enum pawl_err pawl_list_query_over(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_over *ov, struct pg_result **res, struct pawl_error *err)
{
	struct pawl_list_request lr = { .query = ov->query, .after = ov->after };
	struct sql s;
	size_t i;

	memset(&s, 0, sizeof(s));
	pawl_buf_init(&s.text, arena);
	for (i = 0; i < ov->n_params; i++)
		bind(&s, ov->params[i]);
	pawl_buf_printf(&s.text, "%s SELECT %s FROM (%s) entries WHERE TRUE", ov->with,
	    ov->count ? "count(*)" : "data::text, id", ov->from);
	for (i = 0; ov->query != NULL && i < ov->query->n_filters; i++)
		put_filter(&s, arena, &ov->query->filters[i]);
	if (!ov->count) {
		put_keyset(&s, arena, &lr);
		put_order(&s, arena, ov->query);
		pawl_buf_printf(&s.text, " LIMIT $%d::bigint", bind(&s, pawl_arena_printf(arena, "%lld",
		    ov->limit + 1)));
	}
	return run(pg, arena, &s, res, err);
}
