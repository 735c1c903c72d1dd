/*
 * Where the database of this host stands in replication, read at scrape
 * time for the metrics: a hot standby or a primary, and a standby's lag.
 */
#include <stdlib.h>
#include <string.h>

#include "store/pg.h"

/*
 * now() - pg_last_xact_replay_timestamp() alone grows on an idle primary's
 * standby although nothing is missing: when everything received has been
 * replayed the lag is 0. WAL received but not replayed yet is the lag.
 */
#define REPLICATION_SQL "SELECT pg_is_in_recovery(), CASE WHEN NOT pg_is_in_recovery() " \
	"OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 ELSE coalesce(" \
	"extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0) END"

enum pawl_err pawl_pg_replication(struct pawl_pg *pg, struct pawl_arena *arena, int timeout_ms,
    bool *in_recovery, double *lag_seconds, struct pawl_error *err)
{
	struct pg_result *res;
	enum pawl_err rc;

	rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){ REPLICATION_SQL, 0, NULL, timeout_ms },
	    &res, err);
	if (rc != PAWL_OK)
		return rc;
	if (pawl_pg_rows(res) != 1)
		return pawl_error_set(err, PAWL_ERR_INTERNAL, "replication status: no row");
	*in_recovery = strcmp(pawl_pg_value(res, 0, 0), "t") == 0;
	*lag_seconds = strtod(pawl_pg_value(res, 0, 1), NULL);
	if (*lag_seconds < 0)
		*lag_seconds = 0; /* the standby's clock a little ahead of the primary's */
	return PAWL_OK;
}
