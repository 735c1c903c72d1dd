/*
 * The response's sticky failure: the first header refused (a control
 * character, no memory) is kept on the response, later headers change
 * nothing, and the pipeline answers the failed response with Kinto's JSON
 * error instead of a half-built one.
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
	app = unit_offline_app(NULL, &cfg);
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

/* A handler that builds a whole answer, one header of which smuggles a CR/LF. */
static enum pawl_err split_handler(struct pawl_app *a, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err)
{
	(void)a;
	(void)txn;
	(void)req;
	(void)err;
	pawl_response_header(resp, "ETag", "\"42\"");
	pawl_response_header(resp, "X-Echo", "x\r\nSet-Cookie: stolen=1");
	pawl_response_header(resp, "X-Later", "fine");
	pawl_response_raw(resp, 200, "{\"ok\":true}");
	return PAWL_OK;
}

/* NULL-safe: a missing value is a failed assertion, not a crash. */
static int same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}



/* Runs GET uri through the pipeline with every route kind answered by fn; rid: the request id. */
static json_object *run_rid(pawl_handler_fn *fn, const char *uri, const char *rid,
    struct pawl_response *resp)
{
	const struct pawl_dispatch *saved = app->dispatch;
	struct pawl_dispatch d = *saved;
	struct pawl_request req;
	struct pawl_txn txn;
	struct pawl_error err;
	char **params;
	json_object *json;
	size_t i;

	pawl_arena_reset(arena);
	params = pawl_arena_calloc(arena, 3, sizeof(char *));
	params[0] = pawl_arena_strdup(arena, "REQUEST_METHOD=GET");
	params[1] = pawl_arena_printf(arena, "REQUEST_URI=%s", uri);
	for (i = 0; i < PAWL_ROUTE_KINDS; i++)
		d.by_kind[i] = fn;
	app->dispatch = &d;
	pawl_response_init(resp, arena);
	resp->request_id = rid;
	CU_ASSERT_EQUAL_FATAL(pawl_request_init(&req, arena, params, &err), PAWL_OK);
	pawl_txn_init(&txn, arena, &(const struct pawl_txn_env){ .relay_wake_fd = -1 });
	pawl_pipeline_handle(app, &req, resp, &txn);
	app->dispatch = saved;
	json = resp->body.len ? json_tokener_parse(resp->body.data) : NULL;
	if (json != NULL)
		pawl_json_own(arena, json);
	return json;
}

static json_object *run_with(pawl_handler_fn *fn, const char *uri, struct pawl_response *resp)
{
	return run_rid(fn, uri, NULL, resp);
}

static enum pawl_err not_found_handler(struct pawl_app *a, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err)
{
	(void)a;
	(void)req;
	(void)resp;
	(void)txn;
	return pawl_error_set(err, PAWL_ERR_NO_OBJECT, "nothing here");
}

static enum pawl_err ok_handler(struct pawl_app *a, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err)
{
	(void)a;
	(void)req;
	(void)txn;
	(void)err;
	pawl_response_raw(resp, 200, "{\"ok\":true}");
	return PAWL_OK;
}

/* The keys of a JSON object, in order, joined by ',' into out. */
static const char *keys_of(json_object *o, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	if (o == NULL || !json_object_is_type(o, json_type_object))
		return out;
	json_object_object_foreach(o, key, val) {
		(void)val;
		len += (size_t)snprintf(out + len, size - len, "%s%s", len ? "," : "", key);
		if (len >= size)
			break;
	}
	return out;
}

/* The id is in X-Request-Id of every answer and closes every error body, Kinto's keys kept. */
static void test_request_id_echoed(void)
{
	static const char rid[] = "0f4c7d2e9a1b3c5d7e9f1a2b3c4d5e6f";
	struct pawl_response resp;
	json_object *json;
	char keys[256];

	json = run_rid(not_found_handler, "/v1/buckets/b", rid, &resp);
	CU_ASSERT_EQUAL(resp.status, 404);
	CU_ASSERT_STRING_EQUAL(keys_of(json, keys, sizeof(keys)), "code,errno,error,message,request_id");
	CU_ASSERT_TRUE(same(unit_str_at(json, "request_id"), rid));
	CU_ASSERT_TRUE(same(pawl_response_get_header(&resp, "X-Request-Id"), rid));
	/* A failed response is discarded whole: the id survives into its 500. */
	json = run_rid(split_handler, "/v1/__heartbeat__", rid, &resp);
	CU_ASSERT_EQUAL(resp.status, 500);
	CU_ASSERT_STRING_EQUAL(keys_of(json, keys, sizeof(keys)),
	    "code,errno,error,message,details,request_id");
	CU_ASSERT_TRUE(same(unit_str_at(json, "request_id"), rid));
	CU_ASSERT_TRUE(same(pawl_response_get_header(&resp, "X-Request-Id"), rid));
	/* A success: the header only, the body untouched. */
	json = run_rid(ok_handler, "/v1/buckets/b", rid, &resp);
	CU_ASSERT_EQUAL(resp.status, 200);
	CU_ASSERT_STRING_EQUAL(keys_of(json, keys, sizeof(keys)), "ok");
	CU_ASSERT_TRUE(same(pawl_response_get_header(&resp, "X-Request-Id"), rid));
	/* No id (a batch's sub-response built without one): neither header nor key. */
	json = run_rid(not_found_handler, "/v1/buckets/b", NULL, &resp);
	CU_ASSERT_STRING_EQUAL(keys_of(json, keys, sizeof(keys)), "code,errno,error,message");
	CU_ASSERT_PTR_NULL(pawl_response_get_header(&resp, "X-Request-Id"));
}

static void test_failed_response_becomes_json_500(void)
{
	struct pawl_response resp;
	json_object *json = run_with(split_handler, "/v1/__heartbeat__", &resp), *details;
	size_t i;

	CU_ASSERT_EQUAL(resp.status, 500);
	CU_ASSERT_EQUAL(resp.errno_, 999);
	CU_ASSERT_EQUAL(unit_int_at(json, "code"), 500);
	CU_ASSERT_EQUAL(unit_int_at(json, "errno"), 999);
	CU_ASSERT_TRUE(same(unit_str_at(json, "error"), "Internal Server Error"));
	CU_ASSERT_TRUE(same(unit_str_at(json, "message"),
	    "A programmatic error occurred, developers have been informed."));
	CU_ASSERT_TRUE(json_object_object_get_ex(json, "details", &details) &&
	    unit_str_at(details, "error_id") != NULL &&
	    strlen(unit_str_at(details, "error_id")) == 16);
	CU_ASSERT_PTR_NULL(unit_str_at(json, "ok"));
	/* Nothing of the half-built answer survives: neither its validator nor a later header. */
	CU_ASSERT_PTR_NULL(pawl_response_get_header(&resp, "ETag"));
	CU_ASSERT_PTR_NULL(pawl_response_get_header(&resp, "X-Later"));
	CU_ASSERT_PTR_NULL(pawl_response_get_header(&resp, "X-Echo"));
	CU_ASSERT_TRUE(same(pawl_response_get_header(&resp, "Content-Type"), "application/json"));
	CU_ASSERT_TRUE(same(pawl_response_get_header(&resp, "X-Content-Type-Options"), "nosniff"));
	for (i = 0; i < resp.n_headers; i++)
		CU_ASSERT_FALSE(pawl_str_has_ctl(resp.headers[i].value));
}

static void test_crlf_fails_sticky(void)
{
	struct pawl_response resp;

	pawl_arena_reset(arena);
	pawl_response_init(&resp, arena);
	pawl_response_header(&resp, "ETag", "\"1\"");
	CU_ASSERT_EQUAL(pawl_response_failure(&resp), PAWL_OK);
	pawl_response_header(&resp, "X-Echo", "a\r\nSet-Cookie: x=1");
	CU_ASSERT_EQUAL(pawl_response_failure(&resp), PAWL_ERR_INTERNAL);
	CU_ASSERT_PTR_NULL(pawl_response_get_header(&resp, "X-Echo"));
	/* Later headers, valid ones included, neither clear the failure nor land. */
	pawl_response_header(&resp, "X-Later", "fine");
	pawl_response_header(&resp, "ETag", "\"2\"");
	pawl_response_header(&resp, "X-Nul", NULL);
	CU_ASSERT_EQUAL(pawl_response_failure(&resp), PAWL_ERR_INTERNAL);
	CU_ASSERT_STRING_EQUAL(resp.failed_on, "X-Echo");
	CU_ASSERT_PTR_NULL(pawl_response_get_header(&resp, "X-Later"));
	CU_ASSERT_TRUE(same(pawl_response_get_header(&resp, "ETag"), "\"1\""));
	CU_ASSERT_EQUAL(resp.n_headers, 1);
}

static void test_other_failures(void)
{
	struct pawl_response resp;
	struct pawl_error err;
	size_t i;

	pawl_arena_reset(arena);
	pawl_response_init(&resp, arena);
	/* A NULL value is what pawl_arena_printf gives when memory ran out. */
	pawl_response_header(&resp, "Next-Page", NULL);
	CU_ASSERT_EQUAL(pawl_response_failure(&resp), PAWL_ERR_NOMEM);
	pawl_response_header(&resp, "X-Bad", "\n");
	CU_ASSERT_EQUAL(pawl_response_failure(&resp), PAWL_ERR_NOMEM);
	pawl_response_discard(&resp, &err);
	CU_ASSERT_EQUAL(err.code, PAWL_ERR_NOMEM);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "Next-Page"));
	CU_ASSERT_EQUAL(pawl_response_failure(&resp), PAWL_OK);
	CU_ASSERT_EQUAL(resp.n_headers, 0);
	CU_ASSERT_EQUAL(resp.status, 200);
	pawl_response_header(&resp, "Bad:Name", "v");
	CU_ASSERT_EQUAL(pawl_response_failure(&resp), PAWL_ERR_INTERNAL);
	pawl_response_init(&resp, arena);
	for (i = 0; i <= PAWL_RESPONSE_MAX_HEADERS; i++)
		pawl_response_header(&resp, pawl_arena_printf(arena, "X-%zu", i), "v");
	CU_ASSERT_EQUAL(pawl_response_failure(&resp), PAWL_ERR_INTERNAL);
	CU_ASSERT_EQUAL(resp.n_headers, PAWL_RESPONSE_MAX_HEADERS);
	/* A body that could not be built fails the response as well. */
	pawl_response_init(&resp, arena);
	resp.body.failed = true;
	CU_ASSERT_EQUAL(pawl_response_failure(&resp), PAWL_ERR_NOMEM);
}

void test_response_register(void)
{
	CU_pSuite s = CU_add_suite("response", setup, teardown);

	CU_add_test(s, "a CR/LF in a header value fails the response, sticky", test_crlf_fails_sticky);
	CU_add_test(s, "no memory, a bad name, too many headers, a failed body", test_other_failures);
	CU_add_test(s, "a failed response becomes Kinto's JSON 500",
	    test_failed_response_becomes_json_500);
	CU_add_test(s, "the request id in X-Request-Id and in error bodies", test_request_id_echoed);
}
