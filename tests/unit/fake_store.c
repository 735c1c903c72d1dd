/*
 * The in-memory store of the handler tests. It follows the SQL of
 * app/store/objects.c (here) and app/store/acl.c (fake_acl.c) statement by
 * statement, on arrays
 * searched linearly (tests hold a handful of rows). Not modelled, and so
 * failing loudly: list filters, sorts other than by last_modified, keyset
 * pages (_token), the repair of timestamps beyond 2^53 (sql/0007), personal
 * buckets. Locks are no-ops: one test runs one transaction at a time, so
 * there is nothing to order. A deferred check is answered at once, which is
 * what PostgreSQL answers too, as nothing else runs in between.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "core/json.h"
#include "core/str.h"
#include "fake_store_impl.h"

#define MAX_TS 9007199254740992LL

void *fake_push(void *items, size_t *n, size_t size)
{
	char *p = realloc(*(void **)items, (*n + 1) * size);

	if (p == NULL)
		abort();
	*(void **)items = p;
	memset(p + *n * size, 0, size);
	return p + (*n)++ * size;
}

char *fake_dup(const char *s)
{
	char *d = strdup(s != NULL ? s : "");

	if (d == NULL)
		abort();
	return d;
}

enum pawl_err fake_unimplemented(struct fake_store *f, const char *what, struct pawl_error *err)
{
	f->unimplemented++;
	return pawl_error_set(err, PAWL_ERR_INTERNAL, "fake store: not implemented: %s", what);
}

static long long now_ms(const struct fake_store *f)
{
	struct timespec ts;

	if (f->now != 0)
		return f->now;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True when s is uri itself (when self) or lies below it ("uri/..."). */
bool fake_under(const char *s, const char *uri, bool self)
{
	size_t n = strlen(uri);

	return (self && strcmp(s, uri) == 0) || (strncmp(s, uri, n) == 0 && s[n] == '/');
}

static struct fake_object *row(const struct fake_store *f, const struct pawl_list_key *key,
    const char *id)
{
	size_t i;

	for (i = 0; i < f->n_objects; i++)
		if (strcmp(f->objects[i].parent_id, key->parent_id) == 0 &&
		    strcmp(f->objects[i].resource_name, key->resource_name) == 0 &&
		    strcmp(f->objects[i].id, id) == 0)
			return &f->objects[i];
	return NULL;
}

static struct list_ts *list_of(struct fake_store *f, const char *parent_id,
    const char *resource_name, bool create)
{
	struct list_ts *l;
	size_t i;

	for (i = 0; i < f->n_lists; i++)
		if (strcmp(f->lists[i].parent_id, parent_id) == 0 &&
		    strcmp(f->lists[i].resource_name, resource_name) == 0)
			return &f->lists[i];
	if (!create)
		return NULL;
	l = fake_push(&f->lists, &f->n_lists, sizeof(*l));
	l->parent_id = fake_dup(parent_id);
	l->resource_name = fake_dup(resource_name);
	l->ts = -1;
	return l;
}

/* A copy of the row for the caller, in the arena. */
static enum pawl_err copy_out(struct pawl_arena *arena, const struct fake_object *o,
    struct pawl_object *out, struct pawl_error *err)
{
	out->id = pawl_arena_strdup(arena, o->id);
	out->data = pawl_arena_strdup(arena, o->data);
	out->last_modified = o->last_modified;
	out->deleted = o->deleted;
	if (out->id == NULL || out->data == NULL)
		return pawl_error_nomem(err);
	return PAWL_OK;
}

enum pawl_err fake_get(void *impl, struct pawl_arena *arena, const struct pawl_store_item *it,
    struct pawl_object *out, bool *found, struct pawl_error *err)
{
	struct fake_object *o = row(impl, it->key, it->id);

	*found = o != NULL;
	return o != NULL ? copy_out(arena, o, out, err) : PAWL_OK;
}

static enum pawl_err exists(void *impl, struct pawl_arena *arena, const struct pawl_list_key *key,
    const char *id, bool *yes, struct pawl_error *err)
{
	struct fake_object *o = row(impl, key, id);

	(void)arena;
	(void)err;
	*yes = o != NULL && !o->deleted;
	return PAWL_OK;
}

static enum pawl_err exists_defer(void *impl, struct pawl_arena *arena,
    const struct pawl_list_key *key, const char *id, struct pawl_store_check *chk,
    struct pawl_error *err)
{
	chk->slot.res = NULL;
	chk->answered = true;
	return exists(impl, arena, key, id, &chk->exists, err);
}

static enum pawl_err exists_answer(void *impl, struct pawl_arena *arena,
    const struct pawl_store_check *chk, bool *yes, struct pawl_error *err)
{
	(void)arena;
	*yes = chk->exists;
	if (!chk->answered)
		return fake_unimplemented(impl, "a check that was never deferred", err);
	return PAWL_OK;
}

/* objects.c's BUMP_SQL: GREATEST(now or the floor, previous + 1). */
static enum pawl_err bump(void *impl, struct pawl_arena *arena, const struct pawl_list_key *key,
    long long at_least, long long *ts, struct pawl_error *err)
{
	struct fake_store *f = impl;
	struct list_ts *l = list_of(f, key->parent_id, key->resource_name, true);
	long long next = now_ms(f) > at_least ? now_ms(f) : at_least;

	(void)arena;
	if (l->ts >= MAX_TS)
		return fake_unimplemented(f, "a list timestamp beyond 2^53", err);
	if (l->ts >= 0 && l->ts + 1 > next)
		next = l->ts + 1;
	*ts = l->ts = next;
	return PAWL_OK;
}

/* data with id and last_modified set, as PostgreSQL's `data || jsonb_build_object(...)`. */
static char *served(const char *data, const char *id, long long ts, bool deleted)
{
	json_object *o = deleted ? json_object_new_object() : json_tokener_parse(data);
	char *text;

	if (o == NULL || !json_object_is_type(o, json_type_object))
		abort();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "last_modified", json_object_new_int64(ts));
	if (deleted)
		json_object_object_add(o, "deleted", json_object_new_boolean(1));
	text = fake_dup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return text;
}

static enum pawl_err put(void *impl, struct pawl_arena *arena, const struct pawl_store_item *it,
    struct pawl_object *out, struct pawl_error *err)
{
	struct fake_store *f = impl;
	struct fake_object *o;
	long long ts;
	enum pawl_err rc;

	if ((rc = bump(f, arena, it->key, it->ts, &ts, err)) != PAWL_OK)
		return rc;
	if ((o = row(f, it->key, it->id)) == NULL) {
		o = fake_push(&f->objects, &f->n_objects, sizeof(*o));
		o->parent_id = fake_dup(it->key->parent_id);
		o->resource_name = fake_dup(it->key->resource_name);
		o->id = fake_dup(it->id);
	}
	free(o->data);
	o->data = served(it->data, it->id, ts, false);
	o->last_modified = ts;
	o->deleted = false;
	return copy_out(arena, o, out, err);
}

static void bury_row(struct fake_object *o, long long ts)
{
	free(o->data);
	o->data = served(NULL, o->id, ts, true);
	o->last_modified = ts;
	o->deleted = true;
}

static enum pawl_err bury(void *impl, struct pawl_arena *arena, const struct pawl_store_item *it,
    struct pawl_object *out, struct pawl_error *err)
{
	struct fake_object *o = row(impl, it->key, it->id);

	if (o == NULL)
		return pawl_error_set(err, PAWL_ERR_NO_OBJECT, "object vanished");
	bury_row(o, it->ts);
	return copy_out(arena, o, out, err);
}

struct removed {
	const char *resource_name;
	long long count;
};

static int by_resource(const void *a, const void *b)
{
	return strcmp(((const struct removed *)a)->resource_name,
	    ((const struct removed *)b)->resource_name);
}

/*
 * objects.c's CASCADE_SQL, one list at a time: its c live objects below uri
 * become tombstones at ts - c + 1 .. ts in their former order, where ts is
 * GREATEST(now + c - 1, the list's last + c).
 */
static void bury_list(struct fake_store *f, struct fake_object *first, long long *n_done)
{
	struct list_ts *l = list_of(f, first->parent_id, first->resource_name, true);
	long long c = 0, ts, k;
	size_t i, j;

	for (i = 0; i < f->n_objects; i++)
		c += !f->objects[i].deleted && strcmp(f->objects[i].parent_id, first->parent_id) == 0 &&
		    strcmp(f->objects[i].resource_name, first->resource_name) == 0;
	ts = now_ms(f) + c - 1;
	if (l->ts >= 0 && l->ts + c > ts)
		ts = l->ts + c;
	l->ts = ts;
	for (k = 1; k <= c; k++) {
		struct fake_object *oldest = NULL;

		for (j = 0; j < f->n_objects; j++) {
			struct fake_object *o = &f->objects[j];

			if (!o->deleted && strcmp(o->parent_id, first->parent_id) == 0 &&
			    strcmp(o->resource_name, first->resource_name) == 0 &&
			    (oldest == NULL || o->last_modified < oldest->last_modified))
				oldest = o;
		}
		bury_row(oldest, ts - c + k);
	}
	*n_done = c;
}

static enum pawl_err delete_children(void *impl, struct pawl_arena *arena, const char *uri,
    struct pawl_cascade *out, struct pawl_error *err)
{
	struct fake_store *f = impl;
	struct removed gone[64];
	size_t n = 0, i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < f->n_objects; i++) {
		struct fake_object *o = &f->objects[i];

		if (o->deleted || !fake_under(o->parent_id, uri, true))
			continue;
		if (n == 64)
			return fake_unimplemented(f, "a cascade over more than 64 lists", err);
		if ((gone[n].resource_name = pawl_arena_strdup(arena, o->resource_name)) == NULL)
			return pawl_error_nomem(err);
		bury_list(f, o, &gone[n++].count);
	}
	/* Summed per resource name, names sorted (the SQL's GROUP BY 1 ORDER BY 1). */
	qsort(gone, n, sizeof(*gone), by_resource);
	for (i = 0; i < n; i++) {
		if (out->n > 0 && strcmp(out->kinds[out->n - 1].resource_name,
		    gone[i].resource_name) == 0) {
			out->kinds[out->n - 1].count += gone[i].count;
			continue;
		}
		if (out->n == PAWL_CASCADE_KINDS)
			break;
		out->kinds[out->n].resource_name = gone[i].resource_name;
		out->kinds[out->n++].count = gone[i].count;
	}
	return PAWL_OK;
}

static enum pawl_err list_timestamp(void *impl, struct pawl_arena *arena,
    const struct pawl_list_key *key, bool readonly, long long *ts, struct pawl_error *err)
{
	struct fake_store *f = impl;
	struct list_ts *l = list_of(f, key->parent_id, key->resource_name, false);

	(void)arena;
	if (l != NULL) {
		*ts = l->ts;
		return PAWL_OK;
	}
	if (readonly) {
		*ts = 0; /* as pg: an empty list nothing ever wrote to */
		return PAWL_OK;
	}
	l = list_of(f, key->parent_id, key->resource_name, true);
	*ts = l->ts = now_ms(f);
	return PAWL_OK;
}

static enum pawl_err lock_list(void *impl, struct pawl_arena *arena,
    const struct pawl_list_key *key, struct pawl_error *err)
{
	(void)impl, (void)arena, (void)key, (void)err;
	return PAWL_OK;
}

static enum pawl_err lock_lists(void *impl, struct pawl_arena *arena,
    const struct pawl_list_key *keys, size_t n, struct pawl_error *err)
{
	(void)impl, (void)arena, (void)keys, (void)n, (void)err;
	return PAWL_OK;
}

static enum pawl_err lock_object(void *impl, struct pawl_arena *arena,
    const struct pawl_list_key *key, const char *id, struct pawl_error *err)
{
	(void)impl, (void)arena, (void)key, (void)id, (void)err;
	return PAWL_OK;
}

/* list_query.c's WHERE without filters: live (or with tombstones), bounds, the ACL filter. */
static bool matches(const struct fake_store *f, struct pawl_arena *arena,
    const struct pawl_list_request *lr, const struct fake_object *o, bool live_only)
{
	const struct pawl_query *q = lr->query;
	const char *uri;
	size_t i;
	bool ok = false;

	if (strcmp(o->parent_id, lr->key->parent_id) != 0 ||
	    strcmp(o->resource_name, lr->key->resource_name) != 0)
		return false;
	if (o->deleted && (live_only || q == NULL || !q->with_tombstones))
		return false;
	if (q != NULL && ((q->has_since && o->last_modified <= q->since) ||
	    (q->has_before && o->last_modified >= q->before)))
		return false;
	if (lr->acl_prefix == NULL)
		return true;
	uri = pawl_arena_printf(arena, "%s/%s", lr->acl_prefix, o->id);
	for (i = 0; uri != NULL && i < lr->n_acl_perms && !ok; i++)
		ok = fake_granted(f, lr->acl_principals, uri, lr->acl_perms[i]);
	return ok;
}

/* NULL when lr asks for what the fake does not do, else the sort's direction in *desc. */
static const char *unsupported(const struct pawl_list_request *lr, bool *desc)
{
	const struct pawl_query *q = lr->query;

	*desc = true;
	if (lr->after != NULL)
		return "keyset pages (_token)";
	if (q == NULL)
		return NULL;
	if (q->n_filters > 0)
		return "list filters";
	if (q->n_sort > 1 || (q->n_sort == 1 && q->sort[0].field.kind != PAWL_FIELD_LAST_MODIFIED))
		return "sorting by anything but last_modified";
	*desc = q->n_sort == 0 || q->sort[0].desc;
	return NULL;
}

static enum pawl_err fetch(void *impl, struct pawl_arena *arena,
    const struct pawl_list_request *lr, struct pawl_list_page *page, struct pawl_error *err)
{
	struct fake_store *f = impl;
	const struct fake_object **hit;
	const char *no;
	size_t n = 0, i, j;
	bool desc;
	enum pawl_err rc;

	memset(page, 0, sizeof(*page));
	if ((no = unsupported(lr, &desc)) != NULL)
		return fake_unimplemented(f, no, err);
	hit = pawl_arena_calloc(arena, f->n_objects + 1, sizeof(*hit));
	page->items = pawl_arena_calloc(arena, f->n_objects + 1, sizeof(*page->items));
	if (hit == NULL || page->items == NULL)
		return pawl_error_nomem(err);
	for (i = 0; i < f->n_objects; i++)
		if (matches(f, arena, lr, &f->objects[i], false))
			hit[n++] = &f->objects[i];
	/* Insertion sort by last_modified (unique within a list). */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && (desc ? hit[j]->last_modified > hit[j - 1]->last_modified :
		    hit[j]->last_modified < hit[j - 1]->last_modified); j--) {
			const struct fake_object *t = hit[j];

			hit[j] = hit[j - 1];
			hit[j - 1] = t;
		}
	page->more = (long long)n > lr->limit;
	for (i = 0; i < n && (long long)i < lr->limit; i++)
		if ((rc = copy_out(arena, hit[i], &page->items[page->n++], err)) != PAWL_OK)
			return rc;
	return PAWL_OK;
}

static enum pawl_err count(void *impl, struct pawl_arena *arena,
    const struct pawl_list_request *lr, long long *n, struct pawl_error *err)
{
	struct fake_store *f = impl;
	size_t i;

	*n = 0;
	/* A count ignores the sort and the page: only filters are out of reach. */
	if (lr->query != NULL && lr->query->n_filters > 0)
		return fake_unimplemented(f, "list filters", err);
	for (i = 0; i < f->n_objects; i++)
		*n += matches(f, arena, lr, &f->objects[i], true);
	return PAWL_OK;
}

static enum pawl_err personal_mark(void *impl, struct pawl_arena *arena,
    const struct pawl_personal_ref *p, struct pawl_error *err)
{
	(void)arena;
	(void)p;
	return fake_unimplemented(impl, "personal buckets", err);
}

static enum pawl_err personal_check(void *impl, struct pawl_arena *arena,
    const struct pawl_personal_ref *p, bool *mine, struct pawl_error *err)
{
	(void)arena;
	(void)p;
	*mine = false;
	return fake_unimplemented(impl, "personal buckets", err);
}

static const struct pawl_store_ops fake_ops = {
	.get = fake_get,
	.exists = exists,
	.exists_defer = exists_defer,
	.exists_answer = exists_answer,
	.put = put,
	.remove = bury,
	.delete_children = delete_children,
	.bump = bump,
	.list_timestamp = list_timestamp,
	.lock_list = lock_list,
	.lock_lists = lock_lists,
	.lock_object = lock_object,
	.fetch = fetch,
	.count = count,
	.acl_check = fake_acl_check,
	.acl_get = fake_acl_get,
	.acl_get_for_writer = fake_acl_get_for_writer,
	.acl_read_object = fake_acl_read_object,
	.acl_replace = fake_acl_replace,
	.acl_delete_tree = fake_acl_delete_tree,
	.set_members = fake_set_members,
	.delete_members = fake_delete_members,
	.groups = fake_groups,
	.personal_mark = personal_mark,
	.personal_check = personal_check,
};

struct fake_store *fake_store_new(void)
{
	struct fake_store *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->handle.ops = &fake_ops;
	f->handle.impl = f;
	return f;
}

void fake_store_free(struct fake_store *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n_objects; i++) {
		free(f->objects[i].parent_id);
		free(f->objects[i].resource_name);
		free(f->objects[i].id);
		free(f->objects[i].data);
	}
	for (i = 0; i < f->n_lists; i++) {
		free(f->lists[i].parent_id);
		free(f->lists[i].resource_name);
	}
	fake_acl_free(f);
	free(f->objects);
	free(f->lists);
	free(f);
}

struct pawl_store *fake_store_handle(struct fake_store *f)
{
	return &f->handle;
}

void fake_store_set_now(struct fake_store *f, long long now)
{
	f->now = now;
}

const struct fake_object *fake_store_find(const struct fake_store *f, const char *parent_id,
    const char *resource_name, const char *id)
{
	struct pawl_list_key key = { parent_id, resource_name };

	return row(f, &key, id);
}

long long fake_store_list_ts(const struct fake_store *f, const char *parent_id,
    const char *resource_name)
{
	size_t i;

	for (i = 0; i < f->n_lists; i++)
		if (strcmp(f->lists[i].parent_id, parent_id) == 0 &&
		    strcmp(f->lists[i].resource_name, resource_name) == 0)
			return f->lists[i].ts;
	return -1;
}

unsigned fake_store_unimplemented(const struct fake_store *f)
{
	return f->unimplemented;
}
