/*
 * The batch body: Kinto's schema and messages (colander's, with Python reprs),
 * defaults merging, the limit and recursion checks, the sub-request URI and
 * params; then POST /v1/batch through the in-memory pipeline (no database:
 * a batch with work to do shows the 503 path, an empty one needs none).
 */
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "app.h"
#include "endpoints/batch.h"
#include "core/json.h"
#include "http/pipeline.h"
#include "txn/txn.h"
#include "unit.h"

static struct pawl_config *cfg;
static struct pawl_app *app;
static struct pawl_arena *arena;

static int setup(void)
{
	arena = pawl_arena_new(8192);
	app = unit_offline_app("retry_after_seconds = 7\n", &cfg);
	return arena == NULL || app == NULL;
}

static int teardown(void)
{
	pawl_arena_free(arena);
	pawl_app_free(app);
	pawl_config_free(cfg);
	return 0;
}

/* Parses text (NULL: no body) and validates it with at most max requests. */
static enum pawl_err parse(const char *text, int max, struct pawl_batch *out,
    struct pawl_error *err)
{
	json_object *doc = NULL;
	enum pawl_err rc;

	pawl_arena_reset(arena);
	pawl_error_clear(err);
	if (text != NULL) {
		rc = pawl_json_parse(arena, text, strlen(text), 32, &doc, err);
		CU_ASSERT_EQUAL_FATAL(rc, PAWL_OK);
	}
	return pawl_batch_schema_parse(arena, doc, text != NULL, max, out, err);
}

/* The error of text: its name and description, as Kinto's handler picks them. */
static void expect_error_at(const char *text, const char *name, const char *desc,
    unsigned line)
{
	struct pawl_batch b;
	struct pawl_error err;
	enum pawl_err rc = parse(text, 25, &b, &err);

	CU_assertImplementation(rc == PAWL_ERR_INVALID, line, "rc == PAWL_ERR_INVALID", __FILE__,
	    "", CU_FALSE);
	if (strcmp(err.name, name) != 0 || strcmp(err.message, desc) != 0 ||
	    err.location == NULL || strcmp(err.location, "body") != 0)
		printf("\n  line %u: got name '%s' message '%s'\n", line, err.name, err.message);
	CU_assertImplementation(strcmp(err.name, name) == 0, line, "name", __FILE__, "", CU_FALSE);
	CU_assertImplementation(strcmp(err.message, desc) == 0, line, "message", __FILE__, "",
	    CU_FALSE);
	CU_assertImplementation(err.location != NULL && strcmp(err.location, "body") == 0, line,
	    "location body", __FILE__, "", CU_FALSE);
}
#define expect_error(t, n, d) expect_error_at((t), (n), (d), __LINE__)

#define NOT_MAPPING " is not a mapping type: Does not implement dict-like functionality."

static void test_top_level(void)
{
	struct pawl_batch b;
	struct pawl_error err;

	CU_ASSERT_EQUAL(parse("{\"requests\": []}", 25, &b, &err), PAWL_OK);
	CU_ASSERT_EQUAL(b.n, 0);
	expect_error("{}", "requests", "Required");
	expect_error(NULL, "requests", "Required");
	expect_error("null", "", "Should be a JSON object or an array");
	expect_error("\"x\"", "", "Should be a JSON object or an array");
	expect_error("[1, 2]", "", "\"[1, 2]\"" NOT_MAPPING);
	expect_error("{\"requests\": [], \"unknown\": 42}", "",
	    "Unrecognized keys in mapping: \"{'unknown': 42}\"");
	expect_error("{\"requests\": {}}", "requests", "\"{}\" is not iterable");
	expect_error("{\"requests\": \"abc\"}", "requests", "\"abc\" is not iterable");
	expect_error("{\"requests\": null}", "requests", "\"None\" is not iterable");
	expect_error("{\"defaults\": {\"path\": \"/\"}, \"requests\": [42]}", "requests.0",
	    "\"42\"" NOT_MAPPING);
}

static void test_request_fields(void)
{
	struct pawl_batch b;
	struct pawl_error err;

	expect_error("{\"requests\": [{\"path\": \"http://localhost\"}]}", "requests.0.path",
	    "String does not match expected pattern");
	expect_error("{\"requests\": [{\"method\": \"HEAD\"}]}", "requests.0.path", "Required");
	expect_error("{\"requests\": [{\"path\": \"\"}]}", "requests.0.path", "Required");
	expect_error("{\"requests\": [{\"path\": 42}]}", "requests.0.path",
	    "42 is not a string: {'path': ''}");
	expect_error("{\"requests\": [{\"path\": \"/\", \"method\": \"get\"}]}", "requests.0.method",
	    "\"get\" is not one of GET, HEAD, DELETE, TRACE, POST, PUT, PATCH");
	expect_error("{\"requests\": [{\"path\": \"/\", \"method\": [1]}]}", "requests.0.method",
	    "[1] is not a string: {'method': ''}");
	expect_error("{\"requests\": [{\"path\": \"/\", \"method\": \"get\", \"foo\": 42}]}",
	    "requests.0", "Unrecognized keys in mapping: \"{'foo': 42}\"");
	expect_error("{\"requests\": [{\"path\": \"/\", \"headers\": {\"Accept\": 3.14}}]}",
	    "requests.0.headers", "{'Accept': 3.14} contains non string value");
	expect_error("{\"requests\": [{\"path\": \"/\", \"headers\": {\"Accept\": {\"sub\": \"dict\"}}}]}",
	    "requests.0.headers", "{'Accept': {'sub': 'dict'}} contains non string value");
	expect_error("{\"requests\": [{\"path\": \"/\", \"headers\": []}]}", "requests.0.headers",
	    "\"[]\"" NOT_MAPPING);
	expect_error("{\"requests\": [{\"path\": \"/\", \"body\": null}]}", "requests.0.body",
	    "\"None\"" NOT_MAPPING);
	/* Falsy methods are dropped (colander), then default to GET. */
	CU_ASSERT_EQUAL_FATAL(parse("{\"requests\": [{\"path\": \"/\", \"method\": \"\"}, "
	    "{\"path\": \"/a\", \"method\": null}, {\"path\": \"/b\", \"method\": \"DELETE\", "
	    "\"headers\": {\"Accept\": \"audio/*\"}, \"body\": {\"json\": \"payload\"}}, "
	    "{\"path\": \"/c\", \"body\": {}}]}", 25, &b, &err), PAWL_OK);
	CU_ASSERT_EQUAL_FATAL(b.n, 4);
	CU_ASSERT_STRING_EQUAL(b.requests[0].method, "GET");
	CU_ASSERT_STRING_EQUAL(b.requests[1].method, "GET");
	CU_ASSERT_STRING_EQUAL(b.requests[2].method, "DELETE");
	CU_ASSERT_STRING_EQUAL(b.requests[2].path, "/b");
	CU_ASSERT_EQUAL(b.requests[2].path_len, 2);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(
	    json_object_object_get(b.requests[2].headers, "Accept")), "audio/*");
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(b.requests[2].body,
	    JSON_C_TO_STRING_PLAIN), "{\"json\":\"payload\"}");
	CU_ASSERT_PTR_NULL(b.requests[0].headers);
	CU_ASSERT_PTR_NULL(b.requests[3].body); /* {} is no body, as Kinto's `body or ""` */
}

/* Every error is in details; the message is the one whose name sorts first. */
static void test_error_choice(void)
{
	struct pawl_batch b;
	struct pawl_error err;
	struct pawl_response resp;
	json_object *doc, *details;

	CU_ASSERT_EQUAL_FATAL(parse("{\"requests\": [{\"method\": \"get\"}]}", 25, &b, &err),
	    PAWL_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.name, "requests.0.method");
	CU_ASSERT_PTR_NOT_NULL_FATAL(err.details);
	details = json_tokener_parse(err.details);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(details), 2);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(
	    json_object_array_get_idx(details, 1), "name")), "requests.0.path");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(
	    json_object_array_get_idx(details, 1), "description")), "Required");
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(
	    json_object_array_get_idx(details, 0), "location")), "body");
	json_object_put(details);
	pawl_response_init(&resp, arena);
	pawl_response_error(&resp, &err);
	doc = json_tokener_parse(resp.body.data);
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(doc, "message")),
	    "requests.0.method in body: \"get\" is not one of GET, HEAD, DELETE, TRACE, POST, PUT, "
	    "PATCH");
	CU_ASSERT_EQUAL(json_object_get_int(json_object_object_get(doc, "errno")), 107);
	json_object_put(doc);
	/* Names sort as strings: "requests.10" before "requests.2". */
	expect_error("{\"requests\": [{\"path\": \"/\"}, {\"path\": \"/\"}, {\"path\": \"x\"}, "
	    "{\"path\": \"/\"}, {\"path\": \"/\"}, {\"path\": \"/\"}, {\"path\": \"/\"}, {\"path\": \"/\"}, "
	    "{\"path\": \"/\"}, {\"path\": \"/\"}, {\"path\": 1}]}", "requests.10.path",
	    "1 is not a string: {'path': ''}");
	/* A defaults path is merged, then fails in both places; "defaults" sorts first. */
	expect_error("{\"defaults\": {\"path\": \"http://localhost\"}, \"requests\": [{}]}",
	    "defaults.path", "String does not match expected pattern");
}

/* Python's repr, as colander prints offending values. */
static void test_python_reprs(void)
{
	expect_error("{\"requests\": [], \"x\": [1.5, true, null, \"it's\", \"a\\\"b'c\", 1e16, "
	    "1e-5, 100, 1e2, -0.0, \"\\u00e9\\n\", 1e15, 0.0001, 123456789.123, 5e-324, "
	    "0.30000000000000004, \"\\u007f\\u00a0\\u2028\"]}", "",
	    "Unrecognized keys in mapping: \"{'x': [1.5, True, None, \"it's\", 'a\"b\\'c', 1e+16, "
	    "1e-05, 100, 100.0, -0.0, '\xc3\xa9\\n', 1000000000000000.0, 0.0001, 123456789.123, "
	    "5e-324, 0.30000000000000004, '\\x7f\\xa0\\u2028']}\"");
	expect_error("{\"defaults\": 42, \"requests\": []}", "defaults", "\"42\"" NOT_MAPPING);
	expect_error("{\"defaults\": {\"body\": 3}, \"requests\": []}", "defaults.body",
	    "\"3\"" NOT_MAPPING);
	expect_error("{\"defaults\": {\"foo\": \"bar\"}, \"requests\": [{\"path\": \"/\"}]}",
	    "defaults", "Unrecognized keys in mapping: \"{'foo': 'bar'}\"");
}

static void test_defaults(void)
{
	struct pawl_batch b;
	struct pawl_error err;
	const char *body;

	CU_ASSERT_EQUAL_FATAL(parse("{\"defaults\": {\"method\": \"POST\", \"path\": \"/d\", "
	    "\"headers\": {\"Authorization\": \"you\", \"Accept\": \"*/*\"}, "
	    "\"body\": {\"data\": {\"b\": 2}, \"permissions\": {}}}, \"requests\": ["
	    "{\"path\": \"/\", \"headers\": {\"Authorization\": \"me\"}, \"body\": {\"data\": {\"a\": 1}}}, "
	    "{\"method\": \"GET\"}, {\"path\": \"/n\", \"method\": null}, {}]}", 25, &b, &err),
	    PAWL_OK);
	CU_ASSERT_EQUAL_FATAL(b.n, 4);
	CU_ASSERT_STRING_EQUAL(b.requests[0].method, "POST");
	CU_ASSERT_STRING_EQUAL(b.requests[0].path, "/");
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(b.requests[0].headers,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    "{\"Authorization\":\"me\",\"Accept\":\"*/*\"}");
	body = json_object_to_json_string_ext(b.requests[0].body, JSON_C_TO_STRING_PLAIN);
	CU_ASSERT_STRING_EQUAL(body, "{\"data\":{\"a\":1,\"b\":2},\"permissions\":{}}");
	CU_ASSERT_STRING_EQUAL(b.requests[1].method, "GET");
	CU_ASSERT_STRING_EQUAL(b.requests[1].path, "/d");
	/* A member the request has, null included, is never overridden. */
	CU_ASSERT_STRING_EQUAL(b.requests[2].method, "GET");
	CU_ASSERT_STRING_EQUAL(b.requests[3].method, "POST");
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(b.requests[3].body,
	    JSON_C_TO_STRING_PLAIN), "{\"data\":{\"b\":2},\"permissions\":{}}");
	/* The merged request is its own tree: changing it leaves the defaults alone. */
	json_object_object_add(json_object_object_get(b.requests[3].body, "data"), "c",
	    json_object_new_int(3));
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(b.requests[1].body,
	    JSON_C_TO_STRING_PLAIN), "{\"data\":{\"b\":2},\"permissions\":{}}");
	/* Defaults are validated too, and path is optional there. */
	CU_ASSERT_EQUAL(parse("{\"defaults\": {}, \"requests\": [{\"path\": \"/\"}]}", 25, &b, &err),
	    PAWL_OK);
}

static void test_limit_and_recursion(void)
{
	struct pawl_batch b;
	struct pawl_error err;
	char text[4096];
	size_t len;
	int i;

	len = (size_t)snprintf(text, sizeof(text), "{\"requests\": [");
	for (i = 0; i < 26; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s{\"path\": \"/\"}",
		    i ? "," : "");
	snprintf(text + len, sizeof(text) - len, "]}");
	CU_ASSERT_EQUAL(parse(text, 26, &b, &err), PAWL_OK);
	CU_ASSERT_EQUAL(b.n, 26);
	CU_ASSERT_EQUAL(parse(text, 25, &b, &err), PAWL_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.name, "requests");
	CU_ASSERT_STRING_EQUAL(err.message, "Number of requests is limited to 25");
	CU_ASSERT_EQUAL(parse("{\"requests\": [{\"path\": \"/\"}, {\"method\": \"POST\", "
	    "\"path\": \"/v1/batch\", \"body\": {\"requests\": []}}]}", 25, &b, &err),
	    PAWL_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.name, "requests");
	CU_ASSERT_STRING_EQUAL(err.message, "Recursive call on /batch endpoint is forbidden.");
	CU_ASSERT_EQUAL(parse("{\"requests\": [{\"path\": \"/buckets/x/batch\"}]}", 25, &b, &err),
	    PAWL_ERR_INVALID);
	CU_ASSERT_EQUAL(parse("{\"requests\": [{\"path\": \"/buckets/batches\"}]}", 25, &b, &err),
	    PAWL_ERR_INVALID); /* Kinto tests a substring: "/batches" holds "/batch" */
	CU_ASSERT_EQUAL(parse("{\"requests\": [{\"path\": \"/buckets/xbatch\"}]}", 25, &b, &err),
	    PAWL_OK);
}

static void test_uri(void)
{
	const char nul[] = "/a\0b";

	pawl_arena_reset(arena);
	CU_ASSERT_STRING_EQUAL(pawl_batch_uri(arena, "/buckets", 8), "/v1/buckets");
	CU_ASSERT_STRING_EQUAL(pawl_batch_uri(arena, "/v1/buckets", 11), "/v1/buckets");
	CU_ASSERT_STRING_EQUAL(pawl_batch_uri(arena, "/v1", 3), "/v1");
	CU_ASSERT_STRING_EQUAL(pawl_batch_uri(arena, "/", 1), "/v1/");
	CU_ASSERT_STRING_EQUAL(pawl_batch_uri(arena, "/a b?q=\xc3\xa9&r=\n", 13),
	    "/v1/a%20b?q=%C3%A9&r=%0A");
	CU_ASSERT_STRING_EQUAL(pawl_batch_uri(arena, nul, 4), "/v1/a%00b");
}

static const char *param(char **params, const char *name)
{
	size_t n = strlen(name);

	for (; params != NULL && *params != NULL; params++)
		if (strncmp(*params, name, n) == 0 && (*params)[n] == '=')
			return *params + n + 1;
	return NULL;
}

static size_t count(char **params, const char *name)
{
	size_t n = strlen(name), c = 0;

	for (; params != NULL && *params != NULL; params++)
		c += strncmp(*params, name, n) == 0 && (*params)[n] == '=';
	return c;
}

static void test_params(void)
{
	char *parent[] = { "REQUEST_METHOD=POST", "REQUEST_URI=/v1/batch", "CONTENT_LENGTH=99",
		"CONTENT_TYPE=application/json", "HTTP_AUTHORIZATION=Basic a", "HTTP_ACCEPT=*/*",
		"QUERY_STRING=", "SERVER_NAME=s", NULL };
	struct pawl_batch_request sub;
	char **p;

	pawl_arena_reset(arena);
	memset(&sub, 0, sizeof(sub));
	sub.method = "PUT";
	sub.headers = pawl_json_own(arena, json_tokener_parse("{\"authorization\": \"Basic b\", "
	    "\"X-Foo\": \"1\", \"Bad_Name\": \"x\", \"Content-Length\": \"5\", \"Sp ace\": \"y\", "
	    "\"Content-Type\": \"text/plain\"}"));
	p = pawl_batch_params(arena, parent, &sub, "/v1/buckets/b?x=1&y=2", true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL(param(p, "REQUEST_METHOD"), "PUT");
	CU_ASSERT_STRING_EQUAL(param(p, "REQUEST_URI"), "/v1/buckets/b?x=1&y=2");
	CU_ASSERT_STRING_EQUAL(param(p, "DOCUMENT_URI"), "/v1/buckets/b");
	CU_ASSERT_STRING_EQUAL(param(p, "QUERY_STRING"), "x=1&y=2");
	CU_ASSERT_STRING_EQUAL(param(p, "HTTP_AUTHORIZATION"), "Basic b");
	CU_ASSERT_EQUAL(count(p, "HTTP_AUTHORIZATION"), 1);
	CU_ASSERT_EQUAL(count(p, "REQUEST_METHOD"), 1);
	CU_ASSERT_STRING_EQUAL(param(p, "HTTP_X_FOO"), "1");
	CU_ASSERT_STRING_EQUAL(param(p, "HTTP_ACCEPT"), "*/*");
	CU_ASSERT_STRING_EQUAL(param(p, "SERVER_NAME"), "s");
	CU_ASSERT_PTR_NULL(param(p, "HTTP_BAD_NAME"));
	CU_ASSERT_PTR_NULL(param(p, "HTTP_SP ACE"));
	CU_ASSERT_PTR_NULL(param(p, "CONTENT_LENGTH"));
	CU_ASSERT_PTR_NULL(param(p, "HTTP_CONTENT_LENGTH"));
	/* A body is JSON, whatever the headers said (Kinto's build_request). */
	CU_ASSERT_STRING_EQUAL(param(p, "CONTENT_TYPE"), "application/json; charset=utf-8");
	/* Without a body the sub-request's own Content-Type stands. */
	p = pawl_batch_params(arena, parent, &sub, "/v1/", false);
	CU_ASSERT_STRING_EQUAL(param(p, "CONTENT_TYPE"), "text/plain");
	CU_ASSERT_STRING_EQUAL(param(p, "QUERY_STRING"), "");
	CU_ASSERT_STRING_EQUAL(param(p, "REQUEST_URI"), "/v1/");
	/* The parent's params are untouched. */
	CU_ASSERT_STRING_EQUAL(parent[1], "REQUEST_URI=/v1/batch");
	CU_ASSERT_STRING_EQUAL(parent[2], "CONTENT_LENGTH=99");
}

struct exchange {
	struct pawl_request req;
	struct pawl_response resp;
	struct pawl_txn txn;
	json_object *json;
};

static void run(struct exchange *x, const char *method, const char *body, const char *ctype)
{
	static char m[64], ct[128];
	char *params[] = { m, "REQUEST_URI=/v1/batch", ct, NULL };
	struct pawl_error err;

	pawl_arena_reset(arena);
	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(ct, sizeof(ct), "CONTENT_TYPE=%s", ctype);
	pawl_response_init(&x->resp, arena);
	CU_ASSERT_EQUAL_FATAL(pawl_request_init(&x->req, arena, params, &err), PAWL_OK);
	x->req.body = body;
	x->req.body_len = body ? strlen(body) : 0;
	pawl_txn_init(&x->txn, arena, &(struct pawl_txn_env){ .pg = app->pg,
	    .listeners = app->listeners, .subscribers = app->subscribers, .relay_wake_fd = -1 });
	pawl_pipeline_handle(app, &x->req, &x->resp, &x->txn);
	x->json = x->resp.body.len ? pawl_json_own(arena, json_tokener_parse(x->resp.body.data))
	    : NULL;
}


static void test_pipeline(void)
{
	struct exchange x;
	json_object *v;

	run(&x, "POST", "{\"requests\": []}", "application/json");
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_STRING_EQUAL(x.resp.body.data, "{\"responses\":[]}");
	CU_ASSERT_STRING_EQUAL(pawl_response_get_header(&x.resp, "Content-Type"), "application/json");
	CU_ASSERT_FALSE(pawl_txn_active(&x.txn));
	CU_ASSERT_FALSE(pawl_txn_has_events(&x.txn));
	run(&x, "POST", "{\"requests\": [{\"method\": \"get\", \"path\": \"/\"}]}",
	    "application/json");
	CU_ASSERT_EQUAL(x.resp.status, 400);
	CU_ASSERT_EQUAL(unit_int_at(x.json, "errno"), 107);
	CU_ASSERT_TRUE(json_object_object_get_ex(x.json, "message", &v) &&
	    strcmp(json_object_get_string(v), "requests.0.method in body: \"get\" is not one of "
	    "GET, HEAD, DELETE, TRACE, POST, PUT, PATCH") == 0);
	CU_ASSERT_TRUE(json_object_object_get_ex(x.json, "details", &v) &&
	    json_object_array_length(v) == 1);
	run(&x, "POST", "{\"requests\": []}", "text/plain");
	CU_ASSERT_EQUAL(x.resp.status, 415);
	run(&x, "GET", NULL, "application/json");
	CU_ASSERT_EQUAL(x.resp.status, 405);
	CU_ASSERT_STRING_EQUAL(pawl_response_get_header(&x.resp, "Allow"), "POST");
	/* Work to do needs the database, which is down here: the batch answers 503. */
	run(&x, "POST", "{\"requests\": [{\"path\": \"/\"}]}", "application/json");
	CU_ASSERT_EQUAL(x.resp.status, 503);
	CU_ASSERT_EQUAL(unit_int_at(x.json, "errno"), 201);
	CU_ASSERT_STRING_EQUAL(pawl_response_get_header(&x.resp, "Retry-After"), "7");
}

void test_batch_register(void)
{
	CU_pSuite s = CU_add_suite("batch", setup, teardown);

	CU_add_test(s, "top-level schema", test_top_level);
	CU_add_test(s, "request fields", test_request_fields);
	CU_add_test(s, "the error Kinto reports", test_error_choice);
	CU_add_test(s, "Python reprs in messages", test_python_reprs);
	CU_add_test(s, "defaults merging", test_defaults);
	CU_add_test(s, "limit and recursion", test_limit_and_recursion);
	CU_add_test(s, "sub-request URI", test_uri);
	CU_add_test(s, "sub-request params", test_params);
	CU_add_test(s, "POST /v1/batch in the pipeline", test_pipeline);
}
