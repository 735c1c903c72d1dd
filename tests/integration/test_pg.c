/*
 * app/store/pg.c against the stack's real PostgreSQL: deferred statements
 * travel with the next statement in one pipeline, their failure is that
 * statement's failure, a rollback drops them unsent, and a transaction that
 * sent nothing costs nothing. Uses a temporary table of its own connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "core/arena.h"
#include "core/config.h"
#include "store/pg.h"

static struct pawl_config *cfg;
static struct pawl_pg *pg;
static struct pawl_arena *arena;

/* A configuration of its own: the stack's storage_url, nothing else of pawl.ini. */
static struct pawl_config *load_config(struct pawl_error *err)
{
	char path[4096], line[4096], text[4200] = "";
	FILE *f;

	snprintf(path, sizeof path, "%s/pawl.ini", harness_state_dir());
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "storage_url", 11) == 0)
			snprintf(text, sizeof text, "[app:main]\n%s", line);
	fclose(f);
	return pawl_config_parse(text, "test_pg", NULL, err);
}

static int suite_init(void)
{
	struct pawl_error err;

	pawl_error_clear(&err);
	if ((cfg = load_config(&err)) == NULL) {
		fprintf(stderr, "test_pg: no configuration: %s\n", err.message);
		return 1;
	}
	pg = pawl_pg_new(cfg);
	arena = pawl_arena_new(16384);
	if (pg == NULL || arena == NULL || pawl_pg_connect(pg, true, &err) != PAWL_OK ||
	    pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "CREATE TEMP TABLE pg_test (x int PRIMARY KEY)", 0, NULL, 0 },
	    NULL, &err) != PAWL_OK) {
		fprintf(stderr, "test_pg: %s\n", err.message);
		return 1;
	}
	return 0;
}

static int suite_cleanup(void)
{
	pawl_pg_free(pg);
	pawl_arena_free(arena);
	pawl_config_free(cfg);
	return 0;
}

/* Rows of pg_test, -1 on error. */
static long rows(void)
{
	struct pawl_error err;
	struct pg_result *res;

	if (pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "SELECT count(*) FROM pg_test", 0, NULL, 0 }, &res, &err) != PAWL_OK)
		return -1;
	return strtol(pawl_pg_value(res, 0, 0), NULL, 10);
}

static enum pawl_err insert(int x, struct pawl_error *err)
{
	char v[16];
	const char *params[] = { v };
	enum pawl_err rc;

	snprintf(v, sizeof v, "%d", x);
	rc = pawl_pg_defer(pg, arena, "INSERT INTO pg_test VALUES ($1::int)", 1, params, err);
	/* The queue keeps its own copy: the caller's buffer may change at once. */
	memset(v, '9', sizeof v - 1);
	return rc;
}

static void test_deferred_commit(void)
{
	struct pawl_error err;
	long before = rows();

	CU_ASSERT_EQUAL_FATAL(pawl_pg_begin(pg, arena, &err), PAWL_OK);
	CU_ASSERT_EQUAL(insert(1, &err), PAWL_OK);
	CU_ASSERT_EQUAL(insert(2, &err), PAWL_OK);
	CU_ASSERT_EQUAL(pawl_pg_commit(pg, arena, &err), PAWL_OK);
	CU_ASSERT_EQUAL(rows(), before + 2);
	pawl_arena_reset(arena);
}

/* Early lock release (the default): the commit is asynchronous, the session stays synchronous. */
static void test_early_release_stays_local(void)
{
	struct pawl_error err;
	struct pg_result *res = NULL;
	long before = rows();

	CU_ASSERT_TRUE(cfg->storage_early_lock_release);
	CU_ASSERT_EQUAL_FATAL(pawl_pg_begin(pg, arena, &err), PAWL_OK);
	CU_ASSERT_EQUAL(pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "SHOW synchronous_commit", 0, NULL, 0 }, &res, &err),
	    PAWL_OK);
	CU_ASSERT_STRING_EQUAL(res ? pawl_pg_value(res, 0, 0) : "", "off");
	CU_ASSERT_EQUAL(insert(3, &err), PAWL_OK);
	CU_ASSERT_EQUAL(pawl_pg_commit(pg, arena, &err), PAWL_OK);
	CU_ASSERT_EQUAL(rows(), before + 1);
	res = NULL;
	CU_ASSERT_EQUAL(pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "SHOW synchronous_commit", 0, NULL, 0 }, &res, &err),
	    PAWL_OK);
	CU_ASSERT_STRING_EQUAL(res ? pawl_pg_value(res, 0, 0) : "", "on");
	pawl_arena_reset(arena);
}

/* The barrier after an early-release COMMIT returns only once the WAL is flushed past it. */
static void test_commit_waits_for_flush(void)
{
	struct pawl_error err;
	int i, flushed = 0;

	for (i = 0; i < 5; i++) {
		struct pawl_pg_slot lsn = { NULL };
		struct pg_result *res = NULL;
		const char *params[1];

		CU_ASSERT_EQUAL_FATAL(pawl_pg_begin(pg, arena, &err), PAWL_OK);
		CU_ASSERT_EQUAL(insert(1000 + i, &err), PAWL_OK);
		CU_ASSERT_EQUAL(pawl_pg_defer_result(pg, arena, &(struct pawl_pg_stmt){
		    "SELECT pg_current_wal_insert_lsn()::text",
		    0, NULL, 0 }, &lsn, &err), PAWL_OK);
		CU_ASSERT_EQUAL(pawl_pg_commit(pg, arena, &err), PAWL_OK);
		CU_ASSERT_PTR_NOT_NULL_FATAL(lsn.res);
		params[0] = pawl_pg_value(lsn.res, 0, 0);
		/* Asynchronous commits alone reach the disk only with the WAL writer, 200 ms later. */
		CU_ASSERT_EQUAL(pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
		    "SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn",
		    1, params, 0 }, &res, &err), PAWL_OK);
		flushed += res != NULL && pawl_pg_value(res, 0, 0)[0] == 't';
		pawl_arena_reset(arena);
	}
	CU_ASSERT_EQUAL(flushed, 5);
}

static void test_deferred_failure_is_next_statements(void)
{
	struct pawl_error err;
	struct pg_result *res = NULL;
	long before = rows();

	CU_ASSERT_EQUAL_FATAL(pawl_pg_begin(pg, arena, &err), PAWL_OK);
	CU_ASSERT_EQUAL(insert(10, &err), PAWL_OK);
	CU_ASSERT_EQUAL(insert(10, &err), PAWL_OK); /* a duplicate key, not sent yet */
	CU_ASSERT_EQUAL(pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "SELECT 42", 0, NULL, 0 }, &res, &err),
	    PAWL_ERR_CONFLICT);
	CU_ASSERT_PTR_NULL(res);
	pawl_pg_rollback(pg, arena);
	CU_ASSERT_EQUAL(rows(), before);
	CU_ASSERT_TRUE(pawl_pg_connected(pg));
	/* The connection is usable again, pipeline mode left behind. */
	CU_ASSERT_EQUAL(pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "SELECT 42", 0, NULL, 0 }, &res, &err), PAWL_OK);
	CU_ASSERT_STRING_EQUAL(res ? pawl_pg_value(res, 0, 0) : "", "42");
	pawl_arena_reset(arena);
}

static void test_deferred_failure_at_commit(void)
{
	struct pawl_error err;
	long before = rows();

	CU_ASSERT_EQUAL_FATAL(pawl_pg_begin(pg, arena, &err), PAWL_OK);
	CU_ASSERT_EQUAL(insert(20, &err), PAWL_OK);
	CU_ASSERT_EQUAL(insert(20, &err), PAWL_OK);
	CU_ASSERT_EQUAL(pawl_pg_commit(pg, arena, &err), PAWL_ERR_CONFLICT);
	CU_ASSERT_EQUAL(rows(), before);
	pawl_arena_reset(arena);
}

static void test_rollback_drops_unsent(void)
{
	struct pawl_error err;
	long before = rows();

	CU_ASSERT_EQUAL_FATAL(pawl_pg_begin(pg, arena, &err), PAWL_OK);
	CU_ASSERT_EQUAL(insert(30, &err), PAWL_OK);
	pawl_pg_rollback(pg, arena);
	CU_ASSERT_EQUAL(rows(), before);
	CU_ASSERT_EQUAL(rows(), before); /* still none: nothing was left queued to ride along */
	pawl_arena_reset(arena);
}

static void test_more_than_the_queue_holds(void)
{
	struct pawl_error err;
	long before = rows();
	int i;

	CU_ASSERT_EQUAL_FATAL(pawl_pg_begin(pg, arena, &err), PAWL_OK);
	for (i = 0; i < 40; i++)
		CU_ASSERT_EQUAL(insert(100 + i, &err), PAWL_OK);
	CU_ASSERT_EQUAL(pawl_pg_commit(pg, arena, &err), PAWL_OK);
	CU_ASSERT_EQUAL(rows(), before + 40);
	pawl_arena_reset(arena);
}

static void test_defer_outside_transaction_runs_now(void)
{
	struct pawl_error err;
	long before = rows();

	CU_ASSERT_EQUAL(insert(500, &err), PAWL_OK);
	CU_ASSERT_EQUAL(rows(), before + 1);
	/* And its failure is reported at once. */
	CU_ASSERT_EQUAL(insert(500, &err), PAWL_ERR_CONFLICT);
	pawl_arena_reset(arena);
}

static void test_deferred_result(void)
{
	struct pawl_pg_slot slot = { NULL }, now = { NULL };
	struct pawl_error err;
	struct pg_result *res = NULL;

	CU_ASSERT_EQUAL_FATAL(pawl_pg_begin(pg, arena, &err), PAWL_OK);
	CU_ASSERT_EQUAL(pawl_pg_defer_result(pg, arena, &(struct pawl_pg_stmt){
	    "SELECT 7", 0, NULL, 0 }, &slot, &err), PAWL_OK);
	CU_ASSERT_PTR_NULL(slot.res); /* not sent yet */
	CU_ASSERT_EQUAL(pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "SELECT 8", 0, NULL, 0 }, &res, &err), PAWL_OK);
	CU_ASSERT_STRING_EQUAL(slot.res ? pawl_pg_value(slot.res, 0, 0) : "", "7");
	CU_ASSERT_STRING_EQUAL(res ? pawl_pg_value(res, 0, 0) : "", "8");
	/* Flushed on demand when nothing else is sent. */
	CU_ASSERT_EQUAL(pawl_pg_defer_result(pg, arena, &(struct pawl_pg_stmt){
	    "SELECT 9", 0, NULL, 0 }, &slot, &err), PAWL_OK);
	CU_ASSERT_PTR_NULL(slot.res);
	CU_ASSERT_EQUAL(pawl_pg_flush(pg, arena, &err), PAWL_OK);
	CU_ASSERT_STRING_EQUAL(slot.res ? pawl_pg_value(slot.res, 0, 0) : "", "9");
	CU_ASSERT_EQUAL(pawl_pg_commit(pg, arena, &err), PAWL_OK);
	/* Outside a transaction it runs at once. */
	CU_ASSERT_EQUAL(pawl_pg_defer_result(pg, arena, &(struct pawl_pg_stmt){
	    "SELECT 10", 0, NULL, 0 }, &now, &err), PAWL_OK);
	CU_ASSERT_STRING_EQUAL(now.res ? pawl_pg_value(now.res, 0, 0) : "", "10");
	pawl_arena_reset(arena);
}

void test_pg_register(void)
{
	CU_pSuite s = CU_add_suite("pg", suite_init, suite_cleanup);

	CU_add_test(s, "deferred statements commit with COMMIT", test_deferred_commit);
	CU_add_test(s, "early lock release: asynchronous COMMIT, synchronous session",
	    test_early_release_stays_local);
	CU_add_test(s, "early lock release: answered only once the WAL is flushed",
	    test_commit_waits_for_flush);
	CU_add_test(s, "a deferred failure fails the next statement",
	    test_deferred_failure_is_next_statements);
	CU_add_test(s, "a deferred failure fails COMMIT", test_deferred_failure_at_commit);
	CU_add_test(s, "rollback drops unsent statements", test_rollback_drops_unsent);
	CU_add_test(s, "more deferred statements than the queue holds",
	    test_more_than_the_queue_holds);
	CU_add_test(s, "defer outside a transaction runs at once",
	    test_defer_outside_transaction_runs_now);
	CU_add_test(s, "a deferred result arrives with the next round trip", test_deferred_result);
}
