/*
 * pawl-consumer: the example consumer of pawl's Redis queue (README "Events").
 * Reliable queue pattern: BLMOVE each event from the list into this
 * consumer's own processing list, handle it, then LREM it from there. At
 * start, what a crashed run left in the processing list goes back to the
 * queue first, in order; so does every reconnect, and every idle second
 * (a BLMOVE sent on a link dropped during a Redis stall can still run after
 * the stall, into the processing list). pawl delivers at least once, so
 * events are de-duplicated on event_id: the last -k ids are remembered, and
 * with -f kept in a file so the memory survives restarts (docs/consumers.md).
 *
 *   pawl-consumer -p 6380 -n 100 -t 30 -o events.log -f seen.ids
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <json-c/json.h>

#define ID_MAX 64
#define IO_TIMEOUT_S 5 /* socket timeout; each BLMOVE blocks at most 1 s */

struct options {
	const char *host, *socket, *password, *list, *out_path, *seen_path;
	char processing[256];
	int port, db;
	long count;   /* exit after this many events handled; 0: never */
	long seconds; /* exit after this long; 0: never */
	long dedup;   /* event_ids remembered */
};

/* The last `cap` event_ids seen: a ring for eviction, chained buckets for lookup. */
struct seen {
	char (*ids)[ID_MAX];
	long *next;   /* chain link per ring slot, -1 ends */
	long *heads;  /* per bucket, -1 empty */
	long cap, n, at, n_buckets;
	FILE *file;   /* -f: every id added is appended here, one a line */
};

struct stats {
	long handled, duplicates, requeued;
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("pawl-consumer: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fputs("usage: pawl-consumer [-h HOST] [-p PORT] [-s SOCKET] [-a PASSWORD] [-d DB]\n"
	    "                     [-l LIST] [-w PROCESSING] [-n COUNT] [-t SECONDS]\n"
	    "                     [-k DEDUP] [-o FILE] [-f SEEN]\n"
	    "  -l LIST        the list pawl pushes to (event_listeners.<name>.listname; pawl.events)\n"
	    "  -w PROCESSING  this consumer's own processing list (LIST.processing): one per consumer\n"
	    "  -n COUNT       exit after COUNT events handled (default 0: never)\n"
	    "  -t SECONDS     exit after SECONDS (default 0: never)\n"
	    "  -k DEDUP       event_ids remembered to drop redeliveries (default 10000)\n"
	    "  -o FILE        append each event as one line to FILE (default: standard output)\n"
	    "  -f SEEN        keep the handled event_ids in SEEN, so a restart still drops\n"
	    "                 redeliveries (default: in memory only)\n"
	    "Exit status: 0 done (COUNT reached, or stopped by a signal or -t without -n),\n"
	    "1 error, 2 usage, 3 -t expired before COUNT events.\n", f);
}

static long number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		say("bad number '%s'", s);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv, struct options *o)
{
	const char *processing = NULL;
	int c;

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = 6379;
	o->list = "pawl.events";
	o->dedup = 10000;
	while ((c = getopt(argc, argv, "h:p:s:a:d:l:w:n:t:k:o:f:")) != -1) {
		switch (c) {
		case 'h': o->host = optarg; break;
		case 'p': o->port = (int)number(optarg, 1, 65535); break;
		case 's': o->socket = optarg; break;
		case 'a': o->password = optarg; break;
		case 'd': o->db = (int)number(optarg, 0, 100000); break;
		case 'l': o->list = optarg; break;
		case 'w': processing = optarg; break;
		case 'n': o->count = number(optarg, 0, LONG_MAX); break;
		case 't': o->seconds = number(optarg, 0, 100000000); break;
		case 'k': o->dedup = number(optarg, 1, 100000000); break;
		case 'o': o->out_path = optarg; break;
		case 'f': o->seen_path = optarg; break;
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
	if ((size_t)snprintf(o->processing, sizeof(o->processing), "%s",
	    processing ? processing : o->list) >= sizeof(o->processing) - 11) {
		say("list name too long");
		exit(2);
	}
	if (processing == NULL)
		strcat(o->processing, ".processing");
}

/* --- the de-duplication set ------------------------------------------------ */

static unsigned long hash(const char *s)
{
	unsigned long h = 14695981039346656037UL; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211UL;
	return h;
}

static int seen_init(struct seen *s, long cap)
{
	long i;

	memset(s, 0, sizeof(*s));
	s->cap = cap;
	s->n_buckets = cap * 2;
	s->ids = calloc((size_t)cap, sizeof(*s->ids));
	s->next = calloc((size_t)cap, sizeof(*s->next));
	s->heads = calloc((size_t)s->n_buckets, sizeof(*s->heads));
	if (s->ids == NULL || s->next == NULL || s->heads == NULL)
		return -1;
	for (i = 0; i < s->n_buckets; i++)
		s->heads[i] = -1;
	return 0;
}

static void seen_free(struct seen *s)
{
	if (s->file != NULL)
		fclose(s->file);
	free(s->ids);
	free(s->next);
	free(s->heads);
}

static int seen_has(const struct seen *s, const char *id)
{
	long i;

	for (i = s->heads[hash(id) % (unsigned long)s->n_buckets]; i >= 0; i = s->next[i])
		if (strcmp(s->ids[i], id) == 0)
			return 1;
	return 0;
}

/* Remembers id, forgetting the oldest one when full. */
static void seen_add(struct seen *s, const char *id)
{
	long slot = s->at, *link, b;

	if (s->n == s->cap) {
		/* Unlink the slot's old id from its chain. */
		for (link = &s->heads[hash(s->ids[slot]) % (unsigned long)s->n_buckets];
		    *link != slot; link = &s->next[*link])
			;
		*link = s->next[slot];
	} else {
		s->n++;
	}
	snprintf(s->ids[slot], ID_MAX, "%s", id);
	b = (long)(hash(id) % (unsigned long)s->n_buckets);
	s->next[slot] = s->heads[b];
	s->heads[b] = slot;
	s->at = (slot + 1) % s->cap;
}

/* Remembers id, in the file too when there is one: 0, or -1 if it cannot be written. */
static int seen_remember(struct seen *s, const char *id)
{
	seen_add(s, id);
	if (s->file != NULL && (fprintf(s->file, "%s\n", id) < 0 || fflush(s->file) != 0)) {
		say("cannot write the seen ids: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Loads the ids a previous run handled (the last `cap` of them), rewrites the
 * file with only those so it never grows past the memory, and keeps it open
 * to append to. A missing file is an empty memory.
 */
static int seen_load(struct seen *s, const char *path)
{
	char line[ID_MAX + 2], tmp[PATH_MAX];
	FILE *f = fopen(path, "r");
	int rc = -1;
	long i;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] != '\0' && !seen_has(s, line))
			seen_add(s, line);
	}
	if (f != NULL)
		fclose(f);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		goto out;
	for (i = 0; i < s->n; i++) /* oldest first, so a later load keeps the newest */
		fprintf(f, "%s\n", s->ids[(s->at - s->n + i + s->cap) % s->cap]);
	rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
	if (fclose(f) != 0 || rc != 0 || rename(tmp, path) != 0 ||
	    (s->file = fopen(path, "a")) == NULL)
		rc = -1;
out:
	if (rc != 0)
		say("%s: %s", path, strerror(errno));
	return rc;
}

static void event_id_of(const char *payload, size_t len, char *id, size_t size);

/*
 * The handler's effect (a line of -o FILE) and the id record are two writes:
 * a kill between them leaves an event handled but not remembered, and its
 * redelivery would be handled twice. The output's last line is what was
 * handled last, so remember it now. (An application does the same with its
 * own state, e.g. the last event_id stored in the transaction that applied it.)
 */
static int seen_reconcile(struct seen *s, const char *out_path)
{
	char *line = NULL, *last = NULL, id[ID_MAX];
	size_t cap = 0;
	ssize_t got;
	FILE *f = fopen(out_path, "r");
	int rc = 0;

	if (f == NULL)
		return 0;
	/* Only the end matters: a large file is read from its last 64 KiB. */
	if (fseek(f, -65536, SEEK_END) != 0)
		rewind(f);
	while ((got = getline(&line, &cap, f)) > 0) {
		if (line[got - 1] != '\n')
			break; /* a line cut by the kill was not handled */
		free(last);
		last = strdup(line);
	}
	fclose(f);
	if (last != NULL) {
		event_id_of(last, strlen(last), id, sizeof(id));
		if (id[0] != '\0' && !seen_has(s, id))
			rc = seen_remember(s, id);
	}
	free(line);
	free(last);
	return rc;
}

/* --- Redis ------------------------------------------------------------------ */

static redisReply *command(redisContext *ctx, int argc, const char **argv, const size_t *lens)
{
	redisReply *r = redisCommandArgv(ctx, argc, argv, lens);

	if (r == NULL)
		say("Redis: %s", ctx->errstr[0] ? ctx->errstr : "no reply");
	else if (r->type == REDIS_REPLY_ERROR)
		say("Redis %s: %s", argv[0], r->str);
	return r;
}

static redisContext *connect_redis(const struct options *o)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	redisContext *ctx = o->socket ? redisConnectUnixWithTimeout(o->socket, tv)
	    : redisConnectWithTimeout(o->host, o->port, tv);
	char db[16];

	if (ctx == NULL || ctx->err) {
		say("cannot connect to Redis: %s", ctx ? ctx->errstr : "out of memory");
		goto fail;
	}
	redisSetTimeout(ctx, tv);
	if (o->password != NULL) {
		const char *argv[] = { "AUTH", o->password };
		redisReply *r = command(ctx, 2, argv, NULL);
		int ok = r != NULL && r->type != REDIS_REPLY_ERROR;

		freeReplyObject(r);
		if (!ok)
			goto fail;
	}
	if (o->db != 0) {
		const char *argv[] = { "SELECT", db };
		redisReply *r;
		int ok;

		snprintf(db, sizeof(db), "%d", o->db);
		r = command(ctx, 2, argv, NULL);
		ok = r != NULL && r->type != REDIS_REPLY_ERROR;
		freeReplyObject(r);
		if (!ok)
			goto fail;
	}
	return ctx;
fail:
	if (ctx != NULL)
		redisFree(ctx);
	return NULL;
}

/*
 * Puts what a previous run took but never acknowledged back at the consuming
 * end of the queue, oldest last so it is taken first: the queue's order holds.
 */
static int requeue(redisContext *ctx, const struct options *o, struct stats *st)
{
	const char *argv[] = { "LMOVE", o->processing, o->list, "LEFT", "RIGHT" };

	for (;;) {
		redisReply *r = command(ctx, 5, argv, NULL);
		int type = r ? r->type : REDIS_REPLY_ERROR;

		freeReplyObject(r);
		if (type == REDIS_REPLY_NIL)
			return 0;
		if (type != REDIS_REPLY_STRING)
			return -1;
		st->requeued++;
	}
}

/* --- handling ---------------------------------------------------------------- */

/* The payload's event_id into id (empty when it has none). */
static void event_id_of(const char *payload, size_t len, char *id, size_t size)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = tok ? json_tokener_parse_ex(tok, payload, (int)len) : NULL, *v;

	id[0] = '\0';
	if (o != NULL && json_object_object_get_ex(o, "event_id", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    (size_t)json_object_get_string_len(v) < size)
		snprintf(id, size, "%s", json_object_get_string(v));
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
}

/* The application's work: here, one line per event. 0 once it is done for good. */
static int handle(FILE *out, const char *payload, size_t len)
{
	if (fwrite(payload, 1, len, out) != len || fputc('\n', out) == EOF || fflush(out) != 0) {
		say("cannot write the event: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static long now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

/*
 * Takes, handles and acknowledges one event: 1 handled (or a duplicate skipped),
 * 0 none came within a second, -1 Redis failed, -2 the handler failed.
 */
static int consume_one(redisContext *ctx, const struct options *o, FILE *out, struct seen *seen,
    struct stats *st)
{
	const char *take[] = { "BLMOVE", o->list, o->processing, "RIGHT", "LEFT", "1" };
	const char *ack[] = { "LREM", o->processing, "1", NULL };
	size_t ack_lens[4];
	char id[ID_MAX];
	redisReply *r = command(ctx, 6, take, NULL), *a = NULL;
	int rc = -1;

	if (r == NULL || r->type == REDIS_REPLY_ERROR)
		goto out;
	if (r->type == REDIS_REPLY_NIL) {
		/*
		 * Idle, holding nothing: whatever is in the processing list was moved
		 * there by a BLMOVE of a link this consumer already dropped (sent just
		 * before a Redis stall, run after it). Back to the queue with it.
		 */
		rc = requeue(ctx, o, st) == 0 ? 0 : -1;
		goto out;
	}
	event_id_of(r->str, r->len, id, sizeof(id));
	if (id[0] != '\0' && seen_has(seen, id)) {
		st->duplicates++; /* delivered again (at-least-once): already handled */
	} else {
		if (id[0] == '\0')
			say("an event without event_id: handled without de-duplication");
		if (handle(out, r->str, r->len) != 0) {
			rc = -2; /* left in the processing list: the next run requeues it */
			goto out;
		}
		st->handled++;
		if (id[0] != '\0' && seen_remember(seen, id) != 0) {
			rc = -2;
			goto out;
		}
	}
	ack[3] = r->str;
	ack_lens[0] = 4;
	ack_lens[1] = strlen(o->processing);
	ack_lens[2] = 1;
	ack_lens[3] = r->len;
	a = command(ctx, 4, ack, ack_lens);
	rc = a != NULL && a->type == REDIS_REPLY_INTEGER ? 1 : -1;
out:
	freeReplyObject(a);
	freeReplyObject(r);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o;
	struct seen seen;
	struct stats st = { 0, 0, 0 };
	struct sigaction sa;
	redisContext *ctx = NULL;
	FILE *out = stdout;
	long deadline;
	int status = 1, rc;

	parse_args(argc, argv, &o);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (seen_init(&seen, o.dedup) != 0) {
		say("out of memory");
		goto out;
	}
	if (o.seen_path != NULL && (seen_load(&seen, o.seen_path) != 0 ||
	    (o.out_path != NULL && seen_reconcile(&seen, o.out_path) != 0)))
		goto out;
	if (o.out_path != NULL && (out = fopen(o.out_path, "a")) == NULL) {
		say("%s: %s", o.out_path, strerror(errno));
		goto out;
	}
	deadline = o.seconds ? now_s() + o.seconds : 0;
	while (!stopping && (o.count == 0 || st.handled < o.count)) {
		if (deadline && now_s() >= deadline)
			break;
		/* (Re)connected: first what this consumer took and did not acknowledge. */
		if (ctx == NULL && ((ctx = connect_redis(&o)) == NULL || requeue(ctx, &o, &st) != 0))
			rc = -1;
		else
			rc = consume_one(ctx, &o, out, &seen, &st);
		if (rc == -2)
			goto out;
		if (rc == -1) {
			if (ctx != NULL)
				redisFree(ctx);
			ctx = NULL;
			sleep(1); /* Redis is down or refuses: retry, as a daemon would */
		}
	}
	status = o.count != 0 && st.handled < o.count && !stopping ? 3 : 0;
out:
	fprintf(stderr, "pawl-consumer: %ld handled, %ld duplicates skipped, %ld requeued\n",
	    st.handled, st.duplicates, st.requeued);
	if (ctx != NULL)
		redisFree(ctx);
	if (out != NULL && out != stdout && fclose(out) != 0 && status == 0)
		status = 1;
	seen_free(&seen);
	return status;
}
