/*
 * Helpers of the resource suites: requests as the suite's user, JSON
 * accessors, response checks reported at the caller's line, id lists and
 * the SIGHUP config reload. Talks to the stack only through HTTP, its
 * pawl.ini and the supervisor's pid, as an admin would.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "resource_util.h"

#define RELOAD_MS 20000
#define MAX_KIDS 64

static char auth[512];
static char *original_ini; /* pawl.ini before the first ru_reload */

void ru_login(const char *user, const char *password)
{
	basic_auth(auth, sizeof auth, user, password);
}

const char *ru_auth(void)
{
	return auth;
}

const char *ru_fmt(const char *f, ...)
{
	static char ring[16][RU_PATH_LEN];
	static unsigned next;
	char *out = ring[next++ % 16];
	va_list ap;

	va_start(ap, f);
	vsnprintf(out, sizeof ring[0], f, ap);
	va_end(ap);
	return out;
}

void ru_req(struct http_resp *r, const char *method, const char *path, const char *body,
	    const char *h1, const char *h2)
{
	const char *hdrs[4] = { auth, NULL, NULL, NULL };
	size_t n = 1;

	if (h1 != NULL)
		hdrs[n++] = h1;
	if (h2 != NULL)
		hdrs[n++] = h2;
	http_request(method, path, hdrs, body, r);
}

/* --- JSON --------------------------------------------------------------------- */

long long ru_int(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

const char *ru_str(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

size_t ru_len(json_object *a)
{
	return a != NULL && json_object_is_type(a, json_type_array) ? json_object_array_length(a)
								    : 0;
}

size_t ru_keys(json_object *o)
{
	return o != NULL && json_object_is_type(o, json_type_object)
		   ? (size_t)json_object_object_length(o)
		   : 0;
}

long long ru_etag(const struct http_resp *r)
{
	const char *e = resp_header(r, "ETag");
	char *end;
	long long v;

	if (e == NULL)
		return -1;
	if (e[0] != '"' || e[1] < '0' || e[1] > '9')
		return -2;
	v = strtoll(e + 1, &end, 10);
	return strcmp(end, "\"") == 0 ? v : -2;
}

const char *ru_detail_location(const struct http_resp *r)
{
	json_object *d = resp_json(r, "details");

	return ru_len(d) > 0 ? ru_str(json_object_array_get_idx(d, 0), "location") : NULL;
}

/* --- checks ------------------------------------------------------------------- */

long long ru_check_ts_at(const struct http_resp *r, const char *file, unsigned line)
{
	long long lm = ru_int(resp_json(r, "data"), "last_modified");
	const char *date = resp_header(r, "Last-Modified"), *etag = resp_header(r, "ETag");

	check_at(lm > 0, file, line, "%s: no integer data.last_modified: %s", r->what,
		 body_snip(r));
	check_at(ru_etag(r) == lm, file, line, "%s: ETag %s, data.last_modified %lld", r->what,
		 etag ? etag : "missing", lm);
	check_at(resp_header_count(r, "ETag") <= 1, file, line, "%s: several ETags", r->what);
	check_at(date != NULL && curl_getdate(date, NULL) == (time_t)(lm / 1000), file, line,
		 "%s: Last-Modified %s is not %lld ms", r->what, date ? date : "missing", lm);
	return lm;
}

void ru_check_exact_at(json_object *got, const char *want, const char *what, const char *file,
		       unsigned line)
{
	json_object *w = json_tokener_parse(want);

	check_at(w != NULL, file, line, "bad expected JSON %s", want);
	check_at(w != NULL && json_object_equal(got, w), file, line, "%s is not %s but %s", what,
		 want, got ? json_object_to_json_string(got) : "missing");
	json_object_put(w);
}

void ru_check_data_at(const struct http_resp *r, const char *want, const char *file, unsigned line)
{
	json_object *data = resp_json(r, "data"), *copy = NULL;

	if (ru_keys(data) > 0 && json_object_deep_copy(data, &copy, NULL) == 0) {
		json_object_object_del(copy, "id");
		json_object_object_del(copy, "last_modified");
	} else if (data != NULL && json_object_is_type(data, json_type_object)) {
		copy = json_object_new_object();
	}
	if (copy == NULL) {
		check_at(false, file, line, "%s: no data object: %s", r->what, body_snip(r));
		return;
	}
	ru_check_exact_at(copy, want, ru_fmt("%s: data (without id, last_modified)", r->what), file,
			  line);
	json_object_put(copy);
}

void ru_expect_error_at(const char *method, const char *path, const char *body, const char *h1,
			long status, int err_no, const char *file, unsigned line)
{
	struct http_resp r;

	ru_req(&r, method, path, body, h1, NULL);
	assert_error_at(&r, status, err_no, file, line);
	http_resp_free(&r);
}

/* --- writes and reads --------------------------------------------------------------- */

long long ru_put_at(const char *path, const char *data, long want, const char *file, unsigned line)
{
	struct http_resp r;
	long long lm;

	ru_req(&r, "PUT", path, ru_fmt("{\"data\": %s}", data), NULL, NULL);
	assert_status_at(&r, want, file, line);
	lm = ru_int(resp_json(&r, "data"), "last_modified");
	http_resp_free(&r);
	return lm;
}

long long ru_post_at(const char *list, const char *data, char *id, size_t size, const char *file,
		     unsigned line)
{
	struct http_resp r;
	const char *got;
	long long lm;

	ru_req(&r, "POST", list, ru_fmt("{\"data\": %s}", data), NULL, NULL);
	assert_status_at(&r, 201, file, line);
	lm = ru_int(resp_json(&r, "data"), "last_modified");
	got = ru_str(resp_json(&r, "data"), "id");
	if (id != NULL)
		snprintf(id, size, "%s", got ? got : "");
	http_resp_free(&r);
	return lm;
}

const char *ru_bucket(const char *b)
{
	return ru_fmt("/v1/buckets/%s", b);
}

const char *ru_collection(const char *b, const char *c)
{
	return ru_fmt("/v1/buckets/%s/collections/%s", b, c);
}

const char *ru_records(const char *b, const char *c)
{
	return ru_fmt("/v1/buckets/%s/collections/%s/records", b, c);
}

const char *ru_record(const char *b, const char *c, const char *id)
{
	return ru_fmt("/v1/buckets/%s/collections/%s/records/%s", b, c, id);
}

void ru_fresh_collection(char *bucket)
{
	unique_id(bucket, RU_ID_LEN, "rb");
	PUT(ru_bucket(bucket), "{}", 201);
	PUT(ru_collection(bucket, "c"), "{}", 201);
}

void ru_fresh_list(char *list)
{
	char b[RU_ID_LEN];

	ru_fresh_collection(b);
	snprintf(list, RU_PATH_LEN, "/v1/buckets/%s/collections/c/records", b);
}

long long ru_get_lm(const char *path)
{
	struct http_resp r;
	long long lm;

	ru_req(&r, "GET", path, NULL, NULL, NULL);
	lm = r.status == 200 ? ru_int(resp_json(&r, "data"), "last_modified") : -r.status;
	http_resp_free(&r);
	return lm;
}

bool ru_gone(const char *path)
{
	struct http_resp r;
	long long err_no;
	bool ok;

	ru_req(&r, "GET", path, NULL, NULL, NULL);
	err_no = ru_int(r.json, "errno");
	ok = (r.status == 404 && (err_no == 110 || err_no == 111)) ||
	     (r.status == 403 && err_no == 121);
	http_resp_free(&r);
	return ok;
}

long ru_total(const char *list)
{
	struct http_resp r;
	const char *t;
	long n = -1;

	ru_req(&r, "HEAD", list, NULL, NULL, NULL);
	t = resp_header(&r, "Total-Objects");
	if (r.status == 200 && t != NULL)
		n = strtol(t, NULL, 10);
	http_resp_free(&r);
	return n;
}

long long ru_list_etag(const char *method, const char *path)
{
	struct http_resp r;
	long long e;

	ru_req(&r, method, path, NULL, NULL, NULL);
	e = r.status == 200 ? ru_etag(&r) : -r.status;
	http_resp_free(&r);
	return e;
}

/* --- id lists ------------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *ru_ids_csv(const struct http_resp *r, bool sorted)
{
	static char ring[4][8192];
	static unsigned next;
	char *out = ring[next++ % 4];
	json_object *data = resp_json(r, "data");
	size_t n = ru_len(data), o = 0;
	const char **ids;

	if (r->status != 200 || data == NULL || !json_object_is_type(data, json_type_array)) {
		snprintf(out, sizeof ring[0], "<HTTP %ld %s>", r->status, body_snip(r));
		return out;
	}
	ids = calloc(n + 1, sizeof *ids);
	if (ids == NULL)
		return "<out of memory>";
	for (size_t i = 0; i < n; i++) {
		const char *id = ru_str(json_object_array_get_idx(data, i), "id");

		ids[i] = id ? id : "<no id>";
	}
	if (sorted)
		qsort(ids, n, sizeof *ids, cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < n && o < sizeof ring[0]; i++)
		o += (size_t)snprintf(out + o, sizeof ring[0] - o, "%s%s", i ? "," : "", ids[i]);
	free(ids);
	return out;
}

void ru_expect_ids_at(const char *path, const char *want, bool sorted, const char *file,
		      unsigned line)
{
	struct http_resp r;
	const char *got;

	ru_req(&r, "GET", path, NULL, NULL, NULL);
	got = ru_ids_csv(&r, sorted);
	check_at(strcmp(got, want) == 0, file, line, "GET %s: ids %s, expected %s", path, got,
		 want);
	http_resp_free(&r);
}

void ru_ids_add(struct ru_ids *s, const char *id)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		char **p = realloc(s->v, cap * sizeof *p);

		if (p == NULL)
			return;
		s->v = p;
		s->cap = cap;
	}
	s->v[s->n] = strdup(id);
	if (s->v[s->n] != NULL)
		s->n++;
}

void ru_ids_take(struct ru_ids *s, const struct http_resp *r, size_t *deleted)
{
	json_object *data = resp_json(r, "data");

	for (size_t i = 0; i < ru_len(data); i++) {
		json_object *o = json_object_array_get_idx(data, i), *del;

		ru_ids_add(s, ru_str(o, "id") ? ru_str(o, "id") : "<no id>");
		if (deleted != NULL && json_object_object_get_ex(o, "deleted", &del))
			*deleted += json_object_get_boolean(del);
	}
}

void ru_ids_sort(struct ru_ids *s)
{
	if (s->n > 0)
		qsort(s->v, s->n, sizeof *s->v, cmp_str);
}

size_t ru_ids_duplicates(const struct ru_ids *s)
{
	char **copy = malloc((s->n + 1) * sizeof *copy);
	size_t dups = 0;

	if (copy == NULL)
		return s->n;
	if (s->n > 0) {
		memcpy(copy, s->v, s->n * sizeof *copy);
		qsort(copy, s->n, sizeof *copy, cmp_str);
	}
	for (size_t i = 1; i < s->n; i++)
		dups += strcmp(copy[i - 1], copy[i]) == 0;
	free(copy);
	return dups;
}

bool ru_ids_equal(const struct ru_ids *a, const struct ru_ids *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

void ru_ids_free(struct ru_ids *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* --- config reload ------------------------------------------------------------------- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (text = calloc(1, (size_t)n + 1)) != NULL &&
	    fread(text, 1, (size_t)n, f) != (size_t)n) {
		free(text);
		text = NULL;
	}
	fclose(f);
	return text;
}

static bool any_alive(const pid_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pid_alive(pids[i]))
			return true;
	return false;
}

static bool remember_original(void)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/pawl.ini", harness_state_dir());
	return original_ini != NULL || (original_ini = read_file(path)) != NULL;
}

/* pawl.ini becomes the first head_len bytes of head, then a, then b. */
static bool reload_with(const char *head, size_t head_len, const char *a, const char *b)
{
	char path[4096], tmp[4200];
	pid_t sup = supervisor_pid(), kids[MAX_KIDS], now[MAX_KIDS];
	size_t n, m = 0;
	long waited = 0;
	FILE *f;

	snprintf(path, sizeof path, "%s/pawl.ini", harness_state_dir());
	snprintf(tmp, sizeof tmp, "%s.reload", path);
	f = fopen(tmp, "w");
	if (f == NULL)
		return false;
	fprintf(f, "%.*s%s%s", (int)head_len, head, a, b);
	if (fclose(f) != 0 || rename(tmp, path) != 0 || sup <= 0)
		return false;
	n = children_of(sup, kids, MAX_KIDS);
	if (kill(sup, SIGHUP) != 0)
		return false;
	/* polled with a deadline: the old workers finish their requests first */
	while (waited < RELOAD_MS && (any_alive(kids, n) || m < (size_t)harness_workers())) {
		sleep_ms(50);
		waited += 50;
		m = children_of(sup, now, MAX_KIDS);
	}
	return !any_alive(kids, n) && m >= (size_t)harness_workers() &&
	       http_status("/v1/__lbheartbeat__") == 200;
}

bool ru_reload(const char *extra)
{
	if (!remember_original())
		return false;
	return reload_with(original_ini, strlen(original_ini), "", extra ? extra : "");
}

bool ru_reload_edit(const char *from, const char *to)
{
	const char *at;

	if (!remember_original() || (at = strstr(original_ini, from)) == NULL)
		return false;
	return reload_with(original_ini, (size_t)(at - original_ini), to, at + strlen(from));
}

bool ru_reload_restore(void)
{
	bool ok = true;

	if (original_ini != NULL)
		ok = ru_reload(NULL);
	free(original_ini);
	original_ini = NULL;
	return ok;
}
