/*
 * Hostile requests against the order "authenticate, authorize, then
 * preconditions, then write" (docs/SECURITY.md): nothing a caller may not
 * read -- an object's content, its timestamp, a list's timestamp -- shows
 * through a 412, a 304 or an ETag. Alice owns every fixture; Bob may create
 * records (and buckets, as every authenticated user) but read nothing of
 * Alice's; anonymous callers get 401.
 */
#include <stdio.h>
#include <string.h>

#include "resource_util.h"

#define SECRET "s3cr3t-content"

enum who { ALICE, BOB, ANON };

static char auth_hdr[2][512];

static void as(struct http_resp *r, enum who who, const char *method, const char *path,
	       const char *body, const char *header)
{
	const char *h[4] = { NULL, NULL, NULL, NULL };
	size_t n = 0;

	if (who != ANON)
		h[n++] = auth_hdr[who];
	if (body != NULL)
		h[n++] = "Content-Type: application/json";
	if (header != NULL)
		h[n++] = header;
	http_request(method, path, h, body, r);
}

static long long etag_of(enum who who, const char *method, const char *path)
{
	struct http_resp r;
	long long ts;

	as(&r, who, method, path, NULL, NULL);
	ts = ru_etag(&r);
	http_resp_free(&r);
	return ts;
}

/* The answer must be a refusal that shows nothing: no content, no timestamp. */
static void refused_at(enum who who, const char *method, const char *path, const char *body,
		       const char *header, long long hidden_ts, const char *file, unsigned line)
{
	struct http_resp r;
	long want = who == ANON ? 401 : 403;

	as(&r, who, method, path, body, header);
	check_at(r.status == want, file, line, "%s %s [%s] as %d: HTTP %ld, expected %ld: %.300s",
		 method, path, header ? header : "", (int)who, r.status, want, r.body);
	check_at(strstr(r.body, SECRET) == NULL, file, line, "%s %s [%s]: content leaked: %.300s",
		 method, path, header ? header : "", r.body);
	check_at(hidden_ts <= 0 || ru_etag(&r) != hidden_ts, file, line,
		 "%s %s [%s]: the ETag %lld leaked", method, path, header ? header : "", hidden_ts);
	check_at(strstr(r.body, "existing") == NULL, file, line, "%s %s: details.existing: %.300s",
		 method, path, r.body);
	http_resp_free(&r);
}

#define REFUSED(w, m, p, b, h, ts) refused_at((w), (m), (p), (b), (h), (ts), __FILE__, __LINE__)

static void put_ok(const char *path, const char *body)
{
	struct http_resp r;

	as(&r, ALICE, "PUT", path, body, NULL);
	CHECK(r.status == 200 || r.status == 201, "PUT %s: HTTP %ld %.200s", path, r.status, r.body);
	http_resp_free(&r);
}

/* Alice's bucket with a collection where every authenticated user may create records. */
static void fixture(char *bucket, size_t size, const char *prefix)
{
	unique_id(bucket, size, prefix);
	put_ok(ru_fmt("/v1/buckets/%s", bucket), "{\"data\": {\"note\": \"" SECRET "\"}}");
	put_ok(ru_fmt("/v1/buckets/%s/collections/c", bucket),
	       "{\"permissions\": {\"record:create\": [\"system.Authenticated\"]}}");
	put_ok(ru_fmt("/v1/buckets/%s/collections/c/records/r1", bucket),
	       "{\"data\": {\"note\": \"" SECRET "\"}}");
	put_ok(ru_fmt("/v1/buckets/%s/collections/hidden", bucket), "{}");
	put_ok(ru_fmt("/v1/buckets/%s/collections/hidden/records/h1", bucket),
	       "{\"data\": {\"note\": \"" SECRET "\"}}");
}

/*
 * POST naming the id of an object the caller cannot read: 403 whatever the
 * preconditions say (a 412 would carry the object in details.existing).
 */
static void test_post_existing_id(void)
{
	char b[64], hdr[4][64];
	const char *list, *body;
	long long ts;
	struct http_resp r;

	fixture(b, sizeof b, "secpost");
	list = ru_fmt("/v1/buckets/%s/collections/c/records", b);
	ts = etag_of(ALICE, "GET", ru_fmt("%s/r1", list));
	CHECK(ts > 0, "no ETag for the fixture");
	snprintf(hdr[0], sizeof hdr[0], "If-None-Match: *");
	snprintf(hdr[1], sizeof hdr[1], "If-Match: \"1\"");
	snprintf(hdr[2], sizeof hdr[2], "If-Match: \"%lld\"", ts);
	snprintf(hdr[3], sizeof hdr[3], "If-None-Match: \"%lld\"", ts);
	body = "{\"data\": {\"id\": \"r1\"}}";
	REFUSED(BOB, "POST", list, body, NULL, ts);
	for (size_t i = 0; i < 4; i++) {
		REFUSED(BOB, "POST", list, body, hdr[i], ts);
		REFUSED(ANON, "POST", list, body, hdr[i], ts);
		/* The bucket itself, which any authenticated user may "create". */
		REFUSED(BOB, "POST", "/v1/buckets", ru_fmt("{\"data\": {\"id\": \"%s\"}}", b), hdr[i],
			0);
	}
	/* The same inside a batch, where a sub-request's answer is in the body. */
	as(&r, BOB, "POST", "/v1/batch",
	   ru_fmt("{\"requests\": [{\"method\": \"POST\", \"path\": \"/buckets/%s/collections/c/records\","
		  " \"headers\": {\"If-None-Match\": \"*\"}, \"body\": {\"data\": {\"id\": \"r1\"}}},"
		  "{\"method\": \"POST\", \"path\": \"/buckets\", \"headers\": {\"If-Match\": \"\\\"1\\\"\"},"
		  " \"body\": {\"data\": {\"id\": \"%s\"}}}]}", b, b),
	   NULL);
	CHECK(r.status == 200, "batch: HTTP %ld", r.status);
	CHECK(ru_len(resp_json(&r, "responses")) == 2 &&
	      ru_int(json_object_array_get_idx(resp_json(&r, "responses"), 0), "status") == 403 &&
	      ru_int(json_object_array_get_idx(resp_json(&r, "responses"), 1), "status") == 403,
	      "batch statuses: %.600s", r.body);
	CHECK(strstr(r.body, SECRET) == NULL, "batch leaked the content: %.300s", r.body);
	http_resp_free(&r);

	/* Controls: the owner gets the 412 with the object, Bob can create a fresh id. */
	as(&r, ALICE, "POST", list, body, "If-None-Match: *");
	CHECK(r.status == 412 && strstr(r.body, SECRET) != NULL, "owner: HTTP %ld %.200s", r.status,
	      r.body);
	http_resp_free(&r);
	as(&r, BOB, "POST", list, "{\"data\": {\"id\": \"bobs\"}}", "If-None-Match: *");
	CHECK(r.status == 201, "Bob's own creation: HTTP %ld %.200s", r.status, r.body);
	http_resp_free(&r);
}

/*
 * A list the caller may not read: the refusal comes before If-Match /
 * If-None-Match, so neither 412 nor 304 (nor their ETag) tells the list's
 * timestamp.
 */
static void test_list_preconditions(void)
{
	char b[64], hdr[4][64];
	const char *list;
	long long ts;
	struct http_resp r;

	fixture(b, sizeof b, "seclist");
	list = ru_fmt("/v1/buckets/%s/collections/hidden/records", b);
	ts = etag_of(ALICE, "GET", list);
	CHECK(ts > 0, "no list ETag");
	snprintf(hdr[0], sizeof hdr[0], "If-Match: \"1\"");
	snprintf(hdr[1], sizeof hdr[1], "If-None-Match: \"%lld\"", ts);
	snprintf(hdr[2], sizeof hdr[2], "If-Match: \"%lld\"", ts);
	snprintf(hdr[3], sizeof hdr[3], "If-None-Match: *");
	for (size_t i = 0; i < 4; i++) {
		static const char *const methods[] = { "GET", "HEAD", "DELETE" };

		for (size_t m = 0; m < 3; m++) {
			REFUSED(BOB, methods[m], list, NULL, hdr[i], ts);
			REFUSED(ANON, methods[m], list, NULL, hdr[i], ts);
		}
		REFUSED(BOB, "GET", ru_fmt("/v1/buckets/%s/groups", b), NULL, hdr[i], 0);
	}
	CHECK(etag_of(ALICE, "GET", list) == ts, "a refused DELETE changed the list");
	/* Control: the owner's conditional GET. */
	as(&r, ALICE, "GET", list, NULL, hdr[1]);
	CHECK(r.status == 304, "owner's If-None-Match: HTTP %ld", r.status);
	http_resp_free(&r);
}

static int suite_init(void)
{
	basic_auth(auth_hdr[ALICE], sizeof auth_hdr[ALICE], "sec-alice", "pw-a");
	basic_auth(auth_hdr[BOB], sizeof auth_hdr[BOB], "sec-bob", "pw-b");
	return 0;
}

void test_security_authz_register(void)
{
	CU_pSuite s = CU_add_suite("security: authorization first", suite_init, NULL);

	CU_add_test(s, "POST of an existing id: 403 before any precondition",
		    test_post_existing_id);
	CU_add_test(s, "list preconditions after authorization", test_list_preconditions);
}
