/*
 * Catch-up (docs/consumers.md "Catching up from empty"): a snapshot of the
 * collection's records, then the stream from a position noted before it.
 * The two overlap -- the relay appends after COMMIT, so changes the snapshot
 * already shows can have entries after the noted position -- and the rule
 * that resolves the overlap is per object: keep the version with the higher
 * last_modified. pawl gives each list's writes strictly increasing
 * timestamps in commit order, so "higher" means "later", whichever of the
 * snapshot or the stream saw it first.
 */
#include "catchup.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

/* One object of the index: live (data) or a tombstone (data NULL). */
struct slot {
	char *id;
	long long last_modified;
	json_object *data;
};

struct catchup {
	char *url, *userpass, bucket[256], collection[256];
	long page;
	FILE *log;
	CURL *curl;
	struct slot *slots;
	size_t cap, used;
	long snapshot, applied, skipped, fetched, tombstones, other, bad;
};

/* --- the index: open addressing on the id ------------------------------- */

static size_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return (size_t)h;
}

static struct slot *find(struct slot *slots, size_t cap, const char *id)
{
	size_t i = hash(id) & (cap - 1);

	while (slots[i].id != NULL && strcmp(slots[i].id, id) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int grow(struct catchup *c)
{
	size_t cap = c->cap ? c->cap * 2 : 1024;
	struct slot *slots = calloc(cap, sizeof *slots);

	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < c->cap; i++)
		if (c->slots[i].id != NULL)
			*find(slots, cap, c->slots[i].id) = c->slots[i];
	free(c->slots);
	c->slots = slots;
	c->cap = cap;
	return 0;
}

/* The slot of id, made (empty, last_modified -1) when absent; NULL when out of memory. */
static struct slot *slot_of(struct catchup *c, const char *id)
{
	struct slot *s;

	if ((c->used + 1) * 10 > c->cap * 7 && grow(c) != 0)
		return NULL;
	s = find(c->slots, c->cap, id);
	if (s->id == NULL) {
		if ((s->id = strdup(id)) == NULL)
			return NULL;
		s->last_modified = -1;
		c->used++;
	}
	return s;
}

/* Takes data (a reference; NULL: a tombstone) as id's version at last_modified. */
static void store(struct slot *s, long long last_modified, json_object *data)
{
	json_object_put(s->data);
	s->data = data;
	s->last_modified = last_modified;
}

/* --- HTTP ---------------------------------------------------------------- */

struct body {
	char *v;
	size_t n;
	char etag[64], next[4096];
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	char *v = realloc(b->v, b->n + size * n + 1);

	if (v == NULL)
		return 0;
	memcpy(v + b->n, p, size * n);
	b->v = v;
	b->n += size * n;
	b->v[b->n] = '\0';
	return size * n;
}

/* Keeps the ETag and Next-Page headers, without their CR LF. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;
	char *dst = NULL;
	size_t cap = 0, skip = 0;

	if (len > 5 && strncasecmp(p, "ETag:", 5) == 0)
		dst = b->etag, cap = sizeof b->etag, skip = 5;
	else if (len > 10 && strncasecmp(p, "Next-Page:", 10) == 0)
		dst = b->next, cap = sizeof b->next, skip = 10;
	if (dst != NULL) {
		while (skip < len && p[skip] == ' ')
			skip++;
		while (len > skip && (p[len - 1] == '\r' || p[len - 1] == '\n'))
			len--;
		snprintf(dst, cap, "%.*s", (int)(len - skip), p + skip);
	}
	return size * n;
}

/* GET url; returns the status (0 when no answer) and the parsed body in *out. */
static long get(struct catchup *c, const char *url, struct body *b, json_object **out)
{
	long status = 0;

	memset(b, 0, sizeof *b);
	*out = NULL;
	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, b);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 30L);
	if (c->userpass != NULL)
		curl_easy_setopt(c->curl, CURLOPT_USERPWD, c->userpass);
	if (curl_easy_perform(c->curl) == CURLE_OK)
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (b->v != NULL)
		*out = json_tokener_parse(b->v);
	free(b->v);
	b->v = NULL;
	return status;
}

/* --- snapshot and entries ------------------------------------------------ */

struct catchup *catchup_new(const char *records_url, const char *userpass, long page, FILE *log)
{
	struct catchup *c = calloc(1, sizeof *c);
	const char *p = records_url ? strstr(records_url, "/buckets/") : NULL;

	if (c == NULL)
		return NULL;
	c->page = page;
	c->log = log;
	/* The entries of this collection are those whose bucket_id and collection_id match. */
	if (p == NULL || sscanf(p, "/buckets/%255[^/]/collections/%255[^/]/records",
				c->bucket, c->collection) != 2 ||
	    (c->url = strdup(records_url)) == NULL ||
	    (userpass != NULL && (c->userpass = strdup(userpass)) == NULL) ||
	    (c->curl = curl_easy_init()) == NULL || grow(c) != 0) {
		catchup_free(c);
		return NULL;
	}
	return c;
}

/* One object of a page: kept if newer than what the index holds (a page may repeat it). */
static int snapshot_object(struct catchup *c, json_object *o)
{
	json_object *id = json_object_object_get(o, "id"), *lm = json_object_object_get(o, "last_modified");
	struct slot *s;

	if (!json_object_is_type(id, json_type_string) || !json_object_is_type(lm, json_type_int) ||
	    (s = slot_of(c, json_object_get_string(id))) == NULL)
		return -1;
	if (json_object_get_int64(lm) > s->last_modified) {
		store(s, json_object_get_int64(lm), json_object_get(o));
		fprintf(c->log, "snapshot %s %lld\n", s->id, s->last_modified);
		c->snapshot++;
	}
	return 0;
}

/* Whether b has a's scheme, host and port ("http://h:p/..."). */
static bool same_origin(const char *a, const char *b)
{
	const char *sep = strstr(a, "://");
	const char *end = sep ? strchr(sep + 3, '/') : NULL;
	size_t n = end ? (size_t)(end - a) : strlen(a);

	return strncmp(a, b, n) == 0 && (b[n] == '/' || b[n] == '\0');
}

/*
 * Every page, newest first (Kinto's default order, -last_modified). The list
 * is read without _since: live objects only. Each page continues below the
 * last object of the one before, so what is written meanwhile sorts above
 * and is not read: the copy ends however fast the writers are (oldest first,
 * every update would move its object to the end and the copy could chase
 * them forever), and it holds no version newer than the first page's ETag.
 * An object written or deleted before its page is read is missed or seen at
 * an older version: its entry is after the noted position, so the stream
 * settles it.
 */
int catchup_snapshot(struct catchup *c, long page_delay_ms)
{
	char url[4096];
	int rc = 0;

	snprintf(url, sizeof url, "%s?_sort=-last_modified&_limit=%ld", c->url, c->page);
	while (rc == 0 && url[0] != '\0') {
		struct body b;
		json_object *doc, *data;
		long status = get(c, url, &b, &doc);

		if (status != 200 || !json_object_object_get_ex(doc, "data", &data) ||
		    !json_object_is_type(data, json_type_array)) {
			fprintf(stderr, "catch-up: GET %s answered %ld\n", url, status);
			rc = -1;
		}
		for (size_t i = 0; rc == 0 && i < json_object_array_length(data); i++)
			rc = snapshot_object(c, json_object_array_get_idx(data, i));
		if (rc == 0 && strstr(url, "_token=") == NULL)
			fprintf(c->log, "etag %s\n", b.etag); /* T: the list's timestamp then */
		json_object_put(doc);
		/* The credentials go with every page: never to another origin than the list's. */
		if (rc == 0 && b.next[0] != '\0' && !same_origin(c->url, b.next)) {
			fprintf(stderr, "catch-up: Next-Page leaves %s: refused\n", c->url);
			rc = -1;
		}
		snprintf(url, sizeof url, "%s", rc == 0 ? b.next : "");
		if (url[0] != '\0' && page_delay_ms > 0)
			nanosleep(&(struct timespec){ page_delay_ms / 1000,
						      (page_delay_ms % 1000) * 1000000 }, NULL);
	}
	if (rc == 0)
		fprintf(c->log, "following %ld\n", c->snapshot);
	fflush(c->log);
	return rc;
}

/* An object whose entry carries no data (data_truncated, or no include_data): GET it. */
static enum catchup_rc fetch(struct catchup *c, struct slot *s, long long entry_lm)
{
	char url[4096];
	struct body b;
	json_object *doc, *data = NULL, *lm;
	char *esc = curl_easy_escape(c->curl, s->id, 0);
	long status;

	snprintf(url, sizeof url, "%s/%s", c->url, esc ? esc : "");
	curl_free(esc);
	status = get(c, url, &b, &doc);
	c->fetched++;
	if (status == 200 && json_object_object_get_ex(doc, "data", &data) &&
	    json_object_object_get_ex(data, "last_modified", &lm) &&
	    json_object_get_int64(lm) >= entry_lm) {
		/* Today's version, maybe newer than the entry: later entries up to it are skipped. */
		store(s, json_object_get_int64(lm), json_object_get(data));
	} else if (status == 404) {
		/* Deleted since: its delete entry follows in the stream with the tombstone's time. */
		store(s, entry_lm, NULL);
	} else {
		json_object_put(doc);
		return CATCHUP_RETRY;
	}
	json_object_put(doc);
	return CATCHUP_OK;
}

/* One impacted object of an entry of the collection. */
static enum catchup_rc impacted(struct catchup *c, const char *entry_id, const char *action,
				json_object *x)
{
	json_object *id = json_object_object_get(x, "id"), *lm = json_object_object_get(x, "last_modified");
	json_object *data = json_object_object_get(x, "new");
	struct slot *s;
	long long at;
	enum catchup_rc rc = CATCHUP_OK;

	if (!json_object_is_type(id, json_type_string) || !json_object_is_type(lm, json_type_int)) {
		fprintf(c->log, "bad %s\n", entry_id);
		c->bad++;
		return CATCHUP_OK;
	}
	if ((s = slot_of(c, json_object_get_string(id))) == NULL)
		return CATCHUP_RETRY;
	at = json_object_get_int64(lm);
	if (at <= s->last_modified) {
		/* The snapshot or an earlier entry has this version or a later one. */
		fprintf(c->log, "skip %s %s %lld %lld\n", entry_id, s->id, at, s->last_modified);
		c->skipped++;
		return CATCHUP_OK;
	}
	if (strcmp(action, "delete") == 0) {
		store(s, at, NULL);
		c->tombstones++;
	} else if (json_object_is_type(data, json_type_object)) {
		store(s, at, json_object_get(data));
	} else if ((rc = fetch(c, s, at)) != CATCHUP_OK) {
		return rc;
	}
	fprintf(c->log, "apply %s %s %lld %lld\n", entry_id, s->id, at, s->last_modified);
	c->applied++;
	return CATCHUP_OK;
}

static const char *member(json_object *o, const char *key)
{
	json_object *v = json_object_object_get(o, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool same(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

enum catchup_rc catchup_entry(struct catchup *c, const char *entry_id, const char *payload)
{
	json_object *ev = json_tokener_parse(payload), *list;
	const char *res = member(ev, "resource_name"), *action = member(ev, "action");
	enum catchup_rc rc = CATCHUP_OK;

	if (res == NULL || action == NULL) {
		fprintf(c->log, "bad %s\n", entry_id);
		c->bad++;
	} else if (same(res, "record") && same(member(ev, "bucket_id"), c->bucket) &&
		   same(member(ev, "collection_id"), c->collection) &&
		   json_object_object_get_ex(ev, "impacted", &list) &&
		   json_object_is_type(list, json_type_array)) {
		for (size_t i = 0; rc == CATCHUP_OK && i < json_object_array_length(list); i++)
			rc = impacted(c, entry_id, action, json_object_array_get_idx(list, i));
	} else if (same(action, "delete") &&
		   ((same(res, "collection") && same(member(ev, "collection_id"), c->collection) &&
		     same(member(ev, "bucket_id"), c->bucket)) ||
		    (same(res, "bucket") && same(member(ev, "bucket_id"), c->bucket)))) {
		/* Its records went as tombstones without an entry each: only a new snapshot knows. */
		fprintf(c->log, "restart %s\n", entry_id);
		rc = CATCHUP_RESTART;
	} else if (same(res, "record") && same(member(ev, "collection_id"), c->collection) &&
		   same(member(ev, "bucket_id"), c->bucket)) {
		fprintf(c->log, "bad %s\n", entry_id); /* ours, without a usable impacted */
		c->bad++;
	} else {
		c->other++;
	}
	json_object_put(ev);
	fflush(c->log);
	return rc;
}

int catchup_write(const struct catchup *c, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	for (size_t i = 0; i < c->cap; i++) {
		const struct slot *s = &c->slots[i];
		json_object *o;

		if (s->id == NULL)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(s->id));
		json_object_object_add(o, "last_modified", json_object_new_int64(s->last_modified));
		json_object_object_add(o, "deleted", json_object_new_boolean(s->data == NULL));
		if (s->data != NULL)
			json_object_object_add(o, "data", json_object_get(s->data));
		fprintf(f, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	return fclose(f) == 0 ? 0 : -1;
}

void catchup_report(const struct catchup *c)
{
	fprintf(stderr, "catch-up: snapshot %ld, applied %ld (fetched %ld, tombstones %ld), "
		"skipped %ld, other %ld, bad %ld\n", c->snapshot, c->applied, c->fetched,
		c->tombstones, c->skipped, c->other, c->bad);
}

void catchup_free(struct catchup *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->cap; i++) {
		free(c->slots[i].id);
		json_object_put(c->slots[i].data);
	}
	free(c->slots);
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c->url);
	free(c->userpass);
	free(c);
}
