/*
 * The one place that turns untrusted bytes into json-c trees: size, depth and
 * UTF-8 limits are applied here, and every tree is released through the
 * request arena. Also small helpers to serialise trees into buffers.
 */
#ifndef PAWL_JSON_H
#define PAWL_JSON_H

#include <stddef.h>
#include <json-c/json.h>

#include <stdbool.h>

#include "core/arena.h"
#include "core/err.h"

/*
 * The deepest a stored object (its data) can be under any setting: writes
 * keep data at most max_json_depth - 1 deep (so it fits back in a body as
 * {"data": ...}), and max_json_depth is at most this (config_keys.c caps
 * it). Stored JSON is parsed
 * with this limit, so lowering the setting never makes objects unreadable.
 */
#define PAWL_JSON_STORED_DEPTH 1000

/*
 * Most digits after the decimal point a number may have once written without
 * exponent, as PostgreSQL's jsonb prints it: every double fits (the smallest
 * subnormal needs 340), and "1e-99999" cannot grow into a page of zeros.
 */
#define PAWL_JSON_NUMBER_DECIMALS 400

/*
 * Parses exactly one JSON document from buf[0..len) (surrounding whitespace
 * allowed). Rejects invalid UTF-8, nesting deeper than max_depth, trailing
 * garbage, "\u0000" and lone UTF-16 surrogate escapes, and numbers that
 * would not read back once PostgreSQL prints them (integers outside int64 and
 * uint64 once written in full, like 2e19; non-finite doubles; more than
 * PAWL_JSON_NUMBER_DECIMALS decimals once written in full), with
 * PAWL_ERR_INVALID and a Kinto-style message ("Invalid JSON: ...", location
 * "body", name the dotted path of the field at fault when there is one, as
 * "data.tags.0"). Whatever it accepts, written by jsonb and parsed again,
 * is accepted and equal in value. On success *out is owned by the arena (put when reset);
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

/*
 * Whether obj nests arrays and objects deeper than max_depth (counted as in
 * pawl_json_parse). Recurses at most max_depth + 1 levels.
 */
bool pawl_json_deeper_than(json_object *obj, int max_depth);

/* Compact serialisation into the arena (no escaped slashes). NULL on OOM. */
const char *pawl_json_compact(struct pawl_arena *arena, json_object *obj, size_t *len);

#endif
