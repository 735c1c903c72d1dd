/*
 * PostgreSQL streaming replication on loopback. A hot standby of the
 * stack's PostgreSQL (pg_basebackup -R, its own port and folder) serves a
 * read-only pawl head: reads and _since polls from the replica, writes
 * refused as Kinto's readonly mode refuses them, the lag measured and
 * exposed. Then a failover on a pair of the test's own (a copy of the
 * stack's database as primary, synchronous standby beside it): a pawl with
 * both hosts in storage_url answers 503 with Retry-After while there is no
 * primary, finds the promoted one by itself, and loses no answered write.
 * Last, the hostile cases: a writable pawl pointed at a standby only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "replica_util.h"
#include "resource_util.h"

#define USER "replica-user"
#define PW "replica-pw"
#define LAG_SAMPLES 40
#define LAG_BOUND_MS 10000    /* generous: a loopback replica is milliseconds behind */
#define OUTAGE_ANSWER_MS 8000 /* a write during the outage answers within this */

static struct cluster stack_pg, replica;
static struct head ro_head;
static char auth[512];

static int suite_init(void)
{
	char url[600];

	ru_login(USER, PW);
	basic_auth(auth, sizeof auth, USER, PW);
	if (!cluster_of_stack(&stack_pg) ||
	    !cluster_clone(&replica, &stack_pg, "replica", true, NULL)) {
		fprintf(stderr, "replica: no hot standby (see %s)\n", replica.log);
		return 1;
	}
	snprintf(url, sizeof url, "%s user=postgres dbname=pawl", cluster_conninfo(&replica));
	if (!head_start(&ro_head, "ro", url, "readonly = true\n")) {
		fprintf(stderr, "replica: the read-only head did not start (see %s)\n", ro_head.dir);
		return 1;
	}
	return 0;
}

static int suite_cleanup(void)
{
	head_stop(&ro_head);
	cluster_remove(&replica);
	return 0;
}

/* The last answer wait_on_head saw, for messages. */
static long last_status;
static char last_body[65536];

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* GET uri on the head until its body has needle (or bound_ms passed): the ms it took, or -1. */
static long wait_on_head(const struct head *h, const char *uri, const char *needle, long bound_ms)
{
	long start = harness_now_ms();

	for (;;) {
		long st = head_request(h, "GET", uri, auth, NULL, last_body, sizeof last_body, NULL, 0);

		last_status = st;
		if (st == 200 && strstr(last_body, needle) != NULL)
			return harness_now_ms() - start;
		if (harness_now_ms() - start > bound_ms)
			return -1;
		sleep_ms(2);
	}
}

static void test_standby_replays(void)
{
	char out[64];

	CU_ASSERT_FATAL(cluster_psql(&replica, "SELECT pg_is_in_recovery()", out, sizeof out));
	CHECK(strcmp(out, "t") == 0, "the replica is not a hot standby: %s", out);
	CHECK(harness_psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
			   out, sizeof out) && atoi(out) >= 1, "the primary streams to nobody: %s", out);
}

/*
 * What a stranger learns on the head about lists of someone else's bucket:
 * nothing. A never-listed list (no timestamp row), one with records, and one
 * under a collection that does not exist answer alike, to an account and to
 * nobody, in several spellings (a 503 here once told which lists were never used).
 */
static void never_read_strangers(const char *b)
{
	static const char *const lists[] = { "never-read", "c", "no-such-collection" };
	static const char *const queries[] = { "", "?_since=0", "?_limit=1", "?_sort=-last_modified",
		"?_since=0&_token=" };
	char other[512], body[65536], want[2][128] = { "", "" };
	char user[64];

	unique_id(user, sizeof user, "stranger");
	basic_auth(other, sizeof other, user, "pw");
	for (int who = 0; who < 2; who++) {
		for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++) {
			for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
				for (int m = 0; m < 2; m++) {
					const char *uri = ru_fmt("%s%s", ru_records(b, lists[l]), queries[q]);
					long st = head_request(&ro_head, m ? "HEAD" : "GET", uri,
							       who ? NULL : other, NULL, body,
							       sizeof body, NULL, 0);
					char got[128];

					snprintf(got, sizeof got, "%ld %.100s", st, m ? "" :
						 strstr(body, "\"errno\":121") ? "121" :
						 strstr(body, "\"errno\":104") ? "104" : body);
					if (want[who][0] == '\0' && m == 0)
						snprintf(want[who], sizeof want[who], "%s", got);
					CHECK(st == (who ? 401 : 403) && (m || strcmp(got, want[who]) == 0),
					      "%s %s as %s on the head: %s (first answer: %s)",
					      m ? "HEAD" : "GET", uri, who ? "nobody" : "a stranger", got,
					      want[who]);
				}
			}
		}
	}
}

/* Reads from the replica; writes 405 as Kinto's readonly; the heartbeat and the metrics say so. */
static void test_readonly_head(void)
{
	char b[RU_ID_LEN], body[65536], ra[32];
	long long lm;
	bool ok;
	long st;

	ru_fresh_collection(b);
	lm = PUT(ru_record(b, "c", "r1"), "{\"n\": 1}", 201);
	/* Waited for first: the order a call's arguments are evaluated in is unspecified. */
	ok = wait_on_head(&ro_head, ru_record(b, "c", "r1"), "\"r1\"", LAG_BOUND_MS) >= 0;
	CHECK(ok, "the record never showed on the replica head: %ld %.300s", last_status, last_body);
	st = head_request(&ro_head, "GET", ru_fmt("%s?_since=%lld", ru_records(b, "c"), lm - 1),
			  auth, NULL, body, sizeof body, NULL, 0);
	CHECK(st == 200 && strstr(body, "\"r1\"") != NULL, "_since on the head: %ld %.200s", st, body);
	for (int i = 0; i < 3; i++) {
		static const char *const m[] = { "PUT", "PATCH", "DELETE" };

		st = head_request(&ro_head, m[i], ru_record(b, "c", "r1"), auth,
				  i < 2 ? "{\"data\": {\"n\": 2}}" : NULL, body, sizeof body, NULL, 0);
		CHECK(st == 405 && strstr(body, "\"errno\":115") != NULL,
		      "%s on the read-only head: %ld %.200s", m[i], st, body);
	}
	/*
	 * An empty list nobody listed on the primary has no timestamp; the head
	 * cannot store one and answers it empty at timestamp 0 (Kinto: a 503),
	 * after authorization like any list.
	 */
	PUT(ru_collection(b, "never-read"), "{}", 201);
	CHECK(wait_on_head(&ro_head, ru_collection(b, "never-read"), "never-read", LAG_BOUND_MS) >= 0,
	      "the collection never showed on the replica head");
	st = head_request(&ro_head, "GET", ru_records(b, "never-read"), auth, NULL, body, sizeof body,
			  ra, sizeof ra);
	CHECK(st == 200 && strstr(body, "\"data\":[]") != NULL &&
	      strcmp(head_last_header("ETag"), "\"0\"") == 0,
	      "never-read list on the head: %ld ETag %s %.200s", st, head_last_header("ETag"), body);
	never_read_strangers(b);
	/* Once the primary answered it, the replica has its timestamp: the same ETag. */
	lm = ru_list_etag("GET", ru_records(b, "never-read"));
	CHECK(wait_on_head(&ro_head, ru_records(b, "never-read"), "\"data\":[]", LAG_BOUND_MS) >= 0,
	      "the list never became readable on the head (primary's ETag %lld)", lm);
	CHECK(atoll(head_last_header("ETag") + 1) == lm, "ETag on the head %s, on the primary %lld",
	      head_last_header("ETag"), lm);
	st = head_request(&ro_head, "GET", "/v1/__heartbeat__", NULL, NULL, body, sizeof body, NULL, 0);
	CHECK(st == 200 && strstr(body, "\"storage\":true") != NULL, "heartbeat: %ld %s", st, body);
	st = head_request(&ro_head, "GET", "/v1/__metrics__", NULL, NULL, body, sizeof body, NULL, 0);
	CHECK(st == 200 && strstr(body, "\npawl_db_in_recovery 1\n") != NULL &&
	      strstr(body, "\npawl_db_replication_lag_seconds ") != NULL,
	      "no replication gauges on the head: %ld", st);
	CHECK(head_alive(&ro_head) && !head_log_has(&ro_head, "read-only transaction"),
	      "the head tried to write on the replica");
}

/*
 * The personal default bucket on a read-only head: the one a writable host
 * created is served (checked as the caller's); none is created there, so a
 * user who never used it gets the answer of any missing bucket.
 */
static void test_readonly_default_bucket(void)
{
	char body[65536], fresh[512], user[64], bid[96] = "", ra[32];
	struct http_resp r;
	json_object *id;
	bool ok;
	long st;

	ru_req(&r, "GET", "/v1/buckets/default", NULL, NULL, NULL);
	assert_status(&r, 200);
	if ((id = resp_json(&r, "data.id")) != NULL)
		snprintf(bid, sizeof bid, "%s", json_object_get_string(id));
	http_resp_free(&r);
	ok = wait_on_head(&ro_head, "/v1/buckets/default", bid, LAG_BOUND_MS) >= 0;
	CHECK(ok, "the default bucket %s on the head: %ld %.300s", bid, last_status, last_body);
	unique_id(user, sizeof user, "fresh");
	basic_auth(fresh, sizeof fresh, user, "pw");
	st = head_request(&ro_head, "GET", "/v1/buckets/default", fresh, NULL, body, sizeof body,
			  NULL, 0);
	CHECK(st == 403 || st == 404, "a default bucket never used, on the head: %ld %.300s", st,
	      body);
	/* Its lists: those of a missing bucket, not a 503 (they have no timestamp either). */
	st = head_request(&ro_head, "GET", "/v1/buckets/default/collections/c/records", fresh, NULL,
			  body, sizeof body, ra, sizeof ra);
	CHECK(st == 403 && strstr(body, "\"errno\":121") != NULL, "a list of a default bucket "
	      "never used, on the head: %ld %.300s", st, body);
	CHECK(!head_log_has(&ro_head, "read-only transaction"), "the head tried to create it");
}

/* From a 2xx on the primary to the change in a _since poll on the head, LAG_SAMPLES times. */
static void test_lag_measured(void)
{
	char b[RU_ID_LEN], needle[64];
	long ms[LAG_SAMPLES];
	long long since;
	int n = 0;

	ru_fresh_collection(b);
	since = PUT(ru_record(b, "c", "r0"), "{}", 201);
	CHECK(wait_on_head(&ro_head, ru_record(b, "c", "r0"), "r0", LAG_BOUND_MS) >= 0, "no r0");
	for (int i = 1; i <= LAG_SAMPLES; i++) {
		char id[16];
		long long lm;

		snprintf(id, sizeof id, "r%d", i);
		lm = PUT(ru_record(b, "c", id), "{}", 201);
		snprintf(needle, sizeof needle, "\"%s\"", id);
		ms[n] = wait_on_head(&ro_head, ru_fmt("%s?_since=%lld", ru_records(b, "c"), since),
				     needle, LAG_BOUND_MS);
		CHECK(ms[n] >= 0, "change %d not in a _since poll on the head within %d ms", i,
		      LAG_BOUND_MS);
		if (ms[n] < 0)
			break; /* the others would wait as long */
		n++;
		since = lm;
	}
	if (n == 0)
		return;
	qsort(ms, (size_t)n, sizeof ms[0], cmp_long);
	printf("\n    replica lag (2xx on the primary -> seen in a _since poll on the replica head, "
	       "%d changes): median %ld ms, p99 %ld ms, max %ld ms\n", n, ms[n / 2],
	       ms[(n * 99 + 99) / 100 - 1], ms[n - 1]);
}

/* A writable pawl given a standby alone: 503s with Retry-After and a clear log line, no crash. */
static void test_standby_only(void)
{
	char url[600], body[4096], ra[32], b[RU_ID_LEN];
	struct head w;
	long st;

	ru_fresh_collection(b);
	snprintf(url, sizeof url, "%s user=postgres dbname=pawl", cluster_conninfo(&replica));
	CU_ASSERT_FATAL(head_start(&w, "w", url, NULL));
	st = head_request(&w, "PUT", ru_record(b, "c", "x"), auth, "{\"data\": {}}", body,
			  sizeof body, ra, sizeof ra);
	CHECK(st == 503 && ra[0] != '\0' && strstr(body, "\"errno\":201") != NULL,
	      "a write on a standby-only storage_url: %ld [%s] %.200s", st, ra, body);
	CHECK(head_log_has(&w, "read-only") || head_log_has(&w, "hot standby"),
	      "no log line says the server is read-only");
	CHECK(head_alive(&w), "the worker died");
	head_stop(&w);
	/* target_session_attrs=any lands on the standby: the write's 25006 is a 503, not a 500. */
	snprintf(url, sizeof url, "%s user=postgres dbname=pawl target_session_attrs=any",
		 cluster_conninfo(&replica));
	CU_ASSERT_FATAL(head_start(&w, "w", url, NULL));
	for (int i = 0; i < 2; i++) {
		st = head_request(&w, "PUT", ru_record(b, "c", "x"), auth, "{\"data\": {}}", body,
				  sizeof body, ra, sizeof ra);
		CHECK(st == 503 && ra[0] != '\0', "write %d through a read-only session: %ld %.200s",
		      i, st, body);
	}
	CHECK(head_log_has(&w, "PostgreSQL refused a write: the session is read-only"),
	      "no log line for the read-only session");
	st = head_request(&w, "GET", ru_collection(b, "c"), auth, NULL, body, sizeof body, NULL, 0);
	CHECK(st == 200, "a read through the same worker: %ld %.200s", st, body);
	CHECK(head_alive(&w), "the worker died");
	head_stop(&w);
}

/*
 * A supervised read-only head with the writable hosts' Redis listener: it
 * starts no relay (it would push the primary's outbox rows a second time and
 * fail to delete them on the replica), and `pawl-fcgi relay` refuses it.
 */
static void test_readonly_no_relay(void)
{
	char url[600], redis[512], extra[700], cmd[600], out[512] = "";
	pid_t kids[8];
	struct head h;
	size_t n;
	FILE *p;

	snprintf(url, sizeof url, "%s user=postgres dbname=pawl", cluster_conninfo(&replica));
	harness_ini_value("event_listeners.redis.url", redis, sizeof redis);
	snprintf(extra, sizeof extra, "readonly = true\nevent_listeners = redis\n"
		 "event_listeners.redis.use = redis\nevent_listeners.redis.url = %s\n"
		 "event_listeners.redis.listname = replica.events\n", redis);
	CU_ASSERT_FATAL(head_start_workers(&h, "sup", url, extra, 2));
	sleep_ms(1500); /* a relay would be spawned by now */
	n = children_of(h.pid, kids, 8);
	CHECK(n == 2, "%zu children under the read-only supervisor (2 workers, no relay)", n);
	CHECK(head_request(&h, "GET", "/v1/__heartbeat__", NULL, NULL, out, sizeof out, NULL, 0)
	      == 200, "heartbeat of the supervised head: %s", out);
	CHECK(!head_log_has(&h, "LISTEN failed") && !head_log_has(&h, "read-only transaction"),
	      "something tried to write on the replica");
	/* A clean environment: the harness's PAWL_* variables would override the ini. */
	snprintf(cmd, sizeof cmd, "env -i PATH=/usr/bin:/bin %s relay -c %s/pawl.ini 2>&1",
		 getenv("PAWL_BIN"), h.dir);
	if ((p = popen(cmd, "r")) != NULL) {
		size_t got = fread(out, 1, sizeof out - 1, p);

		out[got] = '\0';
		CHECK(pclose(p) != 0 && strstr(out, "readonly") != NULL,
		      "pawl-fcgi relay on a readonly config: %s", out);
	}
	head_stop(&h);
}

void test_replica_failover(void); /* test_replica_failover.c */

void test_replica_register(void)
{
	CU_pSuite s = CU_add_suite("replica", suite_init, suite_cleanup);

	CU_add_test(s, "pg_basebackup -R: a hot standby streaming from the stack's PostgreSQL",
		    test_standby_replays);
	CU_add_test(s, "a readonly head on the replica: reads, _since, 405 writes, gauges",
		    test_readonly_head);
	CU_add_test(s, "the default bucket on a readonly head: served, never created",
		    test_readonly_default_bucket);
	CU_add_test(s, "lag from a write on the primary to a _since poll on the replica head",
		    test_lag_measured);
	CU_add_test(s, "a supervised readonly head runs no relay; `relay` refuses readonly",
		    test_readonly_no_relay);
	CU_add_test(s, "a writable pawl on a standby only: 503 + Retry-After, a log line",
		    test_standby_only);
	CU_add_test(s, "failover: multi-host storage_url follows pg_ctl promote, nothing lost",
		    test_replica_failover);
}
