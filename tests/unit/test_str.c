/* Unit tests for app/core/str.c: buffers, JSON escaping, URL coding, UTF-8, integers. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "core/str.h"
#include "unit.h"

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

/* JSON-escapes s (len bytes) and compares with want. */
static void check_json(const char *s, size_t len, const char *want)
{
	struct pawl_buf b;

	pawl_buf_init(&b, arena);
	pawl_buf_json_string(&b, s, len);
	CU_ASSERT_FALSE(b.failed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b.data);
	CU_ASSERT_STRING_EQUAL(b.data, want);
	CU_ASSERT_EQUAL(b.len, strlen(want));
}

#define JSON(lit, want) check_json(lit, sizeof(lit) - 1, want)

static void test_buf_basics(void)
{
	struct pawl_buf b;

	pawl_buf_init(&b, arena);
	CU_ASSERT_PTR_NULL(b.data);
	CU_ASSERT_EQUAL(b.len, 0);
	pawl_buf_puts(&b, "abc");
	pawl_buf_putc(&b, '-');
	pawl_buf_append(&b, "xyz123", 3);
	pawl_buf_append(&b, "ignored", 0);
	pawl_buf_puts(&b, NULL);
	CU_ASSERT_STRING_EQUAL(b.data, "abc-xyz");
	CU_ASSERT_EQUAL(b.len, 7);
	CU_ASSERT(b.cap > b.len);
	CU_ASSERT_FALSE(b.failed);
	pawl_buf_append(&b, "a\0b", 3); /* embedded NUL kept, still terminated */
	CU_ASSERT_EQUAL(b.len, 10);
	CU_ASSERT_EQUAL(memcmp(b.data + 7, "a\0b", 4), 0);
}

static void test_buf_empty_append_terminates(void)
{
	struct pawl_buf b;

	pawl_buf_init(&b, arena);
	pawl_buf_append(&b, "", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b.data);
	CU_ASSERT_STRING_EQUAL(b.data, "");
}

static void test_buf_growth(void)
{
	struct pawl_buf b;
	size_t i;
	int ok = 1;

	pawl_buf_init(&b, arena);
	for (i = 0; i < 10000; i++)
		pawl_buf_putc(&b, (char)('a' + i % 26));
	CU_ASSERT_FALSE(b.failed);
	CU_ASSERT_EQUAL_FATAL(b.len, 10000);
	CU_ASSERT_EQUAL(strlen(b.data), 10000);
	for (i = 0; i < 10000; i++)
		ok &= b.data[i] == (char)('a' + i % 26);
	CU_ASSERT(ok);
}

static void test_buf_printf(void)
{
	struct pawl_buf b;
	size_t i;

	pawl_buf_init(&b, arena);
	pawl_buf_printf(&b, "%d-%s", 42, "x");
	pawl_buf_printf(&b, "%s", "");
	pawl_buf_printf(&b, "|%05u", 7u);
	CU_ASSERT_STRING_EQUAL(b.data, "42-x|00007");
	CU_ASSERT_EQUAL(b.len, 10);
	pawl_buf_printf(&b, "%3000s", "end"); /* forces a grow and a second pass */
	CU_ASSERT_EQUAL_FATAL(b.len, 3010);
	CU_ASSERT_EQUAL(strlen(b.data), 3010);
	CU_ASSERT_STRING_EQUAL(b.data + 3007, "end");
	CU_ASSERT_EQUAL(memcmp(b.data, "42-x|00007", 10), 0);
	for (i = 10; i < 3007; i++)
		if (b.data[i] != ' ')
			break;
	CU_ASSERT_EQUAL(i, 3007);
}

static void test_buf_failed_sticks(void)
{
	struct pawl_buf b;

	pawl_buf_init(&b, arena);
	pawl_buf_puts(&b, "ok");
	pawl_buf_append(&b, "x", SIZE_MAX); /* cannot fit: marks the buffer failed */
	CU_ASSERT_TRUE(b.failed);
	pawl_buf_puts(&b, "more");
	pawl_buf_printf(&b, "%d", 1);
	CU_ASSERT_STRING_EQUAL(b.data, "ok");
	CU_ASSERT_EQUAL(b.len, 2);
}

static void test_json_string_plain(void)
{
	JSON("", "\"\"");
	JSON("hello", "\"hello\"");
	JSON("a/b", "\"a/b\"");
	JSON("say \"hi\"", "\"say \\\"hi\\\"\"");
	JSON("back\\slash", "\"back\\\\slash\"");
}

static void test_json_string_controls(void)
{
	JSON("a\nb", "\"a\\u000ab\"");
	JSON("\t\r\b\f", "\"\\u0009\\u000d\\u0008\\u000c\"");
	JSON("\x01\x1f", "\"\\u0001\\u001f\"");
	JSON("a\0b", "\"a\\u0000b\"");
	JSON("\x7f", "\"\x7f\""); /* DEL needs no escape in JSON */
}

static void test_json_string_utf8(void)
{
	JSON("caf\xc3\xa9", "\"caf\xc3\xa9\"");
	JSON("\xe2\x82\xac \xf0\x9f\x98\x80", "\"\xe2\x82\xac \xf0\x9f\x98\x80\"");
	JSON("\xe2\x80\xa8", "\"\xe2\x80\xa8\"");
	/* Invalid bytes become U+FFFD so the output is always valid UTF-8. */
	JSON("a\xffz", "\"a\xef\xbf\xbdz\"");
	JSON("\xc3", "\"\xef\xbf\xbd\"");
	JSON("\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	JSON("\xc0\xaf\"", "\"\xef\xbf\xbd\xef\xbf\xbd\\\"\"");
}

static void test_json_string_len_bound(void)
{
	check_json("abcdef", 3, "\"abc\"");
}

static void check_enc(const char *s, bool keep_slash, const char *want)
{
	struct pawl_buf b;

	pawl_buf_init(&b, arena);
	pawl_buf_urlencode(&b, s, strlen(s), keep_slash);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b.data);
	CU_ASSERT_STRING_EQUAL(b.data, want);
}

static void test_urlencode(void)
{
	check_enc("", false, "");
	check_enc("AZaz09-._~", false, "AZaz09-._~");
	check_enc("a b+c&d=e", false, "a%20b%2Bc%26d%3De");
	check_enc("/buckets/b 1", true, "/buckets/b%201");
	check_enc("/buckets/b", false, "%2Fbuckets%2Fb");
	check_enc("caf\xc3\xa9?#%", false, "caf%C3%A9%3F%23%25");
	check_enc("\x01\x7f\xff", false, "%01%7F%FF");
}

static void test_urldecode(void)
{
	size_t n = 99;
	char *s;

	s = pawl_str_urldecode(arena, "a%20b%2fc%2Fd", 13, false, &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "a b/c/d");
	CU_ASSERT_EQUAL(n, 7);
	s = pawl_str_urldecode(arena, "a+b%2B", 6, false, &n);
	CU_ASSERT_STRING_EQUAL(s, "a+b+");
	s = pawl_str_urldecode(arena, "a+b%2B", 6, true, &n);
	CU_ASSERT_STRING_EQUAL(s, "a b+");
	s = pawl_str_urldecode(arena, "", 0, true, &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s, "");
	CU_ASSERT_EQUAL(n, 0);
	s = pawl_str_urldecode(arena, "caf%C3%A9xyz", 9, false, NULL);
	CU_ASSERT_STRING_EQUAL(s, "caf\xc3\xa9");
}

static void test_urldecode_rejects(void)
{
	size_t n;

	CU_ASSERT_PTR_NULL(pawl_str_urldecode(arena, "%", 1, false, &n));
	CU_ASSERT_PTR_NULL(pawl_str_urldecode(arena, "a%2", 3, false, &n));
	CU_ASSERT_PTR_NULL(pawl_str_urldecode(arena, "%zz", 3, false, &n));
	CU_ASSERT_PTR_NULL(pawl_str_urldecode(arena, "%g0", 3, false, &n));
	CU_ASSERT_PTR_NULL(pawl_str_urldecode(arena, "a%00b", 5, false, &n));
	CU_ASSERT_PTR_NULL(pawl_str_urldecode(arena, "a\0b", 3, false, &n));
	/* The length bounds the input: a '%' cut off by len is a bad escape. */
	CU_ASSERT_PTR_NULL(pawl_str_urldecode(arena, "a%20", 3, false, &n));
}

static void test_utf8_valid(void)
{
	static const char *const ok[] = {
		"", "ascii", "caf\xc3\xa9", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80",
		"\xef\xbf\xbf", "\xed\x9f\xbf", "\xee\x80\x80", "\xf0\x90\x80\x80",
		"\xf4\x8f\xbf\xbf", "\xf0\x9f\x98\x80",
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CU_ASSERT_TRUE(pawl_str_utf8_valid(ok[i], strlen(ok[i])));
	CU_ASSERT_TRUE(pawl_str_utf8_valid("a\0b", 3)); /* U+0000 is well-formed */
	CU_ASSERT_TRUE(pawl_str_utf8_valid(NULL, 0));
	CU_ASSERT_TRUE(pawl_str_utf8_valid("\xc3\xa9\xff", 2)); /* length bounds the check */
}

static void test_utf8_invalid(void)
{
	static const char *const bad[] = {
		"\x80",             /* lone continuation */
		"\xbf",
		"\xc0\x80",         /* overlong NUL */
		"\xc1\xbf",         /* overlong */
		"\xe0\x80\x80",     /* overlong 3-byte */
		"\xe0\x9f\xbf",     /* overlong 3-byte, top */
		"\xf0\x80\x80\x80", /* overlong 4-byte */
		"\xf0\x8f\xbf\xbf",
		"\xed\xa0\x80",     /* U+D800 */
		"\xed\xbf\xbf",     /* U+DFFF */
		"\xf4\x90\x80\x80", /* U+110000 */
		"\xf5\x80\x80\x80",
		"\xf8\x88\x80\x80\x80",
		"\xfe", "\xff",
		"\xc3",             /* truncated */
		"\xe2\x82",
		"\xf0\x9f\x98",
		"\xc3\x28",         /* bad continuation */
		"\xe2\x28\xa1",
		"\xf0\x9f\x28\x80",
		"ok\xc3",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_FALSE(pawl_str_utf8_valid(bad[i], strlen(bad[i])));
}

static void test_ieq_iprefix(void)
{
	CU_ASSERT_TRUE(pawl_str_ieq("Basic", "bASIC"));
	CU_ASSERT_TRUE(pawl_str_ieq("", ""));
	CU_ASSERT_FALSE(pawl_str_ieq("abc", "abcd"));
	CU_ASSERT_FALSE(pawl_str_ieq("abcd", "abc"));
	CU_ASSERT_FALSE(pawl_str_ieq("a", NULL));
	CU_ASSERT_FALSE(pawl_str_ieq(NULL, "a"));
	CU_ASSERT_TRUE(pawl_str_ieq(NULL, NULL));
	CU_ASSERT_FALSE(pawl_str_ieq("\xc3\xa9", "\xc3\x89")); /* ASCII only */
	CU_ASSERT_FALSE(pawl_str_ieq("@", "`"));
	CU_ASSERT_TRUE(pawl_str_iprefix("Content-Type", "content-"));
	CU_ASSERT_TRUE(pawl_str_iprefix("abc", ""));
	CU_ASSERT_TRUE(pawl_str_iprefix("abc", "ABC"));
	CU_ASSERT_FALSE(pawl_str_iprefix("ab", "abc"));
	CU_ASSERT_FALSE(pawl_str_iprefix("xbc", "a"));
	CU_ASSERT_FALSE(pawl_str_iprefix(NULL, "a"));
	CU_ASSERT_FALSE(pawl_str_iprefix("a", NULL));
}

static void test_to_ll_accepts(void)
{
	long long v = -1;

	CU_ASSERT_TRUE(pawl_str_to_ll("0", 0, 10, &v));
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_TRUE(pawl_str_to_ll("-0", -5, 5, &v));
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_TRUE(pawl_str_to_ll("42", 0, 100, &v));
	CU_ASSERT_EQUAL(v, 42);
	CU_ASSERT_TRUE(pawl_str_to_ll("-17", -100, 100, &v));
	CU_ASSERT_EQUAL(v, -17);
	CU_ASSERT_TRUE(pawl_str_to_ll("007", 0, 100, &v));
	CU_ASSERT_EQUAL(v, 7);
	CU_ASSERT_TRUE(pawl_str_to_ll("9223372036854775807", LLONG_MIN, LLONG_MAX, &v));
	CU_ASSERT_EQUAL(v, LLONG_MAX);
	CU_ASSERT_TRUE(pawl_str_to_ll("-9223372036854775808", LLONG_MIN, LLONG_MAX, &v));
	CU_ASSERT_EQUAL(v, LLONG_MIN);
	CU_ASSERT_TRUE(pawl_str_to_ll("100", 0, 100, &v)); /* bounds inclusive */
	CU_ASSERT_EQUAL(v, 100);
}

static void test_to_ll_rejects(void)
{
	static const char *const bad[] = {
		"", "-", "+1", " 1", "1 ", "1a", "0x10", "1.0", "1e3", "--1", "\xd9\xa1",
		"9223372036854775808", "-9223372036854775809", "99999999999999999999999",
	};
	long long v = 12345;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_FALSE(pawl_str_to_ll(bad[i], LLONG_MIN, LLONG_MAX, &v));
	CU_ASSERT_EQUAL(v, 12345); /* untouched on failure */
	CU_ASSERT_FALSE(pawl_str_to_ll("101", 0, 100, &v));
	CU_ASSERT_FALSE(pawl_str_to_ll("-1", 0, 100, &v));
	CU_ASSERT_FALSE(pawl_str_to_ll(NULL, 0, 100, &v));
	CU_ASSERT_EQUAL(v, 12345);
}

static void test_has_ctl(void)
{
	CU_ASSERT_FALSE(pawl_str_has_ctl("plain text ~"));
	CU_ASSERT_FALSE(pawl_str_has_ctl(""));
	CU_ASSERT_FALSE(pawl_str_has_ctl(NULL));
	CU_ASSERT_FALSE(pawl_str_has_ctl("caf\xc3\xa9"));
	CU_ASSERT_TRUE(pawl_str_has_ctl("a\nb"));
	CU_ASSERT_TRUE(pawl_str_has_ctl("a\rb"));
	CU_ASSERT_TRUE(pawl_str_has_ctl("\t"));
	CU_ASSERT_TRUE(pawl_str_has_ctl("x\x1f"));
	CU_ASSERT_TRUE(pawl_str_has_ctl("del\x7f"));
}

void test_str_register(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "buf append/puts/putc", test_buf_basics },
		{ "buf empty append terminates", test_buf_empty_append_terminates },
		{ "buf growth", test_buf_growth },
		{ "buf printf", test_buf_printf },
		{ "buf failure is sticky", test_buf_failed_sticks },
		{ "json string: plain and quotes", test_json_string_plain },
		{ "json string: control chars", test_json_string_controls },
		{ "json string: UTF-8", test_json_string_utf8 },
		{ "json string: length bound", test_json_string_len_bound },
		{ "urlencode", test_urlencode },
		{ "urldecode", test_urldecode },
		{ "urldecode rejects", test_urldecode_rejects },
		{ "utf8 valid", test_utf8_valid },
		{ "utf8 invalid", test_utf8_invalid },
		{ "ieq and iprefix", test_ieq_iprefix },
		{ "to_ll accepts", test_to_ll_accepts },
		{ "to_ll rejects", test_to_ll_rejects },
		{ "has_ctl", test_has_ctl },
	};
	CU_pSuite suite = CU_add_suite("str", setup, teardown);
	size_t i;

	if (suite == NULL)
		return;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
}
