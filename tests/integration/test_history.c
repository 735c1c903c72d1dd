/*
 * Kinto's history (README, "History"; Kinto's docs, api/1.x/history.html),
 * over the real stack: one entry per impacted object per change, written in
 * the change's transaction; filters, sorting and pages as any list; who
 * sees what; DELETE by bucket writers; excluded resources and users;
 * trimming by count and by age; switched off, a 404 like any unknown URL.
 * The suite turns history on with a reload (SIGHUP) and restores the
 * stack's settings at its end.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events_util.h"
#include "history_util.h"
#include "resource_util.h"

static const char *const names[N_USERS] = { "halice", "hbob", "hcarol", "hdave", "herin",
					    "hfrank", "hzed" };
static char auth[N_USERS][256];
char uid[N_USERS][128];
static char excluded_bucket[RU_ID_LEN], partial_bucket[RU_ID_LEN];

/* A request as user u (-1: anonymous). */
void as(struct http_resp *r, int u, const char *method, const char *path, const char *body)
{
	const char *h[2] = { u >= 0 ? auth[u] : NULL, NULL };

	http_request(method, path, u >= 0 ? h : NULL, body, r);
}

/* method path as u must answer want; the body is freed. */
void ok_as(int u, const char *method, const char *path, const char *body, long want)
{
	struct http_resp r;

	as(&r, u, method, path, body);
	CHECK(r.status == want, "%s %s as %s: %ld, expected %ld: %s", method, path,
	      u >= 0 ? names[u] : "anonymous", r.status, want, body_snip(&r));
	http_resp_free(&r);
}

/* GET the history of bucket b with query q ("" for none) as u, into r; its data array. */
json_object *hist(struct http_resp *r, int u, const char *b, const char *q)
{
	as(r, u, "GET", ru_fmt("/v1/buckets/%s/history%s%s", b, *q ? "?" : "", q), NULL);
	return resp_json(r, "data");
}

/* The number of entries u sees in b with q, -1 when the answer is not a 200 list. */
long count_as(int u, const char *b, const char *q)
{
	struct http_resp r;
	json_object *d = hist(&r, u, b, q);
	long n = r.status == 200 && json_object_is_type(d, json_type_array) ? (long)ru_len(d) : -1;

	http_resp_free(&r);
	return n;
}

static int suite_init(void)
{
	struct http_resp r;
	const char *id;

	for (int u = 0; u < N_USERS; u++) {
		basic_auth(auth[u], sizeof auth[u], names[u], "pw");
		as(&r, u, "GET", "/v1/", NULL);
		id = ru_str(resp_json(&r, "user"), "id");
		snprintf(uid[u], sizeof uid[u], "%s", id ? id : "");
		http_resp_free(&r);
		if (id == NULL)
			return 1;
	}
	unique_id(excluded_bucket, sizeof excluded_bucket, "hexcl");
	unique_id(partial_bucket, sizeof partial_bucket, "hpart");
	/* No CUnit assertion here: this runs outside any test. */
	return !ru_reload(ru_fmt("\nhistory_enabled = true\n"
				 "history.exclude_resources = /buckets/%s "
				 "/buckets/%s/collections/secret\n"
				 "history.exclude_user_ids = %s\n",
				 excluded_bucket, partial_bucket, uid[ERIN]));
}

static int suite_cleanup(void)
{
	return ru_reload_restore() ? 0 : 1;
}

/* A fresh bucket of alice's (prefix p) with collection c. */
void fresh(char *b, const char *p)
{
	unique_id(b, RU_ID_LEN, p);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s", b), "{\"data\":{}}", 201);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/c", b), "{\"data\":{}}", 201);
}

static bool has_string(json_object *array, const char *s)
{
	for (size_t i = 0; i < ru_len(array); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(array, i)), s) == 0)
			return true;
	return false;
}

const char *member(json_object *o, const char *dotted)
{
	char key[128], *dot;
	json_object *v = o;

	snprintf(key, sizeof key, "%s", dotted);
	for (char *k = key; v != NULL && k != NULL; k = dot) {
		if ((dot = strchr(k, '.')) != NULL)
			*dot++ = '\0';
		if (!json_object_object_get_ex(v, k, &v))
			v = NULL;
	}
	return v ? json_object_get_string(v) : NULL;
}

static bool is_iso_date(const char *s)
{
	regex_t re;
	bool ok;

	if (s == NULL || regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
				 "\\.[0-9]{6}\\+00:00$", REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	ok = regexec(&re, s, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

/* Entry i of d is (action, resource_name, uri) and has Kinto's fields. */
static void check_entry(json_object *d, size_t i, const char *action, const char *rn,
			const char *uri, int user)
{
	json_object *e = json_object_array_get_idx(d, i);
	char idkey[64];
	const char *last = strrchr(uri, '/');

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CHECK(member(e, "action") && strcmp(member(e, "action"), action) == 0 &&
	      member(e, "resource_name") && strcmp(member(e, "resource_name"), rn) == 0 &&
	      member(e, "uri") && strcmp(member(e, "uri"), uri) == 0,
	      "entry %zu: expected %s %s %s, got %s", i, action, rn, uri,
	      json_object_to_json_string(e));
	snprintf(idkey, sizeof idkey, "%s_id", rn);
	CHECK(member(e, idkey) && last && strcmp(member(e, idkey), last + 1) == 0,
	      "entry %zu: %s is not %s", i, idkey, last ? last + 1 : "?");
	CHECK(member(e, "target.data.id") && strcmp(member(e, "target.data.id"), last + 1) == 0,
	      "entry %zu: target.data.id", i);
	CHECK(member(e, "user_id") && strcmp(member(e, "user_id"), uid[user]) == 0,
	      "entry %zu: user_id %s", i, member(e, "user_id") ?: "(none)");
	CHECK(is_iso_date(member(e, "date")), "entry %zu: date %s", i, member(e, "date") ?: "-");
	CHECK(member(e, "id") && ru_int(e, "last_modified") > 0, "entry %zu: id, last_modified", i);
	CHECK(json_object_object_get_ex(e, "target", NULL) &&
	      member(e, "target.permissions") != NULL, "entry %zu: target.permissions", i);
	/* Kinto keeps bucket_id on bucket entries only (its listener pops the event's). */
	CHECK(strcmp(rn, "bucket") == 0 || member(e, "bucket_id") == NULL,
	      "entry %zu: a %s entry with bucket_id", i, rn);
	CHECK(json_object_object_get_ex(e, "timestamp", NULL) == false, "entry %zu: timestamp", i);
}

/* Every action on every resource, newest first, each with its object's own URI. */
static void test_entries(void)
{
	char b[RU_ID_LEN], posted[64], p[512];
	struct http_resp r;
	json_object *d, *e;
	long long prev = 0;

	fresh(b, "hent");
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/groups/g", b), "{\"data\":{\"members\":[]}}", 201);
	as(&r, ALICE, "POST", ru_fmt("/v1/buckets/%s/collections/c/records", b),
	   "{\"data\":{\"title\":\"posted\"}}");
	assert_status(&r, 201);
	snprintf(posted, sizeof posted, "%s", ru_str(resp_json(&r, "data"), "id") ?: "");
	http_resp_free(&r);
	SET(p, ru_fmt("/v1/buckets/%s/collections/c/records/r1", b));
	ok_as(ALICE, "PUT", p, "{\"data\":{\"title\":\"one\"}}", 201);
	ok_as(ALICE, "PATCH", p, "{\"data\":{\"title\":\"two\"}}", 200);
	ok_as(ALICE, "DELETE", p, NULL, 200);
	d = hist(&r, ALICE, b, "");
	assert_status(&r, 200);
	CU_ASSERT_FATAL(ru_len(d) == 7);
	check_entry(d, 0, "delete", "record", ru_fmt("/buckets/%s/collections/c/records/r1", b), ALICE);
	check_entry(d, 1, "update", "record", ru_fmt("/buckets/%s/collections/c/records/r1", b), ALICE);
	check_entry(d, 2, "create", "record", ru_fmt("/buckets/%s/collections/c/records/r1", b), ALICE);
	check_entry(d, 3, "create", "record",
		    ru_fmt("/buckets/%s/collections/c/records/%s", b, posted), ALICE);
	check_entry(d, 4, "create", "group", ru_fmt("/buckets/%s/groups/g", b), ALICE);
	check_entry(d, 5, "create", "collection", ru_fmt("/buckets/%s/collections/c", b), ALICE);
	check_entry(d, 6, "create", "bucket", ru_fmt("/buckets/%s", b), ALICE);
	e = json_object_array_get_idx(d, 0);
	CHECK(member(e, "target.data.deleted") && strcmp(member(e, "target.data.deleted"), "true") == 0,
	      "a delete's target is the tombstone: %s", json_object_to_json_string(e));
	e = json_object_array_get_idx(d, 1);
	CHECK(member(e, "target.data.title") && strcmp(member(e, "target.data.title"), "two") == 0,
	      "an update's target is the new version");
	CHECK(member(e, "collection_id") && strcmp(member(e, "collection_id"), "c") == 0,
	      "a record entry names its collection");
	CHECK(has_string(json_object_object_get(json_object_object_get(json_object_object_get(
		      e, "target"), "permissions"), "write"), uid[ALICE]),
	      "target.permissions.write has the writer: %s", json_object_to_json_string(e));
	e = json_object_array_get_idx(d, 6);
	CHECK(member(e, "bucket_id") && strcmp(member(e, "bucket_id"), b) == 0, "bucket_id");
	/* The history list's own timestamps: strictly decreasing, the ETag the newest. */
	for (size_t i = ru_len(d); i-- > 0;) {
		long long lm = ru_int(json_object_array_get_idx(d, i), "last_modified");

		CHECK(lm > prev, "entry %zu: last_modified %lld after %lld", i, lm, prev);
		prev = lm;
	}
	CHECK(ru_etag(&r) == prev, "ETag %lld, newest entry %lld", ru_etag(&r), prev);
	http_resp_free(&r);
}

/* A plural DELETE: one entry per object; a batch: one per sub-request's object. */
static void test_plural_and_batch(void)
{
	char b[RU_ID_LEN];
	struct http_resp r;
	json_object *d;
	long n;

	fresh(b, "hpl");
	for (int i = 0; i < 3; i++)
		ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/c/records/x%d", b, i),
		      "{\"data\":{}}", 201);
	ok_as(ALICE, "DELETE", ru_fmt("/v1/buckets/%s/collections/c/records", b), NULL, 200);
	CHECK(count_as(ALICE, b, "action=delete") == 3, "3 deletes: %ld",
	      count_as(ALICE, b, "action=delete"));
	for (int i = 0; i < 3; i++)
		CHECK(count_as(ALICE, b, ru_fmt("action=delete&uri=/buckets/%s/collections/c/records/x%d",
						b, i)) == 1, "the delete of x%d", i);
	n = count_as(ALICE, b, "");
	as(&r, ALICE, "POST", "/v1/batch", ru_fmt(
		   "{\"defaults\":{\"method\":\"PUT\",\"body\":{\"data\":{}}},\"requests\":["
		   "{\"path\":\"/buckets/%1$s/collections/c/records/y1\"},"
		   "{\"path\":\"/buckets/%1$s/collections/c/records/y2\","
		   "\"headers\":{\"If-Match\":\"\\\"1\\\"\"}},"
		   "{\"path\":\"/buckets/%1$s/collections/c2\"}]}", b));
	assert_status(&r, 200);
	d = resp_json(&r, "responses");
	CHECK(ru_len(d) == 3 && ru_int(json_object_array_get_idx(d, 1), "status") == 412,
	      "the batch's second request fails: %s", body_snip(&r));
	http_resp_free(&r);
	CHECK(count_as(ALICE, b, "") == n + 2, "a batch of 2 good writes: %ld entries after %ld",
	      count_as(ALICE, b, ""), n);
	CHECK(count_as(ALICE, b, ru_fmt("uri=/buckets/%s/collections/c/records/y2", b)) == 0,
	      "the failed sub-request left an entry");
	CHECK(count_as(ALICE, b, ru_fmt("uri=/buckets/%s/collections/c2", b)) == 1,
	      "the batch's collection");
}

/* /buckets/default/history is the caller's own bucket's; a batch may read history too. */
static void test_default_bucket(void)
{
	struct http_resp r;
	json_object *d;

	ok_as(CAROL, "PUT", "/v1/buckets/default/collections/notes/records/n1", "{\"data\":{}}", 201);
	d = hist(&r, CAROL, "default", "resource_name=record");
	CHECK(r.status == 200 && ru_len(d) == 1 &&
	      strstr(member(json_object_array_get_idx(d, 0), "uri") ?: "", "/collections/notes/records/n1") &&
	      strncmp(member(json_object_array_get_idx(d, 0), "uri") ?: "", "/buckets/default/", 17) != 0,
	      "the personal bucket's history names the real bucket: %s", body_snip(&r));
	http_resp_free(&r);
	as(&r, CAROL, "POST", "/v1/batch",
	   "{\"requests\":[{\"method\":\"GET\",\"path\":\"/buckets/default/history\"}]}");
	d = resp_json(&r, "responses");
	CHECK(r.status == 200 && ru_int(json_object_array_get_idx(d, 0), "status") == 200,
	      "history in a batch: %s", body_snip(&r));
	http_resp_free(&r);
}

/* A change that does not commit leaves no entry: a 412, a COMMIT that never happens. */
static void test_same_transaction(void)
{
	char b[RU_ID_LEN];
	const char *rec;
	struct http_resp r;
	long n;

	fresh(b, "htx");
	n = count_as(ALICE, b, "");
	rec = ru_fmt("/v1/buckets/%s/collections/c/records/r", b);
	as(&r, ALICE, "PUT", rec, "{\"data\":{}}");
	http_resp_free(&r);
	{
		const char *h[3] = { auth[ALICE], "If-Match: \"1\"", NULL };

		http_request("PUT", rec, h, "{\"data\":{\"v\":2}}", &r);
		assert_status(&r, 412);
		http_resp_free(&r);
	}
	CHECK(count_as(ALICE, b, "") == n + 1, "a 412 wrote an entry: %ld after %ld",
	      count_as(ALICE, b, ""), n);
	/* The connection is cut right before COMMIT (test builds, PAWL_FAULT_LOSE_BEFORE_COMMIT). */
	as(&r, ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/c/records/pawlfaultcut", b),
	   "{\"data\":{}}");
	if (r.status != 201) {
		CHECK(count_as(ALICE, b, "") == n + 1, "a change rolled back left an entry");
		CHECK(count_as(ALICE, b, "record_id=pawlfaultcut") <= 0, "its entry is there");
	}
	http_resp_free(&r);
}

/* Filters, _since/_before, sort, pages, _fields, ETag/304 and HEAD as on any list. */
static void test_filters_and_pages(void)
{
	char b[RU_ID_LEN], *next = NULL;
	struct http_resp r;
	json_object *d;
	long long t0, t1;
	long total, seen = 0;

	fresh(b, "hfl");
	t0 = ru_etag((as(&r, ALICE, "GET", ru_fmt("/v1/buckets/%s/history", b), NULL), &r));
	http_resp_free(&r);
	for (int i = 0; i < 5; i++)
		ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/c/records/f%d", b, i),
		      ru_fmt("{\"data\":{\"title\":\"t%d\",\"n\":%d}}", i, i), 201);
	t1 = ru_etag((as(&r, ALICE, "GET", ru_fmt("/v1/buckets/%s/history", b), NULL), &r));
	http_resp_free(&r);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/groups/g", b), "{\"data\":{\"members\":[]}}", 201);
	total = count_as(ALICE, b, "");
	CHECK(total == 8, "8 entries: %ld", total);
	CHECK(count_as(ALICE, b, "resource_name=record") == 5, "resource_name=record");
	CHECK(count_as(ALICE, b, "collection_id=c") == 6, "collection_id=c (records and c)");
	CHECK(count_as(ALICE, b, "in_resource_name=group,bucket") == 2, "in_resource_name");
	CHECK(count_as(ALICE, b, "target.data.title=t3") == 1, "target.data.title");
	CHECK(count_as(ALICE, b, "min_target.data.n=3") == 2, "min_target.data.n");
	CHECK(count_as(ALICE, b, "has_record_id=false") == 3, "has_record_id=false");
	CHECK(count_as(ALICE, b, ru_fmt("exclude_user_id=%s", uid[ALICE])) == 0, "exclude_user_id");
	CHECK(count_as(ALICE, b, ru_fmt("_since=%lld", t0)) == 6, "_since: %ld",
	      count_as(ALICE, b, ru_fmt("_since=%lld", t0)));
	CHECK(count_as(ALICE, b, ru_fmt("_before=%lld", t1)) == 6, "_before");
	CHECK(count_as(ALICE, b, ru_fmt("_since=%lld&_before=%lld", t0, t1)) == 4, "_since+_before");
	d = hist(&r, ALICE, b, "_sort=last_modified&_fields=uri,action");
	CHECK(ru_len(d) == 8 && strcmp(member(json_object_array_get_idx(d, 0), "action"), "create") == 0 &&
	      ru_str(json_object_array_get_idx(d, 0), "uri") &&
	      strcmp(ru_str(json_object_array_get_idx(d, 0), "uri"), ru_fmt("/buckets/%s", b)) == 0,
	      "ascending: the bucket first: %s", body_snip(&r));
	CHECK(ru_keys(json_object_array_get_idx(d, 0)) == 4, "_fields: id, last_modified, uri, action");
	http_resp_free(&r);
	/* Pages of 3 until Next-Page stops: every entry once. */
	hist(&r, ALICE, b, "_limit=3");
	for (int page = 0; page < 5; page++) {
		seen += (long)ru_len(resp_json(&r, "data"));
		free(next);
		next = resp_header(&r, "Next-Page") ? strdup(strstr(resp_header(&r, "Next-Page"), "/v1/")) : NULL;
		http_resp_free(&r);
		if (next == NULL || page == 4)
			break;
		as(&r, ALICE, "GET", next, NULL);
		assert_status(&r, 200);
	}
	free(next);
	CHECK(seen == total, "pages gave %ld entries of %ld", seen, total);
	/* ETag and If-None-Match; HEAD counts. */
	{
		const char *h[3] = { auth[ALICE], NULL, NULL };
		long long etag;

		hist(&r, ALICE, b, "");
		etag = ru_etag(&r);
		http_resp_free(&r);
		h[1] = ru_fmt("If-None-Match: \"%lld\"", etag);
		http_request("GET", ru_fmt("/v1/buckets/%s/history", b), h, NULL, &r);
		CHECK(r.status == 304, "If-None-Match: %ld", r.status);
		http_resp_free(&r);
		http_request("HEAD", ru_fmt("/v1/buckets/%s/history", b), h, NULL, &r);
		http_resp_free(&r);
		h[1] = NULL;
		http_request("HEAD", ru_fmt("/v1/buckets/%s/history?resource_name=record", b), h, NULL, &r);
		CHECK(r.status == 200 && resp_header(&r, "Total-Records") &&
		      strcmp(resp_header(&r, "Total-Records"), "5") == 0, "HEAD Total-Records: %s",
		      resp_header(&r, "Total-Records") ?: "(none)");
		http_resp_free(&r);
	}
	/* Ids are strings, even when they look like numbers (Kinto's history does the same). */
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/2024", b), "{}", 201);
	CHECK(count_as(ALICE, b, "collection_id=2024") == 1, "collection_id=2024: %ld",
	      count_as(ALICE, b, "collection_id=2024"));
	CHECK(count_as(ALICE, b, "in_collection_id=2024,c") == 7, "in_collection_id=2024,c");
	/* POST and items are no part of history. */
	ok_as(ALICE, "POST", ru_fmt("/v1/buckets/%s/history", b), "{\"data\":{}}", 405);
	ok_as(ALICE, "GET", ru_fmt("/v1/buckets/%s/history/x", b), NULL, 404);
	ok_as(ALICE, "GET", ru_fmt("/v1/buckets/%s/history?_sort=", b), NULL, 400);
}

/* Every entry of d has a URI starting with prefix (and there is at least one). */
static bool all_under(json_object *d, const char *prefix)
{
	if (ru_len(d) == 0)
		return false;
	for (size_t i = 0; i < ru_len(d); i++) {
		const char *u = member(json_object_array_get_idx(d, i), "uri");

		if (u == NULL || strncmp(u, prefix, strlen(prefix)) != 0)
			return false;
	}
	return true;
}

/* b: cpub (bob reads), cpriv with record rc (carol reads), cgrp (group readers: frank). */
static void shared_bucket(char *b)
{
	fresh(b, "hperm");
	ok_as(ALICE, "PATCH", ru_fmt("/v1/buckets/%s", b),
	      ru_fmt("{\"permissions\":{\"read\":[\"%s\"]}}", uid[ZED]), 200);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/cpub", b),
	      ru_fmt("{\"permissions\":{\"read\":[\"%s\"]}}", uid[BOB]), 201);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/cpub/records/p1", b),
	      "{\"data\":{\"title\":\"public\"}}", 201);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/cpriv", b), "{}", 201);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/cpriv/records/hidden", b),
	      "{\"data\":{\"title\":\"secret-title\"}}", 201);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/cpriv/records/rc", b),
	      ru_fmt("{\"data\":{\"title\":\"for-carol\"},\"permissions\":{\"read\":[\"%s\"]}}",
		     uid[CAROL]), 201);
	ok_as(ALICE, "PATCH", ru_fmt("/v1/buckets/%s/collections/cpriv/records/rc", b),
	      "{\"data\":{\"title\":\"for-carol-2\"}}", 200);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/groups/readers", b),
	      ru_fmt("{\"data\":{\"members\":[\"%s\"]}}", uid[FRANK]), 201);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/cgrp", b),
	      ru_fmt("{\"permissions\":{\"read\":[\"/buckets/%s/groups/readers\"]}}", b), 201);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/cgrp/records/g1", b), "{}", 201);
}

/* Bucket readers see all; a collection's, a record's, a group's readers their part; others 403. */
static void test_who_sees_what(void)
{
	char b[RU_ID_LEN];
	struct http_resp r, r2;
	json_object *d;
	long all;

	shared_bucket(b);
	all = count_as(ALICE, b, "");
	CHECK(all == 12, "alice sees %ld entries", all);
	CHECK(count_as(ZED, b, "") == all, "the bucket's reader sees %ld of %ld",
	      count_as(ZED, b, ""), all);
	d = hist(&r, BOB, b, "");
	CHECK(r.status == 200 && ru_len(d) == 2 &&
	      all_under(d, ru_fmt("/buckets/%s/collections/cpub", b)),
	      "bob sees cpub's entries only: %s", body_snip(&r));
	http_resp_free(&r);
	d = hist(&r, CAROL, b, "");
	CHECK(r.status == 200 && ru_len(d) == 2 &&
	      all_under(d, ru_fmt("/buckets/%s/collections/cpriv/records/rc", b)),
	      "carol sees rc's entries only: %s", body_snip(&r));
	http_resp_free(&r);
	d = hist(&r, FRANK, b, "");
	CHECK(r.status == 200 && ru_len(d) == 2 &&
	      all_under(d, ru_fmt("/buckets/%s/collections/cgrp", b)),
	      "frank (group readers) sees cgrp's entries only: %s", body_snip(&r));
	http_resp_free(&r);
	/* A stranger and an anonymous caller: as for any list of a bucket they cannot read. */
	hist(&r, DAVE, b, "");
	assert_error(&r, 403, 121);
	http_resp_free(&r);
	hist(&r, -1, b, "");
	assert_error(&r, 401, 104);
	http_resp_free(&r);
	/* Whether the bucket exists stays unknown to them. */
	hist(&r, DAVE, b, "");
	hist(&r2, DAVE, "hnosuchbucket", "");
	CHECK(r.status == r2.status && strcmp(ru_str(r.json, "message") ?: "",
					       ru_str(r2.json, "message") ?: "-") == 0,
	      "a missing bucket answers %ld, an existing one %ld", r2.status, r.status);
	http_resp_free(&r);
	http_resp_free(&r2);
	hist(&r, ZED, "hnosuchbucket", "");
	CHECK(r.status == 403, "the reader of another bucket: %ld", r.status);
	http_resp_free(&r);
}

/*
 * A reader of many entries (more than plural.c reads through the readers'
 * index): pages along the list, still only theirs. The entries are written
 * straight into the table, 5200 of bob's among 10400.
 */
static void test_dense_reader(void)
{
	char b[RU_ID_LEN];
	struct http_resp r;
	json_object *d;
	char *next = NULL;
	long theirs = 0, seen = 0;

	fresh(b, "hdense");
	CU_ASSERT_FATAL(harness_psql(ru_fmt(
		"INSERT INTO objects (parent_id, resource_name, id, last_modified, data, history_readers) "
		"SELECT '/buckets/%1$s', 'history', 'd' || g, 1000000 + g, jsonb_build_object('id', "
		"'d' || g, 'last_modified', 1000000 + g, 'uri', '/buckets/%1$s/collections/c/records/d' || g, "
		"'parity', CASE WHEN g %% 2 = 0 THEN 'even' ELSE 'odd' END), "
		"CASE WHEN g %% 2 = 0 THEN ARRAY['/buckets/%1$s %2$s'] ELSE ARRAY['/buckets/%1$s %3$s'] END "
		"FROM generate_series(1, 10400) g", b, uid[BOB], uid[ALICE]), NULL, 0));
	hist(&r, BOB, b, "_limit=7");
	for (int page = 0; page < 3; page++) {
		d = resp_json(&r, "data");
		CHECK(r.status == 200 && ru_len(d) == 7, "page %d: %ld %s", page, r.status, body_snip(&r));
		for (size_t i = 0; i < ru_len(d); i++, seen++)
			theirs += strcmp(member(json_object_array_get_idx(d, i), "parity") ?: "", "even") == 0;
		free(next);
		next = resp_header(&r, "Next-Page") ? strdup(strstr(resp_header(&r, "Next-Page"), "/v1/")) : NULL;
		http_resp_free(&r);
		if (next == NULL || page == 2)
			break;
		as(&r, BOB, "GET", next, NULL);
	}
	free(next);
	CHECK(seen == 21 && theirs == seen, "%ld of %ld entries were bob's", theirs, seen);
	{
		const char *h[2] = { auth[BOB], NULL };

		http_request("HEAD", ru_fmt("/v1/buckets/%s/history", b), h, NULL, &r);
		CHECK(r.status == 200 && strcmp(resp_header(&r, "Total-Records") ?: "", "5200") == 0,
		      "bob counts %s", resp_header(&r, "Total-Records") ?: "(none)");
		http_resp_free(&r);
	}
	hist(&r, DAVE, b, "");
	assert_error(&r, 403, 121);
	http_resp_free(&r);
	{
		const char *h[2] = { auth[ALICE], NULL };

		http_request("HEAD", ru_fmt("/v1/buckets/%s/history", b), h, NULL, &r);
		CHECK(strcmp(resp_header(&r, "Total-Records") ?: "", "10402") == 0,
		      "alice, the bucket's writer, counts %s", resp_header(&r, "Total-Records") ?: "-");
		http_resp_free(&r);
	}
}

/* What bob asks for never shows more than cpub's entries. */
static void test_widening(void)
{
	static const char *const queries[] = {
		"target.permissions.read=system.Everyone", "has_target.permissions=true",
		"_fields=target.permissions,uri", "_sort=target.permissions.read,uri",
		"_sort=-target.data.title", "like_target.data.title=*secret*",
		"collection_id=cpriv",
		"in_collection_id=cpub,cpriv", "_since=0", "_before=99999999999999",
		"exclude_collection_id=cpub", "has_record_id=true&_limit=1", "resource_name=bucket",
		"_limit=100&_sort=last_modified", "uri=/buckets/other/collections/cpub",
	};
	char b[RU_ID_LEN];
	struct http_resp r;

	shared_bucket(b);
	for (size_t i = 0; i <= sizeof queries / sizeof *queries; i++) {
		const char *q = i < sizeof queries / sizeof *queries ? queries[i] :
			ru_fmt("uri=/buckets/%s/collections/cpriv/records/hidden", b);
		json_object *d = hist(&r, BOB, b, q);

		CHECK((r.status == 200 && (ru_len(d) == 0 ||
					   all_under(d, ru_fmt("/buckets/%s/collections/cpub", b)))) ||
		      r.status == 403 || r.status == 400, "?%s: %ld %s", q, r.status, body_snip(&r));
		CHECK(strstr(r.body, "secret-title") == NULL && strstr(r.body, "for-carol") == NULL,
		      "?%s shows hidden data", q);
		http_resp_free(&r);
	}
	/* Path spellings: none of them is another way into the bucket's history. */
	{
		const char *paths[] = {
			ru_fmt("/v1/buckets/%s/history/", b), ru_fmt("/v1/buckets/%s/history/../history", b),
			ru_fmt("/v1/buckets/%s%%2Fhistory", b), ru_fmt("/v1/buckets/%s/history%%2F..%%2F", b),
			ru_fmt("/v1/buckets/%s/collections/cpriv/history", b),
			ru_fmt("/v1/buckets/%s/./history?collection_id=cpriv", b),
			ru_fmt("/v1/buckets/%s/history?uri=/buckets/%s/collections/cpriv", b, b),
			ru_fmt("/v1//buckets/%s/history", b),
		};

		for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
			as(&r, BOB, "GET", paths[i], NULL);
			CHECK(strstr(r.body, "secret-title") == NULL && strstr(r.body, "for-carol") == NULL &&
			      strstr(r.body, "/cpriv\"") == NULL,
			      "%s shows hidden entries: %ld %s", paths[i], r.status, body_snip(&r));
			CHECK(r.status != 500, "%s: 500", paths[i]);
			http_resp_free(&r);
		}
	}
	/* Readers of some entries may not purge them. */
	ok_as(BOB, "DELETE", ru_fmt("/v1/buckets/%s/history", b), NULL, 403);
	ok_as(ZED, "DELETE", ru_fmt("/v1/buckets/%s/history", b), NULL, 403);
	ok_as(-1, "DELETE", ru_fmt("/v1/buckets/%s/history", b), NULL, 401);
	CHECK(count_as(ALICE, b, "") == 12, "a refused DELETE removed entries");
}

/* DELETE with filters by a writer; a deleted bucket's history goes with it. */
static void test_delete(void)
{
	char b[RU_ID_LEN];
	struct http_resp r;
	json_object *d;

	fresh(b, "hdel");
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/groups/g", b), "{\"data\":{\"members\":[]}}", 201);
	as(&r, ALICE, "DELETE", ru_fmt("/v1/buckets/%s/history?resource_name=group", b), NULL);
	assert_status(&r, 200);
	d = resp_json(&r, "data");
	CHECK(ru_len(d) == 1 && member(json_object_array_get_idx(d, 0), "deleted") != NULL,
	      "the deleted entry: %s", body_snip(&r));
	http_resp_free(&r);
	CHECK(count_as(ALICE, b, "") == 2, "bucket and collection left: %ld", count_as(ALICE, b, ""));
	CHECK(count_as(ALICE, b, "resource_name=group") == 0, "the group's entry is gone");
	/* A bucket writer who is not its owner may purge too. */
	ok_as(ALICE, "PATCH", ru_fmt("/v1/buckets/%s", b),
	      ru_fmt("{\"permissions\":{\"write\":[\"%s\"]}}", uid[DAVE]), 200);
	ok_as(DAVE, "DELETE", ru_fmt("/v1/buckets/%s/history?resource_name=collection", b), NULL, 200);
	CHECK(count_as(ALICE, b, "resource_name=collection") == 0, "dave's purge");
	/* Purging history is no event: once a later write's event is there, none of history's. */
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/marker", b), "{}", 201);
	{
		struct events e;
		bool marker = false, history = false;

		for (long waited = 0; !marker && waited <= DELIVERY_MS; waited += 100) {
			events_fetch(EVENTS_LIST, in_bucket, b, &e);
			for (size_t i = 0; i < e.n; i++) {
				const char *rn = e.v[i] ? jstr(e.v[i], "resource_name") : NULL;
				const char *u = e.v[i] ? jstr(e.v[i], "uri") : NULL;

				marker = marker || (u && strstr(u, "/collections/marker"));
				history = history || (rn && strcmp(rn, "history") == 0) ||
					  (u && strstr(u, "/history"));
			}
			events_free(&e);
			if (!marker)
				sleep_ms(100);
		}
		CHECK(marker, "the marker's event never came");
		CHECK(!history, "purging history sent an event");
	}
	/* Deleting the bucket drops its history; a new bucket of that name starts afresh. */
	ok_as(ALICE, "DELETE", ru_fmt("/v1/buckets/%s", b), NULL, 200);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s", b), "{}", 201);
	d = hist(&r, ALICE, b, "_since=0");
	CHECK(r.status == 200 && ru_len(d) == 1 &&
	      strcmp(member(json_object_array_get_idx(d, 0), "action") ?: "", "create") == 0,
	      "the re-created bucket's history: %s", body_snip(&r));
	http_resp_free(&r);
}

/* history.exclude_resources and history.exclude_user_ids (set by suite_init). */
static void test_excluded(void)
{
	char *b = excluded_bucket, *p = partial_bucket;

	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s", b), "{}", 201);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/c", b), "{}", 201);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/c/records/r", b), "{}", 201);
	CHECK(count_as(ALICE, b, "") == 0, "an excluded bucket has %ld entries", count_as(ALICE, b, ""));
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s", p),
	      ru_fmt("{\"permissions\":{\"write\":[\"%s\"]}}", uid[ERIN]), 201);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/secret", p), "{}", 201);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/open", p), "{}", 201);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/secret/records/r", p), "{}", 201);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/open/records/r", p), "{}", 201);
	ok_as(ERIN, "PUT", ru_fmt("/v1/buckets/%s/collections/open/records/erin", p), "{}", 201);
	CHECK(count_as(ALICE, p, "collection_id=secret") == 0, "the excluded collection");
	CHECK(count_as(ALICE, p, "collection_id=open") == 2, "the other collection: %ld",
	      count_as(ALICE, p, "collection_id=open"));
	CHECK(count_as(ALICE, p, ru_fmt("user_id=%s", uid[ERIN])) == 0, "the excluded user");
}

/* pawl-fcgi history-trim with PAWL_<KEY> overrides; its exit status. */
static int trim_cli(const char *key, const char *value)
{
	char ini[1024];
	int status;
	pid_t pid;

	snprintf(ini, sizeof ini, "%s/pawl.ini", harness_state_dir());
	if ((pid = fork()) == 0) {
		setenv(key, value, 1);
		setenv("PAWL_ALLOW_ROOT", "true", 1);
		setenv("PAWL_LOG_LEVEL", "warning", 1);
		execl(getenv("PAWL_BIN"), "pawl-fcgi", "history-trim", "-c", ini, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* By count per bucket (history-trim, then the relay), then by age. */
static void test_trim(void)
{
	char b[RU_ID_LEN], b2[RU_ID_LEN];
	struct http_resp r;
	json_object *d;
	long n = -1;

	fresh(b, "htrim");
	fresh(b2, "htrim");
	for (int i = 0; i < 6; i++) {
		ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/c/records/t%d", b, i), "{}", 201);
		ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/c/records/t%d", b2, i), "{}", 201);
	}
	CU_ASSERT_FATAL(count_as(ALICE, b, "") == 8);
	CHECK(trim_cli("PAWL_HISTORY_MAX_PER_BUCKET", "3") == 0, "history-trim failed");
	d = hist(&r, ALICE, b, "");
	CHECK(ru_len(d) == 3 && strcmp(member(json_object_array_get_idx(d, 0), "uri") ?: "",
				       ru_fmt("/buckets/%s/collections/c/records/t5", b)) == 0,
	      "the 3 newest entries stay: %s", body_snip(&r));
	http_resp_free(&r);
	CHECK(count_as(ALICE, b2, "") == 3, "every bucket is trimmed: %ld", count_as(ALICE, b2, ""));
	/* The relay trims too, off the request path, when the settings say so. */
	CU_ASSERT_FATAL(ru_reload(ru_fmt("\nhistory_enabled = true\nhistory_max_per_bucket = 2\n")));
	for (int waited = 0; waited < 15000 && (n = count_as(ALICE, b, "")) != 2; waited += 250)
		sleep_ms(250);
	CHECK(n == 2, "the relay left %ld entries", n);
	/* By age: everything older than a second goes. */
	sleep_ms(1100);
	ok_as(ALICE, "PUT", ru_fmt("/v1/buckets/%s/collections/c/records/new", b), "{}", 201);
	CHECK(trim_cli("PAWL_HISTORY_MAX_AGE_SECONDS", "1") == 0, "history-trim by age failed");
	d = hist(&r, ALICE, b, "");
	CHECK(ru_len(d) == 1 && strstr(member(json_object_array_get_idx(d, 0), "uri") ?: "", "/new"),
	      "only the newest entry is left: %s", body_snip(&r));
	http_resp_free(&r);
	CHECK(count_as(ALICE, b2, "") == 0, "older entries elsewhere: %ld", count_as(ALICE, b2, ""));
}

/* The hello view names the capability; switched off, the endpoint is a 404 and it is gone. */
static void test_capability_and_off(void)
{
	char b[RU_ID_LEN];
	struct http_resp r;

	as(&r, ALICE, "GET", "/v1/", NULL);
	CHECK(member(r.json, "capabilities.history.url") &&
	      strstr(member(r.json, "capabilities.history.url"), "history"),
	      "no history capability: %s", body_snip(&r));
	http_resp_free(&r);
	fresh(b, "hoff");
	CU_ASSERT_FATAL(ru_reload_restore());
	ok_as(ALICE, "GET", ru_fmt("/v1/buckets/%s/history", b), NULL, 404);
	ok_as(ALICE, "DELETE", ru_fmt("/v1/buckets/%s/history", b), NULL, 404);
	as(&r, ALICE, "GET", "/v1/", NULL);
	CHECK(r.status == 200 && member(r.json, "capabilities.history") == NULL,
	      "switched off, the capability is still there");
	http_resp_free(&r);
}

void test_history_register(void)
{
	CU_pSuite s = CU_add_suite("history", suite_init, suite_cleanup);

	CU_add_test(s, "every action on every resource, the object's own URI", test_entries);
	CU_add_test(s, "plural DELETE: one per object; batch: one per sub-request", test_plural_and_batch);
	CU_add_test(s, "the personal bucket's history, and in a batch", test_default_bucket);
	CU_add_test(s, "same transaction: a 412 or a lost COMMIT leaves no entry", test_same_transaction);
	CU_add_test(s, "filters, _since/_before, _sort, pages, _fields, ETag, HEAD", test_filters_and_pages);
	CU_add_test(s, "who sees what: bucket, collection, record, group readers; 403/401",
		    test_who_sees_what);
	CU_add_test(s, "filters, fields, sorts and paths never widen what is seen", test_widening);
	CU_add_test(s, "a reader of thousands of entries pages along the list, theirs only",
		    test_dense_reader);
	CU_add_test(s, "DELETE by bucket writers; a deleted bucket's history goes", test_delete);
	CU_add_test(s, "excluded resources and users", test_excluded);
	test_history_paths_add(s);
	CU_add_test(s, "trimming by count (history-trim, the relay) and by age", test_trim);
	CU_add_test(s, "capability; switched off: 404, no capability", test_capability_and_off);
}
