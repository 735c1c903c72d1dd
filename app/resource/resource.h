/*
 * What every resource handler shares: the request's resource context (list
 * key, URIs, ids), envelope parsing, id rules, and response helpers that
 * put ETag/Last-Modified on every resource response.
 */
#ifndef PAWL_RESOURCE_H
#define PAWL_RESOURCE_H

#include <stdbool.h>
#include <json-c/json.h>

#include "core/context.h"
#include "pawl/event.h"
#include "store/store.h"
#include "http/request.h"
#include "core/resource_table.h"
#include "http/response.h"

struct pawl_txn;

struct pawl_rctx {
	struct pawl_app *app;
	struct pawl_request *req;
	struct pawl_response *resp;
	struct pawl_txn *txn;       /* the request's unit of work (a batch's, shared) */
	const struct pawl_resource *res;
	const char *list_path;      /* "/buckets/b/collections/c/records" */
	const char *id;             /* item routes: the object id */
	const char *uri;            /* item routes: list_path + "/" + id */
	struct pawl_list_key key;   /* where this list's objects live */
	struct pawl_list_key parent_key; /* the parent object's list (when parent) */
	const char *parent_id;      /* the parent object's id (when parent) */
	const char *parent_uri;     /* the parent object's URI, "" at the top level */
	/* Events describe the request's URL unless these say otherwise (implicit writes). */
	const char *event_uri;
	const struct pawl_matchdict *event_md;
	/* pawl_resource_prefetch_parent's answer, read by pawl_resource_check_parent. */
	struct pawl_store_check parent_check;
	bool parent_prefetched;
	/*
	 * A creation under an id the server makes up: there is no "does it exist?"
	 * to keep atomic with the write, so pawl_resource_write skips the list's
	 * advisory lock; the list timestamp's row lock still orders the commits.
	 */
	bool fresh_id;
};

/* True when s is a valid object id: ^[a-zA-Z0-9][a-zA-Z0-9_-]*$, at most 255 bytes. */
bool pawl_resource_id_valid(const char *s);

/*
 * The list that a write to the matched route locks (as the handlers compute
 * it), for a batch that takes its locks up front. False when it cannot be
 * known before the request runs: a per-user resource, the personal `default`
 * bucket, a redirect, an invalid id.
 */
bool pawl_resource_list_key_of(struct pawl_arena *arena, const struct pawl_match *m,
    struct pawl_list_key *key);

/* A new id for res (UUID4 or an 8-character name), in the arena. */
const char *pawl_resource_new_id(struct pawl_arena *arena, const struct pawl_resource *res);

/*
 * Splits the request body envelope: only "data" and "permissions" are allowed
 * at the top level; data must be an object. *data is NULL when absent.
 */
enum pawl_err pawl_resource_envelope(const struct pawl_request *req, json_object **data,
    json_object **permissions, struct pawl_error *err);

/* The largest timestamp pawl accepts or makes: 2^53, what JavaScript represents exactly. */
#define PAWL_RESOURCE_MAX_TIMESTAMP 9007199254740992LL

/*
 * Checks a client's timestamp (data.last_modified, ?last_modified=): an
 * integer must be from 0 to 2^53 and at most max_client_timestamp_skew_seconds
 * ahead of the clock, else 400 errno 107 about name in location; *ms is set
 * to it. Any other JSON value (null, string, fraction) is no timestamp and
 * dropped, as Kinto does (*ms = 0).
 */
enum pawl_err pawl_resource_client_timestamp(const struct pawl_rctx *c, json_object *value,
    const char *location, const char *name, long long *ms, struct pawl_error *err);

/*
 * Removes id and last_modified from data (the server owns them) and sets
 * *floor to the client's last_modified (checked as above, 0 when absent): a
 * floor for the new timestamp (forward only, so the list stays strictly
 * increasing). A timestamp out of bounds is 400 and data is left as it was.
 */
enum pawl_err pawl_resource_take_server_fields(const struct pawl_rctx *c, json_object *data,
    long long *floor, struct pawl_error *err);

/* ETag "\"ts\"" and Last-Modified (HTTP-date) on the response. */
void pawl_resource_timestamp_headers(struct pawl_response *resp, long long ts);

/* 404 errno 110 for the object, with Kinto's details {"id", "resource_name"}. */
enum pawl_err pawl_resource_not_found(struct pawl_rctx *c, const char *id,
    const char *resource_name, enum pawl_err code, struct pawl_error *err);

/* Checks that the parent object exists (404 errno 111 with details otherwise). */
enum pawl_err pawl_resource_check_parent(struct pawl_rctx *c, struct pawl_error *err);

/* A list page's size: _limit, else paginate_by, capped by both and storage_max_fetch_size. */
long long pawl_resource_page_size(const struct pawl_config *cfg, const struct pawl_query *q);

/*
 * Queues the parent check to travel with the transaction's next statement
 * (a permission check, as a rule), saving pawl_resource_check_parent its own
 * round trip. Inside the write transaction only.
 */
enum pawl_err pawl_resource_prefetch_parent(struct pawl_rctx *c, struct pawl_error *err);

/*
 * Stages an event for this request's transaction (published after COMMIT).
 * Read events are staged only when a subscriber or listener wants them.
 */
enum pawl_err pawl_resource_stage(struct pawl_rctx *c, enum pawl_event_action action,
    long long timestamp, const char *new_json, const char *old_json, struct pawl_error *err);

/* The same for a delete whose cascade removed children (NULL or n == 0: none). */
enum pawl_err pawl_resource_stage_delete(struct pawl_rctx *c, long long timestamp,
    const char *new_json, const char *old_json, const struct pawl_cascade *cascade,
    struct pawl_error *err);

/*
 * Kinto groups (resources with has_members): data.members must be a list of
 * principal strings (default []), never system.Everyone nor a group URI.
 * Adds the default to *data (creating it when NULL). No-op for other resources.
 */
enum pawl_err pawl_resource_members(struct pawl_rctx *c, json_object **data,
    struct pawl_error *err);

/* After storing a group at uri: its members hold the principal uri (same transaction). */
enum pawl_err pawl_resource_sync_members(struct pawl_rctx *c, const char *uri, json_object *data,
    struct pawl_error *err);

/*
 * After deleting the object at uri: its children (cascade: tombstones, counts
 * in *cascade), the ACEs of it and everything below, and memberships of
 * groups there.
 */
enum pawl_err pawl_resource_forget(struct pawl_rctx *c, const char *uri,
    struct pawl_cascade *cascade, struct pawl_error *err);

/*
 * Kinto's personal bucket (default_bucket plugin): `/buckets/default/...` is
 * the caller's own bucket, created with the collection named in the URL on
 * first use. Rewrites the request's matchdict and path in place. 401 when
 * anonymous. No-op for other URLs.
 */
enum pawl_err pawl_default_bucket_apply(struct pawl_app *app, struct pawl_request *req,
    struct pawl_txn *txn, struct pawl_error *err);

/* The caller's default bucket id: HMAC-SHA256(default_bucket_hmac_secret, user id), UUID-shaped. */
const char *pawl_default_bucket_id(struct pawl_arena *arena, const struct pawl_config *cfg,
    const char *user_id);

/*
 * The handlers of dispatch.c's table: Kinto's object endpoints (object.c)
 * and plural endpoints (plural.c). Writers run inside pawl_resource_write.
 */
enum pawl_err pawl_object_get(struct pawl_rctx *c, struct pawl_error *err);
enum pawl_err pawl_object_put(struct pawl_rctx *c, struct pawl_error *err);
enum pawl_err pawl_object_patch(struct pawl_rctx *c, struct pawl_error *err);
enum pawl_err pawl_object_delete(struct pawl_rctx *c, struct pawl_error *err);
enum pawl_err pawl_plural_get(struct pawl_rctx *c, struct pawl_error *err);
enum pawl_err pawl_plural_post(struct pawl_rctx *c, struct pawl_error *err);
enum pawl_err pawl_plural_delete(struct pawl_rctx *c, struct pawl_error *err);

/* Before a POST's write: c->fresh_id when the body names no data.id. */
void pawl_plural_post_prepare(struct pawl_rctx *c);

/*
 * object_patch.c: applies the request's patch (by Content-Type: Kinto's
 * shallow merge, RFC 7396, RFC 6902 over data and permissions) to *current,
 * the stored data. *changes is what was sent (NULL for JSON Patch), *perms
 * the permissions to write (NULL: unchanged).
 */
enum pawl_err pawl_object_apply_patch(struct pawl_rctx *c, json_object **current,
    json_object **changes, json_object **perms, struct pawl_error *err);

/* 400 when data.id is sent and is not the URL's id (body.c). */
enum pawl_err pawl_resource_check_body_id(struct pawl_rctx *c, json_object *data,
    struct pawl_error *err);

/*
 * Fills c's list key, parent, URIs and id from the matched route (context.c):
 * 404 when a placeholder cannot be an id, 400 for an invalid object id.
 */
enum pawl_err pawl_resource_context_init(struct pawl_rctx *c, struct pawl_error *err);


/*
 * Kinto's preconditions (docs/protocol.md §3, strict equality) for an item:
 * exists/current describe the live object (current = NULL when absent).
 * 412 errno 114 with details.existing; for GET a matching If-None-Match sets
 * *not_modified instead (answer 304). 400 when a header does not parse.
 */
enum pawl_err pawl_resource_preconditions(struct pawl_rctx *c, const struct pawl_object *current,
    bool *not_modified, struct pawl_error *err);

/* The same for a list, whose ETag is the list timestamp (it always exists). */
enum pawl_err pawl_resource_list_preconditions(struct pawl_rctx *c, long long list_ts,
    bool *not_modified, struct pawl_error *err);

/*
 * Runs fn as one write of c->txn (pawl_txn_run): its own transaction, COMMIT
 * with the outbox rows, or inside a batch's a savepoint. Takes the write's
 * lock first. 405 when readonly.
 */
typedef enum pawl_err pawl_resource_write_fn(struct pawl_rctx *c, struct pawl_error *err);
enum pawl_err pawl_resource_write(struct pawl_rctx *c, pawl_resource_write_fn *fn,
    struct pawl_error *err);

/*
 * Writes {"data":<data>,"permissions":<permissions>} with status and the
 * object's ETag/Last-Modified; permissions NULL leaves the key out (tombstones).
 */
void pawl_resource_item_response(struct pawl_rctx *c, int status, const struct pawl_object *obj,
    const char *permissions);

/*
 * _fields projection of one object's JSON text: id and last_modified (and
 * deleted on tombstones) plus q's _fields (possibly dotted), into *out (in
 * the arena); what names the object in errors. PAWL_ERR_INTERNAL when data
 * does not parse (see pawl_resource_parse_stored), PAWL_ERR_NOMEM.
 */
struct pawl_query;
enum pawl_err pawl_resource_project(struct pawl_arena *arena, const char *what, const char *data,
    const struct pawl_query *q, const char **out, struct pawl_error *err);

/*
 * Parses an object's JSON text as PostgreSQL returned it (depth
 * PAWL_JSON_STORED_DEPTH) into *out, owned by the arena. A stored object
 * that does not parse is a server fault, never skipped: PAWL_ERR_INTERNAL
 * with a message naming what (an URI or an id) for the log line.
 */
enum pawl_err pawl_resource_parse_stored(struct pawl_arena *arena, const char *what,
    const char *data, json_object **out, struct pawl_error *err);

/*
 * What every write stores must be readable and fit back in a body: data
 * nesting deeper than max_json_depth - 1 (the body's own limit, less the
 * {"data": ...} envelope) is 400 errno 107 naming "data". Covers what the
 * patches build, which no body limit sees.
 */
enum pawl_err pawl_resource_check_data(const struct pawl_rctx *c, json_object *data,
    struct pawl_error *err);

#endif
