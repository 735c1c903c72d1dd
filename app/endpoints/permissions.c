/*
 * GET and HEAD /v1/permissions: Kinto's permissions endpoint (routed only
 * with experimental_permissions_endpoint). Anyone may call it, as in Kinto;
 * what it lists is decided by the caller's own principals alone, the ones
 * authorization uses (user id, system.Everyone, system.Authenticated, their
 * groups), so another principal's ACE changes neither an entry, nor a count,
 * nor a page. One entry per live object on which they hold an ACE, plus what
 * the settings grant them (resource/permissions_tree.c); the statement is
 * store/perm_list.c, filters, sort and pages those of every list.
 */
#include <string.h>

#include "core/clock.h"
#include "core/json.h"
#include "query/query.h"
#include "resource/permissions.h"
#include "resource/resource.h"
#include "store/perm_list.h"
#include "endpoints/permissions.h"

#define ENDPOINT "/permissions"

/* An entry's fields (Kinto's schema): these and every resource's placeholders and `<name>_id`. */
static const char *const entry_fields[] = { "id", "uri", "resource_name", "permissions", NULL };

static bool known_field(const struct pawl_resource_table *all, const char *root)
{
	size_t i, n;

	for (i = 0; entry_fields[i] != NULL; i++)
		if (strcmp(entry_fields[i], root) == 0)
			return true;
	for (i = 0; i < all->n; i++) {
		const char *p = all->items[i].item_pattern;

		n = strlen(all->items[i].name);
		if (strncmp(root, all->items[i].name, n) == 0 && strcmp(root + n, "_id") == 0)
			return true;
		while (p != NULL && (p = strchr(p, '{')) != NULL) {
			n = strcspn(++p, "}");
			if (strlen(root) == n && strncmp(root, p, n) == 0)
				return true;
		}
	}
	return false;
}

/* Ids are strings: ?bucket_id=2024 names the bucket "2024", as Kinto reads it. */
static json_object *as_string(struct pawl_arena *arena, json_object *v)
{
	json_object *copy;

	if (v == NULL || json_object_is_type(v, json_type_string))
		return v;
	if (!json_object_is_type(v, json_type_array))
		return pawl_json_own(arena, json_object_new_string(json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN)));
	if ((copy = pawl_json_own(arena, json_object_new_array())) == NULL)
		return NULL;
	for (size_t j = 0; j < json_object_array_length(v); j++) {
		json_object *item = json_object_array_get_idx(v, j);

		json_object_array_add(copy, json_object_is_type(item, json_type_string) ?
		    json_object_get(item) : json_object_new_string(json_object_to_json_string_ext(item,
		    JSON_C_TO_STRING_PLAIN)));
	}
	return copy;
}

static bool id_like(const struct pawl_field *f)
{
	size_t n = strlen(f->name);

	return f->depth == 1 && (strcmp(f->name, "id") == 0 ||
	    (n > 3 && strcmp(f->name + n - 3, "_id") == 0));
}

/*
 * Kinto's rules for this list: last_modified is no field here (its filters
 * and sort are dropped, _since and _before with them), an unknown field is a
 * 400, and the uri breaks ties. Every field is a key of the entry's JSON.
 */
static enum pawl_err adapt(struct pawl_arena *arena, const struct pawl_resource_table *all,
    struct pawl_query *q, struct pawl_error *err)
{
	size_t i, n = 0;
	bool by_uri = false;

	for (i = 0; i < q->n_filters; i++) {
		struct pawl_filter *f = &q->filters[i];

		if (f->field.kind == PAWL_FIELD_LAST_MODIFIED)
			continue;
		if (!known_field(all, f->field.path[0]))
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "querystring", f->field.name,
			    "Unknown filter field '%s'", f->field.name);
		f->field.kind = PAWL_FIELD_DATA;
		if (id_like(&f->field) && f->op != PAWL_FILTER_HAS && f->op != PAWL_FILTER_LIKE &&
		    (f->value = as_string(arena, f->value)) == NULL)
			return pawl_error_nomem(err);
		q->filters[n++] = *f;
	}
	q->n_filters = n;
	q->has_since = q->has_before = q->with_tombstones = false;
	for (i = n = 0; i < q->n_sort; i++) {
		struct pawl_sort *s = &q->sort[i];

		if (s->field.kind == PAWL_FIELD_LAST_MODIFIED)
			continue;
		if (!known_field(all, s->field.path[0]))
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "querystring", "_sort",
			    "Unknown sort field '%s'", s->field.name);
		s->field.kind = PAWL_FIELD_DATA;
		by_uri = by_uri || strcmp(s->field.name, "uri") == 0;
		q->sort[n++] = *s;
	}
	q->n_sort = n;
	if (!by_uri) {
		static const char *uri_path[] = { "uri" };

		q->sort[q->n_sort++] = (struct pawl_sort){ .field = { .name = "uri",
		    .kind = PAWL_FIELD_DATA, .path = uri_path, .depth = 1 } };
	}
	return PAWL_OK;
}

/*
 * An item pattern's shape (store/perm_list.h): its segment count, the static
 * segment before the id, and each placeholder's name and position.
 */
static bool kind_of(struct pawl_arena *arena, const char *pattern, struct pawl_perm_kinds *k)
{
	struct pawl_buf keys, at;
	const char *p = pattern, *prev = NULL, *last = NULL;
	int pos = 1;

	pawl_buf_init(&keys, arena);
	pawl_buf_init(&at, arena);
	while (*p == '/') {
		size_t n = strcspn(++p, "/");

		pos++;
		prev = last;
		last = p;
		if (n > 2 && p[0] == '{' && p[n - 1] == '}') {
			pawl_buf_puts(&keys, keys.len ? "," : "");
			pawl_buf_append(&keys, p + 1, n - 2);
			pawl_buf_printf(&at, "%s%d", at.len ? "," : "", pos);
		}
		p += n;
	}
	if (prev == NULL)
		return false;
	k->segment[k->n] = pawl_arena_strndup(arena, prev, strcspn(prev, "/"));
	k->depth[k->n] = pawl_arena_printf(arena, "%d", pos);
	k->keys[k->n] = keys.data;
	k->at[k->n] = at.data;
	return !keys.failed && !at.failed && keys.data != NULL && at.data != NULL &&
	    k->segment[k->n] != NULL && k->depth[k->n] != NULL;
}

/* The last static segment of a list pattern ("collections"). */
static const char *segment_of(struct pawl_arena *arena, const char *list_pattern)
{
	const char *slash = strrchr(list_pattern, '/');

	return pawl_arena_strdup(arena, slash != NULL ? slash + 1 : list_pattern);
}

#define ARR(n) pawl_arena_calloc(arena, (n) + 1, sizeof(const char *))

static size_t children(const struct pawl_resource_table *all, const struct pawl_resource *r)
{
	size_t c = 0;

	for (size_t j = 0; j < all->n; j++)
		c += all->items[j].parent == r;
	return c;
}

/* The implied rows of r: for read, write and each `<child>:create`, what it shows. */
static bool implied_of(struct pawl_arena *arena, const struct pawl_resource_table *all,
    const struct pawl_resource *r, struct pawl_perm_implied *im)
{
	size_t n_perms = 0, j, m;
	const char **perms = ARR(2 + children(all, r));

	if (perms == NULL)
		return false;
	perms[n_perms++] = "read";
	perms[n_perms++] = "write";
	for (j = 0; j < all->n; j++)
		if (all->items[j].parent == r &&
		    (perms[n_perms++] = pawl_arena_printf(arena, "%s:create", all->items[j].name)) == NULL)
			return false;
	for (j = 0; j < n_perms; j++) {
		const char *const *to = pawl_permissions_implied(arena, all, r, perms[j]);

		if (to == NULL)
			return false;
		for (m = 0; to[m] != NULL; m++, im->n++) {
			im->name[im->n] = r->name;
			im->perm[im->n] = perms[j];
			im->implied[im->n] = to[m];
		}
	}
	return true;
}

/* Every resource whose objects have URIs (per-user ones have none), and its tree. */
static bool kinds_of(struct pawl_arena *arena, const struct pawl_resource_table *all,
    struct pawl_perm_list *pl)
{
	struct pawl_perm_kinds *k = &pl->kinds;
	struct pawl_perm_implied *im = &pl->implied;
	size_t cap = 0, i, c;

	/* Rows per resource: (2 + children) permissions, each showing at most 3 + children. */
	for (i = 0; i < all->n; i++) {
		c = children(all, &all->items[i]);
		cap += (2 + c) * (3 + c);
	}
	if ((k->name = ARR(all->n)) == NULL || (k->segment = ARR(all->n)) == NULL ||
	    (k->depth = ARR(all->n)) == NULL || (k->keys = ARR(all->n)) == NULL ||
	    (k->at = ARR(all->n)) == NULL || (im->name = ARR(cap)) == NULL ||
	    (im->perm = ARR(cap)) == NULL || (im->implied = ARR(cap)) == NULL)
		return false;
	for (i = 0; i < all->n; i++) {
		const struct pawl_resource *r = &all->items[i];

		if (r->per_user)
			continue;
		k->name[k->n] = r->name;
		if (!kind_of(arena, r->item_pattern, k) || !implied_of(arena, all, r, im))
			return false;
		k->n++;
	}
	return true;
}

/* The settings' grants: on the root, or on every object of a kind. */
static bool settings_of(struct pawl_arena *arena, const struct pawl_config *cfg,
    const struct pawl_resource_table *all, struct pawl_perm_list *pl)
{
	struct pawl_settings_grant *g;
	struct pawl_perm_everywhere *e = &pl->everywhere;
	size_t n = pawl_permissions_from_settings(arena, cfg, all, pl->principals, &g), i;

	if (g == NULL || (pl->root = ARR(n)) == NULL || (e->name = ARR(n)) == NULL ||
	    (e->segment = ARR(n)) == NULL || (e->perm = ARR(n)) == NULL || (e->top = ARR(n)) == NULL)
		return false;
	for (i = 0; i < n; i++) {
		if (g[i].on == NULL) {
			pl->root[pl->n_root++] = g[i].permission;
			continue;
		}
		e->name[e->n] = g[i].on->name;
		e->perm[e->n] = g[i].permission;
		e->top[e->n] = g[i].on->parent == NULL ? "t" : "f";
		if ((e->segment[e->n++] = segment_of(arena, g[i].on->list_pattern)) == NULL)
			return false;
	}
	return true;
}

/* Where a token is good: this endpoint, for this caller (anonymous included). */
static const char *token_scope(struct pawl_request *req)
{
	return pawl_arena_printf(req->arena, "%s\n%s%s", ENDPOINT,
	    req->user_id != NULL ? "user " : "anonymous", req->user_id != NULL ? req->user_id : "");
}

/* The sort fields' values of the last entry served: where the next page resumes. */
static enum pawl_err next_page(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, const struct pawl_perm_list *pl, const char *last_text,
    struct pawl_error *err)
{
	const struct pawl_query *q = pl->query;
	json_object *entry, *last = pawl_json_own(req->arena, json_object_new_object()), *v;
	const char *token, *url;
	enum pawl_err rc;

	if (last == NULL)
		return pawl_error_nomem(err);
	if ((rc = pawl_resource_parse_stored(req->arena, ENDPOINT, last_text, &entry, err)) != PAWL_OK)
		return rc;
	for (size_t i = 0; i < q->n_sort; i++) {
		const struct pawl_field *f = &q->sort[i].field;

		v = entry;
		for (size_t d = 0; d < f->depth && v != NULL; d++)
			if (!json_object_is_type(v, json_type_object) ||
			    !json_object_object_get_ex(v, f->path[d], &v))
				v = NULL;
		if (v != NULL)
			json_object_object_add(last, f->name, json_object_get(v));
	}
	token = pawl_token_encode(req->arena, app->cfg->userid_hmac_secret, token_scope(req), q,
	    last, 0);
	url = pawl_request_url(req, app->cfg, ENDPOINT);
	if (token == NULL || url == NULL)
		return pawl_error_nomem(err);
	pawl_response_header(resp, "Next-Page", pawl_arena_printf(req->arena,
	    "%s?%s%s_limit=%lld&_token=%s", url, q->keep ? q->keep : "",
	    q->keep && *q->keep ? "&" : "", pl->limit, token));
	return PAWL_OK;
}

static enum pawl_err put_page(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, const struct pawl_perm_list *pl, struct pawl_error *err)
{
	const char **entries;
	size_t n, i;
	bool more;
	enum pawl_err rc;

	if ((rc = pawl_perm_list_fetch(app->pg, req->arena, pl, &entries, &n, &more, err)) != PAWL_OK)
		return rc;
	if (more && n > 0 && (rc = next_page(app, req, resp, pl, entries[n - 1], err)) != PAWL_OK)
		return rc;
	resp->body.len = 0;
	pawl_buf_puts(&resp->body, "{\"data\":[");
	for (i = 0; i < n; i++) {
		const char *d = entries[i];

		if (pl->query->n_fields > 0 && (rc = pawl_resource_project(req->arena, ENDPOINT, d,
		    pl->query, &d, err)) != PAWL_OK)
			return rc;
		pawl_buf_puts(&resp->body, i ? "," : "");
		pawl_buf_puts(&resp->body, d);
	}
	pawl_buf_puts(&resp->body, "]}");
	return resp->body.failed ? pawl_error_nomem(err) : PAWL_OK;
}

/* The query string, Kinto's rules for this list, the token, and what the caller holds. */
static enum pawl_err prepare(struct pawl_app *app, struct pawl_request *req,
    struct pawl_query *q, struct pawl_token *after, struct pawl_perm_list *pl,
    struct pawl_error *err)
{
	enum pawl_err rc;

	if ((rc = pawl_query_parse(req->arena, req->query, pawl_clock_wall_ms(), q, err)) != PAWL_OK ||
	    (rc = adapt(req->arena, app->resources, q, err)) != PAWL_OK)
		return rc;
	memset(pl, 0, sizeof(*pl));
	if (q->token != NULL) {
		if ((rc = pawl_token_decode(req->arena, &(struct pawl_token_signer){
		    app->cfg->userid_hmac_secret, token_scope(req) }, q, q->token, after, err)) != PAWL_OK)
			return rc;
		pl->after = after;
	}
	pl->query = q;
	pl->limit = pawl_resource_page_size(app->cfg, q);
	if ((pl->principals = pawl_permissions_principals(req->arena, req->user_id)) == NULL ||
	    !kinds_of(req->arena, app->resources, pl) ||
	    !settings_of(req->arena, app->cfg, app->resources, pl))
		return pawl_error_nomem(err);
	return PAWL_OK;
}

enum pawl_err pawl_permissions_handle(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err)
{
	struct pawl_query *q = pawl_arena_calloc(req->arena, 1, sizeof(*q));
	struct pawl_token *after = pawl_arena_calloc(req->arena, 1, sizeof(*after));
	struct pawl_perm_list pl;
	long long count;
	enum pawl_err rc;

	(void)txn;
	if (q == NULL || after == NULL)
		return pawl_error_nomem(err);
	if ((rc = prepare(app, req, q, after, &pl, err)) != PAWL_OK)
		return rc;
	/* What one caller holds: no cache may keep it for another, nor serve it later. */
	pawl_response_header(resp, "Cache-Control", "no-cache, no-store");
	if (q->to_used)
		pawl_response_header(resp, "Alert", "{\"code\":\"soft-eol\",\"message\":\"_to is now "
		    "deprecated, you should use _before instead\",\"url\":"
		    "\"https://kinto.readthedocs.io/en/stable/api/1.x/filtering.html\"}");
	if (req->method_bit == PAWL_METHOD_HEAD) {
		const char *text;

		if ((rc = pawl_perm_list_count(app->pg, req->arena, &pl, &count, err)) != PAWL_OK)
			return rc;
		text = pawl_arena_printf(req->arena, "%lld", count);
		pawl_response_header(resp, "Total-Objects", text);
		pawl_response_header(resp, "Total-Records", text);
		resp->status = 200;
		return PAWL_OK;
	}
	if ((rc = put_page(app, req, resp, &pl, err)) != PAWL_OK)
		return rc;
	resp->status = 200;
	return PAWL_OK;
}
