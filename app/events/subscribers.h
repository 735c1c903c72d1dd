/*
 * The worker's in-process subscribers (events/subscribers.c): registered at
 * start, called for each staged event of a published stage.
 */
#ifndef PAWL_SUBSCRIBERS_H
#define PAWL_SUBSCRIBERS_H

#include <stdbool.h>

#include "core/err.h"
#include "events/stage.h"
#include "pawl/event.h"

struct pawl_subscribers;

struct pawl_subscribers *pawl_subscribers_new(void);
void pawl_subscribers_free(struct pawl_subscribers *reg);

/*
 * Registers fn for events of type whose action is in actions (PAWL_EVENT_*
 * bits) and, unless resources is NULL, whose resource_name is listed
 * (NULL-terminated; copied). Subscribers run in registration order.
 */
enum pawl_err pawl_subscribers_subscribe(struct pawl_subscribers *reg, enum pawl_event_type type,
    unsigned actions, const char *const *resources, pawl_event_fn *fn, void *ctx);

/* True when some subscriber would receive action on resource (to skip staging reads). */
bool pawl_subscribers_wanted(const struct pawl_subscribers *reg, enum pawl_event_action action,
    const char *resource_name);

/* Calls every matching subscriber for every staged event, in order. */
void pawl_subscribers_dispatch(const struct pawl_subscribers *reg, const struct pawl_stage *st);

/* The filter rule shared by subscribers and listeners (Cliquet's predicates). */
bool pawl_subscribers_match(unsigned actions, const char *const *resources,
    enum pawl_event_action action, const char *resource_name);

#endif
