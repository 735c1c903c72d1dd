/*
 * The "impacted" key of event payloads (app/events/stage.c): the id and
 * last_modified of every object an event stands for, in commit order, for a
 * POST and a plural DELETE too; the include_data variant with its cap; JSON
 * escaping of hostile ids and values; the keys before it left byte for byte
 * as they were.
 */
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>
#include <json-c/json.h>

#include "events/stage.h"
#include "unit.h"

static struct pawl_arena *arena;
static struct pawl_matchdict md;

static int setup(void)
{
	arena = pawl_arena_new(8192);
	md.kv[0].name = "bucket_id";
	md.kv[0].value = "b";
	md.kv[1].name = "collection_id";
	md.kv[1].value = "c";
	md.n = 2;
	return arena == NULL;
}

static int teardown(void)
{
	pawl_arena_free(arena);
	return 0;
}

/* An op on the records list of /buckets/b/collections/c (a POST or a plural DELETE). */
static struct pawl_stage_op list_op(enum pawl_event_action action, long long ts,
    const char *new_json, const char *old_json)
{
	struct pawl_stage_op op;

	memset(&op, 0, sizeof(op));
	op.action = action;
	op.resource_name = "record";
	op.parent_id = "/buckets/b/collections/c";
	op.uri = "/buckets/b/collections/c/records";
	op.user_id = "basicauth:alice";
	op.timestamp = ts;
	op.md = &md;
	op.new_json = new_json;
	op.old_json = old_json;
	return op;
}

static struct pawl_stage *stage(const struct pawl_stage_op *ops, size_t n)
{
	struct pawl_stage *st;
	struct pawl_error err;
	size_t i;

	pawl_arena_reset(arena);
	st = pawl_stage_new(arena);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	for (i = 0; i < n; i++)
		CU_ASSERT_EQUAL_FATAL(pawl_stage_add(st, &ops[i], &err), PAWL_OK);
	CU_ASSERT_EQUAL_FATAL(pawl_stage_seal(st, &err), PAWL_OK);
	return st;
}

/* The "impacted" array of a payload text (the whole tree in *root, to put). */
static json_object *impacted(const char *payload, json_object **root)
{
	json_object *a = NULL;

	*root = payload ? json_tokener_parse(payload) : NULL;
	CU_ASSERT_PTR_NOT_NULL_FATAL(*root);
	CU_ASSERT_FATAL(json_object_object_get_ex(*root, "impacted", &a) &&
	    json_object_is_type(a, json_type_array));
	return a;
}

static const char *plain(json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

static const char *entry(json_object *a, size_t i)
{
	return plain(json_object_array_get_idx(a, i));
}

/* POST on a list: the event's uri is the list, "impacted" names the new record. */
static void test_post_names_the_object(void)
{
	struct pawl_stage_op op = list_op(PAWL_EVENT_CREATE, 100,
	    "{\"id\":\"r1\",\"last_modified\":100,\"n\":2}", NULL);
	struct pawl_stage *st = stage(&op, 1);
	const struct pawl_event *ev = pawl_stage_event(st, 0);
	char want[512];

	/* Every key of before, byte for byte, then the added one. */
	snprintf(want, sizeof(want), "{\"timestamp\":100,\"action\":\"create\","
	    "\"uri\":\"/buckets/b/collections/c/records\",\"user_id\":\"basicauth:alice\","
	    "\"resource_name\":\"record\",\"bucket_id\":\"b\",\"collection_id\":\"c\","
	    "\"event_id\":\"%s\",\"impacted\":[{\"id\":\"r1\",\"last_modified\":100}]}",
	    pawl_event_id(ev));
	CU_ASSERT_STRING_EQUAL(pawl_event_payload(ev), want);
}

/* A plural DELETE of 3: three entries, each with its tombstone's last_modified. */
static void test_plural_delete_names_each(void)
{
	struct pawl_stage_op ops[3];
	json_object *root, *a;
	size_t i;

	ops[0] = list_op(PAWL_EVENT_DELETE, 300, "{\"id\":\"a\",\"last_modified\":301,\"deleted\":true}",
	    "{\"id\":\"a\",\"last_modified\":10,\"x\":1}");
	ops[1] = list_op(PAWL_EVENT_DELETE, 300, "{\"deleted\":true,\"last_modified\":302,\"id\":\"b\"}",
	    "{\"id\":\"b\",\"last_modified\":11}");
	ops[2] = list_op(PAWL_EVENT_DELETE, 300, "{\"id\":\"c\",\"last_modified\":303,\"deleted\":true}",
	    "{\"id\":\"c\",\"last_modified\":12}");
	a = impacted(pawl_event_payload(pawl_stage_event(stage(ops, 3), 0)), &root);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(a), 3);
	for (i = 0; i < 3; i++) {
		char want[64];

		snprintf(want, sizeof(want), "{\"id\":\"%c\",\"last_modified\":%zu}", (char)('a' + i),
		    301 + i);
		CU_ASSERT_STRING_EQUAL(entry(a, i), want);
	}
	CU_ASSERT_FALSE(json_object_object_get_ex(root, "record_id", NULL));
	json_object_put(root);
}

/* A batch: two creates (a PUT, then a POST) merge into one event naming both in order. */
static void test_merged_batch(void)
{
	struct pawl_matchdict item = md;
	struct pawl_stage_op ops[3];
	json_object *root, *a;
	struct pawl_stage *st;

	item.kv[2].name = "id";
	item.kv[2].value = "r1";
	item.n = 3;
	ops[0] = list_op(PAWL_EVENT_CREATE, 50, "{\"id\":\"r1\",\"last_modified\":50}", NULL);
	ops[0].uri = "/buckets/b/collections/c/records/r1";
	ops[0].md = &item;
	ops[0].item = true;
	ops[1] = list_op(PAWL_EVENT_UPDATE, 51, "{\"id\":\"r0\",\"last_modified\":51}",
	    "{\"id\":\"r0\",\"last_modified\":7}");
	ops[2] = list_op(PAWL_EVENT_CREATE, 52, "{\"id\":\"r2\",\"last_modified\":52}", NULL);
	st = stage(ops, 3);
	CU_ASSERT_EQUAL_FATAL(pawl_stage_count(st), 2);
	a = impacted(pawl_event_payload(pawl_stage_event(st, 0)), &root);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(a), 2);
	CU_ASSERT_STRING_EQUAL(entry(a, 0), "{\"id\":\"r1\",\"last_modified\":50}");
	CU_ASSERT_STRING_EQUAL(entry(a, 1), "{\"id\":\"r2\",\"last_modified\":52}");
	/* The first write still names the event, as before. */
	CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(root, "record_id")), "r1");
	json_object_put(root);
	a = impacted(pawl_event_payload(pawl_stage_event(st, 1)), &root);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(a), 1);
	CU_ASSERT_STRING_EQUAL(entry(a, 0), "{\"id\":\"r0\",\"last_modified\":51}");
	json_object_put(root);
}

/* Whether payload and data differ only in their "impacted" member. */
static bool same_prefix(const char *payload, const char *data)
{
	const char *at = strstr(payload, ",\"impacted\":[");

	return at != NULL && strncmp(payload, data, (size_t)(at - payload + 13)) == 0;
}

static void test_data_under_and_over_the_cap(void)
{
	static const char new1[] = "{\"id\":\"a\",\"last_modified\":2,\"v\":[1, 2]}";
	static const char old1[] = "{\"id\":\"a\",\"last_modified\":1}";
	static const char new2[] = "{\"id\":\"b\",\"last_modified\":3,\"big\":\"0123456789\"}";
	struct pawl_stage_op ops[2];
	const struct pawl_event *ev;
	const char *d;
	json_object *root, *a;
	size_t all;

	ops[0] = list_op(PAWL_EVENT_UPDATE, 2, new1, old1);
	ops[1] = list_op(PAWL_EVENT_UPDATE, 3, new2, "{\"id\":\"b\",\"last_modified\":0}");
	ev = pawl_stage_event(stage(ops, 2), 0);
	/* Room for all: new and old as compact JSON, the ids as without data. */
	d = pawl_stage_payload_data(arena, ev, 65536);
	CU_ASSERT_TRUE(same_prefix(pawl_event_payload(ev), d));
	a = impacted(d, &root);
	CU_ASSERT_EQUAL_FATAL(json_object_array_length(a), 2);
	CU_ASSERT_STRING_EQUAL(entry(a, 0), "{\"id\":\"a\",\"last_modified\":2,"
	    "\"new\":{\"id\":\"a\",\"last_modified\":2,\"v\":[1,2]},"
	    "\"old\":{\"id\":\"a\",\"last_modified\":1}}");
	CU_ASSERT_STRING_EQUAL(entry(a, 1), "{\"id\":\"b\",\"last_modified\":3,"
	    "\"new\":{\"id\":\"b\",\"last_modified\":3,\"big\":\"0123456789\"},"
	    "\"old\":{\"id\":\"b\",\"last_modified\":0}}");
	json_object_put(root);
	/* Exactly the size of all four compact texts fits; a byte less cuts the second entry. */
	all = strlen("{\"id\":\"a\",\"last_modified\":2,\"v\":[1,2]}") + strlen(old1) +
	    strlen(new2) + strlen("{\"id\":\"b\",\"last_modified\":0}");
	a = impacted(pawl_stage_payload_data(arena, ev, all), &root);
	CU_ASSERT_PTR_NOT_NULL(strstr(entry(a, 1), "\"new\""));
	json_object_put(root);
	a = impacted(pawl_stage_payload_data(arena, ev, all - 1), &root);
	CU_ASSERT_PTR_NOT_NULL(strstr(entry(a, 0), "\"old\""));
	CU_ASSERT_STRING_EQUAL(entry(a, 1), "{\"id\":\"b\",\"last_modified\":3,\"data_truncated\":true}");
	json_object_put(root);
	/* A cap of 0: ids only, every entry marked; still one valid JSON document. */
	a = impacted(pawl_stage_payload_data(arena, ev, 0), &root);
	CU_ASSERT_STRING_EQUAL(entry(a, 0), "{\"id\":\"a\",\"last_modified\":2,\"data_truncated\":true}");
	CU_ASSERT_STRING_EQUAL(entry(a, 1), "{\"id\":\"b\",\"last_modified\":3,\"data_truncated\":true}");
	json_object_put(root);
	/* Without the option nothing changes: the payload has no data at all. */
	CU_ASSERT_PTR_NULL(strstr(pawl_event_payload(ev), "\"new\""));
	CU_ASSERT_PTR_NULL(strstr(pawl_event_payload(ev), "data_truncated"));
}

/* A prefix of entries get data: once one does not fit, later small ones do not either. */
static void test_cap_keeps_commit_order(void)
{
	struct pawl_stage_op ops[2];
	json_object *root, *a;

	ops[0] = list_op(PAWL_EVENT_CREATE, 1, "{\"id\":\"big\",\"last_modified\":1,"
	    "\"t\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}", NULL);
	ops[1] = list_op(PAWL_EVENT_CREATE, 2, "{\"id\":\"s\",\"last_modified\":2}", NULL);
	a = impacted(pawl_stage_payload_data(arena, pawl_stage_event(stage(ops, 2), 0), 40), &root);
	CU_ASSERT_STRING_EQUAL(entry(a, 0), "{\"id\":\"big\",\"last_modified\":1,\"data_truncated\":true}");
	CU_ASSERT_STRING_EQUAL(entry(a, 1), "{\"id\":\"s\",\"last_modified\":2,\"data_truncated\":true}");
	json_object_put(root);
}

/* Ids and values with quotes, backslashes, controls and markup stay inside their strings. */
static void test_hostile_text_escaped(void)
{
	static const char obj[] = "{\"id\":\"a\\\"b\\\\c\\n\\u0001</script>\\u00e9\","
	    "\"last_modified\":9,\"v\":\"\\\"},{\\\"id\\\":\\\"x\\\"}]\"}";
	struct pawl_stage_op op = list_op(PAWL_EVENT_CREATE, 9, obj, NULL);
	const struct pawl_event *ev = pawl_stage_event(stage(&op, 1), 0);
	json_object *root, *a, *id, *nw;
	const char *texts[2];
	size_t i;

	texts[0] = pawl_event_payload(ev);
	texts[1] = pawl_stage_payload_data(arena, ev, 65536);
	for (i = 0; i < 2; i++) {
		a = impacted(texts[i], &root);
		CU_ASSERT_EQUAL_FATAL(json_object_array_length(a), 1);
		CU_ASSERT_FATAL(json_object_object_get_ex(json_object_array_get_idx(a, 0), "id", &id));
		CU_ASSERT_STRING_EQUAL(json_object_get_string(id), "a\"b\\c\n\001</script>\xc3\xa9");
		CU_ASSERT_EQUAL(json_object_object_length(root), 9); /* a list URL: no record_id */
		if (i == 1) {
			CU_ASSERT_FATAL(json_object_object_get_ex(json_object_array_get_idx(a, 0),
			    "new", &nw));
			CU_ASSERT_STRING_EQUAL(json_object_get_string(json_object_object_get(nw, "v")),
			    "\"},{\"id\":\"x\"}]");
		}
		json_object_put(root);
	}
}

void test_impacted_register(void)
{
	CU_pSuite s = CU_add_suite("impacted", setup, teardown);

	CU_add_test(s, "a POST names the object it created", test_post_names_the_object);
	CU_add_test(s, "a plural DELETE names every object", test_plural_delete_names_each);
	CU_add_test(s, "a merged batch event names all its objects", test_merged_batch);
	CU_add_test(s, "include_data under and over the cap", test_data_under_and_over_the_cap);
	CU_add_test(s, "the cap cuts a prefix in commit order", test_cap_keeps_commit_order);
	CU_add_test(s, "hostile ids and values are JSON-escaped", test_hostile_text_escaped);
}
