/*
 * The Redis Sentinel suite's topology and pawl-side helpers, shared by
 * test_sentinel.c (the failover) and test_sentinel_hostile.c (hostile and
 * password-protected Sentinels): a master, two replicas and three Sentinels
 * on loopback ports of the suite's own (quorum 2), one lone replica no
 * Sentinel monitors; the harness's listeners turned over to them.
 */
#ifndef PAWL_TEST_SENTINEL_UTIL_H
#define PAWL_TEST_SENTINEL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#include "events_util.h"

#define NODES 3        /* node 0 starts as master; 1 and 2 replicate it */
#define SENTINELS 3
#define MASTER "pawlmaster"
#define LISTENER "withdata"            /* a listener of the harness's (records) */
#define LISTNAME "pawl.test.withdata"    /* its list */
#define STREAM "stream"                  /* a stream listener of the harness's (everything) */
#define STREAMNAME "pawl.test.stream"    /* its stream */
#define SETUP_MS 30000 /* servers up, Sentinels aware of each other and of the replicas */
#define FAILOVER_MS 30000

struct sen_answered {
	char (*id)[64];
	size_t n, cap;
};

extern int sen_node_port[NODES], sen_sentinel_port[SENTINELS];
extern pid_t sen_node_pid[NODES], sen_sentinel_pid[SENTINELS];
extern int sen_lone_port; /* a replica of a closed port: ROLE says slave, always */
extern char sen_dir[4096]; /* the servers' folder (configs, logs) */
extern char sen_bucket[64], sen_collection[64]; /* where sen_write_record writes */

/* The suite's init and cleanup: servers started and settled; stopped, pawl.ini restored. */
int sen_suite_init(void);
int sen_suite_clean(void);

void sen_reap(pid_t *pid, int sig);       /* kill(sig) and wait; *pid = 0 */
redisContext *sen_connect_to(int port);   /* 127.0.0.1:port, 1 s timeouts; NULL if refused */
int sen_sentinel_says(int port);          /* the master's port per the Sentinel at port; -1 */
int sen_node_index(int port);             /* which node listens at port; -1 */
/* The node every Sentinel names and that says it is master; -1 if unsettled in timeout_ms. */
int sen_settled_master(long timeout_ms);

/*
 * Reloads pawl with the harness's list and stream listeners asking the
 * Sentinels in list (with spw as their password when not NULL).
 */
bool sen_configure_auth(const char *list, int wait_replicas, const char *spw);
bool sen_configure(const char *list, int wait_replicas);
int sen_heartbeat_ha(long *ms);            /* LISTENER in __heartbeat__: 1, 0, -1 absent */
double sen_metric(const char *series);     /* a series in __metrics__; -1 when absent */
void sen_make_collection(void);            /* a fresh sen_bucket/sen_collection */
bool sen_write_record(char *id, size_t size); /* one POST there; its id; false unless 2xx */
void sen_write_some(struct sen_answered *a, size_t n, size_t *failed);
bool sen_fetch(int port, struct events *out);        /* LISTNAME at port, oldest first */
bool sen_fetch_stream(int port, struct events *out); /* STREAMNAME at port */
size_t sen_count_of(const struct events *e, const char *id); /* events of object id */
/* e holds each answered write's event once, in commit order (CHECKs, what names the case). */
void sen_check_delivered(const struct events *e, const struct sen_answered *a, const char *what);

/* The tests of test_sentinel_hostile.c, registered with the failover's suite. */
void test_sentinel_hostile(void);
void test_sentinel_auth(void);

#endif
