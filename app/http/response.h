/*
 * A response under construction: status, headers and a JSON body, all in the
 * request arena. Header values are checked here so no CR/LF can ever reach
 * the wire, and every error body takes docs/protocol.md §7's shape here.
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
};

void pawl_response_init(struct pawl_response *resp, struct pawl_arena *arena);

/*
 * Sets (replacing) a header. Fails with PAWL_ERR_INTERNAL, leaving the
 * response unchanged, if name or value holds a control character.
 */
enum pawl_err pawl_response_header(struct pawl_response *resp, const char *name, const char *value);

/* The value of a header already set, or NULL. */
const char *pawl_response_get_header(const struct pawl_response *resp, const char *name);

/* Status + compact JSON body of obj (obj is not consumed). */
void pawl_response_json(struct pawl_response *resp, int status, json_object *obj);

/* Status + a JSON body given as text (e.g. "{}"). */
void pawl_response_raw(struct pawl_response *resp, int status, const char *json);

/*
 * Replaces the body and status with the error's JSON:
 * {"code","errno","error","message"?,"details"?} (docs/protocol.md §7). A 500 shows
 * only Kinto's generic message and details {"error_id": <16 hex>}; the
 * error's own message goes to the log, on one line with the same id
 * (resp->error_id, arena-owned).
 */
void pawl_response_error(struct pawl_response *resp, const struct pawl_error *err);

#endif
