/*
 * What clients and consumers are told must be true (issue 18): a list
 * re-created under the same URL never goes back in time (`_since=<any ETag it
 * served>` sees every later change), a delete that removes children says so
 * in its event and leaves tombstones, and __heartbeat__ answers within its
 * bound whatever hangs behind it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events_util.h"
#include "resource_util.h"

#define AHEAD_MS (3600 * 1000LL) /* well inside max_client_timestamp_skew_seconds */
#define HEARTBEAT_BOUND_MS 1500  /* heartbeat_timeout_seconds (1) + 0.5 s */
#define RECOVERY_MS 30000

static long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* DELETE path answers 200. */
static void delete_ok(const char *path)
{
	struct http_resp r;

	ru_req(&r, "DELETE", path, NULL, NULL, NULL);
	assert_status(&r, 200);
	http_resp_free(&r);
}

/*
 * GET list?_since=since holds id, as a tombstone or not as asked, with a
 * last_modified above since. Reported at the caller's line.
 */
static void since_has_at(const char *list, long long since, const char *id, bool tombstone,
			 const char *file, unsigned line)
{
	struct http_resp r;
	json_object *data, *found = NULL;

	ru_req(&r, "GET", ru_fmt("%s?_since=%lld", list, since), NULL, NULL, NULL);
	data = resp_json(&r, "data");
	for (size_t i = 0; i < ru_len(data); i++) {
		json_object *o = json_object_array_get_idx(data, i);
		const char *oid = ru_str(o, "id");

		if (oid != NULL && strcmp(oid, id) == 0)
			found = o;
	}
	check_at(r.status == 200 && found != NULL, file, line, "%s?_since=%lld lacks %s: %ld %s",
		 list, since, id, r.status, body_snip(&r));
	if (found != NULL) {
		json_object *del = NULL;
		bool is_tomb = json_object_object_get_ex(found, "deleted", &del) &&
			       json_object_get_boolean(del);

		check_at(is_tomb == tombstone, file, line, "%s in %s?_since=%lld: deleted is %d",
			 id, list, since, is_tomb);
		check_at(ru_int(found, "last_modified") > since, file, line,
			 "%s in %s: last_modified %lld not above %lld", id, list,
			 ru_int(found, "last_modified"), since);
	}
	http_resp_free(&r);
}
#define since_has(l, s, id, t) since_has_at((l), (s), (id), (t), __FILE__, __LINE__)

/* A collection's records list, pushed an hour ahead of the clock, deleted and re-created. */
static void test_recreated_records_list(void)
{
	char b[RU_ID_LEN], recs[RU_PATH_LEN], coll[RU_PATH_LEN], old_id[64], new_id[64];
	long long ahead = wall_ms() + AHEAD_MS, old, ts, etag;

	ru_fresh_collection(b);
	SET(recs, ru_records(b, "c"));
	SET(coll, ru_collection(b, "c"));
	POST_ID(recs, ru_fmt("{\"last_modified\": %lld}", ahead), old_id);
	old = ru_list_etag("GET", recs);
	CHECK(old >= ahead, "records list not pushed ahead: ETag %lld, wanted >= %lld", old, ahead);

	delete_ok(coll);
	PUT(coll, "{}", 201);
	etag = ru_list_etag("GET", recs);
	CHECK(etag >= old, "re-created list's ETag %lld below the old list's %lld", etag, old);
	ts = POST_ID(recs, "{}", new_id);
	CHECK(ts > old, "first record of the re-created collection at %lld, not above the old "
	      "list's last ETag %lld", ts, old);
	since_has(recs, old, new_id, false);
	/* The record the cascade removed is a tombstone for whoever polls with the old ETag. */
	since_has(recs, old, old_id, true);
}

/* A bucket's collections and groups lists and a records list below, across a bucket's delete. */
static void test_recreated_bucket_lists(void)
{
	char b[RU_ID_LEN], bucket[RU_PATH_LEN], colls[RU_PATH_LEN], groups[RU_PATH_LEN];
	char recs[RU_PATH_LEN], old_rec[64], new_rec[64];
	long long ahead = wall_ms() + AHEAD_MS, old_c, old_g, old_r, ts;

	unique_id(b, sizeof b, "tb");
	SET(bucket, ru_bucket(b));
	SET(colls, ru_fmt("%s/collections", bucket));
	SET(groups, ru_fmt("%s/groups", bucket));
	SET(recs, ru_records(b, "c1"));
	PUT(bucket, "{}", 201);
	PUT(ru_collection(b, "c1"), ru_fmt("{\"last_modified\": %lld}", ahead), 201);
	PUT(ru_fmt("%s/g1", groups), ru_fmt("{\"members\": [], \"last_modified\": %lld}", ahead), 201);
	POST_ID(recs, ru_fmt("{\"last_modified\": %lld}", ahead), old_rec);
	old_c = ru_list_etag("GET", colls);
	old_g = ru_list_etag("GET", groups);
	old_r = ru_list_etag("GET", recs);
	CHECK(old_c >= ahead && old_g >= ahead && old_r >= ahead,
	      "lists not pushed ahead: %lld %lld %lld (wanted >= %lld)", old_c, old_g, old_r, ahead);

	delete_ok(bucket);
	PUT(bucket, "{}", 201);
	ts = PUT(ru_collection(b, "c2"), "{}", 201);
	CHECK(ts > old_c, "new collection at %lld, not above the old list's ETag %lld", ts, old_c);
	ts = PUT(ru_fmt("%s/g2", groups), "{}", 201);
	CHECK(ts > old_g, "new group at %lld, not above the old list's ETag %lld", ts, old_g);
	PUT(ru_collection(b, "c1"), "{}", 201);
	ts = POST_ID(recs, "{}", new_rec);
	CHECK(ts > old_r, "record under the re-created bucket at %lld, not above %lld", ts, old_r);

	since_has(colls, old_c, "c2", false);
	since_has(colls, old_c, "c1", false);
	since_has(groups, old_g, "g2", false);
	since_has(groups, old_g, "g1", true);
	since_has(recs, old_r, new_rec, false);
	since_has(recs, old_r, old_rec, true);
}

/* The delete event of uri in bucket b's events (NULL if none within the deadline). */
static json_object *delete_event(struct events *e, const char *b, const char *uri)
{
	for (long waited = 0;; waited += 100) {
		events_fetch(EVENTS_LIST, in_bucket, b, e);
		for (size_t i = 0; i < e->n; i++) {
			const char *action = jstr(e->v[i], "action"), *u = jstr(e->v[i], "uri");

			if (action != NULL && u != NULL && strcmp(action, "delete") == 0 &&
			    strcmp(u, uri) == 0)
				return e->v[i];
		}
		events_free(e);
		if (waited >= DELIVERY_MS)
			return NULL;
		sleep_ms(100);
	}
}

/* The event's "cascade" member equals want (a JSON text), or is absent when want is NULL. */
static void check_cascade_at(const char *b, const char *uri, const char *want, const char *file,
			     unsigned line)
{
	struct events e;
	json_object *ev = delete_event(&e, b, uri), *cascade = NULL;
	bool has = ev != NULL && json_object_object_get_ex(ev, "cascade", &cascade);

	check_at(ev != NULL, file, line, "no delete event for %s", uri);
	if (ev != NULL && want == NULL)
		check_at(!has, file, line, "delete of %s has a cascade: %s", uri,
			 json_object_to_json_string(cascade));
	if (ev != NULL && want != NULL) {
		check_at(has, file, line, "delete of %s has no cascade member: %s", uri,
			 json_object_to_json_string(ev));
		if (has)
			ru_check_exact_at(cascade, want, uri, file, line);
	}
	events_free(&e);
}
#define check_cascade(b, u, w) check_cascade_at((b), (u), (w), __FILE__, __LINE__)

static void test_cascade_events(void)
{
	char b[RU_ID_LEN];

	unique_id(b, sizeof b, "cb");
	PUT(ru_bucket(b), "{}", 201);
	PUT(ru_collection(b, "empty"), "{}", 201);
	PUT(ru_collection(b, "c"), "{}", 201);
	POST(ru_records(b, "c"), "{}");
	POST(ru_records(b, "c"), "{}");
	PUT(ru_fmt("/v1/buckets/%s/groups/g", b), "{\"members\": [\"x\"]}", 201);

	/* A delete that removes nothing below says nothing more than before. */
	delete_ok(ru_collection(b, "empty"));
	check_cascade(b, ru_fmt("/buckets/%s/collections/empty", b), NULL);
	delete_ok(ru_collection(b, "c"));
	check_cascade(b, ru_fmt("/buckets/%s/collections/c", b), "{\"record\": 2}");

	PUT(ru_collection(b, "c"), "{}", 201);
	POST(ru_records(b, "c"), "{}");
	PUT(ru_collection(b, "d"), "{}", 201);
	for (int i = 0; i < 3; i++)
		POST(ru_records(b, "d"), "{}");
	/* Plural: one event for the collections, its cascade the sum over them. */
	delete_ok(ru_fmt("/v1/buckets/%s/collections", b));
	check_cascade(b, ru_fmt("/buckets/%s/collections", b), "{\"record\": 4}");

	PUT(ru_collection(b, "e"), "{}", 201);
	POST(ru_records(b, "e"), "{}");
	delete_ok(ru_bucket(b));
	/* Only what was live went: the tombstones left by the deletes above are not counted. */
	check_cascade(b, ru_fmt("/buckets/%s", b), "{\"collection\": 1, \"group\": 1, \"record\": 1}");
}

/*
 * GET __heartbeat__ answers within HEARTBEAT_BOUND_MS with status, the
 * boolean part true on 200 and false otherwise, and storage as given.
 */
static void heartbeat_at(long status, const char *part, bool storage, const char *file,
			 unsigned line)
{
	struct http_resp r;
	long long t0 = mono_ms(), took;
	json_object *p, *s;

	http_request("GET", "/v1/__heartbeat__", NULL, NULL, &r);
	took = mono_ms() - t0;
	p = resp_json(&r, part);
	s = resp_json(&r, "storage");
	check_at(took <= HEARTBEAT_BOUND_MS, file, line,
		 "__heartbeat__ took %lld ms (bound %d ms): %ld %s", took, HEARTBEAT_BOUND_MS,
		 r.status, body_snip(&r));
	check_at(r.status == status, file, line, "__heartbeat__ %ld, wanted %ld: %s", r.status,
		 status, body_snip(&r));
	check_at(p != NULL && json_object_is_type(p, json_type_boolean) &&
			 json_object_get_boolean(p) == (status == 200), file, line,
		 "__heartbeat__ %s: %s", part, body_snip(&r));
	check_at(s != NULL && json_object_get_boolean(s) == storage, file, line,
		 "__heartbeat__ storage: %s", body_snip(&r));
	http_resp_free(&r);
}
#define heartbeat(st, part, storage) heartbeat_at((st), (part), (storage), __FILE__, __LINE__)

/* Waits until __heartbeat__ answers 200 again (after a test stalled a backend). */
static bool heartbeat_back(void)
{
	for (long waited = 0; waited < RECOVERY_MS; waited += 200) {
		if (http_status("/v1/__heartbeat__") == 200)
			return true;
		sleep_ms(200);
	}
	return false;
}

/* A hung Redis (stopped: it accepts connections and never answers) costs the bound, no more. */
static void test_heartbeat_redis_hung(void)
{
	pid_t pid = harness_pid_file("run/redis.pid");

	CU_ASSERT_FATAL(pid > 0);
	heartbeat(200, "redis", true);
	CU_ASSERT_FATAL(stop_process(pid));
	/* Twice: once on the worker's kept connection, once on a fresh one. */
	heartbeat(503, "redis", true);
	heartbeat(503, "redis", true);
	kill(pid, SIGCONT); /* always, before any fatal assertion */
	CHECK(heartbeat_back(), "__heartbeat__ not 200 within %d ms of SIGCONT", RECOVERY_MS);
}

/* The backends serving pawl (workers and relay), up to max; returns how many. */
static size_t pawl_backends(pid_t *out, size_t max)
{
	char cmd[4096];
	size_t n = 0;
	long pid;
	FILE *p;

	snprintf(cmd, sizeof cmd,
		 "psql -X -At -h '%s/run/pg' -p %s -U postgres -d pawl -c \"SELECT pid FROM "
		 "pg_stat_activity WHERE application_name = 'pawl-fcgi'\" 2>/dev/null",
		 harness_state_dir(), getenv("PAWL_PG_PORT"));
	if ((p = popen(cmd, "r")) == NULL)
		return 0;
	while (n < max && fscanf(p, "%ld", &pid) == 1)
		out[n++] = (pid_t)pid;
	pclose(p);
	return n;
}

/*
 * A hung PostgreSQL: pawl's backends and the postmaster stopped (SIGSTOP),
 * so a statement on a kept connection and a new connection both get no
 * answer. Only idle backends are stopped, for about three seconds, and every
 * one is continued whatever the checks said.
 */
static void test_heartbeat_pg_hung(void)
{
	pid_t pids[32];
	size_t n;

	heartbeat(200, "storage", true);
	n = pawl_backends(pids + 1, 31);
	pids[0] = harness_pid_file("pg/postmaster.pid");
	CU_ASSERT_FATAL(pids[0] > 0 && n > 0);
	for (size_t i = 0; i <= n; i++)
		stop_process(pids[i]);
	/* A statement on the kept connection, then new connections (and their back-off). */
	heartbeat(503, "storage", false);
	heartbeat(503, "storage", false);
	heartbeat(503, "storage", false);
	for (size_t i = 0; i <= n; i++)
		kill(pids[i], SIGCONT);
	CHECK(heartbeat_back(), "__heartbeat__ not 200 within %d ms of SIGCONT", RECOVERY_MS);
}

static void test_heartbeat_pg_down(void)
{
	CU_ASSERT_FATAL(harness_stack("pg-stop") == 0);
	heartbeat(503, "storage", false);
	heartbeat(503, "storage", false);
	CU_ASSERT_FATAL(harness_stack("pg-start") == 0);
	CHECK(heartbeat_back(), "__heartbeat__ not 200 within %d ms of pg-start", RECOVERY_MS);
}

static int suite_init(void)
{
	ru_login("truth-user", "truth-password");
	return 0;
}

void test_truth_register(void)
{
	CU_pSuite s = CU_add_suite("truth", suite_init, NULL);

	CU_add_test(s, "re-created collection: records continue above the old ETag",
		    test_recreated_records_list);
	CU_add_test(s, "re-created bucket: collections, groups, records continue",
		    test_recreated_bucket_lists);
	CU_add_test(s, "cascading deletes: cascade in the event, tombstones", test_cascade_events);
	CU_add_test(s, "__heartbeat__ bounded with Redis stopped (SIGSTOP)",
		    test_heartbeat_redis_hung);
	CU_add_test(s, "__heartbeat__ bounded with PostgreSQL stopped (SIGSTOP)",
		    test_heartbeat_pg_hung);
	CU_add_test(s, "__heartbeat__ bounded with PostgreSQL down", test_heartbeat_pg_down);
}
