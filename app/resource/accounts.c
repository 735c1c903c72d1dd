/*
 * Accounts (Kinto's accounts plugin): hashes passwords with yescrypt from
 * libcrypt before the generic handlers store them, strips them from every
 * answer and event, and checks Basic credentials against the stored hash
 * with a per-worker cache. Must never log, keep or answer a password.
 */
#include <crypt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "resource/accounts.h"
#include "http/auth.h"
#include "core/crypto.h"
#include "core/json.h"
#include "store/store.h"
#include "resource/permissions.h"
#include "core/str.h"

#define CACHE_SLOTS 512u
#define HASH_MAX 160u /* yescrypt at default cost is 73 characters */
#define FAIL_SLOTS 4096u
#define FAIL_WINDOW 60 /* seconds: account_failures_per_minute */

struct entry {
	char key[65];            /* hex HMAC(userid_hmac_secret, "user:password") */
	char hash[HASH_MAX];     /* the stored hash they were checked against ("": no account) */
	bool ok;                 /* whether they matched it */
	time_t expires;
};

/*
 * Recent failures of the user names hashed to one slot (existing or not:
 * the same for both). Names sharing a slot share its count: never fewer
 * checks refused than asked for, and alternating names does not reset it.
 */
struct failures {
	int count;
	time_t since;
};

struct pawl_accounts_cache {
	struct crypt_data cd;    /* libcrypt's scratch space (about 32 KiB) */
	char dummy[HASH_MAX];    /* checked when the account does not exist */
	int ttl;
	int max_failures;        /* account_failures_per_minute, 0: no limit */
	struct entry slots[CACHE_SLOTS];
	struct failures fails[FAIL_SLOTS];
};

bool pawl_accounts_is(const struct pawl_resource *res)
{
	return res != NULL && strcmp(res->name, PAWL_ACCOUNTS_RESOURCE) == 0;
}

const char *pawl_accounts_principal(struct pawl_arena *arena, const char *id)
{
	return pawl_arena_printf(arena, "account:%s", id);
}

/* yescrypt ("$y$", libcrypt's default cost) of password into out; false on failure. */
static bool hash_password(struct crypt_data *cd, const char *password, char out[HASH_MAX])
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *h;

	/* NULL random bytes: libcrypt reads them from the operating system. */
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, setting, sizeof(setting)) == NULL)
		return false;
	h = crypt_rn(password, setting, cd, sizeof(*cd));
	if (h == NULL || h[0] == '*' || strlen(h) >= HASH_MAX)
		return false;
	strcpy(out, h);
	return true;
}

enum pawl_err pawl_accounts_hash(const char *password, char *out, size_t size,
    struct pawl_error *err)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	char hash[HASH_MAX];
	bool ok;

	if (cd == NULL)
		return pawl_error_nomem(err);
	ok = hash_password(cd, password, hash);
	pawl_secure_zero(cd, sizeof(*cd));
	free(cd);
	if (!ok || strlen(hash) >= size)
		return pawl_error_set(err, PAWL_ERR_INTERNAL, "libcrypt could not hash a password");
	strcpy(out, hash);
	return PAWL_OK;
}

static bool verify(struct crypt_data *cd, const char *password, const char *hash)
{
	const char *h = crypt_rn(password, hash, cd, sizeof(*cd));
	size_t n = strlen(hash);
	bool ok = h != NULL && h[0] != '*' && strlen(h) == n && pawl_secure_equal(h, hash, n);

	pawl_secure_zero(cd->output, sizeof(cd->output));
	return ok;
}

struct pawl_accounts_cache *pawl_accounts_cache_new(const struct pawl_config *cfg)
{
	struct pawl_accounts_cache *cache = calloc(1, sizeof(*cache));
	const char *ttl = pawl_config_get(cfg, "account_cache_ttl_seconds");

	if (cache == NULL)
		return NULL;
	cache->ttl = ttl != NULL && *ttl != '\0' ? atoi(ttl) : 60;
	ttl = pawl_config_get(cfg, "account_failures_per_minute");
	cache->max_failures = ttl != NULL ? atoi(ttl) : 0;
	if (!hash_password(&cache->cd, "no account has this password", cache->dummy)) {
		free(cache);
		return NULL;
	}
	return cache;
}

void pawl_accounts_cache_free(struct pawl_accounts_cache *cache)
{
	if (cache == NULL)
		return;
	pawl_secure_zero(cache, sizeof(*cache));
	free(cache);
}

/* The stored hash of account user, or NULL when there is none (or on any error). */
static const char *stored_hash(struct pawl_app *app, struct pawl_arena *arena, const char *user)
{
	struct pawl_list_key key = { "", PAWL_ACCOUNTS_RESOURCE };
	struct pawl_store_item it = { .key = &key, .id = user };
	struct pawl_object obj;
	struct pawl_error err;
	json_object *data, *pw;
	bool found = false;

	if (!pawl_resource_id_valid(user) ||
	    pawl_store_get(app->store, arena, &it, &obj, &found, &err) != PAWL_OK ||
	    !found || obj.deleted ||
	    pawl_json_parse(arena, obj.data, strlen(obj.data), PAWL_JSON_STORED_DEPTH, &data,
	    &err) != PAWL_OK ||
	    !json_object_object_get_ex(data, "password", &pw) ||
	    !json_object_is_type(pw, json_type_string) || json_object_get_string_len(pw) == 0 ||
	    (size_t)json_object_get_string_len(pw) >= HASH_MAX)
		return NULL;
	return json_object_get_string(pw);
}

/*
 * Checks password against hash (NULL: no such account, the dummy is checked
 * instead) through the cache slot for key. Refusals are cached like
 * successes, and a missing account like an existing one, so that repeating
 * a pair takes the same time whatever the answer: nothing tells whether the
 * account exists.
 */
static bool check(struct pawl_accounts_cache *cache, const char *key, const char *password,
    const char *hash)
{
	const char *against = hash != NULL ? hash : "";
	char head[9];
	struct entry *e;
	time_t now = time(NULL);
	bool ok;

	memcpy(head, key, 8); /* key is 64 hex digits: 32 bits of it pick the slot */
	head[8] = '\0';
	e = &cache->slots[strtoul(head, NULL, 16) % CACHE_SLOTS];
	if (now < e->expires && strcmp(e->key, key) == 0 && strcmp(e->hash, against) == 0)
		return e->ok;
	ok = verify(&cache->cd, password, hash != NULL ? hash : cache->dummy) && hash != NULL;
	if (cache->ttl > 0) {
		strcpy(e->key, key);
		strcpy(e->hash, against);
		e->ok = ok;
		e->expires = now + cache->ttl;
	}
	return ok;
}

/* The failure counter of user's slot, restarted when its minute is over. */
static struct failures *failures_of(struct pawl_accounts_cache *cache, const char *user,
    time_t now)
{
	unsigned h = 5381;
	const char *p;
	struct failures *f;

	for (p = user; *p != '\0'; p++)
		h = h * 33 + (unsigned char)*p;
	f = &cache->fails[h % FAIL_SLOTS];
	if (now - f->since >= FAIL_WINDOW) {
		f->count = 0;
		f->since = now;
	}
	return f;
}

const char *pawl_accounts_identify(struct pawl_app *app, struct pawl_arena *arena,
    const char *authorization)
{
	const char *result = NULL, *hash;
	char *msg, *user = NULL, key[65];
	size_t len, user_len;

	if (app->accounts == NULL || app->auth_key == NULL ||
	    (msg = pawl_auth_basic_decode(arena, authorization, &len, &user_len)) == NULL)
		return NULL;
	pawl_hmac_key_hex(app->auth_key, msg, len, key);
	user = pawl_arena_strndup(arena, msg, user_len);
	if (user != NULL && key[0] != '\0') {
		struct pawl_accounts_cache *cache = app->accounts;
		struct failures *f = cache->max_failures > 0 ?
		    failures_of(cache, user, time(NULL)) : NULL;

		msg[user_len] = '\0'; /* the password is what follows, NUL-free (checked) */
		/*
		 * Past account_failures_per_minute failures, this worker stops
		 * checking the name until the minute is over: guessing slows to
		 * that pace (the account's owner waits too).
		 */
		if (f == NULL || f->count < cache->max_failures) {
			hash = stored_hash(app, arena, user);
			if (check(cache, key, msg + user_len + 1, hash))
				result = pawl_accounts_principal(arena, user);
			else if (f != NULL)
				f->count++;
		}
	}
	pawl_secure_zero(msg, len);
	return result;
}

/* 400 errno 107 naming data.password. */
static enum pawl_err bad_password(struct pawl_error *err, const char *why)
{
	return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "data.password", "%s", why);
}

/* Replaces data.password with its hash; required tells whether it must be there. */
static enum pawl_err hash_in_body(struct pawl_rctx *c, bool required, struct pawl_error *err)
{
	json_object *data = NULL, *pw = NULL;
	char hash[HASH_MAX];
	enum pawl_err rc;

	if (c->req->json != NULL && json_object_is_type(c->req->json, json_type_object))
		json_object_object_get_ex(c->req->json, "data", &data);
	if (data == NULL || !json_object_is_type(data, json_type_object))
		return required && c->req->method_bit == PAWL_METHOD_POST ?
		    bad_password(err, "data.password is required") : PAWL_OK;
	if (!json_object_object_get_ex(data, "password", &pw))
		return required ? bad_password(err, "data.password is required") : PAWL_OK;
	if (!json_object_is_type(pw, json_type_string) || json_object_get_string_len(pw) == 0)
		return bad_password(err, "password must be a non-empty string");
	if ((rc = pawl_accounts_hash(json_object_get_string(pw), hash, sizeof(hash), err)) != PAWL_OK)
		return rc;
	/* The clear text goes with the old string; json-c frees it, so wipe it first. */
	pawl_secure_zero((char *)(uintptr_t)json_object_get_string(pw), (size_t)json_object_get_string_len(pw));
	json_object_object_add(data, "password", json_object_new_string(hash));
	return PAWL_OK;
}

/*
 * Kinto's rule: an authenticated caller who is not an administrator
 * (account_write_principals) creates only the account of their own name; an
 * anonymous visitor may create any (account_create_principals decides). An
 * account that already exists is left to the permission check, which
 * answers a stranger 403, as Kinto does.
 */
static enum pawl_err own_name_only(struct pawl_rctx *c, const char *id, struct pawl_error *err)
{
	struct pawl_list_key key = { "", PAWL_ACCOUNTS_RESOURCE };
	struct pawl_store_item it = { .key = &key, .id = id };
	struct pawl_object obj;
	const char *mine;
	bool admin = false, found = false;
	enum pawl_err rc;

	if (c->req->user_id == NULL || id == NULL)
		return PAWL_OK;
	if ((mine = pawl_accounts_principal(c->req->arena, id)) == NULL)
		return pawl_error_nomem(err);
	if (strcmp(c->req->user_id, mine) == 0)
		return PAWL_OK;
	if ((rc = pawl_permissions_list_access(c, "write", &admin, err)) != PAWL_OK || admin)
		return rc;
	if (pawl_resource_id_valid(id) && (rc = pawl_store_get(c->app->store, c->req->arena, &it,
	    &obj, &found, err)) != PAWL_OK)
		return rc;
	if (found && !obj.deleted)
		return PAWL_OK;
	return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "data.id",
	    "Username and account ID do not match.");
}

/* data.id of a POST body, or NULL. */
static const char *posted_id(const struct pawl_rctx *c)
{
	json_object *data, *id;

	if (c->req->json == NULL || !json_object_is_type(c->req->json, json_type_object) ||
	    !json_object_object_get_ex(c->req->json, "data", &data) ||
	    !json_object_is_type(data, json_type_object) ||
	    !json_object_object_get_ex(data, "id", &id) || !json_object_is_type(id, json_type_string))
		return NULL;
	return json_object_get_string(id);
}

enum pawl_err pawl_accounts_prepare(struct pawl_rctx *c, struct pawl_error *err)
{
	enum pawl_err rc;
	const char *ct = pawl_request_param(c->req, "CONTENT_TYPE");
	json_object *data;

	/* Filtering or sorting on the hash would let a reader learn it bit by bit. */
	if (c->req->query != NULL && strstr(c->req->query, "password") != NULL)
		return pawl_error_invalid(err, PAWL_ERR_INVALID, "querystring", "password",
		    "password cannot be filtered, sorted or selected");
	switch (c->req->method_bit) {
	case PAWL_METHOD_POST:
		if (c->req->json == NULL || !json_object_is_type(c->req->json, json_type_object) ||
		    !json_object_object_get_ex(c->req->json, "data", &data) ||
		    !json_object_is_type(data, json_type_object) ||
		    !json_object_object_get_ex(data, "id", NULL))
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "body", "data.id",
			    "data.id is required: the account's user name");
		if ((rc = own_name_only(c, posted_id(c), err)) != PAWL_OK)
			return rc;
		return hash_in_body(c, true, err);
	case PAWL_METHOD_PUT:
		/* Kinto: without "data" an existing object keeps its data (permissions only). */
		if (c->req->json != NULL && json_object_is_type(c->req->json, json_type_object) &&
		    !json_object_object_get_ex(c->req->json, "data", NULL))
			return PAWL_OK;
		if ((rc = own_name_only(c, c->id, err)) != PAWL_OK)
			return rc;
		return hash_in_body(c, true, err);
	case PAWL_METHOD_PATCH:
		if (ct != NULL && pawl_str_iprefix(ct, "application/json-patch+json"))
			return pawl_error_invalid(err, PAWL_ERR_INVALID, "header", "Content-Type",
			    "JSON Patch is not supported on accounts");
		return hash_in_body(c, false, err);
	default:
		return PAWL_OK;
	}
}

static void strip_tree(json_object *o)
{
	size_t i;

	if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++)
			strip_tree(json_object_array_get_idx(o, i));
	} else if (json_object_is_type(o, json_type_object)) {
		json_object_object_del(o, "password");
		json_object_object_foreach(o, k, v) {
			(void)k;
			strip_tree(v);
		}
	}
}

/*
 * How deep a text pawl_accounts_strip still parses: stored data, plus a few
 * levels for the body or event that wraps it ({"data": [...]}, "details"),
 * so a deep account is stripped rather than replaced by "{}".
 */
#define STRIP_DEPTH (PAWL_JSON_STORED_DEPTH + 4)

const char *pawl_accounts_strip(struct pawl_arena *arena, const char *json)
{
	json_object *o;
	struct pawl_error err;
	size_t len;

	if (json == NULL || strstr(json, "\"password\"") == NULL)
		return json;
	if (pawl_json_parse(arena, json, strlen(json), STRIP_DEPTH, &o, &err) !=
	    PAWL_OK)
		return "{}"; /* never the text that may hold a hash */
	strip_tree(o);
	json = pawl_json_compact(arena, o, &len);
	return json != NULL ? json : "{}";
}
