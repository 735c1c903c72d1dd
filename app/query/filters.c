/*
 * The field filters of a list request's query string (docs/protocol.md §4):
 * [op_]field=value, the operator prefix found through a table, every value
 * typed the way Kinto does, and the field-name syntax sort and _fields share.
 * Pure: no I/O, no SQL. It must never let through a field name that is not a
 * plain dotted identifier. The query string itself and its reserved "_"
 * parameters are parsed in params.c.
 */
#include <limits.h>
#include <string.h>
#include <json-c/json.h>

#include "core/json.h"
#include "core/str.h"
#include "query/filters.h"

#define FIELD_MAX_LEN 128
#define FIELD_MAX_DEPTH 8
#define VALUE_MAX_DEPTH 32
#define DAY_MS 86400000LL

typedef enum pawl_err typer_fn(struct qctx *c, struct pawl_filter *f);

static typer_fn t_scalar, t_list, t_like, t_has, t_contains;

/* The first row is also what a name without an operator prefix gets. */
static const struct op_prefix {
	const char *prefix;
	size_t len;
	enum pawl_filter_op op;
	typer_fn *type;
} op_prefixes[] = {
#define OP(p, o, t) { p, sizeof(p) - 1, o, t }
	OP("eq_", PAWL_FILTER_EQ, t_scalar),
	OP("min_", PAWL_FILTER_MIN, t_scalar),
	OP("max_", PAWL_FILTER_MAX, t_scalar),
	OP("lt_", PAWL_FILTER_LT, t_scalar),
	OP("gt_", PAWL_FILTER_GT, t_scalar),
	OP("not_", PAWL_FILTER_NOT, t_scalar),
	OP("in_", PAWL_FILTER_IN, t_list),
	OP("exclude_", PAWL_FILTER_EXCLUDE, t_list),
	OP("like_", PAWL_FILTER_LIKE, t_like),
	OP("has_", PAWL_FILTER_HAS, t_has),
	OP("contains_any_", PAWL_FILTER_CONTAINS_ANY, t_contains), /* before contains_ */
	OP("contains_", PAWL_FILTER_CONTAINS, t_contains),
#undef OP
};

#define N_ITEMS(a) (sizeof(a) / sizeof((a)[0]))

enum pawl_err pawl_filters_invalid(struct qctx *c)
{
	return pawl_error_invalid(c->err, PAWL_ERR_INVALID, LOC, c->name,
	    "Invalid value for %s", c->name);
}

/* Yields the comma-separated items of [*p, end); "" is one empty item. */
bool pawl_filters_next_item(const char **p, const char *end, const char **item, size_t *n)
{
	const char *comma;

	if (*p == NULL)
		return false;
	comma = memchr(*p, ',', (size_t)(end - *p));
	*item = *p;
	*n = (size_t)((comma != NULL ? comma : end) - *p);
	*p = comma != NULL ? comma + 1 : NULL;
	return true;
}

static bool is_ident(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '_';
}

/* [A-Za-z0-9_]+ segments joined by '.', at most FIELD_MAX_DEPTH of them. */
bool pawl_filters_field_valid(const char *s, size_t len, size_t *depth)
{
	size_t i, seg = 0;

	*depth = 1;
	if (len == 0 || len > FIELD_MAX_LEN)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (seg == 0 || ++*depth > FIELD_MAX_DEPTH)
				return false;
			seg = 0;
		} else if (is_ident(s[i])) {
			seg++;
		} else {
			return false;
		}
	}
	return seg > 0;
}

enum field_rc pawl_filters_field_parse(struct pawl_arena *arena, const char *s, size_t len,
    struct pawl_field *f)
{
	const char *seg, *dot, *end = s + len;
	size_t depth, n, i = 0;

	if (!pawl_filters_field_valid(s, len, &depth))
		return FIELD_BAD;
	f->name = pawl_arena_strndup(arena, s, len);
	f->path = pawl_arena_calloc(arena, depth, sizeof(*f->path));
	if (f->name == NULL || f->path == NULL)
		return FIELD_NOMEM;
	f->depth = depth;
	for (seg = s;; seg = dot + 1) {
		dot = memchr(seg, '.', (size_t)(end - seg));
		n = (size_t)((dot != NULL ? dot : end) - seg);
		if ((f->path[i++] = pawl_arena_strndup(arena, seg, n)) == NULL)
			return FIELD_NOMEM;
		if (dot == NULL)
			break;
	}
	f->kind = PAWL_FIELD_DATA;
	if (strcmp(f->name, "id") == 0)
		f->kind = PAWL_FIELD_ID;
	else if (strcmp(f->name, "last_modified") == 0)
		f->kind = PAWL_FIELD_LAST_MODIFIED;
	return FIELD_OK;
}

/* Strings anywhere in v holding a NUL (JSON "\u0000"): jsonb cannot store them. */
static bool has_nul(json_object *v)
{
	size_t i, n;

	switch (json_object_get_type(v)) {
	case json_type_string:
		return memchr(json_object_get_string(v), '\0',
		    (size_t)json_object_get_string_len(v)) != NULL;
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			if (has_nul(json_object_array_get_idx(v, i)))
				return true;
		return false;
	case json_type_object: {
		json_object_object_foreach(v, key, val) {
			(void)key;
			if (has_nul(val))
				return true;
		}
		return false;
	}
	default:
		return false;
	}
}

/* Whether s holds a "\u" escape; *nul when one of them is "\u0000". */
static bool has_u_escape(const char *s, size_t len, bool *nul)
{
	bool any = false;
	size_t i;

	*nul = false;
	for (i = 0; i + 1 < len; i++) {
		if (s[i] != '\\' || s[i + 1] != 'u')
			continue;
		any = true;
		*nul = *nul || (i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0);
	}
	return any;
}

/*
 * Kinto's native_value: the text as JSON when it parses, else a JSON string of
 * the text. *out belongs to the arena; NULL is the JSON null.
 */
static enum pawl_err native(struct qctx *c, const char *s, size_t len, json_object **out)
{
	struct pawl_error scratch;
	enum pawl_err rc;
	bool nul;

	rc = pawl_json_parse(c->arena, s, len, VALUE_MAX_DEPTH, out, &scratch);
	if (rc == PAWL_ERR_NOMEM)
		return pawl_error_nomem(c->err);
	if (rc == PAWL_OK) {
		if (has_nul(*out))
			return pawl_error_invalid(c->err, PAWL_ERR_INVALID, LOC, c->name,
			    "Invalid character 0x00");
		return PAWL_OK;
	}
	/* JSON refused for a "\u" escape (U+0000, a lone surrogate): not plain text either. */
	if (len > 0 && strchr("\"[{", s[0]) != NULL && has_u_escape(s, len, &nul))
		return pawl_error_invalid(c->err, PAWL_ERR_INVALID, LOC, c->name,
		    nul ? "Invalid character 0x00" : "Invalid character escape");
	if (len > INT_MAX)
		return pawl_filters_invalid(c);
	*out = pawl_json_own(c->arena, json_object_new_string_len(s, (int)len));
	return *out == NULL ? pawl_error_nomem(c->err) : PAWL_OK;
}

/* An integer, optionally in double quotes as copied from an ETag, in [0, max]. */
bool pawl_filters_parse_ts(const char *s, size_t len, long long max, long long *v)
{
	char buf[24];

	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf) || s[0] == '-')
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return pawl_str_to_ll(buf, 0, max, v);
}

/* Kinto: a last_modified value must satisfy 0 <= v < now + 1 day. */
static enum pawl_err lm_value(struct qctx *c, const char *s, size_t len, json_object **out)
{
	long long max = c->now_ms > LLONG_MAX - DAY_MS ? LLONG_MAX - 1 : c->now_ms + DAY_MS - 1;
	long long v;

	if (max < 0 || !pawl_filters_parse_ts(s, len, max, &v))
		return pawl_filters_invalid(c);
	*out = pawl_json_own(c->arena, json_object_new_int64(v));
	return *out == NULL ? pawl_error_nomem(c->err) : PAWL_OK;
}

static enum pawl_err t_scalar(struct qctx *c, struct pawl_filter *f)
{
	if (f->field.kind == PAWL_FIELD_LAST_MODIFIED)
		return lm_value(c, c->value, c->value_len, &f->value);
	return native(c, c->value, c->value_len, &f->value);
}

static enum pawl_err list_item(struct qctx *c, const struct pawl_filter *f, const char *s,
    size_t len, json_object **out)
{
	enum pawl_err rc;

	if (f->field.kind == PAWL_FIELD_LAST_MODIFIED)
		return lm_value(c, s, len, out);
	if ((rc = native(c, s, len, out)) != PAWL_OK)
		return rc;
	if (f->field.kind == PAWL_FIELD_ID && !json_object_is_type(*out, json_type_string))
		return pawl_filters_invalid(c);
	return PAWL_OK;
}

static enum pawl_err t_list(struct qctx *c, struct pawl_filter *f)
{
	const char *p = c->value, *end = c->value + c->value_len, *item;
	json_object *arr, *v;
	enum pawl_err rc;
	size_t n;

	if ((arr = pawl_json_own(c->arena, json_object_new_array())) == NULL)
		return pawl_error_nomem(c->err);
	while (pawl_filters_next_item(&p, end, &item, &n)) {
		if ((rc = list_item(c, f, item, n, &v)) != PAWL_OK)
			return rc;
		if (json_object_array_add(arr, json_object_get(v)) != 0) {
			json_object_put(v);
			return pawl_error_nomem(c->err);
		}
	}
	f->value = arr;
	return PAWL_OK;
}

/* '*' is the wildcard, no '*' means *v*; SQL's own wildcards are escaped. */
static enum pawl_err t_like(struct qctx *c, struct pawl_filter *f)
{
	const char *s = c->value;
	size_t len = c->value_len, i;
	json_object *v;
	struct pawl_buf b;
	enum pawl_err rc;
	bool star;

	if (f->field.kind == PAWL_FIELD_LAST_MODIFIED)
		return pawl_filters_invalid(c);
	if ((rc = native(c, s, len, &v)) != PAWL_OK)
		return rc;
	if (json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
	}
	star = memchr(s, '*', len) != NULL;
	pawl_buf_init(&b, c->arena);
	pawl_buf_puts(&b, star ? "" : "%");
	for (i = 0; i < len; i++) {
		if (s[i] == '*') {
			pawl_buf_putc(&b, '%');
			continue;
		}
		if (s[i] == '%' || s[i] == '_' || s[i] == '\\')
			pawl_buf_putc(&b, '\\');
		pawl_buf_putc(&b, s[i]);
	}
	pawl_buf_puts(&b, star ? "" : "%");
	if (b.failed || b.len > INT_MAX)
		return pawl_error_nomem(c->err);
	f->value = pawl_json_own(c->arena, json_object_new_string_len(b.data, (int)b.len));
	return f->value == NULL ? pawl_error_nomem(c->err) : PAWL_OK;
}

static enum pawl_err t_has(struct qctx *c, struct pawl_filter *f)
{
	static const struct {
		const char *text;
		bool value;
	} words[] = { { "true", true }, { "1", true }, { "false", false }, { "0", false } };
	size_t i;

	for (i = 0; i < N_ITEMS(words); i++) {
		if (strcmp(c->value, words[i].text) == 0) {
			f->value = pawl_json_own(c->arena, json_object_new_boolean(words[i].value));
			return f->value == NULL ? pawl_error_nomem(c->err) : PAWL_OK;
		}
	}
	return pawl_filters_invalid(c);
}

static enum pawl_err t_contains(struct qctx *c, struct pawl_filter *f)
{
	json_object *v, *arr;
	enum pawl_err rc;

	if (f->field.kind != PAWL_FIELD_DATA)
		return pawl_error_invalid(c->err, PAWL_ERR_INVALID, LOC, c->name,
		    "Field '%s' is not an array", f->field.name);
	if ((rc = native(c, c->value, c->value_len, &v)) != PAWL_OK)
		return rc;
	if (json_object_is_type(v, json_type_array)) {
		f->value = v;
		return PAWL_OK;
	}
	if ((arr = pawl_json_own(c->arena, json_object_new_array())) == NULL)
		return pawl_error_nomem(c->err);
	if (json_object_array_add(arr, json_object_get(v)) != 0) {
		json_object_put(v);
		return pawl_error_nomem(c->err);
	}
	f->value = arr;
	return PAWL_OK;
}

/* [op_]field=value; a prefix counts only when a valid field name follows it. */
enum pawl_err pawl_filters_parse(struct qctx *c)
{
	const struct op_prefix *op = &op_prefixes[0];
	const char *field = c->name;
	struct pawl_filter *f;
	enum field_rc frc;
	enum pawl_err rc;
	size_t i, depth;

	for (i = 0; i < N_ITEMS(op_prefixes); i++) {
		const char *rest = c->name + op_prefixes[i].len;

		if (strncmp(c->name, op_prefixes[i].prefix, op_prefixes[i].len) == 0 &&
		    pawl_filters_field_valid(rest, strlen(rest), &depth)) {
			op = &op_prefixes[i];
			field = rest;
			break;
		}
	}
	if (c->q->n_filters >= PAWL_QUERY_MAX_FILTERS)
		return pawl_error_invalid(c->err, PAWL_ERR_INVALID, LOC, c->name,
		    "Too many filters (at most %d)", PAWL_QUERY_MAX_FILTERS);
	f = &c->q->filters[c->q->n_filters];
	memset(f, 0, sizeof(*f));
	f->op = op->op;
	frc = pawl_filters_field_parse(c->arena, field, strlen(field), &f->field);
	if (frc == FIELD_NOMEM)
		return pawl_error_nomem(c->err);
	if (frc == FIELD_BAD)
		return pawl_error_invalid(c->err, PAWL_ERR_INVALID, LOC, c->name,
		    "Invalid filter field '%s'", c->name);
	if ((rc = op->type(c, f)) != PAWL_OK)
		return rc;
	c->q->n_filters++;
	return PAWL_OK;
}

