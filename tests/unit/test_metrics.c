/*
 * app/core/metrics.c, app/core/metrics_render.c and app/metrics_shm.c: the
 * block is one block whoever maps it (a file mapped twice, a forked child,
 * concurrent writers lose no increment), values land in the right labels and
 * buckets, listener slots are claimed by name, and the Prometheus text of a
 * known snapshot is exactly what the format wants. Then __metrics__ through
 * the in-memory pipeline: who may read it, and nothing when switched off.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "app.h"
#include "core/json.h"
#include "core/metrics.h"
#include "core/metrics_render.h"
#include "http/pipeline.h"
#include "metrics_shm.h"
#include "txn/txn.h"
#include "unit.h"

#define ITEM PAWL_ROUTE_ITEM
#define GET 0 /* method label index */

static struct pawl_metrics_snapshot snap;

/* A fresh anonymous block, bound (shared: its children see it). */
static struct pawl_metrics_segment *fresh(void)
{
	struct pawl_error err;
	struct pawl_metrics_segment *seg = pawl_metrics_shm_anon(&err);

	CU_ASSERT_PTR_NOT_NULL_FATAL(seg);
	pawl_metrics_bind(seg, true);
	return seg;
}

static void done(struct pawl_metrics_segment *seg)
{
	pawl_metrics_bind(NULL, false);
	pawl_metrics_shm_unmap(seg);
}

static void test_unbound_records_nothing(void)
{
	pawl_metrics_bind(NULL, false);
	pawl_metrics_request(ITEM, PAWL_METHOD_GET, 200, 1000);
	pawl_metrics_txn(true);
	CU_ASSERT_PTR_NULL(pawl_metrics_bound());
	CU_ASSERT_EQUAL(pawl_metrics_listener_slot("redis"), -1);
	pawl_metrics_staged(-1, 1); /* no slot: nothing, no crash */
}

static void test_labels_and_buckets(void)
{
	struct pawl_metrics_segment *seg = fresh();

	pawl_metrics_request(ITEM, PAWL_METHOD_GET, 200, 100000);      /* exactly 0.0001: le="0.0001" */
	pawl_metrics_request(ITEM, PAWL_METHOD_GET, 200, 100001);      /* just above: le="0.00025" */
	pawl_metrics_request(ITEM, PAWL_METHOD_GET, 418, 60000000001LL); /* past 60 s: +Inf */
	pawl_metrics_request(ITEM, PAWL_METHOD_GET, 404, -5);          /* a clock step: bucket 0 */
	pawl_metrics_request(99, 0, 200, 1);                           /* unknown kind, method */
	pawl_metrics_request(PAWL_ROUTE_LIST, PAWL_METHOD_DELETE, 503, 1);
	pawl_metrics_read(seg, &snap);
	CU_ASSERT_EQUAL(snap.requests[ITEM][GET][0], 2);                      /* 200 */
	CU_ASSERT_EQUAL(snap.requests[ITEM][GET][PAWL_METRICS_CODES - 1], 1); /* other */
	CU_ASSERT_EQUAL(snap.requests[ITEM][GET][11], 1);                     /* 404 */
	CU_ASSERT_EQUAL(pawl_metrics_code_at(11), 404);
	CU_ASSERT_EQUAL(snap.requests[PAWL_METRICS_ROUTE_NONE][PAWL_METRICS_METHODS - 1][0], 1);
	CU_ASSERT_EQUAL(snap.requests[PAWL_ROUTE_LIST][5][24], 1);
	CU_ASSERT_STRING_EQUAL(pawl_metrics_method_name(5), "DELETE");
	CU_ASSERT_EQUAL(pawl_metrics_code_at(24), 503);
	CU_ASSERT_EQUAL(snap.latency[ITEM][GET].bucket[0], 2);
	CU_ASSERT_EQUAL(snap.latency[ITEM][GET].bucket[1], 1);
	CU_ASSERT_EQUAL(snap.latency[ITEM][GET].bucket[PAWL_METRICS_BUCKETS], 1);
	CU_ASSERT_EQUAL(snap.latency[ITEM][GET].sum_ns, 100000 + 100001 + 60000000001ULL);
	CU_ASSERT_STRING_EQUAL(pawl_metrics_route_name(ITEM), "item");
	CU_ASSERT_STRING_EQUAL(pawl_metrics_route_name(PAWL_ROUTE_METRICS), "metrics");
	CU_ASSERT_STRING_EQUAL(pawl_metrics_route_name(PAWL_METRICS_ROUTE_NONE), "none");
	pawl_metrics_db_round_trip(3, 2000000);
	pawl_metrics_db_error(PAWL_ERR_TIMEOUT);
	pawl_metrics_db_error(PAWL_ERR_BACKEND);
	pawl_metrics_db_error(PAWL_ERR_CONFLICT);
	pawl_metrics_db_error(PAWL_ERR_INVALID);
	pawl_metrics_db_error(PAWL_ERR_NOMEM);
	pawl_metrics_db_error(PAWL_OK);
	pawl_metrics_txn(true);
	pawl_metrics_txn(false);
	pawl_metrics_restart(false);
	pawl_metrics_restart(true);
	pawl_metrics_read(seg, &snap);
	CU_ASSERT_EQUAL(snap.db_statements, 3);
	CU_ASSERT_EQUAL(snap.db_time.bucket[4], 1); /* 2 ms: le="0.0025" */
	for (size_t i = 0; i < PAWL_METRICS_DB_ERRORS; i++)
		CU_ASSERT_EQUAL(snap.db_errors[i], 1);
	CU_ASSERT(snap.committed == 1 && snap.rolled_back == 1);
	CU_ASSERT(snap.worker_restarts == 1 && snap.relay_restarts == 1);
	CU_ASSERT_TRUE(snap.shared);
	done(seg);
}

static void test_listener_slots(void)
{
	struct pawl_metrics_segment *seg = fresh();
	char name[PAWL_METRICS_NAME_MAX + 8];
	int redis = pawl_metrics_listener_slot("redis"), i;

	CU_ASSERT(redis >= 0 && redis < PAWL_METRICS_LISTENERS);
	CU_ASSERT_EQUAL(pawl_metrics_listener_slot("redis"), redis);
	pawl_metrics_staged(redis, 5);
	pawl_metrics_delivered(redis, 4);
	pawl_metrics_redis_error(redis);
	pawl_metrics_delivery_latency(redis, 3000000);
	/* Too long to keep whole: the overflow slot, never a truncated name. */
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	CU_ASSERT_EQUAL(pawl_metrics_listener_slot(name), PAWL_METRICS_LISTENERS);
	for (i = 0; i < PAWL_METRICS_LISTENERS - 1; i++) {
		snprintf(name, sizeof(name), "l%02d", i);
		CU_ASSERT(pawl_metrics_listener_slot(name) < PAWL_METRICS_LISTENERS);
	}
	/* Every slot taken: a new name shares the overflow; old names keep theirs. */
	CU_ASSERT_EQUAL(pawl_metrics_listener_slot("one-too-many"), PAWL_METRICS_LISTENERS);
	CU_ASSERT_EQUAL(pawl_metrics_listener_slot("redis"), redis);
	pawl_metrics_staged(PAWL_METRICS_LISTENERS, 2);
	pawl_metrics_read(seg, &snap);
	CU_ASSERT_EQUAL(snap.n_listeners, PAWL_METRICS_SLOTS);
	CU_ASSERT_STRING_EQUAL(snap.listeners[0].name, "l00");        /* sorted by name */
	CU_ASSERT_STRING_EQUAL(snap.listeners[PAWL_METRICS_LISTENERS - 1].name, "redis");
	CU_ASSERT_EQUAL(snap.listeners[PAWL_METRICS_LISTENERS - 1].staged, 5);
	CU_ASSERT_EQUAL(snap.listeners[PAWL_METRICS_LISTENERS - 1].delivered, 4);
	CU_ASSERT_EQUAL(snap.listeners[PAWL_METRICS_LISTENERS - 1].redis_errors, 1);
	CU_ASSERT_EQUAL(snap.listeners[PAWL_METRICS_LISTENERS - 1].delivery.bucket[5], 1); /* 3 ms: le="0.005" */
	CU_ASSERT_STRING_EQUAL(snap.listeners[PAWL_METRICS_LISTENERS].name, "");
	CU_ASSERT_EQUAL(snap.listeners[PAWL_METRICS_LISTENERS].staged, 2);
	done(seg);
}

/* Children forked after the block was mapped write into the parent's counters. */
static void test_forked_children_share(void)
{
	struct pawl_metrics_segment *seg = fresh();
	const int kids = 4, each = 20000;
	pid_t pids[4];
	int i, status, ok = 0;

	for (i = 0; i < kids; i++) {
		if ((pids[i] = fork()) == 0) {
			int slot = pawl_metrics_listener_slot("shared");

			for (int k = 0; k < each; k++) {
				pawl_metrics_request(ITEM, PAWL_METHOD_GET, 200, k);
				pawl_metrics_staged(slot, 1);
			}
			_exit(0);
		}
		CU_ASSERT_FATAL(pids[i] > 0);
	}
	for (i = 0; i < kids; i++)
		ok += waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0;
	CU_ASSERT_EQUAL(ok, kids);
	pawl_metrics_read(seg, &snap);
	/* Concurrent writers lose nothing, and name one slot once. */
	CU_ASSERT_EQUAL(snap.requests[ITEM][GET][0], (uint64_t)kids * each);
	CU_ASSERT_EQUAL(snap.n_listeners, 2); /* "shared" and the overflow slot */
	CU_ASSERT_STRING_EQUAL(snap.listeners[0].name, "shared");
	CU_ASSERT_EQUAL(snap.listeners[0].staged, (uint64_t)kids * each);
	done(seg);
}

/* The file a spawn-fcgi setup names: two mappings, one set of counters. */
static void test_file_mapped_twice(void)
{
	char dir[] = "/tmp/pawl-metrics-XXXXXX", path[256], link_path[256];
	struct pawl_metrics_segment *a, *b, *c;
	struct pawl_error err;
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/metrics", dir);
	a = pawl_metrics_shm_file(path, &err);
	b = pawl_metrics_shm_file(path, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_EQUAL(a, b);
	pawl_metrics_bind(a, true);
	pawl_metrics_txn(true);
	pawl_metrics_staged(pawl_metrics_listener_slot("q"), 7);
	pawl_metrics_read(b, &snap);
	CU_ASSERT_EQUAL(snap.committed, 1);
	CU_ASSERT_STRING_EQUAL(snap.listeners[0].name, "q");
	CU_ASSERT_EQUAL(snap.listeners[0].staged, 7);
	pawl_metrics_bind(NULL, false);
	pawl_metrics_shm_unmap(a);
	pawl_metrics_shm_unmap(b);
	/* Mapped again later (a restart): the counts are still there. */
	c = pawl_metrics_shm_file(path, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	pawl_metrics_read(c, &snap);
	CU_ASSERT_EQUAL(snap.committed, 1);
	pawl_metrics_shm_unmap(c);
	/* Another layout's file is refused, not reset; a link is refused. */
	CU_ASSERT_EQUAL(truncate(path, 100), 0);
	CU_ASSERT_PTR_NULL(pawl_metrics_shm_file(path, &err));
	CU_ASSERT_EQUAL(err.code, PAWL_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "holds 100 bytes"));
	CU_ASSERT_EQUAL(truncate(path, (off_t)pawl_metrics_segment_size()), 0);
	fd = open(path, O_WRONLY);
	CU_ASSERT_EQUAL(pwrite(fd, "garbage!", 8, 0), 8);
	close(fd);
	CU_ASSERT_PTR_NULL(pawl_metrics_shm_file(path, &err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "not a pawl metrics block"));
	snprintf(link_path, sizeof(link_path), "%s/link", dir);
	CU_ASSERT_EQUAL(symlink(path, link_path), 0);
	CU_ASSERT_PTR_NULL(pawl_metrics_shm_file(link_path, &err));
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "symbolic link"));
	unlink(link_path);
	unlink(path);
	rmdir(dir);
}

static const char expected_text[] =
    "# HELP pawl_requests_total Requests answered, by route kind, method and status code.\n"
    "# TYPE pawl_requests_total counter\n"
    "pawl_requests_total{route=\"item\",method=\"GET\",code=\"200\"} 3\n"
    "pawl_requests_total{route=\"none\",method=\"other\",code=\"other\"} 1\n"
    "# HELP pawl_request_duration_seconds Time from a request's arrival to its answer, ready "
    "to send, by route kind and method.\n"
    "# TYPE pawl_request_duration_seconds histogram\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"0.0001\"} 1\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"0.00025\"} 1\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"0.0005\"} 1\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"0.001\"} 1\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"0.0025\"} 1\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"0.005\"} 1\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"0.01\"} 1\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"0.025\"} 1\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"0.05\"} 1\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"0.1\"} 1\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"0.25\"} 1\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"0.5\"} 1\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"1\"} 2\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"2.5\"} 2\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"5\"} 2\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"10\"} 2\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"30\"} 2\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"60\"} 2\n"
    "pawl_request_duration_seconds_bucket{route=\"item\",method=\"GET\",le=\"+Inf\"} 3\n"
    "pawl_request_duration_seconds_sum{route=\"item\",method=\"GET\"} 61.500000001\n"
    "pawl_request_duration_seconds_count{route=\"item\",method=\"GET\"} 3\n"
    "# HELP pawl_db_statements_total SQL statements sent to PostgreSQL, deferred ones included.\n"
    "# TYPE pawl_db_statements_total counter\n"
    "pawl_db_statements_total 7\n"
    "# HELP pawl_db_round_trip_duration_seconds Time of each PostgreSQL round trip: a "
    "statement and the deferred ones it carries.\n"
    "# TYPE pawl_db_round_trip_duration_seconds histogram\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"0.0001\"} 0\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"0.00025\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"0.0005\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"0.001\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"0.0025\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"0.005\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"0.01\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"0.025\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"0.05\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"0.1\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"0.25\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"0.5\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"1\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"2.5\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"5\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"10\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"30\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"60\"} 2\n"
    "pawl_db_round_trip_duration_seconds_bucket{le=\"+Inf\"} 2\n"
    "pawl_db_round_trip_duration_seconds_sum 0.000300000\n"
    "pawl_db_round_trip_duration_seconds_count 2\n"
    "# HELP pawl_db_errors_total Failed database calls (connections included), by kind.\n"
    "# TYPE pawl_db_errors_total counter\n"
    "pawl_db_errors_total{kind=\"timeout\"} 1\n"
    "pawl_db_errors_total{kind=\"unavailable\"} 0\n"
    "pawl_db_errors_total{kind=\"conflict\"} 0\n"
    "pawl_db_errors_total{kind=\"refused\"} 0\n"
    "pawl_db_errors_total{kind=\"internal\"} 0\n"
    "# HELP pawl_transactions_total Requests' units of work (a write, a batch) committed or "
    "rolled back.\n"
    "# TYPE pawl_transactions_total counter\n"
    "pawl_transactions_total{outcome=\"commit\"} 2\n"
    "pawl_transactions_total{outcome=\"rollback\"} 1\n"
    "# HELP pawl_events_staged_total Committed events that passed a listener's filters.\n"
    "# TYPE pawl_events_staged_total counter\n"
    "pawl_events_staged_total{listener=\"a\\\"b\\\\c\\nd\"} 1\n"
    "pawl_events_staged_total{listener=\"redis\"} 2\n"
    "# HELP pawl_events_delivered_total Events a listener took: accepted by Redis "
    "(acknowledged in the outbox), or notified.\n"
    "# TYPE pawl_events_delivered_total counter\n"
    "pawl_events_delivered_total{listener=\"a\\\"b\\\\c\\nd\"} 0\n"
    "pawl_events_delivered_total{listener=\"redis\"} 2\n"
    "# HELP pawl_event_delivery_latency_seconds Time from an event's outbox row, written "
    "with its COMMIT, to Redis accepting it.\n"
    "# TYPE pawl_event_delivery_latency_seconds histogram\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"0.0001\"} 0\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"0.00025\"} 0\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"0.0005\"} 0\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"0.001\"} 0\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"0.0025\"} 0\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"0.005\"} 0\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"0.01\"} 0\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"0.025\"} 0\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"0.05\"} 0\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"0.1\"} 2\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"0.25\"} 2\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"0.5\"} 2\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"1\"} 2\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"2.5\"} 2\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"5\"} 2\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"10\"} 2\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"30\"} 2\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"60\"} 2\n"
    "pawl_event_delivery_latency_seconds_bucket{listener=\"redis\",le=\"+Inf\"} 2\n"
    "pawl_event_delivery_latency_seconds_sum{listener=\"redis\"} 0.150000000\n"
    "pawl_event_delivery_latency_seconds_count{listener=\"redis\"} 2\n"
    "# HELP pawl_redis_errors_total Failed pushes to a Redis listener (the events stay in "
    "the outbox).\n"
    "# TYPE pawl_redis_errors_total counter\n"
    "pawl_redis_errors_total{listener=\"a\\\"b\\\\c\\nd\"} 0\n"
    "pawl_redis_errors_total{listener=\"redis\"} 1\n"
    "# HELP pawl_redis_master_switches_total Times a Sentinel listener's pushes moved to "
    "another master (a failover).\n"
    "# TYPE pawl_redis_master_switches_total counter\n"
    "pawl_redis_master_switches_total{listener=\"a\\\"b\\\\c\\nd\"} 0\n"
    "pawl_redis_master_switches_total{listener=\"redis\"} 0\n"
    "# HELP pawl_outbox_pending_events Outbox rows waiting for delivery, at scrape time.\n"
    "# TYPE pawl_outbox_pending_events gauge\n"
    "pawl_outbox_pending_events 4\n"
    "# HELP pawl_outbox_oldest_event_age_seconds Age of the oldest outbox row at scrape time "
    "(0 when empty).\n"
    "# TYPE pawl_outbox_oldest_event_age_seconds gauge\n"
    "pawl_outbox_oldest_event_age_seconds 2.500000\n"
    "# HELP pawl_worker_restarts_total Children the supervisor respawned after they died.\n"
    "# TYPE pawl_worker_restarts_total counter\n"
    "pawl_worker_restarts_total{process=\"worker\"} 1\n"
    "pawl_worker_restarts_total{process=\"relay\"} 0\n"
    "# HELP pawl_metrics_shared 1 when these counters are shared by every process of the "
    "host, 0 when one process's.\n"
    "# TYPE pawl_metrics_shared gauge\n"
    "pawl_metrics_shared 1\n";

/* The first line where a and b differ, for the failure message. */
static void first_difference(const char *a, const char *b)
{
	size_t line = 1, i;

	for (i = 0; a[i] != '\0' && a[i] == b[i]; i++)
		line += a[i] == '\n';
	if (a[i] != b[i])
		fprintf(stderr, "\nrender differs at line %zu:\n got: %.120s\nwant: %.120s\n", line,
		    a + i, b + i);
}

static void test_render_exact(void)
{
	struct pawl_arena *arena = pawl_arena_new(4096);
	struct pawl_buf b;

	memset(&snap, 0, sizeof(snap));
	snap.requests[ITEM][GET][0] = 3;
	snap.requests[PAWL_METRICS_ROUTE_NONE][PAWL_METRICS_METHODS - 1][PAWL_METRICS_CODES - 1] = 1;
	snap.latency[ITEM][GET].bucket[0] = 1;
	snap.latency[ITEM][GET].bucket[12] = 1;                   /* le="1" */
	snap.latency[ITEM][GET].bucket[PAWL_METRICS_BUCKETS] = 1; /* +Inf */
	snap.latency[ITEM][GET].sum_ns = 61500000001ULL;
	snap.db_statements = 7;
	snap.db_time.bucket[1] = 2;
	snap.db_time.sum_ns = 300000;
	snap.db_errors[PAWL_METRICS_DB_TIMEOUT] = 1;
	snap.committed = 2;
	snap.rolled_back = 1;
	/* An alias no config accepts, to show the escaping a label value gets. */
	snprintf(snap.listeners[0].name, PAWL_METRICS_NAME_MAX, "a\"b\\c\nd");
	snap.listeners[0].staged = 1;
	snprintf(snap.listeners[1].name, PAWL_METRICS_NAME_MAX, "redis");
	snap.listeners[1].staged = 2;
	snap.listeners[1].delivered = 2;
	snap.listeners[1].redis_errors = 1;
	snap.listeners[1].delivery.bucket[9] = 2;              /* le="0.1" */
	snap.listeners[1].delivery.sum_ns = 150000000;
	snap.n_listeners = 3; /* the third, the overflow slot, counted nothing: not shown */
	snap.outbox_known = true;
	snap.outbox_pending = 4;
	snap.outbox_oldest_seconds = 2.5;
	snap.worker_restarts = 1;
	snap.shared = true;
	CU_ASSERT_PTR_NOT_NULL_FATAL(arena);
	pawl_buf_init(&b, arena);
	pawl_metrics_render(&b, &snap);
	CU_ASSERT_FALSE(b.failed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b.data);
	if (strcmp(b.data, expected_text) != 0)
		first_difference(b.data, expected_text);
	CU_ASSERT_STRING_EQUAL(b.data, expected_text);
	/* The overflow slot once it counted; no outbox gauges when they were not read. */
	snap.listeners[2].staged = 9;
	snap.outbox_known = false;
	pawl_buf_init(&b, arena);
	pawl_metrics_render(&b, &snap);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "pawl_events_staged_total{listener=\"(other)\"} 9\n"));
	CU_ASSERT_PTR_NULL(strstr(b.data, "pawl_outbox_pending_events"));
	CU_ASSERT_PTR_NULL(strstr(b.data, "pawl_db_replication_lag_seconds"));
	/* A standby's lag once read; a primary's is 0 whatever was read. */
	snap.replication_known = true;
	snap.in_recovery = true;
	snap.replication_lag_seconds = 1.25;
	pawl_buf_init(&b, arena);
	pawl_metrics_render(&b, &snap);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\npawl_db_in_recovery 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "# TYPE pawl_db_replication_lag_seconds gauge\n"
	    "pawl_db_replication_lag_seconds 1.250000\n"));
	snap.in_recovery = false;
	snap.replication_lag_seconds = -3;
	pawl_buf_init(&b, arena);
	pawl_metrics_render(&b, &snap);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\npawl_db_in_recovery 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\npawl_db_replication_lag_seconds 0.000000\n"));
	pawl_arena_free(arena);
}

/* --- GET /v1/__metrics__ through the in-memory pipeline ------------------------------- */

struct exchange {
	struct pawl_request req;
	struct pawl_response resp;
	struct pawl_txn txn;
	json_object *json;
};

/* method uri as REMOTE_USER=... (extra, or NULL), with a JSON body (or NULL). */
static void run_body(struct pawl_app *app, struct pawl_arena *arena, struct exchange *x,
    const char *method, const char *uri, const char *extra, const char *body)
{
	char m[64], u[256];
	char **params = pawl_arena_calloc(arena, 5, sizeof(char *));
	struct pawl_error err;
	size_t n = 0;

	snprintf(m, sizeof(m), "REQUEST_METHOD=%s", method);
	snprintf(u, sizeof(u), "REQUEST_URI=%s", uri);
	params[n++] = pawl_arena_strdup(arena, m);
	params[n++] = pawl_arena_strdup(arena, u);
	if (extra != NULL)
		params[n++] = pawl_arena_strdup(arena, extra);
	if (body != NULL)
		params[n++] = "CONTENT_TYPE=application/json";
	pawl_response_init(&x->resp, arena);
	CU_ASSERT_EQUAL_FATAL(pawl_request_init(&x->req, arena, params, &err), PAWL_OK);
	x->req.body = body;
	x->req.body_len = body != NULL ? strlen(body) : 0;
	pawl_txn_init(&x->txn, arena, &(struct pawl_txn_env){ .pg = app->pg,
	    .listeners = app->listeners, .subscribers = app->subscribers, .relay_wake_fd = -1 });
	pawl_pipeline_handle(app, &x->req, &x->resp, &x->txn);
	x->json = x->resp.body.len ? json_tokener_parse(x->resp.body.data) : NULL;
	if (x->json != NULL)
		pawl_json_own(arena, x->json);
}

static void run(struct pawl_app *app, struct pawl_arena *arena, struct exchange *x,
    const char *method, const char *uri, const char *extra)
{
	run_body(app, arena, x, method, uri, extra, NULL);
}

static void expect_error(struct exchange *x, int status, int errno_)
{
	CU_ASSERT_EQUAL(x->resp.status, status);
	CU_ASSERT_EQUAL(unit_int_at(x->json, "errno"), errno_);
	CU_ASSERT_STRING_EQUAL(pawl_response_get_header(&x->resp, "Content-Type"), "application/json");
	CU_ASSERT_PTR_NULL(strstr(x->resp.body.data ? x->resp.body.data : "", "pawl_"));
}

static bool has_capability(struct exchange *x)
{
	json_object *caps;

	return json_object_object_get_ex(x->json, "capabilities", &caps) &&
	    json_object_object_get_ex(caps, "prometheus", NULL);
}

static void test_endpoint_who_may_read(void)
{
	struct pawl_metrics_segment *seg = fresh();
	struct pawl_arena *arena = pawl_arena_new(8192);
	struct pawl_config *cfg;
	struct pawl_app *app = unit_offline_app("multiauth.policies = basicauth remote_user\n"
	    "metrics_read_principals = remote_user:prom\n", &cfg);
	struct exchange x;

	CU_ASSERT_PTR_NOT_NULL_FATAL(app);
	pawl_metrics_request(ITEM, PAWL_METHOD_GET, 200, 1000);
	run(app, arena, &x, "GET", "/v1/__metrics__", NULL);
	expect_error(&x, 401, 104);
	CU_ASSERT_PTR_NOT_NULL(pawl_response_get_header(&x.resp, "WWW-Authenticate"));
	run(app, arena, &x, "GET", "/v1/__metrics__", "REMOTE_USER=eve");
	expect_error(&x, 403, 121);
	run(app, arena, &x, "GET", "/v1/__metrics__", "REMOTE_USER=prom");
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_STRING_EQUAL(pawl_response_get_header(&x.resp, "Content-Type"),
	    PAWL_METRICS_CONTENT_TYPE);
	CU_ASSERT_PTR_NOT_NULL(strstr(x.resp.body.data,
	    "pawl_requests_total{route=\"item\",method=\"GET\",code=\"200\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(x.resp.body.data, "pawl_metrics_shared 1\n"));
	run(app, arena, &x, "HEAD", "/v1/__metrics__", "REMOTE_USER=prom");
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_TRUE(x.resp.omit_body);
	run(app, arena, &x, "POST", "/v1/__metrics__", "REMOTE_USER=prom");
	expect_error(&x, 405, 115);
	run(app, arena, &x, "GET", "/v1/", NULL);
	CU_ASSERT_TRUE(has_capability(&x));
	pawl_app_free(app);
	pawl_config_free(cfg);
	/* The default names nobody: even the one who may read everything else is refused. */
	app = unit_offline_app(NULL, &cfg);
	run(app, arena, &x, "GET", "/v1/__metrics__", NULL);
	expect_error(&x, 401, 104);
	pawl_app_free(app);
	pawl_config_free(cfg);
	pawl_arena_free(arena);
	done(seg);
}

static void test_endpoint_off(void)
{
	struct pawl_arena *arena = pawl_arena_new(8192);
	struct pawl_config *cfg;
	struct pawl_app *app = unit_offline_app("metrics_enabled = false\n"
	    "metrics_read_principals = system.Everyone\n", &cfg);
	struct exchange x;

	CU_ASSERT_PTR_NOT_NULL_FATAL(app);
	run(app, arena, &x, "GET", "/v1/__metrics__", NULL);
	expect_error(&x, 404, 111);
	run(app, arena, &x, "POST", "/v1/__metrics__", NULL);
	expect_error(&x, 404, 111);
	run(app, arena, &x, "GET", "/v1/", NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_FALSE(has_capability(&x));
	pawl_app_free(app);
	pawl_config_free(cfg);
	pawl_arena_free(arena);
}

/* With a Redis listener and no database: the scrape still answers, without the outbox gauges. */
static void test_endpoint_database_down(void)
{
	struct pawl_metrics_segment *seg = fresh();
	struct pawl_arena *arena = pawl_arena_new(8192);
	struct pawl_config *cfg;
	struct pawl_app *app = unit_offline_app("metrics_read_principals = system.Everyone\n"
	    "event_listeners = q\nevent_listeners.q.use = redis\n", &cfg);
	struct exchange x;

	CU_ASSERT_PTR_NOT_NULL_FATAL(app);
	run(app, arena, &x, "GET", "/v1/__metrics__", NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_PTR_NULL(strstr(x.resp.body.data, "pawl_outbox_pending_events"));
	/* The counters are read before the gauges: the next scrape shows the failed connect. */
	CU_ASSERT_PTR_NOT_NULL(strstr(x.resp.body.data, "pawl_db_errors_total{kind=\"unavailable\"} 0\n"));
	run(app, arena, &x, "GET", "/v1/__metrics__", NULL);
	CU_ASSERT_EQUAL(x.resp.status, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(x.resp.body.data, "pawl_db_errors_total{kind=\"unavailable\"} 1\n"));
	/* The listener's slot was claimed when the app was built. */
	CU_ASSERT_PTR_NOT_NULL(strstr(x.resp.body.data, "pawl_events_staged_total{listener=\"q\"} 0\n"));
	pawl_app_free(app);
	pawl_config_free(cfg);
	pawl_arena_free(arena);
	done(seg);
}

void test_metrics_register(void)
{
	CU_pSuite s = CU_add_suite("metrics", NULL, NULL);

	CU_add_test(s, "unbound: recording does nothing", test_unbound_records_nothing);
	CU_add_test(s, "labels and histogram buckets", test_labels_and_buckets);
	CU_add_test(s, "listener slots claimed by name, overflow", test_listener_slots);
	CU_add_test(s, "forked children share the block, no lost increment",
	    test_forked_children_share);
	CU_add_test(s, "metrics_shm_file mapped twice, kept, refused when foreign",
	    test_file_mapped_twice);
	CU_add_test(s, "Prometheus text of a known snapshot", test_render_exact);
	CU_add_test(s, "__metrics__: 401, 403, 200 text, HEAD, 405", test_endpoint_who_may_read);
	CU_add_test(s, "__metrics__ switched off: 404, no capability", test_endpoint_off);
	CU_add_test(s, "__metrics__ with the database down", test_endpoint_database_down);
}
