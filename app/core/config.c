/*
 * Settings (docs/protocol.md §1): INI text → struct pawl_config. Reads [app:main] and
 * [pawl], strips the pawl./kinto./cliquet. prefix, rejects conflicts and
 * unknown keys, applies PAWL_* overrides from the env array it is handed, and
 * builds the listener and resource declarations. Never calls getenv and does
 * no I/O: config_file.c reads the file and owns the result's life.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "core/config.h"
#include "core/log.h"
#include "core/config_keys.h"

#define NAME_MAX_LEN 512

static const char *const prefixes[] = { "pawl.", "kinto.", "cliquet.", NULL };

/* One accepted `name = value` of the file. */
struct raw {
	char *section;
	char *name;
	char *value;
};

/* Feeds inih one line at a time, so the handler knows the line and its indent. */
struct reader {
	const char *p;
	int line;
	bool indented;   /* the current line starts with a blank: a continuation */
	int too_long;    /* first line longer than inih's buffer, or 0 */
	int max_len;
};

struct build {
	struct pawl_config_build set;  /* the settings; config_decl.c works on them */
	const char *text;
	struct reader rd;
	enum pawl_err rc;  /* first failure inside the ini handler */
	struct raw *raw;
	size_t n_raw, cap_raw;
};

static const char *where(const struct pawl_config_build *b)
{
	return b->source != NULL ? b->source : "the configuration";
}

/* Returns arr with room for n + 1 items (reallocated), or NULL leaving arr intact. */
static void *grow(void *arr, size_t *cap, size_t n, size_t size)
{
	size_t want = *cap > 0 ? *cap : 16;
	void *p;

	if (n < *cap)
		return arr;
	while (want <= n)
		want *= 2;
	p = realloc(arr, want * size);
	if (p != NULL)
		*cap = want;
	return p;
}

static const char *strip_prefix(const char *name)
{
	size_t i;

	for (i = 0; prefixes[i] != NULL; i++)
		if (pawl_config_keys_prefixed(name, prefixes[i]))
			return name + strlen(prefixes[i]);
	return name;
}

/* --- entries ------------------------------------------------------------ */

void pawl_config_build_warn(struct pawl_config_build *b, const char *fmt, ...)
{
	char text[1024], **grown, *copy;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* A warning that cannot be kept is lost; it never fails the load. */
	if ((copy = strdup(text)) == NULL)
		return;
	if ((grown = realloc(b->warnings, (b->n_warnings + 1) * sizeof(*grown))) == NULL) {
		free(copy);
		return;
	}
	b->warnings = grown;
	b->warnings[b->n_warnings++] = copy;
}

struct pawl_config_entry *pawl_config_build_find(struct pawl_config_build *b,
    const char *key)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		if (b->ents[i].key != NULL && strcmp(b->ents[i].key, key) == 0)
			return &b->ents[i];
	return NULL;
}

static void entry_clear(struct pawl_config_entry *e)
{
	free(e->key);
	free(e->value);
	free(e->origin);
	free(e->env_name);
	memset(e, 0, sizeof(*e));
}

static enum pawl_err entry_add(struct pawl_config_build *b, const char *key, const char *value,
    const char *origin, struct pawl_config_entry **out)
{
	struct pawl_config_entry *p = grow(b->ents, &b->cap, b->n, sizeof(*p));
	struct pawl_config_entry *e;

	if (p == NULL)
		return pawl_error_nomem(b->err);
	b->ents = p;
	e = &b->ents[b->n];
	memset(e, 0, sizeof(*e));
	e->key = pawl_config_keys_dup(key);
	e->value = pawl_config_keys_dup(value);
	e->origin = origin != NULL ? pawl_config_keys_dup(origin) : NULL;
	b->n++;
	if (e->key == NULL || e->value == NULL || (origin != NULL && e->origin == NULL))
		return pawl_error_nomem(b->err);
	if (out != NULL)
		*out = e;
	return PAWL_OK;
}

/* PAWL_<KEY>: upper case, '.', '-' and ':' become '_'. */
static void env_name(const char *key, char *buf, size_t size)
{
	size_t i = (size_t)snprintf(buf, size, "PAWL_");

	for (; *key != '\0' && i + 1 < size; key++, i++) {
		char c = *key;

		buf[i] = (c == '.' || c == '-' || c == ':') ? '_' :
		    (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
	}
	buf[i] = '\0';
}

static const char *env_lookup(char *const *env, const char *name)
{
	size_t len = strlen(name);

	for (; env != NULL && *env != NULL; env++)
		if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
			return *env + len + 1;
	return NULL;
}

/* Replaces e's value by its PAWL_* variable, when that is set. */
static enum pawl_err env_apply(struct pawl_config_build *b, struct pawl_config_entry *e)
{
	char name[NAME_MAX_LEN];
	const char *v;
	char *value, *var;

	env_name(e->key, name, sizeof(name));
	v = env_lookup(b->env, name);
	if (v == NULL)
		return PAWL_OK;
	value = pawl_config_keys_dup(v);
	var = pawl_config_keys_dup(name);
	if (value == NULL || var == NULL) {
		free(value);
		free(var);
		return pawl_error_nomem(b->err);
	}
	free(e->value);
	free(e->env_name);
	e->value = value;
	e->env_name = var;
	return PAWL_OK;
}

enum pawl_err pawl_config_build_ensure(struct pawl_config_build *b, const char *key,
    const char *def, struct pawl_config_entry **out)
{
	char name[NAME_MAX_LEN];

	*out = pawl_config_build_find(b, key);
	if (*out != NULL)
		return PAWL_OK;
	env_name(key, name, sizeof(name));
	if (env_lookup(b->env, name) == NULL && def == NULL)
		return PAWL_OK;
	if (entry_add(b, key, def != NULL ? def : "", NULL, out) != PAWL_OK)
		return b->err->code;
	return env_apply(b, *out);
}

enum pawl_err pawl_config_build_unknown(struct pawl_config_build *b,
    const struct pawl_config_entry *e)
{
	return pawl_error_set(b->err, PAWL_ERR_CONFIG, "unknown setting '%s' in %s",
	    e->origin != NULL ? e->origin : e->key, where(b));
}

/* --- reading the INI text ------------------------------------------------- */

static char *read_line(char *buf, int size, void *stream)
{
	struct reader *r = stream;
	size_t len, max = size > 1 ? (size_t)size - 1 : 0;

	if (*r->p == '\0')
		return NULL;
	len = strcspn(r->p, "\n");
	if (r->p[len] == '\n')
		len++;
	r->line++;
	r->max_len = size - 3;
	r->indented = r->p[0] == ' ' || r->p[0] == '\t';
	if (len > max) {
		if (r->too_long == 0)
			r->too_long = r->line;
		buf[0] = '\0';
	} else {
		memcpy(buf, r->p, len);
		buf[len] = '\0';
	}
	r->p += len;
	return buf;
}

static enum pawl_err raw_add(struct build *b, const char *section, const char *name,
    const char *value)
{
	struct raw *p;
	size_t i;

	for (i = 0; i < b->n_raw; i++)
		if (strcmp(b->raw[i].section, section) == 0 && strcmp(b->raw[i].name, name) == 0)
			return pawl_error_set(b->set.err, PAWL_ERR_CONFIG,
			    "%s line %d: setting '%s' appears twice in [%s]",
			    where(&b->set), b->rd.line, name, section);
	p = grow(b->raw, &b->cap_raw, b->n_raw, sizeof(*p));
	if (p == NULL)
		return pawl_error_nomem(b->set.err);
	b->raw = p;
	p = &b->raw[b->n_raw++];
	p->section = pawl_config_keys_dup(section);
	p->name = pawl_config_keys_dup(name);
	p->value = pawl_config_keys_dup(value);
	if (p->section == NULL || p->name == NULL || p->value == NULL)
		return pawl_error_nomem(b->set.err);
	return PAWL_OK;
}

/* An indented line continues the previous value, as in Python's configparser. */
static enum pawl_err raw_append(struct build *b, struct raw *r, const char *value)
{
	size_t old = strlen(r->value), add = strlen(value);
	char *p = realloc(r->value, old + add + 2);

	if (p == NULL)
		return pawl_error_nomem(b->set.err);
	r->value = p;
	if (old > 0)
		p[old++] = ' ';
	memcpy(p + old, value, add + 1);
	return PAWL_OK;
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct build *b = user;
	struct raw *last = b->n_raw > 0 ? &b->raw[b->n_raw - 1] : NULL;

	if (b->rc != PAWL_OK || !pawl_config_keys_in(pawl_config_keys_sections, section))
		return 1;
	if (strcmp(section, "app:main") == 0 && strcmp(name, "use") == 0)
		return 1;
	if (b->rd.indented && last != NULL && strcmp(last->section, section) == 0 &&
	    strcmp(last->name, name) == 0)
		b->rc = raw_append(b, last, value);
	else
		b->rc = raw_add(b, section, name, value);
	return 1;
}

static enum pawl_err read_raw(struct build *b, struct pawl_config *cfg)
{
	int rc;

	(void)cfg;
	b->rd.p = b->text;
	rc = ini_parse_stream(read_line, &b->rd, on_pair, b);
	if (b->rc != PAWL_OK)
		return b->rc;
	if (b->rd.too_long > 0)
		return pawl_error_set(b->set.err, PAWL_ERR_CONFIG,
		    "%s line %d: line longer than %d characters; continue long values "
		    "on indented lines", where(&b->set), b->rd.too_long, b->rd.max_len);
	if (rc == -2)
		return pawl_error_nomem(b->set.err);
	if (rc != 0)
		return pawl_error_set(b->set.err, PAWL_ERR_CONFIG,
		    "%s line %d: expected 'key = value', '[section]' or a comment",
		    where(&b->set), rc);
	return PAWL_OK;
}

/* --- from the file's pairs to settings ------------------------------------ */

static enum pawl_err conflict(struct build *b, const struct raw *x, const struct raw *y)
{
	if (strcmp(x->name, y->name) == 0)
		return pawl_error_set(b->set.err, PAWL_ERR_CONFIG,
		    "Settings '[%s] %s', '[%s] %s' are in conflict.",
		    x->section, x->name, y->section, y->name);
	return pawl_error_set(b->set.err, PAWL_ERR_CONFIG,
	    "Settings '%s', '%s' are in conflict.", x->name, y->name);
}

/* One entry per bare key; one key under two names must have one value. */
static enum pawl_err merge_raw(struct build *b, struct pawl_config *cfg)
{
	size_t i, j;

	(void)cfg;
	for (i = 0; i < b->n_raw; i++) {
		const char *bare = strip_prefix(b->raw[i].name);

		for (j = 0; j < i; j++)
			if (strcmp(strip_prefix(b->raw[j].name), bare) == 0)
				break;
		if (j < i && strcmp(b->raw[j].value, b->raw[i].value) != 0)
			return conflict(b, &b->raw[j], &b->raw[i]);
		if (j == i && entry_add(&b->set, bare, b->raw[i].value, b->raw[i].name,
		    NULL) != PAWL_OK)
			return b->set.err->code;
	}
	return PAWL_OK;
}

/* Unknown keys fail; Kinto keys pawl does not use are dropped with a warning. */
static enum pawl_err classify_all(struct build *b, struct pawl_config *cfg)
{
	const struct pawl_config_key *def;
	struct pawl_config_build *set = &b->set;
	size_t i = 0;

	(void)cfg;
	while (i < set->n) {
		struct pawl_config_entry *e = &set->ents[i];

		switch (pawl_config_keys_classify(e->key, &def)) {
		case PAWL_CONFIG_UNKNOWN:
			return pawl_config_build_unknown(set, e);
		case PAWL_CONFIG_IGNORED:
			pawl_config_build_warn(set, "setting %s is a Kinto setting pawl does not use; "
			    "ignored", e->key);
			entry_clear(e);
			memmove(e, e + 1, (set->n - i - 1) * sizeof(*e));
			set->n--;
			break;
		default:
			i++;
			break;
		}
	}
	return PAWL_OK;
}

static enum pawl_err add_defaults(struct build *b, struct pawl_config *cfg)
{
	const struct pawl_config_key *rows;
	size_t n, i;

	(void)cfg;
	rows = pawl_config_keys_table(&n);
	for (i = 0; i < n; i++)
		if (pawl_config_build_find(&b->set, rows[i].key) == NULL &&
		    entry_add(&b->set, rows[i].key, rows[i].def, NULL, NULL) != PAWL_OK)
			return b->set.err->code;
	return PAWL_OK;
}

static enum pawl_err env_all(struct build *b, struct pawl_config *cfg)
{
	size_t i;

	(void)cfg;
	for (i = 0; i < b->set.n; i++)
		if (env_apply(&b->set, &b->set.ents[i]) != PAWL_OK)
			return b->set.err->code;
	return PAWL_OK;
}

/* Checks every static and family value; static ones fill their struct field. */
static enum pawl_err check_values(struct build *b, struct pawl_config *cfg)
{
	const struct pawl_config_key *def;
	size_t i;

	for (i = 0; i < b->set.n; i++)
		if (pawl_config_keys_classify(b->set.ents[i].key, &def) == PAWL_CONFIG_KNOWN &&
		    pawl_config_keys_apply(def, &b->set.ents[i], cfg, b->set.source,
		    b->set.err) != PAWL_OK)
			return b->set.err->code;
	return PAWL_OK;
}

static enum pawl_err resources(struct build *b, struct pawl_config *cfg)
{
	return pawl_config_decl_resources(&b->set, cfg);
}

static enum pawl_err proxies(struct build *b, struct pawl_config *cfg)
{
	return pawl_config_check_proxies(&b->set, cfg);
}

static enum pawl_err listeners(struct build *b, struct pawl_config *cfg)
{
	return pawl_config_decl_listeners(&b->set, cfg);
}

static int entry_cmp(const void *x, const void *y)
{
	const struct pawl_config_entry *a = x, *b = y;

	return strcmp(a->key, b->key);
}

/* Moves the sorted settings into cfg, then hands each listener its options. */
static enum pawl_err publish(struct build *b, struct pawl_config *cfg)
{
	struct pawl_config_build *set = &b->set;
	size_t i;

	if (set->n > 0)
		qsort(set->ents, set->n, sizeof(*set->ents), entry_cmp);
	cfg->settings = calloc(set->n + 1, sizeof(*cfg->settings));
	if (cfg->settings == NULL)
		return pawl_error_nomem(set->err);
	for (i = 0; i < set->n; i++) {
		cfg->settings[i].key = set->ents[i].key;
		cfg->settings[i].value = set->ents[i].value;
		set->ents[i].key = NULL;
		set->ents[i].value = NULL;
	}
	cfg->n_settings = set->n;
	return pawl_config_decl_options(cfg, set->err);
}

static void build_free(struct build *b)
{
	size_t i;

	for (i = 0; i < b->n_raw; i++) {
		free(b->raw[i].section);
		free(b->raw[i].name);
		free(b->raw[i].value);
	}
	free(b->raw);
	for (i = 0; i < b->set.n; i++)
		entry_clear(&b->set.ents[i]);
	free(b->set.ents);
	for (i = 0; i < b->set.n_warnings; i++)
		free(b->set.warnings[i]);
	free(b->set.warnings);
}

/* --- public API ------------------------------------------------------------ */

typedef enum pawl_err config_step_fn(struct build *b, struct pawl_config *cfg);

static config_step_fn *const steps[] = {
	read_raw, merge_raw, classify_all, add_defaults, env_all, check_values,
	proxies, resources, listeners, publish,
};

struct pawl_config *pawl_config_parse(const char *text, const char *source,
    char *const *env, struct pawl_error *err)
{
	struct build b;
	struct pawl_config *cfg, *result = NULL;
	size_t i;

	memset(&b, 0, sizeof(b));
	b.set.source = source;
	b.set.env = env;
	b.set.err = err;
	b.text = text;
	pawl_error_clear(err);
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL || (source != NULL &&
	    (cfg->source_path = pawl_config_keys_dup(source)) == NULL)) {
		pawl_error_nomem(b.set.err);
		goto out;
	}
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i](&b, cfg) != PAWL_OK)
			goto out;
	cfg->warnings = b.set.warnings;
	cfg->n_warnings = b.set.n_warnings;
	b.set.warnings = NULL;
	b.set.n_warnings = 0;
	result = cfg;
	cfg = NULL;
out:
	build_free(&b);
	pawl_config_free(cfg);
	return result;
}
