/*
 * The resource table: Kinto's hierarchy, then the configured resources, in
 * one array the router, handlers and events share. Built once at startup;
 * never changed while requests run.
 */
#include <stdlib.h>
#include <string.h>

#include "core/resource_table.h"

static const struct {
	const char *name;
	const char *list;
	const char *item;
	const char *parent;
	enum pawl_id_kind id_kind;
	bool members;
} kinto_resources[] = {
	{ "bucket", "/buckets", "/buckets/{id}", NULL, PAWL_ID_NAME, false },
	{ "collection", "/buckets/{bucket_id}/collections",
	    "/buckets/{bucket_id}/collections/{id}", "bucket", PAWL_ID_NAME, false },
	{ "group", "/buckets/{bucket_id}/groups", "/buckets/{bucket_id}/groups/{id}",
	    "bucket", PAWL_ID_NAME, true },
	{ "record", "/buckets/{bucket_id}/collections/{collection_id}/records",
	    "/buckets/{bucket_id}/collections/{collection_id}/records/{id}", "collection",
	    PAWL_ID_UUID4, false },
};

#define N_KINTO (sizeof(kinto_resources) / sizeof(kinto_resources[0]))

const struct pawl_resource *pawl_resource_table_find(const struct pawl_resource_table *res, const char *name)
{
	size_t i;

	for (i = 0; i < res->n; i++)
		if (strcmp(res->items[i].name, name) == 0)
			return &res->items[i];
	return NULL;
}

static enum pawl_err check_unique(const struct pawl_resource_table *res, size_t upto,
    struct pawl_error *err)
{
	const struct pawl_resource *r = &res->items[upto];
	size_t i;

	for (i = 0; i < upto; i++) {
		const struct pawl_resource *o = &res->items[i];

		if (strcmp(o->name, r->name) == 0)
			return pawl_error_set(err, PAWL_ERR_CONFIG,
			    "resource '%s' is declared twice", r->name);
		if (strcmp(o->list_pattern, r->list_pattern) == 0 ||
		    strcmp(o->item_pattern, r->item_pattern) == 0)
			return pawl_error_set(err, PAWL_ERR_CONFIG,
			    "setting 'resources.%s': its URL patterns collide with resource '%s'",
			    r->name, o->name);
	}
	return PAWL_OK;
}

/* Fills slot `at` of res from a `resources.<name>.*` section of the config. */
static enum pawl_err add_configured(struct pawl_resource_table *res, size_t at,
    const struct pawl_resource_config *rc, struct pawl_error *err)
{
	struct pawl_resource *r = &res->items[at];
	size_t n = res->n;

	r->name = rc->name;
	r->list_pattern = rc->list;
	r->item_pattern = rc->item;
	r->per_user = rc->per_user;
	r->id_kind = PAWL_ID_UUID4;
	r->index = at;
	if (rc->parent != NULL) {
		/* Only resources declared before this one are visible yet. */
		res->n = at;
		r->parent = pawl_resource_table_find(res, rc->parent);
		res->n = n;
		if (r->parent == NULL)
			return pawl_error_set(err, PAWL_ERR_CONFIG,
			    "setting 'resources.%s.parent': unknown resource '%s' "
			    "(declare the parent first)", rc->name, rc->parent);
	}
	return check_unique(res, at, err);
}

struct pawl_resource_table *pawl_resource_table_new(const struct pawl_config *cfg, struct pawl_error *err)
{
	struct pawl_resource_table *res = NULL;
	/* Kinto's accounts plugin comes with its policy (multiauth.policies has `account`). */
	size_t base = N_KINTO + (pawl_config_has_policy(cfg, "account") ? 1 : 0);
	size_t n = base + cfg->n_resources, i;

	res = calloc(1, sizeof(*res));
	if (res == NULL || (res->items = calloc(n, sizeof(*res->items))) == NULL) {
		pawl_error_nomem(err);
		goto fail;
	}
	res->n = n;
	for (i = 0; i < N_KINTO; i++) {
		struct pawl_resource *r = &res->items[i];

		r->name = kinto_resources[i].name;
		r->list_pattern = kinto_resources[i].list;
		r->item_pattern = kinto_resources[i].item;
		r->id_kind = kinto_resources[i].id_kind;
		r->has_members = kinto_resources[i].members;
		r->index = i;
		if (kinto_resources[i].parent != NULL)
			r->parent = pawl_resource_table_find(res, kinto_resources[i].parent);
	}
	if (base > N_KINTO) {
		struct pawl_resource *r = &res->items[N_KINTO];

		r->name = PAWL_ACCOUNTS_RESOURCE;
		r->list_pattern = "/accounts";
		r->item_pattern = "/accounts/{id}";
		r->id_kind = PAWL_ID_NAME;
		r->index = N_KINTO;
	}
	for (i = 0; i < cfg->n_resources; i++)
		if (add_configured(res, base + i, &cfg->resources[i], err) != PAWL_OK)
			goto fail;
	for (i = 0; i < n; i++)
		if (res->items[i].parent != NULL)
			res->items[res->items[i].parent->index].has_children = true;
	if (cfg->history_enabled) {
		res->has_history = true;
		res->history = (struct pawl_resource){ .name = "history",
		    .list_pattern = "/buckets/{bucket_id}/history", .item_pattern = NULL,
		    .parent = pawl_resource_table_find(res, "bucket"), .id_kind = PAWL_ID_UUID4,
		    .history = true, .index = n };
		for (i = 0; i < n; i++)
			if (strcmp(res->items[i].list_pattern, res->history.list_pattern) == 0) {
				pawl_error_set(err, PAWL_ERR_CONFIG, "resource '%s': its URL pattern "
				    "collides with the history (history_enabled)", res->items[i].name);
				goto fail;
			}
	}
	return res;
fail:
	pawl_resource_table_free(res);
	return NULL;
}

void pawl_resource_table_free(struct pawl_resource_table *res)
{
	if (res == NULL)
		return;
	free(res->items);
	free(res);
}
