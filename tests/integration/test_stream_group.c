/*
 * The stream consumer example (tests/consumer/pawl-stream-consumer, a
 * consumer group member: docs/consumers.md "Streams") over the `stream`
 * listener's stream: a member killed mid-batch leaves entries pending that a
 * live peer reclaims (XAUTOCLAIM); a member killed and restarted under its
 * name resumes its own pending entries. Every event ends handled at least
 * once and acknowledged.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "events_util.h"

#define STREAM "pawl.test.stream" /* harness: the `stream` listener */
#define WRITES 40
#define MAX_IDS (WRITES + 8)
#define DONE_MS 30000

struct ids {
	char v[MAX_IDS][64];
	size_t n;
};

static redisReply *redis_do(const char *fmt, const char *a, const char *b)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", atoi(getenv("PAWL_REDIS_PORT")), tv);
	redisReply *r = c && !c->err ? redisCommand(c, fmt, a, b) : NULL;

	if (c != NULL)
		redisFree(c);
	return r;
}

/* The event_ids of bucket b's entries in the stream, in stream order. */
static void stream_ids(const char *b, struct ids *out)
{
	redisReply *r = redis_do("XRANGE %s %s +", STREAM, "-");

	out->n = 0;
	for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		redisReply *f = r->element[i]->element[1];

		for (size_t j = 0; j + 1 < f->elements; j += 2) {
			json_object *ev = strcmp(f->element[j]->str, "event") == 0 ?
			    json_tokener_parse(f->element[j + 1]->str) : NULL;

			if (ev != NULL && in_bucket(ev, b) && jstr(ev, "event_id") && out->n < MAX_IDS)
				snprintf(out->v[out->n++], sizeof out->v[0], "%s", jstr(ev, "event_id"));
			json_object_put(ev);
		}
	}
	if (r != NULL)
		freeReplyObject(r);
}

/* Whether id is among the output lines of the files (NULL-terminated). */
static bool handled(const char *const *files, const char *id)
{
	bool found = false;

	for (size_t k = 0; files[k] != NULL && !found; k++) {
		char *line = NULL;
		size_t cap = 0;
		FILE *f = fopen(files[k], "r");

		while (f != NULL && !found && getline(&line, &cap, f) > 0)
			found = strstr(line, id) != NULL;
		free(line);
		if (f != NULL)
			fclose(f);
	}
	return found;
}

static long lines_of(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = 0;
	int c;

	while (f != NULL && (c = fgetc(f)) != EOF)
		n += c == '\n';
	if (f != NULL)
		fclose(f);
	return n;
}

/* Entries of the group delivered to a member and not acknowledged (-1 on error). */
static long long pending(const char *group)
{
	redisReply *r = redis_do("XPENDING %s %s", STREAM, group);
	long long n = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    r->element[0]->type == REDIS_REPLY_INTEGER ? r->element[0]->integer : -1;

	if (r != NULL)
		freeReplyObject(r);
	return n;
}

static pid_t member_start(const char *group, const char *name, const char *out, const char *idle)
{
	char bin[4096], err[4096];
	pid_t pid;

	snprintf(bin, sizeof bin, "%s/tests/consumer/pawl-stream-consumer", getenv("PAWL_BUILDDIR"));
	snprintf(err, sizeof err, "%s/stream-group.err", harness_state_dir());
	fflush(NULL);
	if ((pid = fork()) == 0) {
		int fd = open(err, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execl(bin, bin, "-p", getenv("PAWL_REDIS_PORT"), "-s", STREAM, "-g", group, "-c", name,
		      "-o", out, "-i", idle, "-d", "100", (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Waits until the member wrote n lines, then SIGKILLs it mid-batch. */
static void kill_after(pid_t pid, const char *out, long n)
{
	for (long waited = 0; lines_of(out) < n && waited < DONE_MS; waited += 10)
		sleep_ms(10);
	CHECK(lines_of(out) >= n, "%s: fewer than %ld lines", out, n);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Until every id of want is in the files and nothing is pending in group. */
static void wait_done(const struct ids *want, const char *const *files, const char *group)
{
	size_t missing = want->n;
	long long left = -1;

	for (long waited = 0; waited < DONE_MS && (missing > 0 || left != 0); waited += 100) {
		sleep_ms(100);
		missing = 0;
		for (size_t i = 0; i < want->n; i++)
			missing += !handled(files, want->v[i]);
		left = pending(group);
	}
	CHECK(missing == 0, "group %s: %zu of %zu events never handled", group, missing, want->n);
	CHECK(left == 0, "group %s: %lld entries still pending", group, left);
}

static void stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/*
 * Two groups over the same events. In g1, member a is killed holding
 * entries, member b reclaims them. In g2, member c is killed and restarted
 * under its name, and resumes its own pending entries (no peer to reclaim
 * them: its idle bound is ten minutes).
 */
static void test_group_kill_reclaim_resume(void)
{
	char b[64], g1[64], g2[64], p[256], out_a[512], out_b[512], out_c[512];
	const char *files1[] = { out_a, out_b, NULL }, *files2[] = { out_c, NULL };
	struct ids want;
	redisReply *r;
	pid_t a, m, c;

	unique_id(b, sizeof b, "sg");
	unique_id(g1, sizeof g1, "g1");
	unique_id(g2, sizeof g2, "g2");
	snprintf(out_a, sizeof out_a, "%s/%s.a", harness_state_dir(), g1);
	snprintf(out_b, sizeof out_b, "%s/%s.b", harness_state_dir(), g1);
	snprintf(out_c, sizeof out_c, "%s/%s.c", harness_state_dir(), g2);
	/* The groups start at the stream's end: only this test's events are theirs. */
	r = redis_do("XGROUP CREATE %s %s $ MKSTREAM", STREAM, g1);
	CU_ASSERT_FATAL(r != NULL && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	r = redis_do("XGROUP CREATE %s %s $ MKSTREAM", STREAM, g2);
	CU_ASSERT_FATAL(r != NULL && r->type == REDIS_REPLY_STATUS);
	freeReplyObject(r);
	snprintf(p, sizeof p, "/v1/buckets/%s", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	snprintf(p, sizeof p, "/v1/buckets/%s/collections/c", b);
	write_ok("PUT", p, "{\"data\":{}}", 201);
	for (int i = 0; i < WRITES; i++) {
		snprintf(p, sizeof p, "/v1/buckets/%s/collections/c/records/r%d", b, i);
		write_ok("PUT", p, "{\"data\":{}}", 201);
	}
	for (long waited = 0; waited < DELIVERY_MS; waited += 50) {
		stream_ids(b, &want);
		if (want.n >= WRITES + 2)
			break;
		sleep_ms(50);
	}
	CU_ASSERT_FATAL(want.n == WRITES + 2);

	a = member_start(g1, "a", out_a, "500");
	c = member_start(g2, "c", out_c, "600000");
	kill_after(a, out_a, 3);
	kill_after(c, out_c, 3);
	CHECK(pending(g1) > 0, "member a died holding no entry: nothing to reclaim");
	CHECK(pending(g2) > 0, "member c died holding no entry: nothing to resume");
	m = member_start(g1, "b", out_b, "500");
	c = member_start(g2, "c", out_c, "600000");
	wait_done(&want, files1, g1);
	wait_done(&want, files2, g2);
	stop(m);
	stop(c);
	CHECK(lines_of(out_b) > 0 && lines_of(out_a) < WRITES + 2, "b handled %ld, a %ld",
	      lines_of(out_b), lines_of(out_a));
	for (int i = 0; i < 2; i++)
		if ((r = redis_do("XGROUP DESTROY %s %s", STREAM, i ? g2 : g1)) != NULL)
			freeReplyObject(r);
}

void test_stream_group_register(void)
{
	CU_pSuite s = CU_add_suite("stream_group", NULL, NULL);

	CU_add_test(s, "a consumer group: a member killed, its entries reclaimed; a restart resumes",
		    test_group_kill_reclaim_resume);
}
