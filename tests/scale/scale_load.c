/*
 * scale_load write / lag, and the option parsing (see scale.h). Talks only to
 * the URLs it is given: tests/scale/run gives addresses inside its namespaces.
 */
#include <curl/curl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "scale.h"

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct buf {
	char *p;
	size_t n;
};

struct hdrs {
	int retry_after;
	char *upstream;
	size_t upsize;
};

static size_t on_body(char *p, size_t sz, size_t nm, void *u)
{
	struct buf *b = u;
	size_t n = sz * nm;
	char *q = realloc(b->p, b->n + n + 1);

	if (q == NULL)
		return 0;
	memcpy(q + b->n, p, n);
	b->n += n;
	q[b->n] = '\0';
	b->p = q;
	return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *u)
{
	struct hdrs *h = u;
	size_t n = sz * nm;

	if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
		h->retry_after = atoi(p + 12);
	if (n > 11 && strncasecmp(p, "X-Upstream:", 11) == 0 && h->upstream != NULL) {
		size_t k = n - 11;

		while (k > 0 && (p[11 + k - 1] == '\r' || p[11 + k - 1] == '\n'))
			k--;
		while (k > 0 && p[11] == ' ') {
			p++;
			k--;
		}
		if (k >= h->upsize)
			k = h->upsize - 1;
		memcpy(h->upstream, p + 11, k);
		h->upstream[k] = '\0';
	}
	return n;
}

static __thread CURL *tls_curl; /* one handle (and kept connection) per thread */

int http(const struct opts *o, const char *method, const char *url, const char *json_body,
	 long timeout_ms, char **body, int *retry_after, char *upstream, size_t upsize)
{
	struct buf b = { 0 };
	struct hdrs h = { .retry_after = -1, .upstream = upstream, .upsize = upsize };
	struct curl_slist *hl = NULL;
	long status = 0;
	CURL *c;

	if (tls_curl == NULL)
		tls_curl = curl_easy_init();
	c = tls_curl;
	curl_easy_reset(c);
	if (upstream != NULL)
		snprintf(upstream, upsize, "-");
	hl = curl_slist_append(hl, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_USERPWD, o->auth);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	if (json_body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json_body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hl);
	if (retry_after != NULL)
		*retry_after = h.retry_after;
	if (body != NULL)
		*body = b.p;
	else
		free(b.p);
	return (int)status;
}

/* --- write ------------------------------------------------------------------------ */

struct writer {
	const struct opts *o;
	int no;
	FILE *out;
	pthread_mutex_t *lock;
	long long end_ms;
	long count[6]; /* by status class: 0 (none), 1xx..5xx */
	long max_ms;
};

static bool stop_now(const struct writer *w)
{
	return now_ms() >= w->end_ms || (w->o->stop_file && access(w->o->stop_file, F_OK) == 0);
}

static long long body_last_modified(const char *body, bool *is_json)
{
	json_object *j = body ? json_tokener_parse(body) : NULL, *d, *lm;
	long long v = 0;

	*is_json = j != NULL && json_object_is_type(j, json_type_object);
	if (*is_json && json_object_object_get_ex(j, "data", &d) &&
	    json_object_object_get_ex(d, "last_modified", &lm))
		v = json_object_get_int64(lm);
	json_object_put(j);
	return v;
}

static void *writer_run(void *arg)
{
	struct writer *w = arg;
	const struct opts *o = w->o;
	char url[512], body[160];

	for (long n = 0; !stop_now(w); n++) {
		struct wrec r = { 0 };
		char *resp = NULL;
		long long t0 = now_ms();

		r.start = wall_ms();
		snprintf(r.id, sizeof r.id, "%s-%d-%ld", o->tag, w->no, n);
		snprintf(r.coll, sizeof r.coll, "%s%ld", o->prefix, (w->no + n) % o->collections);
		snprintf(url, sizeof url, "%s/v1/buckets/%s/collections/%s/records", o->url, o->bucket,
			 r.coll);
		snprintf(body, sizeof body, "{\"data\":{\"id\":\"%s\",\"n\":%ld}}", r.id, n);
		r.status = http(o, "POST", url, body, o->timeout_ms, &resp, &r.retry_after, r.upstream,
				sizeof r.upstream);
		r.elapsed_ms = (long)(now_ms() - t0);
		r.lm = r.status / 100 == 2 ? body_last_modified(resp, &r.json) : 0;
		if (r.status / 100 != 2)
			(void)body_last_modified(resp, &r.json);
		free(resp);
		pthread_mutex_lock(w->lock);
		fprintf(w->out, "%d\t%s\t%s\t%lld\t%d\t%ld\t%s\t%d\t%lld\n", r.status, r.id, r.coll,
			r.lm, r.retry_after, r.elapsed_ms, r.upstream, r.json ? 1 : 0, r.start);
		pthread_mutex_unlock(w->lock);
		w->count[r.status / 100 < 6 ? r.status / 100 : 0]++;
		if (r.elapsed_ms > w->max_ms)
			w->max_ms = r.elapsed_ms;
		if (r.status / 100 != 2)
			usleep(20000); /* a failing service is not hammered in a tight loop */
	}
	return NULL;
}

static int cmd_write(const struct opts *o)
{
	pthread_t th[64];
	struct writer w[64];
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	FILE *out = fopen(o->out, "a");
	long tot[6] = { 0 }, max_ms = 0;
	int n = o->threads > 64 ? 64 : o->threads;

	if (out == NULL) {
		perror(o->out);
		return 2;
	}
	setvbuf(out, NULL, _IOLBF, 0);
	for (int i = 0; i < n; i++) {
		w[i] = (struct writer){ .o = o, .no = i, .out = out, .lock = &lock,
					.end_ms = now_ms() + o->seconds * 1000LL };
		pthread_create(&th[i], NULL, writer_run, &w[i]);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		for (int k = 0; k < 6; k++)
			tot[k] += w[i].count[k];
		if (w[i].max_ms > max_ms)
			max_ms = w[i].max_ms;
	}
	fclose(out);
	printf("write %s: 2xx=%ld 4xx=%ld 5xx=%ld none=%ld max_ms=%ld\n", o->tag, tot[2], tot[4],
	       tot[5], tot[0], max_ms);
	return 0;
}

/* --- lag ------------------------------------------------------------------------------ */

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* Polls the read URL with _since until id shows; ms from now, -1 after 10 s. */
static long poll_until_seen(const struct opts *o, const char *coll, const char *id, long long lm)
{
	char url[600];
	long long t0 = now_ms();

	snprintf(url, sizeof url, "%s/v1/buckets/%s/collections/%s/records?_since=%lld", o->read_url,
		 o->bucket, coll, lm - 1);
	while (now_ms() - t0 < 10000) {
		char *body = NULL;
		int st = http(o, "GET", url, NULL, 5000, &body, NULL, NULL, 0);
		bool seen = st == 200 && body != NULL && strstr(body, id) != NULL;

		free(body);
		if (seen)
			return (long)(now_ms() - t0);
		usleep(2000);
	}
	return -1;
}

static int cmd_lag(const struct opts *o)
{
	long *ms = calloc((size_t)o->n, sizeof *ms);
	int got = 0, failed = 0;
	char url[512], body[160], id[64];
	const char *coll = o->prefix;

	snprintf(url, sizeof url, "%s/v1/buckets/%s/collections/%s/records", o->url, o->bucket, coll);
	for (int i = 0; i < o->n && ms != NULL; i++) {
		char *resp = NULL;
		bool js;
		long long lm;
		int st;

		snprintf(id, sizeof id, "%s-%d", o->tag, i);
		snprintf(body, sizeof body, "{\"data\":{\"id\":\"%s\"}}", id);
		st = http(o, "POST", url, body, 10000, &resp, NULL, NULL, 0);
		lm = st / 100 == 2 ? body_last_modified(resp, &js) : 0;
		free(resp);
		if (lm == 0) {
			failed++;
			continue;
		}
		if ((ms[got] = poll_until_seen(o, coll, id, lm)) < 0)
			failed++;
		else
			got++;
		usleep(20000);
	}
	if (got == 0) {
		printf("lag: n=0 failed=%d\n", failed);
		return 1;
	}
	qsort(ms, (size_t)got, sizeof *ms, cmp_long);
	printf("lag: n=%d failed=%d median_ms=%ld p99_ms=%ld max_ms=%ld\n", got, failed,
	       ms[got / 2], ms[(got * 99 + 99) / 100 - 1], ms[got - 1]);
	free(ms);
	return failed == 0 ? 0 : 1;
}

/* --- main ------------------------------------------------------------------------------ */

static void usage(void)
{
	fputs("usage: scale_load write --url U --auth U:P --bucket B --prefix P --tag T --out F\n"
	      "                        [--threads N] [--seconds S] [--collections N]\n"
	      "                        [--timeout-ms M] [--stop-file F]\n"
	      "       scale_load check --sentinels 'H:P ...' --master M --list L --bucket B\n"
	      "                        --prefix P --read-url U --auth U:P [--wait S] [--readable] LOG...\n"
	      "       scale_load lag --url U --read-url U --auth U:P --bucket B --prefix C --tag T [--n N]\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = { .threads = 4, .seconds = 10, .collections = 3, .timeout_ms = 15000,
			  .wait_s = 30, .n = 40, .tag = "w", .list = "pawl.events" };
	const char **sv[] = { &o.url, &o.read_url, &o.auth, &o.bucket, &o.prefix, &o.out,
			      &o.stop_file, &o.sentinels, &o.master, &o.list, &o.tag };
	const char *sn[] = { "--url", "--read-url", "--auth", "--bucket", "--prefix", "--out",
			     "--stop-file", "--sentinels", "--master", "--list", "--tag" };
	int *iv[] = { &o.threads, &o.seconds, &o.collections, &o.timeout_ms, &o.wait_s, &o.n };
	const char *in[] = { "--threads", "--seconds", "--collections", "--timeout-ms", "--wait",
			     "--n" };
	int i = 2, rc;

	if (argc < 2)
		usage();
	while (i < argc && strncmp(argv[i], "--", 2) == 0) {
		bool known = false;

		if (strcmp(argv[i], "--readable") == 0) {
			o.readable = known = true;
			i++;
			continue;
		}
		for (size_t k = 0; k < sizeof sv / sizeof *sv && i + 1 < argc; k++)
			if (strcmp(argv[i], sn[k]) == 0)
				*sv[k] = argv[i + 1], known = true;
		for (size_t k = 0; k < sizeof iv / sizeof *iv && i + 1 < argc; k++)
			if (strcmp(argv[i], in[k]) == 0)
				*iv[k] = atoi(argv[i + 1]), known = true;
		if (!known)
			usage();
		i += 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (strcmp(argv[1], "write") == 0 && o.url && o.auth && o.bucket && o.prefix && o.out &&
	    o.collections > 0)
		rc = cmd_write(&o);
	else if (strcmp(argv[1], "check") == 0 && o.sentinels && o.master && o.bucket && o.prefix &&
		 o.read_url && o.auth)
		rc = cmd_check(&o, argc - i, argv + i);
	else if (strcmp(argv[1], "lag") == 0 && o.url && o.read_url && o.auth && o.bucket &&
		 o.prefix && o.n > 0)
		rc = cmd_lag(&o);
	else
		usage();
	curl_global_cleanup();
	return rc;
}
