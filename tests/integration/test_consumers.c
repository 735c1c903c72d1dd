/*
 * What consumers of the Redis list are promised (docs/consumers.md): the
 * listener's appends are idempotent -- an outbox row pushed again, or a
 * relay retry after a Redis stall (SIGSTOP), adds no second copy -- and the
 * example consumer (tests/consumer) handles every event exactly once, in
 * commit order per list, while it is killed and restarted and Redis stalls.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "events_util.h"

#define LISTENER "redis"            /* pawl-stack's listener of EVENTS_LIST */
#define HWM_KEY EVENTS_LIST ":hwm"  /* the marks the append script keeps */
#define STALL_MS 3000               /* well over the relay's 500 ms Redis timeout */
#define DRAIN_WRITES 300
#define MAX_EXPECT 512

static pid_t stopped_redis = -1;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void state_path(char *out, size_t size, const char *name)
{
	snprintf(out, size, "%s/%s", harness_state_dir(), name);
}

/* Redis must never stay stopped, whatever fails in between. */
static void redis_cont(void)
{
	if (stopped_redis > 0)
		kill(stopped_redis, SIGCONT);
	stopped_redis = -1;
}

static bool redis_stop(void)
{
	static bool hooked;
	pid_t pid = harness_pid_file("run/redis.pid");

	if (!hooked)
		hooked = atexit(redis_cont) == 0;
	if (pid <= 0 || kill(pid, SIGSTOP) != 0)
		return false;
	stopped_redis = pid;
	return true;
}

/* psql on the stack's PostgreSQL; the first output line goes to out (may be NULL). */
static bool psql(const char *sql, char *out, size_t size)
{
	char cmd[4096], line[512] = "";
	FILE *p;

	snprintf(cmd, sizeof cmd,
		 "psql -X -q -tA -h '%s/run/pg' -p %s -U postgres -d pawl -c \"%s\" 2>&1",
		 harness_state_dir(), getenv("PAWL_PG_PORT"), sql);
	if ((p = popen(cmd, "r")) == NULL)
		return false;
	if (fgets(line, sizeof line, p) == NULL)
		line[0] = '\0';
	while (fgetc(p) != EOF)
		;
	line[strcspn(line, "\n")] = '\0';
	if (out != NULL)
		snprintf(out, size, "%s", line);
	return pclose(p) == 0;
}

/* HGET of the marks hash (a fresh connection: the harness's may be mid-stall). */
static long long hwm_of(const char *list_key)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", atoi(getenv("PAWL_REDIS_PORT")), tv);
	redisReply *r = c && !c->err ? redisCommand(c, "HGET %s %s", HWM_KEY, list_key) : NULL;
	long long v = r && r->type == REDIS_REPLY_STRING ? atoll(r->str) : -1;

	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return v;
}

/* Outbox rows still waiting for list_key (-1 on error). */
static long outbox_rows(const char *list_key)
{
	char sql[512], out[64];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM outbox WHERE list_key = '%s'", list_key);
	return psql(sql, out, sizeof out) ? atol(out) : -1;
}

/* Events of e whose event_id is id. */
static size_t copies_of(const struct events *e, const char *id)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++)
		n += jstr(e->v[i], "event_id") && strcmp(jstr(e->v[i], "event_id"), id) == 0;
	return n;
}

/*
 * The same push twice appends once: outbox rows already delivered (the
 * mark's id, and an older one) are put back, as a relay retry or a lost
 * DELETE would; the relay takes them and Redis gets nothing. A row above the
 * mark, pushed in the same pass, still arrives (once).
 */
static void test_repush_appends_once(void)
{
	char b[64], p[256], key[256], sql[2048];
	struct events e;
	long long mark;
	long rows = -1;

	unique_id(b, sizeof b, "ra");
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records/r%d", b, i);
		write_ok("PUT", p, "{\"data\":{}}", 201);
	}
	CHECK(events_wait(EVENTS_LIST, in_bucket, b, 5, DELIVERY_MS, &e) == 5,
	      "%zu events of %s delivered, expected 5", e.n, b);
	events_free(&e);
	snprintf(key, sizeof key, "/buckets/%s/collections/c record", b);
	mark = hwm_of(key);
	CHECK(mark > 1, "no high-water mark for '%s' in %s after delivery", key, HWM_KEY);
	CU_ASSERT_FATAL(mark > 1);

	snprintf(sql, sizeof sql,
		 "INSERT INTO outbox (id, listener, list_key, payload) VALUES "
		 "(%lld, '" LISTENER "', '%s', '{\\\"bucket_id\\\":\\\"%s\\\",\\\"event_id\\\":\\\"again\\\"}'),"
		 "(%lld, '" LISTENER "', '%s', '{\\\"bucket_id\\\":\\\"%s\\\",\\\"event_id\\\":\\\"older\\\"}'),"
		 "(nextval('outbox_id_seq'), '" LISTENER "', '%s', "
		 "'{\\\"bucket_id\\\":\\\"%s\\\",\\\"event_id\\\":\\\"newer\\\"}'); NOTIFY pawl_outbox",
		 mark, key, b, mark - 1, key, b, key, b);
	CU_ASSERT_FATAL(psql(sql, NULL, 0));
	for (long waited = 0; waited < DELIVERY_MS && (rows = outbox_rows(key)) != 0; waited += 50)
		sleep_ms(50);
	CHECK(rows == 0, "%ld re-pushed outbox rows never taken", rows);
	events_wait(EVENTS_LIST, in_bucket, b, 6, DELIVERY_MS, &e);
	CHECK(copies_of(&e, "again") == 0, "an event re-pushed with the mark's id was appended again");
	CHECK(copies_of(&e, "older") == 0, "an event below the mark was appended");
	CHECK(copies_of(&e, "newer") == 1, "the event above the mark came %zu times, expected once",
	      copies_of(&e, "newer"));
	CHECK(e.n == 6 && duplicate_ids(&e) == 0, "%zu events of %s, %zu duplicates; expected 6, none",
	      e.n, b, duplicate_ids(&e));
	CHECK(hwm_of(key) > mark, "the mark did not move past the newer row");
	events_free(&e);
}

/* PUTs record i of collection c%(i%2) of b; its timestamp into ts. */
static void write_record(const char *b, int i, long long *ts)
{
	char p[256];

	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c%d/records/r%d", b, i % 2, i);
	*ts = write_ok("PUT", p, "{\"data\":{}}", 201);
}

/* Per collection, e's events carry ts[] in write order: each exactly once. */
static void check_commit_order(const struct events *e, const long long *ts, int n)
{
	for (int c = 0; c < 2; c++) {
		int want = c;

		for (size_t i = 0; i < e->n; i++) {
			const char *coll = jstr(e->v[i], "collection_id");

			if (coll == NULL || jstr(e->v[i], "record_id") == NULL || coll[1] - '0' != c)
				continue;
			if (want >= n || jint(e->v[i], "timestamp") != ts[want]) {
				CHECK(false, "collection c%d: event %zu is %s, expected the write %d", c, i,
				      json_object_to_json_string(e->v[i]), want);
				break; /* the rest would say the same */
			}
			want += 2;
		}
		CHECK(want >= n, "collection c%d: %d of its writes' events arrived", c, want / 2);
	}
}

/*
 * Redis stopped (SIGSTOP) for 3 s while writes go on: the relay's pushes
 * time out and are retried, and the ones sent before the stall run after
 * it. Every event arrives exactly once, in commit order per list. Before,
 * time to drain DRAIN_WRITES events with Redis up, for the record.
 */
static void test_stalled_redis(void)
{
	static long long ts[DRAIN_WRITES + 400];
	char b[64], p[256];
	struct events e;
	long t0, write_ms, drain_ms, stall_end;
	size_t fails, skipped;
	int n = 0;

	unique_id(b, sizeof b, "st");
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	for (int c = 0; c < 2; c++) {
		snprintf(p, sizeof p, "/v1/buckets/%s/collections/c%d", b, c);
		write_ok("PUT", p, "{\"data\":{}}", 201);
	}
	t0 = now_ms();
	for (; n < DRAIN_WRITES; n++)
		write_record(b, n, &ts[n]);
	write_ms = now_ms() - t0;
	t0 = now_ms();
	events_wait(EVENTS_LIST, in_bucket, b, (size_t)n + 3, DELIVERY_MS, &e);
	drain_ms = now_ms() - t0;
	CHECK(e.n == (size_t)n + 3, "%zu events before the stall, expected %d", e.n, n + 3);
	printf("\n    %d writes in %ld ms (%.2f ms each), all delivered %ld ms after the last answer\n",
	       n, write_ms, (double)write_ms / n, drain_ms);
	events_free(&e);

	fails = log_count("log/pawl.log", "relay: delivery failed");
	skipped = log_count("log/pawl.log", "were already there (a retried push)");
	CU_ASSERT_FATAL(redis_stop());
	stall_end = now_ms() + STALL_MS;
	while (now_ms() < stall_end && n < (int)(sizeof ts / sizeof *ts) - 20) {
		write_record(b, n, &ts[n]);
		n++;
		sleep_ms(10);
	}
	redis_cont();
	for (int i = 0; i < 20; i++, n++) /* and after: the backlog goes first, in order */
		write_record(b, n, &ts[n]);
	events_wait(EVENTS_LIST, in_bucket, b, (size_t)n + 3, 30000, &e);
	sleep_ms(1500); /* time for a late copy to land, had the relay pushed one */
	events_free(&e);
	events_fetch(EVENTS_LIST, in_bucket, b, &e);
	CHECK(log_count("log/pawl.log", "relay: delivery failed") > fails,
	      "the relay never failed a push during the stall: the test proved nothing");
	CHECK(duplicate_ids(&e) == 0, "%zu duplicate copies among %zu events after the stall",
	      duplicate_ids(&e), e.n);
	CHECK(e.n == (size_t)n + 3, "%zu events after the stall, expected %d", e.n, n + 3);
	check_commit_order(&e, ts, n);
	printf("    Redis stalled %d ms under %d writes: %zu events, %zu duplicates, "
	       "%zu re-pushes skipped by the script\n", STALL_MS, n - DRAIN_WRITES - 20, e.n,
	       duplicate_ids(&e),
	       log_count("log/pawl.log", "were already there (a retried push)") - skipped);
	events_free(&e);
}

void test_consumers_register(void)
{
	CU_pSuite s = CU_add_suite("consumers", NULL, NULL);

	CU_add_test(s, "the same push twice appends once", test_repush_appends_once);
	CU_add_test(s, "Redis stalled during delivery: no duplicates", test_stalled_redis);
}
