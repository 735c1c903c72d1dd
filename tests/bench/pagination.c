/*
 * Pagination benchmark (docs/protocol.md §4: "fetching page 1,000 costs what page 1
 * costs"). Starts the local stack like the integration suite, creates
 * OBJECTS records in one collection through the HTTP API with CLIENTS
 * keep-alive clients, pages through them at _limit=100 following Next-Page
 * and checks that every record is seen exactly once, then times page 1
 * against page 400 (median of several fetches each).
 *
 *   pagination [OBJECTS [CLIENTS]]     (defaults: 50000 4)
 *
 * Times are printed, never asserted; the exit status reports correctness only.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "harness.h"

#define LIMIT 100
#define FAR_PAGE 400
#define SAMPLES 9
#define MAX_CLIENTS 32
#define ID_SIZE 40

static char auth[512];

struct buf {
	char *data;
	size_t len, cap;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = size * n;

	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		char *q;

		while (cap < b->len + len + 1)
			cap *= 2;
		if ((q = realloc(b->data, cap)) == NULL)
			return 0;
		b->data = q;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

/* Keeps the Next-Page header of the response into arg (a char[8192]). */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	char *next = arg;
	size_t len = size * n;

	if (len > 10 && strncasecmp(p, "Next-Page:", 10) == 0) {
		size_t skip = 10, end = len;

		while (skip < len && p[skip] == ' ')
			skip++;
		while (end > skip && (p[end - 1] == '\r' || p[end - 1] == '\n'))
			end--;
		snprintf(next, 8192, "%.*s", (int)(end - skip), p + skip);
	}
	return len;
}

/* A keep-alive client: one curl handle for all its requests. */
struct client {
	CURL *c;
	struct curl_slist *hdrs;
	struct buf body;
	char next[8192];
};

static int client_init(struct client *cl)
{
	memset(cl, 0, sizeof *cl);
	cl->c = curl_easy_init();
	if (cl->c == NULL)
		return -1;
	cl->hdrs = curl_slist_append(NULL, auth);
	cl->hdrs = curl_slist_append(cl->hdrs, "Content-Type: application/json");
	cl->hdrs = curl_slist_append(cl->hdrs, "Expect:");
	curl_easy_setopt(cl->c, CURLOPT_HTTPHEADER, cl->hdrs);
	curl_easy_setopt(cl->c, CURLOPT_PROXY, "");
	curl_easy_setopt(cl->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cl->c, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(cl->c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(cl->c, CURLOPT_WRITEDATA, &cl->body);
	curl_easy_setopt(cl->c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(cl->c, CURLOPT_HEADERDATA, cl->next);
	return 0;
}

static void client_free(struct client *cl)
{
	curl_slist_free_all(cl->hdrs);
	curl_easy_cleanup(cl->c);
	free(cl->body.data);
}

/* One request on the client's connection; returns the HTTP status (0: none). */
static long client_do(struct client *cl, const char *method, const char *url, const char *body)
{
	long status = 0;

	cl->body.len = 0;
	cl->next[0] = '\0';
	curl_easy_setopt(cl->c, CURLOPT_URL, url);
	curl_easy_setopt(cl->c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(cl->c, CURLOPT_POSTFIELDS, body);
	if (body == NULL)
		curl_easy_setopt(cl->c, CURLOPT_HTTPGET, 1L);
	if (curl_easy_perform(cl->c) != CURLE_OK)
		return 0;
	curl_easy_getinfo(cl->c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* --- creation ------------------------------------------------------------------ */

struct creator {
	const char *url;
	long from, to;
	char (*ids)[ID_SIZE];
	long failed;
};

static void *create(void *arg)
{
	struct creator *w = arg;
	struct client cl;
	char body[64];

	if (client_init(&cl) != 0) {
		w->failed = w->to - w->from;
		return NULL;
	}
	for (long i = w->from; i < w->to; i++) {
		json_object *doc, *data, *id;

		snprintf(body, sizeof body, "{\"data\": {\"i\": %ld}}", i);
		if (client_do(&cl, "POST", w->url, body) != 201) {
			w->failed++;
			continue;
		}
		doc = json_tokener_parse(cl.body.data);
		if (doc != NULL && json_object_object_get_ex(doc, "data", &data) &&
		    json_object_object_get_ex(data, "id", &id))
			snprintf(w->ids[i], ID_SIZE, "%s", json_object_get_string(id));
		else
			w->failed++;
		json_object_put(doc);
	}
	client_free(&cl);
	return NULL;
}

/* --- checks and timing ---------------------------------------------------------------- */

static int cmp_id(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Appends the ids of a list body to seen; returns how many, -1 if it is not a list. */
static long take_ids(const char *text, char (*seen)[ID_SIZE], long *nseen, long cap)
{
	json_object *doc = json_tokener_parse(text), *data, *id;
	long n = -1;

	if (doc != NULL && json_object_object_get_ex(doc, "data", &data) &&
	    json_object_is_type(data, json_type_array)) {
		n = (long)json_object_array_length(data);
		for (long i = 0; i < n; i++) {
			if (*nseen < cap &&
			    json_object_object_get_ex(json_object_array_get_idx(data, (size_t)i),
						      "id", &id))
				snprintf(seen[(*nseen)++], ID_SIZE, "%s",
					 json_object_get_string(id));
		}
	}
	json_object_put(doc);
	return n;
}

/* Median time of SAMPLES GETs of url (alternated by the caller's loop order). */
static void time_pages(struct client *cl, const char *first, const char *far, double *t_first,
		       double *t_far)
{
	double a[SAMPLES], b[SAMPLES];

	client_do(cl, "GET", first, NULL); /* warm both */
	client_do(cl, "GET", far, NULL);
	for (int i = 0; i < SAMPLES; i++) {
		double t0 = now_ms();

		client_do(cl, "GET", first, NULL);
		a[i] = now_ms() - t0;
		t0 = now_ms();
		client_do(cl, "GET", far, NULL);
		b[i] = now_ms() - t0;
	}
	*t_first = median(a, SAMPLES);
	*t_far = median(b, SAMPLES);
}

/* The same timing for a sort on a data field: walks to page FAR_PAGE first. */
static void sorted_far(struct client *cl, const char *list, double *t_first, double *t_far)
{
	char first[8192], url[8192];

	snprintf(first, sizeof first, "%s?_sort=-i&_limit=%d", list, LIMIT);
	snprintf(url, sizeof url, "%s", first);
	for (int page = 1; page < FAR_PAGE && url[0] != '\0'; page++) {
		if (client_do(cl, "GET", url, NULL) != 200)
			break;
		snprintf(url, sizeof url, "%s", cl->next);
	}
	*t_first = *t_far = -1;
	if (url[0] != '\0')
		time_pages(cl, first, url, t_first, t_far);
}

int main(int argc, char **argv)
{
	long objects = argc > 1 ? strtol(argv[1], NULL, 10) : 50000;
	int clients = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 4;
	char(*ids)[ID_SIZE] = NULL, (*seen)[ID_SIZE] = NULL;
	char list[512], url[8192], first[8192], far[8192] = "";
	struct creator w[MAX_CLIENTS];
	pthread_t th[MAX_CLIENTS];
	struct client cl;
	long failed = 0, nseen = 0, pages = 0, bad_pages = 0;
	double t0, t_create, t_walk, t_first = 0, t_far = 0, *page_ms = NULL;
	bool ok = false;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (objects < 1 || clients < 1 || clients > MAX_CLIENTS) {
		fprintf(stderr, "usage: %s [OBJECTS [CLIENTS (1-%d)]]\n", argv[0], MAX_CLIENTS);
		return 2;
	}
	ids = calloc((size_t)objects, sizeof *ids);
	seen = calloc((size_t)objects + 1, sizeof *seen);
	page_ms = calloc((size_t)objects / LIMIT + 2, sizeof *page_ms);
	if (ids == NULL || seen == NULL || page_ms == NULL || harness_start() != 0)
		goto out;
	basic_auth(auth, sizeof auth, "bench-user", "bench-password");
	if (client_init(&cl) != 0)
		goto out;
	snprintf(url, sizeof url, "%s/v1/buckets/bench", harness_base_url());
	if (client_do(&cl, "PUT", url, "{\"data\": {}}") != 201)
		goto out_client;
	snprintf(url, sizeof url, "%s/v1/buckets/bench/collections/c", harness_base_url());
	if (client_do(&cl, "PUT", url, "{\"data\": {}}") != 201)
		goto out_client;
	snprintf(list, sizeof list, "%s/v1/buckets/bench/collections/c/records",
		 harness_base_url());

	printf("bench: creating %ld records with %d HTTP clients...\n", objects, clients);
	t0 = now_ms();
	for (int i = 0; i < clients; i++) {
		w[i] = (struct creator){ list, objects * i / clients, objects * (i + 1) / clients,
					 ids, 0 };
		if (pthread_create(&th[i], NULL, create, &w[i]) != 0)
			abort();
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(th[i], NULL);
		failed += w[i].failed;
	}
	t_create = now_ms() - t0;
	printf("bench: created %ld records in %.1f s (%.0f/s), %ld failed\n", objects - failed,
	       t_create / 1000, (double)(objects - failed) * 1000 / t_create, failed);

	/* page through at _limit=100 */
	snprintf(first, sizeof first, "%s?_limit=%d", list, LIMIT);
	snprintf(url, sizeof url, "%s", first);
	t0 = now_ms();
	while (url[0] != '\0' && pages <= objects / LIMIT + 1) {
		double p0 = now_ms();
		long status = client_do(&cl, "GET", url, NULL), n;

		page_ms[pages] = now_ms() - p0;
		pages++;
		if (pages == FAR_PAGE)
			snprintf(far, sizeof far, "%s", url);
		n = status == 200 ? take_ids(cl.body.data, seen, &nseen, objects + 1) : -1;
		if (n < 0 || (cl.next[0] != '\0' && n != LIMIT))
			bad_pages++;
		snprintf(url, sizeof url, "%s", cl.next);
	}
	t_walk = now_ms() - t0;
	printf("bench: paged through in %.1f s: %ld pages, %ld records seen, %ld bad pages\n",
	       t_walk / 1000, pages, nseen, bad_pages);

	/* every record exactly once */
	qsort(ids, (size_t)objects, sizeof *ids, cmp_id);
	qsort(seen, (size_t)nseen, sizeof *seen, cmp_id);
	ok = failed == 0 && bad_pages == 0 && nseen == objects &&
	     memcmp(ids, seen, (size_t)objects * sizeof *ids) == 0;
	printf("bench: every record seen exactly once: %s\n", ok ? "yes" : "NO");

	if (far[0] != '\0') {
		double walk_first = page_ms[0], walk_far = page_ms[FAR_PAGE - 1];

		time_pages(&cl, first, far, &t_first, &t_far);
		printf("bench: during the walk: page 1 %.2f ms, page %d %.2f ms\n", walk_first,
		       FAR_PAGE, walk_far);
		printf("bench: page 1: %.2f ms, page %d: %.2f ms (median of %d GETs each, "
		       "_limit=%d, %ld records)\n",
		       t_first, FAR_PAGE, t_far, SAMPLES, LIMIT, objects);
		printf("bench: median page over the walk: %.2f ms\n", median(page_ms, (int)pages));
		sorted_far(&cl, list, &t_first, &t_far);
		printf(
		    "bench: _sort=-i (a data field, no index): page 1: %.2f ms, page %d: %.2f ms\n",
		    t_first, FAR_PAGE, t_far);
	} else {
		printf("bench: fewer than %d pages: no page-%d timing\n", FAR_PAGE, FAR_PAGE);
	}
out_client:
	client_free(&cl);
out:
	harness_finish(ok);
	free(ids);
	free(seen);
	free(page_ms);
	return ok ? 0 : 1;
}
