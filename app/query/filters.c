/*
 * A list request's query string → struct pawl_query (docs/protocol.md §4):
 * split on '&', decode, dispatch reserved names and filter operators through
 * tables, and type every value the way Kinto does. Pure: no I/O, no SQL. It
 * must never let through a field name that is not a plain dotted identifier.
 */
#include <limits.h>
#include <string.h>
#include <json-c/json.h>

#include "core/json.h"
#include "query/query.h"
#include "core/str.h"

#define LOC "querystring"
#define FIELD_MAX_LEN 128
#define FIELD_MAX_DEPTH 8
#define VALUE_MAX_DEPTH 32
#define DAY_MS 86400000LL

struct qctx {
	struct pawl_arena *arena;
	struct pawl_query *q;
	long long now_ms;
	struct pawl_error *err;
	const char *name;  /* the decoded parameter name, for messages */
	const char *value; /* its decoded value */
	size_t value_len;
};

typedef enum pawl_err reserved_fn(struct qctx *c);
typedef enum pawl_err typer_fn(struct qctx *c, struct pawl_filter *f);

static reserved_fn p_since, p_before, p_to, p_sort, p_limit, p_fields, p_token;
static typer_fn t_scalar, t_list, t_like, t_has, t_contains;

/* keep: the raw pair goes into Next-Page's query string. */
static const struct reserved {
	const char *name;
	reserved_fn *fn;
	bool keep;
} reserved[] = {
	{ "_since", p_since, true },
	{ "_before", p_before, true },
	{ "_to", p_to, true },
	{ "_sort", p_sort, true },
	{ "_limit", p_limit, false },
	{ "_fields", p_fields, true },
	{ "_token", p_token, false },
};

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

static enum pawl_err invalid(struct qctx *c)
{
	return pawl_error_invalid(c->err, PAWL_ERR_INVALID, LOC, c->name,
	    "Invalid value for %s", c->name);
}

/* Yields the comma-separated items of [*p, end); "" is one empty item. */
static bool next_item(const char **p, const char *end, const char **item, size_t *n)
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
static bool field_valid(const char *s, size_t len, size_t *depth)
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

enum field_rc { FIELD_OK, FIELD_BAD, FIELD_NOMEM };

static enum field_rc field_parse(struct pawl_arena *arena, const char *s, size_t len,
    struct pawl_field *f)
{
	const char *seg, *dot, *end = s + len;
	size_t depth, n, i = 0;

	if (!field_valid(s, len, &depth))
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
		return invalid(c);
	*out = pawl_json_own(c->arena, json_object_new_string_len(s, (int)len));
	return *out == NULL ? pawl_error_nomem(c->err) : PAWL_OK;
}

/* An integer, optionally in double quotes as copied from an ETag, in [0, max]. */
static bool parse_ts(const char *s, size_t len, long long max, long long *v)
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

	if (max < 0 || !parse_ts(s, len, max, &v))
		return invalid(c);
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
		return invalid(c);
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
	while (next_item(&p, end, &item, &n)) {
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
		return invalid(c);
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
	return invalid(c);
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
static enum pawl_err parse_filter(struct qctx *c)
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
		    field_valid(rest, strlen(rest), &depth)) {
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
	frc = field_parse(c->arena, field, strlen(field), &f->field);
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

static enum pawl_err bound(struct qctx *c, bool *has, long long *v)
{
	if (!parse_ts(c->value, c->value_len, LLONG_MAX, v))
		return invalid(c);
	*has = true;
	return PAWL_OK;
}

static enum pawl_err p_since(struct qctx *c)
{
	if (strcmp(c->value, "null") == 0) {
		c->q->has_since = false;
		return PAWL_OK;
	}
	return bound(c, &c->q->has_since, &c->q->since);
}

static enum pawl_err p_before(struct qctx *c)
{
	return bound(c, &c->q->has_before, &c->q->before);
}

static enum pawl_err p_to(struct qctx *c)
{
	c->q->to_used = true;
	return bound(c, &c->q->has_before, &c->q->before);
}

static void trim(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* _sort=a,-b,+c: later _sort parameters replace earlier ones. */
static enum pawl_err p_sort(struct qctx *c)
{
	const char *p = c->value, *end = c->value + c->value_len, *item;
	struct pawl_sort *s;
	enum field_rc frc;
	size_t n;

	c->q->n_sort = 0;
	while (next_item(&p, end, &item, &n)) {
		if (c->q->n_sort >= PAWL_QUERY_MAX_SORT)
			return pawl_error_invalid(c->err, PAWL_ERR_INVALID, LOC, c->name,
			    "Too many sort fields (at most %d)", PAWL_QUERY_MAX_SORT);
		trim(&item, &n);
		s = &c->q->sort[c->q->n_sort];
		memset(s, 0, sizeof(*s));
		if (n > 0 && (item[0] == '-' || item[0] == '+')) {
			s->desc = item[0] == '-';
			item++;
			n--;
		}
		if ((frc = field_parse(c->arena, item, n, &s->field)) == FIELD_NOMEM)
			return pawl_error_nomem(c->err);
		if (frc == FIELD_BAD)
			return invalid(c);
		c->q->n_sort++;
	}
	return PAWL_OK;
}

static enum pawl_err p_limit(struct qctx *c)
{
	if (!pawl_str_to_ll(c->value, 0, PAWL_STR_INT_MAX, &c->q->limit) || c->value[0] == '-')
		return pawl_error_invalid(c->err, PAWL_ERR_INVALID, LOC, c->name,
		    "_limit should be an integer");
	c->q->has_limit = true;
	return PAWL_OK;
}

static enum pawl_err p_fields(struct qctx *c)
{
	return pawl_query_parse_fields(c->arena, c->value, c->q->fields, PAWL_QUERY_MAX_FIELDS,
	    &c->q->n_fields, c->err);
}

static enum pawl_err p_token(struct qctx *c)
{
	c->q->token = c->value[0] != '\0' ? c->value : NULL;
	return PAWL_OK;
}

enum pawl_err pawl_query_parse_fields(struct pawl_arena *arena, const char *value,
    const char **fields, size_t max, size_t *n, struct pawl_error *err)
{
	const char *p = value != NULL ? value : "", *end, *item;
	size_t len, depth;

	*n = 0;
	end = p + strlen(p);
	while (next_item(&p, end, &item, &len)) {
		if (*n >= max)
			return pawl_error_invalid(err, PAWL_ERR_INVALID, LOC, "_fields",
			    "Too many fields (at most %zu)", max);
		if (!field_valid(item, len, &depth))
			return pawl_error_invalid(err, PAWL_ERR_INVALID, LOC, "_fields",
			    "Invalid value for _fields");
		if ((fields[*n] = pawl_arena_strndup(arena, item, len)) == NULL)
			return pawl_error_nomem(err);
		(*n)++;
	}
	return PAWL_OK;
}

enum dec_rc { DEC_OK, DEC_BAD, DEC_NUL, DEC_NOMEM };

static bool is_hex(char ch)
{
	return ch != '\0' && strchr("0123456789abcdefABCDEF", ch) != NULL;
}

/* Percent-decodes (with '+' as space) and checks UTF-8; tells %00 from bad escapes. */
static enum dec_rc decode(struct pawl_arena *arena, const char *raw, size_t len,
    char **out, size_t *out_len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (raw[i] != '%')
			continue;
		if (len - i < 3 || !is_hex(raw[i + 1]) || !is_hex(raw[i + 2]))
			return DEC_BAD;
		if (raw[i + 1] == '0' && raw[i + 2] == '0')
			return DEC_NUL;
		i += 2;
	}
	if ((*out = pawl_str_urldecode(arena, raw, len, true, out_len)) == NULL)
		return DEC_NOMEM;
	return pawl_str_utf8_valid(*out, *out_len) ? DEC_OK : DEC_BAD;
}

/*
 * Decodes the name (into c->name, trimmed as Kinto strips it) or the value
 * (into c->value). Errors about a name quote it raw: it did not decode.
 */
static enum pawl_err decode_part(struct qctx *c, const char *raw, size_t len, bool is_name)
{
	const char *label = is_name ? pawl_arena_strndup(c->arena, raw, len) : c->name;
	char *out;
	size_t n;

	if (label == NULL)
		return pawl_error_nomem(c->err);
	switch (decode(c->arena, raw, len, &out, &n)) {
	case DEC_OK:
		break;
	case DEC_NUL:
		return pawl_error_invalid(c->err, PAWL_ERR_INVALID, LOC, label,
		    "Invalid character 0x00");
	case DEC_BAD:
		return is_name ? pawl_error_invalid(c->err, PAWL_ERR_INVALID, LOC, label,
		    "Invalid parameter name") : invalid(c);
	default:
		return pawl_error_nomem(c->err);
	}
	if (!is_name) {
		c->value = out;
		c->value_len = n;
		return PAWL_OK;
	}
	c->name = out;
	trim(&c->name, &n);
	out[(size_t)(c->name - out) + n] = '\0';
	return PAWL_OK;
}

static enum pawl_err parse_pair(struct qctx *c, const char *raw, size_t len,
    struct pawl_buf *keep)
{
	const char *eq = memchr(raw, '=', len);
	size_t nlen = eq != NULL ? (size_t)(eq - raw) : len, skip = eq != NULL;
	bool keep_pair = true;
	enum pawl_err rc;
	size_t i;

	if ((rc = decode_part(c, raw, nlen, true)) != PAWL_OK ||
	    (rc = decode_part(c, raw + nlen + skip, len - nlen - skip, false)) != PAWL_OK)
		return rc;
	if (c->name[0] != '_') {
		rc = parse_filter(c);
	} else {
		for (i = 0; i < N_ITEMS(reserved) && strcmp(c->name, reserved[i].name) != 0; i++)
			;
		/*
		 * Kinto ignores other "_" parameters (clients send e.g. _expected as
		 * a cache-buster); they are neither filters nor errors, but Next-Page
		 * repeats them.
		 */
		if (i == N_ITEMS(reserved))
			keep_pair = true;
		else {
			keep_pair = reserved[i].keep;
			rc = reserved[i].fn(c);
		}
	}
	if (rc == PAWL_OK && keep_pair) {
		if (keep->len > 0)
			pawl_buf_putc(keep, '&');
		pawl_buf_append(keep, raw, len);
	}
	return rc;
}

/* -last_modified breaks ties unless the client sorts on last_modified itself. */
static enum pawl_err finish(struct qctx *c, struct pawl_buf *keep)
{
	struct pawl_query *q = c->q;
	size_t i;

	for (i = 0; i < q->n_sort && q->sort[i].field.kind != PAWL_FIELD_LAST_MODIFIED; i++)
		;
	if (i == q->n_sort) {
		memset(&q->sort[i], 0, sizeof(q->sort[i]));
		if (field_parse(c->arena, "last_modified", 13, &q->sort[i].field) != FIELD_OK)
			return pawl_error_nomem(c->err);
		q->sort[i].desc = true;
		q->n_sort++;
	}
	q->with_tombstones = q->has_since || q->has_before;
	for (i = 0; i < q->n_filters; i++)
		if (q->filters[i].field.kind == PAWL_FIELD_LAST_MODIFIED)
			q->with_tombstones = true;
	q->keep = keep->data != NULL ? keep->data : "";
	return keep->failed ? pawl_error_nomem(c->err) : PAWL_OK;
}

enum pawl_err pawl_query_parse(struct pawl_arena *arena, const char *query, long long now_ms,
    struct pawl_query *out, struct pawl_error *err)
{
	struct qctx c = { arena, out, now_ms, err, NULL, NULL, 0 };
	struct pawl_buf keep;
	const char *p;
	enum pawl_err rc;
	size_t len;

	memset(out, 0, sizeof(*out));
	pawl_buf_init(&keep, arena);
	for (p = query != NULL ? query : ""; *p != '\0'; p += len + (p[len] == '&')) {
		len = strcspn(p, "&");
		if (len > 0 && (rc = parse_pair(&c, p, len, &keep)) != PAWL_OK)
			return rc;
	}
	return finish(&c, &keep);
}
