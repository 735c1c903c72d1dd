/*
 * Unit tests for app/core/json.c: what is accepted, what is refused and with
 * which message, the depth limit at and over its value, and that trees are
 * released through the arena (LSan reports any that is not).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "unit.h"

#define DEPTH 8

static struct pawl_arena *arena;

static int setup(void)
{
	arena = pawl_arena_new(4096);
	return arena == NULL;
}

static int teardown(void)
{
	pawl_arena_free(arena);
	arena = NULL;
	return 0;
}

static enum pawl_err parse_n(const char *s, size_t len, int depth, json_object **out,
    struct pawl_error *err)
{
	pawl_error_clear(err);
	return pawl_json_parse(arena, s, len, depth, out, err);
}

/* Parses s (a C string) and expects success; returns the tree. */
static json_object *ok(const char *s)
{
	struct pawl_error err;
	json_object *obj = NULL;

	CU_ASSERT_EQUAL(parse_n(s, strlen(s), DEPTH, &obj, &err), PAWL_OK);
	CU_ASSERT_EQUAL(err.code, PAWL_OK);
	return obj;
}

/*
 * Parses s[0..len) and expects a validation error whose message starts with
 * want, naming the field name (NULL: whatever it names).
 */
static void refused_named(const char *s, size_t len, int depth, const char *name,
    const char *want)
{
	struct pawl_error err;
	json_object *obj = (json_object *)&err; /* must be reset to NULL */

	CU_ASSERT_EQUAL(parse_n(s, len, depth, &obj, &err), PAWL_ERR_INVALID);
	CU_ASSERT_PTR_NULL(obj);
	CU_ASSERT_EQUAL(err.code, PAWL_ERR_INVALID);
	CU_ASSERT_PTR_NOT_NULL_FATAL(err.location);
	CU_ASSERT_STRING_EQUAL(err.location, "body");
	if (name != NULL)
		CU_ASSERT_STRING_EQUAL(err.name, name);
	CU_ASSERT_EQUAL(strncmp(err.message, want, strlen(want)), 0);
	if (strncmp(err.message, want, strlen(want)) != 0 || (name && strcmp(err.name, name) != 0))
		fprintf(stderr, "\n  got \"%s\" (%s), want \"%s...\" (%s)\n", err.message, err.name,
		    want, name ? name : "any");
}

static void refused_n(const char *s, size_t len, int depth, const char *want)
{
	refused_named(s, len, depth, NULL, want);
}

static void refused_at(const char *s, const char *name, const char *want)
{
	refused_named(s, strlen(s), DEPTH, name, want);
}

static void refused(const char *s, const char *want)
{
	refused_n(s, strlen(s), DEPTH, want);
}

/* A document of `depth` nested arrays around 1, in the arena. */
static char *nested(int depth)
{
	char *s = pawl_arena_alloc(arena, 2 * (size_t)depth + 2);
	int i;

	for (i = 0; i < depth; i++) {
		s[i] = '[';
		s[depth + 1 + i] = ']';
	}
	s[depth] = '1';
	s[2 * depth + 1] = '\0';
	return s;
}

static void test_valid_documents(void)
{
	json_object *o, *v;

	o = ok("{\"data\": {\"title\": \"caf\xc3\xa9\", \"n\": [1, 2.5, -3e2, true, false, null]}}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT(json_object_is_type(o, json_type_object));
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "data", &v));
	CU_ASSERT_TRUE(json_object_object_get_ex(v, "title", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "caf\xc3\xa9");
	o = ok(" \t\r\n[]\n ");
	CU_ASSERT(json_object_is_type(o, json_type_array));
	CU_ASSERT_EQUAL(json_object_array_length(o), 0);
	o = ok("\"\\u00e9\\n\\\"\\/\"");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(o), "\xc3\xa9\n\"/");
	o = ok("\"\\ud83d\\ude00\"");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(o), "\xf0\x9f\x98\x80");
	o = ok("42");
	CU_ASSERT_EQUAL(json_object_get_int64(o), 42);
	o = ok("-0");
	CU_ASSERT(json_object_is_type(o, json_type_int));
	o = ok("true");
	CU_ASSERT_TRUE(json_object_get_boolean(o));
	o = ok("{\"a\":1,\"a\":2}"); /* last duplicate wins, as in Python */
	CU_ASSERT_TRUE(json_object_object_get_ex(o, "a", &v));
	CU_ASSERT_EQUAL(json_object_get_int(v), 2);
}

static void test_null_document(void)
{
	/* json-c represents null as NULL: success with *out == NULL. */
	CU_ASSERT_PTR_NULL(ok("null"));
	CU_ASSERT_PTR_NULL(ok(" null\n"));
}

static void test_trailing_garbage(void)
{
	refused("{} x", "Invalid JSON: ");
	refused("{}{}", "Invalid JSON: ");
	refused("[1]]", "Invalid JSON: ");
	refused("1 2", "Invalid JSON: ");
	refused("\"a\" \"b\"", "Invalid JSON: ");
	refused("{}\f", "Invalid JSON: ");
	refused("true false", "Invalid JSON: ");
	refused("nullx", "Invalid JSON: unexpected character at offset 4");
}

static void test_truncated(void)
{
	refused("{\"a\":", "Invalid JSON: unexpected end of data");
	refused("{\"a\"", "Invalid JSON: unexpected end of data");
	refused("[1", "Invalid JSON: unexpected end of data");
	refused("[1,", "Invalid JSON: unexpected end of data");
	refused("\"abc", "Invalid JSON: unexpected end of data at offset 4");
	refused("\"abc\\", "Invalid JSON: unexpected end of data at offset 5");
	refused("tru", "Invalid JSON: unexpected end of data at offset 3");
	refused("-", "Invalid JSON: unexpected end of data at offset 1");
	refused("1e", "Invalid JSON: unexpected end of data at offset 2");
}

static void test_syntax_errors(void)
{
	refused("{\"a\" 1}", "Invalid JSON: object property name separator ':' expected at offset 5");
	refused("{a:1}", "Invalid JSON: quoted object property name expected");
	refused("[1,]", "Invalid JSON: ");
	refused("{\"a\":1,}", "Invalid JSON: ");
	refused("'a'", "Invalid JSON: ");
	refused("\"\\x41\"", "Invalid JSON: invalid string sequence");
	refused("]", "Invalid JSON: ");
	refused("+1", "Invalid JSON: ");
	refused("NaN", "Invalid JSON: unexpected word at offset 0");
	refused("[Infinity]", "Invalid JSON: unexpected word at offset 1");
	refused("-Infinity", "Invalid JSON: invalid number at offset 0");
	refused("True", "Invalid JSON: boolean expected at offset 0");
	refused("01", "Invalid JSON: ");
	refused("[01]", "Invalid JSON: ");
	refused("1.", "Invalid JSON: invalid number");
	refused(".5", "Invalid JSON: ");
	refused("1.5.3", "Invalid JSON: unexpected character at offset 3");
	refused("[1.]", "Invalid JSON: invalid number at offset 1");
	refused("{\"a\": 1.e5}", "Invalid JSON: invalid number at offset 6");
	refused("[1,-]", "Invalid JSON: number expected at offset 4");
}

static void test_depth_limit(void)
{
	json_object *o;

	o = ok(nested(DEPTH)); /* exactly at the limit */
	CU_ASSERT_PTR_NOT_NULL(o);
	refused(nested(DEPTH + 1), "Invalid JSON: nesting deeper than 8");
	refused(nested(100000), "Invalid JSON: nesting deeper than 8");
	refused_n("[[1]]", 5, 1, "Invalid JSON: nesting deeper than 1");
	CU_ASSERT_PTR_NOT_NULL(ok("[[[[[[[[]]]]]]]]"));
	refused("[[[[[[[[[]]]]]]]]]", "Invalid JSON: nesting deeper than 8");
}

static void test_depth_objects(void)
{
	struct pawl_error err;
	json_object *o = NULL;
	const char *two = "{\"a\":{\"b\":1}}";
	const char *two_empty = "{\"a\":{}}";

	CU_ASSERT_EQUAL(parse_n(two, strlen(two), 2, &o, &err), PAWL_OK);
	CU_ASSERT_EQUAL(parse_n(two_empty, strlen(two_empty), 2, &o, &err), PAWL_OK);
	refused_n(two, strlen(two), 1, "Invalid JSON: nesting deeper than 1");
	refused_n(two_empty, strlen(two_empty), 1, "Invalid JSON: nesting deeper than 1");
	refused_n("[{}]", 4, 1, "Invalid JSON: nesting deeper than 1");
	/* Brackets inside strings do not count. */
	CU_ASSERT_EQUAL(parse_n("[\"[[[{{{\"]", 10, 1, &o, &err), PAWL_OK);
	/* Depth 0 allows scalars only. */
	CU_ASSERT_EQUAL(parse_n("\"x\"", 3, 0, &o, &err), PAWL_OK);
	refused_n("[]", 2, 0, "Invalid JSON: nesting deeper than 0");
}

static void test_invalid_utf8(void)
{
	refused("\"caf\xe9\"", "Invalid JSON: body is not valid UTF-8");
	refused("{\"a\":\"\xed\xa0\x80\"}", "Invalid JSON: body is not valid UTF-8");
	refused("[\"\xc0\xaf\"]", "Invalid JSON: body is not valid UTF-8");
	refused("\"\xf0\x9f\x98\"", "Invalid JSON: body is not valid UTF-8");
	refused("\xff", "Invalid JSON: body is not valid UTF-8");
}

static void test_nul_and_controls(void)
{
	refused_n("\"a\0b\"", 5, DEPTH, "Invalid JSON: NUL byte at offset 2");
	refused_n("[1]\0", 4, DEPTH, "Invalid JSON: NUL byte at offset 3");
	refused_n("\0", 1, DEPTH, "Invalid JSON: NUL byte at offset 0");
	refused("\"a\tb\"", "Invalid JSON: control character in string at offset 2");
	refused("\"a\nb\"", "Invalid JSON: control character in string");
	refused("\"\\\x01\"", "Invalid JSON: invalid string sequence at offset 2");
	/* Escaped, they are fine, but \u0000: jsonb cannot store it, json-c cuts names at it. */
	refused_at("\"a\\u0000b\"", "", "Invalid JSON: \\u0000 is not allowed at offset 2");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(ok("\"a\\tb\"")), "a\tb");
}

static void test_huge_numbers(void)
{
	char digits[200];
	json_object *o;

	refused("1e400", "Invalid JSON: number out of range at offset 0");
	refused("[-1e400]", "Invalid JSON: number out of range at offset 1");
	refused("123456789012345678901234567890", "Invalid JSON: number out of range");
	refused("18446744073709551616", "Invalid JSON: number out of range");
	refused("-9223372036854775809", "Invalid JSON: number out of range");
	o = ok("18446744073709551615"); /* json-c holds it as uint64 */
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(o), "18446744073709551615");
	o = ok("-9223372036854775808");
	CU_ASSERT_EQUAL(json_object_get_int64(o), INT64_MIN);
	o = ok("1e-400"); /* underflow is not an error; the text is kept */
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string(o), "1e-400");
	/* jsonb would print it as a 309-digit integer. */
	refused("1.7976931348623157e308", "Invalid JSON: number out of range");
	/* A long decimal goes through the arena copy, not the stack buffer. */
	memset(digits, '1', sizeof(digits) - 1);
	digits[1] = '.';
	digits[sizeof(digits) - 1] = '\0';
	o = ok(digits);
	CU_ASSERT(json_object_is_type(o, json_type_double));
	digits[1] = '1';
	refused(digits, "Invalid JSON: number out of range");
}

/* What jsonb prints, without exponent: integers must fit, decimals stay few. */
static void test_numbers_as_jsonb_prints(void)
{
	static const char *const accepted[] = {
		"1", "-5", "3.14", "1e5", "0.1", "1e19", "-9.223372036854775808e18", "1.5e-300",
		"9007199254740993", "12345678901234567890123.5", "0e1000", "1.0e-399", "5e-324",
		"-0", "1E+2", "2.5e1",
	};
	static const char *const integers[] = {
		"2e19", "1e300", "-1e300", "2.0E+19", "-1e19", "1.2345678901234567890123e22",
		"1.5e300", "1e1001", "1e99999999999999999999", "-9.223372036854775809e18", "0e1001",
		"-0e29999",
	};
	char text[64];
	size_t i;

	for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
		(void)ok(accepted[i]);
	for (i = 0; i < sizeof(integers) / sizeof(integers[0]); i++) {
		snprintf(text, sizeof(text), "{\"n\":%s}", integers[i]);
		refused_at(text, "n", "Invalid JSON: number out of range at offset 5");
	}
	refused_at("{\"a\":[1,1e-401]}", "a.1",
	    "Invalid JSON: number has too many decimals once written without exponent");
	refused_at("[1e-99999999999999999999]", "0", "Invalid JSON: number out of range");
	CU_ASSERT_EQUAL(json_object_get_int64(ok("2.5e1")), 25); /* json-c: a double 25 */
}

/* \u0000 and lone surrogates anywhere, named by their path; valid pairs pass. */
static void test_escapes_and_paths(void)
{
	refused_at("{\"k\":\"1\",\"k\\u0000x\":\"2\"}", "k\\u0000x", "Invalid JSON: \\u0000");
	refused_at("{\"data\":{\"a\":[\"ok\",{\"b\":\"\\u0000\"}]}}", "data.a.1.b",
	    "Invalid JSON: \\u0000 is not allowed");
	refused_at("{\"a\":\"\\ud800\"}", "a", "Invalid JSON: lone high surrogate");
	refused_at("{\"a\":\"\\uDBFF\"}", "a", "Invalid JSON: lone high surrogate");
	refused_at("{\"a\":\"\\ud800x\"}", "a", "Invalid JSON: lone high surrogate");
	refused_at("{\"a\":\"\\ud800\\u0041\"}", "a", "Invalid JSON: lone high surrogate");
	refused_at("{\"a\":\"\\ud800\\ud800\"}", "a", "Invalid JSON: lone high surrogate");
	refused_at("{\"a\":\"\\udc00\"}", "a", "Invalid JSON: lone low surrogate");
	refused_at("{\"a\":\"\\ud83d\\ude00\\udc00\"}", "a", "Invalid JSON: lone low surrogate");
	refused_at("[[1],{\"x\":[2,\"\\udfff\"]}]", "1.x.1", "Invalid JSON: lone low surrogate");
	refused_at("{\"a\":1,\"b\\\\\":{\"c\":1e400}}", "b\\\\.c", "Invalid JSON: number out of range");
	refused_at("\"\\u0000\"", "", "Invalid JSON: \\u0000");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(ok("\"\\ud83d\\ude00\\u00e9\"")),
	    "\xf0\x9f\x98\x80\xc3\xa9");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(ok("\"\\\\u0000\"")), "\\u0000");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(ok("\"\\\\ud800\"")), "\\ud800");
}

static void test_deeper_than(void)
{
	CU_ASSERT_FALSE(pawl_json_deeper_than(ok("1"), 0));
	CU_ASSERT_TRUE(pawl_json_deeper_than(ok("[]"), 0));
	CU_ASSERT_FALSE(pawl_json_deeper_than(ok("[[1],{\"a\":[]}]"), 3));
	CU_ASSERT_TRUE(pawl_json_deeper_than(ok("[[1],{\"a\":[]}]"), 2));
	CU_ASSERT_TRUE(pawl_json_deeper_than(ok("{\"a\":1,\"b\":{\"c\":{}}}"), 2));
	CU_ASSERT_FALSE(pawl_json_deeper_than(ok("{\"a\":1,\"b\":{\"c\":{}}}"), 3));
	CU_ASSERT_FALSE(pawl_json_deeper_than(NULL, 0));
}

static void test_empty_input(void)
{
	refused_n("", 0, DEPTH, "Invalid JSON: body is empty");
	refused_n(NULL, 0, DEPTH, "Invalid JSON: body is empty");
	refused(" \n\t\r ", "Invalid JSON: body is empty");
}

static void test_error_shape(void)
{
	struct pawl_error err;
	json_object *o = NULL;

	CU_ASSERT_EQUAL(parse_n("{\"a\":}", 6, DEPTH, &o, &err), PAWL_ERR_INVALID);
	CU_ASSERT_EQUAL(pawl_err_status(err.code), 400);
	CU_ASSERT_EQUAL(pawl_err_errno(err.code), 107);
	CU_ASSERT_STRING_EQUAL(err.location, "body");
	CU_ASSERT_STRING_EQUAL(err.message, "Invalid JSON: unexpected character at offset 5");
	CU_ASSERT_PTR_NULL(err.details);
}

static void test_own_and_reset(void)
{
	json_object *o = json_object_new_object();
	json_object *p;

	CU_ASSERT_PTR_EQUAL(pawl_json_own(arena, o), o);
	json_object_object_add(o, "k", json_object_new_string("v"));
	CU_ASSERT_PTR_NULL(pawl_json_own(arena, NULL));
	p = ok("{\"big\": [1,2,3,4,5,6,7,8,9,10]}");
	CU_ASSERT_PTR_NOT_NULL(p);
	pawl_arena_reset(arena); /* both trees are put here; LSan checks */
	CU_ASSERT_EQUAL(pawl_arena_used(arena), 0);
}

static void test_compact(void)
{
	json_object *o = ok("{ \"url\" : \"/buckets/b\", \"t\": \"caf\xc3\xa9\\n\", \"n\": [1, 2.50] }");
	const char *want = "{\"url\":\"/buckets/b\",\"t\":\"caf\xc3\xa9\\n\",\"n\":[1,2.50]}";
	const char *s;
	size_t len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	s = pawl_json_compact(arena, o, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, want);
	CU_ASSERT_EQUAL(len, strlen(want));
	s = pawl_json_compact(arena, o, NULL); /* len is optional */
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, want);
	s = pawl_json_compact(arena, NULL, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "null");
	CU_ASSERT_EQUAL(len, 4);
}

void test_json_register(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "valid documents", test_valid_documents },
		{ "null document", test_null_document },
		{ "trailing garbage", test_trailing_garbage },
		{ "truncated documents", test_truncated },
		{ "syntax errors", test_syntax_errors },
		{ "depth at and over the limit", test_depth_limit },
		{ "depth of objects", test_depth_objects },
		{ "invalid UTF-8", test_invalid_utf8 },
		{ "NUL bytes and raw control characters", test_nul_and_controls },
		{ "huge numbers", test_huge_numbers },
		{ "numbers as jsonb prints them", test_numbers_as_jsonb_prints },
		{ "escapes refused, named by path", test_escapes_and_paths },
		{ "deeper_than", test_deeper_than },
		{ "empty input", test_empty_input },
		{ "error shape", test_error_shape },
		{ "own and reset", test_own_and_reset },
		{ "compact serialisation", test_compact },
	};
	CU_pSuite suite = CU_add_suite("json", setup, teardown);
	size_t i;

	if (suite == NULL)
		return;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
}
