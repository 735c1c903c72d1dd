/*
 * Who a personal (`default`) bucket was created for (sql/0006): the implicit
 * creation records it, and uses a standing bucket only when it is recorded
 * for the caller.
 */
#ifndef PAWL_PERSONAL_H
#define PAWL_PERSONAL_H

#include <stdbool.h>

#include "core/arena.h"
#include "core/err.h"
#include "store/store.h"

struct pawl_pg;

/* Records that bucket_id was created implicitly for user_id (inside the creating transaction). */
enum pawl_err pawl_personal_mark(struct pawl_pg *pg, struct pawl_arena *arena,
    const char *bucket_id, const char *user_id, struct pawl_error *err);

/*
 * *mine: the standing bucket p->bucket_id (URI p->bucket_uri) is p->user_id's personal
 * bucket. True when recorded for user_id; also when nothing is recorded for
 * it (a bucket made before sql/0006) and it looks exactly like an implicit
 * creation: its only ACE is `write` for user_id and no ACE below it names
 * anyone else. Such a bucket is then recorded (adopted).
 */
enum pawl_err pawl_personal_check(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_personal_ref *p, bool *mine, struct pawl_error *err);

#endif
