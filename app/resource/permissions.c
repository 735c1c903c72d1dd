/*
 * Permissions over the resource table, for every resource alike: the
 * inheritance tree is derived from parent links (an ancestor's `write`
 * grants everything below it, its `read` grants reading), never hard-coded
 * per resource. Decisions run in SQL with the caller's principals.
 */
#include <stdio.h>
#include <string.h>

#include "resource/accounts.h"
#include "core/json.h"
#include "store/store.h"
#include "core/log.h"
#include "resource/permissions.h"
#include "core/str.h"

const char *const *pawl_permissions_principals(struct pawl_arena *arena, const char *user_id)
{
	const char **p = pawl_arena_calloc(arena, 4, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (user_id != NULL) {
		p[0] = user_id;
		p[1] = "system.Everyone";
		p[2] = "system.Authenticated";
	} else {
		p[0] = "system.Everyone";
	}
	return p;
}

/* uri without its last 2*levels segments ("/buckets/b/collections/c", 1 → "/buckets/b"). */
static const char *strip(struct pawl_arena *arena, const char *uri, int levels)
{
	size_t len = strlen(uri);

	while (levels-- > 0)
		for (int seg = 0; seg < 2; seg++)
			while (len > 0 && uri[--len] != '/')
				;
	return pawl_arena_strndup(arena, uri, len);
}

static bool add(struct pawl_acl_grant *g, size_t *n, size_t cap, const char *uri, const char *perm)
{
	if (uri == NULL || *n == cap)
		return false;
	g[*n].object_id = uri;
	g[*n].permission = perm;
	(*n)++;
	return true;
}

size_t pawl_permissions_grants(struct pawl_arena *arena, const struct pawl_resource_table *all,
    const struct pawl_resource *res, const char *uri, const char *perm,
    struct pawl_acl_grant **out)
{
	size_t cap = 2 * all->n + 16, n = 0, i;
	struct pawl_acl_grant *g = pawl_arena_calloc(arena, cap, sizeof(*g));
	const struct pawl_resource *r;
	bool attributes = strcmp(perm, PAWL_PERMISSION_ATTRIBUTES) == 0;
	bool reading = attributes || strcmp(perm, "read") == 0;
	int level = 0;

	*out = g;
	if (g == NULL || res == NULL)
		return 0;
	if (strchr(perm, ':') != NULL)
		add(g, &n, cap, uri, perm);
	/* Reading an object's attributes is also granted by its create permissions (Kinto). */
	for (i = 0; attributes && i < all->n; i++)
		if (all->items[i].parent == res)
			add(g, &n, cap, uri, pawl_arena_printf(arena, "%s:create", all->items[i].name));
	for (r = res; r != NULL; r = r->parent, level++) {
		const char *a = level ? strip(arena, uri, level) : uri;

		add(g, &n, cap, a, "write");
		if (reading)
			add(g, &n, cap, a, "read");
	}
	return n;
}

bool pawl_permissions_listed(const char *list, const char *const *principals)
{
	const char *const *p;

	for (p = principals; list != NULL && *p != NULL; p++) {
		const char *s = list;
		size_t n = strlen(*p);

		while ((s = strstr(s, *p)) != NULL) {
			if ((s == list || s[-1] == ' ' || s[-1] == '\t' || s[-1] == '\n') &&
			    (s[n] == '\0' || s[n] == ' ' || s[n] == '\t' || s[n] == '\n'))
				return true;
			s += n;
		}
	}
	return false;
}

/* Global grants: `<child>_create_principals` or `<resource>_<perm>_principals`. */
static bool settings_allow(struct pawl_rctx *c, const struct pawl_resource *res, const char *perm,
    const char *const *principals)
{
	const struct pawl_resource *r;
	char key[160];
	const char *colon = strchr(perm, ':');

	if (colon != NULL) {
		snprintf(key, sizeof(key), "%.*s_create_principals", (int)(colon - perm), perm);
		if (pawl_permissions_listed(pawl_config_get(c->app->cfg, key), principals))
			return true;
	}
	for (r = res; r != NULL; r = r->parent) {
		snprintf(key, sizeof(key), "%s_write_principals", r->name);
		if (pawl_permissions_listed(pawl_config_get(c->app->cfg, key), principals))
			return true;
		snprintf(key, sizeof(key), "%s_read_principals", r->name);
		if ((strcmp(perm, "read") == 0 || strcmp(perm, PAWL_PERMISSION_ATTRIBUTES) == 0) &&
		    pawl_permissions_listed(pawl_config_get(c->app->cfg, key), principals))
			return true;
	}
	return false;
}

enum pawl_err pawl_permissions_allowed(struct pawl_rctx *c, const struct pawl_resource *res,
    const char *uri, const char *perm, bool *allowed, struct pawl_error *err)
{
	const char *const *principals = pawl_permissions_principals(c->req->arena, c->req->user_id);
	struct pawl_acl_grant *grants;
	struct pawl_acl_ask ask;
	size_t n;

	*allowed = false;
	if (principals == NULL)
		return pawl_error_nomem(err);
	/* Per-user resources: every authenticated user owns a private list. */
	if (c->res->per_user) {
		*allowed = c->req->user_id != NULL;
		return PAWL_OK;
	}
	if (settings_allow(c, res, perm, principals)) {
		*allowed = true;
		return PAWL_OK;
	}
	n = pawl_permissions_grants(c->req->arena, c->app->resources, res, uri, perm, &grants);
	if (n == 0)
		return PAWL_OK;
	ask.principals = principals;
	ask.grants = grants;
	ask.n = n;
	return pawl_store_acl_check(c->app->store, c->req->arena, &ask, allowed, err);
}

enum pawl_err pawl_permissions_deny(struct pawl_rctx *c, struct pawl_error *err)
{
	if (c->req->user_id == NULL)
		return pawl_error_set(err, PAWL_ERR_UNAUTHORIZED,
		    "Please authenticate yourself to use this endpoint.");
	return pawl_error_set(err, PAWL_ERR_FORBIDDEN, "This user cannot access this resource.");
}

enum pawl_err pawl_permissions_require(struct pawl_rctx *c, const struct pawl_resource *res,
    const char *uri, const char *perm, struct pawl_error *err)
{
	bool allowed;
	enum pawl_err rc = pawl_permissions_allowed(c, res, uri, perm, &allowed, err);

	if (rc != PAWL_OK)
		return rc;
	return allowed ? PAWL_OK : pawl_permissions_deny(c, err);
}

/* True when perm is one of res's permissions: read, write, <child>:create. */
static bool known_permission(const struct pawl_resource_table *all, const struct pawl_resource *res,
    const char *perm)
{
	size_t i, n;

	if (strcmp(perm, "read") == 0 || strcmp(perm, "write") == 0)
		return true;
	for (i = 0; i < all->n; i++) {
		n = strlen(all->items[i].name);
		if (all->items[i].parent == res && strncmp(perm, all->items[i].name, n) == 0 &&
		    strcmp(perm + n, ":create") == 0)
			return true;
	}
	return false;
}

/* "read, write, record:create": the list Kinto's message names. */
static const char *permission_names(struct pawl_arena *arena, const struct pawl_resource_table *all,
    const struct pawl_resource *res)
{
	struct pawl_buf b;
	size_t i;

	pawl_buf_init(&b, arena);
	pawl_buf_puts(&b, "read, write");
	for (i = 0; i < all->n; i++)
		if (all->items[i].parent == res)
			pawl_buf_printf(&b, ", %s:create", all->items[i].name);
	return b.data ? b.data : "read, write";
}

enum pawl_err pawl_permissions_validate(const struct pawl_rctx *c, json_object *perms,
    struct pawl_error *err)
{
	size_t i;

	if (perms == NULL)
		return PAWL_OK;
	json_object_object_foreach(perms, perm, list) {
		if (!known_permission(c->app->resources, c->res, perm))
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "permissions",
			    "\"%s\" is not one of %s", perm,
			    permission_names(c->req->arena, c->app->resources, c->res));
		if (!json_object_is_type(list, json_type_array))
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "permissions",
			    "%s is not a list of principals", perm);
		for (i = 0; i < json_object_array_length(list); i++) {
			json_object *p = json_object_array_get_idx(list, i);

			if (!json_object_is_type(p, json_type_string) || json_object_get_string_len(p) == 0)
				return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "permissions",
				    "%s must contain non-empty strings", perm);
		}
	}
	return PAWL_OK;
}

enum pawl_err pawl_permissions_store(struct pawl_rctx *c, const char *uri, json_object *perms,
    struct pawl_error *err)
{
	struct pawl_acl_change ch = { .object_id = uri, .perms = perms, .fresh = c->fresh_id };

	if (c->res->per_user)
		return PAWL_OK;
	if (c->app->cfg->explicit_permissions)
		ch.writer = c->req->user_id ? c->req->user_id : "system.Everyone";
	/*
	 * An account is writable by itself, whoever created it (Kinto): never by
	 * an anonymous creator's system.Everyone. Administrators write every
	 * account through account_write_principals.
	 */
	if (pawl_accounts_is(c->res) && c->id != NULL &&
	    (ch.writer = pawl_accounts_principal(c->req->arena, c->id)) == NULL)
		return pawl_error_nomem(err);
	return pawl_store_acl_replace(c->app->store, c->req->arena, &ch, err);
}

enum pawl_err pawl_permissions_acl(struct pawl_rctx *c, const char *uri, const char **acl,
    struct pawl_error *err)
{
	const char *const *principals = pawl_permissions_principals(c->req->arena, c->req->user_id);

	*acl = "{}";
	if (c->res->per_user)
		return PAWL_OK;
	if (principals == NULL)
		return pawl_error_nomem(err);
	/* Kinto (API 1.11): the ACL is shown to those in the object's own `write` (groups too). */
	return pawl_store_acl_get_for_writer(c->app->store, c->req->arena, uri, principals, acl, err);
}

enum pawl_err pawl_permissions_created_acl(struct pawl_rctx *c, const char *uri,
    json_object *perms, const char **acl, struct pawl_error *err)
{
	/*
	 * Under a fresh id the object holds exactly what pawl_permissions_store
	 * wrote, its caller among the writers (explicit_permissions): nothing to
	 * read back. Otherwise the caller may not be a writer: ask the database.
	 */
	if (!c->fresh_id || !c->app->cfg->explicit_permissions || c->res->per_user)
		return pawl_permissions_acl(c, uri, acl, err);
	*acl = pawl_acl_fresh_json(c->req->arena, perms,
	    c->req->user_id ? c->req->user_id : "system.Everyone");
	return *acl != NULL ? PAWL_OK : pawl_error_nomem(err);
}

const char *pawl_permissions_answer(struct pawl_rctx *c, const char *uri, struct pawl_error *err)
{
	const char *acl;

	return pawl_permissions_acl(c, uri, &acl, err) == PAWL_OK ? acl : "{}";
}

enum pawl_err pawl_permissions_read_object(struct pawl_rctx *c, const char *perm,
    struct pawl_acl_read *r, struct pawl_error *err)
{
	const char *const *principals = pawl_permissions_principals(c->req->arena, c->req->user_id);
	struct pawl_acl_grant *grants = NULL;
	bool by_settings;
	enum pawl_err rc;

	*r = (struct pawl_acl_read){ .key = &c->key, .id = c->id, .object_id = c->uri };
	r->acl = "{}";
	if (principals == NULL)
		return pawl_error_nomem(err);
	by_settings = c->res->per_user ? c->req->user_id != NULL :
	    settings_allow(c, c->res, perm, principals);
	if (!by_settings && !c->res->per_user)
		r->ask.n = pawl_permissions_grants(c->req->arena, c->app->resources, c->res, c->uri,
		    perm, &grants);
	r->ask.principals = principals;
	r->ask.grants = grants;
	rc = pawl_store_acl_read_object(c->app->store, c->req->arena, r, err);
	r->allowed = r->allowed || (rc == PAWL_OK && by_settings);
	if (r->acl == NULL || c->res->per_user)
		r->acl = "{}";
	return rc;
}

enum pawl_err pawl_permissions_complete(const struct pawl_rctx *c, json_object *perms)
{
	size_t i;

	if (perms == NULL)
		return PAWL_OK;
	if (!json_object_object_get_ex(perms, "read", NULL))
		json_object_object_add(perms, "read", json_object_new_array());
	if (!json_object_object_get_ex(perms, "write", NULL))
		json_object_object_add(perms, "write", json_object_new_array());
	for (i = 0; i < c->app->resources->n; i++) {
		const char *name;

		if (c->app->resources->items[i].parent != c->res)
			continue;
		name = pawl_arena_printf(c->req->arena, "%s:create", c->app->resources->items[i].name);
		if (name == NULL)
			return PAWL_ERR_NOMEM;
		if (!json_object_object_get_ex(perms, name, NULL))
			json_object_object_add(perms, name, json_object_new_array());
	}
	return PAWL_OK;
}

enum pawl_err pawl_permissions_can_create(struct pawl_rctx *c, bool *allowed,
    struct pawl_error *err)
{
	const char *perm = pawl_arena_printf(c->req->arena, "%s:create", c->res->name);

	if (perm == NULL)
		return pawl_error_nomem(err);
	return pawl_permissions_allowed(c, c->res->parent, c->parent_uri, perm, allowed, err);
}

enum pawl_err pawl_permissions_list_access(struct pawl_rctx *c, const char *perm, bool *full,
    struct pawl_error *err)
{
	const char *const *principals = pawl_permissions_principals(c->req->arena, c->req->user_id);
	char key[160];

	*full = false;
	if (principals == NULL)
		return pawl_error_nomem(err);
	if (c->res->per_user) {
		*full = c->req->user_id != NULL;
		return PAWL_OK;
	}
	snprintf(key, sizeof(key), "%s_%s_principals", c->res->name, perm);
	if (pawl_permissions_listed(pawl_config_get(c->app->cfg, key), principals)) {
		*full = true;
		return PAWL_OK;
	}
	snprintf(key, sizeof(key), "%s_write_principals", c->res->name);
	if (pawl_permissions_listed(pawl_config_get(c->app->cfg, key), principals)) {
		*full = true;
		return PAWL_OK;
	}
	if (c->res->parent == NULL)
		return PAWL_OK;
	return pawl_permissions_allowed(c, c->res->parent, c->parent_uri, perm, full, err);
}

void pawl_permissions_filter(struct pawl_rctx *c, const char *perm, struct pawl_list_request *lr)
{
	static const char *const read_perms[] = { "read", "write" };
	static const char *const write_perms[] = { "write" };
	bool reading = strcmp(perm, "read") == 0;

	/* History: the entry's readers were fixed when it was written (Kinto; plural.c). */
	if (c->res->history) {
		static const char *const nobody[] = { NULL };

		lr->readers = pawl_permissions_principals(c->req->arena, c->req->user_id);
		if (lr->readers == NULL)
			lr->readers = nobody; /* out of memory: nothing matches */
		return;
	}
	lr->acl_prefix = c->list_path;
	lr->acl_perms = reading ? read_perms : write_perms;
	lr->n_acl_perms = reading ? 2 : 1;
	lr->acl_principals = pawl_permissions_principals(c->req->arena, c->req->user_id);
}
