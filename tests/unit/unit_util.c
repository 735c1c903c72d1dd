/* Helpers shared by the unit suites (declared in unit.h). */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "unit.h"

struct pawl_app *unit_offline_app(const char *extra, struct pawl_config **cfg)
{
	char text[1024];
	struct pawl_error err;

	/* A PostgreSQL that is never there: building the app opens no connection. */
	snprintf(text, sizeof text, "[app:main]\n"
	    "storage_url = postgresql:///pawl?host=/nonexistent-pawl-test&connect_timeout=1\n"
	    "userid_hmac_secret = s3cret\n%s", extra ? extra : "");
	*cfg = pawl_config_parse(text, "t.ini", NULL, &err);
	return *cfg ? pawl_app_new(*cfg, &err) : NULL;
}

const char *unit_str_at(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

int unit_int_at(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int(v) : -1;
}

void unit_config_refused(const char *text, const char *want)
{
	struct pawl_error err;
	struct pawl_config *cfg = pawl_config_parse(text, "test.ini", NULL, &err);

	CU_ASSERT_PTR_NULL(cfg);
	if (cfg != NULL) {
		pawl_config_free(cfg);
		return;
	}
	CU_ASSERT_EQUAL(err.code, PAWL_ERR_CONFIG);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, want));
	if (strstr(err.message, want) == NULL)
		fprintf(stderr, "\n  got: %s\n  want: %s\n", err.message, want);
}
