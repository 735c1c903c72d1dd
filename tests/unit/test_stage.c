/*
 * Event staging (app/events/stage.c): ops of one transaction merged into
 * events as docs/protocol.md §8 says (one per resource, parent and action,
 * first-occurrence order, payload of the first op, impacted objects
 * accumulated), the payload's keys, savepoint marks, clear, and the
 * subscribers' filter. Payloads are parsed and compared field by field.
 */
#include <string.h>
#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "events/stage.h"
#include "events/subscribers.h"
#include "unit.h"

static struct pawl_arena *arena;

static int setup(void)
{
	arena = pawl_arena_new(8192);
	return arena == NULL;
}

static int teardown(void)
{
	pawl_arena_free(arena);
	return 0;
}

/* A record op in /buckets/b/collections/<coll>: an item URL when id is set. */
static struct pawl_stage_op record_op(struct pawl_matchdict *md, enum pawl_event_action action,
    const char *coll, const char *id, long long ts)
{
	struct pawl_stage_op op;

	memset(md, 0, sizeof(*md));
	md->kv[0].name = "bucket_id";
	md->kv[0].value = "b";
	md->kv[1].name = "collection_id";
	md->kv[1].value = coll;
	md->n = 2;
	if (id != NULL) {
		md->kv[2].name = "id";
		md->kv[2].value = id;
		md->n = 3;
	}
	memset(&op, 0, sizeof(op));
	op.action = action;
	op.resource_name = "record";
	op.parent_id = pawl_arena_printf(arena, "/buckets/b/collections/%s", coll);
	op.uri = id ? pawl_arena_printf(arena, "/buckets/b/collections/%s/records/%s", coll, id)
	    : pawl_arena_printf(arena, "/buckets/b/collections/%s/records", coll);
	op.user_id = "basicauth:alice";
	op.timestamp = ts;
	op.md = md;
	op.item = id != NULL;
	return op;
}

static void add(struct pawl_stage *st, const struct pawl_stage_op *op)
{
	struct pawl_error err;

	CU_ASSERT_EQUAL_FATAL(pawl_stage_add(st, op, &err), PAWL_OK);
}

static void seal(struct pawl_stage *st)
{
	struct pawl_error err;

	CU_ASSERT_EQUAL_FATAL(pawl_stage_seal(st, &err), PAWL_OK);
}

static json_object *payload(const struct pawl_event *ev)
{
	json_object *o = json_tokener_parse(pawl_event_payload(ev));

	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	return o;
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static long long ts_of(json_object *o)
{
	json_object *v;

	return json_object_object_get_ex(o, "timestamp", &v) ? json_object_get_int64(v) : -1;
}

/* The "id" member of an impacted object's JSON, or NULL. */
static bool impact_id(const char *json, const char *want)
{
	json_object *o = json ? json_tokener_parse(json) : NULL;
	bool ok = o != NULL && same(str_of(o, "id"), want);

	json_object_put(o);
	return ok;
}

static void test_merge_per_action_and_list(void)
{
	struct pawl_stage *st;
	struct pawl_matchdict md[6];
	struct pawl_stage_op op;
	const struct pawl_event *ev;
	json_object *p;

	pawl_arena_reset(arena);
	st = pawl_stage_new(arena);
	op = record_op(&md[0], PAWL_EVENT_CREATE, "c", "r1", 100);
	op.new_json = "{\"id\":\"r1\",\"last_modified\":100}";
	add(st, &op);
	op = record_op(&md[1], PAWL_EVENT_UPDATE, "c", "r1", 101);
	op.old_json = "{\"id\":\"r1\",\"last_modified\":100}";
	op.new_json = "{\"id\":\"r1\",\"last_modified\":101,\"v\":2}";
	add(st, &op);
	op = record_op(&md[2], PAWL_EVENT_CREATE, "c", "r2", 102);
	op.new_json = "{\"id\":\"r2\",\"last_modified\":102}";
	add(st, &op);
	op = record_op(&md[3], PAWL_EVENT_CREATE, "c2", "r3", 103);
	op.new_json = "{\"id\":\"r3\",\"last_modified\":103}";
	add(st, &op);
	CU_ASSERT_EQUAL(pawl_stage_count(st), 0); /* nothing before sealing */
	seal(st);
	CU_ASSERT_EQUAL_FATAL(pawl_stage_count(st), 3);
	/* create in c: both records, payload of the first op. */
	ev = pawl_stage_event(st, 0);
	CU_ASSERT_EQUAL(pawl_event_type(ev), PAWL_EVENT_RESOURCE_CHANGED);
	CU_ASSERT_EQUAL(pawl_event_action(ev), PAWL_EVENT_CREATE);
	CU_ASSERT_EQUAL_FATAL(pawl_event_impacted_count(ev), 2);
	CU_ASSERT_TRUE(impact_id(pawl_event_impacted_new(ev, 0), "r1"));
	CU_ASSERT_TRUE(impact_id(pawl_event_impacted_new(ev, 1), "r2"));
	CU_ASSERT_PTR_NULL(pawl_event_impacted_old(ev, 0));
	CU_ASSERT_PTR_NULL(pawl_event_impacted_new(ev, 2));
	CU_ASSERT_STRING_EQUAL(pawl_event_list_key(ev), "/buckets/b/collections/c record");
	p = payload(ev);
	CU_ASSERT_EQUAL(ts_of(p), 100);
	CU_ASSERT_TRUE(same(str_of(p, "uri"), "/buckets/b/collections/c/records/r1"));
	CU_ASSERT_TRUE(same(str_of(p, "record_id"), "r1"));
	json_object_put(p);
	/* update in c: its own event, old and new. */
	ev = pawl_stage_event(st, 1);
	CU_ASSERT_EQUAL(pawl_event_action(ev), PAWL_EVENT_UPDATE);
	CU_ASSERT_EQUAL_FATAL(pawl_event_impacted_count(ev), 1);
	CU_ASSERT_TRUE(impact_id(pawl_event_impacted_old(ev, 0), "r1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(pawl_event_impacted_new(ev, 0), "\"v\":2"));
	/* create in another list: another event. */
	ev = pawl_stage_event(st, 2);
	CU_ASSERT_EQUAL(pawl_event_action(ev), PAWL_EVENT_CREATE);
	CU_ASSERT_EQUAL(pawl_event_impacted_count(ev), 1);
	CU_ASSERT_STRING_EQUAL(pawl_event_list_key(ev), "/buckets/b/collections/c2 record");
	p = payload(ev);
	CU_ASSERT_EQUAL(ts_of(p), 103);
	CU_ASSERT_TRUE(same(str_of(p, "collection_id"), "c2"));
	json_object_put(p);
	/* Every event its own id, the same in its payload. */
	CU_ASSERT_STRING_NOT_EQUAL(pawl_event_id(pawl_stage_event(st, 0)),
	    pawl_event_id(pawl_stage_event(st, 1)));
	CU_ASSERT_PTR_NULL(pawl_stage_event(st, 3));
}

static void test_payload_keys(void)
{
	struct pawl_stage *st;
	struct pawl_matchdict md[2];
	struct pawl_stage_op op;
	const struct pawl_event *ev;
	json_object *p, *v;

	pawl_arena_reset(arena);
	st = pawl_stage_new(arena);
	op = record_op(&md[0], PAWL_EVENT_CREATE, "c", "r\"1", 1234567890123LL);
	op.new_json = "{}";
	add(st, &op);
	op = record_op(&md[1], PAWL_EVENT_DELETE, "c", NULL, 7);
	op.user_id = NULL;
	add(st, &op);
	seal(st);
	CU_ASSERT_EQUAL_FATAL(pawl_stage_count(st), 2);
	ev = pawl_stage_event(st, 0);
	p = payload(ev);
	CU_ASSERT_EQUAL(json_object_object_length(p), 10);
	/* "{}" names no object: an entry still, with nulls (test_impacted.c for the rest). */
	CU_ASSERT_TRUE(json_object_object_get_ex(p, "impacted", &v) &&
	    json_object_array_length(v) == 1 && strcmp(json_object_to_json_string_ext(
	    json_object_array_get_idx(v, 0), JSON_C_TO_STRING_PLAIN),
	    "{\"id\":null,\"last_modified\":null}") == 0);
	CU_ASSERT_EQUAL(ts_of(p), 1234567890123LL);
	CU_ASSERT_TRUE(same(str_of(p, "action"), "create"));
	CU_ASSERT_TRUE(same(str_of(p, "uri"), "/buckets/b/collections/c/records/r\"1"));
	CU_ASSERT_TRUE(same(str_of(p, "user_id"), "basicauth:alice"));
	CU_ASSERT_TRUE(same(str_of(p, "resource_name"), "record"));
	CU_ASSERT_TRUE(same(str_of(p, "bucket_id"), "b"));
	CU_ASSERT_TRUE(same(str_of(p, "collection_id"), "c"));
	CU_ASSERT_TRUE(same(str_of(p, "record_id"), "r\"1"));
	CU_ASSERT_TRUE(same(str_of(p, "event_id"), pawl_event_id(ev)));
	CU_ASSERT_EQUAL(strlen(pawl_event_id(ev)), 36);
	CU_ASSERT_FALSE(json_object_object_get_ex(p, "id", NULL));
	CU_ASSERT_FALSE(json_object_object_get_ex(p, "cascade", NULL));
	json_object_put(p);
	/* The same values through pawl_event_get. */
	CU_ASSERT_TRUE(same(pawl_event_get(ev, "record_id"), "r\"1"));
	CU_ASSERT_TRUE(same(pawl_event_get(ev, "collection_id"), "c"));
	CU_ASSERT_TRUE(same(pawl_event_get(ev, "action"), "create"));
	CU_ASSERT_PTR_NULL(pawl_event_get(ev, "id"));
	/* A plural URL: no <resource>_id; anonymous: user_id null. */
	ev = pawl_stage_event(st, 1);
	p = payload(ev);
	CU_ASSERT_TRUE(same(str_of(p, "action"), "delete"));
	CU_ASSERT_TRUE(json_object_object_get_ex(p, "user_id", &v) && v == NULL);
	CU_ASSERT_FALSE(json_object_object_get_ex(p, "record_id", NULL));
	CU_ASSERT_TRUE(same(str_of(p, "uri"), "/buckets/b/collections/c/records"));
	CU_ASSERT_EQUAL(pawl_event_impacted_count(ev), 0);
	CU_ASSERT_PTR_NULL(pawl_event_get(ev, "record_id"));
	json_object_put(p);
}

static void test_cascade_summed(void)
{
	struct pawl_stage *st;
	struct pawl_matchdict md[2];
	struct pawl_stage_op op;
	struct pawl_cascade c1, c2;
	json_object *p, *cascade, *v;

	memset(&c1, 0, sizeof(c1));
	memset(&c2, 0, sizeof(c2));
	c1.n = 1;
	c1.kinds[0].resource_name = "record";
	c1.kinds[0].count = 2;
	c2.n = 2;
	c2.kinds[0].resource_name = "history";
	c2.kinds[0].count = 4;
	c2.kinds[1].resource_name = "record";
	c2.kinds[1].count = 3;
	pawl_arena_reset(arena);
	st = pawl_stage_new(arena);
	op = record_op(&md[0], PAWL_EVENT_DELETE, "c", "r1", 5);
	op.cascade = &c1;
	add(st, &op);
	op = record_op(&md[1], PAWL_EVENT_DELETE, "c", "r2", 6);
	op.cascade = &c2;
	add(st, &op);
	seal(st);
	CU_ASSERT_EQUAL_FATAL(pawl_stage_count(st), 1);
	p = payload(pawl_stage_event(st, 0));
	CU_ASSERT_TRUE_FATAL(json_object_object_get_ex(p, "cascade", &cascade));
	CU_ASSERT_EQUAL(json_object_object_length(cascade), 2);
	CU_ASSERT_TRUE(json_object_object_get_ex(cascade, "record", &v) && json_object_get_int(v) == 5);
	CU_ASSERT_TRUE(json_object_object_get_ex(cascade, "history", &v) && json_object_get_int(v) == 4);
	CU_ASSERT_TRUE(same(str_of(p, "record_id"), "r1"));
	json_object_put(p);
}

static void test_mark_rewind(void)
{
	struct pawl_stage *st;
	struct pawl_matchdict md[4];
	struct pawl_stage_op op;
	size_t mark;

	pawl_arena_reset(arena);
	st = pawl_stage_new(arena);
	op = record_op(&md[0], PAWL_EVENT_CREATE, "c", "kept", 1);
	op.new_json = "{\"id\":\"kept\"}";
	add(st, &op);
	mark = pawl_stage_mark(st);
	CU_ASSERT_EQUAL(mark, 1);
	/* A savepoint's sub-request stages, then rolls back. */
	op = record_op(&md[1], PAWL_EVENT_CREATE, "c", "dropped", 2);
	op.new_json = "{\"id\":\"dropped\"}";
	add(st, &op);
	op = record_op(&md[2], PAWL_EVENT_DELETE, "c", "gone", 2);
	add(st, &op);
	pawl_stage_rewind(st, mark);
	CU_ASSERT_EQUAL(pawl_stage_mark(st), 1);
	pawl_stage_rewind(st, 5); /* a mark past the end changes nothing */
	CU_ASSERT_EQUAL(pawl_stage_mark(st), 1);
	op = record_op(&md[3], PAWL_EVENT_UPDATE, "c", "later", 3);
	add(st, &op);
	seal(st);
	CU_ASSERT_EQUAL_FATAL(pawl_stage_count(st), 2);
	CU_ASSERT_EQUAL(pawl_event_action(pawl_stage_event(st, 0)), PAWL_EVENT_CREATE);
	CU_ASSERT_EQUAL_FATAL(pawl_event_impacted_count(pawl_stage_event(st, 0)), 1);
	CU_ASSERT_TRUE(impact_id(pawl_event_impacted_new(pawl_stage_event(st, 0), 0), "kept"));
	CU_ASSERT_EQUAL(pawl_event_action(pawl_stage_event(st, 1)), PAWL_EVENT_UPDATE);
	CU_ASSERT_TRUE(same(pawl_event_get(pawl_stage_event(st, 1), "record_id"), "later"));
}

static void test_clear_and_sealed(void)
{
	struct pawl_stage *st;
	struct pawl_matchdict md[3];
	struct pawl_stage_op op;
	struct pawl_error err;

	pawl_arena_reset(arena);
	st = pawl_stage_new(arena);
	op = record_op(&md[0], PAWL_EVENT_CREATE, "c", "r1", 1);
	add(st, &op);
	seal(st);
	pawl_stage_mark_outboxed(st);
	CU_ASSERT_EQUAL(pawl_stage_count(st), 1);
	CU_ASSERT_TRUE(pawl_stage_outboxed(st));
	/* Sealed: no more ops. */
	op = record_op(&md[1], PAWL_EVENT_CREATE, "c", "r2", 2);
	CU_ASSERT_EQUAL(pawl_stage_add(st, &op, &err), PAWL_ERR_INTERNAL);
	/* A rollback forgets everything; the stage takes ops again. */
	pawl_stage_clear(st);
	CU_ASSERT_EQUAL(pawl_stage_count(st), 0);
	CU_ASSERT_EQUAL(pawl_stage_mark(st), 0);
	CU_ASSERT_FALSE(pawl_stage_outboxed(st));
	seal(st);
	CU_ASSERT_EQUAL(pawl_stage_count(st), 0);
	pawl_stage_clear(st);
	op = record_op(&md[2], PAWL_EVENT_DELETE, "c", "r3", 3);
	add(st, &op);
	seal(st);
	CU_ASSERT_EQUAL_FATAL(pawl_stage_count(st), 1);
	CU_ASSERT_TRUE(same(pawl_event_get(pawl_stage_event(st, 0), "record_id"), "r3"));
}

struct seen {
	size_t n;
	const char *what[8];
};

static void remember(const struct pawl_event *ev, void *ctx)
{
	struct seen *s = ctx;

	if (s->n < 8)
		s->what[s->n] = pawl_arena_printf(arena, "%s %s %s", pawl_event_action_name(
		    pawl_event_action(ev)), pawl_event_resource_name(ev), pawl_event_uri(ev));
	s->n++;
}

static void test_reads_staged_when_wanted(void)
{
	static const char *const records[] = { "record", NULL };
	static const char *const collections[] = { "collection", NULL };
	struct pawl_subscribers *reg = pawl_subscribers_new();
	struct pawl_stage *st;
	struct pawl_matchdict md;
	struct pawl_stage_op op;
	struct seen seen = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
	CU_ASSERT_FALSE(pawl_subscribers_wanted(NULL, PAWL_EVENT_READ, "record"));
	CU_ASSERT_FALSE(pawl_subscribers_wanted(reg, PAWL_EVENT_READ, "record"));
	pawl_subscribers_subscribe(reg, PAWL_EVENT_RESOURCE_CHANGED, PAWL_EVENT_CREATE |
	    PAWL_EVENT_UPDATE | PAWL_EVENT_DELETE, NULL, remember, &seen);
	CU_ASSERT_FALSE(pawl_subscribers_wanted(reg, PAWL_EVENT_READ, "record"));
	CU_ASSERT_TRUE(pawl_subscribers_wanted(reg, PAWL_EVENT_DELETE, "record"));
	pawl_subscribers_subscribe(reg, PAWL_EVENT_RESOURCE_READ, PAWL_EVENT_READ, collections,
	    remember, &seen);
	CU_ASSERT_FALSE(pawl_subscribers_wanted(reg, PAWL_EVENT_READ, "record"));
	CU_ASSERT_TRUE(pawl_subscribers_wanted(reg, PAWL_EVENT_READ, "collection"));
	pawl_subscribers_subscribe(reg, PAWL_EVENT_RESOURCE_READ, PAWL_EVENT_READ, records,
	    remember, &seen);
	CU_ASSERT_TRUE(pawl_subscribers_wanted(reg, PAWL_EVENT_READ, "record"));
	/* A read of an empty page is an event with no objects, of the read type. */
	pawl_arena_reset(arena);
	st = pawl_stage_new(arena);
	op = record_op(&md, PAWL_EVENT_READ, "c", NULL, 9);
	add(st, &op);
	seal(st);
	CU_ASSERT_EQUAL_FATAL(pawl_stage_count(st), 1);
	CU_ASSERT_EQUAL(pawl_event_type(pawl_stage_event(st, 0)), PAWL_EVENT_RESOURCE_READ);
	CU_ASSERT_EQUAL(pawl_event_impacted_count(pawl_stage_event(st, 0)), 0);
	pawl_subscribers_dispatch(reg, st);
	CU_ASSERT_EQUAL_FATAL(seen.n, 1); /* only the record reader */
	CU_ASSERT_STRING_EQUAL(seen.what[0], "read record /buckets/b/collections/c/records");
	pawl_subscribers_free(reg);
}

static void test_subscribers_match_and_dispatch(void)
{
	static const char *const both[] = { "bucket", "record", NULL };
	static const char *const none[] = { NULL };
	struct pawl_subscribers *reg = pawl_subscribers_new();
	struct pawl_stage *st;
	struct pawl_matchdict md[3];
	struct pawl_stage_op op;
	struct seen all = { 0 }, deletes = { 0 }, buckets = { 0 };

	CU_ASSERT_TRUE(pawl_subscribers_match(PAWL_EVENT_CREATE, NULL, PAWL_EVENT_CREATE, "record"));
	CU_ASSERT_FALSE(pawl_subscribers_match(PAWL_EVENT_CREATE, NULL, PAWL_EVENT_UPDATE, "record"));
	CU_ASSERT_TRUE(pawl_subscribers_match(PAWL_EVENT_UPDATE | PAWL_EVENT_DELETE, none,
	    PAWL_EVENT_DELETE, "group"));
	CU_ASSERT_TRUE(pawl_subscribers_match(PAWL_EVENT_DELETE, both, PAWL_EVENT_DELETE, "record"));
	CU_ASSERT_FALSE(pawl_subscribers_match(PAWL_EVENT_DELETE, both, PAWL_EVENT_DELETE, "records"));
	CU_ASSERT_FALSE(pawl_subscribers_match(PAWL_EVENT_DELETE, both, PAWL_EVENT_DELETE, "collection"));
	CU_ASSERT_FALSE(pawl_subscribers_match(0, NULL, PAWL_EVENT_READ, "record"));
	pawl_subscribers_subscribe(reg, PAWL_EVENT_RESOURCE_CHANGED, PAWL_EVENT_CREATE |
	    PAWL_EVENT_UPDATE | PAWL_EVENT_DELETE, NULL, remember, &all);
	pawl_subscribers_subscribe(reg, PAWL_EVENT_RESOURCE_CHANGED, PAWL_EVENT_DELETE, both,
	    remember, &deletes);
	pawl_subscribers_subscribe(reg, PAWL_EVENT_RESOURCE_CHANGED, PAWL_EVENT_CREATE |
	    PAWL_EVENT_UPDATE | PAWL_EVENT_DELETE, (const char *const[]){ "bucket", NULL },
	    remember, &buckets);
	pawl_arena_reset(arena);
	st = pawl_stage_new(arena);
	op = record_op(&md[0], PAWL_EVENT_CREATE, "c", "r1", 1);
	add(st, &op);
	op = record_op(&md[1], PAWL_EVENT_DELETE, "c", "r2", 2);
	add(st, &op);
	op = record_op(&md[2], PAWL_EVENT_CREATE, "c", "r3", 3); /* merged into the first */
	add(st, &op);
	seal(st);
	pawl_subscribers_dispatch(reg, st);
	CU_ASSERT_EQUAL_FATAL(all.n, 2);
	CU_ASSERT_STRING_EQUAL(all.what[0], "create record /buckets/b/collections/c/records/r1");
	CU_ASSERT_STRING_EQUAL(all.what[1], "delete record /buckets/b/collections/c/records/r2");
	CU_ASSERT_EQUAL_FATAL(deletes.n, 1);
	CU_ASSERT_STRING_EQUAL(deletes.what[0], "delete record /buckets/b/collections/c/records/r2");
	CU_ASSERT_EQUAL(buckets.n, 0);
	pawl_subscribers_free(reg);
}

void test_stage_register(void)
{
	CU_pSuite s = CU_add_suite("stage", setup, teardown);

	CU_add_test(s, "ops merged per action and list, payload of the first",
	    test_merge_per_action_and_list);
	CU_add_test(s, "payload keys", test_payload_keys);
	CU_add_test(s, "a merged delete's cascade sums its ops'", test_cascade_summed);
	CU_add_test(s, "rewind drops what a rolled-back savepoint staged", test_mark_rewind);
	CU_add_test(s, "clear, and nothing staged after sealing", test_clear_and_sealed);
	CU_add_test(s, "reads staged only when a subscriber wants them",
	    test_reads_staged_when_wanted);
	CU_add_test(s, "subscribers match on action bits and resource names",
	    test_subscribers_match_and_dispatch);
}
