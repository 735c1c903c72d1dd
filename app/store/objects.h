/*
 * Object storage on PostgreSQL: one table for every resource's objects and
 * tombstones, one timestamp row per list. Every call runs parameterised SQL
 * on the worker's connection; the caller owns the transaction.
 */
#ifndef PAWL_OBJECTS_H
#define PAWL_OBJECTS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/err.h"
#include "store/pg.h"
#include "store/store.h"

struct pawl_pg;

/* struct pawl_list_key, pawl_object and pawl_cascade: store/store.h. */

/*
 * Reads object it->id of list it->key (tombstones included). *found false
 * when absent. With it->lock, locks the row until the transaction ends.
 */
enum pawl_err pawl_objects_get(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_store_item *it, struct pawl_object *out, bool *found,
    struct pawl_error *err);

/*
 * pawl_objects_exists, deferred (pawl_pg_defer_result): the answer rides with
 * the transaction's next round trip; read it with pawl_objects_exists_in.
 */
enum pawl_err pawl_objects_exists_defer(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *key, const char *id, struct pawl_pg_slot *slot,
    struct pawl_error *err);
bool pawl_objects_exists_in(const struct pawl_pg_slot *slot);

/* True when a live (not deleted) object exists. */
enum pawl_err pawl_objects_exists(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *key, const char *id, bool *exists, struct pawl_error *err);

/*
 * Bumps the list timestamp to max(now, previous + 1, at_least) and returns it.
 * Holds the list's row lock until the transaction ends: writers of one list
 * commit in timestamp order. Must run inside a transaction.
 */
enum pawl_err pawl_objects_bump(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *key, long long at_least, long long *ts,
    struct pawl_error *err);

/*
 * Serialises the writers of one list from the start of their transaction
 * (an advisory lock held until it ends), so "does the object exist?" and the
 * write that depends on it cannot interleave with another writer's: for
 * writes to the whole list (plural DELETE) or to an id found in the body.
 */
enum pawl_err pawl_objects_lock_list(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *key, struct pawl_error *err);

/*
 * pawl_objects_lock_list for n lists at once, taken in one canonical order
 * (the locks' own numbers), whatever the order of keys: transactions that
 * lock several lists up front this way never wait for each other in a
 * cycle. Deferred like the single lock.
 */
enum pawl_err pawl_objects_lock_lists(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *keys, size_t n, struct pawl_error *err);

/*
 * The lock of a writer of one object (item routes): the list's advisory lock
 * shared -- writers of different objects of a list go on together until the
 * timestamp bump, while a plural DELETE (pawl_objects_lock_list) excludes
 * them all -- and the object's own, exclusive, so "does it exist?" and the
 * write cannot interleave with another writer of the same object.
 */
enum pawl_err pawl_objects_lock_object(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *key, const char *id, struct pawl_error *err);

/*
 * The list timestamp; an empty list that was never written gets "now" stored
 * (so its ETag stays stable), unless readonly, where that is PAWL_ERR_BACKEND.
 */
enum pawl_err pawl_objects_list_timestamp(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *key, bool readonly, long long *ts, struct pawl_error *err);

/*
 * Bumps the list timestamp as pawl_objects_bump does (at_least included) and
 * creates or replaces object id with the JSON object text data (without id
 * and last_modified, which are added) at that timestamp, in one statement
 * (it->key, it->id, it->data; it->ts is the floor, at_least).
 * out gets the stored row. Must run inside a transaction.
 */
enum pawl_err pawl_objects_put(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_store_item *it, struct pawl_object *out, struct pawl_error *err);

/* Turns object it->id into a tombstone at it->ts. out gets the tombstone. */
enum pawl_err pawl_objects_delete(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_store_item *it, struct pawl_object *out, struct pawl_error *err);

/*
 * The cascade of a delete, in one statement: every live object below the
 * object whose URI is uri (its children, grandchildren...) becomes a
 * tombstone with a fresh timestamp of its list, and those list timestamps
 * follow. Timestamp rows are kept, so a list re-created under the same URL
 * never goes back in time. out gets the counts per resource name.
 */
enum pawl_err pawl_objects_delete_children(struct pawl_pg *pg, struct pawl_arena *arena,
    const char *uri, struct pawl_cascade *out, struct pawl_error *err);

#endif
