/*
 * What an admin runs into, with a pawl-fcgi of its own started by the test
 * (the stack's PostgreSQL, its own socket, spoken to with cgi-fcgi as nginx
 * would): sockets handled as spawn-fcgi and nginx handle them, privileges
 * dropped after binding, and `check` without side effects.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NOBODY 65534
#define START_MS 10000

/* One pawl-fcgi of the test's: a folder of its own with its ini, socket and log. */
struct solo {
	pid_t pid;
	char dir[64];
	char ini[128];
	char sock[96];
	char log[128];
};

/* A fresh folder under /tmp (reachable by every user) owned by owner. */
static bool solo_init(struct solo *s, uid_t owner)
{
	memset(s, 0, sizeof *s);
	snprintf(s->dir, sizeof s->dir, "/tmp/pawl-admin-XXXXXX");
	if (mkdtemp(s->dir) == NULL || chmod(s->dir, 0755) != 0 ||
	    chown(s->dir, owner, owner == 0 ? 0 : NOBODY) != 0)
		return false;
	snprintf(s->ini, sizeof s->ini, "%s/pawl.ini", s->dir);
	snprintf(s->sock, sizeof s->sock, "%s/pawl.sock", s->dir);
	snprintf(s->log, sizeof s->log, "%s/pawl.log", s->dir);
	return true;
}

/* The stack's database and secret, log_format = text, then extra lines. */
static bool solo_ini(const struct solo *s, const char *extra)
{
	char url[1024], secret[256];
	FILE *f;

	harness_ini_value("storage_url", url, sizeof url);
	harness_ini_value("userid_hmac_secret", secret, sizeof secret);
	if ((f = fopen(s->ini, "w")) == NULL)
		return false;
	fprintf(f, "[app:main]\nstorage_url = %s\nuserid_hmac_secret = %s\nlog_format = text\n%s",
		url, secret, extra);
	return fclose(f) == 0;
}

/* Starts pawl-fcgi -c ini --listen unix:sock [--workers N], stderr into the log. */
static void solo_start(struct solo *s, int workers)
{
	const char *bin = getenv("PAWL_BIN");
	char listen[160], n[16];
	int fd;

	snprintf(listen, sizeof listen, "unix:%s", s->sock);
	snprintf(n, sizeof n, "%d", workers);
	if ((s->pid = fork()) != 0)
		return;
	fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, 2);
		dup2(fd, 1);
		close(fd);
	}
	/* Its settings are the file's alone: none of the harness's PAWL_* overrides. */
	if (workers > 0)
		execle(bin, bin, "-c", s->ini, "--listen", listen, "--workers", n, (char *)NULL,
		       (char *const[]){ "PATH=/usr/bin:/bin", NULL });
	else
		execle(bin, bin, "-c", s->ini, "--listen", listen, (char *)NULL,
		       (char *const[]){ "PATH=/usr/bin:/bin", NULL });
	_exit(127);
}

static bool is_socket(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Its exit status within ms (-1 when it still runs, or was killed). */
static int exit_within(pid_t pid, long ms)
{
	int status;

	for (long waited = 0; waited <= ms; waited += 50) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		sleep_ms(50);
	}
	return -1;
}

/* Waits until something accepts on the socket, or the process exited. */
static bool solo_ready(struct solo *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", s->sock);
	for (long waited = 0; waited < START_MS; waited += 50) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0), rc;

		rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
		close(fd);
		if (rc == 0)
			return true;
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0;
			return false;
		}
		sleep_ms(50);
	}
	return false;
}

/* SIGTERM and the exit status (-1 if it had to be killed). */
static int solo_stop(struct solo *s)
{
	int rc;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	if ((rc = exit_within(s->pid, START_MS)) == -1 && kill(s->pid, SIGKILL) == 0)
		waitpid(s->pid, NULL, 0);
	s->pid = 0;
	return rc;
}

static void solo_done(struct solo *s)
{
	char cmd[128];

	solo_stop(s);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "admin: could not remove %s\n", s->dir);
}

/* The output (stdout and stderr) of a shell command, and its exit status. */
static int run(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int run(char *out, size_t size, const char *fmt, ...)
{
	char cmd[4096];
	size_t n;
	va_list ap;
	FILE *p;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	out[0] = '\0';
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* GET path through FastCGI on sock, as the harness's user; true on "Status: 200". */
static bool fcgi_get_ok(const char *sock, const char *path, char *out, size_t size)
{
	char auth[512];

	basic_auth(auth, sizeof auth, "admin-test", "secret");
	run(out, size, "env -i REQUEST_METHOD=GET REQUEST_URI='%s' DOCUMENT_URI='%s' "
	    "QUERY_STRING= SERVER_NAME=localhost SERVER_PORT=80 SERVER_PROTOCOL=HTTP/1.1 "
	    "HTTP_HOST=localhost HTTP_AUTHORIZATION='%s' cgi-fcgi -bind -connect '%s' </dev/null",
	    path, path, auth + strlen("Authorization: "), sock);
	return strncmp(out, "Status: 200", 11) == 0;
}

/* A second pawl-fcgi on the same socket path: its whole output and exit status. */
static int second_start(const struct solo *s, char *out, size_t size)
{
	return run(out, size, "timeout 10 env -i PATH=/usr/bin:/bin '%s' -c '%s' --listen "
		   "'unix:%s' 2>&1", getenv("PAWL_BIN"), s->ini, s->sock);
}

/* --- sockets ------------------------------------------------------------------- */

static void test_live_socket_refused(void)
{
	struct solo s;
	char out[8192];
	int rc;

	CHECK(system("command -v cgi-fcgi >/dev/null") == 0, "cgi-fcgi not installed (libfcgi-bin)");
	CU_ASSERT_FATAL(solo_init(&s, 0) && solo_ini(&s, "allow_root = true\n"));
	solo_start(&s, 1);
	CHECK(solo_ready(&s), "the first pawl-fcgi did not start (see %s)", s.log);
	rc = second_start(&s, out, sizeof out);
	CHECK(rc != 0 && rc != 124 && strstr(out, s.sock) && strstr(out, "another server"),
	      "a second pawl-fcgi on a live %s: exit %d: %s", s.sock, rc, out);
	CHECK(is_socket(s.sock), "the refused start removed the live socket %s", s.sock);
	CHECK(fcgi_get_ok(s.sock, "/v1/buckets", out, sizeof out),
	      "the first pawl-fcgi no longer answers: %.300s", out);
	solo_done(&s);
}

static void test_stale_socket_replaced_and_removed(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct solo s;
	char out[8192];
	int fd, rc;

	CU_ASSERT_FATAL(solo_init(&s, 0) && solo_ini(&s, "allow_root = true\n"));
	/* What a killed server leaves: a socket file nobody accepts on. */
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", s.sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	close(fd);
	CU_ASSERT_FATAL(is_socket(s.sock));
	solo_start(&s, 2);
	CHECK(solo_ready(&s), "pawl-fcgi did not replace the stale socket %s (see %s)", s.sock,
	      s.log);
	CHECK(fcgi_get_ok(s.sock, "/v1/buckets", out, sizeof out), "no answer: %.300s", out);
	rc = solo_stop(&s);
	CHECK(rc == 0, "SIGTERM: exit %d", rc);
	CHECK(access(s.sock, F_OK) != 0, "the socket %s is still there after SIGTERM", s.sock);
	/* Not a socket: not ours to remove. */
	fd = open(s.sock, O_WRONLY | O_CREAT, 0644);
	close(fd);
	rc = second_start(&s, out, sizeof out);
	CHECK(rc == 1 && strstr(out, s.sock) && strstr(out, "not a socket") && !is_socket(s.sock) &&
	      access(s.sock, F_OK) == 0, "a plain file at the socket path: exit %d: %s", rc, out);
	solo_done(&s);
}

static void test_socket_owner_group_mode(void)
{
	struct solo s;
	struct stat st;

	CU_ASSERT_FATAL(solo_init(&s, 0) &&
			solo_ini(&s, "allow_root = true\nsocket_owner = nobody\n"
				     "socket_group = nogroup\nsocket_mode = 0640\n"));
	solo_start(&s, 0);
	CHECK(solo_ready(&s), "pawl-fcgi did not start (see %s)", s.log);
	CHECK(lstat(s.sock, &st) == 0 && st.st_uid == NOBODY && st.st_gid == NOBODY &&
	      (st.st_mode & 07777) == 0640, "socket %s is uid %ld gid %ld mode %04o, expected "
	      "nobody nogroup 0640", s.sock, (long)st.st_uid, (long)st.st_gid,
	      (unsigned)(st.st_mode & 07777));
	solo_done(&s);
}

static void test_bind_errors_named(void)
{
	struct solo s;
	char out[8192], cmd_port[64];
	int rc;

	CU_ASSERT_FATAL(solo_init(&s, 0) && solo_ini(&s, "allow_root = true\n"));
	rc = run(out, sizeof out, "timeout 10 env -i '%s' -c '%s' --listen unix:%s/no/such/dir.sock "
		 "2>&1", getenv("PAWL_BIN"), s.ini, s.dir);
	CHECK(rc == 1 && strstr(out, "/no/such/dir.sock") && strstr(out, "No such file"),
	      "a socket in a missing folder: exit %d: %s", rc, out);
	/* nginx holds the stack's HTTP port. */
	snprintf(cmd_port, sizeof cmd_port, "%s", harness_base_url() + strlen("http://"));
	rc = run(out, sizeof out, "timeout 10 env -i '%s' -c '%s' --listen %s 2>&1",
		 getenv("PAWL_BIN"), s.ini, cmd_port);
	CHECK(rc == 1 && strstr(out, cmd_port) && strstr(out, "Address already in use") &&
	      !strstr(out, "bind/listen"), "a TCP port in use: exit %d: %s", rc, out);
	solo_done(&s);
}

/* --- privileges ----------------------------------------------------------------- */

/* The four uids of /proc/PID/status (real, effective, saved, fs); all must be want. */
static bool runs_as(pid_t pid, long want)
{
	char path[64], line[256];
	long ids[4] = { -1, -1, -1, -1 };
	bool found = false;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "Uid: %ld %ld %ld %ld", &ids[0], &ids[1], &ids[2], &ids[3]) == 4)
			found = true;
	fclose(f);
	return found && ids[0] == want && ids[1] == want && ids[2] == want && ids[3] == want;
}

static void test_drops_to_user(void)
{
	pid_t kids[16];
	struct solo s;
	char out[8192];
	size_t n;

	if (geteuid() != 0) {
		CU_PASS("not root: nothing to drop");
		return;
	}
	CU_ASSERT_FATAL(solo_init(&s, NOBODY) && solo_ini(&s, "user = nobody\n"));
	solo_start(&s, 2);
	CHECK(solo_ready(&s), "pawl-fcgi with user = nobody did not start (see %s)", s.log);
	CHECK(runs_as(s.pid, NOBODY), "the supervisor %ld does not run as nobody", (long)s.pid);
	for (long waited = 0; (n = children_of(s.pid, kids, 16)) < 2 && waited < START_MS;
	     waited += 50)
		sleep_ms(50);
	CHECK(n >= 2, "%zu workers", n);
	for (size_t i = 0; i < n; i++)
		CHECK(runs_as(kids[i], NOBODY), "worker %ld does not run as nobody", (long)kids[i]);
	CHECK(fcgi_get_ok(s.sock, "/v1/buckets", out, sizeof out),
	      "no answer from the unprivileged workers: %.300s", out);
	CHECK(solo_stop(&s) == 0 && access(s.sock, F_OK) != 0,
	      "the unprivileged supervisor did not remove %s at stop", s.sock);
	solo_done(&s);
}

static void test_root_refused(void)
{
	struct solo s;
	char out[8192];
	int rc;

	if (geteuid() != 0) {
		CU_PASS("not root");
		return;
	}
	CU_ASSERT_FATAL(solo_init(&s, 0) && solo_ini(&s, ""));
	rc = second_start(&s, out, sizeof out);
	CHECK(rc == 2 && strstr(out, "refusing to serve as root") && strstr(out, "allow_root") &&
	      access(s.sock, F_OK) != 0, "started as root without user: exit %d: %s", rc, out);
	solo_done(&s);
}

/* --- check ---------------------------------------------------------------------- */

/* `pawl-fcgi check [--connect]` of s's ini; output in out, exit status returned. */
static int check(const struct solo *s, const char *args, char *out, size_t size)
{
	return run(out, size, "timeout 30 env -i '%s' check -c '%s' %s 2>&1", getenv("PAWL_BIN"),
		   s->ini, args);
}

static void test_check_no_side_effect(void)
{
	char extra[1024], path[160], out[8192];
	struct solo s;
	int rc;

	CU_ASSERT_FATAL(solo_init(&s, 0));
	snprintf(path, sizeof path, "%s/events.jsonl", s.dir);
	snprintf(extra, sizeof extra, "event_listeners = audit\nevent_listeners.audit.use = "
		 "%s/app/plugins/pawl-jsonl.so\nevent_listeners.audit.path = %s\n",
		 getenv("PAWL_BUILDDIR"), path);
	CU_ASSERT_FATAL(solo_ini(&s, extra));
	rc = check(&s, "", out, sizeof out);
	CHECK(rc == 0 && strstr(out, "configuration OK"), "check: exit %d: %s", rc, out);
	CHECK(access(path, F_OK) != 0, "check created the plugin's file %s", path);
	/* A typo in the plugin path is still caught. */
	snprintf(extra, sizeof extra, "event_listeners = audit\nevent_listeners.audit.use = "
		 "%s/app/plugins/pawl-jsonl-typo.so\nevent_listeners.audit.path = %s\n",
		 getenv("PAWL_BUILDDIR"), path);
	CU_ASSERT_FATAL(solo_ini(&s, extra));
	rc = check(&s, "", out, sizeof out);
	CHECK(rc == 2 && strstr(out, "event_listeners.audit.use"), "check: exit %d: %s", rc, out);
	solo_done(&s);
}

static void test_check_connect(void)
{
	char extra[512], out[8192];
	struct solo s;
	int rc;

	CU_ASSERT_FATAL(solo_init(&s, 0));
	snprintf(extra, sizeof extra, "event_listeners = q\nevent_listeners.q.use = redis\n"
		 "event_listeners.q.url = redis://127.0.0.1:%s/0\n", getenv("PAWL_REDIS_PORT"));
	CU_ASSERT_FATAL(solo_ini(&s, extra));
	rc = check(&s, "--connect", out, sizeof out);
	CHECK(rc == 0 && strstr(out, "PostgreSQL") && strstr(out, "Redis listener 'q'") &&
	      !strstr(out, "failed") && strstr(out, "configuration OK"),
	      "check --connect: exit %d: %s", rc, out);
	rc = check(&s, "", out, sizeof out);
	CHECK(rc == 0 && !strstr(out, "PostgreSQL"), "check without --connect connects: %s", out);
	/* Port 1: nothing listens there. */
	CU_ASSERT_FATAL(solo_ini(&s, "event_listeners = q\nevent_listeners.q.use = redis\n"
				     "event_listeners.q.url = redis://127.0.0.1:1/0\n"));
	rc = check(&s, "--connect", out, sizeof out);
	CHECK(rc == 1 && strstr(out, "Redis listener 'q' (127.0.0.1:1") && strstr(out, "failed") &&
	      !strstr(out, "configuration OK"), "check --connect, Redis down: exit %d: %s", rc, out);
	solo_done(&s);
}

static void test_check_refuses(void)
{
	static const struct {
		const char *ini, *want;
	} cases[] = {
		/* misspelt or missing sections: nothing would be read */
		{ "[app:mian]\nuserid_hmac_secret = s\n", "[app:mian]" },
		{ "[kinto]\nuserid_hmac_secret = s\n", "no [app:main] or [pawl] section" },
		{ "userid_hmac_secret = s\n", "no [app:main] or [pawl] section" },
		/* basicauth without its key, even with the bucket's own */
		{ "[app:main]\ndefault_bucket_hmac_secret = b\n", "'userid_hmac_secret'" },
		{ "[pawl]\nmultiauth.policies = remote_user basicauth\nuserid_hmac_secret =\n"
		  "default_bucket_hmac_secret = b\n", "basicauth" },
	};
	char out[8192];
	struct solo s;
	FILE *f;
	int rc;

	CU_ASSERT_FATAL(solo_init(&s, 0));
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		CU_ASSERT_FATAL((f = fopen(s.ini, "w")) != NULL);
		fputs(cases[i].ini, f);
		fclose(f);
		rc = check(&s, "", out, sizeof out);
		CHECK(rc == 2 && strstr(out, cases[i].want) && !strstr(out, "configuration OK"),
		      "check of %s: exit %d: %s", cases[i].ini, rc, out);
	}
	CU_ASSERT_FATAL((f = fopen(s.ini, "w")) != NULL);
	fputs("[app:main]\nmultiauth.policies = remote_user\ndefault_bucket_hmac_secret = b\n", f);
	fclose(f);
	rc = check(&s, "", out, sizeof out);
	CHECK(rc == 0, "remote_user alone needs no userid_hmac_secret: exit %d: %s", rc, out);
	solo_done(&s);
}

/* --- HEAD on objects --------------------------------------------------------------- */

/* method path as auth (NULL: anonymous), one extra header (or NULL). */
static void as(struct http_resp *r, const char *method, const char *path, const char *auth,
	       const char *extra)
{
	const char *h[3] = { auth, NULL, NULL };

	if (auth == NULL)
		h[0] = extra;
	else
		h[1] = extra;
	http_request(method, path, h, NULL, r);
}

static bool same_header(const struct http_resp *a, const struct http_resp *b, const char *name)
{
	const char *x = resp_header(a, name), *y = resp_header(b, name);

	return x != NULL && y != NULL && strcmp(x, y) == 0;
}

/* HEAD answers what GET answers, status and headers, without the body. */
static void head_like_get(const char *path, const char *owner, const char *other)
{
	const char *who[] = { owner, other, NULL };
	struct http_resp g, h;
	char inm[128];

	for (size_t i = 0; i < 3; i++) {
		as(&g, "GET", path, who[i], NULL);
		as(&h, "HEAD", path, who[i], NULL);
		CHECK(h.status == g.status && h.body_len == 0,
		      "HEAD %s as user %zu: %ld with %zu body bytes, GET: %ld", path, i, h.status,
		      h.body_len, g.status);
		CHECK(g.status == (i == 0 ? 200 : i == 1 ? 403 : 401), "GET %s as user %zu: %ld",
		      path, i, g.status);
		if (i == 0)
			CHECK(same_header(&g, &h, "ETag") && same_header(&g, &h, "Last-Modified") &&
			      same_header(&g, &h, "Content-Type") &&
			      same_header(&g, &h, "Content-Length"),
			      "HEAD %s: ETag %s Last-Modified %s Content-Length %s, GET: %s %s %s", path,
			      resp_header(&h, "ETag"), resp_header(&h, "Last-Modified"),
			      resp_header(&h, "Content-Length"), resp_header(&g, "ETag"),
			      resp_header(&g, "Last-Modified"), resp_header(&g, "Content-Length"));
		if (i == 0 && resp_header(&g, "ETag") != NULL) {
			snprintf(inm, sizeof inm, "If-None-Match: %s", resp_header(&g, "ETag"));
			http_resp_free(&h);
			as(&h, "HEAD", path, owner, inm);
			CHECK(h.status == 304, "HEAD %s If-None-Match its ETag: %ld", path, h.status);
		}
		http_resp_free(&g);
		http_resp_free(&h);
	}
}

static void test_head_object(void)
{
	char owner[256], other[256], b[64], p[256], out[4096], cmd[1024];
	struct http_resp r;
	int rc;

	basic_auth(owner, sizeof owner, "admin-head-owner", "pw");
	basic_auth(other, sizeof other, "admin-head-other", "pw");
	unique_id(b, sizeof b, "head");
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	http_request("PUT", p, (const char *const[]){ owner, NULL }, "{\"data\":{}}", &r);
	assert_status(&r, 201);
	http_resp_free(&r);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c", b);
	http_request("PUT", p, (const char *const[]){ owner, NULL }, "{\"data\":{}}", &r);
	assert_status(&r, 201);
	http_resp_free(&r);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records/r1", b);
	http_request("PUT", p, (const char *const[]){ owner, NULL }, "{\"data\":{\"n\":1}}", &r);
	assert_status(&r, 201);
	http_resp_free(&r);
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	head_like_get(p, owner, other);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c", b);
	head_like_get(p, owner, other);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records/r1", b);
	head_like_get(p, owner, other);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records/nope", b);
	as(&r, "HEAD", p, owner, NULL);
	CHECK(r.status == 404 && r.body_len == 0, "HEAD of a missing record: %ld", r.status);
	http_resp_free(&r);
	/* What an admin types. */
	snprintf(cmd, sizeof cmd, "curl -sS -I -u admin-head-owner:pw '%s/v1/buckets/%s' 2>&1",
		 harness_base_url(), b);
	rc = run(out, sizeof out, "%s", cmd);
	CHECK(rc == 0 && strncmp(out, "HTTP/1.1 200", 12) == 0, "curl -I: exit %d: %.300s", rc, out);
}

/*
 * The supervisor's signals beyond HUP and USR1 (tested in test_supervisor.c):
 * TERM lets a request in flight finish, QUIT does not wait; both leave no
 * child and no socket behind, and exit 0.
 */
static void test_term_and_quit(void)
{
	static const int sigs[] = { SIGTERM, SIGQUIT };
	struct solo s;

	for (size_t i = 0; i < 2; i++) {
		pid_t kids[16];
		size_t n;
		long waited = 0;
		int rc;

		CU_ASSERT_FATAL(solo_init(&s, 0));
		CU_ASSERT_FATAL(solo_ini(&s, "allow_root = true\n"));
		solo_start(&s, 2);
		CHECK(solo_ready(&s), "pawl-fcgi did not start (see %s)", s.log);
		while ((n = children_of(s.pid, kids, 16)) < 2 && waited < START_MS) {
			sleep_ms(50);
			waited += 50;
		}
		CHECK(n >= 2, "%zu children before signal %d", n, sigs[i]);
		kill(s.pid, sigs[i]);
		rc = exit_within(s.pid, sigs[i] == SIGQUIT ? 2000 : START_MS);
		CHECK(rc == 0, "signal %d: exit status %d", sigs[i], rc);
		if (rc != -1)
			s.pid = 0;
		for (size_t k = 0; k < n; k++)
			CHECK(!pid_alive(kids[k]), "signal %d: child %ld left running", sigs[i],
			      (long)kids[k]);
		CHECK(!is_socket(s.sock), "signal %d: socket %s left behind", sigs[i], s.sock);
		solo_done(&s);
	}
}

/*
 * The command line: help is not an error; a usage error says what is wrong
 * before the usage text; migrate run again on a migrated database prints its
 * one line, not PostgreSQL's notices.
 */
static void test_command_line(void)
{
	static const struct {
		const char *args, *want;
		int rc;
	} cases[] = {
		{ "help", "usage: pawl-fcgi", 0 },
		{ "--help", "usage: pawl-fcgi", 0 },
		{ "bogus -c /dev/null", "unknown command 'bogus'", 2 },
		{ "serve", "no configuration file", 2 },
		{ "check -c /dev/null extra", "unexpected argument 'extra'", 2 },
		{ "migrate -c /dev/null --connect", "--connect goes with check", 2 },
	};
	char out[8192];
	struct solo s;
	int rc;

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		rc = run(out, sizeof out, "env -i PATH=/usr/bin:/bin '%s' %s 2>&1", getenv("PAWL_BIN"),
			 cases[i].args);
		CHECK(rc == cases[i].rc && strstr(out, cases[i].want) != NULL,
		      "pawl-fcgi %s: exit %d (want %d), output lacks \"%s\": %.300s", cases[i].args,
		      rc, cases[i].rc, cases[i].want, out);
	}
	CU_ASSERT_FATAL(solo_init(&s, 0));
	CU_ASSERT_FATAL(solo_ini(&s, ""));
	rc = run(out, sizeof out, "env -i PATH=/usr/bin:/bin '%s' migrate -c '%s' 2>&1",
		 getenv("PAWL_BIN"), s.ini);
	CHECK(rc == 0 && strstr(out, "schema at version") != NULL && strstr(out, "NOTICE") == NULL,
	      "migrate again: exit %d: %.300s", rc, out);
	solo_done(&s);
}

void test_admin_register(void)
{
	CU_pSuite s = CU_add_suite("admin", NULL, NULL);

	CU_add_test(s, "a second start on a live socket is refused", test_live_socket_refused);
	CU_add_test(s, "a stale socket is replaced, removed at stop",
		    test_stale_socket_replaced_and_removed);
	CU_add_test(s, "socket_owner, socket_group, socket_mode", test_socket_owner_group_mode);
	CU_add_test(s, "bind errors name the path and the cause", test_bind_errors_named);
	CU_add_test(s, "started as root with user: workers unprivileged", test_drops_to_user);
	CU_add_test(s, "started as root without user: refused", test_root_refused);
	CU_add_test(s, "check has no side effects", test_check_no_side_effect);
	CU_add_test(s, "check --connect", test_check_connect);
	CU_add_test(s, "check refuses missing sections and keys", test_check_refuses);
	CU_add_test(s, "HEAD on objects answers as GET without a body", test_head_object);
	CU_add_test(s, "TERM stops gracefully, QUIT at once: nothing left behind", test_term_and_quit);
	CU_add_test(s, "command line: help, usage errors with a reason, a quiet migrate",
		    test_command_line);
}
