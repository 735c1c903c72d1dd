/*
 * The throttle of a listener's delivery failure lines (events/outage.h):
 * the schedule, pure (the time is given), and the two lines it writes in
 * both formats, captured through a log file in a temporary folder.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/log.h"
#include "events/outage.h"
#include "unit.h"

/* A try every step_ms from t = 0 to t = until_ms, all failing: how many got a line. */
static long lines_over(long long until_ms, long long step_ms, struct pawl_outage *o)
{
	struct pawl_outage_report rep;
	long lines = 0;

	for (long long t = 1000000; t <= 1000000 + until_ms; t += step_ms)
		lines += pawl_outage_failed(o, t, &rep);
	return lines;
}

static void test_schedule(void)
{
	struct pawl_outage o = { .down = false };
	struct pawl_outage_report rep;
	const long long t0 = 5000;

	/* The first failure: a line at once. */
	CU_ASSERT_TRUE(pawl_outage_due(&o, t0, 1000));
	CU_ASSERT_TRUE(pawl_outage_failed(&o, t0, &rep));
	CU_ASSERT_EQUAL(rep.attempt, 1);
	CU_ASSERT_EQUAL(rep.suppressed, 0);
	CU_ASSERT_EQUAL(rep.outage_ms, 0);
	/* Retries wait their turn; failures inside the first second are counted, not logged. */
	CU_ASSERT_FALSE(pawl_outage_due(&o, t0 + 999, 1000));
	CU_ASSERT_TRUE(pawl_outage_due(&o, t0 + 1000, 1000));
	CU_ASSERT_FALSE(pawl_outage_failed(&o, t0 + 10, &rep));
	CU_ASSERT_FALSE(pawl_outage_failed(&o, t0 + 999, &rep));
	/* 1 s after the first line: the second, counting the two in between. */
	CU_ASSERT_TRUE(pawl_outage_failed(&o, t0 + 1000, &rep));
	CU_ASSERT_EQUAL(rep.attempt, 4);
	CU_ASSERT_EQUAL(rep.suppressed, 2);
	CU_ASSERT_EQUAL(rep.outage_ms, 1000);
	/* Then 2 s, then 4 s. */
	CU_ASSERT_FALSE(pawl_outage_failed(&o, t0 + 2999, &rep));
	CU_ASSERT_TRUE(pawl_outage_failed(&o, t0 + 3000, &rep));
	CU_ASSERT_EQUAL(rep.attempt, 6);
	CU_ASSERT_EQUAL(rep.suppressed, 1);
	CU_ASSERT_FALSE(pawl_outage_failed(&o, t0 + 6999, &rep));
	CU_ASSERT_TRUE(pawl_outage_failed(&o, t0 + 7000, &rep));
	CU_ASSERT_EQUAL(rep.outage_ms, 7000);
	/* The end: one recovered report with the count and the length, then none. */
	CU_ASSERT_TRUE(pawl_outage_ended(&o, t0 + 7500, &rep));
	CU_ASSERT_EQUAL(rep.attempt, 8);
	CU_ASSERT_EQUAL(rep.outage_ms, 7500);
	CU_ASSERT_FALSE(pawl_outage_ended(&o, t0 + 7600, &rep));
	CU_ASSERT_TRUE(pawl_outage_due(&o, t0 + 7600, 1000));
	/* A new outage starts over: a line at once. */
	CU_ASSERT_TRUE(pawl_outage_failed(&o, t0 + 8000, &rep));
	CU_ASSERT_EQUAL(rep.attempt, 1);
	CU_ASSERT_EQUAL(rep.outage_ms, 0);
}

/* A try every 10 ms: lines at 0, 1, 3, 7, 15, 31, 63 s, then every 60 s (the cap). */
static void test_schedule_bounded(void)
{
	struct pawl_outage o = { .down = false };

	CU_ASSERT_EQUAL(lines_over(6000, 10, &o), 3);
	o = (struct pawl_outage){ .down = false };
	CU_ASSERT_EQUAL(lines_over(63000, 10, &o), 7);
	o = (struct pawl_outage){ .down = false };
	CU_ASSERT_EQUAL(lines_over(3600000, 10, &o), 7 + (3600000 - 63000) / 60000);
	/* A try a minute apart: each gets its line (the gap never exceeds 60 s). */
	o = (struct pawl_outage){ .down = false };
	CU_ASSERT_EQUAL(lines_over(600000, 60000, &o), 11);
}

/* The file's single line, into out. */
static void one_line(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (f != NULL) {
		if (fgets(out, (int)size, f) == NULL)
			out[0] = '\0';
		fclose(f);
	}
}

static void test_lines(void)
{
	char dir[] = "/tmp/pawl-outage-XXXXXX", path[128], line[4096];
	const struct pawl_outage_report failed = { 4, 2, 1000 }, ended = { 9, 0, 7500 };
	json_object *o, *f = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/pawl.log", dir);
	CU_ASSERT_EQUAL_FATAL(pawl_log_open(path), 0);
	pawl_log_setup(PAWL_LOG_INFO, 1);
	pawl_outage_log_failed("search", 4711, 3, &failed, "Redis unavailable: Connection refused");
	one_line(path, line, sizeof line);
	o = json_tokener_parse(line);
	CU_ASSERT_TRUE_FATAL(o != NULL && json_object_object_get_ex(o, "Fields", &f));
	CU_ASSERT_STRING_EQUAL(unit_str_at(o, "Type"), "event.delivery_failed");
	CU_ASSERT_STRING_EQUAL(unit_str_at(o, "Severity"), "WARNING");
	CU_ASSERT_STRING_EQUAL(unit_str_at(f, "listener"), "search");
	CU_ASSERT_EQUAL(unit_int_at(f, "outbox_id"), 4711);
	CU_ASSERT_EQUAL(unit_int_at(f, "rows"), 3);
	CU_ASSERT_EQUAL(unit_int_at(f, "attempt"), 4);
	CU_ASSERT_EQUAL(unit_int_at(f, "suppressed"), 2);
	CU_ASSERT_EQUAL(unit_int_at(f, "outage_ms"), 1000);
	json_object_put(o);
	unlink(path);
	snprintf(path, sizeof path, "%s/pawl-text.log", dir); /* the same path would not reopen */
	CU_ASSERT_EQUAL_FATAL(pawl_log_open(path), 0);
	pawl_log_setup(PAWL_LOG_INFO, 0);
	pawl_outage_log_recovered("search", &ended);
	one_line(path, line, sizeof line);
	CU_ASSERT_PTR_NOT_NULL(strstr(line, " INFO event.delivery_recovered: delivery to listener "
	    "'search' recovered after 7500 ms and 9 failed attempts | listener=\"search\" "
	    "outage_ms=7500 failed_attempts=9"));
	pawl_log_open(NULL);
	pawl_log_setup(PAWL_LOG_INFO, 1);
	unlink(path);
	rmdir(dir);
}

void test_outage_register(void)
{
	CU_pSuite s = CU_add_suite("outage", NULL, NULL);

	CU_add_test(s, "the first failure logs, then 1 s, 2 s, 4 s ... apart; one recovery",
	    test_schedule);
	CU_add_test(s, "the line count over an outage follows the schedule, capped at 60 s",
	    test_schedule_bounded);
	CU_add_test(s, "event.delivery_failed and event.delivery_recovered, JSON and text",
	    test_lines);
}
