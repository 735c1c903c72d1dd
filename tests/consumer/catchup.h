/*
 * The catch-up side of pawl-stream-consumer (docs/consumers.md "Catching
 * up"): an index of one collection's records, filled from a snapshot of
 * GET .../records and then from the stream's entries, each object applied
 * only when its last_modified is above what the index holds (deletes keep a
 * tombstone so an older entry cannot bring an object back).
 */
#ifndef PAWL_CONSUMER_CATCHUP_H
#define PAWL_CONSUMER_CATCHUP_H

#include <stdio.h>

struct catchup;

/* Outcome of one stream entry. */
enum catchup_rc {
	CATCHUP_OK = 0,       /* applied, skipped or not about the collection */
	CATCHUP_RETRY = -1,   /* pawl could not be read: handle the entry again later */
	CATCHUP_RESTART = -2, /* the collection or its bucket was deleted: start over */
};

/*
 * records_url: ".../v1/buckets/B/collections/C/records"; userpass "user:pw"
 * or NULL; page: _limit of each snapshot page; log: one line per decision
 * (the integration test reads them). NULL on a bad URL or out of memory.
 */
struct catchup *catchup_new(const char *records_url, const char *userpass, long page, FILE *log);

/* Reads every page of the list into the index; 0, or -1 (logged) on failure. */
int catchup_snapshot(struct catchup *c, long page_delay_ms);

/* Applies one stream entry (its ID and its `event` field). */
enum catchup_rc catchup_entry(struct catchup *c, const char *entry_id, const char *payload);

/* Writes the index, one JSON object per line (tombstones with "deleted"); 0 or -1. */
int catchup_write(const struct catchup *c, const char *path);

/* The counters as one line ("applied 10 skipped 3 ..."), to stderr. */
void catchup_report(const struct catchup *c);

void catchup_free(struct catchup *c);

#endif
