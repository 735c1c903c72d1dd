/*
 * The Redis Sentinel suite's servers and pawl-side helpers (sentinel_util.h).
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

#include "harness.h"
#include "sentinel_util.h"
#include "resource_util.h"

int sen_node_port[NODES], sen_sentinel_port[SENTINELS];
pid_t sen_node_pid[NODES], sen_sentinel_pid[SENTINELS];
/* A Redis no Sentinel monitors, replica of a closed port: ROLE says slave, always. */
int sen_lone_port;
static pid_t sen_lone_pid;
char sen_dir[4096];
char sen_bucket[64], sen_collection[64];

/* --- servers ------------------------------------------------------------- */

/* redis-server CONF [--sentinel] in the foreground, its output to LOG; its pid. */
static pid_t sen_spawn_redis(const char *conf, bool sentinel, const char *log)
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

void sen_reap(pid_t *pid, int sig)
{
	if (*pid <= 0)
		return;
	kill(*pid, sig);
	waitpid(*pid, NULL, 0);
	*pid = 0;
}

redisContext *sen_connect_to(int port)
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
static long long sen_sentinel_field(int port, const char *field)
{
	redisContext *c = sen_connect_to(port);
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
int sen_sentinel_says(int port)
{
	redisContext *c = sen_connect_to(port);
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


/* The role ROLE gives at port ("master", "slave"), into out; "" without an answer. */
static void sen_role_of(int port, char *out, size_t size)
{
	redisContext *c = sen_connect_to(port);
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
int sen_settled_master(long timeout_ms)
{
	long deadline = harness_now_ms() + timeout_ms;
	char role[16];

	do {
		int p = sen_sentinel_says(sen_sentinel_port[0]);
		bool agree = p > 0;

		for (int i = 1; i < SENTINELS; i++)
			agree = agree && sen_sentinel_says(sen_sentinel_port[i]) == p;
		sen_role_of(p, role, sizeof role);
		if (agree && strcmp(role, "master") == 0 && sen_node_index(p) >= 0)
			return sen_node_index(p);
		sleep_ms(200);
	} while (harness_now_ms() < deadline);
	return -1;
}

static bool sen_write_conf(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	return f != NULL && fputs(text, f) >= 0 && fclose(f) == 0;
}

/* Node i (NODES: the lone replica, of port `of`). */
static bool sen_start_node(int i, int of)
{
	char conf[4200], log[4200], text[8192], replica[128] = "";
	int port = i < NODES ? sen_node_port[i] : sen_lone_port;

	if (i > 0)
		snprintf(replica, sizeof replica, "replicaof 127.0.0.1 %d\n", of);
	snprintf(text, sizeof text, "bind 127.0.0.1\nport %d\nsave \"\"\nappendonly no\n"
		 "dir %s\nrepl-diskless-sync yes\nrepl-diskless-sync-delay 0\n%s",
		 port, sen_dir, replica);
	snprintf(conf, sizeof conf, "%s/node%d.conf", sen_dir, i);
	snprintf(log, sizeof log, "%s/node%d.log", sen_dir, i);
	if (!sen_write_conf(conf, text))
		return false;
	*(i < NODES ? &sen_node_pid[i] : &sen_lone_pid) = sen_spawn_redis(conf, false, log);
	return (i < NODES ? sen_node_pid[i] : sen_lone_pid) > 0;
}

static bool sen_start_sentinel(int i)
{
	char conf[4200], log[4200], text[8192];

	snprintf(text, sizeof text, "bind 127.0.0.1\nport %d\ndir %s\n"
		 "sentinel monitor %s 127.0.0.1 %d 2\n"
		 /* Sentinel pings once a second: 1000 would call a busy master down at one late PONG. */
		 "sentinel down-after-milliseconds %s 2000\n"
		 "sentinel failover-timeout %s 6000\n"
		 "sentinel parallel-syncs %s 2\n",
		 sen_sentinel_port[i], sen_dir, MASTER, sen_node_port[0], MASTER, MASTER, MASTER);
	snprintf(conf, sizeof conf, "%s/sentinel%d.conf", sen_dir, i);
	snprintf(log, sizeof log, "%s/sentinel%d.log", sen_dir, i);
	if (!sen_write_conf(conf, text))
		return false;
	sen_sentinel_pid[i] = sen_spawn_redis(conf, true, log);
	return sen_sentinel_pid[i] > 0;
}

/* Every Sentinel sees the two others and both replicas, so a failover can happen. */
static bool sen_topology_ready(void)
{
	for (int i = 0; i < SENTINELS; i++)
		if (sen_sentinel_field(sen_sentinel_port[i], "num-other-sentinels") < SENTINELS - 1 ||
		    sen_sentinel_field(sen_sentinel_port[i], "num-slaves") < NODES - 1)
			return false;
	return true;
}


static int sen_setup(void)
{
	int ports[NODES + SENTINELS + 2];
	long deadline;

	snprintf(sen_dir, sizeof sen_dir, "%s/sentinel", harness_state_dir());
	if (mkdir(sen_dir, 0700) != 0 && errno != EEXIST)
		return -1;
	if (harness_free_ports(ports, NODES + SENTINELS + 2) != 0)
		return -1;
	sen_lone_port = ports[NODES + SENTINELS];
	for (int i = 0; i < NODES; i++)
		sen_node_port[i] = ports[i];
	for (int i = 0; i < SENTINELS; i++)
		sen_sentinel_port[i] = ports[NODES + i];
	for (int i = 0; i < NODES; i++)
		if (!sen_start_node(i, sen_node_port[0]))
			return -1;
	/* ports[NODES + SENTINELS + 1]: closed, the lone replica's master. */
	if (!sen_start_node(NODES, ports[NODES + SENTINELS + 1]))
		return -1;
	for (int i = 0; i < SENTINELS; i++)
		if (!sen_start_sentinel(i))
			return -1;
	deadline = harness_now_ms() + SETUP_MS;
	while (!sen_topology_ready() && harness_now_ms() < deadline)
		sleep_ms(200);
	if (!sen_topology_ready()) {
		fprintf(stderr, "sentinel: the Sentinels did not see each other and the replicas in "
			"time (logs in %s)\n", sen_dir);
		return -1;
	}
	return 0;
}

/* A failed setup stops what it started: nothing is left running. */
int sen_suite_init(void)
{
	if (sen_setup() == 0)
		return 0;
	sen_suite_clean();
	return -1;
}

int sen_suite_clean(void)
{
	bool ok = ru_reload_restore();

	for (int i = 0; i < SENTINELS; i++)
		sen_reap(&sen_sentinel_pid[i], SIGTERM);
	for (int i = 0; i < NODES; i++)
		sen_reap(&sen_node_pid[i], SIGTERM);
	sen_reap(&sen_lone_pid, SIGTERM);
	return ok ? 0 : -1;
}

/* --- pawl's side ------------------------------------------------------------------ */

/*
 * text with its line "event_listeners.<name>.url = ..." replaced by the
 * Sentinel settings (and the Sentinels' password when spw is not NULL).
 */
static char *sen_turn_over(const char *text, const char *name, const char *list, int wait_replicas,
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
bool sen_configure_auth(const char *list, int wait_replicas, const char *spw)
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
	if (original != NULL && (a = sen_turn_over(original, LISTENER, list, wait_replicas, spw)) != NULL &&
	    (b = sen_turn_over(a, STREAM, list, wait_replicas, spw)) != NULL &&
	    (c = malloc(strlen(b) + sizeof open_scrape)) != NULL) {
		sprintf(c, "%s%s", b, open_scrape); /* the whole file: more than ru_fmt holds */
		ok = ru_reload_edit(original, c);
	}
	free(a);
	free(b);
	free(c);
	return ok;
}

bool sen_configure(const char *list, int wait_replicas)
{
	return sen_configure_auth(list, wait_replicas, NULL);
}

/* The heartbeat's LISTENER: 1, 0, or -1 when absent; *ms: how long it took. */
int sen_heartbeat_ha(long *ms)
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
double sen_metric(const char *series)
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
bool sen_write_record(char *id, size_t size)
{
	const char *h[] = { events_auth(), NULL };
	struct http_resp r;
	json_object *v;
	bool ok;

	http_request("POST", ru_fmt("/v1/buckets/%s/collections/%s/records", sen_bucket, sen_collection), h,
		     "{\"data\":{\"n\":1}}", &r);
	v = resp_json(&r, "data.id");
	ok = r.status / 100 == 2 && v != NULL;
	if (ok)
		snprintf(id, size, "%s", json_object_get_string(v));
	http_resp_free(&r);
	return ok;
}

void sen_write_some(struct sen_answered *a, size_t n, size_t *failed)
{
	for (size_t i = 0; i < n; i++) {
		if (a->n == a->cap) {
			a->cap = a->cap ? a->cap * 2 : 64;
			a->id = realloc(a->id, a->cap * sizeof *a->id);
		}
		if (sen_write_record(a->id[a->n], sizeof a->id[a->n]))
			a->n++;
		else
			(*failed)++;
	}
}

/* The events of LISTNAME at port, oldest first (LPUSH: LRANGE reversed). */
bool sen_fetch(int port, struct events *out)
{
	redisContext *c = sen_connect_to(port);
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
static const char *sen_impacted_id(json_object *ev)
{
	json_object *imp = ev ? json_object_object_get(ev, "impacted") : NULL;

	if (imp == NULL || !json_object_is_type(imp, json_type_array) ||
	    json_object_array_length(imp) == 0)
		return NULL;
	return jstr(json_object_array_get_idx(imp, 0), "id");
}

/* Our records' events in STREAMNAME at port, oldest first (XRANGE). */
bool sen_fetch_stream(int port, struct events *out)
{
	redisContext *c = sen_connect_to(port);
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
		if (ev != NULL && jstr(ev, "bucket_id") != NULL && strcmp(jstr(ev, "bucket_id"), sen_bucket) == 0 &&
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
size_t sen_count_of(const struct events *e, const char *id)
{
	size_t n = 0;

	for (size_t i = 0; i < e->n; i++)
		n += sen_impacted_id(e->v[i]) != NULL && strcmp(sen_impacted_id(e->v[i]), id) == 0;
	return n;
}

int sen_node_index(int port)
{
	for (int i = 0; i < NODES; i++)
		if (sen_node_port[i] == port)
			return i;
	return -1;
}

void sen_make_collection(void)
{
	unique_id(sen_bucket, sizeof sen_bucket, "sen");
	unique_id(sen_collection, sizeof sen_collection, "c");
	write_ok("PUT", ru_fmt("/v1/buckets/%s", sen_bucket), "{\"data\":{}}", 201);
	write_ok("PUT", ru_fmt("/v1/buckets/%s/collections/%s", sen_bucket, sen_collection), "{\"data\":{}}",
		 201);
}

/* Checks e holds each answered write's event once, in commit (timestamp) order. */
void sen_check_delivered(const struct events *e, const struct sen_answered *a, const char *what)
{
	size_t missing = 0, doubled = 0, disordered = 0;

	for (size_t i = 0; i < a->n; i++) {
		size_t k = sen_count_of(e, a->id[i]);

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

