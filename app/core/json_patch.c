/*
 * PATCH bodies applied to json-c trees in memory: Kinto's shallow merge,
 * RFC 7396 JSON Merge Patch and RFC 6902 JSON Patch (RFC 6901 pointers).
 * Pure: no I/O. Must never leave a cycle or an unowned reference behind,
 * even when an operation fails halfway.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_patch.h"

#define MAX_OPS 1000
#define MSG_PATH_MAX 100 /* bytes of a pointer quoted in a message */

struct jp;
typedef enum pawl_err jp_fn(struct jp *j);

static jp_fn op_test, op_add, op_remove, op_replace, op_move, op_copy;

static const struct op_def {
	const char *name;
	jp_fn *fn;
	bool needs_value;
	bool needs_from;
} op_defs[] = {
	{ "test", op_test, true, false },
	{ "add", op_add, true, false },
	{ "remove", op_remove, false, false },
	{ "replace", op_replace, true, false },
	{ "move", op_move, false, true },
	{ "copy", op_copy, false, true },
};

/* One operation, read from its JSON object; strings borrowed from ops. */
struct jp_op {
	const struct op_def *def;
	const char *path, *from;
	size_t path_len, from_len;
	json_object *value;
	bool has_value;
};

/* The operation being applied; tokens are decoded, NUL-separated. */
struct jp {
	json_object *doc;
	size_t index;
	struct jp_op op;
	json_object *value; /* a reference of our own, or NULL (JSON null) */
	char *path, *from;
	size_t path_n, from_n;
	struct pawl_error *err;
};

static bool is_type(json_object *o, json_type t)
{
	return o != NULL && json_object_is_type(o, t);
}

void pawl_patch_shallow(json_object *target, json_object *patch)
{
	if (!is_type(target, json_type_object) || !is_type(patch, json_type_object) ||
	    target == patch)
		return;
	json_object_object_foreach(patch, key, val) {
		json_object *v = json_object_get(val);

		if (json_object_object_add(target, key, v) != 0)
			json_object_put(v);
	}
}

/*
 * MergePatch(target, patch) for two objects, in place. An object in patch
 * whose target member is not an object is merged into a fresh object that
 * target then owns; other values are shared with patch (json-c refcounts).
 * A member json-c cannot allocate is skipped.
 */
static void merge_into(json_object *target, json_object *patch)
{
	json_object *cur, *v;

	json_object_object_foreach(patch, key, val) {
		cur = NULL;
		(void)json_object_object_get_ex(target, key, &cur);
		if (val == NULL) {
			json_object_object_del(target, key);
			continue;
		}
		if (is_type(val, json_type_object) && is_type(cur, json_type_object)) {
			merge_into(cur, val);
			continue;
		}
		if (!is_type(val, json_type_object))
			v = json_object_get(val);
		else if ((v = json_object_new_object()) != NULL)
			merge_into(v, val);
		if (v != NULL && json_object_object_add(target, key, v) != 0)
			json_object_put(v);
	}
}

/* MergePatch({}, patch) is patch without its null members, at every object level. */
static void drop_nulls(json_object *patch)
{
	json_object_object_foreach(patch, key, val) {
		if (val == NULL)
			json_object_object_del(patch, key);
		else if (is_type(val, json_type_object))
			drop_nulls(val);
	}
}

/*
 * RFC 7396. The result is borrowed, never a new reference: target changed in
 * place when both are objects; else patch itself (nulls dropped from it in
 * place when it is an object merged into a non-object).
 */
json_object *pawl_patch_merge(json_object *target, json_object *patch)
{
	if (!is_type(patch, json_type_object))
		return patch;
	if (!is_type(target, json_type_object)) {
		drop_nulls(patch);
		return patch;
	}
	merge_into(target, patch);
	return target;
}

#define WHOLE SIZE_MAX /* fail() about the whole patch, not one operation */

static enum pawl_err fail(struct pawl_error *err, size_t index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum pawl_err fail(struct pawl_error *err, size_t index, const char *fmt, ...)
{
	char why[PAWL_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (index == WHOLE)
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
		    "JSON Patch operation failed: %s", why);
	return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", NULL,
	    "JSON Patch operation failed: %s (operation %zu)", why, index);
}

static int msg_len(size_t len)
{
	return (int)(len < MSG_PATH_MAX ? len : MSG_PATH_MAX);
}

/* "/a~1b/c" → "a/b\0c\0" in out (room for len + 1), *n = 2. */
static bool ptr_decode(const char *s, size_t len, char *out, size_t *n)
{
	size_t i, o = 0;
	char ch;

	*n = 0;
	if (len == 0 || s[0] != '/')
		return false;
	for (i = 0; i < len; i++) {
		ch = s[i];
		if (ch == '\0')
			return false;
		if (ch == '/') {
			if (i > 0)
				out[o++] = '\0';
			(*n)++;
			continue;
		}
		if (ch == '~') {
			if (i + 1 == len || (s[i + 1] != '0' && s[i + 1] != '1'))
				return false;
			ch = s[++i] == '0' ? '~' : '/';
		}
		out[o++] = ch;
	}
	out[o] = '\0';
	return true;
}

static const char *tok_next(const char *tok)
{
	return tok + strlen(tok) + 1;
}

/* RFC 6901 array index: "0" or no leading zero; "-" (one past the end) if end_ok. */
static bool array_index(const char *tok, size_t len, bool end_ok, size_t *idx)
{
	size_t v = 0;
	const char *p;

	if (end_ok && strcmp(tok, "-") == 0) {
		*idx = len;
		return true;
	}
	if (tok[0] == '\0' || (tok[0] == '0' && tok[1] != '\0'))
		return false;
	for (p = tok; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > (SIZE_MAX - 9) / 10)
			return false;
		v = v * 10 + (size_t)(*p - '0');
	}
	if (v > len || (v == len && !end_ok))
		return false;
	*idx = v;
	return true;
}

static bool child(json_object *c, const char *tok, json_object **out)
{
	size_t idx;

	if (is_type(c, json_type_object))
		return json_object_object_get_ex(c, tok, out);
	if (is_type(c, json_type_array) &&
	    array_index(tok, json_object_array_length(c), false, &idx)) {
		*out = json_object_array_get_idx(c, idx);
		return true;
	}
	return false;
}

/* Follows every token but the last: *parent holds the target, *last names it. */
static bool walk(json_object *doc, const char *tok, size_t n, json_object **parent,
    const char **last)
{
	size_t i;

	for (i = 0; i + 1 < n; i++, tok = tok_next(tok))
		if (!child(doc, tok, &doc))
			return false;
	*parent = doc;
	*last = tok;
	return true;
}

static enum pawl_err get_at(struct jp *j, const char *toks, size_t n, const char *raw,
    size_t raw_len, json_object **out)
{
	json_object *parent;
	const char *last;

	if (!walk(j->doc, toks, n, &parent, &last) || !child(parent, last, out))
		return fail(j->err, j->index, "path '%.*s' does not exist", msg_len(raw_len), raw);
	return PAWL_OK;
}

/* Inserts v (consumed on success) before idx, shifting the tail right. */
static int array_insert(json_object *arr, size_t idx, json_object *v)
{
	size_t i, len = json_object_array_length(arr);
	json_object *tail;

	if (idx == len)
		return json_object_array_add(arr, v);
	tail = json_object_get(json_object_array_get_idx(arr, len - 1));
	if (json_object_array_add(arr, tail) != 0) {
		json_object_put(tail);
		return -1;
	}
	for (i = len - 1; i > idx; i--)
		(void)json_object_array_put_idx(arr, i,
		    json_object_get(json_object_array_get_idx(arr, i - 1)));
	return json_object_array_put_idx(arr, idx, v);
}

/* RFC 6902 "add" at a decoded pointer; v is always consumed. */
static enum pawl_err add_at(struct jp *j, const char *toks, size_t n, const char *raw,
    size_t raw_len, json_object *v)
{
	json_object *parent;
	const char *last;
	size_t idx;
	int rc = -1;

	if (!walk(j->doc, toks, n, &parent, &last)) {
		json_object_put(v);
		return fail(j->err, j->index, "parent of '%.*s' does not exist",
		    msg_len(raw_len), raw);
	}
	if (is_type(parent, json_type_object)) {
		rc = json_object_object_add(parent, last, v);
	} else if (is_type(parent, json_type_array) &&
	    array_index(last, json_object_array_length(parent), true, &idx)) {
		rc = array_insert(parent, idx, v);
	} else {
		json_object_put(v);
		return fail(j->err, j->index, "cannot add at '%.*s'", msg_len(raw_len), raw);
	}
	if (rc != 0) {
		json_object_put(v);
		return pawl_error_nomem(j->err);
	}
	return PAWL_OK;
}

/* Removes what a pointer names; *out (when not NULL) gets a reference to it. */
static enum pawl_err take_at(struct jp *j, const char *toks, size_t n, const char *raw,
    size_t raw_len, json_object **out)
{
	json_object *parent, *v;
	const char *last;
	size_t idx;

	if (!walk(j->doc, toks, n, &parent, &last) || !child(parent, last, &v))
		return fail(j->err, j->index, "path '%.*s' does not exist", msg_len(raw_len), raw);
	if (out != NULL)
		*out = json_object_get(v);
	if (is_type(parent, json_type_object)) {
		json_object_object_del(parent, last);
	} else {
		(void)array_index(last, json_object_array_length(parent), false, &idx);
		(void)json_object_array_del_idx(parent, idx, 1);
	}
	return PAWL_OK;
}

static enum pawl_err op_test(struct jp *j)
{
	json_object *cur;
	enum pawl_err rc;

	if ((rc = get_at(j, j->path, j->path_n, j->op.path, j->op.path_len, &cur)) != PAWL_OK)
		return rc;
	if (!json_object_equal(cur, j->value))
		return fail(j->err, j->index, "test failed at '%.*s'",
		    msg_len(j->op.path_len), j->op.path);
	return PAWL_OK;
}

static enum pawl_err op_add(struct jp *j)
{
	json_object *v = j->value;

	j->value = NULL;
	return add_at(j, j->path, j->path_n, j->op.path, j->op.path_len, v);
}

static enum pawl_err op_remove(struct jp *j)
{
	return take_at(j, j->path, j->path_n, j->op.path, j->op.path_len, NULL);
}

/* remove + add, done in place so that an object keeps its member order. */
static enum pawl_err op_replace(struct jp *j)
{
	json_object *parent, *cur, *v;
	const char *last;
	size_t idx;
	int rc;

	if (!walk(j->doc, j->path, j->path_n, &parent, &last) || !child(parent, last, &cur))
		return fail(j->err, j->index, "path '%.*s' does not exist",
		    msg_len(j->op.path_len), j->op.path);
	v = j->value;
	j->value = NULL;
	if (is_type(parent, json_type_object)) {
		rc = json_object_object_add(parent, last, v);
	} else {
		(void)array_index(last, json_object_array_length(parent), false, &idx);
		rc = json_object_array_put_idx(parent, idx, v);
	}
	if (rc != 0) {
		json_object_put(v);
		return pawl_error_nomem(j->err);
	}
	return PAWL_OK;
}

static enum pawl_err op_move(struct jp *j)
{
	const struct jp_op *o = &j->op;
	json_object *v;
	enum pawl_err rc;

	if (o->from_len == o->path_len && memcmp(o->from, o->path, o->path_len) == 0)
		return get_at(j, j->from, j->from_n, o->from, o->from_len, &v);
	if (o->path_len > o->from_len && memcmp(o->from, o->path, o->from_len) == 0 &&
	    o->path[o->from_len] == '/')
		return fail(j->err, j->index, "cannot move '%.*s' into one of its children",
		    msg_len(o->from_len), o->from);
	if ((rc = take_at(j, j->from, j->from_n, o->from, o->from_len, &v)) != PAWL_OK)
		return rc;
	return add_at(j, j->path, j->path_n, o->path, o->path_len, v);
}

static enum pawl_err op_copy(struct jp *j)
{
	const struct jp_op *o = &j->op;
	json_object *v, *copy = NULL;
	enum pawl_err rc;

	if ((rc = get_at(j, j->from, j->from_n, o->from, o->from_len, &v)) != PAWL_OK)
		return rc;
	if (v != NULL && json_object_deep_copy(v, &copy, NULL) != 0)
		return pawl_error_nomem(j->err);
	return add_at(j, j->path, j->path_n, o->path, o->path_len, copy);
}

/* A JSON Pointer member: a string starting with '/' whose escapes are valid. */
static bool read_ptr(json_object *o, const char *key, const char **s, size_t *len)
{
	json_object *v;
	size_t i;

	if (!json_object_object_get_ex(o, key, &v) || !is_type(v, json_type_string))
		return false;
	*s = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	if (*len == 0 || (*s)[0] != '/')
		return false;
	for (i = 0; i < *len; i++)
		if ((*s)[i] == '\0' || ((*s)[i] == '~' &&
		    (i + 1 == *len || ((*s)[i + 1] != '0' && (*s)[i + 1] != '1'))))
			return false;
	return true;
}

/* Kinto: "/permissions/<perm>/<principal>" needs no value (sets are {p: p}). */
static bool perm_path(const char *s, size_t len)
{
	static const char prefix[] = "/permissions/";
	size_t i, slashes = 0;

	if (len < sizeof(prefix) - 1 || memcmp(s, prefix, sizeof(prefix) - 1) != 0)
		return false;
	for (i = 0; i < len; i++)
		slashes += s[i] == '/';
	return slashes == 3;
}

static enum pawl_err op_read(json_object *o, size_t index, struct jp_op *op,
    struct pawl_error *err)
{
	json_object *name;
	const char *s;
	size_t i;

	memset(op, 0, sizeof(*op));
	if (!is_type(o, json_type_object))
		return fail(err, index, "an operation must be an object");
	if (!json_object_object_get_ex(o, "op", &name) || !is_type(name, json_type_string))
		return fail(err, index, "missing 'op'");
	s = json_object_get_string(name);
	for (i = 0; i < sizeof(op_defs) / sizeof(op_defs[0]) && strcmp(s, op_defs[i].name); i++)
		;
	if (i == sizeof(op_defs) / sizeof(op_defs[0]))
		return fail(err, index, "unknown op '%.*s'", msg_len(strlen(s)), s);
	op->def = &op_defs[i];
	if (!read_ptr(o, "path", &op->path, &op->path_len))
		return fail(err, index, "'path' must be a JSON Pointer starting with '/'");
	if (op->def->needs_from && !read_ptr(o, "from", &op->from, &op->from_len))
		return fail(err, index, "'from' must be a JSON Pointer starting with '/'");
	op->has_value = json_object_object_get_ex(o, "value", &op->value);
	if (op->def->needs_value && !op->has_value && !perm_path(op->path, op->path_len))
		return fail(err, index, "missing 'value'");
	return PAWL_OK;
}

/* Kinto sets a permission path's value to its principal, whatever was sent. */
static enum pawl_err op_value(struct jp *j)
{
	const char *tok = j->path;
	size_t i;

	j->value = NULL;
	if (!j->op.def->needs_value)
		return PAWL_OK;
	if (!perm_path(j->op.path, j->op.path_len)) {
		j->value = json_object_get(j->op.value);
		return PAWL_OK;
	}
	for (i = 1; i < j->path_n; i++)
		tok = tok_next(tok);
	return (j->value = json_object_new_string(tok)) == NULL ? pawl_error_nomem(j->err) : PAWL_OK;
}

static enum pawl_err apply(struct jp *j, json_object *o)
{
	enum pawl_err rc;

	if ((rc = op_read(o, j->index, &j->op, j->err)) != PAWL_OK)
		return rc;
	(void)ptr_decode(j->op.path, j->op.path_len, j->path, &j->path_n);
	if (j->op.def->needs_from)
		(void)ptr_decode(j->op.from, j->op.from_len, j->from, &j->from_n);
	if ((rc = op_value(j)) != PAWL_OK)
		return rc;
	rc = j->op.def->fn(j);
	json_object_put(j->value);
	j->value = NULL;
	return rc;
}

enum pawl_err pawl_patch_json(json_object *doc, json_object *ops, struct pawl_error *err)
{
	struct jp j = { .doc = doc, .err = err };
	size_t i, n, longest = 0;
	enum pawl_err rc;
	char *buf = NULL;

	if (!is_type(doc, json_type_object))
		return fail(err, WHOLE, "the document is not an object");
	if (!is_type(ops, json_type_array))
		return fail(err, WHOLE, "the patch must be an array of operations");
	if ((n = json_object_array_length(ops)) > MAX_OPS)
		return fail(err, WHOLE, "too many operations (at most %d)", MAX_OPS);
	/* Validate every operation before touching doc. */
	for (i = 0; i < n; i++) {
		if ((rc = op_read(json_object_array_get_idx(ops, i), i, &j.op, err)) != PAWL_OK)
			return rc;
		if (j.op.path_len > longest)
			longest = j.op.path_len;
		if (j.op.from_len > longest)
			longest = j.op.from_len;
	}
	if ((buf = malloc(2 * (longest + 1))) == NULL)
		return pawl_error_nomem(err);
	j.path = buf;
	j.from = buf + longest + 1;
	rc = PAWL_OK;
	for (i = 0; i < n && rc == PAWL_OK; i++) {
		j.index = i;
		rc = apply(&j, json_object_array_get_idx(ops, i));
	}
	free(buf);
	return rc;
}
