/*
 * The permissions endpoint's entries (endpoints/permissions.c) in one
 * parameterised statement: the ACEs of the caller's principals (their groups
 * included) and the settings' grants, kept to objects that exist, expanded
 * within each object, then filtered, sorted and paged as any list
 * (store/list_query.c). Every value is bound; the SQL text is fixed.
 */
#ifndef PAWL_PERM_LIST_H
#define PAWL_PERM_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/err.h"
#include "query/query.h"
#include "store/pg.h"

/* Parallel arrays of n strings each (NULL-terminated too). */
/*
 * A kind of object URI, told without a regular expression: its segments
 * ("/buckets/b" splits on '/' into 3, the first empty), the static one
 * before the id, and which segments are ids under which names.
 */
struct pawl_perm_kinds {
	const char **name;     /* its resource_name */
	const char **segment;  /* the static segment before the id ("records") */
	const char **depth;    /* how many segments, as decimal text ("7") */
	const char **keys;     /* the ids' names, comma-joined ("bucket_id,collection_id,id") */
	const char **at;       /* their positions (1-based), comma-joined ("3,5,7") */
	size_t n;
};

struct pawl_perm_implied {
	const char **name, **perm, **implied; /* holding perm on a name object shows implied too */
	size_t n;
};

struct pawl_perm_everywhere {
	const char **name, **segment, **perm; /* perm on every live object of name (URI .../segment/id) */
	const char **top;                     /* "t": a top-level kind (parent_id ''), else "f" */
	size_t n;
};

struct pawl_perm_list {
	const char *const *principals;   /* the caller's, NULL-terminated; groups added in SQL */
	struct pawl_perm_kinds kinds;
	struct pawl_perm_implied implied;
	struct pawl_perm_everywhere everywhere;
	const char **root;               /* permissions on "/" (NULL-terminated) */
	size_t n_root;
	const struct pawl_query *query;  /* no last_modified field left in it */
	const struct pawl_token *after;
	long long limit;
};

/* One page: entries' JSON texts; more when there are entries after them. */
enum pawl_err pawl_perm_list_fetch(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_perm_list *pl, const char ***entries, size_t *n, bool *more,
    struct pawl_error *err);

/* How many entries match the filters (HEAD's Total-Records). */
enum pawl_err pawl_perm_list_count(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_perm_list *pl, long long *count, struct pawl_error *err);

#endif
