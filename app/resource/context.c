/*
 * The resource context of a request: the list key, parent and URIs derived
 * from the matched pattern the same way for every resource; ids; the parent
 * check and Kinto's 404 details.
 */
#include <string.h>


#include "resource/resource.h"
#include "core/crypto.h"
#include "store/store.h"
#include "core/str.h"

bool pawl_resource_id_valid(const char *s)
{
	static const char rest[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
	size_t n = strlen(s);

	return n > 0 && n <= 255 && strchr(rest, s[0]) != NULL && s[0] != '_' && s[0] != '-' &&
	    strspn(s, rest) == n;
}

const char *pawl_resource_new_id(struct pawl_arena *arena, const struct pawl_resource *res)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char rnd[8];
	char *out = pawl_arena_alloc(arena, PAWL_UUID_LEN + 1);
	size_t i;

	if (out == NULL)
		return NULL;
	if (res->id_kind == PAWL_ID_UUID4) {
		pawl_uuid4(out);
		return out;
	}
	if (!pawl_random_bytes(rnd, sizeof(rnd)))
		return NULL;
	/* 62 letters: the modulo bias is below 1% and harmless for names. */
	for (i = 0; i < sizeof(rnd); i++)
		out[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	out[sizeof(rnd)] = '\0';
	return out;
}

/* Fills the list pattern with the matchdict: "/buckets/b1/collections". */
static const char *fill_pattern(struct pawl_arena *arena, const char *pattern,
    const struct pawl_matchdict *md)
{
	struct pawl_buf b;
	const char *p = pattern;

	pawl_buf_init(&b, arena);
	while (*p != '\0') {
		const char *open = strchr(p, '{'), *close, *value;
		char name[64];

		if (open == NULL) {
			pawl_buf_puts(&b, p);
			break;
		}
		close = strchr(open, '}');
		if (close == NULL || (size_t)(close - open - 1) >= sizeof(name))
			return NULL;
		pawl_buf_append(&b, p, (size_t)(open - p));
		memcpy(name, open + 1, (size_t)(close - open - 1));
		name[close - open - 1] = '\0';
		if ((value = pawl_matchdict_get(md, name)) == NULL)
			return NULL;
		pawl_buf_puts(&b, value);
		p = close + 1;
	}
	return b.failed ? NULL : b.data;
}

/* "/a/b/c" → "/a/b" (and "" for "/a"), in the arena. */
static const char *dirname_of(struct pawl_arena *arena, const char *path)
{
	const char *slash = strrchr(path, '/');

	return pawl_arena_strndup(arena, path, slash ? (size_t)(slash - path) : 0);
}

bool pawl_resource_list_key_of(struct pawl_arena *arena, const struct pawl_match *m,
    struct pawl_list_key *key)
{
	const struct pawl_resource *res = m->route != NULL ? m->route->resource : NULL;
	const char *list_path, *bucket;
	size_t i;

	if (res == NULL || res->per_user || m->location != NULL)
		return false;
	/* The personal bucket's id depends on who asks: known only once it runs. */
	bucket = pawl_matchdict_get(&m->md, strcmp(res->name, "bucket") == 0 ? "id" : "bucket_id");
	if (bucket != NULL && strcmp(bucket, "default") == 0)
		return false;
	for (i = 0; i < m->md.n; i++)
		if (!pawl_resource_id_valid(m->md.kv[i].value))
			return false;
	if ((list_path = fill_pattern(arena, res->list_pattern, &m->md)) == NULL)
		return false;
	key->resource_name = res->name;
	key->parent_id = dirname_of(arena, list_path);
	return key->parent_id != NULL;
}

enum pawl_err pawl_resource_context_init(struct pawl_rctx *c, struct pawl_error *err)
{
	struct pawl_arena *arena = c->req->arena;
	const struct pawl_matchdict *md = &c->req->match.md;
	size_t i;

	/* Every placeholder is an id: one that cannot be valid names nothing here. */
	for (i = 0; i < md->n; i++)
		if (strcmp(md->kv[i].name, "id") != 0 && !pawl_resource_id_valid(md->kv[i].value))
			return pawl_error_set(err, PAWL_ERR_NOT_FOUND,
			    "The resource you are looking for could not be found.");
	c->list_path = fill_pattern(arena, c->res->list_pattern, md);
	if (c->list_path == NULL)
		return pawl_error_nomem(err);
	c->key.resource_name = c->res->name;
	c->parent_uri = dirname_of(arena, c->list_path);
	c->key.parent_id = c->res->per_user ? (c->req->user_id ? c->req->user_id : "")
	    : dirname_of(arena, c->list_path);
	if (c->res->parent != NULL) {
		const char *parent_uri = dirname_of(arena, c->list_path);
		const char *slash = strrchr(parent_uri, '/');

		c->parent_id = slash ? slash + 1 : parent_uri;
		c->parent_key.resource_name = c->res->parent->name;
		c->parent_key.parent_id = dirname_of(arena, dirname_of(arena, parent_uri));
	}
	if (c->req->match.route->kind == PAWL_ROUTE_ITEM) {
		c->id = pawl_matchdict_get(md, "id");
		if (!pawl_resource_id_valid(c->id))
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "path", "id", "Invalid id");
		c->uri = pawl_arena_printf(arena, "%s/%s", c->list_path, c->id);
	}
	return PAWL_OK;
}

enum pawl_err pawl_resource_not_found(struct pawl_rctx *c, const char *id,
    const char *resource_name, enum pawl_err code, struct pawl_error *err)
{
	struct pawl_buf b;

	pawl_buf_init(&b, c->req->arena);
	pawl_buf_puts(&b, "{\"id\":");
	pawl_buf_json_string(&b, id, strlen(id));
	pawl_buf_puts(&b, ",\"resource_name\":");
	pawl_buf_json_string(&b, resource_name, strlen(resource_name));
	pawl_buf_putc(&b, '}');
	pawl_error_set(err, code, "The resource you are looking for could not be found.");
	err->details = b.failed ? NULL : b.data;
	return code;
}

enum pawl_err pawl_resource_prefetch_parent(struct pawl_rctx *c, struct pawl_error *err)
{
	if (c->res->parent == NULL)
		return PAWL_OK;
	c->parent_prefetched = true;
	return pawl_store_exists_defer(c->app->store, c->req->arena, &c->parent_key, c->parent_id,
	    &c->parent_check, err);
}

enum pawl_err pawl_resource_check_parent(struct pawl_rctx *c, struct pawl_error *err)
{
	bool exists = false;
	enum pawl_err rc;

	if (c->res->parent == NULL)
		return PAWL_OK;
	if (c->parent_prefetched) {
		c->parent_prefetched = false;
		if ((rc = pawl_store_exists_answer(c->app->store, c->req->arena, &c->parent_check,
		    &exists, err)) != PAWL_OK)
			return rc;
	} else if ((rc = pawl_store_exists(c->app->store, c->req->arena, &c->parent_key,
	    c->parent_id, &exists, err)) != PAWL_OK) {
		return rc;
	}
	if (!exists)
		return pawl_resource_not_found(c, c->parent_id, c->res->parent->name,
		    PAWL_ERR_NOT_FOUND, err);
	return PAWL_OK;
}
