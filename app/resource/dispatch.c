/*
 * The entry point for LIST and ITEM routes: derives the resource context
 * from the matched pattern (list key, parent, URIs) the same way for every
 * resource, then hands over to the list or item handlers. Holds no state.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <uuid/uuid.h>

#include "resource/dispatch.h"
#include "resource/accounts.h"
#include "store/acl.h"
#include "events/stage.h"
#include "core/json.h"
#include "events/listener_set.h"
#include "resource/resource.h"
#include "core/str.h"

bool pawl_resource_id_valid(const char *s)
{
	static const char rest[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
	size_t n = strlen(s);

	return n > 0 && n <= 255 && strchr(rest, s[0]) != NULL && s[0] != '_' && s[0] != '-' &&
	    strspn(s, rest) == n;
}

const char *pawl_resource_new_id(struct pawl_arena *arena, const struct pawl_resource *res)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[8];
	char *out = pawl_arena_alloc(arena, 37);
	size_t i;

	if (out == NULL)
		return NULL;
	if (res->id_kind == PAWL_ID_UUID4) {
		uuid_t u;

		uuid_generate_random(u);
		uuid_unparse_lower(u, out);
		return out;
	}
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return NULL;
	/* 62 letters: the modulo bias is below 1% and harmless for names. */
	for (i = 0; i < sizeof(rnd); i++)
		out[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	out[sizeof(rnd)] = '\0';
	return out;
}

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Bounded so that no client can push a list's timestamp where the next bump
 * overflows (and the list refuses every write), nor beyond what JavaScript
 * clients represent exactly (Number.MAX_SAFE_INTEGER + 1).
 */
enum pawl_err pawl_resource_client_timestamp(const struct pawl_rctx *c, json_object *value,
    const char *location, const char *name, long long *ms, struct pawl_error *err)
{
	long long max = wall_ms() + (long long)c->app->cfg->max_client_timestamp_skew_seconds * 1000;

	*ms = 0;
	if (!json_object_is_type(value, json_type_int))
		return PAWL_OK;
	if (max > PAWL_RESOURCE_MAX_TIMESTAMP)
		max = PAWL_RESOURCE_MAX_TIMESTAMP;
	if (json_object_get_int64(value) < 0 || json_object_get_int64(value) > max)
		return pawl_error_invalid(err, PAWL_ERR_INVALID, location, name,
		    "%s must be an integer from 0 to %lld (at most %d seconds ahead of the "
		    "server clock)", name, max, c->app->cfg->max_client_timestamp_skew_seconds);
	*ms = json_object_get_int64(value);
	return PAWL_OK;
}

/*
 * A client's data.last_modified is honoured as a floor for the new timestamp
 * (so it can move an object forward, never backwards: the list stays
 * strictly increasing in commit order). Then the server-owned fields go.
 */
enum pawl_err pawl_resource_take_server_fields(const struct pawl_rctx *c, json_object *data,
    long long *floor, struct pawl_error *err)
{
	json_object *lm = NULL;
	enum pawl_err rc;

	*floor = 0;
	if (data == NULL)
		return PAWL_OK;
	if (json_object_object_get_ex(data, "last_modified", &lm) &&
	    (rc = pawl_resource_client_timestamp(c, lm, "body", "data.last_modified", floor,
	    err)) != PAWL_OK)
		return rc;
	json_object_object_del(data, "id");
	json_object_object_del(data, "last_modified");
	return PAWL_OK;
}

enum pawl_err pawl_resource_envelope(const struct pawl_request *req, json_object **data,
    json_object **permissions, struct pawl_error *err)
{
	*data = NULL;
	*permissions = NULL;
	if (req->json == NULL)
		return PAWL_OK;
	if (!json_object_is_type(req->json, json_type_object))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
		    "Invalid body: expected an object with \"data\" and \"permissions\"");
	json_object_object_foreach(req->json, key, val) {
		if (strcmp(key, "data") == 0) {
			if (!json_object_is_type(val, json_type_object))
				return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "data",
				    "data is not an object");
			*data = val;
		} else if (strcmp(key, "permissions") == 0) {
			if (!json_object_is_type(val, json_type_object))
				return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "permissions",
				    "permissions is not an object");
			*permissions = val;
		} else {
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", key,
			    "%s is not allowed", key);
		}
	}
	return PAWL_OK;
}

enum pawl_err pawl_resource_parse_stored(struct pawl_arena *arena, const char *what,
    const char *data, json_object **out, struct pawl_error *err)
{
	struct pawl_error why;

	if (pawl_json_parse(arena, data, strlen(data), PAWL_JSON_STORED_DEPTH, out, &why) == PAWL_OK)
		return PAWL_OK;
	if (why.code == PAWL_ERR_NOMEM)
		return pawl_error_set(err, PAWL_ERR_NOMEM, "out of memory");
	return pawl_error_set(err, PAWL_ERR_INTERNAL, "stored object does not parse: %s: %s%s%s",
	    what, why.name[0] ? why.name : "", why.name[0] ? ": " : "", why.message);
}

enum pawl_err pawl_resource_check_data(const struct pawl_rctx *c, json_object *data,
    struct pawl_error *err)
{
	int max = c->app->cfg->max_json_depth - 1;

	if (data != NULL && pawl_json_deeper_than(data, max))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "data",
		    "data nests deeper than %d levels", max);
	return PAWL_OK;
}

void pawl_resource_timestamp_headers(struct pawl_response *resp, long long ts)
{
	char date[64];
	time_t secs = (time_t)(ts / 1000);
	struct tm tm;

	pawl_response_header(resp, "ETag", pawl_arena_printf(resp->arena, "\"%lld\"", ts));
	gmtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	pawl_response_header(resp, "Last-Modified", pawl_arena_strdup(resp->arena, date));
}

enum pawl_err pawl_resource_not_found(struct pawl_rctx *c, const char *id,
    const char *resource_name, enum pawl_err code, struct pawl_error *err)
{
	struct pawl_buf b;

	pawl_buf_init(&b, c->req->arena);
	pawl_buf_puts(&b, "{\"id\":");
	pawl_buf_json_string(&b, id, strlen(id));
	pawl_buf_puts(&b, ",\"resource_name\":");
	pawl_buf_json_string(&b, resource_name, strlen(resource_name));
	pawl_buf_putc(&b, '}');
	pawl_error_set(err, code, "The resource you are looking for could not be found.");
	err->details = b.failed ? NULL : b.data;
	return code;
}

enum pawl_err pawl_resource_prefetch_parent(struct pawl_rctx *c, struct pawl_error *err)
{
	if (c->res->parent == NULL)
		return PAWL_OK;
	c->parent_prefetched = true;
	return pawl_objects_exists_defer(c->app->pg, c->req->arena, &c->parent_key, c->parent_id,
	    &c->parent_slot, err);
}

enum pawl_err pawl_resource_check_parent(struct pawl_rctx *c, struct pawl_error *err)
{
	bool exists = false;
	enum pawl_err rc;

	if (c->res->parent == NULL)
		return PAWL_OK;
	if (c->parent_prefetched) {
		c->parent_prefetched = false;
		/* Not sent yet when nothing else went to the database since. */
		if (c->parent_slot.res == NULL &&
		    (rc = pawl_pg_flush(c->app->pg, c->req->arena, err)) != PAWL_OK)
			return rc;
		if (c->parent_slot.res == NULL)
			return pawl_error_set(err, PAWL_ERR_INTERNAL, "parent check lost");
		exists = pawl_objects_exists_in(&c->parent_slot);
	} else if ((rc = pawl_objects_exists(c->app->pg, c->req->arena, &c->parent_key,
	    c->parent_id, &exists, err)) != PAWL_OK) {
		return rc;
	}
	if (!exists)
		return pawl_resource_not_found(c, c->parent_id, c->res->parent->name,
		    PAWL_ERR_NOT_FOUND, err);
	return PAWL_OK;
}

static enum pawl_err stage(struct pawl_rctx *c, enum pawl_event_action action,
    long long timestamp, const char *new_json, const char *old_json,
    const struct pawl_cascade *cascade, struct pawl_error *err)
{
	struct pawl_stage_op op;

	if (action == PAWL_EVENT_READ &&
	    !pawl_subscribers_wanted(c->app->subscribers, action, c->res->name) &&
	    !pawl_listener_set_wanted(c->app->listeners, action, c->res->name))
		return PAWL_OK;
	if (c->req->stage == NULL && (c->req->stage = pawl_stage_new(c->req->arena)) == NULL)
		return pawl_error_set(err, PAWL_ERR_NOMEM, "out of memory");
	memset(&op, 0, sizeof(op));
	op.action = action;
	op.resource_name = c->res->name;
	op.parent_id = c->key.parent_id;
	op.uri = c->event_uri ? c->event_uri : c->req->match.path;
	op.user_id = c->req->user_id;
	op.timestamp = timestamp;
	op.md = c->event_md ? c->event_md : &c->req->match.md;
	op.item = c->event_md ? pawl_matchdict_get(c->event_md, "id") != NULL
	    : c->req->match.route->kind == PAWL_ROUTE_ITEM;
	/* An account's password hash never leaves the database, not even in an event. */
	op.new_json = pawl_accounts_is(c->res) ? pawl_accounts_strip(c->req->arena, new_json) : new_json;
	op.old_json = pawl_accounts_is(c->res) ? pawl_accounts_strip(c->req->arena, old_json) : old_json;
	op.cascade = cascade;
	return pawl_stage_add(c->req->stage, &op, err);
}

enum pawl_err pawl_resource_stage(struct pawl_rctx *c, enum pawl_event_action action,
    long long timestamp, const char *new_json, const char *old_json, struct pawl_error *err)
{
	return stage(c, action, timestamp, new_json, old_json, NULL, err);
}

enum pawl_err pawl_resource_stage_delete(struct pawl_rctx *c, long long timestamp,
    const char *new_json, const char *old_json, const struct pawl_cascade *cascade,
    struct pawl_error *err)
{
	return stage(c, PAWL_EVENT_DELETE, timestamp, new_json, old_json, cascade, err);
}

enum pawl_err pawl_resource_members(struct pawl_rctx *c, json_object **data,
    struct pawl_error *err)
{
	json_object *members;
	size_t i;

	if (!c->res->has_members)
		return PAWL_OK;
	if (*data == NULL)
		*data = pawl_json_own(c->req->arena, json_object_new_object());
	if (*data == NULL)
		return pawl_error_set(err, PAWL_ERR_NOMEM, "out of memory");
	if (!json_object_object_get_ex(*data, "members", &members)) {
		json_object_object_add(*data, "members", json_object_new_array());
		return PAWL_OK;
	}
	if (!json_object_is_type(members, json_type_array))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "data.members",
		    "members is not a list");
	for (i = 0; i < json_object_array_length(members); i++) {
		json_object *m = json_object_array_get_idx(members, i);
		const char *s = json_object_get_string(m);

		if (!json_object_is_type(m, json_type_string) || *s == '\0' ||
		    strcmp(s, "system.Everyone") == 0 || strncmp(s, "/buckets/", 9) == 0)
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "data.members",
			    "members must be user or system.Authenticated principals");
	}
	return PAWL_OK;
}

enum pawl_err pawl_resource_sync_members(struct pawl_rctx *c, const char *uri, json_object *data,
    struct pawl_error *err)
{
	json_object *members = NULL;
	const char **list;
	size_t n, i;

	if (!c->res->has_members || data == NULL ||
	    !json_object_object_get_ex(data, "members", &members))
		return PAWL_OK;
	n = json_object_array_length(members);
	if ((list = pawl_arena_calloc(c->req->arena, n + 1, sizeof(*list))) == NULL)
		return pawl_error_set(err, PAWL_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
		list[i] = json_object_get_string(json_object_array_get_idx(members, i));
	return pawl_acl_set_members(c->app->pg, c->req->arena, uri, list, n, err);
}

enum pawl_err pawl_resource_forget(struct pawl_rctx *c, const char *uri,
    struct pawl_cascade *cascade, struct pawl_error *err)
{
	enum pawl_err rc;

	cascade->n = 0;
	if (c->res->has_children && (rc = pawl_objects_delete_children(c->app->pg, c->req->arena,
	    uri, cascade, err)) != PAWL_OK)
		return rc;
	if (c->res->per_user)
		return PAWL_OK;
	if ((rc = pawl_acl_delete_tree(c->app->pg, c->req->arena, uri, err)) != PAWL_OK)
		return rc;
	if (c->res->has_members || c->res->has_children)
		return pawl_acl_delete_members(c->app->pg, c->req->arena, uri, err);
	return PAWL_OK;
}

/* Fills the list pattern with the matchdict: "/buckets/b1/collections". */
static const char *fill_pattern(struct pawl_arena *arena, const char *pattern,
    const struct pawl_matchdict *md)
{
	struct pawl_buf b;
	const char *p = pattern;

	pawl_buf_init(&b, arena);
	while (*p != '\0') {
		const char *open = strchr(p, '{'), *close, *value;
		char name[64];

		if (open == NULL) {
			pawl_buf_puts(&b, p);
			break;
		}
		close = strchr(open, '}');
		if (close == NULL || (size_t)(close - open - 1) >= sizeof(name))
			return NULL;
		pawl_buf_append(&b, p, (size_t)(open - p));
		memcpy(name, open + 1, (size_t)(close - open - 1));
		name[close - open - 1] = '\0';
		if ((value = pawl_matchdict_get(md, name)) == NULL)
			return NULL;
		pawl_buf_puts(&b, value);
		p = close + 1;
	}
	return b.failed ? NULL : b.data;
}

/* "/a/b/c" → "/a/b" (and "" for "/a"), in the arena. */
static const char *dirname_of(struct pawl_arena *arena, const char *path)
{
	const char *slash = strrchr(path, '/');

	return pawl_arena_strndup(arena, path, slash ? (size_t)(slash - path) : 0);
}

bool pawl_resource_list_key_of(struct pawl_arena *arena, const struct pawl_match *m,
    struct pawl_list_key *key)
{
	const struct pawl_resource *res = m->route != NULL ? m->route->resource : NULL;
	const char *list_path, *bucket;
	size_t i;

	if (res == NULL || res->per_user || m->location != NULL)
		return false;
	/* The personal bucket's id depends on who asks: known only once it runs. */
	bucket = pawl_matchdict_get(&m->md, strcmp(res->name, "bucket") == 0 ? "id" : "bucket_id");
	if (bucket != NULL && strcmp(bucket, "default") == 0)
		return false;
	for (i = 0; i < m->md.n; i++)
		if (!pawl_resource_id_valid(m->md.kv[i].value))
			return false;
	if ((list_path = fill_pattern(arena, res->list_pattern, &m->md)) == NULL)
		return false;
	key->resource_name = res->name;
	key->parent_id = dirname_of(arena, list_path);
	return key->parent_id != NULL;
}

static enum pawl_err build_context(struct pawl_rctx *c, struct pawl_error *err)
{
	struct pawl_arena *arena = c->req->arena;
	const struct pawl_matchdict *md = &c->req->match.md;
	size_t i;

	/* Every placeholder is an id: one that cannot be valid names nothing here. */
	for (i = 0; i < md->n; i++)
		if (strcmp(md->kv[i].name, "id") != 0 && !pawl_resource_id_valid(md->kv[i].value))
			return pawl_error_set(err, PAWL_ERR_NOT_FOUND,
			    "The resource you are looking for could not be found.");
	c->list_path = fill_pattern(arena, c->res->list_pattern, md);
	if (c->list_path == NULL)
		return pawl_error_set(err, PAWL_ERR_NOMEM, "out of memory");
	c->key.resource_name = c->res->name;
	c->parent_uri = dirname_of(arena, c->list_path);
	c->key.parent_id = c->res->per_user ? (c->req->user_id ? c->req->user_id : "")
	    : dirname_of(arena, c->list_path);
	if (c->res->parent != NULL) {
		const char *parent_uri = dirname_of(arena, c->list_path);
		const char *slash = strrchr(parent_uri, '/');

		c->parent_id = slash ? slash + 1 : parent_uri;
		c->parent_key.resource_name = c->res->parent->name;
		c->parent_key.parent_id = dirname_of(arena, dirname_of(arena, parent_uri));
	}
	if (c->req->match.route->kind == PAWL_ROUTE_ITEM) {
		c->id = pawl_matchdict_get(md, "id");
		if (!pawl_resource_id_valid(c->id))
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "path", "id", "Invalid id");
		c->uri = pawl_arena_printf(arena, "%s/%s", c->list_path, c->id);
	}
	return PAWL_OK;
}

/* Accounts: the stored hash is taken out of the answer, a 412's details included. */
static void strip_answer(struct pawl_rctx *c, enum pawl_err rc, struct pawl_error *err)
{
	struct pawl_buf *b = &c->resp->body;
	const char *text;

	if (rc != PAWL_OK) {
		if (err->details != NULL)
			err->details = pawl_accounts_strip(c->req->arena, err->details);
		return;
	}
	if (b->len == 0 || b->data == NULL)
		return;
	text = pawl_accounts_strip(c->req->arena, pawl_arena_strndup(c->req->arena, b->data, b->len));
	if (text == NULL)
		text = "{}";
	b->len = 0;
	pawl_buf_puts(b, text);
}

enum pawl_err pawl_resource_handle(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_error *err)
{
	struct pawl_rctx c;
	enum pawl_err rc;

	memset(&c, 0, sizeof(c));
	c.app = app;
	c.req = req;
	c.resp = resp;
	c.res = req->match.route->resource;
	if ((rc = pawl_default_bucket_apply(app, req, err)) != PAWL_OK ||
	    (rc = build_context(&c, err)) != PAWL_OK)
		return rc;
	if (pawl_accounts_is(c.res) && (rc = pawl_accounts_prepare(&c, err)) != PAWL_OK)
		return rc;
	rc = req->match.route->kind == PAWL_ROUTE_ITEM ? pawl_object_handle(&c, err)
	    : pawl_plural_handle(&c, err);
	if (pawl_accounts_is(c.res))
		strip_answer(&c, rc, err);
	return rc;
}
