/*
 * Delivery of outbox rows to Redis. The worker delivers its own
 * transaction's lists right after the response is sent (fast path); the
 * relay (`pawl-fcgi relay`, or the supervisor's child) delivers whatever is
 * left: Redis was down, a worker died between COMMIT and push, or another
 * process held the list's lock. Each list is delivered in commit order.
 */
#ifndef PAWL_RELAY_H
#define PAWL_RELAY_H

#include <stdbool.h>

#include "pawl/arena.h"
#include "pawl/config.h"
#include "pawl/events.h"
#include "pawl/listeners.h"

struct pawl_pg;

/*
 * Pushes the rows of one (listener, list), batch by batch, each batch in one
 * transaction: take under the list lock, LPUSH pipelined, COMMIT. *busy is set
 * when another process held the lock. PAWL_ERR_BACKEND when Redis failed (the
 * rows stay for later).
 */
enum pawl_err pawl_relay_deliver(const struct pawl_listeners *ls, struct pawl_pg *pg,
    struct pawl_arena *arena, const char *listener, const char *list_key, bool *busy,
    struct pawl_error *err);

/*
 * The fast path after COMMIT: delivers the lists the stage touched, for every
 * durable listener. Whatever it cannot deliver, it leaves to the relay and
 * wakes it.
 */
void pawl_relay_after_commit(const struct pawl_listeners *ls, struct pawl_pg *pg,
    struct pawl_arena *arena, const struct pawl_stage *st);

/* The relay process: runs until SIGTERM/SIGINT. Returns the exit status. */
int pawl_relay_run(const struct pawl_config *cfg);

#endif
