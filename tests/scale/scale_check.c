/*
 * scale_load check: the write logs against the Redis list the relays fill,
 * read from the master the Sentinels name now. What it asserts:
 *   - every write answered 2xx has its event, exactly one (no event_id twice,
 *     no second event for the same record), with its last_modified;
 *   - a write not answered 2xx has an event only when it committed (the
 *     record exists: a lost answer, counted), and then it must have it;
 *   - in the Redis list, each collection's events have strictly increasing
 *     timestamps (commit order), whichever relay pushed them;
 *   - with --readable, every 2xx write can be read back.
 */
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "scale.h"

struct ev {
	char event_id[64], id[64], coll[64];
	long long ts;
};

struct w {
	struct wrec r;
	int exists;   /* non-2xx: 1 the record exists (a lost answer), 0 not, -1 unknown */
	int events;   /* events seen for its id */
	long long ev_ts;
};

static int cmp_w(const void *a, const void *b)
{
	return strcmp(((const struct w *)a)->r.id, ((const struct w *)b)->r.id);
}

static struct w *find_w(struct w *v, size_t n, const char *id)
{
	struct w key;

	snprintf(key.r.id, sizeof key.r.id, "%s", id);
	return bsearch(&key, v, n, sizeof *v, cmp_w);
}

static bool load_logs(int nlogs, char **logs, struct w **out, size_t *n)
{
	size_t cap = 1024;
	struct w *v = malloc(cap * sizeof *v);
	char line[512];

	*n = 0;
	for (int i = 0; i < nlogs; i++) {
		FILE *f = fopen(logs[i], "r");

		if (f == NULL) {
			perror(logs[i]);
			return false;
		}
		while (fgets(line, sizeof line, f) != NULL) {
			struct wrec r = { 0 };
			int js = 0;

			if (sscanf(line, "%d\t%63s\t%63s\t%lld\t%d\t%ld\t%63s\t%d", &r.status, r.id,
				   r.coll, &r.lm, &r.retry_after, &r.elapsed_ms, r.upstream, &js) < 7)
				continue;
			if (*n == cap)
				v = realloc(v, (cap *= 2) * sizeof *v);
			v[(*n)++] = (struct w){ .r = r, .exists = -1 };
		}
		fclose(f);
	}
	qsort(v, *n, sizeof *v, cmp_w);
	*out = v;
	return true;
}

/* The master as the first Sentinel that answers names it, connected (NULL: none). */
static redisContext *master(const struct opts *o)
{
	char list[512], *save = NULL;
	struct timeval tv = { 2, 0 };

	snprintf(list, sizeof list, "%s", o->sentinels);
	for (char *t = strtok_r(list, " ,", &save); t; t = strtok_r(NULL, " ,", &save)) {
		char *colon = strrchr(t, ':'), host[64];
		redisContext *s, *m;
		redisReply *r;

		if (colon == NULL)
			continue;
		*colon = '\0';
		s = redisConnectWithTimeout(t, atoi(colon + 1), tv);
		r = s && !s->err ? redisCommand(s, "SENTINEL get-master-addr-by-name %s", o->master)
				 : NULL;
		if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
			snprintf(host, sizeof host, "%s", r->element[0]->str);
			m = redisConnectWithTimeout(host, atoi(r->element[1]->str), tv);
			freeReplyObject(r);
			redisFree(s);
			if (m != NULL && !m->err)
				return m;
			redisFree(m);
			continue;
		}
		if (r != NULL)
			freeReplyObject(r);
		redisFree(s);
	}
	return NULL;
}

static const char *jstr(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* The list's events of our bucket and collections, oldest first; -1: Redis unreachable. */
static long fetch(const struct opts *o, struct ev **out)
{
	redisContext *c = master(o);
	redisReply *r = c ? redisCommand(c, "LRANGE %s 0 -1", o->list) : NULL;
	long n = 0;

	*out = NULL;
	if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
		if (r)
			freeReplyObject(r);
		redisFree(c);
		return -1;
	}
	*out = calloc(r->elements + 1, sizeof **out);
	for (size_t i = r->elements; i-- > 0;) { /* LPUSH: newest first */
		json_object *j = json_tokener_parse(r->element[i]->str), *imp, *it, *v;
		const char *b = j ? jstr(j, "bucket_id") : NULL, *cl = j ? jstr(j, "collection_id") : NULL;
		const char *eid = j ? jstr(j, "event_id") : NULL;

		/* A POST on the collection's URL has no record_id: impacted names the
		 * record (one entry: these writes each create one record). */
		const char *rn = j ? jstr(j, "resource_name") : NULL;

		if (b && cl && eid && rn && strcmp(rn, "record") == 0 && strcmp(b, o->bucket) == 0 &&
		    strncmp(cl, o->prefix, strlen(o->prefix)) == 0 &&
		    json_object_object_get_ex(j, "impacted", &imp) &&
		    json_object_is_type(imp, json_type_array) && json_object_array_length(imp) == 1 &&
		    (it = json_object_array_get_idx(imp, 0)) != NULL && jstr(it, "id") != NULL &&
		    json_object_object_get_ex(it, "last_modified", &v)) {
			struct ev *e = &(*out)[n++];

			snprintf(e->event_id, sizeof e->event_id, "%s", eid);
			snprintf(e->id, sizeof e->id, "%s", jstr(it, "id"));
			snprintf(e->coll, sizeof e->coll, "%s", cl);
			e->ts = json_object_get_int64(v);
		}
		json_object_put(j);
	}
	freeReplyObject(r);
	redisFree(c);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 200: the record exists; 404/403: it does not; anything else: unknown (-1). */
static int exists(const struct opts *o, const struct wrec *r)
{
	char url[600];
	int st;

	snprintf(url, sizeof url, "%s/v1/buckets/%s/collections/%s/records/%s", o->read_url,
		 o->bucket, r->coll, r->id);
	for (int tries = 0; tries < 5; tries++) {
		st = http(o, "GET", url, NULL, 5000, NULL, NULL, NULL, 0);
		if (st == 200)
			return 1;
		if (st == 404 || st == 403)
			return 0;
		sleep(1);
	}
	return -1;
}

/* Counts events per write; how many expected ones are still missing. */
static long tally(struct w *v, size_t n, const struct ev *e, long ne, long *unknown)
{
	long missing = 0;

	*unknown = 0;
	for (size_t i = 0; i < n; i++)
		v[i].events = 0;
	for (long k = 0; k < ne; k++) {
		struct w *x = find_w(v, n, e[k].id);

		if (x == NULL) {
			(*unknown)++;
			continue;
		}
		x->events++;
		x->ev_ts = e[k].ts;
	}
	for (size_t i = 0; i < n; i++)
		if ((v[i].r.status / 100 == 2 || v[i].exists == 1) && v[i].events == 0)
			missing++;
	return missing;
}

static long order_violations(const struct ev *e, long ne)
{
	long bad = 0;

	for (long k = 0; k < ne; k++)
		for (long p = k - 1; p >= 0; p--)
			if (strcmp(e[p].coll, e[k].coll) == 0) {
				bad += e[p].ts >= e[k].ts;
				break;
			}
	return bad;
}

int cmd_check(const struct opts *o, int nlogs, char **logs)
{
	struct w *v;
	struct ev *e = NULL;
	size_t n;
	long ne = 0, missing = 0, unknown = 0, ok2 = 0, lost = 0, phantom = 0, doubled = 0, dupid = 0;
	long unreadable = 0, lm_bad = 0, undecided = 0;
	long long deadline = now_ms() + o->wait_s * 1000LL;
	char **ids;

	if (!load_logs(nlogs, logs, &v, &n))
		return 2;
	for (size_t i = 0; i < n; i++) {
		if (v[i].r.status / 100 == 2) {
			ok2++;
			if (o->readable && exists(o, &v[i].r) != 1)
				unreadable++;
		} else if ((v[i].exists = exists(o, &v[i].r)) == 1)
			lost++;
		else if (v[i].exists < 0)
			undecided++;
	}
	for (;;) {
		free(e);
		ne = fetch(o, &e);
		if (ne >= 0 && (missing = tally(v, n, e, ne, &unknown)) == 0)
			break;
		if (now_ms() > deadline)
			break;
		sleep(1);
	}
	if (ne < 0) {
		printf("check %s: Redis unreachable through the Sentinels\n", o->prefix);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		doubled += v[i].events > 1;
		phantom += v[i].r.status / 100 != 2 && v[i].exists == 0 && v[i].events > 0;
		lm_bad += v[i].r.status / 100 == 2 && v[i].events == 1 && v[i].ev_ts != v[i].r.lm;
	}
	ids = calloc((size_t)ne + 1, sizeof *ids);
	for (long k = 0; k < ne; k++)
		ids[k] = e[k].event_id;
	qsort(ids, (size_t)ne, sizeof *ids, cmp_str);
	for (long k = 1; k < ne; k++)
		dupid += strcmp(ids[k - 1], ids[k]) == 0;
	long order = order_violations(e, ne);
	bool pass = missing == 0 && unknown == 0 && phantom == 0 && doubled == 0 && dupid == 0 &&
		    unreadable == 0 && lm_bad == 0 && undecided == 0 && order == 0 &&
		    ne == ok2 + lost;
	printf("check %s: writes=%zu 2xx=%ld lost_answers=%ld events=%ld missing=%ld doubled=%ld "
	       "dup_event_ids=%ld phantom=%ld unknown=%ld order_violations=%ld lm_mismatch=%ld "
	       "unreadable=%ld undecided=%ld -> %s\n",
	       o->prefix, n, ok2, lost, ne, missing, doubled, dupid, phantom, unknown, order, lm_bad,
	       unreadable, undecided, pass ? "ok" : "FAIL");
	free(ids);
	free(e);
	free(v);
	return pass ? 0 : 1;
}
