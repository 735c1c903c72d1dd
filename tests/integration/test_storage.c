/* Backend outages: PostgreSQL stopped under running workers (503 errno 201,
 * then recovery without a restart), and Redis stopped (heartbeat says so,
 * writes still succeed). Runs after the other suites: it stops services. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "resource_util.h"

#define RECOVERY_MS 15000

static char auth[512];

static int suite_init(void)
{
	basic_auth(auth, sizeof auth, "storage-user", "storage-password");
	return 0;
}

/* Whatever a failed test left stopped is started again. */
static int suite_cleanup(void)
{
	int rc = 0;

	rc |= harness_stack("pg-start");
	rc |= harness_stack("redis-start");
	return rc == 0 ? 0 : 1;
}

static void bucket_request(const char *method, const char *id, struct http_resp *r)
{
	const char *hdrs[] = { auth, NULL };
	char path[128];

	snprintf(path, sizeof path, "/v1/buckets/%s", id);
	http_request(method, path, hdrs, strcmp(method, "PUT") == 0 ? "{\"data\": {}}" : NULL, r);
}

static bool heartbeat_is(long status, const char *key, bool value, struct http_resp *r)
{
	json_object *o;

	http_request("GET", "/v1/__heartbeat__", NULL, NULL, r);
	o = resp_json(r, key);
	return r->status == status && o != NULL && json_object_is_type(o, json_type_boolean) &&
	       json_object_get_boolean(o) == value;
}

/* The seconds a 503 tells clients to wait: retry_after_seconds, set for the outage test. */
#define OUTAGE_RETRY_AFTER 7

static void assert_backend_down(const struct http_resp *r, const char *what)
{
	const char *retry = resp_header(r, "Retry-After");
	char *end = NULL;
	long secs = retry ? strtol(retry, &end, 10) : 0;

	assert_error(r, 503, 201);
	CHECK(retry != NULL && end != retry && *end == '\0' && secs == OUTAGE_RETRY_AFTER,
	      "%s: Retry-After is %s, expected retry_after_seconds (%d)", what,
	      retry ? retry : "missing", OUTAGE_RETRY_AFTER);
}

static void test_postgresql_outage(void)
{
	char a[64], b[64], c[64];
	struct http_resp r;
	json_object *id;
	long waited = 0;
	int ok = 0;
	bool hb;

	unique_id(a, sizeof a, "pga");
	unique_id(b, sizeof b, "pgb");
	unique_id(c, sizeof c, "pgc");

	bucket_request("PUT", a, &r);
	assert_status(&r, 201);
	id = resp_json(&r, "data.id");
	CHECK(id != NULL && strcmp(json_object_get_string(id), a) == 0, "data.id: %s", body_snip(&r));
	http_resp_free(&r);

	CU_ASSERT_FATAL(ru_reload(ru_fmt("\nretry_after_seconds = %d\n", OUTAGE_RETRY_AFTER)));
	CU_ASSERT_FATAL(harness_stack("pg-stop") == 0);

	bucket_request("PUT", b, &r);
	assert_backend_down(&r, "PUT while PostgreSQL is down");
	http_resp_free(&r);
	bucket_request("GET", a, &r);
	assert_backend_down(&r, "GET while PostgreSQL is down");
	http_resp_free(&r);
	hb = heartbeat_is(503, "storage", false, &r);
	CHECK(hb, "heartbeat with PostgreSQL down: %ld %s",
	      r.status, body_snip(&r));
	http_resp_free(&r);

	CU_ASSERT_FATAL(harness_stack("pg-start") == 0);

	/* Back by themselves, without restarting pawl. */
	for (;;) {
		bucket_request("GET", a, &r);
		if (r.status == 200 || waited >= RECOVERY_MS)
			break;
		http_resp_free(&r);
		sleep_ms(200);
		waited += 200;
	}
	CHECK(r.status == 200, "bucket %s not readable %ld ms after pg-start: %ld %s", a,
	      waited, r.status, body_snip(&r));
	http_resp_free(&r);

	/* Once back, every worker answers: none keeps a dead connection. */
	for (int i = 0; i < 10; i++) {
		bucket_request("GET", a, &r);
		ok += r.status == 200;
		http_resp_free(&r);
	}
	CHECK(ok == 10, "%d of 10 reads succeeded after the recovery", ok);
	bucket_request("PUT", c, &r);
	assert_status(&r, 201);
	http_resp_free(&r);
	bucket_request("GET", b, &r);
	CHECK(r.status == 403 || r.status == 404, "bucket %s written during the outage: %ld", b,
	      r.status);
	http_resp_free(&r);
	hb = heartbeat_is(200, "storage", true, &r);
	CHECK(hb, "heartbeat after recovery: %ld %s",
	      r.status, body_snip(&r));
	http_resp_free(&r);
	CHECK(ru_reload_restore(), "restoring the config after the outage failed");
}

static void test_redis_outage(void)
{
	char d[64];
	struct http_resp r;
	long waited = 0;
	bool up = false, hb;

	unique_id(d, sizeof d, "rd");
	CU_ASSERT_FATAL(harness_stack("redis-stop") == 0);

	hb = heartbeat_is(503, "redis", false, &r);
	CHECK(hb, "heartbeat with Redis down: %ld %s",
	      r.status, body_snip(&r));
	CHECK(resp_json(&r, "storage") != NULL && json_object_get_boolean(resp_json(&r, "storage")),
	      "storage not true with only Redis down: %s", body_snip(&r));
	http_resp_free(&r);

	/* A listener's failure never fails the request whose change committed. */
	bucket_request("PUT", d, &r);
	assert_status(&r, 201);
	http_resp_free(&r);

	CU_ASSERT_FATAL(harness_stack("redis-start") == 0);
	while (!up && waited < RECOVERY_MS) {
		up = heartbeat_is(200, "redis", true, &r);
		http_resp_free(&r);
		if (!up) {
			sleep_ms(200);
			waited += 200;
		}
	}
	CHECK(up, "heartbeat not back to 200 %ld ms after redis-start", waited);
}

void test_storage_register(void)
{
	CU_pSuite s = CU_add_suite("storage", suite_init, suite_cleanup);

	CU_add_test(s, "PostgreSQL outage: 503/201, then recovery", test_postgresql_outage);
	CU_add_test(s, "Redis outage: heartbeat 503, writes succeed", test_redis_outage);
}
