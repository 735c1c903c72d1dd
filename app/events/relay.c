/*
 * The relay process: its loop (woken by the workers' pipe under the
 * supervisor, by LISTEN pawl_outbox, and by a poll interval) and its
 * passes over every listener's rows. Never deletes a row before Redis
 * accepted it: the DELETE and the push share one transaction. A listener
 * whose push fails is left out of the shared batches and retried alone, so
 * its outage holds back only its own rows. The workers' side is in
 * relay_worker.c, the push itself in sink.c.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "events/subscribers.h"
#include "store/outbox.h"
#include "store/pg.h"
#include "events/outage.h"
#include "events/relay.h"
#include "events/history.h"
#include "events/sink.h"

#define RELAY_GATHER_US 3000
/* The relay vacuums the outbox after this many deliveries, at most this often. */
#define VACUUM_AFTER_ROWS 2000
#define VACUUM_EVERY_MS 1000
/* After a failed pass (Redis or the database down), the next one comes this much later. */
#define RETRY_MS PAWL_OUTAGE_RETRY_MS
/* Trimming history: one bounded pass this often while there is nothing left over. */
#define HISTORY_TRIM_EVERY_MS 5000

static volatile sig_atomic_t relay_stop;
static volatile sig_atomic_t relay_reopen;

static void on_stop(int sig)
{
	(void)sig;
	relay_stop = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	relay_reopen = 1;
}

/* Empties the wake pipe: the pass that follows covers every byte read. */
static void drain_wakes(int fd)
{
	char buf[512];

	while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
		;
}

/* One delivery transaction's work: take every list's rows of some listeners, push them. */
struct delivery {
	struct pawl_pg *pg;
	struct pawl_arena *arena;
	const struct pawl_listener_set *ls;
	const struct pawl_outbox_due *due;
	struct pawl_outbox_batch *b;
	bool *failed;   /* per listener of due: its push failed */
	size_t n_failed;
};

/* The rows of b that are name's, into mine (arrays of b->n + 1 entries). */
static void rows_of(const struct pawl_outbox_batch *b, const char *name,
    struct pawl_outbox_batch *mine)
{
	size_t j;

	for (j = 0, mine->n = 0; j < b->n; j++)
		if (strcmp(b->listeners[j], name) == 0) {
			mine->payloads[mine->n] = b->payloads[j];
			mine->list_keys[mine->n] = b->list_keys[j];
			mine->ids[mine->n++] = b->ids[j];
		}
}

/*
 * Pushes a batch of several listeners' rows: each listener's in id order,
 * one script call each. A listener whose push fails is marked in d->failed
 * and the others are still pushed (their Redis has them at once); the
 * batch then fails, to be taken again without the failed ones.
 */
static enum pawl_err push_all(struct delivery *d, struct pawl_error *err)
{
	struct pawl_outbox_batch mine = { .locked = 1 };
	const struct pawl_outbox_batch *b = d->b;
	struct pawl_error first = { .code = PAWL_OK };
	size_t i;

	mine.payloads = pawl_arena_calloc(d->arena, b->n + 1, sizeof(*mine.payloads));
	mine.list_keys = pawl_arena_calloc(d->arena, b->n + 1, sizeof(*mine.list_keys));
	mine.ids = pawl_arena_calloc(d->arena, b->n + 1, sizeof(*mine.ids));
	if (mine.payloads == NULL || mine.list_keys == NULL || mine.ids == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < d->due->n_listeners; i++) {
		struct pawl_sink to;

		rows_of(b, d->due->listeners[i], &mine);
		if (mine.n == 0)
			continue;
		if (!pawl_sink_of(d->ls, d->due->listeners[i], &to))
			return pawl_error_set(err, PAWL_ERR_INTERNAL, "listener '%s' has no Redis",
			    d->due->listeners[i]);
		if (pawl_sink_push(&to, d->arena, &mine, err) != PAWL_OK) {
			d->failed[i] = true;
			d->n_failed++;
			if (first.code == PAWL_OK)
				first = *err;
		}
	}
	if (first.code != PAWL_OK)
		*err = first;
	return first.code;
}

static enum pawl_err take_and_push_all(void *ctx, struct pawl_error *err)
{
	struct delivery *d = ctx;
	enum pawl_err rc;

	if ((rc = pawl_outbox_take_all(d->pg, d->arena, d->due, d->b, err)) != PAWL_OK)
		return rc;
	return push_all(d, err);
}

/* Tells the service manager, when there is one (pawl_relay_serve). */
static void report(const struct pawl_relay_report *r, enum pawl_relay_event event)
{
	if (r != NULL && r->fn != NULL)
		r->fn(r->arg, event);
}

/* Drops the listeners d->failed marks from due (their rows wait for their retry). */
static void drop_failed(struct delivery *d, struct pawl_outbox_due *due, const char **names)
{
	size_t i, n = 0;

	for (i = 0; i < due->n_listeners; i++)
		if (!d->failed[i])
			names[n++] = due->listeners[i];
	due->listeners = names;
	due->n_listeners = n;
}

/*
 * Delivers the ready rows of due's listeners, batch by batch, each batch
 * taken, pushed and acknowledged in one transaction. When some listeners'
 * pushes fail, the batch is rolled back and taken again without them (what
 * the others' Redis already got is not added twice): one listener down
 * holds back its own rows only. PAWL_OK unless the database failed.
 */
static enum pawl_err deliver_group(const struct pawl_listener_set *ls, struct pawl_pg *pg,
    struct pawl_arena *arena, struct pawl_outbox_due *due, long *taken,
    const struct pawl_relay_report *r, struct pawl_error *err)
{
	struct pawl_outbox_batch b = { .n = 0 };
	const char **left = pawl_arena_calloc(arena, due->n_listeners + 1, sizeof(*left));

	if (left == NULL)
		return pawl_error_nomem(err);
	while (due->n_listeners > 0 && !relay_stop) {
		struct delivery d = { .pg = pg, .arena = arena, .ls = ls, .due = due, .b = &b,
		    .failed = pawl_arena_calloc(arena, due->n_listeners, sizeof(bool)) };
		long long start = pawl_clock_mono_ns();

		if (d.failed == NULL)
			return pawl_error_nomem(err);
		if (pawl_pg_transaction(pg, arena, PAWL_PG_TXN_NOWAIT, take_and_push_all, &d,
		    err) != PAWL_OK) {
			if (d.n_failed == 0)
				return err->code;
			drop_failed(&d, due, left);
			continue;
		}
		pawl_sink_count_delivered(&b, NULL, start);
		*taken += (long)b.n;
		report(r, PAWL_RELAY_ALIVE); /* a long backlog is progress, not a hang */
		if (b.n < (size_t)due->limit)
			break;
	}
	return PAWL_OK;
}

/* How a pass ended: everything delivered, some listener's rows left, or the database failed. */
enum pass { PASS_DONE, PASS_LEFT, PASS_FAILED };

/*
 * Whom a pass tries: the listeners delivering, together, then each one in
 * an outage whose retry is due, alone (its failure costs the others
 * nothing). One in an outage whose retry is not due waits.
 */
struct plan {
	const char **up;
	size_t n_up;
	const char **retry;
	size_t n_retry;
};

static bool plan_pass(const struct pawl_listener_set *ls, struct pawl_arena *arena,
    const char **names, size_t n, struct plan *p)
{
	long long now = pawl_clock_mono_ms();
	size_t i;

	p->up = pawl_arena_calloc(arena, n + 1, sizeof(*p->up));
	p->retry = pawl_arena_calloc(arena, n + 1, sizeof(*p->retry));
	p->n_up = p->n_retry = 0;
	if (p->up == NULL || p->retry == NULL)
		return false;
	for (i = 0; i < n; i++) {
		const struct pawl_outage *o = pawl_listener_set_outage(ls, names[i]);

		if (o == NULL || !o->down)
			p->up[p->n_up++] = names[i];
		else if (pawl_outage_due(o, now, RETRY_MS))
			p->retry[p->n_retry++] = names[i];
	}
	return true;
}

/* Whether one of the listeners is in an outage (its rows wait for a retry). */
static bool any_down(const struct pawl_listener_set *ls, const char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct pawl_outage *o = pawl_listener_set_outage(ls, names[i]);

		if (o != NULL && o->down)
			return true;
	}
	return false;
}

/*
 * One pass: a barrier, then the plan's groups, each batch of rows taken,
 * pushed and acknowledged in one transaction. PASS_LEFT when a listener is
 * in an outage (its rows stay for its retry), PASS_FAILED when the
 * database failed (everything stays, for the next pass).
 */
static enum pass relay_pass(const struct pawl_listener_set *ls, struct pawl_pg *pg,
    struct pawl_arena *arena, bool woken, long *taken, const struct pawl_relay_report *r)
{
	struct pawl_outbox_due due = { NULL, 1000, NULL, NULL, NULL, 0 };
	struct pawl_error err;
	struct plan p;
	const char **names;
	size_t n_names = 0, i;

	names = pawl_listener_set_durable_names(ls, arena, &n_names);
	if (names == NULL || n_names == 0)
		return names != NULL ? PASS_DONE : PASS_FAILED;
	/* A poll finds nothing as a rule: no barrier (a WAL write and a flush) for nothing. */
	if (!woken) {
		bool any;

		if (pawl_outbox_any(pg, arena, names, n_names, &any, &err) != PAWL_OK)
			goto failed;
		if (!any)
			return PASS_DONE;
	}
	if (pawl_outbox_barrier(pg, arena, &due.snapshot, &err) != PAWL_OK)
		goto failed;
	if (!plan_pass(ls, arena, names, n_names, &p)) {
		pawl_error_nomem(&err);
		goto failed;
	}
	due.listeners = p.up;
	due.n_listeners = p.n_up;
	if (deliver_group(ls, pg, arena, &due, taken, r, &err) != PAWL_OK)
		goto failed;
	for (i = 0; i < p.n_retry && !relay_stop; i++) {
		due.listeners = &p.retry[i];
		due.n_listeners = 1;
		if (deliver_group(ls, pg, arena, &due, taken, r, &err) != PAWL_OK)
			goto failed;
	}
	return any_down(ls, names, n_names) ? PASS_LEFT : PASS_DONE;
failed:
	/* The same line each time the database is down: log.c throttles it. */
	pawl_log_warn("relay: delivery failed, will retry: %s", err.message);
	return PASS_FAILED;
}

static void relay_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Trims history off the request path (README, "History"): one bounded pass
 * every HISTORY_TRIM_EVERY_MS, or at once after a pass that left work.
 */
static void trim_history(const struct pawl_config *cfg, struct pawl_pg *pg,
    struct pawl_arena *arena, struct pawl_history_trim *t)
{
	static long long last_ms;
	struct pawl_error err;

	if (!pawl_history_trims(cfg) ||
	    (!t->more && last_ms != 0 && pawl_clock_mono_ms() - last_ms < HISTORY_TRIM_EVERY_MS))
		return;
	last_ms = pawl_clock_mono_ms();
	if (pawl_history_trim_step(cfg, pg, arena, t, &err) != PAWL_OK) {
		pawl_log_warn("relay: history trimming: %s", err.message);
		t->more = false;
	} else if (t->removed > 0) {
		pawl_log_info("relay: history trimmed: %lld entries", t->removed);
	}
}

/* The relay's loop, until SIGTERM: wait for a wake-up, a NOTIFY or the poll, then a pass. */
static void relay_loop(const struct pawl_config *cfg, const struct pawl_listener_set *ls,
    struct pawl_pg *pg, struct pawl_arena *arena, int wake_fd, const struct pawl_relay_report *r)
{
	const char *poll_setting = pawl_config_get(cfg, "relay_poll_interval_ms");
	int wait_ms = 0, poll_ms = atoi(poll_setting ? poll_setting : "1000");
	long taken = 0;              /* rows delivered since the last VACUUM */
	long long vacuumed_ms = 0;
	struct pawl_history_trim trim = { .more = false };
	struct pawl_error err;

	/* The channel is re-listened after every reconnect; a first failure is retried below. */
	pawl_pg_listen(pg, "pawl_outbox", &err);
	while (!relay_stop) {
		bool notified = false, ok;
		enum pass pass;

		report(r, PAWL_RELAY_ALIVE);
		if (r != NULL && r->alive_ms > 0 && wait_ms > r->alive_ms)
			wait_ms = r->alive_ms;
		if (relay_reopen) {
			relay_reopen = 0;
			pawl_log_reopen();
		}
		if (pawl_pg_wait(pg, wake_fd, wait_ms, &notified, &err) != PAWL_OK) {
			wait_ms = 0;
			usleep(500000); /* the database is down: retry soon, not in a spin */
			continue;
		}
		/*
		 * Woken by a worker: let the commits of the next millisecond join
		 * this pass. Under load a pass then carries tens of events per round
		 * trip instead of one or two, for a millisecond of latency.
		 */
		if (notified && wake_fd >= 0)
			usleep(RELAY_GATHER_US);
		drain_wakes(wake_fd);
		pass = relay_pass(ls, pg, arena, notified, &taken, r);
		/* The database answered: a listener's outage must not stop the upkeep. */
		ok = pass != PASS_FAILED;
		if (ok && taken >= VACUUM_AFTER_ROWS &&
		    pawl_clock_mono_ms() - vacuumed_ms >= VACUUM_EVERY_MS) {
			if (pawl_outbox_vacuum(pg, &err) != PAWL_OK)
				pawl_log_warn("relay: VACUUM outbox: %s", err.message);
			taken = 0;
			vacuumed_ms = pawl_clock_mono_ms();
		}
		if (ok)
			trim_history(cfg, pg, arena, &trim);
		pawl_arena_reset(arena);
		/* After a failure retry after a second; otherwise sleep until woken or polled. */
		wait_ms = pass == PASS_DONE ? poll_ms : RETRY_MS;
		if (ok && trim.more)
			wait_ms = 0;
	}
}

int pawl_relay_run(const struct pawl_config *cfg, int wake_fd)
{
	return pawl_relay_serve(cfg, wake_fd, NULL);
}

int pawl_relay_serve(const struct pawl_config *cfg, int wake_fd,
    const struct pawl_relay_report *r)
{
	struct pawl_subscribers *reg = pawl_subscribers_new();
	struct pawl_listener_set *ls = NULL;
	struct pawl_pg *pg = pawl_pg_new(cfg);
	struct pawl_arena *arena = pawl_arena_new(64 * 1024);
	struct pawl_error err;
	int status = 1;

	relay_signals();
	if (reg == NULL || pg == NULL || arena == NULL ||
	    (ls = pawl_listener_set_new(cfg, reg, &err)) == NULL) {
		pawl_log_error("relay: %s", reg && pg && arena ? err.message : "out of memory");
		goto out;
	}
	pawl_log_info("relay: started");
	report(r, PAWL_RELAY_READY);
	relay_loop(cfg, ls, pg, arena, wake_fd, r);
	report(r, PAWL_RELAY_STOPPING);
	status = 0;
	pawl_log_info("relay: stopped");
out:
	pawl_listener_set_free(ls);
	pawl_subscribers_free(reg);
	pawl_arena_free(arena);
	pawl_pg_free(pg);
	return status;
}

