/*
 * History entries planned from a stage (app/events/history.c): one entry per
 * impacted object with its own URI (POST, plural DELETE, batch), Kinto's
 * fields, buckets and collections for the readers, excluded resources and
 * users left out, a deleted bucket's history dropped; and the router's
 * history route, there only when history_enabled.
 */
#include <string.h>
#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "core/config.h"
#include "core/resource_table.h"
#include "events/history.h"
#include "events/stage.h"
#include "http/router.h"
#include "unit.h"

static struct pawl_arena *arena;
static struct pawl_config *cfg;
static struct pawl_matchdict md; /* the ops' events are not built here: any matchdict does */

static int setup(void)
{
	struct pawl_error err;

	arena = pawl_arena_new(8192);
	cfg = pawl_config_parse("[app:main]\nhistory_enabled = true\n"
	    "history.exclude_resources = /buckets/ex /buckets/b/collections/secret\n"
	    "    /buckets/b/collections/c/records/hid\n"
	    "history.exclude_user_ids = basicauth:eve\n", "unit", NULL, &err);
	return arena == NULL || cfg == NULL;
}

static int teardown(void)
{
	pawl_config_free(cfg);
	pawl_arena_free(arena);
	return 0;
}

/* Stages an op of resource rn in the list under parent, on object id. */
static void op(struct pawl_stage *st, enum pawl_event_action action, const char *rn,
    const char *parent, const char *id, const char *user)
{
	struct pawl_stage_op o = { .action = action, .resource_name = rn, .parent_id = parent,
	    .uri = "/whatever/the/request/said", .user_id = user, .timestamp = 1, .md = &md };
	struct pawl_error err;

	o.new_json = action == PAWL_EVENT_DELETE ?
	    pawl_arena_printf(arena, "{\"id\":\"%s\",\"last_modified\":2,\"deleted\":true}", id) :
	    pawl_arena_printf(arena, "{\"id\":\"%s\",\"last_modified\":2,\"title\":\"t\"}", id);
	CU_ASSERT_EQUAL_FATAL(pawl_stage_add(st, &o, &err), PAWL_OK);
}

static struct pawl_history_plan plan_of(struct pawl_stage *st)
{
	struct pawl_history_plan p;
	struct pawl_error err;

	CU_ASSERT_EQUAL_FATAL(pawl_stage_seal(st, &err), PAWL_OK);
	CU_ASSERT_EQUAL_FATAL(pawl_history_plan(cfg, arena, st, &p, &err), PAWL_OK);
	return p;
}

static const char *attr(const struct pawl_history_plan *p, size_t i, const char *key)
{
	json_object *o = json_tokener_parse(p->rows.attrs[i]), *v;
	const char *s = NULL;

	if (o != NULL && json_object_object_get_ex(o, key, &v))
		s = pawl_arena_strdup(arena, json_object_get_string(v));
	json_object_put(o);
	return s;
}

static void test_records(void)
{
	struct pawl_stage *st = pawl_stage_new(arena);
	struct pawl_history_plan p;

	op(st, PAWL_EVENT_CREATE, "record", "/buckets/b/collections/c", "r1", "basicauth:al");
	op(st, PAWL_EVENT_DELETE, "record", "/buckets/b/collections/c", "r2", "basicauth:al");
	op(st, PAWL_EVENT_DELETE, "record", "/buckets/b/collections/c", "r3", "basicauth:al");
	p = plan_of(st);
	CU_ASSERT_EQUAL_FATAL(p.rows.n, 3);
	CU_ASSERT_STRING_EQUAL(p.rows.uris[0], "/buckets/b/collections/c/records/r1");
	CU_ASSERT_STRING_EQUAL(p.rows.uris[2], "/buckets/b/collections/c/records/r3");
	CU_ASSERT_STRING_EQUAL(p.rows.buckets[1], "/buckets/b");
	CU_ASSERT_STRING_EQUAL(p.rows.collections[1], "/buckets/b/collections/c");
	CU_ASSERT_STRING_EQUAL(attr(&p, 0, "uri"), "/buckets/b/collections/c/records/r1");
	CU_ASSERT_STRING_EQUAL(attr(&p, 0, "record_id"), "r1");
	CU_ASSERT_STRING_EQUAL(attr(&p, 0, "collection_id"), "c");
	CU_ASSERT_STRING_EQUAL(attr(&p, 0, "action"), "create");
	CU_ASSERT_STRING_EQUAL(attr(&p, 1, "action"), "delete");
	CU_ASSERT_STRING_EQUAL(attr(&p, 0, "resource_name"), "record");
	CU_ASSERT_STRING_EQUAL(attr(&p, 0, "user_id"), "basicauth:al");
	CU_ASSERT_PTR_NULL(attr(&p, 0, "bucket_id"));
	CU_ASSERT_PTR_NULL(attr(&p, 0, "timestamp"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p.rows.targets[1], "\"deleted\":true"));
	CU_ASSERT_EQUAL(p.n_drops, 0);
}

static void test_buckets_collections_groups(void)
{
	struct pawl_stage *st = pawl_stage_new(arena);
	struct pawl_history_plan p;

	op(st, PAWL_EVENT_CREATE, "bucket", "", "nb", NULL);
	op(st, PAWL_EVENT_CREATE, "collection", "/buckets/nb", "cc", NULL);
	op(st, PAWL_EVENT_UPDATE, "group", "/buckets/nb", "g", NULL);
	p = plan_of(st);
	CU_ASSERT_EQUAL_FATAL(p.rows.n, 3);
	CU_ASSERT_STRING_EQUAL(p.rows.uris[0], "/buckets/nb");
	CU_ASSERT_STRING_EQUAL(p.rows.buckets[0], "/buckets/nb");
	CU_ASSERT_STRING_EQUAL(attr(&p, 0, "bucket_id"), "nb");
	CU_ASSERT_STRING_EQUAL(p.rows.uris[1], "/buckets/nb/collections/cc");
	CU_ASSERT_STRING_EQUAL(p.rows.collections[1], "/buckets/nb/collections/cc");
	CU_ASSERT_STRING_EQUAL(attr(&p, 1, "collection_id"), "cc");
	CU_ASSERT_STRING_EQUAL(p.rows.uris[2], "/buckets/nb/groups/g");
	CU_ASSERT_STRING_EQUAL(p.rows.collections[2], "");
	CU_ASSERT_STRING_EQUAL(attr(&p, 2, "group_id"), "g");
	CU_ASSERT_PTR_NULL(attr(&p, 2, "collection_id"));
	/* Anonymous: user_id null, as in the event. */
	CU_ASSERT_PTR_NULL(attr(&p, 2, "user_id"));
}

static void test_skipped(void)
{
	struct pawl_stage *st = pawl_stage_new(arena);
	struct pawl_history_plan p;

	op(st, PAWL_EVENT_READ, "record", "/buckets/b/collections/c", "r", "basicauth:al");
	op(st, PAWL_EVENT_CREATE, "account", "", "bob", "basicauth:al");
	op(st, PAWL_EVENT_CREATE, "note", "/notes/x", "n", "basicauth:al");
	op(st, PAWL_EVENT_CREATE, "record", "/weird/b/collections/c", "r", "basicauth:al");
	op(st, PAWL_EVENT_CREATE, "record", "/buckets/ex/collections/c", "r", "basicauth:al");
	op(st, PAWL_EVENT_CREATE, "record", "/buckets/b/collections/secret", "r", "basicauth:al");
	op(st, PAWL_EVENT_CREATE, "collection", "/buckets/b", "secret", "basicauth:al");
	op(st, PAWL_EVENT_CREATE, "record", "/buckets/b/collections/c", "hid", "basicauth:al");
	op(st, PAWL_EVENT_CREATE, "record", "/buckets/b/collections/c", "r", "basicauth:eve");
	op(st, PAWL_EVENT_CREATE, "record", "/buckets/b/collections/c", "kept", "basicauth:al");
	p = plan_of(st);
	CU_ASSERT_EQUAL_FATAL(p.rows.n, 1);
	CU_ASSERT_STRING_EQUAL(p.rows.uris[0], "/buckets/b/collections/c/records/kept");
}

/* A deleted bucket: no entry, its earlier entries forgotten, its history dropped. */
static void test_bucket_delete(void)
{
	struct pawl_stage *st = pawl_stage_new(arena);
	struct pawl_history_plan p;

	op(st, PAWL_EVENT_CREATE, "record", "/buckets/d/collections/c", "r", "basicauth:al");
	op(st, PAWL_EVENT_CREATE, "record", "/buckets/o/collections/c", "r", "basicauth:al");
	op(st, PAWL_EVENT_DELETE, "bucket", "", "d", "basicauth:al");
	op(st, PAWL_EVENT_CREATE, "bucket", "", "d", "basicauth:al");
	p = plan_of(st);
	CU_ASSERT_EQUAL_FATAL(p.n_drops, 1);
	CU_ASSERT_STRING_EQUAL(p.drops[0], "/buckets/d");
	CU_ASSERT_EQUAL_FATAL(p.rows.n, 2);
	CU_ASSERT_STRING_EQUAL(p.rows.uris[0], "/buckets/o/collections/c/records/r");
	CU_ASSERT_STRING_EQUAL(p.rows.uris[1], "/buckets/d");
}

/* Switched off, /buckets/b/history is no route; on, a list without POST. */
static void test_route(void)
{
	struct pawl_error err;
	struct pawl_config *off = pawl_config_parse("[app:main]\n", "unit", NULL, &err);
	struct pawl_resource_table *ton = pawl_resource_table_new(cfg, &err);
	struct pawl_resource_table *toff = off ? pawl_resource_table_new(off, &err) : NULL;
	struct pawl_router *ron = ton ? pawl_router_new(ton, cfg, &err) : NULL;
	struct pawl_router *roff = toff ? pawl_router_new(toff, off, &err) : NULL;
	struct pawl_match m;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ron);
	CU_ASSERT_PTR_NOT_NULL_FATAL(roff);
	memset(&m, 0, sizeof(m));
	CU_ASSERT_EQUAL(pawl_router_match(ron, arena, &(struct pawl_request_line){ PAWL_METHOD_GET,
	    "/v1/buckets/b/history", NULL }, &m, &err), PAWL_OK);
	CU_ASSERT(m.route != NULL && m.route->kind == PAWL_ROUTE_LIST && m.route->resource->history);
	CU_ASSERT(m.route != NULL && !(m.route->methods & PAWL_METHOD_POST));
	CU_ASSERT_PTR_NULL(pawl_resource_table_find(ton, "history"));
	memset(&m, 0, sizeof(m));
	CU_ASSERT_EQUAL(pawl_router_match(roff, arena, &(struct pawl_request_line){
	    PAWL_METHOD_GET, "/v1/buckets/b/history", NULL }, &m, &err), PAWL_ERR_NOT_FOUND);
	CU_ASSERT_PTR_NULL(m.route);
	memset(&m, 0, sizeof(m));
	CU_ASSERT_EQUAL(pawl_router_match(ron, arena, &(struct pawl_request_line){
	    PAWL_METHOD_POST, "/v1/buckets/b/history", NULL }, &m, &err), PAWL_ERR_METHOD);
	pawl_router_free(ron);
	pawl_router_free(roff);
	pawl_resource_table_free(ton);
	pawl_resource_table_free(toff);
	pawl_config_free(off);
}

/* A Kinto ini's history settings are read under their Kinto names. */
static void test_kinto_names(void)
{
	struct pawl_error err;
	struct pawl_config *k = pawl_config_parse("[app:main]\n"
	    "kinto.history.exclude_resources = /buckets/preview\n"
	    "    /buckets/signed/collections/certificates\n"
	    "kinto.history.exclude_user_ids = account:robot\n", "unit", NULL, &err);

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_PTR_NOT_NULL_FATAL(k->history_exclude_resources);
	CU_ASSERT_STRING_EQUAL(k->history_exclude_resources[0], "/buckets/preview");
	CU_ASSERT_STRING_EQUAL(k->history_exclude_resources[1], "/buckets/signed/collections/certificates");
	CU_ASSERT_PTR_NULL(k->history_exclude_resources[2]);
	CU_ASSERT_STRING_EQUAL(k->history_exclude_user_ids[0], "account:robot");
	CU_ASSERT_FALSE(k->history_enabled);
	pawl_config_free(k);
}

void test_history_register(void)
{
	CU_pSuite s = CU_add_suite("history", setup, teardown);

	CU_add_test(s, "records: own URIs, Kinto's fields, one per object", test_records);
	CU_add_test(s, "buckets, collections, groups", test_buckets_collections_groups);
	CU_add_test(s, "reads, other resources, excluded resources and users", test_skipped);
	CU_add_test(s, "a deleted bucket drops its history", test_bucket_delete);
	CU_add_test(s, "the route exists only when enabled", test_route);
	CU_add_test(s, "Kinto's names of the exclusion settings", test_kinto_names);
}
