/*
 * A durable listener's delivery outage as one process sees it (the relay,
 * or a worker delivering alone), and the two lines it logs: the failures
 * are throttled so that a Redis down for hours does not flood the journal.
 * The first failed try logs at once; the next line comes no sooner than
 * 1 s later, the one after 2 s, then 4 s ... (at most 60 s apart), each
 * counting the tries that failed without a line of their own; the first
 * successful push afterwards logs one event.delivery_recovered line. The
 * schedule is pure (the caller passes the time) and unit-tested.
 */
#ifndef PAWL_OUTAGE_H
#define PAWL_OUTAGE_H

#include <stdbool.h>
#include <stddef.h>

#define PAWL_OUTAGE_FIRST_GAP_MS 1000
/* A listener whose push failed is tried again this long after (not on every write). */
#define PAWL_OUTAGE_RETRY_MS 1000
#define PAWL_OUTAGE_MAX_GAP_MS 60000

/* Zeroed: no outage. */
struct pawl_outage {
	bool down;          /* the last try failed */
	long long since_ms; /* its first failed try (monotonic) */
	long long last_ms;  /* its last failed try */
	long long line_ms;  /* its last line */
	long long gap_ms;   /* the least time from that line to the next */
	long failed;        /* tries failed in this outage */
	long unlogged;      /* of them, since the last line */
};

/* What a line says of the outage. */
struct pawl_outage_report {
	long attempt;        /* tries failed so far in this outage (this one included) */
	long suppressed;     /* failed tries since the previous line that got none */
	long long outage_ms; /* from the first failed try to now */
};

/* A failed try at now_ms: true when it gets a line, *rep saying what. */
bool pawl_outage_failed(struct pawl_outage *o, long long now_ms, struct pawl_outage_report *rep);

/*
 * A successful push at now_ms: true when it ends an outage, *rep giving its
 * length and its failed tries (attempt); the outage is then forgotten.
 */
bool pawl_outage_ended(struct pawl_outage *o, long long now_ms, struct pawl_outage_report *rep);

/* Whether to try at now_ms: always but during an outage, then retry_ms after its last failure. */
bool pawl_outage_due(const struct pawl_outage *o, long long now_ms, long long retry_ms);

/*
 * The lines (core/log.h's structured records): event.delivery_failed
 * (warning; the batch's first outbox row, its size, the report, the
 * reason: pawl's own message, never the listener's URL) and
 * event.delivery_recovered (info).
 */
void pawl_outage_log_failed(const char *listener, long long first_id, size_t rows,
    const struct pawl_outage_report *rep, const char *reason);
void pawl_outage_log_recovered(const char *listener, const struct pawl_outage_report *rep);

#endif
