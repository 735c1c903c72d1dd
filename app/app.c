/*
 * Builds and frees a worker's long-lived context. Validates what can only be
 * checked once the pieces meet (listener URLs, version file, resource
 * patterns) so a bad config fails at startup, never on a request.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "resource/accounts.h"
#include "app.h"
#include "core/log.h"
#include "http/auth.h"
#include "store/pg.h"
#include "store/pg_store.h"
#include "events/stage.h"
#include "events/subscribers.h"
#include "pawl/listener.h"
#include "events/listener_set.h"
#include "http/policy.h"
#include "events/redis.h"
#include "core/resource_table.h"
#include "http/router.h"
#include "http/pipeline.h"
#include "endpoints/batch.h"
#include "endpoints/metrics.h"
#include "endpoints/permissions.h"
#include "endpoints/service.h"
#include "resource/dispatch.h"

#ifndef PAWL_COMMIT
#define PAWL_COMMIT "unknown"
#endif

/*
 * Every endpoint, by the kind of route the router matched: the pipeline
 * (http/) dispatches through this table and names none of them itself.
 */
static const struct pawl_dispatch dispatch = {
	.by_kind = {
		[PAWL_ROUTE_HELLO] = pawl_service_hello,
		[PAWL_ROUTE_HEARTBEAT] = pawl_service_heartbeat,
		[PAWL_ROUTE_LBHEARTBEAT] = pawl_service_lbheartbeat,
		[PAWL_ROUTE_VERSION] = pawl_service_version,
		[PAWL_ROUTE_BATCH] = pawl_batch_handle,
		[PAWL_ROUTE_LIST] = pawl_resource_handle,
		[PAWL_ROUTE_ITEM] = pawl_resource_handle,
		[PAWL_ROUTE_METRICS] = pawl_metrics_handle,
		[PAWL_ROUTE_PERMISSIONS] = pawl_permissions_handle,
	},
	.account = pawl_accounts_identify,
};

static char *builtin_version(void)
{
	json_object *o = json_object_new_object();
	char *text;

	json_object_object_add(o, "name", json_object_new_string("pawl"));
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "source", json_object_new_string(PACKAGE_NAME));
	json_object_object_add(o, "commit", json_object_new_string(PAWL_COMMIT));
	json_object_object_add(o, "build", json_object_new_string(__DATE__ " " __TIME__));
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return text;
}

/* version_json_path is read once: a missing or broken file is a startup error. */
static char *file_version(const char *path, struct pawl_error *err)
{
	json_object *o = json_object_from_file(path);
	char *text = NULL;

	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		pawl_error_set(err, PAWL_ERR_CONFIG,
		    "setting 'version_json_path': cannot read a JSON object from '%s'", path);
	} else {
		text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
		if (text == NULL)
			pawl_error_nomem(err);
	}
	json_object_put(o);
	return text;
}

/*
 * Kinto Admin is served by nginx, not by the workers: admin_assets_path names
 * the folder nginx serves at /v1/admin/, and the hello view lists the `admin`
 * capability when it holds an index.html, as Kinto's admin plugin does. Its
 * VERSION file (the kinto-admin release) becomes the capability's version.
 * A folder without the app is not an error: the admin may be installed after
 * pawl, and a reload finds it then. Returns NULL when absent or out of memory.
 */
static char *admin_version(const char *dir)
{
	char path[4096], line[65] = "";
	struct stat st;
	FILE *f;
	size_t n;

	if (snprintf(path, sizeof(path), "%s/index.html", dir) >= (int)sizeof(path) ||
	    stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		pawl_log_warn("admin_assets_path '%s' has no index.html: the hello view does not "
		    "list the admin capability", dir);
		return NULL;
	}
	if (snprintf(path, sizeof(path), "%s/VERSION", dir) < (int)sizeof(path) &&
	    (f = fopen(path, "r")) != NULL) {
		if (fgets(line, sizeof(line), f) == NULL)
			line[0] = '\0';
		fclose(f);
	}
	/* One printable word, whatever the file holds. */
	for (n = 0; line[n] != '\0' && line[n] > ' ' && line[n] < 0x7f && line[n] != '"'; n++)
		;
	line[n] = '\0';
	return strdup(line);
}

/*
 * What `check` does instead of building listeners: a Redis URL is parsed and
 * a plugin's library loaded and its entry point and ABI checked, but the plugin is not
 * called, so it opens nothing (the jsonl plugin would create its file).
 */
static enum pawl_err check_listeners(const struct pawl_config *cfg, struct pawl_error *err)
{
	size_t i;

	for (i = 0; i < cfg->n_listeners; i++) {
		const struct pawl_listener_config *c = &cfg->listeners[i];
		pawl_listener_load_fn *load;
		void *dl;

		if (strcmp(c->use, "redis") == 0) {
			if (pawl_listener_redis_new(c, 0, NULL, err) == PAWL_OK)
				continue;
			return PAWL_ERR_CONFIG;
		}
		if (pawl_listener_plugin_open(c, &dl, &load, err) != PAWL_OK)
			return PAWL_ERR_CONFIG;
		dlclose(dl);
	}
	return PAWL_OK;
}

static struct pawl_app *build(const struct pawl_config *cfg, bool check, struct pawl_error *err)
{
	struct pawl_app *app;

	/* Here rather than in the parser: a config without secrets still parses for tools. */
	if (pawl_config_check_secrets(cfg, err) != PAWL_OK)
		return NULL;
	if ((app = calloc(1, sizeof(*app))) == NULL) {
		pawl_error_nomem(err);
		return NULL;
	}
	app->cfg = cfg;
	app->dispatch = &dispatch;
	if ((app->resources = pawl_resource_table_new(cfg, err)) == NULL ||
	    (app->router = pawl_router_new(app->resources, cfg, err)) == NULL)
		goto fail;
	if ((app->pg = pawl_pg_new(cfg)) == NULL ||
	    (app->store = pawl_pg_store_new(app->pg)) == NULL) {
		pawl_error_nomem(err);
		goto fail;
	}
	if ((app->subscribers = pawl_subscribers_new()) == NULL) {
		pawl_error_nomem(err);
		goto fail;
	}
	if (check ? check_listeners(cfg, err) != PAWL_OK :
	    (app->listeners = pawl_listener_set_new(cfg, app->subscribers, err)) == NULL)
		goto fail;
	if (cfg->userid_hmac_secret != NULL &&
	    (app->auth_key = pawl_hmac_key_new(cfg->userid_hmac_secret)) == NULL) {
		pawl_error_set(err, PAWL_ERR_INTERNAL, "cannot set up HMAC-SHA256 (OpenSSL)");
		goto fail;
	}
	if (pawl_config_has_policy(cfg, "account") && (app->accounts = pawl_accounts_cache_new(cfg)) == NULL) {
		pawl_error_set(err, PAWL_ERR_INTERNAL, "cannot set up account passwords (libcrypt)");
		goto fail;
	}
	{
		time_t eos;

		if (pawl_policy_parse_eos(cfg, &eos, err) != PAWL_OK)
			goto fail;
		app->eos = (long long)eos;
	}
	app->version_json = cfg->version_json_path ? file_version(cfg->version_json_path, err)
	    : builtin_version();
	if (app->version_json == NULL)
		goto fail;
	if (cfg->admin_assets_path != NULL)
		app->admin_version = admin_version(cfg->admin_assets_path);
	return app;
fail:
	pawl_app_free(app);
	return NULL;
}

struct pawl_app *pawl_app_new(const struct pawl_config *cfg, struct pawl_error *err)
{
	return build(cfg, false, err);
}

enum pawl_err pawl_app_check(const struct pawl_config *cfg, struct pawl_error *err)
{
	struct pawl_app *app = build(cfg, true, err);

	if (app == NULL)
		return err->code != PAWL_OK ? err->code : PAWL_ERR_CONFIG;
	pawl_app_free(app);
	return PAWL_OK;
}

void pawl_app_free(struct pawl_app *app)
{
	if (app == NULL)
		return;
	pawl_accounts_cache_free(app->accounts);
	pawl_hmac_key_free(app->auth_key);
	pawl_listener_set_free(app->listeners);
	pawl_subscribers_free(app->subscribers);
	free(app->version_json);
	free(app->admin_version);
	pawl_pg_store_free(app->store);
	pawl_pg_free(app->pg);
	pawl_router_free(app->router);
	pawl_resource_table_free(app->resources);
	free(app);
}
