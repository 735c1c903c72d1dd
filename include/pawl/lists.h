/*
 * Reading lists of objects: one page of a list, newest first, through the
 * (parent_id, resource_name, last_modified) index.
 */
#ifndef PAWL_LISTS_H
#define PAWL_LISTS_H

#include <stddef.h>

#include "pawl/objects.h"

struct pawl_list_page {
	struct pawl_object *items;
	size_t n;
};

/* The live objects of a list, newest first, at most limit. */
enum pawl_err pawl_lists_fetch(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_key *key, int limit, struct pawl_list_page *page,
    struct pawl_error *err);

#endif
