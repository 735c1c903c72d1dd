/*
 * Delivery of outbox rows to Redis. Under the supervisor, its relay child
 * delivers every row, woken through a pipe by the worker that committed
 * them: one process batching many events per round trip, none of it on the
 * request path. A worker running alone (spawn-fcgi -F) delivers its own
 * transaction's lists right after the response is sent (fast path), and a
 * separate `pawl-fcgi relay` delivers what is left: Redis was down, a worker
 * died between COMMIT and push, or another process held the list's lock.
 * Each list is delivered in commit order.
 */
#ifndef PAWL_RELAY_H
#define PAWL_RELAY_H

#include <stdbool.h>

#include "core/arena.h"
#include "core/config.h"
#include "events/stage.h"
#include "events/listener_set.h"

struct pawl_pg;

/*
 * Pushes the rows of one (due->listener, due->list_key), batch by batch of
 * due->limit, each batch in one transaction: take under the list lock, LPUSH
 * pipelined, COMMIT. Only rows of transactions that due->snapshot
 * (pawl_outbox_barrier's) saw finished, so only durable ones. *busy is set
 * when the rows are left to the relay: another process held the lock, or
 * this process's last push to the listener failed less than a second ago
 * (no take and rollback per write while Redis is down). PAWL_ERR_BACKEND
 * when Redis failed (the rows stay for later; the line is throttled,
 * events/outage.h).
 */
struct pawl_outbox_due;
enum pawl_err pawl_relay_deliver(const struct pawl_listener_set *ls, struct pawl_pg *pg,
    struct pawl_arena *arena, const struct pawl_outbox_due *due, bool *busy,
    struct pawl_error *err);

/*
 * The fast path after COMMIT, for a worker running alone: a barrier, then the
 * lists the stage touched, for every durable listener, each (listener,
 * list) in a transaction of its own, so a listener that fails holds back
 * nothing of the others'. Whatever it cannot deliver, it leaves to the
 * relay and wakes it (NOTIFY).
 */
void pawl_relay_after_commit(const struct pawl_listener_set *ls, struct pawl_pg *pg,
    struct pawl_arena *arena, const struct pawl_stage *st);

/*
 * After COMMIT under a supervisor: one byte down the relay's wake pipe when
 * the stage has events for a durable listener (a full pipe already means
 * "wake up"). The relay then delivers in batches, off the request path.
 */
void pawl_relay_wake(const struct pawl_listener_set *ls, const struct pawl_stage *st, int wake_fd);

/*
 * The relay process: runs until SIGTERM/SIGINT. Returns the exit status.
 * wake_fd: the read end of the supervisor's wake pipe, or -1 (then it is woken
 * by NOTIFY pawl_outbox and its poll interval only).
 */
int pawl_relay_run(const struct pawl_config *cfg, int wake_fd);

/* What a relay reports on its way, for a service manager (systemd, through main.c). */
enum pawl_relay_event {
	PAWL_RELAY_READY,    /* set up: delivering from now on */
	PAWL_RELAY_ALIVE,    /* its loop turned (a batch, a wait, a retry) */
	PAWL_RELAY_STOPPING, /* SIGTERM/SIGINT taken: the last batch is done */
};
typedef void pawl_relay_report_fn(void *arg, enum pawl_relay_event event);
struct pawl_relay_report {
	pawl_relay_report_fn *fn;
	void *arg;
	int alive_ms; /* > 0: no wait lasts longer, so ALIVE comes at least this often */
};

/* pawl_relay_run, reporting to report (NULL: to no one). */
int pawl_relay_serve(const struct pawl_config *cfg, int wake_fd,
    const struct pawl_relay_report *report);

#endif
