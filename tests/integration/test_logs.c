/*
 * Logs and the heartbeat, seen from outside: the request.summary line of a
 * request carries nginx's $request_id, which comes back as X-Request-Id and
 * as "request_id" in every error body (pawl's and nginx's own), while a
 * client's X-Request-Id is ignored; JSON lines parse; a failed delivery and
 * a killed worker each leave one structured line; __heartbeat__'s entries
 * are booleans or null, and "outbox" turns false (503) once the oldest row
 * is older than heartbeat_outbox_max_age_seconds. The stack's log is
 * $STATE/log/pawl.log (its stderr), nginx's access log carries rid= too.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "events_util.h"
#include "harness.h"
#include "resource_util.h"

#define LOG_WAIT_MS 5000

/* The last line of $STATE/relative holding needle (and also, if given), into out. */
static bool last_line(const char *relative, const char *needle, const char *also, char *out,
		      size_t size)
{
	char path[4096], line[8192] = "";
	bool found = false;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", harness_state_dir(), relative);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	while (fgets(line, sizeof line, f) != NULL)
		if (strstr(line, needle) != NULL && (also == NULL || strstr(line, also) != NULL)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, size, "%s", line);
			found = true;
		}
	fclose(f);
	return found;
}

/* last_line, polled: a worker writes its summary just after it sent the response. */
static bool wait_line(const char *relative, const char *needle, const char *also, char *out,
		      size_t size, long timeout_ms)
{
	for (long waited = 0;; waited += 100) {
		if (last_line(relative, needle, also, out, size))
			return true;
		if (waited >= timeout_ms)
			return false;
		sleep_ms(100);
	}
}

/* nginx's $request_id: 32 lowercase hex digits. */
static bool is_nginx_id(const char *id)
{
	return id != NULL && strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32;
}

static const char *body_rid(const struct http_resp *r)
{
	json_object *v = resp_json(r, "request_id");

	return v != NULL && json_object_is_type(v, json_type_string) ? json_object_get_string(v)
								      : NULL;
}

/* An error answer whose body and X-Request-Id carry the same nginx id; returns it. */
static const char *check_error_rid_at(const struct http_resp *r, long status, int err_no,
				      const char *file, unsigned line)
{
	const char *hdr = resp_header(r, "X-Request-Id"), *body = body_rid(r);

	assert_error_at(r, status, err_no, file, line);
	check_at(is_nginx_id(hdr), file, line, "%s: X-Request-Id is %s", r->what,
		 hdr ? hdr : "missing");
	check_at(hdr != NULL && body != NULL && strcmp(hdr, body) == 0, file, line,
		 "%s: body request_id %s, header %s: %s", r->what, body ? body : "missing",
		 hdr ? hdr : "missing", body_snip(r));
	return hdr;
}
#define check_error_rid(r, s, e) check_error_rid_at((r), (s), (e), __FILE__, __LINE__)

static void test_summary_has_nginx_id(void)
{
	char path[256], id[64], needle[128], line[8192] = "";
	const char *hdrs[] = { "User-Agent: pawl-logs-test", "Accept-Language: fr-CH", NULL };
	struct http_resp r;
	const char *rid;

	unique_id(id, sizeof id, "nowhere");
	snprintf(path, sizeof path, "/v1/%s?_limit=2&q=%%22x%%22", id);
	http_request("GET", path, hdrs, NULL, &r);
	rid = check_error_rid(&r, 404, 111);
	if (!is_nginx_id(rid)) {
		http_resp_free(&r);
		return;
	}
	snprintf(needle, sizeof needle, "request.summary rid=%s: ", rid);
	CHECK(wait_line("log/pawl.log", needle, NULL, line, sizeof line, LOG_WAIT_MS),
	      "no '%s' line in pawl.log", needle);
	CHECK(strstr(line, ": GET /v1/") && strstr(line, id) && strstr(line, "?_limit=2&q=%22x%22") &&
		      strstr(line, " -> 404 (") && strstr(line, "errno=111") &&
		      strstr(line, "agent=\"pawl-logs-test\"") && strstr(line, "lang=\"fr-CH\""),
	      "summary line: %s", line);
	/* The same id in nginx's access log (the stack's log_format has rid=$request_id). */
	snprintf(needle, sizeof needle, "rid=%s", rid);
	CHECK(wait_line("log/nginx-access.log", needle, NULL, line, sizeof line, LOG_WAIT_MS) &&
		      strstr(line, id) != NULL,
	      "nginx's access log has no line with %s: the id is not nginx's", needle);
	http_resp_free(&r);
}

/* A stranger must not choose the id under which a request is logged. */
static void test_client_id_ignored(void)
{
	char chosen[64], hdr[128], needle[128], line[8192] = "", path[256];
	struct http_resp r;
	const char *rid;

	unique_id(chosen, sizeof chosen, "client-chosen-");
	snprintf(hdr, sizeof hdr, "X-Request-Id: %s", chosen);
	snprintf(path, sizeof path, "/v1/%s", chosen);
	http_request("GET", path, (const char *const[]){ hdr, NULL }, NULL, &r);
	rid = check_error_rid(&r, 404, 111);
	CHECK(rid == NULL || strcmp(rid, chosen) != 0, "the client's X-Request-Id was taken");
	CHECK(resp_header_count(&r, "X-Request-Id") == 1, "%zu X-Request-Id headers",
	      resp_header_count(&r, "X-Request-Id"));
	if (is_nginx_id(rid)) {
		snprintf(needle, sizeof needle, "request.summary rid=%s: ", rid);
		CHECK(wait_line("log/pawl.log", needle, chosen, line, sizeof line, LOG_WAIT_MS),
		      "no summary line under nginx's id %s", rid);
	}
	snprintf(needle, sizeof needle, "rid=%s", chosen);
	CHECK(log_count("log/pawl.log", needle) == 0, "a line logged under the client's id");
	http_resp_free(&r);
}

/* 401, 400, a batch's sub-request, nginx's own 413 and 400: each body names its request. */
static void test_error_bodies(void)
{
	const char *auth_hdrs[] = { events_auth(), NULL };
	char id[64], path[256], batch[512];
	struct http_resp r;
	json_object *sub;
	const char *rid;
	char *big;

	unique_id(id, sizeof id, "rid");
	snprintf(path, sizeof path, "/v1/buckets/%s", id);
	http_request("PUT", path, NULL, "{\"data\":{}}", &r);
	check_error_rid(&r, 401, 104);
	http_resp_free(&r);
	http_request("PUT", path, auth_hdrs, "{\"data\": not json", &r);
	check_error_rid(&r, 400, 107);
	http_resp_free(&r);
	snprintf(batch, sizeof batch, "{\"requests\":[{\"method\":\"GET\",\"path\":"
		 "\"/buckets/%s/collections/none\"}]}", id);
	http_request("POST", "/v1/batch", auth_hdrs, batch, &r);
	assert_status(&r, 200);
	rid = resp_header(&r, "X-Request-Id");
	sub = resp_json(&r, "responses");
	sub = sub != NULL && json_object_is_type(sub, json_type_array) ?
		      json_object_array_get_idx(sub, 0) : NULL;
	sub = sub != NULL && json_object_object_get_ex(sub, "body", &sub) ? sub : NULL;
	CHECK(is_nginx_id(rid) && sub != NULL && jstr(sub, "request_id") != NULL &&
		      strcmp(jstr(sub, "request_id"), rid) == 0,
	      "batch: sub-response error without the batch's id %s: %s", rid ? rid : "-",
	      body_snip(&r));
	http_resp_free(&r);
	/* Past client_max_body_size (2m): nginx answers, pawl never sees it. */
	big = malloc(3 * 1024 * 1024 + 1);
	CU_ASSERT_FATAL(big != NULL);
	memset(big, ' ', 3 * 1024 * 1024);
	big[3 * 1024 * 1024] = '\0';
	http_request("PUT", path, auth_hdrs, big, &r);
	rid = check_error_rid(&r, 413, 113);
	http_resp_free(&r);
	/* A header over large_client_header_buffers: nginx's 494, its JSON 400. */
	memset(big, 'a', 16000);
	memcpy(big, "X-Big: ", 7);
	big[16000] = '\0';
	http_request("GET", "/v1/", (const char *const[]){ big, NULL }, NULL, &r);
	check_error_rid(&r, 400, 107);
	http_resp_free(&r);
	free(big);
}

/* log_format = json: the summary line is one JSON object with Kinto's fields. */
static void test_json_lines(void)
{
	const char *hdrs[] = { events_auth(), "User-Agent: pawl \"quoted\"\tagent",
			       "Accept-Language: de", NULL };
	char needle[128], line[8192] = "";
	json_object *o = NULL, *f = NULL, *q = NULL;
	struct http_resp r;
	char rid[64] = "";

	if (!ru_reload_edit("log_format = text", "log_format = json")) {
		CHECK(false, "reload with log_format = json failed");
		ru_reload_restore();
		return;
	}
	http_request("GET", "/v1/buckets?_limit=1&_sort=-last_modified&x=a+b", hdrs, NULL, &r);
	assert_status(&r, 200);
	if (resp_header(&r, "X-Request-Id") != NULL)
		snprintf(rid, sizeof rid, "%s", resp_header(&r, "X-Request-Id"));
	http_resp_free(&r);
	snprintf(needle, sizeof needle, "\"rid\":\"%s\"", rid);
	CHECK(is_nginx_id(rid) && wait_line("log/pawl.log", needle, "request.summary", line,
					    sizeof line, LOG_WAIT_MS),
	      "no JSON summary line with %s", needle);
	CU_ASSERT(ru_reload_restore());
	o = json_tokener_parse(line);
	CHECK(o != NULL && json_object_object_get_ex(o, "Fields", &f), "not a JSON line: %s", line);
	if (f == NULL) {
		json_object_put(o);
		return;
	}
	CHECK(jstr(o, "Type") && strcmp(jstr(o, "Type"), "request.summary") == 0, "Type: %s", line);
	CHECK(jstr(f, "method") && strcmp(jstr(f, "method"), "GET") == 0 && jstr(f, "path") &&
		      strcmp(jstr(f, "path"), "/v1/buckets") == 0 && jint(f, "code") == 200,
	      "method, path, code: %s", line);
	CHECK(json_object_object_get_ex(f, "errno", &q) && q == NULL, "errno not null: %s", line);
	CHECK(json_object_object_get_ex(f, "querystring", &q) && jstr(q, "_limit") &&
		      strcmp(jstr(q, "_limit"), "1") == 0 && jstr(q, "x") &&
		      strcmp(jstr(q, "x"), "a b") == 0,
	      "querystring: %s", line);
	CHECK(jstr(f, "uid") && strcmp(jstr(f, "uid"), events_user_id()) == 0 &&
		      jstr(f, "authn_type") && strcmp(jstr(f, "authn_type"), "basicauth") == 0,
	      "uid, authn_type: %s", line);
	CHECK(jstr(f, "agent") && strcmp(jstr(f, "agent"), "pawl \"quoted\"\tagent") == 0 &&
		      jstr(f, "lang") && strcmp(jstr(f, "lang"), "de") == 0,
	      "agent, lang: %s", line);
	CHECK(json_object_object_get_ex(f, "t", &q) && json_object_is_type(q, json_type_double) &&
		      jstr(f, "time") != NULL,
	      "t, time: %s", line);
	json_object_put(o);
}

/* Every entry of __heartbeat__ true, false or null (Kinto); the status and the entries. */
static long heartbeat(struct http_resp *r)
{
	http_request("GET", "/v1/__heartbeat__", NULL, NULL, r);
	if (r->json != NULL && json_object_is_type(r->json, json_type_object)) {
		json_object_object_foreach(r->json, key, val)
			CHECK(val == NULL || json_object_is_type(val, json_type_boolean),
			      "heartbeat entry %s is neither a boolean nor null: %s", key,
			      body_snip(r));
	}
	return r->status;
}

/* 1 true, 0 false, -1 null, -2 absent or another type. */
static int entry(const struct http_resp *r, const char *key)
{
	json_object *v = NULL;

	if (r->json == NULL || !json_object_object_get_ex(r->json, key, &v))
		return -2;
	if (v == NULL)
		return -1;
	return json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : -2;
}

/* The relay's pid: the supervisor's child that logged "relay: started" last. */
static pid_t relay_pid(void)
{
	char line[8192] = "";
	const char *p;
	pid_t kids[64], pid;
	size_t n;

	if (!last_line("log/pawl.log", "relay: started", NULL, line, sizeof line) ||
	    (p = strstr(line, "pawl[")) == NULL)
		return -1;
	pid = (pid_t)atol(p + strlen("pawl["));
	n = children_of(supervisor_pid(), kids, 64);
	for (size_t i = 0; i < n; i++)
		if (kids[i] == pid)
			return pid;
	return -1;
}

/* Polls the heartbeat until outbox is want (and the status status); true if it came. */
static bool heartbeat_until(int want, long status, long timeout_ms, struct http_resp *r)
{
	for (long waited = 0;; waited += 200) {
		long got = heartbeat(r);

		if (got == status && entry(r, "outbox") == want)
			return true;
		if (waited >= timeout_ms)
			return false;
		http_resp_free(r);
		sleep_ms(200);
	}
}

/* The relay stopped: rows wait, outbox turns false while every listener says true. */
static void test_heartbeat_outbox_age(void)
{
	char p[256], b[64];
	struct http_resp r;
	pid_t relay;
	bool ok;

	if (!ru_reload("\nheartbeat_outbox_max_age_seconds = 1\n")) {
		CHECK(false, "reload with heartbeat_outbox_max_age_seconds = 1 failed");
		ru_reload_restore();
		return;
	}
	ok = heartbeat(&r) == 200 && entry(&r, "outbox") == 1;
	CHECK(ok, "before: %s", body_snip(&r));
	http_resp_free(&r);
	relay = relay_pid();
	CU_ASSERT_FATAL(stop_process(relay));
	unique_id(b, sizeof b, "hbage");
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	sleep_ms(1300);
	ok = heartbeat_until(0, 503, 3000, &r);
	kill(relay, SIGCONT); /* always, before any fatal assertion */
	CHECK(ok && entry(&r, "storage") == 1 && entry(&r, "redis") == 1,
	      "relay stopped for 1.3 s: expected 503 with outbox false and the rest true: %ld %s",
	      r.status, body_snip(&r));
	http_resp_free(&r);
	ok = heartbeat_until(1, 200, DELIVERY_MS, &r);
	CHECK(ok, "after the relay resumed: %ld %s", r.status, body_snip(&r));
	http_resp_free(&r);
	/* 0: no check, so null (Kinto's "nothing to say"), and never a 503 of its own. */
	CHECK(ru_reload("\nheartbeat_outbox_max_age_seconds = 0\n"), "reload with 0 failed");
	ok = heartbeat(&r) == 200 && entry(&r, "outbox") == -1;
	CHECK(ok, "max age 0: %s", body_snip(&r));
	http_resp_free(&r);
	CU_ASSERT(ru_reload_restore());
}

/* A free TCP port on loopback that nothing listens on (bound, then closed). */
static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/*
 * A listener whose Redis is not there (the harness's "creates", pointed at a
 * closed port): event.delivery_failed lines, throttled, and outbox false.
 * The harness fixes the list of listeners (PAWL_EVENT_LISTENERS), so an
 * existing one is broken rather than a new one added.
 */
static void test_delivery_failure_logged(void)
{
	char url[256], from[320], to[320], p[256], b[64], line[8192] = "", oldest[64] = "",
		want[96];
	struct http_resp r;
	int port = closed_port();
	bool ok;

	CU_ASSERT_FATAL(port > 0);
	harness_ini_value("event_listeners.creates.url", url, sizeof url);
	CU_ASSERT_FATAL(url[0] != '\0');
	snprintf(from, sizeof from, "event_listeners.creates.url = %s\n", url);
	snprintf(to, sizeof to, "event_listeners.creates.url = redis://127.0.0.1:%d/0\n"
		 "heartbeat_outbox_max_age_seconds = 1\n", port);
	if (!ru_reload_edit(from, to)) {
		CHECK(false, "reload with listener creates on a closed port failed");
		ru_reload_restore();
		return;
	}
	unique_id(b, sizeof b, "dead");
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	CHECK(wait_line("log/pawl.log", "event.delivery_failed", "listener=\"creates\"", line,
			sizeof line, LOG_WAIT_MS),
	      "no event.delivery_failed line for listener creates");
	CHECK(strstr(line, " WARNING event.delivery_failed: ") && strstr(line, "outbox_id=") &&
		      strstr(line, "rows=") && strstr(line, "attempt=") &&
		      strstr(line, "reason=\"Redis unavailable"),
	      "delivery failure line: %s", line);
	CHECK(harness_psql("SELECT min(id) FROM outbox WHERE listener = 'creates'", oldest,
			   sizeof oldest) && oldest[0] != '\0',
	      "no outbox row of listener creates");
	snprintf(want, sizeof want, "listener=\"creates\" outbox_id=%s ", oldest);
	CHECK(log_count("log/pawl.log", want) > 0, "no failure line names outbox row %s", oldest);
	/*
	 * The relay retries every second, but logs 1 s after the first line, then
	 * 2 s later: that line counts the attempt it did not log.
	 */
	CHECK(wait_line("log/pawl.log", "listener=\"creates\"", " suppressed=1 ", line, sizeof line,
			LOG_WAIT_MS) || wait_line("log/pawl.log", "listener=\"creates\"",
						  " suppressed=2 ", line, sizeof line, 0),
	      "no line counting an unlogged attempt");
	CHECK(strstr(line, "attempt=1 ") == NULL && strstr(line, "outage_ms=") != NULL,
	      "throttled failure line: %s", line);
	snprintf(want, sizeof want, "127.0.0.1:%d", port);
	CHECK(log_count("log/pawl.log", want) == 0, "the listener's URL in the log");
	ok = heartbeat_until(0, 503, 3000, &r) && entry(&r, "creates") == 0 &&
	     entry(&r, "storage") == 1;
	CHECK(ok, "heartbeat with an undeliverable row: %ld %s", r.status, body_snip(&r));
	http_resp_free(&r);
	/* Redis back (the listener's own URL again): the rows go, outbox is true again. */
	CU_ASSERT(ru_reload_restore());
	ok = heartbeat_until(1, 200, DELIVERY_MS, &r);
	CHECK(ok, "after the listener came back: %ld %s", r.status, body_snip(&r));
	http_resp_free(&r);
}

/* kill -9 of a worker: one worker.restart line with its pid and signal. */
static void test_restart_logged(void)
{
	pid_t kids[64], relay = relay_pid(), victim = -1;
	size_t n = children_of(supervisor_pid(), kids, 64);
	char needle[128], line[8192] = "";

	for (size_t i = 0; i < n && victim < 0; i++)
		if (kids[i] != relay)
			victim = kids[i];
	CU_ASSERT_FATAL(victim > 0 && kill(victim, SIGKILL) == 0);
	snprintf(needle, sizeof needle, " pid=%ld ", (long)victim);
	CHECK(wait_line("log/pawl.log", "worker.restart", needle, line, sizeof line, LOG_WAIT_MS),
	      "no worker.restart line for pid %ld", (long)victim);
	CHECK(strstr(line, " ERROR worker.restart: supervisor: worker ") &&
		      strstr(line, "killed by signal 9; respawning | role=\"worker\"") &&
		      strstr(line, "signal=9") && strstr(line, "status=") == NULL,
	      "restart line: %s", line);
	for (long waited = 0; waited < 10000 && children_of(supervisor_pid(), kids, 64) < n;
	     waited += 100)
		sleep_ms(100);
}

void test_logs_register(void)
{
	CU_pSuite s = CU_add_suite("logs", NULL, NULL);

	CU_add_test(s, "request.summary under nginx's $request_id, echoed in X-Request-Id",
		    test_summary_has_nginx_id);
	CU_add_test(s, "a client's X-Request-Id is ignored", test_client_id_ignored);
	CU_add_test(s, "error bodies carry the request id (pawl's and nginx's)", test_error_bodies);
	CU_add_test(s, "log_format = json: the summary's Kinto fields", test_json_lines);
	CU_add_test(s, "heartbeat: outbox false past its max age, true when drained, null at 0",
		    test_heartbeat_outbox_age);
	CU_add_test(s, "a failed delivery logs event.delivery_failed", test_delivery_failure_logged);
	CU_add_test(s, "a killed worker logs worker.restart", test_restart_logged);
}
