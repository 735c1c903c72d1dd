/*
 * The in-memory request harness: whole requests through the pipeline with no
 * FastCGI socket. PostgreSQL points at a socket that does not exist, so any
 * request that needs the database shows the 503 path.
 */
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "app.h"
#include "core/json.h"
#include "http/pipeline.h"
#include "txn/txn.h"
#include "unit.h"

static struct pawl_config *cfg;
static struct pawl_app *app;
static struct pawl_arena *arena;

static int setup(void)
{
	app = unit_offline_app("retry_after_seconds = 7\nmax_json_depth = 8\n", &cfg);
	arena = pawl_arena_new(8192);
	return app == NULL || arena == NULL;
}

static int teardown(void)
{
	pawl_arena_free(arena);
	pawl_app_free(app);
	pawl_config_free(cfg);
	return 0;
}

struct exchange {
	struct pawl_request req;
	struct pawl_response resp;
	struct pawl_txn txn;
	json_object *json;
};

/* Runs method+uri with extra params (NULL-terminated) and an optional body. */
static void run(struct exchange *x, const char *method, const char *uri, const char *body,
    char **extra)
{
	static char m[64], u[512];
	char *params[16];
	size_t n = 0;
	struct pawl_error err;

	pawl_arena_reset(arena);
	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof(u), "REQUEST_URI=%s", uri);
	params[n++] = m;
	params[n++] = u;
	while (extra != NULL && *extra != NULL && n < 15)
		params[n++] = *extra++;
	params[n] = NULL;
	char **copy = pawl_arena_calloc(arena, n + 1, sizeof(char *));
	memcpy(copy, params, (n + 1) * sizeof(char *));
	pawl_response_init(&x->resp, arena);
	CU_ASSERT_EQUAL_FATAL(pawl_request_init(&x->req, arena, copy, &err), PAWL_OK);
	x->req.body = body;
	x->req.body_len = body ? strlen(body) : 0;
	pawl_txn_init(&x->txn, arena, &(struct pawl_txn_env){ .pg = app->pg,
	    .listeners = app->listeners, .subscribers = app->subscribers, .relay_wake_fd = -1 });
	pawl_pipeline_handle(app, &x->req, &x->resp, &x->txn);
	x->json = x->resp.body.len ? json_tokener_parse(x->resp.body.data) : NULL;
	if (x->json != NULL)
		pawl_json_own(arena, x->json);
}



static void assert_error(struct exchange *x, int status, int errno_)
{
	CU_ASSERT_EQUAL(x->resp.status, status);
	CU_ASSERT_EQUAL(unit_int_at(x->json, "code"), status);
	CU_ASSERT_EQUAL(unit_int_at(x->json, "errno"), errno_);
	CU_ASSERT_PTR_NOT_NULL(unit_str_at(x->json, "error"));
	CU_ASSERT_STRING_EQUAL(pawl_response_get_header(&x->resp, "Content-Type"), "application/json");
}

static void test_hello(void)
{
	struct exchange x;
	char *auth[] = { "HTTP_AUTHORIZATION=Basic dXNlcjpwYXNz", "HTTP_HOST=h:1", NULL };
	json_object *user, *settings;

	run(&x, "GET", "/v1/", NULL, auth + 1);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_STRING_EQUAL(unit_str_at(x.json, "project_name"), "pawl");
	CU_ASSERT_STRING_EQUAL(unit_str_at(x.json, "http_api_version"), "1.23");
	CU_ASSERT_STRING_EQUAL(unit_str_at(x.json, "url"), "http://h:1/v1/");
	CU_ASSERT_FALSE(json_object_object_get_ex(x.json, "user", NULL));
	CU_ASSERT_TRUE(json_object_object_get_ex(x.json, "settings", &settings));
	CU_ASSERT_EQUAL(unit_int_at(settings, "batch_max_requests"), 25);
	run(&x, "GET", "/v1/", NULL, auth);
	CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(x.json, "user", &user));
	CU_ASSERT_EQUAL(strncmp(unit_str_at(user, "id"), "basicauth:", 10), 0);
	CU_ASSERT_EQUAL(strlen(unit_str_at(user, "id")), 10 + 64);
	CU_ASSERT_STRING_EQUAL(pawl_response_get_header(&x.resp, "X-Content-Type-Options"), "nosniff");
}

static void test_lbheartbeat_and_version(void)
{
	struct exchange x;

	run(&x, "GET", "/v1/__lbheartbeat__", NULL, NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_STRING_EQUAL(x.resp.body.data, "{}");
	run(&x, "GET", "/v1/__version__", NULL, NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_PTR_NOT_NULL(unit_str_at(x.json, "version"));
	CU_ASSERT_PTR_NOT_NULL(unit_str_at(x.json, "commit"));
	run(&x, "HEAD", "/v1/__lbheartbeat__", NULL, NULL);
	CU_ASSERT_TRUE(x.resp.omit_body);
}

static void test_routing_errors(void)
{
	struct exchange x;

	run(&x, "GET", "/v1/unknown", NULL, NULL);
	assert_error(&x, 404, 111);
	run(&x, "GET", "/v3/", NULL, NULL);
	assert_error(&x, 404, 116);
	run(&x, "PATCH", "/v1/buckets", NULL, NULL);
	assert_error(&x, 405, 115);
	CU_ASSERT_STRING_EQUAL(pawl_response_get_header(&x.resp, "Allow"), "DELETE, GET, HEAD, POST");
	run(&x, "BREW", "/v1/", NULL, NULL);
	assert_error(&x, 405, 115);
	run(&x, "GET", "/v1/buckets/%ff", NULL, NULL);
	assert_error(&x, 400, 107);
	run(&x, "GET", "/buckets?x=1", NULL, NULL);
	CU_ASSERT_EQUAL(x.resp.status, 307);
	CU_ASSERT_STRING_EQUAL(pawl_response_get_header(&x.resp, "Location"), "/v1/buckets?x=1");
}

static void test_negotiation_errors(void)
{
	char *html[] = { "HTTP_ACCEPT=text/html", NULL };
	char *text[] = { "CONTENT_TYPE=text/plain", NULL };
	char *json[] = { "CONTENT_TYPE=application/json", NULL };
	struct exchange x;

	run(&x, "GET", "/v1/", NULL, html);
	assert_error(&x, 406, 107);
	run(&x, "POST", "/v1/buckets", "{}", text);
	assert_error(&x, 415, 107);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_str_at(x.json, "message"), "Content-Type"));
	run(&x, "POST", "/v1/buckets", "{\"data\": ", json);
	assert_error(&x, 400, 107);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit_str_at(x.json, "message"), "Invalid JSON"));
	run(&x, "PUT", "/v1/buckets/b", "[[[[[[[[[[[[]]]]]]]]]]]]", json);
	assert_error(&x, 400, 107);
	run(&x, "PUT", "/v1/buckets/b", "{\"data\":\"\xff\"}", json);
	assert_error(&x, 400, 107);
}

static void test_database_down(void)
{
	struct exchange x;

	run(&x, "GET", "/v1/buckets/b1", NULL, NULL);
	assert_error(&x, 503, 201);
	CU_ASSERT_STRING_EQUAL(pawl_response_get_header(&x.resp, "Retry-After"), "7");
	run(&x, "GET", "/v1/__heartbeat__", NULL, NULL);
	CU_ASSERT_EQUAL(x.resp.status, 503);
	CU_ASSERT_TRUE(json_object_object_get_ex(x.json, "storage", NULL));
	CU_ASSERT_FALSE(json_object_get_boolean(json_object_object_get(x.json, "storage")));
}

void test_pipeline_register(void)
{
	CU_pSuite s = CU_add_suite("pipeline", setup, teardown);

	CU_add_test(s, "hello view", test_hello);
	CU_add_test(s, "lbheartbeat and version", test_lbheartbeat_and_version);
	CU_add_test(s, "routing errors", test_routing_errors);
	CU_add_test(s, "negotiation and body errors", test_negotiation_errors);
	CU_add_test(s, "database down", test_database_down);
}
