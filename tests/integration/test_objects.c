/*
 * The object protocol on item endpoints, black-box through nginx, FastCGI and
 * PostgreSQL (docs/protocol.md §2-§4): the envelope, ids,
 * POST/PUT/PATCH/DELETE semantics, Response-Behavior, tombstones, cascades,
 * and resources declared in the config. Every test works in a bucket of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resource_util.h"

#define HOUR_MS 3600000LL

static bool is_uuid4(const char *s)
{
	static const char hex[] = "0123456789abcdef";

	if (s == NULL || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : strchr(hex, s[i]) == NULL || s[i] == '\0')
			return false;
	}
	return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

static bool is_name8(const char *s)
{
	static const char alnum[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	return s != NULL && strlen(s) == 8 && strspn(s, alnum) == 8;
}

/* --- envelope and ids ------------------------------------------------------------ */

static void test_envelope(void)
{
	char b[RU_ID_LEN];
	char list[256], item[256];
	struct http_resp r;

	ru_fresh_collection(b);
	SET(list, ru_records(b, "c"));
	ru_req(&r, "POST", list, "{\"data\": {\"a\": 1}, \"foo\": 1}", NULL, NULL);
	assert_error(&r, 400, 107);
	CHECK(ru_detail_location(&r) != NULL && strcmp(ru_detail_location(&r), "body") == 0,
	      "other top-level key: details location is not body: %s", body_snip(&r));
	http_resp_free(&r);
	EXPECT_ERROR("POST", list, "{\"data\": [1, 2]}", NULL, 400, 107);
	EXPECT_ERROR("POST", list, "{\"data\": \"x\"}", NULL, 400, 107);
	EXPECT_ERROR("POST", list, "{\"data\": 5}", NULL, 400, 107);
	EXPECT_ERROR("POST", list, "[{\"data\": {}}]", NULL, 400, 107);
	EXPECT_ERROR("POST", list, "{\"data\": {}, \"permissions\": []}", NULL, 400, 107);
	SET(item, ru_record(b, "c", "e1"));
	EXPECT_ERROR("PUT", item, "{\"data\": {}, \"meta\": {}}", NULL, 400, 107);
	EXPECT_ERROR("PUT", item, "{\"data\": null}", NULL, 400, 107);
	EXPECT_ERROR("PUT", item, "{\"data\": [\"a\"]}", NULL, 400, 107);
	CHECK(ru_total(list) == 0, "a rejected write left objects behind");

	PUT(item, "{\"a\": 1}", 201);
	EXPECT_ERROR("PATCH", item, "{\"data\": {\"a\": 2}, \"x\": 1}", NULL, 400, 107);
	EXPECT_ERROR("PATCH", item, "{\"data\": [1]}", NULL, 400, 107);
	ru_req(&r, "GET", item, NULL, NULL, NULL);
	assert_status(&r, 200);
	check_data(&r, "{\"a\": 1}");
	http_resp_free(&r);
}

static void test_invalid_ids(void)
{
	static const char *const bad[] = { "_x",   "-x", "a%40b", "a.b", "a%20b", "%C3%A9t%C3%A9",
					   "a%2Cb" };
	char b[RU_ID_LEN];
	struct http_resp r;

	ru_fresh_collection(b);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char item[256];

		SET(item, ru_record(b, "c", bad[i]));

		ru_req(&r, "PUT", item, "{\"data\": {}}", NULL, NULL);
		assert_error(&r, 400, 107);
		CHECK(ru_detail_location(&r) != NULL && strcmp(ru_detail_location(&r), "path") == 0,
		      "id %s: details location is not path: %s", bad[i], body_snip(&r));
		http_resp_free(&r);
		EXPECT_ERROR("GET", item, NULL, NULL, 400, 107);
		EXPECT_ERROR("PATCH", item, "{\"data\": {}}", NULL, 400, 107);
		EXPECT_ERROR("DELETE", item, NULL, NULL, 400, 107);
	}
	EXPECT_ERROR("PUT", "/v1/buckets/_bad", "{\"data\": {}}", NULL, 400, 107);
	EXPECT_ERROR("PUT", ru_collection(b, "-bad"), "{\"data\": {}}", NULL, 400, 107);
	EXPECT_ERROR("PUT", ru_fmt("/v1/buckets/%s/groups/g%%21", b), "{\"data\": {}}", NULL, 400,
		     107);

	/* data.id in a POST body */
	ru_req(&r, "POST", ru_records(b, "c"), "{\"data\": {\"id\": \"_bad\"}}", NULL, NULL);
	assert_error(&r, 400, 107);
	CHECK(ru_detail_location(&r) != NULL && strcmp(ru_detail_location(&r), "body") == 0,
	      "data.id: details location is not body: %s", body_snip(&r));
	http_resp_free(&r);
	EXPECT_ERROR("POST", ru_records(b, "c"), "{\"data\": {\"id\": \"a b\"}}", NULL, 400, 107);
	EXPECT_ERROR("POST", ru_records(b, "c"), "{\"data\": {\"id\": 42}}", NULL, 400, 107);
	EXPECT_ERROR("POST", ru_records(b, "c"), "{\"data\": {\"id\": \"\"}}", NULL, 400, 107);
	EXPECT_ERROR("POST", "/v1/buckets", "{\"data\": {\"id\": \"b.b\"}}", NULL, 400, 107);
	CHECK(ru_total(ru_records(b, "c")) == 0, "an invalid id created an object");

	/* the accepted alphabet */
	PUT(ru_record(b, "c", "A-_9"), "{}", 201);
	PUT(ru_record(b, "c", "0x"), "{}", 201);
	PUT(ru_record(b, "c", "Z"), "{}", 201);
	CHECK(ru_total(ru_records(b, "c")) == 3, "valid ids were not all created");
}

static void test_generated_ids(void)
{
	char b[RU_ID_LEN], first[64] = "";
	struct http_resp r;
	const char *id;

	ru_fresh_collection(b);
	for (int i = 0; i < 3; i++) {
		ru_req(&r, "POST", ru_records(b, "c"), "{\"data\": {\"n\": 1}}", NULL, NULL);
		assert_status(&r, 201);
		check_ts(&r);
		id = ru_str(resp_json(&r, "data"), "id");
		CHECK(is_uuid4(id), "record id %s is not a lower-case UUID4", id ? id : "missing");
		CHECK(id == NULL || strcmp(id, first) != 0, "two records got id %s", first);
		if (id != NULL && i == 0)
			snprintf(first, sizeof first, "%s", id);
		http_resp_free(&r);
	}
	CHECK(ru_get_lm(ru_record(b, "c", first)) > 0, "generated record %s cannot be read", first);

	{
		static const char *const lists[] = { "/v1/buckets", "collections", "groups" };

		for (size_t i = 0; i < 3; i++) {
			const char *path =
			    i == 0 ? lists[0] : ru_fmt("/v1/buckets/%s/%s", b, lists[i]);
			char made[64] = "";

			ru_req(&r, "POST", path,
			       i == 2 ? "{\"data\": {\"members\": []}}" : "{\"data\": {}}", NULL,
			       NULL);
			assert_status(&r, 201);
			check_ts(&r);
			id = ru_str(resp_json(&r, "data"), "id");
			CHECK(is_name8(id),
			      "%s: generated id %s is not 8 characters of [A-Za-z0-9]", path,
			      id ? id : "missing");
			if (id != NULL)
				snprintf(made, sizeof made, "%s", id);
			http_resp_free(&r);
			CHECK(ru_get_lm(ru_fmt("%s/%s", path, made)) > 0, "%s/%s cannot be read",
			      path, made);
		}
	}
}

/* --- POST, PUT ---------------------------------------------------------------------- */

static void test_post_existing_id(void)
{
	char b[RU_ID_LEN], list[256];
	struct http_resp r;
	long long lm, list_etag;

	ru_fresh_collection(b);
	SET(list, ru_records(b, "c"));
	ru_req(&r, "POST", list, "{\"data\": {\"id\": \"p1\", \"a\": 1}}", NULL, NULL);
	assert_status(&r, 201);
	lm = check_ts(&r);
	check_data(&r, "{\"a\": 1}");
	CHECK(ru_str(resp_json(&r, "data"), "id") &&
		  strcmp(ru_str(resp_json(&r, "data"), "id"), "p1") == 0,
	      "POST with data.id: id is not p1: %s", body_snip(&r));
	http_resp_free(&r);

	ru_req(&r, "POST", list, "{\"data\": {\"id\": \"p1\", \"a\": 2, \"b\": 3}}", NULL, NULL);
	assert_status(&r, 200);
	CHECK(check_ts(&r) == lm, "POST of an existing id changed last_modified");
	check_data(&r, "{\"a\": 1}");
	http_resp_free(&r);

	ru_req(&r, "GET", list, NULL, NULL, NULL);
	list_etag = ru_etag(&r);
	http_resp_free(&r);
	CHECK(list_etag == lm, "list ETag %lld moved after a POST of an existing id (%lld)",
	      list_etag, lm);
	ru_req(&r, "GET", ru_record(b, "c", "p1"), NULL, NULL, NULL);
	check_data(&r, "{\"a\": 1}");
	http_resp_free(&r);

	/* over a tombstone, POST creates again */
	ru_req(&r, "DELETE", ru_record(b, "c", "p1"), NULL, NULL, NULL);
	assert_status(&r, 200);
	http_resp_free(&r);
	ru_req(&r, "POST", list, "{\"data\": {\"id\": \"p1\", \"a\": 4}}", NULL, NULL);
	assert_status(&r, 201);
	CHECK(check_ts(&r) > lm, "re-created object did not get a newer timestamp");
	check_data(&r, "{\"a\": 4}");
	http_resp_free(&r);
}

static void test_put(void)
{
	char b[RU_ID_LEN], item[256];
	struct http_resp r;
	long long lm1, lm2, tomb;

	ru_fresh_collection(b);
	SET(item, ru_record(b, "c", "u1"));
	ru_req(&r, "PUT", item, "{\"data\": {\"a\": 1, \"b\": {\"x\": 2}}}", NULL, NULL);
	assert_status(&r, 201);
	lm1 = check_ts(&r);
	check_data(&r, "{\"a\": 1, \"b\": {\"x\": 2}}");
	http_resp_free(&r);

	ru_req(&r, "PUT", item, "{\"data\": {\"c\": 3}}", NULL, NULL);
	assert_status(&r, 200);
	lm2 = check_ts(&r);
	check_data(&r, "{\"c\": 3}"); /* replaced: a and b are gone */
	http_resp_free(&r);
	CHECK(lm2 > lm1, "PUT replace: last_modified %lld not above %lld", lm2, lm1);
	ru_req(&r, "GET", item, NULL, NULL, NULL);
	assert_status(&r, 200);
	CHECK(check_ts(&r) == lm2, "GET after PUT: another timestamp");
	check_data(&r, "{\"c\": 3}");
	http_resp_free(&r);

	/* data.id: the same id is fine, another one is 400 and changes nothing */
	ru_req(&r, "PUT", item, "{\"data\": {\"id\": \"u1\", \"d\": 4}}", NULL, NULL);
	assert_status(&r, 200);
	lm2 = check_ts(&r);
	check_data(&r, "{\"d\": 4}");
	http_resp_free(&r);
	EXPECT_ERROR("PUT", item, "{\"data\": {\"id\": \"u2\", \"e\": 5}}", NULL, 400, 107);
	EXPECT_ERROR("PATCH", item, "{\"data\": {\"id\": \"u2\"}}", NULL, 400, 107);
	CHECK(ru_get_lm(item) == lm2, "a rejected PUT changed the object");
	CHECK(ru_get_lm(ru_record(b, "c", "u2")) == -404,
	      "a PUT with a mismatching data.id created u2");

	/* over a tombstone: 201 */
	ru_req(&r, "DELETE", item, NULL, NULL, NULL);
	assert_status(&r, 200);
	tomb = check_ts(&r);
	http_resp_free(&r);
	ru_req(&r, "PUT", item, "{\"data\": {\"f\": 6}}", NULL, NULL);
	assert_status(&r, 201);
	CHECK(check_ts(&r) > tomb, "PUT over a tombstone: timestamp not above the tombstone's");
	check_data(&r, "{\"f\": 6}");
	http_resp_free(&r);
}

/* --- PATCH ---------------------------------------------------------------------------- */

static void test_patch_shallow(void)
{
	char b[RU_ID_LEN], item[256];
	struct http_resp r;
	long long lm;

	ru_fresh_collection(b);
	SET(item, ru_record(b, "c", "s1"));
	lm = PUT(item, "{\"a\": 1, \"b\": {\"x\": 1, \"y\": 2}, \"c\": 3}", 201);
	ru_req(&r, "PATCH", item, "{\"data\": {\"b\": {\"x\": 9}, \"c\": null, \"d\": 4}}", NULL,
	       NULL);
	assert_status(&r, 200);
	CHECK(check_ts(&r) > lm, "PATCH did not bump last_modified");
	/* sub-objects replaced wholesale, null stored as null */
	check_data(&r, "{\"a\": 1, \"b\": {\"x\": 9}, \"c\": null, \"d\": 4}");
	http_resp_free(&r);
	ru_req(&r, "GET", item, NULL, NULL, NULL);
	check_data(&r, "{\"a\": 1, \"b\": {\"x\": 9}, \"c\": null, \"d\": 4}");
	http_resp_free(&r);

	EXPECT_ERROR("PATCH", item, "{}", NULL, 400, 107);
	EXPECT_ERROR("PATCH", ru_record(b, "c", "nope"), "{\"data\": {\"a\": 1}}", NULL, 404, 110);
	CHECK(ru_get_lm(ru_record(b, "c", "nope")) == -404, "PATCH created a missing object");
}

static void test_patch_merge(void)
{
	static const char ct[] = "Content-Type: application/merge-patch+json";
	char b[RU_ID_LEN], item[256];
	struct http_resp r;
	long long lm;

	ru_fresh_collection(b);
	SET(item, ru_record(b, "c", "m1"));
	lm = PUT(item, "{\"a\": 1, \"b\": {\"x\": 1, \"y\": 2}, \"c\": 3}", 201);
	ru_req(&r, "PATCH", item,
	       "{\"data\": {\"b\": {\"y\": null, \"z\": {\"k\": 1}}, \"c\": null, "
	       "\"d\": [1]}}",
	       ct, NULL);
	assert_status(&r, 200);
	CHECK(check_ts(&r) > lm, "merge-patch did not bump last_modified");
	check_data(&r, "{\"a\": 1, \"b\": {\"x\": 1, \"z\": {\"k\": 1}}, \"d\": [1]}");
	http_resp_free(&r);
	ru_req(&r, "GET", item, NULL, NULL, NULL);
	check_data(&r, "{\"a\": 1, \"b\": {\"x\": 1, \"z\": {\"k\": 1}}, \"d\": [1]}");
	http_resp_free(&r);
	/* arrays are replaced, nested nulls remove */
	ru_req(&r, "PATCH", item, "{\"data\": {\"d\": [2, 3], \"b\": {\"z\": {\"k\": null}}}}", ct,
	       NULL);
	assert_status(&r, 200);
	check_data(&r, "{\"a\": 1, \"b\": {\"x\": 1, \"z\": {}}, \"d\": [2, 3]}");
	http_resp_free(&r);
}

static void test_patch_json(void)
{
	static const char ct[] = "Content-Type: application/json-patch+json";
	char b[RU_ID_LEN], item[256];
	struct http_resp r;
	long long lm;

	ru_fresh_collection(b);
	SET(item, ru_record(b, "c", "j1"));
	PUT(item, "{\"a\": 1, \"b\": {\"x\": 1}, \"c\": 3, \"l\": [1, 2]}", 201);
	ru_req(&r, "PATCH", item,
	       "[{\"op\": \"add\", \"path\": \"/data/n\", \"value\": 5},"
	       " {\"op\": \"remove\", \"path\": \"/data/a\"},"
	       " {\"op\": \"replace\", \"path\": \"/data/c\", \"value\": \"r\"},"
	       " {\"op\": \"add\", \"path\": \"/data/b/y\", \"value\": 2},"
	       " {\"op\": \"add\", \"path\": \"/data/l/1\", \"value\": 9},"
	       " {\"op\": \"test\", \"path\": \"/data/n\", \"value\": 5}]",
	       ct, NULL);
	assert_status(&r, 200);
	lm = check_ts(&r);
	check_data(&r, "{\"b\": {\"x\": 1, \"y\": 2}, \"c\": \"r\", \"n\": 5, \"l\": [1, 9, 2]}");
	http_resp_free(&r);

	ru_req(&r, "PATCH", item,
	       "[{\"op\": \"copy\", \"from\": \"/data/n\", \"path\": \"/data/m\"},"
	       " {\"op\": \"move\", \"from\": \"/data/c\", \"path\": \"/data/d\"}]",
	       ct, NULL);
	assert_status(&r, 200);
	check_data(&r, "{\"b\": {\"x\": 1, \"y\": 2}, \"d\": \"r\", \"n\": 5, \"m\": 5, "
		       "\"l\": [1, 9, 2]}");
	lm = r.status == 200 ? check_ts(&r) : lm;
	http_resp_free(&r);

	/* failures: 400, and nothing written (not even earlier ops of the same patch) */
	EXPECT_ERROR("PATCH", item,
		     "[{\"op\": \"add\", \"path\": \"/data/z\", \"value\": 1},"
		     " {\"op\": \"test\", \"path\": \"/data/n\", \"value\": 6}]",
		     ct, 400, 107);
	EXPECT_ERROR("PATCH", item, "[{\"op\": \"remove\", \"path\": \"/data/nothere\"}]", ct, 400,
		     107);
	EXPECT_ERROR("PATCH", item,
		     "[{\"op\": \"replace\", \"path\": \"/data/nothere\", \"value\": 1}]", ct, 400,
		     107);
	EXPECT_ERROR("PATCH", item, "[{\"op\": \"jump\", \"path\": \"/data/n\"}]", ct, 400, 107);
	EXPECT_ERROR("PATCH", item, "{\"data\": {\"n\": 1}}", ct, 400, 107);
	ru_req(&r, "GET", item, NULL, NULL, NULL);
	CHECK(r.status == 200 && ru_int(resp_json(&r, "data"), "last_modified") == lm,
	      "a failed JSON patch changed the object: %s", body_snip(&r));
	CHECK(resp_json(&r, "data.z") == NULL, "a failed JSON patch kept its first op");
	http_resp_free(&r);
}

static void test_response_behavior(void)
{
	static const char merge[] = "Content-Type: application/merge-patch+json";
	char b[RU_ID_LEN], item[256];
	struct http_resp r;
	long long lm;

	ru_fresh_collection(b);
	SET(item, ru_record(b, "c", "rb"));
	PUT(item, "{\"a\": 1, \"b\": 2, \"o\": {\"q\": 2}}", 201);

	/* light: the sent fields whose value changed, and nothing else */
	ru_req(&r, "PATCH", item, "{\"data\": {\"a\": 1, \"b\": 3}}", "Response-Behavior: light",
	       NULL);
	assert_status(&r, 200);
	check_exact(resp_json(&r, "data"), "{\"b\": 3}", "light: data");
	lm = ru_etag(&r);
	http_resp_free(&r);
	CHECK(lm > 0 && ru_get_lm(item) == lm, "light: ETag %lld is not the object's timestamp",
	      lm);

	/* diff: of those, the ones whose stored value differs from what was sent */
	ru_req(&r, "PATCH", item, "{\"data\": {\"o\": {\"p\": 1}, \"b\": 4}}",
	       "Response-Behavior: diff", merge);
	assert_status(&r, 200);
	check_exact(resp_json(&r, "data"), "{\"o\": {\"q\": 2, \"p\": 1}}", "diff: data");
	http_resp_free(&r);
	ru_req(&r, "PATCH", item, "{\"data\": {\"b\": 5}}", "Response-Behavior: diff", NULL);
	assert_status(&r, 200);
	CHECK(ru_keys(resp_json(&r, "data")) == 0, "diff of a plain change is not {}: %s",
	      body_snip(&r));
	http_resp_free(&r);

	/* full: the whole object */
	ru_req(&r, "PATCH", item, "{\"data\": {\"c\": 6}}", "Response-Behavior: full", NULL);
	assert_status(&r, 200);
	lm = check_ts(&r);
	check_data(&r, "{\"a\": 1, \"b\": 5, \"o\": {\"q\": 2, \"p\": 1}, \"c\": 6}");
	http_resp_free(&r);

	EXPECT_ERROR("PATCH", item, "{\"data\": {\"c\": 7}}", "Response-Behavior: brief", 400, 107);
	CHECK(ru_get_lm(item) == lm, "a PATCH with a bad Response-Behavior was written");
}

/* --- DELETE, tombstones, cascades ------------------------------------------------------ */

static void test_delete_item(void)
{
	char b[RU_ID_LEN], item[256];
	struct http_resp r;
	json_object *d;
	long long lm, tomb;

	ru_fresh_collection(b);
	SET(item, ru_record(b, "c", "d1"));
	lm = PUT(item, "{\"a\": 1}", 201);
	ru_req(&r, "DELETE", item, NULL, NULL, NULL);
	assert_status(&r, 200);
	tomb = check_ts(&r);
	d = resp_json(&r, "data");
	CHECK(ru_keys(d) == 3 && ru_str(d, "id") != NULL && strcmp(ru_str(d, "id"), "d1") == 0 &&
		  json_object_get_boolean(resp_json(&r, "data.deleted")) &&
		  json_object_is_type(resp_json(&r, "data.deleted"), json_type_boolean),
	      "tombstone is not {id, last_modified, deleted: true}: %s", body_snip(&r));
	CHECK(tomb > lm, "tombstone timestamp %lld not above %lld", tomb, lm);
	http_resp_free(&r);

	ru_req(&r, "GET", item, NULL, NULL, NULL);
	assert_error(&r, 404, 110);
	check_details(&r, "{\"id\": \"d1\", \"resource_name\": \"record\"}");
	http_resp_free(&r);
	EXPECT_ERROR("DELETE", item, NULL, NULL, 404, 110);
	EXPECT_ERROR("PATCH", item, "{\"data\": {\"a\": 2}}", NULL, 404, 110);

	/* the same for a collection */
	ru_req(&r, "DELETE", ru_collection(b, "c"), NULL, NULL, NULL);
	assert_status(&r, 200);
	check_ts(&r);
	CHECK(json_object_get_boolean(resp_json(&r, "data.deleted")), "no deleted: true: %s",
	      body_snip(&r));
	http_resp_free(&r);
	ru_req(&r, "GET", ru_collection(b, "c"), NULL, NULL, NULL);
	assert_error(&r, 404, 110);
	check_details(&r, "{\"id\": \"c\", \"resource_name\": \"collection\"}");
	http_resp_free(&r);
}

static void test_delete_last_modified(void)
{
	char b[RU_ID_LEN];
	struct http_resp r;
	long long lm, want;

	ru_fresh_collection(b);
	lm = PUT(ru_record(b, "c", "f1"), "{}", 201);
	want = lm + HOUR_MS;
	ru_req(&r, "DELETE", ru_fmt("%s?last_modified=%lld", ru_record(b, "c", "f1"), want), NULL,
	       NULL, NULL);
	assert_status(&r, 200);
	CHECK(check_ts(&r) == want, "DELETE ?last_modified=%lld: tombstone at %lld", want,
	      ru_int(resp_json(&r, "data"), "last_modified"));
	http_resp_free(&r);

	PUT(ru_collection(b, "c2"), "{}", 201);
	lm = PUT(ru_record(b, "c2", "f2"), "{}", 201);
	ru_req(&r, "DELETE", ru_fmt("%s?last_modified=1000", ru_record(b, "c2", "f2")), NULL, NULL,
	       NULL);
	assert_status(&r, 200);
	CHECK(check_ts(&r) > lm, "DELETE ?last_modified in the past moved the timestamp back");
	http_resp_free(&r);

	PUT(ru_record(b, "c2", "f3"), "{}", 201);
	EXPECT_ERROR("DELETE", ru_fmt("%s?last_modified=abc", ru_record(b, "c2", "f3")), NULL, NULL,
		     400, 107);
	CHECK(ru_get_lm(ru_record(b, "c2", "f3")) > 0, "a rejected DELETE deleted the object");
}

static void test_cascade_bucket(void)
{
	char b[RU_ID_LEN], group[256];
	struct http_resp r;

	ru_fresh_collection(b);
	SET(group, ru_fmt("/v1/buckets/%s/groups/g", b));
	PUT(group, "{\"members\": []}", 201);
	PUT(ru_record(b, "c", "r1"), "{\"a\": 1}", 201);
	PUT(ru_record(b, "c", "r2"), "{\"a\": 2}", 201);

	ru_req(&r, "DELETE", ru_bucket(b), NULL, NULL, NULL);
	assert_status(&r, 200);
	check_ts(&r);
	http_resp_free(&r);
	/* Kinto answers 403 rather than 404 where the caller has no right left */
	CHECK(ru_gone(ru_bucket(b)), "deleted bucket still readable");
	CHECK(ru_gone(ru_collection(b, "c")), "collection of a deleted bucket still readable");
	CHECK(ru_gone(group), "group of a deleted bucket still readable");
	CHECK(ru_gone(ru_record(b, "c", "r1")), "record of a deleted bucket still readable");
	CHECK(ru_gone(ru_records(b, "c")), "records list of a deleted bucket still readable");

	/* re-created with the same ids, nothing of the old content is back */
	PUT(ru_bucket(b), "{}", 201);
	ru_req(&r, "GET", ru_collection(b, "c"), NULL, NULL, NULL);
	assert_error(&r, 404, 110);
	check_details(&r, "{\"id\": \"c\", \"resource_name\": \"collection\"}");
	http_resp_free(&r);
	EXPECT_ERROR("GET", group, NULL, NULL, 404, 110);
	PUT(ru_collection(b, "c"), "{}", 201);
	EXPECT_ERROR("GET", ru_record(b, "c", "r1"), NULL, NULL, 404, 110);
	/* Only as tombstones, for a client polling with an old ETag (README, "Events"). */
	EXPECT_ORDER(ru_records(b, "c"), "");
	ru_req(&r, "GET", ru_fmt("%s?_since=0", ru_records(b, "c")), NULL, NULL, NULL);
	assert_status(&r, 200);
	CHECK(strcmp(ru_ids_csv(&r, true), "r1,r2") == 0, "records after their bucket: %s",
	      body_snip(&r));
	for (size_t i = 0; i < ru_len(resp_json(&r, "data")); i++)
		CHECK(ru_keys(json_object_array_get_idx(resp_json(&r, "data"), i)) == 3,
		      "a record survived its bucket: %s", body_snip(&r));
	http_resp_free(&r);
}

static void test_cascade_collection(void)
{
	char b[RU_ID_LEN];
	struct http_resp r;

	ru_fresh_collection(b);
	PUT(ru_collection(b, "keep"), "{}", 201);
	PUT(ru_record(b, "c", "r1"), "{}", 201);
	PUT(ru_record(b, "keep", "r1"), "{\"kept\": true}", 201);

	ru_req(&r, "DELETE", ru_collection(b, "c"), NULL, NULL, NULL);
	assert_status(&r, 200);
	http_resp_free(&r);
	ru_req(&r, "GET", ru_record(b, "c", "r1"), NULL, NULL, NULL);
	assert_error(&r, 404, 111);
	check_details(&r, "{\"id\": \"c\", \"resource_name\": \"collection\"}");
	http_resp_free(&r);
	PUT(ru_collection(b, "c"), "{}", 201);
	EXPECT_ERROR("GET", ru_record(b, "c", "r1"), NULL, NULL, 404, 110);
	CHECK(ru_total(ru_records(b, "c")) == 0, "records survived their collection");

	ru_req(&r, "GET", ru_record(b, "keep", "r1"), NULL, NULL, NULL);
	assert_status(&r, 200);
	check_data(&r, "{\"kept\": true}");
	http_resp_free(&r);
	CHECK(ru_get_lm(ru_bucket(b)) > 0, "deleting a collection removed its bucket");
}

static void test_missing_parent(void)
{
	char b[RU_ID_LEN];
	const char *want = "{\"id\": \"nocoll\", \"resource_name\": \"collection\"}";
	struct http_resp r;
	const char *const calls[][3] = {
		{ "GET", "item", NULL },
		{ "PUT", "item", "{\"data\": {}}" },
		{ "PATCH", "item", "{\"data\": {}}" },
		{ "DELETE", "item", NULL },
		{ "GET", "list", NULL },
		{ "POST", "list", "{\"data\": {}}" },
		{ "DELETE", "list", NULL },
	};

	unique_id(b, sizeof b, "ob");
	PUT(ru_bucket(b), "{}", 201);
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		const char *path = strcmp(calls[i][1], "item") == 0 ? ru_record(b, "nocoll", "r1")
								    : ru_records(b, "nocoll");

		ru_req(&r, calls[i][0], path, calls[i][2], NULL, NULL);
		assert_error(&r, 404, 111);
		check_details(&r, want);
		http_resp_free(&r);
	}
	PUT(ru_collection(b, "nocoll"), "{}", 201);
	CHECK(ru_total(ru_records(b, "nocoll")) == 0, "a write under a missing collection stayed");
}

/* --- a resource declared in the config -------------------------------------------------- */

static const char mushrooms_ini[] = "\nresources = mushroom note\n"
				    "resources.mushroom.list = /mushrooms\n"
				    "resources.mushroom.item = /mushrooms/{id}\n"
				    "mushroom_create_principals = system.Authenticated\n"
				    "resources.note.list = /notes\n"
				    "resources.note.item = /notes/{id}\n"
				    "resources.note.scope = user\n";

static void test_configured_resource(void)
{
	struct http_resp r;
	char id[64] = "";
	long long lm, tomb;
	bool ok = http_status("/v1/mushrooms") != 404 || ru_reload(mushrooms_ini);

	CHECK(ok, "reloading with resources = mushroom note failed");
	if (!ok)
		return;
	ru_req(&r, "POST", "/v1/mushrooms", "{\"data\": {\"name\": \"cep\"}}", NULL, NULL);
	assert_status(&r, 201);
	check_ts(&r);
	check_data(&r, "{\"name\": \"cep\"}");
	if (ru_str(resp_json(&r, "data"), "id") != NULL)
		snprintf(id, sizeof id, "%s", ru_str(resp_json(&r, "data"), "id"));
	http_resp_free(&r);
	CHECK(is_uuid4(id), "mushroom id %s is not a UUID4", id);

	lm = PUT("/v1/mushrooms/morel", "{\"name\": \"morel\"}", 201);
	ru_req(&r, "PATCH", "/v1/mushrooms/morel", "{\"data\": {\"edible\": true}}", NULL, NULL);
	assert_status(&r, 200);
	CHECK(check_ts(&r) > lm, "PATCH on a mushroom did not bump it");
	check_data(&r, "{\"name\": \"morel\", \"edible\": true}");
	http_resp_free(&r);

	ru_req(&r, "GET", "/v1/mushrooms?_sort=name", NULL, NULL, NULL);
	assert_status(&r, 200);
	CHECK(ru_len(resp_json(&r, "data")) >= 2 && ru_etag(&r) > 0, "mushroom list: %s",
	      body_snip(&r));
	http_resp_free(&r);

	ru_req(&r, "DELETE", "/v1/mushrooms/morel", NULL, NULL, NULL);
	assert_status(&r, 200);
	tomb = check_ts(&r);
	CHECK(json_object_get_boolean(resp_json(&r, "data.deleted")), "no tombstone: %s",
	      body_snip(&r));
	http_resp_free(&r);
	/* without a parent to inherit from, a deleted object is 403 (Kinto) */
	CHECK(ru_gone("/v1/mushrooms/morel"), "a deleted mushroom is still readable");
	ru_req(&r, "GET", "/v1/mushrooms", NULL, NULL, NULL);
	assert_status(&r, 200);
	CHECK(ru_len(resp_json(&r, "data")) == 1 && strstr(r.body, "morel") == NULL,
	      "mushroom list after the DELETE: %s", body_snip(&r));
	CHECK(ru_etag(&r) == tomb, "mushroom list ETag is not the tombstone's %lld", tomb);
	http_resp_free(&r);
}

/* A per-user resource: each user has a list of their own. */
static void test_per_user_resource(void)
{
	char other[512];
	const char *const as_other[] = { other, NULL };
	struct http_resp r;
	char id[64] = "";

	basic_auth(other, sizeof other, "objects-other", "other-password");
	CU_ASSERT_FATAL(http_status("/v1/notes") != 404); /* declared by the previous test */
	ru_req(&r, "POST", "/v1/notes", "{\"data\": {\"text\": \"mine\"}}", NULL, NULL);
	assert_status(&r, 201);
	check_ts(&r);
	if (ru_str(resp_json(&r, "data"), "id") != NULL)
		SET(id, ru_str(resp_json(&r, "data"), "id"));
	http_resp_free(&r);
	CHECK(is_uuid4(id), "note id %s is not a UUID4", id);

	http_request("GET", "/v1/notes", as_other, NULL, &r);
	assert_status(&r, 200);
	CHECK(ru_len(resp_json(&r, "data")) == 0, "another user sees my notes: %s", body_snip(&r));
	http_resp_free(&r);
	http_request("GET", ru_fmt("/v1/notes/%s", id), as_other, NULL, &r);
	CHECK(r.status == 404 || r.status == 403, "another user reads my note: %ld %s", r.status,
	      body_snip(&r));
	http_resp_free(&r);
	http_request("PUT", ru_fmt("/v1/notes/%s", id), as_other,
		     "{\"data\": {\"text\": \"theirs\"}}", &r);
	CHECK(r.status == 201 || r.status == 403, "another user's PUT on my note's id: %ld %s",
	      r.status, body_snip(&r));
	http_resp_free(&r);

	ru_req(&r, "GET", ru_fmt("/v1/notes/%s", id), NULL, NULL, NULL);
	assert_status(&r, 200);
	check_data(&r, "{\"text\": \"mine\"}");
	http_resp_free(&r);
	ru_req(&r, "HEAD", "/v1/notes", NULL, NULL, NULL);
	CHECK(resp_header(&r, "Total-Objects") &&
		  strcmp(resp_header(&r, "Total-Objects"), "1") == 0,
	      "my notes: Total-Objects %s, expected 1", resp_header(&r, "Total-Objects"));
	http_resp_free(&r);
}

/* --- registration ------------------------------------------------------------------------- */

static int suite_init(void)
{
	ru_login("objects-user", "objects-password");
	return 0;
}

static int suite_clean(void)
{
	return ru_reload_restore() ? 0 : -1;
}

void test_objects_register(void);

void test_objects_register(void)
{
	CU_pSuite s = CU_add_suite("objects", suite_init, suite_clean);

	CU_add_test(s, "envelope: only data and permissions", test_envelope);
	CU_add_test(s, "invalid ids in URL and data.id: 400", test_invalid_ids);
	CU_add_test(s, "generated ids: UUID4 and 8-character names", test_generated_ids);
	CU_add_test(s, "POST with an existing data.id: 200, no write", test_post_existing_id);
	CU_add_test(s, "PUT: create, replace, over a tombstone, id mismatch", test_put);
	CU_add_test(s, "PATCH application/json: shallow merge", test_patch_shallow);
	CU_add_test(s, "PATCH merge-patch+json: RFC 7396", test_patch_merge);
	CU_add_test(s, "PATCH json-patch+json: RFC 6902", test_patch_json);
	CU_add_test(s, "Response-Behavior: full, light, diff", test_response_behavior);
	CU_add_test(s, "DELETE item: tombstone, then 404 errno 110", test_delete_item);
	CU_add_test(s, "DELETE ?last_modified", test_delete_last_modified);
	CU_add_test(s, "cascade: deleting a bucket", test_cascade_bucket);
	CU_add_test(s, "cascade: deleting a collection", test_cascade_collection);
	CU_add_test(s, "missing collection: 404 errno 111", test_missing_parent);
	CU_add_test(s, "a resource declared in the config", test_configured_resource);
	CU_add_test(s, "a per-user resource declared in the config", test_per_user_resource);
}
