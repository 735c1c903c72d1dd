/*
 * The one place that turns untrusted bytes into json-c trees: size, depth and
 * UTF-8 limits are applied here, and every tree is released through the
 * request arena. Also small helpers to serialise trees into buffers.
 */
#ifndef PAWL_JSON_H
#define PAWL_JSON_H

#include <stddef.h>
#include <json-c/json.h>

#include "pawl/arena.h"
#include "pawl/err.h"

/*
 * Parses exactly one JSON document from buf[0..len) (surrounding whitespace
 * allowed). Rejects invalid UTF-8, nesting deeper than max_depth, and trailing
 * garbage, with PAWL_ERR_INVALID and a Kinto-style message ("Invalid JSON: ...",
 * location "body"). On success *out is owned by the arena (put when reset);
 * it is NULL for the document `null`, which is how json-c represents null.
 * max_depth counts nested arrays/objects (`[[1]]` is 2; 0 allows scalars
 * only; capped at 4096). PAWL_ERR_NOMEM on OOM; PAWL_ERR_TOO_LARGE when len
 * does not fit json-c's int.
 */
enum pawl_err pawl_json_parse(struct pawl_arena *arena, const char *buf, size_t len,
    int max_depth, json_object **out, struct pawl_error *err);

/*
 * Ties an existing tree to the arena (json_object_put at reset). Returns obj,
 * or NULL when obj is NULL or on OOM, in which case obj has already been put.
 */
json_object *pawl_json_own(struct pawl_arena *arena, json_object *obj);

/* Compact serialisation into the arena (no escaped slashes). NULL on OOM. */
const char *pawl_json_compact(struct pawl_arena *arena, json_object *obj, size_t *len);

#endif
