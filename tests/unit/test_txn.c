/*
 * The unit of work's bookkeeping without a database: PostgreSQL is
 * unreachable here, so BEGIN, SAVEPOINT and RELEASE only queue (they are
 * deferred) and ROLLBACK TO fails, while the stage must still follow the
 * savepoints, and nothing but a committed or read event is ever published.
 */
#include <string.h>
#include <CUnit/CUnit.h>

#include "core/config.h"
#include "store/pg.h"
#include "events/subscribers.h"
#include "txn/txn.h"
#include "unit.h"

static struct pawl_config *cfg;
static struct pawl_pg *pg;
static struct pawl_subscribers *subs;
static struct pawl_arena *arena;
static int heard; /* events the subscriber received */

static void on_event(const struct pawl_event *ev, void *ctx)
{
	(void)ev;
	(void)ctx;
	heard++;
}

static int setup(void)
{
	struct pawl_error err;

	arena = pawl_arena_new(8192);
	cfg = pawl_config_parse("[app:main]\n"
	    "storage_url = postgresql:///pawl?host=/nonexistent-pawl-test&connect_timeout=1\n",
	    "t.ini", NULL, &err);
	pg = cfg ? pawl_pg_new(cfg) : NULL;
	subs = pawl_subscribers_new();
	if (subs == NULL || pawl_subscribers_subscribe(subs, PAWL_EVENT_RESOURCE_CHANGED,
	    PAWL_EVENT_CREATE | PAWL_EVENT_UPDATE | PAWL_EVENT_DELETE, NULL, on_event,
	    NULL) != PAWL_OK ||
	    pawl_subscribers_subscribe(subs, PAWL_EVENT_RESOURCE_READ, PAWL_EVENT_READ, NULL,
	    on_event, NULL) != PAWL_OK)
		return 1;
	return arena == NULL || pg == NULL;
}

static int teardown(void)
{
	pawl_subscribers_free(subs);
	pawl_pg_free(pg);
	pawl_config_free(cfg);
	pawl_arena_free(arena);
	return 0;
}

static void start(struct pawl_txn *t)
{
	const struct pawl_txn_env env = { .pg = pg, .subscribers = subs, .relay_wake_fd = -1 };

	pawl_arena_reset(arena);
	pawl_txn_init(t, arena, &env);
	heard = 0;
}

/* Stages one event on a list of its own (parent), so events never merge. */
static void stage(struct pawl_txn *t, enum pawl_event_action action, const char *parent)
{
	static const struct pawl_matchdict md;
	struct pawl_stage_op op;
	struct pawl_error err;

	memset(&op, 0, sizeof(op));
	op.action = action;
	op.resource_name = "record";
	op.parent_id = parent;
	op.uri = "/buckets/b/collections/c/records";
	op.timestamp = 1;
	op.md = &md;
	op.new_json = "{\"id\":\"r\"}";
	CU_ASSERT_EQUAL(pawl_txn_stage(t, &op, &err), PAWL_OK);
}

static size_t staged(const struct pawl_txn *t)
{
	return t->stage != NULL ? pawl_stage_mark(t->stage) : 0;
}

static void test_savepoints_rewind(void)
{
	struct pawl_txn t;
	struct pawl_error err;

	start(&t);
	CU_ASSERT_EQUAL(pawl_txn_begin(&t, &err), PAWL_OK);
	CU_ASSERT_TRUE(pawl_txn_active(&t));
	CU_ASSERT_FALSE(pawl_txn_nested(&t));
	stage(&t, PAWL_EVENT_CREATE, "/a");
	CU_ASSERT_EQUAL(pawl_txn_savepoint(&t, &err), PAWL_OK);
	CU_ASSERT_TRUE(pawl_txn_nested(&t));
	stage(&t, PAWL_EVENT_CREATE, "/b");
	CU_ASSERT_EQUAL(pawl_txn_release(&t, &err), PAWL_OK); /* kept */
	CU_ASSERT_FALSE(pawl_txn_nested(&t));
	CU_ASSERT_EQUAL(staged(&t), 2);
	CU_ASSERT_EQUAL(pawl_txn_savepoint(&t, &err), PAWL_OK);
	stage(&t, PAWL_EVENT_CREATE, "/c");
	CU_ASSERT_EQUAL(pawl_txn_savepoint(&t, &err), PAWL_OK);
	stage(&t, PAWL_EVENT_CREATE, "/d");
	stage(&t, PAWL_EVENT_CREATE, "/e");
	/* The ROLLBACK TO fails (no server), the stage is rewound all the same. */
	CU_ASSERT_NOT_EQUAL(pawl_txn_rollback_to(&t, &err), PAWL_OK);
	CU_ASSERT_EQUAL(staged(&t), 3);
	CU_ASSERT_TRUE(pawl_txn_nested(&t));
	(void)pawl_txn_rollback_to(&t, &err);
	CU_ASSERT_EQUAL(staged(&t), 2);
	CU_ASSERT_FALSE(pawl_txn_nested(&t));
	CU_ASSERT_TRUE(pawl_txn_active(&t));
	pawl_txn_abort(&t);
}

static void test_misuse(void)
{
	struct pawl_txn t;
	struct pawl_error err;
	int i;

	start(&t);
	CU_ASSERT_EQUAL(pawl_txn_savepoint(&t, &err), PAWL_ERR_INTERNAL);
	CU_ASSERT_EQUAL(pawl_txn_release(&t, &err), PAWL_ERR_INTERNAL);
	CU_ASSERT_EQUAL(pawl_txn_rollback_to(&t, &err), PAWL_ERR_INTERNAL);
	CU_ASSERT_EQUAL(pawl_txn_commit(&t, &err), PAWL_ERR_INTERNAL);
	CU_ASSERT_EQUAL(pawl_txn_begin(&t, &err), PAWL_OK);
	CU_ASSERT_EQUAL(pawl_txn_begin(&t, &err), PAWL_ERR_INTERNAL);
	CU_ASSERT_EQUAL(pawl_txn_release(&t, &err), PAWL_ERR_INTERNAL);
	for (i = 0; i < PAWL_TXN_MAX_DEPTH; i++)
		CU_ASSERT_EQUAL(pawl_txn_savepoint(&t, &err), PAWL_OK);
	CU_ASSERT_EQUAL(pawl_txn_savepoint(&t, &err), PAWL_ERR_INTERNAL);
	pawl_txn_abort(&t);
	CU_ASSERT_FALSE(pawl_txn_active(&t));
	CU_ASSERT_FALSE(pawl_txn_nested(&t));
}

/* Rolled back: neither the events nor any part of them ever reach a subscriber. */
static void test_abort_publishes_nothing(void)
{
	struct pawl_txn t;
	struct pawl_error err;

	start(&t);
	CU_ASSERT_EQUAL(pawl_txn_begin(&t, &err), PAWL_OK);
	stage(&t, PAWL_EVENT_CREATE, "/a");
	CU_ASSERT_EQUAL(pawl_txn_savepoint(&t, &err), PAWL_OK);
	stage(&t, PAWL_EVENT_UPDATE, "/b");
	pawl_txn_abort(&t);
	CU_ASSERT_FALSE(pawl_txn_has_events(&t));
	pawl_txn_publish(&t);
	CU_ASSERT_EQUAL(heard, 0);
}

/* A read's events, outside any transaction, wait for publish (after the response). */
static void test_reads_wait_for_publish(void)
{
	struct pawl_txn t;

	start(&t);
	stage(&t, PAWL_EVENT_READ, "/a");
	stage(&t, PAWL_EVENT_READ, "/b");
	CU_ASSERT_TRUE(pawl_txn_has_events(&t));
	CU_ASSERT_EQUAL(heard, 0);
	pawl_txn_publish(&t);
	CU_ASSERT_EQUAL(heard, 2);
	CU_ASSERT_FALSE(pawl_txn_has_events(&t));
	pawl_txn_publish(&t); /* once only */
	CU_ASSERT_EQUAL(heard, 2);
}

static enum pawl_err failing_write(void *ctx, struct pawl_error *err)
{
	stage(ctx, PAWL_EVENT_CREATE, "/x");
	return pawl_error_set(err, PAWL_ERR_PRECONDITION, "modified meanwhile");
}

/* A failed write nested in a batch's transaction takes back its own events only. */
static void test_nested_run(void)
{
	struct pawl_txn t;
	struct pawl_error err;

	start(&t);
	CU_ASSERT_EQUAL(pawl_txn_begin(&t, &err), PAWL_OK);
	CU_ASSERT_EQUAL(pawl_txn_savepoint(&t, &err), PAWL_OK);
	stage(&t, PAWL_EVENT_CREATE, "/a");
	CU_ASSERT_EQUAL(pawl_txn_run(&t, failing_write, &t, &err), PAWL_ERR_PRECONDITION);
	CU_ASSERT_STRING_EQUAL(err.message, "modified meanwhile");
	CU_ASSERT_EQUAL(staged(&t), 1);
	CU_ASSERT_TRUE(pawl_txn_nested(&t)); /* the batch's savepoint is still held */
	CU_ASSERT_TRUE(pawl_txn_active(&t));
	pawl_txn_abort(&t);
	/* Outside a transaction the same write is one of its own, and aborted. */
	CU_ASSERT_EQUAL(pawl_txn_run(&t, failing_write, &t, &err), PAWL_ERR_PRECONDITION);
	CU_ASSERT_FALSE(pawl_txn_active(&t));
	CU_ASSERT_FALSE(pawl_txn_has_events(&t));
}

void test_txn_register(void)
{
	CU_pSuite s = CU_add_suite("txn", setup, teardown);

	CU_add_test(s, "savepoints rewind the stage", test_savepoints_rewind);
	CU_add_test(s, "misuse is refused", test_misuse);
	CU_add_test(s, "a rolled-back transaction publishes nothing", test_abort_publishes_nothing);
	CU_add_test(s, "read events wait for publish", test_reads_wait_for_publish);
	CU_add_test(s, "a nested write rolls back to its savepoint", test_nested_run);
}
