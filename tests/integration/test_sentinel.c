/*
 * A Redis listener through Redis Sentinel (README, "Redis Sentinel"), over
 * real servers on loopback ports of this test's own: a master, two replicas
 * and three Sentinels (redis-server --sentinel, quorum 2), started here and
 * stopped here. The master is killed (SIGKILL) while writes go on; Sentinel
 * promotes a replica; every answered write's event must reach the new master
 * exactly once, in commit order, the heartbeat must have said false in the
 * gap and true after, and the switch counter must have moved. Then hostile
 * Sentinels: one that answers garbage, one that never answers, one that
 * names a replica, a closed port -- false, bounded, no crash, and delivery
 * once a real one is reached.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "events_util.h"
#include "harness.h"
#include "resource_util.h"

#define NODES 3        /* node 0 starts as master; 1 and 2 replicate it */
#define SENTINELS 3
#define MASTER "pawlmaster"
#define LISTENER "withdata"            /* a listener of the harness's (records) */
#define LISTNAME "pawl.test.withdata"    /* its list */
#define STREAM "stream"                  /* a stream listener of the harness's (everything) */
#define STREAMNAME "pawl.test.stream"    /* its stream */
#define SETUP_MS 30000 /* servers up, Sentinels aware of each other and of the replicas */
#define FAILOVER_MS 30000

static int node_port[NODES], sentinel_port[SENTINELS];
static pid_t node_pid[NODES], sentinel_pid[SENTINELS];
/* A Redis no Sentinel monitors, replica of a closed port: ROLE says slave, always. */
static int lone_port;
static pid_t lone_pid;
static char dir[4096];
static char bucket[64], collection[64];

/* --- servers ------------------------------------------------------------- */

/* redis-server CONF [--sentinel] in the foreground, its output to LOG; its pid. */
static pid_t spawn_redis(const char *conf, bool sentinel, const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setpgid(0, 0);
		if (sentinel)
			execlp("redis-server", "redis-server", conf, "--sentinel", (char *)NULL);
		else
			execlp("redis-server", "redis-server", conf, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void reap(pid_t *pid, int sig)
{
	if (*pid <= 0)
		return;
	kill(*pid, sig);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

static redisContext *connect_to(int port)
{
	struct timeval tv = { 1, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);

	if (c != NULL && c->err != 0) {
		redisFree(c);
		return NULL;
	}
	if (c != NULL)
		redisSetTimeout(c, tv);
	return c;
}

/* An integer field of `SENTINEL master` (a flat name/value array) at port; -1 if unknown. */
static long long sentinel_field(int port, const char *field)
{
	redisContext *c = connect_to(port);
	redisReply *r = c ? redisCommand(c, "SENTINEL master %s", MASTER) : NULL;
	long long v = -1;

	for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, field) == 0)
			v = atoll(r->element[i + 1]->str);
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return v;
}

/* The master's port as Sentinel at port says (-1: no answer). */
static int sentinel_says(int port)
{
	redisContext *c = connect_to(port);
	redisReply *r = c ? redisCommand(c, "SENTINEL get-master-addr-by-name %s", MASTER) : NULL;
	int v = -1;

	if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
		v = atoi(r->element[1]->str);
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return v;
}

static int node_index(int port);

/* The role ROLE gives at port ("master", "slave"), into out; "" without an answer. */
static void role_of(int port, char *out, size_t size)
{
	redisContext *c = connect_to(port);
	redisReply *r = c ? redisCommand(c, "ROLE") : NULL;

	snprintf(out, size, "%s", r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
		 r->element[0]->type == REDIS_REPLY_STRING ? r->element[0]->str : "");
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
}

/*
 * The node that is master now: every Sentinel names it and it says so
 * (tiny timeouts on a busy machine can make Sentinel fail over twice).
 * -1 when that did not settle within timeout_ms.
 */
static int settled_master(long timeout_ms)
{
	long deadline = harness_now_ms() + timeout_ms;
	char role[16];

	do {
		int p = sentinel_says(sentinel_port[0]);
		bool agree = p > 0;

		for (int i = 1; i < SENTINELS; i++)
			agree = agree && sentinel_says(sentinel_port[i]) == p;
		role_of(p, role, sizeof role);
		if (agree && strcmp(role, "master") == 0 && node_index(p) >= 0)
			return node_index(p);
		sleep_ms(200);
	} while (harness_now_ms() < deadline);
	return -1;
}

static bool write_conf(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	return f != NULL && fputs(text, f) >= 0 && fclose(f) == 0;
}

/* Node i (NODES: the lone replica, of port `of`). */
static bool start_node(int i, int of)
{
	char conf[4200], log[4200], text[8192], replica[128] = "";
	int port = i < NODES ? node_port[i] : lone_port;

	if (i > 0)
		snprintf(replica, sizeof replica, "replicaof 127.0.0.1 %d\n", of);
	snprintf(text, sizeof text, "bind 127.0.0.1\nport %d\nsave \"\"\nappendonly no\n"
		 "dir %s\nrepl-diskless-sync yes\nrepl-diskless-sync-delay 0\n%s",
		 port, dir, replica);
	snprintf(conf, sizeof conf, "%s/node%d.conf", dir, i);
	snprintf(log, sizeof log, "%s/node%d.log", dir, i);
	if (!write_conf(conf, text))
		return false;
	*(i < NODES ? &node_pid[i] : &lone_pid) = spawn_redis(conf, false, log);
	return (i < NODES ? node_pid[i] : lone_pid) > 0;
}

static bool start_sentinel(int i)
{
	char conf[4200], log[4200], text[8192];

	snprintf(text, sizeof text, "bind 127.0.0.1\nport %d\ndir %s\n"
		 "sentinel monitor %s 127.0.0.1 %d 2\n"
		 /* Sentinel pings once a second: 1000 would call a busy master down at one late PONG. */
		 "sentinel down-after-milliseconds %s 2000\n"
		 "sentinel failover-timeout %s 6000\n"
		 "sentinel parallel-syncs %s 2\n",
		 sentinel_port[i], dir, MASTER, node_port[0], MASTER, MASTER, MASTER);
	snprintf(conf, sizeof conf, "%s/sentinel%d.conf", dir, i);
	snprintf(log, sizeof log, "%s/sentinel%d.log", dir, i);
	if (!write_conf(conf, text))
		return false;
	sentinel_pid[i] = spawn_redis(conf, true, log);
	return sentinel_pid[i] > 0;
}

/* Every Sentinel sees the two others and both replicas, so a failover can happen. */
static bool topology_ready(void)
{
	for (int i = 0; i < SENTINELS; i++)
		if (sentinel_field(sentinel_port[i], "num-other-sentinels") < SENTINELS - 1 ||
		    sentinel_field(sentinel_port[i], "num-slaves") < NODES - 1)
			return false;
	return true;
}

static int suite_clean(void);

static int setup(void)
{
	int ports[NODES + SENTINELS + 2];
	long deadline;

	snprintf(dir, sizeof dir, "%s/sentinel", harness_state_dir());
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -1;
	if (harness_free_ports(ports, NODES + SENTINELS + 2) != 0)
		return -1;
	lone_port = ports[NODES + SENTINELS];
	for (int i = 0; i < NODES; i++)
		node_port[i] = ports[i];
	for (int i = 0; i < SENTINELS; i++)
		sentinel_port[i] = ports[NODES + i];
	for (int i = 0; i < NODES; i++)
		if (!start_node(i, node_port[0]))
			return -1;
	/* ports[NODES + SENTINELS + 1]: closed, the lone replica's master. */
	if (!start_node(NODES, ports[NODES + SENTINELS + 1]))
		return -1;
	for (int i = 0; i < SENTINELS; i++)
		if (!start_sentinel(i))
			return -1;
	deadline = harness_now_ms() + SETUP_MS;
	while (!topology_ready() && harness_now_ms() < deadline)
		sleep_ms(200);
	if (!topology_ready()) {
		fprintf(stderr, "sentinel: the Sentinels did not see each other and the replicas in "
			"time (logs in %s)\n", dir);
		return -1;
	}
	return 0;
}

/* A failed setup stops what it started: nothing is left running. */
static int suite_init(void)
{
	if (setup() == 0)
		return 0;
	suite_clean();
	return -1;
}

static int suite_clean(void)
{
	bool ok = ru_reload_restore();

	for (int i = 0; i < SENTINELS; i++)
		reap(&sentinel_pid[i], SIGTERM);
	for (int i = 0; i < NODES; i++)
		reap(&node_pid[i], SIGTERM);
	reap(&lone_pid, SIGTERM);
	return ok ? 0 : -1;
}

/* --- pawl's side ------------------------------------------------------------------ */

/*
 * text with its line "event_listeners.<name>.url = ..." replaced by the
 * Sentinel settings (and the Sentinels' password when spw is not NULL).
 */
static char *turn_over(const char *text, const char *name, const char *list, int wait_replicas,
		       const char *spw)
{
	char key[128], with[1280], *out;
	const char *at, *end;

	snprintf(key, sizeof key, "\nevent_listeners.%s.url = ", name);
	if ((at = strstr(text, key)) == NULL || (end = strchr(at + 1, '\n')) == NULL)
		return NULL;
	snprintf(with, sizeof with, "\nevent_listeners.%1$s.sentinels = %2$s\n"
		 "event_listeners.%1$s.sentinel_master = " MASTER "\n"
		 "event_listeners.%1$s.wait_replicas = %3$d%4$s%5$s", name, list, wait_replicas,
		 spw ? ru_fmt("\nevent_listeners.%s.sentinels_password = ", name) : "", spw ? spw : "");
	if ((out = malloc(strlen(text) + strlen(with) + 1)) == NULL)
		return NULL;
	sprintf(out, "%.*s%s%s", (int)(at - text), text, with, end);
	return out;
}

/*
 * Reloads pawl with the harness's listeners LISTENER (a list, records) and
 * STREAM (a stream, everything) asking the Sentinels in list instead of
 * their url. The harness fixes the list of listeners (PAWL_EVENT_LISTENERS):
 * existing ones are turned over.
 */
static bool configure_auth(const char *list, int wait_replicas, const char *spw)
{
	static char *original; /* pawl.ini before the suite (the edit starts from there) */
	static const char open_scrape[] = "metrics_read_principals = system.Everyone\n";
	char path[4200], *a = NULL, *b = NULL, *c = NULL;
	bool ok = false;
	FILE *f;

	if (original == NULL) {
		snprintf(path, sizeof path, "%s/pawl.ini", harness_state_dir());
		if ((f = fopen(path, "r")) == NULL)
			return false;
		original = calloc(1, 1 << 16);
		if (original != NULL)
			(void)!fread(original, 1, (1 << 16) - 1, f);
		fclose(f);
	}
	if (original != NULL && (a = turn_over(original, LISTENER, list, wait_replicas, spw)) != NULL &&
	    (b = turn_over(a, STREAM, list, wait_replicas, spw)) != NULL &&
	    (c = malloc(strlen(b) + sizeof open_scrape)) != NULL) {
		sprintf(c, "%s%s", b, open_scrape); /* the whole file: more than ru_fmt holds */
		ok = ru_reload_edit(original, c);
	}
	free(a);
	free(b);
	free(c);
	return ok;
}

static bool configure(const char *list, int wait_replicas)
{
	return configure_auth(list, wait_replicas, NULL);
}

/* The heartbeat's LISTENER: 1, 0, or -1 when absent; *ms: how long it took. */
static int heartbeat_ha(long *ms)
{
	struct http_resp r;
	json_object *v;
	long start = harness_now_ms();
	int out;

	http_request("GET", "/v1/__heartbeat__", NULL, NULL, &r);
	*ms = harness_now_ms() - start;
	v = resp_json(&r, LISTENER);
	out = v != NULL && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : -1;
	http_resp_free(&r);
	return out;
}

/* A series' value in an open scrape of __metrics__; -1 when absent. */
static double metric(const char *series)
{
	struct http_resp r;
	double v = -1;
	const char *p;

	http_request("GET", "/v1/__metrics__", NULL, NULL, &r);
	for (p = r.body; r.status == 200 && p != NULL && (p = strstr(p, series)) != NULL; p++)
		if ((p == r.body || p[-1] == '\n') && p[strlen(series)] == ' ') {
			v = atof(p + strlen(series) + 1);
			break;
		}
	http_resp_free(&r);
	return v;
}

/* One record created; its id into id. False when the write was not answered 2xx. */
static bool write_record(char *id, size_t size)
{
	const char *h[] = { events_auth(), NULL };
	struct http_resp r;
	json_object *v;
	bool ok;

	http_request("POST", ru_fmt("/v1/buckets/%s/collections/%s/records", bucket, collection), h,
		     "{\"data\":{\"n\":1}}", &r);
	v = resp_json(&r, "data.id");
	ok = r.status / 100 == 2 && v != NULL;
	if (ok)
		snprintf(id, size, "%s", json_object_get_string(v));
	http_resp_free(&r);
	return ok;
}

struct answered {
	char (*id)[64];
	size_t n, cap;
};

static void write_some(struct answered *a, size_t n, size_t *failed)
{
	for (size_t i = 0; i < n; i++) {
		if (a->n == a->cap) {
			a->cap = a->cap ? a->cap * 2 : 64;
			a->id = realloc(a->id, a->cap * sizeof *a->id);
		}
		if (write_record(a->id[a->n], sizeof a->id[a->n]))
			a->n++;
		else
			(*failed)++;
	}
}

/* The events of LISTNAME at port, oldest first (LPUSH: LRANGE reversed). */
static bool fetch(int port, struct events *out)
{
	redisContext *c = connect_to(port);
	redisReply *r = c ? redisCommand(c, "LRANGE %s 0 -1", LISTNAME) : NULL;
	bool ok = r != NULL && r->type == REDIS_REPLY_ARRAY;

	memset(out, 0, sizeof *out);
	if (ok && r->elements > 0) {
		out->v = calloc(r->elements, sizeof *out->v);
		for (size_t i = 0; i < r->elements; i++)
			out->v[out->n++] = json_tokener_parse(r->element[r->elements - 1 - i]->str);
	}
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return ok;
}

/* The id of ev's first impacted object (a POST's event has no record_id: a list URL). */
static const char *impacted_id(json_object *ev)
{
	json_object *imp = ev ? json_object_object_get(ev, "impacted") : NULL;

	if (imp == NULL || !json_object_is_type(imp, json_type_array) ||
	    json_object_array_length(imp) == 0)
		return NULL;
	return jstr(json_object_array_get_idx(imp, 0), "id");
}

/* Our records' events in STREAMNAME at port, oldest first (XRANGE). */
static bool fetch_stream(int port, struct events *out)
{
	redisContext *c = connect_to(port);
	redisReply *r = c ? redisCommand(c, "XRANGE %s - +", STREAMNAME) : NULL;
	bool ok = r != NULL && r->type == REDIS_REPLY_ARRAY;

	memset(out, 0, sizeof *out);
	if (ok && r->elements > 0)
		out->v = calloc(r->elements, sizeof *out->v);
	for (size_t i = 0; ok && i < r->elements; i++) {
		redisReply *fields = r->element[i]->elements == 2 ? r->element[i]->element[1] : NULL;
		json_object *ev = NULL;

		for (size_t k = 0; fields != NULL && k + 1 < fields->elements; k += 2)
			if (strcmp(fields->element[k]->str, "event") == 0)
				ev = json_tokener_parse(fields->element[k + 1]->str);
		if (ev != NULL && jstr(ev, "bucket_id") != NULL && strcmp(jstr(ev, "bucket_id"), bucket) == 0 &&
		    jstr(ev, "resource_name") != NULL && strcmp(jstr(ev, "resource_name"), "record") == 0)
			out->v[out->n++] = ev;
		else if (ev != NULL)
			json_object_put(ev);
	}
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return ok;
}

/* How many events of e are of record id (its create). */
static size_t count_of(const struct events *e, const char *id)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++)
		n += impacted_id(e->v[i]) != NULL && strcmp(impacted_id(e->v[i]), id) == 0;
	return n;
}

static int node_index(int port)
{
	for (int i = 0; i < NODES; i++)
		if (node_port[i] == port)
			return i;
	return -1;
}

static void make_collection(void)
{
	unique_id(bucket, sizeof bucket, "sen");
	unique_id(collection, sizeof collection, "c");
	write_ok("PUT", ru_fmt("/v1/buckets/%s", bucket), "{\"data\":{}}", 201);
	write_ok("PUT", ru_fmt("/v1/buckets/%s/collections/%s", bucket, collection), "{\"data\":{}}",
		 201);
}

/* Checks e holds each answered write's event once, in commit (timestamp) order. */
static void check_delivered(const struct events *e, const struct answered *a, const char *what)
{
	size_t missing = 0, doubled = 0, disordered = 0;

	for (size_t i = 0; i < a->n; i++) {
		size_t k = count_of(e, a->id[i]);

		missing += k == 0;
		doubled += k > 1;
	}
	for (size_t i = 1; i < e->n; i++)
		disordered += e->v[i] && e->v[i - 1] && jint(e->v[i], "timestamp") <= jint(e->v[i - 1],
											   "timestamp");
	CHECK(e->n == a->n, "%s: %zu events in the new master for %zu answered writes", what, e->n,
	      a->n);
	CHECK(duplicate_ids(e) == 0, "%s: %zu repeated event_ids", what, duplicate_ids(e));
	CHECK(missing == 0 && doubled == 0, "%s: %zu answered writes without their event, %zu twice",
	      what, missing, doubled);
	CHECK(disordered == 0, "%s: %zu events out of commit order", what, disordered);
}

/* --- the failover ------------------------------------------------------------------ */

static void test_failover(void)
{
	char list[256], series[128];
	struct answered a = { NULL, 0, 0 };
	struct events e = { NULL, 0 };
	size_t failed = 0, before_kill;
	long deadline, ms, slowest = 0;
	bool saw_false = false, saw_true_after = false;
	int promoted = -1, hb;
	double switches;

	snprintf(list, sizeof list, "127.0.0.1:%d 127.0.0.1:%d,127.0.0.1:%d", sentinel_port[0],
		 sentinel_port[1], sentinel_port[2]);
	CU_ASSERT_FATAL(configure(list, 1));
	make_collection();
	CHECK(heartbeat_ha(&ms) == 1, "the heartbeat's '" LISTENER "' is not true before the failover");

	/* Writes flow to the first master. */
	write_some(&a, 20, &failed);
	deadline = harness_now_ms() + DELIVERY_MS;
	do {
		events_free(&e);
		fetch(node_port[0], &e);
	} while (e.n < a.n && harness_now_ms() < deadline && (sleep_ms(100), true));
	CHECK(e.n == a.n, "%zu of %zu events reached the first master", e.n, a.n);
	events_free(&e);
	snprintf(series, sizeof series, "pawl_redis_master_switches_total{listener=\"" LISTENER "\"}");
	switches = metric(series);
	CHECK(switches == 0, "%s is %g before any failover", series, switches);

	/* The master dies mid-load; writes go on until a replica is promoted and answers. */
	before_kill = a.n;
	reap(&node_pid[0], SIGKILL);
	deadline = harness_now_ms() + FAILOVER_MS;
	while (harness_now_ms() < deadline && !saw_true_after) {
		write_some(&a, 3, &failed);
		hb = heartbeat_ha(&ms);
		slowest = ms > slowest ? ms : slowest;
		if (hb == 0)
			saw_false = true;
		if (promoted < 0) {
			int p = sentinel_says(sentinel_port[1]);

			promoted = p != node_port[0] && node_index(p) > 0 ? node_index(p) : -1;
		}
		saw_true_after = promoted > 0 && saw_false && hb == 1;
	}
	CHECK(promoted > 0, "no replica promoted within %d ms (logs in %s)", FAILOVER_MS, dir);
	CHECK(saw_false, "the heartbeat never said false while the master was gone");
	CHECK(saw_true_after, "the heartbeat did not say true after the promotion");
	CHECK(slowest < 3000, "a heartbeat took %ld ms during the failover", slowest);
	CHECK(a.n > before_kill, "no write answered during the failover");
	CU_ASSERT_FATAL(promoted > 0);
	write_some(&a, 20, &failed);
	CHECK(failed == 0, "%zu writes not answered 2xx (the outbox holds events; writes go on)",
	      failed);

	/* Every answered write's event reaches the new master, once, in order. */
	promoted = settled_master(FAILOVER_MS);
	CU_ASSERT_FATAL(promoted > 0);
	deadline = harness_now_ms() + DELIVERY_MS * 2;
	do {
		events_free(&e);
		fetch(node_port[promoted], &e);
	} while (e.n < a.n && harness_now_ms() < deadline && (sleep_ms(200), true));
	sleep_ms(1500); /* a late duplicate would land now */
	events_free(&e);
	CHECK(fetch(node_port[promoted], &e), "cannot read the new master");
	check_delivered(&e, &a, "list");
	/* The same for the stream listener, through the same Sentinels. */
	do {
		events_free(&e);
		fetch_stream(node_port[promoted], &e);
	} while (e.n < a.n && harness_now_ms() < deadline && (sleep_ms(200), true));
	check_delivered(&e, &a, "stream");
	switches = metric(series);
	CHECK(switches >= 1, "%s is %g after a failover", series, switches);
	printf("\n    sentinel: %zu writes (%zu before the kill), node %d promoted, "
	       "%zu events there, %g master switch(es), slowest heartbeat %ld ms\n",
	       a.n, before_kill, promoted, e.n, switches, slowest);
	events_free(&e);
	free(a.id);
}

/* --- hostile Sentinels ---------------------------------------------------------------- */

enum fake_kind { FAKE_GARBAGE, FAKE_SILENT, FAKE_LIAR };

struct fake {
	enum fake_kind kind;
	int fd, port, named; /* named: the port a liar names */
	int held[64];
	size_t n_held;
	volatile bool stop;
	pthread_t thread;
};

static void *fake_run(void *arg)
{
	struct fake *f = arg;
	char buf[512], reply[128];

	while (!f->stop) {
		struct pollfd p = { f->fd, POLLIN, 0 };
		int c;

		if (poll(&p, 1, 100) <= 0 || (c = accept(f->fd, NULL, NULL)) < 0)
			continue;
		if (f->kind == FAKE_SILENT && f->n_held < 64) {
			f->held[f->n_held++] = c; /* reads nothing, answers nothing */
			continue;
		}
		(void)!read(c, buf, sizeof buf);
		if (f->kind == FAKE_GARBAGE)
			snprintf(reply, sizeof reply, "HTTP/1.0 200 OK\r\n\r\n\x01\x02garbage");
		else
			snprintf(reply, sizeof reply, "*2\r\n$9\r\n127.0.0.1\r\n$%d\r\n%d\r\n",
				 f->named >= 10000 ? 5 : 4, f->named);
		(void)!write(c, reply, strlen(reply));
		close(c);
	}
	for (size_t i = 0; i < f->n_held; i++)
		close(f->held[i]);
	return NULL;
}

static bool fake_start(struct fake *f, enum fake_kind kind, int named)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof sin;

	memset(f, 0, sizeof *f);
	f->kind = kind;
	f->named = named;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->fd < 0 || bind(f->fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
	    listen(f->fd, 16) != 0 || getsockname(f->fd, (struct sockaddr *)&sin, &len) != 0)
		return false;
	f->port = ntohs(sin.sin_port);
	return pthread_create(&f->thread, NULL, fake_run, f) == 0;
}

static void fake_stop(struct fake *f)
{
	f->stop = true;
	pthread_join(f->thread, NULL);
	close(f->fd);
}

static void test_hostile(void)
{
	struct fake garbage, silent, liar;
	char list[512], id[64];
	struct answered a = { NULL, 0, 0 };
	struct events e = { NULL, 0 };
	pid_t sup = supervisor_pid(), relay_before[64], relay_after[64];
	size_t failed = 0, kids_before, kids_after;
	long ms, slowest = 0, deadline;
	int closed[1], master = -1, hb = -1;

	CU_ASSERT_FATAL(harness_free_ports(closed, 1) == 0);
	/* Whoever is master now (after the failover test), where the last step delivers. */
	master = settled_master(FAILOVER_MS);
	CU_ASSERT_FATAL(master >= 0);
	CU_ASSERT_FATAL(fake_start(&garbage, FAKE_GARBAGE, 0));
	CU_ASSERT_FATAL(fake_start(&silent, FAKE_SILENT, 0));
	CU_ASSERT_FATAL(fake_start(&liar, FAKE_LIAR, lone_port));
	snprintf(list, sizeof list, "127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d 127.0.0.1:%d",
		 closed[0], garbage.port, silent.port, liar.port);
	CU_ASSERT_FATAL(configure(list, 0));
	make_collection();
	kids_before = children_of(sup, relay_before, 64);

	/* No master to be found: false, within the heartbeat's bound; writes still answered. */
	for (int i = 0; i < 5; i++) {
		hb = heartbeat_ha(&ms);
		slowest = ms > slowest ? ms : slowest;
		CHECK(hb == 0, "heartbeat '" LISTENER "' is %d with only hostile Sentinels", hb);
		if (!write_record(id, sizeof id))
			failed++;
		else
			a.n++;
	}
	CHECK(failed == 0, "%zu writes failed with hostile Sentinels", failed);
	CHECK(slowest < 2500, "a heartbeat took %ld ms with hostile Sentinels", slowest);
	sleep_ms(2500); /* relay passes against them */
	kids_after = children_of(sup, relay_after, 64);
	CHECK(kids_after == kids_before, "%zu processes under the supervisor, %zu before",
	      kids_after, kids_before);
	for (size_t i = 0; i < kids_before; i++)
		CHECK(pid_alive(relay_before[i]), "pid %ld died under hostile Sentinels",
		      (long)relay_before[i]);
	CHECK(fetch(node_port[master], &e) && count_of(&e, id) == 0,
	      "an event reached Redis without a Sentinel naming it");
	events_free(&e);

	/* A real Sentinel last in the list: tried in turn, it is reached; the rows arrive. */
	snprintf(list + strlen(list), sizeof list - strlen(list), " 127.0.0.1:%d", sentinel_port[2]);
	CU_ASSERT_FATAL(configure(list, 0));
	deadline = harness_now_ms() + DELIVERY_MS;
	while ((hb = heartbeat_ha(&ms)) != 1 && harness_now_ms() < deadline)
		sleep_ms(200);
	CHECK(hb == 1, "the heartbeat's '" LISTENER "' never became true once a real Sentinel was listed");
	master = settled_master(FAILOVER_MS);
	CU_ASSERT_FATAL(master >= 0);
	do {
		events_free(&e);
		fetch(node_port[master], &e);
	} while (count_of(&e, id) == 0 && harness_now_ms() < deadline && (sleep_ms(200), true));
	CHECK(count_of(&e, id) == 1, "the last write's event reached the master %zu times",
	      count_of(&e, id));
	events_free(&e);
	fake_stop(&garbage);
	fake_stop(&silent);
	fake_stop(&liar);
}

/* ACL SETUSER default on a Sentinel: its requirepass, set or (pw NULL) removed. */
static bool sentinel_password(int port, const char *old_pw, const char *pw)
{
	redisContext *c = connect_to(port);
	redisReply *r = NULL;
	bool ok = c != NULL;

	if (ok && old_pw != NULL) {
		r = redisCommand(c, "AUTH %s", old_pw);
		ok = r != NULL && r->type != REDIS_REPLY_ERROR;
		if (r != NULL)
			freeReplyObject(r);
	}
	if (ok) {
		r = pw != NULL ? redisCommand(c, "ACL SETUSER default on resetpass >%s", pw)
			       : redisCommand(c, "ACL SETUSER default on nopass");
		ok = r != NULL && r->type == REDIS_REPLY_STATUS;
		if (r != NULL)
			freeReplyObject(r);
	}
	if (c != NULL)
		redisFree(c);
	return ok;
}

/* Polls the heartbeat's LISTENER until it is want (or DELIVERY_MS passed): its last value. */
static int heartbeat_becomes(int want)
{
	long ms, deadline = harness_now_ms() + DELIVERY_MS;
	int hb;

	while ((hb = heartbeat_ha(&ms)) != want && harness_now_ms() < deadline)
		sleep_ms(200);
	return hb;
}

/*
 * A Sentinel with a requirepass of its own: asked without a password or with
 * a wrong one, it names no master (false, the events wait, the password is in
 * no log line); with sentinels_password, the waiting events arrive, once.
 */
static void test_sentinel_auth(void)
{
	static const char good[] = "s3ntinel-Pw", wrong[] = "not-the-pw-7f3a";
	char list[64], id[64], first[64] = "";
	struct events e = { NULL, 0 };
	int master = settled_master(FAILOVER_MS), hb;
	size_t failed = 0, before = log_count("log/pawl.log", "WRONGPASS");

	CU_ASSERT_FATAL(master >= 0);
	snprintf(list, sizeof list, "127.0.0.1:%d", sentinel_port[1]);
	CU_ASSERT_FATAL(sentinel_password(sentinel_port[1], NULL, good));
	for (int attempt = 0; attempt < 2; attempt++) {
		CU_ASSERT_FATAL(configure_auth(list, 0, attempt == 0 ? NULL : wrong));
		make_collection();
		hb = heartbeat_becomes(0);
		CHECK(hb == 0, "heartbeat '" LISTENER "' is %d with %s", hb,
		      attempt == 0 ? "no password for the Sentinel" : "a wrong password");
		if (!write_record(id, sizeof id))
			failed++;
		else if (first[0] == '\0')
			snprintf(first, sizeof first, "%s", id);
		sleep_ms(1500); /* relay passes that ask the Sentinel and are refused */
		CHECK(fetch(node_port[master], &e) && count_of(&e, id) == 0,
		      "an event reached Redis through a Sentinel that refused us");
		events_free(&e);
	}
	CHECK(failed == 0, "%zu writes failed while the Sentinel refused us", failed);
	CHECK(log_count("log/pawl.log", "NOAUTH") > 0, "no log line says the Sentinel wants AUTH");
	CHECK(log_count("log/pawl.log", "WRONGPASS") > before, "no log line says the password is wrong");
	CHECK(log_count("log/pawl.log", wrong) == 0 && log_count("log/pawl.log", good) == 0,
	      "a Sentinel password is in pawl's log");

	CU_ASSERT_FATAL(configure_auth(list, 0, good));
	hb = heartbeat_becomes(1);
	CHECK(hb == 1, "heartbeat '" LISTENER "' is %d with the Sentinel's password", hb);
	for (long deadline = harness_now_ms() + DELIVERY_MS;;) {
		events_free(&e);
		fetch(node_port[master], &e);
		if ((count_of(&e, first) > 0 && count_of(&e, id) > 0) || harness_now_ms() > deadline)
			break;
		sleep_ms(200);
	}
	CHECK(count_of(&e, first) == 1 && count_of(&e, id) == 1,
	      "the events written while the Sentinel refused us arrived %zu and %zu times",
	      count_of(&e, first), count_of(&e, id));
	events_free(&e);
	CHECK(sentinel_password(sentinel_port[1], good, NULL), "the Sentinel's password stays set");
}

void test_sentinel_register(void)
{
	CU_pSuite s = CU_add_suite("sentinel", suite_init, suite_clean);

	CU_add_test(s, "master killed: promoted replica gets every event once", test_failover);
	CU_add_test(s, "hostile Sentinels: false, bounded, no crash", test_hostile);
	CU_add_test(s, "Sentinels with a password: refused without it, delivered with it",
		    test_sentinel_auth);
}
