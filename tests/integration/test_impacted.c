/*
 * Events that name what they touched (docs/consumers.md, "impacted"), as
 * Redis consumers see them: a POST, a plural DELETE and a batch each list
 * their objects' ids and last_modified, the seed's keys unchanged; the
 * harness's "withdata" listener (include_data, data_max_bytes = 2048) also
 * gets each object's new and old data, and data_truncated past its cap.
 */
#include <stdio.h>
#include <string.h>

#include "events_util.h"

#define DATA_LIST "pawl.test.withdata"

/* The i-th entry of ev's "impacted" (NULL when absent), and its length in *n. */
static json_object *impact(json_object *ev, size_t i, size_t *n)
{
	json_object *a = ev ? json_object_object_get(ev, "impacted") : NULL;

	if (n != NULL)
		*n = json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
	return json_object_is_type(a, json_type_array) ? json_object_array_get_idx(a, i) : NULL;
}

/* The event of list in bucket b with action and uri (the last such), polling until it came. */
static json_object *event_of(const char *list, const char *b, const char *action,
			     const char *uri, struct events *e)
{
	json_object *found = NULL;

	for (long waited = 0; found == NULL && waited <= DELIVERY_MS; waited += 100) {
		events_fetch(list, in_bucket, b, e);
		for (size_t i = 0; i < e->n; i++)
			if (e->v[i] && jstr(e->v[i], "action") && jstr(e->v[i], "uri") &&
			    strcmp(jstr(e->v[i], "action"), action) == 0 &&
			    strcmp(jstr(e->v[i], "uri"), uri) == 0)
				found = e->v[i];
		if (found == NULL) {
			events_free(e);
			sleep_ms(100);
		}
	}
	CHECK(found != NULL, "no %s event for %s on %s", action, uri, list);
	return found;
}

static bool entry_is(json_object *en, const char *id, long long lm)
{
	return en != NULL && jstr(en, "id") != NULL && strcmp(jstr(en, "id"), id) == 0 &&
	       jint(en, "last_modified") == lm;
}

/* A fresh bucket with collection c; its records list path in list. */
static void fresh(char *b, size_t bsize, const char *prefix, char *list, size_t lsize)
{
	char p[256];

	unique_id(b, bsize, prefix);
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(list, lsize, "/v1/buckets/%s/collections/c/records", b);
}

/* POST: the list's event, its keys as before, and the new record named in "impacted". */
static void test_post(void)
{
	char b[64], list[256], id[128], first_id[64];
	struct http_resp r;
	struct events e, d;
	struct expect x;
	json_object *ev, *en;
	long long lm;
	size_t n;

	fresh(b, sizeof b, "ip", list, sizeof list);
	lm = write_at("POST", list, "{\"data\":{\"title\":\"<b>\\\"x\\\"</b>\"}}", true, 201, &r,
		      __FILE__, __LINE__);
	snprintf(id, sizeof id, "%s", jstr(resp_json(&r, "data"), "id") ?: "");
	http_resp_free(&r);
	expect_set(&x, "create", list, lm, false);
	ev = event_of(EVENTS_LIST, b, "create", x.uri, &e);
	check_payload(ev, &x); /* every seed key, exactly; no record_id on a list URI */
	snprintf(first_id, sizeof first_id, "%s", ev && jstr(ev, "event_id") ? jstr(ev, "event_id") : "");
	en = impact(ev, 0, &n);
	CHECK(n == 1 && entry_is(en, id, lm) && json_object_object_length(en) == 2,
	      "POST impacted is %s, expected [{\"id\":\"%s\",\"last_modified\":%lld}]",
	      ev ? json_object_to_json_string(json_object_object_get(ev, "impacted")) : "-", id, lm);
	/* The listener with include_data: the same event, with the record's data. */
	ev = event_of(DATA_LIST, b, "create", x.uri, &d);
	en = impact(ev, 0, &n);
	CHECK(n == 1 && entry_is(en, id, lm) && !json_object_object_get_ex(en, "old", NULL) &&
		      jstr(json_object_object_get(en, "new"), "title") &&
		      strcmp(jstr(json_object_object_get(en, "new"), "title"), "<b>\"x\"</b>") == 0 &&
		      jint(json_object_object_get(en, "new"), "last_modified") == lm,
	      "withdata POST entry is %s", en ? json_object_to_json_string(en) : "-");
	CHECK(ev != NULL && first_id[0] && jstr(ev, "event_id") &&
		      strcmp(jstr(ev, "event_id"), first_id) == 0,
	      "the two listeners got different event_ids for one event");
	events_free(&e);
	events_free(&d);
}

/* Plural DELETE of 3: one event naming the three, with their tombstones' last_modified. */
static void test_plural_delete(void)
{
	char b[64], list[256], ids[3][64], p[512];
	long long lms[3];
	struct http_resp r;
	struct events e, d;
	struct expect x;
	json_object *ev, *data;
	size_t n, found = 0;
	long long ts;

	fresh(b, sizeof b, "id", list, sizeof list);
	for (int i = 0; i < 3; i++) {
		snprintf(ids[i], sizeof ids[i], "r%d", i);
		snprintf(p, sizeof p, "%s/%s", list, ids[i]);
		write_ok("PUT", p, "{\"data\":{\"v\":1}}", 201);
	}
	ts = write_at("DELETE", list, NULL, true, 200, &r, __FILE__, __LINE__);
	data = resp_json(&r, "data");
	for (int i = 0; i < 3; i++) {
		lms[i] = -1;
		for (size_t j = 0; json_object_is_type(data, json_type_array) &&
				   j < json_object_array_length(data); j++)
			if (strcmp(jstr(json_object_array_get_idx(data, j), "id"), ids[i]) == 0)
				lms[i] = jint(json_object_array_get_idx(data, j), "last_modified");
	}
	http_resp_free(&r);
	expect_set(&x, "delete", list, ts, false);
	ev = event_of(EVENTS_LIST, b, "delete", x.uri, &e);
	check_payload(ev, &x);
	impact(ev, 0, &n);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 3; k++)
			found += entry_is(impact(ev, i, NULL), ids[k], lms[k]);
	CHECK(n == 3 && found == 3, "plural DELETE impacted is %s, expected r0 r1 r2 with their "
	      "tombstones' last_modified", ev ? json_object_to_json_string(
	      json_object_object_get(ev, "impacted")) : "-");
	/* With data: each entry's new is the tombstone, old the record as it was. */
	ev = event_of(DATA_LIST, b, "delete", x.uri, &d);
	impact(ev, 0, &n);
	found = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *en = impact(ev, i, NULL), *nw = json_object_object_get(en, "new"),
			    *old = json_object_object_get(en, "old");

		found += nw && json_object_get_boolean(json_object_object_get(nw, "deleted")) &&
			 jint(nw, "last_modified") == jint(en, "last_modified") && old &&
			 jint(old, "v") == 1;
	}
	CHECK(n == 3 && found == 3, "withdata plural DELETE: %zu of %zu entries with tombstone "
	      "and old record", found, n);
	events_free(&e);
	events_free(&d);
}

/* A batch of three creates in one collection: one merged event naming all three, in order. */
static void test_batch(void)
{
	const char *hdrs[] = { events_auth(), NULL };
	char b[64], list[256], body[1024], id0[320];
	struct http_resp r;
	struct events e;
	struct expect x;
	json_object *ev, *resp;
	long long lm[3];
	size_t n;
	bool ok = true;

	fresh(b, sizeof b, "ib", list, sizeof list);
	snprintf(body, sizeof body, "{\"defaults\":{\"method\":\"POST\",\"path\":"
		 "\"/buckets/%1$s/collections/c/records\"},\"requests\":["
		 "{\"method\":\"PUT\",\"path\":\"/buckets/%1$s/collections/c/records/first\","
		 "\"body\":{\"data\":{}}},{\"body\":{\"data\":{\"id\":\"second\"}}},"
		 "{\"body\":{\"data\":{\"id\":\"third\"}}}]}", b);
	http_request("POST", "/v1/batch", hdrs, body, &r);
	resp = resp_json(&r, "responses");
	if (!json_object_is_type(resp, json_type_array))
		resp = NULL;
	CHECK(r.status == 200 && resp && json_object_array_length(resp) == 3, "batch: HTTP %ld",
	      r.status);
	lm[0] = lm[1] = lm[2] = -1;
	for (size_t i = 0; i < 3 && resp != NULL && i < json_object_array_length(resp); i++) {
		json_object *one = json_object_array_get_idx(resp, i), *body_i;

		body_i = json_object_object_get(one, "body");
		lm[i] = jint(json_object_object_get(body_i, "data"), "last_modified");
	}
	http_resp_free(&r);
	snprintf(id0, sizeof id0, "%s/first", list);
	expect_set(&x, "create", id0, lm[0], false);
	ev = event_of(EVENTS_LIST, b, "create", x.uri, &e);
	check_payload(ev, &x); /* named after the first write, as before */
	impact(ev, 0, &n);
	ok = n == 3 && entry_is(impact(ev, 0, NULL), "first", lm[0]) &&
	     entry_is(impact(ev, 1, NULL), "second", lm[1]) &&
	     entry_is(impact(ev, 2, NULL), "third", lm[2]);
	CHECK(ok, "batch impacted is %s, expected first second third in order",
	      ev ? json_object_to_json_string(json_object_object_get(ev, "impacted")) : "-");
	events_free(&e);
}

/* Past data_max_bytes (2048): the entry says data_truncated, the JSON stays whole. */
static void test_data_cap(void)
{
	char b[64], list[256], big[3000], p[320];
	struct events d;
	json_object *ev, *en;
	long long lm;
	size_t n;

	fresh(b, sizeof b, "ic", list, sizeof list);
	memset(big, 'x', 2500);
	big[2500] = '\0';
	snprintf(p, sizeof p, "%s/big", list);
	{
		char body[3100];

		snprintf(body, sizeof body, "{\"data\":{\"t\":\"%s\"}}", big);
		lm = write_ok("PUT", p, body, 201);
	}
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records/big", b);
	{
		struct expect x;

		expect_set(&x, "create", p, lm, false);
		ev = event_of(DATA_LIST, b, "create", x.uri, &d);
	}
	en = impact(ev, 0, &n);
	CHECK(n == 1 && entry_is(en, "big", lm) &&
		      json_object_get_boolean(json_object_object_get(en, "data_truncated")) &&
		      !json_object_object_get_ex(en, "new", NULL),
	      "a record over the cap: entry %s", en ? json_object_to_json_string(en) : "-");
	events_free(&d);
}

void test_impacted_register(void)
{
	CU_pSuite s = CU_add_suite("impacted", NULL, NULL);

	CU_add_test(s, "a POST names the record it created", test_post);
	CU_add_test(s, "a plural DELETE names every record", test_plural_delete);
	CU_add_test(s, "a batch's merged event names all its records, in order", test_batch);
	CU_add_test(s, "include_data: past data_max_bytes, data_truncated", test_data_cap);
}
