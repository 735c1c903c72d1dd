/*
 * Item endpoints (GET, PUT, PATCH, DELETE on /.../{id}) for every resource.
 * Writes run in one transaction: parent check, row lock, preconditions,
 * list-timestamp bump, write. Never answers before the commit succeeded.
 */
#include <string.h>

#include "pawl/json.h"
#include "pawl/resource.h"

static const char *const reserved[] = { "id", "last_modified", NULL };

/* Serialises data without the fields the server owns. */
static const char *storable(struct pawl_arena *arena, json_object *data)
{
	size_t i, len;

	if (data == NULL)
		return "{}";
	for (i = 0; reserved[i] != NULL; i++)
		json_object_object_del(data, reserved[i]);
	return pawl_json_compact(arena, data, &len);
}

static enum pawl_err check_body_id(struct pawl_rctx *c, json_object *data, struct pawl_error *err)
{
	json_object *id;

	if (data != NULL && json_object_object_get_ex(data, "id", &id) &&
	    (!json_object_is_type(id, json_type_string) || strcmp(json_object_get_string(id), c->id) != 0))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "data.id",
		    "Does not match the object id in the URL");
	return PAWL_OK;
}

/* Loads the live object (locked when writing); *live false for a tombstone or nothing. */
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

static enum pawl_err item_get(struct pawl_rctx *c, struct pawl_error *err)
{
	struct pawl_object obj;
	bool live, not_modified;
	enum pawl_err rc;

	if ((rc = load(c, false, &obj, &live, err)) != PAWL_OK)
		return rc;
	if ((rc = pawl_resource_preconditions(c, live ? &obj : NULL, &not_modified, err)) != PAWL_OK)
		return rc;
	if (!live)
		return pawl_resource_not_found(c, c->id, c->res->name, PAWL_ERR_NO_OBJECT, err);
	if (not_modified) {
		c->resp->status = 304;
		pawl_resource_timestamp_headers(c->resp, obj.last_modified);
		return PAWL_OK;
	}
	pawl_resource_item_response(c, 200, &obj, true);
	return PAWL_OK;
}

static enum pawl_err do_put(struct pawl_rctx *c, struct pawl_error *err)
{
	json_object *data, *perms;
	struct pawl_object old, obj;
	bool live, not_modified;
	long long ts;
	enum pawl_err rc;

	if ((rc = pawl_resource_envelope(c->req, &data, &perms, err)) != PAWL_OK ||
	    (rc = check_body_id(c, data, err)) != PAWL_OK ||
	    (rc = load(c, true, &old, &live, err)) != PAWL_OK ||
	    (rc = pawl_resource_preconditions(c, live ? &old : NULL, &not_modified, err)) != PAWL_OK ||
	    (rc = pawl_objects_bump(c->app->pg, c->req->arena, &c->key, 0, &ts, err)) != PAWL_OK ||
	    (rc = pawl_objects_put(c->app->pg, c->req->arena, &c->key, c->id,
	    storable(c->req->arena, data), ts, &obj, err)) != PAWL_OK)
		return rc;
	pawl_resource_item_response(c, live ? 200 : 201, &obj, true);
	return PAWL_OK;
}

/* application/json PATCH: top-level fields of data replace the stored ones. */
static enum pawl_err do_patch(struct pawl_rctx *c, struct pawl_error *err)
{
	json_object *data, *perms, *merged;
	struct pawl_object old, obj;
	bool live, not_modified;
	long long ts;
	enum pawl_err rc;

	if ((rc = pawl_resource_envelope(c->req, &data, &perms, err)) != PAWL_OK)
		return rc;
	if (data == NULL && perms == NULL)
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
		    "Provide at least one of data or permissions");
	if ((rc = check_body_id(c, data, err)) != PAWL_OK ||
	    (rc = load(c, true, &old, &live, err)) != PAWL_OK ||
	    (rc = pawl_resource_preconditions(c, live ? &old : NULL, &not_modified, err)) != PAWL_OK)
		return rc;
	if (!live)
		return pawl_resource_not_found(c, c->id, c->res->name, PAWL_ERR_NO_OBJECT, err);
	if ((rc = pawl_json_parse(c->req->arena, old.data, strlen(old.data), 1000, &merged, err)) != PAWL_OK)
		return pawl_error_set(err, PAWL_ERR_INTERNAL, "stored object does not parse");
	if (data != NULL) {
		json_object_object_foreach(data, key, val)
			json_object_object_add(merged, key, json_object_get(val));
	}
	if ((rc = pawl_objects_bump(c->app->pg, c->req->arena, &c->key, 0, &ts, err)) != PAWL_OK ||
	    (rc = pawl_objects_put(c->app->pg, c->req->arena, &c->key, c->id,
	    storable(c->req->arena, merged), ts, &obj, err)) != PAWL_OK)
		return rc;
	pawl_resource_item_response(c, 200, &obj, true);
	return PAWL_OK;
}

static enum pawl_err do_delete(struct pawl_rctx *c, struct pawl_error *err)
{
	struct pawl_object old, tomb;
	bool live, not_modified;
	long long ts;
	enum pawl_err rc;

	if ((rc = load(c, true, &old, &live, err)) != PAWL_OK ||
	    (rc = pawl_resource_preconditions(c, live ? &old : NULL, &not_modified, err)) != PAWL_OK)
		return rc;
	if (!live)
		return pawl_resource_not_found(c, c->id, c->res->name, PAWL_ERR_NO_OBJECT, err);
	if ((rc = pawl_objects_bump(c->app->pg, c->req->arena, &c->key, 0, &ts, err)) != PAWL_OK ||
	    (rc = pawl_objects_delete(c->app->pg, c->req->arena, &c->key, c->id, ts, &tomb, err)) != PAWL_OK ||
	    (rc = pawl_objects_delete_children(c->app->pg, c->req->arena, c->uri, err)) != PAWL_OK)
		return rc;
	pawl_resource_item_response(c, 200, &tomb, false);
	return PAWL_OK;
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
