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

/*
 * A list over a computed relation (store/perm_list.c): "<with> SELECT
 * data::text, id FROM (<from>) entries WHERE <filters> <keyset> ORDER BY
 * <sort> LIMIT limit + 1", or the count of the filtered rows. with and from
 * are fixed SQL text using the parameters $1..$n_params (params); the
 * relation has the columns id (text) and data (jsonb).
 */
struct pawl_list_over {
	const char *with;
	const char *from;
	const char *const *params;
	size_t n_params;
	const struct pawl_query *query;
	const struct pawl_token *after;
	long long limit;
	bool count;
};

struct pg_result;
enum pawl_err pawl_list_query_over(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_list_over *ov, struct pg_result **res, struct pawl_error *err);

#endif
