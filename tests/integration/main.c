/*
 * Runs the integration suites against a real stack (nginx, spawn-fcgi,
 * pawl-fcgi, PostgreSQL, Redis on loopback ports of their own), then checks
 * that the stack stops cleanly. Exits non-zero on any failure.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "harness.h"

#define MAX_PIDS 64

void test_preconditions_register(void);
void test_pagination_register(void);
void test_security_input_register(void);

void test_security_stamps_register(void);

/* Whether $STATE/RELATIVE contains needle. */
static bool log_contains(const char *relative, const char *needle)
{
	char path[4096], chunk[65536 + 256];
	size_t keep = 0, n;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", harness_state_dir(), relative);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	/* Overlapping reads so a needle across two reads is still seen. */
	while (!found && (n = fread(chunk + keep, 1, sizeof chunk - keep - 1, f)) > 0) {
		n += keep;
		chunk[n] = '\0';
		found = memmem(chunk, n, needle, strlen(needle)) != NULL;
		keep = n < 255 ? n : 255;
		memmove(chunk, chunk + n - keep, keep);
	}
	fclose(f);
	return found;
}

/* SIGTERM to pawl-stack: exit 0, nothing left running, no sanitizer report. */
static void test_clean_shutdown(void)
{
	static const char *const reports[] = { "AddressSanitizer", "LeakSanitizer",
					       "runtime error:", "ThreadSanitizer" };
	static const char *const logs[] = { "log/pawl.log", "log/migrate.log" };
	pid_t pids[MAX_PIDS];
	size_t n = 0;
	int rc, waited = 0;
	bool gone = false;

	pids[n++] = supervisor_pid();
	n += children_of(pids[0], pids + n, MAX_PIDS / 2);
	pids[n++] = harness_pid_file("run/nginx.pid");
	pids[n++] = harness_pid_file("run/redis.pid");
	pids[n++] = harness_pid_file("pg/postmaster.pid");
	for (size_t i = 0; i < n; i++)
		CHECK(pids[i] > 0 && pid_alive(pids[i]), "process %zu (pid %ld) not running before stop",
		      i, (long)pids[i]);

	rc = harness_stop();
	CHECK(rc == 0, "pawl-stack exited with status %d on SIGTERM", rc);
	while (!gone && waited < 5000) {
		gone = true;
		for (size_t i = 0; i < n; i++)
			gone = gone && !pid_alive(pids[i]);
		if (!gone) {
			sleep_ms(100);
			waited += 100;
		}
	}
	for (size_t i = 0; i < n; i++)
		CHECK(!pid_alive(pids[i]), "pid %ld still running after pawl-stack stopped",
		      (long)pids[i]);
	{
		char sock[4096];

		snprintf(sock, sizeof sock, "%s/run/pawl.sock", harness_state_dir());
		CHECK(access(sock, F_OK) != 0, "%s left behind", sock);
	}
	for (size_t l = 0; l < sizeof logs / sizeof *logs; l++)
		for (size_t i = 0; i < sizeof reports / sizeof *reports; i++)
			CHECK(!log_contains(logs[l], reports[i]), "%s reported in %s", reports[i],
			      logs[l]);
}

/* "integration SUITE...": only the named suites run (and "stack", which stops it). */
static void select_suites(int argc, char **argv)
{
	CU_set_fail_on_inactive(CU_FALSE); /* a suite left out is no failure */
	for (CU_pSuite s = CU_get_registry()->pSuite; argc > 1 && s != NULL; s = s->pNext) {
		bool named = strcmp(s->pName, "stack") == 0;

		for (int i = 1; i < argc; i++)
			named = named || strcmp(s->pName, argv[i]) == 0;
		CU_set_suite_active(s, named);
	}
}

int main(int argc, char **argv)
{
	unsigned failures = 1;
	CU_pSuite s;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (harness_start() != 0) {
		harness_finish(false);
		fprintf(stderr, "integration: the stack did not start; no test ran\n");
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		goto out;
	test_service_register();
	test_errors_register();
	test_supervisor_register();
	test_metrics_register(); /* stops and kills workers, reloads the config (SIGHUP) */
	test_batch_http_register();
	test_objects_register(); /* objects and pagination reload the config (SIGHUP) */
	test_preconditions_register();
	test_lists_register();
	test_pagination_register();
	test_concurrency_register();
	test_permissions_register();
	test_permissions_endpoint_register(); /* reloads the config (SIGHUP) */
	test_security_authz_register();
	test_extras_register(); /* reloads the config (SIGHUP) */
	test_events_register();
	test_impacted_register();
	test_history_register(); /* reloads the config (SIGHUP) */
	test_security_headers_register();
	test_txn_register(); /* stops the relay (SIGSTOP), swaps events.jsonl for a FIFO */
	test_delivery_register(); /* drains pawl.events and restarts Redis */
	test_consumers_register(); /* stalls Redis (SIGSTOP), empties pawl.events */
	test_streams_register();
	test_stream_group_register();
	test_sentinel_register(); /* Redis servers and Sentinels of its own; reloads the config (SIGHUP) */
	test_isolation_register(); /* two Redis servers of its own, stopped in turn; reloads (SIGHUP) */
	test_migrate_register(); /* fresh databases, PgBouncer of its own; the stack untouched */
	test_indexer_register(); /* stalls Redis, kills a worker */
	test_catchup_register();
	test_security_input_register();
	test_pg_register();
	test_security_proxy_register(); /* reloads the config (SIGHUP) */
	test_security_stamps_register();
	test_admin_register();
	test_accounts_register(); /* reloads the config (SIGHUP) */
	test_systemd_register(); /* pawl-fcgi processes of its own, as systemd starts them */
	test_logs_register(); /* reloads the config (SIGHUP), stops the relay, kills a worker */
	test_replica_register(); /* PostgreSQL clusters and pawl-fcgi processes of its own */
	test_truth_register(); /* stalls Redis and stops PostgreSQL, then waits for both */
	test_storage_register(); /* stops and starts backends: keep it last */
	s = CU_add_suite("stack", NULL, NULL);
	CU_add_test(s, "SIGTERM stops everything", test_clean_shutdown);
	if (CU_get_error() != CUE_SUCCESS)
		goto out;
	select_suites(argc, argv);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed() +
		   (CU_get_error() != CUE_SUCCESS);
out:
	CU_cleanup_registry();
	harness_finish(failures == 0);
	return failures == 0 ? 0 : 1;
}
