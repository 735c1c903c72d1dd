/*
 * scale_load: the load, lag and event checks tests/scale/run drives from its
 * "cli" namespace (see tests/scale/run). One program, three commands:
 *
 *   write  concurrent writers (POST with a client-chosen id), one line per
 *          answered or failed write in a log file
 *   check  the logs against the Redis list, read through the Sentinels
 *   lag    write on the balancer, poll the read-only head with _since
 */
#ifndef SCALE_H
#define SCALE_H

#include <stdbool.h>
#include <stddef.h>

/* One write as the log records it (a line of "write"'s output file). */
struct wrec {
	int status;          /* HTTP status; 0: no answer (client timeout, connection lost) */
	char id[64];         /* the record id the client chose */
	char coll[64];       /* its collection */
	long long lm;        /* last_modified of a 2xx answer, else 0 */
	int retry_after;     /* Retry-After seconds, -1 when absent */
	long elapsed_ms;     /* from sending to the end of the answer */
	char upstream[64];   /* the balancer's X-Upstream, "-" when absent */
	bool json;           /* the body parsed as a JSON object */
	long long start;     /* when it was sent, ms since the epoch (CLOCK_REALTIME) */
};

struct opts {
	const char *url, *read_url, *auth, *bucket, *prefix, *out, *stop_file;
	const char *sentinels, *master, *list, *tag;
	int threads, seconds, collections, timeout_ms, wait_s, n;
	bool readable;
};

long long now_ms(void);
long long wall_ms(void);
/* HTTP through libcurl: status (0: no answer), body in *body (malloc'd, may be NULL). */
int http(const struct opts *o, const char *method, const char *url, const char *json_body,
	 long timeout_ms, char **body, int *retry_after, char *upstream, size_t upsize);
int cmd_check(const struct opts *o, int nlogs, char **logs);

#endif
