/*
 * Item endpoints (GET, PUT, PATCH, DELETE on /.../{id}) for every resource.
 * Writes run in one transaction: parent check, row lock, preconditions,
 * list-timestamp bump, write. Never answers before the commit succeeded.
 */
#include <string.h>
#include <strings.h>

#include "pawl/json.h"
#include "pawl/patch.h"
#include "pawl/query.h"
#include "pawl/resource.h"
#include "pawl/str.h"

/*
 * A client's data.last_modified is honoured as a floor for the new timestamp
 * (so it can move an object forward, never backwards: the list stays
 * strictly increasing in commit order). Then the server-owned fields go.
 */
static long long take_server_fields(json_object *data)
{
	json_object *lm;
	long long floor = 0;

	if (data == NULL)
		return 0;
	if (json_object_object_get_ex(data, "last_modified", &lm) &&
	    json_object_is_type(lm, json_type_int) && json_object_get_int64(lm) > 0)
		floor = json_object_get_int64(lm);
	json_object_object_del(data, "id");
	json_object_object_del(data, "last_modified");
	return floor;
}

static enum pawl_err check_body_id(struct pawl_rctx *c, json_object *data, struct pawl_error *err)
{
	json_object *id;

	if (data != NULL && json_object_object_get_ex(data, "id", &id) &&
	    (!json_object_is_type(id, json_type_string) || strcmp(json_object_get_string(id), c->id) != 0))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "data.id",
		    "Object id does not match existing object");
	return PAWL_OK;
}

/* Loads the object (locked when writing); *live false for a tombstone or nothing. */
static enum pawl_err load(struct pawl_rctx *c, bool lock, struct pawl_object *obj, bool *live,
    struct pawl_error *err)
{
	bool found = false;
	enum pawl_err rc;

	if ((rc = pawl_resource_check_parent(c, err)) != PAWL_OK)
		return rc;
	rc = pawl_objects_get(c->app->pg, c->req->arena, &c->key, c->id, lock, obj, &found, err);
	*live = rc == PAWL_OK && found && !obj->deleted;
	return rc;
}

/* Loads the live object under lock and checks preconditions; 404 when absent. */
static enum pawl_err load_existing(struct pawl_rctx *c, struct pawl_object *obj,
    struct pawl_error *err)
{
	bool live, not_modified;
	enum pawl_err rc;

	if ((rc = load(c, true, obj, &live, err)) != PAWL_OK ||
	    (rc = pawl_resource_preconditions(c, live ? obj : NULL, &not_modified, err)) != PAWL_OK)
		return rc;
	if (!live)
		return pawl_resource_not_found(c, c->id, c->res->name, PAWL_ERR_NO_OBJECT, err);
	return PAWL_OK;
}

static enum pawl_err item_get(struct pawl_rctx *c, struct pawl_error *err)
{
	struct pawl_object obj;
	struct pawl_query q;
	bool live, not_modified;
	enum pawl_err rc;

	memset(&q, 0, sizeof(q));
	if ((rc = pawl_query_parse(c->req->arena, c->req->query, (1LL << 62), &q, err)) != PAWL_OK ||
	    (rc = load(c, false, &obj, &live, err)) != PAWL_OK ||
	    (rc = pawl_resource_preconditions(c, live ? &obj : NULL, &not_modified, err)) != PAWL_OK)
		return rc;
	if (!live)
		return pawl_resource_not_found(c, c->id, c->res->name, PAWL_ERR_NO_OBJECT, err);
	pawl_response_header(c->resp, "Cache-Control", "no-cache, no-store");
	if (not_modified) {
		c->resp->status = 304;
		pawl_resource_timestamp_headers(c->resp, obj.last_modified);
		return PAWL_OK;
	}
	if (q.n_fields > 0)
		obj.data = pawl_resource_project(c->req->arena, obj.data, q.fields, q.n_fields);
	pawl_resource_item_response(c, 200, &obj, true);
	return pawl_resource_stage(c, PAWL_EVENT_READ, obj.last_modified, obj.data, NULL, err);
}

/* Bumps the list timestamp and stores data as the object's new content. */
static enum pawl_err store(struct pawl_rctx *c, json_object *data, long long floor,
    struct pawl_object *out, struct pawl_error *err)
{
	long long ts;
	size_t len;
	enum pawl_err rc;
	const char *text = data ? pawl_json_compact(c->req->arena, data, &len) : "{}";

	if (text == NULL)
		return pawl_error_set(err, PAWL_ERR_NOMEM, "out of memory");
	if ((rc = pawl_objects_bump(c->app->pg, c->req->arena, &c->key, floor, &ts, err)) != PAWL_OK)
		return rc;
	return pawl_objects_put(c->app->pg, c->req->arena, &c->key, c->id, text, ts, out, err);
}

static enum pawl_err do_put(struct pawl_rctx *c, struct pawl_error *err)
{
	json_object *data, *perms;
	struct pawl_object old, obj;
	bool live, not_modified;
	enum pawl_err rc;

	if ((rc = pawl_resource_envelope(c->req, &data, &perms, err)) != PAWL_OK ||
	    (rc = check_body_id(c, data, err)) != PAWL_OK ||
	    (rc = load(c, true, &old, &live, err)) != PAWL_OK ||
	    (rc = pawl_resource_preconditions(c, live ? &old : NULL, &not_modified, err)) != PAWL_OK)
		return rc;
	/* Kinto: without "data", an existing object keeps its data. */
	if (data == NULL && live && perms != NULL &&
	    pawl_json_parse(c->req->arena, old.data, strlen(old.data), 1000, &data, err) != PAWL_OK)
		return pawl_error_set(err, PAWL_ERR_INTERNAL, "stored object does not parse");
	if ((rc = store(c, data, take_server_fields(data), &obj, err)) != PAWL_OK)
		return rc;
	pawl_resource_item_response(c, live ? 200 : 201, &obj, true);
	return pawl_resource_stage(c, live ? PAWL_EVENT_UPDATE : PAWL_EVENT_CREATE, obj.last_modified,
	    obj.data, live ? old.data : NULL, err);
}

enum patch_kind { PATCH_SHALLOW, PATCH_MERGE, PATCH_JSON };

static enum patch_kind patch_kind_of(const struct pawl_request *req)
{
	const char *ct = pawl_request_param(req, "CONTENT_TYPE");

	if (ct != NULL && pawl_str_iprefix(ct, "application/merge-patch+json"))
		return PATCH_MERGE;
	if (ct != NULL && pawl_str_iprefix(ct, "application/json-patch+json"))
		return PATCH_JSON;
	return PATCH_SHALLOW;
}

/* Applies the request's patch document to current (the stored data). */
static enum pawl_err apply_patch(struct pawl_rctx *c, json_object **current,
    json_object **changes, struct pawl_error *err)
{
	json_object *data = NULL, *perms = NULL, *doc;
	enum pawl_err rc;

	*changes = NULL;
	if (patch_kind_of(c->req) == PATCH_JSON) {
		if (c->req->json == NULL || !json_object_is_type(c->req->json, json_type_array))
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
			    "JSON Patch body must be an array of operations");
		doc = pawl_json_own(c->req->arena, json_object_new_object());
		json_object_object_add(doc, "data", json_object_get(*current));
		json_object_object_add(doc, "permissions", json_object_new_object());
		if ((rc = pawl_patch_json(doc, c->req->json, err)) != PAWL_OK)
			return rc;
		if (!json_object_object_get_ex(doc, "data", current) ||
		    !json_object_is_type(*current, json_type_object))
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
			    "JSON Patch operation failed: data must remain an object");
		return PAWL_OK;
	}
	if ((rc = pawl_resource_envelope(c->req, &data, &perms, err)) != PAWL_OK)
		return rc;
	if (data == NULL && perms == NULL)
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
		    "Provide at least one of data or permissions");
	if ((rc = check_body_id(c, data, err)) != PAWL_OK)
		return rc;
	*changes = data;
	if (data == NULL)
		return PAWL_OK;
	if (patch_kind_of(c->req) == PATCH_MERGE)
		*current = pawl_patch_merge(*current, data);
	else
		pawl_patch_shallow(*current, data);
	return PAWL_OK;
}

/*
 * Response-Behavior: full (the object), light (requested fields whose value
 * changed) or diff (of those, the ones whose stored value differs from what
 * was sent), as Kinto computes them.
 */
static const char *behave(struct pawl_rctx *c, const char *behavior, json_object *old,
    json_object *changes, const struct pawl_object *stored, struct pawl_error *err)
{
	json_object *now, *out;
	size_t len;
	bool diff = strcasecmp(behavior, "diff") == 0;

	if (changes == NULL || pawl_json_parse(c->req->arena, stored->data, strlen(stored->data),
	    1000, &now, err) != PAWL_OK)
		return "{}";
	out = pawl_json_own(c->req->arena, json_object_new_object());
	json_object_object_foreach(changes, key, sent) {
		json_object *before = NULL, *after = NULL;

		json_object_object_get_ex(old, key, &before);
		if (!json_object_object_get_ex(now, key, &after) || json_object_equal(before, after))
			continue;
		if (diff && json_object_equal(sent, after))
			continue;
		json_object_object_add(out, key, json_object_get(after));
	}
	return pawl_json_compact(c->req->arena, out, &len);
}

static enum pawl_err do_patch(struct pawl_rctx *c, struct pawl_error *err)
{
	const char *behavior = pawl_request_header(c->req, "Response-Behavior");
	json_object *current, *original, *changes;
	struct pawl_object old, obj;
	enum pawl_err rc;

	if (behavior != NULL && strcasecmp(behavior, "full") != 0 &&
	    strcasecmp(behavior, "light") != 0 && strcasecmp(behavior, "diff") != 0)
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "header", "Response-Behavior",
		    "\"%s\" is not one of full, light, diff", behavior);
	if ((rc = load_existing(c, &old, err)) != PAWL_OK)
		return rc;
	if (pawl_json_parse(c->req->arena, old.data, strlen(old.data), 1000, &current, err) != PAWL_OK ||
	    pawl_json_parse(c->req->arena, old.data, strlen(old.data), 1000, &original, err) != PAWL_OK)
		return pawl_error_set(err, PAWL_ERR_INTERNAL, "stored object does not parse");
	if ((rc = apply_patch(c, &current, &changes, err)) != PAWL_OK)
		return rc;
	if ((rc = store(c, current, take_server_fields(current), &obj, err)) != PAWL_OK)
		return rc;
	if (behavior != NULL && strcasecmp(behavior, "full") != 0)
		obj.data = behave(c, behavior, original, changes, &obj, err);
	pawl_resource_item_response(c, 200, &obj, true);
	/* As in Kinto, `new` is what the client was sent. */
	return pawl_resource_stage(c, PAWL_EVENT_UPDATE, obj.last_modified, obj.data, old.data, err);
}

static enum pawl_err do_delete(struct pawl_rctx *c, struct pawl_error *err)
{
	struct pawl_object old, tomb;
	struct pawl_query q;
	long long ts, floor = 0;
	enum pawl_err rc;
	size_t i;

	memset(&q, 0, sizeof(q));
	if ((rc = pawl_query_parse(c->req->arena, c->req->query, (1LL << 62), &q, err)) != PAWL_OK)
		return rc;
	/* ?last_modified=<ms> sets the tombstone's timestamp when it is newer. */
	for (i = 0; i < q.n_filters; i++)
		if (q.filters[i].field.kind == PAWL_FIELD_LAST_MODIFIED && q.filters[i].op == PAWL_FILTER_EQ)
			floor = json_object_get_int64(q.filters[i].value);
	if ((rc = load_existing(c, &old, err)) != PAWL_OK ||
	    (rc = pawl_objects_bump(c->app->pg, c->req->arena, &c->key, floor, &ts, err)) != PAWL_OK ||
	    (rc = pawl_objects_delete(c->app->pg, c->req->arena, &c->key, c->id, ts, &tomb, err)) != PAWL_OK)
		return rc;
	if (c->res->has_children &&
	    (rc = pawl_objects_delete_children(c->app->pg, c->req->arena, c->uri, err)) != PAWL_OK)
		return rc;
	pawl_resource_item_response(c, 200, &tomb, false);
	return pawl_resource_stage(c, PAWL_EVENT_DELETE, tomb.last_modified, tomb.data, old.data, err);
}

enum pawl_err pawl_item_handle(struct pawl_rctx *c, struct pawl_error *err)
{
	switch (c->req->method_bit) {
	case PAWL_METHOD_GET:
		return item_get(c, err);
	case PAWL_METHOD_PUT:
		return pawl_resource_write(c, do_put, err);
	case PAWL_METHOD_PATCH:
		return pawl_resource_write(c, do_patch, err);
	case PAWL_METHOD_DELETE:
		return pawl_resource_write(c, do_delete, err);
	default:
		return pawl_error_set(err, PAWL_ERR_METHOD, "Method not allowed on this endpoint.");
	}
}
