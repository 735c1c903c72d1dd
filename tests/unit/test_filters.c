/* Query strings: operators, value typing, reserved parameters, limits, keep. */
#include <stdio.h>
#include <string.h>
#include <CUnit/CUnit.h>

#include "query/query.h"
#include "unit.h"

#define NOW 1500000000000LL
#define DAY 86400000LL

static struct pawl_arena *arena;
static struct pawl_query q;
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

static enum pawl_err parse(const char *qs)
{
	pawl_arena_reset(arena);
	pawl_error_clear(&err);
	return pawl_query_parse(arena, qs, NOW, &q, &err);
}

/* The one filter of a query string, or NULL. */
static const struct pawl_filter *one(const char *qs)
{
	if (parse(qs) != PAWL_OK || q.n_filters != 1)
		return NULL;
	return &q.filters[0];
}

static const char *compact(json_object *v)
{
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

/* Expects a 400 with exactly this message about this parameter. */
static void check_invalid(const char *qs, const char *name, const char *message)
{
	CU_ASSERT_EQUAL(parse(qs), PAWL_ERR_INVALID);
	CU_ASSERT_EQUAL(err.code, PAWL_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.location ? err.location : "", "querystring");
	CU_ASSERT_STRING_EQUAL(err.name, name);
	CU_ASSERT_STRING_EQUAL(err.message, message);
}

static void check_filter(const char *qs, enum pawl_filter_op op, const char *field,
    const char *json)
{
	const struct pawl_filter *f = one(qs);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(f->op, op);
	CU_ASSERT_STRING_EQUAL(f->field.name, field);
	CU_ASSERT_STRING_EQUAL(compact(f->value), json);
}

static void test_empty(void)
{
	CU_ASSERT_EQUAL(parse(NULL), PAWL_OK);
	CU_ASSERT_EQUAL(q.n_filters, 0);
	CU_ASSERT_EQUAL(q.n_sort, 1);
	CU_ASSERT_STRING_EQUAL(q.sort[0].field.name, "last_modified");
	CU_ASSERT_EQUAL(q.sort[0].field.kind, PAWL_FIELD_LAST_MODIFIED);
	CU_ASSERT_TRUE(q.sort[0].desc);
	CU_ASSERT_FALSE(q.has_since || q.has_before || q.has_limit || q.with_tombstones);
	CU_ASSERT_PTR_NULL(q.token);
	CU_ASSERT_STRING_EQUAL(q.keep, "");
	CU_ASSERT_EQUAL(parse("&&"), PAWL_OK);
	CU_ASSERT_EQUAL(q.n_filters, 0);
	CU_ASSERT_STRING_EQUAL(q.keep, "");
}

static void test_operators(void)
{
	check_filter("a=1", PAWL_FILTER_EQ, "a", "1");
	check_filter("eq_a=1", PAWL_FILTER_EQ, "a", "1");
	check_filter("min_a=1", PAWL_FILTER_MIN, "a", "1");
	check_filter("max_a=1", PAWL_FILTER_MAX, "a", "1");
	check_filter("lt_a=1", PAWL_FILTER_LT, "a", "1");
	check_filter("gt_a=1", PAWL_FILTER_GT, "a", "1");
	check_filter("not_a=1", PAWL_FILTER_NOT, "a", "1");
	check_filter("in_a=1,x,%22y%22", PAWL_FILTER_IN, "a", "[1,\"x\",\"y\"]");
	check_filter("exclude_a=1,2", PAWL_FILTER_EXCLUDE, "a", "[1,2]");
	check_filter("like_a=b", PAWL_FILTER_LIKE, "a", "\"%b%\"");
	check_filter("has_a=true", PAWL_FILTER_HAS, "a", "true");
	check_filter("contains_a=1", PAWL_FILTER_CONTAINS, "a", "[1]");
	check_filter("contains_any_a=%5B1,2%5D", PAWL_FILTER_CONTAINS_ANY, "a", "[1,2]");
	/* contains_any_ is tried before contains_. */
	check_filter("contains_any_x=1", PAWL_FILTER_CONTAINS_ANY, "x", "[1]");
	check_filter("contains_anyx=1", PAWL_FILTER_CONTAINS, "anyx", "[1]");
	/* A prefix with nothing valid after it is part of the field name. */
	check_filter("min_=3", PAWL_FILTER_EQ, "min_", "3");
	check_filter("notes=3", PAWL_FILTER_EQ, "notes", "3");
	check_invalid("not_a-b=1", "not_a-b", "Invalid filter field 'not_a-b'");
}

static void test_value_typing(void)
{
	check_filter("a=2", PAWL_FILTER_EQ, "a", "2");
	check_filter("a=%222%22", PAWL_FILTER_EQ, "a", "\"2\"");
	check_filter("a=true", PAWL_FILTER_EQ, "a", "true");
	check_filter("a=%5B1,2%5D", PAWL_FILTER_EQ, "a", "[1,2]");
	check_filter("a=%7B%22x%22:1%7D", PAWL_FILTER_EQ, "a", "{\"x\":1}");
	check_filter("a=abc", PAWL_FILTER_EQ, "a", "\"abc\"");
	check_filter("a=", PAWL_FILTER_EQ, "a", "\"\"");
	check_filter("a", PAWL_FILTER_EQ, "a", "\"\"");
	check_filter("a=hello+world", PAWL_FILTER_EQ, "a", "\"hello world\"");
	check_filter("a=1.5", PAWL_FILTER_EQ, "a", "1.5");
	check_filter("a=1e999", PAWL_FILTER_EQ, "a", "\"1e999\"");
	check_filter("a=NaN", PAWL_FILTER_EQ, "a", "\"NaN\"");
	check_filter("a=%5B1,", PAWL_FILTER_EQ, "a", "\"[1,\"");
	check_filter("a=%2500", PAWL_FILTER_EQ, "a", "\"%00\"");
	check_filter("a=%C3%A9", PAWL_FILTER_EQ, "a", "\"\xc3\xa9\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(one("a=null"));
	CU_ASSERT_PTR_NULL(q.filters[0].value); /* JSON null */
	CU_ASSERT_EQUAL(q.filters[0].op, PAWL_FILTER_EQ);
}

static void test_dotted_fields(void)
{
	const struct pawl_filter *f = one("person.name=Eliot");
	char qs[400];

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(f->field.kind, PAWL_FIELD_DATA);
	CU_ASSERT_EQUAL(f->field.depth, 2);
	CU_ASSERT_STRING_EQUAL(f->field.path[0], "person");
	CU_ASSERT_STRING_EQUAL(f->field.path[1], "name");
	CU_ASSERT_STRING_EQUAL(compact(f->value), "\"Eliot\"");
	f = one("gt_a.b.c_1=2");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(f->op, PAWL_FILTER_GT);
	CU_ASSERT_EQUAL(f->field.depth, 3);
	CU_ASSERT_STRING_EQUAL(f->field.path[2], "c_1");
	CU_ASSERT_PTR_NOT_NULL(one("a.b.c.d.e.f.g.h=1"));
	CU_ASSERT_EQUAL(q.filters[0].field.depth, 8);
	check_invalid("a.b.c.d.e.f.g.h.i=1", "a.b.c.d.e.f.g.h.i",
	    "Invalid filter field 'a.b.c.d.e.f.g.h.i'");
	check_invalid("a..b=1", "a..b", "Invalid filter field 'a..b'");
	check_invalid(".a=1", ".a", "Invalid filter field '.a'");
	check_invalid("a.=1", "a.", "Invalid filter field 'a.'");
	check_invalid("a-b=1", "a-b", "Invalid filter field 'a-b'");
	check_invalid("%C3%A9=1", "\xc3\xa9", "Invalid filter field '\xc3\xa9'");
	check_invalid("=1", "", "Invalid filter field ''");
	memset(qs, 'x', 128);
	strcpy(qs + 128, "=1");
	CU_ASSERT_EQUAL(parse(qs), PAWL_OK);
	memset(qs, 'x', 129);
	strcpy(qs + 129, "=1");
	CU_ASSERT_EQUAL(parse(qs), PAWL_ERR_INVALID);
	/* Surrounding spaces of a name are dropped, as Kinto strips them. */
	check_filter("+a+=1", PAWL_FILTER_EQ, "a", "1");
}

static void test_columns(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(one("id=abc"));
	CU_ASSERT_EQUAL(q.filters[0].field.kind, PAWL_FIELD_ID);
	CU_ASSERT_FALSE(q.with_tombstones);
	CU_ASSERT_PTR_NOT_NULL_FATAL(one("id.x=1"));
	CU_ASSERT_EQUAL(q.filters[0].field.kind, PAWL_FIELD_DATA);
	CU_ASSERT_PTR_NOT_NULL_FATAL(one("last_modified.x=a"));
	CU_ASSERT_EQUAL(q.filters[0].field.kind, PAWL_FIELD_DATA);
	CU_ASSERT_FALSE(q.with_tombstones);
	check_filter("last_modified=123", PAWL_FILTER_EQ, "last_modified", "123");
	CU_ASSERT_EQUAL(q.filters[0].field.kind, PAWL_FIELD_LAST_MODIFIED);
	CU_ASSERT_TRUE(q.with_tombstones);
	check_filter("gt_last_modified=%22123%22", PAWL_FILTER_GT, "last_modified", "123");
	CU_ASSERT_TRUE(q.with_tombstones);
	check_filter("has_last_modified=1", PAWL_FILTER_HAS, "last_modified", "true");
	CU_ASSERT_TRUE(q.with_tombstones);
}

static void test_last_modified_values(void)
{
	char qs[80];

	check_invalid("last_modified=abc", "last_modified", "Invalid value for last_modified");
	check_invalid("gt_last_modified=-1", "gt_last_modified",
	    "Invalid value for gt_last_modified");
	check_invalid("min_last_modified=1.5", "min_last_modified",
	    "Invalid value for min_last_modified");
	check_invalid("lt_last_modified=%22%22", "lt_last_modified",
	    "Invalid value for lt_last_modified");
	check_invalid("not_last_modified=", "not_last_modified",
	    "Invalid value for not_last_modified");
	check_invalid("like_last_modified=1", "like_last_modified",
	    "Invalid value for like_last_modified");
	check_filter("last_modified=0", PAWL_FILTER_EQ, "last_modified", "0");
	snprintf(qs, sizeof(qs), "max_last_modified=%lld", NOW + DAY - 1);
	CU_ASSERT_EQUAL(parse(qs), PAWL_OK);
	CU_ASSERT_EQUAL(json_object_get_int64(q.filters[0].value), NOW + DAY - 1);
	snprintf(qs, sizeof(qs), "max_last_modified=%lld", NOW + DAY);
	check_invalid(qs, "max_last_modified", "Invalid value for max_last_modified");
	check_invalid("last_modified=99999999999999999999", "last_modified",
	    "Invalid value for last_modified");
}

static void test_in_exclude_typing(void)
{
	check_filter("in_id=a,b", PAWL_FILTER_IN, "id", "[\"a\",\"b\"]");
	check_invalid("in_id=a,1", "in_id", "Invalid value for in_id");
	check_invalid("exclude_id=true", "exclude_id", "Invalid value for exclude_id");
	check_filter("exclude_id=%221%22", PAWL_FILTER_EXCLUDE, "id", "[\"1\"]");
	check_filter("in_last_modified=1,2", PAWL_FILTER_IN, "last_modified", "[1,2]");
	CU_ASSERT_TRUE(q.with_tombstones);
	check_invalid("in_last_modified=1,x", "in_last_modified",
	    "Invalid value for in_last_modified");
	check_invalid("exclude_last_modified=1,", "exclude_last_modified",
	    "Invalid value for exclude_last_modified");
	check_filter("in_a=", PAWL_FILTER_IN, "a", "[\"\"]");
	check_filter("in_a=null,true", PAWL_FILTER_IN, "a", "[null,true]");
	check_filter("in_a=%5B1,2%5D", PAWL_FILTER_IN, "a", "[\"[1\",\"2]\"]");
}

static void test_contains(void)
{
	check_invalid("contains_id=a", "contains_id", "Field 'id' is not an array");
	check_invalid("contains_any_id=a", "contains_any_id", "Field 'id' is not an array");
	check_invalid("contains_last_modified=1", "contains_last_modified",
	    "Field 'last_modified' is not an array");
	check_invalid("contains_any_last_modified=1", "contains_any_last_modified",
	    "Field 'last_modified' is not an array");
	check_filter("contains_tags=a", PAWL_FILTER_CONTAINS, "tags", "[\"a\"]");
	check_filter("contains_tags=%7B%22a%22:1%7D", PAWL_FILTER_CONTAINS, "tags",
	    "[{\"a\":1}]");
	check_filter("contains_any_tags=%5B%22a%22,2%5D", PAWL_FILTER_CONTAINS_ANY, "tags",
	    "[\"a\",2]");
	check_filter("contains_tags=null", PAWL_FILTER_CONTAINS, "tags", "[null]");
}

static void test_has(void)
{
	check_filter("has_a=true", PAWL_FILTER_HAS, "a", "true");
	check_filter("has_a=1", PAWL_FILTER_HAS, "a", "true");
	check_filter("has_a=false", PAWL_FILTER_HAS, "a", "false");
	check_filter("has_a=0", PAWL_FILTER_HAS, "a", "false");
	check_invalid("has_a=yes", "has_a", "Invalid value for has_a");
	check_invalid("has_a=", "has_a", "Invalid value for has_a");
	check_invalid("has_a=True", "has_a", "Invalid value for has_a");
}

static void test_like(void)
{
	check_filter("like_a=foo", PAWL_FILTER_LIKE, "a", "\"%foo%\"");
	check_filter("like_a=f*o", PAWL_FILTER_LIKE, "a", "\"f%o\"");
	check_filter("like_a=*o", PAWL_FILTER_LIKE, "a", "\"%o\"");
	check_filter("like_a=50%25_off", PAWL_FILTER_LIKE, "a", "\"%50\\\\%\\\\_off%\"");
	check_filter("like_a=a%5Cb", PAWL_FILTER_LIKE, "a", "\"%a\\\\\\\\b%\"");
	check_filter("like_a=%22b*%22", PAWL_FILTER_LIKE, "a", "\"b%\"");
	check_filter("like_a=123", PAWL_FILTER_LIKE, "a", "\"%123%\"");
	check_filter("like_id=x*", PAWL_FILTER_LIKE, "id", "\"x%\"");
	check_filter("like_a=", PAWL_FILTER_LIKE, "a", "\"%%\"");
}

static void test_bad_bytes(void)
{
	check_invalid("a=%00", "a", "Invalid character 0x00");
	check_invalid("a=x%00y", "a", "Invalid character 0x00");
	check_invalid("a%00b=1", "a%00b", "Invalid character 0x00");
	check_invalid("a=%22%5Cu0000%22", "a", "Invalid character 0x00");
	check_invalid("a=%5B%22%5Cu0000%22%5D", "a", "Invalid character 0x00");
	check_invalid("in_a=x,%22%5Cu0000%22", "in_a", "Invalid character 0x00");
	/* Refused as JSON for an escape, so not taken as plain text either. */
	check_invalid("a=%22%5Cud800%22", "a", "Invalid character escape");
	check_invalid("a=%5B%22%5CuDC00%22%5D", "a", "Invalid character escape");
	check_invalid("a=%7B%22k%5Cu0000%22:1%7D", "a", "Invalid character 0x00");
	check_invalid("a=%FF", "a", "Invalid value for a");
	check_invalid("a=\xc3", "a", "Invalid value for a");
	check_invalid("a=%ED%A0%80", "a", "Invalid value for a");
	check_invalid("%FF=1", "%FF", "Invalid parameter name");
	check_invalid("a=%G1", "a", "Invalid value for a");
	check_invalid("a=%4", "a", "Invalid value for a");
	check_invalid("a%=1", "a%", "Invalid parameter name");
}

static void test_sync_params(void)
{
	CU_ASSERT_EQUAL(parse("_since=123"), PAWL_OK);
	CU_ASSERT_TRUE(q.has_since);
	CU_ASSERT_EQUAL(q.since, 123);
	CU_ASSERT_TRUE(q.with_tombstones);
	CU_ASSERT_EQUAL(q.n_filters, 0);
	CU_ASSERT_EQUAL(parse("_since=%22124%22"), PAWL_OK);
	CU_ASSERT_EQUAL(q.since, 124);
	CU_ASSERT_EQUAL(parse("_since=null"), PAWL_OK);
	CU_ASSERT_FALSE(q.has_since);
	CU_ASSERT_FALSE(q.with_tombstones);
	CU_ASSERT_EQUAL(parse("_since=1&_since=null"), PAWL_OK);
	CU_ASSERT_FALSE(q.has_since);
	CU_ASSERT_EQUAL(parse("_since=1&_since=2"), PAWL_OK);
	CU_ASSERT_EQUAL(q.since, 2);
	check_invalid("_since=", "_since", "Invalid value for _since");
	check_invalid("_since=abc", "_since", "Invalid value for _since");
	check_invalid("_since=-1", "_since", "Invalid value for _since");
	check_invalid("_before=null", "_before", "Invalid value for _before");
	check_invalid("_to=1.0", "_to", "Invalid value for _to");
	CU_ASSERT_EQUAL(parse("_before=5"), PAWL_OK);
	CU_ASSERT_TRUE(q.has_before);
	CU_ASSERT_EQUAL(q.before, 5);
	CU_ASSERT_FALSE(q.to_used);
	CU_ASSERT_TRUE(q.with_tombstones);
	CU_ASSERT_EQUAL(parse("_to=%226%22"), PAWL_OK);
	CU_ASSERT_TRUE(q.has_before);
	CU_ASSERT_EQUAL(q.before, 6);
	CU_ASSERT_TRUE(q.to_used);
	CU_ASSERT_EQUAL(parse("_to=6&_before=7"), PAWL_OK);
	CU_ASSERT_EQUAL(q.before, 7);
	CU_ASSERT_TRUE(q.to_used);
}

static void test_sort(void)
{
	CU_ASSERT_EQUAL(parse("_sort=a,-b,%2Bc.d"), PAWL_OK);
	CU_ASSERT_EQUAL_FATAL(q.n_sort, 4);
	CU_ASSERT_STRING_EQUAL(q.sort[0].field.name, "a");
	CU_ASSERT_FALSE(q.sort[0].desc);
	CU_ASSERT_STRING_EQUAL(q.sort[1].field.name, "b");
	CU_ASSERT_TRUE(q.sort[1].desc);
	CU_ASSERT_STRING_EQUAL(q.sort[2].field.name, "c.d");
	CU_ASSERT_EQUAL(q.sort[2].field.depth, 2);
	CU_ASSERT_FALSE(q.sort[2].desc);
	CU_ASSERT_STRING_EQUAL(q.sort[3].field.name, "last_modified");
	CU_ASSERT_TRUE(q.sort[3].desc);
	CU_ASSERT_FALSE(q.with_tombstones);
	/* An unencoded '+' arrives as a space and is trimmed away. */
	CU_ASSERT_EQUAL(parse("_sort=+a"), PAWL_OK);
	CU_ASSERT_EQUAL(q.n_sort, 2);
	CU_ASSERT_STRING_EQUAL(q.sort[0].field.name, "a");
	CU_ASSERT_EQUAL(parse("_sort=last_modified"), PAWL_OK);
	CU_ASSERT_EQUAL(q.n_sort, 1);
	CU_ASSERT_FALSE(q.sort[0].desc);
	CU_ASSERT_EQUAL(parse("_sort=a,-last_modified,b"), PAWL_OK);
	CU_ASSERT_EQUAL(q.n_sort, 3);
	CU_ASSERT_STRING_EQUAL(q.sort[2].field.name, "b");
	CU_ASSERT_EQUAL(parse("_sort=a&_sort=-id"), PAWL_OK);
	CU_ASSERT_EQUAL(q.n_sort, 2);
	CU_ASSERT_EQUAL(q.sort[0].field.kind, PAWL_FIELD_ID);
	CU_ASSERT_TRUE(q.sort[0].desc);
	CU_ASSERT_EQUAL(parse("_sort=a,b,c,d,e,f,g,h"), PAWL_OK);
	CU_ASSERT_EQUAL(q.n_sort, 9);
	check_invalid("_sort=a,b,c,d,e,f,g,h,i", "_sort", "Too many sort fields (at most 8)");
	check_invalid("_sort=a,,b", "_sort", "Invalid value for _sort");
	check_invalid("_sort=", "_sort", "Invalid value for _sort");
	check_invalid("_sort=-", "_sort", "Invalid value for _sort");
	check_invalid("_sort=--a", "_sort", "Invalid value for _sort");
	check_invalid("_sort=a;b", "_sort", "Invalid value for _sort");
}

static void test_limit(void)
{
	CU_ASSERT_EQUAL(parse("_limit=10"), PAWL_OK);
	CU_ASSERT_TRUE(q.has_limit);
	CU_ASSERT_EQUAL(q.limit, 10);
	CU_ASSERT_EQUAL(parse("_limit=0"), PAWL_OK);
	CU_ASSERT_TRUE(q.has_limit);
	CU_ASSERT_EQUAL(q.limit, 0);
	CU_ASSERT_EQUAL(parse("_limit=4611686018427387904"), PAWL_OK);
	CU_ASSERT_EQUAL(q.limit, 1LL << 62);
	CU_ASSERT_EQUAL(parse("_limit=5&_limit=7"), PAWL_OK);
	CU_ASSERT_EQUAL(q.limit, 7);
	check_invalid("_limit=4611686018427387905", "_limit", "_limit should be an integer");
	check_invalid("_limit=abc", "_limit", "_limit should be an integer");
	check_invalid("_limit=-1", "_limit", "_limit should be an integer");
	check_invalid("_limit=-0", "_limit", "_limit should be an integer");
	check_invalid("_limit=1.5", "_limit", "_limit should be an integer");
	check_invalid("_limit=", "_limit", "_limit should be an integer");
}

static void test_fields(void)
{
	const char *fields[3];
	size_t n = 99;
	char qs[400];
	int i, o;

	CU_ASSERT_EQUAL(parse("_fields=a,b.c"), PAWL_OK);
	CU_ASSERT_EQUAL_FATAL(q.n_fields, 2);
	CU_ASSERT_STRING_EQUAL(q.fields[0], "a");
	CU_ASSERT_STRING_EQUAL(q.fields[1], "b.c");
	check_invalid("_fields=a,,b", "_fields", "Invalid value for _fields");
	check_invalid("_fields=", "_fields", "Invalid value for _fields");
	check_invalid("_fields=a-b", "_fields", "Invalid value for _fields");
	o = snprintf(qs, sizeof(qs), "_fields=f0");
	for (i = 1; i < 65; i++)
		o += snprintf(qs + o, sizeof(qs) - (size_t)o, ",f%d", i);
	check_invalid(qs, "_fields", "Too many fields (at most 64)");
	pawl_error_clear(&err);
	CU_ASSERT_EQUAL(pawl_query_parse_fields(arena, "x,y.z", fields, 3, &n, &err), PAWL_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_STRING_EQUAL(fields[1], "y.z");
	CU_ASSERT_EQUAL(pawl_query_parse_fields(arena, "a,b,c,d", fields, 3, &n, &err),
	    PAWL_ERR_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "Too many fields (at most 3)");
	CU_ASSERT_EQUAL(pawl_query_parse_fields(arena, NULL, fields, 3, &n, &err),
	    PAWL_ERR_INVALID);
	CU_ASSERT_EQUAL(n, 0);
}

static void test_token_and_unknown(void)
{
	CU_ASSERT_EQUAL(parse("_token=abc.def"), PAWL_OK);
	CU_ASSERT_STRING_EQUAL(q.token, "abc.def");
	CU_ASSERT_EQUAL(parse("_token=abc&_token="), PAWL_OK);
	CU_ASSERT_PTR_NULL(q.token);
	/* Other "_" parameters are ignored, as Kinto does, and kept for Next-Page. */
	CU_ASSERT_EQUAL(parse("_expected=123&a=1"), PAWL_OK);
	CU_ASSERT_EQUAL(q.n_filters, 1);
	CU_ASSERT_FALSE(q.has_since);
	CU_ASSERT_STRING_EQUAL(q.keep, "_expected=123&a=1");
	CU_ASSERT_EQUAL(parse("_SINCE=1"), PAWL_OK);
	CU_ASSERT_FALSE(q.has_since);
	CU_ASSERT_FALSE(q.with_tombstones);
}

static void test_limits(void)
{
	char qs[400];
	int i, o = 0;

	for (i = 0; i < PAWL_QUERY_MAX_FILTERS; i++)
		o += snprintf(qs + o, sizeof(qs) - (size_t)o, "%sa=%d", i ? "&" : "", i);
	CU_ASSERT_EQUAL(parse(qs), PAWL_OK);
	CU_ASSERT_EQUAL(q.n_filters, PAWL_QUERY_MAX_FILTERS);
	CU_ASSERT_EQUAL(json_object_get_int(q.filters[31].value), 31);
	snprintf(qs + o, sizeof(qs) - (size_t)o, "&b=1");
	check_invalid(qs, "b", "Too many filters (at most 32)");
}

static void test_keep(void)
{
	CU_ASSERT_EQUAL(parse("a=1&_limit=5&_sort=-b&&_token=xyz&%62=%32&flag&_since=%2212%22"),
	    PAWL_OK);
	CU_ASSERT_STRING_EQUAL(q.keep, "a=1&_sort=-b&%62=%32&flag&_since=%2212%22");
	CU_ASSERT_EQUAL(q.n_filters, 3);
	CU_ASSERT_STRING_EQUAL(q.filters[1].field.name, "b");
	CU_ASSERT_STRING_EQUAL(q.filters[2].field.name, "flag");
	CU_ASSERT_EQUAL(q.since, 12);
	CU_ASSERT_EQUAL(parse("_limit=1&_token=t"), PAWL_OK);
	CU_ASSERT_STRING_EQUAL(q.keep, "");
	CU_ASSERT_EQUAL(parse("a=1&a=2&%5Flimit=3"), PAWL_OK);
	CU_ASSERT_STRING_EQUAL(q.keep, "a=1&a=2");
	CU_ASSERT_EQUAL(q.n_filters, 2);
	CU_ASSERT_EQUAL(json_object_get_int(q.filters[1].value), 2);
	CU_ASSERT_EQUAL(q.limit, 3);
}

void test_filters_register(void)
{
	CU_pSuite s = CU_add_suite("filters", setup, teardown);

	CU_add_test(s, "empty query", test_empty);
	CU_add_test(s, "every operator", test_operators);
	CU_add_test(s, "values as JSON or string", test_value_typing);
	CU_add_test(s, "dotted and invalid fields", test_dotted_fields);
	CU_add_test(s, "id and last_modified columns", test_columns);
	CU_add_test(s, "last_modified values", test_last_modified_values);
	CU_add_test(s, "in_ and exclude_ typing", test_in_exclude_typing);
	CU_add_test(s, "contains_ and contains_any_", test_contains);
	CU_add_test(s, "has_", test_has);
	CU_add_test(s, "like_ patterns", test_like);
	CU_add_test(s, "NUL, UTF-8 and escapes", test_bad_bytes);
	CU_add_test(s, "_since _before _to", test_sync_params);
	CU_add_test(s, "_sort and tie-breaker", test_sort);
	CU_add_test(s, "_limit", test_limit);
	CU_add_test(s, "_fields", test_fields);
	CU_add_test(s, "_token and unknown parameters", test_token_and_unknown);
	CU_add_test(s, "too many filters", test_limits);
	CU_add_test(s, "keep string", test_keep);
}
