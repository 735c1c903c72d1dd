/*
 * List endpoints, black-box through nginx, FastCGI and PostgreSQL (docs/protocol.md §3,
 * §4): the default order, filters of every operator,
 * _sort, _fields, _since/_before/_to and tombstones, HEAD counts, the list
 * ETag and its preconditions, DELETE with filters. Pagination is in
 * test_pagination.c. Every test works in a bucket of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resource_util.h"

/* --- filters ------------------------------------------------------------------------ */

static void test_default_sort(void)
{
	char list[RU_PATH_LEN], ids[5][64], want[512] = "";
	struct http_resp r;
	long long prev = 0, lm;

	ru_fresh_list(list);
	for (int i = 0; i < 5; i++) {
		lm = POST_ID(list, "{}", ids[i]);
		CHECK(lm > prev, "POST %d: last_modified %lld not above %lld", i, lm, prev);
		prev = lm;
	}
	for (int i = 4; i >= 0; i--)
		snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", i < 4 ? "," : "",
			 ids[i]);
	EXPECT_ORDER(list, want);
	ru_req(&r, "GET", list, NULL, NULL, NULL);
	CHECK(ru_etag(&r) == prev, "list ETag %lld is not the newest object's %lld", ru_etag(&r),
	      prev);
	http_resp_free(&r);
}

static void test_filters(void)
{
	static const struct {
		const char *query, *want;
	} cases[] = {
		{ "n=2", "r2" },
		{ "n=%222%22", "r4" }, /* ?n="2": the string */
		{ "eq_n=2", "r2" },
		{ "not_n=2", "r1,r3,r4,r5" }, /* missing and other-typed count as "not equal" */
		{ "min_n=2", "r2,r3" },
		{ "max_n=2", "r1,r2" },
		{ "lt_n=2", "r1" },
		{ "gt_n=2", "r3" },
		{ "in_n=1,3", "r1,r3" },
		{ "exclude_n=1,3", "r2,r4,r5" },
		{ "like_s=an", "r2" }, /* implicit *an*, case-insensitive */
		{ "like_s=*rry", "r3,r5" },
		{ "like_s=a*", "r1" },
		{ "like_s=B*", "r2" },
		{ "like_s=*r%2Ab*", "r5" }, /* an encoded '*' is a wildcard too */
		{ "has_n=true", "r1,r2,r3,r4" },
		{ "has_n=false", "r5" },
		{ "has_nul=true", "r3" }, /* JSON null counts as present */
		{ "has_nul=false", "r1,r2,r4,r5" },
		{ "contains_tags=b", "r1,r2" },
		{ "contains_tags=%22b%22", "r1,r2" },
		{ "contains_tags=%5B%22b%22,%22c%22%5D", "r2" },
		{ "contains_any_tags=%5B%22a%22,%22c%22%5D", "r1,r2,r3" },
		{ "contains_any_tags=%5B%22z%22%5D", "" },
		{ "o.k=x", "r1,r3" },
		{ "not_o.k=x", "r2,r4,r5" },
		{ "o.d.e=1", "r2" },
		{ "t=true", "r1" },
		{ "t=false", "r2" },
		{ "s=apple", "r1" },
		{ "s=%22apple%22", "r1" },
		{ "min_n=1&like_s=an", "r2" },
		{ "min_n=1&max_n=3&not_n=2", "r1,r3" },
		{ "id=r3", "r3" },
		{ "in_id=r1,r2", "r1,r2" },
		{ "exclude_id=r1,r2", "r3,r4,r5" },
		{ "like_id=r*", "r1,r2,r3,r4,r5" },
		{ "nothere=1", "" },
	};
	static const char *const data[] = {
		"{\"n\": 1, \"s\": \"apple\", \"tags\": [\"a\", \"b\"], \"o\": {\"k\": \"x\"}, "
		"\"t\": true}",
		"{\"n\": 2, \"s\": \"Banana\", \"tags\": [\"b\", \"c\"], \"o\": {\"k\": \"y\", "
		"\"d\": {\"e\": 1}}, \"t\": false}",
		"{\"n\": 3, \"s\": \"cherry\", \"tags\": [\"c\"], \"o\": {\"k\": \"x\"}, \"nul\": null}",
		"{\"n\": \"2\", \"s\": \"date\", \"tags\": \"b\"}",
		"{\"s\": \"elder*berry\", \"o\": 5}",
	};
	char list[RU_PATH_LEN];
	long long lm[5];

	ru_fresh_list(list);
	for (int i = 0; i < 5; i++)
		lm[i] = PUT(ru_fmt("%s/r%d", list, i + 1), data[i], 201);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		EXPECT_SET(ru_fmt("%s?%s", list, cases[i].query), cases[i].want);

	EXPECT_SET(ru_fmt("%s?gt_last_modified=%lld", list, lm[2]), "r4,r5");
	EXPECT_SET(ru_fmt("%s?lt_last_modified=%lld", list, lm[1]), "r1");
	EXPECT_SET(ru_fmt("%s?last_modified=%lld", list, lm[3]), "r4");
	EXPECT_SET(ru_fmt("%s?in_last_modified=%lld,%lld", list, lm[0], lm[4]), "r1,r5");
}

static void test_bad_parameters(void)
{
	static const char *const bad[] = {
		"_limit=abc",
		"_limit=-1",
		"_limit=1.5",
		"_limit=",
		"_since=abc",
		"_before=abc",
		"_since=-5",
		"_to=x",
		"has_n=maybe",
		"in_id=1,2",
		"contains_id=x",
		"contains_last_modified=1",
		"gt_last_modified=abc",
		"last_modified=99999999999999",
		"_sort=a%20b",
		"_sort=a..b",
		"_fields=a..b",
		"n%00=1",
		"n=a%00",
		"_token=abc",
		"a%ZZ=1",
	};
	char list[RU_PATH_LEN];
	struct http_resp r;

	ru_fresh_list(list);
	POST(list, "{\"n\": 1}");
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		json_object *d;

		ru_req(&r, "GET", ru_fmt("%s?%s", list, bad[i]), NULL, NULL, NULL);
		assert_error(&r, 400, 107);
		d = resp_json(&r, "details");
		CHECK(ru_len(d) > 0 &&
			  ru_str(json_object_array_get_idx(d, 0), "location") != NULL &&
			  strcmp(ru_str(json_object_array_get_idx(d, 0), "location"),
				 "querystring") == 0,
		      "?%s: details do not name the querystring: %s", bad[i], body_snip(&r));
		http_resp_free(&r);
	}
	EXPECT_ERROR("DELETE", ru_fmt("%s?_limit=x", list), NULL, NULL, 400, 107);
	/* Other "_" parameters are ignored, as Kinto does (kinto.js sends _expected). */
	ru_req(&r, "GET", ru_fmt("%s?_expected=12&_x=1", list), NULL, NULL, NULL);
	assert_status(&r, 200);
	CHECK(ru_len(resp_json(&r, "data")) == 1, "?_expected=12&_x=1 changed the list: %s",
	      body_snip(&r));
	http_resp_free(&r);
	ru_req(&r, "HEAD", ru_fmt("%s?_limit=x", list), NULL, NULL, NULL);
	assert_status(&r, 400);
	http_resp_free(&r);
}

/* --- sort and fields -------------------------------------------------------------------- */

/* Created in this order; ids chosen so that id order is another order. */
static void sort_fixture(char *list)
{
	ru_fresh_list(list);
	PUT(ru_fmt("%s/k3", list), "{\"a\": 1, \"b\": \"x\", \"o\": {\"v\": 3}}", 201);
	PUT(ru_fmt("%s/k1", list), "{\"a\": 1, \"b\": \"y\", \"o\": {\"v\": 1}}", 201);
	PUT(ru_fmt("%s/k4", list), "{\"a\": 2, \"b\": \"x\", \"o\": {\"v\": 4}}", 201);
	PUT(ru_fmt("%s/k2", list), "{\"a\": 2, \"b\": \"x\", \"o\": {\"v\": 2}}", 201);
}

static void test_sort(void)
{
	static const struct {
		const char *query, *want;
	} cases[] = {
		{ "", "k2,k4,k1,k3" },
		{ "_sort=-last_modified", "k2,k4,k1,k3" },
		{ "_sort=last_modified", "k3,k1,k4,k2" },
		{ "_sort=a,-b", "k1,k3,k2,k4" }, /* a=2,b=x twice: -last_modified breaks the tie */
		{ "_sort=-a,b", "k2,k4,k3,k1" },
		{ "_sort=%2Ba,-b", "k1,k3,k2,k4" }, /* "+a" */
		{ "_sort=b,a", "k3,k2,k4,k1" },
		{ "_sort=b,a,last_modified", "k3,k4,k2,k1" },
		{ "_sort=id", "k1,k2,k3,k4" },
		{ "_sort=-id", "k4,k3,k2,k1" },
		{ "_sort=o.v", "k1,k2,k3,k4" },
		{ "_sort=-o.v", "k4,k3,k2,k1" },
		{ "_sort=a&a=2", "k2,k4" },
	};
	char list[RU_PATH_LEN];

	sort_fixture(list);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		EXPECT_ORDER(ru_fmt("%s%s%s", list, cases[i].query[0] ? "?" : "", cases[i].query),
			     cases[i].want);
}

/* Every object of r's data has exactly the keys in want (a space-separated list). */
static void check_keys_at(const struct http_resp *r, const char *want, const char *file,
			  unsigned line)
{
	json_object *data = resp_json(r, "data");
	size_t nwant = 1;

	for (const char *p = want; *p; p++)
		nwant += *p == ' ';
	check_at(r->status == 200 && ru_len(data) > 0, file, line, "%s: %ld %s", r->what, r->status,
		 body_snip(r));
	for (size_t i = 0; i < ru_len(data); i++) {
		json_object *o = json_object_array_get_idx(data, i);
		bool ok = ru_keys(o) == nwant;
		char key[64];

		for (const char *p = want; ok && *p;) {
			size_t n = strcspn(p, " ");

			snprintf(key, sizeof key, "%.*s", (int)n, p);
			ok = json_object_object_get_ex(o, key, NULL);
			p += n + (p[n] == ' ');
		}
		check_at(ok, file, line, "%s: object %zu has not exactly the keys %s: %s", r->what,
			 i, want, json_object_to_json_string(o));
	}
}

static void test_fields(void)
{
	char list[RU_PATH_LEN];
	struct http_resp r;

	sort_fixture(list);
	ru_req(&r, "GET", ru_fmt("%s?_fields=a", list), NULL, NULL, NULL);
	check_keys_at(&r, "a id last_modified", __FILE__, __LINE__);
	http_resp_free(&r);
	ru_req(&r, "GET", ru_fmt("%s?_fields=a,b", list), NULL, NULL, NULL);
	check_keys_at(&r, "a b id last_modified", __FILE__, __LINE__);
	http_resp_free(&r);
	ru_req(&r, "GET", ru_fmt("%s?_fields=nothere", list), NULL, NULL, NULL);
	check_keys_at(&r, "id last_modified", __FILE__, __LINE__);
	http_resp_free(&r);

	ru_req(&r, "GET", ru_fmt("%s?_fields=o.v&_sort=o.v", list), NULL, NULL, NULL);
	check_keys_at(&r, "o id last_modified", __FILE__, __LINE__);
	{
		json_object *data = resp_json(&r, "data"), *o = NULL;
		json_object *first = ru_len(data) > 0 ? json_object_array_get_idx(data, 0) : NULL;

		if (first != NULL)
			json_object_object_get_ex(first, "o", &o);
		CHECK(ru_keys(o) == 1 && ru_int(o, "v") == 1, "_fields=o.v: first object %s",
		      first ? json_object_to_json_string(first) : "missing");
	}
	http_resp_free(&r);

	ru_req(&r, "GET", ru_fmt("%s/k1?_fields=b", list), NULL, NULL, NULL);
	assert_status(&r, 200);
	CHECK(ru_keys(resp_json(&r, "data")) == 3 && ru_str(resp_json(&r, "data"), "b") != NULL &&
		  ru_int(resp_json(&r, "data"), "last_modified") > 0 &&
		  ru_str(resp_json(&r, "data"), "id") != NULL,
	      "item ?_fields=b: %s", body_snip(&r));
	http_resp_free(&r);
}

/* --- _since, _before, _to and tombstones --------------------------------------------- */

static void test_since_before(void)
{
	char list[RU_PATH_LEN];
	struct http_resp r;
	long long l[4], tomb;
	json_object *t = NULL;

	ru_fresh_list(list);
	for (int i = 0; i < 4; i++)
		l[i] = PUT(ru_fmt("%s/t%d", list, i + 1), ru_fmt("{\"i\": %d}", i + 1), 201);
	EXPECT_SET(ru_fmt("%s?_since=%lld", list, l[0]), "t2,t3,t4");
	EXPECT_SET(ru_fmt("%s?_since=%%22%lld%%22", list, l[0]), "t2,t3,t4"); /* as an ETag */
	EXPECT_SET(ru_fmt("%s?_before=%lld", list, l[3]), "t1,t2,t3");
	EXPECT_SET(ru_fmt("%s?_before=%%22%lld%%22", list, l[3]), "t1,t2,t3");
	EXPECT_SET(ru_fmt("%s?_since=%lld&_before=%lld", list, l[0], l[3]), "t2,t3");
	EXPECT_SET(ru_fmt("%s?_since=%lld", list, l[3]), "");
	EXPECT_SET(ru_fmt("%s?_since=0", list), "t1,t2,t3,t4");

	/* _to: the deprecated _before, with an Alert header */
	ru_req(&r, "GET", ru_fmt("%s?_to=%lld", list, l[3]), NULL, NULL, NULL);
	CHECK(strcmp(ru_ids_csv(&r, true), "t1,t2,t3") == 0, "_to: %s", ru_ids_csv(&r, true));
	{
		const char *alert = resp_header(&r, "Alert");
		json_object *a = alert ? json_tokener_parse(alert) : NULL;

		CHECK(a != NULL && ru_str(a, "code") &&
			  strcmp(ru_str(a, "code"), "soft-eol") == 0 && ru_str(a, "message") &&
			  strstr(ru_str(a, "message"), "_before") != NULL,
		      "_to: Alert header is %s", alert ? alert : "missing");
		json_object_put(a);
	}
	http_resp_free(&r);
	ru_req(&r, "GET", ru_fmt("%s?_before=%lld", list, l[3]), NULL, NULL, NULL);
	CHECK(resp_header(&r, "Alert") == NULL, "Alert without _to");
	http_resp_free(&r);

	/* a tombstone shows only to _since, _before and last_modified filters */
	ru_req(&r, "DELETE", ru_fmt("%s/t2", list), NULL, NULL, NULL);
	assert_status(&r, 200);
	tomb = ru_int(resp_json(&r, "data"), "last_modified");
	http_resp_free(&r);
	EXPECT_SET(list, "t1,t3,t4");
	EXPECT_SET(ru_fmt("%s?has_x=false", list), "t1,t3,t4");
	EXPECT_SET(ru_fmt("%s?_since=%lld", list, l[0]), "t2,t3,t4");
	EXPECT_SET(ru_fmt("%s?_before=%lld", list, tomb + 1), "t1,t2,t3,t4");
	EXPECT_SET(ru_fmt("%s?gt_last_modified=%lld", list, l[0]), "t2,t3,t4");
	EXPECT_SET(ru_fmt("%s?min_last_modified=%lld", list, tomb), "t2");
	EXPECT_ORDER(ru_fmt("%s?_since=%lld&_sort=last_modified", list, l[0]), "t3,t4,t2");

	ru_req(&r, "GET", ru_fmt("%s?_since=%lld&_sort=last_modified", list, l[3]), NULL, NULL,
	       NULL);
	assert_status(&r, 200);
	if (ru_len(resp_json(&r, "data")) == 1)
		t = json_object_array_get_idx(resp_json(&r, "data"), 0);
	CHECK(t != NULL && ru_keys(t) == 3 && ru_int(t, "last_modified") == tomb &&
		  json_object_get_boolean(json_object_object_get(t, "deleted")) &&
		  ru_str(t, "id") && strcmp(ru_str(t, "id"), "t2") == 0,
	      "tombstone in a _since list is not {id, last_modified, deleted}: %s", body_snip(&r));
	http_resp_free(&r);

	ru_req(&r, "HEAD", ru_fmt("%s?_since=%lld", list, l[0]), NULL, NULL, NULL);
	CHECK(
	    resp_header(&r, "Total-Objects") && strcmp(resp_header(&r, "Total-Objects"), "2") == 0,
	    "HEAD ?_since counted tombstones: Total-Objects %s", resp_header(&r, "Total-Objects"));
	http_resp_free(&r);
}

/* --- HEAD, ETag, preconditions --------------------------------------------------------- */

static void test_head_totals(void)
{
	char list[RU_PATH_LEN], ids[7][64];
	struct http_resp r;
	static const struct {
		const char *query, *want;
	} cases[] = {
		{ "", "5" },          { "?min_n=4", "3" }, { "?_limit=2", "5" },
		{ "?_since=0", "5" }, { "?n=99", "0" },
	};

	ru_fresh_list(list);
	for (int i = 0; i < 7; i++)
		POST_ID(list, ru_fmt("{\"n\": %d}", i), ids[i]);
	for (int i = 0; i < 2; i++) {
		ru_req(&r, "DELETE", ru_fmt("%s/%s", list, ids[i]), NULL, NULL, NULL);
		http_resp_free(&r);
	}
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const char *path = ru_fmt("%s%s", list, cases[i].query);
		const char *objects, *records;
		long long etag;

		ru_req(&r, "HEAD", path, NULL, NULL, NULL);
		assert_status(&r, 200);
		objects = resp_header(&r, "Total-Objects");
		records = resp_header(&r, "Total-Records");
		CHECK(objects && strcmp(objects, cases[i].want) == 0,
		      "HEAD %s: Total-Objects %s, "
		      "expected %s",
		      path, objects ? objects : "missing", cases[i].want);
		CHECK(records && strcmp(records, cases[i].want) == 0,
		      "HEAD %s: Total-Records %s, "
		      "expected %s",
		      path, records ? records : "missing", cases[i].want);
		CHECK(r.body_len == 0, "HEAD %s has a body", path);
		etag = ru_etag(&r);
		http_resp_free(&r);
		ru_req(&r, "GET", path, NULL, NULL, NULL);
		assert_status(&r, 200);
		CHECK(resp_header(&r, "Total-Objects") == NULL &&
			  resp_header(&r, "Total-Records") == NULL,
		      "GET %s has Total-* headers", path);
		CHECK(etag > 0 && ru_etag(&r) == etag, "HEAD and GET %s: ETags %lld and %lld", path,
		      etag, ru_etag(&r));
		http_resp_free(&r);
	}
}

static void test_list_etag(void)
{
	char list[RU_PATH_LEN], id[64];
	struct http_resp r;
	long long e0, e, lm = 0;

	ru_fresh_list(list);
	e0 = ru_list_etag("GET", list);
	CHECK(e0 > 0, "empty list: ETag %lld", e0);
	CHECK(ru_list_etag("GET", list) == e0, "an empty list's ETag moved between two GETs");
	CHECK(ru_list_etag("HEAD", list) == e0, "HEAD and GET ETags differ");

	for (int i = 0; i < 3; i++)
		lm = POST_ID(list, ru_fmt("{\"n\": %d}", i), id);
	e = ru_list_etag("GET", list);
	CHECK(e == lm && e > e0, "list ETag %lld, newest object %lld", e, lm);
	CHECK(ru_list_etag("GET", list) == e, "an unchanged list's ETag moved");
	CHECK(ru_list_etag("GET", ru_fmt("%s?n=99", list)) == e, "a filter changed the list ETag");
	CHECK(ru_list_etag("GET", ru_fmt("%s?_limit=1&_sort=n", list)) == e,
	      "_limit changed the ETag");

	/* If-None-Match: 304 while unchanged */
	ru_req(&r, "GET", list, NULL, ru_fmt("If-None-Match: \"%lld\"", e), NULL);
	assert_status(&r, 304);
	CHECK(r.body_len == 0, "list 304 with a body: %s", body_snip(&r));
	CHECK(ru_etag(&r) == e, "list 304: ETag %lld, expected %lld", ru_etag(&r), e);
	http_resp_free(&r);
	ru_req(&r, "GET", list, NULL, ru_fmt("If-None-Match: \"%lld\"", e0), NULL);
	assert_status(&r, 200);
	http_resp_free(&r);
	EXPECT_ERROR("GET", list, NULL, "If-None-Match: *", 412, 114);

	/* If-Match: a list always exists; a POST creates an object that did not (Kinto: 412) */
	ru_req(&r, "GET", list, NULL, ru_fmt("If-Match: \"%lld\"", e), NULL);
	assert_status(&r, 200);
	http_resp_free(&r);
	EXPECT_ERROR("GET", list, NULL, ru_fmt("If-Match: \"%lld\"", e0), 412, 114);
	EXPECT_ERROR("DELETE", list, NULL, ru_fmt("If-Match: \"%lld\"", e0), 412, 114);
	EXPECT_ERROR("POST", list, "{\"data\": {}}", ru_fmt("If-Match: \"%lld\"", e), 412, 114);
	CHECK(ru_list_etag("GET", list) == e, "a failed precondition changed the list");
	ru_req(&r, "POST", list, "{\"data\": {}}", NULL, NULL);
	assert_status(&r, 201);
	lm = ru_int(resp_json(&r, "data"), "last_modified");
	http_resp_free(&r);
	CHECK(ru_list_etag("GET", list) == lm, "list ETag after POST is not its object's");

	/* PATCH and DELETE move it to the newest change */
	ru_req(&r, "PATCH", ru_fmt("%s/%s", list, id), "{\"data\": {\"p\": 1}}", NULL, NULL);
	lm = ru_int(resp_json(&r, "data"), "last_modified");
	http_resp_free(&r);
	CHECK(ru_list_etag("GET", list) == lm, "list ETag after PATCH is not the object's %lld",
	      lm);
	ru_req(&r, "DELETE", ru_fmt("%s/%s", list, id), NULL, NULL, NULL);
	lm = ru_int(resp_json(&r, "data"), "last_modified");
	http_resp_free(&r);
	e = ru_list_etag("GET", list);
	CHECK(e == lm, "list ETag %lld after DELETE is not the tombstone's %lld", e, lm);
	ru_req(&r, "GET", list, NULL, ru_fmt("If-None-Match: \"%lld\"", e), NULL);
	assert_status(&r, 304);
	http_resp_free(&r);
}

/* --- DELETE with filters ------------------------------------------------------------------ */

static void test_delete_list(void)
{
	char list[RU_PATH_LEN];
	struct http_resp r;
	long long last, e;
	json_object *data;

	ru_fresh_list(list);
	PUT(ru_fmt("%s/d1", list), "{\"n\": 1}", 201);
	PUT(ru_fmt("%s/d2", list), "{\"n\": 2}", 201);
	PUT(ru_fmt("%s/d3", list), "{\"n\": 3}", 201);
	last = PUT(ru_fmt("%s/d4", list), "{\"n\": 2}", 201);

	ru_req(&r, "DELETE", ru_fmt("%s?n=2", list), NULL, NULL, NULL);
	assert_status(&r, 200);
	CHECK(strcmp(ru_ids_csv(&r, true), "d2,d4") == 0, "DELETE ?n=2 returned %s",
	      ru_ids_csv(&r, true));
	data = resp_json(&r, "data");
	e = 0;
	for (size_t i = 0; i < ru_len(data); i++) {
		json_object *t = json_object_array_get_idx(data, i);
		long long lm = ru_int(t, "last_modified");

		CHECK(ru_keys(t) == 3 &&
			  json_object_get_boolean(json_object_object_get(t, "deleted")) &&
			  lm > last && lm != e,
		      "DELETE list: %s is not a fresh tombstone", json_object_to_json_string(t));
		e = lm > e ? lm : e;
	}
	CHECK(ru_etag(&r) == e, "DELETE list: ETag %lld is not the newest tombstone %lld",
	      ru_etag(&r), e);
	http_resp_free(&r);
	EXPECT_SET(list, "d1,d3");
	EXPECT_SET(ru_fmt("%s?_since=%lld", list, last), "d2,d4");
	CHECK(ru_list_etag("GET", list) == e, "list ETag after DELETE is not the newest tombstone");

	ru_req(&r, "DELETE", ru_fmt("%s?in_id=d1", list), NULL, NULL, NULL);
	assert_status(&r, 200);
	CHECK(strcmp(ru_ids_csv(&r, true), "d1") == 0, "DELETE ?in_id=d1 returned %s",
	      ru_ids_csv(&r, true));
	e = ru_etag(&r);
	http_resp_free(&r);
	ru_req(&r, "DELETE", ru_fmt("%s?n=99", list), NULL, NULL, NULL);
	assert_status(&r, 200);
	CHECK(ru_len(resp_json(&r, "data")) == 0 && resp_json(&r, "data") != NULL,
	      "DELETE matching nothing: %s", body_snip(&r));
	http_resp_free(&r);
	CHECK(ru_list_etag("GET", list) == e, "a DELETE that matched nothing moved the list ETag");
	EXPECT_SET(list, "d3");
	ru_req(&r, "DELETE", list, NULL, NULL, NULL);
	assert_status(&r, 200);
	CHECK(strcmp(ru_ids_csv(&r, true), "d3") == 0, "DELETE list returned %s",
	      ru_ids_csv(&r, true));
	http_resp_free(&r);
	EXPECT_SET(list, "");
}

/* --- registration --------------------------------------------------------------------- */

static int suite_init(void)
{
	ru_login("lists-user", "lists-password");
	return 0;
}

void test_lists_register(void);

void test_lists_register(void)
{
	CU_pSuite s = CU_add_suite("lists", suite_init, NULL);

	CU_add_test(s, "default sort: -last_modified", test_default_sort);
	CU_add_test(s, "filters: every operator, sub-fields, typed values", test_filters);
	CU_add_test(s, "bad query parameters: 400", test_bad_parameters);
	CU_add_test(s, "_sort", test_sort);
	CU_add_test(s, "_fields", test_fields);
	CU_add_test(s, "_since, _before, _to and tombstones", test_since_before);
	CU_add_test(s, "HEAD: Total-Objects, Total-Records", test_head_totals);
	CU_add_test(s, "list ETag, If-None-Match, If-Match", test_list_etag);
	CU_add_test(s, "DELETE list with filters", test_delete_list);
}
