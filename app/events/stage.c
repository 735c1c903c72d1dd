/*
 * Staging and merging ResourceChanged/ResourceRead events, and the event
 * accessors of the plugin API (pawl/event.h). Events live in the
 * transaction's arena and are published only after COMMIT (txn/txn.c; see
 * docs/ARCHITECTURE.md, "The commit and the events"); nothing here does I/O. The payload
 * JSON is built once, when the stage is sealed, from the event's first op
 * (as Kinto does) plus the cascade counts of all of them and the ids of
 * every impacted object; a listener that wants the objects' data gets a
 * copy built for it (pawl_stage_payload_data).
 */
#include <stdlib.h>
#include <string.h>


#include "events/stage.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/str.h"

struct impact {
	const char *new_json;
	const char *old_json;
	const char *id;         /* its "id", NULL when the JSON names none */
	long long last_modified; /* of new_json (a delete's tombstone), else of old_json */
	bool has_lm;
};

struct pawl_event {
	enum pawl_event_type type;
	enum pawl_event_action action;
	long long timestamp;
	char id[PAWL_UUID_LEN + 1];
	const char *resource_name;
	const char *parent_id;
	const char *list_key;
	const char *uri;
	const char *user_id;
	const char *item_key;   /* "<resource_name>_id" on item URLs, else NULL */
	struct pawl_matchdict md;
	const char *payload;
	size_t impacted_at;     /* payload offset of ,"impacted":[...]} */
	struct impact *impacts;
	size_t n_impacts, cap_impacts;
	struct pawl_cascade cascade; /* summed over the merged ops */
};

struct pawl_stage {
	struct pawl_arena *arena;
	struct pawl_stage_op *ops;
	size_t n_ops, cap_ops;
	struct pawl_event **events;
	size_t n, cap;
	bool sealed;
	bool outboxed;
};

enum pawl_event_type pawl_event_type(const struct pawl_event *ev) { return ev->type; }
enum pawl_event_action pawl_event_action(const struct pawl_event *ev) { return ev->action; }
long long pawl_event_timestamp(const struct pawl_event *ev) { return ev->timestamp; }
const char *pawl_event_id(const struct pawl_event *ev) { return ev->id; }
const char *pawl_event_resource_name(const struct pawl_event *ev) { return ev->resource_name; }
const char *pawl_event_uri(const struct pawl_event *ev) { return ev->uri; }
const char *pawl_event_user_id(const struct pawl_event *ev) { return ev->user_id; }
const char *pawl_event_payload(const struct pawl_event *ev) { return ev->payload; }
const char *pawl_event_list_key(const struct pawl_event *ev) { return ev->list_key; }
size_t pawl_event_impacted_count(const struct pawl_event *ev) { return ev->n_impacts; }
size_t pawl_stage_op_count(const struct pawl_stage *st) { return st->n_ops; }
const struct pawl_stage_op *pawl_stage_op_at(const struct pawl_stage *st, size_t i) { return &st->ops[i]; }

const char *pawl_event_impacted_new(const struct pawl_event *ev, size_t i)
{
	return i < ev->n_impacts ? ev->impacts[i].new_json : NULL;
}

const char *pawl_event_impacted_old(const struct pawl_event *ev, size_t i)
{
	return i < ev->n_impacts ? ev->impacts[i].old_json : NULL;
}

const char *pawl_event_get(const struct pawl_event *ev, const char *key)
{
	size_t i;

	if (strcmp(key, "action") == 0)
		return pawl_event_action_name(ev->action);
	if (strcmp(key, "uri") == 0)
		return ev->uri;
	if (strcmp(key, "user_id") == 0)
		return ev->user_id;
	if (strcmp(key, "resource_name") == 0)
		return ev->resource_name;
	if (strcmp(key, "event_id") == 0)
		return ev->id;
	if (ev->item_key != NULL && strcmp(key, ev->item_key) == 0)
		return pawl_matchdict_get(&ev->md, "id");
	for (i = 0; i < ev->md.n; i++)
		if (strcmp(ev->md.kv[i].name, "id") != 0 && strcmp(ev->md.kv[i].name, key) == 0)
			return ev->md.kv[i].value;
	return NULL;
}

/* {"id":...,"last_modified":... of one impacted object (the entry stays open). */
static void put_ids(struct pawl_buf *b, const struct impact *im)
{
	pawl_buf_puts(b, "{\"id\":");
	if (im->id != NULL)
		pawl_buf_json_string(b, im->id, strlen(im->id));
	else
		pawl_buf_puts(b, "null");
	if (im->has_lm)
		pawl_buf_printf(b, ",\"last_modified\":%lld", im->last_modified);
	else
		pawl_buf_puts(b, ",\"last_modified\":null");
}

/*
 * One object's JSON as compact text in arena, or NULL when absent or not
 * parseable (it came from the database: a NULL here is a bug elsewhere, and
 * the entry is then sent without it, as over the cap).
 */
static const char *compact(struct pawl_arena *arena, const char *json, size_t *len)
{
	struct pawl_error err;
	json_object *o;

	*len = 0;
	if (json == NULL || pawl_json_parse(arena, json, strlen(json), PAWL_JSON_STORED_DEPTH,
	    &o, &err) != PAWL_OK || o == NULL)
		return NULL;
	return pawl_json_compact(arena, o, len);
}

/*
 * ,"impacted":[{"id","last_modified"}...] in commit order. With data (arena
 * not NULL), each entry also gets "new" and "old" (when the object has them)
 * while their compact texts fit in max_bytes for the whole event; the first
 * entry that does not fit, and every later one, gets "data_truncated":true
 * instead: a consumer sees a prefix of the data, never half an object.
 */
static void put_impacted(struct pawl_buf *b, const struct pawl_event *ev,
    struct pawl_arena *arena, size_t max_bytes)
{
	size_t i, used = 0, ln, lo;
	bool full = false;

	pawl_buf_puts(b, ",\"impacted\":[");
	for (i = 0; i < ev->n_impacts; i++) {
		const struct impact *im = &ev->impacts[i];
		const char *n = NULL, *o = NULL;

		if (i > 0)
			pawl_buf_putc(b, ',');
		put_ids(b, im);
		if (arena != NULL && !full) {
			n = compact(arena, im->new_json, &ln);
			o = compact(arena, im->old_json, &lo);
			if ((im->new_json && !n) || (im->old_json && !o) || ln + lo > max_bytes - used)
				full = true;
			else
				used += ln + lo;
		}
		if (arena != NULL && full) {
			pawl_buf_puts(b, ",\"data_truncated\":true}");
			continue;
		}
		if (n != NULL) {
			pawl_buf_puts(b, ",\"new\":");
			pawl_buf_append(b, n, ln);
		}
		if (o != NULL) {
			pawl_buf_puts(b, ",\"old\":");
			pawl_buf_append(b, o, lo);
		}
		pawl_buf_putc(b, '}');
	}
	pawl_buf_putc(b, ']');
}

/*
 * {"timestamp","action","uri","user_id","resource_name",<matchdict>,"<r>_id",
 *  "cascade","event_id","impacted"}; *impacted_at is where "impacted" starts.
 */
static const char *build_payload(struct pawl_arena *arena, const struct pawl_event *ev,
    size_t *impacted_at)
{
	struct pawl_buf b;
	size_t i;

	pawl_buf_init(&b, arena);
	pawl_buf_printf(&b, "{\"timestamp\":%lld,\"action\":\"%s\",\"uri\":", ev->timestamp,
	    pawl_event_action_name(ev->action));
	pawl_buf_json_string(&b, ev->uri, strlen(ev->uri));
	pawl_buf_puts(&b, ",\"user_id\":");
	if (ev->user_id != NULL)
		pawl_buf_json_string(&b, ev->user_id, strlen(ev->user_id));
	else
		pawl_buf_puts(&b, "null");
	pawl_buf_puts(&b, ",\"resource_name\":");
	pawl_buf_json_string(&b, ev->resource_name, strlen(ev->resource_name));
	for (i = 0; i < ev->md.n; i++) {
		const char *name = ev->md.kv[i].name;

		if (strcmp(name, "id") == 0) {
			if (ev->item_key == NULL)
				continue;
			name = ev->item_key;
		}
		pawl_buf_putc(&b, ',');
		pawl_buf_json_string(&b, name, strlen(name));
		pawl_buf_putc(&b, ':');
		pawl_buf_json_string(&b, ev->md.kv[i].value, strlen(ev->md.kv[i].value));
	}
	/* A cascade: what went with the object, per resource name (README, "Events"). */
	if (ev->cascade.n > 0) {
		pawl_buf_puts(&b, ",\"cascade\":{");
		for (i = 0; i < ev->cascade.n; i++) {
			const char *name = ev->cascade.kinds[i].resource_name;

			if (i > 0)
				pawl_buf_putc(&b, ',');
			pawl_buf_json_string(&b, name, strlen(name));
			pawl_buf_printf(&b, ":%lld", ev->cascade.kinds[i].count);
		}
		pawl_buf_putc(&b, '}');
	}
	pawl_buf_printf(&b, ",\"event_id\":\"%s\"", ev->id);
	*impacted_at = b.len;
	put_impacted(&b, ev, NULL, 0);
	pawl_buf_putc(&b, '}');
	return b.failed ? NULL : b.data;
}

struct pawl_stage *pawl_stage_new(struct pawl_arena *arena)
{
	struct pawl_stage *st = pawl_arena_calloc(arena, 1, sizeof(*st));

	if (st != NULL)
		st->arena = arena;
	return st;
}

void pawl_stage_clear(struct pawl_stage *st)
{
	st->n_ops = 0;
	st->n = 0;
	st->sealed = false;
	st->outboxed = false;
}

void pawl_stage_mark_outboxed(struct pawl_stage *st)
{
	st->outboxed = true;
}

bool pawl_stage_outboxed(const struct pawl_stage *st)
{
	return st->outboxed;
}

size_t pawl_stage_mark(const struct pawl_stage *st)
{
	return st->n_ops;
}

void pawl_stage_rewind(struct pawl_stage *st, size_t mark)
{
	if (mark < st->n_ops)
		st->n_ops = mark;
}

size_t pawl_stage_count(const struct pawl_stage *st)
{
	return st->n;
}

const struct pawl_event *pawl_stage_event(const struct pawl_stage *st, size_t i)
{
	return i < st->n ? st->events[i] : NULL;
}

/* Grows *items (arena memory) to hold at least one more element. */
static bool grow(struct pawl_arena *arena, void **items, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *fresh;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 4;
	if ((fresh = pawl_arena_alloc(arena, ncap * size)) == NULL)
		return false;
	if (n)
		memcpy(fresh, *items, n * size);
	*items = fresh;
	*cap = ncap;
	return true;
}

static struct pawl_event *find(const struct pawl_stage *st, const struct pawl_stage_op *op)
{
	size_t i;

	for (i = 0; i < st->n; i++) {
		struct pawl_event *ev = st->events[i];

		if (ev->action == op->action && strcmp(ev->resource_name, op->resource_name) == 0 &&
		    strcmp(ev->parent_id, op->parent_id) == 0)
			return ev;
	}
	return NULL;
}

/* A new event from its first op (whose strings already live in the stage's arena). */
static struct pawl_event *create(struct pawl_stage *st, const struct pawl_stage_op *op)
{
	struct pawl_arena *a = st->arena;
	struct pawl_event *ev = pawl_arena_calloc(a, 1, sizeof(*ev));

	if (ev == NULL)
		return NULL;
	ev->type = op->action == PAWL_EVENT_READ ? PAWL_EVENT_RESOURCE_READ : PAWL_EVENT_RESOURCE_CHANGED;
	ev->action = op->action;
	ev->timestamp = op->timestamp;
	pawl_uuid4(ev->id);
	ev->resource_name = op->resource_name;
	ev->parent_id = op->parent_id;
	ev->uri = op->uri;
	ev->user_id = op->user_id;
	ev->md = *op->md;
	ev->list_key = pawl_arena_printf(a, "%s %s", op->parent_id, op->resource_name);
	if (op->item)
		ev->item_key = pawl_arena_printf(a, "%s_id", op->resource_name);
	if (ev->list_key == NULL || (op->item && ev->item_key == NULL))
		return NULL;
	return ev;
}

/* Adds op's cascade counts to the event's (names are few: a linear search). */
static void add_cascade(struct pawl_cascade *sum, const struct pawl_cascade *op)
{
	size_t i, j;

	for (i = 0; op != NULL && i < op->n; i++) {
		for (j = 0; j < sum->n; j++)
			if (strcmp(sum->kinds[j].resource_name, op->kinds[i].resource_name) == 0)
				break;
		if (j == sum->n) {
			if (sum->n == PAWL_CASCADE_KINDS)
				continue;
			sum->kinds[sum->n].resource_name = op->kinds[i].resource_name;
			sum->kinds[sum->n++].count = 0;
		}
		sum->kinds[j].count += op->kinds[i].count;
	}
}

/* The object's id and last_modified, from new (a delete's tombstone) else old. */
static void identify(struct pawl_arena *arena, struct impact *im)
{
	const char *texts[2] = { im->new_json, im->old_json };
	struct pawl_error err;
	json_object *o, *v;
	size_t i;

	for (i = 0; i < 2; i++) {
		if (texts[i] == NULL || pawl_json_parse(arena, texts[i], strlen(texts[i]),
		    PAWL_JSON_STORED_DEPTH, &o, &err) != PAWL_OK || !json_object_is_type(o, json_type_object))
			continue;
		if (im->id == NULL && json_object_object_get_ex(o, "id", &v) &&
		    json_object_is_type(v, json_type_string))
			im->id = json_object_get_string(v); /* the tree lives as long as the arena */
		if (!im->has_lm && json_object_object_get_ex(o, "last_modified", &v) &&
		    json_object_is_type(v, json_type_int)) {
			im->last_modified = json_object_get_int64(v);
			im->has_lm = true;
		}
		if (im->id != NULL && im->has_lm)
			return;
	}
}

static enum pawl_err merge_op(struct pawl_stage *st, const struct pawl_stage_op *op,
    struct pawl_error *err)
{
	struct pawl_event *ev = find(st, op);
	struct impact *im;

	if (ev == NULL) {
		if (!grow(st->arena, (void **)&st->events, &st->cap, st->n, sizeof(*st->events)) ||
		    (ev = create(st, op)) == NULL)
			return pawl_error_nomem(err);
		st->events[st->n++] = ev;
	}
	add_cascade(&ev->cascade, op->cascade);
	if (op->new_json == NULL && op->old_json == NULL)
		return PAWL_OK; /* e.g. a read of an empty page: an event with no objects */
	if (!grow(st->arena, (void **)&ev->impacts, &ev->cap_impacts, ev->n_impacts, sizeof(*ev->impacts)))
		return pawl_error_nomem(err);
	im = &ev->impacts[ev->n_impacts++];
	*im = (struct impact){ .new_json = op->new_json, .old_json = op->old_json };
	identify(st->arena, im);
	return PAWL_OK;
}

static struct pawl_matchdict *copy_md(struct pawl_arena *a, const struct pawl_matchdict *md)
{
	struct pawl_matchdict *out = pawl_arena_calloc(a, 1, sizeof(*out));
	size_t i;

	for (i = 0; out != NULL && md != NULL && i < md->n; i++) {
		out->kv[i].name = pawl_arena_strdup(a, md->kv[i].name);
		out->kv[i].value = pawl_arena_strdup(a, md->kv[i].value);
		if (out->kv[i].name == NULL || out->kv[i].value == NULL)
			return NULL;
		out->n++;
	}
	return out;
}

static struct pawl_cascade *copy_cascade(struct pawl_arena *a, const struct pawl_cascade *c)
{
	struct pawl_cascade *out = pawl_arena_calloc(a, 1, sizeof(*out));
	size_t i;

	for (i = 0; out != NULL && i < c->n && i < PAWL_CASCADE_KINDS; i++) {
		out->kinds[i].count = c->kinds[i].count;
		if ((out->kinds[i].resource_name = pawl_arena_strdup(a, c->kinds[i].resource_name)) == NULL)
			return NULL;
		out->n++;
	}
	return out;
}

enum pawl_err pawl_stage_add(struct pawl_stage *st, const struct pawl_stage_op *op,
    struct pawl_error *err)
{
	struct pawl_arena *a = st->arena;
	struct pawl_stage_op *o;

	if (st->sealed)
		return pawl_error_set(err, PAWL_ERR_INTERNAL, "event staged after the stage was sealed");
	if (!grow(a, (void **)&st->ops, &st->cap_ops, st->n_ops, sizeof(*st->ops)))
		return pawl_error_nomem(err);
	o = &st->ops[st->n_ops];
	*o = *op;
	o->resource_name = pawl_arena_strdup(a, op->resource_name);
	o->parent_id = pawl_arena_strdup(a, op->parent_id);
	o->uri = pawl_arena_strdup(a, op->uri);
	o->user_id = pawl_arena_strdup(a, op->user_id);
	o->new_json = pawl_arena_strdup(a, op->new_json);
	o->old_json = pawl_arena_strdup(a, op->old_json);
	o->md = copy_md(a, op->md);
	o->cascade = op->cascade ? copy_cascade(a, op->cascade) : NULL;
	if (o->resource_name == NULL || o->parent_id == NULL || o->uri == NULL || o->md == NULL ||
	    (op->user_id && !o->user_id) || (op->new_json && !o->new_json) ||
	    (op->old_json && !o->old_json) || (op->cascade && !o->cascade))
		return pawl_error_nomem(err);
	st->n_ops++;
	return PAWL_OK;
}

const char *pawl_stage_payload_data(struct pawl_arena *arena, const struct pawl_event *ev,
    size_t max_bytes)
{
	struct pawl_buf b;

	pawl_buf_init(&b, arena);
	pawl_buf_append(&b, ev->payload, ev->impacted_at);
	put_impacted(&b, ev, arena, max_bytes);
	pawl_buf_putc(&b, '}');
	return b.failed ? NULL : b.data;
}

enum pawl_err pawl_stage_seal(struct pawl_stage *st, struct pawl_error *err)
{
	size_t i;
	enum pawl_err rc;

	if (st->sealed)
		return PAWL_OK;
	st->n = 0;
	for (i = 0; i < st->n_ops; i++)
		if ((rc = merge_op(st, &st->ops[i], err)) != PAWL_OK)
			return rc;
	/* Once every op is merged in: a merged delete's cascade sums all of them. */
	for (i = 0; i < st->n; i++)
		if ((st->events[i]->payload = build_payload(st->arena, st->events[i],
		    &st->events[i]->impacted_at)) == NULL)
			return pawl_error_nomem(err);
	st->sealed = true;
	return PAWL_OK;
}
