/*
 * Plural endpoints (Kinto's term: GET, HEAD, POST, DELETE on /.../<plural>)
 * for every resource: filters, sort, keyset pages with Next-Page, HEAD counts. Reads
 * send PostgreSQL's JSON text as it is unless _fields asks for a projection;
 * never counts on GET (Total-* on HEAD only).
 */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/json.h"
#include "store/store.h"
#include "resource/permissions.h"
#include "resource/resource.h"

#define TO_ALERT "{\"code\":\"soft-eol\",\"message\":\"_to is now deprecated, " \
	"you should use _before instead\",\"url\":\"https://kinto.readthedocs.io/en/stable/api/1.x/filtering.html\"}"

struct listing {
	struct pawl_query q;
	struct pawl_token token;
	struct pawl_list_request lr;
	struct pawl_list_page page;
	bool fetched;     /* page (GET) or count (HEAD) already read */
	long long count;  /* HEAD: the objects the caller may see */
	/* The _token's check, reported only once the caller may see the list. */
	enum pawl_err token_rc;
	struct pawl_error token_err;
};

long long pawl_resource_page_size(const struct pawl_config *cfg, const struct pawl_query *q)
{
	long long max = cfg->storage_max_fetch_size, limit;

	limit = q->has_limit ? q->limit : (cfg->paginate_by > 0 ? cfg->paginate_by : max);
	if (cfg->paginate_by > 0 && limit > cfg->paginate_by)
		limit = cfg->paginate_by;
	return limit > max ? max : limit;
}

/*
 * Where a token is good: this list (its URL and where its objects live) for
 * this user, or for anonymous callers. Signed with the token, so one list's
 * or one user's token is refused elsewhere (README: "Pagination").
 */
static const char *token_scope(const struct pawl_rctx *c)
{
	return pawl_arena_printf(c->req->arena, "%s %s\n%s%s", c->list_path, c->key.parent_id,
	    c->req->user_id != NULL ? "user " : "anonymous",
	    c->req->user_id != NULL ? c->req->user_id : "");
}

/* A number as the JSON string of its text ("123" for 123); anything else as it is. */
static json_object *as_id_string(struct pawl_arena *arena, json_object *v)
{
	if (!json_object_is_type(v, json_type_int))
		return v;
	return pawl_json_own(arena, json_object_new_string(json_object_to_json_string(v)));
}

/*
 * History's ids are strings, whatever the query string looks like: Kinto's
 * history resource reads ?collection_id=2024 as the id "2024", not as a number.
 */
static void history_ids_as_strings(struct pawl_arena *arena, struct pawl_query *q)
{
	static const char *const ids[] = { "bucket_id", "collection_id", "group_id", "record_id" };

	for (size_t i = 0; i < q->n_filters; i++) {
		struct pawl_filter *f = &q->filters[i];
		json_object *v = f->value, *copy;
		bool named = false;

		for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++)
			named = named || (f->field.depth == 1 && strcmp(f->field.name, ids[k]) == 0);
		if (!named || v == NULL)
			continue;
		if (!json_object_is_type(v, json_type_array)) {
			f->value = as_id_string(arena, v);
			continue;
		}
		if ((copy = pawl_json_own(arena, json_object_new_array())) == NULL)
			continue;
		for (size_t j = 0; j < json_object_array_length(v); j++)
			json_object_array_add(copy, json_object_get(as_id_string(arena,
			    json_object_array_get_idx(v, j))));
		f->value = copy;
	}
}

/*
 * Parses the query string and checks the token into l (its verdict is kept
 * for admit_token: authorization comes first); lock for DELETE.
 */
static enum pawl_err prepare(struct pawl_rctx *c, struct listing *l, bool lock,
    struct pawl_error *err)
{
	const char *scope;
	enum pawl_err rc;

	memset(l, 0, sizeof(*l));
	if ((rc = pawl_query_parse(c->req->arena, c->req->query, pawl_clock_wall_ms(), &l->q, err)) != PAWL_OK)
		return rc;
	if (c->res->history)
		history_ids_as_strings(c->req->arena, &l->q);
	if (l->q.token != NULL) {
		if ((scope = token_scope(c)) == NULL)
			return pawl_error_nomem(err);
		l->token_rc = pawl_token_decode(c->req->arena, &(struct pawl_token_signer){
		    c->app->cfg->userid_hmac_secret, scope }, &l->q, l->q.token, &l->token,
		    &l->token_err);
	}
	l->lr.key = &c->key;
	l->lr.query = &l->q;
	l->lr.after = NULL;
	l->lr.limit = pawl_resource_page_size(c->app->cfg, &l->q);
	l->lr.lock = lock;
	if (l->q.to_used)
		pawl_response_header(c->resp, "Alert", TO_ALERT);
	return PAWL_OK;
}

/*
 * The sort fields' values of the last object served: what the next page
 * resumes after. An object that does not parse fails the page (a page
 * without its Next-Page would end a client's sync early, silently).
 */
static enum pawl_err last_values(struct pawl_rctx *c, const struct listing *l, json_object **out,
    struct pawl_error *err)
{
	struct pawl_arena *arena = c->req->arena;
	const struct pawl_object *o = &l->page.items[l->page.n - 1];
	json_object *last = pawl_json_own(arena, json_object_new_object()), *data = NULL;
	enum pawl_err rc;
	size_t i, d;

	*out = NULL;
	if (last == NULL)
		return pawl_error_nomem(err);
	if ((rc = pawl_resource_parse_stored(arena, pawl_arena_printf(arena, "%s/%s", c->list_path,
	    o->id), o->data, &data, err)) != PAWL_OK)
		return rc;
	for (i = 0; i < l->q.n_sort; i++) {
		const struct pawl_field *f = &l->q.sort[i].field;
		json_object *v = data;

		for (d = 0; d < f->depth && v != NULL; d++)
			if (!json_object_is_type(v, json_type_object) ||
			    !json_object_object_get_ex(v, f->path[d], &v))
				v = NULL;
		if (f->kind == PAWL_FIELD_LAST_MODIFIED)
			v = json_object_new_int64(o->last_modified);
		else if (v != NULL)
			v = json_object_get(v);
		if (v != NULL)
			json_object_object_add(last, f->name, v);
	}
	*out = last;
	return PAWL_OK;
}

static enum pawl_err next_page(struct pawl_rctx *c, const struct listing *l,
    struct pawl_error *err)
{
	json_object *last;
	const char *token, *url;
	enum pawl_err rc;

	if (!l->page.more || l->page.n == 0)
		return PAWL_OK;
	if ((rc = last_values(c, l, &last, err)) != PAWL_OK)
		return rc;
	token = pawl_token_encode(c->req->arena, c->app->cfg->userid_hmac_secret, token_scope(c),
	    &l->q, last, 0);
	url = pawl_request_url(c->req, c->app->cfg, c->list_path);
	if (token != NULL && url != NULL)
		pawl_response_header(c->resp, "Next-Page", pawl_arena_printf(c->req->arena,
		    "%s?%s%s_limit=%lld&_token=%s", url, l->q.keep ? l->q.keep : "",
		    l->q.keep && *l->q.keep ? "&" : "", l->lr.limit, token));
	return PAWL_OK;
}

static enum pawl_err put_items(struct pawl_rctx *c, const struct listing *l,
    const char *const *datas, struct pawl_error *err)
{
	struct pawl_buf *b = &c->resp->body;
	enum pawl_err rc;
	size_t i;

	b->len = 0;
	pawl_buf_puts(b, "{\"data\":[");
	for (i = 0; i < l->page.n; i++) {
		const char *d = datas ? datas[i] : l->page.items[i].data;

		if (l->q.n_fields && (rc = pawl_resource_project(c->req->arena,
		    pawl_arena_printf(c->req->arena, "%s/%s", c->list_path, l->page.items[i].id),
		    d, &l->q, &d, err)) != PAWL_OK)
			return rc;
		if (i)
			pawl_buf_putc(b, ',');
		pawl_buf_puts(b, d);
	}
	pawl_buf_puts(b, "]}");
	return PAWL_OK;
}

/*
 * Without rights on the whole list, nothing shared with the caller and no
 * right to create there either: a refusal rather than an empty list (Kinto).
 */
static enum pawl_err deny_if_nothing(struct pawl_rctx *c, bool full, long long found,
    struct pawl_error *err)
{
	bool may_create = false;
	enum pawl_err rc;

	if (full || found > 0)
		return PAWL_OK;
	if ((rc = pawl_permissions_can_create(c, &may_create, err)) != PAWL_OK)
		return rc;
	return may_create ? PAWL_OK : pawl_permissions_deny(c, err);
}

/* A read event listing the page served (only when someone subscribed to reads). */
static enum pawl_err stage_reads(struct pawl_rctx *c, const struct listing *l, long long ts,
    struct pawl_error *err)
{
	enum pawl_err rc = PAWL_OK;
	size_t i;

	if (l->page.n == 0)
		return pawl_resource_stage(c, PAWL_EVENT_READ, ts, NULL, NULL, err);
	for (i = 0; i < l->page.n && rc == PAWL_OK; i++)
		rc = pawl_resource_stage(c, PAWL_EVENT_READ, ts, l->page.items[i].data, NULL, err);
	return rc;
}

/* Reads the page (GET) or the count (HEAD) into l, once. */
static enum pawl_err fetch(struct pawl_rctx *c, struct listing *l, struct pawl_error *err)
{
	enum pawl_err rc;

	if (l->fetched)
		return PAWL_OK;
	rc = c->req->method_bit == PAWL_METHOD_HEAD ?
	    pawl_store_count(c->app->store, c->req->arena, &l->lr, &l->count, err) :
	    pawl_store_fetch(c->app->store, c->req->arena, &l->lr, &l->page, err);
	l->fetched = rc == PAWL_OK;
	if (c->req->method_bit != PAWL_METHOD_HEAD)
		l->count = (long long)l->page.n;
	return rc;
}

/* After authorization: a foreign or altered token is a 400, a good one is where the page resumes. */
static enum pawl_err admit_token(struct listing *l, struct pawl_error *err)
{
	if (l->q.token == NULL)
		return PAWL_OK;
	if (l->token_rc != PAWL_OK) {
		*err = l->token_err;
		return l->token_rc;
	}
	l->lr.after = &l->token;
	return PAWL_OK;
}

/*
 * History, for a caller who may not read the whole bucket: the entries they
 * may read, counted up to HISTORY_FEW through the readers' index (whatever
 * the query string says, as Kinto's shared entries). None: refused, at the
 * cost of one index lookup, the bucket's size whatever it is. A few: pages
 * are read through that index too, not along a list where they are sparse.
 */
#define HISTORY_FEW 5000

static enum pawl_err authorize_history(struct pawl_rctx *c, struct listing *l,
    struct pawl_error *err)
{
	struct pawl_list_request any = l->lr;
	long long count = 0;
	enum pawl_err rc;

	any.query = NULL;
	any.after = NULL;
	any.lock = false;
	any.by_readers = true;
	any.count_cap = HISTORY_FEW;
	if ((rc = pawl_store_count(c->app->store, c->req->arena, &any, &count, err)) != PAWL_OK)
		return rc;
	if (count == 0)
		return pawl_permissions_deny(c, err);
	l->lr.by_readers = count < HISTORY_FEW;
	return admit_token(l, err);
}

/*
 * Authorization, before anything that reveals the list's state (the
 * preconditions' 304, 412 and ETag) and before the token is believed. A
 * caller who may read only some objects is authorized by what the list shares
 * with them (the first page: that page itself; a later page: a count, as a
 * token stands in for no check). Only then is a foreign or altered token a
 * 400, and a good one where the page resumes.
 */
static enum pawl_err authorize(struct pawl_rctx *c, struct listing *l, bool full,
    struct pawl_error *err)
{
	long long count = 0;
	enum pawl_err rc;

	if (!full && c->res->history)
		return authorize_history(c, l, err);

	if (!full && l->q.token != NULL &&
	    ((rc = pawl_store_count(c->app->store, c->req->arena, &l->lr, &count, err)) != PAWL_OK ||
	    (rc = deny_if_nothing(c, full, count, err)) != PAWL_OK))
		return rc;
	if (!full && l->q.token == NULL &&
	    ((rc = fetch(c, l, err)) != PAWL_OK || (rc = deny_if_nothing(c, full, l->count, err)) != PAWL_OK))
		return rc;
	return admit_token(l, err);
}

static enum pawl_err list_head(struct pawl_rctx *c, struct listing *l, struct pawl_error *err)
{
	const char *text;
	enum pawl_err rc;

	if ((rc = fetch(c, l, err)) != PAWL_OK)
		return rc;
	text = pawl_arena_printf(c->req->arena, "%lld", l->count);
	pawl_response_header(c->resp, "Total-Objects", text);
	pawl_response_header(c->resp, "Total-Records", text);
	c->resp->status = 200;
	return pawl_resource_stage(c, PAWL_EVENT_READ, 0, NULL, NULL, err);
}

enum pawl_err pawl_plural_get(struct pawl_rctx *c, struct pawl_error *err)
{
	struct listing l;
	long long ts;
	bool not_modified, full;
	enum pawl_err rc;

	if ((rc = prepare(c, &l, false, err)) != PAWL_OK ||
	    (rc = pawl_permissions_list_access(c, "read", &full, err)) != PAWL_OK)
		return rc;
	/* Without read on the whole list, only the objects shared with the caller. */
	if (!full)
		pawl_permissions_filter(c, "read", &l.lr);
	else if ((rc = pawl_resource_check_parent(c, err)) != PAWL_OK)
		return rc;
	if ((rc = pawl_store_list_timestamp(c->app->store, c->req->arena, &c->key,
	    c->app->cfg->readonly, &ts, err)) != PAWL_OK ||
	    (rc = authorize(c, &l, full, err)) != PAWL_OK ||
	    (rc = pawl_resource_list_preconditions(c, ts, &not_modified, err)) != PAWL_OK)
		return rc;
	pawl_resource_timestamp_headers(c->resp, ts);
	pawl_response_header(c->resp, "Cache-Control", "no-cache, no-store");
	if (not_modified) {
		c->resp->status = 304;
		return PAWL_OK;
	}
	if (c->req->method_bit == PAWL_METHOD_HEAD)
		return list_head(c, &l, err);
	if ((rc = fetch(c, &l, err)) != PAWL_OK)
		return rc;
	if ((rc = next_page(c, &l, err)) != PAWL_OK ||
	    (rc = put_items(c, &l, NULL, err)) != PAWL_OK)
		return rc;
	c->resp->status = 200;
	return stage_reads(c, &l, ts, err);
}

/* A POST whose body names no data.id (whatever its type: pawl_plural_post validates it). */
void pawl_plural_post_prepare(struct pawl_rctx *c)
{
	json_object *body = c->req->json, *data;

	c->fresh_id = !(body != NULL && json_object_is_type(body, json_type_object) &&
	    json_object_object_get_ex(body, "data", &data) &&
	    json_object_is_type(data, json_type_object) &&
	    json_object_object_get_ex(data, "id", NULL));
}

/*
 * The POST's object: the body's data.id (checked, then read: *found when it
 * is live, in *obj) or a new id. Sets c->id and c->uri.
 */
static enum pawl_err post_target(struct pawl_rctx *c, json_object *data, struct pawl_object *obj,
    bool *found, struct pawl_error *err)
{
	struct pawl_store_item it = { .key = &c->key, .lock = true };
	json_object *idv;
	enum pawl_err rc;

	*found = false;
	if (data != NULL && json_object_object_get_ex(data, "id", &idv)) {
		if (!json_object_is_type(idv, json_type_string) ||
		    !pawl_resource_id_valid(json_object_get_string(idv)))
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "data.id",
			    "Invalid object id");
		c->id = pawl_arena_strdup(c->req->arena, json_object_get_string(idv));
		it.id = c->id;
		if ((rc = pawl_store_get(c->app->store, c->req->arena, &it, obj, found, err)) != PAWL_OK)
			return rc;
		*found = *found && !obj->deleted;
	} else {
		c->id = pawl_resource_new_id(c->req->arena, c->res);
	}
	c->uri = pawl_arena_printf(c->req->arena, "%s/%s", c->list_path, c->id);
	if (c->id == NULL || c->uri == NULL)
		return pawl_error_nomem(err);
	return PAWL_OK;
}

/*
 * Creates the POST's object. The new object's ACL and its answer (read back,
 * or known outright under a fresh id) first, and only then the timestamp bump
 * and the object: the list's writers queue from the bump to the COMMIT.
 */
static enum pawl_err post_create(struct pawl_rctx *c, json_object *data, json_object *perms,
    struct pawl_error *err)
{
	struct pawl_store_item it = { .key = &c->key, .id = c->id };
	struct pawl_object obj;
	const char *acl;
	size_t len;
	enum pawl_err rc;

	if ((rc = pawl_resource_check_data(c, data, err)) != PAWL_OK ||
	    (rc = pawl_resource_take_server_fields(c, data, &it.ts, err)) != PAWL_OK ||
	    (rc = pawl_resource_members(c, &data, err)) != PAWL_OK ||
	    (rc = pawl_permissions_store(c, c->uri, perms, err)) != PAWL_OK ||
	    (rc = pawl_permissions_created_acl(c, c->uri, perms, &acl, err)) != PAWL_OK)
		return rc;
	if ((it.data = data ? pawl_json_compact(c->req->arena, data, &len) : "{}") == NULL)
		return pawl_error_nomem(err);
	if ((rc = pawl_store_put(c->app->store, c->req->arena, &it, &obj, err)) != PAWL_OK ||
	    (rc = pawl_resource_sync_members(c, c->uri, data, err)) != PAWL_OK)
		return rc;
	pawl_resource_item_response(c, 201, &obj, acl);
	return pawl_resource_stage(c, PAWL_EVENT_CREATE, obj.last_modified, obj.data, NULL, err);
}

enum pawl_err pawl_plural_post(struct pawl_rctx *c, struct pawl_error *err)
{
	json_object *data, *perms;
	struct pawl_object obj;
	bool found = false, not_modified, allowed = false;
	enum pawl_err rc;

	if ((rc = pawl_resource_envelope(c->req, &data, &perms, err)) != PAWL_OK ||
	    (rc = pawl_permissions_validate(c, perms, err)) != PAWL_OK ||
	    (rc = pawl_resource_prefetch_parent(c, err)) != PAWL_OK ||
	    (rc = pawl_permissions_can_create(c, &allowed, err)) != PAWL_OK)
		return rc;
	if (!allowed)
		return pawl_permissions_deny(c, err);
	if ((rc = pawl_resource_check_parent(c, err)) != PAWL_OK ||
	    (rc = post_target(c, data, &obj, &found, err)) != PAWL_OK)
		return rc;
	/*
	 * An existing id is answered as it is, without a write: a read (Kinto).
	 * Authorization before the preconditions: a 412 carries the object, and
	 * its status alone would tell a stranger what the object's timestamp is.
	 */
	if (found && (rc = pawl_permissions_require(c, c->res, c->uri, PAWL_PERMISSION_ATTRIBUTES,
	    err)) != PAWL_OK)
		return rc;
	if ((rc = pawl_resource_preconditions(c, found ? &obj : NULL, &not_modified, err)) != PAWL_OK)
		return rc;
	if (!found)
		return post_create(c, data, perms, err);
	pawl_resource_item_response(c, 200, &obj, pawl_permissions_answer(c, c->uri, err));
	return pawl_resource_stage(c, PAWL_EVENT_READ, obj.last_modified, obj.data, NULL, err);
}

enum pawl_err pawl_plural_delete(struct pawl_rctx *c, struct pawl_error *err)
{
	struct listing l;
	struct pawl_cascade *cascades;
	const char **tombs;
	long long ts;
	bool not_modified, full;
	enum pawl_err rc;
	size_t i;

	if ((rc = prepare(c, &l, true, err)) != PAWL_OK ||
	    (rc = pawl_permissions_list_access(c, "write", &full, err)) != PAWL_OK)
		return rc;
	/* History is purged by the bucket's writers only, whatever entries one may read. */
	if (!full && c->res->history)
		return pawl_permissions_deny(c, err);
	/* Without write on the whole list, only the objects the caller may write go. */
	if (!full)
		pawl_permissions_filter(c, "write", &l.lr);
	else if ((rc = pawl_resource_check_parent(c, err)) != PAWL_OK)
		return rc;
	/* Only live objects are deleted, whatever the filters on last_modified. */
	l.q.with_tombstones = false;
	if ((rc = pawl_store_list_timestamp(c->app->store, c->req->arena, &c->key, false, &ts,
	    err)) != PAWL_OK ||
	    (rc = authorize(c, &l, full, err)) != PAWL_OK ||
	    (rc = pawl_resource_list_preconditions(c, ts, &not_modified, err)) != PAWL_OK ||
	    (rc = fetch(c, &l, err)) != PAWL_OK)
		return rc;
	tombs = pawl_arena_calloc(c->req->arena, l.page.n + 1, sizeof(*tombs));
	cascades = pawl_arena_calloc(c->req->arena, l.page.n + 1, sizeof(*cascades));
	if (tombs == NULL || cascades == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < l.page.n; i++) {
		const char *id = l.page.items[i].id;
		struct pawl_store_item it = { .key = &c->key, .id = id };
		struct pawl_object tomb;

		if ((rc = pawl_store_bump(c->app->store, c->req->arena, &c->key, 0, &it.ts,
		    err)) != PAWL_OK ||
		    (rc = pawl_store_remove(c->app->store, c->req->arena, &it, &tomb, err)) != PAWL_OK)
			return rc;
		ts = it.ts;
		/* A history entry has no ACEs nor children of its own. */
		if (!c->res->history && (rc = pawl_resource_forget(c, pawl_arena_printf(
		    c->req->arena, "%s/%s", c->list_path, id), &cascades[i], err)) != PAWL_OK)
			return rc;
		tombs[i] = tomb.data;
	}
	/* The event's timestamp is the list's after the whole delete (docs/protocol.md §8). */
	for (i = 0; i < l.page.n; i++)
		if ((rc = pawl_resource_stage_delete(c, ts, tombs[i], l.page.items[i].data,
		    &cascades[i], err)) != PAWL_OK)
			return rc;
	/* Nothing deleted: Kinto reports a read. */
	if (l.page.n == 0 && (rc = pawl_resource_stage(c, PAWL_EVENT_READ, ts, NULL, NULL, err)) != PAWL_OK)
		return rc;
	l.q.n_fields = 0;
	if ((rc = next_page(c, &l, err)) != PAWL_OK ||
	    (rc = put_items(c, &l, tombs, err)) != PAWL_OK)
		return rc;
	c->resp->status = 200;
	pawl_resource_timestamp_headers(c->resp, ts);
	return PAWL_OK;
}
