/*
 * Where a deferred statement's result lands (pawl_pg_defer_result): kept by
 * whoever waits for it, in the request's own structures, so deferring
 * allocates nothing. Apart from pg.h so the store interface can embed one.
 */
#ifndef PAWL_PG_SLOT_H
#define PAWL_PG_SLOT_H

struct pg_result; /* libpq's PGresult, opaque outside app/store/ */

/* slot->res is set once the pipeline that carried it ran (NULL until then, and if it failed). */
struct pawl_pg_slot {
	struct pg_result *res;
};

#endif
