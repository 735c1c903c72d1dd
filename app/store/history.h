/*
 * Kinto's history in SQL (sql/0008_history.sql): the entries of one
 * transaction in one INSERT, dropping a deleted bucket's history, and the
 * trimming by age and by count. Entries are objects of the list
 * ('/buckets/<bid>', 'history'), read back by the list code like any list.
 */
#ifndef PAWL_STORE_HISTORY_H
#define PAWL_STORE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/err.h"

struct pawl_pg;

/*
 * Entry i: its bucket's URI, the collection's URI ("" when none), the
 * object's URI, the entry's own fields as a JSON object text (action, uri,
 * ids...; no id, last_modified, date nor target), and the object's data
 * after the change (target.data). The rows of one bucket get consecutive
 * timestamps of the bucket's history list in row order.
 */
struct pawl_history_rows {
	size_t n;
	const char **buckets;
	const char **collections;
	const char **uris;
	const char **attrs;
	const char **targets;
};

/*
 * Queues the entries' INSERT to travel with the transaction's next
 * statement (its COMMIT): the entries commit with the change or not at all.
 * Each entry's target.permissions is the object's ACL at that point and its
 * readers (the read_principals column) the read and write principals of
 * the bucket, the collection and the object. One entry takes a statement of
 * its own, cheaper (it runs while the list's other writers wait), writing
 * the same entry as the general one.
 */
enum pawl_err pawl_history_insert(struct pawl_pg *pg, struct pawl_arena *arena,
    const struct pawl_history_rows *rows, struct pawl_error *err);

/* Queues the removal of every entry (tombstones too) of these buckets (n URIs). */
enum pawl_err pawl_history_drop(struct pawl_pg *pg, struct pawl_arena *arena,
    const char *const *bucket_uris, size_t n, struct pawl_error *err);

/* What one trimming pass may do, and where the count pass resumes. */
struct pawl_history_trim {
	long long max_age_ms;      /* 0: no trimming by age */
	long long max_per_bucket;  /* 0: no trimming by count */
	long long batch;           /* at most this many entries removed per statement */
	long long buckets;         /* buckets looked at per count pass */
	char cursor[320];          /* the last bucket URI looked at ("" first); kept across passes */
	/*
	 * A round of the count pass looks at the buckets whose history changed
	 * since the previous round began (less a minute for clocks that differ):
	 * a bucket nobody wrote to cannot have grown. Kept across passes; 0 at
	 * first, so the first round looks at every bucket.
	 */
	long long round_start_ms;
	long long since_ms;
	long long removed;         /* out: entries removed */
	bool more;                 /* out: a batch was full: there is work left right now */
};

/*
 * One bounded pass, one statement committing on its own (outside any
 * request): in the next buckets of the round, the entries older than
 * max_age_ms and those past the newest max_per_bucket go, oldest first.
 * Index ranges only: no scan of the whole history. A round is over when
 * t->cursor is back to "".
 */
enum pawl_err pawl_history_trim_pass(struct pawl_pg *pg, struct pawl_arena *arena,
    struct pawl_history_trim *t, struct pawl_error *err);

#endif
