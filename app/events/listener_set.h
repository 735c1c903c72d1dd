/*
 * Configured listeners (docs/protocol.md §8, `event_listeners`): the Redis queue
 * listener, durable through the outbox, and plugin listeners, loaded from
 * shared objects and subscribed in-process. Built once per worker (and in
 * the relay); requests only read them.
 */
#ifndef PAWL_LISTENER_SET_H
#define PAWL_LISTENER_SET_H

#include <stdbool.h>
#include <json-c/json.h>

#include "pawl/listener.h"
#include "core/arena.h"
#include "core/config.h"
#include "events/stage.h"
#include "events/subscribers.h"

struct pawl_pg;
struct pawl_redis;
struct pawl_listener_set;

/*
 * Builds every listener of cfg: Redis handles (no connection yet) and
 * plugins (dlopen + pawl_listener_load), subscribing plugins to reg. Fails
 * with PAWL_ERR_CONFIG naming the listener when a plugin cannot load.
 */
struct pawl_listener_set *pawl_listener_set_new(const struct pawl_config *cfg,
    struct pawl_subscribers *reg, struct pawl_error *err);

/*
 * Opens the plugin library of c and checks the ABI of pawl/listener.h: both
 * exported symbols, and a pawl_listener_abi equal to this pawl's. Sets *dl
 * and *load, or fails with PAWL_ERR_CONFIG naming the listener and leaves
 * nothing open. Does not call the plugin (`check` uses it as it is).
 */
enum pawl_err pawl_listener_plugin_open(const struct pawl_listener_config *c, void **dl,
    pawl_listener_load_fn **load, struct pawl_error *err);

/*
 * The Redis handle of listener c (use = redis): at its url, or through its
 * Sentinels; does not connect. out NULL: only checks the settings parse.
 * PAWL_ERR_CONFIG naming the setting.
 */
enum pawl_err pawl_listener_redis_new(const struct pawl_listener_config *c, int timeout_ms,
    struct pawl_redis **out, struct pawl_error *err);

/* Closes plugins (their close hook) and connections. */
void pawl_listener_set_free(struct pawl_listener_set *ls);

/* True when some durable listener would take action on resource_name. */
bool pawl_listener_set_wanted(const struct pawl_listener_set *ls, enum pawl_event_action action,
    const char *resource_name);

/*
 * Inside the write transaction, before COMMIT: one outbox row per staged
 * event per durable listener whose filters match; then the stage is marked
 * outboxed (a second call writes nothing). After a read, the same on its own.
 */
enum pawl_err pawl_listener_set_stage_outbox(const struct pawl_listener_set *ls, struct pawl_pg *pg,
    struct pawl_arena *arena, struct pawl_stage *st, struct pawl_error *err);

/*
 * Counts, per listener, the events of a committed stage that pass its
 * filters (pawl_events_staged_total; core/metrics.h). Called once per stage,
 * at its commit; NULL ls or st count nothing.
 */
void pawl_listener_set_count_staged(const struct pawl_listener_set *ls,
    const struct pawl_stage *st);

/* Durable listener by name, its Redis handle and list name (NULL when unknown). */
struct pawl_redis *pawl_listener_set_redis(const struct pawl_listener_set *ls, const char *name,
    const char **listname);

/*
 * The outage record of the durable listener name (NULL when unknown): the
 * failures of this process's pushes, for the throttled delivery lines.
 */
struct pawl_outage;
struct pawl_outage *pawl_listener_set_outage(const struct pawl_listener_set *ls,
    const char *name);

/* The settings of the listener name (NULL when unknown). */
const struct pawl_listener_config *pawl_listener_set_config(const struct pawl_listener_set *ls,
    const char *name);

/* The names of durable listeners whose filters match ev (NULL-terminated, in arena). */
const char **pawl_listener_set_durable_for(const struct pawl_listener_set *ls,
    struct pawl_arena *arena, const struct pawl_event *ev);

/* The names of the durable listeners (NULL-terminated, in arena; *n of them). */
const char **pawl_listener_set_durable_names(const struct pawl_listener_set *ls,
    struct pawl_arena *arena, size_t *n);

/* True when a durable (outbox) listener is configured: the relay must run. */
bool pawl_listener_set_any_durable(const struct pawl_listener_set *ls);

/*
 * Adds one entry per listener to out (heartbeat): a boolean, false for one
 * that did not answer in time, or null for a plugin with no health check. All of them share timeout_ms; one that starts
 * after the budget is spent still gets grace_ms (so a hung listener does not
 * make the healthy ones after it false). Returns whether all said true.
 */
bool pawl_listener_set_heartbeat(const struct pawl_listener_set *ls, json_object *out, int timeout_ms,
    int grace_ms);

#endif
