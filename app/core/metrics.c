/*
 * The counters' layout and the only code that writes them. Every update is
 * one relaxed atomic addition on a 64-bit word of the shared block: no lock,
 * no system call, nothing a request could wait on. The block never holds a
 * pointer (each process maps it at its own address) nor anything a request
 * carries beyond the bounded label sets: no user, record or bucket id.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/metrics.h"

/* Bumped whenever the layout below changes (3: the permissions route): a file of another layout is refused. */
#define LAYOUT_VERSION 3
#define MAGIC 0x7061776c6d657472ULL /* "pawlmetr": a zero-filled file has no magic */

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free to be shared");
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "32-bit atomics must be lock-free to be shared");

typedef _Atomic unsigned long long counter;

struct hist {
	counter bucket[PAWL_METRICS_BUCKETS + 1];
	counter sum_ns;
};

enum { SLOT_FREE, SLOT_CLAIMING, SLOT_READY };

struct slot {
	_Atomic unsigned state;
	char name[PAWL_METRICS_NAME_MAX]; /* written once, before state turns READY */
	counter staged, delivered, redis_errors, master_switches;
	struct hist delivery;
};

struct pawl_metrics_segment {
	_Atomic unsigned long long magic; /* written last, when the rest is ready */
	unsigned version;
	unsigned size;
	counter requests[PAWL_METRICS_ROUTES][PAWL_METRICS_METHODS][PAWL_METRICS_CODES];
	struct hist latency[PAWL_METRICS_ROUTES][PAWL_METRICS_METHODS];
	counter db_statements;
	struct hist db_time;
	counter db_errors[PAWL_METRICS_DB_ERRORS];
	counter committed, rolled_back;
	counter worker_restarts, relay_restarts;
	struct slot slots[PAWL_METRICS_SLOTS];
};

/*
 * The one process-wide handle besides the logger's: set once before the
 * process serves (or forked with it), then only read. Threading it through
 * every layer that counts (store, txn, events, the worker, the supervisor)
 * would change a dozen signatures for a pointer that never changes.
 */
static struct pawl_metrics_segment *bound;
static bool bound_shared;

/* Upper bounds in nanoseconds and as written in `le`, 100 µs to a minute. */
static const struct {
	long long ns;
	const char *text;
} bounds[PAWL_METRICS_BUCKETS] = {
	{ 100000LL, "0.0001" }, { 250000LL, "0.00025" }, { 500000LL, "0.0005" },
	{ 1000000LL, "0.001" }, { 2500000LL, "0.0025" }, { 5000000LL, "0.005" },
	{ 10000000LL, "0.01" }, { 25000000LL, "0.025" }, { 50000000LL, "0.05" },
	{ 100000000LL, "0.1" }, { 250000000LL, "0.25" }, { 500000000LL, "0.5" },
	{ 1000000000LL, "1" }, { 2500000000LL, "2.5" }, { 5000000000LL, "5" },
	{ 10000000000LL, "10" }, { 30000000000LL, "30" }, { 60000000000LL, "60" },
};

static const struct {
	unsigned bit;
	const char *name;
} methods[PAWL_METRICS_METHODS] = {
	{ PAWL_METHOD_GET, "GET" }, { PAWL_METHOD_HEAD, "HEAD" }, { PAWL_METHOD_POST, "POST" },
	{ PAWL_METHOD_PUT, "PUT" }, { PAWL_METHOD_PATCH, "PATCH" },
	{ PAWL_METHOD_DELETE, "DELETE" }, { PAWL_METHOD_OPTIONS, "OPTIONS" }, { 0, "other" },
};

/* What pawl itself answers (core/err.c's reasons); the last, 0, is "other". */
static const int codes[PAWL_METRICS_CODES] = {
	200, 201, 202, 204, 301, 302, 304, 307, 400, 401, 403, 404, 405, 406, 409, 410, 411,
	412, 413, 415, 429, 500, 501, 502, 503, 504, 0,
};

static const char *const routes[PAWL_METRICS_ROUTES] = {
	[PAWL_ROUTE_HELLO] = "hello", [PAWL_ROUTE_HEARTBEAT] = "heartbeat",
	[PAWL_ROUTE_LBHEARTBEAT] = "lbheartbeat", [PAWL_ROUTE_VERSION] = "version",
	[PAWL_ROUTE_BATCH] = "batch", [PAWL_ROUTE_LIST] = "list", [PAWL_ROUTE_ITEM] = "item",
	[PAWL_ROUTE_METRICS] = "metrics",
	[PAWL_ROUTE_PERMISSIONS] = "permissions", [PAWL_METRICS_ROUTE_NONE] = "none",
};

static const char *const db_errors[PAWL_METRICS_DB_ERRORS] = {
	"timeout", "unavailable", "conflict", "refused", "internal",
};

size_t pawl_metrics_segment_size(void)
{
	return sizeof(struct pawl_metrics_segment);
}

enum pawl_err pawl_metrics_segment_init(void *mem, size_t size, struct pawl_error *err)
{
	struct pawl_metrics_segment *seg = mem;

	if (size != sizeof(*seg))
		return pawl_error_set(err, PAWL_ERR_INVALID, "a metrics block is %zu bytes, not %zu",
		    sizeof(*seg), size);
	if (atomic_load_explicit(&seg->magic, memory_order_acquire) != 0)
		return pawl_error_set(err, PAWL_ERR_INVALID, "the block is stamped already");
	seg->version = LAYOUT_VERSION;
	seg->size = (unsigned)sizeof(*seg);
	atomic_store_explicit(&seg->magic, MAGIC, memory_order_release);
	return PAWL_OK;
}

enum pawl_err pawl_metrics_segment_check(const void *mem, size_t size, struct pawl_error *err)
{
	const struct pawl_metrics_segment *seg = mem;

	if (size < sizeof(*seg))
		return pawl_error_set(err, PAWL_ERR_INVALID, "it holds %zu bytes, this pawl needs %zu",
		    size, sizeof(*seg));
	if (atomic_load_explicit(&seg->magic, memory_order_acquire) != MAGIC)
		return pawl_error_set(err, PAWL_ERR_INVALID, "it is not a pawl metrics block");
	if (seg->version != LAYOUT_VERSION || seg->size != sizeof(*seg) || size != sizeof(*seg))
		return pawl_error_set(err, PAWL_ERR_INVALID, "it holds layout %u of %u bytes, this "
		    "pawl uses layout %u of %zu bytes", seg->version, seg->size, LAYOUT_VERSION,
		    sizeof(*seg));
	return PAWL_OK;
}

void pawl_metrics_bind(struct pawl_metrics_segment *seg, bool shared)
{
	bound = seg;
	bound_shared = seg != NULL && shared;
}

struct pawl_metrics_segment *pawl_metrics_bound(void)
{
	return bound;
}

static void add(counter *c, unsigned long long n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static void observe(struct hist *h, long long ns)
{
	size_t i = 0;

	if (ns < 0)
		ns = 0;
	while (i < PAWL_METRICS_BUCKETS && ns > bounds[i].ns)
		i++;
	add(&h->bucket[i], 1);
	add(&h->sum_ns, (unsigned long long)ns);
}

static size_t method_index(unsigned bit)
{
	size_t i;

	for (i = 0; i < PAWL_METRICS_METHODS - 1 && methods[i].bit != bit; i++)
		;
	return i;
}

static size_t code_index(int status)
{
	size_t i;

	for (i = 0; i < PAWL_METRICS_CODES - 1 && codes[i] != status; i++)
		;
	return i;
}

void pawl_metrics_request(unsigned kind, unsigned method_bit, int status, long long ns)
{
	size_t m;

	if (bound == NULL)
		return;
	if (kind >= PAWL_METRICS_ROUTES)
		kind = PAWL_METRICS_ROUTE_NONE;
	m = method_index(method_bit);
	add(&bound->requests[kind][m][code_index(status)], 1);
	observe(&bound->latency[kind][m], ns);
}

void pawl_metrics_db_round_trip(int statements, long long ns)
{
	if (bound == NULL)
		return;
	add(&bound->db_statements, statements > 0 ? (unsigned long long)statements : 0);
	observe(&bound->db_time, ns);
}

void pawl_metrics_db_error(enum pawl_err code)
{
	size_t kind;

	if (bound == NULL || code == PAWL_OK)
		return;
	switch (code) {
	case PAWL_ERR_TIMEOUT: kind = PAWL_METRICS_DB_TIMEOUT; break;
	case PAWL_ERR_BACKEND: kind = PAWL_METRICS_DB_UNAVAILABLE; break;
	case PAWL_ERR_CONFLICT: kind = PAWL_METRICS_DB_CONFLICT; break;
	case PAWL_ERR_INTERNAL: case PAWL_ERR_NOMEM: kind = PAWL_METRICS_DB_INTERNAL; break;
	default: kind = PAWL_METRICS_DB_REFUSED; break;
	}
	add(&bound->db_errors[kind], 1);
}

void pawl_metrics_txn(bool committed)
{
	if (bound != NULL)
		add(committed ? &bound->committed : &bound->rolled_back, 1);
}

void pawl_metrics_restart(bool relay)
{
	if (bound != NULL)
		add(relay ? &bound->relay_restarts : &bound->worker_restarts, 1);
}

/* Waits (bounded) for a slot another process is naming; its state after. */
static unsigned settled(struct slot *s)
{
	const struct timespec pause = { 0, 100000 };
	unsigned st;
	int i;

	for (i = 0; (st = atomic_load_explicit(&s->state, memory_order_acquire)) == SLOT_CLAIMING &&
	    i < 10000; i++)
		nanosleep(&pause, NULL);
	return st;
}

/*
 * Open addressing from the name's hash: two processes claiming one name walk
 * the same slots in the same order, so the loser of a slot's compare-and-swap
 * finds the winner's name there. Only a process killed mid-claim (a few
 * stores) leaves a slot CLAIMING; the next claim walks past it after 1 s.
 */
int pawl_metrics_listener_slot(const char *name)
{
	size_t len = strlen(name), i, start;
	unsigned long h = 5381;
	const char *p;

	if (bound == NULL)
		return -1;
	if (len == 0 || len >= PAWL_METRICS_NAME_MAX)
		return PAWL_METRICS_LISTENERS;
	for (p = name; *p != '\0'; p++)
		h = h * 33 + (unsigned char)*p;
	start = h % PAWL_METRICS_LISTENERS;
	for (i = 0; i < PAWL_METRICS_LISTENERS; i++) {
		struct slot *s = &bound->slots[(start + i) % PAWL_METRICS_LISTENERS];
		unsigned st = SLOT_FREE;

		if (atomic_compare_exchange_strong_explicit(&s->state, &st, SLOT_CLAIMING,
		    memory_order_acquire, memory_order_acquire)) {
			memcpy(s->name, name, len + 1);
			atomic_store_explicit(&s->state, SLOT_READY, memory_order_release);
			return (int)((start + i) % PAWL_METRICS_LISTENERS);
		}
		if (settled(s) == SLOT_READY && strncmp(s->name, name, sizeof(s->name)) == 0)
			return (int)((start + i) % PAWL_METRICS_LISTENERS);
	}
	return PAWL_METRICS_LISTENERS;
}

static struct slot *slot_at(int slot)
{
	return bound != NULL && slot >= 0 && slot < PAWL_METRICS_SLOTS ? &bound->slots[slot] : NULL;
}

void pawl_metrics_staged(int slot, uint64_t n)
{
	struct slot *s = slot_at(slot);

	if (s != NULL)
		add(&s->staged, n);
}

void pawl_metrics_delivered(int slot, uint64_t n)
{
	struct slot *s = slot_at(slot);

	if (s != NULL)
		add(&s->delivered, n);
}

void pawl_metrics_redis_error(int slot)
{
	struct slot *s = slot_at(slot);

	if (s != NULL)
		add(&s->redis_errors, 1);
}

void pawl_metrics_redis_master_switch(int slot)
{
	struct slot *s = slot_at(slot);

	if (s != NULL)
		add(&s->master_switches, 1);
}

void pawl_metrics_delivery_latency(int slot, long long ns)
{
	struct slot *s = slot_at(slot);

	if (s != NULL)
		observe(&s->delivery, ns);
}

/* --- reading ------------------------------------------------------------------ */

static uint64_t get(const counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void read_hist(const struct hist *h, struct pawl_metrics_hist *out)
{
	size_t i;

	for (i = 0; i <= PAWL_METRICS_BUCKETS; i++)
		out->bucket[i] = get(&h->bucket[i]);
	out->sum_ns = get(&h->sum_ns);
}

static bool read_slot(const struct slot *s, struct pawl_metrics_listener *out, bool overflow)
{
	if (!overflow && atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_READY)
		return false;
	memset(out, 0, sizeof(*out));
	if (!overflow)
		memcpy(out->name, s->name, sizeof(out->name) - 1);
	out->staged = get(&s->staged);
	out->delivered = get(&s->delivered);
	out->redis_errors = get(&s->redis_errors);
	out->master_switches = get(&s->master_switches);
	read_hist(&s->delivery, &out->delivery);
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct pawl_metrics_listener *)a)->name,
	    ((const struct pawl_metrics_listener *)b)->name);
}

void pawl_metrics_read(const struct pawl_metrics_segment *seg, struct pawl_metrics_snapshot *out)
{
	size_t r, m, c, i;

	memset(out, 0, sizeof(*out));
	for (r = 0; r < PAWL_METRICS_ROUTES; r++)
		for (m = 0; m < PAWL_METRICS_METHODS; m++) {
			for (c = 0; c < PAWL_METRICS_CODES; c++)
				out->requests[r][m][c] = get(&seg->requests[r][m][c]);
			read_hist(&seg->latency[r][m], &out->latency[r][m]);
		}
	out->db_statements = get(&seg->db_statements);
	read_hist(&seg->db_time, &out->db_time);
	for (i = 0; i < PAWL_METRICS_DB_ERRORS; i++)
		out->db_errors[i] = get(&seg->db_errors[i]);
	out->committed = get(&seg->committed);
	out->rolled_back = get(&seg->rolled_back);
	out->worker_restarts = get(&seg->worker_restarts);
	out->relay_restarts = get(&seg->relay_restarts);
	for (i = 0; i < PAWL_METRICS_LISTENERS; i++)
		if (read_slot(&seg->slots[i], &out->listeners[out->n_listeners], false))
			out->n_listeners++;
	qsort(out->listeners, out->n_listeners, sizeof(out->listeners[0]), by_name);
	read_slot(&seg->slots[PAWL_METRICS_LISTENERS], &out->listeners[out->n_listeners++], true);
	out->shared = seg == bound && bound_shared;
}

/* --- labels ------------------------------------------------------------------- */

const char *pawl_metrics_method_name(size_t i)
{
	return i < PAWL_METRICS_METHODS ? methods[i].name : "other";
}

int pawl_metrics_code_at(size_t i)
{
	return i < PAWL_METRICS_CODES ? codes[i] : 0;
}

const char *pawl_metrics_route_name(size_t kind)
{
	return kind < PAWL_METRICS_ROUTES && routes[kind] != NULL ? routes[kind] : "none";
}

const char *pawl_metrics_db_error_name(size_t i)
{
	return i < PAWL_METRICS_DB_ERRORS ? db_errors[i] : "internal";
}

const char *pawl_metrics_bound_text(size_t i)
{
	return i < PAWL_METRICS_BUCKETS ? bounds[i].text : "+Inf";
}
