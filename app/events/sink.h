/*
 * Where a durable listener's outbox rows go: its Redis handle and the list
 * (or stream) there, and the push of a batch of rows through the
 * idempotent append scripts of events/redis.c. The relay and a worker
 * delivering alone (events/relay.c) push through a sink.
 */
#ifndef PAWL_SINK_H
#define PAWL_SINK_H

#include <stdbool.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/config.h"
#include "events/listener_set.h"
#include "events/outage.h"
#include "store/outbox.h"

struct pawl_sink {
	const char *name; /* the listener's alias */
	struct pawl_redis *redis;
	const char *listname;
	int slot;         /* its counters (core/metrics.h) */
	const struct pawl_listener_config *cfg; /* its type, for a stream its bounds */
	struct pawl_outage *outage;             /* this process's view of its failures */
};

/* The sink of the durable listener name; false when no such listener is configured. */
bool pawl_sink_of(const struct pawl_listener_set *ls, const char *name, struct pawl_sink *out);

/*
 * Appends rows (each list's in commit order) to the sink: LPUSH onto its
 * list, or for a stream listener XADD to its stream (or its bucket's).
 * Idempotent (pawl_redis_append): pushing the same rows again adds nothing.
 * PAWL_ERR_BACKEND when Redis failed (counted in the sink's slot, and in
 * its outage: event.delivery_failed when the schedule says so); the caller
 * keeps the rows. A push that ends an outage logs event.delivery_recovered.
 */
enum pawl_err pawl_sink_push(const struct pawl_sink *to, struct pawl_arena *arena,
    const struct pawl_outbox_batch *rows, struct pawl_error *err);

/*
 * After a delivery's COMMIT: its rows count as delivered, each with its
 * delay from the outbox insert (which travelled with the write's COMMIT).
 * to NULL: each row in its own listener's slot (b->listeners).
 */
void pawl_sink_count_delivered(const struct pawl_outbox_batch *b, const struct pawl_sink *to,
    long long taken_ns);

/*
 * The stream key of an event of list_key ("<parent_id> <resource_name>") for
 * a stream listener: listname, or with per_bucket "<listname>.<bucket id>"
 * when the parent lies under /buckets/<id>; events of no bucket (the
 * buckets list, parentless resources) stay in listname. Pure; NULL on OOM.
 */
const char *pawl_sink_stream_key(struct pawl_arena *arena, const char *listname,
    bool per_bucket, const char *list_key);

#endif
