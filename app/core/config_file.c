/*
 * The configuration file and the parsed configuration's life: reading the
 * file (size and content limits), refusing one without a section pawl reads,
 * handing the text to the parser (config.c); then looking settings up, saying
 * the warnings the parse kept, and freeing it all.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/config_keys.h"

#define MAX_FILE_SIZE (16L * 1024 * 1024)

/* The whole file as a string; NULL with err set when it cannot be read. */
static char *read_file(const char *path, struct pawl_error *err)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL, *p;
	size_t len = 0, cap = 0, got = 0;

	if (f == NULL) {
		pawl_error_set(err, PAWL_ERR_CONFIG, "cannot read configuration file '%s': %s",
		    path, strerror(errno));
		return NULL;
	}
	do {
		len += got;
		if (len + 4096 >= cap) {
			if ((p = realloc(text, cap = cap ? 2 * cap : 16384)) == NULL) {
				pawl_error_nomem(err);
				goto fail;
			}
			text = p;
		}
	} while (len <= MAX_FILE_SIZE && (got = fread(text + len, 1, cap - len - 1, f)) > 0);
	if (ferror(f) || len > MAX_FILE_SIZE || memchr(text, '\0', len) != NULL) {
		pawl_error_set(err, PAWL_ERR_CONFIG, "cannot read configuration file '%s': %s",
		    path, ferror(f) ? "read error" : len > MAX_FILE_SIZE ?
		    "larger than 16 MiB" : "contains a NUL byte");
		goto fail;
	}
	text[len] = '\0';
	fclose(f);
	return text;
fail:
	free(text);
	fclose(f);
	return NULL;
}

/*
 * A file whose settings sit under no section pawl reads ([app:mian], or
 * none at all) would silently run on defaults. Names the first section seen.
 */
static enum pawl_err check_sections(const char *text, const char *path, struct pawl_error *err)
{
	char seen[160] = "";
	const char *p = text;

	while (*p != '\0') {
		size_t len;

		p += strspn(p, " \t");
		if (*p == '[' && (len = strcspn(p + 1, "]\r\n")) > 0 && p[1 + len] == ']') {
			char name[128];

			snprintf(name, sizeof(name), "%.*s", (int)len, p + 1);
			if (pawl_config_keys_in(pawl_config_keys_sections, name))
				return PAWL_OK;
			if (seen[0] == '\0')
				snprintf(seen, sizeof(seen), " (found [%s])", name);
		}
		p += strcspn(p, "\n");
		if (*p == '\n')
			p++;
	}
	return pawl_error_set(err, PAWL_ERR_CONFIG, "configuration file '%s' has no [app:main] or "
	    "[pawl] section%s: pawl reads its settings from those sections only", path,
	    seen[0] != '\0' ? seen : " (no section header at all)");
}

struct pawl_config *pawl_config_load(const char *path, char *const *env,
    struct pawl_error *err)
{
	char *text = read_file(path, err);
	struct pawl_config *cfg;

	if (text == NULL)
		return NULL;
	if (check_sections(text, path, err) != PAWL_OK) {
		free(text);
		return NULL;
	}
	cfg = pawl_config_parse(text, path, env, err);
	free(text);
	return cfg;
}

static void listener_free(struct pawl_listener_config *l)
{
	size_t i;

	free(l->name);
	free(l->use);
	free(l->url);
	free(l->listname);
	free(l->sentinels);
	free(l->sentinel_master);
	free(l->sentinel_password);
	free(l->sentinels_password);
	free(l->type);
	pawl_config_keys_strv_free(l->resources);
	for (i = 0; i < l->n_options; i++) {
		free(l->options[i].key);
		free(l->options[i].value);
	}
	free(l->options);
}

void pawl_config_free(struct pawl_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->n_listeners; i++)
		listener_free(&cfg->listeners[i]);
	free(cfg->listeners);
	for (i = 0; i < cfg->n_resources; i++) {
		free(cfg->resources[i].name);
		free(cfg->resources[i].list);
		free(cfg->resources[i].item);
		free(cfg->resources[i].parent);
	}
	free(cfg->resources);
	for (i = 0; i < cfg->n_settings; i++) {
		free(cfg->settings[i].key);
		free(cfg->settings[i].value);
	}
	free(cfg->settings);
	pawl_config_keys_strv_free(cfg->auth_policies);
	free(cfg->source_path);
	free(cfg->storage_url);
	free(cfg->userid_hmac_secret);
	free(cfg->version_json_path);
	free(cfg->admin_assets_path);
	free(cfg->http_scheme);
	free(cfg->http_host);
	free(cfg->trusted_proxies);
	free(cfg->log_format);
	free(cfg->log_level);
	free(cfg->log_file);
	pawl_config_keys_strv_free(cfg->metrics_read_principals);
	pawl_config_keys_strv_free(cfg->history_exclude_resources);
	pawl_config_keys_strv_free(cfg->history_exclude_user_ids);
	free(cfg->metrics_shm_file);
	for (i = 0; i < cfg->n_warnings; i++)
		free(cfg->warnings[i]);
	free(cfg->warnings);
	free(cfg->socket_owner);
	free(cfg->socket_group);
	free(cfg->user);
	free(cfg->group);
	free(cfg);
}

static int setting_cmp(const void *key, const void *item)
{
	return strcmp(key, ((const struct pawl_setting *)item)->key);
}

const char *pawl_config_get(const struct pawl_config *cfg, const char *key)
{
	const struct pawl_setting *s;

	if (cfg == NULL || key == NULL || cfg->n_settings == 0)
		return NULL;
	s = bsearch(key, cfg->settings, cfg->n_settings, sizeof(*s), setting_cmp);
	return s != NULL ? s->value : NULL;
}

void pawl_config_log_warnings(const struct pawl_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_warnings; i++)
		pawl_log_warn("%s", cfg->warnings[i]);
}
