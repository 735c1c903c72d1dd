/*
 * POST /v1/batch (docs/protocol.md §6): Kinto's body schema and
 * its messages, defaults merged into every request, and each sub-request
 * run as a real request through the pipeline inside the batch's single
 * transaction, whose events are published once, after its COMMIT.
 */
#ifndef PAWL_BATCH_H
#define PAWL_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "core/context.h"
#include "core/arena.h"
#include "core/err.h"
#include "http/request.h"
#include "http/response.h"

/* One validated sub-request. Pointers borrow the parsed batch body. */
struct pawl_batch_request {
	const char *method;   /* GET HEAD DELETE TRACE POST PUT PATCH; "GET" when absent */
	const char *path;     /* as sent: starts with '/', may hold a query string */
	size_t path_len;      /* bytes of path (JSON strings may hold NUL) */
	json_object *headers; /* an object whose values are strings, or NULL */
	json_object *body;    /* a non-empty object, or NULL (absent or {}: no body) */
};

struct pawl_batch {
	struct pawl_batch_request *requests; /* in the arena */
	size_t n;
};

/*
 * Kinto's merge_dicts: adds to dst every member of src that dst lacks,
 * recursing where both hold objects; never overrides a member dst has (even
 * null). Members are shared by reference count, so both trees stay valid
 * until their owners put them. A dst member that is not an object where src
 * has one is left alone (Kinto fails with a 500 there; validation reports it).
 * PAWL_ERR_NOMEM on OOM.
 */
enum pawl_err pawl_batch_schema_merge(json_object *dst, json_object *src);

/*
 * Validates a batch body exactly as Kinto's colander schema does, after
 * merging "defaults" into every request object (which changes body's tree).
 * body is the parsed document; sent is false when the request had no body
 * (then body is NULL and "requests" is required), true with body NULL for
 * the document `null`. max_requests > 0 caps the number of requests.
 *
 * On success out->requests (arena) borrows from body. On failure
 * PAWL_ERR_INVALID with location "body", the name and message of the first
 * error by name (as Kinto's error handler picks it) and details listing every
 * error found; or PAWL_ERR_NOMEM. Pure: no I/O.
 */
enum pawl_err pawl_batch_schema_parse(struct pawl_arena *arena, json_object *body, bool sent,
    int max_requests, struct pawl_batch *out, struct pawl_error *err);

/*
 * The REQUEST_URI of a sub-request from path[0..len): "/v1" prepended unless
 * path starts with it (as Kinto's build_request), bytes outside printable
 * ASCII percent-encoded so the URI survives pawl_request_init (an encoded NUL
 * is then refused by the router). In the arena; NULL on OOM.
 */
const char *pawl_batch_uri(struct pawl_arena *arena, const char *path, size_t len);

/*
 * The FastCGI params of a sub-request (NULL-terminated, in the arena): the
 * parent's params, minus CONTENT_LENGTH, overridden by the sub-request's
 * headers (HTTP_<NAME>; Content-Type as CONTENT_TYPE; names that are not
 * letters, digits and '-' are ignored, as nginx does), then REQUEST_METHOD,
 * REQUEST_URI (uri), DOCUMENT_URI and QUERY_STRING, and CONTENT_TYPE
 * "application/json; charset=utf-8" when with_body. NULL on OOM.
 */
char **pawl_batch_params(struct pawl_arena *arena, char *const *parent,
    const struct pawl_batch_request *sub, const char *uri, bool with_body);

/*
 * The PAWL_ROUTE_BATCH handler. Runs the sub-requests in request order in
 * one transaction of txn (a savepoint each), sharing its stage:
 * a 4xx sub-response is rolled back to its savepoint with its staged events
 * and kept in the list; a 409 (PostgreSQL rolled the transaction back: a
 * deadlock, a serialization failure) runs the whole batch again, up to
 * PAWL_BATCH_ATTEMPTS times, then becomes the batch's own answer; a 5xx rolls
 * everything back and becomes the batch's own answer. A batch answered with
 * anything but 200 committed nothing and published nothing. Refused (400)
 * inside another batch. Writes resp (200 {"responses": [...]}) or returns an
 * error for the pipeline to answer. All memory lives in req's arena.
 */
#define PAWL_BATCH_ATTEMPTS 3

struct pawl_txn;
enum pawl_err pawl_batch_handle(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err);

#endif
