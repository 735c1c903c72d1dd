/*
 * app/core/clock.c: the monotonic clock never goes backwards and advances
 * across a sleep; the wall clock agrees with time(NULL); the millisecond and
 * nanosecond readings of one clock agree with each other.
 */
#include <time.h>

#include "core/clock.h"
#include "unit.h"

static void test_mono_never_backwards(void)
{
	long long prev_ms = pawl_clock_mono_ms(), prev_ns = pawl_clock_mono_ns();
	int i, backwards = 0;

	for (i = 0; i < 100000; i++) {
		long long ms = pawl_clock_mono_ms(), ns = pawl_clock_mono_ns();

		backwards += ms < prev_ms || ns < prev_ns;
		prev_ms = ms;
		prev_ns = ns;
	}
	CU_ASSERT_EQUAL(backwards, 0);
}

static void test_mono_advances_across_sleep(void)
{
	const struct timespec pause = { 0, 20 * 1000000L };
	long long ms = pawl_clock_mono_ms(), ns = pawl_clock_mono_ns();

	nanosleep(&pause, NULL);
	/* The ms reading truncates: 20 ms of sleep is at least 19 whole ticks. */
	CU_ASSERT(pawl_clock_mono_ms() - ms >= 19);
	CU_ASSERT(pawl_clock_mono_ns() - ns >= 20 * 1000000LL);
}

static void test_wall_matches_time(void)
{
	long long before = (long long)time(NULL) * 1000;
	long long ms = pawl_clock_wall_ms();
	long long after = (long long)time(NULL) * 1000;

	/* Within the seconds time(NULL) saw around the reading. */
	CU_ASSERT(ms >= before);
	CU_ASSERT(ms < after + 1000);
}

static void test_ms_and_ns_agree(void)
{
	long long ns0 = pawl_clock_wall_ns(), ms = pawl_clock_wall_ms(), ns1 = pawl_clock_wall_ns();

	CU_ASSERT(ms >= ns0 / 1000000 && ms <= ns1 / 1000000);
	ns0 = pawl_clock_mono_ns();
	ms = pawl_clock_mono_ms();
	ns1 = pawl_clock_mono_ns();
	CU_ASSERT(ms >= ns0 / 1000000 && ms <= ns1 / 1000000);
}

void test_clock_register(void)
{
	static const struct {
		const char *name;
		CU_TestFunc fn;
	} tests[] = {
		{ "monotonic never goes backwards", test_mono_never_backwards },
		{ "monotonic advances across a sleep", test_mono_advances_across_sleep },
		{ "wall clock within a second of time(NULL)", test_wall_matches_time },
		{ "ms and ns readings agree", test_ms_and_ns_agree },
	};
	CU_pSuite suite = CU_add_suite("clock", NULL, NULL);
	size_t i;

	if (suite == NULL)
		return;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		CU_add_test(suite, tests[i].name, tests[i].fn);
}
