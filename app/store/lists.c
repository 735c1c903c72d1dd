/*
 * List reads. Keyed by (parent_id, resource_name) and ordered by the unique
 * last_modified index, so a page costs the same wherever it is in the list.
 * Values reach SQL only as bound parameters.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pawl/lists.h"
#include "pawl/pg.h"

enum pawl_err pawl_lists_fetch(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *key, int limit, struct pawl_list_page *page,
    struct pawl_error *err)
{
	char lim[16];
	const char *params[] = { key->parent_id, key->resource_name, lim };
	struct pg_result *res;
	enum pawl_err rc;
	int i, n;

	snprintf(lim, sizeof(lim), "%d", limit);
	rc = pawl_pg_exec(pg, arena, "SELECT data::text, last_modified, id FROM objects "
	    "WHERE parent_id = $1 AND resource_name = $2 AND NOT deleted "
	    "ORDER BY last_modified DESC LIMIT $3::integer", 3, params, 0, &res, err);
	if (rc != PAWL_OK)
		return rc;
	n = pawl_pg_rows(res);
	page->n = 0;
	page->items = pawl_arena_calloc(arena, (size_t)n + 1, sizeof(*page->items));
	if (page->items == NULL)
		return pawl_error_set(err, PAWL_ERR_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		struct pawl_object *o = &page->items[page->n++];

		o->data = pawl_pg_value(res, i, 0);
		o->last_modified = strtoll(pawl_pg_value(res, i, 1), NULL, 10);
		o->id = pawl_pg_value(res, i, 2);
	}
	return PAWL_OK;
}
