/*
 * Outbox delivery: the relay loop (woken by the workers' pipe under the
 * supervisor, by LISTEN pawl_outbox, and by a poll interval), and the fast
 * path a worker running alone takes after its response is sent. Never
 * deletes a row before Redis accepted it: the DELETE and the push share one
 * transaction.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "events/subscribers.h"
#include "store/outbox.h"
#include "store/pg.h"
#include "events/redis.h"
#include "events/relay.h"
#include "events/history.h"

#define RELAY_GATHER_US 3000
/* The relay vacuums the outbox after this many deliveries, at most this often. */
#define VACUUM_AFTER_ROWS 2000
#define VACUUM_EVERY_MS 1000
/* After a failed pass (Redis or the database down), the next one comes this much later. */
#define RETRY_MS 1000
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

/*
 * A row's place in its list's order for the append script: its event's
 * timestamp, then its outbox id, as one string whose byte order is that
 * order (two zero-padded numbers); NULL for a read event. Both follow commit
 * order within a list (one writer of a list at a time, timestamps strictly
 * increasing). The timestamp comes first so that a database restored from a
 * backup, whose outbox ids start again lower, still gets its new events
 * through: they are timestamped later than anything pushed before. Reads get
 * their rows after the response, outside any list lock (worker.c), so they
 * follow no order and keep no mark. The payload is pawl's own (stage.c):
 * its first "action":" and "timestamp": are the top-level keys, since a quote
 * inside a JSON string is always escaped.
 */
static const char *order_of(struct pawl_arena *arena, const char *payload, long long id)
{
	const char *a = strstr(payload, "\"action\":\""), *t = strstr(payload, "\"timestamp\":");
	long long ts = t != NULL ? strtoll(t + 12, NULL, 10) : 0;

	if (a != NULL && strncmp(a + 10, "read\"", 5) == 0)
		return NULL;
	return pawl_arena_printf(arena, "%020lld%020lld", ts > 0 ? ts : 0, id > 0 ? id : 0);
}

/* Where a listener's rows go: its Redis and the list there; its counters' slot. */
struct sink {
	const char *name; /* the listener's alias */
	struct pawl_redis *redis;
	const char *listname;
	int slot;
	const struct pawl_listener_config *cfg; /* its type, for a stream its bounds */
};

const char *pawl_relay_stream_key(struct pawl_arena *arena, const char *listname,
    bool per_bucket, const char *list_key)
{
	const char *id = list_key, *end;

	if (!per_bucket || strncmp(list_key, "/buckets/", 9) != 0)
		return listname;
	id += 9;
	end = id + strcspn(id, "/ ");
	if (end == id)
		return listname;
	return pawl_arena_printf(arena, "%s.%.*s", listname, (int)(end - id), id);
}

/*
 * A stream listener's rows: one script call per stream key, each with its
 * rows in id order (a list's rows all share a bucket, so a list's order is
 * kept inside its stream).
 */
static enum pawl_err push_stream(const struct sink *to, struct pawl_arena *arena,
    const struct pawl_outbox_batch *rows, const char **order, struct pawl_error *err)
{
	const char **keys = pawl_arena_calloc(arena, rows->n + 1, sizeof(*keys));
	const char **lists = pawl_arena_calloc(arena, rows->n + 1, sizeof(*lists));
	const char **ord = pawl_arena_calloc(arena, rows->n + 1, sizeof(*ord));
	const char **pay = pawl_arena_calloc(arena, rows->n + 1, sizeof(*pay));
	bool *done = pawl_arena_calloc(arena, rows->n + 1, sizeof(*done));
	size_t i, j, n, appended;

	if (keys == NULL || lists == NULL || ord == NULL || pay == NULL || done == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < rows->n; i++)
		if ((keys[i] = pawl_relay_stream_key(arena, to->listname, to->cfg->stream_per_bucket,
		    rows->list_keys[i])) == NULL)
			return pawl_error_nomem(err);
	for (i = 0; i < rows->n; i++) {
		if (done[i])
			continue;
		for (j = i, n = 0; j < rows->n; j++) {
			if (done[j] || strcmp(keys[j], keys[i]) != 0)
				continue;
			done[j] = true;
			lists[n] = rows->list_keys[j];
			ord[n] = order[j];
			pay[n++] = rows->payloads[j];
		}
		if (pawl_redis_stream_append(to->redis, keys[i], to->cfg->maxlen,
		    &(struct pawl_redis_events){ n, lists, ord, pay }, &appended, err) != PAWL_OK)
			return err->code;
	}
	return PAWL_OK;
}

static bool is_stream(const struct sink *to)
{
	return to->cfg != NULL && to->cfg->type != NULL && strcmp(to->cfg->type, "stream") == 0;
}

/* What a failed push was about, for its event.delivery_failed line. */
struct failure {
	const char *listener; /* NULL: no push failed (the database step did) */
	long long first_id;   /* the batch's first outbox row */
	size_t rows;
};

/*
 * One line per failed push, whoever tried it (the relay, or a worker alone
 * after its response). attempt: 1 for the first failure in a row of this
 * process's tries, counting up until one succeeds. The reason is pawl's own
 * message (Redis's or libpq's error text), never the listener's URL.
 */
static void log_failure(const struct failure *f, long attempt, const struct pawl_error *err)
{
	const struct pawl_log_field fields[] = {
		PAWL_LOG_S("listener", f->listener),
		PAWL_LOG_I("outbox_id", f->first_id),
		PAWL_LOG_I("rows", f->rows),
		PAWL_LOG_I("attempt", attempt),
		PAWL_LOG_S("reason", err->message),
	};

	pawl_log_fields(PAWL_LOG_WARN, "event.delivery_failed", fields,
	    sizeof(fields) / sizeof(fields[0]),
	    "delivery to listener '%s' failed; its rows stay in the outbox for the next attempt",
	    f->listener);
}

/* Appends rows (in id order) to the sink's list: idempotent, see pawl_redis_append. */
static enum pawl_err push(const struct sink *to, struct pawl_arena *arena,
    const struct pawl_outbox_batch *rows, struct failure *fail, struct pawl_error *err)
{
	const char **order = pawl_arena_calloc(arena, rows->n + 1, sizeof(*order));
	size_t i, appended;
	enum pawl_err rc;

	if (order == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < rows->n; i++)
		order[i] = order_of(arena, rows->payloads[i], rows->ids[i]);
	if (is_stream(to))
		rc = push_stream(to, arena, rows, order, err);
	else
		rc = pawl_redis_append(to->redis, to->listname, &(struct pawl_redis_events){ rows->n,
		    (const char *const *)rows->list_keys, order, (const char *const *)rows->payloads },
		    &appended, err);
	if (rc != PAWL_OK) {
		pawl_metrics_redis_error(to->slot);
		*fail = (struct failure){ to->name, rows->n > 0 ? rows->ids[0] : 0, rows->n };
	}
	return rc;
}

/*
 * After a delivery's COMMIT: its rows count as delivered, each with its
 * delay from the outbox insert (which travelled with the write's COMMIT):
 * the age the database measured when it took the row, plus the time here
 * since the take was sent -- no clock of two machines is compared.
 */
static void count_delivered(const struct pawl_outbox_batch *b, const struct sink *to,
    long long taken_ns)
{
	long long since = pawl_clock_mono_ns() - taken_ns;
	size_t i;
	int slot = to != NULL ? to->slot : -1;

	for (i = 0; i < b->n && pawl_metrics_bound() != NULL; i++) {
		if (to == NULL)
			slot = pawl_metrics_listener_slot(b->listeners[i]);
		pawl_metrics_delivered(slot, 1);
		pawl_metrics_delivery_latency(slot, (long long)(b->ages[i] * 1e9) + since);
	}
}

/* One delivery transaction's work: take rows under the list lock, push them. */
struct delivery {
	struct pawl_pg *pg;
	struct pawl_arena *arena;
	const struct sink *to;              /* one listener's (deliver_batch) */
	const struct pawl_listener_set *ls; /* every listener's (relay_pass) */
	const struct pawl_outbox_due *due;
	struct pawl_outbox_batch *b;
	struct failure *fail;               /* set when a push failed */
};

static enum pawl_err take_and_push(void *ctx, struct pawl_error *err)
{
	struct delivery *d = ctx;
	enum pawl_err rc;

	if ((rc = pawl_outbox_take(d->pg, d->arena, d->due, d->b, err)) != PAWL_OK || d->b->n == 0)
		return rc;
	return push(d->to, d->arena, d->b, d->fail, err);
}

/* Losing a delivery's DELETE in a crash only pushes the rows again (at least once). */
static enum pawl_err deliver_batch(const struct sink *to, struct pawl_pg *pg,
    struct pawl_arena *arena, const struct pawl_outbox_due *due, struct pawl_outbox_batch *b,
    struct failure *fail, struct pawl_error *err)
{
	struct delivery d = { .pg = pg, .arena = arena, .to = to, .due = due, .b = b, .fail = fail };
	long long start = pawl_clock_mono_ns();
	enum pawl_err rc = pawl_pg_transaction(pg, arena, PAWL_PG_TXN_NOWAIT, take_and_push, &d, err);

	if (rc == PAWL_OK)
		count_delivered(b, to, start);
	return rc;
}

enum pawl_err pawl_relay_deliver(const struct pawl_listener_set *ls, struct pawl_pg *pg,
    struct pawl_arena *arena, const struct pawl_outbox_due *due, bool *busy,
    struct pawl_error *err)
{
	struct sink to = { due->listener, NULL, NULL, -1,
		pawl_listener_set_config(ls, due->listener) };
	struct failure fail = { NULL, 0, 0 };
	struct pawl_outbox_batch b;
	enum pawl_err rc;

	*busy = false;
	to.redis = pawl_listener_set_redis(ls, due->listener, &to.listname);
	to.slot = pawl_metrics_listener_slot(due->listener);
	if (to.redis == NULL) {
		/* Rows of a listener that is no longer configured wait, visibly, in the heartbeat. */
		return PAWL_OK;
	}
	do {
		rc = deliver_batch(&to, pg, arena, due, &b, &fail, err);
		if (rc != PAWL_OK) {
			/* A worker alone tries once; the relay's later passes count on. */
			if (fail.listener != NULL)
				log_failure(&fail, 1, err);
			return rc;
		}
		if (!b.locked) {
			*busy = true;
			return PAWL_OK;
		}
	} while (b.n == (size_t)due->limit);
	return PAWL_OK;
}

struct pair {
	const char *listener;
	const char *list_key;
};

/* The distinct (durable listener, list) pairs the stage's events go to. */
static struct pair *pairs_of(const struct pawl_listener_set *ls, struct pawl_arena *arena,
    const struct pawl_stage *st, size_t *count)
{
	size_t i, j, k, n = 0, cap = 0;
	struct pair *pairs = NULL;

	for (i = 0; i < pawl_stage_count(st); i++) {
		const struct pawl_event *ev = pawl_stage_event(st, i);
		const char **names = pawl_listener_set_durable_for(ls, arena, ev);

		for (j = 0; names != NULL && names[j] != NULL; j++) {
			for (k = 0; k < n; k++)
				if (strcmp(pairs[k].listener, names[j]) == 0 &&
				    strcmp(pairs[k].list_key, pawl_event_list_key(ev)) == 0)
					break;
			if (k < n)
				continue;
			if (n == cap) {
				struct pair *fresh = pawl_arena_alloc(arena, (cap ? cap * 2 : 8) * sizeof(*fresh));

				if (fresh == NULL)
					break;
				if (n)
					memcpy(fresh, pairs, n * sizeof(*fresh));
				pairs = fresh;
				cap = cap ? cap * 2 : 8;
			}
			pairs[n].listener = names[j];
			pairs[n].list_key = pawl_event_list_key(ev);
			n++;
		}
	}
	*count = n;
	return pairs;
}

void pawl_relay_after_commit(const struct pawl_listener_set *ls, struct pawl_pg *pg,
    struct pawl_arena *arena, const struct pawl_stage *st)
{
	struct pawl_error err;
	struct pair *pairs;
	const char *snapshot = NULL;
	size_t n = 0, i;
	bool leftover = false;

	if (st == NULL || pawl_stage_count(st) == 0 || !pawl_listener_set_any_durable(ls))
		return;
	pairs = pairs_of(ls, arena, st, &n);
	if (n > 0 && pawl_outbox_barrier(pg, arena, &snapshot, &err) != PAWL_OK)
		leftover = true;
	for (i = 0; snapshot != NULL && i < n; i++) {
		bool busy;

		struct pawl_outbox_due due = { snapshot, 500, pairs[i].listener, pairs[i].list_key,
		    NULL, 0 };

		if (pawl_relay_deliver(ls, pg, arena, &due, &busy, &err) != PAWL_OK || busy)
			leftover = true;
	}
	if (leftover && pawl_outbox_wake(pg, arena, &err) != PAWL_OK)
		pawl_log_warn("could not wake the relay: %s", err.message);
}

void pawl_relay_wake(const struct pawl_listener_set *ls, const struct pawl_stage *st, int wake_fd)
{
	size_t i;

	for (i = 0; i < pawl_stage_count(st); i++) {
		const struct pawl_event *ev = pawl_stage_event(st, i);

		if (pawl_listener_set_wanted(ls, pawl_event_action(ev), pawl_event_resource_name(ev))) {
			/* EAGAIN: the pipe is full of wake-ups the relay has yet to read. */
			if (write(wake_fd, "w", 1) < 0 && errno != EAGAIN && errno != EINTR)
				pawl_log_warn("could not wake the relay: %s", strerror(errno));
			return;
		}
	}
}

/* Empties the wake pipe: the pass that follows covers every byte read. */
static void drain_wakes(int fd)
{
	char buf[512];

	while (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
		;
}

/* Pushes a batch of several listeners' rows: each listener's in id order, one script call each. */
static enum pawl_err push_all(const struct pawl_listener_set *ls, struct pawl_arena *arena,
    const char *const *names, size_t n_names, const struct pawl_outbox_batch *b,
    struct failure *fail, struct pawl_error *err)
{
	struct pawl_outbox_batch mine = { .locked = 1 };
	size_t i, j;
	enum pawl_err rc;

	mine.payloads = pawl_arena_calloc(arena, b->n + 1, sizeof(*mine.payloads));
	mine.list_keys = pawl_arena_calloc(arena, b->n + 1, sizeof(*mine.list_keys));
	mine.ids = pawl_arena_calloc(arena, b->n + 1, sizeof(*mine.ids));
	if (mine.payloads == NULL || mine.list_keys == NULL || mine.ids == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < n_names; i++) {
		struct sink to = { names[i], NULL, NULL, -1, pawl_listener_set_config(ls, names[i]) };

		to.redis = pawl_listener_set_redis(ls, names[i], &to.listname);
		to.slot = pawl_metrics_listener_slot(names[i]);
		for (j = 0, mine.n = 0; j < b->n; j++)
			if (strcmp(b->listeners[j], names[i]) == 0) {
				mine.payloads[mine.n] = b->payloads[j];
				mine.list_keys[mine.n] = b->list_keys[j];
				mine.ids[mine.n++] = b->ids[j];
			}
		if (mine.n > 0 && to.redis == NULL)
			return pawl_error_set(err, PAWL_ERR_INTERNAL, "listener '%s' has no Redis", names[i]);
		if (mine.n > 0 && (rc = push(&to, arena, &mine, fail, err)) != PAWL_OK)
			return rc;
	}
	return PAWL_OK;
}

static enum pawl_err take_and_push_all(void *ctx, struct pawl_error *err)
{
	struct delivery *d = ctx;
	enum pawl_err rc;

	if ((rc = pawl_outbox_take_all(d->pg, d->arena, d->due, d->b, err)) != PAWL_OK)
		return rc;
	return push_all(d->ls, d->arena, d->due->listeners, d->due->n_listeners, d->b, d->fail, err);
}

/* Tells the service manager, when there is one (pawl_relay_serve). */
static void report(const struct pawl_relay_report *r, enum pawl_relay_event event)
{
	if (r != NULL && r->fn != NULL)
		r->fn(r->arg, event);
}

/*
 * One pass: a barrier, then batches of every list's ready rows, each batch
 * taken, pushed and acknowledged in one transaction. False when something
 * failed (the rows stay, for the next pass); attempt: this pass's number in
 * a run of failed ones, for the log.
 */
static bool relay_pass(const struct pawl_listener_set *ls, struct pawl_pg *pg,
    struct pawl_arena *arena, bool woken, long attempt, long *taken,
    const struct pawl_relay_report *r)
{
	struct pawl_outbox_batch b;
	struct failure fail = { NULL, 0, 0 };
	struct pawl_error err;
	struct pawl_outbox_due due = { NULL, 1000, NULL, NULL, NULL, 0 };
	const char **names;
	size_t n_names = 0;

	names = pawl_listener_set_durable_names(ls, arena, &n_names);
	if (names == NULL || n_names == 0)
		return names != NULL;
	due.listeners = names;
	due.n_listeners = n_names;
	/* A poll finds nothing as a rule: no barrier (a WAL write and a flush) for nothing. */
	if (!woken) {
		bool any;

		if (pawl_outbox_any(pg, arena, names, n_names, &any, &err) != PAWL_OK)
			goto failed;
		if (!any)
			return true;
	}
	if (pawl_outbox_barrier(pg, arena, &due.snapshot, &err) != PAWL_OK)
		goto failed;
	do {
		struct delivery d = { .pg = pg, .arena = arena, .ls = ls, .due = &due, .b = &b,
		    .fail = &fail };
		long long start = pawl_clock_mono_ns();

		if (pawl_pg_transaction(pg, arena, PAWL_PG_TXN_NOWAIT, take_and_push_all, &d,
		    &err) != PAWL_OK)
			goto failed;
		count_delivered(&b, NULL, start);
		*taken += (long)b.n;
		report(r, PAWL_RELAY_ALIVE); /* a long backlog is progress, not a hang */
	} while (b.n == (size_t)due.limit && !relay_stop);
	return true;
failed:
	/* A database failure before any push is the same line each time: throttled. */
	if (fail.listener != NULL)
		log_failure(&fail, attempt, &err);
	else
		pawl_log_warn("relay: delivery failed, will retry: %s", err.message);
	return false;
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
	long failed = 0;             /* passes failed in a row */
	long long vacuumed_ms = 0;
	struct pawl_history_trim trim = { .more = false };
	struct pawl_error err;

	/* The channel is re-listened after every reconnect; a first failure is retried below. */
	pawl_pg_listen(pg, "pawl_outbox", &err);
	while (!relay_stop) {
		bool notified = false, ok;

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
		ok = relay_pass(ls, pg, arena, notified, failed + 1, &taken, r);
		failed = ok ? 0 : failed + 1;
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
		wait_ms = ok ? poll_ms : RETRY_MS;
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
