/*
 * A list request's query string → struct pawl_query (docs/protocol.md §4):
 * split on '&', decode, dispatch the reserved "_" names (_since, _before,
 * _to, _sort, _limit, _fields, _token) through a table, hand every other
 * name to the field filters (filters.c), and keep what Next-Page repeats.
 * Pure: no I/O, no SQL.
 */
#include <limits.h>
#include <string.h>

#include "core/str.h"
#include "query/filters.h"

typedef enum pawl_err reserved_fn(struct qctx *c);

static reserved_fn p_since, p_before, p_to, p_sort, p_limit, p_fields, p_token;

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

#define N_ITEMS(a) (sizeof(a) / sizeof((a)[0]))

static enum pawl_err bound(struct qctx *c, bool *has, long long *v)
{
	if (!pawl_filters_parse_ts(c->value, c->value_len, LLONG_MAX, v))
		return pawl_filters_invalid(c);
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
	while (pawl_filters_next_item(&p, end, &item, &n)) {
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
		if ((frc = pawl_filters_field_parse(c->arena, item, n, &s->field)) == FIELD_NOMEM)
			return pawl_error_nomem(c->err);
		if (frc == FIELD_BAD)
			return pawl_filters_invalid(c);
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
	while (pawl_filters_next_item(&p, end, &item, &len)) {
		if (*n >= max)
			return pawl_error_invalid(err, PAWL_ERR_INVALID, LOC, "_fields",
			    "Too many fields (at most %zu)", max);
		if (!pawl_filters_field_valid(item, len, &depth))
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
		    "Invalid parameter name") : pawl_filters_invalid(c);
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
		rc = pawl_filters_parse(c);
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
		if (pawl_filters_field_parse(c->arena, "last_modified", 13, &q->sort[i].field) != FIELD_OK)
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
