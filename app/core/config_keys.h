/*
 * Private to app/core/config.c and app/core/config_keys.c: the tables of
 * settings pawl knows, and how a value of each type is checked and stored.
 * Nothing outside the config module includes this header, but the generator
 * of pawl.ini(5)'s tables (tests/man/settings.c), which only reads them.
 */
#ifndef PAWL_CONFIG_KEYS_H
#define PAWL_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/err.h"

enum pawl_config_type {
	PAWL_CONFIG_STRING,
	PAWL_CONFIG_BOOL,  /* true/false/yes/no/on/off/1/0, any case */
	PAWL_CONFIG_INT,   /* base 10 within [min, max] */
	PAWL_CONFIG_MODE,  /* octal file mode within [min, max] */
	PAWL_CONFIG_ENUM,  /* one of choices */
	PAWL_CONFIG_LIST   /* whitespace-separated; items among choices when set */
};

/* Where a parsed value is stored, at `offset` of the struct being filled. */
enum pawl_config_field {
	PAWL_CONFIG_FIELD_NONE,
	PAWL_CONFIG_FIELD_STRING, /* char *, NULL when optional and empty */
	PAWL_CONFIG_FIELD_INT,    /* int */
	PAWL_CONFIG_FIELD_LLONG,  /* long long */
	PAWL_CONFIG_FIELD_BOOL,   /* bool */
	PAWL_CONFIG_FIELD_LIST    /* char **, NULL-terminated */
};

struct pawl_config_key {
	const char *key;
	enum pawl_config_type type;
	const char *def;              /* default value text; NULL: no default */
	long long min, max;           /* INT and MODE */
	const char *const *choices;   /* ENUM, LIST; NULL-terminated */
	bool optional;                /* "" is allowed and means unset */
	enum pawl_config_field field;
	size_t offset;
};

/* What a bare key is. */
enum pawl_config_class {
	PAWL_CONFIG_UNKNOWN,
	PAWL_CONFIG_KNOWN,     /* in the static table or a checked family */
	PAWL_CONFIG_IGNORED,   /* a Kinto/Cliquet setting pawl does not use */
	PAWL_CONFIG_LISTENER,  /* event_listeners.<alias>.<option> */
	PAWL_CONFIG_RESOURCE   /* resources.<name>.<option> */
};

/* A setting being assembled. All strings are owned by the entry. */
struct pawl_config_entry {
	char *key;       /* bare key */
	char *value;
	char *origin;    /* the name as written in the file; NULL when not from it */
	char *env_name;  /* the PAWL_* variable that set value, or NULL */
};

/*
 * The settings being assembled (config.c owns it; config_decl.c adds listener
 * and resource defaults). Entries are unsorted until published.
 */
struct pawl_config_build {
	const char *source;      /* file name for messages, or NULL */
	char *const *env;        /* NAME=VALUE array, or NULL */
	struct pawl_error *err;
	struct pawl_config_entry *ents;
	size_t n, cap;
	char **warnings;         /* said while building; handed to the config */
	size_t n_warnings;
};

/* Records a warning (a setting ignored...) for pawl_config_log_warnings. */
void pawl_config_build_warn(struct pawl_config_build *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The entry of key, or NULL. */
struct pawl_config_entry *pawl_config_build_find(struct pawl_config_build *b,
    const char *key);

/*
 * Makes key exist when its PAWL_* variable is set (value from there) or def is
 * non-NULL (value def); *out gets the entry or stays NULL. Errors: NOMEM.
 */
enum pawl_err pawl_config_build_ensure(struct pawl_config_build *b, const char *key,
    const char *def, struct pawl_config_entry **out);

/* "unknown setting 'KEY' in FILE" for e; returns PAWL_ERR_CONFIG. */
enum pawl_err pawl_config_build_unknown(struct pawl_config_build *b,
    const struct pawl_config_entry *e);

/*
 * config_decl.c: reads `resources` and `event_listeners` and their
 * `<family>.<name>.<option>` keys into cfg (resources first: listener filters
 * name them). After the settings are sorted and published, fills each
 * listener's options from cfg->settings.
 */
enum pawl_err pawl_config_decl_resources(struct pawl_config_build *b,
    struct pawl_config *cfg);
enum pawl_err pawl_config_decl_listeners(struct pawl_config_build *b,
    struct pawl_config *cfg);
enum pawl_err pawl_config_decl_options(struct pawl_config *cfg, struct pawl_error *err);

/* config_check.c: parses trusted_proxies into cfg; names a malformed entry. */
enum pawl_err pawl_config_check_proxies(struct pawl_config_build *b, struct pawl_config *cfg);

/* The static table, for defaults and struct fields. */
const struct pawl_config_key *pawl_config_keys_table(size_t *n);

/* Classifies a bare key; *def gets its row for PAWL_CONFIG_KNOWN. */
enum pawl_config_class pawl_config_keys_classify(const char *key,
    const struct pawl_config_key **def);

/*
 * The families checked by pattern (<resource>_<perm>_principals...), and the
 * Kinto/Cliquet settings accepted with a warning: the exact keys returned,
 * the prefixes and suffixes in *prefixes and *suffixes; all NULL-terminated.
 */
const struct pawl_config_key *pawl_config_keys_families(size_t *n);
const char *const *pawl_config_keys_ignored(const char *const **prefixes,
    const char *const **suffixes);

/* The rows of event_listeners.<alias>.<option> and of resources.<name>.<option>. */
const struct pawl_config_key *pawl_config_keys_listener(size_t *n);
const struct pawl_config_key *pawl_config_keys_resource(size_t *n);

/* The row of rows[0..n) named key, or NULL. */
const struct pawl_config_key *pawl_config_keys_find(const struct pawl_config_key *rows,
    size_t n, const char *key);

/* True when s is in the NULL-terminated list; when s starts with prefix. */
bool pawl_config_keys_in(const char *const *list, const char *s);

/* The INI sections pawl reads its settings from ("app:main", "pawl"), NULL-terminated. */
extern const char *const pawl_config_keys_sections[];
bool pawl_config_keys_prefixed(const char *s, const char *prefix);

/*
 * Checks e->value against def. When base is non-NULL and def names a field,
 * stores the parsed value there (replacing and freeing an earlier string or
 * list). On failure sets err (PAWL_ERR_CONFIG or PAWL_ERR_NOMEM) with a
 * message naming the key, the value and where it came from.
 */
enum pawl_err pawl_config_keys_apply(const struct pawl_config_key *def,
    const struct pawl_config_entry *e, void *base, const char *source,
    struct pawl_error *err);

/* Sets "setting 'KEY' must be WHAT, got 'GOT' (where)"; returns PAWL_ERR_CONFIG. */
enum pawl_err pawl_config_keys_bad(const struct pawl_config_entry *e,
    const char *source, struct pawl_error *err, const char *what, const char *got);

/* Splits on whitespace into a NULL-terminated array (n may be NULL); NULL on OOM. */
char **pawl_config_keys_split(const char *value, size_t *n);
void pawl_config_keys_strv_free(char **v);
char *pawl_config_keys_dup(const char *s);

#endif
