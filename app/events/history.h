/*
 * Kinto's history plugin (README, "History"): a transaction's changes to
 * buckets, collections, groups and records become history entries written
 * in that same transaction, right before its COMMIT (txn/txn.c), so the log
 * never disagrees with the data and a rolled-back change leaves no entry.
 */
#ifndef PAWL_EVENTS_HISTORY_H
#define PAWL_EVENTS_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/err.h"
#include "events/stage.h"
#include "store/history.h"

struct pawl_pg;

/* What a stage adds to history: entries, and buckets whose history goes. */
struct pawl_history_plan {
	struct pawl_history_rows rows;
	const char **drops;  /* bucket URIs deleted by the transaction */
	size_t n_drops;
};

/*
 * Pure: the entries of the stage's change operations, in order, one per
 * impacted object (Kinto's fields; the SQL adds id, last_modified, date and
 * target.permissions), leaving out cfg's excluded resources and users. A
 * deleted bucket records no entry: its history goes (entries staged before
 * its delete included), as in Kinto.
 */
enum pawl_err pawl_history_plan(const struct pawl_config *cfg, struct pawl_arena *arena,
    const struct pawl_stage *st, struct pawl_history_plan *out, struct pawl_error *err);

/*
 * Queues the plan's statements in the open transaction (they travel with
 * its COMMIT). cfg NULL or history off: nothing.
 */
enum pawl_err pawl_history_stage_write(const struct pawl_config *cfg, struct pawl_pg *pg,
    struct pawl_arena *arena, const struct pawl_stage *st, struct pawl_error *err);

/* True when history is on and some trimming is set (the relay then runs it). */
bool pawl_history_trims(const struct pawl_config *cfg);

/*
 * One bounded trimming pass with cfg's limits, outside any request (each
 * statement commits on its own); t keeps where the count pass resumes
 * (zero it first). Removes at most a few thousand entries: call again while
 * t->more.
 */
enum pawl_err pawl_history_trim_step(const struct pawl_config *cfg, struct pawl_pg *pg,
    struct pawl_arena *arena, struct pawl_history_trim *t, struct pawl_error *err);

#endif
