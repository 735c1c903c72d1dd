/*
 * GET /v1/__metrics__ over the real stack (README "Metrics"): the counters
 * are the host's, not a worker's. Requests are made with one of the two
 * workers stopped (SIGSTOP), then the other, so each serves part of them
 * for certain; whichever answers the scrape must count them all, exactly.
 * Also: who may read it, switched off, and the counters surviving a killed
 * worker (its restart counted) and a reload. Reloads the config (SIGHUP).
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "resource_util.h"

#define PROM_USER "prom-scraper"
#define PROM_PW "scrape-Pw-1"
#define WRITER_USER "metrics-writer"
#define WRITER_PW "writer-Pw-1"
#define MAX_KIDS 64

static char prom_auth[512], writer_auth[512], principals[512];
static char record[RU_PATH_LEN], records[RU_PATH_LEN];

/* One request with one Authorization header (NULL: anonymous). */
static void as(struct http_resp *r, const char *auth, const char *method, const char *path,
	       const char *body)
{
	const char *h[2] = { auth, NULL };

	http_request(method, path, auth ? h : NULL, body, r);
}

/* The socket's identity ("socket:[inode]") behind fd of pid, or "". */
static void fd_link(pid_t pid, const char *fd, char *out, size_t size)
{
	char path[320];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/%ld/fd/%s", (long)pid, fd);
	n = readlink(path, out, size - 1);
	out[n > 0 ? n : 0] = '\0';
}

/*
 * The workers: the supervisor's children holding its listening socket (fd 0,
 * from spawn-fcgi). The relay closed it, so it is not one of them.
 */
static size_t workers(pid_t *out, size_t max)
{
	pid_t sup = supervisor_pid(), kids[MAX_KIDS];
	char listening[128], link[128];
	size_t n = 0, nk;

	fd_link(sup, "0", listening, sizeof listening);
	if (strncmp(listening, "socket:", 7) != 0)
		return 0;
	nk = children_of(sup, kids, MAX_KIDS);
	for (size_t i = 0; i < nk && n < max; i++) {
		char dir[64];
		struct dirent *e;
		DIR *d;
		bool holds = false;

		snprintf(dir, sizeof dir, "/proc/%ld/fd", (long)kids[i]);
		if ((d = opendir(dir)) == NULL)
			continue;
		while (!holds && (e = readdir(d)) != NULL) {
			fd_link(kids[i], e->d_name, link, sizeof link);
			holds = strcmp(link, listening) == 0;
		}
		closedir(d);
		if (holds)
			out[n++] = kids[i];
	}
	return n;
}

/* A scrape as the permitted principal; its body (caller frees) or NULL. */
static char *scrape_at(const char *file, unsigned line)
{
	struct http_resp r;
	const char *type;
	char *body = NULL;

	as(&r, prom_auth, "GET", "/v1/__metrics__", NULL);
	type = resp_header(&r, "Content-Type");
	check_at(r.status == 200 && type != NULL &&
		 strcmp(type, "text/plain; version=0.0.4; charset=utf-8") == 0, file, line,
		 "scrape: HTTP %ld, Content-Type %s: %s", r.status, type ? type : "-", body_snip(&r));
	if (r.status == 200)
		body = strdup(r.body);
	http_resp_free(&r);
	return body;
}
#define scrape() scrape_at(__FILE__, __LINE__)

/* The value of one series ("name{labels}" as rendered); 0 when absent (nothing counted yet). */
static double value(const char *body, const char *series)
{
	size_t n = strlen(series);
	const char *p = body;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return 0;
}

/* The change of one series between two scrapes must be want. */
static void delta_at(const char *before, const char *after, const char *series, double want,
		     const char *file, unsigned line)
{
	double got = before && after ? value(after, series) - value(before, series) : -1;

	check_at(got == want, file, line, "%s moved by %g, expected %g", series, got, want);
}
#define DELTA(b, a, s, w) delta_at((b), (a), (s), (w), __FILE__, __LINE__)

/* The status of one request; a failed one (0) says why, with the phase and how long it took. */
static long status_of(const char *auth, const char *method, const char *path, const char *body,
		      int phase)
{
	struct http_resp r;
	long status, t0 = harness_now_ms();

	as(&r, auth, method, path, body);
	status = r.status;
	if (status == 0)
		fprintf(stderr, "metrics: phase %d: %s: no answer after %ld ms %s\n", phase, r.what,
			harness_now_ms() - t0, r.error);
	http_resp_free(&r);
	return status;
}

static int suite_init(void)
{
	struct http_resp r;
	const char *id;

	basic_auth(prom_auth, sizeof prom_auth, PROM_USER, PROM_PW);
	basic_auth(writer_auth, sizeof writer_auth, WRITER_USER, WRITER_PW);
	as(&r, prom_auth, "GET", "/v1/", NULL);
	id = ru_str(resp_json(&r, "user"), "id");
	snprintf(principals, sizeof principals, "\nmetrics_read_principals = %s\n", id ? id : "?");
	http_resp_free(&r);
	/* No CUnit assertion here: this runs outside any test. */
	return id == NULL || !ru_reload(principals);
}

static int suite_cleanup(void)
{
	return ru_reload_restore() ? 0 : 1;
}

/* One phase: n_get reads (200), n_missing reads (404), n_put creations (201, one commit each). */
static void requests(int n_get, int n_missing, int n_put, int phase)
{
	long st;

	for (int i = 0; i < n_get; i++) {
		st = status_of(writer_auth, "GET", record, NULL, phase);
		CHECK(st == 200, "GET %s: %ld", record, st);
	}
	for (int i = 0; i < n_missing; i++) {
		st = status_of(writer_auth, "GET", ru_fmt("%s/missing%d", records, i), NULL,
			       phase);
		CHECK(st == 404, "GET a missing record: %ld", st);
	}
	for (int i = 0; i < n_put; i++) {
		st = status_of(writer_auth, "PUT", ru_fmt("%s/p%d-%d", records, phase, i),
			       "{\"data\": {\"n\": 1}}", phase);
		CHECK(st == 201, "PUT a new record: %ld", st);
	}
}

#define N_GET 10
#define N_MISSING 3
#define N_PUT 4

static void test_counts_across_workers(void)
{
	pid_t w[8];
	size_t nw = workers(w, 8);
	char *before, *after = NULL, bucket[RU_ID_LEN];
	double delivered = 0;

	ru_login(WRITER_USER, WRITER_PW);
	ru_fresh_collection(bucket);
	SET(records, ru_records(bucket, "c"));
	SET(record, ru_record(bucket, "c", "r0"));
	CU_ASSERT_FATAL(PUT(record, "{\"n\": 0}", 201) > 0);
	CHECK(nw == 2, "%zu workers hold the socket, expected 2", nw);
	CU_ASSERT_FATAL(nw == 2);
	before = scrape();
	CU_ASSERT_PTR_NOT_NULL_FATAL(before);
	/* Each worker serves one phase alone: the other one is stopped. */
	for (int phase = 0; phase < 2; phase++) {
		pid_t idle = w[1 - phase];

		CU_ASSERT_FATAL(stop_process(idle));
		requests(N_GET, N_MISSING, N_PUT, phase);
		CU_ASSERT_FATAL(kill(idle, SIGCONT) == 0);
	}
	after = scrape();
	CU_ASSERT_PTR_NOT_NULL_FATAL(after);
	DELTA(before, after, "pawl_requests_total{route=\"item\",method=\"GET\",code=\"200\"}",
	      2 * N_GET);
	DELTA(before, after, "pawl_requests_total{route=\"item\",method=\"GET\",code=\"404\"}",
	      2 * N_MISSING);
	DELTA(before, after, "pawl_requests_total{route=\"item\",method=\"PUT\",code=\"201\"}",
	      2 * N_PUT);
	/* The first scrape, counted once it was answered; the second is not counted yet. */
	DELTA(before, after, "pawl_requests_total{route=\"metrics\",method=\"GET\",code=\"200\"}", 1);
	DELTA(before, after, "pawl_request_duration_seconds_count{route=\"item\",method=\"GET\"}",
	      2 * (N_GET + N_MISSING));
	DELTA(before, after,
	      "pawl_request_duration_seconds_bucket{route=\"item\",method=\"PUT\",le=\"+Inf\"}",
	      2 * N_PUT);
	DELTA(before, after, "pawl_transactions_total{outcome=\"commit\"}", 2 * N_PUT);
	DELTA(before, after, "pawl_transactions_total{outcome=\"rollback\"}", 0);
	/* Records go to the stack's `redis` listener (every resource), not to `creates`. */
	DELTA(before, after, "pawl_events_staged_total{listener=\"redis\"}", 2 * N_PUT);
	DELTA(before, after, "pawl_events_staged_total{listener=\"creates\"}", 0);
	CHECK(value(after, "pawl_db_statements_total") > value(before, "pawl_db_statements_total"),
	      "no database statement counted");
	CHECK(value(after, "pawl_metrics_shared") == 1, "pawl_metrics_shared is not 1");
	CHECK(strstr(after, "\npawl_outbox_pending_events ") != NULL, "no outbox gauge");
	CHECK(strstr(after, WRITER_USER) == NULL && strstr(after, "basicauth:") == NULL &&
	      strstr(after, "p0-0") == NULL && strstr(after, records) == NULL,
	      "the metrics name a user, a record or a list");
	/* The relay (a third process) delivers them: the same block counts it. */
	for (int waited = 0; waited < 10000; waited += 100) {
		free(after);
		after = scrape();
		delivered = after ? value(after, "pawl_events_delivered_total{listener=\"redis\"}") -
				    value(before, "pawl_events_delivered_total{listener=\"redis\"}") : -1;
		if (delivered >= 2 * N_PUT)
			break;
		sleep_ms(100);
	}
	CHECK(delivered == 2 * N_PUT, "%g events delivered to redis, expected %d", delivered,
	      2 * N_PUT);
	DELTA(before, after, "pawl_event_delivery_latency_seconds_count{listener=\"redis\"}",
	      2 * N_PUT);
	DELTA(before, after, "pawl_redis_errors_total{listener=\"redis\"}", 0);
	free(before);
	free(after);
}

static void test_who_may_read(void)
{
	struct http_resp r;

	as(&r, NULL, "GET", "/v1/__metrics__", NULL);
	assert_error(&r, 401, 104);
	CHECK(strstr(r.body, "pawl_") == NULL, "a refused scrape shows metrics: %s", body_snip(&r));
	http_resp_free(&r);
	as(&r, writer_auth, "GET", "/v1/__metrics__", NULL);
	assert_error(&r, 403, 121);
	CHECK(strstr(r.body, "pawl_") == NULL, "a refused scrape shows metrics: %s", body_snip(&r));
	http_resp_free(&r);
	as(&r, writer_auth, "GET", "/v1/", NULL);
	CHECK(resp_json(&r, "capabilities.prometheus") != NULL, "no prometheus capability");
	http_resp_free(&r);
}

/* In a batch, the same rule, and the text comes back as a JSON string (Kinto's build_response). */
static void test_in_a_batch(void)
{
	static const char batch[] = "{\"requests\": [{\"method\": \"GET\", \"path\": \"/__metrics__\"}]}";
	const char *h[3] = { prom_auth, "Content-Type: application/json", NULL };
	json_object *sub, *body;
	struct http_resp r;

	http_request("POST", "/v1/batch", h, batch, &r);
	assert_status(&r, 200);
	sub = json_object_array_get_idx(resp_json(&r, "responses"), 0);
	CHECK(ru_int(sub, "status") == 200, "the sub-request got %lld", ru_int(sub, "status"));
	body = sub != NULL ? json_object_object_get(sub, "body") : NULL;
	CHECK(json_object_is_type(body, json_type_string) &&
	      strstr(json_object_get_string(body), "# TYPE pawl_requests_total counter\n") != NULL,
	      "the sub-response's body is not the metrics text: %s", body_snip(&r));
	http_resp_free(&r);
	h[0] = writer_auth;
	http_request("POST", "/v1/batch", h, batch, &r);
	sub = json_object_array_get_idx(resp_json(&r, "responses"), 0);
	CHECK(ru_int(sub, "status") == 403 && strstr(r.body, "pawl_") == NULL,
	      "a refused sub-request: %s", body_snip(&r));
	http_resp_free(&r);
}

static void wait_for_workers(size_t want)
{
	pid_t w[8];

	for (int waited = 0; waited < 10000 && workers(w, 8) != want; waited += 100)
		sleep_ms(100);
}

static void test_survives_kill_and_reload(void)
{
	pid_t w[8];
	char *before, *after;

	CU_ASSERT_FATAL(workers(w, 8) == 2);
	before = scrape();
	CU_ASSERT_PTR_NOT_NULL_FATAL(before);
	CU_ASSERT_FATAL(kill(w[0], SIGKILL) == 0);
	sleep_ms(200);
	wait_for_workers(2);
	after = scrape();
	CU_ASSERT_PTR_NOT_NULL_FATAL(after);
	DELTA(before, after, "pawl_worker_restarts_total{process=\"worker\"}", 1);
	DELTA(before, after, "pawl_worker_restarts_total{process=\"relay\"}", 0);
	/* What the dead worker counted is still there, nothing lost, nothing doubled. */
	DELTA(before, after, "pawl_requests_total{route=\"item\",method=\"GET\",code=\"200\"}", 0);
	DELTA(before, after, "pawl_requests_total{route=\"metrics\",method=\"GET\",code=\"200\"}", 1);
	free(before);
	/* A reload replaces every worker: the new generation writes into the same block. */
	before = after;
	CU_ASSERT_FATAL(ru_reload(principals));
	after = scrape();
	CU_ASSERT_PTR_NOT_NULL_FATAL(after);
	DELTA(before, after, "pawl_transactions_total{outcome=\"commit\"}", 0);
	DELTA(before, after, "pawl_requests_total{route=\"metrics\",method=\"GET\",code=\"200\"}", 1);
	DELTA(before, after, "pawl_worker_restarts_total{process=\"worker\"}", 0);
	free(before);
	free(after);
}

static void test_switched_off(void)
{
	struct http_resp r;

	CU_ASSERT_FATAL(ru_reload(ru_fmt("%smetrics_enabled = false\n", principals)));
	as(&r, prom_auth, "GET", "/v1/__metrics__", NULL);
	assert_error(&r, 404, 111);
	CHECK(strstr(r.body, "pawl_") == NULL, "switched off, it still shows: %s", body_snip(&r));
	http_resp_free(&r);
	as(&r, prom_auth, "GET", "/v1/", NULL);
	CHECK(r.status == 200 && resp_json(&r, "capabilities.prometheus") == NULL,
	      "switched off, the hello view still lists prometheus");
	http_resp_free(&r);
	CU_ASSERT(ru_reload(principals));
}

/* --- processes started separately (spawn-fcgi -F): metrics_shm_file ---------------- */

/* A pawl-fcgi of the test's own on dir/<name>.sock (no supervisor), its log beside it. */
static pid_t solo_start(const char *dir, const char *name)
{
	char ini[256], sock[256], listen[270], log[256];
	const char *bin = getenv("PAWL_BIN");
	pid_t pid;
	int fd;

	snprintf(ini, sizeof ini, "%s/pawl.ini", dir);
	snprintf(sock, sizeof sock, "%s/%s.sock", dir, name);
	snprintf(listen, sizeof listen, "unix:%s", sock);
	snprintf(log, sizeof log, "%s/%s.log", dir, name);
	if ((pid = fork()) != 0)
		return pid;
	if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	execle(bin, bin, "-c", ini, "--listen", listen, (char *)NULL,
	       (char *const[]){ "PATH=/usr/bin:/bin", NULL });
	_exit(127);
}

static bool solo_ready(const char *dir, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s.sock", dir, name);
	for (int waited = 0; waited < 10000; waited += 50) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0), rc;

		rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
		close(fd);
		if (rc == 0)
			return true;
		sleep_ms(50);
	}
	return false;
}

/* GET path through FastCGI on dir/<name>.sock (cgi-fcgi, as nginx would): the whole output. */
static void fcgi_get(const char *dir, const char *name, const char *path, char *out, size_t size)
{
	char cmd[1024];
	size_t n;
	FILE *p;

	snprintf(cmd, sizeof cmd, "env -i REQUEST_METHOD=GET REQUEST_URI='%s' QUERY_STRING= "
		 "SERVER_NAME=localhost SERVER_PORT=80 HTTP_HOST=localhost "
		 "cgi-fcgi -bind -connect '%s/%s.sock' </dev/null", path, dir, name);
	out[0] = '\0';
	if ((p = popen(cmd, "r")) == NULL)
		return;
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	pclose(p);
}

static void solo_stop(pid_t pid)
{
	if (pid > 0 && kill(pid, SIGTERM) == 0)
		waitpid(pid, NULL, 0);
}

/* n GETs of __lbheartbeat__ through one process; how many got 200. */
static int lbheartbeats(const char *dir, const char *name, int n)
{
	char out[4096];
	int ok = 0;

	for (int i = 0; i < n; i++) {
		fcgi_get(dir, name, "/v1/__lbheartbeat__", out, sizeof out);
		ok += strncmp(out, "Status: 200", 11) == 0;
	}
	return ok;
}

static const char LB_SERIES[] =
	"pawl_requests_total{route=\"lbheartbeat\",method=\"GET\",code=\"200\"} ";

static bool write_solo_ini(const char *dir, const char *extra)
{
	char path[256], url[1024], secret[256];
	FILE *f;

	harness_ini_value("storage_url", url, sizeof url);
	harness_ini_value("userid_hmac_secret", secret, sizeof secret);
	snprintf(path, sizeof path, "%s/pawl.ini", dir);
	if ((f = fopen(path, "w")) == NULL)
		return false;
	fprintf(f, "[app:main]\nstorage_url = %s\nuserid_hmac_secret = %s\nallow_root = true\n"
		"metrics_read_principals = system.Everyone\n%s", url, secret, extra);
	return fclose(f) == 0;
}

/*
 * Two workers started separately, as spawn-fcgi -F 2 starts them: with
 * metrics_shm_file they count into one file; without it each counts alone
 * and says so (pawl_metrics_shared 0).
 */
static void test_separate_processes_share_a_file(void)
{
	char dir[] = "/tmp/pawl-metrics-XXXXXX", out[65536], cmd[128];
	pid_t a, b;
	const char *line;

	CHECK(system("command -v cgi-fcgi >/dev/null") == 0, "cgi-fcgi not installed (libfcgi-bin)");
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL && chmod(dir, 0755) == 0);
	CU_ASSERT_FATAL(write_solo_ini(dir, ru_fmt("metrics_shm_file = %s/metrics\n", dir)));
	a = solo_start(dir, "a");
	b = solo_start(dir, "b");
	CHECK(solo_ready(dir, "a") && solo_ready(dir, "b"), "the two workers did not start (see %s)",
	      dir);
	CHECK(lbheartbeats(dir, "a", 3) == 3 && lbheartbeats(dir, "b", 4) == 4, "lbheartbeats failed");
	fcgi_get(dir, "a", "/v1/__metrics__", out, sizeof out);
	line = strstr(out, LB_SERIES);
	CHECK(line != NULL && atoi(line + strlen(LB_SERIES)) == 7,
	      "worker a does not count b's requests: %.200s", line ? line : out);
	CHECK(strstr(out, "\npawl_metrics_shared 1") != NULL, "the file is not said to be shared");
	solo_stop(a);
	solo_stop(b);
	/* Without the file: per process, and the gauge says so. */
	CU_ASSERT_FATAL(write_solo_ini(dir, ""));
	a = solo_start(dir, "c");
	b = solo_start(dir, "d");
	CHECK(solo_ready(dir, "c") && solo_ready(dir, "d"), "the two workers did not start (see %s)",
	      dir);
	CHECK(lbheartbeats(dir, "c", 2) == 2 && lbheartbeats(dir, "d", 5) == 5, "lbheartbeats failed");
	fcgi_get(dir, "c", "/v1/__metrics__", out, sizeof out);
	line = strstr(out, LB_SERIES);
	CHECK(line != NULL && atoi(line + strlen(LB_SERIES)) == 2, "worker c counted %.200s",
	      line ? line : out);
	CHECK(strstr(out, "\npawl_metrics_shared 0") != NULL, "a lone worker says it is shared");
	solo_stop(a);
	solo_stop(b);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0, "could not remove %s", dir);
}

void test_metrics_register(void)
{
	CU_pSuite s = CU_add_suite("metrics", suite_init, suite_cleanup);

	CU_add_test(s, "N requests through 2 workers move the counters by N", test_counts_across_workers);
	CU_add_test(s, "401/403 JSON for who may not read them", test_who_may_read);
	CU_add_test(s, "in a batch: a JSON string, the same rule", test_in_a_batch);
	CU_add_test(s, "counters survive a killed worker (restart counted) and a reload",
		    test_survives_kill_and_reload);
	CU_add_test(s, "metrics_enabled = false: 404, no capability", test_switched_off);
	CU_add_test(s, "workers started separately share metrics_shm_file",
		    test_separate_processes_share_a_file);
}
