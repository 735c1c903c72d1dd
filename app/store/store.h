/*
 * The store as the handlers see it: one table of operations (objects, list
 * timestamps, ACEs, group memberships, list pages, personal buckets) behind
 * a handle, so a handler runs the same over PostgreSQL (pg_store.c) and over
 * the in-memory fake of the unit tests. A call costs one indirect call and
 * allocates nothing but what it returns (in the caller's arena). Every
 * operation runs in the caller's transaction; none opens or ends one.
 */
#ifndef PAWL_STORE_H
#define PAWL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "core/arena.h"
#include "core/err.h"
#include "query/query.h"
#include "store/pg_slot.h"

/* A list: its parent's URI ("" for top level, or a user id) and its resource. */
struct pawl_list_key {
	const char *parent_id;
	const char *resource_name;
};

/* An object as stored: data is the served JSON text (arena-owned). */
struct pawl_object {
	const char *id;
	long long last_modified;
	bool deleted;
	const char *data;
};

/* One object of a list, for get, put and delete. */
struct pawl_store_item {
	const struct pawl_list_key *key;
	const char *id;
	bool lock;          /* get: lock the row until the transaction ends */
	const char *data;   /* put: the JSON object text, without id and last_modified */
	long long ts;       /* put: the floor of the new timestamp; delete: the tombstone's */
};

/* What a cascade removed: per resource name, how many objects (names sorted). */
#define PAWL_CASCADE_KINDS 8
struct pawl_cascade {
	size_t n;
	struct {
		const char *resource_name; /* arena-owned */
		long long count;
	} kinds[PAWL_CASCADE_KINDS];
};

/*
 * A deferred "does this live object exist?" (exists_defer): the answer may
 * ride with the transaction's next statement. The fields belong to the
 * store: PostgreSQL keeps its pipeline slot here, a store that answers at
 * once sets answered and exists. Zero it before use; read it with
 * pawl_store_exists_answer.
 */
struct pawl_store_check {
	struct pawl_pg_slot slot;
	bool answered;
	bool exists;
};

/* A (object URI, permission) pair that would grant what is asked. */
struct pawl_acl_grant {
	const char *object_id;
	const char *permission;
};

/*
 * Does one of principals (NULL-terminated; the groups they are members of
 * count too) hold one of the n grants? A grant names an exact ACE: the
 * inheritance (a parent's write, write implying read) is the caller's,
 * spelled out as more grants (resource/permissions.c).
 */
struct pawl_acl_ask {
	const char *const *principals;
	const struct pawl_acl_grant *grants;
	size_t n;
};

/* acl_read_object: one object, the caller's right on it and its ACL, in one go. */
struct pawl_acl_read {
	const struct pawl_list_key *key;
	const char *id;
	const char *object_id;          /* the object's URI */
	struct pawl_acl_ask ask;
	/* Answers. */
	struct pawl_object obj;         /* when found (tombstones too: obj.deleted) */
	bool found;
	bool allowed;
	const char *acl;                /* its ACL JSON for its writers, else "{}" */
};

/* acl_replace's change of one object's ACL. */
struct pawl_acl_change {
	const char *object_id;
	json_object *perms;   /* permission → array of principals (validated by the caller) */
	const char *writer;   /* added to "write" when not NULL */
	bool fresh;           /* object_id is new: no ACE to replace */
};

/* A page of a list, and what to read. */
struct pawl_list_page {
	struct pawl_object *items;
	size_t n;
	bool more;  /* there are objects after the last one returned */
};

struct pawl_list_request {
	const struct pawl_list_key *key;
	const struct pawl_query *query;   /* filters, bounds, sort; NULL: none */
	const struct pawl_token *after;   /* resume after this object; NULL: first page */
	long long limit;                  /* page size */
	bool lock;                        /* lock the rows (list DELETE) */
	/*
	 * When acl_prefix is set, only objects whose own URI (acl_prefix + "/" +
	 * id) grants one of the n_acl_perms acl_perms to one of acl_principals
	 * (NULL-terminated, groups included) match: the caller may not read (or
	 * write) the whole list.
	 */
	const char *acl_prefix;
	const char *const *acl_perms;
	size_t n_acl_perms;
	const char *const *acl_principals;
	/*
	 * History (sql/0008): when set, only entries whose readers at the time
	 * of the change include one of these principals (NULL-terminated, their
	 * groups included) match. by_readers: the caller sees few entries, so
	 * they are looked up through the readers' index, not along the list.
	 */
	const char *const *readers;
	bool by_readers;
	/* count: stop counting at this many (0: count them all). */
	long long count_cap;
};

/* A personal (`default`) bucket and the user it is for (sql/0006). */
struct pawl_personal_ref {
	const char *bucket_id;
	const char *bucket_uri;
	const char *user_id;
	bool read_only; /* check without recording an adoption (a readonly host, on a replica) */
};

/*
 * The operations. impl is the store's own state; arena owns every string
 * returned; err is filled on failure. Errors: PAWL_ERR_BACKEND (unreachable
 * or timed out), PAWL_ERR_CONFLICT (serialisation), PAWL_ERR_NOMEM, and
 * PAWL_ERR_INTERNAL (including "not implemented" from a partial store).
 * Writes are visible to the transaction's later reads at once, even when the
 * store sends them later (PostgreSQL pipelines statements nobody reads).
 */
struct pawl_store_ops {
	/* Objects. get: *found false when no row (tombstones are rows). */
	enum pawl_err (*get)(void *impl, struct pawl_arena *arena, const struct pawl_store_item *it,
	    struct pawl_object *out, bool *found, struct pawl_error *err);
	/* True when a live (not deleted) object key/id exists. */
	enum pawl_err (*exists)(void *impl, struct pawl_arena *arena, const struct pawl_list_key *key,
	    const char *id, bool *exists, struct pawl_error *err);
	/* exists, deferred into chk (see struct pawl_store_check). */
	enum pawl_err (*exists_defer)(void *impl, struct pawl_arena *arena,
	    const struct pawl_list_key *key, const char *id, struct pawl_store_check *chk,
	    struct pawl_error *err);
	/* The deferred answer, sending what is queued if it was not sent yet. */
	enum pawl_err (*exists_answer)(void *impl, struct pawl_arena *arena,
	    const struct pawl_store_check *chk, bool *exists, struct pawl_error *err);
	/*
	 * Bumps the list timestamp as bump does (floor it->ts) and creates or
	 * replaces the object at it in one step; out gets the stored object,
	 * whose data carries id and last_modified.
	 */
	enum pawl_err (*put)(void *impl, struct pawl_arena *arena, const struct pawl_store_item *it,
	    struct pawl_object *out, struct pawl_error *err);
	/* Turns the object into a tombstone at it->ts; PAWL_ERR_NO_OBJECT when no row. */
	enum pawl_err (*remove)(void *impl, struct pawl_arena *arena, const struct pawl_store_item *it,
	    struct pawl_object *out, struct pawl_error *err);
	/*
	 * The cascade of deleting the object at uri: every live object below it
	 * becomes a tombstone at a fresh timestamp of its list; counts in *out.
	 */
	enum pawl_err (*delete_children)(void *impl, struct pawl_arena *arena, const char *uri,
	    struct pawl_cascade *out, struct pawl_error *err);

	/* List timestamps: bump sets max(now, previous + 1, at_least) and returns it. */
	enum pawl_err (*bump)(void *impl, struct pawl_arena *arena, const struct pawl_list_key *key,
	    long long at_least, long long *ts, struct pawl_error *err);
	/*
	 * The list timestamp; a list never written gets "now" stored (its ETag
	 * stays), unless readonly, where that is PAWL_ERR_BACKEND.
	 */
	enum pawl_err (*list_timestamp)(void *impl, struct pawl_arena *arena,
	    const struct pawl_list_key *key, bool readonly, long long *ts, struct pawl_error *err);
	/* Writers' locks until the transaction ends (store/objects.h tells which excludes which). */
	enum pawl_err (*lock_list)(void *impl, struct pawl_arena *arena,
	    const struct pawl_list_key *key, struct pawl_error *err);
	enum pawl_err (*lock_lists)(void *impl, struct pawl_arena *arena,
	    const struct pawl_list_key *keys, size_t n, struct pawl_error *err);
	enum pawl_err (*lock_object)(void *impl, struct pawl_arena *arena,
	    const struct pawl_list_key *key, const char *id, struct pawl_error *err);

	/* Lists: one page in the query's sort order; the count of live matches. */
	enum pawl_err (*fetch)(void *impl, struct pawl_arena *arena,
	    const struct pawl_list_request *lr, struct pawl_list_page *page, struct pawl_error *err);
	enum pawl_err (*count)(void *impl, struct pawl_arena *arena,
	    const struct pawl_list_request *lr, long long *count, struct pawl_error *err);

	/* ACEs. */
	enum pawl_err (*acl_check)(void *impl, struct pawl_arena *arena, const struct pawl_acl_ask *ask,
	    bool *allowed, struct pawl_error *err);
	/* The object's ACL as {"perm": ["principal", ...]} JSON, sorted. */
	enum pawl_err (*acl_get)(void *impl, struct pawl_arena *arena, const char *object_id,
	    const char **json, struct pawl_error *err);
	/* The same when one of principals (groups too) holds write on the object itself, else "{}". */
	enum pawl_err (*acl_get_for_writer)(void *impl, struct pawl_arena *arena,
	    const char *object_id, const char *const *principals, const char **json,
	    struct pawl_error *err);
	enum pawl_err (*acl_read_object)(void *impl, struct pawl_arena *arena, struct pawl_acl_read *r,
	    struct pawl_error *err);
	/* Replaces the permissions named in ch->perms (others kept), then adds ch->writer. */
	enum pawl_err (*acl_replace)(void *impl, struct pawl_arena *arena,
	    const struct pawl_acl_change *ch, struct pawl_error *err);
	/* Deletes the ACEs of object_id and of every object below it. */
	enum pawl_err (*acl_delete_tree)(void *impl, struct pawl_arena *arena, const char *object_id,
	    struct pawl_error *err);

	/* Group memberships: set a group's members (replacing); forget groups at or below uri. */
	enum pawl_err (*set_members)(void *impl, struct pawl_arena *arena, const char *group_uri,
	    const char *const *members, size_t n, struct pawl_error *err);
	enum pawl_err (*delete_members)(void *impl, struct pawl_arena *arena, const char *uri,
	    struct pawl_error *err);
	/* The groups of principals, for the hello view: NULL-terminated, sorted. */
	enum pawl_err (*groups)(void *impl, struct pawl_arena *arena, const char *const *principals,
	    const char ***groups, struct pawl_error *err);

	/* Personal buckets (store/personal.h): record one; is the standing one the user's? */
	enum pawl_err (*personal_mark)(void *impl, struct pawl_arena *arena,
	    const struct pawl_personal_ref *p, struct pawl_error *err);
	enum pawl_err (*personal_check)(void *impl, struct pawl_arena *arena,
	    const struct pawl_personal_ref *p, bool *mine, struct pawl_error *err);
};

/* A store: its operations and their state. Long-lived (one per worker). */
struct pawl_store {
	const struct pawl_store_ops *ops;
	void *impl;
};

/*
 * The ACL JSON that acl_replace (fresh) leaves on a new object: perms plus
 * writer in "write", sorted, without duplicates -- what acl_get would
 * return, without asking. NULL on OOM. Pure (store/acl.c).
 */
const char *pawl_acl_fresh_json(struct pawl_arena *arena, json_object *perms, const char *writer);

/* The calls, one per operation, as above. */
static inline enum pawl_err pawl_store_get(const struct pawl_store *s, struct pawl_arena *arena,
    const struct pawl_store_item *it, struct pawl_object *out, bool *found, struct pawl_error *err)
{
	return s->ops->get(s->impl, arena, it, out, found, err);
}

static inline enum pawl_err pawl_store_exists(const struct pawl_store *s, struct pawl_arena *arena,
    const struct pawl_list_key *key, const char *id, bool *exists, struct pawl_error *err)
{
	return s->ops->exists(s->impl, arena, key, id, exists, err);
}

static inline enum pawl_err pawl_store_exists_defer(const struct pawl_store *s,
    struct pawl_arena *arena, const struct pawl_list_key *key, const char *id,
    struct pawl_store_check *chk, struct pawl_error *err)
{
	return s->ops->exists_defer(s->impl, arena, key, id, chk, err);
}

static inline enum pawl_err pawl_store_exists_answer(const struct pawl_store *s,
    struct pawl_arena *arena, const struct pawl_store_check *chk, bool *exists,
    struct pawl_error *err)
{
	return s->ops->exists_answer(s->impl, arena, chk, exists, err);
}

static inline enum pawl_err pawl_store_put(const struct pawl_store *s, struct pawl_arena *arena,
    const struct pawl_store_item *it, struct pawl_object *out, struct pawl_error *err)
{
	return s->ops->put(s->impl, arena, it, out, err);
}

static inline enum pawl_err pawl_store_remove(const struct pawl_store *s, struct pawl_arena *arena,
    const struct pawl_store_item *it, struct pawl_object *out, struct pawl_error *err)
{
	return s->ops->remove(s->impl, arena, it, out, err);
}

static inline enum pawl_err pawl_store_delete_children(const struct pawl_store *s,
    struct pawl_arena *arena, const char *uri, struct pawl_cascade *out, struct pawl_error *err)
{
	return s->ops->delete_children(s->impl, arena, uri, out, err);
}

static inline enum pawl_err pawl_store_bump(const struct pawl_store *s, struct pawl_arena *arena,
    const struct pawl_list_key *key, long long at_least, long long *ts, struct pawl_error *err)
{
	return s->ops->bump(s->impl, arena, key, at_least, ts, err);
}

static inline enum pawl_err pawl_store_list_timestamp(const struct pawl_store *s,
    struct pawl_arena *arena, const struct pawl_list_key *key, bool readonly, long long *ts,
    struct pawl_error *err)
{
	return s->ops->list_timestamp(s->impl, arena, key, readonly, ts, err);
}

static inline enum pawl_err pawl_store_lock_list(const struct pawl_store *s,
    struct pawl_arena *arena, const struct pawl_list_key *key, struct pawl_error *err)
{
	return s->ops->lock_list(s->impl, arena, key, err);
}

static inline enum pawl_err pawl_store_lock_lists(const struct pawl_store *s,
    struct pawl_arena *arena, const struct pawl_list_key *keys, size_t n, struct pawl_error *err)
{
	return s->ops->lock_lists(s->impl, arena, keys, n, err);
}

static inline enum pawl_err pawl_store_lock_object(const struct pawl_store *s,
    struct pawl_arena *arena, const struct pawl_list_key *key, const char *id,
    struct pawl_error *err)
{
	return s->ops->lock_object(s->impl, arena, key, id, err);
}

static inline enum pawl_err pawl_store_fetch(const struct pawl_store *s, struct pawl_arena *arena,
    const struct pawl_list_request *lr, struct pawl_list_page *page, struct pawl_error *err)
{
	return s->ops->fetch(s->impl, arena, lr, page, err);
}

static inline enum pawl_err pawl_store_count(const struct pawl_store *s, struct pawl_arena *arena,
    const struct pawl_list_request *lr, long long *count, struct pawl_error *err)
{
	return s->ops->count(s->impl, arena, lr, count, err);
}

static inline enum pawl_err pawl_store_acl_check(const struct pawl_store *s,
    struct pawl_arena *arena, const struct pawl_acl_ask *ask, bool *allowed,
    struct pawl_error *err)
{
	return s->ops->acl_check(s->impl, arena, ask, allowed, err);
}

static inline enum pawl_err pawl_store_acl_get(const struct pawl_store *s,
    struct pawl_arena *arena, const char *object_id, const char **json, struct pawl_error *err)
{
	return s->ops->acl_get(s->impl, arena, object_id, json, err);
}

static inline enum pawl_err pawl_store_acl_get_for_writer(const struct pawl_store *s,
    struct pawl_arena *arena, const char *object_id, const char *const *principals,
    const char **json, struct pawl_error *err)
{
	return s->ops->acl_get_for_writer(s->impl, arena, object_id, principals, json, err);
}

static inline enum pawl_err pawl_store_acl_read_object(const struct pawl_store *s,
    struct pawl_arena *arena, struct pawl_acl_read *r, struct pawl_error *err)
{
	return s->ops->acl_read_object(s->impl, arena, r, err);
}

static inline enum pawl_err pawl_store_acl_replace(const struct pawl_store *s,
    struct pawl_arena *arena, const struct pawl_acl_change *ch, struct pawl_error *err)
{
	return s->ops->acl_replace(s->impl, arena, ch, err);
}

static inline enum pawl_err pawl_store_acl_delete_tree(const struct pawl_store *s,
    struct pawl_arena *arena, const char *object_id, struct pawl_error *err)
{
	return s->ops->acl_delete_tree(s->impl, arena, object_id, err);
}

static inline enum pawl_err pawl_store_set_members(const struct pawl_store *s,
    struct pawl_arena *arena, const char *group_uri, const char *const *members, size_t n,
    struct pawl_error *err)
{
	return s->ops->set_members(s->impl, arena, group_uri, members, n, err);
}

static inline enum pawl_err pawl_store_delete_members(const struct pawl_store *s,
    struct pawl_arena *arena, const char *uri, struct pawl_error *err)
{
	return s->ops->delete_members(s->impl, arena, uri, err);
}

static inline enum pawl_err pawl_store_groups(const struct pawl_store *s, struct pawl_arena *arena,
    const char *const *principals, const char ***groups, struct pawl_error *err)
{
	return s->ops->groups(s->impl, arena, principals, groups, err);
}

static inline enum pawl_err pawl_store_personal_mark(const struct pawl_store *s,
    struct pawl_arena *arena, const struct pawl_personal_ref *p, struct pawl_error *err)
{
	return s->ops->personal_mark(s->impl, arena, p, err);
}

static inline enum pawl_err pawl_store_personal_check(const struct pawl_store *s,
    struct pawl_arena *arena, const struct pawl_personal_ref *p, bool *mine,
    struct pawl_error *err)
{
	return s->ops->personal_check(s->impl, arena, p, mine, err);
}

#endif
