/*
 * Reads the system clocks and nothing else: no caching, no state, so a
 * deadline computed here means the same in every process.
 */
#include <time.h>

#include "core/clock.h"

static long long read_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long read_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long pawl_clock_wall_ms(void)
{
	return read_ms(CLOCK_REALTIME);
}

long long pawl_clock_wall_ns(void)
{
	return read_ns(CLOCK_REALTIME);
}

long long pawl_clock_mono_ms(void)
{
	return read_ms(CLOCK_MONOTONIC);
}

long long pawl_clock_mono_ns(void)
{
	return read_ns(CLOCK_MONOTONIC);
}
