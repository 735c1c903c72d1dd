/*
 * Event staging and dispatch inside pawl (the public view is event.h).
 * A stage collects a transaction's events, merged per (resource_name,
 * parent, action) in first-occurrence order; nothing leaves it before
 * COMMIT, and a rollback clears it. The registry holds the subscribers.
 */
#ifndef PAWL_STAGE_H
#define PAWL_STAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/err.h"
#include "pawl/event.h"
#include "store/objects.h"
#include "core/route.h"

/* One operation to stage. Strings are copied into the stage's arena. */
struct pawl_stage_op {
	enum pawl_event_action action;
	const char *resource_name;
	const char *parent_id;        /* the list's parent: merge key part */
	const char *uri;              /* request path without /v1 */
	const char *user_id;          /* NULL when anonymous */
	long long timestamp;          /* the list timestamp after the write */
	const struct pawl_matchdict *md;
	bool item;                    /* item URL: add "<resource_name>_id" */
	const char *new_json;         /* impacted object, or NULL */
	const char *old_json;
	const struct pawl_cascade *cascade; /* a delete's removed children, or NULL */
};

struct pawl_stage;

struct pawl_stage *pawl_stage_new(struct pawl_arena *arena);

/* Records op (copied). Events are built from the ops when the stage is sealed. */
enum pawl_err pawl_stage_add(struct pawl_stage *st, const struct pawl_stage_op *op,
    struct pawl_error *err);

/* The ops staged so far, in order (history entries are built from them). */
size_t pawl_stage_op_count(const struct pawl_stage *st);
const struct pawl_stage_op *pawl_stage_op_at(const struct pawl_stage *st, size_t i);

/* The number of ops so far, to rewind to (a batch's failed sub-request). */
size_t pawl_stage_mark(const struct pawl_stage *st);
void pawl_stage_rewind(struct pawl_stage *st, size_t mark);

/* Forgets every op and event (rollback). */
void pawl_stage_clear(struct pawl_stage *st);

/*
 * Builds the events: one per (resource_name, parent, action) in first-occurrence
 * order, payload from the first op, impacted objects from all of them, each with
 * a fresh event_id; the cascade counts of all of them summed into the payload's
 * "cascade" member (absent when nothing was removed below), and each impacted
 * object's id and last_modified, in op order, in its "impacted" member. Called once, before the outbox rows are written; the stage
 * takes no ops afterwards.
 */
enum pawl_err pawl_stage_seal(struct pawl_stage *st, struct pawl_error *err);

/*
 * Whether the events' outbox rows are written (in the write transaction).
 * Events of a request that wrote nothing (reads) are outboxed after it.
 */
void pawl_stage_mark_outboxed(struct pawl_stage *st);
bool pawl_stage_outboxed(const struct pawl_stage *st);

/* The sealed events (0 before sealing). */
size_t pawl_stage_count(const struct pawl_stage *st);
const struct pawl_event *pawl_stage_event(const struct pawl_stage *st, size_t i);

/*
 * The event's payload with each "impacted" entry's object data ("new",
 * "old"), built in arena: what a listener with include_data receives. The
 * compact texts of an event's objects add up to at most max_bytes; entries
 * past that carry "data_truncated":true instead (stage.c, put_impacted).
 * Every other byte is pawl_event_payload's. NULL on OOM.
 */
const char *pawl_stage_payload_data(struct pawl_arena *arena, const struct pawl_event *ev,
    size_t max_bytes);

/* The list an event belongs to ("<parent_id> <resource_name>"): the ordering key. */
const char *pawl_event_list_key(const struct pawl_event *ev);

#endif
