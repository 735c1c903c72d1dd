/*
 * The prefork supervisor. It never serves requests and never opens a
 * database connection: it forks workers onto the shared listening socket,
 * reaps and respawns them, and drives stops and reloads. All its signals are
 * blocked and taken synchronously with sigtimedwait, so no handler races.
 * A reload is all or nothing: the new configuration is loaded as a start
 * loads it, and the old workers go only once every new one said it is ready.
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

#include "app.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "events/relay.h"
#include "events/history.h"
#include "metrics_shm.h"
#include "supervisor.h"
#include "systemd.h"
#include "worker.h"

extern char **environ;

#define YOUNG_MS 1000        /* a worker dying sooner than this is crash-looping */
#define MAX_BACKOFF_MS 5000
#define READY_MS 10000       /* a reload's new workers must all be ready by then */
#define REKILL_MS 60000      /* children alive after SIGKILL get it again this often */

struct child {
	pid_t pid;
	unsigned gen;
	bool relay;    /* the outbox relay rather than a worker */
	bool ready;    /* the worker reported that it started */
};

struct sup {
	const char *path;
	struct pawl_config *cfg;
	int fd;
	int n;                 /* workers wanted per generation */
	unsigned gen;          /* the generation being served (or starting, in a reload) */
	unsigned last_gen;     /* the newest generation ever started */
	struct pawl_config *old_cfg; /* during a reload: the generation still serving */
	unsigned old_gen;
	long long ready_by_ms; /* during a reload: its deadline */
	bool reload_failed;    /* during a reload: a new worker died before it was ready */
	struct child *kids;
	int cap;
	long long next_spawn_ms;
	int backoff_ms;
	long long last_spawn_ms;
	bool stopping;
	long long kill_at_ms;
	int wake[2]; /* workers → relay: "there are outbox rows" (non-blocking pipe) */
	int ready[2]; /* workers → supervisor: their pid once they can serve */
	bool ready_told; /* systemd has READY=1 for the generation serving now */
	char reload_note[256]; /* how the last reload failed, for systemd's STATUS= */
	struct pawl_systemd_watchdog watchdog;
};

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
	close(s->ready[0]);
	/* The block mapped before the fork; unbound when this generation turned metrics off. */
	(void)pawl_metrics_shm_attach(s->cfg, false, &(struct pawl_error){ PAWL_OK });
	if (relay) {
		close(s->fd);
		close(s->wake[1]);
		close(s->ready[1]);
		_exit(pawl_relay_run(s->cfg, s->wake[0]));
	}
	close(s->wake[0]);
	_exit(pawl_worker_run(s->cfg, s->fd, s->wake[1], s->ready[1]));
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
	s->kids[i].ready = false;
	s->last_spawn_ms = pawl_clock_mono_ms();
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

/* The relay runs when some listener is durable (the Redis queue listener), or to trim history; never readonly. */
static bool wants_relay(const struct pawl_config *cfg)
{
	size_t i;

	/*
	 * A read-only head writes nothing, so it stages no event; on a replica
	 * it could not delete a delivered row either, and would push the
	 * primary's events a second time. The writable hosts' relays deliver.
	 */
	if (cfg->readonly)
		return false;
	if (pawl_history_trims(cfg))
		return true;
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

/*
 * One structured line per child that ended unasked: type worker.restart
 * (respawned) or worker.exit (a reload's new worker that never got ready,
 * not respawned). role: worker or relay; status: its exit code, or signal:
 * the signal that killed it (the other null).
 */
static void log_exit(const struct child *c, pid_t pid, int status, bool respawned)
{
	const char *role = c->relay ? "relay" : "worker";
	bool killed = WIFSIGNALED(status);
	const struct pawl_log_field fields[] = {
		PAWL_LOG_S("role", role),
		PAWL_LOG_I("pid", pid),
		killed ? PAWL_LOG_S("status", NULL) : PAWL_LOG_I("status", WEXITSTATUS(status)),
		killed ? PAWL_LOG_I("signal", WTERMSIG(status)) : PAWL_LOG_S("signal", NULL),
		PAWL_LOG_I("generation", c->gen),
	};
	const size_t n = sizeof(fields) / sizeof(fields[0]);

	if (!respawned)
		pawl_log_fields(PAWL_LOG_ERROR, "worker.exit", fields, n,
		    "supervisor: a new worker (%ld) died before it was ready", (long)pid);
	else if (killed)
		pawl_log_fields(PAWL_LOG_ERROR, "worker.restart", fields, n,
		    "supervisor: %s %ld killed by signal %d; respawning", role, (long)pid,
		    WTERMSIG(status));
	else
		pawl_log_fields(PAWL_LOG_ERROR, "worker.restart", fields, n,
		    "supervisor: %s %ld exited with status %d; respawning", role, (long)pid,
		    WEXITSTATUS(status));
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
		if (s->old_cfg != NULL && !s->kids[i].relay && !s->kids[i].ready) {
			log_exit(&s->kids[i], pid, status, false);
			s->reload_failed = true;
			continue;
		}
		pawl_metrics_restart(s->kids[i].relay);
		log_exit(&s->kids[i], pid, status, true);
		/* Back off only when workers die young (a crash loop), not after a one-off. */
		if (pawl_clock_mono_ms() - s->last_spawn_ms < YOUNG_MS)
			s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : 100;
		else
			s->backoff_ms = 0;
		if (s->backoff_ms > MAX_BACKOFF_MS)
			s->backoff_ms = MAX_BACKOFF_MS;
		s->next_spawn_ms = pawl_clock_mono_ms() + s->backoff_ms;
	}
}

/* Marks the workers that reported ready (their pids, on the ready pipe). */
static void read_ready(struct sup *s)
{
	pid_t pids[64];
	ssize_t got;
	int i;

	while ((got = read(s->ready[0], pids, sizeof(pids))) > 0)
		for (size_t k = 0; k < (size_t)got / sizeof(pid_t); k++)
			for (i = 0; i < s->cap; i++)
				if (s->kids[i].pid == pids[k])
					s->kids[i].ready = true;
}

static int count_ready(const struct sup *s)
{
	int i, n = 0;

	for (i = 0; i < s->cap; i++)
		n += s->kids[i].pid != 0 && s->kids[i].gen == s->gen && !s->kids[i].relay &&
		    s->kids[i].ready;
	return n;
}

/* The logger takes a (re)loaded config's format, level and file, then says its warnings. */
static void apply_logging(const struct pawl_config *cfg)
{
	pawl_log_configure(cfg->log_level, cfg->log_format);
	if (pawl_log_open(cfg->log_file) != 0)
		pawl_log_error("supervisor: cannot open log_file '%s': %s; logging where it did",
		    cfg->log_file, strerror(errno));
	pawl_config_log_warnings(cfg);
}

/*
 * SIGHUP: the whole new configuration is loaded as a start loads it (plugins,
 * resources, the version file, eos); a configuration that would not start is
 * refused and the running one kept. Then a new generation starts beside the
 * old one, which keeps serving until settle_reload decides.
 */
static void reload(struct sup *s)
{
	struct pawl_error err;
	struct pawl_config *cfg;
	struct pawl_app *app;

	if (s->old_cfg != NULL) {
		pawl_log_warn("supervisor: a reload is already in progress; SIGHUP ignored");
		return;
	}
	if ((cfg = pawl_config_load(s->path, environ, &err)) == NULL) {
		pawl_log_error("supervisor: reload refused, keeping the running config: %s", err.message);
		snprintf(s->reload_note, sizeof(s->reload_note), "reload refused: %.200s", err.message);
		pawl_config_free(cfg);
		return;
	}
	if ((app = pawl_app_new(cfg, &err)) == NULL) {
		pawl_log_error("supervisor: reload refused, keeping the running config: %s", err.message);
		snprintf(s->reload_note, sizeof(s->reload_note), "reload refused: %.200s", err.message);
		pawl_config_free(cfg);
		return;
	}
	pawl_app_free(app);
	s->old_cfg = s->cfg;
	s->old_gen = s->gen;
	s->cfg = cfg;
	s->gen = ++s->last_gen;
	s->backoff_ms = 0;
	s->next_spawn_ms = 0;
	s->reload_failed = false;
	s->ready_by_ms = pawl_clock_mono_ms() + READY_MS;
	apply_logging(cfg);
	pawl_log_info("supervisor: config loaded, starting generation %u", s->gen);
}

/*
 * During a reload: once every new worker is ready, the old generation drains
 * (SIGTERM lets its requests finish) and the new one serves; if one died
 * first, or READY_MS passed, the new generation goes and the old one stays.
 * The socket is never left without workers.
 */
static void settle_reload(struct sup *s)
{
	struct pawl_config *drop;
	unsigned doomed;

	if (s->old_cfg == NULL)
		return;
	if (!s->reload_failed && count_ready(s) >= s->n) {
		drop = s->old_cfg;
		s->old_cfg = NULL;
		signal_all(s, SIGTERM, true);
		pawl_config_free(drop);
		pawl_log_info("supervisor: config reloaded, workers replaced (generation %u)", s->gen);
		return;
	}
	if (!s->reload_failed && pawl_clock_mono_ms() < s->ready_by_ms)
		return;
	pawl_log_error("supervisor: reload failed, generation %u %s; keeping generation %u and its "
	    "config", s->gen, s->reload_failed ? "did not start" : "was not ready in time",
	    s->old_gen);
	snprintf(s->reload_note, sizeof(s->reload_note), "reload failed: generation %u %s", s->gen,
	    s->reload_failed ? "did not start" : "was not ready in time");
	doomed = s->gen;
	drop = s->cfg;
	s->cfg = s->old_cfg;
	s->gen = s->old_gen;
	s->old_cfg = NULL;
	for (int i = 0; i < s->cap; i++)
		if (s->kids[i].pid != 0 && s->kids[i].gen == doomed)
			kill(s->kids[i].pid, SIGTERM);
	pawl_config_free(drop);
	apply_logging(s->cfg);
}

/* SIGUSR1, as nginx takes it: reopen the logs, here and in every child. */
static void reopen_logs(struct sup *s)
{
	pawl_log_reopen();
	signal_all(s, SIGUSR1, false);
}

/* SIGQUIT: stop now, without waiting for requests in flight (nginx's "fast shutdown"). */
static void quit_now(struct sup *s)
{
	s->stopping = true;
	s->kill_at_ms = pawl_clock_mono_ms();
	signal_all(s, SIGKILL, false);
	pawl_systemd_stopping("SIGQUIT: killing every worker");
	pawl_log_warn("supervisor: SIGQUIT: killing %d children now", count(s, false, false));
}

static void begin_stop(struct sup *s)
{
	if (s->stopping)
		return;
	s->stopping = true;
	s->kill_at_ms = pawl_clock_mono_ms() + (long long)s->cfg->graceful_timeout_seconds * 1000;
	signal_all(s, SIGTERM, false);
	pawl_systemd_stopping("stopping: letting requests in flight finish");
	pawl_log_info("supervisor: stopping %d children", count(s, false, false));
}

/*
 * SIGHUP, as systemd sees it: RELOADING=1 now, READY=1 once the reload ended
 * whichever way (refused, rolled back, done) and every worker serving is
 * ready (step).
 */
static void hup(struct sup *s)
{
	pawl_systemd_reloading("reloading the configuration");
	s->ready_told = false;
	s->reload_note[0] = '\0';
	reload(s);
}

/* READY=1 at start, and at the end of each reload: every worker of the generation serving is ready. */
static void tell_ready(struct sup *s)
{
	char status[384];

	if (s->ready_told || s->old_cfg != NULL || count_ready(s) < s->n)
		return;
	snprintf(status, sizeof(status), "serving with %d workers (generation %u)%s%s", s->n, s->gen,
	    s->reload_note[0] != '\0' ? "; " : "", s->reload_note);
	pawl_systemd_ready(status);
	s->ready_told = true;
}

static void step(struct sup *s)
{
	if (s->stopping) {
		if (pawl_clock_mono_ms() >= s->kill_at_ms && count(s, false, false) > 0) {
			pawl_log_warn("supervisor: workers still busy after %d s; killing them",
			    s->cfg->graceful_timeout_seconds);
			signal_all(s, SIGKILL, false);
			s->kill_at_ms = pawl_clock_mono_ms() + REKILL_MS;
		}
		return;
	}
	read_ready(s);
	settle_reload(s);
	tell_ready(s);
	/* A reload's generation gets its workers once, and its relay once it serves. */
	while (count(s, true, false) < s->n && pawl_clock_mono_ms() >= s->next_spawn_ms &&
	    (s->old_cfg == NULL || !s->reload_failed))
		spawn(s, false);
	if (s->old_cfg == NULL && wants_relay(s->cfg) && count(s, true, true) == 0 &&
	    pawl_clock_mono_ms() >= s->next_spawn_ms)
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
	if (pipe2(s.wake, O_NONBLOCK | O_CLOEXEC) != 0 || pipe2(s.ready, O_NONBLOCK | O_CLOEXEC) != 0) {
		pawl_log_error("supervisor: pipe: %s", strerror(errno));
		free(s.kids);
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGQUIT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	pawl_log_info("supervisor: starting %d workers", n);
	pawl_systemd_status("starting the workers");
	pawl_systemd_watchdog_init(&s.watchdog);
	while (!s.stopping || count(&s, false, false) > 0) {
		/* The tick also bounds the time between two watchdog pings. */
		struct timespec tick = { .tv_sec = 0, .tv_nsec = 100 * 1000000L };
		int sig;

		pawl_systemd_watchdog_kick(&s.watchdog);
		step(&s);
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGCHLD)
			reap(&s);
		else if (sig == SIGTERM || sig == SIGINT)
			begin_stop(&s);
		else if (sig == SIGHUP && !s.stopping)
			hup(&s);
		else if (sig == SIGUSR1)
			reopen_logs(&s);
		else if (sig == SIGQUIT)
			quit_now(&s);
		reap(&s);
	}
	pawl_log_info("supervisor: stopped");
	close(s.wake[0]);
	close(s.wake[1]);
	close(s.ready[0]);
	close(s.ready[1]);
	free(s.kids);
	pawl_config_free(s.old_cfg);
	pawl_config_free(s.cfg);
	return 0;
}
