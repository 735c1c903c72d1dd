/*
 * A list request's query string, parsed (docs/protocol.md §4):
 * filters, sort, synchronisation bounds, limit, fields and the pagination
 * token. Pure: bytes in, structs out, no I/O; the SQL builder (store/list_query.c)
 * binds every value and path as parameters.
 */
#ifndef PAWL_QUERY_H
#define PAWL_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/str.h"

enum pawl_filter_op {
	PAWL_FILTER_EQ,           /* field=v, eq_field=v */
	PAWL_FILTER_NOT,          /* not_ (missing field counts as "not equal") */
	PAWL_FILTER_MIN,          /* >= */
	PAWL_FILTER_MAX,          /* <= */
	PAWL_FILTER_LT,           /* < */
	PAWL_FILTER_GT,           /* > */
	PAWL_FILTER_IN,           /* in_field=a,b,c */
	PAWL_FILTER_EXCLUDE,      /* exclude_field=a,b,c */
	PAWL_FILTER_LIKE,         /* like_field=a*b (ILIKE; no '*' means *v*) */
	PAWL_FILTER_HAS,          /* has_field=true|false */
	PAWL_FILTER_CONTAINS,     /* array contains all of the JSON value */
	PAWL_FILTER_CONTAINS_ANY  /* array contains any of the JSON value */
};

/* The column a field lives in: the two the server manages, or the JSON data. */
enum pawl_field_kind { PAWL_FIELD_DATA, PAWL_FIELD_ID, PAWL_FIELD_LAST_MODIFIED };

struct pawl_field {
	const char *name;          /* as written: "person.name" */
	enum pawl_field_kind kind; /* "id" and "last_modified" are columns */
	const char **path;         /* name split on '.': {"person", "name"} */
	size_t depth;
};

struct pawl_filter {
	enum pawl_filter_op op;
	struct pawl_field field;
	/*
	 * The value as Kinto reads it: parsed as JSON when it parses, else a JSON
	 * string of the raw text. For IN/EXCLUDE a JSON array of the comma-separated
	 * items (each parsed the same way); for HAS a boolean; for CONTAINS and
	 * CONTAINS_ANY an array (a scalar becomes a one-element array); for LIKE the
	 * SQL pattern as a string: '*' → '%', and '%', '_', '\' escaped with '\'.
	 * Owned by the arena.
	 */
	json_object *value;
};

struct pawl_sort {
	struct pawl_field field;
	bool desc;
};

#define PAWL_QUERY_MAX_FILTERS 32
#define PAWL_QUERY_MAX_SORT 8
#define PAWL_QUERY_MAX_FIELDS 64

struct pawl_query {
	struct pawl_filter filters[PAWL_QUERY_MAX_FILTERS];
	size_t n_filters;
	/* _sort as given, then -last_modified appended unless last_modified is there. */
	struct pawl_sort sort[PAWL_QUERY_MAX_SORT + 1];
	size_t n_sort;
	bool has_since, has_before;
	long long since, before;       /* _since / _before (exclusive); _to is _before */
	bool to_used;                  /* _to was used: send Kinto's deprecation Alert */
	bool has_limit;
	long long limit;               /* _limit as given (0 allowed) */
	const char *fields[PAWL_QUERY_MAX_FIELDS]; /* _fields, dotted names */
	size_t n_fields;
	const char *token;             /* _token as given (decode with pawl_token_decode) */
	/* True when a filter touches last_modified (_since, _before, *_last_modified):
	 * tombstones are then part of the result, as in Kinto. */
	bool with_tombstones;
	/* Every parameter except _limit and _token, as "name=value" raw pairs in
	 * their original order and encoding: what Next-Page repeats. */
	const char *keep;
};

/*
 * The now_ms to pass where no clock bounds last_modified values: an object's
 * GET and DELETE (a DELETE bounds its value as a client timestamp instead).
 */
#define PAWL_QUERY_NOW_UNBOUNDED PAWL_STR_INT_MAX

/*
 * Parses a raw query string (may be NULL or ""). now_ms bounds last_modified
 * values (Kinto: 0 <= v < now + 1 day). Errors are PAWL_ERR_INVALID with
 * location "querystring" and the parameter as name, with Kinto's messages:
 * "Invalid value for <param>", "Unknown filter operator", "_limit should be an
 * integer", "Invalid character 0x00", "Field '<f>' is not an array"... An unknown
 * parameter starting with '_' is an error ("Unknown parameter").
 */
enum pawl_err pawl_query_parse(struct pawl_arena *arena, const char *query, long long now_ms,
    struct pawl_query *out, struct pawl_error *err);

/* Parses a comma list of dotted names for _fields (also for item GET). */
enum pawl_err pawl_query_parse_fields(struct pawl_arena *arena, const char *value,
    const char **fields, size_t max, size_t *n, struct pawl_error *err);

/*
 * Pagination tokens: base64url of a JSON object {"last": {<sort field>: value...},
 * "offset": n, "q": <hash of the query's filters and sort>} followed by '.' and
 * a truncated HMAC-SHA256 signature under key of scope "\n" the first part.
 * The scope names where the token is good (the list and the user: see
 * app/resource/plural.c); it is signed, not carried. A token whose signature
 * (hence scope), JSON, shape or query hash does not check out is 400 "_token
 * has invalid content".
 */
struct pawl_token {
	json_object *last;   /* object: sort field name → value of the last object served */
	long long offset;
};

/* The hash that binds a token to a query's filters, bounds and sort. */
const char *pawl_token_query_hash(struct pawl_arena *arena, const struct pawl_query *q);

const char *pawl_token_encode(struct pawl_arena *arena, const char *key, const char *scope,
    const struct pawl_query *q, json_object *last, long long offset);

/* Whose signature a token must carry: the HMAC key and the scope it was issued for. */
struct pawl_token_signer {
	const char *key;
	const char *scope;
};

enum pawl_err pawl_token_decode(struct pawl_arena *arena, const struct pawl_token_signer *signer,
    const struct pawl_query *q, const char *token, struct pawl_token *out,
    struct pawl_error *err);

#endif
