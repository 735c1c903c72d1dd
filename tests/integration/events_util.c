/*
 * Helpers of the notification suites: Redis through hiredis (reconnecting,
 * since the suites stop and start it), event lists, timed writes and the
 * exact-payload check. Only the test program links this; pawl does not.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "events_util.h"

static redisContext *ctx;
static char auth[512];
static char user_id[160];

/* The connection to the stack's Redis, (re)opened on demand; NULL when down. */
static redisContext *redis(void)
{
	struct timeval tv = { 2, 0 };
	const char *port = getenv("PAWL_REDIS_PORT");

	if (ctx != NULL && ctx->err == 0)
		return ctx;
	if (ctx != NULL)
		redisFree(ctx);
	ctx = port ? redisConnectWithTimeout("127.0.0.1", atoi(port), tv) : NULL;
	if (ctx != NULL && ctx->err != 0) {
		redisFree(ctx);
		ctx = NULL;
	}
	if (ctx != NULL)
		redisSetTimeout(ctx, tv);
	return ctx;
}

bool redis_cmd(const char *fmt, ...)
{
	redisContext *c = redis();
	redisReply *r;
	va_list ap;
	bool ok;

	if (c == NULL)
		return false;
	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	ok = r != NULL && r->type != REDIS_REPLY_ERROR;
	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

long long redis_llen(const char *list)
{
	redisContext *c = redis();
	redisReply *r = c ? redisCommand(c, "LLEN %s", list) : NULL;
	long long n = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

	if (r != NULL)
		freeReplyObject(r);
	return n;
}

void events_free(struct events *e)
{
	for (size_t i = 0; i < e->n; i++)
		json_object_put(e->v[i]);
	free(e->v);
	e->v = NULL;
	e->n = 0;
}

bool in_bucket(json_object *ev, const void *arg)
{
	const char *b = jstr(ev, "bucket_id");

	return b != NULL && strcmp(b, arg) == 0;
}

bool events_fetch(const char *list, event_keep_fn *keep, const void *arg, struct events *out)
{
	redisContext *c = redis();
	redisReply *r = c ? redisCommand(c, "LRANGE %s 0 -1", list) : NULL;
	bool ok = r != NULL && r->type == REDIS_REPLY_ARRAY;

	memset(out, 0, sizeof *out);
	if (ok && r->elements > 0)
		out->v = calloc(r->elements, sizeof *out->v);
	/* LPUSH puts the newest first: walk from the tail for commit order. */
	for (size_t i = r && ok ? r->elements : 0; i-- > 0 && out->v != NULL;) {
		redisReply *e = r->element[i];
		json_object *ev = e->type == REDIS_REPLY_STRING ? json_tokener_parse(e->str) : NULL;

		if (ev != NULL && !json_object_is_type(ev, json_type_object)) {
			json_object_put(ev);
			ev = NULL;
		}
		if (ev != NULL && keep != NULL && !keep(ev, arg)) {
			json_object_put(ev);
			continue;
		}
		out->v[out->n++] = ev;
	}
	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

size_t events_wait(const char *list, event_keep_fn *keep, const void *arg, size_t want,
		   long timeout_ms, struct events *out)
{
	for (long waited = 0;; waited += 50) {
		events_fetch(list, keep, arg, out);
		if (out->n >= want || waited >= timeout_ms)
			return out->n;
		events_free(out);
		sleep_ms(50);
	}
}

const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

long long jint(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

size_t duplicate_ids(const struct events *e)
{
	size_t dups = 0;

	for (size_t i = 0; i < e->n; i++)
		for (size_t j = 0; j < i; j++)
			if (jstr(e->v[i], "event_id") && jstr(e->v[j], "event_id") &&
			    strcmp(jstr(e->v[i], "event_id"), jstr(e->v[j], "event_id")) == 0) {
				dups++;
				break;
			}
	return dups;
}

const char *events_auth(void)
{
	if (auth[0] == '\0')
		basic_auth(auth, sizeof auth, "events-user", "events-password");
	return auth;
}

const char *events_user_id(void)
{
	const char *hdrs[] = { events_auth(), NULL };
	struct http_resp r;
	json_object *id;

	if (user_id[0] != '\0')
		return user_id;
	http_request("GET", "/v1/", hdrs, NULL, &r);
	id = resp_json(&r, "user.id");
	if (id != NULL && json_object_is_type(id, json_type_string))
		snprintf(user_id, sizeof user_id, "%s", json_object_get_string(id));
	http_resp_free(&r);
	return user_id;
}

long long write_at(const char *method, const char *path, const char *body, bool with_auth,
		   long status, struct http_resp *keep, const char *file, unsigned line)
{
	const char *hdrs[] = { events_auth(), NULL };
	struct http_resp r;
	const char *etag;
	long long ts;

	http_request(method, path, with_auth ? hdrs : NULL, body, &r);
	if (status == WRITE_4XX)
		check_at(r.status >= 400 && r.status < 500, file, line, "%s: HTTP %ld %s, expected "
			 "a 4xx: %s", r.what, r.status, r.error, body_snip(&r));
	else
		check_at(r.status == status, file, line, "%s: HTTP %ld %s, expected %ld: %s", r.what,
			 r.status, r.error, status, body_snip(&r));
	ts = json_object_is_type(resp_json(&r, "data"), json_type_object) ?
		     jint(resp_json(&r, "data"), "last_modified") : -1;
	etag = resp_header(&r, "ETag");
	if (ts < 0 && etag != NULL && etag[0] == '"')
		ts = strtoll(etag + 1, NULL, 10);
	if (keep != NULL)
		*keep = r;
	else
		http_resp_free(&r);
	return ts;
}

void expect_set(struct expect *x, const char *action, const char *path, long long ts,
		bool anonymous)
{
	size_t n = strcspn(path, "?");

	if (strncmp(path, "/v1/", 4) == 0) {
		path += 3;
		n -= 3;
	}
	x->action = action;
	snprintf(x->uri, sizeof x->uri, "%.*s", (int)n, path);
	x->ts = ts;
	x->anonymous = anonymous;
}

json_object *events_find(const struct events *e, const struct expect *x)
{
	json_object *only = NULL;
	size_t same = 0;

	for (size_t i = 0; i < e->n; i++) {
		const char *a = jstr(e->v[i], "action"), *u = jstr(e->v[i], "uri");

		if (a == NULL || u == NULL || strcmp(a, x->action) != 0 || strcmp(u, x->uri) != 0)
			continue;
		if (jint(e->v[i], "timestamp") == x->ts)
			return e->v[i];
		only = e->v[i];
		same++;
	}
	/* One candidate with another timestamp: returned, so the check names the difference. */
	return same == 1 ? only : NULL;
}

/* "buckets" → "bucket": the URL's plural names and their resource_name. */
static bool singular(const char *seg, size_t len, char *out, size_t size)
{
	static const char *const names[] = { "buckets", "collections", "groups", "records" };

	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strlen(names[i]) == len && strncmp(seg, names[i], len) == 0) {
			snprintf(out, size, "%.*s", (int)len - 1, seg);
			return true;
		}
	return false;
}

static bool uuid_like(const char *s)
{
	static const char hex[] = "0123456789abcdef";

	if (s == NULL || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : !strchr(hex, s[i]))
			return false;
	return true;
}

void check_payload_at(json_object *ev, const struct expect *x, const char *file, unsigned line)
{
	char resource[32] = "", keys[8][48], vals[8][128];
	const char *p = x->uri + 1, *uid;
	/* timestamp action uri user_id resource_name event_id impacted */
	size_t nk = 0, want_len = 7;
	json_object *u;

	check_at(ev != NULL, file, line, "%s %s (ts %lld): no event", x->action, x->uri, x->ts);
	if (ev == NULL)
		return;
	/* /buckets/b/collections/c/records[/r]: each plural/value pair is "<singular>_id". */
	while (*p != '\0' && nk < 8) {
		size_t len = strcspn(p, "/");
		char name[32];

		if (!singular(p, len, name, sizeof name))
			break;
		snprintf(resource, sizeof resource, "%s", name);
		p += len + (p[len] == '/');
		if (*p == '\0')
			break;
		len = strcspn(p, "/");
		snprintf(keys[nk], sizeof keys[nk], "%s_id", name);
		snprintf(vals[nk], sizeof vals[nk], "%.*s", (int)len, p);
		nk++;
		p += len + (p[len] == '/');
	}
	check_at(json_object_object_length(ev) == (int)(want_len + nk), file, line,
		 "%s %s: %d keys, expected %zu: %s", x->action, x->uri,
		 json_object_object_length(ev), want_len + nk, json_object_to_json_string(ev));
	check_at(json_object_is_type(json_object_object_get(ev, "timestamp"), json_type_int) &&
			 jint(ev, "timestamp") == x->ts,
		 file, line, "%s %s: timestamp %lld, expected %lld", x->action, x->uri,
		 jint(ev, "timestamp"), x->ts);
	check_at(jstr(ev, "action") && strcmp(jstr(ev, "action"), x->action) == 0, file, line,
		 "%s %s: action %s", x->action, x->uri, jstr(ev, "action"));
	check_at(jstr(ev, "uri") && strcmp(jstr(ev, "uri"), x->uri) == 0, file, line,
		 "%s: uri %s", x->uri, jstr(ev, "uri"));
	check_at(jstr(ev, "resource_name") && strcmp(jstr(ev, "resource_name"), resource) == 0,
		 file, line, "%s: resource_name %s, expected %s", x->uri, jstr(ev, "resource_name"),
		 resource);
	uid = jstr(ev, "user_id");
	if (x->anonymous)
		check_at(json_object_object_get_ex(ev, "user_id", &u) && u == NULL, file, line,
			 "%s: user_id %s, expected null (anonymous)", x->uri,
			 json_object_to_json_string(ev));
	else
		check_at(uid != NULL && strcmp(uid, events_user_id()) == 0, file, line,
			 "%s: user_id %s, expected %s", x->uri, uid, events_user_id());
	check_at(uuid_like(jstr(ev, "event_id")), file, line, "%s: event_id %s is not a UUID",
		 x->uri, jstr(ev, "event_id"));
	check_at(json_object_is_type(json_object_object_get(ev, "impacted"), json_type_array), file,
		 line, "%s: no \"impacted\" array: %s", x->uri, json_object_to_json_string(ev));
	for (size_t i = 0; i < nk; i++)
		check_at(jstr(ev, keys[i]) && strcmp(jstr(ev, keys[i]), vals[i]) == 0, file, line,
			 "%s: %s is %s, expected %s", x->uri, keys[i], jstr(ev, keys[i]), vals[i]);
}

size_t log_count(const char *relative, const char *needle)
{
	char path[4096], line[8192];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", harness_state_dir(), relative);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof line, f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

void kill_a_worker(void)
{
	pid_t kids[16];
	size_t n = children_of(supervisor_pid(), kids, 16);

	CU_ASSERT_FATAL(n > 0 && kill(kids[0], SIGKILL) == 0);
	for (long waited = 0; waited < 10000 && (pid_alive(kids[0]) ||
	     children_of(supervisor_pid(), kids + 1, 15) < n); waited += 100)
		sleep_ms(100);
}
