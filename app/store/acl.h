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
#include "store/store.h"

struct pawl_pg;

/* SQL: the principals bound as text[] in $n, plus the groups they belong to. */
#define PAWL_ACL_EXPANDED(n) "($" #n "::text[] || ARRAY(SELECT principal FROM user_principals " \
	"WHERE user_id = ANY($" #n "::text[])))"

/* The same with the parameter's number as a printf argument (twice: "%d", "%d"). */
#define PAWL_ACL_EXPANDED_AT "($%d::text[] || ARRAY(SELECT principal FROM user_principals " \
	"WHERE user_id = ANY($%d::text[])))"

/* struct pawl_acl_grant: store/store.h. */

/*
 * True when one of ask->principals (groups are added from user_principals
 * for them) holds one of its ask->n grants (struct pawl_acl_ask: store/store.h).
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

/*
 * Reads the object rd names and, in the same statement, whether rd->ask's
 * principals hold one of its grants (rd->allowed) and the object's ACL for
 * its writers (rd->acl, as above); struct pawl_acl_read: store/store.h.
 * rd->found is false when no row exists (tombstones are returned, deleted set).
 */
enum pawl_err pawl_acl_read_object(struct pawl_pg *pg, struct pawl_arena *arena,
    struct pawl_acl_read *rd, struct pawl_error *err);

/*
 * Replaces the permissions of ch->object_id that ch->perms names (the others
 * are kept; perms may be NULL), then adds ch->writer (may be NULL) to
 * "write". ch->fresh: the object is new and has no ACE yet, so there is
 * nothing to replace. struct pawl_acl_change: store/store.h.
 */
enum pawl_err pawl_acl_replace(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_acl_change *ch, struct pawl_error *err);

/* pawl_acl_fresh_json, what pawl_acl_replace(fresh) leaves: store/store.h. */

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
