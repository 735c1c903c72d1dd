/*
 * Redis connections for listeners: URL parsing, connect and command
 * timeouts so a hung Redis never stalls a request, reconnect on failure.
 * Only app/events/redis.c talks to the Redis client library.
 */
#ifndef PAWL_REDIS_H
#define PAWL_REDIS_H

#include "core/err.h"

struct pawl_redis_url {
	char host[256];     /* empty for a unix socket */
	int port;           /* default 6379 */
	char path[256];     /* unix socket path, or empty */
	char password[256]; /* empty: no AUTH */
	char username[128]; /* empty: legacy AUTH <password> */
	int db;             /* SELECT db, default 0 */
};

/*
 * Parses redis://[[user]:password@]host[:port][/db] or unix:///path[?db=N].
 * PAWL_ERR_CONFIG with a message on anything else. Pure.
 */
enum pawl_err pawl_redis_parse_url(const char *url, struct pawl_redis_url *out,
    struct pawl_error *err);

/* The most Sentinels one listener may name; the longest master name, NUL included. */
#define PAWL_REDIS_SENTINELS_MAX 16
#define PAWL_REDIS_MASTER_MAX 128

/* A listener's Sentinels: each asked in turn for the master's address. */
struct pawl_redis_sentinels {
	size_t n;
	struct pawl_redis_sentinel_addr {
		char host[256];
		int port; /* default 26379 */
	} at[PAWL_REDIS_SENTINELS_MAX];
	char password[256]; /* the Sentinels' own (their requirepass); empty: no AUTH */
};

/*
 * Parses "host:port host:port ..." (spaces, tabs or commas between
 * entries; host[:port], port defaulting to 26379; [v6addr]:port for an
 * IPv6 literal). PAWL_ERR_CONFIG with a message naming the bad entry on an
 * empty list, a bad port, a missing host, control characters or more than
 * PAWL_REDIS_SENTINELS_MAX entries. Pure.
 */
enum pawl_err pawl_redis_parse_sentinels(const char *list, struct pawl_redis_sentinels *out,
    struct pawl_error *err);

struct pawl_redis;

/* A handle for url; does not connect. NULL on OOM. */
struct pawl_redis *pawl_redis_new(const struct pawl_redis_url *url, int timeout_ms);

/*
 * A handle whose master is found through Sentinel: asks sentinels in turn
 * for `SENTINEL get-master-addr-by-name master`, connects there (AUTH with
 * auth->password and auth->username, SELECT auth->db; its host and path are
 * unused), and checks with ROLE that the node is a master. On a connection
 * error, a timeout, a -READONLY reply or a node that is not a master, it
 * forgets the address and asks again on the next attempt (after the
 * back-off). Does not connect. NULL on OOM.
 */
struct pawl_redis *pawl_redis_new_sentinel(const struct pawl_redis_sentinels *sentinels,
    const char *master, const struct pawl_redis_url *auth, int timeout_ms);

/*
 * After each append, `WAIT replicas timeout`: the push counts as done only
 * once that many replicas have it, so a failover cannot lose an event
 * whose outbox row was already deleted. 0 (the default): no WAIT.
 */
void pawl_redis_set_wait_replicas(struct pawl_redis *r, int replicas);

/* The metrics slot a master switch is counted in (core/metrics.h); -1: none. */
void pawl_redis_set_slot(struct pawl_redis *r, int slot);
void pawl_redis_free(struct pawl_redis *r);

/*
 * PING within timeout_ms, connecting first if needed (a Sentinel handle
 * sends ROLE instead, and answers only for a master). PAWL_ERR_BACKEND on
 * failure.
 */
enum pawl_err pawl_redis_ping(struct pawl_redis *r, int timeout_ms, struct pawl_error *err);

/* Events to append: event i is payloads[i], of pawl list lists[i], in place orders[i]. */
struct pawl_redis_events {
	size_t n;
	const char *const *lists;
	const char *const *orders;
	const char *const *payloads;
};

/*
 * Appends events to the Redis list key (LPUSH, oldest first) through one
 * atomic Lua script call (SCRIPT LOAD once per connection, then EVALSHA;
 * EVAL if Redis lost the script). Event i belongs to pawl list lists[i]
 * ("<parent_id> <resource_name>") and has the order orders[i], a string
 * compared by length then bytes: it is appended only if orders[i] is above
 * the high-water mark kept in the hash "<key>:hwm" (field lists[i]), which
 * then moves to orders[i]. So pushing the same events again (a lost reply, a
 * stall, a crash before the outbox DELETE) appends nothing twice, and an
 * older event never lands after a newer one of its list. orders[i] NULL: no
 * order to keep (read events), always appended. Within a list, orders must
 * increase. *appended: how many were appended.
 * After a failure the handle refuses to retry for a short back-off, so an
 * outage costs one timeout, not one per request. PAWL_ERR_BACKEND on
 * failure; then the script may or may not have run.
 */
enum pawl_err pawl_redis_append(struct pawl_redis *r, const char *key,
    const struct pawl_redis_events *events, size_t *appended, struct pawl_error *err);

/*
 * The same for a Redis stream key: each event kept (by the same marks, in
 * "<key>:hwm") is one XADD with an ID Redis assigns and the fields "event"
 * (the payload) and "list" (lists[i]); maxlen > 0 trims approximately
 * (MAXLEN ~ maxlen) on each XADD. Exactly once for the same reasons: the
 * check, the XADDs and the marks run as one script.
 */
enum pawl_err pawl_redis_stream_append(struct pawl_redis *r, const char *key, long maxlen,
    const struct pawl_redis_events *events, size_t *appended, struct pawl_error *err);

#endif
