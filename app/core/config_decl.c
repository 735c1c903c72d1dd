/*
 * The declared families of settings: `resources` with resources.<name>.*
 * (docs/protocol.md §2) and `event_listeners` with event_listeners.<alias>.* (docs/protocol.md §8),
 * read from the settings being built into cfg. Every key of a family must
 * belong to a declared name. Pure: no I/O; the environment is the array given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/actions.h"
#include "core/config.h"
#include "core/config_keys.h"

#define KEY_MAX 512
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGIT "0123456789"
#define DEFAULT_ACTIONS (PAWL_EVENT_CREATE | PAWL_EVENT_UPDATE | PAWL_EVENT_DELETE)

static const char *const builtin_resources[] = {
	"bucket", "collection", "group", "record", NULL
};
/* Kinto/Cliquet Redis listener modules: pawl's built-in listener takes their place. */
static const char *const redis_modules[] = {
	"kinto_redis.listeners", "cliquet.listeners.redis", "kinto.core.listeners.redis", NULL
};
/* Options every listener has, defaulted even for plugins (Kinto reads them for all). */
static const char *const core_options[] = { "use", "actions", "resources", NULL };

static bool name_ok(const char *s, const char *first, const char *rest)
{
	return s[0] != '\0' && strchr(first, s[0]) != NULL &&
	    strspn(s + 1, rest) == strlen(s + 1);
}

/* Splits the list setting `key` into *names (caller frees), each valid and unique. */
static enum pawl_err declared_names(struct pawl_config_build *b, const char *key,
    bool resources, char ***names)
{
	struct pawl_config_entry *e = pawl_config_build_find(b, key);
	size_t i, j;

	*names = pawl_config_keys_split(e->value, NULL);
	if (*names == NULL)
		return pawl_error_nomem(b->err);
	for (i = 0; (*names)[i] != NULL; i++) {
		const char *s = (*names)[i];

		if (resources && !name_ok(s, LOWER, LOWER DIGIT "_"))
			return pawl_config_keys_bad(e, b->source, b->err,
			    "a list of resource names matching [a-z][a-z0-9_]*", s);
		if (resources && pawl_config_keys_in(builtin_resources, s))
			return pawl_config_keys_bad(e, b->source, b->err,
			    "a list of new resource names (bucket, collection, group and "
			    "record always exist)", s);
		if (!resources && !name_ok(s, LOWER UPPER DIGIT "_-", LOWER UPPER DIGIT "_-"))
			return pawl_config_keys_bad(e, b->source, b->err,
			    "a list of aliases made of letters, digits, '_' and '-'", s);
		for (j = 0; j < i; j++)
			if (strcmp((*names)[j], s) == 0)
				return pawl_config_keys_bad(e, b->source, b->err,
				    "a list without repeated names", s);
	}
	return PAWL_OK;
}

/* The PAWL_* environment variable that set key, or NULL. */
static const char *from_env(const struct pawl_config_build *b, const char *key)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (strcmp(b->ents[i].key, key) == 0)
			return b->ents[i].env_name;
	return NULL;
}

/*
 * Every `<family>.<name>.<option>` key must name one of names -- unless the
 * list itself was set from the environment (PAWL_EVENT_LISTENERS= to turn
 * listeners off, say): then the file's options for the others are ignored.
 */
static enum pawl_err check_declared(struct pawl_config_build *b, const char *family,
    char **names)
{
	size_t flen = strlen(family), i, j, len;
	const char *env_list = from_env(b, family);

	for (i = 0; i < b->n; i++) {
		const struct pawl_config_entry *e = &b->ents[i];
		const char *rest = e->key + flen + 1, *dot;

		if (strncmp(e->key, family, flen) != 0 || e->key[flen] != '.')
			continue;
		dot = strchr(rest, '.');
		if (dot == NULL || dot == rest || dot[1] == '\0')
			return pawl_config_build_unknown(b, e);
		len = (size_t)(dot - rest);
		for (j = 0; names[j] != NULL; j++)
			if (strlen(names[j]) == len && strncmp(names[j], rest, len) == 0)
				break;
		if (names[j] == NULL && env_list != NULL) {
			pawl_config_build_warn(b, "setting %s configures '%.*s', which %s does not "
			    "list; ignored",
			    e->origin != NULL ? e->origin : e->key, (int)len, rest, env_list);
			continue;
		}
		if (names[j] == NULL)
			return pawl_error_set(b->err, PAWL_ERR_CONFIG,
			    "setting '%s' configures '%.*s', which is not listed in '%s'",
			    e->origin != NULL ? e->origin : e->key, (int)len, rest, family);
	}
	return PAWL_OK;
}

/* Keys under prefix must name one of rows, unless any_option (plugins take any). */
static enum pawl_err check_options(struct pawl_config_build *b, const char *prefix,
    const struct pawl_config_key *rows, size_t n_rows, bool any_option)
{
	size_t plen = strlen(prefix), i;

	for (i = 0; i < b->n && !any_option; i++) {
		const struct pawl_config_entry *e = &b->ents[i];

		if (strncmp(e->key, prefix, plen) == 0 &&
		    pawl_config_keys_find(rows, n_rows, e->key + plen) == NULL)
			return pawl_config_build_unknown(b, e);
	}
	return PAWL_OK;
}

/* --- resources ------------------------------------------------------------ */

static size_t resource_index(const struct pawl_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->n_resources; i++)
		if (cfg->resources[i].name != NULL && strcmp(cfg->resources[i].name, name) == 0)
			return i;
	return cfg->n_resources;
}

static bool resource_known(const struct pawl_config *cfg, const char *name)
{
	return pawl_config_keys_in(builtin_resources, name) ||
	    resource_index(cfg, name) < cfg->n_resources;
}

/* Shape checks beyond the value's type. */
static enum pawl_err resource_check(struct pawl_config_build *b,
    struct pawl_resource_config *r, const char *option, const struct pawl_config_entry *e)
{
	size_t len = strlen(e->value);

	if (strcmp(option, "list") == 0 && e->value[0] != '/')
		return pawl_config_keys_bad(e, b->source, b->err,
		    "a URL pattern starting with '/'", e->value);
	if (strcmp(option, "item") == 0 && (e->value[0] != '/' || len < 6 ||
	    strcmp(e->value + len - 5, "/{id}") != 0))
		return pawl_config_keys_bad(e, b->source, b->err,
		    "a URL pattern starting with '/' and ending with '/{id}'", e->value);
	if (strcmp(option, "scope") == 0)
		r->per_user = strcmp(e->value, "user") == 0;
	return PAWL_OK;
}

static enum pawl_err resource_load(struct pawl_config_build *b,
    struct pawl_resource_config *r)
{
	const struct pawl_config_key *rows;
	struct pawl_config_entry *e;
	char prefix[KEY_MAX], key[2 * KEY_MAX];
	enum pawl_err rc;
	size_t n, i;

	rows = pawl_config_keys_resource(&n);
	snprintf(prefix, sizeof(prefix), "resources.%s.", r->name);
	if ((rc = check_options(b, prefix, rows, n, false)) != PAWL_OK)
		return rc;
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s%s", prefix, rows[i].key);
		if ((rc = pawl_config_build_ensure(b, key, rows[i].def, &e)) != PAWL_OK)
			return rc;
		if (e == NULL && rows[i].optional)
			continue;
		if (e == NULL)
			return pawl_error_set(b->err, PAWL_ERR_CONFIG,
			    "resource '%s' is listed in 'resources' but setting '%s' is missing",
			    r->name, key);
		rc = pawl_config_keys_apply(&rows[i], e, r, b->source, b->err);
		if (rc == PAWL_OK)
			rc = resource_check(b, r, rows[i].key, e);
		if (rc != PAWL_OK)
			return rc;
	}
	return PAWL_OK;
}

/* A parent is another declared resource or a built-in one, and no chain loops. */
static enum pawl_err resource_parents(struct pawl_config_build *b, struct pawl_config *cfg)
{
	char key[2 * KEY_MAX];
	size_t i, at, steps;

	for (i = 0; i < cfg->n_resources; i++) {
		const struct pawl_resource_config *r = &cfg->resources[i];

		if (r->parent == NULL)
			continue;
		snprintf(key, sizeof(key), "resources.%s.parent", r->name);
		if (!resource_known(cfg, r->parent) || strcmp(r->parent, r->name) == 0)
			return pawl_config_keys_bad(pawl_config_build_find(b, key), b->source,
			    b->err, "the name of another declared resource or of bucket, "
			    "collection, group or record", r->parent);
		for (at = i, steps = 0; cfg->resources[at].parent != NULL; steps++) {
			at = resource_index(cfg, cfg->resources[at].parent);
			if (at == cfg->n_resources)
				break;
			if (steps > cfg->n_resources)
				return pawl_error_set(b->err, PAWL_ERR_CONFIG,
				    "setting '%s' makes resource '%s' its own ancestor", key, r->name);
		}
	}
	return PAWL_OK;
}

enum pawl_err pawl_config_decl_resources(struct pawl_config_build *b,
    struct pawl_config *cfg)
{
	char **names = NULL;
	enum pawl_err rc;
	size_t i, n = 0;

	if ((rc = declared_names(b, "resources", true, &names)) != PAWL_OK ||
	    (rc = check_declared(b, "resources", names)) != PAWL_OK)
		goto out;
	while (names[n] != NULL)
		n++;
	if ((cfg->resources = calloc(n + 1, sizeof(*cfg->resources))) == NULL) {
		rc = pawl_error_nomem(b->err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		cfg->n_resources++;
		if ((cfg->resources[i].name = pawl_config_keys_dup(names[i])) == NULL) {
			rc = pawl_error_nomem(b->err);
			goto out;
		}
	}
	for (i = 0; i < n; i++)
		if ((rc = resource_load(b, &cfg->resources[i])) != PAWL_OK)
			goto out;
	rc = resource_parents(b, cfg);
out:
	pawl_config_keys_strv_free(names);
	return rc;
}

/* --- event listeners ------------------------------------------------------ */

static bool is_plugin(const char *use)
{
	size_t len = strlen(use);

	return strchr(use, '/') != NULL || (len > 3 && strcmp(use + len - 3, ".so") == 0);
}

/* `use` is required: "redis" (or a Kinto redis module) or a plugin path. */
static enum pawl_err listener_use(struct pawl_config_build *b,
    struct pawl_listener_config *l, const char *prefix, bool *redis)
{
	struct pawl_config_entry *e;
	char key[2 * KEY_MAX];
	enum pawl_err rc;

	snprintf(key, sizeof(key), "%suse", prefix);
	if ((rc = pawl_config_build_ensure(b, key, NULL, &e)) != PAWL_OK)
		return rc;
	if (e == NULL)
		return pawl_error_set(b->err, PAWL_ERR_CONFIG,
		    "listener '%s' is listed in 'event_listeners' but setting '%s' is missing",
		    l->name, key);
	*redis = strcmp(e->value, "redis") == 0 || pawl_config_keys_in(redis_modules, e->value);
	if (!*redis && !is_plugin(e->value))
		return pawl_config_keys_bad(e, b->source, b->err,
		    "'redis' or the path of a listener plugin (.so)", e->value);
	if (pawl_config_keys_in(redis_modules, e->value))
		pawl_config_build_warn(b, "setting %s names %s; pawl's built-in redis listener is "
		    "used", key, e->value);
	l->use = pawl_config_keys_dup(*redis ? "redis" : e->value);
	return l->use == NULL ? pawl_error_nomem(b->err) : PAWL_OK;
}

static enum pawl_err listener_actions(struct pawl_config_build *b,
    const struct pawl_config_entry *e, struct pawl_listener_config *l)
{
	char **names = pawl_config_keys_split(e->value, NULL);
	size_t i;

	if (names == NULL)
		return pawl_error_nomem(b->err);
	l->actions = 0;
	for (i = 0; names[i] != NULL; i++)
		l->actions |= pawl_action_parse(names[i]);
	if (l->actions == 0)
		l->actions = DEFAULT_ACTIONS;
	pawl_config_keys_strv_free(names);
	return PAWL_OK;
}

/* Resource filters name known resources; an empty list means every resource. */
static enum pawl_err listener_resources(struct pawl_config_build *b,
    const struct pawl_config *cfg, const struct pawl_config_entry *e,
    struct pawl_listener_config *l)
{
	size_t i;

	for (i = 0; l->resources[i] != NULL; i++)
		if (!resource_known(cfg, l->resources[i]))
			return pawl_config_keys_bad(e, b->source, b->err,
			    "a list of resource names (bucket, collection, group, record or one "
			    "listed in 'resources')", l->resources[i]);
	if (i == 0) {
		free(l->resources);
		l->resources = NULL;
	}
	return PAWL_OK;
}

/* The stream settings mean nothing to a list: say so rather than ignore them. */
static enum pawl_err listener_stream(struct pawl_config_build *b,
    const struct pawl_listener_config *l, const char *prefix)
{
	const char *bad = l->maxlen > 0 ? "maxlen" : l->stream_per_bucket ? "stream_per_bucket" : NULL;

	if (bad == NULL || (l->type != NULL && strcmp(l->type, "stream") == 0))
		return PAWL_OK;
	return pawl_error_set(b->err, PAWL_ERR_CONFIG, "setting '%s%s' applies to a stream only: "
	    "set '%stype = stream' or remove it", prefix, bad, prefix);
}

/*
 * A Redis listener reaches its Redis either at `url` or through `sentinels`
 * and `sentinel_master`: both, or half of the second, is a mistake to name.
 * url_given: `url` was in the file or the environment (not the default).
 */
static enum pawl_err listener_sentinel(struct pawl_config_build *b,
    const struct pawl_listener_config *l, const char *prefix, bool url_given)
{
	const char *stray = l->sentinel_master != NULL ? "sentinel_master" :
	    l->sentinel_password != NULL ? "sentinel_password" :
	    l->sentinels_password != NULL ? "sentinels_password" :
	    l->sentinel_db != 0 ? "sentinel_db" : NULL;
	const struct pawl_config_entry *e;
	char key[2 * KEY_MAX];

	snprintf(key, sizeof(key), "%ssentinels", prefix);
	e = pawl_config_build_find(b, key);
	if (e != NULL && e->value[strspn(e->value, " \t,")] == '\0')
		return pawl_error_set(b->err, PAWL_ERR_CONFIG, "setting '%ssentinels' is empty: "
		    "expected host:port host:port ...", prefix);
	if (l->sentinels == NULL) {
		if (stray == NULL)
			return PAWL_OK;
		return pawl_error_set(b->err, PAWL_ERR_CONFIG, "setting '%s%s' applies to a Sentinel "
		    "listener only: set '%ssentinels' too, or remove it", prefix, stray, prefix);
	}
	if (url_given)
		return pawl_error_set(b->err, PAWL_ERR_CONFIG, "settings '%surl' and '%ssentinels' are "
		    "both set: a listener reaches Redis at a fixed url or through Sentinel, not both; "
		    "remove one", prefix, prefix);
	if (l->sentinel_master == NULL || l->sentinel_master[0] == '\0')
		return pawl_error_set(b->err, PAWL_ERR_CONFIG, "setting '%ssentinels' needs "
		    "'%ssentinel_master', the name the Sentinels monitor the master under", prefix, prefix);
	return PAWL_OK;
}

static enum pawl_err listener_load(struct pawl_config_build *b,
    const struct pawl_config *cfg, struct pawl_listener_config *l)
{
	const struct pawl_config_key *rows;
	struct pawl_config_entry *e;
	char prefix[KEY_MAX], key[2 * KEY_MAX];
	enum pawl_err rc;
	bool redis = false, url_given;
	size_t n, i;

	rows = pawl_config_keys_listener(&n);
	snprintf(prefix, sizeof(prefix), "event_listeners.%s.", l->name);
	/* Before the default fills it in: was `url` given (in the file or the environment)? */
	snprintf(key, sizeof(key), "%surl", prefix);
	if ((rc = pawl_config_build_ensure(b, key, NULL, &e)) != PAWL_OK)
		return rc;
	url_given = e != NULL;
	l->pool_size = 1;
	l->data_max_bytes = 65536;
	l->actions = DEFAULT_ACTIONS;
	if ((rc = listener_use(b, l, prefix, &redis)) != PAWL_OK ||
	    (rc = check_options(b, prefix, rows, n, !redis)) != PAWL_OK)
		return rc;
	for (i = 0; i < n; i++) {
		const char *opt = rows[i].key;
		bool core = pawl_config_keys_in(core_options, opt);

		if (strcmp(opt, "use") == 0)
			continue;
		snprintf(key, sizeof(key), "%s%s", prefix, opt);
		rc = pawl_config_build_ensure(b, key, redis || core ? rows[i].def : NULL, &e);
		if (rc != PAWL_OK)
			return rc;
		if (e == NULL)
			continue;
		rc = pawl_config_keys_apply(&rows[i], e, l, b->source, b->err);
		if (rc == PAWL_OK && strcmp(opt, "actions") == 0)
			rc = listener_actions(b, e, l);
		if (rc == PAWL_OK && strcmp(opt, "resources") == 0)
			rc = listener_resources(b, cfg, e, l);
		if (rc != PAWL_OK)
			return rc;
	}
	if (redis && (rc = listener_sentinel(b, l, prefix, url_given)) != PAWL_OK)
		return rc;
	return redis ? listener_stream(b, l, prefix) : PAWL_OK;
}

enum pawl_err pawl_config_decl_listeners(struct pawl_config_build *b,
    struct pawl_config *cfg)
{
	char **names = NULL;
	enum pawl_err rc;
	size_t i, n = 0;

	if ((rc = declared_names(b, "event_listeners", false, &names)) != PAWL_OK ||
	    (rc = check_declared(b, "event_listeners", names)) != PAWL_OK)
		goto out;
	while (names[n] != NULL)
		n++;
	if ((cfg->listeners = calloc(n + 1, sizeof(*cfg->listeners))) == NULL) {
		rc = pawl_error_nomem(b->err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		cfg->n_listeners++;
		if ((cfg->listeners[i].name = pawl_config_keys_dup(names[i])) == NULL) {
			rc = pawl_error_nomem(b->err);
			goto out;
		}
		if ((rc = listener_load(b, cfg, &cfg->listeners[i])) != PAWL_OK)
			goto out;
	}
out:
	pawl_config_keys_strv_free(names);
	return rc;
}

enum pawl_err pawl_config_decl_options(struct pawl_config *cfg, struct pawl_error *err)
{
	char prefix[KEY_MAX];
	size_t i, j, plen, count;

	for (i = 0; i < cfg->n_listeners; i++) {
		struct pawl_listener_config *l = &cfg->listeners[i];

		plen = (size_t)snprintf(prefix, sizeof(prefix), "event_listeners.%s.", l->name);
		for (j = 0, count = 0; j < cfg->n_settings; j++)
			count += strncmp(cfg->settings[j].key, prefix, plen) == 0;
		l->options = calloc(count + 1, sizeof(*l->options));
		if (l->options == NULL)
			return pawl_error_nomem(err);
		for (j = 0; j < cfg->n_settings; j++) {
			struct pawl_setting *o = &l->options[l->n_options];

			if (strncmp(cfg->settings[j].key, prefix, plen) != 0)
				continue;
			l->n_options++;
			o->key = pawl_config_keys_dup(cfg->settings[j].key + plen);
			o->value = pawl_config_keys_dup(cfg->settings[j].value);
			if (o->key == NULL || o->value == NULL)
				return pawl_error_nomem(err);
		}
	}
	return PAWL_OK;
}
