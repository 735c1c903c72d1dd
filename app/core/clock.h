/*
 * The two clocks pawl reads. The wall clock is for values shown to clients
 * or compared with theirs (timestamps, log records); the monotonic clock is
 * for deadlines, back-offs and durations, which must not jump when the
 * system time is set.
 */
#ifndef PAWL_CLOCK_H
#define PAWL_CLOCK_H

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
long long pawl_clock_wall_ms(void);

/* Nanoseconds since the Unix epoch (CLOCK_REALTIME), for log timestamps. */
long long pawl_clock_wall_ns(void);

/*
 * Milliseconds on the monotonic clock (CLOCK_MONOTONIC): an arbitrary origin,
 * never goes backwards. Only differences between two readings mean anything.
 */
long long pawl_clock_mono_ms(void);

/* The same clock in nanoseconds, for durations finer than a millisecond. */
long long pawl_clock_mono_ns(void);

#endif
