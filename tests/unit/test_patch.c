/* PATCH: shallow merge, RFC 7396 (its appendix table), RFC 6902 (its appendix A). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include "core/json.h"
#include "core/json_patch.h"
#include "unit.h"

#define F "JSON Patch operation failed: "

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

/* Parses test JSON into the arena; NULL is also the document `null`. */
static json_object *J(const char *text)
{
	json_object *v = NULL;
	struct pawl_error e;

	CU_ASSERT_EQUAL(pawl_json_parse(arena, text, strlen(text), 64, &v, &e), PAWL_OK);
	return v;
}

static bool same(json_object *a, const char *text)
{
	return json_object_equal(a, J(text)) != 0;
}

static void test_shallow(void)
{
	json_object *t = J("{\"a\":1,\"b\":{\"x\":1},\"c\":2}");

	pawl_patch_shallow(t, J("{\"b\":{\"y\":2},\"c\":null,\"d\":[1]}"));
	CU_ASSERT_TRUE(same(t, "{\"a\":1,\"b\":{\"y\":2},\"c\":null,\"d\":[1]}"));
	pawl_patch_shallow(t, J("[1]"));
	pawl_patch_shallow(t, NULL);
	pawl_patch_shallow(t, t);
	CU_ASSERT_TRUE(same(t, "{\"a\":1,\"b\":{\"y\":2},\"c\":null,\"d\":[1]}"));
	t = J("[1]");
	pawl_patch_shallow(t, J("{\"a\":1}"));
	CU_ASSERT_TRUE(same(t, "[1]"));
}

/* RFC 7396 Appendix A, every row. */
static const struct {
	const char *original, *patch, *result;
} merge_rows[] = {
	{ "{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
	{ "{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}" },
	{ "{\"a\":\"b\"}", "{\"a\":null}", "{}" },
	{ "{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}" },
	{ "{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}" },
	{ "{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}" },
	{ "{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}" },
	{ "{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}" },
	{ "[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]" },
	{ "{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]" },
	{ "{\"a\":\"foo\"}", "null", "null" },
	{ "{\"a\":\"foo\"}", "\"bar\"", "\"bar\"" },
	{ "{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}" },
	{ "[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}" },
	{ "{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}" },
};

static void test_merge_rfc7396(void)
{
	size_t i;

	for (i = 0; i < sizeof(merge_rows) / sizeof(merge_rows[0]); i++) {
		json_object *r = pawl_patch_merge(J(merge_rows[i].original),
		    J(merge_rows[i].patch));

		CU_ASSERT_TRUE(same(r, merge_rows[i].result));
	}
}

static void test_merge_in_place(void)
{
	json_object *t = J("{\"a\":{\"x\":1,\"y\":2},\"b\":3}");
	json_object *p = J("{\"a\":{\"y\":null,\"z\":[0]},\"c\":{\"d\":{\"e\":null}}}");
	json_object *r = pawl_patch_merge(t, p);

	/* The result is borrowed: target itself, or patch itself. */
	CU_ASSERT_PTR_EQUAL(r, t);
	CU_ASSERT_TRUE(same(t, "{\"a\":{\"x\":1,\"z\":[0]},\"b\":3,\"c\":{\"d\":{}}}"));
	CU_ASSERT_TRUE(same(p, "{\"a\":{\"y\":null,\"z\":[0]},\"c\":{\"d\":{\"e\":null}}}"));
	r = pawl_patch_merge(t, t);
	CU_ASSERT_PTR_EQUAL(r, t);
	CU_ASSERT_TRUE(same(r, "{\"a\":{\"x\":1,\"z\":[0]},\"b\":3,\"c\":{\"d\":{}}}"));
	p = J("[1]");
	CU_ASSERT_PTR_EQUAL(pawl_patch_merge(t, p), p);
	p = J("{\"k\":{\"n\":null,\"m\":[null]},\"n\":null}");
	CU_ASSERT_PTR_EQUAL(pawl_patch_merge(J("7"), p), p);
	CU_ASSERT_TRUE(same(p, "{\"k\":{\"m\":[null]}}"));
	r = pawl_patch_merge(J("{\"n\":null,\"k\":1}"), J("{\"n\":null}"));
	CU_ASSERT_TRUE(same(r, "{\"k\":1}"));
}

/* Applies ops to doc; on success checks the result, on failure the message. */
static void check_patch(const char *doc, const char *ops, const char *want)
{
	json_object *d = J(doc);

	pawl_error_clear(&err);
	CU_ASSERT_EQUAL(pawl_patch_json(d, J(ops), &err), PAWL_OK);
	CU_ASSERT_TRUE(same(d, want));
}

static void check_fail(const char *doc, const char *ops, const char *message)
{
	json_object *d = J(doc);

	pawl_error_clear(&err);
	CU_ASSERT_EQUAL(pawl_patch_json(d, J(ops), &err), PAWL_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, message);
	CU_ASSERT_STRING_EQUAL(err.location ? err.location : "", "body");
	CU_ASSERT_EQUAL(pawl_err_errno(err.code), 107);
	CU_ASSERT_EQUAL(pawl_err_status(err.code), 400);
}

static void test_rfc6902_examples(void)
{
	/* A.1 - A.7 */
	check_patch("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
	    "{\"baz\":\"qux\",\"foo\":\"bar\"}");
	check_patch("{\"foo\":[\"bar\",\"baz\"]}",
	    "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
	    "{\"foo\":[\"bar\",\"qux\",\"baz\"]}");
	check_patch("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
	    "{\"foo\":\"bar\"}");
	check_patch("{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
	    "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]", "{\"foo\":[\"bar\",\"baz\"]}");
	check_patch("{\"baz\":\"qux\",\"foo\":\"bar\"}",
	    "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
	    "{\"baz\":\"boo\",\"foo\":\"bar\"}");
	check_patch("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
	    "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
	    "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}");
	check_patch("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
	    "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
	    "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}");
	/* A.8 - A.10 */
	check_patch("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
	    "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
	    "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
	    "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}");
	check_fail("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
	    F "test failed at '/baz' (operation 0)");
	check_patch("{\"foo\":\"bar\"}",
	    "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
	    "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}");
	/* A.11 - A.12 */
	check_patch("{\"foo\":\"bar\"}",
	    "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":123}]",
	    "{\"foo\":\"bar\",\"baz\":\"qux\"}");
	check_fail("{\"foo\":\"bar\"}",
	    "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
	    F "parent of '/baz/bat' does not exist (operation 0)");
	/* A.14 - A.16 */
	check_patch("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
	    "{\"/\":9,\"~1\":10}");
	check_fail("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]",
	    F "test failed at '/~01' (operation 0)");
	check_patch("{\"foo\":[\"bar\"]}",
	    "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
	    "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}");
	check_patch("{\"a/b\":1}", "[{\"op\":\"remove\",\"path\":\"/a~1b\"}]", "{}");
}

static void test_more_ops(void)
{
	json_object *d = J("{\"a\":{\"x\":[1]}}");

	CU_ASSERT_EQUAL(pawl_patch_json(d, J("[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"}]"),
	    &err), PAWL_OK);
	/* A copy is deep: changing it leaves the original alone. */
	CU_ASSERT_EQUAL(pawl_patch_json(d, J("[{\"op\":\"add\",\"path\":\"/b/x/0\",\"value\":0}]"),
	    &err), PAWL_OK);
	CU_ASSERT_TRUE(same(d, "{\"a\":{\"x\":[1]},\"b\":{\"x\":[0,1]}}"));
	check_patch("{\"a\":[1,2,3,4]}", "[{\"op\":\"add\",\"path\":\"/a/0\",\"value\":0}]",
	    "{\"a\":[0,1,2,3,4]}");
	check_patch("{\"a\":[1,2,3,4]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":0}]",
	    "{\"a\":[1,2,0,3,4]}");
	check_patch("{\"a\":[1,2,3]}", "[{\"op\":\"add\",\"path\":\"/a/0\",\"value\":0},"
	    "{\"op\":\"add\",\"path\":\"/a/4\",\"value\":4},{\"op\":\"replace\",\"path\":\"/a/1\","
	    "\"value\":null},{\"op\":\"copy\",\"from\":\"/a/1\",\"path\":\"/n\"}]",
	    "{\"a\":[0,null,2,3,4],\"n\":null}");
	check_patch("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]",
	    "{\"a\":1}");
	check_patch("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a/b\",\"path\":\"/a\"}]",
	    "{\"a\":1}");
	check_patch("{\"a\":1,\"\":{}}", "[{\"op\":\"add\",\"path\":\"/\",\"value\":{\"k\":2}},"
	    "{\"op\":\"add\",\"path\":\"//x\",\"value\":3}]", "{\"a\":1,\"\":{\"k\":2,\"x\":3}}");
	check_patch("{\"a\":null}", "[{\"op\":\"test\",\"path\":\"/a\",\"value\":null}]",
	    "{\"a\":null}");
	check_patch("{\"a\":1}", "[]", "{\"a\":1}");
	/* Kinto: a principal's permission entry is {p: p}, its value implied. */
	check_patch("{\"data\":{},\"permissions\":{\"read\":{}}}",
	    "[{\"op\":\"add\",\"path\":\"/permissions/read/account:alice\"},"
	    "{\"op\":\"test\",\"path\":\"/permissions/read/account:alice\"},"
	    "{\"op\":\"add\",\"path\":\"/permissions/read/bob\",\"value\":\"other\"}]",
	    "{\"data\":{},\"permissions\":{\"read\":{\"account:alice\":\"account:alice\","
	    "\"bob\":\"bob\"}}}");
	check_patch("{\"permissions\":{\"write\":{\"a\":\"a\"}}}",
	    "[{\"op\":\"remove\",\"path\":\"/permissions/write/a\"}]",
	    "{\"permissions\":{\"write\":{}}}");
}

static void test_failures(void)
{
	check_fail("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]",
	    F "path '/b' does not exist (operation 0)");
	check_fail("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":1}]",
	    F "path '/b' does not exist (operation 0)");
	check_fail("{\"a\":1}", "[{\"op\":\"test\",\"path\":\"/b\",\"value\":1}]",
	    F "path '/b' does not exist (operation 0)");
	check_fail("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/b\",\"path\":\"/c\"}]",
	    F "path '/b' does not exist (operation 0)");
	check_fail("{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/b\",\"path\":\"/c\"}]",
	    F "path '/b' does not exist (operation 0)");
	check_fail("{\"a\":{\"b\":1}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b/c\"}]",
	    F "cannot move '/a' into one of its children (operation 0)");
	check_fail("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":0}]",
	    F "cannot add at '/a/01' (operation 0)");
	check_fail("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":0}]",
	    F "cannot add at '/a/2' (operation 0)");
	check_fail("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/1\"}]",
	    F "path '/a/1' does not exist (operation 0)");
	check_fail("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/-\"}]",
	    F "path '/a/-' does not exist (operation 0)");
	check_fail("{\"a\":[1]}", "[{\"op\":\"replace\",\"path\":\"/a/x\",\"value\":0}]",
	    F "path '/a/x' does not exist (operation 0)");
	check_fail("{\"a\":\"s\"}", "[{\"op\":\"add\",\"path\":\"/a/b\",\"value\":0}]",
	    F "cannot add at '/a/b' (operation 0)");
	check_fail("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a/b/c\",\"value\":0}]",
	    F "parent of '/a/b/c' does not exist (operation 0)");
	check_fail("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/b\",\"value\":1},"
	    "{\"op\":\"remove\",\"path\":\"/zz\"}]",
	    F "path '/zz' does not exist (operation 1)");
}

static void test_invalid_ops(void)
{
	json_object *d = J("{\"a\":1}");
	char *many;
	size_t i, o;

	check_fail("{}", "{\"op\":\"add\"}",
	    F "the patch must be an array of operations");
	check_fail("[]", "[]", F "the document is not an object");
	check_fail("{}", "[1]",
	    F "an operation must be an object (operation 0)");
	check_fail("{}", "[{\"path\":\"/a\"}]", F "missing 'op' (operation 0)");
	check_fail("{}", "[{\"op\":\"ADD\",\"path\":\"/a\"}]",
	    F "unknown op 'ADD' (operation 0)");
	check_fail("{}", "[{\"op\":\"add\",\"path\":\"/a\"}]",
	    F "missing 'value' (operation 0)");
	check_fail("{}", "[{\"op\":\"replace\",\"path\":\"/a\"}]",
	    F "missing 'value' (operation 0)");
	check_fail("{}", "[{\"op\":\"test\",\"path\":\"/a\"}]",
	    F "missing 'value' (operation 0)");
	check_fail("{}", "[{\"op\":\"add\",\"value\":1}]",
	    F "'path' must be a JSON Pointer starting with '/' (operation 0)");
	check_fail("{}", "[{\"op\":\"add\",\"path\":1,\"value\":1}]",
	    F "'path' must be a JSON Pointer starting with '/' (operation 0)");
	check_fail("{}", "[{\"op\":\"add\",\"path\":\"\",\"value\":1}]",
	    F "'path' must be a JSON Pointer starting with '/' (operation 0)");
	check_fail("{}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]",
	    F "'path' must be a JSON Pointer starting with '/' (operation 0)");
	check_fail("{}", "[{\"op\":\"add\",\"path\":\"/a~2\",\"value\":1}]",
	    F "'path' must be a JSON Pointer starting with '/' (operation 0)");
	check_fail("{}", "[{\"op\":\"add\",\"path\":\"/a~\",\"value\":1}]",
	    F "'path' must be a JSON Pointer starting with '/' (operation 0)");
	check_fail("{}", "[{\"op\":\"move\",\"path\":\"/a\"}]",
	    F "'from' must be a JSON Pointer starting with '/' (operation 0)");
	check_fail("{}", "[{\"op\":\"copy\",\"path\":\"/a\",\"from\":\"x\"}]",
	    F "'from' must be a JSON Pointer starting with '/' (operation 0)");
	/* Every operation is checked before the first one runs. */
	pawl_error_clear(&err);
	CU_ASSERT_EQUAL(pawl_patch_json(d, J("[{\"op\":\"add\",\"path\":\"/b\",\"value\":2},"
	    "{\"op\":\"nope\",\"path\":\"/c\"}]"), &err), PAWL_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, F "unknown op 'nope' (operation 1)");
	CU_ASSERT_TRUE(same(d, "{\"a\":1}"));
	/* At most 1000 operations. */
	many = pawl_arena_alloc(arena, 1002 * 40);
	CU_ASSERT_PTR_NOT_NULL_FATAL(many);
	for (i = 0, o = 0; i < 1001; i++)
		o += (size_t)sprintf(many + o, "%s{\"op\":\"test\",\"path\":\"/a\",\"value\":1}",
		    i ? "," : "[");
	strcpy(many + o, "]");
	check_fail("{\"a\":1}", many, F "too many operations (at most 1000)");
	many[o - strlen(",{\"op\":\"test\",\"path\":\"/a\",\"value\":1}")] = '\0';
	strcat(many, "]");
	check_patch("{\"a\":1}", many, "{\"a\":1}");
}

void test_patch_register(void)
{
	CU_pSuite s = CU_add_suite("patch", setup, teardown);

	CU_add_test(s, "shallow merge", test_shallow);
	CU_add_test(s, "RFC 7396 appendix", test_merge_rfc7396);
	CU_add_test(s, "merge in place", test_merge_in_place);
	CU_add_test(s, "RFC 6902 appendix A", test_rfc6902_examples);
	CU_add_test(s, "copy, move, arrays, permissions", test_more_ops);
	CU_add_test(s, "failing operations", test_failures);
	CU_add_test(s, "invalid operations", test_invalid_ops);
}
