/*
 * Notifications as Redis consumers see them (docs/protocol.md §8): the exact payload of
 * every kind of write, nothing for a 4xx or a read, commit order for
 * sequential and concurrent writers, filtered listener instances, and the
 * jsonl plugin listener. Reads the stack's Redis directly (events_util.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events_util.h"

#define WRITERS 4
#define PER_WRITER 50
#define SETTLE_MS 300 /* after the expected events: time for a wrong extra one */

/* One step of the payload walk: a write and the event it must produce. */
struct step {
	const char *method;
	const char *path;   /* {b}: the bucket */
	const char *body;
	long status;
	const char *action;
	bool anonymous;
};

static const struct step walk[] = {
	{ "PUT", "/v1/buckets/{b}", "{\"data\":{},\"permissions\":{\"write\":[\"system.Everyone\"]}}",
	  201, "create", false },
	{ "PATCH", "/v1/buckets/{b}", "{\"data\":{\"a\":1}}", 200, "update", false },
	{ "PUT", "/v1/buckets/{b}", "{\"data\":{\"b\":2},\"permissions\":{\"write\":[\"system.Everyone\"]}}",
	  200, "update", false },
	{ "PUT", "/v1/buckets/{b}/collections/c1", "{\"data\":{}}", 201, "create", false },
	{ "POST", "/v1/buckets/{b}/collections", "{\"data\":{\"id\":\"c2\"}}", 201, "create", false },
	{ "PATCH", "/v1/buckets/{b}/collections/c1", "{\"data\":{\"x\":1}}", 200, "update", false },
	{ "PUT", "/v1/buckets/{b}/collections/c1", "{\"data\":{\"y\":1}}", 200, "update", false },
	{ "PUT", "/v1/buckets/{b}/groups/g1", "{\"data\":{\"members\":[\"a\"]}}", 201, "create", false },
	{ "POST", "/v1/buckets/{b}/groups", "{\"data\":{\"id\":\"g2\",\"members\":[]}}", 201, "create", false },
	{ "PATCH", "/v1/buckets/{b}/groups/g1", "{\"data\":{\"members\":[\"a\",\"b\"]}}", 200, "update", false },
	{ "PUT", "/v1/buckets/{b}/groups/g1", "{\"data\":{\"members\":[]}}", 200, "update", false },
	{ "PUT", "/v1/buckets/{b}/collections/c1/records/r1", "{\"data\":{\"n\":1}}", 201, "create", false },
	{ "POST", "/v1/buckets/{b}/collections/c1/records", "{\"data\":{\"n\":2}}", 201, "create", false },
	{ "PATCH", "/v1/buckets/{b}/collections/c1/records/r1", "{\"data\":{\"m\":1}}", 200, "update", false },
	{ "PUT", "/v1/buckets/{b}/collections/c1/records/r1", "{\"data\":{\"n\":3}}", 200, "update", false },
	{ "PUT", "/v1/buckets/{b}/collections/c1/records/anon", "{\"data\":{}}", 201, "create", true },
	{ "PATCH", "/v1/buckets/{b}/collections/c1/records/anon", "{\"data\":{\"z\":1}}", 200, "update", true },
	{ "DELETE", "/v1/buckets/{b}/collections/c1/records/r1", NULL, 200, "delete", false },
	{ "PUT", "/v1/buckets/{b}/collections/c1/records/r2", "{\"data\":{}}", 201, "create", false },
	{ "DELETE", "/v1/buckets/{b}/collections/c1/records", NULL, 200, "delete", false },
	{ "DELETE", "/v1/buckets/{b}/groups/g2", NULL, 200, "delete", false },
	{ "DELETE", "/v1/buckets/{b}/groups", NULL, 200, "delete", false },
	{ "DELETE", "/v1/buckets/{b}/collections/c2", NULL, 200, "delete", false },
	{ "DELETE", "/v1/buckets/{b}/collections", NULL, 200, "delete", false },
	{ "DELETE", "/v1/buckets/{b}", NULL, 200, "delete", false },
};
#define WALK_N (sizeof walk / sizeof *walk)

/* pattern with "{b}" replaced by bucket. */
static void fill(char *out, size_t size, const char *pattern, const char *bucket)
{
	const char *at = strstr(pattern, "{b}");

	if (at == NULL)
		snprintf(out, size, "%s", pattern);
	else
		snprintf(out, size, "%.*s%s%s", (int)(at - pattern), pattern, bucket, at + 3);
}

/* The bucket list's own events carry no bucket_id: they are told by uri and timestamp. */
struct bucket_list_match {
	long long ts[2];
};

static bool on_bucket_list(json_object *ev, const void *arg)
{
	const struct bucket_list_match *m = arg;
	const char *uri = jstr(ev, "uri");
	long long ts = jint(ev, "timestamp");

	return uri != NULL && strcmp(uri, "/buckets") == 0 && (ts == m->ts[0] || ts == m->ts[1]);
}

static void test_payloads(void)
{
	struct expect x[WALK_N + 2];
	struct bucket_list_match m;
	struct events e, top;
	char b[64], path[256], ids[WALK_N + 2][40];
	struct http_resp r;
	size_t n = 0;

	unique_id(b, sizeof b, "ev");
	CHECK(strncmp(events_user_id(), "basicauth:", 10) == 0 && strlen(events_user_id()) == 74 &&
		      strspn(events_user_id() + 10, "0123456789abcdef") == 64,
	      "GET /v1/ user.id is \"%s\", expected basicauth:<64 lower-case hex>", events_user_id());
	for (size_t i = 0; i < WALK_N; i++, n++) {
		fill(path, sizeof path, walk[i].path, b);
		expect_set(&x[n], walk[i].action, path,
			   write_at(walk[i].method, path, walk[i].body, !walk[i].anonymous,
				    walk[i].status, NULL, __FILE__, __LINE__),
			   walk[i].anonymous);
	}
	/* POST /buckets and DELETE /buckets?id=: the bucket list itself (no bucket_id). */
	write_at("POST", "/v1/buckets", "{\"data\":{}}", true, 201, &r, __FILE__, __LINE__);
	expect_set(&x[n++], "create", "/v1/buckets", jint(resp_json(&r, "data"), "last_modified"),
		   false);
	snprintf(path, sizeof path, "/v1/buckets?id=%s", jstr(resp_json(&r, "data"), "id"));
	http_resp_free(&r);
	expect_set(&x[n++], "delete", path, write_ok("DELETE", path, NULL, 200), false);

	m.ts[0] = x[WALK_N].ts;
	m.ts[1] = x[WALK_N + 1].ts;
	events_wait(EVENTS_LIST, in_bucket, b, WALK_N, DELIVERY_MS, &e);
	events_wait(EVENTS_LIST, on_bucket_list, &m, 2, DELIVERY_MS, &top);
	CHECK(e.n == WALK_N, "%zu events for bucket %s, expected %zu", e.n, b, WALK_N);
	CHECK(top.n == 2, "%zu events on /buckets, expected 2", top.n);
	for (size_t i = 0; i < n; i++) {
		json_object *ev = events_find(i < WALK_N ? &e : &top, &x[i]);

		check_payload(ev, &x[i]);
		snprintf(ids[i], sizeof ids[i], "%s", ev ? jstr(ev, "event_id") : "");
		for (size_t j = 0; ev != NULL && j < i; j++)
			CHECK(strcmp(ids[i], ids[j]) != 0, "event_id %s repeated (steps %zu, %zu)",
			      ids[i], j, i);
	}
	events_free(&e);
	events_free(&top);
}

/* 4xx and reads produce nothing; a write on the same list afterwards proves delivery ran. */
static void test_no_event_for_errors_and_reads(void)
{
	const char *hdrs[] = { events_auth(), NULL };
	const char *stale[] = { events_auth(), "If-Match: \"1\"", NULL };
	char b[64], c[256], rec[300];
	struct http_resp r;
	struct events e;
	struct expect x;
	long long ts;

	unique_id(b, sizeof b, "ne");
	snprintf(c, sizeof c, "/v1/buckets/%s", b);
	write_ok("PUT", c, "{\"data\":{}}", 201);
	snprintf(c, sizeof c, "/v1/buckets/%s/collections/c", b);
	snprintf(rec, sizeof rec, "%s/records/r", c);
	write_ok("PUT", c, "{\"data\":{}}", 201);
	write_ok("PUT", rec, "{\"data\":{\"v\":1}}", 201);
	events_wait(EVENTS_LIST, in_bucket, b, 3, DELIVERY_MS, &e);
	CHECK(e.n == 3, "%zu events before the failures, expected 3", e.n);
	events_free(&e);

	http_request("PUT", rec, stale, "{\"data\":{\"v\":2}}", &r); /* 412 */
	assert_error(&r, 412, 114);
	http_resp_free(&r);
	http_request("DELETE", rec, stale, NULL, &r);
	assert_error(&r, 412, 114);
	http_resp_free(&r);
	write_ok("PATCH", "/v1/buckets/nosuchbucketx/collections/c/records/r", "{\"data\":{}}",
		 WRITE_4XX);
	{
		char missing[320];

		snprintf(missing, sizeof missing, "%s/records/missing", c);
		write_ok("PATCH", missing, "{\"data\":{\"v\":1}}", 404);
		write_ok("DELETE", missing, NULL, 404);
	}
	write_ok("PUT", rec, "{\"data\": [1,", 400);
	write_ok("PUT", rec, "{\"data\":{},\"extra\":1}", 400);
	{
		char list[300];

		snprintf(list, sizeof list, "%s/records", c);
		write_ok("POST", list, "{\"data\":{\"id\":\"bad id!\"}}", 400);
		/* Reads: GET, HEAD, POST of an existing id (Kinto: a read). */
		http_request("GET", list, hdrs, NULL, &r);
		assert_status(&r, 200);
		http_resp_free(&r);
		http_request("HEAD", list, hdrs, NULL, &r);
		assert_status(&r, 200);
		http_resp_free(&r);
		write_ok("POST", list, "{\"data\":{\"id\":\"r\"}}", 200);
	}
	http_request("GET", rec, hdrs, NULL, &r);
	assert_status(&r, 200);
	http_resp_free(&r);

	/* The sentinel: same list, so any wrong event above reaches Redis before it. */
	ts = write_ok("PATCH", rec, "{\"data\":{\"v\":3}}", 200);
	events_wait(EVENTS_LIST, in_bucket, b, 4, DELIVERY_MS, &e);
	sleep_ms(SETTLE_MS);
	events_free(&e);
	events_fetch(EVENTS_LIST, in_bucket, b, &e);
	CHECK(e.n == 4, "%zu events for bucket %s, expected 4 (3 writes + the sentinel)", e.n, b);
	expect_set(&x, "update", rec, ts, false);
	if (e.n > 0)
		check_payload(e.v[e.n - 1], &x);
	events_free(&e);
}

/* Sequential writes to one list: Redis order is exactly the request order. */
static void test_sequential_order(void)
{
	char b[64], path[320], list[256];
	struct expect x[40];
	struct events e;
	size_t n = 0;

	unique_id(b, sizeof b, "so");
	snprintf(path, sizeof path, "/v1/buckets/%s", b);
	write_ok("PUT", path, "{\"data\":{}}", 201);
	snprintf(list, sizeof list, "/v1/buckets/%s/collections/c/records", b);
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/c", b);
	write_ok("PUT", path, "{\"data\":{}}", 201);
	for (int i = 0; i < 10; i++) {
		snprintf(path, sizeof path, "%s/r%d", list, i);
		expect_set(&x[n], "create", path, write_ok("PUT", path, "{\"data\":{}}", 201), false);
		n++;
		expect_set(&x[n], "update", path, write_ok("PATCH", path, "{\"data\":{\"k\":1}}", 200),
			   false);
		n++;
		if (i % 3 == 0) {
			expect_set(&x[n], "delete", path, write_ok("DELETE", path, NULL, 200), false);
			n++;
		}
		expect_set(&x[n], "create", list, write_ok("POST", list, "{\"data\":{}}", 201), false);
		n++;
	}
	events_wait(EVENTS_LIST, in_bucket, b, n + 2, DELIVERY_MS, &e);
	CHECK(e.n == n + 2, "%zu events, expected %zu", e.n, n + 2);
	for (size_t i = 0; i < n && i + 2 < e.n; i++) {
		json_object *ev = e.v[i + 2];

		CHECK(jint(ev, "timestamp") == x[i].ts && strcmp(jstr(ev, "uri"), x[i].uri) == 0 &&
			      strcmp(jstr(ev, "action"), x[i].action) == 0,
		      "event %zu in Redis is %s %s %lld; commit order says %s %s %lld", i,
		      jstr(ev, "action"), jstr(ev, "uri"), jint(ev, "timestamp"), x[i].action,
		      x[i].uri, x[i].ts);
		check_payload(ev, &x[i]);
	}
	events_free(&e);
}

/* A writer process: PER_WRITER POSTs, one "<status> <last_modified>" line each. */
static void writer(int fd, const char *list)
{
	const char *hdrs[] = { events_auth(), NULL };
	FILE *out = fdopen(fd, "w");

	for (int i = 0; out != NULL && i < PER_WRITER; i++) {
		struct http_resp r;

		http_request("POST", list, hdrs, "{\"data\":{\"w\":1}}", &r);
		fprintf(out, "%ld %lld\n", r.status,
			json_object_is_type(resp_json(&r, "data"), json_type_object) ?
				jint(resp_json(&r, "data"), "last_modified") : -1LL);
		http_resp_free(&r);
	}
	_exit(out != NULL && fclose(out) == 0 ? 0 : 1);
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* Concurrent writers into one collection: every event, in last_modified (commit) order. */
static void test_concurrent_order(void)
{
	long long ts[WRITERS * PER_WRITER], got[WRITERS * PER_WRITER];
	char b[64], path[256], list[300];
	size_t n = 0, ok = 0, in_order = 0;
	pid_t pids[WRITERS];
	int fds[WRITERS];
	struct events e;

	unique_id(b, sizeof b, "co");
	snprintf(path, sizeof path, "/v1/buckets/%s", b);
	write_ok("PUT", path, "{\"data\":{}}", 201);
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/c", b);
	write_ok("PUT", path, "{\"data\":{}}", 201);
	snprintf(list, sizeof list, "%s/records", path);
	for (int w = 0; w < WRITERS; w++) {
		int p[2];

		CU_ASSERT_FATAL(pipe(p) == 0);
		fflush(NULL);
		pids[w] = fork();
		CU_ASSERT_FATAL(pids[w] >= 0);
		if (pids[w] == 0) {
			close(p[0]);
			writer(p[1], list);
		}
		close(p[1]);
		fds[w] = p[0];
	}
	for (int w = 0; w < WRITERS; w++) {
		FILE *in = fdopen(fds[w], "r");
		long status;
		long long lm;
		int st;

		while (in != NULL && fscanf(in, "%ld %lld", &status, &lm) == 2 && n < WRITERS * PER_WRITER) {
			ok += status == 201;
			ts[n++] = lm;
		}
		if (in != NULL)
			fclose(in);
		CHECK(waitpid(pids[w], &st, 0) == pids[w] && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "writer %d failed", w);
	}
	CHECK(n == WRITERS * PER_WRITER && ok == n, "%zu of %d writes answered 201", ok,
	      WRITERS * PER_WRITER);
	qsort(ts, n, sizeof *ts, cmp_ll);

	events_wait(EVENTS_LIST, in_bucket, b, n + 2, DELIVERY_MS * 2, &e);
	CHECK(e.n == n + 2, "%zu events of %zu concurrent writes (+2) reached Redis", e.n, n + 2);
	CHECK(duplicate_ids(&e) == 0, "%zu duplicate event_ids", duplicate_ids(&e));
	for (size_t i = 2; i < e.n && i - 2 < n; i++) {
		got[i - 2] = jint(e.v[i], "timestamp");
		in_order += i == 2 || got[i - 2] > got[i - 3];
	}
	CHECK(e.n < 2 || in_order == e.n - 2,
	      "%zu of %zu record events are in increasing timestamp order in Redis", in_order,
	      e.n - 2);
	if (e.n == n + 2) {
		size_t same = 0;

		qsort(got, n, sizeof *got, cmp_ll);
		for (size_t i = 0; i < n; i++)
			same += got[i] == ts[i];
		CHECK(same == n, "%zu of %zu event timestamps match the records' last_modified", same,
		      n);
	}
	printf("\n    %d writers x %d records: %zu events, in commit order: %zu\n", WRITERS,
	       PER_WRITER, e.n >= 2 ? e.n - 2 : 0, in_order);
	events_free(&e);
}

/* Two named Redis listeners with their own list, actions and resources (harness.c). */
static void test_filtered_listeners(void)
{
	char b[64], p[256];
	struct events all, creates, records;
	struct expect x[9];

	unique_id(b, sizeof b, "fl");
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	expect_set(&x[0], "create", p, write_ok("PUT", p, "{\"data\":{}}", 201), false);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c", b);
	expect_set(&x[1], "create", p, write_ok("PUT", p, "{\"data\":{}}", 201), false);
	snprintf(p, sizeof p, "/v1/buckets/%s/groups/g", b);
	expect_set(&x[2], "create", p, write_ok("PUT", p, "{\"data\":{\"members\":[]}}", 201), false);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records/r", b);
	expect_set(&x[3], "create", p, write_ok("PUT", p, "{\"data\":{}}", 201), false);
	expect_set(&x[4], "update", p, write_ok("PATCH", p, "{\"data\":{\"a\":1}}", 200), false);
	expect_set(&x[5], "delete", p, write_ok("DELETE", p, NULL, 200), false);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c", b);
	expect_set(&x[6], "update", p, write_ok("PATCH", p, "{\"data\":{\"a\":1}}", 200), false);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records", b);
	expect_set(&x[7], "create", p, write_ok("POST", p, "{\"data\":{}}", 201), false);
	expect_set(&x[8], "delete", p, write_ok("DELETE", p, NULL, 200), false);

	events_wait(EVENTS_LIST, in_bucket, b, 9, DELIVERY_MS, &all);
	events_wait(CREATES_LIST, in_bucket, b, 2, DELIVERY_MS, &creates);
	events_wait(RECORDS_LIST, in_bucket, b, 3, DELIVERY_MS, &records);
	sleep_ms(SETTLE_MS);
	events_free(&all);
	events_free(&creates);
	events_free(&records);
	events_fetch(EVENTS_LIST, in_bucket, b, &all);
	events_fetch(CREATES_LIST, in_bucket, b, &creates);
	events_fetch(RECORDS_LIST, in_bucket, b, &records);

	CHECK(all.n == 9, "%s: %zu events, expected all 9", EVENTS_LIST, all.n);
	for (size_t i = 0; i < 9; i++)
		check_payload(events_find(&all, &x[i]), &x[i]);
	/* creates: action create, resources bucket and collection. */
	CHECK(creates.n == 2, "%s: %zu events, expected 2 (bucket and collection create)",
	      CREATES_LIST, creates.n);
	for (size_t i = 0; i < creates.n && i < 2; i++)
		check_payload(creates.v[i], &x[i]);
	/* records: actions update and delete, resource record, in commit order. */
	CHECK(records.n == 3, "%s: %zu events, expected 3 (record update, delete, list delete)",
	      RECORDS_LIST, records.n);
	for (size_t i = 0; i < records.n && i < 3; i++)
		check_payload(records.v[i], &x[i == 0 ? 4 : i == 1 ? 5 : 8]);
	/* Each list's copy of an event is the same event: the same event_id. */
	for (size_t i = 0; i < creates.n && i < 2; i++)
		CHECK(events_find(&all, &x[i]) && jstr(creates.v[i], "event_id") &&
			      strcmp(jstr(events_find(&all, &x[i]), "event_id"),
				     jstr(creates.v[i], "event_id")) == 0,
		      "event %zu has another event_id on %s", i, CREATES_LIST);
	events_free(&all);
	events_free(&creates);
	events_free(&records);
}

void test_events_register(void)
{
	CU_pSuite s = CU_add_suite("events", NULL, NULL);

	CU_add_test(s, "payload of every write, exact", test_payloads);
	CU_add_test(s, "no event for a 4xx or a read", test_no_event_for_errors_and_reads);
	CU_add_test(s, "sequential writes: Redis order = commit order", test_sequential_order);
	CU_add_test(s, "concurrent writers: every event, in commit order", test_concurrent_order);
	CU_add_test(s, "named listeners filter by action and resource", test_filtered_listeners);
}
