/*
 * What pawl knows about settings: the static table (type, default, range,
 * struct field), the families checked by pattern, the Kinto settings accepted
 * and ignored, and how a value text becomes an int, bool, mode or list.
 * Pure: no I/O, no environment, no logging.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/config_keys.h"
#include "core/json.h"

#define FLD(f) PAWL_CONFIG_FIELD_##f
#define CFG(m) offsetof(struct pawl_config, m)
#define LSN(m) offsetof(struct pawl_listener_config, m)
#define RES(m) offsetof(struct pawl_resource_config, m)

#define STR(k, d, opt, off) { k, PAWL_CONFIG_STRING, d, 0, 0, NULL, opt, FLD(STRING), off }
#define STR0(k, d, opt)     { k, PAWL_CONFIG_STRING, d, 0, 0, NULL, opt, FLD(NONE), 0 }
#define INT(k, d, lo, hi, off) { k, PAWL_CONFIG_INT, d, lo, hi, NULL, false, FLD(INT), off }
#define INT0(k, d, lo, hi, opt) { k, PAWL_CONFIG_INT, d, lo, hi, NULL, opt, FLD(NONE), 0 }
#define BOOL(k, d, off)     { k, PAWL_CONFIG_BOOL, d, 0, 0, NULL, false, FLD(BOOL), off }
#define ENUM(k, d, c, opt, off) { k, PAWL_CONFIG_ENUM, d, 0, 0, c, opt, FLD(STRING), off }
#define LIST(k, d, c, off)  { k, PAWL_CONFIG_LIST, d, 0, 0, c, true, FLD(LIST), off }
#define LIST0(k, d, c)      { k, PAWL_CONFIG_LIST, d, 0, 0, c, true, FLD(NONE), 0 }
#define ENUM0(k, d, c)      { k, PAWL_CONFIG_ENUM, d, 0, 0, c, false, FLD(NONE), 0 }

#define YEAR 31536000

static const char *const auth_policies[] = { "basicauth", "remote_user", "account", NULL };
static const char *const log_formats[] = { "json", "text", NULL };
static const char *const log_levels[] = { "debug", "info", "warning", "error", NULL };
static const char *const schemes[] = { "http", "https", NULL };
static const char *const actions[] = { "create", "update", "delete", "read", NULL };
static const char *const scopes[] = { "shared", "user", NULL };
static const char *const redis_types[] = { "list", "stream", NULL };

static const struct pawl_config_key static_keys[] = {
	STR("storage_url", "dbname=pawl", false, CFG(storage_url)),
	INT("storage_connect_timeout_seconds", "5", 1, 300, CFG(storage_connect_timeout_seconds)),
	INT("storage_statement_timeout_ms", "10000", 0, 3600000, CFG(storage_statement_timeout_ms)),
	INT("storage_max_fetch_size", "10000", 1, 1000000, CFG(storage_max_fetch_size)),
	BOOL("storage_prepared_statements", "true", CFG(storage_prepared_statements)),
	BOOL("storage_early_lock_release", "true", CFG(storage_early_lock_release)),
	{ "paginate_by", PAWL_CONFIG_INT, "0", 0, 1000000, NULL, true, FLD(INT), CFG(paginate_by) },
	STR("userid_hmac_secret", "", false, CFG(userid_hmac_secret)),
	LIST("multiauth.policies", "basicauth", auth_policies, CFG(auth_policies)),
	{ "max_request_body", PAWL_CONFIG_INT, "1048576", 1024, 1073741824, NULL, false,
	  FLD(LLONG), CFG(max_request_body) },
	/* Capped so every object written stays readable at PAWL_JSON_STORED_DEPTH. */
	INT("max_json_depth", "64", 2, PAWL_JSON_STORED_DEPTH, CFG(max_json_depth)),
	INT("batch_max_requests", "25", 1, 1000, CFG(batch_max_requests)),
	BOOL("readonly", "false", CFG(readonly)),
	BOOL("explicit_permissions", "true", CFG(explicit_permissions)),
	INT("retry_after_seconds", "3", 0, 86400, CFG(retry_after_seconds)),
	INT("max_client_timestamp_skew_seconds", "86400", 0, YEAR,
	    CFG(max_client_timestamp_skew_seconds)),
	INT("heartbeat_timeout_seconds", "1", 1, 300, CFG(heartbeat_timeout_seconds)),
	INT("heartbeat_outbox_max_age_seconds", "60", 0, 86400,
	    CFG(heartbeat_outbox_max_age_seconds)),
	STR("version_json_path", "", true, CFG(version_json_path)),
	STR("admin_assets_path", "", true, CFG(admin_assets_path)),
	ENUM("http_scheme", "", schemes, true, CFG(http_scheme)),
	STR("http_host", "", true, CFG(http_host)),
	LIST0("trusted_proxies", "", NULL),
	BOOL("version_prefix_redirect_enabled", "true", CFG(version_prefix_redirect_enabled)),
	INT("version_prefix_redirect_ttl_seconds", "-1", -1, YEAR,
	    CFG(version_prefix_redirect_ttl_seconds)),
	BOOL("trailing_slash_redirect_enabled", "true", CFG(trailing_slash_redirect_enabled)),
	INT("trailing_slash_redirect_ttl_seconds", "3600", -1, YEAR,
	    CFG(trailing_slash_redirect_ttl_seconds)),
	INT("graceful_timeout_seconds", "30", 0, 3600, CFG(graceful_timeout_seconds)),
	{ "socket_mode", PAWL_CONFIG_MODE, "0660", 0, 0777, NULL, false, FLD(INT), CFG(socket_mode) },
	STR("socket_owner", "", true, CFG(socket_owner)),
	STR("socket_group", "", true, CFG(socket_group)),
	STR("user", "", true, CFG(user)),
	STR("group", "", true, CFG(group)),
	BOOL("allow_root", "false", CFG(allow_root)),
	ENUM("log_format", "json", log_formats, false, CFG(log_format)),
	ENUM("log_level", "info", log_levels, false, CFG(log_level)),
	STR("log_file", "", true, CFG(log_file)),
	BOOL("metrics_enabled", "true", CFG(metrics_enabled)),
	LIST("metrics_read_principals", "", NULL, CFG(metrics_read_principals)),
	STR("metrics_shm_file", "", true, CFG(metrics_shm_file)),
	BOOL("history_enabled", "false", CFG(history_enabled)),
	BOOL("experimental_permissions_endpoint", "false", CFG(experimental_permissions_endpoint)),
	LIST("history.exclude_resources", "", NULL, CFG(history_exclude_resources)),
	LIST("history.exclude_user_ids", "", NULL, CFG(history_exclude_user_ids)),
	INT("history_max_age_seconds", "0", 0, 10 * YEAR, CFG(history_max_age_seconds)),
	INT("history_max_per_bucket", "0", 0, 1000000000, CFG(history_max_per_bucket)),
	LIST0("event_listeners", "", NULL),
	LIST0("resources", "", NULL),
	LIST0("bucket_create_principals", "system.Authenticated", NULL),
	LIST0("account_create_principals", "system.Everyone", NULL),
	INT0("account_cache_ttl_seconds", "60", 0, 86400, false),
	INT0("account_failures_per_minute", "0", 0, 1000000, false),
	INT0("backoff", "", 0, 86400, true),
	INT0("backoff_percentage", "", 0, 100, true),
	STR0("eos", "", true),
	STR0("eos_message", "", true),
	STR0("eos_url", "", true),
	LIST0("cors_origins", "*", NULL),
	INT0("cors_max_age_seconds", "3600", 0, YEAR, true),
	STR0("default_bucket_hmac_secret", "", false),
	INT0("root_cache_expires_seconds", "86400", 0, YEAR, false),
	INT0("pagination_token_validity_seconds", "600", 1, YEAR, false),
	INT0("relay_poll_interval_ms", "1000", 10, 3600000, false),
	INT0("outbox_batch_size", "100", 1, 10000, false),
};

static const struct pawl_config_key listener_keys[] = {
	STR("use", NULL, false, LSN(use)),
	STR("url", "redis://127.0.0.1:6379/0", false, LSN(url)),
	STR("listname", "pawl.events", false, LSN(listname)),
	STR("sentinels", NULL, true, LSN(sentinels)),
	STR("sentinel_master", NULL, true, LSN(sentinel_master)),
	INT("sentinel_db", "0", 0, 1000, LSN(sentinel_db)),
	STR("sentinel_password", NULL, true, LSN(sentinel_password)),
	STR("sentinels_password", NULL, true, LSN(sentinels_password)),
	INT("wait_replicas", "0", 0, 16, LSN(wait_replicas)),
	INT("pool_size", "1", 1, 64, LSN(pool_size)),
	ENUM("type", "list", redis_types, false, LSN(type)),
	INT("maxlen", "0", 0, 1000000000, LSN(maxlen)),
	BOOL("stream_per_bucket", "false", LSN(stream_per_bucket)),
	LIST0("actions", "create update delete", actions),
	LIST("resources", "", NULL, LSN(resources)),
	BOOL("include_data", "false", LSN(include_data)),
	INT("data_max_bytes", "65536", 0, 16777216, LSN(data_max_bytes)),
};

static const struct pawl_config_key resource_keys[] = {
	STR("list", NULL, false, RES(list)),
	STR("item", NULL, false, RES(item)),
	STR("parent", NULL, true, RES(parent)),
	ENUM0("scope", "shared", scopes),
};

/* Families kept verbatim in settings for later use; checked for type only. */
enum { FAMILY_PRINCIPALS, FAMILY_ENABLED, FAMILY_CACHE };
static const struct pawl_config_key family_keys[] = {
	[FAMILY_PRINCIPALS] = LIST0("<resource>_<perm>_principals", "", NULL),
	[FAMILY_ENABLED] = { "<type>_<resource>_<method>_enabled", PAWL_CONFIG_BOOL, "", 0, 0,
	    NULL, false, FLD(NONE), 0 },
	[FAMILY_CACHE] = INT0("<resource>_cache_expires_seconds", "", 0, YEAR, false),
};

static const char *const perms[] = {
	"read", "write", "create", "collection:create", "group:create", "record:create", NULL
};
static const char *const endpoint_types[] = {
	"plural_", "object_", "collection_", "record_", NULL
};

/* Kinto/Cliquet settings that an existing ini may carry; pawl warns and ignores them. */
static const char *const ignored_keys[] = {
	"project_name", "project_docs", "project_version", "http_api_version",
	"storage_backend", "storage_pool_size", "storage_max_overflow",
	"storage_pool_recycle", "storage_pool_timeout", "storage_max_backlog",
	"storage_poolclass", "storage_strict_json",
	"cache_backend", "cache_url", "cache_prefix", "cache_max_size_bytes", "cache_hosts",
	"cache_pool_size", "cache_max_overflow", "cache_pool_recycle",
	"cache_pool_timeout", "cache_max_backlog",
	"permission_backend", "permission_url", "permission_pool_size",
	"permission_max_overflow", "permission_pool_recycle", "permission_pool_timeout",
	"permission_max_backlog",
	"includes", "multiauth.authorization_policy", "multiauth.groupfinder",
	"statsd_url", "statsd_prefix", "statsd_backend", "sentry_dsn", "sentry_env",
	"transaction_per_request", "error_info_link",
	"id_generator", "bucket_id_generator", "collection_id_generator",
	"group_id_generator", "record_id_generator",
	"experimental_collection_schema_validation",
	"permissions_read_principals", "vary", "newrelic_config", "newrelic_env",
	"profiler_enabled", "profiler_dir", "initialization_sequence", "logging_renderer",
	NULL
};
/* multiauth.policy.<name>.use and friends name Python classes. */
static const char *const ignored_prefixes[] = { "multiauth.policy.", NULL };
/* <resource>_id_generator, for resources of Kinto plugins. */
static const char *const ignored_suffixes[] = { "_id_generator", NULL };

const struct pawl_config_key *pawl_config_keys_table(size_t *n)
{
	*n = sizeof(static_keys) / sizeof(static_keys[0]);
	return static_keys;
}

static const struct pawl_config_key *find_row(const struct pawl_config_key *rows,
    size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(rows[i].key, key) == 0)
			return &rows[i];
	return NULL;
}

const struct pawl_config_key *pawl_config_keys_families(size_t *n)
{
	*n = sizeof(family_keys) / sizeof(family_keys[0]);
	return family_keys;
}

const char *const *pawl_config_keys_ignored(const char *const **prefixes,
    const char *const **suffixes)
{
	*prefixes = ignored_prefixes;
	*suffixes = ignored_suffixes;
	return ignored_keys;
}

const struct pawl_config_key *pawl_config_keys_listener(size_t *n)
{
	*n = sizeof(listener_keys) / sizeof(listener_keys[0]);
	return listener_keys;
}

const struct pawl_config_key *pawl_config_keys_resource(size_t *n)
{
	*n = sizeof(resource_keys) / sizeof(resource_keys[0]);
	return resource_keys;
}

const struct pawl_config_key *pawl_config_keys_find(const struct pawl_config_key *rows,
    size_t n, const char *key)
{
	return find_row(rows, n, key);
}

const char *const pawl_config_keys_sections[] = { "app:main", "pawl", NULL };

bool pawl_config_keys_in(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

bool pawl_config_keys_prefixed(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* True when key is "<something><suffix>" with a non-empty <something>. */
static bool ends_with(const char *key, size_t key_len, const char *suffix)
{
	size_t n = strlen(suffix);

	return key_len > n && memcmp(key + key_len - n, suffix, n) == 0;
}

/* <resource>_<perm>_principals, e.g. bucket_write_principals, collection_record:create_principals. */
static bool is_principals(const char *key)
{
	size_t len = strlen(key);
	char suffix[64];
	size_t i;

	if (!ends_with(key, len, "_principals"))
		return false;
	len -= strlen("_principals");
	for (i = 0; perms[i] != NULL; i++) {
		snprintf(suffix, sizeof(suffix), "_%s", perms[i]);
		if (ends_with(key, len, suffix))
			return true;
	}
	return false;
}

/* <type>_<resource>_<method>_enabled, e.g. plural_bucket_post_enabled. */
static bool is_enabled(const char *key)
{
	size_t len = strlen(key);
	size_t i;

	if (!ends_with(key, len, "_enabled"))
		return false;
	for (i = 0; endpoint_types[i] != NULL; i++)
		if (pawl_config_keys_prefixed(key, endpoint_types[i]) &&
		    len > strlen(endpoint_types[i]) + strlen("_enabled"))
			return true;
	return false;
}

static bool is_ignored(const char *key)
{
	size_t i;

	if (pawl_config_keys_in(ignored_keys, key))
		return true;
	for (i = 0; ignored_prefixes[i] != NULL; i++)
		if (pawl_config_keys_prefixed(key, ignored_prefixes[i]))
			return true;
	for (i = 0; ignored_suffixes[i] != NULL; i++)
		if (ends_with(key, strlen(key), ignored_suffixes[i]))
			return true;
	return false;
}

enum pawl_config_class pawl_config_keys_classify(const char *key,
    const struct pawl_config_key **def)
{
	size_t n;

	*def = find_row(static_keys, sizeof(static_keys) / sizeof(static_keys[0]), key);
	if (*def != NULL)
		return PAWL_CONFIG_KNOWN;
	if (is_ignored(key))
		return PAWL_CONFIG_IGNORED;
	if (pawl_config_keys_prefixed(key, "event_listeners."))
		return PAWL_CONFIG_LISTENER;
	if (pawl_config_keys_prefixed(key, "resources."))
		return PAWL_CONFIG_RESOURCE;
	n = strlen(key);
	if (is_principals(key))
		*def = &family_keys[FAMILY_PRINCIPALS];
	else if (is_enabled(key))
		*def = &family_keys[FAMILY_ENABLED];
	else if (ends_with(key, n, "_cache_expires_seconds"))
		*def = &family_keys[FAMILY_CACHE];
	return *def != NULL ? PAWL_CONFIG_KNOWN : PAWL_CONFIG_UNKNOWN;
}

char *pawl_config_keys_dup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}

void pawl_config_keys_strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static size_t count_words(const char *s)
{
	size_t n = 0;

	while (*s != '\0') {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			break;
		n++;
		while (*s != '\0' && !isspace((unsigned char)*s))
			s++;
	}
	return n;
}

char **pawl_config_keys_split(const char *value, size_t *n)
{
	size_t count = count_words(value), i = 0, len;
	char **v = calloc(count + 1, sizeof(*v));

	if (v == NULL)
		return NULL;
	while (i < count) {
		while (isspace((unsigned char)*value))
			value++;
		for (len = 0; value[len] != '\0' && !isspace((unsigned char)value[len]); len++)
			;
		v[i] = malloc(len + 1);
		if (v[i] == NULL) {
			pawl_config_keys_strv_free(v);
			return NULL;
		}
		memcpy(v[i], value, len);
		v[i++][len] = '\0';
		value += len;
	}
	if (n != NULL)
		*n = count;
	return v;
}

enum pawl_err pawl_config_keys_bad(const struct pawl_config_entry *e,
    const char *source, struct pawl_error *err, const char *what, const char *got)
{
	char where[256] = "";

	if (e->env_name != NULL)
		snprintf(where, sizeof(where), " (from environment variable %s)", e->env_name);
	else if (e->origin != NULL && source != NULL)
		snprintf(where, sizeof(where), " (in %s)", source);
	return pawl_error_set(err, PAWL_ERR_CONFIG, "setting '%s' must be %s, got '%s'%s",
	    e->key, what, got, where);
}

static bool parse_bool(const char *s, bool *out)
{
	static const struct {
		const char *text;
		bool value;
	} words[] = {
		{ "true", true }, { "yes", true }, { "on", true }, { "1", true },
		{ "false", false }, { "no", false }, { "off", false }, { "0", false },
	};
	size_t i, j;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		for (j = 0; s[j] != '\0' && tolower((unsigned char)s[j]) == words[i].text[j]; j++)
			;
		if (s[j] == '\0' && words[i].text[j] == '\0') {
			*out = words[i].value;
			return true;
		}
	}
	return false;
}

/* Whole-string integer in [min, max]; base 10, or 8 for modes. */
static bool parse_int(const char *s, int base, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (!isdigit((unsigned char)s[0]) && !(s[0] == '-' && isdigit((unsigned char)s[1])))
		return false;
	errno = 0;
	v = strtoll(s, &end, base);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static void join_choices(const char *const *choices, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (; *choices != NULL && used < size; choices++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
		    used > 0 ? ", " : "", *choices);
}

static enum pawl_err check_list(const struct pawl_config_key *def,
    const struct pawl_config_entry *e, const char *source, struct pawl_error *err,
    char ***out)
{
	char what[256] = "a list of ";
	char **v = pawl_config_keys_split(e->value, NULL);
	size_t i;

	if (v == NULL)
		return pawl_error_nomem(err);
	for (i = 0; def->choices != NULL && v[i] != NULL; i++) {
		if (pawl_config_keys_in(def->choices, v[i]))
			continue;
		join_choices(def->choices, what + strlen(what), sizeof(what) - strlen(what));
		pawl_config_keys_bad(e, source, err, what, v[i]);
		pawl_config_keys_strv_free(v);
		return PAWL_ERR_CONFIG;
	}
	*out = v;
	return PAWL_OK;
}

/* Checks a scalar value; *num gets INT, MODE and BOOL values. */
static enum pawl_err check_scalar(const struct pawl_config_key *def,
    const struct pawl_config_entry *e, const char *source, struct pawl_error *err,
    long long *num)
{
	char what[256];
	bool b;

	switch (def->type) {
	case PAWL_CONFIG_BOOL:
		if (!parse_bool(e->value, &b))
			return pawl_config_keys_bad(e, source, err,
			    "a boolean (true/false, yes/no, on/off, 1/0)", e->value);
		*num = b;
		return PAWL_OK;
	case PAWL_CONFIG_INT:
		if (parse_int(e->value, 10, def->min, def->max, num))
			return PAWL_OK;
		snprintf(what, sizeof(what), "an integer between %lld and %lld", def->min, def->max);
		return pawl_config_keys_bad(e, source, err, what, e->value);
	case PAWL_CONFIG_MODE:
		if (strspn(e->value, "01234567") == strlen(e->value) &&
		    parse_int(e->value, 8, def->min, def->max, num))
			return PAWL_OK;
		snprintf(what, sizeof(what), "an octal file mode between 0%llo and 0%llo",
		    def->min, def->max);
		return pawl_config_keys_bad(e, source, err, what, e->value);
	case PAWL_CONFIG_ENUM:
		if (pawl_config_keys_in(def->choices, e->value))
			return PAWL_OK;
		strcpy(what, "one of ");
		join_choices(def->choices, what + strlen(what), sizeof(what) - strlen(what));
		return pawl_config_keys_bad(e, source, err, what, e->value);
	default:
		return PAWL_OK;
	}
}

static enum pawl_err store_string(const struct pawl_config_key *def,
    const struct pawl_config_entry *e, char **field, struct pawl_error *err)
{
	char *copy = NULL;

	if (!(def->optional && e->value[0] == '\0')) {
		copy = pawl_config_keys_dup(e->value);
		if (copy == NULL)
			return pawl_error_nomem(err);
	}
	free(*field);
	*field = copy;
	return PAWL_OK;
}

enum pawl_err pawl_config_keys_apply(const struct pawl_config_key *def,
    const struct pawl_config_entry *e, void *base, const char *source,
    struct pawl_error *err)
{
	char **list = NULL;
	char *at;
	long long num = 0;
	enum pawl_err rc;

	if (def->optional && e->value[0] == '\0' && def->type != PAWL_CONFIG_LIST)
		rc = PAWL_OK;
	else if (def->type == PAWL_CONFIG_LIST)
		rc = check_list(def, e, source, err, &list);
	else
		rc = check_scalar(def, e, source, err, &num);
	if (rc == PAWL_OK && base != NULL && def->field == FLD(LIST)) {
		char ***slot = (char ***)(void *)((char *)base + def->offset);

		pawl_config_keys_strv_free(*slot);
		*slot = list;
		return PAWL_OK;
	}
	pawl_config_keys_strv_free(list);
	if (rc != PAWL_OK || base == NULL)
		return rc;
	at = (char *)base + def->offset;
	switch (def->field) {
	case FLD(STRING):
		return store_string(def, e, (char **)(void *)at, err);
	case FLD(INT):
		*(int *)(void *)at = (int)num;
		break;
	case FLD(LLONG):
		*(long long *)(void *)at = num;
		break;
	case FLD(BOOL):
		*(bool *)(void *)at = num != 0;
		break;
	default:
		break;
	}
	return PAWL_OK;
}
