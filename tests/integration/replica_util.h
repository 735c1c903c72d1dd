/*
 * Helpers of the replica suite: PostgreSQL clusters of the test's own, made
 * from the stack's with pg_basebackup (a hot standby with -R, or a copy that
 * starts as a primary), each on its own socket folder and port under the
 * state folder; and pawl-fcgi processes of the test's own (no supervisor,
 * no nginx), spoken to through FastCGI with cgi-fcgi as nginx would.
 */
#ifndef PAWL_TEST_REPLICA_UTIL_H
#define PAWL_TEST_REPLICA_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct cluster {
	char data[256];   /* data folder */
	char sock[256];   /* unix socket folder */
	char log[256];
	int port;
	bool started;
};

/* The stack's own PostgreSQL (socket folder and port from its pawl.ini). */
bool cluster_of_stack(struct cluster *c);

/*
 * A base backup of from into a fresh folder $STATE/<name>: a hot standby
 * streaming from it when standby, else a cluster of its own that starts as a
 * primary. extra_conf: lines for its postgresql.conf (NULL: none). Started.
 */
bool cluster_clone(struct cluster *c, const struct cluster *from, const char *name, bool standby,
		   const char *extra_conf);

/* pg_ctl stop -m mode ("fast", "immediate"); true when it is down. */
bool cluster_stop(struct cluster *c, const char *mode);

/* pg_ctl promote: waits until the standby accepts writes. */
bool cluster_promote(struct cluster *c);

/* Stops it (immediate) if running and removes its folders. */
void cluster_remove(struct cluster *c);

/* psql -tA on database pawl; the first line of the output into out (may be NULL). */
bool cluster_psql(const struct cluster *c, const char *sql, char *out, size_t size);

/* "host=SOCK port=PORT" of a cluster, for storage_url lines. */
const char *cluster_conninfo(const struct cluster *c);

/* One pawl-fcgi of the test's own, on dir/<name>.sock; its log in dir/<name>.log. */
struct head {
	char dir[128];
	char name[32];
	pid_t pid;
};

/*
 * A fresh folder under /tmp, an ini there (the stack's secret, storage_url,
 * plus extra lines), and the process started and accepting. False on failure.
 */
bool head_start(struct head *h, const char *name, const char *storage_url, const char *extra);
/* The same under a supervisor of workers workers (--workers). */
bool head_start_workers(struct head *h, const char *name, const char *storage_url,
			const char *extra, int workers);
void head_stop(struct head *h);    /* SIGTERM, wait, remove the folder */
bool head_alive(const struct head *h);
bool head_log_has(const struct head *h, const char *needle);

/*
 * One request through FastCGI. auth: an "Authorization" value or NULL; body:
 * JSON or NULL. Returns the status (0 when none came back); the body (after
 * the headers) into body, and Retry-After's value into retry_after when not
 * NULL ("" when absent).
 */
long head_request(const struct head *h, const char *method, const char *uri, const char *auth,
		  const char *body, char *out, size_t size, char *retry_after, size_t ra_size);

/* The value of a header of the last head_request's answer ("" when absent; static). */
const char *head_last_header(const char *name);

#endif
