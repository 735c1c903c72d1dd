/* Router: patterns from the resource table, matchdicts, redirects, errors. */
#include <string.h>
#include <CUnit/CUnit.h>

#include "core/config.h"
#include "core/resource_table.h"
#include "http/router.h"
#include "unit.h"

static struct pawl_config *cfg;
static struct pawl_resource_table *res;
static struct pawl_router *router;
static struct pawl_arena *arena;

static int setup(void)
{
	struct pawl_error err;

	cfg = pawl_config_parse("[app:main]\nresources = mushroom\n"
	    "resources.mushroom.list = /mushrooms\nresources.mushroom.item = /mushrooms/{id}\n",
	    "test.ini", NULL, &err);
	if (cfg == NULL)
		return 1;
	res = pawl_resource_table_new(cfg, &err);
	router = res ? pawl_router_new(res, cfg, &err) : NULL;
	arena = pawl_arena_new(4096);
	return router == NULL || arena == NULL;
}

static int teardown(void)
{
	pawl_arena_free(arena);
	pawl_router_free(router);
	pawl_resource_table_free(res);
	pawl_config_free(cfg);
	return 0;
}

static enum pawl_err match(unsigned method, const char *path, const char *query,
    struct pawl_match *m, struct pawl_error *err)
{
	pawl_arena_reset(arena);
	pawl_error_clear(err);
	return pawl_router_match(router, arena, &(struct pawl_request_line){ method, path, query },
	    m, err);
}

static void test_record_item(void)
{
	struct pawl_match m;
	struct pawl_error err;

	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v1/buckets/b1/collections/c1/records/r1", NULL,
	    &m, &err), PAWL_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m.route);
	CU_ASSERT_EQUAL(m.route->kind, PAWL_ROUTE_ITEM);
	CU_ASSERT_STRING_EQUAL(m.route->resource->name, "record");
	CU_ASSERT_EQUAL(m.md.n, 3);
	CU_ASSERT_STRING_EQUAL(pawl_matchdict_get(&m.md, "bucket_id"), "b1");
	CU_ASSERT_STRING_EQUAL(pawl_matchdict_get(&m.md, "collection_id"), "c1");
	CU_ASSERT_STRING_EQUAL(pawl_matchdict_get(&m.md, "id"), "r1");
	CU_ASSERT_STRING_EQUAL(m.path, "/buckets/b1/collections/c1/records/r1");
	CU_ASSERT_PTR_NULL(m.location);
}

static void test_lists_and_services(void)
{
	struct pawl_match m;
	struct pawl_error err;

	CU_ASSERT_EQUAL(match(PAWL_METHOD_POST, "/v1/buckets/b1/groups", NULL, &m, &err), PAWL_OK);
	CU_ASSERT_EQUAL(m.route->kind, PAWL_ROUTE_LIST);
	CU_ASSERT_STRING_EQUAL(m.route->resource->name, "group");
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v1/", NULL, &m, &err), PAWL_OK);
	CU_ASSERT_EQUAL(m.route->kind, PAWL_ROUTE_HELLO);
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v1/__heartbeat__", NULL, &m, &err), PAWL_OK);
	CU_ASSERT_EQUAL(m.route->kind, PAWL_ROUTE_HEARTBEAT);
	CU_ASSERT_EQUAL(match(PAWL_METHOD_HEAD, "/v1/__lbheartbeat__", NULL, &m, &err), PAWL_OK);
	CU_ASSERT_EQUAL(m.route->kind, PAWL_ROUTE_LBHEARTBEAT);
	CU_ASSERT_EQUAL(match(PAWL_METHOD_PUT, "/v1/mushrooms/m1", NULL, &m, &err), PAWL_OK);
	CU_ASSERT_STRING_EQUAL(m.route->resource->name, "mushroom");
	CU_ASSERT_STRING_EQUAL(pawl_matchdict_get(&m.md, "id"), "m1");
}

static void test_percent_decoding(void)
{
	struct pawl_match m;
	struct pawl_error err;

	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v1/buckets/a%2Db", NULL, &m, &err), PAWL_OK);
	CU_ASSERT_STRING_EQUAL(pawl_matchdict_get(&m.md, "id"), "a-b");
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v1/buckets/%ff", NULL, &m, &err), PAWL_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.location, "path");
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v1/buckets/%00", NULL, &m, &err), PAWL_ERR_INVALID);
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v1/buckets/%zz", NULL, &m, &err), PAWL_ERR_INVALID);
}

static void test_not_found_and_version(void)
{
	struct pawl_match m;
	struct pawl_error err;

	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v1/nothing", NULL, &m, &err), PAWL_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v1/buckets//collections", NULL, &m, &err),
	    PAWL_ERR_NOT_FOUND);
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v2/buckets", NULL, &m, &err), PAWL_ERR_VERSION);
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v12", NULL, &m, &err), PAWL_ERR_VERSION);
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET,
	    "/v1/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t", NULL, &m, &err), PAWL_ERR_NOT_FOUND);
}

static void test_method_not_allowed(void)
{
	struct pawl_match m;
	struct pawl_error err;

	CU_ASSERT_EQUAL(match(PAWL_METHOD_PATCH, "/v1/buckets", NULL, &m, &err), PAWL_ERR_METHOD);
	CU_ASSERT_STRING_EQUAL(m.allow, "DELETE, GET, HEAD, POST");
	CU_ASSERT_EQUAL(match(PAWL_METHOD_POST, "/v1/buckets/b1", NULL, &m, &err), PAWL_ERR_METHOD);
	CU_ASSERT_STRING_EQUAL(m.allow, "DELETE, GET, HEAD, PATCH, PUT");
	CU_ASSERT_EQUAL(match(PAWL_METHOD_HEAD, "/v1/buckets/b1/collections/c1/records/r1", NULL,
	    &m, &err), PAWL_OK);
	CU_ASSERT_EQUAL(match(0, "/v1/", NULL, &m, &err), PAWL_ERR_METHOD);
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v1/batch", NULL, &m, &err), PAWL_ERR_METHOD);
	CU_ASSERT_STRING_EQUAL(m.allow, "POST");
}

static void test_redirects(void)
{
	struct pawl_match m;
	struct pawl_error err;

	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/buckets/b1", "a=1&b=2", &m, &err), PAWL_OK);
	CU_ASSERT_PTR_NULL(m.route);
	CU_ASSERT_STRING_EQUAL(m.location, "/v1/buckets/b1?a=1&b=2");
	CU_ASSERT_EQUAL(m.cache_ttl, -1);
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/", NULL, &m, &err), PAWL_OK);
	CU_ASSERT_STRING_EQUAL(m.location, "/v1/");
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v1", "x=1", &m, &err), PAWL_OK);
	CU_ASSERT_STRING_EQUAL(m.location, "/v1/?x=1");
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v1/buckets/", NULL, &m, &err), PAWL_OK);
	CU_ASSERT_STRING_EQUAL(m.location, "/v1/buckets");
	CU_ASSERT_EQUAL(m.cache_ttl, 3600);
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v1/buckets/b%20c/", "q", &m, &err), PAWL_OK);
	CU_ASSERT_STRING_EQUAL(m.location, "/v1/buckets/b%20c?q");
	/* Encoded CR/LF: never redirected, and never decoded into a header. */
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/x%0D%0ASet-Cookie:a=b", NULL, &m, &err),
	    PAWL_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(m.location);
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/x\r\nA: b", NULL, &m, &err), PAWL_ERR_INVALID);
	CU_ASSERT_EQUAL(match(PAWL_METHOD_GET, "/v1/nothing/", NULL, &m, &err), PAWL_OK);
	CU_ASSERT_STRING_EQUAL(m.location, "/v1/nothing");
}

/* {impacted} would collide with the event payload's own key: refused at start. */
static void test_reserved_placeholder(void)
{
	struct pawl_error err;
	struct pawl_config *c = pawl_config_parse("[app:main]\nresources = spore\n"
	    "resources.spore.list = /farms/{impacted}/spores\n"
	    "resources.spore.item = /farms/{impacted}/spores/{id}\n", "test.ini", NULL, &err);
	struct pawl_resource_table *t = c ? pawl_resource_table_new(c, &err) : NULL;
	struct pawl_router *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	pawl_error_clear(&err);
	r = pawl_router_new(t, c, &err);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(err.code, PAWL_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "{impacted} is reserved"));
	pawl_router_free(r);
	pawl_resource_table_free(t);
	pawl_config_free(c);
}

static void test_method_parse(void)
{
	CU_ASSERT_EQUAL(pawl_method_parse("GET"), PAWL_METHOD_GET);
	CU_ASSERT_EQUAL(pawl_method_parse("PATCH"), PAWL_METHOD_PATCH);
	CU_ASSERT_EQUAL(pawl_method_parse("get"), 0);
	CU_ASSERT_EQUAL(pawl_method_parse("TRACE"), 0);
	CU_ASSERT_EQUAL(pawl_method_parse(NULL), 0);
}

void test_router_register(void)
{
	CU_pSuite s = CU_add_suite("router", setup, teardown);

	CU_add_test(s, "record item matchdict", test_record_item);
	CU_add_test(s, "lists and service endpoints", test_lists_and_services);
	CU_add_test(s, "percent decoding", test_percent_decoding);
	CU_add_test(s, "404 and version", test_not_found_and_version);
	CU_add_test(s, "405 with Allow", test_method_not_allowed);
	CU_add_test(s, "307 redirects", test_redirects);
	CU_add_test(s, "method names", test_method_parse);
	CU_add_test(s, "placeholder {impacted} reserved", test_reserved_placeholder);
}
