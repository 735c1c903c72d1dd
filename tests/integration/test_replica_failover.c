/*
 * The replica suite's failover. A pair of the test's own, so the stack's
 * PostgreSQL stays up for the other suites: A, a copy of the stack's
 * database that starts as a primary, synchronous_standby_names = '*' so an
 * answered commit is on the standby too; B, a hot standby of A. A pawl with
 * both in storage_url (target_session_attrs=read-write) writes; A is stopped
 * -m immediate; every write answers 503 with Retry-After, quickly, until B
 * is promoted; then writes succeed again. B is then made read-only under
 * the connected pawl (a primary being demoted): 503s, then writes again once
 * it is writable. Every write answered 2xx is on B with its event (in Redis,
 * pushed by the worker, or still in B's outbox); none answered 503 is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events_util.h"
#include "harness.h"
#include "replica_util.h"
#include "resource_util.h"

#define MAX_WRITES 400
#define EVENTS "failover.events"
#define OUTAGE_ANSWER_MS 8000  /* connect_timeout 2 s: a write answers well before this */
#define RECOVER_BOUND_MS 30000 /* from the promotion to the first 2xx write */

struct written {
	char id[24];
	long status;
};

static struct written w[MAX_WRITES];
static int n_w;

/* One PUT through the head; recorded; how long it took into *ms. */
static long put_one(const struct head *h, const char *auth, const char *bucket, long *ms,
		    char *ra, size_t ra_size)
{
	char body[4096];
	long start = harness_now_ms(), st;

	if (n_w >= MAX_WRITES)
		return 0;
	snprintf(w[n_w].id, sizeof w[n_w].id, "f%d", n_w);
	st = head_request(h, "PUT", ru_record(bucket, "c", w[n_w].id), auth,
			  ru_fmt("{\"data\": {\"n\": %d}}", n_w), body, sizeof body, ra, ra_size);
	*ms = harness_now_ms() - start;
	w[n_w++].status = st;
	return st;
}

/* Whether one of e's events is about record id (its payload names it). */
static bool has_event(const struct events *e, const char *id)
{
	char quoted[64];

	snprintf(quoted, sizeof quoted, "\"%s\"", id);
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i] != NULL && strstr(json_object_to_json_string(e->v[i]), quoted) != NULL)
			return true;
	return false;
}

/*
 * Every write answered 2xx is on c, and has its event: in Redis already
 * (the worker delivers after its commit) or still in c's outbox. Returns
 * how many were checked.
 */
static int check_nothing_lost(const struct cluster *c, const char *bucket)
{
	char sql[1024], out[64];
	struct events ev = { 0 };
	int checked = 0;

	/* The worker pushes after its answer: the last events may be a moment behind. */
	for (long start = harness_now_ms(); harness_now_ms() - start < DELIVERY_MS; sleep_ms(200)) {
		bool all = true;

		events_free(&ev);
		CHECK(events_fetch(EVENTS, in_bucket, bucket, &ev), "cannot read %s", EVENTS);
		for (int i = 0; i < n_w && all; i++)
			all = w[i].status / 100 != 2 || has_event(&ev, w[i].id);
		if (all)
			break;
	}
	CHECK(duplicate_ids(&ev) == 0, "%zu events delivered twice", duplicate_ids(&ev));
	for (int i = 0; i < n_w; i++) {
		if (w[i].status == 503) {
			/* Refused with no primary to send it to: never applied. */
			snprintf(sql, sizeof sql, "SELECT count(*) FROM objects WHERE parent_id = "
				 "'/buckets/%.64s/collections/c' AND id = '%.20s'", bucket, w[i].id);
			CHECK(cluster_psql(c, sql, out, sizeof out) && strcmp(out, "0") == 0,
			      "write %s answered 503 was applied: %s", w[i].id, out);
		}
		if (w[i].status < 200 || w[i].status > 299)
			continue;
		checked++;
		if (snprintf(sql, sizeof sql, "SELECT (SELECT count(*) FROM objects WHERE "
			 "parent_id = '/buckets/%s/collections/c' AND resource_name = 'record' AND "
			 "id = '%s') || ',' || (SELECT count(*) FROM outbox WHERE "
			 "position('\\\"%s\\\"' in payload) > 0 AND position('%s' in payload) > 0)",
			 bucket, w[i].id, w[i].id, bucket) >= (int)sizeof sql)
			CU_FAIL("bucket id too long");
		CHECK(cluster_psql(c, sql, out, sizeof out) && strncmp(out, "1,", 2) == 0,
		      "write %s answered %ld is not on the new primary: %s", w[i].id, w[i].status,
		      out);
		CHECK(atoi(out + 2) >= 1 || has_event(&ev, w[i].id),
		      "write %s answered %ld has neither its event nor its outbox row", w[i].id,
		      w[i].status);
	}
	events_free(&ev);
	return checked;
}

/* pawl_db_in_recovery on h's metrics when the lag reads 0 beside it; -1 otherwise. */
static int in_recovery_gauge(const struct head *h)
{
	static char body[65536];
	const char *p;

	if (head_request(h, "GET", "/v1/__metrics__", NULL, NULL, body, sizeof body, NULL, 0) != 200 ||
	    strstr(body, "\npawl_db_replication_lag_seconds 0.000000\n") == NULL ||
	    (p = strstr(body, "\npawl_db_in_recovery ")) == NULL)
		return -1;
	return atoi(p + strlen("\npawl_db_in_recovery "));
}

/* Sets default_transaction_read_only on c, server-wide (ALTER SYSTEM and a reload). */
static bool set_read_only(const struct cluster *c, bool on)
{
	return cluster_psql(c, on ? "ALTER SYSTEM SET default_transaction_read_only = on" :
			    "ALTER SYSTEM RESET default_transaction_read_only", NULL, 0) &&
	    cluster_psql(c, "SELECT pg_reload_conf()", NULL, 0);
}

/*
 * The primary turns read-only under a connected pawl (as one being demoted
 * does): the write on the open session fails with 25006 and answers 503,
 * not 500, the session is dropped, the next ones find no read-write server
 * (503 again); once it is writable, writes succeed with no restart.
 */
static void primary_turns_read_only(const struct cluster *c, const struct head *h,
				    const char *auth, const char *bucket)
{
	char ra[32];
	long ms, st;
	int ok = 0;

	CU_ASSERT_FATAL(set_read_only(c, true));
	sleep_ms(300); /* sessions apply a reload between statements */
	for (int i = 0; i < 3; i++) {
		st = put_one(h, auth, bucket, &ms, ra, sizeof ra);
		CHECK(st == 503 && ra[0] != '\0', "write %d on a read-only primary: %ld", i, st);
	}
	CHECK(head_log_has(h, "PostgreSQL refused a write: the session is read-only"),
	      "no log line for the read-only session");
	CU_ASSERT_FATAL(set_read_only(c, false));
	for (long start = harness_now_ms(); ok == 0 && harness_now_ms() - start < 5000;
	     sleep_ms(100))
		ok = put_one(h, auth, bucket, &ms, NULL, 0) / 100 == 2;
	CHECK(ok == 1, "no write succeeded once the primary was writable again");
}

static bool write_pair(struct cluster *a, struct cluster *b)
{
	struct cluster stack_pg;

	return cluster_of_stack(&stack_pg) &&
	    cluster_clone(a, &stack_pg, "failover-a", false, "synchronous_standby_names = '*'\n") &&
	    cluster_clone(b, a, "failover-b", true, NULL);
}

void test_replica_failover(void);
void test_replica_failover(void)
{
	struct cluster a = { 0 }, b = { 0 };
	char url[900], redis[512], extra[700], auth[512], bucket[RU_ID_LEN], ra[32];
	long ms, st, worst = 0, promoted_at, recovered = -1;
	int outage_503 = 0, ok_before = 0, ok_after = 0, checked;
	struct head h;

	basic_auth(auth, sizeof auth, "replica-user", "replica-pw");
	n_w = 0;
	if (!write_pair(&a, &b)) {
		CU_FAIL("could not build the primary/standby pair (see the state folder)");
		goto out;
	}
	snprintf(url, sizeof url, "host=%s,%s port=%d,%d user=postgres dbname=pawl "
		 "target_session_attrs=read-write", a.sock, b.sock, a.port, b.port);
	harness_ini_value("event_listeners.redis.url", redis, sizeof redis);
	snprintf(extra, sizeof extra, "event_listeners = redis\nevent_listeners.redis.use = redis\n"
		 "event_listeners.redis.url = %s\nevent_listeners.redis.listname = " EVENTS "\n",
		 redis);
	if (!head_start(&h, "rw", url, extra)) {
		CU_FAIL("the multi-host pawl did not start");
		goto out;
	}
	unique_id(bucket, sizeof bucket, "fb");
	st = head_request(&h, "PUT", ru_bucket(bucket), auth, "{\"data\": {}}", NULL, 0, NULL, 0);
	CHECK(st == 201, "bucket on A: %ld", st);
	st = head_request(&h, "PUT", ru_collection(bucket, "c"), auth, "{\"data\": {}}", NULL, 0,
			  NULL, 0);
	CHECK(st == 201, "collection on A: %ld", st);
	for (int i = 0; i < 10; i++)
		ok_before += put_one(&h, auth, bucket, &ms, NULL, 0) / 100 == 2;
	CHECK(ok_before == 10, "writes before the failover: %d of 10", ok_before);
	CHECK(in_recovery_gauge(&h) == 0, "the primary's gauges: %d", in_recovery_gauge(&h));
	/* The primary is lost: no clean shutdown, no last WAL sent. */
	CU_ASSERT_FATAL(cluster_stop(&a, "immediate"));
	for (int i = 0; i < 5; i++) {
		st = put_one(&h, auth, bucket, &ms, ra, sizeof ra);
		worst = ms > worst ? ms : worst;
		outage_503 += st == 503 && ra[0] != '\0';
		CHECK(st == 503 && ra[0] != '\0' && ms < OUTAGE_ANSWER_MS,
		      "a write with no primary: %ld, Retry-After [%s], %ld ms", st, ra, ms);
	}
	CU_ASSERT_FATAL(cluster_promote(&b));
	promoted_at = harness_now_ms();
	while (harness_now_ms() - promoted_at < RECOVER_BOUND_MS) {
		st = put_one(&h, auth, bucket, &ms, ra, sizeof ra);
		CHECK(st == 200 || st == 201 || (st == 503 && ra[0] != '\0'),
		      "a write after the promotion: %ld", st);
		if (st / 100 == 2) {
			recovered = harness_now_ms() - promoted_at;
			break;
		}
		sleep_ms(100);
	}
	CHECK(recovered >= 0, "no write succeeded within %d ms of the promotion", RECOVER_BOUND_MS);
	for (int i = 0; i < 10; i++)
		ok_after += put_one(&h, auth, bucket, &ms, NULL, 0) / 100 == 2;
	CHECK(ok_after == 10, "writes after the failover: %d of 10", ok_after);
	CHECK(in_recovery_gauge(&h) == 0, "the promoted standby's gauges: %d", in_recovery_gauge(&h));
	primary_turns_read_only(&b, &h, auth, bucket);
	checked = check_nothing_lost(&b, bucket);
	/* Before, after, the first once promoted, the first once writable again. */
	CHECK(checked == ok_before + ok_after + 2, "answered writes checked: %d", checked);
	printf("\n    failover: %d writes before, %d answered 503 + Retry-After during the outage "
	       "(slowest %ld ms), first 2xx %ld ms after pg_ctl promote returned, %d answered "
	       "writes all on the new primary, each with its event (Redis or outbox)\n", ok_before, outage_503,
	       worst, recovered, checked);
	CHECK(head_alive(&h), "the multi-host pawl died");
	head_stop(&h);
	(void)redis_cmd("DEL %s", EVENTS);
out:
	cluster_remove(&b);
	cluster_remove(&a);
}
