/*
 * Timestamps and conditional requests on item endpoints, black-box (docs/protocol.md
 * §3): ETag and Last-Modified on every response, If-Match
 * and If-None-Match with Kinto's strict-equality rules, malformed headers,
 * and client-supplied last_modified (the future is kept, the past is not).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resource_util.h"

#define HOUR_MS 3600000LL

/* --- timestamps and preconditions ------------------------------------------------------- */

static void test_etag_headers(void)
{
	char b[RU_ID_LEN];
	struct http_resp r;
	long long lm;

	ru_fresh_collection(b);
	ru_req(&r, "POST", ru_records(b, "c"), "{\"data\": {\"id\": \"e1\"}}", NULL, NULL);
	assert_status(&r, 201);
	lm = check_ts(&r);
	http_resp_free(&r);
	ru_req(&r, "GET", ru_record(b, "c", "e1"), NULL, NULL, NULL);
	CHECK(check_ts(&r) == lm, "GET: ETag differs from POST's");
	CHECK(resp_header_count(&r, "ETag") == 1, "several ETag headers");
	http_resp_free(&r);
	ru_req(&r, "PATCH", ru_record(b, "c", "e1"), "{\"data\": {\"a\": 1}}", NULL, NULL);
	CHECK(check_ts(&r) > lm, "PATCH: ETag did not move");
	http_resp_free(&r);
	ru_req(&r, "GET", ru_bucket(b), NULL, NULL, NULL);
	check_ts(&r);
	http_resp_free(&r);
	ru_req(&r, "GET", ru_collection(b, "c"), NULL, NULL, NULL);
	check_ts(&r);
	http_resp_free(&r);
}

static void test_if_match(void)
{
	char b[RU_ID_LEN], item[256];
	struct http_resp r;
	long long lm1, lm2;

	ru_fresh_collection(b);
	SET(item, ru_record(b, "c", "i1"));
	lm1 = PUT(item, "{\"v\": 1}", 201);
	ru_req(&r, "PUT", item, "{\"data\": {\"v\": 2}}", ru_fmt("If-Match: \"%lld\"", lm1), NULL);
	assert_status(&r, 200);
	lm2 = check_ts(&r);
	http_resp_free(&r);

	/* stale: 412 with the current object, its ETag, and nothing written */
	ru_req(&r, "PUT", item, "{\"data\": {\"v\": 3}}", ru_fmt("If-Match: \"%lld\"", lm1), NULL);
	assert_error(&r, 412, 114);
	CHECK(ru_int(resp_json(&r, "details.existing"), "last_modified") == lm2 &&
		  ru_int(resp_json(&r, "details.existing"), "v") == 2 &&
		  ru_str(resp_json(&r, "details.existing"), "id") != NULL,
	      "412: details.existing is not the current object: %s", body_snip(&r));
	CHECK(ru_etag(&r) == lm2, "412: ETag %s is not the current %lld",
	      resp_header(&r, "ETag") ? resp_header(&r, "ETag") : "missing", lm2);
	http_resp_free(&r);
	ru_req(&r, "PATCH", item, "{\"data\": {\"v\": 4}}", ru_fmt("If-Match: \"%lld\"", lm1),
	       NULL);
	assert_error(&r, 412, 114);
	http_resp_free(&r);
	ru_req(&r, "DELETE", item, NULL, ru_fmt("If-Match: \"%lld\"", lm2 + 1), NULL);
	assert_error(&r, 412, 114);
	http_resp_free(&r);
	CHECK(ru_get_lm(item) == lm2, "a failed precondition changed the object");

	/* If-Match: * needs an existing object */
	ru_req(&r, "PATCH", item, "{\"data\": {\"v\": 5}}", "If-Match: *", NULL);
	assert_status(&r, 200);
	lm2 = check_ts(&r);
	http_resp_free(&r);
	EXPECT_ERROR("PUT", ru_record(b, "c", "i2"), "{\"data\": {}}", "If-Match: *", 412, 114);
	EXPECT_ERROR("PUT", ru_record(b, "c", "i2"), "{\"data\": {}}",
		     ru_fmt("If-Match: \"%lld\"", lm2), 412, 114);
	CHECK(ru_get_lm(ru_record(b, "c", "i2")) == -404, "PUT with If-Match created i2");

	/* a matching If-Match on DELETE */
	ru_req(&r, "DELETE", item, NULL, ru_fmt("If-Match: \"%lld\"", lm2), NULL);
	assert_status(&r, 200);
	http_resp_free(&r);
}

static void test_if_none_match(void)
{
	char b[RU_ID_LEN], item[256];
	struct http_resp r;
	long long lm;

	ru_fresh_collection(b);
	SET(item, ru_record(b, "c", "n1"));
	lm = PUT(item, "{\"v\": 1}", 201);
	ru_req(&r, "PUT", item, "{\"data\": {\"v\": 2}}", "If-None-Match: *", NULL);
	assert_error(&r, 412, 114);
	CHECK(ru_int(resp_json(&r, "details.existing"), "last_modified") == lm,
	      "412: details.existing is not the object: %s", body_snip(&r));
	http_resp_free(&r);
	EXPECT_ERROR("POST", ru_records(b, "c"), "{\"data\": {\"id\": \"n1\"}}", "If-None-Match: *",
		     412, 114);
	CHECK(ru_get_lm(item) == lm, "If-None-Match: * did not protect the object");
	ru_req(&r, "PUT", ru_record(b, "c", "n2"), "{\"data\": {}}", "If-None-Match: *", NULL);
	assert_status(&r, 201);
	http_resp_free(&r);

	/* GET: 304 when equal, with an empty body and the ETag */
	ru_req(&r, "GET", item, NULL, ru_fmt("If-None-Match: \"%lld\"", lm), NULL);
	assert_status(&r, 304);
	CHECK(r.body_len == 0, "304 with a body: %s", body_snip(&r));
	CHECK(ru_etag(&r) == lm, "304 without the ETag");
	http_resp_free(&r);
	ru_req(&r, "GET", item, NULL, ru_fmt("If-None-Match: \"%lld\"", lm - 1), NULL);
	assert_status(&r, 200);
	CHECK(check_ts(&r) == lm, "GET with another If-None-Match");
	http_resp_free(&r);
}

static void test_bad_precondition_headers(void)
{
	static const char *const bad[] = { "123",    "\"12a\"",      "W/\"123\"", "\"\"",
					   "\"-5\"", "\"1\", \"2\"", "\"1" };
	char b[RU_ID_LEN], item[256];
	long long lm;

	ru_fresh_collection(b);
	SET(item, ru_record(b, "c", "h1"));
	lm = PUT(item, "{}", 201);
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		EXPECT_ERROR("PUT", item, "{\"data\": {\"x\": 1}}", ru_fmt("If-Match: %s", bad[i]),
			     400, 107);
		EXPECT_ERROR("GET", item, NULL, ru_fmt("If-None-Match: %s", bad[i]), 400, 107);
	}
	CHECK(ru_get_lm(item) == lm, "a PUT with a malformed If-Match was written");
}

static void test_client_last_modified(void)
{
	char b[RU_ID_LEN];
	struct http_resp r;
	long long now, want, lm;

	ru_fresh_collection(b);
	now = PUT(ru_record(b, "c", "x"), "{}", 201);

	want = now + HOUR_MS;
	ru_req(&r, "PUT", ru_record(b, "c", "fut"),
	       ru_fmt("{\"data\": {\"last_modified\": %lld}}", want), NULL, NULL);
	assert_status(&r, 201);
	CHECK(check_ts(&r) == want, "PUT: a future last_modified %lld became %lld", want,
	      ru_int(resp_json(&r, "data"), "last_modified"));
	http_resp_free(&r);
	CHECK(ru_get_lm(ru_record(b, "c", "fut")) == want,
	      "GET: the future timestamp was not kept");

	want += HOUR_MS;
	ru_req(&r, "POST", ru_records(b, "c"),
	       ru_fmt("{\"data\": {\"last_modified\": %lld}}", want), NULL, NULL);
	assert_status(&r, 201);
	CHECK(check_ts(&r) == want, "POST: a future last_modified %lld became %lld", want,
	      ru_int(resp_json(&r, "data"), "last_modified"));
	http_resp_free(&r);

	want += HOUR_MS;
	ru_req(&r, "PATCH", ru_record(b, "c", "x"),
	       ru_fmt("{\"data\": {\"last_modified\": %lld}}", want), NULL, NULL);
	assert_status(&r, 200);
	CHECK(check_ts(&r) == want, "PATCH: a future last_modified %lld became %lld", want,
	      ru_int(resp_json(&r, "data"), "last_modified"));
	http_resp_free(&r);

	/* the past is not honoured: timestamps still increase */
	PUT(ru_collection(b, "past"), "{}", 201);
	lm = PUT(ru_record(b, "past", "p0"), "{}", 201);
	ru_req(&r, "PUT", ru_record(b, "past", "p1"), "{\"data\": {\"last_modified\": 1000}}", NULL,
	       NULL);
	assert_status(&r, 201);
	now = check_ts(&r);
	CHECK(now > lm, "PUT with a past last_modified got %lld, not above %lld", now, lm);
	http_resp_free(&r);
	ru_req(&r, "POST", ru_records(b, "past"), "{\"data\": {\"last_modified\": 1000}}", NULL,
	       NULL);
	assert_status(&r, 201);
	CHECK(check_ts(&r) > now, "POST with a past last_modified did not increase");
	now = ru_int(resp_json(&r, "data"), "last_modified");
	http_resp_free(&r);
	ru_req(&r, "PUT", ru_record(b, "past", "p2"), "{\"data\": {\"last_modified\": \"soon\"}}",
	       NULL, NULL);
	assert_status(&r, 201);
	CHECK(check_ts(&r) > now, "a non-integer last_modified was not replaced");
	http_resp_free(&r);
}

/* --- registration ------------------------------------------------------------------------- */

static int suite_init(void)
{
	ru_login("preconditions-user", "preconditions-password");
	return 0;
}

void test_preconditions_register(void);

void test_preconditions_register(void)
{
	CU_pSuite s = CU_add_suite("preconditions", suite_init, NULL);

	CU_add_test(s, "ETag and Last-Modified on every response", test_etag_headers);
	CU_add_test(s, "If-Match", test_if_match);
	CU_add_test(s, "If-None-Match", test_if_none_match);
	CU_add_test(s, "malformed If-Match / If-None-Match: 400", test_bad_precondition_headers);
	CU_add_test(s, "client data.last_modified: future kept, past not",
		    test_client_last_modified);
}
