/* Runs every unit suite; exits non-zero when any assertion failed. */
#include <stdio.h>
#include <CUnit/Basic.h>

#include "unit.h"

int main(void)
{
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	test_arena_register();
	test_err_register();
	test_str_register();
	test_config_register();
	test_json_register();
	test_auth_register();
	test_crypto_register();
	test_router_register();
	test_request_register();
	test_pipeline_register();
	test_filters_register();
	test_token_register();
	test_patch_register();
	test_batch_register();
	test_log_register();
	test_clock_register();
	test_handlers_register();
	test_txn_register();
	test_response_register();
	test_stage_register();
	test_impacted_register();
	test_metrics_register();
	test_stream_register();
	test_history_register();
	test_sentinel_register();
	test_outage_register();
	test_permissions_tree_register();
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	if (CU_get_error() != CUE_SUCCESS)
		failed++;
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
