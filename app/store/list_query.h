/*
 * Reading lists of objects: filters, sort and keyset pagination turned into
 * one parameterised SELECT over the list's index. Every value and JSON path
 * from the query string is a bound parameter; only the operator shapes, from
 * a fixed table, are SQL text.
 */
#ifndef PAWL_LIST_QUERY_H
#define PAWL_LIST_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "store/objects.h"
#include "store/store.h"
#include "query/query.h"

/* struct pawl_list_request and pawl_list_page: store/store.h. */

/* One page of the list, in the query's sort order. */
enum pawl_err pawl_list_query_fetch(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_request *lr, struct pawl_list_page *page, struct pawl_error *err);

/* How many live objects match the query's filters (HEAD's Total-Objects). */
enum pawl_err pawl_list_query_count(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_request *lr, long long *count, struct pawl_error *err);

#endif
