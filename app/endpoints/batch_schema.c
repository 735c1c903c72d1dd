/*
 * The body of POST /v1/batch checked as Kinto's colander schema checks it,
 * with the same messages (Python reprs of the offending values included),
 * after merging "defaults" into every request. Pure: parses a tree, no I/O.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoints/batch.h"
#include "core/str.h"

#define NOT_MAPPING "\"%s\" is not a mapping type: Does not implement dict-like functionality."

static const char *const batch_methods[] = {
	"GET", "HEAD", "DELETE", "TRACE", "POST", "PUT", "PATCH", NULL
};

/* --- Python's repr() and str() of JSON values, for colander's messages ----- */

static void py_repr(struct pawl_buf *b, json_object *o);

/* repr(str): Python's quote choice and escapes (non-printables as \x.. / \u....). */
static void py_string(struct pawl_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	char q = memchr(s, '\'', len) && !memchr(s, '"', len) ? '"' : '\'';
	size_t i = 0, k, n;
	unsigned c, cp;

	pawl_buf_putc(b, q);
	for (; i < len; i += n) {
		c = p[i];
		n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		if (i + n > len)
			n = 1;
		if (c == '\\' || c == (unsigned char)q)
			pawl_buf_printf(b, "\\%c", c);
		else if (c == '\t' || c == '\n' || c == '\r')
			pawl_buf_printf(b, "\\%c", c == '\t' ? 't' : c == '\n' ? 'n' : 'r');
		else if (c < 0x20 || c == 0x7f)
			pawl_buf_printf(b, "\\x%02x", c);
		else if (n == 1)
			pawl_buf_putc(b, (char)c);
		if (n == 1)
			continue;
		cp = n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
		for (k = 1; k < n; k++)
			cp = cp << 6 | (p[i + k] & 0x3f);
		if (cp <= 0xa0 || cp == 0xad)
			pawl_buf_printf(b, "\\x%02x", cp);
		else if ((cp >= 0x200b && cp <= 0x200f) || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff)
			pawl_buf_printf(b, "\\u%04x", cp);
		else
			pawl_buf_append(b, p + i, n);
	}
	pawl_buf_putc(b, q);
}

static void zeros(struct pawl_buf *b, int n)
{
	while (n-- > 0)
		pawl_buf_putc(b, '0');
}

/* repr(float): the shortest round-trip digits, fixed for 1e-4 <= |d| < 1e16. */
static void py_float(struct pawl_buf *b, double d)
{
	char tmp[40], digits[24];
	int prec, exp10, decpt, nd = 0;
	const char *p;

	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
	for (p = tmp; *p != 'e' && *p != '\0'; p++)
		if (*p >= '0' && *p <= '9' && nd < (int)sizeof(digits) - 1)
			digits[nd++] = *p;
	exp10 = *p == 'e' ? atoi(p + 1) : 0;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	digits[nd] = '\0';
	decpt = exp10 + 1;
	if (signbit(d))
		pawl_buf_putc(b, '-');
	if (decpt > 16 || decpt <= -4) {
		pawl_buf_printf(b, "%c%s%s", digits[0], nd > 1 ? "." : "", digits + 1);
		pawl_buf_printf(b, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
	} else if (decpt <= 0) {
		pawl_buf_puts(b, "0.");
		zeros(b, -decpt);
		pawl_buf_puts(b, digits);
	} else if (decpt >= nd) {
		pawl_buf_puts(b, digits);
		zeros(b, decpt - nd);
		pawl_buf_puts(b, ".0");
	} else {
		pawl_buf_printf(b, "%.*s.%s", decpt, digits, digits + decpt);
	}
}

static void py_int(struct pawl_buf *b, json_object *o)
{
	int64_t v = json_object_get_int64(o);

	if (v == INT64_MAX && json_object_get_uint64(o) > (uint64_t)INT64_MAX)
		pawl_buf_printf(b, "%llu", (unsigned long long)json_object_get_uint64(o));
	else
		pawl_buf_printf(b, "%lld", (long long)v);
}

/* repr() of the members of o, except the names listed in skip (NULL-terminated). */
static void py_dict(struct pawl_buf *b, json_object *o, const char *const *skip)
{
	bool first = true;

	pawl_buf_putc(b, '{');
	json_object_object_foreach(o, key, val) {
		const char *const *s = skip;

		while (s != NULL && *s != NULL && strcmp(*s, key) != 0)
			s++;
		if (s != NULL && *s != NULL)
			continue;
		pawl_buf_puts(b, first ? "" : ", ");
		first = false;
		py_string(b, key, strlen(key));
		pawl_buf_puts(b, ": ");
		py_repr(b, val);
	}
	pawl_buf_putc(b, '}');
}

static void py_repr(struct pawl_buf *b, json_object *o)
{
	size_t i;

	switch (json_object_get_type(o)) {
	case json_type_null:
		pawl_buf_puts(b, "None");
		break;
	case json_type_boolean:
		pawl_buf_puts(b, json_object_get_boolean(o) ? "True" : "False");
		break;
	case json_type_int:
		py_int(b, o);
		break;
	case json_type_double:
		py_float(b, json_object_get_double(o));
		break;
	case json_type_string:
		py_string(b, json_object_get_string(o), (size_t)json_object_get_string_len(o));
		break;
	case json_type_array:
		pawl_buf_putc(b, '[');
		for (i = 0; i < json_object_array_length(o); i++) {
			pawl_buf_puts(b, i ? ", " : "");
			py_repr(b, json_object_array_get_idx(o, i));
		}
		pawl_buf_putc(b, ']');
		break;
	case json_type_object:
		py_dict(b, o, NULL);
		break;
	}
}

/* str(o): a string as it is, anything else as repr(). In the arena ("" on OOM). */
static const char *py_str(struct pawl_arena *arena, json_object *o)
{
	struct pawl_buf b;

	if (json_object_is_type(o, json_type_string))
		return json_object_get_string(o);
	pawl_buf_init(&b, arena);
	py_repr(&b, o);
	return b.data && !b.failed ? b.data : "";
}

/* Python's truth value: colander's String treats falsy values as absent. */
static bool py_falsy(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_boolean:
		return !json_object_get_boolean(o);
	case json_type_int:
		return json_object_get_int64(o) == 0;
	case json_type_double:
		return json_object_get_double(o) == 0.0;
	case json_type_string:
		return json_object_get_string_len(o) == 0;
	case json_type_array:
		return json_object_array_length(o) == 0;
	case json_type_object:
		return json_object_object_length(o) == 0;
	default:
		return true;
	}
}

/* --- the schema ------------------------------------------------------------ */

struct verr {
	const char *name;
	const char *desc;
};

struct vctx {
	struct pawl_arena *arena;
	struct verr *errs;
	size_t n, cap;
	bool nomem;
};

static void add_err(struct vctx *v, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_err(struct vctx *v, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *desc;

	va_start(ap, fmt);
	desc = pawl_arena_vprintf(v->arena, fmt, ap);
	va_end(ap);
	if (v->n == v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 8;
		struct verr *fresh = pawl_arena_alloc(v->arena, ncap * sizeof(*fresh));

		if (fresh == NULL) {
			v->nomem = true;
			return;
		}
		if (v->n)
			memcpy(fresh, v->errs, v->n * sizeof(*fresh));
		v->errs = fresh;
		v->cap = ncap;
	}
	if (name == NULL || desc == NULL) {
		v->nomem = true;
		return;
	}
	v->errs[v->n].name = name;
	v->errs[v->n++].desc = desc;
}

static const char *child(struct vctx *v, const char *parent, const char *key)
{
	return pawl_arena_printf(v->arena, "%s.%s", parent, key);
}

/*
 * colander.String: falsy is absent (NULL); a non-string is an error (*bad).
 * *len is the string's length, which a NUL inside makes differ from strlen.
 */
static const char *string_node(struct vctx *v, json_object *o, const char *parent,
    const char *key, bool *bad, size_t *len)
{
	json_object *val = NULL;

	*bad = false;
	if (!json_object_object_get_ex(o, key, &val) || py_falsy(val))
		return NULL;
	if (json_object_is_type(val, json_type_string)) {
		*len = (size_t)json_object_get_string_len(val);
		return json_object_get_string(val);
	}
	*bad = true;
	add_err(v, child(v, parent, key), "%s is not a string: {'%s': ''}", py_str(v->arena, val),
	    key);
	return NULL;
}

static void method_node(struct vctx *v, json_object *o, const char *name,
    struct pawl_batch_request *out)
{
	const char *const *m;
	bool bad;
	size_t len = 0;
	const char *s = string_node(v, o, name, "method", &bad, &len);

	if (s == NULL)
		return;
	for (m = batch_methods; *m != NULL && (strcmp(*m, s) != 0 || strlen(s) != len); m++)
		;
	if (*m == NULL)
		add_err(v, child(v, name, "method"),
		    "\"%s\" is not one of GET, HEAD, DELETE, TRACE, POST, PUT, PATCH", s);
	else
		out->method = s;
}

static void path_node(struct vctx *v, json_object *o, const char *name, bool required,
    struct pawl_batch_request *out)
{
	bool bad;
	size_t len = 0;
	const char *s = string_node(v, o, name, "path", &bad, &len);

	if (s == NULL && !bad && required) {
		add_err(v, child(v, name, "path"), "Required");
	} else if (s != NULL && s[0] != '/') {
		add_err(v, child(v, name, "path"), "String does not match expected pattern");
	} else if (s != NULL) {
		out->path = s;
		out->path_len = len;
	}
}

/* headers: a mapping whose values are strings; body: any mapping. */
static void mapping_nodes(struct vctx *v, json_object *o, const char *name,
    struct pawl_batch_request *out)
{
	json_object *val;

	if (json_object_object_get_ex(o, "headers", &val)) {
		bool strings = true;

		if (!json_object_is_type(val, json_type_object)) {
			add_err(v, child(v, name, "headers"), NOT_MAPPING, py_str(v->arena, val));
		} else {
			json_object_object_foreach(val, k, hv) {
				(void)k;
				strings = strings && json_object_is_type(hv, json_type_string);
			}
			if (!strings)
				add_err(v, child(v, name, "headers"), "%s contains non string value",
				    py_str(v->arena, val));
			else
				out->headers = val;
		}
	}
	if (json_object_object_get_ex(o, "body", &val)) {
		if (!json_object_is_type(val, json_type_object))
			add_err(v, child(v, name, "body"), NOT_MAPPING, py_str(v->arena, val));
		else if (json_object_object_length(val) > 0) /* Kinto: `body or ""` */
			out->body = val;
	}
}

/* colander's Mapping(unknown="raise"): true (and an error) when o has other members. */
static bool unknown_keys(struct vctx *v, json_object *o, const char *name,
    const char *const *known)
{
	struct pawl_buf b;

	pawl_buf_init(&b, v->arena);
	py_dict(&b, o, known);
	if (b.data != NULL && strcmp(b.data, "{}") == 0)
		return false;
	add_err(v, name, "Unrecognized keys in mapping: \"%s\"", b.data ? b.data : "");
	return true;
}

/* BatchRequestSchema: unknown keys raise before (and instead of) member errors. */
static void request_node(struct vctx *v, json_object *o, const char *name, bool is_default,
    struct pawl_batch_request *out)
{
	static const char *const known[] = { "method", "path", "headers", "body", NULL };

	if (!json_object_is_type(o, json_type_object)) {
		add_err(v, name, NOT_MAPPING, py_str(v->arena, o));
		return;
	}
	if (unknown_keys(v, o, name, known))
		return;
	method_node(v, o, name, out);
	path_node(v, o, name, !is_default, out);
	mapping_nodes(v, o, name, out);
}

/* JSON text of every error, in the order found (Kinto's "details"). */
static const char *details_json(struct vctx *v)
{
	struct pawl_buf b;
	size_t i;

	pawl_buf_init(&b, v->arena);
	pawl_buf_putc(&b, '[');
	for (i = 0; i < v->n; i++) {
		pawl_buf_puts(&b, i ? ",{\"location\":\"body\",\"name\":" : "{\"location\":\"body\",\"name\":");
		pawl_buf_json_string(&b, v->errs[i].name, strlen(v->errs[i].name));
		pawl_buf_puts(&b, ",\"description\":");
		pawl_buf_json_string(&b, v->errs[i].desc, strlen(v->errs[i].desc));
		pawl_buf_putc(&b, '}');
	}
	pawl_buf_putc(&b, ']');
	return b.failed ? NULL : b.data;
}

/* Kinto reports the error whose name sorts first (a stable sort), all in details. */
static enum pawl_err schema_error(struct vctx *v, struct pawl_error *err)
{
	size_t i, first = 0;

	if (v->nomem)
		return pawl_error_nomem(err);
	for (i = 1; i < v->n; i++)
		if (strcmp(v->errs[i].name, v->errs[first].name) < 0)
			first = i;
	pawl_error_invalid(err, PAWL_ERR_INVALID, "body", v->errs[first].name, "%s",
	    v->errs[first].desc);
	err->details = details_json(v);
	return err->code;
}

/* The "requests" member: a sequence of request mappings. */
static void requests_node(struct vctx *v, json_object *body, struct pawl_batch *out)
{
	json_object *reqs;
	size_t i, n;

	if (!json_object_object_get_ex(body, "requests", &reqs)) {
		add_err(v, "requests", "Required");
		return;
	}
	if (!json_object_is_type(reqs, json_type_array)) {
		add_err(v, "requests", "\"%s\" is not iterable", py_str(v->arena, reqs));
		return;
	}
	n = json_object_array_length(reqs);
	out->requests = pawl_arena_calloc(v->arena, n ? n : 1, sizeof(*out->requests));
	if (out->requests == NULL) {
		v->nomem = true;
		return;
	}
	out->n = n;
	for (i = 0; i < n; i++)
		request_node(v, json_object_array_get_idx(reqs, i),
		    pawl_arena_printf(v->arena, "requests.%zu", i), false, &out->requests[i]);
}

/* Merges defaults into each request object, as BatchPayloadSchema.deserialize does. */
static enum pawl_err merge_defaults(json_object *body)
{
	json_object *defaults, *reqs;
	size_t i;
	enum pawl_err rc;

	if (!json_object_object_get_ex(body, "defaults", &defaults) ||
	    !json_object_is_type(defaults, json_type_object) ||
	    !json_object_object_get_ex(body, "requests", &reqs) ||
	    !json_object_is_type(reqs, json_type_array))
		return PAWL_OK;
	for (i = 0; i < json_object_array_length(reqs); i++) {
		json_object *r = json_object_array_get_idx(reqs, i);

		if (json_object_is_type(r, json_type_object) &&
		    (rc = pawl_batch_schema_merge(r, defaults)) != PAWL_OK)
			return rc;
	}
	return PAWL_OK;
}

enum pawl_err pawl_batch_schema_merge(json_object *dst, json_object *src)
{
	json_object_object_foreach(src, key, val) {
		json_object *have = NULL;
		bool present = json_object_object_get_ex(dst, key, &have);
		enum pawl_err rc;

		if (json_object_is_type(val, json_type_object)) {
			if (!present) {
				if ((have = json_object_new_object()) == NULL ||
				    json_object_object_add(dst, key, have) != 0) {
					json_object_put(have);
					return PAWL_ERR_NOMEM;
				}
			}
			if (json_object_is_type(have, json_type_object) &&
			    (rc = pawl_batch_schema_merge(have, val)) != PAWL_OK)
				return rc;
		} else if (!present) {
			if (json_object_object_add(dst, key, json_object_get(val)) != 0) {
				json_object_put(val);
				return PAWL_ERR_NOMEM;
			}
		}
	}
	return PAWL_OK;
}

/*
 * Kinto's checks on a valid body: the size limit, then recursion. The path is
 * looked at decoded, as the router will see it ("/%62atch" is "/batch");
 * pawl_batch_handle also refuses to run inside a batch, by route.
 */
static enum pawl_err limits(struct pawl_arena *arena, const struct pawl_batch *out,
    int max_requests, struct pawl_error *err)
{
	size_t i, len;
	const char *path;

	if (max_requests > 0 && out->n > (size_t)max_requests)
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "requests",
		    "Number of requests is limited to %d", max_requests);
	for (i = 0; i < out->n; i++) {
		path = pawl_str_urldecode(arena, out->requests[i].path, out->requests[i].path_len,
		    false, &len);
		if (path == NULL) {
			path = out->requests[i].path;
			len = out->requests[i].path_len;
		}
		if (memmem(path, len, "/batch", 6) != NULL)
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "requests",
			    "Recursive call on /batch endpoint is forbidden.");
	}
	return PAWL_OK;
}

enum pawl_err pawl_batch_schema_parse(struct pawl_arena *arena, json_object *body, bool sent,
    int max_requests, struct pawl_batch *out, struct pawl_error *err)
{
	static const char *const known[] = { "defaults", "requests", NULL };
	struct vctx v = { .arena = arena };
	struct pawl_batch_request ignored;
	json_object *defaults;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (sent && !json_object_is_type(body, json_type_object) &&
	    !json_object_is_type(body, json_type_array)) {
		/* cornice refuses the document, then colander misses the whole body */
		add_err(&v, "", "Should be a JSON object or an array");
		add_err(&v, "", "Required");
		return schema_error(&v, err);
	}
	if (json_object_is_type(body, json_type_array)) {
		add_err(&v, "", NOT_MAPPING, py_str(arena, body));
		return schema_error(&v, err);
	}
	if (body != NULL && unknown_keys(&v, body, "", known))
		return schema_error(&v, err);
	if (body != NULL && merge_defaults(body) != PAWL_OK)
		return pawl_error_nomem(err);
	memset(&ignored, 0, sizeof(ignored));
	if (body != NULL && json_object_object_get_ex(body, "defaults", &defaults))
		request_node(&v, defaults, "defaults", true, &ignored);
	if (body != NULL)
		requests_node(&v, body, out);
	else
		add_err(&v, "requests", "Required");
	if (v.n > 0 || v.nomem)
		return schema_error(&v, err);
	for (i = 0; i < out->n; i++)
		if (out->requests[i].method == NULL)
			out->requests[i].method = "GET";
	return limits(arena, out, max_requests, err);
}
