/*
 * What the two halves of the query-string parser share, inside query/ only:
 * params.c (the query string, its reserved "_" names) and filters.c (field
 * filters and the field-name syntax). The API is query/query.h.
 */
#ifndef PAWL_FILTERS_H
#define PAWL_FILTERS_H

#include <stdbool.h>
#include <stddef.h>

#include "query/query.h"

#define LOC "querystring"

/* One parameter being parsed, and where its result goes. */
struct qctx {
	struct pawl_arena *arena;
	struct pawl_query *q;
	long long now_ms;
	struct pawl_error *err;
	const char *name;  /* the decoded parameter name, for messages */
	const char *value; /* its decoded value */
	size_t value_len;
};

enum field_rc { FIELD_OK, FIELD_BAD, FIELD_NOMEM };

/* "Invalid value for <name>" (400) about c's parameter. */
enum pawl_err pawl_filters_invalid(struct qctx *c);

/* Yields the comma-separated items of [*p, end); "" is one empty item. */
bool pawl_filters_next_item(const char **p, const char *end, const char **item, size_t *n);

/* [A-Za-z0-9_]+ segments joined by '.'; *depth gets their count. */
bool pawl_filters_field_valid(const char *s, size_t len, size_t *depth);

/* s[0..len) as a field (its path in the arena); FIELD_BAD when not a valid name. */
enum field_rc pawl_filters_field_parse(struct pawl_arena *arena, const char *s, size_t len,
    struct pawl_field *f);

/* An integer, optionally in double quotes as copied from an ETag, in [0, max]. */
bool pawl_filters_parse_ts(const char *s, size_t len, long long max, long long *v);

/* c's parameter (a name not starting with '_') as a field filter into c->q. */
enum pawl_err pawl_filters_parse(struct qctx *c);

#endif
