/*
 * PATCH documents (docs/protocol.md §3): Kinto's shallow merge,
 * RFC 7396 JSON Merge Patch and RFC 6902 JSON Patch, applied to json-c
 * trees in memory. Pure: no I/O; trees belong to the caller's arena.
 */
#ifndef PAWL_JSON_PATCH_H
#define PAWL_JSON_PATCH_H

#include <json-c/json.h>

#include "core/arena.h"
#include "core/err.h"

/* application/json: each top-level key of patch replaces target's (null is stored). */
void pawl_patch_shallow(json_object *target, json_object *patch);

/* RFC 7396: recursive merge; null removes the key. Returns the new target
 * (which may be a different object when patch is not an object). */
json_object *pawl_patch_merge(json_object *target, json_object *patch);

/*
 * RFC 6902 on doc (an object {"data": {...}, "permissions": {...}}). ops must
 * be an array of {op, path, value?, from?}; ops test, add, remove, replace,
 * move, copy; paths are JSON Pointers (RFC 6901, ~0 ~1 escapes; "-" appends).
 * On failure doc may be partly changed (the caller discards it) and err is
 * 400 errno 107 "JSON Patch operation failed: <why>".
 */
enum pawl_err pawl_patch_json(json_object *doc, json_object *ops, struct pawl_error *err);

#endif
