/*
 * pawl's public event API (docs/protocol.md §8): what code compiled into pawl and
 * listener plugins see of a ResourceChanged / ResourceRead event. Events are
 * opaque and read-only; every accessor's result lives as long as the event,
 * which is until the callback returns. Keep a copy to use it later.
 *
 * Stability: this header and listener.h are the plugin contract, versioned
 * by PAWL_LISTENER_ABI in listener.h. The accessors are not in a library: a
 * plugin links against nothing and they resolve to pawl-fcgi's own (it
 * exports pawl_event_*) when pawl dlopen()s it. Self-contained; usable from
 * C11 and C++.
 */
#ifndef PAWL_EVENT_H
#define PAWL_EVENT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Actions, as bits so filters can be or-ed (same values as the config's). */
enum pawl_event_action {
	PAWL_EVENT_CREATE = 0x1,
	PAWL_EVENT_UPDATE = 0x2,
	PAWL_EVENT_DELETE = 0x4,
	PAWL_EVENT_READ = 0x8
};

enum pawl_event_type {
	PAWL_EVENT_RESOURCE_CHANGED, /* create, update, delete: after COMMIT */
	PAWL_EVENT_RESOURCE_READ     /* read: only staged when someone subscribed */
};

struct pawl_event;

/* "create", "update", "delete" or "read". */
const char *pawl_event_action_name(enum pawl_event_action action);

enum pawl_event_type pawl_event_type(const struct pawl_event *ev);
enum pawl_event_action pawl_event_action(const struct pawl_event *ev);

/* The list timestamp after the (first) write, in ms. */
long long pawl_event_timestamp(const struct pawl_event *ev);

/* The stable id of this event (a UUID), also in the payload as "event_id". */
const char *pawl_event_id(const struct pawl_event *ev);

/* resource_name, e.g. "record". */
const char *pawl_event_resource_name(const struct pawl_event *ev);

/* The request path without /v1 of the first operation, e.g. "/buckets/b/collections/c/records/r". */
const char *pawl_event_uri(const struct pawl_event *ev);

/* The prefixed user id ("basicauth:...") or NULL when anonymous. */
const char *pawl_event_user_id(const struct pawl_event *ev);

/*
 * A payload field as a string: any matchdict value by placeholder name
 * ("bucket_id", "collection_id"), "<resource_name>_id" on item URLs, and
 * "action", "uri", "user_id", "resource_name", "event_id". NULL when absent.
 */
const char *pawl_event_get(const struct pawl_event *ev, const char *key);

/*
 * The payload as compact JSON, exactly what the Redis listener pushes:
 * {"timestamp","action","uri","user_id","resource_name",<matchdict>...,
 *  "<resource_name>_id" (items only),"cascade" (deletes that removed
 *  children: {"<resource_name>": count, ...}),"event_id",
 *  "impacted" ([{"id","last_modified"}, ...]: every impacted object, in
 *  commit order; no object data: read it with pawl_event_impacted_new/_old)}.
 */
const char *pawl_event_payload(const struct pawl_event *ev);

/* Impacted objects (merged operations append): create {new}, update {old,new},
 * delete {old, new: tombstone}; read: the objects read, as `new`. */
size_t pawl_event_impacted_count(const struct pawl_event *ev);

/* The i-th impacted object's JSON text, or NULL when it has none (e.g. old of a create). */
const char *pawl_event_impacted_new(const struct pawl_event *ev, size_t i);
const char *pawl_event_impacted_old(const struct pawl_event *ev, size_t i);

/* A subscriber: called once per matching event, after COMMIT, in registration order. */
typedef void pawl_event_fn(const struct pawl_event *ev, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
