/*
 * The resource table (docs/protocol.md §2): Kinto's bucket/collection/group/record plus
 * the resources declared in the config. A resource is data -- name, URL
 * patterns, parent -- and every stage (router, handlers, storage, events)
 * treats all resources alike through this table.
 */
#ifndef PAWL_RESOURCE_TABLE_H
#define PAWL_RESOURCE_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/err.h"

enum pawl_id_kind {
	PAWL_ID_UUID4, /* records and configured resources: RFC 4122 v4 */
	PAWL_ID_NAME   /* buckets, collections, groups: Kinto's 8-character names */
};

/* The accounts plugin's resource (Kinto's name), in the table when the `account` policy is on. */
#define PAWL_ACCOUNTS_RESOURCE "account"

struct pawl_resource {
	const char *name;          /* resource_name: "record" */
	const char *list_pattern;  /* "/buckets/{bucket_id}/collections/{collection_id}/records" */
	const char *item_pattern;  /* list_pattern + "/{id}" */
	const struct pawl_resource *parent; /* NULL for top-level resources */
	bool per_user;             /* objects are scoped to their creator */
	enum pawl_id_kind id_kind;
	bool has_children;         /* another resource names this one as parent */
	bool has_members;          /* Kinto groups: data.members are principals */
	bool history;              /* Kinto's history: a list the server writes (no POST, no items, no events) */
	size_t index;              /* position in the table */
};

struct pawl_resource_table {
	struct pawl_resource *items;
	size_t n;
	/*
	 * /buckets/{bucket_id}/history when history_enabled: routed as a list,
	 * child of the bucket, yet outside items -- no `history:create`
	 * permission, no cascade, no resource_name to configure.
	 */
	struct pawl_resource history;
	bool has_history;
};

/*
 * Builds Kinto's four resources followed by cfg->resources. Fails with
 * PAWL_ERR_CONFIG when a configured pattern collides with another or its
 * parent is unknown. Owned by the caller (pawl_resource_table_free).
 */
struct pawl_resource_table *pawl_resource_table_new(const struct pawl_config *cfg, struct pawl_error *err);
void pawl_resource_table_free(struct pawl_resource_table *res);

/* The resource named name, or NULL. */
const struct pawl_resource *pawl_resource_table_find(const struct pawl_resource_table *res, const char *name);

#endif
