/*
 * What a request body may hold and what the server owns in it: the
 * {"data", "permissions"} envelope, ids and timestamps sent by clients, the
 * depth of what is stored, the members of a group.
 */
#include <string.h>

#include "resource/resource.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/str.h"

/*
 * Bounded so that no client can push a list's timestamp where the next bump
 * overflows (and the list refuses every write), nor beyond what JavaScript
 * clients represent exactly (Number.MAX_SAFE_INTEGER + 1).
 */
enum pawl_err pawl_resource_client_timestamp(const struct pawl_rctx *c, json_object *value,
    const char *location, const char *name, long long *ms, struct pawl_error *err)
{
	long long max = pawl_clock_wall_ms() + (long long)c->app->cfg->max_client_timestamp_skew_seconds * 1000;

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

enum pawl_err pawl_resource_check_data(const struct pawl_rctx *c, json_object *data,
    struct pawl_error *err)
{
	int max = c->app->cfg->max_json_depth - 1;

	if (data != NULL && pawl_json_deeper_than(data, max))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "data",
		    "data nests deeper than %d levels", max);
	return PAWL_OK;
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
		return pawl_error_nomem(err);
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

enum pawl_err pawl_resource_check_body_id(struct pawl_rctx *c, json_object *data, struct pawl_error *err)
{
	json_object *id;

	if (data != NULL && json_object_object_get_ex(data, "id", &id) &&
	    (!json_object_is_type(id, json_type_string) || strcmp(json_object_get_string(id), c->id) != 0))
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "data.id",
		    "Object id does not match existing object");
	return PAWL_OK;
}
