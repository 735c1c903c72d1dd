/* POST /v1/batch through nginx: Kinto's validation messages, defaults, the
 * limit and recursion guards, sub-requests as real requests (redirects, HEAD,
 * headers), one transaction with a savepoint per sub-request, and the batch's
 * events in Redis after its single commit, merged across sub-requests. The
 * Redis list is read with redis-cli and PostgreSQL is reached with psql, on
 * the stack's own ports, so this file links nothing new. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define EVENTS_LIST "pawl.events" /* pawl-stack's `redis` listener */
#define DELIVERY_MS 15000
#define LOCKER_APP "pawl-batch-test-locker"

static char auth[512];
static char other[512];

static int suite_init(void)
{
	basic_auth(auth, sizeof auth, "batch-user", "batch-password");
	basic_auth(other, sizeof other, "batch-other", "batch-password");
	return 0;
}

/* --- helpers --------------------------------------------------------------- */

static void batch_as(const char *authorization, const char *body, struct http_resp *r)
{
	const char *hdrs[] = { authorization, NULL };

	http_request("POST", "/v1/batch", authorization ? hdrs : NULL, body, r);
}

static void batch(const char *body, struct http_resp *r)
{
	batch_as(auth, body, r);
}

/* responses[i] of a batch answer, or NULL. */
static json_object *sub(const struct http_resp *r, size_t i)
{
	json_object *list = resp_json(r, "responses");

	return list && json_object_is_type(list, json_type_array) && i < json_object_array_length(list)
	    ? json_object_array_get_idx(list, i) : NULL;
}

static size_t nsubs(const struct http_resp *r)
{
	json_object *list = resp_json(r, "responses");

	return list && json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
}

/* The member at a dotted path of o, or NULL. */
static json_object *at(json_object *o, const char *path)
{
	char buf[256], *save = NULL, *part;

	snprintf(buf, sizeof buf, "%s", path);
	for (part = strtok_r(buf, ".", &save); part != NULL && o != NULL;
	     part = strtok_r(NULL, ".", &save))
		if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, part, &o))
			o = NULL;
	return o;
}

static const char *str_at(json_object *o, const char *path)
{
	json_object *v = at(o, path);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static long long int_at(json_object *o, const char *path)
{
	json_object *v = at(o, path);

	return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

static bool str_is(const char *s, const char *want)
{
	return s != NULL && strcmp(s, want) == 0;
}

/* The statuses of a batch answer, e.g. "201 404 412 201". */
static const char *statuses(const struct http_resp *r)
{
	static char out[512];
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < nsubs(r) && len < sizeof out - 8; i++)
		len += (size_t)snprintf(out + len, sizeof out - len, "%s%lld", i ? " " : "",
					int_at(sub(r, i), "status"));
	return out;
}

static void expect_invalid_at(const char *body, const char *message, const char *file,
			      unsigned line)
{
	struct http_resp r;
	const char *m;

	batch(body, &r);
	assert_error_at(&r, 400, 107, file, line);
	m = resp_json(&r, "message") ? json_object_get_string(resp_json(&r, "message")) : NULL;
	check_at(str_is(m, message), file, line, "message %s, expected %s", m ? m : "(none)",
		 message);
	check_at(resp_json(&r, "details") != NULL, file, line, "no details: %s", body_snip(&r));
	http_resp_free(&r);
}
#define EXPECT_INVALID(b, m) expect_invalid_at((b), (m), __FILE__, __LINE__)

static void put_ok_at(const char *path, const char *body, long status, const char *file,
		      unsigned line)
{
	const char *hdrs[] = { auth, NULL };
	struct http_resp r;

	http_request("PUT", path, hdrs, body, &r);
	assert_status_at(&r, status, file, line);
	http_resp_free(&r);
}
#define PUT_OK(p, b) put_ok_at((p), (b), 201, __FILE__, __LINE__)

static long get_status(const char *authorization, const char *path)
{
	const char *hdrs[] = { authorization, NULL };
	struct http_resp r;
	long status;

	http_request("GET", path, hdrs, NULL, &r);
	status = r.status;
	http_resp_free(&r);
	return status;
}

/* A bucket and a collection of the suite's user: /buckets/<b>/collections/<c>. */
static void make_collection(char *b, size_t bsize, char *c, size_t csize, const char *prefix)
{
	char path[256];

	unique_id(b, bsize, prefix);
	unique_id(c, csize, "c");
	snprintf(path, sizeof path, "/v1/buckets/%s", b);
	PUT_OK(path, "{\"data\": {}}");
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/%s", b, c);
	PUT_OK(path, "{\"data\": {}}");
}

/* --- Redis and PostgreSQL from outside, with their command-line clients ---- */

struct events {
	json_object *v[256];
	size_t n;
};

static void events_free(struct events *e)
{
	for (size_t i = 0; i < e->n; i++)
		json_object_put(e->v[i]);
	e->n = 0;
}

/* The events of EVENTS_LIST whose bucket_id is bucket, oldest first. */
static bool events_of(const char *bucket, struct events *out)
{
	char cmd[512], line[8192];
	json_object *all[1024];
	size_t n = 0;
	FILE *p;
	int rc;

	out->n = 0;
	snprintf(cmd, sizeof cmd, "redis-cli -h 127.0.0.1 -p %s --raw LRANGE %s 0 -1 2>/dev/null",
		 getenv("PAWL_REDIS_PORT"), EVENTS_LIST);
	if ((p = popen(cmd, "r")) == NULL)
		return false;
	while (fgets(line, sizeof line, p) != NULL) {
		json_object *ev = json_tokener_parse(line);

		if (ev != NULL && str_is(str_at(ev, "bucket_id"), bucket) && n < 1024)
			all[n++] = ev;
		else
			json_object_put(ev);
	}
	rc = pclose(p);
	/* LPUSH puts the newest first. */
	while (n > 0 && out->n < sizeof out->v / sizeof *out->v)
		out->v[out->n++] = all[--n];
	while (n > 0)
		json_object_put(all[--n]);
	return rc == 0;
}

/* Polls until keep() holds for the bucket's events or DELIVERY_MS passed. */
static bool events_until(const char *bucket, bool (*keep)(const struct events *, const void *),
			 const void *arg, struct events *out)
{
	for (long waited = 0;; waited += 100) {
		bool ok = events_of(bucket, out) && keep(out, arg);

		if (ok || waited >= DELIVERY_MS)
			return ok;
		events_free(out);
		sleep_ms(100);
	}
}

static json_object *event_with(const struct events *e, const char *key, const char *value)
{
	for (size_t i = 0; i < e->n; i++)
		if (str_is(str_at(e->v[i], key), value))
			return e->v[i];
	return NULL;
}

static size_t events_with_count(const struct events *e, const char *key, const char *value)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++)
		n += str_is(str_at(e->v[i], key), value);
	return n;
}

static bool has_record(const struct events *e, const void *id)
{
	return event_with(e, "record_id", id) != NULL;
}

static bool at_least(const struct events *e, const void *n)
{
	return e->n >= *(const size_t *)n;
}

/* --- validation ------------------------------------------------------------ */

static void test_validation(void)
{
	struct http_resp r;
	const char *plain[] = { "Content-Type: text/plain", NULL };

	EXPECT_INVALID("{}", "requests in body: Required");
	EXPECT_INVALID("{\"requests\": [], \"unknown\": 42}",
		       "Unrecognized keys in mapping: \"{'unknown': 42}\"");
	EXPECT_INVALID("{\"requests\": {}}", "requests in body: \"{}\" is not iterable");
	EXPECT_INVALID("{\"requests\": [{\"path\": \"/\", \"method\": \"get\"}]}",
		       "requests.0.method in body: \"get\" is not one of GET, HEAD, DELETE, TRACE, "
		       "POST, PUT, PATCH");
	EXPECT_INVALID("{\"requests\": [{\"method\": \"GET\"}]}", "requests.0.path in body: Required");
	EXPECT_INVALID("{\"requests\": [{\"path\": \"http://localhost\"}]}",
		       "requests.0.path in body: String does not match expected pattern");
	EXPECT_INVALID("{\"requests\": [{\"path\": \"/\", \"foo\": 42}]}",
		       "requests.0 in body: Unrecognized keys in mapping: \"{'foo': 42}\"");
	EXPECT_INVALID("{\"requests\": [{\"path\": \"/\", \"headers\": {\"Accept\": 3.14}}]}",
		       "requests.0.headers in body: {'Accept': 3.14} contains non string value");
	EXPECT_INVALID("{\"requests\": [{\"path\": \"/\", \"body\": []}]}",
		       "requests.0.body in body: \"[]\" is not a mapping type: Does not implement "
		       "dict-like functionality.");
	EXPECT_INVALID("{\"defaults\": {\"body\": 3}, \"requests\": [{\"path\": \"/\"}]}",
		       "defaults.body in body: \"3\" is not a mapping type: Does not implement "
		       "dict-like functionality.");

	/* Not JSON at all: the generic message, no partial work. */
	batch("{\"requests\": [{\"path\": \"/\"},]}", &r);
	assert_error(&r, 400, 107);
	CHECK(resp_json(&r, "message") &&
	      strstr(json_object_get_string(resp_json(&r, "message")), "Invalid JSON") != NULL,
	      "message: %s", body_snip(&r));
	http_resp_free(&r);

	/* Anonymous, empty: allowed. */
	batch_as(NULL, "{\"requests\": []}", &r);
	assert_status(&r, 200);
	CHECK(resp_json(&r, "responses") != NULL && nsubs(&r) == 0, "body: %s", body_snip(&r));
	http_resp_free(&r);

	http_request("POST", "/v1/batch", plain, "{\"requests\": []}", &r);
	assert_error(&r, 415, 107);
	http_resp_free(&r);
	http_request("GET", "/v1/batch", NULL, NULL, &r);
	assert_error(&r, 405, 115);
	http_resp_free(&r);
}

/* --- limit and recursion --------------------------------------------------- */

static void test_limit(void)
{
	char b[64], c[64], body[8192], path[256];
	struct http_resp r;
	size_t len;
	int all_201 = 0;

	make_collection(b, sizeof b, c, sizeof c, "blim");
	for (int n = 26; n >= 25; n--) {
		len = (size_t)snprintf(body, sizeof body, "{\"defaults\": {\"method\": \"PUT\", "
				       "\"body\": {\"data\": {}}}, \"requests\": [");
		for (int i = 0; i < n; i++)
			len += (size_t)snprintf(body + len, sizeof body - len,
						"%s{\"path\": \"/buckets/%s/collections/%s/records/r%d\"}",
						i ? "," : "", b, c, i);
		snprintf(body + len, sizeof body - len, "]}");
		if (n == 26) {
			EXPECT_INVALID(body, "Number of requests is limited to 25");
			continue;
		}
		batch(body, &r);
		assert_status(&r, 200);
		for (size_t i = 0; i < nsubs(&r); i++)
			all_201 += int_at(sub(&r, i), "status") == 201;
		CHECK(nsubs(&r) == 25 && all_201 == 25, "25 writes: %s", statuses(&r));
		http_resp_free(&r);
	}
	/* The refused batch wrote nothing: r25 never existed. */
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/%s/records/r25", b, c);
	CHECK(get_status(auth, path) == 404, "r25 written by a refused batch");
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/%s/records/r24", b, c);
	CHECK(get_status(auth, path) == 200, "r24 missing after the batch of 25");
}

static void test_recursion(void)
{
	/* Every spelling that routes to /batch once decoded, and those redirected there. */
	static const char *const spellings[] = {
		"/v1/batch", "/batch", "/%62atch", "/v1/%62atch", "/v1/b%61tch", "/v1/batc%68",
		"/v1/%62%61%74%63%68", "/batch/", "/v1/batch?x=1", "/v1/%2Fbatch",
	};
	char b[64], body[512], path[128];
	size_t i;

	for (i = 0; i < sizeof spellings / sizeof *spellings; i++) {
		unique_id(b, sizeof b, "brec");
		snprintf(body, sizeof body, "{\"requests\": [{\"method\": \"PUT\", \"path\": "
			 "\"/buckets/%s\"}, {\"method\": \"POST\", \"path\": \"%s\", \"body\": "
			 "{\"requests\": [{\"method\": \"PUT\", \"path\": \"/buckets/%s-inner\"}]}}]}",
			 b, spellings[i], b);
		EXPECT_INVALID(body, "requests in body: Recursive call on /batch endpoint is forbidden.");
		snprintf(path, sizeof path, "/v1/buckets/%s", b);
		CHECK(get_status(auth, path) != 200, "%s: bucket %s created by a refused batch",
		      spellings[i], b);
		snprintf(path, sizeof path, "/v1/buckets/%s-inner", b);
		CHECK(get_status(auth, path) != 200, "%s: the inner batch ran", spellings[i]);
	}
}

/* --- sub-requests as real requests ----------------------------------------- */

static void test_defaults_and_paths(void)
{
	char b[64], body[2048], want[256];
	struct http_resp r;
	json_object *s;

	unique_id(b, sizeof b, "bdef");
	snprintf(body, sizeof body,
		 "{\"defaults\": {\"method\": \"PUT\", \"body\": {\"data\": {\"x\": 1}}}, \"requests\": ["
		 "{\"path\": \"/buckets/%s\", \"body\": {\"data\": {\"x\": 2}}},"
		 "{\"path\": \"/v1/buckets/%s/collections/c1\"},"
		 "{\"path\": \"/buckets/%s/collections/c2/\"},"           /* trailing slash: followed */
		 "{\"method\": \"GET\", \"path\": \"/buckets/%s/collections/?_limit=1\"},"
		 "{\"method\": \"HEAD\", \"path\": \"/\"},"
		 "{\"method\": \"GET\", \"path\": \"/\"},"
		 "{\"method\": \"GET\", \"path\": \"/\", \"headers\": {\"Authorization\": \"%s\"}},"
		 "{\"method\": \"GET\", \"path\": \"/unknown\"}]}",
		 b, b, b, b, strchr(other, ' ') + 1);
	batch(body, &r);
	assert_status(&r, 200);
	CHECK(str_is(statuses(&r), "201 201 201 200 200 200 200 404"), "statuses %s", statuses(&r));

	s = sub(&r, 0);
	CHECK(int_at(s, "body.data.x") == 2, "request body overridden by defaults: %s", body_snip(&r));
	CHECK(str_at(s, "headers.ETag") != NULL && str_at(s, "headers.Content-Type") != NULL,
	      "sub-response headers missing: %s", body_snip(&r));
	s = sub(&r, 1);
	CHECK(int_at(s, "body.data.x") == 1, "defaults body not applied: %s", body_snip(&r));
	snprintf(want, sizeof want, "/v1/buckets/%s/collections/c1", b);
	CHECK(str_is(str_at(s, "path"), want), "path %s", str_at(s, "path"));
	s = sub(&r, 2);
	snprintf(want, sizeof want, "/v1/buckets/%s/collections/c2", b);
	CHECK(str_is(str_at(s, "path"), want), "redirected path %s", str_at(s, "path"));
	CHECK(int_at(s, "body.data.x") == 1, "body lost in the redirect: %s", body_snip(&r));
	s = sub(&r, 3);
	snprintf(want, sizeof want, "/v1/buckets/%s/collections", b);
	CHECK(str_is(str_at(s, "path"), want), "list path %s", str_at(s, "path"));
	CHECK(at(s, "body.data") && json_object_array_length(at(s, "body.data")) == 1,
	      "_limit=1 not applied: %s", body_snip(&r));
	CHECK(str_at(s, "headers.Next-Page") != NULL, "no Next-Page in a paginated sub-response");
	s = sub(&r, 4);
	CHECK(str_is(str_at(s, "body"), "") && at(s, "headers") &&
	      json_object_object_length(at(s, "headers")) > 0, "HEAD sub-response: %s", body_snip(&r));
	s = sub(&r, 5);
	CHECK(str_is(str_at(s, "path"), "/v1/") && str_is(str_at(s, "body.project_name"), "pawl"),
	      "hello sub-response: path %s", str_at(s, "path"));
	/* The batch's Authorization applies, unless a sub-request sets its own. */
	CHECK(str_at(s, "body.user.id") != NULL && str_at(sub(&r, 6), "body.user.id") != NULL &&
	      strcmp(str_at(s, "body.user.id"), str_at(sub(&r, 6), "body.user.id")) != 0,
	      "the sub-request's Authorization was not used");
	CHECK(int_at(sub(&r, 7), "body.code") == 404 && int_at(sub(&r, 7), "body.errno") == 111,
	      "404 sub-response body: %s", body_snip(&r));
	http_resp_free(&r);
}

/* --- transactions ---------------------------------------------------------- */

static void test_mixed_statuses(void)
{
	char b[64], c[64], body[2048], path[256];
	struct http_resp r;

	make_collection(b, sizeof b, c, sizeof c, "bmix");
	snprintf(body, sizeof body,
		 "{\"defaults\": {\"method\": \"PUT\", \"body\": {\"data\": {\"v\": 1}}}, \"requests\": ["
		 "{\"path\": \"/buckets/%1$s/collections/%2$s/records/r1\"},"
		 "{\"method\": \"GET\", \"path\": \"/buckets/%1$s/collections/%2$s/records/missing\"},"
		 "{\"path\": \"/buckets/%1$s/collections/%2$s/records/r2\", "
		 "\"headers\": {\"If-Match\": \"\\\"1\\\"\"}},"
		 "{\"path\": \"/buckets/%1$s/collections/%2$s/records/r3\"}]}", b, c);
	batch(body, &r);
	assert_status(&r, 200);
	CHECK(str_is(statuses(&r), "201 404 412 201"), "statuses %s", statuses(&r));
	CHECK(int_at(sub(&r, 2), "body.errno") == 114, "412 body: %s", body_snip(&r));
	http_resp_free(&r);
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/%s/records/r1", b, c);
	CHECK(get_status(auth, path) == 200, "r1 not committed");
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/%s/records/r3", b, c);
	CHECK(get_status(auth, path) == 200, "r3 not committed");
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/%s/records/r2", b, c);
	CHECK(get_status(auth, path) == 404, "r2 written despite its 412");
}

/*
 * A sub-request that writes, then fails: PUT into the personal "default"
 * bucket creates the bucket and the collection, then the record's body is
 * refused (400). Its savepoint takes the implicit creations and their events
 * away; the batch's other work commits.
 */
static void test_failed_subrequest_vanishes(void)
{
	char user[64], who[512], mine[64], body[1024], path[256];
	const char *hdrs[2] = { who, NULL };
	struct http_resp r;
	struct events e;
	char *default_id;
	bool seen, read_ok;

	unique_id(user, sizeof user, "bfail");
	basic_auth(who, sizeof who, user, "pw");
	http_request("GET", "/v1/", hdrs, NULL, &r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(str_at(r.json, "user.bucket"));
	default_id = strdup(str_at(r.json, "user.bucket"));
	http_resp_free(&r);

	unique_id(mine, sizeof mine, "bmark");
	snprintf(body, sizeof body, "{\"requests\": ["
		 "{\"method\": \"PUT\", \"path\": \"/buckets/default/collections/tasks/records/t1\", "
		 "\"body\": {\"data\": \"not an object\"}},"
		 "{\"method\": \"PUT\", \"path\": \"/buckets/%s\"}]}", mine);
	batch_as(who, body, &r);
	assert_status(&r, 200);
	CHECK(str_is(statuses(&r), "400 201"), "statuses %s", statuses(&r));
	http_resp_free(&r);

	snprintf(path, sizeof path, "/v1/buckets/%s", default_id);
	CHECK(get_status(who, path) != 200, "the default bucket's creation survived its 400");
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/tasks", default_id);
	CHECK(get_status(who, path) != 200, "the default collection's creation survived its 400");
	snprintf(path, sizeof path, "/v1/buckets/%s", mine);
	CHECK(get_status(who, path) == 200, "the sibling write was not committed");

	/* Both buckets live in one list, pushed in commit order: once the marker
	 * bucket's event is there, a default bucket's event would be too. */
	seen = events_until(mine, at_least, &(size_t){ 1 }, &e);
	CHECK(seen, "no event for bucket %s within %d ms", mine, DELIVERY_MS);
	events_free(&e);
	read_ok = events_of(default_id, &e);
	CHECK(read_ok && e.n == 0, "%zu events of the rolled-back default bucket", e.n);
	events_free(&e);
	free(default_id);
}

/* PUT×3 then DELETE on one record: one event per action, after one commit. */
static void test_events_merged(void)
{
	char b[64], c[64], body[2048];
	long long ts[4];
	struct http_resp r;
	struct events e;
	json_object *ev;
	bool got;

	make_collection(b, sizeof b, c, sizeof c, "bev");
	snprintf(body, sizeof body, "{\"defaults\": {\"method\": \"PUT\", "
		 "\"path\": \"/buckets/%s/collections/%s/records/r\"}, \"requests\": ["
		 "{\"body\": {\"data\": {\"v\": \"foo\"}}}, {\"body\": {\"data\": {\"v\": \"bar\"}}},"
		 "{\"body\": {\"data\": {\"v\": \"baz\"}}}, {\"method\": \"DELETE\"}]}", b, c);
	batch(body, &r);
	assert_status(&r, 200);
	CHECK(str_is(statuses(&r), "201 200 200 200"), "statuses %s", statuses(&r));
	for (int i = 0; i < 4; i++)
		ts[i] = int_at(sub(&r, (size_t)i), "body.data.last_modified");
	http_resp_free(&r);

	got = events_until(b, has_record, "r", &e);
	CHECK(got, "no record event within %d ms", DELIVERY_MS);
	events_free(&e);
	sleep_ms(500); /* anything extra would be pushed by now */
	events_of(b, &e);
	{
		const char *order[4] = { "-", "-", "-", "-" };
		size_t n = 0;

		for (size_t i = 0; i < e.n; i++)
			if (str_is(str_at(e.v[i], "resource_name"), "record") && n++ < 4)
				order[n - 1] = str_at(e.v[i], "action");
		CHECK(n == 3 && str_is(order[0], "create") && str_is(order[1], "update") &&
		      str_is(order[2], "delete"), "%zu record events: %s %s %s %s, expected create "
		      "update delete", n, order[0], order[1], order[2], order[3]);
	}
	/* Each payload is its first operation's: the create, the first update, the delete. */
	for (size_t i = 0; i < e.n; i++) {
		const char *action = str_at(e.v[i], "action");
		long long want = str_is(action, "create") ? ts[0] : str_is(action, "update") ? ts[1]
			       : ts[3];

		ev = e.v[i];
		if (!str_is(str_at(ev, "resource_name"), "record"))
			continue;
		CHECK(int_at(ev, "timestamp") == want, "%s event timestamp %lld, expected %lld",
		      action, int_at(ev, "timestamp"), want);
		CHECK(str_is(str_at(ev, "record_id"), "r") && str_is(str_at(ev, "collection_id"), c),
		      "%s event ids", action);
	}
	events_free(&e);
}

/* Runs in a child: cancels the backend waiting for the locker's row lock. */
static void cancel_waiter(void)
{
	char out[64];

	for (int i = 0; i < 200; i++) {
		if (harness_psql("SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity "
			 "WHERE wait_event_type = 'Lock' AND application_name <> '" LOCKER_APP "' "
			 "AND pid <> pg_backend_pid()", out, sizeof out) && strcmp(out, "0") != 0 &&
		    out[0] != '\0')
			_exit(0);
		usleep(50000);
	}
	_exit(1);
}

/*
 * A 5xx in the middle of a batch. A real one, not a hook: an outside session
 * locks a record, the batch's second sub-request waits for that lock, and an
 * operator's pg_cancel_backend() cancels it (57014: 503 errno 201). The whole
 * batch answers 503; the first sub-request's write and its event vanish.
 */
static void test_5xx_rolls_back(void)
{
	char b[64], c[64], body[2048], path[256], sql[512], out[64];
	struct http_resp r;
	struct events e;
	FILE *locker;
	pid_t child;
	int st = -1;
	bool locked = false;

	make_collection(b, sizeof b, c, sizeof c, "b5xx");
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/%s/records/locked", b, c);
	PUT_OK(path, "{\"data\": {\"v\": 1}}");

	snprintf(sql, sizeof sql, "PGAPPNAME=" LOCKER_APP " psql -X -q -h '%s/run/pg' -p %s "
		 "-U postgres -d pawl >/dev/null 2>&1", harness_state_dir(), getenv("PAWL_PG_PORT"));
	locker = popen(sql, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(locker);
	fprintf(locker, "BEGIN;\nSELECT 1 FROM objects WHERE resource_name = 'record' "
		"AND id = 'locked' AND parent_id = '/buckets/%s/collections/%s' FOR UPDATE;\n", b, c);
	fflush(locker);
	for (int i = 0; i < 100 && !locked; i++) {
		locked = harness_psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '"
			      LOCKER_APP "' AND state = 'idle in transaction'", out, sizeof out) &&
			 strcmp(out, "1") == 0;
		if (!locked)
			sleep_ms(50);
	}
	CHECK(locked, "the locking session did not start");
	if ((child = fork()) == 0)
		cancel_waiter();

	snprintf(body, sizeof body, "{\"defaults\": {\"method\": \"PUT\"}, \"requests\": ["
		 "{\"path\": \"/buckets/%1$s/collections/%2$s/records/fresh\", \"body\": {\"data\": {}}},"
		 "{\"path\": \"/buckets/%1$s/collections/%2$s/records/locked\", "
		 "\"body\": {\"data\": {\"v\": 2}}}]}", b, c);
	batch(body, &r);
	if (child > 0)
		waitpid(child, &st, 0);
	fputs("ROLLBACK;\n\\q\n", locker);
	pclose(locker);
	CHECK(child > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "nothing was cancelled");
	assert_error(&r, 503, 201);
	CHECK(resp_header(&r, "Retry-After") != NULL, "503 without Retry-After");
	CHECK(resp_json(&r, "responses") == NULL, "a failed batch listed responses");
	http_resp_free(&r);

	snprintf(path, sizeof path, "/v1/buckets/%s/collections/%s/records/fresh", b, c);
	CHECK(get_status(auth, path) == 404, "the first sub-request's write survived the 5xx");
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/%s/records/marker", b, c);
	PUT_OK(path, "{\"data\": {}}");
	/* Same list, commit order: after the marker's event, "fresh" would show. */
	CHECK(events_until(b, has_record, "marker", &e), "no marker event within %d ms",
	      DELIVERY_MS);
	CHECK(event_with(&e, "record_id", "fresh") == NULL, "an event of the rolled-back batch");
	events_free(&e);
}

/* Runs in a child: once the batch waits for the locker's lock on r2, the
 * locker asks for r1, which the batch holds. PostgreSQL breaks the deadlock
 * by failing the statement that waited first, the batch's (40P01: 409).
 * Then the locker gives up its locks, whichever side lost. */
static void close_the_cycle(FILE *locker, const char *b, const char *c)
{
	char out[64];
	int i;

	for (i = 0; i < 200; i++) {
		if (harness_psql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
			 "AND application_name <> '" LOCKER_APP "' AND pid <> pg_backend_pid()", out,
			 sizeof out) && out[0] != '\0' && strcmp(out, "0") != 0)
			break;
		usleep(50000);
	}
	fprintf(locker, "UPDATE objects SET data = data WHERE resource_name = 'record' AND id = 'r1' "
		"AND parent_id = '/buckets/%s/collections/%s';\n", b, c);
	fflush(locker);
	sleep(2);
	fputs("ROLLBACK;\n", locker);
	fflush(locker);
	_exit(i < 200 ? 0 : 1);
}

/*
 * A 409 means PostgreSQL rolled the whole transaction back (here a real
 * deadlock with an outside session, not a hook): never answered as a
 * success for work that was undone. The batch runs again from the start
 * once the outside session has let go, and commits once: every write is
 * there, and each has exactly one event.
 */
static void test_409_runs_again(void)
{
	char b[64], c[64], body[2048], path[256], cmd[512], out[64];
	struct http_resp r;
	struct events e;
	FILE *locker;
	pid_t child;
	int st = -1;
	bool locked = false;

	make_collection(b, sizeof b, c, sizeof c, "b409");
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/%s/records/r1", b, c);
	PUT_OK(path, "{\"data\": {\"v\": 1}}");
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/%s/records/r2", b, c);
	PUT_OK(path, "{\"data\": {\"v\": 1}}");

	snprintf(cmd, sizeof cmd, "PGAPPNAME=" LOCKER_APP " psql -X -q -h '%s/run/pg' -p %s "
		 "-U postgres -d pawl >/dev/null 2>&1", harness_state_dir(), getenv("PAWL_PG_PORT"));
	locker = popen(cmd, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(locker);
	fprintf(locker, "BEGIN;\nSELECT 1 FROM objects WHERE resource_name = 'record' AND id = 'r2' "
		"AND parent_id = '/buckets/%s/collections/%s' FOR UPDATE;\n", b, c);
	fflush(locker);
	for (int i = 0; i < 100 && !locked; i++) {
		locked = harness_psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '"
			      LOCKER_APP "' AND state = 'idle in transaction'", out, sizeof out) &&
			 strcmp(out, "1") == 0;
		if (!locked)
			sleep_ms(50);
	}
	CHECK(locked, "the locking session did not start");
	if ((child = fork()) == 0)
		close_the_cycle(locker, b, c);

	snprintf(body, sizeof body, "{\"defaults\": {\"method\": \"PUT\", "
		 "\"body\": {\"data\": {\"v\": 2}}}, \"requests\": ["
		 "{\"path\": \"/buckets/%1$s/collections/%2$s/records/r1\"},"
		 "{\"path\": \"/buckets/%1$s/collections/%2$s/records/r2\"},"
		 "{\"path\": \"/buckets/%1$s/collections/%2$s/records/r3\"}]}", b, c);
	batch(body, &r);
	if (child > 0)
		waitpid(child, &st, 0);
	fputs("\\q\n", locker);
	pclose(locker);
	CHECK(child > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the batch never waited");
	assert_status(&r, 200);
	CHECK(str_is(statuses(&r), "200 200 201"), "statuses %s", statuses(&r));
	http_resp_free(&r);

	{
		const char *hdrs[] = { auth, NULL };
		static const char *const ids[] = { "r1", "r2", "r3" };

		for (size_t i = 0; i < 3; i++) {
			snprintf(path, sizeof path, "/v1/buckets/%s/collections/%s/records/%s", b, c,
				 ids[i]);
			http_request("GET", path, hdrs, NULL, &r);
			CHECK(r.status == 200 && int_at(r.json, "data.v") == 2,
			      "%s after the batch: %ld %s", ids[i], r.status, body_snip(&r));
			http_resp_free(&r);
		}
	}
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/%s/records/marker", b, c);
	PUT_OK(path, "{\"data\": {}}");
	CHECK(events_until(b, has_record, "marker", &e), "no marker event within %d ms",
	      DELIVERY_MS);
	CHECK(events_with_count(&e, "record_id", "r3") == 1, "r3 has %zu events, not 1",
	      events_with_count(&e, "record_id", "r3"));
	events_free(&e);
}

/* --- batches that lock several lists ---------------------------------------- */

#define CROSS_ROUNDS 8
#define CROSS_WRITES 3

struct crosser {
	const char *bucket, *first, *second, *tag;
	pthread_barrier_t *start;
	int ok; /* batches answered 200 with every sub-request 201 */
};

/* CROSS_ROUNDS batches, each writing CROSS_WRITES records in first, then in second. */
static void *cross(void *arg)
{
	struct crosser *x = arg;
	char body[4096];
	size_t len;

	for (int round = 0; round < CROSS_ROUNDS; round++) {
		const char *hdrs[] = { auth, "Content-Type: application/json", NULL };
		struct http_resp r;
		bool all = true;

		len = (size_t)snprintf(body, sizeof body, "{\"defaults\": {\"method\": \"PUT\"}, "
		    "\"requests\": [");
		for (int w = 0; w < 2 * CROSS_WRITES; w++)
			len += (size_t)snprintf(body + len, sizeof body - len, "%s{\"path\": "
			    "\"/buckets/%s/collections/%s/records/%s-%d-%d\", \"body\": {\"data\": {}}}",
			    w ? "," : "", x->bucket, w < CROSS_WRITES ? x->first : x->second, x->tag,
			    round, w);
		snprintf(body + len, sizeof body - len, "]}");
		pthread_barrier_wait(x->start);
		http_request("POST", "/v1/batch", hdrs, body, &r);
		for (size_t i = 0; i < 2 * CROSS_WRITES; i++)
			all = all && int_at(sub(&r, i), "status") == 201;
		x->ok += r.status == 200 && nsubs(&r) == 2 * CROSS_WRITES && all;
		http_resp_free(&r);
	}
	return NULL;
}

/* Lines of the stack's pawl.log containing needle. */
static size_t pawl_log_lines(const char *needle)
{
	char path[4096], line[8192];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/log/pawl.log", harness_state_dir());
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* Total-Objects of a HEAD on list, -1 when absent. */
static long total_objects(const char *list)
{
	const char *hdrs[] = { auth, NULL };
	struct http_resp r;
	const char *v;
	long n;

	http_request("HEAD", list, hdrs, NULL, &r);
	v = resp_header(&r, "Total-Objects");
	n = v ? strtol(v, NULL, 10) : -1;
	http_resp_free(&r);
	return n;
}

/*
 * Two clients, each sending batches that write two collections, in opposite
 * orders, at the same moment. The batch takes the locks of every list it
 * writes up front, in one order, so they queue instead of deadlocking: every
 * batch commits on its first attempt, none waits for PostgreSQL's deadlock
 * detection.
 */
static void test_opposite_orders(void)
{
	char b[64], path[256];
	size_t rolled = pawl_log_lines("batch rolled back by the database");
	pthread_barrier_t start;
	pthread_t t[2];
	struct crosser x[2] = {
		{ b, "one", "two", "ab", &start, 0 },
		{ b, "two", "one", "ba", &start, 0 },
	};

	unique_id(b, sizeof b, "bcross");
	snprintf(path, sizeof path, "/v1/buckets/%s", b);
	PUT_OK(path, "{\"data\": {}}");
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/one", b);
	PUT_OK(path, "{\"data\": {}}");
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/two", b);
	PUT_OK(path, "{\"data\": {}}");
	CU_ASSERT_FATAL(pthread_barrier_init(&start, NULL, 2) == 0);
	for (int i = 0; i < 2; i++)
		CU_ASSERT_FATAL(pthread_create(&t[i], NULL, cross, &x[i]) == 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	CHECK(x[0].ok == CROSS_ROUNDS && x[1].ok == CROSS_ROUNDS,
	      "%d and %d of %d batches answered 200 with every write 201", x[0].ok, x[1].ok,
	      CROSS_ROUNDS);
	CHECK(pawl_log_lines("batch rolled back by the database") == rolled,
	      "%zu batches were rolled back by a deadlock",
	      pawl_log_lines("batch rolled back by the database") - rolled);
	snprintf(path, sizeof path, "/v1/buckets/%s/collections/one/records", b);
	CHECK(total_objects(path) == 2 * CROSS_ROUNDS * CROSS_WRITES, "records in one: %ld",
	      total_objects(path));
}

void test_batch_http_register(void)
{
	CU_pSuite s = CU_add_suite("batch", suite_init, NULL);

	CU_add_test(s, "validation messages", test_validation);
	CU_add_test(s, "25 writes pass, 26 are refused", test_limit);
	CU_add_test(s, "recursion refused", test_recursion);
	CU_add_test(s, "defaults, paths, redirects, HEAD, headers", test_defaults_and_paths);
	CU_add_test(s, "mixed statuses: 4xx kept, the rest committed", test_mixed_statuses);
	CU_add_test(s, "a failed sub-request's writes and events vanish",
		    test_failed_subrequest_vanishes);
	CU_add_test(s, "PUT x3 + DELETE: three events after one commit", test_events_merged);
	CU_add_test(s, "a 5xx rolls the whole batch back", test_5xx_rolls_back);
	CU_add_test(s, "a deadlocked batch runs again and commits once", test_409_runs_again);
	CU_add_test(s, "batches writing two lists in opposite orders never deadlock",
		    test_opposite_orders);
}
