/*
 * Unit tests for app/http/auth.c. Expected digests were computed with
 * `printf 'user:pass' | openssl dgst -sha256 -hmac 'secret'` (and likewise
 * for the other messages), and the Latin-1 case with Kinto's algorithm in
 * Python (b64decode, decode utf-8 else latin-1, hmac over the UTF-8 text).
 */
#include <crypt.h>
#include <string.h>

#include "resource/accounts.h"
#include "http/auth.h"
#include "unit.h"

#define SECRET "secret"
#define HEX_USER_PASS "f37020a62d377cbb1944ae67729bfebd33a764bda4d1b10fe58521ad82d73da1"
#define HEX_USER_EMPTY "0c43e386ff4d89458e230582e354b8ab937a942104061242f9e931f7c99b7da9"
#define HEX_USER_PA_SS "507eb9bc723fb5ff5c3d86412fbc00693f8443775fcde4b9f9f0b2cceff0d4eb"
#define HEX_ALICE "82ce6b06c72a7150d2102d6b14ace37de9fdbb0efd2c87df6ae09213186cee74"
#define HEX_CAFE "17455a7fd8429fd41df21626921e56bca3b97bf4c38214cdbbbe26d63828e16b"
#define HEX_EMPTY_KEY "5741b99cc5b467903f9a392b092d59f6d227354acbca1834bdd1dea1dd350a8e"

static struct pawl_arena *arena;
static struct pawl_hmac_key *key;

static int setup(void)
{
	arena = pawl_arena_new(4096);
	key = pawl_hmac_key_new(SECRET);
	return arena == NULL || key == NULL;
}

static int teardown(void)
{
	pawl_arena_free(arena);
	arena = NULL;
	pawl_hmac_key_free(key);
	key = NULL;
	return 0;
}

static const char *userid(const char *header)
{
	return pawl_auth_basic_userid(arena, key, header);
}

static void test_hmac_known_answer(void)
{
	char out[65];

	pawl_hmac_hex("secret", "user:pass", 9, out);
	CU_ASSERT_STRING_EQUAL(out, HEX_USER_PASS);
	pawl_hmac_hex("", "user:pass", 9, out);
	CU_ASSERT_STRING_EQUAL(out, HEX_EMPTY_KEY);
	pawl_hmac_hex("secret", "user:passXXXX", 9, out); /* msg_len bounds msg */
	CU_ASSERT_STRING_EQUAL(out, HEX_USER_PASS);
	/* A key handle hashes message after message with the same key. */
	{
		struct pawl_hmac_key *k = pawl_hmac_key_new("secret");

		for (int i = 0; i < 3; i++) {
			pawl_hmac_key_hex(k, "user:pass", 9, out);
			CU_ASSERT_STRING_EQUAL(out, HEX_USER_PASS);
		}
		pawl_hmac_key_free(k);
	}
	pawl_hmac_key_hex(NULL, "user:pass", 9, out);
	CU_ASSERT_STRING_EQUAL(out, "");
	CU_ASSERT_PTR_NULL(pawl_hmac_key_new(NULL));
}

static void test_basic_known_answer(void)
{
	CU_ASSERT_STRING_EQUAL(userid("Basic dXNlcjpwYXNz"), "basicauth:" HEX_USER_PASS);
	CU_ASSERT_STRING_EQUAL(userid("Basic YWxpY2U6czNjcjN0"), "basicauth:" HEX_ALICE);
	CU_ASSERT_EQUAL(strlen(userid("Basic dXNlcjpwYXNz")), 10 + 64);
}

static void test_scheme_case_and_spaces(void)
{
	const char *want = "basicauth:" HEX_USER_PASS;

	CU_ASSERT_STRING_EQUAL(userid("basic dXNlcjpwYXNz"), want);
	CU_ASSERT_STRING_EQUAL(userid("BASIC dXNlcjpwYXNz"), want);
	CU_ASSERT_STRING_EQUAL(userid("  Basic   dXNlcjpwYXNz  "), want);
	CU_ASSERT_STRING_EQUAL(userid("\tBasic dXNlcjpwYXNz\t"), want);
}

static void test_other_schemes(void)
{
	CU_ASSERT_PTR_NULL(userid("Bearer dXNlcjpwYXNz"));
	CU_ASSERT_PTR_NULL(userid("Digest dXNlcjpwYXNz"));
	CU_ASSERT_PTR_NULL(userid("Basicx dXNlcjpwYXNz"));
	CU_ASSERT_PTR_NULL(userid("BasicdXNlcjpwYXNz"));
	CU_ASSERT_PTR_NULL(userid("Basic\tdXNlcjpwYXNz")); /* scheme and token split by SP */
	CU_ASSERT_PTR_NULL(userid("Basic"));
	CU_ASSERT_PTR_NULL(userid("Basic "));
	CU_ASSERT_PTR_NULL(userid(""));
	CU_ASSERT_PTR_NULL(userid(NULL));
}

static void test_empty_user_and_password(void)
{
	CU_ASSERT_PTR_NULL(userid("Basic OnBhc3M="));   /* ":pass" */
	CU_ASSERT_PTR_NULL(userid("Basic Og=="));       /* ":" */
	CU_ASSERT_STRING_EQUAL(userid("Basic dXNlcjo="), /* "user:" */
	    "basicauth:" HEX_USER_EMPTY);
}

static void test_no_colon(void)
{
	CU_ASSERT_PTR_NULL(userid("Basic bm9jb2xvbg==")); /* "nocolon" */
	CU_ASSERT_PTR_NULL(userid("Basic dXNlcg=="));     /* "user" */
}

static void test_colon_in_password(void)
{
	/* Split at the first ':'; the HMAC covers the whole "user:pa:ss". */
	CU_ASSERT_STRING_EQUAL(userid("Basic dXNlcjpwYTpzcw=="), "basicauth:" HEX_USER_PA_SS);
}

static void test_bad_base64(void)
{
	CU_ASSERT_PTR_NULL(userid("Basic dXNlcjpwYXN"));      /* length not a multiple of 4 */
	CU_ASSERT_PTR_NULL(userid("Basic dXNlcjpwYXNz="));
	CU_ASSERT_PTR_NULL(userid("Basic dXNl cjpwYXNz"));    /* inner space */
	CU_ASSERT_PTR_NULL(userid("Basic dXNlcjpw!XNz"));     /* outside the alphabet */
	CU_ASSERT_PTR_NULL(userid("Basic dXNlcjpwYXNz-_=="));
	CU_ASSERT_PTR_NULL(userid("Basic YWI6Yw==YWI6Yw=="));  /* padding in the middle */
	CU_ASSERT_PTR_NULL(userid("Basic YTpi=Q=="));
	CU_ASSERT_PTR_NULL(userid("Basic ===="));
	CU_ASSERT_PTR_NULL(userid("Basic Y==="));
	/* Well-formed padding of both lengths decodes without counting '='. */
	CU_ASSERT_PTR_NOT_NULL(userid("Basic YWI6Yw==")); /* "ab:c" */
	CU_ASSERT_PTR_NOT_NULL(userid("Basic YTpiYw==")); /* "a:bc" */
	CU_ASSERT_PTR_NOT_NULL(userid("Basic YTpi"));     /* "a:b" */
}

static void test_nul_in_credentials(void)
{
	CU_ASSERT_PTR_NULL(userid("Basic dXMAZXI6cGFzcw==")); /* "us\0er:pass" */
	CU_ASSERT_PTR_NULL(userid("Basic dXNlcjpwYQBzcw==")); /* "user:pa\0ss" */
	CU_ASSERT_PTR_NULL(userid("Basic dXNlcjpwYXNzAA==")); /* "user:pass\0" */
}

static void test_non_utf8_is_latin1(void)
{
	/* "caf\xe9:pw" (Latin-1) hashes like "caf\xc3\xa9:pw" (UTF-8), as in Kinto. */
	CU_ASSERT_STRING_EQUAL(userid("Basic Y2Fm6Tpwdw=="), "basicauth:" HEX_CAFE);
	CU_ASSERT_STRING_EQUAL(userid("Basic Y2Fmw6k6cHc="), "basicauth:" HEX_CAFE);
}

static void test_secret_matters(void)
{
	struct pawl_hmac_key *other = pawl_hmac_key_new("other");
	const char *a = pawl_auth_basic_userid(arena, key, "Basic dXNlcjpwYXNz");
	const char *b = pawl_auth_basic_userid(arena, other, "Basic dXNlcjpwYXNz");

	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT(strcmp(a, b) != 0);
	CU_ASSERT_PTR_NULL(pawl_auth_basic_userid(arena, NULL, "Basic dXNlcjpwYXNz"));
	pawl_hmac_key_free(other);
}

static void test_header_length_cap(void)
{
	size_t n = 9000, i;
	char *h = pawl_arena_alloc(arena, n + 1);
	char *ok = pawl_arena_alloc(arena, 8193);

	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ok);
	memcpy(h, "Basic dXNlcjpwYXNz", 18);
	for (i = 18; i < n; i++)
		h[i] = ' ';
	h[n] = '\0';
	CU_ASSERT_PTR_NULL(userid(h)); /* over 8 KiB: anonymous without decoding */
	memcpy(ok, h, 8192);
	ok[8192] = '\0';
	CU_ASSERT_STRING_EQUAL(userid(ok), "basicauth:" HEX_USER_PASS);
}

/* "user:pa:ss" split at the first ':'; the same refusals as the user id. */
static void test_basic_decode(void)
{
	size_t len, user_len;
	char *m;

	m = pawl_auth_basic_decode(arena, "Basic dXNlcjpwYTpzcw==", &len, &user_len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(len, 10);
	CU_ASSERT_EQUAL(user_len, 4);
	CU_ASSERT_NSTRING_EQUAL(m, "user:pa:ss", 10);
	CU_ASSERT_PTR_NULL(pawl_auth_basic_decode(arena, "Basic OnBhc3M=", &len, &user_len));
	CU_ASSERT_PTR_NULL(pawl_auth_basic_decode(arena, "Basic dXNlcg==", &len, &user_len));
	CU_ASSERT_PTR_NULL(pawl_auth_basic_decode(arena, "Bearer dXNlcjpwYXNz", &len, &user_len));
	CU_ASSERT_PTR_NULL(pawl_auth_basic_decode(arena, "Basic dXNlcjpw!", &len, &user_len));
	CU_ASSERT_PTR_NULL(pawl_auth_basic_decode(arena, NULL, &len, &user_len));
}

/* Accounts: no "password" member survives, at any depth; the rest is kept. */
static void test_accounts_strip(void)
{
	const char *out;

	out = pawl_accounts_strip(arena, "{\"data\":{\"id\":\"bob\",\"password\":\"$y$x\"}}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_PTR_NULL(strstr(out, "password"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"bob\""));
	out = pawl_accounts_strip(arena, "{\"data\":[{\"password\":\"a\"},{\"x\":{\"password\":1}}]}");
	CU_ASSERT_PTR_NULL(strstr(out, "password"));
	CU_ASSERT_STRING_EQUAL(pawl_accounts_strip(arena, "{\"a\":1}"), "{\"a\":1}");
	CU_ASSERT_STRING_EQUAL(pawl_accounts_strip(arena, "{\"password\": not json"), "{}");
	CU_ASSERT_PTR_NULL(pawl_accounts_strip(arena, NULL));
}

/* yescrypt from libcrypt: "$y$" with a fresh salt each time. */
static void test_accounts_hash(void)
{
	char a[256], b[256];
	struct pawl_error err;

	CU_ASSERT_EQUAL_FATAL(pawl_accounts_hash("pw", a, sizeof a, &err), PAWL_OK);
	CU_ASSERT_EQUAL_FATAL(pawl_accounts_hash("pw", b, sizeof b, &err), PAWL_OK);
	CU_ASSERT_NSTRING_EQUAL(a, "$y$", 3);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	/*
	 * The hash verifies the password and no other. (Not "pw" absent from the
	 * text: a random salt and hash of ~80 characters hold it about 2% of runs.)
	 */
	CU_ASSERT_STRING_EQUAL(crypt("pw", a), a);
	CU_ASSERT_STRING_NOT_EQUAL(crypt("pX", a), a);
	CU_ASSERT_EQUAL(pawl_accounts_hash("pw", a, 8, &err), PAWL_ERR_INTERNAL);
}

void test_auth_register(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "hmac known answer", test_hmac_known_answer },
		{ "basic known answer", test_basic_known_answer },
		{ "scheme case and spaces", test_scheme_case_and_spaces },
		{ "other schemes are anonymous", test_other_schemes },
		{ "empty user, empty password", test_empty_user_and_password },
		{ "no colon", test_no_colon },
		{ "colon inside the password", test_colon_in_password },
		{ "bad base64", test_bad_base64 },
		{ "NUL in credentials", test_nul_in_credentials },
		{ "non-UTF-8 credentials as Latin-1", test_non_utf8_is_latin1 },
		{ "secret matters", test_secret_matters },
		{ "header length cap", test_header_length_cap },
		{ "basic decode for the account policy", test_basic_decode },
		{ "accounts: password stripped", test_accounts_strip },
		{ "accounts: yescrypt hash", test_accounts_hash },
	};
	CU_pSuite suite = CU_add_suite("auth", setup, teardown);
	size_t i;

	if (suite == NULL)
		return;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
}
