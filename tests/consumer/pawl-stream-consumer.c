/*
 * pawl-stream-consumer: the example consumer of a pawl Redis stream listener
 * (`type = stream`, docs/consumers.md "Streams"), one member of a consumer
 * group. In a loop: first this consumer's own pending entries (read before a
 * crash or restart and never acknowledged: XREADGROUP ... 0), then entries a
 * dead peer left pending longer than -i ms (XAUTOCLAIM), then new entries
 * (XREADGROUP ... >, blocking a second). Each entry is handled, then
 * acknowledged (XACK): at least once, so de-duplicate on event_id where it
 * matters (pawl-consumer shows a memory that survives restarts).
 *
 *   pawl-stream-consumer -p 6379 -s pawl.events -g search -c search-1 -o events.log
 *
 * With --catch-up URL (a collection's records list), a new consumer starts
 * from empty instead (docs/consumers.md "Catching up from empty"): it notes
 * the stream's last entry ID, creates its group there, copies the list
 * (catchup.c), then applies each entry's objects when they are newer than
 * its copy. On SIGTERM it takes what the stream holds, writes its index to
 * --index and exits.
 *
 *   pawl-stream-consumer -p 6379 -s pawl.events -g search -c search-1 -o decisions.log \
 *       --catch-up http://127.0.0.1:8888/v1/buckets/blog/collections/articles/records \
 *       --user alice:secret --index index.jsonl
 *
 * (--user, or PAWL_CONSUMER_USER in the environment, which other local users
 * cannot read from the process list.)
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <hiredis/hiredis.h>

#include "catchup.h"

#define IO_TIMEOUT_S 5 /* socket timeout; each XREADGROUP blocks at most 1 s */
#define COUNT "10"     /* entries taken per read */

struct options {
	const char *host, *stream, *group, *consumer, *out_path;
	int port;
	long min_idle_ms; /* a peer's pending entry idle this long is taken over */
	long delay_ms;    /* pretend each event takes this long to handle (catch-up: each page) */
	long seconds;     /* exit after this long; 0: never */
	const char *catchup_url, *userpass, *index_path; /* --catch-up, --user, --index */
	long page;        /* --page: _limit of each snapshot page */
};

static volatile sig_atomic_t stopping;
static bool draining;            /* stopping, and taking what the stream holds (catch-up) */
static struct catchup *index_of; /* catch-up mode: the index entries are applied to */
static char cursor[64];          /* catch-up mode: the highest entry ID read (P at first) */

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("pawl-stream-consumer: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fputs("usage: pawl-stream-consumer [-h host] [-p port] -s stream -g group -c consumer\n"
	      "           [-o out] [-i min-idle-ms] [-d delay-ms] [-t seconds]\n"
	      "           [--catch-up records-url [--user user:password] [--index file]\n"
	      "            [--page n]]\n", f);
}

static long number(const char *s, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max) {
		say("bad number '%s'", s);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "catch-up", required_argument, NULL, 'U' }, { "user", required_argument, NULL, 'u' },
		{ "index", required_argument, NULL, 'x' }, { "page", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 } };
	int c;

	*o = (struct options){ "127.0.0.1", NULL, NULL, NULL, NULL, 6379, 30000, 0, 0,
			       NULL, NULL, NULL, 100 };
	while ((c = getopt_long(argc, argv, "h:p:s:g:c:o:i:d:t:", longs, NULL)) != -1) {
		switch (c) {
		case 'h': o->host = optarg; break;
		case 'p': o->port = (int)number(optarg, 1, 65535); break;
		case 's': o->stream = optarg; break;
		case 'g': o->group = optarg; break;
		case 'c': o->consumer = optarg; break;
		case 'o': o->out_path = optarg; break;
		case 'i': o->min_idle_ms = number(optarg, 0, 86400000); break;
		case 'd': o->delay_ms = number(optarg, 0, 60000); break;
		case 't': o->seconds = number(optarg, 0, 86400); break;
		case 'U': o->catchup_url = optarg; break;
		case 'u': o->userpass = optarg; break;
		case 'x': o->index_path = optarg; break;
		case 'P': o->page = number(optarg, 1, 10000); break;
		default: usage(stderr); exit(2);
		}
	}
	if (o->stream == NULL || o->group == NULL || o->consumer == NULL) {
		usage(stderr);
		exit(2);
	}
}

static redisReply *command(redisContext *ctx, int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(ctx, argc, argv, NULL);

	if (r == NULL)
		say("Redis: %s", ctx->errstr[0] ? ctx->errstr : "no reply");
	return r;
}

/* The group reads the stream from its start; a group that exists already is kept as it is. */
static int create_group(redisContext *ctx, const struct options *o, const char *from, bool fresh)
{
	const char *argv[] = { "XGROUP", "CREATE", o->stream, o->group, from, "MKSTREAM" };
	redisReply *r = command(ctx, 6, argv);
	int ok = r != NULL && (r->type != REDIS_REPLY_ERROR ||
			       (!fresh && strncmp(r->str, "BUSYGROUP", 9) == 0));

	if (r != NULL && !ok)
		say("XGROUP CREATE: %s%s", r->str,
		    fresh ? " (a catch-up starts a new group: XGROUP DESTROY the old one)" : "");
	if (r != NULL)
		freeReplyObject(r);
	return ok ? 0 : -1;
}

/*
 * Catch-up: the stream's last entry ID (or "0" when it is empty) is noted
 * BEFORE the snapshot, and the group starts there. Every change the snapshot
 * misses commits after the note, so the relay appends its entry after it.
 */
static int catch_up_start(redisContext *ctx, const struct options *o, FILE *out)
{
	const char *argv[] = { "XREVRANGE", o->stream, "+", "-", "COUNT", "1" };
	redisReply *r = command(ctx, 6, argv);
	char from[64] = "0";
	int rc;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		say("XREVRANGE: %s", r && r->type == REDIS_REPLY_ERROR ? r->str : "no answer");
		if (r != NULL)
			freeReplyObject(r);
		return -1;
	}
	if (r->elements > 0 && r->element[0]->type == REDIS_REPLY_ARRAY)
		snprintf(from, sizeof from, "%s", r->element[0]->element[0]->str);
	freeReplyObject(r);
	fprintf(out, "position %s\n", from);
	snprintf(cursor, sizeof cursor, "%s", from);
	if ((rc = create_group(ctx, o, from, true)) == 0 &&
	    (rc = catchup_snapshot(index_of, o->delay_ms)) != 0)
		say("the snapshot failed: start again with a new group");
	return rc;
}

/* Replace with the application's work. Here: one line per event, its payload. */
static int handle(FILE *out, const char *entry_id, const char *payload, const struct options *o)
{
	if (index_of != NULL) {
		enum catchup_rc rc = catchup_entry(index_of, entry_id, payload);

		if (rc == CATCHUP_RESTART) {
			say("entry %s deleted the collection: catch up again with a new group",
			    entry_id);
			exit(3);
		}
		return rc == CATCHUP_OK ? 0 : -1; /* not acknowledged: read again as pending */
	}
	if (o->delay_ms > 0)
		nanosleep(&(struct timespec){ o->delay_ms / 1000, (o->delay_ms % 1000) * 1000000 }, NULL);
	if (fprintf(out, "%s\n", payload) < 0 || fflush(out) != 0)
		return -1;
	return 0;
}

/* Stream IDs "ms-seq" compared as numbers: <0, 0, >0. */
static int id_cmp(const char *a, const char *b)
{
	unsigned long long am = 0, as = 0, bm = 0, bs = 0;

	sscanf(a, "%llu-%llu", &am, &as);
	sscanf(b, "%llu-%llu", &bm, &bs);
	return am != bm ? (am < bm ? -1 : 1) : as != bs ? (as < bs ? -1 : 1) : 0;
}

/* A catch-up cannot go on past a lost entry: only a new copy knows what it said. */
static void gap(const char *why)
{
	say("%s: entries were lost before this consumer read them (maxlen too small, or XDEL); "
	    "catch up again with a new group", why);
	exit(3);
}

/*
 * Catch-up: whether an entry above `before` (the cursor before the last
 * read) was deleted unread. maxlen trims the stream from its oldest entry:
 * while the oldest entry left is at or below `before`, nothing above it was
 * trimmed when the read ran; once it is above, entries the read should have
 * returned may be gone. An empty stream lost whatever its last ID has above
 * what was read. With an empty stream at the note (`before` is 0) nothing
 * tells a trimmed entry from one never added: the check waits for a first
 * read. (A consumer this close to the trimming is too slow for its maxlen
 * anyway.)
 */
static int gap_check(redisContext *ctx, const struct options *o, const char *before)
{
	const char *argv[] = { "XINFO", "STREAM", o->stream };
	redisReply *r = command(ctx, 3, argv);
	const char *first = NULL, *last = NULL;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		if (r != NULL)
			freeReplyObject(r);
		return r == NULL ? -1 : 0;
	}
	for (size_t i = 0; i + 1 < r->elements; i += 2) {
		const redisReply *k = r->element[i], *v = r->element[i + 1];

		if (k->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(k->str, "first-entry") == 0 && v->type == REDIS_REPLY_ARRAY &&
		    v->elements > 0 && v->element[0]->type == REDIS_REPLY_STRING)
			first = v->element[0]->str;
		else if (strcmp(k->str, "last-generated-id") == 0 && v->type == REDIS_REPLY_STRING)
			last = v->str;
	}
	if (first != NULL && id_cmp(before, "0-0") > 0 && id_cmp(first, before) > 0)
		gap(first);
	if (first == NULL && last != NULL && id_cmp(last, cursor) > 0)
		gap(last);
	freeReplyObject(r);
	return 0;
}

/* Handles then acknowledges each entry of an [id, [field, value, ...]] array; -1 on failure. */
static int handle_entries(redisContext *ctx, const struct options *o, FILE *out,
			  const redisReply *entries, long *handled)
{
	for (size_t i = 0; i < entries->elements && (!stopping || draining); i++) {
		const redisReply *e = entries->element[i], *f;
		const char *payload = NULL;
		const char *ack[] = { "XACK", o->stream, o->group, NULL };
		redisReply *r;

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
			continue;
		ack[3] = e->element[0]->str;
		f = e->element[1];
		/* An entry trimmed away while pending comes back with no fields: acknowledge it. */
		for (size_t j = 0; f->type == REDIS_REPLY_ARRAY && j + 1 < f->elements; j += 2)
			if (strcmp(f->element[j]->str, "event") == 0)
				payload = f->element[j + 1]->str;
		if (payload == NULL && index_of != NULL)
			gap(ack[3]); /* pending, and trimmed before it was handled */
		if (payload != NULL && handle(out, ack[3], payload, o) != 0)
			return -1;
		if (index_of != NULL && id_cmp(ack[3], cursor) > 0)
			snprintf(cursor, sizeof cursor, "%s", ack[3]);
		if ((r = command(ctx, 4, ack)) == NULL)
			return -1;
		freeReplyObject(r);
		*handled += payload != NULL;
	}
	return 0;
}

/* XREADGROUP from id ("0": this consumer's pending entries; ">": new ones). Count handled. */
static int read_group(redisContext *ctx, const struct options *o, FILE *out, const char *id,
		      long *handled)
{
	const char *argv[] = { "XREADGROUP", "GROUP", o->group, o->consumer, "COUNT", COUNT,
			       "BLOCK", "1000", "STREAMS", o->stream, id };
	int block = strcmp(id, ">") == 0 && !draining;
	redisReply *r = block ? command(ctx, 11, argv)
	    : command(ctx, 9, (const char *[]){ argv[0], argv[1], argv[2], argv[3], argv[4],
					       argv[5], argv[8], argv[9], argv[10] });
	int rc = r == NULL || r->type == REDIS_REPLY_ERROR ? -1 : 0;

	/* [[stream, [entries]]], or nil when BLOCK timed out. */
	if (rc == 0 && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    r->element[0]->elements == 2)
		rc = handle_entries(ctx, o, out, r->element[0]->element[1], handled);
	if (r != NULL)
		freeReplyObject(r);
	return rc;
}

/* New entries; in catch-up mode, then the check that none above the cursor was lost. */
static int read_new(redisContext *ctx, const struct options *o, FILE *out, long *handled)
{
	char before[64];

	snprintf(before, sizeof before, "%s", cursor);
	if (read_group(ctx, o, out, ">", handled) != 0)
		return -1;
	return index_of != NULL ? gap_check(ctx, o, before) : 0;
}

/* XAUTOCLAIM entries pending on a dead (or slow) peer for min_idle_ms; handles them. */
static int reclaim(redisContext *ctx, const struct options *o, FILE *out, long *handled)
{
	char idle[24];
	const char *argv[] = { "XAUTOCLAIM", o->stream, o->group, o->consumer, idle, "0-0",
			       "COUNT", COUNT };
	redisReply *r;
	int rc;

	snprintf(idle, sizeof idle, "%ld", o->min_idle_ms);
	r = command(ctx, 8, argv);
	rc = r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ? -1 : 0;
	if (rc == 0)
		rc = handle_entries(ctx, o, out, r->element[1], handled);
	if (r != NULL)
		freeReplyObject(r);
	return rc;
}

static long now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

/* A connection, and the group: made at the noted position on a catch-up's first connect. */
static redisContext *connect_group(const struct options *o, FILE *out, bool *started)
{
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	redisContext *ctx = redisConnectWithTimeout(o->host, o->port, tv);
	int rc;

	if (ctx == NULL || ctx->err) {
		say("cannot connect to Redis: %s", ctx ? ctx->errstr : "out of memory");
		if (ctx != NULL)
			redisFree(ctx);
		return NULL;
	}
	redisSetTimeout(ctx, tv);
	if (index_of != NULL && !*started) {
		if (catch_up_start(ctx, o, out) != 0)
			exit(1);
		*started = true;
		return ctx;
	}
	if ((rc = create_group(ctx, o, "0", false)) != 0) {
		redisFree(ctx);
		return NULL;
	}
	return ctx;
}

/* Catch-up, on SIGTERM: what the stream holds now is taken (no BLOCK), then the index written. */
static int finish_catch_up(redisContext *ctx, const struct options *o, FILE *out, long *handled)
{
	long before;

	/* Own pending entries first (a SIGTERM mid-batch left some), then the new ones. */
	draining = true;
	for (int pass = 0; pass < 2; pass++)
		do {
			before = *handled;
			if (ctx == NULL ||
			    (pass ? read_new(ctx, o, out, handled) : read_group(ctx, o, out, "0", handled)) != 0)
				return -1;
		} while (*handled > before);
	catchup_report(index_of);
	if (o->index_path != NULL && catchup_write(index_of, o->index_path) != 0) {
		say("cannot write %s", o->index_path);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	redisContext *ctx = NULL;
	FILE *out = stdout;
	long handled = 0, start = now_s(), before;
	bool started = false;
	int status = 0;

	parse_args(argc, argv, &o);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (o.out_path != NULL && (out = fopen(o.out_path, "a")) == NULL) {
		say("cannot open %s", o.out_path);
		return 1;
	}
	/* A command line is visible to every local user: the password can come from the environment. */
	if (o.userpass == NULL)
		o.userpass = getenv("PAWL_CONSUMER_USER");
	if (o.catchup_url != NULL &&
	    (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	     (index_of = catchup_new(o.catchup_url, o.userpass, o.page, out)) == NULL)) {
		say("--catch-up wants a URL ending in /buckets/B/collections/C/records");
		return 2;
	}
	while (!stopping && (o.seconds == 0 || now_s() - start < o.seconds)) {
		if (ctx == NULL && (ctx = connect_group(&o, out, &started)) == NULL) {
			sleep(1);
			continue;
		}
		/* Own pending entries first (a restart resumes here), then a dead peer's, then new. */
		do {
			before = handled;
			if (read_group(ctx, &o, out, "0", &handled) != 0)
				goto reconnect;
		} while (handled > before && !stopping);
		if (reclaim(ctx, &o, out, &handled) != 0 || read_new(ctx, &o, out, &handled) != 0)
			goto reconnect;
		continue;
reconnect:
		redisFree(ctx);
		ctx = NULL;
		sleep(1);
	}
	if (index_of != NULL && finish_catch_up(ctx, &o, out, &handled) != 0)
		status = 1;
	say("handled %ld events", handled);
	if (ctx != NULL)
		redisFree(ctx);
	catchup_free(index_of);
	if (out != stdout)
		fclose(out);
	return status;
}
