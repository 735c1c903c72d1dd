/*
 * Kinto's personal `default` bucket, which kinto.js uses unless told
 * otherwise: the id is derived from the user id with an HMAC, and the bucket
 * (and the collection of a records URL) is created on first use, as a normal
 * write with its own events. Never applies to anonymous callers.
 */
#include <string.h>

#include "http/auth.h"
#include "resource/permissions.h"
#include "store/store.h"
#include "resource/resource.h"

const char *pawl_default_bucket_id(struct pawl_arena *arena, const struct pawl_config *cfg,
    const char *user_id)
{
	/* Never NULL in a running server: pawl_app_new refuses a config without a key. */
	const char *secret = pawl_config_default_bucket_secret(cfg);
	char hex[65];

	pawl_hmac_hex(secret ? secret : "", user_id, strlen(user_id), hex);
	/* The first 32 hex digits, shaped as a UUID, as Kinto does. */
	return pawl_arena_printf(arena, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
	    hex + 16, hex + 20);
}

/*
 * A standing bucket under the caller's personal id is used only when it was
 * created for the caller: someone who computed the id may have made it first,
 * granting the caller `write`, to read what the caller then writes there.
 */
static enum pawl_err check_owner(struct pawl_rctx *c, struct pawl_error *err)
{
	const struct pawl_personal_ref ref = { c->id, c->uri, c->req->user_id,
		c->app->cfg->readonly };
	bool mine = false;
	enum pawl_err rc = pawl_store_personal_check(c->app->store, c->req->arena, &ref, &mine, err);

	if (rc != PAWL_OK || mine)
		return rc;
	return pawl_error_set(err, PAWL_ERR_FORBIDDEN, "The bucket %s, the id of your personal "
	    "default bucket, was not created as your personal bucket: refusing to use it.", c->id);
}

static bool is_bucket(const struct pawl_rctx *c)
{
	return c->parent_uri[0] == '\0';
}

/* Creates the object of c if it is absent (an implicit PUT with an empty body). */
static enum pawl_err create_if_absent(struct pawl_rctx *c, struct pawl_error *err)
{
	const struct pawl_store_item locked = { .key = &c->key, .id = c->id, .lock = true };
	const struct pawl_store_item empty = { .key = &c->key, .id = c->id, .data = "{}" };
	const struct pawl_personal_ref ref = { c->id, c->uri, c->req->user_id, false };
	struct pawl_object obj;
	bool found = false;
	enum pawl_err rc;

	rc = pawl_store_get(c->app->store, c->req->arena, &locked, &obj, &found, err);
	if (rc != PAWL_OK)
		return rc;
	if (found && !obj.deleted)
		return is_bucket(c) ? check_owner(c, err) : PAWL_OK;
	if ((rc = pawl_store_put(c->app->store, c->req->arena, &empty, &obj, err)) != PAWL_OK ||
	    (rc = pawl_permissions_store(c, c->uri, NULL, err)) != PAWL_OK ||
	    (is_bucket(c) && (rc = pawl_store_personal_mark(c->app->store, c->req->arena, &ref,
	    err)) != PAWL_OK))
		return rc;
	return pawl_resource_stage(c, PAWL_EVENT_CREATE, obj.last_modified, obj.data, NULL, err);
}

/*
 * A read-only host (readonly = true, a head on a read replica) creates
 * nothing: it reads what a writable host created, and a bucket that is not
 * there yet answers as any missing bucket does. An existing one is still
 * checked to be the caller's.
 */
static enum pawl_err check_if_present(struct pawl_rctx *c, struct pawl_error *err)
{
	const struct pawl_store_item item = { .key = &c->key, .id = c->id };
	struct pawl_object obj;
	bool found = false;
	enum pawl_err rc;

	if ((rc = pawl_store_get(c->app->store, c->req->arena, &item, &obj, &found, err)) != PAWL_OK)
		return rc;
	return found && !obj.deleted && is_bucket(c) ? check_owner(c, err) : PAWL_OK;
}

/*
 * Ensures one object exists: a write of its own, committed before the
 * request's (inside a batch a savepoint of the batch's transaction). Its
 * events are published after the response, like every write's.
 */
static enum pawl_err ensure(const struct pawl_rctx *base, const struct pawl_resource *res,
    const char *parent_uri, const char *id, struct pawl_matchdict *md, struct pawl_error *err)
{
	struct pawl_request *req = base->req;
	struct pawl_rctx c = *base;

	c.res = res;
	c.id = id;
	c.parent_uri = parent_uri;
	c.list_path = pawl_arena_printf(req->arena, "%s%s", parent_uri,
	    strrchr(res->list_pattern, '/'));
	c.uri = pawl_arena_printf(req->arena, "%s/%s", c.list_path, id);
	c.key.parent_id = parent_uri;
	c.key.resource_name = res->name;
	c.event_uri = c.uri;
	c.event_md = md;
	if (c.list_path == NULL || c.uri == NULL)
		return pawl_error_nomem(err);
	if (base->app->cfg->readonly)
		return check_if_present(&c, err);
	return pawl_resource_write(&c, create_if_absent, err);
}

/* The matchdict value that names the bucket in this route, or NULL. */
static size_t bucket_slot(const struct pawl_request *req, bool *found)
{
	const struct pawl_matchdict *md = &req->match.md;
	const char *bucket_key = strcmp(req->match.route->resource->name, "bucket") == 0 ?
	    "id" : "bucket_id";
	size_t i;

	*found = false;
	for (i = 0; i < md->n; i++) {
		if (strcmp(md->kv[i].name, bucket_key) == 0 && strcmp(md->kv[i].value, "default") == 0) {
			*found = true;
			return i;
		}
	}
	return 0;
}

enum pawl_err pawl_default_bucket_apply(struct pawl_app *app, struct pawl_request *req,
    struct pawl_txn *txn, struct pawl_error *err)
{
	const struct pawl_resource *bucket = pawl_resource_table_find(app->resources, "bucket");
	const struct pawl_resource *collection = pawl_resource_table_find(app->resources, "collection");
	const struct pawl_rctx base = { .app = app, .req = req, .txn = txn };
	const char *bid, *cid, *path;
	struct pawl_matchdict *md;
	bool found;
	size_t slot = bucket_slot(req, &found);
	enum pawl_err rc;

	if (!found)
		return PAWL_OK;
	if (req->user_id == NULL)
		return pawl_error_set(err, PAWL_ERR_UNAUTHORIZED,
		    "Please authenticate yourself to use this endpoint.");
	if ((bid = pawl_default_bucket_id(req->arena, app->cfg, req->user_id)) == NULL ||
	    (md = pawl_arena_calloc(req->arena, 2, sizeof(*md))) == NULL)
		return pawl_error_nomem(err);
	req->match.md.kv[slot].value = bid;
	path = req->match.path + strlen("/buckets/default");
	req->match.path = pawl_arena_printf(req->arena, "/buckets/%s%s", bid, path);
	md[0].kv[0].name = "id";
	md[0].kv[0].value = bid;
	md[0].n = 1;
	if ((rc = ensure(&base, bucket, "", bid, &md[0], err)) != PAWL_OK)
		return rc;
	/* The collection named in the URL too, except when the request is its own PUT (Kinto). */
	cid = pawl_matchdict_get(&req->match.md, "collection_id");
	if (cid == NULL && req->match.route->resource == collection &&
	    req->match.route->kind == PAWL_ROUTE_ITEM && req->method_bit != PAWL_METHOD_PUT)
		cid = pawl_matchdict_get(&req->match.md, "id");
	if (cid == NULL || !pawl_resource_id_valid(cid))
		return PAWL_OK;
	md[1].kv[0].name = "bucket_id";
	md[1].kv[0].value = bid;
	md[1].kv[1].name = "id";
	md[1].kv[1].value = cid;
	md[1].n = 2;
	return ensure(&base, collection, pawl_arena_printf(req->arena, "/buckets/%s", bid), cid,
	    &md[1], err);
}
