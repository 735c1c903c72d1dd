/*
 * The prefork supervisor. It never serves requests and never opens a
 * database connection: it forks workers onto the shared listening socket,
 * reaps and respawns them, and drives stops and reloads. All its signals are
 * blocked and taken synchronously with sigtimedwait, so no handler races.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pawl/log.h"
#include "pawl/relay.h"
#include "pawl/supervisor.h"
#include "pawl/worker.h"

extern char **environ;

#define YOUNG_MS 1000        /* a worker dying sooner than this is crash-looping */
#define MAX_BACKOFF_MS 5000

struct child {
	pid_t pid;
	unsigned gen;
	bool relay;    /* the outbox relay rather than a worker */
};

struct sup {
	const char *path;
	struct pawl_config *cfg;
	int fd;
	int n;                 /* workers wanted per generation */
	unsigned gen;
	struct child *kids;
	int cap;
	long long next_spawn_ms;
	int backoff_ms;
	long long last_spawn_ms;
	bool stopping;
	long long kill_at_ms;
	int wake[2]; /* workers → relay: "there are outbox rows" (non-blocking pipe) */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void child_main(struct sup *s, pid_t parent, bool relay)
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_DFL);
	/* A worker must not outlive its supervisor. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	if (relay) {
		close(s->fd);
		close(s->wake[1]);
		_exit(pawl_relay_run(s->cfg, s->wake[0]));
	}
	close(s->wake[0]);
	_exit(pawl_worker_run(s->cfg, s->fd, s->wake[1]));
}

static void spawn(struct sup *s, bool relay)
{
	pid_t parent = getpid(), pid;
	int i;

	for (i = 0; i < s->cap && s->kids[i].pid != 0; i++)
		;
	if (i == s->cap)
		return;
	pid = fork();
	if (pid < 0) {
		pawl_log_error("supervisor: fork failed: %s", strerror(errno));
		return;
	}
	if (pid == 0)
		child_main(s, parent, relay);
	s->kids[i].pid = pid;
	s->kids[i].gen = s->gen;
	s->kids[i].relay = relay;
	s->last_spawn_ms = now_ms();
}

/* Live children; current_only: of this generation and of the given kind. */
static int count(const struct sup *s, bool current_only, bool relay)
{
	int i, n = 0;

	for (i = 0; i < s->cap; i++)
		if (s->kids[i].pid != 0 && (!current_only ||
		    (s->kids[i].gen == s->gen && s->kids[i].relay == relay)))
			n++;
	return n;
}

/* The relay runs when some listener is durable (the Redis queue listener). */
static bool wants_relay(const struct pawl_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_listeners; i++)
		if (strcmp(cfg->listeners[i].use, "redis") == 0)
			return true;
	return false;
}

static void signal_all(struct sup *s, int sig, bool old_only)
{
	int i;

	for (i = 0; i < s->cap; i++)
		if (s->kids[i].pid != 0 && (!old_only || s->kids[i].gen != s->gen))
			kill(s->kids[i].pid, sig);
}

static void reap(struct sup *s)
{
	int status, i;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < s->cap && s->kids[i].pid != pid; i++)
			;
		if (i == s->cap)
			continue;
		s->kids[i].pid = 0;
		if (s->stopping || s->kids[i].gen != s->gen)
			continue;
		if (WIFSIGNALED(status))
			pawl_log_error("supervisor: %s %ld killed by signal %d; respawning",
			    s->kids[i].relay ? "relay" : "worker", (long)pid, WTERMSIG(status));
		else
			pawl_log_error("supervisor: %s %ld exited with status %d; respawning",
			    s->kids[i].relay ? "relay" : "worker", (long)pid, WEXITSTATUS(status));
		/* Back off only when workers die young (a crash loop), not after a one-off. */
		if (now_ms() - s->last_spawn_ms < YOUNG_MS)
			s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : 100;
		else
			s->backoff_ms = 0;
		if (s->backoff_ms > MAX_BACKOFF_MS)
			s->backoff_ms = MAX_BACKOFF_MS;
		s->next_spawn_ms = now_ms() + s->backoff_ms;
	}
}

static void reload(struct sup *s)
{
	struct pawl_error err;
	struct pawl_config *cfg = pawl_config_load(s->path, environ, &err);
	int i;

	/* Workers would refuse a config without secrets: refuse it here, keep serving. */
	if (cfg == NULL || pawl_config_check_secrets(cfg, &err) != PAWL_OK) {
		pawl_log_error("supervisor: reload refused, keeping the running config: %s", err.message);
		pawl_config_free(cfg);
		return;
	}
	pawl_config_free(s->cfg);
	s->cfg = cfg;
	pawl_log_configure(cfg->log_level, cfg->log_format);
	s->gen++;
	s->backoff_ms = 0;
	/* New workers first, then drain the old ones: the socket is never unserved. */
	for (i = 0; i < s->n; i++)
		spawn(s, false);
	if (wants_relay(cfg))
		spawn(s, true);
	signal_all(s, SIGTERM, true);
	pawl_log_info("supervisor: config reloaded, workers replaced (generation %u)", s->gen);
}

static void begin_stop(struct sup *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	s->kill_at_ms = now_ms() + (long long)s->cfg->graceful_timeout_seconds * 1000;
	signal_all(s, SIGTERM, false);
	pawl_log_info("supervisor: stopping %d children", count(s, false, false));
}

static void step(struct sup *s)
{
	if (s->stopping) {
		if (now_ms() >= s->kill_at_ms && count(s, false, false) > 0) {
			pawl_log_warn("supervisor: workers still busy after %d s; killing them",
			    s->cfg->graceful_timeout_seconds);
			signal_all(s, SIGKILL, false);
			s->kill_at_ms = now_ms() + 60000;
		}
		return;
	}
	while (count(s, true, false) < s->n && now_ms() >= s->next_spawn_ms)
		spawn(s, false);
	if (wants_relay(s->cfg) && count(s, true, true) == 0 && now_ms() >= s->next_spawn_ms)
		spawn(s, true);
}

int pawl_supervisor_run(const char *path, struct pawl_config *cfg, int fd, int n)
{
	struct sup s;
	sigset_t set;

	memset(&s, 0, sizeof(s));
	s.path = path;
	s.cfg = cfg;
	s.fd = fd;
	s.n = n;
	s.cap = 4 * n + 4;
	s.kids = calloc((size_t)s.cap, sizeof(*s.kids));
	if (s.kids == NULL)
		return 1;
	if (pipe2(s.wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		pawl_log_error("supervisor: pipe: %s", strerror(errno));
		free(s.kids);
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	pawl_log_info("supervisor: starting %d workers", n);
	while (!s.stopping || count(&s, false, false) > 0) {
		struct timespec tick = { .tv_sec = 0, .tv_nsec = 100 * 1000000L };
		int sig;

		step(&s);
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGCHLD)
			reap(&s);
		else if (sig == SIGTERM || sig == SIGINT)
			begin_stop(&s);
		else if (sig == SIGHUP && !s.stopping)
			reload(&s);
		reap(&s);
	}
	pawl_log_info("supervisor: stopped");
	close(s.wake[0]);
	close(s.wake[1]);
	free(s.kids);
	pawl_config_free(s.cfg);
	return 0;
}
