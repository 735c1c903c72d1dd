/*
 * What the permissions endpoint (endpoints/permissions.c) says a caller
 * holds, before any storage: Kinto's inheritance tree read downwards but
 * within one object only, and the grants of the settings. Pure: the
 * resource table and the settings in, lists out, in the arena.
 *
 * Kinto's tree, inverted and kept to one resource, is the same for every
 * resource once written in terms of children: `write` gives `read`; an object
 * that has children also shows `read:attributes` for `write`, `read` and each
 * `<child>:create`, and `write` gives every `<child>:create`. Deriving it from
 * the table (as resource/permissions.c derives the upward tree) covers the
 * resources declared in the config with no row of their own.
 */
#include <stdio.h>
#include <string.h>

#include "resource/permissions.h"

static bool has_children(const struct pawl_resource_table *all, const struct pawl_resource *res)
{
	for (size_t i = 0; i < all->n; i++)
		if (all->items[i].parent == res)
			return true;
	return false;
}

/* The child resource whose "<name>:create" perm is, or NULL. */
static const struct pawl_resource *created_child(const struct pawl_resource_table *all,
    const struct pawl_resource *res, const char *perm)
{
	for (size_t i = 0; i < all->n; i++) {
		size_t n = strlen(all->items[i].name);

		if (all->items[i].parent == res && strncmp(perm, all->items[i].name, n) == 0 &&
		    strcmp(perm + n, ":create") == 0)
			return &all->items[i];
	}
	return NULL;
}

const char *const *pawl_permissions_implied(struct pawl_arena *arena,
    const struct pawl_resource_table *all, const struct pawl_resource *res, const char *perm)
{
	const char **out = pawl_arena_calloc(arena, all->n + 5, sizeof(*out));
	bool write = strcmp(perm, "write") == 0, read = strcmp(perm, "read") == 0;
	bool parent = res != NULL && has_children(all, res);
	size_t n = 0;

	if (out == NULL)
		return NULL;
	out[n++] = perm;
	/* The root has no tree: its permissions come from the settings alone. */
	if (res == NULL)
		return out;
	if (write)
		out[n++] = "read";
	if (parent && (write || read || created_child(all, res, perm) != NULL))
		out[n++] = "read:attributes";
	for (size_t i = 0; write && i < all->n; i++)
		if (all->items[i].parent == res)
			out[n++] = pawl_arena_printf(arena, "%s:create", all->items[i].name);
	for (size_t i = 0; i < n; i++)
		if (out[i] == NULL)
			return NULL;
	return out;
}

static bool grant(struct pawl_settings_grant *g, size_t *n, size_t cap,
    const struct pawl_resource *on, const char *perm)
{
	if (*n == cap || perm == NULL)
		return false;
	g[*n].on = on;
	g[*n].permission = perm;
	(*n)++;
	return true;
}

/* Kinto lists a setting's grant on every object of these kinds (and on the root). */
static bool listed_kind(const struct pawl_resource *r)
{
	return r == NULL || strcmp(r->name, "bucket") == 0 || strcmp(r->name, "collection") == 0 ||
	    strcmp(r->name, "group") == 0;
}

size_t pawl_permissions_from_settings(struct pawl_arena *arena, const struct pawl_config *cfg,
    const struct pawl_resource_table *all, const char *const *principals,
    struct pawl_settings_grant **out)
{
	size_t cap = 3 * all->n + 1, n = 0;
	struct pawl_settings_grant *g = pawl_arena_calloc(arena, cap, sizeof(*g));
	char key[160];

	*out = g;
	if (g == NULL)
		return 0;
	for (size_t i = 0; i < all->n; i++) {
		const struct pawl_resource *r = &all->items[i];

		/* `<child>_create_principals`: `<child>:create` on every parent (the root's for buckets). */
		snprintf(key, sizeof(key), "%s_create_principals", r->name);
		if (!r->per_user && listed_kind(r->parent) &&
		    pawl_permissions_listed(pawl_config_get(cfg, key), principals))
			grant(g, &n, cap, r->parent, pawl_arena_printf(arena, "%s:create", r->name));
		if (!listed_kind(r))
			continue;
		snprintf(key, sizeof(key), "%s_read_principals", r->name);
		if (pawl_permissions_listed(pawl_config_get(cfg, key), principals))
			grant(g, &n, cap, r, "read");
		snprintf(key, sizeof(key), "%s_write_principals", r->name);
		if (pawl_permissions_listed(pawl_config_get(cfg, key), principals))
			grant(g, &n, cap, r, "write");
	}
	return n;
}
