/*
 * Object endpoints (Kinto's term: GET, PUT, PATCH, DELETE on /.../{id}) for
 * every resource. Writes run in one transaction: parent check, row lock, preconditions,
 * list-timestamp bump, write. Never answers before the commit succeeded.
 */
#include <string.h>
#include <strings.h>

#include "resource/accounts.h"
#include "store/store.h"
#include "core/json.h"
#include "core/json_patch.h"
#include "resource/permissions.h"
#include "query/query.h"
#include "resource/resource.h"
#include "core/str.h"

/* Fetches the object (locked when writing); *live false for a tombstone or nothing. */
static enum pawl_err fetch(struct pawl_rctx *c, bool lock, struct pawl_object *obj, bool *live,
    struct pawl_error *err)
{
	struct pawl_store_item it = { .key = &c->key, .id = c->id, .lock = lock };
	bool found = false;
	enum pawl_err rc;

	rc = pawl_store_get(c->app->store, c->req->arena, &it, obj, &found, err);
	*live = rc == PAWL_OK && found && !obj->deleted;
	return rc;
}

/*
 * An absent object: 404 to a caller who may read its parent (errno 111 when
 * the parent is missing too, else 110), 401/403 to anyone else (Kinto).
 */
static enum pawl_err absent(struct pawl_rctx *c, struct pawl_error *err)
{
	bool may = false;
	enum pawl_err rc;

	if (c->res->parent != NULL && (rc = pawl_permissions_allowed(c, c->res->parent,
	    c->parent_uri, "read", &may, err)) != PAWL_OK)
		return rc;
	/* Accounts have no parent: their administrators (settings) are told it is gone. */
	if (pawl_accounts_is(c->res) && (rc = pawl_permissions_allowed(c, c->res, c->uri, "read",
	    &may, err)) != PAWL_OK)
		return rc;
	if (!may && !c->res->per_user)
		return pawl_permissions_deny(c, err);
	if ((rc = pawl_resource_check_parent(c, err)) != PAWL_OK)
		return rc;
	return pawl_resource_not_found(c, c->id, c->res->name, PAWL_ERR_NO_OBJECT, err);
}

/* The live object, locked, that the caller may write; preconditions checked. */
static enum pawl_err load_writable(struct pawl_rctx *c, struct pawl_object *obj,
    struct pawl_error *err)
{
	bool live, not_modified;
	enum pawl_err rc;

	if ((rc = fetch(c, true, obj, &live, err)) != PAWL_OK)
		return rc;
	if (!live)
		return absent(c, err);
	if ((rc = pawl_permissions_require(c, c->res, c->uri, "write", err)) != PAWL_OK)
		return rc;
	return pawl_resource_preconditions(c, obj, &not_modified, err);
}

enum pawl_err pawl_object_get(struct pawl_rctx *c, struct pawl_error *err)
{
	struct pawl_acl_read read;
	struct pawl_object obj;
	struct pawl_query q;
	const char *acl;
	bool found, allowed, not_modified;
	enum pawl_err rc;

	memset(&q, 0, sizeof(q));
	/* The object, the permission check and its ACL: one round trip. */
	if ((rc = pawl_query_parse(c->req->arena, c->req->query, PAWL_QUERY_NOW_UNBOUNDED, &q,
	    err)) != PAWL_OK ||
	    (rc = pawl_permissions_read_object(c, PAWL_PERMISSION_ATTRIBUTES, &read, err)) != PAWL_OK)
		return rc;
	obj = read.obj;
	found = read.found;
	allowed = read.allowed;
	acl = read.acl;
	if (!found || obj.deleted)
		return absent(c, err);
	if (!allowed)
		return pawl_permissions_deny(c, err);
	if ((rc = pawl_resource_preconditions(c, &obj, &not_modified, err)) != PAWL_OK)
		return rc;
	pawl_response_header(c->resp, "Cache-Control", "no-cache, no-store");
	if (not_modified) {
		c->resp->status = 304;
		pawl_resource_timestamp_headers(c->resp, obj.last_modified);
		return PAWL_OK;
	}
	if (q.n_fields > 0 && (rc = pawl_resource_project(c->req->arena, c->uri, obj.data, &q,
	    &obj.data, err)) != PAWL_OK)
		return rc;
	pawl_resource_item_response(c, 200, &obj, acl);
	return pawl_resource_stage(c, PAWL_EVENT_READ, obj.last_modified, obj.data, NULL, err);
}

/*
 * Bumps the list timestamp and stores data as the object's new content; the
 * client's data.last_modified (checked) is the floor of the new timestamp.
 */
static enum pawl_err store(struct pawl_rctx *c, json_object *data,
    struct pawl_object *out, struct pawl_error *err)
{
	struct pawl_store_item it = { .key = &c->key, .id = c->id };
	size_t len;
	enum pawl_err rc;

	if ((rc = pawl_resource_check_data(c, data, err)) != PAWL_OK ||
	    (rc = pawl_resource_take_server_fields(c, data, &it.ts, err)) != PAWL_OK)
		return rc;
	if ((it.data = data ? pawl_json_compact(c->req->arena, data, &len) : "{}") == NULL)
		return pawl_error_nomem(err);
	return pawl_store_put(c->app->store, c->req->arena, &it, out, err);
}

enum pawl_err pawl_object_put(struct pawl_rctx *c, struct pawl_error *err)
{
	json_object *data, *perms;
	struct pawl_object old, obj;
	const char *acl;
	bool live, not_modified, allowed = false;
	enum pawl_err rc;

	if ((rc = pawl_resource_envelope(c->req, &data, &perms, err)) != PAWL_OK ||
	    (rc = pawl_permissions_validate(c, perms, err)) != PAWL_OK ||
	    (rc = pawl_resource_check_body_id(c, data, err)) != PAWL_OK ||
	    (rc = fetch(c, true, &old, &live, err)) != PAWL_OK)
		return rc;
	if (live)
		rc = pawl_permissions_require(c, c->res, c->uri, "write", err);
	else if ((rc = pawl_permissions_can_create(c, &allowed, err)) == PAWL_OK)
		rc = allowed ? pawl_resource_check_parent(c, err) : pawl_permissions_deny(c, err);
	if (rc != PAWL_OK ||
	    (rc = pawl_resource_preconditions(c, live ? &old : NULL, &not_modified, err)) != PAWL_OK)
		return rc;
	/* Kinto: without "data", an existing object keeps its data. */
	if (data == NULL && live && perms != NULL) {
		if ((rc = pawl_resource_parse_stored(c->req->arena, c->uri, old.data, &data,
		    err)) != PAWL_OK)
			return rc;
		/* The stored timestamp is no client value (see keep_stored_timestamp). */
		json_object_object_del(data, "last_modified");
	}
	/* The ACL before the bump: the list's writers queue from the bump to the COMMIT. */
	if ((rc = pawl_permissions_complete(c, perms)) != PAWL_OK ||
	    (rc = pawl_resource_members(c, &data, err)) != PAWL_OK ||
	    (rc = pawl_permissions_store(c, c->uri, perms, err)) != PAWL_OK ||
	    (rc = pawl_permissions_acl(c, c->uri, &acl, err)) != PAWL_OK ||
	    (rc = store(c, data, &obj, err)) != PAWL_OK ||
	    (rc = pawl_resource_sync_members(c, c->uri, data, err)) != PAWL_OK)
		return rc;
	pawl_resource_item_response(c, live ? 200 : 201, &obj, acl);
	return pawl_resource_stage(c, live ? PAWL_EVENT_UPDATE : PAWL_EVENT_CREATE, obj.last_modified,
	    obj.data, live ? old.data : NULL, err);
}

/*
 * Response-Behavior: full (the object), light (requested fields whose value
 * changed) or diff (of those, the ones whose stored value differs from what
 * was sent), as Kinto computes them.
 */
static enum pawl_err behave(struct pawl_rctx *c, const char *behavior, json_object *old,
    json_object *changes, struct pawl_object *stored, struct pawl_error *err)
{
	json_object *now, *out;
	size_t len;
	bool diff = strcasecmp(behavior, "diff") == 0;
	enum pawl_err rc;

	if (changes == NULL) {
		stored->data = "{}";
		return PAWL_OK;
	}
	if ((rc = pawl_resource_parse_stored(c->req->arena, c->uri, stored->data, &now, err)) != PAWL_OK)
		return rc;
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
	if ((stored->data = pawl_json_compact(c->req->arena, out, &len)) == NULL)
		return pawl_error_nomem(err);
	return PAWL_OK;
}

/*
 * The stored last_modified that a patch left alone is no client value: it is
 * dropped, so an object stored by an older version with a timestamp now out
 * of bounds can still be patched.
 */
static void keep_stored_timestamp(json_object *current, json_object *original)
{
	json_object *now = NULL, *before = NULL;

	if (json_object_is_type(current, json_type_object) &&
	    json_object_object_get_ex(current, "last_modified", &now) &&
	    json_object_object_get_ex(original, "last_modified", &before) &&
	    json_object_equal(now, before))
		json_object_object_del(current, "last_modified");
}

enum pawl_err pawl_object_patch(struct pawl_rctx *c, struct pawl_error *err)
{
	const char *behavior = pawl_request_header(c->req, "Response-Behavior");
	json_object *current, *original, *changes, *perms;
	struct pawl_object old, obj;
	const char *acl;
	enum pawl_err rc;

	if (behavior != NULL && strcasecmp(behavior, "full") != 0 &&
	    strcasecmp(behavior, "light") != 0 && strcasecmp(behavior, "diff") != 0)
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "header", "Response-Behavior",
		    "\"%s\" is not one of full, light, diff", behavior);
	if ((rc = load_writable(c, &old, err)) != PAWL_OK)
		return rc;
	if ((rc = pawl_resource_parse_stored(c->req->arena, c->uri, old.data, &current, err)) != PAWL_OK ||
	    (rc = pawl_resource_parse_stored(c->req->arena, c->uri, old.data, &original, err)) != PAWL_OK ||
	    (rc = pawl_object_apply_patch(c, &current, &changes, &perms, err)) != PAWL_OK)
		return rc;
	keep_stored_timestamp(current, original);
	if ((rc = pawl_permissions_validate(c, perms, err)) != PAWL_OK ||
	    (rc = pawl_resource_members(c, &current, err)) != PAWL_OK ||
	    (rc = pawl_permissions_store(c, c->uri, perms, err)) != PAWL_OK ||
	    (rc = pawl_permissions_acl(c, c->uri, &acl, err)) != PAWL_OK ||
	    (rc = store(c, current, &obj, err)) != PAWL_OK ||
	    (rc = pawl_resource_sync_members(c, c->uri, current, err)) != PAWL_OK)
		return rc;
	if (behavior != NULL && strcasecmp(behavior, "full") != 0 &&
	    (rc = behave(c, behavior, original, changes, &obj, err)) != PAWL_OK)
		return rc;
	pawl_resource_item_response(c, 200, &obj, acl);
	/* As in Kinto, `new` is what the client was sent. */
	return pawl_resource_stage(c, PAWL_EVENT_UPDATE, obj.last_modified, obj.data, old.data, err);
}

enum pawl_err pawl_object_delete(struct pawl_rctx *c, struct pawl_error *err)
{
	struct pawl_object old, tomb;
	struct pawl_cascade cascade;
	struct pawl_query q;
	struct pawl_store_item it = { .key = &c->key, .id = c->id };
	long long floor = 0;
	enum pawl_err rc;
	size_t i;

	memset(&q, 0, sizeof(q));
	if ((rc = pawl_query_parse(c->req->arena, c->req->query, PAWL_QUERY_NOW_UNBOUNDED, &q,
	    err)) != PAWL_OK)
		return rc;
	/* ?last_modified=<ms> sets the tombstone's timestamp when it is newer (bounded). */
	for (i = 0; i < q.n_filters; i++)
		if (q.filters[i].field.kind == PAWL_FIELD_LAST_MODIFIED &&
		    q.filters[i].op == PAWL_FILTER_EQ &&
		    (rc = pawl_resource_client_timestamp(c, q.filters[i].value, "querystring",
		    "last_modified", &floor, err)) != PAWL_OK)
			return rc;
	if ((rc = load_writable(c, &old, err)) != PAWL_OK ||
	    (rc = pawl_store_bump(c->app->store, c->req->arena, &c->key, floor, &it.ts, err)) != PAWL_OK ||
	    (rc = pawl_store_remove(c->app->store, c->req->arena, &it, &tomb, err)) != PAWL_OK ||
	    (rc = pawl_resource_forget(c, c->uri, &cascade, err)) != PAWL_OK)
		return rc;
	pawl_resource_item_response(c, 200, &tomb, NULL);
	return pawl_resource_stage_delete(c, tomb.last_modified, tomb.data, old.data, &cascade, err);
}
