/*
 * What a write does besides its own row: the events it stages, the
 * memberships a group holds, and the cascade of a delete (children,
 * permissions, memberships).
 */
#include <string.h>

#include "resource/resource.h"
#include "resource/accounts.h"
#include "store/store.h"
#include "events/stage.h"
#include "events/subscribers.h"
#include "txn/txn.h"
#include "events/listener_set.h"
#include "core/json.h"

/*
 * Stages op for c's request: the caller sets what changed (action,
 * timestamp, new_json, old_json, cascade), the rest comes from c.
 */
static enum pawl_err stage(struct pawl_rctx *c, struct pawl_stage_op *op, struct pawl_error *err)
{
	/* History is itself the record of changes: reading or purging it is no event. */
	if (c->res->history)
		return PAWL_OK;
	if (op->action == PAWL_EVENT_READ &&
	    !pawl_subscribers_wanted(c->app->subscribers, op->action, c->res->name) &&
	    !pawl_listener_set_wanted(c->app->listeners, op->action, c->res->name))
		return PAWL_OK;
	op->resource_name = c->res->name;
	op->parent_id = c->key.parent_id;
	op->uri = c->event_uri ? c->event_uri : c->req->match.path;
	op->user_id = c->req->user_id;
	op->md = c->event_md ? c->event_md : &c->req->match.md;
	op->item = c->event_md ? pawl_matchdict_get(c->event_md, "id") != NULL
	    : c->req->match.route->kind == PAWL_ROUTE_ITEM;
	/* An account's password hash never leaves the database, not even in an event. */
	if (pawl_accounts_is(c->res)) {
		op->new_json = pawl_accounts_strip(c->req->arena, op->new_json);
		op->old_json = pawl_accounts_strip(c->req->arena, op->old_json);
	}
	return pawl_txn_stage(c->txn, op, err);
}

enum pawl_err pawl_resource_stage(struct pawl_rctx *c, enum pawl_event_action action,
    long long timestamp, const char *new_json, const char *old_json, struct pawl_error *err)
{
	struct pawl_stage_op op = { .action = action, .timestamp = timestamp,
	    .new_json = new_json, .old_json = old_json };

	return stage(c, &op, err);
}

enum pawl_err pawl_resource_stage_delete(struct pawl_rctx *c, long long timestamp,
    const char *new_json, const char *old_json, const struct pawl_cascade *cascade,
    struct pawl_error *err)
{
	struct pawl_stage_op op = { .action = PAWL_EVENT_DELETE, .timestamp = timestamp,
	    .new_json = new_json, .old_json = old_json, .cascade = cascade };

	return stage(c, &op, err);
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
		return pawl_error_nomem(err);
	for (i = 0; i < n; i++)
		list[i] = json_object_get_string(json_object_array_get_idx(members, i));
	return pawl_store_set_members(c->app->store, c->req->arena, uri, list, n, err);
}

enum pawl_err pawl_resource_forget(struct pawl_rctx *c, const char *uri,
    struct pawl_cascade *cascade, struct pawl_error *err)
{
	enum pawl_err rc;

	cascade->n = 0;
	if (c->res->has_children && (rc = pawl_store_delete_children(c->app->store, c->req->arena,
	    uri, cascade, err)) != PAWL_OK)
		return rc;
	if (c->res->per_user)
		return PAWL_OK;
	if ((rc = pawl_store_acl_delete_tree(c->app->store, c->req->arena, uri, err)) != PAWL_OK)
		return rc;
	if (c->res->has_members || c->res->has_children)
		return pawl_store_delete_members(c->app->store, c->req->arena, uri, err);
	return PAWL_OK;
}
