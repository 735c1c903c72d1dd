/*
 * List endpoints (GET, HEAD, POST, DELETE on /.../<plural>) for every
 * resource. Reads send PostgreSQL's JSON text as it is; POST with an
 * existing data.id answers the existing object without writing.
 */
#include <stdio.h>
#include <string.h>

#include "pawl/json.h"
#include "pawl/lists.h"
#include "pawl/resource.h"

static enum pawl_err list_get(struct pawl_rctx *c, struct pawl_error *err)
{
	struct pawl_list_page page;
	long long ts;
	bool not_modified;
	enum pawl_err rc;
	size_t i;

	if ((rc = pawl_resource_check_parent(c, err)) != PAWL_OK ||
	    (rc = pawl_objects_list_timestamp(c->app->pg, c->req->arena, &c->key,
	    c->app->cfg->readonly, &ts, err)) != PAWL_OK ||
	    (rc = pawl_resource_list_preconditions(c, ts, &not_modified, err)) != PAWL_OK)
		return rc;
	pawl_resource_timestamp_headers(c->resp, ts);
	if (not_modified) {
		c->resp->status = 304;
		return PAWL_OK;
	}
	if ((rc = pawl_lists_fetch(c->app->pg, c->req->arena, &c->key,
	    c->app->cfg->storage_max_fetch_size, &page, err)) != PAWL_OK)
		return rc;
	c->resp->status = 200;
	pawl_buf_puts(&c->resp->body, "{\"data\":[");
	for (i = 0; i < page.n; i++) {
		if (i)
			pawl_buf_putc(&c->resp->body, ',');
		pawl_buf_puts(&c->resp->body, page.items[i].data);
	}
	pawl_buf_puts(&c->resp->body, "]}");
	return PAWL_OK;
}

static enum pawl_err do_post(struct pawl_rctx *c, struct pawl_error *err)
{
	json_object *data, *perms, *idv;
	struct pawl_object obj;
	bool found = false;
	long long ts;
	size_t len;
	enum pawl_err rc;

	if ((rc = pawl_resource_envelope(c->req, &data, &perms, err)) != PAWL_OK ||
	    (rc = pawl_resource_check_parent(c, err)) != PAWL_OK)
		return rc;
	if (data != NULL && json_object_object_get_ex(data, "id", &idv)) {
		if (!json_object_is_type(idv, json_type_string) ||
		    !pawl_resource_id_valid(json_object_get_string(idv)))
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "data.id", "Invalid id");
		c->id = pawl_arena_strdup(c->req->arena, json_object_get_string(idv));
		rc = pawl_objects_get(c->app->pg, c->req->arena, &c->key, c->id, true, &obj, &found, err);
		if (rc != PAWL_OK)
			return rc;
		if (found && !obj.deleted) {
			bool not_modified;

			if ((rc = pawl_resource_preconditions(c, &obj, &not_modified, err)) != PAWL_OK)
				return rc;
			pawl_resource_item_response(c, 200, &obj, true);
			return PAWL_OK;
		}
	} else {
		c->id = pawl_resource_new_id(c->req->arena, c->res);
	}
	if (c->id == NULL)
		return pawl_error_set(err, PAWL_ERR_NOMEM, "out of memory");
	if (data != NULL) {
		json_object_object_del(data, "id");
		json_object_object_del(data, "last_modified");
	}
	if ((rc = pawl_objects_bump(c->app->pg, c->req->arena, &c->key, 0, &ts, err)) != PAWL_OK ||
	    (rc = pawl_objects_put(c->app->pg, c->req->arena, &c->key, c->id,
	    data ? pawl_json_compact(c->req->arena, data, &len) : "{}", ts, &obj, err)) != PAWL_OK)
		return rc;
	pawl_resource_item_response(c, 201, &obj, true);
	return PAWL_OK;
}

static enum pawl_err do_delete(struct pawl_rctx *c, struct pawl_error *err)
{
	struct pawl_list_page page;
	long long ts;
	bool not_modified;
	enum pawl_err rc;
	size_t i;

	if ((rc = pawl_resource_check_parent(c, err)) != PAWL_OK ||
	    (rc = pawl_objects_list_timestamp(c->app->pg, c->req->arena, &c->key, false, &ts,
	    err)) != PAWL_OK ||
	    (rc = pawl_resource_list_preconditions(c, ts, &not_modified, err)) != PAWL_OK ||
	    (rc = pawl_lists_fetch(c->app->pg, c->req->arena, &c->key,
	    c->app->cfg->storage_max_fetch_size, &page, err)) != PAWL_OK)
		return rc;
	pawl_buf_puts(&c->resp->body, "{\"data\":[");
	for (i = 0; i < page.n; i++) {
		struct pawl_object tomb;
		const char *uri;

		if ((rc = pawl_objects_bump(c->app->pg, c->req->arena, &c->key, 0, &ts, err)) != PAWL_OK ||
		    (rc = pawl_objects_delete(c->app->pg, c->req->arena, &c->key, page.items[i].id, ts,
		    &tomb, err)) != PAWL_OK)
			return rc;
		uri = pawl_arena_printf(c->req->arena, "%s/%s", c->list_path, page.items[i].id);
		if ((rc = pawl_objects_delete_children(c->app->pg, c->req->arena, uri, err)) != PAWL_OK)
			return rc;
		if (i)
			pawl_buf_putc(&c->resp->body, ',');
		pawl_buf_puts(&c->resp->body, tomb.data);
	}
	pawl_buf_puts(&c->resp->body, "]}");
	c->resp->status = 200;
	pawl_resource_timestamp_headers(c->resp, ts);
	return PAWL_OK;
}

enum pawl_err pawl_list_handle(struct pawl_rctx *c, struct pawl_error *err)
{
	switch (c->req->method_bit) {
	case PAWL_METHOD_GET:
	case PAWL_METHOD_HEAD:
		return list_get(c, err);
	case PAWL_METHOD_POST:
		return pawl_resource_write(c, do_post, err);
	case PAWL_METHOD_DELETE:
		return pawl_resource_write(c, do_delete, err);
	default:
		return pawl_error_set(err, PAWL_ERR_METHOD, "Method not allowed on this endpoint.");
	}
}
