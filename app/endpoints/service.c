/*
 * Service endpoints. Hello and lbheartbeat do no I/O; heartbeat checks
 * PostgreSQL (connect included), each listener and the outbox's age under
 * one global deadline (heartbeat_timeout_seconds) so a hung backend makes it
 * answer 503 in time, never hang: what did not answer in time is false.
 */
#include <string.h>

#include <json-c/json.h>

#include "store/acl.h"
#include "core/clock.h"
#include "core/json.h"
#include "store/pg.h"
#include "resource/resource.h"
#include "events/listener_set.h"
#include "store/outbox.h"
#include "endpoints/service.h"

#define HTTP_API_VERSION "1.23"

static bool policy_enabled(const struct pawl_config *cfg, const char *name)
{
	char **p;

	for (p = cfg->auth_policies; p != NULL && *p != NULL; p++)
		if (strcmp(*p, name) == 0)
			return true;
	return false;
}

/* Kinto's capabilities: the personal bucket always, the others with their policy. */
static const struct {
	const char *name, *policy, *description, *url;
} capability_table[] = {
	{ "default_bucket", NULL, "The default bucket is an alias for a personal bucket where "
	    "collections are created implicitly.",
	    "https://kinto.readthedocs.io/en/latest/api/1.x/buckets.html#personal-bucket-default" },
	{ "accounts", "account", "Manage user accounts.",
	    "https://kinto.readthedocs.io/en/latest/api/1.x/accounts.html" },
	{ "basicauth", "basicauth", "Very basic authentication sessions. Not for production use.",
	    "http://kinto.readthedocs.io/en/stable/api/authentication.html" },
};

static json_object *capability(const char *description, const char *url)
{
	json_object *c = json_object_new_object();

	json_object_object_add(c, "description", json_object_new_string(description));
	json_object_object_add(c, "url", json_object_new_string(url));
	return c;
}

static json_object *capabilities(const struct pawl_app *app)
{
	const struct pawl_config *cfg = app->cfg;
	json_object *caps = json_object_new_object();
	size_t i;

	for (i = 0; i < sizeof(capability_table) / sizeof(capability_table[0]); i++) {
		if (capability_table[i].policy != NULL &&
		    !policy_enabled(cfg, capability_table[i].policy))
			continue;
		json_object_object_add(caps, capability_table[i].name,
		    capability(capability_table[i].description, capability_table[i].url));
	}
	/* Kinto's name for GET /v1/permissions (endpoints/permissions.c). */
	if (cfg->experimental_permissions_endpoint)
		json_object_object_add(caps, "permissions_endpoint", capability("The permissions "
		    "endpoint can be used to list all user objects permissions.",
		    "https://kinto.readthedocs.io/en/latest/configuration/settings.html"
		    "#activating-the-permissions-endpoint"));
	if (cfg->history_enabled)
		json_object_object_add(caps, "history", capability("Track changes on data.",
		    "https://kinto.readthedocs.io/en/latest/api/1.x/history.html"));
	/* Kinto's admin plugin: served by nginx from admin_assets_path (app.c). */
	if (app->admin_version != NULL) {
		json_object *admin = capability("Serves the admin console.",
		    "https://github.com/Kinto/kinto-admin/");

		if (*app->admin_version != '\0')
			json_object_object_add(admin, "version",
			    json_object_new_string(app->admin_version));
		json_object_object_add(caps, "admin", admin);
	}
	/* Kinto's name for its Prometheus endpoint, GET /v1/__metrics__. */
	if (cfg->metrics_enabled)
		json_object_object_add(caps, "prometheus", capability("Prometheus metrics.",
		    "https://kinto.readthedocs.io/en/stable/configuration/settings.html"));
	return caps;
}

enum pawl_err pawl_service_hello(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err)
{
	const struct pawl_config *cfg = app->cfg;
	json_object *o = pawl_json_own(req->arena, json_object_new_object());
	json_object *settings = json_object_new_object();

	json_object_object_add(o, "project_name", json_object_new_string("pawl"));
	json_object_object_add(o, "project_version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "http_api_version", json_object_new_string(HTTP_API_VERSION));
	json_object_object_add(o, "url", json_object_new_string(pawl_request_url(req, cfg, "/")));
	if (pawl_config_get(cfg, "eos") != NULL && *pawl_config_get(cfg, "eos") != '\0')
		json_object_object_add(o, "eos", json_object_new_string(pawl_config_get(cfg, "eos")));
	json_object_object_add(settings, "batch_max_requests",
	    json_object_new_int(cfg->batch_max_requests));
	json_object_object_add(settings, "readonly", json_object_new_boolean(cfg->readonly));
	json_object_object_add(settings, "explicit_permissions",
	    json_object_new_boolean(cfg->explicit_permissions));
	json_object_object_add(o, "settings", settings);
	if (req->user_id != NULL) {
		json_object *user = json_object_new_object();
		json_object *principals = json_object_new_array();

		const char *mine[] = { req->user_id, "system.Everyone", "system.Authenticated", NULL };
		const char **groups = NULL;
		struct pawl_error gerr;
		size_t i;

		for (i = 0; mine[i] != NULL; i++)
			json_object_array_add(principals, json_object_new_string(mine[i]));
		/* Group principals need the database; hello still answers without it. */
		if (pawl_acl_groups(app->pg, req->arena, mine, &groups, &gerr) == PAWL_OK)
			for (i = 0; groups[i] != NULL; i++)
				json_object_array_add(principals, json_object_new_string(groups[i]));
		json_object_object_add(user, "id", json_object_new_string(req->user_id));
		json_object_object_add(user, "principals", principals);
		json_object_object_add(user, "bucket", json_object_new_string(
		    pawl_default_bucket_id(req->arena, cfg, req->user_id)));
		json_object_object_add(o, "user", user);
	}
	json_object_object_add(o, "capabilities", capabilities(app));
	pawl_response_json(resp, 200, o);
	return PAWL_OK;
}

/*
 * What is left of the heartbeat's budget. A check that starts after a hung
 * one spent it still gets a short grace, so a healthy Redis on the same host
 * still says true: the answer comes within the setting plus GRACE_MS per
 * further check (README, "__heartbeat__").
 */
#define GRACE_MS 50

static int remaining(long long deadline)
{
	long long left = deadline - pawl_clock_mono_ms();

	return left < GRACE_MS ? GRACE_MS : (int)left;
}

/* A write when writable (a read-only database is unhealthy), a read otherwise. */
static bool check_storage(struct pawl_app *app, struct pawl_arena *arena, long long deadline)
{
	static const char *const write_sql =
	    "INSERT INTO pawl_metadata (name, value) VALUES ('heartbeat', now()::text) "
	    "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()";
	struct pawl_error err;

	if (pawl_pg_connect_within(app->pg, true, remaining(deadline), &err) != PAWL_OK)
		return false;
	return pawl_pg_exec(app->pg, arena, &(struct pawl_pg_stmt){ app->cfg->readonly ?
	    "SELECT 1 FROM pawl_metadata LIMIT 1" : write_sql, 0, NULL, remaining(deadline) },
	    NULL, &err) == PAWL_OK;
}

/*
 * "outbox": false when its oldest row has waited longer than
 * heartbeat_outbox_max_age_seconds -- delivery is stuck, not slow (Redis
 * down or refusing, no relay running, rows of a listener no longer
 * configured) -- or when the query did not answer in time; true otherwise.
 * null (Kinto: nothing to check) when no listener is durable, when the
 * setting is 0, or when the database is down (storage already says false).
 * The backlog's size and age are figures of the metrics, not entries here.
 */
static json_object *outbox_entry(struct pawl_app *app, struct pawl_arena *arena, bool storage,
    int timeout_ms, bool *ok)
{
	int max_age = app->cfg->heartbeat_outbox_max_age_seconds;
	struct pawl_error err;
	double age;

	*ok = true;
	if (!storage || max_age == 0 || !pawl_listener_set_any_durable(app->listeners))
		return NULL;
	if (pawl_outbox_oldest_age(app->pg, arena, timeout_ms, &age, &err) != PAWL_OK)
		*ok = false;
	else
		*ok = age <= (double)max_age;
	return json_object_new_boolean(*ok);
}

enum pawl_err pawl_service_heartbeat(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err)
{
	long long deadline = pawl_clock_mono_ms() + (long long)app->cfg->heartbeat_timeout_seconds * 1000;
	json_object *o = pawl_json_own(req->arena, json_object_new_object());
	bool all, storage, outbox;

	/* Kinto's rule: every entry is true, false or null, and any false answers 503. */
	storage = check_storage(app, req->arena, deadline);
	all = storage;
	/* One PostgreSQL database holds both the objects and the permissions. */
	json_object_object_add(o, "storage", json_object_new_boolean(storage));
	json_object_object_add(o, "permission", json_object_new_boolean(storage));
	if (!pawl_listener_set_heartbeat(app->listeners, o, remaining(deadline), GRACE_MS))
		all = false;
	json_object_object_add(o, "outbox", outbox_entry(app, req->arena, storage,
	    remaining(deadline), &outbox));
	all = all && outbox;
	pawl_response_json(resp, all ? 200 : 503, o);
	return PAWL_OK;
}

enum pawl_err pawl_service_lbheartbeat(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err)
{
	pawl_response_raw(resp, 200, "{}");
	return PAWL_OK;
}

enum pawl_err pawl_service_version(struct pawl_app *app, struct pawl_request *req,
    struct pawl_response *resp, struct pawl_txn *txn, struct pawl_error *err)
{
	pawl_response_raw(resp, 200, app->version_json);
	return PAWL_OK;
}
