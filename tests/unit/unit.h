/* Each tests/unit/test_<module>.c registers its CUnit suite through one function. */
#ifndef PAWL_TEST_UNIT_H
#define PAWL_TEST_UNIT_H

#include <CUnit/CUnit.h>

void test_arena_register(void);
void test_err_register(void);
void test_str_register(void);
void test_config_register(void);
void test_json_register(void);
void test_auth_register(void);
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

#endif
