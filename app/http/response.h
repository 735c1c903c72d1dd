/*
 * A response under construction: status, headers and a JSON body, all in the
 * request arena. Header values are checked here so no CR/LF can ever reach
 * the wire, and every error body takes docs/protocol.md §7's shape here.
 * Building never fails at the call site: the first failure sticks to the
 * response (later calls do nothing) and the pipeline answers it with a
 * clean JSON error instead of a half-built answer.
 */
#ifndef PAWL_RESPONSE_H
#define PAWL_RESPONSE_H

#include <stdbool.h>
#include <json-c/json.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"

#define PAWL_RESPONSE_MAX_HEADERS 32

struct pawl_header {
	const char *name;
	const char *value;
};

struct pawl_response {
	struct pawl_arena *arena;
	int status;
	int errno_;       /* the Kinto errno of an error response, else 0 */
	struct pawl_header headers[PAWL_RESPONSE_MAX_HEADERS];
	size_t n_headers;
	struct pawl_buf body;
	bool omit_body;   /* HEAD and 304: headers only */
	const char *error_id; /* a 500's id, in its body and its log line; else NULL */
	/*
	 * The request's id (http/request.h, pawl_request_id), set by whoever
	 * answers the request: sent as X-Request-Id and as "request_id" in
	 * every error body. NULL: neither (a batch's sub-response has its
	 * batch's). Kept by pawl_response_discard.
	 */
	const char *request_id;
	enum pawl_err failed; /* the first failure while building (sticky), else PAWL_OK */
	const char *failed_on; /* the header it happened on (caller's string), or NULL */
};

void pawl_response_init(struct pawl_response *resp, struct pawl_arena *arena);

/*
 * Sets (replacing) a header; name and value must outlive the response. A
 * control character or ':' in name, a control character in value (a CR/LF
 * that would split the response) or a header past PAWL_RESPONSE_MAX_HEADERS
 * fails the response with PAWL_ERR_INTERNAL; a NULL value (what the arena's
 * printf returns when memory runs out) with PAWL_ERR_NOMEM. Once failed,
 * the response ignores every later header: callers need not check.
 */
void pawl_response_header(struct pawl_response *resp, const char *name, const char *value);

/*
 * The response's sticky failure: the first one recorded by a header, or
 * PAWL_ERR_NOMEM when its body could not be built. PAWL_OK when sound.
 */
enum pawl_err pawl_response_failure(const struct pawl_response *resp);

/*
 * Forgets a failed response -- status, headers, body, failure -- so the error
 * answer can be built on a clean one; err gets the failure to answer with
 * (its message names the header). Only the pipeline, which finishes every
 * response, calls this.
 */
void pawl_response_discard(struct pawl_response *resp, struct pawl_error *err);

/* The value of a header already set, or NULL. */
const char *pawl_response_get_header(const struct pawl_response *resp, const char *name);

/* Status + compact JSON body of obj (obj is not consumed). */
void pawl_response_json(struct pawl_response *resp, int status, json_object *obj);

/* Status + a JSON body given as text (e.g. "{}"). */
void pawl_response_raw(struct pawl_response *resp, int status, const char *json);

/*
 * Replaces the body and status with the error's JSON:
 * {"code","errno","error","message"?,"details"?,"request_id"?}
 * (docs/protocol.md §7; request_id when resp->request_id is set). A 500 shows
 * only Kinto's generic message and details {"error_id": <16 hex>}; the
 * error's own message goes to the log, on one line with the same id
 * (resp->error_id, arena-owned).
 */
void pawl_response_error(struct pawl_response *resp, const struct pawl_error *err);

#endif
