/*
 * The integration harness: starts the local stack (tests/stack/pawl-stack) on
 * free loopback ports in a temporary state folder, sends HTTP requests to it
 * with libcurl, checks responses for the tests and stops the stack again.
 * It talks to 127.0.0.1 only (no proxy, whatever the environment says).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"

#define START_TIMEOUT_MS 90000
#define WATCHDOG_S 900 /* the whole run; normally well under a minute */
#define STOP_TIMEOUT_MS 120000
#define LOG_TAIL_LINES 40

/* The one stack this process runs. */
static struct {
	char state[64];
	char base[64];
	char srcdir[PATH_MAX];
	char script[PATH_MAX + 32];
	pid_t stack_pid;
	int stack_status;
	int workers;
	long timeout_ms; /* of one HTTP request */
	bool curl_ready;
} h = { .stack_pid = -1, .stack_status = -1, .workers = 2, .timeout_ms = 10000 };

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

struct upload {
	const char *data;
	size_t len;
	size_t off;
};

long harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int buf_add(struct buf *b, const char *data, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->data, cap);
		if (p == NULL)
			return -1;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* --- processes ---------------------------------------------------------- */

/* Reads /proc/PID/stat: state letter and parent pid. Returns -1 if gone. */
static int proc_stat(pid_t pid, char *state, pid_t *ppid)
{
	char path[64], line[1024], *p;
	FILE *f;
	long pp;
	size_t n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(line, 1, sizeof line - 1, f);
	fclose(f);
	line[n] = '\0';
	p = strrchr(line, ')'); /* comm may hold spaces and parentheses */
	if (p == NULL || sscanf(p + 1, " %c %ld", state, &pp) != 2)
		return -1;
	*ppid = (pid_t)pp;
	return 0;
}

bool pid_alive(pid_t pid)
{
	char state;
	pid_t ppid;

	return pid > 0 && proc_stat(pid, &state, &ppid) == 0 && state != 'Z';
}

size_t children_of(pid_t parent, pid_t *out, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < max) {
		char *end, state;
		long pid = strtol(e->d_name, &end, 10);
		pid_t ppid;

		if (*end != '\0' || pid <= 0)
			continue;
		if (proc_stat((pid_t)pid, &state, &ppid) == 0 && ppid == parent && state != 'Z')
			out[n++] = (pid_t)pid;
	}
	closedir(d);
	return n;
}

bool stop_process(pid_t pid)
{
	char state = '?';
	pid_t ppid;

	if (pid <= 0 || kill(pid, SIGSTOP) != 0)
		return false;
	for (long waited = 0; waited < 5000; waited += 5) {
		if (proc_stat(pid, &state, &ppid) != 0)
			return false;
		if (state == 'T' || state == 't')
			return true;
		sleep_ms(5);
	}
	return false;
}

pid_t harness_pid_file(const char *relative)
{
	char path[PATH_MAX];
	long pid = -1;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", h.state, relative);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = -1;
	fclose(f);
	return (pid_t)pid;
}

pid_t supervisor_pid(void)
{
	return harness_pid_file("run/pawl.pid");
}

/* Forks "bash pawl-stack ARG" with its output appended to STATE/LOGNAME. */
static pid_t spawn_stack(const char *arg, const char *logname, bool die_with_us)
{
	char log[PATH_MAX];
	pid_t parent = getpid(), pid;

	snprintf(log, sizeof log, "%s/%s", h.state, logname);
	fflush(NULL);
	pid = fork();
	if (pid != 0)
		return pid;
	/* child */
	if (die_with_us && (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent))
		_exit(127);
	{
		int out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (out < 0 || in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
	}
	execlp("bash", "bash", h.script, arg, (char *)NULL);
	_exit(127);
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

int harness_stack(const char *subcommand)
{
	pid_t pid = spawn_stack(subcommand, "stack-commands.log", false);
	int status;

	if (pid < 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return exit_code(status);
}

/* --- setup ---------------------------------------------------------------- */

int harness_free_ports(int *ports, int n)
{
	int fds[HARNESS_FREE_PORTS_MAX], i, rc = 0;

	if (n > HARNESS_FREE_PORTS_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		socklen_t len = sizeof sin;

		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sin, sizeof sin) != 0 ||
		    getsockname(fds[i], (struct sockaddr *)&sin, &len) != 0) {
			rc = -1;
			if (fds[i] >= 0)
				close(fds[i]);
			break;
		}
		ports[i] = ntohs(sin.sin_port);
	}
	while (i-- > 0)
		close(fds[i]);
	return rc;
}

/* Setting overrides in the caller's environment would make results depend
 * on it: only PAWL_BIN, PAWL_SRCDIR and PAWL_BUILDDIR come from outside. */
static void clean_environment(void)
{
	extern char **environ;
	char names[32][128];
	size_t n = 0, i;

	for (char **e = environ; *e != NULL && n < 32; e++) {
		const char *eq = strchr(*e, '=');
		size_t len = eq ? (size_t)(eq - *e) : strlen(*e);

		if (strncmp(*e, "PAWL_", 5) != 0 || len >= sizeof names[0])
			continue;
		memcpy(names[n], *e, len);
		names[n][len] = '\0';
		if (strcmp(names[n], "PAWL_BIN") != 0 && strcmp(names[n], "PAWL_SRCDIR") != 0 &&
		    strcmp(names[n], "PAWL_BUILDDIR") != 0)
			n++;
	}
	for (i = 0; i < n; i++) {
		fprintf(stderr, "harness: ignoring %s from the environment\n", names[i]);
		unsetenv(names[i]);
	}
}

static int setenv_int(const char *name, int value)
{
	char s[16];

	snprintf(s, sizeof s, "%d", value);
	return setenv(name, s, 1);
}

static int locate(void)
{
	const char *src = getenv("PAWL_SRCDIR"), *bin = getenv("PAWL_BIN");
	char path[PATH_MAX];

	if (realpath(src ? src : ".", h.srcdir) == NULL) {
		fprintf(stderr, "harness: PAWL_SRCDIR %s: %s\n", src ? src : ".", strerror(errno));
		return -1;
	}
	snprintf(h.script, sizeof h.script, "%s/tests/stack/pawl-stack", h.srcdir);
	if (access(h.script, R_OK) != 0) {
		fprintf(stderr, "harness: %s: %s (set PAWL_SRCDIR)\n", h.script, strerror(errno));
		return -1;
	}
	if (bin == NULL)
		bin = "./pawl-fcgi";
	if (realpath(bin, path) == NULL || access(path, X_OK) != 0) {
		fprintf(stderr, "harness: PAWL_BIN %s is not an executable (build pawl-fcgi first)\n",
			bin);
		return -1;
	}
	if (setenv("PAWL_BIN", path, 1) != 0)
		return -1;
	/* Plugins and helper programs are found here (default: the binary's folder). */
	if (getenv("PAWL_BUILDDIR") == NULL && setenv("PAWL_BUILDDIR", dirname(path), 1) != 0)
		return -1;
	return 0;
}

/*
 * The listeners test_events needs beside pawl-stack's `redis` one: two filtered
 * Redis listeners and, when it is built, the jsonl plugin. Workers also get a
 * fault point name (used only by --enable-fault-injection builds).
 */
/* A worker of a fault-injection build fails at start while this file exists. */
static const char *fault_start_path(void)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/" HARNESS_FAULT_START, h.state);
	return path;
}

static int stack_extra_ini(int redis_port)
{
	static const char *const redis_listeners[][3] = { /* name (and list), actions, resources */
		{ "creates", "create", "bucket collection" },
		{ "records", "update delete", "record" },
		{ "withdata", "create update delete", "record" }, /* test_impacted.c */
	};
	char path[PATH_MAX], plugin[PATH_MAX];
	bool jsonl;
	FILE *f;

	snprintf(plugin, sizeof plugin, "%s/app/plugins/pawl-jsonl.so", getenv("PAWL_BUILDDIR"));
	jsonl = access(plugin, R_OK) == 0;
	snprintf(path, sizeof path, "%s/extra.ini", h.state);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	for (size_t i = 0; i < sizeof redis_listeners / sizeof *redis_listeners; i++)
		fprintf(f, "event_listeners.%1$s.use = redis\n"
			"event_listeners.%1$s.url = redis://127.0.0.1:%2$d/0\n"
			"event_listeners.%1$s.listname = pawl.test.%1$s\n"
			"event_listeners.%1$s.actions = %3$s\n"
			"event_listeners.%1$s.resources = %4$s\n",
			redis_listeners[i][0], redis_port, redis_listeners[i][1], redis_listeners[i][2]);
	/* test_streams.c: a stream listener, and one stream per bucket trimmed short. */
	fprintf(f, "event_listeners.stream.use = redis\n"
		"event_listeners.stream.url = redis://127.0.0.1:%1$d/0\n"
		"event_listeners.stream.type = stream\n"
		"event_listeners.stream.listname = pawl.test.stream\n"
		"event_listeners.bstream.use = redis\n"
		"event_listeners.bstream.url = redis://127.0.0.1:%1$d/0\n"
		"event_listeners.bstream.type = stream\n"
		"event_listeners.bstream.listname = pawl.test.bstream\n"
		"event_listeners.bstream.stream_per_bucket = true\n"
		"event_listeners.bstream.maxlen = 5\n", redis_port);
	/* test_catchup.c: records with their data, some without (over data_max_bytes). */
	fprintf(f, "event_listeners.catchup.use = redis\n"
		"event_listeners.catchup.url = redis://127.0.0.1:%1$d/0\n"
		"event_listeners.catchup.type = stream\n"
		"event_listeners.catchup.listname = pawl.test.catchup\n"
		"event_listeners.catchup.resources = record\n"
		"event_listeners.catchup.include_data = true\n"
		"event_listeners.catchup.data_max_bytes = 700\n", redis_port);
	fprintf(f, "event_listeners.withdata.include_data = true\n"
		"event_listeners.withdata.data_max_bytes = 2048\n");
	/* test_accounts.c: the administrator who manages every account. */
	fprintf(f, "account_write_principals = account:admin\n");
	if (jsonl)
		fprintf(f, "event_listeners.jsonl.use = %s\nevent_listeners.jsonl.path = %s/events.jsonl\n",
			plugin, h.state);
	if (fclose(f) != 0)
		return -1;
	return setenv("PAWL_STACK_EXTRA_INI", path, 1) ||
	       setenv("PAWL_EVENT_LISTENERS", jsonl ? "redis creates records withdata stream bstream catchup jsonl" :
			"redis creates records withdata stream bstream catchup", 1) ||
	       setenv("PAWL_FAULT_KILL_AFTER_COMMIT", "pawlfaultkill", 1) ||
	       setenv("PAWL_FAULT_LOSE_COMMIT_ANSWER", "pawlfaultlost", 1) ||
	       setenv("PAWL_FAULT_LOSE_BEFORE_COMMIT", "pawlfaultcut", 1) ||
	       setenv("PAWL_FAULT_WORKER_START", fault_start_path(), 1);
}

void harness_ini_value(const char *key, char *out, size_t size)
{
	char path[PATH_MAX], line[4096];
	size_t n = strlen(key);
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof path, "%s/pawl.ini", h.state);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		char *v = line + n;

		if (strncmp(line, key, n) != 0 || (*v != ' ' && *v != '='))
			continue;
		v += strspn(v, " =");
		v[strcspn(v, "\r\n")] = '\0';
		snprintf(out, size, "%s", v);
	}
	fclose(f);
}

bool harness_psql(const char *sql, char *out, size_t size)
{
	char cmd[8192], line[512] = "";
	FILE *p;

	snprintf(cmd, sizeof cmd,
		 "psql -X -q -tA -h '%s/run/pg' -p %s -U postgres -d pawl -c \"%s\" 2>&1",
		 h.state, getenv("PAWL_PG_PORT"), sql);
	if ((p = popen(cmd, "r")) == NULL)
		return false;
	if (fgets(line, sizeof line, p) == NULL)
		line[0] = '\0';
	while (fgetc(p) != EOF)
		;
	line[strcspn(line, "\n")] = '\0';
	if (out != NULL)
		snprintf(out, size, "%s", line);
	return pclose(p) == 0;
}

/* A hung run must not eat CI's time: stop the stack and fail. */
static void on_watchdog(int sig)
{
	static const char msg[] = "\nharness: watchdog: the run took too long; stopping\n";

	(void)sig;
	if (write(2, msg, sizeof msg - 1) < 0) {
		/* nothing to do */
	}
	if (h.stack_pid > 0)
		kill(h.stack_pid, SIGTERM);
	_exit(1);
}

int harness_start(void)
{
	char tmpl[] = "/tmp/pawl-it-XXXXXX";
	int ports[3];
	long deadline;

	signal(SIGALRM, on_watchdog);
	alarm(WATCHDOG_S);
	clean_environment();
	if (locate() != 0)
		return -1;
	if (mkdtemp(tmpl) == NULL || chmod(tmpl, 0755) != 0) { /* postgres walks into it */
		perror("harness: mkdtemp");
		return -1;
	}
	snprintf(h.state, sizeof h.state, "%s", tmpl);
	if (harness_free_ports(ports, 3) != 0) {
		perror("harness: no free port");
		return -1;
	}
	snprintf(h.base, sizeof h.base, "http://127.0.0.1:%d", ports[0]);
	if (setenv("PAWL_STATE_DIR", h.state, 1) || setenv_int("PAWL_HTTP_PORT", ports[0]) ||
	    setenv_int("PAWL_REDIS_PORT", ports[1]) || setenv_int("PAWL_PG_PORT", ports[2]) ||
	    setenv_int("PAWL_WORKERS", h.workers) || stack_extra_ini(ports[1]) != 0)
		return -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	h.curl_ready = true;

	printf("harness: stack in %s, HTTP %d, Redis %d, PostgreSQL %d\n", h.state, ports[0],
	       ports[1], ports[2]);
	h.stack_pid = spawn_stack("run", "stack.log", true);
	if (h.stack_pid < 0) {
		perror("harness: fork");
		return -1;
	}
	deadline = harness_now_ms() + START_TIMEOUT_MS;
	h.timeout_ms = 2000; /* a crashing worker must not stall the poll */
	for (;;) {
		int status;

		if (waitpid(h.stack_pid, &status, WNOHANG) == h.stack_pid) {
			h.stack_pid = -1;
			h.stack_status = exit_code(status);
			fprintf(stderr, "harness: pawl-stack exited (status %d) before serving\n",
				h.stack_status);
			return -1;
		}
		if (http_status("/v1/__lbheartbeat__") == 200)
			break;
		if (harness_now_ms() > deadline) {
			fprintf(stderr, "harness: no answer from %s/v1/__lbheartbeat__ in %d s\n",
				h.base, START_TIMEOUT_MS / 1000);
			return -1;
		}
		sleep_ms(250);
	}
	h.timeout_ms = 10000;
	printf("harness: stack up after %.1f s\n",
	       (START_TIMEOUT_MS - (deadline - harness_now_ms())) / 1000.0);
	return 0;
}

int harness_stop(void)
{
	long deadline;
	int status;

	if (h.stack_pid <= 0)
		return h.stack_status;
	kill(h.stack_pid, SIGTERM);
	deadline = harness_now_ms() + STOP_TIMEOUT_MS;
	for (;;) {
		pid_t w = waitpid(h.stack_pid, &status, WNOHANG);

		if (w == h.stack_pid) {
			h.stack_status = exit_code(status);
			break;
		}
		if (w < 0 && errno != EINTR) {
			h.stack_status = -1;
			break;
		}
		if (harness_now_ms() > deadline) {
			fprintf(stderr, "harness: pawl-stack ignores SIGTERM; killing it\n");
			kill(h.stack_pid, SIGKILL);
			waitpid(h.stack_pid, &status, 0);
			h.stack_status = -1;
			break;
		}
		sleep_ms(100);
	}
	h.stack_pid = -1;
	return h.stack_status;
}

/* Prints the last `lines` lines of path (at most its last 16 KiB). */
static void print_tail(const char *path, int max_lines)
{
	char data[16384], *start;
	FILE *f = fopen(path, "r");
	long size;
	size_t n;
	int lines = 0;

	if (f == NULL)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > (long)sizeof data - 1 ? size - (long)sizeof data + 1 : 0, SEEK_SET);
	n = fread(data, 1, sizeof data - 1, f);
	fclose(f);
	data[n] = '\0';
	if (n == 0)
		return;
	start = data + n;
	while (start > data && lines <= max_lines)
		if (*--start == '\n' && start + 1 < data + n)
			lines++;
	if (*start == '\n')
		start++;
	fprintf(stderr, "\n----- %s (end) -----\n%s%s", path, start,
		data[n - 1] == '\n' ? "" : "\n");
}

static void print_logs(void)
{
	char path[PATH_MAX];
	struct dirent **names;
	int n;

	/* The stack's own output first and whole: it names what went wrong. */
	snprintf(path, sizeof path, "%s/stack.log", h.state);
	print_tail(path, 400);
	snprintf(path, sizeof path, "%s/log", h.state);
	n = scandir(path, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		size_t len = strlen(names[i]->d_name);

		if (len > 4 && strcmp(names[i]->d_name + len - 4, ".log") == 0 &&
		    strstr(names[i]->d_name, "access") == NULL) {
			snprintf(path, sizeof path, "%s/log/%s", h.state, names[i]->d_name);
			print_tail(path, LOG_TAIL_LINES);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void harness_finish(bool ok)
{
	harness_stop();
	if (h.state[0] != '\0') {
		if (ok) {
			if (nftw(h.state, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
				fprintf(stderr, "harness: could not remove %s\n", h.state);
		} else {
			print_logs();
			fprintf(stderr, "\nharness: state and logs kept in %s\n", h.state);
		}
	}
	if (h.curl_ready)
		curl_global_cleanup();
	h.curl_ready = false;
}

const char *harness_state_dir(void)
{
	return h.state;
}

const char *harness_base_url(void)
{
	return h.base;
}

int harness_workers(void)
{
	return h.workers;
}

/* --- HTTP ------------------------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;

	return buf_add(b, ptr, size * nmemb) == 0 ? size * nmemb : 0;
}

static void free_headers(struct http_resp *r)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->nheaders = 0;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_resp *r = userdata;
	size_t n = size * nmemb, vlen;
	const char *colon, *v;
	struct http_header *grown;

	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0) { /* a new response (after 100) */
		free_headers(r);
		return n;
	}
	colon = memchr(ptr, ':', n);
	if (colon == NULL)
		return n;
	v = colon + 1;
	while (v < ptr + n && (*v == ' ' || *v == '\t'))
		v++;
	vlen = (size_t)(ptr + n - v);
	while (vlen > 0 && (v[vlen - 1] == '\n' || v[vlen - 1] == '\r' || v[vlen - 1] == ' '))
		vlen--;
	grown = realloc(r->headers, (r->nheaders + 1) * sizeof *grown);
	if (grown == NULL)
		return 0;
	r->headers = grown;
	grown[r->nheaders].name = strndup(ptr, (size_t)(colon - ptr));
	grown[r->nheaders].value = strndup(v, vlen);
	if (grown[r->nheaders].name == NULL || grown[r->nheaders].value == NULL)
		return 0;
	r->nheaders++;
	return n;
}

static size_t on_read(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct upload *u = userdata;
	size_t n = size * nmemb;

	if (n > u->len - u->off)
		n = u->len - u->off;
	if (n > 65536) /* several chunks */
		n = 65536;
	memcpy(ptr, u->data + u->off, n);
	u->off += n;
	return n;
}

static bool has_header(const char *const *headers, const char *name)
{
	size_t len = strlen(name);

	for (; headers != NULL && *headers != NULL; headers++)
		if (strncasecmp(*headers, name, len) == 0 && (*headers)[len] == ':')
			return true;
	return false;
}

static void parse_json(struct http_resp *r)
{
	json_tokener *tok;

	if (r->body_len == 0)
		return;
	tok = json_tokener_new();
	if (tok == NULL)
		return;
	r->json = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(r->json);
		r->json = NULL;
	}
	json_tokener_free(tok);
}

int http_request_ex(const char *method, const char *path, const char *const *headers,
		    const char *body, size_t body_len, bool chunked, struct http_resp *resp)
{
	struct upload up = { body, body_len, 0 };
	struct curl_slist *list = NULL;
	struct buf b = { NULL, 0, 0 };
	char url[8192];
	CURLcode rc = CURLE_OUT_OF_MEMORY;
	CURL *c;

	memset(resp, 0, sizeof *resp);
	snprintf(resp->what, sizeof resp->what, "%s %s", method, path);
	c = curl_easy_init();
	if (c == NULL)
		goto out;
	snprintf(url, sizeof url, "%s%s", h.base, path);
	for (const char *const *p = headers; p != NULL && *p != NULL; p++)
		list = curl_slist_append(list, *p);
	list = curl_slist_append(list, "Expect:"); /* no 100-continue round trip */
	if (body != NULL && !has_header(headers, "Content-Type"))
		list = curl_slist_append(list, "Content-Type: application/json");
	if (body != NULL && chunked)
		list = curl_slist_append(list, "Transfer-Encoding: chunked");

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h.timeout_ms);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	if (body != NULL && chunked) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
	} else if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
out:
	if (rc != CURLE_OK) {
		snprintf(resp->error, sizeof resp->error, "(%s)", curl_easy_strerror(rc));
		resp->status = 0;
	}
	if (b.data == NULL)
		buf_add(&b, "", 0);
	resp->body = b.data;
	resp->body_len = b.len;
	parse_json(resp);
	curl_slist_free_all(list);
	if (c != NULL)
		curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

int http_request(const char *method, const char *path, const char *const *headers,
		 const char *body, struct http_resp *resp)
{
	return http_request_ex(method, path, headers, body, body ? strlen(body) : 0, false, resp);
}

long http_status(const char *path)
{
	struct http_resp r;
	long status;

	http_request("GET", path, NULL, NULL, &r);
	status = r.status;
	http_resp_free(&r);
	return status;
}

void http_resp_free(struct http_resp *resp)
{
	free_headers(resp);
	free(resp->body);
	resp->body = NULL;
	json_object_put(resp->json);
	resp->json = NULL;
}

const char *resp_header(const struct http_resp *resp, const char *name)
{
	for (size_t i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}

size_t resp_header_count(const struct http_resp *resp, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < resp->nheaders; i++)
		n += strcasecmp(resp->headers[i].name, name) == 0;
	return n;
}

json_object *resp_json(const struct http_resp *resp, const char *path)
{
	json_object *o = resp->json;
	char key[256];

	while (o != NULL && *path != '\0') {
		size_t len = strcspn(path, ".");

		if (len >= sizeof key || !json_object_is_type(o, json_type_object))
			return NULL;
		memcpy(key, path, len);
		key[len] = '\0';
		if (!json_object_object_get_ex(o, key, &o))
			return NULL;
		path += len + (path[len] == '.');
	}
	return o;
}

void basic_auth(char *out, size_t size, const char *user, const char *password)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char plain[512], enc[700];
	size_t n = (size_t)snprintf(plain, sizeof plain, "%s:%s", user, password), i, o = 0;

	if (n >= sizeof plain)
		n = sizeof plain - 1;
	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)plain[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)plain[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)plain[i + 2];
		enc[o++] = b64[(v >> 18) & 63];
		enc[o++] = b64[(v >> 12) & 63];
		enc[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		enc[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	enc[o] = '\0';
	snprintf(out, size, "Authorization: Basic %s", enc);
}

void unique_id(char *out, size_t size, const char *prefix)
{
	static unsigned counter;

	snprintf(out, size, "%s%ldx%ux%lx", prefix, (long)getpid(), ++counter,
		 (unsigned long)time(NULL) & 0xffffUL);
}

/* --- assertions ------------------------------------------------------------- */

const char *body_snip(const struct http_resp *r)
{
	static char ring[4][200];
	static unsigned next;
	char *out = ring[next++ % 4];
	size_t o = 0;

	if (r->body == NULL)
		return "";
	for (size_t i = 0; i < r->body_len && o + 5 < sizeof ring[0]; i++) {
		unsigned char ch = (unsigned char)r->body[i];

		if (ch >= 0x20 && ch < 0x7f) {
			out[o++] = (char)ch;
		} else {
			o += (size_t)snprintf(out + o, sizeof ring[0] - o, "\\x%02x", ch);
		}
	}
	if (o + 5 >= sizeof ring[0])
		memcpy(out + sizeof ring[0] - 4, "...", 4);
	else
		out[o] = '\0';
	return out;
}

void check_at(bool ok, const char *file, unsigned line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (ok) {
		CU_assertImplementation(CU_TRUE, line, "", file, "", CU_FALSE);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	CU_assertImplementation(CU_FALSE, line, msg, file, "", CU_FALSE);
}

void assert_status_at(const struct http_resp *r, long status, const char *file, unsigned line)
{
	check_at(r->status == status, file, line, "%s: HTTP status %ld %s, expected %ld; body: %s",
		 r->what, r->status, r->error, status, body_snip(r));
}

void assert_json_type_at(const struct http_resp *r, const char *file, unsigned line)
{
	const char *ct = resp_header(r, "Content-Type");

	check_at(ct != NULL && strncasecmp(ct, "application/json", 16) == 0, file, line,
		 "%s: Content-Type is %s, expected application/json", r->what, ct ? ct : "missing");
	check_at(r->json != NULL, file, line, "%s: body is not JSON: %s", r->what, body_snip(r));
}

static bool json_int_is(json_object *o, long want)
{
	return o != NULL && json_object_is_type(o, json_type_int) && json_object_get_int64(o) == want;
}

static bool json_nonempty_string(json_object *o)
{
	return o != NULL && json_object_is_type(o, json_type_string) &&
	       json_object_get_string_len(o) > 0;
}

void assert_error_at(const struct http_resp *r, long status, int err_no, const char *file,
		     unsigned line)
{
	assert_status_at(r, status, file, line);
	if (r->status != status)
		return; /* one failure with the body says it all */
	assert_json_type_at(r, file, line);
	if (r->json == NULL)
		return;
	check_at(json_object_is_type(r->json, json_type_object), file, line,
		 "error body is not an object: %s", body_snip(r));
	check_at(json_int_is(resp_json(r, "code"), status), file, line,
		 "error code is not %ld: %s", status, body_snip(r));
	check_at(json_int_is(resp_json(r, "errno"), err_no), file, line,
		 "errno is not %d: %s", err_no, body_snip(r));
	check_at(json_nonempty_string(resp_json(r, "error")), file, line,
		 "no \"error\" string: %s", body_snip(r));
	check_at(json_nonempty_string(resp_json(r, "message")), file, line,
		 "no \"message\" string: %s", body_snip(r));
}

void assert_location_at(const struct http_resp *r, const char *want, const char *file,
			unsigned line)
{
	const char *loc = resp_header(r, "Location");
	size_t blen = strlen(h.base);
	bool ok;

	assert_status_at(r, 307, file, line);
	if (r->status != 307)
		return;
	ok = loc != NULL && (strcmp(loc, want) == 0 ||
			     (strncmp(loc, h.base, blen) == 0 && strcmp(loc + blen, want) == 0));
	check_at(ok, file, line, "%s: Location is %s, expected %s", r->what, loc ? loc : "missing",
		 want);
	check_at(resp_header_count(r, "Location") <= 1, file, line, "several Location headers");
}
