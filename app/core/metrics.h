/*
 * Counters of the whole host (README, "Metrics"): one fixed-layout block of
 * shared memory that every process of a pawl instance writes with lock-free
 * atomic additions and `__metrics__` reads. This module knows the layout, the
 * label sets (route kinds, methods, status codes, listener slots) and how a
 * value is recorded; it maps nothing itself: the root maps the block
 * (metrics_shm.c) and binds it here once per process, before serving.
 * Recording into an unbound process does nothing (metrics_enabled = false).
 */
#ifndef PAWL_METRICS_H
#define PAWL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/route.h"

/* Finite histogram bounds (seconds, in pawl_metrics_bound_text); +Inf comes after them. */
#define PAWL_METRICS_BUCKETS 18
/* Route kinds, plus one for a request that matched no route (404, redirect, bad path). */
#define PAWL_METRICS_ROUTES (PAWL_ROUTE_KINDS + 1)
#define PAWL_METRICS_ROUTE_NONE PAWL_ROUTE_KINDS
/* GET HEAD POST PUT PATCH DELETE OPTIONS, and "other". */
#define PAWL_METRICS_METHODS 8
/* The status codes pawl answers (pawl_metrics_code_at), and "other". */
#define PAWL_METRICS_CODES 27
/* Listener slots claimed by alias, and one more ("(other)") once they are all taken. */
#define PAWL_METRICS_LISTENERS 16
#define PAWL_METRICS_SLOTS (PAWL_METRICS_LISTENERS + 1)
#define PAWL_METRICS_NAME_MAX 64

enum pawl_metrics_db_error {
	PAWL_METRICS_DB_TIMEOUT,     /* a deadline passed */
	PAWL_METRICS_DB_UNAVAILABLE, /* cannot connect, connection lost, out of resources */
	PAWL_METRICS_DB_CONFLICT,    /* serialization failure, deadlock, lock, constraint */
	PAWL_METRICS_DB_REFUSED,     /* a value out of range, a read-only server */
	PAWL_METRICS_DB_INTERNAL,    /* pawl's SQL or an unknown failure (a 500) */
	PAWL_METRICS_DB_ERRORS
};

/* The block as mapped: opaque, fixed layout (pawl_metrics_segment_size bytes). */
struct pawl_metrics_segment;

/* One histogram as read: counts per bucket (not cumulative; [BUCKETS] is +Inf), sum. */
struct pawl_metrics_hist {
	uint64_t bucket[PAWL_METRICS_BUCKETS + 1];
	uint64_t sum_ns;
};

struct pawl_metrics_listener {
	char name[PAWL_METRICS_NAME_MAX]; /* the alias; "" for the overflow slot */
	uint64_t staged, delivered, redis_errors;
	uint64_t master_switches; /* a Sentinel listener's master changed under a push */
	struct pawl_metrics_hist delivery; /* outbox row written (with COMMIT) → accepted by Redis */
};

/* A copy of every counter at one moment, plus what the endpoint reads at scrape time. */
struct pawl_metrics_snapshot {
	uint64_t requests[PAWL_METRICS_ROUTES][PAWL_METRICS_METHODS][PAWL_METRICS_CODES];
	struct pawl_metrics_hist latency[PAWL_METRICS_ROUTES][PAWL_METRICS_METHODS];
	uint64_t db_statements;
	struct pawl_metrics_hist db_time;
	uint64_t db_errors[PAWL_METRICS_DB_ERRORS];
	uint64_t committed, rolled_back;
	uint64_t worker_restarts, relay_restarts;
	/* Claimed slots sorted by name; the overflow slot last, with name "". */
	struct pawl_metrics_listener listeners[PAWL_METRICS_SLOTS];
	size_t n_listeners;
	bool shared;          /* the block is shared by the processes (else one process's) */
	bool outbox_known;    /* the two gauges below were read */
	long long outbox_pending;
	double outbox_oldest_seconds;
	bool replication_known; /* the two below were read (the database answered) */
	bool in_recovery;       /* the server is a hot standby */
	double replication_lag_seconds;
};

/* --- the block ---------------------------------------------------------------- */

/* Bytes of the block (what a file or a mapping must hold). */
size_t pawl_metrics_segment_size(void);

/*
 * Stamps a zero-filled block of size bytes: its header, the magic last.
 * PAWL_ERR_INVALID when size is not pawl_metrics_segment_size() or the
 * block carries a magic already (it is never stamped twice).
 */
enum pawl_err pawl_metrics_segment_init(void *mem, size_t size, struct pawl_error *err);

/*
 * Whether mem (size bytes) holds an initialised block of this layout;
 * PAWL_ERR_INVALID naming what differs (magic, layout version, size) otherwise.
 */
enum pawl_err pawl_metrics_segment_check(const void *mem, size_t size, struct pawl_error *err);

/*
 * Makes seg the block this process records into and reads (NULL: none, and
 * recording does nothing). shared says whether other processes see it too
 * (the gauge pawl_metrics_shared). Call before serving; not thread-safe.
 */
void pawl_metrics_bind(struct pawl_metrics_segment *seg, bool shared);

/* The bound block, or NULL. */
struct pawl_metrics_segment *pawl_metrics_bound(void);

/* Copies seg's counters into *out (the scrape-time gauges are left unset). */
void pawl_metrics_read(const struct pawl_metrics_segment *seg, struct pawl_metrics_snapshot *out);

/* --- recording into the bound block (no-ops when none is bound) --------------- */

/* One answered request: kind (PAWL_METRICS_ROUTE_NONE when unrouted), method bit, status. */
void pawl_metrics_request(unsigned kind, unsigned method_bit, int status, long long ns);

/* One database round trip carrying `statements` statements, and its time. */
void pawl_metrics_db_round_trip(int statements, long long ns);

/* A failed database call, by the pawl_err it returned (PAWL_OK counts nothing). */
void pawl_metrics_db_error(enum pawl_err code);

/* A request's unit of work committed (true) or rolled back (false). */
void pawl_metrics_txn(bool committed);

/* The supervisor respawned a worker (relay false) or the relay (true). */
void pawl_metrics_restart(bool relay);

/*
 * The slot of listener alias name in the bound block, claimed on first use
 * (by any process: the same name always gets the same slot, so a reload that
 * reorders the listeners keeps each one's counts). The overflow slot when
 * every slot is taken or the name is too long; -1 when no block is bound.
 */
int pawl_metrics_listener_slot(const char *name);

/* Per-listener counts; slot from pawl_metrics_listener_slot (-1: nothing). */
void pawl_metrics_staged(int slot, uint64_t n);
void pawl_metrics_delivered(int slot, uint64_t n);
void pawl_metrics_redis_error(int slot);
/* A Sentinel listener pushed to a master other than the one before (events/redis.c). */
void pawl_metrics_redis_master_switch(int slot);
void pawl_metrics_delivery_latency(int slot, long long ns);

/* --- label sets, for the renderer ---------------------------------------------- */

/* "GET", ..., "OPTIONS", "other" for i < PAWL_METRICS_METHODS. */
const char *pawl_metrics_method_name(size_t i);
/* The status code of label i (0 for the last, "other"). */
int pawl_metrics_code_at(size_t i);
/* The route kind's label ("none" for PAWL_METRICS_ROUTE_NONE). */
const char *pawl_metrics_route_name(size_t kind);
/* "timeout", "unavailable", ... */
const char *pawl_metrics_db_error_name(size_t i);
/* Bucket i's upper bound as written in `le` ("0.0001"), i < PAWL_METRICS_BUCKETS. */
const char *pawl_metrics_bound_text(size_t i);

#endif
