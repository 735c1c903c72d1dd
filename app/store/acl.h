/*
 * Access control entries and group memberships on PostgreSQL. Checks take
 * the request's own principals as a bound text[] and expand group
 * membership in the same statement; the worker keeps no ACL state.
 */
#ifndef PAWL_ACL_H
#define PAWL_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

#include "core/arena.h"
#include "core/err.h"

struct pawl_pg;

/* SQL: the principals bound as text[] in $n, plus the groups they belong to. */
#define PAWL_ACL_EXPANDED(n) "($" #n "::text[] || ARRAY(SELECT principal FROM user_principals " \
	"WHERE user_id = ANY($" #n "::text[])))"

/* A (object URI, permission) pair that would grant what is asked. */
struct pawl_acl_grant {
	const char *object_id;
	const char *permission;
};

/* Who asks, and the (object URI, permission) pairs any one of which lets them. */
struct pawl_acl_ask {
	const char *const *principals; /* NULL-terminated; their groups are added in SQL */
	const struct pawl_acl_grant *grants;
	size_t n_grants;
};

/*
 * True when one of ask->principals (groups are added from user_principals
 * for them) holds one of the grants.
 */
enum pawl_err pawl_acl_check(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_acl_ask *ask, bool *allowed, struct pawl_error *err);

/* The caller's principals with their groups, as a text[] literal (for list filters). */
const char *pawl_acl_principals_param(struct pawl_arena *arena, const char *const *principals);

/* The object's ACL as {"perm": ["principal", ...]} JSON text (arena). */
enum pawl_err pawl_acl_get(struct pawl_pg *pg, struct pawl_arena *arena, const char *object_id,
    const char **json, struct pawl_error *err);

/*
 * The object's ACL as JSON text when one of principals (or their groups)
 * holds `write` on the object itself, else "{}" (Kinto shows ACLs to writers).
 */
enum pawl_err pawl_acl_get_for_writer(struct pawl_pg *pg, struct pawl_arena *arena,
    const char *object_id, const char *const *principals, const char **json,
    struct pawl_error *err);

struct pawl_object;
struct pawl_list_key;

/* One object to read, and the permission check its read must pass. */
struct pawl_acl_object_read {
	const struct pawl_list_key *key; /* its list */
	const char *id;
	const char *object_id;           /* its URI, where its ACEs hang */
	struct pawl_acl_ask ask;
};

/* What pawl_acl_read_object found. Strings live in the arena. */
struct pawl_acl_object_answer {
	struct pawl_object *object; /* the caller's, filled when found */
	bool found;                 /* a row exists (tombstones too: object->deleted) */
	bool allowed;               /* the principals hold one of the grants */
	const char *acl;            /* the object's ACL for its writers, else "{}" */
};

/*
 * Reads one object and, in the same statement, whether the principals hold
 * one of the grants and the object's ACL for its writers (as
 * pawl_acl_get_for_writer). out->object must point to the caller's object.
 */
enum pawl_err pawl_acl_read_object(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_acl_object_read *in, struct pawl_acl_object_answer *out,
    struct pawl_error *err);

/* A change to one object's ACL. */
struct pawl_acl_change {
	const char *object_id;
	json_object *perms;  /* permission → array of principals (validated), or NULL */
	const char *writer;  /* added to "write", or NULL */
	bool fresh;          /* object_id is new and has no ACE yet: nothing to replace */
};

/*
 * Replaces the permissions of ch->object_id that ch->perms names (the others
 * are kept), then adds ch->writer to "write".
 */
enum pawl_err pawl_acl_replace(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_acl_change *ch, struct pawl_error *err);

/*
 * The ACL JSON pawl_acl_replace(fresh) leaves on a new object: perms plus
 * writer in "write", sorted, without duplicates -- what a read would return,
 * without the read. NULL on OOM.
 */
const char *pawl_acl_fresh_json(struct pawl_arena *arena, json_object *perms, const char *writer);

/* Deletes the ACEs of object_id and of every object below it. */
enum pawl_err pawl_acl_delete_tree(struct pawl_pg *pg, struct pawl_arena *arena,
    const char *object_id, struct pawl_error *err);

/* Sets the members of group_uri (replacing the old ones); members NULL: none. */
enum pawl_err pawl_acl_set_members(struct pawl_pg *pg, struct pawl_arena *arena,
    const char *group_uri, const char *const *members, size_t n, struct pawl_error *err);

/* Removes every membership of groups at or below uri (a deleted group or bucket). */
enum pawl_err pawl_acl_delete_members(struct pawl_pg *pg, struct pawl_arena *arena,
    const char *uri, struct pawl_error *err);

/* The groups (principals) of user_id, for the hello view. NULL-terminated, arena. */
enum pawl_err pawl_acl_groups(struct pawl_pg *pg, struct pawl_arena *arena,
    const char *const *principals, const char ***groups, struct pawl_error *err);

#endif
