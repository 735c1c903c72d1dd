/*
 * PostgreSQL clusters and pawl-fcgi processes of the replica suite's own
 * (see replica_util.h). Programs run through the shell: pg_basebackup,
 * pg_ctl and psql as user postgres when we are root (they refuse root).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "replica_util.h"

#define PGBIN "/usr/lib/postgresql/15/bin"

/* Runs a shell command line as user postgres (when root); true when it exited 0. */
static bool as_pg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool as_pg(const char *fmt, ...)
{
	char line[2048], cmd[2300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (geteuid() == 0)
		snprintf(cmd, sizeof cmd, "cd / && runuser -u postgres -- sh -c '%s'", line);
	else
		snprintf(cmd, sizeof cmd, "cd / && sh -c '%s'", line);
	return system(cmd) == 0;
}

/* A free loopback port, or -1. */
static int free_port(void)
{
	int port = -1;

	return harness_free_ports(&port, 1) == 0 ? port : -1;
}

bool cluster_of_stack(struct cluster *c)
{
	char url[1024];
	const char *p;

	memset(c, 0, sizeof *c);
	harness_ini_value("storage_url", url, sizeof url);
	snprintf(c->sock, sizeof c->sock, "%s/run/pg", harness_state_dir());
	if ((p = strstr(url, "port=")) == NULL)
		return false;
	c->port = atoi(p + 5);
	c->started = true;
	return c->port > 0;
}

static bool own_folder(const char *path, mode_t mode)
{
	char cmd[600];

	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return false;
	if (geteuid() != 0)
		return true;
	snprintf(cmd, sizeof cmd, "chown postgres:postgres '%s'", path);
	return system(cmd) == 0;
}

bool cluster_clone(struct cluster *c, const struct cluster *from, const char *name, bool standby,
		   const char *extra_conf)
{
	char base[200], conf[300];
	FILE *f;

	memset(c, 0, sizeof *c);
	snprintf(base, sizeof base, "%s/%s", harness_state_dir(), name);
	snprintf(c->data, sizeof c->data, "%s/data", base);
	snprintf(c->sock, sizeof c->sock, "%s/run", base);
	snprintf(c->log, sizeof c->log, "%s/postgres.log", base);
	if ((c->port = free_port()) <= 0 || !own_folder(base, 0755) || !own_folder(c->sock, 0755))
		return false;
	if (!as_pg(PGBIN "/pg_basebackup -h %s -p %d -U postgres -D %s -X stream -c fast %s "
		   ">>%s 2>&1", from->sock, from->port, c->data, standby ? "-R" : "", c->log))
		return false;
	/* The copy has the stack's pawl-stack.conf (port, socket folder): ours replaces it. */
	snprintf(conf, sizeof conf, "%s/pawl-stack.conf", c->data);
	if ((f = fopen(conf, "w")) == NULL)
		return false;
	fprintf(f, "listen_addresses = ''\nport = %d\nunix_socket_directories = '%s'\n"
		"hot_standby = on\ntimezone = 'UTC'\n%s", c->port, c->sock,
		extra_conf ? extra_conf : "");
	if (fclose(f) != 0)
		return false;
	if (!as_pg(PGBIN "/pg_ctl start -D %s -l %s -w -t 60 -s", c->data, c->log))
		return false;
	c->started = true;
	return true;
}

bool cluster_stop(struct cluster *c, const char *mode)
{
	if (!c->started)
		return true;
	if (!as_pg(PGBIN "/pg_ctl stop -D %s -m %s -w -t 60 -s", c->data, mode))
		return false;
	c->started = false;
	return true;
}

bool cluster_promote(struct cluster *c)
{
	return as_pg(PGBIN "/pg_ctl promote -D %s -w -t 60 -s", c->data);
}

void cluster_remove(struct cluster *c)
{
	char cmd[600];

	if (c->data[0] == '\0')
		return;
	(void)cluster_stop(c, "immediate");
	if (getenv("REPLICA_KEEP_HEADS") != NULL) {
		fprintf(stderr, "replica: kept %s\n", c->data);
		return;
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->data);
	*strrchr(cmd, '/') = '\0'; /* the folder holding data, run and the log */
	strcat(cmd, "'");
	if (system(cmd) != 0)
		fprintf(stderr, "replica: could not remove %s\n", c->data);
	c->data[0] = '\0';
}

bool cluster_psql(const struct cluster *c, const char *sql, char *out, size_t size)
{
	char cmd[4096];
	FILE *p;
	bool ok;

	snprintf(cmd, sizeof cmd, PGBIN "/psql -X -q -tA -h '%s' -p %d -U postgres -d pawl "
		 "-c \"%s\" 2>&1", c->sock, c->port, sql);
	if ((p = popen(cmd, "r")) == NULL)
		return false;
	if (out != NULL) {
		out[0] = '\0';
		if (fgets(out, (int)size, p) != NULL)
			out[strcspn(out, "\n")] = '\0';
	}
	while (fgetc(p) != EOF)
		;
	ok = pclose(p) == 0;
	return ok;
}

const char *cluster_conninfo(const struct cluster *c)
{
	static char buf[4][320];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "host=%s port=%d", c->sock, c->port);
	return buf[i];
}

/* --- pawl-fcgi of the test's own ------------------------------------------------ */

static bool head_ready(const struct head *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s.sock", h->dir, h->name) >=
	    sizeof sa.sun_path)
		return false;
	for (int waited = 0; waited < 10000; waited += 50) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0), rc;

		rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
		close(fd);
		if (rc == 0)
			return true;
		if (!head_alive(h))
			return false;
		sleep_ms(50);
	}
	return false;
}

bool head_start(struct head *h, const char *name, const char *storage_url, const char *extra)
{
	return head_start_workers(h, name, storage_url, extra, 0);
}

bool head_start_workers(struct head *h, const char *name, const char *storage_url,
			const char *extra, int workers)
{
	char nstr[16];
	char ini[256], listen[300], log[256], secret[256], policies[256];
	const char *bin = getenv("PAWL_BIN");
	FILE *f;
	int fd;

	memset(h, 0, sizeof *h);
	snprintf(h->dir, sizeof h->dir, "/tmp/pawl-replica-XXXXXX");
	snprintf(h->name, sizeof h->name, "%s", name);
	if (bin == NULL || mkdtemp(h->dir) == NULL || chmod(h->dir, 0755) != 0)
		return false;
	harness_ini_value("userid_hmac_secret", secret, sizeof secret);
	harness_ini_value("multiauth.policies", policies, sizeof policies);
	snprintf(ini, sizeof ini, "%s/pawl.ini", h->dir);
	if ((f = fopen(ini, "w")) == NULL)
		return false;
	fprintf(f, "[app:main]\nstorage_url = %s\nuserid_hmac_secret = %s\nallow_root = true\n"
		"metrics_read_principals = system.Everyone\nstorage_connect_timeout_seconds = 2\n"
		"multiauth.policies = %s\n%s", storage_url, secret, policies, extra ? extra : "");
	if (fclose(f) != 0)
		return false;
	snprintf(listen, sizeof listen, "unix:%s/%s.sock", h->dir, h->name);
	snprintf(log, sizeof log, "%s/%s.log", h->dir, h->name);
	if ((h->pid = fork()) < 0)
		return false;
	if (h->pid == 0) {
		/* Never outlives the test, even one killed before its cleanup. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		snprintf(nstr, sizeof nstr, "%d", workers);
		if (workers > 0)
			execle(bin, bin, "-c", ini, "--listen", listen, "--workers", nstr,
			       (char *)NULL, (char *const[]){ "PATH=/usr/bin:/bin", NULL });
		else
			execle(bin, bin, "-c", ini, "--listen", listen, (char *)NULL,
			       (char *const[]){ "PATH=/usr/bin:/bin", NULL });
		_exit(127);
	}
	return head_ready(h);
}

bool head_alive(const struct head *h)
{
	return h->pid > 0 && waitpid(h->pid, NULL, WNOHANG) == 0;
}

void head_stop(struct head *h)
{
	char cmd[200];

	if (h->pid > 0 && kill(h->pid, SIGTERM) == 0)
		waitpid(h->pid, NULL, 0);
	h->pid = 0;
	if (h->dir[0] == '\0')
		return;
	if (getenv("REPLICA_KEEP_HEADS") != NULL) { /* for a look at the logs after a failure */
		fprintf(stderr, "replica: kept %s\n", h->dir);
		return;
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "replica: could not remove %s\n", h->dir);
	h->dir[0] = '\0';
}

bool head_log_has(const struct head *h, const char *needle)
{
	char path[256], line[4096];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s.log", h->dir, h->name);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	while (!found && fgets(line, sizeof line, f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

static void header_value(const char *head, const char *name, char *out, size_t size);

/* The header block of the last head_request (after a line feed, so every header follows one). */
static char last_head[8192];

const char *head_last_header(const char *name)
{
	static char value[1024];

	header_value(last_head, name, value, sizeof value);
	return value;
}

/* The value of header name in the head block (up to the blank line), into out. */
static void header_value(const char *head, const char *name, char *out, size_t size)
{
	char key[64];
	const char *p, *end;

	out[0] = '\0';
	snprintf(key, sizeof key, "\n%s: ", name);
	if ((p = strstr(head, key)) == NULL)
		return;
	p += strlen(key);
	end = p + strcspn(p, "\r\n");
	snprintf(out, size, "%.*s", (int)(end - p), p);
}

long head_request(const struct head *h, const char *method, const char *uri, const char *auth,
		  const char *body, char *out, size_t size, char *retry_after, size_t ra_size)
{
	char bodyfile[200], cmd[2048], *buf, *sep;
	const char *q = strchr(uri, '?');
	size_t n, cap = 1 << 20;
	long status = 0;
	FILE *p;

	/* basic_auth() writes the whole header line; FastCGI carries the value alone. */
	if (auth != NULL && strncmp(auth, "Authorization: ", 15) == 0)
		auth += 15;
	snprintf(bodyfile, sizeof bodyfile, "%s/body.json", h->dir);
	if (body != NULL && (p = fopen(bodyfile, "w")) != NULL) {
		fputs(body, p);
		fclose(p);
	}
	snprintf(cmd, sizeof cmd, "env -i REQUEST_METHOD=%s REQUEST_URI='%s' QUERY_STRING='%s' "
		 "SERVER_NAME=localhost SERVER_PORT=80 HTTP_HOST=localhost %s%s%s "
		 "CONTENT_TYPE=application/json CONTENT_LENGTH=%zu "
		 "cgi-fcgi -bind -connect '%s/%s.sock' <%s", method, uri, q ? q + 1 : "",
		 auth ? "HTTP_AUTHORIZATION='" : "", auth ? auth : "", auth ? "'" : "",
		 body ? strlen(body) : 0, h->dir, h->name, body ? bodyfile : "/dev/null");
	if (out != NULL && size > 0)
		out[0] = '\0';
	if (retry_after != NULL)
		retry_after[0] = '\0';
	if ((buf = malloc(cap)) == NULL || (p = popen(cmd, "r")) == NULL) {
		free(buf);
		return 0;
	}
	n = fread(buf, 1, cap - 1, p);
	buf[n] = '\0';
	pclose(p);
	if ((sep = strstr(buf, "\r\n\r\n")) != NULL) {
		char *st;

		/* CGI: no Status header is a 200. */
		sep[2] = '\0';
		status = 200;
		if (strncmp(buf, "Status: ", 8) == 0)
			status = strtol(buf + 8, NULL, 10);
		else if ((st = strstr(buf, "\nStatus: ")) != NULL)
			status = strtol(st + 9, NULL, 10);
		if (out != NULL && size > 0)
			snprintf(out, size, "%s", sep + 4);
	}
	/* Status comes first: every other header follows a line feed. */
	if (retry_after != NULL)
		header_value(buf, "Retry-After", retry_after, ra_size);
	snprintf(last_head, sizeof last_head, "\n%s", sep != NULL ? buf : "");
	free(buf);
	return status;
}
