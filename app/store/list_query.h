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
#include "query/query.h"

struct pawl_list_page {
	struct pawl_object *items;
	size_t n;
	bool more;  /* there are objects after the last one returned */
};

struct pawl_list_request {
	const struct pawl_list_key *key;
	const struct pawl_query *query;   /* filters, bounds, sort; NULL: none */
	const struct pawl_token *after;   /* resume after this object; NULL: first page */
	long long limit;                  /* page size (one more row is read to set `more`) */
	bool lock;                        /* FOR UPDATE (list DELETE) */
	/*
	 * When set, only objects whose own URI (acl_prefix + "/" + id) grants one
	 * of acl_perms (a text[] literal) to acl_principals (text[] literal) match:
	 * the caller may not read (or write) the whole list.
	 */
	const char *acl_prefix;
	const char *acl_perms;
	const char *acl_principals;
};

/* One page of the list, in the query's sort order. */
enum pawl_err pawl_list_query_fetch(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_request *lr, struct pawl_list_page *page, struct pawl_error *err);

/* How many live objects match the query's filters (HEAD's Total-Objects). */
enum pawl_err pawl_list_query_count(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_request *lr, long long *count, struct pawl_error *err);

#endif
