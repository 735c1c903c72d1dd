/*
 * The fake store's ACEs and group memberships (fake_store.c has the rest):
 * store/acl.c's statements over two arrays. A check matches exact (object,
 * permission) grants held by the principals or by a group one of them is a
 * member of; inheritance is the caller's, spelled out as grants.
 */
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "core/json.h"
#include "fake_store_impl.h"

/* Is principal one of principals, or in a group one of them is a member of? */
static bool holds(const struct fake_store *f, const char *const *principals, const char *principal)
{
	const char *const *p;
	size_t i;

	for (p = principals; p != NULL && *p != NULL; p++) {
		if (strcmp(*p, principal) == 0)
			return true;
		for (i = 0; i < f->n_members; i++)
			if (strcmp(f->members[i].user_id, *p) == 0 &&
			    strcmp(f->members[i].group, principal) == 0)
				return true;
	}
	return false;
}

/* An ACE (object_id, permission) held by principals (or their groups). */
bool fake_granted(const struct fake_store *f, const char *const *principals,
    const char *object_id, const char *permission)
{
	size_t i;

	for (i = 0; i < f->n_aces; i++)
		if (strcmp(f->aces[i].object_id, object_id) == 0 &&
		    strcmp(f->aces[i].permission, permission) == 0 &&
		    holds(f, principals, f->aces[i].principal))
			return true;
	return false;
}

enum pawl_err fake_acl_check(void *impl, struct pawl_arena *arena,
    const struct pawl_acl_ask *ask, bool *allowed, struct pawl_error *err)
{
	size_t g;

	(void)arena;
	(void)err;
	*allowed = false;
	for (g = 0; g < ask->n && !*allowed; g++)
		*allowed = fake_granted(impl, ask->principals, ask->grants[g].object_id,
		    ask->grants[g].permission);
	return PAWL_OK;
}

/* The ACL of object_id as store/acl.c's JSON (sorted, deduplicated). */
enum pawl_err fake_acl_get(void *impl, struct pawl_arena *arena, const char *object_id,
    const char **json, struct pawl_error *err)
{
	struct fake_store *f = impl;
	json_object *perms = pawl_json_own(arena, json_object_new_object()), *list;
	size_t i;

	if (perms == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < f->n_aces; i++) {
		if (strcmp(f->aces[i].object_id, object_id) != 0)
			continue;
		if (!json_object_object_get_ex(perms, f->aces[i].permission, &list)) {
			list = json_object_new_array();
			json_object_object_add(perms, f->aces[i].permission, list);
		}
		json_object_array_add(list, json_object_new_string(f->aces[i].principal));
	}
	if ((*json = pawl_acl_fresh_json(arena, perms, NULL)) == NULL)
		return pawl_error_nomem(err);
	return PAWL_OK;
}

enum pawl_err fake_acl_get_for_writer(void *impl, struct pawl_arena *arena,
    const char *object_id, const char *const *principals, const char **json,
    struct pawl_error *err)
{
	*json = "{}";
	if (!fake_granted(impl, principals, object_id, "write"))
		return PAWL_OK;
	return fake_acl_get(impl, arena, object_id, json, err);
}

enum pawl_err fake_acl_read_object(void *impl, struct pawl_arena *arena,
    struct pawl_acl_read *r, struct pawl_error *err)
{
	struct pawl_store_item it = { .key = r->key, .id = r->id };
	enum pawl_err rc;

	r->allowed = false;
	if ((rc = fake_get(impl, arena, &it, &r->obj, &r->found, err)) != PAWL_OK ||
	    (rc = fake_acl_check(impl, arena, &r->ask, &r->allowed, err)) != PAWL_OK)
		return rc;
	return fake_acl_get_for_writer(impl, arena, r->object_id, r->ask.principals, &r->acl, err);
}

static void add_ace(struct fake_store *f, const char *object_id, const char *permission,
    const char *principal)
{
	struct ace *a = fake_push(&f->aces, &f->n_aces, sizeof(*a));

	a->object_id = fake_dup(object_id);
	a->permission = fake_dup(permission);
	a->principal = fake_dup(principal);
}

/* Among the first n ACEs. */
static bool has_ace(const struct fake_store *f, size_t n, const char *object_id,
    const char *permission, const char *principal)
{
	size_t i;

	for (i = 0; i < n && i < f->n_aces; i++)
		if (strcmp(f->aces[i].object_id, object_id) == 0 &&
		    strcmp(f->aces[i].permission, permission) == 0 &&
		    strcmp(f->aces[i].principal, principal) == 0)
			return true;
	return false;
}

/* Drops the ACEs for which gone(ace, a, b) holds. */
static void drop_aces(struct fake_store *f, bool (*gone)(const struct ace *, const char *,
    const char *), const char *a, const char *b)
{
	size_t i, k = 0;

	for (i = 0; i < f->n_aces; i++) {
		if (gone(&f->aces[i], a, b)) {
			free(f->aces[i].object_id);
			free(f->aces[i].permission);
			free(f->aces[i].principal);
		} else {
			f->aces[k++] = f->aces[i];
		}
	}
	f->n_aces = k;
}

static bool of_permission(const struct ace *x, const char *object_id, const char *permission)
{
	return strcmp(x->object_id, object_id) == 0 && strcmp(x->permission, permission) == 0;
}

static bool in_tree(const struct ace *x, const char *uri, const char *unused)
{
	(void)unused;
	return fake_under(x->object_id, uri, true);
}

static bool any(const struct ace *x, const char *unused_a, const char *unused_b)
{
	(void)x, (void)unused_a, (void)unused_b;
	return true;
}

/* acl.c: per permission, DELETE (unless fresh) then INSERT DISTINCT; the writer ON CONFLICT DO NOTHING. */
enum pawl_err fake_acl_replace(void *impl, struct pawl_arena *arena,
    const struct pawl_acl_change *ch, struct pawl_error *err)
{
	struct fake_store *f = impl;
	size_t i, before;

	(void)arena;
	if (ch->perms != NULL) {
		json_object_object_foreach(ch->perms, perm, list) {
			if (!ch->fresh)
				drop_aces(f, of_permission, ch->object_id, perm);
			before = f->n_aces;
			for (i = 0; i < json_object_array_length(list); i++) {
				const char *p = json_object_get_string(json_object_array_get_idx(list, i));

				/* PostgreSQL would fail on the primary key: the caller's "fresh" lied. */
				if (has_ace(f, before, ch->object_id, perm, p))
					return pawl_error_set(err, PAWL_ERR_INTERNAL,
					    "fake store: ACE already there for a fresh object");
				if (!has_ace(f, f->n_aces, ch->object_id, perm, p))
					add_ace(f, ch->object_id, perm, p);
			}
		}
	}
	if (ch->writer != NULL && !has_ace(f, f->n_aces, ch->object_id, "write", ch->writer))
		add_ace(f, ch->object_id, "write", ch->writer);
	return PAWL_OK;
}

enum pawl_err fake_acl_delete_tree(void *impl, struct pawl_arena *arena, const char *object_id,
    struct pawl_error *err)
{
	(void)arena;
	(void)err;
	drop_aces(impl, in_tree, object_id, NULL);
	return PAWL_OK;
}

/* Drops the memberships of groups at uri (and below it when tree). */
static void drop_members(struct fake_store *f, const char *uri, bool tree)
{
	size_t i, k = 0;

	for (i = 0; i < f->n_members; i++) {
		if (tree ? fake_under(f->members[i].group, uri, true) : strcmp(f->members[i].group, uri) == 0) {
			free(f->members[i].user_id);
			free(f->members[i].group);
		} else {
			f->members[k++] = f->members[i];
		}
	}
	f->n_members = k;
}

enum pawl_err fake_set_members(void *impl, struct pawl_arena *arena, const char *group_uri,
    const char *const *members, size_t n, struct pawl_error *err)
{
	struct fake_store *f = impl;
	size_t i, j;

	(void)arena;
	(void)err;
	drop_members(f, group_uri, false);
	for (i = 0; i < n; i++) {
		for (j = 0; j < i && strcmp(members[j], members[i]) != 0; j++)
			;
		if (j == i)
			fake_store_add_member(f, members[i], group_uri);
	}
	return PAWL_OK;
}

enum pawl_err fake_delete_members(void *impl, struct pawl_arena *arena, const char *uri,
    struct pawl_error *err)
{
	(void)arena;
	(void)err;
	drop_members(impl, uri, true);
	return PAWL_OK;
}

enum pawl_err fake_groups(void *impl, struct pawl_arena *arena, const char *const *principals,
    const char ***out, struct pawl_error *err)
{
	(void)arena;
	(void)principals;
	*out = NULL;
	return fake_unimplemented(impl, "groups", err);
}

void fake_acl_free(struct fake_store *f)
{
	size_t i;

	drop_aces(f, any, NULL, NULL);
	for (i = 0; i < f->n_members; i++) {
		free(f->members[i].user_id);
		free(f->members[i].group);
	}
	free(f->aces);
	free(f->members);
}

void fake_store_grant(struct fake_store *f, const char *object_id, const char *permission,
    const char *principal)
{
	if (!has_ace(f, f->n_aces, object_id, permission, principal))
		add_ace(f, object_id, permission, principal);
}

void fake_store_add_member(struct fake_store *f, const char *user_id, const char *group)
{
	struct member *m = fake_push(&f->members, &f->n_members, sizeof(*m));

	m->user_id = fake_dup(user_id);
	m->group = fake_dup(group);
}

bool fake_store_has_ace(const struct fake_store *f, const char *object_id, const char *permission,
    const char *principal)
{
	return has_ace(f, f->n_aces, object_id, permission, principal);
}
