/*
 * The resource handlers of resource/dispatch.c's table over the in-memory
 * store (fake_store.c): a request built in memory, routed by the real
 * router, handed to the handler function directly (no transaction: writers
 * normally run inside pawl_resource_write), then the answer and the store's
 * state checked. Alice owns the fixtures (bucket b, collection c); Bob is a
 * stranger unless a test grants him something. No PostgreSQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "app.h"
#include "core/json.h"
#include "events/stage.h"
#include "http/router.h"
#include "resource/resource.h"
#include "txn/txn.h"
#include "fake_store.h"
#include "unit.h"

#define ALICE "basicauth:alice"
#define BOB "basicauth:bob"
#define RECORDS "/buckets/b/collections/c/records"
#define COLL_URI "/buckets/b/collections/c"

static struct pawl_config *cfg;
static struct pawl_app *app;
static struct pawl_store *pg_store;   /* the app's own, put back before it is freed */
static struct pawl_arena *arena;
static struct fake_store *fake;

static int setup(void)
{
	app = unit_offline_app(NULL, &cfg);
	arena = pawl_arena_new(8192);
	if (app == NULL || arena == NULL)
		return 1;
	pg_store = app->store;
	return 0;
}

static int teardown(void)
{
	fake_store_free(fake);
	if (app != NULL)
		app->store = pg_store;
	pawl_arena_free(arena);
	pawl_app_free(app);
	pawl_config_free(cfg);
	return 0;
}

/* A new, empty store for the test (a fixed clock when now is not 0). */
static void fresh(long long now)
{
	fake_store_free(fake);
	fake = fake_store_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(fake);
	fake_store_set_now(fake, now);
	app->store = fake_store_handle(fake);
}

struct exchange {
	struct pawl_request req;
	struct pawl_response resp;
	struct pawl_txn txn; /* holds the staged events; never begun: the fake has no transactions */
	enum pawl_err rc;
	json_object *json;   /* the answer's body */
};

/* The handler of dispatch.c's table for the matched route and method. */
static enum pawl_err call(struct pawl_rctx *c, struct pawl_error *err)
{
	bool item = c->req->match.route->kind == PAWL_ROUTE_ITEM;

	switch (c->req->method_bit) {
	case PAWL_METHOD_GET:
		return item ? pawl_object_get(c, err) : pawl_plural_get(c, err);
	case PAWL_METHOD_PUT:
		return pawl_object_put(c, err);
	case PAWL_METHOD_PATCH:
		return pawl_object_patch(c, err);
	case PAWL_METHOD_POST:
		pawl_plural_post_prepare(c);
		return pawl_plural_post(c, err);
	default:
		return item ? pawl_object_delete(c, err) : pawl_plural_delete(c, err);
	}
}

/* Runs method uri as user (NULL: anonymous) with an optional body and one extra CGI header. */
static void run(struct exchange *x, const char *user, const char *method, const char *uri,
    const char *body, const char *header)
{
	char m[32], u[512], *params[5] = { m, u, NULL, NULL, NULL }, **copy;
	struct pawl_rctx c;
	struct pawl_error err;

	pawl_arena_reset(arena);
	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof(u), "REQUEST_URI=%s", uri);
	params[2] = header ? (char *)(uintptr_t)header : NULL;
	copy = pawl_arena_calloc(arena, 5, sizeof(*copy));
	for (size_t i = 0; i < 5; i++)
		copy[i] = params[i] ? pawl_arena_strdup(arena, params[i]) : NULL;
	pawl_response_init(&x->resp, arena);
	pawl_error_clear(&err);
	CU_ASSERT_EQUAL_FATAL(pawl_request_init(&x->req, arena, copy, &err), PAWL_OK);
	x->req.user_id = user;
	pawl_txn_init(&x->txn, arena, &(const struct pawl_txn_env){ .relay_wake_fd = -1 });
	if (body != NULL)
		CU_ASSERT_EQUAL_FATAL(pawl_json_parse(arena, body, strlen(body), 32, &x->req.json,
		    &err), PAWL_OK);
	CU_ASSERT_EQUAL_FATAL(pawl_router_match(app->router, arena, &(struct pawl_request_line){
	    x->req.method_bit, x->req.raw_path, x->req.query }, &x->req.match, &err), PAWL_OK);
	memset(&c, 0, sizeof(c));
	c.app = app;
	c.req = &x->req;
	c.resp = &x->resp;
	c.txn = &x->txn;
	c.res = x->req.match.route->resource;
	x->rc = pawl_resource_context_init(&c, &err);
	if (x->rc == PAWL_OK)
		x->rc = call(&c, &err);
	if (x->rc != PAWL_OK)
		pawl_response_error(&x->resp, &err);
	x->json = x->resp.body.len ? pawl_json_own(arena, json_tokener_parse(x->resp.body.data)) : NULL;
}

static json_object *at(json_object *o, const char *key)
{
	json_object *v = NULL;

	return o != NULL && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *str_at(json_object *o, const char *key)
{
	json_object *v = at(o, key);

	return v != NULL ? json_object_get_string(v) : "";
}

static long long int_at(json_object *o, const char *key)
{
	json_object *v = at(o, key);

	return v != NULL ? json_object_get_int64(v) : -1;
}

/* The ETag's timestamp ("\"123\"" → 123), -1 without one. */
static long long etag(const struct exchange *x)
{
	const char *e = pawl_response_get_header(&x->resp, "ETag");

	return e != NULL && e[0] == '"' ? strtoll(e + 1, NULL, 10) : -1;
}

static void expect_error(const struct exchange *x, int status, int errno_)
{
	CU_ASSERT_EQUAL(x->resp.status, status);
	CU_ASSERT_EQUAL(int_at(x->json, "code"), status);
	CU_ASSERT_EQUAL(int_at(x->json, "errno"), errno_);
}

/* Alice's bucket b and collection c, and record r1 = {"title":"one"} when with_record. */
static void fixtures(bool with_record)
{
	struct exchange x;

	run(&x, ALICE, "PUT", "/v1/buckets/b", NULL, NULL);
	CU_ASSERT_EQUAL_FATAL(x.resp.status, 201);
	run(&x, ALICE, "PUT", "/v1" COLL_URI, NULL, NULL);
	CU_ASSERT_EQUAL_FATAL(x.resp.status, 201);
	if (with_record) {
		run(&x, ALICE, "PUT", "/v1" RECORDS "/r1", "{\"data\":{\"title\":\"one\"}}", NULL);
		CU_ASSERT_EQUAL_FATAL(x.resp.status, 201);
	}
}

static void test_put_creates_then_replaces(void)
{
	struct exchange x;
	const struct fake_object *o;
	long long first;

	fresh(0);
	fixtures(false);
	run(&x, ALICE, "PUT", "/v1" RECORDS "/r1", "{\"data\":{\"title\":\"one\"}}", NULL);
	CU_ASSERT_EQUAL(x.resp.status, 201);
	CU_ASSERT_STRING_EQUAL(str_at(at(x.json, "data"), "id"), "r1");
	CU_ASSERT_STRING_EQUAL(str_at(at(x.json, "data"), "title"), "one");
	o = fake_store_find(fake, COLL_URI, "record", "r1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	first = o->last_modified;
	CU_ASSERT_EQUAL(etag(&x), first);
	CU_ASSERT_EQUAL(int_at(at(x.json, "data"), "last_modified"), first);
	/* The creator is its writer (explicit_permissions), and is shown the ACL. */
	CU_ASSERT_TRUE(fake_store_has_ace(fake, COLL_URI "/records/r1", "write", ALICE));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_array_get_idx(
	    at(at(x.json, "permissions"), "write"), 0)), ALICE);
	run(&x, ALICE, "PUT", "/v1" RECORDS "/r1", "{\"data\":{\"title\":\"two\"}}", NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_STRING_EQUAL(str_at(at(x.json, "data"), "title"), "two");
	o = fake_store_find(fake, COLL_URI, "record", "r1");
	CU_ASSERT_TRUE(o->last_modified > first);
	CU_ASSERT_PTR_NOT_NULL(strstr(o->data, "\"two\""));
	CU_ASSERT_EQUAL(fake_store_list_ts(fake, COLL_URI, "record"), o->last_modified);
	CU_ASSERT_EQUAL(pawl_stage_seal(x.txn.stage, &(struct pawl_error){ 0 }), PAWL_OK);
	CU_ASSERT_EQUAL_FATAL(pawl_stage_count(x.txn.stage), 1);
	CU_ASSERT_EQUAL(pawl_event_action(pawl_stage_event(x.txn.stage, 0)), PAWL_EVENT_UPDATE);
}

/* The list timestamp is GREATEST(now, last + 1): strictly increasing under a stopped clock. */
static void test_timestamps_strictly_increase(void)
{
	struct exchange x;

	fresh(1700000000000LL);
	fixtures(false);
	run(&x, ALICE, "PUT", "/v1" RECORDS "/r1", "{\"data\":{}}", NULL);
	CU_ASSERT_EQUAL(etag(&x), 1700000000000LL);
	run(&x, ALICE, "PUT", "/v1" RECORDS "/r2", "{\"data\":{}}", NULL);
	CU_ASSERT_EQUAL(etag(&x), 1700000000001LL);
	/* A client's last_modified ahead of the list is the floor of the new timestamp. */
	run(&x, ALICE, "PUT", "/v1" RECORDS "/r3", "{\"data\":{\"last_modified\":1700000000500}}",
	    NULL);
	CU_ASSERT_EQUAL(etag(&x), 1700000000500LL);
	CU_ASSERT_EQUAL(fake_store_list_ts(fake, COLL_URI, "record"), 1700000000500LL);
}

static void test_get_missing_is_404_with_details(void)
{
	struct exchange x;

	fresh(0);
	fixtures(false);
	run(&x, ALICE, "GET", "/v1" RECORDS "/nope", NULL, NULL);
	expect_error(&x, 404, 110);
	CU_ASSERT_STRING_EQUAL(str_at(at(x.json, "details"), "id"), "nope");
	CU_ASSERT_STRING_EQUAL(str_at(at(x.json, "details"), "resource_name"), "record");
}

static void test_get_under_missing_parent_is_404_111(void)
{
	struct exchange x;

	fresh(0);
	fixtures(false);
	run(&x, ALICE, "GET", "/v1/buckets/b/collections/gone/records/r1", NULL, NULL);
	expect_error(&x, 404, 111);
	CU_ASSERT_STRING_EQUAL(str_at(at(x.json, "details"), "id"), "gone");
	CU_ASSERT_STRING_EQUAL(str_at(at(x.json, "details"), "resource_name"), "collection");
}

static void test_get_and_if_none_match_304(void)
{
	struct exchange x;
	char header[64];
	long long ts;

	fresh(0);
	fixtures(true);
	run(&x, ALICE, "GET", "/v1" RECORDS "/r1", NULL, NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_STRING_EQUAL(str_at(at(x.json, "data"), "title"), "one");
	ts = etag(&x);
	CU_ASSERT_EQUAL(ts, fake_store_find(fake, COLL_URI, "record", "r1")->last_modified);
	snprintf(header, sizeof(header), "HTTP_IF_NONE_MATCH=\"%lld\"", ts);
	run(&x, ALICE, "GET", "/v1" RECORDS "/r1", NULL, header);
	CU_ASSERT_EQUAL(x.resp.status, 304);
	CU_ASSERT_EQUAL(etag(&x), ts);
	snprintf(header, sizeof(header), "HTTP_IF_NONE_MATCH=\"%lld\"", ts - 1);
	run(&x, ALICE, "GET", "/v1" RECORDS "/r1", NULL, header);
	CU_ASSERT_EQUAL(x.resp.status, 200);
}

static void test_if_match_mismatch_412(void)
{
	struct exchange x;
	long long before;

	fresh(0);
	fixtures(true);
	before = fake_store_find(fake, COLL_URI, "record", "r1")->last_modified;
	run(&x, ALICE, "PUT", "/v1" RECORDS "/r1", "{\"data\":{\"title\":\"x\"}}",
	    "HTTP_IF_MATCH=\"1\"");
	expect_error(&x, 412, 114);
	CU_ASSERT_STRING_EQUAL(str_at(at(at(x.json, "details"), "existing"), "title"), "one");
	CU_ASSERT_EQUAL(fake_store_find(fake, COLL_URI, "record", "r1")->last_modified, before);
	CU_ASSERT_PTR_NOT_NULL(strstr(fake_store_find(fake, COLL_URI, "record", "r1")->data, "one"));
}

static void test_if_none_match_star(void)
{
	struct exchange x;

	fresh(0);
	fixtures(true);
	run(&x, ALICE, "PUT", "/v1" RECORDS "/r1", "{\"data\":{}}", "HTTP_IF_NONE_MATCH=*");
	expect_error(&x, 412, 114);
	run(&x, ALICE, "PUT", "/v1" RECORDS "/r2", "{\"data\":{}}", "HTTP_IF_NONE_MATCH=*");
	CU_ASSERT_EQUAL(x.resp.status, 201);
	CU_ASSERT_PTR_NOT_NULL(fake_store_find(fake, COLL_URI, "record", "r2"));
}

static void test_patch_merges(void)
{
	struct exchange x;
	json_object *data;

	fresh(0);
	fixtures(false);
	run(&x, ALICE, "PUT", "/v1" RECORDS "/r1", "{\"data\":{\"a\":1,\"b\":2}}", NULL);
	run(&x, ALICE, "PATCH", "/v1" RECORDS "/r1", "{\"data\":{\"b\":3,\"c\":4}}", NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	data = at(x.json, "data");
	CU_ASSERT_EQUAL(int_at(data, "a"), 1);
	CU_ASSERT_EQUAL(int_at(data, "b"), 3);
	CU_ASSERT_EQUAL(int_at(data, "c"), 4);
	data = pawl_json_own(arena, json_tokener_parse(fake_store_find(fake, COLL_URI, "record",
	    "r1")->data));
	CU_ASSERT_EQUAL(int_at(data, "b"), 3);
	CU_ASSERT_EQUAL(int_at(data, "c"), 4);
	CU_ASSERT_EQUAL(int_at(data, "last_modified"), etag(&x));
}

static void test_delete_leaves_tombstone(void)
{
	struct exchange x;
	const struct fake_object *o;
	long long before;

	fresh(0);
	fixtures(true);
	before = fake_store_list_ts(fake, COLL_URI, "record");
	run(&x, ALICE, "DELETE", "/v1" RECORDS "/r1", NULL, NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_TRUE(json_object_get_boolean(at(at(x.json, "data"), "deleted")));
	o = fake_store_find(fake, COLL_URI, "record", "r1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_TRUE(o->deleted);
	CU_ASSERT_TRUE(o->last_modified > before);
	CU_ASSERT_EQUAL(fake_store_list_ts(fake, COLL_URI, "record"), o->last_modified);
	CU_ASSERT_EQUAL(int_at(at(x.json, "data"), "last_modified"), o->last_modified);
	/* Its ACEs went with it; reading it now is a 404. */
	CU_ASSERT_FALSE(fake_store_has_ace(fake, COLL_URI "/records/r1", "write", ALICE));
	run(&x, ALICE, "GET", "/v1" RECORDS "/r1", NULL, NULL);
	expect_error(&x, 404, 110);
}

static void test_delete_bucket_cascades(void)
{
	struct exchange x;

	fresh(0);
	fixtures(true);
	run(&x, ALICE, "DELETE", "/v1/buckets/b", NULL, NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_TRUE(fake_store_find(fake, "", "bucket", "b")->deleted);
	CU_ASSERT_TRUE(fake_store_find(fake, "/buckets/b", "collection", "c")->deleted);
	CU_ASSERT_TRUE(fake_store_find(fake, COLL_URI, "record", "r1")->deleted);
	CU_ASSERT_FALSE(fake_store_has_ace(fake, COLL_URI, "write", ALICE));
	CU_ASSERT_EQUAL(pawl_stage_seal(x.txn.stage, &(struct pawl_error){ 0 }), PAWL_OK);
	CU_ASSERT_EQUAL_FATAL(pawl_stage_count(x.txn.stage), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(pawl_event_payload(pawl_stage_event(x.txn.stage, 0)),
	    "\"cascade\""));
}

static void test_post_without_id_makes_one(void)
{
	struct exchange x;
	const char *id;
	char uri[128];

	fresh(0);
	fixtures(false);
	run(&x, ALICE, "POST", "/v1" RECORDS, "{\"data\":{\"x\":1}}", NULL);
	CU_ASSERT_EQUAL(x.resp.status, 201);
	id = str_at(at(x.json, "data"), "id");
	CU_ASSERT_EQUAL(strlen(id), 36);   /* a UUID4 */
	CU_ASSERT_PTR_NOT_NULL(fake_store_find(fake, COLL_URI, "record", id));
	snprintf(uri, sizeof(uri), COLL_URI "/records/%s", id);
	CU_ASSERT_TRUE(fake_store_has_ace(fake, uri, "write", ALICE));
	CU_ASSERT_EQUAL(etag(&x), fake_store_find(fake, COLL_URI, "record", id)->last_modified);
}

/* POST naming an existing id answers it without a write (Kinto). */
static void test_post_existing_id_is_a_read(void)
{
	struct exchange x;
	long long before;

	fresh(0);
	fixtures(true);
	before = fake_store_list_ts(fake, COLL_URI, "record");
	run(&x, ALICE, "POST", "/v1" RECORDS, "{\"data\":{\"id\":\"r1\",\"title\":\"new\"}}", NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_STRING_EQUAL(str_at(at(x.json, "data"), "title"), "one");
	CU_ASSERT_EQUAL(fake_store_list_ts(fake, COLL_URI, "record"), before);
}

/* The parent check travels deferred (exists_defer/exists_answer) on POST. */
static void test_post_under_missing_parent_404(void)
{
	struct exchange x;

	fresh(0);
	fixtures(false);
	run(&x, ALICE, "POST", "/v1/buckets/b/collections/gone/records", "{\"data\":{}}", NULL);
	expect_error(&x, 404, 111);
	CU_ASSERT_EQUAL(fake_store_list_ts(fake, "/buckets/b/collections/gone", "record"), -1);
}

static void test_stranger_gets_403(void)
{
	struct exchange x;

	fresh(0);
	fixtures(true);
	run(&x, BOB, "GET", "/v1" RECORDS "/r1", NULL, NULL);
	expect_error(&x, 403, 121);
	CU_ASSERT_PTR_NULL(strstr(x.resp.body.data, "one"));
	run(&x, BOB, "PUT", "/v1" RECORDS "/r1", "{\"data\":{\"title\":\"bob\"}}", NULL);
	expect_error(&x, 403, 121);
	CU_ASSERT_PTR_NOT_NULL(strstr(fake_store_find(fake, COLL_URI, "record", "r1")->data, "one"));
	run(&x, NULL, "GET", "/v1" RECORDS "/r1", NULL, NULL);
	expect_error(&x, 401, 104);
}

/* Existence is hidden: an unknown object is 403 to a stranger, not 404 (Kinto). */
static void test_unknown_object_for_stranger_is_403(void)
{
	struct exchange x;

	fresh(0);
	fixtures(false);
	run(&x, BOB, "GET", "/v1" RECORDS "/nope", NULL, NULL);
	expect_error(&x, 403, 121);
	run(&x, BOB, "GET", "/v1/buckets/b/collections/gone/records/nope", NULL, NULL);
	expect_error(&x, 403, 121);
}

/* Read on the collection reaches its records; write implies read; writers see the ACL. */
static void test_inherited_read_and_write(void)
{
	struct exchange x;

	fresh(0);
	fixtures(true);
	fake_store_grant(fake, COLL_URI, "read", BOB);
	run(&x, BOB, "GET", "/v1" RECORDS "/r1", NULL, NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_EQUAL(json_object_object_length(at(x.json, "permissions")), 0);
	run(&x, BOB, "PATCH", "/v1" RECORDS "/r1", "{\"data\":{\"t\":1}}", NULL);
	expect_error(&x, 403, 121);
	fresh(0);
	fixtures(true);
	fake_store_grant(fake, COLL_URI "/records/r1", "write", BOB);
	run(&x, BOB, "GET", "/v1" RECORDS "/r1", NULL, NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_TRUE(json_object_array_length(at(at(x.json, "permissions"), "write")) == 2);
}

static void test_plural_get_lists_only_readable(void)
{
	struct exchange x;
	json_object *data;

	fresh(0);
	fixtures(true);
	run(&x, ALICE, "PUT", "/v1" RECORDS "/r2", "{\"data\":{}}", NULL);
	run(&x, ALICE, "PUT", "/v1" RECORDS "/r3", "{\"data\":{}}", NULL);
	run(&x, ALICE, "GET", "/v1" RECORDS, NULL, NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	data = at(x.json, "data");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(data), 3);
	/* Newest first (the default sort, -last_modified). */
	CU_ASSERT_STRING_EQUAL(str_at(json_object_array_get_idx(data, 0), "id"), "r3");
	CU_ASSERT_STRING_EQUAL(str_at(json_object_array_get_idx(data, 2), "id"), "r1");
	CU_ASSERT_EQUAL(etag(&x), fake_store_list_ts(fake, COLL_URI, "record"));
	/* Bob reads r2 directly, r3 through a group he is in. */
	fake_store_grant(fake, COLL_URI "/records/r2", "read", BOB);
	fake_store_grant(fake, COLL_URI "/records/r3", "read", "/buckets/b/groups/friends");
	fake_store_add_member(fake, BOB, "/buckets/b/groups/friends");
	run(&x, BOB, "GET", "/v1" RECORDS, NULL, NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	data = at(x.json, "data");
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(data), 2);
	CU_ASSERT_STRING_EQUAL(str_at(json_object_array_get_idx(data, 0), "id"), "r3");
	CU_ASSERT_STRING_EQUAL(str_at(json_object_array_get_idx(data, 1), "id"), "r2");
	/* Nothing shared and no right to create: a refusal, not an empty list. */
	run(&x, "basicauth:carol", "GET", "/v1" RECORDS, NULL, NULL);
	expect_error(&x, 403, 121);
}

static void test_plural_delete(void)
{
	struct exchange x;

	fresh(0);
	fixtures(true);
	run(&x, ALICE, "PUT", "/v1" RECORDS "/r2", "{\"data\":{}}", NULL);
	run(&x, ALICE, "DELETE", "/v1" RECORDS, NULL, NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_EQUAL(json_object_array_length(at(x.json, "data")), 2);
	CU_ASSERT_TRUE(fake_store_find(fake, COLL_URI, "record", "r1")->deleted);
	CU_ASSERT_TRUE(fake_store_find(fake, COLL_URI, "record", "r2")->deleted);
	CU_ASSERT_EQUAL(etag(&x), fake_store_list_ts(fake, COLL_URI, "record"));
	run(&x, ALICE, "GET", "/v1" RECORDS, NULL, NULL);
	CU_ASSERT_EQUAL(json_object_array_length(at(x.json, "data")), 0);
}

/* What the fake does not model fails loudly (500), never as a wrong answer. */
static void test_fake_refuses_filters(void)
{
	struct exchange x;

	fresh(0);
	fixtures(true);
	run(&x, ALICE, "GET", "/v1" RECORDS "?title=one", NULL, NULL);
	CU_ASSERT_EQUAL(x.rc, PAWL_ERR_INTERNAL);
	CU_ASSERT_EQUAL(x.resp.status, 500);
	CU_ASSERT_EQUAL(fake_store_unimplemented(fake), 1);
}

void test_handlers_register(void)
{
	CU_pSuite s = CU_add_suite("handlers", setup, teardown);

	CU_add_test(s, "PUT creates (201) then replaces (200)", test_put_creates_then_replaces);
	CU_add_test(s, "list timestamps strictly increase", test_timestamps_strictly_increase);
	CU_add_test(s, "GET of a missing object: 404 errno 110", test_get_missing_is_404_with_details);
	CU_add_test(s, "GET under a missing parent: 404 errno 111",
	    test_get_under_missing_parent_is_404_111);
	CU_add_test(s, "GET, and 304 on If-None-Match", test_get_and_if_none_match_304);
	CU_add_test(s, "If-Match mismatch: 412", test_if_match_mismatch_412);
	CU_add_test(s, "If-None-Match * on an existing object: 412", test_if_none_match_star);
	CU_add_test(s, "PATCH merges", test_patch_merges);
	CU_add_test(s, "DELETE leaves a tombstone", test_delete_leaves_tombstone);
	CU_add_test(s, "DELETE of a bucket cascades", test_delete_bucket_cascades);
	CU_add_test(s, "POST without id makes one", test_post_without_id_makes_one);
	CU_add_test(s, "POST of an existing id is a read", test_post_existing_id_is_a_read);
	CU_add_test(s, "POST under a missing parent: 404", test_post_under_missing_parent_404);
	CU_add_test(s, "a stranger gets 403, anonymous 401", test_stranger_gets_403);
	CU_add_test(s, "an unknown object is 403 to a stranger", test_unknown_object_for_stranger_is_403);
	CU_add_test(s, "inherited read, write implies read", test_inherited_read_and_write);
	CU_add_test(s, "plural GET lists only readable objects", test_plural_get_lists_only_readable);
	CU_add_test(s, "plural DELETE", test_plural_delete);
	CU_add_test(s, "the fake refuses what it does not model", test_fake_refuses_filters);
}
