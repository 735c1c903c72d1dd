/*
 * The personal_buckets table (sql/0006). One statement each; the adoption of
 * a bucket made before the table existed is part of the check, so a bucket is
 * never adopted by one request and refused by the next.
 */
#include <string.h>

#include "store/personal.h"
#include "store/pg.h"

enum pawl_err pawl_personal_mark(struct pawl_pg *pg, struct pawl_arena *arena,
    const char *bucket_id, const char *user_id, struct pawl_error *err)
{
	const char *params[2] = { bucket_id, user_id };

	return pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    "INSERT INTO personal_buckets (bucket_id, user_id) "
	    "VALUES ($1, $2) ON CONFLICT (bucket_id) DO UPDATE SET user_id = EXCLUDED.user_id",
	    2, params, 0 }, NULL, err);
}

/*
 * $1 bucket id, $2 its URI, $3 the user. Adoption needs no record at all for
 * the bucket, exactly one ACE on it (write, $3), and no ACE on anything
 * below it for another principal (a collection someone else may read). CASE
 * keeps the scan of the bucket's ACEs off the path of recorded buckets, which
 * is every request to /buckets/default but a user's first after the upgrade.
 */
#define CHECK_WITH \
	"WITH rec AS (SELECT user_id FROM personal_buckets WHERE bucket_id = $1), " \
	"adopt AS (SELECT CASE WHEN EXISTS (SELECT 1 FROM rec) THEN false ELSE " \
	"  (SELECT count(*) FROM access_control_entries WHERE object_id = $2) = 1 " \
	"  AND EXISTS (SELECT 1 FROM access_control_entries WHERE object_id = $2 " \
	"    AND permission = 'write' AND principal = $3) " \
	"  AND NOT EXISTS (SELECT 1 FROM access_control_entries " \
	"    WHERE object_id >= $2 || '/' AND object_id < $2 || '0' AND principal <> $3) " \
	"  END AS ok) "
#define CHECK_ANSWER "SELECT coalesce((SELECT user_id = $3 FROM rec), false) OR (SELECT ok FROM adopt)"
#define CHECK_SQL CHECK_WITH ", ins AS (INSERT INTO personal_buckets (bucket_id, user_id) " \
	"  SELECT $1, $3 FROM adopt WHERE ok ON CONFLICT DO NOTHING RETURNING 1) " CHECK_ANSWER
/* A read-only host (a replica) answers the same without recording the adoption. */
#define CHECK_READ_SQL CHECK_WITH CHECK_ANSWER

enum pawl_err pawl_personal_check(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_personal_ref *p, bool *mine, struct pawl_error *err)
{
	const char *params[3] = { p->bucket_id, p->bucket_uri, p->user_id };
	struct pg_result *res;
	enum pawl_err rc;

	*mine = false;
	rc = pawl_pg_exec(pg, arena, &(struct pawl_pg_stmt){
	    p->read_only ? CHECK_READ_SQL : CHECK_SQL, 3, params, 0 }, &res, err);
	if (rc == PAWL_OK)
		*mine = pawl_pg_rows(res) == 1 && strcmp(pawl_pg_value(res, 0, 0), "t") == 0;
	return rc;
}
