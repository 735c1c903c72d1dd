/*
 * Kinto's permission model (docs/protocol.md §5) over the resource
 * table: who the caller is (principals), which (object, permission) pairs
 * grant an operation through the inheritance tree, global grants from the
 * `<resource>_<perm>_principals` settings, and the 401/403 decision.
 */
#ifndef PAWL_PERMISSIONS_H
#define PAWL_PERMISSIONS_H

#include <stdbool.h>
#include <json-c/json.h>

#include "store/store.h"
#include "resource/resource.h"

/*
 * Reading an object's own attributes: "read", plus the `<child>:create`
 * permissions it holds (Kinto lets a collection creator read the bucket).
 * Plain "read" is what reading its children (lists) needs.
 */
#define PAWL_PERMISSION_ATTRIBUTES "read-attributes"

/* The request's principals: its user id, system.Everyone, system.Authenticated. */
const char *const *pawl_permissions_principals(struct pawl_arena *arena, const char *user_id);

/*
 * The grants for perm ("read", "write" or "<child>:create") on the object at
 * uri, an object of resource res (NULL and uri "" for the root, where only
 * "bucket:create"-style permissions exist). Pure.
 */
size_t pawl_permissions_grants(struct pawl_arena *arena, const struct pawl_resource_table *all,
    const struct pawl_resource *res, const char *uri, const char *perm,
    struct pawl_acl_grant **out);

/* Whether the caller may perm on (res, uri): settings first, then the ACEs. */
enum pawl_err pawl_permissions_allowed(struct pawl_rctx *c, const struct pawl_resource *res,
    const char *uri, const char *perm, bool *allowed, struct pawl_error *err);

/* As allowed, but denial is the error: 401 errno 104 when anonymous, else 403 errno 121. */
enum pawl_err pawl_permissions_require(struct pawl_rctx *c, const struct pawl_resource *res,
    const char *uri, const char *perm, struct pawl_error *err);

/* May the caller create an object of c->res in this list (`<res>:create` on the parent)? */
enum pawl_err pawl_permissions_can_create(struct pawl_rctx *c, bool *allowed,
    struct pawl_error *err);

/*
 * Whole-list access for perm ("read" or "write"): granted on the parent
 * object, or globally by the settings for c->res. When false, the list is
 * filtered to the objects the caller holds perm on (pawl_permissions_filter).
 */
enum pawl_err pawl_permissions_list_access(struct pawl_rctx *c, const char *perm, bool *full,
    struct pawl_error *err);

/* Sets lr's ACL filter: objects of the list granting perm (or write) to the caller. */
void pawl_permissions_filter(struct pawl_rctx *c, const char *perm, struct pawl_list_request *lr);

/* The denial error for this caller (401 or 403). */
enum pawl_err pawl_permissions_deny(struct pawl_rctx *c, struct pawl_error *err);

/*
 * Validates a body's "permissions": keys among the resource's permissions,
 * values arrays of strings. 400 errno 107 otherwise.
 */
enum pawl_err pawl_permissions_validate(const struct pawl_rctx *c, json_object *perms,
    struct pawl_error *err);

/*
 * After a create or update of the object at c->uri (uri may differ for POST):
 * replaces the given permissions and adds the caller to "write" (explicit_permissions).
 */
enum pawl_err pawl_permissions_store(struct pawl_rctx *c, const char *uri, json_object *perms,
    struct pawl_error *err);

/*
 * A PUT's permissions replace the whole ACL, as in Kinto: every permission of
 * the resource that perms does not name is added as an empty list.
 */
enum pawl_err pawl_permissions_complete(const struct pawl_rctx *c, json_object *perms);

/*
 * Item GET in one statement: fills *r (store/store.h) with the object (found:
 * a row exists, tombstones included), whether the caller may perm on it
 * (allowed), and the "permissions" to answer (acl, never NULL).
 */
enum pawl_err pawl_permissions_read_object(struct pawl_rctx *c, const char *perm,
    struct pawl_acl_read *r, struct pawl_error *err);

/* The "permissions" to answer for the object at uri: its ACL if the caller may write it, else {}. */
const char *pawl_permissions_answer(struct pawl_rctx *c, const char *uri, struct pawl_error *err);

/* The same, failing when the database does (earlier deferred writes included). */
enum pawl_err pawl_permissions_acl(struct pawl_rctx *c, const char *uri, const char **acl,
    struct pawl_error *err);

/* The same for an object pawl_permissions_store(perms) just created (no read under a fresh id). */
enum pawl_err pawl_permissions_created_acl(struct pawl_rctx *c, const char *uri,
    json_object *perms, const char **acl, struct pawl_error *err);

/* True when one of principals (NULL-terminated) is in the space-separated list (NULL: none). */
bool pawl_permissions_listed(const char *list, const char *const *principals);

/*
 * Kinto's inheritance tree read downwards within one object (permissions_tree.c):
 * what holding perm on an object of res shows on that same object, perm
 * first: `write` gives `read`, and on an object with children
 * `read:attributes` and every `<child>:create`; `read` and `<child>:create`
 * give `read:attributes` there. res NULL (the root): perm alone.
 * NULL-terminated, in the arena; NULL when out of memory. Pure.
 */
const char *const *pawl_permissions_implied(struct pawl_arena *arena,
    const struct pawl_resource_table *all, const struct pawl_resource *res, const char *perm);

/* A permission the settings grant on every object of a kind (on NULL: the root, "/"). */
struct pawl_settings_grant {
	const struct pawl_resource *on;
	const char *permission;
};

/*
 * The settings' grants to principals, as Kinto's permissions endpoint lists
 * them: `<child>_create_principals` gives `<child>:create` on the parent kind
 * (the root for buckets and accounts), `<kind>_read_principals` and
 * `<kind>_write_principals` give read and write, for the root, buckets,
 * collections and groups only (Kinto lists none on records). Pure.
 */
size_t pawl_permissions_from_settings(struct pawl_arena *arena, const struct pawl_config *cfg,
    const struct pawl_resource_table *all, const char *const *principals,
    struct pawl_settings_grant **out);

#endif
