/*
 * From a sealed stage to history entries. The entry's URI and ids come from
 * the stored object's list (parent_id) and id, never from the request's URL:
 * a POST, a plural DELETE, a batch and the personal bucket's rewritten URLs
 * all name the object they changed.
 */
#include <stdbool.h>
#include <string.h>

#include "events/history.h"
#include "core/json.h"
#include "core/str.h"

/* Kinto's four: the only resources its history plugin follows. */
static const struct {
	const char *name, *plural;
} tracked[] = {
	{ "bucket", "buckets" }, { "collection", "collections" },
	{ "group", "groups" }, { "record", "records" },
};

static const char *plural_of(const char *resource_name)
{
	for (size_t i = 0; i < sizeof(tracked) / sizeof(tracked[0]); i++)
		if (strcmp(tracked[i].name, resource_name) == 0)
			return tracked[i].plural;
	return NULL;
}

static bool listed(char *const *list, const char *s)
{
	for (; list != NULL && s != NULL && *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

/* One entry's pieces, before it is kept or left out. */
struct entry {
	const char *bucket_id, *collection_id;
	const char *bucket_uri, *collection_uri, *uri, *id;
};

/* The object's "id" member (objects and tombstones both carry it), or NULL. */
static const char *object_id(struct pawl_arena *arena, const char *json)
{
	struct pawl_error err;
	json_object *o, *v;

	if (json == NULL || pawl_json_parse(arena, json, strlen(json), PAWL_JSON_STORED_DEPTH,
	    &o, &err) != PAWL_OK || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "id", &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * Bucket and collection from the list's parent ("" for buckets,
 * "/buckets/b", "/buckets/b/collections/c"). False when it has another shape.
 */
static bool locate(struct pawl_arena *arena, const struct pawl_stage_op *op, struct entry *e)
{
	const char *p = op->parent_id, *slash;

	e->collection_id = NULL;
	if (*p == '\0') {
		e->bucket_id = e->id;
	} else {
		if (strncmp(p, "/buckets/", 9) != 0)
			return false;
		slash = strchr(p + 9, '/');
		e->bucket_id = slash ? pawl_arena_strndup(arena, p + 9, (size_t)(slash - p - 9)) : p + 9;
		if (slash != NULL) {
			if (strncmp(slash, "/collections/", 13) != 0 || strchr(slash + 13, '/'))
				return false;
			e->collection_id = slash + 13;
		}
	}
	if (strcmp(op->resource_name, "collection") == 0)
		e->collection_id = e->id;
	e->bucket_uri = pawl_arena_printf(arena, "/buckets/%s", e->bucket_id);
	e->collection_uri = e->collection_id == NULL ? "" : pawl_arena_printf(arena,
	    "/buckets/%s/collections/%s", e->bucket_id, e->collection_id);
	e->uri = pawl_arena_printf(arena, "%s/%s/%s", op->parent_id, plural_of(op->resource_name),
	    e->id);
	return e->bucket_id != NULL && e->bucket_uri != NULL && e->collection_uri != NULL &&
	    e->uri != NULL;
}

static void put_member(struct pawl_buf *b, const char *name, const char *value)
{
	pawl_buf_printf(b, ",\"%s\":", name);
	if (value != NULL)
		pawl_buf_json_string(b, value, strlen(value));
	else
		pawl_buf_puts(b, "null");
}

/* Kinto's entry fields: the event's, without timestamp and bucket_id, plus "<resource>_id". */
static const char *attrs_of(struct pawl_arena *arena, const struct pawl_stage_op *op,
    const struct entry *e)
{
	struct pawl_buf b;

	pawl_buf_init(&b, arena);
	pawl_buf_printf(&b, "{\"action\":\"%s\"", pawl_event_action_name(op->action));
	put_member(&b, "uri", e->uri);
	put_member(&b, "user_id", op->user_id);
	put_member(&b, "resource_name", op->resource_name);
	if (e->collection_id != NULL)
		put_member(&b, "collection_id", e->collection_id);
	pawl_buf_printf(&b, ",\"%s_id\":", op->resource_name);
	pawl_buf_json_string(&b, e->id, strlen(e->id));
	pawl_buf_putc(&b, '}');
	return b.failed ? NULL : b.data;
}

static bool excluded(const struct pawl_config *cfg, const struct pawl_stage_op *op,
    const struct entry *e)
{
	return listed(cfg->history_exclude_user_ids, op->user_id) ||
	    listed(cfg->history_exclude_resources, e->bucket_uri) ||
	    listed(cfg->history_exclude_resources, e->collection_uri) ||
	    listed(cfg->history_exclude_resources, e->uri);
}

/* Forgets the entries planned so far for a bucket that the transaction deletes. */
static void unplan(struct pawl_history_rows *r, const char *bucket_uri)
{
	size_t i, k = 0;

	for (i = 0; i < r->n; i++) {
		if (strcmp(r->buckets[i], bucket_uri) == 0)
			continue;
		r->buckets[k] = r->buckets[i];
		r->collections[k] = r->collections[i];
		r->uris[k] = r->uris[i];
		r->attrs[k] = r->attrs[i];
		r->targets[k] = r->targets[i];
		k++;
	}
	r->n = k;
}

static bool alloc_plan(struct pawl_arena *arena, struct pawl_history_plan *out, size_t n)
{
	struct pawl_history_rows *r = &out->rows;

	r->buckets = pawl_arena_calloc(arena, n + 1, sizeof(char *));
	r->collections = pawl_arena_calloc(arena, n + 1, sizeof(char *));
	r->uris = pawl_arena_calloc(arena, n + 1, sizeof(char *));
	r->attrs = pawl_arena_calloc(arena, n + 1, sizeof(char *));
	r->targets = pawl_arena_calloc(arena, n + 1, sizeof(char *));
	out->drops = pawl_arena_calloc(arena, n + 1, sizeof(char *));
	return r->buckets && r->collections && r->uris && r->attrs && r->targets && out->drops;
}

enum pawl_err pawl_history_plan(const struct pawl_config *cfg, struct pawl_arena *arena,
    const struct pawl_stage *st, struct pawl_history_plan *out, struct pawl_error *err)
{
	size_t i, n = pawl_stage_op_count(st);
	struct pawl_history_rows *r = &out->rows;

	memset(out, 0, sizeof(*out));
	if (!alloc_plan(arena, out, n))
		return pawl_error_nomem(err);
	for (i = 0; i < n; i++) {
		const struct pawl_stage_op *op = pawl_stage_op_at(st, i);
		struct entry e;

		if (op->action == PAWL_EVENT_READ || plural_of(op->resource_name) == NULL ||
		    op->new_json == NULL || (e.id = object_id(arena, op->new_json)) == NULL)
			continue;
		if (!locate(arena, op, &e))
			continue;
		if (strcmp(op->resource_name, "bucket") == 0 && op->action == PAWL_EVENT_DELETE) {
			unplan(r, e.bucket_uri);
			out->drops[out->n_drops++] = e.bucket_uri;
			continue;
		}
		if (excluded(cfg, op, &e))
			continue;
		r->buckets[r->n] = e.bucket_uri;
		r->collections[r->n] = e.collection_uri;
		r->uris[r->n] = e.uri;
		r->targets[r->n] = op->new_json;
		if ((r->attrs[r->n] = attrs_of(arena, op, &e)) == NULL)
			return pawl_error_nomem(err);
		r->n++;
	}
	return PAWL_OK;
}

enum pawl_err pawl_history_stage_write(const struct pawl_config *cfg, struct pawl_pg *pg,
    struct pawl_arena *arena, const struct pawl_stage *st, struct pawl_error *err)
{
	struct pawl_history_plan plan;
	enum pawl_err rc;

	if (cfg == NULL || !cfg->history_enabled || st == NULL)
		return PAWL_OK;
	if ((rc = pawl_history_plan(cfg, arena, st, &plan, err)) != PAWL_OK ||
	    (rc = pawl_history_drop(pg, arena, plan.drops, plan.n_drops, err)) != PAWL_OK)
		return rc;
	return pawl_history_insert(pg, arena, &plan.rows, err);
}

bool pawl_history_trims(const struct pawl_config *cfg)
{
	return cfg->history_enabled &&
	    (cfg->history_max_age_seconds > 0 || cfg->history_max_per_bucket > 0);
}

enum pawl_err pawl_history_trim_step(const struct pawl_config *cfg, struct pawl_pg *pg,
    struct pawl_arena *arena, struct pawl_history_trim *t, struct pawl_error *err)
{
	t->max_age_ms = (long long)cfg->history_max_age_seconds * 1000;
	t->max_per_bucket = cfg->history_max_per_bucket;
	return pawl_history_trim_pass(pg, arena, t, err);
}
