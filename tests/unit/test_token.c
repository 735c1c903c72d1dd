/* Pagination tokens: round trip, query binding, tampering, forged shapes. */
#include <stdbool.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/json.h"
#include "query/query.h"
#include "core/str.h"
#include "unit.h"

#define NOW 1500000000000LL
#define KEY "s3cret"
#define SCOPE "/buckets/b/collections/c/records /buckets/b/collections/c\nuser basicauth:alice"

static struct pawl_arena *arena;
static struct pawl_error err;

static int setup(void)
{
	arena = pawl_arena_new(4096);
	return arena == NULL;
}

static int teardown(void)
{
	pawl_arena_free(arena);
	return 0;
}

static struct pawl_query *query(const char *qs)
{
	struct pawl_query *q = pawl_arena_alloc(arena, sizeof(*q));
	struct pawl_error e;

	if (q == NULL || pawl_query_parse(arena, qs, NOW, q, &e) != PAWL_OK)
		return NULL;
	return q;
}

static json_object *json(const char *text)
{
	json_object *v = NULL;
	struct pawl_error e;

	(void)pawl_json_parse(arena, text, strlen(text), 64, &v, &e);
	return v;
}

static enum pawl_err decode(const char *key, const struct pawl_query *q, const char *token,
    struct pawl_token *out)
{
	pawl_error_clear(&err);
	return pawl_token_decode(arena, &(struct pawl_token_signer){ key, SCOPE }, q, token, out,
	    &err);
}

static void b64url(struct pawl_buf *b, const unsigned char *p, size_t n)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned v;
	size_t i, k;

	for (i = 0; i < n; i += 3) {
		k = n - i < 3 ? n - i : 3;
		v = (unsigned)p[i] << 16 | (k > 1 ? (unsigned)p[i + 1] << 8 : 0) |
		    (k > 2 ? p[i + 2] : 0);
		pawl_buf_putc(b, abc[v >> 18 & 63]);
		pawl_buf_putc(b, abc[v >> 12 & 63]);
		if (k > 1)
			pawl_buf_putc(b, abc[v >> 6 & 63]);
		if (k > 2)
			pawl_buf_putc(b, abc[v & 63]);
	}
}

/* A token for arbitrary JSON text, signed the documented way (independent code). */
static const char *forge(const char *key, const char *text)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	struct pawl_buf b, m;

	pawl_buf_init(&b, arena);
	b64url(&b, (const unsigned char *)text, strlen(text));
	pawl_buf_init(&m, arena);
	pawl_buf_puts(&m, SCOPE "\n");
	pawl_buf_append(&m, b.data, b.len);
	HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)m.data, m.len, mac,
	    &mac_len);
	pawl_buf_putc(&b, '.');
	b64url(&b, mac, 16);
	return b.data;
}

static void check_bad(const struct pawl_query *q, const char *token)
{
	struct pawl_token t;

	CU_ASSERT_EQUAL(decode(KEY, q, token, &t), PAWL_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "_token has invalid content");
	CU_ASSERT_STRING_EQUAL(err.location ? err.location : "", "querystring");
	CU_ASSERT_STRING_EQUAL(err.name, "_token");
	CU_ASSERT_PTR_NULL(t.last);
}

static void test_round_trip(void)
{
	struct pawl_query *q = query("a=1&_sort=-b&_limit=2");
	json_object *last = json("{\"b\":5,\"last_modified\":10,\"s\":\"\\u00e9/\\\"\"}");
	const char *tok;
	struct pawl_token t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_PTR_NOT_NULL_FATAL(last);
	tok = pawl_token_encode(arena, KEY, SCOPE, q, last, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
	CU_ASSERT_EQUAL(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_."), strlen(tok));
	CU_ASSERT_PTR_NOT_NULL(strchr(tok, '.'));
	CU_ASSERT_EQUAL(strlen(strchr(tok, '.') + 1), 22);
	CU_ASSERT_EQUAL(decode(KEY, q, tok, &t), PAWL_OK);
	CU_ASSERT_TRUE(json_object_equal(t.last, last));
	CU_ASSERT_EQUAL(t.offset, 3);
	/* Deterministic, and NULL last is the empty object. */
	CU_ASSERT_STRING_EQUAL(pawl_token_encode(arena, KEY, SCOPE, q, last, 3), tok);
	tok = pawl_token_encode(arena, KEY, SCOPE, q, NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
	CU_ASSERT_EQUAL(decode(KEY, q, tok, &t), PAWL_OK);
	CU_ASSERT_EQUAL(json_object_object_length(t.last), 0);
	CU_ASSERT_EQUAL(t.offset, 0);
	/* Encoding refuses what decoding would refuse. */
	CU_ASSERT_PTR_NULL(pawl_token_encode(arena, KEY, SCOPE, q, json("[1]"), 0));
	CU_ASSERT_PTR_NULL(pawl_token_encode(arena, KEY, SCOPE, q, last, -1));
}

static bool differs(const char *hash, const char *qs)
{
	const char *other = pawl_token_query_hash(arena, query(qs));

	return other != NULL && strcmp(hash, other) != 0;
}

static void test_query_hash(void)
{
	const char *h1 = pawl_token_query_hash(arena, query("a=1&b=2&_sort=c"));
	const char *h2 = pawl_token_query_hash(arena, query("b=2&a=1&_sort=c&_limit=9"));
	const char *h3 = pawl_token_query_hash(arena, query("a=1&b=2&_sort=c&_fields=x&_token=y"));

	CU_ASSERT_PTR_NOT_NULL_FATAL(h1);
	CU_ASSERT_EQUAL(strlen(h1), 64);
	CU_ASSERT_EQUAL(strspn(h1, "0123456789abcdef"), 64);
	CU_ASSERT_STRING_EQUAL(h1, h2);
	CU_ASSERT_STRING_EQUAL(h1, h3);
	CU_ASSERT_TRUE(differs(h1, "a=1&b=2&_sort=-c"));
	CU_ASSERT_TRUE(differs(h1, "a=1&b=2"));
	CU_ASSERT_TRUE(differs(h1, "a=%221%22&b=2&_sort=c"));
	CU_ASSERT_TRUE(differs(h1, "gt_a=1&b=2&_sort=c"));
	CU_ASSERT_TRUE(differs(h1, "a=1&b=2&_sort=c&_since=1"));
	CU_ASSERT_TRUE(differs(h1, "a=1&b=2&_sort=c&_to=1"));
	CU_ASSERT_TRUE(differs(h1, "a=1&b=2&_sort=c,d"));
	CU_ASSERT_STRING_NOT_EQUAL(pawl_token_query_hash(arena, query("_since=1")),
	    pawl_token_query_hash(arena, query("_before=1")));
}

static void test_other_query(void)
{
	struct pawl_query *q = query("a=1&_sort=b");
	const char *tok = pawl_token_encode(arena, KEY, SCOPE, q, json("{\"b\":1}"), 1);
	struct pawl_token t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
	CU_ASSERT_EQUAL(decode(KEY, query("a=1&_sort=b&_limit=5&_fields=x"), tok, &t), PAWL_OK);
	CU_ASSERT_EQUAL(t.offset, 1);
	check_bad(query("a=2&_sort=b"), tok);
	check_bad(query("a=1&_sort=-b"), tok);
	check_bad(query("a=1&_sort=b&_since=5"), tok);
	check_bad(query("a=1&_sort=b&c=1"), tok);
	check_bad(query(""), tok);
	/* Another key, same everything else. */
	CU_ASSERT_EQUAL(decode("other", q, tok, &t), PAWL_ERR_INVALID);
}

/* Signed with the scope: the same token is refused for another list or user. */
static void test_other_scope(void)
{
	static const char *const others[] = {
		"/buckets/b/collections/d/records /buckets/b/collections/d\nuser basicauth:alice",
		"/buckets/b/collections/c/records /buckets/b/collections/c\nuser basicauth:bob",
		"/buckets/b/collections/c/records /buckets/b/collections/c\nanonymous",
		"/buckets/b/collections/c/records /buckets/b/collections/c\nuser basicauth:alic",
		"", NULL,
	};
	struct pawl_query *q = query("_sort=b");
	const char *tok = pawl_token_encode(arena, KEY, SCOPE, q, json("{\"b\":1}"), 0);
	struct pawl_token t;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
	CU_ASSERT_EQUAL(decode(KEY, q, tok, &t), PAWL_OK);
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		pawl_error_clear(&err);
		CU_ASSERT_EQUAL(pawl_token_decode(arena, &(struct pawl_token_signer){ KEY, others[i] },
		    q, tok, &t, &err), PAWL_ERR_INVALID);
		CU_ASSERT_STRING_EQUAL(err.name, "_token");
		CU_ASSERT_PTR_NULL(t.last);
	}
	/* A token made for another scope is refused here, whatever its content. */
	tok = pawl_token_encode(arena, KEY, others[2], q, json("{\"b\":1}"), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
	check_bad(q, tok);
}

static void test_tampered(void)
{
	struct pawl_query *q = query("_sort=b");
	const char *tok = pawl_token_encode(arena, KEY, SCOPE, q, json("{\"b\":1}"), 7);
	char *bad;
	size_t len, dot;
	struct pawl_token t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
	CU_ASSERT_EQUAL(decode(KEY, q, tok, &t), PAWL_OK);
	len = strlen(tok);
	dot = (size_t)(strchr(tok, '.') - tok);
	bad = pawl_arena_strdup(arena, tok);
	bad[3] = bad[3] == 'A' ? 'B' : 'A'; /* payload */
	check_bad(q, bad);
	strcpy(bad, tok);
	bad[dot + 5] = bad[dot + 5] == 'A' ? 'B' : 'A'; /* signature */
	check_bad(q, bad);
	/* The last signature character carries 4 spare bits; they must be zero. */
	strcpy(bad, tok);
	bad[len - 1] = bad[len - 1] == 'A' ? 'B' : (char)(bad[len - 1] + 1);
	check_bad(q, bad);
	strcpy(bad, tok);
	bad[len - 1] = '\0';
	check_bad(q, bad); /* truncated */
	strcpy(bad, tok);
	bad[dot] = '\0';
	check_bad(q, bad); /* no signature */
	check_bad(q, tok + dot); /* no payload */
	check_bad(q, "");
	check_bad(q, NULL);
	check_bad(q, "not a token");
	check_bad(q, pawl_arena_printf(arena, "%s=", tok));
	check_bad(q, pawl_arena_printf(arena, "%.*s+%s", (int)dot, tok, tok + dot + 1));
	check_bad(q, pawl_arena_printf(arena, "%.*s.AAAAAAAAAAAAAAAAAAAAAA", (int)dot, tok));
}

/* A well-signed token of n bytes of JSON: 4 KiB of token is the limit. */
static const char *sized(const char *hash, size_t n)
{
	static const char fmt[] = "{\"last\":{\"b\":\"%s\"},\"offset\":0,\"q\":\"%s\"}";
	size_t fill = n - (sizeof(fmt) - 5) - strlen(hash);
	char *s = pawl_arena_alloc(arena, fill + 1);

	memset(s, 'x', fill);
	s[fill] = '\0';
	return forge(KEY, pawl_arena_printf(arena, fmt, s, hash));
}

static void test_length_limit(void)
{
	struct pawl_query *q = query("_sort=b");
	const char *h = pawl_token_query_hash(arena, q);
	const char *fits, *over;
	struct pawl_token t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	/* 3054 bytes → 4072 + 1 + 22 = 4095 characters; 3057 bytes → 4099. */
	fits = sized(h, 3054);
	over = sized(h, 3057);
	CU_ASSERT_EQUAL(strlen(fits), 4095);
	CU_ASSERT_EQUAL(strlen(over), 4099);
	CU_ASSERT_EQUAL(decode(KEY, q, fits, &t), PAWL_OK);
	check_bad(q, over);
}

static void test_forged_shapes(void)
{
	struct pawl_query *q = query("_sort=b");
	const char *h = pawl_token_query_hash(arena, q);
	struct pawl_token t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	/* The forging helper itself agrees with the encoder. */
	CU_ASSERT_EQUAL(decode(KEY, q, forge(KEY, pawl_arena_printf(arena,
	    "{\"last\":{\"b\":2},\"offset\":4,\"q\":\"%s\"}", h)), &t), PAWL_OK);
	CU_ASSERT_EQUAL(t.offset, 4);
	CU_ASSERT_EQUAL(decode(KEY, q, forge(KEY, pawl_arena_printf(arena,
	    " {\"q\":\"%s\",\"offset\":0,\"last\":{}} ", h)), &t), PAWL_OK);
	check_bad(q, forge("wrong", pawl_arena_printf(arena,
	    "{\"last\":{},\"offset\":0,\"q\":\"%s\"}", h)));
	check_bad(q, forge(KEY, pawl_arena_printf(arena,
	    "{\"last\":1,\"offset\":0,\"q\":\"%s\"}", h)));
	check_bad(q, forge(KEY, pawl_arena_printf(arena,
	    "{\"last\":[],\"offset\":0,\"q\":\"%s\"}", h)));
	check_bad(q, forge(KEY, pawl_arena_printf(arena,
	    "{\"last\":{},\"offset\":-1,\"q\":\"%s\"}", h)));
	check_bad(q, forge(KEY, pawl_arena_printf(arena,
	    "{\"last\":{},\"offset\":1.5,\"q\":\"%s\"}", h)));
	check_bad(q, forge(KEY, pawl_arena_printf(arena,
	    "{\"last\":{},\"offset\":\"1\",\"q\":\"%s\"}", h)));
	check_bad(q, forge(KEY, pawl_arena_printf(arena,
	    "{\"last\":{},\"offset\":0,\"q\":\"%s\",\"x\":1}", h)));
	check_bad(q, forge(KEY, "{\"last\":{},\"offset\":0}"));
	check_bad(q, forge(KEY, "{\"last\":{},\"offset\":0,\"q\":\"abc\"}"));
	check_bad(q, forge(KEY, "{\"last\":{},\"offset\":0,\"q\":1}"));
	check_bad(q, forge(KEY, "[1,2,3]"));
	check_bad(q, forge(KEY, "{\"last\":{"));
	check_bad(q, forge(KEY, "\xff\xfe"));
	check_bad(q, forge(KEY, "null"));
}

void test_token_register(void)
{
	CU_pSuite s = CU_add_suite("token", setup, teardown);

	CU_add_test(s, "round trip", test_round_trip);
	CU_add_test(s, "query hash", test_query_hash);
	CU_add_test(s, "token of another query", test_other_query);
	CU_add_test(s, "token of another list or user", test_other_scope);
	CU_add_test(s, "tampered and truncated", test_tampered);
	CU_add_test(s, "4 KiB limit", test_length_limit);
	CU_add_test(s, "forged shapes", test_forged_shapes);
}
