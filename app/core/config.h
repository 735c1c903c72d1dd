/*
 * Settings (docs/protocol.md §1): one INI file, sections [app:main] or [pawl], keys with or
 * without a pawl./kinto./cliquet. prefix, PAWL_<KEY> environment overrides,
 * defaults for everything. Parsed once into a const struct pawl_config that is
 * passed down; nothing reads settings any other way.
 */
#ifndef PAWL_CONFIG_H
#define PAWL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cidr.h"
#include "core/err.h"
#include "pawl/event.h"

struct pawl_setting {
	char *key;   /* unprefixed, e.g. "event_listeners.redis.url" */
	char *value; /* after environment overrides */
};

/* One `event_listeners.<name>.*` instance (docs/protocol.md §8). */
struct pawl_listener_config {
	char *name;           /* the alias in `event_listeners` */
	char *use;            /* "redis" or a path to a plugin .so */
	char *url;            /* redis: redis://[:pw@]host[:port][/db] or unix:///path */
	char *listname;       /* redis: the list's (or stream's) key, default "pawl.events" */
	char *sentinels;      /* redis: "host:port ..." asked for the master instead of url; NULL: url */
	char *sentinel_master; /* redis with sentinels: the master's name there */
	int sentinel_db;      /* redis with sentinels: SELECT this database (url's /db) */
	char *sentinel_password; /* redis with sentinels: AUTH to the master (url's password); NULL: none */
	char *sentinels_password; /* redis with sentinels: AUTH to each Sentinel; NULL: none */
	int wait_replicas;    /* redis: WAIT for this many replicas after each push; 0: none */
	char *type;           /* redis: "list" (LPUSH, the default) or "stream" (XADD) */
	int maxlen;           /* redis stream: MAXLEN ~ bound on each XADD; 0: no trimming */
	bool stream_per_bucket; /* redis stream: one stream per bucket, "<listname>.<bucket>" */
	int pool_size;        /* default 1 */
	unsigned actions;     /* enum pawl_event_action bits; default create|update|delete */
	char **resources;     /* NULL-terminated; NULL means every resource */
	bool include_data;    /* redis: "impacted" entries carry new/old (stage.h) */
	int data_max_bytes;   /* redis: their cap per event; default 65536 */
	/* Every event_listeners.<name>.<option> as given (options handed to plugins). */
	struct pawl_setting *options;
	size_t n_options;
};

/* One resource declared with `resources = a b` and `resources.<name>.*` (docs/protocol.md §2). */
struct pawl_resource_config {
	char *name;      /* resource_name, [a-z][a-z0-9_]* */
	char *list;      /* list pattern, e.g. "/mushrooms" */
	char *item;      /* item pattern, e.g. "/mushrooms/{id}" */
	char *parent;    /* parent resource name, or NULL */
	bool per_user;   /* `scope = user`: each user sees only their own objects */
};

struct pawl_config {
	char *source_path;                /* the file read, or NULL */

	/* storage */
	char *storage_url;                /* libpq URI or conninfo; default "dbname=pawl" */
	int storage_connect_timeout_seconds;  /* default 5 */
	int storage_statement_timeout_ms;     /* default 10000 (0 = none) */
	int storage_max_fetch_size;       /* default 10000 */
	bool storage_prepared_statements; /* default true; false behind PgBouncer (transaction mode) */
	bool storage_early_lock_release;  /* default true: commit, then wait for the WAL flush */
	int paginate_by;                  /* default 0 = no cap beyond max_fetch_size */

	/* identity */
	char *userid_hmac_secret;         /* default "" */
	char **auth_policies;             /* multiauth.policies (basicauth, account, remote_user), NULL-terminated; default {"basicauth"} */

	/* HTTP */
	long long max_request_body;       /* bytes, default 1048576 */
	int max_json_depth;               /* default 64 */
	int batch_max_requests;           /* default 25 */
	bool readonly;                    /* default false */
	bool explicit_permissions;        /* default true */
	int retry_after_seconds;          /* default 3 */
	int max_client_timestamp_skew_seconds; /* default 86400: data.last_modified ahead of now */
	int heartbeat_timeout_seconds;    /* default 1 */
	int heartbeat_outbox_max_age_seconds; /* default 60; 0: the outbox is not checked */
	char *version_json_path;          /* default NULL: built-in version info */
	char *admin_assets_path;          /* default NULL: no Kinto Admin installed */
	char *http_scheme;                /* NULL: from the request */
	char *http_host;                  /* NULL: from the request */
	/* Peers whose X-Forwarded-Host/-Proto are believed; default none. */
	struct pawl_cidr *trusted_proxies;
	size_t n_trusted_proxies;
	bool version_prefix_redirect_enabled;     /* default true */
	int version_prefix_redirect_ttl_seconds;  /* default -1 (no Cache-Control) */
	bool trailing_slash_redirect_enabled;     /* default true */
	int trailing_slash_redirect_ttl_seconds;  /* default 3600 */

	/* process */
	int graceful_timeout_seconds;     /* default 30: SIGTERM drain before SIGKILL */
	int socket_mode;                  /* default 0660: mode of a --listen unix socket */
	char *socket_owner;               /* NULL: the starting user; else a user name or uid */
	char *socket_group;               /* NULL: the starting group; else a group name or gid */
	char *user;                       /* NULL: keep the starting user; else run as this user */
	char *group;                      /* NULL: the user's primary group */
	bool allow_root;                  /* default false: refuse to serve as root */
	char *log_format;                 /* "json" (default) or "text" */
	char *log_level;                  /* "debug" | "info" (default) | "warning" | "error" */
	char *log_file;                   /* NULL: stderr; else appended to, reopened on SIGUSR1 */
	bool metrics_enabled;             /* default true: GET /v1/__metrics__ (README, "Metrics") */
	char **metrics_read_principals;   /* who may read it, NULL-terminated; default NULL: nobody */
	char *metrics_shm_file;           /* NULL: counters shared through the supervisor only */
	/* Kinto's history plugin (README, "History") */
	bool history_enabled;             /* default false: no entries, /buckets/{id}/history is 404 */
	char **history_exclude_resources; /* bucket, collection or object URIs not tracked */
	char **history_exclude_user_ids;  /* users whose changes are not tracked */
	int history_max_age_seconds;      /* default 0: entries are never trimmed by age */
	int history_max_per_bucket;       /* default 0: no cap on a bucket's entries */
	/* Kinto's GET /v1/permissions (README, "Listing permissions") */
	bool experimental_permissions_endpoint; /* default false: /permissions is 404 */
	char **warnings;                  /* said while parsing (settings ignored...) */
	size_t n_warnings;

	/* events */
	struct pawl_listener_config *listeners;
	size_t n_listeners;

	/* configured resources, beyond Kinto's four */
	struct pawl_resource_config *resources;
	size_t n_resources;

	/* Every effective setting, sorted by key (for generic families and tests). */
	struct pawl_setting *settings;
	size_t n_settings;
};

/*
 * Parses INI text. `env` is a NULL-terminated "NAME=VALUE" array (environ) or
 * NULL. `source` names the file in messages. On failure returns NULL and sets
 * err (PAWL_ERR_CONFIG) with a message that names the offending key.
 * The result is owned by the caller (pawl_config_free).
 */
struct pawl_config *pawl_config_parse(const char *text, const char *source,
    char *const *env, struct pawl_error *err);

/*
 * Reads the file at path and parses it as above. A file with neither an
 * [app:main] nor a [pawl] section is refused (PAWL_ERR_CONFIG naming the
 * section it has): its settings would all be ignored.
 */
struct pawl_config *pawl_config_load(const char *path, char *const *env,
    struct pawl_error *err);

void pawl_config_free(struct pawl_config *cfg);

/*
 * Logs the warnings the parse recorded, once the logger has the config's
 * format and target (a warning logged during the parse would not).
 */
void pawl_config_log_warnings(const struct pawl_config *cfg);

/* The effective value of an unprefixed key, or NULL. */
const char *pawl_config_get(const struct pawl_config *cfg, const char *key);

/* True when multiauth.policies lists policy ("basicauth", "account", ...). */
bool pawl_config_has_policy(const struct pawl_config *cfg, const char *policy);

/*
 * The key of the personal default bucket's id: default_bucket_hmac_secret,
 * else userid_hmac_secret (as Kinto does); NULL when both are empty.
 */
const char *pawl_config_default_bucket_secret(const struct pawl_config *cfg);

/*
 * PAWL_ERR_CONFIG, naming both settings, when the default bucket would be
 * keyed by an empty secret; naming userid_hmac_secret when it is empty and
 * basicauth is enabled. Called at start (and by `pawl-fcgi check`).
 */
enum pawl_err pawl_config_check_secrets(const struct pawl_config *cfg, struct pawl_error *err);

#endif
