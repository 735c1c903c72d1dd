/* Each tests/unit/test_<module>.c registers its CUnit suite through one function. */
#ifndef PAWL_TEST_UNIT_H
#define PAWL_TEST_UNIT_H

#include <CUnit/CUnit.h>
#include <json-c/json.h>

struct pawl_app;
struct pawl_config;

/*
 * An app over a PostgreSQL that is never there (nothing connects while
 * building it), userid_hmac_secret set, plus extra config lines (or NULL).
 * *cfg gets the config, to free after the app. NULL on failure.
 */
struct pawl_app *unit_offline_app(const char *extra, struct pawl_config **cfg);

/* A string / int member of a JSON object: NULL / -1 when o or the member is missing. */
const char *unit_str_at(json_object *o, const char *key);
int unit_int_at(json_object *o, const char *key);

/* The config text is refused as a config error whose message holds want (printed when not). */
void unit_config_refused(const char *text, const char *want);

void test_arena_register(void);
void test_err_register(void);
void test_str_register(void);
void test_config_register(void);
void test_json_register(void);
void test_auth_register(void);
void test_crypto_register(void);
void test_router_register(void);
void test_request_register(void);
void test_pipeline_register(void);
void test_filters_register(void);
void test_token_register(void);
void test_patch_register(void);
void test_batch_register(void);
void test_log_register(void);
void test_clock_register(void);
void test_handlers_register(void);
void test_txn_register(void);
void test_response_register(void);
void test_stage_register(void);
void test_history_register(void);
void test_impacted_register(void);
void test_metrics_register(void);
void test_stream_register(void);
void test_sentinel_register(void);
void test_outage_register(void);
void test_permissions_tree_register(void);

#endif
