/*
 * Signed pagination tokens: base64url(compact JSON) "." base64url(the first
 * 16 bytes of HMAC-SHA256 over scope "\n" the first part), bound to the list
 * and the user by the scope and to the query's filters, bounds and sort by a
 * SHA-256 hash. Must never look at a token's content before its signature
 * has been checked, and the signature only in constant time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "core/crypto.h"
#include "core/json.h"
#include "query/query.h"
#include "core/str.h"

#define TOKEN_MAX 4096
#define SIG_LEN 16
#define SIG_B64_LEN 22 /* base64url of SIG_LEN bytes, no padding */
#define TOKEN_JSON_DEPTH 1024
#define HASH_HEX_LEN 64

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Names in the canonical text; indexed by enum pawl_filter_op. */
static const char *const op_names[] = {
	[PAWL_FILTER_EQ] = "eq", [PAWL_FILTER_NOT] = "not", [PAWL_FILTER_MIN] = "min",
	[PAWL_FILTER_MAX] = "max", [PAWL_FILTER_LT] = "lt", [PAWL_FILTER_GT] = "gt",
	[PAWL_FILTER_IN] = "in", [PAWL_FILTER_EXCLUDE] = "exclude",
	[PAWL_FILTER_LIKE] = "like", [PAWL_FILTER_HAS] = "has",
	[PAWL_FILTER_CONTAINS] = "contains", [PAWL_FILTER_CONTAINS_ANY] = "contains_any",
};

static void b64url_encode(struct pawl_buf *b, const unsigned char *p, size_t n)
{
	char out[4];
	uint32_t v;
	size_t i, k;

	for (i = 0; i < n; i += 3) {
		k = n - i < 3 ? n - i : 3;
		v = (uint32_t)p[i] << 16;
		if (k > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (k > 2)
			v |= p[i + 2];
		out[0] = b64url[v >> 18 & 63];
		out[1] = b64url[v >> 12 & 63];
		out[2] = b64url[v >> 6 & 63];
		out[3] = b64url[v & 63];
		pawl_buf_append(b, out, k + 1);
	}
}

static int b64url_value(char ch)
{
	const char *hit = ch != '\0' ? strchr(b64url, ch) : NULL;

	return hit != NULL ? (int)(hit - b64url) : -1;
}

/*
 * Strict decoding of s[0..n) into out (room for n * 3 / 4 bytes): alphabet
 * only, no padding, and unused trailing bits must be zero so that each byte
 * string has exactly one spelling. Returns the byte count, or -1.
 */
static long b64url_decode(const char *s, size_t n, unsigned char *out)
{
	uint32_t acc = 0;
	size_t i, bits = 0, o = 0;
	int v;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((v = b64url_value(s[i])) < 0)
			return -1;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if ((acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)o;
}

/* The scope is signed with the token, not carried in it: a token is good in one scope only. */
static bool sign(struct pawl_arena *arena, const char *key, const char *scope,
    const char *payload, size_t len, unsigned char sig[SIG_LEN])
{
	unsigned char mac[PAWL_SHA256_LEN];
	struct pawl_buf msg;

	pawl_buf_init(&msg, arena);
	pawl_buf_puts(&msg, scope != NULL ? scope : "");
	pawl_buf_putc(&msg, '\n');
	pawl_buf_append(&msg, payload, len);
	if (msg.failed || msg.data == NULL || !pawl_hmac_sha256(key, msg.data, msg.len, mac))
		return false;
	memcpy(sig, mac, SIG_LEN);
	return true;
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * One line per filter ("F op field json"), sorted because filters AND
 * together in any order; then the bounds and the ordered sort keys.
 * Field names cannot hold spaces or newlines, compact JSON cannot hold a raw
 * newline, so the text is unambiguous.
 */
static const char *canonical(struct pawl_arena *arena, const struct pawl_query *q)
{
	const char *lines[PAWL_QUERY_MAX_FILTERS];
	const struct pawl_filter *f;
	struct pawl_buf b;
	const char *json;
	size_t i, n = q->n_filters < PAWL_QUERY_MAX_FILTERS ? q->n_filters : PAWL_QUERY_MAX_FILTERS;

	for (i = 0; i < n; i++) {
		f = &q->filters[i];
		if ((unsigned)f->op >= sizeof(op_names) / sizeof(op_names[0]) ||
		    (json = pawl_json_compact(arena, f->value, NULL)) == NULL ||
		    (lines[i] = pawl_arena_printf(arena, "F %s %s %s\n", op_names[f->op],
		    f->field.name != NULL ? f->field.name : "", json)) == NULL)
			return NULL;
	}
	qsort(lines, n, sizeof(lines[0]), line_cmp);
	pawl_buf_init(&b, arena);
	for (i = 0; i < n; i++)
		pawl_buf_puts(&b, lines[i]);
	if (q->has_since)
		pawl_buf_printf(&b, "S %lld\n", q->since);
	if (q->has_before)
		pawl_buf_printf(&b, "B %lld\n", q->before);
	for (i = 0; i < q->n_sort && i <= PAWL_QUERY_MAX_SORT; i++)
		pawl_buf_printf(&b, "O %c%s\n", q->sort[i].desc ? '-' : '+',
		    q->sort[i].field.name != NULL ? q->sort[i].field.name : "");
	return b.failed || b.data == NULL ? NULL : b.data;
}

const char *pawl_token_query_hash(struct pawl_arena *arena, const struct pawl_query *q)
{
	unsigned char md[PAWL_SHA256_LEN];
	const char *text = canonical(arena, q);
	char *out;

	_Static_assert(2 * PAWL_SHA256_LEN == HASH_HEX_LEN, "the hash is a hex SHA-256");
	if (text == NULL || (out = pawl_arena_alloc(arena, HASH_HEX_LEN + 1)) == NULL ||
	    !pawl_sha256(text, strlen(text), md))
		return NULL;
	pawl_hex_encode(out, md, sizeof(md));
	return out;
}

/* Adds a fresh value under key; false (value released) when either is NULL. */
static bool add(json_object *obj, const char *key, json_object *v)
{
	if (v == NULL || json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

/* {"last":{...},"offset":n,"q":"<hash>"} as compact JSON, or NULL. */
static const char *payload_json(struct pawl_arena *arena, const char *hash, json_object *last,
    long long offset, size_t *len)
{
	json_object *obj = pawl_json_own(arena, json_object_new_object());

	if (obj == NULL ||
	    !add(obj, "last", last != NULL ? json_object_get(last) : json_object_new_object()) ||
	    !add(obj, "offset", json_object_new_int64(offset)) ||
	    !add(obj, "q", json_object_new_string(hash)))
		return NULL;
	return pawl_json_compact(arena, obj, len);
}

const char *pawl_token_encode(struct pawl_arena *arena, const char *key, const char *scope,
    const struct pawl_query *q, json_object *last, long long offset)
{
	unsigned char sig[SIG_LEN];
	const char *hash, *json;
	struct pawl_buf b;
	size_t len;

	if (offset < 0 || (last != NULL && !json_object_is_type(last, json_type_object)))
		return NULL;
	if ((hash = pawl_token_query_hash(arena, q)) == NULL ||
	    (json = payload_json(arena, hash, last, offset, &len)) == NULL)
		return NULL;
	pawl_buf_init(&b, arena);
	b64url_encode(&b, (const unsigned char *)json, len);
	if (b.failed || b.data == NULL || !sign(arena, key, scope, b.data, b.len, sig))
		return NULL;
	pawl_buf_putc(&b, '.');
	b64url_encode(&b, sig, SIG_LEN);
	return b.failed ? NULL : b.data;
}

static enum pawl_err bad_token(struct pawl_error *err)
{
	return pawl_error_invalid(err, PAWL_ERR_INVALID, "querystring", "_token",
	    "_token has invalid content");
}

/* Exactly {"last": object, "offset": integer >= 0, "q": the query's hash}. */
static enum pawl_err check_shape(struct pawl_arena *arena, const struct pawl_query *q,
    json_object *root, struct pawl_token *out, struct pawl_error *err)
{
	json_object *last, *offset, *hash;
	const char *want;

	if (!json_object_is_type(root, json_type_object) || json_object_object_length(root) != 3 ||
	    !json_object_object_get_ex(root, "last", &last) ||
	    !json_object_object_get_ex(root, "offset", &offset) ||
	    !json_object_object_get_ex(root, "q", &hash) ||
	    !json_object_is_type(last, json_type_object) ||
	    !json_object_is_type(offset, json_type_int) || json_object_get_int64(offset) < 0 ||
	    !json_object_is_type(hash, json_type_string))
		return bad_token(err);
	if ((want = pawl_token_query_hash(arena, q)) == NULL)
		return pawl_error_nomem(err);
	if (strcmp(want, json_object_get_string(hash)) != 0)
		return bad_token(err);
	out->last = last;
	out->offset = json_object_get_int64(offset);
	return PAWL_OK;
}

enum pawl_err pawl_token_decode(struct pawl_arena *arena, const struct pawl_token_signer *signer,
    const struct pawl_query *q, const char *token, struct pawl_token *out,
    struct pawl_error *err)
{
	unsigned char want[SIG_LEN], got[SIG_LEN + 2], *json;
	struct pawl_error scratch;
	json_object *root;
	const char *dot;
	size_t len, plen;
	long n;
	enum pawl_err rc;

	out->last = NULL;
	out->offset = 0;
	if (token == NULL || (len = strnlen(token, TOKEN_MAX + 1)) > TOKEN_MAX ||
	    (dot = memchr(token, '.', len)) == NULL || (plen = (size_t)(dot - token)) == 0 ||
	    len - plen - 1 != SIG_B64_LEN)
		return bad_token(err);
	if (b64url_decode(dot + 1, SIG_B64_LEN, got) != SIG_LEN)
		return bad_token(err);
	if (!sign(arena, signer->key, signer->scope, token, plen, want))
		return pawl_error_set(err, PAWL_ERR_INTERNAL, "Cannot sign _token");
	if (!pawl_secure_equal(want, got, SIG_LEN))
		return bad_token(err);
	if ((json = pawl_arena_alloc(arena, plen * 3 / 4 + 1)) == NULL)
		return pawl_error_nomem(err);
	if ((n = b64url_decode(token, plen, json)) <= 0)
		return bad_token(err);
	rc = pawl_json_parse(arena, (const char *)json, (size_t)n, TOKEN_JSON_DEPTH, &root,
	    &scratch);
	if (rc == PAWL_ERR_NOMEM)
		return pawl_error_nomem(err);
	if (rc != PAWL_OK)
		return bad_token(err);
	return check_shape(arena, q, root, out, err);
}
