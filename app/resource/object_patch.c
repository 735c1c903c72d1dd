/*
 * PATCH of one object by its media type: Kinto's shallow merge
 * (application/json), RFC 7396 merge patch, and RFC 6902 JSON Patch over
 * {"data", "permissions"} as Kinto lays them out (permissions as sets).
 */
#include <string.h>

#include "resource/resource.h"
#include "store/store.h"
#include "core/json.h"
#include "core/json_patch.h"
#include "core/str.h"

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

/*
 * {"read": ["a"]} → {"read": {"a": "a"}, "write": {}}: the shape Kinto's JSON
 * Patch works on, where every permission of the object exists, maybe empty.
 */
static json_object *acl_as_sets(struct pawl_rctx *c, const char *acl)
{
	struct pawl_arena *arena = c->req->arena;
	json_object *in, *out = json_object_new_object();
	struct pawl_error err;
	size_t i;

	if (out == NULL)
		return NULL;
	json_object_object_add(out, "read", json_object_new_object());
	json_object_object_add(out, "write", json_object_new_object());
	for (i = 0; i < c->app->resources->n; i++)
		if (c->app->resources->items[i].parent == c->res)
			json_object_object_add(out, pawl_arena_printf(arena, "%s:create",
			    c->app->resources->items[i].name), json_object_new_object());
	if (pawl_json_parse(arena, acl, strlen(acl), 8, &in, &err) != PAWL_OK)
		return out;
	json_object_object_foreach(in, perm, list) {
		json_object *set = json_object_new_object();

		for (i = 0; i < json_object_array_length(list); i++) {
			json_object *p = json_object_array_get_idx(list, i);

			json_object_object_add(set, json_object_get_string(p), json_object_get(p));
		}
		json_object_object_add(out, perm, set);
	}
	return out;
}

/* Back to {"read": ["a"]}; permissions the patch removed become empty lists. */
static json_object *sets_as_acl(struct pawl_arena *arena, json_object *before, json_object *after)
{
	json_object *out = pawl_json_own(arena, json_object_new_object());

	json_object_object_foreach(before, gone, unused) {
		(void)unused;
		json_object_object_add(out, gone, json_object_new_array());
	}
	if (after != NULL && json_object_is_type(after, json_type_object)) {
		json_object_object_foreach(after, perm, set) {
			json_object *list = json_object_new_array();

			if (json_object_is_type(set, json_type_object)) {
				json_object_object_foreach(set, principal, v) {
					(void)v;
					json_object_array_add(list, json_object_new_string(principal));
				}
			}
			json_object_object_add(out, perm, list);
		}
	}
	return out;
}

/* RFC 6902 on {"data", "permissions"} as Kinto lays them out. */
static enum pawl_err apply_json_patch(struct pawl_rctx *c, json_object **current,
    json_object **perms, struct pawl_error *err)
{
	const char *acl = "{}";
	json_object *doc, *before, *after = NULL;
	enum pawl_err rc;

	if (c->req->json == NULL || !json_object_is_type(c->req->json, json_type_array))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
		    "JSON Patch body must be an array of operations");
	if (!c->res->per_user && (rc = pawl_store_acl_get(c->app->store, c->req->arena, c->uri, &acl, err)) != PAWL_OK)
		return rc;
	doc = pawl_json_own(c->req->arena, json_object_new_object());
	before = pawl_json_own(c->req->arena, acl_as_sets(c, acl));
	json_object_object_add(doc, "data", json_object_get(*current));
	json_object_object_add(doc, "permissions", json_object_get(before));
	before = pawl_json_own(c->req->arena, acl_as_sets(c, acl));
	if ((rc = pawl_patch_json(doc, c->req->json, err)) != PAWL_OK)
		return rc;
	if (!json_object_object_get_ex(doc, "data", current) ||
	    !json_object_is_type(*current, json_type_object))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
		    "JSON Patch operation failed: data must remain an object");
	json_object_object_get_ex(doc, "permissions", &after);
	*perms = sets_as_acl(c->req->arena, before, after);
	return PAWL_OK;
}

/* Merge patch: a null permission removes it (an empty list of principals). */
static void nulls_to_empty(json_object *perms)
{
	if (perms == NULL)
		return;
	json_object_object_foreach(perms, perm, list) {
		if (list == NULL)
			json_object_object_add(perms, perm, json_object_new_array());
	}
}

/* Applies the request's patch document to current (the stored data). */
enum pawl_err pawl_object_apply_patch(struct pawl_rctx *c, json_object **current,
    json_object **changes, json_object **perms, struct pawl_error *err)
{
	json_object *data = NULL;
	enum pawl_err rc;

	*changes = NULL;
	*perms = NULL;
	if (patch_kind_of(c->req) == PATCH_JSON)
		return apply_json_patch(c, current, perms, err);
	if ((rc = pawl_resource_envelope(c->req, &data, perms, err)) != PAWL_OK)
		return rc;
	if (data == NULL && *perms == NULL)
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
		    "Provide at least one of data or permissions");
	if ((rc = pawl_resource_check_body_id(c, data, err)) != PAWL_OK)
		return rc;
	*changes = data;
	if (patch_kind_of(c->req) == PATCH_MERGE) {
		nulls_to_empty(*perms);
		if (data != NULL)
			*current = pawl_patch_merge(*current, data);
	} else if (data != NULL) {
		pawl_patch_shallow(*current, data);
	}
	return PAWL_OK;
}
